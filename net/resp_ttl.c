/*
 * resp_ttl.c — keys that expire (golite.h "Keys that expire") in the
 * Redis protocol: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (with NX XX GT LT),
 * TTL PTTL PERSIST SETEX PSETEX, and SET's EX PX EXAT PXAT KEEPTTL
 * options (read here, applied in resp_cmd.c).
 *
 * As in Redis: a time to live that is not positive (or a time already
 * past) deletes the key; SET without KEEPTTL clears it, INCR and friends
 * keep it, RENAME moves it; TTL answers -2 for a missing key and -1 for
 * one without a time to live, rounding to the nearest second. Times are
 * the store's clock (ms since the epoch), so EXPIREAT takes Unix time.
 * The largest time to live is GOLITE_TTL_MAX_MS (100 years); more is
 * "invalid expire time", as Redis says of an overflow.
 *
 * The feed (resp_feed.c): a time to live set is "ttl TABLE KEY" (Redis
 * event "expire"), one removed "persist TABLE KEY" ("persist"), and the
 * store's own delete at expiry "expire TABLE KEY" ("expired").
 */
#include "resp_int.h"

#include <string.h>

#include "util.h"

/* The absolute expiry (ms) from a relative or absolute time in seconds or
 * ms; false if it is out of range (*past: it is not positive or already
 * past, which deletes). */
static bool expiry_from(struct conn *c, long long v, bool ms, bool absolute, uint64_t *at,
			bool *past)
{
	uint64_t now = golite_clock_ms(c->w->s->db);
	*past = false;
	if (v <= 0 && !absolute) {
		*past = true;
		return true;
	}
	if (v < 0)
		return false;
	uint64_t u = (uint64_t)v;
	if (!ms) {
		if (u > UINT64_MAX / 1000)
			return false;
		u *= 1000;
	}
	if (absolute) {
		if (u <= now) {
			*past = true;
			return true;
		}
		if (u - now > GOLITE_TTL_MAX_MS)
			return false;
		*at = u;
		return true;
	}
	if (u > GOLITE_TTL_MAX_MS)
		return false;
	*at = now + u;
	return true;
}

static bool int_arg(struct conn *c, size_t i, long long *v)
{
	if (!parse_ll(c->argv[i].p, c->argv[i].len, v)) {
		reply_error(&c->out, "value is not an integer or out of range");
		return false;
	}
	return true;
}

bool resp_expiry_arg(struct conn *c, size_t opt, size_t val, uint64_t *at)
{
	long long v;
	if (!int_arg(c, val, &v))
		return false;
	bool ms = arg_is(c, opt, "px") || arg_is(c, opt, "pxat");
	bool absolute = arg_is(c, opt, "exat") || arg_is(c, opt, "pxat");
	bool past;
	/* SET refuses a time that is not positive, as Redis does. */
	if (v <= 0 || !expiry_from(c, v, ms, absolute, at, &past)) {
		reply_error(&c->out, "invalid expire time in 'set' command");
		return false;
	}
	if (past)
		*at = golite_clock_ms(c->w->s->db);   /* expires at once */
	return true;
}

/* Deletes key i for a time to live already past; replies 1 or 0. */
static void delete_now(struct conn *c, const struct arg *k)
{
	struct resp_server *s = c->w->s;
	void *v;
	size_t n;
	int r = golite_get(s->db, c->table, k->p, k->len, &v, &n);
	if (r) {
		reply_int(&c->out, 0);
		return;
	}
	golite_free(v);
	resp_writes_begin(s);
	r = golite_delete(s->db, c->table, k->p, k->len);
	resp_writes_end(s);
	if (r) {
		reply_golite_error(c, r);
		return;
	}
	reply_int(&c->out, 1);
	resp_changed(c, "delete", k->p, k->len);
}

