/*
 * posix.c — a conformance walk of one directory: for every node type
 * (regular file, directory, FIFO, socket, character and block device,
 * symlink) every operation that applies, done by a given user, and one
 * line per case of what came of it: the result or errno, the node's type
 * and mode, owner, link count, size (of regular files and symlinks),
 * device number, and which of mtime and ctime changed on the node and on
 * its directory (atime too for utimensat).
 *
 * Then hard links (link_walk): link(2) and linkat(2) of every type but
 * directories, by root, the owner and another user (as
 * fs.protected_hardlinks lets them), beside the file, into another
 * directory and into another table; over existing names; unlink, write,
 * truncate, chmod, chown and utimensat through one name seen through the
 * others; renames over, onto and across names of one inode; a file losing
 * its three names one by one. Each line names every name looked at, its
 * inode as a letter shared by the names of one inode, the bytes and
 * user.k attribute of regular files, and the times of the three
 * directories involved.
 *
 *   posix DIR OTHER UID GID
 *                          (run as root; DIR and OTHER empty, on the file
 *                          system under test, OTHER in another table)
 *   posix --bind PATH      makes a Unix socket file at PATH
 *   posix --talk PATH      binds a Unix socket at PATH, connects to it,
 *                          sends a line through and prints what came
 *
 * Invariants:
 *  1. Every case gets a directory of its own under DIR (cNNN), made by
 *     root, and a link case its namesake under OTHER; root sets the case
 *     up, a child process takes UID and GID (and no other groups) and
 *     does the operation, and root looks at the result.
 *  2. The lines hold nothing that depends on the file system (no inode
 *     numbers, no times): tests/fs/test_posix.sh runs this on golitefs and
 *     on a kernel file system and requires the two outputs to be the
 *     same, line for line.
 *  3. A time is reported changed only against the same inode before the
 *     step, after tick() (a change within the clock's resolution would
 *     read as none).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

enum { T_REG, T_DIR, T_FIFO, T_SOCK, T_CHR, T_BLK, T_LNK, NTYPES };
static const char *const tname[NTYPES] = { "reg", "dir", "fifo", "sock", "chr", "blk", "lnk" };

/* Owners of what root sets up: the acting user, or somebody else. */
#define OTHER_UID 4242
#define OTHER_GID 4343
#define GROUP_GID 4444

static const char *base;
static const char *other;  /* a directory in another table */
static uid_t act_uid;
static gid_t act_gid;
static int ncase;
static char cdir[4096];  /* the current case's directory */
static char tdir[4096];  /* its namesake under other (made by link cases) */

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "posix: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s\n", strerror(errno));
	va_end(ap);
	exit(2);
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case EEXIST: return "EEXIST";
	case ENOTDIR: return "ENOTDIR";
	case EISDIR: return "EISDIR";
	case EINVAL: return "EINVAL";
	case ENOTEMPTY: return "ENOTEMPTY";
	case ENAMETOOLONG: return "ENAMETOOLONG";
	case ELOOP: return "ELOOP";
	case ENXIO: return "ENXIO";
	case EXDEV: return "EXDEV";
	case EBUSY: return "EBUSY";
	case ETXTBSY: return "ETXTBSY";
	case EMLINK: return "EMLINK";
	case EROFS: return "EROFS";
	case ENODEV: return "ENODEV";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: {
		static char buf[32];
		snprintf(buf, sizeof(buf), "E%d", e);
		return buf;
	}
	}
}

/* The path of a case's name: "x" and "d/x" are in the case directory,
 * "@x" in its namesake in the other table. */
static void path_of(char *out, size_t cap, const char *name)
{
	if (name[0] == '@')
		snprintf(out, cap, "%s/%s", tdir, name + 1);
	else
		snprintf(out, cap, "%s/%s", cdir, name);
}

static int bind_at(const char *path);

/* Makes a node of type t named name in the case directory, as root, then
 * gives it to uid:gid with mode (the symlink: its owner only). */
static void make(int t, const char *name, mode_t mode, uid_t uid, gid_t gid)
{
	char p[8192];
	path_of(p, sizeof(p), name);
	int r = 0;
	switch (t) {
	case T_REG: {
		int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0600);
		r = fd < 0 ? -1 : (write(fd, "hello", 5) == 5 ? close(fd) : -1);
		break;
	}
	case T_DIR: r = mkdir(p, 0700); break;
	case T_FIFO: r = mkfifo(p, 0600); break;
	case T_SOCK: {
		char old[4096];
		if (!getcwd(old, sizeof(old)))
			die("getcwd");
		close(bind_at(p));
		if (chdir(old))
			die("chdir back");
		break;
	}
	case T_CHR: r = mknod(p, S_IFCHR | 0600, makedev(1, 3)); break;
	case T_BLK: r = mknod(p, S_IFBLK | 0600, makedev(7, 0)); break;
	case T_LNK: r = symlink("target-of-link", p); break;
	}
	if (r)
		die("make %s %s", tname[t], p);
	if (lchown(p, uid, gid))
		die("lchown %s", p);
	if (t != T_LNK && chmod(p, mode))
		die("chmod %s", p);
}

/* A fresh directory for the next case, root's, with mode dmode. */
static void new_case(mode_t dmode, gid_t dgid)
{
	snprintf(cdir, sizeof(cdir), "%s/c%03d", base, ++ncase);
	snprintf(tdir, sizeof(tdir), "%s/c%03d", other, ncase);
	if (mkdir(cdir, 0700) || chmod(cdir, dmode) || chown(cdir, 0, dgid))
		die("mkdir %s", cdir);
}

