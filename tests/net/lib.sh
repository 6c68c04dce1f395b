# lib.sh — helpers shared by the HTTP tests (sourced, POSIX sh).
#
#   . tests/net/lib.sh BUILD
#
# Sets G (the golite command), T (a temporary directory removed on exit);
# free_port picks a port nothing listens on; serve_start/serve_stop run
# `golite serve` on 127.0.0.1 and stop it by its pid; req prints the status
# of a curl request and keeps the body in $T/body; check/eq count results
# and finish prints "N passed, N failed". Every server a test started is
# killed on exit, pass or fail.

set -u

NET_HERE=$(cd "$(dirname "$0")" && pwd)
NET_ROOT=$(cd "$NET_HERE/../.." && pwd)
NET_BUILD=${1:-build}
case $NET_BUILD in
/*) ;;
*) NET_BUILD=$(cd "$NET_BUILD" 2>/dev/null && pwd || echo "$NET_ROOT/$NET_BUILD") ;;
esac
G=$NET_BUILD/golite

passed=0
failed=0
T=$(mktemp -d /tmp/golite-http.XXXXXX)
SERVER_PIDS=""

net_die() {
	echo "FATAL: $*" >&2
	echo "$passed passed, $((failed + 1)) failed"
	exit 1
}

[ -x "$G" ] || net_die "$G is missing: run make first"
command -v curl >/dev/null || net_die "curl is missing: make deps"
command -v ss >/dev/null || net_die "ss is missing: make deps"

net_cleanup() {
	trap - EXIT INT TERM
	for p in $SERVER_PIDS; do
		kill -9 "$p" 2>/dev/null
	done
	for p in $SERVER_PIDS; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$T"
}
trap net_cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

# free_port: a TCP port of 127.0.0.1 nothing listens on now, below the
# kernel's range of ephemeral ports: a port in that range may be the local
# end of a client's connection, and a listener's bind() then fails with
# EADDRINUSE although nothing listens (it made `golite serve` fail to
# start, three times in a row once, in test_http.sh).
free_port() {
	_eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$_eph" -gt 12000 ] || _eph=32768
	while :; do
		_fp=$(( ($(od -An -N2 -tu2 /dev/urandom) % (_eph - 10000)) + 10000 ))
		if ! ss -Htln "sport = :$_fp" | grep -q .; then
			echo "$_fp"
			return
		fi
	done
}

# wait_listen PORT PID: until PORT is listened on (or PID exited). Bounded
# at 2400 looks (two minutes or more): a TLS server on a loaded machine
# once took longer than the 30 s this allowed before.
wait_listen() {
	_wl=0
	while ! ss -Htln "sport = :$1" | grep -q .; do
		kill -0 "$2" 2>/dev/null || return 1
		_wl=$((_wl + 1))
		[ $_wl -gt 2400 ] && return 1
		sleep 0.05
	done
}

# serve_start DATADIR [golite options --] [serve options...]: starts
# `golite serve` on 127.0.0.1 and a free port; sets PORT, PID and URL.
# GLOBAL holds options for golite itself (e.g. --sync).
serve_start() {
	_dir=$1
	shift
	# A serve that does not start is reported on stdout and started once
	# more on another port, and a second failure is fatal. (The failures
	# seen were binds to ports in the ephemeral range, which free_port
	# no longer picks.)
	for _try in 1 2; do
		PORT=$(free_port)
		# shellcheck disable=SC2086
		"$G" ${GLOBAL:-} serve -c -l "127.0.0.1:$PORT" "$@" "$_dir" 2>>"$T/serve.log" &
		PID=$!
		SERVER_PIDS="$SERVER_PIDS $PID"
		URL=${SCHEME:-http}://127.0.0.1:$PORT
		wait_listen "$PORT" "$PID" && return 0
		_st=running
		kill -0 "$PID" 2>/dev/null || { wait "$PID"; _st="exit status $?"; }
		echo "note: golite serve $* $_dir did not start ($_st): $(tail -n 3 "$T/serve.log")"
		[ "$_st" = running ] && break
	done
	net_die "golite serve $* $_dir did not start ($_st): $(cat "$T/serve.log")"
}

# serve_stop: SIGTERM, and the exit status of the server in STOP_STATUS.
serve_stop() {
	kill -TERM "$PID"
	wait "$PID"
	STOP_STATUS=$?
}

# req METHOD PATH [curl options...]: prints the status; the body is in
# $T/body, the headers in $T/headers.
req() {
	_m=$1
	_p=$2
	shift 2
	curl -s -g -X "$_m" -o "$T/body" -D "$T/headers" -w '%{http_code}' ${CURL_OPTS:-} "$@" \
		"$URL$_p"
}

# header NAME: the value of a header of the last req.
header() {
	tr -d '\r' <"$T/headers" | awk -v n="$1" 'BEGIN { IGNORECASE = 1 }
		tolower($0) ~ "^" tolower(n) ":" { sub(/^[^:]*: */, ""); print; exit }'
}

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
	_desc=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL: $_desc" >&2
	fi
}

# eq A B: two strings are equal (prints both when not).
eq() {
	if [ "$1" = "$2" ]; then
		return 0
	fi
	echo "  expected [$2], got [$1]" >&2
	return 1
}

# status_is WANT CODE METHOD PATH [curl options...]: the request answers
# WANT, and an error (>= 400) carries the JSON body {"code":"CODE",...}.
status_is() {
	_want=$1
	_code=$2
	shift 2
	_got=$(req "$@")
	if [ "$_got" != "$_want" ]; then
		echo "  $*: expected status $_want, got $_got: $(head -c 300 "$T/body")" >&2
		return 1
	fi
	if [ "$_want" -ge 400 ] && ! grep -q "^{\"code\":\"$_code\",\"status\":$_want,\"message\":\".*\"}$" "$T/body"; then
		echo "  $*: expected a JSON error with code $_code, got: $(head -c 300 "$T/body")" >&2
		return 1
	fi
	return 0
}

# Background clients of a test: CLIENTS="$CLIENTS $!" after each, then
# wait_clients (jobs -p cannot be read from a subshell in every sh).
CLIENTS=""
wait_clients() {
	for _c in $CLIENTS; do
		wait "$_c"
	done
	CLIENTS=""
}

finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
