/*
 * test_model.c — the model test: a long stream of random operations (puts,
 * deletes, batches across tables, table create/drop/rename, point reads,
 * bounded scans, iterator snapshots, close and reopen) applied both to the
 * store and to a plain sorted map (testutil's model). After every reopen
 * and every CHECK_EVERY operations the whole store is compared with the
 * model, key by key, through golite_get and through a full scan.
 *
 * Each test runs the stream under one set of options. The seed is printed;
 * GOLITE_TEST_SEED replays a run. On a mismatch the message gives the
 * operation number and the last operations applied.
 */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golite.h"
#include "testutil.h"

#define CHECK_EVERY 1000
#define HOT_KEYS 400
#define HISTORY 12

static const char *const table_pool[] = {
	"t0", "t1", "t2", "users", "a b", "\xc3\xa9t\xc3\xa9", "t0x", "z",
};
#define POOL_SIZE (sizeof(table_pool) / sizeof(table_pool[0]))

struct run {
	const char *name;
	uint64_t seed;
	struct tu_rng rng;
	char *dir;
	golite *db;
	golite_options o;
	bool vary_options;      /* pick new options at each reopen */
	struct tu_model m;
	long op;                /* number of the operation being applied */
	char history[HISTORY][160];
	long hist_next;
	uint8_t *vbuf;          /* value scratch, max_value bytes */
	size_t max_value;
	size_t big_values;      /* values over 256 KiB written so far */
	/* Keys deleted recently, to read back as absent. */
	struct {
		char table[64];
		uint8_t key[64];
		size_t klen;
	} gone[32];
	size_t ngone;
};

__attribute__((format(printf, 2, 3))) static void note(struct run *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *slot = r->history[r->hist_next++ % HISTORY];
	int n = snprintf(slot, 160, "#%ld ", r->op);
	vsnprintf(slot + n, (size_t)(160 - n), fmt, ap);
	va_end(ap);
}

