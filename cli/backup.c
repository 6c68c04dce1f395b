/*
 * backup.c — golite backup and golite restore: a store copied, as of one
 * sequence number, to a backup directory and back, around
 * golite_checkpoint_ex (golite_tools.h).
 *
 * A backup is a checkpoint made of copies (it shares no inode with the
 * store) and labelled (GOLITE_CHECKPOINT_LABEL_FILE: "golite backup", the
 * source, the time, the sequence). Backing up again to the same DEST
 * replaces it incrementally and atomically: the new backup is built in
 * DEST.tmp-PID-N beside it, the tables they share are hard-linked from the
 * old one (after their checksums are verified) instead of copied, and the
 * two are swapped in one rename; the old one goes with the tables the new
 * one no longer holds. So DEST is, at every moment, the old backup or the
 * new one. The temporary directory a killed backup leaves is removed by
 * the next backup to the same DEST.
 *
 * Restore is a checkpoint of the backup (opened read-only) into DATADIR,
 * copies only, then a check of the result and an open.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "golite_tools.h"

/* The first line of a label golite backup writes. */
#define BACKUP_LABEL "golite backup\n"

/* ---- leftovers of interrupted backups ---- */

/* Removes the regular files of dir, then dir. Returns 0 or -1 (errno). */
static int remove_flat(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	struct dirent *de;
	while ((de = readdir(d))) {
		char p[PATH_MAX];
		struct stat st;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= sizeof(p))
			continue;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
			unlink(p);
	}
	closedir(d);
	return rmdir(dir);
}

/* Splits path (trailing slashes ignored) into its parent directory and
 * its last component. */
static void split_path(const char *path, char *parent, char *base)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	const char *slash = memrchr(path, '/', n);
	if (!slash) {
		strcpy(parent, ".");
		snprintf(base, NAME_MAX + 1, "%.*s", (int)n, path);
	} else {
		snprintf(parent, PATH_MAX, "%.*s", slash == path ? 1 : (int)(slash - path), path);
		snprintf(base, NAME_MAX + 1, "%.*s", (int)(n - (size_t)(slash - path) - 1),
			 slash + 1);
	}
}

/*
 * Deals with what a backup (or restore) to dest that was killed left
 * beside it: DEST.tmp-PID-N, a backup being built (removed), and
 * DEST.old-PID-N, the old backup moved aside on a file system that cannot
 * swap two directories (put back if DEST is missing, else removed). Only
 * those whose process PID is gone are touched.
 */
static void clean_leftovers(const char *dest)
{
	char parent[PATH_MAX], base[NAME_MAX + 1];
	split_path(dest, parent, base);
	DIR *d = opendir(parent);
	if (!d)
		return;
	size_t bl = strlen(base);
	struct dirent *de;
	while ((de = readdir(d))) {
		const char *rest = de->d_name + bl;
		if (strncmp(de->d_name, base, bl) != 0 ||
		    (strncmp(rest, ".tmp-", 5) != 0 && strncmp(rest, ".old-", 5) != 0))
			continue;
		bool old = rest[1] == 'o';
		char *end;
		long pid = strtol(rest + 5, &end, 10);
		if (pid <= 0 || *end != '-' || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		char p[PATH_MAX];
		struct stat st;
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", parent, de->d_name) >= sizeof(p) ||
		    lstat(p, &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (old && lstat(dest, &st) < 0 && errno == ENOENT) {
			if (rename(p, dest) == 0)
				cli_note("put back %s, the backup an interrupted run had moved to %s",
					 dest, p);
			else
				cli_error("cannot put back %s from %s: %s", dest, p, strerror(errno));
			continue;
		}
		if (remove_flat(p) == 0)
			cli_note("removed %s, left by an interrupted run", p);
		else
			cli_error("cannot remove %s, left by an interrupted run: %s", p,
				  strerror(errno));
	}
	closedir(d);
}

/* ---- reporting ---- */

static void report_file(void *ctx, const char *name, enum golite_checkpoint_how how,
			uint64_t bytes)
{
	(void)ctx;
	static const char *const what[] = { "linked", "copied", "kept", "copied" };
	char a[32];
	progress_clear();
	printf("%s %s (%s)\n", what[how <= GOLITE_CKPT_LOG ? how : 1], name, size_text(bytes, a));
	fflush(stdout);
}

/* The label of the backup in dir (malloc()ed text), or NULL if it has none. */
static char *read_label(const char *dir)
{
	char p[PATH_MAX];
	if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, GOLITE_CHECKPOINT_LABEL_FILE) >= sizeof(p))
		return NULL;
	FILE *f = fopen(p, "r");
	if (!f)
		return NULL;
	char *text = calloc(1, 4097);
	if (!text)
		abort();
	size_t n = fread(text, 1, 4096, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* The value of the line "NAME VALUE" of a label, in buf ("?" if none). */
static const char *label_field(const char *label, const char *name, char *buf, size_t cap)
{
	size_t nl = strlen(name);
	for (const char *l = label; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, name, nl) == 0 && l[nl] == ' ') {
			size_t len = strcspn(l + nl + 1, "\n");
			snprintf(buf, cap, "%.*s", (int)len, l + nl + 1);
			return buf;
		}
	}
	snprintf(buf, cap, "?");
	return buf;
}

