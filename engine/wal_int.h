/*
 * wal_int.h — what the log's reader (wal_reader.c) shares with its tools
 * (wal_tool.c): a segment read into memory, its header check and its walk
 * that stops at the first damage.
 * Other modules use wal.h.
 */
#ifndef GOLITE_WAL_INT_H
#define GOLITE_WAL_INT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "wal.h"

/* Largest segment file the reader loads. */
#define WAL_MAX_SEGMENT_READ (UINT64_C(4) << 30)

/* A segment file read whole. */
struct wal_seg_data {
	uint64_t segno;          /* its number, which its header must name */
	char path[PATH_MAX];
	uint8_t *data;           /* malloc()ed */
	size_t len;
};

/* 0 if the header is valid and names s->segno, 1 if the segment holds no
 * header at all (empty or zeros: a segment created just before a crash),
 * or an error (GOLITE_ECORRUPT, GOLITE_EVERSION) naming the file. */
int wal_seg_check_header(const struct wal_seg_data *s);

/*
 * Walks the records of a segment whose header checked out, stopping at the
 * first damage (wal_scan's walk without a reporter). Calls fn (may be
 * NULL) for each logical record and adds them to *records and their
 * payload to *bytes. Returns 0 at a clean end, 1 with *bad_off set at the
 * first damaged or incomplete record, or an error from fn.
 */
int wal_seg_walk(const struct wal_seg_data *s, wal_record_fn fn, void *ctx, uint64_t *bad_off,
		 uint64_t *records, uint64_t *bytes);

#endif /* GOLITE_WAL_INT_H */
