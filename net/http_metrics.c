/*
 * http_metrics.c — GET /metrics in the Prometheus text format (version
 * 0.0.4): every figure of golite_stats, then the server's own; and the
 * probes GET /healthz (the process answers) and GET /readyz (the store
 * takes writes: 503 once it has failed or refuses writes for space).
 *
 * Names are golite_<field of struct golite_stats>, with _total for
 * counters; each has # HELP and # TYPE lines. The probes need no token.
 */
#include "http_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golite_raw.h"
#include "util.h"

struct fig {
	const char *name;
	const char *type;            /* "counter" or "gauge" */
	size_t off;                  /* of a uint64_t in struct golite_stats */
	const char *help;
};

#define C(f, h) { #f "_total", "counter", offsetof(golite_stats, f), h }
#define G(f, h) { #f, "gauge", offsetof(golite_stats, f), h }
static const struct fig figs[] = {
	C(puts, "Keys written."),
	C(gets, "Keys read."),
	C(deletes, "Keys deleted."),
	C(batches, "Batches written."),
	G(last_sequence, "Sequence number of the newest write."),
	C(wal_bytes, "Bytes written to the log."),
	C(wal_syncs, "fdatasync calls on the log."),
	C(wal_group_commits, "Log writes that carried more than one writer."),
	G(memtable_bytes, "Arena bytes of the live memtables."),
	G(memtable_entries, "Entries in the live memtables."),
	G(sstable_count, "Tables on disk."),
	G(sstable_bytes, "Bytes of the tables on disk."),
	G(block_cache_bytes, "Bytes in the block cache."),
	C(stall_micros, "Microseconds writers were slowed or stopped."),
	C(wal_records, "Records appended to the log."),
	C(wal_writes, "write() calls on the log."),
	G(wal_group_p50, "Records per log write, median since open."),
	G(wal_group_p99, "Records per log write, 99th percentile since open."),
	G(wal_group_max, "Records per log write, most since open."),
	G(memtable_limit, "Size past which a memtable is frozen."),
	G(frozen_memtables, "Memtables waiting to be written as tables."),
	G(block_cache_capacity, "Capacity of the block cache in bytes."),
	C(flushes, "Memtables written as level-0 tables."),
	C(compactions, "Compactions done."),
	G(compactions_running, "Compactions running now."),
	C(compaction_bytes_read, "Table bytes compactions read."),
	C(compaction_bytes_written, "Table bytes compactions wrote."),
	G(compaction_debt_bytes, "Bytes above the levels' target sizes."),
	G(compaction_running_input_bytes, "Input bytes of the compactions running now."),
	G(compaction_running_merged_bytes, "Bytes merged so far by the compactions running now."),
	G(space_used, "Bytes of the store's files on disk."),
	G(space_free, "Free bytes of the file system."),
	G(space_limit, "max_size, 0 if none."),
	G(space_headroom, "Writes stop this far from full."),
	G(space_reserve, "Bytes held for deletes now."),
	G(space_reserve_target, "Bytes the reserve is kept at."),
	G(space_reclaimable, "Bytes of deleted data in tables, as the last reclaim pass found."),
	C(space_reclaimed, "Bytes given back by reclaim: tables dropped or rewritten, value files deleted."),
	C(space_refused, "Writes refused for space."),
	G(snapshots, "Live snapshots (named, and unnamed not yet freed)."),
	G(snapshot_oldest_sequence, "Sequence number of the oldest live snapshot, 0 if none."),
	C(snapshot_kept_versions, "Versions kept only because a snapshot could see them."),
	C(snapshot_kept_bytes, "Key and value bytes of the versions kept for snapshots."),
	C(expired_keys, "Keys deleted at their expiry."),
	G(expiry_next_ms, "Earliest expiry waiting in the expiry index, ms since the epoch (0: none)."),
	C(values_separated, "Values flushed as pointers into value files."),
	G(value_files, "Value files (log segments kept for large values)."),
	G(value_file_bytes, "Bytes of the value files on disk."),
	G(value_live_bytes, "Bytes of values the newest versions point at, as the collector last counted."),
	C(value_gc_passes, "Passes of the value collector."),
	C(value_gc_rewritten_files, "Value files whose live values the collector wrote again."),
	C(value_gc_rewritten_bytes, "Bytes of values the collector wrote again."),
	C(value_gc_deleted_files, "Value files the collector deleted."),
};
#undef C
#undef G

static void head(struct sbuf *b, const char *name, const char *type, const char *help)
{
	sb_printf(b, "# HELP golite_%s %s\n# TYPE golite_%s %s\n", name, help, name, type);
}

