/*
 * feed.c — the store's change feed: events that front ends publish (the
 * mount for changes made through it, a network front end for keys it
 * writes), kept as lines of text in a ring that readers follow. The API
 * is golite_feed_* (golite_raw.h); what the lines say is the publishers'
 * (the mount's events are drawn in fs/README-fs.md).
 *
 *   SEQ TIME OP FIELD...
 *
 *   SEQ    the event's number, counting from 1 at open; consecutive for
 *          one reader unless it fell behind (see "missed")
 *   TIME   wall-clock time of the event, seconds.microseconds
 *   OP     the publisher's word: 1..32 bytes from '!' to '~'
 *   FIELD  zero or more, each the escaped form of the publisher's bytes
 *          (common/keyesc.h with KEYESC_SPACE: printable bytes and whole
 *          UTF-8 characters as they are, "\\", "\t", "\n", "\r", any
 *          other byte, space included, "\xHH"), never empty
 *
 * Fields are separated by one space and a line ends with '\n', so a line
 * splits at spaces into its fields and each field unescapes to the bytes
 * published. A reader that fell more than the ring's size behind gets one
 * line
 *
 *   SEQ TIME missed COUNT
 *
 * where SEQ is the first event it missed and COUNT how many, then goes on
 * with the oldest event still kept ("missed" is no publisher's OP).
 *
 * The ring. Events live in f->slot[seq % size], each an immutable struct
 * feed_event. A publisher formats its line, then under f->mu (taken by
 * publishers only, for a few stores) numbers it, puts it in its slot, and
 * publishes f->last; the event it replaced is freed after an RCU grace
 * period. Readers take no lock that publishers take: inside an RCU
 * read-side section they load a slot and copy its line. So a publisher
 * never waits for a reader, and a slow reader loses the oldest events
 * instead.
 *
 * Events are made only while a reader is open (f->readers): a reader sees
 * the events published after it was made, and nobody pays for a feed
 * that no one reads (golite_feed_wanted lets a publisher skip even
 * gathering its fields).
 *
 * Watches. A reader that wants to sleep until there is something new
 * registers a watch (golite_feed_watch): after each event is in the ring
 * and f->mu released, the publisher calls every watch's function under
 * f->watch_lock taken for reading (publishers do not exclude each other
 * there). Adding or removing a watch takes it for writing, so once
 * golite_feed_unwatch returns its function is running nowhere. A feed
 * with no watch costs a publisher one more relaxed load (f->nwatches),
 * and only when it made an event.
 *
 * Invariants:
 *   1. f->slot[s % size] holds event s or a later one once f->last >= s
 *      (the slot is stored before f->last, both under f->mu).
 *   2. An event's memory is freed only by call_rcu after it left its
 *      slot, or by feed_destroy when no reader is left.
 *   3. The lines a reader returns are consecutive lines of the feed (with
 *      a missed line for a gap), cut only at the end of a read: the rest
 *      of a cut line (r->pend) comes first in the next read.
 */
#include "feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "golite_raw.h"
#include "keyesc.h"
#include "rcu.h"
#include "util.h"

#define SEQ_DIGITS 20
#define OP_MAX 32
/* Room for "SECONDS.MICROS " before the op. */
#define TIME_MAX 32

struct feed_event {
	struct rcu_head rcu;
	uint64_t seq;
	uint32_t off, len;     /* the line is text[off .. off + len) */
	char text[];           /* SEQ_DIGITS for the number, ' ', the rest */
};

void feed_init(struct feed *f, size_t size)
{
	mutex_init(&f->mu);
	f->size = size ? size : FEED_EVENTS_DEFAULT;
	f->slot = xcalloc(f->size, sizeof(*f->slot));
	f->seq = 0;
	atomic_store(&f->last, 0);
	atomic_store(&f->bytes, 0);
	atomic_store(&f->mtime_ns, wall_ns());
	atomic_store(&f->readers, 0);
	rwlock_init(&f->watch_lock);
	f->watches = NULL;
	atomic_store(&f->nwatches, 0);
}

