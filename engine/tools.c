/*
 * tools.c — golite_tools.h's descriptions of files: golite_dump_file (one
 * log segment, table or MANIFEST in human-readable form) and
 * golite_store_info (the tables and log segments of a store). Checking and
 * repairing are in check.c and repair.c.
 *
 * A log segment is read with the log reader's reporting walk
 * (wal_reader.c), so a damaged segment is dumped too: every readable
 * record, and each damaged range by offset. Each record's batch (batch.h)
 * is decoded:
 *
 *     @32  seq 17  2 ops, 40 bytes
 *       put    @17 t16 "key" = "value"
 *       delete @18 t16 "other"
 *
 * Invariants:
 *   1. Nothing here writes to the store's files.
 *   2. The kind of a file is told by file_kind_of() (filename.h) alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch.h"
#include "catalog.h"
#include "error.h"
#include "filename.h"
#include "format.h"
#include "golite_tools.h"
#include "io.h"
#include "manifest.h"
#include "sstable.h"
#include "util.h"
#include "vfile.h"
#include "wal.h"

/* Largest file golite_dump_file reads. */
#define DUMP_MAX_FILE (UINT64_C(4) << 30)

/* ---- dumping a log segment ---- */

struct wal_dump {
	FILE *out;
	bool hex;
	uint64_t damaged;
};

static void put_file_record(struct wal_dump *w, const uint8_t *v, size_t n)
{
	struct vfile f;
	if (vfile_decode(v, n, &f)) {
		fputs("(file record that does not decode) ", w->out);
		sst_put_bytes(w->out, v, n, w->hex);
		return;
	}
	if (f.type == VFILE_HLINK) {
		/* A name of a linked file: the file's type is in its mode, the
		 * rest in the shared record, which this file may not hold. */
		unsigned type = vfile_type_of_mode(f.mode);
		fprintf(w->out, "%s (hard link: a name of inode %" PRIu64 ") mode %o",
			type ? vfile_type_name(type) : "?", f.ino, f.mode);
		return;
	}
	fprintf(w->out, "%s ino %" PRIu64 " mode %o uid %u gid %u size %" PRIu64 " mtime %" PRId64
		" xattrs %zu%s",
		vfile_type_name(f.type), f.ino, f.mode, f.uid, f.gid, f.size,
		f.mtime_ns, f.nxattr, f.flags & VFILE_F_CHUNKED ? " chunked" : "");
	if (f.data_len) {
		fputs(" data ", w->out);
		sst_put_bytes(w->out, f.data, f.data_len, w->hex);
	}
}

/* What a key of TABLE_ID_FS is, for the hard links' keys (vfile.h). */
static void put_fs_key(struct wal_dump *w, const uint8_t *k, size_t klen)
{
	uint64_t ino;
	uint32_t table;
	const uint8_t *name;
	size_t nlen;
	if (klen == VFILE_INODE_KEY && k[0] == VFILE_KEY_INODE) {
		fprintf(w->out, "  (shared record of inode %" PRIu64 ")", get_be64(k + 1));
	} else if (vfile_backref_parse(k, klen, &ino, &table, &name, &nlen)) {
		fprintf(w->out, "  (back reference: inode %" PRIu64 " named by t%u ", ino, table);
		sst_put_bytes(w->out, name, nlen, w->hex);
		fputc(')', w->out);
	}
}

