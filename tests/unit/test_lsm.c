/*
 * Tests of flush and compaction through the public API: crashes between
 * any two I/O calls of the engine while it flushes and compacts, space
 * reclaimed after overwrites and deletes, dropped tables reclaimed, and
 * reads that cross memtables and every level.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golite.h"
#include "io.h"
#include "testutil.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/golite-lsm-XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(lsm, .init = setup, .fini = teardown, .timeout = 240);

/* Deterministic operation i of a workload: a put or a delete of one of
 * `keys` keys, with a value that names the operation. */
static void op_of(unsigned seed, uint64_t i, int keys, char *key, size_t *klen, char *val,
		  size_t *vlen, bool *del)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ seed;
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	*klen = (size_t)snprintf(key, 32, "k%06d", (int)(x % (uint64_t)keys));
	*del = (x >> 20) % 7 == 0;
	*vlen = (size_t)snprintf(val, 256, "op%llu-%0*d", (unsigned long long)i,
				 (int)(40 + (x >> 40) % 120), 0);
}

/* Model: the value of each key after the first n operations. */
static char **model(unsigned seed, uint64_t n, int keys)
{
	char **m = calloc((size_t)keys, sizeof(char *));
	char key[32], val[256];
	for (uint64_t i = 0; i < n; i++) {
		size_t kl, vl;
		bool del;
		op_of(seed, i, keys, key, &kl, val, &vl, &del);
		int k = atoi(key + 1);
		free(m[k]);
		m[k] = del ? NULL : strdup(val);
	}
	return m;
}

static void model_free(char **m, int keys)
{
	for (int i = 0; i < keys; i++)
		free(m[i]);
	free(m);
}

/* Compares the store with the model; returns the number of mismatches. */
static int compare(golite *db, char **m, int keys)
{
	int bad = 0;
	char key[32], val[256];
	for (int k = 0; k < keys; k++) {
		snprintf(key, sizeof(key), "k%06d", k);
		size_t vl;
		int r = golite_get_into(db, "t", key, strlen(key), val, sizeof(val), &vl);
		if (!m[k] ? r != GOLITE_ENOTFOUND
			  : (r != 0 || vl != strlen(m[k]) || memcmp(val, m[k], vl) != 0))
			bad++;
	}
	/* And the iterator agrees with point reads. */
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "t", NULL, &it), 0);
	int n = 0, live = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it))
		n++;
	cr_assert_eq(golite_iter_status(it), 0);
	golite_iter_free(it);
	for (int k = 0; k < keys; k++)
		live += m[k] != NULL;
	return bad + (n != live);
}

/* ---- crash at the n-th I/O call ---- */

static _Atomic long io_budget;

static int kill_at(void *ctx, enum io_op op, const char *path, int fd, size_t *len)
{
	(void)ctx;
	(void)op;
	(void)path;
	(void)fd;
	(void)len;
	if (atomic_fetch_sub(&io_budget, 1) == 1)
		raise(SIGKILL);
	return 0;
}

/* Child: runs the workload in sync mode from op `from`, writing the index
 * of each acknowledged op to fd, and dies at the budget-th I/O call. */
static void child(unsigned seed, uint64_t from, uint64_t total, int keys, long budget, int fd)
{
	golite_options o;
	tu_small_options(&o);
	o.durability = GOLITE_SYNC;
	golite *db;
	if (golite_open(dir, &o, &db))
		_exit(3);
	if (!golite_table_exists(db, "t") && golite_table_create(db, "t"))
		_exit(4);
	atomic_store(&io_budget, budget);
	io_set_fault_hook(kill_at, NULL);
	char key[32], val[256];
	for (uint64_t i = from; i < total; i++) {
		size_t kl, vl;
		bool del;
		op_of(seed, i, keys, key, &kl, val, &vl, &del);
		int r = del ? golite_delete(db, "t", key, kl) : golite_put(db, "t", key, kl, val, vl);
		if (r)
			_exit(5);
		if (write(fd, &i, sizeof(i)) != sizeof(i))
			_exit(6);
	}
	io_set_fault_hook(NULL, NULL);
	golite_close(db);
	_exit(0);
}

