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

static size_t record_at(const uint8_t *d, size_t n, size_t off, unsigned *type, size_t *plen)
{
	struct wal_record rec;
	size_t size = wal_record_parse(d, n, off, &rec);
	if (size) {
		*type = rec.type;
		*plen = rec.len;
	}
	return size;
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

/* 0 if the header is valid, 1 if the segment holds no header at all (empty
 * or zeros: a segment created just before a crash), or an error. */
int wal_seg_check_header(const struct wal_seg_data *s)
{
	const uint8_t *d = s->data;
	if (s->len < WAL_SEGMENT_HEADER) {
		for (size_t i = 0; i < s->len; i++)
			if (d[i])
				goto bad;
		return 1;
	}
	if (memcmp(d, WAL_MAGIC, WAL_MAGIC_SIZE) != 0) {
		for (size_t i = 0; i < WAL_SEGMENT_HEADER; i++)
			if (d[i])
				goto bad;
		return 1;
	}
	if (crc32c_unmask(get_le32(d + WAL_HDR_CRC_OFF)) != crc32c(d, WAL_HDR_CRC_OFF))
		goto bad;
	if (get_le32(d + WAL_HDR_VERSION_OFF) != WAL_VERSION)
		return set_error(GOLITE_EVERSION,
				 "log segment %s has format version %u; this build reads version %u",
				 s->path, get_le32(d + WAL_HDR_VERSION_OFF), WAL_VERSION);
	if (get_le64(d + WAL_HDR_SEGNO_OFF) != s->segno)
		return set_error(GOLITE_ECORRUPT,
				 "log segment %s: header names segment %llu (offset %u)", s->path,
				 (unsigned long long)get_le64(d + WAL_HDR_SEGNO_OFF), WAL_HDR_SEGNO_OFF);
	return 0;
bad:
	return set_error(GOLITE_ECORRUPT, "log segment %s: damaged header (offset 0)", s->path);
}

/*
 * Walks the records of a segment. Calls apply for each logical record.
 * Returns 0 at a clean end, 1 with *bad_off set at the first damaged or
 * incomplete record, or an error from apply.
 */
int wal_seg_walk(const struct wal_seg_data *s, wal_apply_fn apply, void *ctx, uint64_t *bad_off,
		 uint64_t *records, uint64_t *bytes)
{
	const uint8_t *d = s->data;
	size_t n = s->len, off = WAL_SEGMENT_HEADER;
	uint8_t *frag = NULL;
	size_t frag_len = 0, frag_cap = 0, frag_start = 0;
	int r = 0;
	while (off < n) {
		unsigned type;
		size_t plen;
		size_t size = record_at(d, n, off, &type, &plen);
		if (!size) {
			/* Zeros to the end are reserved, never-written space. */
			size_t i = off;
			while (i < n && d[i] == 0)
				i++;
			if (i == n && !frag_len)
				break;
			*bad_off = frag_len ? frag_start : off;
			r = 1;
			goto out;
		}
		const uint8_t *p = d + off + WAL_RECORD_HEADER;
		if (type == WAL_REC_MARK && !frag_len) {
			off += size;
			continue;
		}
		if (type == WAL_REC_FULL) {
			if (frag_len) {
				*bad_off = frag_start;
				r = 1;
				goto out;
			}
			if (apply) {
				r = apply(ctx, p, plen, s->path, off);
				if (r < 0)
					goto out;
			}
			(*records)++;
			*bytes += plen;
		} else if (type == WAL_REC_FIRST) {
			if (frag_len) {
				*bad_off = frag_start;
				r = 1;
				goto out;
			}
			frag_start = off;
			frag_len = 0;
			goto append;
		} else {
			if (!frag_len) {
				*bad_off = off;
				r = 1;
				goto out;
			}
append:
			wal_join_fragment(&frag, &frag_len, &frag_cap, p, plen);
			if (type == WAL_REC_LAST) {
				if (apply) {
					r = apply(ctx, frag, frag_len, s->path, frag_start);
					if (r < 0)
						goto out;
				}
				(*records)++;
				*bytes += frag_len;
				frag_len = 0;
			}
		}
		off += size;
	}
	if (frag_len) {
		*bad_off = frag_start;
		r = 1;
	}
out:
	free(frag);
	return r;
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
		if (h == 0)
			h = wal_seg_walk(&s, apply, ctx, &bad_off, &info->records, &info->bytes);
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
