/*
 * handles.c — file handles on a mount (name_to_handle_at,
 * open_by_handle_at): the kernel's export operations on FUSE, which an
 * NFS server over the mount relies on, without NFS.
 *
 *   handles DIR
 *
 * DIR is an empty directory inside a table of a golitefs mount. Needs root
 * (open_by_handle_at, /proc/sys/vm/drop_caches). Prints "N passed, N
 * failed" and exits 1 on any failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir;
static int mount_fd;
static int passed, failed;

static char *path(const char *fmt, ...)
{
	static char buf[4][4096];
	static int i;
	char name[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	char *p = buf[i++ % 4];
	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static void result(const char *name, bool ok, const char *why)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		fprintf(stderr, "FAIL: %s: %s\n", name, why);
	}
}

/* Forgets every inode and dentry the kernel can drop: a handle is then
 * resolved by asking the daemon for its node id. */
static void drop_caches(void)
{
	sync();
	int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "2", 1) != 1) {
		perror("drop_caches");
		exit(1);
	}
	close(fd);
}

static struct file_handle *handle_of(const char *p)
{
	struct file_handle *h = malloc(sizeof(*h) + MAX_HANDLE_SZ);
	int mnt;
	h->handle_bytes = MAX_HANDLE_SZ;
	if (name_to_handle_at(AT_FDCWD, p, h, &mnt, 0) != 0) {
		fprintf(stderr, "name_to_handle_at %s: %s\n", p, strerror(errno));
		free(h);
		return NULL;
	}
	return h;
}

static void write_file(const char *p, const char *data, size_t len)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len || close(fd) != 0) {
		fprintf(stderr, "write %s: %s\n", p, strerror(errno));
		exit(1);
	}
}

/* Opens h and checks that it reads back data (len bytes): "" if so, else
 * what went wrong. */
static const char *reads_back(struct file_handle *h, const char *data, size_t len)
{
	static char why[256];
	if (!h)
		return "no handle";
	int fd = open_by_handle_at(mount_fd, h, O_RDONLY);
	if (fd < 0) {
		snprintf(why, sizeof(why), "open_by_handle_at: %s", strerror(errno));
		return why;
	}
	char *buf = malloc(len + 1);
	ssize_t n = pread(fd, buf, len + 1, 0);
	close(fd);
	bool same = n == (ssize_t)len && memcmp(buf, data, len) == 0;
	free(buf);
	if (!same) {
		snprintf(why, sizeof(why), "read %zd bytes, not the %zu written", n, len);
		return why;
	}
	return "";
}

