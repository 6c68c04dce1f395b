/*
 * test_snapshot.c — snapshots (golite_snapshot_*, golite.h; engine/snapshot.h).
 *
 * The model test applies random puts, deletes, table creates, drops and
 * renames, interleaved with unnamed and named snapshots taken and
 * released, flushes (a small memtable) and compactions, and keeps a copy
 * of the model as it was at each live snapshot: every read at every live
 * snapshot (the table list, a scan of every table, a get of every key of
 * the key space, tables the snapshot must not know) is checked against
 * its copy. The seed is printed; GOLITE_TEST_SEED replays a run.
 *
 * The other tests: named snapshots across close and reopen, kill -9 and a
 * power cut; versions reclaimed by compaction once the last snapshot is
 * released; bad names, duplicates, a drop of a missing one, a drop while
 * a handle is open; iterators at a snapshot with bounds and a prefix;
 * chunks read at a snapshot; checkpoints carrying named snapshots; check
 * and dump of a MANIFEST holding them.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golite.h"
#include "golite_raw.h"
#include "golite_tools.h"
#include "io.h"
#include "manifest.h"
#include "testutil.h"
#include "vfile.h"

static char *dir;

static void setup(void)
{
	dir = tu_tmpdir("snapshot");
}

static void teardown(void)
{
	tu_rmtree(dir);
}

TestSuite(snapshot, .init = setup, .fini = teardown, .timeout = 300);

/* ---- a model of the store at one moment ---- */

static void model_copy(struct tu_model *dst, const struct tu_model *src)
{
	tu_model_init(dst);
	for (size_t i = 0; i < src->n; i++) {
		const struct tu_table *t = &src->t[i];
		tu_model_create(dst, t->name);
		for (size_t j = 0; j < t->n; j++)
			tu_model_put(dst, t->name, t->kv[j].key, t->kv[j].klen, t->kv[j].val,
				     t->kv[j].vlen);
	}
}

static const char *const pool[] = { "a", "b", "c", "d", "e" };
#define NPOOL (sizeof(pool) / sizeof(pool[0]))
#define NKEYS 120

static size_t key_of(unsigned i, char *buf)
{
	return (size_t)snprintf(buf, 16, "key%03u", i);
}

/*
 * Compares what the store shows at snap (NULL: now) with model m: the
 * table list, a scan of each table, golite_get_at of every key of the key
 * space, and the absence of the pool's other tables.
 */
static int compare_at(golite *db, const golite_snapshot *snap, const struct tu_model *m,
		      char *msg, size_t cap)
{
	char **names;
	size_t count;
	int r = golite_table_list_at(db, snap, &names, &count);
	if (r)
		return tu_differ(msg, cap, "table_list_at: %s", golite_strerror(r));
	bool same = count == m->n;
	for (size_t i = 0; same && i < count; i++)
		same = strcmp(names[i], m->t[i].name) == 0;
	golite_free(names);
	if (!same)
		return tu_differ(msg, cap, "table list: %zu tables, model %zu", count, m->n);
	for (size_t p = 0; p < NPOOL; p++) {
		const struct tu_table *t = NULL;
		for (size_t i = 0; i < m->n; i++)
			if (strcmp(m->t[i].name, pool[p]) == 0)
				t = &m->t[i];
		void *v;
		size_t vlen;
		if (!t) {
			r = golite_get_at(db, snap, pool[p], "key000", 6, &v, &vlen);
			if (r != GOLITE_ENOTABLE)
				return tu_differ(msg, cap, "table %s absent from the model: get gives %s",
					      pool[p], golite_strerror(r));
			continue;
		}
		uint32_t id;
		r = golite_table_id_at(db, snap, t->name, &id);
		char nbuf[64];
		if (!r)
			r = golite_table_name_at(db, snap, id, nbuf, sizeof(nbuf));
		if (r || strcmp(nbuf, t->name) != 0)
			return tu_differ(msg, cap, "table %s: id/name at the snapshot: %s", t->name,
				      golite_strerror(r));
		/* A scan. */
		golite_iter_options o = { .snapshot = snap };
		golite_iter *it;
		r = golite_iter_new(db, t->name, &o, &it);
		if (r)
			return tu_differ(msg, cap, "iter_new %s: %s", t->name, golite_strerror(r));
		size_t i = 0;
		for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it), i++) {
			size_t klen;
			const void *k = golite_iter_key(it, &klen);
			const void *val = golite_iter_value(it, &vlen);
			if (i >= t->n || tu_keycmp(k, klen, t->kv[i].key, t->kv[i].klen) != 0 ||
			    vlen != t->kv[i].vlen || (vlen && memcmp(val, t->kv[i].val, vlen) != 0)) {
				char kb[64];
				golite_iter_free(it);
				return tu_differ(msg, cap, "table %s: scan position %zu: key %s differs",
					      t->name, i, tu_show(k, klen, kb, sizeof(kb)));
			}
		}
		r = golite_iter_status(it);
		golite_iter_free(it);
		if (r || i != t->n)
			return tu_differ(msg, cap, "table %s: scan finds %zu keys, model %zu (%s)", t->name,
				      i, t->n, golite_strerror(r));
		/* Every key of the key space. */
		for (unsigned k = 0; k < NKEYS; k++) {
			char key[16];
			size_t klen = key_of(k, key);
			const struct tu_kv *e = tu_model_get(m, t->name, key, klen);
			r = golite_get_at(db, snap, t->name, key, klen, &v, &vlen);
			if (!e && r != GOLITE_ENOTFOUND)
				return tu_differ(msg, cap, "table %s: get_at(%s): %s, model: absent",
					      t->name, key, golite_strerror(r));
			if (e && (r || vlen != e->vlen || (vlen && memcmp(v, e->val, vlen) != 0))) {
				golite_free(v);
				return tu_differ(msg, cap, "table %s: get_at(%s): %s, %zu bytes, model %zu",
					      t->name, key, golite_strerror(r), vlen, e->vlen);
			}
			golite_free(v);
		}
	}
	return 0;
}

