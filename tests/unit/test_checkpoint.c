/*
 * test_checkpoint.c — golite_checkpoint (golite.h) and golite_checkpoint_ex
 * (golite_tools.h) against their contract: a checkpoint of an open store,
 * taken while other threads write and compactions run, opens, checks
 * clean and holds exactly the writes up to the sequence number it returns;
 * every bad input and failure returns its error and leaves nothing behind;
 * a checkpoint that replaces an earlier one keeps the tables they share.
 *
 * Suites:
 *   checkpoint  what a checkpoint holds: an empty store, tables and an
 *               unflushed memtable, a read-only store, another file system
 *               (copies), two writers, compactions under way
 *   ckerror     bad input and failures (the n-th write into the checkpoint
 *               failing with ENOSPC, through engine/io.h's hook)
 *   ckreplace   golite_checkpoint_ex with replace: tables kept, obsolete ones
 *               removed, a damaged one copied again
 *
 * Random tests print their seed (GOLITE_TEST_SEED replays one).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "format.h"
#include "golite.h"
#include "golite_raw.h"
#include "golite_tools.h"
#include "io.h"
#include "testutil.h"

/* ---- helpers ---- */

static char *path_join(const char *a, const char *b)
{
	char *p;
	if (asprintf(&p, "%s/%s", a, b) < 0)
		abort();
	return p;
}

static golite_options small_opts(size_t memtable)
{
	golite_options o;
	golite_options_init(&o);
	o.memtable_size = memtable;
	o.sstable_size = 256 << 10;
	o.log_level = GOLITE_LOG_ERROR;
	return o;
}

static void put_ok(golite *db, const char *t, const void *k, size_t klen, const void *v,
		   size_t vlen)
{
	int r = golite_put(db, t, k, klen, v, vlen);
	cr_assert_eq(r, 0, "put: %s (%s)", golite_strerror(r), golite_last_error());
}

struct first_problem {
	char msg[512];
};

static void keep_problem(void *ctx, const golite_finding *f)
{
	struct first_problem *p = ctx;
	if (f->kind == GOLITE_FINDING_PROBLEM && !p->msg[0])
		snprintf(p->msg, sizeof(p->msg), "%s:%" PRIu64 ": %s", f->path, f->offset, f->msg);
}

/* golite check finds no problem in dir. */
static void check_clean(const char *dir)
{
	struct first_problem p = { "" };
	golite_check_options o = { .report = keep_problem, .report_ctx = &p, .quiet = true };
	golite_check_stats st;
	int r = golite_check(dir, &o, &st);
	cr_assert_eq(r, 0, "check %s: %s (%s)", dir, golite_strerror(r), golite_last_error());
	cr_assert_eq(st.problems, 0, "check %s: %" PRIu64 " problems, first: %s", dir, st.problems,
		     p.msg);
}

/* Opens the checkpoint dir, compares it with the model m and closes it.
 * Opened for writing, it shows that nobody holds it (and the open replays
 * its log, flushes and changes it); read-only, it stays as it is. */
static void expect_model_open(const char *dir, const struct tu_model *m, bool writable)
{
	golite_options o = small_opts(1 << 20);
	o.create_if_missing = false;
	o.read_only = !writable;
	golite *db = tu_open(dir, &o);
	char msg[512];
	int r = tu_compare(db, m, msg, sizeof(msg));
	cr_assert_eq(r, 0, "checkpoint %s differs from the model: %s", dir, msg);
	cr_assert_eq(golite_close(db), 0);
}

static void expect_model(const char *dir, const struct tu_model *m)
{
	expect_model_open(dir, m, false);
}

/* The names in dir, sorted, joined by spaces (a static buffer). */
static const char *listing(const char *dir)
{
	static char out[8192];
	struct dirent **list;
	int n = scandir(dir, &list, NULL, alphasort);
	cr_assert(n >= 0, "scandir %s: %s", dir, strerror(errno));
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
			strncat(out, list[i]->d_name, sizeof(out) - strlen(out) - 2);
			strcat(out, " ");
		}
		free(list[i]);
	}
	free(list);
	return out;
}

static int count_suffix(const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "opendir %s", dir);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name), s = strlen(suffix);
		n += l > s && strcmp(de->d_name + l - s, suffix) == 0;
	}
	closedir(d);
	return n;
}

static uint64_t last_sequence(golite *db)
{
	golite_stats s;
	cr_assert_eq(golite_stats_get(db, &s), 0);
	return s.last_sequence;
}

static ino_t inode_of(const char *dir, const char *name)
{
	char *p = path_join(dir, name);
	struct stat st;
	ino_t ino = stat(p, &st) == 0 ? st.st_ino : 0;
	free(p);
	return ino;
}

/* The sequence number of the newest version of table/key in the live
 * store (0 if absent). */
