/*
 * Tests of the write-ahead log: framing, fragments, rotation, replay,
 * torn tails, damage, failures, reservation and group commit.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crc32c.h"
#include "io.h"
#include "util.h"
#include "wal.h"

static char dir[64];
static _Atomic uint64_t file_no;

static void setup(void)
{
	strcpy(dir, "/tmp/golite-wal-XXXXXX");
	cr_assert(mkdtemp(dir));
	atomic_store(&file_no, 1);
}

static void teardown(void)
{
	io_set_fault_hook(NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

static uint64_t next_no(void *ctx)
{
	(void)ctx;
	return atomic_fetch_add(&file_no, 1);
}

static struct wal *open_wal(enum golite_durability mode, size_t segment)
{
	struct wal_options o = {
		.dir = dir,
		.mode = mode,
		.sync_interval_ms = 20,
		.buffer_size = 1 << 16,
		.segment_size = segment,
		.next_file_no = next_no,
	};
	struct wal *w;
	cr_assert_eq(wal_open(&o, next_no(NULL), &w), 0, "%s", golite_last_error());
	return w;
}

static void put_trailer(void *ctx, uint8_t t[8])
{
	put_le64(t, *(uint64_t *)ctx);
}

/* Appends a record of n bytes whose content derives from id. */
static int append(struct wal *w, uint64_t id, size_t n, uint64_t *lsn)
{
	uint8_t *p = malloc(n);
	for (size_t i = 0; i + 8 < n; i++)
		p[i] = (uint8_t)(id * 31 + i);
	int r = wal_append(w, p, n, false, put_trailer, &id, lsn);
	free(p);
	return r;
}

struct seen {
	uint64_t count;
	uint64_t ids[16384];
	size_t lens[16384];
	bool content_ok;
};

static int collect(void *ctx, const uint8_t *p, size_t len, const char *path, uint64_t off)
{
	(void)path;
	(void)off;
	struct seen *s = ctx;
	uint64_t id = get_le64(p + len - 8);
	for (size_t i = 0; i + 8 < len; i++)
		if (p[i] != (uint8_t)(id * 31 + i))
			s->content_ok = false;
	s->ids[s->count] = id;
	s->lens[s->count] = len;
	s->count++;
	return 0;
}

static int replay(struct seen *s, struct wal_replay_info *info)
{
	memset(s, 0, sizeof(*s));
	s->content_ok = true;
	return wal_replay(dir, 0, false, collect, s, NULL, NULL, info);
}

static char *segment_path(uint64_t n)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%08llu.wal", dir, (unsigned long long)n);
	return p;
}

TestSuite(wal, .init = setup, .fini = teardown);

Test(wal, records_replay_in_order)
{
	struct wal *w = open_wal(GOLITE_NONE, 64 << 20);
	uint64_t lsn;
	for (uint64_t i = 1; i <= 1000; i++)
		cr_assert_eq(append(w, i, 8 + i % 300, &lsn), 0);
	cr_assert_eq(wal_close(w), 0);
	static struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), 0, "%s", golite_last_error());
	cr_assert_eq(s.count, 1000);
	for (uint64_t i = 0; i < 1000; i++) {
		cr_assert_eq(s.ids[i], i + 1);
		cr_assert_eq(s.lens[i], 8 + (i + 1) % 300);
	}
	cr_expect(s.content_ok);
	cr_expect(!info.truncated);
}

Test(wal, large_records_are_fragmented_and_reassembled)
{
	struct wal *w = open_wal(GOLITE_SYNC, 64 << 20);
	uint64_t lsn;
	cr_assert_eq(append(w, 7, (3u << 20) + 12345, &lsn), 0);
	cr_assert_eq(append(w, 8, 100, &lsn), 0);
	cr_assert_eq(wal_sync_to(w, lsn), 0);
	cr_assert_eq(wal_close(w), 0);
	static struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), 0, "%s", golite_last_error());
	cr_assert_eq(s.count, 2);
	cr_expect_eq(s.lens[0], (3u << 20) + 12345);
	cr_expect_eq(s.ids[1], 8);
	cr_expect(s.content_ok);
}

