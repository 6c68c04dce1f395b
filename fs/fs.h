/*
 * fs.h — golitefs, the FUSE daemon that shows a GoLite store as a directory
 * tree: tables are directories at the root, keys are files (a key "a/b/k"
 * is the file a/b/k of its table), values are file contents. The model,
 * the options and the limits are described in fs/README-fs.md.
 *
 * Nodes. The kernel names files by node ids. A node id is a number the
 * daemon hands out, never reused within a mount, and mapped back to its
 * struct node through a table that answers "unknown" (ESTALE) for ids it
 * no longer holds (the root is FUSE_ROOT_ID). A node lives while the
 * kernel holds a lookup count on it or an operation uses it, then stays
 * *cold* in a bounded cache so that a file handle (NFS export,
 * open_by_handle_at) can find it again by its id, and is freed a grace
 * period after it leaves that cache (node.c). A node stands for one entry:
 * (table id, key, flavor). The inode number that stat shows (st_ino) is a
 * different thing: persistent, kept in the file record, or derived from
 * the key for entries without one (see node.c). A map from (table, key,
 * flavor) to node makes a second lookup of the same entry return the same
 * node.
 *
 * Records. Files, directories and symlinks created through the mount are
 * GOLITE_KIND_META records (common/vfile.h) at their key; a file with
 * several names keeps its record in GOLITE_TABLE_FS, and its node is
 * keyed there (hardlink.c). Keys written through the
 * API are GOLITE_KIND_VALUE records, shown as regular files. Directories also
 * exist without records, implied by the keys below them. Small files keep
 * their bytes in the record (up to GFS_INLINE_MAX); larger ones keep them
 * in chunks of VFILE_CHUNK bytes in GOLITE_TABLE_CHUNKS, keyed by inode number,
 * so a rename moves only the record.
 *
 * The daemon is the store's only writer while mounted (the engine locks the
 * data directory), so what a node caches about its record stays true until
 * the daemon itself changes the record.
 *
 * Locks, in the order they are taken:
 *   1. node->rw       per file: reads and writes of data shared, truncation
 *                     and the other changes of where data lives exclusive
 *   2. fs->ns         the namespace lock (striped reader-writer lock):
 *                     shared by every operation that reads or writes a
 *                     record by key, exclusive by renames of directories
 *                     (which rewrite every key below them)
 *   3. node->mu       per node: its attributes, its record's
 *                     read-modify-write, and its key; several are taken in
 *                     address order
 *   4. fs->nodes_mu   the node map, lookup counts, references
 *   5. chunk locks    a striped table of mutexes for read-modify-write of
 *                     one chunk
 *   Leaf locks (dirty_mu, open_mu, ino_mu, implied_lk, handles_mu) take no
 *   other lock.
 *
 * Invariants:
 *   1. A node's (table, key, flavor) changes only with nodes_mu held and
 *      either ns held exclusive or ns shared plus the node's mu. So holding
 *      ns shared plus the node's mu, or nodes_mu, is enough to read them.
 *   2. No chunk of a file holds data past the file's size as the node knows
 *      it; after a crash, past the size in its record once the mount-time
 *      trim pass has run (sweep.c).
 *   3. A chunked file has an owner record "O"+ino in GOLITE_TABLE_FS naming its
 *      table and key; it is written in the same batch that makes the file
 *      chunked or moves it, and deleted with the chunks.
 *   4. Every handler sends exactly one reply.
 *
 * Modules with a header of their own declare what they export there:
 * chunks.h, data.h, persist.h (file contents and the records of nodes),
 * lookup.h, create.h, remove.h, readdir.h (the directory requests) and
 * dir.h (what those share with rename.c), options.h, escape.h, kio.h.
 * The others are declared below. fs/README-fs.md maps the files.
 */
#ifndef GOLITEFS_FS_H
#define GOLITEFS_FS_H

#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>

#include "escape.h"
#include "golite.h"
#include "golite_raw.h"
#include "hist.h"
#include "util.h"
#include "vfile.h"

/* Files up to this size keep their bytes in their record. */
#define GFS_INLINE_MAX VFILE_CHUNK
/* Largest file: the chunk index is 32 bits. */
#define GFS_MAX_FILE_SIZE ((uint64_t)UINT32_MAX * VFILE_CHUNK)
/* Largest read or write the kernel sends (max_write, max_read). */
#define GFS_MAX_IO (1u << 20)
/* A directory rename rewrites at most this many keys or bytes in its one
 * batch; beyond, it answers EXDEV and mv copies instead. */
#define GFS_RENAME_MAX_KEYS 1000000u
#define GFS_RENAME_MAX_BYTES (192u << 20)
/* Names a file may have (link(2) answers EMLINK past it, as ext4). */
#define GFS_LINK_MAX 65000u
/* Symlink targets. */
#define GFS_MAX_SYMLINK 4095u

