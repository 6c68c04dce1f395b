/*
 * sstable.c — the SSTable file: builder, reader, point lookup, iterator,
 * verifier and dump. See sstable.h for the contract.
 *
 * The file format is drawn in table_format.h.
 *
 * A point lookup (sst_get) reads: one line of the bloom filter, the
 * in-memory index (a branch-free binary search over 8-byte key prefixes,
 * then the block's offset and shape), one hash slot of the block, the
 * entry and its restart key (fetched together), and the value: about
 * three dependent cache misses into the file.
 *
 * Invariants (of a table, and of an open reader):
 *   1. The regions above tile the file exactly (checked at open).
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
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <urcu.h>

#include "block.h"
#include "bloom.h"
#include "cache.h"
#include "crc32c.h"
#include "format.h"
#include "io.h"
#include "sstable_int.h"
#include "util.h"

#define OUT_FLUSH (1u << 20)        /* builder write buffer */

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

static int io_fail(const char *path, const char *what, int rc)
{
	int e = -rc;
	int code = e == ENOENT ? GOLITE_EIO : errno_to_golite(e);
	return set_error(code, "%s: %s: %s", path, what, strerror(e));
}

/* ---- options and meta ------------------------------------------------ */

void sst_options_init(struct sst_options *o)
{
	o->block_size = 4096;
	o->restart_interval = 16;
	o->bloom_bits_per_key = 10;
	o->compression = GOLITE_COMPRESS_NONE;
	o->disable_hash_index = false;
}

void sst_meta_free(struct sst_meta *m)
{
	if (!m)
		return;
	free(m->smallest);
	free(m->largest);
	memset(m, 0, sizeof(*m));
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

/* ======================================================================
 * Builder
 * ====================================================================== */

struct sst_builder {
	char *path;
	int fd;
	uint64_t file_no;
	struct sst_options o;
	int err;                      /* sticky write error */

	uint64_t offset;              /* bytes of the file, buffered included */
	uint8_t *out;                 /* write buffer, ends at offset */
	size_t out_len, out_cap;

	struct block_builder blk;
	uint8_t *last;                /* last key added, SKEY_MAX bytes */
	size_t last_len;
	bool pending;                 /* a block's index entry awaits the next key */
	uint64_t pending_off;
	uint32_t pending_size;

	uint8_t *index;               /* encoded index entries */
	size_t index_len, index_cap;
	uint32_t nblocks;

	uint64_t *hashes;             /* one per distinct ikey, for the filter */
	size_t nhashes, hcap;

	struct block_compressor comp;

	uint8_t *smallest;
	size_t smallest_len;
	uint64_t entries, deletions, min_seq, max_seq, raw_keys, raw_values;
};

static void grow(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	size_t c = *cap ? *cap : 256;
	while (c < need)
		c *= 2;
	*buf = xrealloc(*buf, c);
	*cap = c;
}

static void builder_free(struct sst_builder *b)
{
	block_builder_free(&b->blk);
	free(b->path);
	free(b->out);
	free(b->last);
	free(b->index);
	free(b->hashes);
	free(b->smallest);
	block_compressor_free(&b->comp);
	free(b);
}

int sst_builder_new(const char *path, uint64_t file_no, const struct sst_options *o,
		    struct sst_builder **out)
{
	struct sst_options opt;
	*out = NULL;
	if (o)
		opt = *o;
	else
		sst_options_init(&opt);
	if (opt.block_size == 0)
		opt.block_size = 4096;
	if (opt.restart_interval == 0)
		opt.restart_interval = 16;
	if (opt.block_size > SST_MAX_BLOCK_OPTION || opt.restart_interval < 0 ||
	    opt.restart_interval > 65535 || opt.bloom_bits_per_key > BLOOM_MAX_BITS_PER_KEY ||
	    (unsigned)opt.compression > GOLITE_COMPRESS_ZSTD)
		return set_error(GOLITE_EINVAL, "%s: invalid sstable options", path);

	int fd = io_open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd < 0)
		return io_fail(path, "create", fd);

	struct sst_builder *b = xcalloc(1, sizeof(*b));
	b->path = xstrdup(path);
	b->fd = fd;
	b->file_no = file_no;
	b->o = opt;
	block_builder_init(&b->blk, opt.restart_interval, !opt.disable_hash_index);
	b->last = xmalloc(SKEY_MAX);
	b->out_cap = 64 * 1024;
	b->out = xmalloc(b->out_cap);
	*out = b;
	return 0;
}

