/*
 * memtable_lockfree.c — the default memtable: a lock-free skip list for
 * order and a lock-free hash index for point reads, built on liburcu's
 * cds_lfht.
 *
 * Each distinct ikey has one node, a skip-list tower. A point read costs
 * one index lookup and no skip-list search; an overwrite of an existing key
 * costs one index lookup and one CAS on the node's version chain.
 *
 * The first write of a key puts its node in the index (point reads see it
 * at once) and on a lock-free stack of nodes waiting to be linked. The
 * memtable's linker thread takes the whole stack at a time, sorts it, and
 * links the nodes into the skip list in key order, each search starting
 * from the previous node's place (a finger), with the same CAS steps a
 * concurrent insert would use. A random insert thus costs the writer a
 * hash-index insert; the ordered structure is built off the write path,
 * in batches that walk little of the list. Ordered readers (iterators, the
 * flush) first wait until the linker has caught up with them.
 *
 * The index has two levels. Keys are spread over groups by the low bits of
 * their hash; cds_lfht maps a group id to its group, and a group is a small
 * array of tagged node pointers (the node's address and 16 more bits of its
 * hash in one word), filled in order by CAS, with overflow groups chained
 * behind it. The hash table thus holds about a tenth as many entries as
 * there are keys: its buckets stay in cache, it never needs resizing, and
 * emptying it when the memtable goes (cds_lfht_destroy wants an empty
 * table) costs one deletion per group instead of one per key.
 *
 * Node layout (one arena allocation):
 *
 *     +---------------------+ struct lf_node
 *     | versions (atomic)   |  newest first (memtable.h invariant 1)
 *     | pending (stack link)|
 *     | klen, height        |
 *     | next[height]        |  skip-list successors, atomic
 *     +---------------------+
 *     | key bytes (klen)    |
 *     +---------------------+
 *
 * Invariants (numbered for the asserts below):
 *   1. The index holds at most one node per ikey. A group's slots fill in
 *      order, each with one CAS from empty, and a writer moves past a slot
 *      only once it holds a node whose key it compared; so when a writer's
 *      CAS fills a slot, no earlier slot (of this group or the groups before
 *      it in the chain) holds its key. Only the writer whose node entered
 *      the index links it into the skip list, so the skip list never has two
 *      nodes with equal keys and needs no find-or-insert.
 *   2. A node's fields and first version are written before it is
 *      published (release CAS); readers load pointers with acquire.
 *   3. `pushed` is incremented before a node goes on the pending stack, and
 *      `linked` by the number of nodes a batch held once all of them are
 *      in the skip list. The linker takes the whole stack each time, so if
 *      `linked` >= a reading of `pushed` taken after node X was pushed,
 *      the batch holding X is linked: the batches before X's push hold
 *      fewer nodes than that reading counts. An ordered reader reads
 *      `pushed` after every write it must see has returned (db.c waits for
 *      writes in flight) and waits for `linked` to reach it.
 *   4. Nothing is ever unlinked or freed before the whole memtable is.
 */
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "arena.h"
#include "format.h"
#include "memtable.h"
#include "rcu.h"
#include "util.h"

#define MAX_HEIGHT 20
#define BRANCHING 4

struct lf_node {
	struct mt_version *_Atomic versions;
	uint32_t klen;
	uint8_t height;
	struct lf_node *pending;       /* next on the pending stack */
	struct lf_node *_Atomic next[];
	/* key bytes follow next[height] */
};

struct lf_memtable {
	struct memtable base;
	struct arena arena;
	struct cds_lfht *index;
	struct lf_node *head;
	_Atomic int max_height;
	uint64_t group_mask;            /* group id = hash & group_mask */

	/* Linking (invariant 3). */
	struct lf_node *_Atomic pending;   /* stack of nodes to link */
	_Atomic uint64_t pushed, linked;
	_Atomic bool linker_idle;
	_Atomic int readers_waiting;       /* ordered readers in wait_linked */
	bool linker_stop;                  /* protected by link_mu */
	pthread_mutex_t link_mu;
	pthread_cond_t link_cv;            /* wakes the linker */
	pthread_cond_t linked_cv;          /* wakes ordered readers */
	pthread_t linker;
	unsigned long buckets;          /* of the cds_lfht */
};

