/*
 * ttl.c — files that expire: the extended attribute user.golite.ttl, and
 * what the mount does when the store deletes a key at its expiry.
 *
 * A file, symlink or special file may carry a time to live (golite.h
 * "Keys that expire"): the store keeps the time it expires at with the
 * entry's record (fs.h struct rec/vrec/nattr .expires), and every record
 * the mount writes for the entry carries it on (chmod, writes, renames),
 * until it is changed or removed through the attribute:
 *
 *     setfattr -n user.golite.ttl -v SECONDS FILE   expires SECONDS from now
 *     getfattr -n user.golite.ttl FILE              the seconds left, rounded up
 *     setfattr -x user.golite.ttl FILE              lives until deleted again
 *
 * SECONDS is a decimal number from 1 to 100 years' worth; anything else is
 * EINVAL and changes nothing. Directories, tables, the mount's own files,
 * snapshot views and files with several names (hard links) take no time
 * to live (EPERM; EROFS in a view): a directory's children are keys of
 * their own, and a time to live belongs to one name.
 *
 * At the expiry the name is gone from lookups and listings at once (the
 * store's reads hide it), and the store's expirer deletes the record and
 * calls the hooks below, which do what unlink would: a file open then
 * keeps its bytes (moved to chunks if they were inline) until its last
 * close; a file not open has its chunks freed; the node leaves the map;
 * and, once the namespace lock is released, the kernel forgets the name
 * (gfs_key_changed). The change feed shows "expire TABLE PATH".
 */
#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "chunks.h"
#include "data.h"
#include "hardlink.h"
#include "util.h"

/* ---- the attribute ---- */

struct ttl_set {
	uint64_t expires;   /* 0: remove */
	int64_t now;
};

static int ttl_set_fn(struct vrec *v, void *arg)
{
	struct ttl_set *c = arg;
	v->expires = c->expires;
	v->f.ctime_ns = c->now;
	return 0;
}

/* 0 if n may take or lose a time to live. */
static int ttl_allowed(struct gfs *fs, struct node *n)
{
	if (node_frozen(n))
		return -EROFS;
	mutex_lock(&n->mu);
	bool no = n->flavor != FL_NORMAL || n->unlinked || node_is_dir(n) ||
		  node_is_shared(n) || n->a.hlink || n->src == SRC_IMPLIED;
	mutex_unlock(&n->mu);
	if (no || node_is_ctl(fs, n))
		return -EPERM;
	return 0;
}

/* Parses SECONDS (decimal, 1..GOLITE_TTL_MAX_MS / 1000) into ms. */
static int parse_seconds(const char *value, size_t size, uint64_t *ms)
{
	uint64_t s = 0;
	if (size == 0 || size > 20)
		return -EINVAL;
	for (size_t i = 0; i < size; i++) {
		if (value[i] < '0' || value[i] > '9')
			return -EINVAL;
		s = s * 10 + (uint64_t)(value[i] - '0');
	}
	if (s == 0 || s > GOLITE_TTL_MAX_MS / 1000)
		return -EINVAL;
	*ms = s * 1000;
	return 0;
}

int ttl_setxattr(struct gfs *fs, struct node *n, const char *value, size_t size, int flags)
{
	int r = ttl_allowed(fs, n);
	if (r)
		return r;
	uint64_t ms;
	r = parse_seconds(value, size, &ms);
	if (r) {
		gfs_log(LOG_LVL_INFO, "setxattr %s: \"%.*s\" is not a number of seconds from 1 "
			"to %llu", TTL_XATTR, (int)MIN(size, 32), value,
			(unsigned long long)(GOLITE_TTL_MAX_MS / 1000));
		return r;
	}
	bool has = ttl_has(n);
	if ((flags & XATTR_CREATE) && has)
		return -EEXIST;
	if ((flags & XATTR_REPLACE) && !has)
		return -ENODATA;
	struct ttl_set c = { golite_clock_ms(fs->db) + ms, wall_ns() };
	return edit_record(fs, n, ttl_set_fn, &c);
}