/* ---- backup ---- */

int cmd_backup(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "verbose", no_argument, NULL, 'v' }, HELP_OPTION, END_OPTIONS,
	};
	bool verbose = false;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "vh", longs, &status)) != -1)
		if (c == 'v')
			verbose = true;
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 2, 2))
		return EXIT_ERROR;
	const char *src = argv[optind], *dest = argv[optind + 1];

	clean_leftovers(dest);
	struct stat st;
	if (lstat(dest, &st) == 0) {
		/* Replace only a backup (or an empty directory): never a store
		 * that someone uses as such. */
		char marker[PATH_MAX];
		snprintf(marker, sizeof(marker), "%s/STORE", dest);
		char *label = read_label(dest);
		bool backup = label && strncmp(label, BACKUP_LABEL, strlen(BACKUP_LABEL)) == 0;
		free(label);
		if (S_ISDIR(st.st_mode) && access(marker, F_OK) == 0 && !backup) {
			cli_error("%s holds a store that is not a backup made by golite backup; "
				  "not replacing it", dest);
			return EXIT_ERROR;
		}
	}

	golite *db = cli_open(src, CLI_READ);
	if (!db)
		return EXIT_ERROR;
	char abs[PATH_MAX], when[64], *label;
	time_t now = time(NULL);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	if (asprintf(&label, BACKUP_LABEL "source %s\ntime %s\n",
		     realpath(src, abs) ? abs : src, when) < 0)
		abort();
	golite_checkpoint_options o = {
		.copy = true,
		.replace = true,
		.label = label,
		.report = verbose ? report_file : NULL,
		.progress = cli.quiet ? NULL : progress_report,
	};
	golite_checkpoint_stats cs;
	int r = golite_checkpoint_ex(db, dest, &o, &cs);
	progress_end();
	free(label);
	if (r) {
		cli_fail("backup", r);
		return cli_close(db, EXIT_ERROR);
	}
	char a[32];
	printf("backup of %s in %s at sequence %" PRIu64 ": %" PRIu64 " tables (%" PRIu64
	       " kept from the earlier backup, %" PRIu64 " copied), %" PRIu64
	       " log segment%s, %s copied\n",
	       src, dest, cs.sequence, cs.tables, cs.tables_kept, cs.tables_copied + cs.tables_linked,
	       cs.log_segments, cs.log_segments == 1 ? "" : "s", size_text(cs.bytes_copied, a));
	return cli_close(db, 0);
}

/* ---- restore ---- */

struct check_printer {
	uint64_t shown;
};

