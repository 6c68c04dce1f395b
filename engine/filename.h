/*
 * filename.h — the names of the files in a data directory, and telling a
 * file's kind by its name or by its magic number (LevelDB's db/filename.h
 * is the model). Every name pattern of the store is here and nowhere else:
 *
 *     NNNNNNNN.wal   a log segment (wal_format.h)
 *     NNNNNNNN.sst   a table (table_format.h)
 *     NNNNNNNN.val   a value file: a log segment kept after its memtable
 *                    was flushed, because tables point at values in it
 *                    (vlog.h); a second name of NNNNNNNN.wal until that
 *                    name is removed
 *     MANIFEST       the live tables and counters (manifest_format.h)
 *     STORE          the marker saying the directory is a complete store:
 *                    STORE_TEXT
 *     LOCK           locked by the process that has the store open; holds
 *                    its pid
 *     RESERVE        disk space kept for deletes (space.h)
 *     NAME.tmp       NAME being replaced atomically (io_write_file_atomic)
 *     CHECKPOINT     in a checkpoint only: who made it (golite_tools.h,
 *                    GOLITE_CHECKPOINT_LABEL_FILE); not read by the store
 *     lost/          files `golite repair` moved aside
 *
 * NNNNNNNN is a file number from the store's one counter (log segments and
 * tables share it), in decimal, zero-padded to at least 8 digits when
 * written; any run of digits is read.
 */
#ifndef GOLITE_FILENAME_H
#define GOLITE_FILENAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAL_SUFFIX ".wal"
#define SST_SUFFIX ".sst"
#define VAL_SUFFIX ".val"
#define MANIFEST_FILE "MANIFEST"
#define STORE_FILE "STORE"
#define LOCK_FILE "LOCK"
#define RESERVE_FILE "RESERVE"
#define TEMP_SUFFIX ".tmp"
#define LOST_DIR "lost"

/* The STORE marker: its first line, the store format, and its text. */
#define STORE_MAGIC "golite store\n"
#define STORE_FORMAT 1
#define STORE_TEXT STORE_MAGIC "format " FILENAME_STR(STORE_FORMAT) "\n"
#define FILENAME_STR(x) FILENAME_STR_(x)
#define FILENAME_STR_(x) #x

/* Long enough for any name file_name() writes. */
#define FILE_NAME_MAX 32

enum file_kind {
	FILE_UNKNOWN = 0,
	FILE_WAL,        /* numbered */
	FILE_TABLE,      /* numbered */
	FILE_MANIFEST,
	FILE_STORE,
	FILE_LOCK,
	FILE_RESERVE,
	FILE_VALUE,      /* numbered */
};

/*
 * Writes the name of the file of kind (numbered no, for FILE_WAL and
 * FILE_TABLE; no is ignored for the others) into out. Returns false, with
 * out cut short (it then names no file), if it does not fit in cap.
 */
bool file_name(char *out, size_t cap, enum file_kind kind, uint64_t no);

/* The same as "dir/" followed by file_name(). */
bool file_path(char *out, size_t cap, const char *dir, enum file_kind kind, uint64_t no);

/* "dir/name.tmp": where name is written before the rename that replaces it. */
bool file_temp_path(char *out, size_t cap, const char *dir, const char *name);

/*
 * Parses a file name (no directory) of a data directory. Returns true with
 * *kind (and *no for numbered files, else 0) for the names above, false
 * for any other name.
 */
bool parse_file_name(const char *name, enum file_kind *kind, uint64_t *no);

/*
 * Lists the numbers of the files of kind (FILE_WAL or FILE_TABLE) in dir,
 * ascending. *nums is malloc()ed (free it). Returns 0 or a negative errno.
 */
int file_list(const char *dir, enum file_kind kind, uint64_t **nums, size_t *count);

/*
 * What kind of file path holds, as the tools tell it: by magic number first
 * (head: the file's first bytes, tail: its last ones; either may be NULL),
 * then, if path is not NULL, by name: a name holding ".sst" or ".wal" (a
 * copy such as 00000012.sst.bak counts), or one of the fixed names.
 * FILE_UNKNOWN if neither tells.
 */
enum file_kind file_kind_of(const char *path, const uint8_t *head, size_t head_len,
			    const uint8_t *tail, size_t tail_len);

/* Parses the text of a STORE file (NUL-terminated). Returns false if it is
 * not a store marker; else true and the format it names in *format. */
bool store_marker_parse(const char *text, int *format);

/*
 * Takes the lock of data directory dir: its LOCK file, flock()ed exclusive
 * (created if missing, and given the caller's pid, so that others refused
 * meanwhile can name the holder) or shared (a missing LOCK file is then no
 * error: *fd_out is -1, as for a store copied without it). On success
 * *fd_out holds the lock until closed. Errors (set_error()):
 * GOLITE_ELOCKED naming the holder's pid, or the failed call's code.
 */
int data_dir_lock(const char *dir, bool exclusive, int *fd_out);

#endif /* GOLITE_FILENAME_H */
