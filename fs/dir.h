/*
 * dir.h — what the directory operations share: resolving a name in a
 * directory to an entry, loading what the store holds there, and the
 * records of table directories. Defined in lookup.c; used by lookup.c,
 * create.c, remove.c, readdir.c and rename.c. Directory times are in
 * persist.h (dir_touch_locked).
 */
#ifndef GOLITEFS_DIR_H
#define GOLITEFS_DIR_H

#include "fs.h"

/* An entry of a directory, as resolved from its name. */
struct entry {
	struct kbuf k;               /* the entry's key and flavor */
	unsigned src;                /* SRC_META, SRC_VALUE, SRC_IMPLIED or SRC_NONE */
	struct nattr a;
	uint64_t link;               /* a name of a linked file: its inode (its node
				      * is keyed by the shared record, hardlink.h) */
};

/* Resolves name in directory dir (ns held shared). Sets e->src SRC_NONE
 * when the name is free. Returns 0 or -errno (ENAMETOOLONG, EINVAL for a
 * reserved form that cannot be created when creating is set...). */
int resolve_child(struct gfs *fs, struct node *dir, const char *name, bool creating,
		  struct entry *e);
/* True if some key of table starts with prefix. */
int has_children(struct gfs *fs, uint32_t table, const uint8_t *prefix, size_t plen,
		 bool *yes);
/* Fills e->src, e->a and e->link for e->k from the store (ns held). */
int entry_load(struct gfs *fs, struct entry *e);
/* The node of resolved entry e with one more lookup count (lookup) or
 * reference, found or made from the store; NULL (and 0) if nothing is
 * there. Loads e (entry_load) when it has no node. ns held. */
int entry_node(struct gfs *fs, struct entry *e, bool lookup, struct node **out);

/* The key of a table directory's record in GOLITE_TABLE_FS: "T" + id BE32. */
void table_fskey(uint32_t id, uint8_t key[5]);
/* A table directory's attributes: its record's, or the defaults when it
 * has none. */
void table_attr(struct gfs *fs, uint32_t id, struct nattr *a);
/* The node of table id's directory, with one more lookup count (lookup)
 * or reference. */
struct node *table_node(struct gfs *fs, uint32_t id, bool lookup);

#endif /* GOLITEFS_DIR_H */
