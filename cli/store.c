/*
 * store.c — golite --store URI COMMAND: keys and tables of a store reached
 * through the store port (include/golite_store.h), local or on etcd.
 *
 * The commands are the data-directory ones without DATADIR (the URI names
 * the store), plus watch. Exit statuses as in cli.h. Writes are
 * transactions: rm reads each key (to say whether it existed) and deletes
 * it only if still the same, retrying with backoff on a conflict.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "golite_store.h"

/* Retries of a conflicted transaction before giving up. */
#define MAX_ATTEMPTS 50

struct store_command {
	const char *name;
	int (*fn)(golite_store *s, int argc, char **argv);
	const char *usage;
	const char *help;
	bool creates;     /* -c / -p may create the store */
};

static const struct store_command *current;   /* the command running */

static int fail(const char *what, int r)
{
	cli_fail(what, r);
	return r == GOLITE_ENOTFOUND || r == GOLITE_ENOTABLE ? EXIT_NOTFOUND : EXIT_ERROR;
}

/* Options every store command takes: -e (keys escaped), -h. */
static int parse(int argc, char **argv, const char *shorts, const struct option *longs,
		 int (*opt)(int c, void *ctx), void *ctx, int min, int max)
{
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, shorts, longs, &status)) != -1) {
		if (opt && opt(c, ctx) != 0)
			return EXIT_ERROR;
	}
	if (status >= 0)
		return status;
	int n = argc - optind;
	if (n < min || (max >= 0 && n > max)) {
		fprintf(stderr, "Usage: golite --store URI %s\n(golite --store URI %s --help for more)\n",
			current->usage, current->name);
		return EXIT_ERROR;
	}
	return -1;
}

static int escaped_opt(int c, void *ctx)
{
	if (c == 'e')
		*(bool *)ctx = true;
	return 0;
}

static const struct option escaped_longs[] = {
	{ "escaped", no_argument, NULL, 'e' },
	HELP_OPTION, END_OPTIONS,
};

/* ---- get ---- */

static int st_get(golite_store *s, int argc, char **argv)
{
	bool escaped = false;
	int st = parse(argc, argv, "eh", escaped_longs, escaped_opt, &escaped, 2, 2);
	if (st >= 0)
		return st;
	const char *table = argv[optind];
	size_t klen;
	uint8_t *key = cli_key_arg(argv[optind + 1], escaped, &klen);
	if (!key)
		return EXIT_ERROR;
	golite_txn *t;
	golite_txn_begin(s, &t);
	void *v = NULL;
	size_t vlen = 0;
	int r = golite_txn_get(t, table, key, klen, &v, &vlen, NULL);
	if (r == 0) {
		st = cli_write_out(v, vlen) ? EXIT_FOUND : EXIT_ERROR;
	} else if (r == GOLITE_ENOTFOUND) {
		st = EXIT_NOTFOUND;
	} else {
		st = fail(table, r);
	}
	golite_free(v);
	golite_txn_free(t);
	free(key);
	return st;
}

/* ---- put ---- */

struct put_opts {
	bool escaped, create;
	const char *value;
};

static int put_opt(int c, void *ctx)
{
	struct put_opts *o = ctx;
	if (c == 'e')
		o->escaped = true;
	else if (c == 'c')
		o->create = true;
	else if (c == 'v')
		o->value = optarg;
	return 0;
}

static int st_put(golite_store *s, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "escaped", no_argument, NULL, 'e' },
		{ "create", no_argument, NULL, 'c' },
		{ "value", required_argument, NULL, 'v' },
		HELP_OPTION, END_OPTIONS,
	};
	struct put_opts o = { 0 };
	int st = parse(argc, argv, "ecv:h", longs, put_opt, &o, 2, 2);
	if (st >= 0)
		return st;
	const char *table = argv[optind];
	size_t klen, vlen;
	uint8_t *key = cli_key_arg(argv[optind + 1], o.escaped, &klen);
	if (!key)
		return EXIT_ERROR;
	uint8_t *val;
	if (o.value) {
		vlen = strlen(o.value);
		val = (uint8_t *)strdup(o.value);
	} else {
		val = cli_read_stdin(&vlen);
	}
	if (!val) {
		free(key);
		return EXIT_ERROR;
	}
	golite_txn *t;
	golite_txn_begin(s, &t);
	int r = golite_txn_put(t, table, key, klen, val, vlen);
	if (r == 0)
		r = golite_txn_commit(t, NULL);
	if (r == GOLITE_ENOTABLE && o.create) {
		r = golite_store_table_create(s, table);
		if (r == 0 || r == GOLITE_EEXIST)
			r = golite_txn_put(t, table, key, klen, val, vlen);
		if (r == 0)
			r = golite_txn_commit(t, NULL);
	}
	st = r ? fail(table, r) : EXIT_FOUND;
	if (r == GOLITE_ENOTABLE)
		st = EXIT_ERROR;
	golite_txn_free(t);
	free(key);
	free(val);
	return st;
}

