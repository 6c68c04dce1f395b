#!/bin/sh
# test_basic.sh — the mount driven with coreutils as a user would: round
# trips, cp -a / rsync -a / tar of a tree with symlinks and xattrs, mv of
# files and directories within and across tables, rm -r, an editor's safe
# save, find, du, df, stat, permissions as a non-root user; then unmount,
# remount, and everything must still be there, byte for byte.
#
#   sh tests/fs/test_basic.sh BUILD
. "$(dirname "$0")/lib.sh"

NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
chmod 755 "$T"

# meta TREE: one line per entry with what cp -a must keep (sorted).
meta() {
	(cd "$1" && {
		find . ! -type l ! -type d -printf '%P|%y|%m|%U|%G|%s|%T@\n'
		find . -mindepth 1 -type d -printf '%P|%y|%m|%U|%G|%T@\n'
		find . -type l -printf '%P|%y|%l\n'
	} | sort)
}

# meta_s TREE: the same with whole seconds (tar's default format).
meta_s() {
	meta "$1" | sed -E 's/\|([0-9]+)\.[0-9]+$/|\1/'
}

# xattrs TREE: the user.* attributes of every entry, in name order.
xattrs() {
	(cd "$1" && find . | sort | while IFS= read -r f; do
		getfattr -h -d -m '^user\.' "$f" 2>/dev/null
	done)
}

# sums TREE: checksums of every file.
sums() {
	(cd "$1" && find . -path ./.golite -prune -o -type f -print | sort |
		while IFS= read -r f; do md5sum "$f"; done)
}

same_tree() {
	diff -r --no-dereference "$1" "$2" >/dev/null &&
		[ "$(meta "$1")" = "$(meta "$2")" ] &&
		[ "$(xattrs "$1")" = "$(xattrs "$2")" ]
}

# The same, with times in whole seconds: rsync leaves a directory's time
# alone when it differs from the source's by less than a second.
same_tree_s() {
	diff -r --no-dereference "$1" "$2" >/dev/null &&
		[ "$(meta_s "$1")" = "$(meta_s "$2")" ] &&
		[ "$(xattrs "$1")" = "$(xattrs "$2")" ]
}

# ---- a source tree on the local disk ----
SRC=$T/src
mkdir -p "$SRC/sub/deep" "$SRC/empty" "$SRC/exec"
printf 'hello\n' > "$SRC/a"
: > "$SRC/zero"
head -c 4095 /dev/urandom > "$SRC/r4095"
head -c 4096 /dev/urandom > "$SRC/r4096"
head -c 4097 /dev/urandom > "$SRC/r4097"
head -c 300000 /dev/urandom > "$SRC/r300k"
seq 1 200000 > "$SRC/seq"
printf 'deep\n' > "$SRC/sub/deep/f"
printf 'spaces\n' > "$SRC/with space and ü.txt"
printf 'pct\n' > "$SRC/100%"
printf '#!/bin/sh\necho run\n' > "$SRC/exec/run.sh"
chmod 755 "$SRC/exec/run.sh"
chmod 600 "$SRC/r4095"
chmod 444 "$SRC/r4096"
ln -s a "$SRC/link"
ln -s sub/deep "$SRC/dirlink"
ln -s /nonexistent/target "$SRC/dangling"
setfattr -n user.color -v blue "$SRC/a"
setfattr -n user.empty "$SRC/zero"
setfattr -n user.bin -v 0x00ff10 "$SRC/r4097"
setfattr -n user.dir -v yes "$SRC/sub"
touch -d '2001-02-03 04:05:06.123456789' "$SRC/sub/deep/f"
touch -d '1999-12-31 23:59:59' "$SRC/sub/deep" "$SRC/empty"

mount_fs -o allow_other

# ---- tables and round trips ----
check "mkdir at the root creates a table" mkdir "$MNT/users"
check "the table is listed" sh -c "ls '$MNT' | grep -qx users"
check "/.golite is listed" sh -c "ls -a '$MNT' | grep -qx .golite"
echo '{"name":"kim"}' > "$MNT/users/42"
check "echo > file, cat" eq "$(cat "$MNT/users/42")" '{"name":"kim"}'
echo 'second' >> "$MNT/users/42"
check ">> appends" eq "$(cat "$MNT/users/42")" '{"name":"kim"}
second'
check "ls lists the key" eq "$(ls "$MNT/users")" "42"
i=0
while [ $i -lt 300 ]; do
	echo "line $i" >> "$MNT/users/log"
	i=$((i + 1))