/* The failure message: seed, operation, recent history. */
static const char *context(struct run *r)
{
	static char buf[HISTORY * 170 + 256];
	size_t n = (size_t)snprintf(buf, sizeof(buf), "\n  %s: seed %llu, operation %ld; last operations:",
				    r->name, (unsigned long long)r->seed, r->op);
	long first = r->hist_next > HISTORY ? r->hist_next - HISTORY : 0;
	for (long i = first; i < r->hist_next && n < sizeof(buf) - 170; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\n    %s", r->history[i % HISTORY]);
	return buf;
}

static void check_all(struct run *r, const char *when)
{
	char msg[1024];
	int c = tu_compare(r->db, &r->m, msg, sizeof(msg));
	cr_assert_eq(c, 0, "%s: store and model differ: %s%s", when, msg, context(r));
}

static const char *pick_table(struct run *r)
{
	if (r->m.n == 0)
		return NULL;
	return r->m.t[tu_below(&r->rng, r->m.n)].name;
}

/* A key: mostly from a small hot set (overwrites), sometimes random bytes,
 * rarely long, up to GOLITE_MAX_KEY_SIZE. */
static size_t make_key(struct run *r, const char *table, uint8_t *k)
{
	uint64_t x = tu_below(&r->rng, 1000);
	struct tu_table *t = table ? tu_model_table(&r->m, table) : NULL;
	if (x < 250 && t && t->n) {
		/* An existing key. */
		const struct tu_kv *e = &t->kv[tu_below(&r->rng, t->n)];
		memcpy(k, e->key, e->klen);
		return e->klen;
	}
	if (x < 700)
		return (size_t)snprintf((char *)k, 32, "k%03llu",
					(unsigned long long)tu_below(&r->rng, HOT_KEYS));
	size_t n;
	if (x < 950)
		n = 1 + tu_below(&r->rng, 40);
	else if (x < 995)
		n = 41 + tu_below(&r->rng, 1000);
	else if (x < 998)
		n = 1000 + tu_below(&r->rng, GOLITE_MAX_KEY_SIZE - 1000 + 1);
	else
		n = GOLITE_MAX_KEY_SIZE;
	tu_fill(k, n, tu_rand(&r->rng));
	/* Small alphabets collide and share prefixes. */
	if (n < 8)
		for (size_t i = 0; i < n; i++)
			k[i] = (uint8_t)"\0abz\xff"[k[i] % 5];
	return n;
}

static size_t make_value(struct run *r)
{
	uint64_t x = tu_below(&r->rng, 1000);
	size_t n;
	if (x < 700)
		n = tu_below(&r->rng, 101);
	else if (x < 960)
		n = 100 + tu_below(&r->rng, 16 << 10);
	else if (x < 998 || r->big_values >= 12)
		n = (16 << 10) + tu_below(&r->rng, 240 << 10);
	else {
		n = (256 << 10) + tu_below(&r->rng, r->max_value - (256 << 10) + 1);
		r->big_values++;
	}
	tu_fill(r->vbuf, n, (uint64_t)r->op * 7919 + r->seed);
	return n;
}

static void remember_gone(struct run *r, const char *table, const uint8_t *k, size_t klen)
{
	if (klen > sizeof(r->gone[0].key) || strlen(table) >= sizeof(r->gone[0].table))
		return;
	size_t i = r->ngone < 32 ? r->ngone++ : tu_below(&r->rng, 32);
	snprintf(r->gone[i].table, sizeof(r->gone[i].table), "%s", table);
	memcpy(r->gone[i].key, k, klen);
	r->gone[i].klen = klen;
}

static void op_put(struct run *r)
{
	const char *t = pick_table(r);
	if (!t)
		return;
	uint8_t k[GOLITE_MAX_KEY_SIZE];
	size_t klen = make_key(r, t, k);
	size_t vlen = make_value(r);
	char kb[128];
	note(r, "put %s/%s (%zu bytes)", t, tu_show(k, klen, kb, sizeof(kb)), vlen);
	int e = golite_put(r->db, t, k, klen, r->vbuf, vlen);
	cr_assert_eq(e, 0, "put: %s (%s)%s", golite_strerror(e), golite_last_error(), context(r));
	tu_model_put(&r->m, t, k, klen, r->vbuf, vlen);
}

static void op_delete(struct run *r)
{
	const char *t = pick_table(r);
	if (!t)
		return;
	uint8_t k[GOLITE_MAX_KEY_SIZE];
	size_t klen = make_key(r, t, k);
	char kb[128];
	note(r, "delete %s/%s", t, tu_show(k, klen, kb, sizeof(kb)));
	int e = golite_delete(r->db, t, k, klen);
	cr_assert_eq(e, 0, "delete: %s (%s)%s", golite_strerror(e), golite_last_error(),
		     context(r));
	tu_model_del(&r->m, t, k, klen);
	remember_gone(r, t, k, klen);
}

/* A batch across tables; sometimes naming an unknown table, then nothing
 * may change. */
static void op_batch(struct run *r)
{
	if (r->m.n == 0)
		return;
	golite_batch *b = golite_batch_new();
	size_t n = 1 + tu_below(&r->rng, 24);
	bool bad = tu_chance(&r->rng, 5);
	size_t bad_at = tu_below(&r->rng, n);
	/* The operations are recorded and applied to the model only if the
	 * store accepts the batch. */
	struct bop {
		const char *t;
		uint8_t *k;
		size_t klen;
		uint8_t *v;
		size_t vlen;
		bool del;
	} *ops = calloc(n, sizeof(*ops));
	for (size_t i = 0; i < n; i++) {
		const char *t = pick_table(r);
		if (bad && i == bad_at) {
			t = "no-such-table";
			if (tu_model_table(&r->m, t))
				bad = false;
		}
		uint8_t k[GOLITE_MAX_KEY_SIZE];
		size_t klen = make_key(r, t, k);
		ops[i].t = t;
		ops[i].k = malloc(klen);
		memcpy(ops[i].k, k, klen);
		ops[i].klen = klen;
		ops[i].del = tu_chance(&r->rng, 30);
		int e;
		if (ops[i].del) {
			e = golite_batch_delete(b, t, k, klen);
		} else {
			size_t vlen = make_value(r);
			if (vlen > (64 << 10))
				vlen = vlen % (64 << 10);   /* keep batches small */
			ops[i].v = malloc(vlen ? vlen : 1);
			memcpy(ops[i].v, r->vbuf, vlen);
			ops[i].vlen = vlen;
			e = golite_batch_put(b, t, k, klen, ops[i].v, vlen);
		}
		cr_assert_eq(e, 0, "batch add: %s%s", golite_strerror(e), context(r));
	}
	cr_assert_eq(golite_batch_count(b), n);
	note(r, "batch of %zu%s", n, bad ? " naming an unknown table" : "");
	int e = golite_write(r->db, b);
	if (bad) {
		cr_assert_eq(e, GOLITE_ENOTABLE, "batch with an unknown table: %s%s",
			     golite_strerror(e), context(r));
	} else {
		cr_assert_eq(e, 0, "batch: %s (%s)%s", golite_strerror(e), golite_last_error(),
			     context(r));
		for (size_t i = 0; i < n; i++) {
			if (ops[i].del) {
				tu_model_del(&r->m, ops[i].t, ops[i].k, ops[i].klen);
				remember_gone(r, ops[i].t, ops[i].k, ops[i].klen);
			} else {
				tu_model_put(&r->m, ops[i].t, ops[i].k, ops[i].klen, ops[i].v,
					     ops[i].vlen);
			}
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(ops[i].k);
		free(ops[i].v);
	}
	free(ops);
	golite_batch_free(b);
}

static void op_ddl(struct run *r)
{
	const char *name = table_pool[tu_below(&r->rng, POOL_SIZE)];
	uint64_t x = tu_below(&r->rng, 100);
	int e;
	if (x < 40) {
		note(r, "create %s", name);
		e = golite_table_create(r->db, name);
		bool ok = tu_model_create(&r->m, name);
		cr_assert_eq(e, ok ? 0 : GOLITE_EEXIST, "create %s: %s%s", name, golite_strerror(e),
			     context(r));
	} else if (x < 70) {
		bool if_empty = tu_chance(&r->rng, 50);
		note(r, "drop %s%s", name, if_empty ? " if empty" : "");
		e = golite_table_drop(r->db, name, if_empty ? GOLITE_DROP_IF_EMPTY : 0);
		struct tu_table *t = tu_model_table(&r->m, name);
		int want = !t ? GOLITE_ENOTABLE : if_empty && t->n ? GOLITE_ENOTEMPTY : 0;
		cr_assert_eq(e, want, "drop %s: %s, want %s%s", name, golite_strerror(e),
			     golite_strerror(want), context(r));
		if (want == 0)
			tu_model_drop(&r->m, name);
	} else {
		const char *from = tu_chance(&r->rng, 80) && r->m.n ? pick_table(r) : name;
		char from_copy[64];
		snprintf(from_copy, sizeof(from_copy), "%s", from);
		note(r, "rename %s to %s", from_copy, name);
		e = golite_table_rename(r->db, from_copy, name);
		bool exists_from = tu_model_table(&r->m, from_copy) != NULL;
		bool exists_to = tu_model_table(&r->m, name) != NULL;
		int want = !exists_from ? GOLITE_ENOTABLE
			   : strcmp(from_copy, name) == 0 ? 0
			   : exists_to ? GOLITE_EEXIST : 0;
		if (strcmp(from_copy, name) == 0 && exists_from) {
			/* Renaming a table to its own name: the header does not say;
			 * accept success or EEXIST, but nothing may change. */
			cr_assert(e == 0 || e == GOLITE_EEXIST, "rename to itself: %s%s",
				  golite_strerror(e), context(r));
		} else {
			cr_assert_eq(e, want, "rename %s to %s: %s, want %s%s", from_copy, name,
				     golite_strerror(e), golite_strerror(want), context(r));
		}
		if (want == 0)
			tu_model_rename(&r->m, from_copy, name);
	}
}

static void op_get(struct run *r)
{
	const char *t = pick_table(r);
	uint8_t k[GOLITE_MAX_KEY_SIZE];
	size_t klen;
	if (r->ngone && tu_chance(&r->rng, 30)) {
		size_t i = tu_below(&r->rng, r->ngone);
		t = r->gone[i].table;
		klen = r->gone[i].klen;
		memcpy(k, r->gone[i].key, klen);
	} else {
		if (!t)
			return;
		klen = make_key(r, t, k);
	}
	void *v = NULL;
	size_t vlen = 0;
	int e = golite_get(r->db, t, k, klen, &v, &vlen);
	const struct tu_kv *want = tu_model_get(&r->m, t, k, klen);
	char kb[128];
	tu_show(k, klen, kb, sizeof(kb));
	if (!tu_model_table(&r->m, t)) {
		cr_assert_eq(e, GOLITE_ENOTABLE, "get %s/%s: %s, want ENOTABLE%s", t, kb,
			     golite_strerror(e), context(r));
	} else if (!want) {
		cr_assert_eq(e, GOLITE_ENOTFOUND, "get %s/%s: %s, want ENOTFOUND%s", t, kb,
			     golite_strerror(e), context(r));
		cr_assert(!golite_exists(r->db, t, k, klen), "exists %s/%s%s", t, kb, context(r));
	} else {
		cr_assert_eq(e, 0, "get %s/%s: %s%s", t, kb, golite_strerror(e), context(r));
		cr_assert(vlen == want->vlen && (vlen == 0 || memcmp(v, want->val, vlen) == 0),
			  "get %s/%s: %zu bytes, model %zu%s", t, kb, vlen, want->vlen, context(r));
	}
	golite_free(v);
}

/* A bounded scan (random lower, upper, prefix and seek) against the model. */
static void op_scan(struct run *r)
{
	const char *t = pick_table(r);
	if (!t)
		return;
	struct tu_table *mt = tu_model_table(&r->m, t);
	uint8_t lo[16], hi[16], pre[16], sk[16];
	size_t lol = 0, hil = 0, prel = 0, skl = 0;
	/* Bounds near existing keys, so that ranges are not all empty. */
	uint8_t *bufs[4] = { lo, hi, pre, sk };
	size_t *lens[4] = { &lol, &hil, &prel, &skl };
	for (int i = 0; i < 4; i++) {
		if (!tu_chance(&r->rng, i == 2 ? 25 : 50))
			continue;
		if (mt->n) {
			const struct tu_kv *e = &mt->kv[tu_below(&r->rng, mt->n)];
			size_t n = 1 + tu_below(&r->rng, e->klen < 6 ? e->klen : 6);
			memcpy(bufs[i], e->key, n);
			*lens[i] = n;
		} else {
			bufs[i][0] = 'k';
			*lens[i] = 1;
		}
	}
	golite_iter_options o = { lol ? lo : NULL, lol, hil ? hi : NULL, hil,
				  prel ? pre : NULL, prel, NULL };
	golite_iter *it;
	int e = golite_iter_new(r->db, t, &o, &it);
	cr_assert_eq(e, 0, "iter_new %s: %s%s", t, golite_strerror(e), context(r));
	if (skl)
		golite_iter_seek(it, sk, skl);
	else
		golite_iter_seek_first(it);
	size_t i = 0;
	char kb[128];
	for (; i < mt->n; i++) {
		const struct tu_kv *m = &mt->kv[i];
		if (lol && tu_keycmp(m->key, m->klen, lo, lol) < 0)
			continue;
		if (skl && tu_keycmp(m->key, m->klen, sk, skl) < 0)
			continue;
		if (hil && tu_keycmp(m->key, m->klen, hi, hil) >= 0)
			break;
		if (prel && (m->klen < prel || memcmp(m->key, pre, prel) != 0))
			continue;
		cr_assert(golite_iter_valid(it), "scan %s ends before %s%s", t,
			  tu_show(m->key, m->klen, kb, sizeof(kb)), context(r));
		size_t klen, vlen;
		const void *k = golite_iter_key(it, &klen);
		const void *v = golite_iter_value(it, &vlen);
		cr_assert(tu_keycmp(k, klen, m->key, m->klen) == 0, "scan %s: %s where model has %s%s",
			  t, tu_show(k, klen, kb, sizeof(kb)), tu_show(m->key, m->klen, kb + 64, 64),
			  context(r));
		cr_assert(vlen == m->vlen && (vlen == 0 || memcmp(v, m->val, vlen) == 0),
			  "scan %s: value of %s differs%s", t, kb, context(r));
		golite_iter_next(it);
	}
	cr_assert(!golite_iter_valid(it), "scan %s: extra key past the model's%s", t, context(r));
	cr_assert_eq(golite_iter_status(it), 0);
	golite_iter_free(it);
}

/*
 * An iterator taken, then writes to its table, then the iterator read:
 * it must show the table as it was when taken.
 */
static void op_snapshot(struct run *r)
{
	const char *t = pick_table(r);
	if (!t)
		return;
	char name[64];
	snprintf(name, sizeof(name), "%s", t);
	golite_iter *it;
	int e = golite_iter_new(r->db, name, NULL, &it);
	cr_assert_eq(e, 0);
	/* The model of the table as of now. */
	struct tu_model snap;
	tu_model_init(&snap);
	tu_model_create(&snap, name);
	struct tu_table *mt = tu_model_table(&r->m, name);
	for (size_t i = 0; i < mt->n; i++)
		tu_model_put(&snap, name, mt->kv[i].key, mt->kv[i].klen, mt->kv[i].val,
			     mt->kv[i].vlen);
	note(r, "snapshot of %s (%zu keys), then writes", name, mt->n);
	int writes = 1 + (int)tu_below(&r->rng, 20);
	for (int i = 0; i < writes; i++) {
		uint8_t k[GOLITE_MAX_KEY_SIZE];
		size_t klen = make_key(r, name, k);
		if (tu_chance(&r->rng, 30)) {
			cr_assert_eq(golite_delete(r->db, name, k, klen), 0);
			tu_model_del(&r->m, name, k, klen);
		} else {
			size_t vlen = make_value(r) % 4096;
			cr_assert_eq(golite_put(r->db, name, k, klen, r->vbuf, vlen), 0);
			tu_model_put(&r->m, name, k, klen, r->vbuf, vlen);
		}
	}
	struct tu_table *st = tu_model_table(&snap, name);
	size_t i = 0;
	char kb[128];
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it), i++) {
		size_t klen, vlen;
		const void *k = golite_iter_key(it, &klen);
		const void *v = golite_iter_value(it, &vlen);
		cr_assert_lt(i, st->n, "snapshot of %s shows extra key %s%s", name,
			     tu_show(k, klen, kb, sizeof(kb)), context(r));
		const struct tu_kv *m = &st->kv[i];
		cr_assert(tu_keycmp(k, klen, m->key, m->klen) == 0 && vlen == m->vlen &&
				  (vlen == 0 || memcmp(v, m->val, vlen) == 0),
			  "snapshot of %s: position %zu is %s (%zu bytes), want %s (%zu bytes)%s",
			  name, i, tu_show(k, klen, kb, sizeof(kb)), vlen,
			  tu_show(m->key, m->klen, kb + 64, 64), m->vlen, context(r));
	}
	cr_assert_eq(i, st->n, "snapshot of %s: %zu keys, want %zu%s", name, i, st->n, context(r));
	golite_iter_free(it);
	tu_model_free(&snap);
}

