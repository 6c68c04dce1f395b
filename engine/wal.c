/*
 * wal.c — writing the write-ahead log: appends, group commit and sync,
 * segment rotation and the log thread. See wal.h for the contract and
 * wal_format.h for the format; reading and replay are in wal_reader.c,
 * the tools' checks in wal_tool.c.
 *
 * Zeros ahead. A sync round that leaves less than WAL_ZERO_LOW bytes of a
 * segment written ahead of its records writes the next WAL_ZERO_STEP bytes
 * (inside reserved space) with zeros, after its waiters are released. The
 * next sync writes them out with the records; from then on the records
 * land on blocks that are allocated, written and inside the file's size,
 * and an fdatasync has no file system metadata to commit: on ext4 a 4 KiB
 * append and fdatasync took 208-213 µs into reserved (unwritten) space,
 * 154-161 µs into zeros.
 *
 * Invariants:
 *   1. Records are appended under w->mu, in the order their trailers were
 *      filled by the caller's prepare(): log order is trailer order.
 *   2. A record lies wholly in one segment; segments are written in order,
 *      and a segment is fdatasync()ed before the log thread closes it.
 *   3. written_lsn <= appended_lsn, durable_lsn <= written_lsn; each only
 *      grows. Everything up to durable_lsn is on disk.
 *   4. Once w->failed is set it never clears and nothing more is written.
 *   5. Bytes appended to a segment lie inside space reserved for it (unless
 *      the filesystem cannot reserve), so the log thread's writes do not
 *      fail for lack of space.
 *   6. A segment's synced mark only grows and never exceeds what its last
 *      fdatasync covered.
 */
#include "wal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "error.h"
#include "filename.h"
#include "io.h"
#include "rcu.h"
#include "util.h"

#define WAL_RESERVE_STEP (4u << 20)
#define WAL_RESERVE_SMALL (64u << 10)  /* a step on a full disk */
#define WAL_ZERO_STEP (1u << 20)   /* zeros written ahead at a time */
#define WAL_ZERO_LOW (256u << 10)  /* written ahead below this: write more */
/* Appenders wait once this many buffers' worth waits for the log thread.
 * A sync round (a segment closed, the periodic sync) keeps the thread in
 * fdatasync for 5-45 ms while appends go on at up to 400 MB/s; with two
 * buffers' worth every writer stalled for most of each sync (MSET through
 * the RESP server: 290K/s and p99 20 ms, with eight 340-370K/s and 9 ms).
 * The cost is memory only while the disk is behind: up to this many
 * buffers. */
#define WAL_PENDING_BUFFERS 8
#define GATHER_NS 50000ull   /* how long a leader waits for others to join */

struct wal_seg {
	uint64_t segno;
	int fd;
	uint64_t size;        /* bytes appended, header included (protected by mu) */
	uint64_t reserved;    /* bytes reserved with fallocate (protected by mu) */
	uint64_t written;     /* bytes written to the file (log thread only) */
	uint64_t zeroed;      /* end of the zeros written ahead (by rounds) */
	uint64_t synced;      /* bytes known on disk (protected by mu; inv. 6) */
	uint64_t data_end;    /* end of the last record that is not a mark
			       * (protected by mu; wal_position) */
	char path[PATH_MAX];
};

struct wal_buf {
	struct wal_buf *next;
	struct wal_seg *seg;  /* segment the bytes belong to */
	uint64_t file_off;    /* where data[0] goes in seg's file */
	uint64_t lsn_end;     /* log position after the last byte */
	bool closes_seg;      /* last buffer of its segment: sync and close it */
	uint32_t records;
	size_t len, cap;
	uint8_t *data;
};

struct wal {
	struct wal_options o;
	char *dir;
	pthread_mutex_t mu;
	pthread_cond_t writer_cv;   /* wakes the log thread */
	pthread_cond_t done_cv;     /* wakes appenders and sync waiters */
	pthread_t thread;

