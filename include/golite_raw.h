/*
 * golite_raw.h — the engine as the filesystem daemon sees it, beside
 * golite.h: records with their kind, tables by id, and the store's own
 * tables. This and golite.h are the daemon's whole view of the engine;
 * the file record codec it shares with the engine is common/vfile.h.
 *
 * The public API (golite.h) reads and writes GOLITE_KIND_VALUE records of
 * user tables by name. The mount also writes GOLITE_KIND_META records
 * (files, directories and symlinks with metadata, common/vfile.h) and uses
 * the hidden tables GOLITE_TABLE_CHUNKS (data of large files) and
 * GOLITE_TABLE_FS (its own bookkeeping). Everything here follows
 * golite.h's conventions: 0 or a negative GOLITE_E* code, details in
 * golite_last_error().
 */
#ifndef GOLITE_RAW_H
#define GOLITE_RAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golite.h"

/* What a record holds. Stored in logs and tables: never renumber. */
enum golite_kind {
	GOLITE_KIND_DELETE = 0,  /* a tombstone: the key is absent */
	GOLITE_KIND_VALUE = 1,   /* a plain value written through the API */
	GOLITE_KIND_META = 2,    /* a file record written through the mount */
};

/* The store's own tables the daemon uses (ids below 16 are the store's). */
#define GOLITE_TABLE_CHUNKS 1u   /* chunks of large files (common/vfile.h) */
#define GOLITE_TABLE_FS     2u   /* the mount's own records */

/* Resolves a table name to its id. */
int golite_table_id(golite *db, const char *name, uint32_t *id);

/*
 * Reads the newest record of (table_id, key) without interpreting it:
 * *kind is GOLITE_KIND_VALUE or GOLITE_KIND_META. With buf, copies the value if it fits
 * in cap (GOLITE_ERANGE otherwise, *vlen set); with alloc, returns a
 * malloc()ed copy. Either may be NULL to learn only kind and length.
 */
int golite_get_raw(golite *db, uint32_t table_id, const void *key, size_t klen,
		   unsigned *kind, void *buf, size_t cap, void **alloc, size_t *vlen);

/*
 * golite_get_raw_at, and *expires (if not NULL) gets the time the record
 * expires at (ms since the epoch; 0 if it does not expire; golite.h "Keys
 * that expire"). An expired record is GOLITE_ENOTFOUND as a deleted one.
 */
int golite_get_raw_ex(golite *db, const golite_snapshot *snap, uint32_t table_id,
		      const void *key, size_t klen, unsigned *kind, uint64_t *expires, void *buf,
		      size_t cap, void **alloc, size_t *vlen);

/* Writes one record of the given kind (GOLITE_KIND_VALUE or GOLITE_KIND_META). */
int golite_put_raw(golite *db, uint32_t table_id, unsigned kind, const void *key,
		   size_t klen, const void *value, size_t vlen);

/* Adds raw operations to a batch (mixable with golite_batch_put). */
int golite_batch_put_raw(golite_batch *b, uint32_t table_id, unsigned kind, const void *key,
			 size_t klen, const void *value, size_t vlen);
int golite_batch_delete_raw(golite_batch *b, uint32_t table_id, const void *key, size_t klen);
/* golite_batch_put_raw of a record that expires at expires (ms since the
 * epoch, as the store's clock reads it; 0: never), in a user table. */
int golite_batch_put_raw_ex(golite_batch *b, uint32_t table_id, unsigned kind, const void *key,
			    size_t klen, const void *value, size_t vlen, uint64_t expires);

/* The store's clock (golite.h "Keys that expire"), ms since the epoch. */
uint64_t golite_clock_ms(golite *db);

/* The whole seconds left until an expiry at (ms, by the store's clock),
 * rounded up, 0 once it has passed: what the mount, the command and HTTP
 * show of a time to live. */
static inline uint64_t golite_seconds_left(golite *db, uint64_t at)
{
	uint64_t now = golite_clock_ms(db);
	return at > now ? (at - now + 999) / 1000 : 0;
}

/*
 * What the store calls when it deletes a key at its expiry (from its
 * expirer thread): begin(ctx) before it reads the key, expired(ctx, ...)
 * after the delete is in the store with the record it deleted (its kind,
 * GOLITE_KIND_VALUE or GOLITE_KIND_META, and value without the expiry),
 * then end(ctx). Any may be NULL. The mount uses them to take its
 * namespace lock, drop its cached entries and free a file's chunks.
 */
typedef struct golite_expire_hooks {
	void (*begin)(void *ctx);
	void (*expired)(void *ctx, uint32_t table_id, const void *key, size_t klen,
			unsigned kind, const void *value, size_t vlen);
	void (*end)(void *ctx);
	void *ctx;
} golite_expire_hooks;

/* Sets the hooks (NULL: none); returns once no call of the old ones runs. */
void golite_expire_hooks_set(golite *db, const golite_expire_hooks *h);

