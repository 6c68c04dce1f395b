/*
 * resp_cmd.c — the command table, dispatch, and the key-value commands:
 * GET SET DEL EXISTS MGET MSET INCR INCRBY DECR DECRBY RENAME TYPE SCAN
 * KEYS (the commands of times to live are in resp_ttl.c).
 *
 * Keys are the keys of the connection's selected table, verbatim (a '/'
 * is part of the key, as in the mount's subdirectories). A table that
 * does not exist reads as empty and is created by the first write.
 * Directories made through the mount are not keys here: they read as
 * absent and are left out of SCAN, KEYS and DBSIZE.
 *
 * Pipelined SETs. The plain SETs (no option) and MSETs that follow one
 * another in what one read brought are added to one golite batch, written
 * when another command comes, when the batch holds SET_BATCH_MAX commands
 * or SET_BATCH_BYTES of keys and values, or when the read's commands are
 * done, before any reply is sent; then their "+OK"s are appended in order.
 * A batch is written whole or not at all, so each MSET stays atomic; an
 * MSET joins only if every pair is one a batch takes (sizes checked first),
 * and a large one (over SET_BATCH_BYTES) runs on its own. A client therefore sees each SET
 * acknowledged as before, and a later command of the same connection sees
 * it written; the log takes one record for the run instead of one per SET.
 * Not done while someone must hear of each write (a changed callback, or a
 * reader of the change feed).
 *
 * Atomicity (docs/redis.md, "Atomicity"):
 *   1. Each command's writes are one golite write or one batch: MSET, DEL
 *      of several keys and RENAME are atomic.
 *   2. The read-modify-write commands (INCR and friends, SET with NX, XX
 *      or GET, RENAME) hold the striped lock of every key they read and
 *      write, so they are atomic with respect to each other. A plain SET,
 *      MSET or DEL takes no lock: it may fall between the read and the
 *      write of an INCR, and then the INCR's write wins.
 */
#include "resp_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- helpers ---- */

void reply_golite_error(struct conn *c, int r)
{
	const char *detail = golite_last_error();
	if (detail && *detail)
		reply_error(&c->out, "golite: %s: %s", golite_strerror(r), detail);
	else
		reply_error(&c->out, "golite: %s", golite_strerror(r));
}

bool arg_cstr(const struct conn *c, size_t i, char *buf, size_t cap)
{
	const struct arg *a = &c->argv[i];
	if (a->len >= cap || memchr(a->p, '\0', a->len))
		return false;
	memcpy(buf, a->p, a->len);
	buf[a->len] = '\0';
	return true;
}

bool arg_is(const struct conn *c, size_t i, const char *lower)
{
	const struct arg *a = &c->argv[i];
	size_t n = strlen(lower);
	if (a->len != n)
		return false;
	for (size_t k = 0; k < n; k++) {
		char ch = a->p[k];
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (ch != lower[k])
			return false;
	}
	return true;
}

void resp_changed(struct conn *c, const char *op, const void *key, size_t klen)
{
	struct resp_server *s = c->w->s;
	if (s->o.changed)
		s->o.changed(s->o.changed_ctx, c->table, key, klen);
	resp_publish(s, op, c->table, key, klen, NULL, 0);
}

/*
 * The store's writes, each bracketed by the server's write hooks (resp.h):
 * a mount holds its namespace lock shared across the write itself, and
 * only there. The change callbacks run after, outside it: a mount's
 * invalidation of the kernel's entries waits for directory locks that a
 * rename through the mount holds while it waits for the namespace lock.
 */
void resp_writes_begin(struct resp_server *s)
{
	if (s->o.write_begin)
		s->o.write_begin(s->o.changed_ctx);
}

void resp_writes_end(struct resp_server *s)
{
	if (s->o.write_end)
		s->o.write_end(s->o.changed_ctx);
}

