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
 *   ttl TABLE KEY (EXPIRE and friends)   "expire"
 *   persist TABLE KEY (PERSIST)          "persist"
 *   expire TABLE KEY (the store's delete
 *     at a key's expiry)                 "expired"
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

#include "feedline.h"
#include "util.h"

#define FEED_CHUNK 65536

void resp_publish(struct resp_server *s, const char *op, const char *table, const void *key,
		  size_t klen, const void *to_key, size_t to_klen)
{
	if (!golite_feed_wanted(s->db))
		return;
	size_t tlen = strlen(table);
	const golite_feed_field fl[] = { { table, tlen }, { key, klen }, { table, tlen },
					 { to_key, to_klen } };
	golite_feed_publish(s->db, op, fl, !key ? 1 : to_key ? 4 : 2);
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

/* The Redis event of a change to one key, or NULL. */
static const char *key_event(const struct feedline *l)
{
	static const char *const sets[] = { "put", "create", "write", "truncate", "fallocate",
					    "symlink" };
	for (size_t i = 0; i < ARRAY_SIZE(sets); i++)
		if (feedline_op_is(l, sets[i]))
			return "set";
	if (feedline_op_is(l, "delete") || feedline_op_is(l, "unlink"))
		return "del";
	if (feedline_op_is(l, "expire"))
		return "expired";   /* the store deleted it at its expiry */
	if (feedline_op_is(l, "ttl"))
		return "expire";    /* a time to live was set */
	if (feedline_op_is(l, "persist"))
		return "persist";
	return NULL;
}

/* Notifies the event of one line; a line it cannot read is skipped. */
static void notify_line(void *ctx, char *line)
{
	struct resp_server *s = ctx;
	struct feedline l;
	if (!feedline_split(line, &l) || l.nfields == 0)
		return;   /* "missed", or an event without a table */
	const char *table = l.field[0];
	const char *ev = l.nfields == 2 ? key_event(&l) : NULL;
	if (ev) {
		resp_notify(s, table, ev, l.field[1], l.flen[1]);
	} else if (l.nfields == 4 && (feedline_op_is(&l, "move") || feedline_op_is(&l, "rename"))) {
		resp_notify(s, table, "rename_from", l.field[1], l.flen[1]);
		resp_notify(s, l.field[2], "rename_to", l.field[3], l.flen[3]);
	} else if ((l.nfields == 1 && feedline_op_is(&l, "drop-table")) ||
		   (l.nfields == 2 && feedline_op_is(&l, "rmdir") && !strcmp(l.field[1], "."))) {
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
		size_t used = feedline_each(s->feed_in.p, s->feed_in.len, notify_line, s);
		s->feed_in.len -= used;
		memmove(s->feed_in.p, s->feed_in.p + used, s->feed_in.len);
	}
	free(buf);
}
