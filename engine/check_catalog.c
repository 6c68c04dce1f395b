/*
 * check_catalog.c — the table catalog as a data directory holds it
 * (catalog.h), rebuilt from raw log records and table entries for
 * `golite check` and `golite repair`, without opening the store.
 */
#include "check_int.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "batch.h"
#include "block.h"
#include "cache.h"
#include "catalog.h"
#include "crc32c.h"
#include "format.h"
#include "io.h"
#include "manifest.h"
#include "rcu.h"
#include "sstable.h"
#include "util.h"
#include "vfile.h"
#include "wal.h"

/* ======================================================================
 * The table catalog, as the data holds it (catalog.h)
 * ====================================================================== */



static void cat_note_id(struct catalog_view *c, uint32_t id)
{
	if (id < TABLE_ID_FIRST_USER || (c->nids && c->ids[c->nids - 1] == id))
		return;
	for (size_t i = 0; i < c->nids; i++)
		if (c->ids[i] == id)
			return;
	if (c->nids == c->idcap)
		c->ids = xrealloc(c->ids, (c->idcap = c->idcap ? 2 * c->idcap : 16) * sizeof(*c->ids));
	c->ids[c->nids++] = id;
}

/* Notes one entry of the data (any table): catalog keys are kept newest
 * first, other tables only have their ids noted, and whether a record of
 * a hard link was seen (check_links.c looks at them only then). */
void ck_cat_add(struct catalog_view *c, const uint8_t *ikey, size_t iklen, uint64_t seq,
		    unsigned kind, const uint8_t *val, size_t vlen, const char *src, uint64_t off)
{
	c->max_seq = MAX(c->max_seq, seq);
	uint32_t id = ikey_table(ikey);
	if (iklen > IKEY_PREFIX &&
	    ((id == TABLE_ID_FS && (ikey[IKEY_PREFIX] == VFILE_KEY_INODE ||
				    ikey[IKEY_PREFIX] == VFILE_KEY_BACKREF)) ||
	     (kind == KIND_META && vlen >= 2 && val[1] == VFILE_HLINK)))
		c->links_seen = true;
	if (id != TABLE_ID_CATALOG) {
		cat_note_id(c, id);
		return;
	}
	const uint8_t *k = ikey + IKEY_PREFIX;
	size_t kl = iklen - IKEY_PREFIX;
	struct cat_entry *e = NULL;
	for (size_t i = 0; i < c->n && !e; i++)
		if (c->v[i].klen == kl && memcmp(c->v[i].key, k, kl) == 0)
			e = &c->v[i];
	if (!e) {
		if (c->n == c->cap)
			c->v = xrealloc(c->v, (c->cap = c->cap ? 2 * c->cap : 16) * sizeof(*c->v));
		e = &c->v[c->n++];
		memset(e, 0, sizeof(*e));
		e->key = xmemdup(k, kl ? kl : 1);
		e->klen = kl;
	} else if (e->seq >= seq) {
		return;
	}
	e->seq = seq;
	e->kind = kind;
	e->vlen = vlen;
	memcpy(e->val, val, MIN(vlen, sizeof(e->val)));
	snprintf(e->src, sizeof(e->src), "%s", src);
	e->src_off = off;
}

void ck_cat_merge(struct catalog_view *into, const struct catalog_view *from)
{
	uint8_t ik[IKEY_PREFIX + GOLITE_MAX_TABLE_NAME + 2];
	for (size_t i = 0; i < from->n; i++) {
		const struct cat_entry *e = &from->v[i];
		if (e->klen + IKEY_PREFIX > sizeof(ik))
			continue;
		size_t iklen = ikey_make(ik, TABLE_ID_CATALOG, e->key, e->klen);
		ck_cat_add(into, ik, iklen, e->seq, e->kind, e->val, e->vlen, e->src, e->src_off);
	}
	for (size_t i = 0; i < from->nids; i++)
		cat_note_id(into, from->ids[i]);
	into->max_seq = MAX(into->max_seq, from->max_seq);
	into->links_seen |= from->links_seen;
}

void ck_cat_free(struct catalog_view *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].key);
	free(c->v);
	free(c->ids);
	memset(c, 0, sizeof(*c));
}

/* A live catalog key: its newest version is a value. */
bool ck_cat_live(const struct cat_entry *e)
{
	return e->kind != KIND_DELETE;
}

const struct cat_entry *ck_cat_next_id(const struct catalog_view *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].klen == 1 && c->v[i].key[0] == CATALOG_KEY_NEXT && ck_cat_live(&c->v[i]))
			return &c->v[i];
	return NULL;
}

bool ck_cat_id_named(const struct catalog_view *c, uint32_t id)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct cat_entry *e = &c->v[i];
		if (e->klen >= 1 && e->key[0] == CATALOG_KEY_TABLE && ck_cat_live(e) && e->vlen == 4 &&
		    get_le32(e->val) == id)
			return true;
	}
	return false;
}

/*
 * Checks what golite_open's load_catalog will demand, and that no data
 * lies in a table id a new table would get. With r, reports problems;
 * returns the number found.
 */
int ck_cat_check(struct run *r, const char *dir, const struct catalog_view *c)
{
	int bad = 0;
	const struct cat_entry *n = ck_cat_next_id(c);
	uint32_t next = TABLE_ID_FIRST_USER;
	if (n && n->vlen == 4)
		next = get_le32(n->val);
	for (size_t i = 0; i < c->n; i++) {
		const struct cat_entry *e = &c->v[i];
		if (!ck_cat_live(e))
			continue;
		if (e->vlen != 4 || e->klen < 1 ||
		    (e->key[0] == CATALOG_KEY_NEXT && e->klen != 1)) {
			bad++;
			if (r)
				ck_found(r, GOLITE_FINDING_PROBLEM, e->src, e->src_off,
				      "table catalog: malformed entry (%zu-byte value)", e->vlen);
			continue;
		}
		if (e->key[0] != CATALOG_KEY_TABLE)
			continue;
		uint32_t id = get_le32(e->val);
		if (id < TABLE_ID_FIRST_USER || id >= next) {
			bad++;
			if (r)
				ck_found(r, GOLITE_FINDING_PROBLEM, e->src, e->src_off,
				      "table catalog: table \"%.*s\" has id %u, outside %u..%u",
				      (int)MIN(e->klen - 1, 255), (const char *)e->key + 1, id,
				      TABLE_ID_FIRST_USER, next - 1);
		}
	}
	for (size_t i = 0; i < c->nids; i++) {
		if (c->ids[i] < next)
			continue;
		bad++;
		if (r)
			ck_found(r, GOLITE_FINDING_PROBLEM, n ? n->src : dir, n ? n->src_off : GOLITE_NO_OFFSET,
			      "table catalog: keys of table id %u exist but the next table id is %u "
			      "(a new table would see them)", c->ids[i], next);
	}
	return bad;
}

