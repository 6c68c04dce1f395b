# etcd_lib.sh — etcd servers for the tests of the store's etcd backend
# (store/; sourced, POSIX sh):
#
#   here=$(cd "$(dirname "$0")/../.." && pwd)
#   . "$here/tests/store/etcd_lib.sh"
#   tmp=$(mktemp -d "${TMPDIR:-/tmp}/golite-NAME.XXXXXX") || exit 1
#   trap 'etcd_cluster_stop; rm -rf "$tmp"' EXIT
#   trap 'exit 1' INT TERM HUP
#   etcd_cluster_start "$tmp" 3 || exit 1
#
# One cluster per shell, of N members m1..mN, all on 127.0.0.1, each with
# a client and a peer port this file picks below the kernel's ephemeral
# range (a port in that range may be the local end of some connection, and
# a bind() to it fails though nothing listens there). Member K keeps its
# data in DIR/mK, logs to DIR/mK.log and its pid in DIR/mK.pid and
# $etcd_pid_K (empty while it is not running); its ports are in
# $etcd_client_port_K and $etcd_peer_port_K, the member count in
# $etcd_members. Elections are fast (heartbeat 50 ms, election timeout
# 500 ms). Call the functions directly, never in $(...) or a pipeline
# (except those that print: etcd_endpoints, etcd_endpoint,
# etcd_live_endpoints, etcd_leader): the others set shell variables.
#
#   etcd_cluster_start DIR N   start N members (DIR/mK made anew), wait
#                              until every one answers `endpoint health`
#   etcd_endpoints             127.0.0.1:PORT,... of every member
#   etcd_endpoint K            127.0.0.1:PORT of member K
#   etcd_live_endpoints        those of the members running
#   etcd_leader                index of the leader, or status 1
#   etcd_wait_leader [S]       wait (S seconds, 20) until there is a leader
#   etcd_kill K [SIG]          signal member K (KILL) and wait for its exit
#   etcd_restart K...          start members again on their data, wait
#                              until each is healthy
#   etcd_alive K               status 0 if member K runs
#   etcd_ctl ARGS...           etcdctl against every member's endpoint
#   etcd_cluster_stop          SIGKILL every member running, wait for them
#
# Waits are bounded: $etcd_timeout seconds (20) for a start or restart,
# 10 s for a process to exit. Every failure is reported on stderr, and
# when a member does not start or become healthy, with the tails of the
# logs. The functions return nonzero on failure and never exit. ETCDCTL_API=3 is
# exported for the test's own etcdctl commands.

ETCDCTL_API=3
export ETCDCTL_API
: "${etcd_timeout:=20}"
: "${etcd_members:=0}"
: "${etcd_dir:=}"
etcd_port_seq=${etcd_port_seq:-0}
etcd_start_seq=${etcd_start_seq:-0}

# _etcd_say MESSAGE: a diagnostic, on stderr.
_etcd_say() {
	printf 'etcd_lib: %s\n' "$*" >&2
}

# _etcd_member K: K is a member of the cluster (1..etcd_members).
_etcd_member() {
	case $1 in
	'' | *[!0-9]*) ;;
	*) [ "$1" -ge 1 ] && [ "$1" -le "$etcd_members" ] && return 0 ;;
	esac
	_etcd_say "no member \"$1\" (the cluster has $etcd_members)"
	return 1
}

# _etcd_running PID: PID is a process that has not exited (a zombie, not
# yet waited for, has).
_etcd_running() {
	if [ -d /proc/self ]; then
		_etcd_st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
		case $_etcd_st in
		'' | Z | X) return 1 ;;
		esac
		return 0
	fi
	kill -0 "$1" 2>/dev/null
}

# _etcd_reap PID: waits (10 s at most, then SIGKILL and 5 s more) until
# PID has exited, and reaps it if it is a child of this shell.
_etcd_reap() {
	_etcd_n=0
	while _etcd_running "$1"; do
		_etcd_n=$((_etcd_n + 1))
		if [ $_etcd_n -eq 200 ]; then
			_etcd_say "pid $1 still runs 10 s after the signal: SIGKILL"
			kill -9 "$1" 2>/dev/null
		elif [ $_etcd_n -ge 300 ]; then
			_etcd_say "pid $1 did not exit"
			return 1
		fi
		sleep 0.05
	done
	wait "$1" 2>/dev/null
	return 0
}

