#!/bin/sh
# The store port (include/golite_store.h) on both backends: the contract
# (tests/store/store_contract.c check) on local:DIR and on a one-member
# etcd; `golite --store URI` commands and their errors; two processes
# sharing an etcd store (a watch in one sees the other's writes, a
# conflicting create loses); and faults on a three-member cluster: the
# leader killed (-9) under a load of single-key commits, after which every
# acknowledged commit is there; a quorum stopped, during which a command
# fails with exit status 2 within the store's timeout instead of hanging,
# and after which commits go on. etcd servers run on 127.0.0.1, on ports
# tests/store/etcd_lib.sh picks, with their data in a temporary directory,
# and are stopped by their pids on exit. No assertion depends on timing
# beyond the bound a hang would break.
#
#   sh tests/store/test_store.sh BUILD
#
# Prints one line per failed assertion and "N passed, N failed"; exit 0
# only if every assertion passed.
set -u

TEST_NAME=store
. "$(dirname "$0")/lib.sh"
C=$build/tests/store/store_contract
if [ ! -x "$C" ]; then
	echo "no $C: build it first (make BUILD=... all)"
	echo "0 passed, 1 failed"
	exit 1
fi

# ---- the contract, locally ----
run 0 "contract on local" "$C" check "local:$tmp/local"

# ---- one etcd member ----
mkdir -p "$tmp/one" "$tmp/three"
if ! etcd_cluster_start "$tmp/one" 1; then
	fail "a one-member etcd did not start"
	echo "$passed passed, $failed failed"
	exit 1
fi
U="etcd://$(etcd_endpoints)/t/one"
run 0 "contract on etcd" "$C" check "$U"

# the command line
run 2 "ls of a store not made yet" "$G" --store "$U-none" ls
check_has "it says there is none" "no store at" "$(cat "$tmp/err")"
run 0 "create makes the store and a table" "$G" --store "$U-cli" create users
run 2 "create again" "$G" --store "$U-cli" create users
run 0 "create -p again" "$G" --store "$U-cli" create -p users
run 0 "put" "$G" --store "$U-cli" put users alice --value hello
printf 'from\0stdin' >"$tmp/val"
run 0 "put from stdin" sh -c "\"$G\" --store \"$U-cli\" put users bob <\"$tmp/val\""
run 0 "get" "$G" --store "$U-cli" get users alice
check "get's value" "hello" "$(cat "$tmp/out")"
"$G" --store "$U-cli" get users bob >"$tmp/got"
if cmp -s "$tmp/val" "$tmp/got"; then pass; else fail "a value with a NUL byte came back changed"; fi
run 1 "get of a missing key" "$G" --store "$U-cli" get users carol
run 1 "get in a missing table" "$G" --store "$U-cli" get nobody alice
run 2 "put in a missing table" "$G" --store "$U-cli" put nobody k --value v
check_has "it names the table" 'no table "nobody"' "$(cat "$tmp/err")"
run 0 "put -c makes the table" "$G" --store "$U-cli" put -c other k --value v
run 0 "put -e of an escaped key" "$G" --store "$U-cli" put -e users 'x\x00y' --value z
run 0 "ls" "$G" --store "$U-cli" ls users
check "ls lists keys in order, escaped" "alice
bob
x\\x00y" "$(cat "$tmp/out")"
run 0 "ls with a prefix" "$G" --store "$U-cli" ls users b
check "ls users b" "bob" "$(cat "$tmp/out")"
run 0 "tables" "$G" --store "$U-cli" tables
check "tables" "other
users" "$(cat "$tmp/out")"
run 1 "rm of a key and a missing one" "$G" --store "$U-cli" rm users alice carol
run 1 "rm took the key" "$G" --store "$U-cli" get users alice
run 0 "rm -f of a missing key" "$G" --store "$U-cli" rm -f users carol
run 2 "drop --if-empty of a table with keys" "$G" --store "$U-cli" drop --if-empty users
run 0 "the keys are still there" "$G" --store "$U-cli" get users bob
run 0 "drop" "$G" --store "$U-cli" drop users
run 1 "drop of a missing table" "$G" --store "$U-cli" drop users
run 2 "a command that needs a data directory" "$G" --store "$U-cli" check
run 2 "a bad URI" "$G" --store "etcd://nohostport/x" ls
check_has "it says what is wrong" "not HOST:PORT" "$(cat "$tmp/err")"
run 2 "an unknown scheme" "$G" --store "s3://bucket" ls
big=$((1024 * 1024 + 1))
head -c $big /dev/zero >"$tmp/big"
run 2 "a value over the etcd backend's limit" sh -c "\"$G\" --store \"$U-cli\" put other big <\"$tmp/big\""
check_has "it names the limit" "at most 1048576" "$(cat "$tmp/err")"
run 1 "and nothing was written" "$G" --store "$U-cli" get other big

