#!/bin/sh
# The etcd servers of tests/store/etcd_lib.sh, as the store's tests will
# use them: a one-member cluster; a three-member one on 127.0.0.1 whose
# endpoints are three distinct ports below the kernel's ephemeral range; a
# put and get; the leader killed and a new one elected among the other
# two, which still take a put; the killed member restarted, healthy and
# caught up; two members killed, after which a put (--command-timeout=2s)
# fails within a bounded time; the two restarted and a put taken again;
# every member killed and all three restarted together, the data intact;
# etcd_cluster_stop leaving no process, and safe to call again.
#
#   sh tests/store/test_etcd_lib.sh
#
# Prints "ok", or "FAIL: ..." (with the tails of the member logs where
# etcd_lib.sh prints them) and exits 1 at the first step that fails.
# etcd_lib.sh sets etcd_pid_K and the ports through eval.
# shellcheck disable=SC2154
set -u

here=$(cd "$(dirname "$0")/../.." && pwd)
. "$here/tests/store/etcd_lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/golite-etcd-lib.XXXXXX") || exit 1
trap 'etcd_cluster_stop; rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP

fail() {
	printf 'FAIL: %s\n' "$*"
	exit 1
}

# ctl ENDPOINTS ARGS...: etcdctl ARGS against ENDPOINTS, stopped after
# 30 s whatever its own timeouts.
ctl() {
	_eps=$1
	shift
	timeout 30 etcdctl --endpoints="$_eps" --dial-timeout=2s --command-timeout=5s "$@"
}

# get ENDPOINTS KEY: the value of KEY (a linearizable read).
get() {
	ctl "$1" get --print-value-only "$2"
}

# ---- one member ---------------------------------------------------------
mkdir "$tmp/one" || fail "mkdir"
etcd_cluster_start "$tmp/one" 1 || fail "a one-member cluster did not start"
[ "$(etcd_leader)" = 1 ] || fail "one member: etcd_leader printed \"$(etcd_leader)\", want 1"
ctl "$(etcd_endpoints)" put solo 1 >/dev/null || fail "one member: put"
[ "$(get "$(etcd_endpoint 1)" solo)" = 1 ] || fail "one member: get"
one_pid=$etcd_pid_1
[ "$(cat "$tmp/one/m1.pid")" = "$one_pid" ] || fail "one member: m1.pid is not \$etcd_pid_1"
etcd_cluster_stop
! kill -0 "$one_pid" 2>/dev/null || fail "one member: still runs after etcd_cluster_stop"
[ ! -e "$tmp/one/m1.pid" ] || fail "one member: m1.pid left after etcd_cluster_stop"

# ---- three members --------------------------------------------------------
mkdir "$tmp/three" || fail "mkdir"
etcd_cluster_start "$tmp/three" 3 || fail "a three-member cluster did not start"
eps=$(etcd_endpoints)
echo "$eps" | grep -Eqx '127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+,127\.0\.0\.1:[0-9]+' ||
	fail "etcd_endpoints printed \"$eps\""
eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range)
ports="$etcd_client_port_1 $etcd_client_port_2 $etcd_client_port_3 $etcd_peer_port_1 $etcd_peer_port_2 $etcd_peer_port_3"
[ "$(echo "$ports" | tr ' ' '\n' | sort -u | wc -l)" -eq 6 ] || fail "ports not distinct: $ports"
for p in $ports; do
	[ "$p" -lt "$eph" ] || fail "port $p is in the ephemeral range (from $eph)"
done
[ "$(etcd_endpoint 2)" = "127.0.0.1:$etcd_client_port_2" ] || fail "etcd_endpoint 2 printed \"$(etcd_endpoint 2)\""
etcd_endpoint 4 >/dev/null 2>&1 && fail "etcd_endpoint 4 succeeded"

ctl "$eps" put k1 v1 >/dev/null || fail "put k1"
[ "$(get "$eps" k1)" = v1 ] || fail "get k1: \"$(get "$eps" k1)\""

# The leader killed: another is elected, and the two take a put.
old=$(etcd_leader) || fail "no leader in a healthy cluster"
etcd_kill "$old" || fail "etcd_kill $old"
etcd_alive "$old" && fail "m$old alive after etcd_kill"
etcd_wait_leader 10 || fail "no new leader 10 s after the leader (m$old) was killed"
new=$(etcd_leader) || fail "etcd_leader failed after etcd_wait_leader"
[ "$new" != "$old" ] || fail "the leader is still m$old after it was killed"
live=$(etcd_live_endpoints)
[ "$(echo "$live" | tr ',' '\n' | wc -l)" -eq 2 ] || fail "etcd_live_endpoints printed \"$live\" with m$old dead"
ctl "$live" put k2 v2 >/dev/null || fail "put k2 on the two survivors"

# The killed member restarted: healthy, and it has the put it missed.
etcd_restart "$old" || fail "etcd_restart $old"
ctl "$(etcd_endpoint "$old")" endpoint health >/dev/null 2>&1 || fail "m$old not healthy after etcd_restart"
[ "$(get "$(etcd_endpoint "$old")" k2)" = v2 ] || fail "m$old restarted has not k2"

# Two killed: no quorum, and a put fails once its 2 s are out.
survivor=$(etcd_leader) || fail "no leader after the restart"
down=""
for k in 1 2 3; do
	[ "$k" = "$survivor" ] || down="$down $k"
done
for k in $down; do
	etcd_kill "$k" || fail "etcd_kill $k"
done
t0=$(date +%s)
if timeout 20 etcdctl --endpoints="$(etcd_endpoint "$survivor")" --dial-timeout=2s \
	--command-timeout=2s put k3 v3 >"$tmp/out" 2>&1; then
	fail "a put succeeded with two members of three down: $(cat "$tmp/out")"
fi
took=$(($(date +%s) - t0))
[ "$took" -le 10 ] || fail "the put without quorum took $took s to fail"

# Back up: the two restarted (one at a time; the first makes a quorum).
for k in $down; do
	etcd_restart "$k" || fail "etcd_restart $k (quorum lost)"
done
etcd_wait_leader 10 || fail "no leader after the two restarts"
ctl "$eps" put k4 v4 >/dev/null || fail "put k4 after the two restarts"
[ "$(get "$eps" k4)" = v4 ] || fail "get k4"

# All three killed (SIGTERM) and restarted in one call; the data survives.
for k in 1 2 3; do
	etcd_kill "$k" TERM || fail "etcd_kill $k TERM"
done
[ -z "$(etcd_live_endpoints)" ] || fail "etcd_live_endpoints printed \"$(etcd_live_endpoints)\" with none running"
etcd_leader >/dev/null && fail "etcd_leader found a leader with no member running"
etcd_restart 1 2 3 || fail "etcd_restart 1 2 3"
for key in k1 k2 k4; do
	[ "$(get "$eps" $key)" = "v${key#k}" ] || fail "$key lost over a restart of every member"
done

# etcd_cluster_stop: nothing left running; a second call does nothing.
pids="$etcd_pid_1 $etcd_pid_2 $etcd_pid_3"
etcd_cluster_stop
for p in $pids; do
	! kill -0 "$p" 2>/dev/null || fail "pid $p runs after etcd_cluster_stop"
done
for k in 1 2 3; do
	[ ! -e "$tmp/three/m$k.pid" ] || fail "m$k.pid left after etcd_cluster_stop"
done
etcd_cluster_stop || fail "a second etcd_cluster_stop failed"

echo ok
