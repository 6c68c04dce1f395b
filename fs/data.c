/*
 * data.c — file contents: reads, writes, truncation, fallocate, and the
 * bytes of files unlinked while open.
 *
 * Where a file's bytes live:
 *   - inline, in its record, while it is at most GFS_INLINE_MAX (4 KiB)
 *     bytes: reading it is one lookup, writing it one record put;
 *   - in chunks once it grows past that (chunks.c): a 4 KiB write costs
 *     one chunk put; the file's size and times are kept in the node and
 *     written to the record later (persist.c), except that a write that
 *     grows the file stores its size with its bytes.
 * Values written through the API (GOLITE_KIND_VALUE) and implied directories get
 * a record of their own (node_materialize_locked) on their first change
 * through the mount.
 *
 * Invariants:
 *   1. A file moves to chunks in one batch: the chunks of its old bytes,
 *      its record (CHUNKED) and its owner record (fs.h invariant 3). It
 *      becomes inline again only when truncated to zero.
 *   2. A write that grows a chunked file that has a record stores the new
 *      size and times in the batch of its bytes: a crash never keeps
 *      bytes whose size was lost.
 *   3. node->rw is held shared by reads and chunk writes, and exclusive
 *      by everything that moves bytes between the record and chunks, or
 *      deletes chunks (truncation, inline writes, fallocate, the last
 *      release of an unlinked file).
 *   4. A file unlinked while open keeps its chunks until its last
 *      release, and its inode number is among the open inodes meanwhile,
 *      so the sweep spares them.
 */
#include "fs.h"

#include <errno.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"
#include "data.h"
#include "persist.h"
#include "util.h"

/* ---- reads and writes ---- */

int data_read(struct gfs *fs, struct node *n, char *buf, size_t size, off_t off, size_t *got)
{
	*got = 0;
	if (off < 0)
		return -EINVAL;
	pthread_rwlock_rdlock(&n->rw);
	int r = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		mutex_lock(&n->mu);
		bool chunked = n->a.chunked;
		uint64_t fsize = n->a.size, ino = n->a.ino;
		unsigned src = n->src;
		mutex_unlock(&n->mu);
		if ((uint64_t)off >= fsize)
			break;
		size_t len = (size_t)MIN((uint64_t)size, fsize - (uint64_t)off);
		if (chunked) {
			/* node->rw held shared: no truncation, hole punch or
			 * move to inline runs meanwhile (invariant 3). */
			r = golite_chunks_read_at(fs->db, gfs_snap(fs, n->table), ino,
						  (uint64_t)off, buf, len);
			if (r)
				r = -gfs_errno(r, "read a file");
			else
				*got = len;
			break;
		}
		if (src != SRC_META && src != SRC_VALUE) {
			r = -EIO;
			break;
		}
		struct kbuf k;
		struct rec rec;
		ns_rdlock(fs);
		mutex_lock(&n->mu);
		/* Read under the node's lock, which unlink and rename hold while
		 * they move the bytes of an open file away from its name: the
		 * record read is this file's, not one that took its name. */
		if (n->a.chunked != chunked || n->src != src) {
			mutex_unlock(&n->mu);
			ns_rdunlock(fs);
			r = -EIO;
			continue;
		}
		node_key_locked(n, &k);
		r = rec_get(fs, k.table, k.b, k.len, &rec);
		mutex_unlock(&n->mu);
		ns_rdunlock(fs);
		if (r == -ENOENT) {
			/* Unlinked while open: its bytes moved to chunks. */
			rec_free(&rec);
			r = -EIO;
			continue;
		}
		if (r) {
			rec_free(&rec);
			break;
		}
		const uint8_t *data = rec.data;
		size_t dlen = rec.len;
		if (rec.kind == GOLITE_KIND_META) {
			struct vfile f;
			if (vfile_decode(rec.data, rec.len, &f) || (f.flags & VFILE_F_CHUNKED)) {
				rec_free(&rec);
				r = -EIO;
				continue;
			}
			data = f.data;
			dlen = f.data_len;
		}
		size_t have = (uint64_t)off < dlen ? MIN(len, dlen - (size_t)off) : 0;
		memcpy(buf, data + (have ? off : 0), have);
		memset(buf + have, 0, len - have);
		*got = len;
		rec_free(&rec);
		break;
	}
	pthread_rwlock_unlock(&n->rw);
	if (!r)
		atomic_fetch_add_explicit(&fs->bytes_read, *got, memory_order_relaxed);
	return r;
}