static int create_table(struct conn *c)
{
	struct resp_server *s = c->w->s;
	resp_writes_begin(s);
	int r = golite_table_create(s->db, c->table);
	resp_writes_end(s);
	if (r == 0)
		resp_changed(c, "create-table", NULL, 0);
	return r == GOLITE_EEXIST ? 0 : r;
}

static int put_once(struct conn *c, const struct arg *k, const void *v, size_t vlen)
{
	struct resp_server *s = c->w->s;
	resp_writes_begin(s);
	int r = golite_put(s->db, c->table, k->p, k->len, v, vlen);
	resp_writes_end(s);
	return r;
}

/* golite_put into the selected table, creating it if needed. */
static int put(struct conn *c, const struct arg *k, const void *v, size_t vlen)
{
	int r = put_once(c, k, v, vlen);
	if (r == GOLITE_ENOTABLE && (r = create_table(c)) == 0)
		r = put_once(c, k, v, vlen);
	return r;
}

static int write_batch(struct conn *c, golite_batch *b);

int resp_put_at(struct conn *c, const void *key, size_t klen, const void *v, size_t vlen,
		uint64_t at)
{
	if (!at) {
		struct arg k = { .len = klen, .p = key };
		return put(c, &k, v, vlen);
	}
	golite_batch *b = golite_batch_new();
	int r = golite_batch_put_expiring(b, c->table, key, klen, v, vlen, at);
	if (!r)
		r = write_batch(c, b);
	golite_batch_free(b);
	return r;
}

uint64_t resp_expiry_of(struct conn *c, const void *key, size_t klen)
{
	golite *db = c->w->s->db;
	int64_t left;
	if (golite_ttl(db, c->table, key, klen, &left) || left < 0)
		return 0;
	return golite_clock_ms(db) + (uint64_t)left;
}

static int write_once(struct conn *c, golite_batch *b)
{
	struct resp_server *s = c->w->s;
	resp_writes_begin(s);
	int r = golite_write(s->db, b);
	resp_writes_end(s);
	return r;
}

static int write_batch(struct conn *c, golite_batch *b)
{
	int r = write_once(c, b);
	if (r == GOLITE_ENOTABLE && (r = create_table(c)) == 0)
		r = write_once(c, b);
	return r;
}

/* Whether a key exists as a value (not a directory of the mount). */
static bool key_exists(struct conn *c, const struct arg *k)
{
	size_t vlen;
	int r = golite_get_into(c->w->s->db, c->table, k->p, k->len, NULL, 0, &vlen);
	return r == 0 || r == GOLITE_ERANGE;
}

static bool absent(int r)
{
	return r == GOLITE_ENOTFOUND || r == GOLITE_ENOTABLE || r == GOLITE_EISDIR;
}

#define BULK_HEAD 16   /* room for "$<len>\r\n" of any value */

/* Replies with the value of key k (or nil), read straight into the
 * output buffer. */
static void reply_value(struct conn *c, const struct arg *k)
{
	struct obuf *o = &c->out;
	struct worker *w = c->w;
	size_t vlen = 0;
	size_t room = 256;
	char *d;
	int r;
	do {
		d = ob_room(o, BULK_HEAD + room + 2);
		room = o->cap - o->len - BULK_HEAD - 2;
		r = golite_get_into(w->s->db, c->table, k->p, k->len, d + BULK_HEAD, room, &vlen);
		room = vlen;
	} while (r == GOLITE_ERANGE);
	if (r == 0) {
		size_t h = 0;
		d[h++] = '$';
		h += u64_to_dec(d + h, vlen);
		d[h++] = '\r';
		d[h++] = '\n';
		memmove(d + h, d + BULK_HEAD, vlen);
		d[h + vlen] = '\r';
		d[h + vlen + 1] = '\n';
		o->len += h + vlen + 2;
		atomic_fetch_add_explicit(&w->hits, 1, memory_order_relaxed);
	} else if (absent(r)) {
		reply_null(o);
		atomic_fetch_add_explicit(&w->misses, 1, memory_order_relaxed);
	} else {
		reply_golite_error(c, r);
	}
}

/* ---- strings ---- */

