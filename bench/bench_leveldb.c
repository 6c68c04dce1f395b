/*
 * bench_leveldb.c — LevelDB through its C API (leveldb/c.h).
 *
 * Options are db_bench's defaults, which are LevelDB's own:
 *   - write_buffer_size 4 MiB, max_file_size 2 MiB, block_size 4 KiB,
 *     max_open_files 1000, the internal 8 MiB block cache, Snappy
 *     compression (Debian's library is built with Snappy);
 *   - a bloom filter of 10 bits a key (db_bench --bloom_bits=10), as a
 *     user who cares about point reads sets it and as golite has one;
 *     system "leveldb-nofilter" runs without (db_bench's default,
 *     --bloom_bits=-1), kept as an extra;
 *   - writes with sync=false, or sync=true for a store opened for synced
 *     writes (fillsync); the log is always written (there is no way to
 *     turn it off);
 *   - reads with the default read options (no checksum verification,
 *     blocks go into the cache).
 * Costs of the C API that db_bench (C++) does not pay: leveldb_get()
 * returns a malloc()ed copy of the value (one allocation per get, counted),
 * and each call goes through a small wrapper.
 * Batches are one leveldb_writebatch per thread, cleared and reused. The
 * scan is an iterator from the first key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "bench.h"

struct bench_db {
	leveldb_t *db;
	leveldb_options_t *options;
	leveldb_filterpolicy_t *filter;   /* NULL: none */
	leveldb_writeoptions_t *write;
	leveldb_readoptions_t *read;
};

struct bench_thread {
	struct bench_db *db;
	leveldb_writebatch_t *batch;
};

/* Records a LevelDB error string (and frees it). Returns -1. */
static int fail(const char *what, char *err)
{
	bench_error("%s: %s", what, err ? err : "unknown error");
	leveldb_free(err);
	return -1;
}

static void ldb_describe(char *buf, size_t len)
{
	snprintf(buf, len, "LevelDB %d.%d, C API, db_bench defaults "
		 "(4 MiB write buffer, 8 MiB cache, Snappy) and a bloom filter of 10 bits/key",
		 leveldb_major_version(), leveldb_minor_version());
}

static void ldb_describe_nofilter(char *buf, size_t len)
{
	snprintf(buf, len, "LevelDB %d.%d, C API, db_bench defaults "
		 "(4 MiB write buffer, 8 MiB cache, Snappy, no bloom filter)",
		 leveldb_major_version(), leveldb_minor_version());
}

static int ldb_open_bits(const char *dir, const struct bench_open_options *o, int bloom_bits,
			 struct bench_db **out)
{
	struct bench_db *d = calloc(1, sizeof(*d));
	char *err = NULL;

	if (d == NULL)
		return bench_error("out of memory");
	d->options = leveldb_options_create();
	leveldb_options_set_create_if_missing(d->options, 1);
	if (bloom_bits > 0) {
		d->filter = leveldb_filterpolicy_create_bloom(bloom_bits);
		leveldb_options_set_filter_policy(d->options, d->filter);
	}
	d->write = leveldb_writeoptions_create();
	leveldb_writeoptions_set_sync(d->write, o->sync);
	d->read = leveldb_readoptions_create();
	d->db = leveldb_open(d->options, dir, &err);
	if (err != NULL) {
		fail("leveldb_open", err);
		leveldb_readoptions_destroy(d->read);
		leveldb_writeoptions_destroy(d->write);
		leveldb_options_destroy(d->options);
		if (d->filter)
			leveldb_filterpolicy_destroy(d->filter);
		free(d);
		return -1;
	}
	*out = d;
	return 0;
}

static int ldb_open(const char *dir, const struct bench_open_options *o, struct bench_db **out)
{
	return ldb_open_bits(dir, o, 10, out);
}

static int ldb_open_nofilter(const char *dir, const struct bench_open_options *o,
			     struct bench_db **out)
{
	return ldb_open_bits(dir, o, 0, out);
}