# _etcd_port_busy PORT: something listens on TCP PORT.
_etcd_port_busy() {
	if command -v ss >/dev/null 2>&1; then
		ss -Htln "sport = :$1" | grep -q .
		return
	fi
	awk -v p="$(printf '%04X' "$1")" '
		{ n = split($2, a, ":"); if (a[n] == p && $4 == "0A") f = 1 }
		END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# _etcd_pick_ports: sets etcd_client_port_K and etcd_peer_port_K for every
# member, ports nothing listens on. Each shell starts at its own block of
# 16 ports in [lo, lo + span) (20000-27999 when the ephemeral range starts
# above it), so that tests run side by side seldom meet; etcd_port_seq
# moves on at every pick, so that a new cluster takes new ports.
_etcd_pick_ports() {
	_etcd_eph=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	case $_etcd_eph in '' | *[!0-9]*) _etcd_eph=32768 ;; esac
	_etcd_lo=20000
	_etcd_span=8000
	if [ "$_etcd_eph" -le $((_etcd_lo + _etcd_span)) ]; then
		_etcd_lo=10000
		_etcd_span=$((_etcd_eph - _etcd_lo))
		if [ "$_etcd_span" -lt 256 ]; then
			_etcd_say "the ephemeral port range starts at $_etcd_eph: no room below it"
			return 1
		fi
	fi
	_etcd_block=$(($$ % (_etcd_span / 16) * 16))
	_etcd_taken=" "
	_etcd_k=1
	while [ $_etcd_k -le "$etcd_members" ]; do
		for _etcd_which in client peer; do
			_etcd_tries=0
			while :; do
				_etcd_tries=$((_etcd_tries + 1))
				if [ $_etcd_tries -gt 500 ]; then
					_etcd_say "no free port found"
					return 1
				fi
				_etcd_port=$((_etcd_lo + (_etcd_block + etcd_port_seq) % _etcd_span))
				etcd_port_seq=$((etcd_port_seq + 1))
				case $_etcd_taken in *" $_etcd_port "*) continue ;; esac
				_etcd_port_busy "$_etcd_port" || break
			done
			_etcd_taken="$_etcd_taken$_etcd_port "
			eval "etcd_${_etcd_which}_port_$_etcd_k=$_etcd_port"
		done
		_etcd_k=$((_etcd_k + 1))
	done
	return 0
}

# _etcd_spawn K STATE: starts member K in the background, with
# --initial-cluster-state STATE, its output appended to DIR/mK.log.
_etcd_spawn() {
	_etcd_cp=$(eval "echo \$etcd_client_port_$1")
	_etcd_pp=$(eval "echo \$etcd_peer_port_$1")
	etcd --name "m$1" --data-dir "$etcd_dir/m$1" \
		--listen-client-urls "http://127.0.0.1:$_etcd_cp" \
		--advertise-client-urls "http://127.0.0.1:$_etcd_cp" \
		--listen-peer-urls "http://127.0.0.1:$_etcd_pp" \
		--initial-advertise-peer-urls "http://127.0.0.1:$_etcd_pp" \
		--initial-cluster "$etcd_initial_cluster" \
		--initial-cluster-state "$2" \
		--initial-cluster-token "$etcd_token" \
		--heartbeat-interval 50 --election-timeout 500 \
		--logger zap --log-outputs stderr \
		</dev/null >>"$etcd_dir/m$1.log" 2>&1 &
	eval "etcd_pid_$1=$!"
	echo $! >"$etcd_dir/m$1.pid"
}

# _etcd_forget K: member K has exited (and was reaped).
_etcd_forget() {
	eval "etcd_pid_$1="
	rm -f "$etcd_dir/m$1.pid"
}

# _etcd_healthy K: member K answers `endpoint health` (a read that goes
# through the leader: the cluster has a quorum and K has caught up).
_etcd_healthy() {
	etcdctl --endpoints="127.0.0.1:$(eval "echo \$etcd_client_port_$1")" \
		--dial-timeout=1s --command-timeout=1s endpoint health >/dev/null 2>&1
}