static uint64_t seq_of(golite *db, const char *table, const void *key, size_t klen)
{
	uint32_t id;
	cr_assert_eq(golite_table_id(db, table, &id), 0);
	uint8_t ikey[IKEY_MAX];
	size_t n = ikey_make(ikey, id, key, klen);
	return db_newest_seq(db, ikey, n);
}

/* ---- what a checkpoint holds ---- */

Test(checkpoint, empty_store)
{
	char *base = tu_tmpdir("ckpt-empty");
	char *src = path_join(base, "db"), *ck = path_join(base, "ck");
	golite_options o = small_opts(1 << 20);
	golite *db = tu_open(src, &o);
	uint64_t seq = 99;
	int r = golite_checkpoint(db, ck, &seq);
	cr_assert_eq(r, 0, "checkpoint: %s (%s)", golite_strerror(r), golite_last_error());
	cr_assert_eq(seq, last_sequence(db));
	cr_assert_eq(seq, 0);
	/* A store: marker, manifest, the log segment of the point; no lock. */
	char *lock = path_join(ck, "LOCK");
	cr_assert(access(lock, F_OK) != 0, "the checkpoint holds a LOCK file");
	free(lock);
	cr_assert_eq(count_suffix(ck, ".sst"), 0);
	check_clean(ck);
	/* Neither locked nor held: it opens for writing while the store is
	 * still open. */
	struct tu_model m;
	tu_model_init(&m);
	expect_model_open(ck, &m, true);
	tu_model_free(&m);
	/* Nothing is left beside it. */
	cr_assert_str_eq(listing(base), "ck db ");
	cr_assert_eq(golite_close(db), 0);
	free(src);
	free(ck);
	tu_rmtree(base);
}

/* A store with tables, overwrites and deletes in them and in the
 * memtable, mirrored by m. */
static golite *fill_store(const char *src, struct tu_model *m, struct tu_rng *rng)
{
	golite_options o = small_opts(256 << 10);
	golite *db = tu_open(src, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	cr_assert_eq(golite_table_create(db, "u"), 0);
	tu_model_create(m, "t");
	tu_model_create(m, "u");
	char key[32], val[300];
	for (int i = 0; i < 4000; i++) {
		const char *t = i % 3 ? "t" : "u";
		int k = (int)tu_below(rng, 3000);
		int kl = snprintf(key, sizeof(key), "key%06d", k);
		size_t vl = 20 + tu_below(rng, 200);
		tu_fill(val, vl, (uint64_t)i);
		put_ok(db, t, key, (size_t)kl, val, vl);
		tu_model_put(m, t, key, (size_t)kl, val, vl);
	}
	/* Everything into tables, then a memtable the checkpoint's log must
	 * carry: puts, overwrites of table keys, deletes. */
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	for (int i = 0; i < 100; i++) {
		int kl = snprintf(key, sizeof(key), "key%06d", (int)tu_below(rng, 3500));
		if (i % 4 == 0) {
			cr_assert_eq(golite_delete(db, "t", key, (size_t)kl), 0);
			tu_model_del(m, "t", key, (size_t)kl);
		} else {
			tu_fill(val, 50, 100000u + (unsigned)i);
			put_ok(db, "t", key, (size_t)kl, val, 50);
			tu_model_put(m, "t", key, (size_t)kl, val, 50);
		}
	}
	golite_stats s;
	cr_assert_eq(golite_stats_get(db, &s), 0);
	cr_assert_gt(s.sstable_count, 0);
	cr_assert_gt(s.memtable_entries, 0, "the memtable is empty: nothing tests the log copy");
	return db;
}

Test(checkpoint, tables_and_memtable)
{
	uint64_t seed = tu_seed("checkpoint::tables_and_memtable", 7);
	struct tu_rng rng;
	tu_rng_init(&rng, seed);
	char *base = tu_tmpdir("ckpt-tables");
	char *src = path_join(base, "db"), *ck = path_join(base, "ck");
	struct tu_model m;
	tu_model_init(&m);
	golite *db = fill_store(src, &m, &rng);
	golite_checkpoint_stats st;
	int r = golite_checkpoint_ex(db, ck, NULL, &st);
	cr_assert_eq(r, 0, "checkpoint: %s (%s)", golite_strerror(r), golite_last_error());
	cr_assert_eq(st.sequence, last_sequence(db));
	/* Same file system: every table is a hard link to the store's. */
	cr_assert_gt(st.tables, 0);
	cr_assert_eq(st.tables_linked, st.tables);
	cr_assert_eq(st.tables_copied + st.tables_kept, 0);
	cr_assert_eq((int)st.tables, count_suffix(ck, ".sst"));
	DIR *d = opendir(ck);
	struct dirent *de;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".sst"))
			cr_assert_eq(inode_of(ck, de->d_name), inode_of(src, de->d_name),
				     "%s is not a hard link", de->d_name);
	closedir(d);
	cr_assert_geq(st.log_segments, 1);
	/* The store goes on; the checkpoint does not move with it. */
	put_ok(db, "t", "after", 5, "x", 1);
	check_clean(ck);
	expect_model(ck, &m);
	cr_assert_eq(golite_close(db), 0);
	/* It holds no file of the store: it opens with the store gone. */
	tu_rmtree(src);
	expect_model_open(ck, &m, true);
	tu_model_free(&m);
	free(ck);
	tu_rmtree(base);
}

