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

#endif /* GOLITEFS_LOOKUP_H */
