/*
 * test_sstable.c — SSTable builder and reader: round trips in every
 * compression mode and on both read paths (mmap and pread + block cache),
 * point lookups at snapshots, iterator seeks across block boundaries, big
 * keys and values, metadata, verify and dump, and damage: every corrupted
 * byte, truncation or failed I/O gives an error or the right data, never
 * wrong data.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <urcu.h>

#include "block.h"
#include "cache.h"
#include "crc32c.h"
#include "format.h"
#include "golite.h"
#include "io.h"
#include "sstable.h"
#include "sstable_int.h"
#include "error.h"
#include "util.h"

/* ---- fixture ---- */

static char dir[64];

static void rm_dir(const char *d)
{
	DIR *dh = opendir(d);
	if (!dh)
		return;
	struct dirent *de;
	char p[512];
	while ((de = readdir(dh))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", d, de->d_name);
		unlink(p);
	}
	closedir(dh);
	rmdir(d);
}

static void setup(void)
{
	rcu_register_thread();
	strcpy(dir, "/tmp/golite-sst-XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	io_set_fault_hook(NULL, NULL);
	rcu_barrier();  /* closes readers whose last reference dropped */
	rm_dir(dir);
	rcu_unregister_thread();
}

TestSuite(sstable, .init = setup, .fini = teardown, .timeout = 120);

static char *path_of(const char *name)
{
	static char p[2][256];
	static int which;
	which ^= 1;
	snprintf(p[which], sizeof(p[which]), "%s/%s", dir, name);
	return p[which];
}

/* ---- a model of a table's entries ---- */

struct ent {
	uint8_t *skey;
	size_t sklen;
	uint8_t *val;
	size_t vlen;
};

struct model {
	struct ent *e;
	size_t n;
};

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;
	return skey_cmp(x->skey, x->sklen, y->skey, y->sklen);
}

static uint8_t *make_skey(uint32_t table, const void *key, size_t klen, uint64_t seq, unsigned kind,
			  size_t *sklen)
{
	uint8_t *s = malloc(IKEY_PREFIX + klen + TRAILER_SIZE);
	size_t n = ikey_make(s, table, key, klen);
	put_le64(s + n, trailer_pack(seq, kind));
	*sklen = n + TRAILER_SIZE;
	return s;
}

static void model_add(struct model *m, uint32_t table, const void *key, size_t klen, uint64_t seq,
		      unsigned kind, const void *val, size_t vlen)
{
	m->e = realloc(m->e, (m->n + 1) * sizeof(*m->e));
	struct ent *e = &m->e[m->n++];
	e->skey = make_skey(table, key, klen, seq, kind, &e->sklen);
	e->vlen = kind == KIND_DELETE ? 0 : vlen;
	e->val = malloc(e->vlen + 1);
	if (e->vlen)
		memcpy(e->val, val, e->vlen);
}

static void model_sort(struct model *m)
{
	qsort(m->e, m->n, sizeof(*m->e), ent_cmp);
}

static void model_free(struct model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].skey);
		free(m->e[i].val);
	}
	free(m->e);
	m->e = NULL;
	m->n = 0;
}

static void rand_bytes(unsigned *s, uint8_t *p, size_t n, bool text)
{
	for (size_t i = 0; i < n; i++)
		p[i] = text ? (uint8_t)('a' + rand_r(s) % 8) : (uint8_t)rand_r(s);
}

/*
 * nkeys distinct user keys over two tables, each with 1..max_versions
 * versions (distinct sequence numbers), about one in eight a tombstone,
 * some empty values, compressible text values of up to maxval bytes.
 */
static void model_random(struct model *m, unsigned seed, size_t nkeys, int max_versions,
			 size_t maxval)
{
	unsigned s = seed;
	uint64_t seq = 1;
	uint8_t *val = malloc(maxval + 1);
	printf("model: seed %u, %zu keys\n", seed, nkeys);
	for (size_t i = 0; i < nkeys; i++) {
		char key[64];
		int klen = snprintf(key, sizeof(key), "user%07zu", i * 3 + (size_t)(rand_r(&s) % 3));
		int extra = rand_r(&s) % 12;
		for (int j = 0; j < extra; j++)
			key[klen++] = (char)('0' + rand_r(&s) % 75);
		uint32_t table = i % 5 == 0 ? TABLE_ID_FIRST_USER + 1 : TABLE_ID_FIRST_USER;
		int versions = 1 + rand_r(&s) % max_versions;
		for (int v = 0; v < versions; v++) {
			unsigned kind = rand_r(&s) % 8 == 0 ? KIND_DELETE
				      : rand_r(&s) % 16 == 0 ? KIND_META : KIND_VALUE;
			size_t vlen = rand_r(&s) % 10 == 0 ? 0 : (size_t)rand_r(&s) % (maxval + 1);
			rand_bytes(&s, val, vlen, true);
			seq += 1 + (uint64_t)(rand_r(&s) % 3);
			model_add(m, table, key, (size_t)klen, seq, kind, val, vlen);
		}
	}
	free(val);
	model_sort(m);
}

static struct sst_options opts(enum golite_compression c)
{
	struct sst_options o;
	sst_options_init(&o);
	o.compression = c;
	return o;
}

static void build(const char *path, const struct model *m, const struct sst_options *o,
		  struct sst_meta *meta)
{
	struct sst_builder *b;
	cr_assert_eq(sst_builder_new(path, 42, o, &b), 0, "%s", last_error());
	for (size_t i = 0; i < m->n; i++)
		cr_assert_eq(sst_builder_add(b, m->e[i].skey, m->e[i].sklen, m->e[i].val, m->e[i].vlen),
			     0, "add %zu: %s", i, last_error());
	struct sst_meta tmp;
	cr_assert_eq(sst_builder_finish(b, meta ? meta : &tmp), 0, "%s", last_error());
	if (!meta)
		sst_meta_free(&tmp);
}

static struct sst_reader *open_table(const char *path, struct block_cache *c, unsigned flags)
{
	struct sst_reader *r;
	int e = sst_open_flags(path, 42, c, flags, &r);
	cr_assert_eq(e, 0, "open %s: %s", path, last_error());
	return r;
}

/* ---- checks against the model ---- */

/* The full scan yields exactly the model. */
static void check_scan(struct sst_reader *r, const struct model *m)
{
	struct sst_iter *it = sst_iter_new(r);
	size_t i = 0;
	for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it), i++) {
		cr_assert_lt(i, m->n, "more entries than the model");
		size_t kl, vl;
		const void *k = sst_iter_key(it, &kl), *v = sst_iter_value(it, &vl);
		cr_assert_eq(kl, m->e[i].sklen, "entry %zu", i);
		cr_assert_eq(memcmp(k, m->e[i].skey, kl), 0, "entry %zu key", i);
		cr_assert_eq(vl, m->e[i].vlen, "entry %zu value length", i);
		cr_assert_eq(memcmp(v, m->e[i].val, vl), 0, "entry %zu value", i);
	}
	cr_assert_eq(sst_iter_status(it), 0, "%s", last_error());
	cr_assert_eq(i, m->n);
	sst_iter_free(it);
}

