#!/bin/sh
# test_snapshots.sh — /.golite/snapshots: mkdir takes a named snapshot of
# the whole store, its directory is a read-only tree of every table as it
# was (files inline and chunked, a file with names in two tables, a
# symlink, a FIFO, an extended attribute, directories), which cp -a,
# rsync -a and diff -r read; later changes are not in it; every change
# below it is EROFS; it survives an unmount and a kill -9 of the daemon;
# rmdir drops it. Bad names fail with their errno.
#
#   sh tests/fs/test_snapshots.sh BUILD
. "$(dirname "$0")/lib.sh"

GOLITE=$BUILD/golite
SN=$MNT/.golite/snapshots

crash() {
	kill -KILL "$MNT_PID"
	wait_exit "$MNT_PID"
	fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
	MNT_PID=""
}

mount_fs
mkdir "$MNT/t" "$MNT/u" "$MNT/t/d" "$MNT/t/d/e"
echo one > "$MNT/t/a"
head -c 300000 /dev/urandom > "$T/big"
cp "$T/big" "$MNT/t/big"
ln "$MNT/t/a" "$MNT/u/a2"
ln -s a "$MNT/t/sym"
mkfifo "$MNT/t/d/fifo"
echo deep > "$MNT/t/d/e/f"
setfattr -n user.k -v v1 "$MNT/t/d/e/f"
mkdir "$T/before"
cp -a "$MNT/t" "$MNT/u" "$T/before/"

check "no snapshot yet" eq "$(ls "$SN")" ""
check "mkdir takes one" mkdir "$SN/s1"
check "it is listed" eq "$(ls "$SN")" s1
check "golite's figures count it" grep -q '^snapshots 1$' "$MNT/.golite/stats"

# Changes after it.
echo two > "$MNT/t/a"
rm "$MNT/t/big"
echo new > "$MNT/t/new"
mkdir "$MNT/v"
setfattr -n user.k -v v2 "$MNT/t/d/e/f"
rm "$MNT/u/a2"

check_view() {
	# (diff cannot compare FIFOs: the FIFO is checked on its own.)
	check "$1: the tree as it was" diff -r --exclude=fifo "$T/before/t" "$SN/s1/t"
	check "$1: the other table" diff -r "$T/before/u" "$SN/s1/u"
	check "$1: the tables then" eq "$(ls "$SN/s1" | tr '\n' ' ')" "t u "
	check "$1: the FIFO" test -p "$SN/s1/t/d/fifo"
	check "$1: the symlink" eq "$(readlink "$SN/s1/t/sym")" a
	check "$1: the attribute then" \
		eq "$(getfattr --absolute-names --only-values -n user.k "$SN/s1/t/d/e/f")" v1
	check "$1: the big file" cmp -s "$T/big" "$SN/s1/t/big"
	check "$1: two names, one inode, two links" \
		eq "$(stat -c '%i %h' "$SN/s1/t/a")" "$(stat -c '%i %h' "$SN/s1/u/a2")"
	check "$1: a link count of 2" eq "$(stat -c %h "$SN/s1/t/a")" 2
	check "$1: directories count their subdirectories" eq "$(stat -c %h "$SN/s1/t")" 3
	check "$1: its inode numbers are not the live ones" \
		sh -c "test \"\$(stat -c %i '$SN/s1/t/a')\" != \"\$(stat -c %i '$MNT/t/a')\""
}
check_view "mounted"
check "the live tree moved on" eq "$(cat "$MNT/t/a")" two
rm -rf "$T/copy"
check "cp -a from it" cp -a "$SN/s1/t" "$T/copy"
check "  the copy is the tree as it was" diff -r --exclude=fifo "$T/before/t" "$T/copy"
rm -rf "$T/copy"
check "rsync -a from it" rsync -a "$SN/s1/t/" "$T/copy/"
check "  the copy is the tree as it was" diff -r --exclude=fifo "$T/before/t" "$T/copy"

# ---- nothing below it changes ----
expect_fail "a write" "Read-only file system" sh -c "echo x > '$SN/s1/t/a'"
expect_fail "a new file" "Read-only file system" touch "$SN/s1/t/zz"
expect_fail "unlink" "Read-only file system" rm "$SN/s1/t/a"
expect_fail "mkdir" "Read-only file system" mkdir "$SN/s1/t/q"
expect_fail "rmdir" "Read-only file system" rmdir "$SN/s1/t/d/e"
expect_fail "rename" "Read-only file system" mv "$SN/s1/t/a" "$SN/s1/t/b"
expect_fail "chmod" "Read-only file system" chmod 600 "$SN/s1/t/a"
expect_fail "setfattr" "Read-only file system" setfattr -n user.k -v x "$SN/s1/t/a"
expect_fail "a hard link" "Read-only file system" ln "$SN/s1/t/a" "$SN/s1/t/l"
expect_fail "truncate" "Read-only file system" truncate -s 0 "$SN/s1/t/big"
expect_fail "a table in it" "Read-only file system" mkdir "$SN/s1/w"
check "  and nothing changed" cmp -s "$T/big" "$SN/s1/t/big"

# ---- names ----
expect_fail "a name taken" "File exists" mkdir "$SN/s1"
expect_fail "a name too long" "File name too long" mkdir "$SN/$(printf 'n%.0s' $(seq 256))"
expect_fail "a missing one" "No such file" rmdir "$SN/nope"
expect_fail "a file there" "Operation not permitted" sh -c ": > '$SN/f'"

# ---- it stays: unmount, and kill -9 ----
check "unmount" umount_fs
check "golite lists it" sh -c "'$GOLITE' snapshot ls '$DATA' | grep -q s1"
mount_fs
check_view "after a remount"
check "a second one" mkdir "$SN/s2"
check "crash" crash
mount_fs
check "both after kill -9" eq "$(ls "$SN" | tr '\n' ' ')" "s1 s2 "
check "s2 holds the changes since s1" eq "$(cat "$SN/s2/t/a")" two
check "  and not what s1 had" test ! -e "$SN/s2/t/big"

# ---- rmdir drops it ----
check "rmdir drops it" rmdir "$SN/s1"
check "it is no longer listed" eq "$(ls "$SN")" s2
check "nor found" test ! -e "$SN/s1"
check "unmount" umount_fs
check "golite check after all of it" sh -c "'$GOLITE' check -q '$DATA' >/dev/null"
check "golite lists only s2" eq "$("$GOLITE" snapshot ls "$DATA" | awk '{ print $NF }' | tr '\n' ' ')" "s2 "

finish