done
check ">> past the inline size" eq "$(wc -l < "$MNT/users/log")" 300
check ">> keeps every line" eq "$(sed -n 300p "$MNT/users/log")" "line 299"
mkdir -p "$MNT/users/eu/seoul"
echo x > "$MNT/users/eu/seoul/7"
check "nested keys" eq "$(cat "$MNT/users/eu/seoul/7")" x
check "ls -R" eq "$(ls "$MNT/users/eu")" seoul
mkdir "$MNT/users/emptydir"
check "empty directories exist" test -d "$MNT/users/emptydir"
expect_fail "a regular file at the root" "Operation not permitted" sh -c "echo x > '$MNT/rootfile'"
expect_fail "a symlink at the root" "Operation not permitted" ln -s users "$MNT/rootlink"
expect_fail "rmdir of a non-empty table" "not empty" rmdir "$MNT/users"
check "a hard link" sh -c "ln '$MNT/users/42' '$MNT/users/43' && test \"\$(stat -c %i,%h '$MNT/users/42')\" = \"\$(stat -c %i,%h '$MNT/users/43')\" && test \"\$(stat -c %h '$MNT/users/43')\" = 2"
check "a hard link shares the bytes" sh -c "echo more >> '$MNT/users/43' && test \"\$(tail -n 1 '$MNT/users/42')\" = more"
check "unlink of one name leaves the other" sh -c "rm '$MNT/users/43' && test \"\$(stat -c %h '$MNT/users/42')\" = 1 && test \"\$(tail -n 1 '$MNT/users/42')\" = more"
expect_fail "a hard link of a directory" "not allowed for directory" ln "$MNT/users/eu" "$MNT/users/eu2"
check "a fifo" sh -c "mkfifo '$MNT/users/fifo' && test -p '$MNT/users/fifo' && rm '$MNT/users/fifo'"
expect_fail "a fifo at the root" "Operation not permitted" mkfifo "$MNT/rootfifo"
expect_fail "cat of a missing key" "No such file" cat "$MNT/users/missing"
check "rmdir of an empty table" sh -c "mkdir '$MNT/gone' && rmdir '$MNT/gone' && ! test -e '$MNT/gone'"
check "a table can be renamed" sh -c "mkdir '$MNT/old' && echo v > '$MNT/old/k' && mv '$MNT/old' '$MNT/new' && test \"\$(cat '$MNT/new/k')\" = v && ! test -e '$MNT/old'"
# A directory moved to the root becomes a table, a table moved into a
# table a directory: renames, never EXDEV.
mkdir -p "$MNT/users/promo/in"
echo p > "$MNT/users/promo/k"
head -c 20000 /dev/urandom > "$T/promo.big"
cp "$T/promo.big" "$MNT/users/promo/in/big"
ln "$MNT/users/promo/k" "$MNT/users/promo-link"
check "a directory renamed to the root" mv "$MNT/users/promo" "$MNT/promo"
check "  is a table" sh -c "ls '$MNT' | grep -qx promo && ! test -e '$MNT/users/promo'"
check "  with its keys" eq "$(cat "$MNT/promo/k")" p
check "  and its chunked file" cmp -s "$T/promo.big" "$MNT/promo/in/big"
check "  a hard link across it holds" eq "$(stat -c '%i %h' "$MNT/promo/k")" \
	"$(stat -c '%i %h' "$MNT/users/promo-link")"
check "a table renamed into a table" mv "$MNT/promo" "$MNT/users/demo"
check "  is a directory" sh -c "! ls '$MNT' | grep -qx promo && test -d '$MNT/users/demo/in'"
check "  with its keys" cmp -s "$T/promo.big" "$MNT/users/demo/in/big"
expect_fail "a file renamed to the root" "Operation not permitted" mv "$MNT/users/demo/k" "$MNT/k"
rm -rf "$MNT/users/demo" "$MNT/users/promo-link"

