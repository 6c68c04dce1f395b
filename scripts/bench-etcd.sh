#!/bin/sh
# bench-etcd.sh — the mount on a shared store (golitefs -o store=URI)
# against etcd's own rate, in one run.
#
#   scripts/bench-etcd.sh BUILD
#
# One etcd member on 127.0.0.1 (tests/store/etcd_lib.sh: ports of its
# own, data in a temporary directory, stopped by its pid). Then, for N
# files (N=10000 unless set), the phases of tests/store/fsops.c — create,
# stat, write (100 bytes), read, rename, ls, unlink — through:
#   etcd    golitefs -o store=etcd://.../bench
#   port    golitefs -o store=local:DIR (the same mount on the engine)
#   engine  golitefs DIR (the engine-backed mount)
# Before stat, read and ls the kernel's caches are dropped
# (drop_caches=2), so that lookups reach the daemon. For the etcd mount,
# the round trips to etcd per operation come from etcd's own counters
# (grpc_server_handled_total of the KV service in /metrics, read before
# and after each phase).
# etcd's own rate: N puts of 100-byte values and N range reads of one
# key each, sent one after the other on one kept-alive connection by one
# curl process (curl -K), to the same JSON gateway the mount uses.
#
# Prints a table; writes bench/results/etcd.txt.
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$here/$build ;; esac
N=${N:-10000}
FS=$build/golitefs
OPS=$build/tests/store/fsops
for p in "$FS" "$OPS"; do
	[ -x "$p" ] || { echo "no $p: make BUILD=... all first"; exit 1; }
done
for t in etcd etcdctl curl; do
	command -v $t >/dev/null 2>&1 || { echo "no $t: make deps"; exit 1; }
done
. "$here/tests/store/etcd_lib.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/golite-bench-etcd.XXXXXX") || exit 1
MNT=$tmp/mnt
mkdir -p "$MNT" "$tmp/etcd"
mpid=""
cleanup() {
	if [ -n "$mpid" ]; then
		fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT" 2>/dev/null
		wait "$mpid" 2>/dev/null
	fi
	etcd_cluster_stop
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

etcd_cluster_start "$tmp/etcd" 1 || exit 1
EP=$(etcd_endpoint 1)

kv_requests() {
	curl -s "http://$EP/metrics" |
		awk '/^grpc_server_handled_total/ && /etcdserverpb.KV/ { s += $2 } END { print s + 0 }'
}

# mount_it ARGS...: golitefs -f ARGS MNT in the background.
mount_it() {
	"$FS" -f "$@" "$MNT" 2>>"$tmp/daemon.log" &
	mpid=$!
	n=0
	until grep -q " $MNT fuse" /proc/mounts; do
		n=$((n + 1))
		if [ $n -gt 100 ] || ! kill -0 $mpid 2>/dev/null; then
			echo "the mount did not come up: $(tail -3 "$tmp/daemon.log")"
			exit 1
		fi
		sleep 0.1
	done
}

unmount_it() {
	fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -uz "$MNT"
	wait "$mpid" 2>/dev/null
	mpid=""
}

# run_phases NAME: the phases in MNT/bench; lines "NAME PHASE OPS/S RT/OP"
run_phases() {
	mkdir "$MNT/bench" || exit 1
	for ph in create stat write read rename ls unlink; do
		case $ph in stat | read | ls)
			sync
			echo 2 >/proc/sys/vm/drop_caches
			;;
		esac
		r0=$(kv_requests)
		out=$("$OPS" $ph "$MNT/bench" "$N") || { echo "$1 $ph failed"; exit 1; }
		r1=$(kv_requests)
		echo "$1 $out" | awk -v r=$((r1 - r0)) -v n="$N" -v name="$1" \
			'{ printf "%s %s %.0f %.2f\n", name, $2, $5, (name == "etcd" ? r / n : 0) }'
	done
}

: >"$tmp/rows"
mount_it -o "store=etcd://$EP/bench"
run_phases etcd >>"$tmp/rows"
unmount_it
mount_it -o "store=local:$tmp/port"
run_phases port >>"$tmp/rows"
unmount_it
mount_it "$tmp/engine"
run_phases engine >>"$tmp/rows"
unmount_it

