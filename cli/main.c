/*
 * main.c — the golite command: global options, the subcommand table, help,
 * and the helpers every subcommand shares (opening the store, messages).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cli.h"
#include "http.h"

struct cli_globals cli;
const char *cli_cmd = "golite";

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *summary;
	const char *help;
};

static const struct command commands[] = {
	{ "get", cmd_get, "get [-e] [--snapshot NAME] DATADIR TABLE KEY",
	  "print a key's value",
	  "Writes the value of KEY in TABLE to standard output, byte for byte.\n"
	  "Exit status 0 if found, 1 if the key, the table or the snapshot does\n"
	  "not exist.\n"
	  "\n"
	  "  -e, --escaped   KEY is written in the escaped form `ls` prints\n"
	  "  -s, --snapshot NAME  read at named snapshot NAME (`golite snapshot`):\n"
	  "                  the value KEY had then, in TABLE as it was named then\n" },
	{ "put", cmd_put, "put [-e] [-c] [--ttl SECONDS] [--value STRING] DATADIR TABLE KEY",
	  "set a key's value",
	  "Sets KEY in TABLE to the bytes read from standard input (to its end), or\n"
	  "to STRING. The write is on disk when the command returns. A key put\n"
	  "without --ttl has no time to live (a previous one is cleared).\n"
	  "\n"
	  "  -v, --value STRING  the value (instead of standard input)\n"
	  "  -t, --ttl SECONDS   the key expires SECONDS from now (1 to 100 years):\n"
	  "                      it is absent to every read from then on and\n"
	  "                      deleted by the store\n"
	  "  -c, --create        create the store and the table if missing\n"
	  "  -e, --escaped       KEY is written in the escaped form `ls` prints\n" },
	{ "ttl", cmd_ttl_left, "ttl [-e] [-m] DATADIR TABLE KEY",
	  "print the time a key has left",
	  "Prints the seconds KEY in TABLE has left before it expires (rounded up),\n"
	  "or -1 if it does not expire. Exit status 1 if the key (or the table)\n"
	  "does not exist or has expired.\n"
	  "\n"
	  "  -m, --ms        print milliseconds\n"
	  "  -e, --escaped   KEY is written in the escaped form `ls` prints\n" },
	{ "rm", cmd_rm, "rm [-e] [-f] DATADIR TABLE KEY...",
	  "remove keys",
	  "Removes each KEY from TABLE. Exit status 1 if a key or the table did not\n"
	  "exist (the others are still removed).\n"
	  "\n"
	  "  -f, --force     a missing key is not an error\n"
	  "  -e, --escaped   KEYs are written in the escaped form `ls` prints\n" },
	{ "ls", cmd_ls, "ls [-l] [-v] [-0] [--snapshot NAME] DATADIR [TABLE [PREFIX]]",
	  "list tables, or the keys of a table",
	  "Without TABLE, lists the tables. With TABLE, lists its keys in order, one\n"
	  "per line (only those starting with PREFIX, if given). A key that is not\n"
	  "plain printable text is escaped: a backslash is \\\\, tab, newline and\n"
	  "carriage return are \\t, \\n and \\r, and any other byte that is not\n"
	  "printable ASCII or part of a printable UTF-8 character is \\xHH. `get -e`,\n"
	  "`put -e` and `rm -e` read that form back. Exit status 1 if the table (or\n"
	  "the snapshot) does not exist.\n"
	  "\n"
	  "  -l, --long      also show each key's kind (value, file, dir, link)\n"
	  "                  and size in bytes, tab-separated before the key; a\n"
	  "                  name of a hard-linked file shows the file's kind and\n"
	  "                  its link count, as \"file (2 links)\"; a key that\n"
	  "                  expires, the seconds it has left, as\n"
	  "                  \"value (expires in 60s)\"\n"
	  "  -v, --values    also show each value, escaped, after a tab (the form\n"
	  "                  `golite load` reads)\n"
	  "  -0, --null      print keys raw, each followed by a NUL byte\n"
	  "                  (for xargs -0), instead of escaped lines\n"
	  "  -s, --snapshot NAME  list the tables, or the keys, as they were at\n"
	  "                  named snapshot NAME (`golite snapshot`)\n" },
	{ "load", cmd_load, "load [-c] [-b BYTES] DATADIR TABLE < FILE",
	  "write many keys from standard input",
	  "Reads lines of the form KEY<TAB>VALUE from standard input, both in the\n"
	  "escaped form `ls -v` prints, and writes them to TABLE in batches (each\n"
	  "batch atomic, one log record). Stops at the first malformed line.\n"
	  "\n"
	  "  -c, --create    create the store and the table if missing\n"
	  "  -b, --batch BYTES  keys and values per batch (K, M suffixes); by\n"
	  "                  default a quarter of the memtable, at most 1 MiB\n" },
	{ "tables", cmd_tables, "tables DATADIR",
	  "list the tables",
	  "Lists the tables of the store, one name per line, escaped as `ls` does.\n" },
	{ "create", cmd_create, "create [-p] DATADIR TABLE...",
	  "create tables (and the store)",
	  "Creates each TABLE, and the store itself if DATADIR holds none.\n"
	  "\n"
	  "  -p, --exist-ok  a table that exists already is not an error\n" },
	{ "drop", cmd_drop, "drop [--if-empty] DATADIR TABLE...",
	  "drop tables and their keys",
	  "Drops each TABLE with every key in it. Exit status 1 if a table did not\n"
	  "exist.\n"
	  "\n"
	  "      --if-empty  refuse to drop a table that holds keys\n" },
	{ "snapshot", cmd_snapshot,
	  "snapshot ls DATADIR | snapshot create DATADIR NAME | snapshot drop DATADIR NAME",
	  "list, create or drop named snapshots",
	  "A named snapshot keeps the store as it was when it was made: `get` and\n"
	  "`ls` with --snapshot NAME read it, golitefs shows it under\n"
	  "/.golite/snapshots/NAME, and compaction keeps the versions it sees until\n"
	  "it is dropped. Named snapshots are recorded in the MANIFEST and survive\n"
	  "restarts and crashes; checkpoints and backups carry them.\n"
	  "\n"
	  "  ls DATADIR           one line per snapshot: its sequence number, the\n"
	  "                       time it was made (UTC) and its name, escaped as\n"
	  "                       `ls` escapes keys, tab-separated, sorted by name\n"
	  "  create DATADIR NAME  makes snapshot NAME of the store as it is now and\n"
	  "                       prints its sequence number; NAME is 1 to 255\n"
	  "                       bytes without '/', not \".\" or \"..\"\n"
	  "  drop DATADIR NAME    drops it; the next compactions give back the\n"
	  "                       space of what only it kept\n"
	  "Exit status 1 if drop finds no such snapshot; 2 if create finds one\n"
	  "exists or the name is not allowed.\n" },
	{ "stats", cmd_stats, "stats DATADIR",
	  "show figures and the tables of each level",
	  "Prints the store's figures (one \"name value\" line each: files and bytes\n"
	  "per level, write and space amplification, log, memtable and snapshot\n"
	  "figures),\n"
	  "then a summary per level and one line per table from the manifest:\n"
	  "level, file, size, entries, deletions, sequence range and key range.\n" },
	{ "check", cmd_check, "check [-q] DATADIR | FILE",
	  "verify every checksum and the store's consistency",
	  "Reads every log record, every table block and every manifest edit and\n"
	  "verifies checksums, structure and ordering; checks that the tables the\n"
	  "manifest names exist and agree with it, that tables of levels 1 and\n"
	  "deeper do not overlap, that sequence numbers grow and that the table\n"
	  "catalog is consistent. Every problem is printed as FILE:OFFSET: problem:\n"
	  "MESSAGE, and the check goes on to find them all. It writes nothing and\n"
	  "does not need the store to open. Given a single file (a log segment, a\n"
	  "table or a MANIFEST), checks that file alone.\n"
	  "Exit status 0 if clean, 1 if problems were found, 2 if the check could\n"
	  "not run.\n"
	  "\n"
	  "  -q, --quiet     do not print notes (harmless findings)\n" },
	{ "compact", cmd_compact, "compact DATADIR [TABLE]",
	  "compact a table, or the whole store",
	  "Merges the tables holding TABLE's keys (every table's, without TABLE)\n"
	  "down to the last level, dropping overwritten and deleted data.\n" },
	{ "repair", cmd_repair, "repair DATADIR",
	  "make a damaged store open again, keeping every readable record",
	  "Keeps every record that checks out and drops what does not, then\n"
	  "leaves a store that opens and that `golite check` finds clean:\n"
	  "  - a damaged table is rewritten with the entries of its readable blocks;\n"
	  "  - a damaged log segment is rewritten with its readable records;\n"
	  "  - a damaged or missing MANIFEST is rebuilt from the tables present;\n"
	  "  - a table the manifest names but that is missing is dropped from it;\n"
	  "  - the table catalog is made consistent (a table whose name was lost\n"
	  "    is named recovered-ID).\n"
	  "Every file replaced is first moved aside into DATADIR/lost/TIMESTAMP/.\n"
	  "Each problem, each dropped range (file and offset) and each change is\n"
	  "printed. Exit status 0 if the store is now clean, 2 otherwise.\n" },
	{ "backup", cmd_backup, "backup [-v] SRC DEST",
	  "copy a store to a backup directory, incrementally",
	  "Copies the store SRC, as of one sequence number, to the directory DEST:\n"
	  "its tables, the part of its log that leads to that sequence, a MANIFEST\n"
	  "naming those tables, and a file CHECKPOINT saying what was copied and\n"
	  "when. DEST is a store of its own: `golite check DEST` checks it, `golite\n"
	  "restore` copies it back, and any golite command or golitefs opens it.\n"
	  "Everything is copied (DEST shares no file with SRC) and synced.\n"
	  "\n"
	  "DEST may exist: an empty directory, or an earlier backup. Then the new\n"
	  "backup is built beside it in DEST.tmp-PID-N, each table the earlier one\n"
	  "holds unchanged (same number and size, same index and footer, every\n"
	  "block checksum verified) is kept (hard-linked) instead of copied, and the\n"
	  "two directories are swapped in one rename; the earlier backup goes, with\n"
	  "the tables the new one no longer holds. A backup cut short at any point\n"
	  "leaves DEST the earlier backup or the new one; the next backup to DEST\n"
	  "removes what it left. A DEST that holds a store which is not a backup, or\n"
	  "anything else, is refused.\n"
	  "\n"
	  "SRC must not be in use (it is opened read-only). The last line printed\n"
	  "says the sequence, the tables kept and copied, and the bytes copied.\n"
	  "\n"
	  "  -v, --verbose   print each file as it is placed: \"kept NAME\" or\n"
	  "                  \"copied NAME\", with its size\n" },
	{ "restore", cmd_restore, "restore [-v] BACKUP DATADIR",
	  "copy a backup to a new data directory, check it and open it",
	  "Checks the backup BACKUP (a directory `golite backup` made, or any store),\n"
	  "copies it to DATADIR, which must not exist or be empty (its parent must\n"
	  "exist), checks the copy and opens it, which replays its log. The copy is\n"
	  "built in DATADIR.tmp-PID-N and renamed into place, so an interrupted\n"
	  "restore leaves DATADIR as it was; an empty DATADIR is replaced by the new\n"
	  "directory, which takes its mode and owner. Exit status 2 if the backup or\n"
	  "the copy has problems.\n"
	  "\n"
	  "  -v, --verbose   print each file as it is copied\n" },
	{ "dump", cmd_dump, "dump [--hex] FILE",
	  "print a log segment, table or MANIFEST",
	  "Prints FILE in human-readable form. The kind of file is told by its\n"
	  "magic number: a log segment (each record's offset and its batch:\n"
	  "sequence, operation, table id, key, value), a table (footer, properties,\n"
	  "index, entries) or a MANIFEST (counters and table records). Keys and\n"
	  "values are printed as quoted, escaped strings.\n"
	  "\n"
	  "  -x, --hex       print values (and table keys) in hexadecimal\n" },
	{ "serve", cmd_serve, "serve [-c] [-l ADDR:PORT] [OPTIONS] DATADIR",
	  "serve the HTTP API (and the Redis protocol) until SIGINT or SIGTERM",
	  "Serves the store over HTTP (docs/api.md): keys as resources under\n"
	  "/v1/t/TABLE/KEY, listings, batches, a change feed, /metrics; with\n"
	  "--redis also the Redis protocol (docs/redis.md). Both share the store's\n"
	  "change feed: /v1/events and Redis keyspace notifications tell of the\n"
	  "writes made through either. Runs until\n"
	  "SIGINT or SIGTERM, then lets the requests under way finish and closes\n"
	  "the store cleanly. Writes are durable as -o durability says (periodic\n"
	  "by default here; --sync: on disk before each reply).\n"
	  "\n"
	  "  -l, --listen ADDR:PORT  where to listen (default " HTTP_DEFAULT_LISTEN ",\n"
	  "                  loopback only); :PORT for every address, [V6]:PORT\n"
	  "  -c, --create    create the store if missing\n"
	  "  -r, --read-only open the store read-only; writes answer 403\n"
	  "      --tls-cert FILE, --tls-key FILE\n"
	  "                  serve HTTPS with this PEM certificate and key\n"
	  "      --tokens FILE  require \"Authorization: Bearer TOKEN\"; FILE must be\n"
	  "                  mode 0600 and holds lines \"TOKEN rw\" or \"TOKEN ro\"\n"
	  "                  (ro tokens cannot write)\n"
	  "      --threads N     server threads (default: one per CPU it may run on)\n"
	  "      --max-conns N   connections at once (default 1024)\n"
	  "      --max-body SIZE largest request body (default and most 64M)\n"
	  "      --timeout SECONDS  close idle connections after it (default 60)\n"
	  "      --conn-memory SIZE memory per connection for the request line and\n"
	  "                  headers (default 64K)\n"
	  "      --events-buffer N  events the change feed keeps for readers that\n"
	  "                  fall behind (/v1/events; default 8192)\n"
	  "      --redis ADDR:PORT  serve the Redis protocol there too (loopback\n"
	  "                  unless told; docs/redis.md)\n"
	  "      --redis-password-file FILE  clients must AUTH with the password in\n"
	  "                  FILE (mode 0600)\n"
	  "      --no-http   serve only the Redis protocol (needs --redis)\n"
	  "\n"
	  "Example:\n"
	  "  golite serve -c /srv/data &\n"
	  "  curl -X PUT localhost:7480/v1/t/users\n"
	  "  curl -X PUT --data-binary hello localhost:7480/v1/t/users/42\n"
	  "  curl localhost:7480/v1/t/users/42\n" },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

static const char overview_tail[] =
	"\n"
	"Global options (before COMMAND):\n"
	"  -o, --option NAME=VALUE[,NAME=VALUE...]\n"
	"                  store options for the open: memtable_size, sstable_size,\n"
	"                  wal_segment_size, wal_buffer_size, block_cache_size\n"
	"                  (bytes; K, M, G suffixes), durability (sync, periodic,\n"
	"                  none), sync_interval_ms, compression (none, lz4, zstd),\n"
	"                  compaction_threads, bloom_bits_per_key, memtable\n"
	"                  (lockfree, locked), flush_on_close (0 leaves the\n"
	"                  writes in the log at close), max_size and\n"
	"                  space_reserve (bytes; docs/operations.md)\n"
	"      --sync      the same as -o durability=sync\n"
	"      --store URI  work on the store URI names, local:DATADIR or\n"
	"                  etcd://HOST:PORT[,HOST:PORT...]/PREFIX, through the\n"
	"                  store port (`golite --store URI help`)\n"
	"  -q, --quiet     no progress display\n"
	"  -h, --help      this help; `golite help COMMAND` or `golite COMMAND --help`\n"
	"                  for a command's\n"
	"  -V, --version   the version\n"
	"\n"
	"DATADIR must not be in use: a store mounted by golitefs or open in another\n"
	"program is refused (exit status 2) with the holder's process id.\n"
	"\n"
	"Exit status: 0 success or found, 1 not found (or problems found by check),\n"
	"2 error.\n";

bool cli_help(FILE *f, const char *cmd)
{
	if (!cmd) {
		fputs("Usage: golite [OPTIONS] COMMAND [ARGS]\n\n"
		      "Tools for a GoLite data directory that is not mounted.\n\n"
		      "Commands:\n", f);
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
		fprintf(f, "  %-9s %s\n", "help", "show the help of a command");
		fputs(overview_tail, f);
		return true;
	}
	const struct command *c = find_command(cmd);
	if (!c)
		return false;
	fprintf(f, "Usage: golite %s\n\n%s", c->usage, c->help);
	fputs("  -h, --help      show this help\n", f);
	return true;
}

/* ---- messages ---- */

