/*
 * sstable_iter.c — ordered scans of a table: the sst_iter of sstable.h.
 * A scan reads a table differently from a lookup (sstable.c), hence a file
 * of its own:
 *
 * A scan of a mapped table does not read the mapping. Touching a new page
 * of a large user mapping costs a TLB miss, and the first touch in a
 * process a fault; measured over a 10M-key store, the first load of each
 * mapped block took about a third of a scan. So blocks reached by next()
 * are read with pread, a window of whole consecutive blocks at a time
 * (16 KiB, doubling to 128 KiB, the kernel's own readahead pattern), into
 * the iterator's buffer: the copy comes from the kernel's mapping of the
 * page cache, and every decode after it hits a buffer that stays in cache.
 * A seek reads its one block in place through the mapping, as a get does.
 *
 * The descriptor is opened by the iterator on its first window (a mapped
 * reader keeps none) and closed with it; the reader's reference keeps the
 * file from being unlinked meanwhile. It is marked POSIX_FADV_RANDOM, so
 * that a table not in the page cache is read in exactly these windows and
 * cached in small pages. If it cannot be opened the iterator reads the
 * mapping.
 *
 * Invariants:
 *   1. Stepping (sst_iter_next) yields an entry only if it comes after the
 *      one before it and within its block's index separators (sstable.c
 *      invariant 2); a break in the order ends the scan with
 *      GOLITE_ECORRUPT.
 *   2. A block is decoded only once sstable.c invariant 3 holds for it.
 *   3. it->ra holds the file's bytes of blocks [ra_lo, ra_hi), as one
 *      pread read them.
 *   4. Once status is set the iterator stays invalid.
 */
#include "sstable.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <urcu.h>

#include "block.h"
#include "cache.h"
#include "format.h"
#include "io.h"
#include "sstable_int.h"
#include "util.h"

#define RA_MIN (16u << 10)
#define RA_MAX (128u << 10)

struct sst_iter *sst_iter_new(struct sst_reader *r)
{
	struct sst_iter *it = xcalloc(1, sizeof(*it));
	sst_ref(r);
	it->r = r;
	it->fill_cache = true;
	it->keybuf = xmalloc(SKEY_MAX);
	it->prev = xmalloc(SKEY_MAX);
	it->bi = r->nblocks;
	it->ra_fd = -1;
	return it;
}

void sst_iter_set_fill_cache(struct sst_iter *it, bool fill)
{
	it->fill_cache = fill;
}

void sst_iter_free(struct sst_iter *it)
{
	if (!it)
		return;
	sst_unref(it->r);
	if (it->ra_fd >= 0)
		io_close(it->ra_fd);
	free(it->own);
	free(it->ra);
	free(it->keybuf);
	free(it->prev);
	free(it);
}

static void iter_fail(struct sst_iter *it, int err)
{
	it->status = err;
	it->valid = false;
}

/* Copies a decoded block into the iterator's own buffer. */
static void own_copy(struct sst_iter *it, const uint8_t *d, size_t len)
{
	sst_grow(&it->own, &it->own_cap, len);
	memcpy(it->own, d, len);
	block_view_trusted(&it->v, it->own, len);
}

/*
 * Reads a window of mapped blocks from bi on into it->ra: whole blocks, at
 * least one, up to it->ra_win bytes. Returns 1 if the iterator has no
 * descriptor and must read the mapping.
 */
static int iter_readahead(struct sst_iter *it, uint32_t bi)
{
	struct sst_reader *r = it->r;
	if (it->ra_fd < 0) {
		if (it->ra_nofd)
			return 1;
		it->ra_fd = io_open(r->path, O_RDONLY, 0);
		if (it->ra_fd < 0) {
			it->ra_nofd = true;
			return 1;
		}
		/* The windows are the readahead: the kernel reads what is
		 * asked and no more, and caches what it reads from disk in
		 * pages of the smallest size, as sst_builder_finish wants for
		 * the gets that follow. Advisory. */
		(void)posix_fadvise(it->ra_fd, 0, 0, POSIX_FADV_RANDOM);
		it->ra_win = RA_MIN;
	}
	/* Blocks are consecutive in the file: the window ends where its last
	 * block's trailer does. */
	uint64_t start = r->ix[bi].off;
	uint64_t end = start + r->ix[bi].size + SST_BLOCK_TRAILER;
	uint32_t hi = bi + 1;
	for (; hi < r->nblocks; hi++) {
		uint64_t e = r->ix[hi].off + r->ix[hi].size + SST_BLOCK_TRAILER;
		if (e - start > it->ra_win)
			break;
		end = e;
	}
	size_t n = (size_t)(end - start);
	sst_grow(&it->ra, &it->ra_cap, n);
	it->ra_lo = it->ra_hi = 0;
	ssize_t got = io_pread(it->ra_fd, it->ra, n, start);
	if (got < 0)
		return sst_io_fail(r->path, "read", (int)got);
	if ((size_t)got != n)
		return sst_corrupt(r->path, start, "data block runs past the end of the file");
	it->ra_lo = bi;
	it->ra_hi = hi;
	if (it->ra_win < RA_MAX)
		it->ra_win *= 2;
	return 0;
}

/*
 * Makes block bi current (it->v). A sequential load (the block after the
 * current one) of a mapped table goes through the readahead window.
 */
