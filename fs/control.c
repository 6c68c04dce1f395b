/*
 * control.c — /.golite, the read-only control directory.
 *
 *   /.golite/stats   the engine's figures (golite_stats_text), then the
 *                    mount's own, one "name value" line each:
 *                    fs_op_<op> (requests per FUSE operation), fs_nodes,
 *                    fs_open_files, fs_dirty_files, fs_files (keys in the
 *                    store), fs_bytes_read, fs_bytes_written, fs_sweep_*,
 *                    fs_persist_failures, fs_pid (the daemon's process id).
 *
 * The text is taken when the file is opened, so one read(2) loop sees one
 * consistent copy; the file is opened with direct_io and shows size 0, as
 * files in /proc do.
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

const char *const gfs_op_names[OP_COUNT] = {
	"lookup", "forget", "getattr", "setattr", "readlink", "mknod", "mkdir", "unlink",
	"rmdir", "symlink", "rename", "link", "open", "read", "write", "flush", "release",
	"fsync", "opendir", "readdir", "readdirplus", "releasedir", "fsyncdir", "statfs",
	"setxattr", "getxattr", "listxattr", "removexattr", "access", "create", "fallocate",
};

void ctl_init(struct gfs *fs)
{
	struct node *d = &fs->ctl, *s = &fs->ctl_stats;
	d->src = SRC_CTL;
	attr_defaults_dir(fs, &d->a, GFS_INO_CTL);
	d->a.mode = S_IFDIR | 0555;
	s->src = SRC_CTL;
	attr_defaults_file(fs, &s->a, GFS_INO_CTL_STATS, 0);
	s->a.mode = S_IFREG | 0444;
}

int ctl_lookup(struct gfs *fs, struct node *dir, const char *name, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	if (dir == &fs->ctl && strcmp(name, "stats") == 0) {
		node_fill_entry(fs, &fs->ctl_stats, e);
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
#define FIG(name, v) fprintf(f, "fs_" name " %llu\n", (unsigned long long)(v))
	FIG("nodes", atomic_load(&fs->node_count));
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
	FIG("sweep_chunks_deleted", atomic_load(&fs->sweep_chunks));
	FIG("trim_chunks_deleted", atomic_load(&fs->trim_chunks));
	FIG("persist_failures", atomic_load(&fs->persist_failures));
#undef FIG
	fprintf(f, "fs_pid %d\n", (int)getpid());
	fprintf(f, "fs_mount_uptime_seconds %.3f\n",
		(double)(gfs_now_ns() - fs->mount_ns) / 1e9);
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

int ctl_open(struct gfs *fs, struct node *n, struct fuse_file_info *fi)
{
	if (n != &fs->ctl_stats)
		return -EISDIR;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EACCES;
	struct ctl_file *cf = xmalloc(sizeof(*cf));
	cf->text = stats_text(fs, &cf->len);
	fi->fh = handle_new(cf, ctl_file_free);
	fi->direct_io = 1;
	return 0;
}

int ctl_read(struct gfs *fs, struct fuse_file_info *fi, size_t size, off_t off, char **data,
	     size_t *len)
{
	(void)fs;
	*data = NULL;
	*len = 0;
	if (off < 0)
		return -EINVAL;
	struct ctl_file *cf = handle_get(fi->fh);
	if (!cf)
		return -EBADF;
	if ((size_t)off < cf->len) {
		*len = MIN(size, cf->len - (size_t)off);
		*data = xmemdup(cf->text + off, *len);
	}
	handle_put(fi->fh);
	return 0;
}

void ctl_release(struct fuse_file_info *fi)
{
	if (fi->fh)
		handle_close(fi->fh);
	fi->fh = 0;
}
