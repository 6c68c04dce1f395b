/*
 * check.c — verifying and repairing a data directory without opening the
 * store. See check.h for the contract.
 *
 * The readers here are independent of the ones the store uses (wal.c,
 * sstable.c, manifest.c): those stop at the first damage, as recovery must;
 * these resynchronise after it, so that check can list every problem and
 * repair can keep every record that checks out. They read the formats drawn
 * in wal_format.h, table_format.h (with block.h) and manifest_format.h, and
 * the payload of batch.h.
 *
 * Invariants:
 *   1. check_* never writes, renames or removes anything.
 *   2. Repair writes every new file completely (and syncs it) before a
 *      manifest names it or it replaces a file, and links a file into
 *      lost/ before anything replaces or removes it: a repair cut short
 *      leaves the store as it was, or with part of the repair done, never
 *      worse.
 *   3. A table entry is delivered (to the catalog collector, or to a
 *      salvaged table) only from a block whose checksum holds, and only in
 *      strictly increasing key order.
 */
#include "check.h"
#include "check_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "batch.h"
#include "block.h"
#include "cache.h"
#include "catalog.h"
#include "crc32c.h"
#include "format.h"
#include "io.h"
#include "manifest.h"
#include "manifest_format.h"
#include "rcu.h"
#include "sstable.h"
#include "util.h"
#include "vfile.h"
#include "wal.h"

#define RESYNC_WINDOW (1u << 20)

/* ======================================================================
 * Findings
 * ====================================================================== */


void ck_flush_suppressed(struct run *r)
{
	if (!r->suppressed)
		return;
	char msg[128];
	snprintf(msg, sizeof(msg), "... and %" PRIu64 " more findings in this file",
		 r->suppressed);
	struct check_finding f = { CHECK_NOTE, r->cur, CHECK_NO_OFFSET, msg };
	if (r->o->report)
		r->o->report(r->o->report_ctx, &f);
	r->suppressed = 0;
}

__attribute__((format(printf, 5, 6)))
void ck_found(struct run *r, enum check_kind kind, const char *path, uint64_t off,
		  const char *fmt, ...)
{
	if (kind == CHECK_PROBLEM)
		r->st->problems++;
	else if (kind == CHECK_NOTE)
		r->st->notes++;
	if (strcmp(path, r->cur) != 0) {
		ck_flush_suppressed(r);
		snprintf(r->cur, sizeof(r->cur), "%s", path);
		r->cur_count = 0;
	}
	uint32_t max = r->o->max_per_file ? r->o->max_per_file : 100;
	if (++r->cur_count > max && kind != CHECK_ACTION) {
		r->suppressed++;
		return;
	}
	if (!r->o->report)
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct check_finding f = { kind, path, off, msg };
	r->o->report(r->o->report_ctx, &f);
}

/* Reports golite_last_error() (which names file and offset) as a problem
 * of path, taking the offset from the message when it gives one. */
static void found_engine_error(struct run *r, const char *path)
{
	const char *msg = golite_last_error();
	uint64_t off = CHECK_NO_OFFSET;
	const char *at = strstr(msg, "offset ");
	if (at)
		off = strtoull(at + 7, NULL, 10);
	const char *tail = msg;
	size_t pl = strlen(path);
	if (strncmp(msg, path, pl) == 0 && msg[pl] == ':' && msg[pl + 1] == ' ')
		tail = msg + pl + 2;
	ck_found(r, CHECK_PROBLEM, path, off, "%s", tail);
}

void ck_progress(struct run *r, const char *stage, uint64_t done, uint64_t total)
{
	if (r->o->progress)
		r->o->progress(r->o->progress_ctx, stage, done, total);
}

static bool all_zero(const uint8_t *d, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (d[i])
			return false;
	return true;
}

/* Formats a path into out (PATH_MAX bytes). A path too long is cut, and
 * then names no file: opening it fails with a message. */
__attribute__((format(printf, 2, 3)))
void ck_fmt_path(char *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
}

void ck_path_join(char *out, const char *dir, const char *name)
{
	ck_fmt_path(out, "%s/%s", dir, name);
}

uint64_t ck_file_size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* ======================================================================
 * Log segments
 * ====================================================================== */

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
			/* As open decides (wal.c): the unsynced tail, unless a
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
			if (frag_len + plen > frag_cap) {
				frag_cap = MAX(frag_cap * 2, frag_len + plen);
				frag = xrealloc(frag, frag_cap);
			}
			memcpy(frag + frag_len, p, plen);
			frag_len += plen;
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

/* ======================================================================
 * SSTables
 * ====================================================================== */





__attribute__((format(printf, 3, 4)))
static void tproblem(struct tscan *t, uint64_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->problems++;
	ck_found(t->r, CHECK_PROBLEM, t->path, off, "%s", msg);
}

