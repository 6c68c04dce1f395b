#!/bin/sh
# test_posix.sh — golitefs against a kernel file system, line for line.
#
# - The conformance walk (tests/fs/posix.c): for every node type (regular
#   file, directory, FIFO, socket, character and block device, symlink)
#   every operation that applies — chmod, chown, utimensat (UTIME_NOW,
#   UTIME_OMIT, set), truncate, unlink, rmdir, rename to a new name and
#   over every type, in plain and sticky directories, creation over and
#   under it, open with every flag that tells types apart, writes and
#   truncations of set-user-ID files, new entries in a set-group-ID
#   directory, names and paths too long, symlink loops — with the result
#   or errno, type, mode, owner, link count, size, device number and which
#   of mtime and ctime changed on the node and its directory. Then hard
#   links of every type but directories: link and linkat beside the file,
#   into another directory and into another table (walk2), over existing
#   names, as fs.protected_hardlinks allows; unlink, write, truncate,
#   chmod, chown and utimensat through one name seen through the others;
#   renames over, onto and across the names of one inode; three names
#   lost one by one (the inode, link count, bytes and user.* attribute of
#   every name). It runs as root and as two other users (uid 1001 and
#   1002, no groups) on golitefs (-o allow_other,dev) and on tmpfs, and the
#   outputs must be the same; a difference fails the test and is printed.
# - FIFOs, sockets and devices through the mount: a FIFO carries bytes
#   between two processes, a Unix socket binds and connects, a device
#   node keeps its number across a remount; with the default nodev a
#   device does not open (EACCES), with -o dev it does.
# - cp -a, rsync -a and tar of a tree of files, directories, symlinks,
#   FIFOs, sockets and devices onto the mount and back, compared with the
#   source after a remount (types, modes, owners, device numbers, bytes,
#   symlink targets, mtimes); tar's copy has no socket (GNU tar leaves
#   them out).
#
# Not compared unless POSIX_FLAGS=--dir-nlink: the link count of
# directories (golitefs gave 1 until it counted 2 + subdirectories).
#
#   [POSIX_FLAGS=--dir-nlink] sh tests/fs/test_posix.sh BUILD
. "$(dirname "$0")/lib.sh"

POSIX=$TESTBIN/posix
[ -x "$POSIX" ] || die "$POSIX is missing: run make first"
chmod 755 "$T"

# same_lines WANT GOT WHAT: the two files must be equal; else the
# difference is printed under WHAT.
same_lines() {
	if diff "$1" "$2" >"$T/lines.diff"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $3 (< expected, > golitefs):" >&2
		cat "$T/lines.diff" >&2
	fi
}

POSIX_FLAGS=${POSIX_FLAGS:-}
mkdir -p "$T/kernel"
mount -t tmpfs -o mode=0755 golite-test-tmpfs "$T/kernel" || die "cannot mount a tmpfs at $T/kernel"
mount_fs -o allow_other,dev
# walk and walk2: two tables on golitefs, two directories on tmpfs
mkdir "$MNT/walk" "$MNT/walk2" "$T/kernel/walk" "$T/kernel/walk2"
chmod 755 "$MNT/walk" "$MNT/walk2" "$T/kernel/walk" "$T/kernel/walk2"

# The kernel decides for both file systems whether a user may link a file
# it does not own: the walk's expectations come from tmpfs.
echo "fs.protected_hardlinks=$(cat /proc/sys/fs/protected_hardlinks)${POSIX_FLAGS:+, $POSIX_FLAGS}"

