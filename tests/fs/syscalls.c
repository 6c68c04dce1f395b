/*
 * syscalls.c — system calls issued directly against a mounted table, with
 * the results checked against what a local filesystem does.
 *
 *   syscalls DIR [SEED [ROUNDS]]
 *
 * DIR is an empty directory inside a table of a golitefs mount. ROUNDS
 * (default 200) is the number of rounds of the rename race. Random
 * cases use a fixed seed (printed; pass it back to reproduce). Prints
 * "N passed, N failed" and exits 1 on any failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#define RENAME_WHITEOUT (1 << 2)
#endif
#ifndef FALLOC_FL_KEEP_SIZE
#define FALLOC_FL_KEEP_SIZE 0x01
#define FALLOC_FL_PUNCH_HOLE 0x02
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#endif

static const char *dir;
static int passed, failed;
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static char *path(const char *fmt, ...)
{
	static __thread char buf[4][4096];
	static __thread int i;
	char name[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	char *p = buf[i++ % 4];
	snprintf(p, 4096, "%s/%s", dir, name);
	return p;
}

#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (cond) {                                                 \
			passed++;                                           \
		} else {                                                    \
			failed++;                                           \
			fprintf(stderr, "FAIL %s:%d: ", __func__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                       \
			fprintf(stderr, " (errno %d: %s)\n", errno,         \
				strerror(errno));                           \
		}                                                           \
	} while (0)

static bool read_all(const char *p, uint8_t *buf, size_t len)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return false;
	ssize_t n = pread(fd, buf, len, 0);
	uint8_t extra;
	ssize_t m = pread(fd, &extra, 1, (off_t)len);
	close(fd);
	return n == (ssize_t)len && m == 0;
}

static bool is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Random pwrite/pread at odd offsets, checked against a model. */
static void test_random_io(const char *name, size_t max, int rounds, int flags)
{
	uint8_t *model = calloc(1, max), *buf = malloc(max), *data = malloc(65536);
	size_t size = 0;
	int fd = open(path("%s", name), O_RDWR | O_CREAT | O_TRUNC | flags, 0644);
	CHECK(fd >= 0, "open %s", name);
	if (fd < 0)
		goto out;
	bool ok = true;
	for (int i = 0; i < rounds && ok; i++) {
		size_t len = 1 + rnd() % (rnd() % 4 == 0 ? 65535 : 5000);
		if (len > max / 2)
			len = max / 2;
		size_t off = rnd() % (max - len);
		if (rnd() % 3 == 0)
			off = (off / 4096) * 4096 + 4096 - len / 2;  /* straddle chunks */
		if (off + len > max)
			off = max - len;
		for (size_t j = 0; j < len; j++)
			data[j] = (uint8_t)rnd();
		ok = pwrite(fd, data, len, (off_t)off) == (ssize_t)len;
		memcpy(model + off, data, len);
		if (off + len > size)
			size = off + len;
		if (i % 16 == 15) {
			size_t roff = rnd() % size, rlen = 1 + rnd() % (size - roff);
			ok = ok && pread(fd, buf, rlen, (off_t)roff) == (ssize_t)rlen &&
			     memcmp(buf, model + roff, rlen) == 0;
		}
	}
	CHECK(ok, "%s: random writes and reads match the model", name);
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && (size_t)st.st_size == size, "%s: size %zu", name, size);
	CHECK(fsync(fd) == 0, "%s: fsync", name);
	close(fd);
	CHECK(read_all(path("%s", name), buf, size) && memcmp(buf, model, size) == 0,
	      "%s: whole file after close", name);
out:
	free(model);
	free(buf);
	free(data);
}

