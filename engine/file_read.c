/*
 * file_read.c — a file record read as a value. See file_read.h; the record
 * and chunk formats are drawn in common/vfile.h.
 */
#include "file_read.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "error.h"
#include "format.h"
#include "golite_raw.h"
#include "util.h"
#include "vfile.h"

/* A read spanning at least this many chunks (2 MiB) goes through one
 * iterator; a shorter one looks each chunk up. For the reads the kernel
 * sends the mount (128 KiB, at most 1 MiB) point lookups were measured
 * faster (they use the Bloom filters, an iterator merges every level);
 * for a whole large value (golite_get of a chunked file) one iterator
 * saves a lookup per chunk. */
#define CHUNKS_SCAN_MIN 512u

/* Copies chunk idx (v, vlen bytes) into out, which holds the file's bytes
 * [off, off + len); the chunk's part outside that range is left out. */
static void chunk_copy(uint8_t *out, uint64_t off, size_t len, uint32_t idx, const uint8_t *v,
		       size_t vlen)
{
	uint64_t cstart = (uint64_t)idx * VFILE_CHUNK;
	uint64_t from = MAX(cstart, off), to = MIN(cstart + vlen, off + len);
	if (from < to)
		memcpy(out + (from - off), v + (from - cstart), (size_t)(to - from));
}

static int chunk_too_long(uint64_t ino, uint32_t idx, size_t vlen)
{
	return set_error(GOLITE_ECORRUPT, "chunk %u of inode %llu holds %zu bytes (at most %u)",
			 idx, (unsigned long long)ino, vlen, VFILE_CHUNK);
}

/* Where separated chunks go once read (vlog_read_many). */
struct placing {
	uint8_t *out;
	uint64_t off;
	size_t len;
};

static void place_chunk(void *arg, const struct vref *r, const uint8_t *v)
{
	struct placing *pl = arg;
	uint32_t idx = (uint32_t)r->tag;
	/* The part of the chunk past its bytes reads as zeros. */
	uint64_t cstart = (uint64_t)idx * VFILE_CHUNK;
	uint64_t from = MAX(cstart + r->p.len, pl->off);
	uint64_t to = MIN(cstart + VFILE_CHUNK, pl->off + pl->len);
	if (from < to)
		memset(pl->out + (from - pl->off), 0, (size_t)(to - from));
	chunk_copy(pl->out, pl->off, pl->len, idx, v, r->p.len);
}

/* golite_chunks_read by point lookups, one a chunk; fills every byte of
 * out (whole chunks are read in place, without zeroing them first).
 * Separated chunks (engine/vlog.h) are read after the lookups, those
 * that lie together in a value file with one read. */
static int read_by_lookups(golite *db, const golite_snapshot *snap, uint64_t ino, uint64_t off,
			   uint8_t *out, size_t len)
{
	uint8_t tmp[VFILE_CHUNK];
	uint32_t first = (uint32_t)(off / VFILE_CHUNK);
	uint32_t last = (uint32_t)((off + len - 1) / VFILE_CHUNK);
	struct vref stack[64], *refs = stack;
	size_t nrefs = 0, cap = 64;
	uint64_t epoch = vlog_iter_enter(db);
	int r = 0;
	for (uint32_t idx = first; r == 0; idx++) {
		uint64_t cstart = (uint64_t)idx * VFILE_CHUNK;
		/* A whole chunk inside the range goes straight to its place. */
		bool whole = cstart >= off && cstart + VFILE_CHUNK <= off + len;
		uint8_t *dst = whole ? out + (cstart - off) : tmp;
		uint8_t key[VFILE_CHUNK_KEY];
		vfile_chunk_key(key, ino, idx);
		size_t vlen = 0;
		struct vptr p;
		r = db_chunk_lookup(db, snap, key, sizeof(key), dst, VFILE_CHUNK, &vlen, &p);
		if (r == 1) {
			r = 0;
			if (p.len > VFILE_CHUNK) {
				r = chunk_too_long(ino, idx, p.len);
				break;
			}
			if (nrefs == cap) {
				cap *= 2;
				refs = refs == stack ? memcpy(xmalloc(cap * sizeof(*refs)), stack,
							      sizeof(stack))
						     : xrealloc(refs, cap * sizeof(*refs));
			}
			refs[nrefs++] = (struct vref){ .p = p, .tag = idx };
		} else {
			if (r == GOLITE_ERANGE) {
				r = chunk_too_long(ino, idx, vlen);
				break;
			}
			if (r && r != GOLITE_ENOTFOUND)
				break;
			if (r)
				vlen = 0;
			r = 0;
			memset(dst + vlen, 0, VFILE_CHUNK - vlen);
			if (!whole)
				chunk_copy(out, off, len, idx, tmp, VFILE_CHUNK);
		}
		if (idx == last)
			break;
	}
	if (!r && nrefs) {
		struct placing pl = { out, off, len };
		r = vlog_read_many(db, refs, nrefs, place_chunk, &pl);
	}
	vlog_iter_leave(db, epoch);
	if (refs != stack)
		free(refs);
	return r;
}

/* golite_chunks_read by one iterator over the file's chunks from the
 * first one in the range; out is zeroed. */
