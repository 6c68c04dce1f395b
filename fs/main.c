/*
 * main.c — golitefs: start-up, the FUSE session and shutdown (the command
 * line and its options are options.c's).
 *
 * Without -f the daemon detaches, but only once the store is open and the
 * mount is made: until then errors (a missing mountpoint, no /dev/fuse, a
 * data directory held by another process, a damaged store) are printed on
 * the terminal and the command exits with status 1.
 *
 * Shutdown (fusermount3 -u, umount, SIGTERM, SIGINT, SIGHUP): the session
 * loop ends and its threads are joined, the background thread stops, the
 * files' sizes and times still in memory are written, the clean-unmount
 * marker is set, and golite_close() writes and syncs the log, stops the
 * engine's threads, waits for RCU callbacks and unlocks the directory.
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "create.h"
#include "hardlink.h"
#include "kio.h"
#include "lookup.h"
#include "netglue.h"
#include "options.h"
#include "portfs.h"
#include "persist.h"
#include "progress.h"
#include "readdir.h"
#include "remove.h"
#include "util.h"

#define GOLITEFS_VERSION "1.0.0"

/* Makes path absolute (the daemon changes to "/" once detached). */
static char *absolute(const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	char cwd[PATH_MAX];
	if (!getcwd(cwd, sizeof(cwd)))
		return xstrdup(path);
	return xasprintf("%s/%s", cwd, path);
}

/* ---- daemonizing ---- */

static int ready_fd = -1;

/*
 * Forks: the parent waits until the child reports that the mount is made
 * (exit 0) or exits itself (its status is passed on). The child continues
 * in a new session.
 */
static void detach_start(void)
{
	int p[2];
	if (pipe(p) < 0) {
		perror("golitefs: pipe");
		exit(1);
	}
	pid_t pid = fork();
	if (pid < 0) {
		perror("golitefs: fork");
		exit(1);
	}
	if (pid > 0) {
		close(p[1]);
		char c;
		ssize_t n;
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			_exit(0);
		int status = 0;
		waitpid(pid, &status, 0);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
	}
	close(p[0]);
	ready_fd = p[1];
	setsid();
}

/* Tells the parent the mount is made, and drops the terminal. */
static void detach_finish(void)
{
	if (ready_fd < 0)
		return;
	if (chdir("/") < 0)
		gfs_log(LOG_LVL_WARN, "chdir /: %s", strerror(errno));
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	gfs_log_daemonized();
	char c = 0;
	if (write(ready_fd, &c, 1) < 0)
		gfs_log(LOG_LVL_WARN, "cannot report start-up: %s", strerror(errno));
	close(ready_fd);
	ready_fd = -1;
}

/* ---- the session ---- */

static void gfs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct gfs *fs = userdata;
	unsigned want = (fs->o.writeback_cache ? FUSE_CAP_WRITEBACK_CACHE : 0) |
			FUSE_CAP_ATOMIC_O_TRUNC |
			FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO |
			FUSE_CAP_PARALLEL_DIROPS | FUSE_CAP_ASYNC_READ | FUSE_CAP_ASYNC_DIO |
			FUSE_CAP_CACHE_SYMLINKS |
			FUSE_CAP_EXPORT_SUPPORT;  /* file handles, NFS (export.c) */
	conn->want |= want & conn->capable;
	/* Every change comes through this daemon: what the kernel caches
	 * stays true, so it need not drop pages when times change. The kernel
	 * clears set-user-ID bits itself (we do not take that over). */
	conn->want &= ~(unsigned)(FUSE_CAP_AUTO_INVAL_DATA | FUSE_CAP_HANDLE_KILLPRIV);
	fs->kernel_times = (conn->want & FUSE_CAP_WRITEBACK_CACHE) != 0;
	conn->max_write = GFS_MAX_IO;
	/* Sequential reads in requests of up to 1 MiB (the kernel caps it). */
	conn->max_readahead = GFS_MAX_IO;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
	conn->time_gran = 1;
}

