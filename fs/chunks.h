/*
 * chunks.h — the chunks of chunked files (chunks.c): writes, zeroing,
 * trimming and deletion by inode number (reads: golite_chunks_read).
 */
#ifndef GOLITEFS_CHUNKS_H
#define GOLITEFS_CHUNKS_H

#include "fs.h"

/* Adds the chunks of data (len bytes from offset 0) to b, skipping chunks
 * of zeros (they read as zeros anyway). */
int chunks_put_data(struct gfs *fs, golite_batch *b, uint64_t ino, const uint8_t *data,
		    size_t len);
/* Writes data (len bytes at off) into the chunks of ino. With b, adds the
 * chunk puts to b and writes b (which may hold a record to change
 * atomically with them); without, a one-chunk write is a single put. */
int chunks_write(struct gfs *fs, uint64_t ino, const uint8_t *data, size_t len, uint64_t off,
		 golite_batch *b);
/* Zeroes [off, end) of the chunks of ino: deletes the whole chunks,
 * zeroes parts of the others within their length (never lengthening one),
 * and writes the thread's batch (more than once for a long range). The
 * caller holds the file's node->rw exclusive. */
int chunks_zero(struct gfs *fs, uint64_t ino, uint64_t off, uint64_t end);
/* Adds to b the deletion of every chunk of ino from index first on
 * (*count: how many, if count is not NULL). Past DELETE_BATCH entries it
 * writes b and goes on with b emptied. */
int chunks_delete_from(struct gfs *fs, golite_batch *b, uint64_t ino, uint32_t first,
		       size_t *count);
/*
 * A file leaves its name k (unlinked, or replaced by a rename) in batch b,
 * which deletes its record: adds to b what frees its bytes if it is not
 * open; if it is an open regular file whose bytes are inline, moves them
 * to chunks (under a new inode number if the record had none), where the
 * open file keeps reading and writing them until the last close. *ino and
 * *chunked (the file's, on entry) say where its bytes are on return.
 */
int chunks_release_name(struct gfs *fs, golite_batch *b, const struct kbuf *k, mode_t mode,
			bool open, uint64_t *ino, bool *chunked);
/* chunks_release_name with the file's inline bytes given (data, dlen:
 * its record is already gone) for the key (table, key); new_ino: the
 * bytes need an inode number of their own (a value written through the
 * API has none). */
int chunks_release_bytes(struct gfs *fs, golite_batch *b, uint32_t table, const uint8_t *key,
			 size_t klen, mode_t mode, bool open, const uint8_t *data, size_t dlen,
			 bool new_ino, uint64_t *ino, bool *chunked);
/* Adds to b what cuts the chunks of ino to size bytes. */
int chunks_trim(struct gfs *fs, golite_batch *b, uint64_t ino, uint64_t size);

#endif /* GOLITEFS_CHUNKS_H */