# _etcd_tails K...: the last lines of the logs of members K... on stderr.
_etcd_tails() {
	for _etcd_t in "$@"; do
		echo "---- $etcd_dir/m$_etcd_t.log (last 15 lines) ----" >&2
		tail -n 15 "$etcd_dir/m$_etcd_t.log" >&2 2>/dev/null
	done
}

# _etcd_wait_healthy SECONDS K...: waits until members K... are healthy.
# Returns 1 on timeout or if one of them exited, and 2 if one exited
# because one of its ports was taken. Members that exited are reaped and
# forgotten.
_etcd_wait_healthy() {
	_etcd_secs=$1
	_etcd_deadline=$(($(date +%s) + _etcd_secs))
	shift
	_etcd_pending=$*
	while :; do
		_etcd_left=""
		for _etcd_w in $_etcd_pending; do
			eval "_etcd_pid=\${etcd_pid_$_etcd_w:-}"
			if [ -z "$_etcd_pid" ] || ! _etcd_running "$_etcd_pid"; then
				_etcd_rc=unknown
				if [ -n "$_etcd_pid" ]; then
					wait "$_etcd_pid" 2>/dev/null
					_etcd_rc=$?
				fi
				_etcd_forget "$_etcd_w"
				if grep -q 'address already in use' "$etcd_dir/m$_etcd_w.log"; then
					_etcd_say "m$_etcd_w: one of its ports was taken (by some other program)"
					return 2
				fi
				_etcd_say "m$_etcd_w exited (status $_etcd_rc) before it was healthy"
				_etcd_tails "$_etcd_w"
				return 1
			fi
			_etcd_healthy "$_etcd_w" || _etcd_left="$_etcd_left $_etcd_w"
		done
		_etcd_pending=$_etcd_left
		[ -z "$_etcd_pending" ] && return 0
		if [ "$(date +%s)" -ge "$_etcd_deadline" ]; then
			_etcd_say "not healthy after $_etcd_secs s: member(s)$_etcd_pending"
			return 1
		fi
		sleep 0.2
	done
}

# etcd_cluster_start DIR N: starts members m1..mN (data in DIR/mK, which is
# removed first) as a new cluster with its own token, and waits until each
# member is healthy (so the cluster has a leader). A member that could not
# bind its ports makes a new start on other ports (three tries). On
# failure, prints the tails of the logs, stops what it started and
# returns 1.
etcd_cluster_start() {
	if [ $# -ne 2 ] || [ ! -d "$1" ]; then
		_etcd_say "usage: etcd_cluster_start DIR N (DIR an existing directory)"
		return 1
	fi
	case $2 in
	[1-9]) ;;
	*)
		_etcd_say "etcd_cluster_start: N must be 1 to 9, not \"$2\""
		return 1
		;;
	esac
	for _etcd_cmd in etcd etcdctl; do
		if ! command -v $_etcd_cmd >/dev/null 2>&1; then
			_etcd_say "no $_etcd_cmd: install etcd (make deps)"
			return 1
		fi
	done
	_etcd_k=1
	while [ $_etcd_k -le "$etcd_members" ]; do
		if [ -n "$(eval "echo \${etcd_pid_$_etcd_k:-}")" ]; then
			_etcd_say "a cluster runs already: etcd_cluster_stop it first"
			return 1
		fi
		_etcd_k=$((_etcd_k + 1))
	done
	etcd_dir=$(cd "$1" && pwd)
	etcd_members=$2
	_etcd_try=1
	while :; do
		_etcd_pick_ports || return 1
		etcd_start_seq=$((etcd_start_seq + 1))
		etcd_token=golite-test-$$-$(date +%s)-$etcd_start_seq
		etcd_initial_cluster=""
		_etcd_k=1
		while [ $_etcd_k -le "$etcd_members" ]; do
			etcd_initial_cluster="$etcd_initial_cluster${etcd_initial_cluster:+,}m$_etcd_k=http://127.0.0.1:$(eval "echo \$etcd_peer_port_$_etcd_k")"
			_etcd_k=$((_etcd_k + 1))
		done
		_etcd_all=""
		_etcd_k=1
		while [ $_etcd_k -le "$etcd_members" ]; do
			rm -rf "$etcd_dir/m$_etcd_k"
			: >"$etcd_dir/m$_etcd_k.log"
			_etcd_spawn $_etcd_k new
			_etcd_all="$_etcd_all $_etcd_k"
			_etcd_k=$((_etcd_k + 1))
		done
		# shellcheck disable=SC2086
		_etcd_wait_healthy "$etcd_timeout" $_etcd_all
		_etcd_rc=$?
		if [ $_etcd_rc -eq 0 ] && etcd_wait_leader 5; then
			return 0
		fi
		if [ $_etcd_rc -eq 2 ] && [ $_etcd_try -lt 3 ]; then
			etcd_cluster_stop
			_etcd_try=$((_etcd_try + 1))
			continue
		fi
		_etcd_say "the cluster of $etcd_members in $etcd_dir did not start"
		# shellcheck disable=SC2086
		_etcd_tails $_etcd_all
		etcd_cluster_stop
		return 1
	done
}

