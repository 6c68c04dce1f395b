/*
 * check_table.c — checking a table without opening the store: footer,
 * properties and index of a table image are parsed by the store's own
 * parsers (sstable.c: sst_parse_footer, sst_parse_props, sst_parse_index),
 * whose problems become findings, and every data block is decoded with
 * block.c's and checked against its checksum and the format. Without a
 * usable index the data blocks are found by their trailers (the reporting
 * and resynchronising mode for tables), so that repair can salvage what a
 * damaged table still holds. The entries of good blocks go
 * to the catalog collector (check_catalog.c) or to a salvaged table.
 *
 * Invariants:
 *   1. Entries are delivered only from a block whose checksum holds, and
 *      only in strictly increasing key order (check.c invariant 3).
 *   2. A problem in one block does not stop the scan of the others; each
 *      is reported with the offset where it was found.
 */
#include "check_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "cache.h"
#include "crc32c.h"
#include "error.h"
#include "format.h"
#include "io.h"
#include "sstable.h"
#include "util.h"
#include "vlog.h"
#include "vfile.h"

#define RESYNC_WINDOW (1u << 20)

__attribute__((format(printf, 3, 4)))
static void tproblem(struct tscan *t, uint64_t off, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	t->problems++;
	ck_found(t->r, GOLITE_FINDING_PROBLEM, t->path, off, "%s", msg);
}

/* Makes a finding of what sstable.c's parsers found; false. */
static bool tscan_problem(struct tscan *t, const struct sst_problem *why)
{
	tproblem(t, why->off, "%s", why->msg);
	return false;
}

static bool tscan_footer(struct tscan *t)
{
	struct sst_problem why;
	const uint8_t *f = t->n >= SST_FOOTER_SIZE ? t->d + t->n - SST_FOOTER_SIZE : t->d;
	if (sst_parse_footer(f, t->n, &t->foot, &why))
		return tscan_problem(t, &why);
	return true;
}

/* Checks the trailer of a meta block; true if it holds and it is raw. */
static bool tscan_meta_block(struct tscan *t, uint64_t off, uint64_t size, const char *what)
{
	struct sst_problem why;
	if (sst_check_meta_block(t->d + off, size, off, what, &why))
		return tscan_problem(t, &why);
	return true;
}

static bool tscan_props(struct tscan *t)
{
	struct sst_problem why;
	if (!tscan_meta_block(t, t->foot.props_off, t->foot.props_size, "properties block"))
		return false;
	if (sst_parse_props(t->d + t->foot.props_off, &t->foot, &t->p, &why))
		return tscan_problem(t, &why);
	return true;
}

static bool tscan_index(struct tscan *t)
{
	struct sst_problem why;
	if (!tscan_meta_block(t, t->foot.index_off, t->foot.index_size, "index block"))
		return false;
	if (sst_parse_index(t->d + t->foot.index_off, &t->foot,
			    t->props_ok ? t->p.data_blocks : UINT64_MAX, &t->ix, &t->nblocks, &why))
		return tscan_problem(t, &why);
	return true;
}

/*
 * Decodes one data block stored at [off, off + size) (its trailer follows)
 * and delivers its entries. lo/hi (may be NULL) are the index separators
 * around it. Returns false if the block is unusable as a whole.
 */
static bool tscan_block(struct tscan *t, uint64_t off, size_t size,
			const struct sst_index_entry *lo, const struct sst_index_entry *hi, bool quiet)
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
		if (!kind_valid(kind))
			bad = "unknown entry kind";
		else if ((kind & KIND_EXPIRES) && c.vlen < EXPIRES_PREFIX)
			bad = "expiring entry without its expiry";
		else if ((kind & KIND_SEPARATE) && c.vlen != VPTR_SIZE)
			bad = "separated value whose pointer is not 28 bytes";
		else if (kind == KIND_DELETE && c.vlen)
			bad = "tombstone with a value";
		else if (iklen <= IKEY_PREFIX)
			bad = "key without a table id";
		else if (t->last_len && skey_cmp(t->last, t->last_len, c.key, klen) >= 0)
			bad = "key out of order";
		else if (lo && skey_cmp(lo->sep, lo->klen, c.key, klen) >= 0)
			bad = "key before its block's index range";
		else if (hi && skey_cmp(c.key, klen, hi->sep, hi->klen) > 0)
			bad = "key past its block's index separator";
		if (bad) {
			if (quiet && n == 0) {
				ok = false;
				goto out;
			}
			tproblem(t, off, "data block: %s (entry at byte %u of the block)", bad, c.off);
			break;
		}
		if (kind_base(kind) == KIND_META) {
			struct vfile vf;
			size_t pre = (kind & KIND_EXPIRES) ? EXPIRES_PREFIX : 0;
			if (vfile_decode(c.value + pre, c.vlen - pre, &vf) && !quiet)
				ck_found(t->r, GOLITE_FINDING_PROBLEM, t->path, off,
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
	       kind_valid(trailer_kind(get_le64(k + ns - TRAILER_SIZE)));
}

/* Without a usable index: finds the data blocks by their trailers. */
static void tscan_blocks_by_trailer(struct tscan *t)
{
	uint64_t limit = t->footer_ok ? t->foot.filter_off : t->n;
	uint64_t off = 0;
	ck_found(t->r, GOLITE_FINDING_NOTE, t->path, 0, "index unusable: looking for data blocks by checksum");
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
			const struct sst_index_entry *x = &t->ix[i];
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

/* Reports golite_last_error() (which names file and offset) as a problem
 * of path, taking the offset from the message when it gives one. */
static void found_engine_error(struct run *r, const char *path)
{
	const char *msg = golite_last_error();
	uint64_t off = GOLITE_NO_OFFSET;
	const char *at = strstr(msg, "offset ");
	if (at)
		off = strtoull(at + 7, NULL, 10);
	const char *tail = msg;
	size_t pl = strlen(path);
	if (strncmp(msg, path, pl) == 0 && msg[pl] == ':' && msg[pl + 1] == ' ')
		tail = msg + pl + 2;
	ck_found(r, GOLITE_FINDING_PROBLEM, path, off, "%s", tail);
}

static void collect_table_entry(void *ctx, const uint8_t *k, size_t klen, const uint8_t *v,
				size_t vlen, uint64_t block_off)
{
	struct collect *c = ctx;
	uint64_t tr = get_le64(k + klen - TRAILER_SIZE);
	ck_cat_add(c->cat, k, klen - TRAILER_SIZE, trailer_seq(tr), trailer_kind(tr), v, vlen, c->path,
		block_off);
}

/* Reads and scans one table file. cat (may be NULL) collects its entries. */
int ck_scan_table_file(struct run *r, const char *path, struct catalog_view *cat,
			   struct tscan *t, uint8_t **data)
{
	memset(t, 0, sizeof(*t));
	size_t n;
	int e = io_read_file(path, MAX_FILE_READ, data, &n);
	if (e < 0) {
		ck_found(r, GOLITE_FINDING_PROBLEM, path, GOLITE_NO_OFFSET, "cannot read: %s", strerror(-e));
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

int check_table_file(const char *path, const golite_check_options *o, golite_check_stats *st)
{
	golite_check_options defaults = { 0 };
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
