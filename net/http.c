/*
 * http.c — the HTTP server of a GoLite store: its options, start and stop,
 * and the request handler (routes, authentication, bodies, error replies).
 * docs/api.md describes the API; http_int.h lists the other files and the
 * invariants they keep.
 *
 * libmicrohttpd runs a pool of threads, each with its own epoll loop and
 * its own connections (MHD_USE_EPOLL_INTERNAL_THREAD with
 * MHD_OPTION_THREAD_POOL_SIZE). The handler is called once when a
 * request's headers are in, then once per piece of its body, then once
 * more at its end. Requests without a body (GET, HEAD, DELETE) are
 * answered at the first call; PUT and POST gather their body (bounded by
 * max_body, chunked transfer-encoding included) and are answered at the
 * last.
 *
 * Paths are taken raw (the unescape callback below leaves them as they
 * came) so that a key may hold any byte, '/' and NUL included: the table
 * and the key are percent-decoded here, with their lengths.
 */
#include "http_int.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

const char http_options_help[] =
	"  http[=ADDR:PORT]       serve the HTTP API (docs/api.md), at " HTTP_DEFAULT_LISTEN "\n"
	"                         (loopback only) without a value; ADDR may be an\n"
	"                         IPv4 address, [IPv6], a host name, or empty for\n"
	"                         every IPv4 address\n"
	"  http_tls_cert=FILE     serve HTTPS with this PEM certificate (chain)\n"
	"  http_tls_key=FILE      ... and this PEM private key\n"
	"  http_tokens=FILE       require \"Authorization: Bearer TOKEN\"; FILE (mode\n"
	"                         0600) holds lines \"TOKEN rw\" or \"TOKEN ro\"\n"
	"  http_max_body=SIZE     largest request body (default and most 64M)\n"
	"  http_max_conns=N       connections at once (default 1024)\n"
	"  http_threads=N         server threads (default: one per CPU)\n"
	"  http_timeout=SECONDS   idle connections are closed after it (default 60,\n"
	"                         0: never)\n"
	"  http_conn_memory=SIZE  memory per connection for the request line and\n"
	"                         headers (default 64K; longer ones get 431 or 414)\n"
	"  http_events_buffer=N   events the store's change feed keeps for /v1/events\n"
	"                         readers that fall behind (default 8192)\n";

void http_config_init(struct http_config *c)
{
	memset(c, 0, sizeof(*c));
	c->listen = HTTP_DEFAULT_LISTEN;
	c->max_body = GOLITE_MAX_VALUE_SIZE;
	c->max_conns = 1024;
	c->timeout_s = 60;
	c->conn_memory = 64u << 10;
	c->events_buffer = 0;
}

static bool parse_count(const char *s, uint64_t *out, bool size)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return false;
	if (size) {
		switch (*end) {
		case 'k': case 'K': v <<= 10; end++; break;
		case 'm': case 'M': v <<= 20; end++; break;
		case 'g': case 'G': v <<= 30; end++; break;
		default: break;
		}
	}
	if (*end)
		return false;
	*out = v;
	return true;
}

int http_config_set(struct http_config *c, const char *name, const char *value, char *err,
		    size_t errlen)
{
	uint64_t v = 0;
	if (!strcmp(name, "http")) {
		c->listen = value;
		return 0;
	}
	if (!strcmp(name, "http_tls_cert")) {
		c->tls_cert = value;
		return 0;
	}
	if (!strcmp(name, "http_tls_key")) {
		c->tls_key = value;
		return 0;
	}
	if (!strcmp(name, "http_tokens")) {
		c->tokens = value;
		return 0;
	}
	bool size = !strcmp(name, "http_max_body") || !strcmp(name, "http_conn_memory");
	if (!parse_count(value, &v, size)) {
		snprintf(err, errlen, "%s=%s: not a %s", name, value, size ? "size" : "number");
		return -1;
	}
	if (!strcmp(name, "http_max_body")) {
		if (v < 1 || v > GOLITE_MAX_VALUE_SIZE) {
			snprintf(err, errlen, "http_max_body=%s: use 1..64M", value);
			return -1;
		}
		c->max_body = v;
	} else if (!strcmp(name, "http_conn_memory")) {
		if (v < 4096 || v > (16u << 20)) {
			snprintf(err, errlen, "http_conn_memory=%s: use 4K..16M", value);
			return -1;
		}
		c->conn_memory = v;
	} else if (!strcmp(name, "http_max_conns") && v >= 1 && v <= 1000000) {
		c->max_conns = (unsigned)v;
	} else if (!strcmp(name, "http_threads") && v >= 1 && v <= 1024) {
		c->threads = (unsigned)v;
	} else if (!strcmp(name, "http_timeout") && v <= 86400) {
		c->timeout_s = (unsigned)v;
	} else if (!strcmp(name, "http_events_buffer") && v >= 1 && v <= (1u << 24)) {
		c->events_buffer = (unsigned)v;
	} else {
		snprintf(err, errlen, "%s=%s: unknown option or value out of range", name, value);
		return -1;
	}
	return 0;
}

