/*
 * check_wal.c — checking log segments without opening the store: each
 * segment is read with the log reader's reporting walk (wal_scan,
 * wal_reader.c), and each damaged range it reports is judged as opening
 * the store would, a torn tail it drops or damage that stops it. Records
 * go to the catalog collector (check_catalog.c) for the checks across
 * files.
 *
 * Invariants:
 *   1. Each byte range that holds no valid record is reported once, in
 *      file order (wal_reader.c invariant 4).
 *   2. Damage is judged as open judges it (wal_reader.c invariant 3): a
 *      torn tail only when no later record, in this segment or a later
 *      one, vouches for it.
 */
#include "check_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "crc32c.h"
#include "io.h"
#include "util.h"
#include "wal.h"

int ck_collect_batch_entry(void *ctx, uint64_t seq, unsigned kind, const uint8_t *ikey,
			       size_t iklen, const uint8_t *value, size_t vlen)
{
	struct collect *c = ctx;
	ck_cat_add(c->cat, ikey, iklen, seq, kind, value, vlen, c->path, GOLITE_NO_OFFSET);
	return 0;
}

static void walcheck_record(struct walcheck *w, uint64_t off, const uint8_t *p, size_t len)
{
	uint32_t count;
	uint64_t first;
	w->r->st->wal_records++;
	if (rep_iterate(p, len, NULL, NULL, &count, &first)) {
		ck_found(w->r, GOLITE_FINDING_PROBLEM, w->path, off, "record holds a malformed batch");
		w->bad_records++;
		return;
	}
	if (!count)
		return;
	if (w->seq_known && first <= w->last_seq) {
		ck_found(w->r, GOLITE_FINDING_PROBLEM, w->path, off,
		      "record has sequence %" PRIu64 ", not after %" PRIu64, first, w->last_seq);
		w->bad_records++;
		return;
	}
	w->seq_known = true;
	w->last_seq = first + count - 1;
	w->col.path = w->path;
	if (w->col.cat)
		rep_iterate(p, len, ck_collect_batch_entry, &w->col, NULL, NULL);
}

/* True if a segment after segs[i] holds a valid record. */
static bool valid_record_later(const char *dir, const uint64_t *segs, size_t nseg, size_t i)
{
	for (size_t j = i + 1; j < nseg; j++) {
		char p[PATH_MAX];
		file_path(p, PATH_MAX, dir, FILE_WAL, segs[j]);
		uint8_t *d;
		size_t n;
		if (io_read_file(p, MAX_FILE_READ, &d, &n) < 0)
			continue;
		bool any = n > WAL_SEGMENT_HEADER && wal_next_valid(d, n, WAL_SEGMENT_HEADER) < n;
		free(d);
		if (any)
			return true;
	}
	return false;
}

struct damage_list {
	uint64_t off[64], end[64];
	char what[64][48];
	size_t n, more;
};

static void collect_damage(struct damage_list *dl, uint64_t off, uint64_t end, const char *what)
{
	if (dl->n == 64) {
		dl->more++;
		return;
	}
	dl->off[dl->n] = off;
	dl->end[dl->n] = end;
	snprintf(dl->what[dl->n], sizeof(dl->what[0]), "%s", what);
	dl->n++;
}

struct wal_damage_ctx {
	struct walcheck *wc;
	struct damage_list dl;
};

static int wd_record(void *ctx, uint64_t off, const uint8_t *p, size_t len)
{
	walcheck_record(((struct wal_damage_ctx *)ctx)->wc, off, p, len);
	return 0;
}

static void wd_damage(void *ctx, uint64_t off, uint64_t end, bool torn, const char *why)
{
	(void)torn;
	collect_damage(&((struct wal_damage_ctx *)ctx)->dl, off, end, why);
}

/* Reads the segment image with the log reader, collecting damage in dc. */
static void scan_segment(const uint8_t *d, size_t n, struct wal_damage_ctx *dc,
			 struct wal_scan_info *info)
{
	struct wal_reporter rep = { wd_damage, dc };
	wal_scan(d, n, wd_record, dc, &rep, info);
}

