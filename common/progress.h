/*
 * progress.h — progress of long work (log replay at open, compaction,
 * check, repair) on standard error, for golite and golitefs.
 */
#ifndef GOLITE_PROGRESS_H
#define GOLITE_PROGRESS_H

#include <stdint.h>

/* The name that starts plain progress lines ("golite" unless set). */
void progress_prefix(const char *prog);
/* golite_options.progress: a bar on a terminal, one line per stage
 * otherwise. ctx is ignored. */
void progress_report(void *ctx, const char *stage, uint64_t done, uint64_t total);
/* Ends the current stage's display. */
void progress_end(void);
/* Clears the bar before other output to stderr. */
void progress_clear(void);
/* Bytes as "1.2 MiB". buf needs 32 bytes. */
const char *size_text(uint64_t bytes, char *buf);

#endif /* GOLITE_PROGRESS_H */
