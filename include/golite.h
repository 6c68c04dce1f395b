/*
 * golite.h — the public C API of GoLite, an embedded key-value store.
 *
 * A store is a directory on disk. It holds named tables; a table maps keys
 * (byte strings) to values (byte strings), ordered by key with memcmp().
 *
 * Conventions
 *   - Every fallible call returns 0 (GOLITE_OK) or a negative GOLITE_E* code.
 *     golite_strerror() explains any code; golite_last_error() gives the
 *     detailed message (file names, offsets) of the last failure on the
 *     calling thread.
 *   - Predicates return bool.
 *   - Buffers the library hands out say who owns them and for how long.
 *     Anything documented as "free with golite_free()" was allocated by the
 *     library with malloc().
 *   - Out of memory: the library aborts the process with a message. No call
 *     returns a half-done result because an allocation failed.
 *
 * Threads
 *   A golite handle may be used from any number of threads at once. The
 *   library uses userspace RCU (liburcu, memb flavour) internally: every
 *   thread that calls into the library is registered with RCU on its first
 *   call and unregistered automatically when it exits. Callers need not do
 *   anything. A thread that wants to release its registration early (a
 *   long-lived thread that will not call the library again) may call
 *   golite_thread_detach().
 *
 * Durability (see golite_options.durability)
 *   A write is acknowledged when its call returns 0. In GOLITE_SYNC mode the
 *   write is on disk (fdatasync) when acknowledged. In GOLITE_PERIODIC mode
 *   it is on disk within sync_interval_ms. golite_sync() makes every write
 *   acknowledged before it durable, in any mode. After a crash the store
 *   opens to a prefix of its write history.
 */
#ifndef GOLITE_H
#define GOLITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GOLITE_VERSION_MAJOR 1
#define GOLITE_VERSION_MINOR 0
#define GOLITE_VERSION_STRING "1.0.0"

/* Limits, enforced by every call that takes a key, value or table name. */
#define GOLITE_MAX_KEY_SIZE        8192u              /* bytes, keys are 1..8192 */
#define GOLITE_MAX_VALUE_SIZE      (64u << 20)        /* bytes, values are 0..64 MiB */
#define GOLITE_MAX_TABLE_NAME      255u               /* bytes, see golite_table_create */
#define GOLITE_MAX_BATCH_SIZE      (256u << 20)       /* encoded bytes in one batch */

/* Error codes. Every failing call returns one of these (all negative). */
enum golite_error {
	GOLITE_OK            = 0,
	GOLITE_ENOTFOUND     = -1,   /* key, table or named snapshot not found */
	GOLITE_EINVAL        = -2,   /* invalid argument (NULL, bad option) */
	GOLITE_EKEYSIZE      = -3,   /* key empty or longer than GOLITE_MAX_KEY_SIZE */
	GOLITE_EVALSIZE      = -4,   /* value longer than GOLITE_MAX_VALUE_SIZE */
	GOLITE_ENAME         = -5,   /* table or snapshot name invalid */
	GOLITE_ENOTABLE      = -6,   /* no table of that name */
	GOLITE_EEXIST        = -7,   /* table (or named snapshot) already exists */
	GOLITE_EIO           = -8,   /* I/O error; details in golite_last_error() */
	GOLITE_ENOSPC        = -9,   /* no space left on the device */
	GOLITE_ECORRUPT      = -10,  /* damaged file; golite_last_error() names file and offset */
	GOLITE_ELOCKED       = -11,  /* data directory held by another process */
	GOLITE_EFAILED       = -12,  /* store refuses writes after an earlier I/O error */
	GOLITE_ECLOSED       = -13,  /* handle is closing or closed */
	GOLITE_ERANGE        = -14,  /* caller's buffer too small; the size needed is returned */
	GOLITE_EVERSION      = -15,  /* file written by an incompatible format version */
	GOLITE_EBATCH        = -16,  /* batch larger than GOLITE_MAX_BATCH_SIZE */
	GOLITE_EBUSY         = -17,  /* resource in use (e.g. compaction already running) */
	GOLITE_EROFS         = -18,  /* store opened read-only */
	GOLITE_EISDIR        = -19,  /* key names a directory created through the mount */
	GOLITE_ENOTEMPTY     = -20,  /* table is not empty (golite_table_drop with
	                              * GOLITE_DROP_IF_EMPTY) */
	GOLITE_ECONFLICT     = -21,  /* a transaction's reads changed before its
	                              * commit (golite_store.h): retry */
};

