/*
 * bench.h — golite-bench: GoLite measured against LevelDB, RocksDB, LMDB and
 * SQLite on the same machine, in one run.
 *
 * The benchmark is a driver (bench.c: options, one child process per system,
 * the report), a runner (bench_run.c: the workloads, their threads and what
 * is measured), helpers (bench_util.c: keys, values, random orders, /proc
 * figures, directories), an allocation counter (bench_alloc.c) and one
 * adapter per system (bench_<system>.c). An adapter fills a struct
 * bench_system; adding a system is one file and one line in bench.c.
 *
 * Invariants the adapters keep:
 *   1. A bench_db is used by one process. Each worker thread gets its own
 *      bench_thread from thread_open() and is the only user of it, so an
 *      adapter may keep per-thread state there (a connection, a read
 *      transaction, a batch) without locks.
 *   2. No adapter call allocates on the harness's behalf beyond what the
 *      system itself needs: allocations per operation are the system's.
 *   3. get() copies the value into the caller's buffer; a value longer than
 *      the buffer is an error (the benchmark knows every value's length).
 *   4. Every failing call returns a negative number after bench_error() has
 *      recorded why; the runner stops the workload and reports the message.
 */
#ifndef GOLITE_BENCH_H
#define GOLITE_BENCH_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define BENCH_KEY_SIZE 16          /* "%016llu" of the key's number */
#define BENCH_BATCH_SIZE 1000      /* puts per atomic batch */
#define BENCH_MAX_THREADS 16

/* ---- What an adapter implements ----------------------------------------- */

struct bench_db;      /* one open store; each adapter defines it */
struct bench_thread;  /* one worker thread's handle on the store (invariant 1) */

/* How a store is opened. */
struct bench_open_options {
	bool sync;               /* every write durable when acknowledged */
	uint64_t max_keys;       /* the most keys the run will hold (sizing) */
	size_t value_size;       /* bytes of every value */
};

/* One put of a batch. */
struct bench_kv {
	const void *key;
	size_t klen;
	const void *value;
	size_t vlen;
};

/*
 * What a full ordered scan saw. Adapters call bench_scan_entry() for each
 * entry, in the order the system returns them.
 */
struct bench_scan {
	uint64_t entries;
	uint64_t bytes;            /* key and value bytes seen */
	uint64_t out_of_order;     /* entries not greater than the one before */
	uint64_t bad_length;       /* keys or values of an unexpected length */
	size_t value_size;         /* expected value length */
	char prev[BENCH_KEY_SIZE];
};

static inline void bench_scan_entry(struct bench_scan *s, const void *key,
				    size_t klen, size_t vlen)
{
	if (klen != BENCH_KEY_SIZE || vlen != s->value_size) {
		s->bad_length++;
	} else {
		if (s->entries > 0 && memcmp(key, s->prev, BENCH_KEY_SIZE) <= 0)
			s->out_of_order++;
		memcpy(s->prev, key, BENCH_KEY_SIZE);
	}
	s->entries++;
	s->bytes += klen + vlen;
}

/* get() results besides errors (negative). */
#define BENCH_FOUND 0
#define BENCH_NOTFOUND 1

struct bench_system {
	const char *name;          /* as given to --systems */
	bool extra;                /* run only when named in --systems */
	/* Fills buf with one line: library version and the options that matter. */
	void (*describe)(char *buf, size_t len);
	/* Opens (creating) the store in the existing, empty directory dir. */
	int (*open)(const char *dir, const struct bench_open_options *o,
		    struct bench_db **out);
	/* Closes the store, writing what it buffers. NULL is accepted. */
	void (*close)(struct bench_db *db);
	/* A handle for the calling thread; freed by thread_close on the same
	 * thread, before close(). */
	int (*thread_open)(struct bench_db *db, struct bench_thread **out);
	void (*thread_close)(struct bench_thread *t);
	/* Inserts or replaces one key, on its own (not part of a batch). */
	int (*put)(struct bench_thread *t, const void *key, size_t klen,
		   const void *value, size_t vlen);
	/* Copies the value of key into buf (cap bytes), sets *vlen. Returns
	 * BENCH_FOUND, BENCH_NOTFOUND or a negative error (invariant 3). */
	int (*get)(struct bench_thread *t, const void *key, size_t klen,
		   void *buf, size_t cap, size_t *vlen);
	/* Removes key; removing an absent key is not an error. */
	int (*del)(struct bench_thread *t, const void *key, size_t klen);
	/* Applies n puts as one atomic batch or transaction. */
	int (*batch_put)(struct bench_thread *t, const struct bench_kv *kv, size_t n);
	/* Reads every entry in key order with an iterator or cursor. */
	int (*scan)(struct bench_thread *t, struct bench_scan *s);
};