/* The model's answer to get(ikey, snap): index of the entry, or -1. */
static ssize_t model_get(const struct model *m, const uint8_t *ikey, size_t iklen, uint64_t snap)
{
	size_t lo = 0, hi = m->n;
	uint64_t t = trailer_pack(snap, 0xff);
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (skey_cmp_parts(m->e[mid].skey, m->e[mid].sklen, ikey, iklen, t) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == m->n || ikey_cmp(m->e[lo].skey, m->e[lo].sklen - TRAILER_SIZE, ikey, iklen))
		return -1;
	return (ssize_t)lo;
}

/* get() of entry i's key at snap agrees with the model. */
static void check_get(struct sst_reader *r, const struct model *m, const uint8_t *ikey,
		      size_t iklen, uint64_t snap)
{
	ssize_t want = model_get(m, ikey, iklen, snap);
	struct sst_get_result res;
	rcu_read_lock();
	int f = sst_get(r, ikey, iklen, hash64(ikey, iklen), snap, &res);
	cr_assert_geq(f, 0, "get: %s", last_error());
	if (want < 0) {
		cr_assert_eq(f, 0, "found a key the model lacks (snap %" PRIu64 ")", snap);
	} else {
		const struct ent *e = &m->e[want];
		uint64_t t = get_le64(e->skey + e->sklen - TRAILER_SIZE);
		cr_assert_eq(f, 1, "key missing at snap %" PRIu64, snap);
		cr_assert_eq(res.seq, trailer_seq(t));
		cr_assert_eq(res.kind, trailer_kind(t));
		cr_assert_eq(res.vlen, e->vlen);
		if (res.kind == KIND_DELETE)
			cr_assert_null(res.value);
		else
			cr_assert_eq(memcmp(res.value, e->val, e->vlen), 0);
	}
	rcu_read_unlock();
}

/* Every key at its versions' snapshots, just below them, and at the top. */
static void check_gets(struct sst_reader *r, const struct model *m, size_t stride)
{
	for (size_t i = 0; i < m->n; i += stride) {
		const struct ent *e = &m->e[i];
		size_t iklen = e->sklen - TRAILER_SIZE;
		uint64_t seq = trailer_seq(get_le64(e->skey + iklen));
		check_get(r, m, e->skey, iklen, seq);
		check_get(r, m, e->skey, iklen, seq - 1);
		check_get(r, m, e->skey, iklen, SEQ_MAX);
		/* Absent neighbours: the key with a byte appended, or cut. */
		uint8_t k[IKEY_MAX + 1];
		memcpy(k, e->skey, iklen);
		k[iklen] = 0;
		check_get(r, m, k, iklen + 1, SEQ_MAX);
		check_get(r, m, k, iklen - 1, SEQ_MAX);
	}
}

/* seek(x) lands on the first model entry >= x, for entry keys and keys
 * between them; then next() follows the model for a few steps. */
static void check_seeks(struct sst_reader *r, const struct model *m, size_t stride)
{
	struct sst_iter *it = sst_iter_new(r);
	for (size_t i = 0; i < m->n; i += stride) {
		const struct ent *e = &m->e[i];
		for (int variant = 0; variant < 3; variant++) {
			uint8_t k[SKEY_MAX + 1];
			size_t kl = e->sklen, want = i;
			memcpy(k, e->skey, kl);
			if (variant == 1) {
				/* Just after this entry: same ikey, next lower trailer. */
				uint64_t t = get_le64(k + kl - TRAILER_SIZE);
				if (t == 0)
					continue;
				put_le64(k + kl - TRAILER_SIZE, t - 1);
				want = i + 1;
			} else if (variant == 2) {
				/* An ikey between this one and the next. */
				memmove(k + kl - TRAILER_SIZE + 1, k + kl - TRAILER_SIZE, TRAILER_SIZE);
				k[kl - TRAILER_SIZE] = 0;
				kl++;
				want = i + 1;
				while (want < m->n && ent_cmp(&(struct ent){ .skey = k, .sklen = kl },
							      &m->e[want]) > 0)
					want++;
			}
			sst_iter_seek(it, k, kl);
			for (int step = 0; step < 3; step++, want++) {
				if (want >= m->n) {
					cr_assert(!sst_iter_valid(it), "valid past the end");
					break;
				}
				cr_assert(sst_iter_valid(it), "seek %zu/%d: %s", i, variant, last_error());
				size_t got;
				const void *gk = sst_iter_key(it, &got);
				cr_assert_eq(got, m->e[want].sklen, "seek %zu/%d step %d", i, variant, step);
				cr_assert_eq(memcmp(gk, m->e[want].skey, got), 0);
				sst_iter_next(it);
			}
		}
	}
	/* Before everything and after everything. */
	uint8_t lo[9] = { 0, 0, 0, 0, 0 };
	sst_iter_seek(it, lo, sizeof(lo));
	cr_assert_eq(sst_iter_valid(it), m->n > 0);
	uint8_t hi[13];
	memset(hi, 0xff, sizeof(hi));
	sst_iter_seek(it, hi, sizeof(hi));
	cr_assert(!sst_iter_valid(it));
	cr_assert_eq(sst_iter_status(it), 0);
	sst_iter_free(it);
}

static void check_all(const char *path, const struct model *m, struct block_cache *c,
		      unsigned flags, size_t stride)
{
	struct sst_reader *r = open_table(path, c, flags);
	check_scan(r, m);
	check_gets(r, m, stride);
	check_seeks(r, m, stride);
	sst_unref(r);
}

/* ---- round trips ---- */

static void round_trip(enum golite_compression comp, size_t maxval)
{
	struct model m = { 0 };
	unsigned seed = 1000 + comp;
	printf("round trip %d: seed %u\n", comp, seed);
	model_random(&m, seed, 3000, 4, maxval);
	struct sst_options o = opts(comp);
	struct sst_meta meta;
	build(path_of("t.sst"), &m, &o, &meta);
	cr_assert_eq(meta.entries, m.n);

	struct block_cache *c = block_cache_new(64 * 1024);
	check_all(path_of("t.sst"), &m, NULL, 0, 3);
	check_all(path_of("t.sst"), &m, c, SST_OPEN_PREAD, 3);
	check_all(path_of("t.sst"), &m, NULL, SST_OPEN_PREAD, 7);
	cr_assert_gt(block_cache_hits(c), 0);
	cr_assert_leq(block_cache_used(c), 64 * 1024);
	block_cache_free(c);

	uint64_t n;
	cr_assert_eq(sst_verify(path_of("t.sst"), &n), 0, "%s", last_error());
	cr_assert_eq(n, m.n);
	sst_meta_free(&meta);
	model_free(&m);
}

