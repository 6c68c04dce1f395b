/*
 * remove.c — removing entries: unlink, rmdir, and rmdir of a table at
 * the root (dropped only when empty).
 *
 * Invariants:
 *   1. In a table, the deletion of an entry's record, its directory's
 *      new times and, for a chunked file no one has open, the deletion of
 *      its chunks and owner record go in one batch. The deletions of a
 *      very large file take several batches, the first holding the
 *      record's (chunks.c); the sweep finishes what a stop cuts short.
 *   2. A directory implied by keys below it gets a record of its own
 *      before an entry is removed from it, so that it stays, empty, when
 *      its last entry goes (dir_touch_locked).
 *   3. A regular file open at its unlink keeps its bytes until its last
 *      close: inline bytes move to chunks, with an owner record (fs.h
 *      invariant 3), in the batch that deletes the record; its inode joins
 *      the open inodes that the sweep spares, and its last release frees
 *      the chunks (data_release_unlinked).
 *   4. rmdir removes only a directory record with no key below it; an
 *      implied directory is never empty (ENOTEMPTY).
 *   5. Removals free space (gfs_frees_space), so they work on a full
 *      disk.
 *   6. A removed entry's node is SRC_NONE and unlinked, and leaves the
 *      map; so does the directory view of an unlinked file.
 * The directory's node and the entry's are locked together, in address
 * order (lock_nodes), with ns held shared.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"
#include "data.h"
#include "dir.h"
#include "hardlink.h"
#include "persist.h"
#include "remove.h"
#include "util.h"

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
	int64_t now = wall_ns();
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
	bool linked = victim && node_is_shared(victim);
	uint32_t left = 0;
	struct vrec v = { 0 };
	if (linked)
		r = hlink_drop_name(fs, b, victim, &e->k, now, &left, &ino, &chunked, &v);
	else
		r = chunks_release_name(fs, b, &e->k, a.mode, open, &ino, &chunked);
	if (!r)
		r = gfs_write_batch(fs, b, "unlink");
	if (!r && left)
		hlink_drop_commit(fs, victim, left, &v);
	vrec_free(&v);
	if (r)
		goto out_unlock;
	dir_touch_commit(dir, now);
	if (victim && !left) {
		victim->a.ctime = now;
		node_name_gone_locked(fs, victim, ino, chunked);
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
	if (fs->o.read_only || node_frozen(dir))
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
		/* A name of a linked file: the file's node is held and locked
		 * while its names are counted (hardlink.c, invariant 2). */
		if (!r && !victim && e->link)
			r = hlink_node(fs, e->link, 0, false, &victim);
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
	struct node *dir = req_node(req, parent);
	if (!dir)
		return;
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
	node_table_gone(fs, id);
	return 0;
}

static int do_rmdir(struct gfs *fs, struct node *dir, const char *name)
{
	if (dir == &fs->root)
		return do_rmtable(fs, name);
	if (dir == &fs->ctl_snapshots)
		return snapview_rmdir(fs, name);
	if (dir->flavor == FL_STATIC)
		return -EPERM;
	if (fs->o.read_only || node_frozen(dir))
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
	int64_t now = wall_ns();
	r = dir_touch_locked(fs, dir, gfs_batch(), true, now);
	if (!r) {
		golite_batch *b = gfs_batch_current();
		int e2 = golite_batch_delete_raw(b, e->k.table, e->k.b, e->k.len);
		r = e2 ? -gfs_errno(e2, "rmdir") : gfs_write_batch(fs, b, "rmdir");
	}
	if (!r) {
		dir_touch_commit(dir, now);
		dir_nlink_adjust(dir, -1);
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
	struct node *dir = req_node(req, parent);
	if (!dir)
		return;
	bool was = gfs_frees_space(true);
	int r = do_rmdir(fs, dir, name);
	gfs_frees_space(was);
	if (!r)
		ev_child(fs, EV_RMDIR, dir, name);
	fuse_reply_err(req, -r);
}
