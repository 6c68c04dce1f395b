/*
 * admin.c — golite stats, check, compact, repair: looking after a store
 * that is not mounted.
 */
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "cli.h"
#include "filename.h"
#include "format.h"
#include "io.h"
#include "manifest.h"
#include "golite_raw.h"
#include "util.h"
#include "wal.h"

#define HELP_OPTION { "help", no_argument, NULL, 'h' }
#define END_OPTIONS { NULL, 0, NULL, 0 }

/* ---- stats ---- */

struct names {
	char **list;
	size_t n;
	uint32_t *ids;
};

static void names_load(golite *db, struct names *nm)
{
	memset(nm, 0, sizeof(*nm));
	if (golite_table_list(db, &nm->list, &nm->n))
		return;
	nm->ids = calloc(nm->n + 1, sizeof(*nm->ids));
	if (!nm->ids)
		abort();
	for (size_t i = 0; i < nm->n; i++)
		golite_table_id(db, nm->list[i], &nm->ids[i]);
}

static void names_free(struct names *nm)
{
	golite_free(nm->list);
	free(nm->ids);
}

/* "table/key" of an SSTable key (ikey + trailer), escaped. */
static void put_table_key(const struct names *nm, const uint8_t *k, size_t len)
{
	if (len < IKEY_PREFIX + TRAILER_SIZE) {
		fputs("?", stdout);
		return;
	}
	uint32_t id = ikey_table(k);
	const char *name = NULL;
	for (size_t i = 0; i < nm->n && !name; i++)
		if (nm->ids[i] == id)
			name = nm->list[i];
	if (name)
		cli_put_escaped(stdout, name, strlen(name));
	else if (id == TABLE_ID_CATALOG)
		fputs("(catalog)", stdout);
	else if (id == TABLE_ID_CHUNKS)
		fputs("(chunks)", stdout);
	else if (id == TABLE_ID_FS)
		fputs("(fs)", stdout);
	else
		printf("(table %u)", id);
	fputc('/', stdout);
	cli_put_escaped(stdout, k + IKEY_PREFIX, len - IKEY_PREFIX - TRAILER_SIZE);
}

static int cmp_files(const void *a, const void *b)
{
	const struct manifest_file *x = a, *y = b;
	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	if (x->level == 0) {
		if (x->meta.max_seq != y->meta.max_seq)
			return x->meta.max_seq > y->meta.max_seq ? -1 : 1;
		return x->meta.file_no > y->meta.file_no ? -1 : 1;
	}
	size_t n = MIN(x->meta.smallest_len, y->meta.smallest_len);
	int c = memcmp(x->meta.smallest, y->meta.smallest, n);
	return c ? c : (x->meta.smallest_len > y->meta.smallest_len) - (x->meta.smallest_len < y->meta.smallest_len);
}

static void print_tables(const char *dir, golite *db)
{
	struct manifest m;
	int r = manifest_read(dir, &m);
	if (r == GOLITE_ENOTFOUND)
		memset(&m, 0, sizeof(m));
	else if (r) {
		cli_fail("reading the manifest", r);
		return;
	}
	struct names nm;
	names_load(db, &nm);
	char a[32];
	printf("\n# level  tables  bytes  entries  deletions\n");
	for (uint32_t l = 0; l < NUM_LEVELS; l++) {
		uint64_t n = 0, bytes = 0, entries = 0, dels = 0;
		for (size_t i = 0; i < m.nfiles; i++) {
			if (m.files[i].level != l)
				continue;
			n++;
			bytes += m.files[i].meta.file_size;
			entries += m.files[i].meta.entries;
			dels += m.files[i].meta.deletions;
		}
		printf("L%u  %" PRIu64 "  %s  %" PRIu64 "  %" PRIu64 "\n", l, n, size_text(bytes, a),
		       entries, dels);
	}
	/* Level 0 newest first as the manifest keeps it; deeper levels in key
	 * order. */
	qsort(m.files, m.nfiles, sizeof(*m.files), cmp_files);
	printf("\n# tables: level  file  bytes  entries  deletions  sequences  keys\n");
	for (uint32_t l = 0; l < NUM_LEVELS; l++)
		for (size_t i = 0; i < m.nfiles; i++) {
			const struct sst_meta *f = &m.files[i].meta;
			if (m.files[i].level != l)
				continue;
			char name[FILE_NAME_MAX];
			file_name(name, sizeof(name), FILE_TABLE, f->file_no);
			printf("L%u  %s  %" PRIu64 "  %" PRIu64 "  %" PRIu64 "  %" PRIu64 "..%" PRIu64
			       "  ", l, name, f->file_size, f->entries, f->deletions, f->min_seq,
			       f->max_seq);
			put_table_key(&nm, f->smallest, f->smallest_len);
			fputs(" .. ", stdout);
			put_table_key(&nm, f->largest, f->largest_len);
			fputc('\n', stdout);
		}
	uint64_t *segs;
	size_t nseg;
	if (file_list(dir, FILE_WAL, &segs, &nseg) == 0) {
		printf("\n# log segments: file  bytes\n");
		for (size_t i = 0; i < nseg; i++) {
			char p[PATH_MAX], name[FILE_NAME_MAX];
			struct stat st;
			file_path(p, sizeof(p), dir, FILE_WAL, segs[i]);
			file_name(name, sizeof(name), FILE_WAL, segs[i]);
			if (stat(p, &st) == 0)
				printf("%s  %lld%s\n", name, (long long)st.st_size,
				       segs[i] < m.log_number ? "  (flushed)" : "");
		}
		free(segs);
	}
	names_free(&nm);
	manifest_free(&m);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option longs[] = { HELP_OPTION, END_OPTIONS };
	int status = -1;
	while (cli_getopt(argc, argv, "h", longs, &status) != -1)
		;
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 1, 1))
		return EXIT_ERROR;
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
	bool quiet;                   /* skip notes */
	uint64_t shown;
};

