#!/bin/sh
# test_stress.sh — 8 writer and 8 reader processes (stress.c) on one mount
# for DURATION seconds, with a small memtable so that flushes and
# compactions run under them. Every read is checked against what was
# written (a whole, undamaged version of that name, not older than the
# one published before the read); at the end every file must be its last
# version, and again after an unmount and a remount. The engine figures
# must show that tables were written and compacted meanwhile.
#
#   sh tests/fs/test_stress.sh BUILD
#
# DURATION (seconds, default 10; `make torture` runs 300), SEED (default:
# random, printed), WRITERS and READERS (default 8 each).
. "$(dirname "$0")/lib.sh"

PROG=$TESTBIN/stress
[ -x "$PROG" ] || die "$PROG is missing: run make first"
DURATION=${DURATION:-10}
WRITERS=${WRITERS:-8}
READERS=${READERS:-8}
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed $SEED (SEED=$SEED DURATION=$DURATION to replay the same choices)"

stat_of() {
	awk -v k="$1" '$1 == k { print $2 }' "$MNT/.golite/stats"
}

mount_fs -o memtable_size=256K -o compaction_threads=2
mkdir "$MNT/s" || die "mkdir"
"$PROG" run "$MNT/s" "$SEED" "$DURATION" "$T/state" "$WRITERS" "$READERS" > "$T/run.out" 2>&1
st=$?
grep -v '^reader\|^writer\|^summary' "$T/run.out"
grep '^reader\|^writer' "$T/run.out" | head -20 >&2
check "writers and readers: every read was a whole version, the files are the last ones" test $st -eq 0
flushes=$(stat_of flushes)
compactions=$(stat_of compactions)
sstables=$(stat_of sstables)
echo "engine: flushes=$flushes compactions=$compactions sstables=$sstables level0_tables=$(stat_of level0_tables) write_stall=$(stat_of write_stall)"
check "tables were written during the run ($flushes flushes)" test "${flushes:-0}" -gt 0
check "and compacted ($compactions compactions)" test "${compactions:-0}" -gt 0
check "the store holds tables ($sstables)" test "${sstables:-0}" -gt 0
check "unmount" umount_fs

mount_fs
check "after a remount: every file is its last version" "$PROG" verify "$MNT/s" "$T/state"
check "unmount" umount_fs
check "golite check of the data directory" "$BUILD/golite" -q check "$DATA"
# the summary line of the run, for scripts/torture.sh
grep '^summary:' "$T/run.out" | sed "s/\$/ seed=$SEED/"
finish
