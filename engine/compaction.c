/*
 * compaction.c — the store's background work (the seeds' CompactorInterface):
 * merging tables down the levels, publishing each new version, the
 * compaction threads and manual compaction, and opening, starting and
 * stopping all of it. Freezing and flushing memtables is in flush.c, and
 * the choice of what to compact in compaction_pick.c; these three share
 * compaction_int.h.
 *
 * A table that overlaps nothing in the next level moves down without being
 * rewritten. A merge keeps, of each key, the newest version and, for each
 * live snapshot (snapshot.h), the newest version at or below its sequence:
 * the live snapshots' sequences cut the sequence numbers into stripes
 * (snap_stripe), and of the versions of one key in one stripe only the
 * newest is kept (LevelDB's rule, with every snapshot instead of the
 * smallest). An iterator not at a snapshot pins the tables of its own, so
 * it needs nothing more. A tombstone is dropped when it is in the oldest
 * stripe (no snapshot is older: every older version of its key is hidden
 * from everyone) and no deeper level can hold the key; the keys of dropped
 * tables are dropped once the drop itself is durable and no live snapshot
 * sees the table. The versions of one key are never cut between two
 * output tables (invariant 4).
 *
 * Publishing a new version: the manifest (all live tables) is written to a
 * temporary file, synced, renamed and the directory synced; only then is the
 * version switched for readers (rcu_publish) and the tables it no
 * longer holds marked obsolete, so their files are unlinked when the last
 * version and iterator let go of them.
 *
 * Invariants:
 *   1. db->current, db->imm, db->ms and the compacting flags change only
 *      with db->bg_mu held; manifest writes happen with it held, so the
 *      manifest on disk always describes a version that was current.
 *   2. A table's file is in the manifest before any reader can see it, and
 *      leaves the directory only after a manifest without it is on disk.
 *      Files of a flush or compaction cut short by a crash are in no
 *      manifest and are removed by the next open.
 *   3. Tables being compacted are flagged; no two compactions share a
 *      table, and a level-0 compaction includes every level-0 table that
 *      overlaps its inputs, so a moved table never hides a newer one.
 *   4. All versions of a key a merge keeps go to one output table, so a
 *      level's tables never share a key and a point read at a snapshot
 *      finds every version of it in the one table it consults.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compaction_int.h"
#include "db.h"
#include "error.h"
#include "filename.h"
#include "format.h"
#include "io.h"
#include "golite_raw.h"
#include "util.h"

/* ---- tables ---- */

uint64_t bg_new_file_no(struct golite *db)
{
	return atomic_fetch_add(&db->next_file_no, 1);
}

void bg_table_path(struct golite *db, uint64_t file_no, char *path, size_t cap)
{
	file_path(path, cap, db->path, FILE_TABLE, file_no);
}

int bg_table_add(struct golite *db, struct sst_builder **b, uint64_t *file_no,
		 const void *skey, size_t sklen, const void *val, size_t vlen)
{
	if (!*b) {
		*file_no = bg_new_file_no(db);
		char path[PATH_MAX];
		bg_table_path(db, *file_no, path, sizeof(path));
		int r = sst_builder_new(path, *file_no, &db->sst_opts, b);
		if (r)
			return r;
	}
	return sst_builder_add(*b, skey, sklen, val, vlen);
}

struct table_file *bg_table_file_new(uint32_t level, struct sst_meta *meta,
				     struct sst_reader *reader)
{
	struct table_file *f = xcalloc(1, sizeof(*f));
	atomic_init(&f->refs, 0);
	f->level = level;
	f->meta = *meta;
	memset(meta, 0, sizeof(*meta));
	f->reader = reader;
	return f;
}

int bg_finish_table(struct golite *db, struct sst_builder *b, uint64_t file_no, uint32_t level,
		    bool sync_dir, struct table_file **out)
{
	struct sst_meta meta;
	int r = sst_builder_finish(b, &meta);
	if (r)
		return r;
	char path[PATH_MAX];
	bg_table_path(db, file_no, path, sizeof(path));
	if (sync_dir) {
		int s = io_sync_dir(db->path);
		if (s < 0) {
			io_unlink(path);
			sst_meta_free(&meta);
			return set_error(errno_to_golite(-s), "cannot sync %s: %s", db->path,
					 strerror(-s));
		}
	}
	struct sst_reader *reader;
	r = sst_open(path, file_no, db->cache, &reader);
	if (r) {
		io_unlink(path);
		sst_meta_free(&meta);
		return r;
	}
	*out = bg_table_file_new(level, &meta, reader);
	return 0;
}

/* The same table at another level (for a move). */
static struct table_file *table_file_moved(const struct table_file *f, uint32_t level)
{
	struct sst_meta m = f->meta;
	m.smallest = xmemdup(f->meta.smallest, f->meta.smallest_len);
	m.largest = xmemdup(f->meta.largest, f->meta.largest_len);
	sst_ref(f->reader);
	struct table_file *moved = bg_table_file_new(level, &m, f->reader);
	atomic_store(&moved->reclaim_dead, atomic_load(&f->reclaim_dead));
	return moved;
}

