/*
 * golite_raw.h — the engine as the filesystem daemon sees it, beside
 * golite.h: records with their kind, tables by id, and the store's own
 * tables. This and golite.h are the daemon's whole view of the engine;
 * the file record codec it shares with the engine is common/vfile.h.
 *
 * The public API (golite.h) reads and writes GOLITE_KIND_VALUE records of
 * user tables by name. The mount also writes GOLITE_KIND_META records
 * (files, directories and symlinks with metadata, common/vfile.h) and uses
 * the hidden tables GOLITE_TABLE_CHUNKS (data of large files) and
 * GOLITE_TABLE_FS (its own bookkeeping). Everything here follows
 * golite.h's conventions: 0 or a negative GOLITE_E* code, details in
 * golite_last_error().
 */
#ifndef GOLITE_RAW_H
#define GOLITE_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golite.h"

/* What a record holds. Stored in logs and tables: never renumber. */
enum golite_kind {
	GOLITE_KIND_DELETE = 0,  /* a tombstone: the key is absent */
	GOLITE_KIND_VALUE = 1,   /* a plain value written through the API */
	GOLITE_KIND_META = 2,    /* a file record written through the mount */
};

/* The store's own tables the daemon uses (ids below 16 are the store's). */
#define GOLITE_TABLE_CHUNKS 1u   /* chunks of large files (common/vfile.h) */
#define GOLITE_TABLE_FS     2u   /* the mount's own records */

/* Resolves a table name to its id. */
int golite_table_id(golite *db, const char *name, uint32_t *id);

/*
 * Reads the newest record of (table_id, key) without interpreting it:
 * *kind is GOLITE_KIND_VALUE or GOLITE_KIND_META. With buf, copies the value if it fits
 * in cap (GOLITE_ERANGE otherwise, *vlen set); with alloc, returns a
 * malloc()ed copy. Either may be NULL to learn only kind and length.
 */
int golite_get_raw(golite *db, uint32_t table_id, const void *key, size_t klen,
		   unsigned *kind, void *buf, size_t cap, void **alloc, size_t *vlen);

/* Writes one record of the given kind (GOLITE_KIND_VALUE or GOLITE_KIND_META). */
int golite_put_raw(golite *db, uint32_t table_id, unsigned kind, const void *key,
		   size_t klen, const void *value, size_t vlen);

/* Adds raw operations to a batch (mixable with golite_batch_put). */
int golite_batch_put_raw(golite_batch *b, uint32_t table_id, unsigned kind, const void *key,
			 size_t klen, const void *value, size_t vlen);
int golite_batch_delete_raw(golite_batch *b, uint32_t table_id, const void *key, size_t klen);

/* An iterator over a table by id (hidden tables included); its values are
 * raw (golite_iter_value_raw) and golite_iter_kind tells their kind. */
int golite_iter_new_raw(golite *db, uint32_t table_id, const golite_iter_options *o,
			golite_iter **out);
unsigned golite_iter_kind(const golite_iter *it);
const void *golite_iter_value_raw(const golite_iter *it, size_t *vlen);

/* Copies the name of table id into buf (cap bytes, NUL-terminated).
 * GOLITE_ENOTABLE if no table has that id, GOLITE_ERANGE if the name does
 * not fit. */
int golite_table_name(golite *db, uint32_t id, char *buf, size_t cap);

/*
 * Reads bytes [off, off + len) of the chunked file whose inode number is
 * ino (its chunks in GOLITE_TABLE_CHUNKS, common/vfile.h) into buf. A
 * missing chunk, and the part of a chunk past its length, read as zeros;
 * whether the range lies within the file's size is the caller's to know
 * (the record says). The one reader of the chunk table: golite_get() of a
 * chunked file and the mount's reads both come here. GOLITE_ECORRUPT if a
 * chunk holds more than VFILE_CHUNK bytes, GOLITE_EINVAL past chunk 2^32;
 * on an error buf's contents are undefined. Takes no lock a writer takes;
 * the chunks read are each the newest when read, not one snapshot.
 */
int golite_chunks_read(golite *db, uint64_t ino, uint64_t off, void *buf, size_t len);

/* Sequence number of the newest acknowledged write (for change feeds). */
uint64_t golite_last_sequence(golite *db);

#endif /* GOLITE_RAW_H */
