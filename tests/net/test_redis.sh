#!/bin/sh
# The Redis-protocol server (net/resp*) against redis-cli, redis-benchmark
# and raw bytes: every command, its errors, inline and pipelined requests,
# oversize and malformed requests, 32 concurrent clients whose every value
# is checked, INCR's atomicity, persistence across a restart, AUTH, the
# client limit, pub/sub and keyspace notifications, a short
# redis-benchmark run, and `golite serve --redis` beside HTTP (one change
# feed: an HTTP write notified to a subscriber, a SET on /v1/events). The server is tests/net/resp_serve on 127.0.0.1, on
# a port this test picks, with its store in a temporary directory; it is
# stopped by its pid on exit. No assertion depends on timing.
#
#   sh tests/net/test_redis.sh BUILD
#
# Prints one line per failed assertion and "N passed, N failed"; exit 0
# only if every assertion passed.
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")/../.." && pwd)
case $build in /*) ;; *) build=$here/$build ;; esac
SERVE=$build/tests/net/resp_serve
SEND=$build/tests/net/resp_send
for p in "$SERVE" "$SEND"; do
	if [ ! -x "$p" ]; then
		echo "no $p: build it first (make BUILD=... all)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done
for t in redis-cli redis-benchmark; do
	if ! command -v $t >/dev/null 2>&1; then
		echo "no $t: install redis-tools (make deps)"
		echo "0 passed, 1 failed"
		exit 1
	fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/golite-redis.XXXXXX")
DATA=$tmp/data
pid=""
bg_pids=""
stop_server() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid"
		stop_status=$?
		pid=""
	fi
}
cleanup() {
	for p in $bg_pids; do
		kill "$p" 2>/dev/null
	done
	stop_server
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$*"
}
# check DESC WANT GOT
check() {
	if [ "$2" = "$3" ]; then
		pass
	else
		fail "$1: wanted [$2], got [$3]"
	fi
}
# check_has DESC NEEDLE HAYSTACK
check_has() {
	case $3 in
	*"$2"*) pass ;;
	*) fail "$1: [$2] not in [$3]" ;;
	esac
}

# start_server [OPTIONS...]: starts resp_serve on DATA at a free port
# (PORT); returns 1 if it did not start.
# Below the kernel's ephemeral range: a port in it may be the local end of
# some client's connection, and a bind() to it fails though nothing
# listens there (tests/net/lib.sh free_port says the same).
eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
[ "$eph" -gt 12000 ] || eph=32768
port_base=$((10000 + $$ % (eph - 11000)))
start_server() {
	tries=0
	while [ $tries -lt 20 ]; do
		PORT=$((port_base + tries * 7))
		tries=$((tries + 1))
		"$SERVE" "$@" "$DATA" "127.0.0.1:$PORT" >"$tmp/serve.log" 2>&1 &
		pid=$!
		n=0
		while ! grep -q '^listening on' "$tmp/serve.log" 2>/dev/null; do
			if ! kill -0 "$pid" 2>/dev/null; then
				wait "$pid"
				pid=""
				break
			fi
			n=$((n + 1))
			[ $n -gt 1200 ] && break
			sleep 0.05
		done
		[ -n "$pid" ] && return 0
		grep -q 'in use' "$tmp/serve.log" || return 1
	done
	return 1
}

cli() { redis-cli -p "$PORT" "$@"; }
# raw BYTES: sends BYTES (printf format) and prints the reply, CRLF as LF.
raw() { printf "$1" | "$SEND" 127.0.0.1 "$PORT" | tr -d '\r'; }

if ! start_server -v; then
	echo "FATAL: the server did not start:"
	cat "$tmp/serve.log"
	echo "0 passed, 1 failed"
	exit 1
fi

# ---- every command ----------------------------------------------------
check "ping" "PONG" "$(cli ping)"
check "ping msg" "hi" "$(cli ping hi)"
check "echo" "hello" "$(cli echo hello)"
check "set" "OK" "$(cli set a 1)"
check "get" "1" "$(cli get a)"
check "get absent" "" "$(cli get nope)"
check "set nx on existing" "" "$(cli set a 2 nx)"
check "set nx kept" "1" "$(cli get a)"
check "set nx new" "OK" "$(cli set b 2 nx)"
check "set xx absent" "" "$(cli set c 3 xx)"
check "set xx absent kept" "0" "$(cli exists c)"
check "set xx get" "2" "$(cli set b 22 xx get)"
check "set xx get wrote" "22" "$(cli get b)"
check "set keepttl" "OK" "$(cli set b 23 keepttl)"
check_has "set syntax" "ERR syntax error" "$(cli set t 1 bogus)"
check_has "set ex not a number" "ERR value is not an integer" "$(cli set t 1 ex ten)"
check_has "set ex 0" "ERR invalid expire time in 'set'" "$(cli set t 1 ex 0)"
check_has "set px negative" "ERR invalid expire time in 'set'" "$(cli set t 1 px -5)"
check_has "set ex too large" "ERR invalid expire time in 'set'" "$(cli set t 1 ex 9999999999999)"
check_has "set ex and px" "ERR syntax error" "$(cli set t 1 ex 10 px 10)"
check_has "set ex without a time" "ERR syntax error" "$(cli set t 1 ex)"
check "bad expiries wrote nothing" "0" "$(cli exists t)"

# ---- keys that expire ---------------------------------------------------
check "set ex" "OK" "$(cli set tx v ex 100)"
check "ttl" "100" "$(cli ttl tx)"
check "pttl in range" "yes" "$(p=$(cli pttl tx); [ "$p" -gt 99000 ] && [ "$p" -le 100000 ] && echo yes)"
check "ttl of a key without one" "-1" "$(cli ttl a)"
check "ttl of a missing key" "-2" "$(cli ttl nope)"
check "incr keeps the time to live" "yes" "$(cli set cnt 5 ex 100 >/dev/null; cli incr cnt >/dev/null; [ "$(cli ttl cnt)" -ge 99 ] && echo yes)"
check "set clears it" "-1" "$(cli set cnt 7 >/dev/null; cli ttl cnt)"
check "set keepttl keeps it" "yes" "$(cli set cnt 8 ex 50 >/dev/null; cli set cnt 9 keepttl >/dev/null; [ "$(cli ttl cnt)" -ge 49 ] && echo yes)"
check "keepttl kept the value" "9" "$(cli get cnt)"
check "expire" "1" "$(cli expire a 1000)"
check "expire nx on one with a time" "0" "$(cli expire a 10 nx)"
check "expire gt smaller" "0" "$(cli expire a 10 gt)"
check "expire lt smaller" "1" "$(cli expire a 500 lt)"
check "ttl after lt" "500" "$(cli ttl a)"
check "expire of a missing key" "0" "$(cli expire nope 10)"
check_has "expire not a number" "ERR value is not an integer" "$(cli expire a x)"
check_has "expire too large" "ERR invalid expire time in 'expire'" "$(cli expire a 9999999999999)"
check_has "expire bad option" "ERR Unsupported option" "$(cli expire a 10 sometimes)"
check_has "expire nx xx" "ERR NX and XX" "$(cli expire a 10 nx xx)"
check "the value was kept" "1" "$(cli get a)"
check "persist" "1" "$(cli persist a)"
check "persist again" "0" "$(cli persist a)"
check "ttl after persist" "-1" "$(cli ttl a)"
check "setex" "OK" "$(cli setex sx 100 v)"
check "psetex" "OK" "$(cli psetex psx 100000 v)"
check_has "setex 0" "ERR invalid expire time in 'setex'" "$(cli setex sx 0 v)"
check "pexpireat in the future" "1" "$(cli pexpireat sx $(( $(date +%s) * 1000 + 200000 )))"
check "expireat in the past deletes" "1" "$(cli expireat psx 1)"
check "the key is gone" "0" "$(cli exists psx)"
check "expire 0 deletes" "1" "$(cli expire tx 0)"
check "gone too" "" "$(cli get tx)"
check "set px short" "OK" "$(cli set short v px 300)"
n=0
while [ "$(cli exists short)" = 1 ] && [ $n -lt 600 ]; do n=$((n + 1)); sleep 0.05; done
check "a key is gone at its expiry" "0" "$(cli exists short)"
check "get of an expired key" "" "$(cli get short)"
check "ttl of an expired key" "-2" "$(cli ttl short)"
check "info keyspace counts expiring keys" "yes" "$(cli info keyspace | grep -q 'expires=[1-9]' && echo yes)"
cli del sx cnt >/dev/null
check "exists" "3" "$(cli exists a b a nope)"
check "type string" "string" "$(cli type a)"
check "type none" "none" "$(cli type nope)"
check "mset" "OK" "$(cli mset m1 x m2 y m3 z)"
check "mget" "$(printf 'x\ny\n\nz')" "$(cli mget m1 m2 nope m3)"
check_has "mset odd" "ERR wrong number of arguments for 'mset'" "$(cli mset m1 x m2)"
check "del" "2" "$(cli del m1 m2 nope)"
check "del gone" "0" "$(cli exists m1 m2)"
check "incr new" "1" "$(cli incr n)"
check "incrby" "11" "$(cli incrby n 10)"
check "decr" "10" "$(cli decr n)"
check "decrby" "-5" "$(cli decrby n 15)"
check "incr stored as text" "-5" "$(cli get n)"
check_has "incr not integer" "ERR value is not an integer" "$(cli incr m3)"
check_has "incrby not integer" "ERR value is not an integer" "$(cli incrby n x)"
cli set big 9223372036854775807 >/dev/null
check_has "incr overflow" "ERR increment or decrement would overflow" "$(cli incr big)"
check "rename" "OK" "$(cli rename m3 m4)"
check "rename moved" "0 z" "$(cli exists m3) $(cli get m4)"
check_has "rename absent" "ERR no such key" "$(cli rename nope x)"

# SCAN in key order with an opaque cursor, MATCH and COUNT; KEYS.
cli flushdb >/dev/null
i=0
while [ $i -lt 50 ]; do
	printf '*3\r\n$3\r\nSET\r\n$%d\r\nk%d\r\n$1\r\nv\r\n' $((${#i} + 1)) $i
	i=$((i + 1))
done | cli --pipe >"$tmp/pipe.out" 2>&1
check_has "pipe 50 sets" "errors: 0, replies: 50" "$(cat "$tmp/pipe.out")"
check "dbsize" "50" "$(cli dbsize)"
check "scan all" "$(cli keys '*' | sort)" "$(cli --scan | sort)"
check "scan in key order" "$(cli keys '*')" "$(cli --scan)"
cur=0
: >"$tmp/scan"
while :; do
	out=$(cli scan "$cur" count 3)
	cur=$(printf '%s\n' "$out" | head -n 1)
	printf '%s\n' "$out" | tail -n +2 >>"$tmp/scan"
	[ "$cur" = 0 ] && break
done
check "scan count 3" "$(cli keys '*')" "$(grep -v '^$' "$tmp/scan")"
check "scan match" "k1 k10 k11 k12 k13 k14 k15 k16 k17 k18 k19" \
	"$(cli --scan --pattern 'k1*' | tr '\n' ' ' | sed 's/ $//')"
first=$(cli scan 0 count 5)
check "scan count" "6" "$(printf '%s\n' "$first" | wc -l | tr -d ' ')"
check_has "scan invalid cursor" "ERR invalid cursor" "$(cli scan 987654321)"
check "keys pattern" "k4 k40 k41 k42 k43 k44 k45 k46 k47 k48 k49" \
	"$(cli keys 'k4*' | tr '\n' ' ' | sed 's/ $//')"
check "keys class" "k1 k2 k3" "$(cli keys 'k[1-3]' | tr '\n' ' ' | sed 's/ $//')"
check "keys ?" "10" "$(cli keys 'k?' | wc -l | tr -d ' ')"
check "flushdb" "OK" "$(cli flushdb)"
check "flushdb emptied" "0" "$(cli dbsize)"

# SELECT: databases are tables.
cli set shared zero >/dev/null
printf 'SELECT users\r\nSET shared one\r\nGET shared\r\nDBSIZE\r\n' >"$tmp/sel.in"
check "select table" "$(printf '+OK\n+OK\n$3\none\n:1')" \
	"$("$SEND" 127.0.0.1 "$PORT" <"$tmp/sel.in" | tr -d '\r')"
check "table 0 separate" "zero" "$(cli get shared)"
check_has "select bad name" "ERR invalid table name" "$(cli select 'a/b')"
check_has "select hidden" "ERR invalid table name" "$(cli select .golite_x)"
check "info keyspace" "$(printf 'db0:keys=1,expires=0,avg_ttl=0\ndbusers:keys=1,expires=0,avg_ttl=0')" \
	"$(cli info keyspace | tr -d '\r' | grep '^db')"
info=$(cli info)
check_has "info server" "redis_version:" "$info"
check_has "info stats" "keyspace_hits:" "$info"
check_has "info golite" "golite_puts:" "$info"
check "config get save" "$(printf 'save\n')" "$(cli config get save)"
check "config get appendonly" "$(printf 'appendonly\nno')" "$(cli config get appendonly)"
check_has "config set refused" "ERR CONFIG SET is not supported" "$(cli config set save x)"
check_has "command" "get" "$(cli command)"
check "command count" "40" "$(cli command count)"
printf 'CLIENT SETNAME me\r\nCLIENT GETNAME\r\nCLIENT SETNAME "a b"\r\n' >"$tmp/cl.in"
check "client name" "$(printf '+OK\n$2\nme\n-ERR Client names cannot contain spaces, newlines or special characters.')" \
	"$("$SEND" 127.0.0.1 "$PORT" <"$tmp/cl.in" | tr -d '\r')"
check "quit" "$(printf '+PONG\n+OK')" "$(raw 'PING\r\nQUIT\r\nPING\r\n')"
check_has "changed callback" "changed users shared" "$(cat "$tmp/serve.log")"
# From here on without the callback, so that pipelined SETs share batches.
stop_server
start_server || fail "restart without -v"

# ---- errors never close the connection --------------------------------
check "errors then ping" \
	"$(printf "%s\n" "-ERR unknown command 'FOO', with args beginning with: 'bar' " \
		"-ERR wrong number of arguments for 'get' command" "+PONG")" \
	"$(raw 'FOO bar\r\nGET\r\nPING\r\n')"
check "unknown multibulk" \
	"$(printf "%s\n" "-ERR unknown command 'LPUSH', with args beginning with: 'l' 'x' " "+PONG")" \
	"$(raw '*3\r\n$5\r\nLPUSH\r\n$1\r\nl\r\n$1\r\nx\r\n*1\r\n$4\r\nPING\r\n')"

# ---- inline commands and pipelining -----------------------------------
check "inline quoted" "$(printf '+OK\n$11\nhello world\n$2\na\n')" \
	"$(raw 'SET q "hello world"\r\nGET q\r\nECHO "a\\n"\r\n')"
check "inline unbalanced quotes" \
	"$(printf '%s\n' '-ERR Protocol error: unbalanced quotes in request' '+PONG')" \
	"$(raw 'SET q "open\r\nPING\r\n')"
check "pipelined multibulk" "$(printf '+OK\n+OK\n$2\nv2\n:2')" \
	"$(raw '*3\r\n$3\r\nSET\r\n$2\r\np1\r\n$2\r\nv1\r\n*3\r\n$3\r\nSET\r\n$2\r\np2\r\n$2\r\nv2\r\n*2\r\n$3\r\nGET\r\n$2\r\np2\r\n*3\r\n$6\r\nEXISTS\r\n$2\r\np1\r\n$2\r\np2\r\n')"
{
	printf 'SET pa 1\r\nSET '
	head -c 9000 /dev/zero | tr '\0' 'k'
	printf ' x\r\nSET pb 2\r\nGET pb\r\n'
} >"$tmp/longkey.in"
check "pipelined sets with a failing one" "+OK -ERR +OK \$1 2" \
	"$("$SEND" 127.0.0.1 "$PORT" <"$tmp/longkey.in" | tr -d '\r' | cut -c1-4 | tr '\n' ' ' | sed 's/ $//')"
check "empty lines ignored" "+PONG" "$(raw '\r\n\r\nPING\r\n')"
# A malformed stream cannot be followed: the error, then the connection closes.
check "bad bulk length closes" "-ERR Protocol error: invalid bulk length" \
	"$(raw '*1\r\n$x\r\nPING\r\n')"
check "bad bulk type closes" "-ERR Protocol error: expected '\$', got ':'" \
	"$(raw '*1\r\n:4\r\nPING\r\n')"

# ---- 32 concurrent clients, every value checked -----------------------
cli flushdb >/dev/null
c=0
while [ $c -lt 32 ]; do
	(
		j=0
		while [ $j -lt 100 ]; do
			k="c$c:$j"
			v="v$c.$j"
			printf '*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n' ${#k} "$k" ${#v} "$v"
			printf '*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n'
			j=$((j + 1))
		done | redis-cli -p "$PORT" --pipe >"$tmp/client.$c" 2>&1
	) &
	bg_pids="$bg_pids $!"
	c=$((c + 1))
done
wait $bg_pids
bg_pids=""
bad=0
c=0
while [ $c -lt 32 ]; do
	grep -q 'errors: 0, replies: 200' "$tmp/client.$c" || bad=$((bad + 1))
	c=$((c + 1))
done
check "32 clients without errors" "0" "$bad"
check "INCR is atomic" "3200" "$(cli get counter)"
: >"$tmp/want"
keys=""
c=0
while [ $c -lt 32 ]; do
	j=0
	while [ $j -lt 100 ]; do
		echo "v$c.$j" >>"$tmp/want"
		keys="$keys c$c:$j"
		j=$((j + 1))
	done
	c=$((c + 1))
done
# shellcheck disable=SC2086
cli mget $keys >"$tmp/got"
if cmp -s "$tmp/want" "$tmp/got"; then pass; else fail "32 clients: values differ"; fi
check "32 clients: key count" "3201" "$(cli dbsize)"

# ---- pub/sub ------------------------------------------------------------
timeout 60 redis-cli -p "$PORT" psubscribe '__keyspace@0__:*' '__keyevent@0__:del' \
	>"$tmp/sub.out" 2>&1 &
subpid=$!
bg_pids=$subpid
n=0
while ! cli info stats | grep -q '^pubsub_subscriptions:2'; do
	n=$((n + 1))
	[ $n -gt 1200 ] && break
	sleep 0.05
done
cli set ev 1 >/dev/null
cli del ev >/dev/null
cli set last 1 >/dev/null
n=0
while ! grep -q '__keyspace@0__:last' "$tmp/sub.out"; do
	n=$((n + 1))
	[ $n -gt 1200 ] && break
	sleep 0.05
done
kill $subpid 2>/dev/null
wait $subpid 2>/dev/null
bg_pids=""
check "keyspace notifications" \
	"$(printf '%s\n' psubscribe '__keyspace@0__:*' 1 psubscribe '__keyevent@0__:del' 2 \
		pmessage '__keyspace@0__:*' '__keyspace@0__:ev' set \
		pmessage '__keyspace@0__:*' '__keyspace@0__:ev' del \
		pmessage '__keyevent@0__:del' '__keyevent@0__:del' ev \
		pmessage '__keyspace@0__:*' '__keyspace@0__:last' set)" \
	"$(cat "$tmp/sub.out")"
# Times to live: EXPIRE is "expire", the store's delete at expiry "expired".
timeout 60 redis-cli -p "$PORT" psubscribe '__keyevent@0__:expire*' >"$tmp/sub2.out" 2>&1 &
subpid=$!
bg_pids=$subpid
n=0
while ! cli info stats | grep -q '^pubsub_subscriptions:1'; do
	n=$((n + 1))
	[ $n -gt 1200 ] && break
	sleep 0.05
done
cli set soon 1 >/dev/null
cli pexpire soon 200 >/dev/null
n=0
while ! grep -q ':expired$' "$tmp/sub2.out"; do
	n=$((n + 1))
	[ $n -gt 1200 ] && break
	sleep 0.05
done
kill $subpid 2>/dev/null
wait $subpid 2>/dev/null
bg_pids=""
check "expire and expired notifications" \
	"$(printf '%s\n' psubscribe '__keyevent@0__:expire*' 1 \
		pmessage '__keyevent@0__:expire*' '__keyevent@0__:expire' soon \
		pmessage '__keyevent@0__:expire*' '__keyevent@0__:expired' soon)" \
	"$(cat "$tmp/sub2.out")"
check "subscriptions dropped with the client" "pubsub_subscriptions:0" \
	"$(cli info stats | tr -d '\r' | grep '^pubsub_subscriptions')"
check "subscribed mode" \
	"$(printf '*3\n$9\nsubscribe\n$2\nch\n:1\n%s\n*2\n$4\npong\n$0\n\n*3\n$11\nunsubscribe\n$2\nch\n:0\n$-1' \
		"-ERR Can't execute 'get': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT are allowed in this context")" \
	"$(raw 'SUBSCRIBE ch\r\nGET x\r\nPING\r\nUNSUBSCRIBE\r\nGET one\r\n')"
check "publish to nobody" "0" "$(cli publish ch hi)"

# ---- persistence across a restart -------------------------------------
cli set durable yes >/dev/null
stop_server
check "clean stop" "0" "$stop_status"
start_server || fail "restart"
check "persists" "yes" "$(cli get durable)"
check "persists 32 clients" "$(cat "$tmp/want")" "$(cli mget $keys)"
printf 'SELECT users\r\nGET shared\r\n' >"$tmp/sel.in"
check "persists in table" "$(printf '+OK\n$3\none')" \
	"$("$SEND" 127.0.0.1 "$PORT" <"$tmp/sel.in" | tr -d '\r')"

# ---- redis-benchmark runs clean ----------------------------------------
redis-benchmark -p "$PORT" -t set,get -n 10000 -q >"$tmp/bench.out" 2>&1
check "redis-benchmark exit" "0" "$?"
check_has "redis-benchmark set" "SET: " "$(cat "$tmp/bench.out")"
check_has "redis-benchmark get" "GET: " "$(cat "$tmp/bench.out")"
if grep -q 'ERR\|rror' "$tmp/bench.out"; then fail "redis-benchmark errors: $(cat "$tmp/bench.out")"; else pass; fi
stop_server

# ---- oversize requests ---------------------------------------------------
start_server -m 1048576 || fail "start with -m"
# A bulk over the limit is read and dropped: an error, then the next request.
{
	printf '*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$2097152\r\n'
	head -c 2097152 /dev/zero
	printf '\r\nPING\r\n'
} >"$tmp/big.in"
check "oversize bulk" \
	"$(printf '%s\n' '-ERR request larger than the server'"'"'s limit of 1048576 bytes' '+PONG')" \
	"$("$SEND" 127.0.0.1 "$PORT" <"$tmp/big.in" | tr -d '\r')"
check "oversize not written" "0" "$(cli exists big)"
# An inline line that does not end cannot be followed: error and close.
{
	head -c 70000 /dev/zero | tr '\0' 'a'
} >"$tmp/line.in"
check "oversize inline" "-ERR Protocol error: too big inline request" \
	"$("$SEND" 127.0.0.1 "$PORT" <"$tmp/line.in" | tr -d '\r')"
check "server alive" "PONG" "$(cli ping)"
stop_server

# ---- AUTH -----------------------------------------------------------------
printf 'sekrit\n' >"$tmp/pass"
chmod 0644 "$tmp/pass"
if start_server -a "$tmp/pass"; then
	fail "started with a password file others can read"
	stop_server
else
	check_has "password file mode" "mode 0600" "$(cat "$tmp/serve.log")"
fi
chmod 0600 "$tmp/pass"
start_server -a "$tmp/pass" || fail "start with -a"
check_has "noauth" "NOAUTH Authentication required" "$(cli get durable)"
check_has "wrong password" "WRONGPASS" "$(cli auth nope)"
check "auth" "yes" "$(cli -a sekrit --no-auth-warning get durable)"
check "auth default user" "$(printf '+OK\n$3\nyes')" \
	"$(raw 'AUTH default sekrit\r\nGET durable\r\n')"
check "auth hello" "OK" "$(cli --user default --pass sekrit --no-auth-warning set after auth)"
stop_server

# ---- the client limit ------------------------------------------------------
start_server -c 1 || fail "start with -c"
timeout 60 redis-cli -p "$PORT" subscribe hold >"$tmp/hold.out" 2>&1 &
holdpid=$!
bg_pids=$holdpid
n=0
while ! grep -q hold "$tmp/hold.out"; do
	n=$((n + 1))
	[ $n -gt 1200 ] && break
	sleep 0.05
done
check_has "max clients" "ERR max number of clients reached" "$(cli ping 2>&1)"
kill $holdpid 2>/dev/null
wait $holdpid 2>/dev/null
bg_pids=""
stop_server

# ---- golite serve --redis: one change feed for HTTP and RESP -----------
# A write over HTTP reaches a SUBSCRIBE-d redis-cli, and a SET through
# RESP shows in /v1/events.
if command -v curl >/dev/null 2>&1; then
	G=$build/golite
	# Both listeners up (RESP starts after HTTP); a port found in use
	# is tried again with others.
	tries=0
	while [ $tries -lt 10 ]; do
		HPORT=$((port_base + 501 + tries * 11))
		RPORT=$((port_base + 503 + tries * 11))
		tries=$((tries + 1))
		"$G" serve -c -l "127.0.0.1:$HPORT" --redis "127.0.0.1:$RPORT" "$tmp/both" \
			>"$tmp/both.log" 2>&1 &
		pid=$!
		n=0
		while ! grep -q 'Redis protocol on .* (port' "$tmp/both.log"; do
			n=$((n + 1))
			if [ $n -gt 1200 ] || ! kill -0 "$pid" 2>/dev/null; then
				break
			fi
			sleep 0.05
		done
		kill -0 "$pid" 2>/dev/null && break
		wait "$pid" 2>/dev/null
		pid=""
		grep -q 'in use' "$tmp/both.log" || break
	done
	check_has "serve --redis starts" "Redis protocol on 127.0.0.1:$RPORT (port $RPORT)" "$(cat "$tmp/both.log")"
	check "serve --redis: set" "OK" "$(redis-cli -p "$RPORT" set r 1)"
	check "serve --redis: seen over HTTP" "1" "$(curl -s "http://127.0.0.1:$HPORT/v1/t/0/r")"
	timeout 60 redis-cli -p "$RPORT" psubscribe '__key*@0__:*' >"$tmp/both.sub" 2>&1 &
	subpid=$!
	curl -s -N --max-time 60 "http://127.0.0.1:$HPORT/v1/events?table=0" >"$tmp/both.ev" &
	evpid=$!
	bg_pids="$subpid $evpid"
	n=0
	while ! { redis-cli -p "$RPORT" info stats | grep -q '^pubsub_subscriptions:1' &&
		  grep -q retry "$tmp/both.ev"; }; do
		n=$((n + 1))
		[ $n -gt 1200 ] && break
		sleep 0.05
	done
	curl -s -X PUT --data-binary v "http://127.0.0.1:$HPORT/v1/t/0/fromhttp"
	redis-cli -p "$RPORT" set fromresp 1 >/dev/null
	n=0
	while ! { grep -q '__keyspace@0__:fromresp' "$tmp/both.sub" &&
		  grep -q '"key":"fromresp"' "$tmp/both.ev"; }; do
		n=$((n + 1))
		[ $n -gt 1200 ] && break
		sleep 0.05
	done
	kill $subpid $evpid 2>/dev/null
	wait $subpid $evpid 2>/dev/null
	bg_pids=""
	check "a PUT over HTTP is notified to a redis subscriber" \
		"$(printf '%s\n' psubscribe '__key*@0__:*' 1 \
			pmessage '__key*@0__:*' '__keyspace@0__:fromhttp' set \
			pmessage '__key*@0__:*' '__keyevent@0__:set' fromhttp \
			pmessage '__key*@0__:*' '__keyspace@0__:fromresp' set \
			pmessage '__key*@0__:*' '__keyevent@0__:set' fromresp)" \
		"$(cat "$tmp/both.sub")"
	check "a SET through RESP is on /v1/events" "event: put event: put " \
		"$(grep '^event:' "$tmp/both.ev" | tr '\n' ' ')"
	check_has "  with its key" '"op":"put","table":"0","key":"fromresp"}' "$(cat "$tmp/both.ev")"
	stop_server
	check "serve --redis stops cleanly" "0" "$stop_status"
	"$G" serve --no-http "$tmp/both" >"$tmp/nohttp.log" 2>&1
	check_has "--no-http needs --redis" "needs --redis" "$(cat "$tmp/nohttp.log")"
else
	fail "curl is missing: the serve --redis tests did not run"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
