/*
 * iter.c — merged iterators (internal db_iter, public golite_iter).
 *
 * Invariants:
 *   1. Every source is positioned on a key with a version visible at the
 *      snapshot, or is invalid.
 *   2. it->cur is the source holding the smallest key among valid sources,
 *      and among sources at that key the one with the newest version; the
 *      entry there is not a tombstone. it->cur < 0 means not valid.
 *   3. Once find_current() has run, the valid sources at that smallest key
 *      are exactly those with eq_gen == it->gen, so moving past it needs
 *      no key comparison.
 */
#include "iter.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "error.h"
#include "file_read.h"
#include "format.h"
#include "golite.h"
#include "golite_raw.h"
#include "util.h"
#include "version.h"
#include "vfile.h"

/* ---- the memtable source ---- */

struct mt_source {
	struct memtable *m;
	struct mt_iter *it;
	uint64_t snap;
	struct mt_entry e;
};

static void mt_settle(struct mt_source *s)
{
	const struct memtable_ops *ops = s->m->ops;
	while (ops->iter_valid(s->it) && !ops->iter_version(s->it, s->snap, &s->e))
		ops->iter_next(s->it);
}

static void mt_seek(void *arg, const uint8_t *ikey, size_t len)
{
	struct mt_source *s = arg;
	s->m->ops->iter_seek(s->it, ikey, len);
	mt_settle(s);
}

static void mt_next(void *arg)
{
	struct mt_source *s = arg;
	s->m->ops->iter_next(s->it);
	mt_settle(s);
}

static bool mt_valid(void *arg)
{
	struct mt_source *s = arg;
	return s->m->ops->iter_valid(s->it);
}

static const uint8_t *mt_key(void *arg, size_t *len)
{
	struct mt_source *s = arg;
	return s->m->ops->iter_key(s->it, len);
}

static void mt_entry(void *arg, struct mt_entry *e)
{
	struct mt_source *s = arg;
	*e = s->e;
}

static int mt_status(void *arg)
{
	(void)arg;
	return 0;
}

static void mt_free(void *arg)
{
	struct mt_source *s = arg;
	s->m->ops->iter_free(s->it);
	memtable_unref(s->m);
	free(s);
}

static const struct iter_source_ops mt_source_ops = {
	.seek = mt_seek,
	.next = mt_next,
	.valid = mt_valid,
	.key = mt_key,
	.entry = mt_entry,
	.status = mt_status,
	.free = mt_free,
};

struct iter_source iter_source_memtable(struct memtable *m, uint64_t snap)
{
	struct mt_source *s = xcalloc(1, sizeof(*s));
	memtable_ref(m);
	s->m = m;
	s->it = m->ops->iter_new(m);
	s->snap = snap;
	return (struct iter_source){ .ops = &mt_source_ops, .s = s };
}

/* ---- SSTable sources ----
 *
 * An SSTable iterator yields every version (skey order). A source shows,
 * for each ikey, the newest version with sequence <= snap, staying on that
 * entry (so its key and value stay valid) until next() skips the older
 * versions. A level source walks the tables of one level >= 1 in order.
 */

struct sst_source {
	struct version *v;         /* referenced; NULL for a single table */
	int level;
	size_t idx;                /* current table of the level */
	struct sst_iter *it;
	uint64_t snap;
	int status;
	uint8_t skip[IKEY_MAX];    /* the key next() moves past */
};

static void sst_source_open(struct sst_source *s, size_t idx)
{
	if (s->it)
		sst_iter_free(s->it);
	s->it = NULL;
	s->idx = idx;
	if (idx < s->v->n[s->level])
		s->it = sst_iter_new(s->v->files[s->level][idx]->reader);
}

/* Skips versions newer than the snapshot; moves to the next table of the
 * level when one runs out. */
static void sst_settle(struct sst_source *s)
{
	for (;;) {
		while (s->it && sst_iter_valid(s->it)) {
			size_t len;
			const uint8_t *k = sst_iter_key(s->it, &len);
			if (trailer_seq(get_le64(k + len - TRAILER_SIZE)) <= s->snap)
				return;
			sst_iter_next(s->it);
		}
		if (s->it && sst_iter_status(s->it)) {
			s->status = sst_iter_status(s->it);
			return;
		}
		if (!s->v || s->idx + 1 >= s->v->n[s->level])
			return;
		sst_source_open(s, s->idx + 1);
		sst_iter_seek_first(s->it);
	}
}

