/*
 * file_read.h — a file record read as a value: what golite_get() and the
 * iterators return for a key the mount wrote as a file (KIND_META), and
 * golite_chunks_read() (golite_raw.h), the one reader of the chunk table,
 * which assembles a chunked file's bytes for those and for the mount.
 */
#ifndef GOLITE_FILE_READ_H
#define GOLITE_FILE_READ_H

#include <stddef.h>
#include <stdint.h>

#include "golite.h"

/*
 * The value golite_get() returns for a file record: the file's bytes
 * (assembled from chunks if CHUNKED), the target of a symlink, or
 * GOLITE_EISDIR for a directory. Writes into buf (if it fits cap, else
 * GOLITE_ERANGE) or returns a malloc()ed copy in *alloc; *vlen is the size.
 * A record that does not decode is GOLITE_ECORRUPT. Chunks and shared
 * records are read at snapshot snap (NULL: now). Called outside any RCU
 * read-side section.
 */
int file_read_value(golite *db, const golite_snapshot *snap, const uint8_t *rec, size_t len,
		    void *buf, size_t cap, void **alloc, size_t *vlen);

#endif /* GOLITE_FILE_READ_H */