/* Inode numbers. Allocated ones count up from GFS_INO_FIRST; tables use
 * their table id with GFS_INO_TABLE; entries without a record use a hash of
 * their key with the top bit set. None collide. */
#define GFS_INO_ROOT 1u
#define GFS_INO_CTL 2u
#define GFS_INO_CTL_STATS 3u
#define GFS_INO_CTL_EVENTS 4u
#define GFS_INO_CTL_CHECKPOINT 5u
#define GFS_INO_CTL_SNAPSHOTS 6u

/* Snapshot views (snapview.c). A node under /.golite/snapshots/NAME has
 * the view's slot (1..GFS_SNAP_MAX) in the top bits of its table id, so
 * that its identity differs from the live entry's, and every read of the
 * store made for it (rec_get, gfs_iter_new, chunk reads) is made at the
 * view's snapshot. Table ids of the store stay below 2^GFS_SNAP_SHIFT. */
#define GFS_SNAP_SHIFT 24
#define GFS_SNAP_MAX 255u
#define GFS_TABLE_MASK ((UINT32_C(1) << GFS_SNAP_SHIFT) - 1)
static inline unsigned snap_slot(uint32_t table)
{
	return table >> GFS_SNAP_SHIFT;
}
#define GFS_INO_FIRST 1024u
#define GFS_INO_TABLE (UINT64_C(1) << 62)
#define GFS_INO_HASHED (UINT64_C(1) << 63)
#define GFS_INO_RANGE 1024u   /* inode numbers reserved per counter write */

/* Events kept for readers of /.golite/events (events_buffer=N). */
#define GFS_EVENTS_DEFAULT 8192u
#define GFS_EVENTS_MAX (1u << 24)

/* Keys of GOLITE_TABLE_FS, the mount's own table. */
#define FSKEY_INO_NEXT 'I'    /* "I": next unreserved inode number, LE64 */
#define FSKEY_OWNER 'O'       /* "O" + ino BE64: table id LE32 + key */
#define FSKEY_ROOT 'R'        /* "R": the root directory's record (vfile) */
#define FSKEY_TABLE 'T'       /* "T" + table id BE32: a table directory's record */
#define FSKEY_CLEAN 'C'       /* "C": "1" while the store is cleanly unmounted */
/* 'N' + ino BE64: a linked file's shared record; 'L' + ino BE64 + table
 * BE32 + key: a back reference to one of its names (common/vfile.h,
 * VFILE_KEY_INODE and VFILE_KEY_BACKREF; hardlink.c). */

#define CTL_NAME ".golite"

enum gfs_loglevel { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

struct gfs_options {
	enum golite_durability durability;
	unsigned sync_interval_ms;
	size_t memtable_size;       /* 0: engine default */
	size_t separate_values_from; /* 0: engine default; SIZE_MAX: off */
	size_t cache_size;          /* 0: engine default */
	size_t max_size;            /* 0: no limit but the file system's */
	int compaction_threads;     /* -1: engine default */
	double attr_timeout, entry_timeout, negative_timeout;
	unsigned sweep_interval_s;  /* 0: no background sweep */
	unsigned max_threads, max_idle_threads;
	int clone_fd;
	bool writeback_cache;
	bool read_only;
	unsigned events_buffer;     /* events kept for readers of /.golite/events */
};

/* Where a node's attributes come from. */
enum node_src {
	SRC_ROOT,      /* the mount's root */
	SRC_CTL,       /* /.golite and its files */
	SRC_TABLE,     /* a table directory (record, if any, in GOLITE_TABLE_FS) */
	SRC_META,      /* a GOLITE_KIND_META record at the node's key */
	SRC_VALUE,     /* a GOLITE_KIND_VALUE record written through the API */
	SRC_IMPLIED,   /* a directory implied by keys below it, no record */
	SRC_NONE,      /* gone: unlinked, or replaced by a rename */
};

/* What a node's key names (part of its identity). */
enum node_flavor {
	FL_NORMAL = 0,   /* the entry at key: a record, or an implied directory */
	FL_VIEW = 1,     /* the directory "key/..." of a key that is also a file */
	FL_PARTIAL = 2,  /* a "%+" piece: key ends inside a long component */
	FL_TABLE = 3,    /* a table directory: empty key */
	FL_STATIC = 4,   /* root and control nodes, never in the map */
	FL_SNAPROOT = 5, /* /.golite/snapshots/NAME: the tables as they were */
};

/* Attributes as stat shows them. */
struct nattr {
	uint32_t mode;               /* type bits included */
	uint32_t uid, gid;
	uint64_t ino;
	uint64_t size;               /* 0 for FIFOs, sockets and devices */
	uint64_t rdev;               /* devices: the device number */
	int64_t mtime, ctime, atime; /* ns since the epoch */
	uint32_t nxattr;
	uint32_t nlink;              /* names of a linked file (0: one);
				      * directories: 2 + subdirectories, 0
				      * while not counted (dir_nlink_fill) */
	bool chunked;
	bool caps;                   /* has a security.capability attribute */
	bool hlink;                  /* read from a name of a linked file (a
					* type 8 record): only mode and ino hold */
	uint64_t expires;            /* when the entry expires (ttl.c), ms
				      * since the epoch; 0: never */
};

struct node {
	/* protected by fs->nodes_mu */
	uint64_t nlookup;            /* the kernel's lookup count */
	uint32_t refs;               /* operations and lists holding the node */
	bool hashed;                 /* in the map */
	struct node *hnext;
	uint64_t khash;

