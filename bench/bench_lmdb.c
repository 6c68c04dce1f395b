/*
 * bench_lmdb.c — LMDB through its C API (lmdb.h).
 *
 * Choices, as LMDB's own db_bench port makes them where it has one:
 *   - one environment, the unnamed database, default page size, no
 *     MDB_WRITEMAP (pages are written with pwrite, the map is read-only);
 *   - map size: 4 times the largest data the run holds, at least 1 GiB
 *     (address space only: the file grows as pages are written);
 *   - writes without a sync per write: MDB_NOSYNC, so a commit writes its
 *     pages and meta page with pwrite but does not fsync (a machine crash
 *     may lose or, without the final sync, tear recent commits; a process
 *     crash loses nothing). Synced writes (fillsync): the default, a
 *     commit fdatasyncs the data and the meta page;
 *   - every put and delete is its own write transaction (begin, put,
 *     commit), as every other system's single put is a durable unit;
 *     concurrent writers queue on LMDB's single writer lock;
 *   - a batch is one write transaction of 1000 puts;
 *   - gets: each thread keeps one read-only transaction, renewed before
 *     and reset after every get (mdb_txn_renew/mdb_txn_reset, the cheap
 *     way LMDB documents), so each get sees the latest commit;
 *   - no MDB_APPEND for ascending fills: a put does not know the order of
 *     the keys that follow.
 * The scan renews the thread's read transaction and walks a cursor.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#include "bench.h"

struct bench_db {
	MDB_env *env;
	MDB_dbi dbi;
};

struct bench_thread {
	struct bench_db *db;
	MDB_txn *read;             /* reset between uses */
};

static int fail(const char *what, int rc)
{
	return bench_error("%s: %s", what, mdb_strerror(rc));
}

static void lmdb_describe(char *buf, size_t len)
{
	snprintf(buf, len, "%s, a write transaction per put with MDB_NOSYNC "
		 "(synced commits for fillsync), renewed read transaction per get",
		 mdb_version(NULL, NULL, NULL));
}

static int lmdb_open(const char *dir, const struct bench_open_options *o,
		     struct bench_db **out)
{
	struct bench_db *d = calloc(1, sizeof(*d));
	MDB_txn *txn;
	int rc;

	if (d == NULL)
		return bench_error("out of memory");
	rc = mdb_env_create(&d->env);
	if (rc != 0) {
		fail("mdb_env_create", rc);
		goto out_free;
	}
	size_t map = (size_t)o->max_keys * (BENCH_KEY_SIZE + o->value_size + 64) * 4;
	if (map < (1ul << 30))
		map = 1ul << 30;
	map = (map + (1ul << 20) - 1) & ~((1ul << 20) - 1);
	rc = mdb_env_set_mapsize(d->env, map);
	if (rc != 0) {
		fail("mdb_env_set_mapsize", rc);
		goto out_close;
	}
	rc = mdb_env_open(d->env, dir, o->sync ? 0 : MDB_NOSYNC, 0644);
	if (rc != 0) {
		fail("mdb_env_open", rc);
		goto out_close;
	}
	rc = mdb_txn_begin(d->env, NULL, 0, &txn);
	if (rc != 0) {
		fail("mdb_txn_begin", rc);
		goto out_close;
	}
	rc = mdb_dbi_open(txn, NULL, 0, &d->dbi);
	if (rc != 0) {
		mdb_txn_abort(txn);
		fail("mdb_dbi_open", rc);
		goto out_close;
	}
	rc = mdb_txn_commit(txn);
	if (rc != 0) {
		fail("mdb_txn_commit", rc);
		goto out_close;
	}
	*out = d;
	return 0;

out_close:
	mdb_env_close(d->env);
out_free:
	free(d);
	return -1;
}

static void lmdb_close(struct bench_db *d)
{
	if (d == NULL)
		return;
	mdb_env_close(d->env);
	free(d);
}

static int lmdb_thread_open(struct bench_db *d, struct bench_thread **out)
{
	struct bench_thread *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return bench_error("out of memory");
	t->db = d;
	int rc = mdb_txn_begin(d->env, NULL, MDB_RDONLY, &t->read);
	if (rc != 0) {
		free(t);
		return fail("mdb_txn_begin(read-only)", rc);
	}
	mdb_txn_reset(t->read);
	*out = t;
	return 0;
}