/* Drops a table no version holds (a compaction that failed before it
 * made one). */
static void table_file_discard(struct table_file *f)
{
	sst_mark_obsolete(f->reader);
	table_file_ref(f);
	table_file_unref(f);
}

/* ---- publishing ---- */

/* Writes the manifest for version v (bg_mu held). The files are borrowed. */
int bg_write_manifest(struct golite *db, const struct version *v)
{
	struct manifest m = db->ms;
	size_t n = 0;
	for (int l = 0; l < NUM_LEVELS; l++)
		n += v->n[l];
	m.files = xcalloc(n ? n : 1, sizeof(*m.files));
	m.nfiles = 0;
	for (int l = 0; l < NUM_LEVELS; l++)
		for (size_t i = 0; i < v->n[l]; i++)
			m.files[m.nfiles++] = (struct manifest_file){ (uint32_t)l, v->files[l][i]->meta };
	m.next_file_no = atomic_load(&db->next_file_no);
	int r = manifest_write(db->path, &m);
	/* Every flush, compaction and reclaim ends here, the ones that free
	 * space included: on a full disk the manifest draws on the reserve. */
	if (r == GOLITE_ENOSPC && space_borrow(db, 1u << 20, 0, "the manifest"))
		r = manifest_write(db->path, &m);
	free(m.files);
	return r;
}

/* Level-0 count and frozen memtables decide how writers are held back
 * (bg_mu held). */
void bg_update_stall(struct golite *db)
{
	struct version *v = db->current;
	/* Without background compaction nothing would ever lower level 0:
	 * only frozen memtables hold writers back then. */
	size_t l0 = db->o.compaction_threads ? v->n[0] : 0;
	int s = 0;
	if (l0 >= L0_SLOWDOWN)
		s = 1;
	if (l0 >= L0_STOP || (db->imm_count >= MAX_IMM && atomic_load(&db->mem->full)))
		s = 2;
	atomic_store(&db->stall, s);
}

/* Replaces the current version (bg_mu held). */
void bg_publish(struct golite *db, struct version *nv)
{
	struct version *old = db->current;
	db_sources_change_begin(db);
	rcu_publish(db->current, nv);
	db_sources_change_end(db);
	version_unref_deferred(old);
	bg_update_stall(db);
	cond_broadcast(&db->done_cv);
	cond_broadcast(&db->bg_cv);
}

void bg_note_error(struct golite *db, int err, const char *what)
{
	if (err == GOLITE_EIO || err == GOLITE_ECORRUPT)
		atomic_store(&db->failed, 1);
	/* Out of space: the retry may draw on the reserve, leaving the log
	 * its part for deletes (space.h). */
	if (err == GOLITE_ENOSPC)
		space_borrow(db, (uint64_t)db->o.memtable_size + db->o.sstable_size,
			     db->space.log_keep, what);
	db->bg_error = err;
	db->bg_error_ns = now_ns();
	db_log(db, GOLITE_LOG_ERROR, "%s failed: %s (%s)%s", what, golite_last_error(),
	       golite_strerror(err),
	       err == GOLITE_ENOSPC ? "; writes resume when space is freed" : "");
	cond_broadcast(&db->done_cv);
}

/*
 * Gives the heap pages a finished flush or compaction freed back to the
 * kernel. A job allocates and frees buffers of up to a few MiB (table
 * builders, bloom filter hashes, readers' indexes); glibc serves those from
 * the heap once its mmap threshold has grown past them, and keeps what is
 * freed: without this, a 10M-key fill leaves about 500 MiB of free heap
 * resident. Costs a walk of the free lists, once per job of a second or so.
 *
 * Not under AddressSanitizer or ThreadSanitizer: their allocator replaces
 * glibc's, whose heap is then never set up before the first malloc_trim,
 * and two background threads doing that set-up at once crashed a flush
 * thread in glibc's mtrim.
 */
void bg_give_back_heap(void)
{
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	malloc_trim(0);
#endif
}

/* ---- the merge ---- */

struct merge {
	struct sst_iter **its;
	size_t n;
	int cur;
};

static void merge_find(struct merge *m)
{
	m->cur = -1;
	const uint8_t *best = NULL;
	size_t blen = 0;
	for (size_t i = 0; i < m->n; i++) {
		if (!sst_iter_valid(m->its[i]))
			continue;
		size_t len;
		const uint8_t *k = sst_iter_key(m->its[i], &len);
		if (!best || skey_cmp(k, len, best, blen) < 0) {
			best = k;
			blen = len;
			m->cur = (int)i;
		}
	}
}

