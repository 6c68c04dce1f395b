/*
 * Fault injection: the n-th I/O call of the engine fails — with EIO, with
 * ENOSPC, or as a short write — for every n across a workload that writes,
 * flushes and compacts. After each run the store is reopened without
 * faults and must hold exactly the writes that were acknowledged (in sync
 * mode every acknowledged write is durable), plus at most the one write in
 * flight when the fault hit. A fault must also never be hidden: once a log
 * write or sync failed, later writes are refused. The last test runs the
 * EIO sweep with values of 256 bytes and more separated (engine/vlog.h),
 * so that faults also hit the flush's scan of the log, the value files'
 * links and syncs, and reads through pointers.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golite.h"
#include "io.h"

#define KEYS 40
#define OPS 400
#define VMAX 2000

static char dir[64];

/* 0: the default threshold (no value of this test is separated). */
static size_t separate_from;

static void options(golite_options *o)
{
	golite_options_init(o);
	o->durability = GOLITE_SYNC;
	o->memtable_size = 64 << 10;
	o->sstable_size = 32 << 10;
	o->wal_buffer_size = 64 << 10;
	o->wal_segment_size = 1 << 20;
	o->log_level = GOLITE_LOG_ERROR;
	o->log = NULL;
	o->separate_values_from = separate_from;
}

static void quiet(void *ctx, enum golite_log_level l, const char *m)
{
	(void)ctx;
	(void)l;
	(void)m;
}

static void op_of(int i, char *key, size_t *klen, char *val, size_t *vlen, bool *del)
{
	unsigned x = (unsigned)i * 2654435761u;
	*klen = (size_t)snprintf(key, 16, "k%02u", x % KEYS);
	*del = x % 5 == 0;
	*vlen = (size_t)snprintf(val, VMAX, "v%d-%0*d", i, (int)(x >> 8) % (VMAX - 100), 0);
}

/* The model after n operations: value of each key or NULL. */
static void model(int n, char vals[KEYS][VMAX], bool present[KEYS])
{
	memset(present, 0, KEYS);
	for (int i = 0; i < n; i++) {
		char key[16];
		size_t kl, vl;
		bool del;
		char val[VMAX];
		op_of(i, key, &kl, val, &vl, &del);
		int k = atoi(key + 1);
		present[k] = !del;
		if (!del)
			memcpy(vals[k], val, vl + 1);
	}
}

static bool matches(golite *db, int n)
{
	static char vals[KEYS][VMAX];
	static bool present[KEYS];
	model(n, vals, present);
	for (int k = 0; k < KEYS; k++) {
		char key[16], got[VMAX];
		snprintf(key, sizeof(key), "k%02d", k);
		size_t vl;
		int r = golite_get_into(db, "t", key, strlen(key), got, sizeof(got), &vl);
		if (present[k] ? (r || vl != strlen(vals[k]) || memcmp(got, vals[k], vl))
			       : r != GOLITE_ENOTFOUND)
			return false;
	}
	return true;
}

struct fault {
	_Atomic long countdown;   /* the call that fails is the one reaching 0 */
	int err;                  /* errno to return, or 0 for a short write */
	_Atomic int fired;
};

static struct fault F;

static int inject(void *ctx, enum io_op op, const char *path, int fd, size_t *len)
{
	(void)ctx;
	(void)path;
	(void)fd;
	if (op == IO_CLOSE || op == IO_PREAD)
		return 0;   /* failures of these are not what this sweep studies */
	if (atomic_fetch_sub(&F.countdown, 1) != 1)
		return 0;
	atomic_store(&F.fired, 1);
	if (F.err)
		return F.err;
	if (op == IO_PWRITE && *len > 1) {
		*len /= 2;   /* a short write: half of it lands, then ENOSPC */
		return 0;
	}
	return EIO;
}

/* Runs the workload with a fault at the n-th I/O call; returns the number
 * of operations acknowledged, or -1 if the open itself failed. */