/* ---- the model test ---- */

#define MAX_SNAPS 12

struct msnap {
	golite_snapshot *h;
	struct tu_model m;
	char name[16];      /* "" for an unnamed one */
};

struct mrun {
	uint64_t seed;
	struct tu_rng rng;
	golite *db;
	struct tu_model m;
	struct msnap s[MAX_SNAPS];
	size_t ns;
	unsigned named_next;
	long op;
};

static void check_all(struct mrun *r, const char *when)
{
	char msg[512];
	cr_assert_eq(compare_at(r->db, NULL, &r->m, msg, sizeof(msg)), 0,
		     "now, %s, op %ld, seed %llu: %s", when, r->op, (unsigned long long)r->seed, msg);
	for (size_t i = 0; i < r->ns; i++)
		cr_assert_eq(compare_at(r->db, r->s[i].h, &r->s[i].m, msg, sizeof(msg)), 0,
			     "snapshot %zu (%s, seq %llu), %s, op %ld, seed %llu: %s", i,
			     r->s[i].name[0] ? r->s[i].name : "unnamed",
			     (unsigned long long)golite_snapshot_sequence(r->s[i].h), when, r->op,
			     (unsigned long long)r->seed, msg);
}

static const char *random_table(struct mrun *r)
{
	if (!r->m.n)
		return NULL;
	return r->m.t[tu_below(&r->rng, r->m.n)].name;
}

static void release(struct mrun *r, size_t i)
{
	if (r->s[i].name[0]) {
		cr_assert_eq(golite_snapshot_drop(r->db, r->s[i].name), 0, "drop %s: %s",
			     r->s[i].name, golite_last_error());
	}
	golite_snapshot_free(r->s[i].h);
	tu_model_free(&r->s[i].m);
	r->s[i] = r->s[--r->ns];
}

static void model_step(struct mrun *r)
{
	unsigned x = (unsigned)tu_below(&r->rng, 1000);
	const char *t = random_table(r);
	char key[16];
	size_t klen = key_of((unsigned)tu_below(&r->rng, NKEYS), key);
	if (x < 550 && t) {
		uint8_t val[300];
		size_t vlen = (size_t)tu_below(&r->rng, sizeof(val));
		tu_fill(val, vlen, (uint64_t)r->op);
		cr_assert_eq(golite_put(r->db, t, key, klen, val, vlen), 0, "put: %s",
			     golite_last_error());
		tu_model_put(&r->m, t, key, klen, val, vlen);
	} else if (x < 750 && t) {
		cr_assert_eq(golite_delete(r->db, t, key, klen), 0, "delete: %s",
			     golite_last_error());
		tu_model_del(&r->m, t, key, klen);
	} else if (x < 780) {
		const char *n = pool[tu_below(&r->rng, NPOOL)];
		int e = golite_table_create(r->db, n);
		cr_assert_eq(e == 0, tu_model_create(&r->m, n), "create %s: %s", n,
			     golite_strerror(e));
	} else if (x < 795 && t) {
		cr_assert_eq(golite_table_drop(r->db, t, 0), 0, "drop %s", t);
		tu_model_drop(&r->m, t);
	} else if (x < 810 && t) {
		const char *to = pool[tu_below(&r->rng, NPOOL)];
		char from[16];
		snprintf(from, sizeof(from), "%s", t);
		int e = golite_table_rename(r->db, from, to);
		bool ok = tu_model_rename(&r->m, from, to);
		cr_assert_eq(e == 0, ok || strcmp(from, to) == 0, "rename %s %s: %s", from, to,
			     golite_strerror(e));
	} else if (x < 860 && r->ns < MAX_SNAPS) {
		struct msnap *s = &r->s[r->ns];
		s->name[0] = '\0';
		if (tu_chance(&r->rng, 30)) {
			snprintf(s->name, sizeof(s->name), "n%u", r->named_next++);
			uint64_t seq;
			cr_assert_eq(golite_snapshot_create(r->db, s->name, &seq), 0, "create %s: %s",
				     s->name, golite_last_error());
			cr_assert_eq(golite_snapshot_open(r->db, s->name, &s->h), 0);
			cr_assert_eq(golite_snapshot_sequence(s->h), seq);
		} else {
			cr_assert_eq(golite_snapshot_new(r->db, &s->h), 0);
		}
		model_copy(&s->m, &r->m);
		r->ns++;
	} else if (x < 900 && r->ns) {
		release(r, (size_t)tu_below(&r->rng, r->ns));
	} else if (x < 905) {
		cr_assert_eq(golite_compact_range(r->db, NULL, NULL, 0, NULL, 0), 0, "compact: %s",
			     golite_last_error());
	}
}

static void model_run(const char *name, uint64_t dflt, long ops, bool locked)
{
	struct mrun r = { 0 };
	r.seed = tu_seed(name, dflt);
	tu_rng_init(&r.rng, r.seed);
	golite_options o;
	tu_small_options(&o);
	if (locked)
		o.memtable = GOLITE_MEMTABLE_LOCKED;
	r.db = tu_open(dir, &o);
	tu_model_init(&r.m);
	cr_assert_eq(golite_table_create(r.db, "a"), 0);
	tu_model_create(&r.m, "a");
	for (r.op = 0; r.op < ops; r.op++) {
		model_step(&r);
		if (r.op % 500 == 499)
			check_all(&r, "during the run");
	}
	check_all(&r, "at the end");
	/* Unnamed snapshots go at close; named ones stay. */
	for (size_t i = 0; i < r.ns;) {
		if (r.s[i].name[0]) {
			golite_snapshot_free(r.s[i].h);
			i++;
		} else {
			release(&r, i);
		}
	}
	cr_assert_eq(golite_close(r.db), 0);
	r.db = tu_open(dir, &o);
	for (size_t i = 0; i < r.ns; i++)
		cr_assert_eq(golite_snapshot_open(r.db, r.s[i].name, &r.s[i].h), 0, "reopen %s",
			     r.s[i].name);
	check_all(&r, "after reopen");
	cr_assert_eq(golite_compact_range(r.db, NULL, NULL, 0, NULL, 0), 0);
	check_all(&r, "after reopen and a compaction");
	while (r.ns)
		release(&r, 0);
	golite_stats st;
	cr_assert_eq(golite_stats_get(r.db, &st), 0);
	cr_assert_eq(st.snapshots, 0);
	cr_assert_eq(golite_close(r.db), 0);
	tu_model_free(&r.m);
	golite_check_stats cs;
	cr_assert_eq(golite_check(dir, NULL, &cs), 0);
	cr_assert_eq(cs.problems, 0);
}

