/* Tests of the log payload encoding (batch.h). */
#include <criterion/criterion.h>
#include <string.h>

#include "batch.h"
#include "format.h"
#include "golite.h"
#include "util.h"

struct collected {
	int n;
	uint64_t seqs[8];
	unsigned kinds[8];
	size_t vlens[8];
};

static int collect(void *ctx, uint64_t seq, unsigned kind, const uint8_t *ikey, size_t iklen,
		   const uint8_t *value, size_t vlen)
{
	(void)ikey;
	(void)iklen;
	(void)value;
	struct collected *c = ctx;
	c->seqs[c->n] = seq;
	c->kinds[c->n] = kind;
	c->vlens[c->n] = vlen;
	c->n++;
	return 0;
}

Test(batch, roundtrip_assigns_consecutive_sequences)
{
	struct rep r = { 0 };
	rep_reset(&r);
	uint8_t k[16];
	size_t kl = ikey_make(k, 16, "abc", 3);
	rep_add(&r, KIND_VALUE, k, kl, "hello", 5);
	rep_add(&r, KIND_DELETE, k, kl, NULL, 0);
	rep_add(&r, KIND_META, k, kl, "", 0);
	size_t len = rep_finish(&r);
	put_le64(r.buf + len - 8, 1000);
	struct collected c = { 0 };
	uint32_t count;
	uint64_t first;
	cr_assert_eq(rep_iterate(r.buf, len, collect, &c, &count, &first), 0);
	cr_expect_eq(count, 3);
	cr_expect_eq(first, 1000);
	cr_expect_eq(c.seqs[2], 1002);
	cr_expect_eq(c.kinds[1], KIND_DELETE);
	cr_expect_eq(c.vlens[0], 5);
	rep_free(&r);
}

Test(batch, malformed_payloads_are_rejected)
{
	struct rep r = { 0 };
	rep_reset(&r);
	uint8_t k[16];
	size_t kl = ikey_make(k, 16, "abc", 3);
	rep_add(&r, KIND_VALUE, k, kl, "hello", 5);
	size_t len = rep_finish(&r);
	put_le64(r.buf + len - 8, 7);
	/* Every truncation and every single-byte change of the count or the
	 * lengths must be caught, never read out of bounds. */
	for (size_t cut = 0; cut < len; cut++) {
		uint8_t *copy = xmemdup(r.buf, cut);
		rep_iterate(copy, cut, NULL, NULL, NULL, NULL);
		free(copy);
	}
	uint8_t *bad = xmemdup(r.buf, len);
	put_le32(bad, 5);
	cr_expect_eq(rep_iterate(bad, len, NULL, NULL, NULL, NULL), GOLITE_ECORRUPT);
	memcpy(bad, r.buf, len);
	bad[4] = 9; /* unknown kind */
	cr_expect_eq(rep_iterate(bad, len, NULL, NULL, NULL, NULL), GOLITE_ECORRUPT);
	memcpy(bad, r.buf, len);
	put_le64(bad + len - 8, 0); /* sequence 0 is never assigned */
	cr_expect_eq(rep_iterate(bad, len, NULL, NULL, NULL, NULL), GOLITE_ECORRUPT);
	free(bad);
	rep_free(&r);
}
