/*
 * db_tables.c — tables: create, drop, rename, exists and list. A table is
 * a name in the catalog (catalog.h), whose changes are written to the log
 * as keys of table 0 and then published for readers.
 *
 * Invariants:
 *   1. A change of the catalog is published for readers only after its
 *      record is in the log (db_commit_batch), so a reader never sees a
 *      table the log does not hold.
 *   2. Catalog changes are serialised by db->ddl_mu.
 */
#include "db.h"

#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "error.h"
#include "format.h"
#include "golite_raw.h"
#include "iter.h"
#include "util.h"

/* Commits a change of table 0 and publishes the catalog that goes with it.
 * dropped_id, if not 0, is a table dropped by the change. */
static int catalog_commit(struct golite *db, struct rep *rep, struct catalog *next,
			  uint32_t dropped_id)
{
	uint64_t seq;
	int r = db_commit_batch(db, rep, dropped_id != 0, &seq);
	if (r) {
		catalog_free(next);
		return r;
	}
	if (dropped_id) {
		struct catalog *with = catalog_with_drop(next, dropped_id, seq);
		catalog_free(next);
		next = with;
	}
	struct catalog *old = db->catalog;
	rcu_publish(db->catalog, next);
	catalog_free_deferred(old);
	return 0;
}

static void catalog_ikey(uint8_t *ikey, size_t *iklen, char tag, const char *name, size_t len)
{
	put_be32(ikey, TABLE_ID_CATALOG);
	ikey[IKEY_PREFIX] = (uint8_t)tag;
	memcpy(ikey + IKEY_PREFIX + 1, name, len);
	*iklen = IKEY_PREFIX + 1 + len;
}

/* A change of one table: its name's length, the catalog the change starts
 * from, and the table's id (if it exists). */
struct ddl {
	size_t len;
	struct catalog *c;
	uint32_t id;
};

/*
 * Starts a change of table name: checks that the store is open and
 * writable and that name is valid, takes db->ddl_mu (invariant 2), and
 * looks name up. If it must exist and does not (GOLITE_ENOTABLE), or must
 * not and does (GOLITE_EEXIST), the lock is released again; else the
 * caller releases it.
 */
static int ddl_begin(golite *db, const char *name, bool must_exist, struct ddl *d)
{
	int r = db_check_handle(db);
	if (!r)
		r = db_check_writable(db);
	if (!r)
		r = catalog_check_name(name, &d->len);
	if (r)
		return r;
	mutex_lock(&db->ddl_mu);
	d->c = db->catalog;
	bool exists = catalog_lookup(d->c, name, d->len, &d->id);
	if (exists == must_exist)
		return 0;
	mutex_unlock(&db->ddl_mu);
	return exists ? set_error(GOLITE_EEXIST, "table \"%s\" exists", name)
		      : set_error(GOLITE_ENOTABLE, "no table named \"%s\"", name);
}

int golite_table_create(golite *db, const char *name)
{
	struct ddl d;
	int r = ddl_begin(db, name, false, &d);
	if (r)
		return r;
	uint32_t id = d.c->next_id;
	struct rep rep = { 0 };
	rep_reset(&rep);
	uint8_t ikey[IKEY_PREFIX + 1 + GOLITE_MAX_TABLE_NAME], v[4];
	size_t iklen;
	put_le32(v, id + 1);
	catalog_ikey(ikey, &iklen, CATALOG_KEY_NEXT, "", 0);
	rep_add(&rep, KIND_VALUE, ikey, iklen, v, 4);
	put_le32(v, id);
	catalog_ikey(ikey, &iklen, CATALOG_KEY_TABLE, name, d.len);
	rep_add(&rep, KIND_VALUE, ikey, iklen, v, 4);
	r = catalog_commit(db, &rep, catalog_with(d.c, NULL, name, id, id + 1), 0);
	rep_free(&rep);
	mutex_unlock(&db->ddl_mu);
	return r;
}

/* True if the table with this id holds no visible key. */
static bool table_is_empty(struct golite *db, uint32_t id)
{
	struct db_iter *it = db_iter_new(db, false);
	uint8_t prefix[IKEY_PREFIX];
	put_be32(prefix, id);
	db_iter_seek(it, prefix, IKEY_PREFIX);
	bool empty = true;
	if (db_iter_valid(it)) {
		size_t iklen;
		const uint8_t *k = db_iter_key(it, &iklen);
		empty = ikey_table(k) != id;
	}
	db_iter_free(it);
	return empty;
}