/* Returns a static, human-readable description of an error code. Never NULL. */
const char *golite_strerror(int err);

/*
 * Returns the detailed message of the last failed call made by this thread
 * (for example "wal/000004.log: checksum mismatch in record at offset 8192").
 * The string is owned by the library and valid until the next library call
 * on the same thread. Returns "" if no call has failed on this thread.
 */
const char *golite_last_error(void);

/* Opaque handles. */
typedef struct golite golite;             /* an open store */
typedef struct golite_batch golite_batch; /* a group of writes applied atomically */
typedef struct golite_iter golite_iter;   /* an ordered cursor over one table */

/* When an acknowledged write reaches the disk. */
enum golite_durability {
	/*
	 * The default. Writes are buffered in memory and a background thread
	 * writes and fdatasyncs the log at least every sync_interval_ms. A crash
	 * of the process or the machine loses at most that window. Costs
	 * nothing per write.
	 */
	GOLITE_PERIODIC = 0,
	/*
	 * Each write returns only once it is on disk. Concurrent writers share
	 * one write() and one fdatasync() (group commit), so throughput grows
	 * with the number of writers; a single writer pays one device flush per
	 * write (about 0.1 to 10 ms).
	 */
	GOLITE_SYNC = 1,
	/*
	 * The log is written to the OS when its buffer fills or the store
	 * closes, and synced only by golite_sync() and close. A process crash
	 * loses the unwritten buffer; a machine crash loses what the OS had not
	 * written.
	 */
	GOLITE_NONE = 2,
};

/* Which memtable implementation backs the store. */
enum golite_memtable_kind {
	/* Lock-free skip list and lock-free hash index (the default). */
	GOLITE_MEMTABLE_LOCKFREE = 0,
	/*
	 * A skip list and hash map behind one reader-writer lock: the reference
	 * implementation, used as the test oracle and as a benchmark baseline.
	 */
	GOLITE_MEMTABLE_LOCKED = 1,
};

/* Block compression of SSTables. */
enum golite_compression {
	GOLITE_COMPRESS_NONE = 0,     /* the default: reads straight from the page cache */
	GOLITE_COMPRESS_LZ4 = 1,      /* fast, about 2x on text */
	GOLITE_COMPRESS_ZSTD = 2,     /* slower, about 3x on text */
};

/* Severity of a log message passed to golite_options.log. */
enum golite_log_level {
	GOLITE_LOG_ERROR = 0,
	GOLITE_LOG_WARN = 1,
	GOLITE_LOG_INFO = 2,
	GOLITE_LOG_DEBUG = 3,
};

/*
 * Options for golite_open(). Fill with golite_options_init(), then change
 * what you need. Every field states its default and what it costs.
 */