static int merge_status(struct merge *m)
{
	for (size_t i = 0; i < m->n; i++) {
		int r = sst_iter_status(m->its[i]);
		if (r)
			return r;
	}
	return 0;
}

/* Finishes an output table and opens it for reading. */
static int finish_output(struct golite *db, struct sst_builder *b, uint64_t file_no, int level,
			 struct table_file ***outs, size_t *nouts)
{
	struct table_file *f;
	int r = bg_finish_table(db, b, file_no, (uint32_t)level, false, &f);
	if (r)
		return r;
	*outs = xrealloc(*outs, (*nouts + 1) * sizeof(**outs));
	(*outs)[(*nouts)++] = f;
	return 0;
}

/*
 * Merges the inputs into new tables of the output level (no lock held).
 * On error every output written is removed.
 */
static int run(struct golite *db, struct compaction *c, struct table_file ***outs, size_t *nouts,
	       uint64_t *read_bytes)
{
	*outs = NULL;
	*nouts = 0;
	*read_bytes = 0;
	uint64_t upto;
	mutex_lock(&db->bg_mu);
	upto = db->ms.last_seq;
	mutex_unlock(&db->bg_mu);

	/* Read after the inputs were picked: snapshot.h invariant 1. */
	size_t nseqs;
	uint64_t *seqs = snap_seqs(db, &nseqs);
	uint64_t kept = 0, kept_bytes = 0;

	struct merge m = { .n = c->nin[0] + c->nin[1] };
	m.its = xcalloc(m.n ? m.n : 1, sizeof(*m.its));
	size_t k = 0;
	for (int w = 0; w < 2; w++)
		for (size_t i = 0; i < c->nin[w]; i++) {
			m.its[k] = sst_iter_new(c->in[w][i]->reader);
			sst_iter_set_fill_cache(m.its[k], false);
			sst_iter_seek_first(m.its[k]);
			*read_bytes += c->in[w][i]->meta.file_size;
			k++;
		}

	atomic_fetch_add_explicit(&db->compact_in_bytes, *read_bytes, memory_order_relaxed);
	uint64_t merged = 0, merged_shown = 0;

	int r = 0;
	struct sst_builder *b = NULL;
	uint64_t file_no = 0;
	uint8_t last[IKEY_MAX];
	size_t last_len = 0;
	bool have_last = false;
	uint32_t last_table = UINT32_MAX;
	bool drop_table = false;
	size_t last_stripe = 0;
	for (merge_find(&m); m.cur >= 0 && !r; merge_find(&m)) {
		if (atomic_load(&db->closing) && !c->manual) {
			r = set_error(GOLITE_ECLOSED, "compaction stopped: the store is closing");
			break;
		}
		struct sst_iter *it = m.its[m.cur];
		size_t sklen, vlen;
		const uint8_t *skey = sst_iter_key(it, &sklen);
		size_t iklen = sklen - TRAILER_SIZE;
		uint64_t trailer = get_le64(skey + iklen);
		size_t stripe = snap_stripe(seqs, nseqs, trailer_seq(trailer));
		bool newest = !have_last || ikey_cmp(skey, iklen, last, last_len) != 0;
		/* Of the versions of a key in one stripe only the newest
		 * survives (versions come newest first). */
		if (!newest && stripe == last_stripe) {
			sst_iter_next(it);
			continue;
		}
		last_stripe = stripe;
		if (newest) {
			memcpy(last, skey, iklen);
			last_len = iklen;
			have_last = true;
		}
		uint32_t table = ikey_table(skey);
		if (table != last_table) {
			last_table = table;
			drop_table = bg_discardable(db, table, upto);
		}
		unsigned kind = trailer_kind(trailer);
		bool tomb_dead = kind == KIND_DELETE &&
				 !version_overlaps_below(c->base, c->out_level, skey, iklen, skey, iklen);
		bool drop = drop_table || (tomb_dead && stripe == 0);
		if (!drop) {
			/* Kept only for a snapshot: an older version, or a
			 * tombstone that would go without them. */
			if (!newest || tomb_dead) {
				size_t kvlen;
				sst_iter_value(it, &kvlen);
				kept++;
				kept_bytes += sklen + kvlen;
			}
			if (newest && b && sst_builder_size(b) >= db->o.sstable_size) {
				r = finish_output(db, b, file_no, c->out_level, outs, nouts);
				b = NULL;
				if (r)
					break;
			}
			const void *val = sst_iter_value(it, &vlen);
			r = bg_table_add(db, &b, &file_no, skey, sklen, val, vlen);
			if (r)
				break;
			merged += sklen + vlen;
		} else {
			merged += sklen;
		}
		/* Progress for the figures, about every 64 KiB. */
		if (merged - merged_shown >= (64u << 10)) {
			atomic_fetch_add_explicit(&db->compact_merged_bytes, merged - merged_shown,
						  memory_order_relaxed);
			merged_shown = merged;
		}
		sst_iter_next(it);
	}
	atomic_fetch_sub_explicit(&db->compact_merged_bytes, merged_shown, memory_order_relaxed);
	atomic_fetch_sub_explicit(&db->compact_in_bytes, *read_bytes, memory_order_relaxed);
	free(seqs);
	if (!r)
		r = merge_status(&m);
	if (!r)
		snap_note_kept(db, kept, kept_bytes);
	if (!r && b) {
		r = finish_output(db, b, file_no, c->out_level, outs, nouts);
		b = NULL;
	}
	if (b)
		sst_builder_abandon(b);
	for (size_t i = 0; i < m.n; i++)
		sst_iter_free(m.its[i]);
	free(m.its);
	if (!r && *nouts) {
		int s = io_sync_dir(db->path);
		if (s < 0)
			r = set_error(errno_to_golite(-s), "cannot sync %s: %s", db->path, strerror(-s));
	}
	if (r) {
		for (size_t i = 0; i < *nouts; i++)
			table_file_discard((*outs)[i]);
		free(*outs);
		*outs = NULL;
		*nouts = 0;
	}
	return r;
}

