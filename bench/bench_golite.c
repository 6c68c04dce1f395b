/*
 * bench_golite.c — GoLite through its public API (golite.h), as two
 * systems: "golite" with the default options (the lock-free memtable) and
 * "golite-locked" with the reference memtable behind one reader-writer lock
 * (opts.memtable = GOLITE_MEMTABLE_LOCKED), everything else equal.
 *
 * Choices:
 *   - golite_options_init() defaults otherwise: periodic WAL sync
 *     (GOLITE_PERIODIC, every 1000 ms: no fsync per write), 64 MiB
 *     memtables, 64 MiB block cache, 32 MiB SSTables, bloom filters of 10
 *     bits per key, no compression, one compaction thread. Synced writes
 *     (fillsync): durability = GOLITE_SYNC, so each put returns once its
 *     log record is fdatasynced (concurrent writers share a sync);
 *   - one table, "bench", created at open;
 *   - gets with golite_get_into() into the caller's buffer (no allocation
 *     by the API); puts and deletes with golite_put()/golite_delete();
 *   - a batch is one golite_batch per thread, cleared and reused, applied
 *     with golite_write();
 *   - the scan is a golite_iter over the table from its first key.
 */
#include <stdio.h>
#include <stdlib.h>

#include <golite.h>

#include "bench.h"

#define TABLE "bench"

struct bench_db {
	golite *db;
};

struct bench_thread {
	golite *db;
	golite_batch *batch;
};

static int fail(const char *what, int rc)
{
	return bench_error("%s: %s (%s)", what, golite_strerror(rc),
			   golite_last_error());
}

static void describe(char *buf, size_t len, enum golite_memtable_kind kind)
{
	snprintf(buf, len, "GoLite %s, default options (%s memtable, periodic WAL "
		 "sync; GOLITE_SYNC for fillsync), golite_get_into for gets",
		 GOLITE_VERSION_STRING,
		 kind == GOLITE_MEMTABLE_LOCKED ? "locked reference" : "lock-free");
}

static void golite_describe_lockfree(char *buf, size_t len)
{
	describe(buf, len, GOLITE_MEMTABLE_LOCKFREE);
}

static void golite_describe_locked(char *buf, size_t len)
{
	describe(buf, len, GOLITE_MEMTABLE_LOCKED);
}

static int open_kind(const char *dir, const struct bench_open_options *o,
		     enum golite_memtable_kind kind, struct bench_db **out)
{
	struct bench_db *d = calloc(1, sizeof(*d));
	golite_options opts;
	int rc;

	if (d == NULL)
		return bench_error("out of memory");
	golite_options_init(&opts);
	opts.memtable = kind;
	if (o->sync)
		opts.durability = GOLITE_SYNC;
	rc = golite_open(dir, &opts, &d->db);
	if (rc != 0) {
		fail("golite_open", rc);
		goto out_free;
	}
	rc = golite_table_create(d->db, TABLE);
	if (rc != 0 && rc != GOLITE_EEXIST) {
		fail("golite_table_create", rc);
		goto out_close;
	}
	*out = d;
	return 0;

out_close:
	golite_close(d->db);
out_free:
	free(d);
	return -1;
}

static int golite_open_lockfree(const char *dir, const struct bench_open_options *o,
				struct bench_db **out)
{
	return open_kind(dir, o, GOLITE_MEMTABLE_LOCKFREE, out);
}

static int golite_open_locked(const char *dir, const struct bench_open_options *o,
			      struct bench_db **out)
{
	return open_kind(dir, o, GOLITE_MEMTABLE_LOCKED, out);
}

static void golite_bench_close(struct bench_db *d)
{
	if (d == NULL)
		return;
	int rc = golite_close(d->db);
	if (rc != 0)
		fprintf(stderr, "golite-bench: golite_close: %s\n", golite_strerror(rc));
	free(d);
}

static int golite_thread_open(struct bench_db *d, struct bench_thread **out)
{
	struct bench_thread *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return bench_error("out of memory");
	t->db = d->db;
	t->batch = golite_batch_new();
	*out = t;
	return 0;
}

static void golite_thread_close(struct bench_thread *t)
{
	golite_batch_free(t->batch);
	free(t);
}

static int golite_bench_put(struct bench_thread *t, const void *key, size_t klen,
			    const void *value, size_t vlen)
{
	int rc = golite_put(t->db, TABLE, key, klen, value, vlen);
	return rc ? fail("golite_put", rc) : 0;
}

static int golite_bench_get(struct bench_thread *t, const void *key, size_t klen,
			    void *buf, size_t cap, size_t *vlen)
{
	int rc = golite_get_into(t->db, TABLE, key, klen, buf, cap, vlen);
	if (rc == 0)
		return BENCH_FOUND;
	if (rc == GOLITE_ENOTFOUND)
		return BENCH_NOTFOUND;
	return fail("golite_get_into", rc);
}

static int golite_bench_del(struct bench_thread *t, const void *key, size_t klen)
{
	int rc = golite_delete(t->db, TABLE, key, klen);
	return rc ? fail("golite_delete", rc) : 0;
}

static int golite_bench_batch_put(struct bench_thread *t, const struct bench_kv *kv,
				  size_t n)
{
	int rc;
	golite_batch_clear(t->batch);
	for (size_t i = 0; i < n; i++) {
		rc = golite_batch_put(t->batch, TABLE, kv[i].key, kv[i].klen,
				      kv[i].value, kv[i].vlen);
		if (rc != 0)
			return fail("golite_batch_put", rc);
	}
	rc = golite_write(t->db, t->batch);
	return rc ? fail("golite_write", rc) : 0;
}

static int golite_bench_scan(struct bench_thread *t, struct bench_scan *s)
{
	golite_iter *it;
	int rc = golite_iter_new(t->db, TABLE, NULL, &it);
	if (rc != 0)
		return fail("golite_iter_new", rc);
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen, vlen;
		const void *k = golite_iter_key(it, &klen);
		(void)golite_iter_value(it, &vlen);
		bench_scan_entry(s, k, klen, vlen);
	}
	rc = golite_iter_status(it);
	golite_iter_free(it);
	return rc ? fail("golite iterator", rc) : 0;
}

const struct bench_system bench_golite = {
	.name = "golite",
	.describe = golite_describe_lockfree,
	.open = golite_open_lockfree,
	.close = golite_bench_close,
	.thread_open = golite_thread_open,
	.thread_close = golite_thread_close,
	.put = golite_bench_put,
	.get = golite_bench_get,
	.del = golite_bench_del,
	.batch_put = golite_bench_batch_put,
	.scan = golite_bench_scan,
};

const struct bench_system bench_golite_locked = {
	.name = "golite-locked",
	.describe = golite_describe_locked,
	.open = golite_open_locked,
	.close = golite_bench_close,
	.thread_open = golite_thread_open,
	.thread_close = golite_thread_close,
	.put = golite_bench_put,
	.get = golite_bench_get,
	.del = golite_bench_del,
	.batch_put = golite_bench_batch_put,
	.scan = golite_bench_scan,
};