#define GROUP_SLOTS 14
#define KEYS_PER_GROUP 8               /* what the group count is sized for */
#define SLOT_PTR_MASK ((UINT64_C(1) << 48) - 1)

/* A group of the index (see the top of the file). */
struct group {
	struct cds_lfht_node h;         /* in the cds_lfht, except overflow groups */
	uint64_t gid;
	struct group *_Atomic next;     /* overflow */
	_Atomic uint64_t slots[GROUP_SLOTS];   /* 0, or tag << 48 | node address */
};

/*
 * Emptied hash tables kept for the next memtable of the same size: building
 * a table's buckets costs about a third of a microsecond each.
 */
#define POOL_MAX 2
static struct {
	pthread_mutex_t mu;
	struct cds_lfht *tables[POOL_MAX];
	unsigned long buckets[POOL_MAX];
	int n;
} pool = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* A recycled table with exactly `want` buckets, or NULL. */
static struct cds_lfht *pool_take(unsigned long want, unsigned long *buckets)
{
	struct cds_lfht *t = NULL;
	pthread_mutex_lock(&pool.mu);
	for (int i = 0; i < pool.n; i++) {
		if (pool.buckets[i] != want)
			continue;
		t = pool.tables[i];
		*buckets = pool.buckets[i];
		pool.tables[i] = pool.tables[pool.n - 1];
		pool.buckets[i] = pool.buckets[pool.n - 1];
		pool.n--;
		break;
	}
	pthread_mutex_unlock(&pool.mu);
	return t;
}

static bool pool_give(struct cds_lfht *t, unsigned long buckets)
{
	bool kept = false;
	pthread_mutex_lock(&pool.mu);
	if (pool.n < POOL_MAX) {
		pool.tables[pool.n] = t;
		pool.buckets[pool.n] = buckets;
		pool.n++;
		kept = true;
	}
	pthread_mutex_unlock(&pool.mu);
	return kept;
}

struct mt_iter {
	struct lf_memtable *m;
	struct lf_node *node;
};

static inline const uint8_t *node_key(const struct lf_node *n)
{
	return (const uint8_t *)&n->next[n->height];
}

static inline struct lf_node *load_next(struct lf_node *n, int level)
{
	return atomic_load_explicit(&n->next[level], memory_order_acquire);
}

static inline uint16_t slot_tag(uint64_t hash)
{
	return (uint16_t)(hash >> 48);
}

static inline struct lf_node *slot_node(uint64_t w)
{
	return (struct lf_node *)(uintptr_t)(w & SLOT_PTR_MASK);
}

static inline uint64_t slot_word(struct lf_node *n, uint64_t hash)
{
	uint64_t p = (uint64_t)(uintptr_t)n;
	if (unlikely(p & ~SLOT_PTR_MASK))
		FATAL("node address %p does not fit 48 bits", (void *)n);
	return p | ((uint64_t)slot_tag(hash) << 48);
}

/* The cds_lfht hash of a group id: the id itself is hash bits, mixed so
 * that the table's buckets (indexed by low bits) spread. */
static inline unsigned long group_hash(uint64_t gid)
{
	return (unsigned long)((gid + 1) * 0x9e3779b97f4a7c15ull);
}

static int match_group(struct cds_lfht_node *hn, const void *arg)
{
	return caa_container_of(hn, struct group, h)->gid == *(const uint64_t *)arg;
}

static int random_height(void)
{
	static __thread uint64_t state;
	if (unlikely(!state))
		state = (uint64_t)(uintptr_t)&state ^ now_ns() ^ 0x9e3779b97f4a7c15ull;
	/* xorshift64* */
	state ^= state >> 12;
	state ^= state << 25;
	state ^= state >> 27;
	uint64_t r = state * 2685821657736338717ull;
	int h = 1;
	while (h < MAX_HEIGHT && (r & (BRANCHING - 1)) == 0) {
		h++;
		r >>= 2;
	}
	return h;
}

