#!/bin/sh
# test_race.sh — rename, unlink, create and readdir racing on a small
# namespace (race.c), checked against a model at every quiescent point and
# again after an unmount and a remount. Two runs: the default mount, and
# one where the kernel caches no names or attributes (every lookup reaches
# the daemon).
#
#   sh tests/fs/test_race.sh BUILD
#
# Then a file replaced again and again under three readers (race.c,
# replace).
#
# RACE_OPS (operations per thread, default 3000; `make torture` runs
# more), RACE_THREADS (default 4), RACE_K (a quiescent check every K
# operations of each thread, default 100), RACE_REPLACE (replacements,
# default 2000), SEED (default: random, printed).
. "$(dirname "$0")/lib.sh"

PROG=$TESTBIN/race
[ -x "$PROG" ] || die "$PROG is missing: run make first"
OPS=${RACE_OPS:-3000}
THREADS=${RACE_THREADS:-4}
K=${RACE_K:-100}
REPLACE_ROUNDS=${RACE_REPLACE:-2000}
SEED=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "seed $SEED (SEED=$SEED RACE_OPS=$OPS RACE_THREADS=$THREADS RACE_K=$K to replay the same choices)"

total_ops=0
total_bad=0
total_crashes=0
n=0
for opts in "" "-o entry_timeout=0 -o attr_timeout=0 -o negative_timeout=0"; do
	n=$((n + 1))
	# shellcheck disable=SC2086
	mount_fs $opts
	mkdir -p "$MNT/r$n" || die "mkdir"
	"$PROG" run "$MNT/r$n" "$SEED" "$THREADS" "$OPS" "$K" "$T/model$n" > "$T/run$n.out" 2>&1
	st=$?
	grep -v '^BAD' "$T/run$n.out"
	grep '^BAD' "$T/run$n.out" | head -20 >&2
	check "run $n (${opts:-default options}): every outcome as the model says, listings whole" test $st -eq 0
	line=$(grep '^summary:' "$T/run$n.out")
	total_ops=$((total_ops + $(echo "$line" | sed -n 's/.* ops=\([0-9]*\).*/\1/p')))
	total_bad=$((total_bad + $(echo "$line" | sed -n 's/.* bad=\([0-9]*\).*/\1/p')))
	total_crashes=$((total_crashes + $(echo "$line" | sed -n 's/.* crashes=\([0-9]*\).*/\1/p')))
	check "unmount" umount_fs
	mount_fs
	check "run $n: after a remount, the listing is the model" "$PROG" verify "$MNT/r$n" "$T/model$n"
	check "unmount" umount_fs
done
# A file replaced (rename over it) again and again while readers open and
# read it: every read whole, and of the file that was opened (regression:
# an open landing on a file replaced after the kernel's lookup read EIO).
mount_fs
mkdir "$MNT/rep" || die "mkdir"
"$PROG" replace "$MNT/rep" "$REPLACE_ROUNDS" > "$T/replace.out" 2>&1
st=$?
grep -v '^BAD' "$T/replace.out"
grep '^BAD' "$T/replace.out" | head -20 >&2
check "a file replaced under its readers: every read whole, of the file opened" test $st -eq 0
line=$(grep '^summary:' "$T/replace.out")
total_bad=$((total_bad + $(echo "$line" | sed -n 's/.* bad=\([0-9]*\).*/\1/p')))
total_crashes=$((total_crashes + $(echo "$line" | sed -n 's/.* crashes=\([0-9]*\).*/\1/p')))
estale=$(( $(grep -h '^summary:' "$T"/run*.out "$T/replace.out" | sed -n 's/.* estale=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { printf "%.0f", s }') ))
check "unmount" umount_fs
echo "summary: race ops=$total_ops replace_rounds=$REPLACE_ROUNDS estale=$estale bad=$total_bad crashes=$total_crashes seed=$SEED"
finish
