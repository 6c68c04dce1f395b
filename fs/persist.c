/*
 * persist.c — the records of nodes: where a node's record is, loading it
 * with the node's attributes laid over it, storing it, giving entries
 * without one a record of their own, the times of directories, and the
 * sizes and times of files kept in memory until they are written.
 *
 * Writes into a chunked file change its size and times in the node only
 * (data.c); the node goes on the dirty list and its record is written on
 * release, fsync, setattr and by the background thread within a second
 * (sweep.c), or at once with the bytes when a write grows the file.
 *
 * Invariants:
 *   1. A node's attributes are never older than its record: a record is
 *      loaded with the node's mode, owner, times and (chunked files) size
 *      laid over it (node_load_vrec_locked).
 *   2. A node takes the attributes of a record only once the record is
 *      written (node_commit_vrec_locked, dir_touch_commit).
 *   3. A node whose size or times are not in its record (dirty) is on the
 *      dirty list once, holding a reference. It leaves the list when they
 *      are written, or when there is nothing to write them to (unlinked,
 *      or no record of its own); after a failed write it stays, to be
 *      tried again (the disk may be full), and fs_persist_failures
 *      counts the failure.
 *   4. An entry gets a record of its own (node_materialize_locked) in a
 *      batch of its own, with a new inode number, the bytes of a value
 *      past GFS_INLINE_MAX moved to chunks and its owner record (fs.h
 *      invariant 3).
 * The _locked functions need ns held shared (or exclusive) and n->mu.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"
#include "persist.h"
#include "util.h"

/* A node's record in GOLITE_TABLE_FS (tables, the root) or at its key. */
static void record_place(const struct node *n, const struct kbuf *k, uint32_t *table,
			 const uint8_t **key, size_t *klen, uint8_t fskey[8])
{
	if (n->src == SRC_TABLE || n->src == SRC_ROOT) {
		*table = GOLITE_TABLE_FS;
		*klen = fskey_dir(n, fskey);
		*key = fskey;
		return;
	}
	*table = k->table;
	*key = k->b;
	*klen = k->len;
}

/*
 * Loads the record of n (META, table or root) as a vrec with the node's
 * attributes laid over it (the node's are never older). n->mu and ns held.
 */
int node_load_vrec_locked(struct gfs *fs, struct node *n, const struct kbuf *k, struct vrec *v)
{
	if (n->src != SRC_META && n->src != SRC_TABLE && n->src != SRC_ROOT)
		return -EPERM;
	uint32_t table;
	const uint8_t *key;
	size_t klen;
	uint8_t fskey[8];
	record_place(n, k, &table, &key, &klen, fskey);
	struct rec rec;
	int r = rec_get(fs, table, key, klen, &rec);
	if (r == -ENOENT && n->src != SRC_META) {
		vrec_from_attr(v, &n->a);
		return 0;
	}
	if (r == 0 && rec.kind != GOLITE_KIND_META)
		r = -EIO;
	if (r == 0)
		r = vrec_from_rec(&rec, v);
	rec_free(&rec);
	if (r) {
		if (r == -ENOENT)
			gfs_log(LOG_LVL_ERROR, "the record of inode %llu is missing",
				(unsigned long long)n->a.ino);
		return r == -ENOENT ? -EIO : r;
	}
	v->f.mode = n->a.mode;
	v->f.uid = n->a.uid;
	v->f.gid = n->a.gid;
	v->f.mtime_ns = n->a.mtime;
	v->f.ctime_ns = n->a.ctime;
	v->f.atime_ns = n->a.atime;
	if (v->f.type == VFILE_REG && (v->f.flags & VFILE_F_CHUNKED))
		v->f.size = n->a.size;
	return 0;
}

int node_store_vrec(struct gfs *fs, struct node *n, const struct kbuf *k, golite_batch *b,
		    const struct vrec *v)
{
	uint32_t table;
	const uint8_t *key;
	size_t klen;
	uint8_t fskey[8];
	record_place(n, k, &table, &key, &klen, fskey);
	return vrec_put(fs, b, table, key, klen, v);
}

/* After the record was written: the node takes its attributes. */
void node_commit_vrec_locked(struct node *n, const struct vrec *v)
{
	struct nattr a;
	vrec_to_attr(v, &a);
	if (n->src == SRC_TABLE || n->src == SRC_ROOT)
		a.ino = n->a.ino;
	a.nlink = n->a.nlink;   /* counted, not in the record (hardlink.c) */
	n->a = a;
	n->dirty = false;
	n->dirty_size = false;
}