Test(checkpoint, copies_to_another_file_system)
{
	struct stat a, b;
	if (stat("/tmp", &a) < 0 || stat("/dev/shm", &b) < 0 || a.st_dev == b.st_dev)
		cr_skip_test("no /dev/shm on another file system than /tmp");
	uint64_t seed = tu_seed("checkpoint::copies_to_another_file_system", 11);
	struct tu_rng rng;
	tu_rng_init(&rng, seed);
	char *base = tu_tmpdir("ckpt-xdev");
	char *src = path_join(base, "db");
	char other[] = "/dev/shm/golite-ckpt-XXXXXX";
	cr_assert_not_null(mkdtemp(other));
	char *ck = path_join(other, "ck");
	struct tu_model m;
	tu_model_init(&m);
	golite *db = fill_store(src, &m, &rng);
	golite_checkpoint_stats st;
	int r = golite_checkpoint_ex(db, ck, NULL, &st);
	cr_assert_eq(r, 0, "checkpoint: %s (%s)", golite_strerror(r), golite_last_error());
	cr_assert_gt(st.tables, 0);
	cr_assert_eq(st.tables_copied, st.tables, "link(2) across file systems: copies");
	cr_assert_geq(st.bytes_copied, st.table_bytes);
	cr_assert_eq(golite_close(db), 0);
	check_clean(ck);
	expect_model(ck, &m);
	tu_model_free(&m);
	free(ck);
	tu_rmtree(strdup(other));
	free(src);
	tu_rmtree(base);
}

Test(checkpoint, read_only_store)
{
	uint64_t seed = tu_seed("checkpoint::read_only_store", 13);
	struct tu_rng rng;
	tu_rng_init(&rng, seed);
	char *base = tu_tmpdir("ckpt-ro");
	char *src = path_join(base, "db"), *ck = path_join(base, "ck");
	struct tu_model m;
	tu_model_init(&m);
	golite *db = fill_store(src, &m, &rng);
	db->o.flush_on_close = false;   /* leave the memtable in the log */
	cr_assert_eq(golite_close(db), 0);
	golite_options o = small_opts(1 << 20);
	o.read_only = true;
	db = tu_open(src, &o);
	uint64_t seq;
	int r = golite_checkpoint(db, ck, &seq);
	cr_assert_eq(r, 0, "checkpoint: %s (%s)", golite_strerror(r), golite_last_error());
	cr_assert_eq(seq, last_sequence(db));
	cr_assert_gt(count_suffix(ck, ".wal"), 0);
	cr_assert_eq(golite_close(db), 0);
	check_clean(ck);
	expect_model(ck, &m);
	tu_model_free(&m);
	free(src);
	free(ck);
	tu_rmtree(base);
}

/* ---- checkpoints while others write ---- */

#define WRITERS 2

struct writer {
	golite *db;
	int id;
	_Atomic uint32_t acked;      /* writes that returned */
	_Atomic bool *stop;
	uint32_t limit;
};

/* Writer w's i-th write: key "wW-IIIIIIII", a value that names it. */
static size_t writer_key(char *buf, int w, uint32_t i)
{
	return (size_t)snprintf(buf, 32, "w%d-%08" PRIu32, w, i);
}

static size_t writer_value(char *buf, int w, uint32_t i)
{
	int n = snprintf(buf, 64, "writer %d write %" PRIu32 " ", w, i);
	size_t len = (size_t)n + (i % 97);
	memset(buf + n, 'v', len - (size_t)n);
	return len;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	char key[32], val[192];
	for (uint32_t i = 0; i < w->limit && !atomic_load(w->stop); i++) {
		size_t kl = writer_key(key, w->id, i), vl = writer_value(val, w->id, i);
		int r = golite_put(w->db, "t", key, kl, val, vl);
		if (r) {
			fprintf(stderr, "writer %d: put %u: %s\n", w->id, i, golite_last_error());
			abort();
		}
		atomic_store(&w->acked, i + 1);
	}
	return NULL;
}

static void wait_acked(struct writer *w, uint32_t n)
{
	while (atomic_load(&w->acked) < n)
		sched_yield();
}

