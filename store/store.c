/*
 * store.c — the store port's front: URIs, options, limits, transactions
 * (their read and write sets), backoff. The backends check and apply
 * (store_local.c, store_etcd.c). See include/golite_store.h.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "golite_raw.h"
#include "store_int.h"
#include "util.h"

void golite_store_options_init(golite_store_options *o)
{
	memset(o, 0, sizeof(*o));
	o->timeout_ms = 5000;
}

int golite_store_open(const char *uri, const golite_store_options *o, golite_store **out)
{
	golite_store_options def;
	if (!o) {
		golite_store_options_init(&def);
		o = &def;
	}
	if (!uri || !out || !*uri)
		return golite_error_set(GOLITE_EINVAL, "no store named");
	*out = NULL;
	if (o->timeout_ms == 0 || o->timeout_ms > 3600 * 1000)
		return golite_error_set(GOLITE_EINVAL, "timeout_ms %u outside 1..3600000",
					o->timeout_ms);
	if (strncmp(uri, "etcd://", 7) == 0)
		return store_etcd_open(uri + 7, o, out);
	if (strncmp(uri, "local:", 6) == 0)
		return store_local_open(uri + 6, o, out);
	if (strstr(uri, "://"))
		return golite_error_set(GOLITE_EINVAL,
					"unknown store \"%s\" (local:DATADIR or "
					"etcd://HOST:PORT[,HOST:PORT...]/PREFIX)",
					uri);
	return store_local_open(uri, o, out);
}

void golite_store_close(golite_store *s)
{
	if (s)
		s->b->close(s);
}

const char *golite_store_backend(const golite_store *s)
{
	return s->b->name;
}

void golite_store_limits_get(const golite_store *s, golite_store_limits *l)
{
	*l = s->limits;
}

static int check_key(const void *key, size_t klen)
{
	if (!key || klen == 0 || klen > GOLITE_MAX_KEY_SIZE)
		return golite_error_set(GOLITE_EKEYSIZE, "key of %zu bytes (1..%u allowed)", klen,
					GOLITE_MAX_KEY_SIZE);
	return 0;
}

int golite_store_table_create(golite_store *s, const char *table)
{
	int r = golite_table_name_check(table);
	return r ? r : s->b->table_create(s, table);
}

int golite_store_table_drop(golite_store *s, const char *table, int force)
{
	int r = golite_table_name_check(table);
	return r ? r : s->b->table_drop(s, table, force != 0);
}

int golite_store_table_list(golite_store *s, char ***names, size_t *count)
{
	return s->b->table_list(s, names, count);
}

/* ---- transactions ---- */

int golite_txn_begin(golite_store *s, golite_txn **out)
{
	golite_txn *t = xcalloc(1, sizeof(*t));
	t->s = s;
	*out = t;
	return 0;
}

static void scan_free(struct txn_scan *sc)
{
	for (size_t k = 0; k < sc->n; k++)
		free(sc->keys[k]);
	free(sc->keys);
	free(sc->klens);
	free(sc->versions);
	free(sc->table);
	free(sc->start);
	free(sc->end);
}

static void txn_clear(golite_txn *t)
{
	for (size_t i = 0; i < t->nreads; i++) {
		free(t->reads[i].table);
		free(t->reads[i].key);
	}
	for (size_t i = 0; i < t->nscans; i++)
		scan_free(&t->scans[i]);
	for (size_t i = 0; i < t->nwrites; i++) {
		free(t->writes[i].table);
		free(t->writes[i].key);
		free(t->writes[i].value);
	}
	t->nreads = t->nscans = t->nwrites = 0;
	t->write_bytes = 0;
}

void golite_txn_free(golite_txn *t)
{
	if (!t)
		return;
	txn_clear(t);
	free(t->reads);
	free(t->scans);
	free(t->writes);
	free(t);
}

#define GROW(arr, n, cap)                                                 \
	do {                                                              \
		if ((n) == (cap)) {                                       \
			(cap) = (cap) ? 2 * (cap) : 8;                    \
			(arr) = xrealloc((arr), (cap) * sizeof(*(arr)));  \
		}                                                         \
	} while (0)