static int iter_load(struct sst_iter *it, uint32_t bi, bool sequential)
{
	struct sst_reader *r = it->r;
	const struct ix_entry *x = &r->ix[bi];
	it->bi = bi;
	if (r->map) {
		const uint8_t *p = r->map + x->off;
		if (sequential) {
			int e = 0;
			if (bi < it->ra_lo || bi >= it->ra_hi)
				e = iter_readahead(it, bi);
			if (e < 0) {
				iter_fail(it, e);
				return e;
			}
			if (e == 0)
				p = it->ra + (x->off - r->ix[it->ra_lo].off);
		}
		if (!atomic_load_explicit(&r->ix[bi].shape, memory_order_acquire)) {
			int e = sst_verify_mapped_at(r, bi, p);
			if (e) {
				iter_fail(it, e);
				return e;
			}
		}
		block_view_trusted(&it->v, p, x->size);
		return 0;
	}
	size_t len;
	const uint8_t *d = NULL;
	if (r->cache) {
		rcu_read_lock();
		d = block_cache_slot_lookup(r->cache, &r->ix[bi].slot, &len);
		if (d)
			own_copy(it, d, len);
		rcu_read_unlock();
		if (d)
			return 0;
	}
	struct cache_entry *e;
	int err = sst_read_block(r, bi, &e);
	if (err) {
		iter_fail(it, err);
		return err;
	}
	own_copy(it, block_cache_entry_data(e), block_cache_entry_len(e));
	if (r->cache && it->fill_cache) {
		rcu_read_lock();
		block_cache_slot_insert(r->cache, &r->ix[bi].slot, e, &len);
		rcu_read_unlock();
	} else {
		block_cache_entry_discard(e);
	}
	return 0;
}

static void iter_corrupt(struct sst_iter *it, uint32_t at, const char *what)
{
	const struct ix_entry *x = &it->r->ix[it->bi];
	iter_fail(it, sst_corrupt(it->r->path, x->off, "%s (entry at byte %u of the data block)", what,
			      at));
}

/* Accepts the entry just decoded if it keeps the order (invariant 1). */
static void iter_check(struct sst_iter *it, bool first_in_block)
{
	const struct block_cursor *c = &it->c;
	if (it->have_prev && skey_cmp(it->prev, it->plen, c->key, c->klen) >= 0) {
		iter_corrupt(it, c->off, "keys out of order");
		return;
	}
	if (first_in_block && it->bi > 0) {
		uint32_t p = it->bi - 1;
		if (skey_cmp(c->key, c->klen, it->r->ix_key[p], it->r->ix[p].klen) <= 0) {
			iter_corrupt(it, c->off, "first key not past the previous block's index entry");
			return;
		}
	}
	it->valid = true;
}

/* Positions at the first entry of block bi. */
static void iter_enter(struct sst_iter *it, uint32_t bi)
{
	if (iter_load(it, bi, true))
		return;
	if (block_cursor_at(&it->c, &it->v, it->keybuf, 0, 0)) {
		iter_corrupt(it, it->c.off, "malformed entry");
		return;
	}
	iter_check(it, true);
}

void sst_iter_seek_first(struct sst_iter *it)
{
	it->valid = false;
	it->have_prev = false;
	if (it->status || it->r->nblocks == 0)
		return;
	iter_enter(it, 0);
}

void sst_iter_seek(struct sst_iter *it, const void *skey, size_t sklen)
{
	struct sst_reader *r = it->r;
	it->valid = false;
	it->have_prev = false;
	if (it->status)
		return;
	if (sklen <= TRAILER_SIZE) {
		sst_iter_seek_first(it);  /* every key is above an empty ikey */
		return;
	}
	const uint8_t *ikey = skey;
	size_t iklen = sklen - TRAILER_SIZE;
	uint64_t trailer = get_le64(ikey + iklen);
	uint32_t bi = sst_index_search(r, ikey, iklen, trailer);
	if (bi == r->nblocks) {
		it->bi = bi;
		return;
	}
	if (iter_load(it, bi, false))
		return;
	int f = block_seek(&it->c, &it->v, it->keybuf, ikey, iklen, trailer);
	if (f < 0) {
		iter_corrupt(it, it->c.off, "malformed entry");
	} else if (f > 0) {
		it->valid = true;
	} else if (bi + 1 < r->nblocks) {
		/* Every key of the block is smaller: the answer is the next
		 * block's first entry. */
		iter_enter(it, bi + 1);
	}
}

bool sst_iter_valid(const struct sst_iter *it)
{
	return it->valid;
}

void sst_iter_next(struct sst_iter *it)
{
	if (!it->valid)
		return;
	struct block_cursor *c = &it->c;
	memcpy(it->prev, c->key, c->klen);
	it->plen = c->klen;
	it->have_prev = true;
	it->valid = false;
	int n = block_cursor_next(c);
	if (n > 0) {
		iter_check(it, false);
		return;
	}
	if (n < 0) {
		iter_corrupt(it, c->off, "malformed entry");
		return;
	}
	/* End of block bi: its keys must not pass its separator. */
	if (skey_cmp(it->prev, it->plen, it->r->ix_key[it->bi], it->r->ix[it->bi].klen) > 0) {
		iter_corrupt(it, c->off, "key beyond its block's index entry");
		return;
	}
	if (it->bi + 1 < it->r->nblocks)
		iter_enter(it, it->bi + 1);
	else
		it->bi = it->r->nblocks;
}

const void *sst_iter_key(const struct sst_iter *it, size_t *len)
{
	*len = it->c.klen;
	return it->c.key;
}

const void *sst_iter_value(const struct sst_iter *it, size_t *len)
{
	*len = it->c.vlen;
	return it->c.value;
}

int sst_iter_status(const struct sst_iter *it)
{
	return it->status;
}