static void note_segno(void *ctx, uint64_t segno)
{
	*(uint64_t *)ctx = segno;
}

Test(wal, segments_rotate_by_size_and_on_request)
{
	struct wal *w = open_wal(GOLITE_NONE, 1 << 20);
	uint64_t lsn;
	for (uint64_t i = 1; i <= 600; i++)
		cr_assert_eq(append(w, i, 4000, &lsn), 0);
	uint64_t by_size = atomic_load(&file_no) - 1;
	cr_expect_geq(by_size, 3, "600 records of 4 KB span several 1 MiB segments");
	uint64_t segno = 0;
	cr_assert_eq(wal_rotate(w, note_segno, &segno), 0);
	cr_expect_eq(segno, by_size + 1, "rotation starts the next numbered segment");
	cr_assert_eq(append(w, 601, 100, &lsn), 0);
	cr_assert_eq(wal_close(w), 0);
	struct stat st;
	cr_assert_eq(stat(segment_path(segno), &st), 0);
	static struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), 0, "%s", golite_last_error());
	cr_assert_eq(s.count, 601);
	for (uint64_t i = 0; i < 601; i++)
		cr_assert_eq(s.ids[i], i + 1);
	cr_expect_eq(info.segments, segno);
	cr_expect_eq(info.max_segno, segno);
}

#define REC 213 /* a record of 200 payload bytes, framed */
/* With a sync after each, a record is followed by the sync's mark. */
#define SYNCED_REC (REC + WAL_RECORD_OVERHEAD)

/* Where the records of segment file path end (zeros written ahead may
 * follow them, up to the file's size). */
static uint64_t records_end(const char *path)
{
	uint64_t end;
	cr_assert_eq(wal_file_records_end(path, &end), 0, "cannot read %s", path);
	return end;
}

/* Opens a sync-mode log and appends count records of 200 bytes to its
 * first segment, syncing after each. */
static struct wal *synced_records(uint64_t count)
{
	struct wal *w = open_wal(GOLITE_SYNC, 64 << 20);
	uint64_t lsn;
	for (uint64_t i = 1; i <= count; i++) {
		cr_assert_eq(append(w, i, 200, &lsn), 0);
		cr_assert_eq(wal_sync_to(w, lsn), 0);
	}
	return w;
}

/* Writes 100 records in one segment, syncing after each, and returns where
 * its records end. */
static uint64_t write_hundred(void)
{
	struct wal *w = synced_records(100);
	cr_assert_eq(wal_close(w), 0);
	return records_end(segment_path(1));
}

Test(wal, sync_rounds_write_zeros_ahead_of_the_records)
{
	struct wal *w = synced_records(20);
	/* Read while the log is open (close gives the unused space back). */
	uint8_t *d;
	size_t n;
	cr_assert_eq(io_read_file(segment_path(1), 1 << 24, &d, &n), 0);
	size_t end = wal_records_end(d, n);
	cr_expect_gt(n, end + (256u << 10), "%zu bytes, records end at %zu: no zeros ahead", n,
		     end);
	size_t i = end;
	while (i < n && d[i] == 0)
		i++;
	cr_expect_eq(i, n, "a nonzero byte at %zu after the records", i);
	free(d);
	cr_assert_eq(wal_close(w), 0);
	static struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), 0, "%s", golite_last_error());
	cr_expect_eq(s.count, 20);
	cr_expect(!info.truncated, "zeros ahead are a clean end, not a torn tail");
}

Test(wal, a_power_cut_cuts_unsynced_bytes_written_over_zeros_ahead)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/z", dir);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* The simulated power cut keeps the io lock: do it in a child. */
		static const uint8_t zeros[8192];
		uint8_t data[100];
		memset(data, 7, sizeof(data));
		io_crash_tracking(true);
		int fd = io_open(path, O_CREAT | O_WRONLY, 0600);
		if (fd < 0 || io_sync_dir(dir) || io_pwrite(fd, data, 100, 0) ||
		    io_zero_ahead(fd, zeros, sizeof(zeros), 100) || io_fdatasync(fd) ||
		    io_pwrite(fd, data, 50, 100))
			_exit(1);
		io_crash_now();
		_exit(0);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the writer failed");
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0);
	cr_expect_eq(sb.st_size, 100, "synced data ends at 100; the cut left %lld bytes",
		     (long long)sb.st_size);
}

