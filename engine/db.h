/*
 * db.h — the store handle's insides, shared by the engine's modules
 * (db.c: writes and reads; db_open.c: open, recovery and close;
 * db_tables.c: tables; iter.c: iterators; and the background work that
 * flushes memtables and compacts tables: flush.c, compaction.c).
 *
 * Write path: caller -> encode payload -> wal_append (sequence numbers
 * assigned under the log lock, memtable chosen there) -> memtable add ->
 * release the in-flight slot -> in GOLITE_SYNC mode
 * wait for the log's fdatasync -> acknowledge.
 *
 * Read path: RCU read-side section -> catalog lookup -> active memtable ->
 * immutable memtables (newest first) -> SSTables; each gives its newest
 * version at or below the read's sequence (a snapshot's, or SEQ_MAX).
 *
 * Invariants:
 *   1. last_seq is assigned only under the log lock (wal_append's prepare),
 *      so log order is sequence order.
 *   2. A write holds an in-flight slot (inflight[]) from the moment its
 *      sequence numbers are assigned until its entries are in the
 *      memtable. The slot is set before last_seq moves past the write's
 *      sequence (both under the log lock). So reading last_seq, then
 *      waiting for every slot holding a sequence <= it, gives a snapshot
 *      whose every write is in a memtable, and includes every write that
 *      returned before it began. A writer waits for another only when all
 *      DB_INFLIGHT slots are held, for one of them to be released.
 *   3. src_gen is odd while mem, imm or current change (freeze, flush,
 *      compaction, reclaim), and grows with every change. An iterator pins its
 *      sources and reads last_seq between two equal even readings of it,
 *      so the sequence it reads belongs to exactly the sources it pinned:
 *      no write up to it sits in a memtable it missed, and no table it
 *      pinned holds a write after it (a table may keep only the newest
 *      version of a key, which would hide the one it needs). An iterator
 *      or read at a snapshot (snapshot.h) needs no such pairing: while the
 *      snapshot lives, every source keeps the versions it sees.
 *   4. The memtable a write goes to is chosen under the log lock; a switch
 *      of memtable happens under the same lock together with a new log
 *      segment, so each segment's records belong to one memtable or to
 *      memtables older than those of later segments.
 *   5. mem, imm, current and catalog are published with rcu_publish()
 *      (rcu.h) and what they replace is freed only after a grace period.
 */
#ifndef GOLITE_DB_H
#define GOLITE_DB_H

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "cache.h"
#include "catalog.h"
#include "error.h"
#include "expire.h"
#include "feed.h"
#include "golite.h"
#include "manifest.h"
#include "memtable.h"
#include "vlog.h"
#include "rcu.h"
#include "snapshot.h"
#include "space.h"
#include "sstable.h"
#include "util.h"
#include "version.h"
#include "wal.h"

/* Write stalls (LevelDB's thresholds): writers are slowed by 1 ms each
 * from L0_SLOWDOWN level-0 tables, and wait for compaction from L0_STOP. */
#define L0_COMPACT_TRIGGER 4
#define L0_SLOWDOWN 8
#define L0_STOP 12
/* Frozen memtables waiting for flush before writers wait. */
#define MAX_IMM 2

/* Counters kept per CPU so that readers on different cores never write the
 * same cache line. */
enum db_counter {
	C_PUTS,
	C_GETS,
	C_GET_HITS,
	C_DELETES,
	C_BATCHES,
	C_BATCH_ENTRIES,
	C_ITERS,
	C_BYTES_WRITTEN,
	C_BYTES_READ,
	C_COUNT,
};

#define DB_SHARDS 16
#define DB_INFLIGHT 64

struct db_shard {
	_Alignas(64) _Atomic uint64_t v[C_COUNT];
};

struct golite {
	char *path;
	golite_options o;
	const struct memtable_ops *mt_ops;
	int lock_fd;

	struct wal *wal;                         /* NULL when read-only */
	struct memtable *mem;                    /* active; rcu, invariant 4/5 */
	struct memtable *imm;                    /* frozen, newest first; rcu,
						  * changed under bg_mu */
	struct catalog *catalog;                 /* rcu */
	pthread_mutex_t ddl_mu;                  /* serialises table changes */

	/* Tables and background work (compaction.c, flush.c). */
	struct version *current;                 /* rcu; changed under bg_mu */
	struct block_cache *cache;
	struct sst_options sst_opts;
	pthread_mutex_t bg_mu;
	pthread_cond_t bg_cv;                    /* wakes background threads */
	pthread_cond_t done_cv;                  /* wakes writers and waiters */
	struct manifest ms;                      /* counters and pointers; bg_mu
						  * (files are in current) */
	int imm_count;                           /* bg_mu */
	bool flush_requested;                    /* bg_mu */
	bool bg_stop;                            /* bg_mu */
	int compactions_running;                 /* bg_mu */
	bool space_deferred;                     /* bg_mu: a compaction waits
						  * for space */
	int manual_running;                      /* bg_mu */
	int ckpt_holds;                          /* bg_mu: checkpoints at work
						  * (checkpoint.c); while any
						  * is, no log segment is
						  * removed */
	int bg_error;                            /* bg_mu: last failure of
						  * background work, 0 if none */
	uint64_t bg_error_ns;                    /* when it happened */
	_Atomic int stall;                       /* 0 none, 1 slow, 2 stop */
	_Atomic uint64_t stall_micros;
	_Atomic uint64_t flushes, compactions, trivial_moves;
	_Atomic uint64_t compact_in_bytes;       /* inputs of running compactions */
	_Atomic uint64_t compact_merged_bytes;   /* merged from them so far */
	pthread_t flush_thread;
	pthread_t *compact_threads;
	uint32_t ncompact_threads;

