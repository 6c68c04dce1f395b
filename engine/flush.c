/*
 * flush.c — turning memtables into level-0 tables: freezing the active
 * memtable when it is full, the flush thread, writing a frozen memtable to
 * a table, retiring the log segments it covered, and holding writers back
 * while flushing and compaction are behind (bg_throttle).
 *
 * A full memtable is frozen under the log lock together with a new log
 * segment (db.h invariant 4) and a fresh memtable takes writes at once.
 * The flush thread waits for the writes still being inserted into the
 * frozen one, writes its newest version of each key to a new table, and
 * publishes a version with the table in level 0 and a manifest whose
 * log_number retires the segments the memtable covered. Publishing follows
 * compaction.c (its invariants 1 and 2).
 *
 * Invariants:
 *   1. Frozen memtables are flushed oldest first: db->imm is newest first,
 *      and only its tail is written and unlinked.
 *   2. A frozen memtable leaves db->imm only after the version holding its
 *      table is published with a manifest whose log_number is past its
 *      segments; it is freed after an RCU grace period (db.h invariant 5),
 *      and its segments are removed only after that manifest is on disk.
 *   3. A flush writes a memtable only after every write with a sequence up
 *      to its switch_seq is in it (db.h invariant 2).
 */
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compaction_int.h"
#include "db.h"
#include "error.h"
#include "filename.h"
#include "format.h"
#include "io.h"
#include "util.h"

struct switch_ctx {
	struct golite *db;
	struct memtable *fresh;
};

/* Runs under the log lock: freezes the active memtable (db.h invariant 4). */
static void switch_memtable(void *arg, uint64_t segno)
{
	struct switch_ctx *c = arg;
	struct golite *db = c->db;
	mutex_lock(&db->bg_mu);
	db_sources_change_begin(db);
	struct memtable *old = db->mem;
	old->switch_seq = atomic_load(&db->last_seq);
	old->next = db->imm;
	rcu_publish(db->imm, old);
	c->fresh->wal_segno = segno;
	rcu_publish(db->mem, c->fresh);
	db_sources_change_end(db);
	db->imm_count++;
	bg_update_stall(db);
	cond_broadcast(&db->bg_cv);
	mutex_unlock(&db->bg_mu);
}

/* Freezes the active memtable if it holds anything. */
static int freeze(struct golite *db)
{
	rcu_read_lock();
	struct memtable *mem = rcu_fetch(db->mem);
	bool empty = atomic_load(&mem->entries) == 0;
	if (empty)
		atomic_store(&mem->full, 0);
	rcu_read_unlock();
	if (empty)
		return 0;
	struct switch_ctx c = { db, db->mt_ops->create(db->o.memtable_size) };
	int r = wal_rotate(db->wal, switch_memtable, &c);
	if (r)
		memtable_unref(c.fresh);
	return r;
}

/* Waits until every write with a sequence <= upto is in its memtable. */
static void wait_inserts(struct golite *db, uint64_t upto)
{
	for (int i = 0; i < DB_INFLIGHT; i++) {
		struct db_slot *s = &db->inflight[i];
		for (;;) {
			uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
			if (seq == 0 || seq > upto)
				break;
			sched_yield();
		}
	}
}

/* True if keys of table id may be dropped by work covering upto: the table
 * is dropped, durably so, and no live snapshot sees it. */
bool bg_discardable(struct golite *db, uint32_t id, uint64_t upto)
{
	rcu_read_lock();
	bool d = catalog_id_discardable(rcu_fetch(db->catalog), id, upto);
	rcu_read_unlock();
	return d && !snap_pins_table(db, id);
}

/* What write_memtable keeps of one key: its versions newest first, the
 * newest of each stripe between live snapshots (snapshot.h). */
struct keep_ctx {
	struct sst_builder *b;
	const uint8_t *ikey;
	size_t iklen;
	const uint64_t *seqs;
	size_t nseqs;
	size_t stripe;           /* of the last version seen; SIZE_MAX: none */
	uint64_t kept, kept_bytes;
	struct vlog_map *map;    /* where the log wrote large values */
	uint64_t separated;
	int r;
};

