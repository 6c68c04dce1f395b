#!/bin/sh
# test_control.sh — the control files and the daemon's log.
#
# /.golite/stats read again and again while a workload runs: every line is
# "name value" with a number (or one of a few words), the documented lines
# are there, counters and latency percentiles move, rates are non-zero
# while the workload runs and fall to zero once it stops.
# /.golite/events: the exact lines, in order, of creates, writes, renames
# (within and across tables), unlinks, mkdir, rmdir, attribute changes and
# hard links (a change to a linked file is a line per name);
# the real `tail -f` follows it; cat of it ends; a reader of a 16-event
# ring that falls behind gets one "missed" line and the newest 16 events,
# while writers went on with the file held open and unread.
# Logging: -o loglevel is checked; in the foreground messages (the
# engine's too) go to stderr at the chosen level; once detached, to syslog
# (a listener bound at /dev/log in a private mount namespace), while
# messages from before the detach still reach the terminal.
#
#   sh tests/fs/test_control.sh BUILD
. "$(dirname "$0")/lib.sh"

STATS=$MNT/.golite/stats
EVENTS=$MNT/.golite/events

# stat_of NAME [FILE]: the value of a stats line.
stat_of() {
	awk -v n="$1" '$1 == n { print $2; found = 1 } END { if (!found) print "missing" }' \
		"${2:-$STATS}"
}

# num_ge A B: A >= B as numbers (decimals allowed).
num_ge() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }'
}

# num_gt A B: A > B.
num_gt() {
	awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 > b + 0) }'
}

# well_formed FILE: every line is "name value", the value a number except
# for the lines whose value is a word.
well_formed() {
	awk '
	NF != 2 || $1 !~ /^[a-z][a-z0-9_]*$/ { print "bad line: " $0; bad = 1; next }
	$1 == "durability" || $1 == "memtable_kind" || $1 == "write_stall" ||
	$1 == "background_error" || $1 == "space_state" || $1 == "space_state_cause" { next }
	$2 !~ /^-?[0-9]+(\.[0-9]+)?$/ { print "not a number: " $0; bad = 1 }
	END { exit bad }' "$1" >&2
}

# ---- stats: lines ----
mount_fs
mkdir "$MNT/t"
cat "$STATS" > "$T/s0"
check "stats lines are name and number" well_formed "$T/s0"
missing=""
for n in puts gets wal_bytes wal_syncs wal_writes wal_records wal_group_mean wal_group_p50 \
	wal_group_p90 wal_group_p99 wal_max_group memtable_bytes memtable_entries \
	memtable_limit_bytes frozen_memtables block_cache_bytes block_cache_capacity \
	level0_tables level0_bytes level6_tables level6_bytes sstables sstable_bytes \
	compactions compactions_running compaction_bytes_read compaction_bytes_written \
	compaction_debt_bytes compaction_running_input_bytes compaction_running_merged_bytes \
	stall_micros write_stall \
	fs_rate_window_1s_seconds fs_rate_window_10s_seconds fs_rate_total_1s \
	fs_rate_total_10s fs_rate_read_1s fs_rate_write_1s fs_rate_fsync_1s fs_rate_create_1s \
	fs_rate_remove_1s fs_rate_rename_1s fs_rate_lookup_1s fs_rate_getattr_10s \
	fs_rate_read_bytes_1s fs_rate_write_bytes_10s \
	fs_latency_read_count fs_latency_read_p50_ns fs_latency_read_p90_ns \
	fs_latency_read_p99_ns fs_latency_read_p999_ns fs_latency_read_max_ns \
	fs_latency_write_count fs_latency_write_p99_ns fs_latency_fsync_count \
	fs_latency_fsync_max_ns fs_latency_write_10s_p50_ns fs_latency_fsync_10s_count \
	fs_events_buffer fs_events fs_events_readers fs_op_write fs_pid; do
	[ "$(stat_of $n "$T/s0")" = missing ] && missing="$missing $n"
