/*
 * manifest_format.h — the format of MANIFEST, the list of live tables
 * (manifest.h), kept as LevelDB keeps its log format in db/log_format.h:
 * the drawing, the constants and the checks that tie them together.
 * manifest.c writes and reads it (also edit by edit past damage, for
 * check and repair).
 *
 * File layout, little-endian:
 *
 *     offset  size  field
 *     0       8     magic "GOLITEMF"
 *     8       4     format version: 1, or 2 when SNAPSHOT edits follow
 *     12      4     number of edits that follow, n
 *     16      ...   n edits
 *
 * Edit:
 *
 *     +----------+----------+-----------------------+
 *     | len LE32 | crc LE32 | tag u8 | body (len-1) |
 *     +----------+----------+-----------------------+
 *
 *     crc   masked CRC32C of the tag and body
 *
 * Tags and bodies (u64 fields are LE64, "key" is varint length + bytes):
 *     1 LOG_NUMBER       u64        log segments below it hold only
 *                                   flushed data and may be deleted
 *     2 NEXT_FILE        u64        next file number to allocate
 *     3 LAST_SEQ         u64        newest sequence in the tables
 *     4 ADD_FILE         level u8, file_no, file_size, entries,
 *                        deletions, min_seq, max_seq, raw_key_bytes,
 *                        raw_value_bytes (u64 each), smallest key,
 *                        largest key
 *     5 COMPACT_POINTER  level u8, key
 *     6 COUNTERS         flush_bytes, compact_bytes, compact_read_bytes,
 *                        user_bytes (u64 each)
 *     7 SNAPSHOT         a named snapshot (version 2 only):
 *
 *         offset  size  field
 *         0       1     tag = 7
 *         1       8     sequence, LE64: the snapshot reads every
 *                       version <= it (never above LAST_SEQ or the log's)
 *         9       8     creation time, LE64: ns since the epoch
 *         17      v     name length, varint (1..255)
 *         17+v    len   name: bytes without '/' or NUL, not "." or ".."
 *
 * A tag outside 1..7 (outside 1..6 in version 1) is not a later extension
 * but damage: a format that adds tags bumps the version. Version 2 exists
 * so that a build without snapshots refuses a store holding some
 * ("manifest format 2, this build reads 1") instead of dropping the
 * versions they keep; a store without named snapshots is written as
 * version 1, which every build reads.
 */
#ifndef GOLITE_MANIFEST_FORMAT_H
#define GOLITE_MANIFEST_FORMAT_H

#define MANIFEST_MAGIC "GOLITEMF"
#define MANIFEST_MAGIC_SIZE 8u
#define MANIFEST_VERSION 1u            /* without SNAPSHOT edits */
#define MANIFEST_VERSION_SNAPSHOTS 2u  /* with them */

/* The file header: offsets of its fields, and its size. */
#define MANIFEST_HDR_VERSION_OFF 8u
#define MANIFEST_HDR_COUNT_OFF 12u
#define MANIFEST_HEADER 16u

/* An edit: the checksum's offset, and the bytes before the tag. */
#define MANIFEST_EDIT_CRC_OFF 4u
#define MANIFEST_EDIT_HEADER 8u

/* Edit tags. Stored: never renumber. */
enum manifest_tag {
	MF_TAG_LOG_NUMBER = 1,
	MF_TAG_NEXT_FILE = 2,
	MF_TAG_LAST_SEQ = 3,
	MF_TAG_ADD_FILE = 4,
	MF_TAG_COMPACT_POINTER = 5,
	MF_TAG_COUNTERS = 6,
	MF_TAG_SNAPSHOT = 7,
	MF_TAG_FIRST = MF_TAG_LOG_NUMBER,
	MF_TAG_LAST = MF_TAG_SNAPSHOT,
	MF_TAG_LAST_V1 = MF_TAG_COUNTERS,
};

/* A SNAPSHOT edit's body: offsets after the tag, and the longest name. */
#define MF_SNAPSHOT_SEQ_OFF 1u
#define MF_SNAPSHOT_TIME_OFF 9u
#define MF_SNAPSHOT_NAME_OFF 17u
#define MF_SNAPSHOT_NAME_MAX 255u

_Static_assert(sizeof(MANIFEST_MAGIC) - 1 == MANIFEST_MAGIC_SIZE, "magic is 8 bytes");
_Static_assert(MANIFEST_HDR_VERSION_OFF == MANIFEST_MAGIC_SIZE, "the version follows the magic");
_Static_assert(MANIFEST_HEADER == MANIFEST_HDR_COUNT_OFF + 4, "the edits follow the count");
_Static_assert(MANIFEST_EDIT_HEADER == MANIFEST_EDIT_CRC_OFF + 4, "the tag follows the crc");
_Static_assert(MF_SNAPSHOT_TIME_OFF == MF_SNAPSHOT_SEQ_OFF + 8, "the time follows the sequence");
_Static_assert(MF_SNAPSHOT_NAME_OFF == MF_SNAPSHOT_TIME_OFF + 8, "the name follows the time");
_Static_assert(MF_SNAPSHOT_NAME_MAX == 255u, "golite.h: GOLITE_MAX_SNAPSHOT_NAME");

#endif /* GOLITE_MANIFEST_FORMAT_H */