/* ---- replies ---- */

static unsigned status_class(unsigned status)
{
	return status < 300 ? HTTP_CLASS_2XX : status < 400 ? HTTP_CLASS_3XX
	       : status < 500 ? HTTP_CLASS_4XX : HTTP_CLASS_5XX;
}

/* The route of the request being answered on this thread, for counting. */
static __thread enum http_route_kind cur_route = R_OTHER;

enum MHD_Result http_queue(struct http_server *s, struct MHD_Connection *c, unsigned status,
			   struct MHD_Response *resp)
{
	atomic_fetch_add_explicit(&s->requests[cur_route][status_class(status)], 1,
				  memory_order_relaxed);
	enum MHD_Result r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

enum MHD_Result http_json(struct http_server *s, struct MHD_Connection *c, unsigned status,
			  const char *text, size_t len)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	return http_queue(s, c, status, resp);
}

/* Queues the JSON error body {"code","status","message"} with status and,
 * if hname is not NULL, the header hname: hval. A message that is not
 * valid text (it may quote a client's bytes) goes out as fallback. */
static enum MHD_Result error_reply(struct http_server *s, struct MHD_Connection *c,
				   unsigned status, const char *code, const char *msg,
				   const char *fallback, const char *hname, const char *hval)
{
	struct sbuf b = { 0 };
	sb_puts(&b, "{\"code\":");
	sb_json_str(&b, code, strlen(code));
	sb_puts(&b, ",\"status\":");
	sb_printf(&b, "%u", status);
	sb_puts(&b, ",\"message\":");
	if (utf8_valid((const uint8_t *)msg, strlen(msg)))
		sb_json_str(&b, msg, strlen(msg));
	else
		sb_json_str(&b, fallback, strlen(fallback));
	sb_puts(&b, "}\n");
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(b.p);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (hname)
		MHD_add_response_header(resp, hname, hval);
	return http_queue(s, c, status, resp);
}

enum MHD_Result http_error(struct http_server *s, struct MHD_Connection *c, unsigned status,
			   const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (status == MHD_HTTP_UNAUTHORIZED)
		return error_reply(s, c, status, code, msg, "(not UTF-8)",
				   MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"golite\"");
	return error_reply(s, c, status, code, msg, "(not UTF-8)", NULL, NULL);
}