static struct lf_node *node_new(struct lf_memtable *m, const void *key, size_t klen, int height,
				struct mt_version *first)
{
	size_t size = sizeof(struct lf_node) + (size_t)height * sizeof(void *) + klen;
	struct lf_node *n = arena_alloc(&m->arena, size);
	atomic_init(&n->versions, first);
	n->klen = (uint32_t)klen;
	n->height = (uint8_t)height;
	n->pending = NULL;
	for (int i = 0; i < height; i++)
		atomic_init(&n->next[i], NULL);
	memcpy((uint8_t *)node_key(n), key, klen);
	return n;
}

static struct mt_version *version_new(struct lf_memtable *m, uint64_t seq, unsigned kind,
				      const void *value, size_t vlen)
{
	struct mt_version *v = arena_alloc(&m->arena, sizeof(*v) + vlen);
	atomic_init(&v->next, NULL);
	v->seq_kind = trailer_pack(seq, kind);
	v->vlen = (uint32_t)vlen;
	if (vlen)
		memcpy(v->value, value, vlen);
	return v;
}

static inline int node_cmp(const struct lf_node *n, const void *key, size_t klen)
{
	return ikey_cmp(node_key(n), n->klen, key, klen);
}

/* Advances from x along level until the next node's key is > key; returns
 * the predecessor and its successor there. */
static void find_splice(const void *key, size_t klen, struct lf_node *x, int level,
			struct lf_node **prev, struct lf_node **succ)
{
	for (;;) {
		struct lf_node *next = load_next(x, level);
		if (next)
			__builtin_prefetch(&next->next[level]);
		if (!next || node_cmp(next, key, klen) > 0) {
			*prev = x;
			*succ = next;
			return;
		}
		x = next;
	}
}

static int raise_height(struct lf_memtable *m, int h)
{
	int top = atomic_load_explicit(&m->max_height, memory_order_relaxed);
	while (h > top && !atomic_compare_exchange_weak_explicit(&m->max_height, &top, h,
								 memory_order_relaxed,
								 memory_order_relaxed))
		;
	return h > top ? h : top;
}

/*
 * Links n into every level of its tower. n's key is not in the list
 * (invariant 1). prev[level] holds, for the levels below top, a node known
 * to precede n's key (the head, or the previous node's predecessors when
 * linking in key order); on return it holds n's predecessors.
 */
static void skiplist_link(struct lf_memtable *m, struct lf_node *n, struct lf_node **prev)
{
	const uint8_t *key = node_key(n);
	size_t klen = n->klen;
	int h = n->height;
	int top = raise_height(m, h);
	struct lf_node *succ[MAX_HEIGHT];
	struct lf_node *x = m->head;   /* n's predecessor one level up */
	for (int level = top - 1; level >= 0; level--) {
		/* Start from whichever known predecessor is further along. */
		struct lf_node *start = prev[level];
		if (x != m->head &&
		    (start == m->head || ikey_cmp(node_key(start), start->klen, node_key(x), x->klen) < 0))
			start = x;
		find_splice(key, klen, start, level, &prev[level], &succ[level]);
		x = prev[level];
	}
	for (int level = 0; level < h; level++) {
		for (;;) {
			atomic_store_explicit(&n->next[level], succ[level], memory_order_relaxed);
			struct lf_node *expected = succ[level];
			if (atomic_compare_exchange_strong_explicit(&prev[level]->next[level],
								    &expected, n,
								    memory_order_release,
								    memory_order_relaxed))
				break;
			/* Someone linked a node between prev and succ: search again
			 * from prev, which still precedes key. */
			find_splice(key, klen, prev[level], level, &prev[level], &succ[level]);
		}
	}
}

static int cmp_node_ptrs(const void *a, const void *b)
{
	const struct lf_node *x = *(struct lf_node *const *)a, *y = *(struct lf_node *const *)b;
	return ikey_cmp(node_key(x), x->klen, node_key(y), y->klen);
}

