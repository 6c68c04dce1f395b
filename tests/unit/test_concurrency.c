/*
 * test_concurrency.c — many threads on one store.
 *
 *   stamps     writers put version-stamped values (batches that stamp a
 *              whole group of keys, single puts to their own and to shared
 *              keys, batch deletes); readers get and iterate meanwhile and
 *              check that every value they see was written whole, that an
 *              iterator sees each batch entirely or not at all, and that
 *              reads include every write acknowledged before they began.
 *              After the join (and after a reopen) the state is what the
 *              writers wrote last.
 *   insert     N threads insert distinct, interleaved keys while readers
 *              scan; afterwards every key is there, once, in order.
 *   sync       writers in GOLITE_SYNC mode and callers of golite_sync
 *              together; everything is there after a reopen.
 *   ddl        tables created, renamed and dropped while other threads
 *              write to them and list them.
 *
 * Each runs with both memtable kinds, and with a small memtable so that
 * memtables are frozen and flushed under the readers' feet. Threads do not
 * assert: they record the first problem, stop, and the test thread fails
 * with it after the join.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golite.h"
#include "testutil.h"

#define WRITERS 3
#define READERS 2
#define GROUP 8          /* keys per group */
#define PRIVATE 64       /* single-put keys per writer */
#define SHARED 32        /* single-put keys shared by all writers */
#define DELETE_EVERY 10  /* counter c with c % DELETE_EVERY == 0 deletes the group */
#define SHARED_EVERY 3   /* counter c with c % SHARED_EVERY == 0 also stamps group S */

/* ---- the first problem any thread saw ---- */

static _Atomic bool failed;
static char failure[1024];
static pthread_mutex_t failure_mu = PTHREAD_MUTEX_INITIALIZER;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	pthread_mutex_lock(&failure_mu);
	if (!atomic_load(&failed)) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(failure, sizeof(failure), fmt, ap);
		va_end(ap);
		atomic_store(&failed, true);
	}
	pthread_mutex_unlock(&failure_mu);
}

static void expect_no_failure(void)
{
	cr_assert(!atomic_load(&failed), "%s", failure);
}

static golite_options opts(enum golite_memtable_kind kind, bool small)
{
	golite_options o;
	golite_options_init(&o);
	o.memtable = kind;
	if (small) {
		o.memtable_size = 256 << 10;
		o.wal_segment_size = 1 << 20;
	}
	return o;
}

/* ---- stamped values ---- */

/*
 * A value: "w c " header (two LE32: writer, counter), the key's length,
 * then bytes that depend on (writer, counter, key). Any mix of two values
 * or a value cut short fails stamp_parse.
 */
#define STAMP_HEAD 12

static uint64_t stamp_tag(unsigned w, unsigned c, const char *key, size_t klen)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < klen; i++)
		h = (h ^ (uint8_t)key[i]) * 1099511628211ull;
	return tu_mix(h ^ ((uint64_t)w << 40) ^ c);
}

static size_t stamp_len(unsigned w, unsigned c, const char *key, size_t klen)
{
	return STAMP_HEAD + tu_mix(stamp_tag(w, c, key, klen)) % 3000;
}

static size_t stamp_make(uint8_t *v, unsigned w, unsigned c, const char *key, size_t klen)
{
	size_t n = stamp_len(w, c, key, klen);
	uint32_t x[3] = { w, c, (uint32_t)klen };
	memcpy(v, x, STAMP_HEAD);
	tu_fill(v + STAMP_HEAD, n - STAMP_HEAD, stamp_tag(w, c, key, klen));
	return n;
}

/* Checks v is a whole value written for key; gives its writer and counter. */
static bool stamp_parse(const void *v, size_t vlen, const char *key, size_t klen, unsigned *w,
			unsigned *c)
{
	if (vlen < STAMP_HEAD)
		return false;
	uint32_t x[3];
	memcpy(x, v, STAMP_HEAD);
	if (x[2] != klen || x[0] >= 64)
		return false;
	if (vlen != stamp_len(x[0], x[1], key, klen))
		return false;
	if (!tu_check_fill((const uint8_t *)v + STAMP_HEAD, vlen - STAMP_HEAD,
			   stamp_tag(x[0], x[1], key, klen)))
		return false;
	*w = x[0];
	*c = x[1];
	return true;
}

/* ---- the stamps test ---- */

struct stamps {
	golite *db;
	int iterations;
	_Atomic unsigned started[WRITERS];   /* counter being written */
	_Atomic unsigned acked[WRITERS];     /* last group batch acknowledged */
	_Atomic unsigned shared_acked[WRITERS];
	_Atomic int writers_left;
	/* Written by writer w only, read after the join. */
	unsigned last_private[WRITERS][PRIVATE];
	unsigned last_shared[WRITERS][SHARED];
	unsigned last_group_batch[WRITERS];
	unsigned last_shared_batch[WRITERS];
	_Atomic unsigned long reads, scans;
};

static size_t group_key(char *k, int w, int j)
{
	/* w < 0: the shared group S. */
	return w < 0 ? (size_t)sprintf(k, "gS-%d", j) : (size_t)sprintf(k, "g%d-%d", w, j);
}

