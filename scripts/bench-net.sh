#!/bin/sh
# The HTTP API under wrk, beside nginx serving the same values as static
# files: GET of 100-byte values (the ratio golite/nginx is the figure to
# watch), PUT of 100-byte values, and listings of 100 keys. Prints ops/s,
# latency percentiles and the server's CPU time per request, and writes
# them to bench/results/net.txt and net.csv:
#   run,rps,p50_ms,p90_ms,p99_ms,cpu_us_per_req
#
#   scripts/bench-net.sh [BUILD]     (make bench-net)
#
# CPU per request: the utime + stime of the server's processes (nginx:
# its master and workers) over the run, from /proc/PID/stat, divided by
# the requests wrk completed. With two CPUs or more, both servers run on
# the last CPU and wrk on CPU 0 (taskset; PIN=0 leaves them unpinned), as
# scripts/bench-redis.sh does: nginx then starts one worker, golite one
# server thread (each starts one per CPU it may run on).
#
# Environment: DURATION (seconds per run, default 10), CONNS (wrk
# connections, default 10), THREADS (wrk threads, default 1), KEYS (keys
# read, default 1000), RUNS (GET runs of each server, default 3). Both servers run on 127.0.0.1 on free ports in a
# temporary directory and are stopped by pid on exit. Figures on a shared
# machine are noisy: compare the two in one run, as a ratio.
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
case $build in /*) ;; *) build=$here/$build ;; esac
G=$build/golite
DURATION=${DURATION:-10}
CONNS=${CONNS:-10}
THREADS=${THREADS:-1}
KEYS=${KEYS:-1000}
RUNS=${RUNS:-3}
for t in wrk nginx curl ss; do
	command -v $t >/dev/null || [ -x /usr/sbin/$t ] || { echo "$t is missing: make deps" >&2; exit 1; }
done
[ -x "$G" ] || { echo "$G is missing: make first" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
. "$here/scripts/bench-lib.sh"
nginx_workers=auto
[ -n "$server_on" ] && nginx_workers=1

T=$(mktemp -d /tmp/golite-bench-net.XXXXXX)
pids=""
cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

free_port() {
	while :; do
		p=$(( ($(od -An -N2 -tu2 /dev/urandom) % 12000) + 20000 ))  # below ephemeral ports
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}
wait_listen() {
	n=0
	while ! ss -Htln "sport = :$1" | grep -q .; do
		n=$((n + 1))
		[ $n -gt 400 ] && { echo "nothing listens on $1" >&2; exit 1; }
		sleep 0.05
	done
}

# ---- golite serve, with KEYS values of 100 bytes ----
gport=$(free_port)
$server_on "$G" serve -c -l "127.0.0.1:$gport" "$T/data" 2>"$T/serve.log" &
gpid=$!
pids="$pids $gpid"
wait_listen "$gport"
GURL=http://127.0.0.1:$gport
curl -s -X PUT "$GURL/v1/t/bench" >/dev/null
value=$(printf '%0100d' 0 | tr 0 v)
mkdir -p "$T/www/v1/t/bench"
# nginx's workers run as another user: the files must be readable.
chmod 755 "$T"
umask 022
{
	printf '['
	i=0
	while [ $i -lt "$KEYS" ]; do
		[ $i -gt 0 ] && printf ','
		printf '{"op":"put","table":"bench","key":"k%06d","value":"%s"}' $i "$value"
		printf '%s' "$value" >"$T/www/v1/t/bench/$(printf 'k%06d' $i)"
		i=$((i + 1))
	done
	printf ']'
} >"$T/batch.json"
curl -s -X POST --data-binary "@$T/batch.json" "$GURL/v1/batch" >/dev/null

# ---- nginx, the same values as files ----
nport=$(free_port)
mkdir -p "$T/nginx"
cat >"$T/nginx/nginx.conf" <<CONF
worker_processes $nginx_workers;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
	open_file_cache max=10000 inactive=60s;
	open_file_cache_valid 60s;
	default_type application/octet-stream;
	client_body_temp_path $T/nginx/body;
	proxy_temp_path $T/nginx/proxy;
	fastcgi_temp_path $T/nginx/fastcgi;
	uwsgi_temp_path $T/nginx/uwsgi;
	scgi_temp_path $T/nginx/scgi;
	server {
		listen 127.0.0.1:$nport;
		root $T/www;
	}
}
CONF
$server_on "$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -g 'daemon off;' 2>"$T/nginx/start.log" &
npid=$!
pids="$pids $npid"
wait_listen "$nport"
NURL=http://127.0.0.1:$nport
[ "$(curl -s "$NURL/v1/t/bench/k000001")" = "$value" ] || { echo "nginx does not serve the values" >&2; exit 1; }
[ "$(curl -s "$GURL/v1/t/bench/k000001")" = "$value" ] || { echo "golite does not serve the values" >&2; exit 1; }

# run NAME URL PID [wrk options]: wrk against URL, whose server is PID;
# appends "NAME,ops/s,p50,p90,p99 (ms),cpu-us/req" to $T/runs.
run() {
	name=$1
	url=$2
	spid=$3
	shift 3
	sync  # the writes of the run before are on disk: no writeback in this one
	c0=$(cpu_ticks "$spid")
	KEYS=$KEYS $client_on wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$@" "$url" >"$T/wrk.out" 2>&1
	c1=$(cpu_ticks "$spid")
	awk -v name="$name" -v ticks=$((c1 - c0)) -v tck="$TCK" '
		function ms(v) {
			if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
			if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
			if (v ~ /s$/) { sub(/s$/, "", v); return v * 1000 }
			return v
		}
		/Requests\/sec/ { rps = $2 }
		/requests in/ { n = $1 }
		/^ +50%/ { p50 = ms($2) }
		/^ +90%/ { p90 = ms($2) }
		/^ +99%/ { p99 = ms($2) }
		/Non-2xx/ { bad = $NF }
		END {
			cpu = n > 0 ? ticks * 1e6 / tck / n : 0
			printf "%s,%.0f,%.3f,%.3f,%.3f,%.2f\n", name, rps, p50, p90, p99, cpu
			if (bad) printf "# %s: %s answers were not 2xx\n", name, bad > "/dev/stderr" }' \
		"$T/wrk.out" >>"$T/runs"
}

# report NAME: the run of NAME with the median rate, as a line of the
# table and a row of the CSV.
report() {
	grep -F "$1," "$T/runs" | sort -t, -k2,2n | sed -n "$(( ($(grep -cF "$1," "$T/runs") + 1) / 2 ))p" |
		tee -a "$T/csv" | awk -F, '{ printf "%-28s %10.0f %8.3f %8.3f %8.3f %8.2f\n", $1, $2, $3, $4, $5, $6 }'
}

: >"$T/runs"
# The GETs of nginx and golite take turns RUNS times, so that a slow spell
# of the machine falls on both; the median run of each is reported.
r=0
while [ $r -lt "$RUNS" ]; do
	run "nginx GET (static files)" "$NURL" "$npid" -s "$here/bench/wrk/get.lua"
	run "golite GET /v1/t/bench/K" "$GURL" "$gpid" -s "$here/bench/wrk/get.lua"
	r=$((r + 1))
done
run "golite PUT /v1/t/bench/K" "$GURL" "$gpid" -s "$here/bench/wrk/put.lua"
run "golite list (limit=100)" "$GURL/v1/t/bench?limit=100&values=1" "$gpid"

echo "run,rps,p50_ms,p90_ms,p99_ms,cpu_us_per_req" >"$T/csv"
{
	echo "# bench-net $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m), $ncpu CPUs, wrk -t$THREADS -c$CONNS -d${DURATION}s${server_on:+, servers on CPU $((ncpu - 1)), wrk on CPU 0}; GETs: median of $RUNS runs taken in turns"
	echo "# 100-byte values, $KEYS keys; latency in ms (upper bounds of wrk's buckets); server CPU per request in microseconds"
	printf '%-28s %10s %8s %8s %8s %8s\n' run ops/s p50 p90 p99 cpu-us
	report "nginx GET (static files)"
	report "golite GET /v1/t/bench/K"
	report "golite PUT /v1/t/bench/K"
	report "golite list (limit=100)"
} | tee "$T/result"
awk '/^nginx GET/ { n = $(NF - 4) } /^golite GET/ { g = $(NF - 4) }
	END { if (n > 0) printf "golite/nginx GET ratio: %.2f\n", g / n }' "$T/result" | tee -a "$T/result"
mkdir -p "$here/bench/results"
cp "$T/result" "$here/bench/results/net.txt"
cp "$T/csv" "$here/bench/results/net.csv"
