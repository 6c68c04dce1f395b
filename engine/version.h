/*
 * version.h — a version: the set of live SSTables, by level.
 *
 * Level 0 holds flushed memtables, possibly overlapping, newest first.
 * Levels 1.. hold non-overlapping tables sorted by key; each level is about
 * ten times the size of the one above. The store's current version is
 * published with RCU (db.h); readers use it inside a read-side section
 * without a reference, iterators take a reference.
 *
 * Invariants:
 *   1. A version never changes once published. A change builds a new one.
 *   2. A version holds a reference on each of its tables; a table removed
 *      by a compaction is marked obsolete and its file is unlinked when the
 *      last version (and iterator) holding it lets go.
 *   3. The store drops its reference on a replaced version only after an
 *      RCU grace period, so readers without a reference stay safe.
 */
#ifndef GOLITE_VERSION_H
#define GOLITE_VERSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "format.h"
#include "manifest.h"
#include "memtable.h"
#include "rcu.h"
#include "sstable.h"

struct table_file {
	_Atomic int refs;              /* versions holding it */
	uint32_t level;
	struct sst_meta meta;
	struct sst_reader *reader;
	bool compacting;               /* protected by the store's version lock */
	_Atomic uint64_t reclaim_dead; /* entries deletes may have killed, or a
					* reclaim pass found dead (reclaim.c) */
};

struct version {
	_Atomic int refs;
	struct rcu_head rcu;
	size_t n[NUM_LEVELS];
	struct table_file **files[NUM_LEVELS];
	uint64_t bytes[NUM_LEVELS];
	uint64_t entries;
};

struct version *version_new_empty(void);
void version_ref(struct version *v);
void version_unref(struct version *v);
/* Drops the reference after a grace period (invariant 3). */
void version_unref_deferred(struct version *v);

void table_file_ref(struct table_file *f);
void table_file_unref(struct table_file *f);

/*
 * Builds a version from base: removes the tables in del (by pointer), adds
 * the tables in add (their level field says where; the version takes a
 * reference on each). Sorts the levels.
 */
struct version *version_apply(const struct version *base, struct table_file **del, size_t ndel,
			      struct table_file **add, size_t nadd);

/*
 * Point lookup of ikey (hash = hash64(ikey)) in the tables: the newest
 * entry with sequence <= snap (SEQ_MAX: the newest). A table holds the
 * versions of a key together (compaction never cuts a table between
 * them), so the first table holding one visible at snap holds the newest
 * one. Inside an RCU read-side section; the value stays valid until it
 * ends. Returns 1 found (*e filled, maybe a tombstone), 0 absent, or an
 * error.
 */
int version_get(struct version *v, const uint8_t *ikey, size_t iklen, uint64_t hash,
		uint64_t snap, struct mt_entry *e);

/*
 * Starts fetching the filter line of every table version_get() would
 * consult for ikey, so that their cache misses overlap each other and the
 * memtable lookups made meanwhile. Inside an RCU read-side section.
 */
void version_prefetch(const struct version *v, const uint8_t *ikey, size_t iklen, uint64_t hash);

/* Compares an ikey with the ikey part of an SSTable key. */
static inline int ikey_skey_cmp(const uint8_t *ikey, size_t iklen, const uint8_t *skey,
				size_t sklen)
{
	return ikey_cmp(ikey, iklen, skey, sklen - TRAILER_SIZE);
}

/* The index of the first table of level l (>= 1) whose largest key is >=
 * ikey; v->n[l] if none. */
size_t version_find_file(const struct version *v, int l, const uint8_t *ikey, size_t iklen);

/* True if some table in levels > level overlaps [lo, hi] (ikeys). */
bool version_overlaps_below(const struct version *v, int level, const uint8_t *lo, size_t lolen,
			    const uint8_t *hi, size_t hilen);

#endif /* GOLITE_VERSION_H */
