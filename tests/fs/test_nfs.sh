#!/bin/sh
# test_nfs.sh — the mount exported over NFSv4 by nfs-ganesha (FSAL VFS),
# driven with libnfs's userspace client (nfs-cp, nfs-cat, nfs-ls): files
# written over NFS read back through the mount and the other way round,
# and the server's file handles still open after the kernel dropped its
# inodes (echo 2 > /proc/sys/vm/drop_caches).
#
#   sh tests/fs/test_nfs.sh BUILD
#
# Needs ganesha.nfsd (with FSAL VFS) and nfs-cp/nfs-cat/nfs-ls: a missing
# one is a failure, as a mount that cannot be made is.
. "$(dirname "$0")/lib.sh"

for p in ganesha.nfsd nfs-cp nfs-cat nfs-ls; do
	command -v "$p" > /dev/null || die "$p is missing (packages nfs-ganesha-vfs, libnfs-utils)"
done

# A free TCP port on 127.0.0.1 for the server.
PORT=""
for p in $(seq $((20000 + $$ % 5000)) $((20000 + $$ % 5000 + 50))); do
	hex=$(printf ':%04X ' "$p")
	grep -q "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null && continue
	PORT=$p
	break
done
[ -n "$PORT" ] || die "no free port"

G=$T/ganesha
mkdir -p "$G/recovery"
GPID=""
stop_ganesha() {
	[ -n "$GPID" ] || return 0
	kill "$GPID" 2>/dev/null && wait_exit "$GPID"
	GPID=""
}
trap 'stop_ganesha; cleanup' EXIT

mount_fs
mkdir "$MNT/t" || die "mkdir"

# The export: NFSv4 only (no rpcbind), TCP on 127.0.0.1:PORT, no NLM,
# RQUOTA or dbus; the recovery directory in the test's own tree.
sed -e "s|@PATH@|$MNT|" -e "s|@PORT@|$PORT|" -e "s|@RECOVERY@|$G/recovery|" \
	"$ROOT/examples/ganesha.conf" > "$G/ganesha.conf"
ganesha.nfsd -F -f "$G/ganesha.conf" -L "$G/ganesha.log" -p "$G/ganesha.pid" \
	-N NIV_EVENT > "$G/out" 2>&1 &
GPID=$!

URL="nfs://127.0.0.1/golite"
Q="?version=4&nfsport=$PORT"
n=0
until nfs-ls "$URL/$Q" > /dev/null 2>&1; do
	n=$((n + 1))
	if [ $n -gt 60 ] || ! kill -0 "$GPID" 2>/dev/null; then
		tail -20 "$G/ganesha.log" >&2
		die "ganesha did not start serving $URL on port $PORT"
	fi
	sleep 0.5
done

drop_caches() {
	sync
	echo 2 > /proc/sys/vm/drop_caches
}

# Files written over NFS stay under 3000 bytes: nfs-cp of libnfs 4.0.0
# fails on writes of about 4000 bytes and more over NFSv4 against ganesha
# 4.3, into a plain directory export as well (not a golitefs limit).
head -c 3000 /dev/urandom > "$T/small"
head -c 300000 /dev/urandom > "$T/big"

# Over NFS, read through the mount.
check "nfs-cp of a small file" nfs-cp "$T/small" "$URL/t/nfs-small$Q"
check "it reads back through the mount" same_file "$T/small" "$MNT/t/nfs-small"

# Through the mount, read over NFS.
mkdir -p "$MNT/t/a/b" && cp "$T/big" "$MNT/t/a/b/mnt-big" && echo hello > "$MNT/t/mnt-small"
check "a file written through the mount reads over NFS" \
	eq "$(nfs-cat "$URL/t/mnt-small$Q")" hello
nfs-cat "$URL/t/a/b/mnt-big$Q" > "$T/got" 2>/dev/null
check "a large one too" same_file "$T/big" "$T/got"
check "nfs-ls lists the directory" eq "$(nfs-ls "$URL/t/a/b$Q" | awk '{ print $NF }')" mnt-big

# The server keeps the file handles it was given; the kernel forgets its
# inodes: the handles must still open.
drop_caches
nfs-cat "$URL/t/a/b/mnt-big$Q" > "$T/got" 2>/dev/null
check "a file handle opens after drop_caches" same_file "$T/big" "$T/got"
check "a directory handle lists after drop_caches" \
	eq "$(nfs-ls "$URL/t/a/b$Q" | awk '{ print $NF }')" mnt-big
drop_caches
check "a write after drop_caches" nfs-cp "$T/small" "$URL/t/a/b/late$Q"
check "it reads back through the mount" same_file "$T/small" "$MNT/t/a/b/late"
mv "$MNT/t/a" "$MNT/t/a2"
drop_caches
nfs-cat "$URL/t/a2/b/mnt-big$Q" > "$T/got" 2>/dev/null
check "a file reads over NFS after its directory was renamed" same_file "$T/big" "$T/got"

stop_ganesha
check "unmount" umount_fs
finish
