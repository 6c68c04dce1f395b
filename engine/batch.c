/*
 * batch.c — log payload encoding, and golite_batch. See batch.h.
 */
#include "batch.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "format.h"
#include "golite.h"
#include "catalog.h"
#include "expire.h"
#include "golite_raw.h"
#include "util.h"

static void rep_reserve(struct rep *r, size_t more)
{
	if (r->len + more <= r->cap)
		return;
	size_t cap = r->cap ? r->cap : 256;
	while (cap < r->len + more)
		cap *= 2;
	r->buf = xrealloc(r->buf, cap);
	r->cap = cap;
}

void rep_reset(struct rep *r)
{
	rep_reserve(r, 4);
	r->len = 4;
	r->count = 0;
}

void rep_add(struct rep *r, unsigned kind, const void *ikey, size_t iklen, const void *value,
	     size_t vlen)
{
	rep_reserve(r, 1 + 2 * VARINT32_MAX + iklen + vlen);
	uint8_t *p = r->buf + r->len;
	*p++ = (uint8_t)kind;
	p = put_varint(p, iklen);
	memcpy(p, ikey, iklen);
	p += iklen;
	if (kind != KIND_DELETE) {
		p = put_varint(p, vlen);
		if (vlen)
			memcpy(p, value, vlen);
		p += vlen;
	}
	r->len = (size_t)(p - r->buf);
	r->count++;
}

void rep_add_expiring(struct rep *r, unsigned kind, const void *ikey, size_t iklen, uint64_t at,
		      const void *value, size_t vlen)
{
	rep_reserve(r, 1 + 2 * VARINT32_MAX + iklen + EXPIRES_PREFIX + vlen);
	uint8_t *p = r->buf + r->len;
	*p++ = (uint8_t)(kind | KIND_EXPIRES);
	p = put_varint(p, iklen);
	memcpy(p, ikey, iklen);
	p += iklen;
	p = put_varint(p, EXPIRES_PREFIX + vlen);
	put_le64(p, at);
	p += EXPIRES_PREFIX;
	if (vlen)
		memcpy(p, value, vlen);
	r->len = (size_t)(p + vlen - r->buf);
	r->count++;
}

size_t rep_finish(struct rep *r)
{
	rep_reserve(r, 8);
	put_le32(r->buf, r->count);
	memset(r->buf + r->len, 0, 8);
	r->len += 8;
	return r->len;
}

void rep_free(struct rep *r)
{
	free(r->buf);
	r->buf = NULL;
	r->len = r->cap = 0;
}

int rep_iterate(const uint8_t *p, size_t len, rep_entry_fn fn, void *ctx, uint32_t *count,
		uint64_t *first_seq)
{
	if (len < 12)
		return GOLITE_ECORRUPT;
	uint32_t n = get_le32(p);
	uint64_t seq = get_le64(p + len - 8);
	if (seq == 0 || seq > SEQ_MAX || seq + n - 1 > SEQ_MAX)
		return GOLITE_ECORRUPT;
	const uint8_t *q = p + 4, *end = p + len - 8;
	for (uint32_t i = 0; i < n; i++) {
		if (q >= end)
			return GOLITE_ECORRUPT;
		unsigned kind = *q++;
		if (!kind_valid(kind) || (kind & KIND_SEPARATE))  /* tables only */
			return GOLITE_ECORRUPT;
		uint32_t iklen, vlen = 0;
		q = get_varint32(q, end, &iklen);
		if (!q || iklen <= IKEY_PREFIX || iklen > IKEY_MAX || iklen > (size_t)(end - q))
			return GOLITE_ECORRUPT;
		const uint8_t *ikey = q, *value = NULL;
		q += iklen;
		if (kind != KIND_DELETE) {
			q = get_varint32(q, end, &vlen);
			if (!q || vlen > (size_t)(end - q))
				return GOLITE_ECORRUPT;
			value = q;
			q += vlen;
			if ((kind & KIND_EXPIRES) && vlen < EXPIRES_PREFIX)
				return GOLITE_ECORRUPT;
		}
		if (fn) {
			int r = fn(ctx, seq + i, kind, ikey, iklen, value, vlen);
			if (r < 0)
				return r;
		}
	}
	if (q != end)
		return GOLITE_ECORRUPT;
	if (count)
		*count = n;
	if (first_seq)
		*first_seq = seq;
	return 0;
}

