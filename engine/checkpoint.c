/*
 * checkpoint.c — golite_checkpoint (golite.h) and golite_checkpoint_ex
 * (golite_tools.h): a consistent copy of an open store, as of one sequence
 * number, in a directory of its own, made while other threads go on
 * writing. RocksDB's Checkpoint is the model: hold off the deletion of the
 * files, take the sequence with the log forced out, link the immutable
 * tables, copy the live log up to that sequence.
 *
 * A checkpoint is a store directory (filename.h names its files):
 *
 *     NNNNNNNN.sst   the tables of one version of the store: hard links to
 *                    its files, or copies (another file system, or the
 *                    `copy` option), or links to the identical tables of
 *                    the checkpoint it replaces (the `replace` option)
 *     NNNNNNNN.val   the value files (vlog.h): hard links or copies
 *     NNNNNNNN.wal   copies of the log segments from that version's log
 *                    number on: the last cut just past the record holding
 *                    the checkpoint's sequence number, each earlier one
 *                    just past its last record
 *     MANIFEST       that version's tables and counters
 *     CHECKPOINT     the `label` option's text, if given (golite backup's:
 *                    what it copied, when); the store ignores it
 *     STORE          the marker, written last (db_open.c invariant 1)
 *
 * No LOCK and no RESERVE: the process that opens the checkpoint makes them.
 *
 * How it is made:
 *   1. Under bg_mu: a reference on the current version, a copy of the
 *      manifest state that goes with it (compaction.c invariant 1; the
 *      named snapshots included), and a hold on the log (db->ckpt_holds:
 *      flushes remove no segment).
 *   2. Under the log lock (wal_position): the sequence number S, the
 *      store's last_seq, and the point in the log just past its record.
 *   3. wal_sync_to that point: every record before it is in its file.
 *   4. The tables linked or copied, the log segments copied up to the
 *      point, MANIFEST, STORE, all synced, in DIR.tmp-PID-N.
 *   5. That directory renamed to dir (or swapped with the checkpoint it
 *      replaces), the parent synced; the hold and the reference let go.
 * A store opened read-only has no log lock and no writers: S is its
 * last_seq, and its segments are copied to their last record.
 *
 * Invariants:
 *   1. The tables hold nothing after S: S was read after the version's
 *      last_seq and last_seq only grows, and a version's tables hold no
 *      write after its manifest's last_seq (flush.c: a memtable holds the
 *      writes up to its switch_seq).
 *   2. The copied log holds exactly the writes in (the version's
 *      last_seq, S]: they are in the segments numbered from the version's
 *      log number (db.h invariant 4, flush.c), every record before the
 *      point has a sequence <= S and every one after it a larger one (db.h
 *      invariant 1). Checked on the copy: its newest sequence must be S
 *      when S is past the version's last_seq (GOLITE_ECORRUPT otherwise).
 *   3. What is linked or copied exists until the end: a table's file is
 *      unlinked only when no version holds it (version.h invariant 2), and
 *      no segment is removed while ckpt_holds > 0.
 *   4. dir appears complete or not at all: the checkpoint is built in a
 *      temporary directory beside it, synced, and then renamed into place
 *      (RENAME_NOREPLACE), or swapped with the checkpoint it replaces
 *      (RENAME_EXCHANGE). On an error the temporary directory is removed
 *      and dir is as it was.
 *   5. Nothing of the store changes but a sync of its log and the delayed
 *      removal of flushed segments.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "compaction_int.h"
#include "db.h"
#include "error.h"
#include "filename.h"
#include "golite_tools.h"
#include "io.h"
#include "table_format.h"
#include "util.h"
#include "wal_int.h"

/* Bytes a copy moves at a time. */
#define COPY_CHUNK (1u << 20)

/* Numbers the temporary directories of this process (DIR.tmp-PID-N). */
static _Atomic unsigned tmp_counter;

/* One checkpoint at work. */
struct ckpt {
	struct golite *db;
	const golite_checkpoint_options *o;
	golite_checkpoint_stats st;
	char dir[PATH_MAX];      /* where it goes, without trailing slashes */
	char parent[PATH_MAX];   /* dir's parent directory */
	char tmp[PATH_MAX];      /* where it is built ("" until made) */
	bool have_old;           /* dir exists (replace): it is swapped out */
	bool old_is_store;       /* ... and holds a store, whose tables may be kept */
	struct stat old_st;      /* dir's mode and owner, given to the new one */
	int old_lock_fd;         /* dir's LOCK, held while we replace it */
	uint8_t *buf;            /* COPY_CHUNK bytes */
	uint64_t done, total;    /* progress */