typedef struct golite_options {
	/* Create the data directory if it does not exist. Default true. The
	 * directory is created with mode 0700. */
	bool create_if_missing;
	/* Fail with GOLITE_EEXIST if the store already exists. Default false. */
	bool error_if_exists;
	/* Open without writing anything: writes return GOLITE_EROFS, no WAL is
	 * replayed into new files and no background work runs. Still takes the
	 * directory lock (shared), so a writer cannot open it at the same time.
	 * Default false. */
	bool read_only;
	/* See enum golite_durability. Default GOLITE_PERIODIC. */
	enum golite_durability durability;
	/* Longest time an acknowledged write stays only in memory in
	 * GOLITE_PERIODIC mode. Default 1000 ms; 1..60000. Shorter intervals
	 * cost one fdatasync per interval. */
	uint32_t sync_interval_ms;
	/* Size of the in-memory write-ahead-log buffer. A full buffer goes to
	 * the log thread and appends go on in a new one; writers wait when
	 * eight buffers' worth waits for the disk (the thread is in a slow
	 * fdatasync). Default 4 MiB. */
	size_t wal_buffer_size;
	/* A WAL segment is closed and a new one started past this size. Default
	 * 64 MiB. Larger segments mean fewer files; the space of a segment is
	 * reclaimed once its memtable has been flushed. */
	size_t wal_segment_size;
	/* A memtable is frozen and flushed to an SSTable past this size. Default
	 * 64 MiB. Larger memtables absorb more writes in memory (faster writes
	 * and reads of recent data) but make recovery replay longer and use
	 * that much RSS per memtable (up to three at once). A read_only
	 * open never flushes: its one memtable is made no larger than twice
	 * the log it replays (at least 64 KiB). */
	size_t memtable_size;
	/* See enum golite_memtable_kind. Default GOLITE_MEMTABLE_LOCKFREE. */
	enum golite_memtable_kind memtable;
	/* Bytes of decoded SSTable blocks kept in memory. Default 64 MiB.
	 * Uncompressed tables are read through the page cache as well. */
	size_t block_cache_size;
	/* Target size of one SSTable. Default 32 MiB. */
	size_t sstable_size;
	/* Bloom filter bits per key. Default 10 (about 1% false positives);
	 * 0 disables filters. */
	uint32_t bloom_bits_per_key;
	/* See enum golite_compression. Default GOLITE_COMPRESS_NONE. */
	enum golite_compression compression;
	/* Background compaction threads. Default 1; 0 disables background
	 * compaction (golite_compact_range() still works). */
	uint32_t compaction_threads;
	/* Optional log sink for background events and errors. Default NULL:
	 * errors and warnings go to stderr. The callback may be called from any
	 * thread, must not call back into the library, and the message is valid
	 * only during the call. */
	void (*log)(void *ctx, enum golite_log_level level, const char *msg);
	void *log_ctx;
	/* Messages above this level are not produced. Default GOLITE_LOG_WARN. */
	enum golite_log_level log_level;
	/* Write the memtable to a table at close, so that the next open has
	 * no log to replay. Default true. False makes close faster (no table
	 * is written) and leaves the writes in the log, replayed by the next
	 * open. */
	bool flush_on_close;
	/* Optional progress report for long work: replaying the log at open
	 * and golite_compact_range(). Called from the working thread with a
	 * stage name ("replay", "compact"), the units done and the total
	 * (bytes; total may grow). Must not call back into the library.
	 * Default NULL. */
	void (*progress)(void *ctx, const char *stage, uint64_t done, uint64_t total);
	void *progress_ctx;
	/* Most bytes the store's files may take on disk; 0 (the default) for
	 * no limit but the file system's. Writes fail with GOLITE_ENOSPC once
	 * the files come within the headroom of it (docs/operations.md,
	 * "Disk space"), deletes go on. At least 16 MiB. */
	uint64_t max_size;
	/* Bytes kept allocated in the file RESERVE for deletes and the work
	 * that frees space on a full disk. Default 0: a sixteenth of the space
	 * the store may use (max_size or the file system's size), between
	 * 8 MiB and 256 MiB. */
	uint64_t space_reserve;
	/* Events of the change feed kept for its readers (golite_raw.h,
	 * golite_feed_*): a reader further behind loses the oldest. Default
	 * 8192 (0 also means the default); at most 16777216. Costs a pointer
	 * a slot at open, and the lines kept while someone reads the feed. */
	size_t feed_events;
	/* Plain values (not expiring) of at least this many bytes are not
	 * copied from the log into tables when their memtable is flushed: the
	 * table points at them where the log wrote them, so they are written
	 * to disk once, and compaction moves only the pointer (the file
	 * mount's chunks, 4 KiB, are such values). Default 4096 (0 also means
	 * the default); SIZE_MAX keeps every value in the tables. Costs a
	 * read of the value file for each such value read (through the page
	 * cache) and a collector thread that frees value files as their
	 * values are overwritten or deleted (docs/design.md). */
	size_t separate_values_from;
} golite_options;

/* Fills *opts with the defaults documented above. */
void golite_options_init(golite_options *opts);

/*
 * Opens (and, with create_if_missing, creates) the store in directory path.
 * Replays the write-ahead log. On success stores the handle in *out and
 * returns 0. On failure *out is NULL and nothing on disk was changed, except
 * that a torn last log record (a write cut short by a crash) is truncated.
 * Fails with GOLITE_ELOCKED if another process holds the directory,
 * GOLITE_ECORRUPT if a log record before the tail or a table file is
 * damaged (golite_last_error() names the file and offset).
 * opts may be NULL for the defaults.
 */
