/*
 * test_ttl.c — keys that expire (golite.h "Keys that expire"; engine/expire.h).
 *
 * An expiring key is readable until its expiry and absent from gets,
 * exists, iterators and listings from then on; the store deletes it soon
 * after (stats, the change feed's "expire" line) and compaction reclaims
 * it; golite_expire sets and removes a time to live and keeps the value;
 * an overwrite clears it; times to live survive close, reopen, flushes
 * and compactions; keys that expired while the store was closed are gone
 * at open; a snapshot shows a key that had not expired when it was taken;
 * writes racing with the expirer are never lost (the race test prints its
 * seed); a kill -9 or a power cut while the expirer works loses no
 * acknowledged write, resurrects nothing, and the expirer finishes after
 * the restart; the space of expired keys is reclaimed by compaction; bad
 * input changes nothing. Waits for the expirer are bounded
 * polls, never timing assertions.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "golite.h"
#include "golite_raw.h"
#include "expire.h"
#include "golite_tools.h"
#include "io.h"
#include "testutil.h"

static char *dir;

static void setup(void)
{
	dir = tu_tmpdir("ttl");
}

static void teardown(void)
{
	tu_rmtree(dir);
}

TestSuite(ttl, .init = setup, .fini = teardown, .timeout = 300);

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
	while (nanosleep(&ts, &ts))
		;
}

static bool present(golite *db, const char *table, const char *key)
{
	void *v;
	size_t n;
	int r = golite_get(db, table, key, strlen(key), &v, &n);
	if (r == 0) {
		golite_free(v);
		return true;
	}
	cr_assert_eq(r, GOLITE_ENOTFOUND, "get %s: %s", key, golite_last_error());
	return false;
}

static size_t count_keys(golite *db, const char *table, const golite_snapshot *snap)
{
	golite_iter_options o = { .snapshot = snap };
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, table, &o, &it), 0);
	size_t n = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it))
		n++;
	cr_assert_eq(golite_iter_status(it), 0);
	golite_iter_free(it);
	return n;
}

/* Waits (bounded) until the store deleted `want` keys at expiry. */
static void wait_expired(golite *db, uint64_t want)
{
	golite_stats s;
	for (int i = 0; i < 3000; i++) {
		cr_assert_eq(golite_stats_get(db, &s), 0);
		if (s.expired_keys >= want)
			break;
		sleep_ms(10);
	}
	cr_assert_eq(s.expired_keys, want, "expired_keys %llu, want %llu",
		     (unsigned long long)s.expired_keys, (unsigned long long)want);
}

Test(ttl, expires_from_reads_listings_and_feed)
{
	golite *db = tu_open(dir, NULL);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	golite_feed_reader *fr;
	cr_assert_eq(golite_feed_reader_new(db, 0, &fr), 0);
	cr_assert_eq(golite_put_ttl(db, "t", "short", 5, "v1", 2, 300), 0);
	cr_assert_eq(golite_put_ttl(db, "t", "long", 4, "v2", 2, 3600 * 1000), 0);
	cr_assert_eq(golite_put(db, "t", "plain", 5, "v3", 2), 0);
	int64_t left;
	cr_assert_eq(golite_ttl(db, "t", "short", 5, &left), 0);
	cr_assert(left >= 1 && left <= 300, "left %lld", (long long)left);
	cr_assert_eq(golite_ttl(db, "t", "plain", 5, &left), 0);
	cr_assert_eq(left, -1);
	void *v;
	size_t n;
	cr_assert_eq(golite_get(db, "t", "short", 5, &v, &n), 0);
	cr_assert(n == 2 && memcmp(v, "v1", 2) == 0, "the value comes back without its expiry");
	golite_free(v);
	cr_assert_eq(count_keys(db, "t", NULL), 3);

	/* Past its expiry: gone from every read at once. */
	while (golite_exists(db, "t", "short", 5))
		sleep_ms(5);
	cr_assert(!present(db, "t", "short"));
	cr_assert_eq(golite_ttl(db, "t", "short", 5, &left), GOLITE_ENOTFOUND);
	cr_assert_eq(count_keys(db, "t", NULL), 2);
	cr_assert(present(db, "t", "long"));
	cr_assert(present(db, "t", "plain"));

	wait_expired(db, 1);
	char buf[4096];
	size_t len = 0, got;
	for (int i = 0; i < 500 && !strstr(buf, "expire t short"); i++) {
		cr_assert_eq(golite_feed_read(fr, buf + len, sizeof(buf) - 1 - len, &got), 0);
		len += got;
		buf[len] = '\0';
		if (!strstr(buf, "expire t short"))
			sleep_ms(10);
	}
	cr_assert(strstr(buf, " expire t short\n"), "feed: %s", buf);
	golite_feed_reader_free(fr);
	cr_assert_eq(golite_close(db), 0);
}

