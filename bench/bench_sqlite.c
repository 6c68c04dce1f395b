/*
 * bench_sqlite.c — SQLite through its C API (sqlite3.h).
 *
 * Choices:
 *   - one database file, bench.db, with the table
 *     kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID, so rows live in the
 *     primary key's B-tree as in a key-value store;
 *   - journal_mode=WAL; synchronous=NORMAL (the WAL is synced only at
 *     checkpoints), or synchronous=FULL for synced writes (fillsync: every
 *     commit syncs the WAL); other settings are SQLite's defaults (4 KiB
 *     pages, a 2 MiB page cache per connection, no mmap, automatic
 *     checkpoints every 1000 pages);
 *   - one connection per thread (opened with SQLITE_OPEN_NOMUTEX, since no
 *     two threads share one) with its statements prepared once; readers
 *     run in parallel. SQLite lets one writer in at a time, and a writer
 *     that finds the lock held gets SQLITE_BUSY and must sleep or spin
 *     (its default busy handler sleeps whole milliseconds); so writers take
 *     turns on a mutex of the process instead, which is what an
 *     application with several writing threads does. A busy handler that
 *     yields and retries stays as a fallback (a checkpoint holding a lock);
 *   - every put ("INSERT OR REPLACE") and delete is one statement in
 *     autocommit mode, so one transaction; a batch is BEGIN IMMEDIATE,
 *     1000 puts, COMMIT;
 *   - the scan is SELECT k, v FROM kv ORDER BY k, which walks the B-tree.
 * The store also keeps one connection open for its whole life, so the WAL
 * is not checkpointed and removed whenever the threads' connections close.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "bench.h"

struct bench_db {
	char path[4096];
	bool sync;
	sqlite3 *keeper;           /* open for the store's life */
	pthread_mutex_t writer;    /* held by the one writing thread */
};

struct bench_thread {
	struct bench_db *db;
	sqlite3 *conn;
	sqlite3_stmt *put, *get, *del, *begin, *commit, *scan;
};

static int fail(sqlite3 *conn, const char *what, int rc)
{
	return bench_error("%s: %s (%s)", what, sqlite3_errstr(rc),
			   conn ? sqlite3_errmsg(conn) : "");
}

/* Writers never give up on the write lock; they yield the CPU instead of
 * sleeping, so two writers alternate at the rate SQLite can commit. */
static int busy_retry(void *arg, int count)
{
	(void)arg;
	(void)count;
	sched_yield();
	return 1;
}

static void sqlite_describe(char *buf, size_t len)
{
	snprintf(buf, len, "SQLite %s, WAL, synchronous=NORMAL (FULL for fillsync), "
		 "WITHOUT ROWID table, a connection per thread", sqlite3_libversion());
}

/* Opens a connection to the store with the settings every connection gets. */
static int open_connection(struct bench_db *d, sqlite3 **out)
{
	sqlite3 *conn = NULL;
	int rc = sqlite3_open_v2(d->path, &conn, SQLITE_OPEN_READWRITE |
				 SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		fail(conn, "sqlite3_open_v2", rc);
		sqlite3_close(conn);
		return -1;
	}
	sqlite3_busy_handler(conn, busy_retry, NULL);
	const char *sql = d->sync ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
				  : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
	rc = sqlite3_exec(conn, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		fail(conn, "pragma", rc);
		sqlite3_close(conn);
		return -1;
	}
	*out = conn;
	return 0;
}

static int sqlite_open(const char *dir, const struct bench_open_options *o,
		       struct bench_db **out)
{
	struct bench_db *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return bench_error("out of memory");
	snprintf(d->path, sizeof(d->path), "%s/bench.db", dir);
	d->sync = o->sync;
	pthread_mutex_init(&d->writer, NULL);
	if (open_connection(d, &d->keeper) < 0)
		goto out_free;
	int rc = sqlite3_exec(d->keeper, "CREATE TABLE IF NOT EXISTS "
			      "kv(k BLOB PRIMARY KEY, v BLOB) WITHOUT ROWID;",
			      NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		fail(d->keeper, "create table", rc);
		goto out_close;
	}
	*out = d;
	return 0;

out_close:
	sqlite3_close(d->keeper);
out_free:
	pthread_mutex_destroy(&d->writer);
	free(d);
	return -1;
}

static void sqlite_close(struct bench_db *d)
{
	if (d == NULL)
		return;
	sqlite3_close(d->keeper);
	pthread_mutex_destroy(&d->writer);
	free(d);
}

static void finalize_all(struct bench_thread *t)
{
	sqlite3_finalize(t->put);
	sqlite3_finalize(t->get);
	sqlite3_finalize(t->del);
	sqlite3_finalize(t->begin);
	sqlite3_finalize(t->commit);
	sqlite3_finalize(t->scan);
}

static int prepare(struct bench_thread *t, const char *sql, sqlite3_stmt **out)
{
	int rc = sqlite3_prepare_v3(t->conn, sql, -1, SQLITE_PREPARE_PERSISTENT,
				    out, NULL);
	return rc == SQLITE_OK ? 0 : fail(t->conn, sql, rc);
}

