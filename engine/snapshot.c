/*
 * snapshot.c — snapshots: the registry of live ones (snapshot.h, with its
 * invariants), unnamed snapshots, named ones recorded in the MANIFEST, and
 * the figures. Reads at a snapshot are in db.c and iter.c; what flushes and
 * compactions keep for them in flush.c and compaction.c.
 */
#include "snapshot.h"

#include <stdlib.h>
#include <string.h>

#include "compaction_int.h"
#include "db.h"
#include "error.h"
#include "format.h"
#include "iter.h"
#include "util.h"

/* ---- the registry ---- */

/* Inserts s (refs set) into the registry, sorted by seq (snap_mu held). */
static void registry_insert(struct golite *db, struct snap *s)
{
	struct snap **p = &db->snaps;
	while (*p && (*p)->seq <= s->seq)
		p = &(*p)->next;
	s->next = *p;
	*p = s;
}

static void snap_destroy(struct snap *s)
{
	catalog_free(s->catalog);
	free(s->name);
	free(s);
}

void snap_ref(struct snap *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void snap_unref(struct golite *db, struct snap *s)
{
	mutex_lock(&db->snap_mu);
	bool last = atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) == 1;
	if (last) {
		struct snap **p = &db->snaps;
		while (*p != s)
			p = &(*p)->next;
		*p = s->next;
	}
	mutex_unlock(&db->snap_mu);
	if (last)
		snap_destroy(s);
}

/* A new entry as of now, registered with one reference (invariants 1, 2):
 * under ddl_mu, so that the catalog copied is the catalog at its sequence.
 * A name is only kept: the caller marks the entry named. */
static struct snap *snap_take(struct golite *db, const char *name)
{
	struct snap *s = xcalloc(1, sizeof(*s));
	atomic_init(&s->refs, 1);
	s->time_ns = (int64_t)wall_ns();
	if (name)
		s->name = xstrdup(name);   /* named once it is durable */
	const struct catalog *c = db->catalog;   /* ddl_mu held: stable */
	s->catalog = catalog_build(c->entries, c->count, c->next_id);
	mutex_lock(&db->snap_mu);
	s->seq = atomic_load_explicit(&db->last_seq, memory_order_acquire);
	registry_insert(db, s);
	mutex_unlock(&db->snap_mu);
	/* Every write up to it is in a memtable before anyone reads at it
	 * (db.h invariant 2). */
	db_wait_writes(db, s->seq);
	return s;
}

int snap_open(struct golite *db)
{
	uint64_t last = atomic_load(&db->last_seq);
	for (size_t i = 0; i < db->ms.nsnaps; i++) {
		const struct manifest_snapshot *ms = &db->ms.snaps[i];
		if (ms->seq > last) {
			/* Cannot happen with the log synced first (snapshot.h
			 * invariant 4); should it, no later write may take a
			 * sequence the snapshot claims to see. */
			db_log(db, GOLITE_LOG_WARN,
			       "snapshot \"%s\" has sequence %llu, beyond the store's %llu",
			       ms->name, (unsigned long long)ms->seq, (unsigned long long)last);
			last = ms->seq;
			atomic_store(&db->last_seq, last);
		}
		struct snap *s = xcalloc(1, sizeof(*s));
		atomic_init(&s->refs, 1);
		s->seq = ms->seq;
		s->time_ns = ms->time_ns;
		s->name = xstrdup(ms->name);
		s->named = true;
		struct db_iter *it = db_iter_new_at(db, s->seq);
		int r = db_catalog_read(db, it, &s->catalog);
		db_iter_free(it);
		if (r) {
			snap_destroy(s);
			return r;
		}
		registry_insert(db, s);
	}
	return 0;
}

void snap_close(struct golite *db)
{
	while (db->snaps) {
		struct snap *s = db->snaps;
		db->snaps = s->next;
		if (!s->named)
			db_log(db, GOLITE_LOG_WARN,
			       "a snapshot at sequence %llu was not freed before close",
			       (unsigned long long)s->seq);
		snap_destroy(s);
	}
}

uint64_t *snap_seqs(struct golite *db, size_t *n)
{
	*n = 0;
	mutex_lock(&db->snap_mu);
	size_t count = 0;
	for (struct snap *s = db->snaps; s; s = s->next)
		count++;
	uint64_t *v = count ? xmalloc(count * sizeof(*v)) : NULL;
	for (struct snap *s = db->snaps; s; s = s->next)
		if (!*n || v[*n - 1] != s->seq)
			v[(*n)++] = s->seq;
	mutex_unlock(&db->snap_mu);
	return v;
}

