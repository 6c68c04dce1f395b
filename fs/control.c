/*
 * control.c — /.golite, the control directory.
 *
 *   /.golite/stats   figures, one "name value" line each, the value a
 *                    number (or a word for durability, memtable_kind,
 *                    write_stall and background_error). First the
 *                    engine's (golite_stats_text: operations, the log and
 *                    its group commits, memtables, the block cache, tables
 *                    per level, compaction work, progress and debt, write
 *                    stalls), then the mount's own:
 *                      fs_op_<op>            requests per FUSE operation
 *                      fs_rate_window_{1s,10s}_seconds, fs_rate_<kind>_{1s,10s}
 *                                            requests per second (metrics.c
 *                                            says over which window)
 *                      fs_rate_{read,write}_bytes_{1s,10s}  bytes per second
 *                      fs_latency_{read,write,fsync}[_10s]_{count,p50_ns,
 *                        p90_ns,p99_ns,p999_ns,max_ns}  since mount, and over
 *                                            the 10 s window
 *                      fs_nodes, fs_nodes_cold, fs_open_files, fs_dirty_files, fs_files,
 *                      fs_files_counted, fs_bytes_read, fs_bytes_written,
 *                      fs_inline_max, fs_chunk_size, fs_sweep_*, fs_checkpoint*,
 *                      fs_trim_chunks_deleted, fs_persist_failures,
 *                      fs_events_buffer, fs_events, fs_events_readers,
 *                      fs_pid, fs_mount_uptime_seconds
 *                    fs/README-fs.md has the table of every line. The text
 *                    is taken when the file is opened, so one read(2) loop
 *                    sees one consistent copy; the file is opened with
 *                    direct_io and shows size 0, as files in /proc do.
 *   /.golite/events  the change feed (events.c; the ring is the engine's,
 *                    golite_feed_*): each open handle reads the events
 *                    made after its open, a read at the end returns 0
 *                    (so cat ends); size and mtime grow with the feed,
 *                    with attribute timeout 0, so that tail -f (which polls
 *                    on FUSE) sees it move.
 *
 *   /.golite/checkpoint
 *                    a write of a directory's absolute path takes a
 *                    checkpoint of the store there (golite_checkpoint), the
 *                    write returning once it is complete and synced, or
 *                    with its error; a read tells the last result. Mode
 *                    0600, owned by the mounting user (the kernel checks:
 *                    default_permissions). A path inside the mount is
 *                    refused (the checkpoint would copy into the store
 *                    being copied).
 *
 * None of them takes a lock that writers of the store take.
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "persist.h"
#include "util.h"

const char *const gfs_op_names[OP_COUNT] = {
	"lookup", "forget", "getattr", "setattr", "readlink", "mknod", "mkdir", "unlink",
	"rmdir", "symlink", "rename", "link", "open", "read", "write", "flush", "release",
	"fsync", "opendir", "readdir", "readdirplus", "releasedir", "fsyncdir", "statfs",
	"setxattr", "getxattr", "listxattr", "removexattr", "access", "create", "fallocate",
};

void ctl_init(struct gfs *fs)
{
	struct node *d = &fs->ctl, *s = &fs->ctl_stats, *ev = &fs->ctl_events;
	struct node *ck = &fs->ctl_checkpoint;
	ck->src = SRC_CTL;
	attr_defaults_file(fs, &ck->a, GFS_INO_CTL_CHECKPOINT, 0);
	ck->a.mode = S_IFREG | 0600;
	mutex_init(&fs->ckpt_mu);
	d->src = SRC_CTL;
	attr_defaults_dir(fs, &d->a, GFS_INO_CTL);
	d->a.mode = S_IFDIR | 0555;
	s->src = SRC_CTL;
	attr_defaults_file(fs, &s->a, GFS_INO_CTL_STATS, 0);
	s->a.mode = S_IFREG | 0444;
	ev->src = SRC_CTL;
	attr_defaults_file(fs, &ev->a, GFS_INO_CTL_EVENTS, 0);
	ev->a.mode = S_IFREG | 0444;
}

void ctl_stat(struct gfs *fs, struct node *n, struct stat *st)
{
	mutex_lock(&n->mu);
	struct nattr a = n->a;
	mutex_unlock(&n->mu);
	if (n == &fs->ctl_events) {
		int64_t t;
		ev_stat(fs, &a.size, &t);
		a.mtime = a.ctime = t;
	}
	attr_to_stat(fs, &a, st);
}

int ctl_lookup(struct gfs *fs, struct node *dir, const char *name, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	if (dir == &fs->ctl && strcmp(name, "stats") == 0) {
		node_fill_entry(fs, &fs->ctl_stats, e);
		return 0;
	}
	if (dir == &fs->ctl && strcmp(name, "events") == 0) {
		node_fill_entry(fs, &fs->ctl_events, e);
		return 0;
	}
	if (dir == &fs->ctl && strcmp(name, "checkpoint") == 0) {
		node_fill_entry(fs, &fs->ctl_checkpoint, e);
		return 0;
	}
	if (dir == &fs->ctl && strcmp(name, "snapshots") == 0) {
		node_fill_entry(fs, &fs->ctl_snapshots, e);
		return 0;
	}
	if (dir != &fs->ctl)
		return -ENOTDIR;
	e->ino = 0;
	e->entry_timeout = fs->o.negative_timeout;
	return 0;
}

struct ctl_file {
	char *text;
	size_t len;
};

static char *stats_text(struct gfs *fs, size_t *len)
{
	char *engine = NULL;
	int r = golite_stats_text(fs->db, &engine);
	char *buf;
	size_t blen;
	FILE *f = open_memstream(&buf, &blen);
	if (!f)
		FATAL("open_memstream");
	if (r == 0)
		fputs(engine, f);
	else
		fprintf(f, "engine_error %s\n", golite_strerror(r));
	golite_free(engine);
	uint64_t ops[OP_COUNT] = { 0 };
	for (int s = 0; s < STAT_SHARDS; s++)
		for (int i = 0; i < OP_COUNT; i++)
			ops[i] += atomic_load_explicit(&fs->ctr[s].op[i], memory_order_relaxed);
	for (int i = 0; i < OP_COUNT; i++)
		fprintf(f, "fs_op_%s %llu\n", gfs_op_names[i], (unsigned long long)ops[i]);
	metrics_write(fs, f);
#define FIG(name, v) fprintf(f, "fs_" name " %llu\n", (unsigned long long)(v))
	FIG("nodes", atomic_load(&fs->node_count));
	FIG("nodes_cold", atomic_load(&fs->cold_count));
	FIG("open_files", atomic_load(&fs->open_files));
	FIG("dirty_files", atomic_load(&fs->dirty_count));
	FIG("files", atomic_load(&fs->files));
	FIG("files_counted", atomic_load(&fs->files_counted) ? 1 : 0);
	FIG("bytes_read", atomic_load(&fs->bytes_read));
	FIG("bytes_written", atomic_load(&fs->bytes_written));
	FIG("inline_max", GFS_INLINE_MAX);
	FIG("chunk_size", VFILE_CHUNK);
	FIG("sweep_runs", atomic_load(&fs->sweep_runs));
	FIG("sweep_orphan_inodes", atomic_load(&fs->sweep_orphans));
	FIG("sweep_stale_names", atomic_load(&fs->sweep_stale_names));
	mutex_lock(&fs->ckpt_mu);
	uint64_t ckpts = fs->ckpt_count, ckpt_failed = fs->ckpt_failures;
	mutex_unlock(&fs->ckpt_mu);
	FIG("checkpoints", ckpts);
	FIG("checkpoint_failures", ckpt_failed);
	FIG("sweep_chunks_deleted", atomic_load(&fs->sweep_chunks));
	FIG("trim_chunks_deleted", atomic_load(&fs->trim_chunks));
	FIG("persist_failures", atomic_load(&fs->persist_failures));
	golite_feed_stats feed;
	golite_feed_stats_get(fs->db, &feed);
	FIG("events_buffer", feed.capacity);
	FIG("events", feed.events);
	FIG("events_readers", feed.readers);
#undef FIG
	fprintf(f, "fs_pid %d\n", (int)getpid());
	fprintf(f, "fs_mount_uptime_seconds %.3f\n",
		(double)(wall_ns() - fs->mount_ns) / 1e9);
	fclose(f);
	*len = blen;
	return buf;
}

static void ctl_file_free(void *p)
{
	struct ctl_file *cf = p;
	free(cf->text);
	free(cf);
}

/* What a read of /.golite/checkpoint shows: the last result. */
static char *checkpoint_text(struct gfs *fs, size_t *len)
{
	mutex_lock(&fs->ckpt_mu);
	char *t = xstrdup(fs->ckpt_last ? fs->ckpt_last : "none\n");
	mutex_unlock(&fs->ckpt_mu);
	*len = strlen(t);
	return t;
}

