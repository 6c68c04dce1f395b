/*
 * Tests of both memtables (lock-free and locked) through the ops table:
 * versions, snapshots, ordering, seeks, and concurrent writers and readers.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "memtable.h"
#include "rcu.h"
#include "util.h"

static const struct memtable_ops *const kinds[] = { &memtable_lockfree_ops, &memtable_locked_ops };

static size_t make_key(uint8_t *buf, uint32_t table, uint64_t n)
{
	char k[32];
	int len = snprintf(k, sizeof(k), "key%012llu", (unsigned long long)n);
	return ikey_make(buf, table, k, (size_t)len);
}

static bool get(struct memtable *m, const uint8_t *k, size_t len, uint64_t snap,
		struct mt_entry *e)
{
	rcu_read_lock();
	bool found = m->ops->get(m, k, len, hash64(k, len), snap, e);
	rcu_read_unlock();
	return found;
}

static void add(struct memtable *m, const uint8_t *k, size_t len, uint64_t seq, unsigned kind,
		const char *v)
{
	m->ops->add(m, k, len, hash64(k, len), seq, kind, v, v ? strlen(v) : 0);
}

Test(memtable, versions_and_snapshots)
{
	rcu_thread_ensure();
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct memtable *m = kinds[i]->create(1 << 20);
		uint8_t k[64];
		size_t len = make_key(k, 16, 1);
		struct mt_entry e;
		cr_assert(!get(m, k, len, SEQ_MAX, &e), "%s: empty memtable finds a key", kinds[i]->name);
		add(m, k, len, 10, KIND_VALUE, "ten");
		add(m, k, len, 30, KIND_VALUE, "thirty");
		add(m, k, len, 20, KIND_DELETE, NULL); /* out of order on purpose */
		cr_assert(get(m, k, len, SEQ_MAX, &e));
		cr_expect_eq(e.seq, 30);
		cr_expect(e.vlen == 6 && memcmp(e.value, "thirty", 6) == 0);
		cr_assert(get(m, k, len, 29, &e));
		cr_expect_eq(e.seq, 20);
		cr_expect_eq(e.kind, KIND_DELETE);
		cr_assert(get(m, k, len, 15, &e));
		cr_expect_eq(e.seq, 10);
		cr_expect(!get(m, k, len, 9, &e));
		cr_expect_eq(atomic_load(&m->entries), 3u);
		memtable_unref(m);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

Test(memtable, iteration_is_ordered_and_complete)
{
	rcu_thread_ensure();
	unsigned seed = 42;
	printf("seed %u\n", seed);
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		srand(seed);
		struct memtable *m = kinds[i]->create(1 << 20);
		enum { N = 20000 };
		uint64_t *nums = malloc(N * sizeof(*nums));
		uint8_t k[64];
		for (int j = 0; j < N; j++) {
			nums[j] = ((uint64_t)rand() << 16) ^ (uint64_t)rand();
			size_t len = make_key(k, 16 + (uint32_t)(nums[j] % 3), nums[j]);
			add(m, k, len, (uint64_t)j + 1, KIND_VALUE, "v");
		}
		/* The expected order: by table, then by number (fixed-width). */
		for (int j = 0; j < N; j++)
			nums[j] = ((nums[j] % 3) << 60) | (nums[j] & ((1ull << 48) - 1));
		qsort(nums, N, sizeof(*nums), cmp_u64);
		struct mt_iter *it = m->ops->iter_new(m);
		size_t count = 0, plen = 0;
		uint8_t prev[64];
		for (m->ops->iter_seek_first(it); m->ops->iter_valid(it); m->ops->iter_next(it)) {
			size_t len;
			const uint8_t *key = m->ops->iter_key(it, &len);
			if (count)
				cr_assert_lt(ikey_cmp(prev, plen, key, len), 0, "%s: keys out of order",
					     kinds[i]->name);
			memcpy(prev, key, len);
			plen = len;
			count++;
		}
		/* Duplicate random numbers collapse into one key. */
		size_t distinct = 0;
		for (int j = 0; j < N; j++)
			distinct += j == 0 || nums[j] != nums[j - 1];
		cr_expect_eq(count, distinct, "%s: %zu keys iterated, %zu distinct", kinds[i]->name,
			     count, distinct);
		m->ops->iter_free(it);
		free(nums);
		memtable_unref(m);
	}
}

