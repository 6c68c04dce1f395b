/*
 * readdir.h — the requests on open directories (readdir.c).
 */
#ifndef GOLITEFS_READDIR_H
#define GOLITEFS_READDIR_H

#include "fs.h"

void gfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void gfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		 struct fuse_file_info *fi);
void gfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		     struct fuse_file_info *fi);
void gfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void gfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);

#endif /* GOLITEFS_READDIR_H */
