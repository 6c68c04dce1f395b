/*
 * db_open.c — opening a store (checking the options, locking the
 * directory, the STORE marker, loading the tables, replaying the log,
 * loading the catalog, starting the log and the background work) and
 * closing it. Apart from db.c because it runs once per open and close and
 * shares nothing with the data paths but the handle.
 *
 * Files in a data directory (their names are in filename.h):
 *
 *     STORE          marker (text); a directory without it is not a store.
 *                    Written at creation after an empty MANIFEST, so every
 *                    store has a MANIFEST.
 *     LOCK           flock()ed by the process that has the store open; holds
 *                    its pid as text, to name the holder in errors
 *     NNNNNNNN.wal   log segments (drawn in wal_format.h)
 *
 * Invariants:
 *   1. A store is created complete or not at all: an empty MANIFEST is
 *      written before the STORE marker, and a directory without the marker
 *      is not opened as a store.
 *   2. Replay applies a log record only if some of its writes are newer
 *      than the tables (the manifest's last_seq). Records come in log
 *      order with growing sequences; one that does not parse or goes back
 *      is damage (GOLITE_ECORRUPT).
 *   3. golite_open returns a handle, or fails having freed everything it
 *      made and released the directory lock.
 */
#include "db.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "error.h"
#include "filename.h"
#include "format.h"
#include "io.h"
#include "iter.h"
#include "util.h"

/* The smallest memtable_size an open accepts. */
#define MIN_MEMTABLE_SIZE (64u << 10)

static int check_options(const golite_options *o)
{
	if (o->durability > GOLITE_NONE)
		return set_error(GOLITE_EINVAL, "unknown durability mode %d", o->durability);
	if (o->sync_interval_ms < 1 || o->sync_interval_ms > 60000)
		return set_error(GOLITE_EINVAL, "sync_interval_ms %u outside 1..60000",
				 o->sync_interval_ms);
	if (o->memtable > GOLITE_MEMTABLE_LOCKED)
		return set_error(GOLITE_EINVAL, "unknown memtable kind %d", o->memtable);
	if (o->compression > GOLITE_COMPRESS_ZSTD)
		return set_error(GOLITE_EINVAL, "unknown compression %d", o->compression);
	if (o->memtable_size < MIN_MEMTABLE_SIZE)
		return set_error(GOLITE_EINVAL, "memtable_size below 64 KiB");
	if (o->wal_buffer_size < (64u << 10))
		return set_error(GOLITE_EINVAL, "wal_buffer_size below 64 KiB");
	if (o->wal_segment_size < (1u << 20))
		return set_error(GOLITE_EINVAL, "wal_segment_size below 1 MiB");
	if (o->max_size && o->max_size < (16u << 20))
		return set_error(GOLITE_EINVAL, "max_size below 16 MiB");
	if (o->space_reserve && o->space_reserve < (1u << 20))
		return set_error(GOLITE_EINVAL, "space_reserve below 1 MiB");
	if (o->separate_values_from && o->separate_values_from < VPTR_SIZE * 2)
		return set_error(GOLITE_EINVAL, "separate_values_from below %u bytes",
				 VPTR_SIZE * 2);
	if (o->feed_events > FEED_EVENTS_MAX)
		return set_error(GOLITE_EINVAL, "feed_events above %u", FEED_EVENTS_MAX);
	return 0;
}

int db_catalog_read(struct golite *db, struct db_iter *it, struct catalog **out)
{
	struct catalog_entry *v = NULL;
	size_t n = 0, cap = 0;
	uint32_t next_id = TABLE_ID_FIRST_USER;
	uint8_t prefix[IKEY_PREFIX];
	put_be32(prefix, TABLE_ID_CATALOG);
	int r = 0;
	for (db_iter_seek(it, prefix, IKEY_PREFIX); db_iter_valid(it); db_iter_next(it)) {
		size_t iklen, vlen;
		const uint8_t *k = db_iter_key(it, &iklen);
		if (ikey_table(k) != TABLE_ID_CATALOG)
			break;
		const uint8_t *val = db_iter_value(it, &vlen);
		if (iklen < IKEY_PREFIX + 1 || vlen != 4) {
			r = set_error(GOLITE_ECORRUPT, "%s: malformed table catalog entry", db->path);
			break;
		}
		char tag = (char)k[IKEY_PREFIX];
		if (tag == CATALOG_KEY_NEXT && iklen == IKEY_PREFIX + 1) {
			next_id = get_le32(val);
		} else if (tag == CATALOG_KEY_TABLE) {
			if (n == cap)
				v = xrealloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			/* The key bytes live only until the iterator moves. */
			v[n].len = (uint32_t)(iklen - IKEY_PREFIX - 1);
			v[n].name = xmemdup(k + IKEY_PREFIX + 1, v[n].len);
			v[n].id = get_le32(val);
			n++;
		}
	}
	if (!r)
		r = db_iter_status(it);
	if (!r) {
		for (size_t i = 0; i < n; i++)
			if (v[i].id >= next_id || v[i].id < TABLE_ID_FIRST_USER)
				r = set_error(GOLITE_ECORRUPT,
					      "%s: table catalog names id %u (next id %u)",
					      db->path, v[i].id, next_id);
	}
	if (!r)
		*out = catalog_build(v, n, next_id);
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return r;
}