static bool tscan_footer(struct tscan *t)
{
	if (t->n < SST_FOOTER_SIZE) {
		tproblem(t, 0, "file of %zu bytes is too short for a table", t->n);
		return false;
	}
	uint64_t foff = t->n - SST_FOOTER_SIZE;
	const uint8_t *f = t->d + foff;
	if (get_le64(f + SST_FOOTER_MAGIC_OFF) != SST_MAGIC) {
		tproblem(t, foff + SST_FOOTER_MAGIC_OFF,
			 "footer: bad magic number (truncated or overwritten)");
		return false;
	}
	if (get_le32(f + SST_FOOTER_VERSION_OFF) != SST_FORMAT_VERSION) {
		tproblem(t, foff + SST_FOOTER_VERSION_OFF, "footer: format version %u, this build reads %u",
			 get_le32(f + SST_FOOTER_VERSION_OFF), SST_FORMAT_VERSION);
		return false;
	}
	if (crc32c_unmask(get_le32(f + SST_FOOTER_CRC_OFF)) != crc32c(f, SST_FOOTER_CRC_OFF)) {
		tproblem(t, foff, "footer: checksum mismatch");
		return false;
	}
	sst_footer_decode(f, &t->foot);
	const struct sst_footer *h = &t->foot;
	const uint64_t T = SST_BLOCK_TRAILER;
	uint64_t fspan = h->filter_size ? h->filter_size + T : 0;
	if (h->index_size < 4 || h->index_size + T > foff ||
	    h->index_off != foff - h->index_size - T || h->props_size < SST_PROPS_FIXED ||
	    h->props_size + T > h->index_off || h->props_off != h->index_off - h->props_size - T ||
	    fspan > h->props_off || h->filter_off != h->props_off - fspan) {
		tproblem(t, foff, "footer: block handles do not tile the file");
		return false;
	}
	return true;
}

/* Checks the trailer of a meta block; true if it holds and it is raw. */
static bool tscan_meta_block(struct tscan *t, uint64_t off, uint64_t size, const char *what)
{
	uint8_t type;
	int e = block_trailer_check(t->d + off, (size_t)size, &type);
	if (e == 0 && type == SST_BLOCK_RAW)
		return true;
	tproblem(t, off, "%s: %s", what, e == -1 ? "checksum mismatch" : "unknown block type");
	return false;
}

static bool tscan_props(struct tscan *t)
{
	if (!tscan_meta_block(t, t->foot.props_off, t->foot.props_size, "properties block"))
		return false;
	const uint8_t *q = t->d + t->foot.props_off;
	struct sst_props *p = &t->p;
	sst_props_decode(q, p);
	p->smallest = q + SST_PROPS_FIXED;
	p->largest = p->smallest + p->smallest_len;
	bool empty = p->entries == 0;
	if ((uint64_t)SST_PROPS_FIXED + p->smallest_len + p->largest_len != t->foot.props_size ||
	    p->compression > GOLITE_COMPRESS_ZSTD || p->data_end != t->foot.filter_off ||
	    empty != (p->smallest_len == 0) || empty != (p->largest_len == 0) ||
	    (!empty && (p->smallest_len <= TRAILER_SIZE || p->largest_len <= TRAILER_SIZE ||
			p->smallest_len > SKEY_MAX || p->largest_len > SKEY_MAX))) {
		tproblem(t, t->foot.props_off, "properties block: inconsistent fields");
		return false;
	}
	return true;
}

static bool tscan_index(struct tscan *t)
{
	if (!tscan_meta_block(t, t->foot.index_off, t->foot.index_size, "index block"))
		return false;
	const uint8_t *buf = t->d + t->foot.index_off, *end = buf + t->foot.index_size - 4, *p = buf;
	uint32_t count = get_le32(end);
	if (count > t->foot.index_size / 11 || (t->props_ok && count != t->p.data_blocks)) {
		tproblem(t, t->foot.index_off + t->foot.index_size - 4,
			 "index block: block count %u disagrees with the properties", count);
		return false;
	}
	t->ix = xcalloc(count ? count : 1, sizeof(*t->ix));
	uint64_t expect = 0;
	for (uint32_t i = 0; i < count; i++) {
		uint64_t at = t->foot.index_off + (uint64_t)(p - buf);
		uint32_t klen, size;
		uint64_t off;
		const uint8_t *sep;
		if (!(p = block_index_get(p, end, &sep, &klen, &off, &size))) {
			tproblem(t, at, "index block: malformed entry %u", i);
			return false;
		}
		if (off != expect || size == 0 ||
		    size + (uint64_t)SST_BLOCK_TRAILER > t->foot.filter_off - off) {
			tproblem(t, at, "index block: entry %u points outside the data", i);
			return false;
		}
		t->ix[i] = (struct tix){ sep, klen, off, size };
		expect = off + size + SST_BLOCK_TRAILER;
	}
	if (p != end || expect != t->foot.filter_off) {
		tproblem(t, t->foot.index_off, "index block: blocks do not cover the data");
		return false;
	}
	t->nblocks = count;
	return true;
}

/*
 * Decodes one data block stored at [off, off + size) (its trailer follows)
 * and delivers its entries. lo/hi (may be NULL) are the index separators
 * around it. Returns false if the block is unusable as a whole.
 */