	/* protected by mu */
	struct wal_buf *cur;        /* being filled by appenders */
	struct wal_buf *queue_head, *queue_tail;  /* full, waiting for the thread */
	struct wal_buf *spare;      /* one recycled buffer */
	struct wal_seg *seg;        /* segment appends go to */
	size_t pending_bytes;       /* appended but not yet written */
	uint64_t appended_lsn, written_lsn, durable_lsn;
	uint64_t sync_req_lsn;      /* someone waits for durability up to here */
	bool timer_armed;           /* the thread knows unsynced data exists */
	bool mark_pending;          /* cur holds a mark record to write */
	bool writing;               /* a write round runs (write_round) */
	uint64_t last_round_records;   /* records the last sync round carried */
	unsigned sync_waiters;         /* callers inside sync_upto */
	unsigned last_round_waiters;   /* of them, when the last sync round began */
	bool closing;
	bool no_reserve;            /* filesystem cannot fallocate */
	int failed;
	uint64_t last_sync_ns;
	struct wal_stats st;
	uint8_t *zeros;             /* WAL_ZERO_STEP zero bytes, made at first use */
};

/* ---- buffers and segments ---- */

static struct wal_buf *buf_get(struct wal *w, size_t min_cap)
{
	struct wal_buf *b = w->spare;
	if (b && b->cap >= min_cap) {
		w->spare = NULL;
	} else {
		b = xcalloc(1, sizeof(*b));
		b->cap = MAX(min_cap, w->o.buffer_size);
		b->data = xmalloc(b->cap);
	}
	b->next = NULL;
	b->len = 0;
	b->records = 0;
	b->closes_seg = false;
	b->seg = w->seg;
	b->file_off = w->seg ? w->seg->size : 0;
	b->lsn_end = w->appended_lsn;
	return b;
}

static void buf_put(struct wal *w, struct wal_buf *b)
{
	if (!w->spare && b->cap == w->o.buffer_size) {
		w->spare = b;
		return;
	}
	free(b->data);
	free(b);
}

static void queue_push(struct wal *w, struct wal_buf *b)
{
	if (w->queue_tail)
		w->queue_tail->next = b;
	else
		w->queue_head = b;
	w->queue_tail = b;
}

void wal_segment_header(uint8_t h[WAL_SEGMENT_HEADER], uint64_t segno)
{
	memset(h, 0, WAL_SEGMENT_HEADER);
	memcpy(h, WAL_MAGIC, WAL_MAGIC_SIZE);
	put_le32(h + WAL_HDR_VERSION_OFF, WAL_VERSION);
	put_le32(h + WAL_HDR_FLAGS_OFF, 0);
	put_le64(h + WAL_HDR_SEGNO_OFF, segno);
	put_le32(h + WAL_HDR_CRC_OFF, crc32c_mask(crc32c(h, WAL_HDR_CRC_OFF)));
}

/*
 * Creates segment file segno, writes its header and reserves space. The
 * file is fsynced together with its directory so that it survives a crash
 * even before the first record is synced.
 */
static int seg_create(struct wal *w, uint64_t segno, struct wal_seg **out)
{
	struct wal_seg *s = xcalloc(1, sizeof(*s));
	s->segno = segno;
	file_path(s->path, sizeof(s->path), w->dir, FILE_WAL, segno);
	int r;
	int fd = io_open(s->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		r = fd;
		goto out_free;
	}
	s->fd = fd;
	/* Space ahead, best effort: on a full disk the segment is still made
	 * (the store opens and reads), and appends ask for space as they go
	 * (reserve_locked), failing with GOLITE_ENOSPC until there is some. */
	if (!w->no_reserve) {
		r = io_reserve(fd, 0, w->o.reserve_step);
		if (r == -EOPNOTSUPP)
			w->no_reserve = true;
		else if (r == 0)
			s->reserved = w->o.reserve_step;
		else if (r != -ENOSPC)
			goto out_unlink;
	}
	uint8_t h[WAL_SEGMENT_HEADER];
	wal_segment_header(h, segno);
	r = io_pwrite(fd, h, sizeof(h), 0);
	if (r == 0)
		r = io_fdatasync(fd);
	if (r == 0)
		r = io_sync_dir(w->dir);
	if (r < 0)
		goto out_unlink;
	s->size = WAL_SEGMENT_HEADER;
	s->data_end = WAL_SEGMENT_HEADER;
	s->written = WAL_SEGMENT_HEADER;
	s->synced = WAL_SEGMENT_HEADER;
	*out = s;
	return 0;

out_unlink:
	io_close(fd);
	io_unlink(s->path);
out_free:
	free(s);
	return r;
}