static void random_options(struct run *r, golite_options *o)
{
	golite_options_init(o);
	o->durability = (enum golite_durability)tu_below(&r->rng, 3);
	if (o->durability == GOLITE_SYNC && tu_chance(&r->rng, 70))
		o->durability = GOLITE_PERIODIC;   /* sync mode is slow on a real disk */
	o->memtable = (enum golite_memtable_kind)tu_below(&r->rng, 2);
	o->sync_interval_ms = 1 + (uint32_t)tu_below(&r->rng, 200);
	o->memtable_size = (size_t)(64 << 10) << tu_below(&r->rng, 6);
	o->wal_segment_size = (size_t)(1 << 20) << tu_below(&r->rng, 4);
	o->wal_buffer_size = (size_t)(64 << 10) << tu_below(&r->rng, 5);
	o->sstable_size = (size_t)(64 << 10) << tu_below(&r->rng, 6);
	o->block_cache_size = (size_t)(64 << 10) << tu_below(&r->rng, 6);
	o->compression = (enum golite_compression)tu_below(&r->rng, 3);
	o->bloom_bits_per_key = (uint32_t)tu_below(&r->rng, 3) * 8;
	/* 1 or 2: without compaction threads writes stop for good (see
	 * api/writes_go_on_without_background_compaction). */
	o->compaction_threads = 1 + (uint32_t)tu_below(&r->rng, 2);
}

