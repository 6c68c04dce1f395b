/*
 * block.c — building and searching data blocks. The encoding and its
 * invariants are drawn in block.h.
 */
#include "block.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lz4.h>
#include <zstd.h>

#include "cache.h"
#include "crc32c.h"
#include "util.h"

#define ZSTD_LEVEL 3

/* ---- trailers and compression ---- */

uint32_t block_trailer_crc(const uint8_t *payload, size_t len, uint8_t type)
{
	return crc32c_mask(crc32c_extend(crc32c(payload, len), &type, 1));
}

void block_trailer_put(uint8_t *t, const uint8_t *payload, size_t len, uint8_t type)
{
	t[0] = type;
	put_le32(t + 1, block_trailer_crc(payload, len, type));
}

int block_trailer_check(const uint8_t *payload, size_t len, uint8_t *type)
{
	const uint8_t *t = payload + len;
	if (get_le32(t + 1) != block_trailer_crc(payload, len, t[0]))
		return -1;
	if (t[0] > SST_BLOCK_ZSTD)
		return -2;
	*type = t[0];
	return 0;
}

void block_compressor_free(struct block_compressor *c)
{
	free(c->buf);
	ZSTD_freeCCtx(c->zctx);
	memset(c, 0, sizeof(*c));
}

const uint8_t *block_compress(struct block_compressor *c, enum golite_compression how,
			      const uint8_t *raw, size_t raw_len, size_t *len, uint8_t *type)
{
	*type = SST_BLOCK_RAW;
	*len = raw_len;
	if (how == GOLITE_COMPRESS_NONE)
		return raw;
	size_t bound = how == GOLITE_COMPRESS_LZ4 ? (size_t)LZ4_compressBound((int)raw_len)
						  : ZSTD_compressBound(raw_len);
	if (c->cap < bound + VARINT32_MAX) {
		c->cap = bound + VARINT32_MAX;
		c->buf = xrealloc(c->buf, c->cap);
	}
	uint8_t *p = put_varint(c->buf, raw_len);
	size_t hdr = (size_t)(p - c->buf), n;
	if (how == GOLITE_COMPRESS_LZ4) {
		int r = LZ4_compress_default((const char *)raw, (char *)p, (int)raw_len, (int)bound);
		n = r > 0 ? (size_t)r : SIZE_MAX;
	} else {
		if (!c->zctx && !(c->zctx = ZSTD_createCCtx()))
			FATAL("out of memory creating a zstd context");
		size_t r = ZSTD_compressCCtx(c->zctx, p, bound, raw, raw_len, ZSTD_LEVEL);
		n = ZSTD_isError(r) ? SIZE_MAX : r;
	}
	if (n == SIZE_MAX || hdr + n >= raw_len - raw_len / 8)
		return raw;
	*type = (uint8_t)how;
	*len = hdr + n;
	return c->buf;
}

static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;

static void dctx_free(void *p)
{
	ZSTD_freeDCtx(p);
}

static void dctx_key_init(void)
{
	if (pthread_key_create(&dctx_key, dctx_free))
		FATAL("pthread_key_create");
}

/* This thread's zstd decompression context, freed when the thread exits. */
static ZSTD_DCtx *thread_dctx(void)
{
	pthread_once(&dctx_once, dctx_key_init);
	ZSTD_DCtx *d = pthread_getspecific(dctx_key);
	if (!d) {
		if (!(d = ZSTD_createDCtx()))
			FATAL("out of memory creating a zstd context");
		pthread_setspecific(dctx_key, d);
	}
	return d;
}

int block_decompress(const uint8_t *payload, size_t len, uint8_t type, struct cache_entry **out)
{
	uint32_t raw_len;
	const uint8_t *q = get_varint32(payload, payload + len, &raw_len);
	if (!q || raw_len > SST_MAX_BLOCK_SIZE || (type != SST_BLOCK_LZ4 && type != SST_BLOCK_ZSTD))
		return -1;
	size_t clen = (size_t)(payload + len - q);
	struct cache_entry *e = block_cache_entry_new(raw_len);
	void *dst = block_cache_entry_data(e);
	bool ok;
	if (type == SST_BLOCK_LZ4) {
		int r = LZ4_decompress_safe((const char *)q, dst, (int)clen, (int)raw_len);
		ok = r >= 0 && (uint32_t)r == raw_len;
	} else {
		size_t r = ZSTD_decompressDCtx(thread_dctx(), dst, raw_len, q, clen);
		ok = !ZSTD_isError(r) && r == raw_len;
	}
	if (!ok) {
		block_cache_entry_discard(e);
		return -1;
	}
	*out = e;
	return 0;
}

/* ---- building ---- */

void block_builder_init(struct block_builder *b, int restart_interval)
{
	memset(b, 0, sizeof(*b));
	b->interval = restart_interval > 0 ? restart_interval : 16;
	b->cap = 4096;
	b->buf = xmalloc(b->cap);
	b->rcap = 64;
	b->restarts = xmalloc(b->rcap * sizeof(*b->restarts));
	b->last = xmalloc(SKEY_MAX);
	block_builder_reset(b);
}

void block_builder_free(struct block_builder *b)
{
	free(b->buf);
	free(b->restarts);
	free(b->last);
	memset(b, 0, sizeof(*b));
}

void block_builder_reset(struct block_builder *b)
{
	b->len = 0;
	b->nrestarts = 0;
	b->counter = 0;
	b->entries = 0;
	b->last_len = 0;
}