static int dump_op(void *ctx, uint64_t seq, unsigned kind, const uint8_t *ikey, size_t iklen,
		   const uint8_t *value, size_t vlen)
{
	struct wal_dump *w = ctx;
	static const char *const kinds[] = { "delete", "put", "meta" };
	uint32_t id = ikey_table(ikey);
	unsigned base = kind_base(kind);
	fprintf(w->out, "  %-6s @%" PRIu64 " t%u ", kinds[base <= KIND_MAX ? base : 0], seq, id);
	sst_put_bytes(w->out, ikey + IKEY_PREFIX, iklen - IKEY_PREFIX, w->hex);
	if (kind == KIND_DELETE) {
		fputc('\n', w->out);
		return 0;
	}
	if ((kind & KIND_EXPIRES) && vlen >= EXPIRES_PREFIX) {
		fprintf(w->out, " (expires %" PRIu64 " ms)", get_le64(value));
		value += EXPIRES_PREFIX;
		vlen -= EXPIRES_PREFIX;
		kind = base;
	}
	fputs(" = ", w->out);
	if (kind == KIND_META)
		put_file_record(w, value, vlen);
	else
		sst_put_bytes(w->out, value, vlen, w->hex);
	if (id == TABLE_ID_CATALOG && vlen == 4 && iklen > IKEY_PREFIX)
		fprintf(w->out, "  (catalog: %s %u)",
			ikey[IKEY_PREFIX] == CATALOG_KEY_NEXT ? "next table id" : "table id",
			get_le32(value));
	if (id == TABLE_ID_FS)
		put_fs_key(w, ikey + IKEY_PREFIX, iklen - IKEY_PREFIX);
	fputc('\n', w->out);
	return 0;
}

static int dump_record(void *ctx, uint64_t off, const uint8_t *p, size_t len)
{
	struct wal_dump *w = ctx;
	uint32_t count;
	uint64_t seq;
	if (rep_iterate(p, len, NULL, NULL, &count, &seq)) {
		fprintf(w->out, "@%" PRIu64 "  malformed batch, %zu bytes\n", off, len);
		return 0;
	}
	fprintf(w->out, "@%" PRIu64 "  seq %" PRIu64 "  %u op%s, %zu bytes\n", off, seq, count,
		count == 1 ? "" : "s", len);
	rep_iterate(p, len, dump_op, w, NULL, NULL);
	return 0;
}

static void dump_damage(void *ctx, uint64_t off, uint64_t end, bool torn, const char *why)
{
	struct wal_dump *w = ctx;
	(void)torn;
	w->damaged++;
	fprintf(w->out, "@%" PRIu64 "  DAMAGED: %" PRIu64 " bytes: %s\n", off, end - off, why);
}

static void dump_wal(const char *path, const uint8_t *d, size_t n, FILE *out, bool hex,
		     uint64_t *damaged)
{
	struct wal_dump w = { out, hex, 0 };
	struct wal_reporter rep = { dump_damage, &w };
	struct wal_scan_info info;
	fprintf(out, "log segment %s, %zu bytes\n", path, n);
	wal_scan(d, n, dump_record, &w, &rep, &info);
	if (info.header == WAL_HEADER_OK)
		fprintf(out, "header: format version %u, segment %" PRIu64 "\n", info.version,
			info.segno);
	else if (info.header == WAL_HEADER_NONE)
		fprintf(out, "empty segment (no header)\n");
	fprintf(out, "%" PRIu64 " records, %" PRIu64 " payload bytes, %" PRIu64
		" damaged ranges\n", info.records, info.bytes, info.damaged);
	*damaged = w.damaged;
}

int golite_dump_file(const char *path, FILE *out, unsigned flags, uint64_t *damaged)
{
	uint64_t ignored;
	if (!damaged)
		damaged = &ignored;
	*damaged = 0;
	uint8_t *d;
	size_t n;
	int r = io_read_file(path, DUMP_MAX_FILE, &d, &n);
	if (r < 0)
		return set_error(errno_to_golite(-r), "cannot read %s: %s", path, strerror(-r));
	bool hex = flags & GOLITE_DUMP_HEX;
	/* By magic number; a file without one is dumped only if its name says
	 * it is a log segment (a segment cut short before its header). */
	enum file_kind kind = file_kind_of(NULL, d, n, d, n);
	if (kind == FILE_UNKNOWN && file_kind_of(path, NULL, 0, NULL, 0) == FILE_WAL)
		kind = FILE_WAL;
	if (kind == FILE_WAL) {
		dump_wal(path, d, n, out, hex, damaged);
	} else if (kind == FILE_MANIFEST) {
		struct manifest m;
		r = manifest_read_file(path, &m);
		if (r == 0) {
			fprintf(out, "manifest %s, %zu bytes\n", path, n);
			manifest_print(&m, out);
			manifest_free(&m);
		}
	} else if (kind == FILE_TABLE) {
		r = sst_dump(path, out, hex);
	} else {
		r = set_error(GOLITE_EINVAL,
			      "%s is not a log segment, table or MANIFEST (no magic number)", path);
	}
	free(d);
	return r;
}

