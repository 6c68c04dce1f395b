#!/bin/sh
# Installs, idempotently, every Debian package that building, testing and
# benchmarking GoLite needs. Fast when nothing is missing (one dpkg-query).
#
#   scripts/deps.sh          install what is missing
#   scripts/deps.sh --check  exit 1 (and list them) if packages are missing
set -eu

PACKAGES="
build-essential pkg-config
libfuse3-dev fuse3
liburcu-dev
libcriterion-dev
libxxhash-dev
liblz4-dev libzstd-dev
fio gnuplot-nox
libleveldb-dev librocksdb-dev liblmdb-dev libsqlite3-dev
rsync attr acl psmisc util-linux e2fsprogs groff-base man-db
libmicrohttpd-dev libjansson-dev curl wrk nginx-light openssl iproute2
redis-tools redis-server
nfs-ganesha nfs-ganesha-vfs libnfs-utils
libcurl4-openssl-dev etcd-server etcd-client
"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = "installed" ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
	echo "missing packages:$missing" >&2
	exit 1
fi

echo "deps: installing$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# An old package index cannot find current versions: refresh once on failure.
if ! $SUDO apt-get install -y -q --no-install-recommends $missing; then
	$SUDO apt-get update -q
	$SUDO apt-get install -y -q --no-install-recommends $missing
fi
