/*
 * expire.h — keys that expire: the store's clock, the expiry index and
 * the thread that deletes expired keys (expire.c; the calls are in
 * golite.h "Keys that expire", the entry format in format.h).
 *
 * The expiry index is the store's table TABLE_ID_EXPIRY. Every write of
 * an expiring entry adds, in the same log record, one entry there:
 *
 *     key   +-------------------+----------------+--------------------+
 *           | expires at BE64   | table id BE32  | hash64(ikey) BE64  |
 *           | (ms, as format.h) |                | (engine/util.h)    |
 *           +-------------------+----------------+--------------------+
 *     value the user key (1..8192 bytes); kind KIND_VALUE
 *
 * Big-endian keys sort the index by expiry, so the keys due are a prefix
 * of it. The hash keeps entries of different keys with one expiry apart
 * without putting the user key in the index key (where it would pass the
 * key size limit). Two keys of one table whose 64-bit hashes agree and
 * that expire in the same millisecond share one entry (about 2^-64 for a
 * pair): the key it does not name is still absent to reads from its
 * expiry on, but is deleted only when written again.
 *
 * Invariants:
 *   1. Every expiring entry that is the newest version of its key has its
 *      index entry (written with it, in the same log record), until the
 *      expirer deletes both.
 *   2. The expirer deletes a key only if its newest version is an
 *      expiring entry whose expiry is the index entry's and has passed,
 *      checked under the log lock (db_commit_if), so a write racing with
 *      it is never lost; an index entry whose key was rewritten since is
 *      deleted alone.
 *   3. The store's clock never goes back while the store is open
 *      (db_clock_ms): a key a read found expired stays expired.
 */
#ifndef GOLITE_EXPIRE_H
#define GOLITE_EXPIRE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golite.h"
#include "golite_raw.h"

struct golite;
struct rep;

#define EXPIRE_INDEX_KEY 20u   /* bytes of an index key (above) */

/* The expirer's state, in the store handle. */
struct expirer {
	pthread_t thread;
	bool started;
	bool stop;                   /* mu */
	pthread_mutex_t mu;          /* stop, wake_ms's changes, early */
	pthread_mutex_t hooks_mu;    /* hooks; held by a pass */
	pthread_cond_t cv;
	_Atomic uint64_t wake_ms;    /* when the thread next looks (0: a pass
				      * is under way) */
	uint64_t early;              /* mu: the earliest expiry written
				      * during a pass (0: none) */
	_Atomic uint64_t clock_ms;   /* the latest time the store read */
	_Atomic uint64_t expired;    /* keys deleted at expiry since open */
	_Atomic uint64_t next_ms;    /* the earliest expiry in the index */
	golite_expire_hooks hooks;   /* mu */
};

void expire_init(struct golite *db);
/* Starts the thread (a store open for writing). */
int expire_start(struct golite *db);
/* Stops it; nothing is deleted after it returns. */
void expire_stop(struct golite *db);
void expire_destroy(struct golite *db);

/* Moves the wall clock as every store of the process reads it by ms
 * (either way), as a clock set forward or back would: for the tests of
 * clock jumps. */
void expire_clock_shift(int64_t ms);
/* The store's clock in ms since the epoch (invariant 3). */
uint64_t db_clock_ms(struct golite *db);
/* The clock a read at snap judges expiry by: the snapshot's creation
 * time, or db_clock_ms for a read of now (snap NULL). */
uint64_t db_read_clock_ms(struct golite *db, const golite_snapshot *snap);

/* Adds to r the index entry of an entry of ikey expiring at at. */
void expire_index_add(struct rep *r, uint64_t at, const uint8_t *ikey, size_t iklen);
/* Tells the expirer a key expiring at at was written (wakes it if it
 * would look later). */
void expire_note(struct golite *db, uint64_t at);

#endif /* GOLITE_EXPIRE_H */