static void sst_seek(void *arg, const uint8_t *ikey, size_t len)
{
	struct sst_source *s = arg;
	uint8_t skey[IKEY_MAX + TRAILER_SIZE];
	memcpy(skey, ikey, len);
	put_le64(skey + len, trailer_pack(SEQ_MAX, 0xff));
	if (s->v) {
		size_t idx = version_find_file(s->v, s->level, ikey, len);
		sst_source_open(s, idx);
		if (!s->it)
			return;
	}
	sst_iter_seek(s->it, skey, len + TRAILER_SIZE);
	sst_settle(s);
}

static bool sst_valid(void *arg)
{
	struct sst_source *s = arg;
	return !s->status && s->it && sst_iter_valid(s->it);
}

static const uint8_t *sst_key(void *arg, size_t *len)
{
	struct sst_source *s = arg;
	const uint8_t *k = sst_iter_key(s->it, len);
	*len -= TRAILER_SIZE;
	return k;
}

static void sst_next(void *arg)
{
	struct sst_source *s = arg;
	size_t len;
	const uint8_t *k = sst_key(s, &len);
	memcpy(s->skip, k, len);
	for (;;) {
		sst_iter_next(s->it);
		if (!sst_iter_valid(s->it))
			break;
		size_t l;
		k = sst_key(s, &l);
		if (ikey_cmp(k, l, s->skip, len) != 0)
			break;
	}
	sst_settle(s);
	/* A new table of the level starts with a new key (tables of a level do
	 * not overlap), so the skip above never needs to cross tables. */
}

static void sst_entry(void *arg, struct mt_entry *e)
{
	struct sst_source *s = arg;
	size_t len, vlen;
	const uint8_t *k = sst_iter_key(s->it, &len);
	uint64_t t = get_le64(k + len - TRAILER_SIZE);
	e->seq = trailer_seq(t);
	e->kind = trailer_kind(t);
	e->value = sst_iter_value(s->it, &vlen);
	e->vlen = vlen;
}

static int sst_status(void *arg)
{
	struct sst_source *s = arg;
	if (s->status)
		return s->status;
	return s->it ? sst_iter_status(s->it) : 0;
}

static void sst_free(void *arg)
{
	struct sst_source *s = arg;
	if (s->it)
		sst_iter_free(s->it);
	if (s->v)
		version_unref(s->v);
	free(s);
}

static const struct iter_source_ops sst_source_ops = {
	.seek = sst_seek,
	.next = sst_next,
	.valid = sst_valid,
	.key = sst_key,
	.entry = sst_entry,
	.status = sst_status,
	.free = sst_free,
};

struct iter_source iter_source_table(struct table_file *f, uint64_t snap)
{
	struct sst_source *s = xcalloc(1, sizeof(*s));
	s->it = sst_iter_new(f->reader);
	s->snap = snap;
	return (struct iter_source){ .ops = &sst_source_ops, .s = s };
}

struct iter_source iter_source_level(struct version *v, int level, uint64_t snap)
{
	struct sst_source *s = xcalloc(1, sizeof(*s));
	version_ref(v);
	s->v = v;
	s->level = level;
	s->snap = snap;
	return (struct iter_source){ .ops = &sst_source_ops, .s = s };
}

/* ---- merging ---- */

struct db_iter {
	struct golite *db;
	struct version *version;   /* referenced */
	uint64_t snap;
	size_t n, cap;
	struct iter_source *src;
	int cur;                /* invariant 2 */
	struct mt_entry e;      /* the current entry (an expiring one stripped) */
	uint64_t expires;       /* its expiry, 0 if none */
	uint64_t clock_ms;      /* entries expiring by then are skipped */
	int status;
	uint64_t gen;           /* invariant 3 */
	uint64_t vepoch;        /* vlog_iter_enter's */
	bool separated;         /* e.value is a pointer, ptr (vlog.h) */
	bool fetched;           /* and the value it points at is in vbuf */
	struct vptr ptr;
	uint8_t *vbuf;
	size_t vcap;
};

