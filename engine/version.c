/*
 * version.c — versions of the table set. See version.h.
 */
#include "version.h"

#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "golite.h"
#include "util.h"

struct version *version_new_empty(void)
{
	struct version *v = xcalloc(1, sizeof(*v));
	atomic_init(&v->refs, 1);
	return v;
}

void version_ref(struct version *v)
{
	atomic_fetch_add_explicit(&v->refs, 1, memory_order_relaxed);
}

void table_file_ref(struct table_file *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

void table_file_unref(struct table_file *f)
{
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (f->reader)
		sst_unref(f->reader);
	sst_meta_free(&f->meta);
	free(f);
}

void version_unref(struct version *v)
{
	if (atomic_fetch_sub_explicit(&v->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (int l = 0; l < NUM_LEVELS; l++) {
		for (size_t i = 0; i < v->n[l]; i++)
			table_file_unref(v->files[l][i]);
		free(v->files[l]);
	}
	free(v);
}

static void unref_rcu(struct rcu_head *h)
{
	version_unref(caa_container_of(h, struct version, rcu));
}

void version_unref_deferred(struct version *v)
{
	call_rcu(&v->rcu, unref_rcu);
}

/* Level 0: newest first. */
static int cmp_l0(const void *a, const void *b)
{
	const struct table_file *x = *(struct table_file *const *)a;
	const struct table_file *y = *(struct table_file *const *)b;
	if (x->meta.max_seq != y->meta.max_seq)
		return x->meta.max_seq > y->meta.max_seq ? -1 : 1;
	return x->meta.file_no > y->meta.file_no ? -1 : x->meta.file_no < y->meta.file_no;
}

/* Other levels: by smallest key. */
static int cmp_level(const void *a, const void *b)
{
	const struct table_file *x = *(struct table_file *const *)a;
	const struct table_file *y = *(struct table_file *const *)b;
	return skey_cmp(x->meta.smallest, x->meta.smallest_len, y->meta.smallest,
			y->meta.smallest_len);
}

struct version *version_apply(const struct version *base, struct table_file **del, size_t ndel,
			      struct table_file **add, size_t nadd)
{
	struct version *v = version_new_empty();
	for (int l = 0; l < NUM_LEVELS; l++) {
		size_t cap = base->n[l] + nadd;
		v->files[l] = xmalloc((cap ? cap : 1) * sizeof(struct table_file *));
		for (size_t i = 0; i < base->n[l]; i++) {
			struct table_file *f = base->files[l][i];
			bool gone = false;
			for (size_t j = 0; j < ndel && !gone; j++)
				gone = del[j] == f;
			if (gone)
				continue;
			table_file_ref(f);
			v->files[l][v->n[l]++] = f;
		}
	}
	for (size_t j = 0; j < nadd; j++) {
		struct table_file *f = add[j];
		table_file_ref(f);
		v->files[f->level][v->n[f->level]++] = f;
	}
	for (int l = 0; l < NUM_LEVELS; l++) {
		qsort(v->files[l], v->n[l], sizeof(struct table_file *), l == 0 ? cmp_l0 : cmp_level);
		for (size_t i = 0; i < v->n[l]; i++) {
			v->bytes[l] += v->files[l][i]->meta.file_size;
			v->entries += v->files[l][i]->meta.entries;
		}
	}
	return v;
}

size_t version_find_file(const struct version *v, int l, const uint8_t *ikey, size_t iklen)
{
	size_t lo = 0, hi = v->n[l];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct table_file *f = v->files[l][mid];
		if (ikey_skey_cmp(ikey, iklen, f->meta.largest, f->meta.largest_len) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int file_get(struct table_file *f, const uint8_t *ikey, size_t iklen, uint64_t hash,
		    uint64_t snap, struct mt_entry *e)
{
	struct sst_get_result res;
	int r = sst_get(f->reader, ikey, iklen, hash, snap, &res);
	if (r == 1) {
		e->seq = res.seq;
		e->kind = res.kind;
		e->value = res.value;
		e->vlen = res.vlen;
	}
	return r;
}

/*
 * The next table that may hold ikey, in the order a lookup consults them:
 * the level-0 tables whose range covers it, newest first, then at most one
 * table per deeper level. Start with *l = 0, *i = 0; NULL after the last.
 */
static struct table_file *next_candidate(const struct version *v, const uint8_t *ikey,
					 size_t iklen, int *l, size_t *i)
{
	if (*l == 0) {
		while (*i < v->n[0]) {
			struct table_file *f = v->files[0][(*i)++];
			if (ikey_skey_cmp(ikey, iklen, f->meta.smallest, f->meta.smallest_len) >= 0 &&
			    ikey_skey_cmp(ikey, iklen, f->meta.largest, f->meta.largest_len) <= 0)
				return f;
		}
		*l = 1;
	}
	while (*l < NUM_LEVELS) {
		int lv = (*l)++;
		if (!v->n[lv])
			continue;
		size_t j = version_find_file(v, lv, ikey, iklen);
		if (j == v->n[lv])
			continue;
		struct table_file *f = v->files[lv][j];
		if (ikey_skey_cmp(ikey, iklen, f->meta.smallest, f->meta.smallest_len) >= 0)
			return f;
	}
	return NULL;
}

void version_prefetch(const struct version *v, const uint8_t *ikey, size_t iklen, uint64_t hash)
{
	int l = 0;
	size_t i = 0;
	struct table_file *f;
	while ((f = next_candidate(v, ikey, iklen, &l, &i)))
		sst_prefetch_filter(f->reader, hash);
}

int version_get(struct version *v, const uint8_t *ikey, size_t iklen, uint64_t hash,
		uint64_t snap, struct mt_entry *e)
{
	int l = 0;
	size_t i = 0;
	struct table_file *f;
	while ((f = next_candidate(v, ikey, iklen, &l, &i))) {
		int r = file_get(f, ikey, iklen, hash, snap, e);
		if (r)
			return r;
	}
	return 0;
}

bool version_overlaps_below(const struct version *v, int level, const uint8_t *lo, size_t lolen,
			    const uint8_t *hi, size_t hilen)
{
	for (int l = level + 1; l < NUM_LEVELS; l++) {
		if (!v->n[l])
			continue;
		size_t i = version_find_file(v, l, lo, lolen);
		if (i < v->n[l] &&
		    ikey_skey_cmp(hi, hilen, v->files[l][i]->meta.smallest,
				  v->files[l][i]->meta.smallest_len) >= 0)
			return true;
	}
	return false;
}
