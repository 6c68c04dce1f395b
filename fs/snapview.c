/*
 * snapview.c — /.golite/snapshots: the store's named snapshots
 * (golite_snapshot_*), each a read-only tree of the tables as they were.
 *
 *   ls /.golite/snapshots           the named snapshots
 *   mkdir /.golite/snapshots/NAME   takes one of now (after the daemon's
 *                                   pending sizes and times), durably
 *   rmdir /.golite/snapshots/NAME   drops it
 *   /.golite/snapshots/NAME/T/...   table T and its entries at the snapshot
 *
 * A view is opened at the first lookup of its name and given a slot
 * (1..GFS_SNAP_MAX): the nodes below it carry the slot in the top bits of
 * their table id (fs.h), and the reads made for them go to the slot's
 * snapshot (gfs_snap). Every change below a view is EROFS (node_frozen).
 *
 * Invariants:
 *   1. A slot, once given, keeps its handle until unmount: nodes the
 *      kernel still holds read the same snapshot even after an rmdir
 *      (whose versions the engine frees when the handle goes, at
 *      unmount). A dropped name no longer resolves.
 *   2. Slots are not reused within a mount; past GFS_SNAP_MAX views a
 *      lookup of another name answers EMFILE.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dir.h"
#include "persist.h"
#include "util.h"

void snapview_init(struct gfs *fs)
{
	mutex_init(&fs->snap_mu);
	struct node *d = &fs->ctl_snapshots;
	d->src = SRC_CTL;
	attr_defaults_dir(fs, &d->a, GFS_INO_CTL_SNAPSHOTS);
	d->a.mode = S_IFDIR | 0755;
}

void snapview_destroy(struct gfs *fs)
{
	for (unsigned i = 1; i <= GFS_SNAP_MAX; i++) {
		golite_snapshot_free(atomic_load(&fs->snaps[i]));
		fs->snaps[i] = NULL;
		free(fs->snap_names[i]);
		fs->snap_names[i] = NULL;
	}
	pthread_mutex_destroy(&fs->snap_mu);
}

const golite_snapshot *gfs_snap(struct gfs *fs, uint32_t table)
{
	unsigned slot = snap_slot(table);
	return slot ? atomic_load_explicit(&fs->snaps[slot], memory_order_acquire) : NULL;
}

/* The node of a view's root, with one lookup count. */
static struct node *root_node(struct gfs *fs, unsigned slot, int64_t time_ns)
{
	struct nattr a;
	attr_defaults_dir(fs, &a, GFS_INO_TABLE | ((uint64_t)slot << GFS_SNAP_SHIFT));
	a.mode = S_IFDIR | 0555;
	if (time_ns)
		a.mtime = a.ctime = a.atime = time_ns;
	return node_get(fs, (uint32_t)slot << GFS_SNAP_SHIFT, (const uint8_t *)"", 0,
			FL_SNAPROOT, 0, SRC_CTL, &a, true);
}

/* The slot of the view of name, opened if it is not: 0 or -errno. */
static int view_of(struct gfs *fs, const char *name, unsigned *slot, int64_t *time_ns)
{
	golite_snapshot_info *v;
	size_t n;
	*time_ns = 0;
	int r = golite_snapshot_list(fs->db, &v, &n);
	if (r)
		return -gfs_errno(r, "list snapshots");
	bool found = false;
	for (size_t i = 0; i < n && !found; i++)
		if (strcmp(v[i].name, name) == 0) {
			found = true;
			*time_ns = v[i].time_ns;
		}
	golite_free(v);
	if (!found)
		return -ENOENT;
	mutex_lock(&fs->snap_mu);
	for (unsigned i = 1; i <= fs->snap_count; i++)
		if (!fs->snap_dropped[i] && strcmp(fs->snap_names[i], name) == 0) {
			*slot = i;
			mutex_unlock(&fs->snap_mu);
			return 0;
		}
	r = 0;
	if (fs->snap_count == GFS_SNAP_MAX) {
		gfs_log(LOG_LVL_WARN, "snapshot %s: %u snapshots were opened on this mount, "
			"the most it can; unmount and mount again to look at more", name,
			GFS_SNAP_MAX);
		r = -EMFILE;
	} else {
		golite_snapshot *s;
		int e = golite_snapshot_open(fs->db, name, &s);
		if (e) {
			r = e == GOLITE_ENOTFOUND ? -ENOENT : -gfs_errno(e, "open a snapshot");
		} else {
			*slot = ++fs->snap_count;
			fs->snap_names[*slot] = xstrdup(name);
			atomic_store_explicit(&fs->snaps[*slot], s, memory_order_release);
		}
	}
	mutex_unlock(&fs->snap_mu);
	return r;
}

int snapview_lookup(struct gfs *fs, const char *name, struct fuse_entry_param *e)
{
	unsigned slot = 0;
	int64_t t;
	int r = view_of(fs, name, &slot, &t);
	if (r == -ENOENT) {
		memset(e, 0, sizeof(*e));
		e->entry_timeout = fs->o.negative_timeout;
		return 0;
	}
	if (r)
		return r;
	node_fill_entry(fs, root_node(fs, slot, t), e);
	return 0;
}

int snapview_mkdir(struct gfs *fs, const char *name, struct fuse_entry_param *e)
{
	if (fs->o.read_only)
		return -EROFS;
	if (strlen(name) > GOLITE_MAX_SNAPSHOT_NAME)
		return -ENAMETOOLONG;
	/* Sizes and times the daemon still holds go into the store first. */
	dirty_flush_all(fs);
	uint64_t seq;
	int r = golite_snapshot_create(fs->db, name, &seq);
	if (r == GOLITE_EEXIST)
		return -EEXIST;
	if (r == GOLITE_ENAME)
		return -EINVAL;
	if (r)
		return -gfs_errno(r, "take a snapshot");
	gfs_log(LOG_LVL_INFO, "snapshot %s: sequence %llu", name, (unsigned long long)seq);
	return snapview_lookup(fs, name, e);
}

int snapview_rmdir(struct gfs *fs, const char *name)
{
	if (fs->o.read_only)
		return -EROFS;
	int r = golite_snapshot_drop(fs->db, name);
	if (r == GOLITE_ENOTFOUND || r == GOLITE_ENAME)
		return -ENOENT;
	if (r)
		return -gfs_errno(r, "drop a snapshot");
	mutex_lock(&fs->snap_mu);
	for (unsigned i = 1; i <= fs->snap_count; i++)
		if (!fs->snap_dropped[i] && strcmp(fs->snap_names[i], name) == 0)
			fs->snap_dropped[i] = true;
	mutex_unlock(&fs->snap_mu);
	gfs_log(LOG_LVL_INFO, "snapshot %s dropped", name);
	return 0;
}

int snapview_table(struct gfs *fs, struct node *root, const char *name,
		   struct fuse_entry_param *e)
{
	uint32_t bits = root->table & ~GFS_TABLE_MASK;
	uint32_t id;
	if (golite_table_id_at(fs->db, gfs_snap(fs, root->table), name, &id) ||
	    id > GFS_TABLE_MASK) {
		memset(e, 0, sizeof(*e));
		e->entry_timeout = fs->o.negative_timeout;
		return 0;
	}
	node_fill_entry(fs, table_node(fs, id | bits, true), e);
	return 0;
}
