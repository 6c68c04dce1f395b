/*
 * vfile.h — file records: what the mount stores for a file, a directory or
 * a symlink, a FIFO, a socket or a device node (KIND_META records), and
 * the chunks of large files. A pure
 * codec, shared by the engine (which reads files as values) and the mount;
 * the engine's file_read.h assembles a file's bytes from its chunks.
 *
 * File record (the value of a KIND_META record), little-endian:
 *
 *     offset  size  field
 *     0       1     format version: 1 for types 1-3, 2 for types 4-7
 *     1       1     type: 1 regular file, 2 directory, 3 symlink, 4 FIFO,
 *                   5 socket, 6 character device, 7 block device
 *     2       2     flags: bit 0 CHUNKED (data in the chunk table)
 *     4       4     mode (st_mode, type bits included)
 *     8       4     uid
 *     12      4     gid
 *     16      8     inode number (persistent, never reused)
 *     24      8     size in bytes (regular: file size; symlink: target
 *                   length; directory, FIFO, socket: 0); character and
 *                   block devices: the device number (st_rdev as Linux
 *                   encodes it), the file's size being 0
 *     32      8     mtime, ns since the epoch (signed)
 *     40      8     ctime, ns since the epoch (signed)
 *     48      8     atime, ns since the epoch (signed)
 *     56      2     number of extended attributes, n
 *     58      ...   n attributes: name_len u8 | value_len LE16 | name | value
 *     ...     ...   regular, not CHUNKED: the file's bytes (size of them)
 *                   symlink: the target (size bytes)
 *                   directory, FIFO, socket, device, or CHUNKED: nothing
 *
 * Version 2 adds types 4-8 and nothing else: records of types 1-3 are
 * still written as version 1, so that a reader of version 1 reads every
 * store without special files and hard links, and names the version of
 * those it cannot.
 *
 * Hard links. A file with several names keeps one shared record, its
 * inode, in table TABLE_ID_FS (GOLITE_TABLE_FS):
 *
 *     key:   'N' | inode BE64                    (9 bytes, vfile_inode_key)
 *     value: a file record of type 1, 3-7 (never 2 or 8) with that inode
 *            number: mode, owner, times, attributes, size, inline bytes;
 *            a chunked file's chunks are keyed by the same inode number
 *            and its owner record ('O' | inode BE64, fs/fs.h) names
 *            (TABLE_ID_FS, 'N' | inode)
 *
 * Each name is a type 8 record at its own key (any table):
 *
 *     mode:  the shared record's mode (its type bits serve listings)
 *     inode: the shared record's inode number
 *     every other field 0, no attributes, no data
 *
 * and a back reference in TABLE_ID_FS, one per name:
 *
 *     key:   'L' | inode BE64 | table id BE32 | key of the name
 *     value: empty (a KIND_VALUE record)
 *
 * The link count (st_nlink) is the number of back references whose name
 * still holds a type 8 record of that inode: a name overwritten or
 * deleted through the API (which does not read before it writes) stops
 * counting at once, and its stale back reference is removed by the
 * mount's sweep or `golite repair`. A shared record with no live name is
 * an orphan, freed the same way (with its chunks). The mount writes a
 * name, its back reference and the shared record's changes in one batch.
 *
 * Chunk (a KIND_VALUE record in table TABLE_ID_CHUNKS):
 *
 *     key:   inode BE64 | chunk index BE32      (12 bytes)
 *     value: bytes [index * VFILE_CHUNK, +len) of the file, len <= VFILE_CHUNK
 *
 * A missing chunk, and the part of a chunk past its length, read as zeros
 * (sparse files); bytes past the record's size are never part of the file.
 * Big-endian keys keep one file's chunks together and in order.
 *
 * Invariants:
 *   1. A record's inode number identifies its chunks; rename moves the
 *      record and leaves the chunks where they are.
 *   2. A record that is not CHUNKED has exactly size data bytes inline.
 */
#ifndef GOLITE_VFILE_H
#define GOLITE_VFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VFILE_VERSION 1u          /* records of types 1-3 */
#define VFILE_VERSION_SPECIAL 2u  /* records of types 4-7 */
#define VFILE_HEADER 58u
#define VFILE_CHUNK 4096u
#define VFILE_CHUNK_KEY 12u
#define VFILE_MAX_XATTRS 1024u
#define VFILE_MAX_XATTR_NAME 255u
#define VFILE_MAX_XATTR_VALUE 65535u

