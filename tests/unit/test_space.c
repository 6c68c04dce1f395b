/*
 * Disk space: a full disk never locks people out (engine/space.h).
 *
 *   - The engine's fault layer returns ENOSPC at the n-th space-consuming
 *     call (write or allocation) of a workload, for every n in turn: the
 *     store (an existing one) opens, deletes work unless the log itself
 *     failed, and the store reopens holding exactly what was acknowledged.
 *   - With max_size, writes stop with GOLITE_ENOSPC below the limit,
 *     deletes work, the space comes back, writes resume and nothing is lost.
 *   - A batch that frees space is bounded and goes ahead of refusals.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golite.h"
#include "io.h"
#include "testutil.h"

#define KEYS 48
#define OPS 240

static void quiet(void *ctx, enum golite_log_level l, const char *m)
{
	(void)ctx;
	(void)l;
	(void)m;
}

static void options(golite_options *o)
{
	golite_options_init(o);
	o->durability = GOLITE_SYNC;
	o->memtable_size = 64 << 10;
	o->sstable_size = 32 << 10;
	o->wal_buffer_size = 64 << 10;
	o->wal_segment_size = 1 << 20;
	o->log = quiet;
}

/* Value of key k as written by operation i: 1..6 KiB, its bytes a function
 * of (k, i). */
static size_t value_of(int k, int i, uint8_t *buf)
{
	size_t n = 1024 + (size_t)((k * 7 + i * 13) % 5120);
	tu_fill(buf, n, (uint64_t)k << 32 | (uint64_t)i);
	return n;
}

/* The model: which op last wrote each key (-1 absent). */
struct model {
	int last[KEYS];
};

static void key_of(int k, char key[16], size_t *klen)
{
	*klen = (size_t)snprintf(key, 16, "key%03d", k);
}

static bool matches(golite *db, const struct model *m, char *why, size_t cap)
{
	static uint8_t want[8192];
	for (int k = 0; k < KEYS; k++) {
		char key[16];
		size_t kl;
		key_of(k, key, &kl);
		void *v = NULL;
		size_t vl = 0;
		int r = golite_get(db, "t", key, kl, &v, &vl);
		bool ok;
		if (m->last[k] < 0) {
			ok = r == GOLITE_ENOTFOUND;
		} else {
			size_t n = value_of(k, m->last[k], want);
			ok = r == 0 && vl == n && memcmp(v, want, n) == 0;
		}
		golite_free(v);
		if (!ok) {
			snprintf(why, cap, "key %d: want op %d, get returned %d (%zu bytes)", k,
				 m->last[k], r, vl);
			return false;
		}
	}
	return true;
}

struct fault {
	_Atomic long countdown;
	_Atomic int fired;
};
static struct fault F;

/* ENOSPC once, at the n-th call that can run out of space. */
static int inject(void *ctx, enum io_op op, const char *path, int fd, size_t *len)
{
	(void)ctx;
	(void)path;
	(void)fd;
	(void)len;
	if (op != IO_PWRITE && op != IO_FALLOCATE)
		return 0;
	if (atomic_fetch_sub(&F.countdown, 1) != 1)
		return 0;
	atomic_store(&F.fired, 1);
	return ENOSPC;
}

static bool failed(golite *db)
{
	golite_stats s;
	return golite_stats_get(db, &s) == 0 && s.failed;
}

/* A write refused for space is tried again until the store takes it: the
 * reserve refills within a fraction of a second. Returns the last result. */
static int retry(golite *db, int k, int i, bool del, int *refusals)
{
	static uint8_t buf[8192];
	char key[16];
	size_t kl;
	key_of(k, key, &kl);
	size_t n = del ? 0 : value_of(k, i, buf);
	int r;
	for (int t = 0; t < 1000; t++) {
		r = del ? golite_delete(db, "t", key, kl) : golite_put(db, "t", key, kl, buf, n);
		if (r != GOLITE_ENOSPC || del)
			return r;
		(*refusals)++;
		usleep(10000);
	}
	return r;
}

