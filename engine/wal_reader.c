/*
 * wal_reader.c — reading the log: parsing records, finding where a
 * segment's records end, and replaying segments at open. It shares no
 * state with the writer (wal.c): it reads segments the writer finished, or
 * that a crash cut short, and tells a torn tail from damage as
 * wal_format.h explains.
 *
 * Invariants:
 *   1. A record is taken only if its type is known, its length fits both
 *      WAL_MAX_FRAGMENT and the bytes that remain, a MARK carries no
 *      payload, and its checksum holds.
 *   2. Replay hands apply() logical records in log order (segments by
 *      number, records by offset), a fragmented one once its LAST fragment
 *      is read, and nothing that follows damage.
 *   3. Damage is dropped as a torn tail only when nothing vouches for it
 *      (a later record's synced mark, or a record in a later segment);
 *      then, unless read_only, the segment is cut at the damage and every
 *      later segment removed before replay returns. Any other damage fails
 *      with GOLITE_ECORRUPT and changes no file.
 *   4. One walk reads records for every reader: replay and the tools'
 *      verify stop at the first damage; wal_scan (check, repair, dump)
 *      hands each damaged range to its wal_reporter, with its offset, its
 *      length and why, and resynchronises at the next valid record, as
 *      LevelDB's log::Reader does with its Reporter. Both see the same
 *      records up to the first damage.
 */
#include "error.h"
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crc32c.h"
#include "filename.h"
#include "io.h"
#include "util.h"
#include "wal_int.h"

size_t wal_record_parse(const uint8_t *d, size_t n, size_t off, struct wal_record *rec)
{
	if (off > n || n - off < WAL_RECORD_OVERHEAD)
		return 0;
	const uint8_t *h = d + off;
	uint32_t len = get_le32(h + WAL_REC_LEN_OFF);
	unsigned t = h[WAL_REC_TYPE_OFF];
	if (t < WAL_REC_FULL || t > WAL_REC_MARK || len > WAL_MAX_FRAGMENT ||
	    len > n - off - WAL_RECORD_OVERHEAD || (t == WAL_REC_MARK && len))
		return 0;
	if (crc32c_unmask(get_le32(h)) !=
	    crc32c_extend(0, h + WAL_REC_LEN_OFF, WAL_RECORD_OVERHEAD - WAL_REC_LEN_OFF + (size_t)len))
		return 0;
	rec->type = t;
	rec->payload = h + WAL_RECORD_HEADER;
	rec->len = len;
	rec->synced = get_le32(h + WAL_RECORD_HEADER + len);
	rec->size = WAL_RECORD_OVERHEAD + len;
	return rec->size;
}

size_t wal_next_valid(const uint8_t *d, size_t n, size_t from)
{
	struct wal_record rec;
	for (size_t off = from; off + WAL_RECORD_OVERHEAD <= n; off++)
		if (d[off + WAL_REC_TYPE_OFF] >= WAL_REC_FULL &&
		    d[off + WAL_REC_TYPE_OFF] <= WAL_REC_MARK &&
		    wal_record_parse(d, n, off, &rec))
			return off;
	return n;
}

size_t wal_records_end(const uint8_t *d, size_t n)
{
	size_t off = WAL_SEGMENT_HEADER, size;
	struct wal_record rec;
	while (off < n && (size = wal_record_parse(d, n, off, &rec)) > 0)
		off += size;
	return MIN(off, n);
}

int wal_file_records_end(const char *path, uint64_t *end)
{
	uint8_t *d;
	size_t n;
	int r = io_read_file(path, WAL_MAX_SEGMENT_READ, &d, &n);
	if (r < 0)
		return r;
	*end = wal_records_end(d, n);
	free(d);
	return 0;
}

bool wal_damage_is_tail(const uint8_t *d, size_t n, size_t damage)
{
	struct wal_record rec;
	for (size_t off = wal_next_valid(d, n, damage + 1); off < n;
	     off = wal_next_valid(d, n, off + 1))
		if (wal_record_parse(d, n, off, &rec) && rec.synced > damage)
			return false;
	return true;
}

