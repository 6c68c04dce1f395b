/*
 * hist.h — log-linear histograms of 64-bit values (latencies in
 * nanoseconds, records per log write), shared by the engine and the mount.
 *
 * Values below HIST_LINEAR have a bucket each. Above, every power of two
 * [2^e, 2^(e+1)) is cut into HIST_SUB equal buckets, so a bucket's width is
 * at most 1/HIST_SUB (12.5%) of the values it holds. HIST_BUCKETS buckets
 * cover every uint64_t.
 *
 * Only the bucket arithmetic lives here; callers keep the counts (plain or
 * atomic, sharded or not) and sum them into a uint64_t array to read them.
 *
 * Invariants:
 *   1. hist_bucket is monotonic: v <= w implies hist_bucket(v) <=
 *      hist_bucket(w).
 *   2. hist_lower(b) <= v <= hist_upper(b) exactly when hist_bucket(v) == b.
 */
#ifndef GOLITE_HIST_H
#define GOLITE_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB_BITS 3u
#define HIST_SUB (1u << HIST_SUB_BITS)          /* buckets per power of two */
#define HIST_LINEAR (2u * HIST_SUB)             /* values with a bucket each */
#define HIST_BUCKETS (HIST_LINEAR + (64u - HIST_SUB_BITS - 1u) * HIST_SUB)

_Static_assert(HIST_BUCKETS == 496, "8 sub-buckets per power of two from 16 on");

/* The bucket of v. */
static inline unsigned hist_bucket(uint64_t v)
{
	if (v < HIST_LINEAR)
		return (unsigned)v;
	unsigned e = 63u - (unsigned)__builtin_clzll(v);   /* >= HIST_SUB_BITS + 1 */
	unsigned sub = (unsigned)(v >> (e - HIST_SUB_BITS)) & (HIST_SUB - 1);
	return HIST_LINEAR + (e - HIST_SUB_BITS - 1) * HIST_SUB + sub;
}

/* The smallest value of bucket b. */
static inline uint64_t hist_lower(unsigned b)
{
	if (b < HIST_LINEAR)
		return b;
	unsigned e = (b - HIST_LINEAR) / HIST_SUB + HIST_SUB_BITS + 1;
	uint64_t sub = (b - HIST_LINEAR) % HIST_SUB;
	return (HIST_SUB + sub) << (e - HIST_SUB_BITS);
}

/* The largest value of bucket b. */
static inline uint64_t hist_upper(unsigned b)
{
	return b + 1 < HIST_BUCKETS ? hist_lower(b + 1) - 1 : UINT64_MAX;
}

/*
 * The value at quantile q (0 < q <= 1) of the counts c[HIST_BUCKETS]: the
 * upper bound of the bucket holding the ceil(q * total)-th smallest value,
 * so at most 12.5% above the true value (exact below HIST_LINEAR). Not
 * above max when max is known (pass UINT64_MAX otherwise). 0 when empty.
 */
static inline uint64_t hist_quantile(const uint64_t *c, double q, uint64_t max)
{
	uint64_t total = 0;
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		total += c[b];
	if (total == 0)
		return 0;
	double want = q * (double)total;
	uint64_t rank = (uint64_t)want;
	if ((double)rank < want)
		rank++;
	if (rank == 0)
		rank = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += c[b];
		if (seen >= rank) {
			uint64_t u = hist_upper(b);
			return u < max ? u : max;
		}
	}
	return max;
}

/* The upper bound of the highest non-empty bucket (0 when empty). */
static inline uint64_t hist_max_bound(const uint64_t *c)
{
	for (unsigned b = HIST_BUCKETS; b-- > 0;)
		if (c[b])
			return hist_upper(b);
	return 0;
}

#endif /* GOLITE_HIST_H */