static void vmessage(const char *fmt, va_list ap)
{
	progress_clear();
	fprintf(stderr, "golite: %s: ", cli_cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void cli_note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void cli_fail(const char *what, int err)
{
	const char *detail = golite_last_error();
	if (!detail || !*detail)
		detail = golite_strerror(err);
	if (err == GOLITE_ELOCKED)
		cli_error("%s (unmount it, or stop that process, and try again)", detail);
	else if (what)
		cli_error("%s: %s", what, detail);
	else
		cli_error("%s", detail);
}

bool cli_write_out(const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, stdout) != n) {
		cli_error("cannot write to standard output: %s", strerror(errno));
		return false;
	}
	return true;
}

/* ---- options ---- */

static bool parse_size(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	uint64_t mult = 1;
	switch (*end) {
	case 'k': case 'K': mult = 1ull << 10; end++; break;
	case 'm': case 'M': mult = 1ull << 20; end++; break;
	case 'g': case 'G': mult = 1ull << 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end += *end == 'i' && end[1] == 'B' ? 2 : 1;
	if (*end || v > UINT64_MAX / mult)
		return false;
	*out = v * mult;
	return true;
}

bool cli_set_option(const char *setting)
{
	const char *eq = strchr(setting, '=');
	if (!eq) {
		cli_error("option \"%s\" is not NAME=VALUE", setting);
		return false;
	}
	size_t nl = (size_t)(eq - setting);
	const char *val = eq + 1;
	golite_options *o = &cli.opts;
	uint64_t v = 0;
	bool num = parse_size(val, &v);
#define NAME(s) (nl == strlen(s) && strncmp(setting, s, nl) == 0)
	if (NAME("durability"))
		cli.durability_set = true;
	if (NAME("memtable_size") && num)
		o->memtable_size = v;
	else if (NAME("sstable_size") && num)
		o->sstable_size = v;
	else if (NAME("wal_segment_size") && num)
		o->wal_segment_size = v;
	else if (NAME("wal_buffer_size") && num)
		o->wal_buffer_size = v;
	else if (NAME("block_cache_size") && num)
		o->block_cache_size = v;
	else if (NAME("max_size") && num)
		o->max_size = v;
	else if (NAME("space_reserve") && num)
		o->space_reserve = v;
	else if (NAME("sync_interval_ms") && num && v <= UINT32_MAX)
		o->sync_interval_ms = (uint32_t)v;
	else if (NAME("compaction_threads") && num && v <= 64)
		o->compaction_threads = (uint32_t)v;
	else if (NAME("bloom_bits_per_key") && num && v <= 64)
		o->bloom_bits_per_key = (uint32_t)v;
	else if (NAME("flush_on_close") && num && v <= 1)
		o->flush_on_close = v == 1;
	else if (NAME("durability") && !strcmp(val, "sync"))
		o->durability = GOLITE_SYNC;
	else if (NAME("durability") && !strcmp(val, "periodic"))
		o->durability = GOLITE_PERIODIC;
	else if (NAME("durability") && !strcmp(val, "none"))
		o->durability = GOLITE_NONE;
	else if (NAME("compression") && !strcmp(val, "none"))
		o->compression = GOLITE_COMPRESS_NONE;
	else if (NAME("compression") && !strcmp(val, "lz4"))
		o->compression = GOLITE_COMPRESS_LZ4;
	else if (NAME("compression") && !strcmp(val, "zstd"))
		o->compression = GOLITE_COMPRESS_ZSTD;
	else if (NAME("memtable") && !strcmp(val, "lockfree"))
		o->memtable = GOLITE_MEMTABLE_LOCKFREE;
	else if (NAME("memtable") && !strcmp(val, "locked"))
		o->memtable = GOLITE_MEMTABLE_LOCKED;
	else {
		cli_error("unknown option or bad value: %s (see golite --help)", setting);
		return false;
	}
#undef NAME
	return true;
}

static bool set_options(const char *list)
{
	char *copy = strdup(list);
	if (!copy)
		abort();
	bool ok = true;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save))
		ok = cli_set_option(tok);
	free(copy);
	return ok;
}