static void test_sparse_and_truncate(void)
{
	const char *p = path("sparse");
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	uint8_t buf[16384];
	CHECK(pwrite(fd, "end", 3, 1 << 20) == 3, "write past a hole");
	struct stat st;
	fstat(fd, &st);
	CHECK(st.st_size == (1 << 20) + 3, "sparse size %lld", (long long)st.st_size);
	bool zeros = true;
	for (off_t off = 0; off < (1 << 20); off += sizeof(buf))
		zeros = zeros && pread(fd, buf, sizeof(buf), off) == sizeof(buf) &&
			is_zero(buf, sizeof(buf));
	CHECK(zeros, "the hole reads as zeros");
	CHECK(pread(fd, buf, 10, 1 << 20) == 3 && memcmp(buf, "end", 3) == 0, "data after hole");

	/* Truncate down into a chunk, then up: the cut bytes must not return. */
	memset(buf, 0xab, sizeof(buf));
	CHECK(pwrite(fd, buf, sizeof(buf), 0) == sizeof(buf), "fill 16 KiB");
	CHECK(ftruncate(fd, 5000) == 0, "ftruncate down to 5000");
	fstat(fd, &st);
	CHECK(st.st_size == 5000, "size after truncate down");
	CHECK(ftruncate(fd, 20000) == 0, "ftruncate up to 20000");
	CHECK(pread(fd, buf, sizeof(buf), 0) == sizeof(buf), "read after truncate up");
	bool good = true;
	for (int i = 0; i < 5000; i++)
		good = good && buf[i] == 0xab;
	CHECK(good, "bytes before the cut survive");
	CHECK(is_zero(buf + 5000, sizeof(buf) - 5000), "bytes past the cut read as zeros");
	CHECK(truncate(p, 100) == 0, "truncate(2) by path");
	CHECK(pread(fd, buf, 200, 0) == 100, "size 100 after truncate by path");
	CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, "x", 1, 0) == 1, "truncate to 0, write again");
	CHECK(pread(fd, buf, 10, 0) == 1 && buf[0] == 'x', "small again");
	/* Inline file grown by truncate, then written at its end. */
	CHECK(ftruncate(fd, 9000) == 0 && pwrite(fd, "tail", 4, 9000) == 4, "grow inline");
	CHECK(pread(fd, buf, 9004, 0) == 9004 && buf[0] == 'x' && is_zero(buf + 1, 8999) &&
	      memcmp(buf + 9000, "tail", 4) == 0, "grown inline file");
	close(fd);
}

static void test_open_flags(void)
{
	const char *p = path("flags");
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd >= 0, "O_CREAT|O_EXCL creates");
	CHECK(write(fd, "0123456789", 10) == 10, "write");
	close(fd);
	errno = 0;
	CHECK(open(p, O_WRONLY | O_CREAT | O_EXCL, 0600) < 0 && errno == EEXIST, "O_EXCL on an "
	      "existing file is EEXIST");
	fd = open(p, O_WRONLY | O_TRUNC);
	struct stat st;
	fstat(fd, &st);
	CHECK(st.st_size == 0, "O_TRUNC empties");
	close(fd);
	fd = open(p, O_WRONLY | O_APPEND);
	CHECK(write(fd, "ab", 2) == 2 && write(fd, "cd", 2) == 2, "O_APPEND writes");
	CHECK(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "ef", 2) == 2, "O_APPEND after seek");
	close(fd);
	char buf[16] = { 0 };
	CHECK(read_all(p, (uint8_t *)buf, 6) && memcmp(buf, "abcdef", 6) == 0, "appended: %s", buf);
	fd = open(p, O_RDWR | O_DIRECT);
	CHECK(fd >= 0, "O_DIRECT is accepted");
	if (fd >= 0) {
		void *al;
		if (posix_memalign(&al, 4096, 8192) == 0) {
			memset(al, 'd', 8192);
			CHECK(pwrite(fd, al, 8192, 4096) == 8192, "O_DIRECT write");
			memset(al, 0, 8192);
			CHECK(pread(fd, al, 8192, 4096) == 8192 && ((char *)al)[8191] == 'd',
			      "O_DIRECT read");
			free(al);
		}
		close(fd);
	}
	errno = 0;
	CHECK(open(path("nodir/x"), O_RDONLY) < 0 && errno == ENOENT, "ENOENT");
	errno = 0;
	CHECK(open(path("flags/x"), O_RDONLY) < 0 && errno == ENOTDIR, "ENOTDIR");
}