/* Writes the buffered bytes. */
static int flush_out(struct sst_builder *b)
{
	if (b->err || b->out_len == 0)
		return b->err;
	int r = io_pwrite(b->fd, b->out, b->out_len, b->offset - b->out_len);
	if (r < 0)
		return b->err = io_fail(b->path, "write", r);
	b->out_len = 0;
	return 0;
}

/* Appends bytes to the file (through the buffer). */
static int emit(struct sst_builder *b, const void *data, size_t len)
{
	if (b->err)
		return b->err;
	if (b->out_len + len > OUT_FLUSH && flush_out(b))
		return b->err;
	if (len >= OUT_FLUSH) {
		int r = io_pwrite(b->fd, data, len, b->offset);
		if (r < 0)
			return b->err = io_fail(b->path, "write", r);
	} else {
		grow(&b->out, &b->out_cap, b->out_len + len);
		memcpy(b->out + b->out_len, data, len);
		b->out_len += len;
	}
	b->offset += len;
	return 0;
}

/* Appends payload and trailer; *off gets the payload's offset. */
static int emit_block(struct sst_builder *b, const uint8_t *payload, size_t len, uint8_t type,
		      uint64_t *off)
{
	uint8_t t[SST_BLOCK_TRAILER];
	block_trailer_put(t, payload, len, type);
	*off = b->offset;
	if (emit(b, payload, len))
		return b->err;
	return emit(b, t, sizeof(t));
}

static void index_add(struct sst_builder *b, const uint8_t *sep, size_t sep_len, uint64_t off,
		      uint32_t size)
{
	grow(&b->index, &b->index_cap, b->index_len + sep_len + BLOCK_INDEX_ENTRY_EXTRA);
	b->index_len += block_index_put(b->index + b->index_len, sep, sep_len, off, size);
	b->nblocks++;
}

/* Ends the current data block; its index entry waits for the next key. */
static int finish_data_block(struct sst_builder *b)
{
	size_t raw_len, len;
	uint8_t type;
	const uint8_t *raw = block_builder_finish(&b->blk, &raw_len);
	const uint8_t *payload = block_compress(&b->comp, b->o.compression, raw, raw_len, &len, &type);
	uint64_t off;
	if (emit_block(b, payload, len, type, &off))
		return b->err;
	b->pending = true;
	b->pending_off = off;
	b->pending_size = (uint32_t)len;
	block_builder_reset(&b->blk);
	return 0;
}

