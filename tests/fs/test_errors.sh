#!/bin/sh
# test_errors.sh — bad input through the mount and bad conditions around
# it: each must give a clear errno or message, lose nothing, and leave the
# mount usable. Names too long, files at the root, rmdir of a non-empty
# table, sizes past the limit, reserved names, a full disk (and writes
# resuming once space is freed), a missing mountpoint or /dev/fuse, a data
# directory held by another process, a damaged store, bad options; the
# ways to mount (mount -t fuse, mount.fuse3, -o ro) and to stop (SIGTERM,
# SIGINT) the daemon.
#
#   sh tests/fs/test_errors.sh BUILD
. "$(dirname "$0")/lib.sh"

long_name() { head -c "$1" /dev/zero | tr '\0' n; }

mount_fs
mkdir "$MNT/t"
echo keep > "$MNT/t/keep"

# ---- names and sizes ----
expect_fail "a 256-byte name" "File name too long" touch "$MNT/t/$(long_name 256)"
check "a 255-byte name" touch "$MNT/t/$(long_name 255)"
expect_fail "a 256-byte table name" "File name too long" mkdir "$MNT/$(long_name 256)"
expect_fail "a lookup of a 300-byte name" "File name too long" stat "$MNT/t/$(long_name 300)"
# A key longer than GOLITE_MAX_KEY_SIZE (8192 bytes): nest 200-byte names;
# the 41st level would make a key of 8241 bytes.
deep_ok=1
(
	cd -P "$MNT/t" || exit 1
	n=0
	while [ $n -lt 45 ]; do
		d=$(long_name 200)
		mkdir "$d" 2>"$T/deep.err" || break
		cd -P "$d" || exit 1
		n=$((n + 1))
	done
	echo "$n" > "$T/deep.n"
) || deep_ok=0
check "nesting stops at the key size limit" sh -c "test $deep_ok = 1 && test \$(cat '$T/deep.n') -eq 40"
check "with ENAMETOOLONG" grep -q "File name too long" "$T/deep.err"
expect_fail "a file at the root" "Operation not permitted" sh -c "echo x > '$MNT/file'"
expect_fail "a table name the engine refuses" "Invalid argument" mkdir "$MNT/.golitex"
expect_fail "mkdir .golite" "File exists" mkdir "$MNT/.golite"
expect_fail "rmdir of a non-empty table" "not empty" rmdir "$MNT/t"
expect_fail "rmdir of the control directory" "Operation not permitted\|Permission denied" rmdir "$MNT/.golite"
expect_fail "a size past the largest file" "File too large" truncate -s 17T "$MNT/t/huge"
expect_fail "a write past the largest file" "File too large" dd if=/dev/zero of="$MNT/t/huge2" bs=1 count=1 seek=17592186044416 status=none
check "a sparse file near the limit" truncate -s 15T "$MNT/t/sparse15t"
check "reads zeros at its end" eq "$(tail -c 4 "$MNT/t/sparse15t" | od -An -tx1 | tr -d ' ')" 00000000
expect_fail "a reserved %+ name" "Invalid argument" touch "$MNT/t/%+00"
expect_fail "a reserved %_ name" "Invalid argument" mkdir "$MNT/t/%_78"
check "rename(2) of a table into a table: a directory, not EXDEV" sh -c "mkdir '$MNT/u' && perl -e 'rename(\$ARGV[0], \$ARGV[1]) or die \"\$!\\n\"' '$MNT/u' '$MNT/t/u' && test -d '$MNT/t/u' && ! test -e '$MNT/u'"
expect_fail "rename(2) of a file to the root" "Operation not permitted" perl -e 'rename($ARGV[0], $ARGV[1]) or die "$!\n"' "$MNT/t/keep" "$MNT/keep"
check "the mount still works" eq "$(cat "$MNT/t/keep")" keep
check "unmount" umount_fs

# ---- a full disk ----
SMALL=$T/small
mkdir "$SMALL"
mount -t tmpfs -o size=24m tmpfs "$SMALL" || die "cannot mount a tmpfs"
EXTRA_CLEANUP="$SMALL/data"
head -c 8M /dev/zero > "$SMALL/ballast"
head -c 1M /dev/urandom > "$T/one"
DATA_SAVE=$DATA
DATA=$SMALL/data
mount_fs
mkdir "$MNT/full"
i=0
while [ $i -lt 40 ] && dd if="$T/one" of="$MNT/full/f$i" bs=64k conv=fsync status=none 2>"$T/full.err"; do
	i=$((i + 1))
done
check "writing until the disk is full stops" test $i -lt 40
check "with ENOSPC" grep -q "No space left on device" "$T/full.err"
check "files written before are whole" sh -c "for j in \$(seq 0 $((i - 1))); do cmp -s '$T/one' '$MNT/full/f'\$j || exit 1; done"
check "the mount still lists" sh -c "ls '$MNT/full' | grep -q f0"
check "the mount still reads" cmp -s "$T/one" "$MNT/full/f0"
# The store stops writes at its headroom, before the disk is full, and
# takes them again when a compaction's temporary files are gone: fill what
# is left from outside, so that the disk stays full.
dd if=/dev/zero of="$SMALL/ballast2" bs=64k status=none 2>/dev/null
# Without fsync the bytes wait in the kernel's writeback cache, and close
# sends no flush: the error must still reach close(2) (dd reports it).
expect_fail "a write without fsync on the full disk" "No space left on device" \
	dd if="$T/one" of="$MNT/full/nofsync" bs=64k status=none
