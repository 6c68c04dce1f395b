/*
 * remove.h — the requests that remove entries (remove.c).
 */
#ifndef GOLITEFS_REMOVE_H
#define GOLITEFS_REMOVE_H

#include "fs.h"

void gfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void gfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name);

#endif /* GOLITEFS_REMOVE_H */