/* Links one batch taken off the pending stack, in key order. */
static void link_batch(struct lf_memtable *m, struct lf_node *list, struct lf_node ***buf,
		       size_t *cap)
{
	size_t n = 0;
	for (struct lf_node *p = list; p; p = p->pending) {
		if (n == *cap) {
			*cap = *cap ? *cap * 2 : 1024;
			*buf = xrealloc(*buf, *cap * sizeof(**buf));
		}
		(*buf)[n++] = p;
	}
	qsort(*buf, n, sizeof(**buf), cmp_node_ptrs);
	struct lf_node *prev[MAX_HEIGHT];
	for (int i = 0; i < MAX_HEIGHT; i++)
		prev[i] = m->head;
	for (size_t i = 0; i < n; i++)
		skiplist_link(m, (*buf)[i], prev);
	atomic_fetch_add_explicit(&m->linked, n, memory_order_release);
	mutex_lock(&m->link_mu);
	cond_broadcast(&m->linked_cv);
	mutex_unlock(&m->link_mu);
}

/*
 * Nodes are left to gather into batches of up to LINK_BATCH (or for up to
 * LINK_WAIT_NS): the larger the sorted batch, the shorter each finger
 * search. An ordered reader waiting, or a full batch, cuts the wait short.
 *
 * The linker calls itself idle (and the next writer wakes it) only after
 * a whole wait brought it nothing to link. Were it idle whenever it had
 * caught up, a steady writer slower than the linker would wake it for
 * every put: with 4 KiB values that was a third of the writer's context
 * switches, each a futex call and often a preemption.
 */
#define LINK_BATCH 4096
#define LINK_WAIT_NS 2000000ull
#define LINK_IDLE_WAIT_NS 100000000ull

static void *linker_thread(void *arg)
{
	struct lf_memtable *m = arg;
	rcu_thread_ensure();
	pthread_setname_np(pthread_self(), "golite-linker");
	struct lf_node **buf = NULL;
	size_t cap = 0;
	bool quiet = false;   /* the last wait brought nothing to link */
	for (;;) {
		mutex_lock(&m->link_mu);
		bool stop = m->linker_stop;
		if (!stop && !atomic_load(&m->readers_waiting)) {
			uint64_t backlog = atomic_load(&m->pushed) - atomic_load(&m->linked);
			bool idle = backlog == 0 && quiet;
			atomic_store(&m->linker_idle, idle);
			if (backlog < LINK_BATCH)
				cond_wait_until(&m->link_cv, &m->link_mu,
						now_ns() + (idle ? LINK_IDLE_WAIT_NS : LINK_WAIT_NS));
			atomic_store(&m->linker_idle, false);
			stop = m->linker_stop;
		}
		mutex_unlock(&m->link_mu);
		struct lf_node *list = atomic_exchange_explicit(&m->pending, NULL, memory_order_acquire);
		quiet = !list;
		if (list)
			link_batch(m, list, &buf, &cap);
		else if (stop)
			break;
	}
	free(buf);
	return NULL;
}

static void push_pending(struct lf_memtable *m, struct lf_node *n)
{
	uint64_t k = atomic_fetch_add_explicit(&m->pushed, 1, memory_order_relaxed) + 1;
	struct lf_node *head = atomic_load_explicit(&m->pending, memory_order_relaxed);
	do
		n->pending = head;
	while (!atomic_compare_exchange_weak_explicit(&m->pending, &head, n, memory_order_release,
						      memory_order_relaxed));
	if (unlikely(k % LINK_BATCH == 0 ||
		     atomic_load_explicit(&m->linker_idle, memory_order_relaxed))) {
		mutex_lock(&m->link_mu);
		cond_signal(&m->link_cv);
		mutex_unlock(&m->link_mu);
	}
}

/* Waits until every node pushed before the call is linked (invariant 3). */
static void wait_linked(struct lf_memtable *m)
{
	uint64_t want = atomic_load_explicit(&m->pushed, memory_order_acquire);
	if (likely(atomic_load_explicit(&m->linked, memory_order_acquire) >= want))
		return;
	mutex_lock(&m->link_mu);
	atomic_fetch_add(&m->readers_waiting, 1);
	while (atomic_load_explicit(&m->linked, memory_order_acquire) < want) {
		cond_signal(&m->link_cv);
		cond_wait_until(&m->linked_cv, &m->link_mu, now_ns() + 1000000ull);
	}
	atomic_fetch_sub(&m->readers_waiting, 1);
	mutex_unlock(&m->link_mu);
}

