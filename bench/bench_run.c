/*
 * bench_run.c — the workloads, and how one system runs them.
 *
 * The sequence follows db_bench: fills on fresh stores, then overwrite,
 * reads, a scan and deletes on the store the last fill left, then the
 * synced fills on fresh stores. A workload that needs a loaded store and
 * does not have one (because the fills were not selected, or the last
 * workload deleted everything) gets one first: every key, in ascending
 * order, in batches, untimed.
 *
 * Invariants:
 *   1. Only the timed region counts: allocation counting is on and the clock
 *      runs from just before the workers are released from the start barrier
 *      until they have all reached the stop barrier. Thread creation, each
 *      thread's handle (thread_open/close) and the checks after the run are
 *      outside it.
 *   2. Every key the store should hold has a known value: key k holds
 *      bench_value(k, gen) for the store's current generation, so reads
 *      check what they get. A get that misses, or returns another value, is
 *      counted; a workload with either fails.
 *   3. Keys are generated on the fly and random orders come from
 *      bench_perm, so the harness's memory does not grow with --num.
 *   4. A workload that failed leaves the store in an unknown state: it is
 *      closed, and the next workload starts from a fresh one.
 *   5. Each workload starts on a quiet process: before the clock starts the
 *      file system is synced and the runner waits (up to two minutes) until
 *      the system's background threads are idle, so compaction or
 *      write-back left over from one workload is not charged to the next
 *      (work a workload causes while it runs is charged to it).
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

const struct bench_workload bench_workloads[] = {
	{ "fillseq", 1, BENCH_FILL_SEQ,
	  "ascending keys into a fresh store (db_bench)" },
	{ "InsertSequential", 1, BENCH_FILL_SEQ,
	  "ascending keys into a fresh store (seed)" },
	{ "InsertConcurrent", 2, BENCH_FILL_SEQ,
	  "2 threads, each ascending through its half of the keys, fresh store (seed)" },
	{ "InsertBatchSequential", 1, BENCH_FILL_BATCH,
	  "ascending keys in atomic batches of 1000 puts, fresh store (seed)" },
	{ "fillrandom", 1, BENCH_FILL_RANDOM,
	  "every key once in random order into a fresh store (db_bench)" },
	{ "overwrite", 1, BENCH_OVERWRITE,
	  "every key once more, random order, new values (db_bench)" },
	{ "GetSequential", 1, BENCH_GET_SEQ,
	  "point gets in ascending key order (seed)" },
	{ "GetConcurrent", 2, BENCH_GET_RANDOM,
	  "2 threads of point gets of random keys (seed)" },
	{ "readrandom", 1, BENCH_GET_RANDOM,
	  "point gets of random keys (db_bench)" },
	{ "readrandom", 2, BENCH_GET_RANDOM,
	  "point gets of random keys (db_bench)" },
	{ "readseq", 1, BENCH_SCAN,
	  "one full scan in key order with an iterator or cursor (db_bench)" },
	{ "deleterandom", 1, BENCH_DELETE_RANDOM,
	  "every key deleted once, random order (db_bench)" },
	{ "fillsync", 1, BENCH_FILL_SYNC,
	  "random order, every write synced, fresh store (db_bench)" },
	{ "fillsync", 4, BENCH_FILL_SYNC,
	  "random order, every write synced, fresh store (db_bench)" },
};

const size_t bench_workload_count =
	sizeof(bench_workloads) / sizeof(bench_workloads[0]);

/* The untimed load of a store that reads need. */
static const struct bench_workload load_workload = {
	"load", 1, BENCH_FILL_BATCH, "untimed load"
};

bool bench_kind_writes(enum bench_kind k)
{
	switch (k) {
	case BENCH_FILL_SEQ:
	case BENCH_FILL_RANDOM:
	case BENCH_FILL_BATCH:
	case BENCH_FILL_SYNC:
	case BENCH_OVERWRITE:
	case BENCH_DELETE_RANDOM:
		return true;
	default:
		return false;
	}
}

bool bench_kind_reads(enum bench_kind k)
{
	return k == BENCH_GET_SEQ || k == BENCH_GET_RANDOM || k == BENCH_SCAN;
}

/* ---- the store a system's workloads share ---- */