int cli_getopt(int argc, char **argv, const char *shorts, const struct option *longs,
	       int *status)
{
	int c = getopt_long(argc, argv, shorts, longs, NULL);
	if (c == 'h') {
		cli_help(stdout, cli_cmd);
		*status = 0;
		return -1;
	}
	if (c == '?' || c == ':') {
		const struct command *cmd = find_command(cli_cmd);
		fprintf(stderr, "Usage: golite %s\n(golite %s --help for more)\n",
			cmd ? cmd->usage : cli_cmd, cli_cmd);
		*status = EXIT_ERROR;
		return -1;
	}
	return c;
}

bool cli_operands(int argc, int min, int max)
{
	int n = argc - optind;
	if (n >= min && (max < 0 || n <= max))
		return true;
	const struct command *cmd = find_command(cli_cmd);
	fprintf(stderr, "Usage: golite %s\n(golite %s --help for more)\n",
		cmd ? cmd->usage : cli_cmd, cli_cmd);
	return false;
}

int cli_plain_args(int argc, char **argv, int min, int max)
{
	static const struct option longs[] = { HELP_OPTION, END_OPTIONS };
	int status = -1;
	while (cli_getopt(argc, argv, "h", longs, &status) != -1)
		;
	if (status >= 0)
		return status;
	return cli_operands(argc, min, max) ? -1 : EXIT_ERROR;
}

