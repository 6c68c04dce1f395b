#!/bin/sh
# Runs the engine's criterion suites under valgrind (memcheck): any invalid
# access, use of uninitialised memory or leak (definite or indirect) fails.
#
#   scripts/valgrind-test.sh BUILD [SUITE...]
#
# Slow (minutes per suite); part of `make torture`, not of `make test`.
# The concurrency suite is left to the ThreadSanitizer and AddressSanitizer
# builds: under valgrind its threads run one at a time, some 50 times
# slower, and it outlasts its time limits.
set -u
build=${1:-build}
[ $# -gt 0 ] && shift
suites=${*:-"crc32c arena batch memtable wal bloom cache sstable lsm api"}
passed=0
failed=0
for s in $suites; do
	t="$build/tests/test_$s"
	[ -x "$t" ] || { echo "valgrind: $t missing"; failed=$((failed + 1)); continue; }
	log="$build/valgrind-$s.log"
	printf '== valgrind %s ... ' "$s"
	if valgrind --trace-children=yes --leak-check=full \
		--errors-for-leak-kinds=definite,indirect --error-exitcode=9 -q \
		"$t" --jobs=1 >"$log" 2>&1; then
		passed=$((passed + 1))
		echo ok
	else
		failed=$((failed + 1))
		echo "FAILED (see $log)"
	fi
done
printf '\n%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