struct writer_arg {
	struct stamps *s;
	unsigned w;
};

static void *stamp_writer(void *arg)
{
	struct writer_arg *a = arg;
	struct stamps *s = a->s;
	unsigned w = a->w;
	uint8_t *v = malloc(4096);
	char k[32];
	golite_batch *b = golite_batch_new();
	for (unsigned c = 1; c <= (unsigned)s->iterations && !atomic_load(&failed); c++) {
		atomic_store(&s->started[w], c);
		/* The private group: stamped, or deleted, as one batch. */
		golite_batch_clear(b);
		for (int j = 0; j < GROUP; j++) {
			size_t kl = group_key(k, (int)w, j);
			if (c % DELETE_EVERY == 0) {
				golite_batch_delete(b, "c", k, kl);
			} else {
				size_t n = stamp_make(v, w, c, k, kl);
				golite_batch_put(b, "c", k, kl, v, n);
			}
		}
		int r = golite_write(s->db, b);
		if (r) {
			fail("writer %u: batch %u: %s", w, c, golite_strerror(r));
			break;
		}
		s->last_group_batch[w] = c;
		atomic_store(&s->acked[w], c);
		/* The shared group. */
		if (c % SHARED_EVERY == 0) {
			golite_batch_clear(b);
			for (int j = 0; j < GROUP; j++) {
				size_t kl = group_key(k, -1, j);
				size_t n = stamp_make(v, w, c, k, kl);
				golite_batch_put(b, "c", k, kl, v, n);
			}
			r = golite_write(s->db, b);
			if (r) {
				fail("writer %u: shared batch %u: %s", w, c, golite_strerror(r));
				break;
			}
			s->last_shared_batch[w] = c;
			atomic_store(&s->shared_acked[w], c);
		}
		/* Single puts: a private key and a shared one. */
		unsigned p = c % PRIVATE;
		size_t kl = (size_t)sprintf(k, "p%u-%u", w, p);
		size_t n = stamp_make(v, w, c, k, kl);
		r = golite_put(s->db, "c", k, kl, v, n);
		if (r) {
			fail("writer %u: put %s: %s", w, k, golite_strerror(r));
			break;
		}
		s->last_private[w][p] = c;
		unsigned o = (c * 7 + w) % SHARED;
		kl = (size_t)sprintf(k, "o-%u", o);
		n = stamp_make(v, w, c, k, kl);
		r = golite_put(s->db, "c", k, kl, v, n);
		if (r) {
			fail("writer %u: put %s: %s", w, k, golite_strerror(r));
			break;
		}
		s->last_shared[w][o] = c;
	}
	golite_batch_free(b);
	free(v);
	atomic_fetch_sub(&s->writers_left, 1);
	return NULL;
}

/* True if some counter in (after, upto] deletes the group. */
static bool delete_between(unsigned after, unsigned upto)
{
	return upto / DELETE_EVERY > after / DELETE_EVERY;
}

/*
 * Checks one view of group w (w < 0: S): GROUP cells, each present with
 * (writer, counter) or absent. acked: the writer's acknowledged counter
 * read before the view was taken.
 */
static void check_group(struct stamps *s, int w, const bool *present, const unsigned *sw,
			const unsigned *sc, const unsigned *acked_before, const char *how)
{
	int n = 0;
	for (int j = 0; j < GROUP; j++)
		n += present[j];
	if (n != 0 && n != GROUP) {
		char seen[256];
		size_t o = 0;
		for (int j = 0; j < GROUP; j++)
			o += (size_t)snprintf(seen + o, sizeof(seen) - o, present[j] ? " (%u,%u)" : " -",
					      sw[j], sc[j]);
		/* What a point read finds for the missing keys now. */
		for (int j = 0; j < GROUP; j++) {
			if (present[j])
				continue;
			char k[16];
			size_t kl = group_key(k, w, j);
			void *v = NULL;
			size_t vlen;
			unsigned gw = 0, gc = 0;
			int e = golite_get(s->db, "c", k, kl, &v, &vlen);
			if (e == 0)
				stamp_parse(v, vlen, k, kl, &gw, &gc);
			o += (size_t)snprintf(seen + o, sizeof(seen) - o, "; get %s now: %s (%u,%u)", k,
					      golite_strerror(e), gw, gc);
			golite_free(v);
		}
		fail("%s: group %d shows %d of %d keys: a batch seen in part:%s", how, w, n, GROUP,
		     seen);
		return;
	}
	if (n == 0) {
		if (w < 0) {
			for (int x = 0; x < WRITERS; x++)
				if (acked_before[x])
					fail("%s: shared group empty after writer %d's batch %u was "
					     "acknowledged", how, x, acked_before[x]);
			return;
		}
		unsigned a = acked_before[w];
		unsigned now = atomic_load(&s->started[w]);
		if (a && a % DELETE_EVERY != 0 && !delete_between(a, now))
			fail("%s: group %d empty, but batch %u was acknowledged before and no "
			     "delete came after it (writer at %u)", how, w, a, now);
		return;
	}
	for (int j = 1; j < GROUP; j++)
		if (sw[j] != sw[0] || sc[j] != sc[0]) {
			fail("%s: group %d mixes batches (%u,%u) and (%u,%u)", how, w, sw[0], sc[0],
			     sw[j], sc[j]);
			return;
		}
	if (w >= 0) {
		if (sw[0] != (unsigned)w)
			fail("%s: group %d holds a value of writer %u", how, w, sw[0]);
		else if (sc[0] < acked_before[w])
			fail("%s: group %d shows batch %u, but batch %u was acknowledged before "
			     "the read began", how, w, sc[0], acked_before[w]);
		else if (sc[0] > atomic_load(&s->started[w]))
			fail("%s: group %d shows batch %u, never written", how, w, sc[0]);
		else if (sc[0] % DELETE_EVERY == 0)
			fail("%s: group %d shows counter %u, which was a delete", how, w, sc[0]);
	} else {
		/* Writers race for it: any writer's shared batch will do. */
		if (sw[0] >= WRITERS || sc[0] % SHARED_EVERY != 0 ||
		    sc[0] > atomic_load(&s->started[sw[0]]))
			fail("%s: shared group holds (%u,%u), never written", how, sw[0], sc[0]);
	}
}