enum store_state {
	STORE_NONE,       /* not open */
	STORE_EMPTY,      /* open, holds no key */
	STORE_LOADED,     /* holds keys 0..num-1 with values of generation gen */
	STORE_OTHER,      /* holds something else (after fillsync) */
};

struct store {
	const struct bench_system *sys;
	const struct bench_config *cfg;
	const char *dir;
	struct bench_db *db;
	bool sync;
	enum store_state state;
	uint32_t gen;
	uint64_t live_keys;
	struct bench_values values;
};

static void store_close(struct store *st)
{
	if (st->db != NULL)
		st->sys->close(st->db);
	st->db = NULL;
	st->state = STORE_NONE;
	st->live_keys = 0;
}

/* Closes what is open and opens a new, empty store. */
static int store_fresh(struct store *st, bool sync)
{
	store_close(st);
	int rc = bench_rmtree(st->dir);
	if (rc == 0)
		rc = bench_mkdirs(st->dir);
	if (rc < 0)
		return bench_error("cannot recreate %s: %s", st->dir, strerror(-rc));
	struct bench_open_options o = {
		.sync = sync,
		.max_keys = st->cfg->num > st->cfg->sync_num ? st->cfg->num
							     : st->cfg->sync_num,
		.value_size = st->cfg->value_size,
	};
	if (st->sys->open(st->dir, &o, &st->db) < 0) {
		st->db = NULL;
		return -1;
	}
	st->sync = sync;
	st->state = STORE_EMPTY;
	st->gen = 0;
	return 0;
}

/* ---- one run of a workload on its threads ---- */

struct job {
	struct store *st;
	const struct bench_workload *w;
	uint64_t total;            /* operations over all threads */
	uint64_t key_space;        /* keys are numbers below this */
	uint32_t gen;              /* generation written, or expected by reads */
	uint64_t seed;
	struct bench_perm perm;
	pthread_barrier_t start, stop;
};

struct worker {
	struct job *job;
	int index;
	pthread_t tid;
	uint64_t ops;
	uint64_t misses;
	uint64_t wrong;            /* gets that returned another value */
	struct bench_scan scan;
	bool failed;
	char message[200];
};

static void worker_fail(struct worker *wk, const char *what)
{
	if (wk->failed)
		return;
	wk->failed = true;
	snprintf(wk->message, sizeof(wk->message), "%s: %s", what,
		 bench_last_error());
}

/* Checks one get against invariant 2. */
static inline void check_get(struct worker *wk, int rc, uint64_t k,
			     const char *buf, size_t vlen)
{
	const struct bench_values *v = &wk->job->st->values;
	if (rc == BENCH_NOTFOUND)
		wk->misses++;
	else if (vlen != v->value_size ||
		 memcmp(buf, bench_value(v, k, wk->job->gen), vlen) != 0)
		wk->wrong++;
}

/* A thread's buffers, allocated before the timed region. */
struct scratch {
	char keys[BENCH_BATCH_SIZE][BENCH_KEY_SIZE];
	struct bench_kv kv[BENCH_BATCH_SIZE];
	char value[];              /* value_size + 1 bytes */
};

