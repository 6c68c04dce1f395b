#!/bin/sh
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan) and
# runs each for a bounded time.
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
# The corpus of each target starts from the seeds committed in
# tests/fuzz/corpus/TARGET and from files of a freshly written store; new
# inputs go to build-fuzz/corpus/TARGET. Crashes are written to
# build-fuzz/crashes/ and fail the run: turn each into a regression test.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-"wal manifest sstable records vlog"}
out=build-fuzz
cc=clang
flags="-std=gnu11 -O1 -g -fno-omit-frame-pointer -D_GNU_SOURCE -pthread -Iinclude -Iengine -Icommon \
 $(pkg-config --cflags liburcu-memb liburcu-cds) -fsanitize=address,undefined"
libs="$(pkg-config --libs liburcu-memb liburcu-cds liblz4 libzstd) -lm"

mkdir -p "$out/obj" "$out/crashes"
objs=""
for src in engine/*.c common/*.c; do
	o="$out/obj/$(basename "$src" .c).o"
	if [ ! -f "$o" ] || [ "$src" -nt "$o" ]; then
		$cc $flags -fsanitize=fuzzer-no-link -c -o "$o" "$src"
	fi
	objs="$objs $o"
done

# Seeds from a store written now (plain and compressed tables).
seeddir=$(mktemp -d /tmp/golite-seeds-XXXXXX)
trap 'rm -rf "$seeddir"' EXIT
make -s build/libgolite.a >/dev/null
gcc -std=gnu11 -O1 -D_GNU_SOURCE -Iinclude -Iengine -Icommon -o "$out/seeds" tests/fuzz/seeds.c \
	build/libgolite.a $libs -pthread
for c in 0 1 2; do "$out/seeds" "$seeddir/store$c" $c; done

status=0
for t in $targets; do
	echo "== fuzz_$t: ${secs}s"
	$cc $flags -fsanitize=fuzzer -o "$out/fuzz_$t" "tests/fuzz/fuzz_$t.c" $objs $libs
	corpus="$out/corpus/$t"
	mkdir -p "$corpus"
	[ -d "tests/fuzz/corpus/$t" ] && cp -n tests/fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null || true
	case $t in
	wal) cp -n "$seeddir"/store*/*.wal "$corpus"/ 2>/dev/null || true ;;
	sstable) for c in 0 1 2; do for f in "$seeddir"/store$c/*.sst; do cp "$f" "$corpus/c$c-$(basename "$f")"; done; done ;;
	manifest) for c in 0 1 2; do cp "$seeddir/store$c/MANIFEST" "$corpus/MANIFEST.$c"; done ;;
	esac
	if ! "$out/fuzz_$t" -max_total_time="$secs" -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$t-" -max_len=262144 "$corpus" \
		2>"$out/fuzz_$t.log"; then
		echo "fuzz_$t: FAILED, see $out/fuzz_$t.log and $out/crashes/"
		status=1
	fi
	grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$out/fuzz_$t.log" | sed "s/^/  /"
done
exit $status
