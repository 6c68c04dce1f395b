/*
 * reclaim.c — giving back the space of deleted data while the store is
 * short of space (space.h), without waiting for compaction to reach it.
 *
 * A pass, run by the space thread after writes that freed space:
 *   1. syncs the log, so that every version written so far is durable;
 *   2. asks for a flush of a memtable worth flushing, so that the log
 *      segments holding deleted data can go;
 *   3. reads each table and counts its dead entries: those whose key has a
 *      newer version at or below the synced sequence (a delete or an
 *      overwrite), or whose table was dropped;
 *   4. drops a table whose entries are all dead (a manifest edit, nothing
 *      written), and rewrites one with at least a quarter of its key and
 *      value bytes dead into a new table of the same level holding the
 *      live entries only. The output is never larger than the table, so a
 *      rewrite needs at most one table's size of free space, which the
 *      reserve provides on a full disk.
 *
 *   5. runs a pass of the value collector (vlog.h), which deletes the
 *      value files no reader reaches any more.
 *
 * Why it is safe (space.h invariant 3): an entry is dropped only if a newer
 * version of its key is durable, so no reader of the newest version can
 * miss it and no crash can bring back a state that needs it, and no live
 * snapshot's sequence lies between the two (snapshot.h); iterators
 * pin the tables they read, so an open iterator keeps reading the old
 * table until it lets go. The table being rewritten is flagged as
 * compacting, so no compaction takes it meanwhile, and the output covers a
 * subset of its key range at its level: the level's order holds.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "db.h"
#include "io.h"
#include "util.h"

struct scan {
	uint64_t entries, dead;
	uint64_t bytes, dead_bytes;   /* key and value bytes */
};

/* True if the entry (skey with its trailer) may go (space.h inv. 3): a
 * newer version is durable and no live snapshot sits between them, or its
 * table is dropped and no snapshot sees it (bg_discardable). */
static bool entry_dead(struct golite *db, const uint8_t *skey, size_t sklen, uint64_t upto,
		       uint32_t *last_table, bool *table_dropped)
{
	size_t iklen = sklen - TRAILER_SIZE;
	uint32_t table = ikey_table(skey);
	if (table != *last_table) {
		*last_table = table;
		*table_dropped = bg_discardable(db, table, upto);
	}
	if (*table_dropped)
		return true;
	uint64_t seq = trailer_seq(get_le64(skey + iklen));
	uint64_t newest = db_newest_seq(db, skey, iklen);
	/* A snapshot in [seq, newest) may see it (snapshot.h). */
	return newest > seq && newest <= upto && !snap_between(db, seq, newest);
}

static int scan_table(struct golite *db, struct table_file *f, uint64_t upto, struct scan *sc)
{
	memset(sc, 0, sizeof(*sc));
	struct sst_iter *it = sst_iter_new(f->reader);
	sst_iter_set_fill_cache(it, false);
	uint32_t last_table = UINT32_MAX;
	bool dropped = false;
	for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it)) {
		size_t sklen, vlen;
		const uint8_t *skey = sst_iter_key(it, &sklen);
		sst_iter_value(it, &vlen);
		sc->entries++;
		sc->bytes += sklen + vlen;
		if (entry_dead(db, skey, sklen, upto, &last_table, &dropped)) {
			sc->dead++;
			sc->dead_bytes += sklen + vlen;
		}
	}
	int r = sst_iter_status(it);
	sst_iter_free(it);
	return r;
}

/* Writes the live entries of f into a new table; *out is NULL if none is
 * live. On error nothing is left behind. */
static int write_live(struct golite *db, struct table_file *f, uint64_t upto,
		      struct table_file **out)
{
	*out = NULL;
	struct sst_builder *b = NULL;
	uint64_t file_no = 0;
	struct sst_iter *it = sst_iter_new(f->reader);
	sst_iter_set_fill_cache(it, false);
	uint32_t last_table = UINT32_MAX;
	bool dropped = false;
	int r = 0;
	for (sst_iter_seek_first(it); sst_iter_valid(it) && !r; sst_iter_next(it)) {
		size_t sklen, vlen;
		const uint8_t *skey = sst_iter_key(it, &sklen);
		if (entry_dead(db, skey, sklen, upto, &last_table, &dropped))
			continue;
		const void *val = sst_iter_value(it, &vlen);
		r = bg_table_add(db, &b, &file_no, skey, sklen, val, vlen);
	}
	if (!r)
		r = sst_iter_status(it);
	sst_iter_free(it);
	if (r) {
		if (b)
			sst_builder_abandon(b);
		return r;
	}
	if (!b)
		return 0;
	return bg_finish_table(db, b, file_no, f->level, true, out);
}

static bool in_version(const struct version *v, const struct table_file *f)
{
	for (size_t i = 0; i < v->n[f->level]; i++)
		if (v->files[f->level][i] == f)
			return true;
	return false;
}

/* Replaces f by its live entries (or drops it). */
static int rewrite(struct golite *db, struct table_file *f, uint64_t upto)
{
	mutex_lock(&db->bg_mu);
	bool ok = !f->compacting && in_version(db->current, f);
	if (ok)
		f->compacting = true;
	mutex_unlock(&db->bg_mu);
	if (!ok)
		return GOLITE_EBUSY;
	struct table_file *out;
	int r = write_live(db, f, upto, &out);
	if (r == GOLITE_ENOSPC &&
	    space_borrow(db, f->meta.file_size, db->space.log_keep, "reclaiming a table")) {
		r = write_live(db, f, upto, &out);
	}
	mutex_lock(&db->bg_mu);
	if (!r)
		r = bg_replace_table(db, f, out);
	f->compacting = false;
	mutex_unlock(&db->bg_mu);
	return r;
}

