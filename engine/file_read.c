/*
 * file_read.c — a file record read as a value. See file_read.h; the record
 * and chunk formats are drawn in common/vfile.h.
 */
#include "file_read.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "format.h"
#include "golite_raw.h"
#include "util.h"
#include "vfile.h"

/* Copies the file's bytes into out (f->size bytes, zeroed first). */
static int assemble(golite *db, const struct vfile *f, uint8_t *out)
{
	memset(out, 0, f->size);
	uint8_t prefix[8];
	put_be64(prefix, f->ino);
	golite_iter_options o = { .prefix = prefix, .prefix_len = 8 };
	golite_iter *it;
	int r = golite_iter_new_raw(db, TABLE_ID_CHUNKS, &o, &it);
	if (r)
		return r;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen, vlen;
		const uint8_t *k = golite_iter_key(it, &klen);
		if (klen != VFILE_CHUNK_KEY)
			continue;
		uint64_t off = (uint64_t)get_be32(k + 8) * VFILE_CHUNK;
		if (off >= f->size)
			break;
		const uint8_t *v = golite_iter_value_raw(it, &vlen);
		memcpy(out + off, v, MIN((uint64_t)MIN(vlen, VFILE_CHUNK), f->size - off));
	}
	r = golite_iter_status(it);
	golite_iter_free(it);
	return r;
}

int file_read_value(golite *db, const uint8_t *rec, size_t len, void *buf, size_t cap,
		    void **alloc, size_t *vlen)
{
	struct vfile f;
	int r = vfile_decode(rec, len, &f);
	if (r)
		return set_error(GOLITE_ECORRUPT, "file record: %s", vfile_strerror(r));
	if (f.type == VFILE_DIR)
		return set_error(GOLITE_EISDIR, "the key names a directory");
	if (f.size > GOLITE_MAX_VALUE_SIZE && (alloc || cap >= GOLITE_MAX_VALUE_SIZE))
		return set_error(GOLITE_EVALSIZE,
				 "the file holds %llu bytes, more than one value can (%u)",
				 (unsigned long long)f.size, GOLITE_MAX_VALUE_SIZE);
	*vlen = (size_t)f.size;
	uint8_t *out;
	if (alloc) {
		out = xmalloc((size_t)f.size);
	} else if (buf && f.size <= cap) {
		out = buf;
	} else if (buf) {
		return set_error(GOLITE_ERANGE, "value of %llu bytes does not fit a buffer of %zu",
				 (unsigned long long)f.size, cap);
	} else {
		return 0;
	}
	if (f.flags & VFILE_F_CHUNKED && f.type == VFILE_REG)
		r = assemble(db, &f, out);
	else
		memcpy(out, f.data, f.data_len);
	if (r) {
		if (alloc)
			free(out);
		return r;
	}
	if (alloc)
		*alloc = out;
	return 0;
}
