/*
 * hardlink.c — files with several names. The records are drawn in
 * common/vfile.h: a linked file keeps one shared record in
 * GOLITE_TABLE_FS ('N' + inode), each of its names is a type 8 record at
 * its own key naming that inode, and each name has a back reference
 * ('L' + inode + table + key).
 *
 * A linked file's node is keyed by its shared record, not by a name:
 * every name leads to the same node, so the kernel sees one inode, with
 * one page cache, under all of them, and reads, writes and attribute
 * changes through any name reach the shared record through the code that
 * serves every file. A file becomes linked at its first link(2) (its
 * record moves to the shared key in the batch that writes both names)
 * and stays linked while it has a name.
 *
 * Invariants:
 *   1. A name's record and its back reference are written and deleted in
 *      one batch, with the shared record's new ctime, and with the
 *      shared record's deletion when the last name goes.
 *   2. Every change to a linked file's names (link, unlink, rename onto
 *      or from one) holds its node's mu, the node being made for the
 *      purpose if the kernel holds none: the names counted under it are
 *      the names the change leaves.
 *   3. The link count is counted, not stored: the back references whose
 *      name still holds a type 8 record of the inode. A name the API
 *      overwrote or deleted stops counting at once; its back reference is
 *      removed by the sweep (hlink_sweep) or `golite repair`.
 */
#include "hardlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"
#include "data.h"
#include "dir.h"
#include "persist.h"
#include "util.h"

bool node_is_shared(const struct node *n)
{
	return n->table == GOLITE_TABLE_FS && n->flavor == FL_NORMAL &&
	       n->klen == VFILE_INODE_KEY && n->key[0] == VFILE_KEY_INODE;
}

void hlink_key(uint64_t ino, uint32_t view, struct kbuf *k)
{
	k->table = GOLITE_TABLE_FS | view;
	k->flavor = FL_NORMAL;
	k->comp_off = 0;
	vfile_inode_key(k->b, ino);
	k->len = VFILE_INODE_KEY;
}

bool hlink_parse(unsigned kind, const uint8_t *data, size_t len, uint64_t *ino)
{
	struct vfile f;
	if (kind != GOLITE_KIND_META || len < 2 || data[1] != VFILE_HLINK ||
	    vfile_decode(data, len, &f))
		return false;
	*ino = f.ino;
	return true;
}

/* True if (table, key) holds a name of ino. */
static bool is_name_of(struct gfs *fs, uint64_t ino, uint32_t table, const uint8_t *key,
		       size_t klen)
{
	struct rec rec;
	uint64_t got;
	bool yes = rec_get(fs, table, key, klen, &rec) == 0 &&
		   hlink_parse(rec.kind, rec.data, rec.len, &got) && got == ino;
	rec_free(&rec);
	return yes;
}

/*
 * Walks the back references of ino but except's (if any): fn (if any)
 * gets each live name; *live and *stale count them, and the walk stops
 * at stop_at live ones (0: never); stale_out (if any) collects the keys
 * of the stale back references (a malloc()ed array of malloc()ed keys).
 */
struct backref_key {
	uint8_t *key;
	size_t len;
};

