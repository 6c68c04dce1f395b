/*
 * db.c — the store's calls on data: the write path, the read path, raw
 * access and figures, with the small public helpers. The data flow and
 * invariants are in db.h; opening, recovery and closing are in db_open.c,
 * tables in db_tables.c.
 */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "error.h"
#include "file_read.h"
#include "filename.h"
#include "format.h"
#include "hist.h"
#include "io.h"
#include "iter.h"
#include "golite_raw.h"
#include "util.h"
#include "vfile.h"

/* ---- small public helpers ---- */

const char *golite_strerror(int err)
{
	switch (err) {
	case GOLITE_OK: return "success";
	case GOLITE_ENOTFOUND: return "not found";
	case GOLITE_EINVAL: return "invalid argument";
	case GOLITE_EKEYSIZE: return "key is empty or too long";
	case GOLITE_EVALSIZE: return "value is too long";
	case GOLITE_ENAME: return "invalid table name";
	case GOLITE_ENOTABLE: return "no such table";
	case GOLITE_EEXIST: return "already exists";
	case GOLITE_EIO: return "input/output error";
	case GOLITE_ENOSPC: return "no space left on device";
	case GOLITE_ECORRUPT: return "damaged file";
	case GOLITE_ELOCKED: return "data directory is in use by another process";
	case GOLITE_EFAILED: return "store refuses writes after an I/O error";
	case GOLITE_ECLOSED: return "store is closed";
	case GOLITE_ERANGE: return "buffer too small";
	case GOLITE_EVERSION: return "unsupported format version";
	case GOLITE_EBATCH: return "batch too large";
	case GOLITE_EBUSY: return "resource busy";
	case GOLITE_EROFS: return "store is read-only";
	case GOLITE_EISDIR: return "key is a directory";
	case GOLITE_ENOTEMPTY: return "table is not empty";
	case GOLITE_ECONFLICT: return "conflict: what the transaction read has changed";
	default: return "unknown error";
	}
}

const char *golite_last_error(void)
{
	return last_error();
}

void golite_free(void *p)
{
	free(p);
}

void golite_thread_detach(void)
{
	rcu_thread_detach();
}

void golite_options_init(golite_options *o)
{
	memset(o, 0, sizeof(*o));
	o->create_if_missing = true;
	o->durability = GOLITE_PERIODIC;
	o->sync_interval_ms = 1000;
	o->wal_buffer_size = 4u << 20;
	o->wal_segment_size = 64u << 20;
	o->memtable_size = 64u << 20;
	o->memtable = GOLITE_MEMTABLE_LOCKFREE;
	o->block_cache_size = 64u << 20;
	o->sstable_size = 32u << 20;
	o->bloom_bits_per_key = 10;
	o->compression = GOLITE_COMPRESS_NONE;
	o->compaction_threads = 1;
	o->log_level = GOLITE_LOG_WARN;
	o->flush_on_close = true;
	o->feed_events = FEED_EVENTS_DEFAULT;
}


void db_log(struct golite *db, enum golite_log_level lvl, const char *fmt, ...)
{
	if (lvl > db->o.log_level)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (db->o.log) {
		db->o.log(db->o.log_ctx, lvl, msg);
		return;
	}
	static const char *const names[] = { "error", "warning", "info", "debug" };
	fprintf(stderr, "golite: %s: %s: %s\n", names[lvl], db->path, msg);
}

uint64_t db_counter_sum(struct golite *db, enum db_counter c)
{
	uint64_t s = 0;
	for (int i = 0; i < DB_SHARDS; i++)
		s += atomic_load_explicit(&db->shards[i].v[c], memory_order_relaxed);
	return s;
}

/* ---- argument checks, shared by every entry point ---- */

static inline int check_key(const void *key, size_t klen)
{
	if (unlikely(!key))
		return set_error(GOLITE_EINVAL, "key is NULL");
	if (unlikely(klen == 0 || klen > GOLITE_MAX_KEY_SIZE))
		return set_error(GOLITE_EKEYSIZE, "key of %zu bytes (1..%u allowed)", klen,
				 GOLITE_MAX_KEY_SIZE);
	return 0;
}

/* The checks of a write: an open, writable handle and a valid key; with
 * a value (value_too), a value of an allowed size. */
static int check_write(golite *db, const void *key, size_t klen, bool value_too,
		       const void *value, size_t vlen)
{
	int r = db_check_handle(db);
	if (!r)
		r = db_check_writable(db);
	if (!r)
		r = check_key(key, klen);
	if (r || !value_too)
		return r;
	if (unlikely(vlen > GOLITE_MAX_VALUE_SIZE))
		return set_error(GOLITE_EVALSIZE, "value of %zu bytes (at most %u allowed)", vlen,
				 GOLITE_MAX_VALUE_SIZE);
	if (unlikely(vlen && !value))
		return set_error(GOLITE_EINVAL, "value is NULL");
	return 0;
}

int db_table_id(struct golite *db, const char *table, uint32_t *id)
{
	return db_table_id_in(rcu_fetch(db->catalog), table, id);
}

