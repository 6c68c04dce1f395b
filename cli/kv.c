/*
 * kv.c — golite get, put, rm, ls, tables, create, drop, snapshot: keys,
 * tables and named snapshots of a store that is not mounted.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "golite_raw.h"
#include "vfile.h"


/* The key operand: as given, or decoded from the escaped form. */
uint8_t *cli_key_arg(const char *s, bool escaped, size_t *len)
{
	if (escaped)
		return cli_unescape(s, len);
	*len = strlen(s);
	uint8_t *k = malloc(*len + 1);
	if (!k)
		abort();
	memcpy(k, s, *len + 1);
	return k;
}

bool cli_key_size_ok(size_t len)
{
	if (len >= 1 && len <= GOLITE_MAX_KEY_SIZE)
		return true;
	cli_error("a key is 1 to %u bytes (this one is %zu)", GOLITE_MAX_KEY_SIZE, len);
	return false;
}

/* Opens a handle on named snapshot name: 0, or (after a message) the exit
 * status, EXIT_NOTFOUND if there is none. */
static int open_snapshot(golite *db, const char *name, golite_snapshot **snap)
{
	int r = golite_snapshot_open(db, name, snap);
	if (r == GOLITE_ENOTFOUND) {
		cli_error("no snapshot \"%s\"", name);
		return EXIT_NOTFOUND;
	}
	if (r) {
		cli_fail(name, r);
		return EXIT_ERROR;
	}
	return 0;
}

/* ---- get ---- */

int cmd_get(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "escaped", no_argument, NULL, 'e' },
		{ "snapshot", required_argument, NULL, 's' },
		HELP_OPTION, END_OPTIONS,
	};
	bool escaped = false;
	const char *snapshot = NULL;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "es:h", longs, &status)) != -1) {
		if (c == 'e')
			escaped = true;
		else if (c == 's')
			snapshot = optarg;
	}
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 3, 3))
		return EXIT_ERROR;
	const char *dir = argv[optind], *table = argv[optind + 1];
	size_t klen;
	uint8_t *key = cli_key_arg(argv[optind + 2], escaped, &klen);
	if (!key)
		return EXIT_ERROR;
	if (!cli_key_size_ok(klen)) {
		free(key);
		return EXIT_ERROR;
	}
	golite *db = cli_open(dir, CLI_READ);
	if (!db) {
		free(key);
		return EXIT_ERROR;
	}
	golite_snapshot *snap = NULL;
	int st = snapshot ? open_snapshot(db, snapshot, &snap) : 0;
	if (st) {
		free(key);
		return cli_close(db, st);
	}
	void *val;
	size_t vlen;
	int r = golite_get_at(db, snap, table, key, klen, &val, &vlen);
	if (r == 0) {
		if (!cli_write_out(val, vlen))
			st = EXIT_ERROR;
		golite_free(val);
	} else if (r == GOLITE_ENOTFOUND || r == GOLITE_ENOTABLE) {
		st = EXIT_NOTFOUND;
		if (r == GOLITE_ENOTABLE)
			cli_error("no table \"%s\"", table);
	} else if (r == GOLITE_EISDIR) {
		cli_error("the key is a directory created through the mount");
		st = EXIT_ERROR;
	} else {
		cli_fail("get", r);
		st = EXIT_ERROR;
	}
	free(key);
	golite_snapshot_free(snap);
	return cli_close(db, st);
}

/* ---- put ---- */

/* Reads standard input whole; NULL (after a message) if it is too long or
 * cannot be read. */