static int read_by_scan(golite *db, const golite_snapshot *snap, uint64_t ino, uint64_t off,
			uint8_t *out, size_t len)
{
	uint8_t prefix[8], start[VFILE_CHUNK_KEY];
	put_be64(prefix, ino);
	uint32_t last = (uint32_t)((off + len - 1) / VFILE_CHUNK);
	vfile_chunk_key(start, ino, (uint32_t)(off / VFILE_CHUNK));
	golite_iter_options o = { .prefix = prefix, .prefix_len = 8, .snapshot = snap };
	golite_iter *it;
	int r = golite_iter_new_raw(db, TABLE_ID_CHUNKS, &o, &it);
	if (r)
		return r;
	for (golite_iter_seek(it, start, sizeof(start)); golite_iter_valid(it);
	     golite_iter_next(it)) {
		size_t klen, vlen;
		const uint8_t *k = golite_iter_key(it, &klen);
		if (klen != VFILE_CHUNK_KEY)
			continue;
		uint32_t idx = get_be32(k + 8);
		if (idx > last)
			break;
		const uint8_t *v = golite_iter_value_raw(it, &vlen);
		if (vlen > VFILE_CHUNK) {
			r = chunk_too_long(ino, idx, vlen);
			break;
		}
		chunk_copy(out, off, len, idx, v, vlen);
	}
	if (!r)
		r = golite_iter_status(it);
	golite_iter_free(it);
	return r;
}

int golite_chunks_read(golite *db, uint64_t ino, uint64_t off, void *buf, size_t len)
{
	return golite_chunks_read_at(db, NULL, ino, off, buf, len);
}

int golite_chunks_read_at(golite *db, const golite_snapshot *snap, uint64_t ino, uint64_t off,
			  void *buf, size_t len)
{
	if (!buf && len)
		return set_error(GOLITE_EINVAL, "buf is NULL");
	if (len == 0)
		return 0;
	if (off + len - 1 < off || (off + len - 1) / VFILE_CHUNK > UINT32_MAX)
		return set_error(GOLITE_EINVAL, "range past the largest file (2^32 chunks)");
	uint64_t chunks = (off + len - 1) / VFILE_CHUNK - off / VFILE_CHUNK + 1;
	if (chunks < CHUNKS_SCAN_MIN)
		return read_by_lookups(db, snap, ino, off, buf, len);
	memset(buf, 0, len);
	return read_by_scan(db, snap, ino, off, buf, len);
}

/* The value of decoded record f (not a directory, not a hard link). */
static int file_read_shared(golite *db, const golite_snapshot *snap, struct vfile *f0, void *buf,
			    size_t cap, void **alloc, size_t *vlen)
{
	struct vfile f = *f0;
	int r = 0;
	/* FIFOs, sockets and devices read as empty values. */
	f.size = vfile_value_size(&f);
	if (f.size > GOLITE_MAX_VALUE_SIZE && (alloc || cap >= GOLITE_MAX_VALUE_SIZE))
		return set_error(GOLITE_EVALSIZE,
				 "the file holds %llu bytes, more than one value can (%u)",
				 (unsigned long long)f.size, GOLITE_MAX_VALUE_SIZE);
	*vlen = (size_t)f.size;
	uint8_t *out;
	if (alloc) {
		out = xmalloc((size_t)f.size);
	} else if (buf && f.size <= cap) {
		out = buf;
	} else if (buf) {
		return set_error(GOLITE_ERANGE, "value of %llu bytes does not fit a buffer of %zu",
				 (unsigned long long)f.size, cap);
	} else {
		return 0;
	}
	if (f.flags & VFILE_F_CHUNKED && f.type == VFILE_REG)
		r = golite_chunks_read_at(db, snap, f.ino, 0, out, (size_t)f.size);
	else
		memcpy(out, f.data, f.data_len);
	if (r) {
		if (alloc)
			free(out);
		return r;
	}
	if (alloc)
		*alloc = out;
	return 0;
}

int file_read_value(golite *db, const golite_snapshot *snap, const uint8_t *rec, size_t len,
		    void *buf, size_t cap, void **alloc, size_t *vlen)
{
	struct vfile f;
	int r = vfile_decode(rec, len, &f);
	if (r)
		return set_error(GOLITE_ECORRUPT, "file record: %s", vfile_strerror(r));
	if (f.type == VFILE_DIR)
		return set_error(GOLITE_EISDIR, "the key names a directory");
	uint8_t *shared = NULL;
	if (f.type == VFILE_HLINK) {
		/* A name of a shared inode: the bytes are the shared record's. */
		uint8_t ikey[VFILE_INODE_KEY];
		vfile_inode_key(ikey, f.ino);
		unsigned kind;
		size_t slen;
		r = golite_get_raw_at(db, snap, TABLE_ID_FS, ikey, sizeof(ikey), &kind, NULL, 0,
				      (void **)&shared, &slen);
		if (r == GOLITE_ENOTFOUND)
			return set_error(GOLITE_ECORRUPT, "hard link to inode %llu, which is missing",
					 (unsigned long long)f.ino);
		if (r)
			return r;
		r = kind == KIND_META ? vfile_decode(shared, slen, &f) : VFILE_ETYPE;
		if (!r && (f.type == VFILE_DIR || f.type == VFILE_HLINK))
			r = VFILE_ETYPE;
		if (r) {
			free(shared);
			return set_error(GOLITE_ECORRUPT, "shared record of a hard link: %s",
					 vfile_strerror(r));
		}
	}
	r = file_read_shared(db, snap, &f, buf, cap, alloc, vlen);
	free(shared);
	return r;
}