int sst_builder_add(struct sst_builder *b, const void *skey, size_t sklen, const void *val,
		    size_t vlen)
{
	const uint8_t *k = skey;
	if (b->err)
		return b->err;
	if (sklen <= TRAILER_SIZE || sklen > SKEY_MAX)
		return set_error(GOLITE_EINVAL, "%s: key of %zu bytes", b->path, sklen);
	uint64_t trailer = get_le64(k + sklen - TRAILER_SIZE);
	unsigned kind = trailer_kind(trailer);
	if (kind > KIND_MAX)
		return set_error(GOLITE_EINVAL, "%s: unknown entry kind %u", b->path, kind);
	if (kind == KIND_DELETE)
		vlen = 0;
	if (vlen > GOLITE_MAX_VALUE_SIZE)
		return set_error(GOLITE_EINVAL, "%s: value of %zu bytes", b->path, vlen);
	size_t iklen = sklen - TRAILER_SIZE;
	bool new_ikey = true;
	if (b->entries) {
		if (skey_cmp(b->last, b->last_len, k, sklen) >= 0)
			return set_error(GOLITE_EINVAL, "%s: keys added out of order", b->path);
		new_ikey = ikey_cmp(b->last, b->last_len - TRAILER_SIZE, k, iklen) != 0;
	}

	if (b->pending) {
		uint8_t sep[SKEY_MAX];
		size_t n = block_separator(b->last, b->last_len, k, sklen, sep);
		index_add(b, sep, n, b->pending_off, b->pending_size);
		b->pending = false;
	}
	uint64_t hash = 0;
	if (new_ikey) {
		hash = hash64(k, iklen);
		if (b->o.bloom_bits_per_key) {
			if (b->nhashes == b->hcap) {
				b->hcap = b->hcap ? 2 * b->hcap : 1024;
				b->hashes = xrealloc(b->hashes, b->hcap * sizeof(*b->hashes));
			}
			b->hashes[b->nhashes++] = hash;
		}
	} else if (block_builder_empty(&b->blk)) {
		hash = hash64(k, iklen);  /* a key continued from the previous block */
	}

	block_builder_add(&b->blk, k, sklen, val, vlen, new_ikey || block_builder_empty(&b->blk), hash);
	memcpy(b->last, k, sklen);
	b->last_len = sklen;

	uint64_t seq = trailer_seq(trailer);
	if (!b->entries) {
		b->smallest = xmemdup(k, sklen);
		b->smallest_len = sklen;
		b->min_seq = b->max_seq = seq;
	}
	b->min_seq = MIN(b->min_seq, seq);
	b->max_seq = MAX(b->max_seq, seq);
	b->entries++;
	b->deletions += kind == KIND_DELETE;
	b->raw_keys += sklen;
	b->raw_values += vlen;

	if (block_builder_estimate(&b->blk) >= b->o.block_size)
		return finish_data_block(b);
	return 0;
}

uint64_t sst_builder_size(const struct sst_builder *b)
{
	return b->offset + (block_builder_empty(&b->blk) ? 0 : block_builder_estimate(&b->blk));
}

uint64_t sst_builder_entries(const struct sst_builder *b)
{
	return b->entries;
}

void sst_builder_abandon(struct sst_builder *b)
{
	if (!b)
		return;
	io_close(b->fd);
	io_unlink(b->path);
	builder_free(b);
}

static void put_props(struct sst_builder *b, uint64_t data_end, uint8_t *p)
{
	struct sst_props pr = {
		.file_no = b->file_no,
		.entries = b->entries,
		.deletions = b->deletions,
		.min_seq = b->min_seq,
		.max_seq = b->max_seq,
		.raw_keys = b->raw_keys,
		.raw_values = b->raw_values,
		.data_blocks = b->nblocks,
		.data_end = data_end,
		.block_size = (uint32_t)b->o.block_size,
		.restart_interval = (uint32_t)b->o.restart_interval,
		.bloom_bits = b->o.bloom_bits_per_key,
		.compression = (uint32_t)b->o.compression,
		.smallest_len = (uint32_t)b->smallest_len,
		.largest_len = (uint32_t)(b->entries ? b->last_len : 0),
	};
	sst_props_encode(p, &pr);
	if (b->entries) {
		memcpy(p + SST_PROPS_FIXED, b->smallest, b->smallest_len);
		memcpy(p + SST_PROPS_FIXED + b->smallest_len, b->last, b->last_len);
	}
}

