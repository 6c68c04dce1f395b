/*
 * sweep.c — the mount's background work and its consistency passes.
 *
 * Background thread:
 *   - frees the nodes the kernel forgot, after their grace period (node.c);
 *   - writes the size and times of files written since (the dirty list,
 *     persist.c) every min(sync_interval_ms, 1000) ms, so that a file held
 *     open is as durable as the durability mode promises, one interval
 *     later;
 *   - sweeps orphaned chunks, and the names of linked files the API
 *     overwrote or deleted (hardlink.c), at mount and every
 *     sweep_interval seconds.
 *
 * Orphaned chunks. Chunks are keyed by inode number, and the owner record
 * "O"+ino (fs.h invariant 3) names the key whose record owns them. Chunks
 * become orphans when that record goes away without the daemon freeing
 * them: a key overwritten or deleted through the API while unmounted
 * (golite_put over a chunked file, golite_table_drop), a crash before the
 * last close of a file unlinked while open, a huge deletion cut short. The
 * sweep walks GOLITE_TABLE_CHUNKS one inode at a time (a seek per inode, not a
 * read of every chunk), and an inode is an orphan when no owner record
 * names it, or the record its owner names is not a chunked file with that
 * inode number. Candidates are checked again with the namespace lock held
 * exclusive (every change of records holds it shared), and inodes of
 * files unlinked while open are spared. Orphans never come back (inode
 * numbers are not reused), so their chunks are deleted without the lock.
 *
 * Trim pass. After a crash (no clean-unmount marker "C" in GOLITE_TABLE_FS), a
 * chunked file may hold chunk data past the size in its record: the size
 * of later writes was still in memory. Before the mount is served, every
 * chunked file is cut to its recorded size, so that bytes past it read as
 * zeros when the file grows again (fs.h invariant 2).
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"
#include "data.h"
#include "hardlink.h"
#include "persist.h"
#include "util.h"

/* True if chunks of ino belong to a live file (or might: errors count as
 * live). Caller holds ns exclusive, or nothing runs concurrently. */
static bool ino_live(struct gfs *fs, uint64_t ino)
{
	if (open_inos_has(fs, ino))
		return true;
	uint8_t okey[9];
	okey[0] = FSKEY_OWNER;
	put_be64(okey + 1, ino);
	struct rec own;
	int r = rec_get(fs, GOLITE_TABLE_FS, okey, sizeof(okey), &own);
	if (r) {
		rec_free(&own);
		return r != -ENOENT;
	}
	bool live = false;
	if (own.len >= 5) {
		uint32_t table = get_le32(own.data);
		struct rec rec;
		r = rec_get(fs, table, own.data + 4, own.len - 4, &rec);
		if (r == 0 && rec.kind == GOLITE_KIND_META) {
			struct vfile f;
			live = vfile_decode(rec.data, rec.len, &f) != 0 ||
			       (f.ino == ino && f.type == VFILE_REG && (f.flags & VFILE_F_CHUNKED));
		} else if (r && r != -ENOENT) {
			live = true;
		}
		rec_free(&rec);
	}
	rec_free(&own);
	return live;
}

static int free_inode(struct gfs *fs, uint64_t ino, size_t *count)
{
	golite_batch *b = golite_batch_new();
	bool was = gfs_frees_space(true);
	int r = chunks_delete_from(fs, b, ino, 0, count);
	if (!r)
		r = owner_delete(b, ino);
	if (!r)
		r = gfs_write_batch(fs, b, "delete orphaned chunks");
	gfs_frees_space(was);
	golite_batch_free(b);
	return r;
}

/* One sweep of the names of linked files, then over GOLITE_TABLE_CHUNKS.
 * locked: take ns to check candidates. */