Test(checkpoint, two_writers_prefix)
{
	char *base = tu_tmpdir("ckpt-writers");
	char *src = path_join(base, "db");
	golite_options o = small_opts(128 << 10);
	golite *db = tu_open(src, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	_Atomic bool stop = false;
	struct writer w[WRITERS];
	pthread_t th[WRITERS];
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){ .db = db, .id = i, .stop = &stop, .limit = 40000 };
		atomic_init(&w[i].acked, 0);
		cr_assert_eq(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	enum { CKPTS = 3 };
	char *ck[CKPTS];
	uint64_t seq[CKPTS];
	uint32_t before[CKPTS][WRITERS];
	for (int c = 0; c < CKPTS; c++) {
		for (int i = 0; i < WRITERS; i++)
			wait_acked(&w[i], (uint32_t)(c + 1) * 4000);
		for (int i = 0; i < WRITERS; i++)
			before[c][i] = atomic_load(&w[i].acked);
		char name[16];
		snprintf(name, sizeof(name), "ck%d", c);
		ck[c] = path_join(base, name);
		golite_checkpoint_stats st;
		int r = golite_checkpoint_ex(db, ck[c], NULL, &st);
		cr_assert_eq(r, 0, "checkpoint %d: %s (%s)", c, golite_strerror(r),
			     golite_last_error());
		seq[c] = st.sequence;
		fprintf(stderr, "two_writers_prefix: checkpoint %d at sequence %" PRIu64
			": %" PRIu64 " tables, %" PRIu64 " log segments (%" PRIu64 " bytes)\n",
			c, seq[c], st.tables, st.log_segments, st.log_bytes);
	}
	atomic_store(&stop, true);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(th[i], NULL);

	char key[32], val[192];
	for (int c = 0; c < CKPTS; c++) {
		check_clean(ck[c]);
		golite_options co = small_opts(1 << 20);
		co.create_if_missing = false;
		golite *cdb = tu_open(ck[c], &co);
		for (int i = 0; i < WRITERS; i++) {
			/* The checkpoint holds writer i's writes 0..k-1 and no
			 * later one: a prefix. */
			uint32_t k = 0;
			for (;; k++) {
				size_t kl = writer_key(key, i, k);
				void *got;
				size_t n;
				int r = golite_get(cdb, "t", key, kl, &got, &n);
				if (r == GOLITE_ENOTFOUND)
					break;
				cr_assert_eq(r, 0, "get %s: %s", key, golite_strerror(r));
				size_t vl = writer_value(val, i, k);
				cr_assert(n == vl && memcmp(got, val, vl) == 0, "%s: wrong value", key);
				golite_free(got);
			}
			golite_iter *it;
			cr_assert_eq(golite_iter_new(cdb, "t", NULL, &it), 0);
			uint32_t present = 0;
			char prefix[8];
			int pl = snprintf(prefix, sizeof(prefix), "w%d-", i);
			for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
				size_t kl;
				const char *kk = golite_iter_key(it, &kl);
				present += kl > (size_t)pl && memcmp(kk, prefix, (size_t)pl) == 0;
			}
			golite_iter_free(it);
			cr_assert_eq(present, k, "checkpoint %d, writer %d: %u keys, prefix of %u", c,
				     i, present, k);
			/* Every write acknowledged before the call is in it. */
			cr_assert_geq(k, before[c][i], "checkpoint %d lacks acknowledged writes of "
				      "writer %d: %u of %u", c, i, k, before[c][i]);
			/* ... and exactly those up to its sequence number. */
			if (k > 0) {
				size_t kl = writer_key(key, i, k - 1);
				cr_assert_leq(seq_of(db, "t", key, kl), seq[c]);
			}
			size_t kl = writer_key(key, i, k);
			uint64_t next = seq_of(db, "t", key, kl);
			cr_assert(next == 0 || next > seq[c],
				  "checkpoint %d (sequence %" PRIu64 ") lacks %s (sequence %" PRIu64 ")",
				  c, seq[c], key, next);
		}
		cr_assert_eq(golite_close(cdb), 0);
		free(ck[c]);
	}
	cr_assert_eq(golite_close(db), 0);
	free(src);
	tu_rmtree(base);
}

/* One writer overwriting few keys, so that flushes and compactions run
 * all along; its i-th write puts key i's pick with value i. */
struct overwriter {
	golite *db;
	uint64_t seed;
	uint32_t n;
	_Atomic uint32_t acked;
};

#define OW_KEYS 300

static size_t ow_value(char *buf, uint32_t i)
{
	int n = snprintf(buf, 32, "%010" PRIu32, i);
	memset(buf + n, 'o', 300 - (size_t)n);
	return 300;
}

static void *overwriter_main(void *arg)
{
	struct overwriter *w = arg;
	struct tu_rng rng;
	tu_rng_init(&rng, w->seed);
	char key[16], val[320];
	for (uint32_t i = 0; i < w->n; i++) {
		int kl = snprintf(key, sizeof(key), "k%04d", (int)tu_below(&rng, OW_KEYS));
		size_t vl = ow_value(val, i);
		if (golite_put(w->db, "t", key, (size_t)kl, val, vl)) {
			fprintf(stderr, "overwriter: %s\n", golite_last_error());
			abort();
		}
		atomic_store(&w->acked, i + 1);
	}
	return NULL;
}

