/*
 * resp_pubsub.c — SUBSCRIBE, PSUBSCRIBE, their UNSUBSCRIBEs, PUBLISH, and
 * keyspace notifications (resp_notify).
 *
 * The registry is one array of (connection, channel or pattern) under
 * server.ps_lock. A publisher, on any thread, takes the lock for reading,
 * appends the message to each matching connection's pub buffer (under
 * conn.pub_mu) and queues the connection with its worker, which moves the
 * messages to the connection's output in its own thread.
 *
 * Invariants:
 *   1. An entry names a live connection: a connection leaves the registry
 *      (ps_conn_gone, write lock) before it is freed, and publishers touch
 *      connections only under the read lock.
 *   2. ps_count == nsubs, so that publishing to nobody (the common case)
 *      costs one atomic load and no lock.
 *   3. conn.subs counts the connection's entries; only its owner changes
 *      it, and always together with the registry.
 *   4. A subscriber whose undelivered messages pass RESP_PUB_MAX gets no
 *      more and is closed by its worker (Redis' pubsub output limit).
 *
 * Notifications are made from the store's change feed (resp_feed.c),
 * whose reader is open while the registry is not empty.
 *
 * Lock order: ps_lock, then server.feed_mu; ps_lock, then conn.pub_mu,
 * then worker.mu.
 */
#include "resp_int.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void ps_init(struct resp_server *s)
{
	if (pthread_rwlock_init(&s->ps_lock, NULL))
		FATAL("pthread_rwlock_init");
}

void ps_destroy(struct resp_server *s)
{
	for (size_t i = 0; i < s->nsubs; i++)
		free(s->subs[i].name);
	free(s->subs);
	pthread_rwlock_destroy(&s->ps_lock);
}

static void wrlock(struct resp_server *s)
{
	if (pthread_rwlock_wrlock(&s->ps_lock))
		FATAL("pthread_rwlock_wrlock");
}

static void rdlock(struct resp_server *s)
{
	if (pthread_rwlock_rdlock(&s->ps_lock))
		FATAL("pthread_rwlock_rdlock");
}

static void unlock(struct resp_server *s)
{
	pthread_rwlock_unlock(&s->ps_lock);
}

static bool same_entry(const struct sub *e, const struct conn *c, bool pattern, const char *name,
		       size_t len)
{
	return e->c == c && e->pattern == pattern && e->len == len && !memcmp(e->name, name, len);
}

/* Adds (c, name); false if c had it already. */
static bool sub_add(struct conn *c, bool pattern, const char *name, size_t len)
{
	struct resp_server *s = c->w->s;
	bool added = false;
	wrlock(s);
	size_t i = 0;
	while (i < s->nsubs && !same_entry(&s->subs[i], c, pattern, name, len))
		i++;
	if (i == s->nsubs) {
		if (s->nsubs == s->subs_cap) {
			s->subs_cap = s->subs_cap ? s->subs_cap * 2 : 16;
			s->subs = xrealloc(s->subs, s->subs_cap * sizeof *s->subs);
		}
		struct sub *e = &s->subs[s->nsubs++];
		e->c = c;
		e->pattern = pattern;
		e->len = len;
		e->name = xmemdup(name, len ? len : 1);
		atomic_store(&s->ps_count, s->nsubs);
		feed_follow_subs(s);
		c->subs++;
		added = true;
	}
	unlock(s);
	return added;
}

/* Removes entry i; the caller holds the write lock. */
static void sub_remove_at(struct resp_server *s, size_t i)
{
	s->subs[i].c->subs--;
	free(s->subs[i].name);
	s->subs[i] = s->subs[--s->nsubs];
	atomic_store(&s->ps_count, s->nsubs);
	feed_follow_subs(s);
}

static void reply_sub(struct conn *c, const char *kind, const char *name, size_t len)
{
	reply_array(&c->out, 3);
	reply_cstr(&c->out, kind);
	if (name)
		reply_bulk(&c->out, name, len);
	else
		reply_null(&c->out);
	reply_int(&c->out, c->subs);
}

static void subscribe(struct conn *c, bool pattern)
{
	for (size_t i = 1; i < c->argc; i++) {
		sub_add(c, pattern, c->argv[i].p, c->argv[i].len);
		reply_sub(c, pattern ? "psubscribe" : "subscribe", c->argv[i].p, c->argv[i].len);
	}
}

