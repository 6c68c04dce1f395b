#!/bin/sh
# test_handles.sh — file handles on the mount (handles.c): what an NFS
# server over it needs from the kernel's export operations, without NFS.
#
#   sh tests/fs/test_handles.sh BUILD
. "$(dirname "$0")/lib.sh"

PROG=$TESTBIN/handles
[ -x "$PROG" ] || die "$PROG is missing: run make first"

mount_fs
mkdir "$MNT/t" "$MNT/t/h" || die "mkdir"
check "file handles" "$PROG" "$MNT/t/h"
check "unmount" umount_fs
finish
