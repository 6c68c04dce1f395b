/*
 * wal_tool.c — checking one log segment file, by path, for tools
 * (wal_verify_file). Unlike replay it looks at a single file, outside any
 * store, with the reader's walk (wal_reader.c). Listing a segment is
 * golite_dump_file's (tools.c).
 *
 * Invariants:
 *   1. Nothing here writes: a segment is read whole into memory and walked.
 *   2. The segment number checked against the header is the one the file's
 *      name starts with.
 */
#include "error.h"
#include "wal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "util.h"
#include "wal_int.h"

/* Reads the segment file at path into *s; its number is the one its name
 * starts with (invariant 2). */
static int load_file(const char *path, struct wal_seg_data *s)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->path, sizeof(s->path), "%s", path);
	int r = io_read_file(path, WAL_MAX_SEGMENT_READ, &s->data, &s->len);
	if (r < 0)
		return set_error(errno_to_golite(-r), "cannot read %s: %s", path, strerror(-r));
	const char *base = strrchr(path, '/');
	s->segno = strtoull(base ? base + 1 : path, NULL, 10);
	return 0;
}

int wal_verify_file(const char *path, uint64_t *records)
{
	struct wal_seg_data s;
	int r = load_file(path, &s);
	if (r)
		return r;
	uint64_t bad = 0, bytes = 0;
	*records = 0;
	r = wal_seg_check_header(&s);
	if (r == 1)
		r = set_error(GOLITE_ECORRUPT, "log segment %s: no header (offset 0)", path);
	if (r == 0) {
		r = wal_seg_walk(&s, NULL, NULL, &bad, records, &bytes);
		if (r == 1)
			r = set_error(GOLITE_ECORRUPT, "log segment %s: damaged record at offset %llu",
				      path, (unsigned long long)bad);
	}
	free(s.data);
	return r;
}
