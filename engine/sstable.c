/*
 * sstable.c — reading a table: opening it (footer, properties, index and
 * filter checked and loaded), the reader's lifetime, and point lookups.
 * See sstable.h for the contract and table_format.h for the format; the
 * builder is in sstable_build.c, the iterator in sstable_iter.c, verify
 * and dump in sstable_tool.c.
 *
 * A point lookup (sst_get) reads: one line of the bloom filter, the
 * in-memory index (a branch-free binary search over 8-byte key prefixes,
 * then the block's offset and shape), one hash slot of the block, the
 * entry and its restart key (fetched together), and the value: about
 * three dependent cache misses into the file.
 *
 * Invariants (of a table, and of an open reader):
 *   1. The regions of table_format.h tile the file exactly (checked at
 *      open).
 *   2. Keys are strictly increasing in skey_cmp() order across the table,
 *      and the index separators bracket each block as described.
 *   3. A block is used only after its checksum and restart array have been
 *      checked: at open for filter, properties and index; on first use for
 *      data blocks (the per-block `shape` of a mapped table, or
 *      before insertion into the cache / the iterator's copy).
 *   4. Every length read from the file is checked against the buffer it
 *      describes before use.
 */
#include "sstable.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <urcu.h>

#include "block.h"
#include "bloom.h"
#include "cache.h"
#include "crc32c.h"
#include "error.h"
#include "format.h"
#include "io.h"
#include "sstable_int.h"
#include "util.h"

/* ---- errors ---------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
int sst_corrupt(const char *path, uint64_t off, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return set_error(GOLITE_ECORRUPT, "%s: corrupt sstable at offset %" PRIu64 ": %s",
			 path, off, msg);
}

int sst_io_fail(const char *path, const char *what, int rc)
{
	int e = -rc;
	int code = e == ENOENT ? GOLITE_EIO : errno_to_golite(e);
	return set_error(code, "%s: %s: %s", path, what, strerror(e));
}

__attribute__((format(printf, 4, 5)))
static int problem(struct sst_problem *why, int code, uint64_t off, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why->msg, sizeof(why->msg), fmt, ap);
	va_end(ap);
	why->off = off;
	return code;
}

/* The error of a problem found while opening path. */
static int open_error(const char *path, int code, const struct sst_problem *why)
{
	if (code == GOLITE_ECORRUPT)
		return sst_corrupt(path, why->off, "%s", why->msg);
	return set_error(code, "%s: %s (offset %" PRIu64 ")", path, why->msg, why->off);
}

/* Checks the trailer after payload[0, len). Returns 0 or GOLITE_ECORRUPT. */
static int check_trailer(const char *path, const uint8_t *payload, size_t len, uint64_t off,
			 const char *what, uint8_t *type)
{
	int r = block_trailer_check(payload, len, type);
	if (r == -1)
		return sst_corrupt(path, off, "checksum mismatch in %s (%zu bytes)", what, len);
	if (r)
		return sst_corrupt(path, off, "unknown block type %u in %s", payload[len], what);
	return 0;
}

int sst_check_meta_block(const uint8_t *payload, uint64_t size, uint64_t off, const char *what,
			 struct sst_problem *why)
{
	uint8_t type;
	int r = block_trailer_check(payload, (size_t)size, &type);
	if (r == -1)
		return problem(why, GOLITE_ECORRUPT, off, "%s: checksum mismatch (%" PRIu64 " bytes)",
			       what, size);
	if (r)
		return problem(why, GOLITE_ECORRUPT, off, "%s: unknown block type %u", what,
			       payload[size]);
	if (type != SST_BLOCK_RAW)
		return problem(why, GOLITE_ECORRUPT, off, "%s: not stored raw (type %u)", what, type);
	return 0;
}

/* ---- meta ------------------------------------------------------------ */

void sst_meta_free(struct sst_meta *m)
{
	if (!m)
		return;
	free(m->smallest);
	free(m->largest);
	memset(m, 0, sizeof(*m));
}

