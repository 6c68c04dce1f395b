/*
 * resp_feed.c — the RESP server and the store's change feed (golite_feed_*
 * in golite_raw.h): the writes made through RESP are published to it, and
 * the keyspace notifications subscribers get are made from it, so that a
 * write through the mount, over HTTP or through RESP reaches them alike.
 *
 * Publishing. After each write the store accepted, resp_changed (resp_cmd.c)
 * calls resp_publish with the feed's words: "put TABLE KEY" (SET, MSET,
 * INCR and friends), "delete TABLE KEY" (DEL), "move TABLE KEY TABLE KEY2"
 * (RENAME), "drop-table TABLE" then "create-table TABLE" (FLUSHDB), and
 * "create-table TABLE" for a table a write made.
 *
 * Following. While anyone subscribes (server.nsubs > 0) the server holds
 * one feed reader; the feed watch, called by every publisher, writes the
 * server's eventfd, which worker 0's loop watches; worker 0 then reads the
 * new lines and turns each into notifications (resp_notify):
 *
 *   put TABLE KEY; the mount's create, write, truncate, fallocate,
 *     symlink TABLE PATH                 "set" on KEY (PATH)
 *   delete TABLE KEY; unlink TABLE PATH  "del"
 *   move and the mount's rename          "rename_from" on the source,
 *                                        "rename_to" on the destination
 *   drop-table TABLE; rmdir TABLE .      "flushdb" (no key)
 *
 * Other events (create-table, mkdir, chmod...) notify nothing. Nobody
 * subscribed: no reader is open, and the watch returns after one atomic
 * load; with nobody reading the feed at all, no event is even made.
 *
 * Invariants:
 *   1. feed_mu protects feed_r and feed_gen. feed_r is opened when the
 *      first subscription is made and freed when the last goes, both with
 *      ps_lock held for writing (so feed_mu nests inside ps_lock); worker 0
 *      reads the reader under feed_mu and notifies after releasing it.
 *   2. feed_in (worker 0 only) holds the start of a line not read whole,
 *      and is emptied when feed_gen says the reader was replaced.
 */
#include "resp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "keyesc.h"
#include "util.h"

#define FEED_FIELDS_MAX 4
#define FEED_CHUNK 65536

void resp_publish(struct resp_server *s, const char *op, const char *table, const void *key,
		  size_t klen, const void *to_key, size_t to_klen)
{
	if (!golite_feed_wanted(s->db))
		return;
	golite_feed_field fl[FEED_FIELDS_MAX] = { { table, strlen(table) } };
	size_t n = 1;
	if (key && klen)
		fl[n++] = (golite_feed_field){ key, klen };
	if (to_key && to_klen) {
		fl[n++] = (golite_feed_field){ table, strlen(table) };
		fl[n++] = (golite_feed_field){ to_key, to_klen };
	}
	golite_feed_publish(s->db, op, fl, n);   /* cannot fail: the fields are ours */
}

/* The feed watch (any publisher's thread): wakes worker 0 if someone
 * subscribes. */
static void feed_published(void *ctx)
{
	struct resp_server *s = ctx;
	if (atomic_load_explicit(&s->ps_count, memory_order_relaxed) == 0)
		return;
	uint64_t one = 1;
	ssize_t r = write(s->feed_efd, &one, sizeof one);
	(void)r;   /* a full counter still wakes worker 0 */
}

int feed_follow_start(struct resp_server *s)
{
	s->feed_started = true;
	mutex_init(&s->feed_mu);
	s->feed_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->feed_efd < 0)
		return -errno;
	if (golite_feed_watch_new(s->db, feed_published, s, &s->feed_w)) {
		resp_log(s, "cannot watch the change feed: %s", golite_last_error());
		return -ENOMEM;
	}
	return 0;
}

void feed_follow_stop(struct resp_server *s)
{
	golite_feed_watch_free(s->feed_w);
	s->feed_w = NULL;
	golite_feed_reader_free(s->feed_r);
	s->feed_r = NULL;
	if (s->feed_efd >= 0)
		close(s->feed_efd);
	s->feed_efd = -1;
	ob_free(&s->feed_in);
	pthread_mutex_destroy(&s->feed_mu);
}

