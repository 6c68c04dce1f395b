#!/bin/sh
# Random damage, with a fixed seed: each round copies a store with tables
# in two levels and a log, damages one to three of its files (bytes
# overwritten, a file truncated or removed), and then checks that
#   - `golite check` runs to the end (exit 0 or 1, never a crash),
#   - `golite repair` succeeds, after which `check` is clean,
#   - the store opens, and every key it shows has the value written.
#
#   sh tests/cli/test_damage_random.sh BUILD
#
# GOLITE_SEED and GOLITE_ROUNDS change the seed (printed) and the number of
# rounds; a failure reproduces from the seed.
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")/../.." && pwd)
case $build in /*) ;; *) build=$here/$build ;; esac
G=$build/golite
seed=${GOLITE_SEED:-20260112}
rounds=${GOLITE_ROUNDS:-12}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/golite-damage.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
	failed=$((failed + 1))
	printf 'FAIL (seed %s, round %s): %s\n' "$seed" "$round" "$*"
}
echo "seed $seed, $rounds rounds"
damaged=0   # damage steps applied (a file flipped, truncated or removed)
wrong=0     # rounds where a key showed a value never written
crashes=0   # check or repair killed by a signal

base=$tmp/base
seq 1 12000 | awk '{ printf "k%05d\tvalue %d of the damage test, long enough to fill blocks\n", $1, $1 }' \
	>"$tmp/data"
head -n 10000 "$tmp/data" | "$G" -q -o memtable_size=64K load -c "$base" t 2>/dev/null
tail -n 2000 "$tmp/data" | "$G" -q -o memtable_size=4M load -b 4K "$base" t 2>/dev/null
"$G" -q ls -v "$base" t >"$tmp/base.kv" || { echo "cannot make the base store"; exit 1; }

# The damage plan of every round, drawn once from the seed: lines of
# "round kind pick offset_fraction length".
awk -v seed="$seed" -v rounds="$rounds" 'BEGIN {
	srand(seed)
	for (r = 1; r <= rounds; r++) {
		n = 1 + int(rand() * 3)
		for (j = 0; j < n; j++) {
			x = rand()
			kind = x < 0.6 ? "flip" : x < 0.85 ? "truncate" : "remove"
			printf "%d %s %d %.6f %d\n", r, kind, int(rand() * 1000), rand(), 1 + int(rand() * 16)
		}
	}
}' >"$tmp/plan"

round=1
while [ "$round" -le "$rounds" ]; do
	d=$tmp/r$round
	rm -rf "$d"
	cp -a "$base" "$d"
	ls "$d"/*.sst "$d"/*.wal "$d/MANIFEST" >"$tmp/files"
	nfiles=$(wc -l <"$tmp/files")
	what=""
	awk -v r="$round" '$1 == r' "$tmp/plan" >"$tmp/steps"
	while read -r _ kind pick frac len; do
		f=$(sed -n "$((pick % nfiles + 1))p" "$tmp/files")
		[ -e "$f" ] || continue
		size=$(wc -c <"$f" | tr -d ' ')
		off=$(awk -v s="$size" -v f="$frac" 'BEGIN { printf "%d", s * f }')
		case $kind in
		flip)
			head -c "$len" /dev/zero | tr '\0' '\245' |
				dd of="$f" bs=1 seek="$off" conv=notrunc 2>/dev/null
			what="$what flip $(basename "$f")@$off+$len" ;;
		truncate)
			truncate -s "$off" "$f"
			what="$what truncate $(basename "$f")@$off" ;;
		remove)
			rm -f "$f"
			what="$what remove $(basename "$f")" ;;
		esac
		damaged=$((damaged + 1))
	done <"$tmp/steps"

	"$G" -q check "$d" >"$tmp/check.out" 2>&1
	st=$?
	[ "$st" -ge 128 ] && crashes=$((crashes + 1))
	if [ "$st" -le 1 ]; then pass; else fail "check exited $st ($what): $(tail -n 3 "$tmp/check.out")"; fi
	"$G" -q repair "$d" >"$tmp/repair.out" 2>&1
	st=$?
	[ "$st" -ge 128 ] && crashes=$((crashes + 1))
	if [ "$st" -eq 0 ]; then
		pass
	else
		fail "repair exited $st ($what): $(tail -n 5 "$tmp/repair.out")"
	fi
	if "$G" -q check -q "$d" >"$tmp/check.out" 2>&1; then
		pass
	else
		fail "check after repair ($what): $(head -n 5 "$tmp/check.out")"
	fi
	# The table's name may have been lost with the catalog: then its keys
	# are in recovered-16.
	table=t
	"$G" -q tables "$d" >"$tmp/tables" 2>&1 || fail "the repaired store does not open ($what): $(cat "$tmp/tables")"
	grep -qx t "$tmp/tables" || table=recovered-16
	if grep -qx "$table" "$tmp/tables"; then
		"$G" -q ls -v "$d" "$table" >"$tmp/after.kv" 2>&1
		bad=$(comm -13 "$tmp/base.kv" "$tmp/after.kv" | head -n 2)
		if [ -z "$bad" ]; then pass; else wrong=$((wrong + 1)); fail "keys with values never written ($what): $bad"; fi
	else
		pass   # every key of the table was in the damaged files
	fi
	round=$((round + 1))
done

echo "summary: damage_rounds=$rounds files_damaged=$damaged wrong=$wrong crashes=$crashes failed=$failed seed=$seed"
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
