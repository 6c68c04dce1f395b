/*
 * sstable.h — sorted string tables: the immutable, sorted, checksummed files
 * that hold every flushed and compacted entry. The byte layout is drawn in
 * table_format.h; block coding in block.h.
 *
 * A table is written once by an sst_builder (entries in skey order, format.h)
 * and then only read, through an sst_reader shared by every thread. Readers
 * answer point lookups (sst_get) and ordered scans (sst_iter).
 *
 * Two read paths, chosen at open:
 *   - mmap (uncompressed tables, the default): the file is mapped read-only
 *     and blocks are read in place; each block's checksum is verified the
 *     first time it is used. The descriptor is closed once mapped. Reads
 *     of the mapping bypass io.h (no fault injection), and a media error
 *     under the mapping raises SIGBUS instead of returning GOLITE_EIO.
 *     Iterators read the blocks they step through with io_pread, in
 *     windows of consecutive blocks, through a descriptor of their own
 *     (see sstable_iter.c); a seek reads its block in place.
 *   - pread + block cache (compressed tables, or SST_OPEN_PREAD, or when
 *     mmap fails): blocks are read with io_pread(), checked, decompressed
 *     and kept in the block cache (cache.h), reached through a per-block
 *     slot (no hash lookup on a hit). A closed table's blocks leave the
 *     cache when it is freed.
 *
 * Threads: every function may be called from any thread registered with
 * RCU. A reader is freed (and its file unlinked, if obsolete) when its last
 * reference drops; its memory and mapping are released only after an RCU
 * grace period, so values returned by sst_get() stay valid until the
 * caller's read-side section ends even if the last reference is dropped
 * meanwhile.
 *
 * Errors: GOLITE_ECORRUPT for any damage (bad checksum, length, magic, key
 * order, truncation), GOLITE_EVERSION for a table of another format version,
 * GOLITE_EIO and others for failed system calls; set_error() names the file
 * and the byte offset.
 */
#ifndef GOLITE_SSTABLE_H
#define GOLITE_SSTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "golite.h"

struct sst_options {
	size_t block_size;            /* target uncompressed data block size, default 4096 */
	int restart_interval;         /* keys between restart points, default 16 */
	uint32_t bloom_bits_per_key;  /* 0 = no filter; default 10 */
	enum golite_compression compression; /* NONE, LZ4, ZSTD (golite.h) */
	/* Default false: each data block carries a hash index (about 6 bytes
	 * per distinct key) so that a point lookup reads ~4 cache lines of
	 * the block instead of binary-searching and scanning it. */
	bool disable_hash_index;
};

/* Fills *o with the defaults above (no compression). */
void sst_options_init(struct sst_options *o);

struct sst_meta {                 /* what the manifest records about a table */
	uint64_t file_no, file_size, entries, deletions;
	uint64_t min_seq, max_seq;    /* 0, 0 for an empty table */
	uint64_t raw_key_bytes, raw_value_bytes;  /* sums of skey and value lengths */
	uint8_t *smallest; size_t smallest_len;  /* skeys (ikey+trailer), malloc()ed; */
	uint8_t *largest;  size_t largest_len;   /* NULL, 0 for an empty table */
};
/* Frees the keys and zeroes *m. NULL is accepted. */
void sst_meta_free(struct sst_meta *m);

struct sst_props;   /* table_format.h */
/* Fills *m from a table's properties block, with its keys copied
 * (malloc()ed); file_no and file_size are the file's. */
void sst_meta_from_props(struct sst_meta *m, uint64_t file_no, uint64_t file_size,
			 const struct sst_props *p);

/* ---- writing ---- */

struct sst_builder;

/*
 * Creates path (O_EXCL: GOLITE_EEXIST if it exists) and starts a table.
 * o may be NULL for the defaults. On error *out is NULL and nothing exists.
 */
int sst_builder_new(const char *path, uint64_t file_no, const struct sst_options *o,
		    struct sst_builder **out);