static bool tscan_block(struct tscan *t, uint64_t off, size_t size, const struct tix *lo,
			const struct tix *hi, bool quiet)
{
	const uint8_t *payload = t->d + off;
	uint8_t type;
	int e = block_trailer_check(payload, size, &type);
	if (e) {
		if (!quiet)
			tproblem(t, off, "data block of %zu bytes: %s", size,
				 e == -1 ? "checksum mismatch" : "unknown block type");
		return false;
	}
	struct cache_entry *ce = NULL;
	const uint8_t *data = payload;
	size_t len = size;
	if (type != SST_BLOCK_RAW) {
		if (block_decompress(payload, size, type, &ce)) {
			if (!quiet)
				tproblem(t, off, "data block: cannot decompress");
			return false;
		}
		data = block_cache_entry_data(ce);
		len = block_cache_entry_len(ce);
	}
	struct block_view v;
	struct block_cursor c;
	bool ok = block_view_init(&v, data, len) == 0;
	if (!ok) {
		if (!quiet)
			tproblem(t, off, "data block: malformed restart array");
		goto out;
	}
	memset(&c, 0, sizeof(c));
	int step = block_cursor_at(&c, &v, t->keybuf, 0, 0) ? -1 : 1;
	uint64_t n = 0;
	for (; step == 1; step = block_cursor_next(&c), n++) {
		size_t klen = c.klen, iklen = klen - TRAILER_SIZE;
		uint64_t tr = get_le64(c.key + iklen);
		unsigned kind = trailer_kind(tr);
		const char *bad = NULL;
		if (kind > KIND_MAX)
			bad = "unknown entry kind";
		else if (kind == KIND_DELETE && c.vlen)
			bad = "tombstone with a value";
		else if (iklen <= IKEY_PREFIX)
			bad = "key without a table id";
		else if (t->last_len && skey_cmp(t->last, t->last_len, c.key, klen) >= 0)
			bad = "key out of order";
		else if (lo && skey_cmp(lo->sep, lo->seplen, c.key, klen) >= 0)
			bad = "key before its block's index range";
		else if (hi && skey_cmp(c.key, klen, hi->sep, hi->seplen) > 0)
			bad = "key past its block's index separator";
		if (bad) {
			if (quiet && n == 0) {
				ok = false;
				goto out;
			}
			tproblem(t, off, "data block: %s (entry at byte %u of the block)", bad, c.off);
			break;
		}
		if (kind == KIND_META) {
			struct vfile vf;
			if (vfile_decode(c.value, c.vlen, &vf) && !quiet)
				ck_found(t->r, CHECK_PROBLEM, t->path, off,
				      "data block: file record that does not decode (entry at byte %u "
				      "of the block)", c.off);
		}
		if (!t->first) {
			t->first = xmemdup(c.key, klen);
			t->first_len = klen;
		}
		memcpy(t->last, c.key, klen);
		t->last_len = klen;
		t->entries++;
		t->deletions += kind == KIND_DELETE;
		t->min_seq = MIN(t->min_seq, trailer_seq(tr));
		t->max_seq = MAX(t->max_seq, trailer_seq(tr));
		t->raw_keys += klen;
		t->raw_values += c.vlen;
		if (t->entry)
			t->entry(t->ctx, c.key, klen, c.value, c.vlen, off);
	}
	if (step == -1) {
		if (quiet && n == 0)
			ok = false;
		else
			tproblem(t, off, "data block: malformed entry at byte %u of the block", c.off);
	}
out:
	if (ce)
		block_cache_entry_discard(ce);
	return ok;
}

/* Looks for a block that starts at start and ends before limit: the first
 * position whose following 5 bytes are a valid trailer of what precedes. */
static bool find_block_end(const uint8_t *d, uint64_t start, uint64_t limit, uint64_t *size)
{
	uint32_t crc = 0;
	for (uint64_t e = start; e + SST_BLOCK_TRAILER <= limit; e++) {
		if (e > start)
			crc = crc32c_extend(crc, d + e - 1, 1);
		uint8_t type = d[e];
		if (type > SST_BLOCK_ZSTD || e - start < 9)
			continue;
		if (get_le32(d + e + 1) == crc32c_mask(crc32c_extend(crc, &type, 1))) {
			*size = e - start;
			return true;
		}
	}
	return false;
}

/* Could a data block start at off? Its first entry stores a whole key
 * (shared 0) with a table id and a valid kind. */
static bool plausible_block_start(const uint8_t *d, uint64_t off, uint64_t limit)
{
	const uint8_t *p = d + off, *end = d + limit;
	uint32_t shared, ns, vlen;
	const uint8_t *k = block_entry_header(p, end, &shared, &ns, &vlen);
	return k && shared == 0 && ns > TRAILER_SIZE + IKEY_PREFIX && ns <= SKEY_MAX &&
	       trailer_kind(get_le64(k + ns - TRAILER_SIZE)) <= KIND_MAX;
}

/* Without a usable index: finds the data blocks by their trailers. */
static void tscan_blocks_by_trailer(struct tscan *t)
{
	uint64_t limit = t->footer_ok ? t->foot.filter_off : t->n;
	uint64_t off = 0;
	ck_found(t->r, CHECK_NOTE, t->path, 0, "index unusable: looking for data blocks by checksum");
	while (off + SST_BLOCK_TRAILER < limit) {
		uint64_t size;
		if (find_block_end(t->d, off, limit, &size)) {
			if (!tscan_block(t, off, (size_t)size, NULL, NULL, true))
				break;   /* a meta block: the data ends here */
			t->blocks_ok++;
			off += size + SST_BLOCK_TRAILER;
			continue;
		}
		/* Damage: resume at the next place a block plausibly starts. */
		uint64_t next = off + 1;
		bool resumed = false;
		for (; next + SST_BLOCK_TRAILER < limit; next++) {
			if (!plausible_block_start(t->d, next, limit))
				continue;
			uint64_t win = MIN(limit, next + RESYNC_WINDOW);
			if (find_block_end(t->d, next, win, &size) &&
			    tscan_block(t, next, (size_t)size, NULL, NULL, true)) {
				resumed = true;
				break;
			}
		}
		tproblem(t, off, "damaged data (%" PRIu64 " bytes) where a data block should be",
			 (resumed ? next : limit) - off);
		t->blocks_bad++;
		if (!resumed)
			break;
		t->blocks_ok++;
		off = next + size + SST_BLOCK_TRAILER;
	}
}

