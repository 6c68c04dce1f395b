/* Tests of the log payload encoding (batch.h), and of a batch that writes
 * a key more than once (db_add_batch). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "format.h"
#include "golite.h"
#include "testutil.h"
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

/* ---- a batch that writes a key more than once (db_add_batch) ---- */

static void get_is(golite *db, const char *k, const char *want)
{
	void *v = NULL;
	size_t n = 0;
	int r = golite_get(db, "t", k, strlen(k), &v, &n);
	if (!want) {
		cr_expect_eq(r, GOLITE_ENOTFOUND, "%s: %d", k, r);
	} else {
		cr_assert_eq(r, 0, "%s: %s", k, golite_last_error());
		cr_expect(n == strlen(want) && memcmp(v, want, n) == 0, "%s = %.*s, not %s", k,
			  (int)n, (char *)v, want);
	}
	golite_free(v);
}

/* Within one batch, an entry overwritten by the next one of the same key
 * is not inserted, and nothing can tell: reads, snapshots taken around
 * it, iterators and a replay of the log all see the batch's last write. */
Test(batch, overwrites_within_a_batch_are_invisible)
{
	char *dir = tu_tmpdir("batch");
	golite *db = tu_open(dir, NULL);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	cr_assert_eq(golite_put(db, "t", "k", 1, "v0", 2), 0);
	golite_snapshot *before;
	cr_assert_eq(golite_snapshot_new(db, &before), 0);
	golite_stats s0, s1;
	golite_stats_get(db, &s0);
	golite_batch *b = golite_batch_new();
	golite_batch_put(b, "t", "k", 1, "v1", 2);
	golite_batch_put(b, "t", "k", 1, "v2", 2);
	golite_batch_put(b, "t", "k", 1, "v3", 2);
	golite_batch_put(b, "t", "x", 1, "x1", 2);
	golite_batch_delete(b, "t", "x", 1);
	golite_batch_delete(b, "t", "y", 1);
	golite_batch_put(b, "t", "y", 1, "y1", 2);
	cr_assert_eq(golite_write(db, b), 0);
	golite_batch_free(b);
	golite_stats_get(db, &s1);
	/* k, x and y once each: v1, v2, x1 and the delete of y left out */
	cr_expect_eq(s1.memtable_entries - s0.memtable_entries, 3);
	get_is(db, "k", "v3");
	get_is(db, "x", NULL);
	get_is(db, "y", "y1");
	void *v = NULL;
	size_t n;
	cr_assert_eq(golite_get_at(db, before, "t", "k", 1, &v, &n), 0);
	cr_expect(n == 2 && memcmp(v, "v0", 2) == 0, "the snapshot before sees v0");
	golite_free(v);
	golite_snapshot_free(before);
	/* one version of k for an iterator */
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "t", NULL, &it), 0);
	int keys = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it))
		keys++;
	cr_expect_eq(keys, 2);
	golite_iter_free(it);
	/* the log replayed */
	golite_options o;
	golite_options_init(&o);
	o.flush_on_close = false;
	golite_close(db);
	db = tu_open(dir, &o);
	get_is(db, "k", "v3");
	get_is(db, "x", NULL);
	get_is(db, "y", "y1");
	golite_close(db);
	tu_rmtree(dir);
}

/* Overwrites left out still count toward the memtable's size: a store
 * that writes one key over and over in batches flushes, and retires its
 * log, as often as if they were there. */
Test(batch, overwrites_left_out_still_fill_the_memtable)
{
	char *dir = tu_tmpdir("batch");
	golite_options o;
	golite_options_init(&o);
	o.memtable_size = 1u << 20;
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	char val[100];
	memset(val, 'v', sizeof val);
	golite_batch *b = golite_batch_new();
	for (int round = 0; round < 400; round++) {
		for (int i = 0; i < 50; i++)
			golite_batch_put(b, "t", "hot", 3, val, sizeof val);
		cr_assert_eq(golite_write(db, b), 0);
		golite_batch_clear(b);
	}
	golite_batch_free(b);
	/* 20,000 writes of ~110 bytes: about 2 MiB, two memtables' worth */
	golite_stats s;
	for (int i = 0; i < 500; i++) {
		golite_stats_get(db, &s);
		if (s.flushes >= 1)
			break;
		usleep(10000);
	}
	cr_expect_geq(s.flushes, 1, "no flush after 2 MiB of overwrites");
	golite_close(db);
	tu_rmtree(dir);
}
