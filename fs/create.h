/*
 * create.h — the requests that make entries (create.c).
 */
#ifndef GOLITEFS_CREATE_H
#define GOLITEFS_CREATE_H

#include "fs.h"

void gfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode);
void gfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev);
void gfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
		struct fuse_file_info *fi);
void gfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name);

#endif /* GOLITEFS_CREATE_H */
