/*
 * attr.c — attributes: stat, chmod/chown/utimens/truncate, symlink
 * targets, extended attributes, statfs and access.
 *
 * A node's attributes are kept in the node (fs.h): getattr answers from
 * memory. A change is written to the entry's record first and taken by the
 * node after the write succeeded. An entry without a record of its own (a
 * key written through the API, an implied directory) gets one on its first
 * change (node_materialize_locked). Table and root directories keep their
 * record in GOLITE_TABLE_FS.
 *
 * Extended attributes: "user.*" for anyone the permissions allow (the
 * kernel checks them), "trusted.*" and "security.*" for root only;
 * "system.*" (POSIX ACLs), "security.selinux" (no SELinux labels) and
 * other namespaces are EOPNOTSUPP, to reads too: `ls -l` asks for
 * system.posix_acl_access and security.selinux of every file, a round
 * trip each that the kernel does not cache, and stops asking for the rest
 * of the file system once one answer says it is not supported (coreutils'
 * per-device cache). Names up to 255 bytes, values up to 65535 bytes,
 * 1 MiB and 1024 attributes per file.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "data.h"
#include "kio.h"
#include "persist.h"
#include "util.h"

void gfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	(void)fi;
	op_count(fs, OP_GETATTR);
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	struct stat st;
	if (node_is_ctl(fs, n)) {
		if (n == &fs->ctl_events && fs->o.writeback_cache)
			ev_push_size(fs);
		ctl_stat(fs, n, &st);
	} else {
		dir_nlink_fill(fs, n);
		mutex_lock(&n->mu);
		attr_to_stat(fs, &n->a, &st);
		st.st_ino = snap_ino(n->table, st.st_ino);
		if (n->unlinked)
			st.st_nlink = 0;
		mutex_unlock(&n->mu);
	}
	fuse_reply_attr(req, &st, node_is_volatile(fs, n) ? 0 : fs->o.attr_timeout);
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* Applies the non-size changes of a setattr to v. */
static void apply_attrs(struct vrec *v, const struct stat *attr, int to_set, int64_t now)
{
	if (to_set & FUSE_SET_ATTR_MODE)
		v->f.mode = (v->f.mode & ~07777u) | (attr->st_mode & 07777);
	if (to_set & FUSE_SET_ATTR_UID)
		v->f.uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		v->f.gid = attr->st_gid;
	if (to_set & FUSE_SET_ATTR_ATIME_NOW)
		v->f.atime_ns = now;
	else if (to_set & FUSE_SET_ATTR_ATIME)
		v->f.atime_ns = ts_ns(&attr->st_atim);
	if (to_set & FUSE_SET_ATTR_MTIME_NOW)
		v->f.mtime_ns = now;
	else if (to_set & FUSE_SET_ATTR_MTIME)
		v->f.mtime_ns = ts_ns(&attr->st_mtim);
	if (to_set & FUSE_SET_ATTR_CTIME)
		v->f.ctime_ns = ts_ns(&attr->st_ctim);
	else
		v->f.ctime_ns = now;
}

static const int ATTR_META = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID |
			     FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
			     FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME;

int edit_record(struct gfs *fs, struct node *n, int (*fn)(struct vrec *v, void *ctx),
		void *ctx)
{
	if (n->flavor == FL_STATIC && n != &fs->root)
		return -EPERM;
	if (fs->o.read_only || node_frozen(n))
		return -EROFS;
	struct kbuf *k = xmalloc(sizeof(*k));
	ns_rdlock(fs);
	mutex_lock(&n->mu);
	int r = 0;
	struct vrec v;
	if (n->unlinked || n->src == SRC_NONE) {
		/* Open but unlinked: only the node holds it. */
		vrec_from_attr(&v, &n->a);
		r = fn(&v, ctx);
		if (!r) {
			struct nattr a;
			vrec_to_attr(&v, &a);
			n->a.mode = a.mode;
			n->a.uid = a.uid;
			n->a.gid = a.gid;
			n->a.mtime = a.mtime;
			n->a.ctime = a.ctime;
			n->a.atime = a.atime;
		}
		vrec_free(&v);
		goto out_unlock;
	}
	node_key_locked(n, k);
	r = node_materialize_locked(fs, n, k);
	if (!r)
		r = node_load_vrec_locked(fs, n, k, &v);
	if (r)
		goto out_unlock;
	r = fn(&v, ctx);
	if (!r)
		r = node_store_vrec(fs, n, k, NULL, &v);
	if (!r)
		node_commit_vrec_locked(n, &v);
	vrec_free(&v);
out_unlock:
	mutex_unlock(&n->mu);
	ns_rdunlock(fs);
	free(k);
	return r;
}

