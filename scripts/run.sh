#!/bin/sh
# Mounts a GoLite store for a user to try (make run).
#
#   scripts/run.sh [DATADIR [MOUNTPOINT]]     defaults ./golite.data ./mnt
#
# Builds nothing (make did): uses $BUILD/golitefs (BUILD defaults to
# build). Creates DATADIR (mode 0700) and MOUNTPOINT if missing, mounts,
# and says what to try and how to unmount. Options for golitefs can be
# passed in GOLITEFS_OPTS (e.g. GOLITEFS_OPTS="-o durability=sync").
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
data=${1:-./golite.data}
mnt=${2:-./mnt}
build=${BUILD:-build}
case $build in
/*) ;;
*) build=$here/$build ;;
esac
golitefs=$build/golitefs

if [ ! -x "$golitefs" ]; then
	echo "run.sh: $golitefs is missing; build it with: make" >&2
	exit 1
fi
if [ ! -d "$data" ]; then
	mkdir -p "$data"
	chmod 0700 "$data"
fi
mkdir -p "$mnt"
if mountpoint -q "$mnt"; then
	echo "run.sh: $mnt is mounted already; unmount it with: fusermount3 -u $mnt" >&2
	exit 1
fi

# shellcheck disable=SC2086
"$golitefs" ${GOLITEFS_OPTS:-} "$data" "$mnt"

cat <<EOF
Mounted the store in $data at $mnt: tables are directories, keys are files.

Try:
  mkdir $mnt/users                           # create table "users"
  echo '{"name":"kim"}' > $mnt/users/42      # put users["42"]
  cat $mnt/users/42                          # get it
  mkdir -p $mnt/users/eu/seoul
  echo x > $mnt/users/eu/seoul/7             # key "eu/seoul/7"
  ls -R $mnt/users                           # ordered scan
  mv $mnt/users/42 $mnt/users/43             # atomic rename
  cat $mnt/.golite/stats                     # live figures
  tail -f $mnt/.golite/events                # each change as it happens (in another terminal)

Unmount with:
  fusermount3 -u $mnt
EOF
