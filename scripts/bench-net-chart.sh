#!/bin/sh
# bench-net-chart.sh — the chart of make bench-net: golite beside the
# server people would otherwise use, from bench/results/net.csv (HTTP
# under wrk, against nginx) and bench/results/redis.csv (RESP under
# redis-benchmark, against redis-server). Writes bench/results/net.png:
# requests per second (log scale) and the server's CPU time per request.
#
#   scripts/bench-net-chart.sh      (run by make bench-net after both)
set -u

here=$(cd "$(dirname "$0")/.." && pwd)
res=$here/bench/results
net=$res/net.csv
redis=$res/redis.csv
[ -f "$net" ] && [ -f "$redis" ] || { echo "run scripts/bench-net.sh and scripts/bench-redis.sh first" >&2; exit 1; }
command -v gnuplot >/dev/null || { echo "gnuplot is missing: make deps" >&2; exit 1; }

dat=$(mktemp /tmp/golite-net-chart.XXXXXX)
trap 'rm -f "$dat" "$res/net.png.tmp"' EXIT
# Rows: "label golite_rps peer_rps golite_cpu peer_cpu" ("?" when there
# is no peer), index 0; the same order for both panels.
{
	awk -F, '
		NR == 1 { next }
		/^nginx GET/ { nr = $2; nc = $6; next }
		/^golite GET/ { printf "\"HTTP GET\" %s %s %s %s\n", $2, nr, $6, nc; next }
		/^golite PUT/ { printf "\"HTTP PUT\" %s ? %s ?\n", $2, $6; next }
		/^golite list/ { printf "\"HTTP list 100\" %s ? %s ?\n", $2, $6; next }' "$net"
	awk -F, '
		NR == 1 { next }
		{ k = "\"RESP " toupper($2) " -P" $1 "\""
		  if (!(k in seen)) { seen[k] = 1; order[++n] = k }
		  if ($3 == "golite") { g[k] = $4; gc[k] = $10 } else { r[k] = $4; rc[k] = $10 } }
		END { for (i = 1; i <= n; i++) { k = order[i]; printf "%s %s %s %s %s\n", k, g[k], r[k], gc[k], rc[k] } }' "$redis"
} >"$dat"

when=$(sed -n 's/^# bench-net \([0-9-]*\)T.*/\1/p' "$res/net.txt" 2>/dev/null | head -n 1)
gnuplot <<GP || { echo "gnuplot failed; no chart" >&2; exit 1; }
set terminal pngcairo size 1300,900 font "sans,10" noenhanced
set output "$res/net.png.tmp"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set grid ytics
set key outside right top vertical
set xtics rotate by -20 nomirror
set multiplot layout 2,1 title "make bench-net, ${when:-latest run}: golite against nginx (HTTP GET) and redis-server (RESP), loopback, 100-byte values, servers on one CPU"
set title "requests per second (log scale; higher is better)"
set logscale y
set format y "%.0s%c"
plot "$dat" using 2:xtic(1) title "golite", "" using 3 title "nginx / redis-server"
set title "server CPU time per request, microseconds (log scale; lower is better)"

set format y "%g"
plot "$dat" using 4:xtic(1) title "golite", "" using 5 title "nginx / redis-server"
unset multiplot
GP
mv -f "$res/net.png.tmp" "$res/net.png"
echo "chart: $res/net.png"