enum MHD_Result http_store_error(struct http_server *s, struct MHD_Connection *c, int r,
				 const char *what)
{
	const char *detail = golite_last_error();
	if (!detail || !*detail)
		detail = golite_strerror(r);
	switch (r) {
	case GOLITE_ENOTFOUND:
		return http_error(s, c, 404, "not_found", "%s: no such key", what);
	case GOLITE_ENOTABLE:
		return http_error(s, c, 404, "no_table", "%s: no such table", what);
	case GOLITE_EKEYSIZE:
		return http_error(s, c, 400, "bad_key", "%s: a key is 1..%u bytes", what,
				  GOLITE_MAX_KEY_SIZE);
	case GOLITE_EVALSIZE:
		return http_error(s, c, 413, "too_large", "%s: a value is at most %u bytes", what,
				  GOLITE_MAX_VALUE_SIZE);
	case GOLITE_EBATCH:
		return http_error(s, c, 413, "too_large", "%s: the batch is too large", what);
	case GOLITE_ENAME:
		return http_error(s, c, 400, "bad_table", "%s: not a valid table name", what);
	case GOLITE_EEXIST:
		return http_error(s, c, 409, "exists", "%s: the table exists", what);
	case GOLITE_ENOTEMPTY:
		return http_error(s, c, 409, "not_empty",
				  "%s: the table holds keys (add ?force=1 to drop them too)", what);
	case GOLITE_EISDIR:
		return http_error(s, c, 409, "is_directory",
				  "%s: the key names a directory made through the mount", what);
	case GOLITE_EROFS:
		return http_error(s, c, 403, "read_only", "%s: the store is read-only", what);
	case GOLITE_ENOSPC:
		return http_error(s, c, 507, "no_space", "%s: %s", what, detail);
	case GOLITE_EFAILED:
	case GOLITE_ECLOSED:
		return http_error(s, c, 503, "unavailable", "%s: %s", what, detail);
	case GOLITE_EINVAL:
		return http_error(s, c, 400, "bad_request", "%s: %s", what, detail);
	default:
		return http_error(s, c, 500, "store_error", "%s: %s", what, detail);
	}
}

char *http_arg(struct MHD_Connection *c, const char *name, size_t *len, bool *bad)
{
	const char *raw = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
	if (!raw)
		return NULL;
	size_t n = strlen(raw);
	char *out = xmalloc(n + 1);
	long l = http_pct_decode((uint8_t *)out, raw, n, true);
	if (l < 0) {
		*bad = true;
		free(out);
		return NULL;
	}
	out[l] = '\0';
	if (len)
		*len = (size_t)l;
	return out;
}

/* ---- hooks ---- */

void http_write_begin(struct http_server *s)
{
	if (s->c.hooks.write_begin)
		s->c.hooks.write_begin(s->c.hooks.ctx);
}

void http_write_end(struct http_server *s)
{
	if (s->c.hooks.write_end)
		s->c.hooks.write_end(s->c.hooks.ctx);
}

void http_changed(struct http_server *s, const char *table, const void *key, size_t klen)
{
	if (s->c.hooks.changed)
		s->c.hooks.changed(s->c.hooks.ctx, table, key, klen);
}

/* ---- routes ---- */

/* Decoded tables and keys live in the thread's buffers until the next
 * request on the thread. */
static __thread char table_buf[GOLITE_MAX_TABLE_NAME + 1];
static __thread uint8_t key_buf[3 * GOLITE_MAX_KEY_SIZE + 1];

enum route_err {
	ROUTE_OK, ROUTE_NONE, ROUTE_BAD_TABLE, ROUTE_BAD_KEY, ROUTE_KEY_SIZE, ROUTE_BAD_SNAPSHOT
};

