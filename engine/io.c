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
#include <sys/file.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#include "filename.h"
#include "util.h"

static struct {
	_Atomic(io_fault_fn) fn;
	void *_Atomic ctx;
} hook;

static _Atomic uint64_t op_counts[IO_OP_COUNT];

/* ---- power-cut tracking (tests only; see io.h) ---- */

struct tracked {
	char path[PATH_MAX];
	uint64_t synced;          /* bytes covered by the last sync */
	uint64_t zeros_from;      /* 0, or where zeros written ahead begin */
	bool created;             /* created since its directory was synced */
	bool live;
};

struct pending_rename {
	char from[PATH_MAX], to[PATH_MAX];
	uint8_t *old;             /* what `to` held before, NULL if absent */
	size_t old_len;
	bool had_old;
};

#define MAX_TRACKED 4096
#define MAX_FDS 65536

static struct {
	_Atomic bool on;
	pthread_mutex_t mu;
	struct tracked files[MAX_TRACKED];
	int fd_file[MAX_FDS];                /* fd -> index + 1 in files */
	struct pending_rename *renames;
	size_t nrenames;
} crash = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Set while this thread holds crash.mu inside an I/O call. */
static __thread bool holds_crash_mu;

static inline bool tracking(void)
{
	return unlikely(atomic_load_explicit(&crash.on, memory_order_relaxed));
}

static int track_path(const char *path)
{
	int free_slot = -1;
	for (int i = 0; i < MAX_TRACKED; i++) {
		if (crash.files[i].live && strcmp(crash.files[i].path, path) == 0)
			return i;
		if (!crash.files[i].live && free_slot < 0)
			free_slot = i;
	}
	if (free_slot < 0)
		FATAL("power-cut tracking: more than %d files", MAX_TRACKED);
	struct tracked *t = &crash.files[free_slot];
	memset(t, 0, sizeof(*t));
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->live = true;
	return free_slot;
}

/* Forgets slot i: the file is gone (unlinked or renamed over). Descriptors
 * still open on it must not reach the slot's next owner. */
static void kill_slot(int i)
{
	crash.files[i].live = false;
	for (int fd = 0; fd < MAX_FDS; fd++)
		if (crash.fd_file[fd] == i + 1)
			crash.fd_file[fd] = 0;
}

static bool in_dir(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && path[n] == '/' && !strchr(path + n + 1, '/');
}

void io_crash_tracking(bool on)
{
	pthread_mutex_lock(&crash.mu);
	memset(crash.files, 0, sizeof(crash.files));
	memset(crash.fd_file, 0, sizeof(crash.fd_file));
	for (size_t i = 0; i < crash.nrenames; i++)
		free(crash.renames[i].old);
	free(crash.renames);
	crash.renames = NULL;
	crash.nrenames = 0;
	atomic_store(&crash.on, on);
	pthread_mutex_unlock(&crash.mu);
}