static void cmd_get(struct conn *c)
{
	reply_value(c, &c->argv[1]);
}

static void cmd_mget(struct conn *c)
{
	reply_array(&c->out, c->argc - 1);
	for (size_t i = 1; i < c->argc; i++)
		reply_value(c, &c->argv[i]);
}

static void cmd_set(struct conn *c)
{
	bool nx = false, xx = false, get = false, keepttl = false, expiry = false;
	uint64_t at = 0;
	for (size_t i = 3; i < c->argc; i++) {
		if (arg_is(c, i, "nx") && !xx) {
			nx = true;
		} else if (arg_is(c, i, "xx") && !nx) {
			xx = true;
		} else if (arg_is(c, i, "get")) {
			get = true;
		} else if (arg_is(c, i, "keepttl") && !expiry) {
			keepttl = true;
		} else if ((arg_is(c, i, "ex") || arg_is(c, i, "px") || arg_is(c, i, "exat") ||
			    arg_is(c, i, "pxat")) && !expiry && !keepttl) {
			if (i + 1 >= c->argc) {
				reply_error(&c->out, "syntax error");
				return;
			}
			if (!resp_expiry_arg(c, i, i + 1, &at))
				return;
			expiry = true;
			i++;
		} else {
			reply_error(&c->out, "syntax error");
			return;
		}
	}
	const struct arg *k = &c->argv[1], *v = &c->argv[2];
	if (!nx && !xx && !get && !keepttl) {
		int r = resp_put_at(c, k->p, k->len, v->p, v->len, at);
		if (r) {
			reply_golite_error(c, r);
			return;
		}
		reply_simple(&c->out, "OK");
		resp_changed(c, "put", k->p, k->len);
		return;
	}
	/* Atomicity 2: the read and the write under the key's lock. */
	struct resp_server *s = c->w->s;
	pthread_mutex_t *mu = stripe_of(s, c->table, k->p, k->len);
	void *old = NULL;
	size_t olen = 0;
	mutex_lock(mu);
	int r = golite_get(s->db, c->table, k->p, k->len, &old, &olen);
	bool exists = r == 0;
	if (r && !absent(r)) {
		mutex_unlock(mu);
		reply_golite_error(c, r);
		return;
	}
	bool do_set = !(nx && exists) && !(xx && !exists);
	if (do_set && keepttl)
		at = resp_expiry_of(c, k->p, k->len);
	if (do_set)
		r = resp_put_at(c, k->p, k->len, v->p, v->len, at);
	else
		r = 0;
	mutex_unlock(mu);
	if (r)
		reply_golite_error(c, r);
	else if (get && exists)
		reply_bulk(&c->out, old, olen);
	else if (get || !do_set)
		reply_null(&c->out);
	else
		reply_simple(&c->out, "OK");
	golite_free(old);
	if (!r && do_set)
		resp_changed(c, "put", k->p, k->len);
}

static void cmd_mset(struct conn *c)
{
	if (c->argc % 2 == 0) {
		reply_error(&c->out, "wrong number of arguments for 'mset' command");
		return;
	}
	golite_batch *b = golite_batch_new();
	int r = 0;
	for (size_t i = 1; i < c->argc && !r; i += 2)
		r = golite_batch_put(b, c->table, c->argv[i].p, c->argv[i].len, c->argv[i + 1].p,
				     c->argv[i + 1].len);
	if (!r)
		r = write_batch(c, b);
	golite_batch_free(b);
	if (r) {
		reply_golite_error(c, r);
		return;
	}
	reply_simple(&c->out, "OK");
	for (size_t i = 1; i < c->argc; i += 2)
		resp_changed(c, "put", c->argv[i].p, c->argv[i].len);
}

