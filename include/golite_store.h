/*
 * golite_store.h — the store port: tables of keys and values reached
 * through optimistic transactions, on one of two backends.
 *
 *   local:DATADIR (or a plain path)   the GoLite engine in this process
 *   etcd://HOST:PORT[,HOST:PORT...]/PREFIX
 *                                     an etcd v3 cluster, shared by every
 *                                     process that names the same PREFIX
 *
 * The model. A store holds tables (named as in golite.h); a table holds
 * keys (1..GOLITE_MAX_KEY_SIZE bytes) in byte order, each with a value and
 * a version. A version is an opaque non-zero 64-bit number that changes
 * whenever the key is written (0 stands for "no such key"); two reads
 * that give the same version saw the same value. Versions are compared
 * for equality only.
 *
 * Transactions. golite_txn_get and golite_txn_scan read the newest
 * committed state and remember what they saw; golite_txn_put and
 * golite_txn_delete buffer writes (the transaction reads its own writes
 * only through what it buffered: a get after a put in the same
 * transaction still reads the store). golite_txn_commit applies the
 * buffered writes atomically if nothing the transaction read has changed
 * since: every key got still has the version it had (or is still absent),
 * and every scanned range holds the same keys at the same versions;
 * otherwise it writes nothing and fails with GOLITE_ECONFLICT, and the
 * caller starts over (golite_store_backoff sleeps a growing, jittered
 * while). A transaction with no reads always commits (last writer wins);
 * one with no writes commits at once, checking nothing (its reads are
 * each as of when they ran).
 *
 * Durability. A commit that returns 0 is durable: on local, in the log
 * and synced (the engine's sync mode for this commit); on etcd, committed
 * by the Raft quorum (etcd acknowledges after a majority has the entry in
 * its write-ahead log, fsynced).
 *
 * Limits (golite_store_limits): the largest value and the most writes
 * and bytes one commit may carry. On etcd they follow etcd's defaults
 * (--max-request-bytes 1.5 MiB, --max-txn-ops 128); bigger values are the
 * caller's to split (the mount cuts files into chunks below max_value).
 * Over a limit: GOLITE_EVALSIZE / GOLITE_EBATCH, nothing written.
 *
 * Errors. Functions return 0 or a negative golite_error; golite_last_error
 * describes the failure. An etcd cluster that does not answer within the
 * store's timeout (timeout_ms, default 5000) gives GOLITE_EIO: an
 * operation never blocks longer than that. A commit that timed out may or
 * may not have been applied (as with any remote store); reading again
 * tells.
 *
 * Threads. A golite_store may be used from many threads at once; a
 * golite_txn belongs to one thread at a time.
 */
#ifndef GOLITE_STORE_H
#define GOLITE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "golite.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct golite_store golite_store;
typedef struct golite_txn golite_txn;

typedef struct golite_store_options {
	/* Create the store if it does not exist (local: the data directory;
	 * etcd: the header key under PREFIX). Default 0. */
	int create;
	/* Longest wait for one request to a remote backend, in ms. Default
	 * 5000. */
	uint32_t timeout_ms;
} golite_store_options;

typedef struct golite_store_limits {
	size_t max_value;       /* bytes of one value */
	size_t max_txn_writes;  /* puts and deletes in one commit */
	size_t max_txn_bytes;   /* keys and values of one commit */
} golite_store_limits;

void golite_store_options_init(golite_store_options *o);

/* Opens the store URI names (see above). GOLITE_ENOTFOUND if it does not
 * exist and o->create is 0; GOLITE_ECORRUPT / GOLITE_EVERSION if what is
 * there is not a store of a version this build reads. o may be NULL. */
int golite_store_open(const char *uri, const golite_store_options *o, golite_store **out);
void golite_store_close(golite_store *s);
/* "local" or "etcd". */
const char *golite_store_backend(const golite_store *s);
void golite_store_limits_get(const golite_store *s, golite_store_limits *l);

/* Tables. create: GOLITE_EEXIST if it exists; drop: GOLITE_ENOTABLE if
 * it does not, GOLITE_ENOTEMPTY if it holds keys and !force (force: its
 * keys go with it, atomically). list: a NULL-terminated array of names in
 * byte order, one block freed with golite_free. */
int golite_store_table_create(golite_store *s, const char *table);
int golite_store_table_drop(golite_store *s, const char *table, int force);
int golite_store_table_list(golite_store *s, char ***names, size_t *count);

