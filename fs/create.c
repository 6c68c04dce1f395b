/*
 * create.c — new entries: mkdir, mknod, create, symlink (link(2) is in
 * hardlink.c).
 *
 * mkdir at the root creates a table (its owner and mode go to its record
 * "T" + id in GOLITE_TABLE_FS); a file or symlink there is refused (EPERM).
 * In a table a new entry is a GOLITE_KIND_META record at its key: a regular
 * file (empty, inline), a directory, or a symlink holding its target.
 *
 * Invariants:
 *   1. A new entry's record and its directory's new mtime and ctime are
 *      written in one batch; the directory node takes its new times only
 *      once that batch is written (dir_touch_commit).
 *   2. A new entry has an allocated inode number (ino_alloc), never one
 *      derived from its key.
 *   3. Nothing is replaced: a record at the key answers EEXIST. A name
 *      that would not name a plain entry, a "%+" piece or a "%_" view
 *      (escape.h), is EINVAL, and so is one that stands for the empty
 *      key.
 *   4. An entry in a set-group-ID directory takes the directory's group,
 *      and a new directory the bit itself.
 *   5. The node of the new entry, even one left from an earlier entry of
 *      the same identity (an implied directory), takes the new record's
 *      attributes and comes back with one lookup count.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "create.h"
#include "dir.h"
#include "persist.h"
#include "util.h"

static int do_mktable(fuse_req_t req, const char *name, mode_t mode,
		      struct fuse_entry_param *ep)
{
	struct gfs *fs = req_fs(req);
	if (strlen(name) > ESC_NAME_MAX)
		return -ENAMETOOLONG;
	if (strcmp(name, CTL_NAME) == 0)
		return -EEXIST;
	int r = golite_table_create(fs->db, name);
	if (r == GOLITE_ENAME) {
		gfs_log(LOG_LVL_WARN, "mkdir /%s: not a valid table name (%s)", name,
			golite_last_error());
		return -EINVAL;
	}
	if (r)
		return -gfs_errno(r, "create a table");
	uint32_t id;
	r = golite_table_id(fs->db, name, &id);
	if (r)
		return -gfs_errno(r, "create a table");
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct nattr a;
	attr_defaults_dir(fs, &a, GFS_INO_TABLE | id);
	a.mode = S_IFDIR | (mode & 07777);
	a.uid = ctx->uid;
	a.gid = ctx->gid;
	a.mtime = a.ctime = a.atime = wall_ns();
	struct vrec v;
	vrec_from_attr(&v, &a);
	uint8_t key[5];
	table_fskey(id, key);
	r = vrec_put(fs, NULL, GOLITE_TABLE_FS, key, sizeof(key), &v);
	vrec_free(&v);
	if (r)
		gfs_log(LOG_LVL_WARN, "table %s: its owner and mode were not recorded", name);
	else
		/* The table may have a stale node from a table of the same id:
		 * impossible, ids are never reused. */
		(void)0;
	struct node *n = node_get(fs, id, (const uint8_t *)"", 0, FL_TABLE, 0, SRC_TABLE, &a, true);
	if (!r) {
		mutex_lock(&n->mu);
		n->a = a;
		mutex_unlock(&n->mu);
	}
	node_fill_entry(fs, n, ep);
	return 0;
}

/*
 * Creates an entry named name in dir: a regular file, a directory, a
 * symlink (target link), a FIFO, a socket or a device (number rdev), by
 * mode's type bits. On success *out holds the new node with one lookup
 * count.
 */