int ttl_removexattr(struct gfs *fs, struct node *n)
{
	int r = ttl_allowed(fs, n);
	if (r)
		return r == -EPERM ? -ENODATA : r;
	if (!ttl_has(n))
		return -ENODATA;
	struct ttl_set c = { 0, wall_ns() };
	return edit_record(fs, n, ttl_set_fn, &c);
}

bool ttl_has(struct node *n)
{
	mutex_lock(&n->mu);
	bool has = n->a.expires != 0;
	mutex_unlock(&n->mu);
	return has;
}

int ttl_getxattr(struct gfs *fs, struct node *n, size_t size, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	mutex_lock(&n->mu);
	uint64_t at = n->a.expires;
	mutex_unlock(&n->mu);
	if (!at)
		return -ENODATA;
	uint64_t left = golite_seconds_left(fs->db, at);
	char buf[24];
	int w = snprintf(buf, sizeof(buf), "%llu", (unsigned long long)left);
	*len = (size_t)w;
	if (size && size < *len)
		return -ERANGE;
	if (size)
		*out = xmemdup(buf, *len);
	return 0;
}

/* ---- the store's deletes at expiry ---- */

/* The key whose kernel entries the end hook drops (the expirer thread's
 * own: the hooks are called from it alone). */
static struct {
	bool set;
	uint32_t tid;
	size_t klen;
	uint8_t key[GOLITE_MAX_KEY_SIZE];
} pending;

static void hook_begin(void *ctx)
{
	ns_rdlock(ctx);
}

/* The node of the expired key, if any, goes as unlink's victim does: an
 * open file keeps its bytes in chunks until its last close. */
static void hook_expired(void *ctx, uint32_t tid, const void *key, size_t klen, unsigned kind,
			 const void *value, size_t vlen)
{
	struct gfs *fs = ctx;
	uint64_t ino = 0;
	bool chunked = false;
	mode_t mode = S_IFREG;
	const uint8_t *data = value;
	size_t dlen = vlen;
	if (kind == GOLITE_KIND_META) {
		struct vfile f;
		if (vfile_decode(value, vlen, &f))
			return;
		ino = f.ino;
		mode = vfile_mode_type(f.type);
		chunked = f.type == VFILE_REG && (f.flags & VFILE_F_CHUNKED);
		data = f.data;
		dlen = f.data_len;
	}
	struct node *n = node_find(fs, tid, key, klen, FL_NORMAL, false);
	if (n)
		mutex_lock(&n->mu);
	golite_batch *b = golite_batch_new();
	bool was = gfs_frees_space(true);
	int r = chunks_release_bytes(fs, b, tid, key, klen, mode, n && n->opens > 0, data, dlen,
				     kind != GOLITE_KIND_META, &ino, &chunked);
	if (!r && golite_batch_count(b))
		r = gfs_write_batch(fs, b, "free an expired file");
	gfs_frees_space(was);
	golite_batch_free(b);
	if (r)
		gfs_log(LOG_LVL_WARN, "freeing an expired file failed (%s); the sweep frees "
			"what is left", strerror(-r));
	if (n) {
		node_name_gone_locked(fs, n, !r && ino ? ino : n->a.ino, !r && chunked);
		mutex_unlock(&n->mu);
		node_unref(fs, n);
	}
	pending.set = true;
	pending.tid = tid;
	pending.klen = klen;
	memcpy(pending.key, key, klen);
}

static void hook_end(void *ctx)
{
	struct gfs *fs = ctx;
	ns_rdunlock(fs);
	if (pending.set) {
		pending.set = false;
		gfs_key_changed(fs, pending.tid, pending.key, pending.klen);
	}
}

void ttl_hooks_install(struct gfs *fs)
{
	golite_expire_hooks h = { hook_begin, hook_expired, hook_end, fs };
	golite_expire_hooks_set(fs->db, &h);
}

void ttl_hooks_remove(struct gfs *fs)
{
	golite_expire_hooks_set(fs->db, NULL);
}
