/*
 * metrics.c — request rates and latencies for /.golite/stats.
 *
 * Latencies. Reads, writes and fsyncs (fsync, fdatasync and fsyncdir) are
 * timed from their arrival in the handler to the reply, in nanoseconds
 * (CLOCK_MONOTONIC), into a log-linear histogram per kind (common/hist.h:
 * 8 buckets per power of two, so a percentile read from it is at most
 * 12.5% above the true value). Each FUSE thread adds to its own shard with
 * relaxed atomic adds: no lock on the request path.
 *
 * Rates. A sample of the cumulative figures (requests by operation, bytes
 * read and written, the latency histograms) is kept in a ring of
 * METRICS_SAMPLES. The background thread takes one at each wake-up (about
 * every second, sweep.c) and so does each open of the stats file, but only
 * when the newest sample is 0.9 s old or more. A rate "over N s" is the
 * count between the newest sample at least N s old and now, divided by
 * the time between them (printed as fs_rate_window_Ns_seconds): while
 * samples come every second, the window is N to N+1 s long; a store
 * mounted less than N s ago uses the sample taken at mount. Percentiles
 * "over 10 s" come from the same difference of histograms.
 *
 * Invariants:
 *   1. Samples in the ring are in time order, the newest at sample_next-1.
 *   2. Every sample holds counts that are sums of monotonic counters, so
 *      a later sample never holds less than an earlier one.
 */
#include "fs.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

#define SAMPLE_MIN_NS 900000000ull

void metrics_init(struct gfs *fs)
{
	mutex_init(&fs->metrics_mu);
	fs->samples = xcalloc(METRICS_SAMPLES, sizeof(*fs->samples));
	fs->sample_next = 0;
	metrics_sample(fs);
}

void metrics_destroy(struct gfs *fs)
{
	free(fs->samples);
	fs->samples = NULL;
	pthread_mutex_destroy(&fs->metrics_mu);
}

void metrics_latency(struct gfs *fs, enum gfs_lat k, uint64_t start_ns)
{
	uint64_t d = now_ns() - start_ns;
	struct gfs_lat_shard *s = &fs->lat[stat_shard()];
	atomic_fetch_add_explicit(&s->b[k][hist_bucket(d)], 1, memory_order_relaxed);
	uint64_t m = atomic_load_explicit(&s->max[k], memory_order_relaxed);
	while (d > m && !atomic_compare_exchange_weak_explicit(&s->max[k], &m, d,
								memory_order_relaxed,
								memory_order_relaxed))
		;
}

/* Sums the counters into s (s->t_ns is set by the caller). */
static void metrics_collect(struct gfs *fs, struct metrics_sample *s)
{
	memset(s->ops, 0, sizeof(s->ops));
	memset(s->lat, 0, sizeof(s->lat));
	for (int sh = 0; sh < STAT_SHARDS; sh++) {
		for (int i = 0; i < OP_COUNT; i++)
			s->ops[i] += atomic_load_explicit(&fs->ctr[sh].op[i], memory_order_relaxed);
		for (int k = 0; k < LAT_COUNT; k++)
			for (unsigned b = 0; b < HIST_BUCKETS; b++)
				s->lat[k][b] += atomic_load_explicit(&fs->lat[sh].b[k][b],
								     memory_order_relaxed);
	}
	s->bytes_read = atomic_load(&fs->bytes_read);
	s->bytes_written = atomic_load(&fs->bytes_written);
}

void metrics_sample(struct gfs *fs)
{
	mutex_lock(&fs->metrics_mu);
	uint64_t now = now_ns();
	struct metrics_sample *newest =
		&fs->samples[(fs->sample_next + METRICS_SAMPLES - 1) % METRICS_SAMPLES];
	if (!newest->t_ns || now - newest->t_ns >= SAMPLE_MIN_NS) {
		struct metrics_sample *s = &fs->samples[fs->sample_next];
		metrics_collect(fs, s);
		s->t_ns = now;
		fs->sample_next = (fs->sample_next + 1) % METRICS_SAMPLES;
	}
	mutex_unlock(&fs->metrics_mu);
}

/* The newest sample at least age_ns old, or the oldest one (metrics_mu
 * held). */
static const struct metrics_sample *sample_aged(struct gfs *fs, uint64_t now, uint64_t age_ns)
{
	const struct metrics_sample *oldest = NULL;
	for (unsigned i = 1; i <= METRICS_SAMPLES; i++) {
		const struct metrics_sample *s =
			&fs->samples[(fs->sample_next + METRICS_SAMPLES - i) % METRICS_SAMPLES];
		if (!s->t_ns)
			break;
		if (now - s->t_ns >= age_ns)
			return s;
		oldest = s;
	}
	return oldest;
}

