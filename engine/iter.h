/*
 * iter.h — merged, snapshot-consistent iteration over the store's ikeys.
 *
 * A db_iter merges every source of data (the active memtable, the frozen
 * memtables, the SSTables) into one ascending sequence of ikeys, showing for
 * each the newest version with sequence <= the snapshot and hiding
 * tombstones. It holds references to its sources, so it sees exactly the
 * data of its snapshot however long it lives, and needs no RCU read-side
 * section between calls.
 */
#ifndef GOLITE_ITER_H
#define GOLITE_ITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memtable.h"

struct golite;

/* A source of ikeys in ascending order, each with its version visible at
 * the snapshot (keys with no visible version are skipped by the source). */
struct iter_source_ops {
	void (*seek)(void *s, const uint8_t *ikey, size_t len);
	void (*next)(void *s);
	bool (*valid)(void *s);
	const uint8_t *(*key)(void *s, size_t *len);
	void (*entry)(void *s, struct mt_entry *e);
	int (*status)(void *s);
	void (*free)(void *s);
};

struct iter_source {
	const struct iter_source_ops *ops;
	void *s;
	/* The merge's copy of the source's position, refreshed each time it
	 * moves (valid, key, klen as ops->valid and ops->key answer). */
	bool valid;
	const uint8_t *key;
	size_t klen;
	uint64_t eq_gen;   /* == the merge's gen: positioned at the current key */
};

/* A source over one memtable, which it references. */
struct iter_source iter_source_memtable(struct memtable *m, uint64_t snap);

struct table_file;
struct version;
/* A source over one SSTable (the caller keeps the table alive, e.g. by a
 * version reference, for as long as the source lives). */
struct iter_source iter_source_table(struct table_file *f, uint64_t snap);
/* A source over the tables of one level >= 1; it references v. */
struct iter_source iter_source_level(struct version *v, int level, uint64_t snap);

struct db_iter;

/* Creates an iterator over a snapshot taken now: every write acknowledged
 * before the call and nothing after it; with latest, over everything (only
 * while no writer runs, at open). */
struct db_iter *db_iter_new(struct golite *db, bool latest);
/* Creates an iterator reading at sequence seq over the sources current now:
 * for a seq a live snapshot holds (snapshot.h), or at open. */
struct db_iter *db_iter_new_at(struct golite *db, uint64_t seq);
void db_iter_free(struct db_iter *it);
void db_iter_seek(struct db_iter *it, const uint8_t *ikey, size_t len);
bool db_iter_valid(const struct db_iter *it);
void db_iter_next(struct db_iter *it);
const uint8_t *db_iter_key(const struct db_iter *it, size_t *len);
/* The current version's value and kind (never KIND_DELETE). */
const uint8_t *db_iter_value(const struct db_iter *it, size_t *len);
unsigned db_iter_kind(const struct db_iter *it);
/* True with *p filled if the current value is separated (vlog.h); its
 * bytes are read only when db_iter_value asks for them, which fails the
 * iterator (db_iter_status) if they cannot be read. */
struct vptr;
bool db_iter_vptr(const struct db_iter *it, struct vptr *p);
/* The current entry's expiry (0 if none; entries expired by the
 * iterator's clock are skipped, format.h). */
uint64_t db_iter_expires(const struct db_iter *it);
/* Sets the clock expiry is judged by (db_clock_ms at creation; a
 * snapshot's time for a read at a snapshot). Before the first seek. */
void db_iter_set_clock(struct db_iter *it, uint64_t ms);
int db_iter_status(const struct db_iter *it);

#endif /* GOLITE_ITER_H */