void io_crash_now(void)
{
	/* Called from the hook of an I/O call that holds crash.mu, or from
	 * outside one: then wait for any I/O in flight, and keep the lock so
	 * that nothing touches the disk until the process exits. */
	if (!holds_crash_mu)
		pthread_mutex_lock(&crash.mu);
	bool debug = getenv("GOLITE_IO_CRASH_DEBUG") != NULL;
	for (int i = 0; i < MAX_TRACKED; i++) {
		struct tracked *t = &crash.files[i];
		if (!t->live)
			continue;
		if (debug) {
			struct stat st;
			long long size = stat(t->path, &st) == 0 ? (long long)st.st_size : -1;
			fprintf(stderr, "power cut: %s size %lld synced %llu%s\n", t->path, size,
				(unsigned long long)t->synced, t->created ? " (unsynced creation)" : "");
		}
		if (t->created)
			unlink(t->path);
		else if (truncate(t->path, (off_t)t->synced) < 0 && errno != ENOENT)
			FATAL("power-cut simulation: cannot truncate %s", t->path);
	}
	/* Then undo the renames whose directory was not synced, newest first
	 * (a renamed file's data was handled above under its new name). */
	for (size_t i = crash.nrenames; i-- > 0;) {
		struct pending_rename *p = &crash.renames[i];
		rename(p->to, p->from);
		if (p->had_old) {
			int fd = open(p->to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (fd >= 0) {
				if (write(fd, p->old, p->old_len) < 0)
					FATAL("power-cut simulation: cannot restore %s", p->to);
				close(fd);
			}
		}
	}
}

/* The tracked file fd is open on, or NULL (crash.mu held). */
static struct tracked *tracked_fd(int fd)
{
	if (fd < 0 || fd >= MAX_FDS || !crash.fd_file[fd])
		return NULL;
	return &crash.files[crash.fd_file[fd] - 1];
}

static void track_sync(int fd)
{
	struct tracked *t = tracked_fd(fd);
	if (!t)
		return;
	struct stat st;
	if (fstat(fd, &st) == 0) {
		/* Zeros written ahead (io_zero_ahead) are not data: a power cut
		 * may as well leave the file ending where the data does. */
		uint64_t size = (uint64_t)st.st_size;
		t->synced = t->zeros_from && t->zeros_from < size ? t->zeros_from : size;
	}
}

static void track_sync_dir(const char *dir)
{
	for (int i = 0; i < MAX_TRACKED; i++)
		if (crash.files[i].live && in_dir(crash.files[i].path, dir))
			crash.files[i].created = false;
	size_t keep = 0;
	for (size_t i = 0; i < crash.nrenames; i++) {
		if (in_dir(crash.renames[i].to, dir)) {
			free(crash.renames[i].old);
			continue;
		}
		crash.renames[keep++] = crash.renames[i];
	}
	crash.nrenames = keep;
}

static const char *const op_names[IO_OP_COUNT] = {
	[IO_OPEN] = "open",         [IO_CLOSE] = "close",   [IO_PREAD] = "pread",
	[IO_PWRITE] = "pwrite",     [IO_FDATASYNC] = "fdatasync",
	[IO_FSYNC] = "fsync",       [IO_SYNCDIR] = "syncdir", [IO_RENAME] = "rename",
	[IO_UNLINK] = "unlink",     [IO_TRUNCATE] = "truncate", [IO_MKDIR] = "mkdir",
	[IO_LOCK] = "lock",         [IO_FALLOCATE] = "fallocate", [IO_LINK] = "link",
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

#define TRACK_LOCK()                                \
	bool locked_ = tracking();                  \
	if (locked_) {                              \
		pthread_mutex_lock(&crash.mu);      \
		holds_crash_mu = true;              \
	}
#define TRACK_UNLOCK()                              \
	do {                                        \
		if (locked_) {                      \
			holds_crash_mu = false;     \
			pthread_mutex_unlock(&crash.mu); \
		}                                   \
	} while (0)

static int pwrite_locked(int fd, const void *buf, size_t n, uint64_t off);

/* Writes n bytes at off, retrying interrupted and short writes; -ENOSPC if
 * the file system takes nothing. */
static int write_full(int fd, const void *buf, size_t n, uint64_t off)
{
	size_t done = 0;
	while (done < n) {
		ssize_t r = pwrite(fd, (const char *)buf + done, n - done, (off_t)(off + done));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			return -ENOSPC;
		done += (size_t)r;
	}
	return 0;
}

int io_open(const char *path, int flags, mode_t mode)
{
	TRACK_LOCK();
	int e = fault(IO_OPEN, path, -1, NULL);
	if (e) {
		TRACK_UNLOCK();
		return -e;
	}
	bool existed = locked_ && access(path, F_OK) == 0;
	int fd;
	do
		fd = open(path, flags | O_CLOEXEC, mode);
	while (fd < 0 && errno == EINTR);
	int r = fd < 0 ? -errno : fd;
	if (locked_ && fd >= 0 && fd < MAX_FDS && (flags & (O_WRONLY | O_RDWR))) {
		int i = track_path(path);
		if (!existed) {
			crash.files[i].created = true;
			crash.files[i].synced = 0;
		} else if (!crash.files[i].created && crash.files[i].synced == 0) {
			struct stat st;
			if (fstat(fd, &st) == 0)
				crash.files[i].synced = (uint64_t)st.st_size;
		}
		crash.fd_file[fd] = i + 1;
	}
	TRACK_UNLOCK();
	return r;
}

int io_close(int fd)
{
	TRACK_LOCK();
	if (locked_ && fd >= 0 && fd < MAX_FDS)
		crash.fd_file[fd] = 0;
	TRACK_UNLOCK();
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
	TRACK_LOCK();
	int r = pwrite_locked(fd, buf, n, off);
	struct tracked *t = locked_ ? tracked_fd(fd) : NULL;
	if (t && t->zeros_from && off + n > t->zeros_from)
		t->zeros_from = off + n;
	TRACK_UNLOCK();
	return r;
}

int io_zero_ahead(int fd, const void *zeros, size_t n, uint64_t off)
{
	TRACK_LOCK();
	int e = fault(IO_FALLOCATE, NULL, fd, NULL);
	int r = -e;
	/* One page per call: the page cache sizes a folio by the write that
	 * makes it, and a later append dirties (and an fdatasync writes back)
	 * the whole folio it touches. Written 1 MiB at a time, every small
	 * append cost up to 1 MiB of disk writes. */
	const size_t page = 4096;
	for (size_t done = 0, len; r == 0 && done < n; done += len) {
		len = MIN(page - (size_t)((off + done) % page), n - done);
		r = write_full(fd, (const char *)zeros + done, len, off + done);
	}
	struct tracked *t = locked_ ? tracked_fd(fd) : NULL;
	if (t && !t->zeros_from)
		t->zeros_from = off;
	TRACK_UNLOCK();
	return r;
}

static int pwrite_locked(int fd, const void *buf, size_t n, uint64_t off)
{
	size_t allowed = n;
	int e = fault(IO_PWRITE, NULL, fd, &allowed);
	if (e)
		return -e;
	int r = write_full(fd, buf, allowed, off);
	return r ? r : allowed < n ? -ENOSPC : 0;
}

int io_fdatasync(int fd)
{
	TRACK_LOCK();
	int e = fault(IO_FDATASYNC, NULL, fd, NULL);
	int r = e ? -e : fdatasync(fd) < 0 ? -errno : 0;
	if (locked_ && r == 0)
		track_sync(fd);
	TRACK_UNLOCK();
	return r;
}

int io_fsync(int fd)
{
	TRACK_LOCK();
	int e = fault(IO_FSYNC, NULL, fd, NULL);
	int r = e ? -e : fsync(fd) < 0 ? -errno : 0;
	if (locked_ && r == 0)
		track_sync(fd);
	TRACK_UNLOCK();
	return r;
}

int io_sync_dir(const char *dir)
{
	TRACK_LOCK();
	int e = fault(IO_SYNCDIR, dir, -1, NULL);
	int r = -e;
	if (!e) {
		int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
		} else {
			r = fsync(fd) < 0 ? -errno : 0;
			close(fd);
		}
	}
	if (locked_ && r == 0)
		track_sync_dir(dir);
	TRACK_UNLOCK();
	return r;
}

int io_rename(const char *from, const char *to)
{
	TRACK_LOCK();
	int e = fault(IO_RENAME, from, -1, NULL);
	int r = -e;
	if (!e) {
		struct pending_rename p = { .had_old = false };
		if (locked_) {
			snprintf(p.from, sizeof(p.from), "%s", from);
			snprintf(p.to, sizeof(p.to), "%s", to);
			int fd = open(to, O_RDONLY | O_CLOEXEC);
			if (fd >= 0) {
				struct stat st;
				if (fstat(fd, &st) == 0 && st.st_size < (16 << 20)) {
					p.old = xmalloc((size_t)st.st_size + 1);
					ssize_t got = pread(fd, p.old, (size_t)st.st_size, 0);
					p.old_len = got > 0 ? (size_t)got : 0;
					p.had_old = true;
				}
				close(fd);
			}
		}
		r = rename(from, to) < 0 ? -errno : 0;
		if (locked_ && r == 0) {
			crash.renames = xrealloc(crash.renames,
						 (crash.nrenames + 1) * sizeof(*crash.renames));
			crash.renames[crash.nrenames++] = p;
			/* The data moves with the name. */
			for (int i = 0; i < MAX_TRACKED; i++)
				if (crash.files[i].live && strcmp(crash.files[i].path, to) == 0)
					kill_slot(i);
			for (int i = 0; i < MAX_TRACKED; i++)
				if (crash.files[i].live && strcmp(crash.files[i].path, from) == 0)
					snprintf(crash.files[i].path, PATH_MAX, "%s", to);
		} else {
			free(p.old);
		}
	}
	TRACK_UNLOCK();
	return r;
}

static int rename2(const char *from, const char *to, unsigned flags)
{
	int e = fault(IO_RENAME, from, -1, NULL);
	if (e)
		return -e;
	return renameat2(AT_FDCWD, from, AT_FDCWD, to, flags) < 0 ? -errno : 0;
}

int io_rename_noreplace(const char *from, const char *to)
{
	return rename2(from, to, RENAME_NOREPLACE);
}

int io_rename_exchange(const char *a, const char *b)
{
	return rename2(a, b, RENAME_EXCHANGE);
}

int io_link(const char *from, const char *to)
{
	TRACK_LOCK();
	int e = fault(IO_LINK, to, -1, NULL);
	int r = e ? -e : link(from, to) < 0 ? -errno : 0;
	if (locked_ && r == 0) {
		int i = track_path(to);
		struct stat st;
		crash.files[i].created = true;
		crash.files[i].synced = stat(to, &st) == 0 ? (uint64_t)st.st_size : 0;
	}
	TRACK_UNLOCK();
	return r;
}

int io_rmdir(const char *path)
{
	int e = fault(IO_UNLINK, path, -1, NULL);
	if (e)
		return -e;
	return rmdir(path) < 0 ? -errno : 0;
}

int io_unlink(const char *path)
{
	TRACK_LOCK();
	int e = fault(IO_UNLINK, path, -1, NULL);
	int r = e ? -e : unlink(path) < 0 ? -errno : 0;
	if (locked_ && r == 0)
		for (int i = 0; i < MAX_TRACKED; i++)
			if (crash.files[i].live && strcmp(crash.files[i].path, path) == 0)
				kill_slot(i);
	TRACK_UNLOCK();
	return r;
}

int io_ftruncate(int fd, uint64_t size)
{
	TRACK_LOCK();
	int e = fault(IO_TRUNCATE, NULL, fd, NULL);
	int r = -e;
	if (!e) {
		do
			r = ftruncate(fd, (off_t)size);
		while (r < 0 && errno == EINTR);
		r = r < 0 ? -errno : 0;
	}
	/* A shrink below the synced size is as durable as the old bytes were
	 * not: model it as cutting the synced size too. */
	struct tracked *t = locked_ && r == 0 ? tracked_fd(fd) : NULL;
	if (t) {
		if (t->synced > size)
			t->synced = size;
		if (t->zeros_from >= size)
			t->zeros_from = 0;
	}
	TRACK_UNLOCK();
	return r;
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
	    !file_temp_path(tmp, sizeof(tmp), dir, name))
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

int io_allocate(int fd, uint64_t off, uint64_t len)
{
	int e = fault(IO_FALLOCATE, NULL, fd, NULL);
	if (e)
		return -e;
	int r;
	do
		r = fallocate(fd, 0, (off_t)off, (off_t)len);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

int io_release(int fd, uint64_t off, uint64_t len)
{
	int e = fault(IO_FALLOCATE, NULL, fd, NULL);
	if (e)
		return -e;
	int r;
	do
		r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}