	/* What steps 1 and 2 took. */
	struct version *v;       /* referenced */
	struct manifest m;       /* its counters; compact pointers copied, files
				  * borrowed from v */
	bool held;               /* db->ckpt_holds counts us */
	struct wal_position pos; /* segno UINT64_MAX: every segment, whole */
	uint64_t seq;            /* S */
};

static void progress(struct ckpt *c, uint64_t bytes)
{
	c->done += bytes;
	if (c->o->progress)
		c->o->progress(c->o->progress_ctx, "checkpoint", c->done, MAX(c->done, c->total));
}

static void report(struct ckpt *c, const char *name, enum golite_checkpoint_how how,
		   uint64_t bytes)
{
	if (c->o->report)
		c->o->report(c->o->report_ctx, name, how, bytes);
}

/* An error for a failed call (-err, an errno) on path; a directory that is
 * not writable says so, as its error code (GOLITE_EIO) cannot. */
static int io_error(int err, const char *what, const char *path)
{
	if (err == EACCES || err == EPERM)
		return set_error(GOLITE_EIO, "cannot %s %s: %s (the directory is not writable)",
				 what, path, strerror(err));
	return set_error(errno_to_golite(err), "cannot %s %s: %s", what, path, strerror(err));
}

/* ---- the directory ---- */

/* True for the names a checkpoint directory holds (filename.h, and the
 * label file), and for their temporary files: what remove_store_dir may
 * remove. */
static bool store_file_name(const char *name)
{
	enum file_kind kind;
	uint64_t no;
	if (parse_file_name(name, &kind, &no) || strcmp(name, GOLITE_CHECKPOINT_LABEL_FILE) == 0 ||
	    strcmp(name, GOLITE_CHECKPOINT_LABEL_FILE TEMP_SUFFIX) == 0)
		return true;
	size_t n = strlen(name), t = strlen(TEMP_SUFFIX);
	if (n <= t || strcmp(name + n - t, TEMP_SUFFIX) != 0)
		return false;
	char base[FILE_NAME_MAX];
	if (n - t >= sizeof(base))
		return false;
	memcpy(base, name, n - t);
	base[n - t] = '\0';
	return parse_file_name(base, &kind, &no);
}

/*
 * Removes the store files in dir (store_file_name), then dir itself if that
 * leaves it empty. Returns 0, or a negative errno: what could not be
 * removed stays (a directory holding other files stays whole but for the
 * store's files).
 */
static int remove_store_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!store_file_name(de->d_name))
			continue;
		char p[PATH_MAX];
		if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, de->d_name) >= sizeof(p))
			continue;
		int u = io_unlink(p);
		if (u < 0 && u != -ENOENT)
			r = u;
	}
	closedir(d);
	int e = io_rmdir(dir);
	return r ? r : e;
}

/* True if the directory at path holds nothing. */
static bool dir_is_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return false;
	bool empty = true;
	struct dirent *de;
	while (empty && (de = readdir(d)))
		empty = strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0;
	closedir(d);
	return empty;
}

/*
 * Checks dir and fills c->dir and c->parent: dir is not the store's own
 * directory, its parent exists, and dir does not exist, or (replace) is an
 * empty directory or a store, which is then locked if it has a LOCK file.
 */