Test(checkpoint, during_compactions)
{
	uint64_t seed = tu_seed("checkpoint::during_compactions", 17);
	char *base = tu_tmpdir("ckpt-compact");
	char *src = path_join(base, "db");
	golite_options o = small_opts(64 << 10);
	o.sstable_size = 64 << 10;
	golite *db = tu_open(src, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	uint64_t s0 = last_sequence(db);
	struct overwriter w = { .db = db, .seed = seed, .n = 60000 };
	atomic_init(&w.acked, 0);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, overwriter_main, &w), 0);
	enum { CKPTS = 5 };
	char *ck[CKPTS];
	uint64_t seq[CKPTS];
	uint32_t before[CKPTS];
	uint64_t compactions_seen = 0;
	for (int c = 0; c < CKPTS; c++) {
		while (atomic_load(&w.acked) < (uint32_t)(c + 1) * 10000)
			sched_yield();
		before[c] = atomic_load(&w.acked);
		char name[16];
		snprintf(name, sizeof(name), "ck%d", c);
		ck[c] = path_join(base, name);
		golite_checkpoint_stats st;
		int r = golite_checkpoint_ex(db, ck[c], NULL, &st);
		cr_assert_eq(r, 0, "checkpoint %d: %s (%s)", c, golite_strerror(r),
			     golite_last_error());
		seq[c] = st.sequence;
		golite_stats s;
		golite_stats_get(db, &s);
		compactions_seen = s.compactions + s.compactions_running;
		fprintf(stderr, "during_compactions: checkpoint %d at sequence %" PRIu64
			": %" PRIu64 " tables, %" PRIu64 " log segments; %" PRIu64
			" compactions so far, %" PRIu64 " running\n", c, seq[c], st.tables,
			st.log_segments, s.compactions, s.compactions_running);
	}
	pthread_join(th, NULL);
	cr_assert_gt(compactions_seen, 0, "no compaction ran while the checkpoints were taken");

	/* Checkpoint c holds the first n = seq - s0 writes (one sequence
	 * each): the state after them, recomputed from the seed. */
	char key[16], val[320];
	for (int c = 0; c < CKPTS; c++) {
		uint64_t n = seq[c] - s0;
		cr_assert_geq(n, before[c], "checkpoint %d lacks acknowledged writes", c);
		cr_assert_leq(n, w.n);
		struct tu_model m;
		tu_model_init(&m);
		tu_model_create(&m, "t");
		struct tu_rng rng;
		tu_rng_init(&rng, seed);
		for (uint32_t i = 0; i < n; i++) {
			int kl = snprintf(key, sizeof(key), "k%04d", (int)tu_below(&rng, OW_KEYS));
			size_t vl = ow_value(val, i);
			tu_model_put(&m, "t", key, (size_t)kl, val, vl);
		}
		check_clean(ck[c]);
		expect_model(ck[c], &m);
		tu_model_free(&m);
		free(ck[c]);
	}
	cr_assert_eq(golite_close(db), 0);
	free(src);
	tu_rmtree(base);
}

/* ---- bad input and failures: nothing is left behind ---- */

struct ckerr {
	char *base, *src;
	golite *db;
	char before[8192];   /* listing(base) */
};

static void ckerr_setup(struct ckerr *e, const char *what)
{
	e->base = tu_tmpdir(what);
	e->src = path_join(e->base, "db");
	golite_options o = small_opts(256 << 10);
	e->db = tu_open(e->src, &o);
	cr_assert_eq(golite_table_create(e->db, "t"), 0);
	char key[16], val[200];
	for (int i = 0; i < 3000; i++) {
		int kl = snprintf(key, sizeof(key), "k%05d", i);
		tu_fill(val, sizeof(val), (uint64_t)i);
		put_ok(e->db, "t", key, (size_t)kl, val, sizeof(val));
		/* Tables whatever the scheduling, then writes only in the log. */
		if (i == 2500)
			cr_assert_eq(bg_flush(e->db), 0);
	}
	snprintf(e->before, sizeof(e->before), "%s", listing(e->base));
}

static void ckerr_expect_nothing_left(struct ckerr *e)
{
	cr_assert_str_eq(listing(e->base), e->before, "left behind: %s", listing(e->base));
	mutex_lock(&e->db->bg_mu);
	int holds = e->db->ckpt_holds;
	mutex_unlock(&e->db->bg_mu);
	cr_assert_eq(holds, 0, "the log is still held");
}

static void ckerr_teardown(struct ckerr *e)
{
	cr_assert_eq(golite_close(e->db), 0);
	free(e->src);
	tu_rmtree(e->base);
}