/* The errno of opening h (0: it opened). */
static int open_errno(struct file_handle *h, int flags)
{
	int fd = open_by_handle_at(mount_fd, h, flags);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

static void file_handle_survives_drop_caches(void)
{
	write_file(path("a"), "alpha\n", 6);
	struct file_handle *h = handle_of(path("a"));
	drop_caches();
	const char *why = reads_back(h, "alpha\n", 6);
	result("file_handle_survives_drop_caches", !*why, why);
	drop_caches();
	why = reads_back(h, "alpha\n", 6);
	result("file_handle_survives_drop_caches_twice", !*why, why);
	free(h);
}

static void chunked_file_handle_survives_drop_caches(void)
{
	size_t len = 100000;
	char *data = malloc(len);
	for (size_t i = 0; i < len; i++)
		data[i] = (char)('a' + i % 23);
	write_file(path("big"), data, len);
	struct file_handle *h = handle_of(path("big"));
	drop_caches();
	const char *why = reads_back(h, data, len);
	result("chunked_file_handle_survives_drop_caches", !*why, why);
	free(h);
	free(data);
}

static void file_handle_survives_rename(void)
{
	if (mkdir(path("sub"), 0755) != 0 && errno != EEXIST)
		exit(1);
	write_file(path("b"), "bravo\n", 6);
	struct file_handle *h = handle_of(path("b"));
	/* Renamed while the kernel knows it, then forgotten. */
	rename(path("b"), path("sub/b2"));
	drop_caches();
	const char *why = reads_back(h, "bravo\n", 6);
	result("file_handle_survives_rename", !*why, why);
	/* Forgotten first, then renamed (the rename looks it up again). */
	drop_caches();
	rename(path("sub/b2"), path("b3"));
	drop_caches();
	why = reads_back(h, "bravo\n", 6);
	result("file_handle_survives_rename_after_drop_caches", !*why, why);
	free(h);
}

static void file_handle_survives_directory_rename(void)
{
	mkdir(path("d1"), 0755);
	mkdir(path("d1/inner"), 0755);
	write_file(path("d1/inner/c"), "charlie\n", 8);
	struct file_handle *h = handle_of(path("d1/inner/c"));
	drop_caches();
	rename(path("d1"), path("d2"));
	drop_caches();
	const char *why = reads_back(h, "charlie\n", 8);
	result("file_handle_survives_directory_rename", !*why, why);
	free(h);
}

static void directory_handle_reconnects(void)
{
	mkdir(path("e1"), 0755);
	mkdir(path("e1/e2"), 0755);
	mkdir(path("e1/e2/e3"), 0755);
	struct stat st;
	stat(path("e1/e2/e3"), &st);
	struct file_handle *h = handle_of(path("e1/e2/e3"));
	drop_caches();
	/* A directory's handle is connected to the tree through "..". */
	int fd = h ? open_by_handle_at(mount_fd, h, O_RDONLY | O_DIRECTORY) : -1;
	struct stat got;
	bool ok = fd >= 0 && fstat(fd, &got) == 0 && got.st_ino == st.st_ino;
	char why[128];
	snprintf(why, sizeof(why), "%s", fd < 0 ? strerror(errno) : "another directory");
	result("directory_handle_reconnects", ok, why);
	if (fd >= 0) {
		/* And names resolve in it. */
		int c = openat(fd, "f", O_WRONLY | O_CREAT, 0644);
		result("directory_handle_resolves_names", c >= 0, strerror(errno));
		if (c >= 0)
			close(c);
		close(fd);
	}
	result("file_created_through_handle_is_there", stat(path("e1/e2/e3/f"), &st) == 0,
	       strerror(errno));
	free(h);
}

static void table_and_root_handles(void)
{
	/* DIR's parent is the table's directory. */
	char table[4096];
	snprintf(table, sizeof(table), "%s/..", dir);
	struct file_handle *h = handle_of(table);
	drop_caches();
	int e = h ? open_errno(h, O_RDONLY | O_DIRECTORY) : -1;
	result("table_directory_handle_opens", e == 0, strerror(e));
	free(h);
}

static void unlinked_file_handle_is_stale(void)
{
	write_file(path("gone"), "x", 1);
	struct file_handle *h = handle_of(path("gone"));
	unlink(path("gone"));
	drop_caches();
	int e = h ? open_errno(h, O_RDONLY) : -1;
	result("unlinked_file_handle_is_stale", e == ESTALE, strerror(e));
	/* A new file of the same name is another file. */
	write_file(path("gone"), "y", 1);
	drop_caches();
	e = h ? open_errno(h, O_RDONLY) : -1;
	result("handle_of_unlinked_name_reused_is_stale", e == ESTALE, strerror(e));
	free(h);
}

static void replaced_file_handle_is_stale(void)
{
	write_file(path("old"), "old", 3);
	write_file(path("new"), "new", 3);
	struct file_handle *h = handle_of(path("old"));
	rename(path("new"), path("old"));
	drop_caches();
	int e = h ? open_errno(h, O_RDONLY) : -1;
	result("replaced_file_handle_is_stale", e == ESTALE, strerror(e));
	free(h);
}

static void forged_handle_is_stale(void)
{
	write_file(path("real"), "r", 1);
	struct file_handle *h = handle_of(path("real"));
	if (!h) {
		result("forged_handle_is_stale", false, "no handle");
		return;
	}
	/* FUSE handles are node id (64 bits) then generation (32 bits). */
	struct file_handle *f = malloc(sizeof(*f) + MAX_HANDLE_SZ);
	memcpy(f, h, sizeof(*h) + h->handle_bytes);
	unsigned long long id = 0x7fffffff12345ull;
	memcpy(f->f_handle, &id, sizeof(id));
	drop_caches();
	int e = open_errno(f, O_RDONLY);
	result("unknown_node_id_is_stale", e == ESTALE, strerror(e));
	memcpy(f, h, sizeof(*h) + h->handle_bytes);
	f->f_handle[8] ^= 0x5a;  /* another generation */
	e = open_errno(f, O_RDONLY);
	result("wrong_generation_is_stale", e == ESTALE, strerror(e));
	free(f);
	free(h);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: handles DIR\n");
		return 2;
	}
	dir = argv[1];
	mount_fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (mount_fd < 0) {
		perror(dir);
		return 1;
	}
	file_handle_survives_drop_caches();
	chunked_file_handle_survives_drop_caches();
	file_handle_survives_rename();
	file_handle_survives_directory_rename();
	directory_handle_reconnects();
	table_and_root_handles();
	unlinked_file_handle_is_stale();
	replaced_file_handle_is_stale();
	forged_handle_is_stale();
	close(mount_fd);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