static void cmd_del(struct conn *c)
{
	golite_batch *b = golite_batch_new();
	bool *found = xcalloc(c->argc, sizeof *found);
	long long n = 0;
	int r = 0;
	for (size_t i = 1; i < c->argc && !r; i++) {
		if (!key_exists(c, &c->argv[i]))
			continue;
		found[i] = true;
		n++;
		r = golite_batch_delete(b, c->table, c->argv[i].p, c->argv[i].len);
	}
	if (!r && n)
		r = write_batch(c, b);
	golite_batch_free(b);
	if (r) {
		reply_golite_error(c, r);
	} else {
		reply_int(&c->out, n);
		for (size_t i = 1; i < c->argc; i++)
			if (found[i])
				resp_changed(c, "delete", c->argv[i].p, c->argv[i].len);
	}
	free(found);
}

static void cmd_exists(struct conn *c)
{
	long long n = 0;
	for (size_t i = 1; i < c->argc; i++)
		n += key_exists(c, &c->argv[i]);
	reply_int(&c->out, n);
}

static void cmd_type(struct conn *c)
{
	reply_simple(&c->out, key_exists(c, &c->argv[1]) ? "string" : "none");
}

/* INCR, DECR, INCRBY, DECRBY: adds by to the key's integer (atomicity 2). */
static void incr_by(struct conn *c, long long by)
{
	struct resp_server *s = c->w->s;
	const struct arg *k = &c->argv[1];
	pthread_mutex_t *mu = stripe_of(s, c->table, k->p, k->len);
	char buf[32];
	size_t vlen = 0;
	long long v = 0;
	mutex_lock(mu);
	int r = golite_get_into(s->db, c->table, k->p, k->len, buf, sizeof buf, &vlen);
	if (r == 0 && !parse_ll(buf, vlen, &v))
		r = GOLITE_ERANGE;
	if (r == GOLITE_ERANGE) {
		mutex_unlock(mu);
		reply_error(&c->out, "value is not an integer or out of range");
		return;
	}
	if (r && !absent(r)) {
		mutex_unlock(mu);
		reply_golite_error(c, r);
		return;
	}
	if ((by > 0 && v > INT64_MAX - by) || (by < 0 && v < INT64_MIN - by)) {
		mutex_unlock(mu);
		reply_error(&c->out, "increment or decrement would overflow");
		return;
	}
	v += by;
	char out[24];
	size_t n = 0;
	if (v < 0)
		out[n++] = '-';
	n += u64_to_dec(out + n, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
	/* As in Redis, the key keeps its time to live. */
	r = resp_put_at(c, k->p, k->len, out, n, resp_expiry_of(c, k->p, k->len));
	mutex_unlock(mu);
	if (r) {
		reply_golite_error(c, r);
		return;
	}
	reply_int(&c->out, v);
	resp_changed(c, "put", k->p, k->len);
}

static void cmd_incr(struct conn *c)
{
	incr_by(c, 1);
}

static void cmd_decr(struct conn *c)
{
	incr_by(c, -1);
}

static void cmd_incrby(struct conn *c)
{
	long long by;
	if (!parse_ll(c->argv[2].p, c->argv[2].len, &by)) {
		reply_error(&c->out, "value is not an integer or out of range");
		return;
	}
	incr_by(c, by);
}

static void cmd_decrby(struct conn *c)
{
	long long by;
	if (!parse_ll(c->argv[2].p, c->argv[2].len, &by) || by == INT64_MIN) {
		reply_error(&c->out, "value is not an integer or out of range");
		return;
	}
	incr_by(c, -by);
}

static void cmd_rename(struct conn *c)
{
	struct resp_server *s = c->w->s;
	const struct arg *from = &c->argv[1], *to = &c->argv[2];
	pthread_mutex_t *m1 = stripe_of(s, c->table, from->p, from->len);
	pthread_mutex_t *m2 = stripe_of(s, c->table, to->p, to->len);
	if (m1 > m2) {
		pthread_mutex_t *t = m1;
		m1 = m2;
		m2 = t;
	}
	mutex_lock(m1);
	if (m2 != m1)
		mutex_lock(m2);
	void *v = NULL;
	size_t vlen = 0;
	golite_batch *b = NULL;
	int r = golite_get(s->db, c->table, from->p, from->len, &v, &vlen);
	bool same = from->len == to->len && !memcmp(from->p, to->p, to->len);
	if (r == 0 && !same) {
		/* The time to live goes with the value, as in Redis. */
		uint64_t at = resp_expiry_of(c, from->p, from->len);
		b = golite_batch_new();
		r = at ? golite_batch_put_expiring(b, c->table, to->p, to->len, v, vlen, at)
		       : golite_batch_put(b, c->table, to->p, to->len, v, vlen);
		if (!r)
			r = golite_batch_delete(b, c->table, from->p, from->len);
		if (!r)
			r = write_batch(c, b);
		golite_batch_free(b);
	}
	if (m2 != m1)
		mutex_unlock(m2);
	mutex_unlock(m1);
	golite_free(v);
	if (absent(r)) {
		reply_error(&c->out, "no such key");
		return;
	}
	if (r) {
		reply_golite_error(c, r);
		return;
	}
	reply_simple(&c->out, "OK");
	if (!same) {
		if (s->o.changed) {
			s->o.changed(s->o.changed_ctx, c->table, from->p, from->len);
			s->o.changed(s->o.changed_ctx, c->table, to->p, to->len);
		}
		resp_publish(s, "move", c->table, from->p, from->len, to->p, to->len);
	}
}

/* ---- SCAN and KEYS ---- */

/*
 * SCAN cursors. Clients such as redis-cli read the cursor as an unsigned
 * 64-bit number, so the cursor cannot carry the next key itself: it names
 * a slot of server.scan[] that remembers the table's next key. A cursor
 * stays valid until RESP_SCAN_SLOTS more cursors have been handed out
 * (then SCAN answers "invalid cursor"). Keys added or removed during a
 * scan are seen or not; keys present throughout are returned once, in
 * key order.
 */
static uint64_t cursor_save(struct resp_server *s, const void *key, size_t klen)
{
	mutex_lock(&s->scan_mu);
	uint64_t id = ++s->scan_next;
	struct scan_slot *sl = &s->scan[id % RESP_SCAN_SLOTS];
	free(sl->key);
	sl->cursor = id;
	sl->key = xmemdup(key, klen);
	sl->klen = klen;
	mutex_unlock(&s->scan_mu);
	return id;
}

static bool cursor_load(struct resp_server *s, uint64_t id, char **key, size_t *klen)
{
	bool ok = false;
	mutex_lock(&s->scan_mu);
	struct scan_slot *sl = &s->scan[id % RESP_SCAN_SLOTS];
	if (sl->cursor == id && id) {
		*key = xmemdup(sl->key, sl->klen);
		*klen = sl->klen;
		ok = true;
	}
	mutex_unlock(&s->scan_mu);
	return ok;
}

/* Opens an iterator over the selected table, restricted to the literal
 * head of pattern. *it is NULL (and 0 returned) if the table is absent. */
static int iter_for(struct conn *c, const char *pat, size_t plen, golite_iter **it)
{
	golite_iter_options io = { 0 };
	io.prefix = pat;
	io.prefix_len = pat ? glob_prefix_len(pat, plen) : 0;
	int r = golite_iter_new(c->w->s->db, c->table, &io, it);
	if (r == GOLITE_ENOTABLE) {
		*it = NULL;
		return 0;
	}
	return r;
}

static void cmd_scan(struct conn *c)
{
	struct resp_server *s = c->w->s;
	const char *pat = NULL;
	size_t plen = 0;
	long long count = 10;
	bool strings = true;
	for (size_t i = 2; i < c->argc; i += 2) {
		if (i + 1 >= c->argc) {
			reply_error(&c->out, "syntax error");
			return;
		}
		if (arg_is(c, i, "match")) {
			pat = c->argv[i + 1].p;
			plen = c->argv[i + 1].len;
		} else if (arg_is(c, i, "count")) {
			if (!parse_ll(c->argv[i + 1].p, c->argv[i + 1].len, &count)) {
				reply_error(&c->out, "value is not an integer or out of range");
				return;
			}
			if (count < 1) {
				reply_error(&c->out, "syntax error");
				return;
			}
		} else if (arg_is(c, i, "type")) {
			strings = arg_is(c, i + 1, "string");
		} else {
			reply_error(&c->out, "syntax error");
			return;
		}
	}
	uint64_t cur = 0;
	const struct arg *ca = &c->argv[1];
	bool cur_ok = ca->len > 0 && ca->len <= 20;
	for (size_t i = 0; cur_ok && i < ca->len; i++) {
		uint64_t d = (uint64_t)(ca->p[i] - '0');
		cur_ok = ca->p[i] >= '0' && ca->p[i] <= '9' && cur <= (UINT64_MAX - d) / 10;
		cur = cur * 10 + d;
	}
	char *from = NULL;
	size_t from_len = 0;
	if (!cur_ok || (cur != 0 && !cursor_load(s, cur, &from, &from_len))) {
		reply_error(&c->out, "invalid cursor");
		return;
	}
	golite_iter *it;
	int r = iter_for(c, pat, plen, &it);
	if (r) {
		free(from);
		reply_golite_error(c, r);
		return;
	}
	uint64_t next = 0;
	struct obuf keys = { 0 };
	size_t n = 0;
	if (it) {
		if (from)
			golite_iter_seek(it, from, from_len);
		else
			golite_iter_seek_first(it);
		for (long long seen = 0; golite_iter_valid(it) && seen < count;
		     golite_iter_next(it), seen++) {
			if (golite_iter_is_dir(it))
				continue;
			size_t klen;
			const char *k = golite_iter_key(it, &klen);
			if (strings && (!pat || glob_match(pat, plen, k, klen))) {
				reply_bulk(&keys, k, klen);
				n++;
			}
		}
		if (golite_iter_valid(it)) {
			size_t klen;
			const void *k = golite_iter_key(it, &klen);
			next = cursor_save(s, k, klen);
		}
		r = golite_iter_status(it);
		golite_iter_free(it);
	}
	free(from);
	if (r) {
		reply_golite_error(c, r);
	} else {
		char digits[20];
		reply_array(&c->out, 2);
		reply_bulk(&c->out, digits, u64_to_dec(digits, next));
		reply_array(&c->out, n);
		ob_put(&c->out, keys.p, keys.len);
	}
	ob_free(&keys);
}

static void cmd_keys(struct conn *c)
{
	const struct arg *p = &c->argv[1];
	golite_iter *it;
	int r = iter_for(c, p->p, p->len, &it);
	if (r) {
		reply_golite_error(c, r);
		return;
	}
	size_t start = c->out.len;
	size_t mark = reply_defer(&c->out);
	size_t n = 0;
	if (it) {
		for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
			if (golite_iter_is_dir(it))
				continue;
			size_t klen;
			const char *k = golite_iter_key(it, &klen);
			if (glob_match(p->p, p->len, k, klen)) {
				reply_bulk(&c->out, k, klen);
				n++;
			}
		}
		r = golite_iter_status(it);
		golite_iter_free(it);
	}
	if (r) {
		c->out.len = start;
		reply_golite_error(c, r);
		return;
	}
	reply_defer_set(&c->out, mark, n);
}

