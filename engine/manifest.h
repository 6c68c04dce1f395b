/*
 * manifest.h — the list of live SSTables and the counters that go with
 * them, written as one file, MANIFEST, replaced atomically on every change
 * (temporary file, fsync, rename, directory fsync). The format is drawn in
 * manifest_format.h.
 *
 * A manifest is a sequence of edits; the file holds the whole state as
 * edits from empty, so reading it never depends on an older file.
 */
#ifndef GOLITE_MANIFEST_H
#define GOLITE_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "block.h"
#include "golite_tools.h"
#include "sstable.h"
#include "util.h"

#define NUM_LEVELS GOLITE_LEVELS

struct manifest_file {
	uint32_t level;
	struct sst_meta meta;       /* keys owned by the manifest */
};

/* A named snapshot (manifest_format.h, SNAPSHOT). */
struct manifest_snapshot {
	char *name;                 /* NUL-terminated, owned by the manifest */
	uint64_t seq;
	int64_t time_ns;
};

struct manifest {
	uint64_t log_number;        /* log segments below this are flushed */
	uint64_t next_file_no;
	uint64_t last_seq;          /* newest sequence held by the tables */
	uint64_t flush_bytes;       /* bytes written by flushes, ever */
	uint64_t compact_bytes;     /* bytes written by compactions, ever */
	uint64_t compact_read_bytes;
	uint64_t user_bytes;        /* bytes of user data flushed, ever */
	size_t nfiles;
	struct manifest_file *files;
	uint8_t *compact_ptr[NUM_LEVELS];   /* where the next compaction of a
					     * level starts (round robin) */
	size_t compact_ptr_len[NUM_LEVELS];
	struct manifest_snapshot *snaps;    /* named snapshots, by name */
	size_t nsnaps;
};

/* A copy of the named snapshots of m (for a manifest of its own). */
struct manifest_snapshot *manifest_snaps_dup(const struct manifest_snapshot *s, size_t n);
void manifest_snaps_free(struct manifest_snapshot *s, size_t n);
/* Checks the form of a snapshot name (golite.h rules): 0 or GOLITE_ENAME
 * (or GOLITE_EINVAL for NULL) with a message. */
int manifest_snapshot_name_check(const char *name);

/* Writes m as dir/MANIFEST atomically. */
int manifest_write(const char *dir, const struct manifest *m);

/*
 * Reads dir/MANIFEST into *m (zeroed first). GOLITE_ENOTFOUND if there is
 * none; GOLITE_ECORRUPT or GOLITE_EVERSION naming the offset otherwise.
 */
int manifest_read(const char *dir, struct manifest *m);

/* Reads a manifest file at an explicit path (for tools). */
int manifest_read_file(const char *path, struct manifest *m);

/* How manifest_scan reports damage instead of stopping at it. */
struct manifest_reporter {
	/* The edit at off is damaged or malformed; why is valid during the
	 * call. May be NULL. */
	void (*corruption)(void *ctx, uint64_t off, const char *why);
	void *ctx;
};

/* What manifest_scan read. */
struct manifest_scan {
	struct manifest m;            /* what the edits that decoded say */
	uint64_t *file_off;           /* offset of the edit of each m.files[i] */
	uint32_t edits;               /* edits that decoded */
	bool clean;                   /* every byte checked out */
	bool have_log, have_last, have_next, have_counters;
	int err;                      /* without a reporter: the first damage */
};

/*
 * Reads the manifest image d[0, n) (path names it in messages) into *ms.
 * Without a reporter (rep NULL) it stops at the first damage and returns
 * GOLITE_ECORRUPT or GOLITE_EVERSION naming the offset. With one, it
 * reports every damaged or malformed edit, resynchronises at the next
 * edit and returns 0; ms->clean says whether all was well. Either way
 * free *ms with manifest_scan_free().
 */
int manifest_scan(const char *path, const uint8_t *d, size_t n,
		  const struct manifest_reporter *rep, struct manifest_scan *ms);
void manifest_scan_free(struct manifest_scan *ms);

/* Frees what *m owns. */
void manifest_free(struct manifest *m);

/* Prints a manifest (for `golite dump`). */
void manifest_print(const struct manifest *m, FILE *out);

#endif /* GOLITE_MANIFEST_H */