static int seg_load(const char *dir, uint64_t segno, struct wal_seg_data *s)
{
	file_path(s->path, sizeof(s->path), dir, FILE_WAL, segno);
	s->segno = segno;
	int r = io_read_file(s->path, WAL_MAX_SEGMENT_READ, &s->data, &s->len);
	if (r < 0)
		return set_error(errno_to_golite(-r) == GOLITE_ENOTFOUND ? GOLITE_EIO
									 : errno_to_golite(-r),
				 "cannot read log segment %s: %s", s->path, strerror(-r));
	return 0;
}

static bool all_zero(const uint8_t *d, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (d[i])
			return false;
	return true;
}

enum wal_header wal_header_parse(const uint8_t *d, size_t n, uint32_t *version, uint64_t *segno)
{
	if (n < WAL_SEGMENT_HEADER)
		return all_zero(d, 0, n) ? WAL_HEADER_NONE : WAL_HEADER_BAD;
	if (memcmp(d, WAL_MAGIC, WAL_MAGIC_SIZE) != 0)
		return all_zero(d, 0, WAL_SEGMENT_HEADER) ? WAL_HEADER_NONE : WAL_HEADER_BAD;
	if (crc32c_unmask(get_le32(d + WAL_HDR_CRC_OFF)) != crc32c(d, WAL_HDR_CRC_OFF))
		return WAL_HEADER_BAD;
	*version = get_le32(d + WAL_HDR_VERSION_OFF);
	*segno = get_le64(d + WAL_HDR_SEGNO_OFF);
	return *version >= WAL_VERSION_MIN && *version <= WAL_VERSION ? WAL_HEADER_OK
									: WAL_HEADER_VERSION;
}

int wal_seg_check_header(const struct wal_seg_data *s)
{
	uint32_t version = 0;
	uint64_t segno = 0;
	switch (wal_header_parse(s->data, s->len, &version, &segno)) {
	case WAL_HEADER_NONE:
		return 1;
	case WAL_HEADER_BAD:
		return set_error(GOLITE_ECORRUPT, "log segment %s: damaged header (offset 0)",
				 s->path);
	case WAL_HEADER_VERSION:
		return set_error(GOLITE_EVERSION,
				 "log segment %s has format version %u; this build reads versions %u to %u",
				 s->path, version, WAL_VERSION_MIN, WAL_VERSION);
	case WAL_HEADER_OK:
		break;
	}
	if (segno != s->segno)
		return set_error(GOLITE_ECORRUPT,
				 "log segment %s: header names segment %llu (offset %u)", s->path,
				 (unsigned long long)segno, WAL_HDR_SEGNO_OFF);
	return 0;
}

/* One walk over the records of a segment image (invariant 4). */
struct walk {
	const uint8_t *d;
	size_t n;
	wal_record_fn fn;
	void *ctx;
	const struct wal_reporter *rep;   /* NULL: stop at the first damage */
	struct wal_scan_info *info;
	uint64_t bad_off;                 /* where it stopped, without rep */
};

/* Damage at [off, end). Returns true if the walk goes on past it. */
static bool walk_damage(struct walk *w, uint64_t off, uint64_t end, bool torn, const char *why)
{
	if (!w->info->damaged)
		w->info->first_damage = off;
	w->info->damaged++;
	w->info->torn = torn;
	if (!w->rep) {
		w->bad_off = off;
		return false;
	}
	if (w->rep->corruption)
		w->rep->corruption(w->rep->ctx, off, end, torn, why);
	return true;
}

static int walk_deliver(struct walk *w, uint64_t off, const uint8_t *p, size_t len)
{
	w->info->records++;
	w->info->bytes += len;
	return w->fn ? w->fn(w->ctx, off, p, len) : 0;
}

/*
 * Walks the records from off on. Returns 0 at the end of the image, 1 at
 * the first damage when there is no reporter (w->bad_off set), or a
 * negative error from w->fn.
 */