uint8_t *cli_read_stdin(size_t *len)
{
	size_t cap = 1 << 16, n = 0;
	uint8_t *buf = malloc(cap);
	if (!buf)
		abort();
	for (;;) {
		if (n == cap) {
			if (cap > GOLITE_MAX_VALUE_SIZE) {
				cli_error("the value on standard input is longer than %u bytes",
					  GOLITE_MAX_VALUE_SIZE);
				free(buf);
				return NULL;
			}
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		ssize_t got = read(STDIN_FILENO, buf + n, cap - n);
		if (got == 0)
			break;
		if (got < 0) {
			if (errno == EINTR)
				continue;
			cli_error("cannot read standard input: %s", strerror(errno));
			free(buf);
			return NULL;
		}
		n += (size_t)got;
	}
	*len = n;
	return buf;
}

int cmd_put(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "value", required_argument, NULL, 'v' },
		{ "create", no_argument, NULL, 'c' },
		{ "escaped", no_argument, NULL, 'e' },
		{ "ttl", required_argument, NULL, 't' },
		HELP_OPTION, END_OPTIONS,
	};
	bool escaped = false, create = false;
	const char *value = NULL;
	uint64_t ttl_ms = 0;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "v:cet:h", longs, &status)) != -1) {
		if (c == 'v') {
			value = optarg;
		} else if (c == 't') {
			char *end;
			errno = 0;
			unsigned long long s = strtoull(optarg, &end, 10);
			if (!*optarg || *end || errno || optarg[0] == '-' || s == 0 ||
			    s > GOLITE_TTL_MAX_MS / 1000) {
				cli_error("--ttl %s: a time to live is a number of seconds from 1 to %llu",
					  optarg, (unsigned long long)(GOLITE_TTL_MAX_MS / 1000));
				return EXIT_ERROR;
			}
			ttl_ms = s * 1000;
		}
		else if (c == 'c')
			create = true;
		else if (c == 'e')
			escaped = true;
	}
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 3, 3))
		return EXIT_ERROR;
	const char *dir = argv[optind], *table = argv[optind + 1];
	size_t klen, vlen;
	uint8_t *key = cli_key_arg(argv[optind + 2], escaped, &klen), *val = NULL;
	if (!key)
		return EXIT_ERROR;
	int st = EXIT_ERROR;
	if (!cli_key_size_ok(klen))
		goto out_key;
	if (value) {
		vlen = strlen(value);
		val = (uint8_t *)strdup(value);
	} else {
		if (isatty(STDIN_FILENO))
			cli_note("reading the value from standard input (end it with Ctrl-D)");
		val = cli_read_stdin(&vlen);
	}
	if (!val)
		goto out_key;
	golite *db = cli_open(dir, create ? CLI_CREATE : CLI_WRITE);
	if (!db)
		goto out_val;
	int r = ttl_ms ? golite_put_ttl(db, table, key, klen, val, vlen, ttl_ms)
		       : golite_put(db, table, key, klen, val, vlen);
	if (r == GOLITE_ENOTABLE && create) {
		r = golite_table_create(db, table);
		if (r == 0 || r == GOLITE_EEXIST)
			r = ttl_ms ? golite_put_ttl(db, table, key, klen, val, vlen, ttl_ms)
				   : golite_put(db, table, key, klen, val, vlen);
	}
	if (r == GOLITE_ENOTABLE)
		cli_error("no table \"%s\" (create it with `golite create`, or use put -c)", table);
	else if (r)
		cli_fail("put", r);
	st = cli_close(db, r ? EXIT_ERROR : 0);
out_val:
	free(val);
out_key:
	free(key);
	return st;
}

/* ---- ttl ---- */

int cmd_ttl_left(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "escaped", no_argument, NULL, 'e' },
		{ "ms", no_argument, NULL, 'm' },
		HELP_OPTION, END_OPTIONS,
	};
	bool escaped = false, ms = false;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "emh", longs, &status)) != -1) {
		if (c == 'e')
			escaped = true;
		else if (c == 'm')
			ms = true;
	}
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 3, 3))
		return EXIT_ERROR;
	const char *dir = argv[optind], *table = argv[optind + 1];
	size_t klen;
	uint8_t *key = cli_key_arg(argv[optind + 2], escaped, &klen);
	if (!key)
		return EXIT_ERROR;
	int st = EXIT_ERROR;
	if (!cli_key_size_ok(klen))
		goto out_key;
	golite *db = cli_open(dir, CLI_READ);
	if (!db)
		goto out_key;
	int64_t left;
	int r = golite_ttl(db, table, key, klen, &left);
	if (r == GOLITE_ENOTFOUND || r == GOLITE_ENOTABLE)
		cli_error("%s", golite_last_error());
	else if (r)
		cli_fail("ttl", r);
	else if (left < 0)
		puts("-1");
	else
		printf("%lld\n", ms ? (long long)left : (long long)((left + 999) / 1000));
	st = cli_close(db, r == GOLITE_ENOTFOUND || r == GOLITE_ENOTABLE ? EXIT_NOTFOUND
			   : r					      ? EXIT_ERROR
								      : 0);