/* ---- golite_batch: operations named by table, resolved at write time ----
 *
 * ops buffer: kind u8 | name_len u8 | name | klen varint | key |
 *             [vlen varint | value]
 * or, for raw operations by table id (kind | OP_BY_ID):
 *             kind u8 | table id LE32 | klen varint | key | [vlen varint | value]
 */
#define OP_BY_ID 0x80u

struct golite_batch {
	uint8_t *buf;
	size_t len, cap;
	size_t count;
	size_t encoded;   /* upper bound of the log payload's size */
	size_t put_bytes; /* keys and values of its puts */
	bool frees_space; /* golite_batch_set_frees_space */
};

golite_batch *golite_batch_new(void)
{
	return xcalloc(1, sizeof(golite_batch));
}

static int batch_add(golite_batch *b, unsigned kind, const char *table, uint32_t table_id,
		     const void *key, size_t klen, const void *value, size_t vlen,
		     uint64_t expires)
{
	clear_error();
	if (!b || !key)
		return set_error(GOLITE_EINVAL, "batch or key is NULL");
	size_t nlen = 0;
	if (table) {
		int r = catalog_check_name(table, &nlen);
		if (r)
			return r;
	}
	if (klen == 0 || klen > GOLITE_MAX_KEY_SIZE)
		return set_error(GOLITE_EKEYSIZE, "key of %zu bytes (1..%u allowed)", klen,
				 GOLITE_MAX_KEY_SIZE);
	if (vlen > GOLITE_MAX_VALUE_SIZE)
		return set_error(GOLITE_EVALSIZE, "value of %zu bytes (at most %u allowed)", vlen,
				 GOLITE_MAX_VALUE_SIZE);
	if (vlen && !value)
		return set_error(GOLITE_EINVAL, "value is NULL");
	size_t pre = expires ? EXPIRES_PREFIX : 0;
	size_t add = 1 + 4 + nlen + 2 * VARINT32_MAX + klen + pre + vlen;
	size_t enc = 1 + 2 * VARINT32_MAX + IKEY_PREFIX + klen + pre + vlen;
	if (expires)   /* and its entry in the expiry index */
		enc += 1 + 2 * VARINT32_MAX + IKEY_PREFIX + EXPIRE_INDEX_KEY + klen;
	if (b->encoded + enc + 12 > GOLITE_MAX_BATCH_SIZE)
		return set_error(GOLITE_EBATCH, "batch would exceed %u bytes",
				 GOLITE_MAX_BATCH_SIZE);
	if (b->len + add > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + add)
			cap *= 2;
		b->buf = xrealloc(b->buf, cap);
		b->cap = cap;
	}
	uint8_t *p = b->buf + b->len;
	if (expires)
		kind |= KIND_EXPIRES;
	if (table) {
		*p++ = (uint8_t)kind;
		*p++ = (uint8_t)nlen;
		memcpy(p, table, nlen);
		p += nlen;
	} else {
		*p++ = (uint8_t)(kind | OP_BY_ID);
		put_le32(p, table_id);
		p += 4;
	}
	p = put_varint(p, klen);
	memcpy(p, key, klen);
	p += klen;
	if (kind != KIND_DELETE) {
		p = put_varint(p, pre + vlen);
		if (expires) {
			put_le64(p, expires);
			p += EXPIRES_PREFIX;
		}
		if (vlen)
			memcpy(p, value, vlen);
		p += vlen;
	}
	b->len = (size_t)(p - b->buf);
	b->count++;
	b->encoded += enc;
	if (kind != KIND_DELETE)
		b->put_bytes += klen + vlen;
	return 0;
}