int db_table_id_in(const struct catalog *c, const char *table, uint32_t *id)
{
	if (unlikely(!table))
		return set_error(GOLITE_EINVAL, "table name is NULL");
	size_t len = strnlen(table, GOLITE_MAX_TABLE_NAME + 1);
	if (likely(catalog_lookup(c, table, len, id)))
		return 0;
	size_t l;
	int r = catalog_check_name(table, &l);
	if (r)
		return r;
	return set_error(GOLITE_ENOTABLE, "no table named \"%s\"", table);
}

/* ---- the write path ---- */

struct write_ctx {
	struct golite *db;
	uint32_t count;
	uint64_t first_seq;
	struct memtable *mem;
	struct db_slot *slot;
	const struct db_cond *cond;   /* NULL: unconditional */
};

static __thread unsigned tl_slot_hint;

/* Runs under the log lock (db.h invariants 1, 2 and 4). */
static void assign_seq(void *arg, uint8_t trailer[8])
{
	struct write_ctx *c = arg;
	struct golite *db = c->db;
	uint64_t last = atomic_load_explicit(&db->last_seq, memory_order_relaxed);
	c->first_seq = last + 1;
	put_le64(trailer, c->first_seq);
	c->mem = db->mem;

	if (unlikely(!tl_slot_hint)) {
		static _Atomic unsigned next_hint;
		tl_slot_hint = atomic_fetch_add(&next_hint, 1) % DB_INFLIGHT + 1;
	}
	for (unsigned i = tl_slot_hint - 1;; i = (i + 1) % DB_INFLIGHT) {
		struct db_slot *s = &db->inflight[i];
		if (atomic_load_explicit(&s->seq, memory_order_relaxed) == 0) {
			atomic_store_explicit(&s->seq, c->first_seq, memory_order_relaxed);
			c->slot = s;
			break;
		}
	}
	/* The slot is visible before last_seq includes the write. */
	atomic_store_explicit(&db->last_seq, last + c->count, memory_order_release);
}

void db_wait_writes(struct golite *db, uint64_t snap)
{
	for (int i = 0; i < DB_INFLIGHT; i++) {
		struct db_slot *s = &db->inflight[i];
		for (int spins = 0;; spins++) {
			uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
			if (seq == 0 || seq > snap)
				break;
			if (spins < 128)
				__builtin_ia32_pause();
			else
				sched_yield();
		}
	}
}

static inline void note_vlen(struct memtable *m, size_t vlen)
{
	if (vlen > atomic_load_explicit(&m->max_vlen, memory_order_relaxed))
		atomic_store_explicit(&m->max_vlen, vlen, memory_order_relaxed);
}

/*
 * Adding a batch to a memtable. An entry that the next entry of the same
 * batch names again (same table and key) is overwritten before anyone can
 * see it: a batch is published whole, at its last sequence number
 * (assign_seq advances last_seq past all of it at once, and every read
 * and snapshot is at a published number), so no read, snapshot or
 * iterator stands between the two. It is logged, as the batch is, but
 * not inserted; its bytes count toward the memtable's size
 * (memtable.shadowed). Only neighbours are compared, which costs a length
 * test per entry; that catches MSET k v1 k v2 and the pipelined SETs of
 * one hot key that the network front ends join into one batch.
 */
struct add_ctx {
	struct memtable *m;
	bool held;                 /* an entry waits to see its successor */
	uint64_t seq;
	unsigned kind;
	const uint8_t *ikey, *value;
	size_t iklen, vlen;
};

static void add_held(struct add_ctx *a)
{
	struct memtable *m = a->m;
	m->ops->add(m, a->ikey, a->iklen, hash64(a->ikey, a->iklen), a->seq, a->kind, a->value,
		    a->vlen);
	note_vlen(m, a->vlen);
}

static int add_entry(void *arg, uint64_t seq, unsigned kind, const uint8_t *ikey, size_t iklen,
		     const uint8_t *value, size_t vlen)
{
	struct add_ctx *a = arg;
	if (a->held) {
		/* keys of a batch most often differ at their ends: look there
		 * first */
		if (a->iklen != iklen || a->ikey[iklen - 1] != ikey[iklen - 1] ||
		    memcmp(a->ikey, ikey, iklen) != 0)
			add_held(a);
		else
			atomic_fetch_add_explicit(&a->m->shadowed, a->iklen + a->vlen + 32,
						  memory_order_relaxed);
	}
	a->held = true;
	a->seq = seq;
	a->kind = kind;
	a->ikey = ikey;
	a->iklen = iklen;
	a->value = value;
	a->vlen = vlen;
	return 0;
}

int db_add_batch(struct memtable *m, const uint8_t *payload, size_t len)
{
	struct add_ctx a = { .m = m };
	int r = rep_iterate(payload, len, add_entry, &a, NULL, NULL);
	if (r == 0 && a.held)
		add_held(&a);
	return r;
}

/*
 * Commits a finished payload: log, memtable, publish, and in sync mode the
 * wait for the disk. On error nothing was applied.
 */