static bool keep_version(void *arg, const struct mt_entry *e)
{
	struct keep_ctx *k = arg;
	size_t stripe = snap_stripe(k->seqs, k->nseqs, e->seq);
	if (stripe == k->stripe)
		return true;   /* a newer version of its stripe hides it */
	bool newest = k->stripe == SIZE_MAX;
	k->stripe = stripe;
	uint8_t skey[IKEY_MAX + TRAILER_SIZE];
	memcpy(skey, k->ikey, k->iklen);
	struct vptr p;
	if (e->kind == KIND_VALUE && vlog_map_find(k->map, e->seq, e->value, e->vlen, &p)) {
		uint8_t ptr[VPTR_SIZE];
		vptr_encode(ptr, &p);
		put_le64(skey + k->iklen, trailer_pack(e->seq, KIND_VALUE | KIND_SEPARATE));
		k->r = sst_builder_add(k->b, skey, k->iklen + TRAILER_SIZE, ptr, sizeof(ptr));
		k->separated++;
	} else {
		put_le64(skey + k->iklen, trailer_pack(e->seq, e->kind));
		k->r = sst_builder_add(k->b, skey, k->iklen + TRAILER_SIZE, e->value, e->vlen);
	}
	if (!newest) {
		k->kept++;
		k->kept_bytes += k->iklen + TRAILER_SIZE + e->vlen;
	}
	/* Stripes only go down: none is left below the oldest. */
	return !k->r && stripe > 0;
}

/* The newest version of a key, for vlog_map_count. */
static bool count_newest(void *arg, const struct mt_entry *e)
{
	if (e->kind == KIND_VALUE)
		vlog_map_count(arg, e->seq, e->vlen);
	return false;
}

/*
 * Writes the newest version of every key of m into a new level-0 table,
 * and the older ones live snapshots see (snapshot.h); large values as
 * pointers into map's segments (vlog.h). *out is NULL if nothing was left
 * to write.
 */
static int write_memtable(struct golite *db, struct memtable *m, struct vlog_map *map,
			  struct table_file **out)
{
	*out = NULL;
	uint64_t file_no = bg_new_file_no(db);
	char path[PATH_MAX];
	bg_table_path(db, file_no, path, sizeof(path));
	struct sst_builder *b;
	int r = sst_builder_new(path, file_no, &db->sst_opts, &b);
	if (r)
		return r;
	if (map) {
		/* Which segments are worth keeping (vlog.h step 1). */
		struct mt_iter *pre = m->ops->iter_new(m);
		for (m->ops->iter_seek_first(pre); m->ops->iter_valid(pre); m->ops->iter_next(pre))
			m->ops->iter_versions(pre, count_newest, map);
		m->ops->iter_free(pre);
		vlog_map_decide(map);
	}
	/* Read after m was frozen: snapshot.h invariant 1. */
	struct keep_ctx k = { .b = b, .map = map };
	k.seqs = snap_seqs(db, &k.nseqs);
	struct mt_iter *it = m->ops->iter_new(m);
	uint32_t last_table = UINT32_MAX;
	bool drop_table = false;
	for (m->ops->iter_seek_first(it); m->ops->iter_valid(it) && !r; m->ops->iter_next(it)) {
		size_t iklen;
		const uint8_t *ikey = m->ops->iter_key(it, &iklen);
		uint32_t table = ikey_table(ikey);
		if (table != last_table) {
			last_table = table;
			drop_table = bg_discardable(db, table, m->switch_seq);
		}
		if (drop_table)
			continue;
		k.ikey = ikey;
		k.iklen = iklen;
		k.stripe = SIZE_MAX;
		m->ops->iter_versions(it, keep_version, &k);
		r = k.r;
	}
	m->ops->iter_free(it);
	free((void *)k.seqs);
	if (!r) {
		snap_note_kept(db, k.kept, k.kept_bytes);
		atomic_fetch_add(&db->vlog.separated, k.separated);
	}
	if (r) {
		sst_builder_abandon(b);
		return r;
	}
	if (sst_builder_entries(b) == 0) {
		sst_builder_abandon(b);
		return 0;
	}
	return bg_finish_table(db, b, file_no, 0, true, out);
}

