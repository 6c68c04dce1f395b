/*
 * cache.h — the block cache: decoded (checked, decompressed) SSTable blocks
 * kept in memory, shared by every table of a store.
 *
 * Blocks are keyed by (table id, block offset). The table id is not the
 * file number but a number block_cache_new_id() hands out to each open
 * table, never reused in the process, so a table reopened after its file was
 * replaced can never see a stale block.
 *
 * Concurrency:
 *   - Lookups are lock-free (a liburcu cds_lfht) and must run inside an RCU
 *     read-side section; the returned bytes stay valid until that section
 *     ends, even if the block is evicted meanwhile.
 *   - Inserts take a short mutex (the CLOCK ring) and also run inside an RCU
 *     read-side section.
 *   - Evicted blocks are freed with call_rcu() after a grace period.
 *
 * Invariants:
 *   1. block_cache_used() <= capacity at all times (a block that alone is
 *      larger than the capacity is never cached).
 *   2. An entry is on the CLOCK ring iff it is in the hash table or its
 *      slot points to it; these change together under the mutex.
 *   3. Entry memory is freed only after an RCU grace period following its
 *      removal from the hash table.
 */
#ifndef GOLITE_CACHE_H
#define GOLITE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct block_cache;
struct cache_entry;

/* Creates a cache holding at most capacity_bytes (0 caches nothing).
 * The calling thread must be registered with RCU. */
struct block_cache *block_cache_new(size_t capacity_bytes);

/* Frees the cache and every block in it. No other thread may use the cache
 * any more, and the caller must not be inside an RCU read-side section.
 * NULL is accepted. */
void block_cache_free(struct block_cache *c);

/* A fresh table id for cache keys; unique within the process. */
uint64_t block_cache_new_id(void);

/* Bytes charged to cached blocks (payload plus bookkeeping). */
size_t block_cache_used(const struct block_cache *c);
size_t block_cache_capacity(const struct block_cache *c);
/* Number of cached blocks. */
size_t block_cache_count(const struct block_cache *c);
uint64_t block_cache_hits(const struct block_cache *c);
uint64_t block_cache_misses(const struct block_cache *c);

/*
 * Looks up block (id, off). Requires an RCU read-side section. Returns a
 * pointer to the block's bytes (and *len) valid until the section ends, or
 * NULL on a miss. c may be NULL (always a miss, not counted).
 */
const void *block_cache_lookup(struct block_cache *c, uint64_t id, uint64_t off, size_t *len);

/*
 * A detached entry with room for len bytes, to fill before inserting it.
 * Free it with block_cache_entry_discard() if it is never inserted.
 */
struct cache_entry *block_cache_entry_new(size_t len);
void *block_cache_entry_data(struct cache_entry *e);
size_t block_cache_entry_len(const struct cache_entry *e);
/* Shrinks the recorded length (the bytes actually filled) to len. */
void block_cache_entry_set_len(struct cache_entry *e, size_t len);
void block_cache_entry_discard(struct cache_entry *e);

/*
 * Inserts e as block (id, off); the cache takes ownership of e. Requires an
 * RCU read-side section. Returns the bytes now cached under that key (e's,
 * or those of an entry another thread inserted first, in which case e is
 * freed), with *len, valid until the read-side section ends. If the block
 * cannot be cached (c is NULL, or it is larger than the whole capacity), e
 * is returned anyway and freed after a grace period.
 */
const void *block_cache_insert(struct block_cache *c, uint64_t id, uint64_t off,
			       struct cache_entry *e, size_t *len);

/*
 * Checks the invariants (1 and 2, and that the counts match the ring) under
 * the mutex, for tests and assert(): false if one is broken. Requires a
 * registered thread.
 */
bool block_cache_check(struct block_cache *c);

/* Drops every block of table id. Takes the mutex and walks the whole
 * cache. Requires a registered thread. */
void block_cache_erase_id(struct block_cache *c, uint64_t id);

/*
 * Direct slots. A user that names its blocks by a dense index (an open
 * table: one slot per data block) may keep one atomic pointer per block,
 * which the cache maintains: set when the block is inserted through the
 * slot, cleared when it is evicted. A hit then costs one load instead of
 * a hash lookup. Blocks inserted this way are not in the hash table.
 * Slots start NULL; before freeing them, the user detaches them.
 */
typedef struct cache_entry *_Atomic block_cache_slot;

/* Like block_cache_lookup, through a slot. Requires an RCU read-side
 * section. */
const void *block_cache_slot_lookup(struct block_cache *c, block_cache_slot *slot, size_t *len);

/* Like block_cache_insert, through a slot. Requires an RCU read-side
 * section. If the slot is already filled, e is freed and the cached bytes
 * are returned. */
const void *block_cache_slot_insert(struct block_cache *c, block_cache_slot *slot,
				    struct cache_entry *e, size_t *len);

/* Evicts the blocks of n slots, stride bytes apart from first, and clears
 * the slots (when their owner closes). Requires a registered thread. */
void block_cache_detach(struct block_cache *c, block_cache_slot *first, size_t n, size_t stride);

#endif /* GOLITE_CACHE_H */
