/*
 * bench_util.c — the benchmark's helpers: error messages, the random
 * permutation, the value buffer, figures from /proc, and directories.
 *
 * None of these runs inside a timed region except the inline functions of
 * bench.h (keys, values, permutations), which never allocate.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* ---- errors ---- */

static __thread char last_error[512];

int bench_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return -1;
}

const char *bench_last_error(void)
{
	return last_error;
}

/* ---- permutation ---- */

void bench_perm_init(struct bench_perm *p, uint64_t n, uint64_t seed)
{
	unsigned bits = 2;
	while (bits < 64 && (1ull << bits) < n)
		bits++;
	bits += bits & 1;                       /* even: two equal halves */
	p->n = n;
	p->half_bits = bits / 2;
	p->half_mask = (1ull << p->half_bits) - 1;
	uint64_t s = seed;
	for (int i = 0; i < 4; i++) {
		s += 0x9e3779b97f4a7c15ull;
		p->round_key[i] = bench_mix64(s);
	}
}

/* ---- values ---- */

#define VALUE_BUFFER_SIZE (1u << 20)
#define VALUE_RUN 100                   /* half random, half repeated */

void bench_values_init(struct bench_values *v, size_t value_size, uint64_t seed)
{
	size_t size = VALUE_BUFFER_SIZE;
	if (size < 4 * value_size)
		size = 4 * value_size;
	v->data = malloc(size);
	if (v->data == NULL) {
		fprintf(stderr, "golite-bench: out of memory\n");
		exit(2);
	}
	struct bench_rng r = { .state = seed ^ 0x76616c7565730000ull };
	for (size_t at = 0; at < size; at += VALUE_RUN) {
		size_t run = size - at < VALUE_RUN ? size - at : VALUE_RUN;
		size_t random = (run + 1) / 2;
		for (size_t i = 0; i < random; i++)
			v->data[at + i] = (char)(' ' + bench_rng_below(&r, 95));
		for (size_t i = random; i < run; i++)
			v->data[at + i] = v->data[at + i - random];
	}
	v->size = size;
	v->value_size = value_size;
	v->seed = bench_mix64(seed);
}

void bench_values_free(struct bench_values *v)
{
	free(v->data);
	v->data = NULL;
}

/* ---- /proc ---- */

static uint64_t field(const char *text, const char *name)
{
	const char *at = strstr(text, name);
	if (at == NULL)
		return 0;
	return strtoull(at + strlen(name), NULL, 10);
}

static ssize_t read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

void bench_proc_read(struct bench_proc *p)
{
	char buf[4096];
	memset(p, 0, sizeof(*p));
	if (read_small("/proc/self/status", buf, sizeof(buf)) > 0) {
		p->rss_kb = field(buf, "\nVmRSS:");
		p->hwm_kb = field(buf, "\nVmHWM:");
		p->anon_kb = field(buf, "\nRssAnon:");
	}
	if (read_small("/proc/self/io", buf, sizeof(buf)) > 0)
		p->write_bytes = field(buf, "\nwrite_bytes:");
}

bool bench_proc_reset_peak(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = write(fd, "5", 1) == 1;
	close(fd);
	return ok;
}

/* ---- settling ---- */

#define SETTLE_WINDOW_NS (200 * 1000000ull)   /* idle for this long */
#define SETTLE_IDLE_CPU_NS (6 * 1000000ull)   /* 3% of one core */

double bench_settle(const char *dir, double max_seconds, bool *idle)
{
	uint64_t start = bench_now_ns();
	uint64_t limit = start + (uint64_t)(max_seconds * 1e9);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		syncfs(fd);
		close(fd);
	}
	*idle = false;
	while (bench_now_ns() < limit) {
		uint64_t cpu = bench_cpu_ns();
		struct timespec nap = { 0, (long)SETTLE_WINDOW_NS };
		nanosleep(&nap, NULL);
		if (bench_cpu_ns() - cpu < SETTLE_IDLE_CPU_NS) {
			*idle = true;
			break;
		}
	}
	return (double)(bench_now_ns() - start) / 1e9;
}

/* ---- directories ---- */

static uint64_t dir_total;

static int add_size(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F)
		dir_total += (uint64_t)st->st_blocks * 512;
	return 0;
}

uint64_t bench_dir_bytes(const char *path)
{
	dir_total = 0;
	nftw(path, add_size, 16, FTW_PHYS);
	return dir_total;
}

static int remove_one(const char *path, const struct stat *st, int type,
		      struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int rc = type == FTW_DP ? rmdir(path) : unlink(path);
	return rc < 0 && errno != ENOENT ? -1 : 0;
}

int bench_rmtree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
		return -(errno ? errno : EIO);
	return 0;
}

int bench_mkdirs(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);
	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		buf[i] = c;
	}
	return 0;
}
