/*
 * resp_int.h — the RESP server's insides, shared by its files:
 *
 *   resp_server.c   start and stop, the event-loop threads, connections
 *                   (reading, the command loop, writing)
 *   resp_proto.c    the request parser, reply buffers, glob patterns
 *   resp_cmd.c      the command table, dispatch, the key-value commands
 *   resp_admin.c    connection and server commands (AUTH, SELECT, INFO...)
 *   resp_pubsub.c   SUBSCRIBE and friends, keyspace notifications
 *   resp_feed.c     the store's change feed: publishing writes, and
 *                   notifications made from it
 *
 * Threads. Each worker thread runs one epoll loop and owns its
 * connections: only the owner reads, writes, parses or frees a
 * connection. Worker 0 also accepts, and hands each new connection to the
 * workers in turn (through their inbox). What other threads touch is
 * named where it is declared: the inbox (worker.mu), a connection's
 * pending pub/sub messages (conn.pub_mu), the subscription registry
 * (server.ps_lock), the feed reader (server.feed_mu), the SCAN cursors (server.scan_mu), the striped locks
 * and the figures (atomics).
 */
#ifndef GOLITE_RESP_INT_H
#define GOLITE_RESP_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golite.h"
#include "golite_raw.h"
#include "resp.h"

#define RESP_MAX_ARGS (1024u * 1024u)      /* arguments of one command */
#define RESP_INLINE_MAX (64u << 10)        /* an inline command's line */
#define RESP_READ_CHUNK (16u << 10)        /* least room offered to read() */
#define RESP_OUT_HIGH (1u << 20)           /* pending output that pauses reading */
#define RESP_PUB_MAX (32u << 20)           /* undelivered messages that drop a subscriber */
#define RESP_STRIPES 256u                  /* striped key locks (INCR, SET NX...) */
#define RESP_SCAN_SLOTS 4096u              /* SCAN cursors remembered */
#define RESP_TABLE_MAX 256u                /* a table name and its NUL */

/* ---- byte buffers (resp_proto.c) ---- */

/* A growable byte buffer. Output waits in [sent, len). */
struct obuf {
	char *p;
	size_t len, cap, sent;
};

/* Makes room for n more bytes; returns where they go (not counted yet). */
char *ob_room(struct obuf *b, size_t n);
void ob_put(struct obuf *b, const void *p, size_t n);
void ob_free(struct obuf *b);

/* Replies, RESP2. Error messages are made safe (no CR or LF). */
void reply_simple(struct obuf *b, const char *s);          /* +s */
void reply_error(struct obuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));               /* -ERR fmt */
void reply_error_code(struct obuf *b, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));               /* -CODE fmt */
void reply_int(struct obuf *b, long long v);               /* :v */
void reply_bulk(struct obuf *b, const void *p, size_t n);  /* $n p */
void reply_cstr(struct obuf *b, const char *s);            /* $ of a C string */
void reply_null(struct obuf *b);                           /* $-1 */
void reply_array(struct obuf *b, size_t n);                /* *n */
/* An array whose length is known only at its end: reply_defer() reserves
 * its header and returns a mark, reply_defer_set() writes the length. */
size_t reply_defer(struct obuf *b);
void reply_defer_set(struct obuf *b, size_t mark, size_t n);

/* Decimal digits of v into p (room for 20); returns the count. */
size_t u64_to_dec(char *p, uint64_t v);
/* Parses a whole argument as a signed 64-bit decimal, as Redis does (no
 * spaces, no '+', no leading zeros). */
bool parse_ll(const char *p, size_t n, long long *out);

/* Redis glob patterns: * ? [abc] [^a-z] and \ escapes. */
bool glob_match(const char *pat, size_t plen, const char *s, size_t slen);
/* Length of the pattern's literal head (before its first special byte). */
size_t glob_prefix_len(const char *pat, size_t plen);

/* ---- connections ---- */

struct arg {
	size_t off;          /* from the command's first byte in conn.in */
	size_t len;
	const char *p;       /* set just before the command runs */
};

struct worker;
struct resp_server;

struct conn {
	int fd;
	struct worker *w;
	uint64_t id;
	uint32_t events;          /* what epoll watches now */

	/* Input: [0, cmd_start) done, [cmd_start, pos) parsed part of the
	 * command being read, [pos, in_len) not parsed yet. */
	char *in;
	size_t in_len, in_cap, cmd_start, pos;
	/* Parser state of the command being read (resp_proto.c). */
	long long mb_left;        /* bulk arguments still to read; -1: between commands */
	long long bulk_len;       /* bytes of the bulk being read; -1: its header next */
	bool too_big;             /* discarding a request over the limit */
	size_t argc, argv_cap;
	struct arg *argv;

	/* Plain SETs and MSETs of one read batch, written as one golite
	 * batch (resp_cmd.c, "Pipelined SETs"); their replies are not in out
	 * yet. */
	golite_batch *sets;
	size_t nsets;             /* commands in sets */
	size_t set_bytes;         /* keys and values in sets */

