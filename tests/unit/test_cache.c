/*
 * test_cache.c — the block cache: hits and misses, CLOCK eviction within
 * the capacity, blocks too large to cache, and readers racing with
 * inserters and evictions.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu.h>

#include "cache.h"
#include "util.h"

static void setup(void)
{
	rcu_register_thread();
}

static void teardown(void)
{
	rcu_barrier();  /* let evicted blocks be freed before the leak check */
	rcu_unregister_thread();
}

TestSuite(cache, .init = setup, .fini = teardown);

/* Fills a block with bytes derived from its key, so readers can check it. */
static void fill(uint8_t *p, size_t len, uint64_t id, uint64_t off)
{
	uint64_t x = id * 0x9e3779b97f4a7c15ull ^ off;
	for (size_t i = 0; i < len; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(x >> 56);
	}
}

static bool check(const uint8_t *p, size_t len, uint64_t id, uint64_t off)
{
	uint8_t *want = malloc(len ? len : 1);
	fill(want, len, id, off);
	bool ok = memcmp(p, want, len) == 0;
	free(want);
	return ok;
}

/* Inserts block (id, off) of len bytes; returns whether it is now cached. */
static void insert(struct block_cache *c, uint64_t id, uint64_t off, size_t len)
{
	struct cache_entry *e = block_cache_entry_new(len);
	fill(block_cache_entry_data(e), len, id, off);
	size_t got;
	rcu_read_lock();
	const uint8_t *d = block_cache_insert(c, id, off, e, &got);
	cr_assert_eq(got, len);
	cr_assert(check(d, got, id, off));
	rcu_read_unlock();
}

static bool present(struct block_cache *c, uint64_t id, uint64_t off)
{
	size_t len;
	rcu_read_lock();
	const uint8_t *d = block_cache_lookup(c, id, off, &len);
	bool ok = d && check(d, len, id, off);
	rcu_read_unlock();
	return ok;
}

/* What one block of len bytes is charged. */
static size_t charge_of(size_t len)
{
	struct block_cache *c = block_cache_new(1 << 20);
	insert(c, 1, 0, len);
	size_t used = block_cache_used(c);
	block_cache_free(c);
	return used;
}

Test(cache, lookup_hits_what_was_inserted_and_counts)
{
	struct block_cache *c = block_cache_new(1 << 20);
	uint64_t id = block_cache_new_id();
	cr_assert(!present(c, id, 0));
	insert(c, id, 0, 4096);
	insert(c, id, 4101, 100);
	cr_assert(present(c, id, 0));
	cr_assert(present(c, id, 4101));
	cr_assert(!present(c, id, 1));
	cr_assert(!present(c, id + 1, 0), "another table's block");
	cr_assert_eq(block_cache_hits(c), 2);
	cr_assert_eq(block_cache_misses(c), 3);
	cr_assert_eq(block_cache_count(c), 2);
	cr_assert_geq(block_cache_used(c), 4196);
	block_cache_free(c);
}

Test(cache, ids_are_unique)
{
	uint64_t a = block_cache_new_id(), b = block_cache_new_id();
	cr_assert_neq(a, b);
}

Test(cache, second_insert_of_a_key_returns_the_first)
{
	struct block_cache *c = block_cache_new(1 << 20);
	insert(c, 7, 0, 64);
	struct cache_entry *e = block_cache_entry_new(64);
	memset(block_cache_entry_data(e), 0xee, 64);
	size_t len;
	rcu_read_lock();
	const uint8_t *d = block_cache_insert(c, 7, 0, e, &len);
	cr_assert(check(d, len, 7, 0), "the first copy stays");
	rcu_read_unlock();
	cr_assert_eq(block_cache_count(c), 1);
	block_cache_free(c);
}

Test(cache, eviction_keeps_memory_within_capacity)
{
	const size_t cap = 256 * 1024;
	struct block_cache *c = block_cache_new(cap);
	unsigned seed = 12345;
	printf("cache eviction: seed %u\n", seed);
	srand(seed);
	for (uint64_t i = 0; i < 2000; i++) {
		size_t len = 1 + (size_t)rand() % 9000;
		insert(c, 1, i * 16384, len);
		cr_assert_leq(block_cache_used(c), cap, "after insert %" PRIu64, i);
		if (i % 100 == 0)
			cr_assert(block_cache_check(c));
	}
	cr_assert_gt(block_cache_count(c), 10);
	cr_assert_gt(block_cache_used(c), cap / 2);
	/* The most recent block is still there. */
	cr_assert(present(c, 1, 1999 * 16384));
	block_cache_free(c);
}

