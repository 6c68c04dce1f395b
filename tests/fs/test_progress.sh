#!/bin/sh
# test_progress.sh — long work shows its progress: a store whose log holds
# 24 MiB is replayed when it is opened, by `golite ls` and by the mount.
# Standard error is a file here, so each prints one plain line for the
# stage ("PROG: replay: SIZE in T s"); on a terminal it would be a bar.
#
#   sh tests/fs/test_progress.sh BUILD
. "$(dirname "$0")/lib.sh"

GOLITE=$BUILD/golite
[ -x "$GOLITE" ] || die "$GOLITE is missing: run make first"

# 24 MiB of keys and values in the log, none in tables (no flush at close).
awk 'BEGIN { v = sprintf("%0900d", 0); for (i = 0; i < 26000; i++) printf "k%07d\t%s\n", i, v }' \
	> "$T/load.txt"
check "load into the log" \
	"$GOLITE" -q -o flush_on_close=0,memtable_size=256M load -c "$DATA" t < "$T/load.txt"
check "the log holds it" test "$(du -sm "$DATA" | cut -f1)" -ge 20

"$GOLITE" -o memtable_size=256M ls "$DATA" t > "$T/ls.out" 2> "$T/ls.err"
check "golite ls lists every key" eq "$(wc -l < "$T/ls.out")" 26000
check "golite ls reports the replay" grep -Eq '^golite: replay: [0-9.]+ MiB in [0-9.]+ s$' "$T/ls.err"
check "-q silences it" sh -c "'$GOLITE' -q -o memtable_size=256M ls '$DATA' t 2>&1 >/dev/null | grep -q replay && exit 1 || exit 0"

# The mount replays the same log before it detaches: the line reaches the
# caller's stderr.
mount_fs -o memtable_size=256M 2> "$T/mount.err"
check "the mount reports the replay" grep -Eq '^golitefs: replay: [0-9.]+ MiB in [0-9.]+ s$' "$T/mount.err"
check "the keys are there" eq "$(ls "$MNT/t" | wc -l)" 26000
check "unmount" umount_fs

finish