static const struct fuse_lowlevel_ops gfs_ops = {
	.init = gfs_init,
	.lookup = gfs_lookup,
	.forget = gfs_forget,
	.forget_multi = gfs_forget_multi,
	.getattr = gfs_getattr,
	.setattr = gfs_setattr,
	.readlink = gfs_readlink,
	.mknod = gfs_mknod,
	.mkdir = gfs_mkdir,
	.unlink = gfs_unlink,
	.rmdir = gfs_rmdir,
	.symlink = gfs_symlink,
	.rename = gfs_rename,
	.link = gfs_link,
	.open = gfs_open,
	.read = gfs_read,
	.write = gfs_write,
	.flush = gfs_flush,
	.release = gfs_release,
	.fsync = gfs_fsync,
	.opendir = gfs_opendir,
	.readdir = gfs_readdir,
	.readdirplus = gfs_readdirplus,
	.releasedir = gfs_releasedir,
	.fsyncdir = gfs_fsyncdir,
	.statfs = gfs_statfs,
	.setxattr = gfs_setxattr,
	.getxattr = gfs_getxattr,
	.listxattr = gfs_listxattr,
	.removexattr = gfs_removexattr,
	.access = gfs_access,
	.create = gfs_create,
	.fallocate = gfs_fallocate,
};

/* True if /proc/mounts shows a golitefs mount of datadir. */
static bool datadir_mounted(const char *datadir)
{
	FILE *f = fopen("/proc/mounts", "r");
	if (!f)
		return true;
	char line[PATH_MAX * 2 + 256], want[PATH_MAX + 16];
	snprintf(want, sizeof(want), "golite:%s", datadir);
	bool found = false;
	while (!found && fgets(line, sizeof(line), f)) {
		char src[PATH_MAX + 16], type[64];
		if (sscanf(line, "%4111s %*s %63s", src, type) != 2)
			continue;
		/* Spaces, tabs and backslashes show as octal escapes. */
		char *o = src;
		for (const char *p = src; *p; p++) {
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
			    p[3] >= '0' && p[3] <= '7') {
				*o++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
				p += 3;
			} else {
				*o++ = *p;
			}
		}
		*o = '\0';
		found = strcmp(type, "fuse.golitefs") == 0 && strcmp(src, want) == 0;
	}
	fclose(f);
	return found;
}

/*
 * True if the store's lock is held by a golitefs daemon that no longer
 * serves a mount of it: one that is still closing after an unmount.
 */
static bool holder_is_closing(const char *datadir)
{
	char path[PATH_MAX + 16], buf[64] = "";
	snprintf(path, sizeof(path), "%s/LOCK", datadir);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	int pid = 0;
	if (fscanf(f, "%d", &pid) != 1)
		pid = 0;
	fclose(f);
	if (pid <= 0 || pid == getpid())
		return false;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return strcmp(buf, "golitefs") == 0 && !datadir_mounted(datadir);
}

/* Opens the store, with the message a user needs when it fails. A daemon
 * still closing the store after an unmount is waited for (10 s at most);
 * any other holder is an error at once. */
static int open_store(struct gfs *fs, enum gfs_loglevel level)
{
	golite_options go;
	golite_options_init(&go);
	go.durability = fs->o.durability;
	go.sync_interval_ms = fs->o.sync_interval_ms;
	if (fs->o.memtable_size)
		go.memtable_size = fs->o.memtable_size;
	if (fs->o.separate_values_from)
		go.separate_values_from = fs->o.separate_values_from;
	if (fs->o.cache_size)
		go.block_cache_size = fs->o.cache_size;
	if (fs->o.compaction_threads >= 0)
		go.compaction_threads = (uint32_t)fs->o.compaction_threads;
	go.read_only = fs->o.read_only;
	go.max_size = fs->o.max_size;
	go.feed_events = MAX(fs->o.events_buffer, netglue_events_buffer());
	go.create_if_missing = !fs->o.read_only;
	go.log = gfs_engine_log;
	go.log_level = level == LOG_LVL_DEBUG ? GOLITE_LOG_DEBUG
		       : level == LOG_LVL_INFO ? GOLITE_LOG_INFO
		       : level == LOG_LVL_WARN ? GOLITE_LOG_WARN : GOLITE_LOG_ERROR;
	/* Replaying a large log takes a while: show it on the terminal the
	 * mount was started from (the daemon has not detached yet). */
	progress_prefix("golitefs");
	go.progress = progress_report;
	int r = golite_open(fs->datadir, &go, &fs->db);
	for (int tries = 0; r == GOLITE_ELOCKED && tries < 100 && holder_is_closing(fs->datadir);
	     tries++) {
		usleep(100000);
		r = golite_open(fs->datadir, &go, &fs->db);
	}
	if (r == GOLITE_ENOSPC && !fs->o.read_only) {
		/* No room even for a log segment, and no reserve left: the
		 * files are still there to read. */
		fprintf(stderr, "golitefs: no space to write in %s (%s); mounting read-only: "
			"free space on its file system, then mount again to write\n",
			fs->datadir, golite_last_error());
		fs->o.read_only = true;
		go.read_only = true;
		go.create_if_missing = false;
		r = golite_open(fs->datadir, &go, &fs->db);
	}
	progress_end();
	if (r == 0)
		return 0;
	const char *detail = golite_last_error();
	switch (r) {
	case GOLITE_ELOCKED:
		fprintf(stderr, "golitefs: %s (is it mounted already?)\n", detail);
		break;
	case GOLITE_ECORRUPT:
		fprintf(stderr, "golitefs: the store in %s is damaged: %s\n"
			"golitefs: nothing was changed; check it with: golite check %s\n",
			fs->datadir, detail, fs->datadir);
		break;
	case GOLITE_EVERSION:
		fprintf(stderr, "golitefs: %s\n", detail);
		break;
	default:
		fprintf(stderr, "golitefs: cannot open the store in %s: %s (%s)\n", fs->datadir,
			golite_strerror(r), detail);
		break;
	}
	return -1;
}