/* ---- rm ---- */

struct rm_opts {
	bool escaped, force;
};

static int rm_opt(int c, void *ctx)
{
	struct rm_opts *o = ctx;
	if (c == 'e')
		o->escaped = true;
	else if (c == 'f')
		o->force = true;
	return 0;
}

/* Deletes table[key] if it exists: 0, GOLITE_ENOTFOUND, or an error. */
static int rm_one(golite_store *s, const char *table, const uint8_t *key, size_t klen)
{
	golite_txn *t;
	golite_txn_begin(s, &t);
	int r;
	for (unsigned attempt = 0;; attempt++) {
		r = golite_txn_get(t, table, key, klen, NULL, NULL, NULL);
		if (r == 0)
			r = golite_txn_delete(t, table, key, klen);
		if (r == 0)
			r = golite_txn_commit(t, NULL);
		if (r != GOLITE_ECONFLICT || attempt + 1 == MAX_ATTEMPTS)
			break;
		golite_txn_free(t);
		golite_txn_begin(s, &t);
		golite_store_backoff(attempt);
	}
	golite_txn_free(t);
	return r;
}

static int st_rm(golite_store *s, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "escaped", no_argument, NULL, 'e' },
		{ "force", no_argument, NULL, 'f' },
		HELP_OPTION, END_OPTIONS,
	};
	struct rm_opts o = { 0 };
	int st = parse(argc, argv, "efh", longs, rm_opt, &o, 2, -1);
	if (st >= 0)
		return st;
	const char *table = argv[optind];
	st = EXIT_FOUND;
	for (int i = optind + 1; i < argc; i++) {
		size_t klen;
		uint8_t *key = cli_key_arg(argv[i], o.escaped, &klen);
		if (!key)
			return EXIT_ERROR;
		int r = rm_one(s, table, key, klen);
		if (r == GOLITE_ENOTFOUND && !o.force) {
			cli_error("no key \"%s\" in table \"%s\"", argv[i], table);
			if (st == EXIT_FOUND)
				st = EXIT_NOTFOUND;
		} else if (r && r != GOLITE_ENOTFOUND) {
			int e = fail(table, r);
			if (e == EXIT_ERROR || st == EXIT_FOUND)
				st = e;
		}
		free(key);
	}
	return st;
}

/* ---- ls, tables ---- */

struct ls_ctx {
	bool values, nul;
	bool out_failed;
};

static int ls_one(void *arg, const golite_store_item *it)
{
	struct ls_ctx *c = arg;
	if (c->values) {
		printf("%llu\t%zu\t", (unsigned long long)it->version, it->vlen);
	}
	if (c->nul) {
		fwrite(it->key, 1, it->klen, stdout);
		putchar('\0');
	} else {
		cli_put_escaped(stdout, it->key, it->klen);
		putchar('\n');
	}
	if (ferror(stdout)) {
		c->out_failed = true;
		return 1;
	}
	return 0;
}

static int list_tables(golite_store *s)
{
	char **names;
	size_t n;
	int r = golite_store_table_list(s, &names, &n);
	if (r)
		return fail("tables", r);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", names[i]);
	golite_free(names);
	return EXIT_FOUND;
}

struct ls_opts {
	struct ls_ctx c;
};

static int ls_opt(int c, void *ctx)
{
	struct ls_ctx *l = ctx;
	if (c == 'l')
		l->values = true;
	else if (c == '0')
		l->nul = true;
	return 0;
}

