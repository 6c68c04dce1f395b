/*
 * compaction_pick.c — choosing what to compact (leveled, as LevelDB):
 * level 0 is compacted into level 1 when it holds L0_COMPACT_TRIGGER
 * tables; level n >= 1 into n+1 when it exceeds its size (level_base *
 * 10^(n-1)), one table at a time in round-robin key order; the inputs of
 * the next level are the tables that overlap. Choosing only reads a version
 * and flags tables, so it lives apart from the merge (compaction.c).
 *
 * Invariants:
 *   1. Picking runs with db->bg_mu held, and the inputs it returns are
 *      flagged compacting; none of them was flagged before (compaction.c
 *      invariant 3).
 *   2. A level-0 input set holds every level-0 table that overlaps its
 *      range (compaction_close_level0).
 */
#include <stdlib.h>

#include "compaction_int.h"
#include "db.h"
#include "format.h"
#include "util.h"

#define LEVEL_MULTIPLIER 10

uint64_t bg_level_max_bytes(struct golite *db, int level)
{
	uint64_t base = MAX((uint64_t)db->o.memtable_size * 4, (uint64_t)db->o.sstable_size * 2);
	for (int l = 1; l < level; l++)
		base *= LEVEL_MULTIPLIER;
	return base;
}

void compaction_free(struct compaction *c)
{
	free(c->in[0]);
	free(c->in[1]);
	if (c->base)
		version_unref(c->base);
	free(c);
}

void compaction_set_compacting(struct compaction *c, bool on)
{
	for (int w = 0; w < 2; w++)
		for (size_t i = 0; i < c->nin[w]; i++)
			c->in[w][i]->compacting = on;
}

static bool any_compacting(struct table_file **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (v[i]->compacting)
			return true;
	return false;
}

/* The ikey range [lo, hi] of a set of tables. */
static void range_of(struct table_file **v, size_t n, const uint8_t **lo, size_t *lolen,
		     const uint8_t **hi, size_t *hilen)
{
	*lo = *hi = NULL;
	for (size_t i = 0; i < n; i++) {
		const struct sst_meta *m = &v[i]->meta;
		size_t sl = m->smallest_len - TRAILER_SIZE, ll = m->largest_len - TRAILER_SIZE;
		if (!*lo || ikey_cmp(m->smallest, sl, *lo, *lolen) < 0) {
			*lo = m->smallest;
			*lolen = sl;
		}
		if (!*hi || ikey_cmp(m->largest, ll, *hi, *hilen) > 0) {
			*hi = m->largest;
			*hilen = ll;
		}
	}
}

static bool file_overlaps(const struct table_file *f, const uint8_t *lo, size_t lolen,
			  const uint8_t *hi, size_t hilen)
{
	return (!hi || ikey_skey_cmp(hi, hilen, f->meta.smallest, f->meta.smallest_len) >= 0) &&
	       (!lo || ikey_skey_cmp(lo, lolen, f->meta.largest, f->meta.largest_len) <= 0);
}

/* Appends to *out every table of level l overlapping [lo, hi]. NULL bounds
 * are open. */
size_t compaction_overlapping(const struct version *v, int l, const uint8_t *lo, size_t lolen,
			  const uint8_t *hi, size_t hilen, struct table_file ***out)
{
	size_t n = 0;
	*out = xmalloc((v->n[l] ? v->n[l] : 1) * sizeof(**out));
	for (size_t i = 0; i < v->n[l]; i++)
		if (file_overlaps(v->files[l][i], lo, lolen, hi, hilen))
			(*out)[n++] = v->files[l][i];
	return n;
}

/*
 * Level-0 inputs: start from seed tables and add every level-0 table that
 * overlaps their range until the set is closed (invariant 2).
 */
size_t compaction_close_level0(const struct version *v, struct table_file ***in, size_t n)
{
	for (;;) {
		const uint8_t *lo, *hi;
		size_t lolen, hilen;
		range_of(*in, n, &lo, &lolen, &hi, &hilen);
		struct table_file **all;
		size_t m = compaction_overlapping(v, 0, lo, lolen, hi, hilen, &all);
		if (m == n) {
			free(all);
			return n;
		}
		free(*in);
		*in = all;
		n = m;
	}
}

/* Completes a compaction with the overlapping tables of the output level.
 * Returns false (and frees nothing) if some input is being compacted. */
bool compaction_add_output_level(struct compaction *c)
{
	if (any_compacting(c->in[0], c->nin[0]))
		return false;
	if (c->out_level == c->level)
		return true;
	const uint8_t *lo, *hi;
	size_t lolen, hilen;
	range_of(c->in[0], c->nin[0], &lo, &lolen, &hi, &hilen);
	c->nin[1] = compaction_overlapping(c->base, c->out_level, lo, lolen, hi, hilen, &c->in[1]);
	return !any_compacting(c->in[1], c->nin[1]);
}

/* Picks the most urgent compaction (bg_mu held), flags its inputs. */
struct compaction *compaction_pick(struct golite *db)
{
	struct version *v = db->current;
	int best = -1;
	double best_score = 1.0;
	for (int l = 0; l < NUM_LEVELS - 1; l++) {
		double score = l == 0 ? (double)v->n[0] / L0_COMPACT_TRIGGER
				      : (double)v->bytes[l] / (double)bg_level_max_bytes(db, l);
		if (score >= best_score) {
			best_score = score;
			best = l;
		}
	}
	if (best < 0)
		return NULL;
	struct compaction *c = xcalloc(1, sizeof(*c));
	c->level = best;
	c->out_level = best + 1;
	c->base = v;
	version_ref(v);
	if (best == 0) {
		/* The oldest table and whatever overlaps it. */
		c->in[0] = xmalloc(sizeof(*c->in[0]));
		c->in[0][0] = v->files[0][v->n[0] - 1];
		c->nin[0] = compaction_close_level0(v, &c->in[0], 1);
	} else {
		/* Round robin: the first table after the level's pointer. */
		size_t i = 0;
		if (db->ms.compact_ptr[best]) {
			while (i < v->n[best] &&
			       skey_cmp(v->files[best][i]->meta.largest,
					v->files[best][i]->meta.largest_len,
					db->ms.compact_ptr[best],
					db->ms.compact_ptr_len[best]) <= 0)
				i++;
			if (i == v->n[best])
				i = 0;
		}
		/* Skip tables already being compacted. */
		size_t tries = 0;
		while (tries < v->n[best] && v->files[best][i]->compacting) {
			i = (i + 1) % v->n[best];
			tries++;
		}
		c->in[0] = xmalloc(sizeof(*c->in[0]));
		c->in[0][0] = v->files[best][i];
		c->nin[0] = 1;
	}
	if (!compaction_add_output_level(c)) {
		compaction_free(c);
		return NULL;
	}
	compaction_set_compacting(c, true);
	return c;
}