static int fs_setup(struct gfs *fs)
{
	fs->uid = getuid();
	fs->gid = getgid();
	fs->mount_ns = wall_ns();
	ns_init(&fs->ns);
	nodes_init(fs);
	for (int i = 0; i < CHUNK_LOCKS; i++)
		mutex_init(&fs->chunk_mu[i]);
	mutex_init(&fs->dirty_mu);
	mutex_init(&fs->open_mu);
	implied_init(fs);
	int r = ino_load(fs);
	if (r) {
		fprintf(stderr, "golitefs: cannot read the inode counter of %s: %s\n", fs->datadir,
			golite_strerror(r));
		return -1;
	}
	root_init(fs);
	ctl_init(fs);
	snapview_init(fs);
	r = sweep_at_mount(fs);
	if (r) {
		fprintf(stderr, "golitefs: cannot check the chunked files of %s: %s\n",
			fs->datadir, strerror(-r));
		return -1;
	}
	metrics_init(fs);
	return 0;
}

static int fs_shutdown(struct gfs *fs)
{
	gfs_bg_stop(fs);
	dirty_flush_all(fs);
	int status = 0;
	if (atomic_load(&fs->dirty_count)) {
		gfs_log(LOG_LVL_ERROR, "%llu files kept sizes or times that could not be written",
			(unsigned long long)atomic_load(&fs->dirty_count));
		status = 1;
	} else if (sweep_at_unmount(fs)) {
		status = 1;
	}
	snapview_destroy(fs);   /* its handles before the store */
	int r = golite_close(fs->db);
	fs->db = NULL;
	if (r) {
		gfs_log(LOG_LVL_ERROR, "closing the store: %s (%s)", golite_strerror(r),
			golite_last_error());
		status = 1;
	}
	metrics_destroy(fs);
	ctl_destroy(fs);
	return status;
}

/* Everything after the command line: checks, the store, the mount, the
 * session loop and shutdown. Returns the exit status. */
