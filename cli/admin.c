/*
 * admin.c — golite stats, check, compact, repair: looking after a store
 * that is not mounted.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "golite_raw.h"
#include "golite_tools.h"
#include "util.h"


/* ---- stats ---- */

/* Writes a table key as "table/key", the table by name when it has one. */
static void put_table_key(golite *db, const golite_table_key *k)
{
	if (!k->valid) {
		fputs("?", stdout);
		return;
	}
	char name[GOLITE_MAX_KEY_SIZE + 1];
	if (golite_table_name(db, k->table, name, sizeof(name)) == 0)
		cli_put_escaped(stdout, name, strlen(name));
	else if (k->table == GOLITE_TABLE_CATALOG)
		fputs("(catalog)", stdout);
	else if (k->table == GOLITE_TABLE_CHUNKS)
		fputs("(chunks)", stdout);
	else if (k->table == GOLITE_TABLE_FS)
		fputs("(fs)", stdout);
	else
		printf("(table %u)", k->table);
	fputc('/', stdout);
	cli_put_escaped(stdout, k->key, k->len);
}

static void print_tables(const char *dir, golite *db)
{
	golite_info *info;
	int r = golite_store_info(dir, &info);
	if (r) {
		cli_fail("reading the manifest", r);
		return;
	}
	char a[32];
	printf("\n# level  tables  bytes  entries  deletions\n");
	for (uint32_t l = 0; l < GOLITE_LEVELS; l++)
		printf("L%u  %" PRIu64 "  %s  %" PRIu64 "  %" PRIu64 "\n", l, info->level_tables[l],
		       size_text(info->level_bytes[l], a), info->level_entries[l],
		       info->level_deletions[l]);
	printf("\n# tables: level  file  bytes  entries  deletions  sequences  keys\n");
	for (size_t i = 0; i < info->ntables; i++) {
		const golite_table_file *f = &info->tables[i];
		printf("L%u  %s  %" PRIu64 "  %" PRIu64 "  %" PRIu64 "  %" PRIu64 "..%" PRIu64 "  ",
		       f->level, f->name, f->file_size, f->entries, f->deletions, f->min_seq,
		       f->max_seq);
		put_table_key(db, &f->smallest);
		fputs(" .. ", stdout);
		put_table_key(db, &f->largest);
		fputc('\n', stdout);
	}
	printf("\n# log segments: file  bytes\n");
	for (size_t i = 0; i < info->nlogs; i++)
		printf("%s  %" PRIu64 "%s\n", info->logs[i].name, info->logs[i].size,
		       info->logs[i].flushed ? "  (flushed)" : "");
	golite_store_info_free(info);
}

int cmd_stats(int argc, char **argv)
{
	int status = cli_plain_args(argc, argv, 1, 1);
	if (status >= 0)
		return status;
	const char *dir = argv[optind];
	golite *db = cli_open(dir, CLI_READ);
	if (!db)
		return EXIT_ERROR;
	char *text;
	int r = golite_stats_text(db, &text);
	if (r) {
		cli_fail("stats", r);
		return cli_close(db, EXIT_ERROR);
	}
	fputs(text, stdout);
	golite_free(text);
	print_tables(dir, db);
	return cli_close(db, 0);
}

/* ---- check and repair: printing findings ---- */

struct printer {
	uint64_t shown;
};

static void print_finding(void *ctx, const golite_finding *f)
{
	struct printer *p = ctx;
	static const char *const label[] = { "problem", "note", "fixed", "lost" };
	progress_clear();
	if (f->offset == GOLITE_NO_OFFSET)
		printf("%s: %s: %s\n", f->path, label[f->kind], f->msg);
	else
		printf("%s:%" PRIu64 ": %s: %s\n", f->path, f->offset, label[f->kind], f->msg);
	fflush(stdout);
	p->shown++;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "quiet", no_argument, NULL, 'q' }, HELP_OPTION, END_OPTIONS,
	};
	struct printer pr = { 0 };
	bool quiet = false;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "qh", longs, &status)) != -1)
		if (c == 'q')
			quiet = true;
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 1, 1))
		return EXIT_ERROR;
	const char *path = argv[optind];
	golite_check_options o = {
		.report = print_finding,
		.report_ctx = &pr,
		.quiet = quiet,
		.progress = cli.quiet ? NULL : progress_report,
	};
	golite_check_stats st;
	int r = golite_check(path, &o, &st);
	progress_end();
	if (r) {
		cli_fail(NULL, r);
		return EXIT_ERROR;
	}
	char a[32], b[32];