static enum route_err route_of(const char *url, struct http_route *r)
{
	memset(r, 0, sizeof(*r));
	r->kind = R_OTHER;
	if (!strcmp(url, "/healthz") || !strcmp(url, "/readyz")) {
		r->kind = R_HEALTH;
		r->ready = url[1] == 'r';
		return ROUTE_OK;
	}
	if (!strcmp(url, "/metrics")) {
		r->kind = R_METRICS;
		return ROUTE_OK;
	}
	if (!strcmp(url, "/v1/tables") || !strcmp(url, "/v1/tables/")) {
		r->kind = R_TABLES;
		return ROUTE_OK;
	}
	if (!strcmp(url, "/v1/batch")) {
		r->kind = R_BATCH;
		return ROUTE_OK;
	}
	if (!strcmp(url, "/v1/events")) {
		r->kind = R_EVENTS;
		return ROUTE_OK;
	}
	if (!strcmp(url, "/v1/checkpoint")) {
		r->kind = R_CHECKPOINT;
		return ROUTE_OK;
	}
	if (!strcmp(url, "/v1/snapshots") || !strcmp(url, "/v1/snapshots/")) {
		r->kind = R_SNAPSHOTS;
		return ROUTE_OK;
	}
	if (!strncmp(url, "/v1/snapshots/", 14)) {
		/* A snapshot's name, decoded into the table's buffer. */
		const char *n = url + 14;
		size_t nlen = strlen(n);
		r->kind = R_SNAPSHOTS;
		if (nlen > 3 * GOLITE_MAX_SNAPSHOT_NAME)
			return ROUTE_BAD_SNAPSHOT;
		uint8_t nb[3 * GOLITE_MAX_SNAPSHOT_NAME];
		long nl = http_pct_decode(nb, n, nlen, false);
		if (nl <= 0 || (size_t)nl > GOLITE_MAX_SNAPSHOT_NAME || memchr(nb, 0, (size_t)nl))
			return ROUTE_BAD_SNAPSHOT;
		memcpy(table_buf, nb, (size_t)nl);
		table_buf[nl] = '\0';
		r->table = table_buf;
		return ROUTE_OK;
	}
	if (strncmp(url, "/v1/t/", 6) != 0)
		return ROUTE_NONE;
	const char *t = url + 6;
	const char *slash = strchr(t, '/');
	size_t tlen = slash ? (size_t)(slash - t) : strlen(t);
	if (tlen == 0 || tlen > 3 * GOLITE_MAX_TABLE_NAME)
		return ROUTE_BAD_TABLE;
	uint8_t tb[3 * GOLITE_MAX_TABLE_NAME];
	long tl = http_pct_decode(tb, t, tlen, false);
	if (tl <= 0 || (size_t)tl > GOLITE_MAX_TABLE_NAME || memchr(tb, 0, (size_t)tl))
		return ROUTE_BAD_TABLE;
	memcpy(table_buf, tb, (size_t)tl);
	table_buf[tl] = '\0';
	r->table = table_buf;
	if (!slash) {
		r->kind = R_TABLE;
		return ROUTE_OK;
	}
	const char *k = slash + 1;
	size_t n = strlen(k);
	r->kind = R_KEY;
	if (n > 3 * GOLITE_MAX_KEY_SIZE)
		return ROUTE_KEY_SIZE;
	long kl = http_pct_decode(key_buf, k, n, false);
	if (kl < 0)
		return ROUTE_BAD_KEY;
	if (kl == 0 || (size_t)kl > GOLITE_MAX_KEY_SIZE)
		return ROUTE_KEY_SIZE;
	r->key = key_buf;
	r->klen = (size_t)kl;
	return ROUTE_OK;
}

static bool is_write(const char *method)
{
	return !strcmp(method, "PUT") || !strcmp(method, "DELETE") || !strcmp(method, "POST");
}

static bool has_body(const struct http_route *r, const char *method)
{
	return (r->kind == R_KEY && !strcmp(method, "PUT")) ||
	       (r->kind == R_BATCH && !strcmp(method, "POST")) ||
	       (r->kind == R_CHECKPOINT && !strcmp(method, "POST")) ||
	       (r->kind == R_TABLE && !strcmp(method, "PUT"));
}

enum MHD_Result http_bad_method(struct http_server *s, struct MHD_Connection *c,
				const char *method, const char *allow)
{
	char msg[160];
	snprintf(msg, sizeof(msg), "%.32s is not allowed here (allowed: %s)", method, allow);
	return error_reply(s, c, 405, "bad_method", msg, allow, MHD_HTTP_HEADER_ALLOW, allow);
}

/* Answers a request whose body (if any) is complete. */
static enum MHD_Result dispatch(struct http_server *s, struct MHD_Connection *c,
				const char *method, const struct http_route *r,
				const uint8_t *body, size_t len)
{
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	switch (r->kind) {
	case R_KEY:
		if (get)
			return http_key_get(s, c, r);
		if (!strcmp(method, "PUT"))
			return http_key_put(s, c, r, body, len);
		if (!strcmp(method, "DELETE"))
			return http_key_delete(s, c, r);
		return http_bad_method(s, c, method, "GET, HEAD, PUT, DELETE");
	case R_TABLE:
		if (get)
			return http_list(s, c, r);
		if (!strcmp(method, "PUT"))
			return http_table_put(s, c, r);
		if (!strcmp(method, "DELETE"))
			return http_table_delete(s, c, r);
		return http_bad_method(s, c, method, "GET, HEAD, PUT, DELETE");
	case R_TABLES:
		if (get)
			return http_tables_get(s, c);
		return http_bad_method(s, c, method, "GET, HEAD");
	case R_BATCH:
		if (!strcmp(method, "POST"))
			return http_batch(s, c, body, len);
		return http_bad_method(s, c, method, "POST");
	case R_EVENTS:
		if (!strcmp(method, "GET"))
			return http_events(s, c);
		return http_bad_method(s, c, method, "GET");
	case R_CHECKPOINT:
		if (!strcmp(method, "POST"))
			return http_checkpoint(s, c, body, len);
		return http_bad_method(s, c, method, "POST");
	case R_SNAPSHOTS:
		return http_snapshots(s, c, method, r);
	case R_METRICS:
		if (get)
			return http_metrics(s, c);
		return http_bad_method(s, c, method, "GET, HEAD");
	case R_HEALTH:
		if (get)
			return http_health(s, c, r->ready);
		return http_bad_method(s, c, method, "GET, HEAD");
	default:
		return http_error(s, c, 404, "no_route", "no such resource (see docs/api.md)");
	}
}

