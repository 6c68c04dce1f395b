#!/bin/sh
# golite snapshot ls|create|drop, and get/ls --snapshot: a named snapshot
# reads the store as it was (overwritten and deleted keys, a table dropped
# and one created after it) across reopen and compaction, `dump` and
# `check` show it, a checkpoint (`backup`) carries it, and the exit codes
# of bad names, duplicates and missing snapshots.
#
#   sh tests/cli/test_snapshot.sh BUILD
#
# Prints one line per failed assertion and "N passed, N failed"; exit 0
# only if every assertion passed.
set -u
TEST_NAME=snap
. "$(dirname "$0")/lib.sh"

s=$tmp/store
run 0 "create" "$G" -q create "$s" t gone
run 0 "put" "$G" -q put --value one "$s" t k
run 0 "put in gone" "$G" -q put --value g "$s" gone k
seq 1 3000 | awk '{ printf "key%05d\tfirst-%d\n", $1, $1 }' >"$tmp/load"
run 0 "load" "$G" -q load "$s" t <"$tmp/load"
run 0 "snapshot create" "$G" -q snapshot create "$s" before
seq1=$(cat "$tmp/out")
case $seq1 in '' | *[!0-9]*) fail "create prints a sequence, got \"$seq1\"" ;; *) pass ;; esac
run 2 "a second one of the same name" "$G" -q snapshot create "$s" before
has "$tmp/err" "exists" "the message says it exists"
run 2 "a name with a slash" "$G" -q snapshot create "$s" a/b
run 2 "the name .." "$G" -q snapshot create "$s" ..
run 2 "an unknown action" "$G" -q snapshot list "$s"

# Change everything after it.
run 0 "overwrite" "$G" -q put --value two "$s" t k
seq 1 3000 | awk '{ printf "key%05d\tsecond-%d\n", $1, $1 }' >"$tmp/load2"
run 0 "load again" "$G" -q load "$s" t <"$tmp/load2"
run 0 "rm" "$G" -q rm "$s" t key00007
run 0 "drop a table" "$G" -q drop "$s" gone
run 0 "create a table" "$G" -q create "$s" later
run 0 "compact" "$G" -q compact "$s"

check_before() {
	run 0 "get now ($1)" "$G" -q get "$s" t k
	out two "the newest value ($1)"
	run 0 "get --snapshot ($1)" "$G" -q get --snapshot before "$s" t k
	out one "the value at the snapshot ($1)"
	run 0 "get -s of a key removed since ($1)" "$G" -q get -s before "$s" t key00007
	out first-7 "its value at the snapshot ($1)"
	run 1 "get of it now ($1)" "$G" -q get "$s" t key00007
	run 0 "get in the dropped table at the snapshot ($1)" "$G" -q get -s before "$s" gone k
	out g "the dropped table's value ($1)"
	run 1 "the dropped table now ($1)" "$G" -q get "$s" gone k
	run 0 "ls --snapshot tables ($1)" "$G" -q ls --snapshot before "$s"
	out "$(printf 'gone\nt\n')" "the tables at the snapshot ($1)"
	run 0 "ls tables ($1)" "$G" -q ls "$s"
	out "$(printf 'later\nt\n')" "the tables now ($1)"
	run 1 "ls --snapshot of a table made since ($1)" "$G" -q ls --snapshot before "$s" later
	run 0 "ls -v --snapshot ($1)" "$G" -q ls -v --snapshot before "$s" t key0299
	out "$(seq 2990 2999 | awk '{ printf "key%05d\tfirst-%d\n", $1, $1 }')" "the values at the snapshot ($1)"
}
check_before "before reopen"
run 0 "snapshot ls" "$G" -q snapshot ls "$s"
has "$tmp/out" "$(printf '^%s\t[0-9-]*T[0-9:]*Z\tbefore$' "$seq1")" "ls shows sequence, time and name"
run 0 "check" "$G" -q check -q "$s"
run 0 "dump the MANIFEST" "$G" -q dump "$s/MANIFEST"
has "$tmp/out" "^snapshot seq $seq1 .* name before$" "dump shows it"
run 0 "stats" "$G" -q stats "$s"
has "$tmp/out" "^snapshots 1$" "stats counts it"
has "$tmp/out" "^snapshot_oldest_sequence $seq1$" "stats gives its sequence"

# A backup carries it.
run 0 "backup" "$G" -q backup "$s" "$tmp/bak"
run 0 "snapshot ls of the backup" "$G" -q snapshot ls "$tmp/bak"
has "$tmp/out" "before$" "the backup holds it"
run 0 "get -s in the backup" "$G" -q get -s before "$tmp/bak" t k
out one "the backup reads it"

run 1 "get --snapshot of a missing one" "$G" -q get --snapshot nope "$s" t k
run 1 "drop a missing one" "$G" -q snapshot drop "$s" nope
run 0 "drop" "$G" -q snapshot drop "$s" before
run 0 "snapshot ls after the drop" "$G" -q snapshot ls "$s"
out "" "none left"
run 0 "compact after the drop" "$G" -q compact "$s"
run 0 "check after the drop" "$G" -q check -q "$s"
run 1 "get -s of the dropped one" "$G" -q get -s before "$s" t k

finish