/* Installs the result of a compaction (bg_mu held). Takes outs. */
static int install(struct golite *db, struct compaction *c, struct table_file **outs,
		   size_t nouts, uint64_t read_bytes)
{
	size_t ndel = c->nin[0] + c->nin[1];
	struct table_file **del = xmalloc((ndel ? ndel : 1) * sizeof(*del));
	memcpy(del, c->in[0], c->nin[0] * sizeof(*del));
	if (c->nin[1])
		memcpy(del + c->nin[0], c->in[1], c->nin[1] * sizeof(*del));
	struct manifest saved = db->ms;
	uint8_t *saved_ptr = db->ms.compact_ptr[c->level];
	uint8_t *new_ptr = NULL;
	if (c->level > 0 && c->nin[0]) {
		/* Round robin: next time start after the largest key taken. */
		const struct sst_meta *last = &c->in[0][c->nin[0] - 1]->meta;
		new_ptr = xmemdup(last->largest, last->largest_len);
		db->ms.compact_ptr[c->level] = new_ptr;
		db->ms.compact_ptr_len[c->level] = last->largest_len;
	}
	for (size_t i = 0; i < nouts; i++)
		db->ms.compact_bytes += outs[i]->meta.file_size;
	db->ms.compact_read_bytes += read_bytes;
	struct version *nv = version_apply(db->current, del, ndel, outs, nouts);
	int r = bg_write_manifest(db, nv);
	if (r) {
		db->ms = saved;
		db->ms.compact_ptr[c->level] = saved_ptr;
		free(new_ptr);
		/* nv holds the only references to the outputs: they go with it.
		 * Their files stay, as after a failed flush. */
		version_unref(nv);
		free(outs);
		free(del);
		return r;
	}
	if (new_ptr)
		free(saved_ptr);
	bg_publish(db, nv);
	for (size_t i = 0; i < ndel; i++)
		sst_mark_obsolete(del[i]->reader);
	free(outs);
	free(del);
	return 0;
}

int bg_replace_table(struct golite *db, struct table_file *old, struct table_file *out)
{
	struct version *nv = version_apply(db->current, &old, 1, out ? &out : NULL, out ? 1 : 0);
	int r = bg_write_manifest(db, nv);
	if (r) {
		/* out, whose only reference nv holds, goes with it; its file
		 * stays until the next open, as after a failed compaction. */
		version_unref(nv);
		return r;
	}
	if (out)
		db->ms.compact_bytes += out->meta.file_size;
	bg_publish(db, nv);
	sst_mark_obsolete(old->reader);
	return 0;
}

/* Moves a single table to the output level (bg_mu held). */
static int move_down(struct golite *db, struct compaction *c)
{
	struct table_file *f = c->in[0][0];
	struct table_file *moved = table_file_moved(f, (uint32_t)c->out_level);
	struct version *nv = version_apply(db->current, &f, 1, &moved, 1);
	int r = bg_write_manifest(db, nv);
	if (r) {
		/* moved, whose only reference nv holds, goes with it; the table
		 * stays where it was. */
		version_unref(nv);
		return r;
	}
	bg_publish(db, nv);
	atomic_fetch_add(&db->trivial_moves, 1);
	return 0;
}

/* Runs one picked compaction to completion (called without bg_mu). */
static int execute(struct golite *db, struct compaction *c)
{
	int r;
	if (c->nin[0] == 1 && c->nin[1] == 0 && c->out_level != c->level) {
		mutex_lock(&db->bg_mu);
		r = move_down(db, c);
		compaction_set_compacting(c, false);
		mutex_unlock(&db->bg_mu);
		return r;
	}
	struct table_file **outs;
	size_t nouts;
	uint64_t read_bytes;
	r = run(db, c, &outs, &nouts, &read_bytes);
	mutex_lock(&db->bg_mu);
	if (!r)
		r = install(db, c, outs, nouts, read_bytes);
	compaction_set_compacting(c, false);
	mutex_unlock(&db->bg_mu);
	if (!r)
		atomic_fetch_add(&db->compactions, 1);
	return r;
}