Test(sstable, round_trip_uncompressed)
{
	round_trip(GOLITE_COMPRESS_NONE, 200);
}

Test(sstable, round_trip_lz4)
{
	round_trip(GOLITE_COMPRESS_LZ4, 200);
}

Test(sstable, round_trip_zstd)
{
	round_trip(GOLITE_COMPRESS_ZSTD, 200);
}

Test(sstable, compressed_tables_are_smaller_and_use_the_pread_path)
{
	struct model m = { 0 };
	model_random(&m, 7, 2000, 1, 300);
	uint64_t size[3];
	for (int c = 0; c < 3; c++) {
		char name[32];
		snprintf(name, sizeof(name), "c%d.sst", c);
		struct sst_options o = opts((enum golite_compression)c);
		struct sst_meta meta;
		build(path_of(name), &m, &o, &meta);
		size[c] = meta.file_size;
		struct sst_reader *r = open_table(path_of(name), NULL, 0);
		cr_assert_eq(sst_is_mmapped(r), c == GOLITE_COMPRESS_NONE);
		sst_unref(r);
		sst_meta_free(&meta);
	}
	printf("sizes: none %" PRIu64 ", lz4 %" PRIu64 ", zstd %" PRIu64 "\n", size[0], size[1],
	       size[2]);
	cr_assert_lt(size[1], size[0]);
	cr_assert_lt(size[2], size[0]);
	model_free(&m);
}

Test(sstable, small_blocks_restart_intervals_with_and_without_hash_index)
{
	struct model m = { 0 };
	model_random(&m, 99, 600, 3, 40);
	int intervals[] = { 1, 2, 16, 1000 };
	size_t blocks[] = { 1, 64, 300, 100000 };
	for (size_t i = 0; i < 2 * ARRAY_SIZE(intervals); i++) {
		char name[32];
		snprintf(name, sizeof(name), "s%zu.sst", i);
		struct sst_options o = opts(i % 2 ? GOLITE_COMPRESS_LZ4 : GOLITE_COMPRESS_NONE);
		o.restart_interval = intervals[i % ARRAY_SIZE(intervals)];
		o.block_size = blocks[i % ARRAY_SIZE(intervals)];
		o.disable_hash_index = i >= ARRAY_SIZE(intervals);
		build(path_of(name), &m, &o, NULL);
		check_all(path_of(name), &m, NULL, 0, 1);
		cr_assert_eq(sst_verify(path_of(name), NULL), 0, "%s", last_error());
	}
	model_free(&m);
}

Test(sstable, no_filter_table_still_answers)
{
	struct model m = { 0 };
	model_random(&m, 5, 500, 2, 50);
	struct sst_options o = opts(GOLITE_COMPRESS_NONE);
	o.bloom_bits_per_key = 0;
	build(path_of("nf.sst"), &m, &o, NULL);
	struct sst_reader *r = open_table(path_of("nf.sst"), NULL, 0);
	cr_assert(sst_may_contain(r, 12345));
	sst_unref(r);
	check_all(path_of("nf.sst"), &m, NULL, 0, 1);
	model_free(&m);
}

Test(sstable, bloom_filter_rejects_most_absent_keys)
{
	struct model m = { 0 };
	model_random(&m, 6, 5000, 1, 10);
	build(path_of("b.sst"), &m, NULL, NULL);
	struct sst_reader *r = open_table(path_of("b.sst"), NULL, 0);
	size_t maybe = 0;
	for (size_t i = 0; i < 10000; i++) {
		char k[32];
		int n = snprintf(k, sizeof(k), "absent%zu", i);
		maybe += sst_may_contain(r, hash64(k, (size_t)n));
	}
	cr_assert_lt(maybe, 300, "%zu of 10000 absent keys pass the filter", maybe);
	for (size_t i = 0; i < m.n; i++)
		cr_assert(sst_may_contain(r, hash64(m.e[i].skey, m.e[i].sklen - TRAILER_SIZE)));
	sst_unref(r);
	model_free(&m);
}

Test(sstable, empty_table)
{
	struct model m = { 0 };
	struct sst_meta meta;
	build(path_of("e.sst"), &m, NULL, &meta);
	cr_assert_eq(meta.entries, 0);
	cr_assert_null(meta.smallest);
	cr_assert_null(meta.largest);
	for (unsigned flags = 0; flags <= SST_OPEN_PREAD; flags += SST_OPEN_PREAD) {
		struct sst_reader *r = open_table(path_of("e.sst"), NULL, flags);
		uint8_t k[] = { 0, 0, 0, 16, 'a' };
		check_get(r, &m, k, sizeof(k), SEQ_MAX);
		check_scan(r, &m);
		check_seeks(r, &m, 1);
		sst_unref(r);
	}
	uint64_t n = 99;
	cr_assert_eq(sst_verify(path_of("e.sst"), &n), 0, "%s", last_error());
	cr_assert_eq(n, 0);
	sst_meta_free(&meta);
}

Test(sstable, large_values_and_keys)
{
	struct model m = { 0 };
	unsigned s = 77;
	printf("large values and keys: seed %u\n", s);
	size_t sizes[] = { 0, 1, 4095, 4096, 4097, 20000, 300000, 3u << 20 };
	uint8_t *val = malloc(3u << 20);
	uint64_t seq = 1;
	for (size_t i = 0; i < 60; i++) {
		char key[GOLITE_MAX_KEY_SIZE];
		size_t klen = i % 4 == 0 ? GOLITE_MAX_KEY_SIZE : 1 + (size_t)rand_r(&s) % 3000;
		memset(key, 'k', klen);
		snprintf(key, klen < 8 ? klen : 8, "%03zu", i);
		key[klen < 8 ? klen - 1 : 7] = '-';
		size_t vlen = sizes[i % ARRAY_SIZE(sizes)];
		rand_bytes(&s, val, vlen, i % 2);
		model_add(&m, TABLE_ID_FIRST_USER, key, klen, seq++, KIND_VALUE, val, vlen);
	}
	model_sort(&m);
	for (int c = 0; c < 3; c++) {
		char name[32];
		snprintf(name, sizeof(name), "l%d.sst", c);
		struct sst_options o = opts((enum golite_compression)c);
		build(path_of(name), &m, &o, NULL);
		check_all(path_of(name), &m, NULL, 0, 1);
		check_all(path_of(name), &m, NULL, SST_OPEN_PREAD, 1);
		cr_assert_eq(sst_verify(path_of(name), NULL), 0, "%s", last_error());
	}
	free(val);
	model_free(&m);
}

