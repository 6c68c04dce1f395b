/*
 * http_batch.c — POST /v1/batch: puts, deletes and renames applied
 * atomically with one golite_write(), or not at all.
 *
 * The body is JSON, read with jansson (a maintained, fuzzed parser; a
 * batch is the one request whose body is structured). Either an object
 * {"ops": [...]} or the list itself; each operation is
 *
 *   {"op":"put",    "table":T, "key":K, "value":V}
 *   {"op":"delete", "table":T, "key":K}
 *   {"op":"rename", "table":T, "key":K, "to_table":T2, "to_key":K2}
 *
 * where any key or value may be given as base64 instead ("key_b64",
 * "value_b64", "to_key_b64") for bytes that are not text, and to_table
 * defaults to table. Operations apply in order. Every operation is checked
 * before anything is written; a rename takes its source's value as the
 * operations before it in the batch left it, or else as the store holds
 * it (with every key of the batch locked, http_int.h invariant 2), and
 * writes it under the new key and deletes the old one in the same batch.
 * A bad
 * operation, a missing source or a missing table answers 4xx naming the
 * operation, and nothing is written.
 */
#include "base64.h"
#include "http_int.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum bop { BOP_PUT, BOP_DELETE, BOP_RENAME };

struct op {
	enum bop kind;
	const char *table, *to_table;
	uint8_t *key, *to_key, *value;
	size_t klen, to_klen, vlen;
	bool own_key, own_to_key, own_value;
};

/* Reads field name (text) or name_b64 (base64) of o. Returns 0, 1 when
 * absent, -1 when malformed. */
static int get_bytes(json_t *o, const char *name, uint8_t **p, size_t *n, bool *own)
{
	char b64name[64];
	snprintf(b64name, sizeof(b64name), "%s_b64", name);
	json_t *t = json_object_get(o, name);
	json_t *b = json_object_get(o, b64name);
	*own = false;
	if (t && b)
		return -1;
	if (t) {
		if (!json_is_string(t))
			return -1;
		*p = (uint8_t *)json_string_value(t);
		*n = json_string_length(t);
		return 0;
	}
	if (b) {
		if (!json_is_string(b))
			return -1;
		*p = b64_decode(json_string_value(b), json_string_length(b), n);
		if (!*p)
			return -1;
		*own = true;
		return 0;
	}
	return 1;
}

static void ops_free(struct op *ops, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (ops[i].own_key)
			free(ops[i].key);
		if (ops[i].own_to_key)
			free(ops[i].to_key);
		if (ops[i].own_value)
			free(ops[i].value);
	}
	free(ops);
}

/* Parses operation i. Returns NULL, or what is wrong with it. */
static const char *parse_op(json_t *o, struct op *op)
{
	if (!json_is_object(o))
		return "is not an object";
	json_t *k = json_object_get(o, "op");
	const char *kind = json_is_string(k) ? json_string_value(k) : NULL;
	if (!kind)
		return "has no \"op\"";
	if (!strcmp(kind, "put"))
		op->kind = BOP_PUT;
	else if (!strcmp(kind, "delete"))
		op->kind = BOP_DELETE;
	else if (!strcmp(kind, "rename"))
		op->kind = BOP_RENAME;
	else
		return "has an \"op\" other than put, delete and rename";
	json_t *t = json_object_get(o, "table");
	if (!json_is_string(t) || json_string_length(t) == 0 ||
	    strlen(json_string_value(t)) != json_string_length(t))
		return "has no \"table\" (a non-empty string)";
	op->table = json_string_value(t);
	int r = get_bytes(o, "key", &op->key, &op->klen, &op->own_key);
	if (r)
		return r < 0 ? "has a malformed key" : "has no \"key\" (or \"key_b64\")";
	if (op->klen == 0 || op->klen > GOLITE_MAX_KEY_SIZE)
		return "has a key that is not 1..8192 bytes";
	if (op->kind == BOP_PUT) {
		r = get_bytes(o, "value", &op->value, &op->vlen, &op->own_value);
		if (r)
			return r < 0 ? "has a malformed value" : "has no \"value\" (or \"value_b64\")";
	}
	if (op->kind == BOP_RENAME) {
		json_t *tt = json_object_get(o, "to_table");
		if (tt && (!json_is_string(tt) || json_string_length(tt) == 0 ||
			   strlen(json_string_value(tt)) != json_string_length(tt)))
			return "has a \"to_table\" that is not a non-empty string";
		op->to_table = tt ? json_string_value(tt) : op->table;
		r = get_bytes(o, "to_key", &op->to_key, &op->to_klen, &op->own_to_key);
		if (r)
			return r < 0 ? "has a malformed to_key" : "has no \"to_key\" (or \"to_key_b64\")";
		if (op->to_klen == 0 || op->to_klen > GOLITE_MAX_KEY_SIZE)
			return "has a to_key that is not 1..8192 bytes";
	}
	return NULL;
}

static bool same_key(const char *t1, const uint8_t *k1, size_t l1, const char *t2,
		     const uint8_t *k2, size_t l2)
{
	return l1 == l2 && !strcmp(t1, t2) && !memcmp(k1, k2, l1);
}

/* Finds the value rename i moves: what an earlier operation of the batch
 * left at its source, else the store's (its stripe held). Sets op->value
 * and op->vlen (owned by renamed[i] when read from the store). */
