/*
 * record.c — reading and writing the records behind entries: file records
 * (common/vfile.h), values written through the API, the mount's own keys in
 * GOLITE_TABLE_FS, extended attributes, and the batches that change them.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "util.h"

int rec_get(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen, struct rec *r)
{
	r->heap = NULL;
	r->data = NULL;
	r->len = 0;
	if (klen == 0 || klen > GOLITE_MAX_KEY_SIZE)
		return -ENOENT;
	size_t vlen;
	const golite_snapshot *snap = gfs_snap(fs, table);
	table &= GFS_TABLE_MASK;
	r->expires = 0;
	int e = golite_get_raw_ex(fs->db, snap, table, key, klen, &r->kind, &r->expires, r->small,
				  sizeof(r->small), NULL, &vlen);
	if (e == GOLITE_ERANGE) {
		void *p = NULL;
		e = golite_get_raw_ex(fs->db, snap, table, key, klen, &r->kind, &r->expires, NULL, 0,
				      &p, &vlen);
		if (!e) {
			r->heap = p;
			r->data = p;
			r->len = vlen;
		}
	} else if (!e) {
		r->data = r->small;
		r->len = vlen;
	}
	if (e == GOLITE_ENOTFOUND)
		return -ENOENT;
	if (e)
		return -gfs_errno(e, "read a record");
	return 0;
}

int gfs_iter_new(struct gfs *fs, uint32_t table, const golite_iter_options *o,
		 golite_iter **it)
{
	golite_iter_options a = { 0 };
	if (o)
		a = *o;
	a.snapshot = gfs_snap(fs, table);
	return golite_iter_new_raw(fs->db, table & GFS_TABLE_MASK, &a, it);
}

void rec_free(struct rec *r)
{
	free(r->heap);
	r->heap = NULL;
}

/* True if f holds a security.capability attribute. */
static bool has_caps(const struct vfile *f)
{
	static const char name[] = "security.capability";
	size_t pos = 0;
	struct vfile_xattr x;
	while (vfile_xattr_next(f, &pos, &x))
		if (x.name_len == sizeof(name) - 1 && memcmp(x.name, name, x.name_len) == 0)
			return true;
	return false;
}

/* A node's attributes from its decoded record (the one place that knows
 * how record fields map to stat's: a device's size field is its number). */
static void attr_from_vfile(const struct vfile *f, struct nattr *a)
{
	memset(a, 0, sizeof(*a));
	if (f->type == VFILE_HLINK) {
		/* A name of a linked file: its mode's type bits and inode
		 * number serve listings; the rest is the shared record's. */
		a->mode = f->mode;
		a->ino = f->ino;
		a->hlink = true;
		return;
	}
	a->mode = (f->mode & 07777) | vfile_mode_type(f->type);
	a->uid = f->uid;
	a->gid = f->gid;
	a->ino = f->ino;
	a->size = vfile_value_size(f);
	a->rdev = vfile_device(f->type) ? f->size : 0;
	a->mtime = f->mtime_ns;
	a->ctime = f->ctime_ns;
	a->atime = f->atime_ns;
	a->nxattr = (uint32_t)f->nxattr;
	a->chunked = f->type == VFILE_REG && (f->flags & VFILE_F_CHUNKED);
	a->caps = f->nxattr && has_caps(f);
}

int rec_attr_raw(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen, unsigned kind,
		 const uint8_t *data, size_t len, struct nattr *a)
{
	if (kind == GOLITE_KIND_VALUE) {
		attr_defaults_file(fs, a, hash_ino(table, key, klen, FL_NORMAL), len);
		return 0;
	}
	struct vfile f;
	int r = vfile_decode(data, len, &f);
	if (r) {
		gfs_log(LOG_LVL_ERROR, "damaged file record in table %u (%s)", table,
			vfile_strerror(r));
		return -EIO;
	}
	attr_from_vfile(&f, a);
	return 0;
}

int rec_attr(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen,
	     const struct rec *r, struct nattr *a)
{
	int e = rec_attr_raw(fs, table, key, klen, r->kind, r->data, r->len, a);
	a->expires = r->expires;
	return e;
}

/* ---- records under construction ---- */

int vrec_from_rec(const struct rec *r, struct vrec *v)
{
	memset(v, 0, sizeof(*v));
	if (r->kind != GOLITE_KIND_META)
		return -EINVAL;
	if (vfile_decode(r->data, r->len, &v->f)) {
		gfs_log(LOG_LVL_ERROR, "damaged file record (%s)", golite_last_error());
		return -EIO;
	}
	if (v->f.xattrs_len)
		v->xattrs = xmemdup(v->f.xattrs, v->f.xattrs_len);
	if (v->f.data_len)
		v->data = xmemdup(v->f.data, v->f.data_len);
	v->f.xattrs = v->xattrs;
	v->f.data = v->data;
	v->expires = r->expires;
	return 0;
}

