/*
 * filename.c — building, parsing and listing the names of a data
 * directory's files, telling a file's kind, and the two small files that
 * say what the directory is and who has it: the STORE marker and the LOCK.
 * The names are drawn in filename.h.
 *
 * Invariants:
 *   1. parse_file_name() reads every name file_name() writes back as the
 *      same kind and number.
 *   2. file_list() lists a number exactly when parse_file_name() gives the
 *      kind asked for.
 */
#include "filename.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "golite.h"
#include "io.h"
#include "manifest_format.h"
#include "table_format.h"
#include "util.h"
#include "wal_format.h"

static const char *const fixed_names[] = {
	[FILE_MANIFEST] = MANIFEST_FILE,
	[FILE_STORE] = STORE_FILE,
	[FILE_LOCK] = LOCK_FILE,
	[FILE_RESERVE] = RESERVE_FILE,
};

static const char *suffix_of(enum file_kind kind)
{
	return kind == FILE_WAL     ? WAL_SUFFIX
	       : kind == FILE_TABLE ? SST_SUFFIX
	       : kind == FILE_VALUE ? VAL_SUFFIX
				    : NULL;
}

bool file_name(char *out, size_t cap, enum file_kind kind, uint64_t no)
{
	const char *suffix = suffix_of(kind);
	int n;
	if (suffix)
		n = snprintf(out, cap, "%08" PRIu64 "%s", no, suffix);
	else
		n = snprintf(out, cap, "%s",
			     (size_t)kind < ARRAY_SIZE(fixed_names) && fixed_names[kind]
				     ? fixed_names[kind] : "");
	return n >= 0 && (size_t)n < cap;
}

bool file_path(char *out, size_t cap, const char *dir, enum file_kind kind, uint64_t no)
{
	char name[FILE_NAME_MAX];
	file_name(name, sizeof(name), kind, no);
	int n = snprintf(out, cap, "%s/%s", dir, name);
	return n >= 0 && (size_t)n < cap;
}

bool file_temp_path(char *out, size_t cap, const char *dir, const char *name)
{
	int n = snprintf(out, cap, "%s/%s" TEMP_SUFFIX, dir, name);
	return n >= 0 && (size_t)n < cap;
}

/* The number of a numbered name: digits, then suffix (invariant 1). */
static bool parse_numbered(const char *name, size_t len, const char *suffix, uint64_t *no)
{
	size_t slen = strlen(suffix);
	if (len <= slen || strcmp(name + len - slen, suffix) != 0)
		return false;
	uint64_t num = 0;
	size_t i;
	for (i = 0; i < len - slen; i++) {
		char c = name[i];
		if (c < '0' || c > '9' || num > UINT64_MAX / 10)
			break;
		num = num * 10 + (uint64_t)(c - '0');
	}
	if (i != len - slen)
		return false;
	*no = num;
	return true;
}

bool parse_file_name(const char *name, enum file_kind *kind, uint64_t *no)
{
	size_t len = strlen(name);
	*no = 0;
	static const enum file_kind numbered[] = { FILE_WAL, FILE_TABLE, FILE_VALUE };
	for (size_t i = 0; i < ARRAY_SIZE(numbered); i++) {
		enum file_kind k = numbered[i];
		if (parse_numbered(name, len, suffix_of(k), no)) {
			*kind = k;
			return true;
		}
	}
	for (size_t k = 0; k < ARRAY_SIZE(fixed_names); k++)
		if (fixed_names[k] && strcmp(name, fixed_names[k]) == 0) {
			*kind = (enum file_kind)k;
			return true;
		}
	*kind = FILE_UNKNOWN;
	return false;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int file_list(const char *dir, enum file_kind kind, uint64_t **nums, size_t *count)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	size_t n = 0, cap = 16;
	uint64_t *v = xmalloc(cap * sizeof(*v));
	struct dirent *de;
	while ((de = readdir(d))) {
		enum file_kind k;
		uint64_t num;
		if (!parse_file_name(de->d_name, &k, &num) || k != kind)
			continue;
		if (n == cap)
			v = xrealloc(v, (cap *= 2) * sizeof(*v));
		v[n++] = num;
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_u64);
	*nums = v;
	*count = n;
	return 0;
}

enum file_kind file_kind_of(const char *path, const uint8_t *head, size_t head_len,
			    const uint8_t *tail, size_t tail_len)
{
	if (head && head_len >= WAL_MAGIC_SIZE && memcmp(head, WAL_MAGIC, WAL_MAGIC_SIZE) == 0)
		return FILE_WAL;
	if (head && head_len >= MANIFEST_MAGIC_SIZE &&
	    memcmp(head, MANIFEST_MAGIC, MANIFEST_MAGIC_SIZE) == 0)
		return FILE_MANIFEST;
	if (tail && tail_len >= SST_MAGIC_SIZE &&
	    get_le64(tail + tail_len - SST_MAGIC_SIZE) == SST_MAGIC)
		return FILE_TABLE;
	if (!path)
		return FILE_UNKNOWN;
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (strstr(base, SST_SUFFIX))
		return FILE_TABLE;
	if (strstr(base, WAL_SUFFIX))
		return FILE_WAL;
	if (strstr(base, VAL_SUFFIX))
		return FILE_VALUE;
	for (size_t k = 0; k < ARRAY_SIZE(fixed_names); k++)
		if (fixed_names[k] && strcmp(base, fixed_names[k]) == 0)
			return (enum file_kind)k;
	return FILE_UNKNOWN;
}

bool store_marker_parse(const char *text, int *format)
{
	size_t n = sizeof(STORE_MAGIC) - 1;
	return strncmp(text, STORE_MAGIC, n) == 0 && sscanf(text + n, "format %d", format) == 1;
}

int data_dir_lock(const char *dir, bool exclusive, int *fd_out)
{
	char path[PATH_MAX];
	file_path(path, PATH_MAX, dir, FILE_LOCK, 0);
	*fd_out = -1;
	int fd = io_open(path, exclusive ? O_RDWR | O_CREAT : O_RDONLY, 0600);
	if (fd == -ENOENT && !exclusive)
		return 0;
	if (fd < 0)
		return set_error(errno_to_golite(-fd), "cannot open %s: %s", path, strerror(-fd));
	int r = io_flock(fd, exclusive);
	if (r == -EWOULDBLOCK) {
		char pid[32] = "";
		ssize_t got = io_pread(fd, pid, sizeof(pid) - 1, 0);
		pid[got > 0 ? got : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		io_close(fd);
		return set_error(GOLITE_ELOCKED, "data directory %s is in use by process %s", dir,
				 pid[0] ? pid : "(unknown)");
	}
	if (r < 0) {
		io_close(fd);
		return set_error(GOLITE_EIO, "cannot lock %s: %s", path, strerror(-r));
	}
	if (exclusive) {
		char pid[32];
		int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (io_ftruncate(fd, 0) == 0)
			io_pwrite(fd, pid, (size_t)n, 0);
	}
	*fd_out = fd;
	return 0;
}
