# bench-lib.sh — what the network benchmarks share (sourced, POSIX sh):
# where servers and clients run, and a server's CPU time.
#
# Sets ncpu, and with two CPUs or more and PIN=1 (the default)
# server_on="taskset -c LAST" and client_on="taskset -c 0", to put in
# front of the commands that start servers and clients; empty otherwise.
# Unpinned, the scheduler puts client and server now on one CPU, now on
# two, and one server measured 31,000 or 51,000 SET/s from one run to the
# next. TCK is the clock tick rate of /proc's times.

PIN=${PIN:-1}
server_on=""
client_on=""
ncpu=$(nproc)
if [ "$PIN" = 1 ] && [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
	server_on="taskset -c $((ncpu - 1))"
	client_on="taskset -c 0"
fi
TCK=$(getconf CLK_TCK)

# cpu_ticks PID: utime + stime of PID and of its child processes now
# running (nginx's workers), in clock ticks: fields 14 and 15 of
# /proc/PID/stat, counted after the command name in parentheses.
cpu_ticks() {
	for _ct_p in $1 $(pgrep -P "$1"); do
		sed 's/.*) //' "/proc/$_ct_p/stat" 2>/dev/null
	done | awk '{ t += $12 + $13 } END { print t + 0 }'
}
