#!/bin/sh
# test_crash.sh — kill -9 of the daemon: write and fsync files through the
# mount, kill the daemon, clear the dead mount (fusermount3 -u, or
# umount -l), remount, and every fsynced file must be there byte for byte,
# in each durability mode. Also: bytes written past a file's durable size
# and lost in the crash never reappear when the file grows again (the
# trim pass), and a rename made durable by fsync of its directory survives.
#
#   sh tests/fs/test_crash.sh BUILD
. "$(dirname "$0")/lib.sh"

# crash: kill -9 the daemon and clear the dead mount.
crash() {
	kill -KILL "$MNT_PID"
	wait_exit "$MNT_PID"
	fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
	MNT_PID=""
	! mountpoint -q "$MNT"
}

# put SRC DEST: copies with fsync (dd conv=fsync), records the checksum.
put() {
	dd if="$1" of="$2" bs=64k conv=fsync status=none && echo "$(md5sum < "$1" | cut -d' ' -f1) $2" >> "$T/synced"
}

head -c 3000 /dev/urandom > "$T/small"
head -c 4096 /dev/urandom > "$T/page"
head -c 70000 /dev/urandom > "$T/mid"
head -c 2500000 /dev/urandom > "$T/big"

round=0
for mode in periodic sync none; do
	round=$((round + 1))
	: > "$T/synced"
	mount_fs -o durability=$mode
	D=$MNT/crash$round
	mkdir -p "$D/sub"
	i=0
	while [ $i -lt 20 ]; do
		put "$T/small" "$D/s$i"
		i=$((i + 1))
	done
	put "$T/page" "$D/page"
	put "$T/mid" "$D/sub/mid"
	put "$T/big" "$D/big"
	# Appends, each fsynced.
	: > "$T/appended"
	i=0
	while [ $i -lt 30 ]; do
		head -c 1000 "$T/big" | tail -c $((1000 - i)) >> "$T/appended"
		head -c 1000 "$T/big" | tail -c $((1000 - i)) | dd of="$D/log" bs=4k oflag=append conv=notrunc,fsync status=none
		i=$((i + 1))
	done
	echo "$(md5sum < "$T/appended" | cut -d' ' -f1) $D/log" >> "$T/synced"
	# Random overwrites inside the big file, then fsync.
	dd if="$T/page" of="$D/big" bs=4096 seek=100 conv=notrunc,fsync status=none
	cp "$T/big" "$T/big.expect"
	dd if="$T/page" of="$T/big.expect" bs=4096 seek=100 conv=notrunc status=none
	sed -i "\| $D/big\$|d" "$T/synced"
	echo "$(md5sum < "$T/big.expect" | cut -d' ' -f1) $D/big" >> "$T/synced"
	# A rename made durable by fsync of the directory.
	put "$T/mid" "$D/renamed.tmp"
	mv "$D/renamed.tmp" "$D/renamed"
	sync "$D"
	sed -i "s| $D/renamed.tmp\$| $D/renamed|" "$T/synced"
	# A file that grows after its last fsync; the growth may be lost, but
	# never half: bytes past the durable size must read as zeros later.
	dd if="$T/page" of="$D/grow" bs=4096 count=1 conv=fsync status=none
	dd if="$T/big" of="$D/grow" bs=4096 seek=1 count=8 conv=notrunc status=none
	# A file with three names, in two directories and two tables, written
	# through one of them.
	mkdir -p "$MNT/links$round"
	put "$T/mid" "$D/hl"
	ln "$D/hl" "$D/sub/hl2"
	ln "$D/hl" "$MNT/links$round/hl3"
	dd if="$T/page" of="$D/sub/hl2" bs=4096 seek=2 conv=notrunc,fsync status=none
	cp "$T/mid" "$T/hl.expect"
	dd if="$T/page" of="$T/hl.expect" bs=4096 seek=2 conv=notrunc status=none
	sed -i "\| $D/hl\$|d" "$T/synced"
	for f in "$D/hl" "$D/sub/hl2" "$MNT/links$round/hl3"; do
		echo "$(md5sum < "$T/hl.expect" | cut -d' ' -f1) $f" >> "$T/synced"
	done
	put "$T/small" "$D/last"   # its fsync makes the log durable
	# Unsynced writes that may or may not survive.
	head -c 9000 /dev/urandom > "$D/unsynced"

	check "$mode: kill -9 and clear the mount" crash
	mount_fs -o durability=$mode
	bad=0
	while read -r sum f; do
		if [ "$(md5sum < "$f" 2>/dev/null | cut -d' ' -f1)" != "$sum" ]; then
			echo "  lost or damaged: $f" >&2
			bad=$((bad + 1))
		fi
	done < "$T/synced"
	check "$mode: every fsynced file is whole ($(wc -l < "$T/synced") files)" test $bad -eq 0
	check "$mode: the renamed name only" test ! -e "$D/renamed.tmp"
	check "$mode: three names, one inode, three links" eq \
		"$(stat -c '%i %h' "$D/hl" "$D/sub/hl2" "$MNT/links$round/hl3" | sort -u | wc -l) $(stat -c %h "$D/hl")" "1 3"
	size=$(stat -c %s "$D/grow")
	check "$mode: a grown file is its synced size or all of it ($size)" \
		sh -c "test $size -eq 4096 || test $size -eq 36864"
	echo "  $mode: grown file is $size bytes after the crash"
	truncate -s 100000 "$D/grow"
	if [ "$size" -eq 4096 ]; then
		check "$mode: bytes lost in the crash read as zeros when the file grows" \
			sh -c "test \"\$(tail -c +4097 '$D/grow' | tr -d '\\0' | wc -c)\" -eq 0"
	else
		head -c 36864 "$D/grow" | tail -c 32768 > "$T/grown"
		head -c 32768 "$T/big" > "$T/grown.expect"
		check "$mode: the grown bytes survived whole" cmp -s "$T/grown" "$T/grown.expect"
	fi
	check "$mode: the mount works after the crash" sh -c "echo after > '$D/after' && test \"\$(cat '$D/after')\" = after"
	check "$mode: unmount" umount_fs
	check "$mode: golite check after the crash" "$BUILD/golite" -q check "$DATA"