	/* identity (invariant 1) */
	uint32_t table;
	uint8_t flavor;
	uint32_t comp_off;           /* FL_PARTIAL: where the component starts */
	uint32_t klen;
	uint8_t *key;

	pthread_mutex_t mu;
	pthread_rwlock_t rw;

	/* protected by mu */
	uint8_t src;
	struct nattr a;
	bool dirty;                  /* chunked file: size or times not in the record */
	bool dirty_size;             /* the size is not in the record */
	bool unlinked;               /* no record any more; data freed at last release */
	uint32_t opens;              /* open file handles */
	uint32_t nlink_gen;          /* directories: changes of a.nlink */
	bool on_dirty_list;          /* protected by fs->dirty_mu */
	uint64_t retired_ns;         /* protected by fs->nodes_mu: when it was retired */
	/* protected by fs->nodes_mu */
	uint64_t id;                 /* the FUSE node id (node.c: ids) */
	struct node *idnext;         /* chain of fs->ids */
	struct node *cold_prev, *cold_next;  /* in fs->cold_* while cold */
	bool cold;                   /* held by nobody, kept for file handles */
	bool retired;                /* out of the map, freed after the grace */
	struct node *dirty_next;     /* protected by fs->dirty_mu */
};

/* The namespace lock: readers take one stripe, writers all of them. */
#define NS_STRIPES 16
struct ns_lock {
	struct {
		pthread_rwlock_t lk;
		char pad[64 - sizeof(pthread_rwlock_t) % 64];
	} s[NS_STRIPES];
};

#define CHUNK_LOCKS 64

/* FUSE operations counted in the figures (.golite/stats). */
enum gfs_op {
	OP_LOOKUP, OP_FORGET, OP_GETATTR, OP_SETATTR, OP_READLINK, OP_MKNOD, OP_MKDIR,
	OP_UNLINK, OP_RMDIR, OP_SYMLINK, OP_RENAME, OP_LINK, OP_OPEN, OP_READ, OP_WRITE,
	OP_FLUSH, OP_RELEASE, OP_FSYNC, OP_OPENDIR, OP_READDIR, OP_READDIRPLUS,
	OP_RELEASEDIR, OP_FSYNCDIR, OP_STATFS, OP_SETXATTR, OP_GETXATTR, OP_LISTXATTR,
	OP_REMOVEXATTR, OP_ACCESS, OP_CREATE, OP_FALLOCATE, OP_COUNT
};
extern const char *const gfs_op_names[OP_COUNT];

#define STAT_SHARDS 16
struct gfs_counters {
	_Alignas(64) _Atomic uint64_t op[OP_COUNT];
};

/* Latencies measured from a request's arrival in its handler to its reply
 * (metrics.c), in nanoseconds, in log-linear histograms (common/hist.h). */
enum gfs_lat { LAT_READ, LAT_WRITE, LAT_FSYNC, LAT_COUNT };
struct gfs_lat_shard {
	_Alignas(64) _Atomic uint64_t b[LAT_COUNT][HIST_BUCKETS];
	_Atomic uint64_t max[LAT_COUNT];
};

/* Samples of the cumulative figures, about one a second, for rates and
 * recent percentiles (metrics.c). */
#define METRICS_SAMPLES 16
struct metrics_sample {
	uint64_t t_ns;               /* monotonic; 0: slot unused */
	uint64_t ops[OP_COUNT];
	uint64_t bytes_read, bytes_written;
	uint64_t lat[LAT_COUNT][HIST_BUCKETS];
};

struct gfs {
	golite *db;
	struct fuse_session *se;     /* for notifications to the kernel */
	struct gfs_options o;
	char *datadir;               /* absolute */
	char *mountpoint;            /* absolute */
	uid_t uid;                   /* owner of entries without a record */
	gid_t gid;
	int64_t mount_ns;            /* times of entries without a record */
	/* The writeback cache was negotiated (gfs_init): the kernel keeps
	 * the times of regular files and sends them with a setattr when they
	 * change, so a write request does not stamp them. */
	bool kernel_times;

