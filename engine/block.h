/*
 * block.h — the coding of SSTable blocks: data blocks of prefix-compressed
 * entries with restart points (after LevelDB's table/block_builder.cc) and
 * a small hash index for point lookups, trailers, compression and index
 * entries. The file layout around the blocks, and its constants, are in
 * table_format.h. A data block's payload (all integers little-endian):
 *
 *     +---------+-----+-------------+-------------+-------+-------+
 *     | entries | ... | restarts    | hash slots  | m u32 | n u32 |
 *     |         |     | n x u32     | m x u32     |       |       |
 *     +---------+-----+-------------+-------------+-------+-------+
 *
 *     entry:
 *     +----------+------------+-----------+---------------------+-------+
 *     | shared   | non_shared | value_len | key bytes [shared..) | value |
 *     | varint32 | varint32   | varint32  |                     |       |
 *     +----------+------------+-----------+---------------------+-------+
 *
 * Restart-relative prefixes. Every restart_interval-th entry is a restart
 * point: it stores its key whole (shared = 0) and its offset is listed in
 * the restart array. Every other entry's full key (an skey: ikey + 8-byte
 * trailer, format.h) is the first `shared` bytes of its interval's restart
 * key followed by the `non_shared` bytes stored. Any entry therefore
 * decodes from two places, itself and its restart key, without a scan.
 *
 * Hash index (m > 0). m slots, each 0xffffffff (empty) or
 * (fingerprint << 24 | offset): offset is that of the first entry of one
 * distinct ikey in the block (its newest version here), fingerprint the top
 * byte of hash64(ikey). An ikey's home slot is ((hash & 0xffffffff) * m)
 * >> 32; collisions probe linearly (wrapping). m is about 1.5 x the number
 * of distinct ikeys, so a probe sequence always ends at an empty slot. A
 * lookup reads the tail, one slot line, the entry and its restart key:
 * about four cache lines, against a binary search and a scan of half an
 * interval without it. Blocks whose entries span 2^24 - 1 bytes or more,
 * and tables built with disable_hash_index, have m = 0.
 *
 * Invariants of a well-formed block:
 *   1. n >= 1; restart 0 is offset 0; restarts are strictly increasing and
 *      lie before the restart array; each restart entry has shared == 0.
 *   2. Every entry lies wholly before the restart array, and its shared
 *      never exceeds its restart key's length.
 *   3. Every key is longer than TRAILER_SIZE and at most SKEY_MAX bytes.
 *   4. Keys are strictly increasing in skey_cmp() order.
 *   5. Each distinct ikey of the block is reachable from its home slot
 *      before an empty slot, and at least one slot is empty.
 *   An empty block (no entries) is never written.
 */
#ifndef GOLITE_BLOCK_H
#define GOLITE_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "golite.h"
#include "table_format.h"

#define SST_MAX_BLOCK_OPTION (16u << 20)   /* largest sst_options.block_size */

/* ---- trailers and compression (the stored form of any block) ---- */

struct cache_entry;

/* The masked CRC32C stored in a trailer: over the payload, then the type. */
uint32_t block_trailer_crc(const uint8_t *payload, size_t len, uint8_t type);

/* Writes the trailer of payload[0, len) into t (SST_BLOCK_TRAILER bytes). */
void block_trailer_put(uint8_t *t, const uint8_t *payload, size_t len, uint8_t type);

/*
 * Checks the trailer that follows payload[0, len). Returns 0 and the block
 * type, -1 on a checksum mismatch, -2 for an unknown type.
 */
int block_trailer_check(const uint8_t *payload, size_t len, uint8_t *type);

/* Compression state of a builder (reused across blocks). */
struct block_compressor {
	uint8_t *buf;
	size_t cap;
	void *zctx;           /* ZSTD_CCtx, created on first use */
};

void block_compressor_free(struct block_compressor *c);

/*
 * Returns the payload to store for a raw block: the compressed form (in
 * c->buf) if it saves at least 1/8 of the block, else raw itself. *type
 * and *len describe the payload.
 */
const uint8_t *block_compress(struct block_compressor *c, enum golite_compression how,
			      const uint8_t *raw, size_t raw_len, size_t *len, uint8_t *type);

/*
 * Decompresses a type-1/2 payload into a new detached cache entry (*out).
 * Returns 0, or -1 if the payload is malformed.
 */