Test(snapshot, model_lockfree)
{
	model_run("snapshot.model_lockfree", 20261207, 20000, false);
}

Test(snapshot, model_locked_memtable)
{
	model_run("snapshot.model_locked_memtable", 7, 3000, true);
}

/* ---- snapshots taken while a writer and compactions run ---- */

/* The writer's n-th batch puts "c" = n and "k<n>", atomically: a
 * snapshot that reads c = N must hold k0..kN and nothing after. */
struct writer {
	golite *db;
	int n;
	_Atomic bool done;
};

static void *write_counter(void *arg)
{
	struct writer *w = arg;
	golite_batch *b = golite_batch_new();
	char key[16], val[64];
	for (int i = 0; i < w->n; i++) {
		golite_batch_clear(b);
		int vl = snprintf(val, sizeof(val), "%d", i);
		cr_assert_eq(golite_batch_put(b, "t", "c", 1, val, (size_t)vl), 0);
		int kl = snprintf(key, sizeof(key), "k%06d", i);
		memset(val, 'x', sizeof(val));
		cr_assert_eq(golite_batch_put(b, "t", key, (size_t)kl, val, sizeof(val)), 0);
		cr_assert_eq(golite_write(w->db, b), 0, "write: %s", golite_last_error());
		/* Some overwrites of older keys, for compactions to merge. */
		if (i % 3 == 0) {
			kl = snprintf(key, sizeof(key), "k%06d", i / 2);
			cr_assert_eq(golite_put(w->db, "t", key, (size_t)kl, val, 10), 0);
		}
	}
	golite_batch_free(b);
	atomic_store(&w->done, true);
	return NULL;
}

/* Checks snapshot s against counter value n: k0..kn present, k(n+1)
 * absent, a scan of the k keys counting n + 1. */
static void check_counter(golite *db, const golite_snapshot *s, int n)
{
	void *v;
	size_t vlen;
	char key[16];
	cr_assert_eq(golite_get_at(db, s, "t", "c", 1, &v, &vlen), 0);
	char num[32];
	snprintf(num, sizeof(num), "%.*s", (int)vlen, (char *)v);
	golite_free(v);
	cr_assert_eq(atoi(num), n, "c: %s, want %d", num, n);
	int kl = snprintf(key, sizeof(key), "k%06d", n);
	cr_assert_eq(golite_get_at(db, s, "t", key, (size_t)kl, &v, &vlen), 0, "%s", key);
	golite_free(v);
	kl = snprintf(key, sizeof(key), "k%06d", n + 1);
	cr_assert_eq(golite_get_at(db, s, "t", key, (size_t)kl, &v, &vlen), GOLITE_ENOTFOUND,
		     "%s at a snapshot of c = %d", key, n);
	golite_iter_options o = { .prefix = "k", .prefix_len = 1, .snapshot = s };
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "t", &o, &it), 0);
	int count = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it))
		count++;
	cr_assert_eq(golite_iter_status(it), 0);
	golite_iter_free(it);
	cr_assert_eq(count, n + 1, "scan at a snapshot of c = %d", n);
}

Test(snapshot, taken_while_a_writer_and_compactions_run)
{
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	cr_assert_eq(golite_put(db, "t", "c", 1, "-1", 2), 0);
	struct writer w = { .db = db, .n = 20000 };
	atomic_init(&w.done, false);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, write_counter, &w), 0);
	enum { KEEP = 6 };
	golite_snapshot *s[KEEP] = { 0 };
	int at[KEEP];
	int rounds = 0;
	for (int i = 0; !atomic_load(&w.done) || i < KEEP; i++, rounds++) {
		int slot = i % KEEP;
		golite_snapshot_free(s[slot]);
		cr_assert_eq(golite_snapshot_new(db, &s[slot]), 0);
		void *v;
		size_t vlen;
		cr_assert_eq(golite_get_at(db, s[slot], "t", "c", 1, &v, &vlen), 0);
		char num[32];
		snprintf(num, sizeof(num), "%.*s", (int)vlen, (char *)v);
		golite_free(v);
		at[slot] = atoi(num);
		if (at[slot] < 0) {
			golite_snapshot_free(s[slot]);
			s[slot] = NULL;
			i--;
			continue;
		}
		/* Every live one still reads what it read when taken. */
		for (int j = 0; j < KEEP; j++)
			if (s[j])
				check_counter(db, s[j], at[j]);
	}
	pthread_join(th, NULL);
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	for (int j = 0; j < KEEP; j++) {
		check_counter(db, s[j], at[j]);
		golite_snapshot_free(s[j]);
	}
	golite_stats st;
	cr_assert_eq(golite_stats_get(db, &st), 0);
	printf("snapshot.taken_while_a_writer_and_compactions_run: %d snapshots, %llu flushes, "
	       "%llu compactions, %llu versions kept for them\n",
	       rounds, (unsigned long long)st.flushes, (unsigned long long)st.compactions,
	       (unsigned long long)st.snapshot_kept_versions);
	cr_assert_eq(golite_close(db), 0);
}

/*
 * A checkpoint taken under write load, after a named snapshot: opened
 * (as `golite restore` would leave it), it checks clean, its named
 * snapshot reads exactly what the store's reads at the same sequence
 * number, and its head is a prefix of the writes that holds the
 * snapshot's.
 */