/* ---- what a store holds ---- */

static void table_key(golite_table_key *k, const uint8_t *skey, size_t len)
{
	memset(k, 0, sizeof(*k));
	if (len < IKEY_PREFIX + TRAILER_SIZE)
		return;
	k->valid = true;
	k->table = ikey_table(skey);
	k->key = skey + IKEY_PREFIX;
	k->len = len - IKEY_PREFIX - TRAILER_SIZE;
}

/* Level 0 newest first, as the store searches it; deeper levels in key
 * order. */
static int cmp_files(const void *a, const void *b)
{
	const struct manifest_file *x = a, *y = b;
	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	if (x->level == 0) {
		if (x->meta.max_seq != y->meta.max_seq)
			return x->meta.max_seq > y->meta.max_seq ? -1 : 1;
		return x->meta.file_no > y->meta.file_no ? -1 : 1;
	}
	return skey_cmp(x->meta.smallest, x->meta.smallest_len, y->meta.smallest,
			y->meta.smallest_len);
}

/* The info and the manifest whose keys it points to, freed together. */
struct store_info {
	golite_info pub;
	struct manifest m;
};

static int list_logs(const char *dir, uint64_t log_number, golite_info *info)
{
	uint64_t *segs;
	size_t nseg;
	int r = file_list(dir, FILE_WAL, &segs, &nseg);
	if (r < 0)
		return set_error(GOLITE_EIO, "cannot list %s: %s", dir, strerror(-r));
	info->logs = xcalloc(nseg ? nseg : 1, sizeof(*info->logs));
	for (size_t i = 0; i < nseg; i++) {
		char p[PATH_MAX];
		struct stat st;
		file_path(p, sizeof(p), dir, FILE_WAL, segs[i]);
		if (stat(p, &st) != 0)
			continue;
		golite_log_file *l = &info->logs[info->nlogs++];
		file_name(l->name, sizeof(l->name), FILE_WAL, segs[i]);
		l->size = (uint64_t)st.st_size;
		l->flushed = segs[i] < log_number;
	}
	free(segs);
	return 0;
}

int golite_store_info(const char *dir, golite_info **out)
{
	*out = NULL;
	struct store_info *si = xcalloc(1, sizeof(*si));
	golite_info *info = &si->pub;
	struct manifest *m = &si->m;
	int r = manifest_read(dir, m);
	if (r == GOLITE_ENOTFOUND)
		memset(m, 0, sizeof(*m));
	else if (r)
		goto out_free;
	qsort(m->files, m->nfiles, sizeof(*m->files), cmp_files);
	info->tables = xcalloc(m->nfiles ? m->nfiles : 1, sizeof(*info->tables));
	info->ntables = m->nfiles;
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct sst_meta *f = &m->files[i].meta;
		uint32_t l = m->files[i].level;
		golite_table_file *t = &info->tables[i];
		t->level = l;
		file_name(t->name, sizeof(t->name), FILE_TABLE, f->file_no);
		t->file_size = f->file_size;
		t->entries = f->entries;
		t->deletions = f->deletions;
		t->min_seq = f->min_seq;
		t->max_seq = f->max_seq;
		table_key(&t->smallest, f->smallest, f->smallest_len);
		table_key(&t->largest, f->largest, f->largest_len);
		info->level_tables[l]++;
		info->level_bytes[l] += f->file_size;
		info->level_entries[l] += f->entries;
		info->level_deletions[l] += f->deletions;
	}
	r = list_logs(dir, m->log_number, info);
	if (r)
		goto out_free;
	*out = info;
	return 0;

out_free:
	golite_store_info_free(info);
	return r;
}

void golite_store_info_free(golite_info *info)
{
	if (!info)
		return;
	struct store_info *si = (struct store_info *)info;
	free(info->tables);
	free(info->logs);
	manifest_free(&si->m);
	free(si);
}