static void print_problem(void *ctx, const golite_finding *f)
{
	struct check_printer *p = ctx;
	if (f->kind != GOLITE_FINDING_PROBLEM || p->shown++ >= 10)
		return;
	progress_clear();
	if (f->offset == GOLITE_NO_OFFSET)
		cli_error("%s: problem: %s", f->path, f->msg);
	else
		cli_error("%s:%" PRIu64 ": problem: %s", f->path, f->offset, f->msg);
}

/* Checks dir; false (after messages) if it has problems or cannot be
 * checked. */
static bool check_ok(const char *dir, const char *what)
{
	struct check_printer pr = { 0 };
	golite_check_options o = {
		.report = print_problem,
		.report_ctx = &pr,
		.quiet = true,
		.progress = cli.quiet ? NULL : progress_report,
	};
	golite_check_stats st;
	int r = golite_check(dir, &o, &st);
	progress_end();
	if (r) {
		cli_fail(dir, r);
		return false;
	}
	if (st.problems) {
		cli_error("%s %s has %" PRIu64 " problem%s (see `golite check %s`)", what, dir,
			  st.problems, st.problems == 1 ? "" : "s", dir);
		return false;
	}
	return true;
}

int cmd_restore(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "verbose", no_argument, NULL, 'v' }, HELP_OPTION, END_OPTIONS,
	};
	bool verbose = false;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "vh", longs, &status)) != -1)
		if (c == 'v')
			verbose = true;
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 2, 2))
		return EXIT_ERROR;
	const char *backup = argv[optind], *datadir = argv[optind + 1];

	clean_leftovers(datadir);
	bool exists = false;
	struct stat st;
	if (lstat(datadir, &st) == 0) {
		DIR *d = S_ISDIR(st.st_mode) ? opendir(datadir) : NULL;
		int entries = 0;
		struct dirent *de;
		while (d && (de = readdir(d)))
			entries += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
		if (d)
			closedir(d);
		if (!d || entries) {
			cli_error("%s %s; restore into a new or empty directory", datadir,
				  d ? "is not empty" : "exists and is not a directory");
			return EXIT_ERROR;
		}
		exists = true;
	}
	if (!check_ok(backup, "backup"))
		return EXIT_ERROR;

	golite *db = cli_open(backup, CLI_READ);
	if (!db)
		return EXIT_ERROR;
	golite_checkpoint_options o = {
		.copy = true,
		.replace = exists,
		.report = verbose ? report_file : NULL,
		.progress = cli.quiet ? NULL : progress_report,
	};
	golite_checkpoint_stats cs;
	int r = golite_checkpoint_ex(db, datadir, &o, &cs);
	progress_end();
	if (r) {
		cli_fail("restore", r);
		return cli_close(db, EXIT_ERROR);
	}
	status = cli_close(db, 0);
	if (status)
		return status;

	/* The copy checks clean and opens (which replays its log). */
	if (!check_ok(datadir, "the restored store"))
		return EXIT_ERROR;
	db = cli_open(datadir, CLI_WRITE);
	if (!db)
		return EXIT_ERROR;
	status = cli_close(db, 0);
	if (status)
		return status;

	char a[32], from[PATH_MAX], when[64];
	char *label = read_label(backup);
	printf("restored %s into %s at sequence %" PRIu64 ": %" PRIu64 " tables, %" PRIu64
	       " log segment%s, %s copied; checked clean and opened\n",
	       backup, datadir, cs.sequence, cs.tables, cs.log_segments,
	       cs.log_segments == 1 ? "" : "s", size_text(cs.bytes_copied, a));
	if (label && strncmp(label, BACKUP_LABEL, strlen(BACKUP_LABEL)) == 0)
		printf("(a backup of %s taken at %s)\n",
		       label_field(label, "source", from, sizeof(from)),
		       label_field(label, "time", when, sizeof(when)));
	free(label);
	return 0;
}