/* The marker of a request without a body (con_cls). */
static struct http_req no_body;

/* Checks the token, the route and the store's mode. Returns MHD_YES + 1
 * if the request may go on, else what the handler returns (the error has
 * been queued). */
static enum MHD_Result check(struct http_server *s, struct MHD_Connection *c,
			     const char *method, const struct http_route *r, enum route_err re)
{
	if (r->kind != R_HEALTH && s->tokens) {
		const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							       MHD_HTTP_HEADER_AUTHORIZATION);
		const struct http_token *t = http_token_find(s, auth);
		if (!t)
			return http_error(s, c, 401, "unauthorized",
					  auth ? "the token is not valid"
					       : "an Authorization: Bearer token is required");
		if (!t->rw && is_write(method))
			return http_error(s, c, 403, "forbidden", "the token may only read");
	}
	switch (re) {
	case ROUTE_OK:
		break;
	case ROUTE_NONE:
		return http_error(s, c, 404, "no_route", "no such resource (see docs/api.md)");
	case ROUTE_BAD_TABLE:
		return http_error(s, c, 400, "bad_table",
				  "the table name is empty, too long, holds NUL or a bad %%-escape");
	case ROUTE_BAD_KEY:
		return http_error(s, c, 400, "bad_key", "the key holds a malformed %%-escape");
	case ROUTE_KEY_SIZE:
		return http_error(s, c, 400, "bad_key", "a key is 1..%u bytes",
				  GOLITE_MAX_KEY_SIZE);
	case ROUTE_BAD_SNAPSHOT:
		return http_error(s, c, 400, "bad_snapshot",
				  "a snapshot's name is 1..%u bytes without NUL or a bad %%-escape",
				  GOLITE_MAX_SNAPSHOT_NAME);
	}
	if (is_write(method) && MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "snapshot"))
		return http_error(s, c, 400, "bad_argument", "a snapshot is read-only");
	if (is_write(method) && s->c.read_only && r->kind != R_OTHER)
		return http_error(s, c, 403, "read_only", "the store is served read-only");
	if (atomic_load_explicit(&s->stopping, memory_order_relaxed))
		return http_error(s, c, 503, "unavailable", "the server is stopping");
	return (enum MHD_Result)(MHD_YES + 1);
}