/* Two processes appending whole lines with O_APPEND. */
static void test_append_two_processes(void)
{
	const char *p = path("append2");
	close(open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644));
	enum { LINES = 400, LEN = 32 };
	pid_t kids[2];
	for (int k = 0; k < 2; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			int fd = open(p, O_WRONLY | O_APPEND);
			char line[2 * LEN];
			for (int i = 0; i < LINES; i++) {
				snprintf(line, sizeof(line), "proc%d line%05d %*s\n", k, i,
					 LEN - 17, "x");
				if (write(fd, line, LEN) != LEN)
					_exit(1);
			}
			close(fd);
			_exit(0);
		}
	}
	int st0, st1;
	waitpid(kids[0], &st0, 0);
	waitpid(kids[1], &st1, 0);
	CHECK(WIFEXITED(st0) && !WEXITSTATUS(st0) && WIFEXITED(st1) && !WEXITSTATUS(st1),
	      "both appenders finished");
	size_t size = 2 * LINES * LEN;
	char *buf = malloc(size + 1);
	CHECK(read_all(p, (uint8_t *)buf, size), "file holds exactly both outputs");
	int next[2] = { 0, 0 };
	bool ok = true;
	for (size_t off = 0; off < size && ok; off += LEN) {
		int k, i;
		ok = sscanf(buf + off, "proc%d line%05d", &k, &i) == 2 && k >= 0 && k < 2 &&
		     i == next[k] && buf[off + LEN - 1] == '\n';
		if (ok)
			next[k]++;
	}
	CHECK(ok && next[0] == LINES && next[1] == LINES, "every line whole, in order per process");
	free(buf);
}

static void test_mmap(void)
{
	const char *p = path("mmap");
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	size_t len = 3 * 4096 + 100;
	CHECK(ftruncate(fd, (off_t)len) == 0, "size the file");
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED, "mmap shared");
	if (m == MAP_FAILED) {
		close(fd);
		return;
	}
	for (size_t i = 0; i < len; i++)
		m[i] = (uint8_t)(i * 7);
	CHECK(msync(m, len, MS_SYNC) == 0, "msync");
	munmap(m, len);
	close(fd);
	uint8_t *buf = malloc(len);
	bool ok = read_all(p, buf, len);
	for (size_t i = 0; i < len && ok; i++)
		ok = buf[i] == (uint8_t)(i * 7);
	CHECK(ok, "bytes written through mmap are in the file");
	fd = open(p, O_RDWR);
	CHECK(pwrite(fd, "MMAP", 4, 5000) == 4, "pwrite");
	m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED && memcmp(m + 5000, "MMAP", 4) == 0, "mmap read sees pwrite");
	if (m != MAP_FAILED)
		munmap(m, len);
	close(fd);
	free(buf);
}

/* ---- renames from several threads ---- */

enum { RT = 4 };
static int RROUNDS = 200;  /* argv[3] */