# ---- copies of a tree ----
mkdir "$MNT/t"
check "cp -a succeeds" cp -a "$SRC" "$MNT/t/cp"
check "cp -a keeps bytes, modes, owners, times, symlinks, xattrs" same_tree "$SRC" "$MNT/t/cp"
check "rsync -aX succeeds" rsync -aX "$SRC/" "$MNT/t/rsync/"
check "rsync -aX keeps everything" same_tree_s "$SRC" "$MNT/t/rsync"
check "rsync -aX again copies nothing" eq "$(rsync -aXi "$SRC/" "$MNT/t/rsync/" | wc -l)" 0
mkdir "$MNT/t/tar" "$T/untar"
(cd "$SRC" && tar cf - .) | (cd "$MNT/t/tar" && tar xf - 2>"$T/tar-in.err")
check "tar x into the mount is quiet" eq "$(cat "$T/tar-in.err")" ""
(cd "$MNT/t/tar" && tar cf - . 2>"$T/tar-out.err") | (cd "$T/untar" && tar xf -)
check "tar c from the mount is quiet" eq "$(cat "$T/tar-out.err")" ""
check "tar round trip keeps bytes" diff -r --no-dereference "$SRC" "$T/untar"
check "tar round trip keeps modes and times" eq "$(meta_s "$T/untar")" "$(meta_s "$SRC")"
check "cp back to local disk" sh -c "cp -a '$MNT/t/cp' '$T/back' && diff -r --no-dereference '$SRC' '$T/back'"

# ---- mv ----
mkdir "$MNT/other"
cp "$SRC/seq" "$MNT/t/mvfile"
check "mv a file within a directory" mv "$MNT/t/mvfile" "$MNT/t/mvfile2"
check "the old name is gone" test ! -e "$MNT/t/mvfile"
check "the new name has the bytes" same_file "$SRC/seq" "$MNT/t/mvfile2"
check "mv a file into a subdirectory" mv "$MNT/t/mvfile2" "$MNT/t/cp/sub/mvfile3"
check "mv a file across tables" mv "$MNT/t/cp/sub/mvfile3" "$MNT/other/mvfile4"
check "bytes after moves" same_file "$SRC/seq" "$MNT/other/mvfile4"
check "mv a directory within a table" mv "$MNT/t/rsync" "$MNT/t/rsync2"
check "the moved directory is whole" same_tree_s "$SRC" "$MNT/t/rsync2"
check "the old directory is gone" test ! -e "$MNT/t/rsync"
check "mv a directory across tables" mv "$MNT/t/rsync2" "$MNT/other/tree"
check "the directory moved across tables is whole" same_tree_s "$SRC" "$MNT/other/tree"
check "mv a directory back" mv "$MNT/other/tree" "$MNT/t/tree"
check "moved twice, still whole" same_tree_s "$SRC" "$MNT/t/tree"
check "mv over an existing file replaces it" sh -c "echo new > '$MNT/t/n1' && echo old > '$MNT/t/n2' && mv '$MNT/t/n1' '$MNT/t/n2' && test \"\$(cat '$MNT/t/n2')\" = new && ! test -e '$MNT/t/n1'"
expect_fail "mv a directory over a non-empty one" "not empty\|Directory not empty\|exists" mv -T "$MNT/t/cp/sub" "$MNT/t/cp/exec"
check "mv a directory over an empty one" sh -c "mkdir '$MNT/t/e1' '$MNT/t/e2' && echo f > '$MNT/t/e1/f' && mv -T '$MNT/t/e1' '$MNT/t/e2' && test -f '$MNT/t/e2/f' && ! test -e '$MNT/t/e1'"
check "mv a table's directory into another table (copy fallback)" sh -c "mkdir '$MNT/tab2' && echo z > '$MNT/tab2/z' && mv '$MNT/tab2' '$MNT/other/' && test \"\$(cat '$MNT/other/tab2/z')\" = z && ! test -e '$MNT/tab2'"

# ---- rm -r ----
cp -a "$SRC" "$MNT/t/victim"
check "rm -r" rm -r "$MNT/t/victim"
check "rm -r leaves nothing" test ! -e "$MNT/t/victim"
check "rm -r of a whole table's contents" sh -c "mkdir '$MNT/scratch' && cp -a '$SRC' '$MNT/scratch/' && rm -r '$MNT/scratch/src' && rmdir '$MNT/scratch'"

# ---- an editor's safe save: write a temporary file, fsync, rename over ----
printf 'version 1\n' > "$MNT/t/doc.txt"
printf 'version 2\n' | dd of="$MNT/t/.doc.txt.swp" conv=fsync status=none
check "safe save: rename over the original" mv "$MNT/t/.doc.txt.swp" "$MNT/t/doc.txt"
check "safe save: the new content" eq "$(cat "$MNT/t/doc.txt")" "version 2"
check "safe save: no temporary left" test ! -e "$MNT/t/.doc.txt.swp"