static void ldb_close(struct bench_db *d)
{
	if (d == NULL)
		return;
	leveldb_close(d->db);
	leveldb_readoptions_destroy(d->read);
	leveldb_writeoptions_destroy(d->write);
	leveldb_options_destroy(d->options);
	if (d->filter)
		leveldb_filterpolicy_destroy(d->filter);
	free(d);
}

static int ldb_thread_open(struct bench_db *d, struct bench_thread **out)
{
	struct bench_thread *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return bench_error("out of memory");
	t->db = d;
	t->batch = leveldb_writebatch_create();
	*out = t;
	return 0;
}

static void ldb_thread_close(struct bench_thread *t)
{
	leveldb_writebatch_destroy(t->batch);
	free(t);
}

static int ldb_put(struct bench_thread *t, const void *key, size_t klen,
		   const void *value, size_t vlen)
{
	char *err = NULL;
	leveldb_put(t->db->db, t->db->write, key, klen, value, vlen, &err);
	return err ? fail("leveldb_put", err) : 0;
}

static int ldb_get(struct bench_thread *t, const void *key, size_t klen,
		   void *buf, size_t cap, size_t *vlen)
{
	char *err = NULL;
	size_t len = 0;
	char *v = leveldb_get(t->db->db, t->db->read, key, klen, &len, &err);
	if (err != NULL)
		return fail("leveldb_get", err);
	if (v == NULL)
		return BENCH_NOTFOUND;
	*vlen = len;
	if (len > cap) {
		leveldb_free(v);
		return bench_error("value of %zu bytes, buffer of %zu", len, cap);
	}
	memcpy(buf, v, len);
	leveldb_free(v);
	return BENCH_FOUND;
}

static int ldb_del(struct bench_thread *t, const void *key, size_t klen)
{
	char *err = NULL;
	leveldb_delete(t->db->db, t->db->write, key, klen, &err);
	return err ? fail("leveldb_delete", err) : 0;
}

static int ldb_batch_put(struct bench_thread *t, const struct bench_kv *kv, size_t n)
{
	char *err = NULL;
	leveldb_writebatch_clear(t->batch);
	for (size_t i = 0; i < n; i++)
		leveldb_writebatch_put(t->batch, kv[i].key, kv[i].klen,
				       kv[i].value, kv[i].vlen);
	leveldb_write(t->db->db, t->db->write, t->batch, &err);
	return err ? fail("leveldb_write", err) : 0;
}

static int ldb_scan(struct bench_thread *t, struct bench_scan *s)
{
	char *err = NULL;
	leveldb_iterator_t *it = leveldb_create_iterator(t->db->db, t->db->read);
	for (leveldb_iter_seek_to_first(it); leveldb_iter_valid(it);
	     leveldb_iter_next(it)) {
		size_t klen, vlen;
		const char *k = leveldb_iter_key(it, &klen);
		(void)leveldb_iter_value(it, &vlen);
		bench_scan_entry(s, k, klen, vlen);
	}
	leveldb_iter_get_error(it, &err);
	leveldb_iter_destroy(it);
	return err ? fail("iterator", err) : 0;
}

const struct bench_system bench_leveldb = {
	.name = "leveldb",
	.describe = ldb_describe,
	.open = ldb_open,
	.close = ldb_close,
	.thread_open = ldb_thread_open,
	.thread_close = ldb_thread_close,
	.put = ldb_put,
	.get = ldb_get,
	.del = ldb_del,
	.batch_put = ldb_batch_put,
	.scan = ldb_scan,
};

const struct bench_system bench_leveldb_nofilter = {
	.name = "leveldb-nofilter",
	.extra = true,
	.describe = ldb_describe_nofilter,
	.open = ldb_open_nofilter,
	.close = ldb_close,
	.thread_open = ldb_thread_open,
	.thread_close = ldb_thread_close,
	.put = ldb_put,
	.get = ldb_get,
	.del = ldb_del,
	.batch_put = ldb_batch_put,
	.scan = ldb_scan,
};
