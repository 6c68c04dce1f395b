/*
 * export.c — what exporting the mount needs (NFS through a server on top
 * of it, name_to_handle_at/open_by_handle_at): the lookups of "." and ".."
 * that the kernel makes for file handles.
 *
 * A FUSE file handle holds a node id and its generation (node.c). When
 * the kernel no longer has the inode of a handle it asks the daemon to
 * look up "." in that node id; to connect a directory's handle to the
 * tree it asks for ".." of the directory. Neither name reaches the daemon
 * otherwise (the kernel resolves them in paths itself).
 *
 * Nodes do not point to their parents: a node's parent follows from its
 * identity. An entry whose key is K, and whose last component starts
 * after the last '/' of K (for a piece: at its comp_off), is in
 *   - the "%+" piece directory (FL_PARTIAL) that consumed the bytes of
 *     its component before it, when the component is chained (escape.h);
 *   - else the table's directory when the component starts the key;
 *   - else the directory of the key before that '/':
 *     that entry itself when it is a directory, its view (FL_VIEW, "%_")
 *     when it is a file.
 * Table directories and /.golite are in the root, the control files in
 * /.golite, and the root is its own parent.
 *
 * Invariants:
 *   1. "." answers a node only while it names an entry (node_revive):
 *      a handle of an entry removed or replaced since answers ESTALE, never
 *      another entry.
 *   2. Both answers carry one lookup count, as every entry replied does
 *      (lookup.c, invariant 5).
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "lookup.h"
#include "util.h"

int export_self(struct gfs *fs, struct node *n, struct fuse_entry_param *ep)
{
	if (!node_revive(fs, n))
		return -ESTALE;
	node_fill_entry(fs, n, ep);
	return 0;
}

static bool node_is_dir_locked(struct node *n)
{
	mutex_lock(&n->mu);
	bool dir = node_is_dir(n);
	mutex_unlock(&n->mu);
	return dir;
}

/* The directory holding the entry of key k (ns held): its node with one
 * lookup count, or NULL if it is gone. */
static int parent_node(struct gfs *fs, const struct kbuf *k, struct entry *p, struct node **out)
{
	size_t c, acc;
	char name[ESC_NAME_MAX + 1];
	*out = NULL;
	if (k->flavor == FL_PARTIAL) {
		c = k->comp_off;
		acc = k->len - c - ESC_PIECE;
	} else {
		/* comp_off is kept for pieces only; a component holds no '/'. */
		c = k->len;
		while (c > 0 && k->b[c - 1] != '/')
			c--;
		acc = 0;
		while (esc_encode(k->b + c, k->len - c, acc, k->flavor == FL_VIEW, name) ==
		       ESC_CONT)
			acc += ESC_PIECE;
	}
	p->k.table = k->table;
	if (acc > 0) {
		memcpy(p->k.b, k->b, c + acc);
		p->k.len = c + acc;
		p->k.flavor = FL_PARTIAL;
		p->k.comp_off = (uint32_t)c;
		return entry_node(fs, p, true, out);
	}
	if (c == 0) {
		*out = table_node(fs, k->table, true);
		return 0;
	}
	/* The key before the '/' that ends at comp_off. */
	size_t dlen = c - 1, doff = dlen;
	while (doff > 0 && k->b[doff - 1] != '/')
		doff--;
	memcpy(p->k.b, k->b, dlen);
	p->k.len = dlen;
	p->k.comp_off = (uint32_t)doff;
	p->k.flavor = FL_NORMAL;
	int r = entry_node(fs, p, true, out);
	if (r || (*out && node_is_dir_locked(*out)))
		return r;
	if (*out)
		node_forget(fs, *out, 1);
	/* A file there: its directory is the view. */
	p->k.len = dlen;
	p->k.flavor = FL_VIEW;
	return entry_node(fs, p, true, out);
}

int export_parent(struct gfs *fs, struct node *dir, struct fuse_entry_param *ep)
{
	if (dir == &fs->ctl_stats || dir == &fs->ctl_events || dir == &fs->ctl_checkpoint ||
	    dir == &fs->ctl_snapshots) {
		node_fill_entry(fs, &fs->ctl, ep);
		return 0;
	}
	if (dir->flavor == FL_SNAPROOT) {
		node_fill_entry(fs, &fs->ctl_snapshots, ep);
		return 0;
	}
	if (dir->flavor == FL_TABLE && node_frozen(dir)) {
		/* A table of a snapshot view: the view's root. */
		struct node *v = node_find(fs, dir->table & ~GFS_TABLE_MASK, (const uint8_t *)"", 0,
					   FL_SNAPROOT, true);
		if (!v)
			return -ESTALE;
		node_fill_entry(fs, v, ep);
		return 0;
	}
	if (dir->flavor == FL_STATIC || dir->flavor == FL_TABLE) {
		node_fill_entry(fs, &fs->root, ep);
		return 0;
	}
	struct kbuf *k = xmalloc(sizeof(*k));
	struct entry *p = xmalloc(sizeof(*p));
	struct node *n;
	ns_rdlock(fs);
	node_key(dir, k);
	int r = parent_node(fs, k, p, &n);
	ns_rdunlock(fs);
	free(p);
	free(k);
	if (r)
		return r;
	if (!n)
		return -ESTALE;
	node_fill_entry(fs, n, ep);
	return 0;
}
