/*
 * options.c — golitefs's command line and mount options.
 *
 *   golitefs [-f] [-d] [-o OPTIONS] DATADIR MOUNTPOINT
 *
 * Arguments may come in any order around the options, as mount(8) and
 * /etc/fstab pass them ("mount -t fuse.golitefs DATADIR MNT -o ...").
 * What mount(8) and fstab add that means nothing to the daemon (defaults,
 * auto, nofail, ...) is dropped; libfuse's own options pass through.
 * Every option is checked before anything is opened or mounted: a bad
 * one is reported on stderr, and the command exits with status 1.
 */
#include "fs.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "options.h"
#include "util.h"

enum { KEY_FG, KEY_DEBUG, KEY_HELP, KEY_VERSION, KEY_RO };

#define OPT(t, f) { t, offsetof(struct cli, f), 0 }
static const struct fuse_opt cli_opts[] = {
	OPT("durability=%s", durability),
	OPT("sync_interval_ms=%u", sync_interval_ms),
	OPT("memtable_size=%s", memtable_size),
	OPT("separate_values_from=%s", separate_values_from),
	OPT("store=%s", store),
	OPT("cache_size=%s", cache_size),
	OPT("max_size=%s", max_size),
	OPT("compaction_threads=%d", compaction_threads),
	OPT("attr_timeout=%lf", attr_timeout),
	OPT("entry_timeout=%lf", entry_timeout),
	OPT("negative_timeout=%lf", negative_timeout),
	OPT("sweep_interval=%u", sweep_interval),
	OPT("max_threads=%u", max_threads),
	OPT("max_idle_threads=%u", max_idle_threads),
	{ "clone_fd", offsetof(struct cli, clone_fd), 1 },
	OPT("writeback_cache=%s", writeback),
	OPT("loglevel=%s", loglevel),
	OPT("events_buffer=%u", events_buffer),
	FUSE_OPT_KEY("-f", KEY_FG),
	FUSE_OPT_KEY("-d", KEY_DEBUG),
	FUSE_OPT_KEY("debug", KEY_DEBUG),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("ro", KEY_RO),
	/* What mount(8) and fstab add that means nothing to the daemon. */
	FUSE_OPT_KEY("defaults", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("auto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("noauto", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nofail", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("_netdev", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("user", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("users", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("nouser", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("owner", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_KEY("rw", FUSE_OPT_KEY_DISCARD),
	FUSE_OPT_END
};

static int cli_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct cli *c = data;
	(void)outargs;
	switch (key) {
	case FUSE_OPT_KEY_NONOPT:
		if (c->nonopts == 0)
			c->datadir = xstrdup(arg);
		else if (c->nonopts == 1)
			c->mountpoint = xstrdup(arg);
		else {
			fprintf(stderr, "golitefs: unexpected argument '%s'\n", arg);
			c->bad = true;
		}
		c->nonopts++;
		return 0;
	case KEY_FG:
		c->foreground = 1;
		return 0;
	case KEY_DEBUG:
		c->debug = 1;
		c->foreground = 1;
		return 1;  /* libfuse prints every request */
	case KEY_HELP:
		c->help = 1;
		return 0;
	case KEY_VERSION:
		c->version = 1;
		return 0;
	case KEY_RO:
		c->ro = 1;
		return 1;  /* the kernel mounts read-only too */
	default:
		/* The network servers' options (net/http.h, net/resp.h),
		 * checked by netglue. */
		if ((!strncmp(arg, "http", 4) && (!arg[4] || arg[4] == '=' || arg[4] == '_')) ||
		    !strncmp(arg, "redis=", 6) || !strncmp(arg, "redis_", 6)) {
			if (c->nhttp == (int)ARRAY_SIZE(c->http_opts)) {
				fprintf(stderr, "golitefs: too many http and redis options\n");
				c->bad = true;
				return 0;
			}
			/* -o http alone: the default address, loopback. */
			c->http_opts[c->nhttp++] = arg[4] ? xstrdup(arg)
						   : xstrdup("http=" HTTP_DEFAULT_LISTEN);
			return 0;
		}
		return 1;
	}
}

void cli_usage(const char *prog)
{
	printf("usage: %s [-f] [-d] [-o OPTIONS] DATADIR MOUNTPOINT\n"
	       "       %s [-f] [-d] -o store=URI[,OPTIONS] MOUNTPOINT\n"
	       "\n"
	       "Mounts the GoLite store in DATADIR (created if missing) at MOUNTPOINT:\n"
	       "tables are directories, keys are files, values are their contents.\n"
	       "\n"
	       "  -f                     stay in the foreground (log to stderr)\n"
	       "  -d, -o debug           foreground, and print every FUSE request\n"
	       "  -h, --help             this text\n"
	       "  -V, --version          versions\n"
	       "\n"
	       "golitefs options (-o name=value,...):\n"
	       "  durability=MODE        sync: every write is on disk when it returns;\n"
	       "                         periodic (default): on disk within sync_interval_ms;\n"
	       "                         none: on disk at fsync and unmount only\n"
	       "  sync_interval_ms=N     periodic mode window, 1..60000 (default 1000)\n"
	       "  memtable_size=SIZE     engine memtable size (default 64M; K, M, G suffixes)\n"
	       "  cache_size=SIZE        engine block cache size (default 64M)\n"
	       "  separate_values_from=SIZE  values (file chunks) this large or larger are\n"
	       "                         written once, kept in the log (default 4K; off)\n"
	       "  max_size=SIZE          most disk space the store's files may take (default:\n"
	       "                         the file system's); writes fail with ENOSPC near it\n"
	       "  compaction_threads=N   engine background compaction threads (default 1)\n"
	       "  attr_timeout=SECONDS   kernel attribute cache time (default 10)\n"
	       "  entry_timeout=SECONDS  kernel name cache time (default 10)\n"
	       "  negative_timeout=SECONDS  cache time of names that do not exist (default 10)\n"
	       "  sweep_interval=SECONDS orphaned-chunk sweep period, 0 = only at mount\n"
	       "                         (default 600)\n"
	       "  max_threads=N          FUSE worker threads at most (default 10)\n"
	       "  max_idle_threads=N     idle FUSE worker threads kept (default 10)\n"
	       "  clone_fd               one /dev/fuse descriptor per worker thread\n"
	       "  loglevel=LEVEL         error, warn (default), info or debug: messages\n"
	       "                         go to stderr with -f, to syslog (daemon) once\n"
	       "                         detached\n"
	       "  events_buffer=N        events kept for readers of /.golite/events that\n"
	       "                         fall behind, 1..16777216 (default 8192)\n"
	       "  ro                     read-only mount (the store is opened read-only)\n"
	       "  allow_other            let other users in (off by default; needs\n"
	       "                         user_allow_other in /etc/fuse.conf for non-root)\n"
	       "  dev, suid              honour device nodes and set-user-ID bits (root\n"
	       "                         only; the default is nodev,nosuid)\n"
	       "\n"
	       "The mount on a shared store (docs/etcd.md): -o store=URI instead of DATADIR,\n"
	       "  URI etcd://HOST:PORT[,HOST:PORT...]/PREFIX (or local:DATADIR). Many mounts of\n"
	       "  one store, on many machines, see one tree; attr_timeout and entry_timeout\n"
	       "  default to 1 there. The engine's own options do not apply.\n"
	       "\n"
	       "The HTTP API beside the mount (docs/api.md), started by -o http=...:\n"
	       "%s"
	       "\n"
	       "The Redis protocol beside the mount (docs/redis.md):\n"
	       "  redis=ADDR:PORT        serve it there (writes show in the mount at once)\n"
	       "  redis_password_file=FILE  clients must AUTH with the password in FILE\n"
	       "                         (mode 0600)\n"
	       "\n"
	       "Control files: MOUNTPOINT/.golite/stats (figures: rates, latency\n"
	       "percentiles, log, memtables, tables per level, compaction), and\n"
	       "MOUNTPOINT/.golite/events (one line per change; follow it with tail -f).\n"
	       "\n"
	       "default_permissions is always on: the kernel checks modes and owners.\n"
	       "Unmount with: fusermount3 -u MOUNTPOINT\n"
	       "\n"
	       "FUSE options:\n",
	       prog, prog, http_options_help);
	fflush(stdout);
	fuse_lowlevel_help();
}

static bool parse_size(const char *s, size_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s)
		return false;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end)
		return false;
	*out = (size_t)v;
	return true;
}

/*
 * -o store=etcd://H:P,H:P/PREFIX: the commas between members belong to
 * the URI, not to the option list. Each option string that holds
 * "store=etcd://" gets those commas escaped ("\,", which fuse_opt_parse
 * reads as a comma) before it is parsed.
 */
static void escape_store_commas(struct fuse_args *args)
{
	for (int i = 1; i < args->argc; i++) {
		char *a = args->argv[i];
		char *at = strstr(a, "store=etcd://");
		bool opts = strncmp(a, "-o", 2) == 0 || (i > 1 && strcmp(args->argv[i - 1], "-o") == 0);
		if (!at || !opts)
			continue;
		char *hosts = at + strlen("store=etcd://");
		size_t hl = strcspn(hosts, "/");
		size_t commas = 0;
		for (size_t k = 0; k < hl; k++)
			commas += hosts[k] == ',' && (k == 0 || hosts[k - 1] != '\\');
		if (!commas)
			continue;
		char *out = xmalloc(strlen(a) + commas + 1), *o = out;
		for (char *p = a; *p; p++) {
			if (p >= hosts && p < hosts + hl && *p == ',' && p[-1] != '\\')
				*o++ = '\\';
			*o++ = *p;
		}
		*o = '\0';
		/* argv of a fuse_args made from main's argv is main's: the new
		 * string lives as long as the process */
		if (args->allocated)
			free(a);
		args->argv[i] = out;
	}
}

int cli_parse(struct fuse_args *args, struct cli *c)
{
	memset(c, 0, sizeof(*c));
	escape_store_commas(args);
	c->compaction_threads = -1;
	c->attr_timeout = c->entry_timeout = c->negative_timeout = -1;
	c->sweep_interval = UINT_MAX;
	c->events_buffer = UINT_MAX;
	if (fuse_opt_parse(args, c, cli_opts, cli_proc) < 0 || c->bad)
		return -1;
	return 0;
}

void cli_free(struct cli *c)
{
	free(c->datadir);
	free(c->mountpoint);
	free(c->durability);
	free(c->loglevel);
	free(c->memtable_size);
	free(c->separate_values_from);
	free(c->store);
	free(c->cache_size);
	free(c->max_size);
	free(c->writeback);
	for (int i = 0; i < c->nhttp; i++)
		free(c->http_opts[i]);
}

int options_from_cli(const struct cli *c, struct gfs_options *o, enum gfs_loglevel *level)
{
	memset(o, 0, sizeof(*o));
	o->durability = GOLITE_PERIODIC;
	o->sync_interval_ms = 1000;
	o->compaction_threads = -1;
	o->attr_timeout = o->entry_timeout = o->negative_timeout = 10.0;
	o->sweep_interval_s = 600;
	o->max_threads = 10;
	o->read_only = c->ro;
	o->events_buffer = GFS_EVENTS_DEFAULT;
	*level = LOG_LVL_WARN;
	if (c->durability) {
		if (strcmp(c->durability, "sync") == 0)
			o->durability = GOLITE_SYNC;
		else if (strcmp(c->durability, "periodic") == 0)
			o->durability = GOLITE_PERIODIC;
		else if (strcmp(c->durability, "none") == 0)
			o->durability = GOLITE_NONE;
		else {
			fprintf(stderr, "golitefs: durability=%s: use sync, periodic or none\n",
				c->durability);
			return -1;
		}
	}
	if (c->sync_interval_ms) {
		if (c->sync_interval_ms > 60000) {
			fprintf(stderr, "golitefs: sync_interval_ms=%u: use 1..60000\n",
				c->sync_interval_ms);
			return -1;
		}
		o->sync_interval_ms = c->sync_interval_ms;
	}
	if (c->separate_values_from) {
		if (strcmp(c->separate_values_from, "off") == 0) {
			o->separate_values_from = SIZE_MAX;
		} else if (!parse_size(c->separate_values_from, &o->separate_values_from) ||
			   o->separate_values_from == 0) {
			fprintf(stderr, "golitefs: separate_values_from=%s: not a size or off\n",
				c->separate_values_from);
			return -1;
		}
	}
	if (c->memtable_size && !parse_size(c->memtable_size, &o->memtable_size)) {
		fprintf(stderr, "golitefs: memtable_size=%s: not a size\n", c->memtable_size);
		return -1;
	}
	if (c->max_size && (!parse_size(c->max_size, &o->max_size) || o->max_size < (16u << 20))) {
		fprintf(stderr, "golitefs: max_size=%s: not a size of 16M or more\n", c->max_size);
		return -1;
	}
	if (c->cache_size && !parse_size(c->cache_size, &o->cache_size)) {
		fprintf(stderr, "golitefs: cache_size=%s: not a size\n", c->cache_size);
		return -1;
	}
	if (c->compaction_threads >= 0)
		o->compaction_threads = c->compaction_threads;
	if (c->attr_timeout >= 0)
		o->attr_timeout = c->attr_timeout;
	if (c->entry_timeout >= 0)
		o->entry_timeout = c->entry_timeout;
	if (c->negative_timeout >= 0)
		o->negative_timeout = c->negative_timeout;
	if (c->sweep_interval != UINT_MAX)
		o->sweep_interval_s = c->sweep_interval;
	if (c->max_threads)
		o->max_threads = c->max_threads;
	o->max_idle_threads = c->max_idle_threads ? c->max_idle_threads : 10;
	o->clone_fd = c->clone_fd;
	o->writeback_cache = true;
	if (c->writeback) {
		if (strcmp(c->writeback, "yes") == 0 || strcmp(c->writeback, "1") == 0)
			o->writeback_cache = true;
		else if (strcmp(c->writeback, "no") == 0 || strcmp(c->writeback, "0") == 0)
			o->writeback_cache = false;
		else {
			fprintf(stderr, "golitefs: writeback_cache=%s: use yes or no\n", c->writeback);
			return -1;
		}
	}
	if (c->events_buffer != UINT_MAX) {
		if (c->events_buffer < 1 || c->events_buffer > GFS_EVENTS_MAX) {
			fprintf(stderr, "golitefs: events_buffer=%u: use 1..%u\n", c->events_buffer,
				GFS_EVENTS_MAX);
			return -1;
		}
		o->events_buffer = c->events_buffer;
	}
	if (c->loglevel) {
		static const char *const names[] = { "error", "warn", "info", "debug" };
		int found = -1;
		for (int i = 0; i < 4; i++)
			if (strcmp(c->loglevel, names[i]) == 0)
				found = i;
		if (found < 0) {
			fprintf(stderr, "golitefs: loglevel=%s: use error, warn, info or debug\n",
				c->loglevel);
			return -1;
		}
		*level = (enum gfs_loglevel)found;
	}
	return 0;
}