	struct node root, ctl, ctl_stats, ctl_events, ctl_checkpoint, ctl_snapshots;

	/* snapshot views (snapview.c): slot -> handle, opened at the first
	 * lookup of a name, kept until unmount (slots are not reused) */
	pthread_mutex_t snap_mu;
	golite_snapshot *_Atomic snaps[GFS_SNAP_MAX + 1];
	char *snap_names[GFS_SNAP_MAX + 1];    /* protected by snap_mu */
	bool snap_dropped[GFS_SNAP_MAX + 1];   /* protected by snap_mu */
	unsigned snap_count;                   /* protected by snap_mu */

	struct ns_lock ns;
	pthread_mutex_t nodes_mu;
	struct node **map;           /* protected by nodes_mu */
	struct node *retired;        /* protected by nodes_mu: forgotten, freed later */
	size_t map_size, map_count;  /* protected by nodes_mu */
	_Atomic uint64_t node_count; /* nodes the kernel or an operation holds */
	struct node **ids;           /* protected by nodes_mu: node id -> node */
	size_t ids_size, ids_count;  /* protected by nodes_mu */
	uint64_t id_next;            /* protected by nodes_mu: the next node id */
	uint32_t generation;         /* of every node id of this mount (not 0) */
	struct node *cold_head, *cold_tail;  /* protected by nodes_mu: cold
					      * nodes, most recently used first */
	_Atomic uint64_t cold_count;

	pthread_mutex_t chunk_mu[CHUNK_LOCKS];

	pthread_mutex_t ino_mu;
	uint64_t ino_next, ino_limit; /* protected by ino_mu */

	pthread_mutex_t dirty_mu;
	struct node *dirty_head;     /* protected by dirty_mu */
	_Atomic uint64_t dirty_count;

	pthread_mutex_t open_mu;     /* inodes of open files (the sweep spares them) */
	uint64_t *open_inos;         /* protected by open_mu; multiset */
	size_t open_inos_n, open_inos_cap;
	_Atomic uint64_t open_files;

	/* background thread (sweep.c) */
	pthread_t bg;
	bool bg_started;
	pthread_mutex_t bg_mu;
	pthread_cond_t bg_cv;
	bool bg_stop;                /* protected by bg_mu */

	/* the index of implied directories (implied.c) */
	pthread_rwlock_t implied_lk;
	struct implied_entry **implied;  /* protected by implied_lk */
	size_t implied_size, implied_count;  /* protected by implied_lk */
	_Atomic bool implied_ready;

	/* figures */
	struct gfs_counters ctr[STAT_SHARDS];
	_Atomic uint64_t files;      /* keys counted at mount, then kept */
	_Atomic bool files_counted;
	_Atomic uint64_t sweep_runs, sweep_orphans, sweep_chunks, trim_chunks;
	_Atomic uint64_t sweep_stale_names;  /* back references of names gone */

	/* checkpoints taken through /.golite/checkpoint (control.c) */
	pthread_mutex_t ckpt_mu;
	uint64_t ckpt_count, ckpt_failures;  /* protected by ckpt_mu */
	char *ckpt_last;             /* protected by ckpt_mu: the last result's line */
	_Atomic uint64_t errors;
	_Atomic uint64_t bytes_read, bytes_written;
	_Atomic uint64_t persist_failures;
	struct gfs_lat_shard lat[STAT_SHARDS];
	pthread_mutex_t metrics_mu;
	struct metrics_sample *samples;  /* protected by metrics_mu: a ring of
					  * METRICS_SAMPLES */
	unsigned sample_next;        /* protected by metrics_mu */