done
check "every documented line is there (missing:$missing)" [ -z "$missing" ]
check "each name once" sh -c "[ -z \"\$(cut -d' ' -f1 '$T/s0' | sort | uniq -d)\" ]"

# ---- stats under a workload ----
# Writers with fsync, and readers, until $T/stop exists.
workload() {
	i=0
	while [ ! -e "$T/stop" ]; do
		head -c 20000 /dev/urandom > "$MNT/t/w$((i % 8))"
		dd if="$MNT/t/w$((i % 8))" of="$MNT/t/s$((i % 4))" bs=4k conv=fsync 2>/dev/null
		# O_DIRECT: past the page cache, to the daemon.
		dd if="$MNT/t/s$((i % 4))" of=/dev/null bs=4k iflag=direct 2>/dev/null
		i=$((i + 1))
	done
}
workload &
WPID=$!
# Read the stats until the workload shows in them (at most 60 reads).
n=0
while :; do
	n=$((n + 1))
	cat "$STATS" > "$T/s1"
	if num_gt "$(stat_of fs_rate_write_1s "$T/s1")" 0 &&
		num_gt "$(stat_of fs_latency_fsync_count "$T/s1")" 2 &&
		num_gt "$(stat_of fs_latency_read_count "$T/s1")" 2 &&
		num_ge "$(stat_of fs_rate_window_1s_seconds "$T/s1")" 1; then
		break
	fi
	[ $n -ge 60 ] && break
	sleep 0.5
done
check "stats while writing are well formed" well_formed "$T/s1"
check "a write rate over the last second" num_gt "$(stat_of fs_rate_write_1s "$T/s1")" 0
check "an fsync rate over 10 s" num_gt "$(stat_of fs_rate_fsync_10s "$T/s1")" 0
check "a total rate" num_gt "$(stat_of fs_rate_total_1s "$T/s1")" 0
check "bytes written per second" num_gt "$(stat_of fs_rate_write_bytes_10s "$T/s1")" 0
for k in read write fsync; do
	p50=$(stat_of fs_latency_${k}_p50_ns "$T/s1")
	p90=$(stat_of fs_latency_${k}_p90_ns "$T/s1")
	p99=$(stat_of fs_latency_${k}_p99_ns "$T/s1")
	p999=$(stat_of fs_latency_${k}_p999_ns "$T/s1")
	max=$(stat_of fs_latency_${k}_max_ns "$T/s1")
	check "$k latencies measured" num_gt "$p50" 0
	check "$k percentiles in order ($p50 $p90 $p99 $p999 $max)" \
		sh -c "[ $p50 -le $p90 ] && [ $p90 -le $p99 ] && [ $p99 -le $p999 ] && [ $p999 -le $max ]"
	check "$k latencies over 10 s counted" num_gt "$(stat_of fs_latency_${k}_10s_count "$T/s1")" 0
done
sleep 0.2
cat "$STATS" > "$T/s2"
check "write count moves" num_gt "$(stat_of fs_op_write "$T/s2")" "$(stat_of fs_op_write "$T/s1")"
check "write latency count moves" \
	num_gt "$(stat_of fs_latency_write_count "$T/s2")" "$(stat_of fs_latency_write_count "$T/s1")"
check "log bytes grow" num_gt "$(stat_of wal_bytes "$T/s2")" "$(stat_of wal_bytes "$T/s0")"
check "log writes carry records" num_ge "$(stat_of wal_group_p50 "$T/s2")" 1
check "memtable in use" num_gt "$(stat_of memtable_bytes "$T/s2")" 0
touch "$T/stop"
wait $WPID
# Once the workload stops, the 1 s rate falls to zero (at most 60 reads).
n=0
while :; do
	n=$((n + 1))
	cat "$STATS" > "$T/s3"
	[ "$(stat_of fs_rate_write_1s "$T/s3")" = 0.0 ] && break
	[ $n -ge 60 ] && break
	sleep 0.5