Test(snapshot, a_checkpoint_under_load_holds_the_named_snapshot_as_the_store_does)
{
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	cr_assert_eq(golite_put(db, "t", "c", 1, "-1", 2), 0);
	struct writer w = { .db = db, .n = 20000 };
	atomic_init(&w.done, false);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, write_counter, &w), 0);
	/* A named snapshot once the writer is under way. */
	int at = -1;
	uint64_t snap_seq = 0;
	for (bool made = false; at < 100; made = true) {
		golite_snapshot *s;
		if (made)
			cr_assert_eq(golite_snapshot_drop(db, "mid"), 0);
		cr_assert_eq(golite_snapshot_create(db, "mid", &snap_seq), 0, "%s", golite_last_error());
		cr_assert_eq(golite_snapshot_open(db, "mid", &s), 0);
		void *v;
		size_t vlen;
		cr_assert_eq(golite_get_at(db, s, "t", "c", 1, &v, &vlen), 0);
		char num[32];
		snprintf(num, sizeof(num), "%.*s", (int)vlen, (char *)v);
		golite_free(v);
		at = atoi(num);
		golite_snapshot_free(s);
	}
	char *ck;
	cr_assert_geq(asprintf(&ck, "%s/ckpt", dir), 0);
	uint64_t ck_seq;
	cr_assert_eq(golite_checkpoint(db, ck, &ck_seq), 0, "%s", golite_last_error());
	cr_assert_geq(ck_seq, snap_seq);
	pthread_join(th, NULL);
	golite_snapshot *s;
	cr_assert_eq(golite_snapshot_open(db, "mid", &s), 0);
	check_counter(db, s, at);
	golite_snapshot_free(s);
	cr_assert_eq(golite_close(db), 0);

	golite_check_options co = { .quiet = true };
	golite_check_stats st;
	cr_assert_eq(golite_check(ck, &co, &st), 0, "%s", golite_last_error());
	cr_assert_eq(st.problems, 0, "the checkpoint checks with %llu problems",
		     (unsigned long long)st.problems);
	golite *cp = tu_open(ck, &o);
	golite_snapshot_info *info;
	size_t n;
	cr_assert_eq(golite_snapshot_list(cp, &info, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(info[0].name, "mid");
	cr_assert_eq(info[0].sequence, snap_seq);
	golite_free(info);
	cr_assert_eq(golite_snapshot_open(cp, "mid", &s), 0);
	check_counter(cp, s, at);
	golite_snapshot_free(s);
	void *v;
	size_t vlen;
	cr_assert_eq(golite_get(cp, "t", "c", 1, &v, &vlen), 0);
	char num[32];
	snprintf(num, sizeof(num), "%.*s", (int)vlen, (char *)v);
	golite_free(v);
	int head = atoi(num);
	cr_assert_geq(head, at);
	check_counter(cp, NULL, head);
	printf("snapshot.a_checkpoint_under_load: snapshot at counter %d (sequence %llu), "
	       "checkpoint at counter %d (sequence %llu)\n", at, (unsigned long long)snap_seq,
	       head, (unsigned long long)ck_seq);
	cr_assert_eq(golite_close(cp), 0);
	free(ck);
}

/* ---- named snapshots ---- */

static void put_str(golite *db, const char *t, const char *k, const char *v)
{
	cr_assert_eq(golite_put(db, t, k, strlen(k), v, strlen(v)), 0, "put %s: %s", k,
		     golite_last_error());
}

static void expect_at(golite *db, const golite_snapshot *s, const char *t, const char *k,
		      const char *want)
{
	void *v;
	size_t vlen;
	int r = golite_get_at(db, s, t, k, strlen(k), &v, &vlen);
	if (!want) {
		cr_assert_eq(r, GOLITE_ENOTFOUND, "%s/%s: %s, want not found", t, k,
			     golite_strerror(r));
		return;
	}
	cr_assert_eq(r, 0, "%s/%s: %s", t, k, golite_strerror(r));
	cr_assert(vlen == strlen(want) && memcmp(v, want, vlen) == 0, "%s/%s: %.*s, want %s", t, k,
		  (int)vlen, (char *)v, want);
	golite_free(v);
}

static void expect_named(golite *db, const char *name, const char *t, const char *k,
			 const char *want)
{
	golite_snapshot *s;
	cr_assert_eq(golite_snapshot_open(db, name, &s), 0, "open %s: %s", name,
		     golite_last_error());
	expect_at(db, s, t, k, want);
	golite_snapshot_free(s);
}

Test(snapshot, named_survive_close_and_reopen)
{
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	put_str(db, "t", "k", "one");
	uint64_t s1, s2;
	cr_assert_eq(golite_snapshot_create(db, "first", &s1), 0);
	put_str(db, "t", "k", "two");
	cr_assert_eq(golite_delete(db, "t", "k", 1), 0);
	cr_assert_eq(golite_table_create(db, "later"), 0);
	cr_assert_eq(golite_snapshot_create(db, "second", &s2), 0);
	cr_assert_gt(s2, s1);
	put_str(db, "t", "k", "three");
	cr_assert_eq(golite_table_drop(db, "t", 0), 0);
	cr_assert_eq(golite_close(db), 0);

	db = tu_open(dir, &o);
	golite_snapshot_info *v;
	size_t n;
	cr_assert_eq(golite_snapshot_list(db, &v, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_str_eq(v[0].name, "first");
	cr_assert_eq(v[0].sequence, s1);
	cr_assert_str_eq(v[1].name, "second");
	cr_assert_eq(v[1].sequence, s2);
	cr_assert_gt(v[0].time_ns, 0);
	golite_free(v);
	expect_named(db, "first", "t", "k", "one");
	expect_named(db, "second", "t", "k", NULL);
	/* The table dropped after both is still there at them, and "later"
	 * only at the second. */
	golite_snapshot *s;
	cr_assert_eq(golite_snapshot_open(db, "first", &s), 0);
	uint32_t id;
	cr_assert_eq(golite_table_id_at(db, s, "later", &id), GOLITE_ENOTABLE);
	golite_snapshot_free(s);
	cr_assert_eq(golite_snapshot_open(db, "second", &s), 0);
	cr_assert_eq(golite_table_id_at(db, s, "later", &id), 0);
	golite_snapshot_free(s);
	cr_assert_eq(golite_table_exists(db, "t"), false);
	/* Compactions keep what they see. */
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	expect_named(db, "first", "t", "k", "one");
	expect_named(db, "second", "t", "k", NULL);
	cr_assert_eq(golite_snapshot_drop(db, "first"), 0);
	cr_assert_eq(golite_close(db), 0);

	db = tu_open(dir, &o);
	cr_assert_eq(golite_snapshot_list(db, &v, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0].name, "second");
	golite_free(v);
	cr_assert_eq(golite_snapshot_open(db, "first", &s), GOLITE_ENOTFOUND);
	expect_named(db, "second", "t", "k", NULL);
	cr_assert_eq(golite_close(db), 0);
}

/* A child makes a named snapshot, writes more, and dies: with kill -9
 * (cut false: the page cache keeps what was written) or a power cut
 * (io_crash_now: what was not synced is lost). */
static void crash_child(bool cut)
{
	if (cut)
		io_crash_tracking(true);
	golite_options o;
	tu_small_options(&o);
	o.durability = GOLITE_PERIODIC;
	o.sync_interval_ms = 60000;
	golite *db;
	if (golite_open(dir, &o, &db) || golite_table_create(db, "t")) {
		fprintf(stderr, "child: %s\n", golite_last_error());
		_exit(3);
	}
	char k[16], v[32];
	for (int i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), "k%03d", i % 100);
		snprintf(v, sizeof(v), "before-%d", i);
		if (golite_put(db, "t", k, strlen(k), v, strlen(v)))
			_exit(4);
	}
	if (golite_snapshot_create(db, "snap", NULL))
		_exit(5);
	for (int i = 0; i < 300; i++) {
		snprintf(k, sizeof(k), "k%03d", i % 100);
		snprintf(v, sizeof(v), "after-%d", i);
		if (golite_put(db, "t", k, strlen(k), v, strlen(v)))
			_exit(6);
		if (i % 10 == 0 && golite_delete(db, "t", k, strlen(k)))
			_exit(7);
	}
	if (cut)
		io_crash_now();
	_exit(0);
}

static void crash_and_check(bool cut)
{
	fflush(NULL);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0)
		crash_child(cut);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	golite_snapshot *s;
	cr_assert_eq(golite_snapshot_open(db, "snap", &s), 0, "%s", golite_last_error());
	for (int i = 0; i < 100; i++) {
		char k[16], v[32];
		snprintf(k, sizeof(k), "k%03d", i);
		snprintf(v, sizeof(v), "before-%d", 200 + i);
		expect_at(db, s, "t", k, v);
	}
	/* Writes after the restart cannot slip under it. */
	cr_assert_geq(golite_last_sequence(db), golite_snapshot_sequence(s));
	put_str(db, "t", "k000", "new");
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	expect_at(db, s, "t", "k000", "before-200");
	golite_snapshot_free(s);
	cr_assert_eq(golite_close(db), 0);
	golite_check_stats cs;
	cr_assert_eq(golite_check(dir, NULL, &cs), 0);
	cr_assert_eq(cs.problems, 0);
}

