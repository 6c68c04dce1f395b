/*
 * dir.c — names: lookup, creation and removal of entries, and directory
 * listings.
 *
 * The root lists the tables and /.golite; mkdir at the root creates a
 * table, rmdir drops an empty one, and a file there is refused (EPERM).
 * In a table, the entries of a directory with key K are the first
 * components of the keys below K + "/": a key without a further '/' is a
 * file (or a directory or symlink record), a component followed by '/'
 * is a directory, with a record of its own (made by mkdir) or implied by
 * the keys below it. Names are escaped as escape.h describes.
 *
 * Listing cookies. A listing is read from one iterator, which sees a
 * snapshot of the store taken when the listing starts (offset 0: opendir,
 * rewinddir). The entries produced are kept with the open directory, and
 * the offset of an entry is its position in that list: an offset the
 * kernel or telldir() got stays valid for the life of the handle, and
 * names created or removed meanwhile neither shift nor repeat entries.
 * Seeking back to 0 starts a new snapshot.
 */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"
#include "data.h"
#include "persist.h"
#include "util.h"

/* ---- tables and the root ---- */

static void table_fskey(uint32_t id, uint8_t key[5])
{
	key[0] = FSKEY_TABLE;
	put_be32(key + 1, id);
}

static void table_attr(struct gfs *fs, uint32_t id, struct nattr *a)
{
	uint8_t key[5];
	table_fskey(id, key);
	struct rec r;
	attr_defaults_dir(fs, a, GFS_INO_TABLE | id);
	if (rec_get(fs, TABLE_ID_FS, key, sizeof(key), &r) == 0 && r.kind == KIND_META) {
		struct nattr t;
		if (rec_attr(fs, TABLE_ID_FS, key, sizeof(key), &r, &t) == 0 && S_ISDIR(t.mode)) {
			*a = t;
			a->ino = GFS_INO_TABLE | id;
		}
	}
	rec_free(&r);
}

void root_init(struct gfs *fs)
{
	struct node *n = &fs->root;
	n->src = SRC_ROOT;
	attr_defaults_dir(fs, &n->a, GFS_INO_ROOT);
	uint8_t key = FSKEY_ROOT;
	struct rec r;
	if (rec_get(fs, TABLE_ID_FS, &key, 1, &r) == 0 && r.kind == KIND_META) {
		struct nattr t;
		if (rec_attr(fs, TABLE_ID_FS, &key, 1, &r, &t) == 0 && S_ISDIR(t.mode)) {
			n->a = t;
			n->a.ino = GFS_INO_ROOT;
		}
	}
	rec_free(&r);
}

static struct node *table_node(struct gfs *fs, uint32_t id, bool lookup)
{
	struct node *n = node_find(fs, id, (const uint8_t *)"", 0, FL_TABLE, lookup);
	if (n)
		return n;
	struct nattr a;
	table_attr(fs, id, &a);
	return node_get(fs, id, (const uint8_t *)"", 0, FL_TABLE, 0, SRC_TABLE, &a, lookup);
}

/* ---- entries ---- */

int has_children(struct gfs *fs, uint32_t table, const uint8_t *prefix, size_t plen, bool *yes)
{
	golite_iter_options o = { .prefix = prefix, .prefix_len = plen };
	golite_iter *it;
	*yes = false;
	int r = golite_iter_new_raw(fs->db, table, &o, &it);
	if (r)
		return -gfs_errno(r, "list a directory");
	golite_iter_seek_first(it);
	*yes = golite_iter_valid(it);
	r = golite_iter_status(it);
	golite_iter_free(it);
	return r ? -gfs_errno(r, "list a directory") : 0;
}

