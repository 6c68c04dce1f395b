/*
 * golite_tools.h — looking after a data directory that no process has
 * open: checking it, repairing it, describing its files and dumping one of
 * them (the engine side of `golite check`, `repair`, `stats` and `dump`).
 * Modelled on LevelDB's RepairDB and dumpfile.h.
 *
 * Check reads every log record, every table block and every manifest
 * edit with the store's own readers in their reporting mode (they report a
 * damaged range with its byte offset and resynchronise after it), verifies
 * checksums, structure and ordering, and the agreements between files
 * (tables the manifest names exist and match it, level >= 1 tables do not
 * overlap, sequence numbers grow, the table catalog is consistent). It
 * never writes anything and does not need the store to open: a store too
 * damaged to open is what it is for. It keeps going after a problem and
 * reports every one with its file and byte offset.
 *
 * Repair keeps every record that checks out: the readable entries of
 * damaged tables (block by block) and the readable records of damaged log
 * segments are written to fresh files; a damaged or missing MANIFEST is
 * rebuilt from the tables present; damaged files are moved aside into
 * DATADIR/lost/<timestamp>/. Afterwards the store opens and check is clean.
 *
 * Both take the directory lock (check shared, repair exclusive) and fail
 * with GOLITE_ELOCKED, naming the holder's pid, when a running process has
 * the store open.
 *
 * Everything here follows golite.h's conventions: 0 or a negative GOLITE_E*
 * code for failures that stop the work (details in golite_last_error());
 * damage found is not such a failure but a finding. Every name is golite_*.
 *
 * Threads: each call works on its own data; calls on different
 * directories may run at once.
 */
#ifndef GOLITE_TOOLS_H
#define GOLITE_TOOLS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "golite.h"

/* Levels of the tree: tables live in levels 0 .. GOLITE_LEVELS - 1. */
#define GOLITE_LEVELS 7

/* The table catalog's own table id (table names -> ids); the store's other
 * hidden tables are in golite_raw.h. */
#define GOLITE_TABLE_CATALOG 0u

/* ---- findings ---- */

/* golite_finding.offset when a finding concerns a whole file. */
#define GOLITE_NO_OFFSET UINT64_MAX

enum golite_finding_kind {
	GOLITE_FINDING_PROBLEM = 0,  /* damage or inconsistency: the store is not clean */
	GOLITE_FINDING_NOTE = 1,     /* worth knowing, harmless (a leftover file) */
	GOLITE_FINDING_FIXED = 2,    /* repair: something it changed */
	GOLITE_FINDING_LOST = 3,     /* repair: data it could not keep */
};

/* One finding. Every pointer is valid only during the report call. */
typedef struct golite_finding {
	enum golite_finding_kind kind;
	const char *path;        /* the file concerned (or the directory) */
	uint64_t offset;         /* byte offset in path, or GOLITE_NO_OFFSET */
	const char *msg;         /* what is wrong, or what was done */
} golite_finding;

/* Options of golite_check() and golite_repair(). Zeroed is the default. */
typedef struct golite_check_options {
	/* Called for each finding, in the order found, from the calling
	 * thread. NULL (the default): findings are only counted. */
	void (*report)(void *ctx, const golite_finding *f);
	void *report_ctx;
	/* Notes (GOLITE_FINDING_NOTE) are counted but not reported. Default
	 * false. */
	bool quiet;
	/* Progress of long work: stage ("manifest", "tables", "wal",
	 * "salvage", "merge"), bytes done and total. Default NULL. */
	void (*progress)(void *ctx, const char *stage, uint64_t done, uint64_t total);
	void *progress_ctx;
	/* Findings reported per file before the rest are summarised in one
	 * line. Default 0, meaning 100. */
	uint32_t max_per_file;
	/* Repair: target size of the tables it writes. Default 0: 32 MiB. */
	uint64_t sstable_size;
} golite_check_options;

/* What a check saw. */
typedef struct golite_check_stats {
	uint64_t problems, notes;
	uint64_t wal_segments, wal_records, wal_bytes;
	uint64_t tables, blocks, entries, table_bytes;
	uint64_t manifest_edits;
	uint64_t values_checked;     /* separated values read (vlog.h) */
} golite_check_stats;

/*
 * Checks path: a data directory (the whole store), or a single log
 * segment, table or MANIFEST (that file's own contents; its kind is told
 * by its magic number, or for a log segment cut short before its header,
 * by its name). o may be NULL. Fills *st. Returns 0 when the check ran
 * (st->problems says whether it is clean), or GOLITE_ELOCKED,
 * GOLITE_ENOTFOUND (no such file, or a directory that is not a store),
 * GOLITE_EINVAL (a file of no kind check knows), GOLITE_EIO if it could
 * not run.
 */
