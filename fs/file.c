/*
 * file.c — open files: open, read, write, flush, fsync, release and
 * fallocate. The bytes are handled by data.c; /.golite files by control.c.
 *
 * The kernel's page cache is kept across opens (keep_cache): every write
 * comes through this daemon, so cached pages are never stale. With the
 * writeback cache the kernel gathers small writes into pages and sends
 * them on its own schedule, at the latest on close and fsync.
 *
 * fsync and fdatasync return once the file's bytes and record are in the
 * log and the log is on disk (golite_sync). close sends no flush (see
 * gfs_flush).
 */
#include "fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "kio.h"
#include "persist.h"
#include "util.h"

static bool is_ctl(struct gfs *fs, struct node *n)
{
	return node_is_ctl(fs, n);
}

void file_open_reply_flags(struct fuse_file_info *fi)
{
	fi->fh = 0;
	fi->keep_cache = 1;
}

/* Opens n: truncation for O_TRUNC, and the open count (see release). */
static int do_open(fuse_req_t req, struct gfs *fs, struct node *n, struct fuse_file_info *fi)
{
	if (is_ctl(fs, n))
		return ctl_open(fs, n, fi);
	if (S_ISDIR(n->a.mode))
		return -EISDIR;
	int acc = fi->flags & O_ACCMODE;
	if ((fs->o.read_only || node_frozen(n)) && (acc != O_RDONLY || (fi->flags & O_TRUNC)))
		return -EROFS;
	/*
	 * The open count is taken first, under the lock unlink and rename
	 * hold while they decide whether a file they remove keeps its bytes
	 * (it does while open). A file removed or replaced between the
	 * kernel's lookup and this open was not open then: its bytes are
	 * gone. ESTALE makes the kernel look the name up again and open what
	 * is there now (or answer ENOENT), as if the open came after.
	 */
	mutex_lock(&n->mu);
	bool gone = n->unlinked && n->opens == 0;
	if (!gone)
		n->opens++;
	mutex_unlock(&n->mu);
	if (gone)
		return -ESTALE;
	if ((fi->flags & O_TRUNC) && acc != O_RDONLY && S_ISREG(n->a.mode)) {
		mutex_lock(&n->mu);
		bool work = n->a.size > 0 || n->src == SRC_VALUE;
		mutex_unlock(&n->mu);
		int r = work ? data_truncate(fs, n, 0, false) : 0;
		if (!r)
			r = attr_kill_priv(fs, req, n, kio_kill_suidgid());
		if (r) {
			mutex_lock(&n->mu);
			bool last = --n->opens == 0, unlinked = n->unlinked;
			mutex_unlock(&n->mu);
			if (last && unlinked)
				data_release_unlinked(fs, n);
			return r;
		}
		if (work)
			ev_node(fs, EV_TRUNCATE, n, NULL);
	}
	atomic_fetch_add(&fs->open_files, 1);
	file_open_reply_flags(fi);
	return 0;
}

/* Undoes do_open when the opener went away before the reply. */
static void undo_open(struct gfs *fs, struct node *n, struct fuse_file_info *fi)
{
	if (is_ctl(fs, n)) {
		ctl_release(fi);
		return;
	}
	mutex_lock(&n->mu);
	n->opens--;
	mutex_unlock(&n->mu);
	atomic_fetch_sub(&fs->open_files, 1);
}

void gfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_OPEN);
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	int r = do_open(req, fs, n, fi);
	if (r)
		fuse_reply_err(req, -r);
	else if (fuse_reply_open(req, fi) == -ENOENT)
		undo_open(fs, n, fi);
}

/* A read buffer per thread, GFS_MAX_IO bytes. */
static pthread_key_t rbuf_key;
static pthread_once_t rbuf_once = PTHREAD_ONCE_INIT;

static void rbuf_key_init(void)
{
	if (pthread_key_create(&rbuf_key, free))
		FATAL("pthread_key_create");
}