static void lmdb_thread_close(struct bench_thread *t)
{
	mdb_txn_abort(t->read);
	free(t);
}

static int lmdb_put(struct bench_thread *t, const void *key, size_t klen,
		    const void *value, size_t vlen)
{
	MDB_val k = { klen, (void *)key }, v = { vlen, (void *)value };
	MDB_txn *txn;
	int rc = mdb_txn_begin(t->db->env, NULL, 0, &txn);
	if (rc != 0)
		return fail("mdb_txn_begin", rc);
	rc = mdb_put(txn, t->db->dbi, &k, &v, 0);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return fail("mdb_put", rc);
	}
	rc = mdb_txn_commit(txn);
	return rc ? fail("mdb_txn_commit", rc) : 0;
}

static int lmdb_get(struct bench_thread *t, const void *key, size_t klen,
		    void *buf, size_t cap, size_t *vlen)
{
	MDB_val k = { klen, (void *)key }, v;
	int rc = mdb_txn_renew(t->read);
	if (rc != 0)
		return fail("mdb_txn_renew", rc);
	rc = mdb_get(t->read, t->db->dbi, &k, &v);
	if (rc == 0) {
		*vlen = v.mv_size;
		if (v.mv_size <= cap)
			memcpy(buf, v.mv_data, v.mv_size);
	}
	mdb_txn_reset(t->read);
	if (rc == MDB_NOTFOUND)
		return BENCH_NOTFOUND;
	if (rc != 0)
		return fail("mdb_get", rc);
	if (*vlen > cap)
		return bench_error("value of %zu bytes, buffer of %zu", *vlen, cap);
	return BENCH_FOUND;
}

static int lmdb_del(struct bench_thread *t, const void *key, size_t klen)
{
	MDB_val k = { klen, (void *)key };
	MDB_txn *txn;
	int rc = mdb_txn_begin(t->db->env, NULL, 0, &txn);
	if (rc != 0)
		return fail("mdb_txn_begin", rc);
	rc = mdb_del(txn, t->db->dbi, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		mdb_txn_abort(txn);
		return fail("mdb_del", rc);
	}
	rc = mdb_txn_commit(txn);
	return rc ? fail("mdb_txn_commit", rc) : 0;
}

static int lmdb_batch_put(struct bench_thread *t, const struct bench_kv *kv, size_t n)
{
	MDB_txn *txn;
	int rc = mdb_txn_begin(t->db->env, NULL, 0, &txn);
	if (rc != 0)
		return fail("mdb_txn_begin", rc);
	for (size_t i = 0; i < n; i++) {
		MDB_val k = { kv[i].klen, (void *)kv[i].key };
		MDB_val v = { kv[i].vlen, (void *)kv[i].value };
		rc = mdb_put(txn, t->db->dbi, &k, &v, 0);
		if (rc != 0) {
			mdb_txn_abort(txn);
			return fail("mdb_put", rc);
		}
	}
	rc = mdb_txn_commit(txn);
	return rc ? fail("mdb_txn_commit", rc) : 0;
}

static int lmdb_scan(struct bench_thread *t, struct bench_scan *s)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc = mdb_txn_renew(t->read);
	if (rc != 0)
		return fail("mdb_txn_renew", rc);
	rc = mdb_cursor_open(t->read, t->db->dbi, &c);
	if (rc != 0) {
		mdb_txn_reset(t->read);
		return fail("mdb_cursor_open", rc);
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		bench_scan_entry(s, k.mv_data, k.mv_size, v.mv_size);
	mdb_cursor_close(c);
	mdb_txn_reset(t->read);
	return rc == MDB_NOTFOUND ? 0 : fail("mdb_cursor_get", rc);
}

const struct bench_system bench_lmdb = {
	.name = "lmdb",
	.describe = lmdb_describe,
	.open = lmdb_open,
	.close = lmdb_close,
	.thread_open = lmdb_thread_open,
	.thread_close = lmdb_thread_close,
	.put = lmdb_put,
	.get = lmdb_get,
	.del = lmdb_del,
	.batch_put = lmdb_batch_put,
	.scan = lmdb_scan,
};