struct setattr_ctx {
	const struct stat *attr;
	int to_set;
	int64_t now;
};

static int setattr_fn(struct vrec *v, void *arg)
{
	struct setattr_ctx *c = arg;
	apply_attrs(v, c->attr, c->to_set, c->now);
	return 0;
}

/* What the kernel left to this daemon (kio.c). */
struct kill_ctx {
	bool suid, sgid;
};

static int kill_priv_fn(struct vrec *v, void *arg)
{
	struct kill_ctx *k = arg;
	if (k->suid)
		v->f.mode &= ~(uint32_t)S_ISUID;
	if (k->sgid)
		v->f.mode &= ~(uint32_t)S_ISGID;
	int r = vrec_xattr_remove(v, "security.capability");
	return r == -ENODATA ? 0 : r;
}

/* True if the caller of req is in group gid (as the kernel's
 * in_group_p: primary or supplementary). */
static bool caller_in_group(fuse_req_t req, gid_t gid)
{
	if (!req)
		return true;
	if (fuse_req_ctx(req)->gid == gid)
		return true;
	gid_t groups[64];
	int n = fuse_req_getgroups(req, 64, groups);
	for (int i = 0; i < n && i < 64; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

int attr_kill_priv(struct gfs *fs, fuse_req_t req, struct node *n, bool suidgid)
{
	if (!kio_killpriv_v2() || !S_ISREG(n->a.mode))
		return 0;
	mutex_lock(&n->mu);
	uint32_t mode = n->a.mode;
	gid_t gid = n->a.gid;
	bool caps = n->a.caps && n->src == SRC_META;
	mutex_unlock(&n->mu);
	/* As the kernel's setattr_should_drop_suidgid(): set-user-ID always;
	 * set-group-ID when the group may execute, or the caller is not in
	 * the file's group. */
	struct kill_ctx k = {
		.suid = suidgid && (mode & S_ISUID),
		.sgid = suidgid && (mode & S_ISGID) &&
			((mode & S_IXGRP) || !caller_in_group(req, gid)),
	};
	if (!k.suid && !k.sgid && !caps)
		return 0;
	int r = edit_record(fs, n, kill_priv_fn, &k);
	if (!r && (k.suid || k.sgid) && fs->se)
		/* The kernel's cached mode is stale now. */
		fuse_lowlevel_notify_inval_inode(fs->se, node_id(fs, n), -1, 0);
	return r;
}

static int do_setattr(struct gfs *fs, fuse_req_t req, struct node *n, struct stat *attr,
		      int to_set)
{
	if (n->flavor == FL_STATIC && n != &fs->root)
		return -EPERM;
	if (n->flavor == FL_PARTIAL || n->flavor == FL_VIEW) {
		gfs_log(LOG_LVL_INFO, "this directory stands for keys below it and has no "
			"attributes of its own to change");
		return -EPERM;
	}
	if (fs->o.read_only || node_frozen(n))
		return -EROFS;
	int r = 0;
	if (to_set & FUSE_SET_ATTR_SIZE) {
		if (S_ISDIR(n->a.mode))
			return -EISDIR;
		if (!S_ISREG(n->a.mode))
			return -EINVAL;
		if (attr->st_size < 0)
			return -EINVAL;
		r = data_truncate(fs, n, (uint64_t)attr->st_size, false);
		if (r)
			return r;
	}
	if (to_set & ATTR_META) {
		struct setattr_ctx c = { attr, to_set, wall_ns() };
		r = edit_record(fs, n, setattr_fn, &c);
	}
	/* Truncation and a change of owner drop privileges (kio.c). */
	if (!r && (to_set & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)))
		r = attr_kill_priv(fs, req, n,
				   kio_kill_suidgid() || (to_set & FUSE_SET_ATTR_KILL_SUID));
	return r;
}

void gfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		 struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	(void)fi;
	op_count(fs, OP_SETATTR);
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	int r = do_setattr(fs, req, n, attr, to_set);
	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	if (to_set & FUSE_SET_ATTR_SIZE)
		ev_node(fs, EV_TRUNCATE, n, NULL);
	if (to_set & FUSE_SET_ATTR_MODE)
		ev_node(fs, EV_CHMOD, n, NULL);
	if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))
		ev_node(fs, EV_CHOWN, n, NULL);
	if (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_ATIME_NOW |
		      FUSE_SET_ATTR_MTIME_NOW | FUSE_SET_ATTR_CTIME))
		ev_node(fs, EV_UTIMENS, n, NULL);
	struct stat st;
	dir_nlink_fill(fs, n);
	mutex_lock(&n->mu);
	attr_to_stat(fs, &n->a, &st);
	if (n->unlinked)
		st.st_nlink = 0;
	mutex_unlock(&n->mu);
	fuse_reply_attr(req, &st, fs->o.attr_timeout);
}