static int rename_source(struct http_server *s, struct op *ops, size_t i, void **renamed)
{
	struct op *op = &ops[i];
	for (size_t j = i; j-- > 0;) {
		struct op *p = &ops[j];
		if (p->kind == BOP_RENAME &&
		    same_key(p->to_table, p->to_key, p->to_klen, op->table, op->key, op->klen)) {
			op->value = p->value;
			op->vlen = p->vlen;
			return 0;
		}
		if (same_key(p->table, p->key, p->klen, op->table, op->key, op->klen)) {
			if (p->kind != BOP_PUT)
				return GOLITE_ENOTFOUND;
			op->value = p->value;
			op->vlen = p->vlen;
			return 0;
		}
	}
	int r = golite_get(s->db, op->table, op->key, op->klen, &renamed[i], &op->vlen);
	op->value = renamed[i];
	return r;
}

static int cmp_unsigned(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
	return x < y ? -1 : x > y;
}

enum MHD_Result http_batch(struct http_server *s, struct MHD_Connection *c,
			   const uint8_t *body, size_t len)
{
	enum MHD_Result res;
	json_t *root = http_json_body(s, c, body, len, &res);
	if (!root)
		return res;
	json_t *list = json_is_object(root) ? json_object_get(root, "ops") : root;
	struct op *ops = NULL;
	size_t n = 0;
	unsigned *stripes = NULL;
	size_t nstripes = 0;
	golite_batch *b = NULL;
	void **renamed = NULL;
	if (!json_is_array(list)) {
		res = http_error(s, c, 400, "bad_batch",
				 "a batch is a JSON list of operations, or {\"ops\": [...]}");
		goto out;
	}
	n = json_array_size(list);
	ops = xcalloc(n ? n : 1, sizeof(*ops));
	for (size_t i = 0; i < n; i++) {
		const char *why = parse_op(json_array_get(list, i), &ops[i]);
		if (why) {
			res = http_error(s, c, 400, "bad_batch", "operation %zu %s", i, why);
			goto out;
		}
	}

	/* The stripes of every key, in order (invariant 2). */
	stripes = xmalloc((2 * n + 1) * sizeof(*stripes));
	for (size_t i = 0; i < n; i++) {
		stripes[nstripes++] = http_lock_index(ops[i].table, ops[i].key, ops[i].klen);
		if (ops[i].kind == BOP_RENAME)
			stripes[nstripes++] = http_lock_index(ops[i].to_table, ops[i].to_key,
							      ops[i].to_klen);
	}
	qsort(stripes, nstripes, sizeof(*stripes), cmp_unsigned);
	size_t u = 0;
	for (size_t i = 0; i < nstripes; i++)
		if (u == 0 || stripes[u - 1] != stripes[i])
			stripes[u++] = stripes[i];
	nstripes = u;

	b = golite_batch_new();
	renamed = xcalloc(n ? n : 1, sizeof(*renamed));
	http_write_begin(s);
	for (size_t i = 0; i < nstripes; i++)
		mutex_lock(&s->key_mu[stripes[i]]);
	int r = 0;
	size_t bad_op = 0;
	for (size_t i = 0; i < n && !r; i++) {
		struct op *op = &ops[i];
		bad_op = i;
		switch (op->kind) {
		case BOP_PUT:
			r = golite_batch_put(b, op->table, op->key, op->klen, op->value, op->vlen);
			break;
		case BOP_DELETE:
			r = golite_batch_delete(b, op->table, op->key, op->klen);
			break;
		case BOP_RENAME:
			r = rename_source(s, ops, i, renamed);
			if (!r)
				r = golite_batch_put(b, op->to_table, op->to_key, op->to_klen,
						     op->value, op->vlen);
			if (!r)
				r = golite_batch_delete(b, op->table, op->key, op->klen);
			break;
		}
	}
	if (!r)
		r = golite_write(s->db, b);
	for (size_t i = nstripes; i-- > 0;)
		mutex_unlock(&s->key_mu[stripes[i]]);
	http_write_end(s);
	if (r) {
		char what[64];
		if (r == GOLITE_ENOTABLE)
			snprintf(what, sizeof(what), "batch");
		else
			snprintf(what, sizeof(what), "batch operation %zu", bad_op);
		res = http_store_error(s, c, r, what);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct op *op = &ops[i];
		http_changed(s, op->table, op->key, op->klen);
		if (op->kind == BOP_RENAME)
			http_changed(s, op->to_table, op->to_key, op->to_klen);
		static const char *const op_names[] = { [BOP_PUT] = "put", [BOP_DELETE] = "delete",
							[BOP_RENAME] = "move" };
		http_publish(s, op_names[op->kind], op->table, op->key, op->klen, op->to_table,
			     op->to_key, op->to_klen);
	}
	char reply[64];
	int rl = snprintf(reply, sizeof(reply), "{\"applied\":%zu}\n", n);
	res = http_json(s, c, MHD_HTTP_OK, reply, (size_t)rl);
out:
	if (renamed)
		for (size_t i = 0; i < n; i++)
			golite_free(renamed[i]);
	free(renamed);
	golite_batch_free(b);
	free(stripes);
	if (ops)
		ops_free(ops, n);
	json_decref(root);
	return res;
}