Test(sstable, shared_prefixes_and_binary_keys)
{
	/* Keys that differ only late, keys of 0xff bytes (no short separator
	 * exists), and keys that are prefixes of each other. */
	struct model m = { 0 };
	uint64_t seq = 1;
	for (int i = 0; i < 400; i++) {
		uint8_t key[300];
		size_t klen;
		switch (i % 4) {
		case 0: klen = 200; memset(key, 'p', klen); put_be32(key + 196, (uint32_t)i); break;
		case 1: klen = 1 + (size_t)i % 40; memset(key, 0xff, klen); break;
		case 2: klen = 1 + (size_t)i % 50; memset(key, 'q', klen); break;
		default: klen = 5; key[0] = 0; key[1] = 0xff; key[2] = (uint8_t)(i >> 8); key[3] = (uint8_t)i; key[4] = 0; break;
		}
		if (i % 4 == 1 && i >= 160)
			continue;  /* 0xff keys repeat after 40 */
		if (i % 4 == 2 && i >= 200)
			continue;
		model_add(&m, TABLE_ID_FIRST_USER + (uint32_t)(i % 3), key, klen, seq++, KIND_VALUE,
			  "v", 1);
	}
	model_sort(&m);
	struct sst_options o = opts(GOLITE_COMPRESS_NONE);
	o.block_size = 256;
	build(path_of("p.sst"), &m, &o, NULL);
	check_all(path_of("p.sst"), &m, NULL, 0, 1);
	check_all(path_of("p.sst"), &m, NULL, SST_OPEN_PREAD, 1);
	model_free(&m);
}

Test(sstable, meta_describes_the_table)
{
	struct model m = { 0 };
	model_random(&m, 11, 1000, 3, 30);
	struct sst_meta meta;
	build(path_of("m.sst"), &m, NULL, &meta);
	uint64_t dels = 0, minseq = UINT64_MAX, maxseq = 0, rk = 0, rv = 0;
	for (size_t i = 0; i < m.n; i++) {
		uint64_t t = get_le64(m.e[i].skey + m.e[i].sklen - TRAILER_SIZE);
		dels += trailer_kind(t) == KIND_DELETE;
		minseq = MIN(minseq, trailer_seq(t));
		maxseq = MAX(maxseq, trailer_seq(t));
		rk += m.e[i].sklen;
		rv += m.e[i].vlen;
	}
	struct stat st;
	cr_assert_eq(stat(path_of("m.sst"), &st), 0);
	cr_assert_eq(meta.file_no, 42);
	cr_assert_eq(meta.file_size, (uint64_t)st.st_size);
	cr_assert_eq(meta.entries, m.n);
	cr_assert_eq(meta.deletions, dels);
	cr_assert_eq(meta.min_seq, minseq);
	cr_assert_eq(meta.max_seq, maxseq);
	cr_assert_eq(meta.raw_key_bytes, rk);
	cr_assert_eq(meta.raw_value_bytes, rv);
	cr_assert_eq(meta.smallest_len, m.e[0].sklen);
	cr_assert_eq(memcmp(meta.smallest, m.e[0].skey, meta.smallest_len), 0);
	cr_assert_eq(meta.largest_len, m.e[m.n - 1].sklen);
	cr_assert_eq(memcmp(meta.largest, m.e[m.n - 1].skey, meta.largest_len), 0);

	struct sst_reader *r = open_table(path_of("m.sst"), NULL, 0);
	struct sst_meta again;
	sst_reader_meta(r, &again);
	cr_assert_eq(again.entries, meta.entries);
	cr_assert_eq(again.file_size, meta.file_size);
	cr_assert_eq(again.raw_value_bytes, meta.raw_value_bytes);
	cr_assert_eq(memcmp(again.largest, meta.largest, meta.largest_len), 0);
	cr_assert_eq(sst_entries(r), m.n);
	sst_meta_free(&again);
	sst_unref(r);
	sst_meta_free(&meta);
	model_free(&m);
}

Test(sstable, builder_size_grows_as_entries_are_added)
{
	struct sst_builder *b;
	cr_assert_eq(sst_builder_new(path_of("g.sst"), 1, NULL, &b), 0);
	uint64_t prev = sst_builder_size(b);
	uint8_t val[100] = { 0 };
	for (uint64_t i = 0; i < 1000; i++) {
		uint8_t key[16];
		put_be64(key, i);
		size_t sl;
		uint8_t *sk = make_skey(TABLE_ID_FIRST_USER, key, 8, i + 1, KIND_VALUE, &sl);
		cr_assert_eq(sst_builder_add(b, sk, sl, val, sizeof(val)), 0);
		free(sk);
		cr_assert_geq(sst_builder_size(b), prev);
		prev = sst_builder_size(b);
	}
	cr_assert_gt(prev, 1000 * 100);
	cr_assert_eq(sst_builder_entries(b), 1000);
	struct sst_meta meta;
	cr_assert_eq(sst_builder_finish(b, &meta), 0);
	cr_assert_geq(meta.file_size, prev);
	sst_meta_free(&meta);
}

Test(sstable, builder_refuses_bad_input)
{
	struct sst_builder *b;
	cr_assert_eq(sst_builder_new(path_of("x.sst"), 1, NULL, &b), 0);
	size_t l1, l2, l3;
	uint8_t *k1 = make_skey(16, "b", 1, 5, KIND_VALUE, &l1);
	uint8_t *k2 = make_skey(16, "a", 1, 9, KIND_VALUE, &l2);
	uint8_t *k3 = make_skey(16, "b", 1, 6, KIND_VALUE, &l3);  /* newer: sorts first */
	cr_assert_eq(sst_builder_add(b, k1, l1, "x", 1), 0);
	cr_assert_eq(sst_builder_add(b, k2, l2, "x", 1), GOLITE_EINVAL);
	cr_assert_eq(sst_builder_add(b, k3, l3, "x", 1), GOLITE_EINVAL);
	cr_assert_eq(sst_builder_add(b, k1, l1, "x", 1), GOLITE_EINVAL, "duplicate");
	cr_assert_eq(sst_builder_add(b, k1, 8, "x", 1), GOLITE_EINVAL, "no ikey");
	uint8_t big[SKEY_MAX + 1] = { 0xff };
	cr_assert_eq(sst_builder_add(b, big, sizeof(big), "x", 1), GOLITE_EINVAL, "key too long");
	size_t l4;
	uint8_t *k4 = make_skey(16, "c", 1, 1, 77, &l4);
	cr_assert_eq(sst_builder_add(b, k4, l4, "x", 1), GOLITE_EINVAL, "unknown kind");
	cr_assert_eq(sst_builder_entries(b), 1, "refused adds change nothing");
	sst_builder_abandon(b);
	cr_assert_eq(access(path_of("x.sst"), F_OK), -1, "abandon unlinks");

	/* O_EXCL. */
	int fd = open(path_of("y.sst"), O_CREAT | O_WRONLY, 0644);
	close(fd);
	cr_assert_eq(sst_builder_new(path_of("y.sst"), 1, NULL, &b), GOLITE_EEXIST);
	cr_assert_null(b);
	struct sst_options o = opts(GOLITE_COMPRESS_NONE);
	o.compression = 9;
	cr_assert_eq(sst_builder_new(path_of("z.sst"), 1, &o, &b), GOLITE_EINVAL);
	free(k1);
	free(k2);
	free(k3);
	free(k4);
}