void sst_meta_from_props(struct sst_meta *m, uint64_t file_no, uint64_t file_size,
			 const struct sst_props *p)
{
	memset(m, 0, sizeof(*m));
	m->file_no = file_no;
	m->file_size = file_size;
	m->entries = p->entries;
	m->deletions = p->deletions;
	m->min_seq = p->min_seq;
	m->max_seq = p->max_seq;
	m->raw_key_bytes = p->raw_keys;
	m->raw_value_bytes = p->raw_values;
	if (p->entries) {
		m->smallest = xmemdup(p->smallest, p->smallest_len);
		m->smallest_len = p->smallest_len;
		m->largest = xmemdup(p->largest, p->largest_len);
		m->largest_len = p->largest_len;
	}
}

/* ---- opening --------------------------------------------------------- */

/* Reads a meta block (payload + trailer) into an aligned buffer. */
static int read_meta_block(struct sst_reader *r, uint64_t off, uint64_t size, const char *what,
			   uint8_t **out)
{
	size_t n = (size_t)size + SST_BLOCK_TRAILER;
	uint8_t *buf = aligned_alloc(64, (n + 63) & ~(size_t)63);
	if (!buf)
		FATAL("out of memory reading %s of %s", what, r->path);
	ssize_t got = io_pread(r->fd, buf, n, off);
	if (got < 0) {
		free(buf);
		return sst_io_fail(r->path, "read", (int)got);
	}
	if ((size_t)got != n) {
		free(buf);
		return sst_corrupt(r->path, off, "%s runs past the end of the file", what);
	}
	struct sst_problem why;
	int e = sst_check_meta_block(buf, size, off, what, &why);
	if (e) {
		free(buf);
		return open_error(r->path, e, &why);
	}
	*out = buf;
	return 0;
}

int sst_parse_footer(const uint8_t *f, uint64_t file_size, struct sst_footer *foot,
		     struct sst_problem *why)
{
	if (file_size < SST_FOOTER_SIZE)
		return problem(why, GOLITE_ECORRUPT, 0,
			       "footer: file of %" PRIu64 " bytes is too short for a table", file_size);
	uint64_t foff = file_size - SST_FOOTER_SIZE;
	if (get_le64(f + SST_FOOTER_MAGIC_OFF) != SST_MAGIC)
		return problem(why, GOLITE_ECORRUPT, foff + SST_FOOTER_MAGIC_OFF,
			       "footer: bad magic number (not a table, or truncated)");
	uint32_t version = get_le32(f + SST_FOOTER_VERSION_OFF);
	if (version < SST_FORMAT_VERSION_MIN || version > SST_FORMAT_VERSION)
		return problem(why, GOLITE_EVERSION, foff + SST_FOOTER_VERSION_OFF,
			       "footer: sstable format version %u, this build reads versions %u to %u",
			       version, SST_FORMAT_VERSION_MIN, SST_FORMAT_VERSION);
	if (crc32c_unmask(get_le32(f + SST_FOOTER_CRC_OFF)) != crc32c(f, SST_FOOTER_CRC_OFF))
		return problem(why, GOLITE_ECORRUPT, foff, "footer checksum mismatch");
	sst_footer_decode(f, foot);

	/* Invariant 1: the regions tile the file. Every size is bounded by the
	 * file size before it is added, so nothing overflows. */
	const struct sst_footer *h = foot;
	const uint64_t T = SST_BLOCK_TRAILER;
	if (h->index_size > foff || h->index_size + T > foff ||
	    h->index_off != foff - h->index_size - T || h->index_size < 4)
		return problem(why, GOLITE_ECORRUPT, foff, "footer: bad index block handle");
	if (h->props_size > h->index_off || h->props_size + T > h->index_off ||
	    h->props_off != h->index_off - h->props_size - T || h->props_size < SST_PROPS_FIXED)
		return problem(why, GOLITE_ECORRUPT, foff, "footer: bad properties block handle");
	uint64_t fspan = h->filter_size ? h->filter_size + T : 0;
	if (h->filter_size > h->props_off || fspan > h->props_off ||
	    h->filter_off != h->props_off - fspan)
		return problem(why, GOLITE_ECORRUPT, foff, "footer: bad filter block handle");
	return 0;
}

