/*
 * data.c — file contents and the records that describe them.
 *
 * Where a file's bytes live:
 *   - inline, in its record, while it is at most GFS_INLINE_MAX (4 KiB)
 *     bytes: reading it is one lookup, writing it one record put;
 *   - in chunks once it grows past that: chunk i of inode n is the key
 *     (n BE64, i BE32) of TABLE_ID_CHUNKS and holds bytes [i*4096, +4096).
 *     A 4 KiB write costs one chunk put; the file's size and times are
 *     kept in the node and written to the record on flush, fsync, release,
 *     setattr, by the background flusher (sweep.c) within a second, and at
 *     once in sync durability mode when the size changes. A chunked file
 *     becomes inline again only when truncated to zero.
 * The switch to chunks is one batch: the chunk of the old bytes, the
 * record (CHUNKED) and the owner record (fs.h invariant 3).
 *
 * Values written through the API (KIND_VALUE) and implied directories get
 * a record of their own (node_materialize_locked) on their first change
 * through the mount.
 *
 * Concurrency: node->rw is held shared by reads and chunk writes, and
 * exclusive by everything that moves bytes between the record and chunks,
 * or deletes chunks (truncate, inline writes, fallocate). Chunk
 * read-modify-writes hold the chunk's stripe lock.
 */
#include "fs.h"

#include <errno.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define CH VFILE_CHUNK
/* Chunk deletions are written in batches of at most this many. */
#define DELETE_BATCH 65536u

static pthread_mutex_t *chunk_lock(struct gfs *fs, uint64_t ino, uint32_t idx)
{
	return &fs->chunk_mu[(ino * 0x9e3779b97f4a7c15ull + idx) % CHUNK_LOCKS];
}

/* ---- chunks ---- */

/* Reads chunk (ino, idx) into dst (CH bytes); *len is its length (0 if
 * absent). */
static int chunk_get(struct gfs *fs, uint64_t ino, uint32_t idx, uint8_t *dst, size_t *len)
{
	uint8_t key[VFILE_CHUNK_KEY];
	vfile_chunk_key(key, ino, idx);
	unsigned kind;
	*len = 0;
	int r = golite_get_raw(fs->db, TABLE_ID_CHUNKS, key, sizeof(key), &kind, dst, CH, NULL,
			       len);
	if (r == GOLITE_ENOTFOUND) {
		*len = 0;
		return 0;
	}
	if (r == GOLITE_ERANGE) {
		gfs_log(LOG_LVL_ERROR, "chunk %u of inode %llu holds %zu bytes", idx,
			(unsigned long long)ino, *len);
		return -EIO;
	}
	return r ? -gfs_errno(r, "read a chunk") : 0;
}

static int chunk_put(struct gfs *fs, golite_batch *b, uint64_t ino, uint32_t idx,
		     const void *data, size_t len)
{
	uint8_t key[VFILE_CHUNK_KEY];
	vfile_chunk_key(key, ino, idx);
	int r = b ? golite_batch_put_raw(b, TABLE_ID_CHUNKS, KIND_VALUE, key, sizeof(key), data, len)
		  : golite_put_raw(fs->db, TABLE_ID_CHUNKS, KIND_VALUE, key, sizeof(key), data, len);
	return r ? -gfs_errno(r, "write a chunk") : 0;
}

/* Reads [off, off+len) of chunked file ino: a point lookup per chunk
 * (measured faster than an iterator for the 128 KiB the kernel asks at a
 * time: lookups use the Bloom filters, an iterator merges every level). */
static int chunks_read(struct gfs *fs, uint64_t ino, uint8_t *buf, size_t len, uint64_t off)
{
	uint8_t tmp[CH];
	size_t done = 0;
	while (done < len) {
		uint64_t pos = off + done;
		uint32_t idx = (uint32_t)(pos / CH);
		size_t coff = pos % CH, n = MIN(CH - coff, len - done);
		bool whole = coff == 0 && n == CH;
		uint8_t *dst = whole ? buf + done : tmp;
		size_t vlen;
		int r = chunk_get(fs, ino, idx, dst, &vlen);
		if (r)
			return r;
		if (whole) {
			if (vlen < CH)
				memset(dst + vlen, 0, CH - vlen);
		} else {
			size_t have = vlen > coff ? MIN(vlen - coff, n) : 0;
			memcpy(buf + done, tmp + coff, have);
			memset(buf + done + have, 0, n - have);
		}
		done += n;
	}
	return 0;
}

/* Adds the chunks of data (len bytes from offset 0) to b, skipping chunks
 * of zeros (they read as zeros anyway). */
