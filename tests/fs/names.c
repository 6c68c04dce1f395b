/*
 * names.c — names that cannot be created, tried with raw system calls in
 * DIR (a table directory of a mount), for test_security.sh.
 *
 *   names DIR
 *
 * - A name of 256 bytes: open(O_CREAT), mkdir, symlink, mknod, rename to
 *   it, setxattr-free lookups: ENAMETOOLONG; 255 bytes work.
 * - NUL: the system call takes the name up to the first NUL, so "x\0y"
 *   creates "x" and nothing holding the NUL or "y" appears in a listing.
 * - '/': "p/q" is a path: ENOENT when p is missing, ENOTDIR when p is a
 *   file; no entry with a '/' appears.
 * - "." and "..": open(O_CREAT) gives EISDIR, mkdir/mknod/symlink EEXIST,
 *   renaming a file onto them fails; the listing shows each once, as a
 *   directory.
 * Prints "N passed, N failed"; exit 1 on any failure.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int passed, failed;

static void expect_errno(const char *what, long r, int want)
{
	int e = errno;
	if (r < 0 && e == want) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL: %s: %s, expected %s\n", what, r < 0 ? strerror(e) : "succeeded",
		strerror(want));
}

static void expect_fail(const char *what, long r)
{
	if (r < 0) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL: %s: succeeded\n", what);
}

static void expect_ok(const char *what, long r)
{
	if (r >= 0) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL: %s: %s\n", what, strerror(errno));
}

static void check(const char *what, bool ok)
{
	if (ok) {
		passed++;
		return;
	}
	failed++;
	fprintf(stderr, "FAIL: %s\n", what);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: names DIR\n");
		return 2;
	}
	int d = open(argv[1], O_DIRECTORY | O_RDONLY);
	if (d < 0) {
		perror(argv[1]);
		return 2;
	}
	char n255[256], n256[257];
	memset(n255, 'l', 255);
	n255[255] = 0;
	memset(n256, 'l', 256);
	n256[256] = 0;

	/* lengths */
	long fd = openat(d, n256, O_CREAT | O_WRONLY, 0644);
	expect_errno("open(O_CREAT) of a 256-byte name", fd, ENAMETOOLONG);
	expect_errno("mkdir of a 256-byte name", mkdirat(d, n256, 0755), ENAMETOOLONG);
	expect_errno("symlink to a 256-byte name", symlinkat("x", d, n256), ENAMETOOLONG);
	expect_errno("mknod of a 256-byte name", mknodat(d, n256, S_IFREG | 0644, 0), ENAMETOOLONG);
	fd = openat(d, n255, O_CREAT | O_WRONLY, 0644);
	expect_ok("open(O_CREAT) of a 255-byte name", fd);
	if (fd >= 0)
		close((int)fd);
	expect_errno("rename to a 256-byte name", renameat(d, n255, d, n256), ENAMETOOLONG);
	struct stat st;
	expect_errno("stat of a 256-byte name", fstatat(d, n256, &st, 0), ENAMETOOLONG);
	expect_ok("the 255-byte name is there", fstatat(d, n255, &st, 0));

	/* NUL: the kernel stops at it */
	static const char nul_name[] = "x\0y";
	fd = openat(d, nul_name, O_CREAT | O_EXCL | O_WRONLY, 0644);
	expect_ok("open(O_CREAT) of \"x\\0y\" (creates \"x\")", fd);
	if (fd >= 0)
		close((int)fd);
	expect_ok("\"x\" exists", fstatat(d, "x", &st, 0));
	expect_errno("\"xy\" does not", fstatat(d, "xy", &st, 0), ENOENT);
	expect_errno("\"y\" does not", fstatat(d, "y", &st, 0), ENOENT);
	static const char nul_dir[] = "z\0w";
	expect_ok("mkdir of \"z\\0w\" (makes \"z\")", mkdirat(d, nul_dir, 0755));

	/* '/' separates names */
	fd = openat(d, "p/q", O_CREAT | O_WRONLY, 0644);
	expect_errno("open(O_CREAT) of \"p/q\" without p", fd, ENOENT);
	fd = openat(d, "x/q", O_CREAT | O_WRONLY, 0644);
	expect_errno("open(O_CREAT) of \"x/q\" where x is a file", fd, ENOTDIR);
	expect_errno("mkdir of \"p/q\" without p", mkdirat(d, "p/q", 0755), ENOENT);
	expect_errno("rename to \"p/q\" without p", renameat(d, "x", d, "p/q"), ENOENT);

	/* "." and ".." */
	fd = openat(d, ".", O_CREAT | O_WRONLY, 0644);
	expect_errno("open(O_CREAT) of \".\"", fd, EISDIR);
	fd = openat(d, "..", O_CREAT | O_WRONLY, 0644);
	expect_errno("open(O_CREAT) of \"..\"", fd, EISDIR);
	expect_errno("mkdir \".\"", mkdirat(d, ".", 0755), EEXIST);
	expect_errno("mkdir \"..\"", mkdirat(d, "..", 0755), EEXIST);
	expect_errno("mknod \".\"", mknodat(d, ".", S_IFREG | 0644, 0), EEXIST);
	expect_errno("symlink \"..\"", symlinkat("x", d, ".."), EEXIST);
	expect_fail("rename a file onto \".\"", renameat(d, "x", d, "."));
	expect_fail("rename a file onto \"..\"", renameat(d, "x", d, ".."));
	expect_fail("rename \".\" away", renameat(d, ".", d, "dot"));
	expect_ok("the file is still \"x\"", fstatat(d, "x", &st, 0));

	/* the listing: "." and ".." once each, directories; nothing else odd */
	DIR *dh = fdopendir(dup(d));
	int dots = 0, dotdots = 0, entries = 0;
	struct dirent *de;
	while (dh && (de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		if (!strcmp(de->d_name, "."))
			dots++, check("\".\" is a directory", de->d_type == DT_DIR || de->d_type == DT_UNKNOWN);
		else if (!strcmp(de->d_name, ".."))
			dotdots++, check("\"..\" is a directory", de->d_type == DT_DIR || de->d_type == DT_UNKNOWN);
		else
			entries++;
		check("no listed name holds a '/'", !strchr(de->d_name, '/'));
		check("no listed name is over 255 bytes", len <= 255);
		check("no listed name holds the bytes after a NUL", strcmp(de->d_name, "y") &&
		      strcmp(de->d_name, "w") && strcmp(de->d_name, "xy"));
	}
	if (dh)
		closedir(dh);
	check("\".\" listed once", dots == 1);
	check("\"..\" listed once", dotdots == 1);
	check("the listing holds the 255-byte name, \"x\", \"z\" and the escaped names", entries >= 3);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