int golite_batch_put_raw(golite_batch *b, uint32_t table_id, unsigned kind, const void *key,
			 size_t klen, const void *value, size_t vlen)
{
	return golite_batch_put_raw_ex(b, table_id, kind, key, klen, value, vlen, 0);
}

int golite_batch_put_raw_ex(golite_batch *b, uint32_t table_id, unsigned kind, const void *key,
			    size_t klen, const void *value, size_t vlen, uint64_t expires)
{
	if (kind != KIND_VALUE && kind != KIND_META)
		return set_error(GOLITE_EINVAL, "record kind %u cannot be put", kind);
	if (expires && table_id < TABLE_ID_FIRST_USER)
		return set_error(GOLITE_EINVAL, "keys of the store's table %u cannot expire",
				 table_id);
	return batch_add(b, kind, NULL, table_id, key, klen, value, vlen, expires);
}

int golite_batch_delete_raw(golite_batch *b, uint32_t table_id, const void *key, size_t klen)
{
	return batch_add(b, KIND_DELETE, NULL, table_id, key, klen, NULL, 0, 0);
}

int golite_batch_put(golite_batch *b, const char *table, const void *key, size_t klen,
		     const void *value, size_t vlen)
{
	if (!table)
		return set_error(GOLITE_EINVAL, "table name is NULL");
	return batch_add(b, KIND_VALUE, table, 0, key, klen, value, vlen, 0);
}

int golite_batch_put_expiring(golite_batch *b, const char *table, const void *key, size_t klen,
			      const void *value, size_t vlen, uint64_t expires_at_ms)
{
	if (!table)
		return set_error(GOLITE_EINVAL, "table name is NULL");
	if (!expires_at_ms)
		return set_error(GOLITE_EINVAL, "an expiry time of 0");
	return batch_add(b, KIND_VALUE, table, 0, key, klen, value, vlen, expires_at_ms);
}

int golite_batch_delete(golite_batch *b, const char *table, const void *key, size_t klen)
{
	if (!table)
		return set_error(GOLITE_EINVAL, "table name is NULL");
	return batch_add(b, KIND_DELETE, table, 0, key, klen, NULL, 0, 0);
}

size_t golite_batch_count(const golite_batch *b)
{
	return b ? b->count : 0;
}

void golite_batch_clear(golite_batch *b)
{
	if (b) {
		b->len = 0;
		b->count = 0;
		b->encoded = 0;
		b->put_bytes = 0;
		b->frees_space = false;
	}
}

void golite_batch_set_frees_space(golite_batch *b, bool frees)
{
	if (b)
		b->frees_space = frees;
}

bool batch_frees_space(const golite_batch *b, size_t *put_bytes)
{
	*put_bytes = b->put_bytes;
	return b->frees_space;
}

void golite_batch_free(golite_batch *b)
{
	if (b) {
		free(b->buf);
		free(b);
	}
}

int batch_ops(const golite_batch *b,
	      int (*fn)(void *ctx, unsigned kind, const char *table, size_t tlen, uint32_t table_id,
			const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen),
	      void *ctx)
{
	const uint8_t *p = b->buf, *end = b->buf + b->len;
	while (p < end) {
		unsigned kind = *p++;
		const char *table = NULL;
		size_t tlen = 0;
		uint32_t table_id = 0;
		if (kind & OP_BY_ID) {
			kind &= ~OP_BY_ID;
			table_id = get_le32(p);
			p += 4;
		} else {
			tlen = *p++;
			table = (const char *)p;
			p += tlen;
		}
		uint32_t klen = 0, vlen = 0;
		p = get_varint32(p, end, &klen);
		const uint8_t *key = p, *value = NULL;
		p += klen;
		if (kind != KIND_DELETE) {
			p = get_varint32(p, end, &vlen);
			value = p;
			p += vlen;
		}
		int r = fn(ctx, kind, table, tlen, table_id, key, klen, value, vlen);
		if (r)
			return r;
	}
	return 0;
}