	_Atomic uint64_t ev_size_pushed;  /* the feed's size the kernel was
					   * last given (ev_push_size) */
};

/* ---- log.c ---- */
void gfs_log_setup(bool foreground, enum gfs_loglevel level);
void gfs_log_daemonized(void);
__attribute__((format(printf, 2, 3))) void gfs_log(enum gfs_loglevel lvl, const char *fmt, ...);
/* Maps an engine error to an errno and logs the cause if it is not a
 * plain answer (not found, exists...). what names the operation. */
int gfs_errno(int golite_err, const char *what);
void gfs_engine_log(void *ctx, enum golite_log_level lvl, const char *msg);
enum gfs_loglevel gfs_log_level(void);

/* ---- node.c ---- */
void ns_rdlock(struct gfs *fs);
void ns_rdunlock(struct gfs *fs);
void ns_wrlock(struct gfs *fs);
void ns_wrunlock(struct gfs *fs);
void ns_init(struct ns_lock *l);
void ns_destroy(struct ns_lock *l);

void nodes_init(struct gfs *fs);
void nodes_destroy(struct gfs *fs);
/* Frees the nodes retired more than NODE_GRACE_NS ago (all: every one). */
#define NODE_GRACE_NS (10ull * 1000000000ull)
/* Cold nodes kept for file handles: a handle of a node pushed out of the
 * cache answers ESTALE (fs/README-fs.md: NFS export). */
#define NODE_COLD_MAX 65536u
void nodes_reap(struct gfs *fs, bool all);
/* The node of a node id the kernel sent, or NULL if the id is not one this
 * mount gave or its node is gone (the caller answers ESTALE). The node is
 * valid for as long as the kernel's lookup count keeps it (or the grace
 * period, for a request racing with a forget). */
struct node *node_of(struct gfs *fs, fuse_ino_t nodeid);
fuse_ino_t node_id(struct gfs *fs, struct node *n);
/* Gives the kernel one more lookup count on n, reached by its id alone
 * (a file handle): false if n no longer names an entry (unlinked,
 * replaced, pushed out of the cold cache). */
bool node_revive(struct gfs *fs, struct node *n);

/* Finds the node for (table, key, flavor) and returns it with one more
 * lookup count (lookup) or reference (!lookup); or NULL. */
struct node *node_find(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen,
		       unsigned flavor, bool lookup);
/* Like node_find, but creates the node from src/attrs if it is not there.
 * An existing node keeps its own attributes. */
struct node *node_get(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen,
		      unsigned flavor, uint32_t comp_off, unsigned src, const struct nattr *a,
		      bool lookup);
void node_ref(struct gfs *fs, struct node *n);
void node_unref(struct gfs *fs, struct node *n);
/* Drops nlookup lookup counts (FUSE forget). */
void node_forget(struct gfs *fs, struct node *n, uint64_t nlookup);
/* Takes the node out of the map (it no longer names an entry). */
void node_unhash(struct gfs *fs, struct node *n);
/* Table id was dropped: its node, if any, reads as removed and leaves the
 * hash (the kernel's references keep it until forgotten). */
void node_table_gone(struct gfs *fs, uint32_t id);
/* Gives n a new identity (nodes_mu taken here; see invariant 1). */
void node_rekey(struct gfs *fs, struct node *n, uint32_t table, const uint8_t *key,
		size_t klen, unsigned flavor, uint32_t comp_off);
/* Returns the hashed nodes of table whose key lies below key + "/" (klen
 * 0: every node of the table but its directory's), each with a reference
 * (drop with node_unref); free the array. */
struct node **nodes_collect_below(struct gfs *fs, uint32_t table, const uint8_t *key,
				  size_t klen, size_t *count);

void lock_nodes(struct node **v, int n);
void unlock_nodes(struct node **v, int n);

/* A key being built: table id, bytes, and what kind of node names it. */
struct kbuf {
	uint32_t table;
	uint8_t flavor;
	uint32_t comp_off;
	size_t len;
	uint8_t b[GOLITE_MAX_KEY_SIZE + 2 * ESC_NAME_MAX + 2];
};

/* Copies the node's identity; caller holds ns shared (or exclusive) and
 * n->mu (node_key_locked) or not (node_key takes it). */
void node_key_locked(const struct node *n, struct kbuf *k);
void node_key(struct node *n, struct kbuf *k);
/* The prefix of the keys of the node's children: "" for a table, key + "/"
 * for a directory, key for a piece. */
void child_prefix(const struct kbuf *dir, struct kbuf *p);

uint64_t hash_ino(uint32_t table, const uint8_t *key, size_t klen, unsigned flavor);
int ino_alloc(struct gfs *fs, uint64_t *ino);
struct vrec;
/* attr.c: changes a node's record with fn (which edits v, and returns 0
 * or a -errno that leaves everything as it was); ns not held. */
int edit_record(struct gfs *fs, struct node *n, int (*fn)(struct vrec *v, void *ctx),
		void *ctx);
/* ttl.c: the time to live of an entry, as the extended attribute
 * user.golite.ttl (TTL_XATTR), and the store's deletes at expiry. */
#define TTL_XATTR "user.golite.ttl"
int ttl_setxattr(struct gfs *fs, struct node *n, const char *value, size_t size, int flags);
int ttl_getxattr(struct gfs *fs, struct node *n, size_t size, char **out, size_t *len);
int ttl_removexattr(struct gfs *fs, struct node *n);
/* True if n has a time to live (listxattr then names TTL_XATTR). */
bool ttl_has(struct node *n);
/* Installs the store's expiry hooks for the mount, and removes them. */
void ttl_hooks_install(struct gfs *fs);
void ttl_hooks_remove(struct gfs *fs);
/* inval.c: forgets what the daemon and the kernel cached about the key
 * (tid, key), changed behind the mount's back (a network write, an
 * expiry). Call without the namespace lock: the kernel's invalidation may
 * wait for a directory a process holds while its request waits for it. */
void gfs_key_changed(struct gfs *fs, uint32_t tid, const uint8_t *key, size_t klen);
int ino_load(struct gfs *fs);

bool node_is_dir(const struct node *n);
void attr_to_stat(const struct gfs *fs, const struct nattr *a, struct stat *st);
/* The entry of n for the kernel, its directory link count counted first
 * if it is not known (node_fill_entry), or not (node_fill_entry_cached:
 * an uncounted directory's attributes then go with timeout 0, and the
 * kernel asks getattr, which counts, when it needs them). */
void node_fill_entry(struct gfs *fs, struct node *n, struct fuse_entry_param *e);
void node_fill_entry_cached(struct gfs *fs, struct node *n, struct fuse_entry_param *e);

/* Directory link counts (2 + subdirectories, as a listing shows them).
 * dir_nlink_fill counts them if they are not known (a listing of the
 * directory; no lock held by the caller). The changes made through the
 * mount adjust a known count (n->mu held); changes whose effect is not
 * known (API writes below the directory) forget it. */
void dir_nlink_fill(struct gfs *fs, struct node *n);
static inline void dir_nlink_adjust(struct node *n, int delta)
{
	if (n->a.nlink >= 2)
		n->a.nlink = (uint32_t)((int64_t)n->a.nlink + delta);
	n->nlink_gen++;
}
static inline void dir_nlink_forget(struct node *n)
{
	n->a.nlink = 0;
	n->nlink_gen++;
}
void attr_defaults_dir(const struct gfs *fs, struct nattr *a, uint64_t ino);
void attr_defaults_file(const struct gfs *fs, struct nattr *a, uint64_t ino, uint64_t size);

/* ---- snapview.c: /.golite/snapshots ---- */
void snapview_init(struct gfs *fs);
void snapview_destroy(struct gfs *fs);
/* The snapshot the reads for table (an id with a view's slot, or not)
 * are made at: NULL for the live store. */
const golite_snapshot *gfs_snap(struct gfs *fs, uint32_t table);
/* lookup, mkdir and rmdir of NAME in /.golite/snapshots (-errno or 0). */
int snapview_lookup(struct gfs *fs, const char *name, struct fuse_entry_param *e);
int snapview_mkdir(struct gfs *fs, const char *name, struct fuse_entry_param *e);
int snapview_rmdir(struct gfs *fs, const char *name);
/* lookup of table name in a view's root. */
int snapview_table(struct gfs *fs, struct node *root, const char *name,
		   struct fuse_entry_param *e);
/* True for the nodes of a snapshot view: nothing below changes (EROFS). */
static inline bool node_frozen(const struct node *n)
{
	return snap_slot(n->table) != 0;
}
/* The inode number stat shows for ino of an entry of table: in a view,
 * made different from the live entry's (tools take equal st_ino for one
 * file: hard links in rsync -H, cp -a, tar). */
static inline uint64_t snap_ino(uint32_t table, uint64_t ino)
{
	return ino ^ ((uint64_t)snap_slot(table) << 48);
}

/* ---- record.c ---- */
/* A record read from the store. */
struct rec {
	unsigned kind;               /* GOLITE_KIND_VALUE or GOLITE_KIND_META */
	uint64_t expires;            /* when it expires (ttl.c), 0: never */
	uint8_t *data;
	size_t len;
	uint8_t *heap;               /* data when it did not fit small */
	uint8_t small[GFS_INLINE_MAX + 512];
};
/* Reads (table, key): 0, -ENOENT, or another -errno (logged). A table
 * with a view's slot is read at its snapshot. */
int rec_get(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen, struct rec *r);
/* golite_iter_new_raw for table, at its view's snapshot if it has one
 * (o may be NULL). */
int gfs_iter_new(struct gfs *fs, uint32_t table, const golite_iter_options *o,
		 golite_iter **it);
void rec_free(struct rec *r);
/* Attributes of a record found at (table, key). -EIO if it is damaged. */
int rec_attr(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen,
	     const struct rec *r, struct nattr *a);
int rec_attr_raw(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen, unsigned kind,
		 const uint8_t *data, size_t len, struct nattr *a);

/* A record under construction: vfile fields plus owned buffers. */
struct vrec {
	struct vfile f;
	uint64_t expires;            /* written with the record (ttl.c) */
	uint8_t *xattrs;             /* owned copy */
	uint8_t *data;               /* owned copy (inline bytes or target) */
};
/* Decodes rec into v (copying what it points to). */
int vrec_from_rec(const struct rec *r, struct vrec *v);
/* Fills v from attributes (no xattrs, no data). */
void vrec_from_attr(struct vrec *v, const struct nattr *a);
void vrec_set_data(struct vrec *v, const void *data, size_t len);
void vrec_free(struct vrec *v);
/* Encodes v (malloc()ed, *len bytes). */
uint8_t *vrec_encode(const struct vrec *v, size_t *len);
int vrec_put(struct gfs *fs, golite_batch *b, uint32_t table, const uint8_t *key, size_t klen,
	     const struct vrec *v);
void vrec_to_attr(const struct vrec *v, struct nattr *a);

/* xattr edits on v: set (flags XATTR_CREATE/REPLACE), get, remove, list */
int vrec_xattr_set(struct vrec *v, const char *name, const void *value, size_t size,
		   int flags);
int vrec_xattr_remove(struct vrec *v, const char *name);

/* Batches and writes. */
/* The thread's batch, emptied (gfs_batch) or as it is (gfs_batch_current). */
golite_batch *gfs_batch(void);
golite_batch *gfs_batch_current(void);
/* Deletes key of GOLITE_TABLE_FS. */
int fs_delete_key(struct gfs *fs, const uint8_t *key, size_t klen);
int gfs_write_batch(struct gfs *fs, golite_batch *b, const char *what);
/* Marks what this thread writes from now on as freeing space (or not), so
 * that unlink, rmdir, truncation and xattr removal work on a full disk
 * (golite_batch_set_frees_space). Returns the previous setting. */
bool gfs_frees_space(bool on);
/* golite_put_raw, freeing space inside a gfs_frees_space scope. */
int gfs_put_raw(struct gfs *fs, uint32_t table, unsigned kind, const void *key, size_t klen,
		const void *value, size_t vlen);
int owner_put(golite_batch *b, uint64_t ino, uint32_t table, const uint8_t *key, size_t klen);
int owner_delete(golite_batch *b, uint64_t ino);

/* Keys of GOLITE_TABLE_FS for special directories. */
size_t fskey_dir(const struct node *n, uint8_t key[8]);

/* ---- rename.c / attr.c / file.c ---- */
void gfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		const char *newname, unsigned int flags);

