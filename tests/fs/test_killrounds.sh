#!/bin/sh
# test_killrounds.sh — the daemon killed with SIGKILL at random moments
# under a mixed workload, round after round on the same data directory.
#
# Each round mounts the store (durability periodic, sync or none in turn;
# every other round with a small memtable, so that kills land in flushes
# and compactions), starts WORKERS processes of killload.c (creating,
# rewriting, appending to, overwriting, replacing, renaming and unlinking
# files of 512 bytes to 3 MiB, with fsync), kills the daemon with SIGKILL
# after a random delay, clears the dead mount, remounts and has killload
# verify every file against the workers' journals: what an fsync promised
# is there byte for byte (or a version written after it), and no block
# holds bytes that were never written to that file at that offset. At the
# end: a clean unmount and `golite check` of the data directory.
#
#   sh tests/fs/test_killrounds.sh BUILD
#
# ROUNDS (default 6; `make torture` runs 100), WORKERS (default 4),
# SEED (default: random, printed; set it to replay a run).
. "$(dirname "$0")/lib.sh"

PROG=$TESTBIN/killload
[ -x "$PROG" ] || die "$PROG is missing: run make first"
ROUNDS=${ROUNDS:-6}
WORKERS=${WORKERS:-4}
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed $SEED (SEED=$SEED ROUNDS=$ROUNDS WORKERS=$WORKERS to replay)"
J=$T/journals
mkdir -p "$J"

# The kill delays and mount options of every round, drawn from the seed.
awk -v seed="$SEED" -v rounds="$ROUNDS" 'BEGIN {
	srand(seed % 2147483647)  # mawk mishandles seeds past 2^31
	split("periodic sync none", modes, " ")
	for (r = 1; r <= rounds; r++)
		printf "%d %s %.2f %d\n", r, modes[1 + (r - 1) % 3], 0.2 + rand() * 2.8, (r % 2 == 0)
}' > "$T/plan"

crash() {
	kill -KILL "$MNT_PID" || { echo "  the daemon $MNT_PID was already gone" >&2; return 1; }
	wait_exit "$MNT_PID"
	fusermount3 -u "$MNT" 2>/dev/null || umount -l "$MNT"
	MNT_PID=""
	! mountpoint -q "$MNT"
}

total_ops=0
total_lost=0
total_bad=0
crashes=0
rounds_done=0
while read -r round mode delay small; do
	opts="-o durability=$mode"
	[ "$small" -eq 1 ] && opts="$opts -o memtable_size=512K"
	# shellcheck disable=SC2086
	mount_fs $opts
	w=0
	pids=""
	while [ $w -lt "$WORKERS" ]; do
		"$PROG" work "$MNT" $w "$round" "$SEED" "$J/base.$w" "$J/journal.$w" \
			> "$J/work.$w.out" 2>&1 &
		pids="$pids $!"
		w=$((w + 1))
	done
	sleep "$delay"
	if ! crash; then
		crashes=$((crashes + 1))
		check "round $round: the daemon was alive until killed" false
		kill $pids 2>/dev/null
	fi
	wstatus=0
	for p in $pids; do
		wait "$p" || wstatus=1
	done
	check "round $round: every worker stopped only because the mount went away" test $wstatus -eq 0
	ops=$(cat "$J"/work.*.out | sed -n 's/.* ops=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { printf "%.0f\n", s }')
	fsyncs=$(cat "$J"/work.*.out | sed -n 's/.* fsyncs=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { printf "%.0f\n", s }')
	[ $wstatus -eq 0 ] || cat "$J"/work.*.out >&2
	total_ops=$((total_ops + ops))
	# the store as the crash left it, kept if this round fails
	rm -rf "$T/crashed"
	cp -a "$DATA" "$T/crashed"

	# shellcheck disable=SC2086
	mount_fs $opts
	w=0
	vstatus=0
	: > "$T/verify.out"
	while [ $w -lt "$WORKERS" ]; do
		"$PROG" verify "$MNT" $w "$J/base.$w" "$J/journal.$w" "$J/newbase.$w" \
			>> "$T/verify.out" 2>&1 || vstatus=1
		w=$((w + 1))
	done
	# what was found is the next round's start (kept apart on a failure)
	w=0
	while [ $vstatus -eq 0 ] && [ $w -lt "$WORKERS" ]; do
		mv "$J/newbase.$w" "$J/base.$w"
		w=$((w + 1))
	done
	lost=$(sed -n 's/.* lost=\([0-9]*\).*/\1/p' "$T/verify.out" | awk '{ s += $1 } END { printf "%.0f\n", s }')
	bad=$(sed -n 's/.* bad=\([0-9]*\).*/\1/p' "$T/verify.out" | awk '{ s += $1 } END { printf "%.0f\n", s }')
	files=$(sed -n 's/.* files=\([0-9]*\).*/\1/p' "$T/verify.out" | awk '{ s += $1 } END { printf "%.0f\n", s }')
	pbytes=$(sed -n 's/.* promised_bytes=\([0-9]*\).*/\1/p' "$T/verify.out" | awk '{ s += $1 } END { printf "%.0f\n", s }')
	total_lost=$((total_lost + lost))
	total_bad=$((total_bad + bad))
	check "round $round: every fsynced file is there, nothing never written" test $vstatus -eq 0
	[ $vstatus -eq 0 ] || grep -v '^w[0-9]*: files=' "$T/verify.out" | head -40 >&2
	echo "round $round/$ROUNDS: $mode$( [ "$small" -eq 1 ] && echo ', memtable 512K'), killed after ${delay}s: ops=$ops fsyncs=$fsyncs; after remount files=$files fsynced_bytes_checked=$pbytes lost=$lost bad=$bad"
	rounds_done=$round
	check "round $round: unmount" umount_fs
	if [ $vstatus -ne 0 ] || [ $wstatus -ne 0 ]; then
		# keep the evidence: journals, bases, the data directory
		keep=$(mktemp -d /tmp/golite-killrounds-failed.XXXXXX)
		cp -a "$J" "$DATA" "$T/crashed" "$keep/"
		cp "$T/verify.out" "$T/plan" "$keep/"
		echo "stopping after round $round (seed $SEED); journals and data kept in $keep" >&2
		break
	fi
done < "$T/plan"

check "golite check of the data directory" "$BUILD/golite" -q check "$DATA"
echo "summary: kill_rounds=$rounds_done ops=$total_ops lost=$total_lost bad=$total_bad crashes=$crashes seed=$SEED"
finish