static int check_dir(struct ckpt *c, const char *dir)
{
	if (!dir || !*dir)
		return set_error(GOLITE_EINVAL, "checkpoint directory is NULL or empty");
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	/* Room for the temporary name's suffix, and a file name after it. */
	if (n + 64 >= sizeof(c->dir))
		return set_error(GOLITE_EINVAL, "checkpoint directory name too long");
	memcpy(c->dir, dir, n);
	c->dir[n] = '\0';
	const char *slash = strrchr(c->dir, '/');
	const char *base = slash ? slash + 1 : c->dir;
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return set_error(GOLITE_EINVAL, "checkpoint directory %s names no new directory",
				 dir);
	if (!slash)
		snprintf(c->parent, sizeof(c->parent), ".");
	else if (slash == c->dir)
		snprintf(c->parent, sizeof(c->parent), "/");
	else
		snprintf(c->parent, sizeof(c->parent), "%.*s", (int)(slash - c->dir), c->dir);

	struct stat st;
	if (stat(c->parent, &st) < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return set_error(GOLITE_ENOTFOUND,
					 "cannot make checkpoint %s: its parent directory %s does "
					 "not exist", c->dir, c->parent);
		return io_error(errno, "look at", c->parent);
	}
	if (!S_ISDIR(st.st_mode))
		return set_error(GOLITE_ENOTFOUND, "cannot make checkpoint %s: %s is not a directory",
				 c->dir, c->parent);
	if (lstat(c->dir, &c->old_st) < 0) {
		if (errno != ENOENT)
			return io_error(errno, "look at", c->dir);
		return 0;
	}
	struct stat store;
	if (stat(c->db->path, &store) == 0 && store.st_dev == c->old_st.st_dev &&
	    store.st_ino == c->old_st.st_ino)
		return set_error(GOLITE_EINVAL, "checkpoint directory %s is the store itself",
				 c->dir);
	if (!c->o->replace)
		return set_error(GOLITE_EEXIST, "checkpoint directory %s exists already", c->dir);
	if (!S_ISDIR(c->old_st.st_mode))
		return set_error(GOLITE_EEXIST, "%s exists and is not a directory; not replacing it",
				 c->dir);
	char p[PATH_MAX];
	file_path(p, sizeof(p), c->dir, FILE_STORE, 0);
	c->old_is_store = access(p, F_OK) == 0;
	if (!c->old_is_store && !dir_is_empty(c->dir))
		return set_error(GOLITE_EEXIST,
				 "%s exists and is neither empty nor a store; not replacing it", c->dir);
	c->have_old = true;
	file_path(p, sizeof(p), c->dir, FILE_LOCK, 0);
	if (access(p, F_OK) == 0) {
		int r = data_dir_lock(c->dir, true, &c->old_lock_fd);
		if (r)
			return r;
	}
	return 0;
}

/* Makes the temporary directory c->tmp, DIR.tmp-PID-N. */
static int make_tmp(struct ckpt *c)
{
	for (int tries = 0; tries < 1000; tries++) {
		unsigned n = atomic_fetch_add(&tmp_counter, 1);
		/* c->dir leaves room for the suffix (check_dir). */
		if ((size_t)snprintf(c->tmp, sizeof(c->tmp), "%s.tmp-%d-%u", c->dir,
				     (int)getpid(), n) >= sizeof(c->tmp))
			break;
		int r = io_mkdir(c->tmp, 0700);
		if (r == 0)
			return 0;
		if (r == -EEXIST)
			continue;
		char failed[PATH_MAX];
		snprintf(failed, sizeof(failed), "%s", c->tmp);
		c->tmp[0] = '\0';
		if (r == -ENOENT)
			return set_error(GOLITE_ENOTFOUND,
					 "cannot make checkpoint %s: its parent directory %s does "
					 "not exist", c->dir, c->parent);
		return io_error(-r, "create directory", failed);
	}
	c->tmp[0] = '\0';
	return set_error(GOLITE_EIO, "cannot find a free temporary name beside %s", c->dir);
}

/* ---- steps 1 to 3: what the checkpoint holds ---- */

static void read_seq(void *arg)
{
	struct ckpt *c = arg;
	c->seq = atomic_load(&c->db->last_seq);
}

