/*
 * testutil.c — shared helpers of the store's test suites. See testutil.h.
 */
#include "testutil.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- seeds and random numbers ---- */

uint64_t tu_seed(const char *test, uint64_t dflt)
{
	uint64_t seed = dflt;
	const char *env = getenv("GOLITE_TEST_SEED");
	if (env && *env)
		seed = strtoull(env, NULL, 0);
	fprintf(stderr, "%s: seed %llu (GOLITE_TEST_SEED=%llu to replay)\n", test,
		(unsigned long long)seed, (unsigned long long)seed);
	return seed;
}

uint64_t tu_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void tu_rng_init(struct tu_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t tu_rand(struct tu_rng *r)
{
	r->s += 0x9e3779b97f4a7c15ull;
	return tu_mix(r->s);
}

uint64_t tu_below(struct tu_rng *r, uint64_t n)
{
	return tu_rand(r) % n;
}

bool tu_chance(struct tu_rng *r, unsigned pct)
{
	return tu_below(r, 100) < pct;
}

void tu_fill(void *buf, size_t n, uint64_t tag)
{
	uint8_t *p = buf;
	uint64_t x = tu_mix(tag);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		x = tu_mix(x);
		memcpy(p + i, &x, 8);
	}
	if (i < n) {
		x = tu_mix(x);
		memcpy(p + i, &x, n - i);
	}
}

bool tu_check_fill(const void *buf, size_t n, uint64_t tag)
{
	const uint8_t *p = buf;
	uint64_t x = tu_mix(tag);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		x = tu_mix(x);
		if (memcmp(p + i, &x, 8) != 0)
			return false;
	}
	if (i < n) {
		x = tu_mix(x);
		if (memcmp(p + i, &x, n - i) != 0)
			return false;
	}
	return true;
}

/* ---- temporary directories ---- */

char *tu_tmpdir(const char *what)
{
	char *path;
	if (asprintf(&path, "/tmp/golite-%s-XXXXXX", what) < 0)
		abort();
	cr_assert_not_null(mkdtemp(path), "mkdtemp %s", path);
	return path;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void tu_rmtree(char *path)
{
	if (!path)
		return;
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(path);
}

int tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

golite *tu_open(const char *path, const golite_options *opts)
{
	golite *db = NULL;
	int r = golite_open(path, opts, &db);
	cr_assert_eq(r, 0, "golite_open(%s): %s (%s)", path, golite_strerror(r),
		     golite_last_error());
	cr_assert_not_null(db);
	return db;
}

/* ---- the model ---- */

int tu_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	int c = n ? memcmp(a, b, n) : 0;
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

void tu_model_init(struct tu_model *m)
{
	memset(m, 0, sizeof(*m));
}

static void table_free(struct tu_table *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->kv[i].key);
		free(t->kv[i].val);
	}
	free(t->kv);
	free(t->name);
}

void tu_model_free(struct tu_model *m)
{
	for (size_t i = 0; i < m->n; i++)
		table_free(&m->t[i]);
	free(m->t);
	memset(m, 0, sizeof(*m));
}

