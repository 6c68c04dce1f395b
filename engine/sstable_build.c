/*
 * sstable_build.c — writing a table: the sst_builder of sstable.h. Writing
 * shares nothing with reading but the format (table_format.h, block.h), so
 * it lives apart from the reader: it buffers the file, cuts data blocks,
 * collects their index entries and the filter's key hashes, and ends the
 * file with filter, properties, index and footer.
 *
 * Invariants:
 *   1. Keys are added in strictly increasing skey_cmp() order: a key out of
 *      order is refused and changes nothing (sstable.c invariant 2).
 *   2. The file is written front to back without gaps, and each index
 *      entry records where its block was written, so the regions tile the
 *      file (sstable.c invariant 1).
 *   3. A write error sticks (b->err): nothing is written after it.
 *   4. sst_builder_finish() returns 0 only once the whole file is written
 *      and fdatasync()ed, and removes the file when it fails;
 *      sst_builder_abandon() removes it too.
 */
#include "error.h"
#include "sstable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "bloom.h"
#include "crc32c.h"
#include "format.h"
#include "io.h"
#include "sstable_int.h"
#include "util.h"

#define OUT_FLUSH (1u << 20)        /* builder write buffer */

void sst_options_init(struct sst_options *o)
{
	o->block_size = 4096;
	o->restart_interval = 16;
	o->bloom_bits_per_key = 10;
	o->compression = GOLITE_COMPRESS_NONE;
	o->disable_hash_index = false;
}

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
		return sst_io_fail(path, "create", fd);

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
		return b->err = sst_io_fail(b->path, "write", r);
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
			return b->err = sst_io_fail(b->path, "write", r);
	} else {
		sst_grow(&b->out, &b->out_cap, b->out_len + len);
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
	sst_grow(&b->index, &b->index_cap, b->index_len + sep_len + BLOCK_INDEX_ENTRY_EXTRA);
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
	if (!kind_valid(kind))
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

/* The properties of the table b built, its data ending at data_end. The
 * keys point into b. */
static void builder_props(const struct sst_builder *b, uint64_t data_end, struct sst_props *pr)
{
	*pr = (struct sst_props){
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
		.smallest = b->smallest,
		.largest = b->last,
		.smallest_len = (uint32_t)b->smallest_len,
		.largest_len = (uint32_t)(b->entries ? b->last_len : 0),
	};
}

static void put_props(const struct sst_builder *b, uint64_t data_end, uint8_t *p)
{
	struct sst_props pr;
	builder_props(b, data_end, &pr);
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
	sst_grow(&b->index, &b->index_cap, b->index_len + 4);
	put_le32(b->index + b->index_len, b->nblocks);
	b->index_len += 4;
	uint64_t index_off;
	emit_block(b, b->index, b->index_len, SST_BLOCK_RAW, &index_off);

	/* Footer. */
	uint8_t f[SST_FOOTER_SIZE];
	struct sst_footer h = { filter_off, filter_size, props_off,  props_size,
				index_off,  b->index_len, SST_FORMAT_VERSION };
	sst_footer_encode(f, &h);
	put_le32(f + SST_FOOTER_VERSION_OFF, SST_FORMAT_VERSION);
	put_le32(f + SST_FOOTER_CRC_OFF, crc32c_mask(crc32c(f, SST_FOOTER_CRC_OFF)));
	put_le64(f + SST_FOOTER_MAGIC_OFF, SST_MAGIC);
	emit(b, f, sizeof(f));

	int err = flush_out(b);
	if (!err) {
		int r = io_fdatasync(b->fd);
		if (r < 0)
			err = sst_io_fail(b->path, "fdatasync", r);
	}
	if (!err && b->o.compression == GOLITE_COMPRESS_NONE) {
		/*
		 * Warm the new table for its readers, in small pages. An
		 * uncompressed table is read through a mapping (sst_open), and
		 * the pages write() leaves in the page cache are large folios.
		 * On the machine docs/performance.md names, two dependent loads
		 * at a random place of a mapping of such pages took 2.8-3.7 us,
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
		err = sst_io_fail(b->path, "close", r);
	if (err) {
		io_unlink(b->path);
		builder_free(b);
		return err;
	}

	struct sst_props pr;
	builder_props(b, data_end, &pr);
	sst_meta_from_props(meta, b->file_no, b->offset, &pr);
	builder_free(b);
	return 0;
}
