/*
 * store_etcd.c — the store port's "etcd" backend: a store kept in an etcd
 * v3 cluster (key layout: etcd_format.h), reached through etcd's JSON
 * gateway (etcd_http.c).
 *
 * Why the JSON gateway and libcurl rather than gRPC: etcd serves the same
 * API as JSON on its client port, libcurl (Debian libcurl4-openssl-dev)
 * and jansson (already the HTTP API's JSON library) are well-kept C
 * libraries, and a C gRPC client would bring protobuf code generation and
 * the gRPC C core for the same requests. The cost is base64 for bytes and
 * a JSON parse per answer, small beside a Raft round.
 *
 * Every read is one etcd transaction without compares (a read of a key
 * and of its table's entry in one round trip, at one revision); every
 * commit one transaction whose compares are the port's checks (see
 * etcd_format.h "Versions") and whose failure branch reads the tables it
 * writes, to tell a missing table from a conflict.
 */
#include <stdlib.h>
#include <string.h>

#include "etcd_format.h"
#include "etcd_http.h"
#include "golite_raw.h"
#include "store_int.h"
#include "util.h"

struct etcd_store {
	struct golite_store base;
	struct etcd_http *http;
	char *prefix;    /* P, '/' included */
	size_t plen;
	char *uri;
};

static inline struct etcd_store *E(golite_store *s)
{
	return (struct etcd_store *)s;
}