int golite_open(const char *path, const golite_options *opts, golite **out);

/*
 * Closes the store: writes the memtable to a table (unless
 * flush_on_close is false), stops background work, writes and syncs the
 * log, and releases the directory lock. Every call on other threads must have
 * returned and every iterator must have been freed. Returns the first
 * error met while writing the log (the handle is freed regardless).
 * NULL is accepted and returns 0.
 */
int golite_close(golite *db);

/*
 * Makes every write acknowledged before this call durable (fdatasync of the
 * log). Returns GOLITE_EFAILED if the store can no longer write.
 */
int golite_sync(golite *db);

/* ---- Tables ------------------------------------------------------------ */

/*
 * Creates an empty table. A name is 1..GOLITE_MAX_TABLE_NAME bytes, holds no
 * '/' and no NUL, is not "." or "..", and does not start with ".golite".
 * Returns GOLITE_ENAME for an invalid name, GOLITE_EEXIST if it exists.
 */
int golite_table_create(golite *db, const char *name);

/* Flags for golite_table_drop(). */
#define GOLITE_DROP_IF_EMPTY 1u  /* fail with GOLITE_ENOTEMPTY if the table holds keys */

/*
 * Drops a table and every key in it, atomically. The space is reclaimed by
 * compaction. A table created later under the same name starts empty.
 */
int golite_table_drop(golite *db, const char *name, unsigned flags);

/*
 * Renames a table atomically; its keys move with it (no data is copied).
 * Returns GOLITE_EEXIST if to exists, GOLITE_ENOTABLE if from does not.
 */
int golite_table_rename(golite *db, const char *from, const char *to);

/* Returns true if the table exists. */
bool golite_table_exists(golite *db, const char *name);

/*
 * Lists the tables in name order. On success *names is an array of *count
 * NUL-terminated names, allocated as one block: free it with golite_free()
 * (one call frees the array and the strings).
 */
int golite_table_list(golite *db, char ***names, size_t *count);

/* ---- Keys -------------------------------------------------------------- */

/*
 * Sets table[key] = value. key is 1..GOLITE_MAX_KEY_SIZE bytes, value
 * 0..GOLITE_MAX_VALUE_SIZE bytes (value may be NULL when vlen is 0). The
 * library copies both.
 */
int golite_put(golite *db, const char *table, const void *key, size_t klen,
	       const void *value, size_t vlen);

/*
 * Gets table[key]. On success *value is a malloc()ed copy the caller frees
 * with golite_free() and *vlen its length. Returns GOLITE_ENOTFOUND if the
 * key is absent (then *value is NULL), GOLITE_EISDIR if the key names a
 * directory created through the mount.
 */
int golite_get(golite *db, const char *table, const void *key, size_t klen,
	       void **value, size_t *vlen);

/*
 * Gets table[key] into the caller's buffer, without allocating. *vlen is
 * set to the value's length. If the value is longer than cap, nothing is
 * copied and GOLITE_ERANGE is returned (call again with a buffer of *vlen
 * bytes).
 */
int golite_get_into(golite *db, const char *table, const void *key,
		    size_t klen, void *buf, size_t cap, size_t *vlen);

/* Returns true if table[key] exists (no value is copied). */
bool golite_exists(golite *db, const char *table, const void *key, size_t klen);

/* Removes table[key]. Removing an absent key is not an error. */
int golite_delete(golite *db, const char *table, const void *key, size_t klen);

/* ---- Keys that expire ----------------------------------------------------
 *
 * A key may carry a time to live. Once the store's clock reaches its
 * expiry the key is absent to every read, listing and iterator (at once,
 * to the millisecond; nothing waits for compaction), and the store
 * deletes it soon after (within a few milliseconds while it is open
 * for writing, else at the next open), which the change feed reports as
 * "expire TABLE KEY" (golite_raw.h) and compaction then reclaims like any
 * delete.
 *
 * The clock is the wall clock, never let to run backwards: the store
 * reads the time as the latest of the wall clock and the latest time it
 * read before (since open). A clock set forward expires keys early, and
 * they stay expired; a clock set back does not bring an expired key
 * back, but keys expire later by the jump. A snapshot judges expiry by
 * its own creation time: it shows a key that had not expired when it
 * was taken.
 *
 * golite_put and golite_batch_put write a key without a time to live (an
 * overwrite clears it), as Redis's SET does.
 */

