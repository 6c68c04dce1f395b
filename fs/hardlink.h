/*
 * hardlink.h — files with several names (hardlink.c): link(2), the link
 * count, and what unlink, rename and the sweep do to a linked file.
 */
#ifndef GOLITEFS_HARDLINK_H
#define GOLITEFS_HARDLINK_H

#include "fs.h"

/* True if n is a linked file's node (keyed by its shared record). */
bool node_is_shared(const struct node *n);

/* The key of inode ino's shared record, as a node's key; view: a
 * snapshot view's slot bits (fs.h), 0 for the live store (so below). */
void hlink_key(uint64_t ino, uint32_t view, struct kbuf *k);

/* The attributes of linked inode ino: its shared record's, with the link
 * count. -EIO (logged) if the shared record is missing or damaged. */
int hlink_load(struct gfs *fs, uint64_t ino, uint32_t view, struct nattr *a);

/* The node of linked inode ino, with one more lookup count (lookup) or
 * reference: the one in the map, or a new one from its shared record. */
int hlink_node(struct gfs *fs, uint64_t ino, uint32_t view, bool lookup, struct node **out);

/* Counts the live names of ino other than (table, key) (pass klen 0 to
 * count them all). */
int hlink_count_others(struct gfs *fs, uint64_t ino, uint32_t view, const struct kbuf *except,
		       uint32_t *count);

/* Adds to b the back reference of the name (table, key) of ino (put), or
 * its removal. */
int hlink_backref_put(golite_batch *b, uint64_t ino, uint32_t table, const uint8_t *key,
		      size_t klen);
int hlink_backref_delete(golite_batch *b, uint64_t ino, uint32_t table, const uint8_t *key,
			 size_t klen);

/* True, with *ino, if the record (kind, data) is a name of a linked file. */
bool hlink_parse(unsigned kind, const uint8_t *data, size_t len, uint64_t *ino);

/*
 * The name k of linked file n leaves (unlink, or replaced by a rename)
 * in batch b, which already deletes its record: adds the removal of its
 * back reference and, when it was the last name, of the shared record
 * and what frees the bytes (chunks_release_name); else the shared
 * record's new ctime (*v, freed by the caller). *left: the names that
 * stay; *ino and *chunked where the bytes of an open last name went.
 * n->mu and ns held.
 */
int hlink_drop_name(struct gfs *fs, golite_batch *b, struct node *n, const struct kbuf *k,
		    int64_t now, uint32_t *left, uint64_t *ino, bool *chunked, struct vrec *v);
/* After the batch of hlink_drop_name was written, with names left. */
void hlink_drop_commit(struct gfs *fs, struct node *n, uint32_t left, const struct vrec *v);

/* Calls fn for each live name of ino (table id and key). */
typedef void (*hlink_name_fn)(void *ctx, uint32_t table, const uint8_t *key, size_t klen);
int hlink_names(struct gfs *fs, uint64_t ino, hlink_name_fn fn, void *ctx);

/* Removes back references whose name no longer holds the inode (a name
 * overwritten or deleted through the API), and frees the inodes left
 * without a name (record, chunks, owner), unless open. */
void hlink_sweep(struct gfs *fs, uint64_t *stale, uint64_t *orphans);

void gfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname);

#endif /* GOLITEFS_HARDLINK_H */