# etcd_endpoints: 127.0.0.1:PORT of every member, comma-separated.
etcd_endpoints() {
	_etcd_eps=""
	_etcd_k=1
	while [ $_etcd_k -le "$etcd_members" ]; do
		_etcd_eps="$_etcd_eps${_etcd_eps:+,}127.0.0.1:$(eval "echo \$etcd_client_port_$_etcd_k")"
		_etcd_k=$((_etcd_k + 1))
	done
	echo "$_etcd_eps"
}

# etcd_endpoint K: 127.0.0.1:PORT of member K.
etcd_endpoint() {
	_etcd_member "${1:-}" || return 1
	echo "127.0.0.1:$(eval "echo \$etcd_client_port_$1")"
}

# etcd_live_endpoints: like etcd_endpoints, of the members running.
etcd_live_endpoints() {
	_etcd_eps=""
	_etcd_k=1
	while [ $_etcd_k -le "$etcd_members" ]; do
		if etcd_alive $_etcd_k; then
			_etcd_eps="$_etcd_eps${_etcd_eps:+,}127.0.0.1:$(eval "echo \$etcd_client_port_$_etcd_k")"
		fi
		_etcd_k=$((_etcd_k + 1))
	done
	echo "$_etcd_eps"
}

# etcd_alive K: member K was started and has not exited.
etcd_alive() {
	_etcd_member "${1:-}" 2>/dev/null || return 1
	eval "_etcd_pid=\${etcd_pid_$1:-}"
	[ -n "$_etcd_pid" ] && _etcd_running "$_etcd_pid"
}