static int take_snapshot(struct ckpt *c)
{
	struct golite *db = c->db;
	mutex_lock(&db->bg_mu);
	c->v = db->current;
	version_ref(c->v);
	c->m = db->ms;
	c->m.files = NULL;
	c->m.nfiles = 0;
	for (int l = 0; l < NUM_LEVELS; l++)
		c->m.compact_ptr[l] = db->ms.compact_ptr[l]
					      ? xmemdup(db->ms.compact_ptr[l], db->ms.compact_ptr_len[l])
					      : NULL;
	/* The named snapshots go with it: every one was registered before
	 * this version was current, so its tables and the log after them
	 * hold what each sees (snapshot.h invariant 1). */
	c->m.snaps = manifest_snaps_dup(db->ms.snaps, db->ms.nsnaps);
	db->ckpt_holds++;
	c->held = true;
	mutex_unlock(&db->bg_mu);

	if (db->wal) {
		int r = wal_position(db->wal, read_seq, c, &c->pos);
		if (!r)
			r = wal_sync_to(db->wal, c->pos.lsn);
		if (r)
			return r;
	} else {
		c->seq = atomic_load(&db->last_seq);
		c->pos.segno = UINT64_MAX;
	}
	assert(c->seq >= c->m.last_seq);
	/* Above every file the checkpoint holds: the counter has passed the
	 * segment of the point and every table of the version. */
	c->m.next_file_no = atomic_load(&db->next_file_no);

	size_t n = 0;
	for (int l = 0; l < NUM_LEVELS; l++)
		n += c->v->n[l];
	c->m.files = xcalloc(n ? n : 1, sizeof(*c->m.files));
	for (int l = 0; l < NUM_LEVELS; l++)
		for (size_t i = 0; i < c->v->n[l]; i++) {
			const struct table_file *f = c->v->files[l][i];
			c->m.files[c->m.nfiles++] = (struct manifest_file){ (uint32_t)l, f->meta };
			c->total += f->meta.file_size;
		}
	return 0;
}

/* Lets go of what take_snapshot took. */
static void release_snapshot(struct ckpt *c)
{
	struct golite *db = c->db;
	if (c->held) {
		mutex_lock(&db->bg_mu);
		int left = --db->ckpt_holds;
		uint64_t log_number = db->ms.log_number;
		mutex_unlock(&db->bg_mu);
		/* The segments flushes kept for us meanwhile. */
		if (db->wal && left == 0)
			bg_remove_old_segments(db, log_number);
	}
	if (c->v)
		version_unref(c->v);
	for (int l = 0; l < NUM_LEVELS; l++)
		free(c->m.compact_ptr[l]);
	free(c->m.files);
	manifest_snaps_free(c->m.snaps, c->m.nsnaps);
	c->m.snaps = NULL;
	c->m.nsnaps = 0;
}

/* ---- step 4: the files ---- */

/* Writes the len bytes of data to the new file path, and syncs it. */
static int write_new_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = io_open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return io_error(-fd, "create", path);
	int r = io_pwrite(fd, data, len, 0);
	if (r == 0)
		r = io_fsync(fd);
	int cl = io_close(fd);
	if (r == 0)
		r = cl;
	return r < 0 ? io_error(-r, "write", path) : 0;
}

/* Copies the first len bytes of from (which must hold them) to the new
 * file to, and syncs it. */
static int copy_file(struct ckpt *c, const char *from, const char *to, uint64_t len)
{
	int in = io_open(from, O_RDONLY, 0);
	if (in < 0)
		return io_error(-in, "open", from);
	int out = io_open(to, O_WRONLY | O_CREAT | O_EXCL, 0600);
	int r = 0;
	if (out < 0) {
		r = io_error(-out, "create", to);
		goto out_close_in;
	}
	for (uint64_t off = 0; off < len;) {
		size_t n = (size_t)MIN((uint64_t)COPY_CHUNK, len - off);
		ssize_t got = io_pread(in, c->buf, n, off);
		if (got < 0) {
			r = io_error((int)-got, "read", from);
			goto out_close_out;
		}
		if ((size_t)got < n) {
			r = set_error(GOLITE_ECORRUPT, "%s: %llu bytes, expected %llu", from,
				      (unsigned long long)(off + (uint64_t)got),
				      (unsigned long long)len);
			goto out_close_out;
		}
		int w = io_pwrite(out, c->buf, n, off);
		if (w < 0) {
			r = io_error(-w, "write", to);
			goto out_close_out;
		}
		off += n;
		progress(c, n);
	}
	int s = io_fsync(out);
	if (s < 0)
		r = io_error(-s, "sync", to);
out_close_out:
	io_close(out);
out_close_in:
	io_close(in);
	return r;
}

/* Reads n bytes at off of path into a malloc()ed buffer; -ENODATA if the
 * file ends before. */
