#!/bin/sh
# test_space.sh — a full disk never locks people out (docs/operations.md: Disk space).
# Each case puts a store on a small tmpfs of its own and fills it:
#   1. through the mount, until ENOSPC;
#   2. from outside (another file eats the space) while mounted;
#   3. from outside while unmounted (and the tools on it, unmounted);
#   4. up to -o max_size.
# Then: every unlink of half the files succeeds; the file system's free
# space grows by at least half of what they held within RECLAIM_WAIT
# seconds; new writes succeed; unmount and remount succeed; every fsynced
# file not deleted reads back byte for byte. Last, a store whose reserve is
# gone on a full disk mounts read-only, saying why.
#
#   sh tests/fs/test_space.sh BUILD
. "$(dirname "$0")/lib.sh"

G=$BUILD/golite
FILE_KB=256
RECLAIM_WAIT=20
SMALL=$T/small
mkdir -p "$SMALL"

free_bytes() { df -B1 --output=avail "$SMALL" | tail -n 1 | tr -d ' '; }
stat_of() { awk -v k="$1" '$1 == k { print $2 }' "$MNT/.golite/stats"; }

# new_small SIZE: a fresh tmpfs at SMALL holding the store DATA.
new_small() {
	if mountpoint -q "$SMALL"; then
		umount "$SMALL" || die "cannot unmount $SMALL"
	fi
	mount -t tmpfs -o "size=$1" tmpfs "$SMALL" || die "cannot mount a tmpfs of $1 at $SMALL"
	DATA=$SMALL/data
	: > "$T/sums"
}

# forget NAME: a deleted file leaves the list of sums.
forget() {
	grep -v "^$1 " "$T/sums" > "$T/sums.new"
	mv "$T/sums.new" "$T/sums"
}

# write_file NAME: FILE_KB of random bytes, fsynced; its sum goes to
# T/sums when the write succeeded. Fails as dd does.
write_file() {
	head -c $((FILE_KB * 1024)) /dev/urandom > "$T/one"
	if dd if="$T/one" of="$MNT/t/$1" bs=${FILE_KB}k conv=fsync status=none 2>"$T/dd.err"; then
		forget "$1"
		echo "$1 $(sha256sum < "$T/one" | cut -d' ' -f1)" >> "$T/sums"
		return 0
	fi
	return 1
}

# fill_mount MAX: writes files f0, f1, ... until one fails (or MAX);
# leaves their count in N.
fill_mount() {
	N=0
	while [ $N -lt "$1" ] && write_file "f$N"; do
		N=$((N + 1))
	done
	# A file whose write failed may exist, partly written: it goes.
	rm -f "$MNT/t/f$N"
}

# delete_half FROM COUNT: unlinks COUNT files from f<FROM>; all must work.
delete_half() {
	_dh_bad=0
	_dh_i=$1
	_dh_start=$(date +%s%N)
	while [ $_dh_i -lt $(($1 + $2)) ]; do
		if rm "$MNT/t/f$_dh_i" 2>>"$T/rm.err"; then
			forget "f$_dh_i"
		else
			_dh_bad=$((_dh_bad + 1))
		fi
		_dh_i=$((_dh_i + 1))
	done
	echo "$CASE: $2 unlinks took $((($(date +%s%N) - _dh_start) / 1000000)) ms"
	check "$CASE: every unlink of $2 files works ($_dh_bad failed: $(head -n1 "$T/rm.err" 2>/dev/null))" \
		test $_dh_bad -eq 0
}