/* The timed loop of one thread over its share [begin, end) of the job. */
static void work(struct worker *wk, struct bench_thread *t, struct scratch *sc)
{
	struct job *job = wk->job;
	const struct bench_system *sys = job->st->sys;
	const struct bench_values *values = &job->st->values;
	const size_t vsize = values->value_size;
	const int threads = job->w->threads;
	const uint64_t begin = job->total * (uint64_t)wk->index / (uint64_t)threads;
	const uint64_t end = job->total * (uint64_t)(wk->index + 1) / (uint64_t)threads;
	char key[BENCH_KEY_SIZE];
	char *buf = sc->value;
	struct bench_rng rng = {
		.state = bench_mix64(job->seed ^ (uint64_t)(wk->index + 1) << 32),
	};
	uint64_t i;

	switch (job->w->kind) {
	case BENCH_FILL_SEQ:
		for (i = begin; i < end; i++) {
			bench_key(key, i);
			if (sys->put(t, key, sizeof(key), bench_value(values, i, job->gen),
				     vsize) < 0) {
				worker_fail(wk, "put");
				break;
			}
		}
		break;
	case BENCH_FILL_RANDOM:
	case BENCH_FILL_SYNC:
	case BENCH_OVERWRITE:
		for (i = begin; i < end; i++) {
			uint64_t k = bench_perm_at(&job->perm, i);
			bench_key(key, k);
			if (sys->put(t, key, sizeof(key), bench_value(values, k, job->gen),
				     vsize) < 0) {
				worker_fail(wk, "put");
				break;
			}
		}
		break;
	case BENCH_FILL_BATCH: {
		char (*keys)[BENCH_KEY_SIZE] = sc->keys;
		struct bench_kv *kv = sc->kv;
		for (i = begin; i < end;) {
			size_t n = 0;
			for (; n < BENCH_BATCH_SIZE && i < end; n++, i++) {
				bench_key(keys[n], i);
				kv[n] = (struct bench_kv){
					keys[n], BENCH_KEY_SIZE,
					bench_value(values, i, job->gen), vsize
				};
			}
			if (sys->batch_put(t, kv, n) < 0) {
				worker_fail(wk, "batch");
				i -= n;
				break;
			}
		}
		break;
	}
	case BENCH_GET_SEQ:
		for (i = begin; i < end; i++) {
			size_t vlen = 0;
			bench_key(key, i);
			int rc = sys->get(t, key, sizeof(key), buf, vsize + 1, &vlen);
			if (rc < 0) {
				worker_fail(wk, "get");
				break;
			}
			check_get(wk, rc, i, buf, vlen);
		}
		break;
	case BENCH_GET_RANDOM:
		for (i = begin; i < end; i++) {
			size_t vlen = 0;
			uint64_t k = bench_rng_below(&rng, job->key_space);
			bench_key(key, k);
			int rc = sys->get(t, key, sizeof(key), buf, vsize + 1, &vlen);
			if (rc < 0) {
				worker_fail(wk, "get");
				break;
			}
			check_get(wk, rc, k, buf, vlen);
		}
		break;
	case BENCH_SCAN:
		i = begin;
		wk->scan.value_size = vsize;
		if (sys->scan(t, &wk->scan) < 0)
			worker_fail(wk, "scan");
		i += wk->scan.entries;
		break;
	case BENCH_DELETE_RANDOM:
		for (i = begin; i < end; i++) {
			uint64_t k = bench_perm_at(&job->perm, i);
			bench_key(key, k);
			if (sys->del(t, key, sizeof(key)) < 0) {
				worker_fail(wk, "delete");
				break;
			}
		}
		break;
	default:
		i = begin;
		break;
	}
	wk->ops = i - begin;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct job *job = wk->job;
	struct bench_thread *t = NULL;
	struct scratch *sc = malloc(sizeof(*sc) + job->st->values.value_size + 1);

	if (sc == NULL) {
		bench_error("out of memory");
		worker_fail(wk, "malloc");
	} else if (job->st->sys->thread_open(job->st->db, &t) < 0) {
		t = NULL;
		worker_fail(wk, "thread_open");
	}
	pthread_barrier_wait(&job->start);
	if (!wk->failed)
		work(wk, t, sc);
	pthread_barrier_wait(&job->stop);
	if (t != NULL)
		job->st->sys->thread_close(t);
	free(sc);
	return NULL;
}

/*
 * Runs job on its threads and fills the measured fields of r (invariant 1).
 * Returns 0, or -1 with r->failed and r->message set.
 */
