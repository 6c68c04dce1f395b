/*
 * store_int.h — inside the store port (include/golite_store.h): what a
 * backend provides, and the transaction every backend shares.
 *
 *   store.c        URIs, options, limits, transactions (read and write
 *                  sets), backoff; dispatch to the backend
 *   store_local.c  backend "local": the engine in this process
 *   store_etcd.c   backend "etcd": etcd's v3 JSON gateway over libcurl
 *   etcd_http.c    the HTTP client: endpoints, failover, timeouts
 *   etcd_format.h  the layout of a store's keys in etcd, byte by byte
 *
 * A transaction keeps what it read (keys with the version seen, scanned
 * ranges with the keys and versions seen) and what it will write; the
 * backend's commit checks the reads and applies the writes in one step.
 */
#ifndef GOLITE_STORE_INT_H
#define GOLITE_STORE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golite_store.h"

/* One key a transaction read: table, key, and the version seen (0: the
 * key was absent). table_version: the table's own version as seen (0: the
 * table did not exist), which the commit checks too. */
struct txn_read {
	char *table;
	uint8_t *key;
	size_t klen;
	uint64_t version;
};

/* One range a transaction scanned: [start, end) of table (end NULL: to
 * the table's end, or to where the scan stopped: see txn_scan.stop), the
 * keys it returned and their versions, and the backend revision it read
 * at (etcd; local: 0). */
struct txn_scan {
	char *table;
	uint8_t *start, *end;
	size_t slen, elen;
	size_t n;
	uint8_t **keys;
	size_t *klens;
	uint64_t *versions;
	uint64_t revision;
};

enum { TXN_PUT = 1, TXN_DELETE = 2 };

struct txn_write {
	int op;
	char *table;
	uint8_t *key;
	size_t klen;
	uint8_t *value;
	size_t vlen;
};

struct golite_txn {
	golite_store *s;
	struct txn_read *reads;
	size_t nreads, capreads;
	struct txn_scan *scans;
	size_t nscans, capscans;
	struct txn_write *writes;
	size_t nwrites, capwrites;
	size_t write_bytes;
};

/* What a scan hands the port for each key (store.c records it). */
typedef int (*scan_fn)(void *ctx, const golite_store_item *it);

struct store_backend {
	const char *name;
	void (*close)(golite_store *s);
	int (*table_create)(golite_store *s, const char *table);
	int (*table_drop)(golite_store *s, const char *table, bool force);
	int (*table_list)(golite_store *s, char ***names, size_t *count);
	/* Reads one key: 0 (value malloc'd when value is not NULL) or
	 * GOLITE_ENOTFOUND / GOLITE_ENOTABLE. */
	int (*get)(golite_store *s, const char *table, const void *key, size_t klen,
		   void **value, size_t *vlen, uint64_t *version);
	/* Scans [start, end) of table, at most limit keys (0: all), calling fn;
	 * *more set if keys remain past the last one given; *revision the
	 * revision read at. */
	int (*scan)(golite_store *s, const char *table, const void *start, size_t slen,
		    const void *end, size_t elen, size_t limit, bool keys_only, scan_fn fn,
		    void *ctx, bool *more, uint64_t *revision);
	/* Checks t's reads and applies its writes, or GOLITE_ECONFLICT (or
	 * GOLITE_ENOTABLE: a table written does not exist). */
	int (*commit)(golite_txn *t, uint64_t *revision);
	uint64_t (*version_after)(const golite_store *s, uint64_t revision, const void *value,
				  size_t vlen);
	int (*watch)(golite_store *s, const char *table, uint64_t from,
		     int (*fn)(void *ctx, const golite_store_event *ev), void *ctx,
		     const volatile int *stop);
};

struct golite_store {
	const struct store_backend *b;
	golite_store_options o;
	golite_store_limits limits;
	_Atomic uint64_t gets, scans, commits, conflicts;
	_Atomic uint64_t requests;   /* the backend counts them */
};

/* Backends: open the store named by what follows "local:" / "etcd://". */
int store_local_open(const char *path, const golite_store_options *o, golite_store **out);
int store_etcd_open(const char *rest, const golite_store_options *o, golite_store **out);

#endif