static void *rename_worker(void *arg)
{
	long t = (long)arg;
	long bad = 0;
	for (int i = 0; i < RROUNDS; i++) {
		/* Own file back and forth. */
		if (rename(path("rn/a%ld", t), path("rn/b%ld", t)) ||
		    rename(path("rn/b%ld", t), path("rn/a%ld", t)))
			bad++;
		/* Own file into the shared subdirectory and back. */
		if (rename(path("rn/a%ld", t), path("rn/sub/a%ld", t)) ||
		    rename(path("rn/sub/a%ld", t), path("rn/a%ld", t)))
			bad++;
		/* A fresh file onto the shared target (replacing it). */
		int fd = open(path("rn/tmp%ld", t), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		char v[32];
		int n = snprintf(v, sizeof(v), "thread %ld round %d", t, i);
		if (fd < 0 || write(fd, v, (size_t)n) != n)
			bad++;
		close(fd);
		if (rename(path("rn/tmp%ld", t), path("rn/shared")))
			bad++;
	}
	return (void *)bad;
}

static void test_rename_races(void)
{
	mkdir(path("rn"), 0755);
	mkdir(path("rn/sub"), 0755);
	for (long t = 0; t < RT; t++) {
		int fd = open(path("rn/a%ld", t), O_WRONLY | O_CREAT | O_TRUNC, 0644);
		char v[16];
		int n = snprintf(v, sizeof(v), "own %ld", t);
		if (write(fd, v, (size_t)n) != n)
			failed++;
		close(fd);
	}
	pthread_t th[RT];
	for (long t = 0; t < RT; t++)
		pthread_create(&th[t], NULL, rename_worker, (void *)t);
	long bad = 0;
	for (long t = 0; t < RT; t++) {
		void *r;
		pthread_join(th[t], &r);
		bad += (long)r;
	}
	CHECK(bad == 0, "%ld renames failed", bad);
	bool ok = true;
	for (long t = 0; t < RT; t++) {
		char buf[16] = { 0 }, want[16];
		int n = snprintf(want, sizeof(want), "own %ld", t);
		ok = ok && read_all(path("rn/a%ld", t), (uint8_t *)buf, (size_t)n) &&
		     memcmp(buf, want, (size_t)n) == 0 && access(path("rn/b%ld", t), F_OK) != 0 &&
		     access(path("rn/sub/a%ld", t), F_OK) != 0 && access(path("rn/tmp%ld", t), F_OK) != 0;
	}
	CHECK(ok, "every file is at its own name, once, with its bytes");
	char buf[64] = { 0 };
	int fd = open(path("rn/shared"), O_RDONLY);
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	long t;
	int i;
	CHECK(n > 0 && sscanf(buf, "thread %ld round %d", &t, &i) == 2 && i == RROUNDS - 1,
	      "the shared target holds one whole last version: %s", buf);
	DIR *d = opendir(path("rn"));
	int count = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		count += de->d_name[0] != '.';
	closedir(d);
	CHECK(count == RT + 2, "no name left behind (%d entries)", count);
}

/* ---- listings while names come and go ---- */

static volatile int churn_stop;

static void *churn(void *arg)
{
	(void)arg;
	for (int i = 0; !churn_stop; i++) {
		int fd = open(path("ls/churn%d", i % 97), O_WRONLY | O_CREAT, 0644);
		if (fd >= 0)
			close(fd);
		unlink(path("ls/churn%d", (i + 50) % 97));
	}
	return NULL;
}

static void test_readdir_stable(void)
{
	enum { KEEP = 600 };
	mkdir(path("ls"), 0755);
	for (int i = 0; i < KEEP; i++)
		close(open(path("ls/keep%04d", i), O_WRONLY | O_CREAT, 0644));
	pthread_t th;
	churn_stop = 0;
	pthread_create(&th, NULL, churn, NULL);
	bool ok = true;
	for (int round = 0; round < 5 && ok; round++) {
		int fd = open(path("ls"), O_RDONLY | O_DIRECTORY);
		char buf[600];
		unsigned char seen[KEEP] = { 0 };
		unsigned char seen_churn[97] = { 0 };
		for (;;) {
			long n = syscall(SYS_getdents64, fd, buf, sizeof(buf));
			if (n <= 0)
				break;
			for (long off = 0; off < n;) {
				struct dirent64 {
					uint64_t ino;
					int64_t off;
					unsigned short reclen;
					unsigned char type;
					char name[];
				} *e = (void *)(buf + off);
				int k;
				if (sscanf(e->name, "keep%d", &k) == 1 && k >= 0 && k < KEEP) {
					ok = ok && !seen[k];
					seen[k] = 1;
				} else if (sscanf(e->name, "churn%d", &k) == 1 && k >= 0 && k < 97) {
					ok = ok && !seen_churn[k];
					seen_churn[k] = 1;
				}
				off += e->reclen;
			}
		}
		for (int i = 0; i < KEEP; i++)
			ok = ok && seen[i];
		close(fd);
	}
	churn_stop = 1;
	pthread_join(th, NULL);
	CHECK(ok, "each name listed once, every stable name listed, with concurrent changes");

	/* telldir/seekdir come back to the same place. */
	DIR *d = opendir(path("ls"));
	for (int i = 0; i < 100; i++)
		readdir(d);
	long pos = telldir(d);
	char after[256] = "";
	struct dirent *de = readdir(d);
	if (de)
		snprintf(after, sizeof(after), "%s", de->d_name);
	for (int i = 0; i < 300; i++)
		readdir(d);
	seekdir(d, pos);
	de = readdir(d);
	CHECK(de && strcmp(de->d_name, after) == 0, "seekdir(telldir()) returns to %s", after);
	closedir(d);
}

static void test_unlink_open(void)
{
	const char *p = path("unlinked");
	int fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0644);
	CHECK(write(fd, "still here", 10) == 10, "write");
	CHECK(unlink(p) == 0, "unlink while open");
	CHECK(access(p, F_OK) != 0, "the name is gone");
	char buf[32] = { 0 };
	CHECK(pread(fd, buf, sizeof(buf), 0) == 10 && memcmp(buf, "still here", 10) == 0,
	      "the open file still reads");
	CHECK(pwrite(fd, "more", 4, 10000) == 4, "and writes");
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && st.st_size == 10004 && st.st_nlink == 0,
	      "fstat: size %lld nlink %lu", (long long)st.st_size, (unsigned long)st.st_nlink);
	CHECK(pread(fd, buf, 4, 10000) == 4 && memcmp(buf, "more", 4) == 0, "read it back");
	close(fd);
	fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0644);
	CHECK(fd >= 0, "the name can be used again");
	CHECK(pread(fd, buf, 10, 0) == 0, "by a new, empty file");
	close(fd);
	unlink(p);
}

