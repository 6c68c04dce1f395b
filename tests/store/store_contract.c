/*
 * store_contract.c — the store port's contract (include/golite_store.h),
 * checked against a backend, and the load the fault tests put on it.
 *
 *   store_contract check URI       every rule below; exit 0 if all hold
 *   store_contract load URI TABLE N [SECONDS]
 *                                  commits keys k000000.. one by one, each
 *                                  its own transaction, printing each key
 *                                  once its commit returned 0 ("acknowledged");
 *                                  failed commits are retried (stderr says
 *                                  why) until N are in or SECONDS (default
 *                                  120) have passed
 *   store_contract verify URI TABLE FILE
 *                                  every key FILE lists (one per line) is in
 *                                  TABLE with the value load gave it
 *
 * check uses tables named "contract-*" of a store it creates if missing.
 * The random part (the concurrent counter) prints its seed.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "golite.h"
#include "golite_store.h"

static int failures;
static const char *uri;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);  \
			fprintf(stderr, __VA_ARGS__);                         \
			fprintf(stderr, " (last error: %s)\n", golite_last_error()); \
			failures++;                                           \
		}                                                             \
	} while (0)

#define EQ(a, b) CHECK((a) == (b), "%s = %d, expected %s = %d", #a, (int)(a), #b, (int)(b))

static golite_store *open_store(bool create)
{
	golite_store_options o;
	golite_store_options_init(&o);
	o.create = create;
	golite_store *s = NULL;
	int r = golite_store_open(uri, &o, &s);
	if (r) {
		fprintf(stderr, "cannot open %s: %s\n", uri, golite_last_error());
		exit(2);
	}
	return s;
}

static int put1(golite_store *s, const char *table, const void *k, size_t kl, const void *v,
		size_t vl)
{
	golite_txn *t;
	golite_txn_begin(s, &t);
	int r = golite_txn_put(t, table, k, kl, v, vl);
	if (!r)
		r = golite_txn_commit(t, NULL);
	golite_txn_free(t);
	return r;
}

static int get1(golite_store *s, const char *table, const void *k, size_t kl, void **v,
		size_t *vl, uint64_t *ver)
{
	golite_txn *t;
	golite_txn_begin(s, &t);
	int r = golite_txn_get(t, table, k, kl, v, vl, ver);
	golite_txn_free(t);
	return r;
}

static bool value_is(golite_store *s, const char *table, const char *k, const char *want)
{
	void *v = NULL;
	size_t vl = 0;
	int r = get1(s, table, k, strlen(k), &v, &vl, NULL);
	bool ok = want ? r == 0 && vl == strlen(want) && memcmp(v, want, vl) == 0
		       : r == GOLITE_ENOTFOUND;
	golite_free(v);
	return ok;
}

static void fresh_table(golite_store *s, const char *t)
{
	int r = golite_store_table_drop(s, t, 1);
	CHECK(r == 0 || r == GOLITE_ENOTABLE, "drop %s: %d", t, r);
	EQ(golite_store_table_create(s, t), 0);
}

/* ---- the rules ---- */

