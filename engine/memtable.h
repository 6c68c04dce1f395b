/*
 * memtable.h — the in-memory ordered table that takes every write first
 * (the seeds' MemTableStorage).
 *
 * Two implementations sit behind one ops table:
 *   memtable_lockfree_ops  a lock-free skip list (CAS inserts) with a
 *                          lock-free hash index (liburcu cds_lfht) for point
 *                          reads; the default.
 *   memtable_locked_ops    the same structures behind one reader-writer
 *                          lock: simple enough to trust, used as the test
 *                          oracle and as the benchmark baseline.
 *
 * A memtable holds, for each ikey, a chain of versions (newest first). It
 * never removes anything: a delete is a KIND_DELETE version. All memory
 * comes from an arena and is freed at once when the memtable is destroyed.
 *
 * Invariants:
 *   1. Versions of one ikey are ordered by strictly decreasing sequence.
 *   2. A version, once reachable, never changes.
 *   3. The memtable is destroyed only when its reference count reaches
 *      zero, and only after an RCU grace period following its removal from
 *      the store's lists, so a reader inside rcu_read_lock() that found it
 *      there may keep using it until rcu_read_unlock().
 *
 * Concurrency: add() may be called by any number of threads at once;
 * get() and iterators may run concurrently with add(). get() must be
 * called inside an RCU read-side section (the lock-free index requires it).
 */
#ifndef GOLITE_MEMTABLE_H
#define GOLITE_MEMTABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* One version of a key, as readers see it. */
struct mt_entry {
	uint64_t seq;
	unsigned kind;       /* enum entry_kind */
	const void *value;   /* valid while the memtable lives */
	size_t vlen;
};

struct memtable;
struct mt_iter;

struct memtable_ops {
	const char *name;
	/* Creates an empty memtable; size_hint is the expected arena size. */
	struct memtable *(*create)(size_t size_hint);
	/* Frees everything. Only via memtable_unref(). */
	void (*destroy)(struct memtable *m);
	/* Adds a version of ikey. hash is hash64(ikey). Copies key and value. */
	void (*add)(struct memtable *m, const void *ikey, size_t iklen, uint64_t hash,
		    uint64_t seq, unsigned kind, const void *value, size_t vlen);
	/* Finds the newest version of ikey with seq <= snap. Inside an RCU
	 * read-side section. */
	bool (*get)(struct memtable *m, const void *ikey, size_t iklen, uint64_t hash,
		    uint64_t snap, struct mt_entry *out);
	/* Bytes of memory held (arena and index). */
	size_t (*memory)(struct memtable *m);

	/* Iterators walk distinct ikeys in ascending order. The memtable must
	 * stay referenced while an iterator is in use. A seek shows every key
	 * whose first write returned before the seek began. */
	struct mt_iter *(*iter_new)(struct memtable *m);
	void (*iter_free)(struct mt_iter *it);
	void (*iter_seek_first)(struct mt_iter *it);
	/* Positions at the first ikey >= ikey. */
	void (*iter_seek)(struct mt_iter *it, const void *ikey, size_t iklen);
	bool (*iter_valid)(const struct mt_iter *it);
	void (*iter_next)(struct mt_iter *it);
	const void *(*iter_key)(const struct mt_iter *it, size_t *iklen);
	/* The newest version of the current key with seq <= snap. */
	bool (*iter_version)(const struct mt_iter *it, uint64_t snap, struct mt_entry *out);
	/* Calls fn for every version of the current key, newest first, and
	 * stops early if fn returns false. */
	void (*iter_versions)(const struct mt_iter *it,
			      bool (*fn)(void *ctx, const struct mt_entry *e), void *ctx);
};

extern const struct memtable_ops memtable_lockfree_ops;
extern const struct memtable_ops memtable_locked_ops;

/* Fields every implementation embeds first. */
struct memtable {
	const struct memtable_ops *ops;
	_Atomic int refs;              /* see invariant 3 */
	_Atomic uint64_t entries;      /* versions added */
	uint64_t wal_segno;            /* first WAL segment holding its writes */
	uint64_t switch_seq;           /* last sequence it may hold, set when frozen */
	_Atomic int full;              /* a flush was requested for it */
	_Atomic size_t max_vlen;       /* about its largest value (a racing
					* add may lower it): a flush looks for
					* separable values only if it is large
					* (vlog.h) */
	_Atomic uint64_t shadowed;     /* bytes of entries a batch overwrote at
					* once and that were not inserted
					* (db_add_batch): counted toward its
					* size, so that it is frozen, and the
					* log it covers retired, after as much
					* log as if they were there */
	struct memtable *next;         /* in the store's immutable list; see db.h */
	/* A Bloom filter over hash64() of every ikey added, blocked by
	 * 64-bit words: a key's MT_FILTER_PROBES bits all fall in one word,
	 * so adding costs one atomic OR and a query one load. A point read of
	 * a key the memtable never saw skips its index, which costs several
	 * cache misses, for that one word, fetched early. */
	_Atomic uint64_t *filter;
	uint32_t filter_words;
};