static void reopen(struct run *r)
{
	note(r, "close and reopen");
	int e = golite_close(r->db);
	r->db = NULL;
	cr_assert_eq(e, 0, "close: %s (%s)%s", golite_strerror(e), golite_last_error(), context(r));
	if (r->vary_options)
		random_options(r, &r->o);
	e = golite_open(r->dir, &r->o, &r->db);
	cr_assert_eq(e, 0, "reopen: %s (%s)%s", golite_strerror(e), golite_last_error(),
		     context(r));
	check_all(r, "after reopen");
}

static void run_model(const char *name, const golite_options *o, long nops, uint64_t seed,
		      size_t max_value, bool vary)
{
	struct run *r = calloc(1, sizeof(*r));
	r->name = name;
	r->seed = tu_seed(name, seed);
	tu_rng_init(&r->rng, r->seed);
	r->dir = tu_tmpdir("model");
	r->o = *o;
	r->vary_options = vary;
	r->max_value = max_value;
	r->vbuf = malloc(max_value);
	tu_model_init(&r->m);
	r->db = tu_open(r->dir, &r->o);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(golite_table_create(r->db, table_pool[i]), 0);
		tu_model_create(&r->m, table_pool[i]);
	}
	for (r->op = 0; r->op < nops; r->op++) {
		uint64_t x = tu_below(&r->rng, 1000);
		if (r->m.n == 0 || x < 8)
			op_ddl(r);
		else if (x < 400)
			op_put(r);
		else if (x < 530)
			op_delete(r);
		else if (x < 640)
			op_batch(r);
		else if (x < 900)
			op_get(r);
		else if (x < 975)
			op_scan(r);
		else if (x < 999)
			op_snapshot(r);
		else
			reopen(r);
		if (r->op % CHECK_EVERY == CHECK_EVERY - 1)
			check_all(r, "periodic check");
	}
	check_all(r, "at the end");
	reopen(r);
	cr_assert_eq(golite_close(r->db), 0);
	fprintf(stderr, "%s: %ld operations, %zu tables, %zu big values\n", name, nops, r->m.n,
		r->big_values);
	tu_model_free(&r->m);
	free(r->vbuf);
	tu_rmtree(r->dir);
	free(r);
}