static void tables_and_errors(golite_store *s)
{
	const char *T = "contract-a";
	fresh_table(s, T);
	EQ(golite_store_table_create(s, T), GOLITE_EEXIST);
	EQ(golite_store_table_create(s, "bad/name"), GOLITE_ENAME);
	EQ(golite_store_table_create(s, ""), GOLITE_ENAME);
	char **names;
	size_t n;
	EQ(golite_store_table_list(s, &names, &n), 0);
	bool seen = false;
	for (size_t i = 0; i < n; i++) {
		seen |= strcmp(names[i], T) == 0;
		if (i)
			CHECK(strcmp(names[i - 1], names[i]) < 0, "tables out of order");
	}
	CHECK(seen, "table %s not listed", T);
	golite_free(names);

	void *v = NULL;
	size_t vl;
	EQ(get1(s, T, "nokey", 5, &v, &vl, NULL), GOLITE_ENOTFOUND);
	EQ(get1(s, "contract-none", "k", 1, &v, &vl, NULL), GOLITE_ENOTABLE);
	EQ(put1(s, "contract-none", "k", 1, "v", 1), GOLITE_ENOTABLE);
	EQ(put1(s, T, "", 0, "v", 1), GOLITE_EKEYSIZE);

	/* any bytes in keys and values, the empty value */
	const uint8_t key[] = { 0, 1, 0xff, 'k', 0 };
	const uint8_t val[] = { 0, 0, 7, 0xff };
	EQ(put1(s, T, key, sizeof key, val, sizeof val), 0);
	uint64_t ver1 = 0, ver2 = 0;
	EQ(get1(s, T, key, sizeof key, &v, &vl, &ver1), 0);
	CHECK(vl == sizeof val && memcmp(v, val, vl) == 0, "binary value read back wrong");
	CHECK(ver1 != 0, "version 0 for a key that exists");
	golite_free(v);
	EQ(put1(s, T, "empty", 5, NULL, 0), 0);
	v = (void *)1;
	EQ(get1(s, T, "empty", 5, &v, &vl, NULL), 0);
	EQ(vl, 0);
	golite_free(v == (void *)1 ? NULL : v);
	EQ(put1(s, T, key, sizeof key, "other", 5), 0);
	EQ(get1(s, T, key, sizeof key, NULL, &vl, &ver2), 0);
	CHECK(ver2 != ver1, "a write that changed the value kept the version");

	/* limits: the largest value goes in, one byte more changes nothing */
	golite_store_limits l;
	golite_store_limits_get(s, &l);
	size_t big = l.max_value < (4u << 20) ? l.max_value : (4u << 20);
	char *b = malloc(big + 1);
	memset(b, 'x', big + 1);
	if (big == l.max_value) {
		EQ(put1(s, T, "big", 3, b, big), 0);
		EQ(get1(s, T, "big", 3, &v, &vl, NULL), 0);
		CHECK(vl == big && memcmp(v, b, big) == 0, "largest value read back wrong");
		golite_free(v);
		EQ(put1(s, T, "big2", 4, b, big + 1), GOLITE_EVALSIZE);
		EQ(get1(s, T, "big2", 4, &v, &vl, NULL), GOLITE_ENOTFOUND);
	}
	free(b);
	golite_txn *t;
	golite_txn_begin(s, &t);
	int r = 0;
	size_t i;
	for (i = 0; i <= l.max_txn_writes && i < 2000 && r == 0; i++) {
		char k[32];
		snprintf(k, sizeof k, "w%05zu", i);
		r = golite_txn_put(t, T, k, strlen(k), "v", 1);
	}
	if (l.max_txn_writes < 2000)
		CHECK(r == GOLITE_EBATCH && i == l.max_txn_writes + 1,
		      "write %zu of a transaction over the limit of %zu: %d", i, l.max_txn_writes, r);
	EQ(golite_txn_commit(t, NULL), 0);
	golite_txn_free(t);
	/* the last write of a key in a transaction counts */
	golite_txn_begin(s, &t);
	EQ(golite_txn_put(t, T, "twice", 5, "one", 3), 0);
	EQ(golite_txn_put(t, T, "twice", 5, "two", 3), 0);
	EQ(golite_txn_put(t, T, "gone", 4, "x", 1), 0);
	EQ(golite_txn_delete(t, T, "gone", 4), 0);
	EQ(golite_txn_commit(t, NULL), 0);
	golite_txn_free(t);
	CHECK(value_is(s, T, "twice", "two"), "the last put of a key did not win");
	CHECK(value_is(s, T, "gone", NULL), "a put then delete left the key");
}