int golite_check(const char *path, const golite_check_options *o, golite_check_stats *st);

/* What a repair did. */
typedef struct golite_repair_stats {
	uint64_t wal_records_kept;
	uint64_t wal_records_dropped;    /* readable but unusable (malformed, out of order) */
	uint64_t wal_ranges_dropped;     /* damaged byte ranges */
	uint64_t wal_bytes_dropped;      /* bytes of both */
	uint64_t tables_kept, tables_salvaged, tables_written;
	uint64_t entries_salvaged, blocks_dropped, tables_missing;
	uint64_t files_moved;
	bool manifest_rebuilt;
	bool catalog_fixed;
	uint64_t values_dropped;     /* keys deleted because their separated
				      * value could not be read (vlog.h) */
	bool changed;                /* anything at all was changed */
	uint64_t problems_after;     /* problems a check finds afterwards */
	char lost_dir[PATH_MAX];     /* where damaged files went; "" if none */
} golite_repair_stats;

/*
 * Repairs the store in dir (see above). o may be NULL. Returns 0 when the
 * repair ran (st->problems_after is 0 when the store is now clean), or an
 * error that stopped it (GOLITE_ELOCKED, GOLITE_ENOTFOUND, GOLITE_EIO,
 * GOLITE_ENOSPC); an interrupted repair leaves the store as it was, or
 * with part of the repair done, never worse: new files are complete before
 * the manifest names them, and damaged files are linked into lost/ before
 * they are replaced. Run it again to finish.
 */
int golite_repair(const char *dir, const golite_check_options *o, golite_repair_stats *st);

/* ---- dumping one file ---- */

/* golite_dump_file() flags. */
#define GOLITE_DUMP_HEX 1u   /* keys and values in hexadecimal, not quoted */

/*
 * Prints the file at path to out in human-readable form, telling its kind
 * by its magic number (a file with none is taken for a log segment if its
 * name says it is one):
 *   - a log segment: its header, then each record's offset and batch
 *     (sequence, operations, table id, key, value), and each damaged range
 *     by offset ("@OFF  DAMAGED: N bytes: why"), read past damage;
 *   - a table: footer, properties, filter, index and every entry;
 *   - a MANIFEST: its counters and one line per table.
 * *damaged (may be NULL) gets the number of damaged ranges found in a log
 * segment. Returns 0, GOLITE_EINVAL if the file is of none of these kinds,
 * or the error that stopped the dump (the file unreadable, a table or
 * manifest too damaged to read: `golite_check` it).
 */
int golite_dump_file(const char *path, FILE *out, unsigned flags, uint64_t *damaged);

/* ---- what a store holds ---- */

/* A table key as the manifest records it (smallest or largest of a file). */
typedef struct golite_table_key {
	bool valid;              /* false: too short to hold a table id */
	uint32_t table;          /* table id (golite_raw.h, GOLITE_TABLE_CATALOG) */
	const uint8_t *key;      /* the user key, without the table id */
	size_t len;
} golite_table_key;

/* One table file named by the manifest. */
typedef struct golite_table_file {
	uint32_t level;
	char name[32];           /* file name, e.g. "000012.sst" */
	uint64_t file_size, entries, deletions;
	uint64_t min_seq, max_seq;
	golite_table_key smallest, largest;
} golite_table_file;

/* One log segment file in the directory. */
typedef struct golite_log_file {
	char name[32];           /* file name, e.g. "000013.wal" */
	uint64_t size;
	bool flushed;            /* below the manifest's log number: its records
				  * are in tables, and the store removes it */
} golite_log_file;

typedef struct golite_info {
	/* Per level: tables, their bytes, entries and deletions. */
	uint64_t level_tables[GOLITE_LEVELS], level_bytes[GOLITE_LEVELS];
	uint64_t level_entries[GOLITE_LEVELS], level_deletions[GOLITE_LEVELS];
	/* Tables by level; level 0 newest first, deeper levels in key order. */
	size_t ntables;
	golite_table_file *tables;
	/* Log segments by number. */
	size_t nlogs;
	golite_log_file *logs;
} golite_info;

/*
 * Describes the files of the store in dir from its MANIFEST (a store
 * without one has no tables) and its directory listing. The store may be
 * open read-only meanwhile (it does not change its files). On success
 * *out is allocated and owns every key it points to: free it with
 * golite_store_info_free(). Errors: GOLITE_ECORRUPT or GOLITE_EVERSION for
 * a damaged MANIFEST, GOLITE_EIO.
 */
