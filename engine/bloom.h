/*
 * bloom.h — the per-table Bloom filter: "is this key possibly in the table?"
 *
 * The filter is cache-local (a "blocked" Bloom filter): a key's hash picks
 * one 64-byte line, and all of the key's probe bits fall inside that line,
 * so a query costs one cache miss whatever the number of probes. At 10 bits
 * per key it answers "maybe" for about 1% of absent keys.
 *
 * Keys are given by their 64-bit hash, hash64(ikey) (util.h): the caller
 * computes it once per lookup and shares it with the memtable index and the
 * filter of every table it consults. The upper 32 bits choose the line, the
 * lower 32 bits generate the probes.
 *
 * Encoded filter, as stored in an SSTable's filter block (all integers
 * little-endian):
 *
 *     +-------------------------------+----------+-----+-----+---------+
 *     | lines: nlines x 64 bytes      | nlines   | k   | ver | 0 0     |
 *     | (bit i of a line is bit i%8   | u32      | u8  | u8  | u16     |
 *     |  of byte i/8)                 |          |     | =1  |         |
 *     +-------------------------------+----------+-----+-----+---------+
 *                                       BLOOM_TRAILER_SIZE = 8 bytes
 *
 * Invariants:
 *   1. nlines >= 1 and 1 <= k <= BLOOM_MAX_PROBES.
 *   2. A key that was added always gets "maybe" (no false negatives).
 */
#ifndef GOLITE_BLOOM_H
#define GOLITE_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BLOOM_LINE_BYTES    64u
#define BLOOM_LINE_BITS     (BLOOM_LINE_BYTES * 8u)
#define BLOOM_TRAILER_SIZE  8u
#define BLOOM_FORMAT        1u
#define BLOOM_MAX_PROBES    20u
#define BLOOM_MAX_BITS_PER_KEY 100u

_Static_assert(BLOOM_LINE_BITS == 512, "a probe takes 9 bits of the hash");

/* A parsed filter. lines points to nlines * 64 bytes owned by the caller. */
struct bloom {
	const uint8_t *lines;
	uint32_t nlines;
	uint32_t k;
};

/* Bytes of the encoded filter for nkeys keys (nkeys >= 1). */
size_t bloom_encoded_size(size_t nkeys, uint32_t bits_per_key);

/*
 * Encodes a filter holding the n hashes into out, which has room for
 * bloom_encoded_size(n, bits_per_key) bytes. Duplicates are harmless.
 * bits_per_key is clamped to 1..BLOOM_MAX_BITS_PER_KEY.
 */
void bloom_build(const uint64_t *hashes, size_t n, uint32_t bits_per_key, uint8_t *out);

/*
 * Parses an encoded filter of len bytes. f->lines points into data, which
 * must stay valid while f is used. Returns 0, or -1 if the encoding is
 * malformed (bad trailer, length or probe count).
 */
int bloom_parse(struct bloom *f, const uint8_t *data, size_t len);

/* The probe count used for bits_per_key (exposed for tests and dumps). */
uint32_t bloom_probes(uint32_t bits_per_key);

/* The one line a query of hash reads. */
static inline const uint8_t *bloom_line(const struct bloom *f, uint64_t hash)
{
	uint32_t line = (uint32_t)(((hash >> 32) * (uint64_t)f->nlines) >> 32);
	return f->lines + (size_t)line * BLOOM_LINE_BYTES;
}

/* False means the key is certainly absent. Lock-free, reads only f. */
static inline bool bloom_may_contain(const struct bloom *f, uint64_t hash)
{
	const uint8_t *p = bloom_line(f, hash);
	uint32_t h = (uint32_t)hash;
	for (uint32_t i = 0; i < f->k; i++) {
		h *= 0x9e3779b9u;
		uint32_t bit = h >> 23;
		if (!(p[bit >> 3] & (1u << (bit & 7))))
			return false;
	}
	return true;
}

#endif /* GOLITE_BLOOM_H */