Test(ttl, overwrite_clears_and_expire_sets_and_removes)
{
	golite *db = tu_open(dir, NULL);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	cr_assert_eq(golite_put_ttl(db, "t", "a", 1, "old", 3, 200), 0);
	cr_assert_eq(golite_put(db, "t", "a", 1, "new", 3), 0);
	int64_t left;
	cr_assert_eq(golite_ttl(db, "t", "a", 1, &left), 0);
	cr_assert_eq(left, -1, "an overwrite clears the time to live");

	cr_assert_eq(golite_put(db, "t", "b", 1, "bee", 3), 0);
	cr_assert_eq(golite_expire(db, "t", "b", 1, 3600 * 1000), 0);
	cr_assert_eq(golite_ttl(db, "t", "b", 1, &left), 0);
	cr_assert(left > 3500 * 1000 && left <= 3600 * 1000, "left %lld", (long long)left);
	void *v;
	size_t n;
	cr_assert_eq(golite_get(db, "t", "b", 1, &v, &n), 0);
	cr_assert(n == 3 && memcmp(v, "bee", 3) == 0, "golite_expire keeps the value");
	golite_free(v);
	cr_assert_eq(golite_expire(db, "t", "b", 1, 0), 0);
	cr_assert_eq(golite_ttl(db, "t", "b", 1, &left), 0);
	cr_assert_eq(left, -1, "ttl 0 removes the time to live");
	cr_assert_eq(golite_expire(db, "t", "b", 1, 0), 0, "removing none is no error");

	cr_assert_eq(golite_expire(db, "t", "c", 1, 100), GOLITE_ENOTFOUND);
	cr_assert_eq(golite_expire(db, "t", "b", 1, 150), 0);
	sleep_ms(400);
	cr_assert(present(db, "t", "a"), "the overwritten key outlives its old expiry");
	cr_assert(!present(db, "t", "b"));
	wait_expired(db, 1);
	/* The index entry of a's old version goes too: what is left is b's
	 * hour, removed from the key but waiting in the index. */
	golite_stats s;
	uint64_t hour = golite_clock_ms(db) + 3000 * 1000;
	for (int i = 0; i < 500; i++) {
		golite_stats_get(db, &s);
		if (s.expiry_next_ms > hour)
			break;
		sleep_ms(10);
	}
	cr_assert_gt(s.expiry_next_ms, hour);
	cr_assert(present(db, "t", "a"));
	cr_assert_eq(golite_close(db), 0);
}