/* Builds the in-memory catalog from table 0 as of now (at open). */
static int load_catalog(struct golite *db)
{
	struct db_iter *it = db_iter_new(db, true);
	int r = db_catalog_read(db, it, &db->catalog);
	db_iter_free(it);
	return r;
}

static uint64_t next_file_no(void *ctx)
{
	struct golite *db = ctx;
	return atomic_fetch_add(&db->next_file_no, 1);
}

static int wal_space_admit(void *ctx, uint64_t bytes, bool frees)
{
	return space_admit(ctx, bytes, frees);
}

static uint64_t wal_space_borrow(void *ctx, uint64_t bytes)
{
	return space_borrow(ctx, bytes, 0, "the log");
}

static void on_wal_failure(void *ctx, int err, const char *msg)
{
	struct golite *db = ctx;
	atomic_store(&db->failed, 1);
	db_log(db, GOLITE_LOG_ERROR, "%s (%s); the store now refuses writes", msg,
	       golite_strerror(err));
}

struct replay_ctx {
	struct golite *db;
	uint64_t last_seq;       /* of the previous record */
	uint64_t flushed_seq;    /* the tables hold everything up to here */
};

static int replay_record(void *arg, const uint8_t *p, size_t len, const char *path,
			 uint64_t off)
{
	struct replay_ctx *rc = arg;
	uint32_t count;
	uint64_t first;
	if (rep_iterate(p, len, NULL, NULL, &count, &first))
		return set_error(GOLITE_ECORRUPT, "%s: malformed batch in record at offset %llu",
				 path, (unsigned long long)off);
	if (count == 0)
		return 0;
	if (first <= rc->last_seq)
		return set_error(GOLITE_ECORRUPT,
				 "%s: record at offset %llu has sequence %llu, not after %llu", path,
				 (unsigned long long)off, (unsigned long long)first,
				 (unsigned long long)rc->last_seq);
	rc->last_seq = first + count - 1;
	if (rc->last_seq <= rc->flushed_seq)
		return 0;
	db_add_batch(rc->db->mem, p, len);
	return 0;
}

/*
 * The memtable of a read-only open: it never flushes, so it only ever
 * holds the log it replays, and is sized for that (twice the bytes of the
 * segments numbered from log_number on, at least 64 KiB), since setting up
 * a large one costs a noticeable fraction of a second.
 */
static size_t read_only_memtable_size(const char *dir, uint64_t log_number)
{
	uint64_t *nums, total = 0;
	size_t n;
	if (file_list(dir, FILE_WAL, &nums, &n) < 0)
		return SIZE_MAX;
	for (size_t i = 0; i < n; i++) {
		char p[PATH_MAX];
		struct stat st;
		file_path(p, sizeof(p), dir, FILE_WAL, nums[i]);
		if (nums[i] >= log_number && stat(p, &st) == 0)
			total += (uint64_t)st.st_size;
	}
	free(nums);
	return (size_t)MAX(2 * total, (uint64_t)MIN_MEMTABLE_SIZE);
}

