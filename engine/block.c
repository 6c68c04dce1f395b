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

void block_builder_init(struct block_builder *b, int restart_interval, bool hash_index)
{
	memset(b, 0, sizeof(*b));
	b->interval = restart_interval > 0 ? restart_interval : 16;
	b->hash_index = hash_index;
	b->cap = 4096;
	b->buf = xmalloc(b->cap);
	b->rcap = 64;
	b->restarts = xmalloc(b->rcap * sizeof(*b->restarts));
	b->rkey = xmalloc(SKEY_MAX);
	b->hcap = 64;
	b->hashes = xmalloc(b->hcap * sizeof(*b->hashes));
	b->offsets = xmalloc(b->hcap * sizeof(*b->offsets));
	block_builder_reset(b);
}

void block_builder_free(struct block_builder *b)
{
	free(b->buf);
	free(b->restarts);
	free(b->rkey);
	free(b->hashes);
	free(b->offsets);
	memset(b, 0, sizeof(*b));
}

void block_builder_reset(struct block_builder *b)
{
	b->len = 0;
	b->nrestarts = 0;
	b->counter = 0;
	b->entries = 0;
	b->rkey_len = 0;
	b->nhash = 0;
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

void block_builder_add(struct block_builder *b, const uint8_t *key, size_t klen,
		       const void *val, size_t vlen, bool new_ikey, uint64_t hash)
{
	size_t shared = 0;
	if (b->counter >= b->interval || b->entries == 0) {
		if (b->nrestarts == b->rcap) {
			b->rcap *= 2;
			b->restarts = xrealloc(b->restarts, b->rcap * sizeof(*b->restarts));
		}
		b->restarts[b->nrestarts++] = (uint32_t)b->len;
		b->counter = 0;
		memcpy(b->rkey, key, klen);
		b->rkey_len = klen;
	} else {
		size_t n = MIN(b->rkey_len, klen);
		while (shared < n && b->rkey[shared] == key[shared])
			shared++;
	}
	if (new_ikey || b->entries == 0) {
		if (b->nhash == b->hcap) {
			b->hcap *= 2;
			b->hashes = xrealloc(b->hashes, b->hcap * sizeof(*b->hashes));
			b->offsets = xrealloc(b->offsets, b->hcap * sizeof(*b->offsets));
		}
		b->hashes[b->nhash] = hash;
		b->offsets[b->nhash++] = (uint32_t)b->len;
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
	b->counter++;
	b->entries++;
}

const uint8_t *block_builder_finish(struct block_builder *b, size_t *len)
{
	uint32_t m = 0;
	if (b->hash_index && b->len < BLOCK_SLOT_MAX_OFF)
		m = (uint32_t)(b->nhash + b->nhash / 2 + 1);
	reserve(b, 4 * (b->nrestarts + m) + 8);
	for (size_t i = 0; i < b->nrestarts; i++) {
		put_le32(b->buf + b->len, b->restarts[i]);
		b->len += 4;
	}
	if (m) {
		uint8_t *slots = b->buf + b->len;
		memset(slots, 0xff, 4 * (size_t)m);
		for (size_t i = 0; i < b->nhash; i++) {
			uint32_t j = block_hash_home(b->hashes[i], m);
			while (get_le32(slots + 4 * (size_t)j) != BLOCK_SLOT_EMPTY)
				j = j + 1 == m ? 0 : j + 1;
			put_le32(slots + 4 * (size_t)j, block_hash_fp(b->hashes[i]) << 24 | b->offsets[i]);
		}
		b->len += 4 * (size_t)m;
	}
	put_le32(b->buf + b->len, m);
	put_le32(b->buf + b->len + 4, (uint32_t)b->nrestarts);
	b->len += 8;
	*len = b->len;
	return b->buf;
}

/* ---- index entries ---- */

size_t block_index_put(uint8_t *p, const uint8_t *sep, size_t sep_len, uint64_t off,
		       uint32_t size)
{
	uint8_t *q = put_varint(p, sep_len);
	memcpy(q, sep, sep_len);
	q = put_varint(q + sep_len, off);
	q = put_varint(q, size);
	return (size_t)(q - p);
}

const uint8_t *block_index_get(const uint8_t *p, const uint8_t *end, const uint8_t **key,
			       uint32_t *klen, uint64_t *off, uint32_t *size)
{
	if (!(p = get_varint32(p, end, klen)) || *klen <= TRAILER_SIZE || *klen > SKEY_MAX ||
	    *klen > (size_t)(end - p))
		return NULL;
	*key = p;
	p += *klen;
	if (!(p = get_varint(p, end, off, VARINT64_MAX)))
		return NULL;
	return get_varint32(p, end, size);
}

size_t block_separator(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen,
		       uint8_t *out)
{
	size_t ia = alen - TRAILER_SIZE, ib = blen - TRAILER_SIZE;
	size_t n = MIN(ia, ib), i = 0;
	while (i < n && a[i] == b[i])
		i++;
	if (i < n) {
		/* a[i] < b[i]. Bump a at i if that stays below b, else bump the
		 * first byte after i that is not 0xff: either way the result is
		 * > a's ikey and < b's ikey. Only a shorter ikey is worth it. */
		size_t j = i;
		if ((unsigned)a[i] + 1 >= b[i]) {
			j = i + 1;
			while (j < ia && a[j] == 0xff)
				j++;
		}
		if (j + 1 < ia) {
			memcpy(out, a, j);
			out[j] = (uint8_t)(a[j] + 1);
			put_le64(out + j + 1, UINT64_MAX);
			return j + 1 + TRAILER_SIZE;
		}
	}
	memcpy(out, a, alen);
	return alen;
}

/* ---- reading ---- */

int block_view_init(struct block_view *v, const uint8_t *data, size_t len)
{
	if (len < 8 || len > SST_MAX_BLOCK_SIZE)
		return -1;
	uint64_t n = get_le32(data + len - 4), m = get_le32(data + len - 8);
	if (n < 1 || 8 + 4 * (n + m) >= len)  /* also: at least one byte of entries */
		return -1;
	block_view_trusted(v, data, len);
	if (block_restart(v, 0) != 0)
		return -1;
	uint32_t prev = 0;
	for (uint32_t i = 1; i < n; i++) {
		uint32_t r = block_restart(v, i);
		if (r <= prev || r >= v->restarts_off)
			return -1;
		prev = r;
	}
	if (m) {
		bool empty = false;
		if (v->restarts_off > BLOCK_SLOT_MAX_OFF)
			return -1;
		for (uint32_t i = 0; i < m; i++) {
			uint32_t s = get_le32(v->slots + 4 * (size_t)i);
			if (s == BLOCK_SLOT_EMPTY)
				empty = true;
			else if ((s & BLOCK_SLOT_MAX_OFF) >= v->restarts_off)
				return -1;
		}
		if (!empty)
			return -1;  /* invariant 5: probing must end */
	}
	return 0;
}

/* The restart key of interval r (stored whole), or NULL if malformed. */
static const uint8_t *restart_key(const struct block_view *v, uint32_t r, size_t *klen)
{
	const uint8_t *end = v->data + v->restarts_off;
	uint32_t shared, non_shared, vlen;
	const uint8_t *k = block_entry_header(v->data + block_restart(v, r), end, &shared,
					      &non_shared, &vlen);
	if (!k || shared != 0 || non_shared <= TRAILER_SIZE || non_shared > SKEY_MAX)
		return NULL;
	*klen = non_shared;
	return k;
}

int block_cursor_at(struct block_cursor *c, const struct block_view *v, uint8_t *keybuf,
		    uint32_t r, uint32_t off)
{
	c->v = v;
	c->keybuf = keybuf;
	c->r = r;
	c->off = off;
	if (off >= v->restarts_off)
		return -1;
	const uint8_t *end = v->data + v->restarts_off;
	uint32_t shared, non_shared, vlen;
	const uint8_t *k = block_entry_header(v->data + off, end, &shared, &non_shared, &vlen);
	uint64_t klen = (uint64_t)shared + non_shared;
	if (!k || klen <= TRAILER_SIZE || klen > SKEY_MAX)
		return -1;
	if (off == block_restart(v, r)) {
		if (shared)
			return -1;
		c->rkey = k;
		c->rklen = non_shared;
		c->key = k;
	} else {
		/* c->rkey is interval r's key if the cursor was there already. */
		if (shared > c->rklen)
			return -1;
		if (shared) {
			memcpy(keybuf, c->rkey, shared);
			memcpy(keybuf + shared, k, non_shared);
			c->key = keybuf;
		} else {
			c->key = k;
		}
	}
	c->klen = (size_t)klen;
	c->value = k + non_shared;
	c->vlen = vlen;
	c->next = (uint32_t)(c->value + vlen - v->data);
	return 0;
}

int block_cursor_next(struct block_cursor *c)
{
	const struct block_view *v = c->v;
	if (c->next >= v->restarts_off)
		return 0;
	uint32_t r = c->r;
	if (r + 1 < v->nrestarts && c->next >= block_restart(v, r + 1)) {
		if (c->next != block_restart(v, r + 1)) {
			c->off = c->next;
			return -1;  /* a restart inside an entry */
		}
		r++;
	}
	return block_cursor_at(c, v, c->keybuf, r, c->next) ? -1 : 1;
}

/* Sets c->rkey to interval r's restart key. */
static int load_restart(struct block_cursor *c, const struct block_view *v, uint32_t r)
{
	c->rkey = restart_key(v, r, &c->rklen);
	if (!c->rkey) {
		c->off = block_restart(v, r);
		return -1;
	}
	return 0;
}

int block_seek(struct block_cursor *c, const struct block_view *v, uint8_t *keybuf,
	       const uint8_t *ikey, size_t iklen, uint64_t trailer)
{
	c->v = v;
	c->keybuf = keybuf;
	/* Binary search for the last restart whose key is < target. */
	uint32_t lo = 0, hi = v->nrestarts - 1;
	while (lo < hi) {
		uint32_t mid = (lo + hi + 1) / 2;
		size_t klen;
		const uint8_t *k = restart_key(v, mid, &klen);
		if (!k) {
			c->off = block_restart(v, mid);
			return -1;
		}
		if (skey_cmp_parts(k, klen, ikey, iklen, trailer) < 0)
			lo = mid;
		else
			hi = mid - 1;
	}
	/* Scan forward from there to the first key >= target. */
	if (block_cursor_at(c, v, keybuf, lo, block_restart(v, lo)))
		return -1;
	for (;;) {
		if (skey_cmp_parts(c->key, c->klen, ikey, iklen, trailer) >= 0)
			return 1;
		int n = block_cursor_next(c);
		if (n <= 0)
			return n;
	}
}

int block_hash_find(struct block_cursor *c, const struct block_view *v, uint8_t *keybuf,
		    const uint8_t *ikey, size_t iklen, uint64_t hash)
{
	uint32_t m = v->nslots;
	if (!m)
		return -2;
	uint32_t fp = block_hash_fp(hash);
	uint32_t j = block_hash_home(hash, m);
	for (uint32_t probes = 0; probes < m; probes++, j = j + 1 == m ? 0 : j + 1) {
		uint32_t s = get_le32(v->slots + 4 * (size_t)j);
		if (s == BLOCK_SLOT_EMPTY)
			return 0;
		if (s >> 24 != fp)
			continue;
		uint32_t off = s & BLOCK_SLOT_MAX_OFF;
		__builtin_prefetch(v->data + off);  /* in parallel with the restart key */
		/* The entry's interval: the last restart <= off. */
		uint32_t lo = 0, hi = v->nrestarts - 1;
		while (lo < hi) {
			uint32_t mid = (lo + hi + 1) / 2;
			if (block_restart(v, mid) <= off)
				lo = mid;
			else
				hi = mid - 1;
		}
		if (off != block_restart(v, lo) && load_restart(c, v, lo))
			return -1;
		if (block_cursor_at(c, v, keybuf, lo, off))
			return -1;
		if (ikey_cmp(c->key, c->klen - TRAILER_SIZE, ikey, iklen) == 0)
			return 1;
	}
	return 0;  /* no empty slot: rejected by block_view_init, unreachable */
}
