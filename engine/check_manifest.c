/*
 * check_manifest.c — reading a MANIFEST image edit by edit without opening
 * the store, past damage: what the manifest still says is kept (repair
 * rebuilds from it), and every damaged or malformed edit is reported.
 *
 * Invariants:
 *   1. An edit is used only if its length and checksum hold and its tag is
 *      known; after a damaged edit the reading resumes at the next offset
 *      where a valid edit starts, and the bytes skipped are reported.
 *   2. A table enters ms->m only from an ADD_FILE edit that decoded whole.
 */
#include "check_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "format.h"
#include "io.h"
#include "manifest.h"
#include "manifest_format.h"
#include "util.h"

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
		ck_found(r, GOLITE_FINDING_PROBLEM, path, 0, "not a manifest (bad magic)");
		ms->clean = false;
		off = MIN(n, (size_t)MANIFEST_HEADER);
	} else if (get_le32(d + MANIFEST_HDR_VERSION_OFF) != MANIFEST_VERSION) {
		ck_found(r, GOLITE_FINDING_PROBLEM, path, MANIFEST_HDR_VERSION_OFF,
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
			ck_found(r, GOLITE_FINDING_PROBLEM, path, off, "damaged edit (%zu bytes skipped)", next - off);
			ms->clean = false;
			off = next;
			continue;
		}
		if (!mf_decode(ms, d + off + MANIFEST_EDIT_HEADER, len, off, &cap)) {
			ck_found(r, GOLITE_FINDING_PROBLEM, path, off, "malformed edit (tag %u)",
				 d[off + MANIFEST_EDIT_HEADER]);
			ms->clean = false;
		} else {
			ms->edits++;
		}
		off += MANIFEST_EDIT_HEADER + (size_t)len;
	}
	if (ms->clean && ms->edits != count) {
		ck_found(r, GOLITE_FINDING_PROBLEM, path, MANIFEST_HDR_COUNT_OFF,
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

static void scan_manifest_file(struct run *r, const char *path, const uint8_t *d, size_t n)
{
	struct mscan ms;
	ck_mscan_run(r, path, d, n, &ms);
	r->st->manifest_edits = ms.edits;
	ck_mscan_free(&ms);
}

int check_manifest_file(const char *path, const golite_check_options *o, golite_check_stats *st)
{
	return ck_check_one_file(path, o, st, scan_manifest_file);
}
