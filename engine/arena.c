/*
 * arena.c — lock-free bump allocator. See arena.h.
 *
 * Allocation takes fetch_add on the current block's offset. A thread whose
 * reservation runs past the end allocates a new block and tries to install
 * it with compare-and-swap. Requests larger
 * than a quarter of a block get a block of their own, so the waste at the
 * end of a block stays under a quarter. A thread that loses the race to
 * install a new block frees its own (nobody has seen it) and retries.
 *
 * Recycled blocks. A mapped block that is freed waits in a pool of the
 * process (up to POOL_MAX bytes, one default memtable) for the next arena
 * that needs a block of its size, its pages advised MADV_FREE: the kernel
 * may take them back under memory pressure, and until it does, the next
 * memtable writes into pages already there. Without the pool every 2 MiB
 * of a new memtable was a page fault that zeroed a huge page in the
 * writing thread: 9% of a RESP server's time under pipelined SETs. The
 * cost: up to POOL_MAX more RSS after a memtable is freed (golite-bench
 * readrandom after the fills, 1M keys: 314 MB against 273 MB).
 */
#include "arena.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "util.h"

struct arena_block {
	struct arena_block *next;   /* in arena.blocks */
	_Atomic size_t used;
	size_t cap;
	_Alignas(16) unsigned char data[];
};

#define HUGE_PAGE (2u << 20)

/* Whether a block of cap bytes is a mapping of its own (see block_new). */
static inline bool block_mapped(size_t cap)
{
	return cap >= HUGE_PAGE - sizeof(struct arena_block);
}

#define POOL_MAX ((size_t)64 << 20)
#define POOL_SLOTS (POOL_MAX / HUGE_PAGE)

/* The pool's record of its blocks is kept here, not in the blocks, whose
 * pages the kernel may have taken back (they read as zeroes then). */
static struct {
	pthread_mutex_t mu;
	struct { void *p; size_t size; } slot[POOL_SLOTS];
	size_t n, bytes;
} pool = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* A pooled mapping of exactly size bytes, or NULL. */
static void *pool_take(size_t size)
{
	void *p = NULL;
	mutex_lock(&pool.mu);
	for (size_t i = 0; i < pool.n; i++) {
		if (pool.slot[i].size == size) {
			p = pool.slot[i].p;
			pool.slot[i] = pool.slot[--pool.n];
			pool.bytes -= size;
			break;
		}
	}
	mutex_unlock(&pool.mu);
	return p;
}

/* Keeps a mapping for reuse; false if the pool is full. */
static bool pool_give(void *p, size_t size)
{
	/* Outside the lock: a writer taking a block must not wait for it. */
	madvise(p, size, MADV_FREE);
	mutex_lock(&pool.mu);
	bool kept = pool.n < POOL_SLOTS && pool.bytes + size <= POOL_MAX;
	if (kept) {
		pool.slot[pool.n].p = p;
		pool.slot[pool.n].size = size;
		pool.n++;
		pool.bytes += size;
	}
	mutex_unlock(&pool.mu);
	return kept;
}

/*
 * Blocks of 2 MiB and more are mapped on their own, aligned to and advised
 * for transparent huge pages: a memtable is read at random, and one TLB
 * entry per 2 MiB instead of per 4 KiB removes most of the page walks of a
 * point read. Being mappings, they go back to the system when a flushed
 * memtable is freed (beyond what the pool keeps, advised MADV_FREE); from
 * malloc they would stay in its heap (its mmap threshold rises to the
 * size of the blocks freed) until a trim.
 */
static struct arena_block *block_new(size_t cap)
{
	struct arena_block *b;
	if (block_mapped(cap)) {
		size_t size = (sizeof(*b) + cap + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
		cap = size - sizeof(*b);
		b = pool_take(size);
		if (b)
			goto init;
		/* Map a huge page more than needed, then cut the ends so that
		 * the block starts on a huge page boundary. */
		uint8_t *m = mmap(NULL, size + HUGE_PAGE, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			FATAL("out of memory mapping an arena block of %zu bytes", size);
		uint8_t *start = (uint8_t *)(((uintptr_t)m + HUGE_PAGE - 1) &
					     ~(uintptr_t)(HUGE_PAGE - 1));
		size_t head = (size_t)(start - m);  /* < HUGE_PAGE, so the tail is not empty */
		if (head)
			munmap(m, head);
		munmap(start + size, HUGE_PAGE - head);
		b = (struct arena_block *)start;
		madvise(b, size, MADV_HUGEPAGE);
	} else {
		b = xmalloc(sizeof(*b) + cap);
	}
init:
	atomic_init(&b->used, 0);
	b->cap = cap;
	b->next = NULL;
	return b;
}

static void block_free(struct arena_block *b)
{
	if (!block_mapped(b->cap))
		free(b);
	else if (!pool_give(b, sizeof(*b) + b->cap))
		munmap(b, sizeof(*b) + b->cap);
}

/* Makes b owned by the arena (freed by arena_destroy, counted in memory). */
static void block_adopt(struct arena *a, struct arena_block *b)
{
	atomic_fetch_add_explicit(&a->memory, sizeof(*b) + b->cap, memory_order_relaxed);
	struct arena_block *head = atomic_load_explicit(&a->blocks, memory_order_relaxed);
	do
		b->next = head;
	while (!atomic_compare_exchange_weak_explicit(&a->blocks, &head, b, memory_order_release,
						      memory_order_relaxed));
}

void arena_init(struct arena *a, size_t block_size)
{
	if (block_size < 4096)
		block_size = 4096;
	/* Round huge blocks so that header and data fill whole huge pages. */
	if (block_size >= HUGE_PAGE)
		block_size = ((block_size + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1)) -
			     sizeof(struct arena_block);
	a->block_size = block_size;
	atomic_init(&a->memory, 0);
	atomic_init(&a->blocks, NULL);
	atomic_init(&a->cur, NULL);
	struct arena_block *b = block_new(block_size);
	block_adopt(a, b);
	atomic_store(&a->cur, b);
}

void arena_destroy(struct arena *a)
{
	struct arena_block *b = atomic_load(&a->blocks);
	while (b) {
		struct arena_block *next = b->next;
		block_free(b);
		b = next;
	}
	atomic_store(&a->blocks, NULL);
	atomic_store(&a->cur, NULL);
}

void *arena_alloc(struct arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;
	if (unlikely(n > a->block_size / 4)) {
		struct arena_block *b = block_new(n);
		atomic_store_explicit(&b->used, n, memory_order_relaxed);
		block_adopt(a, b);
		return b->data;
	}
	for (;;) {
		struct arena_block *b = atomic_load_explicit(&a->cur, memory_order_acquire);
		size_t off = atomic_fetch_add_explicit(&b->used, n, memory_order_relaxed);
		if (likely(off + n <= b->cap))
			return b->data + off;
		/* Full: install a fresh block unless someone already did. */
		struct arena_block *nb = block_new(a->block_size);
		atomic_store_explicit(&nb->used, n, memory_order_relaxed);
		struct arena_block *expected = b;
		if (atomic_compare_exchange_strong_explicit(&a->cur, &expected, nb,
							    memory_order_acq_rel,
							    memory_order_acquire)) {
			block_adopt(a, nb);
			return nb->data;
		}
		/* Another thread installed a block first: use theirs. */
		block_free(nb);
	}
}
