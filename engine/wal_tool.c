/*
 * wal_tool.c — checking and listing one log segment file, by path, for
 * tools (wal_verify_file, wal_dump_file). Unlike replay they look at a
 * single file, outside any store, with the reader's walk (wal_reader.c).
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

struct dump_ctx {
	FILE *out;
	void (*payload_fn)(void *out_file, const uint8_t *p, size_t n, bool hex);
	bool hex;
};

static int dump_record(void *ctx, const uint8_t *p, size_t n, const char *path, uint64_t off)
{
	struct dump_ctx *d = ctx;
	(void)path;
	fprintf(d->out, "record at offset %llu, %zu bytes\n", (unsigned long long)off, n);
	if (d->payload_fn)
		d->payload_fn(d->out, p, n, d->hex);
	return 0;
}

int wal_dump_file(const char *path, void *out_file,
		  void (*payload_fn)(void *out_file, const uint8_t *p, size_t n, bool hex),
		  bool hex)
{
	struct wal_seg_data s;
	int r = load_file(path, &s);
	if (r)
		return r;
	FILE *out = out_file;
	r = wal_seg_check_header(&s);
	if (r == 0) {
		fprintf(out, "log segment %s: format version %u, segment %llu, %zu bytes\n", path,
			get_le32(s.data + WAL_HDR_VERSION_OFF),
			(unsigned long long)get_le64(s.data + WAL_HDR_SEGNO_OFF), s.len);
		struct dump_ctx d = { out, payload_fn, hex };
		uint64_t bad = 0, records = 0, bytes = 0;
		r = wal_seg_walk(&s, dump_record, &d, &bad, &records, &bytes);
		fprintf(out, "%llu records, %llu payload bytes\n", (unsigned long long)records,
			(unsigned long long)bytes);
		if (r == 1)
			r = set_error(GOLITE_ECORRUPT, "log segment %s: damaged record at offset %llu",
				      path, (unsigned long long)bad);
	} else if (r == 1) {
		r = set_error(GOLITE_ECORRUPT, "log segment %s: no header (offset 0)", path);
	}
	free(s.data);
	return r;
}
