/*
 * sstable_int.h — the insides of an open table, shared by sstable.c (the
 * reader), sstable_build.c (the builder), sstable_iter.c (the iterator) and
 * sstable_tool.c (verify and dump). Other modules use sstable.h. The
 * invariants of a table and a reader are stated at the top of sstable.c.
 */
#ifndef GOLITE_SSTABLE_INT_H
#define GOLITE_SSTABLE_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <urcu.h>

#include "block.h"
#include "bloom.h"
#include "cache.h"
#include "format.h"
#include "sstable.h"
#include "util.h"

struct ix_entry {
	uint64_t off;         /* of the block's payload */
	uint32_t size;        /* payload bytes, trailer excluded */
	uint32_t klen;        /* of the separator, r->ix_key[i] */
	/* The block's shape (block.h) once its checksum and layout were
	 * checked (invariant 3), else 0: for a mapped table, the "verified"
	 * flag. Beside off and size, so a lookup reads one line for all. */
	_Atomic uint64_t shape;
	block_cache_slot slot;  /* the block in the cache (pread path) */
} __attribute__((aligned(32)));

_Static_assert(sizeof(struct ix_entry) == 32, "two index entries per cache line");

struct sst_reader {
	_Atomic long refs;
	_Atomic bool obsolete;
	struct rcu_head rcu;
	char *path;
	uint64_t file_no;
	int fd;
	uint64_t file_size;
	const uint8_t *map;            /* the whole file, or NULL (pread path) */
	struct block_cache *cache;

	uint32_t nblocks;
	struct ix_entry *ix;
	const uint8_t **ix_key;        /* separators, in ix_buf */
	uint64_t *ix_pfx;              /* 8 ikey bytes after the common prefix, BE */
	uint8_t *ix_buf;               /* index payload */
	const uint8_t *common;         /* ikey prefix shared by every separator */
	size_t common_len;

	bool has_filter;
	struct bloom bloom;
	uint8_t *filter_buf;           /* 64-byte aligned */

	struct sst_props props;        /* keys in props_buf */
	uint8_t *props_buf;

	struct sst_footer foot;
};

struct sst_iter {
	struct sst_reader *r;
	int status;
	bool valid;
	bool fill_cache;
	bool have_prev;             /* prev holds the entry before the current */
	uint32_t bi;                /* current block, or nblocks */
	struct block_view v;
	struct block_cursor c;      /* the current entry */
	uint8_t *keybuf;            /* SKEY_MAX, for the cursor */
	uint8_t *prev;              /* SKEY_MAX */
	size_t plen;
	uint8_t *own;               /* the block's copy (pread path) */
	size_t own_cap;
	/* Readahead of a mapped table (see sstable_iter.c): blocks
	 * [ra_lo, ra_hi) are at ra, read through ra_fd. */
	uint8_t *ra;
	size_t ra_cap, ra_win;
	uint32_t ra_lo, ra_hi;
	int ra_fd;                  /* -1 until the first window */
	bool ra_nofd;               /* the file could not be opened: read the map */
};

/* Records a corruption of path at byte off (set_error) and returns
 * GOLITE_ECORRUPT. */
__attribute__((format(printf, 3, 4))) int sst_corrupt(const char *path, uint64_t off,
						      const char *fmt, ...);

/* Records the failure of a system call on path (what: "read", "write"...;
 * rc: a negative errno) and returns its GOLITE_E* code. */
int sst_io_fail(const char *path, const char *what, int rc);

/* Grows *buf (of *cap bytes) to hold need bytes, doubling. */
static inline void sst_grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 256;
	while (c < need)
		c *= 2;
	*buf = xrealloc(*buf, c);
	*cap = c;
}

/* The first data block whose index separator is >= the skey (ikey,
 * trailer), or nblocks. */
uint32_t sst_index_search(const struct sst_reader *r, const uint8_t *ikey, size_t iklen,
			  uint64_t trailer);

/* Checks data block bi of a mapped table, reading it at p (the mapping,
 * or a copy of the same bytes), and records its shape (invariant 3). */
int sst_verify_mapped_at(struct sst_reader *r, uint32_t bi, const uint8_t *p);

/* Reads data block bi with pread, checks it and decompresses it into a
 * detached cache entry (invariant 3). */
int sst_read_block(struct sst_reader *r, uint32_t bi, struct cache_entry **out);

/* Frees a reader whose last reference is gone, at once (no grace period). */
void sst_reader_destroy(struct sst_reader *r);

#endif /* GOLITE_SSTABLE_INT_H */