# freed_within BEFORE WANT: free space reaches BEFORE + WANT bytes within
# RECLAIM_WAIT seconds; prints how long it took.
freed_within() {
	_fw_t=0
	while [ $(($(free_bytes) - $1)) -lt "$2" ] && [ $_fw_t -lt $((RECLAIM_WAIT * 10)) ]; do
		sleep 0.1
		_fw_t=$((_fw_t + 1))
	done
	_fw_got=$(($(free_bytes) - $1))
	echo "$CASE: freed $_fw_got bytes (wanted $2) $((_fw_t / 10)).$((_fw_t % 10)) s after the last unlink"
	check "$CASE: deleting frees at least $2 bytes within $RECLAIM_WAIT s (freed $_fw_got)" \
		test "$_fw_got" -ge "$2"
}

# writes_resume NAME: a new file can be written within RECLAIM_WAIT s.
writes_resume() {
	_wr_t=0
	until write_file "$1"; do
		rm -f "$MNT/t/$1"
		_wr_t=$((_wr_t + 1))
		[ $_wr_t -ge $((RECLAIM_WAIT * 4)) ] && break
		sleep 0.25
	done
	check "$CASE: new writes succeed after the deletes ($(cat "$T/dd.err"))" \
		test -f "$MNT/t/$1" -a $_wr_t -lt $((RECLAIM_WAIT * 4))
}

# all_read_back: every file in T/sums reads back byte for byte.
all_read_back() {
	_ar_bad=0
	_ar_n=0
	while read -r _ar_name _ar_sum; do
		_ar_n=$((_ar_n + 1))
		[ "$(sha256sum < "$MNT/t/$_ar_name" 2>/dev/null | cut -d' ' -f1)" = "$_ar_sum" ] ||
			_ar_bad=$((_ar_bad + 1))
	done < "$T/sums"
	check "$CASE: all $_ar_n fsynced files read back byte for byte ($_ar_bad differ)" \
		test $_ar_bad -eq 0 -a $_ar_n -gt 0
}

remount_and_verify() {
	check "$CASE: unmount" umount_fs
	mount_fs
	all_read_back
}

# ---- 1. filled through the mount ----
CASE="filled through the mount"
new_small 192m
mount_fs
mkdir "$MNT/t"
fill_mount 2000
check "$CASE: the fill ends with ENOSPC" grep -q "No space left on device" "$T/dd.err"
check "$CASE: some files went in ($N)" test $N -gt 100
check "$CASE: the stats say writes are refused" eq "$(stat_of space_state)" writes-refused
check "$CASE: and why" grep -q "^space_state_cause headroom" "$MNT/.golite/stats"
before=$(free_bytes)
half=$((N / 2))
delete_half 0 $half
freed_within "$before" $((half * FILE_KB * 1024 / 2))
writes_resume g0
check "$CASE: the stats count what reclaim gave back" test "$(stat_of space_reclaimed_bytes)" -gt 0
remount_and_verify
umount_fs

# ---- 2. filled from outside while mounted ----
CASE="filled from outside, mounted"
new_small 256m
mount_fs
mkdir "$MNT/t"
fill_mount 400
check "$CASE: 400 files went in" test $N -eq 400
dd if=/dev/zero of="$SMALL/eater" bs=1M status=none 2>/dev/null
check "$CASE: the eater filled the disk" test "$(free_bytes)" -lt 1048576
# The store sees it at its next look (a second at most); until then a
# write may still land in log space reserved earlier.
_t=0
while [ "$(stat_of space_state)" != writes-refused ] && [ $_t -lt 50 ]; do
	sleep 0.1
	_t=$((_t + 1))
done
check "$CASE: the stats say writes are refused" eq "$(stat_of space_state)" writes-refused
check "$CASE: a write fails with ENOSPC" sh -c "! dd if=/dev/zero of='$MNT/t/nope' bs=64k count=4 conv=fsync status=none 2>'$T/nope.err'"
check "$CASE: saying so" grep -q "No space left on device" "$T/nope.err"
rm -f "$MNT/t/nope"
before=$(free_bytes)
delete_half 0 200
freed_within "$before" $((200 * FILE_KB * 1024 / 2))
writes_resume g1
remount_and_verify
umount_fs