struct view {
	bool present[WRITERS + 1][GROUP];
	unsigned w[WRITERS + 1][GROUP], c[WRITERS + 1][GROUP];
};

/* Slot in a view of group key k, or -1 for a single-put key. */
static int group_slot(const char *k, size_t klen, int *j)
{
	/* Keys are not NUL-terminated: "gW-J" is exactly four bytes. */
	if (klen != 4 || k[0] != 'g' || k[2] != '-')
		return -1;
	int slot = k[1] == 'S' ? WRITERS : k[1] - '0';
	*j = k[3] - '0';
	return slot >= 0 && slot <= WRITERS && *j >= 0 && *j < GROUP ? slot : -1;
}

static void check_single(struct stamps *s, const char *k, size_t klen, unsigned w, unsigned c,
			 const char *how)
{
	if (w >= WRITERS || c == 0 || c > atomic_load(&s->started[w]))
		fail("%s: key %.*s holds (%u,%u), never written", how, (int)klen, k, w, c);
	else if (k[0] == 'p' && (unsigned)(k[1] - '0') != w)
		fail("%s: private key %.*s holds a value of writer %u", how, (int)klen, k, w);
}

static void scan_check(struct stamps *s, golite_iter_options *o, const char *how)
{
	unsigned acked[WRITERS], shared[WRITERS];
	for (int w = 0; w < WRITERS; w++) {
		acked[w] = atomic_load(&s->acked[w]);
		shared[w] = atomic_load(&s->shared_acked[w]);
	}
	golite_iter *it;
	int r = golite_iter_new(s->db, "c", o, &it);
	if (r) {
		fail("%s: iter_new: %s", how, golite_strerror(r));
		return;
	}
	static _Thread_local struct view v;
	memset(&v, 0, sizeof(v));
	char prev[64] = "";
	size_t prevlen = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen, vlen;
		const char *k = golite_iter_key(it, &klen);
		const void *val = golite_iter_value(it, &vlen);
		if (prevlen && tu_keycmp(prev, prevlen, k, klen) >= 0) {
			fail("%s: keys out of order: %.*s after %.*s", how, (int)klen, k,
			     (int)prevlen, prev);
			break;
		}
		if (klen >= sizeof(prev)) {
			fail("%s: unexpected key of %zu bytes", how, klen);
			break;
		}
		memcpy(prev, k, klen);
		prevlen = klen;
		unsigned w, c;
		if (!stamp_parse(val, vlen, k, klen, &w, &c)) {
			fail("%s: key %.*s holds a torn or foreign value (%zu bytes)", how, (int)klen, k,
			     vlen);
			break;
		}
		int j, slot = group_slot(k, klen, &j);
		if (slot < 0) {
			check_single(s, k, klen, w, c, how);
			continue;
		}
		v.present[slot][j] = true;
		v.w[slot][j] = w;
		v.c[slot][j] = c;
	}
	if (golite_iter_status(it))
		fail("%s: iterator status %s", how, golite_strerror(golite_iter_status(it)));
	golite_iter_free(it);
	if (o && o->prefix_len) {
		/* Only the group named by the prefix ("gN-"). */
		const char *p = o->prefix;
		int slot = p[1] == 'S' ? WRITERS : p[1] - '0';
		check_group(s, slot == WRITERS ? -1 : slot, v.present[slot], v.w[slot], v.c[slot],
			    slot == WRITERS ? shared : acked, how);
		return;
	}
	for (int w = 0; w < WRITERS; w++)
		check_group(s, w, v.present[w], v.w[w], v.c[w], acked, how);
	check_group(s, -1, v.present[WRITERS], v.w[WRITERS], v.c[WRITERS], shared, how);
}