/* seg_create, drawing on the store's reserve on a full disk: a segment is
 * made for deletes as much as for writes, at open and by a flush that
 * retires the log. */
static int seg_create_or_borrow(struct wal *w, uint64_t segno, struct wal_seg **out)
{
	int r = seg_create(w, segno, out);
	if (r == -ENOSPC && w->o.space_borrow && w->o.space_borrow(w->o.ctx, 1u << 20))
		r = seg_create(w, segno, out);
	return r;
}

/* Gives back the space reserved past a finished segment's end. */
static void seg_release(struct wal_seg *s, uint64_t end)
{
	if (s->fd >= 0 && s->reserved > end)
		io_release(s->fd, end, s->reserved - end);
}

/* Maps a failed system call while creating or growing a segment. */
static int space_error(int r, const char *what, const char *path)
{
	int e = errno_to_golite(-r);
	return set_error(e == GOLITE_ENOSPC ? GOLITE_ENOSPC : GOLITE_EIO, "%s %s: %s", what, path,
			 strerror(-r));
}

/* Switches appends to a new segment (mu held). The current buffer is
 * handed to the log thread as its segment's last. */
static int rotate_locked(struct wal *w)
{
	uint64_t segno = w->o.next_file_no(w->o.ctx);
	struct wal_seg *s;
	int r = seg_create_or_borrow(w, segno, &s);
	if (r < 0)
		return space_error(r, "cannot create log segment", w->dir);
	w->cur->closes_seg = true;
	queue_push(w, w->cur);
	w->seg = s;
	w->cur = buf_get(w, w->o.buffer_size);
	cond_signal(&w->writer_cv);
	return 0;
}

/*
 * Makes sure the current segment has n more bytes reserved (mu held). A
 * record that frees space, on a full disk, reserves only what it needs and
 * may draw on the store's reserve.
 */
static int reserve_locked(struct wal *w, uint64_t n, bool frees)
{
	struct wal_seg *s = w->seg;
	if (w->no_reserve || s->size + n <= s->reserved)
		return 0;
	uint64_t need = s->size + n - s->reserved;
	uint64_t step = w->o.reserve_step;
	uint64_t want = (need + step - 1) / step * step;
	if (w->o.space_admit) {
		int a = w->o.space_admit(w->o.ctx, want, frees);
		if (a)
			return a;
	}
	int r = io_reserve(s->fd, s->reserved, want);
	if (r == -ENOSPC && frees) {
		want = (need + WAL_RESERVE_SMALL - 1) / WAL_RESERVE_SMALL * WAL_RESERVE_SMALL;
		r = io_reserve(s->fd, s->reserved, want);
		if (r == -ENOSPC && w->o.space_borrow && w->o.space_borrow(w->o.ctx, want))
			r = io_reserve(s->fd, s->reserved, want);
	}
	if (r == -EOPNOTSUPP) {
		w->no_reserve = true;
		return 0;
	}
	if (r < 0)
		return space_error(r, "cannot reserve space in", s->path);
	s->reserved += want;
	return 0;
}

/* ---- the log thread ---- */

/*
 * Run by the log thread after its writes: reserves the current segment's
 * next step before appenders need it, so that they seldom call fallocate
 * under w->mu, where it would wait for the inode lock the log thread's
 * own writes hold (at 500 MB/s of large values that wait stalled every
 * writer about once per step). The space is admitted as an appender's
 * would be; if it is refused, or fallocate fails, appenders reserve for
 * themselves and get the error (invariant 5 holds either way: appenders
 * still check). The segment's descriptor is the log thread's to close.
 */
static void reserve_ahead(struct wal *w, struct wal_seg *s)
{
	/* Two steps ahead of the appenders, who may run a whole log buffer
	 * ahead of the log thread. */
	uint64_t step = 2 * (uint64_t)w->o.reserve_step;
	mutex_lock(&w->mu);
	bool go = !w->no_reserve && !w->failed && s == w->seg && s->fd >= 0 &&
		  s->reserved < s->size + step && s->reserved < w->o.segment_size;
	uint64_t from = s->reserved;
	mutex_unlock(&w->mu);
	if (!go)
		return;
	if (w->o.space_admit && w->o.space_admit(w->o.ctx, step, false))
		return;
	if (io_reserve(s->fd, from, step) < 0)
		return;
	mutex_lock(&w->mu);
	s->reserved = MAX(s->reserved, from + step);
	mutex_unlock(&w->mu);
}