/* ---- symlinks ---- */

static int do_readlink(struct gfs *fs, struct node *n, char *out, size_t cap)
{
	if (!S_ISLNK(n->a.mode))
		return -EINVAL;
	struct kbuf *k = xmalloc(sizeof(*k));
	struct rec rec;
	ns_rdlock(fs);
	node_key(n, k);
	int r = rec_get(fs, k->table, k->b, k->len, &rec);
	ns_rdunlock(fs);
	free(k);
	if (!r) {
		struct vfile f;
		if (rec.kind != GOLITE_KIND_META || vfile_decode(rec.data, rec.len, &f) ||
		    f.type != VFILE_LNK || f.data_len >= cap) {
			r = -EIO;
		} else {
			memcpy(out, f.data, f.data_len);
			out[f.data_len] = '\0';
		}
	}
	rec_free(&rec);
	return r;
}

void gfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_READLINK);
	char target[GFS_MAX_SYMLINK + 1];
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	int r = do_readlink(fs, n, target, sizeof(target));
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_readlink(req, target);
}

/* ---- statfs and access ---- */

void gfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct gfs *fs = req_fs(req);
	(void)ino;
	op_count(fs, OP_STATFS);
	struct statvfs sv;
	if (statvfs(fs->datadir, &sv) < 0) {
		int e = errno;
		gfs_log(LOG_LVL_WARN, "statfs %s: %s", fs->datadir, strerror(e));
		fuse_reply_err(req, e);
		return;
	}
	uint64_t files = atomic_load(&fs->files);
	if (fs->o.max_size) {
		/* A size limit: df shows it, and what the store's files take of
		 * it (the engine's figures, refreshed every second or so). */
		golite_stats st;
		if (golite_stats_get(fs->db, &st) == 0 && st.space_limit) {
			uint64_t left = st.space_used < st.space_limit ? st.space_limit - st.space_used : 0;
			uint64_t avail = MIN(left, (uint64_t)sv.f_bavail * sv.f_frsize);
			sv.f_blocks = (fsblkcnt_t)(st.space_limit / sv.f_frsize);
			sv.f_bfree = (fsblkcnt_t)(MIN(left, (uint64_t)sv.f_bfree * sv.f_frsize) / sv.f_frsize);
			sv.f_bavail = (fsblkcnt_t)(avail / sv.f_frsize);
		}
	}
	struct statvfs out = sv;
	out.f_namemax = ESC_NAME_MAX;
	/* Every key is a file; the store can hold as many more as the disk
	 * has room for (one record is at least about 64 bytes). */
	uint64_t room = (uint64_t)sv.f_bavail * sv.f_frsize / 64;
	out.f_ffree = (fsfilcnt_t)room;
	out.f_favail = (fsfilcnt_t)room;
	out.f_files = (fsfilcnt_t)(files + room);
	out.f_flag = fs->o.read_only ? ST_RDONLY : 0;
	fuse_reply_statfs(req, &out);
}

void gfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_ACCESS);
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	mutex_lock(&n->mu);
	uint32_t mode = n->a.mode, uid = n->a.uid, gid = n->a.gid;
	mutex_unlock(&n->mu);
	int r = 0;
	if ((mask & W_OK) && (fs->o.read_only || node_frozen(n))) {
		r = EROFS;
	} else if (mask != F_OK) {
		unsigned want = (unsigned)mask & 7u, have;
		if (ctx->uid == 0)
			have = (mask & X_OK) && !S_ISDIR(mode) && !(mode & 0111) ? 6 : 7;
		else if (ctx->uid == uid)
			have = (mode >> 6) & 7;
		else if (ctx->gid == gid)
			have = (mode >> 3) & 7;
		else
			have = mode & 7;
		if ((want & have) != want)
			r = EACCES;
	}
	fuse_reply_err(req, r);
}

/* ---- extended attributes ---- */

/* 0 if name may be read (and, with write, changed) by the caller. */
static int xattr_allowed(fuse_req_t req, const char *name, bool write)
{
	if (strncmp(name, "user.", 5) == 0)
		return 0;
	if (strcmp(name, "security.selinux") == 0)
		return -EOPNOTSUPP;
	if (strncmp(name, "trusted.", 8) == 0 || strncmp(name, "security.", 9) == 0) {
		if (!write)
			return 0;
		return fuse_req_ctx(req)->uid == 0 ? 0 : -EPERM;
	}
	return -EOPNOTSUPP;
}

struct xattr_set_ctx {
	const char *name;
	const char *value;
	size_t size;
	int flags;
	int64_t now;
};

static int xattr_set_fn(struct vrec *v, void *arg)
{
	struct xattr_set_ctx *c = arg;
	int r = vrec_xattr_set(v, c->name, c->value, c->size, c->flags);
	if (!r)
		v->f.ctime_ns = c->now;
	return r;
}

static int xattr_remove_fn(struct vrec *v, void *arg)
{
	struct xattr_set_ctx *c = arg;
	int r = vrec_xattr_remove(v, c->name);
	if (!r)
		v->f.ctime_ns = c->now;
	return r;
}

void gfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		  size_t size, int flags)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_SETXATTR);
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	int r = xattr_allowed(req, name, true);
	bool ttl = !r && strcmp(name, TTL_XATTR) == 0;
	if (!r && (n->flavor == FL_PARTIAL || n->flavor == FL_VIEW || n->unlinked))
		r = -EPERM;
	if (!r && ttl) {
		r = ttl_setxattr(fs, n, value, size, flags);
	} else if (!r) {
		struct xattr_set_ctx c = { name, value, size, flags, wall_ns() };
		r = edit_record(fs, n, xattr_set_fn, &c);
	}
	if (!r)
		ev_node(fs, EV_SETXATTR, n, name);
	fuse_reply_err(req, -r);
}

void gfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_REMOVEXATTR);
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	int r = xattr_allowed(req, name, true);
	bool ttl = !r && strcmp(name, TTL_XATTR) == 0;
	if (ttl) {
		r = ttl_removexattr(fs, n);
		if (!r)
			ev_node(fs, EV_REMOVEXATTR, n, name);
		fuse_reply_err(req, -r);
		return;
	}
	if (!r) {
		mutex_lock(&n->mu);
		bool none = n->a.nxattr == 0;
		mutex_unlock(&n->mu);
		if (none)
			r = -ENODATA;
	}
	if (!r) {
		struct xattr_set_ctx c = { name, NULL, 0, 0, wall_ns() };
		bool was = gfs_frees_space(true);
		r = edit_record(fs, n, xattr_remove_fn, &c);
		gfs_frees_space(was);
	}
	if (!r)
		ev_node(fs, EV_REMOVEXATTR, n, name);
	fuse_reply_err(req, -r);
}