static void *stamp_reader(void *arg)
{
	struct stamps *s = arg;
	struct tu_rng r;
	tu_rng_init(&r, (uint64_t)(uintptr_t)&r);
	char k[32];
	while (atomic_load(&s->writers_left) > 0 && !atomic_load(&failed)) {
		uint64_t x = tu_below(&r, 100);
		if (x < 10) {
			scan_check(s, NULL, "full scan");
			atomic_fetch_add(&s->scans, 1);
		} else if (x < 20) {
			char pre[8];
			int w = (int)tu_below(&r, WRITERS + 1);
			if (w == WRITERS)
				strcpy(pre, "gS-");
			else
				sprintf(pre, "g%d-", w);
			golite_iter_options o = { .prefix = pre, .prefix_len = 3 };
			scan_check(s, &o, "prefix scan");
			atomic_fetch_add(&s->scans, 1);
		} else {
			/* A point read of a group key: whole, and not older than
			 * what was acknowledged before it. */
			int w = (int)tu_below(&r, WRITERS);
			int j = (int)tu_below(&r, GROUP);
			size_t kl = group_key(k, w, j);
			unsigned a = atomic_load(&s->acked[w]);
			void *v = NULL;
			size_t vlen;
			int e = golite_get(s->db, "c", k, kl, &v, &vlen);
			unsigned now = atomic_load(&s->started[w]);
			unsigned vw, vc;
			if (e == GOLITE_ENOTFOUND) {
				if (a && a % DELETE_EVERY != 0 && !delete_between(a, now))
					fail("get %s: absent, but batch %u was acknowledged before", k, a);
			} else if (e) {
				fail("get %s: %s", k, golite_strerror(e));
			} else if (!stamp_parse(v, vlen, k, kl, &vw, &vc)) {
				fail("get %s: torn or foreign value (%zu bytes)", k, vlen);
			} else if (vw != (unsigned)w || vc < a || vc > now) {
				fail("get %s: value (%u,%u), acknowledged before %u, writer at %u", k, vw,
				     vc, a, now);
			}
			golite_free(v);
			atomic_fetch_add(&s->reads, 1);
		}
	}
	return NULL;
}

/* The state after the join: each key holds what its writers wrote last. */
static void check_final(struct stamps *s, const char *when)
{
	char k[32];
	for (int w = 0; w < WRITERS; w++) {
		unsigned last = s->last_group_batch[w];
		for (int j = 0; j < GROUP; j++) {
			size_t kl = group_key(k, w, j);
			void *v = NULL;
			size_t vlen;
			int e = golite_get(s->db, "c", k, kl, &v, &vlen);
			unsigned vw, vc;
			if (last % DELETE_EVERY == 0)
				cr_assert_eq(e, GOLITE_ENOTFOUND, "%s: %s after its delete: %s", when, k,
					     golite_strerror(e));
			else
				cr_assert(e == 0 && stamp_parse(v, vlen, k, kl, &vw, &vc) &&
						  vw == (unsigned)w && vc == last,
					  "%s: %s is not batch %u", when, k, last);
			golite_free(v);
		}
		for (int p = 0; p < PRIVATE; p++) {
			if (!s->last_private[w][p])
				continue;
			size_t kl = (size_t)sprintf(k, "p%d-%d", w, p);
			void *v = NULL;
			size_t vlen;
			unsigned vw, vc;
			cr_assert_eq(golite_get(s->db, "c", k, kl, &v, &vlen), 0, "%s: %s", when, k);
			cr_assert(stamp_parse(v, vlen, k, kl, &vw, &vc) && vw == (unsigned)w &&
					  vc == s->last_private[w][p],
				  "%s: %s holds (%u,%u), last written %u", when, k, vw, vc,
				  s->last_private[w][p]);
			golite_free(v);
		}
	}
	/* Shared keys: the last write of one of the writers. */
	for (int o = 0; o < SHARED; o++) {
		size_t kl = (size_t)sprintf(k, "o-%d", o);
		void *v = NULL;
		size_t vlen;
		unsigned vw, vc;
		int e = golite_get(s->db, "c", k, kl, &v, &vlen);
		bool written = false;
		for (int w = 0; w < WRITERS; w++)
			written |= s->last_shared[w][o] != 0;
		if (!written) {
			cr_assert_eq(e, GOLITE_ENOTFOUND);
			continue;
		}
		cr_assert(e == 0 && stamp_parse(v, vlen, k, kl, &vw, &vc) && vw < WRITERS,
			  "%s: %s", when, k);
		cr_assert_eq(vc, s->last_shared[vw][o],
			     "%s: %s holds (%u,%u), not writer %u's last write %u", when, k, vw, vc,
			     vw, s->last_shared[vw][o]);
		golite_free(v);
	}
	/* The shared group: one writer's last shared batch, whole. */
	unsigned sw[GROUP], sc[GROUP];
	for (int j = 0; j < GROUP; j++) {
		size_t kl = group_key(k, -1, j);
		void *v = NULL;
		size_t vlen;
		cr_assert_eq(golite_get(s->db, "c", k, kl, &v, &vlen), 0, "%s: %s", when, k);
		cr_assert(stamp_parse(v, vlen, k, kl, &sw[j], &sc[j]));
		cr_assert(sw[j] == sw[0] && sc[j] == sc[0], "%s: shared group mixes batches", when);
		golite_free(v);
	}
	cr_assert(sw[0] < WRITERS && sc[0] == s->last_shared_batch[sw[0]],
		  "%s: shared group holds (%u,%u), not that writer's last shared batch", when,
		  sw[0], sc[0]);
}