/* A write of one key, inserted without parsing its encoded payload. */
struct single {
	const uint8_t *ikey;
	size_t iklen;
	unsigned kind;
	const void *value;
	size_t vlen;
};

static bool lookup_memtables(struct golite *db, const uint8_t *ikey, size_t iklen,
			     uint64_t hash, uint64_t snap, struct mt_entry *e);

/*
 * A conditional write's check, with the log lock held (no sequence can be
 * assigned meanwhile): waits for the writes under way to reach their
 * memtable (invariant 2), then the condition holds if no source changed
 * since the caller read src_gen (so no version left the memtables) and no
 * memtable holds a version of the key newer than the one the caller read.
 */
static int check_cond(void *arg)
{
	struct write_ctx *c = arg;
	struct golite *db = c->db;
	const struct db_cond *k = c->cond;
	db_wait_writes(db, atomic_load_explicit(&db->last_seq, memory_order_relaxed));
	if (atomic_load_explicit(&db->src_gen, memory_order_acquire) != k->src_gen)
		return GOLITE_EBUSY;
	struct mt_entry e;
	rcu_read_lock();
	bool found = lookup_memtables(db, k->ikey, k->iklen, hash64(k->ikey, k->iklen), SEQ_MAX,
				      &e);
	rcu_read_unlock();
	return found && e.seq != k->seq ? GOLITE_EBUSY : 0;
}

static int commit(struct golite *db, struct rep *rep, const struct single *one, bool frees,
		  uint64_t *first_seq, const struct db_cond *cond)
{
	size_t len = rep_finish(rep);
	struct write_ctx c = { .db = db, .count = rep->count, .cond = cond };
	uint64_t lsn;
	int r = 0;
	/* A write that frees space goes ahead of the space checks and of
	 * writers held back for compaction (space.h). */
	if (!frees) {
		if (unlikely(atomic_load_explicit(&db->space.state, memory_order_relaxed) !=
			     SPACE_NORMAL)) {
			r = space_refused(db);
			if (r)
				return r;
		}
		r = bg_throttle(db);
		if (r)
			return r;
	}
	r = wal_append_if(db->wal, rep->buf, len, frees, cond ? check_cond : NULL, assign_seq, &c,
			  &lsn);
	if (r == GOLITE_EBUSY && cond)
		return r;
	if (r) {
		if (r == GOLITE_EFAILED || r == GOLITE_EIO)
			atomic_store(&db->failed, 1);
		return r;
	}
	if (one) {
		c.mem->ops->add(c.mem, one->ikey, one->iklen, hash64(one->ikey, one->iklen),
				c.first_seq, one->kind, one->value, one->vlen);
		note_vlen(c.mem, one->vlen);
	} else {
		put_le64(rep->buf + len - 8, c.first_seq);
		if (db_add_batch(c.mem, rep->buf, len))
			FATAL("a payload this process encoded does not parse");
	}
	atomic_store_explicit(&c.slot->seq, 0, memory_order_release);
	bg_note_write(db, c.mem);
	if (first_seq)
		*first_seq = c.first_seq;
	db_count(db, C_BYTES_WRITTEN, len);
	if (frees)
		space_note_frees(db, rep->buf, len, one ? one->ikey : NULL, one ? one->iklen : 0,
				 one ? one->kind : 0);
	if (db->o.durability == GOLITE_SYNC)
		r = wal_sync_to(db->wal, lsn);
	return r;
}

int db_commit_batch(struct golite *db, struct rep *rep, bool frees, uint64_t *first_seq)
{
	return commit(db, rep, NULL, frees, first_seq, NULL);
}

int db_commit_if(struct golite *db, struct rep *rep, bool frees, const struct db_cond *cond)
{
	return commit(db, rep, NULL, frees, NULL, cond);
}

/* A per-thread payload buffer, so single writes allocate nothing. */
static __thread struct rep tl_rep;
/* Per-thread copy of a file record found by a read, so that it can be
 * interpreted (chunks read) outside the RCU read-side section. */
static __thread struct rep tl_rec;

/* Frees the calling thread's buffers (at thread exit, rcu.c). */
void db_free_thread_buffers(void)
{
	rep_free(&tl_rep);
	rep_free(&tl_rec);
}

static void tl_rep_trim(void)
{
	if (tl_rep.cap > (1u << 20))
		rep_free(&tl_rep);
}

static int write_id(struct golite *db, uint32_t id, unsigned kind, const void *key,
		    size_t klen, const void *value, size_t vlen)
{
	uint8_t ikey[IKEY_MAX];
	size_t iklen = ikey_make(ikey, id, key, klen);
	rep_reset(&tl_rep);
	rep_add(&tl_rep, kind, ikey, iklen, value, vlen);
	struct single one = { ikey, iklen, kind, value, vlen };
	int r = commit(db, &tl_rep, &one, kind == KIND_DELETE, NULL, NULL);
	tl_rep_trim();
	return r;
}

static int write_one(struct golite *db, const char *table, unsigned kind, const void *key,
		     size_t klen, const void *value, size_t vlen)
{
	uint32_t id;
	rcu_read_lock();
	int r = db_table_id(db, table, &id);
	rcu_read_unlock();
	if (r)
		return r;
	return write_id(db, id, kind, key, klen, value, vlen);
}