/* Fills e->src and e->a from the store (ns held). */
int entry_load(struct gfs *fs, struct entry *e)
{
	struct kbuf *k = &e->k;
	e->src = SRC_NONE;
	bool yes;
	int r;
	if (k->flavor == FL_PARTIAL) {
		/* A well-formed piece always resolves, even before any key
		 * below it exists, so that long keys can be created through
		 * the mount; listings show only the pieces of existing keys. */
		e->src = SRC_IMPLIED;
		attr_defaults_dir(fs, &e->a, hash_ino(k->table, k->b, k->len, FL_PARTIAL));
		return 0;
	}
	struct rec rec;
	r = rec_get(fs, k->table, k->b, k->len, &rec);
	if (r && r != -ENOENT)
		return r;
	bool found = r == 0;
	struct nattr a;
	if (found) {
		r = rec_attr(fs, k->table, k->b, k->len, &rec, &a);
		if (r) {
			rec_free(&rec);
			return r;
		}
	}
	unsigned kind = rec.kind;
	rec_free(&rec);
	if (k->flavor == FL_NORMAL && found) {
		e->src = kind == KIND_META ? SRC_META : SRC_VALUE;
		e->a = a;
		return 0;
	}
	if (k->flavor == FL_VIEW && (!found || S_ISDIR(a.mode)))
		return 0;
	/* A directory implied by the keys below it. */
	if (!implied_maybe(fs, k->table, k->b, k->len))
		return 0;
	k->b[k->len] = '/';
	r = has_children(fs, k->table, k->b, k->len + 1, &yes);
	if (!r && yes) {
		e->src = SRC_IMPLIED;
		attr_defaults_dir(fs, &e->a, hash_ino(k->table, k->b, k->len, k->flavor));
	}
	return r;
}

int resolve_child(struct gfs *fs, struct node *dir, const char *name, bool creating,
		  struct entry *e)
{
	size_t nlen = strlen(name);
	(void)fs;
	e->src = SRC_NONE;
	if (nlen > ESC_NAME_MAX)
		return -ENAMETOOLONG;
	if (dir->flavor == FL_STATIC || !S_ISDIR(dir->a.mode))
		return -ENOTDIR;
	struct kbuf *dk = xmalloc(sizeof(*dk));
	node_key(dir, dk);
	child_prefix(dk, &e->k);
	const uint8_t *acc = NULL;
	size_t acclen = 0;
	if (dk->flavor == FL_PARTIAL) {
		acc = dk->b + dk->comp_off;
		acclen = dk->len - dk->comp_off;
	}
	e->k.comp_off = dk->flavor == FL_PARTIAL ? dk->comp_off : (uint32_t)e->k.len;
	uint8_t out[ESC_NAME_MAX + 1];
	size_t olen;
	enum esc_kind kind = esc_decode(name, nlen, acc, acclen, out, &olen);
	free(dk);  /* acc pointed into it */
	if (kind == ESC_BAD)
		return creating ? -EINVAL : -ENOENT;
	if (creating && kind != ESC_NAME)
		return -EINVAL;
	if (e->k.len + olen > GOLITE_MAX_KEY_SIZE)
		return -ENAMETOOLONG;
	memcpy(e->k.b + e->k.len, out, olen);
	e->k.len += olen;
	e->k.flavor = kind == ESC_CONT ? FL_PARTIAL : kind == ESC_VIEW ? FL_VIEW : FL_NORMAL;
	return 0;
}

/* ---- directory times ---- */

int dir_touch_locked(struct gfs *fs, struct node *dir, golite_batch *b, bool materialize,
		     int64_t now)
{
	if (dir->flavor != FL_NORMAL && dir->flavor != FL_TABLE)
		return 0;
	if (dir->src == SRC_NONE)
		return 0;
	struct kbuf *k = xmalloc(sizeof(*k));
	node_key_locked(dir, k);
	int r = 0;
	if (dir->src == SRC_IMPLIED) {
		/* Removing an entry could leave it empty: it keeps existing as
		 * an empty directory, like any other, with a record. */
		if (materialize)
			r = node_materialize_locked(fs, dir, k);
		if (r || dir->src == SRC_IMPLIED)
			goto out_free;
	}
	struct vrec v;
	r = node_load_vrec_locked(fs, dir, k, &v);
	if (!r) {
		v.f.mtime_ns = v.f.ctime_ns = now;
		r = node_store_vrec(fs, dir, k, b, &v);
		vrec_free(&v);
	}
out_free:
	free(k);
	return r;
}

/* After the batch of a dir_touch_locked() was written. */
static void dir_touch_commit(struct node *dir, int64_t now)
{
	if (dir->src == SRC_META || dir->src == SRC_TABLE) {
		dir->a.mtime = dir->a.ctime = now;
	}
}

/* ---- lookup ---- */

static void negative_entry(struct gfs *fs, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = 0;
	e->entry_timeout = fs->o.negative_timeout;
}