static void run_stamps(enum golite_memtable_kind kind, bool small, int iterations)
{
	char *dir = tu_tmpdir("stamps");
	golite_options o = opts(kind, small);
	struct stamps *s = calloc(1, sizeof(*s));
	s->db = tu_open(dir, &o);
	s->iterations = iterations;
	cr_assert_eq(golite_table_create(s->db, "c"), 0);
	atomic_store(&s->writers_left, WRITERS);
	pthread_t wt[WRITERS], rt[READERS];
	struct writer_arg wa[WRITERS];
	for (int i = 0; i < READERS; i++)
		pthread_create(&rt[i], NULL, stamp_reader, s);
	for (int i = 0; i < WRITERS; i++) {
		wa[i] = (struct writer_arg){ s, (unsigned)i };
		pthread_create(&wt[i], NULL, stamp_writer, &wa[i]);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(wt[i], NULL);
	for (int i = 0; i < READERS; i++)
		pthread_join(rt[i], NULL);
	expect_no_failure();
	/* A last check by this thread, then the final state, twice. */
	scan_check(s, NULL, "scan after the join");
	expect_no_failure();
	check_final(s, "after the join");
	cr_assert_eq(golite_close(s->db), 0);
	s->db = tu_open(dir, &o);
	check_final(s, "after reopen");
	fprintf(stderr, "stamps (%s memtable%s): %lu point reads, %lu scans\n",
		kind == GOLITE_MEMTABLE_LOCKED ? "locked" : "lock-free", small ? ", small" : "",
		atomic_load(&s->reads), atomic_load(&s->scans));
	golite_close(s->db);
	free(s);
	tu_rmtree(dir);
}

TestSuite(concurrency, .timeout = 240);

Test(concurrency, stamps_lockfree_memtable)
{
	run_stamps(GOLITE_MEMTABLE_LOCKFREE, false, 3000);
}

Test(concurrency, stamps_locked_memtable)
{
	run_stamps(GOLITE_MEMTABLE_LOCKED, false, 3000);
}

Test(concurrency, stamps_lockfree_memtable_with_flushes)
{
	run_stamps(GOLITE_MEMTABLE_LOCKFREE, true, 3000);
}

Test(concurrency, stamps_locked_memtable_with_flushes)
{
	run_stamps(GOLITE_MEMTABLE_LOCKED, true, 3000);
}

/* ---- iterators against acknowledged writes ---- */

#define OWN_WRITERS 6
#define OWN_KEYS 4          /* keys per writer */
#define OWN_PUTS 12000      /* puts per writer */

struct owned {
	golite *db;
	_Atomic int left;
	_Atomic uint64_t acked[OWN_WRITERS * OWN_KEYS];   /* newest version acknowledged */
	_Atomic unsigned long scans;
};

struct owned_arg {
	struct owned *o;
	int w;
};

static size_t owned_key(char *k, int key)
{
	return (size_t)sprintf(k, "k%03d", key);
}

/* Each writer owns its keys, so a key's versions only grow. */
static void *owned_writer(void *arg)
{
	struct owned_arg *a = arg;
	char k[16], v[400];
	memset(v, 'v', sizeof(v));
	for (uint64_t i = 1; i <= OWN_PUTS && !atomic_load(&failed); i++) {
		int key = a->w * OWN_KEYS + (int)(i % OWN_KEYS);
		size_t kl = owned_key(k, key);
		memcpy(v, &i, sizeof(i));
		int r = golite_put(a->o->db, "t", k, kl, v, sizeof(v));
		if (r) {
			fail("writer %d: put %s: %s", a->w, k, golite_strerror(r));
			break;
		}
		atomic_store(&a->o->acked[key], i);
	}
	atomic_fetch_sub(&a->o->left, 1);
	return NULL;
}

static void *owned_reader(void *arg)
{
	struct owned *o = arg;
	while (atomic_load(&o->left) > 0 && !atomic_load(&failed)) {
		uint64_t before[OWN_WRITERS * OWN_KEYS];
		for (int i = 0; i < OWN_WRITERS * OWN_KEYS; i++)
			before[i] = atomic_load(&o->acked[i]);
		golite_iter *it;
		if (golite_iter_new(o->db, "t", NULL, &it)) {
			fail("iter_new failed");
			break;
		}
		bool seen[OWN_WRITERS * OWN_KEYS] = { 0 };
		for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
			size_t kl, vl;
			const char *k = golite_iter_key(it, &kl);
			const char *v = golite_iter_value(it, &vl);
			int key = (k[1] - '0') * 100 + (k[2] - '0') * 10 + (k[3] - '0');
			uint64_t ver;
			if (kl != 4 || vl != 400 || key >= OWN_WRITERS * OWN_KEYS) {
				fail("scan: unexpected key or value");
				break;
			}
			memcpy(&ver, v, sizeof(ver));
			seen[key] = true;
			if (ver < before[key])
				fail("scan: key %.*s shows version %llu, but version %llu was acknowledged "
				     "before the iterator was created", (int)kl, k, (unsigned long long)ver,
				     (unsigned long long)before[key]);
		}
		golite_iter_free(it);
		for (int i = 0; i < OWN_WRITERS * OWN_KEYS; i++)
			if (before[i] && !seen[i])
				fail("scan: key k%03d is missing, though version %llu was acknowledged "
				     "before the iterator was created", i, (unsigned long long)before[i]);
		atomic_fetch_add(&o->scans, 1);
	}
	return NULL;
}