static uint32_t synced_mark(struct wal *w);

/*
 * Appends a mark record to cur (mu held) after a sync of the current
 * segment. It is not data: the log positions writers wait on do not move,
 * so it asks for no sync of its own. Skipped if space cannot be reserved.
 */
static void append_mark_locked(struct wal *w)
{
	if (w->closing && w->seg->fd < 0)
		return;
	if (reserve_locked(w, WAL_RECORD_OVERHEAD, true) < 0)
		return;
	if (w->cur->cap - w->cur->len < WAL_RECORD_OVERHEAD) {
		queue_push(w, w->cur);
		w->cur = buf_get(w, w->o.buffer_size);
	}
	w->cur->len += wal_record_encode(w->cur->data + w->cur->len, WAL_REC_MARK, NULL, 0,
					 synced_mark(w));
	w->seg->size += WAL_RECORD_OVERHEAD;
	w->pending_bytes += WAL_RECORD_OVERHEAD;
	w->mark_pending = true;
}

static bool periodic_due(struct wal *w, uint64_t now)
{
	return w->o.mode == GOLITE_PERIODIC && w->durable_lsn < w->appended_lsn &&
	       now >= w->last_sync_ns + (uint64_t)w->o.sync_interval_ms * 1000000ull;
}

static void fail_locked(struct wal *w, int err, const char *msg)
{
	if (w->failed)
		return;
	w->failed = err;
	cond_broadcast(&w->done_cv);
	if (w->o.on_failure)
		w->o.on_failure(w->o.ctx, err, msg);
}

/*
 * Writes zeros ahead of segment s's records (see "Zeros ahead" at the top;
 * mu held on entry and on return, w->writing set). limit is the end of the
 * space reserved for s when the round began: the zeros never need space
 * of their own. Sync waiters are released first; w->writing keeps other
 * rounds out until the zeros are written, so no record is overwritten.
 * Not while the log closes: nothing more will be written.
 */
static void zero_ahead(struct wal *w, struct wal_seg *s, uint64_t limit)
{
	uint64_t from = MAX(s->zeroed, s->written);
	if (w->closing || s->fd < 0 || from >= s->written + WAL_ZERO_LOW)
		return;
	uint64_t to = MIN(from + WAL_ZERO_STEP, limit);
	if (to <= from)
		return;
	if (!w->zeros)
		w->zeros = xcalloc(1, WAL_ZERO_STEP);
	cond_broadcast(&w->done_cv);
	mutex_unlock(&w->mu);
	/* A failure costs only the speed-up: nothing was promised about the
	 * space past the records, and readers take zeros, or a short file,
	 * for the clean end. */
	int r = io_zero_ahead(s->fd, w->zeros, (size_t)(to - from), from);
	mutex_lock(&w->mu);
	s->zeroed = r == 0 ? to : limit;
}

/*
 * One round of writing (mu held on entry and on return, released during the
 * I/O): takes everything appended so far, writes it, and with sync
 * fdatasyncs the segment, then appends a mark vouching for the sync. Only
 * one round runs at a time (w->writing), so rounds reach the file in order.
 * Called by the log thread and by callers that wait for durability (the
 * first of them leads a round for all: group commit).
 */