int golite_put(golite *db, const char *table, const void *key, size_t klen, const void *value,
	       size_t vlen)
{
	int r = check_write(db, key, klen, true, value, vlen);
	if (r)
		return r;
	r = write_one(db, table, KIND_VALUE, key, klen, value, vlen);
	if (!r)
		db_count(db, C_PUTS, 1);
	return r;
}

int golite_delete(golite *db, const char *table, const void *key, size_t klen)
{
	int r = check_write(db, key, klen, false, NULL, 0);
	if (r)
		return r;
	r = write_one(db, table, KIND_DELETE, key, klen, NULL, 0);
	if (!r)
		db_count(db, C_DELETES, 1);
	return r;
}

struct batch_encode {
	struct golite *db;
	struct rep *rep;
	const char *last_table;
	size_t last_len;
	uint32_t last_id;
	uint64_t expires_min;   /* earliest expiry among its puts, 0 if none */
};

/* Adds one operation of a batch: an expiring one with its index entry. */
static void encode_add(struct batch_encode *e, unsigned kind, const uint8_t *ikey, size_t iklen,
		       const uint8_t *value, size_t vlen)
{
	rep_add(e->rep, kind, ikey, iklen, value, vlen);
	if (kind & KIND_EXPIRES) {
		uint64_t at = get_le64(value);
		expire_index_add(e->rep, at, ikey, iklen);
		if (!e->expires_min || at < e->expires_min)
			e->expires_min = at;
	}
}

static int encode_op(void *arg, unsigned kind, const char *table, size_t tlen,
		     uint32_t table_id, const uint8_t *key, size_t klen, const uint8_t *value,
		     size_t vlen)
{
	struct batch_encode *e = arg;
	if (!table) {
		uint8_t ikey[IKEY_MAX];
		size_t iklen = ikey_make(ikey, table_id, key, klen);
		encode_add(e, kind, ikey, iklen, value, vlen);
		return 0;
	}
	if (!e->last_table || e->last_len != tlen || memcmp(e->last_table, table, tlen) != 0) {
		char name[GOLITE_MAX_TABLE_NAME + 1];
		memcpy(name, table, tlen);
		name[tlen] = '\0';
		int r = db_table_id(e->db, name, &e->last_id);
		if (r)
			return r;
		e->last_table = table;
		e->last_len = tlen;
	}
	uint8_t ikey[IKEY_MAX];
	size_t iklen = ikey_make(ikey, e->last_id, key, klen);
	encode_add(e, kind, ikey, iklen, value, vlen);
	return 0;
}

int golite_write(golite *db, const golite_batch *b)
{
	int r = db_check_handle(db);
	if (!r)
		r = db_check_writable(db);
	if (r)
		return r;
	if (!b)
		return set_error(GOLITE_EINVAL, "batch is NULL");
	size_t n = golite_batch_count(b);
	if (n == 0)
		return 0;
	size_t put_bytes;
	bool frees = batch_frees_space(b, &put_bytes);
	if (frees && put_bytes > GOLITE_FREES_SPACE_MAX_PUT)
		return set_error(GOLITE_EINVAL,
				 "a batch that frees space puts %zu bytes (at most %u allowed)",
				 put_bytes, GOLITE_FREES_SPACE_MAX_PUT);
	struct rep *rp = &tl_rep;
	rep_reset(rp);
	struct batch_encode e = { .db = db, .rep = rp };
	rcu_read_lock();
	r = batch_ops(b, encode_op, &e);
	rcu_read_unlock();
	if (!r)
		r = commit(db, rp, NULL, frees, NULL, NULL);
	tl_rep_trim();
	if (!r && e.expires_min)
		expire_note(db, e.expires_min);
	if (!r) {
		db_count(db, C_BATCHES, 1);
		db_count(db, C_BATCH_ENTRIES, n);
	}
	return r;
}

int golite_sync(golite *db)
{
	int r = db_check_handle(db);
	if (r)
		return r;
	if (db->o.read_only)
		return 0;
	r = wal_sync(db->wal);
	if (r)
		atomic_store(&db->failed, 1);
	return r;
}

/* ---- the read path ---- */

/*
 * Finds the newest version of ikey with seq <= snap in memory. Inside an
 * RCU read-side section. Returns true with *e filled if a version (maybe a
 * tombstone) was found.
 */
static bool lookup_memtables(struct golite *db, const uint8_t *ikey, size_t iklen,
			     uint64_t hash, uint64_t snap, struct mt_entry *e)
{
	/* A memtable whose filter rules the key out (an empty one always
	 * does) answers without touching its index. */
	struct memtable *m = rcu_fetch(db->mem);
	if (memtable_may_contain(m, hash) && m->ops->get(m, ikey, iklen, hash, snap, e))
		return true;
	for (m = rcu_fetch(db->imm); m; m = rcu_fetch(m->next))
		if (memtable_may_contain(m, hash) && m->ops->get(m, ikey, iklen, hash, snap, e))
			return true;
	return false;
}


