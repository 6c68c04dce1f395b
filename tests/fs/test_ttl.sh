#!/bin/sh
# test_ttl.sh — files that expire (fs/ttl.c): setfattr -n user.golite.ttl
# sets a time to live, getfattr shows the seconds left, setfattr -x
# removes it; chmod, writes, renames and a remount keep it; at its expiry
# the name is gone from stat, ls, cat, and the change feed says "expire";
# a big (chunked) file's space is freed; a file open at its expiry keeps
# its bytes until closed; a key given a time to live with `golite put
# --ttl` before the mount expires through it too. Bad values (not a
# number, negative, zero, too large), directories and files with two
# names are refused with their errno and change nothing. Waits are bounded
# polls, never timing assertions.
#
#   sh tests/fs/test_ttl.sh BUILD
. "$(dirname "$0")/lib.sh"

GOLITE=$BUILD/golite

ttl_of() {
	getfattr --absolute-names --only-values -n user.golite.ttl "$1" 2>/dev/null
}

# gone PATH: waits up to 30 s for PATH to vanish.
gone() {
	_g_n=0
	while [ -e "$1" ] || [ -L "$1" ]; do
		_g_n=$((_g_n + 1))
		[ $_g_n -gt 600 ] && return 1
		sleep 0.05
	done
	return 0
}

# stat_of NAME: a figure of /.golite/stats.
stat_of() {
	awk -v n="$1" '$1 == n { print $2 }' "$MNT/.golite/stats"
}

mount_fs
mkdir "$MNT/t"
echo hello > "$MNT/t/a"
check "no time to live at first" eq "$(ttl_of "$MNT/t/a")" ""
check "setfattr sets one" setfattr -n user.golite.ttl -v 3600 "$MNT/t/a"
left=$(ttl_of "$MNT/t/a")
check "getfattr shows the seconds left ($left)" test "$left" -ge 3599 -a "$left" -le 3600
check "listxattr names it" sh -c "getfattr --absolute-names -d -m - '$MNT/t/a' | grep -q user.golite.ttl"
check "the contents are untouched" eq "$(cat "$MNT/t/a")" hello

# Changes through the mount keep it.
chmod 600 "$MNT/t/a"
echo more >> "$MNT/t/a"
setfattr -n user.other -v x "$MNT/t/a"
mv "$MNT/t/a" "$MNT/t/b"
left=$(ttl_of "$MNT/t/b")
check "chmod, append, another attribute and a rename keep it ($left)" test "$left" -ge 3590
check "the renamed file reads" eq "$(cat "$MNT/t/b")" "$(printf 'hello\nmore')"
umount_fs
mount_fs
left=$(ttl_of "$MNT/t/b")
check "a remount keeps it ($left)" test "$left" -ge 3590
check "the mode is kept" eq "$(stat -c %a "$MNT/t/b")" 600
check "setfattr -x removes it" setfattr -x user.golite.ttl "$MNT/t/b"
check "then there is none" eq "$(ttl_of "$MNT/t/b")" ""
expect_fail "removing none" "No such attribute" setfattr -x user.golite.ttl "$MNT/t/b"
check "the other attribute stays" eq "$(getfattr --absolute-names --only-values -n user.other "$MNT/t/b")" x

# Bad input changes nothing.
echo keep > "$MNT/t/k"
for v in abc -5 0 1.5 "" 99999999999999999999 3155760001; do
	expect_fail "ttl \"$v\" refused" "Invalid argument" setfattr -n user.golite.ttl -v "$v" "$MNT/t/k"
