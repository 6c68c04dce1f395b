/*
 * vlog.h — value separation: large values stay in the log segment they
 * were written to, and tables point at them (vlog.c).
 *
 * Why this design. Every byte put once went to disk at least twice (the
 * log, then the table its memtable was flushed to) and again with each
 * compaction that reached it. WiscKey's answer is to keep values in a log
 * of their own with only keys and pointers in the LSM tree; our log
 * already is such a log, so, as in WiscKey, the value log IS the
 * write-ahead log: a value is written to disk once, by the log write that
 * acknowledged it, and never copied again except by garbage collection.
 * (RocksDB's BlobDB and TiKV's Titan write blob files at flush instead,
 * a second write of each value; TableFS keeps large files as files of the
 * underlying file system, which gives up the store's atomic batches and
 * its crash-consistent prefix.)
 *
 * 1. The flush of a memtable reads its log segments (wal_scan) and finds,
 *    for each plain value of at least separate_values_from bytes, where
 *    the log wrote it. A segment whose live large values (the newest
 *    versions the flush writes) fill at least VLOG_KEEP_LIVE of it is
 *    kept: the table gets a pointer (below) with kind
 *    KIND_VALUE | KIND_SEPARATE instead of each of its values. (The values
 *    of a segment mostly overwritten or deleted within its memtable are
 *    copied into the table, as before, and the segment goes.) Before the table is
 *    published, each segment pointed into is fdatasynced, cut to its last
 *    record and given a second name NNNNNNNN.val (link(2), directory
 *    synced); when the segment's .wal name is removed with the other
 *    flushed segments, the .val name keeps the bytes. A value file is
 *    thus a log segment (wal_format.h), never written again.
 * 2. Reads follow pointers (vlog_read): the value is read from the value
 *    file (through the page cache) and its CRC32C checked. Point reads do
 *    this inside the RCU read-side section that found the pointer;
 *    iterators when the value is asked for.
 * 3. Garbage collection (the value collector thread, vlog.c): a pass
 *    reads the store at now and at each live snapshot, and counts for
 *    every value file the bytes of values that some reader can still see.
 *    A file no reader sees is deleted; while the value files hold more than
 *    VLOG_GC_RATIO times the live bytes, the live values of the emptiest
 *    file are written again (a conditional write that loses to any newer
 *    write of the key), which puts them in the log and, at the next flush,
 *    in a newer value file; a later pass deletes the file.
 *
 * Pointer (the stored value of a KIND_VALUE | KIND_SEPARATE entry,
 * VPTR_SIZE bytes, little-endian):
 *
 *     offset  size  field
 *     0       8     file: the value file's number (its log segment's)
 *     8       8     record: offset in the file of the log record (its
 *                   first fragment) whose payload holds the value
 *     16      4     offset of the value in the record's logical payload
 *     20      4     length of the value (>= 1)
 *     24      4     masked CRC32C of the value
 *
 * A logical record of more than WAL_MAX_FRAGMENT payload bytes is written
 * in fragments of WAL_MAX_FRAGMENT bytes (the last shorter), each framed by
 * a WAL_RECORD_HEADER-byte header and a WAL_SYNCED_SIZE-byte trailer, so
 * payload byte p of the record at R is at file offset
 * R + (p / F) * (F + WAL_RECORD_OVERHEAD) + WAL_RECORD_HEADER + p % F,
 * F = WAL_MAX_FRAGMENT.
 *
 * Invariants:
 *   1. A table names a value file only after the file's bytes up to the
 *      pointed-at record are on disk and its .val name is (step 1): no
 *      crash leaves a published table pointing at bytes that may not have
 *      been written.
 *   2. A value file is deleted only when no reader can follow a pointer
 *      into it: no version visible now or to a live snapshot points there
 *      (the pass's reads), the log is synced past the writes that replaced
 *      those values (so no crash brings the old versions back), no iterator
 *      created before the pass is still open (vlog_iter_enter/leave), no
 *      point read that began before it is still running (an RCU grace
 *      period) and no checkpoint is copying files (db->ckpt_holds).
 *   3. Only files numbered below the log number are collected: the others
 *      may still be replayed.
 */
#ifndef GOLITE_VLOG_H
#define GOLITE_VLOG_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VPTR_SIZE 28u   /* the drawing above */
/* Default golite_options.separate_values_from. */
#define VLOG_MIN_DEFAULT 4096u
/* The collector rewrites live values while the value files hold more than
 * this many times the bytes readers can see. */
#define VLOG_GC_RATIO 1.2
/* A flushed segment is kept as a value file if its live large values fill
 * at least this share of it (vlog_map_decide). */
#define VLOG_KEEP_LIVE 0.75

struct golite;
struct table_file;