/* n bytes of p as a NUL-terminated string. */
static char *dupn(const void *p, size_t n)
{
	char *s = xmalloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* ---- keys (etcd_format.h) ---- */

struct kb {
	uint8_t *p;
	size_t n;
};

static struct kb key_make(const struct etcd_store *e, const char *kind, const char *name,
			  bool nul, const void *key, size_t klen)
{
	size_t kl = strlen(kind), nl = name ? strlen(name) : 0;
	struct kb k;
	k.n = e->plen + kl + nl + (nul ? 1 : 0) + klen;
	k.p = xmalloc(k.n + 1);
	uint8_t *q = k.p;
	memcpy(q, e->prefix, e->plen);
	q += e->plen;
	memcpy(q, kind, kl);
	q += kl;
	if (nl) {
		memcpy(q, name, nl);
		q += nl;
	}
	if (nul)
		*q++ = 0;
	if (klen) {
		memcpy(q, key, klen);
		q += klen;
	}
	return k;
}

static struct kb key_header(const struct etcd_store *e)
{
	return key_make(e, "h", NULL, false, NULL, 0);
}

static struct kb key_table(const struct etcd_store *e, const char *table)
{
	return key_make(e, "t/", table, false, NULL, 0);
}

static struct kb key_rec(const struct etcd_store *e, const char *table, const void *key,
			 size_t klen)
{
	return key_make(e, "k/", table, true, key, klen);
}

/* The end of table's records: P "k/" NAME 0x01. */
static struct kb key_rec_end(const struct etcd_store *e, const char *table)
{
	struct kb k = key_make(e, "k/", table, true, NULL, 0);
	k.p[k.n - 1] = 1;
	return k;
}

/* ---- requests ---- */

static json_t *op_range(struct kb k, const struct kb *end, uint64_t limit, bool keys_only,
			bool count_only, uint64_t revision)
{
	json_t *r = json_object();
	json_object_set_new(r, "key", etcd_b64(k.p, k.n));
	if (end)
		json_object_set_new(r, "range_end", etcd_b64(end->p, end->n));
	if (limit)
		json_object_set_new(r, "limit", etcd_num(limit));
	if (keys_only)
		json_object_set_new(r, "keys_only", json_true());
	if (count_only)
		json_object_set_new(r, "count_only", json_true());
	if (revision)
		json_object_set_new(r, "revision", etcd_num(revision));
	return json_pack("{s:o}", "request_range", r);
}

static json_t *op_put(struct kb k, const void *v, size_t vlen)
{
	json_t *r = json_object();
	json_object_set_new(r, "key", etcd_b64(k.p, k.n));
	json_object_set_new(r, "value", etcd_b64(v, vlen));
	return json_pack("{s:o}", "request_put", r);
}

static json_t *op_delete(struct kb k, const struct kb *end)
{
	json_t *r = json_object();
	json_object_set_new(r, "key", etcd_b64(k.p, k.n));
	if (end)
		json_object_set_new(r, "range_end", etcd_b64(end->p, end->n));
	return json_pack("{s:o}", "request_delete_range", r);
}

/* A compare: target "MOD" or "CREATE", result "EQUAL", "GREATER", "LESS". */
static json_t *cmp(struct kb k, const struct kb *end, const char *target, const char *result,
		   uint64_t rev)
{
	json_t *c = json_object();
	json_object_set_new(c, "key", etcd_b64(k.p, k.n));
	if (end)
		json_object_set_new(c, "range_end", etcd_b64(end->p, end->n));
	json_object_set_new(c, "target", json_string(target));
	json_object_set_new(c, "result", json_string(result));
	json_object_set_new(c, strcmp(target, "MOD") == 0 ? "mod_revision" : "create_revision",
			    etcd_num(rev));
	return c;
}

/* Runs a transaction; on 0, *resp is the answer, *ok whether the
 * compares held. Takes the three arrays. */
static int txn(struct etcd_store *e, json_t *compare, json_t *success, json_t *failure,
	       bool write, bool *ok, json_t **resp)
{
	json_t *req = json_object();
	if (json_array_size(compare))
		json_object_set(req, "compare", compare);
	if (json_array_size(success))
		json_object_set(req, "success", success);
	if (failure && json_array_size(failure))
		json_object_set(req, "failure", failure);
	json_decref(compare);
	json_decref(success);
	json_decref(failure);
	e->base.requests++;
	int r = etcd_call(e->http, "/v3/kv/txn", req, write, resp);
	json_decref(req);
	if (r == 0)
		*ok = json_is_true(json_object_get(*resp, "succeeded"));
	return r;
}

static uint64_t resp_revision(json_t *resp)
{
	return etcd_get_num(json_object_get(resp, "header"), "revision");
}

/* The response_range of the i-th operation's answer (NULL if none). */
static json_t *range_resp(json_t *resp, size_t i)
{
	json_t *one = json_array_get(json_object_get(resp, "responses"), i);
	return json_object_get(one, "response_range");
}

static json_t *range_kvs(json_t *rr)
{
	json_t *kvs = json_object_get(rr, "kvs");
	return json_is_array(kvs) ? kvs : NULL;
}

/* ---- tables ---- */

static int no_table(const char *table)
{
	return golite_error_set(GOLITE_ENOTABLE, "no table \"%s\"", table);
}

static int etcd_table_create(golite_store *s, const char *table)
{
	struct etcd_store *e = E(s);
	struct kb k = key_table(e, table);
	uint8_t hdr[ETCD_TABLE_SIZE] = { 0 };
	memcpy(hdr, ETCD_TABLE_MAGIC, 4);
	bool ok;
	json_t *resp;
	int r = txn(e, json_pack("[o]", cmp(k, NULL, "CREATE", "EQUAL", 0)),
		    json_pack("[o]", op_put(k, hdr, sizeof(hdr))), NULL, true, &ok, &resp);
	free(k.p);
	if (r)
		return r;
	json_decref(resp);
	return ok ? 0 : golite_error_set(GOLITE_EEXIST, "table \"%s\" exists", table);
}

static int etcd_table_drop(golite_store *s, const char *table, bool force)
{
	struct etcd_store *e = E(s);
	struct kb k = key_table(e, table), lo = key_rec(e, table, NULL, 0),
		  hi = key_rec_end(e, table);
	int r;
	for (unsigned attempt = 0;; attempt++) {
		/* The table's entry and whether it holds a record, at one
		 * revision. */
		bool ok;
		json_t *resp;
		r = txn(e, json_array(),
			json_pack("[oo]", op_range(k, NULL, 0, true, false, 0),
				  op_range(lo, &hi, 1, true, false, 0)),
			NULL, false, &ok, &resp);
		if (r)
			break;
		json_t *tk = range_kvs(range_resp(resp, 0));
		uint64_t tmod = etcd_get_num(json_array_get(tk, 0), "mod_revision");
		bool empty = json_array_size(range_kvs(range_resp(resp, 1))) == 0;
		uint64_t rev = resp_revision(resp);
		json_decref(resp);
		if (!tmod) {
			r = no_table(table);
			break;
		}
		if (!empty && !force) {
			r = golite_error_set(GOLITE_ENOTEMPTY, "table \"%s\" is not empty", table);
			break;
		}
		/* Force: the records go too. Otherwise: none may have been
		 * written since the read found none. */
		json_t *c = json_pack("[o]", cmp(k, NULL, "MOD", "EQUAL", tmod));
		if (!force)
			json_array_append_new(c, cmp(lo, &hi, "MOD", "LESS", rev + 1));
		r = txn(e, c, json_pack("[oo]", op_delete(k, NULL), op_delete(lo, &hi)), NULL,
			true, &ok, &resp);
		if (r)
			break;
		json_decref(resp);
		if (ok)
			break;
		golite_store_backoff(attempt);
	}
	free(k.p);
	free(lo.p);
	free(hi.p);
	return r;
}

static int etcd_table_list(golite_store *s, char ***names, size_t *count)
{
	struct etcd_store *e = E(s);
	struct kb lo = key_make(e, "t/", NULL, false, NULL, 0),
		  hi = key_make(e, "t0", NULL, false, NULL, 0);   /* '0' follows '/' */
	char **list = NULL;
	size_t n = 0, bytes = 0;
	uint64_t rev = 0;
	int r = 0;
	for (;;) {
		json_t *req = json_pack("{s:o,s:o,s:o,s:b}", "key", etcd_b64(lo.p, lo.n),
					"range_end", etcd_b64(hi.p, hi.n), "limit",
					etcd_num(1000), "keys_only", 1);
		if (rev)
			json_object_set_new(req, "revision", etcd_num(rev));
		json_t *resp;
		e->base.requests++;
		r = etcd_call(e->http, "/v3/kv/range", req, false, &resp);
		json_decref(req);
		if (r)
			break;
		rev = resp_revision(resp);
		json_t *kvs = range_kvs(resp);
		size_t i;
		json_t *kv;
		size_t tlen = e->plen + 2;
		json_array_foreach(kvs, i, kv)
		{
			size_t kl;
			uint8_t *key = etcd_get_bytes(kv, "key", &kl);
			if (!key || kl <= tlen) {
				free(key);
				continue;
			}
			list = xrealloc(list, (n + 1) * sizeof(*list));
			list[n] = dupn((char *)key + tlen, kl - tlen);
			bytes += kl - tlen + 1;
			n++;
			free(key);
		}
		bool more = json_is_true(json_object_get(resp, "more"));
		if (more && json_array_size(kvs)) {
			/* resume after the last key */
			size_t kl;
			uint8_t *last = etcd_get_bytes(json_array_get(kvs, json_array_size(kvs) - 1),
						       "key", &kl);
			free(lo.p);
			lo.p = xmalloc(kl + 1);
			memcpy(lo.p, last, kl);
			lo.p[kl] = 0;
			lo.n = kl + 1;
			free(last);
		}
		json_decref(resp);
		if (!more)
			break;
	}
	free(lo.p);
	free(hi.p);
	if (r) {
		for (size_t i = 0; i < n; i++)
			free(list[i]);
		free(list);
		return r;
	}
	/* One block, as golite_table_list gives. */
	char **out = xmalloc((n + 1) * sizeof(char *) + bytes);
	char *q = (char *)(out + n + 1);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(list[i]) + 1;
		memcpy(q, list[i], l);
		out[i] = q;
		q += l;
		free(list[i]);
	}
	out[n] = NULL;
	free(list);
	*names = out;
	*count = n;
	return 0;
}