void vrec_from_attr(struct vrec *v, const struct nattr *a)
{
	memset(v, 0, sizeof(*v));
	v->f.type = vfile_type_of_mode(a->mode);
	if (!v->f.type)
		v->f.type = VFILE_REG;
	v->f.flags = a->chunked ? VFILE_F_CHUNKED : 0;
	v->f.mode = a->mode;
	v->f.uid = a->uid;
	v->f.gid = a->gid;
	v->f.ino = a->ino;
	v->f.size = vfile_device(v->f.type)			  ? a->rdev
		    : v->f.type == VFILE_REG || v->f.type == VFILE_LNK ? a->size
								       : 0;
	v->f.mtime_ns = a->mtime;
	v->f.ctime_ns = a->ctime;
	v->f.atime_ns = a->atime;
	v->expires = a->expires;
}

void vrec_to_attr(const struct vrec *v, struct nattr *a)
{
	attr_from_vfile(&v->f, a);
	a->expires = v->expires;
}

void vrec_set_data(struct vrec *v, const void *data, size_t len)
{
	free(v->data);
	v->data = len ? xmemdup(data, len) : NULL;
	v->f.data = v->data;
	v->f.data_len = len;
}

void vrec_free(struct vrec *v)
{
	free(v->xattrs);
	free(v->data);
	v->xattrs = v->data = NULL;
}

uint8_t *vrec_encode(const struct vrec *v, size_t *len)
{
	struct vfile f = v->f;
	f.mode = (f.mode & 07777) | vfile_mode_type(f.type);
	*len = vfile_encoded_size(&f);
	uint8_t *buf = xmalloc(*len);
	vfile_encode(&f, buf);
	return buf;
}

int vrec_put(struct gfs *fs, golite_batch *b, uint32_t table, const uint8_t *key, size_t klen,
	     const struct vrec *v)
{
	size_t len;
	uint8_t *buf = vrec_encode(v, &len);
	int r;
	if (b) {
		r = golite_batch_put_raw_ex(b, table, GOLITE_KIND_META, key, klen, buf, len,
					    v->expires);
	} else if (v->expires) {
		b = golite_batch_new();
		r = golite_batch_put_raw_ex(b, table, GOLITE_KIND_META, key, klen, buf, len,
					    v->expires);
		if (!r)
			r = golite_write(fs->db, b);
		golite_batch_free(b);
	} else {
		r = gfs_put_raw(fs, table, GOLITE_KIND_META, key, klen, buf, len);
	}
	free(buf);
	if (r == GOLITE_EVALSIZE)
		return -ENOSPC;  /* the record cannot hold more attributes */
	return r ? -gfs_errno(r, "write a file record") : 0;
}

/* ---- extended attributes ---- */

/* Total bytes of attributes one record may hold (names and values). */
#define XATTR_BYTES_MAX (1u << 20)

/* Copies the encoded attributes of v other than name into out (*kept
 * bytes, *n attributes); true if name was among them. */
static bool xattrs_copy_but(const struct vrec *v, const char *name, size_t nlen, uint8_t *out,
			    size_t *kept, size_t *n)
{
	bool found = false;
	size_t pos = 0;
	struct vfile_xattr x;
	*kept = *n = 0;
	while (vfile_xattr_next(&v->f, &pos, &x)) {
		if (x.name_len == nlen && memcmp(x.name, name, nlen) == 0) {
			found = true;
			continue;
		}
		size_t l = 3 + x.name_len + x.value_len;
		memcpy(out + *kept, x.name - 3, l);
		*kept += l;
		(*n)++;
	}
	return found;
}

int vrec_xattr_set(struct vrec *v, const char *name, const void *value, size_t size, int flags)
{
	size_t nlen = strlen(name);
	if (nlen == 0 || nlen > VFILE_MAX_XATTR_NAME)
		return -ERANGE;
	if (size > VFILE_MAX_XATTR_VALUE)
		return -E2BIG;
	size_t kept, n;
	uint8_t *out = xmalloc(v->f.xattrs_len + 3 + nlen + size);
	bool found = xattrs_copy_but(v, name, nlen, out, &kept, &n);
	if ((flags & XATTR_CREATE) && found) {
		free(out);
		return -EEXIST;
	}
	if ((flags & XATTR_REPLACE) && !found) {
		free(out);
		return -ENODATA;
	}
	if (n + 1 > VFILE_MAX_XATTRS || kept + 3 + nlen + size > XATTR_BYTES_MAX) {
		free(out);
		return -ENOSPC;
	}
	out[kept] = (uint8_t)nlen;
	put_le16(out + kept + 1, (uint16_t)size);
	memcpy(out + kept + 3, name, nlen);
	if (size)
		memcpy(out + kept + 3 + nlen, value, size);
	kept += 3 + nlen + size;
	free(v->xattrs);
	v->xattrs = out;
	v->f.xattrs = out;
	v->f.xattrs_len = kept;
	v->f.nxattr = n + 1;
	return 0;
}