	struct obuf out;
	bool close_after;         /* close once out is written */
	bool authed;
	char table[RESP_TABLE_MAX];  /* the selected table */
	char *name;               /* CLIENT SETNAME; NULL if none */

	/* Pub/sub: messages published by any thread wait in pub until the
	 * owner moves them to out. */
	pthread_mutex_t pub_mu;
	struct obuf pub;          /* protected by pub_mu */
	bool pub_overflow;        /* protected by pub_mu */
	bool pub_queued;          /* in w->ready; protected by w->mu */
	unsigned subs;            /* channels + patterns; owner only */

	struct conn *prev, *next; /* the worker's connections */
};

struct worker {
	struct resp_server *s;
	unsigned idx;
	pthread_t thread;
	int ep;                   /* epoll */
	int efd;                  /* eventfd: inbox, messages, stop */
	struct conn *conns;

	pthread_mutex_t mu;       /* protects the inbox below */
	int *new_fds;
	size_t n_new, cap_new;
	struct conn **ready;      /* connections with pub/sub messages */
	size_t n_ready, cap_ready;

	/* Figures, summed by INFO. */
	_Atomic uint64_t commands, accepted, hits, misses;
};

/* A remembered SCAN position (resp_cmd.c). */
struct scan_slot {
	uint64_t cursor;          /* 0: empty */
	char *key;
	size_t klen;
};

/* A subscription (resp_pubsub.c). */
struct sub {
	struct conn *c;
	bool pattern;
	size_t len;
	char *name;
};

struct resp_server {
	golite *db;
	struct resp_options o;    /* strings point into the copies below */
	char *listen, *default_table;
	char *password;           /* NULL: no AUTH */
	size_t password_len;
	int lfd, port;
	uint64_t start_ns;

	unsigned nworkers;
	struct worker *workers;
	unsigned next_worker;     /* worker 0's thread only */
	atomic_bool stopping;
	_Atomic unsigned clients;
	_Atomic uint64_t next_id;

	pthread_mutex_t stripe[RESP_STRIPES];

	pthread_mutex_t scan_mu;  /* protects scan[] and scan_next */
	struct scan_slot scan[RESP_SCAN_SLOTS];
	uint64_t scan_next;

	pthread_rwlock_t ps_lock; /* protects subs[] */
	struct sub *subs;
	size_t nsubs, subs_cap;
	_Atomic size_t ps_count;  /* nsubs, read without the lock */

	/* The change feed followed for subscribers (resp_feed.c). */
	bool feed_started;
	int feed_efd;             /* eventfd the watch writes, in worker 0's epoll */
	golite_feed_watch *feed_w;
	pthread_mutex_t feed_mu;  /* protects feed_r and feed_gen */
	golite_feed_reader *feed_r;  /* open while nsubs > 0 */
	uint64_t feed_gen;        /* readers opened so far */
	uint64_t feed_seen_gen;   /* worker 0 only: the reader feed_in is of */
	struct obuf feed_in;      /* worker 0 only: a line not read whole */
};

/* ---- the parser (resp_proto.c) ---- */

enum parse_result {
	PARSE_MORE,      /* the command is not complete: read more */
	PARSE_COMMAND,   /* c->argv holds a whole command */
	PARSE_REJECTED,  /* a request was refused and skipped; the error is in c->out */
	PARSE_FATAL,     /* the stream cannot be followed; the error is in c->out */
};
/* Parses the next command from c->in at c->pos (multibulk or inline). */
enum parse_result parse_command(struct conn *c, size_t max_request);
/* Bytes the command being read needs in the buffer, from cmd_start, when
 * known (a bulk's length was read); 0 otherwise. */
size_t parse_need(const struct conn *c);

/* ---- the commands (resp_cmd.c, resp_admin.c, resp_pubsub.c) ---- */

#define CMD_WRITE   1u   /* writes the store */
#define CMD_NOAUTH  2u   /* allowed before AUTH */
#define CMD_PUBSUB  4u   /* allowed in subscribed mode */

struct command {
	const char *name;    /* lower case */
	int arity;           /* argc exactly, or at least -arity when negative */
	unsigned flags;
	void (*fn)(struct conn *c);
};

/* The table of every command, and its length (resp_cmd.c). */
extern const struct command resp_commands[];
extern const size_t resp_command_count;

/* Runs the command in c->argv, appending its reply to c->out (or, for a
 * plain SET, adding it to c->sets). */
void resp_dispatch(struct conn *c);
/* Writes c->sets and appends their replies; before c->out is sent. */
void resp_flush_sets(struct conn *c);
/* Builds the name lookup once (called by resp_start). */
void resp_commands_init(void);

/* Replies for an engine error r: "-ERR golite: ...". */
/* Around each write to the store: the write hooks of resp_options
 * (resp.h), if set. Callbacks of changes run outside the pair. */
void resp_writes_begin(struct resp_server *s);
void resp_writes_end(struct resp_server *s);
void reply_golite_error(struct conn *c, int r);
/* Tells the options' callback that key (NULL: the whole table) of the
 * selected table changed, and publishes "OP TABLE [KEY]" to the feed. */
