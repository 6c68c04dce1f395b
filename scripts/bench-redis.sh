#!/bin/sh
# bench-redis.sh — redis-benchmark against GoLite's RESP server and against
# redis-server, in one run, and the ratio.
#
#   scripts/bench-redis.sh BUILD
#
# Targets, each on 127.0.0.1 on a free port, with its data in a temporary
# directory removed afterwards, stopped by its pid:
#   golite  BUILD/tests/net/resp_serve with its defaults (one event-loop
#           thread per CPU, periodic durability)
#   redis   redis-server with a config of its own: save "", appendonly no
#           (it keeps everything in memory and writes nothing)
#
# For each pipeline depth (-P 1, then -P 16) and each test (SET, GET,
# MSET of 10 keys), the targets take turns, run by run: redis-benchmark -t TEST -d 100
# -n N -P DEPTH (50 connections, its default), --csv. Each row gives
# requests per second, the latency percentiles redis-benchmark reports,
# and the server's CPU time per request (its utime + stime from
# /proc/PID/stat over the test, divided by the requests). RUNS=R repeats
# every measurement R times and keeps the run with the median rate, since
# on a shared machine one pass can be slowed.
#
# CPUs. With two CPUs or more, each server runs on the last CPU and
# redis-benchmark on CPU 0 (taskset), as one would give a server its own
# core: unpinned, the scheduler puts client and server now on one CPU, now
# on two, and the same server measures 31,000 or 51,000 SETs/s from one
# run to the next. golite then starts one event-loop thread (one per CPU
# it may run on); its flush and compaction share that CPU, as Redis has
# one thread. PIN=0 runs everything unpinned.
#
# Environment: N (requests per test, default 200000; N16 with -P 16,
# default 8 N), RUNS (default 5),
# THREADS (golite event-loop threads, default: its own default), PIN
# (default 1).
#
# Prints a table; writes bench/results/redis.csv:
#   depth,test,target,rps,avg_ms,p50_ms,p95_ms,p99_ms,max_ms,cpu_us_per_req
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$here/$build ;; esac
SERVE=$build/tests/net/resp_serve
N=${N:-200000}
# With -P 16 a run of N requests lasts a third of a second, and the
# machine's noise decides the ratio: those runs take N16 requests.
N16=${N16:-$((N * 8))}
RUNS=${RUNS:-5}
THREADS=${THREADS:-}
. "$here/scripts/bench-lib.sh"
[ -x "$SERVE" ] || { echo "no $SERVE: make BUILD=... all first"; exit 1; }
for t in redis-server redis-benchmark redis-cli; do
	command -v $t >/dev/null 2>&1 || { echo "no $t: install redis-server and redis-tools"; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/golite-bench-redis.XXXXXX")
gpid=""
rpid=""
cleanup() {
	[ -n "$gpid" ] && kill "$gpid" 2>/dev/null && wait "$gpid" 2>/dev/null
	[ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# free_port: a port nobody listens on (redis-cli cannot connect to it),
# below the kernel's ephemeral range (a port in it may be the local end of
# a connection, and a bind() to it fails though nothing listens).
free_port() {
	eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$eph" -gt 12000 ] || eph=32768
	p=$((10000 + ($$ + $1 * 97) % (eph - 11000)))
	while redis-cli -p $p ping >/dev/null 2>&1; do
		p=$((p + 1))
	done
	echo $p
}

wait_ping() {
	n=0
	until redis-cli -p "$1" ping 2>/dev/null | grep -q PONG; do
		n=$((n + 1))
		if [ $n -gt 600 ]; then
			echo "server on port $1 did not start"
			exit 1
		fi
		sleep 0.1
	done
}

GPORT=$(free_port 1)
$server_on "$SERVE" ${THREADS:+-j "$THREADS"} "$tmp/golite" "127.0.0.1:$GPORT" >"$tmp/golite.log" 2>&1 &
gpid=$!
wait_ping "$GPORT"

RPORT=$(free_port 2)
[ "$RPORT" = "$GPORT" ] && RPORT=$((RPORT + 1))
mkdir -p "$tmp/redis"
cat >"$tmp/redis.conf" <<EOF
bind 127.0.0.1
port $RPORT
save ""
appendonly no
dir $tmp/redis
daemonize no
logfile $tmp/redis.log
EOF
$server_on redis-server "$tmp/redis.conf" &
rpid=$!
wait_ping "$RPORT"

# measure TARGET PORT PID DEPTH TEST: one redis-benchmark run; prints
# "rps,avg,p50,p95,p99,max,cpu_us_per_req".
measure() {
	# What the run before wrote (golite's log) is written back first, so
	# that its writeback falls on neither this run nor the other target.
	sync
	c0=$(cpu_ticks "$3")
	n=$N
	[ "$4" -gt 1 ] && n=$N16
	$client_on redis-benchmark -p "$2" -t "$5" -d 100 -n "$n" -P "$4" --csv >"$tmp/out.csv" 2>"$tmp/err"
	c1=$(cpu_ticks "$3")
	# "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
	# "p95_latency_ms","p99_latency_ms","max_latency_ms"
	tail -n 1 "$tmp/out.csv" | tr -d '"' | awk -F, -v c=$((c1 - c0)) -v tck="$TCK" -v n="$n" \
		'{ printf "%s,%s,%s,%s,%s,%s,%.2f\n", $2, $3, $5, $6, $7, $8, c * 1e6 / tck / n }'
}

mkdir -p "$here/bench/results"
csv=$here/bench/results/redis.csv
echo "depth,test,target,rps,avg_ms,p50_ms,p95_ms,p99_ms,max_ms,cpu_us_per_req" >"$tmp/all.csv"
for depth in 1 16; do
	for test in set get mset; do
		# The targets take turns run by run, so that a slow spell of the
		# machine falls on both.
		: >"$tmp/runs.golite"
		: >"$tmp/runs.redis"
		r=0
		while [ $r -lt "$RUNS" ]; do
			measure golite "$GPORT" "$gpid" $depth $test >>"$tmp/runs.golite"
			measure redis "$RPORT" "$rpid" $depth $test >>"$tmp/runs.redis"
			r=$((r + 1))
		done
		for target in golite redis; do
			# the run with the median rate
			line=$(sort -t, -k1,1n "$tmp/runs.$target" | sed -n "$(((RUNS + 1) / 2))p")
			echo "$depth,$test,$target,$line" >>"$tmp/all.csv"
		done
	done
done
cp "$tmp/all.csv" "$csv"

printf '%-5s %-5s %12s %12s %6s  %-17s %-17s %-13s\n' depth test "golite rps" "redis rps" ratio \
	"golite p50/p99 ms" "redis p50/p99 ms" "cpu us/req g/r"
awk -F, 'NR > 1 {
	k = $1 "," $2
	if ($3 == "golite") { g[k] = $4; gl[k] = $6 "/" $8; gc[k] = $10; order[++n] = k }
	else { r[k] = $4; rl[k] = $6 "/" $8; rc[k] = $10 }
}
END {
	for (i = 1; i <= n; i++) {
		k = order[i]; split(k, a, ",")
		printf "%-5s %-5s %12.0f %12.0f %6.2f  %-17s %-17s %s/%s\n", "-P" a[1], a[2], g[k], r[k],
		       (r[k] > 0 ? g[k] / r[k] : 0), gl[k], rl[k], gc[k], rc[k]
	}
}' "$tmp/all.csv"
echo "(figures in $csv; N=$N (-P 16: $N16), RUNS=$RUNS, $ncpu CPUs${server_on:+, servers on CPU $((ncpu - 1)), client on CPU 0})"
