#!/bin/sh
# test_security.sh — the mount never lets a user read or change what the
# modes forbid.
#
# - golitefs mounts with default_permissions (the kernel checks modes and
#   owners) and without allow_other unless asked: another user is denied
#   the mount entirely (EACCES), even files of mode 0777.
# - With -o allow_other, a user who is not root (nobody, through setpriv)
#   cannot read a 0600 root file, write or truncate a 0644 one, change its
#   times, mode, owner or user.* attributes, create, remove or rename in a
#   0755 root directory, list a 0700 one, create a table; in a sticky
#   directory cannot remove, rename or chmod what root owns, nor give a
#   file away; and can do all of that in a directory it owns.
# - Names over 255 bytes are ENAMETOOLONG; a name cannot hold '/' or NUL,
#   and "." and ".." cannot be created as files (names.c, raw system
#   calls); the escaped forms %2e and %2f stay names of their own.
# - The data directory a fresh mount creates is mode 0700, and so is the
#   one `golite put -c` / `golite create` creates, whatever the umask.
#
#   sh tests/fs/test_security.sh BUILD
. "$(dirname "$0")/lib.sh"

NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
chmod 755 "$T"
DENIED="Permission denied"
NOTPERM="Operation not permitted"

opts_of() {
	awk -v m="$MNT" '$2 == m { print $4 }' /proc/mounts
}

# ---- the default mount: nobody else gets in ----
mount_fs
o=$(opts_of)
echo "mount options: $o"
check "mounted with default_permissions" sh -c "echo '$o' | tr , '\n' | grep -qx default_permissions"
check "without allow_other" sh -c "! echo '$o' | tr , '\n' | grep -qx allow_other"
mkdir "$MNT/open"
chmod 777 "$MNT/open"
echo open > "$MNT/open/f"
chmod 777 "$MNT/open/f"
expect_fail "without allow_other: nobody cannot list the mount" "$DENIED" $NOBODY ls "$MNT"
expect_fail "nor stat it" "$DENIED" $NOBODY stat "$MNT/open"
expect_fail "nor read a 0777 file" "$DENIED" $NOBODY cat "$MNT/open/f"
expect_fail "nor write one" "$DENIED" $NOBODY sh -c "echo x > '$MNT/open/f'"
expect_fail "nor create in a 0777 directory" "$DENIED" $NOBODY touch "$MNT/open/new"
expect_fail "nor read the control directory" "$DENIED" $NOBODY cat "$MNT/.golite/stats"
check "root reads" eq "$(cat "$MNT/open/f")" open
check "the data directory of a fresh mount is 0700" eq "$(stat -c %a "$DATA")" 700
check "unmount" umount_fs

# ---- with allow_other ----
mount_fs -o allow_other
o=$(opts_of)
check "-o allow_other: allow_other and default_permissions" \
	sh -c "echo '$o' | tr , '\n' | grep -qx allow_other && echo '$o' | tr , '\n' | grep -qx default_permissions"
R=$MNT/sec
mkdir "$R"
chmod 755 "$R"
echo secret > "$R/secret"
chmod 600 "$R/secret"
echo public > "$R/public"
chmod 644 "$R/public"
echo group > "$R/group"
chgrp 65534 "$R/group"
chmod 640 "$R/group"
mkdir "$R/private"
chmod 700 "$R/private"
echo inner > "$R/private/inner"
chmod 644 "$R/private/inner"
setfattr -n user.tag -v root "$R/public"