static void conflicts(golite_store *s)
{
	const char *T = "contract-b";
	fresh_table(s, T);
	EQ(put1(s, T, "k", 1, "v0", 2), 0);

	/* read, someone writes, commit: conflict, nothing written */
	golite_txn *t;
	golite_txn_begin(s, &t);
	EQ(golite_txn_get(t, T, "k", 1, NULL, NULL, NULL), 0);
	EQ(golite_txn_put(t, T, "other", 5, "mine", 4), 0);
	EQ(put1(s, T, "k", 1, "v1", 2), 0);
	EQ(golite_txn_commit(t, NULL), GOLITE_ECONFLICT);
	CHECK(value_is(s, T, "other", NULL), "a conflicted commit wrote");

	/* read absent, someone creates it: conflict (create-only) */
	EQ(golite_txn_get(t, T, "new", 3, NULL, NULL, NULL), GOLITE_ENOTFOUND);
	EQ(golite_txn_put(t, T, "new", 3, "mine", 4), 0);
	EQ(put1(s, T, "new", 3, "theirs", 6), 0);
	EQ(golite_txn_commit(t, NULL), GOLITE_ECONFLICT);
	CHECK(value_is(s, T, "new", "theirs"), "create-only overwrote");

	/* read, nobody writes: commits */
	EQ(golite_txn_get(t, T, "k", 1, NULL, NULL, NULL), 0);
	EQ(golite_txn_put(t, T, "k", 1, "v2", 2), 0);
	uint64_t rev = 0;
	EQ(golite_txn_commit(t, &rev), 0);
	CHECK(rev != 0, "a commit gave revision 0");
	CHECK(value_is(s, T, "k", "v2"), "a clean commit did not write");

	/* a scanned range: a key added inside it conflicts ... */
	EQ(golite_txn_scan(t, T, "r", 1, "s", 1, 0, 1, NULL, NULL, NULL, NULL), 0);
	EQ(golite_txn_put(t, T, "rdone", 5, "1", 1), 0);
	EQ(put1(s, T, "r1", 2, "x", 1), 0);
	EQ(golite_txn_commit(t, NULL), GOLITE_ECONFLICT);
	/* ... and so does one deleted from it */
	EQ(golite_txn_scan(t, T, "r", 1, "s", 1, 0, 1, NULL, NULL, NULL, NULL), 0);
	EQ(golite_txn_put(t, T, "rdone", 5, "1", 1), 0);
	golite_txn *u;
	golite_txn_begin(s, &u);
	EQ(golite_txn_delete(u, T, "r1", 2), 0);
	EQ(golite_txn_commit(u, NULL), 0);
	golite_txn_free(u);
	EQ(golite_txn_commit(t, NULL), GOLITE_ECONFLICT);
	/* ... but a key written outside it does not */
	EQ(golite_txn_scan(t, T, "r", 1, "s", 1, 0, 1, NULL, NULL, NULL, NULL), 0);
	EQ(golite_txn_put(t, T, "rdone", 5, "1", 1), 0);
	EQ(put1(s, T, "zzz", 3, "x", 1), 0);
	EQ(golite_txn_commit(t, NULL), 0);
	CHECK(value_is(s, T, "rdone", "1"), "a commit beside a changed key failed");
	golite_txn_free(t);

	/* drop: refused while it holds keys unless forced; writes to a
	 * dropped table fail */
	EQ(golite_store_table_drop(s, T, 0), GOLITE_ENOTEMPTY);
	CHECK(value_is(s, T, "k", "v2"), "a refused drop removed keys");
	EQ(golite_store_table_drop(s, T, 1), 0);
	EQ(put1(s, T, "k", 1, "v", 1), GOLITE_ENOTABLE);
	EQ(golite_store_table_create(s, T), 0);
	CHECK(value_is(s, T, "k", NULL), "a dropped table's keys came back");
	EQ(golite_store_table_drop(s, T, 0), 0);
	EQ(golite_store_table_drop(s, T, 0), GOLITE_ENOTABLE);
}

struct scan_seen {
	size_t n;
	char last[32];
	bool order_ok;
};

static int count_key(void *arg, const golite_store_item *it)
{
	struct scan_seen *c = arg;
	char k[32];
	size_t l = it->klen < sizeof(k) - 1 ? it->klen : sizeof(k) - 1;
	memcpy(k, it->key, l);
	k[l] = 0;
	if (c->n && strcmp(c->last, k) >= 0)
		c->order_ok = false;
	strcpy(c->last, k);
	c->n++;
	return 0;
}

static void scans(golite_store *s)
{
	const char *T = "contract-c";
	fresh_table(s, T);
	const size_t N = 2500;
	golite_txn *t;
	golite_txn_begin(s, &t);
	for (size_t i = 0; i < N; i++) {
		char k[32];
		snprintf(k, sizeof k, "key%06zu", i);
		int r = golite_txn_put(t, T, k, strlen(k), k, strlen(k));
		if (r == GOLITE_EBATCH) {
			EQ(golite_txn_commit(t, NULL), 0);
			r = golite_txn_put(t, T, k, strlen(k), k, strlen(k));
		}
		EQ(r, 0);
	}
	EQ(golite_txn_commit(t, NULL), 0);
	/* page by page, 700 at a time */
	struct scan_seen c = { .order_ok = true };
	void *from = NULL;
	size_t flen = 0, pages = 0;
	for (;;) {
		void *next;
		size_t nlen;
		EQ(golite_txn_scan(t, T, from, flen, NULL, 0, 700, 0, count_key, &c, &next, &nlen),
		   0);
		free(from);
		from = next;
		flen = nlen;
		pages++;
		if (!next)
			break;
	}
	EQ(c.n, N);
	EQ(pages, 4);
	CHECK(c.order_ok, "keys out of order");
	golite_txn_free(t);
	/* a bounded range */
	golite_txn_begin(s, &t);
	struct scan_seen d = { .order_ok = true };
	EQ(golite_txn_scan(t, T, "key000100", 9, "key000200", 9, 0, 1, count_key, &d, NULL, NULL),
	   0);
	EQ(d.n, 100);
	golite_txn_free(t);
	EQ(golite_store_table_drop(s, T, 1), 0);
}