Test(cache, clock_spares_a_referenced_block)
{
	const size_t n = 16, len = 1000;
	size_t charge = charge_of(len);
	struct block_cache *c = block_cache_new(n * charge);
	for (uint64_t i = 0; i < n; i++)
		insert(c, 1, i, len);
	cr_assert_eq(block_cache_count(c), n);
	cr_assert(present(c, 1, 5));  /* sets block 5's referenced bit */
	for (uint64_t i = 0; i < n - 1; i++)
		insert(c, 2, i, len);
	for (uint64_t i = 0; i < n; i++)
		cr_assert_eq(present(c, 1, i), i == 5, "block %" PRIu64, i);
	cr_assert(block_cache_check(c));
	cr_assert_leq(block_cache_used(c), n * charge);
	block_cache_free(c);
}

Test(cache, block_larger_than_capacity_is_used_but_not_kept)
{
	struct block_cache *c = block_cache_new(4096);
	insert(c, 1, 0, 100);
	insert(c, 1, 8192, 10000);  /* checked inside insert() */
	cr_assert(!present(c, 1, 8192));
	cr_assert(present(c, 1, 0), "a block that cannot fit evicts nothing");
	cr_assert_leq(block_cache_used(c), 4096);
	block_cache_free(c);
}

Test(cache, zero_capacity_and_null_cache_cache_nothing)
{
	struct block_cache *c = block_cache_new(0);
	insert(c, 1, 0, 10);
	cr_assert(!present(c, 1, 0));
	cr_assert_eq(block_cache_used(c), 0);
	block_cache_free(c);
	insert(NULL, 1, 0, 10);
	cr_assert(!present(NULL, 1, 0));
}

Test(cache, erase_id_drops_only_that_table)
{
	struct block_cache *c = block_cache_new(1 << 20);
	for (uint64_t i = 0; i < 50; i++) {
		insert(c, 1, i, 100);
		insert(c, 2, i, 100);
	}
	size_t before = block_cache_used(c);
	block_cache_erase_id(c, 1);
	cr_assert(block_cache_check(c));
	cr_assert_eq(block_cache_count(c), 50);
	cr_assert_eq(block_cache_used(c), before / 2);
	for (uint64_t i = 0; i < 50; i++) {
		cr_assert(!present(c, 1, i));
		cr_assert(present(c, 2, i));
	}
	block_cache_free(c);
}

/* ---- direct slots ---- */

static void slot_insert(struct block_cache *c, block_cache_slot *slot, uint64_t key, size_t len)
{
	struct cache_entry *e = block_cache_entry_new(len);
	fill(block_cache_entry_data(e), len, 9, key);
	size_t got;
	rcu_read_lock();
	const uint8_t *d = block_cache_slot_insert(c, slot, e, &got);
	cr_assert_eq(got, len);
	cr_assert(check(d, got, 9, key));
	rcu_read_unlock();
}

static bool slot_present(struct block_cache *c, block_cache_slot *slot, uint64_t key)
{
	size_t len;
	rcu_read_lock();
	const uint8_t *d = block_cache_slot_lookup(c, slot, &len);
	bool ok = d && check(d, len, 9, key);
	rcu_read_unlock();
	return ok;
}

Test(cache, slots_are_set_on_insert_and_cleared_on_eviction)
{
	const size_t n = 8, len = 1000;
	size_t charge = charge_of(len);
	struct block_cache *c = block_cache_new(n * charge);
	block_cache_slot slots[16] = { 0 };
	cr_assert(!slot_present(c, &slots[0], 0));
	for (uint64_t i = 0; i < n; i++)
		slot_insert(c, &slots[i], i, len);
	for (uint64_t i = 0; i < n; i++)
		cr_assert(slot_present(c, &slots[i], i));
	cr_assert_eq(block_cache_hits(c), n);
	cr_assert_eq(block_cache_misses(c), 1);
	/* A second insert through a filled slot keeps the first block. */
	struct cache_entry *e = block_cache_entry_new(len);
	memset(block_cache_entry_data(e), 0, len);
	size_t got;
	rcu_read_lock();
	const uint8_t *d = block_cache_slot_insert(c, &slots[0], e, &got);
	cr_assert(check(d, got, 9, 0));
	rcu_read_unlock();
	/* Eight more evict the first eight, and clear their slots. */
	for (uint64_t i = n; i < 2 * n; i++)
		slot_insert(c, &slots[i], i, len);
	for (uint64_t i = 0; i < n; i++)
		cr_assert_null(atomic_load(&slots[i]), "slot %" PRIu64 " still set", i);
	cr_assert(block_cache_check(c));
	cr_assert_leq(block_cache_used(c), n * charge);
	/* Slots and hashed blocks share the capacity and the clock. */
	insert(c, 1, 0, len);
	cr_assert(present(c, 1, 0));
	cr_assert_leq(block_cache_used(c), n * charge);
	/* Detaching evicts the blocks and clears the slots. */
	block_cache_detach(c, &slots[n], n, sizeof(slots[0]));
	for (uint64_t i = n; i < 2 * n; i++)
		cr_assert_null(atomic_load(&slots[i]));
	cr_assert_eq(block_cache_count(c), 1);
	cr_assert_eq(block_cache_used(c), charge);
	cr_assert(block_cache_check(c));
	block_cache_free(c);
}

