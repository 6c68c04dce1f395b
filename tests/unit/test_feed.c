/*
 * test_feed.c — the change feed (golite_feed_* in golite_raw.h,
 * engine/feed.c): the line format, readers and their cursors, a reader
 * that falls behind, a feed nobody reads, and publishers racing each
 * other and a reader.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <regex.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golite.h"
#include "golite_raw.h"
#include "testutil.h"

static char *dir;
static golite *db;

static void open_feed(size_t events)
{
	dir = tu_tmpdir("feed");
	golite_options o;
	golite_options_init(&o);
	o.feed_events = events;
	db = tu_open(dir, &o);
}

static void teardown(void)
{
	cr_assert_eq(golite_close(db), 0);
	tu_rmtree(dir);
}

static void setup_default(void)
{
	open_feed(0);
}

static void setup_small(void)
{
	open_feed(16);
}

TestSuite(feed, .init = setup_default, .fini = teardown);
TestSuite(feed_small, .init = setup_small, .fini = teardown);

static void publish_kv(const char *op, const char *table, const char *key)
{
	golite_feed_field f[2] = { { table, strlen(table) }, { key, strlen(key) } };
	int r = golite_feed_publish(db, op, f, 2);
	cr_assert_eq(r, 0, "publish: %s", golite_last_error());
}

static golite_feed_reader *reader_at(uint64_t from)
{
	golite_feed_reader *r;
	cr_assert_eq(golite_feed_reader_new(db, from, &r), 0);
	return r;
}

/* Reads everything the reader has now, cap bytes a read; malloc()ed,
 * NUL-terminated. */
static char *read_all(golite_feed_reader *r, size_t cap)
{
	size_t len = 0, size = 1 << 16;
	char *out = malloc(size + 1);
	char *buf = malloc(cap);
	for (;;) {
		size_t n;
		cr_assert_eq(golite_feed_read(r, buf, cap, &n), 0);
		if (n == 0)
			break;
		if (len + n > size) {
			size = 2 * (len + n);
			out = realloc(out, size + 1);
		}
		memcpy(out + len, buf, n);
		len += n;
	}
	out[len] = '\0';
	free(buf);
	return out;
}