/* With FUSE_HANDLE_KILLPRIV_V2 (kio.c): clears the set-user/group-ID bits
 * (suidgid) and drops security.capability, as the kernel would on a
 * write, truncation or change of owner. */
int attr_kill_priv(struct gfs *fs, fuse_req_t req, struct node *n, bool suidgid);
void gfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void gfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		 struct fuse_file_info *fi);
void gfs_readlink(fuse_req_t req, fuse_ino_t ino);
void gfs_statfs(fuse_req_t req, fuse_ino_t ino);
void gfs_access(fuse_req_t req, fuse_ino_t ino, int mask);
void gfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
		  size_t size, int flags);
void gfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size);
void gfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void gfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name);

/* Sets what the kernel is told of a regular file it opened or created:
 * no handle, and its cached pages kept (see file.c). */
void file_open_reply_flags(struct fuse_file_info *fi);
void gfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void gfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
	      struct fuse_file_info *fi);
void gfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
	       struct fuse_file_info *fi);
void gfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void gfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi);
void gfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi);
void gfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
		   struct fuse_file_info *fi);

/* handle.c: handles of open directories and control files (fi->fh). */
uint64_t handle_new(void *obj, void (*destroy)(void *obj));
/* The object with one more reference, or NULL if the handle is closed. */
void *handle_get(uint64_t id);
void handle_put(uint64_t id);
/* The release: no new references; destroyed once the last is put. */
void handle_close(uint64_t id);