out_key:
	free(key);
	return st;
}

/* ---- rm ---- */

int cmd_rm(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "escaped", no_argument, NULL, 'e' },
		HELP_OPTION, END_OPTIONS,
	};
	bool escaped = false, force = false;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "feh", longs, &status)) != -1) {
		if (c == 'f')
			force = true;
		else if (c == 'e')
			escaped = true;
	}
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 3, -1))
		return EXIT_ERROR;
	const char *dir = argv[optind], *table = argv[optind + 1];
	golite *db = cli_open(dir, CLI_WRITE);
	if (!db)
		return EXIT_ERROR;
	if (!golite_table_exists(db, table)) {
		if (!force)
			cli_error("no table \"%s\"", table);
		return cli_close(db, force ? 0 : EXIT_NOTFOUND);
	}
	int st = 0;
	for (int i = optind + 2; i < argc && st != EXIT_ERROR; i++) {
		size_t klen;
		uint8_t *key = cli_key_arg(argv[i], escaped, &klen);
		if (!key || !cli_key_size_ok(klen)) {
			free(key);
			st = EXIT_ERROR;
			break;
		}
		if (!golite_exists(db, table, key, klen)) {
			if (!force) {
				cli_error("no key \"%s\" in table \"%s\"", argv[i], table);
				st = EXIT_NOTFOUND;
			}
		} else {
			int r = golite_delete(db, table, key, klen);
			if (r) {
				cli_fail("rm", r);
				st = EXIT_ERROR;
			}
		}
		free(key);
	}
	return cli_close(db, st);
}

/* ---- ls and tables ---- */

static int list_tables(golite *db, const golite_snapshot *snap)
{
	char **names;
	size_t n;
	int r = golite_table_list_at(db, snap, &names, &n);
	if (r) {
		cli_fail("listing tables", r);
		return EXIT_ERROR;
	}
	for (size_t i = 0; i < n; i++) {
		cli_put_escaped(stdout, names[i], strlen(names[i]));
		fputc('\n', stdout);
	}
	golite_free(names);
	return 0;
}

/* The link count of inode ino (common/vfile.h): its back references
 * whose name still holds a type 8 record of that inode. */
static uint64_t link_count(golite *db, const golite_snapshot *snap, uint64_t ino)
{
	uint8_t prefix[VFILE_BACKREF_PREFIX];
	vfile_backref_key(prefix, ino, false, 0, NULL, 0);
	golite_iter_options o = { .prefix = prefix, .prefix_len = sizeof(prefix),
				  .snapshot = snap };
	golite_iter *it;
	if (golite_iter_new_raw(db, GOLITE_TABLE_FS, &o, &it))
		return 0;
	uint64_t n = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen, nklen, len;
		const uint8_t *k = golite_iter_key(it, &klen), *name;
		uint64_t got;
		uint32_t table;
		uint8_t rec[VFILE_HEADER];
		unsigned kind;
		struct vfile f;
		if (vfile_backref_parse(k, klen, &got, &table, &name, &nklen) &&
		    golite_get_raw_at(db, snap, table, name, nklen, &kind, rec, sizeof(rec), NULL,
				      &len) == 0 &&
		    kind == GOLITE_KIND_META && vfile_decode(rec, len, &f) == 0 &&
		    f.type == VFILE_HLINK && f.ino == ino)
			n++;
	}
	golite_iter_free(it);
	return n;
}

/* The kind of a name of inode ino (a type 8 record): its shared record's
 * type and size, and its link count. False, and the kind "?", if the
 * shared record is missing or no file record. */