Test(wal, torn_tail_is_dropped_and_truncated)
{
	uint64_t size = write_hundred();
	/* Cut the last record in half, as a crash mid-write would. */
	cr_assert_eq(truncate(segment_path(1), (off_t)(size - 100)), 0);
	static struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), 0, "%s", golite_last_error());
	cr_expect_eq(s.count, 99);
	cr_expect(info.truncated);
	struct stat st;
	cr_assert_eq(stat(segment_path(1), &st), 0);
	/* size holds the records and the mark record of the clean close. */
	cr_expect_eq((uint64_t)st.st_size, size - WAL_RECORD_OVERHEAD - REC,
		     "file cut at the torn record");
	/* A second replay finds a clean log. */
	cr_assert_eq(replay(&s, &info), 0);
	cr_expect_eq(s.count, 99);
	cr_expect(!info.truncated);
}

Test(wal, garbage_after_the_last_record_is_a_torn_tail)
{
	uint64_t size = write_hundred();
	int fd = open(segment_path(1), O_WRONLY);
	uint8_t junk[3000];
	srand(99);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rand();
	cr_assert_eq(pwrite(fd, junk, sizeof(junk), (off_t)size), (ssize_t)sizeof(junk));
	close(fd);
	static struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), 0, "%s", golite_last_error());
	cr_expect_eq(s.count, 100);
	cr_expect(info.truncated);
	cr_expect_eq(info.truncated_at, size);
}

Test(wal, damage_before_the_tail_fails_and_changes_nothing)
{
	write_hundred();
	struct stat before;
	cr_assert_eq(stat(segment_path(1), &before), 0);
	/* Flip one byte inside record 10's payload: later records were
	 * appended after it was synced, so this is not a torn tail. */
	uint64_t off = 32 + 9 * SYNCED_REC + 9 + 50;
	int fd = open(segment_path(1), O_RDWR);
	uint8_t b;
	cr_assert_eq(pread(fd, &b, 1, (off_t)off), 1);
	b ^= 0x40;
	cr_assert_eq(pwrite(fd, &b, 1, (off_t)off), 1);
	close(fd);
	static struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), GOLITE_ECORRUPT);
	char want[64];
	snprintf(want, sizeof(want), "offset %llu", (unsigned long long)(32 + 9 * SYNCED_REC));
	cr_expect(strstr(golite_last_error(), want), "message names the offset: %s",
		  golite_last_error());
	cr_expect(strstr(golite_last_error(), segment_path(1)), "message names the file");
	struct stat st;
	cr_assert_eq(stat(segment_path(1), &st), 0);
	cr_expect_eq(st.st_size, before.st_size, "a damaged log is not truncated");
}

Test(wal, a_hole_in_the_unsynced_tail_is_a_torn_tail)
{
	/* 50 synced records, then 50 appended without a sync: after a power
	 * cut the kernel may have written a later page of those and not an
	 * earlier one. */
	struct wal *w = synced_records(50);
	cr_assert_eq(wal_close(w), 0);
	/* Records 51..100 as the log thread would have appended them before a
	 * sync: their synced mark is the end of record 50. */
	uint64_t end50 = records_end(segment_path(1));
	int fd = open(segment_path(1), O_RDWR);
	uint8_t rec[REC], payload[200];
	for (uint64_t i = 51; i <= 100; i++) {
		for (size_t j = 0; j + 8 < sizeof(payload); j++)
			payload[j] = (uint8_t)(i * 31 + j);
		put_le64(payload + 192, i);
		cr_assert_eq(wal_record_encode(rec, WAL_REC_FULL, payload, 200, (uint32_t)end50), REC);
		cr_assert_eq(pwrite(fd, rec, REC, (off_t)(end50 + (i - 51) * REC)), REC);
	}
	/* A hole where records 60..62 were. */
	uint8_t zeros[3 * REC] = { 0 };
	cr_assert_eq(pwrite(fd, zeros, sizeof(zeros), (off_t)(end50 + 9 * REC)), sizeof(zeros));
	close(fd);
	struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), 0, "%s", golite_last_error());
	cr_expect_eq(s.count, 59, "the tail from the hole on is dropped");
	cr_expect(info.truncated);
	cr_expect_eq(info.truncated_at, end50 + 9 * REC);
}