int ctl_open(struct gfs *fs, struct node *n, struct fuse_file_info *fi)
{
	if (n != &fs->ctl_stats && n != &fs->ctl_events && n != &fs->ctl_checkpoint)
		return -EISDIR;   /* /.golite and /.golite/snapshots */
	if ((fi->flags & O_ACCMODE) != O_RDONLY && n != &fs->ctl_checkpoint)
		return -EACCES;
	if (n == &fs->ctl_checkpoint) {
		struct ctl_file *cf = xmalloc(sizeof(*cf));
		cf->text = checkpoint_text(fs, &cf->len);
		fi->fh = handle_new(cf, ctl_file_free);
	} else if (n == &fs->ctl_events) {
		int r = ev_open(fs, &fi->fh);
		if (r)
			return r;
	} else {
		metrics_sample(fs);
		struct ctl_file *cf = xmalloc(sizeof(*cf));
		cf->text = stats_text(fs, &cf->len);
		fi->fh = handle_new(cf, ctl_file_free);
	}
	fi->direct_io = 1;
	return 0;
}

int ctl_read(struct gfs *fs, struct node *n, struct fuse_file_info *fi, size_t size, off_t off,
	     char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	if (off < 0)
		return -EINVAL;
	void *h = handle_get(fi->fh);
	if (!h)
		return -EBADF;
	if (n == &fs->ctl_events) {
		/* A stream: the offset is the reader's own, whatever the file
		 * position says (tail seeks to the size before reading). */
		ev_read(h, size, data, len);
	} else {
		struct ctl_file *cf = h;
		if ((size_t)off < cf->len) {
			*len = MIN(size, cf->len - (size_t)off);
			*data = xmemdup(cf->text + off, *len);
		}
	}
	handle_put(fi->fh);
	return 0;
}

