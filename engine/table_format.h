/*
 * table_format.h — the SSTable file format, as LevelDB's table/format.h:
 * the drawing, the constants, the fixed-size parts (properties, footer)
 * encoded and decoded in one place, and the checks that tie them together.
 * sstable_build.c writes it; sstable.c, sstable_iter.c, sstable_tool.c and
 * check_table.c read it. Data blocks are coded as block.h draws them.
 *
 * File layout (all integers little-endian unless said otherwise):
 *
 *     offset 0
 *     +------------------------------+
 *     | data block 0   + trailer     |  entries in skey order, drawn in
 *     |                              |  block.h: prefix-compressed keys,
 *     |                              |  restart array, hash index
 *     | data block 1   + trailer     |
 *     | ...                          |
 *     +------------------------------+  data_end (= footer.filter_off)
 *     | filter block   + trailer     |  bloom.h encoding; absent if
 *     |                              |  footer.filter_size == 0
 *     +------------------------------+  footer.props_off
 *     | properties     + trailer     |
 *     +------------------------------+  footer.index_off
 *     | index block    + trailer     |
 *     +------------------------------+  file_size - 64
 *     | footer (64 bytes)            |
 *     +------------------------------+  file_size
 *
 * Every byte belongs to exactly one of these regions: nothing is padding,
 * so damage anywhere is caught by a checksum or a length check.
 *
 * Block trailer (5 bytes), after every block's stored payload:
 *
 *     +---------+------------------------------------------------+
 *     | type u8 | masked CRC32C (crc32c.h) of payload || type u32 |
 *     +---------+------------------------------------------------+
 *
 *     type 0 (raw): the payload is the block itself.
 *     type 1 (LZ4), 2 (zstd): the payload is varint32 raw_len followed by
 *     the compressed block (an LZ4 block / a zstd frame) of raw_len bytes.
 *     A data block is stored compressed only if that saves 1/8 of it.
 *     Filter, properties and index blocks are always raw.
 *
 * Index block payload (sizes exclude the trailer):
 *
 *     +----------------------------------------------------------+
 *     | per data block i:                                        |
 *     |   varint32 sep_len | sep (an skey) | varint64 offset |    |
 *     |   varint32 size                                          |
 *     +----------------------------------------------------------+
 *     | u32 block count                                          |
 *     +----------------------------------------------------------+
 *
 *     sep_i >= every key of block i, and < every key of block i+1 (it is a
 *     short key between the two when one exists, LevelDB's
 *     FindShortestSeparator; the last block's is its last key). Blocks are
 *     contiguous: offset_0 = 0, offset_{i+1} = offset_i + size_i + 5, and
 *     the last ends at data_end.
 *
 * Properties block payload (SST_PROPS_FIXED = 96 bytes, then the keys):
 *
 *      0 u64 file_no            8 u64 entries         16 u64 deletions
 *     24 u64 min_seq           32 u64 max_seq         40 u64 raw_key_bytes
 *     48 u64 raw_value_bytes   56 u64 data_blocks     64 u64 data_end
 *     72 u32 block_size        76 u32 restart_interval
 *     80 u32 bloom_bits_per_key                       84 u32 compression
 *     88 u32 smallest_len      92 u32 largest_len
 *     96 smallest skey, then largest skey (both empty for an empty table)
 *
 * Footer (SST_FOOTER_SIZE = 64 bytes, at file_size - 64):
 *
 *      0 u64 filter_off (= data_end)     8 u64 filter_size (0 = no filter)
 *     16 u64 props_off                  24 u64 props_size
 *     32 u64 index_off                  40 u64 index_size
 *     48 u32 format version (3)         52 u32 masked CRC32C of bytes 0..51
 *     56 u64 magic SST_MAGIC, the bytes "\x89GLSST\r\n"
 *
 *     Sizes are payload sizes, trailers excluded. A reader checks the magic,
 *     then the version (so that a later format may change the rest), then
 *     the checksum.
 */
#ifndef GOLITE_TABLE_FORMAT_H
#define GOLITE_TABLE_FORMAT_H

#include <stdint.h>

#include "format.h"
#include "golite.h"
#include "util.h"

/* "\x89GLSST\r\n": the high byte and CR LF catch text-mode mangling, as
 * PNG's signature does. Stored as these 8 bytes, i.e. this LE64 value. */
#define SST_MAGIC            UINT64_C(0x0a0d5453534c4789)
#define SST_MAGIC_SIZE       8u
/* Version 2 (2026-12-07): entries may be expiring ones (kinds 0x11 and
 * 0x12, format.h); nothing else changed, and version 1 tables, which
 * hold none, are read as before. */
/* Version 3 (2026-12-08): entries may be separated values (kind 0x21,
 * format.h; the value is a pointer, vlog.h); nothing else changed. */
#define SST_FORMAT_VERSION   3u
#define SST_FORMAT_VERSION_MIN 1u
#define SST_BLOCK_TRAILER    5u      /* u8 type, u32 masked CRC32C */
#define SST_PROPS_FIXED      96u     /* fixed part of the properties block */

/* The footer: its size, and the offsets of the fields after the handles. */
#define SST_FOOTER_SIZE        64u
#define SST_FOOTER_VERSION_OFF 48u
#define SST_FOOTER_CRC_OFF     52u   /* covers the bytes before it */
#define SST_FOOTER_MAGIC_OFF   56u