Test(ttl, bad_input_changes_nothing)
{
	golite *db = tu_open(dir, NULL);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	cr_assert_eq(golite_put(db, "t", "k", 1, "v", 1), 0);
	cr_assert_eq(golite_put_ttl(db, "t", "z", 1, "v", 1, 0), GOLITE_EINVAL);
	cr_assert_eq(golite_put_ttl(db, "t", "z", 1, "v", 1, GOLITE_TTL_MAX_MS + 1),
		     GOLITE_EINVAL);
	cr_assert(strstr(golite_last_error(), "time to live"), "%s", golite_last_error());
	cr_assert_eq(golite_expire(db, "t", "k", 1, GOLITE_TTL_MAX_MS + 1), GOLITE_EINVAL);
	cr_assert_eq(golite_put_ttl(db, "nope", "z", 1, "v", 1, 1000), GOLITE_ENOTABLE);
	cr_assert_eq(golite_expire(db, "nope", "k", 1, 1000), GOLITE_ENOTABLE);
	cr_assert_eq(golite_put_ttl(db, "t", "", 0, "v", 1, 1000), GOLITE_EKEYSIZE);
	cr_assert_eq(golite_ttl(db, "t", "k", 1, NULL), GOLITE_EINVAL);
	cr_assert(!present(db, "t", "z"));
	int64_t left;
	cr_assert_eq(golite_ttl(db, "t", "k", 1, &left), 0);
	cr_assert_eq(left, -1);
	cr_assert_eq(golite_put_ttl(db, "t", "max", 3, "v", 1, GOLITE_TTL_MAX_MS), 0);
	cr_assert_eq(golite_close(db), 0);

	golite_options o;
	golite_options_init(&o);
	o.read_only = true;
	db = tu_open(dir, &o);
	cr_assert_eq(golite_expire(db, "t", "k", 1, 1000), GOLITE_EROFS);
	cr_assert_eq(golite_put_ttl(db, "t", "k", 1, "v", 1, 1000), GOLITE_EROFS);
	cr_assert_eq(golite_close(db), 0);
}

Test(ttl, survives_reopen_flush_and_compaction)
{
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	char key[32], val[200];
	memset(val, 'x', sizeof(val));
	/* Enough to reach tables: half expire soon, half in an hour. */
	for (int i = 0; i < 2000; i++) {
		int n = snprintf(key, sizeof(key), "k%05d", i);
		cr_assert_eq(golite_put_ttl(db, "t", key, (size_t)n, val, sizeof(val),
					    i % 2 ? 3600 * 1000 : 700), 0);
	}
	cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
	cr_assert_eq(count_keys(db, "t", NULL), 2000);
	cr_assert_eq(golite_close(db), 0);

	/* Closed while they expire: gone at open, deleted by the expirer. */
	sleep_ms(900);
	db = tu_open(dir, &o);
	cr_assert_eq(count_keys(db, "t", NULL), 1000);
	cr_assert(!present(db, "t", "k00000"));
	cr_assert(present(db, "t", "k00001"));
	int64_t left;
	cr_assert_eq(golite_ttl(db, "t", "k00001", 6, &left), 0);
	cr_assert(left > 3000 * 1000, "the long ones keep theirs: %lld", (long long)left);
	golite_stats before, after;
	cr_assert_eq(golite_stats_get(db, &before), 0);
	wait_expired(db, 1000);
	cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
	cr_assert_eq(count_keys(db, "t", NULL), 1000);
	/* Their space is reclaimed: half the values are gone from the tables
	 * (and the expiry index holds only the long ones). */
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	cr_assert_eq(golite_stats_get(db, &after), 0);
	cr_assert_lt(after.sstable_bytes, before.sstable_bytes * 3 / 4,
		     "tables %llu bytes before the expiry, %llu after",
		     (unsigned long long)before.sstable_bytes,
		     (unsigned long long)after.sstable_bytes);
	cr_assert_eq(golite_close(db), 0);

	golite_check_options co = { .quiet = true };
	golite_check_stats cs;
	cr_assert_eq(golite_check(dir, &co, &cs), 0);
	cr_assert_eq(cs.problems, 0);
}

Test(ttl, snapshot_sees_key_as_it_was)
{
	golite *db = tu_open(dir, NULL);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	cr_assert_eq(golite_put_ttl(db, "t", "k", 1, "v", 1, 300), 0);
	golite_snapshot *s;
	cr_assert_eq(golite_snapshot_new(db, &s), 0);
	while (golite_exists(db, "t", "k", 1))
		sleep_ms(5);
	wait_expired(db, 1);
	void *v;
	size_t n;
	cr_assert_eq(golite_get_at(db, s, "t", "k", 1, &v, &n), 0,
		     "the snapshot was taken before the expiry");
	golite_free(v);
	cr_assert_eq(count_keys(db, "t", s), 1);
	cr_assert_eq(count_keys(db, "t", NULL), 0);
	golite_snapshot_free(s);

	/* Taken after the expiry: absent there too. */
	cr_assert_eq(golite_snapshot_new(db, &s), 0);
	cr_assert_eq(golite_get_at(db, s, "t", "k", 1, &v, &n), GOLITE_ENOTFOUND);
	golite_snapshot_free(s);
	cr_assert_eq(golite_close(db), 0);
}

