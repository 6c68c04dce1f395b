/*
 * check.h — verifying a data directory file by file without opening the
 * store, and repairing it (the engine side of `golite check`, `golite
 * repair` and `golite dump`).
 *
 * Check reads every log record, every SSTable block and every manifest
 * edit, verifies checksums, structure and ordering, and the agreements
 * between files (tables the manifest names exist and match it, level >= 1
 * tables do not overlap, sequence numbers grow, the table catalog is
 * consistent). It never writes anything and does not need the store to
 * open: a store too damaged to open is what it is for. It keeps going
 * after a problem and reports every one with its file and byte offset.
 *
 * Repair keeps every record that checks out: the readable entries of
 * damaged tables (block by block) and the readable records of damaged log
 * segments are written to fresh files; a damaged or missing MANIFEST is
 * rebuilt from the tables present; damaged files are moved aside into
 * DATADIR/lost/<timestamp>/. Afterwards the store opens and check is clean.
 *
 * Both take the directory lock (check shared, repair exclusive) and fail
 * with GOLITE_ELOCKED, naming the holder's pid, when a running process has
 * the store open. Both follow golite.h's conventions: 0 or a negative
 * GOLITE_E* code for failures that stop the work (details in
 * golite_last_error()); damage found is not such a failure but a finding.
 *
 * Threads: each call works on its own data; calls on different
 * directories may run at once.
 */
#ifndef GOLITE_CHECK_H
#define GOLITE_CHECK_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golite.h"

#define CHECK_NO_OFFSET UINT64_MAX

enum check_kind {
	CHECK_PROBLEM = 0,   /* damage or inconsistency: the store is not clean */
	CHECK_NOTE = 1,      /* worth knowing, harmless (a leftover file) */
	CHECK_ACTION = 2,    /* repair: something it changed */
	CHECK_LOST = 3,      /* repair: data it could not keep */
};

/* One finding. Every pointer is valid only during the report call. */
struct check_finding {
	enum check_kind kind;
	const char *path;        /* the file concerned (or the directory) */
	uint64_t offset;         /* byte offset in path, or CHECK_NO_OFFSET */
	const char *msg;         /* what is wrong, or what was done */
};

struct check_options {
	/* Called for each finding, in the order found. NULL: findings are
	 * only counted. */
	void (*report)(void *ctx, const struct check_finding *f);
	void *report_ctx;
	/* Progress of long work: stage ("manifest", "tables", "wal",
	 * "salvage", "merge"), bytes done and total. May be NULL. */
	void (*progress)(void *ctx, const char *stage, uint64_t done, uint64_t total);
	void *progress_ctx;
	/* Findings reported per file before the rest are summarised in one
	 * line. 0 means 100. */
	uint32_t max_per_file;
	/* Repair: target size of the tables it writes (0: 32 MiB). */
	uint64_t sstable_size;
};

/* What a check saw. */
struct check_stats {
	uint64_t problems, notes;
	uint64_t wal_segments, wal_records, wal_bytes;
	uint64_t tables, blocks, entries, table_bytes;
	uint64_t manifest_edits;
};

/*
 * Checks the store in dir. Returns 0 when the check ran (st->problems says
 * whether the store is clean), or GOLITE_ELOCKED, GOLITE_ENOTFOUND (dir is
 * not a store), GOLITE_EIO if it could not run. o may be NULL.
 */
int check_dir(const char *dir, const struct check_options *o, struct check_stats *st);

/* Checks one file alone (for tests and fuzzing): a log segment, an SSTable
 * or a MANIFEST. Same results as check_dir, for that file's own contents. */
int check_wal_file(const char *path, const struct check_options *o, struct check_stats *st);
int check_table_file(const char *path, const struct check_options *o, struct check_stats *st);
int check_manifest_file(const char *path, const struct check_options *o, struct check_stats *st);

/* What a repair did. */
struct repair_stats {
	uint64_t wal_records_kept;
	uint64_t wal_records_dropped;    /* readable but unusable (malformed, out of order) */
	uint64_t wal_ranges_dropped;     /* damaged byte ranges */
	uint64_t wal_bytes_dropped;      /* bytes of both */
	uint64_t tables_kept, tables_salvaged, tables_written;
	uint64_t entries_salvaged, blocks_dropped, tables_missing;
	uint64_t files_moved;
	bool manifest_rebuilt;
	bool catalog_fixed;
	bool changed;                /* anything at all was changed */
	uint64_t problems_after;     /* problems a check finds afterwards */
	char lost_dir[PATH_MAX];     /* where damaged files went; "" if none */
};

/*
 * Repairs the store in dir (see above). Returns 0 when the repair ran
 * (st->problems_after is 0 when the store is now clean), or an error that
 * stopped it (GOLITE_ELOCKED, GOLITE_ENOTFOUND, GOLITE_EIO, GOLITE_ENOSPC);
 * an interrupted repair leaves the store as it was, or with part of the
 * repair done, never worse: new files are complete before the manifest
 * names them, and damaged files are linked into lost/ before they are
 * replaced. Run it again to finish.
 */
int repair_dir(const char *dir, const struct check_options *o, struct repair_stats *st);

/* ---- walking a log segment (also used by `golite dump`) ---- */

struct check_wal_ops {
	/* A logical record (fragments joined) that starts at off. */
	void (*record)(void *ctx, uint64_t off, const uint8_t *payload, size_t len);
	/* Bytes [off, end) hold nothing usable; what says why. */
	void (*damage)(void *ctx, uint64_t off, uint64_t end, const char *what);
};

struct check_wal_info {
	bool header_ok;
	uint32_t version;
	uint64_t segno;              /* from the header (if header_ok) */
	uint64_t records, bytes;     /* logical records and payload bytes */
	uint64_t damaged;            /* damaged ranges */
	uint64_t first_damage;       /* offset of the first, if any */
	bool torn;                   /* the last damage has no valid record after it */
	bool empty;                  /* no header and nothing but zeros */
};

/*
 * Walks the segment image d[0, n): calls ops->record for every logical
 * record whose checksums hold and ops->damage for every range that is not
 * (resynchronising at the next valid record). Zeros after the last record
 * are reserved space, not damage. Fills *info.
 */
void check_wal_walk(const uint8_t *d, size_t n, const struct check_wal_ops *ops, void *ctx,
		    struct check_wal_info *info);

#endif /* GOLITE_CHECK_H */
