#!/bin/bash
# bench-values.sh — the engine with large values: 4 KiB and 64 KiB values
# (fillrandom, overwrite, readrandom with one thread), GoLite against
# RocksDB with and without blob files and LevelDB, and keeps the results.
#
#   scripts/bench-values.sh BUILD [golite-bench options...]
#
# Each size writes about 1 GiB of values (262,144 keys of 4 KiB, 16,384 of
# 64 KiB). write-amp is the bytes each process wrote to disk during the
# workload per key+value byte put (/proc/self/io). Writes
#   bench/results/values.txt   both tables, headed by date and commit
# The stores are made in bench-data/ (override with GOLITE_BENCH_DIR) and
# removed afterwards. Exit status: the worst of golite-bench's.
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
	echo "bench-values: $bin is not built (make $bin)" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
results=$root/bench/results
data=${GOLITE_BENCH_DIR:-$root/bench-data}
mkdir -p "$results"
txt=$results/values.txt.tmp
trap 'rm -f "$txt"' EXIT

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
	commit="$commit (with uncommitted changes)"
fi
echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $commit" >"$txt"
systems=golite,rocksdb-blob,rocksdb,leveldb
workloads=fillrandom,overwrite,readrandom:1
status=0
for spec in 4096:262144 65536:16384; do
	size=${spec%%:*}
	num=${spec##*:}
	{
		echo
		echo "== values of $size bytes, $num keys"
		echo "command: $bin --num $num --value-size $size --systems $systems --workloads $workloads --dir $data $*"
		echo
	} >>"$txt"
	echo "bench-values: $size-byte values" >&2
	s=0
	"$bin" --num "$num" --value-size "$size" --systems "$systems" \
		--workloads "$workloads" --dir "$data" "$@" | tee -a "$txt" || s=$?
	[ "$s" -gt "$status" ] && status=$s
done
if [ "$status" -le 1 ]; then
	mv -f "$txt" "$results/values.txt"
else
	echo "bench-values: no report; previous results kept" >&2
fi
exit "$status"