# ---- the walk, as three users ----
for who in 0:0 1001:1001 1002:1002; do
	u=${who%%:*}
	g=${who##*:}
	for d in "$T/kernel/walk" "$T/kernel/walk2" "$MNT/walk" "$MNT/walk2"; do
		mkdir "$d/u$u"
		chmod 755 "$d/u$u"
	done
	# shellcheck disable=SC2086
	"$POSIX" $POSIX_FLAGS "$T/kernel/walk/u$u" "$T/kernel/walk2/u$u" "$u" "$g" \
		>"$T/kernel.$u" 2>"$T/kernel.$u.err" ||
		die "the walk failed on tmpfs as $who: $(cat "$T/kernel.$u.err")"
	# shellcheck disable=SC2086
	"$POSIX" $POSIX_FLAGS "$MNT/walk/u$u" "$MNT/walk2/u$u" "$u" "$g" \
		>"$T/golite.$u" 2>"$T/golite.$u.err" ||
		die "the walk failed on golitefs as $who: $(cat "$T/golite.$u.err")"
	n=$(wc -l <"$T/kernel.$u")
	nl=$(grep -c ' ino=' "$T/kernel.$u")
	echo "walk as $who: $n cases, $nl of them of hard links"
	check "walk as $who: a case for every line ($n)" [ "$n" -gt 600 ]
	same_lines "$T/kernel.$u" "$T/golite.$u" "golitefs differs from tmpfs as $who"
done

# ---- special files at work ----
mkdir "$MNT/sp"
mkfifo "$MNT/sp/pipe"
(printf 'through the pipe' >"$MNT/sp/pipe") &
writer=$!
check "a FIFO carries bytes between two processes" eq "$(cat "$MNT/sp/pipe")" "through the pipe"
wait $writer
check "a Unix socket binds and connects" eq "$("$POSIX" --talk "$MNT/sp/sock")" "over the socket"
mknod "$MNT/sp/null" c 1 3
mknod "$MNT/sp/loop" b 7 0
check "the null device opens with -o dev" sh -c "echo gone >'$MNT/sp/null'"
umount_fs
mount_fs
check "a FIFO is a FIFO after a remount" [ -p "$MNT/sp/pipe" ]
check "a socket is a socket after a remount" [ -S "$MNT/sp/sock" ]
check "a device keeps its number after a remount" eq "$(stat -c '%F %t:%T' "$MNT/sp/null")" \
	"character special file 1:3"
check "a block device too" eq "$(stat -c '%F %t:%T' "$MNT/sp/loop")" "block special file 7:0"
expect_fail "with the default nodev a device does not open" "Permission denied" \
	sh -c "cat '$MNT/sp/null'"
check "the mount says nodev" sh -c "awk -v m='$MNT' '\$2 == m { print \$4 }' /proc/mounts | tr , '\n' | grep -qx nodev"
umount_fs
"$BUILD/golite" ls -l "$DATA" sp >"$T/ls.txt" 2>&1
check "golite ls: fifo" grep -q '^fifo	0	pipe$' "$T/ls.txt"
check "golite ls: socket" grep -q '^socket	0	sock$' "$T/ls.txt"
check "golite ls: chardev" grep -q '^chardev	0	null$' "$T/ls.txt"
check "golite ls: blockdev" grep -q '^blockdev	0	loop$' "$T/ls.txt"
check "golite get of a FIFO is an empty value" eq "$("$BUILD/golite" get "$DATA" sp pipe | wc -c)" 0
check "golite check: clean" sh -c "'$BUILD/golite' check '$DATA' | tail -n 1 | grep -q 'clean'"
mount_fs -o dev

# ---- cp -a, rsync -a, tar of a tree with every type ----
SRC=$T/kernel/tree
mkdir -p "$SRC/a/b"
printf 'one' >"$SRC/a/f1"
head -c 100000 /dev/urandom >"$SRC/a/b/big"
chmod 0640 "$SRC/a/f1"
chown 1001:1002 "$SRC/a/b/big"
ln -s ../f1 "$SRC/a/b/link"
mkfifo -m 0620 "$SRC/a/pipe"
mknod -m 0600 "$SRC/a/null" c 1 3
mknod -m 0660 "$SRC/a/loop" b 7 0
"$POSIX" --bind "$SRC/a/sock"
touch -h -d '2001-02-03 04:05:06' "$SRC/a/b/link"
touch -d '2002-03-04 05:06:07' "$SRC/a/f1" "$SRC/a/pipe" "$SRC/a/null"

# describe DIR: one line per entry (find's own, not its inode or ctime).
describe() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %#m %u:%g %s %TY-%Tm-%Td %l\n' |
		sed 's/ [0-9]* \([0-9-]*\) / SIZE \1 /' | sort)
	(cd "$1" && find . -type b -o -type c | sort | xargs -r stat -c '%n %t:%T')
	(cd "$1" && find . -type f | sort | xargs -r md5sum)
}
# sizes of regular files are in the md5sums; the size column of other
# types differs between file systems (directories), hence SIZE.
describe "$SRC" >"$T/src.txt"
cp -a "$SRC" "$MNT/cp-tree" 2>"$T/cp.err"
check "cp -a onto the mount: no error" eq "$(cat "$T/cp.err")" ""
rsync -a --devices --specials "$SRC/" "$MNT/rsync-tree/" 2>"$T/rsync.err"
check "rsync -a onto the mount: no error" eq "$(cat "$T/rsync.err")" ""
# GNU tar leaves sockets out ("socket ignored"): its copy has none.
(cd "$T/kernel" && tar -cf "$T/tree.tar" tree 2>"$T/tarc.err")
grep -v '^\./a/sock ' "$T/src.txt" >"$T/src-tar.txt"
mkdir "$MNT/tar-tree"
tar -xpf "$T/tree.tar" -C "$MNT/tar-tree" 2>"$T/tar.err"
check "tar -x onto the mount: no error" eq "$(cat "$T/tar.err")" ""
umount_fs
mount_fs -o dev
for d in cp-tree rsync-tree tar-tree/tree; do
	describe "$MNT/$d" >"$T/got.txt"
	want=$T/src.txt
	[ $d = tar-tree/tree ] && want=$T/src-tar.txt
	same_lines "$want" "$T/got.txt" "$d after a remount differs from the source"
done
rm -rf "$T/kernel/back"
cp -a "$MNT/cp-tree" "$T/kernel/back"
describe "$T/kernel/back" >"$T/back.txt"
check "cp -a back off the mount: the same tree" diff "$T/src.txt" "$T/back.txt"
umount_fs
umount "$T/kernel"

finish
