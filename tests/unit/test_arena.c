/* Tests of the lock-free arena. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"

Test(arena, alignment_and_independence)
{
	struct arena a;
	arena_init(&a, 4096);
	uint8_t *prev = NULL;
	for (int i = 1; i < 5000; i++) {
		size_t n = (size_t)(i % 97) + 1;
		uint8_t *p = arena_alloc(&a, n);
		cr_assert_eq((uintptr_t)p % 8, 0, "allocation %d not aligned", i);
		memset(p, i & 0xff, n);
		if (prev)
			cr_assert_eq(prev[0], (uint8_t)((i - 1) & 0xff), "allocation %d overwrote %d", i,
				     i - 1);
		prev = p;
	}
	cr_expect_geq(arena_memory(&a), 5000u);
	arena_destroy(&a);
}

Test(arena, large_allocations_get_their_own_block)
{
	struct arena a;
	arena_init(&a, 4096);
	uint8_t *big = arena_alloc(&a, 100000);
	memset(big, 0xab, 100000);
	uint8_t *small = arena_alloc(&a, 16);
	memset(small, 0xcd, 16);
	for (int i = 0; i < 100000; i++)
		cr_assert_eq(big[i], 0xab);
	cr_expect_geq(arena_memory(&a), 100000u);
	arena_destroy(&a);
}

Test(arena, huge_page_blocks)
{
	struct arena a;
	arena_init(&a, 4u << 20);
	for (int i = 0; i < 100000; i++) {
		uint64_t *p = arena_alloc(&a, 120);
		p[0] = (uint64_t)i;
		p[14] = (uint64_t)i;
	}
	cr_expect_geq(arena_memory(&a), 12000000u);
	arena_destroy(&a);
}

struct worker {
	struct arena *a;
	int id;
	uint32_t **ptrs;
};

#define PER_THREAD 50000

static void *alloc_worker(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < PER_THREAD; i++) {
		uint32_t *p = arena_alloc(w->a, 24 + (size_t)(i % 5) * 8);
		p[0] = (uint32_t)w->id;
		p[1] = (uint32_t)i;
		p[5] = (uint32_t)(w->id ^ i);
		w->ptrs[i] = p;
	}
	return NULL;
}

Test(arena, concurrent_allocations_do_not_overlap)
{
	struct arena a;
	arena_init(&a, 8192);
	enum { THREADS = 4 };
	pthread_t t[THREADS];
	struct worker w[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){ &a, i, malloc(PER_THREAD * sizeof(uint32_t *)) };
		pthread_create(&t[i], NULL, alloc_worker, &w[i]);
	}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < THREADS; i++) {
		for (int j = 0; j < PER_THREAD; j++) {
			uint32_t *p = w[i].ptrs[j];
			cr_assert_eq(p[0], (uint32_t)i);
			cr_assert_eq(p[1], (uint32_t)j);
			cr_assert_eq(p[5], (uint32_t)(i ^ j));
		}
		free(w[i].ptrs);
	}
	arena_destroy(&a);
}