/* ---- concurrency ---- */

#define RACE_KEYS 512
#define RACE_OPS 200000

struct race {
	struct block_cache *c;
	block_cache_slot slots[RACE_KEYS];
	size_t cap;
	unsigned seed;
	_Atomic bool bad;
	_Atomic uint64_t found;
};

static size_t race_len(uint64_t off)
{
	return 64 + (size_t)(off * 2654435761u % 4000);
}

static void *race_reader(void *arg)
{
	struct race *r = arg;
	rcu_register_thread();
	unsigned s = r->seed;
	for (int i = 0; i < RACE_OPS; i++) {
		uint64_t off = (uint64_t)rand_r(&s) % RACE_KEYS;
		size_t len;
		rcu_read_lock();
		const uint8_t *d = block_cache_lookup(r->c, 1, off, &len);
		if (d) {
			if (len != race_len(off) || !check(d, len, 1, off))
				r->bad = true;
			atomic_fetch_add(&r->found, 1);
		}
		rcu_read_unlock();
		if (block_cache_used(r->c) > r->cap)
			r->bad = true;
	}
	rcu_unregister_thread();
	return NULL;
}

static void *slot_reader(void *arg)
{
	struct race *r = arg;
	rcu_register_thread();
	unsigned s = r->seed + 1;
	for (int i = 0; i < RACE_OPS; i++) {
		uint64_t k = (uint64_t)rand_r(&s) % RACE_KEYS;
		size_t len;
		rcu_read_lock();
		const uint8_t *d = block_cache_slot_lookup(r->c, &r->slots[k], &len);
		if (d) {
			if (len != race_len(k) || !check(d, len, 2, k))
				r->bad = true;
			atomic_fetch_add(&r->found, 1);
		}
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

static void *slot_writer(void *arg)
{
	struct race *r = arg;
	rcu_register_thread();
	unsigned s = r->seed * 17 + 3;
	for (int i = 0; i < RACE_OPS / 8; i++) {
		uint64_t k = (uint64_t)rand_r(&s) % RACE_KEYS;
		size_t len = race_len(k), got;
		struct cache_entry *e = block_cache_entry_new(len);
		fill(block_cache_entry_data(e), len, 2, k);
		rcu_read_lock();
		const uint8_t *d = block_cache_slot_insert(r->c, &r->slots[k], e, &got);
		if (got != len || !check(d, got, 2, k))
			r->bad = true;
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

static void *race_writer(void *arg)
{
	struct race *r = arg;
	rcu_register_thread();
	unsigned s = r->seed * 31 + 7;
	for (int i = 0; i < RACE_OPS / 8; i++) {
		uint64_t off = (uint64_t)rand_r(&s) % RACE_KEYS;
		size_t len = race_len(off), got;
		struct cache_entry *e = block_cache_entry_new(len);
		fill(block_cache_entry_data(e), len, 1, off);
		rcu_read_lock();
		const uint8_t *d = block_cache_insert(r->c, 1, off, e, &got);
		if (got != len || !check(d, got, 1, off))
			r->bad = true;
		rcu_read_unlock();
	}
	rcu_unregister_thread();
	return NULL;
}

Test(cache, concurrent_readers_and_evicting_writers_stay_correct, .timeout = 60)
{
	struct race r = { .cap = 128 * 1024, .seed = 4242 };
	printf("cache race: seed %u\n", r.seed);
	r.c = block_cache_new(r.cap);
	void *(*fn[6])(void *) = { race_reader, race_writer, slot_reader, slot_writer,
				   race_reader, slot_reader };
	pthread_t t[6];
	for (int i = 0; i < 6; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, fn[i], &r), 0);
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	cr_assert(!r.bad, "a reader saw wrong bytes or the cache over capacity");
	cr_assert_gt(r.found, 0);
	cr_assert_leq(block_cache_used(r.c), r.cap);
	cr_assert(block_cache_check(r.c));
	printf("cache race: %" PRIu64 " hits, %zu blocks cached\n", (uint64_t)r.found,
	       block_cache_count(r.c));
	block_cache_detach(r.c, &r.slots[0], RACE_KEYS, sizeof(r.slots[0]));
	block_cache_free(r.c);
}
