/*
 * compaction_int.h — what the background work's files share: flush.c
 * (memtables to level-0 tables), compaction_pick.c (choosing what to
 * compact) and compaction.c (merging, publishing, the threads). Other
 * modules use db.h. The invariants are stated at the top of compaction.c.
 */
#ifndef GOLITE_COMPACTION_INT_H
#define GOLITE_COMPACTION_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"

/* How long background work waits after a failure before it tries again. */
#define BG_RETRY_NS (1000ull * 1000 * 1000)

/* One compaction: its inputs and where its output goes. */
struct compaction {
	int level, out_level;
	struct table_file **in[2];   /* at level, and at out_level (if different) */
	size_t nin[2];
	struct version *base;        /* referenced: the version inputs were picked from */
	bool manual;
};

/* ---- compaction.c ---- */

/* Writes the manifest for version v (bg_mu held). The files are borrowed. */
int bg_write_manifest(struct golite *db, const struct version *v);
/* Sets how writers are held back, from level 0 and the frozen memtables
 * (bg_mu held). */
void bg_update_stall(struct golite *db);
/* Replaces the current version by nv (bg_mu held). */
void bg_publish(struct golite *db, struct version *nv);
/* Records a failure of background work (bg_mu held); what names the work. */
void bg_note_error(struct golite *db, int err, const char *what);
/* Gives the heap pages a finished job freed back to the kernel. */
void bg_give_back_heap(void);

/* ---- flush.c ---- */

/* Removes the log segments below log_number (their data is in tables);
 * nothing while a checkpoint holds them (db->ckpt_holds). */
void bg_remove_old_segments(struct golite *db, uint64_t log_number);
/* The flush thread (started by bg_start). */
void *bg_flush_thread(void *arg);

/* ---- compaction_pick.c ---- */

/* The size level (>= 1) may reach before it is compacted. */
uint64_t bg_level_max_bytes(struct golite *db, int level);
/* Picks the most urgent compaction (bg_mu held) and flags its inputs;
 * NULL if none is due or its inputs are busy. */
struct compaction *compaction_pick(struct golite *db);
/* Frees c and drops its reference on the base version. */
void compaction_free(struct compaction *c);
/* Flags (on) or unflags the inputs of c as being compacted (bg_mu held). */
void compaction_set_compacting(struct compaction *c, bool on);
/* Sets *out to a malloc()ed array of the tables of level l overlapping the
 * ikey range [lo, hi] (NULL bounds are open), and returns how many. */
size_t compaction_overlapping(const struct version *v, int l, const uint8_t *lo, size_t lolen,
			      const uint8_t *hi, size_t hilen, struct table_file ***out);
/* Grows the level-0 inputs *in (n of them) until every level-0 table that
 * overlaps their range is among them; returns their number. */
size_t compaction_close_level0(const struct version *v, struct table_file ***in, size_t n);
/* Completes c with the overlapping tables of its output level. Returns
 * false (and frees nothing) if some input is being compacted. */
bool compaction_add_output_level(struct compaction *c);

#endif /* GOLITE_COMPACTION_INT_H */