static int sys_renameat2(const char *a, const char *b, unsigned flags)
{
	return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, flags);
}

static void put_file(const char *p, const char *s)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		failed++;
	close(fd);
}

static bool file_is(const char *p, const char *s)
{
	char buf[256];
	return read_all(p, (uint8_t *)buf, strlen(s)) && memcmp(buf, s, strlen(s)) == 0;
}

static void test_rename_flags(void)
{
	put_file(path("x1"), "one");
	put_file(path("x2"), "two");
	errno = 0;
	CHECK(sys_renameat2(path("x1"), path("x2"), RENAME_NOREPLACE) < 0 && errno == EEXIST,
	      "RENAME_NOREPLACE onto an existing name");
	CHECK(sys_renameat2(path("x1"), path("x3"), RENAME_NOREPLACE) == 0, "RENAME_NOREPLACE");
	CHECK(sys_renameat2(path("x3"), path("x2"), RENAME_EXCHANGE) == 0, "RENAME_EXCHANGE");
	CHECK(file_is(path("x3"), "two") && file_is(path("x2"), "one"), "exchanged");
	mkdir(path("xd"), 0755);
	put_file(path("xd/in"), "inside");
	CHECK(sys_renameat2(path("xd"), path("x3"), RENAME_EXCHANGE) == 0, "exchange dir and file");
	CHECK(file_is(path("x3/in"), "inside") && file_is(path("xd"), "two"), "dir and file swapped");
	errno = 0;
	CHECK(sys_renameat2(path("x2"), path("x9"), RENAME_WHITEOUT) < 0 && errno == EINVAL,
	      "RENAME_WHITEOUT is EINVAL");
	errno = 0;
	CHECK(sys_renameat2(path("x2"), path("nope"), RENAME_EXCHANGE) < 0 && errno == ENOENT,
	      "RENAME_EXCHANGE with a missing target");
	errno = 0;
	CHECK(rename(path("x3"), path("x3/in/deeper")) < 0, "a directory into itself");
	errno = 0;
	CHECK(rename(path("x2"), path("x3")) < 0 && errno == EISDIR, "a file over a directory");
	errno = 0;
	CHECK(rename(path("x3"), path("x2")) < 0 && errno == ENOTDIR, "a directory over a file");
}