/* True if s matches the extended regular expression re. */
static bool matches(const char *s, const char *re)
{
	regex_t rx;
	cr_assert_eq(regcomp(&rx, re, REG_EXTENDED | REG_NOSUB), 0, "%s", re);
	bool ok = regexec(&rx, s, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

#define TIME_RE "[0-9]+\\.[0-9]{6}"

Test(feed, lines_are_numbered_timed_and_escaped)
{
	golite_feed_reader *r = reader_at(0);
	publish_kv("put", "users", "a b\n\\\x01z");
	cr_assert_eq(golite_feed_publish(db, "ping", NULL, 0), 0);
	char *text = read_all(r, 4096);
	cr_assert(matches(text, "^1 " TIME_RE " put users a\\\\x20b\\\\n\\\\\\\\\\\\x01z\n"
			  "2 " TIME_RE " ping\n$"), "%s", text);
	free(text);
	golite_feed_reader_free(r);
}

Test(feed, no_reader_no_events)
{
	for (int i = 0; i < 1000; i++)
		publish_kv("put", "t", "k");
	golite_feed_stats st;
	golite_feed_stats_get(db, &st);
	cr_assert_eq(st.events, 0, "events made while nobody reads");
	cr_assert_eq(st.bytes, 0);
	cr_assert_eq(st.readers, 0);
	cr_assert(!golite_feed_wanted(db));
	golite_feed_reader *r = reader_at(0);
	cr_assert(golite_feed_wanted(db));
	char *text = read_all(r, 100);
	cr_assert_str_empty(text, "a new reader sees only later events");
	free(text);
	publish_kv("put", "t", "k");
	text = read_all(r, 100);
	cr_assert(matches(text, "^1 " TIME_RE " put t k\n$"), "%s", text);
	free(text);
	golite_feed_reader_free(r);
	cr_assert(!golite_feed_wanted(db));
	publish_kv("put", "t", "k");
	golite_feed_stats_get(db, &st);
	cr_assert_eq(st.events, 1, "nothing made once the last reader left");
}

Test(feed, cut_lines_continue_in_the_next_read)
{
	golite_feed_reader *whole = reader_at(0), *bytewise = reader_at(0), *small = reader_at(0);
	for (int i = 0; i < 50; i++)
		publish_kv(i % 2 ? "put" : "delete", "table", "a key of some length");
	char *a = read_all(whole, 1 << 16), *b = read_all(bytewise, 1), *c = read_all(small, 7);
	cr_assert_str_eq(a, b);
	cr_assert_str_eq(a, c);
	golite_feed_stats st;
	golite_feed_stats_get(db, &st);
	cr_assert_eq(st.bytes, strlen(a), "the feed's size is the bytes of its lines");
	cr_assert_eq(st.readers, 3);
	free(a);
	free(b);
	free(c);
	golite_feed_reader_free(whole);
	golite_feed_reader_free(bytewise);
	golite_feed_reader_free(small);
}

Test(feed, a_reader_resumes_from_a_cursor)
{
	golite_feed_reader *r = reader_at(0);
	for (int i = 0; i < 10; i++)
		publish_kv("put", "t", "k");
	char *text = read_all(r, 4096);
	cr_assert_eq(golite_feed_reader_next(r), 11);
	free(text);
	golite_feed_reader *from5 = reader_at(5), *future = reader_at(100);
	text = read_all(from5, 4096);
	cr_assert(matches(text, "^5 " TIME_RE " put t k\n(.*\n){4}10 " TIME_RE " put t k\n$"),
		  "%s", text);
	free(text);
	text = read_all(future, 4096);
	cr_assert_str_empty(text, "a cursor not yet reached reads from the next event");
	free(text);
	golite_feed_reader_free(r);
	golite_feed_reader_free(from5);
	golite_feed_reader_free(future);
}

Test(feed_small, a_slow_reader_gets_a_missed_line)
{
	golite_feed_reader *r = reader_at(0);
	for (int i = 0; i < 100; i++)
		publish_kv("put", "t", "k");
	char *text = read_all(r, 1 << 16);
	/* 16 kept (85..100), 84 lost. */
	cr_assert(matches(text, "^1 " TIME_RE " missed 84\n85 " TIME_RE " put t k\n"), "%s", text);
	cr_assert(matches(text, "\n100 " TIME_RE " put t k\n$"), "%s", text);
	cr_assert_eq(golite_feed_reader_missed(r), 84);
	free(text);
	/* A cursor older than the ring also starts with a missed line. */
	golite_feed_reader *old = reader_at(2);
	text = read_all(old, 5);
	cr_assert(matches(text, "^2 " TIME_RE " missed 83\n85 "), "%s", text);
	free(text);
	golite_feed_reader_free(old);
	golite_feed_reader_free(r);
}

Test(feed, bad_arguments_are_refused)
{
	golite_feed_field empty = { "", 0 }, ok = { "x", 1 };
	cr_assert_eq(golite_feed_publish(db, NULL, NULL, 0), GOLITE_EINVAL);
	cr_assert_eq(golite_feed_publish(db, "", NULL, 0), GOLITE_EINVAL);
	cr_assert_eq(golite_feed_publish(db, "a b", NULL, 0), GOLITE_EINVAL);
	cr_assert_eq(golite_feed_publish(db, "missed", NULL, 0), GOLITE_EINVAL);
	cr_assert_eq(golite_feed_publish(db, "0123456789012345678901234567890123", NULL, 0),
		     GOLITE_EINVAL);
	cr_assert_eq(golite_feed_publish(db, "put", &empty, 1), GOLITE_EINVAL);
	cr_assert_eq(golite_feed_publish(db, "put", NULL, 1), GOLITE_EINVAL);
	cr_assert_eq(golite_feed_publish(db, "put", &ok, 1), 0);
	cr_assert_eq(golite_feed_reader_new(db, 0, NULL), GOLITE_EINVAL);
	golite_feed_reader *r = reader_at(0);
	size_t n;
	cr_assert_eq(golite_feed_read(r, NULL, 1, &n), GOLITE_EINVAL);
	cr_assert_eq(golite_feed_read(r, NULL, 0, &n), 0);
	cr_assert_eq(n, 0);
	golite_feed_reader_free(r);

	char *d = tu_tmpdir("feed_opts");
	golite_options o;
	golite_options_init(&o);
	o.feed_events = (1u << 24) + 1;
	golite *g = (golite *)1;
	cr_assert_eq(golite_open(d, &o, &g), GOLITE_EINVAL);
	cr_assert_null(g);
	tu_rmtree(d);
}

/* ---- publishers racing ---- */

#define PUBLISHERS 4
#define EVENTS_EACH 5000

struct race {
	int id;
	pthread_barrier_t *go;
};

static void *publisher(void *p)
{
	struct race *rc = p;
	char table[16], key[16];
	snprintf(table, sizeof(table), "p%d", rc->id);
	pthread_barrier_wait(rc->go);
	for (int i = 0; i < EVENTS_EACH; i++) {
		snprintf(key, sizeof(key), "%d", i);
		publish_kv("put", table, key);
	}
	golite_thread_detach();
	return NULL;
}

/* Starts PUBLISHERS threads, and reads while they publish (cap bytes a
 * read). Checks every line: SEQ consecutive (a missed line covering any
 * gap), each publisher's keys in its own order. Returns the events lost. */
static uint64_t race_and_read(size_t cap)
{
	golite_feed_reader *r = reader_at(0);
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, PUBLISHERS + 1);
	pthread_t th[PUBLISHERS];
	struct race rc[PUBLISHERS];
	for (int i = 0; i < PUBLISHERS; i++) {
		rc[i] = (struct race){ i, &go };
		pthread_create(&th[i], NULL, publisher, &rc[i]);
	}
	pthread_barrier_wait(&go);
	const uint64_t total = PUBLISHERS * EVENTS_EACH;
	char *buf = malloc(cap), line[256];
	size_t llen = 0;
	uint64_t next = 1, missed = 0;
	int last[PUBLISHERS];
	for (int i = 0; i < PUBLISHERS; i++)
		last[i] = -1;
	while (next <= total) {
		size_t n;
		cr_assert_eq(golite_feed_read(r, buf, cap, &n), 0);
		for (size_t i = 0; i < n; i++) {
			cr_assert_lt(llen, sizeof(line) - 1);
			line[llen++] = buf[i];
			if (buf[i] != '\n')
				continue;
			line[llen] = '\0';
			llen = 0;
			unsigned long long seq, count;
			int who, key;
			if (sscanf(line, "%llu %*u.%*u missed %llu", &seq, &count) == 2) {
				cr_assert_eq(seq, next, "%s", line);
				next += count;
				missed += count;
				continue;
			}
			cr_assert_eq(sscanf(line, "%llu %*u.%*u put p%d %d", &seq, &who, &key), 3,
				     "%s", line);
			cr_assert_eq(seq, next, "line %s, want seq %llu", line,
				     (unsigned long long)next);
			cr_assert(who >= 0 && who < PUBLISHERS && key > last[who], "%s", line);
			last[who] = key;
			next++;
		}
	}
	for (int i = 0; i < PUBLISHERS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	free(buf);
	golite_feed_reader_free(r);
	return missed;
}

Test(feed_big, concurrent_publishers_lose_nothing_in_a_large_ring, .fini = teardown)
{
	open_feed(1 << 16);
	cr_assert_eq(race_and_read(4096), 0);
}

Test(feed_small, a_reader_behind_concurrent_publishers_counts_what_it_lost)
{
	/* A ring of 16 and reads of 100 bytes: the reader falls behind; the
	 * lines it gets and the missed counts add up to every event. */
	uint64_t missed = race_and_read(100);
	cr_log_info("missed %llu of %d", (unsigned long long)missed, PUBLISHERS * EVENTS_EACH);

}

/* ---- watches ---- */

struct wake_count {
	_Atomic unsigned calls;
	_Atomic unsigned readable;   /* calls that found their event numbered */
};

static void count_wake(void *ctx)
{
	struct wake_count *w = ctx;
	unsigned n = atomic_fetch_add(&w->calls, 1) + 1;
	golite_feed_stats st;
	golite_feed_stats_get(db, &st);
	if (st.events >= n)
		atomic_fetch_add(&w->readable, 1);
}

Test(feed, a_watch_is_called_once_per_event_after_it_is_in_the_ring)
{
	struct wake_count wc = { 0 };
	golite_feed_watch *w;
	cr_assert_eq(golite_feed_watch_new(db, count_wake, &wc, &w), 0);
	golite_feed_reader *r = reader_at(0);
	for (int i = 0; i < 10; i++)
		publish_kv("put", "t", "k");
	cr_assert_eq(atomic_load(&wc.calls), 10);
	cr_assert_eq(atomic_load(&wc.readable), 10, "a watch ran before its event was kept");
	golite_feed_watch_free(w);
	publish_kv("put", "t", "k");
	cr_assert_eq(atomic_load(&wc.calls), 10, "called after golite_feed_watch_free");
	golite_feed_reader_free(r);
}

Test(feed, a_watch_without_a_reader_is_not_called)
{
	struct wake_count wc = { 0 };
	golite_feed_watch *w;
	cr_assert_eq(golite_feed_watch_new(db, count_wake, &wc, &w), 0);
	for (int i = 0; i < 100; i++)
		publish_kv("put", "t", "k");
	cr_assert_eq(atomic_load(&wc.calls), 0, "no reader: no event, no call");
	golite_feed_watch_free(w);
}

Test(feed, several_watches_each_hear_every_event)
{
	struct wake_count a = { 0 }, b = { 0 };
	golite_feed_watch *wa, *wb;
	cr_assert_eq(golite_feed_watch_new(db, count_wake, &a, &wa), 0);
	cr_assert_eq(golite_feed_watch_new(db, count_wake, &b, &wb), 0);
	golite_feed_reader *r = reader_at(0);
	publish_kv("delete", "t", "k");
	golite_feed_watch_free(wa);
	publish_kv("delete", "t", "k");
	cr_assert_eq(atomic_load(&a.calls), 1);
	cr_assert_eq(atomic_load(&b.calls), 2);
	golite_feed_watch_free(wb);
	golite_feed_reader_free(r);
	cr_assert_eq(golite_feed_watch_new(db, NULL, NULL, &wa), GOLITE_EINVAL);
	cr_assert_null(wa);
	golite_feed_watch_free(NULL);
}

/* A reader thread that sleeps on a condition variable its watch signals
 * reads every event that publishers on other threads make. */
struct sleeper {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool woken;
	golite_feed_reader *r;
	unsigned want, lines;
};

static void wake_sleeper(void *ctx)
{
	struct sleeper *s = ctx;
	pthread_mutex_lock(&s->mu);
	s->woken = true;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void *sleeper_main(void *arg)
{
	struct sleeper *s = arg;
	char buf[4096];
	while (s->lines < s->want) {
		size_t n;
		cr_assert_eq(golite_feed_read(s->r, buf, sizeof(buf), &n), 0);
		for (size_t i = 0; i < n; i++)
			s->lines += buf[i] == '\n';
		if (n)
			continue;
		pthread_mutex_lock(&s->mu);
		while (!s->woken)
			pthread_cond_wait(&s->cv, &s->mu);
		s->woken = false;
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

static void *publish_500(void *arg)
{
	(void)arg;
	for (int i = 0; i < 500; i++)
		publish_kv("put", "t", "k");
	return NULL;
}

Test(feed, a_reader_sleeping_on_its_watch_misses_no_wakeup)
{
	struct sleeper s = { .want = 2000 };
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cv, NULL);
	s.r = reader_at(0);
	golite_feed_watch *w;
	cr_assert_eq(golite_feed_watch_new(db, wake_sleeper, &s, &w), 0);
	pthread_t rt, pt[4];
	pthread_create(&rt, NULL, sleeper_main, &s);
	for (int i = 0; i < 4; i++)
		pthread_create(&pt[i], NULL, publish_500, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(pt[i], NULL);
	pthread_join(rt, NULL);
	cr_assert_eq(s.lines, 2000);
	golite_feed_watch_free(w);
	golite_feed_reader_free(s.r);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&s.mu);
}
