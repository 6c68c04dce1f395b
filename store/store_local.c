/*
 * store_local.c — the store port's "local" backend: the GoLite engine in
 * this process (golite.h), with optimistic transactions on top.
 *
 * Versions. The engine keeps no version per key; a key's version here is
 * a 64-bit hash of its value with the low bit set (never 0). Two reads
 * that give the same version saw the same value (up to a 2^-63 chance),
 * which is what a commit's check needs: it asks "is what I read still
 * there", not "was it rewritten".
 *
 * Commits. A data directory is held by one process (its LOCK), and every
 * commit of this store runs under s->mu: it reads again each key the
 * transaction got and each range it scanned, compares, and writes the
 * batch (golite_write, then golite_sync: a commit that returns is on
 * disk). Writers that bypass the port (golite.h directly, in the same
 * process) are not checked against.
 */
#include <stdlib.h>
#include <string.h>

#include "golite.h"
#include "feedline.h"
#include "golite_raw.h"
#include "store_int.h"
#include "util.h"

struct local_store {
	struct golite_store base;
	golite *db;
	pthread_mutex_t mu;   /* one commit at a time */
};

static inline struct local_store *L(golite_store *s)
{
	return (struct local_store *)s;
}

static uint64_t version_of(const void *value, size_t vlen)
{
	return hash64(value, vlen) | 1;
}

static void local_close(golite_store *s)
{
	golite_close(L(s)->db);
	pthread_mutex_destroy(&L(s)->mu);
	free(s);
}

static int local_table_create(golite_store *s, const char *table)
{
	return golite_table_create(L(s)->db, table);
}

static int local_table_drop(golite_store *s, const char *table, bool force)
{
	return golite_table_drop(L(s)->db, table, force ? 0 : GOLITE_DROP_IF_EMPTY);
}

static int local_table_list(golite_store *s, char ***names, size_t *count)
{
	return golite_table_list(L(s)->db, names, count);
}

static int local_get(golite_store *s, const char *table, const void *key, size_t klen,
		     void **value, size_t *vlen, uint64_t *version)
{
	void *v = NULL;
	size_t n = 0;
	int r = golite_get(L(s)->db, table, key, klen, &v, &n);
	if (r)
		return r;
	*version = version_of(v, n);
	*vlen = n;
	if (value)
		*value = v;
	else
		golite_free(v);
	return 0;
}

static int local_scan(golite_store *s, const char *table, const void *start, size_t slen,
		      const void *end, size_t elen, size_t limit, bool keys_only, scan_fn fn,
		      void *ctx, bool *more, uint64_t *revision)
{
	golite_iter_options io = { .lower = start, .lower_len = slen, .upper = end,
				   .upper_len = elen };
	golite_iter *it;
	int r = golite_iter_new(L(s)->db, table, &io, &it);
	if (r)
		return r;
	*more = false;
	*revision = 0;
	size_t n = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		if (limit && n == limit) {
			*more = true;
			break;
		}
		golite_store_item item;
		item.key = golite_iter_key(it, &item.klen);
		const void *v = golite_iter_value(it, &item.vlen);
		item.version = version_of(v, item.vlen);
		item.value = keys_only ? NULL : v;
		if (keys_only)
			item.vlen = 0;
		n++;
		r = fn(ctx, &item);
		if (r)
			break;
	}
	if (r == 0)
		r = golite_iter_status(it);
	golite_iter_free(it);
	return r;
}

/* Is table[key] still at version (0: absent)? 0, GOLITE_ECONFLICT, or an
 * error of the read. */
static int check_read(struct local_store *l, const struct txn_read *rd)
{
	void *v = NULL;
	size_t n = 0;
	int r = golite_get(l->db, rd->table, rd->key, rd->klen, &v, &n);
	if (r == GOLITE_ENOTFOUND || r == GOLITE_ENOTABLE)
		return rd->version == 0 ? 0 : GOLITE_ECONFLICT;
	if (r)
		return r;
	uint64_t ver = version_of(v, n);
	golite_free(v);
	return ver == rd->version ? 0 : GOLITE_ECONFLICT;
}