Test(lsm, crash_between_any_two_io_calls_loses_nothing_acknowledged)
{
	unsigned seed = 20261122;
	const char *env = getenv("GOLITE_TEST_SEED");
	if (env)
		seed = (unsigned)strtoul(env, NULL, 0);
	printf("seed %u\n", seed);
	srand(seed);
	const int keys = 300;
	const uint64_t per_round = 1500;
	uint64_t done = 0; /* operations known durable so far */
	for (int round = 0; round < 25; round++) {
		int p[2];
		cr_assert_eq(pipe(p), 0);
		long budget = 1 + rand() % 1500;
		pid_t pid = fork();
		if (pid == 0) {
			close(p[0]);
			child(seed, done, done + per_round, keys, budget, p[1]);
		}
		close(p[1]);
		uint64_t i, acked = done;
		while (read(p[0], &i, sizeof(i)) == sizeof(i))
			acked = i + 1;
		close(p[0]);
		int status;
		waitpid(pid, &status, 0);
		cr_assert(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0),
			  "round %d: child failed with status %d", round, status);

		golite_options o;
		tu_small_options(&o);
		golite *db;
		cr_assert_eq(golite_open(dir, &o, &db), 0, "round %d: reopen: %s", round,
			     golite_last_error());
		/* Every acknowledged op survived; at most the one in flight more. */
		char **m = model(seed, acked, keys);
		int bad = compare(db, m, keys);
		model_free(m, keys);
		if (bad) {
			m = model(seed, acked + 1, keys);
			bad = compare(db, m, keys);
			model_free(m, keys);
			if (!bad)
				acked++;
		}
		cr_assert_eq(bad, 0, "round %d (I/O budget %ld): the store is not the first %llu "
				     "operations",
			     round, budget, (unsigned long long)acked);
		golite_stats st;
		cr_assert_eq(golite_stats_get(db, &st), 0);
		cr_assert_eq(golite_close(db), 0);
		done = acked;
	}
	/* Flushes and compactions did happen along the way. */
	DIR *d = opendir(dir);
	int tables = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		tables += strstr(de->d_name, ".sst") != NULL;
	closedir(d);
	cr_expect_gt(tables, 0, "the workload should have written tables");
}

/* ---- space ---- */

/* Bytes of the store's files, less the space it keeps for deletes
 * (RESERVE, engine/space.h): a fixed allowance, not data. */
static uint64_t dir_bytes(void)
{
	DIR *d = opendir(dir);
	uint64_t total = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, "RESERVE") == 0)
			continue;
		char p[512];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
			total += (uint64_t)st.st_size;
	}
	closedir(d);
	return total;
}

