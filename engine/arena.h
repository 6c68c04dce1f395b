/*
 * arena.h — lock-free bump allocator for memtable memory.
 *
 * A memtable never frees single entries: everything it allocates lives
 * until the whole memtable is destroyed. The arena hands out memory from
 * large blocks with one atomic fetch-and-add; any number of threads may
 * allocate at once without locks.
 *
 * Invariants:
 *   1. Memory returned by arena_alloc() is 8-byte aligned (16 with
 *      arena_alloc_aligned), zero-initialised only if the caller zeroes it,
 *      and stays valid until arena_destroy().
 *   2. arena_memory() never decreases, and counts every byte obtained from
 *      malloc or mmap for blocks (so it bounds the arena's RSS).
 *   3. Blocks of 2 MiB and more freed by arena_destroy() wait in a pool of
 *      the process (at most 64 MiB, advised MADV_FREE) for the next
 *      arena: their old bytes are still there, hence invariant 1's "only
 *      if the caller zeroes it".
 */
#ifndef GOLITE_ARENA_H
#define GOLITE_ARENA_H

#include <stdatomic.h>
#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *_Atomic cur;    /* block being carved */
	struct arena_block *_Atomic blocks; /* every block, for arena_destroy */
	_Atomic size_t memory;              /* bytes obtained from malloc */
	size_t block_size;
};

/* Initialises an arena whose blocks are block_size bytes (>= 4096). */
void arena_init(struct arena *a, size_t block_size);

/* Frees every block. No thread may use memory from the arena afterwards. */
void arena_destroy(struct arena *a);

/* Returns n bytes, 8-byte aligned. Thread-safe and lock-free. */
void *arena_alloc(struct arena *a, size_t n);

/* Bytes obtained from malloc so far. */
static inline size_t arena_memory(struct arena *a)
{
	return atomic_load_explicit(&a->memory, memory_order_relaxed);
}

#endif /* GOLITE_ARENA_H */
