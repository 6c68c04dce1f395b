/*
 * db.c — the store: open and recovery, the write and read paths, tables,
 * figures and close. The data flow and invariants are in db.h.
 *
 * Files in a data directory (their names are in filename.h):
 *
 *     STORE          marker (text); a directory without it is not a store.
 *                    Written at creation after an empty MANIFEST, so every
 *                    store has a MANIFEST.
 *     LOCK           flock()ed by the process that has the store open; holds
 *                    its pid as text, to name the holder in errors
 *     NNNNNNNN.wal   log segments (wal.c)
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
#include "filename.h"
#include "format.h"
#include "hist.h"
#include "io.h"
#include "iter.h"
#include "raw.h"
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
}

static int check_options(const golite_options *o)
{
	if (o->durability > GOLITE_NONE)
		return set_error(GOLITE_EINVAL, "unknown durability mode %d", o->durability);
	if (o->sync_interval_ms < 1 || o->sync_interval_ms > 60000)
		return set_error(GOLITE_EINVAL, "sync_interval_ms %u outside 1..60000",
				 o->sync_interval_ms);
	if (o->memtable > GOLITE_MEMTABLE_LOCKED)
		return set_error(GOLITE_EINVAL, "unknown memtable kind %d", o->memtable);
	if (o->compression > GOLITE_COMPRESS_ZSTD)
		return set_error(GOLITE_EINVAL, "unknown compression %d", o->compression);
	if (o->memtable_size < (64u << 10))
		return set_error(GOLITE_EINVAL, "memtable_size below 64 KiB");
	if (o->wal_buffer_size < (64u << 10))
		return set_error(GOLITE_EINVAL, "wal_buffer_size below 64 KiB");
	if (o->wal_segment_size < (1u << 20))
		return set_error(GOLITE_EINVAL, "wal_segment_size below 1 MiB");
	if (o->max_size && o->max_size < (16u << 20))
		return set_error(GOLITE_EINVAL, "max_size below 16 MiB");
	if (o->space_reserve && o->space_reserve < (1u << 20))
		return set_error(GOLITE_EINVAL, "space_reserve below 1 MiB");
	return 0;
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

static inline int check_db(struct golite *db)
{
	if (unlikely(!db))
		return set_error(GOLITE_EINVAL, "store handle is NULL");
	if (unlikely(atomic_load_explicit(&db->closing, memory_order_relaxed)))
		return set_error(GOLITE_ECLOSED, "the store is closed");
	rcu_thread_ensure();
	return 0;
}

static inline int check_writable(struct golite *db)
{
	if (unlikely(db->o.read_only))
		return set_error(GOLITE_EROFS, "the store was opened read-only");
	if (unlikely(atomic_load_explicit(&db->failed, memory_order_relaxed)))
		return set_error(GOLITE_EFAILED,
				 "the store refuses writes after an I/O error; see the log");
	return 0;
}

static inline int check_key(const void *key, size_t klen)
{
	if (unlikely(!key))
		return set_error(GOLITE_EINVAL, "key is NULL");
	if (unlikely(klen == 0 || klen > GOLITE_MAX_KEY_SIZE))
		return set_error(GOLITE_EKEYSIZE, "key of %zu bytes (1..%u allowed)", klen,
				 GOLITE_MAX_KEY_SIZE);
	return 0;
}

int db_table_id(struct golite *db, const char *table, uint32_t *id)
{
	if (unlikely(!table))
		return set_error(GOLITE_EINVAL, "table name is NULL");
	size_t len = strnlen(table, GOLITE_MAX_TABLE_NAME + 1);
	struct catalog *c = rcu_fetch(db->catalog);
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

struct add_ctx {
	struct memtable *mem;
};

static int add_entry(void *arg, uint64_t seq, unsigned kind, const uint8_t *ikey, size_t iklen,
		     const uint8_t *value, size_t vlen)
{
	struct add_ctx *a = arg;
	a->mem->ops->add(a->mem, ikey, iklen, hash64(ikey, iklen), seq, kind, value, vlen);
	return 0;
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

static int commit(struct golite *db, struct rep *rep, const struct single *one, bool frees,
		  uint64_t *first_seq)
{
	size_t len = rep_finish(rep);
	struct write_ctx c = { .db = db, .count = rep->count };
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
	r = wal_append(db->wal, rep->buf, len, frees, assign_seq, &c, &lsn);
	if (r) {
		if (r == GOLITE_EFAILED || r == GOLITE_EIO)
			atomic_store(&db->failed, 1);
		return r;
	}
	if (one) {
		c.mem->ops->add(c.mem, one->ikey, one->iklen, hash64(one->ikey, one->iklen),
				c.first_seq, one->kind, one->value, one->vlen);
	} else {
		put_le64(rep->buf + len - 8, c.first_seq);
		struct add_ctx a = { c.mem };
		if (rep_iterate(rep->buf, len, add_entry, &a, NULL, NULL))
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

/* A per-thread payload buffer, so single writes allocate nothing. */
static __thread struct rep tl_rep;
/* Per-thread copy of a file record found by a read, so that it can be
 * interpreted (chunks read) outside the RCU read-side section. */