static void write_round(struct wal *w, bool sync)
{
	if (sync)
		w->last_round_waiters = w->sync_waiters;
	w->writing = true;
	w->mark_pending = false;
	if (w->cur->len > 0) {
		queue_push(w, w->cur);
		w->cur = buf_get(w, w->o.buffer_size);
	}
	struct wal_buf *list = w->queue_head;
	w->queue_head = w->queue_tail = NULL;
	uint64_t target = w->appended_lsn;
	struct wal_seg *last_seg = w->seg;
	uint64_t zero_limit = w->no_reserve ? 0 : last_seg->reserved;
	mutex_unlock(&w->mu);

	int r = 0;
	const char *what = "write";
	const char *path = "";
	uint64_t bytes = 0, records = 0, writes = 0, syncs = 0, max_group = 0;
	for (struct wal_buf *b = list; b && r == 0; b = b->next) {
		path = b->seg->path;
		if (b->len) {
			r = io_pwrite(b->seg->fd, b->data, b->len, b->file_off);
			b->seg->written = b->file_off + b->len;
			bytes += b->len;
			records += b->records;
			max_group = MAX(max_group, b->records);
			writes++;
		}
		if (r == 0 && b->closes_seg) {
			what = "sync";
			r = io_fdatasync(b->seg->fd);
			syncs++;
			seg_release(b->seg, b->seg->written);
			io_close(b->seg->fd);
			b->seg->fd = -1;
		}
	}
	if (r == 0 && sync) {
		what = "sync";
		path = last_seg->path;
		r = io_fdatasync(last_seg->fd);
		syncs++;
	}
	if (r == 0)
		reserve_ahead(w, last_seg);
	/* Named now: the segment path points into may be freed below. */
	char msg[PATH_MAX + 64];
	if (r < 0)
		snprintf(msg, sizeof(msg), "log %s failed on %s: %s", what, path, strerror(-r));

	mutex_lock(&w->mu);
	if (r == 0 && sync)
		last_seg->synced = last_seg->written;
	while (list) {
		struct wal_buf *next = list->next;
		if (r == 0 && list->len && list->records) {
			w->st.group_hist[hist_bucket(list->records)]++;
			w->st.records_written += list->records;
		}
		w->pending_bytes -= list->len;
		if (list->closes_seg)
			free(list->seg);
		buf_put(w, list);
		list = next;
	}
	w->st.bytes += bytes;
	w->st.writes += writes;
	w->st.syncs += syncs;
	if (records > 1)
		w->st.group_commits++;
	w->st.max_group = MAX(w->st.max_group, max_group);
	if (sync)
		w->last_round_records = records;
	if (r < 0) {
		fail_locked(w, errno_to_golite(-r) == GOLITE_ENOSPC ? GOLITE_ENOSPC : GOLITE_EIO,
			    msg);
	} else {
		w->written_lsn = target;
		if (sync) {
			w->durable_lsn = target;
			w->last_sync_ns = now_ns();
			append_mark_locked(w);
		}
	}
	if (r == 0 && sync)
		zero_ahead(w, last_seg, zero_limit);
	w->writing = false;
	cond_broadcast(&w->done_cv);
}

static void *wal_thread(void *arg)
{
	struct wal *w = arg;
	rcu_thread_ensure();
	pthread_setname_np(pthread_self(), "golite-wal");
	mutex_lock(&w->mu);
	for (;;) {
		uint64_t now = now_ns();
		bool want_sync = !w->failed &&
				 (w->sync_req_lsn > w->durable_lsn || periodic_due(w, now) ||
				  (w->closing && w->durable_lsn < w->appended_lsn));
		bool want_write = !w->failed &&
				  (w->queue_head || want_sync ||
				   (w->cur->len > 0 &&
				    (w->cur->len >= w->o.buffer_size / 2 || w->closing ||
				     w->mark_pending)));
		if (want_write && w->writing) {
			/* A caller leads a round: wait for it, then look again. */
			cond_wait(&w->done_cv, &w->mu);
			continue;
		}
		if (!want_write) {
			if (w->closing && !w->writing)
				break;
			if (w->o.mode == GOLITE_PERIODIC && w->durable_lsn < w->appended_lsn &&
			    !w->failed) {
				w->timer_armed = true;
				cond_wait_until(&w->writer_cv, &w->mu,
						w->last_sync_ns +
							(uint64_t)w->o.sync_interval_ms * 1000000ull);
			} else {
				w->timer_armed = false;
				cond_wait(&w->writer_cv, &w->mu);
			}
			continue;
		}
		write_round(w, want_sync);
	}
	mutex_unlock(&w->mu);
	return NULL;
}

/* ---- public interface ---- */

/* The synced mark for records appended now (mu held, or no other thread). */
static uint32_t synced_mark(struct wal *w)
{
	return (uint32_t)MIN(w->seg->synced, (uint64_t)UINT32_MAX);
}