static char *rbuf(void)
{
	pthread_once(&rbuf_once, rbuf_key_init);
	char *b = pthread_getspecific(rbuf_key);
	if (!b) {
		b = xmalloc(GFS_MAX_IO);
		pthread_setspecific(rbuf_key, b);
	}
	return b;
}

void gfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_READ);
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	if (is_ctl(fs, n)) {
		char *data;
		size_t len;
		int r = ctl_read(fs, n, fi, size, off, &data, &len);
		if (r)
			fuse_reply_err(req, -r);
		else
			fuse_reply_buf(req, data, len);
		free(data);
		return;
	}
	uint64_t start = now_ns();
	char *buf = size <= GFS_MAX_IO ? rbuf() : xmalloc(size);
	size_t got;
	int r = data_read(fs, n, buf, size, off, &got);
	metrics_latency(fs, LAT_READ, start);
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, buf, got);
	if (size > GFS_MAX_IO)
		free(buf);
}

void gfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	       struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	(void)fi;
	op_count(fs, OP_WRITE);
	uint64_t start = now_ns();
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	int r;
	bool ctl = is_ctl(fs, n);
	if (ctl)
		r = ctl_write(fs, n, buf, size);
	else if (fs->o.read_only || node_frozen(n))
		r = -EROFS;
	else
		r = attr_kill_priv(fs, req, n, kio_kill_suidgid());
	if (!r && !ctl)
		r = data_write(fs, n, buf, size, off);
	if (!r && !ctl)
		ev_node(fs, EV_WRITE, n, NULL);
	metrics_latency(fs, LAT_WRITE, start);
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_write(req, size);
}

/*
 * close(2). Before it asks, the kernel has sent the file's dirty pages and,
 * with the writeback cache, its times (setattr); a write that grows a file
 * stores the size with the bytes (data.c); release and the background
 * thread write the times of the writes that came without the writeback
 * cache. Nothing is left for a flush, so ENOSYS tells the kernel, once for
 * the connection, to stop sending them: every close saves a round trip.
 * Errors of the pages the kernel writes at close still reach close(2).
 */
void gfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	op_count(req_fs(req), OP_FLUSH);
	fuse_reply_err(req, ENOSYS);
}

void gfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_RELEASE);
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	if (is_ctl(fs, n)) {
		ctl_release(fi);
		fuse_reply_err(req, 0);
		return;
	}
	node_persist(fs, n);
	mutex_lock(&n->mu);
	bool last = --n->opens == 0;
	bool unlinked = n->unlinked;
	mutex_unlock(&n->mu);
	atomic_fetch_sub(&fs->open_files, 1);
	if (last && unlinked)
		data_release_unlinked(fs, n);
	fuse_reply_err(req, 0);
}

void gfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	(void)fi;
	op_count(fs, OP_FSYNC);
	uint64_t start = now_ns();
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	int r = 0;
	if (!is_ctl(fs, n)) {
		mutex_lock(&n->mu);
		/* fdatasync needs the size, not the times. */
		bool need = datasync ? n->dirty_size : n->dirty;
		mutex_unlock(&n->mu);
		if (need)
			r = node_persist(fs, n);
		if (!r) {
			int e = golite_sync(fs->db);
			if (e)
				r = -gfs_errno(e, "fsync");
		}
	}
	metrics_latency(fs, LAT_FSYNC, start);
	fuse_reply_err(req, -r);
}

void gfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		   struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	(void)fi;
	op_count(fs, OP_FALLOCATE);
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	int r;
	if (is_ctl(fs, n))
		r = -EPERM;
	else if (!S_ISREG(n->a.mode))
		r = -ENODEV;
	else if (fs->o.read_only || node_frozen(n))
		r = -EROFS;
	else
		r = data_fallocate(fs, n, mode, offset, length);
	if (!r)
		ev_node(fs, EV_FALLOCATE, n, NULL);
	fuse_reply_err(req, -r);
}