done
check "none was set" eq "$(ttl_of "$MNT/t/k")" ""
check "the largest is taken" setfattr -n user.golite.ttl -v 3155760000 "$MNT/t/k"
setfattr -x user.golite.ttl "$MNT/t/k"
mkdir "$MNT/t/dir"
expect_fail "a directory takes none" "Operation not permitted" setfattr -n user.golite.ttl -v 5 "$MNT/t/dir"
expect_fail "a table takes none" "Operation not permitted" setfattr -n user.golite.ttl -v 5 "$MNT/t"
echo linked > "$MNT/t/l"
ln "$MNT/t/l" "$MNT/t/l2"
expect_fail "a file with two names takes none" "Operation not permitted" setfattr -n user.golite.ttl -v 5 "$MNT/t/l"
rm "$MNT/t/l2"
expect_fail "nor one that had two" "Operation not permitted" setfattr -n user.golite.ttl -v 5 "$MNT/t/l"
rm "$MNT/t/l"
setfattr -n user.golite.ttl -v 3600 "$MNT/t/k"
expect_fail "a file that expires takes no second name" "Operation not permitted" ln "$MNT/t/k" "$MNT/t/k3"
check "no second name was made" test ! -e "$MNT/t/k3"
setfattr -x user.golite.ttl "$MNT/t/k"

# Expiry: gone from every view, reported on the feed.
exec 3<"$MNT/.golite/events"
echo small > "$MNT/t/small"
head -c 3000000 /dev/urandom > "$MNT/t/big"
mkdir -p "$MNT/t/sub"
echo deep > "$MNT/t/sub/deep"
ls -l "$MNT/t" "$MNT/t/sub" >/dev/null   # the kernel caches the names
before=$(stat_of expired_keys)
setfattr -n user.golite.ttl -v 1 "$MNT/t/small"
setfattr -n user.golite.ttl -v 1 "$MNT/t/big"
setfattr -n user.golite.ttl -v 1 "$MNT/t/sub/deep"
check "small expires" gone "$MNT/t/small"
check "big expires" gone "$MNT/t/big"
check "deep expires" gone "$MNT/t/sub/deep"
expect_fail "cat of an expired file" "No such file" cat "$MNT/t/small"
check "ls no longer lists them" eq "$(ls "$MNT/t" | tr '\n' ' ')" "b dir k sub "
check "ls of the directory" eq "$(ls "$MNT/t/sub")" ""
check "the store counts three expired keys" eq "$(stat_of expired_keys)" "$((before + 3))"
timeout 5 cat <&3 > "$T/events" 2>/dev/null
exec 3<&-
check "the feed says expire" grep -q ' expire t small$' "$T/events"
check "for the big one too" grep -q ' expire t big$' "$T/events"
check "and the one in a directory" grep -q ' expire t sub/deep$' "$T/events"
check "the name can be made again" sh -c "echo again > '$MNT/t/small' && [ \"\$(cat '$MNT/t/small')\" = again ]"
check "without a time to live" eq "$(ttl_of "$MNT/t/small")" ""

# A file open at its expiry keeps its bytes until closed.
echo "still here" > "$MNT/t/open"
exec 4<"$MNT/t/open"
setfattr -n user.golite.ttl -v 1 "$MNT/t/open"
check "the open file's name expires" gone "$MNT/t/open"
check "its descriptor still reads it" eq "$(cat <&4)" "still here"
exec 4<&-

umount_fs
check "golite check passes" "$GOLITE" check "$DATA"

# A key given a time to live through the CLI expires on the mount.
"$GOLITE" put --ttl 2 --value value "$DATA" t cli
check "golite ttl shows it" sh -c "\"$GOLITE\" ttl '$DATA' t cli | grep -Eq '^[12]$'"
mount_fs
check "it is seen first" eq "$(cat "$MNT/t/cli")" value
left=$(ttl_of "$MNT/t/cli")
check "getfattr shows its time to live ($left)" test "${left:-0}" -ge 1 -a "${left:-0}" -le 2
check "then it expires" gone "$MNT/t/cli"
umount_fs
expect_fail "golite put --ttl with a bad number" "time to live" "$GOLITE" put --ttl x --value v "$DATA" t z
expect_fail "golite put --ttl 0" "time to live" "$GOLITE" put --ttl 0 --value v "$DATA" t z
check "nothing was written" sh -c "! \"$GOLITE\" get '$DATA' t z 2>/dev/null"

finish