/* True if the output of c can be written: a merge writes up to the size
 * of its inputs before it removes them (bg_mu held). Moves write nothing. */
static bool fits(struct golite *db, const struct compaction *c)
{
	if (c->nin[0] == 1 && c->nin[1] == 0 && c->out_level != c->level)
		return true;
	uint64_t in = 0;
	for (int w = 0; w < 2; w++)
		for (size_t i = 0; i < c->nin[w]; i++)
			in += c->in[w][i]->meta.file_size;
	return space_room(db) >= in;
}

static void *compact_thread(void *arg)
{
	struct golite *db = arg;
	rcu_thread_ensure();
	pthread_setname_np(pthread_self(), "golite-compact");
	mutex_lock(&db->bg_mu);
	while (!db->bg_stop) {
		bool retry_wait = db->bg_error && now_ns() < db->bg_error_ns + BG_RETRY_NS;
		struct compaction *c = NULL;
		if (!retry_wait && !db->manual_running && !atomic_load(&db->failed))
			c = compaction_pick(db);
		if (c && !fits(db, c)) {
			/* Its output would not fit: it waits for space rather
			 * than hold its tables (which reclaim may be after) and
			 * draw on the reserve only to fail. */
			compaction_set_compacting(c, false);
			compaction_free(c);
			c = NULL;
			if (!db->space_deferred)
				db_log(db, GOLITE_LOG_INFO, "compaction waits for space");
			db->space_deferred = true;
			/* Writers held back by level 0 learn why instead of
			 * waiting for it. */
			db->bg_error = GOLITE_ENOSPC;
			db->bg_error_ns = now_ns();
			cond_broadcast(&db->done_cv);
			cond_wait_until(&db->bg_cv, &db->bg_mu, now_ns() + BG_RETRY_NS);
			continue;
		}
		db->space_deferred = false;
		if (!c) {
			if (retry_wait)
				cond_wait_until(&db->bg_cv, &db->bg_mu, db->bg_error_ns + BG_RETRY_NS);
			else
				cond_wait(&db->bg_cv, &db->bg_mu);
			continue;
		}
		db->compactions_running++;
		mutex_unlock(&db->bg_mu);
		int r = execute(db, c);
		compaction_free(c);
		bg_give_back_heap();
		mutex_lock(&db->bg_mu);
		db->compactions_running--;
		if (r && r != GOLITE_ECLOSED)
			bg_note_error(db, r, "compaction");
		else if (!r)
			db->bg_error = 0;
		cond_broadcast(&db->done_cv);
	}
	mutex_unlock(&db->bg_mu);
	return NULL;
}

/* ---- manual compaction ---- */