int golite_txn_get(golite_txn *t, const char *table, const void *key, size_t klen, void **value,
		   size_t *vlen, uint64_t *version)
{
	int r = golite_table_name_check(table);
	if (!r)
		r = check_key(key, klen);
	if (r)
		return r;
	uint64_t ver = 0;
	size_t len = 0;
	void *val = NULL;
	t->s->gets++;
	r = t->s->b->get(t->s, table, key, klen, value ? &val : NULL, &len, &ver);
	if (r && r != GOLITE_ENOTFOUND && r != GOLITE_ENOTABLE)
		return r;
	GROW(t->reads, t->nreads, t->capreads);
	t->reads[t->nreads++] = (struct txn_read){ .table = xstrdup(table),
						   .key = xmemdup(key, klen),
						   .klen = klen,
						   .version = r ? 0 : ver };
	if (r)
		return r;
	if (value)
		*value = val;
	if (vlen)
		*vlen = len;
	if (version)
		*version = ver;
	return 0;
}

int golite_txn_expect(golite_txn *t, const char *table, const void *key, size_t klen,
		      uint64_t version)
{
	int r = golite_table_name_check(table);
	if (!r)
		r = check_key(key, klen);
	if (r)
		return r;
	GROW(t->reads, t->nreads, t->capreads);
	t->reads[t->nreads++] = (struct txn_read){ .table = xstrdup(table),
						   .key = xmemdup(key, klen),
						   .klen = klen,
						   .version = version };
	return 0;
}

struct scan_rec {
	struct txn_scan *sc;
	size_t cap;
	int (*fn)(void *ctx, const golite_store_item *it);
	void *ctx;
	uint8_t *last;
	size_t last_len;
};

static int scan_one(void *arg, const golite_store_item *it)
{
	struct scan_rec *sr = arg;
	struct txn_scan *sc = sr->sc;
	if (sc->n == sr->cap) {
		sr->cap = sr->cap ? 2 * sr->cap : 16;
		sc->keys = xrealloc(sc->keys, sr->cap * sizeof(*sc->keys));
		sc->klens = xrealloc(sc->klens, sr->cap * sizeof(*sc->klens));
		sc->versions = xrealloc(sc->versions, sr->cap * sizeof(*sc->versions));
	}
	sc->keys[sc->n] = xmemdup(it->key, it->klen);
	sc->klens[sc->n] = it->klen;
	sc->versions[sc->n] = it->version;
	sc->n++;
	return sr->fn ? sr->fn(sr->ctx, it) : 0;
}

int golite_txn_scan(golite_txn *t, const char *table, const void *start, size_t slen,
		    const void *end, size_t elen, size_t limit, int keys_only,
		    int (*fn)(void *ctx, const golite_store_item *it), void *ctx, void **next,
		    size_t *nlen)
{
	int r = golite_table_name_check(table);
	if (r)
		return r;
	if ((slen && !start) || (elen && !end))
		return golite_error_set(GOLITE_EINVAL, "a range bound is NULL");
	if (next)
		*next = NULL;
	if (nlen)
		*nlen = 0;
	GROW(t->scans, t->nscans, t->capscans);
	struct txn_scan *sc = &t->scans[t->nscans];
	memset(sc, 0, sizeof(*sc));
	sc->table = xstrdup(table);
	sc->start = slen ? xmemdup(start, slen) : NULL;
	sc->slen = slen;
	struct scan_rec sr = { .sc = sc, .fn = fn, .ctx = ctx };
	bool more = false;
	t->s->scans++;
	r = t->s->b->scan(t->s, table, start, slen, end, elen, limit, keys_only != 0, scan_one,
			  &sr, &more, &sc->revision);
	if (r < 0 && r != GOLITE_ENOTABLE) {
		scan_free(sc);   /* nothing recorded: the caller sees the error */
		return r;
	}
	/* The range the commit checks: up to the last key returned when the
	 * scan stopped early (the rest was not read), else to the end asked. */
	if ((more || r > 0) && sc->n > 0) {
		size_t l = sc->klens[sc->n - 1];
		sc->end = xmalloc(l + 1);
		memcpy(sc->end, sc->keys[sc->n - 1], l);
		sc->end[l] = 0;   /* the smallest key after it */
		sc->elen = l + 1;
		if (next && more && r == 0) {
			*next = xmemdup(sc->end, sc->elen);
			if (nlen)
				*nlen = sc->elen;
		}
	} else if (elen) {
		sc->end = xmemdup(end, elen);
		sc->elen = elen;
	}
	t->nscans++;
	return r;
}