/*
 * Scans the table image t->d: footer, properties, index, every data block.
 * Problems are reported through t->r; entries of good blocks go to
 * t->entry. Afterwards t->problems says whether the table is clean.
 */
void ck_tscan_run(struct tscan *t)
{
	t->min_seq = UINT64_MAX;
	t->keybuf = xmalloc(SKEY_MAX);
	t->last = xmalloc(SKEY_MAX);
	t->footer_ok = tscan_footer(t);
	if (t->footer_ok) {
		t->props_ok = tscan_props(t);
		t->index_ok = tscan_index(t);
		if (t->foot.filter_size)
			tscan_meta_block(t, t->foot.filter_off, t->foot.filter_size, "filter block");
	}
	if (t->index_ok) {
		for (uint32_t i = 0; i < t->nblocks; i++) {
			const struct tix *x = &t->ix[i];
			if (tscan_block(t, x->off, x->size, i ? &t->ix[i - 1] : NULL, x, false))
				t->blocks_ok++;
			else
				t->blocks_bad++;
		}
	} else {
		tscan_blocks_by_trailer(t);
	}
	if (!t->entries)
		t->min_seq = t->max_seq = 0;
	if (!t->problems && t->props_ok) {
		const struct sst_props *p = &t->p;
		if (p->entries != t->entries || p->deletions != t->deletions ||
		    p->min_seq != t->min_seq || p->max_seq != t->max_seq ||
		    p->raw_keys != t->raw_keys || p->raw_values != t->raw_values ||
		    (t->entries && (p->smallest_len != t->first_len ||
				    memcmp(p->smallest, t->first, t->first_len) ||
				    p->largest_len != t->last_len ||
				    memcmp(p->largest, t->last, t->last_len))))
			tproblem(t, t->foot.props_off,
				 "properties disagree with the data (%" PRIu64 " entries ck_found, %" PRIu64
				 " recorded)", t->entries, p->entries);
	}
}

void ck_tscan_free(struct tscan *t)
{
	free(t->ix);
	free(t->keybuf);
	free(t->last);
	free(t->first);
}

/* ======================================================================
 * The manifest
 * ====================================================================== */


/* True if a whole, checksummed edit starts at off (*len: its body). */
static bool mf_edit_at(const uint8_t *d, size_t n, size_t off, uint32_t *len)
{
	if (n - off < MANIFEST_EDIT_HEADER + 1)
		return false;
	uint32_t l = get_le32(d + off);
	if (l == 0 || l > n - off - MANIFEST_EDIT_HEADER)
		return false;
	if (crc32c_unmask(get_le32(d + off + MANIFEST_EDIT_CRC_OFF)) !=
	    crc32c(d + off + MANIFEST_EDIT_HEADER, l))
		return false;
	*len = l;
	uint8_t tag = d[off + MANIFEST_EDIT_HEADER];
	return tag >= MF_TAG_FIRST && tag <= MF_TAG_LAST;
}

/* Decodes one checksummed edit into ms; false if its body is malformed. */
static bool mf_decode(struct mscan *ms, const uint8_t *e, uint32_t len, uint64_t off, size_t *cap)
{
	struct manifest *m = &ms->m;
	struct mf_reader r = { e + 1, e + len, false };
	switch (e[0]) {
	case MF_TAG_LOG_NUMBER:
		m->log_number = mf_get_u64(&r);
		ms->have_log = !r.bad;
		break;
	case MF_TAG_NEXT_FILE:
		m->next_file_no = mf_get_u64(&r);
		ms->have_next = !r.bad;
		break;
	case MF_TAG_LAST_SEQ:
		m->last_seq = mf_get_u64(&r);
		ms->have_last = !r.bad;
		break;
	case MF_TAG_COUNTERS:
		m->flush_bytes = mf_get_u64(&r);
		m->compact_bytes = mf_get_u64(&r);
		m->compact_read_bytes = mf_get_u64(&r);
		m->user_bytes = mf_get_u64(&r);
		ms->have_counters = !r.bad;
		break;
	case MF_TAG_ADD_FILE: {
		struct manifest_file f;
		mf_get_file(&r, &f);
		if (r.bad || r.p != r.end || f.level >= NUM_LEVELS ||
		    f.meta.smallest_len <= TRAILER_SIZE + IKEY_PREFIX ||
		    f.meta.largest_len <= TRAILER_SIZE + IKEY_PREFIX) {
			sst_meta_free(&f.meta);
			return false;
		}
		if (m->nfiles == *cap) {
			*cap = *cap ? 2 * *cap : 16;
			m->files = xrealloc(m->files, *cap * sizeof(*m->files));
			ms->file_off = xrealloc(ms->file_off, *cap * sizeof(*ms->file_off));
		}
		ms->file_off[m->nfiles] = off;
		m->files[m->nfiles++] = f;
		return true;
	}
	case MF_TAG_COMPACT_POINTER: {
		uint8_t l = mf_get_u8(&r);
		size_t klen;
		uint8_t *k = mf_get_key(&r, &klen);
		if (r.bad || l >= NUM_LEVELS) {
			free(k);
			return false;
		}
		free(m->compact_ptr[l]);
		m->compact_ptr[l] = k;
		m->compact_ptr_len[l] = klen;
		break;
	}
	}
	return !r.bad && r.p == r.end;
}