Test(wal, records_of_a_later_segment_make_damage_real)
{
	write_hundred();
	struct wal *w;
	struct wal_options o = {
		.dir = dir, .mode = GOLITE_SYNC, .sync_interval_ms = 20, .buffer_size = 1 << 16,
		.segment_size = 64 << 20, .next_file_no = next_no,
	};
	cr_assert_eq(wal_open(&o, 2, &w), 0);
	uint64_t lsn;
	cr_assert_eq(append(w, 101, 200, &lsn), 0);
	cr_assert_eq(wal_close(w), 0);
	/* Damage the last record of segment 1: segment 2 holds a record, so
	 * segment 1 had been synced whole. */
	int fd = open(segment_path(1), O_RDWR);
	uint8_t b = 0x55;
	cr_assert_eq(pwrite(fd, &b, 1, (off_t)(32 + 99 * SYNCED_REC + 20)), 1);
	close(fd);
	struct seen s;
	struct wal_replay_info info;
	cr_expect_eq(replay(&s, &info), GOLITE_ECORRUPT);
}

/* Rewrites the format version in segment segno's header, keeping the
 * header checksum valid so that only the version changes. */
static void set_segment_version(uint64_t segno, uint32_t version)
{
	int fd = open(segment_path(segno), O_RDWR);
	uint8_t h[32];
	cr_assert_eq(pread(fd, h, 32, 0), 32);
	put_le32(h + 8, version);
	uint32_t crc = crc32c_extend(0, h, 24);
	put_le32(h + 24, crc32c_mask(crc));
	cr_assert_eq(pwrite(fd, h, 32, 0), 32);
	close(fd);
}

Test(wal, unknown_version_is_refused)
{
	write_hundred();
	set_segment_version(1, 99);
	static struct seen s;
	struct wal_replay_info info;
	cr_expect_eq(replay(&s, &info), GOLITE_EVERSION, "%s", golite_last_error());
}

/* A version 1 segment (before expiring entries) replays as before. */
Test(wal, version_1_is_read)
{
	write_hundred();
	set_segment_version(1, 1);
	static struct seen s;
	struct wal_replay_info info;
	cr_expect_eq(replay(&s, &info), 0, "%s", golite_last_error());
	cr_expect_eq(s.count, 100);
}

Test(wal, empty_segment_created_before_a_crash_is_ignored)
{
	write_hundred();
	int fd = open(segment_path(2), O_WRONLY | O_CREAT, 0600);
	close(fd);
	static struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), 0, "%s", golite_last_error());
	cr_expect_eq(s.count, 100);
}

static int fail_writes(void *ctx, enum io_op op, const char *path, int fd, size_t *len)
{
	(void)ctx;
	(void)path;
	(void)fd;
	(void)len;
	return op == IO_PWRITE ? EIO : 0;
}

Test(wal, a_failed_write_fails_the_log_for_good)
{
	struct wal *w = open_wal(GOLITE_SYNC, 64 << 20);
	uint64_t lsn;
	cr_assert_eq(append(w, 1, 100, &lsn), 0);
	cr_assert_eq(wal_sync_to(w, lsn), 0);
	io_set_fault_hook(fail_writes, NULL);
	cr_assert_eq(append(w, 2, 100, &lsn), 0, "the append itself only buffers");
	cr_expect_eq(wal_sync_to(w, lsn), GOLITE_EFAILED);
	io_set_fault_hook(NULL, NULL);
	cr_expect_eq(append(w, 3, 100, &lsn), GOLITE_EFAILED, "no write after a failure");
	cr_expect_eq(wal_failed(w), GOLITE_EIO);
	cr_expect_eq(wal_close(w), GOLITE_EIO);
	static struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), 0);
	cr_expect_eq(s.count, 1, "only the synced record is in the log");
}