int db_newest_entry(struct golite *db, const uint8_t *ikey, size_t iklen, struct db_newest *n,
		    bool copy)
{
	uint64_t hash = hash64(ikey, iklen);
	struct mt_entry e;
	int r = 1;
	memset(n, 0, sizeof(*n));
	rcu_read_lock();
	if (!lookup_memtables(db, ikey, iklen, hash, SEQ_MAX, &e))
		r = bg_get(db, ikey, iklen, hash, SEQ_MAX, &e);
	if (r == 1) {
		n->seq = e.seq;
		n->kind = e.kind;
		if (e.kind & KIND_SEPARATE) {
			n->kind = kind_base(e.kind);
			n->separated = true;
			int d = vptr_decode(e.value, e.vlen, &n->ptr);
			if (d)
				r = d;
		} else if ((e.kind & KIND_EXPIRES) && e.vlen < EXPIRES_PREFIX) {
			r = set_error(GOLITE_ECORRUPT, "an expiring entry of %zu bytes", e.vlen);
		} else if (e.kind & KIND_EXPIRES) {
			n->expires = get_le64(e.value);
		}
		if (r == 1 && copy && n->separated) {
			n->value = xmalloc(n->ptr.len);
			n->vlen = n->ptr.len;
			int d = vlog_read(db, &n->ptr, n->value);
			if (d) {
				free(n->value);
				n->value = NULL;
				r = d;
			}
		} else if (r == 1 && copy) {
			n->value = xmemdup(e.value, e.vlen ? e.vlen : 1);
			n->vlen = e.vlen;
		}
	}
	rcu_read_unlock();
	return r;
}

uint64_t db_newest_seq(struct golite *db, const uint8_t *ikey, size_t iklen)
{
	struct db_newest n;
	return db_newest_entry(db, ikey, iklen, &n, false) == 1 ? n.seq : 0;
}

/*
 * The common lookup of every read: the newest record of (id, key) at
 * snapshot snap (NULL: now). raw: return the record as stored, with *kind. Otherwise interpret file
 * records (file_read_value). With buf non-NULL copies the value there (if
 * it fits in cap); with alloc non-NULL returns a malloc()ed copy; with
 * neither only *vlen (and *kind) are set.
 */
static int lookup(struct golite *db, const golite_snapshot *snap, uint32_t id, const void *key,
		  size_t klen, bool raw, unsigned *kind, uint64_t *expires, void *buf, size_t cap,
		  void **alloc, size_t *vlen, struct vptr *defer)
{
	uint64_t seq = snap_read_seq(snap);
	uint8_t ikey[IKEY_MAX];
	size_t iklen = ikey_make(ikey, id, key, klen);
	uint64_t hash = hash64(ikey, iklen);
	struct mt_entry e;
	int r = 0;
	bool meta = false;
	rcu_read_lock();
	/* Start every filter line this lookup may read, so that their
	 * misses overlap. */
	memtable_prefetch(rcu_fetch(db->mem), hash);
	bg_prefetch(db, ikey, iklen, hash);
	if (!lookup_memtables(db, ikey, iklen, hash, seq, &e)) {
		r = bg_get(db, ikey, iklen, hash, seq, &e);
		if (r < 0)
			goto out_unlock;
		if (r == 0) {
			r = GOLITE_ENOTFOUND;
			goto out_unlock;
		}
		r = 0;
	}
	if (e.kind == KIND_DELETE) {
		r = GOLITE_ENOTFOUND;
		goto out_unlock;
	}
	if (expires)
		*expires = 0;
	if (e.kind & KIND_EXPIRES) {
		/* An expired entry reads as a tombstone (format.h). */
		if (unlikely(e.vlen < EXPIRES_PREFIX)) {
			r = set_error(GOLITE_ECORRUPT, "an expiring entry of %zu bytes", e.vlen);
			goto out_unlock;
		}
		uint64_t at = get_le64(e.value);
		if (at <= db_read_clock_ms(db, snap)) {
			r = GOLITE_ENOTFOUND;
			goto out_unlock;
		}
		if (expires)
			*expires = at;
		e.kind = kind_base(e.kind);
		e.value = (const uint8_t *)e.value + EXPIRES_PREFIX;
		e.vlen -= EXPIRES_PREFIX;
	}
	if (e.kind & KIND_SEPARATE) {
		/* Read inside the section that found the pointer (vlog.h
		 * invariant 2). */
		struct vptr p;
		r = vptr_decode(e.value, e.vlen, &p);
		if (r)
			goto out_unlock;
		if (kind)
			*kind = KIND_VALUE;
		*vlen = p.len;
		if (defer) {
			*defer = p;
			r = 1;   /* separated: the caller reads it */
		} else if (alloc) {
			*alloc = xmalloc(p.len);
			r = vlog_read(db, &p, *alloc);
			if (r) {
				free(*alloc);
				*alloc = NULL;
			}
		} else if (buf) {
			r = p.len > cap ? GOLITE_ERANGE : vlog_read(db, &p, buf);
		}
		goto out_unlock;
	}
	if (kind)
		*kind = e.kind;
	if (e.kind == KIND_META && !raw) {
		meta = true;
		rep_reset(&tl_rec);
		tl_rec.len = 0;
		if (e.vlen > tl_rec.cap) {
			tl_rec.buf = xrealloc(tl_rec.buf, e.vlen);
			tl_rec.cap = e.vlen;
		}
		memcpy(tl_rec.buf, e.value, e.vlen);
		tl_rec.len = e.vlen;
		goto out_unlock;
	}
	*vlen = e.vlen;
	if (alloc) {
		*alloc = xmemdup(e.value, e.vlen);
	} else if (buf) {
		if (e.vlen > cap)
			r = GOLITE_ERANGE;
		else if (e.vlen)
			memcpy(buf, e.value, e.vlen);
	}
out_unlock:
	rcu_read_unlock();
	db_count(db, C_GETS, 1);
	if (meta) {
		r = file_read_value(db, snap, tl_rec.buf, tl_rec.len, buf, cap, alloc, vlen);
		if (tl_rec.cap > (1u << 20))
			rep_free(&tl_rec);
		return r;
	}
	if (r == GOLITE_ENOTFOUND)
		set_error(r, "key not found");
	else if (r == GOLITE_ERANGE)
		set_error(r, "value of %zu bytes does not fit a buffer of %zu", *vlen, cap);
	return r;
}