static void add_source(struct db_iter *it, struct iter_source s)
{
	if (it->n == it->cap) {
		it->cap = it->cap ? it->cap * 2 : 8;
		it->src = xrealloc(it->src, it->cap * sizeof(*it->src));
	}
	it->src[it->n++] = s;
}

/* How an iterator chooses its sequence. */
enum iter_at { AT_NOW, AT_LATEST, AT_SEQ };

/* Pins the sources of a snapshot (db.h invariant 3); sets it->snap to the
 * sequence (AT_SEQ: seq, which a live snapshot keeps readable in whatever
 * sources are current), or returns false if they changed meanwhile. */
static bool pin_sources(struct golite *db, struct db_iter *it, enum iter_at at, uint64_t seq)
{
	uint64_t gen = atomic_load_explicit(&db->src_gen, memory_order_acquire);
	if (gen & 1)
		return false;
	rcu_read_lock();
	struct memtable *mems[MAX_IMM + 8];
	size_t nm = 0;
	mems[nm++] = rcu_fetch(db->mem);
	for (struct memtable *m = rcu_fetch(db->imm); m && nm < ARRAY_SIZE(mems);
	     m = rcu_fetch(m->next))
		mems[nm++] = m;
	struct version *v = rcu_fetch(db->current);
	uint64_t snap = at == AT_LATEST ? SEQ_MAX
			: at == AT_SEQ	? seq
					: atomic_load_explicit(&db->last_seq, memory_order_acquire);
	atomic_thread_fence(memory_order_acquire);
	bool same = atomic_load_explicit(&db->src_gen, memory_order_relaxed) == gen;
	if (same) {
		/* Still inside the read-side section: the sources cannot be freed
		 * before these references are taken. */
		for (size_t i = 0; i < nm; i++)
			memtable_ref(mems[i]);
		version_ref(v);
	}
	rcu_read_unlock();
	if (!same)
		return false;
	it->snap = snap;
	it->version = v;
	for (size_t i = 0; i < nm; i++) {
		add_source(it, iter_source_memtable(mems[i], snap));
		memtable_unref(mems[i]);   /* the source holds its own */
	}
	return true;
}

static struct db_iter *iter_make(struct golite *db, enum iter_at at, uint64_t seq)
{
	struct db_iter *it = xcalloc(1, sizeof(*it));
	it->db = db;
	it->cur = -1;
	it->clock_ms = db_clock_ms(db);
	/* Before the sources are pinned (vlog.h invariant 2). */
	it->vepoch = vlog_iter_enter(db);
	for (int spins = 0; !pin_sources(db, it, at, seq); spins++)
		if (spins > 16)
			sched_yield();
	if (at == AT_NOW)
		db_wait_writes(db, it->snap);
	/* An SSTable iterator holds its own reference on the table. */
	struct version *v = it->version;
	for (size_t i = 0; i < v->n[0]; i++)
		add_source(it, iter_source_table(v->files[0][i], it->snap));
	for (int l = 1; l < NUM_LEVELS; l++)
		if (v->n[l])
			add_source(it, iter_source_level(v, l, it->snap));
	return it;
}

struct db_iter *db_iter_new(struct golite *db, bool latest)
{
	return iter_make(db, latest ? AT_LATEST : AT_NOW, 0);
}

struct db_iter *db_iter_new_at(struct golite *db, uint64_t seq)
{
	return iter_make(db, AT_SEQ, seq);
}

void db_iter_free(struct db_iter *it)
{
	if (!it)
		return;
	for (size_t i = 0; i < it->n; i++)
		it->src[i].ops->free(it->src[i].s);
	free(it->src);
	version_unref(it->version);
	vlog_iter_leave(it->db, it->vepoch);
	free(it->vbuf);
	free(it);
}

/* Takes the position of s after it moved; a failed source ends the merge. */
static inline void src_moved(struct db_iter *it, struct iter_source *s)
{
	int st = s->ops->status(s->s);
	if (unlikely(st)) {
		if (!it->status)
			it->status = st;
		s->valid = false;
		return;
	}
	s->valid = s->ops->valid(s->s);
	if (s->valid)
		s->key = s->ops->key(s->s, &s->klen);
}

