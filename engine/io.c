/*
 * io.c — the engine's file operations and their fault hook. See io.h.
 */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static struct {
	_Atomic(io_fault_fn) fn;
	void *_Atomic ctx;
} hook;

static _Atomic uint64_t op_counts[IO_OP_COUNT];

static const char *const op_names[IO_OP_COUNT] = {
	[IO_OPEN] = "open",         [IO_CLOSE] = "close",   [IO_PREAD] = "pread",
	[IO_PWRITE] = "pwrite",     [IO_FDATASYNC] = "fdatasync",
	[IO_FSYNC] = "fsync",       [IO_SYNCDIR] = "syncdir", [IO_RENAME] = "rename",
	[IO_UNLINK] = "unlink",     [IO_TRUNCATE] = "truncate", [IO_MKDIR] = "mkdir",
	[IO_LOCK] = "lock",         [IO_FALLOCATE] = "fallocate",
};

const char *io_op_name(enum io_op op)
{
	return op < IO_OP_COUNT ? op_names[op] : "?";
}

void io_set_fault_hook(io_fault_fn fn, void *ctx)
{
	atomic_store(&hook.ctx, ctx);
	atomic_store(&hook.fn, fn);
}

uint64_t io_op_count(enum io_op op)
{
	return atomic_load_explicit(&op_counts[op], memory_order_relaxed);
}

/* Counts the operation and asks the hook. Returns 0 or a positive errno. */
static inline int fault(enum io_op op, const char *path, int fd, size_t *len)
{
	atomic_fetch_add_explicit(&op_counts[op], 1, memory_order_relaxed);
	io_fault_fn fn = atomic_load_explicit(&hook.fn, memory_order_acquire);
	if (likely(!fn))
		return 0;
	size_t dummy = 0;
	return fn(atomic_load(&hook.ctx), op, path, fd, len ? len : &dummy);
}

int io_open(const char *path, int flags, mode_t mode)
{
	int e = fault(IO_OPEN, path, -1, NULL);
	if (e)
		return -e;
	int fd;
	do
		fd = open(path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

int io_close(int fd)
{
	fault(IO_CLOSE, NULL, fd, NULL);
	/* close() is never retried: the fd is gone whatever it returns. */
	return close(fd) < 0 && errno != EINTR ? -errno : 0;
}

ssize_t io_pread(int fd, void *buf, size_t n, uint64_t off)
{
	int e = fault(IO_PREAD, NULL, fd, &n);
	if (e)
		return -e;
	size_t done = 0;
	while (done < n) {
		ssize_t r = pread(fd, (char *)buf + done, n - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int io_pwrite(int fd, const void *buf, size_t n, uint64_t off)
{
	size_t allowed = n;
	int e = fault(IO_PWRITE, NULL, fd, &allowed);
	if (e)
		return -e;
	size_t done = 0;
	while (done < allowed) {
		ssize_t r = pwrite(fd, (const char *)buf + done, allowed - done,
				   (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ENOSPC;
		done += (size_t)r;
	}
	return allowed < n ? -ENOSPC : 0;
}

int io_fdatasync(int fd)
{
	int e = fault(IO_FDATASYNC, NULL, fd, NULL);
	if (e)
		return -e;
	return fdatasync(fd) < 0 ? -errno : 0;
}

int io_fsync(int fd)
{
	int e = fault(IO_FSYNC, NULL, fd, NULL);
	if (e)
		return -e;
	return fsync(fd) < 0 ? -errno : 0;
}

int io_sync_dir(const char *dir)
{
	int e = fault(IO_SYNCDIR, dir, -1, NULL);
	if (e)
		return -e;
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

int io_rename(const char *from, const char *to)
{
	int e = fault(IO_RENAME, from, -1, NULL);
	if (e)
		return -e;
	return rename(from, to) < 0 ? -errno : 0;
}

int io_unlink(const char *path)
{
	int e = fault(IO_UNLINK, path, -1, NULL);
	if (e)
		return -e;
	return unlink(path) < 0 ? -errno : 0;
}

int io_ftruncate(int fd, uint64_t size)
{
	int e = fault(IO_TRUNCATE, NULL, fd, NULL);
	if (e)
		return -e;
	int r;
	do
		r = ftruncate(fd, (off_t)size);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int io_mkdir(const char *path, mode_t mode)
{
	int e = fault(IO_MKDIR, path, -1, NULL);
	if (e)
		return -e;
	return mkdir(path, mode) < 0 ? -errno : 0;
}

int io_flock(int fd, bool exclusive)
{
	int e = fault(IO_LOCK, NULL, fd, NULL);
	if (e)
		return -e;
	int r;
	do
		r = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int io_file_size(int fd, uint64_t *size)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	*size = (uint64_t)st.st_size;
	return 0;
}

int io_read_file(const char *path, size_t max_len, uint8_t **data, size_t *len)
{
	int fd = io_open(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	uint64_t size;
	int r = io_file_size(fd, &size);
	if (r < 0)
		goto out_close;
	if (size > max_len) {
		r = -EFBIG;
		goto out_close;
	}
	uint8_t *buf = xmalloc((size_t)size + 1);
	ssize_t n = io_pread(fd, buf, (size_t)size, 0);
	if (n < 0) {
		free(buf);
		r = (int)n;
		goto out_close;
	}
	*data = buf;
	*len = (size_t)n;
	r = 0;
out_close:
	io_close(fd);
	return r;
}

int io_write_file_atomic(const char *dir, const char *name, const void *data, size_t len)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	int fd = io_open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return fd;
	int r = io_pwrite(fd, data, len, 0);
	if (r == 0)
		r = io_fsync(fd);
	int c = io_close(fd);
	if (r == 0)
		r = c;
	if (r == 0)
		r = io_rename(tmp, path);
	if (r < 0) {
		io_unlink(tmp);
		return r;
	}
	return io_sync_dir(dir);
}

int io_reserve(int fd, uint64_t off, uint64_t len)
{
	int e = fault(IO_FALLOCATE, NULL, fd, NULL);
	if (e)
		return -e;
	int r;
	do
		r = fallocate(fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int io_list_numbered(const char *dir, const char *suffix, uint64_t **nums, size_t *count)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	size_t n = 0, cap = 16, slen = strlen(suffix);
	uint64_t *v = xmalloc(cap * sizeof(*v));
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len <= slen || strcmp(de->d_name + len - slen, suffix) != 0)
			continue;
		uint64_t num = 0;
		size_t i;
		for (i = 0; i < len - slen; i++) {
			char c = de->d_name[i];
			if (c < '0' || c > '9' || num > UINT64_MAX / 10)
				break;
			num = num * 10 + (uint64_t)(c - '0');
		}
		if (i != len - slen)
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
