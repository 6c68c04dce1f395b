#!/bin/sh
# Runs the test suites of a build directory and prints "N passed, N failed".
#
#   scripts/run-tests.sh [--unit|--fs] BUILD
#
# --unit runs only the criterion suites (build/tests/test_*), --fs only the
# shell suites (tests/cli/test_*.sh, tests/fs/test_*.sh, tests/net/test_*.sh,
# tests/store/test_*.sh). Without a flag both run. Exit status is 0
# only if every suite passed.
set -u

what=all
case "${1:-}" in
--unit) what=unit; shift ;;
--fs) what=fs; shift ;;
esac
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)

passed=0
failed=0
failed_names=""

run_suite() {
	name=$1
	shift
	start=$(date +%s)
	printf '== %s\n' "$name"
	if "$@"; then
		passed=$((passed + 1))
		printf '== %s: ok (%ss)\n' "$name" $(( $(date +%s) - start ))
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		printf '== %s: FAILED (%ss)\n' "$name" $(( $(date +%s) - start ))
	fi
}

if [ "$what" != fs ]; then
	for t in "$build"/tests/test_*; do
		[ -x "$t" ] || continue
		run_suite "$(basename "$t")" "$t" --jobs=2 --short-filename
	done
fi

if [ "$what" != unit ]; then
	for s in "$here"/tests/cli/test_*.sh "$here"/tests/fs/test_*.sh "$here"/tests/net/test_*.sh \
		 "$here"/tests/store/test_*.sh; do
		[ -f "$s" ] || continue
		run_suite "$(basename "$s")" sh "$s" "$build"
	done
fi

printf '\n%d passed, %d failed\n' "$passed" "$failed"
if [ "$failed" -ne 0 ]; then
	printf 'failed:%s\n' "$failed_names"
	exit 1
fi
exit 0