Test(ckerror, bad_directories)
{
	struct ckerr e;
	ckerr_setup(&e, "ckerr-dirs");
	char *exists = path_join(e.base, "exists");
	cr_assert_eq(mkdir(exists, 0700), 0);
	snprintf(e.before, sizeof(e.before), "%s", listing(e.base));

	cr_assert_eq(golite_checkpoint(e.db, exists, NULL), GOLITE_EEXIST);
	cr_assert(strstr(golite_last_error(), "exists"), "message: %s", golite_last_error());
	ckerr_expect_nothing_left(&e);
	cr_assert_eq(tu_count_entries(exists), 0, "the existing directory was written into");

	char *file = path_join(e.base, "exists/file");
	int fd = open(file, O_CREAT | O_WRONLY, 0600);
	close(fd);
	snprintf(e.before, sizeof(e.before), "%s", listing(e.base));
	golite_checkpoint_options ro = { .replace = true };
	cr_assert_eq(golite_checkpoint_ex(e.db, exists, &ro, NULL), GOLITE_EEXIST,
		     "replace took a directory that is neither empty nor a store");
	cr_assert(strstr(golite_last_error(), "neither empty nor a store"), "message: %s",
		  golite_last_error());
	cr_assert_eq(tu_count_entries(exists), 1);
	cr_assert_eq(golite_checkpoint_ex(e.db, file, &ro, NULL), GOLITE_EEXIST);
	ckerr_expect_nothing_left(&e);

	char *orphan = path_join(e.base, "missing/ck");
	cr_assert_eq(golite_checkpoint(e.db, orphan, NULL), GOLITE_ENOTFOUND);
	cr_assert(strstr(golite_last_error(), "does not exist"), "message: %s",
		  golite_last_error());
	ckerr_expect_nothing_left(&e);

	cr_assert_eq(golite_checkpoint(e.db, NULL, NULL), GOLITE_EINVAL);
	cr_assert_eq(golite_checkpoint(e.db, "", NULL), GOLITE_EINVAL);
	cr_assert_eq(golite_checkpoint_ex(e.db, e.src, &ro, NULL), GOLITE_EINVAL,
		     "replace took the store's own directory");
	ckerr_expect_nothing_left(&e);

	/* A trailing slash names the same directory. */
	char *slash = path_join(e.base, "ck/");
	uint64_t seq;
	cr_assert_eq(golite_checkpoint(e.db, slash, &seq), 0, "%s", golite_last_error());
	char *ck = path_join(e.base, "ck");
	check_clean(ck);
	free(ck);
	free(slash);
	free(orphan);
	free(file);
	free(exists);
	ckerr_teardown(&e);
}

Test(ckerror, closed_store)
{
	struct ckerr e;
	ckerr_setup(&e, "ckerr-closed");
	char *ck = path_join(e.base, "ck");
	/* As golite_close marks a store while it closes. */
	atomic_store(&e.db->closing, true);
	cr_assert_eq(golite_checkpoint(e.db, ck, NULL), GOLITE_ECLOSED);
	atomic_store(&e.db->closing, false);
	ckerr_expect_nothing_left(&e);
	free(ck);
	ckerr_teardown(&e);
}

/* The fault hook: fails the fail_at-th operation op whose file lies in a
 * temporary checkpoint directory (a path holding ".tmp-"; for calls on a
 * descriptor, the path /proc tells), with err. */
static struct {
	enum io_op op;
	int err;
	_Atomic int seen;
	int fail_at;
	_Atomic int failed;
} fault;

static bool in_ckpt_tmp(const char *path, int fd)
{
	char buf[PATH_MAX];
	if (!path && fd >= 0) {
		char link[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, buf, sizeof(buf) - 1);
		if (n < 0)
			return false;
		buf[n] = '\0';
		path = buf;
	}
	return path && strstr(path, "/ck.tmp-");
}

static int ckpt_fault(void *ctx, enum io_op op, const char *path, int fd, size_t *len)
{
	(void)ctx;
	if (op != fault.op || !in_ckpt_tmp(path, fd))
		return 0;
	if (atomic_fetch_add(&fault.seen, 1) + 1 != fault.fail_at)
		return 0;
	atomic_fetch_add(&fault.failed, 1);
	if (op == IO_PWRITE && *len > 1) {
		*len /= 2;   /* a short write, then ENOSPC, as on a full disk */
		return 0;
	}
	return fault.err;
}

/* Fails the n-th operation op in the checkpoint directory for n = 1, 2,
 * ... until a checkpoint succeeds; each failure must return want and
 * leave nothing behind. Returns how many failed. */