struct snap {
	bool exists;
	struct stat st;
	struct stat dir;
};

static void take(struct snap *s, const char *name)
{
	char p[8192];
	path_of(p, sizeof(p), name);
	s->exists = lstat(p, &s->st) == 0;
	if (lstat(cdir, &s->dir))
		die("lstat %s", cdir);
}

static bool ts_differ(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec != b->tv_sec || a->tv_nsec != b->tv_nsec;
}

static const char *type_of(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFREG: return "reg";
	case S_IFDIR: return "dir";
	case S_IFIFO: return "fifo";
	case S_IFSOCK: return "sock";
	case S_IFCHR: return "chr";
	case S_IFBLK: return "blk";
	case S_IFLNK: return "lnk";
	default: return "?";
	}
}

/* Prints a node: type, mode, owner, link count, size, device number. */
static void print_node(const struct stat *s)
{
	printf(" %s %04o %s:%s", type_of(s->st_mode), (unsigned)(s->st_mode & 07777),
	       s->st_uid == 0 ? "root" : s->st_uid == act_uid ? "me" : "other",
	       s->st_gid == 0 ? "root" : s->st_gid == act_gid ? "me"
				 : s->st_gid == GROUP_GID ? "group" : "other");
	printf(" nlink=%lu", (unsigned long)s->st_nlink);
	if (S_ISREG(s->st_mode) || S_ISLNK(s->st_mode))
		printf(" size=%lld", (long long)s->st_size);
	if (S_ISCHR(s->st_mode) || S_ISBLK(s->st_mode))
		printf(" dev=%u,%u", major(s->st_rdev), minor(s->st_rdev));
}

/* Prints which of atime (with show_atime), mtime and ctime differ. */
static void print_times(const struct stat *now, const struct stat *was, bool show_atime)
{
	printf(" [%s%s%s]", show_atime && ts_differ(&now->st_atim, &was->st_atim) ? "a" : "",
	       ts_differ(&now->st_mtim, &was->st_mtim) ? "m" : "",
	       ts_differ(&now->st_ctim, &was->st_ctim) ? "c" : "");
}

/* Prints a directory around a case as label[mc] (which times changed),
 * and its link count after it, "label[gone]" if it went. */
static void print_dir(const char *label, bool was, const struct stat *b, bool is,
		      const struct stat *a)
{
	if (!is) {
		printf(" %s[gone]", label);
		return;
	}
	printf(" %s[%s%s]", label, was && ts_differ(&a->st_mtim, &b->st_mtim) ? "m" : "",
	       was && ts_differ(&a->st_ctim, &b->st_ctim) ? "c" : "");
	printf("=%lu", (unsigned long)a->st_nlink);
}

/* Prints the case's line: what, the result, the node named name now and
 * which times changed from before. */
static void report(const char *what, int err, const struct snap *before, const char *name,
		   bool show_atime)
{
	struct snap after;
	take(&after, name);
	printf("%-52s %-12s", what, errname(err));
	if (!after.exists) {
		printf(" gone");
	} else {
		print_node(&after.st);
		if (before->exists &&
		    (after.st.st_mode & S_IFMT) == (before->st.st_mode & S_IFMT))
			print_times(&after.st, &before->st, show_atime);
	}
	print_dir("dir", true, &before->dir, true, &after.dir);
	printf("\n");
	fflush(stdout);
}

/* Lets the clock move on, so that a time set by the operation differs
 * from one set by the setup. Waits until the coarse clock has passed the
 * precise time of the call: a file system stamps with the coarse clock
 * (a jiffy's resolution; Linux's multigrain times never go below it) or
 * a precise one, so every stamp made before the call is at most that
 * time and every stamp made after the wait is above it (golitefs stamps
 * with CLOCK_REALTIME). The coarse clock can lag the precise one by more
 * than a jiffy: a fixed sleep of one jiffy is not enough. */
static void tick(void)
{
	struct timespec t0, c;
	if (clock_gettime(CLOCK_REALTIME, &t0))
		die("clock_gettime");
	do {
		struct timespec ms = { 0, 1000 * 1000 };
		nanosleep(&ms, NULL);
		if (clock_gettime(CLOCK_REALTIME_COARSE, &c))
			die("clock_gettime");
	} while (c.tv_sec < t0.tv_sec || (c.tv_sec == t0.tv_sec && c.tv_nsec <= t0.tv_nsec));
}

typedef int (*op_fn)(const char *p, const void *arg);

/* Runs fn(path of name, arg) as the acting user in a child; returns 0 or
 * the errno. */
static int as_user(op_fn fn, const char *name, const void *arg)
{
	char p[8192];
	path_of(p, sizeof(p), name);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (setgroups(0, NULL) || setgid(act_gid) || setuid(act_uid))
			_exit(200);
		umask(022);
		errno = 0;
		int r = fn(p, arg);
		_exit(r < 0 ? (errno ? errno : 199) : 0);
	}
	int st;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) >= 199)
		die("operation child (status %d)", st);
	return WEXITSTATUS(st);
}

/* ---- operations ---- */

static int op_chmod(const char *p, const void *a) { return chmod(p, *(const mode_t *)a); }
static int op_chown(const char *p, const void *a)
{
	const unsigned *ug = a;
	return lchown(p, ug[0], ug[1]);
}
static int op_truncate(const char *p, const void *a) { return truncate(p, *(const off_t *)a); }
static int op_unlink(const char *p, const void *a) { (void)a; return unlink(p); }
static int op_rmdir(const char *p, const void *a) { (void)a; return rmdir(p); }
static int op_rename(const char *p, const void *a)
{
	char to[8192];
	path_of(to, sizeof(to), a);
	return rename(p, to);
}
static int op_utimens(const char *p, const void *a)
{
	return utimensat(AT_FDCWD, p, (const struct timespec *)a, AT_SYMLINK_NOFOLLOW);
}
static int op_open(const char *p, const void *a)
{
	int fd = open(p, *(const int *)a, 0644);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}
