/*
 * io.h — the one door through which the engine touches files.
 *
 * Every open, read, write, sync, rename, unlink and directory sync the
 * engine does goes through these functions, so that a test can make any one
 * of them fail (io_set_fault_hook) and observe how the store copes.
 *
 * Every function returns 0 (or a byte count where stated) on success and a
 * negative errno value on failure; errno itself is not used. Reads and
 * writes are retried on EINTR and completed on short transfers, so callers
 * never see a partial result that is not an error.
 */
#ifndef GOLITE_IO_H
#define GOLITE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum io_op {
	IO_OPEN,
	IO_CLOSE,
	IO_PREAD,
	IO_PWRITE,
	IO_FDATASYNC,
	IO_FSYNC,
	IO_SYNCDIR,
	IO_RENAME,
	IO_UNLINK,
	IO_TRUNCATE,
	IO_MKDIR,
	IO_LOCK,
	IO_FALLOCATE,
	IO_LINK,
	IO_OP_COUNT,
};

const char *io_op_name(enum io_op op);

/*
 * A fault hook is called before each operation. It returns 0 to let the
 * operation run, or a positive errno value to make it fail without doing
 * anything. For IO_PWRITE it may instead lower *len to make the write
 * short: the first *len bytes are written and the call fails with ENOSPC,
 * as a full disk would. path is NULL for operations on an fd.
 * The hook runs on whatever thread does the I/O and must be thread-safe.
 */
typedef int (*io_fault_fn)(void *ctx, enum io_op op, const char *path, int fd,
			   size_t *len);

/* Installs (or, with fn NULL, removes) the process-wide fault hook. */
void io_set_fault_hook(io_fault_fn fn, void *ctx);

/*
 * Power-cut simulation, for tests (the approach of LevelDB's
 * fault_injection_test). With tracking on, the module remembers, per file,
 * how much of it the last fdatasync/fsync covered, which files were created
 * and which renames were made since their directory was last synced.
 * io_crash_now() then makes the disk look as after a power cut: unsynced
 * bytes are cut off (files are truncated to their synced size), unsynced
 * creations are removed and unsynced renames undone. While tracking, every
 * I/O call is serialised, so that io_crash_now() (normally called from a
 * fault hook, followed by _exit) sees a still disk. Files that existed
 * before tracking started count as synced. Unlinks are taken as durable.
 */
void io_crash_tracking(bool on);
void io_crash_now(void);

/* Number of operations of each kind since the process started (for tests
 * and stats). */
uint64_t io_op_count(enum io_op op);

int io_open(const char *path, int flags, mode_t mode);  /* returns fd >= 0 */
int io_close(int fd);
/* Reads exactly n bytes at off; returns the bytes read, fewer only at EOF. */
ssize_t io_pread(int fd, void *buf, size_t n, uint64_t off);
/* Writes exactly n bytes at off. */
int io_pwrite(int fd, const void *buf, size_t n, uint64_t off);
/*
 * Writes n bytes of zeros (zeros points to at least n of them) at off, past
 * a file's data, so that later writes there land on allocated, written
 * blocks (wal.c: "Zeros ahead"). Counted and faulted as IO_FALLOCATE: it
 * prepares space and holds no data. For the power-cut simulation the zeros
 * are not data: a file synced after them counts as synced up to its data.
 */
int io_zero_ahead(int fd, const void *zeros, size_t n, uint64_t off);
int io_fdatasync(int fd);
int io_fsync(int fd);
/* fsyncs a directory, making renames, creations and unlinks in it durable. */
int io_sync_dir(const char *dir);
int io_rename(const char *from, const char *to);
/* rename(2) that fails with -EEXIST instead of replacing `to`
 * (RENAME_NOREPLACE), and one that swaps the two names atomically
 * (RENAME_EXCHANGE): -EINVAL or -ENOSYS where the file system or kernel
 * cannot. Both are faulted as IO_RENAME; the power-cut simulation does not
 * track them (they move directories, which it does not model). */
int io_rename_noreplace(const char *from, const char *to);
int io_rename_exchange(const char *a, const char *b);
/* A new name `to` for the file `from` (link(2)). For the power-cut
 * simulation the name is a creation, undone unless its directory is
 * synced; the data is as synced as the file's. */
int io_link(const char *from, const char *to);
int io_unlink(const char *path);
/* Removes an empty directory; faulted as IO_UNLINK. */
int io_rmdir(const char *path);
int io_ftruncate(int fd, uint64_t size);
int io_mkdir(const char *path, mode_t mode);
/* Takes an exclusive (or shared) non-blocking flock on fd. -EWOULDBLOCK if
 * another open file description holds it. */
int io_flock(int fd, bool exclusive);

/*
 * Reserves disk space for [off, off+len) without changing the file size
 * (FALLOC_FL_KEEP_SIZE), so later writes there cannot fail for lack of
 * space. -EOPNOTSUPP where the filesystem cannot.
 */
int io_reserve(int fd, uint64_t off, uint64_t len);
/* Allocates [off, off+len) and grows the file to cover it (fallocate mode
 * 0): the store's space reserve (space.c). Faulted as IO_FALLOCATE. */
int io_allocate(int fd, uint64_t off, uint64_t len);

/* Gives back space reserved (or written) in [off, off+len) without changing
 * the file size (FALLOC_FL_PUNCH_HOLE). -EOPNOTSUPP where the filesystem
 * cannot. */
int io_release(int fd, uint64_t off, uint64_t len);

/* Size of an open file. */
int io_file_size(int fd, uint64_t *size);

/*
 * Reads a whole file into a malloc()ed buffer (*data, *len) that the caller
 * frees. Files larger than max_len fail with -EFBIG.
 */
int io_read_file(const char *path, size_t max_len, uint8_t **data, size_t *len);

/*
 * Writes dir/name atomically: its temporary file (file_temp_path(),
 * filename.h) is written, fsynced and renamed over it, and the directory
 * synced. On failure dir/name is untouched and the temporary file removed.
 */
int io_write_file_atomic(const char *dir, const char *name, const void *data, size_t len);

#endif /* GOLITE_IO_H */