/* Checks and answers a request without a body. */
static enum MHD_Result answer(struct http_server *s, struct MHD_Connection *c,
			      const char *method, const struct http_route *r, enum route_err re)
{
	enum MHD_Result res = check(s, c, method, r, re);
	if (res != MHD_YES + 1)
		return res;
	return dispatch(s, c, method, r, NULL, 0);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version,
			       const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_req *rq = *con_cls;
	(void)version;
	if (rq == &no_body && *upload_data_size) {
		/* A body where none is wanted: dropped. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (rq && *upload_data_size) {
		/* A piece of the body. */
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		atomic_fetch_add_explicit(&s->bytes_in, n, memory_order_relaxed);
		if (rq->too_big || rq->len + n > rq->limit) {
			/* Read and dropped, so that the 413 can be sent at the
			 * end; a client that goes on past twice the limit is
			 * cut off. */
			rq->too_big = true;
			rq->len += n;
			return rq->len > 2 * rq->limit + (1u << 20) ? MHD_NO : MHD_YES;
		}
		if (rq->len + n > rq->cap) {
			size_t cap = rq->cap ? rq->cap : 4096;
			while (cap < rq->len + n)
				cap *= 2;
			rq->body = xrealloc(rq->body, MIN(cap, rq->limit));
			rq->cap = MIN(cap, rq->limit);
		}
		memcpy(rq->body + rq->len, upload_data, n);
		rq->len += n;
		return MHD_YES;
	}
	struct http_route r;
	enum route_err re = route_of(url, &r);
	cur_route = r.kind;
	if (rq == &no_body) {
		/* A request without a body, answered at its second call: an
		 * answer queued at the first would close the connection (the
		 * library cannot know the client sent nothing more). */
		return answer(s, c, method, &r, re);
	}
	if (rq) {
		/* The end of a request with a body. */
		if (rq->too_big)
			return http_error(s, c, 413, "too_large",
					  "the body is larger than %zu bytes", rq->limit);
		if (atomic_load_explicit(&s->stopping, memory_order_relaxed))
			return http_error(s, c, 503, "unavailable", "the server is stopping");
		return dispatch(s, c, method, &r, rq->body, rq->len);
	}

	/* The first call: the headers are in. */
	if (!has_body(&r, method)) {
		*con_cls = &no_body;
		return MHD_YES;
	}
	/* A request with a body is refused before the body is read (then the
	 * connection closes). */
	enum MHD_Result res = check(s, c, method, &r, re);
	if (res != MHD_YES + 1)
		return res;
	size_t limit = r.kind == R_TABLE ? 4096 : s->c.max_body;
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > limit)
		return http_error(s, c, 413, "too_large", "the body is larger than %zu bytes",
				  limit);
	rq = xcalloc(1, sizeof(*rq));
	rq->limit = limit;
	*con_cls = rq;
	return MHD_YES;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct http_req *rq = *con_cls;
	if (rq && rq != &no_body) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static void connection_note(void *cls, struct MHD_Connection *c, void **socket_context,
			    enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *s = cls;
	(void)c;
	(void)socket_context;
	if (toe == MHD_CONNECTION_NOTIFY_STARTED)
		atomic_fetch_add(&s->conns_open, 1);
	else
		atomic_fetch_sub(&s->conns_open, 1);
}

/* Leaves paths and arguments as they came: route_of and http_arg decode
 * them with their lengths. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *uri)
{
	(void)cls;
	(void)c;
	return strlen(uri);
}

/* libmicrohttpd's messages: kept while starting (to explain a failure),
 * dropped after. */
static __thread char *start_msg;
static __thread size_t start_msg_len;

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (!start_msg)
		return;
	vsnprintf(start_msg, start_msg_len, fmt, ap);
	start_msg[strcspn(start_msg, "\n")] = '\0';
}

/* ---- start and stop ---- */

static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct sbuf b = { 0 };
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_put(&b, buf, n);
	bool bad = ferror(f);
	fclose(f);
	if (bad || b.len == 0) {
		snprintf(err, errlen, "%s: %s", path, bad ? "read error" : "empty");
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Resolves "ADDR:PORT" into *ss. */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen,
			char *err, size_t errlen)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	if (!colon) {
		snprintf(err, errlen, "http=%s: want ADDR:PORT", listen);
		return -1;
	}
	size_t hl = (size_t)(colon - listen);
	const char *h = listen;
	if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		snprintf(err, errlen, "http=%s: address too long", listen);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = '\0';
	char *end;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || port > 65535) {
		snprintf(err, errlen, "http=%s: not a port", listen);
		return -1;
	}
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE }, *ai;
	int gr = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &ai);
	if (gr) {
		snprintf(err, errlen, "http=%s: %s", listen, gai_strerror(gr));
		return -1;
	}
	/* Without an address: every IPv4 address (":PORT"). */
	struct addrinfo *pick = ai;
	for (struct addrinfo *p = ai; !hl && p; p = p->ai_next)
		if (p->ai_family == AF_INET)
			pick = p;
	memcpy(ss, pick->ai_addr, pick->ai_addrlen);
	*sslen = pick->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void server_free(struct http_server *s)
{
	if (!s)
		return;
	if (s->feed)
		feed_free(s->feed);
	for (unsigned i = 0; i < HTTP_KEY_LOCKS; i++)
		pthread_mutex_destroy(&s->key_mu[i]);
	for (size_t i = 0; i < s->ntokens; i++) {
		explicit_bzero(s->tokens[i].token, s->tokens[i].len);
		free(s->tokens[i].token);
	}
	free(s->tokens);
	if (s->key_pem)
		explicit_bzero(s->key_pem, strlen(s->key_pem));
	free(s->key_pem);
	free(s->cert_pem);
	free(s);
}