static int sweep_orphans(struct gfs *fs, bool locked)
{
	uint64_t stale, orphans;
	hlink_sweep(fs, &stale, &orphans);
	atomic_fetch_add(&fs->sweep_stale_names, stale);
	atomic_fetch_add(&fs->sweep_orphans, orphans);
	if (stale || orphans)
		gfs_log(LOG_LVL_INFO, "sweep: removed %llu stale names of linked files, freed "
			"%llu linked files left without a name", (unsigned long long)stale,
			(unsigned long long)orphans);
	golite_iter *it;
	int r = golite_iter_new_raw(fs->db, GOLITE_TABLE_CHUNKS, NULL, &it);
	if (r)
		return -gfs_errno(r, "sweep chunks");
	uint64_t *cand = NULL;
	size_t n = 0, cap = 0;
	golite_iter_seek_first(it);
	while (golite_iter_valid(it)) {
		size_t klen;
		const uint8_t *k = golite_iter_key(it, &klen);
		if (klen < 8)
			break;
		uint64_t ino = get_be64(k);
		if (!ino_live(fs, ino)) {
			if (n == cap)
				cand = xrealloc(cand, (cap = cap ? cap * 2 : 64) * sizeof(*cand));
			cand[n++] = ino;
		}
		if (ino == UINT64_MAX)
			break;
		uint8_t next[8];
		put_be64(next, ino + 1);
		golite_iter_seek(it, next, sizeof(next));
	}
	r = golite_iter_status(it);
	golite_iter_free(it);
	if (r) {
		free(cand);
		return -gfs_errno(r, "sweep chunks");
	}
	for (size_t i = 0; i < n; i++) {
		if (locked)
			ns_wrlock(fs);
		bool live = ino_live(fs, cand[i]);
		if (locked)
			ns_wrunlock(fs);
		if (live)
			continue;
		size_t count = 0;
		r = free_inode(fs, cand[i], &count);
		if (r)
			break;
		atomic_fetch_add(&fs->sweep_orphans, 1);
		atomic_fetch_add(&fs->sweep_chunks, count);
		gfs_log(LOG_LVL_INFO, "sweep: freed %zu chunks of orphaned inode %llu", count,
			(unsigned long long)cand[i]);
	}
	free(cand);
	atomic_fetch_add(&fs->sweep_runs, 1);
	return r;
}

/* Cuts every chunked file to the size in its record (see the top). */
static int trim_pass(struct gfs *fs)
{
	uint8_t prefix = FSKEY_OWNER;
	golite_iter_options o = { .prefix = &prefix, .prefix_len = 1 };
	golite_iter *it;
	int r = golite_iter_new_raw(fs->db, GOLITE_TABLE_FS, &o, &it);
	if (r)
		return -gfs_errno(r, "check chunked files");
	golite_batch *b = golite_batch_new();
	for (golite_iter_seek_first(it); golite_iter_valid(it) && !r; golite_iter_next(it)) {
		size_t klen, vlen;
		const uint8_t *k = golite_iter_key(it, &klen);
		const uint8_t *v = golite_iter_value_raw(it, &vlen);
		if (klen != 9 || vlen < 5)
			continue;
		uint64_t ino = get_be64(k + 1);
		struct rec rec;
		int e = rec_get(fs, get_le32(v), v + 4, vlen - 4, &rec);
		struct vfile f = { 0 };
		bool live = e == 0 && rec.kind == GOLITE_KIND_META && vfile_decode(rec.data, rec.len, &f) == 0 &&
			    f.ino == ino && f.type == VFILE_REG && (f.flags & VFILE_F_CHUNKED);
		uint64_t size = live ? f.size : 0;
		rec_free(&rec);
		if (e && e != -ENOENT) {
			r = e;
			break;
		}
		if (!live)
			continue;  /* an orphan: the sweep frees it */
		size_t before = golite_batch_count(b);
		r = chunks_trim(fs, b, ino, size);
		atomic_fetch_add(&fs->trim_chunks, golite_batch_count(b) - before);
		if (!r && golite_batch_count(b) >= 4096) {
			r = gfs_write_batch(fs, b, "trim chunked files");
			golite_batch_clear(b);
		}
	}
	if (!r && golite_iter_status(it))
		r = -gfs_errno(golite_iter_status(it), "check chunked files");
	golite_iter_free(it);
	if (!r)
		r = gfs_write_batch(fs, b, "trim chunked files");
	golite_batch_free(b);
	return r;
}

