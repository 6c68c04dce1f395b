/*
 * vfile.c — the codec of file records and chunk keys. The format is drawn
 * in vfile.h.
 */
#include "vfile.h"

#include <string.h>
#include <sys/stat.h>

#include "util.h"

_Static_assert(VFILE_HEADER == 58, "file record header is 58 bytes");

int vfile_decode(const uint8_t *rec, size_t len, struct vfile *f)
{
	memset(f, 0, sizeof(*f));
	if (len < VFILE_HEADER)
		return VFILE_ESHORT;
	if (rec[0] != VFILE_VERSION && rec[0] != VFILE_VERSION_SPECIAL)
		return VFILE_EVERSION;
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
	if (f->type < VFILE_REG || f->type > (rec[0] == VFILE_VERSION ? VFILE_LNK : VFILE_HLINK))
		return VFILE_ETYPE;
	size_t off = VFILE_HEADER;
	for (size_t i = 0; i < f->nxattr; i++) {
		if (len - off < 3)
			return VFILE_EXATTR;
		size_t nl = rec[off], vl = get_le16(rec + off + 1);
		if (len - off - 3 < nl + vl)
			return VFILE_EXATTR;
		off += 3 + nl + vl;
	}
	f->xattrs = rec + VFILE_HEADER;
	f->xattrs_len = off - VFILE_HEADER;
	f->data = rec + off;
	f->data_len = len - off;
	bool inline_data = f->type == VFILE_LNK ||
			   (f->type == VFILE_REG && !(f->flags & VFILE_F_CHUNKED));
	if (inline_data ? f->data_len != f->size : f->data_len != 0)
		return VFILE_EDATA;
	return 0;
}

static const struct {
	uint32_t mode;
	const char *name;
} types[] = {
	[VFILE_REG] = { S_IFREG, "file" },     [VFILE_DIR] = { S_IFDIR, "dir" },
	[VFILE_LNK] = { S_IFLNK, "link" },     [VFILE_FIFO] = { S_IFIFO, "fifo" },
	[VFILE_SOCK] = { S_IFSOCK, "socket" }, [VFILE_CHR] = { S_IFCHR, "chardev" },
	[VFILE_BLK] = { S_IFBLK, "blockdev" }, [VFILE_HLINK] = { 0, "hardlink" },
};

uint32_t vfile_mode_type(unsigned type)
{
	return type >= VFILE_REG && type <= VFILE_BLK ? types[type].mode : S_IFREG;
}

unsigned vfile_type_of_mode(uint32_t mode)
{
	for (unsigned t = VFILE_REG; t <= VFILE_BLK; t++)
		if ((mode & S_IFMT) == types[t].mode)
			return t;
	return 0;
}

const char *vfile_type_name(unsigned type)
{
	return type >= VFILE_REG && type <= VFILE_HLINK ? types[type].name : "?";
}

size_t vfile_encoded_size(const struct vfile *f)
{
	return VFILE_HEADER + f->xattrs_len + f->data_len;
}

void vfile_encode(const struct vfile *f, uint8_t *buf)
{
	buf[0] = vfile_special(f->type) || f->type == VFILE_HLINK ? VFILE_VERSION_SPECIAL
								    : VFILE_VERSION;
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

void vfile_inode_key(uint8_t key[VFILE_INODE_KEY], uint64_t ino)
{
	key[0] = VFILE_KEY_INODE;
	put_be64(key + 1, ino);
}

size_t vfile_backref_key(uint8_t *out, uint64_t ino, bool table_too, uint32_t table,
			 const uint8_t *key, size_t klen)
{
	out[0] = VFILE_KEY_BACKREF;
	put_be64(out + 1, ino);
	if (!table_too)
		return VFILE_BACKREF_PREFIX;
	put_be32(out + VFILE_BACKREF_PREFIX, table);
	if (klen)
		memcpy(out + VFILE_BACKREF_PREFIX + 4, key, klen);
	return VFILE_BACKREF_PREFIX + 4 + klen;
}

bool vfile_backref_parse(const uint8_t *k, size_t klen, uint64_t *ino, uint32_t *table,
			 const uint8_t **key, size_t *keylen)
{
	if (klen <= VFILE_BACKREF_PREFIX + 4 || k[0] != VFILE_KEY_BACKREF)
		return false;
	*ino = get_be64(k + 1);
	*table = get_be32(k + VFILE_BACKREF_PREFIX);
	*key = k + VFILE_BACKREF_PREFIX + 4;
	*keylen = klen - VFILE_BACKREF_PREFIX - 4;
	return true;
}

void vfile_encode_hlink(uint8_t buf[VFILE_HEADER], uint64_t ino, uint32_t mode)
{
	struct vfile f = { .type = VFILE_HLINK, .mode = mode, .ino = ino };
	vfile_encode(&f, buf);
}

const char *vfile_strerror(int r)
{
	switch (r) {
	case 0: return "no error";
	case VFILE_ESHORT: return "shorter than its header";
	case VFILE_EVERSION: return "unknown format version";
	case VFILE_ETYPE: return "unknown file type";
	case VFILE_EXATTR: return "an extended attribute runs past its end";
	case VFILE_EDATA: return "its data does not match its size";
	default: return "unknown error";
	}
}