static int do_lookup(struct gfs *fs, struct node *dir, const char *name,
		     struct fuse_entry_param *ep)
{
	if (strlen(name) > ESC_NAME_MAX)
		return -ENAMETOOLONG;
	if (dir == &fs->root) {
		if (strcmp(name, CTL_NAME) == 0) {
			node_fill_entry(fs, &fs->ctl, ep);
			return 0;
		}
		uint32_t id;
		if (golite_table_id(fs->db, name, &id)) {
			negative_entry(fs, ep);
			return 0;
		}
		struct node *n = table_node(fs, id, true);
		node_fill_entry(fs, n, ep);
		return 0;
	}
	if (node_is_ctl(fs, dir))
		return ctl_lookup(fs, dir, name, ep);
	struct entry *e = xmalloc(sizeof(*e));
	ns_rdlock(fs);
	int r = resolve_child(fs, dir, name, false, e);
	struct node *n = NULL;
	if (!r)
		n = node_find(fs, e->k.table, e->k.b, e->k.len, e->k.flavor, true);
	if (!r && !n) {
		r = entry_load(fs, e);
		if (!r && e->src != SRC_NONE)
			n = node_get(fs, e->k.table, e->k.b, e->k.len, e->k.flavor, e->k.comp_off,
				     e->src, &e->a, true);
	}
	ns_rdunlock(fs);
	free(e);
	if (r == -ENOENT || (!r && !n)) {
		negative_entry(fs, ep);
		return 0;
	}
	if (r)
		return r;
	node_fill_entry(fs, n, ep);
	return 0;
}

void gfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_LOOKUP);
	struct fuse_entry_param e;
	int r = do_lookup(fs, node_of(fs, parent), name, &e);
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

void gfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_FORGET);
	node_forget(fs, node_of(fs, ino), nlookup);
	fuse_reply_none(req);
}

void gfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_FORGET);
	for (size_t i = 0; i < count; i++)
		node_forget(fs, node_of(fs, forgets[i].ino), forgets[i].nlookup);
	fuse_reply_none(req);
}

/* ---- creating entries ---- */

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
	a.mtime = a.ctime = a.atime = gfs_now_ns();
	struct vrec v;
	vrec_from_attr(&v, &a);
	uint8_t key[5];
	table_fskey(id, key);
	r = vrec_put(fs, NULL, TABLE_ID_FS, key, sizeof(key), &v);
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
 * Creates an entry named name in dir: a regular file, a directory or a
 * symlink (target link). On success *out holds the new node with one
 * lookup count.
 */
