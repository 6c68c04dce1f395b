/*
 * bench.c — golite-bench's driver: options, one child process per system,
 * and the report.
 *
 *   golite-bench [--num N] [--systems a,b] [--workloads a,b] [--csv[=FILE]] ...
 *
 * Invariants:
 *   1. Each system runs in its own forked child, one after another, in a
 *      fresh directory DIR/<system>; so RSS and peak RSS are that system's,
 *      a crash ends only that system's part, and no two systems compete for
 *      the machine. The child sends one struct bench_result per workload
 *      over a pipe (each write is smaller than PIPE_BUF, so atomic).
 *   2. The parent never runs a workload and starts no thread, so fork() is
 *      safe; it flushes stdio before forking so that nothing is printed
 *      twice.
 *   3. A workload the child did not report (it crashed or was killed) is
 *      reported as failed, with the child's exit status.
 *   4. Exit status: 0 when every workload ran and read back what it wrote,
 *      1 when any failed, 2 for a usage error.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

/* Every system the benchmark knows, in the default order. */
static const struct bench_system *const systems[] = {
	&bench_golite,
	&bench_golite_locked,
	&bench_leveldb,
	&bench_rocksdb,
	&bench_lmdb,
	&bench_sqlite,
	&bench_leveldb_nofilter,
	&bench_rocksdb_nofilter,
	&bench_rocksdb_blob,
};
#define NSYSTEMS (sizeof(systems) / sizeof(systems[0]))
#define MAX_WORKLOADS 32

struct report {
	struct bench_config cfg;
	size_t order[NSYSTEMS];        /* selected systems, in run order */
	size_t nselected;
	bool workloads[MAX_WORKLOADS];
	struct bench_result results[MAX_WORKLOADS][NSYSTEMS];
	bool have[MAX_WORKLOADS][NSYSTEMS];
	char describe[NSYSTEMS][256];
	double probe_ns[NSYSTEMS];     /* CPU probe around the system's run */
	double mem_ns[NSYSTEMS];       /* memory probe around it, ns a load */
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: golite-bench [options]\n"
"\n"
"Measures GoLite against LevelDB, RocksDB, LMDB and SQLite on this machine,\n"
"each system in its own process, with the same keys, values and workloads.\n"
"\n"
"  --num N            operations per workload and keys loaded (default 1000000;\n"
"                     suffixes k and m: 10m)\n"
"  --sync-num N       operations of the synced fills (default 10000)\n"
"  --systems LIST     comma-separated, default all: golite,golite-locked,\n"
"                     leveldb,rocksdb,lmdb,sqlite (LevelDB and RocksDB with a\n"
"                     bloom filter of 10 bits a key); extras, run only when\n"
"                     named: leveldb-nofilter,rocksdb-nofilter (db_bench's\n"
"                     default of no filter), rocksdb-blob (blob files for\n"
"                     values of 4096 bytes and more)\n"
"  --workloads LIST   comma-separated names, NAME:THREADS for one thread\n"
"                     count, or all (default); see the list below\n"
"  --dir DIR          where the stores are made, one directory per system\n"
"                     (default ./bench-data; removed afterwards)\n"
"  --keep             keep the data directories\n"
"  --csv              print CSV instead of the table:\n"
"                     workload,system,threads,ops_per_sec,ns_per_op,allocs_per_op,rss_mb\n"
"  --csv=FILE         print the table and write the CSV to FILE\n"
"  --seed N           seed of the random orders and values (default 301)\n"
"  --value-size N     bytes per value (default 100; keys are 16 bytes)\n"
"  --quiet            no progress lines on stderr\n"
"  --help             this text\n"
"\n"
"Workloads, in the order they run:\n");
	for (size_t i = 0; i < bench_workload_count; i++)
		fprintf(f, "  %-22s %d thread%s  %s\n", bench_workloads[i].name,
			bench_workloads[i].threads,
			bench_workloads[i].threads > 1 ? "s" : " ",
			bench_workloads[i].what);
}

static bool parse_count(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return false;
	if (*end == 'k' || *end == 'K') {
		v *= 1000;
		end++;
	} else if (*end == 'm' || *end == 'M') {
		v *= 1000000;
		end++;
	}
	if (*end != '\0')
		return false;
	*out = v;
	return true;
}