/* An iterator over a table by id (hidden tables included); its values are
 * raw (golite_iter_value_raw) and golite_iter_kind tells their kind. */
int golite_iter_new_raw(golite *db, uint32_t table_id, const golite_iter_options *o,
			golite_iter **out);
unsigned golite_iter_kind(const golite_iter *it);
/* The current record's expiry (ms since the epoch), 0 if it has none. */
uint64_t golite_iter_expires(const golite_iter *it);
const void *golite_iter_value_raw(const golite_iter *it, size_t *vlen);

/* Copies the name of table id into buf (cap bytes, NUL-terminated).
 * GOLITE_ENOTABLE if no table has that id, GOLITE_ERANGE if the name does
 * not fit. */
int golite_table_name(golite *db, uint32_t id, char *buf, size_t cap);

/*
 * Reads bytes [off, off + len) of the chunked file whose inode number is
 * ino (its chunks in GOLITE_TABLE_CHUNKS, common/vfile.h) into buf. A
 * missing chunk, and the part of a chunk past its length, read as zeros;
 * whether the range lies within the file's size is the caller's to know
 * (the record says). The one reader of the chunk table: golite_get() of a
 * chunked file and the mount's reads both come here. GOLITE_ECORRUPT if a
 * chunk holds more than VFILE_CHUNK bytes, GOLITE_EINVAL past chunk 2^32;
 * on an error buf's contents are undefined. Takes no lock a writer takes;
 * the chunks read are each the newest when read, not one snapshot.
 */
int golite_chunks_read(golite *db, uint64_t ino, uint64_t off, void *buf, size_t len);

/*
 * Reads at a snapshot (golite.h; snap NULL: now), for the mount's
 * snapshot view: the same contracts as the calls without _at, with table
 * names and ids resolved in the catalog as it was at the snapshot (tables
 * created after it are absent, tables dropped or renamed after it appear
 * as they were). golite_iter_new_raw honours opts->snapshot.
 * golite_table_list_at's names are one malloc()ed block (freed with
 * golite_free), NULL-terminated, sorted, as golite_table_list's.
 */
int golite_get_raw_at(golite *db, const golite_snapshot *snap, uint32_t table_id,
		      const void *key, size_t klen, unsigned *kind, void *buf, size_t cap,
		      void **alloc, size_t *vlen);
int golite_table_id_at(golite *db, const golite_snapshot *snap, const char *name,
		       uint32_t *id);
int golite_table_name_at(golite *db, const golite_snapshot *snap, uint32_t id, char *buf,
			 size_t cap);
int golite_table_list_at(golite *db, const golite_snapshot *snap, char ***names,
			 size_t *count);
/* golite_chunks_read at a snapshot: every chunk as of it (one snapshot). */
int golite_chunks_read_at(golite *db, const golite_snapshot *snap, uint64_t ino, uint64_t off,
			  void *buf, size_t len);

/* Sequence number of the newest acknowledged write (for change feeds). */
uint64_t golite_last_sequence(golite *db);

/* ---- the change feed ----
 *
 * A store's change feed: events that front ends publish and readers
 * follow, each one line of text
 *
 *     SEQ TIME OP FIELD...\n
 *
 * SEQ numbers events from 1 at open, TIME is the wall-clock time of the
 * publish (seconds.microseconds), OP the publisher's word, and each FIELD
 * the escaped form of the bytes it gave (common/keyesc.h with
 * KEYESC_SPACE: a field holds no space and unescapes to those bytes).
 * engine/feed.c draws the format. The publishers and their OPs:
 *
 *   the mount (fs/README-fs.md "/.golite/events"): TABLE PATH, with PATH
 *     the entry as the mount shows it ("." for the table itself):
 *       create mkdir symlink write truncate fallocate unlink rmdir chmod
 *       chown utimens link                        TABLE PATH
 *       rename exchange                           TABLE PATH TABLE2 PATH2
 *       setxattr removexattr                      TABLE PATH ATTR
 *   the store itself, when it deletes a key at its expiry (golite.h "Keys
 *     that expire"), with KEY the key's bytes (for a file of the mount,
 *     its path in the table):
 *       expire                                    TABLE KEY
 *   the network front ends (net/http*, net/resp*), with KEY the key's bytes:
 *       put delete                                TABLE KEY
 *       ttl persist (a time to live set, removed) TABLE KEY
 *       move    (a key's value now under KEY2)    TABLE KEY TABLE2 KEY2
 *       create-table drop-table                   TABLE
 *
 * A front end writing with golite_put publishes after the write:
 *
 *     if (golite_feed_wanted(db)) {
 *         golite_feed_field f[2] = { { table, strlen(table) }, { key, klen } };
 *         golite_feed_publish(db, "put", f, 2);
 *     }
 *
 * The last golite_options.feed_events events are kept. A reader further
 * behind gets one line "SEQ TIME missed COUNT" (SEQ the first event it
 * missed) and goes on with the oldest kept. Publishers never wait for
 * readers (they take a lock among themselves for a few stores; readers
 * take none), and events are made only while a reader is open: a feed
 * nobody reads costs a publisher one relaxed load.
 */