static int run(long n, int err, bool *refused_after_failure)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "rm -rf %s && mkdir -p %s", dir, dir);
	cr_assert_eq(system(cmd), 0);
	*refused_after_failure = true;
	golite_options o;
	options(&o);
	o.log = quiet;
	atomic_store(&F.countdown, n);
	F.err = err;
	atomic_store(&F.fired, 0);
	io_set_fault_hook(inject, NULL);
	golite *db;
	int r = golite_open(dir, &o, &db);
	if (r) {
		io_set_fault_hook(NULL, NULL);
		return -1;
	}
	r = golite_table_exists(db, "t") ? 0 : golite_table_create(db, "t");
	int acked = 0;
	bool failed_before = r != 0 && r != GOLITE_ENOSPC;
	char key[16], val[VMAX];
	for (int i = 0; i < OPS && !r; i++) {
		size_t kl, vl;
		bool del;
		op_of(i, key, &kl, val, &vl, &del);
		r = del ? golite_delete(db, "t", key, kl) : golite_put(db, "t", key, kl, val, vl);
		if (r == GOLITE_ENOSPC) {
			/* Refused, changed nothing: the same write again later. */
			r = 0;
			i--;
			io_set_fault_hook(NULL, NULL);
			continue;
		}
		if (r == 0) {
			if (failed_before)
				*refused_after_failure = false;
			acked = i + 1;
		}
	}
	if (r && r != GOLITE_ENOSPC) {
		/* After a failure, writes stay refused. */
		if (golite_put(db, "t", "k00", 3, "x", 1) == 0)
			*refused_after_failure = false;
	}
	golite_close(db);
	io_set_fault_hook(NULL, NULL);
	return acked;
}

/* Total I/O calls of a clean run (the range to sweep). */
static long calls_of_a_clean_run(void)
{
	atomic_store(&F.countdown, LONG_MAX);
	bool refused;
	F.err = EIO;
	cr_assert_eq(run(LONG_MAX, EIO, &refused), OPS);
	return LONG_MAX - atomic_load(&F.countdown);
}

/*
 * Sweeps the fault over the calls of the workload: every call with
 * GOLITE_FAULT_STEP=1 (`make torture`), every third by default. The store
 * lives on tmpfs: the faults are simulated, and syncs cost nothing there.
 */
static void sweep(int err, const char *name)
{
	strcpy(dir, "/dev/shm/golite-faults-XXXXXX");
	cr_assert(mkdtemp(dir));
	long step = getenv("GOLITE_FAULT_STEP") ? atol(getenv("GOLITE_FAULT_STEP")) : 3;
	if (step < 1)
		step = 1;
	long total = calls_of_a_clean_run();
	printf("%s: %ld I/O calls, failing every %ld%s\n", name, total, step,
	       step == 1 ? "" : " (GOLITE_FAULT_STEP=1 for all)");
	long fired = 0, runs = 0;
	for (long n = 1; n <= total; n += step, runs++) {
		bool refused;
		int acked = run(n, err, &refused);
		fired += atomic_load(&F.fired);
		cr_assert(refused, "%s at call %ld: a write was accepted after a failure", name, n);
		golite_options o;
		options(&o);
		o.log = quiet;
		golite *db;
		int r = golite_open(dir, &o, &db);
		cr_assert_eq(r, 0, "%s at call %ld: reopen failed: %s", name, n,
			     golite_last_error());
		if (acked < 0) {
			/* The open failed: the store holds nothing of the workload. */
			cr_assert(!golite_table_exists(db, "t") || matches(db, 0),
				  "%s at call %ld: a failed open left data", name, n);
		} else {
			bool table = golite_table_exists(db, "t");
			cr_assert(table || acked == 0, "%s at call %ld: the table is gone", name, n);
			cr_assert(!table || matches(db, acked) || matches(db, acked + 1),
				  "%s at call %ld: the store is not the %d acknowledged writes", name,
				  n, acked);
		}
		cr_assert_eq(golite_close(db), 0);
	}
	cr_expect_gt(fired, runs / 2, "%s: the faults fired", name);
	/* For scripts/torture.sh; reached only when every run checked out. */
	printf("summary: fault_runs=%ld faults=%ld lost=0 (%s)\n", runs, fired, name);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

Test(faults, every_io_call_failing_with_eio, .timeout = 600)
{
	sweep(EIO, "EIO");
}

Test(faults, every_io_call_failing_with_enospc, .timeout = 600)
{
	sweep(ENOSPC, "ENOSPC");
}

Test(faults, every_write_cut_short, .timeout = 600)
{
	sweep(0, "short write");
}

Test(faults, every_io_call_failing_with_eio_with_separated_values, .timeout = 600)
{
	separate_from = 256;
	sweep(EIO, "EIO, separated values");
}
