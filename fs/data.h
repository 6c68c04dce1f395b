/*
 * data.h — file contents (data.c): reads, writes, truncation, fallocate,
 * and the bytes of files unlinked while open.
 */
#ifndef GOLITEFS_DATA_H
#define GOLITEFS_DATA_H

#include "fs.h"

int data_read(struct gfs *fs, struct node *n, char *buf, size_t size, off_t off, size_t *got);
int data_write(struct gfs *fs, struct node *n, const char *buf, size_t size, off_t off);
int data_truncate(struct gfs *fs, struct node *n, uint64_t size, bool locked_rw);
int data_fallocate(struct gfs *fs, struct node *n, int mode, off_t off, off_t len);

/* n (mu held) has lost its last name, whose record is gone from the
 * store: it leaves the node map, and what is open of it keeps its bytes
 * (chunked: they are in the chunks of ino) until its last release. For
 * unlink, the replaced target of a rename, and a file that expired. */
void node_name_gone_locked(struct gfs *fs, struct node *n, uint64_t ino, bool chunked);
/* Last release of an unlinked file: frees its chunks. */
void data_release_unlinked(struct gfs *fs, struct node *n);
void open_inos_add(struct gfs *fs, uint64_t ino);
void open_inos_remove(struct gfs *fs, uint64_t ino);
bool open_inos_has(struct gfs *fs, uint64_t ino);

#endif /* GOLITEFS_DATA_H */
