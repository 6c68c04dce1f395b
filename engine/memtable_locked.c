/*
 * memtable_locked.c — the reference memtable: a plain skip list and a plain
 * chained hash table, both behind one reader-writer lock.
 *
 * It has the same shape as the lock-free memtable (one node per ikey,
 * version chains, hash index for point reads), so the difference between
 * the two in a benchmark is the cost of the lock, and the simplicity of
 * this one makes it the oracle of the tests.
 *
 * Invariants:
 *   1. Every field below `lock` is read or written only with `lock` held
 *      (write lock for add, read lock for everything else).
 *   2. One node per ikey; versions newest first (memtable.h invariant 1).
 */
#include <pthread.h>
#include <stdlib.h>

#include "arena.h"
#include "format.h"
#include "memtable.h"
#include "util.h"

#define MAX_HEIGHT 20

struct lk_node {
	struct lk_node *hnext;      /* hash chain */
	struct mt_version *versions;
	uint64_t hash;
	uint32_t klen;
	int height;
	struct lk_node *next[];
	/* key bytes follow next[height] */
};

struct lk_memtable {
	struct memtable base;
	pthread_rwlock_t lock;
	struct arena arena;         /* protected by lock */
	struct lk_node *head;
	int max_height;
	struct lk_node **buckets;
	size_t nbuckets;
	size_t nkeys;
	uint64_t rng;
};

struct mt_iter {
	struct lk_memtable *m;
	struct lk_node *node;
};

static inline const uint8_t *node_key(const struct lk_node *n)
{
	return (const uint8_t *)&n->next[n->height];
}

static void rdlock(struct lk_memtable *m)
{
	if (pthread_rwlock_rdlock(&m->lock))
		FATAL("pthread_rwlock_rdlock");
}

static void wrlock(struct lk_memtable *m)
{
	if (pthread_rwlock_wrlock(&m->lock))
		FATAL("pthread_rwlock_wrlock");
}

static void unlock(struct lk_memtable *m)
{
	if (pthread_rwlock_unlock(&m->lock))
		FATAL("pthread_rwlock_unlock");
}

static struct lk_node *hash_find(struct lk_memtable *m, const void *key, size_t klen,
				 uint64_t hash)
{
	for (struct lk_node *n = m->buckets[hash & (m->nbuckets - 1)]; n; n = n->hnext)
		if (n->hash == hash && n->klen == klen && memcmp(node_key(n), key, klen) == 0)
			return n;
	return NULL;
}