static void test_xattrs(void)
{
	const char *p = path("xattr");
	put_file(p, "x");
	CHECK(setxattr(p, "user.a", "1", 1, 0) == 0, "setxattr");
	CHECK(setxattr(p, "user.b", "22", 2, XATTR_CREATE) == 0, "XATTR_CREATE");
	errno = 0;
	CHECK(setxattr(p, "user.b", "3", 1, XATTR_CREATE) < 0 && errno == EEXIST,
	      "XATTR_CREATE on an existing name");
	errno = 0;
	CHECK(setxattr(p, "user.c", "3", 1, XATTR_REPLACE) < 0 && errno == ENODATA,
	      "XATTR_REPLACE on a missing name");
	char buf[256];
	CHECK(getxattr(p, "user.b", buf, sizeof(buf)) == 2 && memcmp(buf, "22", 2) == 0, "getxattr");
	CHECK(getxattr(p, "user.b", NULL, 0) == 2, "getxattr size query");
	errno = 0;
	CHECK(getxattr(p, "user.b", buf, 1) < 0 && errno == ERANGE, "ERANGE");
	errno = 0;
	CHECK(getxattr(p, "user.zz", buf, sizeof(buf)) < 0 && errno == ENODATA, "ENODATA");
	ssize_t n = listxattr(p, buf, sizeof(buf));
	CHECK(n == 14 && memcmp(buf, "user.a\0user.b\0", 14) == 0, "listxattr");
	CHECK(removexattr(p, "user.a") == 0, "removexattr");
	errno = 0;
	CHECK(removexattr(p, "user.a") < 0 && errno == ENODATA, "removexattr twice");
	char big[65536];
	memset(big, 'v', sizeof(big));
	CHECK(setxattr(p, "user.big", big, 60000, 0) == 0, "a 60000-byte value");
	CHECK(getxattr(p, "user.big", big, sizeof(big)) == 60000, "read the big value");
	errno = 0;
	CHECK(setxattr(p, "system.posix_acl_access", "x", 1, 0) < 0 &&
	      (errno == EOPNOTSUPP || errno == EINVAL), "system.* is not supported");
	mkdir(path("xattrdir"), 0755);
	CHECK(setxattr(path("xattrdir"), "user.d", "dir", 3, 0) == 0, "xattr on a directory");
	CHECK(getxattr(path("xattrdir"), "user.d", buf, sizeof(buf)) == 3, "read it");
}

