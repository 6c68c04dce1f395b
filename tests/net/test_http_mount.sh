#!/bin/sh
# The HTTP API beside the mount (golitefs -o http=...): a write over HTTP
# is visible through the mount at once (no waiting out a cache), including
# a name the kernel had cached as absent and a file it had cached the
# pages and size of; a file written through the mount can be read over
# HTTP; a delete over HTTP removes the file; a table made over HTTP is a
# directory. The change feed is one: a file made through the mount is on
# /v1/events, a PUT over HTTP in /.golite/events. With -o redis= too, a
# SET through redis-cli reads back through the mount at once. Also: a bad
# http option fails the mount before anything is mounted, and the server
# listens on loopback only.
#
#   sh tests/net/test_http_mount.sh BUILD

. "$(dirname "$0")/../fs/lib.sh"

command -v curl >/dev/null || die "curl is missing: make deps"
command -v redis-cli >/dev/null || die "redis-cli is missing: make deps"
# Ports below the ephemeral range, so no outgoing connection holds them.
PORT=$(while :; do
	p=$(( ($(od -An -N2 -tu2 /dev/urandom) % 12000) + 20000 ))
	ss -Htln "sport = :$p" | grep -q . || { echo "$p"; break; }
done)
URL=http://127.0.0.1:$PORT

expect_fail "a bad http option fails the mount" "http_threads=x" \
	"$GOLITEFS" -o http=127.0.0.1:$PORT,http_threads=x "$DATA" "$MNT"
check "  nothing mounted" sh -c "! mountpoint -q '$MNT'"

RPORT=$(while :; do
	p=$(( ($(od -An -N2 -tu2 /dev/urandom) % 12000) + 20000 ))
	[ "$p" != "$PORT" ] && ! ss -Htln "sport = :$p" | grep -q . && { echo "$p"; break; }
done)

mount_fs -o "http=127.0.0.1:$PORT,redis=127.0.0.1:$RPORT"
check "listens on 127.0.0.1 only" eq "$(ss -Htlnp | grep "pid=$MNT_PID," | awk '{ print $4 }' | sort)" \
	"$(printf '127.0.0.1:%s\n' "$PORT" "$RPORT" | sort)"

mkdir "$MNT/t"
# The kernel caches "k" as absent (negative_timeout is 10 s by default).
check "absent before" sh -c "! cat '$MNT/t/k' 2>/dev/null"
check "put over HTTP" eq "$(curl -s -o /dev/null -w '%{http_code}' -X PUT --data-binary v1 \
	"$URL/v1/t/t/k")" 204
check "visible through the mount at once" eq "$(cat "$MNT/t/k")" v1
# Now the kernel holds its pages and size: a longer value must show whole.
curl -s -X PUT --data-binary value-two "$URL/v1/t/t/k"
check "an overwrite shows at once" eq "$(cat "$MNT/t/k")" value-two
check "  with its size" eq "$(stat -c %s "$MNT/t/k")" 9
curl -s -X PUT --data-binary deep "$URL/v1/t/t/a/b/c"
check "a key below new directories" eq "$(cat "$MNT/t/a/b/c")" deep
check "  listed" eq "$(ls "$MNT/t" | tr '\n' ' ')" "a k "

echo "from the mount" >"$MNT/t/f"
check "a file written through the mount is GET-able" eq "$(curl -s "$URL/v1/t/t/f")" \
	"from the mount"
check "  with Last-Modified" sh -c "curl -sI '$URL/v1/t/t/f' | grep -qi '^Last-Modified: '"
head -c 200000 /dev/urandom >"$T/big"
cp "$T/big" "$MNT/t/big"
check "a large (chunked) file over HTTP" sh -c "curl -s '$URL/v1/t/t/big' | cmp -s - '$T/big'"

# A checkpoint over HTTP beside the mount: the mount takes it (counted in
# its stats); a directory inside the mount is refused.
check "a checkpoint over HTTP" eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST \
	--data-binary "{\"dir\":\"$T/ckpt\"}" "$URL/v1/checkpoint")" 201
check "  counted by the mount" grep -q '^fs_checkpoints 1$' "$MNT/.golite/stats"
check "  shown by /.golite/checkpoint" grep -q "^ok $T/ckpt sequence " "$MNT/.golite/checkpoint"
check "  a directory inside the mount is refused" eq "$(curl -s -o /dev/null -w '%{http_code}' \
	-X POST --data-binary "{\"dir\":\"$MNT/t/ckpt\"}" "$URL/v1/checkpoint")" 400
check "  it holds the chunked file" sh -c "'$BUILD/golite' get '$T/ckpt' t big | cmp -s - '$T/big'"

# Overwrite over HTTP a file made through the mount: the new bytes show,
# and stay after the daemon writes back what it held for the old file.
curl -s -X PUT --data-binary replaced "$URL/v1/t/t/f"
check "an HTTP overwrite of a mount file" eq "$(cat "$MNT/t/f")" replaced