static int select_systems(struct report *rep, const char *list)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", list);
	rep->nselected = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		size_t i;
		for (i = 0; i < NSYSTEMS; i++)
			if (strcasecmp(tok, systems[i]->name) == 0)
				break;
		if (i == NSYSTEMS) {
			fprintf(stderr, "golite-bench: unknown system '%s'\n", tok);
			return -1;
		}
		bool dup = false;
		for (size_t j = 0; j < rep->nselected; j++)
			dup |= rep->order[j] == i;
		if (!dup)
			rep->order[rep->nselected++] = i;
	}
	if (rep->nselected == 0) {
		fprintf(stderr, "golite-bench: no system selected\n");
		return -1;
	}
	return 0;
}

static int select_workloads(struct report *rep, const char *list)
{
	char buf[1024];
	snprintf(buf, sizeof(buf), "%s", list);
	memset(rep->workloads, 0, sizeof(rep->workloads));
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		int threads = 0;
		char *colon = strchr(tok, ':');
		if (colon != NULL) {
			*colon = '\0';
			threads = atoi(colon + 1);
			if (threads <= 0) {
				fprintf(stderr, "golite-bench: bad thread count in '%s:%s'\n",
					tok, colon + 1);
				return -1;
			}
		}
		bool found = false;
		for (size_t i = 0; i < bench_workload_count; i++) {
			const struct bench_workload *w = &bench_workloads[i];
			if ((strcasecmp(tok, "all") == 0 || strcasecmp(tok, w->name) == 0) &&
			    (threads == 0 || threads == w->threads)) {
				rep->workloads[i] = true;
				found = true;
			}
		}
		if (!found) {
			fprintf(stderr, "golite-bench: unknown workload '%s%s%s' "
				"(--help lists them)\n", tok, colon ? ":" : "",
				colon ? colon + 1 : "");
			return -1;
		}
	}
	return 0;
}

/* ---- children ---- */

static void emit_to_pipe(const struct bench_result *r, void *arg)
{
	int fd = *(int *)arg;
	const char *p = (const char *)r;
	size_t left = sizeof(*r);
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(3);
		p += n;
		left -= (size_t)n;
	}
}

static bool read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		len -= (size_t)n;
	}
	return true;
}

/*
 * Times a fixed chain of dependent multiply-adds (about 30 ms on an idle
 * core; the best of three). The machine's speed drifts when it is shared,
 * and this shows by how much while each system ran.
 */
static double cpu_probe_ns(void)
{
	double best = 0;
	for (int round = 0; round < 3; round++) {
		volatile uint64_t sink;
		uint64_t x = (uint64_t)round + 1;
		uint64_t t0 = bench_now_ns();
		for (int i = 0; i < 10000000; i++)
			x = x * 6364136223846793005ull + 1442695040888963407ull;
		sink = x;
		(void)sink;
		double ns = (double)(bench_now_ns() - t0);
		if (round == 0 || ns < best)
			best = ns;
	}
	return best;
}

/*
 * Times dependent loads at random lines of MEM_PROBE_BYTES, far more than
 * the caches (the best of three rounds of MEM_PROBE_STEPS). Reads of a
 * large store are chains of such misses, and their cost drifts more than
 * the CPU's on a shared machine: this shows by how much.
 */
#define MEM_PROBE_BYTES (128u << 20)
#define MEM_PROBE_STEPS 300000u

