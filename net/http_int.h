/*
 * http_int.h — what the files of the HTTP server share: the server, the
 * state of one request, the replies, and the helpers for keys, JSON and
 * base64. Not for use outside net/.
 *
 * Files:
 *   http.c          options, start and stop, the request handler: routes,
 *                   authentication, bodies, error replies
 *   http_keys.c     GET/HEAD/PUT/DELETE of one key, conditional writes
 *   http_list.c     tables (list, create, drop) and streamed key listings
 *   http_batch.c    POST /v1/batch
 *   http_events.c   publishing to the change feed, /v1/events (Server-Sent Events)
 *   http_metrics.c  /metrics, /healthz, /readyz
 *   http_util.c     percent-decoding, base64, JSON text, ETags, tokens
 *
 * Invariants:
 *   1. Every request gets exactly one reply, queued by the handler call
 *      that decides it; a reply with status >= 400 carries a JSON body
 *      {"code": WORD, "message": TEXT} and follows no change to the store.
 *   2. Every write to a key is made with that key's stripe of
 *      server->key_mu held, and a batch holds the stripes of all its keys
 *      (taken in index order): so a conditional write's read, compare and
 *      write are one step against every other write made over HTTP.
 *   3. A write is acknowledged (its reply queued) only after the store
 *      accepted it and the hooks' changed() returned.
 */
#ifndef GOLITE_NET_HTTP_INT_H
#define GOLITE_NET_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golite.h"
#include "golite_raw.h"
#include "http.h"

#define HTTP_KEY_LOCKS 256u          /* stripes of key_mu */
#define HTTP_ETAG_LEN 34u            /* '"' + 32 hex digits + '"' */
#define HTTP_LIST_DEFAULT 1000u      /* keys in a listing without limit= */
#define HTTP_SMALL_VALUE 65536u      /* values read into the thread's buffer */

/* A bearer token and what it may do. */
struct http_token {
	char *token;
	size_t len;
	bool rw;
};

/* Requests answered, by status class, for /metrics. */
enum { HTTP_CLASS_2XX, HTTP_CLASS_3XX, HTTP_CLASS_4XX, HTTP_CLASS_5XX, HTTP_CLASSES };
enum http_route_kind {
	R_KEY, R_LIST, R_TABLE, R_TABLES, R_BATCH, R_EVENTS, R_METRICS, R_HEALTH, R_CHECKPOINT,
	R_SNAPSHOTS, R_OTHER,
	R_COUNT
};

struct http_feed;

struct http_server {
	golite *db;
	struct http_config c;
	struct MHD_Daemon *d;
	unsigned port;
	struct http_token *tokens;   /* NULL: no authentication */
	size_t ntokens;
	char *cert_pem, *key_pem;
	pthread_mutex_t key_mu[HTTP_KEY_LOCKS];   /* invariant 2 */
	struct http_feed *feed;
	_Atomic bool stopping;
	_Atomic uint64_t requests[R_COUNT][HTTP_CLASSES];
	_Atomic uint64_t bytes_in, bytes_out;
	_Atomic uint64_t conns_open;
	int64_t start_ns;            /* wall clock at start */
};

/* A request's route, from its method and path. */
struct http_route {
	enum http_route_kind kind;
	const char *table;           /* decoded, NUL-terminated (R_KEY, R_LIST,
				      * R_TABLE); R_SNAPSHOTS: the snapshot's
				      * name, NULL for the list */
	const uint8_t *key;          /* decoded (R_KEY) */
	size_t klen;
	bool ready;                  /* R_HEALTH: /readyz */
};

/* The state of a request that has a body (con_cls). */
struct http_req {
	uint8_t *body;
	size_t len, cap;
	size_t limit;                /* the most body bytes accepted */
	bool too_big;                /* the body went past limit: 413 at the end */
	bool started;
};

/* ---- replies (http.c) ---- */

/* Queues the JSON error {"code": code, "message": message...}. Returns
 * what the handler returns. */
