/*
 * readdir.c — directory listings and the other requests on open
 * directories: opendir, readdir, readdirplus, releasedir, fsyncdir.
 *
 * The root lists the tables and /.golite, /.golite its two files; a
 * directory of a table lists the first components of the keys below its
 * prefix, escaped as escape.h describes (the entries a lookup resolves,
 * lookup.c).
 *
 * Listing cookies. A listing is read from one iterator, which sees a
 * snapshot of the store taken when the listing starts (offset 0: opendir,
 * rewinddir). The entries produced are kept with the open directory, and
 * the offset of an entry is its position in that list: an offset the
 * kernel or telldir() got stays valid for the life of the handle, and
 * names created or removed meanwhile neither shift nor repeat entries.
 * Seeking back to 0 starts a new snapshot.
 *
 * Invariants:
 *   1. The offset of an entry is its position in the handle's list plus
 *      one, and the list only grows until the listing restarts at 0.
 *   2. Each name appears once in a listing: a directory made by mkdir at
 *      its record (and not again for the keys below it, which are
 *      skipped with one seek), a "%+" piece once for all the keys that
 *      share it.
 *   3. readdirplus gives every entry but . and .. (for which the kernel
 *      takes no lookup count) its node, as a lookup does.
 *   4. Requests on one handle take turns (dirh.mu); a release racing a
 *      read frees the listing only after it (handle.c).
 */
#include "fs.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "hardlink.h"
#include "readdir.h"
#include "util.h"

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
			if (rec_attr_raw(fs, p->table, key, klen, kind, v, vlen, &a) == 0) {
				a.expires = golite_iter_expires(dh->it);
				dh_emit(fs, dh, c, clen, acclen, false, key, klen,
					kind == GOLITE_KIND_META ? SRC_META : SRC_VALUE, &a);
			}
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

/* Adds the tables, of the live store (view 0) or of a snapshot view's
 * (its slot's bits), and ends the listing. */
static int dh_tables(struct gfs *fs, struct dirh *dh, uint32_t view)
{
	const golite_snapshot *snap = gfs_snap(fs, view);
	char **names;
	size_t count;
	int r = golite_table_list_at(fs->db, snap, &names, &count);
	if (r)
		return -gfs_errno(r, "list tables");
	for (size_t i = 0; i < count; i++) {
		uint32_t id;
		if (golite_table_id_at(fs->db, snap, names[i], &id) || id > GFS_TABLE_MASK)
			continue;
		struct dent *d = dh_add(dh, names[i]);
		d->flavor = FL_TABLE;
		d->src = SRC_TABLE;
		d->table = id | view;
		d->key = xmalloc(1);
		table_attr(fs, id | view, &d->a);
	}
	golite_free(names);
	dh->done = true;
	return 0;
}

/* Adds the named snapshots (their entries carry no attributes: the
 * kernel looks a name up, which opens its view, only when it needs it). */
static int dh_snapshots(struct gfs *fs, struct dirh *dh)
{
	golite_snapshot_info *v;
	size_t n;
	int r = golite_snapshot_list(fs->db, &v, &n);
	if (r)
		return -gfs_errno(r, "list snapshots");
	for (size_t i = 0; i < n; i++) {
		struct dent *d = dh_add(dh, v[i].name);
		d->flavor = FL_SNAPROOT;
		d->a.mode = S_IFDIR | 0555;
		d->a.ino = hash_ino(0, (const uint8_t *)v[i].name, strlen(v[i].name), FL_SNAPROOT);
	}
	golite_free(v);
	dh->done = true;
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
		return dh_tables(fs, dh, 0);
	}
	if (dir == &fs->ctl_snapshots)
		return dh_snapshots(fs, dh);
	if (dir->flavor == FL_SNAPROOT)
		return dh_tables(fs, dh, dir->table);
	if (dir == &fs->ctl) {
		dh_add_special(dh, "checkpoint", &fs->ctl_checkpoint);
		dh_add_special(dh, "snapshots", &fs->ctl_snapshots);
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
	int r = gfs_iter_new(fs, dh->prefix->table, &o, &dh->it);
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

/* Counts the subdirectories a listing of dir shows. */
static int count_subdirs(struct gfs *fs, struct node *dir, uint32_t *count)
{
	struct dirh *dh = xcalloc(1, sizeof(*dh));
	mutex_init(&dh->mu);
	*count = 0;
	int r = dh_start(fs, dh, dir);
	for (size_t i = 0; !r;) {
		/* A batch of entries at a time, freed as they are counted. */
		r = dh_fill(fs, dh, dh->n + 4096);
		for (; !r && i < dh->n; i++) {
			const struct dent *d = &dh->v[i];
			if (S_ISDIR(d->a.mode) && (!d->special || d->special == &fs->ctl))
				(*count)++;
		}
		if (r || dh->done)
			break;
		for (size_t j = 0; j < dh->n; j++) {
			free(dh->v[j].name);
			free(dh->v[j].key);
		}
		dh->n = i = 0;
	}
	dirh_free(dh);
	return r;
}

void dir_nlink_fill(struct gfs *fs, struct node *n)
{
	mutex_lock(&n->mu);
	bool want = node_is_dir(n) && !n->unlinked && (n->a.nlink < 2 || n == &fs->root);
	uint32_t gen = n->nlink_gen;
	mutex_unlock(&n->mu);
	if (!want || node_is_ctl(fs, n))
		return;
	uint32_t count;
	if (count_subdirs(fs, n, &count))
		return;   /* shown as 1 link, counted again at the next request */
	mutex_lock(&n->mu);
	if (n->nlink_gen == gen)
		n->a.nlink = 2 + count;
	mutex_unlock(&n->mu);
}

void gfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_OPENDIR);
	struct node *n = req_node(req, ino);
	if (!n)
		return;
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
			st.st_ino = snap_ino(d->table, d->a.ino);
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
			} else if (d->flavor == FL_SNAPROOT) {
				memset(&e, 0, sizeof(e));  /* the kernel looks it up */
				e.attr.st_mode = d->a.mode;
				e.attr.st_ino = d->a.ino;  /* (readdir skips inode 0) */
			} else if (d->a.hlink) {
				/* A name of a linked file: the file's node. */
				struct node *n;
				ns_rdlock(fs);
				int lr = hlink_node(fs, d->a.ino, d->table & ~GFS_TABLE_MASK,
						    true, &n);
				ns_rdunlock(fs);
				if (lr) {
					memset(&e, 0, sizeof(e));  /* the kernel looks it up */
					e.attr.st_mode = d->a.mode;
					e.attr.st_ino = snap_ino(d->table, d->a.ino);
				} else {
					node_fill_entry_cached(fs, n, &e);
				}
			} else {
				/* Subdirectories are not counted here: a listing of
				 * each would multiply the cost of this one. */
				struct node *n = node_get(fs, d->table, d->key, d->klen, d->flavor,
							  d->comp_off, d->src, &d->a, true);
				node_fill_entry_cached(fs, n, &e);
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
	struct node *n = node_of(fs, ino);
	int r = -EBADF;
	if (dh) {
		mutex_lock(&dh->mu);
		r = n ? do_readdir(req, n, dh, size, off, plus, buf, &used) : -ESTALE;
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
	uint64_t start = now_ns();
	int r = golite_sync(fs->db);
	metrics_latency(fs, LAT_FSYNC, start);
	fuse_reply_err(req, r ? gfs_errno(r, "fsyncdir") : 0);
}