/* Writes into a chunked file (n->rw held). */
static int write_chunked(struct gfs *fs, struct node *n, const char *buf, size_t size, off_t off)
{
	uint64_t end = (uint64_t)off + size;
	mutex_lock(&n->mu);
	uint64_t ino = n->a.ino, cur = n->a.size;
	bool on_disk = n->src == SRC_META && !n->unlinked;
	mutex_unlock(&n->mu);
	int r;
	if (end > cur && on_disk) {
		/* A write that grows the file stores the new size with its
		 * bytes, in one batch: a crash never keeps bytes whose size was
		 * lost, and close has nothing left to write (see gfs_flush). */
		ns_rdlock(fs);
		mutex_lock(&n->mu);
		struct kbuf k;
		node_key_locked(n, &k);
		struct vrec v;
		golite_batch *b = gfs_batch();
		r = node_load_vrec_locked(fs, n, &k, &v);
		if (!r) {
			v.f.size = MAX(v.f.size, end);
			if (!fs->kernel_times)
				v.f.mtime_ns = v.f.ctime_ns = wall_ns();
			r = node_store_vrec(fs, n, &k, b, &v);
		}
		if (!r)
			r = chunks_write(fs, ino, (const uint8_t *)buf, size, (uint64_t)off, b);
		if (!r)
			node_commit_vrec_locked(n, &v);
		vrec_free(&v);
		mutex_unlock(&n->mu);
		ns_rdunlock(fs);
	} else {
		r = chunks_write(fs, ino, (const uint8_t *)buf, size, (uint64_t)off, NULL);
		if (!r) {
			mutex_lock(&n->mu);
			bool grew = end > n->a.size;
			if (grew)
				n->a.size = end;
			if (!fs->kernel_times)
				n->a.mtime = n->a.ctime = wall_ns();
			if (grew || !fs->kernel_times)
				node_mark_dirty(fs, n, grew);
			mutex_unlock(&n->mu);
		}
	}
	return r;
}

/* Writes into a file that is not chunked (n->rw held exclusive): rewrites
 * its record, or moves it to chunks when it grows past GFS_INLINE_MAX. */
static int write_inline(struct gfs *fs, struct node *n, const char *buf, size_t size, off_t off)
{
	ns_rdlock(fs);
	mutex_lock(&n->mu);
	struct kbuf k;
	node_key_locked(n, &k);
	int r = 0;
	if (!n->a.chunked && !n->unlinked)
		r = node_materialize_locked(fs, n, &k);
	if (r || n->a.chunked || n->unlinked) {
		mutex_unlock(&n->mu);
		ns_rdunlock(fs);
		return r ? r : write_chunked(fs, n, buf, size, off);
	}
	struct vrec v;
	r = node_load_vrec_locked(fs, n, &k, &v);
	if (r)
		goto out_unlock;
	uint64_t cur = v.f.size, end = MAX(cur, (uint64_t)off + size);
	golite_batch *b = gfs_batch();
	if (!fs->kernel_times)
		v.f.mtime_ns = v.f.ctime_ns = wall_ns();
	bool to_chunks = end > GFS_INLINE_MAX;
	if (!to_chunks) {
		uint8_t *data = xmalloc(end ? end : 1);
		if (v.f.data_len)
			memcpy(data, v.data, v.f.data_len);
		memset(data + v.f.data_len, 0, end - v.f.data_len);
		memcpy(data + off, buf, size);
		vrec_set_data(&v, data, end);
		v.f.size = end;
		free(data);
	} else {
		r = chunks_put_data(fs, b, v.f.ino, v.data, v.f.data_len);
		if (!r)
			r = owner_put(b, v.f.ino, k.table, k.b, k.len);
		v.f.flags |= VFILE_F_CHUNKED;
		vrec_set_data(&v, NULL, 0);
	}
	if (!r)
		r = node_store_vrec(fs, n, &k, b, &v);
	if (!r)
		r = gfs_write_batch(fs, b, to_chunks ? "move a file to chunks" : "write a file");
	if (!r)
		node_commit_vrec_locked(n, &v);
	vrec_free(&v);
out_unlock:
	mutex_unlock(&n->mu);
	ns_rdunlock(fs);
	if (!r && to_chunks)
		r = write_chunked(fs, n, buf, size, off);
	return r;
}