enum MHD_Result http_error(struct http_server *s, struct MHD_Connection *c, unsigned status,
			   const char *code, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* The error reply for a store error r (a negative GOLITE_E* code). */
enum MHD_Result http_store_error(struct http_server *s, struct MHD_Connection *c, int r,
				 const char *what);
/* Queues response with status and counts it; destroys the response. */
enum MHD_Result http_queue(struct http_server *s, struct MHD_Connection *c, unsigned status,
			   struct MHD_Response *resp);
/* Queues a JSON body (text of len bytes, copied). */
enum MHD_Result http_json(struct http_server *s, struct MHD_Connection *c, unsigned status,
			  const char *text, size_t len);
/* A query argument, percent-decoded into a malloc()ed buffer (*len bytes,
 * NUL-terminated), or NULL when absent. *bad is set for a malformed
 * escape. */
char *http_arg(struct MHD_Connection *c, const char *name, size_t *len, bool *bad);
/* The write hooks (see http.h). */
void http_write_begin(struct http_server *s);
void http_write_end(struct http_server *s);
void http_changed(struct http_server *s, const char *table, const void *key, size_t klen);

/* ---- handlers ---- */

/* http_keys.c */
enum MHD_Result http_key_get(struct http_server *s, struct MHD_Connection *c,
			     const struct http_route *r);
enum MHD_Result http_key_put(struct http_server *s, struct MHD_Connection *c,
			     const struct http_route *r, const uint8_t *body, size_t len);
enum MHD_Result http_key_delete(struct http_server *s, struct MHD_Connection *c,
				const struct http_route *r);
/* The stripe of key_mu that guards (table, key) (invariant 2). */
unsigned http_lock_index(const char *table, const void *key, size_t klen);

/* http_list.c */
enum MHD_Result http_tables_get(struct http_server *s, struct MHD_Connection *c);
enum MHD_Result http_table_put(struct http_server *s, struct MHD_Connection *c,
			       const struct http_route *r);
enum MHD_Result http_table_delete(struct http_server *s, struct MHD_Connection *c,
				  const struct http_route *r);
enum MHD_Result http_list(struct http_server *s, struct MHD_Connection *c,
			  const struct http_route *r);

/* http_batch.c */
/* The 405 answer, with Allow: allow. */
enum MHD_Result http_bad_method(struct http_server *s, struct MHD_Connection *c,
				const char *method, const char *allow);
/* ?snapshot=NAME: *snap a handle on it (to free), or NULL without the
 * argument. Returns 0, or -1 once an error reply is queued (*res). */
int http_snapshot_arg(struct http_server *s, struct MHD_Connection *c, golite_snapshot **snap,
		      enum MHD_Result *res);
enum MHD_Result http_snapshots(struct http_server *s, struct MHD_Connection *c,
			       const char *method, const struct http_route *rt);
/* A JSON request body parsed (duplicate names refused): the value, or
 * NULL once a 400 bad_json reply is queued (*res: what the handler
 * returns). */
struct json_t;
struct json_t *http_json_body(struct http_server *s, struct MHD_Connection *c,
			      const uint8_t *body, size_t len, enum MHD_Result *res);
/* Queues the JSON value v (compact) with status, and frees v. */
enum MHD_Result http_json_value(struct http_server *s, struct MHD_Connection *c,
				unsigned status, struct json_t *v);
enum MHD_Result http_checkpoint(struct http_server *s, struct MHD_Connection *c,
				const uint8_t *body, size_t len);
enum MHD_Result http_batch(struct http_server *s, struct MHD_Connection *c,
			   const uint8_t *body, size_t len);

/* http_events.c: the server's part in the store's change feed, and the
 * SSE streams that read it. */
/* Watches db's feed for the streams; they send a comment line every
 * keepalive_s seconds when idle. */
struct http_feed *feed_new(golite *db, unsigned keepalive_s);
/* Ends every stream (they return end-of-stream at their next call) and
 * wakes them, and stops the keepalive ticker; called before
 * MHD_stop_daemon. A second call does nothing. */
void feed_shutdown(struct http_feed *f);
/* Frees the feed, shut down first if it was not. */
void feed_free(struct http_feed *f);
/* Publishes a change made over HTTP to the store's feed (golite_raw.h
 * lists the ops): "put" and "delete" of table/key, "move" of table/key to
 * to_table/to_key, "create-table" and "drop-table" (key NULL). Nothing to
 * do while nobody reads the feed. */
void http_publish(struct http_server *s, const char *op, const char *table, const void *key,
		  size_t klen, const char *to_table, const void *to_key, size_t to_klen);
enum MHD_Result http_events(struct http_server *s, struct MHD_Connection *c);

/* http_metrics.c */
enum MHD_Result http_metrics(struct http_server *s, struct MHD_Connection *c);
enum MHD_Result http_health(struct http_server *s, struct MHD_Connection *c, bool ready);

/* ---- helpers (http_util.c) ---- */

/* Decodes %XX escapes of s[0, n) into out (n bytes of room); '+' is a
 * space when plus is set (query strings). Returns the length, or -1 for a
 * malformed escape. */
long http_pct_decode(uint8_t *out, const char *s, size_t n, bool plus);

/* True if p[0, n) is valid UTF-8 without NUL bytes. */
bool utf8_valid(const uint8_t *p, size_t n);

/* A growing text buffer. */
struct sbuf {
	char *p;
	size_t len, cap;
};
void sb_put(struct sbuf *b, const void *p, size_t n);
void sb_puts(struct sbuf *b, const char *s);
__attribute__((format(printf, 2, 3))) void sb_printf(struct sbuf *b, const char *fmt, ...);
/* Writes "NAME":"TEXT" for bytes that are UTF-8 text, else
 * "NAME_b64":"BASE64" (name without quotes). */
void sb_json_bytes(struct sbuf *b, const char *name, const void *p, size_t n);
/* Writes p[0, n) (valid UTF-8) as a quoted JSON string. */
void sb_json_str(struct sbuf *b, const void *p, size_t n);

/* The ETag of a value: a 128-bit hash (XXH3) in hex, quoted. */
void http_etag(const void *value, size_t len, char out[HTTP_ETAG_LEN + 1]);
/* True if the header list (If-Match / If-None-Match: "*" or quoted tags
 * separated by commas, W/ prefixes ignored) holds etag; "*" matches any
 * existing value (etag non-NULL). */
bool http_etag_match(const char *list, const char *etag);

/* Reads the tokens file (mode 0600 or stricter). Returns 0, or -1 with a
 * message in err. */
int http_tokens_load(struct http_server *s, const char *path, char *err, size_t errlen);
/* Finds the token of "Bearer TOKEN" (constant time in the token). NULL if
 * none matches. */
const struct http_token *http_token_find(const struct http_server *s, const char *auth);

#endif /* GOLITE_NET_HTTP_INT_H */