static int read_footer(struct sst_reader *r)
{
	uint8_t f[SST_FOOTER_SIZE] = { 0 };
	struct sst_problem why;
	int e;
	if (r->file_size >= SST_FOOTER_SIZE) {
		uint64_t foff = r->file_size - SST_FOOTER_SIZE;
		ssize_t got = io_pread(r->fd, f, sizeof(f), foff);
		if (got < 0)
			return sst_io_fail(r->path, "read", (int)got);
		if (got != (ssize_t)sizeof(f))
			return sst_corrupt(r->path, foff, "footer truncated");
	}
	if ((e = sst_parse_footer(f, r->file_size, &r->foot, &why)))
		return open_error(r->path, e, &why);
	return 0;
}

int sst_parse_props(const uint8_t *p, const struct sst_footer *foot, struct sst_props *pr,
		    struct sst_problem *why)
{
	uint64_t off = foot->props_off;
	sst_props_decode(p, pr);
	if ((uint64_t)SST_PROPS_FIXED + pr->smallest_len + pr->largest_len != foot->props_size)
		return problem(why, GOLITE_ECORRUPT, off,
			       "properties: key lengths do not match the block");
	pr->smallest = p + SST_PROPS_FIXED;
	pr->largest = pr->smallest + pr->smallest_len;
	if (pr->compression > GOLITE_COMPRESS_ZSTD)
		return problem(why, GOLITE_ECORRUPT, off, "properties: unknown compression %u",
			       pr->compression);
	if (pr->data_end != foot->filter_off)
		return problem(why, GOLITE_ECORRUPT, off,
			       "properties: data size disagrees with the footer");
	bool empty = pr->entries == 0;
	if (empty != (pr->smallest_len == 0) || empty != (pr->largest_len == 0) ||
	    empty != (pr->data_blocks == 0) || pr->deletions > pr->entries ||
	    pr->data_blocks > pr->entries)
		return problem(why, GOLITE_ECORRUPT, off, "properties: inconsistent counts");
	if (!empty && (pr->smallest_len <= TRAILER_SIZE || pr->smallest_len > SKEY_MAX ||
		       pr->largest_len <= TRAILER_SIZE || pr->largest_len > SKEY_MAX ||
		       skey_cmp(pr->smallest, pr->smallest_len, pr->largest, pr->largest_len) > 0))
		return problem(why, GOLITE_ECORRUPT, off, "properties: bad smallest/largest key");
	return 0;
}

static int parse_props(struct sst_reader *r)
{
	struct sst_problem why;
	int e = sst_parse_props(r->props_buf, &r->foot, &r->props, &why);
	return e ? open_error(r->path, e, &why) : 0;
}

static inline uint64_t pfx8(const uint8_t *ik, size_t iklen, size_t from)
{
	if (likely(iklen >= from + 8))
		return get_be64(ik + from);
	uint8_t b[8] = { 0 };
	if (iklen > from)
		memcpy(b, ik + from, iklen - from);
	return get_be64(b);
}