static int do_make(fuse_req_t req, struct node *dir, const char *name, mode_t mode,
		   const char *link, struct node **out)
{
	struct gfs *fs = req_fs(req);
	*out = NULL;
	if (dir == &fs->root) {
		gfs_log(LOG_LVL_WARN, "/%s: the root holds only tables (directories); a %s "
			"cannot be created there", name, link ? "symlink" : "file");
		return -EPERM;
	}
	if (dir->flavor == FL_STATIC)
		return -EPERM;
	if (fs->o.read_only)
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
	int64_t now = gfs_now_ns();
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
	if (!r)
		dir_touch_commit(dir, now);
	mutex_unlock(&dir->mu);
	if (!r) {
		vrec_to_attr(&v, &a);
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
	struct node *dir = node_of(fs, parent);
	struct fuse_entry_param e;
	int r;
	if (dir == &fs->root) {
		r = fs->o.read_only ? -EROFS : do_mktable(req, name, mode, &e);
		if (!r)
			ev_child(fs, EV_MKDIR, dir, name);
	} else {
		struct node *n;
		r = do_make(req, dir, name, S_IFDIR | (mode & 07777), NULL, &n);
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

void gfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct gfs *fs = req_fs(req);
	(void)rdev;
	op_count(fs, OP_MKNOD);
	struct fuse_entry_param e;
	int r;
	if (!S_ISREG(mode)) {
		gfs_log(LOG_LVL_INFO, "mknod %s: only regular files, directories and symlinks "
			"can be stored", name);
		r = -EPERM;
	} else {
		struct node *n;
		r = do_make(req, node_of(fs, parent), name, S_IFREG | (mode & 07777), NULL, &n);
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
	int r = do_make(req, node_of(fs, parent), name, S_IFLNK | 0777, link, &n);
	if (!r) {
		node_fill_entry(fs, n, &e);
		ev_node(fs, EV_SYMLINK, n, NULL);
	}
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_entry(req, &e);
}

void gfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct gfs *fs = req_fs(req);
	(void)ino;
	(void)newparent;
	op_count(fs, OP_LINK);
	gfs_log(LOG_LVL_INFO, "link %s: hard links are not supported (a key has one name)",
		newname);
	fuse_reply_err(req, EPERM);
}

/* create: a new regular file, opened. */
static int do_create(fuse_req_t req, struct gfs *fs, struct node *dir, const char *name,
		     mode_t mode, struct fuse_file_info *fi, struct fuse_entry_param *e,
		     struct node **out)
{
	if (!S_ISREG(mode))
		return -EPERM;
	int r = do_make(req, dir, name, S_IFREG | (mode & 07777), NULL, out);
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

/* ---- removing entries ---- */

/* Unlinks file entry e (ns held shared). victim is its node, if any. */
static int unlink_entry(struct gfs *fs, struct node *dir, struct entry *e, struct node *victim)
{
	struct node *locked[2] = { dir, victim };
	lock_nodes(locked, 2);
	int r = 0;
	unsigned src = e->src;
	struct nattr a = e->a;
	if (victim) {
		src = victim->src;
		a = victim->a;
	}
	bool open = victim && victim->opens > 0;
	if (src == SRC_NONE) {
		r = -ENOENT;
		goto out_unlock;
	}
	if (src == SRC_IMPLIED || S_ISDIR(a.mode)) {
		r = -EISDIR;
		goto out_unlock;
	}
	int64_t now = gfs_now_ns();
	golite_batch *b = NULL;
	r = dir_touch_locked(fs, dir, gfs_batch(), true, now);
	if (r)
		goto out_unlock;
	/* dir_touch_locked may have given the directory its own record in a
	 * batch of its own; the thread's batch holds the touch. */
	b = gfs_batch_current();
	int e2 = golite_batch_delete_raw(b, e->k.table, e->k.b, e->k.len);
	if (e2) {
		r = -gfs_errno(e2, "unlink");
		goto out_unlock;
	}
	uint64_t ino = a.ino;
	bool chunked = a.chunked;
	if (chunked && !open) {
		r = chunks_delete_from(fs, b, ino, 0, NULL);
		if (!r)
			r = owner_delete(b, ino);
	} else if (!chunked && open && S_ISREG(a.mode)) {
		/* Still open: its bytes move to chunks, where the open file
		 * keeps reading and writing them until the last close. */
		struct rec rec;
		r = rec_get(fs, e->k.table, e->k.b, e->k.len, &rec);
		const uint8_t *data = rec.data;
		size_t dlen = rec.len;
		if (!r && rec.kind == KIND_META) {
			struct vfile f;
			if (vfile_decode(rec.data, rec.len, &f))
				r = -EIO;
			data = f.data;
			dlen = f.data_len;
		} else if (!r && rec.kind == KIND_VALUE) {
			r = ino_alloc(fs, &ino);
		}
		if (!r) {
			for (size_t off = 0; off < dlen && !r; off += VFILE_CHUNK) {
				uint8_t key[VFILE_CHUNK_KEY];
				vfile_chunk_key(key, ino, (uint32_t)(off / VFILE_CHUNK));
				size_t n = MIN((size_t)VFILE_CHUNK, dlen - off);
				if (golite_batch_put_raw(b, TABLE_ID_CHUNKS, KIND_VALUE, key,
							 sizeof(key), data + off, n))
					r = -EIO;
			}
		}
		if (!r)
			r = owner_put(b, ino, e->k.table, e->k.b, e->k.len);
		rec_free(&rec);
		chunked = true;
	}
	if (!r)
		r = gfs_write_batch(fs, b, "unlink");
	if (r)
		goto out_unlock;
	dir_touch_commit(dir, now);
	if (victim) {
		victim->src = SRC_NONE;
		victim->unlinked = true;
		victim->a.ino = ino;
		victim->a.chunked = chunked && open;
		victim->a.ctime = now;
		node_unhash(fs, victim);
		if (open && chunked)
			open_inos_add(fs, ino);
	}
	atomic_fetch_sub(&fs->files, 1);
out_unlock:
	unlock_nodes(locked, 2);
	if (!r) {
		/* The directory view of this name is no longer one. */
		struct node *view = node_find(fs, e->k.table, e->k.b, e->k.len, FL_VIEW, false);
		if (view) {
			node_unhash(fs, view);
			node_unref(fs, view);
		}
	}
	return r;
}

static int do_unlink(struct gfs *fs, struct node *dir, const char *name)
{
	if (dir == &fs->root || dir->flavor == FL_STATIC)
		return dir == &fs->root ? -EISDIR : -EPERM;
	if (fs->o.read_only)
		return -EROFS;
	struct entry *e = xmalloc(sizeof(*e));
	ns_rdlock(fs);
	int r = resolve_child(fs, dir, name, false, e);
	struct node *victim = NULL;
	if (!r && e->k.flavor != FL_NORMAL)
		r = -EISDIR;
	if (!r) {
		victim = node_find(fs, e->k.table, e->k.b, e->k.len, FL_NORMAL, false);
		if (!victim)
			r = entry_load(fs, e);
	}
	if (!r) {
		bool was = gfs_frees_space(true);
		r = unlink_entry(fs, dir, e, victim);
		gfs_frees_space(was);
	}
	ns_rdunlock(fs);
	node_unref(fs, victim);
	free(e);
	return r;
}

void gfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_UNLINK);
	struct node *dir = node_of(fs, parent);
	int r = do_unlink(fs, dir, name);
	if (!r)
		ev_child(fs, EV_UNLINK, dir, name);
	fuse_reply_err(req, -r);
}

static int do_rmtable(struct gfs *fs, const char *name)
{
	if (strcmp(name, CTL_NAME) == 0)
		return -EPERM;
	if (fs->o.read_only)
		return -EROFS;
	uint32_t id;
	int r = golite_table_id(fs->db, name, &id);
	if (r)
		return -ENOENT;
	r = golite_table_drop(fs->db, name, GOLITE_DROP_IF_EMPTY);
	if (r)
		return -gfs_errno(r, "drop a table");
	uint8_t key[5];
	table_fskey(id, key);
	fs_delete_key(fs, key, sizeof(key));
	struct node *n = node_find(fs, id, (const uint8_t *)"", 0, FL_TABLE, false);
	if (n) {
		mutex_lock(&n->mu);
		n->src = SRC_NONE;
		n->unlinked = true;
		mutex_unlock(&n->mu);
		node_unhash(fs, n);
		node_unref(fs, n);
	}
	return 0;
}

static int do_rmdir(struct gfs *fs, struct node *dir, const char *name)
{
	if (dir == &fs->root)
		return do_rmtable(fs, name);
	if (dir->flavor == FL_STATIC)
		return -EPERM;
	if (fs->o.read_only)
		return -EROFS;
	struct entry *e = xmalloc(sizeof(*e));
	ns_rdlock(fs);
	int r = resolve_child(fs, dir, name, false, e);
	struct node *victim = NULL;
	if (!r) {
		victim = node_find(fs, e->k.table, e->k.b, e->k.len, e->k.flavor, false);
		r = entry_load(fs, e);
	}
	if (r)
		goto out_unlock;
	if (e->src == SRC_NONE) {
		r = -ENOENT;
		goto out_unlock;
	}
	if (!S_ISDIR(e->a.mode)) {
		r = -ENOTDIR;
		goto out_unlock;
	}
	if (e->src != SRC_META) {
		r = -ENOTEMPTY;  /* implied by keys below it */
		goto out_unlock;
	}
	bool yes;
	e->k.b[e->k.len] = '/';
	r = has_children(fs, e->k.table, e->k.b, e->k.len + 1, &yes);
	if (!r && yes)
		r = -ENOTEMPTY;
	if (r)
		goto out_unlock;
	struct node *locked[2] = { dir, victim };
	lock_nodes(locked, 2);
	int64_t now = gfs_now_ns();
	r = dir_touch_locked(fs, dir, gfs_batch(), true, now);
	if (!r) {
		golite_batch *b = gfs_batch_current();
		int e2 = golite_batch_delete_raw(b, e->k.table, e->k.b, e->k.len);
		r = e2 ? -gfs_errno(e2, "rmdir") : gfs_write_batch(fs, b, "rmdir");
	}
	if (!r) {
		dir_touch_commit(dir, now);
		if (victim) {
			victim->src = SRC_NONE;
			victim->unlinked = true;
			node_unhash(fs, victim);
		}
		atomic_fetch_sub(&fs->files, 1);
	}
	unlock_nodes(locked, 2);
out_unlock:
	ns_rdunlock(fs);
	node_unref(fs, victim);
	free(e);
	return r;
}

void gfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_RMDIR);
	struct node *dir = node_of(fs, parent);
	bool was = gfs_frees_space(true);
	int r = do_rmdir(fs, dir, name);
	gfs_frees_space(was);
	if (!r)
		ev_child(fs, EV_RMDIR, dir, name);
	fuse_reply_err(req, -r);
}