static int run_job(struct job *job, struct bench_result *r)
{
	const int threads = job->w->threads;
	struct worker wk[BENCH_MAX_THREADS];
	struct bench_proc before, after;
	uint64_t a0, b0, a1, b1, t0, t1, c0, c1;
	int started = 0;

	memset(wk, 0, sizeof(wk));
	pthread_barrier_init(&job->start, NULL, (unsigned)threads + 1);
	pthread_barrier_init(&job->stop, NULL, (unsigned)threads + 1);
	r->peak_is_workload = bench_proc_reset_peak();
	bench_proc_read(&before);

	for (int i = 0; i < threads; i++) {
		wk[i].job = job;
		wk[i].index = i;
		int rc = pthread_create(&wk[i].tid, NULL, worker_main, &wk[i]);
		if (rc != 0) {
			fprintf(stderr, "golite-bench: pthread_create: %s\n", strerror(rc));
			exit(2);
		}
		started++;
	}

	bench_alloc_totals(&a0, &b0);
	c0 = bench_cpu_ns();
	t0 = bench_now_ns();
	atomic_store(&bench_alloc_counting, 1);
	pthread_barrier_wait(&job->start);
	pthread_barrier_wait(&job->stop);
	atomic_store(&bench_alloc_counting, 0);
	t1 = bench_now_ns();
	c1 = bench_cpu_ns();
	bench_alloc_totals(&a1, &b1);

	for (int i = 0; i < started; i++)
		pthread_join(wk[i].tid, NULL);
	pthread_barrier_destroy(&job->start);
	pthread_barrier_destroy(&job->stop);
	bench_proc_read(&after);

	uint64_t misses = 0, wrong = 0;
	r->ops = 0;
	for (int i = 0; i < threads; i++) {
		r->ops += wk[i].ops;
		misses += wk[i].misses;
		wrong += wk[i].wrong;
		if (wk[i].failed && !r->failed) {
			r->failed = 1;
			snprintf(r->message, sizeof(r->message), "%s", wk[i].message);
		}
	}
	r->elapsed_ns = t1 - t0;
	r->cpu_ns = c1 - c0;
	r->allocs = a1 - a0;
	r->alloc_bytes = b1 - b0;
	r->rss_kb = after.rss_kb;
	r->hwm_kb = after.hwm_kb;
	r->anon_kb = after.anon_kb;
	r->disk_write_bytes = after.write_bytes - before.write_bytes;
	r->misses = misses;

	if (!r->failed && misses > 0) {
		r->failed = 1;
		snprintf(r->message, sizeof(r->message),
			 "%llu of %llu gets missed a key that was written",
			 (unsigned long long)misses, (unsigned long long)r->ops);
	}
	if (!r->failed && wrong > 0) {
		r->failed = 1;
		snprintf(r->message, sizeof(r->message),
			 "%llu of %llu gets returned a wrong value",
			 (unsigned long long)wrong, (unsigned long long)r->ops);
	}
	if (!r->failed && job->w->kind == BENCH_SCAN) {
		const struct bench_scan *s = &wk[0].scan;
		if (s->entries != job->total || s->out_of_order || s->bad_length) {
			r->failed = 1;
			snprintf(r->message, sizeof(r->message),
				 "scan saw %llu entries of %llu, %llu out of order, "
				 "%llu of a wrong length",
				 (unsigned long long)s->entries,
				 (unsigned long long)job->total,
				 (unsigned long long)s->out_of_order,
				 (unsigned long long)s->bad_length);
		}
	}
	return r->failed ? -1 : 0;
}

/* ---- a system's sequence ---- */

