/*
 * resp.h — the Redis-protocol (RESP2) front end of a GoLite store.
 *
 * A process that owns an open store (golitefs, `golite serve`) starts a
 * server with resp_start() and stops it with resp_stop() before it closes
 * the store. redis-cli, redis-benchmark and the Redis client libraries talk
 * to it; docs/redis.md lists the commands and how Redis databases map to
 * GoLite tables (each connection has a selected table, "0" at first;
 * SELECT NAME selects table NAME; keys are the table's keys, verbatim).
 * The writes it makes are published to the store's change feed
 * (golite_raw.h), and SUBSCRIBE's keyspace notifications are made from
 * that feed, so they tell of writes through any front end.
 *
 * Conventions as in golite.h: calls that can fail return 0 or a negative
 * errno value (strerror(-r) explains it; the cause is also logged).
 */
#ifndef GOLITE_RESP_H
#define GOLITE_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golite.h"

struct resp_server;

/* Options for resp_start(). Fill with resp_options_init(), then change
 * what you need. */
struct resp_options {
	/* "ADDR:PORT" to listen on: an IPv4 address, a host name, or an IPv6
	 * address in brackets ("[::1]:6380"). Port 0 picks a free port (see
	 * resp_port). Default "127.0.0.1:6380". */
	const char *listen;
	/* A file holding the password clients must give with AUTH before any
	 * other command (one line; a trailing newline is not part of it). It
	 * must be a regular file that only its owner may read or write (mode
	 * 0600 or stricter), or resp_start fails with -EPERM. Read once at
	 * start. Default NULL: no password, every client may do anything. */
	const char *password_file;
	/* Connections served at once; a connection past it gets
	 * "-ERR max number of clients reached" and is closed. Default 10000. */
	unsigned max_clients;
	/* Largest request (a command and its arguments, in bytes on the wire)
	 * a client may send. A larger one gets an error; see docs/redis.md
	 * ("Limits") for when the connection survives it. Default 128 MiB,
	 * at least 1 MiB. The server holds up to this much per connection. */
	size_t max_request_size;
	/* The table a new connection has selected. Default "0". */
	const char *default_table;
	/* Event-loop threads. Default 0: one per online CPU. */
	unsigned threads;
	/* Called after each write the server made to the store, from the
	 * server's threads: for a mount to drop what it cached of the key.
	 * key is NULL (klen 0) when the whole table changed (FLUSHDB). Must
	 * be quick and must not call into this server. Default NULL. */
	void (*changed)(void *ctx, const char *table, const void *key, size_t klen);
	void *changed_ctx;
	/* Called (with changed_ctx) before and after each command that writes
	 * the store (SET, MSET, DEL, INCR..., RENAME, FLUSHDB), from the
	 * server's threads: a mount holds its namespace lock shared between
	 * the two, so that a directory rename never interleaves with the
	 * write. Both or neither. Default NULL. */
	void (*write_begin)(void *ctx);
	void (*write_end)(void *ctx);
	/* Where errors are reported (a failed bind, a bad password file).
	 * Default NULL: stderr. */
	void (*log)(void *ctx, const char *msg);
	void *log_ctx;
};

/* Fills *o with the defaults documented above. */
void resp_options_init(struct resp_options *o);

/*
 * Starts serving db: binds the listening socket and starts the threads.
 * db must stay open until resp_stop() returns. o may be NULL for the
 * defaults. On success stores the server in *out and returns 0; on
 * failure *out is NULL, nothing is left running, and the return is
 * -EADDRINUSE, -EADDRNOTAVAIL, -EACCES (bind), -EINVAL (a bad option),
 * -EPERM (password file readable by others) or another -errno.
 */
int resp_start(golite *db, const struct resp_options *o, struct resp_server **out);

/* The port the server listens on (the one chosen when the option said 0). */
int resp_port(const struct resp_server *s);

/*
 * Stops the server: closes the listening socket and every connection
 * (replies already computed are not waited for), joins the threads and
 * frees the server. The store is not closed. NULL is accepted.
 */
void resp_stop(struct resp_server *s);

#endif /* GOLITE_RESP_H */