static int fail_each(struct ckerr *e, enum io_op op, int err, int want, bool copy)
{
	char *ck = path_join(e->base, "ck");
	golite_checkpoint_options o = { .copy = copy };
	int failures = 0;
	for (int n = 1;; n++) {
		fault.op = op;
		fault.err = err;
		fault.fail_at = n;
		atomic_store(&fault.seen, 0);
		atomic_store(&fault.failed, 0);
		io_set_fault_hook(ckpt_fault, NULL);
		int r = golite_checkpoint_ex(e->db, ck, &o, NULL);
		io_set_fault_hook(NULL, NULL);
		if (!atomic_load(&fault.failed)) {
			cr_assert_eq(r, 0, "%s never failed, yet: %s", io_op_name(op),
				     golite_last_error());
			break;
		}
		cr_assert_eq(r, want, "%s #%d failed: checkpoint returned %s (%s), want %s",
			     io_op_name(op), n, golite_strerror(r), golite_last_error(),
			     golite_strerror(want));
		ckerr_expect_nothing_left(e);
		failures++;
	}
	check_clean(ck);
	tu_rmtree(ck);
	fprintf(stderr, "ckerror: %s into the checkpoint failed in turn at %d places\n",
		io_op_name(op), failures);
	return failures;
}

Test(ckerror, disk_full)
{
	struct ckerr e;
	ckerr_setup(&e, "ckerr-full");
	/* Every write of the copies: tables, log segments, MANIFEST, STORE. */
	int n = fail_each(&e, IO_PWRITE, ENOSPC, GOLITE_ENOSPC, true);
	cr_assert_geq(n, 4, "only %d writes went into the checkpoint", n);
	/* Creating a file, and a hard link. */
	fail_each(&e, IO_OPEN, ENOSPC, GOLITE_ENOSPC, true);
	n = fail_each(&e, IO_LINK, ENOSPC, GOLITE_ENOSPC, false);
	cr_assert_geq(n, 1);
	/* The syncs. */
	fail_each(&e, IO_FSYNC, EIO, GOLITE_EIO, true);
	ckerr_teardown(&e);
}

Test(ckerror, parent_not_writable)
{
	struct ckerr e;
	ckerr_setup(&e, "ckerr-perm");
	char *ck = path_join(e.base, "ck");
	/* As mkdir(2) answers in a directory the caller may not write (root
	 * may write anywhere, so the hook plays the file system). */
	fault.op = IO_MKDIR;
	fault.err = EACCES;
	fault.fail_at = 1;
	atomic_store(&fault.seen, 0);
	atomic_store(&fault.failed, 0);
	io_set_fault_hook(ckpt_fault, NULL);
	int r = golite_checkpoint(e.db, ck, NULL);
	io_set_fault_hook(NULL, NULL);
	cr_assert_eq(r, GOLITE_EIO);
	cr_assert(strstr(golite_last_error(), "not writable"), "message: %s", golite_last_error());
	ckerr_expect_nothing_left(&e);
	if (geteuid() != 0) {
		cr_assert_eq(chmod(e.base, 0500), 0);
		r = golite_checkpoint(e.db, ck, NULL);
		chmod(e.base, 0700);
		cr_assert_eq(r, GOLITE_EIO, "%s", golite_last_error());
		ckerr_expect_nothing_left(&e);
	}
	free(ck);
	ckerr_teardown(&e);
}

/* ---- replacing an earlier checkpoint ---- */