TestSuite(model, .timeout = 300);

Test(model, default_options)
{
	golite_options o;
	golite_options_init(&o);
	run_model("model/default_options", &o, 20000, 1, 3 << 20, false);
}

Test(model, locked_memtable)
{
	golite_options o;
	golite_options_init(&o);
	o.memtable = GOLITE_MEMTABLE_LOCKED;
	run_model("model/locked_memtable", &o, 20000, 2, 3 << 20, false);
}

Test(model, small_memtable_and_log_segments)
{
	golite_options o;
	golite_options_init(&o);
	o.memtable_size = 256 << 10;
	o.wal_segment_size = 1 << 20;
	o.sstable_size = 256 << 10;
	run_model("model/small_memtable_and_log_segments", &o, 20000, 3, 3 << 20, false);
}

Test(model, compressed_small_tables_and_cache)
{
	golite_options o;
	golite_options_init(&o);
	o.memtable_size = 256 << 10;
	o.wal_segment_size = 1 << 20;
	o.sstable_size = 128 << 10;
	o.block_cache_size = 64 << 10;
	o.compression = GOLITE_COMPRESS_ZSTD;
	o.bloom_bits_per_key = 4;
	o.compaction_threads = 2;
	run_model("model/compressed_small_tables_and_cache", &o, 20000, 9, 3 << 20, false);
}