# ---- find, du, df, stat ----
n_src=$(cd "$SRC" && find . | wc -l)
check "find lists every entry" eq "$(cd "$MNT/t/cp" && find . | wc -l)" "$n_src"
check "find -name" eq "$(find "$MNT/t/cp" -name f -type f | wc -l)" 1
check "find -newer / -type l" eq "$(find "$MNT/t/cp" -type l | wc -l)" 3
src_bytes=$(find "$SRC" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
check "du --apparent-size counts the bytes" eq "$(find "$MNT/t/cp" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')" "$src_bytes"
check "du -s reports a size" sh -c "test \$(du -sk '$MNT/t/cp' | cut -f1) -gt 500"
check "df shows the mount" sh -c "df '$MNT' | grep -q '^golite:'"
check "df has real figures" sh -c "test \$(df -k --output=size '$MNT' | tail -1) -gt 0"
check "df -i works" sh -c "df -i '$MNT' >/dev/null"
f=$MNT/t/statme
printf '12345' > "$f"
chmod 640 "$f"
chown 65534:65534 "$f"
touch -d '2010-10-10 10:10:10' "$f"
check "stat: size, mode, owner, type" eq "$(stat -c '%s %a %u %g %F %h' "$f")" "5 640 65534 65534 regular file 1"
check "stat: mtime" eq "$(stat -c '%Y' "$f")" "$(date -d '2010-10-10 10:10:10' +%s)"
check "stat: inode numbers differ" sh -c "test \$(stat -c %i '$MNT/t/cp/a') != \$(stat -c %i '$MNT/t/cp/zero')"
check "stat: a directory" eq "$(stat -c '%F' "$MNT/t/cp/sub")" "directory"
check "stat: a symlink" eq "$(stat -c '%F %N' "$MNT/t/cp/link")" "symbolic link '$MNT/t/cp/link' -> 'a'"
ino_before=$(stat -c %i "$MNT/t/cp/seq")
mv "$MNT/t/cp/seq" "$MNT/t/cp/seq2"
check "rename keeps the inode number" eq "$(stat -c %i "$MNT/t/cp/seq2")" "$ino_before"
mv "$MNT/t/cp/seq2" "$MNT/t/cp/seq"

# ---- permissions, as a user who is not root ----
mkdir "$MNT/perm"
chmod 755 "$MNT/perm"
echo secret > "$MNT/perm/secret"
chmod 600 "$MNT/perm/secret"
echo public > "$MNT/perm/public"
chmod 644 "$MNT/perm/public"
expect_fail "nobody cannot read a 0600 file" "Permission denied" $NOBODY cat "$MNT/perm/secret"
check "nobody can read a 0644 file" eq "$($NOBODY cat "$MNT/perm/public")" public
expect_fail "nobody cannot write a 0644 file" "Permission denied" $NOBODY sh -c "echo x >> '$MNT/perm/public'"
expect_fail "nobody cannot create in a 0755 directory" "Permission denied" $NOBODY touch "$MNT/perm/new"
expect_fail "nobody cannot remove there" "Permission denied" $NOBODY rm -f "$MNT/perm/public"
expect_fail "nobody cannot chmod root's file" "Operation not permitted" $NOBODY chmod 777 "$MNT/perm/public"
expect_fail "nobody cannot create a table" "Permission denied" $NOBODY mkdir "$MNT/nobodys"
chmod 1777 "$MNT/perm"
check "nobody can create in a 1777 directory" $NOBODY sh -c "echo mine > '$MNT/perm/mine'"
check "the new file belongs to nobody" eq "$(stat -c '%u %g' "$MNT/perm/mine")" "65534 65534"
expect_fail "sticky: nobody cannot remove root's file" "Operation not permitted" $NOBODY rm -f "$MNT/perm/public"
check "nobody can chmod its own file" $NOBODY chmod 600 "$MNT/perm/mine"
check "nobody sets its own xattr" $NOBODY setfattr -n user.mine -v 1 "$MNT/perm/mine"
expect_fail "nobody cannot set trusted.* xattrs" "Operation not permitted" $NOBODY setfattr -n trusted.x -v 1 "$MNT/perm/mine"
check "root sets trusted.* xattrs" setfattr -n trusted.x -v 1 "$MNT/perm/mine"
# Writes by a user without CAP_FSETID clear set-user/group-ID bits, as on
# a local file system (the daemon does it: FUSE_HANDLE_KILLPRIV_V2).
for spec in "4777 777 append" "2777 777 append" "2766 766 append" "4777 777 truncate" \
	"4777 777 overwrite"; do
	set -- $spec
	f="$MNT/perm/suid-$1-$3"
	echo a > "$f"
	chmod "$1" "$f"
	case $3 in
	append) $NOBODY sh -c "echo b >> '$f'" ;;
	truncate) $NOBODY truncate -s 1 "$f" ;;
	overwrite) $NOBODY sh -c "echo c > '$f'" ;;
	esac
	check "a $3 by nobody turns mode $1 into $2" eq "$(stat -c %a "$f")" "$2"
