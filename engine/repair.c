/*
 * repair.c — `golite repair`: keeps every record and entry that checks out,
 * moves damaged files aside, and leaves a store that opens and checks
 * clean (golite_repair, golite_tools.h). The checks it builds on are in
 * check.c; it reads files with the store's readers in their reporting
 * modes (wal_scan, manifest_scan) and check_table.c's block scan. Once
 * the files are repaired, check_links.c repairs the hard links in the
 * store's contents, through the store opened as usual.
 */
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
#include "error.h"
#include "format.h"
#include "io.h"
#include "manifest.h"
#include "rcu.h"
#include "sstable.h"
#include "util.h"
#include "vfile.h"
#include "wal.h"
#include "check_int.h"

/* Creates DATADIR/lost/<timestamp>/ on first use. */
static int lost_dir_make(const char *dir, golite_repair_stats *st)
{
	if (st->lost_dir[0])
		return 0;
	char base[PATH_MAX];
	ck_path_join(base, dir, LOST_DIR);
	int e = io_mkdir(base, 0700);
	if (e < 0 && e != -EEXIST)
		return set_error(errno_to_golite(-e), "cannot create %s: %s", base, strerror(-e));
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	char stamp[32];
	strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
	for (int i = 0;; i++) {
		if (i)
			ck_fmt_path(st->lost_dir, "%s/%s-%d", base, stamp, i);
		else
			ck_fmt_path(st->lost_dir, "%s/%s", base, stamp);
		e = io_mkdir(st->lost_dir, 0700);
		if (e == 0)
			break;
		if (e != -EEXIST) {
			st->lost_dir[0] = '\0';
			return set_error(errno_to_golite(-e), "cannot create a directory in %s: %s",
					 base, strerror(-e));
		}
	}
	io_sync_dir(base);
	io_sync_dir(dir);
	return 0;
}

/* Writes data to path (created, synced). */
static int write_whole(const char *path, const void *data, size_t len)
{
	int fd = io_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return fd;
	int e = io_pwrite(fd, data, len, 0);
	if (e == 0)
		e = io_fdatasync(fd);
	io_close(fd);
	if (e < 0)
		io_unlink(path);
	return e;
}

/*
 * Puts dir/name into the lost directory (a hard link, or a copy where
 * links are refused). The original stays until the caller replaces or
 * removes it (invariant 2).
 */
static int lost_keep(struct run *r, const char *dir, const char *name, golite_repair_stats *st)
{
	int e = lost_dir_make(dir, st);
	if (e)
		return e;
	char src[PATH_MAX], dst[PATH_MAX];
	ck_path_join(src, dir, name);
	ck_path_join(dst, st->lost_dir, name);
	if (link(src, dst) < 0) {
		uint8_t *d;
		size_t n;
		e = io_read_file(src, MAX_FILE_READ, &d, &n);
		if (e == 0) {
			e = write_whole(dst, d, n);
			free(d);
		}
		if (e < 0)
			return set_error(errno_to_golite(-e), "cannot keep %s in %s: %s", src,
					 st->lost_dir, strerror(-e));
	}
	io_sync_dir(st->lost_dir);
	st->files_moved++;
	ck_found(r, GOLITE_FINDING_FIXED, src, GOLITE_NO_OFFSET, "moved aside to %s", dst);
	return 0;
}

/* ---- writing tables ---- */

struct tout {
	const char *dir;
	uint64_t *next_no;
	struct sst_options so;
	uint64_t target;              /* cut tables past this size (0: never) */
	struct sst_builder *b;
	uint8_t *last_ikey;
	size_t last_iklen;
	struct sst_meta *metas;       /* finished tables */
	size_t n, cap;
	int err;
};

static int tout_finish(struct tout *o)
{
	if (!o->b)
		return o->err;
	struct sst_meta m;
	int e = sst_builder_finish(o->b, &m);
	o->b = NULL;
	if (e) {
		o->err = o->err ? o->err : e;
		return o->err;
	}
	if (o->n == o->cap)
		o->metas = xrealloc(o->metas, (o->cap = o->cap ? 2 * o->cap : 8) * sizeof(*o->metas));
	o->metas[o->n++] = m;
	return o->err;
}

static void tout_add(struct tout *o, const uint8_t *k, size_t klen, const uint8_t *v, size_t vlen)
{
	if (o->err)
		return;
	size_t iklen = klen - TRAILER_SIZE;
	bool new_ikey = !o->last_ikey || ikey_cmp(o->last_ikey, o->last_iklen, k, iklen) != 0;
	if (o->b && o->target && new_ikey && sst_builder_size(o->b) >= o->target &&
	    tout_finish(o))
		return;
	if (!o->b) {
		char path[PATH_MAX];
		uint64_t no = (*o->next_no)++;
		file_path(path, PATH_MAX, o->dir, FILE_TABLE, no);
		int e = sst_builder_new(path, no, &o->so, &o->b);
		if (e) {
			o->err = e;
			return;
		}
	}
	int e = sst_builder_add(o->b, k, klen, v, vlen);
	if (e) {
		o->err = e;
		return;
	}
	if (new_ikey) {
		free(o->last_ikey);
		o->last_ikey = xmemdup(k, iklen);
		o->last_iklen = iklen;
	}
}