rm -f "$SMALL/ballast" "$SMALL/ballast2"
check "writes resume once space is freed" dd if="$T/one" of="$MNT/full/after" bs=64k conv=fsync status=none
check "and are whole" cmp -s "$T/one" "$MNT/full/after"
check "unmount after a full disk" umount_fs
# Opening the store reserves room for a new log segment: give it some.
mount -o remount,size=64m "$SMALL" || die "cannot grow the tmpfs"
mount_fs
check "after remount: files written before the disk filled" sh -c "for j in \$(seq 0 $((i - 1))); do cmp -s '$T/one' '$MNT/full/f'\$j || exit 1; done"
check "after remount: the file written after" cmp -s "$T/one" "$MNT/full/after"
check "unmount" umount_fs
umount "$SMALL"
DATA=$DATA_SAVE

# ---- start-up errors ----
expect_fail "a missing mountpoint" "mountpoint $T/nowhere: No such file" "$GOLITEFS" "$DATA" "$T/nowhere"
touch "$T/plainfile"
expect_fail "a mountpoint that is a file" "not a directory" "$GOLITEFS" "$DATA" "$T/plainfile"
expect_fail "no /dev/fuse" "cannot open /dev/fuse" unshare -m sh -c "mount -t tmpfs none /dev && exec '$GOLITEFS' '$DATA' '$MNT'"
mount_fs
mkdir "$T/mnt2"
expect_fail "a data directory held by another process" "in use by process $MNT_PID" "$GOLITEFS" "$DATA" "$T/mnt2"
check "the first mount is untouched" eq "$(cat "$MNT/t/keep")" keep
check "unmount" umount_fs
mkdir "$T/bad"
printf 'not a store\n' > "$T/bad/STORE"
expect_fail "a damaged store" "damaged" "$GOLITEFS" "$T/bad" "$T/mnt2"
check "a damaged store is not mounted" sh -c "! mountpoint -q '$T/mnt2'"
expect_fail "an unknown option" "unknown option\|invalid argument\|fuse:" "$GOLITEFS" -o nosuchoption=1 "$DATA" "$MNT"
expect_fail "a bad durability" "durability=fast" "$GOLITEFS" -o durability=fast "$DATA" "$MNT"
expect_fail "missing arguments" "usage" "$GOLITEFS" "$DATA"
"$GOLITEFS" --help > "$T/help.txt" 2>&1
for o in durability= sync_interval_ms= memtable_size= cache_size= compaction_threads= \
	attr_timeout= entry_timeout= negative_timeout= allow_other sweep_interval= loglevel= -f; do
	check "--help lists $o" grep -q -- "$o" "$T/help.txt"
done

# ---- ways to mount ----
check "mount -t fuse 'golitefs#DATADIR'" mount -t fuse "$GOLITEFS#$DATA" "$MNT" -o durability=sync
check "mounted as fuse.golitefs" grep -q " $MNT fuse.golitefs " /proc/mounts
check "with the data" eq "$(cat "$MNT/t/keep")" keep
MNT_PID=$(mnt_pid)
check "umount(8) unmounts it" sh -c "umount '$MNT' && while kill -0 $MNT_PID 2>/dev/null; do sleep 0.05; done"
check "mount.fuse3 with mount(8)'s argument order" env PATH="$BUILD:$PATH" /sbin/mount.fuse3 "$DATA" "$MNT" -t golitefs -o rw,defaults,noatime,durability=periodic,sync_interval_ms=200
MNT_PID=$(mnt_pid)
check "mounted" eq "$(cat "$MNT/t/keep")" keep
check "unmount" umount_fs
mount_fs -o ro
expect_fail "a read-only mount refuses writes" "Read-only file system" sh -c "echo x > '$MNT/t/new'"
check "a read-only mount reads" eq "$(cat "$MNT/t/keep")" keep
check "unmount" umount_fs

# ---- stopping the daemon ----
for sig in TERM INT; do
	"$GOLITEFS" -f "$DATA" "$MNT" 2>"$T/fg.err" &
	fg=$!
	i=0
	while ! mountpoint -q "$MNT" && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	echo "$sig" > "$MNT/t/sig$sig"
	kill -"$sig" $fg
	i=0
	while kill -0 $fg 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	if kill -0 $fg 2>/dev/null; then
		kill -KILL $fg
		umount -l "$MNT"
	fi
	wait $fg
	st=$?
	check "SIG$sig: the daemon exits cleanly (status $st)" test $st -eq 0
	check "SIG$sig: the mount is gone" sh -c "! mountpoint -q '$MNT'"
done
mount_fs
check "after SIGTERM and SIGINT: the data is there" sh -c "test \"\$(cat '$MNT/t/sigTERM')\" = TERM && test \"\$(cat '$MNT/t/sigINT')\" = INT"
check "unmount" umount_fs

finish
