/*
 * check_int.h — what the files that verify a data directory (check.c,
 * check_wal.c, check_table.c, check_manifest.c, check_catalog.c,
 * check_links.c) and repair.c share. Not for other modules: they use golite_tools.h, which
 * states the contract of checking and repairing.
 */
#ifndef GOLITE_CHECK_INT_H
#define GOLITE_CHECK_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "filename.h"
#include "golite_tools.h"
#include "manifest.h"
#include "sstable.h"
#include "wal.h"

/*
 * Checks the store in dir (golite_check on a directory). Returns 0 when the
 * check ran, or GOLITE_ELOCKED, GOLITE_ENOTFOUND (dir is not a store),
 * GOLITE_EIO if it could not run. o may be NULL.
 */
int check_dir(const char *dir, const golite_check_options *o, golite_check_stats *st);

/* Checks one file alone (golite_check on a file): a log segment, an
 * SSTable or a MANIFEST. Same results as check_dir, for that file's own
 * contents. */
int check_wal_file(const char *path, const golite_check_options *o, golite_check_stats *st);
int check_table_file(const char *path, const golite_check_options *o, golite_check_stats *st);
int check_manifest_file(const char *path, const golite_check_options *o,
			golite_check_stats *st);

#define DEFAULT_SSTABLE_SIZE (32u << 20)
#define MAX_FILE_READ (UINT64_C(4) << 30)

typedef void (*tentry_fn)(void *ctx, const uint8_t *skey, size_t sklen, const uint8_t *val,
			  size_t vlen, uint64_t block_off);

struct run {
	const golite_check_options *o;
	golite_check_stats *st;
	char cur[PATH_MAX];           /* file of the last finding */
	uint32_t cur_count;
	uint64_t suppressed;
};

struct cat_entry {
	uint8_t *key;                 /* the ikey after the table id */
	size_t klen;
	uint64_t seq;
	unsigned kind;
	uint8_t val[4];
	size_t vlen;
	char src[PATH_MAX];           /* where the newest version was found */
	uint64_t src_off;
};

struct catalog_view {
	struct cat_entry *v;
	size_t n, cap;
	uint32_t *ids;                /* distinct user table ids holding keys */
	size_t nids, idcap;
	uint64_t max_seq;             /* newest sequence seen anywhere */
	bool links_seen;              /* a record of a hard link seen (vfile.h):
				       * a type 8 name, or a shared record or
				       * back reference key in TABLE_ID_FS */
};

/* One table being scanned. */
struct tscan {
	struct run *r;
	const char *path;
	const uint8_t *d;
	size_t n;
	bool footer_ok, props_ok, index_ok;
	struct sst_footer foot;
	struct sst_props p;
	struct sst_index_entry *ix;
	uint32_t nblocks;
	/* what the data held */
	uint64_t entries, deletions, min_seq, max_seq, raw_keys, raw_values;
	uint64_t blocks_ok, blocks_bad;
	uint64_t problems;
	uint8_t *first, *last;        /* smallest and last entry delivered */
	size_t first_len, last_len;
	uint8_t *keybuf;
	tentry_fn entry;
	void *ctx;
};

struct listing {
	uint64_t *sst, *wal;
	size_t nsst, nwal;
	bool has_manifest;
	int store;                    /* 1 marker fine, 0 missing, -1 damaged */
};

struct collect {
	struct catalog_view *cat;
	const char *path;
};

/* State of the log check across segments (check_wal.c). */
struct walcheck {
	struct run *r;
	const char *path;
	struct collect col;
	uint64_t last_seq;
	bool seq_known;
	uint64_t bad_records;
};

/*
 * Checks segment segs[i] of the log in dir (check_wal.c). live: it is
 * replayed at open (numbered at or after the manifest's log number).
 * Reports damage as open would treat it: a torn tail is dropped by open,
 * other damage stops it.
 */