Test(snapshot, named_survive_kill)
{
	crash_and_check(false);
}

Test(snapshot, named_survive_power_cut)
{
	crash_and_check(true);
}

Test(snapshot, bad_names_and_missing)
{
	golite *db = tu_open(dir, NULL);
	char longname[300];
	memset(longname, 'x', 256);
	longname[256] = '\0';
	const char *bad[] = { "", ".", "..", "a/b", "/", longname };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(golite_snapshot_create(db, bad[i], NULL), GOLITE_ENAME, "name %zu", i);
		cr_assert_eq(golite_snapshot_drop(db, bad[i]), GOLITE_ENAME);
		golite_snapshot *s;
		cr_assert_eq(golite_snapshot_open(db, bad[i], &s), GOLITE_ENAME);
	}
	longname[255] = '\0';
	cr_assert_eq(golite_snapshot_create(db, longname, NULL), 0);
	cr_assert_eq(golite_snapshot_create(db, NULL, NULL), GOLITE_EINVAL);
	cr_assert_eq(golite_snapshot_create(db, "..x", NULL), 0);
	cr_assert_eq(golite_snapshot_create(db, "..x", NULL), GOLITE_EEXIST);
	cr_assert_eq(golite_snapshot_drop(db, "missing"), GOLITE_ENOTFOUND);
	golite_snapshot *s;
	cr_assert_eq(golite_snapshot_open(db, "missing", &s), GOLITE_ENOTFOUND);
	cr_assert_null(s);
	cr_assert_eq(golite_snapshot_drop(db, "..x"), 0);
	cr_assert_eq(golite_snapshot_drop(db, "..x"), GOLITE_ENOTFOUND);
	/* The name is free again. */
	cr_assert_eq(golite_snapshot_create(db, "..x", NULL), 0);
	golite_snapshot_free(NULL);
	cr_assert_eq(golite_close(db), 0);

	/* A read-only store reads them and refuses changes. */
	golite_options o;
	golite_options_init(&o);
	o.read_only = true;
	db = tu_open(dir, &o);
	cr_assert_eq(golite_snapshot_create(db, "ro", NULL), GOLITE_EROFS);
	cr_assert_eq(golite_snapshot_drop(db, "..x"), GOLITE_EROFS);
	cr_assert_eq(golite_snapshot_open(db, "..x", &s), 0);
	golite_snapshot_free(s);
	cr_assert_eq(golite_snapshot_new(db, &s), 0);
	golite_snapshot_free(s);
	cr_assert_eq(golite_close(db), 0);
}