/* Checks or creates the STORE marker. */
static int check_store(struct golite *db, bool *created)
{
	char path[PATH_MAX];
	file_path(path, sizeof(path), db->path, FILE_STORE, 0);
	uint8_t *data;
	size_t len;
	int r = io_read_file(path, 4096, &data, &len);
	*created = false;
	if (r == -ENOENT) {
		uint64_t *nums;
		size_t count;
		r = file_list(db->path, FILE_WAL, &nums, &count);
		if (r < 0)
			return set_error(GOLITE_EIO, "cannot list %s: %s", db->path, strerror(-r));
		free(nums);
		if (count)
			return set_error(GOLITE_ECORRUPT,
					 "%s holds log segments but no STORE file; not opening it",
					 db->path);
		if (!db->o.create_if_missing || db->o.read_only)
			return set_error(GOLITE_ENOTFOUND, "%s is not a store", db->path);
		/* An empty manifest first, then the marker that says the store is
		 * complete: a store always has a MANIFEST. */
		struct manifest empty = { .next_file_no = 1 };
		r = manifest_write(db->path, &empty);
		if (r)
			return r;
		r = io_write_file_atomic(db->path, STORE_FILE, STORE_TEXT, strlen(STORE_TEXT));
		if (r < 0)
			return set_error(errno_to_golite(-r), "cannot create %s: %s", path,
					 strerror(-r));
		*created = true;
		return 0;
	}
	if (r < 0)
		return set_error(GOLITE_EIO, "cannot read %s: %s", path, strerror(-r));
	int format = 0;
	data[len] = '\0';
	if (!store_marker_parse((char *)data, &format)) {
		free(data);
		return set_error(GOLITE_ECORRUPT, "%s: not a GoLite store marker (offset 0)", path);
	}
	free(data);
	if (format != STORE_FORMAT)
		return set_error(GOLITE_EVERSION, "%s: store format %d, this build reads format %d",
				 path, format, STORE_FORMAT);
	if (db->o.error_if_exists)
		return set_error(GOLITE_EEXIST, "store %s exists", db->path);
	return 0;
}

static void db_free(struct golite *db)
{
	expire_stop(db);
	vlog_stop(db);
	if (db->space_opened)
		space_stop(db);
	bg_stop(db);
	if (db->wal) {
		wal_close(db->wal);
		db->wal = NULL;
	}
	if (db->mem)
		memtable_unref(db->mem);
	while (db->imm) {
		struct memtable *m = db->imm;
		db->imm = m->next;
		memtable_unref(m);
	}
	snap_close(db);
	catalog_free(db->catalog);
	if (db->cache || db->current)
		bg_close(db);
	if (db->space_opened)
		space_close(db);
	if (db->lock_fd >= 0)
		io_close(db->lock_fd);
	feed_destroy(&db->feed);
	expire_destroy(db);
	vlog_destroy(db);
	pthread_mutex_destroy(&db->ddl_mu);
	pthread_mutex_destroy(&db->snap_mu);
	free(db->path);
	free(db);
}