size_t snap_stripe(const uint64_t *seqs, size_t n, uint64_t seq)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (seqs[mid] < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool snap_pins_table(struct golite *db, uint32_t id)
{
	bool pinned = false;
	mutex_lock(&db->snap_mu);
	for (struct snap *s = db->snaps; s && !pinned; s = s->next)
		for (size_t i = 0; i < s->catalog->count && !pinned; i++)
			pinned = s->catalog->entries[i].id == id;
	mutex_unlock(&db->snap_mu);
	return pinned;
}

bool snap_between(struct golite *db, uint64_t from, uint64_t to)
{
	bool found = false;
	mutex_lock(&db->snap_mu);
	for (struct snap *s = db->snaps; s && !found; s = s->next)
		found = s->seq >= from && s->seq < to;
	mutex_unlock(&db->snap_mu);
	return found;
}

void snap_note_kept(struct golite *db, uint64_t versions, uint64_t bytes)
{
	if (!versions)
		return;
	atomic_fetch_add_explicit(&db->snap_kept_versions, versions, memory_order_relaxed);
	atomic_fetch_add_explicit(&db->snap_kept_bytes, bytes, memory_order_relaxed);
}

uint64_t snap_read_seq(const golite_snapshot *s)
{
	return s ? s->s->seq : SEQ_MAX;
}

const struct catalog *snap_catalog(struct golite *db, const golite_snapshot *s)
{
	return s ? s->s->catalog : rcu_fetch(db->catalog);
}

void snap_figures(struct golite *db, uint64_t *count, uint64_t *oldest)
{
	*count = 0;
	*oldest = 0;
	mutex_lock(&db->snap_mu);
	if (db->snaps)
		*oldest = db->snaps->seq;
	for (struct snap *s = db->snaps; s; s = s->next)
		(*count)++;
	mutex_unlock(&db->snap_mu);
}

/* ---- handles ---- */

static golite_snapshot *handle_new(struct golite *db, struct snap *s)
{
	golite_snapshot *h = xmalloc(sizeof(*h));
	h->db = db;
	h->s = s;
	return h;
}

int golite_snapshot_new(golite *db, golite_snapshot **out)
{
	if (!out)
		return set_error(GOLITE_EINVAL, "out is NULL");
	*out = NULL;
	int r = db_check_handle(db);
	if (r)
		return r;
	mutex_lock(&db->ddl_mu);
	struct snap *s = snap_take(db, NULL);
	mutex_unlock(&db->ddl_mu);
	*out = handle_new(db, s);
	return 0;
}

void golite_snapshot_free(golite_snapshot *h)
{
	if (!h)
		return;
	rcu_thread_ensure();
	snap_unref(h->db, h->s);
	free(h);
}

uint64_t golite_snapshot_sequence(const golite_snapshot *h)
{
	return h ? h->s->seq : 0;
}

/* ---- named snapshots ---- */

/* The registry's named entry called name (snap_mu held), or NULL. */
static struct snap *find_named(struct golite *db, const char *name)
{
	for (struct snap *s = db->snaps; s; s = s->next)
		if (s->named && strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

/* Writes the manifest with snaps as its named snapshots (bg_mu held);
 * on error db->ms is as it was and snaps is freed. */
static int write_snaps(struct golite *db, struct manifest_snapshot *snaps, size_t n)
{
	struct manifest_snapshot *old = db->ms.snaps;
	size_t oldn = db->ms.nsnaps;
	db->ms.snaps = snaps;
	db->ms.nsnaps = n;
	int r = bg_write_manifest(db, db->current);
	if (r) {
		db->ms.snaps = old;
		db->ms.nsnaps = oldn;
		manifest_snaps_free(snaps, n);
		return r;
	}
	manifest_snaps_free(old, oldn);
	return 0;
}

static int cmp_snap_name(const void *a, const void *b)
{
	return strcmp(((const struct manifest_snapshot *)a)->name,
		      ((const struct manifest_snapshot *)b)->name);
}

int golite_snapshot_create(golite *db, const char *name, uint64_t *seq_out)
{
	int r = db_check_handle(db);
	if (!r)
		r = db_check_writable(db);
	if (!r)
		r = manifest_snapshot_name_check(name);
	if (r)
		return r;
	/* ddl_mu serialises named snapshots' changes with each other and
	 * with the tables' (invariant 2). */
	mutex_lock(&db->ddl_mu);
	mutex_lock(&db->snap_mu);
	bool taken = find_named(db, name) != NULL;
	mutex_unlock(&db->snap_mu);
	if (taken) {
		r = set_error(GOLITE_EEXIST, "snapshot \"%s\" exists", name);
		goto out_unlock;
	}
	struct snap *s = snap_take(db, name);
	/* Invariant 4: the writes it sees are durable first. */
	r = wal_sync(db->wal);
	if (r) {
		atomic_store(&db->failed, 1);
		goto out_drop;
	}
	mutex_lock(&db->bg_mu);
	size_t n = db->ms.nsnaps;
	struct manifest_snapshot *v = xcalloc(n + 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i] = db->ms.snaps[i];
		v[i].name = xstrdup(db->ms.snaps[i].name);
	}
	v[n] = (struct manifest_snapshot){ xstrdup(name), s->seq, s->time_ns };
	qsort(v, n + 1, sizeof(*v), cmp_snap_name);
	r = write_snaps(db, v, n + 1);
	mutex_unlock(&db->bg_mu);
	if (r)
		goto out_drop;
	/* Listed and opened from now on; its reference is the name's
	 * (invariant 3). */
	mutex_lock(&db->snap_mu);
	s->named = true;
	mutex_unlock(&db->snap_mu);
	if (seq_out)
		*seq_out = s->seq;
	mutex_unlock(&db->ddl_mu);
	return 0;

out_drop:
	snap_unref(db, s);
out_unlock:
	mutex_unlock(&db->ddl_mu);
	return r;
}

int golite_snapshot_drop(golite *db, const char *name)
{
	int r = db_check_handle(db);
	if (!r)
		r = db_check_writable(db);
	if (!r)
		r = manifest_snapshot_name_check(name);
	if (r)
		return r;
	mutex_lock(&db->ddl_mu);
	mutex_lock(&db->snap_mu);
	struct snap *s = find_named(db, name);
	mutex_unlock(&db->snap_mu);
	if (!s) {
		r = set_error(GOLITE_ENOTFOUND, "no snapshot named \"%s\"", name);
		goto out_unlock;
	}
	mutex_lock(&db->bg_mu);
	size_t n = 0;
	struct manifest_snapshot *v = xcalloc(db->ms.nsnaps ? db->ms.nsnaps : 1, sizeof(*v));
	for (size_t i = 0; i < db->ms.nsnaps; i++) {
		if (strcmp(db->ms.snaps[i].name, name) == 0)
			continue;
		v[n] = db->ms.snaps[i];
		v[n++].name = xstrdup(db->ms.snaps[i].name);
	}
	if (!n) {
		free(v);
		v = NULL;
	}
	r = write_snaps(db, v, n);
	mutex_unlock(&db->bg_mu);
	if (r)
		goto out_unlock;
	mutex_lock(&db->snap_mu);
	s->named = false;
	mutex_unlock(&db->snap_mu);
	/* The name's reference (invariant 3); handles keep their own. */
	snap_unref(db, s);
	/* Compaction may now collect what only it kept. */
	mutex_lock(&db->bg_mu);
	cond_broadcast(&db->bg_cv);
	mutex_unlock(&db->bg_mu);
out_unlock:
	mutex_unlock(&db->ddl_mu);
	return r;
}

static int cmp_info_name(const void *a, const void *b)
{
	return strcmp(((const golite_snapshot_info *)a)->name,
		      ((const golite_snapshot_info *)b)->name);
}

int golite_snapshot_list(golite *db, golite_snapshot_info **out, size_t *count)
{
	int r = db_check_handle(db);
	if (r)
		return r;
	if (!out || !count)
		return set_error(GOLITE_EINVAL, "out or count is NULL");
	*out = NULL;
	*count = 0;
	mutex_lock(&db->snap_mu);
	size_t n = 0;
	for (struct snap *s = db->snaps; s; s = s->next)
		n += s->named;
	golite_snapshot_info *v = n ? xcalloc(n, sizeof(*v)) : NULL;
	size_t i = 0;
	for (struct snap *s = db->snaps; s; s = s->next) {
		if (!s->named)
			continue;
		snprintf(v[i].name, sizeof(v[i].name), "%s", s->name);
		v[i].sequence = s->seq;
		v[i].time_ns = s->time_ns;
		i++;
	}
	mutex_unlock(&db->snap_mu);
	if (n)
		qsort(v, n, sizeof(*v), cmp_info_name);
	*out = v;
	*count = n;
	return 0;
}

int golite_snapshot_open(golite *db, const char *name, golite_snapshot **out)
{
	if (!out)
		return set_error(GOLITE_EINVAL, "out is NULL");
	*out = NULL;
	int r = db_check_handle(db);
	if (!r)
		r = manifest_snapshot_name_check(name);
	if (r)
		return r;
	mutex_lock(&db->snap_mu);
	struct snap *s = find_named(db, name);
	if (s)
		snap_ref(s);
	mutex_unlock(&db->snap_mu);
	if (!s)
		return set_error(GOLITE_ENOTFOUND, "no snapshot named \"%s\"", name);
	*out = handle_new(db, s);
	return 0;
}