int data_write(struct gfs *fs, struct node *n, const char *buf, size_t size, off_t off)
{
	if (size == 0)
		return 0;
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off + size > GFS_MAX_FILE_SIZE)
		return -EFBIG;
	pthread_rwlock_rdlock(&n->rw);
	mutex_lock(&n->mu);
	bool chunked = n->a.chunked;
	mutex_unlock(&n->mu);
	int r;
	if (chunked) {
		r = write_chunked(fs, n, buf, size, off);
		pthread_rwlock_unlock(&n->rw);
	} else {
		pthread_rwlock_unlock(&n->rw);
		pthread_rwlock_wrlock(&n->rw);
		r = write_inline(fs, n, buf, size, off);
		pthread_rwlock_unlock(&n->rw);
	}
	if (!r)
		atomic_fetch_add_explicit(&fs->bytes_written, size, memory_order_relaxed);
	return r;
}

/* ---- truncation and allocation ---- */

/* Sets the size (n->rw held exclusive). */
static int truncate_locked(struct gfs *fs, struct node *n, uint64_t size)
{
	ns_rdlock(fs);
	mutex_lock(&n->mu);
	int64_t now = wall_ns();
	golite_batch *b = gfs_batch();
	struct kbuf k;
	node_key_locked(n, &k);
	struct vrec v;
	int r = 0;
	if (n->unlinked) {
		/* Only the chunks and the node remain. */
		if (size < n->a.size)
			r = chunks_trim(fs, b, n->a.ino, size);
		if (!r)
			r = gfs_write_batch(fs, b, "truncate a file");
		if (!r) {
			n->a.size = size;
			n->a.mtime = n->a.ctime = now;
		}
		goto out_unlock;
	}
	r = node_materialize_locked(fs, n, &k);
	if (!r)
		r = node_load_vrec_locked(fs, n, &k, &v);
	if (r)
		goto out_unlock;
	if (v.f.type != VFILE_REG) {
		r = -EISDIR;
		goto out_free;
	}
	uint64_t ino = v.f.ino;
	if (!(v.f.flags & VFILE_F_CHUNKED)) {
		if (size <= GFS_INLINE_MAX) {
			uint8_t *data = xcalloc(1, size ? size : 1);
			if (v.f.data_len)
				memcpy(data, v.data, MIN(size, (uint64_t)v.f.data_len));
			vrec_set_data(&v, data, size);
			free(data);
		} else {
			r = chunks_put_data(fs, b, ino, v.data, v.f.data_len);
			if (!r)
				r = owner_put(b, ino, k.table, k.b, k.len);
			v.f.flags |= VFILE_F_CHUNKED;
			vrec_set_data(&v, NULL, 0);
		}
	} else if (size == 0) {
		r = chunks_delete_from(fs, b, ino, 0, NULL);
		if (!r)
			r = owner_delete(b, ino);
		v.f.flags &= ~VFILE_F_CHUNKED;
	} else if (size < v.f.size) {
		r = chunks_trim(fs, b, ino, size);
	}
	v.f.size = size;
	v.f.mtime_ns = v.f.ctime_ns = now;
	if (!r)
		r = node_store_vrec(fs, n, &k, b, &v);
	if (!r)
		r = gfs_write_batch(fs, b, "truncate a file");
	if (!r)
		node_commit_vrec_locked(n, &v);
out_free:
	vrec_free(&v);
out_unlock:
	mutex_unlock(&n->mu);
	ns_rdunlock(fs);
	return r;
}

int data_truncate(struct gfs *fs, struct node *n, uint64_t size, bool locked_rw)
{
	if (size > GFS_MAX_FILE_SIZE)
		return -EFBIG;
	if (!locked_rw)
		pthread_rwlock_wrlock(&n->rw);
	mutex_lock(&n->mu);
	bool shrinks = size < n->a.size;
	mutex_unlock(&n->mu);
	/* Cutting a file frees space, so it works on a full disk. */
	bool was = gfs_frees_space(shrinks);
	int r = truncate_locked(fs, n, size);
	gfs_frees_space(was);
	if (!locked_rw)
		pthread_rwlock_unlock(&n->rw);
	return r;
}