static void run_owned(enum golite_memtable_kind kind)
{
	char *dir = tu_tmpdir("owned");
	golite_options opt = opts(kind, true);
	opt.memtable_size = 64 << 10;
	struct owned *o = calloc(1, sizeof(*o));
	o->db = tu_open(dir, &opt);
	cr_assert_eq(golite_table_create(o->db, "t"), 0);
	atomic_store(&o->left, OWN_WRITERS);
	pthread_t w[OWN_WRITERS], r[2];
	struct owned_arg a[OWN_WRITERS];
	for (int i = 0; i < 2; i++)
		pthread_create(&r[i], NULL, owned_reader, o);
	for (int i = 0; i < OWN_WRITERS; i++) {
		a[i] = (struct owned_arg){ o, i };
		pthread_create(&w[i], NULL, owned_writer, &a[i]);
	}
	for (int i = 0; i < OWN_WRITERS; i++)
		pthread_join(w[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	fprintf(stderr, "owned keys (%s memtable): %lu scans\n",
		kind == GOLITE_MEMTABLE_LOCKED ? "locked" : "lock-free", atomic_load(&o->scans));
	expect_no_failure();
	golite_close(o->db);
	free(o);
	tu_rmtree(dir);
}

Test(concurrency, iterators_include_every_write_acknowledged_before_them_lockfree)
{
	run_owned(GOLITE_MEMTABLE_LOCKFREE);
}

Test(concurrency, iterators_include_every_write_acknowledged_before_them_locked)
{
	run_owned(GOLITE_MEMTABLE_LOCKED);
}

/* ---- InsertConcurrent ---- */

#define INSERTERS 4
#define PER_INSERTER 25000

struct insert {
	golite *db;
	_Atomic int left;
	_Atomic unsigned long scans;
};

struct inserter_arg {
	struct insert *in;
	int t;
};

static size_t insert_key(char *k, unsigned i)
{
	return (size_t)sprintf(k, "%08u", i);
}

static void *inserter(void *arg)
{
	struct inserter_arg *a = arg;
	char k[16];
	for (unsigned i = 0; i < PER_INSERTER && !atomic_load(&failed); i++) {
		/* Interleaved: neighbours in key order come from other threads. */
		unsigned n = i * INSERTERS + (unsigned)a->t;
		size_t kl = insert_key(k, n);
		int r = golite_put(a->in->db, "i", k, kl, k, kl);
		if (r) {
			fail("inserter %d: put %s: %s", a->t, k, golite_strerror(r));
			break;
		}
	}
	atomic_fetch_sub(&a->in->left, 1);
	return NULL;
}

static void *insert_scanner(void *arg)
{
	struct insert *in = arg;
	while (atomic_load(&in->left) > 0 && !atomic_load(&failed)) {
		golite_iter *it;
		if (golite_iter_new(in->db, "i", NULL, &it)) {
			fail("scanner: iter_new failed");
			break;
		}
		long prev = -1;
		for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
			size_t klen, vlen;
			const char *k = golite_iter_key(it, &klen);
			const char *v = golite_iter_value(it, &vlen);
			if (klen != 8 || vlen != 8 || memcmp(k, v, 8) != 0) {
				fail("scanner: key %.*s holds %.*s", (int)klen, k, (int)vlen, v);
				break;
			}
			char num[9];
			memcpy(num, k, 8);
			num[8] = '\0';
			long n = strtol(num, NULL, 10);
			if (n <= prev) {
				fail("scanner: key %ld after %ld", n, prev);
				break;
			}
			prev = n;
		}
		golite_iter_free(it);
		atomic_fetch_add(&in->scans, 1);
	}
	return NULL;
}

static void check_inserted(golite *db, const char *when)
{
	char k[16];
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "i", NULL, &it), 0);
	unsigned n = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it), n++) {
		size_t klen;
		const char *key = golite_iter_key(it, &klen);
		size_t kl = insert_key(k, n);
		cr_assert(klen == kl && memcmp(key, k, kl) == 0, "%s: position %u holds %.*s", when, n,
			  (int)klen, key);
	}
	golite_iter_free(it);
	cr_assert_eq(n, INSERTERS * PER_INSERTER, "%s: %u keys, want %u", when, n,
		     INSERTERS * PER_INSERTER);
	for (unsigned i = 0; i < INSERTERS * PER_INSERTER; i++) {
		size_t kl = insert_key(k, i);
		char v[16];
		size_t vlen;
		cr_assert_eq(golite_get_into(db, "i", k, kl, v, sizeof(v), &vlen), 0, "%s: get %s",
			     when, k);
		cr_assert(vlen == kl && memcmp(v, k, kl) == 0);
	}
}