done
check "no writes, no write rate" eq "$(stat_of fs_rate_write_1s "$T/s3")" 0.0
check "unmount" umount_fs

# ---- events: the exact lines ----
# Without the writeback cache every write(2) reaches the daemon at once and
# the kernel sends no times of its own at close, so the lines are exact.
mount_fs -o writeback_cache=no
exec 3<"$EVENTS"
mkdir "$MNT/users"
echo hi > "$MNT/users/42"
mkdir "$MNT/archive"
mv "$MNT/users/42" "$MNT/archive/42"
mkdir -p "$MNT/users/eu/seoul"
echo x > "$MNT/users/eu/seoul/a b"
printf 'y' > "$MNT/users/back\\slash"
mv "$MNT/users/eu/seoul/a b" "$MNT/users/eu/seoul/c"
chmod 600 "$MNT/archive/42"
setfattr -n user.k -v 1 "$MNT/archive/42"
setfattr -x user.k "$MNT/archive/42"
truncate -s 1 "$MNT/archive/42"
ln -s 42 "$MNT/archive/ln"
# A second name in another table: a change to the file is a line per name
# (in the order of their back references: table id, then key).
ln "$MNT/archive/42" "$MNT/users/h"
chmod 640 "$MNT/users/h"
rm "$MNT/users/h"
rm "$MNT/users/eu/seoul/c" "$MNT/users/back\\slash"
rmdir "$MNT/users/eu/seoul"
mv "$MNT/users/eu" "$MNT/archive/eu"
rmdir "$MNT/archive/eu"
rm "$MNT/archive/42" "$MNT/archive/ln"
mv "$MNT/archive" "$MNT/old"
rmdir "$MNT/old"
cat <&3 > "$T/ev1"
exec 3<&-
cut -d' ' -f3- "$T/ev1" > "$T/ev1.ops"
cat > "$T/ev1.want" <<'EOF'
mkdir users .
create users 42
write users 42
mkdir archive .
rename users 42 archive 42
mkdir users eu
mkdir users eu/seoul
create users eu/seoul/a\x20b
write users eu/seoul/a\x20b
create users back\\slash
write users back\\slash
rename users eu/seoul/a\x20b users eu/seoul/c
chmod archive 42
setxattr archive 42 user.k
removexattr archive 42 user.k
truncate archive 42
symlink archive ln
link users h
chmod users h
chmod archive 42
unlink users h
unlink users eu/seoul/c
unlink users back\\slash
rmdir users eu/seoul
rename users eu archive eu
rmdir archive eu
unlink archive 42
unlink archive ln
rename archive . old .
rmdir old .
EOF
check "events: the exact lines in order" diff "$T/ev1.want" "$T/ev1.ops"
check "events: numbered one after another" awk '
	NR > 1 && $1 != prev + 1 { exit 1 } { prev = $1 }' "$T/ev1"
check "events: times are seconds.microseconds" awk '
	$2 !~ /^[0-9]+\.[0-9][0-9][0-9][0-9][0-9][0-9]$/ { exit 1 }' "$T/ev1"
# A key too long for one name: its path is the chain of pieces the mount
# shows, for a change through the file and through its directory alike.
hexof() { head -c "$1" /dev/zero | tr '\0' "$2" | od -An -v -tx1 | tr -d ' \n'; }
P1=$(hexof 126 a)
P3=$(hexof 48 b)
LONG="%+$P1/%+$P1/%$P3"
mkdir "$MNT/lk"
exec 3<"$EVENTS"
echo x > "$MNT/lk/$LONG"
rm "$MNT/lk/$LONG"
cat <&3 > "$T/ev4"
exec 3<&-
check "events: a long key's path, written" grep -qx "[0-9]* [0-9.]* create lk $LONG" "$T/ev4"
check "events: a long key's path, removed" grep -qx "[0-9]* [0-9.]* unlink lk $LONG" "$T/ev4"
# A new reader starts after what is there, and cat ends at the end.
mkdir "$MNT/before"
timeout 20 cat "$EVENTS" > "$T/ev2"
check "cat of the feed ends" eq "$?" 0
check "a new reader sees nothing from before its open" eq "$(wc -c < "$T/ev2")" 0
check "the feed's size grows with it" num_gt "$(stat -c %s "$EVENTS")" 0
check "unmount" umount_fs