/* The longest time to live: 100 years, in milliseconds. */
#define GOLITE_TTL_MAX_MS (UINT64_C(3155760000) * 1000)

/* golite_put with a time to live of ttl_ms milliseconds
 * (1..GOLITE_TTL_MAX_MS; GOLITE_EINVAL otherwise). */
int golite_put_ttl(golite *db, const char *table, const void *key, size_t klen,
		   const void *value, size_t vlen, uint64_t ttl_ms);

/*
 * Sets the time to live of an existing key to ttl_ms from now
 * (1..GOLITE_TTL_MAX_MS), or with ttl_ms 0 removes it (the key then lives
 * until deleted). The value is kept. GOLITE_ENOTFOUND if the key is
 * absent or expired, GOLITE_EISDIR for a directory created through the
 * mount, GOLITE_EINVAL for a ttl_ms out of range; a key overwritten
 * concurrently keeps the overwrite (the call then retries on it).
 */
int golite_expire(golite *db, const char *table, const void *key, size_t klen,
		  uint64_t ttl_ms);

/*
 * The time to live left of a key: *ms_left is the milliseconds until it
 * expires (at least 1), or -1 if it has none. GOLITE_ENOTFOUND if the key
 * is absent or expired.
 */
int golite_ttl(golite *db, const char *table, const void *key, size_t klen,
	       int64_t *ms_left);

/* ---- Batches ----------------------------------------------------------- */

/* Returns a new, empty batch. Free with golite_batch_free(). */
golite_batch *golite_batch_new(void);

/* Adds a put or a delete; the batch copies key and value. Checks sizes and
 * the table name's form (not its existence: that is checked by
 * golite_write). A failed add leaves the batch unchanged. */
int golite_batch_put(golite_batch *b, const char *table, const void *key,
		     size_t klen, const void *value, size_t vlen);
int golite_batch_delete(golite_batch *b, const char *table, const void *key,
			size_t klen);
/* A put of a key that expires at expires_at_ms (ms since the epoch, as
 * golite_ttl counts; "Keys that expire" below). */
int golite_batch_put_expiring(golite_batch *b, const char *table, const void *key,
			      size_t klen, const void *value, size_t vlen,
			      uint64_t expires_at_ms);

/* Number of operations in the batch. */
size_t golite_batch_count(const golite_batch *b);

/* Empties the batch for reuse, keeping its memory. */
void golite_batch_clear(golite_batch *b);

/* Frees the batch. NULL is accepted. */
void golite_batch_free(golite_batch *b);

/* Puts in a batch that frees space, at most (see below). */
#define GOLITE_FREES_SPACE_MAX_PUT (256u << 10)

/*
 * Marks the batch as one that frees space (removes or shrinks data): it is
 * written even while the store refuses writes for lack of space, drawing on
 * the space reserved for deletes. Its puts may add up to at most
 * GOLITE_FREES_SPACE_MAX_PUT bytes of keys and values (golite_write fails
 * with GOLITE_EINVAL otherwise). golite_delete and golite_table_drop free
 * space without being asked. golite_batch_clear() clears the mark.
 */
void golite_batch_set_frees_space(golite_batch *b, bool frees);

/*
 * Applies every operation of the batch atomically, in order, across any
 * number of tables: after a crash either all of it or none of it is there,
 * and no reader sees part of it through an iterator. Fails with
 * GOLITE_ENOTABLE (nothing applied) if any table does not exist. The batch
 * is not changed.
 */
int golite_write(golite *db, const golite_batch *b);

/* ---- Iterators --------------------------------------------------------- */

/* Bounds of an iterator. All fields may be NULL/0. */
typedef struct golite_iter_options {
	const void *lower;   /* first key >= lower (inclusive) */
	size_t lower_len;
	const void *upper;   /* keys < upper (exclusive) */
	size_t upper_len;
	const void *prefix;  /* only keys starting with prefix */
	size_t prefix_len;
	/* Read at this snapshot (golite_snapshot_new, golite_snapshot_open)
	 * instead of now; NULL: now. The iterator keeps what it needs of the
	 * snapshot: the handle may be freed before the iterator. */
	const struct golite_snapshot *snapshot;
} golite_iter_options;