/* ---- reads ---- */

static int etcd_get(golite_store *s, const char *table, const void *key, size_t klen,
		    void **value, size_t *vlen, uint64_t *version)
{
	struct etcd_store *e = E(s);
	struct kb rk = key_rec(e, table, key, klen), tk = key_table(e, table);
	bool ok;
	json_t *resp;
	int r = txn(e, json_array(),
		    json_pack("[oo]", op_range(rk, NULL, 0, value == NULL, false, 0),
			      op_range(tk, NULL, 0, true, false, 0)),
		    NULL, false, &ok, &resp);
	free(rk.p);
	free(tk.p);
	if (r)
		return r;
	json_t *kv = json_array_get(range_kvs(range_resp(resp, 0)), 0);
	if (!kv) {
		bool table_there = json_array_size(range_kvs(range_resp(resp, 1))) > 0;
		json_decref(resp);
		return table_there ? golite_error_set(GOLITE_ENOTFOUND, "no such key")
				   : no_table(table);
	}
	*version = etcd_get_num(kv, "mod_revision");
	if (value)
		*value = etcd_get_bytes(kv, "value", vlen);
	else
		*vlen = 0;
	json_decref(resp);
	return 0;
}

static int etcd_scan(golite_store *s, const char *table, const void *start, size_t slen,
		     const void *end, size_t elen, size_t limit, bool keys_only, scan_fn fn,
		     void *ctx, bool *more, uint64_t *revision)
{
	struct etcd_store *e = E(s);
	struct kb lo = key_rec(e, table, start, slen),
		  hi = elen ? key_rec(e, table, end, elen) : key_rec_end(e, table);
	struct kb tk = key_table(e, table);
	size_t prefix = e->plen + 2 + strlen(table) + 1;
	size_t given = 0;
	uint64_t rev = 0;
	int r = 0;
	*more = false;
	for (bool first = true;; first = false) {
		uint64_t page = 1000;
		if (limit)
			page = MIN(page, limit - given + 1);   /* one more: is there more? */
		json_t *ops = json_pack("[o]", op_range(lo, &hi, page, keys_only, false, rev));
		if (first)
			json_array_append_new(ops, op_range(tk, NULL, 0, true, false, 0));
		bool ok;
		json_t *resp;
		r = txn(e, json_array(), ops, NULL, false, &ok, &resp);
		if (r)
			break;
		if (first) {
			rev = resp_revision(resp);
			*revision = rev;
			if (json_array_size(range_kvs(range_resp(resp, 1))) == 0) {
				json_decref(resp);
				r = no_table(table);
				break;
			}
		}
		json_t *rr = range_resp(resp, 0);
		json_t *kvs = range_kvs(rr);
		bool page_more = json_is_true(json_object_get(rr, "more"));
		size_t i;
		json_t *kv;
		struct kb last = { 0 };
		json_array_foreach(kvs, i, kv)
		{
			if (limit && given == limit) {
				*more = true;
				break;
			}
			size_t kl, vl = 0;
			uint8_t *k = etcd_get_bytes(kv, "key", &kl);
			uint8_t *v = keys_only ? NULL : etcd_get_bytes(kv, "value", &vl);
			if (!k || kl <= prefix) {
				free(k);
				free(v);
				continue;
			}
			golite_store_item it = { .key = k + prefix, .klen = kl - prefix,
						 .value = keys_only ? NULL : (v ? v : (uint8_t *)""),
						 .vlen = vl,
						 .version = etcd_get_num(kv, "mod_revision") };
			given++;
			r = fn(ctx, &it);
			free(v);
			free(last.p);
			last.p = k;
			last.n = kl;
			if (r)
				break;
		}
		json_decref(resp);
		if (r || *more || !page_more || !last.p) {
			free(last.p);
			break;
		}
		/* next page: after the last key */
		free(lo.p);
		lo.p = xrealloc(last.p, last.n + 1);
		lo.p[last.n] = 0;
		lo.n = last.n + 1;
	}
	free(lo.p);
	free(hi.p);
	free(tk.p);
	return r;
}