/* control.c: the /.golite directory */
void ctl_init(struct gfs *fs);
int ctl_lookup(struct gfs *fs, struct node *dir, const char *name, struct fuse_entry_param *e);
int ctl_open(struct gfs *fs, struct node *n, struct fuse_file_info *fi);
/* Copies what a read of the open control file n returns (*data,
 * malloc()ed). */
int ctl_read(struct gfs *fs, struct node *n, struct fuse_file_info *fi, size_t size, off_t off,
	     char **data, size_t *len);
/* A write to control file n: a checkpoint's directory to /.golite/checkpoint. */
int ctl_write(struct gfs *fs, struct node *n, const char *buf, size_t size);
/* Takes a checkpoint in dir (an absolute path outside the mount), after
 * the daemon's pending sizes and times; counts and logs it. Returns 0 or
 * the GOLITE_E* code (golite_last_error says why). */
int ctl_checkpoint(struct gfs *fs, const char *dir, uint64_t *seq);
void ctl_destroy(struct gfs *fs);
void ctl_release(struct fuse_file_info *fi);
/* The attributes of a control node as stat shows them now. */
void ctl_stat(struct gfs *fs, struct node *n, struct stat *st);

static inline bool node_is_ctl(const struct gfs *fs, const struct node *n)
{
	return n == &fs->ctl || n == &fs->ctl_stats || n == &fs->ctl_events ||
	       n == &fs->ctl_checkpoint || n == &fs->ctl_snapshots;
}