int golite_compact_range(golite *db, const char *table, const void *lower, size_t lower_len,
			 const void *upper, size_t upper_len)
{
	if (!db)
		return set_error(GOLITE_EINVAL, "store handle is NULL");
	if (atomic_load(&db->closing))
		return set_error(GOLITE_ECLOSED, "the store is closed");
	rcu_thread_ensure();
	if (db->o.read_only)
		return set_error(GOLITE_EROFS, "the store was opened read-only");
	if ((lower_len && !lower) || (upper_len && !upper) || lower_len > GOLITE_MAX_KEY_SIZE ||
	    upper_len > GOLITE_MAX_KEY_SIZE)
		return set_error(GOLITE_EINVAL, "bad compaction bounds");
	uint8_t lo[IKEY_MAX], hi[IKEY_MAX];
	size_t lolen = 0, hilen = 0;
	const uint8_t *plo = NULL, *phi = NULL;
	if (table) {
		uint32_t id;
		int r = golite_table_id(db, table, &id);
		if (r)
			return r;
		lolen = ikey_make(lo, id, lower, lower ? lower_len : 0);
		plo = lo;
		if (upper) {
			hilen = ikey_make(hi, id, upper, upper_len);
		} else {
			/* Every key of the table is below the next table's prefix. */
			put_be32(hi, id + 1);
			hilen = IKEY_PREFIX;
		}
		phi = hi;
	}
	if (db->o.progress)
		db->o.progress(db->o.progress_ctx, "flush", 0, 1);
	int r = bg_flush(db);
	if (r)
		return r;
	if (db->o.progress)
		db->o.progress(db->o.progress_ctx, "flush", 1, 1);

	mutex_lock(&db->bg_mu);
	db->manual_running++;
	while (db->compactions_running > 0)
		cond_wait(&db->done_cv, &db->bg_mu);
	/* The deepest level holding keys of the range. */
	int deepest = -1;
	for (int l = 0; l < NUM_LEVELS; l++) {
		struct table_file **v;
		if (compaction_overlapping(db->current, l, plo, lolen, phi, hilen, &v))
			deepest = l;
		free(v);
	}
	uint64_t total = 0, done = 0;
	for (int l = 0; l <= deepest; l++)
		total += db->current->bytes[l];
	for (int l = 0; l <= deepest && !r; l++) {
		if (db->o.progress)
			db->o.progress(db->o.progress_ctx, "compact", done, total);
		done += db->current->bytes[l];
		struct compaction *c = xcalloc(1, sizeof(*c));
		c->manual = true;
		c->level = l;
		c->out_level = l == deepest ? MAX(l, 1) : l + 1;
		c->base = db->current;
		version_ref(c->base);
		c->nin[0] = compaction_overlapping(c->base, l, plo, lolen, phi, hilen, &c->in[0]);
		if (l == 0 && c->nin[0])
			c->nin[0] = compaction_close_level0(c->base, &c->in[0], c->nin[0]);
		if (!c->nin[0] || !compaction_add_output_level(c)) {
			compaction_free(c);
			continue;
		}
		compaction_set_compacting(c, true);
		mutex_unlock(&db->bg_mu);
		if (c->nin[0] == 1 && c->nin[1] == 0 && c->out_level != c->level) {
			mutex_lock(&db->bg_mu);
			r = move_down(db, c);
			compaction_set_compacting(c, false);
			mutex_unlock(&db->bg_mu);
		} else {
			r = execute(db, c);
		}
		compaction_free(c);
		mutex_lock(&db->bg_mu);
		if (l == 0 && deepest == 0)
			break;
	}
	if (db->o.progress && !r)
		db->o.progress(db->o.progress_ctx, "compact", total, total);
	db->manual_running--;
	cond_broadcast(&db->bg_cv);
	cond_broadcast(&db->done_cv);
	mutex_unlock(&db->bg_mu);
	return r;
}

/* ---- open, start, stop ---- */

int bg_open(struct golite *db, struct manifest *m)
{
	sst_options_init(&db->sst_opts);
	db->sst_opts.bloom_bits_per_key = db->o.bloom_bits_per_key;
	db->sst_opts.compression = db->o.compression;
	db->cache = block_cache_new(db->o.block_cache_size);
	mutex_init(&db->bg_mu);
	cond_init(&db->bg_cv);
	cond_init(&db->done_cv);

	struct table_file **files = xcalloc(m->nfiles ? m->nfiles : 1, sizeof(*files));
	size_t n = 0;
	int r = 0;
	for (size_t i = 0; i < m->nfiles; i++) {
		char path[PATH_MAX];
		bg_table_path(db, m->files[i].meta.file_no, path, sizeof(path));
		struct sst_reader *reader;
		r = sst_open(path, m->files[i].meta.file_no, db->cache, &reader);
		if (r) {
			if (r == GOLITE_ENOTFOUND || r == GOLITE_EIO) {
				/* The cause is in the message buffer set_error writes. */
				char cause[512];
				snprintf(cause, sizeof(cause), "%s", golite_last_error());
				r = set_error(GOLITE_ECORRUPT,
					      "%s: table named by the manifest cannot be opened: %s",
					      path, cause);
			}
			/* The metas of the tables not opened stay with m. */
			for (size_t j = i; j < m->nfiles; j++)
				sst_meta_free(&m->files[j].meta);
			break;
		}
		files[n++] = bg_table_file_new(m->files[i].level, &m->files[i].meta, reader);
	}
	struct version *empty = version_new_empty();
	db->current = version_apply(empty, NULL, 0, files, n);
	version_unref(empty);
	free(files);
	/* The manifest's counters and pointers; its files now live in the
	 * version (their metas were moved out). */
	db->ms = *m;
	db->ms.files = NULL;
	db->ms.nfiles = 0;
	free(m->files);
	memset(m, 0, sizeof(*m));
	if (r)
		return r;

	/* Level >= 1 tables must not overlap. */
	for (int l = 1; l < NUM_LEVELS; l++)
		for (size_t i = 1; i < db->current->n[l]; i++) {
			const struct sst_meta *a = &db->current->files[l][i - 1]->meta;
			const struct sst_meta *b = &db->current->files[l][i]->meta;
			if (skey_cmp(a->largest, a->largest_len, b->smallest, b->smallest_len) >= 0) {
				char path[PATH_MAX];
				file_path(path, sizeof(path), db->path, FILE_MANIFEST, 0);
				return set_error(GOLITE_ECORRUPT,
						 "%s: tables %llu and %llu of level %d overlap", path,
						 (unsigned long long)a->file_no,
						 (unsigned long long)b->file_no, l);
			}
		}
	return 0;
}