/* Fails the rename that replaces MANIFEST. */
static int fail_manifest_rename(void *ctx, enum io_op op, const char *path, int fd, size_t *len)
{
	(void)ctx;
	(void)fd;
	(void)len;
	return op == IO_RENAME && path && strstr(path, "MANIFEST") ? EIO : 0;
}

Test(snapshot, failed_manifest_write_leaves_no_snapshot)
{
	golite_options o;
	tu_small_options(&o);
	o.compaction_threads = 0;
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	put_str(db, "t", "k", "v");
	cr_assert_eq(golite_snapshot_create(db, "kept", NULL), 0);
	io_set_fault_hook(fail_manifest_rename, NULL);
	cr_assert_eq(golite_snapshot_create(db, "lost", NULL), GOLITE_EIO);
	cr_assert_eq(golite_snapshot_drop(db, "kept"), GOLITE_EIO);
	io_set_fault_hook(NULL, NULL);
	golite_snapshot_info *v;
	size_t n;
	cr_assert_eq(golite_snapshot_list(db, &v, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(v[0].name, "kept");
	golite_free(v);
	golite_snapshot *s;
	cr_assert_eq(golite_snapshot_open(db, "lost", &s), GOLITE_ENOTFOUND);
	golite_stats st;
	cr_assert_eq(golite_stats_get(db, &st), 0);
	cr_assert_eq(st.snapshots, 1);
	/* The name is free, and the failure is not the store's. */
	cr_assert_eq(golite_snapshot_create(db, "lost", NULL), 0);
	cr_assert_eq(golite_close(db), 0);
	db = tu_open(dir, &o);
	cr_assert_eq(golite_snapshot_list(db, &v, &n), 0);
	cr_assert_eq(n, 2);
	golite_free(v);
	cr_assert_eq(golite_close(db), 0);
}

Test(snapshot, drop_while_open_takes_effect_at_free)
{
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	put_str(db, "t", "k", "old");
	cr_assert_eq(golite_snapshot_create(db, "s", NULL), 0);
	golite_snapshot *h;
	cr_assert_eq(golite_snapshot_open(db, "s", &h), 0);
	put_str(db, "t", "k", "new");
	cr_assert_eq(golite_snapshot_drop(db, "s"), 0);
	golite_snapshot_info *v;
	size_t n;
	cr_assert_eq(golite_snapshot_list(db, &v, &n), 0);
	cr_assert_eq(n, 0);
	golite_stats st;
	cr_assert_eq(golite_stats_get(db, &st), 0);
	cr_assert_eq(st.snapshots, 1);
	cr_assert_eq(st.snapshot_oldest_sequence, golite_snapshot_sequence(h));
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	expect_at(db, h, "t", "k", "old");
	golite_snapshot_free(h);
	cr_assert_eq(golite_stats_get(db, &st), 0);
	cr_assert_eq(st.snapshots, 0);
	cr_assert_eq(st.snapshot_oldest_sequence, 0);
	cr_assert_eq(golite_close(db), 0);
}

/* ---- compaction keeps what snapshots see, and no more ---- */

static uint64_t table_bytes(golite *db)
{
	golite_stats st;
	cr_assert_eq(golite_stats_get(db, &st), 0);
	return st.sstable_bytes;
}

Test(snapshot, compaction_reclaims_versions_after_release)
{
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	enum { KEYS = 400, VLEN = 500 };
	uint8_t val[VLEN];
	char k[16];
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < KEYS; i++) {
			snprintf(k, sizeof(k), "k%04d", i);
			tu_fill(val, VLEN, (uint64_t)(round * KEYS + i));
			cr_assert_eq(golite_put(db, "t", k, strlen(k), val, VLEN), 0);
		}
		if (round == 0)
			cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	}
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	uint64_t alone = table_bytes(db);

	/* Round 2 under a snapshot: both versions are kept. */
	golite_snapshot *s;
	cr_assert_eq(golite_snapshot_new(db, &s), 0);
	for (int i = 0; i < KEYS; i++) {
		snprintf(k, sizeof(k), "k%04d", i);
		tu_fill(val, VLEN, (uint64_t)(2 * KEYS + i));
		if (i % 4 == 0)
			cr_assert_eq(golite_delete(db, "t", k, strlen(k)), 0);
		else
			cr_assert_eq(golite_put(db, "t", k, strlen(k), val, VLEN), 0);
	}
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	uint64_t held = table_bytes(db);
	golite_stats st;
	cr_assert_eq(golite_stats_get(db, &st), 0);
	cr_assert_geq(st.snapshot_kept_versions, KEYS);
	cr_assert_geq(st.snapshot_kept_bytes, (uint64_t)KEYS * VLEN);
	cr_assert_eq(st.snapshots, 1);
	printf("tables: %llu bytes alone, %llu under the snapshot\n", (unsigned long long)alone,
	       (unsigned long long)held);
	cr_assert_gt(held, alone + (uint64_t)KEYS * VLEN * 3 / 4 - 1, "%llu vs %llu",
		     (unsigned long long)held, (unsigned long long)alone);
	for (int i = 0; i < KEYS; i += 7) {
		snprintf(k, sizeof(k), "k%04d", i);
		void *v;
		size_t vlen;
		cr_assert_eq(golite_get_at(db, s, "t", k, strlen(k), &v, &vlen), 0);
		cr_assert(vlen == VLEN && tu_check_fill(v, vlen, (uint64_t)(KEYS + i)));
		golite_free(v);
	}

	/* Released: the next compaction gives the older versions back. */
	golite_snapshot_free(s);
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	uint64_t after = table_bytes(db);
	printf("tables after the release: %llu bytes\n", (unsigned long long)after);
	cr_assert_lt(after, alone, "%llu vs %llu", (unsigned long long)after,
		     (unsigned long long)alone);
	cr_assert_eq(golite_stats_get(db, &st), 0);
	cr_assert_eq(st.snapshots, 0);
	char *text;
	cr_assert_eq(golite_stats_text(db, &text), 0);
	cr_assert(strstr(text, "\nsnapshots 0\n"));
	cr_assert(strstr(text, "\nsnapshot_kept_versions "));
	golite_free(text);
	cr_assert_eq(golite_close(db), 0);
}