int sst_parse_index(const uint8_t *buf, const struct sst_footer *foot, uint64_t data_blocks,
		    struct sst_index_entry **out, uint32_t *nout, struct sst_problem *why)
{
	const uint8_t *end = buf + foot->index_size - 4, *p = buf;
	uint32_t count = get_le32(end);
	uint64_t base = foot->index_off;
	*out = NULL;
	*nout = 0;
	if ((data_blocks != UINT64_MAX && count != data_blocks) || count > foot->index_size / 11)
		return problem(why, GOLITE_ECORRUPT, base + foot->index_size - 4,
			       "index: block count %u disagrees with the properties", count);
	struct sst_index_entry *ix = xcalloc(count ? count : 1, sizeof(*ix));
	uint64_t expect = 0;
	int e = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t at = base + (uint64_t)(p - buf);
		struct sst_index_entry *x = &ix[i];
		if (!(p = block_index_get(p, end, &x->sep, &x->klen, &x->off, &x->size))) {
			e = problem(why, GOLITE_ECORRUPT, at, "index: malformed entry %u", i);
			goto out_free;
		}
		if (x->off != expect || x->size == 0 || x->size > SST_MAX_BLOCK_SIZE ||
		    x->size + SST_BLOCK_TRAILER > foot->filter_off - x->off) {
			e = problem(why, GOLITE_ECORRUPT, at,
				    "index: block %u at %" PRIu64 " (%u bytes) is out of place", i,
				    x->off, x->size);
			goto out_free;
		}
		if (i && skey_cmp(ix[i - 1].sep, ix[i - 1].klen, x->sep, x->klen) >= 0) {
			e = problem(why, GOLITE_ECORRUPT, at, "index: keys out of order at entry %u", i);
			goto out_free;
		}
		expect = x->off + x->size + SST_BLOCK_TRAILER;
	}
	if (p != end) {
		e = problem(why, GOLITE_ECORRUPT, base + (uint64_t)(p - buf), "index: trailing bytes");
		goto out_free;
	}
	if (expect != foot->filter_off) {
		e = problem(why, GOLITE_ECORRUPT, base,
			    "index: blocks end at %" PRIu64 ", data ends at %" PRIu64, expect,
			    foot->filter_off);
		goto out_free;
	}
	*out = ix;
	*nout = count;
	return 0;

out_free:
	free(ix);
	return e;
}

static int parse_index(struct sst_reader *r)
{
	struct sst_problem why;
	struct sst_index_entry *x;
	uint32_t count;
	int e = sst_parse_index(r->ix_buf, &r->foot, r->props.data_blocks, &x, &count, &why);
	if (e)
		return open_error(r->path, e, &why);
	r->nblocks = count;
	r->ix = aligned_alloc(32, (count ? count : 1) * sizeof(*r->ix));
	if (!r->ix)
		FATAL("out of memory loading the index of %s", r->path);
	memset(r->ix, 0, (count ? count : 1) * sizeof(*r->ix));  /* empty slots, no shapes */
	r->ix_key = xmalloc((count ? count : 1) * sizeof(*r->ix_key));
	for (uint32_t i = 0; i < count; i++) {
		r->ix_key[i] = x[i].sep;
		r->ix[i].off = x[i].off;
		r->ix[i].size = x[i].size;
		r->ix[i].klen = x[i].klen;
	}
	free(x);

	/* The common prefix and the prefix array for index_search(). */
	r->ix_pfx = xmalloc((count ? count : 1) * sizeof(*r->ix_pfx));
	if (count) {
		const uint8_t *a = r->ix_key[0], *z = r->ix_key[count - 1];
		size_t n = MIN(r->ix[0].klen, r->ix[count - 1].klen) - TRAILER_SIZE, l = 0;
		while (l < n && a[l] == z[l])
			l++;
		r->common = a;
		r->common_len = l;
		for (uint32_t i = 0; i < count; i++)
			r->ix_pfx[i] = pfx8(r->ix_key[i], r->ix[i].klen - TRAILER_SIZE, l);
	}
	return 0;
}

/* First i with a[i] >= x (n if none); branch-free, so that the CPU
 * overlaps the loads of successive steps instead of mispredicting. */
static inline uint32_t lower_bound_u64(const uint64_t *a, uint32_t n, uint64_t x)
{
	const uint64_t *base = a;
	while (n > 1) {
		uint32_t half = n / 2;
		base = base[half - 1] < x ? base + half : base;
		n -= half;
	}
	return (uint32_t)(base - a) + (n == 1 && *base < x);
}

/* First i with a[i] > x (n if none). */
static inline uint32_t upper_bound_u64(const uint64_t *a, uint32_t n, uint64_t x)
{
	const uint64_t *base = a;
	while (n > 1) {
		uint32_t half = n / 2;
		base = base[half - 1] <= x ? base + half : base;
		n -= half;
	}
	return (uint32_t)(base - a) + (n == 1 && *base <= x);
}

/*
 * Index of the first block whose separator is >= the skey (ikey, trailer),
 * or nblocks. All separators share common_len bytes, so comparing the next
 * eight (prefix array, small and cache-resident) decides most steps; equal
 * prefixes fall back to the full key.
 */