Test(sstable, obsolete_table_is_unlinked_when_the_last_reference_drops)
{
	struct model m = { 0 };
	model_random(&m, 3, 100, 1, 10);
	build(path_of("o.sst"), &m, NULL, NULL);
	struct sst_reader *r = open_table(path_of("o.sst"), NULL, 0);
	struct sst_iter *it = sst_iter_new(r);
	sst_mark_obsolete(r);
	sst_unref(r);
	cr_assert_eq(access(path_of("o.sst"), F_OK), 0, "the iterator still holds it");
	check_scan(r, &m);  /* the iterator's reference keeps it usable */
	sst_iter_free(it);
	cr_assert_eq(access(path_of("o.sst"), F_OK), -1);
	model_free(&m);
}

Test(sstable, a_value_stays_valid_until_the_read_side_section_ends)
{
	struct model m = { 0 };
	model_random(&m, 4, 300, 1, 200);
	build(path_of("v.sst"), &m, NULL, NULL);
	struct block_cache *c = block_cache_new(1 << 20);
	for (unsigned flags = 0; flags <= SST_OPEN_PREAD; flags += SST_OPEN_PREAD) {
		struct sst_reader *r = open_table(path_of("v.sst"), c, flags);
		const struct ent *x = &m.e[m.n / 2];
		while (x->vlen == 0)
			x++;
		size_t iklen = x->sklen - TRAILER_SIZE;
		struct sst_get_result res;
		rcu_read_lock();
		cr_assert_eq(sst_get(r, x->skey, iklen, hash64(x->skey, iklen), SEQ_MAX, &res), 1);
		if (flags)
			sst_mark_obsolete(r);
		sst_unref(r);  /* the last reference */
		cr_assert_eq(res.vlen, x->vlen);
		cr_assert_eq(memcmp(res.value, x->val, x->vlen), 0, "value still readable");
		rcu_read_unlock();
		rcu_barrier();
	}
	cr_assert_eq(access(path_of("v.sst"), F_OK), -1, "the obsolete table was unlinked");
	cr_assert_eq(block_cache_used(c), 0);
	block_cache_free(c);
	model_free(&m);
}

Test(sstable, verify_and_dump)
{
	struct model m = { 0 };
	uint8_t v[] = { 'o', 'k', 0, 0xff, '"' };
	model_add(&m, 16, "alpha", 5, 3, KIND_VALUE, v, sizeof(v));
	model_add(&m, 16, "alpha", 5, 2, KIND_DELETE, NULL, 0);
	model_add(&m, 17, "be\ta", 4, 4, KIND_META, "m", 1);
	model_sort(&m);
	build(path_of("d.sst"), &m, NULL, NULL);
	uint64_t n;
	cr_assert_eq(sst_verify(path_of("d.sst"), &n), 0);
	cr_assert_eq(n, 3);
	char *buf;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	cr_assert_eq(sst_dump(path_of("d.sst"), f, false), 0);
	fclose(f);
	cr_assert(strstr(buf, "entries 3"), "%s", buf);
	cr_assert(strstr(buf, "16/\"alpha\" @3 val = \"ok\\x00\\xff\\\"\""), "%s", buf);
	cr_assert(strstr(buf, "16/\"alpha\" @2 del\n"), "%s", buf);
	cr_assert(strstr(buf, "17/\"be\\x09a\" @4 meta = \"m\""), "%s", buf);
	free(buf);
	f = open_memstream(&buf, &len);
	cr_assert_eq(sst_dump(path_of("d.sst"), f, true), 0);
	fclose(f);
	cr_assert(strstr(buf, "16/616c706861 @3 val = 6f6b00ff22"), "%s", buf);
	free(buf);
	model_free(&m);
}

/* ---- damage ---- */

static uint8_t *slurp(const char *path, size_t *len)
{
	uint8_t *d;
	cr_assert_eq(io_read_file(path, 1u << 30, &d, len), 0);
	return d;
}

static void spit(const char *path, const uint8_t *d, size_t len)
{
	unlink(path);
	int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, d, len), (ssize_t)len);
	close(fd);
}

static void expect_open_error(const char *path, int want, const char *needle)
{
	struct sst_reader *r;
	for (unsigned flags = 0; flags <= SST_OPEN_PREAD; flags += SST_OPEN_PREAD) {
		int e = sst_open_flags(path, 1, NULL, flags, &r);
		cr_assert_eq(e, want, "open gave %d (%s)", e, last_error());
		cr_assert_null(r);
		cr_assert(strstr(last_error(), path), "message names the file: %s", last_error());
		cr_assert(strstr(last_error(), needle), "message: %s", last_error());
	}
	cr_assert_eq(sst_verify(path, NULL), want);
}

Test(sstable, damaged_footer_and_truncation_are_reported)
{
	struct model m = { 0 };
	model_random(&m, 21, 300, 2, 50);
	build(path_of("f.sst"), &m, NULL, NULL);
	size_t len;
	uint8_t *d = slurp(path_of("f.sst"), &len);
	char *p = path_of("bad.sst");

	d[len - 1] ^= 1;
	spit(p, d, len);
	expect_open_error(p, GOLITE_ECORRUPT, "bad magic");
	d[len - 1] ^= 1;

	/* A version 1 table (before expiring entries) still opens and
	 * verifies. The footer's checksum covers its version. */
	put_le32(d + len - 16, 1);
	put_le32(d + len - 12, crc32c_mask(crc32c(d + len - 64, 52)));
	spit(p, d, len);
	cr_assert_eq(sst_verify(p, NULL), 0, "version 1: %s", last_error());
	put_le32(d + len - 16, SST_FORMAT_VERSION);
	put_le32(d + len - 12, crc32c_mask(crc32c(d + len - 64, 52)));

	put_le32(d + len - 16, SST_FORMAT_VERSION + 1);
	spit(p, d, len);
	expect_open_error(p, GOLITE_EVERSION, "version 4");
	put_le32(d + len - 16, 0);
	spit(p, d, len);
	expect_open_error(p, GOLITE_EVERSION, "version 0");
	put_le32(d + len - 16, SST_FORMAT_VERSION);

	d[len - 64] ^= 0x10;
	spit(p, d, len);
	expect_open_error(p, GOLITE_ECORRUPT, "footer checksum");
	d[len - 64] ^= 0x10;

	/* Every truncation point in the last 200 bytes, and a few earlier. */
	for (size_t cut = 1; cut < len; cut += cut < 200 ? 1 : 997) {
		spit(p, d, len - cut);
		expect_open_error(p, GOLITE_ECORRUPT, "offset");
	}
	spit(p, d, 0);
	expect_open_error(p, GOLITE_ECORRUPT, "too short");

	expect_open_error(path_of("missing.sst"), GOLITE_EIO, "No such file");
	free(d);
	model_free(&m);
}