/* ---- listings ---- */

struct dent {
	char *name;
	uint8_t flavor;              /* FL_* of the entry, FL_STATIC for . .. .golite */
	uint8_t src;
	uint32_t table;
	uint32_t comp_off;
	uint32_t klen;
	uint8_t *key;
	struct nattr a;
	struct node *special;        /* ".", ".." or .golite */
};

struct dirh {
	pthread_mutex_t mu;
	struct dent *v;
	size_t n, cap;
	bool started, done;
	golite_iter *it;
	struct kbuf *prefix;         /* the children's key prefix */
	bool partial;                /* the directory is a "%+" piece */
	uint8_t last_piece[ESC_PIECE];
	bool have_piece;
};

static void dh_clear(struct dirh *dh)
{
	for (size_t i = 0; i < dh->n; i++) {
		free(dh->v[i].name);
		free(dh->v[i].key);
	}
	dh->n = 0;
	golite_iter_free(dh->it);
	dh->it = NULL;
	dh->started = dh->done = dh->have_piece = false;
}

static struct dent *dh_add(struct dirh *dh, const char *name)
{
	if (dh->n == dh->cap) {
		dh->cap = dh->cap ? dh->cap * 2 : 64;
		dh->v = xrealloc(dh->v, dh->cap * sizeof(*dh->v));
	}
	struct dent *d = &dh->v[dh->n++];
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(name);
	return d;
}