Test(memtable, seek_lands_on_first_key_not_below)
{
	rcu_thread_ensure();
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct memtable *m = kinds[i]->create(1 << 20);
		uint8_t k[64];
		for (uint64_t n = 0; n < 1000; n += 10) {
			size_t len = make_key(k, 16, n);
			add(m, k, len, n + 1, KIND_VALUE, "x");
		}
		struct mt_iter *it = m->ops->iter_new(m);
		for (uint64_t n = 0; n < 1000; n++) {
			size_t len = make_key(k, 16, n);
			m->ops->iter_seek(it, k, len);
			uint64_t want = (n + 9) / 10 * 10;
			if (want >= 1000) {
				cr_expect(!m->ops->iter_valid(it));
				continue;
			}
			cr_assert(m->ops->iter_valid(it));
			size_t klen;
			const uint8_t *got = m->ops->iter_key(it, &klen);
			uint8_t w[64];
			size_t wlen = make_key(w, 16, want);
			cr_assert_eq(ikey_cmp(got, klen, w, wlen), 0, "%s: seek %llu", kinds[i]->name,
				     (unsigned long long)n);
			struct mt_entry e;
			cr_expect(m->ops->iter_version(it, SEQ_MAX, &e));
			cr_expect(!m->ops->iter_version(it, want, &e), "version newer than snapshot");
		}
		m->ops->iter_free(it);
		memtable_unref(m);
	}
}

/* ---- concurrency ---- */

#define THREADS 4
#define PER_THREAD 20000

struct shared {
	struct memtable *m;
	_Atomic uint64_t next_seq;
	_Atomic uint64_t done[THREADS];   /* keys acknowledged per writer */
	_Atomic int stop;
};

struct arg {
	struct shared *s;
	int id;
};

static void *writer(void *p)
{
	struct arg *a = p;
	struct shared *s = a->s;
	rcu_thread_ensure();
	uint8_t k[64];
	char v[32];
	for (uint64_t j = 0; j < PER_THREAD; j++) {
		/* Disjoint keys, plus a shared hot key all threads overwrite. */
		size_t len = make_key(k, 16, j * THREADS + (uint64_t)a->id);
		snprintf(v, sizeof(v), "%d:%llu", a->id, (unsigned long long)j);
		add(s->m, k, len, atomic_fetch_add(&s->next_seq, 1), KIND_VALUE, v);
		len = make_key(k, 17, j % 64);
		add(s->m, k, len, atomic_fetch_add(&s->next_seq, 1), KIND_VALUE, v);
		atomic_store(&s->done[a->id], j + 1);
	}
	return NULL;
}

static void *reader(void *p)
{
	struct shared *s = p;
	rcu_thread_ensure();
	uint8_t k[64];
	unsigned r = 7;
	while (!atomic_load(&s->stop)) {
		r = r * 1103515245 + 12345;
		int id = (int)(r >> 8) % THREADS;
		uint64_t done = atomic_load(&s->done[id]);
		if (!done)
			continue;
		uint64_t j = (r >> 4) % done;
		size_t len = make_key(k, 16, j * THREADS + (uint64_t)id);
		struct mt_entry e;
		cr_assert(get(s->m, k, len, SEQ_MAX, &e), "acknowledged key missing");
		char want[32];
		snprintf(want, sizeof(want), "%d:%llu", id, (unsigned long long)j);
		cr_assert(e.vlen == strlen(want) && memcmp(e.value, want, e.vlen) == 0);
	}
	return NULL;
}

struct chain {
	uint64_t prev, count;
	bool ordered;
};

static bool check_chain(void *p, const struct mt_entry *e)
{
	struct chain *c = p;
	if (c->count == 0)
		c->ordered = true;
	if (e->seq >= c->prev)
		c->ordered = false;
	c->prev = e->seq;
	c->count++;
	return true;
}