static void progress(const struct bench_config *cfg, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void progress(const struct bench_config *cfg, const char *fmt, ...)
{
	if (cfg->quiet)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fputs(line, stderr);
	fflush(stderr);
}

/* Longest wait for the previous workload's background work (invariant 5). */
#define SETTLE_MAX_SECONDS 120.0

static bool kind_needs_fresh(enum bench_kind k)
{
	return k == BENCH_FILL_SEQ || k == BENCH_FILL_RANDOM ||
	       k == BENCH_FILL_BATCH || k == BENCH_FILL_SYNC;
}

/* Makes sure st holds keys 0..num-1, loading them untimed if it does not. */
static int store_loaded(struct store *st)
{
	if (st->db != NULL && !st->sync && st->state == STORE_LOADED)
		return 0;
	if (store_fresh(st, false) < 0)
		return -1;
	progress(st->cfg, "golite-bench: %-13s loading %llu keys (untimed)\n",
		 st->sys->name, (unsigned long long)st->cfg->num);
	struct job job = {
		.st = st, .w = &load_workload, .total = st->cfg->num,
		.key_space = st->cfg->num, .gen = 0, .seed = st->cfg->seed,
	};
	struct bench_result r;
	memset(&r, 0, sizeof(r));
	if (run_job(&job, &r) < 0)
		return bench_error("load: %s", r.message);
	st->state = STORE_LOADED;
	st->gen = 0;
	st->live_keys = st->cfg->num;
	return 0;
}

static int run_workload(struct store *st, uint32_t index, struct bench_result *r)
{
	const struct bench_workload *w = &bench_workloads[index];
	const struct bench_config *cfg = st->cfg;
	struct job job = {
		.st = st, .w = w,
		.seed = bench_mix64(cfg->seed + 0x1000 * (index + 1)),
	};

	if (kind_needs_fresh(w->kind)) {
		if (store_fresh(st, w->kind == BENCH_FILL_SYNC) < 0)
			goto out_setup_failed;
	} else if (store_loaded(st) < 0) {
		goto out_setup_failed;
	}

	job.total = w->kind == BENCH_FILL_SYNC ? cfg->sync_num : cfg->num;
	job.key_space = job.total;
	job.gen = w->kind == BENCH_OVERWRITE ? st->gen + 1 : st->gen;
	bench_perm_init(&job.perm, job.total, job.seed);

	progress(cfg, "golite-bench: %-13s %-22s %d thread%s %10llu ops ... ",
		 st->sys->name, w->name, w->threads, w->threads > 1 ? "s" : " ",
		 (unsigned long long)job.total);
	bool idle;
	double waited = bench_settle(st->dir, SETTLE_MAX_SECONDS, &idle);
	if (!idle)
		progress(cfg, "still busy after %.0f s, ", waited);
	else if (waited >= 1.0)
		progress(cfg, "settled in %.1f s, ", waited);
	int rc = run_job(&job, r);
	if (rc < 0) {
		progress(cfg, "FAILED: %s\n", r->message);
		store_close(st);
		return -1;
	}
	double secs = (double)r->elapsed_ns / 1e9;
	progress(cfg, "%.0f ops/s (%.2f s)\n",
		 secs > 0 ? (double)r->ops / secs : 0.0, secs);

	/* What the store holds now (invariant 2). */
	size_t entry = BENCH_KEY_SIZE + cfg->value_size;
	switch (w->kind) {
	case BENCH_FILL_SEQ:
	case BENCH_FILL_RANDOM:
	case BENCH_FILL_BATCH:
	case BENCH_OVERWRITE:
		st->state = STORE_LOADED;
		st->gen = job.gen;
		st->live_keys = cfg->num;
		r->user_write_bytes = r->ops * entry;
		break;
	case BENCH_FILL_SYNC:
		st->state = STORE_OTHER;
		st->live_keys = cfg->sync_num;
		r->user_write_bytes = r->ops * entry;
		break;
	case BENCH_DELETE_RANDOM:
		st->state = STORE_EMPTY;
		st->live_keys = 0;
		r->user_write_bytes = r->ops * BENCH_KEY_SIZE;
		break;
	default:
		break;
	}
	if (bench_kind_writes(w->kind)) {
		r->dir_bytes = bench_dir_bytes(st->dir);
		r->live_bytes = st->live_keys * entry;
	}
	return 0;

out_setup_failed:
	r->failed = 1;
	snprintf(r->message, sizeof(r->message), "set-up: %s", bench_last_error());
	progress(cfg, "golite-bench: %-13s %-22s FAILED: %s\n", st->sys->name,
		 w->name, r->message);
	store_close(st);
	return -1;
}

int bench_run_system(const struct bench_system *sys, uint32_t sys_index,
		     const struct bench_config *cfg, const bool *selected,
		     const char *dir,
		     void (*emit)(const struct bench_result *r, void *arg), void *arg)
{
	struct store st = { .sys = sys, .cfg = cfg, .dir = dir };
	int status = 0;

	bench_values_init(&st.values, cfg->value_size, cfg->seed);
	for (uint32_t i = 0; i < bench_workload_count; i++) {
		if (!selected[i])
			continue;
		struct bench_result r;
		memset(&r, 0, sizeof(r));
		r.workload = i;
		r.system = sys_index;
		r.threads = (uint32_t)bench_workloads[i].threads;
		if (run_workload(&st, i, &r) < 0)
			status = 1;
		emit(&r, arg);
	}
	store_close(&st);
	if (!cfg->keep)
		bench_rmtree(dir);
	bench_values_free(&st.values);
	return status;
}