int wal_open(const struct wal_options *o, uint64_t segno, struct wal **out)
{
	struct wal *w = xcalloc(1, sizeof(*w));
	w->o = *o;
	w->dir = xstrdup(o->dir);
	w->o.dir = w->dir;
	if (w->o.buffer_size < (1u << 16))
		w->o.buffer_size = 1u << 16;
	if (w->o.segment_size < (1u << 20))
		w->o.segment_size = 1u << 20;
	if (w->o.sync_interval_ms == 0)
		w->o.sync_interval_ms = 1;
	if (w->o.reserve_step == 0 || w->o.reserve_step > WAL_RESERVE_STEP)
		w->o.reserve_step = WAL_RESERVE_STEP;
	if (w->o.reserve_step < WAL_RESERVE_SMALL)
		w->o.reserve_step = WAL_RESERVE_SMALL;
	mutex_init_adaptive(&w->mu);
	cond_init(&w->writer_cv);
	cond_init(&w->done_cv);
	int r = seg_create_or_borrow(w, segno, &w->seg);
	if (r < 0) {
		r = space_error(r, "cannot create log segment in", w->dir);
		goto out_free;
	}
	w->cur = buf_get(w, w->o.buffer_size);
	w->last_sync_ns = now_ns();
	if (pthread_create(&w->thread, NULL, wal_thread, w))
		FATAL("pthread_create");
	*out = w;
	return 0;

out_free:
	pthread_cond_destroy(&w->done_cv);
	pthread_cond_destroy(&w->writer_cv);
	pthread_mutex_destroy(&w->mu);
	free(w->dir);
	free(w);
	return r;
}

int wal_close(struct wal *w)
{
	mutex_lock(&w->mu);
	w->closing = true;
	cond_signal(&w->writer_cv);
	mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);

	int r = w->failed;
	/* After a failure buffers may remain: they are dropped (the log is
	 * not trustworthy past the failure point). */
	struct wal_buf *b = w->queue_head;
	while (b) {
		struct wal_buf *next = b->next;
		if (b->closes_seg) {
			if (b->seg->fd >= 0)
				io_close(b->seg->fd);
			free(b->seg);
		}
		free(b->data);
		free(b);
		b = next;
	}
	if (w->cur) {
		free(w->cur->data);
		free(w->cur);
	}
	if (w->spare) {
		free(w->spare->data);
		free(w->spare);
	}
	if (w->seg) {
		if (w->seg->fd >= 0) {
			seg_release(w->seg, w->seg->size);
			io_close(w->seg->fd);
		}
		free(w->seg);
	}
	pthread_cond_destroy(&w->done_cv);
	pthread_cond_destroy(&w->writer_cv);
	pthread_mutex_destroy(&w->mu);
	free(w->zeros);
	free(w->dir);
	free(w);
	return r;
}

static int failed_error(struct wal *w)
{
	return set_error(GOLITE_EFAILED,
			 "the store refuses writes after a log write failed (%s); reopen it",
			 golite_strerror(w->failed));
}

/* Encodes one record (wal.h): the fragments of wal_logical_encode, and marks. */
size_t wal_record_encode(uint8_t *out, unsigned type, const uint8_t *p, size_t n,
			 uint32_t synced)
{
	put_le32(out + WAL_REC_LEN_OFF, (uint32_t)n);
	out[WAL_REC_TYPE_OFF] = (uint8_t)type;
	if (n)
		memcpy(out + WAL_RECORD_HEADER, p, n);
	put_le32(out + WAL_RECORD_HEADER + n, synced);
	put_le32(out, crc32c_mask(crc32c_extend(0, out + WAL_REC_LEN_OFF,
						WAL_RECORD_OVERHEAD - WAL_REC_LEN_OFF + n)));
	return WAL_RECORD_OVERHEAD + n;
}

size_t wal_logical_size(size_t len)
{
	size_t nfrag = len <= WAL_MAX_FRAGMENT ? 1 : (len + WAL_MAX_FRAGMENT - 1) / WAL_MAX_FRAGMENT;
	return len + nfrag * WAL_RECORD_OVERHEAD;
}

size_t wal_logical_encode(uint8_t *out, const uint8_t *p, size_t len, uint32_t synced)
{
	if (len <= WAL_MAX_FRAGMENT)
		return wal_record_encode(out, WAL_REC_FULL, p, len, synced);
	size_t at = 0;
	for (size_t off = 0, i = 0; off < len; off += WAL_MAX_FRAGMENT, i++) {
		size_t n = MIN((size_t)WAL_MAX_FRAGMENT, len - off);
		unsigned type = i == 0 ? WAL_REC_FIRST : off + n == len ? WAL_REC_LAST : WAL_REC_MIDDLE;
		at += wal_record_encode(out + at, type, p + off, n, synced);
	}
	return at;
}

