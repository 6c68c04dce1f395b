/*
 * manifest.c — reading and writing MANIFEST. See manifest.h.
 *
 * The format is drawn in manifest_format.h.
 *
 * Invariants:
 *   1. The file is complete or absent: it is only ever created by rename
 *      of a synced temporary file, and the edit count guards against a
 *      short file written by other means.
 *   2. Unknown tags are an error (a newer format must bump the version).
 *   3. One reader for every purpose: manifest_read stops at the first
 *      damage; manifest_scan with a reporter (check, repair) reports each
 *      damaged or malformed edit with its offset and resynchronises at the
 *      next offset where a whole edit starts. A table enters the manifest
 *      only from an ADD_FILE edit that decoded whole.
 */
#include "manifest.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "error.h"
#include "filename.h"
#include "format.h"
#include "io.h"
#include "manifest_format.h"
#include "util.h"

#define MANIFEST_MAX (256u << 20)

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t cap = b->cap ? b->cap * 2 : 4096;
	while (cap < b->len + n)
		cap *= 2;
	b->p = xrealloc(b->p, cap);
	b->cap = cap;
}

static void put_u8(struct buf *b, uint8_t v)
{
	buf_reserve(b, 1);
	b->p[b->len++] = v;
}

static void put_u64(struct buf *b, uint64_t v)
{
	buf_reserve(b, 8);
	put_le64(b->p + b->len, v);
	b->len += 8;
}

static void put_key(struct buf *b, const uint8_t *k, size_t len)
{
	buf_reserve(b, VARINT64_MAX + len);
	uint8_t *p = put_varint(b->p + b->len, len);
	if (len)
		memcpy(p, k, len);
	b->len = (size_t)(p - b->p) + len;
}

/* Starts an edit; returns its offset for end_edit. */
static size_t begin_edit(struct buf *b, uint8_t tag)
{
	size_t at = b->len;
	buf_reserve(b, MANIFEST_EDIT_HEADER);
	b->len += MANIFEST_EDIT_HEADER;
	put_u8(b, tag);
	return at;
}

static void end_edit(struct buf *b, size_t at, uint32_t *count)
{
	size_t len = b->len - at - MANIFEST_EDIT_HEADER;
	put_le32(b->p + at, (uint32_t)len);
	put_le32(b->p + at + MANIFEST_EDIT_CRC_OFF,
		 crc32c_mask(crc32c(b->p + at + MANIFEST_EDIT_HEADER, len)));
	(*count)++;
}

int manifest_write(const char *dir, const struct manifest *m)
{
	struct buf b = { 0 };
	uint32_t count = 0;
	buf_reserve(&b, MANIFEST_HEADER);
	memcpy(b.p, MANIFEST_MAGIC, MANIFEST_MAGIC_SIZE);
	put_le32(b.p + MANIFEST_HDR_VERSION_OFF,
		 m->nsnaps ? MANIFEST_VERSION_SNAPSHOTS : MANIFEST_VERSION);
	b.len = MANIFEST_HEADER;

	size_t at = begin_edit(&b, MF_TAG_LOG_NUMBER);
	put_u64(&b, m->log_number);
	end_edit(&b, at, &count);
	at = begin_edit(&b, MF_TAG_NEXT_FILE);
	put_u64(&b, m->next_file_no);
	end_edit(&b, at, &count);
	at = begin_edit(&b, MF_TAG_LAST_SEQ);
	put_u64(&b, m->last_seq);
	end_edit(&b, at, &count);
	at = begin_edit(&b, MF_TAG_COUNTERS);
	put_u64(&b, m->flush_bytes);
	put_u64(&b, m->compact_bytes);
	put_u64(&b, m->compact_read_bytes);
	put_u64(&b, m->user_bytes);
	end_edit(&b, at, &count);
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];
		at = begin_edit(&b, MF_TAG_ADD_FILE);
		put_u8(&b, (uint8_t)f->level);
		put_u64(&b, f->meta.file_no);
		put_u64(&b, f->meta.file_size);
		put_u64(&b, f->meta.entries);
		put_u64(&b, f->meta.deletions);
		put_u64(&b, f->meta.min_seq);
		put_u64(&b, f->meta.max_seq);
		put_u64(&b, f->meta.raw_key_bytes);
		put_u64(&b, f->meta.raw_value_bytes);
		put_key(&b, f->meta.smallest, f->meta.smallest_len);
		put_key(&b, f->meta.largest, f->meta.largest_len);
		end_edit(&b, at, &count);
	}
	for (int l = 0; l < NUM_LEVELS; l++) {
		if (!m->compact_ptr[l])
			continue;
		at = begin_edit(&b, MF_TAG_COMPACT_POINTER);
		put_u8(&b, (uint8_t)l);
		put_key(&b, m->compact_ptr[l], m->compact_ptr_len[l]);
		end_edit(&b, at, &count);
	}
	for (size_t i = 0; i < m->nsnaps; i++) {
		const struct manifest_snapshot *sn = &m->snaps[i];
		at = begin_edit(&b, MF_TAG_SNAPSHOT);
		put_u64(&b, sn->seq);
		put_u64(&b, (uint64_t)sn->time_ns);
		put_key(&b, (const uint8_t *)sn->name, strlen(sn->name));
		end_edit(&b, at, &count);
	}
	put_le32(b.p + MANIFEST_HDR_COUNT_OFF, count);
	int r = io_write_file_atomic(dir, MANIFEST_FILE, b.p, b.len);
	free(b.p);
	if (r < 0)
		return set_error(errno_to_golite(-r) == GOLITE_ENOSPC ? GOLITE_ENOSPC : GOLITE_EIO,
				 "cannot write %s/%s: %s", dir, MANIFEST_FILE, strerror(-r));
	return 0;
}