done
f="$MNT/perm/suid-root"
echo a > "$f"
chmod 4777 "$f"
echo b >> "$f"
check "a write by root keeps set-user-ID" eq "$(stat -c %a "$f")" 4777
chown 65534 "$f"
check "chown clears set-user-ID" eq "$(stat -c %a "$f")" 777
check "execute bit honoured" eq "$("$MNT/t/cp/exec/run.sh")" run
expect_fail "no execute bit, no exec" "Permission denied" $NOBODY "$MNT/t/cp/a"

# ---- extended attributes the mount does not support, and ls -l ----
expect_fail "no POSIX ACLs" "Operation not supported" getfattr -n system.posix_acl_access "$MNT/perm/mine"
expect_fail "no SELinux labels" "Operation not supported" getfattr -n security.selinux "$MNT/perm/mine"
expect_fail "nor set" "Operation not supported" setfattr -n security.selinux -v x "$MNT/perm/mine"
check "getfacl shows the mode" sh -c "getfacl -p '$MNT/perm/mine' 2>/dev/null | grep -q '^user::'"
mkdir "$MNT/t/many"
i=0
while [ $i -lt 300 ]; do : > "$MNT/t/many/f$i"; i=$((i + 1)); done
gx0=$(awk '$1 == "fs_op_getxattr" { print $2 }' "$MNT/.golite/stats")
ls -l "$MNT/t/many" > /dev/null
gx1=$(awk '$1 == "fs_op_getxattr" { print $2 }' "$MNT/.golite/stats")
# Two for the first file (ACL and SELinux label, both "not supported"),
# then none: ls remembers the answer for the file system.
check "ls -l of 300 files asks for $((gx1 - gx0)) attributes (at most 4)" test $((gx1 - gx0)) -le 4
rm -r "$MNT/t/many"

# ---- /.golite ----
check "stats are readable" sh -c "grep -q '^fs_op_lookup [0-9]' '$MNT/.golite/stats' && grep -q '^puts [0-9]' '$MNT/.golite/stats'"
check "stats: open files figure" sh -c "grep -q '^fs_open_files 0' '$MNT/.golite/stats'"
expect_fail "the control directory is read-only" "Permission denied\|Operation not permitted\|Read-only" sh -c "echo x > '$MNT/.golite/stats'"
expect_fail "no new files in the control directory" "Operation not permitted\|Permission denied" touch "$MNT/.golite/new"

# ---- unmount, remount, compare ----
sums "$MNT" > "$T/sums.before"
meta "$MNT/t" > "$T/meta.before"
xattrs "$MNT/t" > "$T/xattrs.before"
ls -R "$MNT" > "$T/ls.before"
check "unmount" umount_fs
check "the daemon left no mount" sh -c "! mountpoint -q '$MNT'"
mount_fs -o allow_other
sums "$MNT" > "$T/sums.after"
meta "$MNT/t" > "$T/meta.after"
xattrs "$MNT/t" > "$T/xattrs.after"
ls -R "$MNT" > "$T/ls.after"
check "after remount: every byte" cmp -s "$T/sums.before" "$T/sums.after"
check "after remount: metadata" diff "$T/meta.before" "$T/meta.after"
check "after remount: xattrs" cmp -s "$T/xattrs.before" "$T/xattrs.after"
check "after remount: listings" cmp -s "$T/ls.before" "$T/ls.after"
check "after remount: the tree still equals its source" same_tree_s "$SRC" "$MNT/t/tree"
check "after remount: empty directory" test -d "$MNT/users/emptydir"
check "after remount: appended file" eq "$(sed -n 300p "$MNT/users/log")" "line 299"
check "final unmount" umount_fs

finish
