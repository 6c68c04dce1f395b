/*
 * cache.c — the block cache: a lock-free hash table (liburcu cds_lfht) for
 * lookups, a CLOCK ring under a mutex for eviction. See cache.h for the
 * contract and the invariants (cited below as "invariant N").
 *
 * A hit costs one hash-table lookup and, the first time a block is hit
 * after the clock hand cleared it, one store of its "referenced" flag.
 * Hit and miss counts are kept in per-thread stripes so that readers on
 * different cores do not share a counter's cache line.
 */
#include "cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#include <urcu.h>
#include <urcu/rculfhash.h>

#include "util.h"

#define STRIPES 16

struct cache_entry {
	struct cds_lfht_node node;         /* in c->ht while cached */
	struct cache_entry *prev, *next;   /* CLOCK ring, protected by c->mu */
	struct rcu_head rcu;
	block_cache_slot *slot;            /* the slot pointing here, or NULL. mu */
	uint64_t id, off;                  /* the hash key, if not slot */
	size_t charge;                     /* what this entry counts in c->used */
	size_t len;                        /* bytes of data */
	_Atomic uint8_t referenced;        /* CLOCK's second-chance bit */
	uint8_t data[] __attribute__((aligned(16)));
};

struct counter_stripe {
	_Atomic uint64_t hits;
	_Atomic uint64_t misses;
} __attribute__((aligned(CACHELINE)));

struct block_cache {
	struct cds_lfht *ht;
	size_t capacity;
	_Atomic size_t used;               /* written under mu, read anywhere */
	_Atomic size_t count;
	pthread_mutex_t mu;
	struct cache_entry *hand;          /* CLOCK hand; NULL if empty. mu */
	struct counter_stripe stripes[STRIPES];
};

static _Atomic uint64_t next_id = 1;
static _Atomic unsigned next_stripe;
static __thread int my_stripe = -1;

uint64_t block_cache_new_id(void)
{
	return atomic_fetch_add(&next_id, 1);
}

static inline struct counter_stripe *stripe(struct block_cache *c)
{
	if (unlikely(my_stripe < 0))
		my_stripe = (int)(atomic_fetch_add(&next_stripe, 1) % STRIPES);
	return &c->stripes[my_stripe];
}

static inline unsigned long key_hash(uint64_t id, uint64_t off)
{
	/* A 128-to-64-bit mix (the murmur3 finalizer over a combined word). */
	uint64_t h = id * 0x9e3779b97f4a7c15ull ^ (off + 0x632be59bd9b4e019ull);
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (unsigned long)h;
}

struct key {
	uint64_t id, off;
};

static int key_match(struct cds_lfht_node *node, const void *key)
{
	const struct cache_entry *e = caa_container_of(node, struct cache_entry, node);
	const struct key *k = key;
	return e->id == k->id && e->off == k->off;
}

static void entry_free_rcu(struct rcu_head *head)
{
	free(caa_container_of(head, struct cache_entry, rcu));
}

struct block_cache *block_cache_new(size_t capacity_bytes)
{
	struct block_cache *c = xcalloc(1, sizeof(*c));
	c->capacity = capacity_bytes;
	c->ht = cds_lfht_new(1024, 1024, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING, NULL);
	if (!c->ht)
		FATAL("cds_lfht_new failed");
	mutex_init(&c->mu);
	return c;
}

void block_cache_free(struct block_cache *c)
{
	if (!c)
		return;
	/* No other user (contract), so the ring can be walked without mu. */
	struct cache_entry *first = c->hand, *e = first;
	rcu_read_lock();
	if (e) {
		do {
			if (!e->slot)
				cds_lfht_del(c->ht, &e->node);
			e = e->next;
		} while (e != first);
	}
	rcu_read_unlock();
	/* Lookups that began before the deletions may still read the nodes. */
	synchronize_rcu();
	if (first) {
		e = first;
		do {
			struct cache_entry *next = e->next;
			free(e);
			e = next;
		} while (e != first);
	}
	if (cds_lfht_destroy(c->ht, NULL))
		FATAL("cds_lfht_destroy failed");
	pthread_mutex_destroy(&c->mu);
	free(c);
}

size_t block_cache_used(const struct block_cache *c)
{
	return c ? atomic_load_explicit(&c->used, memory_order_relaxed) : 0;
}

size_t block_cache_capacity(const struct block_cache *c)
{
	return c ? c->capacity : 0;
}

size_t block_cache_count(const struct block_cache *c)
{
	return c ? atomic_load_explicit(&c->count, memory_order_relaxed) : 0;
}

uint64_t block_cache_hits(const struct block_cache *c)
{
	uint64_t n = 0;
	for (int i = 0; c && i < STRIPES; i++)
		n += atomic_load_explicit(&c->stripes[i].hits, memory_order_relaxed);
	return n;
}