static void hash_grow(struct lk_memtable *m)
{
	size_t nb = m->nbuckets * 2;
	struct lk_node **b = xcalloc(nb, sizeof(*b));
	for (size_t i = 0; i < m->nbuckets; i++) {
		struct lk_node *n = m->buckets[i];
		while (n) {
			struct lk_node *next = n->hnext;
			n->hnext = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
			n = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
}

static int random_height(struct lk_memtable *m)
{
	int h = 1;
	while (h < MAX_HEIGHT) {
		m->rng = m->rng * 6364136223846793005ull + 1442695040888963407ull;
		if ((m->rng >> 33) % 4)
			break;
		h++;
	}
	return h;
}

static void lk_add(struct memtable *base, const void *ikey, size_t iklen, uint64_t hash,
		   uint64_t seq, unsigned kind, const void *value, size_t vlen)
{
	struct lk_memtable *m = (struct lk_memtable *)base;
	wrlock(m);
	struct mt_version *v = arena_alloc(&m->arena, sizeof(*v) + vlen);
	v->seq_kind = trailer_pack(seq, kind);
	v->vlen = (uint32_t)vlen;
	if (vlen)
		memcpy(v->value, value, vlen);

	struct lk_node *n = hash_find(m, ikey, iklen, hash);
	if (n) {
		/* Keep the chain in decreasing sequence order. */
		struct mt_version **slot = (struct mt_version **)&n->versions;
		while (*slot && trailer_seq((*slot)->seq_kind) > seq)
			slot = (struct mt_version **)&(*slot)->next;
		v->next = *slot;
		*slot = v;
	} else {
		int h = random_height(m);
		n = arena_alloc(&m->arena, sizeof(*n) + (size_t)h * sizeof(void *) + iklen);
		n->versions = v;
		v->next = NULL;
		n->hash = hash;
		n->klen = (uint32_t)iklen;
		n->height = h;
		memcpy((uint8_t *)node_key(n), ikey, iklen);
		if (h > m->max_height)
			m->max_height = h;
		struct lk_node *x = m->head;
		for (int level = m->max_height - 1; level >= 0; level--) {
			while (x->next[level] &&
			       ikey_cmp(node_key(x->next[level]), x->next[level]->klen, ikey,
					iklen) < 0)
				x = x->next[level];
			if (level < h) {
				n->next[level] = x->next[level];
				x->next[level] = n;
			}
		}
		n->hnext = m->buckets[hash & (m->nbuckets - 1)];
		m->buckets[hash & (m->nbuckets - 1)] = n;
		if (++m->nkeys > m->nbuckets)
			hash_grow(m);
	}
	unlock(m);
	memtable_note_add(base, hash);
}

static bool pick_version(struct mt_version *v, uint64_t snap, struct mt_entry *out)
{
	while (v && trailer_seq(v->seq_kind) > snap)
		v = v->next;
	if (!v)
		return false;
	out->seq = trailer_seq(v->seq_kind);
	out->kind = trailer_kind(v->seq_kind);
	out->value = v->value;
	out->vlen = v->vlen;
	return true;
}

static bool lk_get(struct memtable *base, const void *ikey, size_t iklen, uint64_t hash,
		   uint64_t snap, struct mt_entry *out)
{
	struct lk_memtable *m = (struct lk_memtable *)base;
	rdlock(m);
	struct lk_node *n = hash_find(m, ikey, iklen, hash);
	bool found = n && pick_version(n->versions, snap, out);
	unlock(m);
	return found;
}

static size_t lk_memory(struct memtable *base)
{
	struct lk_memtable *m = (struct lk_memtable *)base;
	return arena_memory(&m->arena) + m->nbuckets * sizeof(void *);
}

static struct memtable *lk_create(size_t size_hint)
{
	struct lk_memtable *m = xcalloc(1, sizeof(*m));
	memtable_init_common(&m->base, &memtable_locked_ops, size_hint);
	if (pthread_rwlock_init(&m->lock, NULL))
		FATAL("pthread_rwlock_init");
	arena_init(&m->arena, memtable_block_size(size_hint));
	m->head = arena_alloc(&m->arena, sizeof(struct lk_node) + MAX_HEIGHT * sizeof(void *));
	memset(m->head, 0, sizeof(struct lk_node) + MAX_HEIGHT * sizeof(void *));
	m->head->height = MAX_HEIGHT;
	m->max_height = 1;
	m->nbuckets = 1024;
	m->buckets = xcalloc(m->nbuckets, sizeof(*m->buckets));
	m->rng = 0x853c49e6748fea9bull;
	return &m->base;
}

static void lk_destroy(struct memtable *base)
{
	struct lk_memtable *m = (struct lk_memtable *)base;
	pthread_rwlock_destroy(&m->lock);
	arena_destroy(&m->arena);
	free(m->buckets);
	memtable_fini_common(&m->base);
	free(m);
}

/* ---- iterators: each call takes the read lock ---- */

static struct mt_iter *lk_iter_new(struct memtable *base)
{
	struct mt_iter *it = xmalloc(sizeof(*it));
	it->m = (struct lk_memtable *)base;
	it->node = NULL;
	return it;
}

static void lk_iter_free(struct mt_iter *it)
{
	free(it);
}

static void lk_iter_seek_first(struct mt_iter *it)
{
	rdlock(it->m);
	it->node = it->m->head->next[0];
	unlock(it->m);
}

static void lk_iter_seek(struct mt_iter *it, const void *ikey, size_t iklen)
{
	struct lk_memtable *m = it->m;
	rdlock(m);
	struct lk_node *x = m->head;
	for (int level = m->max_height - 1; level >= 0; level--)
		while (x->next[level] &&
		       ikey_cmp(node_key(x->next[level]), x->next[level]->klen, ikey, iklen) < 0)
			x = x->next[level];
	it->node = x->next[0];
	unlock(m);
}

static bool lk_iter_valid(const struct mt_iter *it)
{
	return it->node != NULL;
}

static void lk_iter_next(struct mt_iter *it)
{
	rdlock(it->m);
	it->node = it->node->next[0];
	unlock(it->m);
}

static const void *lk_iter_key(const struct mt_iter *it, size_t *iklen)
{
	/* Keys never change once inserted: no lock needed to read them. */
	*iklen = it->node->klen;
	return node_key(it->node);
}

static bool lk_iter_version(const struct mt_iter *it, uint64_t snap, struct mt_entry *out)
{
	rdlock(it->m);
	bool found = pick_version(it->node->versions, snap, out);
	unlock(it->m);
	return found;
}

static void lk_iter_versions(const struct mt_iter *it,
			     bool (*fn)(void *ctx, const struct mt_entry *e), void *ctx)
{
	rdlock(it->m);
	for (struct mt_version *v = it->node->versions; v; v = v->next) {
		struct mt_entry e = {
			.seq = trailer_seq(v->seq_kind),
			.kind = trailer_kind(v->seq_kind),
			.value = v->value,
			.vlen = v->vlen,
		};
		if (!fn(ctx, &e))
			break;
	}
	unlock(it->m);
}

const struct memtable_ops memtable_locked_ops = {
	.name = "locked",
	.create = lk_create,
	.destroy = lk_destroy,
	.add = lk_add,
	.get = lk_get,
	.memory = lk_memory,
	.iter_new = lk_iter_new,
	.iter_free = lk_iter_free,
	.iter_seek_first = lk_iter_seek_first,
	.iter_seek = lk_iter_seek,
	.iter_valid = lk_iter_valid,
	.iter_next = lk_iter_next,
	.iter_key = lk_iter_key,
	.iter_version = lk_iter_version,
	.iter_versions = lk_iter_versions,
};