int golite_store_info(const char *dir, golite_info **out);
/* Frees what golite_store_info() returned. NULL is accepted. */
void golite_store_info_free(golite_info *info);

/* ---- checkpoints for backup and restore ----
 *
 * golite_checkpoint (golite.h) with options, for `golite backup` and
 * `golite restore`: a checkpoint made of copies only, and one that
 * replaces an earlier checkpoint of the store atomically, keeping the
 * tables they share. Unlike the calls above it works on an open store
 * (opened read-only is enough).
 */

/* How a file got into a checkpoint (golite_checkpoint_options.report). */
enum golite_checkpoint_how {
	GOLITE_CKPT_LINKED = 0,  /* a table hard-linked to the store's */
	GOLITE_CKPT_COPIED = 1,  /* a table copied from the store */
	GOLITE_CKPT_KEPT = 2,    /* a table of the checkpoint being replaced, kept */
	GOLITE_CKPT_LOG = 3,     /* a log segment (always copied) */
};

/* The file of a checkpoint holding golite_checkpoint_options.label. */
#define GOLITE_CHECKPOINT_LABEL_FILE "CHECKPOINT"

/* Options of golite_checkpoint_ex(). Zeroed is the default. */
typedef struct golite_checkpoint_options {
	/* Copy every table, never hard-link to the store's files: the
	 * checkpoint then shares no inode with the store (a backup). Default
	 * false: link where dir is on the store's file system. */
	bool copy;
	/*
	 * dir may exist: an empty directory, or an earlier checkpoint (a
	 * directory holding a STORE marker); anything else still fails with
	 * GOLITE_EEXIST. The new checkpoint is built beside it in
	 * DIR.tmp-PID-N; each table the old one holds under the same file
	 * number, of the same size, with the same properties, index and footer
	 * bytes, and whose every block checksum holds, is hard-linked from it
	 * instead of copied (GOLITE_CKPT_KEPT), and so is each value file
	 * (vlog.h) of the same number that holds the same bytes; then the two directories are
	 * swapped in one rename (RENAME_EXCHANGE) and the old one removed with
	 * its tables the new one does not keep. So dir holds, at every moment,
	 * either the old checkpoint or the new one. The new directory takes
	 * the old one's mode and owner. If dir holds a LOCK file it is locked
	 * for the time (GOLITE_ELOCKED if a process has dir open). Where the
	 * file system cannot swap (RENAME_EXCHANGE), the old directory is
	 * renamed to DIR.old-PID-N first: a crash in between leaves no dir,
	 * and the old checkpoint there. Default false: dir must not exist.
	 */
	bool replace;
	/* Text written (synced, before the STORE marker) to the file
	 * GOLITE_CHECKPOINT_LABEL_FILE of the checkpoint, followed by a line
	 * "sequence N" with its sequence number: who made it, from what,
	 * when (`golite backup` writes one, and replaces only a directory
	 * holding one). The store ignores the file. Default NULL: no such
	 * file. */
	const char *label;
	/* Called for each table and log segment once it is in place, from the
	 * calling thread; name is the file's name (valid during the call),
	 * bytes its size. Default NULL. */
	void (*report)(void *ctx, const char *name, enum golite_checkpoint_how how,
		       uint64_t bytes);
	void *report_ctx;
	/* Progress: stage "checkpoint", bytes of tables and log placed so far
	 * and their total. Default NULL. */
	void (*progress)(void *ctx, const char *stage, uint64_t done, uint64_t total);
	void *progress_ctx;
} golite_checkpoint_options;

/* What a checkpoint holds and how it was made. */
typedef struct golite_checkpoint_stats {
	uint64_t sequence;       /* the checkpoint's sequence number */
	uint64_t tables, table_bytes;
	uint64_t tables_linked, tables_copied, tables_kept;
	uint64_t log_segments, log_bytes;
	uint64_t bytes_copied;   /* of tables and log segments */
	bool replaced;           /* dir existed and was replaced */
} golite_checkpoint_stats;

/*
 * golite_checkpoint (golite.h: what a checkpoint holds, its consistency,
 * its errors) with options o (may be NULL) and figures in *st (may be
 * NULL; filled on success).
 */
int golite_checkpoint_ex(golite *db, const char *dir, const golite_checkpoint_options *o,
			 golite_checkpoint_stats *st);

#endif /* GOLITE_TOOLS_H */