/* Inserts v into n's chain keeping sequences in decreasing order. */
static void version_push(struct lf_node *n, struct mt_version *v)
{
	uint64_t seq = trailer_seq(v->seq_kind);
	struct mt_version *_Atomic *slot = &n->versions;
	for (;;) {
		struct mt_version *cur = atomic_load_explicit(slot, memory_order_acquire);
		if (cur && trailer_seq(cur->seq_kind) > seq) {
			/* A newer version is already there (a concurrent writer with
			 * a later sequence won the race): insert behind it. */
			slot = &cur->next;
			continue;
		}
		atomic_store_explicit(&v->next, cur, memory_order_relaxed);
		if (atomic_compare_exchange_weak_explicit(slot, &cur, v, memory_order_release,
							  memory_order_relaxed))
			return;
	}
}

/* The group of gid, or NULL. Inside an RCU read-side section. */
static struct group *group_find(struct lf_memtable *m, uint64_t gid)
{
	struct cds_lfht_iter iter;
	cds_lfht_lookup(m->index, group_hash(gid), match_group, &gid, &iter);
	struct cds_lfht_node *hn = cds_lfht_iter_get_node(&iter);
	return hn ? caa_container_of(hn, struct group, h) : NULL;
}

static struct group *group_new(struct lf_memtable *m, uint64_t gid)
{
	struct group *g = arena_alloc(&m->arena, sizeof(*g));
	cds_lfht_node_init(&g->h);
	g->gid = gid;
	atomic_init(&g->next, NULL);
	for (int i = 0; i < GROUP_SLOTS; i++)
		atomic_init(&g->slots[i], 0);
	return g;
}

/* The group of gid, created if missing. Inside an RCU read-side section. */
static struct group *group_get(struct lf_memtable *m, uint64_t gid)
{
	struct group *g = group_find(m, gid);
	if (g)
		return g;
	struct group *fresh = group_new(m, gid);
	struct cds_lfht_node *hn =
		cds_lfht_add_unique(m->index, group_hash(gid), match_group, &gid, &fresh->h);
	/* A loser's fresh group stays unused in the arena. */
	return caa_container_of(hn, struct group, h);
}

static inline bool node_is(const struct lf_node *n, const void *ikey, size_t iklen)
{
	return n->klen == iklen && memcmp(node_key(n), ikey, iklen) == 0;
}

/* Finds the node of ikey. Inside an RCU read-side section. */
static struct lf_node *index_lookup(struct lf_memtable *m, const void *ikey, size_t iklen,
				    uint64_t hash)
{
	struct group *g = group_find(m, hash & m->group_mask);
	uint16_t tag = slot_tag(hash);
	for (; g; g = atomic_load_explicit(&g->next, memory_order_acquire)) {
		for (int i = 0; i < GROUP_SLOTS; i++) {
			uint64_t w = atomic_load_explicit(&g->slots[i], memory_order_acquire);
			if (!w)
				return NULL;   /* slots fill in order: the rest are empty */
			if ((uint16_t)(w >> 48) == tag && node_is(slot_node(w), ikey, iklen))
				return slot_node(w);
		}
	}
	return NULL;
}

/*
 * Enters fresh (whose key is ikey) into the index unless a node of ikey is
 * there already. Returns the node now in the index for ikey: fresh, or the
 * one found (invariant 1). Inside an RCU read-side section.
 */
static struct lf_node *index_insert(struct lf_memtable *m, struct lf_node *fresh,
				    const void *ikey, size_t iklen, uint64_t hash)
{
	struct group *g = group_get(m, hash & m->group_mask);
	uint16_t tag = slot_tag(hash);
	uint64_t word = slot_word(fresh, hash);
	for (;;) {
		for (int i = 0; i < GROUP_SLOTS;) {
			uint64_t w = atomic_load_explicit(&g->slots[i], memory_order_acquire);
			if (!w) {
				if (atomic_compare_exchange_strong_explicit(
					    &g->slots[i], &w, word, memory_order_release,
					    memory_order_acquire))
					return fresh;
				/* Someone filled slot i first: look at what they put. */
			}
			if ((uint16_t)(w >> 48) == tag && node_is(slot_node(w), ikey, iklen))
				return slot_node(w);
			i++;
		}
		struct group *next = atomic_load_explicit(&g->next, memory_order_acquire);
		if (!next) {
			struct group *o = group_new(m, g->gid);
			if (atomic_compare_exchange_strong_explicit(&g->next, &next, o,
								    memory_order_release,
								    memory_order_acquire))
				next = o;
		}
		g = next;
	}
}

