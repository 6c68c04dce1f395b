/*
 * test_bloom.c — the cache-local Bloom filter: no false negatives, the
 * false-positive rate at 10 bits per key, and rejection of malformed
 * encodings.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bloom.h"
#include "util.h"

static uint64_t key_hash(const char *prefix, size_t i)
{
	char buf[64];
	int n = snprintf(buf, sizeof(buf), "%s%zu", prefix, i);
	return hash64(buf, (size_t)n);
}

static uint8_t *build(const uint64_t *h, size_t n, uint32_t bits, size_t *len, struct bloom *f)
{
	*len = bloom_encoded_size(n, bits);
	uint8_t *buf = malloc(*len);
	bloom_build(h, n, bits, buf);
	cr_assert_eq(bloom_parse(f, buf, *len), 0);
	return buf;
}

Test(bloom, added_keys_are_always_found)
{
	size_t sizes[] = { 1, 2, 7, 100, 1000, 50000 };
	for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
		size_t n = sizes[s], len;
		uint64_t *h = malloc(n * sizeof(*h));
		for (size_t i = 0; i < n; i++)
			h[i] = key_hash("key", i);
		struct bloom f;
		uint8_t *buf = build(h, n, 10, &len, &f);
		for (size_t i = 0; i < n; i++)
			cr_assert(bloom_may_contain(&f, h[i]), "key %zu of %zu missing", i, n);
		free(buf);
		free(h);
	}
}

Test(bloom, false_positive_rate_at_10_bits_is_about_one_percent)
{
	const size_t n = 100000;
	uint64_t *h = malloc(n * sizeof(*h));
	for (size_t i = 0; i < n; i++)
		h[i] = key_hash("present-", i);
	size_t len;
	struct bloom f;
	uint8_t *buf = build(h, n, 10, &len, &f);
	size_t fp = 0;
	for (size_t i = 0; i < n; i++)
		fp += bloom_may_contain(&f, key_hash("absent-", i));
	double rate = (double)fp / (double)n;
	printf("bloom: %zu keys, %zu bytes, %u probes, false positives %.3f%%\n", n, len, f.k,
	       rate * 100);
	cr_assert_lt(rate, 0.02, "false-positive rate %.3f%%", rate * 100);
	cr_assert_leq(len, n * 10 / 8 + BLOOM_LINE_BYTES + BLOOM_TRAILER_SIZE);
	free(buf);
	free(h);
}

Test(bloom, more_bits_fewer_false_positives)
{
	const size_t n = 20000;
	uint64_t *h = malloc(n * sizeof(*h));
	for (size_t i = 0; i < n; i++)
		h[i] = key_hash("k", i);
	double prev = 1.0;
	uint32_t bits[] = { 4, 8, 16 };
	for (size_t b = 0; b < ARRAY_SIZE(bits); b++) {
		size_t len, fp = 0;
		struct bloom f;
		uint8_t *buf = build(h, n, bits[b], &len, &f);
		for (size_t i = 0; i < n; i++)
			fp += bloom_may_contain(&f, key_hash("other", i));
		double rate = (double)fp / (double)n;
		cr_assert_lt(rate, prev, "%u bits/key: %.3f%%", bits[b], rate * 100);
		prev = rate;
		free(buf);
	}
	free(h);
}

Test(bloom, malformed_encodings_are_rejected)
{
	uint64_t h[10];
	for (size_t i = 0; i < 10; i++)
		h[i] = key_hash("x", i);
	size_t len = bloom_encoded_size(10, 10);
	uint8_t *buf = malloc(len);
	bloom_build(h, 10, 10, buf);
	struct bloom f;
	cr_assert_eq(bloom_parse(&f, buf, len), 0);
	cr_assert_eq(bloom_parse(&f, buf, len - 1), -1, "short by one");
	cr_assert_eq(bloom_parse(&f, buf, 7), -1, "shorter than the trailer");
	uint8_t *t = buf + len - BLOOM_TRAILER_SIZE;
	t[4] = 0;
	cr_assert_eq(bloom_parse(&f, buf, len), -1, "zero probes");
	t[4] = BLOOM_MAX_PROBES + 1;
	cr_assert_eq(bloom_parse(&f, buf, len), -1, "too many probes");
	t[4] = 6;
	t[5] = 9;
	cr_assert_eq(bloom_parse(&f, buf, len), -1, "unknown format");
	t[5] = BLOOM_FORMAT;
	put_le32(t, get_le32(t) + 1);
	cr_assert_eq(bloom_parse(&f, buf, len), -1, "line count disagrees with the length");
	free(buf);
}