# etcd_leader: prints the index of the leader. Asks every running member
# for its status (member id, the leader it knows, raft term); the leader
# is the member that names itself leader in the highest term any member
# reports. Returns 1 if there is none (elections under way, no quorum, or
# the leader known to the others does not answer).
etcd_leader() {
	_etcd_rows=""
	_etcd_k=1
	while [ $_etcd_k -le "$etcd_members" ]; do
		if etcd_alive $_etcd_k; then
			_etcd_row=$(etcdctl --endpoints="127.0.0.1:$(eval "echo \$etcd_client_port_$_etcd_k")" \
				--dial-timeout=1s --command-timeout=1s endpoint status -w fields 2>/dev/null |
				awk -F' : ' '
					$1 == "\"MemberID\"" && id == "" { id = $2 }
					$1 == "\"Leader\"" && ld == "" { ld = $2 }
					$1 == "\"RaftTerm\"" && tm == "" { tm = $2 }
					END { if (id != "" && ld != "" && tm != "") print id, ld, tm }')
			[ -n "$_etcd_row" ] && _etcd_rows="$_etcd_rows$_etcd_k $_etcd_row
"
		fi
		_etcd_k=$((_etcd_k + 1))
	done
	# Terms compared as numbers (they are small); ids only as strings (they
	# are 64-bit).
	printf '%s' "$_etcd_rows" | awk '
		{ k[NR] = $1; id[NR] = $2; ld[NR] = $3; tm[NR] = $4 + 0; if (tm[NR] > max) max = tm[NR] }
		END {
			for (i = 1; i <= NR; i++)
				if (tm[i] == max && id[i] == ld[i] && ld[i] != "0") { print k[i]; exit 0 }
			exit 1
		}'
}

# etcd_wait_leader [SECONDS]: waits (20 s unless told) until etcd_leader
# finds a leader; returns 1 on timeout.
etcd_wait_leader() {
	_etcd_wdeadline=$(($(date +%s) + ${1:-20}))
	while ! etcd_leader >/dev/null; do
		if [ "$(date +%s)" -ge "$_etcd_wdeadline" ]; then
			_etcd_say "no leader after ${1:-20} s"
			return 1
		fi
		sleep 0.2
	done
	return 0
}

# etcd_kill K [SIG]: sends SIG (KILL unless told; a name, with or without
# SIG, or a number) to member K and waits until it has exited (SIGTERM
# not obeyed in 10 s is followed by SIGKILL). STOP, TSTP and CONT are
# sent without waiting: the member is still running.
etcd_kill() {
	_etcd_member "${1:-}" || return 1
	_etcd_sig=${2:-KILL}
	_etcd_sig=${_etcd_sig#-}
	_etcd_sig=${_etcd_sig#SIG}
	eval "_etcd_pid=\${etcd_pid_$1:-}"
	if [ -z "$_etcd_pid" ]; then
		_etcd_say "etcd_kill: m$1 is not running"
		return 1
	fi
	if ! kill -"$_etcd_sig" "$_etcd_pid"; then
		_etcd_say "etcd_kill: kill -$_etcd_sig $_etcd_pid (m$1) failed"
		return 1
	fi
	case $_etcd_sig in
	STOP | TSTP | CONT | 19 | 20 | 18) return 0 ;;
	esac
	_etcd_reap "$_etcd_pid" || return 1
	_etcd_forget "$1"
	return 0
}

# etcd_restart K...: starts members K... again, on their data directories
# and ports (--initial-cluster-state existing), all at once, and waits
# until each is healthy: this needs a quorum, so members that were all
# stopped are best restarted in one call. Returns 1 on timeout or if one
# exits (the tails of their logs are printed).
etcd_restart() {
	if [ $# -eq 0 ]; then
		_etcd_say "usage: etcd_restart K..."
		return 1
	fi
	for _etcd_r in "$@"; do
		_etcd_member "$_etcd_r" || return 1
		if etcd_alive "$_etcd_r"; then
			_etcd_say "etcd_restart: m$_etcd_r is running"
			return 1
		fi
	done
	for _etcd_r in "$@"; do
		echo "---- restarted $(date '+%H:%M:%S') ----" >>"$etcd_dir/m$_etcd_r.log"
		_etcd_spawn "$_etcd_r" existing
	done
	if ! _etcd_wait_healthy "$etcd_timeout" "$@"; then
		_etcd_say "etcd_restart $*: not healthy"
		_etcd_tails "$@"
		return 1
	fi
	return 0
}

# etcd_ctl ARGS...: etcdctl ARGS against every member's endpoint.
etcd_ctl() {
	etcdctl --endpoints="$(etcd_endpoints)" "$@"
}

# etcd_cluster_stop: SIGKILL to every member running, and waits for each
# to exit. Does nothing when nothing runs; may be called any number of
# times (an EXIT trap should call it).
etcd_cluster_stop() {
	_etcd_k=1
	while [ $_etcd_k -le "${etcd_members:-0}" ]; do
		eval "_etcd_pid=\${etcd_pid_$_etcd_k:-}"
		[ -n "$_etcd_pid" ] && kill -9 "$_etcd_pid" 2>/dev/null
		_etcd_k=$((_etcd_k + 1))
	done
	_etcd_k=1
	while [ $_etcd_k -le "${etcd_members:-0}" ]; do
		eval "_etcd_pid=\${etcd_pid_$_etcd_k:-}"
		if [ -n "$_etcd_pid" ]; then
			_etcd_reap "$_etcd_pid"
			_etcd_forget $_etcd_k
		fi
		_etcd_k=$((_etcd_k + 1))
	done
	return 0
}