	_Atomic uint64_t last_seq;               /* written under the log lock */
	struct db_slot {
		_Alignas(64) _Atomic uint64_t seq;   /* 0: free */
	} inflight[DB_INFLIGHT];                 /* invariant 2 */
	_Atomic uint64_t next_file_no;

	_Atomic uint64_t src_gen;                /* invariant 3 */
	_Atomic int failed;                      /* the store refuses writes */
	_Atomic bool closing;

	struct space space;                      /* disk space (space.h) */
	bool space_opened;

	struct feed feed;                        /* the change feed (feed.h) */
	struct expirer expirer;                  /* keys that expire (expire.h) */
	struct vlog vlog;                        /* separated values (vlog.h) */

	/* Snapshots (snapshot.h). */
	pthread_mutex_t snap_mu;
	struct snap *snaps;                      /* snap_mu: live, by seq */
	_Atomic uint64_t snap_kept_versions;     /* kept only for snapshots */
	_Atomic uint64_t snap_kept_bytes;

	struct db_shard shards[DB_SHARDS];
	uint64_t open_ns;
	struct wal_replay_info replay;
};

static inline void db_count(struct golite *db, enum db_counter c, uint64_t n)
{
	unsigned cpu = (unsigned)sched_getcpu();
	atomic_fetch_add_explicit(&db->shards[cpu % DB_SHARDS].v[c], n, memory_order_relaxed);
}

uint64_t db_counter_sum(struct golite *db, enum db_counter c);

/* Waits until every write with a sequence <= upto is in its memtable
 * (invariant 2). */
void db_wait_writes(struct golite *db, uint64_t upto);

/* Brackets a change of mem, imm or current (invariant 3); bg_mu held. */
static inline void db_sources_change_begin(struct golite *db)
{
	atomic_fetch_add_explicit(&db->src_gen, 1, memory_order_acq_rel);
}

static inline void db_sources_change_end(struct golite *db)
{
	atomic_fetch_add_explicit(&db->src_gen, 1, memory_order_release);
}

/* Resolves a table name inside an RCU read-side section. */
int db_table_id(struct golite *db, const char *table, uint32_t *id);
/* The same in catalog c (a snapshot's: snap_catalog()). */
int db_table_id_in(const struct catalog *c, const char *table, uint32_t *id);

/* The checks every entry point starts with: a handle that is open (and the
 * calling thread registered with RCU), and a store that takes writes. 0 or
 * the error, set with set_error(). */
static inline int db_check_handle(struct golite *db)
{
	if (unlikely(!db))
		return set_error(GOLITE_EINVAL, "store handle is NULL");
	if (unlikely(atomic_load_explicit(&db->closing, memory_order_relaxed)))
		return set_error(GOLITE_ECLOSED, "the store is closed");
	rcu_thread_ensure();
	return 0;
}

static inline int db_check_writable(struct golite *db)
{
	if (unlikely(db->o.read_only))
		return set_error(GOLITE_EROFS, "the store was opened read-only");
	if (unlikely(atomic_load_explicit(&db->failed, memory_order_relaxed)))
		return set_error(GOLITE_EFAILED,
				 "the store refuses writes after an I/O error; see the log");
	return 0;
}

struct rep;
/* db.c: the write path, for the other entry points. */
/* Logs and applies an encoded batch (batch.h) as one write; *first_seq
 * gets its first sequence. frees: the batch frees space (space.h). */
int db_commit_batch(struct golite *db, struct rep *rep, bool frees, uint64_t *first_seq);
/* A condition on one key for db_commit_if: its newest version is still
 * seq (0: it has none), and no source changed since src_gen was read
 * (before the read that found seq). */
struct db_cond {
	const uint8_t *ikey;
	size_t iklen;
	uint64_t seq;
	uint64_t src_gen;
};
/* db_commit_batch if cond holds when the write would be logged (checked
 * under the log lock); GOLITE_EBUSY, with nothing written, if it does not. */
int db_commit_if(struct golite *db, struct rep *rep, bool frees, const struct db_cond *cond);
/* Adds an encoded batch (batch.h, sequence numbers filled in) to memtable
 * m, leaving out the entries the batch itself overwrites at once (db.c).
 * GOLITE_ECORRUPT if it does not parse (m may then hold a part of it). */