/*
 * Opens the damaged table on one path and compares everything it yields
 * with the model: each call must fail or agree. Returns whether any error
 * was seen.
 */
static bool probe_damaged(const char *path, const struct model *m, unsigned flags)
{
	struct sst_reader *r;
	int e = sst_open_flags(path, 1, NULL, flags, &r);
	if (e) {
		cr_assert(e == GOLITE_ECORRUPT || e == GOLITE_EVERSION, "open: %d %s", e, last_error());
		return true;
	}
	bool err = false;
	/* Scan: a correct prefix, then the end or an error. */
	struct sst_iter *it = sst_iter_new(r);
	size_t i = 0;
	for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it), i++) {
		size_t kl, vl;
		const void *k = sst_iter_key(it, &kl), *v = sst_iter_value(it, &vl);
		cr_assert_lt(i, m->n);
		cr_assert(kl == m->e[i].sklen && !memcmp(k, m->e[i].skey, kl), "wrong key %zu", i);
		cr_assert(vl == m->e[i].vlen && !memcmp(v, m->e[i].val, vl), "wrong value %zu", i);
	}
	if (sst_iter_status(it)) {
		cr_assert_eq(sst_iter_status(it), GOLITE_ECORRUPT);
		err = true;
	} else {
		cr_assert_eq(i, m->n, "scan ended early without an error");
	}
	sst_iter_free(it);
	/* Gets: the right answer or an error. */
	for (size_t j = 0; j < m->n; j++) {
		const struct ent *x = &m->e[j];
		size_t iklen = x->sklen - TRAILER_SIZE;
		uint64_t seq = trailer_seq(get_le64(x->skey + iklen));
		struct sst_get_result res;
		rcu_read_lock();
		int f = sst_get(r, x->skey, iklen, hash64(x->skey, iklen), seq, &res);
		if (f < 0) {
			cr_assert_eq(f, GOLITE_ECORRUPT, "%s", last_error());
			err = true;
		} else {
			cr_assert_eq(f, 1, "entry %zu lost without an error", j);
			cr_assert_eq(res.seq, seq);
			cr_assert_eq(res.vlen, x->vlen);
			cr_assert(!x->vlen || !memcmp(res.value, x->val, x->vlen), "wrong value %zu", j);
		}
		rcu_read_unlock();
	}
	sst_unref(r);
	return err;
}

static void flip_bytes(enum golite_compression comp, unsigned seed, int trials)
{
	struct model m = { 0 };
	model_random(&m, seed, 150, 2, 120);
	struct sst_options o = opts(comp);
	o.block_size = 512;
	build(path_of("good.sst"), &m, &o, NULL);
	size_t len;
	uint8_t *good = slurp(path_of("good.sst"), &len);
	uint8_t *d = malloc(len);
	unsigned s = seed;
	printf("flip bytes (compression %d): seed %u, %d trials over %zu bytes\n", comp, seed,
	       trials, len);
	for (int t = 0; t < trials; t++) {
		memcpy(d, good, len);
		size_t off = (size_t)rand_r(&s) % len;
		uint8_t x = (uint8_t)(1 + rand_r(&s) % 255);
		d[off] ^= x;
		char name[32];
		snprintf(name, sizeof(name), "flip%d.sst", t);
		char *p = path_of(name);
		spit(p, d, len);
		probe_damaged(p, &m, 0);
		probe_damaged(p, &m, SST_OPEN_PREAD);
		/* Every byte is under a checksum: verify always notices. */
		int e = sst_verify(p, NULL);
		cr_assert(e == GOLITE_ECORRUPT || e == GOLITE_EVERSION,
			  "trial %d: byte %zu ^ 0x%02x not detected by verify", t, off, x);
		cr_assert(strstr(last_error(), p));
		unlink(p);
	}
	free(d);
	free(good);
	model_free(&m);
}

Test(sstable, flipped_bytes_give_errors_never_wrong_data_uncompressed)
{
	flip_bytes(GOLITE_COMPRESS_NONE, 31337, 300);
}

Test(sstable, flipped_bytes_give_errors_never_wrong_data_lz4)
{
	flip_bytes(GOLITE_COMPRESS_LZ4, 4711, 200);
}

Test(sstable, flipped_bytes_give_errors_never_wrong_data_zstd)
{
	flip_bytes(GOLITE_COMPRESS_ZSTD, 2024, 200);
}

Test(sstable, damaged_data_block_names_file_and_offset)
{
	struct model m = { 0 };
	model_random(&m, 8, 400, 1, 50);
	build(path_of("g.sst"), &m, NULL, NULL);
	size_t len;
	uint8_t *d = slurp(path_of("g.sst"), &len);
	d[10] ^= 0x40;  /* inside block 0, which starts at offset 0 */
	char *p = path_of("dmg.sst");
	spit(p, d, len);
	for (unsigned flags = 0; flags <= SST_OPEN_PREAD; flags += SST_OPEN_PREAD) {
		struct sst_reader *r = open_table(p, NULL, flags);
		struct sst_iter *it = sst_iter_new(r);
		sst_iter_seek_first(it);
		cr_assert(!sst_iter_valid(it));
		cr_assert_eq(sst_iter_status(it), GOLITE_ECORRUPT);
		cr_assert(strstr(last_error(), p), "%s", last_error());
		cr_assert(strstr(last_error(), "offset 0: checksum mismatch in data block"), "%s",
			  last_error());
		sst_iter_free(it);
		struct sst_get_result res;
		size_t iklen = m.e[0].sklen - TRAILER_SIZE;
		rcu_read_lock();
		cr_assert_eq(sst_get(r, m.e[0].skey, iklen, hash64(m.e[0].skey, iklen), SEQ_MAX, &res),
			     GOLITE_ECORRUPT);
		rcu_read_unlock();
		sst_unref(r);
	}
	free(d);
	model_free(&m);
}

/*
 * Rewrites block 0 of a raw table (which starts at offset 0 and whose
 * size is found by scanning for a valid trailer) after edit(), with a
 * fresh checksum: damage that only structural checks can catch.
 */
static size_t block0_size(const uint8_t *d, size_t len)
{
	for (size_t n = 8; n + SST_BLOCK_TRAILER <= len; n++) {
		uint8_t type;
		if (block_trailer_check(d, n, &type) == 0 && type == SST_BLOCK_RAW)
			return n;
	}
	cr_assert_fail("no block 0");
	return 0;
}