/* N threads add 1 to a counter M times each, by read-modify-write
 * transactions retried on conflict: the end value is N*M only if the
 * commits are serializable. */
struct counter_arg {
	golite_store *s;
	unsigned seed;
	int adds;
	unsigned conflicts;
	int err;
};

static void *counter_thread(void *p)
{
	struct counter_arg *a = p;
	golite_txn *t;
	golite_txn_begin(a->s, &t);
	for (int i = 0; i < a->adds && !a->err; i++) {
		for (unsigned attempt = 0;; attempt++) {
			void *v = NULL;
			size_t vl = 0;
			long n = 0;
			int r = golite_txn_get(t, "contract-d", "n", 1, &v, &vl, NULL);
			if (r == 0) {
				char buf[32] = { 0 };
				memcpy(buf, v, vl < 31 ? vl : 31);
				n = atol(buf);
			} else if (r != GOLITE_ENOTFOUND) {
				a->err = r;
				break;
			}
			golite_free(v);
			char buf[32];
			int bl = snprintf(buf, sizeof buf, "%ld", n + 1);
			if (rand_r(&a->seed) % 4 == 0)
				usleep(rand_r(&a->seed) % 1000);
			golite_txn_put(t, "contract-d", "n", 1, buf, (size_t)bl);
			r = golite_txn_commit(t, NULL);
			if (r == 0)
				break;
			if (r != GOLITE_ECONFLICT || attempt > 200) {
				a->err = r;
				break;
			}
			a->conflicts++;
			golite_store_backoff(attempt % 4);
		}
	}
	golite_txn_free(t);
	return NULL;
}

static void counter(golite_store *s)
{
	fresh_table(s, "contract-d");
	enum { THREADS = 4, ADDS = 40 };
	unsigned seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	printf("counter: seed %u\n", seed);
	pthread_t th[THREADS];
	struct counter_arg a[THREADS];
	for (int i = 0; i < THREADS; i++) {
		a[i] = (struct counter_arg){ .s = s, .seed = seed + (unsigned)i, .adds = ADDS };
		pthread_create(&th[i], NULL, counter_thread, &a[i]);
	}
	unsigned conflicts = 0;
	for (int i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		EQ(a[i].err, 0);
		conflicts += a[i].conflicts;
	}
	char want[16];
	snprintf(want, sizeof want, "%d", THREADS * ADDS);
	CHECK(value_is(s, "contract-d", "n", want), "counter is not %s after %d adds", want,
	      THREADS * ADDS);
	printf("counter: %d adds by %d threads, %u conflicts retried\n", THREADS * ADDS, THREADS,
	       conflicts);
}

/* Watch (shared backends): the events of commits made after a revision
 * arrive in order, puts and deletes told apart. */
struct watch_state {
	golite_store *s;
	uint64_t from;
	int seen;
	char log[256];
	volatile int stop;
	volatile int in_place;
	int r;
};

static int on_event(void *arg, const golite_store_event *ev)
{
	struct watch_state *w = arg;
	if (!ev->table) {
		w->in_place = 1;
		return 0;
	}
	size_t l = strlen(w->log);
	snprintf(w->log + l, sizeof(w->log) - l, "%s:%.*s;", ev->deleted ? "del" : "put",
		 (int)ev->klen, (const char *)ev->key);
	return ++w->seen == 3 ? 1 : 0;
}

static void *watch_thread(void *p)
{
	struct watch_state *w = p;
	w->r = golite_store_watch(w->s, "contract-e", w->from, on_event, w, &w->stop);
	return NULL;
}