/* ---- the store ---- */

static void log_sink(void *ctx, enum golite_log_level level, const char *msg)
{
	(void)ctx;
	static const char *const names[] = { "error", "warning", "info", "debug" };
	progress_clear();
	fprintf(stderr, "golite: %s: %s\n", names[level <= GOLITE_LOG_DEBUG ? level : 0], msg);
}

golite *cli_open(const char *dir, enum cli_open_mode mode)
{
	golite_options o = cli.opts;
	o.create_if_missing = mode == CLI_CREATE;
	o.read_only = mode == CLI_READ;
	o.log = log_sink;
	if (!cli.quiet)
		o.progress = progress_report;
	golite *db;
	int r = golite_open(dir, &o, &db);
	progress_end();
	if (r == 0)
		return db;
	if (r == GOLITE_ENOTFOUND)
		cli_error("%s: no store there (%s)", dir, golite_last_error());
	else if (r == GOLITE_ECORRUPT)
		cli_error("cannot open %s: %s (see `golite check` and `golite repair`)", dir,
			  golite_last_error());
	else
		cli_fail(dir, r);
	return NULL;
}

int cli_close(golite *db, int status)
{
	int r = golite_close(db);
	progress_end();
	if (r) {
		cli_fail("close", r);
		return EXIT_ERROR;
	}
	return status;
}

