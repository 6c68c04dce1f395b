/*
 * http_list.c — tables (GET /v1/tables, PUT and DELETE /v1/t/TABLE) and
 * ordered listings of a table's keys (GET /v1/t/TABLE?...).
 *
 * A listing is streamed: one iterator per request, read as libmicrohttpd
 * asks for more bytes, one NDJSON line per key written into a buffer that
 * is reused, so a listing of a million keys holds one line in memory, not
 * a million. The iterator is a snapshot taken when the request arrives;
 * while a listing is read it keeps the tables it reads from being deleted
 * (a slow reader of a large listing delays the reclaiming of their space,
 * as a long-lived iterator of the library does).
 *
 * Lines (docs/api.md):
 *   {"key":"k","size":5}                    a key (with values=1:
 *   {"key":"k","value":"hello"}             the value instead of its size)
 *   {"key_b64":"AAE=","value_b64":"..."}    bytes that are not UTF-8 text
 *   {"key":"d","dir":true}                  a directory made through the mount
 *   ...,"expires_in":S}                     a key that expires: seconds left
 *                                           (rounded up), after its size or value
 *   {"next":"TOKEN"}                        the last line when keys remain:
 *                                           ?cursor=TOKEN reads the next page
 *   {"error":{...}}                         the iterator failed midway
 */
#include "base64.h"
#include "http_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- tables ---- */

enum MHD_Result http_tables_get(struct http_server *s, struct MHD_Connection *c)
{
	char **names;
	size_t n;
	int r = golite_table_list(s->db, &names, &n);
	if (r)
		return http_store_error(s, c, r, "list tables");
	struct sbuf b = { 0 };
	sb_puts(&b, "{\"tables\":[");
	for (size_t i = 0; i < n; i++) {
		sb_puts(&b, i ? ",{" : "{");
		sb_json_bytes(&b, "name", names[i], strlen(names[i]));
		sb_puts(&b, "}");
	}
	sb_puts(&b, "]}\n");
	golite_free(names);
	enum MHD_Result res = http_json(s, c, MHD_HTTP_OK, b.p, b.len);
	free(b.p);
	return res;
}

enum MHD_Result http_table_put(struct http_server *s, struct MHD_Connection *c,
			       const struct http_route *rt)
{
	http_write_begin(s);
	int r = golite_table_create(s->db, rt->table);
	http_write_end(s);
	if (r)
		return http_store_error(s, c, r, rt->table);
	http_changed(s, rt->table, NULL, 0);
	http_publish(s, "create-table", rt->table, NULL, 0, NULL, NULL, 0);
	return http_json(s, c, MHD_HTTP_CREATED, "{\"created\":true}\n", 17);
}

enum MHD_Result http_table_delete(struct http_server *s, struct MHD_Connection *c,
				  const struct http_route *rt)
{
	bool bad = false;
	char *force = http_arg(c, "force", NULL, &bad);
	bool all = force && (!strcmp(force, "1") || !strcmp(force, "true"));
	if (bad || (force && !all && strcmp(force, "0") && strcmp(force, "false"))) {
		free(force);
		return http_error(s, c, 400, "bad_argument", "force is 1 or 0");
	}
	free(force);
	http_write_begin(s);
	int r = golite_table_drop(s->db, rt->table, all ? 0 : GOLITE_DROP_IF_EMPTY);
	http_write_end(s);
	if (r)
		return http_store_error(s, c, r, rt->table);
	http_changed(s, rt->table, NULL, 0);
	http_publish(s, "drop-table", rt->table, NULL, 0, NULL, NULL, 0);
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL,
								    MHD_RESPMEM_PERSISTENT);
	return resp ? http_queue(s, c, MHD_HTTP_NO_CONTENT, resp) : MHD_NO;
}

/* ---- listings ---- */

struct list_stream {
	golite *db;
	golite_iter *it;
	golite_snapshot *snap;       /* ?snapshot=: held until the stream ends */
	uint64_t limit;              /* 0: no limit */
	uint64_t count;
	bool values;
	bool done;
	struct sbuf line;            /* the line being sent */
	size_t off;                  /* bytes of it sent */
};

