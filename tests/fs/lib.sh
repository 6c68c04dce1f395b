# lib.sh — helpers shared by the mount tests (sourced, POSIX sh).
#
#   . tests/fs/lib.sh BUILD
#
# Sets GOLITEFS, T (a temporary directory removed on exit), DATA and MNT;
# mount_fs/umount_fs mount and unmount DATA at MNT; check/expect_fail
# count results and finish prints "N passed, N failed". Whatever a test
# leaves mounted is unmounted on exit, and its daemon stopped. A mount that
# cannot be made is a failure, never a skip.

set -u

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD_ARG=${1:-build}
case $BUILD_ARG in
/*) BUILD=$BUILD_ARG ;;
*) BUILD=$(cd "$BUILD_ARG" 2>/dev/null && pwd || echo "$ROOT/$BUILD_ARG") ;;
esac
GOLITEFS=$BUILD/golitefs
TESTBIN=$BUILD/tests/fs

passed=0
failed=0
T=$(mktemp -d /tmp/golitefs-test.XXXXXX)
DATA=$T/data
MNT=$T/mnt
mkdir -p "$MNT"
EXTRA_CLEANUP=""

die() {
	echo "FATAL: $*" >&2
	echo "$passed passed, $((failed + 1)) failed"
	exit 1
}

[ -x "$GOLITEFS" ] || die "$GOLITEFS is missing: run make first"
[ "$(id -u)" -eq 0 ] || die "the mount tests need root (FUSE mounts and setpriv)"
[ -c /dev/fuse ] || die "/dev/fuse is missing"

# The pid of the daemon holding DATA (from its LOCK file), or nothing.
daemon_pid() {
	[ -f "${1:-$DATA}/LOCK" ] && head -n1 "${1:-$DATA}/LOCK" 2>/dev/null | tr -dc 0-9
}

# Waits up to 60 s for pid to exit (closing a store can take seconds on a
# loaded machine).
wait_exit() {
	_we_n=0
	while [ -n "$1" ] && kill -0 "$1" 2>/dev/null; do
		_we_n=$((_we_n + 1))
		[ $_we_n -gt 1200 ] && return 1
		sleep 0.05
	done
	return 0
}

# mnt_pid [MNT]: the pid of the daemon serving a mount (from its stats).
mnt_pid() {
	awk '$1 == "fs_pid" { print $2 }' "${1:-$MNT}/.golite/stats" 2>/dev/null
}

# mount_fs [options...]: mounts DATA at MNT (daemonized) or dies.
# GOLITEFS_TEST_OPTS (e.g. "-o writeback_cache=no") is added to every mount.
mount_fs() {
	# shellcheck disable=SC2086
	"$GOLITEFS" ${GOLITEFS_TEST_OPTS:-} "$@" "$DATA" "$MNT" ||
		die "golitefs ${GOLITEFS_TEST_OPTS:-} $* $DATA $MNT failed (status $?)"
	mountpoint -q "$MNT" || die "$MNT is not a mountpoint after golitefs returned"
	MNT_PID=$(mnt_pid)
}

# umount_fs: unmounts MNT and waits for the daemon to finish closing.
umount_fs() {
	_um_pid=${MNT_PID:-$(daemon_pid)}
	fusermount3 -u "$MNT" || { echo "fusermount3 -u $MNT failed" >&2; return 1; }
	wait_exit "$_um_pid" || { echo "daemon $_um_pid did not exit after unmount" >&2; return 1; }
	MNT_PID=""
}

cleanup() {
	trap - EXIT INT TERM
	_cl_pids=""
	for m in $(awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/mounts); do
		_cl_pids="$_cl_pids $(mnt_pid "$m")"
	done
	for m in $(awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r); do
		fusermount3 -u "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	for d in "$DATA" $EXTRA_CLEANUP; do
		_cl_pids="$_cl_pids $(daemon_pid "$d")"
	done
	for _cl_pid in $_cl_pids; do
		# Only a daemon of ours: a LOCK file may name a pid since reused.
		[ "$(cat "/proc/$_cl_pid/comm" 2>/dev/null)" = golitefs ] || continue
		kill "$_cl_pid" 2>/dev/null && wait_exit "$_cl_pid"
	done
	for m in $(awk -v t="$T" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
	desc=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $desc" >&2
	fi
}

# expect_fail DESCRIPTION ERRTEXT COMMAND...: the command must fail and
# print ERRTEXT (e.g. "Permission denied") on stderr.
expect_fail() {
	desc=$1
	want=$2
	shift 2
	if "$@" 2>"$T/err.txt"; then
		failed=$((failed + 1))
		echo "FAIL: $desc (succeeded)" >&2
	elif ! grep -q "$want" "$T/err.txt"; then
		failed=$((failed + 1))
		echo "FAIL: $desc (expected \"$want\", got: $(cat "$T/err.txt"))" >&2
	else
		passed=$((passed + 1))
	fi
}

# same_file A B: byte for byte.
same_file() {
	cmp -s "$1" "$2"
}

# eq A B: two strings are equal (prints both when not).
eq() {
	if [ "$1" = "$2" ]; then
		return 0
	fi
	echo "  expected [$2], got [$1]" >&2
	return 1
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