static int no_space(void *ctx, enum io_op op, const char *path, int fd, size_t *len)
{
	(void)ctx;
	(void)path;
	(void)fd;
	(void)len;
	return op == IO_FALLOCATE ? ENOSPC : 0;
}

Test(wal, no_space_refuses_the_append_and_recovers)
{
	struct wal *w = open_wal(GOLITE_SYNC, 64 << 20);
	uint64_t lsn;
	/* The first 4 MiB are reserved at creation; use them up. */
	int r = 0;
	uint64_t i = 1;
	io_set_fault_hook(no_space, NULL);
	for (; i < 10000 && r == 0; i++)
		r = append(w, i, 1000, &lsn);
	cr_assert_eq(r, GOLITE_ENOSPC, "%s", golite_last_error());
	uint64_t accepted = i - 2;
	cr_expect_eq(wal_failed(w), 0, "running out of space does not fail the log");
	io_set_fault_hook(NULL, NULL);
	cr_assert_eq(append(w, i - 1, 1000, &lsn), 0, "%s", golite_last_error());
	cr_assert_eq(wal_sync_to(w, lsn), 0);
	cr_assert_eq(wal_close(w), 0);
	static struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), 0);
	cr_expect_eq(s.count, accepted + 1);
	for (uint64_t j = 0; j < s.count; j++)
		cr_assert_eq(s.ids[j], j + 1, "the refused record left no trace");
}

struct committer {
	struct wal *w;
	int id;
};

static void *commit_loop(void *p)
{
	struct committer *c = p;
	for (int i = 0; i < 200; i++) {
		uint64_t lsn;
		cr_assert_eq(append(c->w, (uint64_t)c->id * 1000 + (uint64_t)i, 120, &lsn), 0);
		cr_assert_eq(wal_sync_to(c->w, lsn), 0);
	}
	return NULL;
}