static void dh_add_special(struct dirh *dh, const char *name, struct node *n)
{
	struct dent *d = dh_add(dh, name);
	d->flavor = FL_STATIC;
	d->special = n;
	mutex_lock(&n->mu);
	d->a = n->a;
	mutex_unlock(&n->mu);
}

/* Adds the entry for component c (acclen bytes of it consumed by pieces
 * above) at key ekey. */
static void dh_emit(struct gfs *fs, struct dirh *dh, const uint8_t *c, size_t clen,
		    size_t acclen, bool view, const uint8_t *ekey, size_t eklen, unsigned src,
		    const struct nattr *a)
{
	char name[ESC_NAME_MAX + 1];
	enum esc_kind kind = esc_encode(c, clen, acclen, view, name);
	struct kbuf *p = dh->prefix;
	struct dent d;
	memset(&d, 0, sizeof(d));
	d.table = p->table;
	if (kind == ESC_CONT) {
		const uint8_t *piece = c + acclen;
		if (dh->have_piece && memcmp(dh->last_piece, piece, ESC_PIECE) == 0)
			return;
		memcpy(dh->last_piece, piece, ESC_PIECE);
		dh->have_piece = true;
		d.flavor = FL_PARTIAL;
		d.comp_off = dh->partial ? p->comp_off : (uint32_t)p->len;
		d.klen = (uint32_t)(p->len + ESC_PIECE);
		d.key = xmalloc(d.klen);
		memcpy(d.key, p->b, p->len);
		memcpy(d.key + p->len, piece, ESC_PIECE);
		d.src = SRC_IMPLIED;
		attr_defaults_dir(fs, &d.a, hash_ino(d.table, d.key, d.klen, FL_PARTIAL));
	} else {
		d.flavor = view ? FL_VIEW : FL_NORMAL;
		d.klen = (uint32_t)eklen;
		d.key = xmemdup(ekey, eklen ? eklen : 1);
		d.src = (uint8_t)src;
		if (view)
			attr_defaults_dir(fs, &d.a, hash_ino(d.table, ekey, eklen, FL_VIEW));
		else
			d.a = *a;
	}
	struct dent *slot = dh_add(dh, name);
	d.name = slot->name;
	*slot = d;
}

/* Produces the entry or entries of the iterator's current key and moves
 * past it. */