# ---- events: tail -f, with the default writeback cache ----
mount_fs
mkdir "$MNT/tl"
timeout 60 tail -f "$EVENTS" > "$T/tail.out" 2>"$T/tail.err" &
TPID=$!
# tail has opened the feed once it shows as a reader.
n=0
while [ "$(stat_of fs_events_readers)" != 1 ] && [ $n -lt 200 ]; do
	n=$((n + 1))
	sleep 0.05
done
echo one > "$MNT/tl/one"
mkdir "$MNT/tl/dir"
mv "$MNT/tl/one" "$MNT/tl/dir/two"
# tail polls once a second: wait for the last line (at most 40 s).
n=0
while ! grep -q ' rename tl one tl dir/two$' "$T/tail.out" && [ $n -lt 400 ]; do
	n=$((n + 1))
	sleep 0.1
done
kill $TPID 2>/dev/null
wait $TPID 2>/dev/null
check "tail -f: create" grep -q ' create tl one$' "$T/tail.out"
check "tail -f: write" grep -q ' write tl one$' "$T/tail.out"
check "tail -f: mkdir" grep -q ' mkdir tl dir$' "$T/tail.out"
check "tail -f: rename" grep -q ' rename tl one tl dir/two$' "$T/tail.out"
check "tail -f: nothing from before it started" sh -c "! grep -q ' mkdir tl \\.\$' '$T/tail.out'"
check "tail -f: no complaint" eq "$(cat "$T/tail.err")" ""
check "unmount" umount_fs

# ---- events: a reader falling behind a tiny ring ----
mount_fs -o events_buffer=16
mkdir "$MNT/r"
check "events_buffer is shown" eq "$(stat_of fs_events_buffer)" 16
exec 3<"$EVENTS"
# Writers go on while the reader holds the file open and reads nothing.
i=1
while [ $i -le 40 ]; do
	mkdir "$MNT/r/d$i" || break
	i=$((i + 1))
done
check "40 changes with an unread reader open" eq "$i" 41
cat <&3 > "$T/ev3"
exec 3<&-
first=$(awk 'NR == 1 { print $1 }' "$T/ev3")
check "one missed line first" awk -v f="$first" '
	NR == 1 && !($3 == "missed" && $4 == 24 && NF == 4) { exit 1 }' "$T/ev3"
check "then the 16 newest events" eq "$(tail -n +2 "$T/ev3" | cut -d' ' -f3-)" \
	"$(i=25; while [ $i -le 40 ]; do echo "mkdir r d$i"; i=$((i + 1)); done)"
check "numbered after the missed ones" awk -v f="$first" '
	NR == 2 && $1 != f + 24 { exit 1 }' "$T/ev3"
check "exactly 17 lines" eq "$(wc -l < "$T/ev3")" 17
check "no reader left" eq "$(stat_of fs_events_readers)" 0
check "unmount" umount_fs

# ---- logging: options ----
expect_fail "loglevel=loud is refused" "loglevel=loud: use error, warn, info or debug" \
	"$GOLITEFS" -o loglevel=loud "$DATA" "$MNT"
expect_fail "events_buffer=0 is refused" "events_buffer=0: use 1.." \
	"$GOLITEFS" -o events_buffer=0 "$DATA" "$MNT"
check "the options are in --help" sh -c "'$GOLITEFS' --help | grep -q 'events_buffer=N' &&
	'$GOLITEFS' --help | grep -q 'loglevel=LEVEL'"