# Nothing listens: an error within the timeout, not a hang.
start=$(date +%s)
run 2 "a store nobody serves" "$G" --store "etcd://127.0.0.1:1/x" ls
elapsed=$(($(date +%s) - start))
if [ $elapsed -le 30 ]; then pass; else fail "an unreachable store took ${elapsed}s to fail"; fi

# Two processes on one store: a watch in one sees the other's writes.
"$G" --store "$U-cli" watch -n 3 other >"$tmp/watch" 2>"$tmp/watch.err" &
wpid=$!
bg_pids="$bg_pids $wpid"
n=0
# the watch is open once a write after its start is seen: write until then
while [ ! -s "$tmp/watch" ] && [ $n -lt 100 ]; do
	"$G" --store "$U-cli" put other w0 --value "$n" >/dev/null 2>&1
	n=$((n + 1))
	sleep 0.1
done
"$G" --store "$U-cli" put other w1 --value 1 >/dev/null 2>&1
"$G" --store "$U-cli" rm other w1 >/dev/null 2>&1
n=0
while kill -0 $wpid 2>/dev/null && [ $n -lt 100 ]; do
	"$G" --store "$U-cli" put other w2 --value 2 >/dev/null 2>&1
	n=$((n + 1))
	sleep 0.1
done
wait $wpid
check "watch exits after -n events" 0 $?
bg_pids=""
check "watch lines" "3" "$(wc -l <"$tmp/watch" | tr -d ' ')"
check_has "watch shows puts" " put other w" "$(cat "$tmp/watch")"
# The three events are consecutive commits from some point: a delete
# follows the put of w1 when both were seen.
if grep -q ' put other w1$' "$tmp/watch"; then
	check_has "watch shows the delete" " delete other w1" "$(cat "$tmp/watch")"
fi
etcd_cluster_stop

# ---- three members: faults ----
if ! etcd_cluster_start "$tmp/three" 3; then
	fail "a three-member etcd did not start"
	echo "$passed passed, $failed failed"
	exit 1
fi
U3="etcd://$(etcd_endpoints)/t/three"
: >"$tmp/acked"
"$C" load "$U3" load 600 120 >"$tmp/acked" 2>"$tmp/load.err" &
lpid=$!
bg_pids="$lpid"
# kill the leader once some commits are in
n=0
while [ "$(wc -l <"$tmp/acked")" -lt 100 ] && [ $n -lt 300 ]; do
	n=$((n + 1))
	sleep 0.1
done
leader=$(etcd_leader)
if [ -n "$leader" ]; then
	pass
	etcd_kill "$leader" KILL
	before=$(wc -l <"$tmp/acked")
	echo "leader m$leader killed after $before acknowledged commits"
	if etcd_wait_leader 20; then pass; else fail "no new leader after the old one was killed"; fi
else
	fail "no leader under load"
fi
wait $lpid
check "the load finished after the leader was killed (stderr: $(tail -3 "$tmp/load.err"))" 0 $?
bg_pids=""
tail -1 "$tmp/load.err"
acked=$(wc -l <"$tmp/acked")
check "every commit was acknowledged in the end" 600 "$acked"
if [ "${before:-0}" -lt 600 ]; then pass; else fail "the leader was killed after the load ended"; fi
run 0 "every acknowledged commit is there after the election" "$C" verify "$U3" load "$tmp/acked"
check_has "verify counts them" "600 keys, 0 missing" "$(cat "$tmp/out")"
if [ -n "$leader" ]; then
	if etcd_restart "$leader"; then pass; else fail "the killed member did not come back"; fi
fi

# A quorum lost: a bounded error, then service again.
etcd_kill 1 KILL
etcd_kill 2 KILL
start=$(date +%s)
run 2 "a put without a quorum fails" "$G" --store "$U3" put load q --value 1
elapsed=$(($(date +%s) - start))
check_has "and says the cluster did not answer" "etcd" "$(cat "$tmp/err")"
if [ $elapsed -le 30 ]; then pass; else fail "a put without quorum took ${elapsed}s to fail"; fi
run 2 "a read without a quorum fails too" "$G" --store "$U3" get load k000000
if etcd_restart 1 2; then pass; else fail "the stopped members did not come back"; fi
etcd_wait_leader 20
run 0 "a put once the quorum is back" "$G" --store "$U3" put load q --value 1
run 0 "and the data is all there" "$C" verify "$U3" load "$tmp/acked"

finish