uint64_t block_cache_misses(const struct block_cache *c)
{
	uint64_t n = 0;
	for (int i = 0; c && i < STRIPES; i++)
		n += atomic_load_explicit(&c->stripes[i].misses, memory_order_relaxed);
	return n;
}

/* Counts a hit on e and returns its bytes. */
static inline const void *hit(struct block_cache *c, struct cache_entry *e, size_t *len)
{
	/* Read before write: a block hit again and again stays clean in the
	 * other cores' caches. */
	if (!atomic_load_explicit(&e->referenced, memory_order_relaxed))
		atomic_store_explicit(&e->referenced, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&stripe(c)->hits, 1, memory_order_relaxed);
	*len = e->len;
	return e->data;
}

const void *block_cache_lookup(struct block_cache *c, uint64_t id, uint64_t off, size_t *len)
{
	if (!c)
		return NULL;
	struct key k = { id, off };
	struct cds_lfht_iter iter;
	cds_lfht_lookup(c->ht, key_hash(id, off), key_match, &k, &iter);
	struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter);
	if (!node) {
		atomic_fetch_add_explicit(&stripe(c)->misses, 1, memory_order_relaxed);
		return NULL;
	}
	return hit(c, caa_container_of(node, struct cache_entry, node), len);
}

struct cache_entry *block_cache_entry_new(size_t len)
{
	struct cache_entry *e = xmalloc(sizeof(*e) + len);
	cds_lfht_node_init(&e->node);
	e->prev = e->next = NULL;
	e->slot = NULL;
	e->id = e->off = 0;
	e->len = len;
	e->charge = sizeof(*e) + len;
	atomic_init(&e->referenced, 0);
	return e;
}

void *block_cache_entry_data(struct cache_entry *e)
{
	return e->data;
}

size_t block_cache_entry_len(const struct cache_entry *e)
{
	return e->len;
}

void block_cache_entry_set_len(struct cache_entry *e, size_t len)
{
	if (len < e->len)
		e->len = len;
}

void block_cache_entry_discard(struct cache_entry *e)
{
	free(e);
}

/* Unlinks e from the ring and the table and frees it after a grace period.
 * Called with c->mu held, inside an RCU read-side section. */
static void evict_locked(struct block_cache *c, struct cache_entry *e)
{
	if (e->next == e) {
		c->hand = NULL;
	} else {
		if (c->hand == e)
			c->hand = e->next;
		e->prev->next = e->next;
		e->next->prev = e->prev;
	}
	if (e->slot)
		atomic_store_explicit(e->slot, NULL, memory_order_relaxed);
	else if (cds_lfht_del(c->ht, &e->node))
		FATAL("cache entry missing from its hash table");  /* invariant 2 */
	atomic_store_explicit(&c->used, atomic_load_explicit(&c->used, memory_order_relaxed) - e->charge,
			      memory_order_relaxed);
	atomic_store_explicit(&c->count, atomic_load_explicit(&c->count, memory_order_relaxed) - 1,
			      memory_order_relaxed);
	call_rcu(&e->rcu, entry_free_rcu);  /* invariant 3 */
}

/* Runs the clock until need more bytes fit. mu held, RCU read-side. */
static void make_room_locked(struct block_cache *c, size_t need)
{
	/* Each entry gets one second chance, so two sweeps always suffice; the
	 * bound guards against readers re-setting bits as fast as we clear. */
	size_t budget = 2 * atomic_load_explicit(&c->count, memory_order_relaxed) + 2;
	while (c->hand && atomic_load_explicit(&c->used, memory_order_relaxed) + need > c->capacity) {
		struct cache_entry *e = c->hand;
		if (budget > 0 && atomic_load_explicit(&e->referenced, memory_order_relaxed)) {
			budget--;
			atomic_store_explicit(&e->referenced, 0, memory_order_relaxed);
			c->hand = e->next;
			continue;
		}
		evict_locked(c, e);
	}
}