int golite_txn_begin(golite_store *s, golite_txn **out);
void golite_txn_free(golite_txn *t);
/* Reads table[key]: 0 with *value (malloc'd, freed with golite_free; NULL
 * if vlen is 0), *vlen and *version; GOLITE_ENOTFOUND if the key does not
 * exist, GOLITE_ENOTABLE if the table does not (the commit checks that
 * the key is still absent). value may be NULL to read the version only. */
int golite_txn_get(golite_txn *t, const char *table, const void *key, size_t klen,
		   void **value, size_t *vlen, uint64_t *version);

/* One key of a scan. key and value stay valid during the callback only. */
typedef struct golite_store_item {
	const void *key;
	size_t klen;
	const void *value;   /* NULL when the scan was asked for keys only */
	size_t vlen;
	uint64_t version;
} golite_store_item;

/* Scans the keys of table in [start, end) in byte order (start NULL: from
 * the first; end NULL: to the last), at most limit of them (0: no limit),
 * calling fn for each; fn returning non-zero stops the scan (that value is
 * returned). *next gets the key to resume from (malloc'd; NULL when the
 * range was exhausted), so that a listing goes page by page. A scan
 * remembers the keys it returned for the commit. */
int golite_txn_scan(golite_txn *t, const char *table, const void *start, size_t slen,
		    const void *end, size_t elen, size_t limit, int keys_only,
		    int (*fn)(void *ctx, const golite_store_item *it), void *ctx, void **next,
		    size_t *nlen);

/* Adds to the commit's checks that table[key] is at version (0: absent),
 * as if a get had read it, without reading it: for a caller that knows a
 * version from an earlier read (a cache) and would rather not pay a round
 * trip to read it again. */
int golite_txn_expect(golite_txn *t, const char *table, const void *key, size_t klen,
		      uint64_t version);

int golite_txn_put(golite_txn *t, const char *table, const void *key, size_t klen,
		   const void *value, size_t vlen);
int golite_txn_delete(golite_txn *t, const char *table, const void *key, size_t klen);
/* Applies the buffered writes if nothing read changed (see above); on 0,
 * *revision (if not NULL) gets the store revision the commit made (etcd's
 * header revision; local: the engine's sequence number). The transaction
 * may be used again afterwards, empty. */
int golite_txn_commit(golite_txn *t, uint64_t *revision);

/* The version table[key] has after a commit that returned revision wrote
 * value into it: for a caller that keeps what it wrote, as read, without
 * reading it back (etcd: the revision; local: the value's hash). */
uint64_t golite_store_version_after(const golite_store *s, uint64_t revision, const void *value,
				    size_t vlen);

/* What a store handle has done since it was opened. */
typedef struct golite_store_stats {
	uint64_t gets, scans, commits, conflicts;
	uint64_t requests;   /* round trips to the backend (etcd: HTTP requests;
			      * local: 0) */
} golite_store_stats;
void golite_store_stats_get(const golite_store *s, golite_store_stats *st);

/* Sleeps before retry number attempt (0, 1, ...) of a conflicted
 * transaction: 1 ms doubled per attempt up to 256 ms, with jitter. */
void golite_store_backoff(unsigned attempt);

/* A change seen by golite_store_watch. */
typedef struct golite_store_event {
	uint64_t revision;
	int deleted;           /* the key was deleted (value empty) */
	const char *table;
	const void *key;
	size_t klen;
	const void *value;
	size_t vlen;
} golite_store_event;

/*
 * Calls fn for every change to a key of table (NULL: every table) made
 * from revision from on (0: from now), in commit order, and once before
 * them with ev->table NULL when the watch is in place (no later change
 * will be missed from then on), until fn returns
 * non-zero (that value is returned) or *stop becomes non-zero (checked at
 * least once a second; returns 0). GOLITE_EIO if the backend went away;
 * GOLITE_ERANGE if revision from was compacted away, so that events were
 * missed (read again, then watch from now). Etcd: an etcd watch; its
 * revisions are those commits return, and events carry the value. Local:
 * the store's change feed (golite_raw.h): revisions are the feed's event
 * numbers (from 1 at open), events carry no value, and a watch that falls
 * further behind than the feed keeps gets GOLITE_ERANGE.
 */
int golite_store_watch(golite_store *s, const char *table, uint64_t from,
		       int (*fn)(void *ctx, const golite_store_event *ev), void *ctx,
		       const volatile int *stop);

#ifdef __cplusplus
}
#endif
#endif