extern const struct bench_system bench_golite;
extern const struct bench_system bench_golite_locked;
extern const struct bench_system bench_leveldb;
extern const struct bench_system bench_rocksdb;
extern const struct bench_system bench_leveldb_nofilter;
extern const struct bench_system bench_rocksdb_nofilter;
extern const struct bench_system bench_rocksdb_blob;
extern const struct bench_system bench_lmdb;
extern const struct bench_system bench_sqlite;

/* Records why the current call fails (per thread; invariant 4). Returns -1. */
__attribute__((format(printf, 1, 2))) int bench_error(const char *fmt, ...);
/* The message recorded by the last bench_error() on this thread. */
const char *bench_last_error(void);

/* ---- Keys, values and orders (bench_util.c) ------------------------------ */

/* Writes the key of number k: 16 decimal digits, zero-padded, no NUL. */
static inline void bench_key(char out[BENCH_KEY_SIZE], uint64_t k)
{
	for (int i = BENCH_KEY_SIZE - 1; i >= 0; i--) {
		out[i] = (char)('0' + k % 10);
		k /= 10;
	}
}

/* A 64-bit mixing function (splitmix64's finalizer): a bijection. */
static inline uint64_t bench_mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	x ^= x >> 31;
	return x;
}

/* A fast pseudo-random generator (splitmix64), one per thread. */
struct bench_rng {
	uint64_t state;
};

static inline uint64_t bench_rng_next(struct bench_rng *r)
{
	r->state += 0x9e3779b97f4a7c15ull;
	return bench_mix64(r->state);
}

/* Uniform in [0, n) (Lemire's multiply-shift; the bias is below 2^-40). */
static inline uint64_t bench_rng_below(struct bench_rng *r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)bench_rng_next(r) * n) >> 64);
}

/*
 * A pseudo-random permutation of [0, n), computed one element at a time
 * (a 4-round Feistel network on the smallest even number of bits that
 * covers n, with cycle walking), so that a random order over 10 million
 * keys costs no memory. Different seeds give unrelated orders.
 */
struct bench_perm {
	uint64_t n;
	unsigned half_bits;
	uint64_t half_mask;
	uint64_t round_key[4];
};

void bench_perm_init(struct bench_perm *p, uint64_t n, uint64_t seed);

static inline uint64_t bench_perm_feistel(const struct bench_perm *p, uint64_t x)
{
	uint64_t left = x >> p->half_bits, right = x & p->half_mask;
	for (int i = 0; i < 4; i++) {
		uint64_t f = bench_mix64(right ^ p->round_key[i]) & p->half_mask;
		uint64_t next = left ^ f;
		left = right;
		right = next;
	}
	return (left << p->half_bits) | right;
}

/* The i-th element of the permutation, i < n. */
static inline uint64_t bench_perm_at(const struct bench_perm *p, uint64_t i)
{
	do
		i = bench_perm_feistel(p, i);
	while (i >= p->n);
	return i;
}

/*
 * Values: slices of a buffer of random printable bytes in which each run of
 * 100 bytes is half random and half a repeat of that half, so that values
 * compress to about half (what db_bench's RandomGenerator does). The value
 * of key k written by generation g is fixed, so reads can check it.
 */
struct bench_values {
	char *data;
	size_t size;
	size_t value_size;
	uint64_t seed;
};

void bench_values_init(struct bench_values *v, size_t value_size, uint64_t seed);
void bench_values_free(struct bench_values *v);

static inline const char *bench_value(const struct bench_values *v, uint64_t k,
				      uint32_t gen)
{
	uint64_t h = bench_mix64(k ^ ((uint64_t)gen << 48) ^ v->seed);
	return v->data + h % (v->size - v->value_size + 1);
}

/* ---- Measuring (bench_util.c, bench_alloc.c) ----------------------------- */