Test(ckreplace, keeps_shared_tables)
{
	uint64_t seed = tu_seed("ckreplace::keeps_shared_tables", 19);
	struct tu_rng rng;
	tu_rng_init(&rng, seed);
	char *base = tu_tmpdir("ckpt-replace");
	char *src = path_join(base, "db"), *ck = path_join(base, "ck");
	golite_options o = small_opts(128 << 10);
	o.compaction_threads = 0;   /* tables change only when we say */
	golite *db = tu_open(src, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	struct tu_model m;
	tu_model_init(&m);
	tu_model_create(&m, "t");
	char key[16], val[256];
	uint32_t next = 0;
#define WRITE_SOME(count)                                                                   \
	for (int i_ = 0; i_ < (count); i_++, next++) {                                        \
		int kl = snprintf(key, sizeof(key), "k%06d", (int)tu_below(&rng, 100000));    \
		tu_fill(val, sizeof(val), next);                                              \
		put_ok(db, "t", key, (size_t)kl, val, sizeof(val));                           \
		tu_model_put(&m, "t", key, (size_t)kl, val, sizeof(val));                     \
	}
	/* Six tables, one per flush: a count to compare. */
	for (int round = 0; round < 6; round++) {
		WRITE_SOME(200);   /* well under a memtable: no flush of its own */
		cr_assert_eq(bg_flush(db), 0);
	}
	golite_checkpoint_options co = { .copy = true, .replace = true };
	golite_checkpoint_stats st;
	int r = golite_checkpoint_ex(db, ck, &co, &st);
	cr_assert_eq(r, 0, "first: %s", golite_last_error());
	cr_assert(!st.replaced);
	cr_assert_eq(st.tables_copied, st.tables);
	cr_assert_eq(st.tables, 6);
	uint64_t first_tables = st.tables;
	/* The inode of each table of the first checkpoint. */
	char names[64][32];
	ino_t inos[64];
	int nnames = 0;
	DIR *d = opendir(ck);
	struct dirent *de;
	while ((de = readdir(d)) && nnames < 64)
		if (strstr(de->d_name, ".sst")) {
			cr_assert_lt(strlen(de->d_name), sizeof(names[0]));
			memcpy(names[nnames], de->d_name, strlen(de->d_name) + 1);
			inos[nnames++] = inode_of(ck, de->d_name);
		}
	closedir(d);

	/* New tables beside the old ones. */
	for (int round = 0; round < 3; round++) {
		WRITE_SOME(200);   /* well under a memtable: no flush of its own */
		cr_assert_eq(bg_flush(db), 0);
	}
	r = golite_checkpoint_ex(db, ck, &co, &st);
	cr_assert_eq(r, 0, "second: %s", golite_last_error());
	cr_assert(st.replaced);
	cr_assert_eq(st.tables_kept, first_tables, "kept %" PRIu64 " of %" PRIu64,
		     st.tables_kept, first_tables);
	cr_assert_eq(st.tables, first_tables + 3);
	cr_assert_eq(st.tables_copied, 3);
	for (int i = 0; i < nnames; i++)
		cr_assert_eq(inode_of(ck, names[i]), inos[i], "%s was copied again", names[i]);
	cr_assert_eq((int)st.tables, count_suffix(ck, ".sst"));
	cr_assert_str_eq(listing(base), "ck db ", "left behind: %s", listing(base));
	check_clean(ck);
	expect_model(ck, &m);

	/* A damaged table of the old checkpoint is not kept but copied. */
	char *victim = path_join(ck, names[0]);
	int fd = open(victim, O_WRONLY);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pwrite(fd, "\xff\xfe\xfd\xfc", 4, 100), 4);
	close(fd);
	WRITE_SOME(10);
	r = golite_checkpoint_ex(db, ck, &co, &st);
	cr_assert_eq(r, 0, "third: %s", golite_last_error());
	cr_assert_neq(inode_of(ck, names[0]), inos[0], "the damaged %s was kept", names[0]);
	for (int i = 1; i < nnames; i++)
		cr_assert_eq(inode_of(ck, names[i]), inos[i], "%s was copied again", names[i]);
	cr_assert_geq(st.tables_copied, 1);
	cr_assert_eq(st.tables_kept + st.tables_copied, st.tables);
	check_clean(ck);

	/* Everything compacted into new tables: none is kept, and the old
	 * ones leave with the old checkpoint. */
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	r = golite_checkpoint_ex(db, ck, &co, &st);
	cr_assert_eq(r, 0, "fourth: %s", golite_last_error());
	cr_assert_eq(st.tables_kept, 0);
	for (int i = 0; i < nnames; i++)
		cr_assert_eq(inode_of(ck, names[i]), 0, "%s outlived its checkpoint", names[i]);
	cr_assert_eq((int)st.tables, count_suffix(ck, ".sst"));
	cr_assert_str_eq(listing(base), "ck db ", "left behind: %s", listing(base));
	check_clean(ck);
	expect_model(ck, &m);
#undef WRITE_SOME
	cr_assert_eq(golite_close(db), 0);
	tu_model_free(&m);
	free(victim);
	free(src);
	free(ck);
	tu_rmtree(base);
}

Test(ckreplace, empty_directory_and_held_checkpoint)
{
	char *base = tu_tmpdir("ckpt-replace-empty");
	char *src = path_join(base, "db"), *ck = path_join(base, "ck");
	golite_options o = small_opts(1 << 20);
	golite *db = tu_open(src, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	put_ok(db, "t", "a", 1, "1", 1);
	cr_assert_eq(mkdir(ck, 0750), 0);
	golite_checkpoint_options co = { .replace = true };
	golite_checkpoint_stats st;
	int r = golite_checkpoint_ex(db, ck, &co, &st);
	cr_assert_eq(r, 0, "%s", golite_last_error());
	cr_assert(st.replaced);
	struct stat sb;
	cr_assert_eq(stat(ck, &sb), 0);
	cr_assert_eq(sb.st_mode & 0777, 0750, "the directory's mode was not kept");
	check_clean(ck);

	/* A checkpoint that a process has open is not replaced. */
	golite_options oo = small_opts(1 << 20);
	oo.create_if_missing = false;
	golite *held = tu_open(ck, &oo);
	r = golite_checkpoint_ex(db, ck, &co, &st);
	cr_assert_eq(r, GOLITE_ELOCKED, "%s", golite_last_error());
	cr_assert_eq(golite_close(held), 0);
	cr_assert_str_eq(listing(base), "ck db ", "left behind: %s", listing(base));
	r = golite_checkpoint_ex(db, ck, &co, &st);
	cr_assert_eq(r, 0, "%s", golite_last_error());
	cr_assert_eq(golite_close(db), 0);
	struct tu_model m;
	tu_model_init(&m);
	tu_model_create(&m, "t");
	tu_model_put(&m, "t", "a", 1, "1", 1);
	expect_model(ck, &m);
	tu_model_free(&m);
	free(src);
	free(ck);
	tu_rmtree(base);
}
