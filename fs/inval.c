/*
 * inval.c — forgetting what the daemon and the kernel cached about a key
 * that changed behind the mount's back: written or deleted through the
 * network front ends (netglue.c), or deleted by the store at its expiry
 * (ttl.c).
 *
 * The kernel caches names (negative ones too), attributes and pages, and
 * the daemon caches each known entry's attributes in its node (fs.h),
 * both on the promise that every change comes through the mount. For a
 * key changed otherwise, gfs_key_changed undoes what was cached about it:
 *   - the node of the key, if the kernel knows it, is taken out of the
 *     node map (the next lookup builds a fresh one from the store) and,
 *     unless a file handle has it open, marked gone so that no size or
 *     time held for it is ever written back over the new value; the
 *     kernel drops its attributes and pages (notify_inval_inode);
 *   - the kernel drops its entry for each component of the key in each
 *     directory it knows on the way (notify_inval_entry), so a name it
 *     cached as absent, or a directory that appeared or vanished, is
 *     looked up again;
 *   - the directories above the key join the index of implied
 *     directories (implied.c), and count their subdirectories again.
 *
 * Not covered: a key component longer than one name ("%+" pieces) is not
 * invalidated in the kernel and shows after entry_timeout.
 */
#include "fs.h"

#include <string.h>

#include "escape.h"

/* The key's own node: out of the map, and gone unless open. */
static void forget_key_node(struct gfs *fs, uint32_t tid, const uint8_t *key, size_t klen)
{
	struct node *n = node_find(fs, tid, key, klen, FL_NORMAL, false);
	if (!n)
		return;
	node_unhash(fs, n);
	mutex_lock(&n->mu);
	if (n->opens == 0 && n->src != SRC_IMPLIED)
		n->src = SRC_NONE;
	mutex_unlock(&n->mu);
	fuse_lowlevel_notify_inval_inode(fs->se, node_id(fs, n), 0, 0);
	node_unref(fs, n);
}

static void inval_name(struct gfs *fs, struct node *dir, const uint8_t *c, size_t clen,
		       bool view)
{
	char name[ESC_NAME_MAX + 1];
	if (esc_chained(c, clen, view))
		return;
	esc_encode(c, clen, 0, view, name);
	fuse_lowlevel_notify_inval_entry(fs->se, node_id(fs, dir), name, strlen(name));
}

void gfs_key_changed(struct gfs *fs, uint32_t tid, const uint8_t *key, size_t klen)
{
	if (!fs->se)
		return;
	implied_add_key(fs, tid, key, klen);
	forget_key_node(fs, tid, key, klen);
	/* Each component in the directory above it, from the table down, as
	 * far as the kernel knows the directories. */
	struct node *dir = node_find(fs, tid, (const uint8_t *)"", 0, FL_TABLE, false);
	size_t start = 0;
	bool nested = memchr(key, '/', klen) != NULL;
	while (dir) {
		const uint8_t *slash = memchr(key + start, '/', klen - start);
		size_t end = slash ? (size_t)(slash - key) : klen;
		if (nested) {
			/* A key below a directory may make or end an implied
			 * directory: its directories count again. */
			mutex_lock(&dir->mu);
			dir_nlink_forget(dir);
			mutex_unlock(&dir->mu);
		}
		inval_name(fs, dir, key + start, end - start, false);
		struct node *next = NULL;
		if (slash) {
			inval_name(fs, dir, key + start, end - start, true);
			next = node_find(fs, tid, key, end, FL_NORMAL, false);
			if (!next)
				next = node_find(fs, tid, key, end, FL_VIEW, false);
		}
		node_unref(fs, dir);
		dir = next;
		start = end + 1;
	}
}