/* ---- the table and dispatch ---- */

const struct command resp_commands[] = {
	{ "auth", -2, CMD_NOAUTH | CMD_PUBSUB, cmd_auth },
	{ "client", -2, CMD_PUBSUB, cmd_client },
	{ "command", -1, 0, cmd_command },
	{ "config", -2, 0, cmd_config },
	{ "dbsize", 1, 0, cmd_dbsize },
	{ "decr", 2, CMD_WRITE, cmd_decr },
	{ "decrby", 3, CMD_WRITE, cmd_decrby },
	{ "del", -2, CMD_WRITE, cmd_del },
	{ "echo", 2, 0, cmd_echo },
	{ "exists", -2, 0, cmd_exists },
	{ "expire", -3, CMD_WRITE, cmd_expire },
	{ "expireat", -3, CMD_WRITE, cmd_expireat },
	{ "flushdb", -1, CMD_WRITE, cmd_flushdb },
	{ "get", 2, 0, cmd_get },
	{ "hello", -1, CMD_NOAUTH, cmd_hello },
	{ "incr", 2, CMD_WRITE, cmd_incr },
	{ "incrby", 3, CMD_WRITE, cmd_incrby },
	{ "info", -1, 0, cmd_info },
	{ "keys", 2, 0, cmd_keys },
	{ "mget", -2, 0, cmd_mget },
	{ "mset", -3, CMD_WRITE, cmd_mset },
	{ "persist", 2, CMD_WRITE, cmd_persist },
	{ "pexpire", -3, CMD_WRITE, cmd_pexpire },
	{ "pexpireat", -3, CMD_WRITE, cmd_pexpireat },
	{ "ping", -1, CMD_PUBSUB, cmd_ping },
	{ "psetex", 4, CMD_WRITE, cmd_psetex },
	{ "pttl", 2, 0, cmd_pttl },
	{ "psubscribe", -2, CMD_PUBSUB, cmd_psubscribe },
	{ "publish", 3, 0, cmd_publish },
	{ "punsubscribe", -1, CMD_PUBSUB, cmd_punsubscribe },
	{ "quit", -1, CMD_NOAUTH | CMD_PUBSUB, cmd_quit },
	{ "rename", 3, CMD_WRITE, cmd_rename },
	{ "scan", -2, 0, cmd_scan },
	{ "select", 2, 0, cmd_select },
	{ "set", -3, CMD_WRITE, cmd_set },
	{ "setex", 4, CMD_WRITE, cmd_setex },
	{ "subscribe", -2, CMD_PUBSUB, cmd_subscribe },
	{ "ttl", 2, 0, cmd_ttl },
	{ "type", 2, 0, cmd_type },
	{ "unsubscribe", -1, CMD_PUBSUB, cmd_unsubscribe },
};
const size_t resp_command_count = ARRAY_SIZE(resp_commands);

