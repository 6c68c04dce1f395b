/*
 * space.h — the store's disk space: a reserve that deletes draw on, a
 * headroom that user writes stop at, an optional size limit, and the
 * reclaim pass that gives the space of deleted data back while the store
 * is short of it.
 *
 * Why. An LSM store frees the space of deleted data only by writing: a
 * delete is a log record, the log is retired by a flush, deleted values
 * leave tables by compaction. On a full disk each of those steps needs
 * space first, so without care a full disk makes deletes fail and the
 * store unopenable. The models are btrfs's global reserve and RocksDB's
 * SstFileManager (reserved and maximum space, recovery when space returns).
 *
 * The reserve. The file RESERVE in the data directory holds `target` bytes
 * of allocated blocks (fallocate), taken while space is plentiful. When an
 * append that frees space (a delete, a table drop, a batch flagged with
 * golite_batch_set_frees_space), the creation of a log segment, or
 * background work (flush, compaction, reclaim, manifest) finds the disk
 * full, it shrinks the reserve (ftruncate) and retries: the blocks it gave
 * back are the room it needed. Background work leaves `log_keep` bytes of
 * it to the log, so that deletes keep working while a flush or compaction
 * waits for space. The reserve is refilled first when space returns.
 *
 * States (enum space_state), shown in the figures and logged on change:
 *   normal    writes go ahead;
 *   full      writes that do not free space fail with GOLITE_ENOSPC: the
 *             file system's free space is below `headroom`, or the store's
 *             files have come within `headroom` of max_size, or part of the
 *             reserve is in use; deletes go ahead;
 *   read-only the store was opened read-only.
 *
 * Sizes, from the space the store may use (max_size, or the size of the
 * file system that holds it; "total" below), fixed at open:
 *   - memtable_size is capped at total/32 and sstable_size at total/64 (at
 *     least 1 MiB each), so that a flush or a compaction output fits the
 *     headroom of a small file system;
 *   - the reserve grows with the store: 2 MiB for the log plus an eighth of
 *     the store's files, at least 4 MiB, at most total/16 (between 8 MiB
 *     and 256 MiB, and at most total/4); log_keep is a quarter of it, at
 *     least 2 MiB;
 *   - headroom is 2% of total (at most 8 GiB), and at least what two
 *     memtables and two tables take.
 *
 * Invariants:
 *   1. The reserve file's size is the reserve's allocated bytes (`have`);
 *      it changes only with mu held.
 *   2. have < target puts the store in the full state: writes that do not
 *      free space never use reserved blocks.
 *   3. A reclaim pass drops an entry of a table only when a newer version
 *      of its key is durable (in a table, or in the log up to a synced
 *      position), or its table's drop is: a crash can never bring back a
 *      state in which the entry was needed.
 */
#ifndef GOLITE_SPACE_H
#define GOLITE_SPACE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "golite.h"

enum space_state {
	SPACE_NORMAL = 0,
	SPACE_FULL = 1,
	SPACE_READONLY = 2,
};

struct golite;

/* [lo, hi] of the ikeys deleted in one table id, and how many. */
struct space_range {
	uint8_t *lo, *hi;
	size_t lolen, hilen;
	uint64_t count;
};

struct space {
	int fd;                         /* RESERVE, -1 if none (read-only) */
	uint64_t cap;                   /* the reserve's largest size */
	_Atomic uint64_t target;        /* its full size now; set with mu */
	_Atomic uint64_t log_keep;      /* left to the log by background work */
	uint64_t headroom;
	uint64_t limit;                 /* max_size; 0: none */
	uint64_t total;                 /* the space the sizes derive from */
	pthread_mutex_t mu;             /* the reserve file, refreshes */
	_Atomic uint64_t have;          /* reserve bytes allocated; inv. 1 */
	_Atomic int state;              /* enum space_state */
	_Atomic uint64_t used;          /* bytes of the store's files */
	_Atomic uint64_t fs_free;       /* free bytes of the file system */
	_Atomic uint64_t fs_size;
	_Atomic uint64_t refreshed_ns;
	char why[160];                  /* why the state is not normal; mu */
	const char *cause;              /* the same in one word; mu */

