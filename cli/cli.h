/*
 * cli.h — the golite command: shared pieces of its subcommands.
 *
 * golite works on a data directory that no running process has open. Each
 * subcommand is a function taking its own argv (argv[0] is the command
 * name) and returning the process's exit status:
 *
 *     0  success, or the key/table was found
 *     1  not found (get, rm, ls, drop, snapshot drop), or problems found
 *        (check)
 *     2  an error: bad usage, a store that cannot be opened (held by a
 *        running process, damaged, missing), a failed write
 *
 * Messages go to stderr as "golite: CMD: ...". Values go to stdout raw.
 */
#ifndef GOLITE_CLI_H
#define GOLITE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "golite.h"
#include "progress.h"

#define EXIT_FOUND 0
#define EXIT_NOTFOUND 1
#define EXIT_ERROR 2

/* Options given before the subcommand (golite -o NAME=VALUE ... CMD). */
struct cli_globals {
	golite_options opts;         /* for every open */
	bool quiet;                  /* no progress display */
	bool durability_set;         /* given with -o or --sync */
	const char *store;           /* --store URI: the store port (store.c) */
};
extern struct cli_globals cli;

/* Name of the running subcommand, for messages. */
extern const char *cli_cmd;

/* "golite: CMD: message\n" on stderr (the progress line cleared first). */
__attribute__((format(printf, 1, 2))) void cli_error(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void cli_note(const char *fmt, ...);

/* Applies one NAME=VALUE setting to cli.opts. Returns false (after a
 * message) if the name or value is not understood. */
bool cli_set_option(const char *setting);

/* How a subcommand opens the store. */
enum cli_open_mode {
	CLI_READ,      /* read-only; the store must exist */
	CLI_WRITE,     /* the store must exist */
	CLI_CREATE,    /* created if missing */
};

/*
 * Opens the store in dir with cli.opts, the progress display and the
 * message sink. On failure prints why (naming the process that holds the
 * directory, if one does) and returns NULL.
 */
golite *cli_open(const char *dir, enum cli_open_mode mode);

/* Closes the store; prints and returns EXIT_ERROR if the close failed,
 * else status. */
int cli_close(golite *db, int status);

/* Prints a failed call's message (golite_last_error, or the code's text)
 * after "what: " (nothing if what is NULL); for GOLITE_ELOCKED, which names
 * the process holding the store, says what to do instead. */
void cli_fail(const char *what, int err);

/* Writes n bytes to stdout; false (after a message) on a write error. */
bool cli_write_out(const void *p, size_t n);

/* ---- keys on the command line and in listings (keyfmt.c) ---- */

/*
 * Writes key to f in the listing form: bytes that are printable (ASCII
 * 0x20..0x7e, and whole valid UTF-8 sequences of characters from U+00A0)
 * as they are, a backslash as "\\", tab, newline and carriage return as
 * "\t", "\n", "\r", and every other byte as "\xHH". The form is
 * unambiguous and cli_unescape() turns it back into the key.
 */
void cli_put_escaped(FILE *f, const void *key, size_t len);

/* Decodes the escapes above in s. Returns a malloc()ed buffer and its
 * length in *len, or NULL (after a message) for a malformed escape. */
uint8_t *cli_unescape(const char *s, size_t *len);

/* The key operand: as given, or decoded from the escaped form (NULL after
 * a message if malformed). kv.c. */
uint8_t *cli_key_arg(const char *s, bool escaped, size_t *len);
/* True if len is a key's size; else false after a message. */
bool cli_key_size_ok(size_t len);
/* Reads standard input whole; NULL (after a message) if it is longer than
 * a value may be or cannot be read. */
uint8_t *cli_read_stdin(size_t *len);

/* ---- subcommands ---- */

int cmd_get(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_ttl_left(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_tables(int argc, char **argv);
int cmd_create(int argc, char **argv);
int cmd_drop(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_load(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_compact(int argc, char **argv);
int cmd_repair(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_serve(int argc, char **argv);
/* golite --store URI COMMAND ... (store.c): argv[0] is the command. */
int cli_store_main(const char *uri, int argc, char **argv);
void cli_store_help(FILE *f);

/* Prints the help of a subcommand (or the overview for NULL) to f.
 * Returns false if there is no such subcommand. */
bool cli_help(FILE *f, const char *cmd);

/* Entries of a subcommand's getopt_long table: --help, and the end. */
#define HELP_OPTION { "help", no_argument, NULL, 'h' }
#define END_OPTIONS { NULL, 0, NULL, 0 }

/*
 * Parses a subcommand's options with getopt_long. Handles --help (prints
 * the subcommand's help and returns -2 through *status) and unknown
 * options. The caller loops: while ((c = cli_getopt(...)) != -1).
 */
struct option;
int cli_getopt(int argc, char **argv, const char *shorts, const struct option *longs,
	       int *status);

/* For a subcommand whose only option is --help: parses the options and
 * checks that min..max operands follow (see cli_operands). Returns -1 to
 * go on (operands from argv[optind]), or the exit status to return. */
int cli_plain_args(int argc, char **argv, int min, int max);

/* Checks the number of operands left after options; prints the usage and
 * returns false if it is outside [min, max] (max < 0: no limit). */
bool cli_operands(int argc, int min, int max);

#endif /* GOLITE_CLI_H */