done

# The trim pass, made to happen: a chunked file with chunk data past its
# recorded size (what a crash leaves when the size was still in memory),
# and no clean-unmount marker. The bytes past the size must read as zeros
# when the file grows.
mount_fs
head -c 10000 "$T/big" > "$MNT/crash1/trim"
ino=$(stat -c %i "$MNT/crash1/trim")
check "unmount" umount_fs
inohex=$(printf '%016x' "$ino")
junk=$(head -c 4096 /dev/urandom | od -An -tx1 -v | tr -d ' \n')
check "stale chunk past the size" "$TESTBIN/keys" rawput "$DATA" 1 "${inohex}00000005" "$junk"
check "stale bytes in the last chunk" "$TESTBIN/keys" rawput "$DATA" 1 "${inohex}00000002" "$junk"
check "no clean-unmount marker" "$TESTBIN/keys" rawdel "$DATA" 2 43
mount_fs
check "the trimmed file keeps its size" eq "$(stat -c %s "$MNT/crash1/trim")" 10000
head -c 8192 "$T/big" > "$T/trim.expect"
check "the bytes before the last chunk" sh -c "head -c 8192 '$MNT/crash1/trim' | cmp -s - '$T/trim.expect'"
truncate -s 30000 "$MNT/crash1/trim"
check "grown again: zeros past the old size" \
	sh -c "test \"\$(tail -c +10001 '$MNT/crash1/trim' | tr -d '\\0' | wc -c)\" -eq 0"
check "the trim pass reported its work" grep -q '^fs_trim_chunks_deleted [1-9]' "$MNT/.golite/stats"
check "unmount" umount_fs

# A second crash right after recovery, then a clean cycle.
mount_fs
echo one > "$MNT/crash1/twice"
dd if="$T/mid" of="$MNT/crash1/twice" bs=64k conv=fsync status=none
check "crash again" crash
mount_fs
check "after two crashes" cmp -s "$T/mid" "$MNT/crash1/twice"
check "after two crashes, the first round's files" cmp -s "$T/big.expect" "$MNT/crash1/big"
check "unmount" umount_fs

finish