static void lf_add(struct memtable *base, const void *ikey, size_t iklen, uint64_t hash,
		   uint64_t seq, unsigned kind, const void *value, size_t vlen)
{
	struct lf_memtable *m = (struct lf_memtable *)base;
	struct mt_version *v = version_new(m, seq, kind, value, vlen);

	rcu_read_lock();
	struct lf_node *n = index_lookup(m, ikey, iklen, hash);
	if (!n) {
		struct lf_node *fresh = node_new(m, ikey, iklen, random_height(), v);
		n = index_insert(m, fresh, ikey, iklen, hash);
		if (n == fresh) {
			rcu_read_unlock();
			push_pending(m, fresh);
			memtable_note_add(base, hash);
			return;
		}
		/* Another writer indexed this key first; fresh is abandoned in the
		 * arena and v goes on the winner's chain. */
	}
	version_push(n, v);
	rcu_read_unlock();
	memtable_note_add(base, hash);
}

static inline bool pick_version(struct mt_version *v, uint64_t snap, struct mt_entry *out)
{
	while (v && trailer_seq(v->seq_kind) > snap)
		v = atomic_load_explicit(&v->next, memory_order_acquire);
	if (!v)
		return false;
	out->seq = trailer_seq(v->seq_kind);
	out->kind = trailer_kind(v->seq_kind);
	out->value = v->value;
	out->vlen = v->vlen;
	return true;
}

static bool lf_get(struct memtable *base, const void *ikey, size_t iklen, uint64_t hash,
		   uint64_t snap, struct mt_entry *out)
{
	struct lf_memtable *m = (struct lf_memtable *)base;
	struct lf_node *n = index_lookup(m, ikey, iklen, hash);
	if (!n)
		return false;
	return pick_version(atomic_load_explicit(&n->versions, memory_order_acquire), snap, out);
}

static size_t lf_memory(struct memtable *base)
{
	struct lf_memtable *m = (struct lf_memtable *)base;
	return arena_memory(&m->arena);
}

static unsigned long pow2_at_least(unsigned long v)
{
	unsigned long p = 1;
	while (p < v)
		p <<= 1;
	return p;
}

static struct memtable *lf_create(size_t size_hint)
{
	struct lf_memtable *m = xcalloc(1, sizeof(*m));
	memtable_init_common(&m->base, &memtable_lockfree_ops, size_hint);
	arena_init(&m->arena, memtable_block_size(size_hint));
	/* Groups for about KEYS_PER_GROUP keys each, counting 128 bytes of
	 * arena per key; the cds_lfht gets a bucket per group (a recycled
	 * table of at least that size if one is free). */
	unsigned long groups = pow2_at_least(MAX(size_hint / 128 / KEYS_PER_GROUP, 64));
	if (groups > (1ul << 20))
		groups = 1ul << 20;
	m->group_mask = groups - 1;
	m->index = pool_take(groups, &m->buckets);
	if (!m->index) {
		m->buckets = groups;
		m->index = cds_lfht_new(groups, MIN(groups, 1024ul), groups, 0, NULL);
		if (!m->index)
			FATAL("cds_lfht_new failed");
	}
	m->head = node_new(m, "", 0, MAX_HEIGHT, NULL);
	atomic_init(&m->max_height, 1);
	atomic_init(&m->pending, NULL);
	atomic_init(&m->pushed, 0);
	atomic_init(&m->linked, 0);
	atomic_init(&m->linker_idle, false);
	atomic_init(&m->readers_waiting, 0);
	mutex_init(&m->link_mu);
	cond_init(&m->link_cv);
	cond_init(&m->linked_cv);
	if (pthread_create(&m->linker, NULL, linker_thread, m))
		FATAL("pthread_create");
	return &m->base;
}