static double mem_probe_ns(void)
{
	/* Line i holds the index of the next line. Made and freed by each
	 * call: the children are forked between calls, and pages they
	 * inherit would count in their RSS. */
	const uint32_t lines = MEM_PROBE_BYTES / 64, stride = 64 / sizeof(uint32_t);
	uint32_t *ring = aligned_alloc(64, MEM_PROBE_BYTES);
	uint32_t *order = malloc(sizeof(uint32_t) * lines);
	if (!ring || !order) {
		free(ring);
		free(order);
		return 0;
	}
	/* Sattolo's shuffle: one cycle through every line. */
	for (uint32_t i = 0; i < lines; i++)
		order[i] = i;
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (uint32_t i = lines - 1; i > 0; i--) {
		s = bench_mix64(s + i);
		uint32_t j = (uint32_t)(s % i);
		uint32_t t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
	for (uint32_t i = 0; i < lines; i++)
		ring[order[i] * stride] = order[(i + 1) % lines];
	free(order);
	double best = 0;
	uint32_t at = 0;
	for (int round = 0; round < 3; round++) {
		uint64_t t0 = bench_now_ns();
		for (uint32_t i = 0; i < MEM_PROBE_STEPS; i++)
			at = ring[(size_t)at * stride];
		double ns = (double)(bench_now_ns() - t0) / MEM_PROBE_STEPS;
		if (round == 0 || ns < best)
			best = ns;
	}
	volatile uint32_t sink = at;
	(void)sink;
	free(ring);
	return best;
}

/* Runs one system in a child and collects its results (invariants 1-3).
 * Returns true if every workload succeeded. */
static bool run_child(struct report *rep, size_t sys)
{
	char dir[4096];
	int fds[2];

	snprintf(dir, sizeof(dir), "%s/%s", rep->cfg.dir, systems[sys]->name);
	double probe_before = cpu_probe_ns(), mem_before = mem_probe_ns();
	if (pipe(fds) < 0) {
		perror("golite-bench: pipe");
		exit(2);
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		perror("golite-bench: fork");
		exit(2);
	}
	if (pid == 0) {
		close(fds[0]);
		int rc = bench_run_system(systems[sys], (uint32_t)sys, &rep->cfg,
					  rep->workloads, dir, emit_to_pipe, &fds[1]);
		close(fds[1]);
		_exit(rc);
	}
	close(fds[1]);

	struct bench_result r;
	bool ok = true;
	while (read_full(fds[0], &r, sizeof(r))) {
		if (r.workload >= bench_workload_count || r.system != sys)
			continue;
		rep->results[r.workload][sys] = r;
		rep->have[r.workload][sys] = true;
		ok &= !r.failed;
	}
	close(fds[0]);

	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	char why[128] = "";
	if (WIFSIGNALED(status)) {
		snprintf(why, sizeof(why), "process killed by signal %d (%s)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)));
	} else if (WIFEXITED(status) && WEXITSTATUS(status) > 1) {
		snprintf(why, sizeof(why), "process exited with status %d",
			 WEXITSTATUS(status));
	}
	bool first = true;
	for (size_t w = 0; w < bench_workload_count; w++) {
		if (!rep->workloads[w] || rep->have[w][sys])
			continue;
		struct bench_result *f = &rep->results[w][sys];
		memset(f, 0, sizeof(*f));
		f->workload = (uint32_t)w;
		f->system = (uint32_t)sys;
		f->threads = (uint32_t)bench_workloads[w].threads;
		f->failed = 1;
		snprintf(f->message, sizeof(f->message), "%s",
			 first ? (why[0] ? why : "no result") : "not run (earlier crash)");
		rep->have[w][sys] = true;
		ok = false;
		if (first && !rep->cfg.quiet)
			fprintf(stderr, "\ngolite-bench: %s: %s during %s\n",
				systems[sys]->name, f->message, bench_workloads[w].name);
		first = false;
	}
	if (!rep->cfg.keep)
		bench_rmtree(dir);
	rep->probe_ns[sys] = (probe_before + cpu_probe_ns()) / 2;
	rep->mem_ns[sys] = (mem_before + mem_probe_ns()) / 2;
	return ok;
}

/* ---- the report ---- */

static double ops_per_sec(const struct bench_result *r)
{
	return r->elapsed_ns ? (double)r->ops * 1e9 / (double)r->elapsed_ns : 0.0;
}

/* Per-thread time per operation, as db_bench's micros/op. */
static double ns_per_op(const struct bench_result *r)
{
	return r->ops ? (double)r->elapsed_ns * r->threads / (double)r->ops : 0.0;
}

static double per_op(uint64_t x, const struct bench_result *r)
{
	return r->ops ? (double)x / (double)r->ops : 0.0;
}

static void human_rate(char *buf, size_t len, double v)
{
	if (v >= 1e6)
		snprintf(buf, len, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, len, "%.1fK", v / 1e3);
	else
		snprintf(buf, len, "%.0f", v);
}

static const struct bench_result *find(const struct report *rep, size_t w,
				       const char *name)
{
	for (size_t s = 0; s < NSYSTEMS; s++)
		if (strcmp(systems[s]->name, name) == 0 && rep->have[w][s] &&
		    !rep->results[w][s].failed)
			return &rep->results[w][s];
	return NULL;
}

static void ratio(char *buf, size_t len, const struct bench_result *r,
		  const struct bench_result *base)
{
	if (base == NULL || ops_per_sec(base) == 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.2fx", ops_per_sec(r) / ops_per_sec(base));
}

static void cpu_model(char *buf, size_t len)
{
	snprintf(buf, len, "unknown CPU");
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (f == NULL)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) == 0) {
			char *v = strchr(line, ':');
			if (v) {
				v++;
				while (isspace((unsigned char)*v))
					v++;
				v[strcspn(v, "\n")] = '\0';
				snprintf(buf, len, "%s", v);
			}
			break;
		}
	}
	fclose(f);
}