Test(memtable, concurrent_writers_and_readers)
{
	rcu_thread_ensure();
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		struct shared s = { .m = kinds[i]->create(4 << 20) };
		atomic_init(&s.next_seq, 1);
		pthread_t w[THREADS], rd[2];
		struct arg args[THREADS];
		for (int j = 0; j < 2; j++)
			pthread_create(&rd[j], NULL, reader, &s);
		for (int j = 0; j < THREADS; j++) {
			args[j] = (struct arg){ &s, j };
			pthread_create(&w[j], NULL, writer, &args[j]);
		}
		for (int j = 0; j < THREADS; j++)
			pthread_join(w[j], NULL);
		atomic_store(&s.stop, 1);
		for (int j = 0; j < 2; j++)
			pthread_join(rd[j], NULL);

		/* Every key present, in order, version chains strictly decreasing. */
		struct memtable *m = s.m;
		struct mt_iter *it = m->ops->iter_new(m);
		size_t count = 0, plen = 0;
		uint8_t prev[64];
		for (m->ops->iter_seek_first(it); m->ops->iter_valid(it); m->ops->iter_next(it)) {
			size_t len;
			const uint8_t *key = m->ops->iter_key(it, &len);
			if (count)
				cr_assert_lt(ikey_cmp(prev, plen, key, len), 0);
			memcpy(prev, key, len);
			plen = len;
			count++;
		}
		m->ops->iter_free(it);
		cr_expect_eq(count, (size_t)THREADS * PER_THREAD + 64, "%s: %zu keys",
			     kinds[i]->name, count);
		/* The hot key holds every version written to it, newest first. */
		uint8_t k[64];
		size_t len = make_key(k, 17, 5);
		it = m->ops->iter_new(m);
		m->ops->iter_seek(it, k, len);
		cr_assert(m->ops->iter_valid(it));
		struct chain c = { .prev = SEQ_MAX + 1 };
		m->ops->iter_versions(it, check_chain, &c);
		m->ops->iter_free(it);
		uint64_t want = 0;
		for (uint64_t j = 0; j < PER_THREAD; j++)
			want += j % 64 == 5;
		cr_expect_eq(c.count, want * THREADS, "%s: hot key has %llu versions",
			     kinds[i]->name, (unsigned long long)c.count);
		cr_expect(c.ordered, "%s: version chain out of order", kinds[i]->name);
		cr_expect_eq(atomic_load(&m->entries), (uint64_t)THREADS * PER_THREAD * 2);
		memtable_unref(m);
	}
}

/* A memtable's mapped arena blocks go to a pool when it is destroyed and
 * come back, with the old memtable's bytes in them, to the next one: every
 * round must read its own keys and values and nothing of the rounds
 * before. */
Test(memtable, recycled_arena_blocks_hold_only_the_new_memtable)
{
	rcu_thread_ensure();
	enum { ROUNDS = 4, N = 60000 };
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		for (int round = 0; round < ROUNDS; round++) {
			/* 64 MiB: 4 MiB blocks, each a mapping of its own. */
			struct memtable *m = kinds[i]->create(64u << 20);
			uint8_t k[64];
			char v[128];
			for (int j = 0; j < N; j++) {
				size_t len = make_key(k, 16, (uint64_t)round * 1000000 + (uint64_t)j);
				snprintf(v, sizeof(v), "round %d value %d %080d", round, j, j);
				add(m, k, len, (uint64_t)j + 1, KIND_VALUE, v);
			}
			cr_assert_gt(m->ops->memory(m), (size_t)8 << 20, "%s: fewer than three blocks",
				     kinds[i]->name);
			struct mt_entry e;
			for (int j = 0; j < N; j += 7) {
				size_t len = make_key(k, 16, (uint64_t)round * 1000000 + (uint64_t)j);
				snprintf(v, sizeof(v), "round %d value %d %080d", round, j, j);
				cr_assert(get(m, k, len, SEQ_MAX, &e), "%s: round %d: key %d missing",
					  kinds[i]->name, round, j);
				cr_assert(e.vlen == strlen(v) && memcmp(e.value, v, e.vlen) == 0,
					  "%s: round %d: key %d has another value", kinds[i]->name, round,
					  j);
			}
			if (round > 0) {
				size_t len = make_key(k, 16, (uint64_t)(round - 1) * 1000000 + 5);
				cr_assert(!get(m, k, len, SEQ_MAX, &e),
					  "%s: round %d finds a key of the round before", kinds[i]->name,
					  round);
			}
			struct mt_iter *it = m->ops->iter_new(m);
			size_t count = 0;
			for (m->ops->iter_seek_first(it); m->ops->iter_valid(it); m->ops->iter_next(it))
				count++;
			m->ops->iter_free(it);
			cr_assert_eq(count, (size_t)N, "%s: round %d iterates %zu keys",
				     kinds[i]->name, round, count);
			memtable_unref(m);
		}
	}
}