/*
 * Checks segment i of the log. live: it is replayed at open (numbered at
 * or after the manifest's log number). Reports damage as open would treat
 * it: a torn tail is dropped by open, other damage stops it.
 */
void ck_check_segment(struct run *r, const char *dir, const uint64_t *segs, size_t nseg,
		      size_t i, bool live, struct walcheck *wc)
{
	char path[PATH_MAX];
	file_path(path, PATH_MAX, dir, FILE_WAL, segs[i]);
	uint8_t *d;
	size_t n;
	int e = io_read_file(path, MAX_FILE_READ, &d, &n);
	if (e < 0) {
		ck_found(r, GOLITE_FINDING_PROBLEM, path, GOLITE_NO_OFFSET, "cannot read: %s", strerror(-e));
		return;
	}
	r->st->wal_segments++;
	r->st->wal_bytes += n;
	wc->path = path;
	struct wal_damage_ctx dc = { .wc = wc };
	struct wal_scan_info info;
	if (!live) {
		golite_check_options none = { 0 };
		golite_check_stats ignored = { 0 };
		struct run quiet = { .o = &none, .st = &ignored };
		struct walcheck w2 = { .r = &quiet, .path = path };
		dc.wc = &w2;
		scan_segment(d, n, &dc, &info);
		if (info.damaged || w2.bad_records)
			ck_found(r, GOLITE_FINDING_NOTE, path, info.damaged ? info.first_damage : GOLITE_NO_OFFSET,
			      "damaged, but its records are already in tables (open removes it)");
		free(d);
		return;
	}
	scan_segment(d, n, &dc, &info);
	if (info.header == WAL_HEADER_OK && info.segno != segs[i])
		ck_found(r, GOLITE_FINDING_PROBLEM, path, WAL_HDR_SEGNO_OFF, "header names segment %" PRIu64,
			 info.segno);
	if (info.header == WAL_HEADER_NONE) {
		if (valid_record_later(dir, segs, nseg, i))
			ck_found(r, GOLITE_FINDING_PROBLEM, path, 0,
			      "segment without a header, followed by valid records");
	}
	bool later = dc.dl.n && info.torn && valid_record_later(dir, segs, nseg, i);
	for (size_t k = 0; k < dc.dl.n; k++) {
		bool tail = info.torn && k == dc.dl.n - 1 && !later;
		ck_found(r, GOLITE_FINDING_PROBLEM, path, dc.dl.off[k],
		      tail ? "%s: %" PRIu64 " bytes to the end form a torn tail (opening the store "
			     "drops it; `golite repair` too)"
			   : "%s (%" PRIu64 " bytes), followed by valid records: the store will not "
			     "open; run `golite repair`",
		      dc.dl.what[k], dc.dl.end[k] - dc.dl.off[k]);
	}
	if (dc.dl.more)
		ck_found(r, GOLITE_FINDING_PROBLEM, path, GOLITE_NO_OFFSET, "%zu more damaged ranges", dc.dl.more);
	free(d);
}

/* A segment checked alone: every damaged range is a problem. */
static void scan_wal_file(struct run *r, const char *path, const uint8_t *d, size_t n)
{
	struct walcheck wc = { .r = r, .path = path };
	struct wal_damage_ctx dc = { .wc = &wc };
	struct wal_scan_info info;
	scan_segment(d, n, &dc, &info);
	r->st->wal_segments = 1;
	r->st->wal_bytes = n;
	for (size_t k = 0; k < dc.dl.n; k++)
		ck_found(r, GOLITE_FINDING_PROBLEM, path, dc.dl.off[k], "%s (%" PRIu64 " bytes)", dc.dl.what[k],
			 dc.dl.end[k] - dc.dl.off[k]);
	if (info.header == WAL_HEADER_NONE)
		ck_found(r, GOLITE_FINDING_PROBLEM, path, 0, "no header: an empty segment");
}

int check_wal_file(const char *path, const golite_check_options *o, golite_check_stats *st)
{
	return ck_check_one_file(path, o, st, scan_wal_file);
}
