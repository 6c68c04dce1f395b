/*
 * fsops.c — one phase of file operations on N files in DIR, timed, for
 * scripts/bench-etcd.sh (which reads the store's request counters between
 * phases and drops the kernel's caches where a phase must not be served
 * from them).
 *
 *   fsops PHASE DIR N
 *
 *   create  open(O_CREAT|O_EXCL) and close f000000 .. f(N-1)
 *   stat    stat each
 *   write   open(O_WRONLY|O_TRUNC), write 100 bytes, close each
 *   read    open, read, close each (checks the 100 bytes)
 *   rename  rename f* to g*
 *   ls      read the directory whole (N must be how many entries it has)
 *   unlink  unlink g*
 *
 * Prints "PHASE N SECONDS OPS_PER_SECOND"; exit 1 at the first failed
 * operation (what failed on stderr).
 *
 * Two checks for tests/store/test_mounts.sh as well:
 *
 *   fsops exchange A B     renameat2(A, B, RENAME_EXCHANGE)
 *   fsops unlinked FILE    open FILE, unlink it, then read it through the
 *                          open descriptor and print what it read
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const char *what, const char *path)
{
	fprintf(stderr, "fsops: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "exchange") == 0) {
		if (syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], 2 /* EXCHANGE */)) {
			fprintf(stderr, "fsops: exchange: %s\n", strerror(errno));
			return 1;
		}
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "unlinked") == 0) {
		int fd = open(argv[2], O_RDONLY);
		if (fd < 0)
			return die("open", argv[2]);
		if (unlink(argv[2]) != 0)
			return die("unlink", argv[2]);
		struct stat st;
		if (stat(argv[2], &st) == 0) {
			fprintf(stderr, "fsops: %s still has its name after unlink\n", argv[2]);
			return 1;
		}
		static char buf[1 << 16];
		ssize_t got;
		while ((got = read(fd, buf, sizeof buf)) > 0)
			fwrite(buf, 1, (size_t)got, stdout);
		if (got < 0)
			return die("read of the unlinked", argv[2]);
		close(fd);
		return 0;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: fsops create|stat|write|read|rename|ls|unlink DIR N\n");
		return 2;
	}
	const char *phase = argv[1], *dir = argv[2];
	long n = atol(argv[3]);
	char path[4096], path2[4096];
	char data[100];
	memset(data, 'd', sizeof data);
	double t0 = now();
	if (strcmp(phase, "ls") == 0) {
		DIR *d = opendir(dir);
		if (!d)
			return die("opendir", dir);
		long seen = 0;
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				seen++;
		closedir(d);
		if (seen != n) {
			fprintf(stderr, "fsops: ls found %ld entries, not %ld\n", seen, n);
			return 1;
		}
	} else {
		for (long i = 0; i < n; i++) {
			snprintf(path, sizeof path, "%s/f%06ld", dir, i);
			snprintf(path2, sizeof path2, "%s/g%06ld", dir, i);
			if (strcmp(phase, "create") == 0) {
				int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
				if (fd < 0 || close(fd) != 0)
					return die("create", path);
			} else if (strcmp(phase, "stat") == 0) {
				struct stat st;
				if (stat(path, &st) != 0)
					return die("stat", path);
			} else if (strcmp(phase, "write") == 0) {
				int fd = open(path, O_WRONLY | O_TRUNC);
				if (fd < 0 || write(fd, data, sizeof data) != (ssize_t)sizeof data ||
				    close(fd) != 0)
					return die("write", path);
			} else if (strcmp(phase, "read") == 0) {
				char buf[200];
				int fd = open(path, O_RDONLY);
				ssize_t got = fd < 0 ? -1 : read(fd, buf, sizeof buf);
				if (fd < 0 || got != (ssize_t)sizeof data || close(fd) != 0)
					return die("read", path);
				if (memcmp(buf, data, sizeof data) != 0) {
					fprintf(stderr, "fsops: %s reads back wrong\n", path);
					return 1;
				}
			} else if (strcmp(phase, "rename") == 0) {
				if (rename(path, path2) != 0)
					return die("rename", path);
			} else if (strcmp(phase, "unlink") == 0) {
				if (unlink(path2) != 0)
					return die("unlink", path2);
			} else {
				fprintf(stderr, "fsops: no phase %s\n", phase);
				return 2;
			}
		}
	}
	double s = now() - t0;
	printf("%s %ld %.3f %.0f\n", phase, n, s, s > 0 ? (double)n / s : 0.0);
	return 0;
}