static int op_write(const char *p, const void *a)
{
	(void)a;
	int fd = open(p, O_WRONLY | O_APPEND);
	if (fd < 0)
		return -1;
	int r = write(fd, "abc", 3) == 3 ? 0 : -1;
	int e = errno;
	close(fd);
	errno = e;
	return r;
}
static int op_read(const char *p, const void *a)
{
	(void)a;
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	char buf[16];
	int r = read(fd, buf, sizeof(buf)) >= 0 ? 0 : -1;
	close(fd);
	return r;
}
static int op_mkdir(const char *p, const void *a) { (void)a; return mkdir(p, 0777); }
static int op_mknod_fifo(const char *p, const void *a) { (void)a; return mkfifo(p, 0666); }
static int op_creat(const char *p, const void *a) { (void)a; return op_open(p, &(int){ O_CREAT | O_WRONLY | O_EXCL }); }
static int op_symlink(const char *p, const void *a) { (void)a; return symlink("t", p); }

/* ---- the walk ---- */

/* One case: a directory with mode dmode (group dgid), node t named "x"
 * owned by owner (0 root, 1 the acting user, 2 other) with mode m; then
 * fn on name as the user, and the report about "look". */
static void one(const char *what, mode_t dmode, gid_t dgid, int t, int owner, mode_t m, op_fn fn,
		const char *name, const void *arg, const char *look, bool show_atime)
{
	new_case(dmode, dgid);
	uid_t u = owner == 0 ? 0 : owner == 1 ? act_uid : OTHER_UID;
	gid_t g = owner == 0 ? 0 : owner == 1 ? act_gid : OTHER_GID;
	if (t >= 0)
		make(t, "x", m, u, g);
	struct snap before;
	take(&before, look);
	tick();
	int e = as_user(fn, name, arg);
	report(what, e, &before, look, show_atime);
}

static const char *const owners[3] = { "root's", "own", "other's" };

/* Binds a Unix socket at path (through its directory: paths outrun
 * sun_path); returns the socket or -1. */
static int bind_at(const char *path)
{
	char dir[8192];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	const char *name = path;
	if (slash) {
		*slash = '\0';
		name = slash + 1;
		if (chdir(*dir ? dir : "/"))
			die("chdir %s", dir);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", name);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind %s", path);
	return fd;
}

static int talk(const char *path)
{
	int s = bind_at(path);
	if (listen(s, 1))
		die("listen");
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", strrchr(path, '/') ? strrchr(path, '/') + 1 : path);
	if (c < 0 || connect(c, (struct sockaddr *)&sa, sizeof(sa)))
		die("connect %s", path);
	int a = accept(s, NULL, NULL);
	static const char msg[] = "over the socket";
	char buf[64] = { 0 };
	if (a < 0 || write(c, msg, sizeof(msg) - 1) != (ssize_t)sizeof(msg) - 1 ||
	    read(a, buf, sizeof(buf) - 1) <= 0)
		die("talk over %s", path);
	printf("%s\n", buf);
	return 0;
}

/* ---- hard links ----
 *
 * A link case has the case directory with a directory "d" in it and the
 * case's namesake in the other table ("@"). Root makes "x" (and maybe a
 * second node), gives x the names in links, and the acting user does up
 * to three steps; after each, one line names every name of look with its
 * node, inode (letters: names with the same letter share an inode; the
 * letters run over the names before the step, then after), the times
 * changed since the step began on that inode ([amc]), the bytes and the
 * user.k attribute of a regular file, and the times of the three
 * directories (dir, sub = d, tbl = the other table's). */

#define MAXLOOK 4

struct names {
	int n;
	char name[MAXLOOK][64];
	bool exists[MAXLOOK];
	struct stat st[MAXLOOK];
	bool dexists[3];
	struct stat dir[3];
};

static const char *const dir_label[3] = { "dir", "sub", "tbl" };

/* Stats the names of look (separated by spaces) and the three directories. */
static void take_names(struct names *s, const char *look)
{
	memset(s, 0, sizeof(*s));
	for (const char *q = look; *q;) {
		size_t len = strcspn(q, " ");
		if (s->n == MAXLOOK || len >= sizeof(s->name[0]))
			die("look \"%s\": too many or too long", look);
		memcpy(s->name[s->n], q, len);
		char p[8192];
		path_of(p, sizeof(p), s->name[s->n]);
		s->exists[s->n] = lstat(p, &s->st[s->n]) == 0;
		s->n++;
		q += len;
		q += *q == ' ';
	}
	char d[3][8192];
	snprintf(d[0], sizeof(d[0]), "%s", cdir);
	path_of(d[1], sizeof(d[1]), "d");
	snprintf(d[2], sizeof(d[2]), "%s", tdir);
	for (int i = 0; i < 3; i++)
		s->dexists[i] = lstat(d[i], &s->dir[i]) == 0;
}

/* The letter of inode ino among those of before's names, then after's. */
static char ino_letter(const struct names *before, const struct names *after, ino_t ino)
{
	ino_t seen[2 * MAXLOOK];
	int n = 0;
	const struct names *both[2] = { before, after };
	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < both[k]->n; i++) {
			if (!both[k]->exists[i])
				continue;
			int j = 0;
			while (j < n && seen[j] != both[k]->st[i].st_ino)
				j++;
			if (j == n)
				seen[n++] = both[k]->st[i].st_ino;
			if (seen[j] == ino)
				return (char)('A' + j);
		}
	}
	return '?';
}