struct rescan {
	const struct txn_scan *sc;
	size_t i;
};

static int rescan_one(void *arg, const golite_store_item *it)
{
	struct rescan *rs = arg;
	const struct txn_scan *sc = rs->sc;
	if (rs->i >= sc->n || sc->klens[rs->i] != it->klen ||
	    memcmp(sc->keys[rs->i], it->key, it->klen) != 0 || sc->versions[rs->i] != it->version)
		return GOLITE_ECONFLICT;
	rs->i++;
	return 0;
}

/* Does the scanned range hold the same keys at the same versions? */
static int check_scan(struct local_store *l, const struct txn_scan *sc)
{
	struct rescan rs = { .sc = sc };
	bool more;
	uint64_t rev;
	int r = local_scan(&l->base, sc->table, sc->start, sc->slen, sc->end, sc->elen, 0, false,
			   rescan_one, &rs, &more, &rev);
	if (r == GOLITE_ENOTABLE)
		return sc->n == 0 ? 0 : GOLITE_ECONFLICT;
	if (r)
		return r;
	return rs.i == sc->n ? 0 : GOLITE_ECONFLICT;
}

/* Publishes the writes of a commit to the change feed (golite_raw.h):
 * "put TABLE KEY" and "delete TABLE KEY", as the network front ends do. */
static void publish(struct local_store *l, const golite_txn *t)
{
	if (!golite_feed_wanted(l->db))
		return;
	for (size_t i = 0; i < t->nwrites; i++) {
		const struct txn_write *w = &t->writes[i];
		golite_feed_field f[2] = { { w->table, strlen(w->table) }, { w->key, w->klen } };
		golite_feed_publish(l->db, w->op == TXN_PUT ? "put" : "delete", f, 2);
	}
}

static int local_commit(golite_txn *t, uint64_t *revision)
{
	struct local_store *l = L(t->s);
	golite_batch *b = golite_batch_new();
	int r = 0;
	for (size_t i = 0; i < t->nwrites && r == 0; i++) {
		const struct txn_write *w = &t->writes[i];
		r = w->op == TXN_PUT
			    ? golite_batch_put(b, w->table, w->key, w->klen, w->value, w->vlen)
			    : golite_batch_delete(b, w->table, w->key, w->klen);
	}
	if (r) {
		golite_batch_free(b);
		return r;
	}
	mutex_lock(&l->mu);
	for (size_t i = 0; i < t->nreads && r == 0; i++)
		r = check_read(l, &t->reads[i]);
	for (size_t i = 0; i < t->nscans && r == 0; i++)
		r = check_scan(l, &t->scans[i]);
	if (r == GOLITE_ECONFLICT)
		golite_error_set(r, "a key or range the transaction read has changed");
	if (r == 0)
		r = golite_write(l->db, b);
	if (r == 0)
		publish(l, t);
	if (r == 0)
		r = golite_sync(l->db);
	if (r == 0)
		*revision = golite_last_sequence(l->db);
	mutex_unlock(&l->mu);
	golite_batch_free(b);
	return r;
}

static uint64_t local_version_after(const golite_store *s, uint64_t revision, const void *value,
				    size_t vlen)
{
	(void)s, (void)revision;
	return version_of(value, vlen);
}

/* ---- watch: the store's change feed ---- */

struct watch_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool published;
	const char *table;
	int (*fn)(void *ctx, const golite_store_event *ev);
	void *ctx;
	int r;                /* what fn returned, or GOLITE_ERANGE */
};

static void on_publish(void *arg)
{
	struct watch_state *w = arg;
	mutex_lock(&w->mu);
	w->published = true;
	cond_signal(&w->cv);
	mutex_unlock(&w->mu);
}