Test(ttl, batch_put_expiring)
{
	golite *db = tu_open(dir, NULL);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	golite_batch *b = golite_batch_new();
	uint64_t now = golite_clock_ms(db);
	cr_assert_eq(golite_batch_put_expiring(b, "t", "a", 1, "1", 1, now + 200), 0);
	cr_assert_eq(golite_batch_put(b, "t", "b", 1, "2", 1), 0);
	cr_assert_eq(golite_batch_put_expiring(b, "t", "c", 1, "3", 1, 0), GOLITE_EINVAL);
	cr_assert_eq(golite_write(db, b), 0);
	golite_batch_free(b);
	cr_assert(present(db, "t", "a"));
	wait_expired(db, 1);
	cr_assert(!present(db, "t", "a"));
	cr_assert(present(db, "t", "b"));
	cr_assert_eq(golite_close(db), 0);
}

struct racer {
	golite *db;
	int nkeys;
	uint64_t seed;
	_Atomic int done;
	bool *rewritten;
};

/* Overwrites random keys without a time to live while they expire. */
static void *race_writer(void *arg)
{
	struct racer *rc = arg;
	struct tu_rng rng;
	tu_rng_init(&rng, rc->seed);
	char key[16];
	for (int i = 0; i < rc->nkeys; i++) {
		int k = (int)tu_below(&rng, (uint64_t)rc->nkeys);
		int n = snprintf(key, sizeof(key), "r%05d", k);
		cr_assert_eq(golite_put(rc->db, "t", key, (size_t)n, "keep", 4), 0);
		rc->rewritten[k] = true;
		if (tu_chance(&rng, 10))
			sleep_ms(1);
	}
	atomic_store(&rc->done, 1);
	return NULL;
}

Test(ttl, writes_racing_with_the_expirer_are_kept)
{
	uint64_t seed = tu_seed("ttl.race", (uint64_t)time(NULL));
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	enum { N = 4000 };
	static bool rewritten[N];
	memset(rewritten, 0, sizeof(rewritten));
	char key[16];
	for (int i = 0; i < N; i++) {
		int n = snprintf(key, sizeof(key), "r%05d", i);
		/* Spread over ~400 ms so that the expirer works while the
		 * writer overwrites. */
		cr_assert_eq(golite_put_ttl(db, "t", key, (size_t)n, "gone", 4, 50 + (uint64_t)i / 10),
			     0);
	}
	struct racer rc = { .db = db, .nkeys = N, .seed = seed, .rewritten = rewritten };
	pthread_t t;
	pthread_create(&t, NULL, race_writer, &rc);
	pthread_join(t, NULL);
	sleep_ms(500);   /* every first version has expired */
	for (int i = 0; i < N; i++) {
		int n = snprintf(key, sizeof(key), "r%05d", i);
		void *v;
		size_t vl;
		int r = golite_get(db, "t", key, (size_t)n, &v, &vl);
		if (rewritten[i]) {
			cr_assert_eq(r, 0, "seed %llu: %s was overwritten but is gone",
				     (unsigned long long)seed, key);
			cr_assert(vl == 4 && memcmp(v, "keep", 4) == 0);
			golite_free(v);
		} else {
			cr_assert_eq(r, GOLITE_ENOTFOUND, "seed %llu: %s", (unsigned long long)seed,
				     key);
		}
	}
	cr_assert_eq(golite_close(db), 0);
	/* And after a reopen (the log and the tables agree). */
	db = tu_open(dir, &o);
	for (int i = 0; i < N; i++) {
		int n = snprintf(key, sizeof(key), "r%05d", i);
		cr_assert_eq(golite_exists(db, "t", key, (size_t)n), rewritten[i],
			     "seed %llu: %s after reopen", (unsigned long long)seed, key);
	}
	cr_assert_eq(golite_close(db), 0);
}

