/*
 * A concurrency stress for ThreadSanitizer: writers (puts, deletes,
 * batches), point readers and iterators on one store, with a memtable
 * small enough that flushes and compactions run throughout. Every value a
 * reader sees must be one a writer wrote for that key; at the end every
 * key holds its writer's last value. Built and run by `make tsan-test`.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golite.h"

#define WRITERS 3
#define READERS 2
#define KEYS 200
#define ROUNDS 3000

static golite *db;
static _Atomic int done_writers;
static _Atomic long problems;

static void fail(const char *what)
{
	fprintf(stderr, "stress: %s\n", what);
	atomic_fetch_add(&problems, 1);
}

/* Writer w owns keys w, w + WRITERS, ...; values "w:round". */
static void *writer(void *arg)
{
	int w = (int)(long)arg;
	char k[32], v[64];
	golite_batch *b = golite_batch_new();
	for (int r = 1; r <= ROUNDS; r++) {
		int key = w + WRITERS * (r % (KEYS / WRITERS));
		snprintf(k, sizeof(k), "k%04d", key);
		int n = snprintf(v, sizeof(v), "%d:%d", w, r);
		if (r % 7 == 0) {
			golite_batch_clear(b);
			golite_batch_put(b, "t", k, strlen(k), v, (size_t)n);
			snprintf(k, sizeof(k), "b%02d", w);
			golite_batch_put(b, "t", k, strlen(k), v, (size_t)n);
			if (golite_write(db, b))
				fail("batch");
		} else if (golite_put(db, "t", k, strlen(k), v, (size_t)n)) {
			fail("put");
		}
	}
	golite_batch_free(b);
	atomic_fetch_add(&done_writers, 1);
	return NULL;
}

static void check_value(const char *k, const char *v, size_t vl)
{
	int w, r;
	char buf[64];
	memcpy(buf, v, vl < 63 ? vl : 63);
	buf[vl < 63 ? vl : 63] = 0;
	if (sscanf(buf, "%d:%d", &w, &r) != 2 || w < 0 || w >= WRITERS || r < 1 || r > ROUNDS)
		fail("a value no writer wrote");
	if (k[0] == 'k' && atoi(k + 1) % WRITERS != w)
		fail("a value of another writer's key");
}

static void *reader(void *arg)
{
	long id = (long)arg;
	unsigned s = (unsigned)id * 7919 + 1;
	char k[32], v[64];
	while (atomic_load(&done_writers) < WRITERS) {
		s = s * 1103515245 + 12345;
		if (s % 50 == 0) {
			golite_iter *it;
			if (golite_iter_new(db, "t", NULL, &it)) {
				fail("iter_new");
				continue;
			}
			for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
				size_t kl, vl;
				const char *kk = golite_iter_key(it, &kl);
				const char *vv = golite_iter_value(it, &vl);
				char key[32];
				memcpy(key, kk, kl < 31 ? kl : 31);
				key[kl < 31 ? kl : 31] = 0;
				check_value(key, vv, vl);
			}
			golite_iter_free(it);
			continue;
		}
		snprintf(k, sizeof(k), "k%04u", (s >> 8) % KEYS);
		size_t vl;
		int r = golite_get_into(db, "t", k, strlen(k), v, sizeof(v), &vl);
		if (r == 0)
			check_value(k, v, vl);
		else if (r != GOLITE_ENOTFOUND)
			fail("get");
	}
	return NULL;
}

int main(int argc, char **argv)
{
	char dir[] = "/tmp/golite-tsan-XXXXXX";
	if (!mkdtemp(dir))
		return 2;
	golite_options o;
	golite_options_init(&o);
	o.memtable_size = 64 << 10;
	o.sstable_size = 64 << 10;
	o.compaction_threads = 2;
	if (golite_open(dir, &o, &db) || golite_table_create(db, "t")) {
		fprintf(stderr, "stress: open: %s\n", golite_last_error());
		return 2;
	}
	pthread_t t[WRITERS + READERS];
	for (long i = 0; i < WRITERS; i++)
		pthread_create(&t[i], NULL, writer, (void *)i);
	for (long i = 0; i < READERS; i++)
		pthread_create(&t[WRITERS + i], NULL, reader, (void *)i);
	for (int i = 0; i < WRITERS + READERS; i++)
		pthread_join(t[i], NULL);
	/* Every key holds its writer's last value for it. */
	for (int key = 0; key < KEYS; key++) {
		int w = key % WRITERS, last = 0;
		for (int r = 1; r <= ROUNDS; r++)
			if (w + WRITERS * (r % (KEYS / WRITERS)) == key)
				last = r;
		if (!last)
			continue;
		char k[32], v[64], want[64];
		snprintf(k, sizeof(k), "k%04d", key);
		snprintf(want, sizeof(want), "%d:%d", w, last);
		size_t vl;
		if (golite_get_into(db, "t", k, strlen(k), v, sizeof(v), &vl) || vl != strlen(want) ||
		    memcmp(v, want, vl))
			fail("final value");
	}
	golite_close(db);
	char cmd[64];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd)) {
	}
	(void)argc;
	(void)argv;
	long p = atomic_load(&problems);
	printf("stress: %d writers, %d readers, %d rounds each: %ld problems\n", WRITERS, READERS,
	       ROUNDS, p);
	return p ? 1 : 0;
}
