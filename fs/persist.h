/*
 * persist.h — the records of nodes (persist.c): loading and storing them,
 * giving entries records of their own, directory times, and the sizes
 * and times of files not yet in their records.
 */
#ifndef GOLITEFS_PERSIST_H
#define GOLITEFS_PERSIST_H

#include "fs.h"

/* Loads n's record (META, table or root) with the node's attributes laid
 * over it; stores it (into b, or at once without b); after a successful
 * write, gives the node its attributes. n->mu and ns held. */
int node_load_vrec_locked(struct gfs *fs, struct node *n, const struct kbuf *k, struct vrec *v);
int node_store_vrec(struct gfs *fs, struct node *n, const struct kbuf *k, golite_batch *b,
		    const struct vrec *v);
void node_commit_vrec_locked(struct node *n, const struct vrec *v);
/* Gives a GOLITE_KIND_VALUE entry or an implied directory a GOLITE_KIND_META record of
 * its own (with a new inode number), in a batch of its own. n->mu and ns
 * held. No-op for entries that have one; EPERM for views and pieces. */
int node_materialize_locked(struct gfs *fs, struct node *n, const struct kbuf *k);

/* Writes the node's in-memory size and times to its record. Caller holds
 * ns shared and n->mu. */
int node_persist_locked(struct gfs *fs, struct node *n);
int node_persist(struct gfs *fs, struct node *n);
/* Marks n's times, and its size if size_changed, as not in its record,
 * and puts n on the dirty list (with a reference) if it is not there.
 * n->mu held. */
void node_mark_dirty(struct gfs *fs, struct node *n, bool size_changed);
/* Writes the sizes and times of every node on the dirty list; the nodes
 * whose write fails stay on it. */
void dirty_flush_all(struct gfs *fs);

/* Updates a directory's mtime and ctime in batch b (n->mu held) when it
 * has a record of its own; with materialize, an implied directory gets
 * one first (in a batch of its own). */
int dir_touch_locked(struct gfs *fs, struct node *dir, golite_batch *b, bool materialize,
		     int64_t now);
/* After the batch of a dir_touch_locked() was written: the directory node
 * takes its new times. */
void dir_touch_commit(struct node *dir, int64_t now);

#endif /* GOLITEFS_PERSIST_H */