void feed_destroy(struct feed *f)
{
	if (!f->slot)
		return;
	for (size_t i = 0; i < f->size; i++)
		free(f->slot[i]);
	free(f->slot);
	f->slot = NULL;
	pthread_mutex_destroy(&f->mu);
	pthread_rwlock_destroy(&f->watch_lock);
}

/* Writes "SECONDS.MICROS" of wall time t to out; returns its length. */
static size_t format_time(char *out, size_t cap, int64_t t)
{
	int n = snprintf(out, cap, "%lld.%06lld", (long long)(t / 1000000000),
			 (long long)(t % 1000000000 / 1000));
	return (size_t)n;
}

static void event_free_cb(struct rcu_head *h)
{
	free(caa_container_of(h, struct feed_event, rcu));
}

bool golite_feed_wanted(golite *db)
{
	return db && atomic_load_explicit(&db->feed.readers, memory_order_relaxed) != 0;
}

static int check_event(const char *op, const golite_feed_field *fields, size_t nfields)
{
	if (!op)
		return set_error(GOLITE_EINVAL, "op is NULL");
	size_t oplen = strlen(op);
	if (oplen == 0 || oplen > OP_MAX || strcmp(op, "missed") == 0)
		return set_error(GOLITE_EINVAL, "op \"%.40s\" is not 1..%u bytes or is \"missed\"",
				 op, OP_MAX);
	for (size_t i = 0; i < oplen; i++)
		if (op[i] < '!' || op[i] > '~')
			return set_error(GOLITE_EINVAL, "op holds a byte outside '!'..'~'");
	if (nfields && !fields)
		return set_error(GOLITE_EINVAL, "fields is NULL");
	for (size_t i = 0; i < nfields; i++)
		if (!fields[i].len || !fields[i].data)
			return set_error(GOLITE_EINVAL, "field %zu is empty", i);
	return 0;
}

/* Makes the event of the line "TIME OP FIELD..." (unnumbered yet). */
static struct feed_event *event_make(int64_t t, const char *op, const golite_feed_field *fields,
				     size_t nfields)
{
	size_t cap = SEQ_DIGITS + 1 + TIME_MAX + 1 + strlen(op) + 1;
	for (size_t i = 0; i < nfields; i++)
		cap += 1 + key_escaped_max(fields[i].len);
	struct feed_event *e = xmalloc(sizeof(*e) + cap);
	char *p = e->text + SEQ_DIGITS;
	*p++ = ' ';
	p += format_time(p, TIME_MAX, t);
	*p++ = ' ';
	p = stpcpy(p, op);
	for (size_t i = 0; i < nfields; i++) {
		*p++ = ' ';
		p += key_escape(p, fields[i].data, fields[i].len, KEYESC_SPACE);
	}
	*p++ = '\n';
	size_t used = (size_t)(p - e->text);
	if (cap - used > 256)
		e = xrealloc(e, sizeof(*e) + used);   /* escaping took less room */
	e->len = (uint32_t)(used - SEQ_DIGITS);   /* off and len fixed by numbering */
	return e;
}