void feed_follow_subs(struct resp_server *s)
{
	mutex_lock(&s->feed_mu);
	if (s->nsubs && !s->feed_r) {
		if (golite_feed_reader_new(s->db, 0, &s->feed_r))
			resp_log(s, "cannot read the change feed: %s", golite_last_error());
		s->feed_gen++;
	} else if (!s->nsubs && s->feed_r) {
		golite_feed_reader_free(s->feed_r);
		s->feed_r = NULL;
	}
	mutex_unlock(&s->feed_mu);
}

/* ---- one line of the feed as notifications ---- */

static bool word_is(const char *w, size_t n, const char *s)
{
	return n == strlen(s) && !memcmp(w, s, n);
}

/* The Redis event of a change to one key, or NULL. */
static const char *key_event(const char *op, size_t n)
{
	static const char *const sets[] = { "put", "create", "write", "truncate", "fallocate",
					    "symlink" };
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
		if (word_is(op, n, sets[i]))
			return "set";
	if (word_is(op, n, "delete") || word_is(op, n, "unlink"))
		return "del";
	return NULL;
}

/* Notifies the event of one line (NUL-terminated, no '\n'); a line it
 * cannot read is skipped. */
static void notify_line(struct resp_server *s, char *line)
{
	char *w[3 + FEED_FIELDS_MAX];
	size_t wl[3 + FEED_FIELDS_MAX], nw = 0;
	for (char *p = line; nw < ARRAY_SIZE(w);) {
		char *sp = strchr(p, ' ');
		w[nw] = p;
		wl[nw++] = sp ? (size_t)(sp - p) : strlen(p);
		if (!sp)
			break;
		*sp = '\0';
		p = sp + 1;
	}
	if (nw < 4)
		return;   /* no table: "missed" or an event without fields */
	for (size_t i = 3; i < nw; i++) {
		ssize_t k = key_unescape((uint8_t *)w[i], w[i], wl[i]);
		if (k <= 0)
			return;
		wl[i] = (size_t)k;
		w[i][k] = '\0';   /* tables are names: C strings */
	}
	const char *op = w[2], *table = w[3];
	size_t oplen = wl[2];
	const char *ev = nw == 5 ? key_event(op, oplen) : NULL;
	if (ev) {
		resp_notify(s, table, ev, w[4], wl[4]);
	} else if (nw == 7 && (word_is(op, oplen, "move") || word_is(op, oplen, "rename"))) {
		resp_notify(s, table, "rename_from", w[4], wl[4]);
		resp_notify(s, w[5], "rename_to", w[6], wl[6]);
	} else if ((nw == 4 && word_is(op, oplen, "drop-table")) ||
		   (nw == 5 && word_is(op, oplen, "rmdir") && word_is(w[4], wl[4], "."))) {
		resp_notify(s, table, "flushdb", NULL, 0);
	}
}

void feed_follow_drain(struct resp_server *s)
{
	uint64_t v;
	ssize_t rr = read(s->feed_efd, &v, sizeof v);
	(void)rr;
	char *buf = xmalloc(FEED_CHUNK);
	for (;;) {
		size_t n = 0;
		mutex_lock(&s->feed_mu);
		if (s->feed_seen_gen != s->feed_gen) {
			s->feed_in.len = 0;   /* invariant 2 */
			s->feed_seen_gen = s->feed_gen;
		}
		if (s->feed_r && golite_feed_read(s->feed_r, buf, FEED_CHUNK, &n))
			n = 0;
		mutex_unlock(&s->feed_mu);
		if (n == 0)
			break;
		ob_put(&s->feed_in, buf, n);
		char *start = s->feed_in.p, *end = s->feed_in.p + s->feed_in.len, *nl;
		while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
			*nl = '\0';
			notify_line(s, start);
			start = nl + 1;
		}
		s->feed_in.len = (size_t)(end - start);
		memmove(s->feed_in.p, start, s->feed_in.len);
	}
	free(buf);
}