static int clean_marker_put(struct gfs *fs, bool clean)
{
	uint8_t key = FSKEY_CLEAN;
	char v = clean ? '1' : '0';
	/* One byte, written on a full disk too: without it the next mount
	 * would take this one for a crash. */
	bool was = gfs_frees_space(true);
	int r = gfs_put_raw(fs, GOLITE_TABLE_FS, GOLITE_KIND_VALUE, &key, 1, &v, 1);
	gfs_frees_space(was);
	return r ? -gfs_errno(r, "write the clean-unmount marker") : 0;
}

int sweep_at_mount(struct gfs *fs)
{
	if (fs->o.read_only)
		return 0;
	uint8_t key = FSKEY_CLEAN;
	char v = 0;
	unsigned kind;
	size_t vlen;
	int e = golite_get_raw(fs->db, GOLITE_TABLE_FS, &key, 1, &kind, &v, 1, NULL, &vlen);
	bool clean = e == 0 && vlen == 1 && v == '1';
	if (e && e != GOLITE_ENOTFOUND)
		return -gfs_errno(e, "read the clean-unmount marker");
	if (!clean) {
		bool was = gfs_frees_space(true);
		int r = trim_pass(fs);
		gfs_frees_space(was);
		if (r)
			return r;
		if (atomic_load(&fs->trim_chunks))
			gfs_log(LOG_LVL_INFO, "after an unclean shutdown: cut %llu chunks past the "
				"sizes of their files", (unsigned long long)atomic_load(&fs->trim_chunks));
	}
	return clean_marker_put(fs, false);
}

int sweep_at_unmount(struct gfs *fs)
{
	if (fs->o.read_only)
		return 0;
	return clean_marker_put(fs, true);
}

static void *bg_main(void *arg)
{
	struct gfs *fs = arg;
	scan_keys(fs);
	if (!fs->o.read_only)
		sweep_orphans(fs, true);
	uint64_t flush_ns = (uint64_t)MIN(fs->o.sync_interval_ms, 1000u) * 1000000ull;
	uint64_t sweep_ns = (uint64_t)fs->o.sweep_interval_s * 1000000000ull;
	uint64_t next_sweep = now_ns() + sweep_ns;
	mutex_lock(&fs->bg_mu);
	while (!fs->bg_stop) {
		uint64_t deadline = now_ns() + flush_ns;
		if (sweep_ns && next_sweep < deadline)
			deadline = next_sweep;
		cond_wait_until(&fs->bg_cv, &fs->bg_mu, deadline);
		if (fs->bg_stop)
			break;
		mutex_unlock(&fs->bg_mu);
		metrics_sample(fs);
		dirty_flush_all(fs);
		nodes_reap(fs, false);
		if (sweep_ns && now_ns() >= next_sweep && !fs->o.read_only) {
			sweep_orphans(fs, true);
			next_sweep = now_ns() + sweep_ns;
		}
		mutex_lock(&fs->bg_mu);
	}
	mutex_unlock(&fs->bg_mu);
	golite_thread_detach();
	return NULL;
}

void gfs_bg_start(struct gfs *fs)
{
	mutex_init(&fs->bg_mu);
	cond_init(&fs->bg_cv);
	fs->bg_stop = false;
	if (pthread_create(&fs->bg, NULL, bg_main, fs))
		FATAL("pthread_create");
	fs->bg_started = true;
}

void gfs_bg_stop(struct gfs *fs)
{
	if (!fs->bg_started)
		return;
	mutex_lock(&fs->bg_mu);
	fs->bg_stop = true;
	cond_broadcast(&fs->bg_cv);
	mutex_unlock(&fs->bg_mu);
	pthread_join(fs->bg, NULL);
	fs->bg_started = false;
}