/* Index of the first table whose name is >= name. */
static size_t table_pos(const struct tu_model *m, const char *name)
{
	size_t lo = 0, hi = m->n, len = strlen(name);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (tu_keycmp(m->t[mid].name, strlen(m->t[mid].name), name, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct tu_table *tu_model_table(struct tu_model *m, const char *name)
{
	size_t i = table_pos(m, name);
	return i < m->n && strcmp(m->t[i].name, name) == 0 ? &m->t[i] : NULL;
}

static void table_insert(struct tu_model *m, struct tu_table t)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? 2 * m->cap : 8;
		m->t = realloc(m->t, m->cap * sizeof(*m->t));
	}
	size_t i = table_pos(m, t.name);
	memmove(&m->t[i + 1], &m->t[i], (m->n - i) * sizeof(*m->t));
	m->t[i] = t;
	m->n++;
}

static struct tu_table table_remove(struct tu_model *m, const char *name)
{
	size_t i = table_pos(m, name);
	struct tu_table t = m->t[i];
	memmove(&m->t[i], &m->t[i + 1], (m->n - i - 1) * sizeof(*m->t));
	m->n--;
	return t;
}

bool tu_model_create(struct tu_model *m, const char *name)
{
	if (tu_model_table(m, name))
		return false;
	struct tu_table t = { .name = strdup(name) };
	table_insert(m, t);
	return true;
}

bool tu_model_drop(struct tu_model *m, const char *name)
{
	if (!tu_model_table(m, name))
		return false;
	struct tu_table t = table_remove(m, name);
	table_free(&t);
	return true;
}

bool tu_model_rename(struct tu_model *m, const char *from, const char *to)
{
	if (!tu_model_table(m, from))
		return false;
	if (strcmp(from, to) == 0)
		return true;
	if (tu_model_table(m, to))
		return false;
	struct tu_table t = table_remove(m, from);
	free(t.name);
	t.name = strdup(to);
	table_insert(m, t);
	return true;
}

/* Index of the first key >= key. */
static size_t kv_pos(const struct tu_table *t, const void *key, size_t klen)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (tu_keycmp(t->kv[mid].key, t->kv[mid].klen, key, klen) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void *dup_bytes(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);
	if (n)
		memcpy(q, p, n);
	return q;
}

void tu_model_put(struct tu_model *m, const char *table, const void *key, size_t klen,
		  const void *val, size_t vlen)
{
	struct tu_table *t = tu_model_table(m, table);
	cr_assert_not_null(t, "model: put into missing table %s", table);
	size_t i = kv_pos(t, key, klen);
	if (i < t->n && tu_keycmp(t->kv[i].key, t->kv[i].klen, key, klen) == 0) {
		free(t->kv[i].val);
		t->kv[i].val = dup_bytes(val, vlen);
		t->kv[i].vlen = vlen;
		return;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->kv = realloc(t->kv, t->cap * sizeof(*t->kv));
	}
	memmove(&t->kv[i + 1], &t->kv[i], (t->n - i) * sizeof(*t->kv));
	t->kv[i] = (struct tu_kv){ dup_bytes(key, klen), klen, dup_bytes(val, vlen), vlen };
	t->n++;
}

void tu_model_del(struct tu_model *m, const char *table, const void *key, size_t klen)
{
	struct tu_table *t = tu_model_table(m, table);
	cr_assert_not_null(t, "model: delete from missing table %s", table);
	size_t i = kv_pos(t, key, klen);
	if (i < t->n && tu_keycmp(t->kv[i].key, t->kv[i].klen, key, klen) == 0) {
		free(t->kv[i].key);
		free(t->kv[i].val);
		memmove(&t->kv[i], &t->kv[i + 1], (t->n - i - 1) * sizeof(*t->kv));
		t->n--;
	}
}

const struct tu_kv *tu_model_get(const struct tu_model *m, const char *table, const void *key,
				 size_t klen)
{
	const struct tu_table *t = tu_model_table((struct tu_model *)m, table);
	if (!t)
		return NULL;
	size_t i = kv_pos(t, key, klen);
	if (i < t->n && tu_keycmp(t->kv[i].key, t->kv[i].klen, key, klen) == 0)
		return &t->kv[i];
	return NULL;
}

const char *tu_show(const void *key, size_t klen, char *buf, size_t cap)
{
	const uint8_t *k = key;
	size_t o = 0;
	for (size_t i = 0; i < klen && i < 40 && o + 5 < cap; i++) {
		if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\\')
			buf[o++] = (char)k[i];
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", k[i]);
	}
	if (klen > 40 && o + 20 < cap)
		o += (size_t)snprintf(buf + o, cap - o, "...(%zu bytes)", klen);
	buf[o < cap ? o : cap - 1] = '\0';
	return buf;
}

int tu_differ(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, cap, fmt, ap);
	va_end(ap);
	return -1;
}