/* Many versions of one key, each seen by a snapshot, more bytes than an
 * output table holds: compaction keeps them in one table (its invariant
 * 4), and every snapshot reads its own through point reads and scans.
 * The key lies inside the range of tables already at the last level, so
 * that the second compaction merges and cuts (a flush that took every
 * memtable at once, then a move of its one table down, would test
 * nothing). */
Test(snapshot, versions_of_a_key_stay_in_one_table)
{
	golite_options o;
	tu_small_options(&o);
	o.sstable_size = 16u << 10;
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	enum { VERSIONS = 24, VLEN = 4000 };
	golite_snapshot *s[VERSIONS];
	uint8_t val[VLEN];
	char k[16];
	for (int i = 0; i < 40; i++) {
		snprintf(k, sizeof(k), "a%02d", i);
		tu_fill(val, VLEN, 100000 + (uint64_t)i);
		cr_assert_eq(golite_put(db, "t", k, strlen(k), val, VLEN), 0);
	}
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	for (int v = 0; v < VERSIONS; v++) {
		tu_fill(val, VLEN, (uint64_t)v);
		cr_assert_eq(golite_put(db, "t", "a19z", 4, val, VLEN), 0);
		cr_assert_eq(golite_snapshot_new(db, &s[v]), 0);
	}
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	golite_stats st;
	cr_assert_eq(golite_stats_get(db, &st), 0);
	cr_assert_gt(st.sstable_count, 2, "%llu tables, %llu bytes",
		     (unsigned long long)st.sstable_count, (unsigned long long)st.sstable_bytes);
	for (int v = 0; v < VERSIONS; v++) {
		void *got;
		size_t vlen;
		cr_assert_eq(golite_get_at(db, s[v], "t", "a19z", 4, &got, &vlen), 0);
		cr_assert(vlen == VLEN && tu_check_fill(got, vlen, (uint64_t)v), "version %d", v);
		golite_free(got);
		golite_iter_options io = { .lower = "a19", .lower_len = 3, .upper = "a21",
					   .upper_len = 3, .snapshot = s[v] };
		golite_iter *it;
		cr_assert_eq(golite_iter_new(db, "t", &io, &it), 0);
		golite_iter_seek_first(it);
		int n = 0;
		for (; golite_iter_valid(it); golite_iter_next(it), n++) {
			size_t kl;
			const char *kk = golite_iter_key(it, &kl);
			const void *vv = golite_iter_value(it, &vlen);
			if (kl == 4 && memcmp(kk, "a19z", 4) == 0)
				cr_assert(vlen == VLEN && tu_check_fill(vv, vlen, (uint64_t)v),
					  "scan, version %d", v);
		}
		cr_assert_eq(n, 3);  /* a19, a19z, a20 */
		golite_iter_free(it);
	}
	for (int v = 0; v < VERSIONS; v++)
		golite_snapshot_free(s[v]);
	cr_assert_eq(golite_close(db), 0);
}

/* ---- iterators and chunks at a snapshot ---- */

Test(snapshot, iterator_bounds_and_prefix)
{
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	const char *keys[] = { "a1", "a2", "a3", "b1", "b2", "c1" };
	for (size_t i = 0; i < 6; i++)
		put_str(db, "t", keys[i], "v1");
	golite_snapshot *s;
	cr_assert_eq(golite_snapshot_new(db, &s), 0);
	for (size_t i = 0; i < 6; i++)
		put_str(db, "t", keys[i], "v2");
	cr_assert_eq(golite_delete(db, "t", "a2", 2), 0);
	cr_assert_eq(golite_delete(db, "t", "b1", 2), 0);
	put_str(db, "t", "a0", "v2");
	put_str(db, "t", "b0", "v2");
	for (int pass = 0; pass < 2; pass++) {
		struct {
			golite_iter_options o;
			const char *want;
		} cases[] = {
			{ { .prefix = "a", .prefix_len = 1, .snapshot = s }, "a1 a2 a3" },
			{ { .prefix = "b", .prefix_len = 1, .snapshot = s }, "b1 b2" },
			{ { .lower = "a2", .lower_len = 2, .upper = "b2", .upper_len = 2,
			    .snapshot = s },
			  "a2 a3 b1" },
			{ { .lower = "a2", .lower_len = 2, .upper = "b2", .upper_len = 2 },
			  "a3 b0" },
			{ { .prefix = "a", .prefix_len = 1 }, "a0 a1 a3" },
		};
		for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
			golite_iter *it;
			cr_assert_eq(golite_iter_new(db, "t", &cases[c].o, &it), 0);
			char got[64] = "";
			bool at_snap = cases[c].o.snapshot != NULL;
			for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
				size_t kl, vl;
				const char *k = golite_iter_key(it, &kl);
				const char *v = golite_iter_value(it, &vl);
				cr_assert(vl == 2 && memcmp(v, at_snap ? "v1" : "v2", 2) == 0);
				snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%.*s",
					 got[0] ? " " : "", (int)kl, k);
			}
			cr_assert_eq(golite_iter_status(it), 0);
			golite_iter_free(it);
			cr_assert_str_eq(got, cases[c].want, "pass %d case %zu", pass, c);
		}
		/* Seek inside the bounds at the snapshot. */
		golite_iter_options so = { .snapshot = s };
		golite_iter *it;
		cr_assert_eq(golite_iter_new(db, "t", &so, &it), 0);
		golite_iter_seek(it, "b", 1);
		cr_assert(golite_iter_valid(it));
		size_t kl;
		cr_assert_eq(memcmp(golite_iter_key(it, &kl), "b1", 2), 0);
		/* The iterator keeps reading after the handle is freed. */
		if (pass == 1) {
			golite_snapshot_free(s);
			s = NULL;
			cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
			golite_iter_next(it);
			cr_assert(golite_iter_valid(it));
			cr_assert_eq(memcmp(golite_iter_key(it, &kl), "b2", 2), 0);
			size_t vl;
			cr_assert_eq(memcmp(golite_iter_value(it, &vl), "v1", 2), 0);
		}
		golite_iter_free(it);
		/* Again from the tables. */
		if (pass == 0)
			cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	}
	cr_assert_eq(golite_close(db), 0);
}

