/*
 * chunks.c — the bytes of chunked files: writing, zeroing and deleting
 * the chunks of an inode. Reads go through the engine's one chunk reader,
 * golite_chunks_read() (golite_raw.h); the single-chunk lookup here is
 * the read half of a read-modify-write.
 *
 * A file past GFS_INLINE_MAX keeps its bytes in GOLITE_TABLE_CHUNKS: chunk i
 * of inode n is the key (n BE64, i BE32) and holds bytes [i*4096, +len)
 * of the file, len <= 4096 (common/vfile.h draws the format). A missing
 * chunk, and the part of a chunk past its length, read as zeros (sparse
 * files). The record that says a file is chunked, its size, and where the
 * chunks are (its inode number) are data.c's and persist.c's.
 *
 * Invariants:
 *   1. A write into part of a chunk holds the chunk's stripe lock
 *      (fs->chunk_mu, lock 5 of fs.h) from its read to its put, and for a
 *      batch until the batch is written, so writes into different parts
 *      of one chunk never lose each other's bytes. A whole chunk is put
 *      without reading it, and without the lock. Zeroing and trimming
 *      run with node->rw held exclusive (no write runs) or before the
 *      mount is served, and take no stripe lock.
 *   2. Deletions of many chunks are written in batches of at most
 *      DELETE_BATCH entries; a deletion cut short leaves chunks that no
 *      record owns, which the sweep frees (sweep.c).
 *   3. The callers keep fs.h invariant 2 (no chunk holds data past the
 *      size): chunks_trim cuts chunks to a size, chunks_delete_from drops
 *      them from an index on, chunks_zero never lengthens a chunk.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"
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
	int r = golite_get_raw(fs->db, GOLITE_TABLE_CHUNKS, key, sizeof(key), &kind, dst, CH, NULL,
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
	int r = b ? golite_batch_put_raw(b, GOLITE_TABLE_CHUNKS, GOLITE_KIND_VALUE, key, sizeof(key), data, len)
		  : golite_put_raw(fs->db, GOLITE_TABLE_CHUNKS, GOLITE_KIND_VALUE, key, sizeof(key), data, len);
	return r ? -gfs_errno(r, "write a chunk") : 0;
}

/* Adds the chunks of data (len bytes from offset 0) to b, skipping chunks
 * of zeros (they read as zeros anyway). */