static int walk_backrefs(struct gfs *fs, uint64_t ino, uint32_t view, hlink_name_fn fn, void *ctx,
			 const struct kbuf *except, uint32_t stop_at, uint32_t *live,
			 uint32_t *stale, struct backref_key **stale_out)
{
	uint8_t prefix[VFILE_BACKREF_PREFIX];
	vfile_backref_key(prefix, ino, false, 0, NULL, 0);
	golite_iter_options o = { .prefix = prefix, .prefix_len = sizeof(prefix) };
	golite_iter *it;
	*live = *stale = 0;
	int r = gfs_iter_new(fs, GOLITE_TABLE_FS | view, &o, &it);
	if (r)
		return -gfs_errno(r, "list the names of a file");
	size_t cap = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen;
		const uint8_t *k = golite_iter_key(it, &klen);
		uint64_t got;
		uint32_t table;
		const uint8_t *name;
		size_t nlen;
		if (!vfile_backref_parse(k, klen, &got, &table, &name, &nlen) || got != ino)
			continue;
		if (except && except->table == table && except->len == nlen &&
		    memcmp(except->b, name, nlen) == 0)
			continue;
		if (is_name_of(fs, ino, table | view, name, nlen)) {
			(*live)++;
			if (fn)
				fn(ctx, table, name, nlen);
			if (*live == stop_at)
				break;
			continue;
		}
		if (stale_out) {
			if (*stale == cap) {
				cap = cap ? cap * 2 : 4;
				*stale_out = xrealloc(*stale_out, cap * sizeof(**stale_out));
			}
			(*stale_out)[*stale] = (struct backref_key){ xmemdup(k, klen), klen };
		}
		(*stale)++;
	}
	r = golite_iter_status(it);
	golite_iter_free(it);
	return r ? -gfs_errno(r, "list the names of a file") : 0;
}

int hlink_count_others(struct gfs *fs, uint64_t ino, uint32_t view, const struct kbuf *except,
		       uint32_t *count)
{
	uint32_t stale;
	return walk_backrefs(fs, ino, view, NULL, NULL, except && except->len ? except : NULL, 0, count,
			     &stale, NULL);
}

int hlink_names(struct gfs *fs, uint64_t ino, hlink_name_fn fn, void *ctx)
{
	uint32_t live, stale;
	return walk_backrefs(fs, ino, 0, fn, ctx, NULL, 0, &live, &stale, NULL);
}

int hlink_load(struct gfs *fs, uint64_t ino, uint32_t view, struct nattr *a)
{
	struct kbuf *k = xmalloc(sizeof(*k));
	hlink_key(ino, view, k);
	struct rec rec;
	int r = rec_get(fs, k->table, k->b, k->len, &rec);
	if (r == 0 && rec.kind != GOLITE_KIND_META)
		r = -EIO;
	if (r == 0)
		r = rec_attr(fs, k->table, k->b, k->len, &rec, a);
	if (r == 0 && (a->hlink || S_ISDIR(a->mode)))
		r = -EIO;
	rec_free(&rec);
	free(k);
	if (r) {
		gfs_log(LOG_LVL_ERROR, "a hard link names inode %llu, whose record is %s "
			"(golite check tells more)", (unsigned long long)ino,
			r == -ENOENT ? "missing" : "damaged");
		return r == -ENOENT ? -EIO : r;
	}
	uint32_t n;
	r = hlink_count_others(fs, ino, view, NULL, &n);
	a->nlink = n ? n : 1;
	return r;
}

int hlink_node(struct gfs *fs, uint64_t ino, uint32_t view, bool lookup, struct node **out)
{
	struct kbuf *k = xmalloc(sizeof(*k));
	hlink_key(ino, view, k);
	*out = node_find(fs, k->table, k->b, k->len, FL_NORMAL, lookup);
	int r = 0;
	if (!*out) {
		struct nattr a;
		r = hlink_load(fs, ino, view, &a);
		if (!r)
			*out = node_get(fs, k->table, k->b, k->len, FL_NORMAL, 0, SRC_META, &a,
					lookup);
	}
	free(k);
	return r;
}

int hlink_backref_put(golite_batch *b, uint64_t ino, uint32_t table, const uint8_t *name,
		      size_t nlen)
{
	uint8_t *key = xmalloc(VFILE_BACKREF_PREFIX + 4 + nlen);
	size_t len = vfile_backref_key(key, ino, true, table, name, nlen);
	int r = golite_batch_put_raw(b, GOLITE_TABLE_FS, GOLITE_KIND_VALUE, key, len, "", 0);
	free(key);
	return r ? -gfs_errno(r, "record a name of a file") : 0;
}