/* One field of an event: len bytes (at least one) at data. */
typedef struct golite_feed_field {
	const void *data;
	size_t len;
} golite_feed_field;

/* True while a reader is open, that is while golite_feed_publish makes
 * events: a publisher may skip gathering its fields otherwise. */
bool golite_feed_wanted(golite *db);

/*
 * Publishes the event "OP FIELD..." to the readers open now, after the
 * change it tells of was accepted by the store (so a reader that sees the
 * event finds the change). op: 1..32 bytes from '!' to '~', not "missed";
 * fields: nfields byte strings, none empty, copied (the caller keeps
 * them). Returns 0, also when no reader is open and nothing is made;
 * GOLITE_EINVAL for a bad op or field. Never waits for a reader. Events
 * published concurrently are numbered in some order consistent with each
 * thread's own.
 */
int golite_feed_publish(golite *db, const char *op, const golite_feed_field *fields,
			size_t nfields);

typedef struct golite_feed_reader golite_feed_reader;

/*
 * Opens a reader. from = 0: it reads the events published after this
 * call; from = SEQ: from event SEQ on if that is still kept (a "missed"
 * line first if it is not), or, for an SEQ not yet published, from the
 * next event (a resumed stream loses nothing the ring still holds). The
 * reader belongs to the caller until golite_feed_reader_free, which must
 * come before golite_close.
 */
int golite_feed_reader_new(golite *db, uint64_t from, golite_feed_reader **out);
void golite_feed_reader_free(golite_feed_reader *r);

/*
 * Copies into buf (cap bytes) the lines after the reader's position and
 * moves it past them; *len is how many bytes, 0 when there is nothing new
 * (the caller polls, or waits for a watch: golite_feed_watch_new).
 * Never waits. A line that does not fit is cut, and its rest comes first
 * in the next read, so the bytes read in turn are the feed's lines in order. One
 * reader may be used from several threads; its reads run one at a time.
 */
int golite_feed_read(golite_feed_reader *r, void *buf, size_t cap, size_t *len);

/*
 * A watch: fn(ctx) is called once for each event published while the
 * watch exists, from the publisher's thread, after the event is in the
 * ring (a reader woken by it finds the event). It is called with no lock
 * held that a publisher waits for, but publishers may call it
 * concurrently, and golite_feed_watch_free waits for the calls under way:
 * fn must be quick (set a flag, write an eventfd, resume a connection),
 * must not wait for anything the watch's owner holds while it frees the
 * watch, and must not call golite_feed_watch_new or _free. Events are made
 * only while a reader is open, so a watch alone costs publishers nothing;
 * with a reader open it costs each publish one relaxed load when no watch
 * exists. Returns 0 and the watch in *out, freed by golite_feed_watch_free
 * (after which fn is no longer called nor running) before golite_close.
 */
typedef struct golite_feed_watch golite_feed_watch;
int golite_feed_watch_new(golite *db, void (*fn)(void *ctx), void *ctx,
			  golite_feed_watch **out);
void golite_feed_watch_free(golite_feed_watch *w);

/* The number of the next event whose line the reader will start
 * (golite_feed_reader_new's from, to resume a stream later). */
uint64_t golite_feed_reader_next(golite_feed_reader *r);

/* Events this reader lost by falling behind, in all. */
uint64_t golite_feed_reader_missed(const golite_feed_reader *r);

/* The feed's figures (golite_feed_stats_get). */
typedef struct golite_feed_stats {
	uint64_t capacity;   /* events kept (golite_options.feed_events) */
	uint64_t events;     /* events published since open: the newest's SEQ */
	uint64_t bytes;      /* bytes of every line published */
	int64_t last_ns;     /* wall time of the newest event (of the open
			      * while there is none), ns since the epoch */
	unsigned readers;    /* readers open */
} golite_feed_stats;

/* Fills *st; lock-free, each figure read on its own. */
void golite_feed_stats_get(golite *db, golite_feed_stats *out);

/* 0 if name may name a table (golite_table_create's rules: 1..255 bytes,
 * no '/', not "." or "..", not starting with ".golite"), else
 * GOLITE_ENAME (GOLITE_EINVAL for NULL) with the reason in
 * golite_last_error(). */
int golite_table_name_check(const char *name);

/* Sets the calling thread's golite_last_error() message and returns err:
 * for layers built on the library (the store port) to report as it does. */
__attribute__((format(printf, 2, 3))) int golite_error_set(int err, const char *fmt, ...);

#endif /* GOLITE_RAW_H */