int node_materialize_locked(struct gfs *fs, struct node *n, const struct kbuf *k)
{
	if (n->src == SRC_META || n->src == SRC_TABLE || n->src == SRC_ROOT)
		return 0;
	if (n->src == SRC_NONE || n->unlinked)
		return -ENOENT;
	if (n->flavor != FL_NORMAL || (n->src != SRC_VALUE && n->src != SRC_IMPLIED) ||
	    k->len == 0)
		return -EPERM;
	uint64_t ino;
	int r = ino_alloc(fs, &ino);
	if (r)
		return r;
	struct vrec v;
	struct nattr a = n->a;
	a.ino = ino;
	a.chunked = false;
	/* Callers may be filling the thread's batch: use one of our own. */
	golite_batch *b = golite_batch_new();
	if (n->src == SRC_IMPLIED) {
		vrec_from_attr(&v, &a);
	} else {
		struct rec rec;
		r = rec_get(fs, k->table, k->b, k->len, &rec);
		if (r == 0 && rec.kind != GOLITE_KIND_VALUE)
			r = -EIO;
		if (r) {
			rec_free(&rec);
			golite_batch_free(b);
			return r == -ENOENT ? -EIO : r;
		}
		a.size = rec.len;
		a.chunked = rec.len > GFS_INLINE_MAX;
		a.expires = rec.expires;
		vrec_from_attr(&v, &a);
		if (a.chunked) {
			r = chunks_put_data(fs, b, ino, rec.data, rec.len);
			if (!r)
				r = owner_put(b, ino, k->table, k->b, k->len);
		} else {
			vrec_set_data(&v, rec.data, rec.len);
		}
		rec_free(&rec);
	}
	if (!r)
		r = vrec_put(fs, b, k->table, k->b, k->len, &v);
	if (!r)
		r = gfs_write_batch(fs, b, "give an entry a record");
	if (!r) {
		n->src = SRC_META;
		node_commit_vrec_locked(n, &v);
	}
	vrec_free(&v);
	golite_batch_free(b);
	return r;
}

/* ---- persisting a node's size and times ---- */

int node_persist_locked(struct gfs *fs, struct node *n)
{
	if (!n->dirty)
		return 0;
	if (n->unlinked || n->src != SRC_META) {
		n->dirty = n->dirty_size = false;
		return 0;
	}
	struct kbuf k;
	node_key_locked(n, &k);
	struct vrec v;
	int r = node_load_vrec_locked(fs, n, &k, &v);
	if (!r)
		r = node_store_vrec(fs, n, &k, NULL, &v);
	if (!r)
		node_commit_vrec_locked(n, &v);
	else
		atomic_fetch_add(&fs->persist_failures, 1);
	vrec_free(&v);
	return r;
}

int node_persist(struct gfs *fs, struct node *n)
{
	ns_rdlock(fs);
	mutex_lock(&n->mu);
	int r = node_persist_locked(fs, n);
	mutex_unlock(&n->mu);
	ns_rdunlock(fs);
	return r;
}

void node_mark_dirty(struct gfs *fs, struct node *n, bool size_changed)
{
	n->dirty = true;
	if (size_changed)
		n->dirty_size = true;
	if (n->on_dirty_list)
		return;
	n->on_dirty_list = true;
	node_ref(fs, n);
	mutex_lock(&fs->dirty_mu);
	n->dirty_next = fs->dirty_head;
	fs->dirty_head = n;
	mutex_unlock(&fs->dirty_mu);
	atomic_fetch_add(&fs->dirty_count, 1);
}

void dirty_flush_all(struct gfs *fs)
{
	mutex_lock(&fs->dirty_mu);
	struct node *list = fs->dirty_head;
	fs->dirty_head = NULL;
	mutex_unlock(&fs->dirty_mu);
	while (list) {
		struct node *n = list;
		list = n->dirty_next;
		ns_rdlock(fs);
		mutex_lock(&n->mu);
		int r = node_persist_locked(fs, n);
		bool keep = r != 0 && n->dirty;
		if (keep) {
			/* Try again next time (the disk may be full). */
			mutex_lock(&fs->dirty_mu);
			n->dirty_next = fs->dirty_head;
			fs->dirty_head = n;
			mutex_unlock(&fs->dirty_mu);
		} else {
			n->on_dirty_list = false;
			atomic_fetch_sub(&fs->dirty_count, 1);
		}
		mutex_unlock(&n->mu);
		ns_rdunlock(fs);
		if (!keep)
			node_unref(fs, n);
	}
}

/* ---- directory times ---- */

int dir_touch_locked(struct gfs *fs, struct node *dir, golite_batch *b, bool materialize,
		     int64_t now)
{
	if (dir->flavor != FL_NORMAL && dir->flavor != FL_TABLE)
		return 0;
	if (dir->src == SRC_NONE)
		return 0;
	struct kbuf *k = xmalloc(sizeof(*k));
	node_key_locked(dir, k);
	int r = 0;
	if (dir->src == SRC_IMPLIED) {
		/* Removing an entry could leave it empty: it keeps existing as
		 * an empty directory, like any other, with a record. */
		if (materialize)
			r = node_materialize_locked(fs, dir, k);
		if (r || dir->src == SRC_IMPLIED)
			goto out_free;
	}
	struct vrec v;
	r = node_load_vrec_locked(fs, dir, k, &v);
	if (!r) {
		v.f.mtime_ns = v.f.ctime_ns = now;
		r = node_store_vrec(fs, dir, k, b, &v);
		vrec_free(&v);
	}
out_free:
	free(k);
	return r;
}

/* After the batch of a dir_touch_locked() was written. */
void dir_touch_commit(struct node *dir, int64_t now)
{
	if (dir->src == SRC_META || dir->src == SRC_TABLE) {
		dir->a.mtime = dir->a.ctime = now;
	}
}