check "delete over HTTP" eq "$(curl -s -o /dev/null -w '%{http_code}' -X DELETE \
	"$URL/v1/t/t/k")" 204
check "  gone from the mount" sh -c "! test -e '$MNT/t/k'"

curl -s -X PUT "$URL/v1/t/fresh" >/dev/null
check "a table made over HTTP is a directory" test -d "$MNT/fresh"

# One change feed: the mount's events on /v1/events, HTTP's in
# /.golite/events.
curl -s -N --max-time 30 "$URL/v1/events?table=t" >"$T/events" &
evpid=$!
exec 3<"$MNT/.golite/events"
n=0
while ! grep -q retry "$T/events" && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
echo mounted >"$MNT/t/viamount"
curl -s -X PUT --data-binary x "$URL/v1/t/t/viahttp"
n=0
while ! grep -q '"key":"viahttp"' "$T/events" && [ $n -lt 200 ]; do sleep 0.05; n=$((n + 1)); done
kill "$evpid" 2>/dev/null
wait "$evpid" 2>/dev/null
cat <&3 >"$T/feed"
exec 3<&-
check "a file made through the mount is on /v1/events" \
	grep -q '^data: {"seq":[0-9]*,"time":[0-9.]*,"op":"create","table":"t","path":"viamount"}$' \
	"$T/events"
check "a PUT over HTTP is in /.golite/events" grep -q '^[0-9]* [0-9.]* put t viahttp$' "$T/feed"

# The Redis protocol beside the mount: a SET reads back through the mount
# at once, the kernel having cached the name as absent.
check "absent before SET" sh -c "! cat '$MNT/t/viaredis' 2>/dev/null"
check "SET through redis" eq \
	"$(printf 'SELECT t\r\nSET viaredis r1\r\n' | redis-cli -p "$RPORT" | tail -n1)" OK
check "  visible through the mount at once" eq "$(cat "$MNT/t/viaredis")" r1
printf 'SELECT t\r\nSET viaredis longer-r2\r\n' | redis-cli -p "$RPORT" >/dev/null
check "  an overwrite too" eq "$(cat "$MNT/t/viaredis")" longer-r2
printf 'SELECT t\r\nDEL viaredis\r\n' | redis-cli -p "$RPORT" >/dev/null
check "  a DEL removes the file" sh -c "! test -e '$MNT/t/viaredis'"

# RESP writes take the mount's namespace lock: SETs of keys under a
# directory while the mount renames it back and forth lose nothing. Each
# of 10 keys is set 40 times, each time to a higher value, in one
# pipelined stream; the directory moves d -> e -> d 30 times meanwhile.
# At the end, the store holds the last value of every key under d/ or e/
# (a SET that interleaved with a rename's rewriting could be dropped by
# it); read with GET, not through the kernel's caches.
mkdir "$MNT/t/d"
i=1
: >"$T/sets"
while [ $i -le 400 ]; do
	printf 'SET d/k%d v%04d\r\n' $((i % 10)) $i >>"$T/sets"
	i=$((i + 1))
done
{
	printf 'SELECT t\r\n'
	cat "$T/sets"
} | redis-cli -p "$RPORT" >"$T/sets.out" &
setter=$!
j=0
while [ $j -lt 30 ]; do
	# -T: rename(2) itself. A SET between two renames can make the
	# other name exist (its key implies the directory); plain mv would
	# then move the directory into it (d/e/k...), out of what the
	# check reads, where rename(2) fails and leaves both names.
	mv -T "$MNT/t/d" "$MNT/t/e" 2>/dev/null
	mv -T "$MNT/t/e" "$MNT/t/d" 2>/dev/null
	j=$((j + 1))
done
wait $setter
check "every SET answered OK" eq "$(grep -c '^OK$' "$T/sets.out")" 401
lost=0
k=0
while [ $k -le 9 ]; do
	last=$(grep "k$k " "$T/sets" | tail -n1 | sed 's/.* //; s/\r$//')
	[ "$(printf 'SELECT t\r\nGET d/k%d\r\n' $k | redis-cli -p "$RPORT" | tail -n1)" = "$last" ] ||
		[ "$(printf 'SELECT t\r\nGET e/k%d\r\n' $k | redis-cli -p "$RPORT" | tail -n1)" = "$last" ] ||
		{ lost=$((lost + 1)); echo "k$k: want $last" >&2; }
	k=$((k + 1))
done
check "no SET lost to a directory rename" eq "$lost" 0

umount_fs
# After the remount, the values are the HTTP ones.
mount_fs
check "after remount" eq "$(cat "$MNT/t/f")" replaced
check "  deep key" eq "$(cat "$MNT/t/a/b/c")" deep
umount_fs

finish