static void lf_destroy(struct memtable *base)
{
	struct lf_memtable *m = (struct lf_memtable *)base;
	/* cds_lfht_destroy() wants an empty table. Nobody else can reach this
	 * memtable any more (memtable.h invariant 3). */
	struct cds_lfht_iter iter;
	struct cds_lfht_node *hn;
	rcu_thread_ensure();
	mutex_lock(&m->link_mu);
	m->linker_stop = true;
	cond_signal(&m->link_cv);
	mutex_unlock(&m->link_mu);
	pthread_join(m->linker, NULL);
	pthread_cond_destroy(&m->linked_cv);
	pthread_cond_destroy(&m->link_cv);
	pthread_mutex_destroy(&m->link_mu);
	rcu_read_lock();
	cds_lfht_for_each(m->index, &iter, hn)
		cds_lfht_del(m->index, hn);
	rcu_read_unlock();
	if (!pool_give(m->index, m->buckets) && cds_lfht_destroy(m->index, NULL))
		FATAL("cds_lfht_destroy failed");
	arena_destroy(&m->arena);
	memtable_fini_common(&m->base);
	free(m);
}

/* ---- iterators ---- */

static struct mt_iter *lf_iter_new(struct memtable *base)
{
	struct mt_iter *it = xmalloc(sizeof(*it));
	it->m = (struct lf_memtable *)base;
	it->node = NULL;
	return it;
}

static void lf_iter_free(struct mt_iter *it)
{
	free(it);
}

static void lf_iter_seek_first(struct mt_iter *it)
{
	wait_linked(it->m);
	it->node = load_next(it->m->head, 0);
}

static void lf_iter_seek(struct mt_iter *it, const void *ikey, size_t iklen)
{
	wait_linked(it->m);
	struct lf_node *x = it->m->head;
	int top = atomic_load_explicit(&it->m->max_height, memory_order_relaxed);
	struct lf_node *next = NULL;
	for (int level = top - 1; level >= 0; level--) {
		for (;;) {
			next = load_next(x, level);
			if (!next || node_cmp(next, ikey, iklen) >= 0)
				break;
			x = next;
		}
	}
	it->node = next;
}

static bool lf_iter_valid(const struct mt_iter *it)
{
	return it->node != NULL;
}

static void lf_iter_next(struct mt_iter *it)
{
	struct lf_node *n = load_next(it->node, 0);
	it->node = n;
	/* Nodes of a memtable filled in random order lie anywhere in its
	 * arena: start fetching the next node and this one's versions while
	 * the caller works on this one (a scan costs a cache miss a node
	 * otherwise). */
	if (n) {
		__builtin_prefetch(atomic_load_explicit(&n->versions, memory_order_relaxed));
		struct lf_node *after = load_next(n, 0);
		if (after)
			__builtin_prefetch(after);
	}
}

static const void *lf_iter_key(const struct mt_iter *it, size_t *iklen)
{
	*iklen = it->node->klen;
	return node_key(it->node);
}

static bool lf_iter_version(const struct mt_iter *it, uint64_t snap, struct mt_entry *out)
{
	return pick_version(atomic_load_explicit(&it->node->versions, memory_order_acquire), snap,
			    out);
}

static void lf_iter_versions(const struct mt_iter *it,
			     bool (*fn)(void *ctx, const struct mt_entry *e), void *ctx)
{
	struct mt_version *v = atomic_load_explicit(&it->node->versions, memory_order_acquire);
	for (; v; v = atomic_load_explicit(&v->next, memory_order_acquire)) {
		struct mt_entry e = {
			.seq = trailer_seq(v->seq_kind),
			.kind = trailer_kind(v->seq_kind),
			.value = v->value,
			.vlen = v->vlen,
		};
		if (!fn(ctx, &e))
			return;
	}
}

const struct memtable_ops memtable_lockfree_ops = {
	.name = "lockfree",
	.create = lf_create,
	.destroy = lf_destroy,
	.add = lf_add,
	.get = lf_get,
	.memory = lf_memory,
	.iter_new = lf_iter_new,
	.iter_free = lf_iter_free,
	.iter_seek_first = lf_iter_seek_first,
	.iter_seek = lf_iter_seek,
	.iter_valid = lf_iter_valid,
	.iter_next = lf_iter_next,
	.iter_key = lf_iter_key,
	.iter_version = lf_iter_version,
	.iter_versions = lf_iter_versions,
};
