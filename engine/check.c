/*
 * check.c — verifying and repairing a data directory without opening the
 * store (golite_tools.h states the contract): findings and the directory
 * as a whole, the checks across its files, check_dir and golite_check.
 * Each kind of file is checked by its own file: check_wal.c,
 * check_table.c, check_manifest.c, and the table catalog across them by
 * check_catalog.c; hard links, in the store's contents, by check_links.c;
 * repair.c repairs. They share check_int.h.
 *
 * Logs and manifests are read by the store's own readers in their
 * reporting modes (wal_scan in wal_reader.c, manifest_scan in manifest.c):
 * where recovery stops at the first damage, these report it and
 * resynchronise, so that check can list every problem and repair can keep
 * every record that checks out. Tables are read block by block with
 * block.c's decoding (check_table.c), and then verified by sstable_tool.c.
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
#include "check_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "format.h"
#include "io.h"
#include "manifest.h"
#include "sstable.h"
#include "util.h"

/* ---- findings ---- */

void ck_flush_suppressed(struct run *r)
{
	if (!r->suppressed)
		return;
	char msg[128];
	snprintf(msg, sizeof(msg), "... and %" PRIu64 " more findings in this file",
		 r->suppressed);
	golite_finding f = { GOLITE_FINDING_NOTE, r->cur, GOLITE_NO_OFFSET, msg };
	if (r->o->report && !r->o->quiet)
		r->o->report(r->o->report_ctx, &f);
	r->suppressed = 0;
}

__attribute__((format(printf, 5, 6)))
void ck_found(struct run *r, enum golite_finding_kind kind, const char *path, uint64_t off,
		  const char *fmt, ...)
{
	if (kind == GOLITE_FINDING_PROBLEM)
		r->st->problems++;
	else if (kind == GOLITE_FINDING_NOTE)
		r->st->notes++;
	if (strcmp(path, r->cur) != 0) {
		ck_flush_suppressed(r);
		snprintf(r->cur, sizeof(r->cur), "%s", path);
		r->cur_count = 0;
	}
	uint32_t max = r->o->max_per_file ? r->o->max_per_file : 100;
	if (++r->cur_count > max && kind != GOLITE_FINDING_FIXED) {
		r->suppressed++;
		return;
	}
	if (!r->o->report || (r->o->quiet && kind == GOLITE_FINDING_NOTE))
		return;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	golite_finding f = { kind, path, off, msg };
	r->o->report(r->o->report_ctx, &f);
}

void ck_progress(struct run *r, const char *stage, uint64_t done, uint64_t total)
{
	if (r->o->progress)
		r->o->progress(r->o->progress_ctx, stage, done, total);
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

int ck_check_one_file(const char *path, const golite_check_options *o, golite_check_stats *st,
		      void (*scan)(struct run *r, const char *path, const uint8_t *d, size_t n))
{
	static const golite_check_options defaults;
	struct run r = { .o = o ? o : &defaults, .st = st };
	memset(st, 0, sizeof(*st));
	uint8_t *d;
	size_t n;
	int e = io_read_file(path, MAX_FILE_READ, &d, &n);
	if (e < 0)
		return set_error(errno_to_golite(-e), "cannot read %s: %s", path, strerror(-e));
	scan(&r, path, d, n);
	ck_flush_suppressed(&r);
	free(d);
	return 0;
}

uint64_t ck_file_size_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* ---- the directory ---- */

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
		ck_found(r, GOLITE_FINDING_PROBLEM, mpath, edit_off,
			 "table %s: its %s differs from the manifest's record", name, what);
	}
}