int sst_builder_finish(struct sst_builder *b, struct sst_meta *meta)
{
	memset(meta, 0, sizeof(*meta));
	if (!block_builder_empty(&b->blk))
		finish_data_block(b);
	if (b->pending) {
		index_add(b, b->last, b->last_len, b->pending_off, b->pending_size);
		b->pending = false;
	}
	uint64_t data_end = b->offset;

	/* Filter. */
	uint64_t filter_off = data_end, filter_size = 0, off;
	if (b->o.bloom_bits_per_key && b->nhashes) {
		size_t n = bloom_encoded_size(b->nhashes, b->o.bloom_bits_per_key);
		uint8_t *f = xmalloc(n);
		bloom_build(b->hashes, b->nhashes, b->o.bloom_bits_per_key, f);
		emit_block(b, f, n, SST_BLOCK_RAW, &off);
		free(f);
		filter_size = n;
	}

	/* Properties. */
	size_t props_size = SST_PROPS_FIXED + b->smallest_len + (b->entries ? b->last_len : 0);
	uint8_t *props = xmalloc(props_size);
	put_props(b, data_end, props);
	uint64_t props_off;
	emit_block(b, props, props_size, SST_BLOCK_RAW, &props_off);
	free(props);

	/* Index. */
	grow(&b->index, &b->index_cap, b->index_len + 4);
	put_le32(b->index + b->index_len, b->nblocks);
	b->index_len += 4;
	uint64_t index_off;
	emit_block(b, b->index, b->index_len, SST_BLOCK_RAW, &index_off);

	/* Footer. */
	uint8_t f[SST_FOOTER_SIZE];
	struct sst_footer h = { filter_off, filter_size, props_off, props_size, index_off,
				b->index_len };
	sst_footer_encode(f, &h);
	put_le32(f + SST_FOOTER_VERSION_OFF, SST_FORMAT_VERSION);
	put_le32(f + SST_FOOTER_CRC_OFF, crc32c_mask(crc32c(f, SST_FOOTER_CRC_OFF)));
	put_le64(f + SST_FOOTER_MAGIC_OFF, SST_MAGIC);
	emit(b, f, sizeof(f));

	int err = flush_out(b);
	if (!err) {
		int r = io_fdatasync(b->fd);
		if (r < 0)
			err = io_fail(b->path, "fdatasync", r);
	}
	if (!err && b->o.compression == GOLITE_COMPRESS_NONE) {
		/*
		 * Warm the new table for its readers, in small pages. An
		 * uncompressed table is read through a mapping (sst_open), and
		 * the pages write() leaves in the page cache are large folios.
		 * On the machine the README names, two dependent loads at a
		 * random place of a mapping of such pages took 2.8-3.7 us,
		 * against 0.3-0.9 us for the same files cached in 4 KiB pages,
		 * and a get over 10M keys 5.7 against 1.7 us. So the written
		 * pages, clean after the sync, are dropped, and the kernel is
		 * asked to read the file back at once (WILLNEED readahead fills
		 * the cache with pages of the smallest size). The price is one
		 * sequential read of each new table, done by the kernel in the
		 * background. Advisory: a failure changes nothing but speed.
		 */
		(void)posix_fadvise(b->fd, 0, 0, POSIX_FADV_DONTNEED);
		(void)posix_fadvise(b->fd, 0, 0, POSIX_FADV_WILLNEED);
	}
	int r = io_close(b->fd);
	if (!err && r < 0)
		err = io_fail(b->path, "close", r);
	if (err) {
		io_unlink(b->path);
		builder_free(b);
		return err;
	}

	meta->file_no = b->file_no;
	meta->file_size = b->offset;
	meta->entries = b->entries;
	meta->deletions = b->deletions;
	meta->min_seq = b->min_seq;
	meta->max_seq = b->max_seq;
	meta->raw_key_bytes = b->raw_keys;
	meta->raw_value_bytes = b->raw_values;
	if (b->entries) {
		meta->smallest = b->smallest;
		meta->smallest_len = b->smallest_len;
		b->smallest = NULL;
		meta->largest = xmemdup(b->last, b->last_len);
		meta->largest_len = b->last_len;
	}
	builder_free(b);
	return 0;
}

/* ======================================================================
 * Reader
 * ====================================================================== */


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
		return io_fail(r->path, "read", (int)got);
	}
	if ((size_t)got != n) {
		free(buf);
		return sst_corrupt(r->path, off, "%s runs past the end of the file", what);
	}
	uint8_t type;
	int e = check_trailer(r->path, buf, (size_t)size, off, what, &type);
	if (!e && type != SST_BLOCK_RAW)
		e = sst_corrupt(r->path, off, "%s is not stored raw (type %u)", what, type);
	if (e) {
		free(buf);
		return e;
	}
	*out = buf;
	return 0;
}