/* Writes seq's digits before the line's ' ' and sets e's span. */
static void event_number(struct feed_event *e, uint64_t seq)
{
	unsigned nd = 0;
	uint64_t v = seq;
	do {
		e->text[SEQ_DIGITS - ++nd] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	e->seq = seq;
	e->off = SEQ_DIGITS - nd;
	e->len += nd;
}

/* ---- watches ---- */

struct golite_feed_watch {
	struct feed *f;
	void (*fn)(void *ctx);
	void *ctx;
	struct golite_feed_watch *next;   /* protected by f->watch_lock */
};

/* Calls every watch's function (after an event is in the ring). */
static void call_watches(struct feed *f)
{
	rwlock_rdlock(&f->watch_lock);
	for (struct golite_feed_watch *w = f->watches; w; w = w->next)
		w->fn(w->ctx);
	rwlock_unlock(&f->watch_lock);
}

int golite_feed_watch_new(golite *db, void (*fn)(void *ctx), void *ctx,
			  golite_feed_watch **out)
{
	if (!out)
		return set_error(GOLITE_EINVAL, "out is NULL");
	*out = NULL;
	int r = db_check_handle(db);
	if (r)
		return r;
	if (!fn)
		return set_error(GOLITE_EINVAL, "fn is NULL");
	struct golite_feed_watch *w = xcalloc(1, sizeof(*w));
	w->f = &db->feed;
	w->fn = fn;
	w->ctx = ctx;
	rwlock_wrlock(&w->f->watch_lock);
	w->next = w->f->watches;
	w->f->watches = w;
	atomic_fetch_add(&w->f->nwatches, 1);
	rwlock_unlock(&w->f->watch_lock);
	*out = w;
	return 0;
}

void golite_feed_watch_free(golite_feed_watch *w)
{
	if (!w)
		return;
	struct feed *f = w->f;
	rwlock_wrlock(&f->watch_lock);
	struct golite_feed_watch **p = &f->watches;
	while (*p != w)
		p = &(*p)->next;
	*p = w->next;
	atomic_fetch_sub(&f->nwatches, 1);
	rwlock_unlock(&f->watch_lock);
	free(w);
}

int golite_feed_publish(golite *db, const char *op, const golite_feed_field *fields,
			size_t nfields)
{
	if (!db)
		return set_error(GOLITE_EINVAL, "store handle is NULL");
	int r = check_event(op, fields, nfields);
	if (r || !golite_feed_wanted(db))
		return r;
	rcu_thread_ensure();
	struct feed *f = &db->feed;
	int64_t t = wall_ns();
	struct feed_event *e = event_make(t, op, fields, nfields);
	mutex_lock(&f->mu);
	event_number(e, ++f->seq);
	struct feed_event **slot = &f->slot[e->seq % f->size];
	struct feed_event *old = *slot;
	rcu_publish(*slot, e);
	atomic_fetch_add_explicit(&f->bytes, e->len, memory_order_relaxed);
	atomic_store_explicit(&f->mtime_ns, t, memory_order_relaxed);
	atomic_store_explicit(&f->last, e->seq, memory_order_release);   /* invariant 1 */
	mutex_unlock(&f->mu);
	if (old)
		call_rcu(&old->rcu, event_free_cb);   /* invariant 2 */
	if (atomic_load_explicit(&f->nwatches, memory_order_relaxed))
		call_watches(f);
	return 0;
}

void golite_feed_stats_get(golite *db, golite_feed_stats *st)
{
	const struct feed *f = &db->feed;
	st->capacity = f->size;
	st->events = atomic_load_explicit(&f->last, memory_order_acquire);
	st->bytes = atomic_load_explicit(&f->bytes, memory_order_relaxed);
	st->last_ns = atomic_load_explicit(&f->mtime_ns, memory_order_relaxed);
	st->readers = atomic_load_explicit(&f->readers, memory_order_relaxed);
}

/* ---- readers ---- */

struct golite_feed_reader {
	struct golite *db;
	pthread_mutex_t mu;          /* one read at a time */
	uint64_t next;               /* protected by mu: the next event to deliver */
	uint64_t missed, missed_from;  /* protected by mu: a gap not yet told */
	_Atomic uint64_t missed_total;
	char *pend;                  /* protected by mu: the rest of a cut line */
	size_t pend_len, pend_off;
};

int golite_feed_reader_new(golite *db, uint64_t from, golite_feed_reader **out)
{
	if (!out)
		return set_error(GOLITE_EINVAL, "out is NULL");
	*out = NULL;
	int r = db_check_handle(db);
	if (r)
		return r;
	struct golite_feed_reader *rd = xcalloc(1, sizeof(*rd));
	rd->db = db;
	mutex_init(&rd->mu);
	/* Counted before the position is read: every event after it is made. */
	atomic_fetch_add(&db->feed.readers, 1);
	uint64_t last = atomic_load_explicit(&db->feed.last, memory_order_acquire);
	rd->next = from && from <= last ? from : last + 1;
	*out = rd;
	return 0;
}

void golite_feed_reader_free(golite_feed_reader *rd)
{
	if (!rd)
		return;
	atomic_fetch_sub(&rd->db->feed.readers, 1);
	pthread_mutex_destroy(&rd->mu);
	free(rd->pend);
	free(rd);
}

uint64_t golite_feed_reader_next(golite_feed_reader *rd)
{
	mutex_lock(&rd->mu);
	uint64_t next = rd->next;
	mutex_unlock(&rd->mu);
	return next;
}

uint64_t golite_feed_reader_missed(const golite_feed_reader *rd)
{
	return atomic_load_explicit(&rd->missed_total, memory_order_relaxed);
}

/* Copies line into out[*used .. cap); what does not fit goes to pend. */
static void put_line(struct golite_feed_reader *rd, char *out, size_t cap, size_t *used,
		     const char *line, size_t len)
{
	size_t n = MIN(len, cap - *used);
	memcpy(out + *used, line, n);
	*used += n;
	if (n < len) {
		rd->pend = xmemdup(line + n, len - n);
		rd->pend_len = len - n;
		rd->pend_off = 0;
	}
}

static void put_missed(struct golite_feed_reader *rd, char *out, size_t cap, size_t *used)
{
	char line[SEQ_DIGITS + TIME_MAX + 40];
	int n = snprintf(line, sizeof(line), "%llu ", (unsigned long long)rd->missed_from);
	n += (int)format_time(line + n, TIME_MAX, wall_ns());
	n += snprintf(line + n, sizeof(line) - (size_t)n, " missed %llu\n",
		      (unsigned long long)rd->missed);
	rd->missed = 0;
	put_line(rd, out, cap, used, line, (size_t)n);
}

/* Copies what is left of a cut line to out (rd->mu held). */
static size_t put_pending(struct golite_feed_reader *rd, char *out, size_t cap)
{
	size_t n = MIN(cap, rd->pend_len - rd->pend_off);
	memcpy(out, rd->pend + rd->pend_off, n);
	rd->pend_off += n;
	if (rd->pend_off == rd->pend_len) {
		free(rd->pend);
		rd->pend = NULL;
	}
	return n;
}

/* Notes that rd->next was overwritten (invariant 1) and moves it to the
 * oldest event kept. */
static void skip_lost(struct golite_feed_reader *rd, const struct feed *f)
{
	uint64_t last = atomic_load_explicit(&f->last, memory_order_acquire);
	uint64_t oldest = last - f->size + 1;
	if (oldest <= rd->next)
		oldest = rd->next + 1;   /* cannot happen (invariant 1) */
	if (!rd->missed)
		rd->missed_from = rd->next;
	rd->missed += oldest - rd->next;
	atomic_fetch_add_explicit(&rd->missed_total, oldest - rd->next, memory_order_relaxed);
	rd->next = oldest;
}

int golite_feed_read(golite_feed_reader *rd, void *buf, size_t cap, size_t *len)
{
	if (!rd || !len || (!buf && cap))
		return set_error(GOLITE_EINVAL, "reader, buf or len is NULL");
	*len = 0;
	const struct feed *f = &rd->db->feed;
	char *out = buf;
	size_t used = 0;
	rcu_thread_ensure();
	mutex_lock(&rd->mu);
	if (rd->pend)
		used = put_pending(rd, out, cap);
	while (used < cap && !rd->pend) {
		if (rd->next > atomic_load_explicit(&f->last, memory_order_acquire))
			break;
		rcu_read_lock();
		const struct feed_event *e = rcu_fetch(f->slot[rd->next % f->size]);
		if (e->seq > rd->next) {
			rcu_read_unlock();
			skip_lost(rd, f);
			continue;
		}
		if (rd->missed) {
			put_missed(rd, out, cap, &used);
			if (rd->pend) {
				/* The event waits for the next read. */
				rcu_read_unlock();
				break;
			}
		}
		put_line(rd, out, cap, &used, e->text + e->off, e->len);
		rcu_read_unlock();
		rd->next++;
	}
	if (rd->missed && used < cap && !rd->pend)
		put_missed(rd, out, cap, &used);
	mutex_unlock(&rd->mu);
	*len = used;
	return 0;
}
