# lib.sh — what the store port's tests share (sourced, POSIX sh; `.`
# passes no arguments, so the test's own $1 is BUILD):
#
#   TEST_NAME=NAME
#   . "$(dirname "$0")/lib.sh"
#
# Builds on tests/cli/lib.sh (G, tmp removed on exit after the test's own
# cleanup_extra, pass/fail/run/out/has, finish) and tests/store/etcd_lib.sh
# (etcd clusters on loopback, stopped on exit with everything in
# $bg_pids), and adds:
#
#   check DESC WANT GOT        GOT is WANT
#   check_has DESC NEEDLE HAY  HAY holds NEEDLE
#   ok DESC CMD...             CMD succeeds (stdout $tmp/out, stderr $tmp/err)
#   not DESC CMD...            CMD fails
#   eventually DESC CMD...     CMD succeeds within 10 s (polled every 0.1 s)
#
# A test with work of its own to undo on exit defines store_cleanup.

. "$(dirname "$0")/../cli/lib.sh"

if ! command -v etcd >/dev/null 2>&1 || ! command -v etcdctl >/dev/null 2>&1; then
	echo "no etcd or etcdctl: install etcd-server and etcd-client (make deps)"
	echo "0 passed, 1 failed"
	exit 1
fi
. "$here/tests/store/etcd_lib.sh"

bg_pids=""
cleanup_extra() {
	if command -v store_cleanup >/dev/null 2>&1; then
		store_cleanup
	fi
	for p in $bg_pids; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	etcd_cluster_stop
}
# INT and TERM end the test (tests/cli/lib.sh's trap would go on).
trap 'exit 1' INT TERM HUP

check() {
	if [ "$2" = "$3" ]; then
		pass
	else
		fail "$1: wanted [$2], got [$3]"
	fi
}

check_has() {
	case $3 in
	*"$2"*) pass ;;
	*) fail "$1: [$2] not in [$3]" ;;
	esac
}

ok() {
	_desc=$1
	shift
	if "$@" >"$tmp/out" 2>"$tmp/err"; then pass; else fail "$_desc: $(head -c 300 "$tmp/err")"; fi
}

not() {
	_desc=$1
	shift
	if "$@" >"$tmp/out" 2>"$tmp/err"; then fail "$_desc: it succeeded"; else pass; fi
}

eventually() {
	_desc=$1
	shift
	_n=0
	while ! "$@" >/dev/null 2>&1; do
		_n=$((_n + 1))
		if [ $_n -gt 100 ]; then
			fail "$_desc: not within 10 s"
			return 1
		fi
		sleep 0.1
	done
	pass
}