static int dh_step(struct gfs *fs, struct dirh *dh)
{
	struct kbuf *p = dh->prefix;
	size_t klen;
	const uint8_t *key = golite_iter_key(dh->it, &klen);
	size_t coff = dh->partial ? p->comp_off : p->len;
	size_t acclen = p->len - coff;
	const uint8_t *slash = memchr(key + p->len, '/', klen - p->len);
	const uint8_t *c = key + coff;
	size_t clen = (slash ? (size_t)(slash - key) : klen) - coff;
	if (!slash) {
		/* A record: file, symlink, or directory made by mkdir. */
		if (!dh->partial || (clen > acclen && esc_chained(c, clen, false))) {
			size_t vlen;
			const uint8_t *v = golite_iter_value_raw(dh->it, &vlen);
			struct nattr a;
			unsigned kind = golite_iter_kind(dh->it);
			if (rec_attr_raw(fs, p->table, key, klen, kind, v, vlen, &a) == 0)
				dh_emit(fs, dh, c, clen, acclen, false, key, klen,
					kind == KIND_META ? SRC_META : SRC_VALUE, &a);
		}
		golite_iter_next(dh->it);
		return 0;
	}
	/* A directory component: emitted here unless its record was (a
	 * directory made by mkdir comes first, at its own key). */
	size_t dlen = coff + clen;
	uint8_t *seek = xmalloc(dlen + 1);
	memcpy(seek, key, dlen);
	struct rec rec;
	int r = rec_get(fs, p->table, seek, dlen, &rec);
	bool is_dir_rec = false, is_file_rec = false;
	if (r == 0) {
		struct nattr a;
		if (rec_attr(fs, p->table, seek, dlen, &rec, &a) == 0) {
			is_dir_rec = S_ISDIR(a.mode);
			is_file_rec = !is_dir_rec;
		}
	}
	rec_free(&rec);
	if (!is_dir_rec && (!dh->partial || clen > acclen)) {
		bool view = is_file_rec;
		bool shown = !dh->partial || (view ? clen > ESC_VIEW_MAX
						   : esc_chained(c, clen, false));
		if (shown) {
			struct nattr a;
			attr_defaults_dir(fs, &a, hash_ino(p->table, seek, dlen, FL_NORMAL));
			dh_emit(fs, dh, c, clen, acclen, view, seek, dlen, SRC_IMPLIED, &a);
		}
	}
	/* Skip every key below this component: seek to component + '0'
	 * ('/' + 1). */
	seek[dlen] = '/' + 1;
	golite_iter_seek(dh->it, seek, dlen + 1);
	free(seek);
	return 0;
}

/* Starts a listing of dir (offset 0). */
static int dh_start(struct gfs *fs, struct dirh *dh, struct node *dir)
{
	dh_clear(dh);
	dh->started = true;
	dh_add_special(dh, ".", dir);
	dh_add_special(dh, "..", &fs->root);
	if (dir == &fs->root) {
		dh_add_special(dh, CTL_NAME, &fs->ctl);
		char **names;
		size_t count;
		int r = golite_table_list(fs->db, &names, &count);
		if (r)
			return -gfs_errno(r, "list tables");
		for (size_t i = 0; i < count; i++) {
			uint32_t id;
			if (golite_table_id(fs->db, names[i], &id))
				continue;
			struct dent *d = dh_add(dh, names[i]);
			d->flavor = FL_TABLE;
			d->src = SRC_TABLE;
			d->table = id;
			d->key = xmalloc(1);
			table_attr(fs, id, &d->a);
		}
		golite_free(names);
		dh->done = true;
		return 0;
	}
	if (dir == &fs->ctl) {
		dh_add_special(dh, "events", &fs->ctl_events);
		dh_add_special(dh, "stats", &fs->ctl_stats);
		dh->done = true;
		return 0;
	}
	struct kbuf *dk = xmalloc(sizeof(*dk));
	ns_rdlock(fs);
	node_key(dir, dk);
	ns_rdunlock(fs);
	if (!dh->prefix)
		dh->prefix = xmalloc(sizeof(*dh->prefix));
	child_prefix(dk, dh->prefix);
	dh->partial = dk->flavor == FL_PARTIAL;
	free(dk);
	golite_iter_options o = { .prefix = dh->prefix->b, .prefix_len = dh->prefix->len };
	int r = golite_iter_new_raw(fs->db, dh->prefix->table, &o, &dh->it);
	if (r) {
		dh->it = NULL;
		return -gfs_errno(r, "list a directory");
	}
	golite_iter_seek_first(dh->it);
	return 0;
}