int vrec_xattr_remove(struct vrec *v, const char *name)
{
	size_t nlen = strlen(name);
	size_t kept, n;
	uint8_t *out = xmalloc(v->f.xattrs_len + 1);
	bool found = xattrs_copy_but(v, name, nlen, out, &kept, &n);
	if (!found) {
		free(out);
		return -ENODATA;
	}
	free(v->xattrs);
	v->xattrs = out;
	v->f.xattrs = out;
	v->f.xattrs_len = kept;
	v->f.nxattr = n;
	return 0;
}

/* ---- batches ---- */

static pthread_key_t batch_key;
static pthread_once_t batch_once = PTHREAD_ONCE_INIT;

static void batch_destroy(void *p)
{
	golite_batch_free(p);
}

static void batch_key_init(void)
{
	if (pthread_key_create(&batch_key, batch_destroy))
		FATAL("pthread_key_create");
}

golite_batch *gfs_batch(void)
{
	pthread_once(&batch_once, batch_key_init);
	golite_batch *b = pthread_getspecific(batch_key);
	if (!b) {
		b = golite_batch_new();
		pthread_setspecific(batch_key, b);
	}
	golite_batch_clear(b);
	return b;
}

golite_batch *gfs_batch_current(void)
{
	pthread_once(&batch_once, batch_key_init);
	golite_batch *b = pthread_getspecific(batch_key);
	if (!b) {
		b = golite_batch_new();
		pthread_setspecific(batch_key, b);
	}
	return b;
}

int fs_delete_key(struct gfs *fs, const uint8_t *key, size_t klen)
{
	golite_batch *b = gfs_batch();
	int r = golite_batch_delete_raw(b, GOLITE_TABLE_FS, key, klen);
	if (r)
		return -gfs_errno(r, "delete a record");
	return gfs_write_batch(fs, b, "delete a record");
}

/* Set while this thread removes or shrinks something (gfs_frees_space). */
static __thread bool tl_frees;

bool gfs_frees_space(bool on)
{
	bool old = tl_frees;
	tl_frees = on;
	return old;
}

int gfs_put_raw(struct gfs *fs, uint32_t table, unsigned kind, const void *key, size_t klen,
		const void *value, size_t vlen)
{
	if (!tl_frees)
		return golite_put_raw(fs->db, table, kind, key, klen, value, vlen);
	golite_batch *b = golite_batch_new();
	int r = golite_batch_put_raw(b, table, kind, key, klen, value, vlen);
	if (!r) {
		golite_batch_set_frees_space(b, true);
		r = golite_write(fs->db, b);
	}
	golite_batch_free(b);
	return r;
}

int gfs_write_batch(struct gfs *fs, golite_batch *b, const char *what)
{
	if (golite_batch_count(b) == 0)
		return 0;
	if (tl_frees)
		golite_batch_set_frees_space(b, true);
	int r = golite_write(fs->db, b);
	return r ? -gfs_errno(r, what) : 0;
}

static size_t owner_key(uint8_t key[9], uint64_t ino)
{
	key[0] = FSKEY_OWNER;
	put_be64(key + 1, ino);
	return 9;
}

int owner_put(golite_batch *b, uint64_t ino, uint32_t table, const uint8_t *key, size_t klen)
{
	uint8_t k[9];
	uint8_t *v = xmalloc(4 + klen);
	put_le32(v, table);
	memcpy(v + 4, key, klen);
	int r = golite_batch_put_raw(b, GOLITE_TABLE_FS, GOLITE_KIND_VALUE, k, owner_key(k, ino), v, 4 + klen);
	free(v);
	return r ? -gfs_errno(r, "record a file's owner") : 0;
}

int owner_delete(golite_batch *b, uint64_t ino)
{
	uint8_t k[9];
	int r = golite_batch_delete_raw(b, GOLITE_TABLE_FS, k, owner_key(k, ino));
	return r ? -gfs_errno(r, "delete a file's owner") : 0;
}

size_t fskey_dir(const struct node *n, uint8_t key[8])
{
	if (n->flavor == FL_TABLE) {
		key[0] = FSKEY_TABLE;
		put_be32(key + 1, n->table);
		return 5;
	}
	key[0] = FSKEY_ROOT;
	return 1;
}
