/*
 * wal_format.h — the write-ahead log's segment format, as LevelDB's
 * db/log_format.h: the drawing, the constants and the checks that tie them
 * together. wal.c writes it (and repair.c, through wal.c's encoders);
 * wal_reader.c (replay), wal_tool.c (verify, dump) and check_wal.c read it.
 *
 * Segment file NNNNNNNN.wal (filename.h; the number is the store's file
 * number), all integers little-endian:
 *
 *     offset  size  field
 *     0       8     magic "GOLITEWL"
 *     8       4     format version, LE32 = 2 (1 is read too)
 *     12      4     flags, LE32 = 0
 *     16      8     segment number, LE64 (equals the file name's number)
 *     24      4     masked CRC32C of bytes 0..23
 *     28      4     zero
 *     32      ...   records, back to back
 *
 * Record:
 *
 *     +----------+----------+---------+---------------------+-------------+
 *     | crc LE32 | len LE32 | type u8 | payload (len bytes) | synced LE32 |
 *     +----------+----------+---------+---------------------+-------------+
 *
 *     crc     masked CRC32C of len, type, payload and synced (bytes 4 ..
 *             13+len)
 *     len     payload bytes; a record carries at most WAL_MAX_FRAGMENT
 *     type    1 FULL     a whole logical record
 *             2 FIRST    first fragment of a logical record
 *             3 MIDDLE   further fragment
 *             4 LAST     final fragment
 *             5 MARK     no payload: appended by the log thread after each
 *                        fdatasync (and written with the next write, or
 *                        alone), so that its synced mark vouches for what
 *                        that sync covered even when no record follows
 *     synced  how much of this segment (an offset) was known to be on disk
 *             (fdatasync) when the record was appended
 *
 * Telling a torn tail from damage. Until fdatasync, the kernel may write a
 * segment's pages in any order, so after a power cut the unsynced tail may
 * hold garbage or holes followed by valid records. Damage at offset D is
 * therefore a torn tail unless (a) some valid record after D carries a
 * synced mark above D — it was appended after D was on disk — or (b) a
 * later segment holds a record: a segment is fdatasynced before any record
 * of the next one is written.
 *
 * A logical record larger than WAL_MAX_FRAGMENT is written as FIRST,
 * MIDDLE..., LAST, contiguous in one segment, each fragment checksummed;
 * the logical payload is their concatenation. Space after the last record
 * may hold zeros (reserved space, or zeros written ahead: see wal.c) or,
 * after a crash, garbage. Readers take zeros after the last record for the
 * clean end they are.
 */
#ifndef GOLITE_WAL_FORMAT_H
#define GOLITE_WAL_FORMAT_H

#include <stdint.h>

#define WAL_MAGIC "GOLITEWL"
#define WAL_MAGIC_SIZE 8u
/* Version 2 (2026-12-07): records may carry expiring entries (kinds 0x11
 * and 0x12, format.h); nothing else changed, and version 1 segments,
 * which hold none, are read as before. */
#define WAL_VERSION 2u
#define WAL_VERSION_MIN 1u

/* The segment header: offsets of its fields, and its size. */
#define WAL_HDR_VERSION_OFF 8u
#define WAL_HDR_FLAGS_OFF 12u
#define WAL_HDR_SEGNO_OFF 16u
#define WAL_HDR_CRC_OFF 24u          /* covers the bytes before it */
#define WAL_SEGMENT_HEADER 32u

/* A record: offsets of its header fields; the payload follows the header
 * and the synced mark follows the payload. */
#define WAL_REC_LEN_OFF 4u
#define WAL_REC_TYPE_OFF 8u
#define WAL_RECORD_HEADER 9u         /* crc, len, type */
#define WAL_SYNCED_SIZE 4u
#define WAL_RECORD_OVERHEAD 13u      /* crc, len, type, then the synced mark */
#define WAL_MAX_FRAGMENT (1u << 20)  /* payload bytes of one record */

/* Record types (byte WAL_REC_TYPE_OFF). Stored: never renumber. */
enum {
	WAL_REC_FULL = 1,
	WAL_REC_FIRST = 2,
	WAL_REC_MIDDLE = 3,
	WAL_REC_LAST = 4,
	WAL_REC_MARK = 5,
};

_Static_assert(sizeof(WAL_MAGIC) - 1 == WAL_MAGIC_SIZE, "magic is 8 bytes");
_Static_assert(WAL_HDR_VERSION_OFF == WAL_MAGIC_SIZE, "the version follows the magic");
_Static_assert(WAL_HDR_CRC_OFF == WAL_HDR_SEGNO_OFF + 8, "the checksum follows the number");
_Static_assert(WAL_SEGMENT_HEADER == WAL_HDR_CRC_OFF + 4 + 4, "checksum, then a zero word");
_Static_assert(WAL_RECORD_HEADER == WAL_REC_TYPE_OFF + 1, "the payload follows the type");
_Static_assert(WAL_RECORD_OVERHEAD == WAL_RECORD_HEADER + WAL_SYNCED_SIZE,
	       "header and synced mark");
_Static_assert(WAL_MAX_FRAGMENT <= UINT32_MAX - WAL_RECORD_OVERHEAD, "len is a u32");

#endif /* GOLITE_WAL_FORMAT_H */