# ---- 3. filled from outside while unmounted ----
CASE="filled from outside, unmounted"
rm -f "$SMALL/eater"
mount_fs
fill_mount 400
umount_fs
dd if=/dev/zero of="$SMALL/eater" bs=1M status=none 2>/dev/null
check "$CASE: the eater filled the disk" test "$(free_bytes)" -lt 1048576
check "$CASE: golite check works" "$G" -q check "$DATA"
check "$CASE: golite ls works" sh -c "'$G' -q ls '$DATA' t | grep -qx f399"
get_matches() {
	eq "$("$G" -q get "$DATA" t "$1" | sha256sum | cut -d' ' -f1)" \
		"$(awk -v n="$1" '$1 == n { print $2 }' "$T/sums")"
}
check "$CASE: golite get works" get_matches f399
check "$CASE: golite rm works" "$G" -q rm "$DATA" t f399
forget f399
check "$CASE: the store mounts" "$GOLITEFS" "$DATA" "$MNT"
MNT_PID=$(mnt_pid)
check "$CASE: read-write" sh -c "! grep -q ' $MNT .*[ ,]ro[ ,]' /proc/mounts && test \"\$(awk '\$1 == \"space_state\" { print \$2 }' '$MNT/.golite/stats')\" != read-only"
before=$(free_bytes)
delete_half 200 199
freed_within "$before" $((199 * FILE_KB * 1024 / 2))
writes_resume g2
remount_and_verify
umount_fs

# ---- 4. max_size ----
CASE="max_size"
new_small 256m
mount_fs -o max_size=64M
mkdir "$MNT/t"
fill_mount 2000
check "$CASE: the fill ends with ENOSPC" grep -q "No space left on device" "$T/dd.err"
check "$CASE: below the limit ($N files)" test $N -gt 20 -a $((N * FILE_KB)) -lt $((64 * 1024))
size_kb=$(df -k --output=size "$MNT" | tail -n 1 | tr -d ' ')
check "$CASE: df shows the limit ($size_kb KiB)" test "$size_kb" -eq 65536
check "$CASE: and what is used of it" test "$(df -k --output=used "$MNT" | tail -n 1 | tr -d ' ')" -gt $((N * FILE_KB / 2))
check "$CASE: the file system itself is far from full" test "$(free_bytes)" -gt $((128 << 20))
used=$(stat_of space_used_bytes)
half=$((N / 2))
delete_half 0 $half
_t=0
while [ "$(stat_of space_used_bytes)" -gt $((used - half * FILE_KB * 1024 / 2)) ] && [ $_t -lt $((RECLAIM_WAIT * 10)) ]; do
	sleep 0.1
	_t=$((_t + 1))
done
check "$CASE: the store's files shrink by half of what was deleted" \
	test "$(stat_of space_used_bytes)" -le $((used - half * FILE_KB * 1024 / 2))
writes_resume g3
remount_and_verify
umount_fs

# ---- 5. no reserve left on a full disk: read-only, saying why ----
CASE="no reserve"
rm -f "$DATA/RESERVE"
dd if=/dev/zero of="$SMALL/eater" bs=1M status=none 2>/dev/null
dd if=/dev/zero of="$SMALL/eater2" bs=4k status=none 2>/dev/null
if "$GOLITEFS" "$DATA" "$MNT" 2>"$T/ro.err"; then
	MNT_PID=$(mnt_pid)
	check "$CASE: the mount says it is read-only and why" grep -q "mounting read-only" "$T/ro.err"
	check "$CASE: writes get EROFS" sh -c "! touch '$MNT/t/x' 2>'$T/x.err' && grep -q 'Read-only' '$T/x.err'"
	all_read_back
	umount_fs
else
	check "$CASE: the store mounts ($(cat "$T/ro.err"))" false
fi
rm -f "$SMALL/eater" "$SMALL/eater2"
umount "$SMALL"

finish