static void print_header(FILE *f, const struct report *rep)
{
	char cpu[256];
	struct utsname u;
	cpu_model(cpu, sizeof(cpu));
	uname(&u);
	fprintf(f, "golite-bench: %" PRIu64 " keys of %d bytes, values of %zu bytes "
		"(half compressible), synced fills %" PRIu64 " ops, seed %" PRIu64 "\n",
		rep->cfg.num, BENCH_KEY_SIZE, rep->cfg.value_size, rep->cfg.sync_num,
		rep->cfg.seed);
	fprintf(f, "machine: %s, %ld cores, Linux %s; data in %s\n", cpu,
		sysconf(_SC_NPROCESSORS_ONLN), u.release, rep->cfg.dir);
	for (size_t i = 0; i < rep->nselected; i++)
		fprintf(f, "  %-16s %s\n", systems[rep->order[i]]->name,
			rep->describe[rep->order[i]]);
	double fastest = 0;
	for (size_t i = 0; i < rep->nselected; i++) {
		double ns = rep->probe_ns[rep->order[i]];
		if (ns > 0 && (fastest == 0 || ns < fastest))
			fastest = ns;
	}
	if (fastest > 0) {
		fprintf(f, "machine speed around each system's run (a fixed CPU loop, "
			"1.00 = fastest = %.1f ms):", fastest / 1e6);
		for (size_t i = 0; i < rep->nselected; i++)
			fprintf(f, " %s %.2f", systems[rep->order[i]]->name,
				fastest / rep->probe_ns[rep->order[i]]);
		fprintf(f, "\n");
	}
	if (rep->nselected && rep->mem_ns[rep->order[0]] > 0) {
		fprintf(f, "memory latency around each system's run (a dependent load at a random "
			"line of %u MiB):", MEM_PROBE_BYTES >> 20);
		for (size_t i = 0; i < rep->nselected; i++)
			fprintf(f, " %s %.0f ns", systems[rep->order[i]]->name,
				rep->mem_ns[rep->order[i]]);
		fprintf(f, "\n");
	}
	fprintf(f,
"ops/s: operations / wall time, all threads. ns/op: wall time x threads /\n"
"operations (db_bench's micros/op). cpu%%: CPU time of the whole process,\n"
"background threads too, / wall time. allocs/op, B/op: heap allocations of\n"
"the whole process during the timed run. RSS: after the run; anon: the part\n"
"of it not backed by files (heap, arenas; mapped table files excluded);\n"
"peak: highest RSS during it. write-amp: bytes the process wrote to disk (/proc/self/io\n"
"write_bytes, a page counted when it first turns dirty) / key+value bytes\n"
"written. space-amp: data directory size after the run / live key+value\n"
"bytes. Each workload starts after a file system sync, once the process is\n"
"idle; reads check every value.\n");
}

/* One line per workload, one column of ops/s per system. */
static void print_summary(FILE *f, const struct report *rep)
{
	fprintf(f, "\nSummary, ops/s\n  %-26s", "workload");
	for (size_t i = 0; i < rep->nselected; i++)
		fprintf(f, " %13s", systems[rep->order[i]]->name);
	fprintf(f, "\n");
	for (size_t w = 0; w < bench_workload_count; w++) {
		if (!rep->workloads[w])
			continue;
		char name[64];
		snprintf(name, sizeof(name), "%s x%d", bench_workloads[w].name,
			 bench_workloads[w].threads);
		fprintf(f, "  %-26s", name);
		for (size_t i = 0; i < rep->nselected; i++) {
			size_t s = rep->order[i];
			const struct bench_result *r = &rep->results[w][s];
			char rate[32] = "-";
			if (!rep->have[w][s] || r->failed)
				snprintf(rate, sizeof(rate), "FAILED");
			else
				human_rate(rate, sizeof(rate), ops_per_sec(r));
			fprintf(f, " %13s", rate);
		}
		fprintf(f, "\n");
	}
}