/* EXPIRE and friends: KEY TIME [NX|XX|GT|LT]. */
static void expire_cmd(struct conn *c, bool ms, bool absolute, const char *name)
{
	bool nx = false, xx = false, gt = false, lt = false;
	for (size_t i = 3; i < c->argc; i++) {
		if (arg_is(c, i, "nx"))
			nx = true;
		else if (arg_is(c, i, "xx"))
			xx = true;
		else if (arg_is(c, i, "gt"))
			gt = true;
		else if (arg_is(c, i, "lt"))
			lt = true;
		else {
			reply_error(&c->out, "Unsupported option %.*s", (int)MIN(c->argv[i].len, 64),
				    c->argv[i].p);
			return;
		}
	}
	if ((nx && (xx || gt || lt)) || (gt && lt)) {
		reply_error(&c->out, "NX and XX, GT or LT options at the same time are not "
				     "compatible");
		return;
	}
	long long v;
	if (!int_arg(c, 2, &v))
		return;
	uint64_t at = 0;
	bool past;
	if (!expiry_from(c, v, ms, absolute, &at, &past)) {
		reply_error(&c->out, "invalid expire time in '%s' command", name);
		return;
	}
	struct resp_server *s = c->w->s;
	const struct arg *k = &c->argv[1];
	pthread_mutex_t *mu = stripe_of(s, c->table, k->p, k->len);
	mutex_lock(mu);
	int64_t left;
	int r = golite_ttl(s->db, c->table, k->p, k->len, &left);
	if (r == GOLITE_ENOTFOUND || r == GOLITE_ENOTABLE || r == GOLITE_EISDIR) {
		mutex_unlock(mu);
		reply_int(&c->out, 0);
		return;
	}
	if (r) {
		mutex_unlock(mu);
		reply_golite_error(c, r);
		return;
	}
	/* GT and LT count a key without a time to live as an infinite one. */
	uint64_t cur = left < 0 ? UINT64_MAX : golite_clock_ms(s->db) + (uint64_t)left;
	uint64_t want = past ? 0 : at;
	bool ok = !(nx && left >= 0) && !(xx && left < 0) && !(gt && want <= cur) &&
		  !(lt && want >= cur);
	if (!ok) {
		mutex_unlock(mu);
		reply_int(&c->out, 0);
		return;
	}
	if (past) {
		delete_now(c, k);
		mutex_unlock(mu);
		return;
	}
	uint64_t now = golite_clock_ms(s->db);
	resp_writes_begin(s);
	r = golite_expire(s->db, c->table, k->p, k->len, at > now ? at - now : 1);
	resp_writes_end(s);
	mutex_unlock(mu);
	if (r == GOLITE_ENOTFOUND) {
		reply_int(&c->out, 0);
	} else if (r) {
		reply_golite_error(c, r);
	} else {
		reply_int(&c->out, 1);
		resp_changed(c, "ttl", k->p, k->len);
	}
}

void cmd_expire(struct conn *c)
{
	expire_cmd(c, false, false, "expire");
}

void cmd_pexpire(struct conn *c)
{
	expire_cmd(c, true, false, "pexpire");
}

void cmd_expireat(struct conn *c)
{
	expire_cmd(c, false, true, "expireat");
}

void cmd_pexpireat(struct conn *c)
{
	expire_cmd(c, true, true, "pexpireat");
}

static void ttl_cmd(struct conn *c, bool ms)
{
	const struct arg *k = &c->argv[1];
	int64_t left;
	int r = golite_ttl(c->w->s->db, c->table, k->p, k->len, &left);
	if (r == GOLITE_ENOTFOUND || r == GOLITE_ENOTABLE || r == GOLITE_EISDIR)
		reply_int(&c->out, -2);
	else if (r)
		reply_golite_error(c, r);
	else if (left < 0)
		reply_int(&c->out, -1);
	else
		reply_int(&c->out, ms ? left : (left + 500) / 1000);
}

void cmd_ttl(struct conn *c)
{
	ttl_cmd(c, false);
}

void cmd_pttl(struct conn *c)
{
	ttl_cmd(c, true);
}

void cmd_persist(struct conn *c)
{
	struct resp_server *s = c->w->s;
	const struct arg *k = &c->argv[1];
	pthread_mutex_t *mu = stripe_of(s, c->table, k->p, k->len);
	mutex_lock(mu);
	int64_t left;
	int r = golite_ttl(s->db, c->table, k->p, k->len, &left);
	if (r == 0 && left >= 0) {
		resp_writes_begin(s);
		r = golite_expire(s->db, c->table, k->p, k->len, 0);
		resp_writes_end(s);
		mutex_unlock(mu);
		if (r) {
			reply_golite_error(c, r);
		} else {
			reply_int(&c->out, 1);
			resp_changed(c, "persist", k->p, k->len);
		}
		return;
	}
	mutex_unlock(mu);
	if (r && r != GOLITE_ENOTFOUND && r != GOLITE_ENOTABLE && r != GOLITE_EISDIR)
		reply_golite_error(c, r);
	else
		reply_int(&c->out, 0);
}

/* SETEX KEY SECONDS VALUE, PSETEX KEY MS VALUE. */
static void setex_cmd(struct conn *c, bool ms, const char *name)
{
	long long v;
	if (!int_arg(c, 2, &v))
		return;
	uint64_t at;
	bool past;
	if (v <= 0 || !expiry_from(c, v, ms, false, &at, &past) || past) {
		reply_error(&c->out, "invalid expire time in '%s' command", name);
		return;
	}
	const struct arg *k = &c->argv[1], *val = &c->argv[3];
	int r = resp_put_at(c, k->p, k->len, val->p, val->len, at);
	if (r) {
		reply_golite_error(c, r);
		return;
	}
	reply_simple(&c->out, "OK");
	resp_changed(c, "put", k->p, k->len);
}

void cmd_setex(struct conn *c)
{
	setex_cmd(c, false, "setex");
}

void cmd_psetex(struct conn *c)
{
	setex_cmd(c, true, "psetex");
}