Test(lsm, overwritten_and_deleted_data_goes_away)
{
	golite_options o;
	tu_small_options(&o);
	o.memtable_size = 256 << 10;
	o.sstable_size = 256 << 10;
	golite *db;
	cr_assert_eq(golite_open(dir, &o, &db), 0, "%s", golite_last_error());
	cr_assert_eq(golite_table_create(db, "t"), 0);
	cr_assert_eq(golite_table_create(db, "gone"), 0);
	char key[32], val[200];
	memset(val, 'v', sizeof(val));
	const int keys = 2000;
	/* 20 rounds of overwriting every key, and a table later dropped. */
	for (int round = 0; round < 20; round++)
		for (int k = 0; k < keys; k++) {
			snprintf(key, sizeof(key), "k%06d", k);
			val[0] = (char)('a' + round);
			cr_assert_eq(golite_put(db, "t", key, strlen(key), val, sizeof(val)), 0);
			if (round < 5)
				cr_assert_eq(golite_put(db, "gone", key, strlen(key), val, sizeof(val)), 0);
		}
	/* Delete half the keys. */
	for (int k = 0; k < keys; k += 2) {
		snprintf(key, sizeof(key), "k%06d", k);
		cr_assert_eq(golite_delete(db, "t", key, strlen(key)), 0);
	}
	cr_assert_eq(golite_table_drop(db, "gone", 0), 0);
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0, "%s",
		     golite_last_error());
	cr_assert_eq(golite_close(db), 0);
	cr_assert_eq(golite_open(dir, &o, &db), 0);
	/* The live data: keys/2 values of 200 bytes plus keys. */
	uint64_t live = (uint64_t)(keys / 2) * (sizeof(val) + 7);
	uint64_t used = dir_bytes();
	printf("live %llu bytes, directory %llu bytes\n", (unsigned long long)live,
	       (unsigned long long)used);
	/* The log of the reopen and the fixed files are small; the tables must
	 * hold little more than the live data. */
	cr_expect_lt(used, 2 * live + (64 << 10), "directory %llu bytes for %llu live",
		     (unsigned long long)used, (unsigned long long)live);
	for (int k = 0; k < keys; k++) {
		snprintf(key, sizeof(key), "k%06d", k);
		char got[256];
		size_t vl;
		int r = golite_get_into(db, "t", key, strlen(key), got, sizeof(got), &vl);
		if (k % 2 == 0) {
			cr_assert_eq(r, GOLITE_ENOTFOUND);
		} else {
			cr_assert_eq(r, 0);
			cr_assert_eq(got[0], 'a' + 19);
		}
	}
	cr_assert(!golite_table_exists(db, "gone"));
	cr_assert_eq(golite_table_create(db, "gone"), 0);
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "gone", NULL, &it), 0);
	golite_iter_seek_first(it);
	cr_expect(!golite_iter_valid(it), "a table created again after a drop starts empty");
	golite_iter_free(it);
	cr_assert_eq(golite_close(db), 0);
}

Test(lsm, reads_see_every_level)
{
	golite_options o;
	tu_small_options(&o);
	o.compaction_threads = 1;
	golite *db;
	cr_assert_eq(golite_open(dir, &o, &db), 0);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	char key[32], val[64];
	/* Old data pushed to the bottom, newer data above it, newest in the
	 * memtable: every read must return the newest. */
	for (int gen = 0; gen < 3; gen++) {
		for (int k = 0; k < 3000; k++) {
			if (gen > 0 && k % (gen + 1))
				continue;
			snprintf(key, sizeof(key), "k%06d", k);
			int n = snprintf(val, sizeof(val), "gen%d-%d", gen, k);
			cr_assert_eq(golite_put(db, "t", key, strlen(key), val, (size_t)n), 0);
		}
		if (gen == 0)
			cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
	}
	golite_stats st;
	cr_assert_eq(golite_stats_get(db, &st), 0);
	cr_expect_gt(st.sstable_count, 0);
	for (int k = 0; k < 3000; k++) {
		snprintf(key, sizeof(key), "k%06d", k);
		int gen = k % 3 == 0 ? 2 : k % 2 == 0 ? 1 : 0;
		char want[64], got[64];
		snprintf(want, sizeof(want), "gen%d-%d", gen, k);
		size_t vl;
		cr_assert_eq(golite_get_into(db, "t", key, strlen(key), got, sizeof(got), &vl), 0);
		cr_assert(vl == strlen(want) && memcmp(got, want, vl) == 0, "key %d: %.*s", k,
			  (int)vl, got);
	}
	/* A scan yields each key once, in order, newest value. */
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "t", NULL, &it), 0);
	int k = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it), k++) {
		size_t kl, vl;
		const char *kk = golite_iter_key(it, &kl);
		snprintf(key, sizeof(key), "k%06d", k);
		cr_assert(kl == strlen(key) && memcmp(kk, key, kl) == 0);
		const char *v = golite_iter_value(it, &vl);
		int gen = k % 3 == 0 ? 2 : k % 2 == 0 ? 1 : 0;
		cr_assert_eq(v[3] - '0', gen);
	}
	cr_expect_eq(k, 3000);
	golite_iter_free(it);
	cr_assert_eq(golite_close(db), 0);
}