static int do_make(fuse_req_t req, struct node *dir, const char *name, mode_t mode,
		   const char *link, uint64_t rdev, struct node **out)
{
	struct gfs *fs = req_fs(req);
	*out = NULL;
	if (!dir)
		return -ESTALE;
	if (dir == &fs->root) {
		gfs_log(LOG_LVL_WARN, "/%s: the root holds only tables (directories); a %s "
			"cannot be created there", name, link ? "symlink" : "file");
		return -EPERM;
	}
	if (dir->flavor == FL_STATIC)
		return -EPERM;
	if (fs->o.read_only || node_frozen(dir))
		return -EROFS;
	if (link && strlen(link) > GFS_MAX_SYMLINK)
		return -ENAMETOOLONG;
	struct entry *e = xmalloc(sizeof(*e));
	ns_rdlock(fs);
	int r = resolve_child(fs, dir, name, true, e);
	if (r)
		goto out_unlock;
	struct rec rec;
	r = rec_get(fs, e->k.table, e->k.b, e->k.len, &rec);
	rec_free(&rec);
	if (r == 0) {
		r = -EEXIST;
		goto out_unlock;
	}
	if (r != -ENOENT)
		goto out_unlock;
	if (e->k.len == 0) {
		r = -EINVAL;
		goto out_unlock;
	}
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct nattr a;
	memset(&a, 0, sizeof(a));
	r = ino_alloc(fs, &a.ino);
	if (r)
		goto out_unlock;
	a.mode = mode;
	a.rdev = rdev;
	if (link)
		a.mode = S_IFLNK | 0777;
	a.uid = ctx->uid;
	a.gid = ctx->gid;
	mutex_lock(&dir->mu);
	if (dir->a.mode & S_ISGID) {
		/* A set-group-ID directory passes on its group (and, to
		 * directories, the bit itself). */
		a.gid = dir->a.gid;
		if (S_ISDIR(a.mode))
			a.mode |= S_ISGID;
	}
	/* Stamped as the kernel stamps: with the writeback cache the kernel
	 * keeps a file's times, and a first write in the same tick then
	 * leaves them as they are, so that the close sends no setattr of
	 * the times (a round trip the closer waits for). */
	int64_t now = wall_coarse_ns();
	a.mtime = a.ctime = a.atime = now;
	struct vrec v;
	vrec_from_attr(&v, &a);
	if (link) {
		vrec_set_data(&v, link, strlen(link));
		v.f.size = strlen(link);
	}
	golite_batch *b = gfs_batch();
	r = vrec_put(fs, b, e->k.table, e->k.b, e->k.len, &v);
	if (!r)
		r = dir_touch_locked(fs, dir, b, false, now);
	if (!r)
		r = gfs_write_batch(fs, b, "create an entry");
	if (!r) {
		dir_touch_commit(dir, now);
		if (S_ISDIR(mode))
			dir_nlink_adjust(dir, +1);
	}
	mutex_unlock(&dir->mu);
	if (!r) {
		vrec_to_attr(&v, &a);
		if (S_ISDIR(mode))
			a.nlink = 2;   /* empty */
		*out = node_get(fs, e->k.table, e->k.b, e->k.len, FL_NORMAL, 0, SRC_META, &a, true);
		/* A node left for this identity (an earlier implied directory)
		 * takes the new record's state. */
		mutex_lock(&(*out)->mu);
		(*out)->src = SRC_META;
		(*out)->a = a;
		(*out)->unlinked = false;
		mutex_unlock(&(*out)->mu);
		atomic_fetch_add(&fs->files, 1);
	}
	vrec_free(&v);
out_unlock:
	ns_rdunlock(fs);
	free(e);
	return r;
}

void gfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_MKDIR);
	struct node *dir = req_node(req, parent);
	if (!dir)
		return;
	struct fuse_entry_param e;
	int r;
	if (dir == &fs->root) {
		r = fs->o.read_only ? -EROFS : do_mktable(req, name, mode, &e);
		if (!r)
			ev_child(fs, EV_MKDIR, dir, name);
	} else if (dir == &fs->ctl_snapshots) {
		r = snapview_mkdir(fs, name, &e);
	} else {
		struct node *n;
		r = do_make(req, dir, name, S_IFDIR | (mode & 07777), NULL, 0, &n);
		if (!r) {
			node_fill_entry(fs, n, &e);
			ev_node(fs, EV_MKDIR, n, NULL);
		}
	}
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

/* mknod: a regular file, a FIFO, a socket, or a character or block
 * device (its number kept in the record; the kernel opens it, subject to
 * the mount's nodev). */
void gfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_MKNOD);
	struct fuse_entry_param e;
	int r;
	unsigned type = vfile_type_of_mode(mode);
	if (type != VFILE_REG && !vfile_special(type)) {
		r = -EINVAL;
	} else {
		struct node *n;
		r = do_make(req, node_of(fs, parent), name, (mode & S_IFMT) | (mode & 07777),
			    NULL, vfile_device(type) ? (uint64_t)rdev : 0, &n);
		if (!r) {
			node_fill_entry(fs, n, &e);
			ev_node(fs, EV_CREATE, n, NULL);
		}
	}
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

void gfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_SYMLINK);
	struct fuse_entry_param e;
	struct node *n;
	int r = do_make(req, node_of(fs, parent), name, S_IFLNK | 0777, link, 0, &n);
	if (!r) {
		node_fill_entry(fs, n, &e);
		ev_node(fs, EV_SYMLINK, n, NULL);
	}
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

/* create: a new regular file, opened. */
static int do_create(fuse_req_t req, struct gfs *fs, struct node *dir, const char *name,
		     mode_t mode, struct fuse_file_info *fi, struct fuse_entry_param *e,
		     struct node **out)
{
	if (!S_ISREG(mode))
		return -EPERM;
	int r = do_make(req, dir, name, S_IFREG | (mode & 07777), NULL, 0, out);
	if (r)
		return r;
	struct node *n = *out;
	mutex_lock(&n->mu);
	n->opens++;
	mutex_unlock(&n->mu);
	atomic_fetch_add(&fs->open_files, 1);
	node_fill_entry(fs, n, e);
	file_open_reply_flags(fi);
	return 0;
}

void gfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_CREATE);
	struct fuse_entry_param e;
	struct node *n = NULL;
	int r = do_create(req, fs, node_of(fs, parent), name, mode, fi, &e, &n);
	if (!r)
		ev_node(fs, EV_CREATE, n, NULL);
	if (r) {
		fuse_reply_err(req, -r);
	} else if (fuse_reply_create(req, &e, fi) == -ENOENT) {
		/* The opener went away: undo the open (the lookup count is
		 * dropped by the kernel's forget). */
		mutex_lock(&n->mu);
		n->opens--;
		mutex_unlock(&n->mu);
		atomic_fetch_sub(&fs->open_files, 1);
	}
}
