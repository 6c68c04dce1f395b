/*
 * lookup.c — from names to entries and nodes: lookup and forget, and the
 * resolution of a name in a directory that every directory operation
 * shares (dir.h).
 *
 * The root lists the tables and /.golite. In a table, the entries of a
 * directory with key K are the first components of the keys below
 * K + "/": a key without a further '/' is a file (or a directory or
 * symlink record), a component followed by '/' is a directory, with a
 * record of its own (made by mkdir) or implied by the keys below it.
 * Names are escaped as escape.h describes. A table directory's record,
 * when it has one, is "T" + table id in GOLITE_TABLE_FS; the root's is "R".
 *
 * Invariants:
 *   1. An entry that has a node is answered from the node (fs.h: what a
 *      node caches stays true until the daemon changes the record);
 *      the store is read only for entries without one.
 *   2. A name is resolved and its entry loaded under one hold of ns
 *      shared, so a directory rename cannot move it in between.
 *   3. A name that names nothing is a negative entry (inode 0, cached
 *      for negative_timeout), not ENOENT.
 *   4. A well-formed "%+" piece always resolves, whether or not keys
 *      below it exist (entry_load).
 *   5. Every entry replied carries one lookup count on its node, which
 *      the kernel's forget gives back.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "hardlink.h"
#include "lookup.h"
#include "util.h"

/* ---- tables and the root ---- */

void table_fskey(uint32_t id, uint8_t key[5])
{
	key[0] = FSKEY_TABLE;
	put_be32(key + 1, id);
}

void table_attr(struct gfs *fs, uint32_t id, struct nattr *a)
{
	uint8_t key[5];
	table_fskey(id & GFS_TABLE_MASK, key);
	struct rec r;
	attr_defaults_dir(fs, a, GFS_INO_TABLE | id);
	/* (A view's table: its record as it was, through the view's bits.) */
	uint32_t fst = GOLITE_TABLE_FS | (id & ~GFS_TABLE_MASK);
	if (rec_get(fs, fst, key, sizeof(key), &r) == 0 && r.kind == GOLITE_KIND_META) {
		struct nattr t;
		if (rec_attr(fs, GOLITE_TABLE_FS, key, sizeof(key), &r, &t) == 0 && S_ISDIR(t.mode)) {
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
	if (rec_get(fs, GOLITE_TABLE_FS, &key, 1, &r) == 0 && r.kind == GOLITE_KIND_META) {
		struct nattr t;
		if (rec_attr(fs, GOLITE_TABLE_FS, &key, 1, &r, &t) == 0 && S_ISDIR(t.mode)) {
			n->a = t;
			n->a.ino = GFS_INO_ROOT;
		}
	}
	rec_free(&r);
}

struct node *table_node(struct gfs *fs, uint32_t id, bool lookup)
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
	int r = gfs_iter_new(fs, table, &o, &it);
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
	e->link = 0;
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
		e->src = kind == GOLITE_KIND_META ? SRC_META : SRC_VALUE;
		e->a = a;
		if (a.hlink) {
			/* A name of a linked file: the file is its shared record. */
			e->link = a.ino;
			return hlink_load(fs, e->link, k->table & ~GFS_TABLE_MASK, &e->a);
		}
		return 0;
	}
	if (found && a.hlink && S_ISDIR(a.mode))
		return -EIO;
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

int entry_node(struct gfs *fs, struct entry *e, bool lookup, struct node **out)
{
	struct kbuf *k = &e->k;
	*out = node_find(fs, k->table, k->b, k->len, k->flavor, lookup);
	if (*out)
		return 0;
	int r = entry_load(fs, e);
	if (r || e->src == SRC_NONE)
		return r;
	if (e->link)
		return hlink_node(fs, e->link, k->table & ~GFS_TABLE_MASK, lookup, out);
	*out = node_get(fs, k->table, k->b, k->len, k->flavor, k->comp_off, e->src, &e->a, lookup);
	return 0;
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
	if (!dir)
		return -ESTALE;
	/* The kernel asks these only for file handles (export.c). */
	if (strcmp(name, ".") == 0)
		return export_self(fs, dir, ep);
	if (strcmp(name, "..") == 0)
		return export_parent(fs, dir, ep);
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
	if (dir == &fs->ctl_snapshots)
		return snapview_lookup(fs, name, ep);
	if (dir->flavor == FL_SNAPROOT)
		return snapview_table(fs, dir, name, ep);
	if (node_is_ctl(fs, dir))
		return ctl_lookup(fs, dir, name, ep);
	struct entry *e = xmalloc(sizeof(*e));
	ns_rdlock(fs);
	int r = resolve_child(fs, dir, name, false, e);
	struct node *n = NULL;
	if (!r)
		r = entry_node(fs, e, true, &n);
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
	struct node *n = node_of(fs, ino);
	if (n)
		node_forget(fs, n, nlookup);
	fuse_reply_none(req);
}

void gfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_FORGET);
	for (size_t i = 0; i < count; i++) {
		struct node *n = node_of(fs, forgets[i].ino);
		if (n)
			node_forget(fs, n, forgets[i].nlookup);
	}
	fuse_reply_none(req);
}
