#!/bin/sh
# test_syscalls.sh — runs the syscall test (syscalls.c) on a fresh mount,
# checks the files it left after a remount, and runs it again in sync
# durability mode and without the kernel's writeback cache.
#
#   sh tests/fs/test_syscalls.sh BUILD
. "$(dirname "$0")/lib.sh"

PROG=$TESTBIN/syscalls
[ -x "$PROG" ] || die "$PROG is missing: run make first"

mount_fs
mkdir "$MNT/t" "$MNT/t/run1" || die "mkdir"
check "syscalls on a fresh mount" "$PROG" "$MNT/t/run1"
(cd "$MNT/t/run1" && find . -type f -print | sort | while IFS= read -r f; do md5sum "$f"; done) \
	> "$T/sums.before"
check "unmount" umount_fs

mount_fs -o durability=sync
(cd "$MNT/t/run1" && find . -type f -print | sort | while IFS= read -r f; do md5sum "$f"; done) \
	> "$T/sums.after"
check "files are the same after a remount" cmp -s "$T/sums.before" "$T/sums.after"
mkdir "$MNT/t/run2"
# Every write waits for the disk in sync mode: fewer rename rounds.
check "syscalls in sync mode" "$PROG" "$MNT/t/run2" 0x1234567 20
check "unmount" umount_fs

# Without the kernel's writeback cache (every write reaches the daemon at
# once, no flush on close).
mount_fs -o writeback_cache=no
mkdir "$MNT/t/run3"
check "syscalls without the writeback cache" "$PROG" "$MNT/t/run3" 0x7654321 100
check "unmount" umount_fs

finish
