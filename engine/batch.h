/*
 * batch.h — the payload of a log record: an atomic group of writes.
 *
 * Layout (all in one WAL record, see wal_format.h for the record framing):
 *
 *     +-----------+---------------------------------+-----------+
 *     | count LE32| entry 0 | entry 1 | ... entry n-1| seq LE64  |
 *     +-----------+---------------------------------+-----------+
 *
 *     entry:  kind u8 | iklen varint | ikey | [vlen varint | value]
 *             (value present unless kind is KIND_DELETE)
 *
 * seq is the sequence number of entry 0; entry i has seq + i. It comes last
 * because it is filled in under the log lock (wal_append's trailer).
 */
#ifndef GOLITE_BATCH_H
#define GOLITE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rep {
	uint8_t *buf;
	size_t len, cap;
	uint32_t count;
};

/* Starts an empty payload (keeps the buffer). */
void rep_reset(struct rep *r);
/* Appends an entry. */
void rep_add(struct rep *r, unsigned kind, const void *ikey, size_t iklen, const void *value,
	     size_t vlen);
/* rep_add of an expiring entry (format.h): kind (VALUE or META) with
 * KIND_EXPIRES, its value prefixed with the expiry at. */
void rep_add_expiring(struct rep *r, unsigned kind, const void *ikey, size_t iklen, uint64_t at,
		      const void *value, size_t vlen);
/* Finishes the payload: writes the count and reserves the trailer. Returns
 * the payload length. */
size_t rep_finish(struct rep *r);
void rep_free(struct rep *r);

/* Calls fn for each entry of a payload. Returns 0, GOLITE_ECORRUPT if the
 * payload is malformed (nothing is reported for entries after the damage,
 * but entries before it were already passed to fn — callers validate first
 * with fn NULL), or fn's negative return. */
typedef int (*rep_entry_fn)(void *ctx, uint64_t seq, unsigned kind, const uint8_t *ikey,
			    size_t iklen, const uint8_t *value, size_t vlen);
int rep_iterate(const uint8_t *p, size_t len, rep_entry_fn fn, void *ctx, uint32_t *count,
		uint64_t *first_seq);

/* Walks a golite_batch's operations in order; stops at fn's first nonzero
 * return and returns it. An operation names its table (table, tlen; not
 * NUL-terminated) or, for raw operations, gives its id (table NULL). */
struct golite_batch;
int batch_ops(const struct golite_batch *b,
	      int (*fn)(void *ctx, unsigned kind, const char *table, size_t tlen, uint32_t table_id,
			const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen),
	      void *ctx);

/* True if the batch was marked as freeing space; *put_bytes gets the key
 * and value bytes of its puts. */
bool batch_frees_space(const struct golite_batch *b, size_t *put_bytes);

#endif /* GOLITE_BATCH_H */