/* Hard links: one inode, several names. */
static void test_hardlinks(void)
{
	struct stat s1, s2;
	char buf[64] = { 0 };
	put_file(path("hl"), "x");
	CHECK(link(path("hl"), path("hl2")) == 0, "link");
	CHECK(stat(path("hl"), &s1) == 0 && stat(path("hl2"), &s2) == 0 && s1.st_ino == s2.st_ino &&
	      s1.st_nlink == 2 && s2.st_nlink == 2, "both names: one inode, two links");
	errno = 0;
	CHECK(link(path("hl"), path("hl2")) < 0 && errno == EEXIST, "link onto a name: EEXIST");
	mkdir(path("hldir"), 0755);
	errno = 0;
	CHECK(link(path("hldir"), path("hldir2")) < 0 && errno == EPERM, "link of a directory: EPERM");
	CHECK(link(path("hl2"), path("hldir/hl3")) == 0 && stat(path("hl"), &s1) == 0 &&
	      s1.st_nlink == 3, "a third name, in a subdirectory");
	int fd = open(path("hl2"), O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "shared", 6) == 6 && close(fd) == 0, "write through one name");
	fd = open(path("hldir/hl3"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 6 && memcmp(buf, "shared", 6) == 0,
	      "read through another");
	if (fd >= 0)
		close(fd);
	CHECK(chmod(path("hl"), 0600) == 0 && stat(path("hldir/hl3"), &s2) == 0 &&
	      (s2.st_mode & 07777) == 0600, "chmod through one name, seen through another");
	CHECK(rename(path("hl"), path("hl2")) == 0 && stat(path("hl"), &s1) == 0 &&
	      stat(path("hl2"), &s2) == 0 && s1.st_nlink == 3,
	      "rename of a name onto another name of the file: nothing changes");
	put_file(path("hlother"), "other");
	CHECK(rename(path("hlother"), path("hl2")) == 0 && stat(path("hl"), &s1) == 0 &&
	      s1.st_nlink == 2 && stat(path("hl2"), &s2) == 0 && s2.st_nlink == 1 &&
	      s2.st_ino != s1.st_ino, "rename over a name: the file keeps its other names");
	CHECK(unlink(path("hl")) == 0 && stat(path("hldir/hl3"), &s2) == 0 && s2.st_nlink == 1,
	      "unlink of one name");
	memset(buf, 0, sizeof(buf));
	fd = open(path("hldir/hl3"), O_RDONLY);
	CHECK(fd >= 0 && read(fd, buf, sizeof(buf)) == 6 && memcmp(buf, "shared", 6) == 0,
	      "the last name keeps the bytes");
	if (fd >= 0)
		close(fd);
	CHECK(unlink(path("hldir/hl3")) == 0 && stat(path("hldir/hl3"), &s2) < 0,
	      "unlink of the last name");
}

