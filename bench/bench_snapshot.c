/*
 * bench_snapshot.c — golite-bench-snapshot: what a snapshot held across
 * overwrites costs in space and in bytes written, and that the space comes
 * back once it is released. Bytes only, no times: the figures do not
 * depend on the machine's load.
 *
 * One store, N keys (16 bytes, bench_key) with 100-byte values
 * (bench_values), through the public API (golite.h), default options, one
 * table. The phases, in order:
 *
 *   1. fill          every key once, random order (bench_perm), batches
 *                    of 1000 puts (golite_write); then wait until background
 *                    work stops
 *   2. compact       golite_compact_range(NULL..NULL): the starting point
 *                    of both overwrites below, one version of every key
 *   3. overwrite, snapshot held
 *                    golite_snapshot_new, every key once more with new
 *                    values (another random order), compact fully
 *   4. snapshot released
 *                    golite_snapshot_free, compact fully
 *   5. overwrite, no snapshot
 *                    every key once more, compact fully (the baseline of 3)
 *   6. compact again compact fully with nothing to drop (the baseline of 4)
 *
 * After each phase: the bytes it put (keys + values), the bytes the engine
 * wrote during it (golite_stats_text: wal_bytes, flush_bytes,
 * compaction_bytes_written, as deltas), write amplification = engine bytes
 * / user bytes, the table bytes (sstable_bytes), the bytes the store's
 * files take on disk (st_blocks, without the preallocated RESERVE, which
 * is given separately), and space amplification = those files / live key
 * and value bytes (N x 116). Before the snapshot is freed, 1000 random keys
 * are read at it and now, and must hold the old and the new value.
 *
 * Invariants:
 *   1. The harness holds no per-key memory: orders are computed per key,
 *      writes go in batches of BATCH puts, so N = 10 million costs what
 *      N = 100,000 does (the store aside).
 *   2. Every figure is a byte count read after the phase's work has
 *      returned and background work has stopped (wait_idle).
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <golite.h>

#include "bench.h"

#define TABLE "bench"
#define VALUE_SIZE 100
#define BATCH 1000
#define CHECK_KEYS 1000
#define SEED 301

enum { PHASES = 6 };

/* Engine counters (golite_stats_text) and space, at one moment. */
struct counters {
	uint64_t wal, flush, compact;   /* bytes written, since open */
	uint64_t tables;                /* sstable_bytes */
	uint64_t files, reserve;        /* st_blocks of the files, of RESERVE */
	uint64_t kept;                  /* snapshot_kept_bytes, since open */
};

struct phase {
	const char *name;
	uint64_t user;                  /* key and value bytes put */
	struct counters before, after;
};

static void die(const char *what, int rc)
{
	fprintf(stderr, "golite-bench-snapshot: %s: %s (%s)\n", what,
		golite_strerror(rc), golite_last_error());
	exit(1);
}

static uint64_t stat_field(const char *text, const char *name)
{
	size_t len = strlen(name);
	for (const char *p = text; *p; ) {
		if (strncmp(p, name, len) == 0 && p[len] == ' ')
			return strtoull(p + len + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	fprintf(stderr, "golite-bench-snapshot: no \"%s\" in golite_stats_text\n", name);
	exit(1);
}

static uint64_t files_bytes, reserve_bytes;

static int add_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	if (type != FTW_F)
		return 0;
	if (strcmp(path + ftw->base, "RESERVE") == 0)
		reserve_bytes += (uint64_t)st->st_blocks * 512;
	else
		files_bytes += (uint64_t)st->st_blocks * 512;
	return 0;
}

static void read_counters(golite *db, const char *dir, struct counters *c)
{
	char *text;
	int rc = golite_stats_text(db, &text);
	if (rc != 0)
		die("golite_stats_text", rc);
	c->wal = stat_field(text, "wal_bytes");
	c->flush = stat_field(text, "flush_bytes");
	c->compact = stat_field(text, "compaction_bytes_written");
	c->tables = stat_field(text, "sstable_bytes");
	c->kept = stat_field(text, "snapshot_kept_bytes");
	golite_free(text);
	files_bytes = reserve_bytes = 0;
	nftw(dir, add_file, 16, FTW_PHYS);
	c->files = files_bytes;
	c->reserve = reserve_bytes;
}

/* Waits until no memtable waits for a flush and no compaction runs, seen
 * five times in a row 200 ms apart (invariant 2); at most 30 minutes. */
static void wait_idle(golite *db)
{
	int quiet = 0;
	for (int i = 0; i < 9000 && quiet < 5; i++) {
		golite_stats s;
		int rc = golite_stats_get(db, &s);
		if (rc != 0)
			die("golite_stats_get", rc);
		quiet = s.frozen_memtables == 0 && s.compactions_running == 0 ? quiet + 1 : 0;
		struct timespec nap = { 0, 200 * 1000000L };
		nanosleep(&nap, NULL);
	}
	if (quiet < 5)
		fprintf(stderr, "golite-bench-snapshot: background work still running after 30 min\n");
}

/* Puts every key once, value generation gen, in the random order of seed.
 * Returns the key and value bytes put. */
static uint64_t write_all(golite *db, uint64_t n, uint32_t gen, uint64_t seed,
			  const struct bench_values *v)
{
	golite_batch *b = golite_batch_new();
	struct bench_perm perm;
	char key[BENCH_KEY_SIZE];
	int rc;

	if (b == NULL) {
		fprintf(stderr, "golite-bench-snapshot: out of memory\n");
		exit(1);
	}
	bench_perm_init(&perm, n, seed);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t k = bench_perm_at(&perm, i);
		bench_key(key, k);
		rc = golite_batch_put(b, TABLE, key, sizeof(key), bench_value(v, k, gen), VALUE_SIZE);
		if (rc != 0)
			die("golite_batch_put", rc);
		if (golite_batch_count(b) == BATCH || i + 1 == n) {
			rc = golite_write(db, b);
			if (rc != 0)
				die("golite_write", rc);
			golite_batch_clear(b);
		}
	}
	golite_batch_free(b);
	return n * (BENCH_KEY_SIZE + VALUE_SIZE);
}

