/*
 * http_keys.c — one key: GET and HEAD (the value as the body), PUT (the
 * body as the value), DELETE, and their conditions.
 *
 * Versions. The store keeps no version per key, so a key's ETag is a hash
 * of its value: XXH3-128 in hex. Two values have the same ETag only if
 * they are equal (up to a 2^-128 chance), which is what a strong ETag
 * promises; a value written twice keeps its ETag, so a compare-and-set
 * that expects it still succeeds (the "ABA" case; a client that must tell
 * writes apart puts a counter in the value).
 *
 * Conditions. If-Match (a list of ETags, or "*": the key exists) and
 * If-None-Match ("*": the key does not exist, i.e. create-only; or ETags)
 * on PUT and DELETE are checked and the write made with the key's stripe
 * of key_mu held (http_int.h invariant 2): no write over HTTP can come
 * between the check and the write. A failed condition answers 412 and
 * changes nothing. On GET, If-None-Match answers 304 when it matches.
 *
 * Last-Modified is sent for keys written through the mount (their file
 * record keeps an mtime); values written through the API have none.
 *
 * Times to live (golite.h "Keys that expire"): PUT ?ttl=SECONDS writes a
 * key that expires (1 to 100 years; anything else is 400 bad_ttl); a PUT
 * without it clears one, as golite_put does. GET and HEAD of a key that
 * expires send Golite-Expires-In: the seconds left, rounded up.
 */
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"
#include "vfile.h"

/* Values up to HTTP_SMALL_VALUE are read into the thread's buffer, not
 * allocated: the common GET costs no malloc of ours. */
static __thread uint8_t small_buf[HTTP_SMALL_VALUE];

unsigned http_lock_index(const char *table, const void *key, size_t klen)
{
	uint64_t h = hash64(key, klen) ^ (hash64(table, strlen(table)) * UINT64_C(0x9e3779b97f4a7c15));
	return (unsigned)(h >> 32) % HTTP_KEY_LOCKS;
}

/* A value as read for a reply: val points into small_buf or heap. */
struct value {
	const uint8_t *val;
	size_t len;
	void *heap;
	int64_t mtime_ns;            /* -1: not known */
	uint64_t expires;            /* ms since the epoch; 0: never */
};

static void value_free(struct value *v)
{
	free(v->heap);
	v->heap = NULL;
}

/*
 * Reads the shared record of inode ino into v->heap (what it held before
 * is freed) and decodes it into *f. Returns 0, or GOLITE_ECORRUPT if it is
 * missing or no file record (as golite_get answers for such a name), or
 * the error of the read; v is freed on an error.
 */
static int shared_read(golite *db, const golite_snapshot *snap, uint64_t ino, struct value *v,
		       struct vfile *f)
{
	uint8_t key[VFILE_INODE_KEY];
	vfile_inode_key(key, ino);
	unsigned kind;
	size_t len;
	void *rec;
	value_free(v);
	int r = golite_get_raw_at(db, snap, GOLITE_TABLE_FS, key, sizeof(key), &kind, NULL, 0, &rec,
				  &len);
	if (r)
		return r == GOLITE_ENOTFOUND ? GOLITE_ECORRUPT : r;
	v->heap = rec;
	if (kind != GOLITE_KIND_META || vfile_decode(rec, len, f) || f->type == VFILE_DIR ||
	    f->type == VFILE_HLINK) {
		value_free(v);
		return GOLITE_ECORRUPT;
	}
	return 0;
}

/* Reads table[key] (table id tid) at snap (NULL: now). Returns 0 or a
 * GOLITE_E* code. */