static int walk_records(struct walk *w, size_t off)
{
	const uint8_t *d = w->d;
	size_t n = w->n;
	uint8_t *frag = NULL;
	size_t frag_len = 0, frag_cap = 0, frag_start = 0;
	bool in_frag = false;
	int r = 0;
#define DAMAGE(from, to, torn, why)                                  \
	do {                                                         \
		if (!walk_damage(w, (from), (to), (torn), (why))) { \
			r = 1;                                       \
			goto out;                                    \
		}                                                    \
	} while (0)
	while (off < n) {
		struct wal_record rec;
		size_t size = wal_record_parse(d, n, off, &rec);
		if (!size) {
			size_t from = in_frag ? frag_start : off;
			in_frag = false;
			/* Zeros to the end are reserved, never-written space. */
			if (all_zero(d, off, n)) {
				if (from < off)
					DAMAGE(from, off, true, "fragmented record cut short");
				break;
			}
			if (!w->rep)
				DAMAGE(from, n, false, "damaged record");
			/* Resynchronise at the next valid record. The unsynced
			 * tail (invariant 3), unless a record after it was
			 * appended once it was on disk. */
			size_t next = wal_next_valid(d, n, off + 1);
			if (next == n || wal_damage_is_tail(d, n, from)) {
				size_t end = n;
				while (end > off && d[end - 1] == 0)
					end--;
				DAMAGE(from, end, true, "damaged or incomplete record");
				break;
			}
			DAMAGE(from, next, false, "damaged record");
			off = next;
			continue;
		}
		if (rec.type == WAL_REC_MARK && !in_frag) {
			off += size;
			continue;
		}
		if (in_frag && (rec.type == WAL_REC_FULL || rec.type == WAL_REC_FIRST)) {
			in_frag = false;
			DAMAGE(frag_start, off, false, "fragmented record without its end");
		}
		if (rec.type == WAL_REC_FULL) {
			if ((r = walk_deliver(w, off, rec.payload, rec.len)) < 0)
				goto out;
		} else if (rec.type == WAL_REC_FIRST || in_frag) {
			if (rec.type == WAL_REC_FIRST) {
				in_frag = true;
				frag_start = off;
				frag_len = 0;
			}
			wal_join_fragment(&frag, &frag_len, &frag_cap, rec.payload, rec.len);
			if (rec.type == WAL_REC_LAST) {
				in_frag = false;
				if ((r = walk_deliver(w, frag_start, frag, frag_len)) < 0)
					goto out;
			}
		} else {
			DAMAGE(off, off + size, false, "fragment without its first part");
		}
		off += size;
	}
	if (in_frag)
		DAMAGE(frag_start, n, true, "fragmented record cut short");
#undef DAMAGE
	r = 0;
out:
	free(frag);
	return r;
}

void wal_scan(const uint8_t *d, size_t n, wal_record_fn fn, void *ctx,
	      const struct wal_reporter *rep, struct wal_scan_info *info)
{
	static const struct wal_reporter silent = { NULL, NULL };
	memset(info, 0, sizeof(*info));
	struct walk w = { d, n, fn, ctx, rep ? rep : &silent, info, 0 };
	info->header = wal_header_parse(d, n, &info->version, &info->segno);
	if (info->header == WAL_HEADER_NONE && !all_zero(d, 0, n))
		info->header = WAL_HEADER_BAD;
	switch (info->header) {
	case WAL_HEADER_NONE:
		return;
	case WAL_HEADER_VERSION:
		walk_damage(&w, WAL_HDR_VERSION_OFF, n, false, "unknown format version");
		return;
	case WAL_HEADER_BAD:
		walk_damage(&w, 0, MIN(n, (size_t)WAL_SEGMENT_HEADER), false,
			    n < WAL_SEGMENT_HEADER ? "segment shorter than its header"
						   : "damaged header");
		break;
	case WAL_HEADER_OK:
		break;
	}
	walk_records(&w, MIN(n, (size_t)WAL_SEGMENT_HEADER));
}

int wal_seg_walk(const struct wal_seg_data *s, wal_record_fn fn, void *ctx, uint64_t *bad_off,
		 uint64_t *records, uint64_t *bytes)
{
	struct wal_scan_info info;
	memset(&info, 0, sizeof(info));
	struct walk w = { s->data, s->len, fn, ctx, NULL, &info, 0 };
	int r = walk_records(&w, WAL_SEGMENT_HEADER);
	*records += info.records;
	*bytes += info.bytes;
	if (r == 1)
		*bad_off = w.bad_off;
	return r;
}