static void watch(golite_store *s)
{
	fresh_table(s, "contract-e");
	golite_txn *t;
	golite_txn_begin(s, &t);
	golite_txn_put(t, "contract-e", "before", 6, "x", 1);
	EQ(golite_txn_commit(t, NULL), 0);
	golite_txn_free(t);
	/* from now: the commit above is not seen, those below are */
	struct watch_state w = { .s = s, .from = 0 };
	pthread_t th;
	pthread_create(&th, NULL, watch_thread, &w);
	for (int i = 0; i < 200 && !w.in_place && !w.r; i++)
		usleep(10000);
	CHECK(w.in_place, "the watch did not say it was in place");
	EQ(put1(s, "contract-e", "a", 1, "1", 1), 0);
	EQ(put1(s, "contract-other", "x", 1, "1", 1), GOLITE_ENOTABLE);
	EQ(put1(s, "contract-e", "b", 1, "2", 1), 0);
	golite_txn_begin(s, &t);
	golite_txn_delete(t, "contract-e", "a", 1);
	EQ(golite_txn_commit(t, NULL), 0);
	golite_txn_free(t);
	/* bounded: the watch ends at its third event or is stopped */
	for (int i = 0; i < 100 && w.seen < 3; i++)
		usleep(50000);
	w.stop = 1;
	pthread_join(th, NULL);
	EQ(w.r, 1);
	CHECK(strcmp(w.log, "put:a;put:b;del:a;") == 0, "watch saw \"%s\"", w.log);
}

static int check(void)
{
	golite_store *s = open_store(true);
	printf("backend %s\n", golite_store_backend(s));
	tables_and_errors(s);
	conflicts(s);
	scans(s);
	counter(s);
	watch(s);
	golite_store_close(s);
	if (failures) {
		fprintf(stderr, "%d checks failed\n", failures);
		return 1;
	}
	printf("contract: ok\n");
	return 0;
}

/* ---- load and verify ---- */

static void value_of(char *buf, size_t cap, size_t i)
{
	snprintf(buf, cap, "value-%06zu-%040d", i % 1000000, 0);
}

static int load(const char *table, size_t n, int seconds)
{
	golite_store *s = open_store(true);
	int r = golite_store_table_create(s, table);
	if (r && r != GOLITE_EEXIST) {
		fprintf(stderr, "create %s: %s\n", table, golite_last_error());
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	time_t end = time(NULL) + seconds;
	size_t done = 0, errors = 0;
	while (done < n && time(NULL) < end) {
		char k[32], v[80];
		snprintf(k, sizeof k, "k%06zu", done);
		value_of(v, sizeof v, done);
		r = put1(s, table, k, strlen(k), v, strlen(v));
		if (r == 0) {
			printf("%s\n", k);
			done++;
		} else {
			errors++;
			fprintf(stderr, "load: %s: %s\n", k, golite_last_error());
			usleep(100000);
		}
	}
	golite_store_close(s);
	fprintf(stderr, "load: %zu acknowledged, %zu failed attempts\n", done, errors);
	return done == n ? 0 : 1;
}

static int verify(const char *table, const char *file)
{
	golite_store *s = open_store(false);
	FILE *f = fopen(file, "r");
	if (!f) {
		perror(file);
		return 2;
	}
	char line[128];
	size_t n = 0, bad = 0;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (!*line)
			continue;
		size_t i = strtoul(line + 1, NULL, 10);
		char want[80];
		value_of(want, sizeof want, i);
		if (!value_is(s, table, line, want)) {
			fprintf(stderr, "verify: acknowledged key %s is missing or wrong\n", line);
			bad++;
		}
		n++;
	}
	fclose(f);
	golite_store_close(s);
	printf("verify: %zu keys, %zu missing or wrong\n", n, bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "check") == 0) {
		uri = argv[2];
		return check();
	}
	if (argc >= 5 && strcmp(argv[1], "load") == 0) {
		uri = argv[2];
		return load(argv[3], strtoul(argv[4], NULL, 10), argc > 5 ? atoi(argv[5]) : 120);
	}
	if (argc >= 5 && strcmp(argv[1], "verify") == 0) {
		uri = argv[2];
		return verify(argv[3], argv[4]);
	}
	fprintf(stderr, "usage: store_contract check URI | load URI TABLE N [SECONDS] | "
			"verify URI TABLE FILE\n");
	return 2;
}
