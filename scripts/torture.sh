#!/bin/sh
# torture.sh — the long forms of the reliability tests, then a table of
# what they did and what they found:
#
#   | try | amount | data lost | crashes | time |
#
# written to standard output and to bench/results/torture.txt.
#
#   scripts/torture.sh [BUILD]          (make torture)
#
# The tries, and the knobs that size them (environment):
#   faults     the engine fault sweep (tests/unit/test_faults.c): the n-th
#              I/O call fails with EIO, ENOSPC or a short write, for every
#              n (FAULT_STEP=1)
#   crash      tests/unit/test_crash.c with CRASH_SEEDS (30) different seeds
#   powercut   tests/unit/test_powercut.c with POWERCUT_SEEDS (30) seeds
#   damage     tests/cli/test_damage_random.sh, DAMAGE_ROUNDS (1500) rounds
#   fuzz       make fuzz, FUZZ_TIME (120) seconds per target
#   stress     tests/fs/test_stress.sh, STRESS_DURATION (300) seconds
#   killrounds tests/fs/test_killrounds.sh, KILL_ROUNDS (100) rounds
#   race       tests/fs/test_race.sh, RACE_OPS (30000) operations per thread,
#              RACE_REPLACE (20000) replacements of a file under readers
# TORTURE_ONLY="crash race" runs only those.
#
# "data lost" is what the checks of each try observed: acknowledged or
# fsynced data missing or wrong, bytes never written, reads of a version
# that is not whole (a failed check of a crash, fault or power-cut suite
# counts as one). "crashes" are processes that died on their own (a
# crashing test, a signal in check/repair, a fuzzer crash, a daemon that
# went away without being killed). Every number is parsed from the runs'
# output; the logs, in the directory printed at the start, are kept when a
# try fails and removed otherwise.
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 2
case $build in /*) ;; *) build=$here/$build ;; esac
FAULT_STEP=${FAULT_STEP:-1}
CRASH_SEEDS=${CRASH_SEEDS:-30}
POWERCUT_SEEDS=${POWERCUT_SEEDS:-30}
DAMAGE_ROUNDS=${DAMAGE_ROUNDS:-1500}
FUZZ_TIME=${FUZZ_TIME:-120}
STRESS_DURATION=${STRESS_DURATION:-300}
KILL_ROUNDS=${KILL_ROUNDS:-100}
RACE_OPS=${RACE_OPS:-30000}
RACE_REPLACE=${RACE_REPLACE:-20000}
ONLY=${TORTURE_ONLY:-"faults crash powercut damage fuzz stress killrounds race"}

logs=$(mktemp -d /tmp/golite-torture.XXXXXX)
rows=$logs/rows
: >"$rows"
failed_tries=""
echo "torture: logs in $logs"
start_all=$(date +%s)

# sum KEY FILE: the sum of KEY=N over the file's summary lines.
sum() {
	grep '^summary:' "$2" | tr ' ' '\n' | sed -n "s/^$1=\([0-9]*\)\$/\1/p" |
		awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# synthesis FIELD FILE: the sum of criterion's "Failing: N" or "Crashing: N".
synthesis() {
	sed -n "s/.*Synthesis:.*$1: \([0-9]*\).*/\1/p" "$2" | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# row TRY AMOUNT LOST CRASHES SECONDS STATUS
row() {
	printf '%s|%s|%s|%s|%s\n' "$1" "$2" "$3" "$4" "$5s" >>"$rows"
	if [ "$6" -ne 0 ]; then
		failed_tries="$failed_tries $1"
		echo "torture: $1 FAILED (status $6), see $logs/$1.log"
	fi
	echo "torture: $1: $2; data lost $3; crashes $4; $5 s"
}