static uint32_t index_search(const struct sst_reader *r, const uint8_t *ikey, size_t iklen,
			     uint64_t trailer)
{
	uint32_t n = r->nblocks;
	if (unlikely(n == 0))
		return 0;
	size_t L = r->common_len;
	if (L) {
		int c = memcmp(ikey, r->common, MIN(iklen, L));
		if (c < 0 || (c == 0 && iklen < L))
			return 0;
		if (c > 0)
			return n;
	}
	uint64_t tp = pfx8(ikey, iklen, L);
	const uint64_t *pfx = r->ix_pfx;
	uint32_t lo = lower_bound_u64(pfx, n, tp);
	if (lo == n || pfx[lo] != tp)
		return lo;
	/* Separators whose prefix equals the target's: compare whole keys. */
	uint32_t hi = lo + upper_bound_u64(pfx + lo, n - lo, tp);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (skey_cmp_parts(r->ix_key[mid], r->ix[mid].klen, ikey, iklen, trailer) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

uint32_t sst_index_search(const struct sst_reader *r, const uint8_t *ikey, size_t iklen,
			  uint64_t trailer)
{
	return index_search(r, ikey, iklen, trailer);
}

void sst_reader_destroy(struct sst_reader *r)
{
	if (r->cache && r->ix)
		block_cache_detach(r->cache, &r->ix[0].slot, r->nblocks, sizeof(*r->ix));
	if (r->map)
		munmap((void *)r->map, r->file_size);
	if (r->fd >= 0)
		io_close(r->fd);
	free(r->ix);
	free(r->ix_key);
	free(r->ix_pfx);
	free(r->ix_buf);
	free(r->filter_buf);
	free(r->props_buf);
	free(r->path);
	free(r);
}

static void reader_free_rcu(struct rcu_head *head)
{
	sst_reader_destroy(caa_container_of(head, struct sst_reader, rcu));
}

int sst_open_flags(const char *path, uint64_t file_no, struct block_cache *cache, unsigned flags,
		   struct sst_reader **out)
{
	*out = NULL;
	int fd = io_open(path, O_RDONLY, 0);
	if (fd < 0)
		return sst_io_fail(path, "open", fd);
	struct sst_reader *r = xcalloc(1, sizeof(*r));
	atomic_init(&r->refs, 1);
	atomic_init(&r->obsolete, false);
	r->path = xstrdup(path);
	r->file_no = file_no;
	r->fd = fd;
	r->cache = cache;

	int e = io_file_size(fd, &r->file_size);
	if (e < 0) {
		e = sst_io_fail(path, "fstat", e);
		goto out_destroy;
	}
	if ((e = read_footer(r)))
		goto out_destroy;
	if ((e = read_meta_block(r, r->foot.props_off, r->foot.props_size, "properties block",
				 &r->props_buf)) ||
	    (e = parse_props(r)))
		goto out_destroy;
	if ((e = read_meta_block(r, r->foot.index_off, r->foot.index_size, "index block", &r->ix_buf)) ||
	    (e = parse_index(r)))
		goto out_destroy;
	if (r->foot.filter_size) {
		if ((e = read_meta_block(r, r->foot.filter_off, r->foot.filter_size, "filter block",
					 &r->filter_buf)))
			goto out_destroy;
		if (bloom_parse(&r->bloom, r->filter_buf, (size_t)r->foot.filter_size)) {
			e = sst_corrupt(path, r->foot.filter_off, "malformed filter block");
			goto out_destroy;
		}
		r->has_filter = true;
	}

	if (!(flags & SST_OPEN_PREAD) && r->props.compression == GOLITE_COMPRESS_NONE &&
	    r->nblocks > 0) {
		void *m = mmap(NULL, (size_t)r->file_size, PROT_READ, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			/* The mapping keeps the file; the descriptor is not needed. */
			r->map = m;
			io_close(fd);
			r->fd = -1;
		}
	}
	*out = r;
	return 0;

out_destroy:
	sst_reader_destroy(r);
	return e;
}

int sst_open(const char *path, uint64_t file_no, struct block_cache *cache, struct sst_reader **out)
{
	return sst_open_flags(path, file_no, cache, 0, out);
}

void sst_ref(struct sst_reader *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
}

void sst_unref(struct sst_reader *r)
{
	if (!r || atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (atomic_load(&r->obsolete))
		io_unlink(r->path);  /* the mapping and fd stay usable until freed */
	call_rcu(&r->rcu, reader_free_rcu);
}

void sst_mark_obsolete(struct sst_reader *r)
{
	atomic_store(&r->obsolete, true);
}

uint64_t sst_file_no(const struct sst_reader *r) { return r->file_no; }
uint64_t sst_file_size(const struct sst_reader *r) { return r->file_size; }
uint64_t sst_entries(const struct sst_reader *r) { return r->props.entries; }
const char *sst_path(const struct sst_reader *r) { return r->path; }
bool sst_is_mmapped(const struct sst_reader *r) { return r->map != NULL; }

void sst_reader_meta(const struct sst_reader *r, struct sst_meta *m)
{
	sst_meta_from_props(m, r->file_no, r->file_size, &r->props);
}

/* ---- data blocks ----------------------------------------------------- */

/*
 * Checks data block bi of a mapped table once (invariant 3), reading it at
 * p: the mapping, or an iterator's copy of the same bytes.
 */
int sst_verify_mapped_at(struct sst_reader *r, uint32_t bi, const uint8_t *p)
{
	const struct ix_entry *x = &r->ix[bi];
	uint8_t type;
	int e = check_trailer(r->path, p, x->size, x->off, "data block", &type);
	if (e)
		return e;
	if (type != SST_BLOCK_RAW)
		return sst_corrupt(r->path, x->off, "compressed block in an uncompressed table");
	struct block_view v;
	if (block_view_init(&v, p, x->size))
		return sst_corrupt(r->path, x->off, "data block: bad restart array or hash index");
	atomic_store_explicit(&r->ix[bi].shape, block_view_shape(&v), memory_order_release);
	return 0;
}

static int verify_mapped(struct sst_reader *r, uint32_t bi)
{
	return sst_verify_mapped_at(r, bi, r->map + r->ix[bi].off);
}

/*
 * Reads data block bi with pread, checks it and decompresses it into a
 * detached cache entry (invariant 3).
 */
int sst_read_block(struct sst_reader *r, uint32_t bi, struct cache_entry **out)
{
	const struct ix_entry *x = &r->ix[bi];
	size_t n = (size_t)x->size + SST_BLOCK_TRAILER;
	struct cache_entry *e = block_cache_entry_new(n);
	uint8_t *buf = block_cache_entry_data(e);
	ssize_t got = io_pread(r->fd, buf, n, x->off);
	int err;
	if (got < 0) {
		err = sst_io_fail(r->path, "read", (int)got);
		goto out_discard;
	}
	if ((size_t)got != n) {
		err = sst_corrupt(r->path, x->off, "data block runs past the end of the file");
		goto out_discard;
	}
	uint8_t type;
	if ((err = check_trailer(r->path, buf, x->size, x->off, "data block", &type)))
		goto out_discard;
	if (type == SST_BLOCK_RAW) {
		block_cache_entry_set_len(e, x->size);
	} else {
		struct cache_entry *d = NULL;
		if (block_decompress(buf, x->size, type, &d)) {
			err = sst_corrupt(r->path, x->off, "data block does not decompress (%s)",
				      type == SST_BLOCK_LZ4 ? "lz4" : "zstd");
			goto out_discard;
		}
		block_cache_entry_discard(e);
		e = d;
	}
	struct block_view v;
	if (block_view_init(&v, block_cache_entry_data(e), block_cache_entry_len(e))) {
		err = sst_corrupt(r->path, x->off, "data block: bad restart array or hash index");
		goto out_discard;
	}
	atomic_store_explicit(&r->ix[bi].shape, block_view_shape(&v), memory_order_relaxed);
	*out = e;
	return 0;

out_discard:
	block_cache_entry_discard(e);
	return err;
}

/* Block bi for a lookup, inside the caller's RCU read-side section. */
static inline int block_for_get(struct sst_reader *r, uint32_t bi, struct block_view *v)
{
	const struct ix_entry *x = &r->ix[bi];
	if (likely(r->map != NULL)) {
		uint64_t shape = atomic_load_explicit(&r->ix[bi].shape, memory_order_acquire);
		if (unlikely(!shape)) {
			int e = verify_mapped(r, bi);
			if (e)
				return e;
			shape = atomic_load_explicit(&r->ix[bi].shape, memory_order_relaxed);
		}
		block_view_shaped(v, r->map + x->off, x->size, shape);
		return 0;
	}
	size_t len;
	struct ix_entry *xs = &r->ix[bi];
	const uint8_t *d = block_cache_slot_lookup(r->cache, &xs->slot, &len);
	if (!d) {
		struct cache_entry *e;
		int err = sst_read_block(r, bi, &e);
		if (err)
			return err;
		d = block_cache_slot_insert(r->cache, &xs->slot, e, &len);
	}
	uint64_t shape = atomic_load_explicit(&r->ix[bi].shape, memory_order_relaxed);
	if (likely(shape))
		block_view_shaped(v, d, len, shape);
	else
		block_view_trusted(v, d, len);
	return 0;
}

void sst_prefetch_filter(const struct sst_reader *r, uint64_t hash)
{
	if (r->has_filter)
		__builtin_prefetch(bloom_line(&r->bloom, hash));
}

bool sst_may_contain(struct sst_reader *r, uint64_t hash)
{
	return !r->has_filter || bloom_may_contain(&r->bloom, hash);
}

int sst_get(struct sst_reader *r, const void *ikey, size_t iklen, uint64_t hash, uint64_t snap,
	    struct sst_get_result *res)
{
	if (r->has_filter && !bloom_may_contain(&r->bloom, hash))
		return 0;
	if (snap > SEQ_MAX)
		snap = SEQ_MAX;
	uint64_t trailer = trailer_pack(snap, 0xff);  /* the first skey of ikey at snap */
	uint32_t bi = index_search(r, ikey, iklen, trailer);
	if (bi == r->nblocks)
		return 0;
	struct block_view v;
	int e = block_for_get(r, bi, &v);
	if (e)
		return e;
	/* The restart array is needed right after the slot: fetch both. */
	__builtin_prefetch(v.data + v.restarts_off);
	uint8_t keybuf[SKEY_MAX];
	struct block_cursor c;
	int f = block_hash_find(&c, &v, keybuf, ikey, iklen, hash);
	if (likely(f == 1)) {
		/* On ikey's newest version in the block: step to the first one
		 * visible at snap. */
		while (get_le64(c.key + c.klen - TRAILER_SIZE) > trailer) {
			f = block_cursor_next(&c);
			if (f <= 0)
				break;
			if (ikey_cmp(c.key, c.klen - TRAILER_SIZE, ikey, iklen) != 0)
				return 0;
		}
	} else if (f == -2) {
		f = block_seek(&c, &v, keybuf, ikey, iklen, trailer);
		if (f == 1 && ikey_cmp(c.key, c.klen - TRAILER_SIZE, ikey, iklen) != 0)
			return 0;
	}
	/* f == 0: not in this block, so not in the table: the next block's
	 * keys are past the separator, hence past ikey (see the index
	 * drawing). */
	if (f <= 0) {
		if (likely(f == 0))
			return 0;
		return sst_corrupt(r->path, r->ix[bi].off, "malformed entry at byte %u of the data block",
			       c.off);
	}
	uint64_t t = get_le64(c.key + c.klen - TRAILER_SIZE);
	res->kind = trailer_kind(t);
	res->seq = trailer_seq(t);
	if (unlikely(!kind_valid(res->kind)))
		return sst_corrupt(r->path, r->ix[bi].off, "unknown entry kind %u at byte %u of the data block",
			       res->kind, c.off);
	if (res->kind == KIND_DELETE) {
		res->value = NULL;
		res->vlen = 0;
	} else {
		res->value = c.value;
		res->vlen = c.vlen;
	}
	return 1;
}