/* ---- commits ---- */

static bool same_write(const struct txn_write *a, const struct txn_write *b)
{
	return a->klen == b->klen && strcmp(a->table, b->table) == 0 &&
	       memcmp(a->key, b->key, a->klen) == 0;
}

static int etcd_commit(golite_txn *t, uint64_t *revision)
{
	struct etcd_store *e = E(t->s);
	json_t *compare = json_array(), *success = json_array(), *failure = json_array();
	/* the tables written, once each, in the order first written */
	const char **tables = xmalloc(t->nwrites * sizeof(*tables));
	size_t ntables = 0;
	for (size_t i = 0; i < t->nreads; i++) {
		const struct txn_read *rd = &t->reads[i];
		struct kb k = key_rec(e, rd->table, rd->key, rd->klen);
		json_array_append_new(compare, cmp(k, NULL, "MOD", "EQUAL", rd->version));
		free(k.p);
	}
	for (size_t i = 0; i < t->nscans; i++) {
		const struct txn_scan *sc = &t->scans[i];
		struct kb lo = key_rec(e, sc->table, sc->start, sc->slen),
			  hi = sc->elen ? key_rec(e, sc->table, sc->end, sc->elen)
					: key_rec_end(e, sc->table);
		/* nothing in the range written since the scan's revision ... */
		json_array_append_new(compare, cmp(lo, &hi, "MOD", "LESS", sc->revision + 1));
		free(lo.p);
		free(hi.p);
		/* ... and each key it returned still there (a delete leaves no
		 * revision behind in the range) */
		for (size_t k = 0; k < sc->n; k++) {
			struct kb kk = key_rec(e, sc->table, sc->keys[k], sc->klens[k]);
			json_array_append_new(compare,
					      cmp(kk, NULL, "MOD", "EQUAL", sc->versions[k]));
			free(kk.p);
		}
	}
	for (size_t i = 0; i < t->nwrites; i++) {
		const struct txn_write *w = &t->writes[i];
		size_t j;
		for (j = 0; j < ntables && strcmp(tables[j], w->table) != 0; j++)
			;
		if (j == ntables)
			tables[ntables++] = w->table;
		/* etcd refuses a transaction naming a key twice: the last write
		 * of a key is the one that counts */
		for (j = i + 1; j < t->nwrites && !same_write(w, &t->writes[j]); j++)
			;
		if (j < t->nwrites)
			continue;
		struct kb k = key_rec(e, w->table, w->key, w->klen);
		json_array_append_new(success, w->op == TXN_PUT ? op_put(k, w->value, w->vlen)
								: op_delete(k, NULL));
		free(k.p);
	}
	for (size_t i = 0; i < ntables; i++) {
		struct kb k = key_table(e, tables[i]);
		json_array_append_new(compare, cmp(k, NULL, "CREATE", "GREATER", 0));
		json_array_append_new(failure, op_range(k, NULL, 0, true, true, 0));
		free(k.p);
	}
	if (json_array_size(compare) > ETCD_MAX_TXN_COMPARES) {
		size_t nc = json_array_size(compare);
		json_decref(compare);
		json_decref(success);
		json_decref(failure);
		free(tables);
		return golite_error_set(GOLITE_EBATCH,
					"the transaction read %zu keys and ranges; an etcd commit "
					"checks at most %u",
					nc, ETCD_MAX_TXN_COMPARES);
	}
	bool ok;
	json_t *resp;
	int r = txn(e, compare, success, failure, true, &ok, &resp);
	if (r) {
		free(tables);
		return r;
	}
	if (ok) {
		*revision = resp_revision(resp);
	} else {
		r = golite_error_set(GOLITE_ECONFLICT,
				     "a key or range the transaction read has changed");
		for (size_t i = 0; i < ntables; i++) {
			if (etcd_get_num(range_resp(resp, i), "count") == 0) {
				r = no_table(tables[i]);
				break;
			}
		}
	}
	json_decref(resp);
	free(tables);
	return r;
}