/* Advances every source positioned at the current key (invariant 3). */
static void skip_current(struct db_iter *it)
{
	for (size_t i = 0; i < it->n; i++) {
		struct iter_source *s = &it->src[i];
		if (s->valid && s->eq_gen == it->gen) {
			s->ops->next(s->s);
			src_moved(it, s);
		}
	}
}

/*
 * Establishes invariants 2 and 3. A source before the one holding the
 * smallest key cannot hold that key too (it was compared with a key no
 * greater and found greater), so the sources at it are the first to hold it
 * and those after it found equal.
 */
static void find_current(struct db_iter *it)
{
	for (;;) {
		if (it->status) {
			it->cur = -1;
			return;
		}
		int first = -1;
		const uint8_t *bk = NULL;
		size_t bl = 0;
		for (size_t i = 0; i < it->n; i++) {
			struct iter_source *s = &it->src[i];
			if (!s->valid)
				continue;
			int c = first < 0 ? -1 : ikey_cmp(s->key, s->klen, bk, bl);
			if (c < 0) {
				first = (int)i;
				bk = s->key;
				bl = s->klen;
				s->eq_gen = ++it->gen;
			} else if (c == 0) {
				s->eq_gen = it->gen;
			}
		}
		it->cur = first;
		if (first < 0)
			return;
		/* The newest version among the sources at the key. */
		struct mt_entry be, e;
		it->src[first].ops->entry(it->src[first].s, &be);
		for (size_t i = (size_t)first + 1; i < it->n; i++) {
			struct iter_source *s = &it->src[i];
			if (s->valid && s->eq_gen == it->gen) {
				s->ops->entry(s->s, &e);
				if (e.seq > be.seq) {
					be = e;
					it->cur = (int)i;
				}
			}
		}
		it->separated = false;
		if (be.kind == (KIND_VALUE | KIND_SEPARATE)) {
			int r = vptr_decode(be.value, be.vlen, &it->ptr);
			if (r) {
				it->status = r;
				it->cur = -1;
				return;
			}
			it->separated = true;
			it->fetched = false;
			be.kind = KIND_VALUE;
			it->e = be;
			it->e.vlen = it->ptr.len;
			it->expires = 0;
			return;
		}
		if (be.kind != KIND_DELETE && !(be.kind & KIND_EXPIRES)) {
			it->e = be;
			it->expires = 0;
			return;
		}
		if (be.kind & KIND_EXPIRES) {
			if (unlikely(be.vlen < EXPIRES_PREFIX)) {
				it->status = set_error(GOLITE_ECORRUPT,
						       "an expiring entry of %zu bytes", be.vlen);
				it->cur = -1;
				return;
			}
			uint64_t at = get_le64(be.value);
			if (at > it->clock_ms) {
				/* Not expired: shown without its expiry. */
				be.kind = kind_base(be.kind);
				be.value = (const uint8_t *)be.value + EXPIRES_PREFIX;
				be.vlen -= EXPIRES_PREFIX;
				it->e = be;
				it->expires = at;
				return;
			}
		}
		skip_current(it);
	}
}

void db_iter_seek(struct db_iter *it, const uint8_t *ikey, size_t len)
{
	if (it->status)
		return;
	for (size_t i = 0; i < it->n; i++) {
		it->src[i].ops->seek(it->src[i].s, ikey, len);
		src_moved(it, &it->src[i]);
	}
	find_current(it);
}

bool db_iter_valid(const struct db_iter *it)
{
	return it->cur >= 0;
}

void db_iter_next(struct db_iter *it)
{
	skip_current(it);
	find_current(it);
}

const uint8_t *db_iter_key(const struct db_iter *it, size_t *len)
{
	const struct iter_source *s = &it->src[it->cur];
	*len = s->klen;
	return s->key;
}

const uint8_t *db_iter_value(const struct db_iter *cit, size_t *len)
{
	/* Reading a separated value fills the iterator's buffer: a cache
	 * of what the current entry reads as, so the iterator stays
	 * logically const. */
	struct db_iter *it = (struct db_iter *)cit;
	if (it->separated && !it->fetched) {
		if (it->vcap < it->ptr.len) {
			free(it->vbuf);
			it->vcap = it->ptr.len;
			it->vbuf = xmalloc(it->vcap);
		}
		int r = vlog_read(it->db, &it->ptr, it->vbuf);
		if (r) {
			it->status = r;
			it->cur = -1;
			*len = 0;
			return NULL;
		}
		it->fetched = true;
	}
	*len = it->e.vlen;
	return it->separated ? it->vbuf : it->e.value;
}

