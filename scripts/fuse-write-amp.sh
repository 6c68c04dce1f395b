#!/bin/bash
# fuse-write-amp.sh — bytes written to disk per byte written through a
# golitefs mount, and the space the store takes for the data it holds.
#
#   scripts/fuse-write-amp.sh BUILD
#
# Mounts BUILD/golitefs with its defaults (data directory under /var/tmp,
# on the root file system), then:
#   seq      writes one SIZE_MB file (default 1024) with 1 MiB writes (cp
#            of a file of random bytes) and fsyncs it;
#   rand     overwrites it with SIZE_MB of random 4 KiB writes (fio
#            randwrite, 2 passes over its size by default: RAND_PASSES),
#            then fsyncs it;
# and after each waits until the daemon has written nothing for 5 s (its
# flushes, compactions and value collection included, at most 180 s).
# Bytes written are the daemon's (/proc/PID/io write_bytes); space is `du`
# of the data directory at the end of each step, against SIZE_MB.
# Writes bench/results/write-amp.txt. Needs root (mount) and fio.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
case ${1:-build} in
/*) build=${1:-build} ;;
*) build=$root/${1:-build} ;;
esac
SIZE_MB=${SIZE_MB:-1024}
RAND_PASSES=${RAND_PASSES:-2}
out=${OUT:-$root/bench/results}
golitefs=$build/golitefs
[ -x "$golitefs" ] || { echo "fuse-write-amp: $golitefs is not built" >&2; exit 2; }
T=$(mktemp -d /var/tmp/golite-wa.XXXXXX)
pid=""
cleanup() {
	mountpoint -q "$T/mnt" 2>/dev/null && { fusermount3 -u "$T/mnt" 2>/dev/null || umount -l "$T/mnt"; }
	[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

mkdir "$T/data" "$T/mnt"
head -c "$((SIZE_MB << 20))" /dev/urandom >"$T/src"
"$golitefs" -f "$T/data" "$T/mnt" >"$T/daemon.log" 2>&1 &
pid=$!
for _ in $(seq 100); do mountpoint -q "$T/mnt" && break; sleep 0.1; done
mountpoint -q "$T/mnt" || { echo "fuse-write-amp: the mount did not come up" >&2; exit 2; }
mkdir "$T/mnt/t"

written() { awk '/^write_bytes/ { print $2 }' "/proc/$pid/io"; }
settle() {
	local last now quiet=0
	last=$(written)
	for _ in $(seq 180); do
		sleep 1
		now=$(written)
		if [ "$now" = "$last" ]; then
			quiet=$((quiet + 1))
			[ "$quiet" -ge 5 ] && return 0
		else
			quiet=0
		fi
		last=$now
	done
}
space() { du -sb "$T/data" | cut -f1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
bytes=$((SIZE_MB << 20))

b=$(written)
cp "$T/src" "$T/mnt/t/big"
python3 -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$T/mnt/t/big"
settle
a=$(written)
seq_amp=$(ratio $((a - b)) "$bytes")
seq_space=$(ratio "$(space)" "$bytes")
cmp "$T/src" "$T/mnt/t/big" || { echo "fuse-write-amp: the file reads back wrong" >&2; exit 1; }

b=$(written)
fio --name=rand --filename="$T/mnt/t/big" --rw=randwrite --bs=4k --size="${SIZE_MB}m" \
	--io_size="$((SIZE_MB * RAND_PASSES))m" --end_fsync=1 --randrepeat=0 \
	--output="$T/fio.out" >/dev/null
settle
a=$(written)
rand_amp=$(ratio $((a - b)) $((bytes * RAND_PASSES)))
rand_space=$(ratio "$(space)" "$bytes")

mkdir -p "$out"
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "golitefs with its defaults; a ${SIZE_MB} MiB file; bytes the daemon wrote (/proc/PID/io)"
	echo "per byte written through the mount, and du of the data directory per byte of the file"
	echo
	printf "%-40s %12s %12s\n" step write-amp space
	printf "%-40s %12s %12s\n" "seq: cp of the file, fsync" "$seq_amp" "$seq_space"
	printf "%-40s %12s %12s\n" "rand: ${RAND_PASSES}x its size in 4 KiB overwrites" "$rand_amp" "$rand_space"
	echo
	echo "targets: write-amp <= 1.2 (seq), <= 2.5 (rand); space <= 1.3"
} | tee "$out/write-amp.txt"