int http_start(golite *db, const struct http_config *cfg, struct http_server **out, char *err,
	       size_t errlen)
{
	*out = NULL;
	struct http_server *s = xcalloc(1, sizeof(*s));
	s->db = db;
	s->c = *cfg;
	s->start_ns = wall_ns();
	for (unsigned i = 0; i < HTTP_KEY_LOCKS; i++)
		mutex_init(&s->key_mu[i]);
	if (!s->c.threads)
		s->c.threads = usable_cpus();
	if (!s->c.listen)
		s->c.listen = HTTP_DEFAULT_LISTEN;
	if (!s->c.max_body || s->c.max_body > GOLITE_MAX_VALUE_SIZE)
		s->c.max_body = GOLITE_MAX_VALUE_SIZE;
	if (!!s->c.tls_cert != !!s->c.tls_key) {
		snprintf(err, errlen, "HTTPS needs both a certificate and a key file");
		goto out_free;
	}
	if (s->c.tls_cert) {
		s->cert_pem = read_file(s->c.tls_cert, err, errlen);
		if (!s->cert_pem)
			goto out_free;
		s->key_pem = read_file(s->c.tls_key, err, errlen);
		if (!s->key_pem)
			goto out_free;
	}
	if (s->c.tokens && http_tokens_load(s, s->c.tokens, err, errlen) < 0)
		goto out_free;
	struct sockaddr_storage ss;
	socklen_t sslen;
	if (parse_listen(s->c.listen, &ss, &sslen, err, errlen) < 0)
		goto out_free;
	/* Idle event streams send a comment line often enough that the idle
	 * timeout never closes them. */
	unsigned keepalive = s->c.timeout_s ? MAX(1u, MIN(15u, s->c.timeout_s / 2)) : 15;
	s->feed = feed_new(s->db, keepalive);

	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG | MHD_USE_TURBO;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (s->c.tls_cert)
		flags |= MHD_USE_TLS;
	/* Turbo mode leaves out the listening socket's SO_REUSEADDR and
	 * shutdown() calls; the address can still be reused at once. */
	char msg[256] = "";
	start_msg = msg;
	start_msg_len = sizeof(msg);
	struct MHD_OptionItem opts[16];
	int n = 0;
#define OPT(o, v, p) opts[n++] = (struct MHD_OptionItem){ (o), (intptr_t)(v), (p) }
	OPT(MHD_OPTION_SOCK_ADDR, 0, &ss);
	OPT(MHD_OPTION_CONNECTION_LIMIT, s->c.max_conns, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, s->c.timeout_s, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, s->c.conn_memory, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, completed, s);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, connection_note, s);
	OPT(MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, s);
	OPT(MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s);
	OPT(MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL);
	if (s->c.threads > 1)
		OPT(MHD_OPTION_THREAD_POOL_SIZE, s->c.threads, NULL);
	if (s->c.tls_cert) {
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, s, MHD_OPTION_ARRAY, opts,
				MHD_OPTION_END);
	start_msg = NULL;
	if (!s->d) {
		snprintf(err, errlen, "cannot serve HTTP at %s: %s", s->c.listen,
			 msg[0] ? msg : "the address is in use or not this machine's");
		goto out_free;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : 0;
	*out = s;
	return 0;

out_free:
	server_free(s);
	return -1;
}

unsigned http_port(const struct http_server *s)
{
	return s->port;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	/* Suspended event streams must be resumed before the daemon stops;
	 * they end at their next call. */
	feed_shutdown(s->feed);
	MHD_stop_daemon(s->d);
	server_free(s);
}
