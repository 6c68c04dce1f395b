/*
 * lookup.h — lookup and forget (lookup.c), and the root's attributes.
 */
#ifndef GOLITEFS_LOOKUP_H
#define GOLITEFS_LOOKUP_H

#include "fs.h"

/* Gives the root node its attributes: its record's ("R" in GOLITE_TABLE_FS),
 * or the defaults when it has none. At mount, before the session runs. */
void root_init(struct gfs *fs);

void gfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name);
void gfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void gfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets);

/* export.c: the lookups of "." (a node reached by its id alone) and ".."
 * (a directory's parent) that the kernel makes for file handles. Each
 * fills ep with one more lookup count on the node, or returns -ESTALE. */
int export_self(struct gfs *fs, struct node *n, struct fuse_entry_param *ep);
int export_parent(struct gfs *fs, struct node *dir, struct fuse_entry_param *ep);

#endif /* GOLITEFS_LOOKUP_H */