static int read_range(const char *path, uint64_t off, size_t n, uint8_t **out)
{
	int fd = io_open(path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	uint8_t *b = xmalloc(n ? n : 1);
	ssize_t got = io_pread(fd, b, n, off);
	io_close(fd);
	if (got < 0 || (size_t)got != n) {
		free(b);
		return got < 0 ? (int)got : -ENODATA;
	}
	*out = b;
	return 0;
}

/*
 * True if the table old (a table of the checkpoint being replaced) is
 * the store's table src, described by meta: the same size, the same bytes
 * from its properties block to its end (properties with the file number,
 * entry counts, sequence and key range; the index with every block's
 * place; the footer), and every block checksum of old holds.
 */
static bool table_is_kept(const char *old, const char *src, const struct sst_meta *meta)
{
	struct stat st;
	if (stat(old, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != meta->file_size ||
	    meta->file_size < SST_FOOTER_SIZE)
		return false;
	uint8_t *fa = NULL, *fb = NULL, *ta = NULL, *tb = NULL;
	bool same = false;
	uint64_t foot_off = meta->file_size - SST_FOOTER_SIZE;
	if (read_range(old, foot_off, SST_FOOTER_SIZE, &fa) < 0 ||
	    read_range(src, foot_off, SST_FOOTER_SIZE, &fb) < 0 ||
	    memcmp(fa, fb, SST_FOOTER_SIZE) != 0)
		goto out;
	struct sst_footer foot;
	struct sst_problem why;
	if (sst_parse_footer(fa, meta->file_size, &foot, &why))
		goto out;
	size_t tail = (size_t)(meta->file_size - foot.props_off);
	if (read_range(old, foot.props_off, tail, &ta) < 0 ||
	    read_range(src, foot.props_off, tail, &tb) < 0 || memcmp(ta, tb, tail) != 0)
		goto out;
	same = sst_verify(old, NULL) == 0;
out:
	free(fa);
	free(fb);
	free(ta);
	free(tb);
	return same;
}

/* link(2) errors after which a copy does the work. */
static bool link_unsupported(int err)
{
	return err == EXDEV || err == EPERM || err == EMLINK || err == EOPNOTSUPP;
}

static int place_tables(struct ckpt *c)
{
	for (size_t i = 0; i < c->m.nfiles; i++) {
		const struct sst_meta *meta = &c->m.files[i].meta;
		char name[FILE_NAME_MAX], src[PATH_MAX], dst[PATH_MAX], old[PATH_MAX];
		file_name(name, sizeof(name), FILE_TABLE, meta->file_no);
		file_path(src, sizeof(src), c->db->path, FILE_TABLE, meta->file_no);
		file_path(dst, sizeof(dst), c->tmp, FILE_TABLE, meta->file_no);
		enum golite_checkpoint_how how = GOLITE_CKPT_COPIED;
		int r = -EXDEV;
		if (c->old_is_store) {
			file_path(old, sizeof(old), c->dir, FILE_TABLE, meta->file_no);
			if (table_is_kept(old, src, meta)) {
				r = io_link(old, dst);
				how = GOLITE_CKPT_KEPT;
			}
		}
		if (r < 0 && !c->o->copy) {
			r = io_link(src, dst);
			how = GOLITE_CKPT_LINKED;
		}
		if (r < 0 && !link_unsupported(-r))
			return io_error(-r, "link", dst);
		if (r < 0) {
			how = GOLITE_CKPT_COPIED;
			r = copy_file(c, src, dst, meta->file_size);
			if (r)
				return r;
			c->st.tables_copied++;
			c->st.bytes_copied += meta->file_size;
		} else {
			if (how == GOLITE_CKPT_KEPT)
				c->st.tables_kept++;
			else
				c->st.tables_linked++;
			progress(c, meta->file_size);
		}
		c->st.tables++;
		c->st.table_bytes += meta->file_size;
		report(c, name, how, meta->file_size);
	}
	return 0;
}

/* The value files (vlog.h): linked or copied like tables, or kept from the
 * checkpoint replaced (same number and size: a value file never changes
 * once tables point into it). None is deleted while a checkpoint holds
 * the store (vlog.h invariant 2). Every one is taken: those the
 * checkpoint's tables no longer reach are collected when it is opened for
 * writing. */
/* True if the files a and b both hold size bytes, the same ones. A value
 * file never changes once tables point into it, but the checkpoint
 * replaced may come from another store: its file of the same number is
 * kept only if it reads the same (reading both costs less than writing
 * one). */
static bool same_bytes(const char *a, const char *b, uint64_t size)
{
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
	struct stat sa;
	bool same = fa >= 0 && fb >= 0 && fstat(fa, &sa) == 0 && (uint64_t)sa.st_size == size;
	const size_t step = 1u << 20;
	uint8_t *x = same ? xmalloc(step) : NULL, *y = same ? xmalloc(step) : NULL;
	for (uint64_t off = 0; same && off < size; off += step) {
		size_t n = (size_t)MIN((uint64_t)step, size - off);
		same = io_pread(fa, x, n, off) == (ssize_t)n && io_pread(fb, y, n, off) == (ssize_t)n &&
		       memcmp(x, y, n) == 0;
	}
	free(x);
	free(y);
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

static int place_values(struct ckpt *c)
{
	uint64_t *nums;
	size_t count;
	int e = file_list(c->db->path, FILE_VALUE, &nums, &count);
	if (e < 0)
		return io_error(-e, "list", c->db->path);
	int r = 0;
	for (size_t i = 0; i < count && !r; i++) {
		char name[FILE_NAME_MAX], src[PATH_MAX], dst[PATH_MAX];
		file_name(name, sizeof(name), FILE_VALUE, nums[i]);
		file_path(src, sizeof(src), c->db->path, FILE_VALUE, nums[i]);
		file_path(dst, sizeof(dst), c->tmp, FILE_VALUE, nums[i]);
		struct stat st;
		if (stat(src, &st) < 0) {
			r = io_error(errno, "stat", src);
			break;
		}
		uint64_t size = (uint64_t)st.st_size;
		enum golite_checkpoint_how how = GOLITE_CKPT_LINKED;
		int l = -EXDEV;
		if (c->old_is_store) {
			char old[PATH_MAX];
			file_path(old, sizeof(old), c->dir, FILE_VALUE, nums[i]);
			if (same_bytes(old, src, size)) {
				l = io_link(old, dst);
				if (l == 0)
					how = GOLITE_CKPT_KEPT;
			}
		}
		if (l < 0 && !c->o->copy)
			l = io_link(src, dst);
		if (l < 0 && !link_unsupported(-l)) {
			r = io_error(-l, "link", dst);
			break;
		}
		if (l < 0) {
			how = GOLITE_CKPT_COPIED;
			r = copy_file(c, src, dst, size);
			c->st.bytes_copied += size;
		} else {
			progress(c, size);
		}
		if (r)
			break;
		report(c, name, how, size);
	}
	free(nums);
	return r;
}

/* What the copied log holds (invariant 2). */
struct log_seen {
	uint64_t newest;        /* newest sequence of a record */
	uint64_t damaged;       /* damaged ranges */
	uint64_t damage_off;    /* where the first is */
	bool bad_batch;         /* a record that does not parse */
};

static int seen_record(void *arg, uint64_t off, const uint8_t *p, size_t len)
{
	(void)off;
	struct log_seen *s = arg;
	uint32_t count;
	uint64_t first;
	if (rep_iterate(p, len, NULL, NULL, &count, &first)) {
		s->bad_batch = true;
		return 0;
	}
	if (count && first + count - 1 > s->newest)
		s->newest = first + count - 1;
	return 0;
}

static void seen_damage(void *arg, uint64_t off, uint64_t end, bool torn, const char *why)
{
	(void)end;
	(void)torn;
	(void)why;
	struct log_seen *s = arg;
	if (!s->damaged++)
		s->damage_off = off;
}

/* Copies one log segment, cut at its last record, or (the point's segment)
 * at the point. */
static int copy_segment(struct ckpt *c, uint64_t segno, struct log_seen *seen)
{
	char src[PATH_MAX], dst[PATH_MAX], name[FILE_NAME_MAX];
	file_path(src, sizeof(src), c->db->path, FILE_WAL, segno);
	file_path(dst, sizeof(dst), c->tmp, FILE_WAL, segno);
	file_name(name, sizeof(name), FILE_WAL, segno);
	bool at_point = segno == c->pos.segno;
	uint8_t *d;
	size_t n;
	int r;
	if (at_point) {
		/* Only the records before the point: later ones are being
		 * appended meanwhile. */
		n = (size_t)c->pos.end;
		r = read_range(src, 0, n, &d);
		if (r == -ENODATA)
			return set_error(GOLITE_ECORRUPT,
					 "log segment %s is shorter than its records (%zu bytes)", src,
					 n);
	} else {
		r = io_read_file(src, WAL_MAX_SEGMENT_READ, &d, &n);
	}
	if (r < 0)
		return io_error(-r, "read", src);
	size_t end = at_point ? n : wal_records_end(d, n);
	struct log_seen one = { 0 };
	struct wal_reporter rep = { seen_damage, &one };
	struct wal_scan_info info;
	wal_scan(d, end, seen_record, &one, &rep, &info);
	if (one.damaged || one.bad_batch) {
		free(d);
		return set_error(GOLITE_ECORRUPT,
				 "log segment %s is damaged at offset %llu; a checkpoint would lack "
				 "writes (see `golite check`)", src,
				 (unsigned long long)(one.damaged ? one.damage_off : 0));
	}
	seen->newest = MAX(seen->newest, one.newest);
	r = write_new_file(dst, d, end);
	free(d);
	if (r)
		return r;
	c->st.log_segments++;
	c->st.log_bytes += end;
	c->st.bytes_copied += end;
	progress(c, end);
	report(c, name, GOLITE_CKPT_LOG, end);
	return 0;
}

static int copy_log(struct ckpt *c)
{
	uint64_t *nums;
	size_t count;
	int r = file_list(c->db->path, FILE_WAL, &nums, &count);
	if (r < 0)
		return io_error(-r, "list", c->db->path);
	for (size_t i = 0; i < count; i++) {
		if (nums[i] >= c->m.log_number && nums[i] <= c->pos.segno) {
			char p[PATH_MAX];
			struct stat st;
			file_path(p, sizeof(p), c->db->path, FILE_WAL, nums[i]);
			if (stat(p, &st) == 0)
				c->total += (uint64_t)st.st_size;
		}
	}
	struct log_seen seen = { 0 };
	for (size_t i = 0; i < count && !r; i++)
		if (nums[i] >= c->m.log_number && nums[i] <= c->pos.segno)
			r = copy_segment(c, nums[i], &seen);
	free(nums);
	if (r)
		return r;
	if (seen.newest > c->seq || (c->seq > c->m.last_seq && seen.newest != c->seq))
		return set_error(GOLITE_ECORRUPT,
				 "the log of %s holds sequences up to %llu where the checkpoint's "
				 "sequence is %llu (tables up to %llu); not making a checkpoint that "
				 "would differ", c->db->path, (unsigned long long)seen.newest,
				 (unsigned long long)c->seq, (unsigned long long)c->m.last_seq);
	return 0;
}

/* MANIFEST, the label, then the STORE marker that says the directory is
 * complete. */
static int write_marks(struct ckpt *c)
{
	int r = manifest_write(c->tmp, &c->m);
	if (r)
		return r;
	if (c->o->label) {
		char *text;
		int n = asprintf(&text, "%ssequence %llu\n", c->o->label,
				 (unsigned long long)c->seq);
		if (n < 0)
			FATAL("out of memory");
		r = io_write_file_atomic(c->tmp, GOLITE_CHECKPOINT_LABEL_FILE, text, (size_t)n);
		free(text);
		if (r < 0)
			return io_error(-r, "write the label in", c->tmp);
	}
	r = io_write_file_atomic(c->tmp, STORE_FILE, STORE_TEXT, strlen(STORE_TEXT));
	if (r < 0)
		return io_error(-r, "write the STORE marker in", c->tmp);
	return 0;
}

/* ---- step 5: into place ---- */

static int install(struct ckpt *c)
{
	int r;
	if (!c->have_old) {
		r = io_rename_noreplace(c->tmp, c->dir);
		if (r == -EINVAL || r == -ENOSYS) {
			struct stat st;
			r = lstat(c->dir, &st) == 0 ? -EEXIST : io_rename(c->tmp, c->dir);
		}
		if (r == -EEXIST || r == -ENOTEMPTY)
			return set_error(GOLITE_EEXIST, "checkpoint directory %s was made meanwhile",
					 c->dir);
		if (r < 0)
			return io_error(-r, "rename to", c->dir);
		c->tmp[0] = '\0';
		r = io_sync_dir(c->parent);
		return r < 0 ? io_error(-r, "sync", c->parent) : 0;
	}

	/* The old checkpoint's mode and owner (best effort: a checkpoint
	 * opens whatever they are). */
	if (chmod(c->tmp, c->old_st.st_mode & 07777) < 0 ||
	    chown(c->tmp, c->old_st.st_uid, c->old_st.st_gid) < 0)
		db_log(c->db, GOLITE_LOG_INFO, "cannot give %s the mode and owner of %s: %s",
		       c->tmp, c->dir, strerror(errno));
	char aside[PATH_MAX];
	r = io_rename_exchange(c->tmp, c->dir);
	if (r == 0) {
		/* c->tmp now names the old checkpoint. */
		snprintf(aside, sizeof(aside), "%s", c->tmp);
	} else if (r == -EINVAL || r == -ENOSYS) {
		if ((size_t)snprintf(aside, sizeof(aside), "%s.old-%d-%u", c->dir, (int)getpid(),
				     atomic_fetch_add(&tmp_counter, 1)) >= sizeof(aside))
			return set_error(GOLITE_EINVAL, "checkpoint directory name too long");
		r = io_rename(c->dir, aside);
		if (r < 0)
			return io_error(-r, "rename", c->dir);
		r = io_rename(c->tmp, c->dir);
		if (r < 0) {
			int back = io_rename(aside, c->dir);
			io_sync_dir(c->parent);
			if (back < 0)
				db_log(c->db, GOLITE_LOG_ERROR, "the checkpoint %s is left at %s: %s",
				       c->dir, aside, strerror(-back));
			return io_error(-r, "rename to", c->dir);
		}
	} else {
		return io_error(-r, "swap with", c->dir);
	}
	c->tmp[0] = '\0';
	c->st.replaced = true;
	int s = io_sync_dir(c->parent);
	/* The new checkpoint is in place: the old one goes, with the tables
	 * the new one does not keep. */
	if (c->old_lock_fd >= 0) {
		io_close(c->old_lock_fd);
		c->old_lock_fd = -1;
	}
	int e = remove_store_dir(aside);
	if (e < 0)
		db_log(c->db, GOLITE_LOG_WARN, "cannot remove the replaced checkpoint %s: %s",
		       aside, strerror(-e));
	if (s == 0)
		s = io_sync_dir(c->parent);
	return s < 0 ? io_error(-s, "sync", c->parent) : 0;
}

/* ---- the calls ---- */

int golite_checkpoint_ex(golite *db, const char *dir, const golite_checkpoint_options *o,
			 golite_checkpoint_stats *st)
{
	int r = db_check_handle(db);
	if (r)
		return r;
	clear_error();
	golite_checkpoint_options defaults = { 0 };
	struct ckpt *c = xcalloc(1, sizeof(*c));
	c->db = db;
	c->o = o ? o : &defaults;
	c->old_lock_fd = -1;
	r = check_dir(c, dir);
	if (r)
		goto out_free;
	r = make_tmp(c);
	if (r)
		goto out_unlock;
	c->buf = xmalloc(COPY_CHUNK);
	r = take_snapshot(c);
	if (!r)
		r = place_tables(c);
	if (!r)
		r = place_values(c);
	if (!r)
		r = copy_log(c);
	if (!r)
		r = write_marks(c);
	if (!r)
		r = install(c);
	release_snapshot(c);
	if (r && c->tmp[0]) {
		int e = remove_store_dir(c->tmp);
		if (e < 0)
			db_log(db, GOLITE_LOG_WARN, "cannot remove %s after a failed checkpoint: %s",
			       c->tmp, strerror(-e));
	}
	if (!r) {
		c->st.sequence = c->seq;
		if (st)
			*st = c->st;
	}
	free(c->buf);
out_unlock:
	if (c->old_lock_fd >= 0)
		io_close(c->old_lock_fd);
out_free:
	free(c);
	return r;
}

int golite_checkpoint(golite *db, const char *dir, uint64_t *seq_out)
{
	golite_checkpoint_stats st;
	int r = golite_checkpoint_ex(db, dir, NULL, &st);
	if (!r && seq_out)
		*seq_out = st.sequence;
	return r;
}