/* Flushes the oldest frozen memtable. */
static int flush_oldest(struct golite *db)
{
	mutex_lock(&db->bg_mu);
	struct memtable *m = db->imm;
	while (m && m->next)
		m = m->next;
	mutex_unlock(&db->bg_mu);
	if (!m)
		return 0;

	wait_inserts(db, m->switch_seq);
	mutex_lock(&db->bg_mu);
	/* The memtable after m (newer) holds the oldest unflushed writes:
	 * m's are in the segments before its first. */
	struct memtable *newer = db->mem;
	for (struct memtable *x = db->imm; x != m; x = x->next)
		newer = x;
	uint64_t segs_end = newer->wal_segno;
	mutex_unlock(&db->bg_mu);

	/* Large values are looked for only in a memtable that has some;
	 * every record of its segments is in its file first. */
	int r = 0;
	struct vlog_map *map = NULL;
	if (atomic_load(&m->max_vlen) >= db->vlog.min) {
		r = wal_sync(db->wal);
		if (!r)
			r = vlog_map_build(db, m->wal_segno, segs_end, &map);
	}
	struct table_file *tf = NULL;
	if (!r)
		r = write_memtable(db, m, map, &tf);
	/* Before a table that points into them is published (vlog.h
	 * invariant 1). */
	if (!r)
		r = vlog_map_keep(db, map);
	vlog_map_free(map);
	if (r) {
		/* Its file stays until the next open removes it: no manifest
		 * names it. */
		if (tf)
			table_file_unref(tf);
		return r;
	}

	mutex_lock(&db->bg_mu);
	struct manifest saved = db->ms;
	db->ms.log_number = newer->wal_segno;
	db->ms.last_seq = MAX(db->ms.last_seq, m->switch_seq);
	if (tf) {
		db->ms.flush_bytes += tf->meta.file_size;
		db->ms.user_bytes += tf->meta.raw_key_bytes + tf->meta.raw_value_bytes;
	}
	struct version *nv = version_apply(db->current, NULL, 0, tf ? &tf : NULL, tf ? 1 : 0);
	r = bg_write_manifest(db, nv);
	if (r) {
		db->ms = saved;
		/* nv holds the only reference to tf: it goes with nv. The file
		 * stays: the failed manifest write may still have reached the
		 * disk and name it; the next open deletes it if it does not. */
		version_unref(nv);
		mutex_unlock(&db->bg_mu);
		return r;
	}
	/* The table first, then the memtable out: in between, its data is in
	 * both, which readers and iterators handle (equal sequences). */
	bg_publish(db, nv);
	db_sources_change_begin(db);
	/* Unlink m: it is the tail of the list. */
	struct memtable **p = &db->imm;
	while (*p != m)
		p = &(*p)->next;
	rcu_publish(*p, NULL);
	db_sources_change_end(db);
	db->imm_count--;
	db->bg_error = 0;
	bg_update_stall(db);
	uint64_t log_number = db->ms.log_number;
	cond_broadcast(&db->done_cv);
	mutex_unlock(&db->bg_mu);

	atomic_fetch_add(&db->flushes, 1);
	synchronize_rcu();
	memtable_unref(m);
	bg_remove_old_segments(db, log_number);
	return 0;
}

/* Removes log segments below log_number (their data is in tables), unless
 * a checkpoint is copying them: then the next call (after the next flush,
 * at close or at the next open) removes them. */
void bg_remove_old_segments(struct golite *db, uint64_t log_number)
{
	mutex_lock(&db->bg_mu);
	bool held = db->ckpt_holds > 0;
	mutex_unlock(&db->bg_mu);
	if (held)
		return;
	uint64_t *nums;
	size_t count;
	if (file_list(db->path, FILE_WAL, &nums, &count) < 0)
		return;
	for (size_t i = 0; i < count && nums[i] < log_number; i++) {
		char p[PATH_MAX];
		file_path(p, sizeof(p), db->path, FILE_WAL, nums[i]);
		io_unlink(p);
	}
	free(nums);
}