static int chunks_put_data(struct gfs *fs, golite_batch *b, uint64_t ino, const uint8_t *data,
			   size_t len)
{
	static const uint8_t zeros[CH];
	for (size_t off = 0; off < len; off += CH) {
		size_t n = MIN((size_t)CH, len - off);
		if (memcmp(data + off, zeros, n) == 0)
			continue;
		int r = chunk_put(fs, b, ino, (uint32_t)(off / CH), data + off, n);
		if (r)
			return r;
	}
	return 0;
}

/* Reads chunk idx, applies data at coff (n bytes) and returns the new
 * chunk in out (*outlen bytes). Caller holds the chunk's lock. */
static int chunk_modify(struct gfs *fs, uint64_t ino, uint32_t idx, size_t coff,
			const uint8_t *data, size_t n, uint8_t *out, size_t *outlen)
{
	size_t vlen;
	int r = chunk_get(fs, ino, idx, out, &vlen);
	if (r)
		return r;
	if (vlen < coff)
		memset(out + vlen, 0, coff - vlen);
	memcpy(out + coff, data, n);
	*outlen = MAX(vlen, coff + n);
	return 0;
}

/*
 * Writes data (len bytes at off) into the chunks of ino. With b, adds the
 * chunk puts to b and writes b (which may hold a record to change
 * atomically with them); without, a one-chunk write is a single put.
 */
static int chunks_write(struct gfs *fs, uint64_t ino, const uint8_t *data, size_t len,
			uint64_t off, golite_batch *b)
{
	uint32_t first = (uint32_t)(off / CH), last = (uint32_t)((off + len - 1) / CH);
	if (first == last && !b) {
		size_t coff = off % CH;
		if (coff == 0 && len == CH)
			return chunk_put(fs, NULL, ino, first, data, len);
		pthread_mutex_t *mu = chunk_lock(fs, ino, first);
		uint8_t tmp[CH];
		size_t n;
		mutex_lock(mu);
		int r = chunk_modify(fs, ino, first, coff, data, len, tmp, &n);
		if (!r)
			r = chunk_put(fs, NULL, ino, first, tmp, n);
		mutex_unlock(mu);
		return r;
	}
	if (!b && fs->o.durability != GOLITE_SYNC) {
		/* One put per chunk: no batch to copy the bytes into first. A
		 * write need not be atomic; only sync mode must make the size
		 * durable with the bytes (the caller passes a batch then). */
		int r = 0;
		for (size_t done = 0; done < len && !r;) {
			uint64_t pos = off + done;
			uint32_t idx = (uint32_t)(pos / CH);
			size_t coff = pos % CH, n = MIN(CH - coff, len - done);
			if (coff == 0 && n == CH) {
				r = chunk_put(fs, NULL, ino, idx, data + done, n);
			} else {
				pthread_mutex_t *mu = chunk_lock(fs, ino, idx);
				uint8_t tmp[CH];
				size_t m;
				mutex_lock(mu);
				r = chunk_modify(fs, ino, idx, coff, data + done, n, tmp, &m);
				if (!r)
					r = chunk_put(fs, NULL, ino, idx, tmp, m);
				mutex_unlock(mu);
			}
			done += n;
		}
		return r;
	}
	if (!b)
		b = gfs_batch();
	/* At most the first and the last chunk are partial: lock those. */
	pthread_mutex_t *locks[2] = { NULL, NULL };
	bool first_partial = off % CH != 0 || (first == last && len < CH);
	bool last_partial = first != last && (off + len) % CH != 0;
	if (first_partial)
		locks[0] = chunk_lock(fs, ino, first);
	if (last_partial)
		locks[1] = chunk_lock(fs, ino, last);
	if (locks[0] && locks[1] && locks[0] > locks[1]) {
		pthread_mutex_t *t = locks[0];
		locks[0] = locks[1];
		locks[1] = t;
	}
	if (locks[0] == locks[1])
		locks[1] = NULL;
	for (int i = 0; i < 2; i++)
		if (locks[i])
			mutex_lock(locks[i]);
	int r = 0;
	size_t done = 0;
	while (done < len && !r) {
		uint64_t pos = off + done;
		uint32_t idx = (uint32_t)(pos / CH);
		size_t coff = pos % CH, n = MIN(CH - coff, len - done);
		if (coff == 0 && n == CH) {
			r = chunk_put(fs, b, ino, idx, data + done, n);
		} else {
			uint8_t tmp[CH];
			size_t m;
			r = chunk_modify(fs, ino, idx, coff, data + done, n, tmp, &m);
			if (!r)
				r = chunk_put(fs, b, ino, idx, tmp, m);
		}
		done += n;
	}
	if (!r)
		r = gfs_write_batch(fs, b, "write file data");
	for (int i = 1; i >= 0; i--)
		if (locks[i])
			mutex_unlock(locks[i]);
	return r;
}