static void on_line(void *arg, char *line)
{
	struct watch_state *w = arg;
	struct feedline l;
	if (w->r || !feedline_split(line, &l))
		return;
	uint64_t seq = strtoull(l.seq, NULL, 10);
	if (feedline_op_is(&l, "missed")) {
		w->r = golite_error_set(GOLITE_ERANGE,
					"the change feed lost events from %llu on: the watch fell "
					"behind",
					(unsigned long long)seq);
		return;
	}
	bool put = feedline_op_is(&l, "put");
	bool del = feedline_op_is(&l, "delete") || feedline_op_is(&l, "expire");
	if ((!put && !del) || l.nfields != 2)
		return;
	if (w->table && strcmp(w->table, l.field[0]) != 0)
		return;
	golite_store_event ev = { .revision = seq,
				  .deleted = del,
				  .table = l.field[0],
				  .key = l.field[1],
				  .klen = l.flen[1] };
	w->r = w->fn(w->ctx, &ev);
}

/*
 * A local store's changes, from its change feed: every commit through the
 * port (and every put, delete and expiry the network front ends publish).
 * Revisions are the feed's event numbers (from 1 at open; from resumes
 * there); events carry no value (read it).
 */
static int local_watch(golite_store *s, const char *table, uint64_t from,
		       int (*fn)(void *ctx, const golite_store_event *ev), void *ctx,
		       const volatile int *stop)
{
	struct local_store *l = L(s);
	struct watch_state w = { .table = table, .fn = fn, .ctx = ctx };
	mutex_init(&w.mu);
	cond_init(&w.cv);
	golite_feed_reader *rd = NULL;
	golite_feed_watch *fw = NULL;
	int r = golite_feed_watch_new(l->db, on_publish, &w, &fw);
	if (!r)
		r = golite_feed_reader_new(l->db, from, &rd);
	if (!r) {
		golite_store_event in_place = { .revision = golite_feed_reader_next(rd) };
		r = fn(ctx, &in_place);
	}
	enum { CHUNK = 1 << 16 };
	char *buf = r ? NULL : xmalloc(CHUNK + 1);
	size_t have = 0;
	while (!r && !(stop && *stop)) {
		size_t n = 0;
		r = golite_feed_read(rd, buf + have, CHUNK - have, &n);
		if (r)
			break;
		have += n;
		size_t used = feedline_each(buf, have, on_line, &w);
		memmove(buf, buf + used, have - used);
		have -= used;
		r = w.r;
		if (n == 0 && !r) {
			/* nothing new: wait for a publish, or 200 ms to look at stop */
			mutex_lock(&w.mu);
			if (!w.published)
				cond_wait_until(&w.cv, &w.mu, now_ns() + 200000000ull);
			w.published = false;
			mutex_unlock(&w.mu);
		}
	}
	free(buf);
	if (rd)
		golite_feed_reader_free(rd);
	if (fw)
		golite_feed_watch_free(fw);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
	return r;
}

static const struct store_backend local_backend = {
	.name = "local",
	.close = local_close,
	.table_create = local_table_create,
	.table_drop = local_table_drop,
	.table_list = local_table_list,
	.get = local_get,
	.scan = local_scan,
	.commit = local_commit,
	.version_after = local_version_after,
	.watch = local_watch,
};

int store_local_open(const char *path, const golite_store_options *o, golite_store **out)
{
	if (!*path)
		return golite_error_set(GOLITE_EINVAL, "local: names no data directory");
	golite_options go;
	golite_options_init(&go);
	go.create_if_missing = o->create != 0;
	golite *db;
	int r = golite_open(path, &go, &db);
	if (r)
		return r;
	struct local_store *l = xcalloc(1, sizeof(*l));
	l->base.b = &local_backend;
	l->base.o = *o;
	l->base.limits = (golite_store_limits){ .max_value = GOLITE_MAX_VALUE_SIZE,
						.max_txn_writes = 1u << 20,
						.max_txn_bytes = GOLITE_MAX_BATCH_SIZE / 2 };
	l->db = db;
	mutex_init(&l->mu);
	*out = &l->base;
	return 0;
}