static void print_table(FILE *f, const struct report *rep)
{
	print_header(f, rep);
	for (size_t w = 0; w < bench_workload_count; w++) {
		if (!rep->workloads[w])
			continue;
		const struct bench_workload *wl = &bench_workloads[w];
		bool writes = bench_kind_writes(wl->kind);
		bool reads = bench_kind_reads(wl->kind);
		uint64_t n = wl->kind == BENCH_FILL_SYNC ? rep->cfg.sync_num : rep->cfg.num;
		fprintf(f, "\n%s, %d thread%s, %" PRIu64 " ops: %s\n", wl->name,
			wl->threads, wl->threads > 1 ? "s" : "", n, wl->what);
		fprintf(f, "  %-16s %9s %9s %5s %9s %9s %8s %8s %8s", "system", "ops/s",
			"ns/op", "cpu%", "allocs/op", "B/op", "RSS MiB", "anon MiB", "peak MiB");
		if (writes)
			fprintf(f, " %9s %9s", "write-amp", "space-amp");
		fprintf(f, " %10s", "vs leveldb");
		if (reads)
			fprintf(f, " %8s", "vs lmdb");
		fprintf(f, "\n");

		const struct bench_result *ldb = find(rep, w, "leveldb");
		const struct bench_result *lmdb = find(rep, w, "lmdb");
		for (size_t i = 0; i < rep->nselected; i++) {
			size_t s = rep->order[i];
			if (!rep->have[w][s])
				continue;
			const struct bench_result *r = &rep->results[w][s];
			if (r->failed) {
				fprintf(f, "  %-16s FAILED: %s\n", systems[s]->name, r->message);
				continue;
			}
			char rate[32], vs[32], vsl[32];
			human_rate(rate, sizeof(rate), ops_per_sec(r));
			fprintf(f, "  %-16s %9s %9.0f %5.0f %9.2f %9.0f %8.1f %8.1f %8.1f",
				systems[s]->name, rate, ns_per_op(r),
				r->elapsed_ns ? 100.0 * (double)r->cpu_ns /
						(double)r->elapsed_ns : 0.0,
				per_op(r->allocs, r), per_op(r->alloc_bytes, r),
				r->rss_kb / 1024.0, r->anon_kb / 1024.0, r->hwm_kb / 1024.0);
			if (writes) {
				char wa[32] = "-", sa[32] = "-";
				if (r->user_write_bytes)
					snprintf(wa, sizeof(wa), "%.2f", (double)r->disk_write_bytes /
						 (double)r->user_write_bytes);
				if (r->live_bytes)
					snprintf(sa, sizeof(sa), "%.2f", (double)r->dir_bytes /
						 (double)r->live_bytes);
				fprintf(f, " %9s %9s", wa, sa);
			}
			ratio(vs, sizeof(vs), r, ldb);
			fprintf(f, " %10s", vs);
			if (reads) {
				ratio(vsl, sizeof(vsl), r, lmdb);
				fprintf(f, " %8s", vsl);
			}
			fprintf(f, "\n");
		}
	}
	print_summary(f, rep);
}

static void print_csv(FILE *f, const struct report *rep)
{
	fprintf(f, "workload,system,threads,ops_per_sec,ns_per_op,allocs_per_op,rss_mb\n");
	for (size_t w = 0; w < bench_workload_count; w++) {
		if (!rep->workloads[w])
			continue;
		for (size_t i = 0; i < rep->nselected; i++) {
			size_t s = rep->order[i];
			const struct bench_result *r = &rep->results[w][s];
			if (!rep->have[w][s] || r->failed)
				continue;
			fprintf(f, "%s,%s,%u,%.0f,%.1f,%.3f,%.1f\n", bench_workloads[w].name,
				systems[s]->name, r->threads, ops_per_sec(r), ns_per_op(r),
				per_op(r->allocs, r), r->rss_kb / 1024.0);
		}
	}
}