Test(sstable, keys_out_of_order_under_a_valid_checksum_are_reported)
{
	struct model m = { 0 };
	model_random(&m, 41, 200, 1, 20);
	build(path_of("k.sst"), &m, NULL, NULL);
	size_t len;
	uint8_t *d = slurp(path_of("k.sst"), &len);
	size_t n = block0_size(d, len);
	/* The second entry: make its first stored key byte 0, so it sorts
	 * below the first entry. */
	uint32_t sh, ns, vl;
	const uint8_t *k = block_entry_header(d, d + n, &sh, &ns, &vl);
	uint8_t *second = (uint8_t *)k + ns + vl;
	k = block_entry_header(second, d + n, &sh, &ns, &vl);
	cr_assert_not_null(k);
	((uint8_t *)k)[0] = 0;
	block_trailer_put(d + n, d, n, SST_BLOCK_RAW);
	char *p = path_of("ooo.sst");
	spit(p, d, len);
	for (unsigned flags = 0; flags <= SST_OPEN_PREAD; flags += SST_OPEN_PREAD) {
		struct sst_reader *r = open_table(p, NULL, flags);
		struct sst_iter *it = sst_iter_new(r);
		size_t i = 0;
		for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it))
			i++;
		cr_assert_eq(i, 1, "only the first entry is returned");
		cr_assert_eq(sst_iter_status(it), GOLITE_ECORRUPT);
		cr_assert(strstr(last_error(), "keys out of order"), "%s", last_error());
		cr_assert(strstr(last_error(), p));
		sst_iter_free(it);
		sst_unref(r);
	}
	cr_assert_eq(sst_verify(p, NULL), GOLITE_ECORRUPT);
	free(d);
	model_free(&m);
}

Test(sstable, verify_checks_the_hash_index)
{
	struct model m = { 0 };
	model_random(&m, 42, 200, 1, 20);
	build(path_of("h.sst"), &m, NULL, NULL);
	size_t len;
	uint8_t *d = slurp(path_of("h.sst"), &len);
	size_t n = block0_size(d, len);
	uint32_t nslots = get_le32(d + n - 8);
	cr_assert_gt(nslots, 0);
	/* Empty every slot: lookups through them would miss every key. */
	memset(d + n - 8 - 4 * (size_t)nslots, 0xff, 4 * (size_t)nslots);
	block_trailer_put(d + n, d, n, SST_BLOCK_RAW);
	char *p = path_of("hx.sst");
	spit(p, d, len);
	cr_assert_eq(sst_verify(p, NULL), GOLITE_ECORRUPT);
	cr_assert(strstr(last_error(), "hash index"), "%s", last_error());
	/* A block with no empty slot could make probing loop: refused. */
	memset(d + n - 8 - 4 * (size_t)nslots, 0, 4 * (size_t)nslots);
	block_trailer_put(d + n, d, n, SST_BLOCK_RAW);
	spit(p, d, len);
	struct sst_reader *r = open_table(p, NULL, 0);
	struct sst_get_result res;
	size_t iklen = m.e[0].sklen - TRAILER_SIZE;
	rcu_read_lock();
	cr_assert_eq(sst_get(r, m.e[0].skey, iklen, hash64(m.e[0].skey, iklen), SEQ_MAX, &res),
		     GOLITE_ECORRUPT);
	rcu_read_unlock();
	sst_unref(r);
	free(d);
	model_free(&m);
}

/* ---- I/O faults ---- */

struct fault {
	enum io_op op;
	_Atomic int countdown;  /* fail the op when this reaches 0 */
	int err;
};

static int fault_hook(void *ctx, enum io_op op, const char *path, int fd, size_t *len)
{
	(void)path;
	(void)fd;
	(void)len;
	struct fault *f = ctx;
	if (op != f->op)
		return 0;
	return atomic_fetch_sub(&f->countdown, 1) == 0 ? f->err : 0;
}

Test(sstable, failed_reads_give_eio_never_wrong_data)
{
	struct model m = { 0 };
	model_random(&m, 12, 300, 1, 50);
	build(path_of("r.sst"), &m, NULL, NULL);
	/* Fail the n-th pread of open (footer, properties, index, filter). */
	for (int n = 0; n < 4; n++) {
		struct fault f = { IO_PREAD, n, EIO };
		io_set_fault_hook(fault_hook, &f);
		struct sst_reader *r;
		cr_assert_eq(sst_open_flags(path_of("r.sst"), 1, NULL, SST_OPEN_PREAD, &r), GOLITE_EIO,
			     "pread %d", n);
		io_set_fault_hook(NULL, NULL);
	}
	/* Fail a block read of a lookup. */
	struct sst_reader *r = open_table(path_of("r.sst"), NULL, SST_OPEN_PREAD);
	struct fault f = { IO_PREAD, 0, EIO };
	io_set_fault_hook(fault_hook, &f);
	struct sst_get_result res;
	size_t iklen = m.e[0].sklen - TRAILER_SIZE;
	rcu_read_lock();
	cr_assert_eq(sst_get(r, m.e[0].skey, iklen, hash64(m.e[0].skey, iklen), SEQ_MAX, &res),
		     GOLITE_EIO);
	rcu_read_unlock();
	io_set_fault_hook(NULL, NULL);
	check_gets(r, &m, 5);  /* and it recovers once the device does */
	sst_unref(r);
	model_free(&m);
}

/*
 * A scan of a mapped table reads its blocks through a readahead window
 * (16 KiB doubling to 128 KiB) with pread. A failed read, a damaged block
 * deep in a later window, and a descriptor that cannot be opened must each
 * give the same answers as reading the mapping.
 */
Test(sstable, mapped_scan_readahead_reports_errors_and_falls_back)
{
	struct model m = { 0 };
	model_random(&m, 13, 12000, 1, 200);
	build(path_of("ra.sst"), &m, NULL, NULL);
	struct sst_reader *r = open_table(path_of("ra.sst"), NULL, 0);
	cr_assert(sst_is_mmapped(r));
	cr_assert_gt(r->ix[r->nblocks - 1].off, 4 * (128u << 10), "table too small for the test");

	/* The n-th window read fails: EIO, then a new iterator recovers. */
	for (int n = 0; n < 4; n++) {
		struct fault f = { IO_PREAD, n, EIO };
		io_set_fault_hook(fault_hook, &f);
		struct sst_iter *it = sst_iter_new(r);
		size_t i = 0;
		for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it))
			i++;
		io_set_fault_hook(NULL, NULL);
		cr_assert_eq(sst_iter_status(it), GOLITE_EIO, "window %d: %s", n, last_error());
		cr_assert_lt(i, m.n, "window %d", n);
		sst_iter_free(it);
		check_scan(r, &m);
	}

	/* No descriptor for the window: the scan reads the mapping. The
	 * fault must have been taken, or this proves nothing. */
	struct fault f = { IO_OPEN, 0, EMFILE };
	io_set_fault_hook(fault_hook, &f);
	check_scan(r, &m);
	io_set_fault_hook(NULL, NULL);
	cr_assert_lt(atomic_load(&f.countdown), 0, "the scan opened no descriptor");

	/* A block in the fourth 128 KiB of the file, damaged: every entry
	 * before it is returned, then the error names its offset. */
	uint32_t bad = 0;
	while (r->ix[bad].off < 3 * (128u << 10) + 1000)
		bad++;
	uint64_t bad_off = r->ix[bad].off;
	sst_unref(r);
	size_t len;
	uint8_t *d = slurp(path_of("ra.sst"), &len);
	d[bad_off + 7] ^= 0x01;
	char *p = path_of("ra-dmg.sst");
	spit(p, d, len);
	r = open_table(p, NULL, 0);
	struct sst_iter *it = sst_iter_new(r);
	size_t i = 0;
	for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it), i++) {
		size_t kl;
		const void *k = sst_iter_key(it, &kl);
		cr_assert_eq(kl, m.e[i].sklen, "entry %zu", i);
		cr_assert_eq(memcmp(k, m.e[i].skey, kl), 0, "entry %zu", i);
	}
	cr_assert_eq(sst_iter_status(it), GOLITE_ECORRUPT);
	char want[64];
	snprintf(want, sizeof(want), "offset %" PRIu64 ": checksum mismatch", bad_off);
	cr_assert(strstr(last_error(), want), "%s", last_error());
	cr_assert_gt(i, 0);
	sst_iter_free(it);
	sst_unref(r);
	free(d);
	model_free(&m);
}