int hlink_backref_delete(golite_batch *b, uint64_t ino, uint32_t table, const uint8_t *name,
			 size_t nlen)
{
	uint8_t *key = xmalloc(VFILE_BACKREF_PREFIX + 4 + nlen);
	size_t len = vfile_backref_key(key, ino, true, table, name, nlen);
	int r = golite_batch_delete_raw(b, GOLITE_TABLE_FS, key, len);
	free(key);
	return r ? -gfs_errno(r, "delete a name of a file") : 0;
}

/* Adds the record of name k of ino (mode: the file's) to b, with its
 * back reference. */
static int name_put(golite_batch *b, uint64_t ino, uint32_t mode, const struct kbuf *k)
{
	uint8_t rec[VFILE_HEADER];
	vfile_encode_hlink(rec, ino, mode);
	int e = golite_batch_put_raw(b, k->table, GOLITE_KIND_META, k->b, k->len, rec,
				     sizeof(rec));
	if (e)
		return -gfs_errno(e, "link");
	return hlink_backref_put(b, ino, k->table, k->b, k->len);
}

int hlink_drop_name(struct gfs *fs, golite_batch *b, struct node *n, const struct kbuf *k,
		    int64_t now, uint32_t *left, uint64_t *ino, bool *chunked, struct vrec *v)
{
	memset(v, 0, sizeof(*v));
	*ino = n->a.ino;
	*chunked = n->a.chunked;
	/* Whether another name lives decides; the count left is the node's
	 * less this one (a walk of every name would make each unlink of a
	 * file with many names cost them all). */
	uint32_t others, stale;
	int r = walk_backrefs(fs, n->a.ino, 0, NULL, NULL, k, 1, &others, &stale, NULL);
	*left = others ? (n->a.nlink > 2 ? n->a.nlink - 1 : 1) : 0;
	if (!r)
		r = hlink_backref_delete(b, n->a.ino, k->table, k->b, k->len);
	if (r)
		return r;
	struct kbuf *sk = xmalloc(sizeof(*sk));
	node_key_locked(n, sk);
	if (others == 0) {
		int e = golite_batch_delete_raw(b, sk->table, sk->b, sk->len);
		r = e ? -gfs_errno(e, "unlink") : 0;
		if (!r)
			r = chunks_release_name(fs, b, sk, n->a.mode, n->opens > 0, ino, chunked);
	} else {
		r = node_load_vrec_locked(fs, n, sk, v);
		if (!r) {
			v->f.ctime_ns = now;
			r = vrec_put(fs, b, sk->table, sk->b, sk->len, v);
		}
	}
	free(sk);
	return r;
}

void hlink_drop_commit(struct gfs *fs, struct node *n, uint32_t left, const struct vrec *v)
{
	(void)fs;
	node_commit_vrec_locked(n, v);
	n->a.nlink = left;
}

/* ---- link(2) ---- */

/*
 * Makes n (not yet linked, named by k) a linked file in b: its name
 * becomes a type 8 record, and a chunked file's owner the shared key (the
 * caller puts the shared record, v). n->mu, n->rw and ns held.
 */
static int make_shared(struct gfs *fs, struct node *n, const struct kbuf *k, golite_batch *b,
		       struct vrec *v)
{
	int r = node_load_vrec_locked(fs, n, k, v);
	if (!r)
		r = name_put(b, v->f.ino, v->f.mode | vfile_mode_type(v->f.type), k);
	if (!r && v->f.type == VFILE_REG && (v->f.flags & VFILE_F_CHUNKED)) {
		struct kbuf *sk = xmalloc(sizeof(*sk));
		hlink_key(v->f.ino, 0, sk);
		r = owner_put(b, v->f.ino, sk->table, sk->b, sk->len);
		free(sk);
	}
	return r;
}