static void setup_store(const char *dir, struct model *m)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
	golite_options o;
	options(&o);
	golite *db;
	cr_assert_eq(golite_open(dir, &o, &db), 0, "%s", golite_last_error());
	cr_assert_eq(golite_table_create(db, "t"), 0);
	int refusals = 0;
	for (int k = 0; k < KEYS; k++) {
		cr_assert_eq(retry(db, k, 0, false, &refusals), 0, "%s", golite_last_error());
		m->last[k] = 0;
	}
	cr_assert_eq(golite_close(db), 0);
}

/* One run with the fault at call n. Returns false if the fault never
 * fired (n is past the workload's calls). */
static bool run_one(const char *dir, long n)
{
	struct model m;
	setup_store(dir, &m);
	atomic_store(&F.countdown, n);
	atomic_store(&F.fired, 0);
	io_set_fault_hook(inject, NULL);
	golite_options o;
	options(&o);
	golite *db;
	int r = golite_open(dir, &o, &db);
	cr_assert_eq(r, 0, "fault at call %ld: an existing store did not open: %s", n,
		     golite_last_error());
	int refusals = 0;
	int in_flight = -1, in_flight_k = -1;
	bool del_in_flight = false;
	for (int i = 1; i <= OPS; i++) {
		int k = (int)(tu_mix((uint64_t)i) % KEYS);
		bool del = i % 7 == 0;
		r = retry(db, k, i, del, &refusals);
		if (r == 0) {
			m.last[k] = del ? -1 : i;
			continue;
		}
		cr_assert(r == GOLITE_EFAILED || r == GOLITE_ENOSPC,
			  "fault at call %ld: op %d returned %d (%s)", n, i, r, golite_last_error());
		if (r == GOLITE_EFAILED || failed(db)) {
			/* The log failed writing: the write may or may not be there. */
			in_flight = del ? -1 : i;
			in_flight_k = k;
			del_in_flight = true;
			break;
		}
		cr_assert(!del, "fault at call %ld: a delete was refused for space", n);
	}
	/* Deletes always work, unless the log itself failed. */
	bool store_failed = failed(db);
	for (int k = 0; k < KEYS && !store_failed; k += 2) {
		r = retry(db, k, 0, true, &refusals);
		if (r && failed(db)) {
			store_failed = true;
			break;
		}
		cr_assert_eq(r, 0, "fault at call %ld: deleting key %d failed: %s", n, k,
			     golite_last_error());
		m.last[k] = -1;
	}
	golite_close(db);
	io_set_fault_hook(NULL, NULL);
	bool fired = atomic_load(&F.fired);

	/* The store opens and holds what was acknowledged. */
	cr_assert_eq(golite_open(dir, &o, &db), 0, "fault at call %ld: reopen failed: %s", n,
		     golite_last_error());
	char why[160];
	bool ok = matches(db, &m, why, sizeof(why));
	if (!ok && del_in_flight) {
		m.last[in_flight_k] = in_flight;
		ok = matches(db, &m, why, sizeof(why));
	}
	cr_assert(ok, "fault at call %ld: %s", n, why);
	/* And deletes work on it. */
	for (int k = 1; k < KEYS; k += 2)
		cr_assert_eq(retry(db, k, 0, true, &refusals), 0, "fault at call %ld: %s", n,
			     golite_last_error());
	cr_assert_eq(golite_close(db), 0);
	return fired;
}