int chunks_delete_from(struct gfs *fs, golite_batch *b, uint64_t ino, uint32_t first,
		       size_t *count)
{
	uint8_t prefix[8], start[VFILE_CHUNK_KEY];
	put_be64(prefix, ino);
	vfile_chunk_key(start, ino, first);
	golite_iter_options o = { .prefix = prefix, .prefix_len = 8 };
	golite_iter *it;
	int r = golite_iter_new_raw(fs->db, TABLE_ID_CHUNKS, &o, &it);
	if (r)
		return -gfs_errno(r, "list chunks");
	size_t n = 0;
	for (golite_iter_seek(it, start, sizeof(start)); golite_iter_valid(it);
	     golite_iter_next(it)) {
		size_t klen;
		const void *k = golite_iter_key(it, &klen);
		r = golite_batch_delete_raw(b, TABLE_ID_CHUNKS, k, klen);
		if (r) {
			r = -gfs_errno(r, "delete chunks");
			break;
		}
		n++;
		if (golite_batch_count(b) >= DELETE_BATCH) {
			/* A huge file: write what we have. If the daemon stops
			 * before the end, the sweep finishes (sweep.c). */
			r = gfs_write_batch(fs, b, "delete chunks");
			golite_batch_clear(b);
			if (r)
				break;
		}
	}
	if (!r && golite_iter_status(it))
		r = -gfs_errno(golite_iter_status(it), "list chunks");
	golite_iter_free(it);
	if (count)
		*count = n;
	return r;
}

/* Cuts the chunks of ino to size bytes: deletes those past it and
 * shortens the one it ends in (adds to b). */
int chunks_trim(struct gfs *fs, golite_batch *b, uint64_t ino, uint64_t size)
{
	uint32_t keep = (uint32_t)((size + CH - 1) / CH);
	int r = chunks_delete_from(fs, b, ino, keep, NULL);
	if (r || size % CH == 0)
		return r;
	uint8_t tmp[CH];
	size_t vlen;
	uint32_t idx = (uint32_t)(size / CH);
	r = chunk_get(fs, ino, idx, tmp, &vlen);
	if (!r && vlen > size % CH)
		r = chunk_put(fs, b, ino, idx, tmp, size % CH);
	return r;
}

/* ---- records of nodes ---- */

/* A node's record in TABLE_ID_FS (tables, the root) or at its key. */
static void record_place(const struct node *n, const struct kbuf *k, uint32_t *table,
			 const uint8_t **key, size_t *klen, uint8_t fskey[8])
{
	if (n->src == SRC_TABLE || n->src == SRC_ROOT) {
		*table = TABLE_ID_FS;
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
	if (r == 0 && rec.kind != KIND_META)
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
		if (r == 0 && rec.kind != KIND_VALUE)
			r = -EIO;
		if (r) {
			rec_free(&rec);
			golite_batch_free(b);
			return r == -ENOENT ? -EIO : r;
		}
		a.size = rec.len;
		a.chunked = rec.len > GFS_INLINE_MAX;
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
			r = chunks_read(fs, ino, (uint8_t *)buf, len, (uint64_t)off);
			if (!r)
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
		if (rec.kind == KIND_META) {
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
			int64_t now = gfs_now_ns();
			v.f.size = MAX(v.f.size, end);
			v.f.mtime_ns = v.f.ctime_ns = now;
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
			n->a.mtime = n->a.ctime = gfs_now_ns();
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
	int64_t now = gfs_now_ns();
	v.f.mtime_ns = v.f.ctime_ns = now;
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
	int64_t now = gfs_now_ns();
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
	golite_batch *b = gfs_batch();
	int r = 0;
	for (uint64_t pos = off; pos < end && !r;) {
		uint32_t idx = (uint32_t)(pos / CH);
		size_t coff = pos % CH, len = (size_t)MIN((uint64_t)(CH - coff), end - pos);
		uint8_t key[VFILE_CHUNK_KEY];
		vfile_chunk_key(key, ino, idx);
		if (coff == 0 && len == CH) {
			int e = golite_batch_delete_raw(b, TABLE_ID_CHUNKS, key, sizeof(key));
			r = e ? -gfs_errno(e, "punch a hole") : 0;
		} else {
			uint8_t tmp[CH];
			size_t vlen;
			r = chunk_get(fs, ino, idx, tmp, &vlen);
			if (!r && vlen > coff) {
				memset(tmp + coff, 0, MIN(len, vlen - coff));
				r = chunk_put(fs, b, ino, idx, tmp, vlen);
			}
		}
		pos += len;
		if (!r && golite_batch_count(b) >= DELETE_BATCH) {
			r = gfs_write_batch(fs, b, "punch a hole");
			golite_batch_clear(b);
		}
	}
	if (!r)
		r = gfs_write_batch(fs, b, "punch a hole");
	if (!r) {
		mutex_lock(&n->mu);
		n->a.mtime = n->a.ctime = gfs_now_ns();
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
