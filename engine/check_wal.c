/*
 * check_wal.c — checking log segments without opening the store: walking a
 * segment past damage (check_wal_walk, which `golite dump` uses too), and
 * judging each damaged range as opening the store would, a torn tail it
 * drops or damage that stops it. Records go to the catalog collector
 * (check_catalog.c) for the checks across files.
 *
 * Invariants:
 *   1. The walk reports each byte range that holds no valid record once,
 *      in file order, and resumes at the next valid record; zeros after the
 *      last record are not damage.
 *   2. Damage is judged as open judges it (wal_reader.c invariant 3): a
 *      torn tail only when no later record, in this segment or a later
 *      one, vouches for it.
 */
#include "check.h"
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

static bool all_zero(const uint8_t *d, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (d[i])
			return false;
	return true;
}

struct walk {
	const struct check_wal_ops *ops;
	void *ctx;
	struct check_wal_info *info;
};

static void walk_damage(struct walk *w, uint64_t off, uint64_t end, bool torn, const char *what)
{
	if (!w->info->damaged)
		w->info->first_damage = off;
	w->info->damaged++;
	w->info->torn = torn;
	if (w->ops && w->ops->damage)
		w->ops->damage(w->ctx, off, end, what);
}

void check_wal_walk(const uint8_t *d, size_t n, const struct check_wal_ops *ops, void *ctx,
		    struct check_wal_info *info)
{
	memset(info, 0, sizeof(*info));
	struct walk w = { ops, ctx, info };
	size_t off = MIN(n, (size_t)WAL_SEGMENT_HEADER);
	if (n >= WAL_SEGMENT_HEADER && memcmp(d, WAL_MAGIC, WAL_MAGIC_SIZE) == 0 &&
	    crc32c_unmask(get_le32(d + WAL_HDR_CRC_OFF)) == crc32c(d, WAL_HDR_CRC_OFF)) {
		info->header_ok = true;
		info->version = get_le32(d + WAL_HDR_VERSION_OFF);
		info->segno = get_le64(d + WAL_HDR_SEGNO_OFF);
		if (info->version != WAL_VERSION) {
			walk_damage(&w, WAL_HDR_VERSION_OFF, n, false, "unknown format version");
			return;
		}
	} else if (all_zero(d, 0, n)) {
		info->empty = true;
		return;
	} else {
		walk_damage(&w, 0, off, false,
			    n < WAL_SEGMENT_HEADER ? "segment shorter than its header" : "damaged header");
	}

	uint8_t *frag = NULL;
	size_t frag_len = 0, frag_cap = 0, frag_start = 0;
	bool in_frag = false;
	while (off < n) {
		struct wal_record rec;
		size_t size = wal_record_parse(d, n, off, &rec);
		unsigned type = rec.type;
		size_t plen = rec.len;
		if (!size) {
			size_t from = in_frag ? frag_start : off;
			in_frag = false;
			if (all_zero(d, off, n)) {
				if (from < off)
					walk_damage(&w, from, off, true, "fragmented record cut short");
				break;
			}
			size_t next = wal_next_valid(d, n, off + 1);
			/* As open decides (wal_reader.c): the unsynced tail, unless a
			 * record after it was appended once it was on disk. */
			if (next == n || wal_damage_is_tail(d, n, from)) {
				size_t end = n;
				while (end > off && d[end - 1] == 0)
					end--;
				walk_damage(&w, from, end, true, "damaged or incomplete record");
				break;
			}
			walk_damage(&w, from, next, false, "damaged record");
			off = next;
			continue;
		}
		const uint8_t *p = rec.payload;
		if (type == WAL_REC_MARK && !in_frag) {
			off += size;
			continue;
		}
		if (in_frag && (type == WAL_REC_FULL || type == WAL_REC_FIRST)) {
			walk_damage(&w, frag_start, off, false, "fragmented record without its end");
			in_frag = false;
		}
		if (type == WAL_REC_FULL) {
			info->records++;
			info->bytes += plen;
			if (ops && ops->record)
				ops->record(ctx, off, p, plen);
		} else if (type == WAL_REC_FIRST || in_frag) {
			if (type == WAL_REC_FIRST) {
				in_frag = true;
				frag_start = off;
				frag_len = 0;
			}
			wal_join_fragment(&frag, &frag_len, &frag_cap, p, plen);
			if (type == WAL_REC_LAST) {
				in_frag = false;
				info->records++;
				info->bytes += frag_len;
				if (ops && ops->record)
					ops->record(ctx, frag_start, frag, frag_len);
			}
		} else {
			walk_damage(&w, off, off + size, false, "fragment without its first part");
		}
		off += size;
	}
	if (in_frag)
		walk_damage(&w, frag_start, n, true, "fragmented record cut short");
	free(frag);
}