/* A record's version is the mod_revision of the commit that wrote it. */
static uint64_t etcd_version_after(const golite_store *s, uint64_t revision, const void *value,
				   size_t vlen)
{
	(void)s, (void)value, (void)vlen;
	return revision;
}

/* ---- watch ---- */

struct watch_ctx {
	struct etcd_store *e;
	int (*fn)(void *ctx, const golite_store_event *ev);
	void *ctx;
};

static int watch_msg(void *arg, json_t *msg)
{
	struct watch_ctx *w = arg;
	json_t *res = json_object_get(msg, "result");
	if (!res) {
		json_t *err = json_object_get(msg, "error");
		return golite_error_set(GOLITE_EIO, "etcd watch failed: %s",
					err ? json_string_value(json_object_get(err, "message"))
					    : "no result");
	}
	uint64_t compacted = etcd_get_num(res, "compact_revision");
	if (compacted)
		return golite_error_set(GOLITE_ERANGE,
					"etcd compacted the revisions asked for (up to %llu): "
					"events were missed",
					(unsigned long long)compacted);
	if (json_is_true(json_object_get(res, "created"))) {
		golite_store_event in_place = { .revision = resp_revision(res) };
		int r = w->fn(w->ctx, &in_place);
		if (r)
			return r;
	}
	if (json_is_true(json_object_get(res, "canceled")))
		return golite_error_set(GOLITE_EIO, "etcd canceled the watch: %s",
					json_string_value(json_object_get(res, "cancel_reason")));
	size_t i;
	json_t *ev;
	size_t skip = w->e->plen + 2;
	json_array_foreach(json_object_get(res, "events"), i, ev)
	{
		json_t *kv = json_object_get(ev, "kv");
		size_t kl, vl = 0;
		uint8_t *k = etcd_get_bytes(kv, "key", &kl);
		uint8_t *nul = k && kl > skip ? memchr(k + skip, 0, kl - skip) : NULL;
		if (!nul || nul + 1 >= k + kl) {
			free(k);
			continue;
		}
		bool del = json_is_string(json_object_get(ev, "type")) &&
			   strcmp(json_string_value(json_object_get(ev, "type")), "DELETE") == 0;
		uint8_t *v = del ? NULL : etcd_get_bytes(kv, "value", &vl);
		golite_store_event e = { .revision = etcd_get_num(kv, "mod_revision"),
					 .deleted = del,
					 .table = (const char *)k + skip,
					 .key = nul + 1,
					 .klen = (size_t)(k + kl - (nul + 1)),
					 .value = v,
					 .vlen = vl };
		int r = w->fn(w->ctx, &e);
		free(k);
		free(v);
		if (r)
			return r;
	}
	return 0;
}