#define PL(n) ((n) == 1 ? "" : "s")
	char values[64] = "";
	if (st.values_checked)
		snprintf(values, sizeof(values), ", %" PRIu64 " separated value%s",
			 st.values_checked, PL(st.values_checked));
	printf("checked %" PRIu64 " log segment%s (%" PRIu64 " record%s, %s), %" PRIu64
	       " table%s (%" PRIu64 " block%s, %" PRIu64 " entr%s, %s), %" PRIu64
	       " manifest edit%s%s: %s",
	       st.wal_segments, PL(st.wal_segments), st.wal_records, PL(st.wal_records),
	       size_text(st.wal_bytes, a), st.tables, PL(st.tables), st.blocks, PL(st.blocks),
	       st.entries, st.entries == 1 ? "y" : "ies", size_text(st.table_bytes, b),
	       st.manifest_edits, PL(st.manifest_edits), values, st.problems ? "" : "clean");
#undef PL
	if (st.problems)
		printf("%" PRIu64 " problem%s", st.problems, st.problems == 1 ? "" : "s");
	if (st.notes)
		printf(" (%" PRIu64 " note%s)", st.notes, st.notes == 1 ? "" : "s");
	putchar('\n');
	return st.problems ? 1 : 0;
}

int cmd_repair(int argc, char **argv)
{
	int status = cli_plain_args(argc, argv, 1, 1);
	if (status >= 0)
		return status;
	const char *dir = argv[optind];
	struct printer pr = { 0 };
	golite_check_options o = {
		.report = print_finding,
		.report_ctx = &pr,
		.progress = cli.quiet ? NULL : progress_report,
		.sstable_size = cli.opts.sstable_size,
	};
	golite_repair_stats st;
	int r = golite_repair(dir, &o, &st);
	progress_end();
	if (r) {
		cli_fail("repair", r);
		return EXIT_ERROR;
	}
	if (!st.changed) {
		printf("nothing to repair\n");
	} else {
		char a[32];
		printf("log: %" PRIu64 " records kept", st.wal_records_kept);
		if (st.wal_ranges_dropped || st.wal_records_dropped)
			printf(", %s dropped (%" PRIu64 " damaged range%s, %" PRIu64
			       " unusable record%s)", size_text(st.wal_bytes_dropped, a),
			       st.wal_ranges_dropped, st.wal_ranges_dropped == 1 ? "" : "s",
			       st.wal_records_dropped, st.wal_records_dropped == 1 ? "" : "s");
		printf("\ntables: %" PRIu64 " kept as they were", st.tables_kept);
		if (st.tables_salvaged)
			printf(", %" PRIu64 " salvaged (%" PRIu64 " entries kept, %" PRIu64
			       " damaged block%s dropped)", st.tables_salvaged, st.entries_salvaged,
			       st.blocks_dropped, st.blocks_dropped == 1 ? "" : "s");
		if (st.tables_missing)
			printf(", %" PRIu64 " missing", st.tables_missing);
		if (st.tables_written)
			printf(", %" PRIu64 " written by a merge", st.tables_written);
		printf("\n");
		if (st.values_dropped)
			printf("separated values: %" PRIu64 " unreadable, their key%s deleted\n",
			       st.values_dropped, st.values_dropped == 1 ? "" : "s");
		if (st.manifest_rebuilt)
			printf("manifest: rebuilt\n");
		if (st.catalog_fixed)
			printf("table catalog: fixed\n");
		if (st.lost_dir[0])
			printf("damaged and replaced files are kept in %s\n", st.lost_dir);
	}
	if (st.problems_after) {
		cli_error("the store still has %" PRIu64 " problems (run `golite check %s`)",
			  st.problems_after, dir);
		return EXIT_ERROR;
	}
	return 0;
}

/* ---- compact ---- */

int cmd_compact(int argc, char **argv)
{
	int status = cli_plain_args(argc, argv, 1, 2);
	if (status >= 0)
		return status;
	const char *table = optind + 1 < argc ? argv[optind + 1] : NULL;
	golite *db = cli_open(argv[optind], CLI_WRITE);
	if (!db)
		return EXIT_ERROR;
	golite_stats before, after;
	golite_stats_get(db, &before);
	int r = golite_compact_range(db, table, NULL, 0, NULL, 0);
	progress_end();
	if (r == GOLITE_ENOTABLE) {
		cli_error("no table \"%s\"", table);
		return cli_close(db, EXIT_NOTFOUND);
	}
	if (r) {
		cli_fail("compact", r);
		return cli_close(db, EXIT_ERROR);
	}
	golite_stats_get(db, &after);
	char a[32], b[32];
	printf("compacted: %" PRIu64 " tables (%s) before, %" PRIu64 " tables (%s) after\n",
	       before.sstable_count, size_text(before.sstable_bytes, a), after.sstable_count,
	       size_text(after.sstable_bytes, b));
	return cli_close(db, 0);
}