static void run_insert(enum golite_memtable_kind kind, bool small)
{
	char *dir = tu_tmpdir("insert");
	golite_options o = opts(kind, small);
	struct insert in = { 0 };
	in.db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(in.db, "i"), 0);
	atomic_store(&in.left, INSERTERS);
	pthread_t t[INSERTERS], sc;
	struct inserter_arg a[INSERTERS];
	pthread_create(&sc, NULL, insert_scanner, &in);
	for (int i = 0; i < INSERTERS; i++) {
		a[i] = (struct inserter_arg){ &in, i };
		pthread_create(&t[i], NULL, inserter, &a[i]);
	}
	for (int i = 0; i < INSERTERS; i++)
		pthread_join(t[i], NULL);
	pthread_join(sc, NULL);
	expect_no_failure();
	check_inserted(in.db, "after the join");
	cr_assert_eq(golite_close(in.db), 0);
	in.db = tu_open(dir, &o);
	check_inserted(in.db, "after reopen");
	golite_close(in.db);
	tu_rmtree(dir);
}

Test(concurrency, insert_concurrent_lockfree_memtable)
{
	run_insert(GOLITE_MEMTABLE_LOCKFREE, false);
}

Test(concurrency, insert_concurrent_locked_memtable)
{
	run_insert(GOLITE_MEMTABLE_LOCKED, false);
}

Test(concurrency, insert_concurrent_lockfree_memtable_with_flushes)
{
	run_insert(GOLITE_MEMTABLE_LOCKFREE, true);
}

Test(concurrency, insert_concurrent_locked_memtable_with_flushes)
{
	run_insert(GOLITE_MEMTABLE_LOCKED, true);
}

/* ---- sync mode: group commit ---- */

#define SYNC_WRITERS 4
#define SYNC_PUTS 150

struct sync_arg {
	golite *db;
	int t;
};

static void *sync_writer(void *arg)
{
	struct sync_arg *a = arg;
	char k[32];
	for (int i = 0; i < SYNC_PUTS && !atomic_load(&failed); i++) {
		size_t kl = (size_t)sprintf(k, "w%d-%04d", a->t, i);
		int r = golite_put(a->db, "s", k, kl, k, kl);
		if (r)
			fail("sync writer %d: %s", a->t, golite_strerror(r));
		if (i % 10 == 0 && (r = golite_sync(a->db)))
			fail("sync writer %d: golite_sync: %s", a->t, golite_strerror(r));
	}
	return NULL;
}

static void run_sync(enum golite_durability mode)
{
	char *dir = tu_tmpdir("sync");
	golite_options o = opts(GOLITE_MEMTABLE_LOCKFREE, false);
	o.durability = mode;
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "s"), 0);
	pthread_t t[SYNC_WRITERS];
	struct sync_arg a[SYNC_WRITERS];
	for (int i = 0; i < SYNC_WRITERS; i++) {
		a[i] = (struct sync_arg){ db, i };
		pthread_create(&t[i], NULL, sync_writer, &a[i]);
	}
	for (int i = 0; i < SYNC_WRITERS; i++)
		pthread_join(t[i], NULL);
	expect_no_failure();
	golite_stats st;
	golite_stats_get(db, &st);
	fprintf(stderr, "sync: %llu log syncs for %d writes, %llu group commits\n",
		(unsigned long long)st.wal_syncs, SYNC_WRITERS * SYNC_PUTS,
		(unsigned long long)st.wal_group_commits);
	cr_assert_eq(golite_close(db), 0);
	db = tu_open(dir, &o);
	char k[32];
	for (int w = 0; w < SYNC_WRITERS; w++)
		for (int i = 0; i < SYNC_PUTS; i++) {
			size_t kl = (size_t)sprintf(k, "w%d-%04d", w, i);
			char v[32];
			size_t vlen;
			cr_assert_eq(golite_get_into(db, "s", k, kl, v, sizeof(v), &vlen), 0, "%s", k);
			cr_assert(vlen == kl && memcmp(v, k, kl) == 0);
		}
	golite_close(db);
	tu_rmtree(dir);
}

Test(concurrency, sync_mode_writers_and_syncers)
{
	run_sync(GOLITE_SYNC);
}

Test(concurrency, periodic_mode_writers_and_syncers)
{
	run_sync(GOLITE_PERIODIC);
}

/* ---- tables changing under writers ---- */

#define DDL_TABLES 4
#define DDL_ROUNDS 1500

struct ddl {
	golite *db;
	_Atomic bool stop;
	_Atomic unsigned long writes, lists;
};

static void *ddl_changer(void *arg)
{
	struct ddl *d = arg;
	struct tu_rng r;
	tu_rng_init(&r, 99);
	char a[16], b[16];
	for (int i = 0; i < DDL_ROUNDS && !atomic_load(&failed); i++) {
		int x = (int)tu_below(&r, DDL_TABLES);
		sprintf(a, "x%d", x);
		sprintf(b, "x%d-renamed", x);
		int e;
		switch (tu_below(&r, 4)) {
		case 0:
			e = golite_table_create(d->db, a);
			if (e && e != GOLITE_EEXIST)
				fail("create %s: %s", a, golite_strerror(e));
			break;
		case 1:
			e = golite_table_drop(d->db, a, tu_chance(&r, 50) ? GOLITE_DROP_IF_EMPTY : 0);
			if (e && e != GOLITE_ENOTABLE && e != GOLITE_ENOTEMPTY)
				fail("drop %s: %s", a, golite_strerror(e));
			break;
		case 2:
			e = golite_table_rename(d->db, a, b);
			if (e && e != GOLITE_ENOTABLE && e != GOLITE_EEXIST)
				fail("rename %s: %s", a, golite_strerror(e));
			break;
		default:
			e = golite_table_rename(d->db, b, a);
			if (e && e != GOLITE_ENOTABLE && e != GOLITE_EEXIST)
				fail("rename %s: %s", b, golite_strerror(e));
			break;
		}
	}
	atomic_store(&d->stop, true);
	return NULL;
}