static void compact(golite *db)
{
	int rc = golite_compact_range(db, NULL, NULL, 0, NULL, 0);
	if (rc != 0)
		die("golite_compact_range", rc);
	wait_idle(db);
}

/* Reads CHECK_KEYS random keys at snap and now: they must hold generation
 * old and new. */
static void check_versions(golite *db, const golite_snapshot *snap, uint64_t n,
			   uint32_t old, uint32_t new, const struct bench_values *v)
{
	char key[BENCH_KEY_SIZE];
	struct bench_rng rng = { SEED };

	for (int i = 0; i < CHECK_KEYS; i++) {
		uint64_t k = bench_rng_below(&rng, n);
		bench_key(key, k);
		for (int at = 0; at < 2; at++) {
			uint32_t gen = at == 0 ? old : new;
			void *val;
			size_t vlen;
			int rc = golite_get_at(db, at == 0 ? snap : NULL, TABLE, key,
					       sizeof(key), &val, &vlen);
			if (rc != 0)
				die("golite_get_at", rc);
			if (vlen != VALUE_SIZE || memcmp(val, bench_value(v, k, gen), VALUE_SIZE) != 0) {
				fprintf(stderr, "golite-bench-snapshot: key %llu: wrong value %s\n",
					(unsigned long long)k, at == 0 ? "at the snapshot" : "now");
				exit(1);
			}
			golite_free(val);
		}
	}
}

static uint64_t engine_bytes(const struct phase *p)
{
	return (p->after.wal - p->before.wal) + (p->after.flush - p->before.flush) +
	       (p->after.compact - p->before.compact);
}

static double mb(uint64_t bytes)
{
	return (double)bytes / 1e6;
}