/* Records the result of a checkpoint for reads of the file and stats. */
static void checkpoint_result(struct gfs *fs, const char *dir, bool ok, uint64_t seq,
			      double ms, const char *err)
{
	char *line;
	if (ok)
		line = xasprintf("ok %s sequence %llu %.0f ms\n", dir, (unsigned long long)seq, ms);
	else
		line = xasprintf("failed %s: %s\n", dir, err);
	mutex_lock(&fs->ckpt_mu);
	free(fs->ckpt_last);
	fs->ckpt_last = line;
	if (ok)
		fs->ckpt_count++;
	else
		fs->ckpt_failures++;
	mutex_unlock(&fs->ckpt_mu);
}

int ctl_write(struct gfs *fs, struct node *n, const char *buf, size_t size)
{
	if (n != &fs->ctl_checkpoint)
		return -EPERM;
	/* One path a write, as echo writes it: a trailing newline is not
	 * part of it. */
	if (size && buf[size - 1] == '\n')
		size--;
	if (size == 0 || size >= PATH_MAX || memchr(buf, '\0', size) || memchr(buf, '\n', size)) {
		checkpoint_result(fs, "-", false, 0, 0, "not one path (one line, no NUL byte)");
		return -EINVAL;
	}
	char *dir = xmemdup(buf, size + 1);
	dir[size] = '\0';
	int r = 0;
	if (dir[0] != '/') {
		gfs_log(LOG_LVL_WARN, "checkpoint %s: the directory must be an absolute path", dir);
		r = -EINVAL;
	} else if (path_inside(dir, fs->mountpoint)) {
		gfs_log(LOG_LVL_WARN, "checkpoint %s: inside the mount, which it would copy into "
			"itself", dir);
		r = -EINVAL;
	}
	if (r) {
		checkpoint_result(fs, dir, false, 0, 0, "not an absolute path outside the mount");
		free(dir);
		return r;
	}
	uint64_t seq;
	int e = ctl_checkpoint(fs, dir, &seq);
	if (e)
		r = e == GOLITE_EEXIST ? -EEXIST : e == GOLITE_ENOTFOUND ? -ENOENT
						  : -gfs_errno(e, "take a checkpoint");
	free(dir);
	return r;
}

int ctl_checkpoint(struct gfs *fs, const char *dir, uint64_t *seq)
{
	/* Sizes and times the daemon still holds go into the store first. */
	dirty_flush_all(fs);
	uint64_t start = now_ns();
	*seq = 0;
	int e = golite_checkpoint(fs->db, dir, seq);
	double ms = (double)(now_ns() - start) / 1e6;
	if (e) {
		const char *why = golite_last_error();
		gfs_log(LOG_LVL_WARN, "checkpoint %s failed: %s", dir, why);
		checkpoint_result(fs, dir, false, 0, ms, why);
	} else {
		gfs_log(LOG_LVL_INFO, "checkpoint %s: sequence %llu, %.0f ms", dir,
			(unsigned long long)*seq, ms);
		checkpoint_result(fs, dir, true, *seq, ms, NULL);
	}
	return e;
}

void ctl_destroy(struct gfs *fs)
{
	free(fs->ckpt_last);
	fs->ckpt_last = NULL;
	pthread_mutex_destroy(&fs->ckpt_mu);
}

void ctl_release(struct fuse_file_info *fi)
{
	if (fi->fh)
		handle_close(fi->fh);
	fi->fh = 0;
}
