/*
 * http.h — the HTTP API of a GoLite store (docs/api.md), served by the
 * process that owns the data directory: `golitefs -o http=ADDR:PORT` beside
 * the mount, `golite serve` without it.
 *
 * The server runs on libmicrohttpd threads of its own (an epoll loop per
 * thread of a pool) and calls into the store through golite.h and
 * golite_raw.h only. The program that starts it keeps the store open until
 * http_stop() has returned.
 *
 * Hooks. A program that shows the store some other way (the mount) learns
 * of every change made over HTTP through changed(), called after the store
 * accepted the change and before the client's reply is sent, so that a
 * client that reads through the mount after its reply sees the change.
 * write_begin()/write_end() bracket every write the server makes (a
 * program may hold a lock there that its own restructuring takes
 * exclusively). All are optional and may be called from any server
 * thread at once.
 */
#ifndef GOLITE_NET_HTTP_H
#define GOLITE_NET_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golite.h"

/* Where the server listens by default: loopback only. */
#define HTTP_DEFAULT_LISTEN "127.0.0.1:7480"

struct http_hooks {
	/* A key was written or deleted (key != NULL), or table was created
	 * or dropped (key NULL). */
	void (*changed)(void *ctx, const char *table, const void *key, size_t klen);
	void (*write_begin)(void *ctx);
	void (*write_end)(void *ctx);
	/* POST /v1/checkpoint: takes the checkpoint (0 or a GOLITE_E* code)
	 * instead of golite_checkpoint, and paths inside mountpoint are
	 * refused (both NULL without a mount). */
	int (*checkpoint)(void *ctx, const char *dir, uint64_t *seq);
	const char *mountpoint;
	void *ctx;
};

/* What the server is asked to do. Fill with http_config_init(); the
 * strings are not copied and must outlive http_stop(). */
struct http_config {
	const char *listen;          /* "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT"
				      * (every address); default
				      * HTTP_DEFAULT_LISTEN. Port 0: any free
				      * port (http_port() tells which). */
	const char *tls_cert;        /* PEM certificate chain: HTTPS instead of
				      * HTTP. Needs tls_key. Default NULL. */
	const char *tls_key;         /* PEM private key (unencrypted) */
	const char *tokens;          /* file of bearer tokens, mode 0600, lines
				      * "TOKEN rw" or "TOKEN ro"; NULL (the
				      * default): no authentication */
	size_t max_body;             /* largest request body; default and most
				      * GOLITE_MAX_VALUE_SIZE */
	unsigned max_conns;          /* connections at once; default 1024 */
	unsigned threads;            /* server threads; default: online CPUs */
	unsigned timeout_s;          /* an idle connection is closed after it;
				      * default 60, 0 never */
	size_t conn_memory;          /* memory per connection for the request
				      * line and headers; default 64 KiB */
	unsigned events_buffer;      /* events the store's change feed keeps
				      * (golite_options.feed_events), for the
				      * program that opens the store to apply
				      * (the server reads the store's feed);
				      * default 0: the store's, 8192 */
	bool read_only;              /* answer every write 403 */
	struct http_hooks hooks;
};

void http_config_init(struct http_config *c);

/*
 * Sets one option by name, as both programs take them: "http" (listen),
 * "http_tls_cert", "http_tls_key", "http_tokens", "http_max_body" (K, M
 * suffixes), "http_max_conns", "http_threads", "http_timeout" (seconds),
 * "http_conn_memory", "http_events_buffer". The value string is kept (not
 * copied). Returns 0, or -1 with a message in err (errlen bytes) for an
 * unknown name or a bad value.
 */
int http_config_set(struct http_config *c, const char *name, const char *value, char *err,
		    size_t errlen);

struct http_server;

/*
 * Starts serving db. Reads the certificate, key and tokens files, binds
 * and starts the threads. Returns 0 and the server in *out, or -1 with
 * the reason in err (errlen bytes): a file that cannot be read, a tokens
 * file others may read, an address in use...
 */
int http_start(golite *db, const struct http_config *c, struct http_server **out, char *err,
	       size_t errlen);

/* The port the server listens on. */
unsigned http_port(const struct http_server *s);

/*
 * Stops: ends the event streams, lets the requests under way finish,
 * closes every connection and joins the threads. NULL is accepted. After
 * it returns the server makes no call into the store.
 */
void http_stop(struct http_server *s);

/* The help text of the options of http_config_set, for --help. */
extern const char http_options_help[];

#endif /* GOLITE_NET_HTTP_H */