int golite_table_drop(golite *db, const char *name, unsigned flags)
{
	struct ddl d;
	int r = ddl_begin(db, name, true, &d);
	if (r)
		return r;
	if ((flags & GOLITE_DROP_IF_EMPTY) && !table_is_empty(db, d.id)) {
		r = set_error(GOLITE_ENOTEMPTY, "table \"%s\" is not empty", name);
		goto out_unlock;
	}
	struct rep rep = { 0 };
	rep_reset(&rep);
	uint8_t ikey[IKEY_PREFIX + 1 + GOLITE_MAX_TABLE_NAME];
	size_t iklen;
	catalog_ikey(ikey, &iklen, CATALOG_KEY_TABLE, name, d.len);
	rep_add(&rep, KIND_DELETE, ikey, iklen, NULL, 0);
	r = catalog_commit(db, &rep, catalog_with(d.c, name, NULL, 0, d.c->next_id), d.id);
	rep_free(&rep);
out_unlock:
	mutex_unlock(&db->ddl_mu);
	return r;
}

int golite_table_rename(golite *db, const char *from, const char *to)
{
	int r = db_check_handle(db);
	if (!r)
		r = db_check_writable(db);
	size_t flen, tlen;
	if (!r)
		r = catalog_check_name(from, &flen);
	if (!r)
		r = catalog_check_name(to, &tlen);
	if (r)
		return r;
	mutex_lock(&db->ddl_mu);
	uint32_t id, other;
	struct catalog *c = db->catalog;
	if (!catalog_lookup(c, from, flen, &id)) {
		r = set_error(GOLITE_ENOTABLE, "no table named \"%s\"", from);
		goto out_unlock;
	}
	if (flen == tlen && memcmp(from, to, flen) == 0)
		goto out_unlock;
	if (catalog_lookup(c, to, tlen, &other)) {
		r = set_error(GOLITE_EEXIST, "table \"%s\" exists", to);
		goto out_unlock;
	}
	struct rep rep = { 0 };
	rep_reset(&rep);
	uint8_t ikey[IKEY_PREFIX + 1 + GOLITE_MAX_TABLE_NAME], v[4];
	size_t iklen;
	catalog_ikey(ikey, &iklen, CATALOG_KEY_TABLE, from, flen);
	rep_add(&rep, KIND_DELETE, ikey, iklen, NULL, 0);
	put_le32(v, id);
	catalog_ikey(ikey, &iklen, CATALOG_KEY_TABLE, to, tlen);
	rep_add(&rep, KIND_VALUE, ikey, iklen, v, 4);
	r = catalog_commit(db, &rep, catalog_with(c, from, to, id, c->next_id), 0);
	rep_free(&rep);
out_unlock:
	mutex_unlock(&db->ddl_mu);
	return r;
}

bool golite_table_exists(golite *db, const char *name)
{
	uint32_t id;
	if (db_check_handle(db))
		return false;
	rcu_read_lock();
	bool found = db_table_id(db, name, &id) == 0;
	rcu_read_unlock();
	return found;
}

int golite_table_list(golite *db, char ***names, size_t *count)
{
	return golite_table_list_at(db, NULL, names, count);
}

int golite_table_list_at(golite *db, const golite_snapshot *snap, char ***names, size_t *count)
{
	int r = db_check_handle(db);
	if (r)
		return r;
	if (!names || !count)
		return set_error(GOLITE_EINVAL, "names or count is NULL");
	rcu_read_lock();
	const struct catalog *c = snap_catalog(db, snap);
	size_t bytes = (c->count + 1) * sizeof(char *);
	for (size_t i = 0; i < c->count; i++)
		bytes += c->entries[i].len + 1;
	char **v = xmalloc(bytes);
	char *s = (char *)(v + c->count + 1);
	for (size_t i = 0; i < c->count; i++) {
		v[i] = s;
		memcpy(s, c->entries[i].name, c->entries[i].len + 1);
		s += c->entries[i].len + 1;
	}
	v[c->count] = NULL;
	*count = c->count;
	rcu_read_unlock();
	*names = v;
	return 0;
}