static int read_footer(struct sst_reader *r)
{
	uint8_t f[SST_FOOTER_SIZE];
	if (r->file_size < SST_FOOTER_SIZE)
		return sst_corrupt(r->path, 0, "file of %" PRIu64 " bytes is too short for an sstable",
			       r->file_size);
	uint64_t foff = r->file_size - SST_FOOTER_SIZE;
	ssize_t got = io_pread(r->fd, f, sizeof(f), foff);
	if (got < 0)
		return io_fail(r->path, "read", (int)got);
	if (got != (ssize_t)sizeof(f))
		return sst_corrupt(r->path, foff, "footer truncated");
	if (get_le64(f + SST_FOOTER_MAGIC_OFF) != SST_MAGIC)
		return sst_corrupt(r->path, foff + SST_FOOTER_MAGIC_OFF,
				   "bad magic number (not an sstable, or truncated)");
	uint32_t version = get_le32(f + SST_FOOTER_VERSION_OFF);
	if (version != SST_FORMAT_VERSION)
		return set_error(GOLITE_EVERSION,
				 "%s: sstable format version %u at offset %" PRIu64
				 ", this build reads version %u",
				 r->path, version, foff + SST_FOOTER_VERSION_OFF, SST_FORMAT_VERSION);
	if (crc32c_unmask(get_le32(f + SST_FOOTER_CRC_OFF)) != crc32c(f, SST_FOOTER_CRC_OFF))
		return sst_corrupt(r->path, foff, "footer checksum mismatch");
	sst_footer_decode(f, &r->foot);

	/* Invariant 1: the regions tile the file. Every size is bounded by the
	 * file size before it is added, so nothing overflows. */
	const struct sst_footer *h = &r->foot;
	const uint64_t T = SST_BLOCK_TRAILER;
	if (h->index_size > foff || h->index_size + T > foff ||
	    h->index_off != foff - h->index_size - T || h->index_size < 4)
		return sst_corrupt(r->path, foff, "footer: bad index block handle");
	if (h->props_size > h->index_off || h->props_size + T > h->index_off ||
	    h->props_off != h->index_off - h->props_size - T || h->props_size < SST_PROPS_FIXED)
		return sst_corrupt(r->path, foff, "footer: bad properties block handle");
	uint64_t fspan = h->filter_size ? h->filter_size + T : 0;
	if (h->filter_size > h->props_off || fspan > h->props_off ||
	    h->filter_off != h->props_off - fspan)
		return sst_corrupt(r->path, foff, "footer: bad filter block handle");
	return 0;
}