/* CPU time used by every thread of the process, nanoseconds. */
static inline uint64_t bench_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Monotonic clock, nanoseconds. */
static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Allocations counted while bench_alloc_counting is set (bench_alloc.c). */
extern atomic_int bench_alloc_counting;
void bench_alloc_totals(uint64_t *count, uint64_t *bytes);

struct bench_proc {
	uint64_t rss_kb;         /* VmRSS */
	uint64_t hwm_kb;         /* VmHWM */
	uint64_t anon_kb;        /* RssAnon: RSS not backed by files */
	uint64_t write_bytes;    /* /proc/self/io write_bytes */
};

/* Reads the figures of the calling process; missing ones are 0. */
void bench_proc_read(struct bench_proc *p);
/* Resets VmHWM to the current RSS. Returns false if the kernel refused. */
bool bench_proc_reset_peak(void);

/*
 * Waits until background work of the calling process has stopped: syncs the
 * file system that holds dir (so dirty pages of earlier work are not
 * written back during the next), then waits until the process has used
 * less than 3% of a core for 200 ms, for at most max_seconds. Returns the
 * seconds waited; *idle tells whether it got there.
 */
double bench_settle(const char *dir, double max_seconds, bool *idle);

/* Bytes allocated on disk (st_blocks) by the files under path. */
uint64_t bench_dir_bytes(const char *path);
/* Removes path and everything under it. Returns 0 or -errno. */
int bench_rmtree(const char *path);
/* Creates path and its parents (mode 0755). Returns 0 or -errno. */
int bench_mkdirs(const char *path);

/* ---- The runner (bench_run.c) -------------------------------------------- */

/* What a workload does to the store and which state it needs. */
enum bench_kind {
	BENCH_FILL_SEQ,        /* ascending keys, each thread its own range */
	BENCH_FILL_RANDOM,     /* every key once, in a random order */
	BENCH_FILL_BATCH,      /* ascending keys in atomic batches */
	BENCH_FILL_SYNC,       /* random order, every write synced */
	BENCH_OVERWRITE,       /* every key once more, random order, new values */
	BENCH_GET_SEQ,         /* point gets in ascending key order */
	BENCH_GET_RANDOM,      /* point gets of random keys */
	BENCH_SCAN,            /* one full ordered scan */
	BENCH_DELETE_RANDOM,   /* every key deleted once, random order */
};

struct bench_workload {
	const char *name;
	int threads;
	enum bench_kind kind;
	const char *what;      /* one line for the report */
};

extern const struct bench_workload bench_workloads[];
extern const size_t bench_workload_count;

bool bench_kind_writes(enum bench_kind k);
bool bench_kind_reads(enum bench_kind k);

struct bench_config {
	uint64_t num;
	uint64_t sync_num;
	size_t value_size;
	uint64_t seed;
	const char *dir;           /* parent of the per-system directories */
	bool keep;
	bool quiet;                /* no progress lines */
};

/* One workload's figures, sent from a system's child to the driver. */
struct bench_result {
	uint32_t workload;         /* index in bench_workloads */
	uint32_t system;           /* index in the driver's table */
	uint32_t threads;
	uint32_t failed;           /* 1: message says why */
	uint64_t ops;
	uint64_t elapsed_ns;
	uint64_t cpu_ns;           /* CPU time of the whole process */
	uint64_t allocs;
	uint64_t alloc_bytes;
	uint64_t rss_kb;
	uint64_t hwm_kb;
	uint64_t anon_kb;
	uint64_t disk_write_bytes; /* write_bytes delta over the workload */
	uint64_t user_write_bytes; /* key and value bytes the workload wrote */
	uint64_t dir_bytes;        /* data directory size after the workload */
	uint64_t live_bytes;       /* key and value bytes live after it */
	uint64_t misses;
	bool peak_is_workload;     /* hwm_kb was reset at the workload's start */
	char message[200];
};

/*
 * Runs the selected workloads (selected[i] for bench_workloads[i]) in order
 * on one system, in the calling process, in a fresh directory dir, and
 * calls emit for each result. Returns 0, or 1 if any workload failed.
 */
int bench_run_system(const struct bench_system *sys, uint32_t sys_index,
		     const struct bench_config *cfg, const bool *selected,
		     const char *dir,
		     void (*emit)(const struct bench_result *r, void *arg), void *arg);

#endif /* GOLITE_BENCH_H */