struct vptr {
	uint64_t file;
	uint64_t record;
	uint32_t offset;
	uint32_t len;
	uint32_t crc;      /* masked CRC32C of the value */
};

void vptr_encode(uint8_t out[VPTR_SIZE], const struct vptr *p);
/* Returns 0, or GOLITE_ECORRUPT if v is not a pointer. */
int vptr_decode(const uint8_t *v, size_t n, struct vptr *p);

/* Open files of one directory's value files: a reader of pointers. */
struct vlog_files;
struct vlog_files *vlog_files_new(const char *dir);
void vlog_files_free(struct vlog_files *f);
/* Reads the value p points at into buf (p->len bytes) and checks it.
 * GOLITE_ECORRUPT if it does not check (or the file is too short),
 * GOLITE_EIO if the file cannot be read. */
int vlog_files_read(struct vlog_files *f, const struct vptr *p, uint8_t *buf);
/* Forgets file no (closes it): after its deletion. */
void vlog_files_forget(struct vlog_files *f, uint64_t no);

/* The store's value log (db->vlog). */
struct vlog {
	struct vlog_files *files;
	size_t min;                    /* separate_values_from; SIZE_MAX: off */
	/* Iterators open, by epoch parity (invariant 2). */
	_Atomic uint64_t epoch;
	_Atomic uint64_t iters[2];
	/* The collector. */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_mutex_t pass_mu;       /* one pass at a time */
	pthread_cond_t cv;
	bool stop, requested;          /* mu */
	uint64_t pending_epoch;        /* mu: iterators of this parity must end
					* before pending files go */
	uint64_t *pending;             /* mu: files to delete */
	size_t npending;
	/* Figures. */
	_Atomic uint64_t file_count, file_bytes, live_bytes;
	_Atomic uint64_t separated, gc_passes, gc_rewritten, gc_rewritten_bytes, gc_deleted;
};

void vlog_init(struct golite *db);
void vlog_destroy(struct golite *db);
/* Starts and stops the collector (stores open for writing). */
int vlog_start(struct golite *db);
void vlog_stop(struct golite *db);
/* Asks for a collector pass soon (after a flush, a reclaim pass). */
void vlog_request(struct golite *db);
/* Runs one pass now in the calling thread (tests, golite_compact_range). */
int vlog_collect(struct golite *db);

/* Reads the value p points at (db's files); see vlog_files_read. */
int vlog_read(struct golite *db, const struct vptr *p, uint8_t *buf);

/* Reads many values at once (the chunk reader: the chunks of a file
 * written in order lie in order in the log): refs[i] points at a value
 * the caller will place by its tag; values that lie close together in one
 * file are read with one pread. Calls fn for each value, checked, valid
 * during the call. The caller holds an epoch (vlog_iter_enter) from
 * before it found the pointers. Returns 0 or the first error. */
struct vref {
	struct vptr p;
	uint64_t tag;
	uint64_t at;       /* filled by vlog_read_many: the value's file offset */
};
int vlog_read_many(struct golite *db, struct vref *refs, size_t n,
		   void (*fn)(void *ctx, const struct vref *r, const uint8_t *value), void *ctx);

/* Iterators: entered when created, left when freed; returns the epoch to
 * leave with. */
uint64_t vlog_iter_enter(struct golite *db);
void vlog_iter_leave(struct golite *db, uint64_t epoch);

/* Flush (flush.c): where the log wrote the large values of the segments
 * numbered [lo, hi). */
struct vlog_map;
int vlog_map_build(struct golite *db, uint64_t lo, uint64_t hi, struct vlog_map **out);
/* Before the table is written: counts the newest version of each key
 * (sequence seq, a plain value of len bytes) as live in its segment, then
 * decides which segments are worth keeping as value files: those whose
 * live values fill at least VLOG_KEEP_LIVE of them. The values of the
 * others are copied into the table (once: a segment mostly overwritten or
 * deleted within its memtable would only be collected later). */
void vlog_map_count(struct vlog_map *m, uint64_t seq, size_t len);
void vlog_map_decide(struct vlog_map *m);
/* True with *p filled if the value of the entry with sequence seq, of
 * len bytes and checksum computed from value, is in a segment kept; marks
 * the segment as used. */
bool vlog_map_find(struct vlog_map *m, uint64_t seq, const uint8_t *value, size_t len,
		   struct vptr *p);
/* Makes the files pointed into durable value files (invariant 1). */
int vlog_map_keep(struct golite *db, struct vlog_map *m);
void vlog_map_free(struct vlog_map *m);

/* Stats text lines and figures. */
struct golite_stats;
void vlog_figures(struct golite *db, struct golite_stats *s);

#endif /* GOLITE_VLOG_H */
