/*
 * wal.h — the write-ahead log (the seeds' WALInterface).
 *
 * Every write is appended to an in-memory buffer under one short lock and
 * acknowledged from there; a log thread writes the buffer to the current
 * segment file and fdatasyncs it, grouping every writer that arrived in the
 * meantime into one write() and one fdatasync() (group commit). The segment
 * and record format is drawn in wal_format.h.
 *
 * A record's payload is opaque to the log except for its last 8 bytes, the
 * trailer, which the caller fills while the log lock is held (the store puts
 * the sequence number there, so that log order and sequence order agree).
 *
 * Failure: the first failed write or sync puts the log into a failed state
 * for good: later appends return GOLITE_EFAILED and waiters are woken with
 * it. Running out of space is not a failure: space is reserved ahead of the
 * records (fallocate), and an append that cannot reserve returns
 * GOLITE_ENOSPC having changed nothing.
 */
#ifndef GOLITE_WAL_H
#define GOLITE_WAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "golite.h"
#include "hist.h"
#include "util.h"
#include "wal_format.h"

/* ---- records, for the log's readers and tools (wal_format.h) ---- */

struct wal_record {
	unsigned type;
	const uint8_t *payload;
	size_t len;
	uint32_t synced;   /* segment bytes on disk when it was appended */
	size_t size;       /* bytes of the whole record */
};

/* Parses the record at d[off..n). Returns its size, or 0 if no valid record
 * starts there. */
size_t wal_record_parse(const uint8_t *d, size_t n, size_t off, struct wal_record *rec);
/* Appends a fragment's payload (p, n bytes) to the logical record being
 * joined in *buf: *len bytes so far in *cap allocated, grown by doubling.
 * The caller frees *buf. */
static inline void wal_join_fragment(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *p,
				     size_t n)
{
	if (*len + n > *cap) {
		*cap = MAX(*cap * 2, *len + n);
		*buf = xrealloc(*buf, *cap);
	}
	memcpy(*buf + *len, p, n);
	*len += n;
}
/* What a segment's header says (wal_header_parse). */
enum wal_header {
	WAL_HEADER_OK = 0,       /* valid, of this format version */
	WAL_HEADER_NONE,         /* zeros or nothing: created just before a crash */
	WAL_HEADER_BAD,          /* damaged */
	WAL_HEADER_VERSION,      /* valid, of another format version */
};
/* Parses the header of the segment image d[0, n); *version and *segno are
 * set for WAL_HEADER_OK and WAL_HEADER_VERSION. */
enum wal_header wal_header_parse(const uint8_t *d, size_t n, uint32_t *version, uint64_t *segno);

/* A logical record (fragments joined) that starts at offset off of its
 * segment; the payload is valid only during the call. Returns 0 to go on,
 * or a negative error that stops the walk. */
typedef int (*wal_record_fn)(void *ctx, uint64_t off, const uint8_t *payload, size_t len);

/* How a reading walk reports damage instead of stopping at it (as
 * LevelDB's log::Reader::Reporter). */
struct wal_reporter {
	/* Bytes [off, end) of the segment hold no usable record; why says
	 * what was wrong (valid during the call). torn: the range is the
	 * segment's unsynced tail as far as the segment tells (no record
	 * after it vouches for it, wal_format.h). May be NULL. */
	void (*corruption)(void *ctx, uint64_t off, uint64_t end, bool torn, const char *why);
	void *ctx;
};

/* What wal_scan() saw. */
struct wal_scan_info {
	enum wal_header header;  /* WAL_HEADER_NONE only if the image is all zeros */
	uint32_t version;        /* from the header (WAL_HEADER_OK, _VERSION) */
	uint64_t segno;
	uint64_t records, bytes;     /* logical records and payload bytes */
	uint64_t damaged;            /* damaged ranges */
	uint64_t first_damage;       /* offset of the first, if any */
	bool torn;                   /* the last damaged range is a torn tail */
};

/*
 * Reads the segment image d[0, n) past damage: calls fn (may be NULL) for
 * every logical record whose checksums hold, in order, and rep (may be
 * NULL) for every range that holds none, then resynchronises at the next
 * valid record. Zeros after the last record are reserved space, not
 * damage. A segment of another format version is one damaged range. Fills
 * *info; fn's errors are ignored.
 */
void wal_scan(const uint8_t *d, size_t n, wal_record_fn fn, void *ctx,
	      const struct wal_reporter *rep, struct wal_scan_info *info);