/*
 * Creates an iterator over table, positioned before the first key (call
 * golite_iter_seek_first() or golite_iter_seek()). The iterator sees a
 * consistent snapshot: every write acknowledged before this call, and
 * nothing written after; with opts->snapshot, the store as of that
 * snapshot (table is then resolved in the catalog as it was). The bounds are copied. Free with golite_iter_free()
 * before closing the store. opts may be NULL.
 */
int golite_iter_new(golite *db, const char *table, const golite_iter_options *opts,
		    golite_iter **out);

/* Positions at the first key within the bounds. */
void golite_iter_seek_first(golite_iter *it);

/* Positions at the first key >= key within the bounds. */
void golite_iter_seek(golite_iter *it, const void *key, size_t klen);

/* True while positioned on a key. */
bool golite_iter_valid(const golite_iter *it);

/* Advances to the next key. Requires golite_iter_valid(). */
void golite_iter_next(golite_iter *it);

/*
 * The current key and value. The pointers are owned by the iterator and
 * valid until it moves or is freed. Require golite_iter_valid().
 * golite_iter_value() returns NULL with *vlen 0 for a directory created
 * through the mount; golite_iter_is_dir() tells such keys apart.
 */
const void *golite_iter_key(const golite_iter *it, size_t *klen);
const void *golite_iter_value(golite_iter *it, size_t *vlen);
bool golite_iter_is_dir(const golite_iter *it);

/* 0, or the error that stopped the iterator (it is then not valid). */
int golite_iter_status(const golite_iter *it);

/* Frees the iterator. NULL is accepted. */
void golite_iter_free(golite_iter *it);

/* ---- Snapshots --------------------------------------------------------- */

/*
 * A snapshot is the store as of one sequence number: a read at it returns,
 * for every key, the newest version written at or before that sequence
 * (not found if that version is a delete), and table names resolve in the
 * table catalog as it was then. While a snapshot lives, flushes and
 * compactions keep the versions it sees (and the keys of tables dropped
 * after it); those versions become collectable again at the next
 * compaction that reaches them once it is released (golite_stats:
 * snapshots, snapshot_kept_bytes). Reads at a snapshot take no lock, as
 * reads of now do. A handle is the caller's until golite_snapshot_free,
 * which must come before golite_close; a handle may be used from several
 * threads at once.
 */
typedef struct golite_snapshot golite_snapshot;

/* An unnamed snapshot: the store as of now (every write acknowledged
 * before the call, nothing after). Lives until freed; not durable. */
int golite_snapshot_new(golite *db, golite_snapshot **out);

/* Releases a handle (NULL is accepted). */
void golite_snapshot_free(golite_snapshot *s);

/* The sequence number a snapshot reads at. */
uint64_t golite_snapshot_sequence(const golite_snapshot *s);

/*
 * Named snapshots: durable. golite_snapshot_create records a snapshot of
 * now (as golite_snapshot_new) under name, syncs the log up to its
 * sequence and writes it to the MANIFEST before it returns, so it survives
 * close, kill -9 and power loss. *seq_out (may be NULL) gets its sequence.
 * Names: 1..255 bytes, no '/', not "." or ".." (GOLITE_ENAME otherwise);
 * GOLITE_EEXIST if the name is taken, GOLITE_EROFS on a read-only store.
 */
#define GOLITE_MAX_SNAPSHOT_NAME 255u
int golite_snapshot_create(golite *db, const char *name, uint64_t *seq_out);

/* Drops the named snapshot name (GOLITE_ENOTFOUND if there is none),
 * durably before it returns. Handles open on it (golite_snapshot_open)
 * keep reading it; its versions are released when the last is freed. */
int golite_snapshot_drop(golite *db, const char *name);

/* One named snapshot: its name (NUL-terminated), sequence, and the wall
 * time it was created (ns since the epoch). */
typedef struct golite_snapshot_info {
	char name[256];
	uint64_t sequence;
	int64_t time_ns;
} golite_snapshot_info;

/* The named snapshots, sorted by name, in a malloc()ed array (*out, NULL
 * when *count is 0) freed with golite_free. */
