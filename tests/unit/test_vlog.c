/*
 * test_vlog.c — separated values (engine/vlog.h): large values stay in the
 * log segment that wrote them and tables point at them.
 *
 * Large values read back the same through gets, iterators and snapshots
 * after flushes, compactions and reopens; tables hold pointers, not the
 * values (the bytes written to tables stay far below the bytes put); the
 * collector deletes value files nobody can read and rewrites the live
 * values of mostly dead ones, so steady overwriting keeps the files within
 * a bound of the live data; a snapshot keeps what it sees; an iterator
 * opened before a pass keeps reading; a damaged value reads as an error,
 * never as other bytes; `golite check` reads every value; a checkpoint
 * carries the value files. The random test prints its seed.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "filename.h"
#include "golite.h"
#include "golite_tools.h"
#include "testutil.h"
#include "vlog.h"

static char *dir;

static void setup(void)
{
	dir = tu_tmpdir("vlog");
}

static void teardown(void)
{
	tu_rmtree(dir);
}

TestSuite(vlog, .init = setup, .fini = teardown);

static void small(golite_options *o)
{
	tu_small_options(o);
	o->memtable_size = 256u << 10;
}

static void put_big(golite *db, const char *table, int i, uint64_t tag, size_t len)
{
	char key[32];
	int klen = snprintf(key, sizeof(key), "k%06d", i);
	uint8_t *v = malloc(len);
	tu_fill(v, len, tag);
	cr_assert_eq(golite_put(db, table, key, (size_t)klen, v, len), 0, "%s",
		     golite_last_error());
	free(v);
}

/* 0 if key i reads as tag's len bytes, ENOTFOUND if absent. */
static int get_big(golite *db, const golite_snapshot *snap, int i, uint64_t tag, size_t len)
{
	char key[32];
	int klen = snprintf(key, sizeof(key), "k%06d", i);
	void *v = NULL;
	size_t vlen = 0;
	int r = snap ? golite_get_at(db, snap, "t", key, (size_t)klen, &v, &vlen)
		     : golite_get(db, "t", key, (size_t)klen, &v, &vlen);
	if (r)
		return r;
	cr_assert_eq(vlen, len, "key %d: %zu bytes, not %zu", i, vlen, len);
	cr_assert(tu_check_fill(v, vlen, tag), "key %d: wrong bytes", i);
	free(v);
	return 0;
}

static golite_stats stats(golite *db)
{
	golite_stats s;
	cr_assert_eq(golite_stats_get(db, &s), 0);
	return s;
}

static uint64_t files_bytes(const char *d, enum file_kind kind)
{
	uint64_t *nums;
	size_t n;
	cr_assert_eq(file_list(d, kind, &nums, &n), 0);
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++) {
		char p[4096];
		struct stat st;
		file_path(p, sizeof(p), d, kind, nums[i]);
		if (stat(p, &st) == 0)
			total += (uint64_t)st.st_size;
	}
	free(nums);
	return total;
}

Test(vlog, large_values_read_back_after_flush_compaction_reopen)
{
	golite_options o;
	small(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	const int n = 600;
	for (int i = 0; i < n; i++)
		put_big(db, "t", i, (uint64_t)i, 4096 + (size_t)(i % 7) * 1000);
	golite_stats s = stats(db);
	cr_assert_gt(s.values_separated, 0, "no value was separated");
	cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0, "%s",
		     golite_last_error());
	for (int i = 0; i < n; i++)
		cr_assert_eq(get_big(db, NULL, i, (uint64_t)i, 4096 + (size_t)(i % 7) * 1000), 0,
			     "key %d: %s", i, golite_last_error());
	/* Tables hold pointers: far fewer bytes than the values. */
	uint64_t put = 0;
	for (int i = 0; i < n; i++)
		put += 4096 + (size_t)(i % 7) * 1000;
	uint64_t sst = files_bytes(dir, FILE_TABLE);
	cr_assert_lt(sst * 10, put, "tables hold %llu bytes for %llu put", (unsigned long long)sst,
		     (unsigned long long)put);
	cr_assert_gt(files_bytes(dir, FILE_VALUE), 0);
	cr_assert_eq(golite_close(db), 0);

	db = tu_open(dir, &o);
	/* An iterator reads them too, in key order. */
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "t", NULL, &it), 0);
	int i = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it), i++) {
		size_t vlen;
		const void *v = golite_iter_value(it, &vlen);
		cr_assert_not_null(v, "%s", golite_last_error());
		cr_assert_eq(vlen, 4096 + (size_t)(i % 7) * 1000);
		cr_assert(tu_check_fill(v, vlen, (uint64_t)i), "key %d via iterator", i);
	}
	cr_assert_eq(golite_iter_status(it), 0);
	cr_assert_eq(i, n);
	golite_iter_free(it);
	golite_close(db);

	golite_check_options co = { 0 };
	golite_check_stats cs;
	cr_assert_eq(golite_check(dir, &co, &cs), 0, "%s", golite_last_error());
	cr_assert_eq(cs.problems, 0);
	cr_assert_eq(cs.values_checked, (uint64_t)n);
}