void resp_changed(struct conn *c, const char *op, const void *key, size_t klen);
/* Copies argument i into buf as a C string (for names); false if it does
 * not fit or holds a NUL. */
bool arg_cstr(const struct conn *c, size_t i, char *buf, size_t cap);
bool arg_is(const struct conn *c, size_t i, const char *lower);

/* Connection and server commands (resp_admin.c). */
void cmd_ping(struct conn *c);
void cmd_echo(struct conn *c);
void cmd_auth(struct conn *c);
void cmd_quit(struct conn *c);
void cmd_select(struct conn *c);
void cmd_client(struct conn *c);
void cmd_command(struct conn *c);
void cmd_config(struct conn *c);
void cmd_info(struct conn *c);
void cmd_dbsize(struct conn *c);
void cmd_flushdb(struct conn *c);
void cmd_hello(struct conn *c);
/* Table names a client may select: golite's rules, hidden tables excluded. */
bool table_name_ok(const char *name);

/* resp_cmd.c: a put into the selected table (created if needed) that
 * expires at at (ms since the epoch; 0: never); the expiry of a key (0:
 * none, or absent). */
int resp_put_at(struct conn *c, const void *key, size_t klen, const void *v, size_t vlen,
		uint64_t at);
uint64_t resp_expiry_of(struct conn *c, const void *key, size_t klen);
/* resp_ttl.c: the times to live (golite.h "Keys that expire"). */
/* Reads the expiry of SET's option argv[opt] (EX, PX, EXAT or PXAT) from
 * argv[val] into *at; false after replying with the error. */
bool resp_expiry_arg(struct conn *c, size_t opt, size_t val, uint64_t *at);
void cmd_expire(struct conn *c);
void cmd_pexpire(struct conn *c);
void cmd_expireat(struct conn *c);
void cmd_pexpireat(struct conn *c);
void cmd_ttl(struct conn *c);
void cmd_pttl(struct conn *c);
void cmd_persist(struct conn *c);
void cmd_setex(struct conn *c);
void cmd_psetex(struct conn *c);
/* Counts the keys of a table (0 if it does not exist). */
int count_keys(golite *db, const char *table, uint64_t *n);
/* count_keys, and how many of them expire, and their mean time left (ms). */
int count_keys_ttl(golite *db, const char *table, uint64_t *n, uint64_t *expiring,
		   uint64_t *avg_ttl);

/* Pub/sub (resp_pubsub.c). */
void cmd_subscribe(struct conn *c);
void cmd_unsubscribe(struct conn *c);
void cmd_psubscribe(struct conn *c);
void cmd_punsubscribe(struct conn *c);
void cmd_publish(struct conn *c);
/* Drops every subscription of c (before it is freed). */
void ps_conn_gone(struct conn *c);
size_t ps_publish(struct resp_server *s, const char *chan, size_t clen, const void *msg,
		  size_t mlen);
void ps_init(struct resp_server *s);
void ps_destroy(struct resp_server *s);
/*
 * Tells subscribers that key of table changed: publishes the message event
 * on channel "__keyspace@TABLE__:KEY" and the key on channel
 * "__keyevent@TABLE__:EVENT" (Redis' keyspace notifications, with the
 * table in place of the database number); no keyspace message when key is
 * NULL. event is a Redis event name: "set", "del", "rename_from",
 * "rename_to", "flushdb". Costs one atomic load when nobody is subscribed.
 * resp_feed.c calls it for each event of the store's change feed.
 */
void resp_notify(struct resp_server *s, const char *table, const char *event,
		 const void *key, size_t klen);

/* The change feed (resp_feed.c). */
/* Publishes "OP TABLE [KEY [TABLE TO_KEY]]" (key NULL: a table's event)
 * if anyone reads the feed; after the store accepted the write. */
void resp_publish(struct resp_server *s, const char *op, const char *table, const void *key,
		  size_t klen, const void *to_key, size_t to_klen);
/* Sets up the eventfd and the watch; 0 or -errno. */
int feed_follow_start(struct resp_server *s);
/* Frees them (the workers are joined). */
void feed_follow_stop(struct resp_server *s);
/* Opens or frees the reader as subscriptions came or went (ps_lock held
 * for writing). */
void feed_follow_subs(struct resp_server *s);
/* Worker 0, on its eventfd: notifies the events the feed has now. */
void feed_follow_drain(struct resp_server *s);

/* ---- the server (resp_server.c) ---- */

/* Reports an error through the options' log (or stderr). */
void resp_log(const struct resp_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Queues c for its worker to move its pub/sub messages to its output.
 * Called with c->pub_mu not held, from any thread, while c cannot be freed
 * (the caller holds server.ps_lock). */
void worker_wake_for(struct conn *c);
/* The striped lock of a key of a table. */
pthread_mutex_t *stripe_of(struct resp_server *s, const char *table, const void *key,
			   size_t klen);

#endif /* GOLITE_RESP_INT_H */