# ---- logging: in the foreground, to stderr ----
# A table file no manifest names makes the engine say so (info) at open.
: > "$DATA/00999999.sst"
"$GOLITEFS" -f -o loglevel=info "$DATA" "$MNT" 2>"$T/fg.err" &
FGPID=$!
n=0
while ! mountpoint -q "$MNT" && [ $n -lt 400 ]; do
	n=$((n + 1))
	sleep 0.05
done
mkdir -p "$MNT/lg"
: > "$MNT/lg/a"
# A "%+" piece (escape.h) has no attributes of its own: chmod of one is
# refused, and said at level info.
PIECE="%+$(printf '61%.0s' $(seq 126))"
chmod 700 "$MNT/lg/$PIECE" 2>/dev/null
fusermount3 -u "$MNT"
wait $FGPID
check "foreground: exit status 0" eq "$?" 0
check "foreground: the engine's message, through the daemon's log" \
	grep -q '^golitefs: info: engine: removing .*00999999.sst, which no manifest names$' "$T/fg.err"
check "foreground: a request's message" \
	grep -q '^golitefs: info: this directory stands for keys below it' "$T/fg.err"
check "foreground: the last message, at unmount" grep -q '^golitefs: info: unmounted ' "$T/fg.err"
"$GOLITEFS" -f "$DATA" "$MNT" 2>"$T/fg2.err" &
FGPID=$!
n=0
while ! mountpoint -q "$MNT" && [ $n -lt 400 ]; do
	n=$((n + 1))
	sleep 0.05
done
chmod 700 "$MNT/lg/$PIECE" 2>/dev/null
fusermount3 -u "$MNT"
wait $FGPID
check "foreground at the default level: no info messages" eq "$(cat "$T/fg2.err")" ""

# ---- logging: detached, to syslog ----
# In a private mount namespace, a tmpfs over /dev holds our /dev/log (the
# devices the daemon needs are bound back in); the listener stands for
# syslogd.
cat > "$T/syslog.sh" <<EOF
set -u
mkdir -p "$T/olddev"
mount --bind /dev "$T/olddev" || exit 1
mount -t tmpfs -o mode=0755 tmpfs /dev || exit 1
for d in null zero full random urandom fuse tty; do
	[ -e "$T/olddev/\$d" ] || continue
	: > "/dev/\$d"
	mount --bind "$T/olddev/\$d" "/dev/\$d" || exit 1
done
"$TESTBIN/loglisten" /dev/log > "$T/syslog.txt" 2>"$T/listen.err" &
LPID=\$!
n=0
while [ ! -S /dev/log ] && [ \$n -lt 400 ]; do n=\$((n + 1)); sleep 0.05; done
"$GOLITEFS" -o loglevel=info "$DATA" "$MNT" 2>"$T/detach.err" || exit 1
DPID=\$(head -n1 "$DATA/LOCK" | tr -dc 0-9)
chmod 700 "$MNT/lg/$PIECE" 2>/dev/null
fusermount3 -u "$MNT"
n=0
while kill -0 "\$DPID" 2>/dev/null && [ \$n -lt 1200 ]; do n=\$((n + 1)); sleep 0.05; done
echo "\$DPID" > "$T/syslog.pid"
kill \$LPID
EOF
if unshare -m sh "$T/syslog.sh"; then
	dpid=$(cat "$T/syslog.pid")
	check "syslog: a request's message, with the daemon's pid" \
		grep -q "golitefs\\[$dpid\\]: info: this directory stands for keys below it" "$T/syslog.txt"
	check "syslog: the unmount" grep -q "golitefs\\[$dpid\\]: info: unmounted " "$T/syslog.txt"
	check "syslog: daemon facility, info priority (<30>)" \
		grep -q "^<30>.*golitefs\\[$dpid\\]: info: unmounted " "$T/syslog.txt"
	check "before the detach: to the terminal" grep -q '^golitefs: info: mounted ' "$T/detach.err"
	check "after the detach: not to the terminal" sh -c "! grep -q 'stands for keys' '$T/detach.err'"
else
	check "a private mount namespace for the syslog test" false
fi

finish
