/*
 * format.h — the engine's internal key and entry format, shared by the
 * memtable, the write-ahead log and SSTables.
 *
 * Internal key (ikey): the 4-byte big-endian table id, then the user key.
 * Big-endian makes memcmp() order group keys by table, then by user key:
 *
 *     +----------------+---------------------------+
 *     | table id BE32  | user key (1..8192 bytes)  |
 *     +----------------+---------------------------+
 *
 * Each write carries a sequence number (56 bits, strictly increasing across
 * the store) and a kind. Versions of one ikey are ordered newest first
 * (descending sequence). In SSTables an entry's key is the ikey followed
 * by an 8-byte little-endian trailer, (seq << 8) | kind, as LevelDB does:
 *
 *     +-----------+-------------------------------+
 *     | ikey      | trailer LE64 = seq<<8 | kind  |
 *     +-----------+-------------------------------+
 *
 * Invariants:
 *   1. ikeys compare with ikey_cmp(): memcmp over the common length, then
 *      the shorter first.
 *   2. Entries compare by ikey ascending, then sequence descending.
 *   3. Sequence 0 is never assigned; SEQ_MAX means "newest".
 *
 * Expiring entries (log segments and tables of format version 2 on:
 * wal_format.h, table_format.h; a build that reads only version 1 refuses
 * those files as a newer version, never misreads them). A value or file
 * record with a time to live is stored with KIND_EXPIRES added to its
 * kind, and its stored value starts with the time it expires at:
 *
 *     +------------------------------+---------------------------+
 *     | expires at LE64 (ms since    | the value (0..64 MiB)     |
 *     | the epoch, wall clock, >= 1) |                           |
 *     +------------------------------+---------------------------+
 *
 * Reads strip the 8 bytes and hide the entry once the store's clock
 * (db_clock_ms) has reached the time, as if it were a tombstone (reads
 * at a snapshot judge by the snapshot's creation time instead). The
 * expiry index (TABLE_ID_EXPIRY, expire.c) finds expired keys, which
 * are then deleted with a tombstone like any other key.
 *
 * Separated values (tables of format version 3 on: table_format.h). A
 * plain value (KIND_VALUE, not expiring) of at least
 * golite_options.separate_values_from bytes is not copied into the table
 * its memtable is flushed to: the table gets an entry of kind
 * KIND_VALUE | KIND_SEPARATE whose stored value is a pointer to the bytes
 * where the log wrote them (vlog.h draws it). Reads follow the pointer;
 * flushes, compactions and reclaim copy the pointer, never the value.
 */
#ifndef GOLITE_FORMAT_H
#define GOLITE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "golite_raw.h"
#include "golite_tools.h"
#include "util.h"

#define SEQ_MAX ((UINT64_C(1) << 56) - 1)

/* What an entry records (the numbers are golite_raw.h's). Stored in WAL
 * records and SSTables: never renumber. */
enum entry_kind {
	KIND_DELETE = GOLITE_KIND_DELETE,  /* a tombstone: the key is absent */
	KIND_VALUE = GOLITE_KIND_VALUE,    /* a plain value written through the API */
	KIND_META = GOLITE_KIND_META,      /* a file record written through the mount */
	KIND_MAX = KIND_META,
	KIND_EXPIRES = 0x10,               /* added to VALUE or META: the value
					    * starts with its expiry (above) */
	KIND_SEPARATE = 0x20,              /* added to VALUE in tables only: the
					    * stored value is a pointer to the
					    * value's bytes in a value file
					    * (vlog.h) */
};

#define EXPIRES_PREFIX 8u

/* True for a kind an entry may have on disk. */
static inline bool kind_valid(unsigned kind)
{
	if (kind == (KIND_VALUE | KIND_SEPARATE))
		return true;
	if (kind & KIND_EXPIRES)
		kind &= ~(unsigned)KIND_EXPIRES;
	else
		return kind <= KIND_MAX;
	return kind == KIND_VALUE || kind == KIND_META;
}

/* The kind without its expiry and separation flags. */
static inline unsigned kind_base(unsigned kind)
{
	return kind & ~(unsigned)(KIND_EXPIRES | KIND_SEPARATE);
}

/* Table ids. 0..15 are the store's own; user tables start at 16. */
#define TABLE_ID_CATALOG    GOLITE_TABLE_CATALOG  /* table names -> ids (catalog.h) */
#define TABLE_ID_CHUNKS     GOLITE_TABLE_CHUNKS  /* chunks of large files (vfile.h) */
#define TABLE_ID_FS         GOLITE_TABLE_FS      /* the mount's own records (fs/) */
#define TABLE_ID_EXPIRY     3u   /* expiring keys by time (expire.c) */
#define TABLE_ID_FIRST_USER 16u

#define IKEY_PREFIX 4u                                   /* table id bytes */
#define IKEY_MAX (IKEY_PREFIX + 8192u)                   /* = 4 + GOLITE_MAX_KEY_SIZE */
#define TRAILER_SIZE 8u

/* Inlined and eight bytes at a time: keys are short and this comparison is
 * the inner loop of skip-list searches, block searches and merges. */
static inline int ikey_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	size_t n = alen < blen ? alen : blen;
	const uint8_t *p = a, *q = b;
	for (; n >= 8; n -= 8, p += 8, q += 8) {
		uint64_t x = get_be64(p), y = get_be64(q);
		if (x != y)
			return x < y ? -1 : 1;
	}
	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p < *q ? -1 : 1;
	return alen < blen ? -1 : alen > blen;
}

/* Builds an ikey in buf (IKEY_PREFIX + klen bytes). Returns its length. */
static inline size_t ikey_make(uint8_t *buf, uint32_t table_id, const void *key, size_t klen)
{
	put_be32(buf, table_id);
	if (klen)
		memcpy(buf + IKEY_PREFIX, key, klen);
	return IKEY_PREFIX + klen;
}

static inline uint32_t ikey_table(const void *ikey)
{
	return get_be32(ikey);
}

static inline uint64_t trailer_pack(uint64_t seq, unsigned kind)
{
	return (seq << 8) | kind;
}

static inline uint64_t trailer_seq(uint64_t t) { return t >> 8; }
static inline unsigned trailer_kind(uint64_t t) { return (unsigned)(t & 0xff); }

/*
 * Compares two SSTable keys (ikey || trailer): ikey ascending, then trailer
 * descending (newest first). Both lengths include the trailer.
 */
static inline int skey_cmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int c = ikey_cmp(a, alen - TRAILER_SIZE, b, blen - TRAILER_SIZE);
	if (c)
		return c;
	uint64_t ta = get_le64((const uint8_t *)a + alen - TRAILER_SIZE);
	uint64_t tb = get_le64((const uint8_t *)b + blen - TRAILER_SIZE);
	return ta > tb ? -1 : ta < tb;
}

#endif /* GOLITE_FORMAT_H */