/* Zeroes [off, end) of a file (n->rw held exclusive), within its size. */
static int zero_range(struct gfs *fs, struct node *n, uint64_t off, uint64_t end)
{
	mutex_lock(&n->mu);
	bool chunked = n->a.chunked;
	uint64_t ino = n->a.ino, size = n->a.size;
	mutex_unlock(&n->mu);
	end = MIN(end, size);
	if (off >= end)
		return 0;
	if (!chunked) {
		uint8_t zeros[GFS_INLINE_MAX];
		memset(zeros, 0, sizeof(zeros));
		return write_inline(fs, n, (const char *)zeros, (size_t)(end - off), (off_t)off);
	}
	int r = chunks_zero(fs, ino, off, end);
	if (!r) {
		mutex_lock(&n->mu);
		n->a.mtime = n->a.ctime = wall_ns();
		node_mark_dirty(fs, n, false);
		mutex_unlock(&n->mu);
	}
	return r;
}

int data_fallocate(struct gfs *fs, struct node *n, int mode, off_t off, off_t len)
{
	if (off < 0 || len <= 0)
		return -EINVAL;
	uint64_t end = (uint64_t)off + (uint64_t)len;
	if (end > GFS_MAX_FILE_SIZE)
		return -EFBIG;
	bool keep = mode & FALLOC_FL_KEEP_SIZE;
	int what = mode & ~FALLOC_FL_KEEP_SIZE;
	if (what != 0 && what != FALLOC_FL_PUNCH_HOLE && what != FALLOC_FL_ZERO_RANGE)
		return -EOPNOTSUPP;
	if (what == FALLOC_FL_PUNCH_HOLE && !keep)
		return -EINVAL;
	pthread_rwlock_wrlock(&n->rw);
	int r = 0;
	if (what != 0)
		r = zero_range(fs, n, (uint64_t)off, end);
	mutex_lock(&n->mu);
	bool grow = !keep && end > n->a.size;
	mutex_unlock(&n->mu);
	/* Space is not reserved ahead: a later write may still find the disk
	 * full. Mode 0 sets the size as posix_fallocate does. */
	if (!r && grow)
		r = data_truncate(fs, n, end, true);
	pthread_rwlock_unlock(&n->rw);
	return r;
}

/* ---- files unlinked while open ---- */

void node_name_gone_locked(struct gfs *fs, struct node *n, uint64_t ino, bool chunked)
{
	bool open = n->opens > 0;
	n->src = SRC_NONE;
	n->unlinked = true;
	n->a.ino = ino;
	n->a.chunked = chunked && open;
	node_unhash(fs, n);
	if (open && chunked && !S_ISDIR(n->a.mode))
		open_inos_add(fs, ino);
}

void open_inos_add(struct gfs *fs, uint64_t ino)
{
	mutex_lock(&fs->open_mu);
	if (fs->open_inos_n == fs->open_inos_cap) {
		fs->open_inos_cap = fs->open_inos_cap ? fs->open_inos_cap * 2 : 16;
		fs->open_inos = xrealloc(fs->open_inos, fs->open_inos_cap * sizeof(uint64_t));
	}
	fs->open_inos[fs->open_inos_n++] = ino;
	mutex_unlock(&fs->open_mu);
}

void open_inos_remove(struct gfs *fs, uint64_t ino)
{
	mutex_lock(&fs->open_mu);
	for (size_t i = 0; i < fs->open_inos_n; i++) {
		if (fs->open_inos[i] == ino) {
			fs->open_inos[i] = fs->open_inos[--fs->open_inos_n];
			break;
		}
	}
	mutex_unlock(&fs->open_mu);
}

bool open_inos_has(struct gfs *fs, uint64_t ino)
{
	bool found = false;
	mutex_lock(&fs->open_mu);
	for (size_t i = 0; i < fs->open_inos_n && !found; i++)
		found = fs->open_inos[i] == ino;
	mutex_unlock(&fs->open_mu);
	return found;
}

void data_release_unlinked(struct gfs *fs, struct node *n)
{
	pthread_rwlock_wrlock(&n->rw);
	mutex_lock(&n->mu);
	uint64_t ino = n->a.ino;
	bool chunked = n->a.chunked;
	n->a.chunked = false;
	n->a.size = 0;
	mutex_unlock(&n->mu);
	if (chunked) {
		golite_batch *b = gfs_batch();
		bool was = gfs_frees_space(true);
		int r = chunks_delete_from(fs, b, ino, 0, NULL);
		if (!r)
			r = owner_delete(b, ino);
		if (!r)
			r = gfs_write_batch(fs, b, "free an unlinked file");
		gfs_frees_space(was);
		if (r)
			gfs_log(LOG_LVL_WARN, "the chunks of unlinked inode %llu stay until the next "
				"sweep", (unsigned long long)ino);
	}
	open_inos_remove(fs, ino);
	pthread_rwlock_unlock(&n->rw);
}