static void put_chunk(golite *db, uint64_t ino, uint32_t idx, uint64_t tag)
{
	uint8_t key[VFILE_CHUNK_KEY], data[VFILE_CHUNK];
	vfile_chunk_key(key, ino, idx);
	tu_fill(data, sizeof(data), tag);
	cr_assert_eq(golite_put_raw(db, GOLITE_TABLE_CHUNKS, GOLITE_KIND_VALUE, key, sizeof(key),
				    data, sizeof(data)),
		     0);
}

static void check_chunks(golite *db, const golite_snapshot *s, uint64_t ino, uint32_t n,
			 uint64_t tag0)
{
	size_t len = (size_t)n * VFILE_CHUNK;
	uint8_t *buf = malloc(len);
	/* Both of the reader's ways: one chunk at a time, and all at once. */
	for (uint32_t i = 0; i < n; i++) {
		cr_assert_eq(golite_chunks_read_at(db, s, ino, (uint64_t)i * VFILE_CHUNK, buf,
						   VFILE_CHUNK),
			     0);
		cr_assert(tu_check_fill(buf, VFILE_CHUNK, tag0 + i), "chunk %u", i);
	}
	cr_assert_eq(golite_chunks_read_at(db, s, ino, 0, buf, len), 0);
	for (uint32_t i = 0; i < n; i++)
		cr_assert(tu_check_fill(buf + (size_t)i * VFILE_CHUNK, VFILE_CHUNK, tag0 + i),
			  "chunk %u of the scan", i);
	free(buf);
}

Test(snapshot, chunks_read_at_a_snapshot)
{
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	enum { N = 520 };  /* past the reader's scan threshold (512) */
	for (uint32_t i = 0; i < N; i++)
		put_chunk(db, 42, i, 1000 + i);
	golite_snapshot *s;
	cr_assert_eq(golite_snapshot_new(db, &s), 0);
	for (uint32_t i = 0; i < N; i++)
		put_chunk(db, 42, i, 5000 + i);
	check_chunks(db, s, 42, N, 1000);
	check_chunks(db, NULL, 42, N, 5000);
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	check_chunks(db, s, 42, N, 1000);
	check_chunks(db, NULL, 42, N, 5000);
	golite_snapshot_free(s);
	cr_assert_eq(golite_close(db), 0);
}

/* ---- checkpoints, check and dump ---- */

Test(snapshot, checkpoint_carries_named_snapshots)
{
	golite_options o;
	tu_small_options(&o);
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	put_str(db, "t", "k", "old");
	cr_assert_eq(golite_snapshot_create(db, "s", NULL), 0);
	put_str(db, "t", "k", "new");
	char ck[PATH_MAX];
	snprintf(ck, sizeof(ck), "%s/ckpt", dir);
	cr_assert_eq(golite_checkpoint(db, ck, NULL), 0, "%s", golite_last_error());
	cr_assert_eq(golite_close(db), 0);
	db = tu_open(ck, &o);
	expect_named(db, "s", "t", "k", "old");
	expect_at(db, NULL, "t", "k", "new");
	cr_assert_eq(golite_close(db), 0);
}

Test(snapshot, check_finds_a_snapshot_beyond_the_store)
{
	golite *db = tu_open(dir, NULL);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	put_str(db, "t", "k", "v");
	cr_assert_eq(golite_snapshot_create(db, "s", NULL), 0);
	cr_assert_eq(golite_close(db), 0);
	golite_check_stats cs;
	cr_assert_eq(golite_check(dir, NULL, &cs), 0);
	cr_assert_eq(cs.problems, 0);

	/* dump shows it. */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/MANIFEST", dir);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_eq(golite_dump_file(path, f, 0, NULL), 0);
	fclose(f);
	cr_assert(strstr(text, "snapshot seq ") && strstr(text, " name s\n"), "%s", text);
	free(text);

	struct manifest m;
	cr_assert_eq(manifest_read(dir, &m), 0);
	cr_assert_eq(m.nsnaps, 1);
	m.snaps[0].seq = 1000000;
	cr_assert_eq(manifest_write(dir, &m), 0);
	manifest_free(&m);
	cr_assert_eq(golite_check(dir, NULL, &cs), 0);
	cr_assert_eq(cs.problems, 1);
	/* Repair (of a copy) drops it. */
	golite_check_options co = { 0 };
	golite_repair_stats rs;
	char copy[PATH_MAX + 16], cp[2 * PATH_MAX + 32];
	snprintf(cp, sizeof(cp), "cp -a %s %s.copy", dir, dir);
	cr_assert_eq(system(cp), 0);
	snprintf(copy, sizeof(copy), "%s.copy", dir);
	cr_assert_eq(golite_repair(copy, &co, &rs), 0);
	cr_assert_eq(rs.problems_after, 0);
	cr_assert_eq(manifest_read(copy, &m), 0);
	cr_assert_eq(m.nsnaps, 0);
	manifest_free(&m);
	char rm[PATH_MAX + 32];
	snprintf(rm, sizeof(rm), "rm -rf %s", copy);
	cr_assert_eq(system(rm), 0);
	/* Open warns and keeps later writes above it. */
	golite_options o;
	golite_options_init(&o);
	o.log_level = GOLITE_LOG_ERROR;
	db = tu_open(dir, &o);
	cr_assert_geq(golite_last_sequence(db), 1000000);
	cr_assert_eq(golite_close(db), 0);
}
