/*
 * etcd_format.h — how a GoLite store lies in etcd's key space.
 *
 * A store is every etcd key that starts with its prefix P: the URI's path
 * without its leading '/', followed by '/' (etcd://h:2379/prod/kv gives
 * P = "prod/kv/"; a URI without a path gives P = "golite/"). Stores with
 * different prefixes never read each other's keys, even nested ones
 * ("a/" and "a/k/"): every range a store reads is one of its own kinds
 * below, and a record's table name is followed by a NUL byte, which no
 * table name and no prefix holds.
 *
 * Under P, the byte after P says what a key is; the kinds sort apart, so
 * a range read of one kind never meets another:
 *
 *   P "h"                     the store header (below)
 *   P "t/" NAME               a table; NAME is the table name (1..255
 *                             bytes, no '/', no NUL); value: the table
 *                             header (below)
 *   P "k/" NAME 0x00 KEY      a record: KEY (1..8192 bytes, any) of table
 *                             NAME; value: the value's bytes as they are
 *
 * (What a user of the port keeps in a table is its own: the mount's
 * entries, chunks and inode counter are records, fs/portfs_format.h.)
 *
 * A table's records are the keys in [P "k/" NAME 0x00, P "k/" NAME 0x01):
 * NAME holds no NUL, so one table's range never holds another's records,
 * and keys sort within it in byte order, as GoLite's do.
 *
 * Store header (P "h"), 16 bytes, written once by the open that creates
 * the store (a transaction that requires the key to be absent):
 *
 *   offset  size  field
 *   0       8     magic "GLETCDKV"
 *   8       4     version, little-endian: ETCD_FORMAT_VERSION (1)
 *   12      4     flags, little-endian: 0 (no flag is defined; an open
 *                 refuses a store with a flag it does not know)
 *
 * Table header (P "t/" NAME), 8 bytes:
 *
 *   0       4     magic "GLTB"
 *   4       4     flags, little-endian: 0
 *
 * Versions. A record's version (golite_store.h) is its etcd mod_revision:
 * the revision of the transaction that last wrote it, non-zero, changed
 * by every write. A transaction's checks are etcd compares on
 * mod_revision (equal to the one read; 0 for a key read as absent, which
 * is how etcd sees a missing key) and on each table written (its
 * create_revision is non-zero: it exists).
 *
 * Limits. etcd refuses a request over --max-request-bytes (1.5 MiB by
 * default) and a transaction of more than --max-txn-ops (128) operations
 * in any of its lists. Keys and values travel in base64 (4 bytes for 3),
 * so the backend takes values up to ETCD_MAX_VALUE (1 MiB), and per
 * commit up to ETCD_MAX_TXN_BYTES of keys and values (1 MiB + 16 KiB: one
 * largest value with its key), ETCD_MAX_TXN_WRITES writes and
 * ETCD_MAX_TXN_COMPARES checks.
 */
#ifndef GOLITE_ETCD_FORMAT_H
#define GOLITE_ETCD_FORMAT_H

#define ETCD_HEADER_MAGIC "GLETCDKV"
#define ETCD_HEADER_SIZE 16
#define ETCD_FORMAT_VERSION 1u
#define ETCD_TABLE_MAGIC "GLTB"
#define ETCD_TABLE_SIZE 8

#define ETCD_DEFAULT_PREFIX "golite"

#define ETCD_MAX_VALUE (1u << 20)
#define ETCD_MAX_TXN_BYTES ((1u << 20) + (16u << 10))
#define ETCD_MAX_TXN_WRITES 128u
#define ETCD_MAX_TXN_COMPARES 128u

#endif