int ck_collect_batch_entry(void *ctx, uint64_t seq, unsigned kind, const uint8_t *ikey,
			       size_t iklen, const uint8_t *value, size_t vlen)
{
	struct collect *c = ctx;
	ck_cat_add(c->cat, ikey, iklen, seq, kind, value, vlen, c->path, CHECK_NO_OFFSET);
	return 0;
}

static void walcheck_record(void *ctx, uint64_t off, const uint8_t *p, size_t len)
{
	struct walcheck *w = ctx;
	uint32_t count;
	uint64_t first;
	w->r->st->wal_records++;
	if (rep_iterate(p, len, NULL, NULL, &count, &first)) {
		ck_found(w->r, CHECK_PROBLEM, w->path, off, "record holds a malformed batch");
		w->bad_records++;
		return;
	}
	if (!count)
		return;
	if (w->seq_known && first <= w->last_seq) {
		ck_found(w->r, CHECK_PROBLEM, w->path, off,
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

static void collect_damage(void *ctx, uint64_t off, uint64_t end, const char *what)
{
	struct damage_list *dl = ctx;
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

static void wd_record(void *ctx, uint64_t off, const uint8_t *p, size_t len)
{
	walcheck_record(((struct wal_damage_ctx *)ctx)->wc, off, p, len);
}

static void wd_damage(void *ctx, uint64_t off, uint64_t end, const char *what)
{
	collect_damage(&((struct wal_damage_ctx *)ctx)->dl, off, end, what);
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
		ck_found(r, CHECK_PROBLEM, path, CHECK_NO_OFFSET, "cannot read: %s", strerror(-e));
		return;
	}
	r->st->wal_segments++;
	r->st->wal_bytes += n;
	wc->path = path;
	struct wal_damage_ctx dc = { .wc = wc };
	struct check_wal_ops ops = { wd_record, wd_damage };
	struct check_wal_info info;
	if (!live) {
		struct check_options none = { 0 };
		struct check_stats ignored = { 0 };
		struct run quiet = { .o = &none, .st = &ignored };
		struct walcheck w2 = { .r = &quiet, .path = path };
		dc.wc = &w2;
		check_wal_walk(d, n, &ops, &dc, &info);
		if (info.damaged || w2.bad_records)
			ck_found(r, CHECK_NOTE, path, info.damaged ? info.first_damage : CHECK_NO_OFFSET,
			      "damaged, but its records are already in tables (open removes it)");
		free(d);
		return;
	}
	check_wal_walk(d, n, &ops, &dc, &info);
	if (info.header_ok && info.segno != segs[i])
		ck_found(r, CHECK_PROBLEM, path, WAL_HDR_SEGNO_OFF, "header names segment %" PRIu64,
			 info.segno);
	if (info.empty) {
		if (valid_record_later(dir, segs, nseg, i))
			ck_found(r, CHECK_PROBLEM, path, 0,
			      "segment without a header, followed by valid records");
	}
	bool later = dc.dl.n && info.torn && valid_record_later(dir, segs, nseg, i);
	for (size_t k = 0; k < dc.dl.n; k++) {
		bool tail = info.torn && k == dc.dl.n - 1 && !later;
		ck_found(r, CHECK_PROBLEM, path, dc.dl.off[k],
		      tail ? "%s: %" PRIu64 " bytes to the end form a torn tail (opening the store "
			     "drops it; `golite repair` too)"
			   : "%s (%" PRIu64 " bytes), followed by valid records: the store will not "
			     "open; run `golite repair`",
		      dc.dl.what[k], dc.dl.end[k] - dc.dl.off[k]);
	}
	if (dc.dl.more)
		ck_found(r, CHECK_PROBLEM, path, CHECK_NO_OFFSET, "%zu more damaged ranges", dc.dl.more);
	free(d);
}

/* A segment checked alone: every damaged range is a problem. */
static void scan_wal_file(struct run *r, const char *path, const uint8_t *d, size_t n)
{
	struct walcheck wc = { .r = r, .path = path };
	struct wal_damage_ctx dc = { .wc = &wc };
	struct check_wal_ops ops = { wd_record, wd_damage };
	struct check_wal_info info;
	check_wal_walk(d, n, &ops, &dc, &info);
	r->st->wal_segments = 1;
	r->st->wal_bytes = n;
	for (size_t k = 0; k < dc.dl.n; k++)
		ck_found(r, CHECK_PROBLEM, path, dc.dl.off[k], "%s (%" PRIu64 " bytes)", dc.dl.what[k],
			 dc.dl.end[k] - dc.dl.off[k]);
	if (info.empty)
		ck_found(r, CHECK_PROBLEM, path, 0, "no header: an empty segment");
}

int check_wal_file(const char *path, const struct check_options *o, struct check_stats *st)
{
	return ck_check_one_file(path, o, st, scan_wal_file);
}