# seeds SUITE COUNT STEP: runs tests/test_SUITE COUNT times, seed n*STEP,
# into $logs/SUITE.log; seeds_status is 1 if any run failed.
seeds() {
	seeds_status=0
	: >"$logs/$1.log"
	_s=1
	while [ $_s -le "$2" ]; do
		GOLITE_TEST_SEED=$((_s * $3)) "$build/tests/test_$1" --jobs=2 --short-filename \
			>>"$logs/$1.log" 2>&1 || seeds_status=1
		_s=$((_s + 1))
	done
}

wants() {
	case " $ONLY " in *" $1 "*) return 0 ;; esac
	return 1
}

[ -x "$build/tests/test_faults" ] || { echo "torture: build first (make all)"; exit 2; }

if wants faults; then
	t0=$(date +%s)
	echo "== faults (GOLITE_FAULT_STEP=$FAULT_STEP)"
	GOLITE_FAULT_STEP=$FAULT_STEP "$build/tests/test_faults" --jobs=2 --short-filename \
		>"$logs/faults.log" 2>&1
	st=$?
	f=$logs/faults.log
	row faults "$(sum faults "$f") faults injected in $(sum fault_runs "$f") runs (EIO, ENOSPC, short writes)" \
		"$(( $(sum lost "$f") + $(synthesis Failing "$f") ))" "$(synthesis Crashing "$f")" \
		$(( $(date +%s) - t0 )) $st
fi

if wants crash; then
	t0=$(date +%s)
	echo "== crash ($CRASH_SEEDS seeds)"
	seeds crash "$CRASH_SEEDS" 7919
	st=$seeds_status
	f=$logs/crash.log
	row crash "$(sum crash_rounds "$f") kill -9 rounds of an engine writer ($(sum kills "$f") killed mid-run), $CRASH_SEEDS seeds" \
		"$(( $(sum lost "$f") + $(synthesis Failing "$f") ))" "$(synthesis Crashing "$f")" \
		$(( $(date +%s) - t0 )) $st
fi

if wants powercut; then
	t0=$(date +%s)
	echo "== powercut ($POWERCUT_SEEDS seeds)"
	seeds powercut "$POWERCUT_SEEDS" 104729
	st=$seeds_status
	f=$logs/powercut.log
	row powercut "$(sum powercut_rounds "$f") simulated power cuts (unsynced bytes, creations and renames lost)" \
		"$(( $(sum lost "$f") + $(synthesis Failing "$f") ))" "$(synthesis Crashing "$f")" \
		$(( $(date +%s) - t0 )) $st
fi

if wants damage; then
	t0=$(date +%s)
	# below 2^31: awk's srand (mawk) mishandles larger seeds
	seed=$(od -An -N4 -tu4 /dev/urandom | awk '{ print $1 % 2147483647 }')
	echo "== damage ($DAMAGE_ROUNDS rounds, seed $seed)"
	GOLITE_SEED=$seed GOLITE_ROUNDS=$DAMAGE_ROUNDS sh tests/cli/test_damage_random.sh "$build" \
		>"$logs/damage.log" 2>&1
	st=$?
	f=$logs/damage.log
	row damage "$(sum files_damaged "$f") files damaged in $(sum damage_rounds "$f") stores, check + repair + read back (seed $seed)" \
		"$(sum wrong "$f")" "$(sum crashes "$f")" $(( $(date +%s) - t0 )) $st
fi