static int add_write(golite_txn *t, int op, const char *table, const void *key, size_t klen,
		     const void *value, size_t vlen)
{
	int r = golite_table_name_check(table);
	if (!r)
		r = check_key(key, klen);
	if (r)
		return r;
	const golite_store_limits *l = &t->s->limits;
	if (vlen > l->max_value)
		return golite_error_set(GOLITE_EVALSIZE,
					"value of %zu bytes (the %s store takes at most %zu)", vlen,
					t->s->b->name, l->max_value);
	if (vlen && !value)
		return golite_error_set(GOLITE_EINVAL, "value is NULL");
	size_t bytes = strlen(table) + klen + vlen;
	if (t->nwrites + 1 > l->max_txn_writes || t->write_bytes + bytes > l->max_txn_bytes)
		return golite_error_set(GOLITE_EBATCH,
					"a transaction of the %s store takes at most %zu writes "
					"and %zu bytes",
					t->s->b->name, l->max_txn_writes, l->max_txn_bytes);
	GROW(t->writes, t->nwrites, t->capwrites);
	t->writes[t->nwrites++] = (struct txn_write){
		.op = op,
		.table = xstrdup(table),
		.key = xmemdup(key, klen),
		.klen = klen,
		.value = vlen ? xmemdup(value, vlen) : NULL,
		.vlen = vlen,
	};
	t->write_bytes += bytes;
	return 0;
}

int golite_txn_put(golite_txn *t, const char *table, const void *key, size_t klen,
		   const void *value, size_t vlen)
{
	return add_write(t, TXN_PUT, table, key, klen, value, vlen);
}

int golite_txn_delete(golite_txn *t, const char *table, const void *key, size_t klen)
{
	return add_write(t, TXN_DELETE, table, key, klen, NULL, 0);
}

int golite_txn_commit(golite_txn *t, uint64_t *revision)
{
	uint64_t rev = 0;
	int r = 0;
	if (t->nwrites > 0) {
		t->s->commits++;
		r = t->s->b->commit(t, &rev);
		if (r == GOLITE_ECONFLICT)
			t->s->conflicts++;
	}
	if (r == 0 && revision)
		*revision = rev;
	txn_clear(t);
	return r;
}

void golite_store_stats_get(const golite_store *s, golite_store_stats *st)
{
	*st = (golite_store_stats){ .gets = s->gets,
				    .scans = s->scans,
				    .commits = s->commits,
				    .conflicts = s->conflicts,
				    .requests = s->requests };
}

uint64_t golite_store_version_after(const golite_store *s, uint64_t revision, const void *value,
				    size_t vlen)
{
	return s->b->version_after(s, revision, value, vlen);
}

void golite_store_backoff(unsigned attempt)
{
	uint64_t ms = attempt >= 8 ? 256 : 1ull << attempt;
	/* jitter: between half and the whole of it */
	uint64_t ns = ms * 1000000ull / 2 + (uint64_t)rand() % (ms * 1000000ull / 2 + 1);
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };
	nanosleep(&ts, NULL);
}

int golite_store_watch(golite_store *s, const char *table, uint64_t from,
		       int (*fn)(void *ctx, const golite_store_event *ev), void *ctx,
		       const volatile int *stop)
{
	if (table) {
		int r = golite_table_name_check(table);
		if (r)
			return r;
	}
	if (!fn)
		return golite_error_set(GOLITE_EINVAL, "no callback");
	return s->b->watch(s, table, from, fn, ctx, stop);
}
