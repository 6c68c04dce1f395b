#!/bin/bash
# fuse-roundtrips.sh — FUSE requests per operation through a golitefs mount
# and through libfuse's passthrough_ll (over a tmpfs), counted from each
# daemon's -d output (one "opcode:" line per request the kernel sent).
#
#   scripts/fuse-roundtrips.sh BUILD
#
# Operations, each done N times (N=100 files) after a warm-up, and the
# requests they caused divided by N:
#   create      a new file written with 4 KiB and closed (fio's
#               smallfiles-create: open O_CREAT, write, close)
#   read        cat of a 4 KiB file after the kernel's caches were dropped
#   read-warm   the same again (caches warm)
#   stat        stat of a file after the caches were dropped
#   rename      mv of a file to a new name in its directory
#   ls          ls of a directory of N files, caches dropped (per file)
#   ls-l        ls -l of it, caches dropped (per file)
#   ls-l-warm   ls -l of it again (per file)
# Prints a table (requests per operation, and the kinds of request on
# golitefs) and writes bench/results/roundtrips.txt. Needs root (mounts,
# drop_caches) and BUILD/golitefs and BUILD/passthrough_ll (make
# bench-fio builds the latter; so does this script, as bench-fio does).
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
case ${1:-build} in
/*) build=${1:-build} ;;
*) build=$root/${1:-build} ;;
esac
N=${N:-100}
out=${OUT:-$root/bench/results}
golitefs=$build/golitefs
ptll=$build/passthrough_ll
ptll_src=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c
if [ ! -x "$ptll" ]; then
	cc -O2 -Wall -o "$ptll" "$ptll_src" $(pkg-config --cflags --libs fuse3) -lpthread
fi
T=$(mktemp -d /var/tmp/golite-rt.XXXXXX)
pids=""
cleanup() {
	for m in "$T"/*/mnt; do
		mountpoint -q "$m" 2>/dev/null && { fusermount3 -u "$m" 2>/dev/null || umount -l "$m"; }
	done
	for m in "$T/pt/src" "$T/pw/src"; do
		mountpoint -q "$m" 2>/dev/null && umount "$m"
	done
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT

wait_mounted() {
	for _ in $(seq 100); do mountpoint -q "$1" && return 0; sleep 0.1; done
	echo "fuse-roundtrips: $1 did not mount" >&2
	exit 2
}

# count LOG: requests so far.
count() { grep -c "opcode:" "$1" || true; }
drop() { sync; echo 3 >/proc/sys/vm/drop_caches; sleep 0.2; }

# measure TARGET DIR LOG: one line "op requests-per-op" per operation, and
# the kinds of each op's requests in $T/TARGET.kinds.
measure() {
	local t=$1 d=$2 log=$3 b a i
	mkdir "$d/w" "$d/many"
	head -c 4096 /dev/urandom >"$T/4k"
	for i in $(seq "$N"); do cp "$T/4k" "$d/many/f$i"; done
	head -c 4096 /dev/zero >"$d/w/warmup"
	: >"$T/$t.kinds"
	step() {   # NAME COMMAND...: runs it, notes the requests it caused
		local name=$1 per=$2
		shift 2
		sleep 0.3
		b=$(count "$log")
		"$@" >/dev/null
		sleep 0.5   # releases and write-back the kernel sends after
		a=$(count "$log")
		echo "$name $(awk -v r=$((a - b)) -v n="$per" 'BEGIN { printf "%.2f", r / n }')"
		echo "$name: $(grep "opcode:" "$log" | sed -n "$((b + 1)),${a}p" |
			sed 's/.*opcode: \([A-Z_0-9]*\).*/\1/' | sort | uniq -c | sort -rn |
			awk '{ printf "%s %s, ", $2, $1 }')" >>"$T/$t.kinds"
	}
	creates() { for i in $(seq "$N"); do cp "$T/4k" "$d/w/c$i"; done; }
	reads() { for i in $(seq "$N"); do cat "$d/many/f$i" >/dev/null; done; }
	stats() { for i in $(seq "$N"); do stat "$d/many/f$i" >/dev/null; done; }
	renames() { for i in $(seq "$N"); do mv "$d/w/c$i" "$d/w/r$i"; done; }
	step create "$N" creates
	drop
	step read "$N" reads
	step read-warm "$N" reads
	drop
	step stat "$N" stats
	step rename "$N" renames
	drop
	step ls "$N" ls "$d/many"
	drop
	step ls-l "$N" ls -l "$d/many"
	step ls-l-warm "$N" ls -l "$d/many"
}

mkdir -p "$T/gfs/mnt" "$T/pt/src" "$T/pt/mnt"
"$golitefs" -d "$T/gfs/data" "$T/gfs/mnt" >"$T/gfs.log" 2>&1 &
pids="$pids $!"
wait_mounted "$T/gfs/mnt"
mkdir "$T/gfs/mnt/t"
measure golitefs "$T/gfs/mnt/t" "$T/gfs.log" >"$T/golitefs.rt"
fusermount3 -u "$T/gfs/mnt"

mount -t tmpfs -o size=1g golite-rt "$T/pt/src"
"$ptll" -f -d -o source="$T/pt/src" "$T/pt/mnt" >"$T/pt.log" 2>&1 &
pids="$pids $!"
wait_mounted "$T/pt/mnt"
measure passthrough_ll "$T/pt/mnt" "$T/pt.log" >"$T/passthrough_ll.rt"
fusermount3 -u "$T/pt/mnt"

# passthrough_ll with the two choices golitefs makes: the writeback cache,
# and permissions checked by the kernel (default_permissions).
mkdir -p "$T/pw/src" "$T/pw/mnt"
mount -t tmpfs -o size=1g golite-rt "$T/pw/src"
"$ptll" -f -d -o source="$T/pw/src",writeback,default_permissions "$T/pw/mnt" >"$T/pw.log" 2>&1 &
pids="$pids $!"
wait_mounted "$T/pw/mnt"
measure passthrough_ll-wb "$T/pw/mnt" "$T/pw.log" >"$T/passthrough_ll-wb.rt"
fusermount3 -u "$T/pw/mnt"
umount "$T/pw/src"

mkdir -p "$out"
{
	echo "FUSE requests per operation ($N files; $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown))"
	echo "golitefs with its defaults; passthrough_ll with its defaults over a tmpfs;"
	echo "pt-wb-perm: passthrough_ll -o writeback,default_permissions (golitefs's two choices)"
	echo
	printf "%-10s %9s %15s %11s\n" op golitefs passthrough_ll pt-wb-perm
	join "$T/golitefs.rt" "$T/passthrough_ll.rt" | join - "$T/passthrough_ll-wb.rt" |
		awk '{ printf "%-10s %9s %15s %11s\n", $1, $2, $3, $4 }'
	echo
	echo "Requests, by kind (golitefs):"
	sed 's/^/  /' "$T/golitefs.kinds"
	echo
	echo "Requests, by kind (passthrough_ll):"
	sed 's/^/  /' "$T/passthrough_ll.kinds"
	echo
	echo "Requests, by kind (passthrough_ll -o writeback,default_permissions):"
	sed 's/^/  /' "$T/passthrough_ll-wb.kinds"
} | tee "$out/roundtrips.txt"