static int parse_props(struct sst_reader *r)
{
	const uint8_t *p = r->props_buf;
	struct sst_props *pr = &r->props;
	uint64_t off = r->foot.props_off;
	sst_props_decode(p, pr);
	if ((uint64_t)SST_PROPS_FIXED + pr->smallest_len + pr->largest_len != r->foot.props_size)
		return sst_corrupt(r->path, off, "properties: key lengths do not match the block");
	pr->smallest = p + SST_PROPS_FIXED;
	pr->largest = pr->smallest + pr->smallest_len;
	if (pr->compression > GOLITE_COMPRESS_ZSTD)
		return sst_corrupt(r->path, off, "properties: unknown compression %u", pr->compression);
	if (pr->data_end != r->foot.filter_off)
		return sst_corrupt(r->path, off, "properties: data size disagrees with the footer");
	bool empty = pr->entries == 0;
	if (empty != (pr->smallest_len == 0) || empty != (pr->largest_len == 0) ||
	    empty != (pr->data_blocks == 0) || pr->deletions > pr->entries ||
	    pr->data_blocks > pr->entries)
		return sst_corrupt(r->path, off, "properties: inconsistent counts");
	if (!empty && (pr->smallest_len <= TRAILER_SIZE || pr->smallest_len > SKEY_MAX ||
		       pr->largest_len <= TRAILER_SIZE || pr->largest_len > SKEY_MAX ||
		       skey_cmp(pr->smallest, pr->smallest_len, pr->largest, pr->largest_len) > 0))
		return sst_corrupt(r->path, off, "properties: bad smallest/largest key");
	return 0;
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

static int parse_index(struct sst_reader *r)
{
	const uint8_t *buf = r->ix_buf, *end = buf + r->foot.index_size - 4;
	uint32_t count = get_le32(end);
	uint64_t base = r->foot.index_off;
	if (count != r->props.data_blocks || count > r->foot.index_size / 11)
		return sst_corrupt(r->path, base + r->foot.index_size - 4,
			       "index: block count %u disagrees with the properties", count);
	r->nblocks = count;
	r->ix = aligned_alloc(32, (count ? count : 1) * sizeof(*r->ix));
	if (!r->ix)
		FATAL("out of memory loading the index of %s", r->path);
	memset(r->ix, 0, (count ? count : 1) * sizeof(*r->ix));  /* empty slots, no shapes */
	r->ix_key = xmalloc((count ? count : 1) * sizeof(*r->ix_key));
	const uint8_t *p = buf;
	uint64_t expect = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t at = base + (uint64_t)(p - buf);
		const uint8_t *key;
		uint32_t klen, size;
		uint64_t off;
		if (!(p = block_index_get(p, end, &key, &klen, &off, &size)))
			return sst_corrupt(r->path, at, "index: malformed entry %u", i);
		if (off != expect || size == 0 || size > SST_MAX_BLOCK_SIZE ||
		    size + SST_BLOCK_TRAILER > r->foot.filter_off - off)
			return sst_corrupt(r->path, at, "index: block %u at %" PRIu64 " (%u bytes) is out of place",
				       i, off, size);
		if (i && skey_cmp(r->ix_key[i - 1], r->ix[i - 1].klen, key, klen) >= 0)
			return sst_corrupt(r->path, at, "index: keys out of order at entry %u", i);
		r->ix_key[i] = key;
		r->ix[i].off = off;
		r->ix[i].size = size;
		r->ix[i].klen = klen;
		expect = off + size + SST_BLOCK_TRAILER;
	}
	if (p != end)
		return sst_corrupt(r->path, base + (uint64_t)(p - buf), "index: trailing bytes");
	if (expect != r->foot.filter_off)
		return sst_corrupt(r->path, base, "index: blocks end at %" PRIu64 ", data ends at %" PRIu64,
			       expect, r->foot.filter_off);

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
		return io_fail(path, "open", fd);
	struct sst_reader *r = xcalloc(1, sizeof(*r));
	atomic_init(&r->refs, 1);
	atomic_init(&r->obsolete, false);
	r->path = xstrdup(path);
	r->file_no = file_no;
	r->fd = fd;
	r->cache = cache;

	int e = io_file_size(fd, &r->file_size);
	if (e < 0) {
		e = io_fail(path, "fstat", e);
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
	const struct sst_props *p = &r->props;
	memset(m, 0, sizeof(*m));
	m->file_no = r->file_no;
	m->file_size = r->file_size;
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

/* ---- data blocks ----------------------------------------------------- */

/*
 * Checks data block bi of a mapped table once (invariant 3), reading it at
 * p: the mapping, or an iterator's copy of the same bytes.
 */
static int verify_mapped_at(struct sst_reader *r, uint32_t bi, const uint8_t *p)
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
	return verify_mapped_at(r, bi, r->map + r->ix[bi].off);
}

/*
 * Reads data block bi with pread, checks it and decompresses it into a
 * detached cache entry (invariant 3).
 */
static int read_block(struct sst_reader *r, uint32_t bi, struct cache_entry **out)
{
	const struct ix_entry *x = &r->ix[bi];
	size_t n = (size_t)x->size + SST_BLOCK_TRAILER;
	struct cache_entry *e = block_cache_entry_new(n);
	uint8_t *buf = block_cache_entry_data(e);
	ssize_t got = io_pread(r->fd, buf, n, x->off);
	int err;
	if (got < 0) {
		err = io_fail(r->path, "read", (int)got);
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
		int err = read_block(r, bi, &e);
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
	if (unlikely(res->kind > KIND_MAX))
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

/* ======================================================================
 * Iterator
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
 * ====================================================================== */

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
	grow(&it->own, &it->own_cap, len);
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
	grow(&it->ra, &it->ra_cap, n);
	it->ra_lo = it->ra_hi = 0;
	ssize_t got = io_pread(it->ra_fd, it->ra, n, start);
	if (got < 0)
		return io_fail(r->path, "read", (int)got);
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
			int e = verify_mapped_at(r, bi, p);
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
	int err = read_block(r, bi, &e);
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

/* Accepts the entry just decoded if it keeps the order (invariant 2). */
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
	uint32_t bi = index_search(r, ikey, iklen, trailer);
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
