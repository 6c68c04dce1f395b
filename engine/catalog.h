/*
 * catalog.h — table names and their ids.
 *
 * Tables live in the store's own table 0 (TABLE_ID_CATALOG), written through
 * the same log and memtable as user data, so creating, dropping and renaming
 * a table are ordinary atomic batches:
 *
 *     key "t" + name   value: table id, LE32       one per live table
 *     key "n"          value: next table id, LE32  ids are never reused
 *
 * A table id that is below "n" and named by no "t" key belongs to a dropped
 * table: its keys are invisible and compaction reclaims them.
 *
 * In memory the catalog is an immutable snapshot published with RCU:
 * lookups (every read and write resolves its table name) take no lock; a
 * change builds a new snapshot and frees the old after a grace period.
 */
#ifndef GOLITE_CATALOG_H
#define GOLITE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rcu.h"

#define CATALOG_KEY_TABLE 't'
#define CATALOG_KEY_NEXT 'n'

struct catalog_entry {
	char *name;
	uint32_t len;
	uint32_t id;
	uint64_t hash;
};

/* A table dropped since the store was opened, and the sequence of the
 * drop: its keys may be discarded only by a flush or compaction whose data
 * includes that sequence (so a crash cannot bring the table back without
 * its keys). Tables dropped before the store was opened have no entry. */
struct catalog_drop {
	uint32_t id;
	uint64_t seq;
};

struct catalog {
	size_t count;
	struct catalog_entry *entries;   /* sorted by name */
	struct catalog_drop *drops;
	size_t ndrops;
	uint32_t *slots;                 /* open addressing: index + 1, 0 empty */
	size_t nslots;
	uint32_t next_id;
	struct rcu_head rcu;
};

/* Builds a snapshot from (name, id) pairs (copied; any order). */
struct catalog *catalog_build(const struct catalog_entry *entries, size_t count,
			      uint32_t next_id);

/* Returns a copy with one table added, removed (id 0 = remove) or renamed. */
struct catalog *catalog_with(const struct catalog *c, const char *remove_name,
			     const char *add_name, uint32_t add_id, uint32_t next_id);

/* Returns a copy that also records the drop of table id at seq. */
struct catalog *catalog_with_drop(const struct catalog *c, uint32_t id, uint64_t seq);

/*
 * True if table id was dropped and its keys may be discarded by work whose
 * data holds every sequence up to upto_seq. The store's own tables (ids
 * below TABLE_ID_FIRST_USER) are never dropped.
 */
bool catalog_id_discardable(const struct catalog *c, uint32_t id, uint64_t upto_seq);

/* Looks name up. Lock-free; inside an RCU read-side section. */
bool catalog_lookup(const struct catalog *c, const char *name, size_t len, uint32_t *id);

/* Frees a snapshot now, or after a grace period. */
void catalog_free(struct catalog *c);
void catalog_free_deferred(struct catalog *c);

/* Checks the form of a table name (golite.h rules). Returns 0 or GOLITE_ENAME
 * with a message; *len receives strlen(name). */
int catalog_check_name(const char *name, size_t *len);

#endif /* GOLITE_CATALOG_H */