int block_decompress(const uint8_t *payload, size_t len, uint8_t type, struct cache_entry **out);

/* ---- building ---- */

#define BLOCK_SLOT_EMPTY   UINT32_C(0xffffffff)
#define BLOCK_SLOT_MAX_OFF UINT32_C(0x00ffffff)   /* offsets must stay below */

/* A data block being built. All memory is owned by the builder. */
struct block_builder {
	uint8_t *buf;
	size_t len, cap;
	uint32_t *restarts;
	size_t nrestarts, rcap;
	int interval;
	int counter;          /* entries since the last restart */
	size_t entries;
	uint8_t *rkey;        /* the current restart key, SKEY_MAX bytes */
	size_t rkey_len;
	bool hash_index;
	uint64_t *hashes;     /* per distinct ikey: hash64(ikey) ... */
	uint32_t *offsets;    /* ... and the offset of its first entry */
	size_t nhash, hcap;
};

void block_builder_init(struct block_builder *b, int restart_interval, bool hash_index);
void block_builder_free(struct block_builder *b);
/* Empties the builder for the next block, keeping its memory. */
void block_builder_reset(struct block_builder *b);
static inline bool block_builder_empty(const struct block_builder *b) { return b->entries == 0; }
/*
 * Appends an entry. key must sort after the previous one (checked by the
 * caller). new_ikey says its ikey differs from the previous entry's (or
 * it is the block's first); hash is then hash64(ikey).
 */
void block_builder_add(struct block_builder *b, const uint8_t *key, size_t klen,
		       const void *val, size_t vlen, bool new_ikey, uint64_t hash);
/* Size the block will have when finished. */
static inline size_t block_builder_estimate(const struct block_builder *b)
{
	size_t slots = b->hash_index ? 4 * (b->nhash + b->nhash / 2 + 1) : 0;
	return b->len + 4 * b->nrestarts + slots + 8;
}
/* Appends restarts and hash index; returns the payload (valid until
 * reset). */
const uint8_t *block_builder_finish(struct block_builder *b, size_t *len);

/* ---- index entries (the index block is drawn in table_format.h) ---- */

#define BLOCK_INDEX_ENTRY_EXTRA (VARINT32_MAX + VARINT64_MAX + VARINT32_MAX)

/* Encodes (sep, off, size) at p, which has room for sep_len +
 * BLOCK_INDEX_ENTRY_EXTRA bytes. Returns the bytes written. */
size_t block_index_put(uint8_t *p, const uint8_t *sep, size_t sep_len, uint64_t off,
		       uint32_t size);

/* Decodes an index entry at p (before end): returns the byte after it, or
 * NULL if it is malformed or its key is not a possible skey. */
const uint8_t *block_index_get(const uint8_t *p, const uint8_t *end, const uint8_t **key,
			       uint32_t *klen, uint64_t *off, uint32_t *size);

/*
 * Writes into out (SKEY_MAX bytes) a short skey s with a <= s < b, where
 * a < b are skeys, and returns its length: a shorter ikey strictly between
 * the two ikeys, with the largest trailer, if one exists (LevelDB's
 * FindShortestSeparator), else a itself.
 */
size_t block_separator(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		       uint8_t *out);

/* ---- reading ---- */

/* A decoded block's layout: entries live in data[0, restarts_off). */
struct block_view {
	const uint8_t *data;
	uint32_t restarts_off;
	uint32_t nrestarts;
	const uint8_t *slots;   /* m x u32, or NULL */
	uint32_t nslots;
};

/* Checks the tail (invariant 1, except the shared == 0 of each restart,
 * and the slots' offsets). Returns 0 or -1. */
int block_view_init(struct block_view *v, const uint8_t *data, size_t len);

/* The same for a block that block_view_init() already accepted: O(1). */
static inline void block_view_trusted(struct block_view *v, const uint8_t *data, size_t len)
{
	uint32_t n = get_le32(data + len - 4);
	uint32_t m = get_le32(data + len - 8);
	v->data = data;
	v->nrestarts = n;
	v->nslots = m;
	v->slots = m ? data + len - 8 - 4 * (size_t)m : NULL;
	v->restarts_off = (uint32_t)(len - 8 - 4 * (size_t)m - 4 * (size_t)n);
}

/*
 * A block's shape, (nslots << 32 | nrestarts): never 0 for a valid block.
 * A reader remembers it per block, so that it can lay out a view without
 * first reading the block's tail (one dependent cache miss less).
 */