int main(int argc, char **argv)
{
	static struct report rep;
	const char *systems_arg = NULL, *workloads_arg = "all";
	const char *csv_file = NULL;
	bool csv_stdout = false;
	uint64_t v;

	rep.cfg = (struct bench_config){
		.num = 1000000, .sync_num = 10000, .value_size = 100, .seed = 301,
		.dir = "./bench-data",
	};
	enum { O_NUM = 256, O_SYNC_NUM, O_SYSTEMS, O_WORKLOADS, O_DIR, O_CSV,
	       O_KEEP, O_SEED, O_VALUE_SIZE, O_QUIET, O_HELP };
	static const struct option longopts[] = {
		{ "num", required_argument, NULL, O_NUM },
		{ "sync-num", required_argument, NULL, O_SYNC_NUM },
		{ "systems", required_argument, NULL, O_SYSTEMS },
		{ "workloads", required_argument, NULL, O_WORKLOADS },
		{ "dir", required_argument, NULL, O_DIR },
		{ "csv", optional_argument, NULL, O_CSV },
		{ "keep", no_argument, NULL, O_KEEP },
		{ "seed", required_argument, NULL, O_SEED },
		{ "value-size", required_argument, NULL, O_VALUE_SIZE },
		{ "quiet", no_argument, NULL, O_QUIET },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case O_NUM:
			if (!parse_count(optarg, &rep.cfg.num) || rep.cfg.num == 0)
				goto bad_number;
			break;
		case O_SYNC_NUM:
			if (!parse_count(optarg, &rep.cfg.sync_num) || rep.cfg.sync_num == 0)
				goto bad_number;
			break;
		case O_SYSTEMS:
			systems_arg = optarg;
			break;
		case O_WORKLOADS:
			workloads_arg = optarg;
			break;
		case O_DIR:
			rep.cfg.dir = optarg;
			break;
		case O_CSV:
			if (optarg)
				csv_file = optarg;
			else
				csv_stdout = true;
			break;
		case O_KEEP:
			rep.cfg.keep = true;
			break;
		case O_SEED:
			if (!parse_count(optarg, &rep.cfg.seed))
				goto bad_number;
			break;
		case O_VALUE_SIZE:
			if (!parse_count(optarg, &v) || v == 0 || v > (1u << 20))
				goto bad_number;
			rep.cfg.value_size = (size_t)v;
			break;
		case O_QUIET:
			rep.cfg.quiet = true;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "golite-bench: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (bench_workload_count > MAX_WORKLOADS)
		abort();
	if (systems_arg == NULL) {
		rep.nselected = 0;
		for (size_t i = 0; i < NSYSTEMS; i++)
			if (!systems[i]->extra)
				rep.order[rep.nselected++] = i;
	} else if (select_systems(&rep, systems_arg) < 0) {
		return 2;
	}
	if (select_workloads(&rep, workloads_arg) < 0)
		return 2;

	struct stat st;
	bool made_dir = stat(rep.cfg.dir, &st) < 0;
	int rc = bench_mkdirs(rep.cfg.dir);
	if (rc < 0) {
		fprintf(stderr, "golite-bench: cannot create %s: %s\n", rep.cfg.dir,
			strerror(-rc));
		return 2;
	}
	for (size_t i = 0; i < NSYSTEMS; i++)
		systems[i]->describe(rep.describe[i], sizeof(rep.describe[i]));

	FILE *csv = NULL;
	if (csv_file != NULL) {
		csv = fopen(csv_file, "w");
		if (csv == NULL) {
			fprintf(stderr, "golite-bench: %s: %s\n", csv_file, strerror(errno));
			return 2;
		}
	}
	if (!rep.cfg.quiet || csv_stdout)
		fprintf(stderr, "golite-bench: seed %" PRIu64 ", %" PRIu64 " keys, "
			"%zu-byte values, data in %s\n", rep.cfg.seed, rep.cfg.num,
			rep.cfg.value_size, rep.cfg.dir);

	bool ok = true;
	for (size_t i = 0; i < rep.nselected; i++)
		ok &= run_child(&rep, rep.order[i]);

	if (made_dir && !rep.cfg.keep)
		rmdir(rep.cfg.dir);
	if (csv_stdout) {
		print_csv(stdout, &rep);
	} else {
		print_table(stdout, &rep);
		if (csv != NULL) {
			print_csv(csv, &rep);
			if (fclose(csv) != 0) {
				fprintf(stderr, "golite-bench: %s: %s\n", csv_file,
					strerror(errno));
				ok = false;
			}
		}
	}
	if (!ok) {
		fprintf(stderr, "golite-bench: some workloads failed:\n");
		for (size_t w = 0; w < bench_workload_count; w++)
			for (size_t i = 0; i < rep.nselected; i++) {
				size_t s = rep.order[i];
				if (rep.have[w][s] && rep.results[w][s].failed)
					fprintf(stderr, "  %s/%s (%d thread%s): %s\n",
						systems[s]->name, bench_workloads[w].name,
						bench_workloads[w].threads,
						bench_workloads[w].threads > 1 ? "s" : "",
						rep.results[w][s].message);
			}
	}
	return ok ? 0 : 1;

bad_number:
	fprintf(stderr, "golite-bench: bad number '%s'\n", optarg);
	return 2;
}
