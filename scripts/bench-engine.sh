#!/bin/bash
# bench-engine.sh — runs the engine benchmark (GoLite against LevelDB,
# RocksDB, LMDB and SQLite) and keeps its results.
#
#   scripts/bench-engine.sh BUILD [golite-bench options...]
#
# Runs BUILD/golite-bench with 1,000,000 keys, 10,000 synced writes and
# every system and workload (options given after BUILD are passed on and
# override these), shows progress on stderr, and writes
#   bench/results/engine.txt   the table, headed by date and commit
#   bench/results/engine.csv   workload,system,threads,ops_per_sec,ns_per_op,
#                              allocs_per_op,rss_mb
# The stores are made in bench-data/ at the top of the tree (override with
# GOLITE_BENCH_DIR; it must be on a local disk) and removed afterwards.
# Results replace the previous ones only when the run produced a report.
# Exit status: golite-bench's (0 all passed, 1 some workload failed).
set -eu
set -o pipefail

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
	echo "usage: $0 BUILD [golite-bench options...]" >&2
	exit 2
fi
build=$1
shift
bin=$build/golite-bench
if [ ! -x "$bin" ]; then
	echo "bench-engine: $bin is not built (make $bin)" >&2
	exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
results=$root/bench/results
data=${GOLITE_BENCH_DIR:-$root/bench-data}
mkdir -p "$results"

txt=$results/engine.txt.tmp
csv=$results/engine.csv.tmp
trap 'rm -f "$txt" "$csv"' EXIT

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	commit="$commit (with uncommitted changes)"
fi
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $commit"
	echo "command: $bin --num 1000000 --sync-num 10000 --dir $data $*"
	echo
} >"$txt"

echo "bench-engine: $bin, results in $results/engine.{txt,csv}" >&2
start=$(date +%s)
status=0
"$bin" --num 1000000 --sync-num 10000 --dir "$data" --csv="$csv" "$@" \
	| tee -a "$txt" || status=$?
elapsed=$(( $(date +%s) - start ))
echo "bench-engine: finished in $((elapsed / 60))m$((elapsed % 60))s, status $status" >&2

if [ "$status" -le 1 ] && [ -s "$csv" ]; then
	mv -f "$txt" "$results/engine.txt"
	mv -f "$csv" "$results/engine.csv"
else
	echo "bench-engine: no report; previous results kept" >&2
fi
exit "$status"