expect_fail "nobody cannot read a 0600 root file" "$DENIED" $NOBODY cat "$R/secret"
check "nobody reads a 0644 root file" eq "$($NOBODY cat "$R/public")" public
check "nobody reads a 0640 file of its group" eq "$($NOBODY cat "$R/group")" group
expect_fail "nobody cannot write a 0644 root file" "$DENIED" $NOBODY sh -c "echo x >> '$R/public'"
expect_fail "nor overwrite it" "$DENIED" $NOBODY sh -c "echo x > '$R/public'"
expect_fail "nor truncate it" "$DENIED" $NOBODY truncate -s 0 "$R/public"
expect_fail "nor set its times" "$DENIED\|$NOTPERM" $NOBODY touch -d 2001-01-01 "$R/public"
expect_fail "nor touch it to now" "$DENIED\|$NOTPERM" $NOBODY touch "$R/public"
expect_fail "nor chmod it" "$NOTPERM" $NOBODY chmod 666 "$R/public"
expect_fail "nor chown it" "$NOTPERM" $NOBODY chown 65534 "$R/public"
expect_fail "nor set a user.* attribute on it" "$DENIED\|$NOTPERM" $NOBODY setfattr -n user.x -v 1 "$R/public"
expect_fail "nor remove its user.* attribute" "$DENIED\|$NOTPERM" $NOBODY setfattr -x user.tag "$R/public"
expect_fail "nor create in a 0755 root directory" "$DENIED" $NOBODY touch "$R/new"
expect_fail "nor mkdir there" "$DENIED" $NOBODY mkdir "$R/newdir"
expect_fail "nor symlink there" "$DENIED" $NOBODY ln -s public "$R/link"
expect_fail "nor unlink there" "$DENIED" $NOBODY rm -f "$R/public"
expect_fail "nor rename there" "$DENIED" $NOBODY mv "$R/public" "$R/public2"
expect_fail "nor rmdir there" "$DENIED" $NOBODY rmdir "$R/private"
expect_fail "nor list a 0700 root directory" "$DENIED" $NOBODY ls "$R/private"
expect_fail "nor read a 0644 file inside it" "$DENIED" $NOBODY cat "$R/private/inner"
expect_fail "nor create a table at the root" "$DENIED" $NOBODY mkdir "$MNT/nobodys"
expect_fail "nor write the control directory" "$DENIED\|$NOTPERM\|Read-only" $NOBODY sh -c "echo x > '$MNT/.golite/stats'"
expect_fail "nor set trusted.* attributes" "$NOTPERM" $NOBODY setfattr -n trusted.x -v 1 "$R/public"
check "the root files are unchanged" sh -c "test \"\$(cat '$R/public')\" = public && test \"\$(cat '$R/secret')\" = secret && test \"\$(stat -c %a '$R/public')\" = 644"
check "and the directory holds what root put there" eq "$(ls "$R" | tr '\n' ' ')" "group private public secret "

# a sticky directory
S=$MNT/sticky
mkdir "$S"
chmod 1777 "$S"
echo rootfile > "$S/rootfile"
chmod 666 "$S/rootfile"
mkdir "$S/rootdir"
chmod 777 "$S/rootdir"
check "nobody creates in a 1777 directory" $NOBODY sh -c "echo mine > '$S/mine'"
check "its file is its own" eq "$(stat -c '%u %g' "$S/mine")" "65534 65534"
check "nobody may write root's 0666 file there" $NOBODY sh -c "echo changed >> '$S/rootfile'"
expect_fail "sticky: nobody cannot unlink root's file" "$NOTPERM" $NOBODY rm -f "$S/rootfile"
expect_fail "sticky: nor rename it" "$NOTPERM" $NOBODY mv "$S/rootfile" "$S/taken"
expect_fail "sticky: nor replace it by a rename" "$NOTPERM" $NOBODY mv -f "$S/mine" "$S/rootfile"
expect_fail "sticky: nor rmdir root's directory" "$NOTPERM" $NOBODY rmdir "$S/rootdir"
expect_fail "sticky: nor chmod root's file" "$NOTPERM" $NOBODY chmod 600 "$S/rootfile"
expect_fail "sticky: nor chown root's file" "$NOTPERM" $NOBODY chown 65534:65534 "$S/rootfile"
expect_fail "nobody cannot give its file to root" "$NOTPERM" $NOBODY chown 0 "$S/mine"
expect_fail "nor to a group it is not in" "$NOTPERM" $NOBODY chgrp 0 "$S/mine"
check "root's file is still there" test -f "$S/rootfile"
check "nobody removes its own file in the sticky directory" $NOBODY rm "$S/mine"