Test(wal, concurrent_sync_writers_share_fdatasyncs)
{
	struct wal *w = open_wal(GOLITE_SYNC, 64 << 20);
	enum { N = 8 };
	pthread_t t[N];
	struct committer c[N];
	for (int i = 0; i < N; i++) {
		c[i] = (struct committer){ w, i + 1 };
		pthread_create(&t[i], NULL, commit_loop, &c[i]);
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	struct wal_stats st;
	wal_get_stats(w, &st);
	cr_expect_eq(st.records, N * 200);
	cr_expect_lt(st.syncs, st.records, "group commit: %llu syncs for %llu records",
		     (unsigned long long)st.syncs, (unsigned long long)st.records);
	cr_expect_eq(st.durable_lsn, st.appended_lsn);
	cr_assert_eq(wal_close(w), 0);
	static struct seen s;
	struct wal_replay_info info;
	cr_assert_eq(replay(&s, &info), 0);
	cr_expect_eq(s.count, N * 200);
	cr_expect(s.content_ok);
}

Test(wal, periodic_mode_syncs_within_the_interval)
{
	struct wal *w = open_wal(GOLITE_PERIODIC, 64 << 20);
	uint64_t lsn;
	cr_assert_eq(append(w, 1, 100, &lsn), 0);
	struct wal_stats st;
	for (int i = 0; i < 500; i++) {
		wal_get_stats(w, &st);
		if (st.durable_lsn >= lsn)
			break;
		usleep(10000);
	}
	cr_expect_geq(st.durable_lsn, lsn, "the log thread synced on its own");
	cr_assert_eq(wal_close(w), 0);
}

/* ---- the reporting walk (wal_scan) ---- */

struct scan_seen {
	uint64_t rec_off[16];
	size_t rec_len[16];
	size_t nrec;
	uint64_t bad_off[8], bad_end[8];
	bool bad_torn[8];
	size_t nbad;
};

static int scan_record(void *ctx, uint64_t off, const uint8_t *p, size_t len)
{
	struct scan_seen *s = ctx;
	(void)p;
	cr_assert_lt(s->nrec, 16);
	s->rec_off[s->nrec] = off;
	s->rec_len[s->nrec++] = len;
	return 0;
}

static void scan_damage(void *ctx, uint64_t off, uint64_t end, bool torn, const char *why)
{
	struct scan_seen *s = ctx;
	cr_assert_lt(s->nbad, 8);
	cr_assert(why && *why);
	s->bad_off[s->nbad] = off;
	s->bad_end[s->nbad] = end;
	s->bad_torn[s->nbad++] = torn;
}

/* A segment image of n records of len bytes each, every record vouching
 * for everything before it (synced = its own offset). */
static uint8_t *segment_image(size_t n, size_t len, size_t *size, uint64_t *offs)
{
	size_t cap = WAL_SEGMENT_HEADER + n * wal_logical_size(len);
	uint8_t *d = xcalloc(1, cap), *payload = xmalloc(len);
	wal_segment_header(d, 7);
	size_t at = WAL_SEGMENT_HEADER;
	for (size_t i = 0; i < n; i++) {
		memset(payload, 'a' + (int)i, len);
		offs[i] = at;
		at += wal_logical_encode(d + at, payload, len, (uint32_t)at);
	}
	free(payload);
	*size = at;
	return d;
}

Test(wal, scan_reports_damage_and_resynchronises)
{
	uint64_t offs[5];
	size_t n;
	uint8_t *d = segment_image(5, 100, &n, offs);
	d[offs[2] + WAL_RECORD_HEADER + 10] ^= 0xff;   /* record 2's payload */
	struct scan_seen s = { 0 };
	struct wal_reporter rep = { scan_damage, &s };
	struct wal_scan_info info;
	wal_scan(d, n, scan_record, &s, &rep, &info);
	cr_assert_eq(info.header, WAL_HEADER_OK);
	cr_assert_eq(info.segno, 7);
	cr_assert_eq(s.nrec, 4, "the records around the damage are read");
	cr_assert_eq(s.rec_off[2], offs[3]);
	cr_assert_eq(s.nbad, 1);
	cr_assert_eq(s.bad_off[0], offs[2]);
	cr_assert_eq(s.bad_end[0], offs[3], "the damage ends where the next record starts");
	cr_assert_not(s.bad_torn[0], "later records vouch for it");
	cr_assert_eq(info.damaged, 1);
	cr_assert_eq(info.first_damage, offs[2]);
	free(d);
}

Test(wal, scan_calls_a_damaged_last_record_a_torn_tail)
{
	uint64_t offs[3];
	size_t n;
	uint8_t *d = segment_image(3, 50, &n, offs);
	d[n - 3] ^= 0x01;                              /* record 2's synced mark */
	struct scan_seen s = { 0 };
	struct wal_reporter rep = { scan_damage, &s };
	struct wal_scan_info info;
	wal_scan(d, n, scan_record, &s, &rep, &info);
	cr_assert_eq(s.nrec, 2);
	cr_assert_eq(s.nbad, 1);
	cr_assert_eq(s.bad_off[0], offs[2]);
	/* To the end, less the zeros there (the synced mark's high bytes). */
	cr_assert(s.bad_end[0] > offs[2] + WAL_RECORD_HEADER && s.bad_end[0] <= n);
	cr_assert(s.bad_torn[0] && info.torn);
	free(d);
}

Test(wal, scan_reads_fragmented_records_whole)
{
	uint64_t offs[2];
	size_t n;
	uint8_t *d = segment_image(2, WAL_MAX_FRAGMENT * 2 + 5, &n, offs);
	struct scan_seen s = { 0 };
	struct wal_scan_info info;
	wal_scan(d, n, scan_record, &s, NULL, &info);
	cr_assert_eq(s.nrec, 2);
	cr_assert_eq(s.rec_len[1], WAL_MAX_FRAGMENT * 2 + 5);
	cr_assert_eq(s.rec_off[1], offs[1]);
	cr_assert_eq(info.damaged, 0);
	free(d);
}