enum MHD_Result http_metrics(struct http_server *s, struct MHD_Connection *c)
{
	golite_stats st;
	int r = golite_stats_get(s->db, &st);
	if (r)
		return http_store_error(s, c, r, "stats");
	struct sbuf b = { 0 };
	for (size_t i = 0; i < ARRAY_SIZE(figs); i++) {
		uint64_t v;
		memcpy(&v, (const char *)&st + figs[i].off, sizeof(v));
		head(&b, figs[i].name, figs[i].type, figs[i].help);
		sb_printf(&b, "golite_%s %llu\n", figs[i].name, (unsigned long long)v);
	}
	head(&b, "failed", "gauge", "1 if the store refuses writes after an I/O error.");
	sb_printf(&b, "golite_failed %d\n", st.failed ? 1 : 0);
	head(&b, "space_state", "gauge",
	     "0 normal, 1 writes refused for space, 2 read-only.");
	sb_printf(&b, "golite_space_state %d\n", st.space_state);
	head(&b, "level_tables", "gauge", "Tables per level.");
	for (int l = 0; l < GOLITE_STATS_LEVELS; l++)
		sb_printf(&b, "golite_level_tables{level=\"%d\"} %llu\n", l,
			  (unsigned long long)st.level_tables[l]);
	head(&b, "level_bytes", "gauge", "Bytes of the tables per level.");
	for (int l = 0; l < GOLITE_STATS_LEVELS; l++)
		sb_printf(&b, "golite_level_bytes{level=\"%d\"} %llu\n", l,
			  (unsigned long long)st.level_bytes[l]);

	/* The server's own. */
	static const char *const routes[R_COUNT] = {
		"key", "list", "table", "tables", "batch", "events", "metrics", "health",
		"checkpoint", "snapshots", "other"
	};
	static const char *const classes[HTTP_CLASSES] = { "2xx", "3xx", "4xx", "5xx" };
	head(&b, "http_requests_total", "counter", "HTTP requests answered, by route and status class.");
	for (int rt = 0; rt < R_COUNT; rt++)
		for (int k = 0; k < HTTP_CLASSES; k++)
			sb_printf(&b, "golite_http_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
				  routes[rt], classes[k],
				  (unsigned long long)atomic_load_explicit(&s->requests[rt][k],
									   memory_order_relaxed));
	head(&b, "http_request_body_bytes_total", "counter", "Bytes of request bodies received.");
	sb_printf(&b, "golite_http_request_body_bytes_total %llu\n",
		  (unsigned long long)atomic_load(&s->bytes_in));
	head(&b, "http_value_bytes_total", "counter", "Bytes of values sent by GET.");
	sb_printf(&b, "golite_http_value_bytes_total %llu\n",
		  (unsigned long long)atomic_load(&s->bytes_out));
	head(&b, "http_connections", "gauge", "Open HTTP connections.");
	sb_printf(&b, "golite_http_connections %llu\n",
		  (unsigned long long)atomic_load(&s->conns_open));
	golite_feed_stats feed;
	golite_feed_stats_get(s->db, &feed);
	head(&b, "http_events_total", "counter",
	     "Events of the store's change feed (/v1/events) since open.");
	sb_printf(&b, "golite_http_events_total %llu\n", (unsigned long long)feed.events);
	head(&b, "http_start_time_seconds", "gauge", "When the server started, seconds since the epoch.");
	sb_printf(&b, "golite_http_start_time_seconds %lld\n",
		  (long long)(s->start_ns / 1000000000));

	struct MHD_Response *resp =
		MHD_create_response_from_buffer(b.len, b.p, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(b.p);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; version=0.0.4; charset=utf-8");
	return http_queue(s, c, MHD_HTTP_OK, resp);
}

enum MHD_Result http_health(struct http_server *s, struct MHD_Connection *c, bool ready)
{
	if (!ready)
		return http_json(s, c, MHD_HTTP_OK, "{\"status\":\"ok\"}\n", 16);
	golite_stats st;
	int r = golite_stats_get(s->db, &st);
	if (r)
		return http_store_error(s, c, r, "stats");
	if (st.failed)
		return http_error(s, c, 503, "unavailable",
				  "the store refuses writes after an I/O error");
	if (s->c.read_only)
		return http_json(s, c, MHD_HTTP_OK, "{\"status\":\"read_only\"}\n", 23);
	if (st.space_state != 0)
		return http_error(s, c, 503, "no_space", "the store refuses writes for space");
	return http_json(s, c, MHD_HTTP_OK, "{\"status\":\"ready\"}\n", 19);
}