static bool linked_kind(golite *db, const golite_snapshot *snap, uint64_t ino, const char **kind,
			uint64_t *size, uint64_t *links)
{
	uint8_t key[VFILE_INODE_KEY];
	vfile_inode_key(key, ino);
	unsigned skind;
	void *rec;
	size_t len;
	*kind = "?";
	if (golite_get_raw_at(db, snap, GOLITE_TABLE_FS, key, sizeof(key), &skind, NULL, 0, &rec,
			      &len))
		return false;
	struct vfile f;
	bool ok = skind == GOLITE_KIND_META && vfile_decode(rec, len, &f) == 0 &&
		  f.type != VFILE_DIR && f.type != VFILE_HLINK;
	if (ok) {
		*kind = vfile_type_name(f.type);
		*size = vfile_value_size(&f);
		*links = link_count(db, snap, ino);
	}
	free(rec);
	return ok;
}

/* Kind, size and, for a name of a linked file (*linked), link count of
 * the current key, for ls -l. */
static void entry_kind(golite *db, const golite_snapshot *snap, golite_iter *it,
		       const char **kind, uint64_t *size, bool *linked, uint64_t *links)
{
	size_t vlen;
	const void *v = golite_iter_value_raw(it, &vlen);
	*kind = "value";
	*size = vlen;
	*linked = false;
	*links = 0;
	if (golite_iter_kind(it) != GOLITE_KIND_META)
		return;
	struct vfile f;
	if (vfile_decode(v, vlen, &f)) {
		*kind = "?";
		return;
	}
	if (f.type == VFILE_HLINK) {
		*size = 0;
		*linked = linked_kind(db, snap, f.ino, kind, size, links);
		return;
	}
	*kind = vfile_type_name(f.type);
	*size = vfile_value_size(&f);
}

static int list_keys(golite *db, const golite_snapshot *snap, const char *table,
		     const char *prefix, bool lng, bool nul, bool values)
{
	golite_iter_options io = { .snapshot = snap };
	if (prefix) {
		io.prefix = prefix;
		io.prefix_len = strlen(prefix);
	}
	golite_iter *it;
	int r = golite_iter_new(db, table, &io, &it);
	if (r == GOLITE_ENOTABLE) {
		cli_error("no table \"%s\"", table);
		return EXIT_NOTFOUND;
	}
	if (r) {
		cli_fail("ls", r);
		return EXIT_ERROR;
	}
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen;
		const void *k = golite_iter_key(it, &klen);
		if (nul) {
			fwrite(k, 1, klen, stdout);
			fputc('\0', stdout);
			continue;
		}
		if (lng) {
			const char *kind;
			uint64_t size, links;
			bool linked;
			entry_kind(db, snap, it, &kind, &size, &linked, &links);
			uint64_t at = golite_iter_expires(it);
			printf("%s", kind);
			if (linked)
				printf(" (%llu link%s)", (unsigned long long)links,
				       links == 1 ? "" : "s");
			if (at)   /* at a snapshot too: the time left as of now */
				printf(" (expires in %llus)",
				       (unsigned long long)golite_seconds_left(db, at));
			fputc('\t', stdout);
			printf("%llu\t", (unsigned long long)size);
		}
		cli_put_escaped(stdout, k, klen);
		if (values) {
			size_t vlen;
			const void *v = golite_iter_value(it, &vlen);
			fputc('\t', stdout);
			cli_put_escaped(stdout, v, v ? vlen : 0);
		}
		fputc('\n', stdout);
	}
	r = golite_iter_status(it);
	golite_iter_free(it);
	if (r) {
		cli_fail("ls", r);
		return EXIT_ERROR;
	}
	return 0;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "long", no_argument, NULL, 'l' },
		{ "null", no_argument, NULL, '0' },
		{ "values", no_argument, NULL, 'v' },
		{ "snapshot", required_argument, NULL, 's' },
		HELP_OPTION, END_OPTIONS,
	};
	bool lng = false, nul = false, values = false;
	const char *snapshot = NULL;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "l0vs:h", longs, &status)) != -1) {
		if (c == 'l')
			lng = true;
		else if (c == '0')
			nul = true;
		else if (c == 'v')
			values = true;
		else if (c == 's')
			snapshot = optarg;
	}
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 1, 3))
		return EXIT_ERROR;
	golite *db = cli_open(argv[optind], CLI_READ);
	if (!db)
		return EXIT_ERROR;
	golite_snapshot *snap = NULL;
	int st = snapshot ? open_snapshot(db, snapshot, &snap) : 0;
	if (st)
		return cli_close(db, st);
	st = optind + 1 < argc
			 ? list_keys(db, snap, argv[optind + 1],
				     optind + 2 < argc ? argv[optind + 2] : NULL, lng, nul, values)
			 : list_tables(db, snap);
	golite_snapshot_free(snap);
	return cli_close(db, st);
}

