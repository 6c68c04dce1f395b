/*
 * posix.c — a conformance walk of one directory: for every node type
 * (regular file, directory, FIFO, socket, character and block device,
 * symlink) every operation that applies, done by a given user, and one
 * line per case of what came of it: the result or errno, the node's type
 * and mode, owner, link count (not of directories), size (of regular
 * files), device number, and which of mtime and ctime changed on the node
 * and on its directory (atime too for utimensat).
 *
 *   posix DIR UID GID      (run as root; DIR empty, on the file system
 *                           under test)
 *   posix --bind PATH      makes a Unix socket file at PATH
 *   posix --talk PATH      binds a Unix socket at PATH, connects to it,
 *                          sends a line through and prints what came
 *
 * Every case gets a directory of its own under DIR, made by root; root
 * sets the case up, a child process takes UID and GID (and no other
 * groups) and does the operation, and root looks at the result. The
 * lines hold nothing that depends on the file system (no inode numbers,
 * no times): tests/fs/test_posix.sh runs this on golitefs and on a kernel
 * file system and requires the two outputs to be the same, line for line.
 *
 * Not walked: hard links (golitefs refuses link(2) with EPERM) and
 * directories' link counts (golitefs gives 1).
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
#include <time.h>
#include <unistd.h>

enum { T_REG, T_DIR, T_FIFO, T_SOCK, T_CHR, T_BLK, T_LNK, NTYPES };
static const char *const tname[NTYPES] = { "reg", "dir", "fifo", "sock", "chr", "blk", "lnk" };

/* Owners of what root sets up: the acting user, or somebody else. */
#define OTHER_UID 4242
#define OTHER_GID 4343
#define GROUP_GID 4444

static const char *base;
static uid_t act_uid;
static gid_t act_gid;
static int ncase;
static char cdir[4096];  /* the current case's directory */

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

static void path_of(char *out, size_t cap, const char *name)
{
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
		const struct stat *s = &after.st;
		printf(" %s %04o %s:%s", type_of(s->st_mode), (unsigned)(s->st_mode & 07777),
		       s->st_uid == 0 ? "root" : s->st_uid == act_uid ? "me" : "other",
		       s->st_gid == 0 ? "root" : s->st_gid == act_gid ? "me"
					 : s->st_gid == GROUP_GID ? "group" : "other");
		if (!S_ISDIR(s->st_mode))
			printf(" nlink=%lu", (unsigned long)s->st_nlink);
		if (S_ISREG(s->st_mode) || S_ISLNK(s->st_mode))
			printf(" size=%lld", (long long)s->st_size);
		if (S_ISCHR(s->st_mode) || S_ISBLK(s->st_mode))
			printf(" dev=%u,%u", major(s->st_rdev), minor(s->st_rdev));
		if (before->exists && (s->st_mode & S_IFMT) == (before->st.st_mode & S_IFMT)) {
			printf(" [%s%s%s]",
			       show_atime && ts_differ(&s->st_atim, &before->st.st_atim) ? "a" : "",
			       ts_differ(&s->st_mtim, &before->st.st_mtim) ? "m" : "",
			       ts_differ(&s->st_ctim, &before->st.st_ctim) ? "c" : "");
		}
	}
	printf(" dir[%s%s]\n", ts_differ(&after.dir.st_mtim, &before->dir.st_mtim) ? "m" : "",
	       ts_differ(&after.dir.st_ctim, &before->dir.st_ctim) ? "c" : "");
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
	snprintf(to, sizeof(to), "%s/%s", cdir, (const char *)a);
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

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--bind") == 0) {
		close(bind_at(argv[2]));
		return 0;
	}
	if (argc == 3 && strcmp(argv[1], "--talk") == 0)
		return talk(argv[2]);
	if (argc != 4) {
		fprintf(stderr, "usage: posix DIR UID GID | --bind PATH | --talk PATH\n");
		return 2;
	}
	base = argv[1];
	act_uid = (uid_t)atoi(argv[2]);
	act_gid = (gid_t)atoi(argv[3]);
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
	return 0;
}