/* Encodes a record into out (len + WAL_RECORD_OVERHEAD bytes). */
size_t wal_record_encode(uint8_t *out, unsigned type, const uint8_t *p, size_t len,
			 uint32_t synced);
/* Bytes a logical record of len payload bytes takes in a segment: one
 * FULL record, or FIRST, MIDDLE..., LAST fragments of at most
 * WAL_MAX_FRAGMENT bytes each (wal_format.h). */
size_t wal_logical_size(size_t len);
/* Encodes a logical record into out (wal_logical_size(len) bytes), each
 * record carrying the synced mark. Returns the bytes written. */
size_t wal_logical_encode(uint8_t *out, const uint8_t *p, size_t len, uint32_t synced);
/* Encodes a segment header. */
void wal_segment_header(uint8_t h[WAL_SEGMENT_HEADER], uint64_t segno);
/* Where the records of a segment (d, n bytes) end: just past the last of
 * the valid records that follow each other from the header on. Zeros
 * written ahead (wal.c) or a damaged record may follow. */
size_t wal_records_end(const uint8_t *d, size_t n);
/* The same for the segment file at path; a negative errno if unreadable. */
int wal_file_records_end(const char *path, uint64_t *end);
/* The offset of the first valid record starting in [from, n), or n. */
size_t wal_next_valid(const uint8_t *d, size_t n, size_t from);
/* True if damage at offset `damage` of a segment is (as far as the segment
 * itself tells) part of its unsynced tail: no valid record after it was
 * appended once that offset was on disk. */
bool wal_damage_is_tail(const uint8_t *d, size_t n, size_t damage);

struct wal;

struct wal_options {
	const char *dir;
	enum golite_durability mode;
	uint32_t sync_interval_ms;
	size_t buffer_size;
	size_t segment_size;
	/* Disk space reserved ahead of the records at a time (fallocate);
	 * 0 for the default of 4 MiB, at least 64 KiB. */
	size_t reserve_step;
	/* Allocates the number of the next segment file (the store's file
	 * number counter). Called with the log lock held. */
	uint64_t (*next_file_no)(void *ctx);
	/* Called once, from the log thread, when the log fails. */
	void (*on_failure)(void *ctx, int err, const char *msg);
	/* Optional. Called with the log lock held before the log reserves
	 * `bytes` more disk space for a record (every few MiB): returns 0, or
	 * GOLITE_ENOSPC to refuse a record that does not free space. */
	int (*space_admit)(void *ctx, uint64_t bytes, bool frees);
	/* Optional. Called with the log lock held when a record that frees
	 * space, or a new segment, finds the disk full: makes room for about
	 * `bytes` (the store's reserve) and returns the bytes it freed; the log
	 * then tries once more. */
	uint64_t (*space_borrow)(void *ctx, uint64_t bytes);
	void *ctx;
};

/* Opens a log that appends to a new segment numbered segno and starts its
 * thread. */
int wal_open(const struct wal_options *o, uint64_t segno, struct wal **out);

/*
 * Stops the log thread after writing and syncing everything appended, and
 * frees the log. Returns the log's failure, if it failed.
 */
int wal_close(struct wal *w);

/* Fills the 8-byte trailer of the record being appended (log lock held). */
typedef void (*wal_prepare_fn)(void *ctx, uint8_t trailer[8]);

/*
 * Appends a record of len >= 8 bytes. payload's last 8 bytes are ignored:
 * prepare() writes them while the log lock is held. On success *lsn is the
 * log position just past the record (pass it to wal_sync_to). frees: the
 * record frees space (a delete), so it may draw on the store's reserve
 * (wal_options.space_borrow) when the disk is full. Errors:
 * GOLITE_EFAILED, GOLITE_ENOSPC (nothing appended), GOLITE_ECLOSED.
 */
int wal_append(struct wal *w, const uint8_t *payload, size_t len, bool frees,
	       wal_prepare_fn prepare, void *ctx, uint64_t *lsn);

/* wal_append, after check(ctx) returned 0 with the log lock held (before
 * anything is appended); its non-zero result is returned instead, with
 * nothing appended. For writes that must see the log stand still while
 * they check a condition (expire.c). */
int wal_append_if(struct wal *w, const uint8_t *payload, size_t len, bool frees,
		  int (*check)(void *ctx), wal_prepare_fn prepare, void *ctx, uint64_t *lsn);