static void tout_free(struct tout *o)
{
	if (o->b)
		sst_builder_abandon(o->b);
	for (size_t i = 0; i < o->n; i++)
		sst_meta_free(&o->metas[i]);
	free(o->metas);
	free(o->last_ikey);
}

/* ---- writing log segments ---- */

struct segbuf {
	uint8_t *p;
	size_t len, cap;
	uint64_t records;
};

static void segbuf_put(struct segbuf *s, const void *data, size_t n)
{
	if (s->len + n > s->cap) {
		s->cap = MAX(s->cap * 2, s->len + n + 4096);
		s->p = xrealloc(s->p, s->cap);
	}
	memcpy(s->p + s->len, data, n);
	s->len += n;
}

static void segbuf_begin(struct segbuf *s, uint64_t segno)
{
	uint8_t h[WAL_SEGMENT_HEADER];
	wal_segment_header(h, segno);
	s->len = 0;
	s->records = 0;
	segbuf_put(s, h, sizeof(h));
}

/* Appends a logical record, fragmented as the log writes it. The repaired
 * segment is synced as a whole at the end: its records claim nothing more
 * than the header was on disk. */
static void segbuf_record(struct segbuf *s, const uint8_t *p, size_t len)
{
	uint8_t *rec = xmalloc(wal_logical_size(len));
	segbuf_put(s, rec, wal_logical_encode(rec, p, len, WAL_SEGMENT_HEADER));
	free(rec);
	s->records++;
}

/* ---- the tables of the repaired store ---- */

struct rtable {
	uint64_t file_no;             /* the file that holds it now */
	uint64_t orig_no;             /* the file it came from */
	int level;                    /* -1 while unknown */
	bool clean;
	bool live;                    /* part of the repaired store */
	bool salvaged;                /* file_no is a new file made from orig_no */
	bool superseded;              /* its data went into merged tables */
	bool named;                   /* the manifest names it */
	uint64_t scan_entries;        /* entries readable */
	uint64_t recorded_entries;    /* entries its properties claim (0 if unknown) */
	uint64_t size;                /* bytes of the original file */
	uint64_t bad_blocks;
	struct sst_meta meta;         /* of file_no */
	struct catalog_view cat;
};

static int cmp_newest_first(const void *a, const void *b)
{
	const struct rtable *x = *(struct rtable *const *)a, *y = *(struct rtable *const *)b;
	if (x->meta.max_seq != y->meta.max_seq)
		return x->meta.max_seq > y->meta.max_seq ? -1 : 1;
	return x->file_no > y->file_no ? -1 : x->file_no < y->file_no;
}

/*
 * Places tables whose levels are unknown: newest first, each one level
 * below every newer table it overlaps. This is right only when each such
 * newer table holds nothing older than the table below it; otherwise (or
 * past the last level) returns false and the tables must be merged.
 */
static bool assign_levels(struct rtable **v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_newest_first);
	for (size_t i = 0; i < n; i++) {
		int level = 1;
		for (size_t j = 0; j < i; j++) {
			if (!ck_meta_overlap(&v[j]->meta, &v[i]->meta))
				continue;
			if (v[j]->meta.min_seq <= v[i]->meta.max_seq)
				return false;
			level = MAX(level, v[j]->level + 1);
		}
		if (level >= NUM_LEVELS)
			return false;
		v[i]->level = level;
	}
	return true;
}

/* ---- merging ---- */

struct msrc {
	struct sst_reader *rd;
	struct sst_iter *it;
};

static int msrc_cmp(const struct msrc *a, const struct msrc *b)
{
	size_t al, bl;
	const void *ak = sst_iter_key(a->it, &al), *bk = sst_iter_key(b->it, &bl);
	return skey_cmp(ak, al, bk, bl);
}