/* Removes files no manifest names: outputs of work cut short by a crash,
 * temporary files, and flushed log segments. */
static void remove_leftovers(struct golite *db)
{
	uint64_t *nums;
	size_t count;
	if (file_list(db->path, FILE_TABLE, &nums, &count) == 0) {
		for (size_t i = 0; i < count; i++) {
			bool live = false;
			for (int l = 0; l < NUM_LEVELS && !live; l++)
				for (size_t j = 0; j < db->current->n[l] && !live; j++)
					live = db->current->files[l][j]->meta.file_no == nums[i];
			if (live)
				continue;
			char p[PATH_MAX];
			bg_table_path(db, nums[i], p, sizeof(p));
			db_log(db, GOLITE_LOG_INFO, "removing %s, which no manifest names", p);
			io_unlink(p);
		}
		free(nums);
	}
	char p[PATH_MAX];
	file_temp_path(p, sizeof(p), db->path, MANIFEST_FILE);
	io_unlink(p);
	file_temp_path(p, sizeof(p), db->path, STORE_FILE);
	io_unlink(p);
	bg_remove_old_segments(db, db->ms.log_number);
}

int bg_start(struct golite *db)
{
	remove_leftovers(db);
	mutex_lock(&db->bg_mu);
	bg_update_stall(db);
	uint64_t retire = 0;
	if (atomic_load(&db->mem->entries)) {
		/* Writes replayed from the log: flush them now, so that the
		 * segments they came from are retired and the next open does not
		 * replay them again. */
		atomic_store(&db->mem->full, 1);
		db->flush_requested = true;
	} else if (db->ms.log_number < db->mem->wal_segno) {
		/* Nothing to replay: the older segments hold only flushed data. */
		uint64_t saved = db->ms.log_number;
		db->ms.log_number = db->mem->wal_segno;
		if (bg_write_manifest(db, db->current) == 0) {
			retire = db->ms.log_number;
		} else {
			db->ms.log_number = saved;
			db_log(db, GOLITE_LOG_WARN, "cannot retire old log segments: %s",
			       golite_last_error());
		}
	}
	mutex_unlock(&db->bg_mu);
	if (retire)
		bg_remove_old_segments(db, retire);
	if (pthread_create(&db->flush_thread, NULL, bg_flush_thread, db))
		FATAL("pthread_create");
	db->ncompact_threads = db->o.compaction_threads;
	db->compact_threads = xcalloc(db->ncompact_threads ? db->ncompact_threads : 1,
				      sizeof(pthread_t));
	for (uint32_t i = 0; i < db->ncompact_threads; i++)
		if (pthread_create(&db->compact_threads[i], NULL, compact_thread, db))
			FATAL("pthread_create");
	return 0;
}

void bg_stop(struct golite *db)
{
	if (!db->compact_threads)
		return;
	mutex_lock(&db->bg_mu);
	db->bg_stop = true;
	cond_broadcast(&db->bg_cv);
	cond_broadcast(&db->done_cv);
	mutex_unlock(&db->bg_mu);
	pthread_join(db->flush_thread, NULL);
	for (uint32_t i = 0; i < db->ncompact_threads; i++)
		pthread_join(db->compact_threads[i], NULL);
	free(db->compact_threads);
	db->compact_threads = NULL;
}

void bg_close(struct golite *db)
{
	if (db->current) {
		version_unref(db->current);
		db->current = NULL;
	}
	/* Tables are closed after a grace period; then the cache can go. */
	rcu_barrier();
	block_cache_free(db->cache);
	db->cache = NULL;
	manifest_free(&db->ms);
	pthread_cond_destroy(&db->done_cv);
	pthread_cond_destroy(&db->bg_cv);
	pthread_mutex_destroy(&db->bg_mu);
}

void bg_prefetch(struct golite *db, const uint8_t *ikey, size_t iklen, uint64_t hash)
{
	version_prefetch(rcu_fetch(db->current), ikey, iklen, hash);
}

int bg_get(struct golite *db, const uint8_t *ikey, size_t iklen, uint64_t hash, uint64_t snap,
	   struct mt_entry *e)
{
	return version_get(rcu_fetch(db->current), ikey, iklen, hash, snap, e);
}

/* Bytes over the level targets: levels 1.. above their size, and all of
 * level 0 once it holds L0_COMPACT_TRIGGER tables. */
static uint64_t debt_bytes(struct golite *db, const struct version *v)
{
	uint64_t debt = 0;
	for (int l = 1; l < NUM_LEVELS - 1; l++)
		if (v->bytes[l] > bg_level_max_bytes(db, l))
			debt += v->bytes[l] - bg_level_max_bytes(db, l);
	if (v->n[0] >= L0_COMPACT_TRIGGER)
		debt += v->bytes[0];
	return debt;
}