/* Writes the next line into ls->line; sets done after the last. */
static void next_line(struct list_stream *ls)
{
	struct sbuf *b = &ls->line;
	b->len = 0;
	golite_iter *it = ls->it;
	if (!golite_iter_valid(it)) {
		int r = golite_iter_status(it);
		if (r)
			sb_printf(b, "{\"error\":{\"code\":\"store_error\",\"message\":\"%s\"}}\n",
				  golite_strerror(r));
		ls->done = true;
		return;
	}
	size_t klen;
	const void *key = golite_iter_key(it, &klen);
	if (ls->limit && ls->count == ls->limit) {
		size_t tl;
		char *tok = b64_encode(key, klen, &tl);
		/* The URL alphabet, so the token goes into a query as it is. */
		for (size_t i = 0; i < tl; i++)
			tok[i] = tok[i] == '+' ? '-' : tok[i] == '/' ? '_' : tok[i];
		while (tl && tok[tl - 1] == '=')
			tl--;
		sb_puts(b, "{\"next\":\"");
		sb_put(b, tok, tl);
		sb_puts(b, "\"}\n");
		free(tok);
		ls->done = true;
		return;
	}
	sb_puts(b, "{");
	sb_json_bytes(b, "key", key, klen);
	if (golite_iter_is_dir(it)) {
		sb_puts(b, ",\"dir\":true");
	} else {
		size_t vlen;
		const void *v = golite_iter_value(it, &vlen);
		if (ls->values) {
			sb_puts(b, ",");
			sb_json_bytes(b, "value", v ? v : "", vlen);
		} else {
			sb_printf(b, ",\"size\":%zu", vlen);
		}
		uint64_t at = golite_iter_expires(it);
		if (at)
			sb_printf(b, ",\"expires_in\":%llu",
				  (unsigned long long)golite_seconds_left(ls->db, at));
	}
	sb_puts(b, "}\n");
	ls->count++;
	golite_iter_next(it);
}

static ssize_t list_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct list_stream *ls = cls;
	size_t n = 0;
	(void)pos;
	while (n < max) {
		if (ls->off < ls->line.len) {
			size_t k = MIN(max - n, ls->line.len - ls->off);
			memcpy(buf + n, ls->line.p + ls->off, k);
			n += k;
			ls->off += k;
			continue;
		}
		if (ls->done)
			break;
		next_line(ls);
		ls->off = 0;
	}
	return n ? (ssize_t)n : MHD_CONTENT_READER_END_OF_STREAM;
}

static void list_free(void *cls)
{
	struct list_stream *ls = cls;
	golite_iter_free(ls->it);
	golite_snapshot_free(ls->snap);
	free(ls->line.p);
	free(ls);
}

enum MHD_Result http_list(struct http_server *s, struct MHD_Connection *c,
			  const struct http_route *rt)
{
	bool bad = false;
	size_t plen = 0, slen = 0, elen = 0, clen = 0;
	char *prefix = http_arg(c, "prefix", &plen, &bad);
	char *start = http_arg(c, "start", &slen, &bad);
	char *end = http_arg(c, "end", &elen, &bad);
	char *cursor = http_arg(c, "cursor", &clen, &bad);
	char *limit = http_arg(c, "limit", NULL, &bad);
	char *values = http_arg(c, "values", NULL, &bad);
	uint8_t *from = NULL;
	size_t flen = 0;
	enum MHD_Result res;
	struct list_stream *ls = NULL;
	if (bad) {
		res = http_error(s, c, 400, "bad_argument", "an argument holds a bad %%-escape");
		goto out;
	}
	uint64_t lim = HTTP_LIST_DEFAULT;
	if (limit) {
		char *e;
		lim = strtoull(limit, &e, 10);
		if (!*limit || *e || limit[0] == '-') {
			res = http_error(s, c, 400, "bad_argument",
					 "limit is a number (0: no limit)");
			goto out;
		}
	}
	bool vals = values && (!strcmp(values, "1") || !strcmp(values, "true"));
	if (values && !vals && strcmp(values, "0") && strcmp(values, "false")) {
		res = http_error(s, c, 400, "bad_argument", "values is 1 or 0");
		goto out;
	}
	if (cursor) {
		from = b64_decode(cursor, clen, &flen);
		if (!from) {
			res = http_error(s, c, 400, "bad_argument",
					 "cursor is not a token from a \"next\" line");
			goto out;
		}
	}
	golite_iter_options o = {
		.lower = from ? (const void *)from : start, .lower_len = from ? flen : slen,
		.upper = end, .upper_len = elen,
		.prefix = prefix, .prefix_len = plen,
	};
	ls = xcalloc(1, sizeof(*ls));
	ls->db = s->db;
	ls->limit = lim;
	ls->values = vals;
	if (http_snapshot_arg(s, c, &ls->snap, &res))
		goto out;
	int r;
	if (ls->snap) {
		/* The table as it was then, read at the snapshot. */
		uint32_t tid;
		o.snapshot = ls->snap;
		r = golite_table_id_at(s->db, ls->snap, rt->table, &tid);
		if (!r)
			r = golite_iter_new_raw(s->db, tid, &o, &ls->it);
	} else {
		r = golite_iter_new(s->db, rt->table, &o, &ls->it);
	}
	if (r) {
		res = http_store_error(s, c, r, rt->table);
		goto out;
	}
	golite_iter_seek_first(ls->it);
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, 64 << 10, list_read, ls, list_free);
	if (!resp) {
		res = MHD_NO;
		goto out;
	}
	ls = NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/x-ndjson");
	res = http_queue(s, c, MHD_HTTP_OK, resp);
out:
	if (ls)
		list_free(ls);
	free(from);
	free(prefix);
	free(start);
	free(end);
	free(cursor);
	free(limit);
	free(values);
	return res;
}