static int etcd_watch(golite_store *s, const char *table, uint64_t from,
		      int (*fn)(void *ctx, const golite_store_event *ev), void *ctx,
		      const volatile int *stop)
{
	struct etcd_store *e = E(s);
	struct kb lo, hi;
	if (table) {
		lo = key_rec(e, table, NULL, 0);
		hi = key_rec_end(e, table);
	} else {
		lo = key_make(e, "k/", NULL, false, NULL, 0);
		hi = key_make(e, "k0", NULL, false, NULL, 0);
	}
	json_t *cr = json_object();
	json_object_set_new(cr, "key", etcd_b64(lo.p, lo.n));
	json_object_set_new(cr, "range_end", etcd_b64(hi.p, hi.n));
	if (from)
		json_object_set_new(cr, "start_revision", etcd_num(from));
	json_t *req = json_pack("{s:o}", "create_request", cr);
	free(lo.p);
	free(hi.p);
	struct watch_ctx w = { .e = e, .fn = fn, .ctx = ctx };
	int r = etcd_stream(e->http, "/v3/watch", req, watch_msg, &w, stop);
	json_decref(req);
	return r;
}

/* ---- open ---- */

static void etcd_close(golite_store *s)
{
	struct etcd_store *e = E(s);
	etcd_http_free(e->http);
	free(e->prefix);
	free(e->uri);
	free(e);
}

static const struct store_backend etcd_backend = {
	.name = "etcd",
	.close = etcd_close,
	.table_create = etcd_table_create,
	.table_drop = etcd_table_drop,
	.table_list = etcd_table_list,
	.get = etcd_get,
	.scan = etcd_scan,
	.commit = etcd_commit,
	.version_after = etcd_version_after,
	.watch = etcd_watch,
};