static void reserve(struct block_builder *b, size_t more)
{
	if (b->len + more <= b->cap)
		return;
	size_t cap = b->cap * 2;
	while (cap < b->len + more)
		cap *= 2;
	b->buf = xrealloc(b->buf, cap);
	b->cap = cap;
}

static void push_restart(struct block_builder *b, uint32_t off)
{
	if (b->nrestarts == b->rcap) {
		b->rcap *= 2;
		b->restarts = xrealloc(b->restarts, b->rcap * sizeof(*b->restarts));
	}
	b->restarts[b->nrestarts++] = off;
}

void block_builder_add(struct block_builder *b, const uint8_t *key, size_t klen,
		       const void *val, size_t vlen)
{
	size_t shared = 0;
	if (b->counter >= b->interval || b->entries == 0) {
		push_restart(b, (uint32_t)b->len);
		b->counter = 0;
	} else {
		size_t n = MIN(b->last_len, klen);
		while (shared < n && b->last[shared] == key[shared])
			shared++;
	}
	size_t non_shared = klen - shared;
	reserve(b, 3 * VARINT32_MAX + non_shared + vlen);
	uint8_t *p = b->buf + b->len;
	p = put_varint(p, shared);
	p = put_varint(p, non_shared);
	p = put_varint(p, vlen);
	memcpy(p, key + shared, non_shared);
	p += non_shared;
	if (vlen)
		memcpy(p, val, vlen);
	p += vlen;
	b->len = (size_t)(p - b->buf);
	memcpy(b->last + shared, key + shared, non_shared);
	b->last_len = klen;
	b->counter++;
	b->entries++;
}

const uint8_t *block_builder_finish(struct block_builder *b, size_t *len)
{
	reserve(b, 4 * (b->nrestarts + 1));
	for (size_t i = 0; i < b->nrestarts; i++) {
		put_le32(b->buf + b->len, b->restarts[i]);
		b->len += 4;
	}
	put_le32(b->buf + b->len, (uint32_t)b->nrestarts);
	b->len += 4;
	*len = b->len;
	return b->buf;
}

int block_view_init(struct block_view *v, const uint8_t *data, size_t len)
{
	if (len < 4 || len > SST_MAX_BLOCK_SIZE)
		return -1;
	uint32_t n = get_le32(data + len - 4);
	if (n < 1 || n > (len - 4) / 4)
		return -1;
	uint32_t roff = (uint32_t)(len - 4 - 4 * (size_t)n);
	v->data = data;
	v->restarts_off = roff;
	v->nrestarts = n;
	if (block_restart(v, 0) != 0)
		return -1;
	uint32_t prev = 0;
	for (uint32_t i = 1; i < n; i++) {
		uint32_t r = block_restart(v, i);
		if (r <= prev || r >= roff)
			return -1;
		prev = r;
	}
	if (roff == 0)
		return -1;  /* no entries */
	return 0;
}

/* ---- reading ---- */

/*
 * Decodes the key of the restart entry at off, which is stored whole.
 * Returns its bytes in the block, or NULL if malformed.
 */
static const uint8_t *restart_key(const struct block_view *v, uint32_t off, size_t *klen)
{
	const uint8_t *end = v->data + v->restarts_off;
	uint32_t shared, non_shared, vlen;
	const uint8_t *k = block_entry_header(v->data + off, end, &shared, &non_shared, &vlen);
	if (!k || shared != 0 || non_shared <= TRAILER_SIZE || non_shared > SKEY_MAX)
		return NULL;
	*klen = non_shared;
	return k;
}

int block_seek(const struct block_view *v, const uint8_t *ikey, size_t iklen, uint64_t trailer,
	       uint8_t *keybuf, struct block_entry *e, uint32_t *bad_off)
{
	/* Binary search for the last restart whose key is < target. */
	uint32_t lo = 0, hi = v->nrestarts - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi + 1) / 2;
		uint32_t off = block_restart(v, mid);
		size_t klen;
		const uint8_t *k = restart_key(v, off, &klen);
		if (!k) {
			*bad_off = off;
			return -1;
		}
		if (skey_cmp_parts(k, klen, ikey, iklen, trailer) < 0)
			lo = mid;
		else
			hi = mid - 1;
	}

	/* Scan forward from that restart to the first key >= target. */
	const uint8_t *end = v->data + v->restarts_off;
	const uint8_t *p = v->data + block_restart(v, lo);
	size_t klen = 0;
	bool first = true;
	while (p < end) {
		uint32_t off = (uint32_t)(p - v->data);
		uint32_t shared, non_shared, vlen;
		const uint8_t *k = block_entry_header(p, end, &shared, &non_shared, &vlen);
		if (!k || shared > klen || (first && shared) ||
		    (uint64_t)shared + non_shared <= TRAILER_SIZE ||
		    (uint64_t)shared + non_shared > SKEY_MAX) {
			*bad_off = off;
			return -1;
		}
		const uint8_t *key;
		if (shared == 0) {
			key = k;  /* whole in the block: no copy */
		} else {
			memcpy(keybuf + shared, k, non_shared);
			key = keybuf;
		}
		klen = (size_t)shared + non_shared;
		const uint8_t *val = k + non_shared;
		if (skey_cmp_parts(key, klen, ikey, iklen, trailer) >= 0) {
			e->key = key;
			e->klen = klen;
			e->value = val;
			e->vlen = vlen;
			e->offset = off;
			return 1;
		}
		/* Keep the full key for the next entry's shared prefix. */
		if (shared == 0)
			memcpy(keybuf, k, non_shared);
		p = val + vlen;
		first = false;
	}
	return 0;
}
