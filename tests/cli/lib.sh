# lib.sh — what the golite command's tests share (sourced, POSIX sh; `.`
# passes no arguments, so the test's own $1 is BUILD):
#
#   TEST_NAME=NAME
#   . "$(dirname "$0")/lib.sh"
#
# Sets G (BUILD/golite, which must be built) and tmp, a temporary directory
# golite-NAME.XXXXXX removed on exit (after the test's own cleanup_extra,
# if it defines one). pass/fail/run/out/has/hasnt/same count results, and
# finish prints "N passed, N failed" and exits 0 only if none failed.
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")/../.." && pwd)
case $build in /*) ;; *) build=$here/$build ;; esac
G=$build/golite
if [ ! -x "$G" ]; then
	echo "no $G: build it first (make)"
	exit 1
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/golite-$TEST_NAME.XXXXXX") || exit 1
[ -d "$tmp" ] || exit 1
cleanup() {
	if command -v cleanup_extra >/dev/null 2>&1; then
		cleanup_extra
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$*"
}

# run WANT DESC CMD...: runs CMD (stdout in $tmp/out, stderr in $tmp/err)
# and checks its exit status.
run() {
	want=$1
	desc=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		pass
	else
		fail "$desc: exit status $got, want $want; stderr: $(head -c 600 "$tmp/err")"
	fi
}

# out TEXT DESC: standard output of the last run is TEXT (trailing
# newlines aside).
out() {
	if [ "$(cat "$tmp/out")" = "$1" ]; then pass; else fail "$2: got \"$(head -c 300 "$tmp/out")\", want \"$1\""; fi
}

# has FILE PATTERN DESC: FILE holds a line matching the grep pattern.
has() {
	if grep -q -e "$2" "$1"; then pass; else fail "$3: no \"$2\" in: $(head -c 600 "$1")"; fi
}

hasnt() {
	if grep -q -e "$2" "$1"; then fail "$3: unexpected \"$2\" in: $(head -c 600 "$1")"; else pass; fi
}

same() {
	if cmp -s "$1" "$2"; then pass; else fail "$3: $1 and $2 differ"; fi
}

finish() {
	printf '%d passed, %d failed\n' "$passed" "$failed"
	[ "$failed" -eq 0 ]
}