/* Reads, or with create makes, the store header. */
static int check_header(struct etcd_store *e, bool create)
{
	struct kb k = key_header(e);
	uint8_t hdr[ETCD_HEADER_SIZE];
	memcpy(hdr, ETCD_HEADER_MAGIC, 8);
	put_le32(hdr + 8, ETCD_FORMAT_VERSION);
	put_le32(hdr + 12, 0);
	bool ok;
	json_t *resp;
	/* If absent (and create): write it. Either way read it. */
	json_t *compare = json_pack("[o]", cmp(k, NULL, "CREATE", "EQUAL", 0));
	json_t *success = create ? json_pack("[oo]", op_put(k, hdr, sizeof(hdr)),
					     op_range(k, NULL, 0, false, false, 0))
				 : json_pack("[o]", op_range(k, NULL, 0, false, false, 0));
	int r = txn(e, compare, success, json_pack("[o]", op_range(k, NULL, 0, false, false, 0)),
		    create, &ok, &resp);
	free(k.p);
	if (r)
		return r;
	json_t *rr = range_resp(resp, ok && create ? 1 : 0);
	json_t *kv = json_array_get(range_kvs(rr), 0);
	size_t n = 0;
	uint8_t *v = kv ? etcd_get_bytes(kv, "value", &n) : NULL;
	json_decref(resp);
	if (!v) {
		return golite_error_set(GOLITE_ENOTFOUND,
					"no store at %s (`golite --store URI create TABLE` or "
					"`put -c` makes one; golite_store_options.create)",
					e->uri);
	}
	if (n != ETCD_HEADER_SIZE || memcmp(v, ETCD_HEADER_MAGIC, 8) != 0)
		r = golite_error_set(GOLITE_ECORRUPT, "%s: the key %sh is not a store header",
				     e->uri, e->prefix);
	else if (get_le32(v + 8) != ETCD_FORMAT_VERSION || get_le32(v + 12) != 0)
		r = golite_error_set(GOLITE_EVERSION,
				     "%s: store format version %u (flags %#x); this build reads "
				     "version %u",
				     e->uri, get_le32(v + 8), get_le32(v + 12), ETCD_FORMAT_VERSION);
	free(v);
	return r;
}

int store_etcd_open(const char *rest, const golite_store_options *o, golite_store **out)
{
	const char *slash = strchr(rest, '/');
	size_t hl = slash ? (size_t)(slash - rest) : strlen(rest);
	const char *path = slash ? slash + 1 : "";
	while (*path == '/')
		path++;
	size_t pl = strlen(path);
	while (pl > 0 && path[pl - 1] == '/')
		pl--;
	if (hl == 0)
		return golite_error_set(GOLITE_EINVAL, "etcd://%s names no member", rest);
	if (memchr(path, 0, pl) || strpbrk(rest, "?#"))
		return golite_error_set(GOLITE_EINVAL, "etcd://%s: bad prefix", rest);
	char *hosts = dupn(rest, hl);
	struct etcd_store *e = xcalloc(1, sizeof(*e));
	int r = etcd_http_new(hosts, o->timeout_ms, &e->http);
	free(hosts);
	if (r) {
		free(e);
		return r;
	}
	e->base.b = &etcd_backend;
	e->base.o = *o;
	e->base.limits = (golite_store_limits){ .max_value = ETCD_MAX_VALUE,
						.max_txn_writes = ETCD_MAX_TXN_WRITES,
						.max_txn_bytes = ETCD_MAX_TXN_BYTES };
	e->prefix = pl ? xasprintf("%.*s/", (int)pl, path) : xasprintf("%s/", ETCD_DEFAULT_PREFIX);
	e->plen = strlen(e->prefix);
	e->uri = xasprintf("etcd://%s", rest);
	r = check_header(e, o->create != 0);
	if (r) {
		etcd_close(&e->base);
		return r;
	}
	*out = &e->base;
	return 0;
}