static int st_ls(golite_store *s, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "null", no_argument, NULL, '0' },
		HELP_OPTION, END_OPTIONS,
	};
	struct ls_ctx c = { 0 };
	int st = parse(argc, argv, "l0h", longs, ls_opt, &c, 0, 2);
	if (st >= 0)
		return st;
	if (optind == argc)
		return list_tables(s);
	const char *table = argv[optind];
	const char *prefix = optind + 1 < argc ? argv[optind + 1] : NULL;
	size_t plen = prefix ? strlen(prefix) : 0;
	/* [prefix, prefix's successor): the prefix with its last byte below
	 * 0xff raised by one (all-0xff prefixes run to the table's end). */
	uint8_t *end = NULL;
	size_t elen = 0;
	if (plen) {
		end = (uint8_t *)strdup(prefix);
		elen = plen;
		while (elen > 0 && end[elen - 1] == 0xff)
			elen--;
		if (elen > 0)
			end[elen - 1]++;
	}
	/* Page by page, each page a transaction of its own: a listing of a
	 * million keys holds one page at a time. */
	void *from = plen ? (void *)strdup(prefix) : NULL;
	size_t flen = plen;
	int r = 0;
	for (;;) {
		golite_txn *t;
		golite_txn_begin(s, &t);
		void *next = NULL;
		size_t nlen = 0;
		r = golite_txn_scan(t, table, from, flen, end, elen, 1000, !c.values, ls_one, &c,
				    &next, &nlen);
		golite_txn_free(t);
		free(from);
		from = next;
		flen = nlen;
		if (r || !next)
			break;
	}
	free(from);
	free(end);
	if (c.out_failed) {
		cli_error("cannot write to standard output: %s", strerror(errno));
		return EXIT_ERROR;
	}
	return r ? fail(table, r) : EXIT_FOUND;
}

static int st_tables(golite_store *s, int argc, char **argv)
{
	int st = parse(argc, argv, "h", (const struct option[]){ HELP_OPTION, END_OPTIONS }, NULL,
		       NULL, 0, 0);
	return st >= 0 ? st : list_tables(s);
}

/* ---- create, drop ---- */

static int parents_opt(int c, void *ctx)
{
	if (c == 'p')
		*(bool *)ctx = true;
	return 0;
}

static int st_create(golite_store *s, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "parents", no_argument, NULL, 'p' },
		HELP_OPTION, END_OPTIONS,
	};
	bool exist_ok = false;
	int st = parse(argc, argv, "ph", longs, parents_opt, &exist_ok, 1, -1);
	if (st >= 0)
		return st;
	st = EXIT_FOUND;
	for (int i = optind; i < argc; i++) {
		int r = golite_store_table_create(s, argv[i]);
		if (r == GOLITE_EEXIST && exist_ok)
			continue;
		if (r) {
			cli_fail(argv[i], r);
			st = EXIT_ERROR;
		}
	}
	return st;
}

static int if_empty_opt(int c, void *ctx)
{
	if (c == 'E')
		*(bool *)ctx = true;
	return 0;
}

static int st_drop(golite_store *s, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "if-empty", no_argument, NULL, 'E' },
		HELP_OPTION, END_OPTIONS,
	};
	bool if_empty = false;
	int st = parse(argc, argv, "h", longs, if_empty_opt, &if_empty, 1, -1);
	if (st >= 0)
		return st;
	st = EXIT_FOUND;
	for (int i = optind; i < argc; i++) {
		int r = golite_store_table_drop(s, argv[i], !if_empty);
		if (r) {
			int e = fail(argv[i], r);
			if (e == EXIT_ERROR || st == EXIT_FOUND)
				st = e;
		}
	}
	return st;
}

/* ---- watch ---- */

static volatile int watch_stop;

static void on_signal(int sig)
{
	(void)sig;
	watch_stop = 1;
}

struct watch_opts {
	unsigned long long from, count;
	unsigned long long seen;
};

static int watch_opt(int c, void *ctx)
{
	struct watch_opts *o = ctx;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(optarg ? optarg : "", &end, 10);
	if (errno || !optarg || !*optarg || *end || optarg[0] == '-') {
		cli_error("-%c takes a number (not \"%s\")", c, optarg ? optarg : "");
		return -1;
	}
	if (c == 'r')
		o->from = v;
	else if (c == 'n')
		o->count = v;
	return 0;
}

static int watch_one(void *arg, const golite_store_event *ev)
{
	struct watch_opts *o = arg;
	if (!ev->table)
		return 0;   /* the watch is in place */
	printf("%llu %s %s ", (unsigned long long)ev->revision, ev->deleted ? "delete" : "put",
	       ev->table);
	cli_put_escaped(stdout, ev->key, ev->klen);
	putchar('\n');
	fflush(stdout);
	return o->count && ++o->seen == o->count ? 1 : 0;
}

static int st_watch(golite_store *s, int argc, char **argv)
{
	static const struct option longs[] = {
		{ "revision", required_argument, NULL, 'r' },
		{ "count", required_argument, NULL, 'n' },
		HELP_OPTION, END_OPTIONS,
	};
	struct watch_opts o = { 0 };
	int st = parse(argc, argv, "r:n:h", longs, watch_opt, &o, 0, 1);
	if (st >= 0)
		return st;
	const char *table = optind < argc ? argv[optind] : NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	int r = golite_store_watch(s, table, o.from, watch_one, &o, &watch_stop);
	if (r < 0)
		return fail("watch", r);
	return EXIT_FOUND;
}