int golite_snapshot_list(golite *db, golite_snapshot_info **out, size_t *count);

/* A handle reading at named snapshot name (GOLITE_ENOTFOUND if there is
 * none). The named snapshot stays until dropped; a drop while handles are
 * open takes effect when the last is freed. */
int golite_snapshot_open(golite *db, const char *name, golite_snapshot **out);

/* golite_get at a snapshot (snap NULL: now); the same contract. */
int golite_get_at(golite *db, const golite_snapshot *snap, const char *table, const void *key,
		  size_t klen, void **value, size_t *vlen);

/* ---- Maintenance and figures ------------------------------------------- */

/*
 * Compacts the keys of table within [lower, upper) (NULL bounds mean
 * unbounded; table NULL means every table) down to the last level, dropping
 * overwritten and deleted data. Returns when done.
 */
int golite_compact_range(golite *db, const char *table, const void *lower,
			 size_t lower_len, const void *upper, size_t upper_len);

/*
 * Makes a checkpoint: a consistent copy of the store, as of one sequence
 * number, in the new directory dir, while the store stays open and other
 * threads go on writing. *seq_out (may be NULL) gets that sequence: the
 * checkpoint holds every write whose sequence is <= it, which includes
 * every write acknowledged before this call began, and no write after it.
 * golite_stats.last_sequence tells the sequence of the store now.
 *
 * The checkpoint is a store of its own, which golite_open opens (replaying
 * its log) and `golite check` checks: its tables (hard links to the
 * store's, or copies where dir is on another file system), a MANIFEST
 * naming exactly them, the part of the log that leads from them to the
 * sequence (copies of the log segments, the last one cut just past the
 * record of that sequence) and the STORE marker. It is synced (files and
 * directories) before the call returns, and neither locked nor held open
 * afterwards. Tables are immutable, so a hard link shares no later change
 * with the store; the tables and log segments it copies are kept from
 * deletion by flushes and compactions while it works. The log is synced
 * once (as golite_sync does); no write waits for the copying.
 *
 * dir must not exist; its parent must. The checkpoint is built in
 * DIR.tmp-PID-N beside it and renamed to dir once complete, so dir appears
 * whole or not at all; on any error nothing is left behind. (A process
 * killed meanwhile leaves its DIR.tmp-PID-N directory, which may be
 * removed.) Errors: GOLITE_EEXIST if dir exists, GOLITE_ENOTFOUND if its
 * parent does not, GOLITE_EIO for a parent that is not writable (the
 * message says so) and other failed calls, GOLITE_EROFS for a read-only
 * file system, GOLITE_ENOSPC when the disk fills up, GOLITE_ECLOSED for a
 * store that is closing, GOLITE_EFAILED for a store whose log failed,
 * GOLITE_ECORRUPT if the store's own log is damaged, GOLITE_EINVAL for dir
 * NULL, empty or the store's own directory. A store opened read-only can
 * be checkpointed too (its log is copied as it is on disk).
 * golite_tools.h's golite_checkpoint_ex adds options (copies only, and
 * replacing an earlier checkpoint incrementally: `golite backup`).
 */
int golite_checkpoint(golite *db, const char *dir, uint64_t *seq_out);

/*
 * Writes the store's live figures as text, one "name value" line each, into
 * a malloc()ed NUL-terminated string the caller frees with golite_free().
 * The names are stable; fs/README-fs.md ("/.golite/stats") and
 * docs/operations.md ("Disk space") give their meaning.
 */
int golite_stats_text(golite *db, char **text);

/* Levels of tables (0 to 6) in golite_stats. */
#define GOLITE_STATS_LEVELS 7