int chunks_put_data(struct gfs *fs, golite_batch *b, uint64_t ino, const uint8_t *data,
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

int chunks_release_bytes(struct gfs *fs, golite_batch *b, uint32_t table, const uint8_t *key,
			 size_t klen, mode_t mode, bool open, const uint8_t *data, size_t dlen,
			 bool new_ino, uint64_t *ino, bool *chunked)
{
	if (*chunked && !open) {
		int r = chunks_delete_from(fs, b, *ino, 0, NULL);
		return r ? r : owner_delete(b, *ino);
	}
	if (*chunked || !open || !S_ISREG(mode))
		return 0;
	int r = new_ino ? ino_alloc(fs, ino) : 0;
	if (!r)
		r = chunks_put_data(fs, b, *ino, data, dlen);
	if (!r)
		r = owner_put(b, *ino, table, key, klen);
	*chunked = true;
	return r;
}

int chunks_release_name(struct gfs *fs, golite_batch *b, const struct kbuf *k, mode_t mode,
			bool open, uint64_t *ino, bool *chunked)
{
	if (*chunked || !open || !S_ISREG(mode))
		return chunks_release_bytes(fs, b, k->table, k->b, k->len, mode, open, NULL, 0,
					    false, ino, chunked);
	/* Open with its bytes inline: they move to chunks. */
	struct rec rec;
	int r = rec_get(fs, k->table, k->b, k->len, &rec);
	struct vfile f;
	if (!r && rec.kind == GOLITE_KIND_META && vfile_decode(rec.data, rec.len, &f))
		r = -EIO;
	if (!r) {
		bool meta = rec.kind == GOLITE_KIND_META;
		r = chunks_release_bytes(fs, b, k->table, k->b, k->len, mode, open,
					 meta ? f.data : rec.data, meta ? f.data_len : rec.len,
					 !meta, ino, chunked);
	}
	rec_free(&rec);
	return r;
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
 * Writes data (len bytes at off) into the chunks of ino, chunk by chunk:
 * a whole chunk is put as it is, a part of one is read, changed and put
 * back. Puts go into b, or straight to the store without b. lock_each:
 * take each partial chunk's lock around its read-modify-write; without,
 * the caller holds the locks of the partial chunks. Stops at the first
 * error; the chunks before it may be written (without b).
 */
static int chunks_write_range(struct gfs *fs, golite_batch *b, uint64_t ino,
			      const uint8_t *data, size_t len, uint64_t off, bool lock_each)
{
	int r = 0;
	for (size_t done = 0; done < len && !r;) {
		uint64_t pos = off + done;
		uint32_t idx = (uint32_t)(pos / CH);
		size_t coff = pos % CH, n = MIN(CH - coff, len - done);
		if (coff == 0 && n == CH) {
			r = chunk_put(fs, b, ino, idx, data + done, n);
		} else {
			pthread_mutex_t *mu = lock_each ? chunk_lock(fs, ino, idx) : NULL;
			uint8_t tmp[CH];
			size_t m;
			if (mu)
				mutex_lock(mu);
			r = chunk_modify(fs, ino, idx, coff, data + done, n, tmp, &m);
			if (!r)
				r = chunk_put(fs, b, ino, idx, tmp, m);
			if (mu)
				mutex_unlock(mu);
		}
		done += n;
	}
	return r;
}

/*
 * Writes data (len bytes at off) into the chunks of ino. With b, adds the
 * chunk puts to b and writes b (which may hold a record to change
 * atomically with them); without, a one-chunk write is a single put.
 */
int chunks_write(struct gfs *fs, uint64_t ino, const uint8_t *data, size_t len, uint64_t off,
		 golite_batch *b)
{
	uint32_t first = (uint32_t)(off / CH), last = (uint32_t)((off + len - 1) / CH);
	if (!b && (first == last || fs->o.durability != GOLITE_SYNC)) {
		/* One put per chunk: no batch to copy the bytes into first. A
		 * write need not be atomic; only sync mode must make the size
		 * durable with the bytes (the caller passes a batch then). A
		 * write into one chunk is a single put in every mode. */
		return chunks_write_range(fs, NULL, ino, data, len, off, true);
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
	int r = chunks_write_range(fs, b, ino, data, len, off, false);
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
	int r = golite_iter_new_raw(fs->db, GOLITE_TABLE_CHUNKS, &o, &it);
	if (r)
		return -gfs_errno(r, "list chunks");
	size_t n = 0;
	for (golite_iter_seek(it, start, sizeof(start)); golite_iter_valid(it);
	     golite_iter_next(it)) {
		size_t klen;
		const void *k = golite_iter_key(it, &klen);
		r = golite_batch_delete_raw(b, GOLITE_TABLE_CHUNKS, k, klen);
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

/* Zeroes [off, end) of the chunks of ino in the thread's batch, which it
 * writes (more than once for a long range). */
int chunks_zero(struct gfs *fs, uint64_t ino, uint64_t off, uint64_t end)
{
	golite_batch *b = gfs_batch();
	int r = 0;
	for (uint64_t pos = off; pos < end && !r;) {
		uint32_t idx = (uint32_t)(pos / CH);
		size_t coff = pos % CH, len = (size_t)MIN((uint64_t)(CH - coff), end - pos);
		uint8_t key[VFILE_CHUNK_KEY];
		vfile_chunk_key(key, ino, idx);
		if (coff == 0 && len == CH) {
			int e = golite_batch_delete_raw(b, GOLITE_TABLE_CHUNKS, key, sizeof(key));
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
	return r;
}
