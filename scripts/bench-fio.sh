#!/bin/bash
# bench-fio.sh — runs the fio jobs of bench/fio/ through a golitefs mount
# and, in the same run, on what it is measured against, and keeps the
# results.
#
#   scripts/bench-fio.sh BUILD
#
# Targets, in this order, each on fresh directories removed afterwards:
#   golitefs        BUILD/golitefs with its defaults; data directory on the
#                   root file system (under FIO_BASE)
#   golitefs-sync   the same with -o durability=sync
#   passthrough_ll  libfuse's passthrough_ll example (built into BUILD/ from
#                   the sources libfuse3-dev ships, with its defaults) over a
#                   tmpfs of its own: what FUSE itself costs
#   tmpfs           a tmpfs mounted for the run
#   ext4            a directory on the root file system under FIO_BASE (the
#                   script checks that it is ext4 and records what it is)
# On the FUSE targets the jobs run in MNT/fio (on golitefs a table: files at
# the root of the mount are refused); elsewhere in a directory fio.
#
# Jobs, in this order (bench/fio/JOB.fio): smallfiles-create,
# smallfiles-read, smallfiles-stat, randread, randwrite, randwrite-fsync-1,
# randwrite-fsync-4, seqwrite, seqread, mixed-70-30; then ls-l, which is not
# fio's: LS_FILES (default 100,000) empty files made in one directory, then
# `ls -l` of it timed with cold caches (after sync; echo 3 > drop_caches)
# and again warm, reported as the rows ls-l-cold and ls-l-warm (IOPS =
# entries listed per second, p50 = the listing's time in microseconds).
#
# Caches: every job starts after a sync. The jobs that read what an earlier
# phase wrote (smallfiles-read, smallfiles-stat, randread, seqread,
# mixed-70-30) drop the page cache, dentries and inodes (sync; echo 3 >
# /proc/sys/vm/drop_caches) after fio's set-up (which lays files out) and
# before the timed phase, through fio's exec_prerun; fio itself also drops
# each file's cached pages at open (invalidate=1, its default). tmpfs keeps
# its data in memory whatever is dropped.
#
# With FIO_RUNS=N the whole sequence (every target, every job) runs N
# times over, and each job's figures on each target are those of its run
# with the median IOPS (N odd; the lower middle one when N is even): on a
# shared machine one pass can be slowed by 2x, and the passes interleave
# the targets, so a slow spell does not fall on one target only.
#
# Writes, when every target ran (a failed job is a result, not a stop):
#   bench/results/fio.csv   job,target,iops,mb_per_s,lat_p50_us,lat_p99_us
#                           (empty figures for a job that failed in any
#                           run; the median run's figures with FIO_RUNS)
#   bench/results/fio-runs.csv  run,job,target,... : every run's figures
#   bench/results/fio.txt   the table, ratios against passthrough_ll and
#                           ext4 and the targets, load, failures
#   bench/results/fio.png   IOPS and p99 latency per job and target
# Latencies are fio's completion latencies of the I/O calls (for
# smallfiles-stat the stat calls); for the fsync jobs they are those of the
# fsync calls. MB/s is 10^6 bytes per second.
#
# Progress goes to stderr. Needs root (mounts, drop_caches), fio, jq,
# gnuplot, libfuse3-dev, fusermount3. A full run takes about 8 minutes on 2
# cores (times FIO_RUNS).
#
# Environment:
#   FIO_TARGETS  targets to run (default: all five, in the order above)
#   FIO_JOBS     jobs to run (default: all, in the order above)
#   FIO_RUNS     passes over every target and job (default 1; see above)
#   FIO_GOLITEFS_OPTS  extra -o options for both golitefs targets, e.g.
#                writeback_cache=no (default: none)
#   FIO_BASE     where data directories and the ext4 target go (default
#                /var/tmp; must be on the root file system for "ext4")
#   FIO_KEEP     a directory to keep every fio JSON report, fio's stderr and
#                golitefs's .golite/stats in (default: not kept)
#   FIO_OUT      results directory (default bench/results)
# Exit status: 0 all jobs ran, 1 some job failed, 2 the run could not be made.
set -eu
set -o pipefail

if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
	sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