#define MT_FILTER_BITS_PER_KEY 10u
#define MT_FILTER_PROBES 6u
#define MT_FILTER_BYTES_PER_KEY 128u  /* of arena, for sizing from size_hint */

static inline void memtable_init_common(struct memtable *m, const struct memtable_ops *ops,
					size_t size_hint)
{
	m->ops = ops;
	atomic_init(&m->refs, 1);
	atomic_init(&m->entries, 0);
	m->wal_segno = 0;
	m->switch_seq = 0;
	atomic_init(&m->full, 0);
	atomic_init(&m->max_vlen, 0);
	atomic_init(&m->shadowed, 0);
	m->next = NULL;
	uint64_t keys = size_hint / MT_FILTER_BYTES_PER_KEY;
	uint64_t words = (keys * MT_FILTER_BITS_PER_KEY + 63) / 64;
	if (words < 8)
		words = 8;
	if (words > (1u << 25))
		words = 1u << 25;
	size_t bytes = (size_t)((words + 7) / 8) * 64;  /* whole lines */
	m->filter_words = (uint32_t)words;
	m->filter = aligned_alloc(64, bytes);
	if (!m->filter)
		FATAL("out of memory allocating a memtable filter of %zu bytes", bytes);
	memset((void *)m->filter, 0, bytes);
}

static inline void memtable_fini_common(struct memtable *m)
{
	free((void *)m->filter);
	m->filter = NULL;
}

/* The filter word of a hash (upper 32 bits) and its bits (lower 32). */
static inline _Atomic uint64_t *memtable_filter_word(const struct memtable *m, uint64_t hash)
{
	return m->filter + (((hash >> 32) * (uint64_t)m->filter_words) >> 32);
}

static inline uint64_t memtable_filter_mask(uint64_t hash)
{
	uint32_t h = (uint32_t)hash;
	uint64_t mask = 0;
	for (uint32_t i = 0; i < MT_FILTER_PROBES; i++) {
		h *= 0x9e3779b9u;
		mask |= UINT64_C(1) << (h >> 26);
	}
	return mask;
}

/* Starts loading the filter word a lookup of hash reads. */
static inline void memtable_prefetch(const struct memtable *m, uint64_t hash)
{
	__builtin_prefetch((const void *)memtable_filter_word(m, hash));
}

/* False: no version of the key was ever added. A key's bits are set after
 * its version is reachable (release), so a reader that sees them sees it. */
static inline bool memtable_may_contain(const struct memtable *m, uint64_t hash)
{
	uint64_t mask = memtable_filter_mask(hash);
	return (atomic_load_explicit(memtable_filter_word(m, hash), memory_order_acquire) & mask) ==
	       mask;
}

static inline void memtable_ref(struct memtable *m)
{
	atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

/* Drops a reference; the last one destroys the memtable. Callers that
 * unlinked it from a list readers can reach must wait for an RCU grace
 * period first (call_rcu), see invariant 3. */
static inline void memtable_unref(struct memtable *m)
{
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
		m->ops->destroy(m);
}

/* Records that a version of the key with this hash was added and is
 * reachable: counts it and sets its filter bits. */
static inline void memtable_note_add(struct memtable *m, uint64_t hash)
{
	_Atomic uint64_t *w = memtable_filter_word(m, hash);
	uint64_t mask = memtable_filter_mask(hash);
	if ((atomic_load_explicit(w, memory_order_relaxed) & mask) != mask)
		atomic_fetch_or_explicit(w, mask, memory_order_release);
	atomic_fetch_add_explicit(&m->entries, 1, memory_order_relaxed);
}

/*
 * Arena block size for a memtable of size_hint bytes: small enough that
 * the arena's size (what memory() reports) tracks what was written to
 * within a sixteenth, large enough to be cheap; 4 MiB blocks from a 64 MiB
 * memtable up are backed by huge pages.
 */
static inline size_t memtable_block_size(size_t size_hint)
{
	size_t b = size_hint / 16;
	if (b < 4096)
		b = 4096;
	if (b > (4u << 20))
		b = 4u << 20;
	return b;
}

/* Version chains shared by both implementations: newest first. */
struct mt_version {
	struct mt_version *_Atomic next;   /* older version */
	uint64_t seq_kind;                 /* seq << 8 | kind */
	uint32_t vlen;
	unsigned char value[];
};

#endif /* GOLITE_MEMTABLE_H */