enum vfile_type {
	VFILE_REG = 1,
	VFILE_DIR = 2,
	VFILE_LNK = 3,
	VFILE_FIFO = 4,
	VFILE_SOCK = 5,
	VFILE_CHR = 6,
	VFILE_BLK = 7,
	VFILE_HLINK = 8,
};

/* Keys of TABLE_ID_FS for hard links (see above). */
#define VFILE_INODE_KEY 9u      /* 'N' | inode BE64 */
#define VFILE_BACKREF_PREFIX 9u /* 'L' | inode BE64, then table BE32 | key */
#define VFILE_KEY_INODE 'N'
#define VFILE_KEY_BACKREF 'L'

/* FIFOs, sockets and devices: no bytes of their own. */
static inline bool vfile_special(unsigned type)
{
	return type >= VFILE_FIFO && type <= VFILE_BLK;
}

/* Character and block devices: the size field holds the device number. */
static inline bool vfile_device(unsigned type)
{
	return type == VFILE_CHR || type == VFILE_BLK;
}

/* The type bits of st_mode (S_IFREG, ...) for a record type. */
uint32_t vfile_mode_type(unsigned type);

/* The record type for st_mode's type bits; 0 if there is none. */
unsigned vfile_type_of_mode(uint32_t mode);

/* "file", "dir", "link", "fifo", "socket", "chardev", "blockdev",
 * "hardlink" or "?". */
const char *vfile_type_name(unsigned type);

#define VFILE_F_CHUNKED 1u

struct vfile_xattr {
	const char *name;
	size_t name_len;
	const uint8_t *value;
	size_t value_len;
};

/* A decoded record. Pointers point into the encoded record. */
struct vfile {
	unsigned type;
	unsigned flags;
	uint32_t mode, uid, gid;
	uint64_t ino;
	uint64_t size;
	int64_t mtime_ns, ctime_ns, atime_ns;
	size_t nxattr;
	const uint8_t *xattrs;     /* encoded attributes */
	size_t xattrs_len;
	const uint8_t *data;       /* inline data or symlink target */
	size_t data_len;
};

/* Why a record does not decode. */
enum {
	VFILE_ESHORT = -1,    /* shorter than the header */
	VFILE_EVERSION = -2,  /* a format version other than 1 and 2 */
	VFILE_ETYPE = -3,     /* a type other than its version's */
	VFILE_EXATTR = -4,    /* an attribute runs past the record */
	VFILE_EDATA = -5,     /* data bytes do not match type, flags and size */
};

/* The bytes the record's key holds as a value: a regular file's, a
 * symlink's target; 0 for the other types. */
static inline uint64_t vfile_value_size(const struct vfile *f)
{
	return f->type == VFILE_REG || f->type == VFILE_LNK ? f->size : 0;
}

/* Decodes rec. Returns 0 or one of the VFILE_E* codes above. */
int vfile_decode(const uint8_t *rec, size_t len, struct vfile *f);

/* The words for a VFILE_E* code. */
const char *vfile_strerror(int r);

/* Size of the encoding of f (with data_len bytes of data). */
size_t vfile_encoded_size(const struct vfile *f);

/* Encodes f into buf (vfile_encoded_size bytes). f->xattrs is copied as is. */
void vfile_encode(const struct vfile *f, uint8_t *buf);

/* Iterates attributes: returns false past the last one. pos starts at 0. */
bool vfile_xattr_next(const struct vfile *f, size_t *pos, struct vfile_xattr *x);

/* Builds a chunk key into key[VFILE_CHUNK_KEY]. */
void vfile_chunk_key(uint8_t key[VFILE_CHUNK_KEY], uint64_t ino, uint32_t index);

/* The key of inode ino's shared record: key[VFILE_INODE_KEY]. */
void vfile_inode_key(uint8_t key[VFILE_INODE_KEY], uint64_t ino);

/* A back reference's key for the name (table, key) of inode ino, into
 * out (VFILE_BACKREF_PREFIX + 4 + klen bytes); returns its length. With
 * klen 0 and no table (table_too false), the prefix of all of ino's. */
size_t vfile_backref_key(uint8_t *out, uint64_t ino, bool table_too, uint32_t table,
			 const uint8_t *key, size_t klen);

/* Splits a back reference's key: false if it is not one. */
bool vfile_backref_parse(const uint8_t *k, size_t klen, uint64_t *ino, uint32_t *table,
			 const uint8_t **key, size_t *keylen);

/* A type 8 record naming inode ino of mode mode: buf[VFILE_HEADER]. */
void vfile_encode_hlink(uint8_t buf[VFILE_HEADER], uint64_t ino, uint32_t mode);

#endif /* GOLITE_VFILE_H */