# a directory nobody owns: everything is allowed
O=$MNT/sec/owned
mkdir "$O"
chown 65534:65534 "$O"
chmod 755 "$O"
check "own dir: create" $NOBODY sh -c "echo one > '$O/f'"
check "own dir: write" $NOBODY sh -c "echo two >> '$O/f'"
check "own dir: read" eq "$($NOBODY cat "$O/f" | tr '\n' ' ')" "one two "
check "own dir: truncate" $NOBODY truncate -s 3 "$O/f"
check "own dir: set times" $NOBODY touch -d 2001-01-01 "$O/f"
check "own dir: chmod" $NOBODY chmod 600 "$O/f"
check "own dir: chown to itself" $NOBODY chown 65534:65534 "$O/f"
check "own dir: user.* attribute" $NOBODY setfattr -n user.mine -v 1 "$O/f"
check "own dir: mkdir" $NOBODY mkdir "$O/d"
check "own dir: symlink" $NOBODY ln -s f "$O/l"
check "own dir: rename" $NOBODY mv "$O/f" "$O/d/g"
check "own dir: rename back" $NOBODY mv "$O/d/g" "$O/f"
check "own dir: the file is 0600, its own" eq "$(stat -c '%a %u %g %s' "$O/f")" "600 65534 65534 3"
expect_fail "own dir: root's group cannot read nobody's 0600 file as another user" "$DENIED" \
	setpriv --reuid=65533 --regid=65533 --clear-groups cat "$O/f"
check "own dir: unlink" $NOBODY rm "$O/f" "$O/l"
check "own dir: rmdir" $NOBODY rmdir "$O/d"
check "own dir: chmod the directory itself" $NOBODY chmod 700 "$O"
expect_fail "and then root's other users are out" "$DENIED" setpriv --reuid=65533 --regid=65533 --clear-groups ls "$O"
check "unmount" umount_fs

# ---- names ----
mount_fs
mkdir "$MNT/names"
check "names that cannot be created (raw system calls)" "$TESTBIN/names" "$MNT/names"
long=$(head -c 256 /dev/zero | tr '\0' a)
expect_fail "a 256-byte table name" "File name too long" mkdir "$MNT/$long"
check "%2e is a name of its own, not ." sh -c "touch '$MNT/names/%2e' && test -f '$MNT/names/%2e' && test -d '$MNT/names/.'"
check "%2e2e is a name of its own, not .." sh -c "touch '$MNT/names/%2e2e' && test -f '$MNT/names/%2e2e'"
check "%2f is a name of its own, not /" sh -c "touch '$MNT/names/%2f' && test -f '$MNT/names/%2f'"
check "the listing shows them as written, . and .. once" eq \
	"$(ls -a "$MNT/names" | grep -c '^\.\{1,2\}$') $(ls "$MNT/names" | grep -c '^%2e$\|^%2e2e$\|^%2f$')" "2 3"
check "unmount" umount_fs
check "after a remount the names read back" sh -c "'$GOLITEFS' '$DATA' '$MNT' && test -f '$MNT/names/%2e' && test -f '$MNT/names/%2f' && test -f '$MNT/names/x'"
MNT_PID=$(mnt_pid)
check "unmount" umount_fs

# ---- data directories are private ----
(umask 000 && "$GOLITEFS" "$T/data0" "$MNT") || die "mount of a new data directory"
MNT_PID=$(mnt_pid)
check "a fresh mount under umask 000: the data directory is 0700" eq "$(stat -c %a "$T/data0")" 700
check "unmount" umount_fs
EXTRA_CLEANUP="$T/data0"
(umask 000 && "$BUILD/golite" put -c --value v "$T/data1" t k)
check "golite put -c under umask 000: 0700" eq "$(stat -c %a "$T/data1")" 700
(umask 022 && "$BUILD/golite" create "$T/data2" t)
check "golite create: 0700" eq "$(stat -c %a "$T/data2")" 700
expect_fail "nobody cannot look into a store" "$DENIED" $NOBODY ls "$T/data1"

finish