/* Produces entries until there are want of them or the listing ends. */
static int dh_fill(struct gfs *fs, struct dirh *dh, size_t want)
{
	while (!dh->done && dh->n < want) {
		if (!golite_iter_valid(dh->it)) {
			int r = golite_iter_status(dh->it);
			dh->done = true;
			if (r)
				return -gfs_errno(r, "list a directory");
			break;
		}
		int r = dh_step(fs, dh);
		if (r)
			return r;
	}
	return 0;
}

static void dirh_free(void *p)
{
	struct dirh *dh = p;
	dh_clear(dh);
	free(dh->v);
	free(dh->prefix);
	pthread_mutex_destroy(&dh->mu);
	free(dh);
}

void gfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_OPENDIR);
	struct node *n = node_of(fs, ino);
	if (!S_ISDIR(n->a.mode)) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	struct dirh *dh = xcalloc(1, sizeof(*dh));
	mutex_init(&dh->mu);
	fi->fh = handle_new(dh, dirh_free);
	if (fuse_reply_open(req, fi) == -ENOENT)
		handle_close(fi->fh);
}

static int do_readdir(fuse_req_t req, struct node *dir, struct dirh *dh, size_t size, off_t off,
		      bool plus, char *buf, size_t *used)
{
	struct gfs *fs = req_fs(req);
	*used = 0;
	if (off < 0)
		return -EINVAL;
	if (off == 0 || !dh->started) {
		int r = dh_start(fs, dh, dir);
		if (r)
			return r;
	}
	size_t pos = (size_t)off;
	while (*used < size) {
		int r = dh_fill(fs, dh, pos + 1);
		if (r)
			return *used ? 0 : r;
		if (pos >= dh->n)
			break;
		struct dent *d = &dh->v[pos];
		size_t rem = size - *used;
		size_t need;
		if (!plus) {
			struct stat st;
			memset(&st, 0, sizeof(st));
			st.st_ino = d->a.ino;
			st.st_mode = d->a.mode;
			need = fuse_add_direntry(req, buf + *used, rem, d->name, &st, (off_t)pos + 1);
		} else {
			struct fuse_entry_param e;
			need = fuse_add_direntry_plus(req, NULL, 0, d->name, NULL, 0);
			if (need > rem)
				break;
			if (d->special == &fs->root || (d->special && d->name[0] == '.' &&
							(d->name[1] == '\0' ||
							 (d->name[1] == '.' && !d->name[2])))) {
				/* The kernel takes no lookup count for . and .. */
				memset(&e, 0, sizeof(e));
				attr_to_stat(fs, &d->a, &e.attr);
			} else if (d->special) {
				node_fill_entry(fs, d->special, &e);
			} else {
				struct node *n = node_get(fs, d->table, d->key, d->klen, d->flavor,
							  d->comp_off, d->src, &d->a, true);
				node_fill_entry(fs, n, &e);
			}
			need = fuse_add_direntry_plus(req, buf + *used, rem, d->name, &e,
						      (off_t)pos + 1);
		}
		if (need > rem)
			break;
		*used += need;
		pos++;
	}
	return 0;
}

static void readdir_common(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
			   struct fuse_file_info *fi, bool plus)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, plus ? OP_READDIRPLUS : OP_READDIR);
	struct dirh *dh = handle_get(fi->fh);
	char *buf = xmalloc(size ? size : 1);
	size_t used = 0;
	int r = -EBADF;
	if (dh) {
		mutex_lock(&dh->mu);
		r = do_readdir(req, node_of(fs, ino), dh, size, off, plus, buf, &used);
		mutex_unlock(&dh->mu);
		handle_put(fi->fh);
	}
	if (r)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

void gfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, false);
}

void gfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	readdir_common(req, ino, size, off, fi, true);
}

void gfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	(void)ino;
	op_count(fs, OP_RELEASEDIR);
	handle_close(fi->fh);
	fuse_reply_err(req, 0);
}

void gfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	(void)ino;
	(void)datasync;
	(void)fi;
	op_count(fs, OP_FSYNCDIR);
	uint64_t start = gfs_clock_ns();
	int r = golite_sync(fs->db);
	metrics_latency(fs, LAT_FSYNC, start);
	fuse_reply_err(req, r ? gfs_errno(r, "fsyncdir") : 0);
}