static const struct store_command store_commands[] = {
	{ "get", st_get, "get [-e] TABLE KEY",
	  "Writes the value of KEY in TABLE to standard output. Exit status 1 if\n"
	  "the key or the table does not exist.\n"
	  "  -e, --escaped   KEY is in the escaped form ls prints\n", false },
	{ "put", st_put, "put [-e] [-c] [--value STRING] TABLE KEY",
	  "Sets KEY in TABLE to standard input (or STRING); durable when the command\n"
	  "returns (etcd: committed by a quorum).\n"
	  "  -c, --create    create the store and the table if missing\n"
	  "  -v, --value STRING  the value\n"
	  "  -e, --escaped   KEY is in the escaped form ls prints\n", true },
	{ "rm", st_rm, "rm [-e] [-f] TABLE KEY...",
	  "Removes each KEY. Exit status 1 if one did not exist.\n"
	  "  -f, --force     a missing key is not an error\n"
	  "  -e, --escaped   KEYs are in the escaped form ls prints\n", false },
	{ "ls", st_ls, "ls [-l] [-0] [TABLE [PREFIX]]",
	  "Without TABLE, lists the tables; with TABLE, its keys in byte order (those\n"
	  "starting with PREFIX), escaped as `golite ls` does, page by page.\n"
	  "  -l, --long      VERSION<tab>SIZE<tab> before each key\n"
	  "  -0, --null      keys as they are, each followed by a NUL byte\n", false },
	{ "tables", st_tables, "tables", "Lists the tables.\n", false },
	{ "create", st_create, "create [-p] TABLE...",
	  "Creates the tables (and the store, if missing).\n"
	  "  -p, --parents   an existing table is not an error\n", true },
	{ "drop", st_drop, "drop [--if-empty] TABLE...",
	  "Drops the tables and their keys, atomically each.\n"
	  "      --if-empty  only a table without keys (else exit status 2)\n", false },
	{ "watch", st_watch, "watch [-r REVISION] [-n COUNT] [TABLE]",
	  "Prints a line \"REVISION put|delete TABLE KEY\" (KEY escaped) for each\n"
	  "change to the keys of TABLE (or of every table), as it is committed, until\n"
	  "interrupted. On a local store, REVISION counts the change feed's events.\n"
	  "  -r, --revision REVISION  from this revision on (default: from now)\n"
	  "  -n, --count COUNT        exit after COUNT changes\n", false },
};

static const struct store_command *find(const char *name)
{
	for (size_t i = 0; i < sizeof(store_commands) / sizeof(store_commands[0]); i++)
		if (strcmp(store_commands[i].name, name) == 0)
			return &store_commands[i];
	return NULL;
}

void cli_store_help(FILE *f)
{
	fputs("With --store URI, these commands work on the store URI names instead of a\n"
	      "DATADIR (which they then do not take):\n"
	      "  URI  local:DATADIR, or etcd://HOST:PORT[,HOST:PORT...]/PREFIX (a store\n"
	      "       kept in an etcd cluster; docs/etcd.md)\n\n",
	      f);
	for (size_t i = 0; i < sizeof(store_commands) / sizeof(store_commands[0]); i++)
		fprintf(f, "  golite --store URI %s\n", store_commands[i].usage);
}

/* Does put's command line hold -c (alone or among short options) or
 * --create before its operands? */
static bool wants_create(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0 || a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--create") == 0)
			return true;
		if (a[1] == '-') {
			if (strcmp(a, "--value") == 0)
				i++;
			continue;
		}
		for (const char *p = a + 1; *p; p++) {
			if (*p == 'c')
				return true;
			if (*p == 'v') {   /* the rest, or the next argument, is the value */
				if (p[1] == '\0')
					i++;
				break;
			}
		}
	}
	return false;
}

int cli_store_main(const char *uri, int argc, char **argv)
{
	const struct store_command *c = find(argv[0]);
	if (!c) {
		cli_error("works on a data directory, not with --store (golite --store URI "
			  "help lists what does)");
		return EXIT_ERROR;
	}
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			printf("Usage: golite --store URI %s\n\n%s  -h, --help      show this help\n",
			       c->usage, c->help);
			return EXIT_FOUND;
		}
	}
	golite_store_options o;
	golite_store_options_init(&o);
	o.create = c->creates && (c->fn != st_put || wants_create(argc, argv));
	golite_store *s;
	int r = golite_store_open(uri, &o, &s);
	if (r) {
		cli_fail(uri, r);
		return EXIT_ERROR;
	}
	current = c;
	optind = 0;   /* getopt starts over for the command's own options */
	int st = c->fn(s, argc, argv);
	golite_store_close(s);
	return st;
}