void ck_check_segment(struct run *r, const char *dir, const uint64_t *segs, size_t nseg,
		      size_t i, bool live, struct walcheck *wc);

/*
 * Checks the one file at path (check_wal_file, check_manifest_file): reads
 * it whole and runs scan over its image, reporting through o (NULL: only
 * counting) into *st, zeroed first. Returns 0, or the error that kept the
 * file from being read.
 */
int ck_check_one_file(const char *path, const golite_check_options *o, golite_check_stats *st,
		      void (*scan)(struct run *r, const char *path, const uint8_t *d, size_t n));

/*
 * Hard links (check_links.c), checked in the store's contents rather than
 * its files: the store is opened, so only a store whose files check out
 * should be given. ck_links_check opens it read-only (the caller may hold
 * the directory lock shared) and reports what it finds. ck_links_repair
 * (the caller holds no lock) reads it the same way and, only if something
 * needs fixing, opens it for writing, fixes it and sets *changed; returns
 * 0, or the error of a failed write (the fixes written before it stand).
 * A store that does not open is a problem reported, not an error.
 */
/* Opens the store in dir for the checks done in its contents (hard links,
 * separated values): no background compaction, a small cache, messages
 * kept from stderr; read-only unless writable. */
int ck_store_open(const char *dir, bool writable, golite **db);
void ck_links_check(struct run *r, const char *dir);
/* Separated values (check_values.c): opens the store read-only, as
 * ck_links_check, and reads every value a reader can reach from its value
 * file, checking its checksum. */
void ck_values_check(struct run *r, const char *dir);
/* Opens the store for writing (the caller holds no lock) and deletes each
 * key whose newest value cannot be read from its value file, counting
 * them in *dropped; sets *changed if it wrote. Returns 0 or the error of
 * the write. */
int ck_values_repair(struct run *r, const char *dir, bool *changed, uint64_t *dropped);
int ck_links_repair(struct run *r, const char *dir, bool *changed);

int ck_cat_check(struct run *r, const char *dir, const struct catalog_view *c);
void ck_cat_free(struct catalog_view *c);
bool ck_cat_id_named(const struct catalog_view *c, uint32_t id);
bool ck_cat_live(const struct cat_entry *e);
void ck_cat_merge(struct catalog_view *into, const struct catalog_view *from);
const struct cat_entry *ck_cat_next_id(const struct catalog_view *c);
int ck_collect_batch_entry(void *ctx, uint64_t seq, unsigned kind, const uint8_t *ikey,
			       size_t iklen, const uint8_t *value, size_t vlen);
void ck_flush_suppressed(struct run *r);
void ck_fmt_path(char *out, const char *fmt, ...);
void ck_found(struct run *r, enum golite_finding_kind kind, const char *path, uint64_t off,
		  const char *fmt, ...);
bool ck_in_list(const uint64_t *v, size_t n, uint64_t x);
int ck_list_dir(const char *dir, struct listing *l);
void ck_listing_free(struct listing *l);
bool ck_meta_equal(const struct sst_meta *a, const struct sst_meta *b);
bool ck_meta_overlap(const struct sst_meta *a, const struct sst_meta *b);
void ck_mscan_run(struct run *r, const char *path, const uint8_t *d, size_t n,
		  struct manifest_scan *ms);
void ck_path_join(char *out, const char *dir, const char *name);
void ck_progress(struct run *r, const char *stage, uint64_t done, uint64_t total);
int ck_scan_table_file(struct run *r, const char *path, struct catalog_view *cat,
			   struct tscan *t, uint8_t **data);
void ck_tscan_free(struct tscan *t);
void ck_tscan_run(struct tscan *t);
uint64_t ck_file_size_of(const char *path);
void ck_cat_add(struct catalog_view *c, const uint8_t *ikey, size_t iklen, uint64_t seq,
		    unsigned kind, const uint8_t *val, size_t vlen, const char *src, uint64_t off);

#endif /* GOLITE_CHECK_INT_H */
