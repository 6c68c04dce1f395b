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
# - The names the walk leaves, after a remount: which names share an
#   inode, link counts, types, modes, owners, sizes, the bytes of files
#   with several names — the same as tmpfs's.
# - FIFOs, sockets and devices through the mount: a FIFO carries bytes
#   between two processes, a Unix socket binds and connects, a device
#   node keeps its number across a remount; with the default nodev a
#   device does not open (EACCES), with -o dev it does.
# - cp -a, rsync -aH and tar of a tree of files, directories, symlinks,
#   FIFOs, sockets and devices, with hard links (across subdirectories,
#   of a file with three names, a FIFO, devices, a symlink), onto the
#   mount and back off it, compared with the source after a remount
#   (types, modes, owners, device numbers, bytes, symlink targets,
#   mtimes, which names share an inode and link counts); tar's copies
#   have no socket and a node for each name of a FIFO or device (GNU tar
#   1.34 does so on any file system: compared with its copy onto tmpfs).
#
#   sh tests/fs/test_posix.sh BUILD
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

mkdir -p "$T/kernel"
mount -t tmpfs -o mode=0755 golite-test-tmpfs "$T/kernel" || die "cannot mount a tmpfs at $T/kernel"
mount_fs -o allow_other,dev
# walk and walk2: two tables on golitefs, two directories on tmpfs
mkdir "$MNT/walk" "$MNT/walk2" "$T/kernel/walk" "$T/kernel/walk2"
chmod 755 "$MNT/walk" "$MNT/walk2" "$T/kernel/walk" "$T/kernel/walk2"

# The kernel decides for both file systems whether a user may link a file
# it does not own: the walk's expectations come from tmpfs.
echo "fs.protected_hardlinks=$(cat /proc/sys/fs/protected_hardlinks)"