int wal_append(struct wal *w, const uint8_t *payload, size_t len, bool frees,
	       wal_prepare_fn prepare, void *ctx, uint64_t *lsn)
{
	return wal_append_if(w, payload, len, frees, NULL, prepare, ctx, lsn);
}

int wal_append_if(struct wal *w, const uint8_t *payload, size_t len, bool frees,
		  int (*check)(void *ctx), wal_prepare_fn prepare, void *ctx, uint64_t *lsn)
{
	if (len < 8)
		return set_error(GOLITE_EINVAL, "log record shorter than its trailer");
	size_t body = len - 8;
	bool fragmented = len > WAL_MAX_FRAGMENT;
	size_t size = wal_logical_size(len);

	/* For the common single-fragment record, checksum all but the trailer
	 * before taking the lock. A fragmented record is copied first, so that
	 * its trailer can be filled in place under the lock. */
	uint32_t crc_prefix = 0;
	uint8_t *big = NULL;
	if (fragmented) {
		big = xmemdup(payload, len);
	} else {
		uint8_t h[WAL_RECORD_HEADER - WAL_REC_LEN_OFF];   /* len, type */
		put_le32(h, (uint32_t)len);
		h[WAL_REC_TYPE_OFF - WAL_REC_LEN_OFF] = WAL_REC_FULL;
		crc_prefix = crc32c_extend(crc32c_extend(0, h, sizeof(h)), payload, body);
	}

	mutex_lock(&w->mu);
	int r = 0;
	/* Back-pressure: at most WAL_PENDING_BUFFERS' worth waits for the disk. */
	while (!w->failed && !w->closing &&
	       w->pending_bytes > WAL_PENDING_BUFFERS * w->o.buffer_size)
		cond_wait(&w->done_cv, &w->mu);
	if (w->failed) {
		r = failed_error(w);
		goto out_unlock;
	}
	if (w->closing) {
		r = set_error(GOLITE_ECLOSED, "the store is closing");
		goto out_unlock;
	}
	if (check) {
		r = check(ctx);
		if (r)
			goto out_unlock;
	}
	if (w->seg->size + size > w->o.segment_size && w->seg->size > WAL_SEGMENT_HEADER) {
		r = rotate_locked(w);
		if (r < 0)
			goto out_unlock;
	}
	r = reserve_locked(w, size, frees);
	if (r < 0)
		goto out_unlock;
	if (w->cur->cap - w->cur->len < size) {
		if (w->cur->len > 0) {
			queue_push(w, w->cur);
			cond_signal(&w->writer_cv);
		} else {
			free(w->cur->data);
			free(w->cur);
		}
		w->cur = buf_get(w, size);
	}

	struct wal_buf *b = w->cur;
	size_t before = b->len;
	uint32_t synced = synced_mark(w);
	if (!fragmented) {
		uint8_t *h = b->data + b->len;
		put_le32(h + WAL_REC_LEN_OFF, (uint32_t)len);
		h[WAL_REC_TYPE_OFF] = WAL_REC_FULL;
		memcpy(h + WAL_RECORD_HEADER, payload, body);
		prepare(ctx, h + WAL_RECORD_HEADER + body);
		put_le32(h + WAL_RECORD_HEADER + len, synced);
		uint32_t crc = crc32c_extend(crc_prefix, h + WAL_RECORD_HEADER + body,
					     8 + WAL_SYNCED_SIZE);
		put_le32(h, crc32c_mask(crc));
		b->len += size;
	} else {
		prepare(ctx, big + body);
		b->len += wal_logical_encode(b->data + b->len, big, len, synced);
	}
	b->records++;
	w->seg->size += size;
	w->seg->data_end = w->seg->size;
	w->appended_lsn += size;
	w->pending_bytes += size;
	w->st.records++;
	b->lsn_end = w->appended_lsn;
	*lsn = w->appended_lsn;
	if ((before < w->o.buffer_size / 2 && b->len >= w->o.buffer_size / 2) ||
	    (w->o.mode == GOLITE_PERIODIC && !w->timer_armed)) {
		w->timer_armed = true;
		cond_signal(&w->writer_cv);
	}
out_unlock:
	mutex_unlock(&w->mu);
	free(big);
	return r;
}