int check_dir(const char *dir, const golite_check_options *o, golite_check_stats *st)
{
	golite_check_options defaults = { 0 };
	struct run r = { .o = o ? o : &defaults, .st = st };
	memset(st, 0, sizeof(*st));
	struct listing l;
	int e = ck_list_dir(dir, &l);
	if (e)
		return e;
	int lock_fd;
	e = data_dir_lock(dir, false, &lock_fd);
	if (e) {
		ck_listing_free(&l);
		return e;
	}
	char path[PATH_MAX], mpath[PATH_MAX];
	file_path(path, PATH_MAX, dir, FILE_STORE, 0);
	if (l.store != 1)
		ck_found(&r, GOLITE_FINDING_PROBLEM, path, 0, l.store ? "not a GoLite store marker"
							 : "missing (the store will not open)");

	/* The manifest. */
	struct manifest_scan ms;
	memset(&ms, 0, sizeof(ms));
	file_path(mpath, PATH_MAX, dir, FILE_MANIFEST, 0);
	bool have_manifest = false;
	if (l.has_manifest) {
		uint8_t *d;
		size_t n;
		e = io_read_file(mpath, MAX_FILE_READ, &d, &n);
		if (e < 0) {
			ck_found(&r, GOLITE_FINDING_PROBLEM, mpath, GOLITE_NO_OFFSET, "cannot read: %s",
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
		ck_found(&r, GOLITE_FINDING_PROBLEM, mpath, GOLITE_NO_OFFSET,
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
			ck_found(&r, GOLITE_FINDING_NOTE, path, GOLITE_NO_OFFSET,
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
				ck_found(&r, GOLITE_FINDING_NOTE, path, t.foot.props_off,
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
				ck_found(&r, GOLITE_FINDING_PROBLEM, mpath, ms.file_off[i],
					 "names table %s (level %u), which is missing", name,
					 ms.m.files[i].level);
			for (size_t j = 0; j < i; j++)
				if (ms.m.files[j].meta.file_no == m->file_no)
					ck_found(&r, GOLITE_FINDING_PROBLEM, mpath, ms.file_off[i],
						 "names table %s twice", name);
			if (skey_cmp(m->smallest, m->smallest_len, m->largest, m->largest_len) > 0)
				ck_found(&r, GOLITE_FINDING_PROBLEM, mpath, ms.file_off[i],
					 "table %s: smallest key after largest", name);
			if (ms.m.files[i].level == 0)
				continue;
			for (size_t j = 0; j < ms.m.nfiles; j++) {
				const struct manifest_file *g = &ms.m.files[j];
				if (j < i && g->level == ms.m.files[i].level &&
				    ck_meta_overlap(&g->meta, m)) {
					file_name(other, sizeof(other), FILE_TABLE, g->meta.file_no);
					ck_found(&r, GOLITE_FINDING_PROBLEM, mpath, ms.file_off[i],
						 "tables %s and %s of level %u overlap", other, name,
						 g->level);
				}
			}
		}
		if (ms.have_next && ms.m.next_file_no <= max_no)
			ck_found(&r, GOLITE_FINDING_PROBLEM, mpath, GOLITE_NO_OFFSET,
			      "next file number %" PRIu64 " is not above table %" PRIu64
			      " which it names", ms.m.next_file_no, max_no);
		if (ms.have_last && ms.m.last_seq < max_table_seq)
			ck_found(&r, GOLITE_FINDING_PROBLEM, mpath, GOLITE_NO_OFFSET,
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
		ck_check_segment(&r, dir, l.wal, l.nwal, i, l.wal[i] >= log_number, &wc);
	}
	ck_progress(&r, "wal", done, total);

	/* The table catalog, from every source open would read. */
	ck_cat_check(&r, dir, &cat);

	/* Named snapshots (snapshot.h): none may see past the store's newest
	 * sequence, or writes after it would take sequences it claims. */
	if (have_manifest) {
		uint64_t newest = MAX(cat.max_seq, ms.have_last ? ms.m.last_seq : 0);
		for (size_t i = 0; i < ms.m.nsnaps; i++)
			if (ms.m.snaps[i].seq > newest)
				ck_found(&r, GOLITE_FINDING_PROBLEM, mpath, GOLITE_NO_OFFSET,
					 "snapshot \"%s\" has sequence %" PRIu64
					 ", beyond the store's newest %" PRIu64,
					 ms.m.snaps[i].name, ms.m.snaps[i].seq, newest);
	}

	/* Hard links, in the store's contents (check_links.c): looked at if
	 * the files hold a record of one, and if they check out (the store is
	 * opened read-only for it). */
	bool files_ok = !st->problems;
	if (cat.links_seen && !st->problems)
		ck_links_check(&r, dir);
	else if (cat.links_seen)
		ck_found(&r, GOLITE_FINDING_NOTE, dir, GOLITE_NO_OFFSET,
			 "hard links not checked: the files have problems (repair them first)");

	/* Separated values (check_values.c): read if the store has value
	 * files and its files check out. */
	uint64_t *vals;
	size_t nvals = 0;
	if (file_list(dir, FILE_VALUE, &vals, &nvals) == 0)
		free(vals);
	if (nvals && files_ok)
		ck_values_check(&r, dir);
	else if (nvals)
		ck_found(&r, GOLITE_FINDING_NOTE, dir, GOLITE_NO_OFFSET,
			 "separated values not read: the files have problems (repair them "
			 "first)");

	static const char *const replaced[] = { MANIFEST_FILE, STORE_FILE };
	for (size_t i = 0; i < ARRAY_SIZE(replaced); i++) {
		file_temp_path(path, PATH_MAX, dir, replaced[i]);
		if (access(path, F_OK) == 0)
			ck_found(&r, GOLITE_FINDING_NOTE, path, GOLITE_NO_OFFSET,
			      "temporary file of an interrupted write (open removes it)");
	}
	ck_path_join(path, dir, LOST_DIR);
	if (access(path, F_OK) == 0)
		ck_found(&r, GOLITE_FINDING_NOTE, path, GOLITE_NO_OFFSET,
		      "holds files an earlier repair moved aside");
	ck_flush_suppressed(&r);
	ck_cat_free(&cat);
	manifest_scan_free(&ms);
	ck_listing_free(&l);
	if (lock_fd >= 0)
		io_close(lock_fd);
	return 0;
}

/* The kind of the file at path, by its magic number (its first and last
 * bytes) or, failing that, its name. */
static int kind_of_file(const char *path, enum file_kind *kind)
{
	uint8_t head[8] = { 0 }, tail[8] = { 0 };
	int fd = io_open(path, O_RDONLY, 0);
	if (fd < 0)
		return set_error(errno_to_golite(-fd), "cannot open %s: %s", path, strerror(-fd));
	uint64_t size = 0;
	io_file_size(fd, &size);
	ssize_t got = io_pread(fd, head, sizeof(head), 0);
	ssize_t tail_got = size >= sizeof(tail)
				   ? io_pread(fd, tail, sizeof(tail), size - sizeof(tail)) : 0;
	io_close(fd);
	*kind = file_kind_of(path, head, got > 0 ? (size_t)got : 0, tail,
			     tail_got > 0 ? (size_t)tail_got : 0);
	return 0;
}

static void discard_log(void *ctx, enum golite_log_level level, const char *msg)
{
	(void)ctx;
	(void)level;
	(void)msg;
}

int ck_store_open(const char *dir, bool writable, golite **db)
{
	golite_options o;
	golite_options_init(&o);
	o.create_if_missing = false;
	o.read_only = !writable;
	o.compaction_threads = 0;
	o.block_cache_size = 8u << 20;
	o.log = discard_log;
	return golite_open(dir, &o, db);
}

int golite_check(const char *path, const golite_check_options *o, golite_check_stats *st)
{
	memset(st, 0, sizeof(*st));
	struct stat sb;
	if (stat(path, &sb) < 0)
		return set_error(errno == ENOENT ? GOLITE_ENOTFOUND : GOLITE_EIO, "%s: %s", path,
				 strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return check_dir(path, o, st);
	enum file_kind kind = FILE_UNKNOWN;
	int e = kind_of_file(path, &kind);
	if (e)
		return e;
	switch (kind) {
	case FILE_WAL:
		return check_wal_file(path, o, st);
	case FILE_TABLE:
		return check_table_file(path, o, st);
	case FILE_MANIFEST:
		return check_manifest_file(path, o, st);
	default:
		return set_error(GOLITE_EINVAL, "%s is not a log segment, table or MANIFEST", path);
	}
}