/* Request kinds of the rate lines: a name and the operations it counts. */
static const struct rate_kind {
	const char *name;
	enum gfs_op ops[4];
	int n;               /* 0: every operation */
} rate_kinds[] = {
	{ "read", { OP_READ }, 1 },
	{ "write", { OP_WRITE }, 1 },
	{ "fsync", { OP_FSYNC, OP_FSYNCDIR }, 2 },
	{ "create", { OP_CREATE, OP_MKNOD, OP_MKDIR, OP_SYMLINK }, 4 },
	{ "remove", { OP_UNLINK, OP_RMDIR }, 2 },
	{ "rename", { OP_RENAME }, 1 },
	{ "setattr", { OP_SETATTR }, 1 },
	{ "lookup", { OP_LOOKUP }, 1 },
	{ "getattr", { OP_GETATTR }, 1 },
	{ "open", { OP_OPEN, OP_OPENDIR }, 2 },
	{ "readdir", { OP_READDIR, OP_READDIRPLUS }, 2 },
	{ "xattr", { OP_SETXATTR, OP_GETXATTR, OP_LISTXATTR, OP_REMOVEXATTR }, 4 },
	{ "total", { 0 }, 0 },
};

static uint64_t kind_count(const struct rate_kind *k, const uint64_t *ops)
{
	uint64_t n = 0;
	if (k->n == 0) {
		for (int i = 0; i < OP_COUNT; i++)
			n += ops[i];
		return n;
	}
	for (int i = 0; i < k->n; i++)
		n += ops[k->ops[i]];
	return n;
}

static const char *const lat_names[LAT_COUNT] = { "read", "write", "fsync" };

static void latency_lines(FILE *f, const char *kind, const char *window, const uint64_t *c,
			  uint64_t max)
{
	uint64_t count = 0;
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		count += c[b];
	static const struct {
		const char *name;
		double q;
	} qs[] = { { "p50", 0.50 }, { "p90", 0.90 }, { "p99", 0.99 }, { "p999", 0.999 } };
	fprintf(f, "fs_latency_%s%s_count %llu\n", kind, window, (unsigned long long)count);
	for (size_t i = 0; i < ARRAY_SIZE(qs); i++)
		fprintf(f, "fs_latency_%s%s_%s_ns %llu\n", kind, window, qs[i].name,
			(unsigned long long)hist_quantile(c, qs[i].q, max));
	fprintf(f, "fs_latency_%s%s_max_ns %llu\n", kind, window, (unsigned long long)max);
}

void metrics_write(struct gfs *fs, FILE *f)
{
	struct metrics_sample *now_s = xmalloc(sizeof(*now_s));
	mutex_lock(&fs->metrics_mu);
	uint64_t now = now_ns();
	metrics_collect(fs, now_s);
	static const struct {
		const char *suffix;
		uint64_t age_ns;
	} windows[] = { { "1s", 1000000000ull }, { "10s", 10000000000ull } };
	const struct metrics_sample *ten = NULL;
	for (size_t w = 0; w < ARRAY_SIZE(windows); w++) {
		const struct metrics_sample *s = sample_aged(fs, now, windows[w].age_ns);
		double secs = s ? (double)(now - s->t_ns) / 1e9 : 0;
		fprintf(f, "fs_rate_window_%s_seconds %.3f\n", windows[w].suffix, secs);
		for (size_t k = 0; k < ARRAY_SIZE(rate_kinds); k++) {
			uint64_t d = s ? kind_count(&rate_kinds[k], now_s->ops) -
						 kind_count(&rate_kinds[k], s->ops)
				       : 0;
			fprintf(f, "fs_rate_%s_%s %.1f\n", rate_kinds[k].name, windows[w].suffix,
				secs > 0 ? (double)d / secs : 0.0);
		}
		fprintf(f, "fs_rate_read_bytes_%s %.0f\n", windows[w].suffix,
			secs > 0 && s ? (double)(now_s->bytes_read - s->bytes_read) / secs : 0.0);
		fprintf(f, "fs_rate_write_bytes_%s %.0f\n", windows[w].suffix,
			secs > 0 && s ? (double)(now_s->bytes_written - s->bytes_written) / secs : 0.0);
		if (w == 1)
			ten = s;
	}
	/* Since mount, then over the 10 s window (whose max is the bound of
	 * its highest bucket, not above the max since mount). */
	uint64_t max[LAT_COUNT] = { 0 };
	for (int k = 0; k < LAT_COUNT; k++) {
		for (int sh = 0; sh < STAT_SHARDS; sh++)
			max[k] = MAX(max[k],
				     atomic_load_explicit(&fs->lat[sh].max[k], memory_order_relaxed));
		latency_lines(f, lat_names[k], "", now_s->lat[k], max[k]);
	}
	uint64_t *d = xmalloc(sizeof(uint64_t) * HIST_BUCKETS);
	for (int k = 0; k < LAT_COUNT; k++) {
		for (unsigned b = 0; b < HIST_BUCKETS; b++)
			d[b] = now_s->lat[k][b] - (ten ? ten->lat[k][b] : 0);
		latency_lines(f, lat_names[k], "_10s", d, MIN(hist_max_bound(d), max[k]));
	}
	mutex_unlock(&fs->metrics_mu);
	free(d);
	free(now_s);
}
