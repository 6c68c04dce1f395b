/*
 * options.h — golitefs's command line (options.c): what it holds, and
 * the mount's options taken from it.
 */
#ifndef GOLITEFS_OPTIONS_H
#define GOLITEFS_OPTIONS_H

#include "fs.h"

/* The command line as given. Strings are malloc()ed (cli_free frees
 * them); numbers the line does not set keep the defaults cli_parse gives
 * them, which options_from_cli tells from set values. */
struct cli {
	char *datadir, *mountpoint;
	int nonopts;
	int foreground, debug, help, version, ro;
	char *durability, *loglevel, *memtable_size, *cache_size, *max_size;
	char *separate_values_from;
	char *store;                 /* store=URI: the mount on the store port */
	unsigned sync_interval_ms, sweep_interval, max_threads, max_idle_threads;
	unsigned events_buffer;
	int clone_fd;
	char *writeback;
	int compaction_threads;
	double attr_timeout, entry_timeout, negative_timeout;
	char *http_opts[16];         /* http=..., http_*=... (netglue.c) */
	int nhttp;
	bool bad;
};

/* Parses args (libfuse keeps what it knows) into c. Returns 0, or -1
 * when the line is bad (what is wrong has been printed); c is to be freed
 * with cli_free either way. */
int cli_parse(struct fuse_args *args, struct cli *c);
void cli_free(struct cli *c);
/* Prints the --help text, libfuse's options at its end. */
void cli_usage(const char *prog);
/* Fills o and *level from c, with the defaults for what c does not set.
 * Returns 0, or -1 after printing which option is wrong. */
int options_from_cli(const struct cli *c, struct gfs_options *o, enum gfs_loglevel *level);

#endif /* GOLITEFS_OPTIONS_H */