int golite_open(const char *path, const golite_options *opts, golite **out)
{
	clear_error();
	if (!out)
		return set_error(GOLITE_EINVAL, "out is NULL");
	*out = NULL;
	if (!path || !*path)
		return set_error(GOLITE_EINVAL, "path is NULL or empty");
	rcu_thread_ensure();
	rcu_thread_on_exit(db_free_thread_buffers);

	struct golite *db = xcalloc(1, sizeof(*db));
	db->lock_fd = -1;
	db->path = xstrdup(path);
	db->open_ns = now_ns();
	mutex_init(&db->ddl_mu);
	mutex_init(&db->snap_mu);
	expire_init(db);
	if (opts)
		db->o = *opts;
	else
		golite_options_init(&db->o);
	vlog_init(db);
	int r = check_options(&db->o);
	if (r)
		goto out_free;
	feed_init(&db->feed, db->o.feed_events);
	db->mt_ops = db->o.memtable == GOLITE_MEMTABLE_LOCKED ? &memtable_locked_ops
							      : &memtable_lockfree_ops;

	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT || !db->o.create_if_missing || db->o.read_only) {
			r = set_error(errno == ENOENT ? GOLITE_ENOTFOUND : GOLITE_EIO,
				      "cannot open %s: %s", path, strerror(errno));
			goto out_free;
		}
		r = io_mkdir(path, 0700);
		if (r < 0 && r != -EEXIST) {
			r = set_error(errno_to_golite(-r), "cannot create %s: %s", path,
				      strerror(-r));
			goto out_free;
		}
	} else if (!S_ISDIR(st.st_mode)) {
		r = set_error(GOLITE_EINVAL, "%s is not a directory", path);
		goto out_free;
	}

	/* A directory that is not a store is left as it is unless we may
	 * create one (no LOCK file either). */
	if (!db->o.create_if_missing || db->o.read_only) {
		char marker[PATH_MAX];
		file_path(marker, sizeof(marker), path, FILE_STORE, 0);
		if (access(marker, F_OK) < 0) {
			r = set_error(GOLITE_ENOTFOUND, "%s is not a store (no %s file)", path,
				      STORE_FILE);
			goto out_free;
		}
	}
	r = data_dir_lock(db->path, !db->o.read_only, &db->lock_fd);
	if (r)
		goto out_free;
	bool created;
	r = check_store(db, &created);
	if (r)
		goto out_free;
	r = space_open(db);
	if (r)
		goto out_free;
	db->space_opened = true;

	struct manifest m;
	r = manifest_read(db->path, &m);
	if (r == GOLITE_ENOTFOUND) {
		uint64_t *nums;
		size_t count;
		r = file_list(db->path, FILE_TABLE, &nums, &count);
		if (r < 0) {
			r = set_error(GOLITE_EIO, "cannot list %s: %s", db->path, strerror(-r));
			goto out_free;
		}
		free(nums);
		if (count) {
			r = set_error(GOLITE_ECORRUPT, "%s holds tables but no MANIFEST", db->path);
			goto out_free;
		}
		memset(&m, 0, sizeof(m));
		r = 0;
	}
	if (r)
		goto out_free;
	r = bg_open(db, &m);
	if (r)
		goto out_free;

	if (db->o.read_only)
		db->o.memtable_size = MIN(db->o.memtable_size,
					  read_only_memtable_size(db->path, db->ms.log_number));
	db->mem = db->mt_ops->create(db->o.memtable_size);
	db->mem->wal_segno = db->ms.log_number;
	struct replay_ctx rc = { .db = db, .flushed_seq = db->ms.last_seq };
	r = wal_replay(db->path, db->ms.log_number, db->o.read_only, replay_record, &rc,
		       db->o.progress, db->o.progress_ctx, &db->replay);
	if (r)
		goto out_free;
	if (db->replay.truncated)
		db_log(db, GOLITE_LOG_WARN, "dropped a torn log tail at %s offset %llu",
		       db->replay.truncated_path, (unsigned long long)db->replay.truncated_at);
	atomic_store(&db->last_seq, MAX(rc.last_seq, db->ms.last_seq));
	uint64_t next = MAX(db->ms.next_file_no, db->replay.max_segno + 1);
	{
		uint64_t *nums;
		size_t count;
		if (file_list(db->path, FILE_TABLE, &nums, &count) == 0) {
			if (count)
				next = MAX(next, nums[count - 1] + 1);
			free(nums);
		}
	}
	atomic_store(&db->next_file_no, MAX(next, 1));

	r = load_catalog(db);
	if (r)
		goto out_free;
	r = snap_open(db);
	if (r)
		goto out_free;

	if (!db->o.read_only) {
		struct wal_options wo = {
			.dir = db->path,
			.mode = db->o.durability,
			.sync_interval_ms = db->o.sync_interval_ms,
			.buffer_size = db->o.wal_buffer_size,
			.segment_size = db->o.wal_segment_size,
			/* A quarter of a memtable: on a small disk the log's
			 * space ahead stays small next to the store. */
			.reserve_step = MIN((size_t)4 << 20, db->o.memtable_size / 4),
			.next_file_no = next_file_no,
			.on_failure = on_wal_failure,
			.space_admit = wal_space_admit,
			.space_borrow = wal_space_borrow,
			.ctx = db,
		};
		uint64_t segno = next_file_no(db);
		r = wal_open(&wo, segno, &db->wal);
		if (r)
			goto out_free;
		if (!atomic_load(&db->mem->entries))
			db->mem->wal_segno = segno;
		r = bg_start(db);
		if (r)
			goto out_free;
		space_start(db);
		r = expire_start(db);
		if (!r)
			r = vlog_start(db);
		if (r)
			goto out_free;
	}
	*out = db;
	return 0;

out_free:
	db_free(db);
	return r;
}

int golite_close(golite *db)
{
	if (!db)
		return 0;
	rcu_thread_ensure();
	/* A clean close leaves nothing to replay: the memtable goes to a table
	 * and the log segments are retired. A failure here loses nothing (the
	 * log still holds the writes); it is reported by the log below. */
	/* Deletes made on a full disk get their space back before the store
	 * closes (a `golite rm` is over before the space thread looks). */
	expire_stop(db);
	vlog_stop(db);
	space_stop(db);
	if (db->wal && space_pressure(db))
		reclaim_pass(db);
	rcu_read_lock();
	bool dirty = atomic_load(&rcu_fetch(db->mem)->entries) != 0;
	rcu_read_unlock();
	if (db->wal && db->o.flush_on_close && !atomic_load(&db->failed) && dirty) {
		int f = bg_flush(db);
		if (f)
			db_log(db, GOLITE_LOG_WARN, "flush at close failed: %s", golite_last_error());
	}
	atomic_store(&db->closing, true);
	space_stop(db);
	bg_stop(db);
	int r = 0;
	if (db->wal) {
		r = wal_close(db->wal);
		db->wal = NULL;
		if (r)
			r = set_error(GOLITE_EFAILED, "the log of %s failed before close (%s)",
				      db->path, golite_strerror(r));
	}
	/* Callbacks may still reference catalog snapshots; those of the
	 * feed free the events it replaced (feed_destroy frees the rest). */
	rcu_barrier();
	db_free(db);
	return r;
}