/*
 * Adds an entry. skeys must arrive in strictly increasing skey_cmp order
 * (GOLITE_EINVAL otherwise, the builder unchanged); the kind comes from the
 * trailer; val is ignored for KIND_DELETE. Keys longer than IKEY_MAX +
 * TRAILER_SIZE, values longer than GOLITE_MAX_VALUE_SIZE and unknown kinds
 * are refused with GOLITE_EINVAL. A write error is returned here (or by
 * finish) and sticks: every later call returns it.
 */
int sst_builder_add(struct sst_builder *b, const void *skey, size_t sklen,
		    const void *val, size_t vlen);

/* Bytes of the table so far, including buffered data (to cut tables at
 * sstable_size). */
uint64_t sst_builder_size(const struct sst_builder *b);

/* Entries added so far. */
uint64_t sst_builder_entries(const struct sst_builder *b);

/*
 * Writes filter, properties, index and footer, fdatasync()s and closes the
 * file, and fills *meta (free it with sst_meta_free). The caller syncs the
 * directory. Always consumes b: on success the builder is freed; on failure
 * it is freed too and the file unlinked (do not call abandon after finish).
 */
int sst_builder_finish(struct sst_builder *b, struct sst_meta *meta);

/* Abandons the table: closes and unlinks the file, frees b. NULL is
 * accepted. */
void sst_builder_abandon(struct sst_builder *b);

/* ---- parsing a table's meta blocks ----
 *
 * The store's reader (sst_open) and check_table.c, which reads damaged
 * tables past what these find, parse footer, properties and index with the
 * same functions. Each returns 0, or GOLITE_ECORRUPT (GOLITE_EVERSION for
 * another format version) with *why saying where and what, and sets no
 * error message: the caller makes one, or a finding, of *why.
 */
struct sst_problem {
	uint64_t off;                 /* byte offset in the file */
	char msg[160];                /* what is wrong, starting with the part */
};

struct sst_footer;  /* table_format.h */
/* Parses the footer f (SST_FOOTER_SIZE bytes, the end of a file of
 * file_size bytes) into *foot and checks that its handles tile the file. */
int sst_parse_footer(const uint8_t *f, uint64_t file_size, struct sst_footer *foot,
		     struct sst_problem *why);
/* Checks the trailer of a meta block stored at off (payload of size bytes,
 * then its trailer): its checksum holds and it is stored raw. */
int sst_check_meta_block(const uint8_t *payload, uint64_t size, uint64_t off, const char *what,
			 struct sst_problem *why);
/* Parses the properties block payload p into *pr (its keys point into p)
 * and checks it against the footer. */
int sst_parse_props(const uint8_t *p, const struct sst_footer *foot, struct sst_props *pr,
		    struct sst_problem *why);

/* One index entry: a data block and the separator above its keys. */
struct sst_index_entry {
	const uint8_t *sep;           /* in the index block's buffer */
	uint32_t klen, size;
	uint64_t off;
};
/* Parses the index block payload buf: blocks in order, tiling the data,
 * separators increasing. data_blocks is the count the properties give
 * (UINT64_MAX if unknown). On success *out (xmalloc()ed, the caller frees
 * it) holds *count entries. */
int sst_parse_index(const uint8_t *buf, const struct sst_footer *foot, uint64_t data_blocks,
		    struct sst_index_entry **out, uint32_t *count, struct sst_problem *why);

/* ---- reading ---- */

struct sst_reader;  /* an open table, shared by threads; refcounted */
struct block_cache;

/* sst_open_flags() flags. */
#define SST_OPEN_PREAD  1u  /* never mmap: read blocks with io_pread + cache */

/*
 * Opens a table: verifies footer magic, version and checksums, loads the
 * index and the filter into memory. cache may be NULL (blocks read through
 * pread are then used once and dropped). On success *out holds one
 * reference. Errors: GOLITE_ECORRUPT / GOLITE_EVERSION with set_error()
 * naming file and offset; an errno-derived code if the file cannot be
 * opened or read.
 */
int sst_open(const char *path, uint64_t file_no, struct block_cache *cache,
	     struct sst_reader **out);
int sst_open_flags(const char *path, uint64_t file_no, struct block_cache *cache,
		   unsigned flags, struct sst_reader **out);