/* Control files whose attributes change without a request (attribute
 * timeout 0). */
static inline bool node_is_volatile(const struct gfs *fs, const struct node *n)
{
	return n == &fs->ctl_stats || n == &fs->ctl_events;
}

/* metrics.c: rates and latencies for /.golite/stats */
void metrics_init(struct gfs *fs);
void metrics_destroy(struct gfs *fs);
/* Records a latency of kind k for a request that began at start_ns
 * (now_ns). Lock-free: relaxed adds on the thread's shard. */
void metrics_latency(struct gfs *fs, enum gfs_lat k, uint64_t start_ns);
/* Takes a sample if the newest is about a second old or more (the
 * background thread calls it at every wake-up, stats readers too). */
void metrics_sample(struct gfs *fs);
/* Writes the fs_rate_* and fs_latency_* lines. */
void metrics_write(struct gfs *fs, FILE *f);

/* events.c: the change feed */
enum ev_op {
	EV_CREATE, EV_MKDIR, EV_SYMLINK, EV_WRITE, EV_TRUNCATE, EV_FALLOCATE, EV_UNLINK,
	EV_RMDIR, EV_RENAME, EV_EXCHANGE, EV_CHMOD, EV_CHOWN, EV_UTIMENS, EV_SETXATTR,
	EV_REMOVEXATTR, EV_LINK, EV_COUNT
};
/* True while a reader has the feed open: emitters skip their work else. */
static inline bool ev_wanted(struct gfs *fs)
{
	return golite_feed_wanted(fs->db);
}
/* Emitters, called after the engine accepted the change, with no lock
 * held. The entry named: node n; the child name of directory dir (the
 * root for tables); a rename from (sdir, name) to (ddir, newname). arg is
 * an extra field (the attribute of setxattr), or NULL. */
void ev_node(struct gfs *fs, enum ev_op op, struct node *n, const char *arg);
void ev_child(struct gfs *fs, enum ev_op op, struct node *dir, const char *name);
void ev_rename(struct gfs *fs, struct node *sdir, const char *name, struct node *ddir,
	       const char *newname, unsigned flags);
/* The feed's size (bytes of every event so far) and time of the last. */
void ev_stat(struct gfs *fs, uint64_t *size, int64_t *mtime_ns);
/* With the writeback cache the kernel keeps its own size of regular files
 * and ignores the one getattr answers: hands it the feed's size (through
 * a store notification of the last byte). Called from the getattr of the
 * feed, before the reply. */
void ev_push_size(struct gfs *fs);
/* Opens a reader of the events after now: *fh, a handle (handle.c) whose
 * object is the engine's golite_feed_reader, freed at its release. */
int ev_open(struct gfs *fs, uint64_t *fh);
/* Copies up to size bytes of the events after the reader's position
 * (*data, malloc()ed, *len 0 at the end: EOF). Never waits. */
void ev_read(void *reader, size_t size, char **data, size_t *len);

/* implied.c */
struct implied_entry;
void implied_init(struct gfs *fs);
void implied_destroy(struct gfs *fs);
/* Adds the directories above key, written through the API while mounted
 * (an entry that is not one is harmless: invariant 1 of implied.c). */
void implied_add_key(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen);
/* False only if (table, key) is certainly not an implied directory. */
bool implied_maybe(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen);
/* Counts the keys and builds the index (background thread, at mount). */
void scan_keys(struct gfs *fs);

/* sweep.c */
int sweep_at_mount(struct gfs *fs);
int sweep_at_unmount(struct gfs *fs);
void gfs_bg_start(struct gfs *fs);
void gfs_bg_stop(struct gfs *fs);

/* stats: the calling thread's shard of the counters (threads take shards
 * in turn, so the FUSE workers seldom share one) */
static inline unsigned stat_shard(void)
{
	static __thread unsigned shard = STAT_SHARDS;
	if (__builtin_expect(shard == STAT_SHARDS, 0)) {
		static _Atomic unsigned next;
		shard = atomic_fetch_add(&next, 1) % STAT_SHARDS;
	}
	return shard;
}

static inline void op_count(struct gfs *fs, enum gfs_op op)
{
	atomic_fetch_add_explicit(&fs->ctr[stat_shard()].op[op], 1, memory_order_relaxed);
}

static inline struct gfs *req_fs(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* The node of the id a request names, or NULL once it has answered
 * ESTALE (an id this mount does not know: node_of). */
static inline struct node *req_node(fuse_req_t req, fuse_ino_t ino)
{
	struct node *n = node_of(req_fs(req), ino);
	if (!n)
		fuse_reply_err(req, ESTALE);
	return n;
}


#endif /* GOLITEFS_FS_H */