static void print_finding(void *ctx, const struct check_finding *f)
{
	struct printer *p = ctx;
	static const char *const label[] = { "problem", "note", "fixed", "lost" };
	if (p->quiet && f->kind == CHECK_NOTE)
		return;
	progress_clear();
	if (f->offset == CHECK_NO_OFFSET)
		printf("%s: %s: %s\n", f->path, label[f->kind], f->msg);
	else
		printf("%s:%" PRIu64 ": %s: %s\n", f->path, f->offset, label[f->kind], f->msg);
	fflush(stdout);
	p->shown++;
}

/* Checks a single file, by its magic number. */
static int check_one_file(const char *path, const struct check_options *o, struct check_stats *st)
{
	uint8_t head[8] = { 0 }, tail[8] = { 0 };
	FILE *f = fopen(path, "rb");
	if (!f) {
		cli_error("cannot open %s: %m", path);
		return -1;
	}
	size_t got = fread(head, 1, sizeof(head), f);
	size_t tail_got = fseek(f, -(long)sizeof(tail), SEEK_END) == 0
				  ? fread(tail, 1, sizeof(tail), f) : 0;
	fclose(f);
	int r;
	switch (file_kind_of(path, head, got, tail, tail_got)) {
	case FILE_WAL:
		r = check_wal_file(path, o, st);
		break;
	case FILE_TABLE:
		r = check_table_file(path, o, st);
		break;
	case FILE_MANIFEST:
		r = check_manifest_file(path, o, st);
		break;
	default:
		cli_error("%s is not a log segment, table or MANIFEST", path);
		return -1;
	}
	if (r)
		cli_fail(path, r);
	return r ? -1 : 0;
}

int cmd_check(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "quiet", no_argument, NULL, 'q' }, HELP_OPTION, END_OPTIONS,
	};
	struct printer pr = { 0 };
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "qh", longs, &status)) != -1)
		if (c == 'q')
			pr.quiet = true;
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 1, 1))
		return EXIT_ERROR;
	const char *path = argv[optind];
	struct check_options o = {
		.report = print_finding,
		.report_ctx = &pr,
		.progress = cli.quiet ? NULL : progress_report,
	};
	struct check_stats st;
	struct stat sb;
	if (stat(path, &sb) < 0) {
		cli_error("%s: %m", path);
		return EXIT_ERROR;
	}
	if (!S_ISDIR(sb.st_mode)) {
		if (check_one_file(path, &o, &st))
			return EXIT_ERROR;
	} else {
		int r = check_dir(path, &o, &st);
		progress_end();
		if (r == GOLITE_ELOCKED) {
			cli_error("%s (unmount it, or stop that process, and try again)",
				  golite_last_error());
			return EXIT_ERROR;
		}
		if (r) {
			cli_fail(path, r);
			return EXIT_ERROR;
		}
	}
	char a[32], b[32];
#define PL(n) ((n) == 1 ? "" : "s")
	printf("checked %" PRIu64 " log segment%s (%" PRIu64 " record%s, %s), %" PRIu64
	       " table%s (%" PRIu64 " block%s, %" PRIu64 " entr%s, %s), %" PRIu64
	       " manifest edit%s: %s",
	       st.wal_segments, PL(st.wal_segments), st.wal_records, PL(st.wal_records),
	       size_text(st.wal_bytes, a), st.tables, PL(st.tables), st.blocks, PL(st.blocks),
	       st.entries, st.entries == 1 ? "y" : "ies", size_text(st.table_bytes, b),
	       st.manifest_edits, PL(st.manifest_edits), st.problems ? "" : "clean");
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
	static const struct option longs[] = { HELP_OPTION, END_OPTIONS };
	int status = -1;
	while (cli_getopt(argc, argv, "h", longs, &status) != -1)
		;
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 1, 1))
		return EXIT_ERROR;
	const char *dir = argv[optind];
	struct printer pr = { 0 };
	struct check_options o = {
		.report = print_finding,
		.report_ctx = &pr,
		.progress = cli.quiet ? NULL : progress_report,
		.sstable_size = cli.opts.sstable_size,
	};
	struct repair_stats st;
	int r = repair_dir(dir, &o, &st);
	progress_end();
	if (r == GOLITE_ELOCKED) {
		cli_error("%s (unmount it, or stop that process, and try again)",
			  golite_last_error());
		return EXIT_ERROR;
	}
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
	static const struct option longs[] = { HELP_OPTION, END_OPTIONS };
	int status = -1;
	while (cli_getopt(argc, argv, "h", longs, &status) != -1)
		;
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 1, 2))
		return EXIT_ERROR;
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
