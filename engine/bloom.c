/*
 * bloom.c — building and parsing the cache-local Bloom filter. See bloom.h
 * for the encoding and the invariants.
 */
#include "bloom.h"

#include <string.h>

#include "util.h"

static uint32_t clamp_bits(uint32_t bits_per_key)
{
	if (bits_per_key < 1)
		return 1;
	if (bits_per_key > BLOOM_MAX_BITS_PER_KEY)
		return BLOOM_MAX_BITS_PER_KEY;
	return bits_per_key;
}

/*
 * A blocked filter wants slightly fewer probes than the classic
 * bits_per_key * ln 2, because the keys are unevenly spread over the lines;
 * measured at 10 bits per key, k = 6 gives the lowest false-positive rate.
 */
uint32_t bloom_probes(uint32_t bits_per_key)
{
	uint32_t k = (clamp_bits(bits_per_key) * 60u) / 100u;  /* ~ 0.6 * bits */
	if (k < 1)
		k = 1;
	if (k > BLOOM_MAX_PROBES)
		k = BLOOM_MAX_PROBES;
	return k;
}

static uint32_t line_count(size_t nkeys, uint32_t bits_per_key)
{
	uint64_t bits = (uint64_t)(nkeys ? nkeys : 1) * clamp_bits(bits_per_key);
	uint64_t lines = (bits + BLOOM_LINE_BITS - 1) / BLOOM_LINE_BITS;
	if (lines > UINT32_MAX)
		lines = UINT32_MAX;
	return lines ? (uint32_t)lines : 1;
}

size_t bloom_encoded_size(size_t nkeys, uint32_t bits_per_key)
{
	return (size_t)line_count(nkeys, bits_per_key) * BLOOM_LINE_BYTES + BLOOM_TRAILER_SIZE;
}

void bloom_build(const uint64_t *hashes, size_t n, uint32_t bits_per_key, uint8_t *out)
{
	uint32_t nlines = line_count(n, bits_per_key);
	uint32_t k = bloom_probes(bits_per_key);
	size_t bytes = (size_t)nlines * BLOOM_LINE_BYTES;

	memset(out, 0, bytes);
	for (size_t i = 0; i < n; i++) {
		uint64_t hash = hashes[i];
		uint32_t line = (uint32_t)(((hash >> 32) * (uint64_t)nlines) >> 32);
		uint8_t *p = out + (size_t)line * BLOOM_LINE_BYTES;
		uint32_t h = (uint32_t)hash;
		for (uint32_t j = 0; j < k; j++) {
			h *= 0x9e3779b9u;
			uint32_t bit = h >> 23;
			p[bit >> 3] |= (uint8_t)(1u << (bit & 7));
		}
	}
	uint8_t *t = out + bytes;
	put_le32(t, nlines);
	t[4] = (uint8_t)k;
	t[5] = BLOOM_FORMAT;
	t[6] = 0;
	t[7] = 0;
}

int bloom_parse(struct bloom *f, const uint8_t *data, size_t len)
{
	if (len < BLOOM_TRAILER_SIZE + BLOOM_LINE_BYTES)
		return -1;
	const uint8_t *t = data + len - BLOOM_TRAILER_SIZE;
	uint32_t nlines = get_le32(t);
	uint32_t k = t[4];
	if (t[5] != BLOOM_FORMAT || t[6] || t[7])
		return -1;
	if (k < 1 || k > BLOOM_MAX_PROBES || nlines < 1)
		return -1;
	if ((uint64_t)nlines * BLOOM_LINE_BYTES != len - BLOOM_TRAILER_SIZE)
		return -1;
	f->lines = data;
	f->nlines = nlines;
	f->k = k;
	return 0;
}