/* ---- main ---- */

int main(int argc, char **argv)
{
	golite_options_init(&cli.opts);
	/* Closing the store writes and syncs the log, so a command's writes
	 * are durable when it exits without a sync per write. */
	cli.opts.durability = GOLITE_NONE;
	static const struct option longs[] = {
		{ "option", required_argument, NULL, 'o' },
		{ "sync", no_argument, NULL, 's' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "store", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	/* "+": stop at the command name; its options are its own. */
	while ((c = getopt_long(argc, argv, "+o:qhV", longs, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!set_options(optarg))
				return EXIT_ERROR;
			break;
		case 's':
			cli.opts.durability = GOLITE_SYNC;
			cli.durability_set = true;
			break;
		case 'q':
			cli.quiet = true;
			break;
		case 'S':
			cli.store = optarg;
			break;
		case 'h':
			cli_help(stdout, NULL);
			return 0;
		case 'V':
			printf("golite %s\n", GOLITE_VERSION_STRING);
			return 0;
		default:
			fputs("(golite --help for usage)\n", stderr);
			return EXIT_ERROR;
		}
	}
	if (optind >= argc) {
		cli_help(stderr, NULL);
		return EXIT_ERROR;
	}
	const char *name = argv[optind];
	if (cli.store && strcmp(name, "help") == 0) {
		cli_store_help(stdout);
		return 0;
	}
	if (strcmp(name, "help") == 0) {
		const char *what = optind + 1 < argc ? argv[optind + 1] : NULL;
		if (!cli_help(stdout, what)) {
			fprintf(stderr, "golite: no command \"%s\" (golite --help lists them)\n", what);
			return EXIT_ERROR;
		}
		return 0;
	}
	const struct command *cmd = cli.store ? NULL : find_command(name);
	if (!cmd && !cli.store) {
		fprintf(stderr, "golite: no command \"%s\" (golite --help lists them)\n", name);
		return EXIT_ERROR;
	}
	cli_cmd = cmd ? cmd->name : name;
	int sub_argc = argc - optind;
	char **sub_argv = argv + optind;
	int status;
	if (cmd) {
		optind = 0;   /* reinitialise getopt for the subcommand */
		status = cmd->fn(sub_argc, sub_argv);
	} else {
		/* --store URI: the command works on the store port (store.c) */
		status = cli_store_main(cli.store, sub_argc, sub_argv);
	}
	if (fflush(stdout) != 0) {
		cli_error("cannot write to standard output: %s", strerror(errno));
		status = EXIT_ERROR;
	}
	return status;
}