Test(vlog, small_values_and_expiring_ones_stay_in_tables)
{
	golite_options o;
	small(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	for (int i = 0; i < 300; i++) {
		put_big(db, "t", i, (uint64_t)i, 4095);
		char key[32];
		int klen = snprintf(key, sizeof(key), "x%06d", i);
		uint8_t v[8192];
		tu_fill(v, sizeof(v), 7);
		cr_assert_eq(golite_put_ttl(db, "t", key, (size_t)klen, v, sizeof(v), 3600000), 0);
	}
	cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
	cr_assert_eq(stats(db).values_separated, 0);
	cr_assert_eq(files_bytes(dir, FILE_VALUE), 0);
	golite_close(db);
}

Test(vlog, overwriting_keeps_value_files_near_live_data)
{
	golite_options o;
	small(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	const int n = 200;
	const size_t len = 8192;
	for (int round = 0; round < 30; round++)
		for (int i = 0; i < n; i++)
			put_big(db, "t", i, (uint64_t)(round * 1000 + i), len);
	/* Deletes free their values too. */
	for (int i = n / 2; i < n; i++) {
		char key[32];
		int klen = snprintf(key, sizeof(key), "k%06d", i);
		cr_assert_eq(golite_delete(db, "t", key, (size_t)klen), 0);
	}
	cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
	/* Passes until the files settle (each rewrite lands at a flush). */
	for (int pass = 0; pass < 6; pass++) {
		cr_assert_eq(vlog_collect((struct golite *)db), 0, "%s", golite_last_error());
		cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
	}
	cr_assert_eq(vlog_collect((struct golite *)db), 0);
	uint64_t live = (uint64_t)(n / 2) * len;
	uint64_t vbytes = files_bytes(dir, FILE_VALUE);
	golite_stats s = stats(db);
	cr_assert_gt(s.value_gc_deleted_files, 0);
	cr_assert_leq(vbytes, live * 13 / 10 + (1u << 20),
		      "value files hold %llu bytes for %llu live",
		      (unsigned long long)vbytes, (unsigned long long)live);
	for (int i = 0; i < n; i++)
		cr_assert_eq(get_big(db, NULL, i, (uint64_t)(29 * 1000 + i), len),
			     i < n / 2 ? 0 : GOLITE_ENOTFOUND, "key %d", i);
	golite_close(db);
	db = tu_open(dir, &o);
	for (int i = 0; i < n / 2; i++)
		cr_assert_eq(get_big(db, NULL, i, (uint64_t)(29 * 1000 + i), len), 0);
	golite_close(db);
}

Test(vlog, snapshots_and_open_iterators_keep_what_they_see)
{
	golite_options o;
	small(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	const int n = 150;
	for (int i = 0; i < n; i++)
		put_big(db, "t", i, (uint64_t)i, 6000);
	cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
	golite_snapshot *snap;
	cr_assert_eq(golite_snapshot_new(db, &snap), 0);
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "t", NULL, &it), 0);
	golite_iter_seek_first(it);
	for (int round = 1; round < 6; round++)
		for (int i = 0; i < n; i++)
			put_big(db, "t", i, (uint64_t)(round * 1000 + i), 6000);
	for (int pass = 0; pass < 4; pass++) {
		cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
		cr_assert_eq(vlog_collect((struct golite *)db), 0);
	}
	for (int i = 0; i < n; i++)
		cr_assert_eq(get_big(db, snap, i, (uint64_t)i, 6000), 0, "snapshot, key %d: %s", i,
			     golite_last_error());
	int i = 0;
	for (; golite_iter_valid(it); golite_iter_next(it), i++) {
		size_t vlen;
		const void *v = golite_iter_value(it, &vlen);
		cr_assert_not_null(v, "open iterator, key %d: %s", i, golite_last_error());
		cr_assert(tu_check_fill(v, vlen, (uint64_t)i));
	}
	cr_assert_eq(i, n);
	golite_iter_free(it);
	golite_snapshot_free(snap);
	for (int pass = 0; pass < 3; pass++) {
		cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
		cr_assert_eq(vlog_collect((struct golite *)db), 0);
	}
	cr_assert_leq(files_bytes(dir, FILE_VALUE), (uint64_t)n * 6000 * 13 / 10 + (1u << 20));
	for (i = 0; i < n; i++)
		cr_assert_eq(get_big(db, NULL, i, (uint64_t)(5000 + i), 6000), 0);
	golite_close(db);
}

Test(vlog, a_damaged_value_reads_as_an_error)
{
	golite_options o;
	small(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	for (int i = 0; i < 100; i++)
		put_big(db, "t", i, (uint64_t)i, 5000);
	cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
	golite_close(db);

	/* Flip a byte in the middle of every value file. */
	uint64_t *nums;
	size_t nf;
	cr_assert_eq(file_list(dir, FILE_VALUE, &nums, &nf), 0);
	cr_assert_gt(nf, 0);
	for (size_t f = 0; f < nf; f++) {
		char p[4096];
		file_path(p, sizeof(p), dir, FILE_VALUE, nums[f]);
		int fd = open(p, O_RDWR);
		cr_assert_geq(fd, 0);
		struct stat st;
		fstat(fd, &st);
		uint8_t b;
		cr_assert_eq(pread(fd, &b, 1, st.st_size / 2), 1);
		b ^= 0x40;
		cr_assert_eq(pwrite(fd, &b, 1, st.st_size / 2), 1);
		close(fd);
	}
	free(nums);
	golite_check_options co = { 0 };
	golite_check_stats cs;
	cr_assert_eq(golite_check(dir, &co, &cs), 0, "%s", golite_last_error());
	cr_assert_gt(cs.problems, 0, "check found nothing wrong");

	db = tu_open(dir, &o);
	int bad = 0;
	for (int i = 0; i < 100; i++) {
		int r = get_big(db, NULL, i, (uint64_t)i, 5000);
		cr_assert(r == 0 || r == GOLITE_ECORRUPT, "key %d: %d", i, r);
		bad += r == GOLITE_ECORRUPT;
	}
	cr_assert_gt(bad, 0);
	golite_close(db);

	/* Repair deletes the keys whose values are lost; the rest reads. */
	golite_check_options ro = { 0 };
	golite_repair_stats rs;
	cr_assert_eq(golite_repair(dir, &ro, &rs), 0, "%s", golite_last_error());
	cr_assert_eq(rs.values_dropped, (uint64_t)bad);
	cr_assert_eq(rs.problems_after, 0);
	db = tu_open(dir, &o);
	int gone = 0;
	for (int i = 0; i < 100; i++) {
		int r = get_big(db, NULL, i, (uint64_t)i, 5000);
		cr_assert(r == 0 || r == GOLITE_ENOTFOUND, "key %d: %d", i, r);
		gone += r == GOLITE_ENOTFOUND;
	}
	cr_assert_eq(gone, bad);
	golite_close(db);
}

/* A store (small options, in *o) whose table t holds 200 values of
 * 4 KiB, compacted: tables that point into value files. */
static golite *store_of_values(golite_options *o)
{
	small(o);
	golite *db = tu_open(dir, o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	for (int i = 0; i < 200; i++)
		put_big(db, "t", i, (uint64_t)i, 4096);
	cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
	return db;
}

Test(vlog, a_checkpoint_carries_the_value_files)
{
	golite_options o;
	golite *db = store_of_values(&o);
	char cp[4096];
	snprintf(cp, sizeof(cp), "%s/cp", dir);
	cr_assert_eq(golite_checkpoint(db, cp, NULL), 0, "%s", golite_last_error());
	/* The source moves on: its files may go. */
	for (int round = 1; round < 4; round++)
		for (int i = 0; i < 200; i++)
			put_big(db, "t", i, (uint64_t)(round * 1000 + i), 4096);
	cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
	cr_assert_eq(vlog_collect((struct golite *)db), 0);
	golite_close(db);
	golite *c = tu_open(cp, &o);
	for (int i = 0; i < 200; i++)
		cr_assert_eq(get_big(c, NULL, i, (uint64_t)i, 4096), 0, "key %d: %s", i,
			     golite_last_error());
	golite_close(c);
}

/* The inode of dir's value file no (0 if none). */
static ino_t val_inode(const char *d, uint64_t no)
{
	char p[4096];
	struct stat st;
	file_path(p, sizeof(p), d, FILE_VALUE, no);
	return stat(p, &st) == 0 ? st.st_ino : 0;
}

Test(vlog, a_backup_again_keeps_the_value_files_it_has)
{
	golite_options o;
	golite *db = store_of_values(&o);
	char cp[4096];
	snprintf(cp, sizeof(cp), "%s/backup", dir);
	golite_checkpoint_options co = { .copy = true, .replace = true };
	golite_checkpoint_stats cs;
	cr_assert_eq(golite_checkpoint_ex(db, cp, &co, &cs), 0, "%s", golite_last_error());
	uint64_t *nums;
	size_t nf;
	cr_assert_eq(file_list(cp, FILE_VALUE, &nums, &nf), 0);
	cr_assert_gt(nf, 0);
	ino_t before = val_inode(cp, nums[0]);
	cr_assert_neq(before, val_inode(dir, nums[0]), "copied, not linked");
	/* A second backup into the same directory keeps that file (the
	 * same inode), and still reads back. */
	put_big(db, "t", 999, 999, 4096);
	cr_assert_eq(golite_checkpoint_ex(db, cp, &co, &cs), 0, "%s", golite_last_error());
	cr_assert_eq(val_inode(cp, nums[0]), before, "the value file was copied again");
	free(nums);
	golite_close(db);
	golite *c = tu_open(cp, &o);
	for (int i = 0; i < 200; i++)
		cr_assert_eq(get_big(c, NULL, i, (uint64_t)i, 4096), 0, "key %d", i);
	golite_close(c);
}

Test(vlog, random_mix_matches_a_model)
{
	uint64_t seed = tu_seed("vlog_random", 0x5eedULL);
	struct tu_rng rng;
	tu_rng_init(&rng, seed);
	golite_options o;
	small(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	struct tu_model m;
	tu_model_init(&m);
	tu_model_create(&m, "t");
	uint8_t *v = malloc(70000);
	for (int op = 0; op < 4000; op++) {
		char key[32];
		int klen = snprintf(key, sizeof(key), "k%04d", (int)tu_below(&rng, 300));
		unsigned what = (unsigned)tu_below(&rng, 100);
		if (what < 70) {
			size_t len = tu_chance(&rng, 30) ? tu_below(&rng, 4096)
				     : 4096 + tu_below(&rng, tu_chance(&rng, 10) ? 65000 : 9000);
			tu_fill(v, len, tu_rand(&rng));
			cr_assert_eq(golite_put(db, "t", key, (size_t)klen, v, len), 0);
			tu_model_put(&m, "t", key, (size_t)klen, v, len);
		} else if (what < 85) {
			golite_delete(db, "t", key, (size_t)klen);
			tu_model_del(&m, "t", key, (size_t)klen);
		} else if (what < 90) {
			cr_assert_eq(vlog_collect((struct golite *)db), 0, "seed %llu: %s",
				     (unsigned long long)seed, golite_last_error());
		} else if (what < 92) {
			cr_assert_eq(golite_compact_range(db, "t", NULL, 0, NULL, 0), 0);
		} else if (what < 93) {
			golite_close(db);
			db = tu_open(dir, &o);
		}
	}
	char msg[512];
	cr_assert_eq(tu_compare(db, &m, msg, sizeof(msg)), 0, "seed %llu: %s",
		     (unsigned long long)seed, msg);
	golite_close(db);
	db = tu_open(dir, &o);
	cr_assert_eq(tu_compare(db, &m, msg, sizeof(msg)), 0, "seed %llu after reopen: %s",
		     (unsigned long long)seed, msg);
	golite_close(db);
	free(v);
	tu_model_free(&m);
}