bool db_iter_vptr(const struct db_iter *it, struct vptr *p)
{
	if (!it->separated)
		return false;
	*p = it->ptr;
	return true;
}

unsigned db_iter_kind(const struct db_iter *it)
{
	return it->e.kind;
}

uint64_t db_iter_expires(const struct db_iter *it)
{
	return it->expires;
}

void db_iter_set_clock(struct db_iter *it, uint64_t ms)
{
	it->clock_ms = ms;
}

int db_iter_status(const struct db_iter *it)
{
	return it->status;
}

/* ---- the public iterator ---- */

struct golite_iter {
	struct golite *db;
	struct db_iter *it;
	uint32_t table;
	uint8_t *lower, *upper, *prefix;   /* full ikeys, NULL if unbounded */
	size_t lower_len, upper_len, prefix_len;
	bool valid;
	int status;
	golite_snapshot *snap; /* a handle of its own on opts->snapshot, or NULL */
	uint8_t *value;        /* a file's bytes, assembled by golite_iter_value */
	size_t value_len;
};

static uint8_t *bound_ikey(uint32_t table, const void *key, size_t len, size_t *out_len)
{
	uint8_t *b = xmalloc(IKEY_PREFIX + len);
	put_be32(b, table);
	if (len)
		memcpy(b + IKEY_PREFIX, key, len);
	*out_len = IKEY_PREFIX + len;
	return b;
}

static int iter_new(golite *db, const char *table, uint32_t id, const golite_iter_options *o,
		    golite_iter **out)
{
	if (!out)
		return set_error(GOLITE_EINVAL, "out is NULL");
	*out = NULL;
	if (!db)
		return set_error(GOLITE_EINVAL, "store handle is NULL");
	if (atomic_load(&db->closing))
		return set_error(GOLITE_ECLOSED, "the store is closed");
	rcu_thread_ensure();
	if (o && ((o->lower_len && !o->lower) || (o->upper_len && !o->upper) ||
		  (o->prefix_len && !o->prefix)))
		return set_error(GOLITE_EINVAL, "iterator bound has a length but no bytes");
	if (o && (o->lower_len > GOLITE_MAX_KEY_SIZE || o->upper_len > GOLITE_MAX_KEY_SIZE ||
		  o->prefix_len > GOLITE_MAX_KEY_SIZE))
		return set_error(GOLITE_EKEYSIZE, "iterator bound longer than %u bytes",
				 GOLITE_MAX_KEY_SIZE);
	const golite_snapshot *snap = o ? o->snapshot : NULL;
	if (table) {
		rcu_read_lock();
		int r = db_table_id_in(snap_catalog(db, snap), table, &id);
		rcu_read_unlock();
		if (r)
			return r;
	}
	golite_iter *gi = xcalloc(1, sizeof(*gi));
	gi->db = db;
	gi->table = id;
	if (snap) {
		gi->snap = xmalloc(sizeof(*gi->snap));
		*gi->snap = *snap;
		snap_ref(snap->s);
	}
	if (o && o->lower_len)
		gi->lower = bound_ikey(id, o->lower, o->lower_len, &gi->lower_len);
	if (o && o->upper_len)
		gi->upper = bound_ikey(id, o->upper, o->upper_len, &gi->upper_len);
	if (o && o->prefix_len)
		gi->prefix = bound_ikey(id, o->prefix, o->prefix_len, &gi->prefix_len);
	gi->it = snap ? db_iter_new_at(db, snap->s->seq) : db_iter_new(db, false);
	if (snap)
		db_iter_set_clock(gi->it, db_read_clock_ms(db, snap));
	db_count(db, C_ITERS, 1);
	*out = gi;
	return 0;
}

int golite_iter_new(golite *db, const char *table, const golite_iter_options *o,
		    golite_iter **out)
{
	if (!table) {
		if (out)
			*out = NULL;
		return set_error(GOLITE_EINVAL, "table name is NULL");
	}
	return iter_new(db, table, 0, o, out);
}