static void heap_down(struct msrc *h, size_t n, size_t i)
{
	for (;;) {
		size_t m = i, l = 2 * i + 1, r = l + 1;
		if (l < n && msrc_cmp(&h[l], &h[m]) < 0)
			m = l;
		if (r < n && msrc_cmp(&h[r], &h[m]) < 0)
			m = r;
		if (m == i)
			return;
		struct msrc t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/*
 * Merges the live tables into new tables (one version per key, the
 * newest) placed in level 1. Marks the inputs superseded.
 */
static int merge_tables(struct run *r, const char *dir, struct rtable **v, size_t n,
			struct tout *out)
{
	struct msrc *h = xcalloc(n ? n : 1, sizeof(*h));
	size_t nh = 0;
	uint64_t total = 0, done = 0, bytes = 0;
	int e = 0;
	for (size_t i = 0; i < n; i++) {
		char path[PATH_MAX];
		file_path(path, PATH_MAX, dir, FILE_TABLE, v[i]->file_no);
		struct sst_reader *rd;
		e = sst_open(path, v[i]->file_no, NULL, &rd);
		if (e)
			goto out;
		total += v[i]->meta.entries;
		bytes += v[i]->meta.file_size;
		struct sst_iter *it = sst_iter_new(rd);
		sst_iter_set_fill_cache(it, false);
		sst_iter_seek_first(it);
		if (sst_iter_valid(it)) {
			h[nh++] = (struct msrc){ rd, it };
		} else {
			e = sst_iter_status(it);
			sst_iter_free(it);
			sst_unref(rd);
			if (e)
				goto out;
		}
	}
	for (size_t i = nh; i-- > 0;)
		heap_down(h, nh, i);
	uint8_t *last = xmalloc(IKEY_MAX);
	size_t last_len = 0;
	while (nh && !out->err) {
		size_t klen, vlen;
		const uint8_t *k = sst_iter_key(h[0].it, &klen);
		const uint8_t *val = sst_iter_value(h[0].it, &vlen);
		size_t iklen = klen - TRAILER_SIZE;
		if (!last_len || ikey_cmp(last, last_len, k, iklen) != 0) {
			tout_add(out, k, klen, val, vlen);
			memcpy(last, k, iklen);
			last_len = iklen;
		}
		if ((++done & 0xffff) == 0)
			ck_progress(r, "merge", (uint64_t)((double)bytes * done / total), bytes);
		sst_iter_next(h[0].it);
		if (!sst_iter_valid(h[0].it)) {
			e = sst_iter_status(h[0].it);
			sst_iter_free(h[0].it);
			sst_unref(h[0].rd);
			h[0] = h[--nh];
			if (e)
				break;
		}
		heap_down(h, nh, 0);
	}
	free(last);
	ck_progress(r, "merge", bytes, bytes);
	if (!e)
		e = tout_finish(out);
out:
	for (size_t i = 0; i < nh; i++) {
		sst_iter_free(h[i].it);
		sst_unref(h[i].rd);
	}
	free(h);
	if (!e)
		for (size_t i = 0; i < n; i++)
			v[i]->superseded = true;
	return e;
}

/* ---- salvaging one table ---- */

struct salvage {
	struct tout *out;
	const struct tscan *t;
	uint64_t kept;
};

static void salvage_entry(void *ctx, const uint8_t *k, size_t klen, const uint8_t *v,
			  size_t vlen, uint64_t block_off)
{
	struct salvage *s = ctx;
	(void)block_off;
	if (!s->out->b && s->t->props_ok)
		s->out->so.compression = (enum golite_compression)s->t->p.compression;
	tout_add(s->out, k, klen, v, vlen);
	s->kept++;
}

/* Writes the readable entries of table rt into a new file. */
static int salvage_table(const char *dir, struct rtable *rt, uint64_t *next_no)
{
	char path[PATH_MAX];
	file_path(path, PATH_MAX, dir, FILE_TABLE, rt->orig_no);
	uint8_t *d;
	size_t n;
	int e = io_read_file(path, MAX_FILE_READ, &d, &n);
	if (e < 0)
		return set_error(errno_to_golite(-e), "cannot read %s: %s", path, strerror(-e));
	golite_check_options none = { 0 };
	golite_check_stats ignored = { 0 };
	struct run quiet = { .o = &none, .st = &ignored };
	struct tout out = { .dir = dir, .next_no = next_no };
	sst_options_init(&out.so);
	struct tscan t;
	memset(&t, 0, sizeof(t));
	struct salvage s = { &out, &t, 0 };
	t.r = &quiet;
	t.path = path;
	t.d = d;
	t.n = n;
	t.entry = salvage_entry;
	t.ctx = &s;
	ck_tscan_run(&t);
	e = tout_finish(&out);
	if (!e && out.n) {
		rt->file_no = out.metas[0].file_no;
		rt->meta = out.metas[0];
		out.n = 0;
		rt->salvaged = true;
	}
	rt->live = !e && rt->salvaged;
	ck_tscan_free(&t);
	tout_free(&out);
	free(d);
	return e;
}

/* ---- the table catalog ---- */

struct walsalvage {
	struct run *r;
	const char *path;
	struct segbuf out;
	struct collect col;
	uint64_t last_seq;
	bool seq_known;
	uint64_t kept, dropped, ranges;
	uint64_t dropped_bytes;
	bool changed;
};

static int ws_record(void *ctx, uint64_t off, const uint8_t *p, size_t len)
{
	struct walsalvage *w = ctx;
	uint32_t count;
	uint64_t first;
	const char *bad = NULL;
	if (rep_iterate(p, len, NULL, NULL, &count, &first))
		bad = "malformed batch";
	else if (count && w->seq_known && first <= w->last_seq)
		bad = "sequence out of order";
	if (bad) {
		ck_found(w->r, GOLITE_FINDING_LOST, w->path, off, "dropped a record: %s (%zu bytes)", bad, len);
		w->dropped++;
		w->dropped_bytes += len;
		w->changed = true;
		return 0;
	}
	if (count) {
		w->seq_known = true;
		w->last_seq = first + count - 1;
		rep_iterate(p, len, ck_collect_batch_entry, &w->col, NULL, NULL);
	}
	segbuf_record(&w->out, p, len);
	w->kept++;
	return 0;
}

static void ws_damage(void *ctx, uint64_t off, uint64_t end, bool torn, const char *what)
{
	struct walsalvage *w = ctx;
	(void)torn;
	ck_found(w->r, GOLITE_FINDING_LOST, w->path, off, "dropped %" PRIu64 " bytes: %s", end - off, what);
	w->ranges++;
	w->dropped_bytes += end - off;
	w->changed = true;
}

/*
 * Checks log segment segno and, if anything in it is damaged, replaces it
 * by a segment holding its good records (the original goes to lost/).
 */
static int repair_segment(struct run *r, const char *dir, uint64_t segno,
			  struct walsalvage *w, golite_repair_stats *st)
{
	char path[PATH_MAX], tmp[PATH_MAX], name[FILE_NAME_MAX];
	file_path(path, PATH_MAX, dir, FILE_WAL, segno);
	file_name(name, sizeof(name), FILE_WAL, segno);
	uint8_t *d;
	size_t n;
	int e = io_read_file(path, MAX_FILE_READ, &d, &n);
	if (e < 0)
		return set_error(errno_to_golite(-e), "cannot read %s: %s", path, strerror(-e));
	w->path = path;
	w->col.path = path;
	w->changed = false;
	uint64_t kept0 = w->kept;
	segbuf_begin(&w->out, segno);
	struct wal_reporter rep = { ws_damage, w };
	struct wal_scan_info info;
	wal_scan(d, n, ws_record, w, &rep, &info);
	if (info.header == WAL_HEADER_NONE)
		w->changed = true;
	if (info.header == WAL_HEADER_OK && info.segno != segno) {
		ck_found(r, GOLITE_FINDING_PROBLEM, path, WAL_HDR_SEGNO_OFF, "header names segment %" PRIu64, info.segno);
		w->changed = true;
	}
	free(d);
	if (!w->changed)
		return 0;
	st->changed = true;
	if ((e = lost_keep(r, dir, name, st)))
		return e;
	uint64_t kept = w->kept - kept0;
	if (!kept) {
		e = io_unlink(path);
		ck_found(r, GOLITE_FINDING_FIXED, path, GOLITE_NO_OFFSET, "removed: no readable record");
	} else {
		ck_fmt_path(tmp, "%s.repair", path);
		e = write_whole(tmp, w->out.p, w->out.len);
		if (e == 0)
			e = io_rename(tmp, path);
		ck_found(r, GOLITE_FINDING_FIXED, path, GOLITE_NO_OFFSET,
		      "rewritten with its %" PRIu64 " readable records", kept);
	}
	if (e < 0)
		return set_error(errno_to_golite(-e), "cannot replace %s: %s", path, strerror(-e));
	return 0;
}

/*
 * Makes the catalog acceptable to golite_open: malformed entries are
 * deleted, the next table id is raised above every id in use, and (when
 * data was lost, so a name may have been) table ids with keys but no name
 * are named "recovered-<id>". Writes the changes as one batch in a new log
 * segment. *changed says whether anything was written.
 */
static int repair_catalog(struct run *r, const char *dir, struct catalog_view *c, bool lost_data,
			  uint64_t seq, uint64_t *next_no, bool *changed)
{
	struct rep rep = { 0 };
	rep_reset(&rep);
	uint8_t ik[IKEY_PREFIX + 1 + GOLITE_MAX_TABLE_NAME];
	uint8_t v[4];
	size_t iklen;
	uint32_t need = TABLE_ID_FIRST_USER;
	const struct cat_entry *n = ck_cat_next_id(c);
	bool next_ok = n && n->vlen == 4;
	if (next_ok)
		need = MAX(need, get_le32(n->val));
	for (size_t i = 0; i < c->n; i++) {
		struct cat_entry *e = &c->v[i];
		if (!ck_cat_live(e))
			continue;
		bool is_next = e->klen == 1 && e->key[0] == CATALOG_KEY_NEXT;
		bool bad = e->vlen != 4 || e->klen < 1 || (e->key[0] == CATALOG_KEY_NEXT && !is_next);
		if (!bad && e->key[0] == CATALOG_KEY_TABLE)
			bad = get_le32(e->val) < TABLE_ID_FIRST_USER;
		if (bad && !is_next && e->klen + IKEY_PREFIX <= sizeof(ik)) {
			iklen = ikey_make(ik, TABLE_ID_CATALOG, e->key, e->klen);
			rep_add(&rep, KIND_DELETE, ik, iklen, NULL, 0);
			e->kind = KIND_DELETE;
			ck_found(r, GOLITE_FINDING_FIXED, e->src, e->src_off, "deleted a malformed catalog entry");
		} else if (!bad && e->key[0] == CATALOG_KEY_TABLE) {
			need = MAX(need, get_le32(e->val) + 1);
		}
	}
	for (size_t i = 0; i < c->nids; i++)
		need = MAX(need, c->ids[i] + 1);
	if (lost_data) {
		for (size_t i = 0; i < c->nids; i++) {
			uint32_t id = c->ids[i];
			if (ck_cat_id_named(c, id))
				continue;
			char name[64];
			snprintf(name, sizeof(name), "recovered-%u", id);
			iklen = ikey_make(ik, TABLE_ID_CATALOG, (const char[]){ CATALOG_KEY_TABLE }, 1);
			memcpy(ik + iklen, name, strlen(name));
			iklen += strlen(name);
			put_le32(v, id);
			rep_add(&rep, KIND_VALUE, ik, iklen, v, 4);
			ck_found(r, GOLITE_FINDING_FIXED, dir, GOLITE_NO_OFFSET,
			      "keys of table id %u have no table name (lost with the damaged data, or "
			      "the table was dropped): named it \"%s\"", id, name);
		}
	}
	if (!next_ok || get_le32(n->val) != need) {
		iklen = ikey_make(ik, TABLE_ID_CATALOG, (const char[]){ CATALOG_KEY_NEXT }, 1);
		put_le32(v, need);
		rep_add(&rep, KIND_VALUE, ik, iklen, v, 4);
		ck_found(r, GOLITE_FINDING_FIXED, dir, GOLITE_NO_OFFSET, "set the catalog's next table id to %u",
		      need);
	}
	*changed = rep.count > 0;
	int e = 0;
	if (*changed) {
		size_t len = rep_finish(&rep);
		put_le64(rep.buf + len - 8, seq);
		uint64_t segno = (*next_no)++;
		char path[PATH_MAX];
		file_path(path, PATH_MAX, dir, FILE_WAL, segno);
		struct segbuf sb = { 0 };
		segbuf_begin(&sb, segno);
		segbuf_record(&sb, rep.buf, len);
		e = write_whole(path, sb.p, sb.len);
		free(sb.p);
		if (e < 0)
			e = set_error(errno_to_golite(-e), "cannot write %s: %s", path, strerror(-e));
		else
			ck_found(r, GOLITE_FINDING_FIXED, path, GOLITE_NO_OFFSET,
			      "written: the catalog changes above, as one log record");
	}
	rep_free(&rep);
	return e;
}

/* ---- the whole directory ---- */

static void rtables_free(struct rtable *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		sst_meta_free(&v[i].meta);
		ck_cat_free(&v[i].cat);
	}
	free(v);
}

/* Scans every table present (problems reported). */
static struct rtable *scan_tables(struct run *r, const char *dir, const struct listing *l,
				  const struct manifest_scan *ms)
{
	struct rtable *v = xcalloc(l->nsst ? l->nsst : 1, sizeof(*v));
	uint64_t total = 0, done = 0;
	char path[PATH_MAX];
	for (size_t i = 0; i < l->nsst; i++) {
		file_path(path, PATH_MAX, dir, FILE_TABLE, l->sst[i]);
		total += ck_file_size_of(path);
	}
	for (size_t i = 0; i < l->nsst; i++) {
		struct rtable *rt = &v[i];
		rt->file_no = rt->orig_no = l->sst[i];
		rt->level = -1;
		for (size_t j = 0; j < ms->m.nfiles; j++)
			if (ms->m.files[j].meta.file_no == rt->file_no) {
				rt->named = true;
				rt->level = (int)ms->m.files[j].level;
			}
		file_path(path, PATH_MAX, dir, FILE_TABLE, rt->file_no);
		ck_progress(r, "tables", done, total);
		struct tscan t;
		uint8_t *d = NULL;
		if (ck_scan_table_file(r, path, &rt->cat, &t, &d) == 0) {
			done += t.n;
			rt->size = t.n;
			rt->clean = !t.problems;
			rt->scan_entries = t.entries;
			rt->bad_blocks = t.blocks_bad;
			rt->recorded_entries = t.props_ok ? t.p.entries : 0;
			if (rt->clean)
				sst_meta_from_props(&rt->meta, rt->file_no, t.n, &t.p);
		}
		ck_tscan_free(&t);
		free(d);
	}
	ck_progress(r, "tables", total, total);
	return v;
}

int golite_repair(const char *dir, const golite_check_options *o, golite_repair_stats *st)
{
	golite_check_options defaults = { 0 };
	golite_check_stats cs = { 0 };
	struct run r = { .o = o ? o : &defaults, .st = &cs };
	memset(st, 0, sizeof(*st));
	rcu_thread_ensure();
	struct listing l;
	int e = ck_list_dir(dir, &l);
	if (e)
		return e;
	int lock_fd;
	e = data_dir_lock(dir, true, &lock_fd);
	if (e) {
		ck_listing_free(&l);
		return e;
	}
	char path[PATH_MAX], mpath[PATH_MAX];
	uint64_t next_no = 1;
	bool links_seen = false;
	if (l.nsst)
		next_no = MAX(next_no, l.sst[l.nsst - 1] + 1);
	if (l.nwal)
		next_no = MAX(next_no, l.wal[l.nwal - 1] + 1);

	if (l.store != 1) {
		e = io_write_file_atomic(dir, STORE_FILE, STORE_TEXT, strlen(STORE_TEXT));
		file_path(path, PATH_MAX, dir, FILE_STORE, 0);
		if (e < 0) {
			e = set_error(errno_to_golite(-e), "cannot write %s: %s", path, strerror(-e));
			goto out;
		}
		ck_found(&r, GOLITE_FINDING_FIXED, path, GOLITE_NO_OFFSET, "rewrote the store marker");
		st->changed = true;
	}

	/* The manifest: trusted when every edit checks out and it describes a
	 * valid version. */
	struct manifest_scan ms;
	memset(&ms, 0, sizeof(ms));
	file_path(mpath, PATH_MAX, dir, FILE_MANIFEST, 0);
	bool mf_ok = false;
	if (l.has_manifest) {
		uint8_t *d;
		size_t n;
		e = io_read_file(mpath, MAX_FILE_READ, &d, &n);
		if (e < 0) {
			e = set_error(errno_to_golite(-e), "cannot read %s: %s", mpath, strerror(-e));
			goto out;
		}
		ck_mscan_run(&r, mpath, d, n, &ms);
		free(d);
		mf_ok = ms.clean;
		for (size_t i = 0; mf_ok && i < ms.m.nfiles; i++)
			for (size_t j = 0; mf_ok && j < i; j++) {
				const struct manifest_file *a = &ms.m.files[i], *b = &ms.m.files[j];
				if (a->meta.file_no == b->meta.file_no ||
				    (a->level && a->level == b->level && ck_meta_overlap(&a->meta, &b->meta))) {
					ck_found(&r, GOLITE_FINDING_PROBLEM, mpath, ms.file_off[i],
					      "inconsistent table records: the levels will be rebuilt");
					mf_ok = false;
				}
			}
		next_no = MAX(next_no, ms.m.next_file_no);
	} else if (l.nsst) {
		ck_found(&r, GOLITE_FINDING_PROBLEM, mpath, GOLITE_NO_OFFSET, "missing");
	}
	for (size_t i = 0; i < ms.m.nfiles; i++)
		next_no = MAX(next_no, ms.m.files[i].meta.file_no + 1);

	/* Every table present, and which of them make up the store. */
	struct rtable *rt = scan_tables(&r, dir, &l, &ms);
	bool levels_known = mf_ok;
	if (!mf_ok && ms.m.nfiles) {
		/* A damaged manifest whose table records all survived. */
		levels_known = true;
		for (size_t i = 0; i < l.nsst; i++)
			if (!rt[i].named && (!rt[i].clean || rt[i].meta.entries))
				levels_known = false;
	}
	for (size_t i = 0; i < l.nsst; i++) {
		rt[i].live = levels_known ? rt[i].named : true;
		if (rt[i].clean && !rt[i].meta.entries) {
			rt[i].live = false;   /* an empty table holds nothing to keep */
			continue;
		}
		if (!rt[i].live) {
			file_path(path, PATH_MAX, dir, FILE_TABLE, rt[i].file_no);
			ck_found(&r, GOLITE_FINDING_NOTE, path, GOLITE_NO_OFFSET,
			      "not named by the manifest: left for open to remove");
		}
	}
	for (size_t i = 0; i < ms.m.nfiles; i++) {
		uint64_t no = ms.m.files[i].meta.file_no;
		if (ck_in_list(l.sst, l.nsst, no))
			continue;
		file_path(path, PATH_MAX, dir, FILE_TABLE, no);
		ck_found(&r, GOLITE_FINDING_LOST, path, GOLITE_NO_OFFSET,
		      "missing: its %" PRIu64 " entries are lost (older versions of its keys, if "
		      "any, show again)", ms.m.files[i].meta.entries);
		st->tables_missing++;
	}
	bool tables_changed = st->tables_missing > 0;
	for (size_t i = 0; i < l.nsst; i++) {
		struct rtable *t = &rt[i];
		const struct manifest_file *f = NULL;
		for (size_t j = 0; j < ms.m.nfiles && !f; j++)
			if (ms.m.files[j].meta.file_no == t->file_no)
				f = &ms.m.files[j];
		if (!t->live || !t->clean || !f || ck_meta_equal(&f->meta, &t->meta))
			continue;
		file_path(path, PATH_MAX, dir, FILE_TABLE, t->file_no);
		ck_found(&r, GOLITE_FINDING_FIXED, path, GOLITE_NO_OFFSET,
		      "the manifest's record of it disagreed with the file: recorded anew");
		tables_changed = true;
	}

	/* Damaged tables: their readable entries go to new files. */
	bool lost_data = st->tables_missing > 0;
	uint64_t sv_total = 0, sv_done = 0;
	for (size_t i = 0; i < l.nsst; i++)
		if (rt[i].live && !rt[i].clean)
			sv_total += rt[i].size;
	for (size_t i = 0; i < l.nsst; i++) {
		struct rtable *t = &rt[i];
		if (!t->live || t->clean)
			continue;
		file_path(path, PATH_MAX, dir, FILE_TABLE, t->orig_no);
		ck_progress(&r, "salvage", sv_done, sv_total);
		sv_done += t->size;
		tables_changed = true;
		lost_data = true;
		if ((e = salvage_table(dir, t, &next_no)))
			goto out_tables;
		st->blocks_dropped += t->bad_blocks;
		if (t->salvaged) {
			st->tables_salvaged++;
			st->entries_salvaged += t->meta.entries;
			char name[FILE_NAME_MAX];
			file_name(name, sizeof(name), FILE_TABLE, t->file_no);
			ck_found(&r, GOLITE_FINDING_FIXED, path, GOLITE_NO_OFFSET,
				 "salvaged %" PRIu64 " entries into %s", t->meta.entries, name);
		}
		if (t->recorded_entries > t->meta.entries)
			ck_found(&r, GOLITE_FINDING_LOST, path, GOLITE_NO_OFFSET,
			      "%" PRIu64 " of its %" PRIu64 " entries were unreadable",
			      t->recorded_entries - t->meta.entries, t->recorded_entries);
		else if (!t->salvaged)
			ck_found(&r, GOLITE_FINDING_LOST, path, GOLITE_NO_OFFSET, "no entry was readable");
	}

	/* Levels of a rebuilt manifest. */
	size_t nlive = 0;
	struct rtable **live = xcalloc(l.nsst ? l.nsst : 1, sizeof(*live));
	for (size_t i = 0; i < l.nsst; i++)
		if (rt[i].live)
			live[nlive++] = &rt[i];
	struct tout merged = { .dir = dir, .next_no = &next_no };
	sst_options_init(&merged.so);
	merged.target = r.o->sstable_size ? r.o->sstable_size : DEFAULT_SSTABLE_SIZE;
	if (!levels_known && nlive) {
		tables_changed = true;
		if (assign_levels(live, nlive)) {
			ck_found(&r, GOLITE_FINDING_FIXED, dir, GOLITE_NO_OFFSET,
			      "placed %zu tables in levels by key range and age", nlive);
		} else {
			ck_found(&r, GOLITE_FINDING_FIXED, dir, GOLITE_NO_OFFSET,
			      "tables overlap in ways their levels cannot be told from: merging all "
			      "%zu into new tables", nlive);
			if ((e = merge_tables(&r, dir, live, nlive, &merged)))
				goto out_live;
			st->tables_written += merged.n;
		}
	}

	/* The log: segments open replays, each rewritten if damaged. */
	uint64_t log_number = mf_ok || ms.have_log ? ms.m.log_number : 0;
	struct catalog_view cat = { 0 };
	struct walsalvage ws = { .r = &r, .col = { &cat, NULL } };
	uint64_t wal_total = 0, wal_done = 0;
	for (size_t i = 0; i < l.nwal; i++) {
		file_path(path, PATH_MAX, dir, FILE_WAL, l.wal[i]);
		wal_total += l.wal[i] >= log_number ? ck_file_size_of(path) : 0;
	}
	for (size_t i = 0; i < l.nwal; i++) {
		if (l.wal[i] < log_number)
			continue;
		file_path(path, PATH_MAX, dir, FILE_WAL, l.wal[i]);
		ck_progress(&r, "wal", wal_done, wal_total);
		wal_done += ck_file_size_of(path);
		uint64_t dropped = ws.dropped, bytes = ws.dropped_bytes;
		if ((e = repair_segment(&r, dir, l.wal[i], &ws, st)))
			goto out_wal;
		if (ws.dropped != dropped || ws.dropped_bytes != bytes)
			lost_data = true;
	}
	ck_progress(&r, "wal", wal_total, wal_total);
	st->wal_records_kept = ws.kept;
	st->wal_records_dropped = ws.dropped;
	st->wal_ranges_dropped = ws.ranges;
	st->wal_bytes_dropped = ws.dropped_bytes;

	/* The catalog, from what the repaired store holds. */
	uint64_t max_seq = ms.have_last ? ms.m.last_seq : 0;
	for (size_t i = 0; i < nlive; i++) {
		ck_cat_merge(&cat, &live[i]->cat);
		max_seq = MAX(max_seq, live[i]->meta.max_seq);
	}
	uint64_t tables_last_seq = max_seq;
	max_seq = MAX(max_seq, cat.max_seq);
	links_seen = cat.links_seen;
	bool cat_changed = false;
	/* A catalog that does not hold together lost entries too (its table
	 * was damaged or is gone, even if no manifest says so). */
	bool cat_bad = ck_cat_check(NULL, dir, &cat) > 0;
	if (cat_bad || lost_data) {
		if ((e = repair_catalog(&r, dir, &cat, lost_data || cat_bad, max_seq + 1, &next_no,
					&cat_changed)))
			goto out_wal;
		st->catalog_fixed = cat_changed;
		st->changed |= cat_changed;
	}

	/* The manifest. */
	uint64_t max_named = 0;
	for (size_t i = 0; i < ms.m.nfiles; i++)
		max_named = MAX(max_named, ms.m.files[i].meta.file_no);
	/* Named snapshots are kept, but for one beyond the store's newest
	 * sequence (snapshot.h invariant 4 broken), and all of them when the
	 * tables had to be merged: those are dropped. */
	bool snap_beyond = false;
	for (size_t i = 0; i < ms.m.nsnaps; i++)
		snap_beyond |= ms.m.snaps[i].seq > max_seq;
	bool rewrite = !mf_ok || tables_changed || cat_changed || snap_beyond ||
		       ms.m.next_file_no <= max_named || ms.m.last_seq < tables_last_seq;
	if (rewrite) {
		struct manifest m;
		memset(&m, 0, sizeof(m));
		m.log_number = log_number;
		m.next_file_no = next_no;
		m.last_seq = tables_last_seq;
		if (ms.have_counters) {
			m.flush_bytes = ms.m.flush_bytes;
			m.compact_bytes = ms.m.compact_bytes;
			m.compact_read_bytes = ms.m.compact_read_bytes;
			m.user_bytes = ms.m.user_bytes;
		}
		if (!mf_ok && l.has_manifest && (e = lost_keep(&r, dir, MANIFEST_FILE, st)))
			goto out_wal;
		m.files = xcalloc(nlive + merged.n + 1, sizeof(*m.files));
		for (size_t i = 0; i < merged.n; i++) {
			m.files[m.nfiles++] = (struct manifest_file){ 1, merged.metas[i] };
			m.last_seq = MAX(m.last_seq, merged.metas[i].max_seq);
		}
		for (size_t i = 0; i < nlive && !merged.n; i++)
			m.files[m.nfiles++] = (struct manifest_file){ (uint32_t)live[i]->level,
								      live[i]->meta };
		m.snaps = xcalloc(ms.m.nsnaps + 1, sizeof(*m.snaps));
		for (size_t i = 0; i < ms.m.nsnaps; i++) {
			if (merged.n)
				/* merge_tables keeps the newest version of each key
				 * only: what a snapshot saw is gone. */
				ck_found(&r, GOLITE_FINDING_FIXED, mpath, GOLITE_NO_OFFSET,
					 "snapshot \"%s\" dropped: the tables were merged, "
					 "keeping only the newest version of each key",
					 ms.m.snaps[i].name);
			else if (ms.m.snaps[i].seq > max_seq)
				ck_found(&r, GOLITE_FINDING_FIXED, mpath, GOLITE_NO_OFFSET,
					 "snapshot \"%s\" dropped: its sequence %" PRIu64
					 " is beyond the store's newest %" PRIu64,
					 ms.m.snaps[i].name, ms.m.snaps[i].seq, max_seq);
			else
				m.snaps[m.nsnaps++] = ms.m.snaps[i];   /* borrowed */
		}
		e = manifest_write(dir, &m);
		size_t nfiles = m.nfiles;
		free(m.files);   /* the metas stay owned by rt and merged */
		free(m.snaps);   /* the names stay owned by ms */
		if (e)
			goto out_wal;
		st->manifest_rebuilt = !mf_ok;
		st->changed = true;
		ck_found(&r, GOLITE_FINDING_FIXED, mpath, GOLITE_NO_OFFSET,
		      "%s with %zu tables", mf_ok ? "rewritten" : "rebuilt", nfiles);
	}

	/* Files the new manifest no longer names: kept in lost/, then removed
	 * (invariant 2). Outputs of salvage that were merged are just removed. */
	for (size_t i = 0; i < l.nsst; i++) {
		struct rtable *t = &rt[i];
		bool orig_gone = t->salvaged || (t->superseded && !t->salvaged) ||
				 (!t->live && !t->clean && (levels_known ? t->named : true));
		if (t->salvaged && t->superseded) {
			file_path(path, PATH_MAX, dir, FILE_TABLE, t->file_no);
			io_unlink(path);
		}
		if (!orig_gone)
			continue;
		char name[FILE_NAME_MAX];
		file_name(name, sizeof(name), FILE_TABLE, t->orig_no);
		if ((e = lost_keep(&r, dir, name, st)))
			goto out_wal;
		file_path(path, PATH_MAX, dir, FILE_TABLE, t->orig_no);
		io_unlink(path);
	}
	io_sync_dir(dir);
	st->tables_kept = 0;
	for (size_t i = 0; i < nlive; i++)
		st->tables_kept += !live[i]->salvaged && !live[i]->superseded;
	e = 0;

out_wal:
	free(ws.out.p);
	ck_cat_free(&cat);
out_live:
	tout_free(&merged);
	free(live);
out_tables:
	rtables_free(rt, l.nsst);
	manifest_scan_free(&ms);
out:
	ck_listing_free(&l);
	if (lock_fd >= 0)
		io_close(lock_fd);
	rcu_barrier();
	if (e)
		return e;
	/* Hard links, in the store's contents (check_links.c): it opens the
	 * store itself, so after the lock is released. */
	if (links_seen) {
		bool changed;
		e = ck_links_repair(&r, dir, &changed);
		st->changed |= changed;
		if (e)
			return e;
	}
	/* Separated values (check_values.c): likewise. */
	uint64_t *vals;
	size_t nvals = 0;
	if (file_list(dir, FILE_VALUE, &vals, &nvals) == 0)
		free(vals);
	if (nvals) {
		bool changed;
		e = ck_values_repair(&r, dir, &changed, &st->values_dropped);
		st->changed |= changed;
		if (e)
			return e;
	}
	if (!st->changed)
		ck_found(&r, GOLITE_FINDING_NOTE, dir, GOLITE_NO_OFFSET, "every file checks out: nothing to repair");
	ck_flush_suppressed(&r);
	golite_check_stats after;
	golite_check_options quiet = { 0 };
	e = check_dir(dir, &quiet, &after);
	st->problems_after = after.problems;
	return e;
}