/* Reads a manifest image, reporting every damaged edit and keeping the
 * others. */
void ck_mscan_run(struct run *r, const char *path, const uint8_t *d, size_t n,
		      struct mscan *ms)
{
	memset(ms, 0, sizeof(*ms));
	ms->clean = true;
	size_t cap = 0, off = MANIFEST_HEADER;
	uint32_t count = 0;
	if (n < MANIFEST_HEADER || memcmp(d, MANIFEST_MAGIC, MANIFEST_MAGIC_SIZE) != 0) {
		ck_found(r, CHECK_PROBLEM, path, 0, "not a manifest (bad magic)");
		ms->clean = false;
		off = MIN(n, (size_t)MANIFEST_HEADER);
	} else if (get_le32(d + MANIFEST_HDR_VERSION_OFF) != MANIFEST_VERSION) {
		ck_found(r, CHECK_PROBLEM, path, MANIFEST_HDR_VERSION_OFF,
			 "manifest format %u, this build reads %u",
			 get_le32(d + MANIFEST_HDR_VERSION_OFF), MANIFEST_VERSION);
		ms->clean = false;
		return;
	} else {
		count = get_le32(d + MANIFEST_HDR_COUNT_OFF);
	}
	while (off < n) {
		uint32_t len;
		if (!mf_edit_at(d, n, off, &len)) {
			size_t next = off + 1;
			while (next < n && !mf_edit_at(d, n, next, &len))
				next++;
			ck_found(r, CHECK_PROBLEM, path, off, "damaged edit (%zu bytes skipped)", next - off);
			ms->clean = false;
			off = next;
			continue;
		}
		if (!mf_decode(ms, d + off + MANIFEST_EDIT_HEADER, len, off, &cap)) {
			ck_found(r, CHECK_PROBLEM, path, off, "malformed edit (tag %u)",
				 d[off + MANIFEST_EDIT_HEADER]);
			ms->clean = false;
		} else {
			ms->edits++;
		}
		off += MANIFEST_EDIT_HEADER + (size_t)len;
	}
	if (ms->clean && ms->edits != count) {
		ck_found(r, CHECK_PROBLEM, path, MANIFEST_HDR_COUNT_OFF,
			 "header counts %u edits, the file holds %u", count, ms->edits);
		ms->clean = false;
	}
}

void ck_mscan_free(struct mscan *ms)
{
	manifest_free(&ms->m);
	free(ms->file_off);
	memset(ms, 0, sizeof(*ms));
}

/* ======================================================================
 * The directory
 * ====================================================================== */

/* Takes the directory lock (exclusive for repair). Returns the fd (-1 when
 * a checker finds no LOCK file) or GOLITE_ELOCKED naming the holder. */