/* Makes the log durable up to lsn; with vouch, also writes the mark of the
 * last round at once (see MARK in wal_format.h). */
static int sync_upto(struct wal *w, uint64_t lsn, bool vouch)
{
	mutex_lock(&w->mu);
	if (w->sync_req_lsn < lsn)
		w->sync_req_lsn = lsn;
	w->sync_waiters++;
	while (w->durable_lsn < lsn && !w->failed) {
		if (w->writing) {
			cond_wait(&w->done_cv, &w->mu);
			continue;
		}
		/* When the last round was asked for by several callers, they are
		 * about to append again: give them a moment to join this round
		 * (an fdatasync costs far more than the wait). A lone caller
		 * whose rounds carry several records (a file's data and its
		 * record, through the mount) waits for nobody. */
		if (w->last_round_records > 1 && w->last_round_waiters > 1) {
			/* Yield rather than spin or sleep: on few cores the others
			 * need the CPU to append, and a sleep overshoots by the
			 * timer slack. */
			uint64_t seen = w->appended_lsn, until = now_ns() + GATHER_NS;
			uint64_t joined = 0;
			mutex_unlock(&w->mu);
			while (now_ns() < until && joined + 1 < w->last_round_records) {
				sched_yield();
				uint64_t a = __atomic_load_n(&w->appended_lsn, __ATOMIC_RELAXED);
				if (a != seen) {
					seen = a;
					joined++;
				}
			}
			mutex_lock(&w->mu);
			if (w->durable_lsn >= lsn || w->writing)
				continue;
		}
		/* Lead a round for everyone appended so far. */
		write_round(w, true);
		/* Write the mark now if asked, unless a waiter's round will carry
		 * it (a sync-mode commit leaves it to the next round: writing it
		 * at once costs a sync round's worth of time under load). */
		if (vouch && w->mark_pending && !w->writing &&
		    w->sync_req_lsn <= w->durable_lsn && !w->failed)
			write_round(w, false);
	}
	w->sync_waiters--;
	int r = w->durable_lsn >= lsn ? 0 : failed_error(w);
	mutex_unlock(&w->mu);
	return r;
}

int wal_sync_to(struct wal *w, uint64_t lsn)
{
	return sync_upto(w, lsn, false);
}

int wal_sync(struct wal *w)
{
	mutex_lock(&w->mu);
	uint64_t lsn = w->appended_lsn;
	mutex_unlock(&w->mu);
	return sync_upto(w, lsn, true);
}

int wal_rotate(struct wal *w, void (*fn)(void *ctx, uint64_t segno), void *ctx)
{
	mutex_lock(&w->mu);
	int r;
	if (w->failed) {
		r = failed_error(w);
	} else if (w->closing) {
		r = set_error(GOLITE_ECLOSED, "the store is closing");
	} else {
		r = rotate_locked(w);
		if (r == 0)
			fn(ctx, w->seg->segno);
	}
	mutex_unlock(&w->mu);
	return r;
}

int wal_position(struct wal *w, void (*fn)(void *ctx), void *ctx, struct wal_position *pos)
{
	mutex_lock(&w->mu);
	int r = 0;
	if (w->failed) {
		r = failed_error(w);
	} else if (w->closing) {
		r = set_error(GOLITE_ECLOSED, "the store is closing");
	} else {
		if (fn)
			fn(ctx);
		pos->segno = w->seg->segno;
		pos->end = w->seg->data_end;
		pos->lsn = w->appended_lsn;
	}
	mutex_unlock(&w->mu);
	return r;
}

int wal_failed(struct wal *w)
{
	mutex_lock(&w->mu);
	int r = w->failed;
	mutex_unlock(&w->mu);
	return r;
}

void wal_get_stats(struct wal *w, struct wal_stats *s)
{
	mutex_lock(&w->mu);
	*s = w->st;
	s->appended_lsn = w->appended_lsn;
	s->durable_lsn = w->durable_lsn;
	s->segno = w->seg->segno;
	mutex_unlock(&w->mu);
}