int db_add_batch(struct memtable *m, const uint8_t *payload, size_t len);
/* Frees the calling thread's write buffers (at thread exit). */
void db_free_thread_buffers(void);

/* compaction.c: the tables and the background threads */
int bg_open(struct golite *db, struct manifest *m);  /* load tables; takes m's files */
int bg_start(struct golite *db);
void bg_stop(struct golite *db);
void bg_close(struct golite *db);
/* flush.c */
/* Called by writers after an insert: requests a flush of a full memtable. */
void bg_note_write(struct golite *db, struct memtable *m);
/* Called by writers before a write: slows or waits while flushing or
 * compaction is behind. Returns 0 or the error that keeps it behind. */
int bg_throttle(struct golite *db);
/* Freezes the active memtable (if it holds anything) and waits until
 * every frozen memtable is flushed. */
int bg_flush(struct golite *db);
/* compaction.c */
/* Writes the stats lines of tables and background work. */
void bg_stats(struct golite *db, FILE *f);
/* Fills the fields of s about tables and background work. */
void bg_figures(struct golite *db, golite_stats *s);
/* Starts fetching what bg_get() of ikey will read first (inside an RCU
 * read-side section); a hint only. */
void bg_prefetch(struct golite *db, const uint8_t *ikey, size_t iklen, uint64_t hash);
/* Point lookup in the tables at sequence snap (SEQ_MAX: the newest), inside
 * an RCU read-side section. */
int bg_get(struct golite *db, const uint8_t *ikey, size_t iklen, uint64_t hash, uint64_t snap,
	   struct mt_entry *e);

/* Shared with reclaim.c (space.h). compaction.c: */
/* Allocates a file number (log segments and tables share the counter). */
uint64_t bg_new_file_no(struct golite *db);
/* The path of table file_no in the store's directory. */
void bg_table_path(struct golite *db, uint64_t file_no, char *path, size_t cap);
/* Adds an entry to the output table *b, first starting one (numbered
 * *file_no) if *b is NULL. */
int bg_table_add(struct golite *db, struct sst_builder **b, uint64_t *file_no,
		 const void *skey, size_t sklen, const void *val, size_t vlen);
/* A table for a version, at level: takes meta's keys (zeroing *meta) and
 * the caller's reference on reader. */
struct table_file *bg_table_file_new(uint32_t level, struct sst_meta *meta,
				     struct sst_reader *reader);
/* Finishes the table b builds (file file_no) and opens it as a table of
 * level; with sync_dir the directory is synced first, so that the new file
 * survives a crash. On error the file is removed and *out is untouched. */
int bg_finish_table(struct golite *db, struct sst_builder *b, uint64_t file_no, uint32_t level,
		    bool sync_dir, struct table_file **out);
/* Replaces table old of the current version by out (NULL: drops it), with
 * the manifest written first (bg_mu held). On error nothing changed and out
 * is freed. */
int bg_replace_table(struct golite *db, struct table_file *old, struct table_file *out);
/* flush.c: */
/* True if the keys of table id may be dropped by work covering upto. */
bool bg_discardable(struct golite *db, uint32_t id, uint64_t upto);
/* Asks the flush thread to freeze the active memtable and flush it. */
void bg_request_flush(struct golite *db);
/* db.c: */
/* The sequence number of the newest version of ikey in the store (0 if
 * none is found or the lookup fails). */
uint64_t db_newest_seq(struct golite *db, const uint8_t *ikey, size_t iklen);
/* The newest version of ikey as stored, expired or not (a tombstone
 * included): seq, kind, expiry (0 if none) and, with copy, a malloc()ed
 * copy of the stored value (value NULL otherwise, and on 0 or an error).
 * Returns 1 if found, 0 if not, or an error. */
struct db_newest {
	uint64_t seq;
	unsigned kind;           /* without KIND_SEPARATE */
	uint64_t expires;
	void *value;             /* copy: the value (a separated one read) */
	size_t vlen;
	bool separated;          /* the value is in a value file, at ptr */
	struct vptr ptr;
};
int db_newest_entry(struct golite *db, const uint8_t *ikey, size_t iklen, struct db_newest *n,
		    bool copy);
/* The chunk reader's point read (file_read.c): golite_get_raw_at of a
 * chunk key into buf, except that a separated value is not read: returns
 * 1 with *p its pointer (and *vlen its length), which the caller reads
 * between vlog_iter_enter and vlog_iter_leave (vlog.h invariant 2). */
int db_chunk_lookup(struct golite *db, const golite_snapshot *snap, const void *key, size_t klen,
		    void *buf, size_t cap, size_t *vlen, struct vptr *p);
/* db_open.c: */
struct db_iter;
/* Builds a catalog (*out) from table 0 as the iterator it sees it. */
int db_catalog_read(struct golite *db, struct db_iter *it, struct catalog **out);

/* Logs a message through golite_options.log (or stderr). */
__attribute__((format(printf, 3, 4))) void db_log(struct golite *db, enum golite_log_level lvl,
						  const char *fmt, ...);

#endif /* GOLITE_DB_H */