if wants fuzz; then
	t0=$(date +%s)
	echo "== fuzz (${FUZZ_TIME}s per target)"
	mkdir -p build-fuzz/crashes
	before=$(ls build-fuzz/crashes | wc -l)
	make -s fuzz FUZZ_TIME="$FUZZ_TIME" >"$logs/fuzz.log" 2>&1
	st=$?
	f=$logs/fuzz.log
	execs=$(sed -n 's/.*stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$f" | awk '{ s += $1 } END { printf "%.0f\n", s }')
	targets=$(grep -c '^== fuzz_' "$f")
	crashes=$(( $(ls build-fuzz/crashes | wc -l) - before ))
	row fuzz "$execs executions of $targets libFuzzer targets, ${FUZZ_TIME} s each" "n/a" "$crashes" \
		$(( $(date +%s) - t0 )) $st
fi

if wants stress; then
	t0=$(date +%s)
	echo "== stress (${STRESS_DURATION}s)"
	DURATION=$STRESS_DURATION sh tests/fs/test_stress.sh "$build" >"$logs/stress.log" 2>&1
	st=$?
	f=$logs/stress.log
	eng=$(sed -n 's/^engine: flushes=\([0-9]*\) compactions=\([0-9]*\).*/\1 flushes, \2 compactions/p' "$f")
	row stress "$(sum seconds "$f") s, 8 writers + 8 readers: $(sum writes "$f") writes, $(sum reads "$f") reads checked ($(sum estale "$f") opens ESTALE), $(sum bytes_written "$f" | awk '{ printf "%.0f", $1 / 1048576 }') MiB written ($eng)" \
		"$(sum bad "$f")" "$(sum crashes "$f")" $(( $(date +%s) - t0 )) $st
fi

if wants killrounds; then
	t0=$(date +%s)
	echo "== killrounds ($KILL_ROUNDS rounds)"
	ROUNDS=$KILL_ROUNDS sh tests/fs/test_killrounds.sh "$build" >"$logs/killrounds.log" 2>&1
	st=$?
	f=$logs/killrounds.log
	row killrounds "$(sum kill_rounds "$f") kill -9 rounds of the daemon under 4 workers, $(sum ops "$f") operations, $(grep -c 'fsynced_bytes_checked' "$f") verifications" \
		"$(( $(sum lost "$f") + $(sum bad "$f") ))" "$(sum crashes "$f")" $(( $(date +%s) - t0 )) $st
fi

if wants race; then
	t0=$(date +%s)
	echo "== race ($RACE_OPS operations per thread)"
	RACE_OPS=$RACE_OPS RACE_REPLACE=$RACE_REPLACE sh tests/fs/test_race.sh "$build" >"$logs/race.log" 2>&1
	st=$?
	f=$logs/race.log
	row race "$(grep '^summary: race ops=' "$f" | tail -n 1 | sed -n 's/.* ops=\([0-9]*\).*/\1/p') rename/unlink/create/readdir operations, $(grep -o 'quiescent_checks=[0-9]*' "$f" | cut -d= -f2 | awk '{ s += $1 } END { printf "%.0f\n", s }') quiescent comparisons with the model, $RACE_REPLACE replacements of a file under 3 readers ($(grep '^summary: race ops=' "$f" | tail -n 1 | sed -n 's/.* estale=\([0-9]*\).*/\1/p') opens ESTALE)" \
		"$(grep '^summary: race ops=' "$f" | tail -n 1 | sed -n 's/.* bad=\([0-9]*\).*/\1/p')" \
		"$(grep '^summary: race ops=' "$f" | tail -n 1 | sed -n 's/.* crashes=\([0-9]*\).*/\1/p')" \
		$(( $(date +%s) - t0 )) $st
fi

total=$(( $(date +%s) - start_all ))
{
	echo "# make torture, $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$here" rev-parse --short HEAD 2>/dev/null), $(nproc) cores, $total s"
	echo
	echo "| try | amount | data lost | crashes | time |"
	echo "| --- | --- | --- | --- | --- |"
	awk -F'|' '{ printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5 }' "$rows"
	echo
	if [ -n "$failed_tries" ]; then
		echo "FAILED:$failed_tries (logs: $logs)"
	else
		echo "every try passed"
	fi
} >"$logs/table"
mkdir -p bench/results
cp "$logs/table" bench/results/torture.txt
echo
cat "$logs/table"
# The logs are kept for a failed try (the table names them), else removed.
if [ -n "$failed_tries" ]; then
	exit 1
fi
rm -rf "$logs"