#define NAME_MAX_LEN 16
#define LOOKUP_SLOTS 128   /* a power of two, over twice the commands */

static const struct command *lookup_table[LOOKUP_SLOTS];
static pthread_once_t lookup_once = PTHREAD_ONCE_INIT;

static unsigned name_hash(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 16777619u;
	return h & (LOOKUP_SLOTS - 1);
}

static void build_lookup(void)
{
	_Static_assert(ARRAY_SIZE(resp_commands) * 2 < LOOKUP_SLOTS, "lookup table too small");
	for (size_t i = 0; i < ARRAY_SIZE(resp_commands); i++) {
		const char *nm = resp_commands[i].name;
		unsigned h = name_hash(nm, strlen(nm));
		while (lookup_table[h])
			h = (h + 1) & (LOOKUP_SLOTS - 1);
		lookup_table[h] = &resp_commands[i];
	}
}

void resp_commands_init(void)
{
	pthread_once(&lookup_once, build_lookup);
}

static const struct command *lookup(const char *p, size_t n)
{
	char low[NAME_MAX_LEN];
	if (n == 0 || n >= NAME_MAX_LEN)
		return NULL;
	for (size_t i = 0; i < n; i++)
		low[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] - 'A' + 'a') : p[i];
	for (unsigned h = name_hash(low, n);; h = (h + 1) & (LOOKUP_SLOTS - 1)) {
		const struct command *cmd = lookup_table[h];
		if (!cmd)
			return NULL;
		if (!strncmp(cmd->name, low, n) && cmd->name[n] == '\0')
			return cmd;
	}
}