/* Replay's apply() with the segment's path, as a wal_record_fn. */
struct replay_apply {
	wal_apply_fn apply;
	void *ctx;
	const char *path;
};

static int replay_record(void *ctx, uint64_t off, const uint8_t *p, size_t len)
{
	struct replay_apply *a = ctx;
	return a->apply ? a->apply(a->ctx, p, len, a->path, off) : 0;
}

int wal_replay(const char *dir, uint64_t min_segno, bool read_only, wal_apply_fn apply,
	       void *ctx, wal_progress_fn progress, void *progress_ctx,
	       struct wal_replay_info *info)
{
	memset(info, 0, sizeof(*info));
	uint64_t total = 0, done = 0;
	uint64_t *nums;
	size_t count;
	int r = file_list(dir, FILE_WAL, &nums, &count);
	if (r < 0)
		return set_error(GOLITE_EIO, "cannot list %s: %s", dir, strerror(-r));
	size_t first = 0;
	while (first < count && nums[first] < min_segno)
		first++;
	if (count)
		info->max_segno = nums[count - 1];
	for (size_t i = first; i < count; i++) {
		char p[PATH_MAX];
		struct stat st;
		file_path(p, sizeof(p), dir, FILE_WAL, nums[i]);
		if (stat(p, &st) == 0)
			total += (uint64_t)st.st_size;
	}

	for (size_t i = first; i < count; i++) {
		struct wal_seg_data s;
		r = seg_load(dir, nums[i], &s);
		if (r < 0)
			goto out;
		done += s.len;
		if (progress)
			progress(progress_ctx, "replay", done, total);
		info->segments++;
		uint64_t bad_off = 0;
		int h = wal_seg_check_header(&s);
		if (h < 0) {
			free(s.data);
			r = h;
			goto out;
		}
		struct replay_apply ra = { apply, ctx, s.path };
		if (h == 0)
			h = wal_seg_walk(&s, replay_record, &ra, &bad_off, &info->records,
					 &info->bytes);
		else
			bad_off = 0;
		if (h < 0) {
			free(s.data);
			r = h;
			goto out;
		}
		if (h == 0) {
			free(s.data);
			continue;
		}

		/* Damage at bad_off: a torn tail unless a record after it was
		 * appended once it was on disk, or a later segment holds a
		 * record (see wal_format.h). */
		bool later = !wal_damage_is_tail(s.data, s.len, bad_off);
		for (size_t j = i + 1; !later && j < count; j++) {
			struct wal_seg_data t;
			r = seg_load(dir, nums[j], &t);
			if (r < 0) {
				free(s.data);
				goto out;
			}
			later = t.len > WAL_SEGMENT_HEADER &&
				wal_next_valid(t.data, t.len, WAL_SEGMENT_HEADER) < t.len;
			free(t.data);
		}
		free(s.data);
		if (later) {
			r = set_error(GOLITE_ECORRUPT,
				      "log segment %s: damaged record at offset %llu, before records "
				      "written after it was on disk",
				      s.path, (unsigned long long)bad_off);
			goto out;
		}
		info->truncated = true;
		snprintf(info->truncated_path, sizeof(info->truncated_path), "%s", s.path);
		info->truncated_at = bad_off;
		if (!read_only) {
			if (bad_off < WAL_SEGMENT_HEADER) {
				r = io_unlink(s.path);
			} else {
				int fd = io_open(s.path, O_WRONLY, 0);
				r = fd;
				if (fd >= 0) {
					r = io_ftruncate(fd, bad_off);
					if (r == 0)
						r = io_fsync(fd);
					io_close(fd);
				}
			}
			for (size_t j = i + 1; r == 0 && j < count; j++) {
				char p[PATH_MAX];
				file_path(p, sizeof(p), dir, FILE_WAL, nums[j]);
				r = io_unlink(p);
			}
			if (r == 0)
				r = io_sync_dir(dir);
			if (r < 0) {
				r = set_error(errno_to_golite(-r),
					      "cannot drop the torn tail of %s: %s", s.path,
					      strerror(-r));
				goto out;
			}
		}
		break;
	}
	r = 0;
out:
	free(nums);
	return r;
}
