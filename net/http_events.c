/*
 * http_events.c — GET /v1/events: the store's change feed (golite_feed_*
 * in golite_raw.h) as Server-Sent Events, and the server's part in it.
 *
 * The feed is the engine's, one for every front end: the mount publishes
 * the changes made through it, this server those made over HTTP (key PUT
 * and DELETE, batches, table create and drop; see the callers of
 * http_publish), the RESP server those made through it. A stream (one per
 * GET /v1/events) is a golite_feed_reader; each line it reads,
 *
 *     SEQ TIME OP FIELD...
 *
 * is split at its spaces, its fields unescaped (common/feedline.h), kept if
 * it passes the stream's filters (?table= on the event's tables, ?prefix=
 * on its keys or paths), and written as
 *
 *     id: 42
 *     event: put
 *     data: {"seq":42,"time":1764918661.204519,"op":"put","table":"t","key":"k"}
 *
 * The fields by OP (golite_raw.h lists them): "put" and "delete" give
 * table and key, "move" also to_table and to_key, "create-table" and
 * "drop-table" the table alone; the mount's events give table and path,
 * rename and exchange also to_table and to_path, setxattr and removexattr
 * attr. A reader that fell more than the feed's ring behind gets
 * "event: missed" with {"first": N, "count": M} and goes on with the
 * oldest event kept. A client that reconnects with Last-Event-ID: N (or
 * ?last_event_id=N) resumes with event N + 1.
 *
 * Waiting. A stream with nothing to send suspends its connection
 * (MHD_suspend_connection, so no thread waits and nothing polls). The
 * server's feed watch, called by every publisher, resumes the suspended
 * streams, and a ticker thread resumes them every keepalive interval to
 * send a comment line (which also finds out clients that went away).
 *
 * Invariants:
 *   1. f->mu protects the list of streams and each stream's suspended
 *      flag; a stream suspends only with f->mu held, f->stop false and
 *      f->gen unchanged since before its last read of the feed, having
 *      counted itself in f->nsuspended first. A publish bumps f->gen and
 *      then, if f->nsuspended is not 0, resumes the streams under f->mu.
 *      Both in sequentially consistent order, so either the stream sees
 *      the new gen or the publisher sees it suspended: no wake-up is lost.
 *   2. A stream's pending text (in) never holds a whole line: complete
 *      lines are turned into events as soon as they are read.
 */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golite_raw.h"
#include "feedline.h"
#include "util.h"

#define STREAM_CHUNK 16384       /* text a stream prepares at a time */

struct stream;

struct http_feed {
	golite *db;
	golite_feed_watch *watch;
	pthread_mutex_t mu;
	struct stream *streams;      /* protected by mu */
	bool stop;                   /* protected by mu */
	_Atomic uint64_t gen;        /* publishes seen by the watch (invariant 1) */
	_Atomic unsigned nsuspended; /* streams suspended (invariant 1) */
	pthread_cond_t cv;
	pthread_t ticker;
	uint64_t keepalive_ns;
};

struct stream {
	struct http_feed *f;
	struct MHD_Connection *c;
	golite_feed_reader *r;
	struct stream *prev, *next;  /* protected by f->mu */
	bool suspended;              /* protected by f->mu */
	bool ping;                   /* protected by f->mu: a keepalive is due */
	char *table;                 /* filter, or NULL */
	uint8_t *prefix;             /* filter, or NULL */
	size_t plen;
	struct sbuf in;              /* the start of a line not read whole */
	struct sbuf out;             /* text not yet sent */
	size_t off;
};

/* Resumes every suspended stream (f->mu held). */
static void wake_all(struct http_feed *f)
{
	for (struct stream *st = f->streams; st; st = st->next) {
		if (st->suspended) {
			st->suspended = false;
			atomic_fetch_sub(&f->nsuspended, 1);
			MHD_resume_connection(st->c);
		}
	}
}

/* The feed watch: called by every publisher (invariant 1). */
static void published(void *ctx)
{
	struct http_feed *f = ctx;
	atomic_fetch_add(&f->gen, 1);
	if (atomic_load(&f->nsuspended) == 0)
		return;
	mutex_lock(&f->mu);
	wake_all(f);
	mutex_unlock(&f->mu);
}

static void *ticker_main(void *arg)
{
	struct http_feed *f = arg;
	mutex_lock(&f->mu);
	while (!f->stop) {
		cond_wait_until(&f->cv, &f->mu, now_ns() + f->keepalive_ns);
		for (struct stream *st = f->streams; st; st = st->next)
			st->ping = true;
		wake_all(f);
	}
	mutex_unlock(&f->mu);
	return NULL;
}

