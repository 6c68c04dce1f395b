#!/bin/sh
# test_checkpoint.sh — /.golite/checkpoint: checkpoints of the mounted
# store (golite_checkpoint) taken by writing a directory's path to it.
# A checkpoint holds the tree as it was when it was taken (files inline
# and chunked, hard links, a FIFO, xattrs), passes `golite check`, and
# mounts; later changes are not in it. Taken while a writer appends
# through the mount, it holds a prefix of the appends, at least those
# acknowledged before it began. Bad requests fail with their errno and
# leave nothing (bash's echo says why a write failed; dash says "I/O
# error"): an existing directory, a relative path, a path inside
# the mount, a missing parent, another user (mode 0600).
#
#   sh tests/fs/test_checkpoint.sh BUILD
. "$(dirname "$0")/lib.sh"

GOLITE=$BUILD/golite
CK=$MNT/.golite/checkpoint

# ---- a checkpoint of a tree ----
mount_fs -o allow_other
mkdir "$MNT/t" "$MNT/u" "$MNT/t/d"
echo small > "$MNT/t/small"
head -c 300000 /dev/urandom > "$T/big"
cp "$T/big" "$MNT/t/big"
ln "$MNT/t/small" "$MNT/u/small2"
mkfifo "$MNT/t/d/fifo"
setfattr -n user.k -v v1 "$MNT/t/small"
mkdir "$T/before"
cp -a "$MNT/t" "$MNT/u" "$T/before/"
check "nothing taken yet" eq "$(cat "$CK")" "none"
check "a checkpoint" bash -c "echo '$T/cp1' > '$CK'"
check "its result" grep -q "^ok $T/cp1 sequence [0-9][0-9]* [0-9]* ms$" "$CK"
check "its directory holds a store" test -f "$T/cp1/MANIFEST"
# Changes after it.
echo changed > "$MNT/t/small"
rm "$MNT/t/big"
echo new > "$MNT/t/new"
setfattr -n user.k -v v2 "$MNT/u/small2"

# ---- requests that fail, and change nothing ----
expect_fail "an existing directory" "File exists" bash -c "echo '$T/cp1' > '$CK'"
expect_fail "an empty line" "Invalid argument" bash -c "echo > '$CK'"
expect_fail "a relative path" "Invalid argument" bash -c "echo rel/cp > '$CK'"
expect_fail "a path inside the mount" "Invalid argument" bash -c "echo '$MNT/t/cp' > '$CK'"
expect_fail "a missing parent" "No such file" bash -c "echo '$T/missing/cp' > '$CK'"
chmod 755 "$T"
expect_fail "another user" "Permission denied" \
	setpriv --reuid=1001 --regid=1001 --clear-groups sh -c "echo '$T/cp9' > '$CK'"
check "nothing left by them" sh -c "! ls -d '$T'/cp1.tmp* '$T/cp9' '$MNT/t/cp' 2>/dev/null"
check "the last result names the failure" grep -q "^failed $T/missing/cp: " "$CK"
check "stats: one checkpoint" grep -q '^fs_checkpoints 1$' "$MNT/.golite/stats"
check "stats: five failures" grep -q '^fs_checkpoint_failures 5$' "$MNT/.golite/stats"
check "a listing of /.golite names it" sh -c "ls '$MNT/.golite' | grep -qx checkpoint"
check "mode 0600" eq "$(stat -c %a "$CK")" 600

# ---- checkpoints while a writer appends ----
# Without the writeback cache every append reaches the daemon before it
# returns, in order: a checkpoint holds lines 1..k, k at least the count
# the writer had finished when the checkpoint was asked for.
check "unmount" umount_fs
mount_fs -o writeback_cache=no
: > "$MNT/t/log"
(
	i=1
	while [ $i -le 3000 ]; do
		echo "line $i" >> "$MNT/t/log" || exit 1
		echo $i > "$T/progress.tmp" && mv "$T/progress.tmp" "$T/progress"
		i=$((i + 1))
	done
) &
wpid=$!
n=2
while [ $n -le 4 ]; do
	sleep 0.3
	cat "$T/progress" > "$T/done$n" 2>/dev/null || echo 0 > "$T/done$n"
	check "checkpoint $n under load" bash -c "echo '$T/cp$n' > '$CK'"
	n=$((n + 1))
done
wait $wpid
check "the writer finished" eq "$?" 0
check "unmount" umount_fs

# ---- what the checkpoints hold ----
for n in 1 2 3 4; do
	check "golite check of checkpoint $n" sh -c "'$GOLITE' check -q '$T/cp$n' > /dev/null"
done
n=2
while [ $n -le 4 ]; do
	"$GOLITE" get "$T/cp$n" t log > "$T/log$n" 2>/dev/null
	k=$(wc -l < "$T/log$n")
	seq 1 "$k" | sed 's/^/line /' > "$T/want$n"
	check "checkpoint $n: lines 1..$k of the log, whole" cmp -s "$T/log$n" "$T/want$n"
	check "checkpoint $n: at least the $(cat "$T/done$n") acknowledged before it" \
		test "$k" -ge "$(cat "$T/done$n")"
	echo "  checkpoint $n: $k lines, $(cat "$T/done$n") acknowledged before it"
	n=$((n + 1))
done

# Checkpoint 1 mounted: the tree as it was.
DATA=$T/cp1
mount_fs
# (diff cannot compare FIFOs: the FIFO is checked on its own below.)
check "checkpoint 1: the tree as it was" diff -r --exclude=fifo "$T/before/t" "$MNT/t"
check "checkpoint 1: the other table" diff -r "$T/before/u" "$MNT/u"
check "checkpoint 1: later files are not in it" test ! -e "$MNT/t/new"
check "checkpoint 1: one inode, two names" \
	eq "$(stat -c '%i %h' "$MNT/t/small")" "$(stat -c '%i %h' "$MNT/u/small2")"
check "checkpoint 1: the attribute as it was" eq "$(getfattr --absolute-names --only-values -n user.k "$MNT/t/small")" v1
check "checkpoint 1: the FIFO" test -p "$MNT/t/d/fifo"
check "checkpoint 1: the big file" cmp -s "$T/big" "$MNT/t/big"
check "unmount" umount_fs

finish