static int value_read(golite *db, const golite_snapshot *snap, uint32_t tid, const char *table,
		      const uint8_t *key, size_t klen, struct value *v)
{
	unsigned kind;
	size_t len;
	memset(v, 0, sizeof(*v));
	v->mtime_ns = -1;
	int r = golite_get_raw_ex(db, snap, tid, key, klen, &kind, &v->expires, small_buf,
				  sizeof(small_buf), NULL, &len);
	const uint8_t *raw = small_buf;
	if (r == GOLITE_ERANGE) {
		r = golite_get_raw_ex(db, snap, tid, key, klen, &kind, &v->expires, NULL, 0,
				      &v->heap, &len);
		raw = v->heap;
	}
	if (r)
		return r;
	if (kind != GOLITE_KIND_META) {
		v->val = raw;
		v->len = len;
		return 0;
	}
	/* A file written through the mount: its record holds the times, and
	 * the bytes inline or in chunks. */
	struct vfile f;
	if (vfile_decode(raw, len, &f)) {
		value_free(v);
		return GOLITE_ECORRUPT;
	}
	if (f.type == VFILE_HLINK) {
		/* A name of a linked file (common/vfile.h): times and bytes
		 * are the shared record's. */
		r = shared_read(db, snap, f.ino, v, &f);
		if (r)
			return r;
	}
	v->mtime_ns = f.mtime_ns;
	if (f.type == VFILE_DIR) {
		value_free(v);
		return GOLITE_EISDIR;
	}
	if (f.type == VFILE_REG && !(f.flags & VFILE_F_CHUNKED)) {
		v->val = f.data;
		v->len = f.data_len;
		return 0;
	}
	void *whole;
	r = golite_get_at(db, snap, table, key, klen, &whole, &len);
	value_free(v);
	if (r)
		return r;
	v->heap = whole;
	v->val = whole;
	v->len = len;
	return 0;
}

static void add_last_modified(struct MHD_Response *resp, int64_t ns)
{
	if (ns < 0)
		return;
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;
	char buf[64];
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	if (!gmtime_r(&t, &tm))
		return;
	snprintf(buf, sizeof(buf), "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday],
		 tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_LAST_MODIFIED, buf);
}

enum MHD_Result http_key_get(struct http_server *s, struct MHD_Connection *c,
			     const struct http_route *rt)
{
	golite_snapshot *snap;
	enum MHD_Result res;
	if (http_snapshot_arg(s, c, &snap, &res))
		return res;
	uint32_t tid;
	int r = golite_table_id_at(s->db, snap, rt->table, &tid);
	struct value v;
	if (!r)
		r = value_read(s->db, snap, tid, rt->table, rt->key, rt->klen, &v);
	golite_snapshot_free(snap);
	if (r)
		return http_store_error(s, c, r, r == GOLITE_ENOTABLE ? rt->table : "get");
	char etag[HTTP_ETAG_LEN + 1];
	http_etag(v.val, v.len, etag);
	struct MHD_Response *resp;
	unsigned status = MHD_HTTP_OK;
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_IF_NONE_MATCH);
	if (inm && http_etag_match(inm, etag)) {
		status = MHD_HTTP_NOT_MODIFIED;
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	} else if (v.heap && v.val == v.heap) {
		resp = MHD_create_response_from_buffer(v.len, v.heap, MHD_RESPMEM_MUST_FREE);
		if (resp)
			v.heap = NULL;
	} else {
		resp = MHD_create_response_from_buffer(v.len, (void *)v.val,
						       MHD_RESPMEM_MUST_COPY);
	}
	value_free(&v);
	if (!resp)
		return MHD_NO;
	atomic_fetch_add_explicit(&s->bytes_out, v.len, memory_order_relaxed);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
	add_last_modified(resp, v.mtime_ns);
	if (v.expires) {
		char left[24];
		snprintf(left, sizeof(left), "%llu",
			 (unsigned long long)golite_seconds_left(s->db, v.expires));
		MHD_add_response_header(resp, "Golite-Expires-In", left);
	}
	return http_queue(s, c, status, resp);
}

/* Checks If-Match / If-None-Match against table[key] (stripe held).
 * Returns 0 if the write may go ahead, 412 if a condition failed, or a
 * negative GOLITE_E* code. *existed tells whether the key had a value. */