static int get_common(struct golite *db, const golite_snapshot *snap, const char *table,
		      const void *key, size_t klen, void *buf, size_t cap, void **alloc,
		      size_t *vlen)
{
	int r = db_check_handle(db);
	if (!r)
		r = check_key(key, klen);
	if (r)
		return r;
	uint32_t id;
	rcu_read_lock();
	r = db_table_id_in(snap_catalog(db, snap), table, &id);
	rcu_read_unlock();
	if (r)
		return r;
	return lookup(db, snap, id, key, klen, false, NULL, NULL, buf, cap, alloc, vlen, NULL);
}

int golite_get(golite *db, const char *table, const void *key, size_t klen, void **value,
	       size_t *vlen)
{
	if (!value || !vlen)
		return set_error(GOLITE_EINVAL, "value or vlen is NULL");
	*value = NULL;
	*vlen = 0;
	return get_common(db, NULL, table, key, klen, NULL, 0, value, vlen);
}

int golite_get_at(golite *db, const golite_snapshot *snap, const char *table, const void *key,
		  size_t klen, void **value, size_t *vlen)
{
	if (!value || !vlen)
		return set_error(GOLITE_EINVAL, "value or vlen is NULL");
	*value = NULL;
	*vlen = 0;
	return get_common(db, snap, table, key, klen, NULL, 0, value, vlen);
}

int golite_get_into(golite *db, const char *table, const void *key, size_t klen, void *buf,
		    size_t cap, size_t *vlen)
{
	if (!vlen || (!buf && cap))
		return set_error(GOLITE_EINVAL, "vlen or buf is NULL");
	*vlen = 0;
	return get_common(db, NULL, table, key, klen, buf ? buf : (void *)"", cap, NULL, vlen);
}

bool golite_exists(golite *db, const char *table, const void *key, size_t klen)
{
	size_t vlen;
	int r = db_check_handle(db);
	if (!r)
		r = check_key(key, klen);
	uint32_t id;
	if (!r) {
		rcu_read_lock();
		r = db_table_id(db, table, &id);
		rcu_read_unlock();
	}
	return !r && lookup(db, NULL, id, key, klen, true, NULL, NULL, NULL, 0, NULL, &vlen, NULL) == 0;
}

/* ---- raw access (golite_raw.h) ---- */

int golite_table_id(golite *db, const char *name, uint32_t *id)
{
	return golite_table_id_at(db, NULL, name, id);
}

int golite_table_id_at(golite *db, const golite_snapshot *snap, const char *name, uint32_t *id)
{
	int r = db_check_handle(db);
	if (r)
		return r;
	if (!id)
		return set_error(GOLITE_EINVAL, "id is NULL");
	rcu_read_lock();
	r = db_table_id_in(snap_catalog(db, snap), name, id);
	rcu_read_unlock();
	return r;
}

int golite_table_name(golite *db, uint32_t id, char *buf, size_t cap)
{
	return golite_table_name_at(db, NULL, id, buf, cap);
}

int golite_table_name_at(golite *db, const golite_snapshot *snap, uint32_t id, char *buf,
			 size_t cap)
{
	int r = db_check_handle(db);
	if (r)
		return r;
	if (!buf)
		return set_error(GOLITE_EINVAL, "buf is NULL");
	r = GOLITE_ENOTABLE;
	uint32_t len = 0;
	rcu_read_lock();
	const struct catalog *c = snap_catalog(db, snap);
	for (size_t i = 0; i < c->count; i++) {
		if (c->entries[i].id != id)
			continue;
		len = c->entries[i].len;
		if (len < cap) {
			memcpy(buf, c->entries[i].name, len);
			buf[len] = '\0';
			r = 0;
		} else {
			r = GOLITE_ERANGE;
		}
		break;
	}
	rcu_read_unlock();
	if (r == GOLITE_ENOTABLE)
		return set_error(r, "no table has id %u", id);
	if (r == GOLITE_ERANGE)
		return set_error(r, "table name of %u bytes", len);
	return 0;
}