int golite_iter_new_raw(golite *db, uint32_t table_id, const golite_iter_options *o,
			golite_iter **out)
{
	return iter_new(db, NULL, table_id, o, out);
}

/* Checks the current position against table and bounds. */
static void check_position(golite_iter *gi)
{
	gi->status = db_iter_status(gi->it);
	gi->valid = false;
	if (gi->status || !db_iter_valid(gi->it))
		return;
	size_t len;
	const uint8_t *k = db_iter_key(gi->it, &len);
	if (ikey_table(k) != gi->table)
		return;
	if (gi->upper && ikey_cmp(k, len, gi->upper, gi->upper_len) >= 0)
		return;
	if (gi->prefix && (len < gi->prefix_len || memcmp(k, gi->prefix, gi->prefix_len) != 0))
		return;
	gi->valid = true;
}

void golite_iter_seek(golite_iter *gi, const void *key, size_t klen)
{
	if (!gi)
		return;
	uint8_t start[IKEY_MAX];
	size_t len = ikey_make(start, gi->table, key, MIN(klen, (size_t)GOLITE_MAX_KEY_SIZE));
	/* Never start below the lower bound or the prefix. */
	if (gi->lower && ikey_cmp(start, len, gi->lower, gi->lower_len) < 0) {
		memcpy(start, gi->lower, gi->lower_len);
		len = gi->lower_len;
	}
	if (gi->prefix && ikey_cmp(start, len, gi->prefix, gi->prefix_len) < 0) {
		memcpy(start, gi->prefix, gi->prefix_len);
		len = gi->prefix_len;
	}
	db_iter_seek(gi->it, start, len);
	check_position(gi);
}

void golite_iter_seek_first(golite_iter *gi)
{
	golite_iter_seek(gi, "", 0);
}

bool golite_iter_valid(const golite_iter *gi)
{
	return gi && gi->valid;
}

void golite_iter_next(golite_iter *gi)
{
	if (!gi || !gi->valid)
		return;
	db_iter_next(gi->it);
	check_position(gi);
}

const void *golite_iter_key(const golite_iter *gi, size_t *klen)
{
	size_t len;
	const uint8_t *k = db_iter_key(gi->it, &len);
	*klen = len - IKEY_PREFIX;
	return k + IKEY_PREFIX;
}

/* The value of the current key as golite_get would return it. */
const void *golite_iter_value(golite_iter *gi, size_t *vlen)
{
	size_t len;
	const uint8_t *v = db_iter_value(gi->it, &len);
	if (db_iter_kind(gi->it) != KIND_META) {
		*vlen = len;
		return v;
	}
	struct vfile f;
	*vlen = 0;
	if (vfile_decode(v, len, &f) || f.type == VFILE_DIR)
		return NULL;
	if (f.type != VFILE_HLINK && (f.type == VFILE_LNK || !(f.flags & VFILE_F_CHUNKED))) {
		*vlen = f.data_len;
		return f.data;
	}
	free(gi->value);
	gi->value = NULL;
	void *out;
	size_t n;
	if (file_read_value(gi->db, gi->snap, v, len, NULL, 0, &out, &n)) {
		gi->status = GOLITE_EIO;
		return NULL;
	}
	gi->value = out;
	*vlen = n;
	return out;
}

const void *golite_iter_value_raw(const golite_iter *gi, size_t *vlen)
{
	return db_iter_value(gi->it, vlen);
}

unsigned golite_iter_kind(const golite_iter *gi)
{
	return db_iter_kind(gi->it);
}

uint64_t golite_iter_expires(const golite_iter *gi)
{
	return db_iter_expires(gi->it);
}

bool golite_iter_is_dir(const golite_iter *gi)
{
	if (db_iter_kind(gi->it) != KIND_META)
		return false;
	size_t len;
	const uint8_t *v = db_iter_value(gi->it, &len);
	return len >= 2 && v[1] == VFILE_DIR;
}

int golite_iter_status(const golite_iter *gi)
{
	return gi ? gi->status : GOLITE_EINVAL;
}

void golite_iter_free(golite_iter *gi)
{
	if (!gi)
		return;
	db_iter_free(gi->it);
	golite_snapshot_free(gi->snap);
	free(gi->lower);
	free(gi->upper);
	free(gi->prefix);
	free(gi->value);
	free(gi);
}