/*
 * Reads the attributes blob of n into *v (a copy). Returns -ENODATA early
 * when the node has none (the common case: the kernel asks for
 * security.capability on writes).
 */
static int xattr_load(struct gfs *fs, struct node *n, struct vrec *v)
{
	memset(v, 0, sizeof(*v));
	mutex_lock(&n->mu);
	bool none = n->a.nxattr == 0 || (n->src != SRC_META && n->src != SRC_TABLE &&
					 n->src != SRC_ROOT);
	mutex_unlock(&n->mu);
	if (none || node_is_ctl(fs, n))
		return -ENODATA;
	struct kbuf *k = xmalloc(sizeof(*k));
	ns_rdlock(fs);
	mutex_lock(&n->mu);
	node_key_locked(n, k);
	int r = node_load_vrec_locked(fs, n, k, v);
	mutex_unlock(&n->mu);
	ns_rdunlock(fs);
	free(k);
	return r;
}

/*
 * The answer to getxattr or listxattr: with size 0 the length the value
 * needs (*len), else the bytes in *out (malloc()ed, *len of them).
 */
static int do_getxattr(fuse_req_t req, struct gfs *fs, struct node *n, const char *name,
		       size_t size, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	int r = xattr_allowed(req, name, false);
	if (r)
		return r;
	if (strcmp(name, TTL_XATTR) == 0)
		return ttl_getxattr(fs, n, size, out, len);
	struct vrec v;
	r = xattr_load(fs, n, &v);
	if (r)
		return r;
	size_t pos = 0, nlen = strlen(name);
	struct vfile_xattr x;
	r = -ENODATA;
	while (vfile_xattr_next(&v.f, &pos, &x)) {
		if (x.name_len != nlen || memcmp(x.name, name, nlen) != 0)
			continue;
		*len = x.value_len;
		if (size && size < x.value_len)
			r = -ERANGE;
		else if (size)
			*out = xmemdup(x.value, x.value_len ? x.value_len : 1);
		if (!size || *out)
			r = 0;
		break;
	}
	vrec_free(&v);
	return r;
}

static int do_listxattr(struct gfs *fs, struct node *n, size_t size, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	struct vrec v;
	int r = xattr_load(fs, n, &v);
	bool loaded = r == 0;
	if (r && r != -ENODATA)
		return r;
	r = 0;
	/* The time to live shows as an attribute (ttl.c). */
	bool ttl = !node_is_ctl(fs, n) && ttl_has(n);
	size_t total = ttl ? sizeof(TTL_XATTR) : 0, pos = 0;
	struct vfile_xattr x;
	while (loaded && vfile_xattr_next(&v.f, &pos, &x))
		total += x.name_len + 1;
	*len = total;
	if (size && size < total) {
		r = -ERANGE;
	} else if (size && total) {
		char *buf = xmalloc(total);
		size_t off = 0;
		pos = 0;
		while (loaded && vfile_xattr_next(&v.f, &pos, &x)) {
			memcpy(buf + off, x.name, x.name_len);
			off += x.name_len;
			buf[off++] = '\0';
		}
		if (ttl)
			memcpy(buf + off, TTL_XATTR, sizeof(TTL_XATTR));
		*out = buf;
	}
	if (loaded)
		vrec_free(&v);
	return r;
}

/* The one reply of getxattr and listxattr. */
static void reply_xattr(fuse_req_t req, int r, size_t size, char *out, size_t len)
{
	if (r)
		fuse_reply_err(req, -r);
	else if (size == 0)
		fuse_reply_xattr(req, len);
	else
		fuse_reply_buf(req, out, len);
	free(out);
}

void gfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_GETXATTR);
	char *out;
	size_t len;
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	int r = do_getxattr(req, fs, n, name, size, &out, &len);
	reply_xattr(req, r, size, out, len);
}

void gfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_LISTXATTR);
	char *out;
	size_t len;
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	int r = do_listxattr(fs, n, size, &out, &len);
	reply_xattr(req, r, size, out, len);
}