/* A child writes keys that expire soon, keys that expire in an hour,
 * plain keys, and overwrites half the short ones without a time to live;
 * the expirer is at work when the child dies: with kill -9's equivalent
 * (_exit: the page cache keeps what was written) or a power cut
 * (io_crash_now: what was not synced is lost). Every write is in sync
 * mode, so every one acknowledged must survive. */
static void ttl_crash_child(bool cut, int tell)
{
	if (cut)
		io_crash_tracking(true);
	golite_options o;
	tu_small_options(&o);
	o.durability = GOLITE_SYNC;
	golite *db;
	if (golite_open(dir, &o, &db) || golite_table_create(db, "t")) {
		fprintf(stderr, "child: %s\n", golite_last_error());
		_exit(3);
	}
	char k[16];
	uint64_t now = golite_clock_ms(db);
	if (write(tell, &now, sizeof(now)) != (ssize_t)sizeof(now))
		_exit(6);
	for (int base = 0; base < 600; base += 50) {
		golite_batch *b = golite_batch_new();
		for (int i = base; i < base + 50; i++) {
			int n = snprintf(k, sizeof(k), "s%04d", i);
			golite_batch_put_expiring(b, "t", k, (size_t)n, "short", 5, now + 100 + (uint64_t)i);
			n = snprintf(k, sizeof(k), "l%04d", i);
			golite_batch_put_expiring(b, "t", k, (size_t)n, "long", 4, now + 3600 * 1000);
			n = snprintf(k, sizeof(k), "p%04d", i);
			golite_batch_put(b, "t", k, (size_t)n, "plain", 5);
		}
		if (golite_write(db, b))
			_exit(4);
		golite_batch_free(b);
	}
	/* Overwrite every other short key while they expire. */
	for (int i = 0; i < 600; i += 2) {
		int n = snprintf(k, sizeof(k), "s%04d", i);
		if (golite_put(db, "t", k, (size_t)n, "kept", 4))
			_exit(5);
	}
	sleep_ms(400);
	if (cut)
		io_crash_now();
	_exit(0);
}

static void ttl_crash_and_check(bool cut)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		ttl_crash_child(cut, p[1]);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	uint64_t child_now = 0;
	cr_assert_eq(read(p[0], &child_now, sizeof(child_now)), (ssize_t)sizeof(child_now));
	close(p[0]);
	close(p[1]);
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	/* Past the last short expiry (child_now + 100 + 599 ms). */
	while (golite_clock_ms(db) <= child_now + 700)
		sleep_ms(10);
	char k[16];
	for (int i = 0; i < 600; i++) {
		int n = snprintf(k, sizeof(k), "s%04d", i);
		void *v;
		size_t vl;
		int r = golite_get(db, "t", k, (size_t)n, &v, &vl);
		if (i % 2 == 0) {
			cr_assert_eq(r, 0, "%s was overwritten without a time to live", k);
			cr_assert(vl == 4 && memcmp(v, "kept", 4) == 0);
			golite_free(v);
		} else {
			cr_assert_eq(r, GOLITE_ENOTFOUND, "%s has expired", k);
		}
		n = snprintf(k, sizeof(k), "l%04d", i);
		int64_t left;
		cr_assert_eq(golite_ttl(db, "t", k, (size_t)n, &left), 0, "%s", k);
		cr_assert_gt(left, 3000 * 1000, "%s keeps its hour", k);
		n = snprintf(k, sizeof(k), "p%04d", i);
		cr_assert(golite_exists(db, "t", k, (size_t)n), "%s", k);
	}
	/* Whatever the expirer had not done before the crash it does now:
	 * the index drains down to the hour-long keys. */
	golite_stats st;
	uint64_t hour = golite_clock_ms(db) + 3000 * 1000;
	for (int i = 0; i < 3000; i++) {
		cr_assert_eq(golite_stats_get(db, &st), 0);
		if (st.expiry_next_ms > hour)
			break;
		sleep_ms(10);
	}
	cr_assert_gt(st.expiry_next_ms, hour);
	cr_assert_eq(count_keys(db, "t", NULL), 300 + 600 + 600);
	cr_assert_eq(golite_close(db), 0);
	golite_check_stats cs;
	cr_assert_eq(golite_check(dir, NULL, &cs), 0);
	cr_assert_eq(cs.problems, 0);
}