/* Waits until the log is durable up to lsn. */
int wal_sync_to(struct wal *w, uint64_t lsn);

/* Makes every record appended so far durable, and vouches for them at once
 * with a mark record (wal_format.h), so that damage among them is never taken for
 * a torn tail. */
int wal_sync(struct wal *w);

/*
 * Starts a new segment at the next record boundary and, with the log lock
 * still held, calls fn(ctx, new_segno) (the store switches memtables there,
 * so that every record in earlier segments belongs to earlier memtables).
 * Fails with GOLITE_ENOSPC or GOLITE_EIO if the new segment cannot be
 * created; then nothing changed and fn was not called.
 */
int wal_rotate(struct wal *w, void (*fn)(void *ctx, uint64_t segno), void *ctx);

/* A point in the log: where the records appended so far end. */
struct wal_position {
	uint64_t segno;    /* the segment appends go to */
	uint64_t end;      /* offset just past its last record that is not a
			    * mark (WAL_SEGMENT_HEADER if it holds none) */
	uint64_t lsn;      /* log position of that point, for wal_sync_to */
};

/*
 * Calls fn(ctx) (may be NULL) with the log lock held, so that no record is
 * appended meanwhile (the store reads its last sequence there: the point
 * then splits the log by sequence), and fills *pos with the point. Records
 * of earlier segments all lie before it. After wal_sync_to(pos->lsn) every
 * record before the point is written to its file, with the marks between
 * them; a mark after the last record of an earlier segment may still be
 * on its way. Errors: GOLITE_EFAILED, GOLITE_ECLOSED.
 */
int wal_position(struct wal *w, void (*fn)(void *ctx), void *ctx, struct wal_position *pos);

/* The log's failure (0 if healthy). */
int wal_failed(struct wal *w);

struct wal_stats {
	uint64_t records;        /* records appended */
	uint64_t bytes;          /* bytes written to segment files */
	uint64_t writes;         /* write batches issued by the log thread */
	uint64_t syncs;          /* fdatasync calls */
	uint64_t group_commits;  /* writes that carried more than one record */
	uint64_t max_group;      /* most records carried by one write */
	uint64_t records_written; /* records in writes that completed */
	uint64_t group_hist[HIST_BUCKETS];  /* writes by records carried (hist.h);
					     * writes carrying only a mark are
					     * not counted */
	uint64_t appended_lsn, durable_lsn;
	uint64_t segno;          /* current segment */
};
void wal_get_stats(struct wal *w, struct wal_stats *s);

/* ---- reading ---- */

/* Called for each complete record, in log order. off is the record's
 * offset in its segment file. Return 0 to go on, or an error to stop. */
typedef int (*wal_apply_fn)(void *ctx, const uint8_t *payload, size_t len, const char *path,
			    uint64_t off);

struct wal_replay_info {
	uint64_t segments;       /* segment files read */
	uint64_t records;        /* records applied */
	uint64_t bytes;          /* bytes of records applied */
	uint64_t max_segno;      /* highest segment number seen (0 if none) */
	bool truncated;          /* a torn tail was dropped */
	char truncated_path[PATH_MAX];
	uint64_t truncated_at;   /* its offset */
};

/* Reports progress of long work: bytes done so far, of total. */
typedef void (*wal_progress_fn)(void *ctx, const char *stage, uint64_t done, uint64_t total);

/*
 * Replays, in order, every segment in dir numbered >= min_segno. progress
 * (may be NULL) is called with stage "replay" after each segment is read,
 * with the bytes of segments read so far.
 *
 * A torn tail — a damaged or incomplete record after which no valid record
 * follows in this segment or any later one — is dropped; unless read_only
 * the segment is truncated there (and later empty segments removed). Any
 * other damage fails with GOLITE_ECORRUPT naming the file and offset, and
 * nothing is changed. An unknown format version gives GOLITE_EVERSION.
 */
int wal_replay(const char *dir, uint64_t min_segno, bool read_only, wal_apply_fn apply,
	       void *ctx, wal_progress_fn progress, void *progress_ctx,
	       struct wal_replay_info *info);

/* Checks every record of one segment file without applying anything.
 * Returns 0 if clean (a torn tail counts as damage here). */
int wal_verify_file(const char *path, uint64_t *records);

#endif /* GOLITE_WAL_H */
