/*
 * catalog.c — immutable, RCU-published table catalog. See catalog.h.
 *
 * Invariants:
 *   1. A published snapshot is never modified.
 *   2. entries[] is sorted by name (memcmp, then length) and names are
 *      unique; slots[] maps hash to index+1 with linear probing, load <= 1/2.
 */
#include "catalog.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "format.h"
#include "golite.h"
#include "golite_raw.h"
#include "util.h"

static int entry_cmp(const void *a, const void *b)
{
	const struct catalog_entry *x = a, *y = b;
	size_t n = MIN(x->len, y->len);
	int c = memcmp(x->name, y->name, n);
	if (c)
		return c;
	return x->len < y->len ? -1 : x->len > y->len;
}

struct catalog *catalog_build(const struct catalog_entry *entries, size_t count,
			      uint32_t next_id)
{
	struct catalog *c = xcalloc(1, sizeof(*c));
	c->count = count;
	c->next_id = next_id;
	c->entries = xcalloc(count ? count : 1, sizeof(*c->entries));
	for (size_t i = 0; i < count; i++) {
		c->entries[i].len = entries[i].len;
		c->entries[i].id = entries[i].id;
		c->entries[i].name = xmalloc(entries[i].len + 1);
		memcpy(c->entries[i].name, entries[i].name, entries[i].len);
		c->entries[i].name[entries[i].len] = '\0';
		c->entries[i].hash = hash64(entries[i].name, entries[i].len);
	}
	qsort(c->entries, count, sizeof(*c->entries), entry_cmp);
	c->nslots = 16;
	while (c->nslots < 2 * count)
		c->nslots *= 2;
	c->slots = xcalloc(c->nslots, sizeof(*c->slots));
	for (size_t i = 0; i < count; i++) {
		size_t s = c->entries[i].hash & (c->nslots - 1);
		while (c->slots[s])
			s = (s + 1) & (c->nslots - 1);
		c->slots[s] = (uint32_t)i + 1;
	}
	return c;
}

struct catalog *catalog_with(const struct catalog *c, const char *remove_name,
			     const char *add_name, uint32_t add_id, uint32_t next_id)
{
	struct catalog_entry *v = xcalloc(c->count + 1, sizeof(*v));
	size_t n = 0;
	size_t rlen = remove_name ? strlen(remove_name) : 0;
	for (size_t i = 0; i < c->count; i++) {
		if (remove_name && c->entries[i].len == rlen &&
		    memcmp(c->entries[i].name, remove_name, rlen) == 0)
			continue;
		v[n++] = c->entries[i];
	}
	if (add_name) {
		v[n].name = (char *)add_name;
		v[n].len = (uint32_t)strlen(add_name);
		v[n].id = add_id;
		n++;
	}
	struct catalog *r = catalog_build(v, n, next_id);
	free(v);
	if (c->ndrops) {
		r->drops = xmemdup(c->drops, c->ndrops * sizeof(*c->drops));
		r->ndrops = c->ndrops;
	}
	return r;
}

struct catalog *catalog_with_drop(const struct catalog *c, uint32_t id, uint64_t seq)
{
	struct catalog *r = catalog_build(c->entries, c->count, c->next_id);
	r->drops = xmalloc((c->ndrops + 1) * sizeof(*r->drops));
	if (c->ndrops)
		memcpy(r->drops, c->drops, c->ndrops * sizeof(*r->drops));
	r->drops[c->ndrops] = (struct catalog_drop){ id, seq };
	r->ndrops = c->ndrops + 1;
	return r;
}

bool catalog_id_discardable(const struct catalog *c, uint32_t id, uint64_t upto_seq)
{
	if (id < TABLE_ID_FIRST_USER || id >= c->next_id)
		return false;
	for (size_t i = 0; i < c->count; i++)
		if (c->entries[i].id == id)
			return false;
	for (size_t i = 0; i < c->ndrops; i++)
		if (c->drops[i].id == id)
			return c->drops[i].seq <= upto_seq;
	return true;
}

bool catalog_lookup(const struct catalog *c, const char *name, size_t len, uint32_t *id)
{
	uint64_t h = hash64(name, len);
	for (size_t s = h & (c->nslots - 1);; s = (s + 1) & (c->nslots - 1)) {
		uint32_t i = c->slots[s];
		if (!i)
			return false;
		const struct catalog_entry *e = &c->entries[i - 1];
		if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0) {
			*id = e->id;
			return true;
		}
	}
}

void catalog_free(struct catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->count; i++)
		free(c->entries[i].name);
	free(c->entries);
	free(c->slots);
	free(c->drops);
	free(c);
}

static void free_rcu(struct rcu_head *h)
{
	catalog_free(caa_container_of(h, struct catalog, rcu));
}

void catalog_free_deferred(struct catalog *c)
{
	if (c)
		call_rcu(&c->rcu, free_rcu);
}

int catalog_check_name(const char *name, size_t *len)
{
	if (!name)
		return set_error(GOLITE_EINVAL, "table name is NULL");
	size_t n = strnlen(name, GOLITE_MAX_TABLE_NAME + 1);
	*len = n;
	if (n == 0)
		return set_error(GOLITE_ENAME, "table name is empty");
	if (n > GOLITE_MAX_TABLE_NAME)
		return set_error(GOLITE_ENAME, "table name longer than %u bytes",
				 GOLITE_MAX_TABLE_NAME);
	if (memchr(name, '/', n))
		return set_error(GOLITE_ENAME, "table name \"%s\" contains '/'", name);
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return set_error(GOLITE_ENAME, "table name \"%s\" is reserved", name);
	if (strncmp(name, ".golite", 7) == 0)
		return set_error(GOLITE_ENAME, "table names starting with .golite are reserved");
	return 0;
}

int golite_table_name_check(const char *name)
{
	size_t len;
	return catalog_check_name(name, &len);
}
