/*
 * portfs_format.h — how golitefs -o store=URI (portfs.c) keeps a tree in
 * a store reached through the store port (include/golite_store.h), byte
 * by byte. The port's own layout (etcd: store/etcd_format.h) lies below.
 *
 * Tables are the mount's top directories. In table T, the entry at path
 * "a/b/c" (below MOUNTPOINT/T) is the key "a/b/c" — names hold neither
 * '/' nor NUL, so an entry's key is its path — and the key's value is the
 * entry's record:
 *
 *   offset  size  field (integers little-endian)
 *   0       4     magic "GLPF"
 *   4       1     version: PF_VERSION (1)
 *   5       1     kind: 1 file, 2 directory, 3 symbolic link, 4 special
 *                 (FIFO, socket, character or block device: the type
 *                 bits of mode say which)
 *   6       2     0
 *   8       4     mode (st_mode: type and permission bits)
 *   12      4     uid
 *   16      4     gid
 *   20      4     nchunks: 0, or how many PF_CHUNK pieces hold the data
 *   24      8     ino: the file's number in T, from T's counter; names
 *                 its chunks
 *   32      8     size in bytes (a link: its target's length)
 *   40      8     mtime, ns since the epoch
 *   48      8     ctime, ns since the epoch
 *   56      8     atime, ns since the epoch (as set by utimensat; reads do
 *                 not move it: the mount behaves as with noatime)
 *   64      8     rdev: a device's number (makedev), else 0
 *   72      4*nchunks  gen[i]: the generation of chunk i (0: a hole)
 *   ...     size  the data itself, when nchunks is 0 (files up to
 *                 PF_INLINE_MAX bytes; a link's target)
 *   ...     2     count of extended attributes, then for each, in the
 *                 order they were first set:
 *             1     name length (1..255)
 *             n     name (e.g. "user.color"; no NUL)
 *             4     value length
 *             v     value
 *                 The area ends the record exactly; a record whose area
 *                 does not parse is taken for a plain value (below).
 *
 * A key whose value does not start with the magic and version (a value
 * put with `golite --store URI put` or the API) shows as a plain file of
 * mode 0644, owned by root, whose data is the value.
 *
 * Chunks. Chunk i of file ino, at generation g, is the key
 *
 *   0x00  ino (8 bytes, big-endian)  i (4 bytes, big-endian)  g (4 bytes,
 *   big-endian)                                      -- 17 bytes
 *
 * holding PF_CHUNK bytes (the last chunk: what is left of size). A flush
 * writes each changed chunk under a new generation (transactions of a few
 * chunks each, invisible since no record names them yet), then one
 * transaction replaces the record and deletes the chunks it no longer
 * names: a file's new contents appear whole, at once, to every mount.
 *
 * The counter: key 0x00 0x00 "ino" holds the next free ino of the table
 * (8 bytes); a mount takes PF_INO_BATCH numbers at a time in a
 * transaction. Keys starting with 0x00 are never entries: listings start
 * at 0x01.
 */
#ifndef GOLITEFS_PORTFS_FORMAT_H
#define GOLITEFS_PORTFS_FORMAT_H

#define PF_MAGIC "GLPF"
#define PF_VERSION 1
#define PF_HEADER 72
#define PF_FILE 1
#define PF_DIR 2
#define PF_LINK 3
#define PF_SPECIAL 4

#define PF_CHUNK (256u << 10)
#define PF_INLINE_MAX (64u << 10)
#define PF_CHUNK_KEY 17
#define PF_COUNTER_KEY "\0\0ino"
#define PF_COUNTER_KEY_LEN 5
#define PF_INO_BATCH 256

#endif