_Static_assert(NUM_LEVELS == GOLITE_STATS_LEVELS, "golite_stats has a slot per level");

void bg_figures(struct golite *db, golite_stats *s)
{
	mutex_lock(&db->bg_mu);
	struct version *v = db->current;
	for (int l = 0; l < NUM_LEVELS; l++) {
		s->level_tables[l] = v->n[l];
		s->level_bytes[l] = v->bytes[l];
	}
	s->frozen_memtables = (uint64_t)db->imm_count;
	s->compactions_running = (uint64_t)db->compactions_running;
	s->compaction_bytes_read = db->ms.compact_read_bytes;
	s->compaction_bytes_written = db->ms.compact_bytes;
	s->compaction_debt_bytes = debt_bytes(db, v);
	mutex_unlock(&db->bg_mu);
	s->flushes = atomic_load(&db->flushes);
	s->compactions = atomic_load(&db->compactions);
	s->compaction_running_input_bytes = atomic_load(&db->compact_in_bytes);
	s->compaction_running_merged_bytes = atomic_load(&db->compact_merged_bytes);
	s->block_cache_capacity = db->cache ? block_cache_capacity(db->cache) : 0;
}

void bg_stats(struct golite *db, FILE *f)
{
	mutex_lock(&db->bg_mu);
	struct version *v = db->current;
	uint64_t total = 0, files = 0;
	for (int l = 0; l < NUM_LEVELS; l++) {
		fprintf(f, "level%d_tables %zu\n", l, v->n[l]);
		fprintf(f, "level%d_bytes %llu\n", l, (unsigned long long)v->bytes[l]);
		total += v->bytes[l];
		files += v->n[l];
	}
	uint64_t bottom = 0;
	for (int l = NUM_LEVELS - 1; l >= 0 && !bottom; l--)
		bottom = v->bytes[l];
	fprintf(f, "sstables %llu\n", (unsigned long long)files);
	fprintf(f, "sstable_bytes %llu\n", (unsigned long long)total);
	fprintf(f, "sstable_entries %llu\n", (unsigned long long)v->entries);
	fprintf(f, "flushes %llu\n", (unsigned long long)atomic_load(&db->flushes));
	fprintf(f, "compactions %llu\n", (unsigned long long)atomic_load(&db->compactions));
	fprintf(f, "trivial_moves %llu\n", (unsigned long long)atomic_load(&db->trivial_moves));
	fprintf(f, "compactions_running %d\n", db->compactions_running);
	fprintf(f, "flush_bytes %llu\n", (unsigned long long)db->ms.flush_bytes);
	fprintf(f, "compaction_bytes_written %llu\n", (unsigned long long)db->ms.compact_bytes);
	fprintf(f, "compaction_bytes_read %llu\n", (unsigned long long)db->ms.compact_read_bytes);
	fprintf(f, "user_bytes_flushed %llu\n", (unsigned long long)db->ms.user_bytes);
	/* Write amplification: table bytes written per user byte flushed (the
	 * log adds about one more). Space amplification: table bytes per byte
	 * of the deepest level, which holds most live data. */
	fprintf(f, "write_amplification %.2f\n",
		db->ms.user_bytes ? (double)(db->ms.flush_bytes + db->ms.compact_bytes) /
					    (double)db->ms.user_bytes
				  : 0.0);
	fprintf(f, "space_amplification %.2f\n", bottom ? (double)total / (double)bottom : 0.0);
	fprintf(f, "compaction_debt_bytes %llu\n", (unsigned long long)debt_bytes(db, v));
	fprintf(f, "compaction_running_input_bytes %llu\n",
		(unsigned long long)atomic_load(&db->compact_in_bytes));
	fprintf(f, "compaction_running_merged_bytes %llu\n",
		(unsigned long long)atomic_load(&db->compact_merged_bytes));
	fprintf(f, "frozen_memtables %d\n", db->imm_count);
	fprintf(f, "write_stall %s\n",
		atomic_load(&db->stall) == 2	  ? (v->n[0] >= L0_STOP ? "stopped_level0"
								       : "stopped_memtables")
		: atomic_load(&db->stall) == 1 ? "slowed_level0"
					       : "none");
	fprintf(f, "stall_micros %llu\n", (unsigned long long)atomic_load(&db->stall_micros));
	fprintf(f, "background_error %s\n", db->bg_error ? golite_strerror(db->bg_error) : "none");
	mutex_unlock(&db->bg_mu);
	if (db->cache) {
		fprintf(f, "block_cache_bytes %zu\n", block_cache_used(db->cache));
		fprintf(f, "block_cache_capacity %zu\n", block_cache_capacity(db->cache));
		fprintf(f, "block_cache_hits %llu\n",
			(unsigned long long)block_cache_hits(db->cache));
		fprintf(f, "block_cache_misses %llu\n",
			(unsigned long long)block_cache_misses(db->cache));
	}
}