static void *ddl_writer(void *arg)
{
	struct ddl *d = arg;
	struct tu_rng r;
	tu_rng_init(&r, (uint64_t)(uintptr_t)&r);
	char t[16], k[16];
	while (!atomic_load(&d->stop) && !atomic_load(&failed)) {
		sprintf(t, "x%d", (int)tu_below(&r, DDL_TABLES));
		size_t kl = (size_t)sprintf(k, "k%d", (int)tu_below(&r, 100));
		int e = golite_put(d->db, t, k, kl, k, kl);
		if (e && e != GOLITE_ENOTABLE)
			fail("put %s/%s: %s", t, k, golite_strerror(e));
		void *v = NULL;
		size_t vlen;
		e = golite_get(d->db, t, k, kl, &v, &vlen);
		if (e == 0 && (vlen != kl || memcmp(v, k, kl) != 0))
			fail("get %s/%s: wrong value", t, k);
		else if (e && e != GOLITE_ENOTABLE && e != GOLITE_ENOTFOUND)
			fail("get %s/%s: %s", t, k, golite_strerror(e));
		golite_free(v);
		/* The stable table is untouched by all this. */
		e = golite_get(d->db, "stable", "k", 1, &v, &vlen);
		if (e || vlen != 1 || memcmp(v, "v", 1) != 0)
			fail("stable/k: %s", golite_strerror(e));
		golite_free(v);
		atomic_fetch_add(&d->writes, 1);
	}
	return NULL;
}

static void *ddl_lister(void *arg)
{
	struct ddl *d = arg;
	while (!atomic_load(&d->stop) && !atomic_load(&failed)) {
		char **names;
		size_t n;
		int e = golite_table_list(d->db, &names, &n);
		if (e) {
			fail("list: %s", golite_strerror(e));
			break;
		}
		bool stable = false;
		for (size_t i = 0; i < n; i++) {
			stable |= strcmp(names[i], "stable") == 0;
			if (i && strcmp(names[i - 1], names[i]) >= 0)
				fail("list: %s before %s", names[i - 1], names[i]);
			/* x3 and x3-renamed may both exist; the same name twice not. */
		}
		if (!stable)
			fail("list lost table \"stable\" (%zu tables)", n);
		golite_free(names);
		golite_iter *it;
		e = golite_iter_new(d->db, "x0", NULL, &it);
		if (e == 0) {
			for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
				size_t kl, vl;
				const void *k = golite_iter_key(it, &kl);
				const void *v = golite_iter_value(it, &vl);
				if (kl != vl || memcmp(k, v, kl) != 0)
					fail("scan of x0: wrong value");
			}
			golite_iter_free(it);
		} else if (e != GOLITE_ENOTABLE) {
			fail("iter_new x0: %s", golite_strerror(e));
		}
		atomic_fetch_add(&d->lists, 1);
	}
	return NULL;
}

Test(concurrency, tables_change_under_writers_and_readers)
{
	enum golite_memtable_kind kinds[] = { GOLITE_MEMTABLE_LOCKFREE, GOLITE_MEMTABLE_LOCKED };
	for (int kk = 0; kk < 2; kk++) {
		char *dir = tu_tmpdir("ddl");
		golite_options o = opts(kinds[kk], true);
		struct ddl d = { 0 };
		d.db = tu_open(dir, &o);
		cr_assert_eq(golite_table_create(d.db, "stable"), 0);
		cr_assert_eq(golite_put(d.db, "stable", "k", 1, "v", 1), 0);
		pthread_t ch, w[2], l;
		pthread_create(&ch, NULL, ddl_changer, &d);
		pthread_create(&w[0], NULL, ddl_writer, &d);
		pthread_create(&w[1], NULL, ddl_writer, &d);
		pthread_create(&l, NULL, ddl_lister, &d);
		pthread_join(ch, NULL);
		pthread_join(w[0], NULL);
		pthread_join(w[1], NULL);
		pthread_join(l, NULL);
		expect_no_failure();
		/* The catalog the threads left must survive a reopen unchanged. */
		char **before, **after;
		size_t nb, na;
		cr_assert_eq(golite_table_list(d.db, &before, &nb), 0);
		cr_assert_eq(golite_close(d.db), 0);
		d.db = tu_open(dir, &o);
		cr_assert_eq(golite_table_list(d.db, &after, &na), 0);
		cr_assert_eq(na, nb);
		for (size_t i = 0; i < na; i++)
			cr_assert_str_eq(after[i], before[i]);
		golite_free(before);
		golite_free(after);
		golite_close(d.db);
		tu_rmtree(dir);
	}
}