static int check_conditions(struct http_server *s, struct MHD_Connection *c,
			    const struct http_route *rt, const char *im, const char *inm,
			    bool *existed)
{
	uint32_t tid;
	int r = golite_table_id(s->db, rt->table, &tid);
	if (r)
		return r;
	struct value v;
	r = value_read(s->db, NULL, tid, rt->table, rt->key, rt->klen, &v);
	if (r && r != GOLITE_ENOTFOUND)
		return r;
	(void)c;
	*existed = r == 0;
	char etag[HTTP_ETAG_LEN + 1];
	if (*existed)
		http_etag(v.val, v.len, etag);
	value_free(&v);
	const char *cur = *existed ? etag : NULL;
	if (im && !http_etag_match(im, cur))
		return 412;
	if (inm && http_etag_match(inm, cur))
		return 412;
	return 0;
}

/* The common path of PUT and DELETE. value NULL: delete. */
static enum MHD_Result key_write(struct http_server *s, struct MHD_Connection *c,
				 const struct http_route *rt, const uint8_t *value, size_t len)
{
	const char *im = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_IF_MATCH);
	const char *inm = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						      MHD_HTTP_HEADER_IF_NONE_MATCH);
	uint64_t ttl_ms = 0;
	const char *ttl = value ? MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "ttl")
				: NULL;
	if (ttl) {
		char *end;
		unsigned long long sec = strtoull(ttl, &end, 10);
		if (!*ttl || *end || *ttl == '-' || sec == 0 || sec > GOLITE_TTL_MAX_MS / 1000)
			return http_error(s, c, 400, "bad_ttl",
					  "ttl=%.32s: a time to live is a number of seconds from 1 "
					  "to %llu", ttl,
					  (unsigned long long)(GOLITE_TTL_MAX_MS / 1000));
		ttl_ms = (uint64_t)sec * 1000;
	}
	pthread_mutex_t *mu = &s->key_mu[http_lock_index(rt->table, rt->key, rt->klen)];
	bool existed = false;
	int r = 0;
	http_write_begin(s);
	mutex_lock(mu);
	if (im || inm)
		r = check_conditions(s, c, rt, im, inm, &existed);
	if (!r && value && ttl_ms)
		r = golite_put_ttl(s->db, rt->table, rt->key, rt->klen, value, len, ttl_ms);
	else if (!r)
		r = value ? golite_put(s->db, rt->table, rt->key, rt->klen, value, len)
			  : golite_delete(s->db, rt->table, rt->key, rt->klen);
	mutex_unlock(mu);
	http_write_end(s);
	if (r == 412)
		return http_error(s, c, 412, "precondition_failed",
				  im ? "the key's ETag does not match If-Match"
				     : "the key exists (If-None-Match)");
	if (r)
		return http_store_error(s, c, r, value ? "put" : "delete");
	http_changed(s, rt->table, rt->key, rt->klen);
	http_publish(s, value ? "put" : "delete", rt->table, rt->key, rt->klen, NULL, NULL, 0);
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL,
								    MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	unsigned status = MHD_HTTP_NO_CONTENT;
	if (value) {
		char etag[HTTP_ETAG_LEN + 1];
		http_etag(value, len, etag);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, etag);
		if (inm && !strcmp(inm, "*"))
			status = MHD_HTTP_CREATED;
	}
	return http_queue(s, c, status, resp);
}

enum MHD_Result http_key_put(struct http_server *s, struct MHD_Connection *c,
			     const struct http_route *rt, const uint8_t *body, size_t len)
{
	static const uint8_t empty[1];
	return key_write(s, c, rt, body ? body : empty, len);
}

enum MHD_Result http_key_delete(struct http_server *s, struct MHD_Connection *c,
				const struct http_route *rt)
{
	return key_write(s, c, rt, NULL, 0);
}