void *bg_flush_thread(void *arg)
{
	struct golite *db = arg;
	rcu_thread_ensure();
	pthread_setname_np(pthread_self(), "golite-flush");
	mutex_lock(&db->bg_mu);
	while (!db->bg_stop) {
		bool retry_wait = db->bg_error && now_ns() < db->bg_error_ns + BG_RETRY_NS;
		if (!retry_wait && db->flush_requested && db->imm_count < MAX_IMM) {
			db->flush_requested = false;
			mutex_unlock(&db->bg_mu);
			int r = freeze(db);
			mutex_lock(&db->bg_mu);
			if (r) {
				db->flush_requested = true;
				bg_note_error(db, r, "freezing the memtable");
			}
			continue;
		}
		if (!retry_wait && db->imm) {
			mutex_unlock(&db->bg_mu);
			int r = flush_oldest(db);
			bg_give_back_heap();
			mutex_lock(&db->bg_mu);
			if (r)
				bg_note_error(db, r, "flushing a memtable");
			continue;
		}
		if (retry_wait)
			cond_wait_until(&db->bg_cv, &db->bg_mu, db->bg_error_ns + BG_RETRY_NS);
		else
			cond_wait(&db->bg_cv, &db->bg_mu);
	}
	mutex_unlock(&db->bg_mu);
	return NULL;
}

void bg_note_write(struct golite *db, struct memtable *m)
{
	if (likely(m->ops->memory(m) + atomic_load_explicit(&m->shadowed, memory_order_relaxed) <
		   db->o.memtable_size))
		return;
	if (atomic_exchange(&m->full, 1))
		return;
	mutex_lock(&db->bg_mu);
	if (m == db->mem) {
		db->flush_requested = true;
		bg_update_stall(db);
		cond_broadcast(&db->bg_cv);
	}
	mutex_unlock(&db->bg_mu);
}

int bg_throttle(struct golite *db)
{
	int s = atomic_load_explicit(&db->stall, memory_order_relaxed);
	if (likely(s == 0))
		return 0;
	uint64_t start = now_ns();
	int r = 0;
	if (s == 1) {
		/* Slow down: hand a millisecond to compaction, once per write. */
		usleep(1000);
	} else {
		mutex_lock(&db->bg_mu);
		while (atomic_load(&db->stall) == 2 && !db->bg_stop) {
			if (db->bg_error) {
				r = set_error(db->bg_error,
					      "writes wait for background work that fails: %s",
					      golite_strerror(db->bg_error));
				break;
			}
			cond_wait_until(&db->done_cv, &db->bg_mu, now_ns() + BG_RETRY_NS);
		}
		mutex_unlock(&db->bg_mu);
	}
	atomic_fetch_add(&db->stall_micros, (now_ns() - start) / 1000);
	return r;
}

int bg_flush(struct golite *db)
{
	if (!db->wal)
		return 0;
	int r = freeze(db);
	if (r)
		return r;
	mutex_lock(&db->bg_mu);
	cond_broadcast(&db->bg_cv);
	while (db->imm && !db->bg_stop) {
		if (db->bg_error) {
			r = set_error(db->bg_error, "flush failed: %s", golite_strerror(db->bg_error));
			break;
		}
		cond_wait_until(&db->done_cv, &db->bg_mu, now_ns() + BG_RETRY_NS);
	}
	mutex_unlock(&db->bg_mu);
	return r;
}

void bg_request_flush(struct golite *db)
{
	mutex_lock(&db->bg_mu);
	if (!db->flush_requested && db->imm_count < MAX_IMM) {
		db->flush_requested = true;
		cond_broadcast(&db->bg_cv);
	}
	mutex_unlock(&db->bg_mu);
}