static int do_link(struct gfs *fs, struct node *n, struct node *dir, const char *newname)
{
	if (dir == &fs->root) {
		gfs_log(LOG_LVL_WARN, "link /%s: the root holds only tables (directories)",
			newname);
		return -EPERM;
	}
	if (dir->flavor == FL_STATIC || dir->flavor == FL_SNAPROOT || n->flavor != FL_NORMAL ||
	    node_is_ctl(fs, n))
		return node_frozen(dir) ? -EROFS : -EPERM;
	if (fs->o.read_only || node_frozen(dir) || node_frozen(n))
		return -EROFS;
	struct entry *e = xmalloc(sizeof(*e));
	struct kbuf *nk = xmalloc(sizeof(*nk));
	struct vrec v = { 0 };
	pthread_rwlock_wrlock(&n->rw);
	ns_rdlock(fs);
	struct node *locked[2] = { dir, n };
	bool is_locked = false;
	int r = resolve_child(fs, dir, newname, true, e);
	if (r)
		goto out;
	struct rec rec;
	r = rec_get(fs, e->k.table, e->k.b, e->k.len, &rec);
	rec_free(&rec);
	if (r == 0)
		r = -EEXIST;
	if (r != -ENOENT)
		goto out;
	r = e->k.len == 0 ? -EINVAL : 0;
	if (r)
		goto out;
	lock_nodes(locked, 2);
	is_locked = true;
	if (n->src == SRC_NONE || n->unlinked) {
		r = -ENOENT;
		goto out;
	}
	if (node_is_dir(n) || n->src == SRC_IMPLIED) {
		r = -EPERM;
		goto out;
	}
	if (n->a.expires) {
		/* A time to live belongs to one name (ttl.c). */
		gfs_log(LOG_LVL_INFO, "link: a file that expires cannot have another name "
			"(remove user.golite.ttl first)");
		r = -EPERM;
		goto out;
	}
	node_key_locked(n, nk);
	bool shared = node_is_shared(n);
	uint32_t names = 1;
	if (!shared) {
		/* An API value first becomes a file record of its own. */
		r = node_materialize_locked(fs, n, nk);
		if (r)
			goto out;
	} else {
		names = n->a.nlink ? n->a.nlink : 1;
		if (names >= GFS_LINK_MAX) {
			r = -EMLINK;
			goto out;
		}
	}
	int64_t now = wall_ns();
	golite_batch *b = gfs_batch();
	r = shared ? node_load_vrec_locked(fs, n, nk, &v) : make_shared(fs, n, nk, b, &v);
	if (r)
		goto out;
	/* link(2) changes the file's ctime. */
	v.f.ctime_ns = now;
	struct kbuf *sk = xmalloc(sizeof(*sk));
	hlink_key(v.f.ino, 0, sk);
	r = vrec_put(fs, b, sk->table, sk->b, sk->len, &v);
	free(sk);
	if (!r)
		r = name_put(b, v.f.ino, v.f.mode | vfile_mode_type(v.f.type), &e->k);
	if (!r)
		r = dir_touch_locked(fs, dir, b, false, now);
	if (!r)
		r = gfs_write_batch(fs, b, "link");
	if (r)
		goto out;
	dir_touch_commit(dir, now);
	node_commit_vrec_locked(n, &v);
	n->a.nlink = names + 1;
	if (!shared) {
		hlink_key(v.f.ino, 0, nk);
		node_rekey(fs, n, nk->table, nk->b, nk->len, FL_NORMAL, 0);
	}
	atomic_fetch_add(&fs->files, 1);
out:
	if (is_locked)
		unlock_nodes(locked, 2);
	ns_rdunlock(fs);
	pthread_rwlock_unlock(&n->rw);
	vrec_free(&v);
	free(nk);
	free(e);
	return r;
}

void gfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_LINK);
	struct node *n = req_node(req, ino);
	if (!n)
		return;
	struct node *dir = req_node(req, newparent);
	if (!dir)
		return;
	int r = do_link(fs, n, dir, newname);
	if (r) {
		fuse_reply_err(req, -r);
		return;
	}
	/* The reply carries one more lookup count on the file's node. */
	struct fuse_entry_param ep;
	if (!node_revive(fs, n)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	node_fill_entry(fs, n, &ep);
	ev_child(fs, EV_LINK, dir, newname);
	fuse_reply_entry(req, &ep);
}