static inline uint64_t block_view_shape(const struct block_view *v)
{
	return (uint64_t)v->nslots << 32 | v->nrestarts;
}

static inline void block_view_shaped(struct block_view *v, const uint8_t *data, size_t len,
				     uint64_t shape)
{
	uint32_t n = (uint32_t)shape, m = (uint32_t)(shape >> 32);
	v->data = data;
	v->nrestarts = n;
	v->nslots = m;
	v->slots = m ? data + len - 8 - 4 * (size_t)m : NULL;
	v->restarts_off = (uint32_t)(len - 8 - 4 * (size_t)m - 4 * (size_t)n);
}

static inline uint32_t block_restart(const struct block_view *v, uint32_t i)
{
	return get_le32(v->data + v->restarts_off + 4 * (size_t)i);
}

/*
 * Decodes the entry header at p (before end). Returns the start of the key
 * bytes, or NULL if the header or the bytes it announces run past end.
 */
static inline const uint8_t *block_entry_header(const uint8_t *p, const uint8_t *end,
						uint32_t *shared, uint32_t *non_shared,
						uint32_t *vlen)
{
	if (likely(end - p >= 3 && (p[0] | p[1] | p[2]) < 128)) {
		*shared = p[0];
		*non_shared = p[1];
		*vlen = p[2];
		p += 3;
	} else {
		if (!(p = get_varint32(p, end, shared)) ||
		    !(p = get_varint32(p, end, non_shared)) ||
		    !(p = get_varint32(p, end, vlen)))
			return NULL;
	}
	if ((uint64_t)*non_shared + *vlen > (uint64_t)(end - p))
		return NULL;
	return p;
}

/*
 * A position in a block: the decoded current entry. key points into the
 * block when the entry stores it whole, else into keybuf (SKEY_MAX bytes,
 * the caller's), so it is valid until the cursor moves.
 */
struct block_cursor {
	const struct block_view *v;
	uint8_t *keybuf;
	uint32_t r;             /* restart interval of the entry */
	uint32_t off, next;     /* offsets of the entry and of the one after */
	const uint8_t *rkey;    /* the interval's restart key, in the block */
	size_t rklen;
	const uint8_t *key;
	size_t klen;
	const uint8_t *value;
	uint32_t vlen;
};

/*
 * Decodes the entry at off, which lies in restart interval r. Returns 0, or
 * -1 if the entry is malformed (c->off then names it).
 */
int block_cursor_at(struct block_cursor *c, const struct block_view *v, uint8_t *keybuf,
		    uint32_t r, uint32_t off);
/* Moves to the next entry: 1, 0 at the end of the block, -1 malformed
 * (c->off then names the bad entry). */
int block_cursor_next(struct block_cursor *c);

/*
 * Positions c at the first entry whose key is >= the skey (ikey, trailer)
 * (binary search over the restarts, then a scan). Returns 1, 0 if every
 * entry is smaller, -1 if the block is malformed (c->off names the entry).
 */
int block_seek(struct block_cursor *c, const struct block_view *v, uint8_t *keybuf,
	       const uint8_t *ikey, size_t iklen, uint64_t trailer);

/*
 * Positions c at the first entry of ikey in the block through the hash
 * index. Returns 1, 0 if ikey is not in the block, -1 if the block is
 * malformed, -2 if the block has no hash index.
 */
int block_hash_find(struct block_cursor *c, const struct block_view *v, uint8_t *keybuf,
		    const uint8_t *ikey, size_t iklen, uint64_t hash);

/* Compares the skey k with the skey (ikey, trailer), as skey_cmp() does. */
static inline int skey_cmp_parts(const uint8_t *k, size_t klen, const uint8_t *ikey, size_t iklen,
				 uint64_t trailer)
{
	int c = ikey_cmp(k, klen - TRAILER_SIZE, ikey, iklen);
	if (c)
		return c;
	uint64_t t = get_le64(k + klen - TRAILER_SIZE);
	return t > trailer ? -1 : t < trailer;
}

static inline uint32_t block_hash_home(uint64_t hash, uint32_t nslots)
{
	return (uint32_t)(((hash & 0xffffffffu) * (uint64_t)nslots) >> 32);
}

static inline uint32_t block_hash_fp(uint64_t hash)
{
	return (uint32_t)(hash >> 56);
}

#endif /* GOLITE_BLOCK_H */