Test(sstable, failed_writes_fail_the_build_and_remove_the_file)
{
	struct model m = { 0 };
	model_random(&m, 13, 20000, 1, 100);
	enum io_op ops[] = { IO_PWRITE, IO_PWRITE, IO_FDATASYNC };
	int when[] = { 0, 1, 0 };  /* a flush during add, the last flush, the sync */
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		struct fault f = { ops[i], when[i], ENOSPC };
		struct sst_builder *b;
		cr_assert_eq(sst_builder_new(path_of("w.sst"), 1, NULL, &b), 0);
		io_set_fault_hook(fault_hook, &f);
		int e = 0;
		for (size_t j = 0; j < m.n && !e; j++)
			e = sst_builder_add(b, m.e[j].skey, m.e[j].sklen, m.e[j].val, m.e[j].vlen);
		struct sst_meta meta;
		int fe = sst_builder_finish(b, &meta);
		io_set_fault_hook(NULL, NULL);
		cr_assert_eq(fe, GOLITE_ENOSPC, "case %zu: finish gave %d", i, fe);
		cr_assert(e == 0 || e == GOLITE_ENOSPC);
		cr_assert(strstr(last_error(), "w.sst"), "%s", last_error());
		cr_assert_eq(access(path_of("w.sst"), F_OK), -1, "case %zu: file left behind", i);
	}
	model_free(&m);
}

/* ---- concurrency ---- */

struct shared {
	struct sst_reader *r[3];
	const struct model *m[3];
	unsigned seed;
	_Atomic int failures;
};

static void *reader_thread(void *arg)
{
	struct shared *sh = arg;
	rcu_register_thread();
	unsigned s = sh->seed;
	for (int i = 0; i < 20000; i++) {
		int t = rand_r(&s) % 3;
		const struct model *m = sh->m[t];
		const struct ent *x = &m->e[(size_t)rand_r(&s) % m->n];
		size_t iklen = x->sklen - TRAILER_SIZE;
		uint64_t seq = trailer_seq(get_le64(x->skey + iklen));
		struct sst_get_result res;
		rcu_read_lock();
		int f = sst_get(sh->r[t], x->skey, iklen, hash64(x->skey, iklen), seq, &res);
		if (f != 1 || res.seq != seq || res.vlen != x->vlen ||
		    (x->vlen && memcmp(res.value, x->val, x->vlen)))
			sh->failures++;
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

static void *scan_thread(void *arg)
{
	struct shared *sh = arg;
	rcu_register_thread();
	for (int round = 0; round < 6; round++) {
		int t = round % 3;
		const struct model *m = sh->m[t];
		struct sst_iter *it = sst_iter_new(sh->r[t]);
		size_t i = 0;
		for (sst_iter_seek_first(it); sst_iter_valid(it); sst_iter_next(it), i++) {
			size_t kl, vl;
			const void *k = sst_iter_key(it, &kl), *v = sst_iter_value(it, &vl);
			if (i >= m->n || kl != m->e[i].sklen || memcmp(k, m->e[i].skey, kl) ||
			    vl != m->e[i].vlen || memcmp(v, m->e[i].val, vl))
				sh->failures++;
		}
		if (i != m->n || sst_iter_status(it))
			sh->failures++;
		sst_iter_free(it);
	}
	rcu_unregister_thread();
	return NULL;
}

Test(sstable, concurrent_lookups_and_scans_through_a_small_cache)
{
	struct model m[3] = { { 0 } };
	const size_t cap = 48 * 1024;
	struct block_cache *c = block_cache_new(cap);
	struct shared sh = { .seed = 555 };
	printf("concurrent lookups: seed %u\n", sh.seed);
	for (int t = 0; t < 3; t++) {
		char name[32];
		snprintf(name, sizeof(name), "c%d.sst", t);
		model_random(&m[t], sh.seed + (unsigned)t, 2000, 2, 100);
		struct sst_options o = opts((enum golite_compression)t);
		build(path_of(name), &m[t], &o, NULL);
		sh.r[t] = open_table(path_of(name), c, SST_OPEN_PREAD);
		sh.m[t] = &m[t];
	}
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, i < 3 ? reader_thread : scan_thread, &sh), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(sh.failures, 0);
	cr_assert_leq(block_cache_used(c), cap);
	cr_assert(block_cache_check(c));
	cr_assert_gt(block_cache_hits(c), 0);
	printf("concurrent lookups: %" PRIu64 " hits, %" PRIu64 " misses\n", block_cache_hits(c),
	       block_cache_misses(c));
	for (int t = 0; t < 3; t++) {
		sst_unref(sh.r[t]);
		model_free(&m[t]);
	}
	rcu_barrier();
	cr_assert_eq(block_cache_used(c), 0, "closed tables leave the cache");
	block_cache_free(c);
}

Test(sstable, concurrent_lookups_on_a_mapped_table)
{
	struct model m = { 0 };
	struct shared sh = { .seed = 556 };
	model_random(&m, sh.seed, 3000, 2, 100);
	build(path_of("mm.sst"), &m, NULL, NULL);
	struct sst_reader *r = open_table(path_of("mm.sst"), NULL, 0);
	cr_assert(sst_is_mmapped(r));
	for (int t = 0; t < 3; t++) {
		sh.r[t] = r;
		sh.m[t] = &m;
	}
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, i < 2 ? reader_thread : scan_thread, &sh), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	cr_assert_eq(sh.failures, 0);
	sst_unref(r);
	model_free(&m);
}