/* Deletes noted in ranges that overlap f: at most that many of its
 * entries died by them. */
static uint64_t deletes_over(const struct table_file *f, const struct space_range *r, size_t n)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		if (ikey_skey_cmp(r[i].hi, r[i].hilen, f->meta.smallest, f->meta.smallest_len) >= 0 &&
		    ikey_skey_cmp(r[i].lo, r[i].lolen, f->meta.largest, f->meta.largest_len) <= 0)
			sum += r[i].count;
	return sum;
}

/* True if f is worth reading: deletes may have killed the share of it
 * that a rewrite needs (reading costs a lookup per entry). */
static bool candidate(struct table_file *f, bool all, bool pressed)
{
	return all || atomic_load(&f->reclaim_dead) * (pressed ? 4 : 2) >= f->meta.entries;
}

static bool reclaim_tables(struct golite *db)
{
	struct space *sp = &db->space;
	size_t nr;
	bool all;
	struct space_range *ranges = space_ranges_take(db, &nr, &all);
	bool pressed = space_pressure(db);
	mutex_lock(&db->bg_mu);
	struct version *v = db->current;
	version_ref(v);
	mutex_unlock(&db->bg_mu);
	/* Each table keeps the count of deletes that fell in its range until
	 * a pass reads it: then it keeps what the pass found dead. */
	bool any = false;
	for (int l = 0; l < NUM_LEVELS; l++)
		for (size_t i = 0; i < v->n[l]; i++) {
			struct table_file *f = v->files[l][i];
			if (nr)
				atomic_fetch_add(&f->reclaim_dead, deletes_over(f, ranges, nr));
			any = any || candidate(f, all, pressed);
		}
	space_ranges_free(ranges, nr);
	if (!any) {
		version_unref(v);
		return false;
	}
	atomic_fetch_add(&sp->reclaim_passes, 1);
	uint64_t upto = atomic_load(&db->last_seq);
	if (wal_sync(db->wal)) {
		version_unref(v);
		return false;
	}

	/* The log: what a memtable holds stays on disk in the log until the
	 * memtable is flushed. */
	if (pressed) {
		rcu_read_lock();
		struct memtable *mem = rcu_fetch(db->mem);
		bool flush = mem->ops->memory(mem) >= db->o.memtable_size / 8 &&
			     atomic_load(&mem->entries) > 0;
		rcu_read_unlock();
		if (flush)
			bg_request_flush(db);
	}

	uint64_t reclaimable = 0;
	bool again = false;
	for (int l = 0; l < NUM_LEVELS; l++) {
		for (size_t i = 0; i < v->n[l]; i++) {
			if (atomic_load(&db->closing))
				goto out;
			struct table_file *f = v->files[l][i];
			if (!candidate(f, all, pressed))
				continue;
			struct scan sc;
			if (scan_table(db, f, upto, &sc)) {
				again = true;
				continue;
			}
			atomic_store(&f->reclaim_dead, sc.dead);
			if (sc.dead == 0)
				continue;
			/* Short of space, a table a quarter dead is worth its
			 * rewrite; otherwise half (compaction gets the rest). */
			if (sc.dead < sc.entries && sc.dead_bytes * (pressed ? 4 : 2) < sc.bytes) {
				reclaimable += sc.dead_bytes;
				continue;
			}
			uint64_t before = f->meta.file_size;
			int r = rewrite(db, f, upto);
			if (r) {
				if (r != GOLITE_EBUSY)
					db_log(db, GOLITE_LOG_WARN, "space: reclaiming table %llu failed: %s",
					       (unsigned long long)f->meta.file_no, golite_last_error());
				reclaimable += sc.dead_bytes;
				again = true;
				continue;
			}
			uint64_t after = sc.dead == sc.entries ? 0 : before * (sc.bytes - sc.dead_bytes) / sc.bytes;
			atomic_fetch_add(sc.dead == sc.entries ? &sp->reclaim_dropped
							       : &sp->reclaim_rewritten, 1);
			atomic_fetch_add(&sp->reclaimed_bytes, before - MIN(before, after));
			db_log(db, GOLITE_LOG_INFO, "space: table %llu (level %d): %llu of %llu entries were dead; %s",
			       (unsigned long long)f->meta.file_no, l, (unsigned long long)sc.dead,
			       (unsigned long long)sc.entries,
			       sc.dead == sc.entries ? "dropped" : "rewritten");
		}
	}
out:
	atomic_store(&sp->reclaimable_bytes, reclaimable);
	version_unref(v);
	/* A table busy with compaction meanwhile is tried again soon. */
	return again;
}

bool reclaim_pass(struct golite *db)
{
	if (!db->wal || atomic_load(&db->failed))
		return false;
	bool again = reclaim_tables(db);
	/* Deleted values in value files come back when the collector deletes
	 * the files no reader reaches (vlog.h). */
	int r = vlog_collect(db);
	if (r && r != GOLITE_ENOSPC)
		db_log(db, GOLITE_LOG_WARN, "space: collecting value files failed: %s",
		       golite_strerror(r));
	return again;
}