	/* The space thread: refreshes the figures, refills the reserve and
	 * runs reclaim passes. */
	pthread_t thread;
	bool thread_running;
	pthread_cond_t cv;              /* wakes it; with mu */
	bool stop;                      /* mu */
	_Atomic uint64_t frees;         /* writes that freed space, since open */

	/* Key ranges of deletes not yet looked at by a reclaim pass: the
	 * tables a pass reads are those they overlap. */
	pthread_mutex_t ranges_mu;
	struct space_range *ranges;     /* ranges_mu */
	size_t nranges, cap_ranges;     /* ranges_mu */
	bool scan_all;                  /* ranges_mu: too many, or unknown */

	/* Figures since open. */
	_Atomic uint64_t borrowed;      /* reserve bytes given up to let work on */
	_Atomic uint64_t refused;       /* writes refused for space */
	_Atomic uint64_t reclaim_passes;
	_Atomic uint64_t reclaim_dropped;    /* tables dropped whole */
	_Atomic uint64_t reclaim_rewritten;  /* tables rewritten without dead entries */
	_Atomic uint64_t reclaimed_bytes;    /* table bytes given back by them */
	_Atomic uint64_t reclaimable_bytes;  /* dead entry bytes the last pass found */
};

/*
 * Sizes the store's space from its options and the file system, caps
 * db->o.memtable_size and sstable_size, and (unless read-only) opens the
 * reserve and fills it as far as space allows. Never fails for lack of
 * space; fails only if the directory cannot be examined.
 */
int space_open(struct golite *db);
/* Starts and stops the space thread (not for read-only stores). */
void space_start(struct golite *db);
void space_stop(struct golite *db);
void space_close(struct golite *db);

/* Re-reads the file system's and the store's sizes, refills the reserve if
 * it can, and sets the state (logging a change). */
void space_refresh(struct golite *db);

/*
 * Gives back at least `bytes` (rounded up to 1 MiB) of the reserve, keeping
 * `keep` bytes of it. Returns the bytes given back (0: nothing left to
 * give). Puts the store in the full state until the reserve is refilled.
 */
uint64_t space_borrow(struct golite *db, uint64_t bytes, uint64_t keep, const char *what);

/* The error for a write refused for space (sets golite_last_error), or 0
 * if the store takes writes again by now. */
int space_refused(struct golite *db);

/* Called after a write that frees space, with the payload it logged (or
 * its one ikey and kind): notes the ranges it deleted for the next reclaim
 * pass, and wakes the space thread. */
void space_note_frees(struct golite *db, const uint8_t *payload, size_t len,
		      const uint8_t *one_ikey, size_t one_iklen, unsigned one_kind);

/* Takes the pending ranges (*all: every table is to be read instead). The
 * caller owns the array and frees it with space_ranges_free. */
struct space_range *space_ranges_take(struct golite *db, size_t *n, bool *all);
void space_ranges_free(struct space_range *r, size_t n);

/* Called, with the log lock held, before the log reserves `bytes` more
 * space: checks the file system's free space. Returns 0, or GOLITE_ENOSPC
 * if a write that does not free space must stop here. */
int space_admit(struct golite *db, uint64_t bytes, bool frees);

/* Bytes background work can write now: the file system's free space and
 * the reserve beyond the log's part (as of the last look). */
uint64_t space_room(struct golite *db);

/* True if the store is short of space (reclaim passes run). */
bool space_pressure(struct golite *db);

const char *space_state_name(int state);
void space_stats(struct golite *db, FILE *f);
void space_figures(struct golite *db, golite_stats *s);

/* reclaim.c: one pass: credits the pending deletes to the tables they
 * fall in, then reads the tables whose deletes may make a rewrite worth it
 * (space thread, or the closing thread). Returns true if it left work for
 * a later pass (a table busy with compaction, a failure). */
bool reclaim_pass(struct golite *db);

#endif /* GOLITE_SPACE_H */