int golite_get_raw(golite *db, uint32_t table_id, const void *key, size_t klen,
		   unsigned *kind, void *buf, size_t cap, void **alloc, size_t *vlen)
{
	return golite_get_raw_at(db, NULL, table_id, key, klen, kind, buf, cap, alloc, vlen);
}

int golite_get_raw_at(golite *db, const golite_snapshot *snap, uint32_t table_id,
		      const void *key, size_t klen, unsigned *kind, void *buf, size_t cap,
		      void **alloc, size_t *vlen)
{
	return golite_get_raw_ex(db, snap, table_id, key, klen, kind, NULL, buf, cap, alloc, vlen);
}

int golite_get_raw_ex(golite *db, const golite_snapshot *snap, uint32_t table_id,
		      const void *key, size_t klen, unsigned *kind, uint64_t *expires, void *buf,
		      size_t cap, void **alloc, size_t *vlen)
{
	int r = db_check_handle(db);
	if (!r)
		r = check_key(key, klen);
	if (r)
		return r;
	if (!vlen || !kind)
		return set_error(GOLITE_EINVAL, "kind or vlen is NULL");
	if (alloc)
		*alloc = NULL;
	*vlen = 0;
	return lookup(db, snap, table_id, key, klen, true, kind, expires, buf, cap, alloc, vlen, NULL);
}

int db_chunk_lookup(struct golite *db, const golite_snapshot *snap, const void *key, size_t klen,
		    void *buf, size_t cap, size_t *vlen, struct vptr *p)
{
	int r = db_check_handle(db);
	if (r)
		return r;
	unsigned kind;
	*vlen = 0;
	return lookup(db, snap, TABLE_ID_CHUNKS, key, klen, true, &kind, NULL, buf, cap, NULL, vlen,
		      p);
}

int golite_put_raw(golite *db, uint32_t table_id, unsigned kind, const void *key, size_t klen,
		   const void *value, size_t vlen)
{
	int r = check_write(db, key, klen, true, value, vlen);
	if (r)
		return r;
	if (kind != KIND_VALUE && kind != KIND_META)
		return set_error(GOLITE_EINVAL, "record kind %u cannot be put", kind);
	r = write_id(db, table_id, kind, key, klen, value, vlen);
	if (!r)
		db_count(db, C_PUTS, 1);
	return r;
}

uint64_t golite_last_sequence(golite *db)
{
	return atomic_load_explicit(&db->last_seq, memory_order_acquire);
}

/* ---- figures ---- */

int golite_stats_get(golite *db, golite_stats *s)
{
	int r = db_check_handle(db);
	if (r)
		return r;
	if (!s)
		return set_error(GOLITE_EINVAL, "stats is NULL");
	memset(s, 0, sizeof(*s));
	s->puts = db_counter_sum(db, C_PUTS);
	s->gets = db_counter_sum(db, C_GETS);
	s->deletes = db_counter_sum(db, C_DELETES);
	s->batches = db_counter_sum(db, C_BATCHES);
	s->last_sequence = atomic_load(&db->last_seq);
	if (db->wal) {
		struct wal_stats ws;
		wal_get_stats(db->wal, &ws);
		s->wal_bytes = ws.bytes;
		s->wal_syncs = ws.syncs;
		s->wal_group_commits = ws.group_commits;
		s->wal_records = ws.records;
		s->wal_writes = ws.writes;
		s->wal_group_p50 = hist_quantile(ws.group_hist, 0.50, ws.max_group);
		s->wal_group_p99 = hist_quantile(ws.group_hist, 0.99, ws.max_group);
		s->wal_group_max = ws.max_group;
	}
	s->memtable_limit = db->o.memtable_size;
	bg_figures(db, s);
	rcu_read_lock();
	struct memtable *mem = rcu_fetch(db->mem);
	s->memtable_bytes = mem->ops->memory(mem);
	s->memtable_entries = atomic_load(&mem->entries);
	for (struct memtable *m = rcu_fetch(db->imm); m; m = rcu_fetch(m->next)) {
		s->memtable_bytes += m->ops->memory(m);
		s->memtable_entries += atomic_load(&m->entries);
	}
	struct version *v = rcu_fetch(db->current);
	for (int l = 0; l < NUM_LEVELS; l++) {
		s->sstable_count += v->n[l];
		s->sstable_bytes += v->bytes[l];
	}
	rcu_read_unlock();
	s->block_cache_bytes = db->cache ? block_cache_used(db->cache) : 0;
	s->stall_micros = atomic_load(&db->stall_micros);
	s->failed = atomic_load(&db->failed) != 0;
	space_figures(db, s);
	snap_figures(db, &s->snapshots, &s->snapshot_oldest_sequence);
	s->snapshot_kept_versions = atomic_load(&db->snap_kept_versions);
	s->snapshot_kept_bytes = atomic_load(&db->snap_kept_bytes);
	s->expired_keys = atomic_load(&db->expirer.expired);
	s->expiry_next_ms = atomic_load(&db->expirer.next_ms);
	vlog_figures(db, s);
	return 0;
}