static int sqlite_thread_open(struct bench_db *d, struct bench_thread **out)
{
	struct bench_thread *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return bench_error("out of memory");
	t->db = d;
	if (open_connection(d, &t->conn) < 0)
		goto out_free;
	if (prepare(t, "INSERT OR REPLACE INTO kv(k, v) VALUES(?1, ?2)", &t->put) < 0 ||
	    prepare(t, "SELECT v FROM kv WHERE k = ?1", &t->get) < 0 ||
	    prepare(t, "DELETE FROM kv WHERE k = ?1", &t->del) < 0 ||
	    prepare(t, "BEGIN IMMEDIATE", &t->begin) < 0 ||
	    prepare(t, "COMMIT", &t->commit) < 0 ||
	    prepare(t, "SELECT k, v FROM kv ORDER BY k", &t->scan) < 0)
		goto out_finalize;
	*out = t;
	return 0;

out_finalize:
	finalize_all(t);
	sqlite3_close(t->conn);
out_free:
	free(t);
	return -1;
}

static void sqlite_thread_close(struct bench_thread *t)
{
	finalize_all(t);
	sqlite3_close(t->conn);
	free(t);
}

/* Steps a statement that returns no row, retrying while another connection
 * holds a lock the busy handler could not wait for. */
static int step_done(struct bench_thread *t, sqlite3_stmt *s, const char *what)
{
	int rc;
	while ((rc = sqlite3_step(s)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		sqlite3_reset(s);
		sched_yield();
	}
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : fail(t->conn, what, rc);
}

static int put_one(struct bench_thread *t, const void *key, size_t klen,
		   const void *value, size_t vlen)
{
	sqlite3_bind_blob(t->put, 1, key, (int)klen, SQLITE_STATIC);
	sqlite3_bind_blob(t->put, 2, value, (int)vlen, SQLITE_STATIC);
	return step_done(t, t->put, "insert");
}

static int sqlite_put(struct bench_thread *t, const void *key, size_t klen,
		      const void *value, size_t vlen)
{
	pthread_mutex_lock(&t->db->writer);
	int rc = put_one(t, key, klen, value, vlen);
	pthread_mutex_unlock(&t->db->writer);
	return rc;
}

static int sqlite_get(struct bench_thread *t, const void *key, size_t klen,
		      void *buf, size_t cap, size_t *vlen)
{
	int rc, result;
	sqlite3_bind_blob(t->get, 1, key, (int)klen, SQLITE_STATIC);
	while ((rc = sqlite3_step(t->get)) == SQLITE_BUSY) {
		sqlite3_reset(t->get);
		sched_yield();
	}
	if (rc == SQLITE_ROW) {
		const void *v = sqlite3_column_blob(t->get, 0);
		size_t len = (size_t)sqlite3_column_bytes(t->get, 0);
		*vlen = len;
		if (len > cap)
			result = bench_error("value of %zu bytes, buffer of %zu", len, cap);
		else {
			memcpy(buf, v, len);
			result = BENCH_FOUND;
		}
	} else if (rc == SQLITE_DONE) {
		result = BENCH_NOTFOUND;
	} else {
		result = fail(t->conn, "select", rc);
	}
	sqlite3_reset(t->get);
	return result;
}

static int sqlite_del(struct bench_thread *t, const void *key, size_t klen)
{
	sqlite3_bind_blob(t->del, 1, key, (int)klen, SQLITE_STATIC);
	pthread_mutex_lock(&t->db->writer);
	int rc = step_done(t, t->del, "delete");
	pthread_mutex_unlock(&t->db->writer);
	return rc;
}

static int sqlite_batch_put(struct bench_thread *t, const struct bench_kv *kv,
			    size_t n)
{
	int rc = -1;
	pthread_mutex_lock(&t->db->writer);
	if (step_done(t, t->begin, "begin") < 0)
		goto out_unlock;
	for (size_t i = 0; i < n; i++) {
		if (put_one(t, kv[i].key, kv[i].klen, kv[i].value, kv[i].vlen) < 0) {
			sqlite3_exec(t->conn, "ROLLBACK", NULL, NULL, NULL);
			goto out_unlock;
		}
	}
	rc = step_done(t, t->commit, "commit");
out_unlock:
	pthread_mutex_unlock(&t->db->writer);
	return rc;
}

static int sqlite_scan(struct bench_thread *t, struct bench_scan *s)
{
	int rc;
	while ((rc = sqlite3_step(t->scan)) == SQLITE_ROW) {
		const void *k = sqlite3_column_blob(t->scan, 0);
		size_t klen = (size_t)sqlite3_column_bytes(t->scan, 0);
		size_t vlen = (size_t)sqlite3_column_bytes(t->scan, 1);
		bench_scan_entry(s, k, klen, vlen);
	}
	sqlite3_reset(t->scan);
	return rc == SQLITE_DONE ? 0 : fail(t->conn, "scan", rc);
}

const struct bench_system bench_sqlite = {
	.name = "sqlite",
	.describe = sqlite_describe,
	.open = sqlite_open,
	.close = sqlite_close,
	.thread_open = sqlite_thread_open,
	.thread_close = sqlite_thread_close,
	.put = sqlite_put,
	.get = sqlite_get,
	.del = sqlite_del,
	.batch_put = sqlite_batch_put,
	.scan = sqlite_scan,
};