# ---- the walk, as three users ----
for who in 0:0 1001:1001 1002:1002; do
	u=${who%%:*}
	g=${who##*:}
	for d in "$T/kernel/walk" "$T/kernel/walk2" "$MNT/walk" "$MNT/walk2"; do
		mkdir "$d/u$u"
		chmod 755 "$d/u$u"
	done
	# shellcheck disable=SC2086
	"$POSIX" "$T/kernel/walk/u$u" "$T/kernel/walk2/u$u" "$u" "$g" \
		>"$T/kernel.$u" 2>"$T/kernel.$u.err" ||
		die "the walk failed on tmpfs as $who: $(cat "$T/kernel.$u.err")"
	# shellcheck disable=SC2086
	"$POSIX" "$MNT/walk/u$u" "$MNT/walk2/u$u" "$u" "$g" \
		>"$T/golite.$u" 2>"$T/golite.$u.err" ||
		die "the walk failed on golitefs as $who: $(cat "$T/golite.$u.err")"
	n=$(wc -l <"$T/kernel.$u")
	nl=$(grep -c ' ino=' "$T/kernel.$u")
	echo "walk as $who: $n cases, $nl of them of hard links"
	check "walk as $who: a case for every line ($n)" [ "$n" -gt 600 ]
	same_lines "$T/kernel.$u" "$T/golite.$u" "golitefs differs from tmpfs as $who"
done

# links DIR: every name below DIR's walk and walk2 but directories, with
# the first name of its inode, its link count, type, mode, owner and size;
# then the bytes of the files with more than one name.
links() {
	(cd "$1" && find walk walk2 ! -type d -printf '%i %n %y %#m %U:%G %s %p\n' | sort -k7 |
		awk '{ if (!($1 in first)) first[$1] = $7; $1 = first[$1]; print }')
	(cd "$1" && find walk walk2 -type f -links +1 | sort | xargs -r md5sum)
}
links "$T/kernel" >"$T/links.kernel"
links "$MNT" >"$T/links.golite"
same_lines "$T/links.kernel" "$T/links.golite" "the names the walk left, before a remount"
umount_fs
mount_fs -o allow_other,dev
links "$MNT" >"$T/links.golite"
check "the walk left names with several links ($(grep -c '^[^ ]* [2-9] ' "$T/links.kernel"))" \
	grep -q '^[^ ]* [2-9] ' "$T/links.kernel"
same_lines "$T/links.kernel" "$T/links.golite" "the names the walk left, after a remount"

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

# ---- cp -a, rsync -aH, tar of a tree with every type and hard links ----
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
# hard links: across subdirectories, three names, a FIFO, both kinds of
# device, a symlink
ln "$SRC/a/f1" "$SRC/a/b/f1-too"
ln "$SRC/a/b/big" "$SRC/a/big-too"
ln "$SRC/a/b/big" "$SRC/a/b/big-three"
ln "$SRC/a/pipe" "$SRC/a/b/pipe-too"
ln "$SRC/a/null" "$SRC/a/b/null-too"
ln "$SRC/a/loop" "$SRC/a/loop-too"
ln "$SRC/a/b/link" "$SRC/a/link-too"

# describe DIR: one line per entry (find's own, not its inode or ctime),
# then the names of every inode with more than one (the first name of its
# inode and its link count), device numbers and bytes.
describe() {
	(cd "$1" && find . -mindepth 1 -printf '%p %y %#m %u:%g %s %TY-%Tm-%Td %l\n' |
		sed 's/ [0-9]* \([0-9-]*\) / SIZE \1 /' | sort)
	(cd "$1" && find . -mindepth 1 ! -type d -printf '%i %n %p\n' | sort -k3 |
		awk '{ if (!($1 in first)) first[$1] = $3; print $3, "links", $2, first[$1] }')
	(cd "$1" && find . -type b -o -type c | sort | xargs -r stat -c '%n %t:%T')
	(cd "$1" && find . -type f | sort | xargs -r md5sum)
}
# sizes of regular files are in the md5sums; the size column of other
# types differs between file systems (directories), hence SIZE.
describe "$SRC" >"$T/src.txt"
cp -a "$SRC" "$MNT/cp-tree" 2>"$T/cp.err"
check "cp -a onto the mount: no error" eq "$(cat "$T/cp.err")" ""
rsync -aH --devices --specials "$SRC/" "$MNT/rsync-tree/" 2>"$T/rsync.err"
check "rsync -aH onto the mount: no error" eq "$(cat "$T/rsync.err")" ""
# GNU tar leaves sockets out ("socket ignored"), and makes every name of
# a FIFO or device a node of its own (1.34 keeps the hard links of files
# and symlinks only): its copies are compared with its copy onto tmpfs,
# which must be the source but for the socket and the names' links.
(cd "$T/kernel" && tar -cf "$T/tree.tar" tree 2>"$T/tarc.err")
mkdir "$T/kernel/tar-ref"
tar -xpf "$T/tree.tar" -C "$T/kernel/tar-ref"
describe "$T/kernel/tar-ref/tree" >"$T/src-tar.txt"
grep -v '^\./a/sock \| links ' "$T/src.txt" >"$T/want.txt"
grep -v ' links ' "$T/src-tar.txt" >"$T/got.txt"
same_lines "$T/want.txt" "$T/got.txt" "tar's copy onto tmpfs differs from the source"
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
cp -a "$MNT/cp-tree" "$T/kernel/cp-back"
rsync -aH --devices --specials "$MNT/rsync-tree/" "$T/kernel/rsync-back/" 2>"$T/rsync.err"
check "rsync -aH off the mount: no error" eq "$(cat "$T/rsync.err")" ""
(cd "$MNT/tar-tree" && tar -cf "$T/back.tar" tree 2>"$T/tarc.err")
check "tar -c of the mount: no error" eq "$(cat "$T/tarc.err")" ""
mkdir "$T/kernel/tar-back"
tar -xpf "$T/back.tar" -C "$T/kernel/tar-back" 2>"$T/tar.err"
check "tar -x off the mount: no error" eq "$(cat "$T/tar.err")" ""
for d in cp-back rsync-back tar-back/tree; do
	describe "$T/kernel/$d" >"$T/back.txt"
	want=$T/src.txt
	[ $d = tar-back/tree ] && want=$T/src-tar.txt
	same_lines "$want" "$T/back.txt" "$d (back off the mount) differs from the source"
done
umount_fs
umount "$T/kernel"

finish