int ck_take_lock(const char *dir, bool exclusive, int *fd_out)
{
	char path[PATH_MAX];
	file_path(path, PATH_MAX, dir, FILE_LOCK, 0);
	*fd_out = -1;
	int fd = io_open(path, exclusive ? O_RDWR | O_CREAT : O_RDONLY, 0600);
	if (fd == -ENOENT && !exclusive)
		return 0;
	if (fd < 0)
		return set_error(errno_to_golite(-fd), "cannot open %s: %s", path, strerror(-fd));
	int r = io_flock(fd, exclusive);
	if (r == -EWOULDBLOCK) {
		char pid[32] = "";
		ssize_t got = io_pread(fd, pid, sizeof(pid) - 1, 0);
		pid[got > 0 ? got : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		io_close(fd);
		return set_error(GOLITE_ELOCKED, "data directory %s is in use by process %s", dir,
				 pid[0] ? pid : "(unknown)");
	}
	if (r < 0) {
		io_close(fd);
		return set_error(GOLITE_EIO, "cannot lock %s: %s", path, strerror(-r));
	}
	if (exclusive) {
		/* As db.c does: name the holder for anyone refused meanwhile. */
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (io_ftruncate(fd, 0) == 0)
			io_pwrite(fd, pid, (size_t)n, 0);
	}
	*fd_out = fd;
	return 0;
}


int ck_list_dir(const char *dir, struct listing *l)
{
	memset(l, 0, sizeof(*l));
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return set_error(GOLITE_ENOTFOUND, "%s is not a directory", dir);
	int r = file_list(dir, FILE_TABLE, &l->sst, &l->nsst);
	if (r == 0)
		r = file_list(dir, FILE_WAL, &l->wal, &l->nwal);
	if (r < 0)
		return set_error(GOLITE_EIO, "cannot list %s: %s", dir, strerror(-r));
	char path[PATH_MAX];
	file_path(path, PATH_MAX, dir, FILE_MANIFEST, 0);
	l->has_manifest = access(path, F_OK) == 0;
	file_path(path, PATH_MAX, dir, FILE_STORE, 0);
	uint8_t *data;
	size_t len;
	r = io_read_file(path, 4096, &data, &len);
	if (r == 0) {
		data[len] = '\0';
		int format = 0;
		l->store = store_marker_parse((char *)data, &format) && format == STORE_FORMAT ? 1 : -1;
		free(data);
	}
	if (l->store == 0 && !l->nsst && !l->nwal && !l->has_manifest)
		return set_error(GOLITE_ENOTFOUND, "%s is not a store (no STORE file)", dir);
	return 0;
}

void ck_listing_free(struct listing *l)
{
	free(l->sst);
	free(l->wal);
}

bool ck_in_list(const uint64_t *v, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* ikey-range overlap of two tables' metadata. */
bool ck_meta_overlap(const struct sst_meta *a, const struct sst_meta *b)
{
	return ikey_cmp(a->smallest, a->smallest_len - TRAILER_SIZE, b->largest,
			b->largest_len - TRAILER_SIZE) <= 0 &&
	       ikey_cmp(b->smallest, b->smallest_len - TRAILER_SIZE, a->largest,
			a->largest_len - TRAILER_SIZE) <= 0;
}

bool ck_meta_equal(const struct sst_meta *a, const struct sst_meta *b)
{
	return a->file_no == b->file_no && a->file_size == b->file_size &&
	       a->entries == b->entries && a->deletions == b->deletions &&
	       a->min_seq == b->min_seq && a->max_seq == b->max_seq &&
	       a->raw_key_bytes == b->raw_key_bytes && a->raw_value_bytes == b->raw_value_bytes &&
	       a->smallest_len == b->smallest_len && a->largest_len == b->largest_len &&
	       (!a->smallest_len || !memcmp(a->smallest, b->smallest, a->smallest_len)) &&
	       (!a->largest_len || !memcmp(a->largest, b->largest, a->largest_len));
}

void ck_meta_from_scan(const struct tscan *t, uint64_t file_no, struct sst_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->file_no = file_no;
	m->file_size = t->n;
	m->entries = t->p.entries;
	m->deletions = t->p.deletions;
	m->min_seq = t->p.min_seq;
	m->max_seq = t->p.max_seq;
	m->raw_key_bytes = t->p.raw_keys;
	m->raw_value_bytes = t->p.raw_values;
	if (t->p.entries) {
		m->smallest = xmemdup(t->p.smallest, t->p.smallest_len);
		m->smallest_len = t->p.smallest_len;
		m->largest = xmemdup(t->p.largest, t->p.largest_len);
		m->largest_len = t->p.largest_len;
	}
}

/* Compares a clean table with what the manifest says of it. */
static void check_against_manifest(struct run *r, const char *mpath, uint64_t edit_off,
				   const struct sst_meta *want, const struct tscan *t)
{
	const char *what = NULL;
	if (want->file_size != t->n)
		what = "size";
	else if (want->entries != t->p.entries || want->deletions != t->p.deletions)
		what = "entry count";
	else if (want->min_seq != t->p.min_seq || want->max_seq != t->p.max_seq)
		what = "sequence range";
	else if (want->smallest_len != t->p.smallest_len ||
		 memcmp(want->smallest, t->p.smallest, want->smallest_len) ||
		 want->largest_len != t->p.largest_len ||
		 memcmp(want->largest, t->p.largest, want->largest_len))
		what = "key range";
	else if (want->raw_key_bytes != t->p.raw_keys || want->raw_value_bytes != t->p.raw_values)
		what = "byte counts";
	if (what) {
		char name[FILE_NAME_MAX];
		file_name(name, sizeof(name), FILE_TABLE, want->file_no);
		ck_found(r, CHECK_PROBLEM, mpath, edit_off,
			 "table %s: its %s differs from the manifest's record", name, what);
	}
}


static void collect_table_entry(void *ctx, const uint8_t *k, size_t klen, const uint8_t *v,
				size_t vlen, uint64_t block_off)
{
	struct collect *c = ctx;
	uint64_t tr = get_le64(k + klen - TRAILER_SIZE);
	ck_cat_add(c->cat, k, klen - TRAILER_SIZE, trailer_seq(tr), trailer_kind(tr), v, vlen, c->path,
		block_off);
}

int ck_collect_batch_entry(void *ctx, uint64_t seq, unsigned kind, const uint8_t *ikey,
			       size_t iklen, const uint8_t *value, size_t vlen)
{
	struct collect *c = ctx;
	ck_cat_add(c->cat, ikey, iklen, seq, kind, value, vlen, c->path, CHECK_NO_OFFSET);
	return 0;
}

/* Reads and scans one table file. cat (may be NULL) collects its entries. */
int ck_scan_table_file(struct run *r, const char *path, struct catalog_view *cat,
			   struct tscan *t, uint8_t **data)
{
	memset(t, 0, sizeof(*t));
	size_t n;
	int e = io_read_file(path, MAX_FILE_READ, data, &n);
	if (e < 0) {
		ck_found(r, CHECK_PROBLEM, path, CHECK_NO_OFFSET, "cannot read: %s", strerror(-e));
		return -1;
	}
	struct collect c = { cat, path };
	t->r = r;
	t->path = path;
	t->d = *data;
	t->n = n;
	t->entry = cat ? collect_table_entry : NULL;
	t->ctx = &c;
	ck_tscan_run(t);
	r->st->tables++;
	r->st->blocks += t->blocks_ok + t->blocks_bad;
	r->st->entries += t->entries;
	r->st->table_bytes += n;
	/* The deep checks (filter, hash index) of sstable.c, on a table whose
	 * structure held. */
	if (!t->problems && sst_verify(path, NULL)) {
		found_engine_error(r, path);
		t->problems++;
	}
	return 0;
}

/* State of the log check across segments. */
struct walcheck {
	struct run *r;
	const char *path;
	struct collect col;
	uint64_t last_seq;
	bool seq_known;
	uint64_t bad_records;
};

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
static void check_segment(struct run *r, const char *dir, const uint64_t *segs, size_t nseg,
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

int check_dir(const char *dir, const struct check_options *o, struct check_stats *st)
{
	struct check_options defaults = { 0 };
	struct run r = { .o = o ? o : &defaults, .st = st };
	memset(st, 0, sizeof(*st));
	struct listing l;
	int e = ck_list_dir(dir, &l);
	if (e)
		return e;
	int lock_fd;
	e = ck_take_lock(dir, false, &lock_fd);
	if (e) {
		ck_listing_free(&l);
		return e;
	}
	char path[PATH_MAX], mpath[PATH_MAX];
	file_path(path, PATH_MAX, dir, FILE_STORE, 0);
	if (l.store != 1)
		ck_found(&r, CHECK_PROBLEM, path, 0, l.store ? "not a GoLite store marker"
							 : "missing (the store will not open)");

	/* The manifest. */
	struct mscan ms;
	memset(&ms, 0, sizeof(ms));
	file_path(mpath, PATH_MAX, dir, FILE_MANIFEST, 0);
	bool have_manifest = false;
	if (l.has_manifest) {
		uint8_t *d;
		size_t n;
		e = io_read_file(mpath, MAX_FILE_READ, &d, &n);
		if (e < 0) {
			ck_found(&r, CHECK_PROBLEM, mpath, CHECK_NO_OFFSET, "cannot read: %s",
			      strerror(-e));
		} else {
			ck_progress(&r, "manifest", 0, n);
			ck_mscan_run(&r, mpath, d, n, &ms);
			st->manifest_edits = ms.edits;
			have_manifest = true;
			free(d);
			ck_progress(&r, "manifest", n, n);
		}
	} else if (l.nsst) {
		ck_found(&r, CHECK_PROBLEM, mpath, CHECK_NO_OFFSET,
		      "missing, but the directory holds %zu tables (the store will not open)", l.nsst);
	}
	bool trust_manifest = have_manifest && ms.clean;

	/* Tables. Those the manifest names are checked and compared with it;
	 * with no trustworthy manifest every table present counts. */
	struct catalog_view cat = { 0 };
	uint64_t total = 0, done = 0;
	for (size_t i = 0; i < l.nsst; i++) {
		file_path(path, PATH_MAX, dir, FILE_TABLE, l.sst[i]);
		total += ck_file_size_of(path);
	}
	for (size_t i = 0; i < l.nwal; i++) {
		file_path(path, PATH_MAX, dir, FILE_WAL, l.wal[i]);
		total += ck_file_size_of(path);
	}
	uint64_t max_table_seq = 0;
	for (size_t i = 0; i < l.nsst; i++) {
		file_path(path, PATH_MAX, dir, FILE_TABLE, l.sst[i]);
		size_t fi = SIZE_MAX;
		for (size_t j = 0; j < ms.m.nfiles && fi == SIZE_MAX; j++)
			if (ms.m.files[j].meta.file_no == l.sst[i])
				fi = j;
		if (trust_manifest && fi == SIZE_MAX) {
			ck_found(&r, CHECK_NOTE, path, CHECK_NO_OFFSET,
			      "not named by the manifest (left by interrupted work; open removes it)");
			done += ck_file_size_of(path);
			continue;
		}
		ck_progress(&r, "tables", done, total);
		struct tscan t;
		uint8_t *d = NULL;
		if (ck_scan_table_file(&r, path, &cat, &t, &d) == 0) {
			done += t.n;
			if (t.props_ok && t.p.file_no != l.sst[i])
				ck_found(&r, CHECK_NOTE, path, t.foot.props_off,
				      "properties name file number %" PRIu64 " (a copied or renamed "
				      "file?)", t.p.file_no);
			if (fi != SIZE_MAX && !t.problems && t.props_ok)
				check_against_manifest(&r, mpath, ms.file_off[fi], &ms.m.files[fi].meta,
						       &t);
			max_table_seq = MAX(max_table_seq, t.max_seq);
		}
		ck_tscan_free(&t);
		free(d);
	}
	ck_progress(&r, "tables", done, total);

	/* What the manifest says about the directory. */
	if (have_manifest) {
		uint64_t max_no = 0;
		for (size_t i = 0; i < ms.m.nfiles; i++) {
			const struct sst_meta *m = &ms.m.files[i].meta;
			char name[FILE_NAME_MAX], other[FILE_NAME_MAX];
			file_name(name, sizeof(name), FILE_TABLE, m->file_no);
			max_no = MAX(max_no, m->file_no);
			max_table_seq = MAX(max_table_seq, m->max_seq);
			if (!ck_in_list(l.sst, l.nsst, m->file_no))
				ck_found(&r, CHECK_PROBLEM, mpath, ms.file_off[i],
					 "names table %s (level %u), which is missing", name,
					 ms.m.files[i].level);
			for (size_t j = 0; j < i; j++)
				if (ms.m.files[j].meta.file_no == m->file_no)
					ck_found(&r, CHECK_PROBLEM, mpath, ms.file_off[i],
						 "names table %s twice", name);
			if (skey_cmp(m->smallest, m->smallest_len, m->largest, m->largest_len) > 0)
				ck_found(&r, CHECK_PROBLEM, mpath, ms.file_off[i],
					 "table %s: smallest key after largest", name);
			if (ms.m.files[i].level == 0)
				continue;
			for (size_t j = 0; j < ms.m.nfiles; j++) {
				const struct manifest_file *g = &ms.m.files[j];
				if (j < i && g->level == ms.m.files[i].level &&
				    ck_meta_overlap(&g->meta, m)) {
					file_name(other, sizeof(other), FILE_TABLE, g->meta.file_no);
					ck_found(&r, CHECK_PROBLEM, mpath, ms.file_off[i],
						 "tables %s and %s of level %u overlap", other, name,
						 g->level);
				}
			}
		}
		if (ms.have_next && ms.m.next_file_no <= max_no)
			ck_found(&r, CHECK_PROBLEM, mpath, CHECK_NO_OFFSET,
			      "next file number %" PRIu64 " is not above table %" PRIu64
			      " which it names", ms.m.next_file_no, max_no);
		if (ms.have_last && ms.m.last_seq < max_table_seq)
			ck_found(&r, CHECK_PROBLEM, mpath, CHECK_NO_OFFSET,
			      "last sequence %" PRIu64 " is below the tables' %" PRIu64,
			      ms.m.last_seq, max_table_seq);
	}

	/* The log: segments from the manifest's log number are replayed. */
	uint64_t log_number = trust_manifest || ms.have_log ? ms.m.log_number : 0;
	struct walcheck wc = { .r = &r, .col = { &cat, NULL } };
	for (size_t i = 0; i < l.nwal; i++) {
		ck_progress(&r, "wal", done, total);
		file_path(path, PATH_MAX, dir, FILE_WAL, l.wal[i]);
		done += ck_file_size_of(path);
		check_segment(&r, dir, l.wal, l.nwal, i, l.wal[i] >= log_number, &wc);
	}
	ck_progress(&r, "wal", done, total);

	/* The table catalog, from every source open would read. */
	ck_cat_check(&r, dir, &cat);

	static const char *const replaced[] = { MANIFEST_FILE, STORE_FILE };
	for (size_t i = 0; i < ARRAY_SIZE(replaced); i++) {
		file_temp_path(path, PATH_MAX, dir, replaced[i]);
		if (access(path, F_OK) == 0)
			ck_found(&r, CHECK_NOTE, path, CHECK_NO_OFFSET,
			      "temporary file of an interrupted write (open removes it)");
	}
	ck_path_join(path, dir, LOST_DIR);
	if (access(path, F_OK) == 0)
		ck_found(&r, CHECK_NOTE, path, CHECK_NO_OFFSET,
		      "holds files an earlier repair moved aside");
	ck_flush_suppressed(&r);
	ck_cat_free(&cat);
	ck_mscan_free(&ms);
	ck_listing_free(&l);
	if (lock_fd >= 0)
		io_close(lock_fd);
	return 0;
}

int check_wal_file(const char *path, const struct check_options *o, struct check_stats *st)
{
	struct check_options defaults = { 0 };
	struct run r = { .o = o ? o : &defaults, .st = st };
	memset(st, 0, sizeof(*st));
	uint8_t *d;
	size_t n;
	int e = io_read_file(path, MAX_FILE_READ, &d, &n);
	if (e < 0)
		return set_error(errno_to_golite(-e), "cannot read %s: %s", path, strerror(-e));
	struct walcheck wc = { .r = &r, .path = path };
	struct wal_damage_ctx dc = { .wc = &wc };
	struct check_wal_ops ops = { wd_record, wd_damage };
	struct check_wal_info info;
	check_wal_walk(d, n, &ops, &dc, &info);
	st->wal_segments = 1;
	st->wal_bytes = n;
	for (size_t k = 0; k < dc.dl.n; k++)
		ck_found(&r, CHECK_PROBLEM, path, dc.dl.off[k], "%s (%" PRIu64 " bytes)", dc.dl.what[k],
		      dc.dl.end[k] - dc.dl.off[k]);
	if (info.empty)
		ck_found(&r, CHECK_PROBLEM, path, 0, "no header: an empty segment");
	ck_flush_suppressed(&r);
	free(d);
	return 0;
}

int check_table_file(const char *path, const struct check_options *o, struct check_stats *st)
{
	struct check_options defaults = { 0 };
	struct run r = { .o = o ? o : &defaults, .st = st };
	memset(st, 0, sizeof(*st));
	struct tscan t;
	uint8_t *d = NULL;
	int e = ck_scan_table_file(&r, path, NULL, &t, &d);
	ck_tscan_free(&t);
	free(d);
	ck_flush_suppressed(&r);
	return e ? set_error(GOLITE_EIO, "cannot read %s", path) : 0;
}

int check_manifest_file(const char *path, const struct check_options *o, struct check_stats *st)
{
	struct check_options defaults = { 0 };
	struct run r = { .o = o ? o : &defaults, .st = st };
	memset(st, 0, sizeof(*st));
	uint8_t *d;
	size_t n;
	int e = io_read_file(path, MAX_FILE_READ, &d, &n);
	if (e < 0)
		return set_error(errno_to_golite(-e), "cannot read %s: %s", path, strerror(-e));
	struct mscan ms;
	ck_mscan_run(&r, path, d, n, &ms);
	st->manifest_edits = ms.edits;
	ck_mscan_free(&ms);
	free(d);
	ck_flush_suppressed(&r);
	return 0;
}