int cmd_tables(int argc, char **argv)
{
	int status = cli_plain_args(argc, argv, 1, 1);
	if (status >= 0)
		return status;
	golite *db = cli_open(argv[optind], CLI_READ);
	if (!db)
		return EXIT_ERROR;
	return cli_close(db, list_tables(db, NULL));
}

/* ---- create and drop ---- */

int cmd_create(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "exist-ok", no_argument, NULL, 'p' }, HELP_OPTION, END_OPTIONS,
	};
	bool exist_ok = false;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "ph", longs, &status)) != -1)
		if (c == 'p')
			exist_ok = true;
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 2, -1))
		return EXIT_ERROR;
	golite *db = cli_open(argv[optind], CLI_CREATE);
	if (!db)
		return EXIT_ERROR;
	int st = 0;
	for (int i = optind + 1; i < argc; i++) {
		int r = golite_table_create(db, argv[i]);
		if (r == GOLITE_EEXIST && exist_ok)
			continue;
		if (r) {
			cli_fail(argv[i], r);
			st = EXIT_ERROR;
		}
	}
	return cli_close(db, st);
}

int cmd_drop(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "if-empty", no_argument, NULL, 'E' }, HELP_OPTION, END_OPTIONS,
	};
	unsigned flags = 0;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "h", longs, &status)) != -1)
		if (c == 'E')
			flags |= GOLITE_DROP_IF_EMPTY;
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 2, -1))
		return EXIT_ERROR;
	golite *db = cli_open(argv[optind], CLI_WRITE);
	if (!db)
		return EXIT_ERROR;
	int st = 0;
	for (int i = optind + 1; i < argc; i++) {
		int r = golite_table_drop(db, argv[i], flags);
		if (r == GOLITE_ENOTABLE) {
			cli_error("no table \"%s\"", argv[i]);
			if (st == 0)
				st = EXIT_NOTFOUND;
		} else if (r) {
			cli_fail(argv[i], r);
			st = EXIT_ERROR;
		}
	}
	return cli_close(db, st);
}

/* ---- load ---- */

#define LOAD_BATCH_BYTES (1u << 20)

int cmd_load(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "create", no_argument, NULL, 'c' },
		{ "batch", required_argument, NULL, 'b' },
		HELP_OPTION, END_OPTIONS,
	};
	bool create = false;
	/* Batches of at most a quarter memtable, so that flushes keep pace. */
	size_t batch_bytes = cli.opts.memtable_size / 4;
	if (batch_bytes > LOAD_BATCH_BYTES)
		batch_bytes = LOAD_BATCH_BYTES;
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "cb:h", longs, &status)) != -1) {
		if (c == 'c') {
			create = true;
		} else if (c == 'b') {
			char *end;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (*end == 'K' || *end == 'k')
				v <<= 10, end++;
			else if (*end == 'M' || *end == 'm')
				v <<= 20, end++;
			if (*end || v == 0 || v > GOLITE_MAX_BATCH_SIZE / 2) {
				cli_error("bad batch size \"%s\"", optarg);
				return EXIT_ERROR;
			}
			batch_bytes = (size_t)v;
		}
	}
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 2, 2))
		return EXIT_ERROR;
	const char *dir = argv[optind], *table = argv[optind + 1];
	golite *db = cli_open(dir, create ? CLI_CREATE : CLI_WRITE);
	if (!db)
		return EXIT_ERROR;
	int r = 0;
	if (create && !golite_table_exists(db, table)) {
		r = golite_table_create(db, table);
		if (r) {
			cli_fail(table, r);
			return cli_close(db, EXIT_ERROR);
		}
	}
	golite_batch *b = golite_batch_new();
	char *line = NULL;
	size_t cap = 0, bytes = 0;
	uint64_t lineno = 0, loaded = 0;
	ssize_t n;
	int st = 0;
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		char *tab = strchr(line, '\t');
		if (!tab) {
			cli_error("line %llu: no tab between key and value",
				  (unsigned long long)lineno);
			st = EXIT_ERROR;
			break;
		}
		*tab = '\0';
		size_t klen, vlen;
		uint8_t *key = cli_unescape(line, &klen), *val = key ? cli_unescape(tab + 1, &vlen) : NULL;
		if (!val || !cli_key_size_ok(klen)) {
			cli_error("line %llu: not loaded", (unsigned long long)lineno);
			free(key);
			free(val);
			st = EXIT_ERROR;
			break;
		}
		r = golite_batch_put(b, table, key, klen, val, vlen);
		bytes += klen + vlen;
		free(key);
		free(val);
		if (!r && bytes >= batch_bytes) {
			r = golite_write(db, b);
			golite_batch_clear(b);
			bytes = 0;
		}
		if (r) {
			cli_fail("load", r);
			st = EXIT_ERROR;
			break;
		}
		loaded++;
	}
	free(line);
	if (!st && golite_batch_count(b)) {
		r = golite_write(db, b);
		if (r) {
			cli_fail("load", r);
			st = EXIT_ERROR;
		}
	}
	golite_batch_free(b);
	if (!st)
		cli_note("loaded %llu keys into \"%s\"", (unsigned long long)loaded, table);
	return cli_close(db, st);
}