/* Puts e on the ring and counts it. mu held. */
static void ring_add_locked(struct block_cache *c, struct cache_entry *e)
{
	/* New entries go just behind the hand: the last the clock reaches. */
	if (!c->hand) {
		e->prev = e->next = e;
		c->hand = e;
	} else {
		struct cache_entry *h = c->hand;
		e->next = h;
		e->prev = h->prev;
		h->prev->next = e;
		h->prev = e;
	}
	atomic_store_explicit(&c->used, atomic_load_explicit(&c->used, memory_order_relaxed) + e->charge,
			      memory_order_relaxed);
	atomic_store_explicit(&c->count, atomic_load_explicit(&c->count, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

const void *block_cache_insert(struct block_cache *c, uint64_t id, uint64_t off,
			       struct cache_entry *e, size_t *len)
{
	e->id = id;
	e->off = off;
	e->charge = sizeof(*e) + e->len;
	*len = e->len;
	if (!c || e->charge > c->capacity) {
		call_rcu(&e->rcu, entry_free_rcu);
		return e->data;
	}

	mutex_lock(&c->mu);
	struct key k = { id, off };
	struct cds_lfht_node *node =
		cds_lfht_add_unique(c->ht, key_hash(id, off), key_match, &k, &e->node);
	if (node != &e->node) {
		/* Another thread cached it first; e was never visible. */
		mutex_unlock(&c->mu);
		struct cache_entry *old = caa_container_of(node, struct cache_entry, node);
		free(e);
		*len = old->len;
		return old->data;
	}
	make_room_locked(c, e->charge);
	ring_add_locked(c, e);
	mutex_unlock(&c->mu);
	return e->data;
}

bool block_cache_check(struct block_cache *c)
{
	if (!c)
		return true;
	mutex_lock(&c->mu);
	rcu_read_lock();
	size_t n = 0, used = 0;
	bool ok = true;
	struct cache_entry *e = c->hand;
	if (e) {
		do {
			n++;
			used += e->charge;
			ok &= e->next->prev == e && e->prev->next == e;
			if (e->slot) {
				ok &= atomic_load_explicit(e->slot, memory_order_relaxed) == e;
			} else {
				struct key k = { e->id, e->off };
				struct cds_lfht_iter it;
				cds_lfht_lookup(c->ht, key_hash(e->id, e->off), key_match, &k, &it);
				ok &= cds_lfht_iter_get_node(&it) == &e->node;
			}
			e = e->next;
		} while (ok && e != c->hand && n <= atomic_load(&c->count));
	}
	ok &= n == atomic_load(&c->count) && used == atomic_load(&c->used) && used <= c->capacity;
	rcu_read_unlock();
	mutex_unlock(&c->mu);
	return ok;
}

void block_cache_erase_id(struct block_cache *c, uint64_t id)
{
	if (!c)
		return;
	mutex_lock(&c->mu);
	rcu_read_lock();
	size_t n = atomic_load_explicit(&c->count, memory_order_relaxed);
	struct cache_entry *e = c->hand;
	for (size_t i = 0; i < n && e; i++) {
		struct cache_entry *next = e->next;
		if (e->id == id)
			evict_locked(c, e);
		e = c->hand ? next : NULL;
	}
	rcu_read_unlock();
	mutex_unlock(&c->mu);
}

/* ---- direct slots ---- */

const void *block_cache_slot_lookup(struct block_cache *c, block_cache_slot *slot, size_t *len)
{
	if (!c)
		return NULL;
	struct cache_entry *e = atomic_load_explicit(slot, memory_order_acquire);
	if (!e) {
		atomic_fetch_add_explicit(&stripe(c)->misses, 1, memory_order_relaxed);
		return NULL;
	}
	return hit(c, e, len);
}

const void *block_cache_slot_insert(struct block_cache *c, block_cache_slot *slot,
				    struct cache_entry *e, size_t *len)
{
	e->charge = sizeof(*e) + e->len;
	*len = e->len;
	if (!c || e->charge > c->capacity) {
		call_rcu(&e->rcu, entry_free_rcu);
		return e->data;
	}
	mutex_lock(&c->mu);
	struct cache_entry *old = atomic_load_explicit(slot, memory_order_relaxed);
	if (old) {
		mutex_unlock(&c->mu);
		free(e);  /* never visible */
		*len = old->len;
		return old->data;
	}
	make_room_locked(c, e->charge);
	ring_add_locked(c, e);
	e->slot = slot;
	atomic_store_explicit(slot, e, memory_order_release);  /* publishes e's bytes */
	mutex_unlock(&c->mu);
	return e->data;
}

void block_cache_detach(struct block_cache *c, block_cache_slot *first, size_t n, size_t stride)
{
	size_t i = 0;
	/* Slots are filled only under mu, and the owner is closing: a slot
	 * seen empty here stays empty. Skip the lock if all are. */
	while (c && i < n &&
	       !atomic_load_explicit((block_cache_slot *)((char *)first + i * stride),
				     memory_order_relaxed))
		i++;
	if (!c || i == n)
		return;
	mutex_lock(&c->mu);
	rcu_read_lock();
	for (; i < n; i++) {
		block_cache_slot *slot = (block_cache_slot *)((char *)first + i * stride);
		struct cache_entry *e = atomic_load_explicit(slot, memory_order_relaxed);
		if (e)
			evict_locked(c, e);  /* clears the slot */
	}
	rcu_read_unlock();
	mutex_unlock(&c->mu);
}