# etcd's own rate: N puts, then N range reads, one connection. The
# request lists (curl config files) are made by awk, base64 included.
awk -v n="$N" -v ep="$EP" -v dir="$tmp" '
function b64(s,    out, i, c, v, k, b) {
	b = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	out = ""
	for (i = 1; i <= length(s); i += 3) {
		v = 0
		for (k = 0; k < 3; k++) {
			c = (i + k <= length(s)) ? index(chars, substr(s, i + k, 1)) + 31 : 0
			v = v * 256 + c
		}
		out = out substr(b, int(v / 262144) % 64 + 1, 1) substr(b, int(v / 4096) % 64 + 1, 1)
		out = out (i + 1 <= length(s) ? substr(b, int(v / 64) % 64 + 1, 1) : "=")
		out = out (i + 2 <= length(s) ? substr(b, v % 64 + 1, 1) : "=")
	}
	return out
}
BEGIN {
	for (c = 32; c < 127; c++)
		chars = chars sprintf("%c", c)
	val = ""
	for (i = 0; i < 100; i++)
		val = val "0"
	val = b64(val)
	for (i = 0; i < n; i++) {
		k = b64(sprintf("raw/k%06d", i))
		sep = i + 1 < n ? "next\n" : ""
		printf "url = \"http://%s/v3/kv/put\"\ndata = \"{\\\"key\\\":\\\"%s\\\",\\\"value\\\":\\\"%s\\\"}\"\noutput = \"/dev/null\"\n%s", ep, k, val, sep > (dir "/puts.cfg")
		printf "url = \"http://%s/v3/kv/range\"\ndata = \"{\\\"key\\\":\\\"%s\\\"}\"\noutput = \"/dev/null\"\n%s", ep, k, sep > (dir "/gets.cfg")
	}
}'
for what in puts gets; do
	t0=$(date +%s.%N)
	curl -s -K "$tmp/$what.cfg" || { echo "curl $what failed"; exit 1; }
	t1=$(date +%s.%N)
	echo "$what $t0 $t1" | awk -v n="$N" '{ printf "etcd-own %s %.0f 1.00\n", $1, n / ($3 - $2) }' >>"$tmp/rows"
done

mkdir -p "$here/bench/results"
out=$here/bench/results/etcd.txt
{
	echo "# bench-etcd $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m), $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), etcd $(etcd --version | awk 'NR==1 {print $3}')"
	echo "# $N files; ops/s; RT/op: requests etcd handled per operation (its KV counters)"
	printf '%-8s %12s %8s %12s %12s\n' phase "etcd mount" "RT/op" "port local" "engine"
	for ph in create stat write read rename ls unlink; do
		e=$(awk -v p=$ph '$1 == "etcd" && $2 == p { print $3 " " $4 }' "$tmp/rows")
		l=$(awk -v p=$ph '$1 == "port" && $2 == p { print $3 }' "$tmp/rows")
		g=$(awk -v p=$ph '$1 == "engine" && $2 == p { print $3 }' "$tmp/rows")
		printf '%-8s %12s %8s %12s %12s\n' $ph ${e% *} ${e#* } "$l" "$g"
	done
	p=$(awk '$1 == "etcd-own" && $2 == "puts" { print $3 }' "$tmp/rows")
	g=$(awk '$1 == "etcd-own" && $2 == "gets" { print $3 }' "$tmp/rows")
	echo "etcd's own rate, one client, one connection: $p puts/s, $g range reads/s"
	c=$(awk '$1 == "etcd" && $2 == "create" { print $3 }' "$tmp/rows")
	s=$(awk '$1 == "etcd" && $2 == "read" { print $3 }' "$tmp/rows")
	echo "$c $p $s $g" | awk '{ printf "etcd mount / etcd: create %.2f of its puts, read %.2f of its range reads\n", $1 / $2, $3 / $4 }'
} | tee "$out"