/* ---- snapshot ---- */

/* golite snapshot ls DATADIR | create DATADIR NAME | drop DATADIR NAME:
 * the action, then the store and the name, in the order of `golite create
 * DATADIR TABLE`. */
int cmd_snapshot(int argc, char **argv)
{
	int status = cli_plain_args(argc, argv, 2, 3);
	if (status >= 0)
		return status;
	const char *action = argv[optind];
	bool ls = strcmp(action, "ls") == 0;
	bool create = strcmp(action, "create") == 0, drop = strcmp(action, "drop") == 0;
	if (!ls && !create && !drop) {
		cli_error("unknown action \"%s\" (ls, create or drop)", action);
		return EXIT_ERROR;
	}
	if (argc - optind != (ls ? 2 : 3)) {
		cli_error(ls ? "usage: golite snapshot ls DATADIR"
			     : "usage: golite snapshot create|drop DATADIR NAME");
		return EXIT_ERROR;
	}
	const char *dir = argv[optind + 1], *name = ls ? NULL : argv[optind + 2];
	golite *db = cli_open(dir, ls ? CLI_READ : CLI_WRITE);
	if (!db)
		return EXIT_ERROR;
	int st = 0, r;
	if (ls) {
		golite_snapshot_info *v;
		size_t n;
		r = golite_snapshot_list(db, &v, &n);
		if (r) {
			cli_fail("snapshot ls", r);
			return cli_close(db, EXIT_ERROR);
		}
		for (size_t i = 0; i < n; i++) {
			char when[64] = "?";
			time_t t = (time_t)(v[i].time_ns / 1000000000);
			struct tm tm;
			if (gmtime_r(&t, &tm))
				strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
			printf("%llu\t%s\t", (unsigned long long)v[i].sequence, when);
			cli_put_escaped(stdout, v[i].name, strlen(v[i].name));
			fputc('\n', stdout);
		}
		golite_free(v);
	} else if (create) {
		uint64_t seq;
		r = golite_snapshot_create(db, name, &seq);
		if (r == GOLITE_EEXIST) {
			cli_error("a snapshot \"%s\" exists", name);
			st = EXIT_ERROR;
		} else if (r) {
			cli_fail(name, r);
			st = EXIT_ERROR;
		} else {
			printf("%llu\n", (unsigned long long)seq);
		}
	} else {
		r = golite_snapshot_drop(db, name);
		if (r == GOLITE_ENOTFOUND) {
			cli_error("no snapshot \"%s\"", name);
			st = EXIT_NOTFOUND;
		} else if (r) {
			cli_fail(name, r);
			st = EXIT_ERROR;
		}
	}
	return cli_close(db, st);
}
