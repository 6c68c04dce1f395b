/*
 * bench_rocksdb.c — RocksDB through its C API (rocksdb/c.h).
 *
 * Options are db_bench's defaults, which are RocksDB's own Options():
 *   - write_buffer_size 64 MiB, max_write_buffer_number 2, level-0
 *     compaction at 4 files, target_file_size_base 64 MiB,
 *     max_bytes_for_level_base 256 MiB, max_background_jobs 2, the block
 *     based table with 4 KiB blocks and its default block cache, Snappy
 *     compression (Debian's library is built with it);
 *   - a bloom filter of 10 bits a key in the block based table
 *     (db_bench --bloom_bits=10), as a user who cares about point reads
 *     sets it and as golite has one; system "rocksdb-nofilter" runs
 *     without (db_bench's default --bloom_bits=-1 keeps the table's
 *     default, which has none), kept as an extra;
 *   - writes with sync=false, or sync=true for a store opened for synced
 *     writes (fillsync); the WAL is always on (db_bench's default);
 *   - reads with the default read options;
 *   - system "rocksdb-blob" (an extra) adds blob files (integrated
 *     BlobDB: enable_blob_files, min_blob_size 4096, blob garbage
 *     collection on), the configuration that separates large values as
 *     golite does (vlog.h).
 * Costs of the C API that db_bench (C++) does not pay: rocksdb_get()
 * returns a malloc()ed copy of the value (one allocation per get, counted),
 * and each call goes through a small wrapper.
 * Batches are one rocksdb_writebatch per thread, cleared and reused. The
 * scan is an iterator from the first key.
 */
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rocksdb/c.h>

#include "bench.h"

struct bench_db {
	rocksdb_t *db;
	rocksdb_options_t *options;
	rocksdb_writeoptions_t *write;
	rocksdb_readoptions_t *read;
};

struct bench_thread {
	struct bench_db *db;
	rocksdb_writebatch_t *batch;
};

/* Records a RocksDB error string (and frees it). Returns -1. */
static int fail(const char *what, char *err)
{
	bench_error("%s: %s", what, err ? err : "unknown error");
	rocksdb_free(err);
	return -1;
}

/* The C API has no version call: take it from the loaded library's file
 * name (librocksdb.so.7.8.3), following the soname link. */
static int find_library(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	const char *name = info->dlpi_name;
	if (name == NULL || strstr(name, "librocksdb.so") == NULL)
		return 0;
	char real[PATH_MAX];
	const char *v = strstr(realpath(name, real) ? real : name, "librocksdb.so.");
	if (v != NULL)
		snprintf(arg, 32, "%s", v + strlen("librocksdb.so."));
	return 1;
}

static void rdb_describe(char *buf, size_t len)
{
	char version[32] = "";
	dl_iterate_phdr(find_library, version);
	snprintf(buf, len, "RocksDB %s, C API, db_bench defaults "
		 "(64 MiB write buffer, 2 background jobs, Snappy) and a bloom filter of 10 bits/key",
		 version[0] ? version : "(version unknown)");
}

static void rdb_describe_nofilter(char *buf, size_t len)
{
	char version[32] = "";
	dl_iterate_phdr(find_library, version);
	snprintf(buf, len, "RocksDB %s, C API, db_bench defaults "
		 "(64 MiB write buffer, 2 background jobs, Snappy, no bloom filter)",
		 version[0] ? version : "(version unknown)");
}

static void rdb_describe_blob(char *buf, size_t len)
{
	char version[32] = "";
	dl_iterate_phdr(find_library, version);
	snprintf(buf, len, "RocksDB %s, C API, db_bench defaults, a bloom filter of 10 bits/key "
		 "and blob files (enable_blob_files, min_blob_size 4096)",
		 version[0] ? version : "(version unknown)");
}

static int rdb_open_bits(const char *dir, const struct bench_open_options *o, int bloom_bits,
			 bool blobs, struct bench_db **out)
{
	struct bench_db *d = calloc(1, sizeof(*d));
	char *err = NULL;

	if (d == NULL)
		return bench_error("out of memory");
	d->options = rocksdb_options_create();
	rocksdb_options_set_create_if_missing(d->options, 1);
	if (bloom_bits > 0) {
		/* The table options take the policy; the factory copies them. */
		rocksdb_block_based_table_options_t *t = rocksdb_block_based_options_create();
		rocksdb_block_based_options_set_filter_policy(
			t, rocksdb_filterpolicy_create_bloom(bloom_bits));
		rocksdb_options_set_block_based_table_factory(d->options, t);
		rocksdb_block_based_options_destroy(t);
	}
	if (blobs) {
		/* Integrated BlobDB: values of 4 KiB and more go to blob files
		 * at flush, and compaction collects garbage in them. */
		rocksdb_options_set_enable_blob_files(d->options, 1);
		rocksdb_options_set_min_blob_size(d->options, 4096);
		rocksdb_options_set_enable_blob_gc(d->options, 1);
	}
	d->write = rocksdb_writeoptions_create();
	rocksdb_writeoptions_set_sync(d->write, o->sync);
	d->read = rocksdb_readoptions_create();
	d->db = rocksdb_open(d->options, dir, &err);
	if (err != NULL) {
		fail("rocksdb_open", err);
		rocksdb_readoptions_destroy(d->read);
		rocksdb_writeoptions_destroy(d->write);
		rocksdb_options_destroy(d->options);
		free(d);
		return -1;
	}
	*out = d;
	return 0;
}