Test(model, lz4_without_filters)
{
	golite_options o;
	golite_options_init(&o);
	o.memtable_size = 128 << 10;
	o.wal_segment_size = 1 << 20;
	o.sstable_size = 256 << 10;
	o.compression = GOLITE_COMPRESS_LZ4;
	o.bloom_bits_per_key = 0;
	run_model("model/lz4_without_filters", &o, 20000, 10, 3 << 20, false);
}

Test(model, small_log_buffer)
{
	golite_options o;
	golite_options_init(&o);
	o.wal_buffer_size = 64 << 10;
	o.wal_segment_size = 1 << 20;
	o.sync_interval_ms = 1;
	run_model("model/small_log_buffer", &o, 20000, 4, 3 << 20, false);
}

Test(model, sync_durability)
{
	golite_options o;
	golite_options_init(&o);
	o.durability = GOLITE_SYNC;
	run_model("model/sync_durability", &o, 4000, 5, 2 << 20, false);
}

Test(model, no_durability)
{
	golite_options o;
	golite_options_init(&o);
	o.durability = GOLITE_NONE;
	run_model("model/no_durability", &o, 20000, 6, 3 << 20, false);
}

Test(model, periodic_durability_with_short_interval)
{
	golite_options o;
	golite_options_init(&o);
	o.sync_interval_ms = 1;
	o.memtable = GOLITE_MEMTABLE_LOCKED;
	o.memtable_size = 256 << 10;
	o.wal_segment_size = 1 << 20;
	run_model("model/periodic_durability_with_short_interval", &o, 20000, 7, 3 << 20, false);
}

Test(model, options_change_at_every_reopen)
{
	golite_options o;
	golite_options_init(&o);
	run_model("model/options_change_at_every_reopen", &o, 20000, 8, 3 << 20, true);
}