/* Copies at most cap - 1 bytes of p as printable text, for error messages
 * that quote what the client sent. */
static void printable(char *dst, size_t cap, const char *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k + 1 < cap; i++) {
		unsigned char ch = (unsigned char)p[i];
		dst[k++] = (ch >= ' ' && ch < 127 && ch != '\'') ? (char)ch : '?';
	}
	dst[k] = '\0';
}

#define SET_BATCH_MAX 128
#define SET_BATCH_BYTES (1u << 20)

void resp_flush_sets(struct conn *c)
{
	if (!c->nsets)
		return;
	int r = write_batch(c, c->sets);
	c->set_bytes = 0;
	for (size_t i = 0; i < c->nsets; i++) {
		if (r)
			reply_golite_error(c, r);
		else
			ob_put(&c->out, "+OK\r\n", 5);
	}
	golite_batch_clear(c->sets);
	c->nsets = 0;
}

/* Adds a plain SET or an MSET to c->sets if it may wait there (see
 * "Pipelined SETs"); false if it must run now. */
static bool set_joins_batch(struct conn *c, const struct command *cmd)
{
	struct resp_server *s = c->w->s;
	bool plain = (cmd->fn == cmd_set && c->argc == 3) ||
		     (cmd->fn == cmd_mset && c->argc >= 3 && c->argc % 2 == 1);
	if (!plain || !c->authed || c->subs || s->o.changed || golite_feed_wanted(s->db))
		return false;
	/* Every pair must be one the batch takes, so that none fails once
	 * some of the command's pairs are in; otherwise the command runs on
	 * its own and reports the error. */
	size_t bytes = 0;
	for (size_t i = 1; i < c->argc; i += 2) {
		const struct arg *k = &c->argv[i], *v = &c->argv[i + 1];
		if (k->len == 0 || k->len > GOLITE_MAX_KEY_SIZE || v->len > GOLITE_MAX_VALUE_SIZE)
			return false;
		bytes += k->len + v->len;
	}
	if (bytes > SET_BATCH_BYTES)
		return false;
	if (c->set_bytes + bytes > SET_BATCH_BYTES)
		resp_flush_sets(c);
	if (!c->sets)
		c->sets = golite_batch_new();
	for (size_t i = 1; i < c->argc; i += 2) {
		const struct arg *k = &c->argv[i], *v = &c->argv[i + 1];
		if (golite_batch_put(c->sets, c->table, k->p, k->len, v->p, v->len))
			FATAL("a checked put was refused by the batch: %s", golite_last_error());
	}
	c->set_bytes += bytes;
	if (++c->nsets == SET_BATCH_MAX)
		resp_flush_sets(c);
	return true;
}