static void test_misc(void)
{
	CHECK(symlink("target/path", path("sym")) == 0, "symlink");
	char buf[256] = { 0 };
	CHECK(readlink(path("sym"), buf, sizeof(buf)) == 11 && memcmp(buf, "target/path", 11) == 0,
	      "readlink");
	test_hardlinks();
	put_file(path("hl"), "x");
	struct stat sp;
	CHECK(mknod(path("fifo"), S_IFIFO | 0644, 0) == 0 && lstat(path("fifo"), &sp) == 0 &&
	      S_ISFIFO(sp.st_mode) && (sp.st_mode & 07777) == 0644, "mknod of a FIFO");
	CHECK(mknod(path("dev"), S_IFCHR | 0644, makedev(1, 3)) == 0 && lstat(path("dev"), &sp) == 0 &&
	      S_ISCHR(sp.st_mode) && sp.st_rdev == makedev(1, 3) && sp.st_size == 0,
	      "mknod of a character device keeps its number");
	CHECK(mknod(path("regular"), S_IFREG | 0600, 0) == 0, "mknod of a regular file");
	struct timespec ts[2] = { { 1000000000, 123456789 }, { 1234567890, 987654321 } };
	CHECK(utimensat(AT_FDCWD, path("hl"), ts, 0) == 0, "utimensat");
	struct stat st;
	stat(path("hl"), &st);
	CHECK(st.st_mtim.tv_sec == 1234567890 && st.st_mtim.tv_nsec == 987654321 &&
	      st.st_atim.tv_sec == 1000000000, "nanosecond times");
	struct statvfs sv;
	CHECK(statvfs(dir, &sv) == 0 && sv.f_namemax == 255 && sv.f_blocks > 0 && sv.f_files > 0,
	      "statvfs");
	char longname[300];
	memset(longname, 'n', 256);
	longname[256] = 0;
	errno = 0;
	CHECK(open(path("%s", longname), O_WRONLY | O_CREAT, 0644) < 0 && errno == ENAMETOOLONG,
	      "a 256-byte name");
	longname[255] = 0;
	int fd = open(path("%s", longname), O_WRONLY | O_CREAT, 0644);
	CHECK(fd >= 0, "a 255-byte name");
	close(fd);
	fd = open(path("hl"), O_RDWR);
	CHECK(fdatasync(fd) == 0 && fsync(fd) == 0, "fsync and fdatasync");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	CHECK(fsync(dfd) == 0, "fsync of a directory");
	close(dfd);
	CHECK(posix_fallocate(fd, 0, 100000) == 0, "posix_fallocate");
	fstat(fd, &st);
	CHECK(st.st_size == 100000, "fallocate sets the size");
	CHECK(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 200000) == 0, "fallocate KEEP_SIZE");
	fstat(fd, &st);
	CHECK(st.st_size == 100000, "KEEP_SIZE keeps it");
	char data[8192];
	memset(data, 'p', sizeof(data));
	CHECK(pwrite(fd, data, sizeof(data), 40000) == sizeof(data), "write before punching");
	CHECK(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 41000, 5000) == 0,
	      "punch a hole");
	CHECK(pread(fd, data, sizeof(data), 40000) == sizeof(data) && data[999] == 'p' &&
	      is_zero((uint8_t *)data + 1000, 5000) && data[6000] == 'p', "the hole is zeros");
	errno = 0;
	CHECK(fallocate(fd, FALLOC_FL_COLLAPSE_RANGE, 0, 4096) < 0 && errno == EOPNOTSUPP,
	      "an unsupported fallocate mode is EOPNOTSUPP");
	close(fd);
	/* Locks are kept by the kernel. */
	fd = open(path("hl"), O_RDWR);
	CHECK(flock(fd, LOCK_EX) == 0, "flock");
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	CHECK(fcntl(fd, F_SETLK, &fl) == 0, "fcntl lock");
	pid_t kid = fork();
	if (kid == 0) {
		int fd2 = open(path("hl"), O_RDWR);
		int bad = 0;
		if (flock(fd2, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
			bad |= 1;
		struct flock f2 = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 5 };
		if (fcntl(fd2, F_SETLK, &f2) == 0 || (errno != EAGAIN && errno != EACCES))
			bad |= 2;
		_exit(bad);
	}
	int status;
	waitpid(kid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "another process sees the flock and fcntl locks (status %d)", WEXITSTATUS(status));
	close(fd);
	errno = 0;
	CHECK(rmdir(path("xattrdir")) == 0, "rmdir of an empty directory");
	mkdir(path("full"), 0755);
	put_file(path("full/f"), "f");
	errno = 0;
	CHECK(rmdir(path("full")) < 0 && errno == ENOTEMPTY, "rmdir of a non-empty one");
	errno = 0;
	CHECK(unlink(path("full")) < 0 && (errno == EISDIR || errno == EPERM), "unlink a directory");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [SEED]\n", argv[0]);
		return 2;
	}
	dir = argv[1];
	rng = argc > 2 ? strtoull(argv[2], NULL, 0) : 0x5eed1234abcdull;
	if (argc > 3)
		RROUNDS = atoi(argv[3]) > 0 ? atoi(argv[3]) : 1;
	printf("seed %#llx\n", (unsigned long long)rng);
#define RUN(call)                                                                  \
	do {                                                                       \
		struct timespec t0, t1;                                            \
		clock_gettime(CLOCK_MONOTONIC, &t0);                               \
		call;                                                              \
		clock_gettime(CLOCK_MONOTONIC, &t1);                               \
		printf("  %-40s %6.2f s\n", #call,                                 \
		       (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9); \
	} while (0)
	RUN(test_random_io("small", 4096 * 3, 300, 0));
	RUN(test_random_io("medium", 1 << 20, 400, 0));
	RUN(test_random_io("large", 16 << 20, 300, 0));
	RUN(test_random_io("direct", 1 << 20, 200, O_DIRECT));
	RUN(test_sparse_and_truncate());
	RUN(test_open_flags());
	RUN(test_append_two_processes());
	RUN(test_mmap());
	RUN(test_rename_races());
	RUN(test_readdir_stable());
	RUN(test_unlink_open());
	RUN(test_rename_flags());
	RUN(test_xattrs());
	RUN(test_misc());
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
