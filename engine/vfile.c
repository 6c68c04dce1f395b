/*
 * vfile.c — file records and chunks. The format is drawn in vfile.h.
 */
#include "vfile.h"

#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "raw.h"
#include "util.h"

_Static_assert(VFILE_HEADER == 58, "file record header is 58 bytes");

int vfile_decode(const uint8_t *rec, size_t len, struct vfile *f)
{
	memset(f, 0, sizeof(*f));
	if (len < VFILE_HEADER)
		return set_error(GOLITE_ECORRUPT, "file record of %zu bytes is shorter than its header",
				 len);
	if (rec[0] != VFILE_VERSION)
		return set_error(GOLITE_ECORRUPT, "file record has format version %u", rec[0]);
	f->type = rec[1];
	f->flags = get_le16(rec + 2);
	f->mode = get_le32(rec + 4);
	f->uid = get_le32(rec + 8);
	f->gid = get_le32(rec + 12);
	f->ino = get_le64(rec + 16);
	f->size = get_le64(rec + 24);
	f->mtime_ns = (int64_t)get_le64(rec + 32);
	f->ctime_ns = (int64_t)get_le64(rec + 40);
	f->atime_ns = (int64_t)get_le64(rec + 48);
	f->nxattr = get_le16(rec + 56);
	if (f->type < VFILE_REG || f->type > VFILE_LNK)
		return set_error(GOLITE_ECORRUPT, "file record has unknown type %u", f->type);
	size_t off = VFILE_HEADER;
	for (size_t i = 0; i < f->nxattr; i++) {
		if (len - off < 3)
			return set_error(GOLITE_ECORRUPT, "file record: attribute %zu truncated", i);
		size_t nl = rec[off], vl = get_le16(rec + off + 1);
		if (len - off - 3 < nl + vl)
			return set_error(GOLITE_ECORRUPT, "file record: attribute %zu truncated", i);
		off += 3 + nl + vl;
	}
	f->xattrs = rec + VFILE_HEADER;
	f->xattrs_len = off - VFILE_HEADER;
	f->data = rec + off;
	f->data_len = len - off;
	bool inline_data = f->type == VFILE_LNK ||
			   (f->type == VFILE_REG && !(f->flags & VFILE_F_CHUNKED));
	if (inline_data ? f->data_len != f->size : f->data_len != 0)
		return set_error(GOLITE_ECORRUPT,
				 "file record: %zu data bytes for a size of %llu", f->data_len,
				 (unsigned long long)f->size);
	return 0;
}

size_t vfile_encoded_size(const struct vfile *f)
{
	return VFILE_HEADER + f->xattrs_len + f->data_len;
}

void vfile_encode(const struct vfile *f, uint8_t *buf)
{
	buf[0] = VFILE_VERSION;
	buf[1] = (uint8_t)f->type;
	put_le16(buf + 2, (uint16_t)f->flags);
	put_le32(buf + 4, f->mode);
	put_le32(buf + 8, f->uid);
	put_le32(buf + 12, f->gid);
	put_le64(buf + 16, f->ino);
	put_le64(buf + 24, f->size);
	put_le64(buf + 32, (uint64_t)f->mtime_ns);
	put_le64(buf + 40, (uint64_t)f->ctime_ns);
	put_le64(buf + 48, (uint64_t)f->atime_ns);
	put_le16(buf + 56, (uint16_t)f->nxattr);
	if (f->xattrs_len)
		memcpy(buf + VFILE_HEADER, f->xattrs, f->xattrs_len);
	if (f->data_len)
		memcpy(buf + VFILE_HEADER + f->xattrs_len, f->data, f->data_len);
}

bool vfile_xattr_next(const struct vfile *f, size_t *pos, struct vfile_xattr *x)
{
	if (*pos >= f->xattrs_len)
		return false;
	const uint8_t *p = f->xattrs + *pos;
	x->name_len = p[0];
	x->value_len = get_le16(p + 1);
	x->name = (const char *)p + 3;
	x->value = p + 3 + x->name_len;
	*pos += 3 + x->name_len + x->value_len;
	return true;
}

void vfile_chunk_key(uint8_t key[VFILE_CHUNK_KEY], uint64_t ino, uint32_t index)
{
	put_be64(key, ino);
	put_be32(key + 8, index);
}

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

int vfile_read_value(golite *db, const uint8_t *rec, size_t len, void *buf, size_t cap,
		     void **alloc, size_t *vlen)
{
	struct vfile f;
	int r = vfile_decode(rec, len, &f);
	if (r)
		return r;
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
