#!/bin/sh
# test_keys.sh — keys written through the C API as the mount shows them,
# and names created through the mount as the API sees them: the escaping
# of fs/escape.h both ways (plus its unit test), directories implied by
# keys, API values taking metadata on their first change, golite_get of a
# chunked file, and the sweep of chunks orphaned by an API overwrite.
#
#   sh tests/fs/test_keys.sh BUILD
. "$(dirname "$0")/lib.sh"

KEYS=$TESTBIN/keys
[ -x "$KEYS" ] || die "$KEYS is missing: run make first"
[ -x "$TESTBIN/escape_unit" ] || die "$TESTBIN/escape_unit is missing: run make first"

check "escape unit test" "$TESTBIN/escape_unit"

hex() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
# rep HEXBYTE N: the byte repeated N times, in hex.
rep() {
	r=""
	i=0
	while [ "$i" -lt "$2" ]; do
		r="$r$1"
		i=$((i + 1))
	done
	printf '%s' "$r"
}
filehex() { od -An -tx1 -v < "$1" | tr -d ' \n'; }

L126=$(rep 4c 126)
L48=$(rep 4c 48)
N125=$(rep 4e 125)
N74=$(rep 4e 74)
# KEY(hex) PATH-IN-TABLE, for keys written through the API.
cat > "$T/cases" <<EOF
$(hex plain) /plain
$(hex /lead) /%/lead
$(hex trail/) /trail/%
$(hex a//b) /a/%/b
$(hex .) /%2e
$(hex ..) /%2e2e
$(hex x/./y) /x/%2e/y
6e756c0062797465 /%6e756c0062797465
$(hex %41) /%41
$(hex %2e) /%253265
$(hex %+foo) /%252b666f6f
$(hex %_bar) /%255f626172
$(hex c) /c
$(hex c/d) /%_63/d
$(rep 4c 300) /%+$L126/%+$L126/%$L48
00$N125$N74 /%+00$N125/%$N74
$(hex 'z/ü') /z/ü
$(hex i/j/k) /i/j/k
$(hex 100%) /100%
EOF
args=""
while read -r k p; do
	args="$args $k $(hex "value of $p")"
done < "$T/cases"
# shellcheck disable=SC2086
check "keys written through the API" "$KEYS" put "$DATA" esc $args

mount_fs
while read -r k p; do
	check "API key $p reads back" eq "$(filehex "$MNT/esc$p" 2>/dev/null)" "$(hex "value of $p")"
done < "$T/cases"
LC_ALL=C sort > "$T/want.ls" <<EOF
/%
/%/lead
/%+$L126
/%+$L126/%+$L126
/%+$L126/%+$L126/%$L48
/%+00$N125
/%+00$N125/%$N74
/%252b666f6f
/%253265
/%255f626172
/%2e
/%2e2e
/%41
/%6e756c0062797465
/%_63
/%_63/d
/100%
/a
/a/%
/a/%/b
/c
/i
/i/j
/i/j/k
/plain
/trail
/trail/%
/x
/x/%2e
/x/%2e/y
/z
/z/ü
EOF
(cd "$MNT/esc" && find . -mindepth 1 | sed 's|^\.||' | LC_ALL=C sort) > "$T/got.ls"
check "the listing shows every key under its escaped name" diff "$T/want.ls" "$T/got.ls"
check "an implied directory is a directory" test -d "$MNT/esc/i/j"
check "unmount" umount_fs
# Again with the index of implied directories built (fs_files_counted) and
# no kernel caching, so that every name is looked up by the daemon.
mount_fs -o entry_timeout=0,attr_timeout=0,negative_timeout=0
i=0
while ! grep -q '^fs_files_counted 1' "$MNT/.golite/stats" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "the key scan finished" grep -q '^fs_files_counted 1' "$MNT/.golite/stats"
(cd "$MNT/esc" && find . -mindepth 1 | sed 's|^\.||' | LC_ALL=C sort) > "$T/got2.ls"
check "the same listing with the index" diff "$T/want.ls" "$T/got2.ls"
check "implied directories found through the index" sh -c "test -d '$MNT/esc/i/j' && test -d '$MNT/esc/%_63' && test -d '$MNT/esc/a/%'"
check "names that are not there are not" sh -c "! test -e '$MNT/esc/i/nope' && ! test -e '$MNT/esc/nope'"
# An implied directory renamed gets a record at its new name.
check "rename an implied directory" sh -c "mkdir -p '$MNT/esc/imp' && mv '$MNT/esc/x' '$MNT/esc/imp/x2'"
check "the renamed implied directory keeps its keys" eq "$(filehex "$MNT/esc/imp/x2/%2e/y")" "$(hex "value of /x/%2e/y")"
check "a file and a directory of one name: the file" test -f "$MNT/esc/c"
check "a file and a directory of one name: the view" test -d "$MNT/esc/%_63"
check "API values have default modes" eq "$(stat -c '%a %F' "$MNT/esc/plain")" "644 regular file"
ino=$(stat -c %i "$MNT/esc/plain")
check "a stable inode number for an API key" eq "$(stat -c %i "$MNT/esc/plain")" "$ino"
check "chmod gives an API key metadata" chmod 600 "$MNT/esc/plain"
check "and keeps its bytes" eq "$(cat "$MNT/esc/plain")" "value of /plain"
check "setfattr on an API key" setfattr -n user.k -v v "$MNT/esc/%41"
check "rm of the last key keeps its directory" sh -c "rm '$MNT/esc/i/j/k' && test -d '$MNT/esc/i/j'"

# Names created through the mount.
mkdir "$MNT/esc/m" "$MNT/esc/new"
check "a file named %" sh -c "echo v > '$MNT/esc/m/%'"
check "a file named %2e" sh -c "echo v > '$MNT/esc/new/%2e'"
check "a file named %41b" sh -c "echo v > '$MNT/esc/%41b'"
check "a file named %2e%2e" sh -c "echo v > '$MNT/esc/%2e%2e'"
check "a file named %25" sh -c "echo v > '$MNT/esc/%25'"
M126=$(rep 4d 126)
M10=$(rep 4d 10)
check "a long key through its pieces" sh -c "echo v > '$MNT/esc/%+$M126/%+$M126/%$M10'"
check "an escaped long key through its pieces" sh -c "echo v > '$MNT/esc/%+00$(rep 50 125)/%$(rep 50 5)'"
mkdir "$MNT/esc2"
expect_fail "%% alone at the top is the empty key" "Invalid argument" sh -c "echo v > '$MNT/esc2/%'"
check "%% at the top is the directory of keys starting with /" test -d "$MNT/esc/%"
expect_fail "a name starting with %+ cannot be created" "Invalid argument" touch "$MNT/esc/%+zz"
expect_fail "a name starting with %_ cannot be created" "Invalid argument" touch "$MNT/esc/%_63x"
check "mv of an escaped name" mv "$MNT/esc/%2e2e" "$MNT/esc/dotdot"
head -c 100000 /dev/urandom > "$T/big"
cp "$T/big" "$MNT/esc/big"
check "listing of created names" sh -c "ls -a '$MNT/esc/m' | grep -qx '%' && ls '$MNT/esc' | grep -qx '%41b'"
check "unmount" umount_fs

"$KEYS" dump "$DATA" esc > "$T/dump"
has_key() { grep -q "^$1 " "$T/dump"; }
check "API sees key m/" has_key "$(hex m/)"
check "API sees key new/." has_key "$(hex new/.)"
check "API sees key %41b" has_key "$(hex %41b)"
check "API sees key %2e%2e" has_key "$(hex %2e%2e)"
check "API sees key %" has_key "25"
check "API sees the long key" has_key "$(rep 4d 262)"
check "API sees the escaped long key" has_key "00$(rep 50 130)"
check "API sees the renamed key" has_key "$(hex dotdot)"
check "the old name is gone" sh -c "! grep -q '^$(hex ..) ' '$T/dump'"
check "API sees a directory made by mkdir" grep -q "^$(hex m) dir" "$T/dump"
check "API sees the directory kept by rm" grep -q "^$(hex i/j) dir" "$T/dump"
check "API sees the record of the renamed implied directory" grep -q "^$(hex imp/x2) dir" "$T/dump"
check "API sees its keys moved" has_key "$(hex imp/x2/./y)"
check "API: a value changed by chmod keeps its bytes" eq "$("$KEYS" get "$DATA" esc "$(hex plain)")" "$(hex "value of /plain")"
check "golite_get of a chunked file returns all of it" eq "$("$KEYS" get "$DATA" esc "$(hex big)")" "$(filehex "$T/big")"

# Overwrite the chunked file through the API: its chunks are orphaned
# until the sweep at the next mount.
check "overwrite a chunked key through the API" "$KEYS" put "$DATA" esc "$(hex big)" "$(hex small)"
mount_fs
check "the overwritten key reads the new value" eq "$(cat "$MNT/esc/big")" small
i=0
while ! grep -q '^fs_sweep_orphan_inodes [1-9]' "$MNT/.golite/stats" && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
check "the sweep freed the orphaned chunks" grep -q '^fs_sweep_chunks_deleted 2[0-9]$' "$MNT/.golite/stats"
check "the mode given through the mount survived" eq "$(stat -c %a "$MNT/esc/plain")" 600
check "the xattr given through the mount survived" eq "$(getfattr --absolute-names --only-values -n user.k "$MNT/esc/%41")" v
check "unmount" umount_fs

finish
