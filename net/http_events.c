/*
 * http_events.c — the change feed of the HTTP server and GET /v1/events,
 * which streams it as Server-Sent Events.
 *
 * The feed. Until the store has a change feed of its own (the mount's,
 * fs/events.c, is moving into the engine), the server keeps one of the
 * writes made through it: feed_publish() is called after each write's
 * success, before its reply. The last events_buffer events are kept in a
 * ring; an event's id is its sequence number, from 1 at the server's
 * start. This file is the only one that knows where events come from:
 * binding it to the engine's feed replaces feed_publish's callers and the
 * ring, not the streams.
 *
 * A stream (one per GET /v1/events) reads the ring from its position,
 * keeps the events that pass its filters (?table=, ?prefix= on the key),
 * and writes them as
 *
 *     id: 42
 *     event: put
 *     data: {"seq":42,"time":1764918661.204519,"op":"put","table":"t","key":"k"}
 *
 * A reader that fell more than the ring behind gets "event: missed" with
 * {"first": N, "count": M} and goes on with the oldest event kept. A
 * client that reconnects with Last-Event-ID: N (or ?last_event_id=N)
 * resumes after event N.
 *
 * Waiting. A stream with nothing to send suspends its connection
 * (MHD_suspend_connection, so no thread waits and nothing polls);
 * feed_publish resumes every suspended stream, and a ticker thread resumes
 * them every keepalive interval to send a comment line (which also finds
 * out clients that went away).
 *
 * Invariants:
 *   1. f->mu protects the ring, f->seq, the list of streams and each
 *      stream's suspended flag; a stream suspends only with f->mu held
 *      and f->stop false, so a publish or the shutdown cannot miss it.
 *   2. Events are published in sequence order: ring[seq % size] holds
 *      event seq for the last size sequence numbers.
 */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct fev {
	uint64_t seq;
	int64_t time_ns;
	const char *op;              /* static string */
	char *table;
	uint8_t *key;                /* NULL: a table event */
	size_t klen;
};

struct stream;

struct http_feed {
	pthread_mutex_t mu;
	struct fev *ring;            /* protected by mu */
	unsigned size;
	uint64_t seq;                /* protected by mu: the newest event's */
	struct stream *streams;      /* protected by mu */
	bool stop;                   /* protected by mu */
	pthread_cond_t cv;
	pthread_t ticker;
	uint64_t keepalive_ns;
};

struct stream {
	struct http_feed *f;
	struct MHD_Connection *c;
	struct stream *prev, *next;  /* protected by f->mu */
	bool suspended;              /* protected by f->mu */
	bool ping;                   /* protected by f->mu: a keepalive is due */
	uint64_t pos;                /* the next sequence number to read */
	char *table;                 /* filter, or NULL */
	uint8_t *prefix;             /* filter, or NULL */
	size_t plen;
	struct sbuf out;             /* text not yet sent */
	size_t off;
};

static void *ticker_main(void *arg)
{
	struct http_feed *f = arg;
	mutex_lock(&f->mu);
	while (!f->stop) {
		cond_wait_until(&f->cv, &f->mu, now_ns() + f->keepalive_ns);
		for (struct stream *st = f->streams; st; st = st->next) {
			st->ping = true;
			if (st->suspended) {
				st->suspended = false;
				MHD_resume_connection(st->c);
			}
		}
	}
	mutex_unlock(&f->mu);
	return NULL;
}

struct http_feed *feed_new(unsigned size, unsigned keepalive_s)
{
	struct http_feed *f = xcalloc(1, sizeof(*f));
	mutex_init(&f->mu);
	cond_init(&f->cv);
	f->size = size ? size : 8192;
	f->ring = xcalloc(f->size, sizeof(*f->ring));
	f->keepalive_ns = (uint64_t)(keepalive_s ? keepalive_s : 15) * 1000000000ull;
	if (pthread_create(&f->ticker, NULL, ticker_main, f))
		FATAL("pthread_create");
	return f;
}

static void wake_all(struct http_feed *f)
{
	for (struct stream *st = f->streams; st; st = st->next) {
		if (st->suspended) {
			st->suspended = false;
			MHD_resume_connection(st->c);
		}
	}
}

void feed_shutdown(struct http_feed *f)
{
	mutex_lock(&f->mu);
	f->stop = true;
	wake_all(f);
	cond_broadcast(&f->cv);
	mutex_unlock(&f->mu);
	pthread_join(f->ticker, NULL);
}