/* Reading the fields of an edit. A field past the end, or a key longer
 * than an SSTable key can be, sets bad and reads as 0 / NULL. */
struct mf_reader {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t mf_get_u64(struct mf_reader *r)
{
	if (r->end - r->p < 8) {
		r->bad = true;
		return 0;
	}
	uint64_t v = get_le64(r->p);
	r->p += 8;
	return v;
}

static uint8_t mf_get_u8(struct mf_reader *r)
{
	if (r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

/* A length-prefixed key, malloc()ed (NULL when empty). */
static uint8_t *mf_get_key(struct mf_reader *r, size_t *len)
{
	uint64_t n;
	const uint8_t *p = get_varint(r->p, r->end, &n, VARINT64_MAX);
	*len = 0;
	if (!p || n > (uint64_t)(r->end - p) || n > SKEY_MAX) {
		r->bad = true;
		return NULL;
	}
	r->p = p + n;
	*len = (size_t)n;
	return n ? xmemdup(p, (size_t)n) : NULL;
}

/* The body of a COUNTERS edit (manifest_format.h) into m's counters. */
static void mf_get_counters(struct mf_reader *r, struct manifest *m)
{
	m->flush_bytes = mf_get_u64(r);
	m->compact_bytes = mf_get_u64(r);
	m->compact_read_bytes = mf_get_u64(r);
	m->user_bytes = mf_get_u64(r);
}

/* The body of an ADD_FILE edit (manifest_format.h) into *f, zeroed first;
 * the keys are malloc()ed. */
static void mf_get_file(struct mf_reader *r, struct manifest_file *f)
{
	memset(f, 0, sizeof(*f));
	f->level = mf_get_u8(r);
	f->meta.file_no = mf_get_u64(r);
	f->meta.file_size = mf_get_u64(r);
	f->meta.entries = mf_get_u64(r);
	f->meta.deletions = mf_get_u64(r);
	f->meta.min_seq = mf_get_u64(r);
	f->meta.max_seq = mf_get_u64(r);
	f->meta.raw_key_bytes = mf_get_u64(r);
	f->meta.raw_value_bytes = mf_get_u64(r);
	f->meta.smallest = mf_get_key(r, &f->meta.smallest_len);
	f->meta.largest = mf_get_key(r, &f->meta.largest_len);
}

/* True if a whole, checksummed edit with a tag known to format version
 * starts at off (*len: its body). */
static bool edit_at(const uint8_t *d, size_t n, size_t off, uint32_t version, uint32_t *len)
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
	return tag >= MF_TAG_FIRST &&
	       tag <= (version >= MANIFEST_VERSION_SNAPSHOTS ? MF_TAG_LAST : MF_TAG_LAST_V1);
}

int manifest_snapshot_name_check(const char *name)
{
	if (!name)
		return set_error(GOLITE_EINVAL, "snapshot name is NULL");
	size_t n = strnlen(name, MF_SNAPSHOT_NAME_MAX + 1);
	if (n == 0)
		return set_error(GOLITE_ENAME, "snapshot name is empty");
	if (n > MF_SNAPSHOT_NAME_MAX)
		return set_error(GOLITE_ENAME, "snapshot name longer than %u bytes",
				 MF_SNAPSHOT_NAME_MAX);
	if (memchr(name, '/', n))
		return set_error(GOLITE_ENAME, "snapshot name \"%s\" contains '/'", name);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return set_error(GOLITE_ENAME, "snapshot name \"%s\" is reserved", name);
	return 0;
}

struct manifest_snapshot *manifest_snaps_dup(const struct manifest_snapshot *s, size_t n)
{
	if (!n)
		return NULL;
	struct manifest_snapshot *d = xcalloc(n, sizeof(*d));
	for (size_t i = 0; i < n; i++) {
		d[i] = s[i];
		d[i].name = xstrdup(s[i].name);
	}
	return d;
}

void manifest_snaps_free(struct manifest_snapshot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(s[i].name);
	free(s);
}

/* Applies one checksummed edit (e, len bytes, at offset off) to ms; false
 * if its body is malformed (invariant 3: then nothing of it is kept). */
static bool apply_edit(struct manifest_scan *ms, const uint8_t *e, uint32_t len, uint64_t off,
		       size_t *cap)
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
		mf_get_counters(&r, m);
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
	case MF_TAG_SNAPSHOT: {
		struct manifest_snapshot sn = { 0 };
		sn.seq = mf_get_u64(&r);
		sn.time_ns = (int64_t)mf_get_u64(&r);
		uint64_t n;
		const uint8_t *p = r.bad ? NULL : get_varint(r.p, r.end, &n, VARINT64_MAX);
		if (!p || n == 0 || n > MF_SNAPSHOT_NAME_MAX || n != (uint64_t)(r.end - p) ||
		    memchr(p, '/', n) || memchr(p, 0, n) || (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (size_t i = 0; i < m->nsnaps; i++)
			if (strlen(m->snaps[i].name) == n && memcmp(m->snaps[i].name, p, n) == 0)
				return false;
		sn.name = xmalloc(n + 1);
		memcpy(sn.name, p, n);
		sn.name[n] = '\0';
		m->snaps = xrealloc(m->snaps, (m->nsnaps + 1) * sizeof(*m->snaps));
		m->snaps[m->nsnaps++] = sn;
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

/* A problem at off: reported (true: the scan goes on) or, without a
 * reporter, made the error of the scan (false). */
__attribute__((format(printf, 6, 7)))
static bool scan_problem(struct manifest_scan *ms, const struct manifest_reporter *rep,
			 const char *path, uint64_t off, int code, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ms->clean = false;
	if (!rep) {
		ms->err = set_error(code, "%s: %s (offset %llu)", path, msg, (unsigned long long)off);
		return false;
	}
	if (rep->corruption)
		rep->corruption(rep->ctx, off, msg);
	return true;
}

int manifest_scan(const char *path, const uint8_t *d, size_t n,
		  const struct manifest_reporter *rep, struct manifest_scan *ms)
{
	memset(ms, 0, sizeof(*ms));
	ms->clean = true;
	size_t cap = 0, off = MANIFEST_HEADER;
	uint32_t count = 0, version = MANIFEST_VERSION;
	if (n < MANIFEST_HEADER || memcmp(d, MANIFEST_MAGIC, MANIFEST_MAGIC_SIZE) != 0) {
		if (!scan_problem(ms, rep, path, 0, GOLITE_ECORRUPT, "not a manifest (bad magic)"))
			goto out;
		off = MIN(n, (size_t)MANIFEST_HEADER);
	} else if (get_le32(d + MANIFEST_HDR_VERSION_OFF) != MANIFEST_VERSION &&
		   get_le32(d + MANIFEST_HDR_VERSION_OFF) != MANIFEST_VERSION_SNAPSHOTS) {
		scan_problem(ms, rep, path, MANIFEST_HDR_VERSION_OFF, GOLITE_EVERSION,
			     "manifest format %u, this build reads %u and %u",
			     get_le32(d + MANIFEST_HDR_VERSION_OFF), MANIFEST_VERSION,
			     MANIFEST_VERSION_SNAPSHOTS);
		goto out;
	} else {
		version = get_le32(d + MANIFEST_HDR_VERSION_OFF);
		count = get_le32(d + MANIFEST_HDR_COUNT_OFF);
	}
	while (off < n) {
		uint32_t len;
		if (!edit_at(d, n, off, version, &len)) {
			/* Resynchronise at the next offset where an edit starts. */
			size_t next = off + 1;
			while (next < n && !edit_at(d, n, next, version, &len))
				next++;
			if (!scan_problem(ms, rep, path, off, GOLITE_ECORRUPT,
					  "damaged edit (%zu bytes skipped)", next - off))
				goto out;
			off = next;
			continue;
		}
		if (apply_edit(ms, d + off + MANIFEST_EDIT_HEADER, len, off, &cap))
			ms->edits++;
		else if (!scan_problem(ms, rep, path, off, GOLITE_ECORRUPT, "malformed edit (tag %u)",
				       d[off + MANIFEST_EDIT_HEADER]))
			goto out;
		off += MANIFEST_EDIT_HEADER + (size_t)len;
	}
	if (ms->clean && ms->edits != count)
		scan_problem(ms, rep, path, MANIFEST_HDR_COUNT_OFF, GOLITE_ECORRUPT,
			     "header counts %u edits, the file holds %u", count, ms->edits);
out:
	return ms->err;
}

void manifest_scan_free(struct manifest_scan *ms)
{
	manifest_free(&ms->m);
	free(ms->file_off);
	memset(ms, 0, sizeof(*ms));
}

int manifest_read_file(const char *path, struct manifest *m)
{
	memset(m, 0, sizeof(*m));
	uint8_t *d;
	size_t n;
	int r = io_read_file(path, MANIFEST_MAX, &d, &n);
	if (r == -ENOENT)
		return GOLITE_ENOTFOUND;
	if (r < 0)
		return set_error(GOLITE_EIO, "cannot read %s: %s", path, strerror(-r));
	struct manifest_scan ms;
	r = manifest_scan(path, d, n, NULL, &ms);
	free(d);
	if (r) {
		manifest_scan_free(&ms);
		return r;
	}
	*m = ms.m;
	free(ms.file_off);
	return 0;
}

int manifest_read(const char *dir, struct manifest *m)
{
	char path[PATH_MAX];
	file_path(path, sizeof(path), dir, FILE_MANIFEST, 0);
	return manifest_read_file(path, m);
}

void manifest_free(struct manifest *m)
{
	for (size_t i = 0; i < m->nfiles; i++)
		sst_meta_free(&m->files[i].meta);
	free(m->files);
	for (int l = 0; l < NUM_LEVELS; l++)
		free(m->compact_ptr[l]);
	manifest_snaps_free(m->snaps, m->nsnaps);
	memset(m, 0, sizeof(*m));
}

static void print_key(FILE *out, const uint8_t *k, size_t len)
{
	if (len < TRAILER_SIZE + IKEY_PREFIX) {
		fprintf(out, "(short key)");
		return;
	}
	size_t ik = len - TRAILER_SIZE;
	fprintf(out, "t%u:", ikey_table(k));
	for (size_t i = IKEY_PREFIX; i < ik; i++) {
		if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\\')
			fputc(k[i], out);
		else
			fprintf(out, "\\x%02x", k[i]);
	}
	uint64_t t = get_le64(k + ik);
	fprintf(out, "@%llu", (unsigned long long)trailer_seq(t));
}

void manifest_print(const struct manifest *m, FILE *out)
{
	fprintf(out, "log_number %llu\nnext_file %llu\nlast_seq %llu\n",
		(unsigned long long)m->log_number, (unsigned long long)m->next_file_no,
		(unsigned long long)m->last_seq);
	fprintf(out, "flush_bytes %llu\ncompact_bytes %llu\ncompact_read_bytes %llu\nuser_bytes %llu\n",
		(unsigned long long)m->flush_bytes, (unsigned long long)m->compact_bytes,
		(unsigned long long)m->compact_read_bytes, (unsigned long long)m->user_bytes);
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];
		char name[FILE_NAME_MAX];
		file_name(name, sizeof(name), FILE_TABLE, f->meta.file_no);
		fprintf(out, "file L%u %s %llu bytes %llu entries %llu deletions seq %llu..%llu [",
			f->level, name,
			(unsigned long long)f->meta.file_size, (unsigned long long)f->meta.entries,
			(unsigned long long)f->meta.deletions, (unsigned long long)f->meta.min_seq,
			(unsigned long long)f->meta.max_seq);
		print_key(out, f->meta.smallest, f->meta.smallest_len);
		fprintf(out, " .. ");
		print_key(out, f->meta.largest, f->meta.largest_len);
		fprintf(out, "]\n");
	}
	for (size_t i = 0; i < m->nsnaps; i++) {
		const struct manifest_snapshot *sn = &m->snaps[i];
		fprintf(out, "snapshot seq %llu time %lld.%09lld name ",
			(unsigned long long)sn->seq, (long long)(sn->time_ns / 1000000000),
			(long long)(sn->time_ns % 1000000000));
		for (const char *c = sn->name; *c; c++) {
			unsigned char ch = (unsigned char)*c;
			if (ch > 0x20 && ch < 0x7f && ch != '\\')
				fputc(ch, out);
			else
				fprintf(out, "\\x%02x", ch);
		}
		fputc('\n', out);
	}
}
