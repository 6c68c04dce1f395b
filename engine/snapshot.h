/*
 * snapshot.h — the store's live snapshots (golite_snapshot_*, golite.h):
 * the registry flushes and compactions ask which versions to keep, and the
 * named snapshots recorded in the MANIFEST (manifest_format.h, tag
 * SNAPSHOT).
 *
 * A snapshot is an entry of the registry: a sequence number, the table
 * catalog as of that sequence, and a reference count (one for the name
 * while a named snapshot is not dropped, one per handle, one per
 * iterator reading at it). It leaves the registry when the count reaches
 * zero.
 *
 * Invariants:
 *   1. An entry's sequence was last_seq when it was registered, under
 *      db->snap_mu; so a flush or compaction that reads the registry
 *      (snap_seqs) after taking its inputs sees every snapshot older than
 *      some entry of its inputs: a snapshot registered later has a
 *      sequence >= every sequence in them, and for it the newest version
 *      of each key, which is always kept, is the one it sees.
 *   2. An entry's catalog is the catalog as of its sequence: copied under
 *      db->ddl_mu (no table change in flight) when it is taken, or read
 *      from table 0 at its sequence at open (named snapshots).
 *   3. A named snapshot is in db->ms.snaps (the MANIFEST) from the moment
 *      golite_snapshot_create returns until golite_snapshot_drop writes a
 *      MANIFEST without it; its registry entry holds the name's reference
 *      meanwhile, so the versions it sees are kept at least that long.
 *   4. The log is synced up to a named snapshot's sequence before it is
 *      recorded, so no crash can lose a write it sees and reuse the
 *      sequence for another.
 */
#ifndef GOLITE_SNAPSHOT_H
#define GOLITE_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "golite.h"

struct golite;

/* One live snapshot. */
struct snap {
	uint64_t seq;
	_Atomic int refs;
	char *name;                /* NULL for an unnamed one */
	bool named;                /* the name holds a reference (db->snap_mu) */
	int64_t time_ns;
	struct catalog *catalog;   /* the catalog as of seq (invariant 2) */
	struct snap *next;         /* the registry, sorted by seq (snap_mu) */
};

/* A handle (golite.h): a reference on one entry. */
struct golite_snapshot {
	struct golite *db;
	struct snap *s;
};

/* Registers the named snapshots of db->ms at open (after the log is
 * replayed, before background work starts): each entry's catalog is read
 * from table 0 at its sequence. */
int snap_open(struct golite *db);
/* Frees the registry (at close). */
void snap_close(struct golite *db);

/* Takes a reference on s, and drops one (the last frees it). */
void snap_ref(struct snap *s);
void snap_unref(struct golite *db, struct snap *s);

/*
 * The sequences of the live snapshots, ascending and distinct, in a
 * malloc()ed array (NULL when none); *n gets their number. For flushes and
 * compactions (invariant 1).
 */
uint64_t *snap_seqs(struct golite *db, size_t *n);

/* The index of the stripe seq falls in among seqs (ascending, n of them):
 * the number of snapshots older than seq. Versions of a key in one stripe
 * are seen by the same snapshots; only the newest of each is kept. */
size_t snap_stripe(const uint64_t *seqs, size_t n, uint64_t seq);

/* True if a live snapshot's catalog holds table id (its keys are not to be
 * discarded though the table is dropped now). */
bool snap_pins_table(struct golite *db, uint32_t id);

/* True if a live snapshot has a sequence in [from, to). */
bool snap_between(struct golite *db, uint64_t from, uint64_t to);

/* Counts versions kept only for snapshots (figures). */
void snap_note_kept(struct golite *db, uint64_t versions, uint64_t bytes);

/* The sequence to read at (SEQ_MAX for NULL: now) and the catalog to
 * resolve names in (inside an RCU read-side section for NULL). */
uint64_t snap_read_seq(const golite_snapshot *s);
const struct catalog *snap_catalog(struct golite *db, const golite_snapshot *s);

/* Figures: live snapshots and the oldest's sequence. */
void snap_figures(struct golite *db, uint64_t *count, uint64_t *oldest);

#endif /* GOLITE_SNAPSHOT_H */