/* Block types (byte 0 of a block trailer). Equal to golite_compression. */
enum sst_block_type {
	SST_BLOCK_RAW = 0,
	SST_BLOCK_LZ4 = 1,
	SST_BLOCK_ZSTD = 2,
};

#define SKEY_MAX (IKEY_MAX + TRAILER_SIZE)
/* Largest decoded block a reader accepts: a block holds entries up to
 * block_size, and the last one may carry a value of GOLITE_MAX_VALUE_SIZE. */
#define SST_MAX_BLOCK_SIZE (GOLITE_MAX_VALUE_SIZE + (64u << 20))

_Static_assert((int)SST_BLOCK_RAW == (int)GOLITE_COMPRESS_NONE &&
	       (int)SST_BLOCK_LZ4 == (int)GOLITE_COMPRESS_LZ4 &&
	       (int)SST_BLOCK_ZSTD == (int)GOLITE_COMPRESS_ZSTD,
	       "block types are the compression enum");
_Static_assert(SKEY_MAX == 4 + GOLITE_MAX_KEY_SIZE + 8, "skey = table id + key + trailer");
_Static_assert(SST_MAX_BLOCK_SIZE < UINT32_MAX, "restart offsets are u32");
_Static_assert(SST_FOOTER_VERSION_OFF == 6 * 8, "three handles, then the version");
_Static_assert(SST_FOOTER_CRC_OFF == SST_FOOTER_VERSION_OFF + 4, "the checksum follows");
_Static_assert(SST_FOOTER_MAGIC_OFF == SST_FOOTER_CRC_OFF + 4, "the magic follows");
_Static_assert(SST_FOOTER_SIZE == SST_FOOTER_MAGIC_OFF + SST_MAGIC_SIZE,
	       "footer fields fill 64 bytes");
_Static_assert(SST_PROPS_FIXED == 9 * 8 + 6 * 4, "nine u64 and six u32 properties");

/* The block handles of the footer. */
struct sst_footer {
	uint64_t filter_off, filter_size, props_off, props_size, index_off, index_size;
	uint32_t version;
};

/* The fixed part of the properties block, and where its keys are. */
struct sst_props {
	uint64_t file_no, entries, deletions, min_seq, max_seq, raw_keys, raw_values;
	uint64_t data_blocks, data_end;
	uint32_t block_size, restart_interval, bloom_bits, compression;
	const uint8_t *smallest, *largest;  /* in the block's buffer (decoding) */
	uint32_t smallest_len, largest_len;
};

/* Writes the handles into f[0, SST_FOOTER_VERSION_OFF). The caller adds
 * version, checksum and magic. */
static inline void sst_footer_encode(uint8_t *f, const struct sst_footer *h)
{
	put_le64(f + 0, h->filter_off);
	put_le64(f + 8, h->filter_size);
	put_le64(f + 16, h->props_off);
	put_le64(f + 24, h->props_size);
	put_le64(f + 32, h->index_off);
	put_le64(f + 40, h->index_size);
}

/* Reads the handles of footer f (its magic, version and checksum are the
 * caller's to check). */
static inline void sst_footer_decode(const uint8_t *f, struct sst_footer *h)
{
	h->filter_off = get_le64(f + 0);
	h->filter_size = get_le64(f + 8);
	h->props_off = get_le64(f + 16);
	h->props_size = get_le64(f + 24);
	h->index_off = get_le64(f + 32);
	h->index_size = get_le64(f + 40);
	h->version = get_le32(f + SST_FOOTER_VERSION_OFF);
}

/* Writes the fixed part of a properties block (SST_PROPS_FIXED bytes); the
 * keys follow it. */
static inline void sst_props_encode(uint8_t *p, const struct sst_props *pr)
{
	put_le64(p + 0, pr->file_no);
	put_le64(p + 8, pr->entries);
	put_le64(p + 16, pr->deletions);
	put_le64(p + 24, pr->min_seq);
	put_le64(p + 32, pr->max_seq);
	put_le64(p + 40, pr->raw_keys);
	put_le64(p + 48, pr->raw_values);
	put_le64(p + 56, pr->data_blocks);
	put_le64(p + 64, pr->data_end);
	put_le32(p + 72, pr->block_size);
	put_le32(p + 76, pr->restart_interval);
	put_le32(p + 80, pr->bloom_bits);
	put_le32(p + 84, pr->compression);
	put_le32(p + 88, pr->smallest_len);
	put_le32(p + 92, pr->largest_len);
}

/* Reads the fixed part of a properties block; smallest and largest are
 * the caller's to set. */
static inline void sst_props_decode(const uint8_t *p, struct sst_props *pr)
{
	pr->file_no = get_le64(p + 0);
	pr->entries = get_le64(p + 8);
	pr->deletions = get_le64(p + 16);
	pr->min_seq = get_le64(p + 24);
	pr->max_seq = get_le64(p + 32);
	pr->raw_keys = get_le64(p + 40);
	pr->raw_values = get_le64(p + 48);
	pr->data_blocks = get_le64(p + 56);
	pr->data_end = get_le64(p + 64);
	pr->block_size = get_le32(p + 72);
	pr->restart_interval = get_le32(p + 76);
	pr->bloom_bits = get_le32(p + 80);
	pr->compression = get_le32(p + 84);
	pr->smallest_len = get_le32(p + 88);
	pr->largest_len = get_le32(p + 92);
}

#endif /* GOLITE_TABLE_FORMAT_H */