/* ---- the sweep ---- */

/* Frees the stale back references of ino and, if it has no live name
 * and is not open, the inode itself. ns held exclusive. */
static void sweep_inode(struct gfs *fs, uint64_t ino, uint64_t *stale, uint64_t *orphans)
{
	uint32_t live, nstale;
	struct backref_key *keys = NULL;
	if (walk_backrefs(fs, ino, 0, NULL, NULL, NULL, 0, &live, &nstale, &keys))
		goto out;
	struct kbuf *sk = xmalloc(sizeof(*sk));
	hlink_key(ino, 0, sk);
	struct node *n = live ? NULL : node_find(fs, sk->table, sk->b, sk->len, FL_NORMAL, false);
	bool open = n && n->opens > 0;
	golite_batch *b = gfs_batch();
	int r = 0;
	for (uint32_t i = 0; i < nstale && !r; i++)
		r = golite_batch_delete_raw(b, GOLITE_TABLE_FS, keys[i].key, keys[i].len) ? -EIO : 0;
	bool freed = !r && live == 0 && !open && !open_inos_has(fs, ino);
	if (freed) {
		struct rec rec;
		bool chunked = false;
		if (rec_get(fs, sk->table, sk->b, sk->len, &rec) == 0 && rec.kind == GOLITE_KIND_META) {
			struct vfile f;
			chunked = vfile_decode(rec.data, rec.len, &f) == 0 && f.type == VFILE_REG &&
				  (f.flags & VFILE_F_CHUNKED);
		}
		rec_free(&rec);
		r = golite_batch_delete_raw(b, sk->table, sk->b, sk->len) ? -EIO : 0;
		if (!r && chunked)
			r = chunks_delete_from(fs, b, ino, 0, NULL);
		if (!r && chunked)
			r = owner_delete(b, ino);
	}
	if (!r && (nstale || freed))
		r = gfs_write_batch(fs, b, "sweep the names of files");
	if (!r) {
		*stale += nstale;
		if (freed) {
			(*orphans)++;
			if (n) {
				mutex_lock(&n->mu);
				n->src = SRC_NONE;
				mutex_unlock(&n->mu);
				node_unhash(fs, n);
			}
		}
	}
	node_unref(fs, n);
	free(sk);
out:
	for (uint32_t i = 0; i < nstale && keys; i++)
		free(keys[i].key);
	free(keys);
}

void hlink_sweep(struct gfs *fs, uint64_t *stale, uint64_t *orphans)
{
	*stale = *orphans = 0;
	/* The linked inodes: the keys 'N' + inode. */
	uint8_t prefix = VFILE_KEY_INODE;
	golite_iter_options o = { .prefix = &prefix, .prefix_len = 1 };
	golite_iter *it;
	if (golite_iter_new_raw(fs->db, GOLITE_TABLE_FS, &o, &it))
		return;
	uint64_t *inos = NULL;
	size_t n = 0, cap = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen;
		const uint8_t *k = golite_iter_key(it, &klen);
		if (klen != VFILE_INODE_KEY)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			inos = xrealloc(inos, cap * sizeof(*inos));
		}
		inos[n++] = get_be64(k + 1);
	}
	golite_iter_free(it);
	bool was = gfs_frees_space(true);
	for (size_t i = 0; i < n; i++) {
		/* Counted without the namespace held: only an inode that
		 * looks orphaned or has stale names is looked at again, with
		 * it held exclusive (no name can move meanwhile). */
		uint32_t live, nstale;
		ns_rdlock(fs);
		int r = walk_backrefs(fs, inos[i], 0, NULL, NULL, NULL, 0, &live, &nstale, NULL);
		ns_rdunlock(fs);
		if (r || (live && !nstale))
			continue;
		ns_wrlock(fs);
		sweep_inode(fs, inos[i], stale, orphans);
		ns_wrunlock(fs);
	}
	gfs_frees_space(was);
	free(inos);
}
