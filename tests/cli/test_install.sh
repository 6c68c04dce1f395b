#!/bin/sh
# Installation and integration: `make install DESTDIR=... PREFIX=/usr` into
# a temporary root, then examples/embed.c built against the installed
# header and library through pkg-config (as a program that embeds GoLite
# would be) and run; the installed golite reads what it wrote. Also renders
# the man pages with every troff warning on, and checks the example unit.
#
#   sh tests/cli/test_install.sh BUILD
set -u

build=${1:-build}
here=$(cd "$(dirname "$0")/../.." && pwd)
case $build in /*) ;; *) build=$here/$build ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/golite-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
root=$tmp/root
passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$*"
}
note() { printf 'note: %s\n' "$*"; }

# ---- make install -----------------------------------------------------------

if make -C "$here" --no-print-directory BUILD="$build" DESTDIR="$root" PREFIX=/usr install \
	>"$tmp/install.log" 2>&1; then
	pass
else
	fail "make install: $(tail -n 15 "$tmp/install.log")"
fi
for f in usr/bin/golite usr/lib/libgolite.a usr/include/golite.h usr/include/golite_raw.h \
	usr/include/golite_tools.h usr/lib/pkgconfig/golite.pc; do
	if [ -e "$root/$f" ]; then pass; else fail "make install did not install /$f"; fi
done

# ---- a program that embeds the library, built through pkg-config -----------

export PKG_CONFIG_PATH="$root/usr/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$root"
if flags=$(pkg-config --cflags --libs golite 2>"$tmp/pc.err"); then
	pass
else
	fail "pkg-config --cflags --libs golite: $(cat "$tmp/pc.err")"
fi
# A library built for the sanitizers (make asan-test) links only into a
# program built with them too.
san=""
if nm "$root/usr/lib/libgolite.a" 2>/dev/null | grep -q '__asan_'; then
	san="-fsanitize=address,undefined"
fi
# shellcheck disable=SC2086
if cc $san -o "$tmp/embed" "$here/examples/embed.c" ${flags:-} >"$tmp/cc.log" 2>&1; then
	pass
else
	why=$(grep -m 3 -e 'undefined reference' -e error "$tmp/cc.log")
	# shellcheck disable=SC2046
	if cc $san -o "$tmp/embed" "$here/examples/embed.c" $(pkg-config --cflags --libs --static golite) \
		>/dev/null 2>&1; then
		fail "embed.c does not link with \`pkg-config --cflags --libs golite\` ($why);" \
			"it links with --static: golite.pc must name, outside Requires.private and" \
			"Libs.private, the libraries the static libgolite.a needs"
	else
		fail "embed.c does not build against the installed library: $(head -c 800 "$tmp/cc.log")"
	fi
fi
if [ -x "$tmp/embed" ]; then
	if "$tmp/embed" "$tmp/data" >"$tmp/out" 2>&1; then pass; else fail "embed: $(cat "$tmp/out")"; fi
	if grep -q '^users/42 = {"name":"kim"}$' "$tmp/out" && grep -q '^ok, GoLite ' "$tmp/out"; then
		pass
	else
		fail "embed printed: $(cat "$tmp/out")"
	fi
	if [ "$(grep -c '^key ' "$tmp/out")" -eq 3 ]; then pass; else fail "embed listed: $(cat "$tmp/out")"; fi
	# The installed command reads what the program wrote.
	if [ -x "$root/usr/bin/golite" ]; then
		v=$("$root/usr/bin/golite" get "$tmp/data" users 43)
		if [ "$v" = '{"name":"park"}' ]; then pass; else fail "installed golite get: '$v'"; fi
		if "$root/usr/bin/golite" check -q "$tmp/data" >"$tmp/out" 2>&1; then
			pass
		else
			fail "installed golite check: $(cat "$tmp/out")"
		fi
	fi
fi

# ---- the programs, built against the installed library ---------------------

# golitefs and golite see the engine only through the installed headers and
# libgolite.a (whose only global symbols are golite_*): their own folder,
# net/ and common/ are compiled here, and no engine header is on the include path.
build_against_install() {
	prog=$1
	shift
	srcs=""
	incs=""
	for d in "$@" common; do
		srcs="$srcs $here/$d/*.c"
		incs="$incs -I$here/$d"
	done
	# The network front ends (net/) are part of both programs.
	extra=$(PKG_CONFIG_SYSROOT_DIR= pkg-config --cflags --libs libmicrohttpd jansson)
	[ "$prog" = golitefs ] &&
		extra="$extra $(PKG_CONFIG_SYSROOT_DIR= pkg-config --cflags --libs fuse3)"
	# shellcheck disable=SC2086
	if cc -std=gnu11 -O1 -D_GNU_SOURCE -pthread $san $incs -o "$tmp/$prog" $srcs \
		$(pkg-config --cflags --libs golite) $extra >"$tmp/$prog.log" 2>&1; then
		pass
	else
		fail "$prog does not build against the installed library: $(grep -m 5 -e error -e 'undefined reference' "$tmp/$prog.log")"
		return
	fi
	if "$tmp/$prog" --help 2>&1 | grep -q -i usage; then
		pass
	else
		fail "$prog built against the installed library does not run"
	fi
}
build_against_install golitefs fs net
build_against_install golite cli net

# ---- man pages and the example unit ----------------------------------------

for page in golite.1 golitefs.8; do
	sec=${page##*.}
	installed=$root/usr/share/man/man$sec/$page
	if [ -e "$installed" ] || [ -e "$installed.gz" ]; then
		pass
	else
		note "make install does not install $page yet (man/$page is in the tree)"
	fi
	if command -v groff >/dev/null 2>&1; then
		if groff -man -Tutf8 -ww -z "$here/man/$page" >"$tmp/groff.log" 2>&1 &&
			[ ! -s "$tmp/groff.log" ]; then
			pass
		else
			fail "man/$page has troff warnings: $(head -n 5 "$tmp/groff.log")"
		fi
	else
		note "groff is not installed: man/$page not rendered"
	fi
done
if command -v man >/dev/null 2>&1; then
	if MANWIDTH=80 man -l "$here/man/golite.1" 2>/dev/null | grep -q 'golite repair'; then
		pass
	else
		fail "man -l man/golite.1 does not render"
	fi
fi

unit=$here/examples/golitefs.service
for key in '^Type=forking$' '^ExecStart=.*golitefs ' '^ExecStop=.*fusermount3 -u ' '^WantedBy='; do
	if grep -q -e "$key" "$unit"; then pass; else fail "golitefs.service lacks $key"; fi
done
if command -v systemd-analyze >/dev/null 2>&1; then
	cp "$unit" "$tmp/golitefs.service"
	# Only the unit's syntax: the binaries are not installed here.
	systemd-analyze verify "$tmp/golitefs.service" 2>&1 |
		grep -v -e 'is not executable' -e "Command 'man " >"$tmp/verify.log"
	if [ -s "$tmp/verify.log" ]; then fail "golitefs.service: $(cat "$tmp/verify.log")"; else pass; fi
fi

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