static void report(FILE *f, const struct phase *ph, int count, uint64_t n,
		   const char *commit)
{
	uint64_t live = n * (BENCH_KEY_SIZE + VALUE_SIZE);
	char date[64];
	time_t now = time(NULL);

	strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	fprintf(f, "golite-bench-snapshot: %llu keys of %d bytes, values of %d bytes, "
		"random order, batches of %d, default options, seed %d\n",
		(unsigned long long)n, BENCH_KEY_SIZE, VALUE_SIZE, BATCH, SEED);
	fprintf(f, "date: %s, commit %s\n", date, commit);
	fprintf(f, "live key+value bytes: %.1f MB. MB are 10^6 bytes. user: key+value bytes put;\n"
		"log, flush, compaction: bytes the engine wrote (golite_stats_text wal_bytes,\n"
		"flush_bytes, compaction_bytes_written) during the phase; w-amp: their sum / user;\n"
		"tables: sstable_bytes after it; files: disk blocks of the store's files\n"
		"after it, RESERVE (%.1f MB) left out; s-amp: files / live; kept: bytes\n"
		"flushes and compactions kept for the snapshot during the phase, counted\n"
		"once by each that kept them (snapshot_kept_bytes).\n\n",
		mb(live), mb(ph[count - 1].after.reserve));
	fprintf(f, "| phase | user MB | log MB | flush MB | compaction MB | engine MB | w-amp "
		"| tables MB | files MB | s-amp | kept MB |\n");
	fprintf(f, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");
	for (int i = 0; i < count; i++) {
		const struct phase *p = &ph[i];
		uint64_t e = engine_bytes(p);
		char wamp[32] = "-";
		if (p->user)
			snprintf(wamp, sizeof(wamp), "%.2f", (double)e / (double)p->user);
		fprintf(f, "| %s | %.1f | %.1f | %.1f | %.1f | %.1f | %s | %.1f | %.1f | %.2f | %.1f |\n",
			p->name, mb(p->user), mb(p->after.wal - p->before.wal),
			mb(p->after.flush - p->before.flush),
			mb(p->after.compact - p->before.compact), mb(e), wamp,
			mb(p->after.tables), mb(p->after.files),
			(double)p->after.files / (double)live, mb(p->after.kept - p->before.kept));
	}
	if (count == PHASES) {
		double with = (double)(engine_bytes(&ph[2]) + engine_bytes(&ph[3])) / (double)ph[2].user;
		double without = (double)(engine_bytes(&ph[4]) + engine_bytes(&ph[5])) / (double)ph[4].user;
		fprintf(f, "\noverwrite + two full compactions, write amplification: %.2f with the "
			"snapshot (phases 3-4), %.2f without (phases 5-6)\n", with, without);
		fprintf(f, "space: %.2fx live with the snapshot held, %.2fx after its release, "
			"%.2fx after the overwrite without one\n",
			(double)ph[2].after.files / (double)live,
			(double)ph[3].after.files / (double)live,
			(double)ph[4].after.files / (double)live);
	}
}

static uint64_t parse_num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (*end == 'k')
		v *= 1000, end++;
	else if (*end == 'm')
		v *= 1000000, end++;
	if (end == s || *end != '\0' || v == 0) {
		fprintf(stderr, "golite-bench-snapshot: bad number of keys: %s\n", s);
		exit(2);
	}
	return v;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: golite-bench-snapshot [--num N] [--dir DIR] [--out FILE] [--commit TEXT]\n"
		"  --num N      keys (default 10000000, or $GOLITE_BENCH_NUM); suffixes k and m\n"
		"  --dir DIR    where to make the store (default /tmp/golite-bench-snapshot-PID);\n"
		"               must not exist; removed afterwards\n"
		"  --out FILE   also write the report to FILE\n"
		"  --commit T   the commit named in the report's header\n"
		"  --keep       leave the store in DIR\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t n = 10000000;
	const char *out = NULL, *commit = "unknown";
	bool keep = false;
	char dir[4096];
	const char *env = getenv("GOLITE_BENCH_NUM");
	struct phase ph[PHASES] = {
		{ .name = "1 fill" },
		{ .name = "2 compact" },
		{ .name = "3 overwrite, snapshot held, compact" },
		{ .name = "4 snapshot released, compact" },
		{ .name = "5 overwrite, no snapshot, compact" },
		{ .name = "6 compact again" },
	};
	struct bench_values values;
	golite_snapshot *snap;
	golite *db;
	int rc;

	snprintf(dir, sizeof(dir), "/tmp/golite-bench-snapshot-%d", (int)getpid());
	if (env != NULL && *env != '\0')
		n = parse_num(env);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--keep") == 0) {
			keep = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (strcmp(argv[i], "--num") == 0)
			n = parse_num(argv[++i]);
		else if (strcmp(argv[i], "--dir") == 0)
			snprintf(dir, sizeof(dir), "%s", argv[++i]);
		else if (strcmp(argv[i], "--out") == 0)
			out = argv[++i];
		else if (strcmp(argv[i], "--commit") == 0)
			commit = argv[++i];
		else
			usage();
	}
	if (access(dir, F_OK) == 0) {
		fprintf(stderr, "golite-bench-snapshot: %s exists\n", dir);
		return 2;
	}

	bench_values_init(&values, VALUE_SIZE, SEED);
	rc = golite_open(dir, NULL, &db);
	if (rc != 0)
		die("golite_open", rc);
	rc = golite_table_create(db, TABLE);
	if (rc != 0)
		die("golite_table_create", rc);

	fprintf(stderr, "%s: %llu keys\n", dir, (unsigned long long)n);
	for (int i = 0; i < PHASES; i++) {
		struct phase *p = &ph[i];
		fprintf(stderr, "phase %s\n", p->name);
		read_counters(db, dir, &p->before);
		switch (i) {
		case 0:
			p->user = write_all(db, n, 0, SEED, &values);
			wait_idle(db);
			break;
		case 1:
			compact(db);
			break;
		case 2:
			rc = golite_snapshot_new(db, &snap);
			if (rc != 0)
				die("golite_snapshot_new", rc);
			p->user = write_all(db, n, 1, SEED + 1, &values);
			compact(db);
			check_versions(db, snap, n, 0, 1, &values);
			break;
		case 3:
			golite_snapshot_free(snap);
			compact(db);
			break;
		case 4:
			p->user = write_all(db, n, 2, SEED + 2, &values);
			compact(db);
			break;
		case 5:
			compact(db);
			break;
		}
		read_counters(db, dir, &p->after);
	}

	report(stdout, ph, PHASES, n, commit);
	if (out != NULL) {
		FILE *f = fopen(out, "w");
		if (f == NULL) {
			fprintf(stderr, "golite-bench-snapshot: %s: %s\n", out, strerror(errno));
			return 1;
		}
		report(f, ph, PHASES, n, commit);
		fclose(f);
	}

	rc = golite_close(db);
	if (rc != 0)
		die("golite_close", rc);
	bench_values_free(&values);
	rc = keep ? 0 : bench_rmtree(dir);
	if (rc != 0)
		fprintf(stderr, "golite-bench-snapshot: removing %s: %s\n", dir, strerror(-rc));
	return 0;
}