static int compare_table(golite *db, const struct tu_table *t, char *msg, size_t cap)
{
	char kb[256];
	golite_iter *it = NULL;
	int r = golite_iter_new(db, t->name, NULL, &it);
	if (r)
		return tu_differ(msg, cap, "golite_iter_new(%s): %s", t->name, golite_strerror(r));
	size_t i = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it), i++) {
		size_t klen, vlen;
		const void *k = golite_iter_key(it, &klen);
		const void *v = golite_iter_value(it, &vlen);
		if (i >= t->n) {
			golite_iter_free(it);
			return tu_differ(msg, cap, "table %s: scan finds extra key %s (model has %zu)",
				      t->name, tu_show(k, klen, kb, sizeof(kb)), t->n);
		}
		const struct tu_kv *e = &t->kv[i];
		if (tu_keycmp(k, klen, e->key, e->klen) != 0) {
			char eb[256];
			golite_iter_free(it);
			return tu_differ(msg, cap, "table %s: scan position %zu has key %s, model %s",
				      t->name, i, tu_show(k, klen, kb, sizeof(kb)),
				      tu_show(e->key, e->klen, eb, sizeof(eb)));
		}
		if (vlen != e->vlen || (vlen && memcmp(v, e->val, vlen) != 0)) {
			golite_iter_free(it);
			return tu_differ(msg, cap,
				      "table %s: scan value of %s differs (%zu bytes, model %zu)",
				      t->name, tu_show(k, klen, kb, sizeof(kb)), vlen, e->vlen);
		}
	}
	r = golite_iter_status(it);
	golite_iter_free(it);
	if (r)
		return tu_differ(msg, cap, "table %s: iterator status %s", t->name,
			      golite_strerror(r));
	if (i != t->n)
		return tu_differ(msg, cap, "table %s: scan finds %zu keys, model has %zu (missing %s)",
			      t->name, i, t->n, tu_show(t->kv[i].key, t->kv[i].klen, kb, sizeof(kb)));

	for (i = 0; i < t->n; i++) {
		const struct tu_kv *e = &t->kv[i];
		void *v = NULL;
		size_t vlen = 0;
		r = golite_get(db, t->name, e->key, e->klen, &v, &vlen);
		if (r)
			return tu_differ(msg, cap, "table %s: golite_get(%s): %s", t->name,
				      tu_show(e->key, e->klen, kb, sizeof(kb)), golite_strerror(r));
		bool same = vlen == e->vlen && (vlen == 0 || memcmp(v, e->val, vlen) == 0);
		golite_free(v);
		if (!same)
			return tu_differ(msg, cap, "table %s: golite_get(%s) gives %zu bytes, model %zu",
				      t->name, tu_show(e->key, e->klen, kb, sizeof(kb)), vlen, e->vlen);
		if (!golite_exists(db, t->name, e->key, e->klen))
			return tu_differ(msg, cap, "table %s: golite_exists(%s) is false", t->name,
				      tu_show(e->key, e->klen, kb, sizeof(kb)));
		if (e->vlen <= 4096) {
			uint8_t buf[4096];
			size_t got = 0;
			r = golite_get_into(db, t->name, e->key, e->klen, buf, sizeof(buf), &got);
			if (r || got != e->vlen || (got && memcmp(buf, e->val, got) != 0))
				return tu_differ(msg, cap,
					      "table %s: golite_get_into(%s): %s, %zu bytes, model %zu",
					      t->name, tu_show(e->key, e->klen, kb, sizeof(kb)),
					      golite_strerror(r), got, e->vlen);
		}
		if (e->vlen > 0) {
			uint8_t small[1];
			size_t got = 0;
			r = golite_get_into(db, t->name, e->key, e->klen, small, e->vlen - 1 ? 1 : 0,
					    &got);
			if (e->vlen > 1 && (r != GOLITE_ERANGE || got != e->vlen))
				return tu_differ(msg, cap,
					      "table %s: golite_get_into(%s) into 1 byte: %s with size "
					      "%zu, want ERANGE with %zu",
					      t->name, tu_show(e->key, e->klen, kb, sizeof(kb)),
					      golite_strerror(r), got, e->vlen);
		}
	}
	return 0;
}

int tu_compare(golite *db, const struct tu_model *m, char *msg, size_t cap)
{
	char **names = NULL;
	size_t count = 0;
	int r = golite_table_list(db, &names, &count);
	if (r)
		return tu_differ(msg, cap, "golite_table_list: %s", golite_strerror(r));
	for (size_t i = 0; i < count || i < m->n; i++) {
		const char *s = i < count ? names[i] : "(none)";
		const char *e = i < m->n ? m->t[i].name : "(none)";
		if (i >= count || i >= m->n || strcmp(s, e) != 0) {
			tu_differ(msg, cap, "table list position %zu: store %s, model %s (%zu vs %zu tables)",
			       i, s, e, count, m->n);
			golite_free(names);
			return -1;
		}
	}
	golite_free(names);
	for (size_t i = 0; i < m->n; i++) {
		if (compare_table(db, &m->t[i], msg, cap))
			return -1;
	}
	return 0;
}

void tu_small_options(golite_options *o)
{
	golite_options_init(o);
	o->memtable_size = 64u << 10;
	o->sstable_size = 64u << 10;
	o->wal_segment_size = 1u << 20;
	o->wal_buffer_size = 64u << 10;
}