/* Prints the bytes (up to 32) and the user.k attribute of a regular file. */
static void print_content(const char *name)
{
	char p[8192], buf[33];
	path_of(p, sizeof(p), name);
	int fd = open(p, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
	if (fd >= 0)
		close(fd);
	if (n < 0)
		printf(" data:%s", errname(errno));
	else
		printf(" data=%.*s", (int)n, buf);
	n = lgetxattr(p, "user.k", buf, sizeof(buf) - 1);
	if (n < 0)
		printf(" user.k:%s", errno == ENODATA ? "none" : errname(errno));
	else
		printf(" user.k=%.*s", (int)n, buf);
}

/* Prints the line of a link case's step (see above). Reads files' bytes
 * only after every name was looked at: a read may change the atime. */
static void report_names(const char *what, int err, const struct names *before,
			 const char *look, bool show_atime)
{
	struct names after;
	take_names(&after, look);
	printf("%-52s %-12s", what, errname(err));
	for (int i = 0; i < after.n; i++) {
		printf(" %s:", after.name[i]);
		if (!after.exists[i]) {
			printf(" gone");
			continue;
		}
		const struct stat *s = &after.st[i];
		print_node(s);
		printf(" ino=%c", ino_letter(before, &after, s->st_ino));
		for (int j = 0; j < before->n; j++) {
			const struct stat *b = &before->st[j];
			if (before->exists[j] && b->st_ino == s->st_ino &&
			    (b->st_mode & S_IFMT) == (s->st_mode & S_IFMT)) {
				print_times(s, b, show_atime);
				break;
			}
		}
		if (S_ISREG(s->st_mode))
			print_content(after.name[i]);
	}
	for (int i = 0; i < 3; i++)
		print_dir(dir_label[i], before->dexists[i], &before->dir[i], after.dexists[i],
			  &after.dir[i]);
	printf("\n");
	fflush(stdout);
}

struct link_arg {
	const char *to;  /* a case's name (see path_of) */
	int flags;       /* linkat's */
	bool at;         /* linkat from and to directory descriptors, else link */
};

/* Opens the directory of path (O_PATH) and points *base at its last name. */
static int open_parent(const char *path, char *dir, size_t cap, const char **name)
{
	snprintf(dir, cap, "%s", path);
	char *slash = strrchr(dir, '/');
	*slash = '\0';
	*name = slash + 1;
	return open(dir, O_PATH | O_DIRECTORY);
}

static int op_link(const char *p, const void *a)
{
	const struct link_arg *l = a;
	char to[8192];
	path_of(to, sizeof(to), l->to);
	if (!l->at)
		return link(p, to);
	char d1[8192], d2[8192];
	const char *n1, *n2;
	int fd1 = open_parent(p, d1, sizeof(d1), &n1);
	int fd2 = open_parent(to, d2, sizeof(d2), &n2);
	if (fd1 < 0 || fd2 < 0)
		return -1;
	return linkat(fd1, n1, fd2, n2, l->flags);
}

struct rename2_arg {
	const char *to;
	unsigned flags;
};

static int op_rename2(const char *p, const void *a)
{
	const struct rename2_arg *r = a;
	char to[8192];
	path_of(to, sizeof(to), r->to);
	return renameat2(AT_FDCWD, p, AT_FDCWD, to, r->flags);
}

struct step {
	op_fn fn;
	const char *name;  /* the path fn gets */
	const void *arg;
};

struct link_case {
	const char *what;
	int t;              /* x's type; -1: no x */
	int owner;          /* x's owner: 0 root, 1 the acting user, 2 somebody else */
	mode_t mode;        /* x's mode */
	const char *links;  /* names root gives x first, separated by spaces */
	int t2;             /* the type of a node name2 of the acting user; -1: none */
	const char *name2;
	mode_t dmode;       /* d's mode; 0 for 0777 */
	struct step step[3];
	const char *look;   /* the names reported, separated by spaces */
};

/* Runs a link case: a line per step ("what", or "what: n" when several). */
static void link_case(const struct link_case *c)
{
	new_case(0777, 0);
	char p[8192], q[8192];
	path_of(p, sizeof(p), "d");
	if (mkdir(p, 0700) || chmod(p, c->dmode ? c->dmode : 0777) || mkdir(tdir, 0700) ||
	    chmod(tdir, 0777))
		die("mkdir %s, %s", p, tdir);
	if (c->t >= 0) {
		uid_t u = c->owner == 0 ? 0 : c->owner == 1 ? act_uid : OTHER_UID;
		gid_t g = c->owner == 0 ? 0 : c->owner == 1 ? act_gid : OTHER_GID;
		make(c->t, "x", c->mode, u, g);
		path_of(p, sizeof(p), "x");
		if (c->t == T_REG && lsetxattr(p, "user.k", "v", 1, 0))
			die("setxattr %s", p);
	}
	if (c->t2 >= 0)
		make(c->t2, c->name2, c->t2 == T_DIR ? 0755 : 0644, act_uid, act_gid);
	path_of(p, sizeof(p), "x");
	for (const char *l = c->links ? c->links : ""; *l;) {
		char name[64];
		size_t len = strcspn(l, " ");
		snprintf(name, sizeof(name), "%.*s", (int)len, l);
		path_of(q, sizeof(q), name);
		if (link(p, q))
			die("link %s %s", p, q);
		l += len;
		l += *l == ' ';
	}
	int nsteps = 0;
	while (nsteps < 3 && c->step[nsteps].fn)
		nsteps++;
	for (int i = 0; i < nsteps; i++) {
		struct names before;
		take_names(&before, c->look);
		tick();
		int e = as_user(c->step[i].fn, c->step[i].name, c->step[i].arg);
		char what[256];
		snprintf(what, sizeof(what), nsteps > 1 ? "%s: %d" : "%s", c->what, i + 1);
		/* A step that follows a symlink reads it: no atimes, as
		 * golitefs does not stamp reads (fs/README-fs.md). */
		bool follows = c->step[i].fn == op_link &&
			       (((const struct link_arg *)c->step[i].arg)->flags & AT_SYMLINK_FOLLOW);
		report_names(what, e, &before, c->look, !follows);
	}
}

/* The places of a second name: beside x, in another directory, in
 * another table. */
static const char *const places[3] = { "y", "d/y", "@y" };
static const char *const zplaces[3] = { "z", "d/z", "@z" };
static const char *const wplaces[3] = { "w", "d/w", "@w" };
static const char *const place_says[3] = { "beside it", "into another dir", "into another table" };
static const struct link_arg link_to[3] = { { "y", 0, false }, { "d/y", 0, true }, { "@y", 0, true } };

static void link_walk(void)
{
	char w[256], look[64];
	static const int ltypes[] = { T_REG, T_LNK, T_FIFO, T_SOCK, T_CHR, T_BLK };
	const int nl = sizeof(ltypes) / sizeof(ltypes[0]);
#define L(...) (snprintf(w, sizeof(w), __VA_ARGS__), w)
#define LOOK(...) (snprintf(look, sizeof(look), __VA_ARGS__), look)

	/* link(2) and linkat(2) of every type, by every owner, to every
	 * place; modes that fs.protected_hardlinks tells apart. */
	for (int k = 0; k < nl; k++) {
		int t = ltypes[k];
		for (int o = 0; o < 3; o++) {
			if (o == 0 && act_uid == 0)
				continue;
			for (int pl = 0; pl < 3; pl++)
				link_case(&(struct link_case){
					L("link %s %s %s", owners[o], tname[t], place_says[pl]), t, o,
					0644, NULL, -1, NULL, 0,
					{ { op_link, "x", &link_to[pl] } }, LOOK("x %s", places[pl]) });
			static const mode_t reg_modes[] = { 0600, 0666, 04666, 02666, 02676 };
			static const mode_t other_modes[] = { 0666 };
			const mode_t *modes = t == T_REG ? reg_modes : other_modes;
			int nm = t == T_REG ? 5 : 1;
			for (int i = 0; i < nm && t != T_LNK; i++)
				link_case(&(struct link_case){
					L("link %s %s %04o beside it", owners[o], tname[t], modes[i]), t,
					o, modes[i], NULL, -1, NULL, 0, { { op_link, "x", &link_to[0] } },
					"x y" });
		}
	}
	for (int o = 0; o < 3; o++) {
		if (o == 0 && act_uid == 0)
			continue;
		link_case(&(struct link_case){ L("link %s dir", owners[o]), T_DIR, o, 0755, NULL, -1,
					       NULL, 0, { { op_link, "x", &link_to[0] } }, "x y" });
	}
	/* Over an existing name, of every type, and over itself. */
	for (int t2 = 0; t2 < NTYPES; t2++)
		link_case(&(struct link_case){ L("link own reg over own %s", tname[t2]), T_REG, 1,
					       0644, NULL, t2, "y", 0,
					       { { op_link, "x", &link_to[0] } }, "x y" });
	link_case(&(struct link_case){ "link own reg over itself", T_REG, 1, 0644, NULL, -1, NULL,
				       0, { { op_link, "x", &(struct link_arg){ "x", 0, false } } },
				       "x" });
	link_case(&(struct link_case){ "link own reg over its other name", T_REG, 1, 0644, "y", -1,
				       NULL, 0, { { op_link, "x", &link_to[0] } }, "x y" });
	/* What fails on the way. */
	link_case(&(struct link_case){ "link a missing name", -1, 1, 0, NULL, -1, NULL, 0,
				       { { op_link, "x", &link_to[0] } }, "x y" });
	link_case(&(struct link_case){ "link own reg into a dir 0555", T_REG, 1, 0644, NULL, -1,
				       NULL, 0555, { { op_link, "x", &link_to[1] } }, "x d/y" });
	link_case(&(struct link_case){ "link own reg into a missing dir", T_REG, 1, 0644, NULL, -1,
				       NULL, 0,
				       { { op_link, "x", &(struct link_arg){ "q/y", 0, false } } },
				       "x" });
	link_case(&(struct link_case){ "link own reg under a reg", T_REG, 1, 0644, NULL, T_REG,
				       "f", 0,
				       { { op_link, "x", &(struct link_arg){ "f/y", 0, false } } },
				       "x f" });
	{
		static char longname[300];
		memset(longname, 'n', 256);
		longname[256] = '\0';
		link_case(&(struct link_case){
			"link own reg to a 256-byte name", T_REG, 1, 0644, NULL, -1, NULL, 0,
			{ { op_link, "x", &(struct link_arg){ longname, 0, false } } }, "x" });
	}
	link_case(&(struct link_case){ "link own reg into a sticky dir", T_REG, 1, 0644, NULL, -1,
				       NULL, 01777, { { op_link, "x", &link_to[1] } }, "x d/y" });
	/* The symlink itself, or with AT_SYMLINK_FOLLOW what it names. */
	for (int o = 0; o < 3; o++) {
		if (o == 0 && act_uid == 0)
			continue;
		link_case(&(struct link_case){
			L("linkat FOLLOW %s lnk to own reg", owners[o]), T_LNK, o, 0644, NULL, T_REG,
			"target-of-link", 0,
			{ { op_link, "x", &(struct link_arg){ "@y", AT_SYMLINK_FOLLOW, true } } },
			"x @y target-of-link" });
	}

	/* Unlinking one name leaves the other whole, with one link less. */
	for (int k = 0; k < nl; k++) {
		int t = ltypes[k];
		for (int pl = 0; pl < 3; pl++) {
			link_case(&(struct link_case){
				L("unlink own %s linked %s: the first", tname[t], place_says[pl]), t, 1,
				0640, places[pl], -1, NULL, 0, { { op_unlink, "x", NULL } },
				LOOK("x %s", places[pl]) });
			link_case(&(struct link_case){
				L("unlink own %s linked %s: the new", tname[t], place_says[pl]), t, 1,
				0640, places[pl], -1, NULL, 0, { { op_unlink, places[pl], NULL } },
				LOOK("x %s", places[pl]) });
		}
	}
	/* A write, and changes of attributes, through one name seen through
	 * the other. */
	for (int pl = 0; pl < 3; pl++) {
		link_case(&(struct link_case){ L("write through a name %s", place_says[pl]), T_REG, 1,
					       0644, places[pl], -1, NULL, 0,
					       { { op_write, places[pl], NULL } },
					       LOOK("x %s", places[pl]) });
		link_case(&(struct link_case){ L("truncate through a name %s", place_says[pl]), T_REG,
					       1, 0644, places[pl], -1, NULL, 0,
					       { { op_truncate, places[pl], &(off_t){ 2 } } },
					       LOOK("x %s", places[pl]) });
	}
	for (int k = 0; k < nl; k++) {
		int t = ltypes[k];
		struct timespec set2[2] = { { 1000000000, 5 }, { 1000000000, 7 } };
		struct timespec now2[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
		for (int pl = 0; pl < 3 && t != T_LNK; pl++)
			link_case(&(struct link_case){
				L("chmod 0600 own %s through a name %s", tname[t], place_says[pl]), t,
				1, 0644, places[pl], -1, NULL, 0,
				{ { op_chmod, places[pl], &(mode_t){ 0600 } } },
				LOOK("x %s", places[pl]) });
		link_case(&(struct link_case){ L("chown me:me own %s through another", tname[t]), t, 1,
					       0644, "@y", -1, NULL, 0,
					       { { op_chown, "@y", (unsigned[]){ act_uid, act_gid } } },
					       "x @y" });
		link_case(&(struct link_case){ L("utimensat set own %s through another", tname[t]), t,
					       1, 0644, "@y", -1, NULL, 0,
					       { { op_utimens, "@y", set2 } }, "x @y" });
		link_case(&(struct link_case){ L("utimensat NOW own %s through another", tname[t]), t,
					       1, 0644, "@y", -1, NULL, 0,
					       { { op_utimens, "@y", now2 } }, "x @y" });
	}

	/* Renames: over a name of an inode with other names, of such a name
	 * over another file, onto another name of the same inode (nothing
	 * happens), across directories and tables, of a directory holding a
	 * name. */
	for (int k = 0; k < nl; k++) {
		int t = ltypes[k];
		for (int pl = 0; pl < 3; pl++)
			link_case(&(struct link_case){
				L("rename own reg over own %s linked %s", tname[t], place_says[pl]), t,
				1, 0644, zplaces[pl], T_REG, "y", 0, { { op_rename, "y", "x" } },
				LOOK("x %s y", zplaces[pl]) });
		link_case(&(struct link_case){ L("rename own %s linked over own reg", tname[t]), t, 1,
					       0644, "@z", T_REG, "y", 0, { { op_rename, "x", "y" } },
					       "x @z y" });
		for (int pl = 0; pl < 3; pl++)
			link_case(&(struct link_case){
				L("rename own %s onto its name %s", tname[t], place_says[pl]), t, 1,
				0644, places[pl], -1, NULL, 0, { { op_rename, "x", places[pl] } },
				LOOK("x %s", places[pl]) });
		for (int pl = 1; pl < 3; pl++)
			link_case(&(struct link_case){
				L("rename own %s's 2nd name %s", tname[t], place_says[pl]), t, 1,
				0644, "y", -1, NULL, 0, { { op_rename, "y", wplaces[pl] } },
				LOOK("x y %s", wplaces[pl]) });
	}
	link_case(&(struct link_case){ "renameat2 NOREPLACE onto its other name", T_REG, 1, 0644,
				       "y", -1, NULL, 0,
				       { { op_rename2, "x",
					   &(struct rename2_arg){ "y", RENAME_NOREPLACE } } },
				       "x y" });
	link_case(&(struct link_case){ "renameat2 EXCHANGE with its other name", T_REG, 1, 0644,
				       "@y", -1, NULL, 0,
				       { { op_rename2, "x",
					   &(struct rename2_arg){ "@y", RENAME_EXCHANGE } } },
				       "x @y" });
	link_case(&(struct link_case){ "renameat2 EXCHANGE with another reg", T_REG, 1, 0644, "d/z",
				       T_REG, "@y", 0,
				       { { op_rename2, "x",
					   &(struct rename2_arg){ "@y", RENAME_EXCHANGE } } },
				       "x d/z @y" });
	for (int k = 0; k < 2; k++) {
		int t = k ? T_FIFO : T_REG;
		link_case(&(struct link_case){ L("rename the dir of a %s's name", tname[t]), t, 1, 0644,
					       "d/y", -1, NULL, 0, { { op_rename, "d", "e" } },
					       "x d/y e/y" });
		link_case(&(struct link_case){ L("rename the dir of a %s's name to another table",
						 tname[t]),
					       t, 1, 0644, "d/y", -1, NULL, 0,
					       { { op_rename, "d", "@e" } }, "x d/y @e/y" });
	}

	/* Three names lost one by one. */
	for (int k = 0; k < nl; k++) {
		int t = ltypes[k];
		link_case(&(struct link_case){ L("unlink the three names of own %s", tname[t]), t, 1,
					       0644, "d/y @z", -1, NULL, 0,
					       { { op_unlink, "x", NULL },
						 { op_unlink, "d/y", NULL },
						 { op_unlink, "@z", NULL } },
					       "x d/y @z" });
	}

	/* Directories' link counts. */
	link_case(&(struct link_case){ "mkdir in a dir", -1, 1, 0, NULL, -1, NULL, 0,
				       { { op_mkdir, "d/n", NULL }, { op_mkdir, "@n", NULL } },
				       "d d/n @n" });
	link_case(&(struct link_case){ "rmdir a dir", -1, 1, 0, NULL, -1, NULL, 0,
				       { { op_rmdir, "d", NULL } }, "d" });
	link_case(&(struct link_case){ "rename a dir beside it", -1, 1, 0, NULL, -1, NULL, 0,
				       { { op_rename, "d", "e" } }, "d e" });
	link_case(&(struct link_case){ "rename a dir into another table", -1, 1, 0, NULL, -1, NULL,
				       0, { { op_rename, "d", "@e" } }, "d @e" });
	link_case(&(struct link_case){ "rename a dir over an empty dir", -1, 1, 0, NULL, T_DIR,
				       "e", 0, { { op_rename, "d", "e" } }, "d e" });
	link_case(&(struct link_case){ "rename a dir over one in another table", -1, 1, 0, NULL,
				       T_DIR, "@e", 0, { { op_rename, "d", "@e" } }, "d @e" });
	link_case(&(struct link_case){ "rename a dir into a dir in another table", -1, 1, 0, NULL,
				       T_DIR, "@e", 0, { { op_rename, "d", "@e/d" } },
				       "d @e @e/d" });
#undef L
#undef LOOK
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--bind") == 0) {
		close(bind_at(argv[2]));
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--talk") == 0)
		return talk(argv[2]);
	if (argc != 5) {
		fprintf(stderr, "usage: posix DIR OTHER UID GID | --bind PATH | --talk PATH\n");
		return 2;
	}
	base = argv[1];
	other = argv[2];
	act_uid = (uid_t)atoi(argv[3]);
	act_gid = (gid_t)atoi(argv[4]);
	if (geteuid() != 0) {
		fprintf(stderr, "posix: must run as root (it sets up as root and acts as UID)\n");
		return 2;
	}
	umask(0);
	char w[256];

	for (int t = 0; t < NTYPES; t++) {
		for (int o = 0; o < 3; o++) {
			if (o == 0 && act_uid == 0)
				continue; /* root's is own */
			mode_t m = t == T_DIR ? 0755 : 0644;
			const char *on = owners[o];
#define W(...) (snprintf(w, sizeof(w), __VA_ARGS__), w)
			if (t != T_LNK)
				one(W("chmod 0600 %s %s", on, tname[t]), 0777, 0, t, o, m, op_chmod, "x",
				    &(mode_t){ 0600 }, "x", false);
			one(W("chown me:me %s %s", on, tname[t]), 0777, 0, t, o, m, op_chown, "x",
			    (unsigned[]){ act_uid, act_gid }, "x", false);
			one(W("chown other:other %s %s", on, tname[t]), 0777, 0, t, o, m, op_chown,
			    "x", (unsigned[]){ OTHER_UID, OTHER_GID }, "x", false);
			one(W("chown -1:group %s %s", on, tname[t]), 0777, 0, t, o, m, op_chown, "x",
			    (unsigned[]){ (unsigned)-1, GROUP_GID }, "x", false);
			struct timespec now2[2] = { { 0, UTIME_NOW }, { 0, UTIME_NOW } };
			struct timespec omit2[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
			struct timespec set2[2] = { { 1000000000, 5 }, { 1000000000, 7 } };
			struct timespec mix[2] = { { 0, UTIME_OMIT }, { 1000000000, 9 } };
			one(W("utimensat NOW,NOW %s %s", on, tname[t]), 0777, 0, t, o, m, op_utimens,
			    "x", now2, "x", true);
			one(W("utimensat OMIT,OMIT %s %s", on, tname[t]), 0777, 0, t, o, m,
			    op_utimens, "x", omit2, "x", true);
			one(W("utimensat set,set %s %s", on, tname[t]), 0777, 0, t, o, m, op_utimens,
			    "x", set2, "x", true);
			one(W("utimensat OMIT,set %s %s", on, tname[t]), 0777, 0, t, o, m,
			    op_utimens, "x", mix, "x", true);
			if (t != T_LNK) {
				one(W("truncate 2 %s %s", on, tname[t]), 0777, 0, t, o, 0666, op_truncate,
				    "x", &(off_t){ 2 }, "x", false);
			}
			one(W("unlink %s %s", on, tname[t]), 0777, 0, t, o, m, op_unlink, "x", NULL,
			    "x", false);
			one(W("unlink %s %s in sticky dir", on, tname[t]), 01777, 0, t, o, m,
			    op_unlink, "x", NULL, "x", false);
			one(W("rmdir %s %s", on, tname[t]), 0777, 0, t, o, m, op_rmdir, "x", NULL, "x",
			    false);
			one(W("rename %s %s to new name", on, tname[t]), 0777, 0, t, o, m, op_rename,
			    "x", "y", "y", false);
			one(W("rename %s %s in sticky dir", on, tname[t]), 01777, 0, t, o, m,
			    op_rename, "x", "y", "y", false);
			one(W("mkdir over %s %s", on, tname[t]), 0777, 0, t, o, m, op_mkdir, "x", NULL,
			    "x", false);
			one(W("mkfifo over %s %s", on, tname[t]), 0777, 0, t, o, m, op_mknod_fifo, "x",
			    NULL, "x", false);
			one(W("symlink over %s %s", on, tname[t]), 0777, 0, t, o, m, op_symlink, "x",
			    NULL, "x", false);
			one(W("create under %s %s", on, tname[t]), 0777, 0, t, o, 0777, op_creat,
			    "x/z", NULL, "x", false);
			static const struct {
				const char *name;
				int flags;
			} opens[] = {
				{ "O_RDONLY|O_NONBLOCK", O_RDONLY | O_NONBLOCK },
				{ "O_WRONLY|O_NONBLOCK", O_WRONLY | O_NONBLOCK },
				{ "O_RDWR|O_NONBLOCK", O_RDWR | O_NONBLOCK },
				{ "O_CREAT|O_EXCL", O_CREAT | O_EXCL | O_WRONLY },
				{ "O_DIRECTORY", O_RDONLY | O_DIRECTORY },
				{ "O_NOFOLLOW|O_NONBLOCK", O_RDONLY | O_NOFOLLOW | O_NONBLOCK },
				{ "O_WRONLY|O_TRUNC|O_NONBLOCK", O_WRONLY | O_TRUNC | O_NONBLOCK },
			};
			for (size_t i = 0; i < sizeof(opens) / sizeof(opens[0]); i++)
				one(W("open %s %s %s", opens[i].name, on, tname[t]), 0777, 0, t, o,
				    t == T_DIR ? 0777 : 0666, op_open, "x", &opens[i].flags, "x",
				    false);
			if (t == T_REG) {
				one(W("write to suid+sgid %s reg", on), 0777, 0, t, o, 06777, op_write,
				    "x", NULL, "x", false);
				one(W("read %s reg", on), 0777, 0, t, o, 0644, op_read, "x", NULL, "x",
				    false);
				one(W("truncate suid+sgid %s reg", on), 0777, 0, t, o, 06777,
				    op_truncate, "x", &(off_t){ 1 }, "x", false);
				one(W("chown me:me suid+sgid %s reg", on), 0777, 0, t, o, 06755,
				    op_chown, "x", (unsigned[]){ act_uid, act_gid }, "x", false);
				one(W("chmod g+s by owner not in group %s reg", on), 0777, 0, t, o,
				    0644, op_chmod, "x", &(mode_t){ 02644 }, "x", false);
			}
			/* rename over every type of target */
			for (int t2 = 0; t2 < NTYPES; t2++) {
				new_case(0777, 0);
				uid_t u = o == 0 ? 0 : o == 1 ? act_uid : OTHER_UID;
				gid_t g = o == 0 ? 0 : o == 1 ? act_gid : OTHER_GID;
				make(t, "x", m, u, g);
				make(t2, "y", t2 == T_DIR ? 0755 : 0644, act_uid, act_gid);
				struct snap before;
				take(&before, "x");
				tick();
				int e = as_user(op_rename, "x", "y");
				report(W("rename %s %s over own %s", on, tname[t], tname[t2]), e, &before,
				       "y", false);
			}
		}
	}

	/* A setgid directory passes its group on, and the bit to directories. */
	for (int i = 0; i < 3; i++) {
		op_fn fns[3] = { op_creat, op_mkdir, op_mknod_fifo };
		const char *names[3] = { "file", "dir", "fifo" };
		new_case(02777, GROUP_GID);
		struct snap before;
		take(&before, "n");
		tick();
		int e = as_user(fns[i], "n", NULL);
		report(W("new %s in setgid dir", names[i]), e, &before, "n", false);
	}
	/* Names and paths too long, components that are not directories, and
	 * symlink loops. */
	{
		char name[300];
		memset(name, 'n', 256);
		name[256] = '\0';
		one("create a 256-byte name", 0777, 0, -1, 1, 0, op_creat, name, NULL, name, false);
		name[255] = '\0';
		one("create a 255-byte name", 0777, 0, -1, 1, 0, op_creat, name, NULL, name, false);
		char longp[5000];
		size_t k = 0;
		while (k < 4200) {
			memcpy(longp + k, "d/", 2);
			k += 2;
		}
		longp[k - 1] = '\0';
		one("create with a path over PATH_MAX", 0777, 0, -1, 1, 0, op_creat, longp, NULL,
		    "d", false);
		new_case(0777, 0);
		char a[8192], b[8192];
		path_of(a, sizeof(a), "loop1");
		path_of(b, sizeof(b), "loop2");
		if (symlink("loop2", a) || symlink("loop1", b))
			die("symlink loop");
		struct snap before;
		take(&before, "loop1");
		int e = as_user(op_open, "loop1", &(int){ O_RDONLY });
		report("open a symlink loop", e, &before, "loop1", false);
		e = as_user(op_creat, "loop1/x", NULL);
		report("create under a symlink loop", e, &before, "loop1", false);
	}
	link_walk();
	return 0;
}