case $1 in
/*) build=$1 ;;
*) build=$root/$1 ;;
esac

ALL_TARGETS="golitefs golitefs-sync passthrough_ll tmpfs ext4"
ALL_JOBS="smallfiles-create smallfiles-read smallfiles-stat randread randwrite
randwrite-fsync-1 randwrite-fsync-4 seqwrite seqread mixed-70-30 ls-l"
targets=${FIO_TARGETS:-$ALL_TARGETS}
jobs=$(echo ${FIO_JOBS:-$ALL_JOBS})
base=${FIO_BASE:-/var/tmp}
runs=${FIO_RUNS:-1}
out=${FIO_OUT:-$root/bench/results}
jobdir=$root/bench/fio
golitefs=$build/golitefs
ptll=$build/passthrough_ll
ptll_src=/usr/share/doc/libfuse3-dev/examples/passthrough_ll.c

say() { echo "bench-fio: $*" >&2; }
die() { say "$*"; exit 2; }

[ "$(id -u)" -eq 0 ] || die "needs root (mounts and drop_caches)"
[ -c /dev/fuse ] || die "/dev/fuse is missing"
for t in fio jq gnuplot fusermount3 pkg-config; do
	command -v $t >/dev/null || die "$t is missing (scripts/deps.sh installs it)"
done
for t in $targets; do
	case " $ALL_TARGETS " in *" $t "*) ;; *) die "unknown target $t" ;; esac
done
for j in $jobs; do
	[ "$j" = ls-l ] || [ -f "$jobdir/$j.fio" ] || die "no job file $jobdir/$j.fio"
done
case $runs in
'' | *[!0-9]* | 0*) die "FIO_RUNS=$runs: give a number of runs, 1 or more" ;;
esac
case " $targets " in
*" golitefs"*) [ -x "$golitefs" ] || die "$golitefs is not built (make)" ;;
esac

# libfuse's own example, from the sources the distribution ships.
case " $targets " in
*" passthrough_ll "*)
	[ -f "$ptll_src" ] || die "$ptll_src is missing (libfuse3-dev)"
	if [ ! -x "$ptll" ] || [ "$ptll_src" -nt "$ptll" ]; then
		say "building $ptll from $ptll_src"
		# shellcheck disable=SC2046
		${CC:-cc} -O2 -Wall -I"$(dirname "$ptll_src")" \
			$(pkg-config --cflags fuse3) -o "$ptll" "$ptll_src" \
			$(pkg-config --libs fuse3) || die "cannot build $ptll"
	fi
	;;
esac

mkdir -p "$base" "$out"
T=$(mktemp -d "$base/golite-fio.XXXXXX")
mkdir -p "$T/json" "$T/run" "$T/bin"
# Every target of a run uses the same daemon, even if BUILD changes meanwhile.
gfs_info="not run"
case " $targets " in
*" golitefs"*)
	cp "$golitefs" "$T/bin/golitefs"
	gfs_info="$golitefs built $(date -u -r "$golitefs" '+%Y-%m-%d %H:%M:%S UTC'), sha256 $(sha256sum "$golitefs" | cut -c1-12)"
	golitefs=$T/bin/golitefs
	;;
esac
mounts=""        # mountpoints made by this run, newest first
daemon=""        # pid of the FUSE daemon of the current target
daemon_name=""   # its /proc/PID/comm

# Stops the daemon we started, if it still runs (by pid, checked by name).
stop_daemon() {
	[ -n "$daemon" ] || return 0
	local n=0
	while kill -0 "$daemon" 2>/dev/null && [ $n -lt 1200 ]; do
		sleep 0.1
		n=$((n + 1))
	done
	if kill -0 "$daemon" 2>/dev/null &&
		[ "$(cat "/proc/$daemon/comm" 2>/dev/null)" = "$daemon_name" ]; then
		say "$daemon_name ($daemon) still running 120 s after unmount; stopping it"
		kill "$daemon" 2>/dev/null || true
	fi
	daemon=""
}

unmount_all() {
	local m
	for m in $mounts; do
		if mountpoint -q "$m"; then
			fusermount3 -u "$m" 2>/dev/null || umount "$m" 2>/dev/null ||
				umount -l "$m" 2>/dev/null || say "cannot unmount $m"
		fi
	done
	mounts=""
	stop_daemon
}

cleanup() {
	trap - EXIT INT TERM
	unmount_all
	rm -rf "$T"
	rm -f "$out/fio.csv.tmp" "$out/fio-runs.csv.tmp" "$out/fio.txt.tmp" \
		"$out/fio.png.tmp"
}
trap cleanup EXIT
trap 'say interrupted; exit 2' INT TERM

wait_mounted() {
	local n=0
	until mountpoint -q "$1"; do
		n=$((n + 1))
		[ $n -gt 100 ] && return 1
		kill -0 "$daemon" 2>/dev/null || return 1
		sleep 0.1
	done
}

# Mounts what target $1 needs and sets dir, where fio works.
target_up() {
	local t=$1 d=$T/$1
	mkdir -p "$d"
	case $t in
	golitefs | golitefs-sync)
		mkdir -p "$d/data" "$d/mnt"
		local opts="${FIO_GOLITEFS_OPTS:+-o $FIO_GOLITEFS_OPTS}"
		[ "$t" = golitefs-sync ] && opts="-o durability=sync${FIO_GOLITEFS_OPTS:+,$FIO_GOLITEFS_OPTS}"
		# shellcheck disable=SC2086
		"$golitefs" $opts "$d/data" "$d/mnt" 2>"$d/log" ||
			die "golitefs $opts failed: $(cat "$d/log")"
		mounts="$d/mnt $mounts"
		daemon=$(awk '$1 == "fs_pid" { print $2 }' "$d/mnt/.golite/stats")
		daemon_name=golitefs
		dir=$d/mnt/fio
		;;
	passthrough_ll)
		mkdir -p "$d/src" "$d/mnt"
		mount -t tmpfs -o size=4g,mode=0755 golite-fio "$d/src"
		mounts="$d/src $mounts"
		# It keeps a descriptor open per inode it knows: the ls-l job's
		# 100,000 files need more than the default limit.
		(ulimit -n "$(ulimit -Hn)"; exec "$ptll" -f -o source="$d/src" "$d/mnt") >"$d/log" 2>&1 &
		daemon=$!
		daemon_name=passthrough_ll
		wait_mounted "$d/mnt" || die "passthrough_ll did not mount: $(cat "$d/log")"
		mounts="$d/mnt $mounts"
		dir=$d/mnt/fio
		;;
	tmpfs)
		mkdir -p "$d/mnt"
		mount -t tmpfs -o size=4g,mode=0755 golite-fio "$d/mnt"
		mounts="$d/mnt $mounts"
		dir=$d/mnt/fio
		;;
	ext4)
		dir=$d/fio
		;;
	esac
	mkdir "$dir"
}

target_down() {
	if [ -f "$T/$1/mnt/.golite/stats" ]; then
		cp "$T/$1/mnt/.golite/stats" "$T/json/$1.stats" 2>/dev/null || true
	fi
	unmount_all
	rm -rf "${T:?}/$1"
}

# Which figures of fio's JSON a job's row takes, and whether its timed phase
# starts with cold caches.
job_dir() {
	case $1 in
	smallfiles-create | randwrite* | seqwrite) echo write ;;
	mixed-*) echo mixed ;;
	*) echo read ;;
	esac
}
job_cold() {
	case $1 in
	smallfiles-read | smallfiles-stat | randread | seqread | mixed-*) return 0 ;;
	*) return 1 ;;
	esac
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# The ls-l job on target $1, run $2: LS_FILES empty files, then ls -l
# cold and warm; two rows of figures.
ls_job() {
	local t=$1 run=$2 n=${LS_FILES:-100000} d=$dir/many t0 t1 cold warm
	if [ "$t" = passthrough_ll ] && [ "$(ulimit -Hn)" != unlimited ] &&
		[ "$n" -gt $(($(ulimit -Hn) - 100)) ]; then
		# One descriptor per inode it knows: more files than it may open.
		echo "ls-l on passthrough_ll skipped: it holds a descriptor per file and may open $(ulimit -Hn) (LS_FILES=$n)" >>"$skips"
		say "[$step/$total] $t ls-l skipped (open file limit $(ulimit -Hn))"
		return
	fi
	say "[$step/$total] $t ls-l: making $n files (load $(loadavg))"
	mkdir "$d"
	(cd "$d" && seq -f 'f%06.0f' 1 "$n" | xargs touch) ||
		{ echo "ls-l on $t (run $run): making the files failed" >>"$failures"; status=1; return; }
	sync
	echo 3 >/proc/sys/vm/drop_caches
	t0=$(date +%s%N)
	ls -l "$d" >/dev/null
	t1=$(date +%s%N)
	cold=$(((t1 - t0) / 1000))
	t0=$(date +%s%N)
	ls -l "$d" >/dev/null
	t1=$(date +%s%N)
	warm=$(((t1 - t0) / 1000))
	echo "$run,ls-l-cold,$t,$((n * 1000000 / cold)),,$cold,$cold" >>"$raw"
	echo "$run,ls-l-warm,$t,$((n * 1000000 / warm)),,$warm,$warm" >>"$raw"
	say "[$step/$total] $t ls-l: cold $((cold / 1000)) ms, warm $((warm / 1000)) ms"
	rm -rf "$d"
}

csv=$out/fio.csv.tmp
raw=$out/fio-runs.csv.tmp
echo "run,job,target,iops,mb_per_s,lat_p50_us,lat_p99_us" >"$raw"
failures=$T/failures
skips=$T/skips
loads=$T/loads
: >"$skips"
: >"$failures"
: >"$loads"

ntargets=$(echo $targets | wc -w)
njobs=$(echo $jobs | wc -w)
total=$((runs * ntargets * njobs))
step=0
status=0
start=$(date +%s)
uptime_start=$(uptime)
say "$njobs jobs on $ntargets targets, $runs run(s), in $T; results in $out/fio.{csv,txt,png}"

for run in $(seq 1 "$runs"); do
for t in $targets; do
	target_up "$t"
	if [ "$t" = ext4 ]; then
		ext4_fs=$(findmnt -n -o SOURCE,FSTYPE,TARGET -T "$dir" | tr -s ' ')
		case $ext4_fs in
		*" ext4 "*) ;;
		*) say "warning: the ext4 target is on $ext4_fs" ;;
		esac
	fi
	echo "run $run, $t: load average $(loadavg) at start" >>"$loads"
	for j in $jobs; do
		step=$((step + 1))
		if [ "$j" = ls-l ]; then
			ls_job "$t" "$run"
			continue
		fi
		ddir=$(job_dir "$j")
		json=$T/json/$t.$j.$run.json
		err=$T/json/$t.$j.$run.err
		set -- --directory="$dir" --output-format=json --output="$json"
		if job_cold "$j"; then
			set -- "$@" --exec_prerun="sh -c 'sync; echo 3 > /proc/sys/vm/drop_caches'"
		fi
		say "[$step/$total] $t $j (load $(loadavg))"
		sync
		rc=0
		(cd "$T/run" && exec timeout -s INT 900 fio "$@" "$jobdir/$j.fio") 2>"$err" || rc=$?
		row=""
		if [ -s "$json" ]; then
			# fio may print notes before the JSON; start at the first "{".
			row=$(sed -n '/^{/,$p' "$json" | jq -r --arg d "$ddir" --arg j "$j" '
				.jobs[0] as $x
				| (if ($j | startswith("randwrite-fsync")) then $x.sync.lat_ns
				   else $x[$d].clat_ns end) as $l
				| [$x.error, $x[$d].iops, $x[$d].bw_bytes / 1e6,
				   ($l.percentile["50.000000"] // 0) / 1000,
				   ($l.percentile["99.000000"] // 0) / 1000]
				| @tsv' 2>/dev/null) || row=""
		fi
		ferr=$(echo "$row" | cut -f1)
		if [ "$rc" -ne 0 ] || [ -z "$row" ] || [ "$ferr" != 0 ]; then
			status=1
			msg=$(cat "$err" "$json" 2>/dev/null | grep -m3 -E 'fio:|err=|error' | tr '\n' ' ')
			echo "$j on $t (run $run): fio exit $rc, error ${ferr:-?}: ${msg:-see fio stderr}" >>"$failures"
			echo "$run,$j,$t,,,," >>"$raw"
			say "[$step/$total] $t $j FAILED: ${msg:-fio exit $rc}"
			continue
		fi
		echo "$row" | awk -F'\t' -v r="$run" -v j="$j" -v t="$t" \
			'{ printf "%s,%s,%s,%.0f,%.1f,%.1f,%.1f\n", r, j, t, $2, $3, $4, $5 }' >>"$raw"
		say "[$step/$total] $t $j: $(echo "$row" | awk -F'\t' \
			'{ printf "%.0f IOPS, %.1f MB/s, p50 %.1f us, p99 %.1f us", $2, $3, $4, $5 }')"
	done
	target_down "$t"
done
done

# Each job and target: the run with the median IOPS; empty if any run failed.
echo "job,target,iops,mb_per_s,lat_p50_us,lat_p99_us" >"$csv"
awk -F, 'NR > 1 {
	k = $2 "," $3
	if (!(k in n)) order[++m] = k
	if ($4 == "") bad[k] = 1
	row[k, ++n[k]] = $4 "," $5 "," $6 "," $7
	iops[k, n[k]] = $4 + 0
} END {
	for (i = 1; i <= m; i++) {
		k = order[i]
		if (bad[k]) { print k ",,,,"; continue }
		c = n[k]
		for (a = 1; a <= c; a++) idx[a] = a
		for (a = 2; a <= c; a++)
			for (b = a; b > 1 && iops[k, idx[b - 1]] > iops[k, idx[b]]; b--) {
				t = idx[b]; idx[b] = idx[b - 1]; idx[b - 1] = t
			}
		print k "," row[k, idx[int((c + 1) / 2)]]
	}
}' "$raw" >>"$csv"

elapsed=$(($(date +%s) - start))
uptime_end=$(uptime)
say "finished in $((elapsed / 60))m$((elapsed % 60))s, status $status"

if [ -n "${FIO_KEEP:-}" ]; then
	mkdir -p "$FIO_KEEP"
	cp "$T"/json/* "$FIO_KEEP"/ 2>/dev/null || true
fi

# ---- the report -------------------------------------------------------

commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no -- engine fs include 2>/dev/null)" ]; then
	commit="$commit (with uncommitted changes in engine/, fs/ or include/)"
fi
txt=$out/fio.txt.tmp
{
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $commit"
	echo "machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), kernel $(uname -r), $(fio --version), libfuse $(pkg-config --modversion fuse3)"
	echo "uptime at start: $uptime_start"
	echo "uptime at end:   $uptime_end"
	sed 's/^/  /' "$loads"
	echo "run time: $((elapsed / 60))m$((elapsed % 60))s"
	if [ "$runs" -gt 1 ]; then
		echo "runs: $runs passes over every target and job; each row is the run"
		echo "with the median IOPS, and the IOPS range of all runs (fio-runs.csv)"
	fi
	echo "ext4 target: a directory on the root file system (${ext4_fs:-not run})"
	echo "golitefs: $gfs_info"
	echo "golitefs data directories: on the root file system under $base"
	echo "caches: sync before every job; smallfiles-read, smallfiles-stat, randread,"
	echo "seqread and mixed-70-30 drop page cache, dentries and inodes after fio's"
	echo "set-up and before the timed phase. Latencies: fio completion latencies of"
	echo "the I/O calls; for the randwrite-fsync jobs, of the fsync calls."
	echo
	awk -F, -v runs="$runs" 'FNR == 1 { f++; next }
	f == 1 {
		k = $2 "," $3
		if ($4 == "") next
		if (!(k in lo) || $4 + 0 < lo[k]) lo[k] = $4 + 0
		if (!(k in hi) || $4 + 0 > hi[k]) hi[k] = $4 + 0
		next
	} {
		if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
		k = $1 "," $2
		range = runs > 1 && (k in lo) ? sprintf("  %s-%s", lo[k], hi[k]) : ""
		if ($3 == "") line[$1] = line[$1] sprintf("  %-15s %10s\n", $2, "FAILED")
		else line[$1] = line[$1] sprintf("  %-15s %10s %9.1f %10.1f %10.1f%s\n",
		    $2, $3, $4, $5, $6, range)
	} END {
		printf("  %-15s %10s %9s %10s %10s%s\n", "target", "IOPS", "MB/s", "p50 us",
		    "p99 us", (runs > 1 ? "  IOPS range" : ""))
		for (i = 1; i <= n; i++) printf "%s\n%s", order[i], line[order[i]]
	}' "$raw" "$csv"
	echo
	echo "Ratios of IOPS (golitefs = default options; -sync = durability=sync),"
	echo "and the targets golitefs must reach:"
	echo
	awk -F, '
	function r(a, b) { return (a == "" || b == "" || b == 0) ? "-" : sprintf("%.2f", a / b) }
	# The targets of the performance issue (#19): IOPS ratios to
	# passthrough_ll (pt) and ext4. Create has none by IOPS: its target is
	# in round trips (scripts/fuse-roundtrips.sh).
	function need(j) {
		if (j == "smallfiles-create") return "(round trips)"
		if (j == "smallfiles-read" || j == "smallfiles-stat" || j == "randread") return "1 pt"
		if (j == "randwrite" || j == "mixed-70-30") return "1.2 pt"
		if (j == "randwrite-fsync-1") return "0.8 ext4"
		if (j == "randwrite-fsync-4") return "1 ext4"
		if (j == "seqwrite") return "0.8 pt, 0.9 ext4"
		if (j == "seqread") return "0.8 pt"
		if (j ~ /^ls-l/) return "0.67 ext4"
		return "-"
	}
	function met(j, g, p, e,   np, ne) {
		np = 0; ne = 0
		if (j == "smallfiles-read" || j == "smallfiles-stat" || j == "randread") np = 1
		if (j == "randwrite" || j == "mixed-70-30") np = 1.2
		if (j == "randwrite-fsync-1") ne = 0.8
		if (j == "randwrite-fsync-4") ne = 1
		if (j == "seqwrite") { np = 0.8; ne = 0.9 }
		if (j == "seqread") np = 0.8
		if (j ~ /^ls-l/) ne = 1 / 1.5
		if (!np && !ne) return ""
		if (g == "" || (np && p == "") || (ne && e == "")) return "?"
		if ((np && g < np * p) || (ne && g < ne * e)) return "BELOW"
		return "met"
	}
	NR > 1 {
		if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
		v[$1, $2] = $3
	} END {
		printf "%-18s %7s %7s %7s %7s  %-17s %s\n", "job", "gfs/pt", "gfs/ext4",
		    "sync/pt", "sync/ext4", "target", ""
		for (i = 1; i <= n; i++) {
			j = order[i]; g = v[j, "golitefs"]; s = v[j, "golitefs-sync"]
			p = v[j, "passthrough_ll"]; e = v[j, "ext4"]
			printf "%-18s %7s %8s %7s %9s  %-17s %s\n", j, r(g, p), r(g, e),
			    r(s, p), r(s, e), need(j), met(j, g, p, e)
		}
	}' "$csv"
	if [ -s "$skips" ]; then
		echo
		echo "Skipped:"
		sed 's/^/  /' "$skips"
	fi
	if [ -s "$failures" ]; then
		echo
		echo "Failures:"
		sed 's/^/  /' "$failures"
	fi
} >"$txt"

# ---- the chart --------------------------------------------------------

# One row per job, one column per target: IOPS, then p99 latency.
dat=$T/chart.dat
awk -F, -v tl="$targets" '
NR > 1 {
	if (!($1 in seen)) { seen[$1] = 1; order[++n] = $1 }
	iops[$1, $2] = $3; p99[$1, $2] = $6
} END {
	nt = split(tl, ts, " ")
	for (k = 0; k < 2; k++) {
		printf "job"
		for (c = 1; c <= nt; c++) printf " %s", ts[c]
		printf "\n"
		for (i = 1; i <= n; i++) {
			printf "%s", order[i]
			for (c = 1; c <= nt; c++) {
				x = k == 0 ? iops[order[i], ts[c]] : p99[order[i], ts[c]]
				printf " %s", (x == "" || x == 0) ? "?" : x
			}
			printf "\n"
		}
		printf "\n\n"
	}
}' "$csv" >"$dat"
ncols=$((ntargets + 1))
chart_runs="one run"
[ "$runs" -gt 1 ] && chart_runs="median of $runs runs"
gnuplot <<EOF || { say "gnuplot failed; no chart"; status=1; }
set terminal pngcairo size 1500,1000 font "sans,10" noenhanced
set output "$out/fio.png.tmp"
set datafile missing "?"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y
set format y "%.0s%c"
set grid ytics mytics
set key outside right top vertical
set xtics rotate by -25 nomirror
set multiplot layout 2,1 title "fio through the mount: golitefs against passthrough_ll (FUSE over tmpfs), tmpfs and ext4 ($chart_runs, $(date -u +%Y-%m-%d); load at start ${uptime_start##*average: })"
set title "IOPS (log scale; seqwrite and seqread: 1 MiB I/Os, so IOPS = MiB/s)"
plot for [c=2:$ncols] "$dat" index 0 using c:xtic(1) title columnheader(c)
set title "p99 latency, microseconds (log scale; fsync jobs: the fsync call)"
plot for [c=2:$ncols] "$dat" index 1 using c:xtic(1) title columnheader(c)
unset multiplot
EOF

cat "$txt"
mv -f "$csv" "$out/fio.csv"
mv -f "$raw" "$out/fio-runs.csv"
mv -f "$txt" "$out/fio.txt"
[ -f "$out/fio.png.tmp" ] && mv -f "$out/fio.png.tmp" "$out/fio.png"
exit "$status"
