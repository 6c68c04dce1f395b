#!/bin/sh
# The HTTP API under wrk, beside nginx serving the same values as static
# files: GET of 100-byte values (the ratio golite/nginx is the figure to
# watch), PUT of 100-byte values, and listings of 100 keys. Prints ops/s
# and latency percentiles and writes them to bench/results/net.txt.
#
#   scripts/bench-net.sh [BUILD]     (make bench-net)
#
# Environment: DURATION (seconds per run, default 10), CONNS (wrk
# connections, default 10), THREADS (wrk threads, default 1), KEYS (keys
# read, default 1000). Both servers run on 127.0.0.1 on free ports in a
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
for t in wrk nginx curl ss; do
	command -v $t >/dev/null || [ -x /usr/sbin/$t ] || { echo "$t is missing: make deps" >&2; exit 1; }
done
[ -x "$G" ] || { echo "$G is missing: make first" >&2; exit 1; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

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
		p=$(( ($(od -An -N2 -tu2 /dev/urandom) % 30000) + 20000 ))
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
"$G" serve -c -l "127.0.0.1:$gport" "$T/data" 2>"$T/serve.log" &
pids="$pids $!"
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
worker_processes auto;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log;
events { worker_connections 1024; }
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	keepalive_requests 1000000;
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
"$NGINX" -p "$T/nginx" -c "$T/nginx/nginx.conf" -g 'daemon off;' 2>"$T/nginx/start.log" &
pids="$pids $!"
wait_listen "$nport"
NURL=http://127.0.0.1:$nport
[ "$(curl -s "$NURL/v1/t/bench/k000001")" = "$value" ] || { echo "nginx does not serve the values" >&2; exit 1; }
[ "$(curl -s "$GURL/v1/t/bench/k000001")" = "$value" ] || { echo "golite does not serve the values" >&2; exit 1; }

# run NAME URL SCRIPT: wrk, then one line "NAME ops/s p50 p90 p99 (ms)".
run() {
	name=$1
	url=$2
	shift 2
	KEYS=$KEYS wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency "$@" "$url" >"$T/wrk.out" 2>&1
	awk -v name="$name" '
		function ms(v) {
			if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
			if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
			if (v ~ /s$/) { sub(/s$/, "", v); return v * 1000 }
			return v
		}
		/Requests\/sec/ { rps = $2 }
		/^ +50%/ { p50 = ms($2) }
		/^ +90%/ { p90 = ms($2) }
		/^ +99%/ { p99 = ms($2) }
		/Non-2xx/ { bad = $NF }
		END { printf "%-28s %10.0f %8.3f %8.3f %8.3f\n", name, rps, p50, p90, p99
			if (bad) printf "# %s: %s answers were not 2xx\n", name, bad }' "$T/wrk.out"
}

{
	echo "# bench-net $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -m), $(nproc) CPUs, wrk -t$THREADS -c$CONNS -d${DURATION}s"
	echo "# 100-byte values, $KEYS keys; latency in ms (upper bounds of wrk's buckets)"
	printf '%-28s %10s %8s %8s %8s\n' run ops/s p50 p90 p99
	run "nginx GET (static files)" "$NURL" -s "$here/bench/wrk/get.lua"
	run "golite GET /v1/t/bench/K" "$GURL" -s "$here/bench/wrk/get.lua"
	run "golite PUT /v1/t/bench/K" "$GURL" -s "$here/bench/wrk/put.lua"
	run "golite list (limit=100)" "$GURL/v1/t/bench?limit=100&values=1"
} | tee "$T/result"
awk '/^nginx GET/ { n = $(NF - 3) } /^golite GET/ { g = $(NF - 3) }
	END { if (n > 0) printf "golite/nginx GET ratio: %.2f\n", g / n }' "$T/result" | tee -a "$T/result"
mkdir -p "$here/bench/results"
cp "$T/result" "$here/bench/results/net.txt"