static int serve(struct cli *cp, struct fuse_args *argsp)
{
	struct cli c = *cp;
	static struct gfs fsbuf;
	struct gfs *fs = &fsbuf;
	enum gfs_loglevel level;
	if (options_from_cli(&c, &fs->o, &level) < 0)
		return 1;
	if (netglue_configure(c.http_opts, c.nhttp, fs->o.read_only) < 0)
		return 1;
	fs->datadir = absolute(c.datadir);
	char mnt[PATH_MAX];
	struct stat st;
	if (!realpath(c.mountpoint, mnt) || stat(mnt, &st) < 0) {
		fprintf(stderr, "golitefs: mountpoint %s: %s\n", c.mountpoint, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "golitefs: mountpoint %s is not a directory\n", c.mountpoint);
		return 1;
	}
	fs->mountpoint = xstrdup(mnt);
	int devfd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (devfd < 0) {
		fprintf(stderr, "golitefs: cannot open /dev/fuse: %s (is the fuse module loaded, "
			"and /dev/fuse present in this container?)\n", strerror(errno));
		return 1;
	}
	close(devfd);

	/* Options for libfuse and the kernel. */
	char *fsname = xasprintf("fsname=golite:%s", fs->datadir);
	char *mopts = NULL;
	if (fuse_opt_add_opt(&mopts, "subtype=golitefs") ||
	    fuse_opt_add_opt(&mopts, "default_permissions") ||
	    fuse_opt_add_opt_escaped(&mopts, fsname) || fuse_opt_add_arg(argsp, "-o") ||
	    fuse_opt_add_arg(argsp, mopts))
		FATAL("fuse_opt_add_arg");
	free(fsname);
	free(mopts);

	if (!c.foreground)
		detach_start();
	gfs_log_setup(c.foreground, level);

	if (open_store(fs, level) < 0)
		return 1;
	if (fs_setup(fs) < 0) {
		golite_close(fs->db);
		return 1;
	}
	struct fuse_session *se = fuse_session_new(argsp, &gfs_ops, sizeof(gfs_ops), fs);
	if (!se) {
		fprintf(stderr, "golitefs: cannot start the FUSE session (see the message above)\n");
		fs_shutdown(fs);
		return 1;
	}
	/* A daemon started in the background by a shell inherits SIGINT
	 * ignored, and libfuse installs its handlers only over the default
	 * action: SIGINT, SIGTERM and SIGHUP must always unmount cleanly. */
	int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		struct sigaction sa;
		if (sigaction(sigs[i], NULL, &sa) == 0 && sa.sa_handler == SIG_IGN)
			signal(sigs[i], SIG_DFL);
	}
	if (fuse_set_signal_handlers(se) < 0) {
		fuse_session_destroy(se);
		fs_shutdown(fs);
		return 1;
	}
	if (fuse_session_mount(se, fs->mountpoint) < 0) {
		fprintf(stderr, "golitefs: cannot mount at %s (see the message above)\n",
			fs->mountpoint);
		fuse_remove_signal_handlers(se);
		fuse_session_destroy(se);
		fs_shutdown(fs);
		return 1;
	}
	fs->se = se;
	ttl_hooks_install(fs);
	if (kio_attach(se) < 0)
		gfs_log(LOG_LVL_INFO, "libfuse refused custom I/O: the kernel will ask for "
			"security.capability before each write");
	/* Started before the detach, so that an address in use is reported
	 * on the terminal and the mount fails with it. */
	if (netglue_start(fs) < 0) {
		ttl_hooks_remove(fs);
		fuse_session_unmount(se);
		fuse_remove_signal_handlers(se);
		fs->se = NULL;
		fuse_session_destroy(se);
		fs_shutdown(fs);
		return 1;
	}
	gfs_log(LOG_LVL_INFO, "mounted %s at %s", fs->datadir, fs->mountpoint);
	detach_finish();
	gfs_bg_start(fs);

	struct fuse_loop_config *lc = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(lc, fs->o.max_threads);
	fuse_loop_cfg_set_idle_threads(lc, MIN(fs->o.max_threads, fs->o.max_idle_threads));
	fuse_loop_cfg_set_clone_fd(lc, (unsigned)fs->o.clone_fd);
	int r = fuse_session_loop_mt(se, lc);
	fuse_loop_cfg_destroy(lc);
	netglue_stop(fs);
	ttl_hooks_remove(fs);

	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fs->se = NULL;
	fuse_session_destroy(se);
	int status = fs_shutdown(fs);
	gfs_log(LOG_LVL_INFO, "unmounted %s", fs->mountpoint);
	return status || r < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct cli c;
	int status;
	if (cli_parse(&args, &c) < 0) {
		status = 1;
	} else if (c.help) {
		cli_usage(argv[0]);
		status = 0;
	} else if (c.version) {
		printf("golitefs %s (GoLite %s)\n", GOLITEFS_VERSION, GOLITE_VERSION_STRING);
		fflush(stdout);
		fuse_lowlevel_version();
		status = 0;
	} else if (c.store) {
		/* -o store=URI MOUNTPOINT: the one operand is the mount point */
		if (!c.datadir || c.mountpoint) {
			fprintf(stderr, "usage: %s [-f] [-d] -o store=URI[,OPTIONS] MOUNTPOINT "
				"(--help for more)\n", argv[0]);
			status = 1;
		} else {
			status = portfs_main(c.store, c.datadir,
					     c.attr_timeout >= 0 ? c.attr_timeout : 1.0, c.foreground,
					     &args);
		}
	} else if (!c.datadir || !c.mountpoint) {
		fprintf(stderr, "usage: %s [-f] [-d] [-o OPTIONS] DATADIR MOUNTPOINT "
			"(--help for more)\n", argv[0]);
		status = 1;
	} else {
		status = serve(&c, &args);
	}
	cli_free(&c);
	fuse_opt_free_args(&args);
	return status;
}