/* The figures as numbers, for programs. */
typedef struct golite_stats {
	uint64_t puts, gets, deletes, batches;
	uint64_t last_sequence;      /* sequence number of the newest write */
	uint64_t wal_bytes;          /* bytes written to the log */
	uint64_t wal_syncs;          /* fdatasync calls on the log */
	uint64_t wal_group_commits;  /* log writes that carried more than one writer */
	uint64_t memtable_bytes;     /* arena bytes of the live memtables */
	uint64_t memtable_entries;   /* entries in the live memtables */
	uint64_t sstable_count;
	uint64_t sstable_bytes;
	uint64_t block_cache_bytes;
	uint64_t stall_micros;       /* time writers were slowed or stopped */
	bool failed;                 /* the store refuses writes (I/O error) */

	/* Group commit: how many records each write() of the log carried
	 * (writes that carried only a sync mark are not counted). The
	 * percentiles are upper bounds of log-linear buckets, at most 12.5%
	 * above the true value, exact up to 15. Since open. */
	uint64_t wal_records;        /* records appended to the log */
	uint64_t wal_writes;         /* write() calls on the log */
	uint64_t wal_group_p50, wal_group_p99, wal_group_max;
	/* Memory. */
	uint64_t memtable_limit;     /* memtable_size: a memtable is frozen past it */
	uint64_t frozen_memtables;   /* memtables waiting to be written as tables */
	uint64_t block_cache_capacity;
	/* Tables per level: files and bytes. */
	uint64_t level_tables[GOLITE_STATS_LEVELS], level_bytes[GOLITE_STATS_LEVELS];
	/* Background work, since open. */
	uint64_t flushes;            /* memtables written as level-0 tables */
	uint64_t compactions;        /* compactions done (trivial moves not counted) */
	uint64_t compactions_running;
	uint64_t compaction_bytes_read;     /* table bytes compactions read */
	uint64_t compaction_bytes_written;  /* table bytes compactions wrote */
	/* Debt: bytes of the levels 1 and deeper above their target size,
	 * plus all of level 0 once it holds 4 tables or more. */
	uint64_t compaction_debt_bytes;
	/* Progress of the compactions running now: the sizes of their input
	 * tables, and the key and value bytes merged from them so far (the
	 * second approaches the first, without block overheads). */
	uint64_t compaction_running_input_bytes;
	uint64_t compaction_running_merged_bytes;
	/* Disk space (docs/operations.md: "Disk space"). */
	int space_state;             /* 0 normal, 1 writes refused for space,
				      * 2 read-only */
	uint64_t space_used;         /* bytes of the store's files on disk */
	uint64_t space_free;         /* free bytes of the file system */
	uint64_t space_limit;        /* max_size, 0 if none */
	uint64_t space_headroom;     /* writes stop this far from full */
	uint64_t space_reserve;      /* bytes held for deletes now */
	uint64_t space_reserve_target;
	uint64_t space_reclaimable;  /* bytes of deleted data in tables, as
				      * the last reclaim pass found */
	uint64_t space_reclaimed;    /* bytes given back by reclaim: tables
				      * dropped or rewritten, value files
				      * deleted (vlog.h) */
	uint64_t space_refused;      /* writes refused for space */
	/* Snapshots (golite_snapshot_*): live ones (named, and unnamed not
	 * yet freed, each counted once), the sequence of the oldest (0 if
	 * none), and the versions (and their key and value bytes) flushes and
	 * compactions kept since open only because a snapshot could see them. */
	uint64_t snapshots;
	uint64_t snapshot_oldest_sequence;
	uint64_t snapshot_kept_versions;
	uint64_t snapshot_kept_bytes;
	/* Keys that expire: deleted at their expiry since open, and the
	 * earliest expiry waiting in the expiry index (ms since the epoch; 0
	 * if none; an overwritten key's may still be waiting there). */
	uint64_t expired_keys;
	uint64_t expiry_next_ms;
	/* Separated values (golite_options.separate_values_from): values
	 * flushed as pointers into value files since open; the value files
	 * now, their bytes on disk and the bytes of values the newest
	 * versions point at in them (as the collector's last pass found);
	 * the collector's passes, the values it wrote again to empty files
	 * (files and bytes) and the files it deleted, since open. */
	uint64_t values_separated;
	uint64_t value_files;
	uint64_t value_file_bytes;
	uint64_t value_live_bytes;
	uint64_t value_gc_passes;
	uint64_t value_gc_rewritten_files;
	uint64_t value_gc_rewritten_bytes;
	uint64_t value_gc_deleted_files;
} golite_stats;

int golite_stats_get(golite *db, golite_stats *out);

/* Frees memory returned by the library. NULL is accepted. */
void golite_free(void *p);

/* Releases this thread's RCU registration early (optional, see Threads). */
void golite_thread_detach(void);

#ifdef __cplusplus
}
#endif

#endif /* GOLITE_H */