void resp_dispatch(struct conn *c)
{
	const struct arg *a0 = &c->argv[0];
	const struct command *cmd = lookup(a0->p, a0->len);
	if (cmd && set_joins_batch(c, cmd))
		return;
	resp_flush_sets(c);
	if (!cmd) {
		char name[64], args[128] = "";
		printable(name, sizeof name, a0->p, a0->len);
		size_t k = 0;
		for (size_t i = 1; i < c->argc && k + 8 < sizeof args; i++) {
			char one[48];
			printable(one, sizeof one, c->argv[i].p, c->argv[i].len);
			k += (size_t)snprintf(args + k, sizeof args - k, "'%s' ", one);
			if (k >= sizeof args)
				k = sizeof args - 1;
		}
		reply_error(&c->out, "unknown command '%s', with args beginning with: %s", name, args);
		return;
	}
	if (!c->authed && !(cmd->flags & CMD_NOAUTH)) {
		reply_error_code(&c->out, "NOAUTH", "Authentication required.");
		return;
	}
	if ((cmd->arity > 0 && c->argc != (size_t)cmd->arity) ||
	    (cmd->arity < 0 && c->argc < (size_t)-cmd->arity)) {
		reply_error(&c->out, "wrong number of arguments for '%s' command", cmd->name);
		return;
	}
	if (c->subs && !(cmd->flags & CMD_PUBSUB)) {
		reply_error(&c->out, "Can't execute '%s': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / "
				     "PING / QUIT are allowed in this context", cmd->name);
		return;
	}
	cmd->fn(c);
}