void sst_ref(struct sst_reader *r);
/* Drops a reference; at zero the table is closed (see Threads above). */
void sst_unref(struct sst_reader *r);
/* If set when the last reference drops, the file is unlinked (an obsolete
 * table). */
void sst_mark_obsolete(struct sst_reader *r);

/* Facts about an open table. */
uint64_t sst_file_no(const struct sst_reader *r);
uint64_t sst_file_size(const struct sst_reader *r);
uint64_t sst_entries(const struct sst_reader *r);
const char *sst_path(const struct sst_reader *r);
bool sst_is_mmapped(const struct sst_reader *r);
/* The table's metadata, as sst_builder_finish() reported it (for a manifest
 * rebuilt from the files). Free with sst_meta_free(). */
void sst_reader_meta(const struct sst_reader *r, struct sst_meta *m);

struct sst_get_result { unsigned kind; uint64_t seq; const void *value; size_t vlen; };

/*
 * Point lookup: the newest entry for ikey with seq <= snap.
 * hash = hash64(ikey, iklen) (computed once by the caller and shared with
 * the memtable index and every table's bloom filter).
 * Returns 1 found (result filled: value points into memory that stays valid
 * until the caller's RCU read-side section ends — the caller holds
 * rcu_read_lock() around the call and copies the value out before
 * unlocking; value is NULL, vlen 0 for a tombstone), 0 not present in this
 * table, or a negative error (GOLITE_ECORRUPT with file and offset,
 * GOLITE_EIO).
 * Takes no lock on the hit path (cache hit / mmap hit); a cache miss takes
 * the cache's insert mutex briefly.
 */
int sst_get(struct sst_reader *r, const void *ikey, size_t iklen, uint64_t hash, uint64_t snap,
	    struct sst_get_result *res);

/* Starts loading the filter line that a lookup of hash reads. */
void sst_prefetch_filter(const struct sst_reader *r, uint64_t hash);

/* Bloom-only check: false = definitely absent. True if the table has no
 * filter. */
bool sst_may_contain(struct sst_reader *r, uint64_t hash);

/*
 * Forward iterator over all entries (every version), in skey order; holds a
 * reference to the reader; usable outside RCU sections (keys and values are
 * in the mapped file or in the iterator's own copy of the block, never in
 * cache memory). Not thread-safe: one iterator, one thread at a time.
 */
struct sst_iter;
struct sst_iter *sst_iter_new(struct sst_reader *r);
/* Whether blocks read through pread are put in the cache (default true;
 * compaction inputs may turn it off). */
void sst_iter_set_fill_cache(struct sst_iter *it, bool fill);
void sst_iter_seek_first(struct sst_iter *it);
/* First entry >= skey. */
void sst_iter_seek(struct sst_iter *it, const void *skey, size_t sklen);
bool sst_iter_valid(const struct sst_iter *it);
void sst_iter_next(struct sst_iter *it);
/* skey; valid until the iterator moves. */
const void *sst_iter_key(const struct sst_iter *it, size_t *len);
/* Valid until the iterator moves. */
const void *sst_iter_value(const struct sst_iter *it, size_t *len);
/* 0 or the error (corruption found while iterating) that made the iterator
 * invalid; set_error() was called with the details. */
int sst_iter_status(const struct sst_iter *it);
/* Frees the iterator and drops its reference. NULL is accepted. */
void sst_iter_free(struct sst_iter *it);

/*
 * Verifies every block checksum, the structure of every entry, key order
 * (within and across blocks and against the index), the filter and the
 * properties; reports the first problem with file and offset via
 * set_error. *entries (may be NULL) gets the number of entries. Needs no
 * RCU registration.
 */
int sst_verify(const char *path, uint64_t *entries);

/* Human-readable dump (for `golite dump`): footer, properties, index, every
 * entry; values escaped (or in hex). Needs no RCU registration. */
int sst_dump(const char *path, FILE *out, bool hex);

/* Writes n bytes to out as the dumps show keys and values: quoted, with
 * '"', '\\' and bytes outside printable ASCII escaped, or as hex digits. */
void sst_put_bytes(FILE *out, const uint8_t *p, size_t n, bool hex);

#endif /* GOLITE_SSTABLE_H */
