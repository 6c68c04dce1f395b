#!/bin/sh
# The golite command against stores this test makes: every subcommand and
# its exit codes, key escaping, binary values, and damaged stores — bytes
# flipped in a log segment before its tail, in a table block, in the index
# and in the MANIFEST; truncated files; a table file the manifest names
# removed — where `check` must name file and offset and exit 1, and
# `repair` must leave a store that opens, checks clean, and holds every key
# that was not in the damaged part.
#
#   sh tests/cli/test_golite.sh BUILD
#
# Prints one line per failed assertion and "N passed, N failed"; exit 0
# only if every assertion passed.
set -u

TEST_NAME=cli
. "$(dirname "$0")/lib.sh"
cleanup_extra() {
	if [ -d "$tmp/mnt" ] && command -v fusermount3 >/dev/null 2>&1; then
		fusermount3 -u -z "$tmp/mnt" 2>/dev/null
	fi
}

# flip FILE OFFSET: overwrites 4 bytes at OFFSET with their complement-ish.
flip() {
	printf '\377\376\375\374' | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

size_of() { wc -c <"$1" | tr -d ' '; }

# A store with tables in two levels and a log holding the newest keys.
# Keys key000001.. with values that name them; 64 KiB memtables.
N=20000
base=$tmp/base
seq 1 $N | awk '{ printf "key%06d\tvalue-%d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n", $1, $1 }' \
	>"$tmp/data"
N1=18000
head -n $N1 "$tmp/data" >"$tmp/data1"
tail -n +$((N1 + 1)) "$tmp/data" >"$tmp/data2"
run 0 "load" "$G" -q -o memtable_size=64K load -c "$base" t <"$tmp/data1"
has "$tmp/err" "loaded $N1 keys" "load reports"
# The rest in small batches that stay in one log segment: many records
# (left in the log at close, as after a crash). Synced one by one, so that
# damage among them is damage, not a torn tail (see engine/wal_format.h).
run 0 "load in small batches" "$G" -q -o memtable_size=4M,flush_on_close=0,durability=sync load -b 8K "$base" t <"$tmp/data2"
"$G" ls -v "$base" t >"$tmp/base.kv"
same "$tmp/data" "$tmp/base.kv" "ls -v shows what load wrote"
nsst=$(ls "$base"/*.sst 2>/dev/null | wc -l)
if [ "$nsst" -ge 2 ]; then pass; else fail "the base store has $nsst tables, want 2 or more"; fi
wal=$(ls "$base"/*.wal | tail -n 1)
"$G" dump "$wal" >"$tmp/waldump"
nrec=$(grep -c '^@' "$tmp/waldump")
if [ "$nrec" -ge 10 ]; then pass; else fail "the last log segment has $nrec records, want 10 or more"; fi
# The table holding the catalog (table id 0 sorts first), and the largest
# of the others.
cat_table=
big=
for f in $(ls -S "$base"/*.sst); do
	if "$G" dump "$f" | grep -q '^smallest: 0/'; then
		cat_table=$f
	elif [ -z "$big" ]; then
		big=$f
	fi
done
if [ -n "$cat_table" ] && [ -n "$big" ]; then pass; else fail "base store: catalog table '$cat_table', other '$big'"; fi

# fresh NAME: a copy of the base store.
fresh() {
	rm -rf "$tmp/$1"
	cp -a "$base" "$tmp/$1"
	d=$tmp/$1
}

# after_repair DESC DIR LOSTKEYS: the store opens, checks clean, and holds
# exactly the base keys minus some of those listed in LOSTKEYS (a file of
# keys, or /dev/null), every value intact.
after_repair() {
	run 0 "$1: check after repair" "$G" -q check -q "$2"
	"$G" -q ls -v "$2" t >"$tmp/after.kv" 2>"$tmp/err"
	if [ $? -ne 0 ]; then
		fail "$1: the repaired store does not open: $(cat "$tmp/err")"
		return
	fi
	if [ -n "$(comm -13 "$tmp/base.kv" "$tmp/after.kv")" ]; then
		fail "$1: keys or values that were not written: $(comm -13 "$tmp/base.kv" "$tmp/after.kv" | head -3)"
	else
		pass
	fi
	comm -23 "$tmp/base.kv" "$tmp/after.kv" | cut -f1 >"$tmp/missing"
	sort "$3" >"$tmp/lostkeys"
	extra=$(comm -23 "$tmp/missing" "$tmp/lostkeys" | head -3)
	if [ -z "$extra" ]; then pass; else fail "$1: undamaged keys lost: $extra"; fi
}

# ---- help and usage --------------------------------------------------------

run 0 "--help" "$G" --help
has "$tmp/out" "Commands:" "--help lists commands"
run 0 "--version" "$G" --version
for c in get put rm ls load tables create drop stats check compact repair dump; do
	run 0 "$c --help" "$G" "$c" --help
	has "$tmp/out" "Usage: golite $c" "$c --help shows its usage"
	run 0 "help $c" "$G" help "$c"
done
run 2 "unknown command" "$G" frobnicate
run 2 "missing operands" "$G" get "$tmp/nowhere"
run 2 "unknown option" "$G" get --bogus a b c
run 2 "bad -o" "$G" -o memtable_size=lots ls "$base"

# ---- keys and values -------------------------------------------------------

s=$tmp/kv
run 2 "get on a missing store" "$G" get "$s" t k
has "$tmp/err" "no store" "a missing store is named"
run 2 "put without -c on a missing store" "$G" put --value x "$s" t k
run 0 "create" "$G" create "$s" users
run 2 "create an existing table" "$G" create "$s" users
run 0 "create -p" "$G" create -p "$s" users other
run 0 "put --value" "$G" put --value '{"name":"kim"}' "$s" users 42
run 0 "get" "$G" get "$s" users 42
printf '{"name":"kim"}' >"$tmp/want"
same "$tmp/out" "$tmp/want" "get prints the value raw, without a newline"
run 1 "get a missing key" "$G" get "$s" users 43
run 1 "get from a missing table" "$G" get "$s" nosuch 42
run 2 "put to a missing table" "$G" put --value x "$s" nosuch 1
run 0 "put -c creates the table" "$G" put -c --value x "$s" made 1
run 0 "put --ttl" "$G" put --ttl 3600 --value t "$s" users ttlkey
run 0 "ttl" "$G" ttl "$s" users ttlkey
has "$tmp/out" '^36[0-9][0-9]$' "ttl prints the seconds left"
run 0 "ttl -m" "$G" ttl -m "$s" users ttlkey
has "$tmp/out" '^3[0-9]\{6\}$' "ttl -m prints milliseconds"
run 0 "ls -l" "$G" ls -l "$s" users ttlkey
has "$tmp/out" '^value (expires in 36[0-9][0-9]s)	1	ttlkey$' "ls -l shows the time left"
run 0 "ttl of a key without one" "$G" ttl "$s" users 42
has "$tmp/out" '^-1$' "ttl -1"
run 1 "ttl of a missing key" "$G" ttl "$s" users nope
run 1 "ttl in a missing table" "$G" ttl "$s" nope k
run 2 "put --ttl not a number" "$G" put --ttl soon --value v "$s" users bad
has "$tmp/err" "time to live" "put --ttl says why"
run 2 "put --ttl negative" "$G" put --ttl -1 --value v "$s" users bad
run 2 "put --ttl zero" "$G" put --ttl 0 --value v "$s" users bad
run 2 "put --ttl too large" "$G" put --ttl 3155760001 --value v "$s" users bad
run 1 "bad --ttl wrote nothing" "$G" get "$s" users bad
run 0 "put without --ttl clears it" "$G" put --value u "$s" users ttlkey
run 0 "ttl after" "$G" ttl "$s" users ttlkey
has "$tmp/out" '^-1$' "cleared"
printf 'a\000b\377\001\n' >"$tmp/bin"
run 0 "put from stdin" sh -c '"$1" put "$2" users bin <"$3"' sh "$G" "$s" "$tmp/bin"
run 0 "get binary" "$G" get "$s" users bin
same "$tmp/out" "$tmp/bin" "binary values round-trip"
: >"$tmp/empty"
run 0 "put an empty value" sh -c '"$1" put "$2" users empty <"$3"' sh "$G" "$s" "$tmp/empty"
run 0 "get an empty value" "$G" get "$s" users empty
same "$tmp/out" "$tmp/empty" "empty value"

# A key with a tab, a newline, a control byte, a backslash and UTF-8.
key=$(printf 'k\tx\n\001\\\303\251')
run 0 "put an odd key" "$G" put --value odd "$s" users "$key"
run 0 "ls" "$G" ls "$s" users
has "$tmp/out" '^k\\tx\\n\\x01\\\\é$' "ls escapes the odd key"
line=$(grep '^k' "$tmp/out")
run 0 "get -e" "$G" get -e "$s" users "$line"
printf odd >"$tmp/want"
same "$tmp/out" "$tmp/want" "get -e finds the key ls printed"
run 2 "get -e with a bad escape" "$G" get -e "$s" users 'a\q'
run 0 "ls -0" "$G" ls -0 "$s" users
if tr '\0' '\n' <"$tmp/out" | grep -q '^bin$'; then pass; else fail "ls -0 prints raw keys"; fi
run 0 "ls -l" "$G" ls -l "$s" users
has "$tmp/out" "$(printf '^value\t14\t42$')" "ls -l shows kind and size"
run 0 "ls prefix" "$G" ls "$s" users b
if [ "$(cat "$tmp/out")" = bin ]; then pass; else fail "ls with a prefix: $(cat "$tmp/out")"; fi
run 1 "ls a missing table" "$G" ls "$s" nosuch
run 0 "ls tables" "$G" ls "$s"
printf 'made\nother\nusers\n' >"$tmp/want"
same "$tmp/out" "$tmp/want" "ls without a table lists tables"
run 0 "tables" "$G" tables "$s"
same "$tmp/out" "$tmp/want" "tables"
run 0 "rm" "$G" rm "$s" users 42
run 1 "get a removed key" "$G" get "$s" users 42
run 1 "rm a missing key" "$G" rm "$s" users 42
run 0 "rm -f a missing key" "$G" rm -f "$s" users 42
run 0 "rm -e" "$G" rm -e "$s" users "$line"
run 1 "rm in a missing table" "$G" rm "$s" nosuch 1
run 2 "drop --if-empty of a table with keys" "$G" drop --if-empty "$s" users
run 0 "drop" "$G" drop "$s" other
run 1 "drop a missing table" "$G" drop "$s" other
"$G" ls -v "$s" users >"$tmp/a"
run 0 "ls -v, then load, round-trips" sh -c '"$1" load -c "$2" copy <"$3"' sh "$G" "$s" "$tmp/a"
"$G" ls -v "$s" copy >"$tmp/b"
same "$tmp/a" "$tmp/b" "a table copied through ls -v and load"
printf 'no tab here\n' >"$tmp/badload"
run 2 "load a malformed line" sh -c '"$1" load "$2" users <"$3"' sh "$G" "$s" "$tmp/badload"
has "$tmp/err" "line 1" "load names the bad line"

# ---- the store's figures, check, compact, dump ------------------------------

run 0 "stats" "$G" stats "$base"
has "$tmp/out" "^level0_tables " "stats has the engine's figures"
has "$tmp/out" "^space_amplification " "stats shows amplification"
has "$tmp/out" '^L[0-6]  [0-9]*\.sst  ' "stats lists tables from the manifest"
run 0 "check a clean store" "$G" check "$base"
has "$tmp/out" "clean" "check says clean"
run 0 "check one table" "$G" check "$big"
run 0 "check one log segment" "$G" check "$wal"
run 0 "check the MANIFEST alone" "$G" check "$base/MANIFEST"
run 0 "dump a log segment" "$G" dump "$wal"
has "$tmp/out" '^@[0-9]*  seq [0-9]*  [0-9]* ops' "dump decodes log records"
has "$tmp/out" 'put    @[0-9]* t16 "key' "dump decodes batch entries"
run 0 "dump a table" "$G" dump "$big"
has "$tmp/out" "^index: " "dump shows a table's index"
run 0 "dump --hex" "$G" dump --hex "$big"
has "$tmp/out" '= 76616c75652d' "dump --hex prints values in hex"
run 0 "dump the MANIFEST" "$G" dump "$base/MANIFEST"
has "$tmp/out" "^log_number " "dump shows the manifest"
run 2 "dump something else" "$G" dump "$base/STORE"

fresh compacted
run 0 "compact" "$G" -q compact "$d"
has "$tmp/out" "^compacted: " "compact reports"
run 0 "check after compact" "$G" check -q "$d"
"$G" -q ls -v "$d" t >"$tmp/c.kv"
same "$tmp/base.kv" "$tmp/c.kv" "compaction keeps every key"
run 1 "compact a missing table" "$G" -q compact "$d" nosuch
run 0 "repair a clean store" "$G" -q repair "$d"
has "$tmp/out" "nothing to repair" "repair leaves a clean store alone"
if [ -d "$d/lost" ]; then fail "repair of a clean store made lost/"; else pass; fi

# ---- a store held by a running process ------------------------------------

fresh locked
printf '4242\n' >"$d/LOCK"
flock "$d/LOCK" sleep 3 &
holder=$!
sleep 0.3
for c in "get $d t key000001" "ls $d t" "stats $d" "check $d" "repair $d" "compact $d"; do
	# shellcheck disable=SC2086
	run 2 "$c on a held store" "$G" -q $c
	has "$tmp/err" "in use by process 4242" "$c names the holder"
done
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

# ---- damaged stores ---------------------------------------------------------

md5_of() { (cd "$1" && find . -type f | sort | xargs md5sum); }

# 1. A log record before the tail.
fresh walflip
roff=$(grep '^@' "$tmp/waldump" | sed -n "$((nrec / 2))p" | sed 's/^@\([0-9]*\) .*/\1/')
awk -v off="$roff" '/^@/ { on = (substr($1, 2) == off) } on && /^  put/ { print $4 }' \
	"$tmp/waldump" | tr -d '"' >"$tmp/lost"
flip "$d/$(basename "$wal")" $((roff + 20))
md5_of "$d" >"$tmp/md5.before"
run 1 "check a damaged log" "$G" -q check "$d"
has "$tmp/out" "$(basename "$wal"):$roff: problem: damaged record" "check names the log file and offset"
md5_of "$d" >"$tmp/md5.after"
same "$tmp/md5.before" "$tmp/md5.after" "check changes nothing"
run 2 "the damaged store does not open" "$G" -q get "$d" t key000001
has "$tmp/err" "golite repair" "the open error points at repair"
run 0 "repair a damaged log" "$G" -q repair "$d"
has "$tmp/out" "$(basename "$wal"):$roff: lost: dropped" "repair names what it dropped"
has "$tmp/out" "kept in .*lost/" "repair says where the old files are"
after_repair "log record" "$d" "$tmp/lost"
if ls "$d"/lost/*/"$(basename "$wal")" >/dev/null 2>&1; then pass; else fail "the damaged segment is not in lost/"; fi

# 2. A data block of a table.
fresh blockflip
t=$d/$(basename "$big")
"$G" dump "$t" >"$tmp/tdump"
blk=$(grep -c '^  block ' "$tmp/tdump")
bi=$((blk / 2))
boff=$(awk -v i="$bi" '$1 == "block" && $2 == i { print substr($3, 2) }' "$tmp/tdump")
lo=$(awk -v i="$((bi - 1))" '$1 == "block" && $2 == i { print $6 }' "$tmp/tdump" | sed 's/^[0-9]*\/"\(.*\)"$/\1/')
hi=$(awk -v i="$bi" '$1 == "block" && $2 == i { print $6 }' "$tmp/tdump" | sed 's/^[0-9]*\/"\(.*\)"$/\1/')
cut -f1 "$tmp/base.kv" | awk -v lo="$lo" -v hi="$hi" '$0 > lo && $0 <= hi' >"$tmp/lost"
flip "$t" $((boff + 100))
run 1 "check a damaged block" "$G" -q check "$d"
has "$tmp/out" "$(basename "$t"):$boff: problem: data block .*checksum mismatch" "check names the table and block offset"
run 0 "repair a damaged block" "$G" -q repair "$d"
has "$tmp/out" "salvaged" "repair salvages the table"
after_repair "table block" "$d" "$tmp/lost"
lostn=$(comm -23 "$tmp/base.kv" "$tmp/after.kv" | wc -l)
if [ "$lostn" -eq "$(wc -l <"$tmp/lost")" ]; then pass; else fail "block: lost $lostn keys, the block held $(wc -l <"$tmp/lost")"; fi

# 3. The index block of a table (its data blocks are found by checksum).
fresh indexflip
t=$d/$(basename "$big")
flip "$t" $(($(size_of "$t") - 100))
run 1 "check a damaged index" "$G" -q check "$d"
has "$tmp/out" "$(basename "$t"):[0-9]*: problem: " "check names the table"
run 0 "repair a damaged index" "$G" -q repair "$d"
after_repair "index block" "$d" /dev/null

# 4. The MANIFEST.
fresh manifestflip
flip "$d/MANIFEST" $(($(size_of "$d/MANIFEST") / 2))
run 1 "check a damaged MANIFEST" "$G" -q check "$d"
has "$tmp/out" "MANIFEST:[0-9]*: problem: damaged edit" "check names the manifest offset"
run 2 "a store with a damaged MANIFEST does not open" "$G" -q ls "$d" t
run 0 "repair a damaged MANIFEST" "$G" -q repair "$d"
has "$tmp/out" "MANIFEST: fixed: rebuilt" "repair rebuilds the manifest"
after_repair "manifest" "$d" /dev/null

fresh manifestgone
rm "$d/MANIFEST"
run 1 "check without a MANIFEST" "$G" -q check "$d"
has "$tmp/out" "MANIFEST: problem: missing" "check names the missing manifest"
run 0 "repair without a MANIFEST" "$G" -q repair "$d"
after_repair "manifest removed" "$d" /dev/null

# 5. A truncated table.
fresh truncated
t=$d/$(basename "$big")
"$G" dump "$t" | sed -n 's/^  [0-9]*\/"\(key[0-9]*\)" .*/\1/p' >"$tmp/lost"
truncate -s $(($(size_of "$t") / 2)) "$t"
run 1 "check a truncated table" "$G" -q check "$d"
has "$tmp/out" "$(basename "$t"):[0-9]*: problem: footer" "check names the truncated table"
run 0 "repair a truncated table" "$G" -q repair "$d"
after_repair "truncated table" "$d" "$tmp/lost"

# 6. A table the manifest names, removed.
fresh removed
t=$d/$(basename "$big")
"$G" dump "$t" | sed -n 's/^  [0-9]*\/"\(key[0-9]*\)" .*/\1/p' >"$tmp/lost"
rm "$t"
run 1 "check with a table missing" "$G" -q check "$d"
has "$tmp/out" "MANIFEST:[0-9]*: problem: names table $(basename "$t")" "check names the missing table"
run 2 "a store missing a table does not open" "$G" -q ls "$d" t
run 0 "repair a missing table" "$G" -q repair "$d"
has "$tmp/out" "$(basename "$t"): lost: missing" "repair reports the lost table"
after_repair "missing table" "$d" "$tmp/lost"

# 7. A torn log tail, and a damaged segment header.
fresh torn
w=$d/$(basename "$wal")
# Cut the last record (batches of 8K) 100 bytes in; zeros the log wrote
# ahead of its records may follow them, so the file's size says nothing.
grep '^@' "$tmp/waldump" | tail -n 1 | sed 's/^@\([0-9]*\) .*/\1/' >"$tmp/lastoff"
truncate -s $(($(cat "$tmp/lastoff") + 100)) "$w"
run 1 "check a torn log tail" "$G" -q check "$d"
has "$tmp/out" "torn tail" "check calls it a torn tail"
awk -v off="$(cat "$tmp/lastoff")" '/^@/ { on = (substr($1, 2) == off) } on && /^  put/ { print $4 }' \
	"$tmp/waldump" | tr -d '"' >"$tmp/lost"
run 0 "repair a torn log tail" "$G" -q repair "$d"
after_repair "torn tail" "$d" "$tmp/lost"

fresh walheader
flip "$d/$(basename "$wal")" 2
run 1 "check a damaged segment header" "$G" -q check "$d"
has "$tmp/out" "$(basename "$wal"):0: problem: damaged header" "check names the header"
run 0 "repair a damaged segment header" "$G" -q repair "$d"
after_repair "segment header" "$d" /dev/null

# 8. The table catalog's block: the table's name is lost with it; repair
# names the table recovered-16 and keeps its keys.
fresh catalog
flip "$d/$(basename "$cat_table")" 20
run 1 "check a damaged catalog block" "$G" -q check "$d"
has "$tmp/out" "table catalog" "check sees the catalog's damage"
run 0 "repair a damaged catalog" "$G" -q repair "$d"
has "$tmp/out" 'named it "recovered-16"' "repair names the orphaned table"
run 0 "check after the catalog repair" "$G" -q check -q "$d"
run 0 "the recovered table is listed" "$G" -q tables "$d"
has "$tmp/out" "^recovered-16$" "recovered table"
run 0 "its keys are there" "$G" -q get "$d" recovered-16 key019999
run 0 "a new table can be created" "$G" -q put -c --value x "$d" newtable k
run 1 "and does not see old keys" "$G" -q get "$d" newtable key019999

# 9. Tables whose levels cannot be told apart (a leftover copy, no
# manifest): repair merges them.
fresh merge
cp "$big" "$d/00009999.sst"
rm "$d/MANIFEST"
run 0 "repair by merging" "$G" -q -o sstable_size=256K repair "$d"
has "$tmp/out" "merging all" "repair merges overlapping tables"
after_repair "merge" "$d" /dev/null
same "$tmp/base.kv" "$tmp/after.kv" "the merge keeps every key"

# 10. Several kinds of damage at once: check lists them all.
fresh many
flip "$d/$(basename "$big")" 5000
flip "$d/$(basename "$wal")" $((roff + 20))
flip "$d/MANIFEST" $(($(size_of "$d/MANIFEST") / 2))
run 1 "check several problems" "$G" -q check "$d"
n=$(grep -c ': problem: ' "$tmp/out")
if [ "$n" -ge 3 ]; then pass; else fail "check found $n problems, want 3 or more: $(cat "$tmp/out")"; fi
run 0 "repair several problems" "$G" -q repair "$d"
run 0 "check after repairing several" "$G" -q check -q "$d"
run 0 "the store opens" "$G" -q get "$d" t key000001

# ---- a store written through the mount ------------------------------------

# File, directory and symlink records (vfile.h) and chunked large files:
# golite refuses the store while it is mounted, then reads what the mount
# wrote, and check verifies those records in the log and in tables.
if [ "$(id -u)" -eq 0 ] && [ -c /dev/fuse ] && [ -x "$build/golitefs" ] &&
	command -v fusermount3 >/dev/null 2>&1; then
	m=$tmp/mnt
	fd=$tmp/fsdata
	mkdir -p "$m"
	if timeout 20 "$build/golitefs" "$fd" "$m" >"$tmp/err" 2>&1; then
		pass
		mkdir "$m/users" && printf '{"name":"kim"}' >"$m/users/42" &&
			mkdir -p "$m/users/eu/seoul" && echo x >"$m/users/eu/seoul/7" &&
			head -c 100000 "$tmp/data" >"$m/users/big" && ln -s 42 "$m/users/link"
		if [ $? -eq 0 ]; then pass; else fail "writing through the mount"; fi
		run 2 "ls of a mounted store" "$G" -q ls "$fd" users
		has "$tmp/err" "in use by process [0-9]" "the mount's daemon is named"
		timeout 20 fusermount3 -u "$m"
		i=0
		while ! "$G" -q tables "$fd" >/dev/null 2>&1 && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		run 0 "ls -l of what the mount wrote" "$G" -q ls -l "$fd" users
		has "$tmp/out" "$(printf '^file\t14\t42$')" "a file record"
		has "$tmp/out" "$(printf '^dir\t0\teu/seoul$')" "a directory record"
		has "$tmp/out" "$(printf '^link\t2\tlink$')" "a symlink record"
		has "$tmp/out" "$(printf '^file\t100000\tbig$')" "a large file"
		run 0 "get a file the mount wrote" "$G" -q get "$fd" users eu/seoul/7
		printf 'x\n' >"$tmp/want"
		same "$tmp/out" "$tmp/want" "its contents"
		run 0 "get a large (chunked) file" "$G" -q get "$fd" users big
		head -c 100000 "$tmp/data" >"$tmp/want"
		same "$tmp/out" "$tmp/want" "its contents"
		run 2 "get a directory" "$G" -q get "$fd" users eu
		run 0 "check what the mount wrote" "$G" -q check -q "$fd"
		run 0 "compact it into tables" "$G" -q compact "$fd"
		run 0 "check its tables" "$G" -q check -q "$fd"
		run 0 "dump its table" "$G" dump "$(ls "$fd"/*.sst | head -n 1)"
	else
		echo "skipped: the mount part (golitefs did not mount: $(head -c 300 "$tmp/err"))"
		rmdir "$m"
	fi
else
	echo "skipped: the mount part (needs root, /dev/fuse and build/golitefs)"
fi

finish