static void unsubscribe(struct conn *c, bool pattern)
{
	struct resp_server *s = c->w->s;
	const char *kind = pattern ? "punsubscribe" : "unsubscribe";
	if (c->argc > 1) {
		for (size_t a = 1; a < c->argc; a++) {
			wrlock(s);
			for (size_t i = 0; i < s->nsubs; i++) {
				if (same_entry(&s->subs[i], c, pattern, c->argv[a].p, c->argv[a].len)) {
					sub_remove_at(s, i);
					break;
				}
			}
			unlock(s);
			reply_sub(c, kind, c->argv[a].p, c->argv[a].len);
		}
		return;
	}
	/* Without arguments: every channel (or pattern) of c. */
	bool any = false;
	wrlock(s);
	for (size_t i = 0; i < s->nsubs;) {
		struct sub *e = &s->subs[i];
		if (e->c != c || e->pattern != pattern) {
			i++;
			continue;
		}
		any = true;
		char *name = e->name;
		size_t len = e->len;
		e->name = NULL;
		sub_remove_at(s, i);
		reply_sub(c, kind, name, len);
		free(name);
	}
	unlock(s);
	if (!any)
		reply_sub(c, kind, NULL, 0);
}

void cmd_subscribe(struct conn *c)
{
	subscribe(c, false);
}

void cmd_psubscribe(struct conn *c)
{
	subscribe(c, true);
}

void cmd_unsubscribe(struct conn *c)
{
	unsubscribe(c, false);
}

void cmd_punsubscribe(struct conn *c)
{
	unsubscribe(c, true);
}

void ps_conn_gone(struct conn *c)
{
	struct resp_server *s = c->w->s;
	wrlock(s);
	for (size_t i = 0; i < s->nsubs;) {
		if (s->subs[i].c == c)
			sub_remove_at(s, i);
		else
			i++;
	}
	unlock(s);
}

/* Appends a message for c (invariant 4) and wakes its worker. */
static void deliver(const struct sub *e, const char *chan, size_t clen, const void *msg,
		    size_t mlen)
{
	struct conn *c = e->c;
	mutex_lock(&c->pub_mu);
	if (!c->pub_overflow) {
		struct obuf *b = &c->pub;
		if (e->pattern) {
			reply_array(b, 4);
			reply_bulk(b, "pmessage", 8);
			reply_bulk(b, e->name, e->len);
		} else {
			reply_array(b, 3);
			reply_bulk(b, "message", 7);
		}
		reply_bulk(b, chan, clen);
		reply_bulk(b, msg, mlen);
		if (b->len - b->sent > RESP_PUB_MAX)
			c->pub_overflow = true;
	}
	mutex_unlock(&c->pub_mu);
	worker_wake_for(c);
}

size_t ps_publish(struct resp_server *s, const char *chan, size_t clen, const void *msg,
		  size_t mlen)
{
	if (atomic_load_explicit(&s->ps_count, memory_order_relaxed) == 0)
		return 0;
	size_t n = 0;
	rdlock(s);
	for (size_t i = 0; i < s->nsubs; i++) {
		const struct sub *e = &s->subs[i];
		bool hit = e->pattern ? glob_match(e->name, e->len, chan, clen)
				      : (e->len == clen && !memcmp(e->name, chan, clen));
		if (hit) {
			deliver(e, chan, clen, msg, mlen);
			n++;
		}
	}
	unlock(s);
	return n;
}

void cmd_publish(struct conn *c)
{
	reply_int(&c->out, (long long)ps_publish(c->w->s, c->argv[1].p, c->argv[1].len,
						 c->argv[2].p, c->argv[2].len));
}

void resp_notify(struct resp_server *s, const char *table, const char *event, const void *key,
		 size_t klen)
{
	if (atomic_load_explicit(&s->ps_count, memory_order_relaxed) == 0)
		return;
	size_t tlen = strlen(table), elen = strlen(event);
	struct obuf ch = { 0 };
	if (key) {
		ob_put(&ch, "__keyspace@", 11);
		ob_put(&ch, table, tlen);
		ob_put(&ch, "__:", 3);
		ob_put(&ch, key, klen);
		ps_publish(s, ch.p, ch.len, event, elen);
		ch.len = 0;
	}
	ob_put(&ch, "__keyevent@", 11);
	ob_put(&ch, table, tlen);
	ob_put(&ch, "__:", 3);
	ob_put(&ch, event, elen);
	ps_publish(s, ch.p, ch.len, key ? key : "", key ? klen : 0);
	ob_free(&ch);
}