Test(space, enospc_at_every_write_call_deletes_work_and_the_store_reopens, .timeout = 900)
{
	char dir[] = "/dev/shm/golite-space-XXXXXX";
	cr_assert(mkdtemp(dir));
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s/db", dir);
	long step = getenv("GOLITE_FAULT_STEP") ? atol(getenv("GOLITE_FAULT_STEP")) : 7;
	if (step < 1)
		step = 1;
	long runs = 0, fired = 0;
	for (long n = 1; n < 100000; n += step, runs++) {
		if (!run_one(sub, n))
			break;
		fired++;
	}
	printf("space: ENOSPC at every %ld-th space-consuming call: %ld runs, all checked\n",
	       step, runs);
	cr_assert_gt(fired, 10, "the faults fired");
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

static golite_stats stats(golite *db)
{
	golite_stats s;
	cr_assert_eq(golite_stats_get(db, &s), 0);
	return s;
}

Test(space, max_size_stops_writes_and_deletes_bring_them_back, .timeout = 120)
{
	char *dir = tu_tmpdir("space-limit");
	golite_options o;
	golite_options_init(&o);
	o.log = quiet;
	o.max_size = 24u << 20;
	golite *db;
	cr_assert_eq(golite_open(dir, &o, &db), 0, "%s", golite_last_error());
	cr_assert_eq(golite_table_create(db, "t"), 0);
	enum { VAL = 64 << 10, MAXKEYS = 1024 };
	static uint8_t buf[VAL];
	int n = 0, r = 0;
	for (; n < MAXKEYS; n++) {
		char key[16];
		snprintf(key, sizeof(key), "k%05d", n);
		tu_fill(buf, VAL, (uint64_t)n);
		r = golite_put(db, "t", key, strlen(key), buf, VAL);
		if (r)
			break;
	}
	cr_assert_eq(r, GOLITE_ENOSPC, "writes were not stopped by max_size (%d keys)", n);
	cr_assert(strstr(golite_last_error(), "max_size") || strstr(golite_last_error(), "reserve"),
		  "the error says why: %s", golite_last_error());
	cr_assert_gt(n, 16, "some writes went in before the limit");
	golite_stats s = stats(db);
	cr_assert_eq(s.space_state, 1);
	/* Writes stop within the headroom of the limit; a compaction running
	 * then may pass it by its output, briefly. */
	cr_assert_leq(s.space_used, o.max_size + (8u << 20), "used %llu of a limit of %llu",
		      (unsigned long long)s.space_used, (unsigned long long)o.max_size);
	cr_assert_eq(s.space_limit, o.max_size);

	/* Deletes work; their space comes back and writes resume. */
	for (int i = 0; i < n; i += 2) {
		char key[16];
		snprintf(key, sizeof(key), "k%05d", i);
		cr_assert_eq(golite_delete(db, "t", key, strlen(key)), 0, "%s", golite_last_error());
	}
	uint64_t used_full = s.space_used;
	bool back = false;
	for (int t = 0; t < 200 && !back; t++) {
		usleep(50000);
		s = stats(db);
		back = s.space_state == 0;
	}
	if (!back) {
		char *text = NULL;
		golite_stats_text(db, &text);
		printf("%s", text ? text : "");
		golite_free(text);
	}
	cr_assert(back, "writes did not resume after deleting half (used %llu, was %llu)",
		  (unsigned long long)s.space_used, (unsigned long long)used_full);
	cr_assert_leq(s.space_used, o.max_size - s.space_headroom, "writes resumed above the limit");
	tu_fill(buf, VAL, 999999);
	cr_assert_eq(golite_put(db, "t", "after", 5, buf, VAL), 0, "%s", golite_last_error());
	cr_assert_eq(golite_close(db), 0);

	/* Nothing acknowledged is lost. */
	cr_assert_eq(golite_open(dir, &o, &db), 0, "%s", golite_last_error());
	for (int i = 0; i < n; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%05d", i);
		void *v = NULL;
		size_t vl = 0;
		r = golite_get(db, "t", key, strlen(key), &v, &vl);
		if (i % 2 == 0) {
			cr_assert_eq(r, GOLITE_ENOTFOUND, "deleted key %d is back", i);
		} else {
			cr_assert_eq(r, 0, "key %d lost", i);
			cr_assert(vl == VAL && tu_check_fill(v, VAL, (uint64_t)i), "key %d damaged", i);
		}
		golite_free(v);
	}
	void *v = NULL;
	size_t vl;
	cr_assert_eq(golite_get(db, "t", "after", 5, &v, &vl), 0);
	cr_assert(vl == VAL && tu_check_fill(v, VAL, 999999));
	golite_free(v);
	cr_assert_eq(golite_close(db), 0);
	tu_rmtree(dir);
}

Test(space, a_batch_that_frees_space_is_bounded_and_goes_ahead_of_refusals, .timeout = 60)
{
	char *dir = tu_tmpdir("space-batch");
	golite_options o;
	golite_options_init(&o);
	o.log = quiet;
	o.max_size = 16u << 20;
	golite *db;
	cr_assert_eq(golite_open(dir, &o, &db), 0, "%s", golite_last_error());
	cr_assert_eq(golite_table_create(db, "t"), 0);
	static uint8_t buf[64 << 10];
	int r = 0;
	for (int n = 0; n < 1024 && !r; n++) {
		char key[16];
		snprintf(key, sizeof(key), "k%05d", n);
		r = golite_put(db, "t", key, strlen(key), buf, sizeof(buf));
	}
	cr_assert_eq(r, GOLITE_ENOSPC);
	golite_stats s = stats(db);
	uint64_t refused = s.space_refused;
	cr_assert_gt(refused, 0);

	/* Too many puts for a batch that frees space: refused as invalid. */
	golite_batch *b = golite_batch_new();
	golite_batch_set_frees_space(b, true);
	for (int i = 0; i < 5; i++) {
		char key[16];
		snprintf(key, sizeof(key), "big%d", i);
		cr_assert_eq(golite_batch_put(b, "t", key, strlen(key), buf, sizeof(buf)), 0);
	}
	cr_assert_eq(golite_write(db, b), GOLITE_EINVAL);
	cr_assert(!golite_exists(db, "t", "big0", 4), "the invalid batch changed nothing");

	/* A delete with a small put (a directory's new mtime, say) goes in. */
	golite_batch_clear(b);
	golite_batch_set_frees_space(b, true);
	cr_assert_eq(golite_batch_delete(b, "t", "k00000", 6), 0);
	cr_assert_eq(golite_batch_put(b, "t", "note", 4, "x", 1), 0);
	cr_assert_eq(golite_write(db, b), 0, "%s", golite_last_error());
	cr_assert(golite_exists(db, "t", "note", 4));
	cr_assert(!golite_exists(db, "t", "k00000", 6));

	/* The same batch without the mark is refused, and changes nothing.
	 * The space thread may find room meanwhile (the delete above lets a
	 * reclaim pass run), and then the batch rightly goes in: fill again
	 * until writes are refused and try once more, a bounded number of
	 * times. */
	bool refused_once = false;
	for (int attempt = 0; attempt < 20 && !refused_once; attempt++) {
		char key[16];
		snprintf(key, sizeof(key), "note%d", attempt);
		for (int n = 0; n < 1024 && !r; n++) {
			char fill[32];
			snprintf(fill, sizeof(fill), "f%02d-%05d", attempt, n);
			r = golite_put(db, "t", fill, strlen(fill), buf, sizeof(buf));
		}
		cr_assert_eq(r, GOLITE_ENOSPC, "%s", golite_last_error());
		golite_batch_clear(b);
		cr_assert_eq(golite_batch_put(b, "t", key, strlen(key), "x", 1), 0);
		r = golite_write(db, b);
		if (r == GOLITE_ENOSPC) {
			refused_once = true;
			cr_assert(!golite_exists(db, "t", key, strlen(key)), "a refused batch wrote");
		} else {
			cr_assert_eq(r, 0, "%s", golite_last_error());
		}
	}
	cr_assert(refused_once, "a batch without the mark was never refused");
	golite_batch_free(b);
	/* Dropping the whole table frees space too. */
	cr_assert_eq(golite_table_drop(db, "t", 0), 0, "%s", golite_last_error());
	cr_assert_eq(golite_close(db), 0);
	tu_rmtree(dir);
}