struct http_feed *feed_new(golite *db, unsigned keepalive_s)
{
	struct http_feed *f = xcalloc(1, sizeof(*f));
	f->db = db;
	mutex_init(&f->mu);
	cond_init(&f->cv);
	f->keepalive_ns = (uint64_t)(keepalive_s ? keepalive_s : 15) * 1000000000ull;
	if (golite_feed_watch_new(db, published, f, &f->watch))
		FATAL("golite_feed_watch_new: %s", golite_last_error());
	if (pthread_create(&f->ticker, NULL, ticker_main, f))
		FATAL("pthread_create");
	return f;
}

void feed_shutdown(struct http_feed *f)
{
	golite_feed_watch_free(f->watch);
	f->watch = NULL;
	mutex_lock(&f->mu);
	bool joined = f->stop;
	f->stop = true;
	wake_all(f);
	cond_broadcast(&f->cv);
	mutex_unlock(&f->mu);
	if (!joined)
		pthread_join(f->ticker, NULL);
}

void feed_free(struct http_feed *f)
{
	/* A server that failed to start frees its feed without a shutdown:
	 * its ticker must be gone before the feed is. */
	feed_shutdown(f);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

void http_publish(struct http_server *s, const char *op, const char *table, const void *key,
		  size_t klen, const char *to_table, const void *to_key, size_t to_klen)
{
	if (!golite_feed_wanted(s->db))
		return;
	golite_feed_field fl[FEEDLINE_FIELDS_MAX] = { { table, strlen(table) } };
	size_t n = 1;
	if (key && klen)
		fl[n++] = (golite_feed_field){ key, klen };
	if (to_table && to_key && to_klen) {
		fl[n++] = (golite_feed_field){ to_table, strlen(to_table) };
		fl[n++] = (golite_feed_field){ to_key, to_klen };
	}
	golite_feed_publish(s->db, op, fl, n);   /* cannot fail: the fields are ours */
}

/* ---- one line of the feed as an event ---- */

/* True for the network front ends' ops, whose second field is a key. */
static bool keyed(const struct feedline *e)
{
	return feedline_op_is(e, "put") || feedline_op_is(e, "delete") ||
	       feedline_op_is(e, "move") || feedline_op_is(e, "create-table") ||
	       feedline_op_is(e, "drop-table");
}

static bool field_is(const struct feedline *e, size_t i, const char *s)
{
	return i < e->nfields && e->flen[i] == strlen(s) && !memcmp(e->field[i], s, e->flen[i]);
}

static bool field_has_prefix(const struct feedline *e, size_t i, const uint8_t *p, size_t n)
{
	return i < e->nfields && e->flen[i] >= n && !memcmp(e->field[i], p, n);
}

/* True if the event passes the stream's filters: its table (or the
 * destination's) is ?table=, its key or path (or the destination's)
 * starts with ?prefix=. */
static bool wanted(const struct stream *st, const struct feedline *e)
{
	bool two = e->nfields == 4;
	if (st->table && !field_is(e, 0, st->table) && !(two && field_is(e, 2, st->table)))
		return false;
	if (st->prefix && !field_has_prefix(e, 1, st->prefix, st->plen) &&
	    !(two && field_has_prefix(e, 3, st->prefix, st->plen)))
		return false;
	return true;
}

static void format_event(struct sbuf *b, const struct feedline *e)
{
	static const char *const key_names[FEEDLINE_FIELDS_MAX] = { "table", "key", "to_table",
								    "to_key" };
	static const char *const path_names[FEEDLINE_FIELDS_MAX] = { "table", "path", "to_table",
								     "to_path" };
	const char *const *names = keyed(e) ? key_names : path_names;
	sb_printf(b, "id: %s\nevent: %s\ndata: {\"seq\":%s,\"time\":%s,\"op\":", e->seq, e->op,
		  e->seq, e->time);
	sb_json_str(b, e->op, strlen(e->op));
	for (size_t i = 0; i < e->nfields; i++) {
		sb_puts(b, ",");
		sb_json_bytes(b, e->nfields == 3 && i == 2 ? "attr" : names[i], e->field[i],
			      e->flen[i]);
	}
	sb_puts(b, "}\n\n");
}

/* Writes the event of one line, if the stream wants it. */
static void take_line(void *ctx, char *line)
{
	struct stream *st = ctx;
	struct feedline e;
	if (!feedline_split(line, &e))
		return;
	if (feedline_op_is(&e, "missed")) {
		unsigned long long first = strtoull(e.seq, NULL, 10);
		unsigned long long count = e.nfields ? strtoull(e.field[0], NULL, 10) : 0;
		sb_printf(&st->out, "id: %llu\nevent: missed\ndata: {\"first\":%llu,"
			  "\"count\":%llu}\n\n", first + count - 1, first, count);
		return;
	}
	if (wanted(st, &e))
		format_event(&st->out, &e);
}

/* Reads what the feed has for the stream into st->out, up to about
 * STREAM_CHUNK bytes (invariant 2). */
static void stream_fill(struct stream *st)
{
	char buf[STREAM_CHUNK];
	st->out.len = 0;
	st->off = 0;
	while (st->out.len < STREAM_CHUNK) {
		size_t n;
		if (golite_feed_read(st->r, buf, sizeof(buf), &n) || n == 0)
			break;
		sb_put(&st->in, buf, n);
		size_t used = feedline_each(st->in.p, st->in.len, take_line, st);
		st->in.len -= used;
		memmove(st->in.p, st->in.p + used, st->in.len);
	}
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	struct http_feed *f = st->f;
	(void)pos;
	while (st->off == st->out.len) {
		uint64_t gen = atomic_load(&f->gen);
		stream_fill(st);
		mutex_lock(&f->mu);
		if (f->stop) {
			mutex_unlock(&f->mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (st->out.len == 0 && st->ping)
			sb_puts(&st->out, ": keepalive\n\n");
		st->ping = false;
		if (st->out.len) {
			mutex_unlock(&f->mu);
			break;
		}
		/* Nothing to send: sleep until a publish or a tick
		 * (invariant 1). */
		atomic_fetch_add(&f->nsuspended, 1);
		if (atomic_load(&f->gen) != gen) {
			atomic_fetch_sub(&f->nsuspended, 1);
			mutex_unlock(&f->mu);
			continue;
		}
		st->suspended = true;
		MHD_suspend_connection(st->c);
		mutex_unlock(&f->mu);
		return 0;
	}
	size_t n = MIN(max, st->out.len - st->off);
	memcpy(buf, st->out.p + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;
	struct http_feed *f = st->f;
	mutex_lock(&f->mu);
	if (st->prev)
		st->prev->next = st->next;
	else
		f->streams = st->next;
	if (st->next)
		st->next->prev = st->prev;
	if (st->suspended)
		atomic_fetch_sub(&f->nsuspended, 1);
	mutex_unlock(&f->mu);
	golite_feed_reader_free(st->r);
	free(st->table);
	free(st->prefix);
	free(st->in.p);
	free(st->out.p);
	free(st);
}

enum MHD_Result http_events(struct http_server *s, struct MHD_Connection *c)
{
	struct http_feed *f = s->feed;
	bool bad = false;
	size_t tlen = 0, plen = 0;
	char *table = http_arg(c, "table", &tlen, &bad);
	char *prefix = http_arg(c, "prefix", &plen, &bad);
	char *last = http_arg(c, "last_event_id", NULL, &bad);
	const char *hdr = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
	const char *from = last ? last : hdr;
	uint64_t after = 0;
	bool resume = false;
	if (!bad && from) {
		char *end;
		after = strtoull(from, &end, 10);
		bad = !*from || *end || from[0] == '-' || after == UINT64_MAX;
		resume = true;
	}
	if (bad || (table && (tlen == 0 || strlen(table) != tlen))) {
		free(table);
		free(prefix);
		free(last);
		return http_error(s, c, 400, "bad_argument",
				  "table, prefix or Last-Event-ID is malformed");
	}
	free(last);
	golite_feed_reader *r;
	int e = golite_feed_reader_new(s->db, resume ? after + 1 : 0, &r);
	if (e) {
		free(table);
		free(prefix);
		return http_store_error(s, c, e, "events");
	}
	struct stream *st = xcalloc(1, sizeof(*st));
	st->f = f;
	st->c = c;
	st->r = r;
	st->table = table;
	st->prefix = (uint8_t *)prefix;
	st->plen = plen;
	/* A first line at once: the client knows the stream is open. */
	sb_puts(&st->out, "retry: 1000\n\n");
	mutex_lock(&f->mu);
	st->next = f->streams;
	if (f->streams)
		f->streams->prev = st;
	f->streams = st;
	mutex_unlock(&f->mu);
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, STREAM_CHUNK, stream_read, st, stream_free);
	if (!resp) {
		stream_free(st);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	return http_queue(s, c, MHD_HTTP_OK, resp);
}