static int rdb_open(const char *dir, const struct bench_open_options *o, struct bench_db **out)
{
	return rdb_open_bits(dir, o, 10, false, out);
}

static int rdb_open_blob(const char *dir, const struct bench_open_options *o,
			 struct bench_db **out)
{
	return rdb_open_bits(dir, o, 10, true, out);
}

static int rdb_open_nofilter(const char *dir, const struct bench_open_options *o,
			     struct bench_db **out)
{
	return rdb_open_bits(dir, o, 0, false, out);
}

static void rdb_close(struct bench_db *d)
{
	if (d == NULL)
		return;
	rocksdb_close(d->db);
	rocksdb_readoptions_destroy(d->read);
	rocksdb_writeoptions_destroy(d->write);
	rocksdb_options_destroy(d->options);
	free(d);
}

static int rdb_thread_open(struct bench_db *d, struct bench_thread **out)
{
	struct bench_thread *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return bench_error("out of memory");
	t->db = d;
	t->batch = rocksdb_writebatch_create();
	*out = t;
	return 0;
}

static void rdb_thread_close(struct bench_thread *t)
{
	rocksdb_writebatch_destroy(t->batch);
	free(t);
}

static int rdb_put(struct bench_thread *t, const void *key, size_t klen,
		   const void *value, size_t vlen)
{
	char *err = NULL;
	rocksdb_put(t->db->db, t->db->write, key, klen, value, vlen, &err);
	return err ? fail("rocksdb_put", err) : 0;
}

static int rdb_get(struct bench_thread *t, const void *key, size_t klen,
		   void *buf, size_t cap, size_t *vlen)
{
	char *err = NULL;
	size_t len = 0;
	char *v = rocksdb_get(t->db->db, t->db->read, key, klen, &len, &err);
	if (err != NULL)
		return fail("rocksdb_get", err);
	if (v == NULL)
		return BENCH_NOTFOUND;
	*vlen = len;
	if (len > cap) {
		rocksdb_free(v);
		return bench_error("value of %zu bytes, buffer of %zu", len, cap);
	}
	memcpy(buf, v, len);
	rocksdb_free(v);
	return BENCH_FOUND;
}

static int rdb_del(struct bench_thread *t, const void *key, size_t klen)
{
	char *err = NULL;
	rocksdb_delete(t->db->db, t->db->write, key, klen, &err);
	return err ? fail("rocksdb_delete", err) : 0;
}

static int rdb_batch_put(struct bench_thread *t, const struct bench_kv *kv, size_t n)
{
	char *err = NULL;
	rocksdb_writebatch_clear(t->batch);
	for (size_t i = 0; i < n; i++)
		rocksdb_writebatch_put(t->batch, kv[i].key, kv[i].klen,
				       kv[i].value, kv[i].vlen);
	rocksdb_write(t->db->db, t->db->write, t->batch, &err);
	return err ? fail("rocksdb_write", err) : 0;
}

static int rdb_scan(struct bench_thread *t, struct bench_scan *s)
{
	char *err = NULL;
	rocksdb_iterator_t *it = rocksdb_create_iterator(t->db->db, t->db->read);
	for (rocksdb_iter_seek_to_first(it); rocksdb_iter_valid(it);
	     rocksdb_iter_next(it)) {
		size_t klen, vlen;
		const char *k = rocksdb_iter_key(it, &klen);
		(void)rocksdb_iter_value(it, &vlen);
		bench_scan_entry(s, k, klen, vlen);
	}
	rocksdb_iter_get_error(it, &err);
	rocksdb_iter_destroy(it);
	return err ? fail("iterator", err) : 0;
}

const struct bench_system bench_rocksdb = {
	.name = "rocksdb",
	.describe = rdb_describe,
	.open = rdb_open,
	.close = rdb_close,
	.thread_open = rdb_thread_open,
	.thread_close = rdb_thread_close,
	.put = rdb_put,
	.get = rdb_get,
	.del = rdb_del,
	.batch_put = rdb_batch_put,
	.scan = rdb_scan,
};

const struct bench_system bench_rocksdb_nofilter = {
	.name = "rocksdb-nofilter",
	.extra = true,
	.describe = rdb_describe_nofilter,
	.open = rdb_open_nofilter,
	.close = rdb_close,
	.thread_open = rdb_thread_open,
	.thread_close = rdb_thread_close,
	.put = rdb_put,
	.get = rdb_get,
	.del = rdb_del,
	.batch_put = rdb_batch_put,
	.scan = rdb_scan,
};

const struct bench_system bench_rocksdb_blob = {
	.name = "rocksdb-blob",
	.extra = true,
	.describe = rdb_describe_blob,
	.open = rdb_open_blob,
	.close = rdb_close,
	.thread_open = rdb_thread_open,
	.thread_close = rdb_thread_close,
	.put = rdb_put,
	.get = rdb_get,
	.del = rdb_del,
	.batch_put = rdb_batch_put,
	.scan = rdb_scan,
};