static __thread struct rep tl_rec;

/* Frees the calling thread's buffers (at thread exit, rcu.c). */
static void free_thread_buffers(void)
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
	int r = commit(db, &tl_rep, &one, kind == KIND_DELETE, NULL);
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
	int r = check_db(db);
	if (!r)
		r = check_writable(db);
	if (!r)
		r = check_key(key, klen);
	if (r)
		return r;
	if (unlikely(vlen > GOLITE_MAX_VALUE_SIZE))
		return set_error(GOLITE_EVALSIZE, "value of %zu bytes (at most %u allowed)", vlen,
				 GOLITE_MAX_VALUE_SIZE);
	if (unlikely(vlen && !value))
		return set_error(GOLITE_EINVAL, "value is NULL");
	r = write_one(db, table, KIND_VALUE, key, klen, value, vlen);
	if (!r)
		db_count(db, C_PUTS, 1);
	return r;
}

int golite_delete(golite *db, const char *table, const void *key, size_t klen)
{
	int r = check_db(db);
	if (!r)
		r = check_writable(db);
	if (!r)
		r = check_key(key, klen);
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
};

static int encode_op(void *arg, unsigned kind, const char *table, size_t tlen,
		     uint32_t table_id, const uint8_t *key, size_t klen, const uint8_t *value,
		     size_t vlen)
{
	struct batch_encode *e = arg;
	if (!table) {
		uint8_t ikey[IKEY_MAX];
		size_t iklen = ikey_make(ikey, table_id, key, klen);
		rep_add(e->rep, kind, ikey, iklen, value, vlen);
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
	rep_add(e->rep, kind, ikey, iklen, value, vlen);
	return 0;
}

int golite_write(golite *db, const golite_batch *b)
{
	int r = check_db(db);
	if (!r)
		r = check_writable(db);
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
		r = commit(db, rp, NULL, frees, NULL);
	tl_rep_trim();
	if (!r) {
		db_count(db, C_BATCHES, 1);
		db_count(db, C_BATCH_ENTRIES, n);
	}
	return r;
}

int golite_sync(golite *db)
{
	int r = check_db(db);
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


uint64_t db_newest_seq(struct golite *db, const uint8_t *ikey, size_t iklen)
{
	uint64_t hash = hash64(ikey, iklen);
	struct mt_entry e;
	uint64_t seq = 0;
	rcu_read_lock();
	if (lookup_memtables(db, ikey, iklen, hash, SEQ_MAX, &e) ||
	    bg_get(db, ikey, iklen, hash, &e) == 1)
		seq = e.seq;
	rcu_read_unlock();
	return seq;
}

/*
 * The common lookup of every read: the newest record of (id, key).
 * raw: return the record as stored, with *kind. Otherwise interpret file
 * records (vfile_read_value). With buf non-NULL copies the value there (if
 * it fits in cap); with alloc non-NULL returns a malloc()ed copy; with
 * neither only *vlen (and *kind) are set.
 */
static int lookup(struct golite *db, uint32_t id, const void *key, size_t klen, bool raw,
		  unsigned *kind, void *buf, size_t cap, void **alloc, size_t *vlen)
{
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
	if (!lookup_memtables(db, ikey, iklen, hash, SEQ_MAX, &e)) {
		r = bg_get(db, ikey, iklen, hash, &e);
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
		r = vfile_read_value(db, tl_rec.buf, tl_rec.len, buf, cap, alloc, vlen);
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

static int get_common(struct golite *db, const char *table, const void *key, size_t klen,
		      void *buf, size_t cap, void **alloc, size_t *vlen)
{
	int r = check_db(db);
	if (!r)
		r = check_key(key, klen);
	if (r)
		return r;
	uint32_t id;
	rcu_read_lock();
	r = db_table_id(db, table, &id);
	rcu_read_unlock();
	if (r)
		return r;
	return lookup(db, id, key, klen, false, NULL, buf, cap, alloc, vlen);
}

int golite_get(golite *db, const char *table, const void *key, size_t klen, void **value,
	       size_t *vlen)
{
	if (!value || !vlen)
		return set_error(GOLITE_EINVAL, "value or vlen is NULL");
	*value = NULL;
	*vlen = 0;
	return get_common(db, table, key, klen, NULL, 0, value, vlen);
}

int golite_get_into(golite *db, const char *table, const void *key, size_t klen, void *buf,
		    size_t cap, size_t *vlen)
{
	if (!vlen || (!buf && cap))
		return set_error(GOLITE_EINVAL, "vlen or buf is NULL");
	*vlen = 0;
	return get_common(db, table, key, klen, buf ? buf : (void *)"", cap, NULL, vlen);
}

bool golite_exists(golite *db, const char *table, const void *key, size_t klen)
{
	size_t vlen;
	int r = check_db(db);
	if (!r)
		r = check_key(key, klen);
	uint32_t id;
	if (!r) {
		rcu_read_lock();
		r = db_table_id(db, table, &id);
		rcu_read_unlock();
	}
	return !r && lookup(db, id, key, klen, true, NULL, NULL, 0, NULL, &vlen) == 0;
}

/* ---- raw access (raw.h) ---- */

int golite_table_id(golite *db, const char *name, uint32_t *id)
{
	int r = check_db(db);
	if (r)
		return r;
	rcu_read_lock();
	r = db_table_id(db, name, id);
	rcu_read_unlock();
	return r;
}

int golite_table_name(golite *db, uint32_t id, char *buf, size_t cap)
{
	int r = check_db(db);
	if (r)
		return r;
	if (!buf)
		return set_error(GOLITE_EINVAL, "buf is NULL");
	r = GOLITE_ENOTABLE;
	uint32_t len = 0;
	rcu_read_lock();
	const struct catalog *c = rcu_fetch(db->catalog);
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
	int r = check_db(db);
	if (!r)
		r = check_key(key, klen);
	if (r)
		return r;
	if (!vlen || !kind)
		return set_error(GOLITE_EINVAL, "kind or vlen is NULL");
	if (alloc)
		*alloc = NULL;
	*vlen = 0;
	return lookup(db, table_id, key, klen, true, kind, buf, cap, alloc, vlen);
}

int golite_put_raw(golite *db, uint32_t table_id, unsigned kind, const void *key, size_t klen,
		   const void *value, size_t vlen)
{
	int r = check_db(db);
	if (!r)
		r = check_writable(db);
	if (!r)
		r = check_key(key, klen);
	if (r)
		return r;
	if (kind != KIND_VALUE && kind != KIND_META)
		return set_error(GOLITE_EINVAL, "record kind %u cannot be put", kind);
	if (vlen > GOLITE_MAX_VALUE_SIZE)
		return set_error(GOLITE_EVALSIZE, "value of %zu bytes (at most %u allowed)", vlen,
				 GOLITE_MAX_VALUE_SIZE);
	if (vlen && !value)
		return set_error(GOLITE_EINVAL, "value is NULL");
	r = write_id(db, table_id, kind, key, klen, value, vlen);
	if (!r)
		db_count(db, C_PUTS, 1);
	return r;
}

uint64_t golite_last_sequence(golite *db)
{
	return atomic_load_explicit(&db->last_seq, memory_order_acquire);
}

/* ---- tables ---- */

/* Commits a change of table 0 and publishes the catalog that goes with it.
 * dropped_id, if not 0, is a table dropped by the change. */
static int catalog_commit(struct golite *db, struct rep *rep, struct catalog *next,
			  uint32_t dropped_id)
{
	uint64_t seq;
	int r = commit(db, rep, NULL, dropped_id != 0, &seq);
	if (r) {
		catalog_free(next);
		return r;
	}
	if (dropped_id) {
		struct catalog *with = catalog_with_drop(next, dropped_id, seq);
		catalog_free(next);
		next = with;
	}
	struct catalog *old = db->catalog;
	rcu_publish(db->catalog, next);
	catalog_free_deferred(old);
	return 0;
}

static void catalog_ikey(uint8_t *ikey, size_t *iklen, char tag, const char *name, size_t len)
{
	put_be32(ikey, TABLE_ID_CATALOG);
	ikey[IKEY_PREFIX] = (uint8_t)tag;
	memcpy(ikey + IKEY_PREFIX + 1, name, len);
	*iklen = IKEY_PREFIX + 1 + len;
}

int golite_table_create(golite *db, const char *name)
{
	int r = check_db(db);
	if (!r)
		r = check_writable(db);
	size_t len;
	if (!r)
		r = catalog_check_name(name, &len);
	if (r)
		return r;
	mutex_lock(&db->ddl_mu);
	uint32_t id;
	struct catalog *c = db->catalog;
	if (catalog_lookup(c, name, len, &id)) {
		r = set_error(GOLITE_EEXIST, "table \"%s\" exists", name);
		goto out_unlock;
	}
	id = c->next_id;
	struct rep rep = { 0 };
	rep_reset(&rep);
	uint8_t ikey[IKEY_PREFIX + 1 + GOLITE_MAX_TABLE_NAME], v[4];
	size_t iklen;
	put_le32(v, id + 1);
	catalog_ikey(ikey, &iklen, CATALOG_KEY_NEXT, "", 0);
	rep_add(&rep, KIND_VALUE, ikey, iklen, v, 4);
	put_le32(v, id);
	catalog_ikey(ikey, &iklen, CATALOG_KEY_TABLE, name, len);
	rep_add(&rep, KIND_VALUE, ikey, iklen, v, 4);
	r = catalog_commit(db, &rep, catalog_with(c, NULL, name, id, id + 1), 0);
	rep_free(&rep);
out_unlock:
	mutex_unlock(&db->ddl_mu);
	return r;
}

/* True if the table with this id holds no visible key. */
static bool table_is_empty(struct golite *db, uint32_t id)
{
	struct db_iter *it = db_iter_new(db, false);
	uint8_t prefix[IKEY_PREFIX];
	put_be32(prefix, id);
	db_iter_seek(it, prefix, IKEY_PREFIX);
	bool empty = true;
	if (db_iter_valid(it)) {
		size_t iklen;
		const uint8_t *k = db_iter_key(it, &iklen);
		empty = ikey_table(k) != id;
	}
	db_iter_free(it);
	return empty;
}

int golite_table_drop(golite *db, const char *name, unsigned flags)
{
	int r = check_db(db);
	if (!r)
		r = check_writable(db);
	size_t len;
	if (!r)
		r = catalog_check_name(name, &len);
	if (r)
		return r;
	mutex_lock(&db->ddl_mu);
	uint32_t id;
	struct catalog *c = db->catalog;
	if (!catalog_lookup(c, name, len, &id)) {
		r = set_error(GOLITE_ENOTABLE, "no table named \"%s\"", name);
		goto out_unlock;
	}
	if ((flags & GOLITE_DROP_IF_EMPTY) && !table_is_empty(db, id)) {
		r = set_error(GOLITE_ENOTEMPTY, "table \"%s\" is not empty", name);
		goto out_unlock;
	}
	struct rep rep = { 0 };
	rep_reset(&rep);
	uint8_t ikey[IKEY_PREFIX + 1 + GOLITE_MAX_TABLE_NAME];
	size_t iklen;
	catalog_ikey(ikey, &iklen, CATALOG_KEY_TABLE, name, len);
	rep_add(&rep, KIND_DELETE, ikey, iklen, NULL, 0);
	r = catalog_commit(db, &rep, catalog_with(c, name, NULL, 0, c->next_id), id);
	rep_free(&rep);
out_unlock:
	mutex_unlock(&db->ddl_mu);
	return r;
}

int golite_table_rename(golite *db, const char *from, const char *to)
{
	int r = check_db(db);
	if (!r)
		r = check_writable(db);
	size_t flen, tlen;
	if (!r)
		r = catalog_check_name(from, &flen);
	if (!r)
		r = catalog_check_name(to, &tlen);
	if (r)
		return r;
	mutex_lock(&db->ddl_mu);
	uint32_t id, other;
	struct catalog *c = db->catalog;
	if (!catalog_lookup(c, from, flen, &id)) {
		r = set_error(GOLITE_ENOTABLE, "no table named \"%s\"", from);
		goto out_unlock;
	}
	if (flen == tlen && memcmp(from, to, flen) == 0)
		goto out_unlock;
	if (catalog_lookup(c, to, tlen, &other)) {
		r = set_error(GOLITE_EEXIST, "table \"%s\" exists", to);
		goto out_unlock;
	}
	struct rep rep = { 0 };
	rep_reset(&rep);
	uint8_t ikey[IKEY_PREFIX + 1 + GOLITE_MAX_TABLE_NAME], v[4];
	size_t iklen;
	catalog_ikey(ikey, &iklen, CATALOG_KEY_TABLE, from, flen);
	rep_add(&rep, KIND_DELETE, ikey, iklen, NULL, 0);
	put_le32(v, id);
	catalog_ikey(ikey, &iklen, CATALOG_KEY_TABLE, to, tlen);
	rep_add(&rep, KIND_VALUE, ikey, iklen, v, 4);
	r = catalog_commit(db, &rep, catalog_with(c, from, to, id, c->next_id), 0);
	rep_free(&rep);
out_unlock:
	mutex_unlock(&db->ddl_mu);
	return r;
}

bool golite_table_exists(golite *db, const char *name)
{
	uint32_t id;
	if (check_db(db))
		return false;
	rcu_read_lock();
	bool found = db_table_id(db, name, &id) == 0;
	rcu_read_unlock();
	return found;
}

int golite_table_list(golite *db, char ***names, size_t *count)
{
	int r = check_db(db);
	if (r)
		return r;
	if (!names || !count)
		return set_error(GOLITE_EINVAL, "names or count is NULL");
	rcu_read_lock();
	struct catalog *c = rcu_fetch(db->catalog);
	size_t bytes = (c->count + 1) * sizeof(char *);
	for (size_t i = 0; i < c->count; i++)
		bytes += c->entries[i].len + 1;
	char **v = xmalloc(bytes);
	char *s = (char *)(v + c->count + 1);
	for (size_t i = 0; i < c->count; i++) {
		v[i] = s;
		memcpy(s, c->entries[i].name, c->entries[i].len + 1);
		s += c->entries[i].len + 1;
	}
	v[c->count] = NULL;
	*count = c->count;
	rcu_read_unlock();
	*names = v;
	return 0;
}

/* Builds the in-memory catalog from table 0 as of now (at open). */
static int load_catalog(struct golite *db)
{
	struct catalog_entry *v = NULL;
	size_t n = 0, cap = 0;
	uint32_t next_id = TABLE_ID_FIRST_USER;
	struct db_iter *it = db_iter_new(db, true);
	uint8_t prefix[IKEY_PREFIX];
	put_be32(prefix, TABLE_ID_CATALOG);
	int r = 0;
	for (db_iter_seek(it, prefix, IKEY_PREFIX); db_iter_valid(it); db_iter_next(it)) {
		size_t iklen, vlen;
		const uint8_t *k = db_iter_key(it, &iklen);
		if (ikey_table(k) != TABLE_ID_CATALOG)
			break;
		const uint8_t *val = db_iter_value(it, &vlen);
		if (iklen < IKEY_PREFIX + 1 || vlen != 4) {
			r = set_error(GOLITE_ECORRUPT, "%s: malformed table catalog entry", db->path);
			break;
		}
		char tag = (char)k[IKEY_PREFIX];
		if (tag == CATALOG_KEY_NEXT && iklen == IKEY_PREFIX + 1) {
			next_id = get_le32(val);
		} else if (tag == CATALOG_KEY_TABLE) {
			if (n == cap)
				v = xrealloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			/* The key bytes live only until the iterator moves. */
			v[n].len = (uint32_t)(iklen - IKEY_PREFIX - 1);
			v[n].name = xmemdup(k + IKEY_PREFIX + 1, v[n].len);
			v[n].id = get_le32(val);
			n++;
		}
	}
	if (!r)
		r = db_iter_status(it);
	if (!r) {
		for (size_t i = 0; i < n; i++)
			if (v[i].id >= next_id || v[i].id < TABLE_ID_FIRST_USER)
				r = set_error(GOLITE_ECORRUPT,
					      "%s: table catalog names id %u (next id %u)",
					      db->path, v[i].id, next_id);
	}
	if (!r)
		db->catalog = catalog_build(v, n, next_id);
	db_iter_free(it);
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return r;
}

/* ---- open and close ---- */

static uint64_t next_file_no(void *ctx)
{
	struct golite *db = ctx;
	return atomic_fetch_add(&db->next_file_no, 1);
}

static int wal_space_admit(void *ctx, uint64_t bytes, bool frees)
{
	return space_admit(ctx, bytes, frees);
}

static uint64_t wal_space_borrow(void *ctx, uint64_t bytes)
{
	return space_borrow(ctx, bytes, 0, "the log");
}

static void on_wal_failure(void *ctx, int err, const char *msg)
{
	struct golite *db = ctx;
	atomic_store(&db->failed, 1);
	db_log(db, GOLITE_LOG_ERROR, "%s (%s); the store now refuses writes", msg,
	       golite_strerror(err));
}

struct replay_ctx {
	struct golite *db;
	uint64_t last_seq;       /* of the previous record */
	uint64_t flushed_seq;    /* the tables hold everything up to here */
};

static int replay_record(void *arg, const uint8_t *p, size_t len, const char *path,
			 uint64_t off)
{
	struct replay_ctx *rc = arg;
	uint32_t count;
	uint64_t first;
	if (rep_iterate(p, len, NULL, NULL, &count, &first))
		return set_error(GOLITE_ECORRUPT, "%s: malformed batch in record at offset %llu",
				 path, (unsigned long long)off);
	if (count == 0)
		return 0;
	if (first <= rc->last_seq)
		return set_error(GOLITE_ECORRUPT,
				 "%s: record at offset %llu has sequence %llu, not after %llu", path,
				 (unsigned long long)off, (unsigned long long)first,
				 (unsigned long long)rc->last_seq);
	rc->last_seq = first + count - 1;
	if (rc->last_seq <= rc->flushed_seq)
		return 0;
	struct add_ctx a = { rc->db->mem };
	rep_iterate(p, len, add_entry, &a, NULL, NULL);
	return 0;
}

/* Takes the directory lock. */
static int lock_dir(struct golite *db)
{
	char path[PATH_MAX];
	file_path(path, sizeof(path), db->path, FILE_LOCK, 0);
	int fd = io_open(path, db->o.read_only ? O_RDONLY : O_RDWR | O_CREAT, 0600);
	if (fd == -ENOENT && db->o.read_only) {
		/* A store copied without its LOCK file: nothing to share. */
		db->lock_fd = -1;
		return 0;
	}
	if (fd < 0)
		return set_error(errno_to_golite(-fd), "cannot open %s: %s", path, strerror(-fd));
	int r = io_flock(fd, !db->o.read_only);
	if (r == -EWOULDBLOCK) {
		char pid[32] = "";
		ssize_t n = io_pread(fd, pid, sizeof(pid) - 1, 0);
		pid[n > 0 ? n : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		io_close(fd);
		return set_error(GOLITE_ELOCKED, "data directory %s is in use by process %s",
				 db->path, pid[0] ? pid : "(unknown)");
	}
	if (r < 0) {
		io_close(fd);
		return set_error(GOLITE_EIO, "cannot lock %s: %s", path, strerror(-r));
	}
	if (!db->o.read_only) {
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (io_ftruncate(fd, 0) == 0)
			io_pwrite(fd, pid, (size_t)n, 0);
	}
	db->lock_fd = fd;
	return 0;
}

/* Checks or creates the STORE marker. */
static int check_store(struct golite *db, bool *created)
{
	char path[PATH_MAX];
	file_path(path, sizeof(path), db->path, FILE_STORE, 0);
	uint8_t *data;
	size_t len;
	int r = io_read_file(path, 4096, &data, &len);
	*created = false;
	if (r == -ENOENT) {
		uint64_t *nums;
		size_t count;
		r = file_list(db->path, FILE_WAL, &nums, &count);
		if (r < 0)
			return set_error(GOLITE_EIO, "cannot list %s: %s", db->path, strerror(-r));
		free(nums);
		if (count)
			return set_error(GOLITE_ECORRUPT,
					 "%s holds log segments but no STORE file; not opening it",
					 db->path);
		if (!db->o.create_if_missing || db->o.read_only)
			return set_error(GOLITE_ENOTFOUND, "%s is not a store", db->path);
		/* An empty manifest first, then the marker that says the store is
		 * complete: a store always has a MANIFEST. */
		struct manifest empty = { .next_file_no = 1 };
		r = manifest_write(db->path, &empty);
		if (r)
			return r;
		r = io_write_file_atomic(db->path, STORE_FILE, STORE_TEXT, strlen(STORE_TEXT));
		if (r < 0)
			return set_error(errno_to_golite(-r), "cannot create %s: %s", path,
					 strerror(-r));
		*created = true;
		return 0;
	}
	if (r < 0)
		return set_error(GOLITE_EIO, "cannot read %s: %s", path, strerror(-r));
	int format = 0;
	data[len] = '\0';
	if (!store_marker_parse((char *)data, &format)) {
		free(data);
		return set_error(GOLITE_ECORRUPT, "%s: not a GoLite store marker (offset 0)", path);
	}
	free(data);
	if (format != STORE_FORMAT)
		return set_error(GOLITE_EVERSION, "%s: store format %d, this build reads format %d",
				 path, format, STORE_FORMAT);
	if (db->o.error_if_exists)
		return set_error(GOLITE_EEXIST, "store %s exists", db->path);
	return 0;
}

static void db_free(struct golite *db)
{
	if (db->space_opened)
		space_stop(db);
	bg_stop(db);
	if (db->wal) {
		wal_close(db->wal);
		db->wal = NULL;
	}
	if (db->mem)
		memtable_unref(db->mem);
	while (db->imm) {
		struct memtable *m = db->imm;
		db->imm = m->next;
		memtable_unref(m);
	}
	catalog_free(db->catalog);
	if (db->cache || db->current)
		bg_close(db);
	if (db->space_opened)
		space_close(db);
	if (db->lock_fd >= 0)
		io_close(db->lock_fd);
	pthread_mutex_destroy(&db->ddl_mu);
	free(db->path);
	free(db);
}

int golite_open(const char *path, const golite_options *opts, golite **out)
{
	clear_error();
	if (!out)
		return set_error(GOLITE_EINVAL, "out is NULL");
	*out = NULL;
	if (!path || !*path)
		return set_error(GOLITE_EINVAL, "path is NULL or empty");
	rcu_thread_ensure();
	rcu_thread_on_exit(free_thread_buffers);

	struct golite *db = xcalloc(1, sizeof(*db));
	db->lock_fd = -1;
	db->path = xstrdup(path);
	db->open_ns = now_ns();
	mutex_init(&db->ddl_mu);
	if (opts)
		db->o = *opts;
	else
		golite_options_init(&db->o);
	int r = check_options(&db->o);
	if (r)
		goto out_free;
	db->mt_ops = db->o.memtable == GOLITE_MEMTABLE_LOCKED ? &memtable_locked_ops
							      : &memtable_lockfree_ops;

	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT || !db->o.create_if_missing || db->o.read_only) {
			r = set_error(errno == ENOENT ? GOLITE_ENOTFOUND : GOLITE_EIO,
				      "cannot open %s: %s", path, strerror(errno));
			goto out_free;
		}
		r = io_mkdir(path, 0700);
		if (r < 0 && r != -EEXIST) {
			r = set_error(errno_to_golite(-r), "cannot create %s: %s", path,
				      strerror(-r));
			goto out_free;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		r = set_error(GOLITE_EINVAL, "%s is not a directory", path);
		goto out_free;
	}

	/* A directory that is not a store is left as it is unless we may
	 * create one (no LOCK file either). */
	if (!db->o.create_if_missing || db->o.read_only) {
		char marker[PATH_MAX];
		file_path(marker, sizeof(marker), path, FILE_STORE, 0);
		if (access(marker, F_OK) < 0) {
			r = set_error(GOLITE_ENOTFOUND, "%s is not a store (no %s file)", path,
				      STORE_FILE);
			goto out_free;
		}
	}
	r = lock_dir(db);
	if (r)
		goto out_free;
	bool created;
	r = check_store(db, &created);
	if (r)
		goto out_free;
	r = space_open(db);
	if (r)
		goto out_free;
	db->space_opened = true;

	struct manifest m;
	r = manifest_read(db->path, &m);
	if (r == GOLITE_ENOTFOUND) {
		uint64_t *nums;
		size_t count;
		r = file_list(db->path, FILE_TABLE, &nums, &count);
		if (r < 0) {
			r = set_error(GOLITE_EIO, "cannot list %s: %s", db->path, strerror(-r));
			goto out_free;
		}
		free(nums);
		if (count) {
			r = set_error(GOLITE_ECORRUPT, "%s holds tables but no MANIFEST", db->path);
			goto out_free;
		}
		memset(&m, 0, sizeof(m));
		r = 0;
	}
	if (r)
		goto out_free;
	r = bg_open(db, &m);
	if (r)
		goto out_free;

	db->mem = db->mt_ops->create(db->o.memtable_size);
	db->mem->wal_segno = db->ms.log_number;
	struct replay_ctx rc = { .db = db, .flushed_seq = db->ms.last_seq };
	r = wal_replay(db->path, db->ms.log_number, db->o.read_only, replay_record, &rc,
		       db->o.progress, db->o.progress_ctx, &db->replay);
	if (r)
		goto out_free;
	if (db->replay.truncated)
		db_log(db, GOLITE_LOG_WARN, "dropped a torn log tail at %s offset %llu",
		       db->replay.truncated_path, (unsigned long long)db->replay.truncated_at);
	atomic_store(&db->last_seq, MAX(rc.last_seq, db->ms.last_seq));
	uint64_t next = MAX(db->ms.next_file_no, db->replay.max_segno + 1);
	{
		uint64_t *nums;
		size_t count;
		if (file_list(db->path, FILE_TABLE, &nums, &count) == 0) {
			if (count)
				next = MAX(next, nums[count - 1] + 1);
			free(nums);
		}
	}
	atomic_store(&db->next_file_no, MAX(next, 1));

	r = load_catalog(db);
	if (r)
		goto out_free;

	if (!db->o.read_only) {
		struct wal_options wo = {
			.dir = db->path,
			.mode = db->o.durability,
			.sync_interval_ms = db->o.sync_interval_ms,
			.buffer_size = db->o.wal_buffer_size,
			.segment_size = db->o.wal_segment_size,
			/* A quarter of a memtable: on a small disk the log's
			 * space ahead stays small next to the store. */
			.reserve_step = MIN((size_t)4 << 20, db->o.memtable_size / 4),
			.next_file_no = next_file_no,
			.on_failure = on_wal_failure,
			.space_admit = wal_space_admit,
			.space_borrow = wal_space_borrow,
			.ctx = db,
		};
		uint64_t segno = next_file_no(db);
		r = wal_open(&wo, segno, &db->wal);
		if (r)
			goto out_free;
		if (!atomic_load(&db->mem->entries))
			db->mem->wal_segno = segno;
		r = bg_start(db);
		if (r)
			goto out_free;
		space_start(db);
	}
	*out = db;
	return 0;

out_free:
	db_free(db);
	return r;
}

int golite_close(golite *db)
{
	if (!db)
		return 0;
	rcu_thread_ensure();
	/* A clean close leaves nothing to replay: the memtable goes to a table
	 * and the log segments are retired. A failure here loses nothing (the
	 * log still holds the writes); it is reported by the log below. */
	/* Deletes made on a full disk get their space back before the store
	 * closes (a `golite rm` is over before the space thread looks). */
	space_stop(db);
	if (db->wal && space_pressure(db))
		reclaim_pass(db);
	rcu_read_lock();
	bool dirty = atomic_load(&rcu_fetch(db->mem)->entries) != 0;
	rcu_read_unlock();
	if (db->wal && db->o.flush_on_close && !atomic_load(&db->failed) && dirty) {
		int f = bg_flush(db);
		if (f)
			db_log(db, GOLITE_LOG_WARN, "flush at close failed: %s", golite_last_error());
	}
	atomic_store(&db->closing, true);
	space_stop(db);
	bg_stop(db);
	int r = 0;
	if (db->wal) {
		r = wal_close(db->wal);
		db->wal = NULL;
		if (r)
			r = set_error(GOLITE_EFAILED, "the log of %s failed before close (%s)",
				      db->path, golite_strerror(r));
	}
	/* Callbacks may still reference catalog snapshots. */
	rcu_barrier();
	db_free(db);
	return r;
}

/* ---- figures ---- */

int golite_stats_get(golite *db, golite_stats *s)
{
	int r = check_db(db);
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
	fprintf(f, "failed %d\n", s.failed ? 1 : 0);
	fclose(f);
	*text = buf;
	return 0;
}