void feed_free(struct http_feed *f)
{
	for (unsigned i = 0; i < f->size; i++) {
		free(f->ring[i].table);
		free(f->ring[i].key);
	}
	free(f->ring);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

void feed_publish(struct http_feed *f, const char *op, const char *table, const void *key,
		  size_t klen)
{
	char *t = xstrdup(table);
	uint8_t *k = key ? xmemdup(key, klen ? klen : 1) : NULL;
	int64_t now = wall_ns();
	mutex_lock(&f->mu);
	uint64_t seq = ++f->seq;
	struct fev *e = &f->ring[seq % f->size];
	char *old_t = e->table;
	uint8_t *old_k = e->key;
	*e = (struct fev){ .seq = seq, .time_ns = now, .op = op, .table = t, .key = k,
			   .klen = klen };
	wake_all(f);
	mutex_unlock(&f->mu);
	free(old_t);
	free(old_k);
}

uint64_t feed_last(struct http_feed *f)
{
	mutex_lock(&f->mu);
	uint64_t seq = f->seq;
	mutex_unlock(&f->mu);
	return seq;
}

/* True if event e passes the stream's filters. */
static bool wanted(const struct stream *st, const struct fev *e)
{
	if (st->table && strcmp(st->table, e->table))
		return false;
	if (st->prefix && (!e->key || e->klen < st->plen || memcmp(e->key, st->prefix, st->plen)))
		return false;
	return true;
}

static void format_event(struct sbuf *b, const struct fev *e)
{
	sb_printf(b, "id: %llu\nevent: %s\ndata: {\"seq\":%llu,\"time\":%lld.%06lld,\"op\":\"%s\",",
		  (unsigned long long)e->seq, e->op, (unsigned long long)e->seq,
		  (long long)(e->time_ns / 1000000000), (long long)(e->time_ns % 1000000000 / 1000),
		  e->op);
	sb_json_bytes(b, "table", e->table, strlen(e->table));
	if (e->key) {
		sb_puts(b, ",");
		sb_json_bytes(b, "key", e->key, e->klen);
	}
	sb_puts(b, "}\n\n");
}

/* Fills st->out with what the stream has to send now (f->mu held). */
static void stream_fill(struct stream *st)
{
	struct http_feed *f = st->f;
	st->out.len = 0;
	st->off = 0;
	while (st->out.len < 16384 && st->pos <= f->seq) {
		uint64_t oldest = f->seq >= f->size ? f->seq - f->size + 1 : 1;
		if (st->pos < oldest) {
			sb_printf(&st->out, "id: %llu\nevent: missed\ndata: {\"first\":%llu,"
				  "\"count\":%llu}\n\n", (unsigned long long)(oldest - 1),
				  (unsigned long long)st->pos, (unsigned long long)(oldest - st->pos));
			st->pos = oldest;
			continue;
		}
		const struct fev *e = &f->ring[st->pos % f->size];
		st->pos++;
		if (wanted(st, e))
			format_event(&st->out, e);
	}
	if (st->out.len == 0 && st->ping)
		sb_puts(&st->out, ": keepalive\n\n");
	st->ping = false;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	struct http_feed *f = st->f;
	(void)pos;
	if (st->off == st->out.len) {
		mutex_lock(&f->mu);
		if (f->stop) {
			mutex_unlock(&f->mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		stream_fill(st);
		if (st->out.len == 0) {
			/* Nothing to send: sleep until a publish or a tick
			 * (invariant 1). */
			st->suspended = true;
			MHD_suspend_connection(st->c);
			mutex_unlock(&f->mu);
			return 0;
		}
		mutex_unlock(&f->mu);
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
	mutex_unlock(&f->mu);
	free(st->table);
	free(st->prefix);
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
		bad = !*from || *end || from[0] == '-';
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
	struct stream *st = xcalloc(1, sizeof(*st));
	st->f = f;
	st->c = c;
	st->table = table;
	st->prefix = (uint8_t *)prefix;
	st->plen = plen;
	/* A first line at once: the client knows the stream is open. */
	sb_puts(&st->out, "retry: 1000\n\n");
	mutex_lock(&f->mu);
	st->pos = resume && after <= f->seq ? after + 1 : f->seq + 1;
	st->next = f->streams;
	if (f->streams)
		f->streams->prev = st;
	f->streams = st;
	mutex_unlock(&f->mu);
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, 16384, stream_read, st, stream_free);
	if (!resp) {
		stream_free(st);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
	return http_queue(s, c, MHD_HTTP_OK, resp);
}