Test(ttl, expiry_survives_kill)
{
	ttl_crash_and_check(false);
}

Test(ttl, expiry_survives_power_cut)
{
	ttl_crash_and_check(true);
}

/* The clock set forward expires keys early, for good; set back, it
 * brings nothing back and keys expire later by the jump (golite.h). */
Test(ttl, clock_jumps)
{
	golite *db = tu_open(dir, NULL);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	cr_assert_eq(golite_put_ttl(db, "t", "a", 1, "v", 1, 3600 * 1000), 0);
	cr_assert_eq(golite_put_ttl(db, "t", "b", 1, "v", 1, 3 * 3600 * 1000), 0);
	expire_clock_shift(2 * 3600 * 1000);   /* two hours forward */
	cr_assert(!present(db, "t", "a"), "expired by the jump");
	cr_assert(present(db, "t", "b"));
	wait_expired(db, 1);
	expire_clock_shift(-2 * 3600 * 1000);  /* and back */
	cr_assert(!present(db, "t", "a"), "a clock set back brings nothing back");
	int64_t left;
	cr_assert_eq(golite_ttl(db, "t", "b", 1, &left), 0);
	cr_assert_leq(left, 3600 * 1000, "the store's clock did not go back: %lld",
		      (long long)left);
	/* While the wall clock is behind, the store's clock stands still: a
	 * key of 100 ms outlives 300 ms. */
	cr_assert_eq(golite_put_ttl(db, "t", "c", 1, "v", 1, 100), 0);
	sleep_ms(300);
	cr_assert(present(db, "t", "c"), "expires later by the jump");
	cr_assert_eq(golite_close(db), 0);
	/* A new open starts from the wall clock: c was given its 100 ms on
	 * the clock two hours ahead, so it has two hours left now. */
	db = tu_open(dir, NULL);
	cr_assert(!present(db, "t", "a"));
	cr_assert(present(db, "t", "b"));
	cr_assert_eq(golite_ttl(db, "t", "c", 1, &left), 0);
	cr_assert(left > 7000 * 1000 && left <= 7201 * 1000, "c: %lld ms left", (long long)left);
	cr_assert_eq(golite_close(db), 0);
}

/* Keys of a dropped table leave nothing behind in the expiry index. */
Test(ttl, dropped_table)
{
	golite *db = tu_open(dir, NULL);
	cr_assert_eq(golite_table_create(db, "gone"), 0);
	for (int i = 0; i < 50; i++) {
		char k[8];
		int n = snprintf(k, sizeof(k), "k%d", i);
		cr_assert_eq(golite_put_ttl(db, "gone", k, (size_t)n, "v", 1, 200), 0);
	}
	cr_assert_eq(golite_table_drop(db, "gone", 0), 0);
	golite_stats s;
	for (int i = 0; i < 3000; i++) {
		cr_assert_eq(golite_stats_get(db, &s), 0);
		if (s.expiry_next_ms == 0)
			break;
		sleep_ms(10);
	}
	cr_assert_eq(s.expiry_next_ms, 0, "the index drained");
	cr_assert_eq(s.expired_keys, 0, "nothing was counted as expired");
	cr_assert_eq(golite_table_create(db, "gone"), 0);
	cr_assert_eq(count_keys(db, "gone", NULL), 0);
	cr_assert_eq(golite_close(db), 0);
}