int golite_stats_text(golite *db, char **text)
{
	golite_stats s;
	int r = golite_stats_get(db, &s);
	if (r)
		return r;
	if (!text)
		return set_error(GOLITE_EINVAL, "text is NULL");
	struct wal_stats ws = { 0 };
	if (db->wal)
		wal_get_stats(db->wal, &ws);
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		FATAL("open_memstream");
	fprintf(f, "uptime_seconds %.3f\n", (double)(now_ns() - db->open_ns) / 1e9);
	fprintf(f, "durability %s\n",
		db->o.durability == GOLITE_SYNC ? "sync"
		: db->o.durability == GOLITE_NONE ? "none" : "periodic");
	fprintf(f, "memtable_kind %s\n", db->mt_ops->name);
	fprintf(f, "puts %llu\n", (unsigned long long)s.puts);
	fprintf(f, "gets %llu\n", (unsigned long long)s.gets);
	fprintf(f, "deletes %llu\n", (unsigned long long)s.deletes);
	fprintf(f, "batches %llu\n", (unsigned long long)s.batches);
	fprintf(f, "batch_entries %llu\n",
		(unsigned long long)db_counter_sum(db, C_BATCH_ENTRIES));
	fprintf(f, "iterators %llu\n", (unsigned long long)db_counter_sum(db, C_ITERS));
	fprintf(f, "last_sequence %llu\n", (unsigned long long)s.last_sequence);
	fprintf(f, "wal_records %llu\n", (unsigned long long)ws.records);
	fprintf(f, "wal_bytes %llu\n", (unsigned long long)ws.bytes);
	fprintf(f, "wal_writes %llu\n", (unsigned long long)ws.writes);
	fprintf(f, "wal_syncs %llu\n", (unsigned long long)ws.syncs);
	fprintf(f, "wal_group_commits %llu\n", (unsigned long long)ws.group_commits);
	fprintf(f, "wal_max_group %llu\n", (unsigned long long)ws.max_group);
	uint64_t grouped = 0;
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		grouped += ws.group_hist[b];
	fprintf(f, "wal_group_mean %.2f\n", grouped ? (double)ws.records_written / (double)grouped : 0.0);
	fprintf(f, "wal_group_p50 %llu\n", (unsigned long long)s.wal_group_p50);
	fprintf(f, "wal_group_p90 %llu\n",
		(unsigned long long)hist_quantile(ws.group_hist, 0.90, ws.max_group));
	fprintf(f, "wal_group_p99 %llu\n", (unsigned long long)s.wal_group_p99);
	fprintf(f, "wal_segment %llu\n", (unsigned long long)ws.segno);
	fprintf(f, "wal_unsynced_bytes %llu\n",
		(unsigned long long)(ws.appended_lsn - ws.durable_lsn));
	fprintf(f, "memtable_bytes %llu\n", (unsigned long long)s.memtable_bytes);
	fprintf(f, "memtable_entries %llu\n", (unsigned long long)s.memtable_entries);
	fprintf(f, "memtable_limit_bytes %llu\n", (unsigned long long)s.memtable_limit);
	fprintf(f, "recovery_records %llu\n", (unsigned long long)db->replay.records);
	bg_stats(db, f);
	space_stats(db, f);
	fprintf(f, "snapshots %llu\n", (unsigned long long)s.snapshots);
	fprintf(f, "snapshot_oldest_sequence %llu\n",
		(unsigned long long)s.snapshot_oldest_sequence);
	fprintf(f, "snapshot_kept_versions %llu\n", (unsigned long long)s.snapshot_kept_versions);
	fprintf(f, "snapshot_kept_bytes %llu\n", (unsigned long long)s.snapshot_kept_bytes);
	fprintf(f, "expired_keys %llu\n", (unsigned long long)s.expired_keys);
	fprintf(f, "expiry_next_ms %llu\n", (unsigned long long)s.expiry_next_ms);
	fprintf(f, "values_separated %llu\n", (unsigned long long)s.values_separated);
	fprintf(f, "value_files %llu\n", (unsigned long long)s.value_files);
	fprintf(f, "value_file_bytes %llu\n", (unsigned long long)s.value_file_bytes);
	fprintf(f, "value_live_bytes %llu\n", (unsigned long long)s.value_live_bytes);
	fprintf(f, "value_gc_passes %llu\n", (unsigned long long)s.value_gc_passes);
	fprintf(f, "value_gc_rewritten_files %llu\n",
		(unsigned long long)s.value_gc_rewritten_files);
	fprintf(f, "value_gc_rewritten_bytes %llu\n",
		(unsigned long long)s.value_gc_rewritten_bytes);
	fprintf(f, "value_gc_deleted_files %llu\n", (unsigned long long)s.value_gc_deleted_files);
	fprintf(f, "failed %d\n", s.failed ? 1 : 0);
	fclose(f);
	*text = buf;
	return 0;
}
