/*
 * portfs.c — golitefs -o store=URI MOUNTPOINT: the mount on a store
 * reached through the store port (include/golite_store.h), so that many
 * mounts, on many machines, share one store kept in etcd.
 *
 * The tree (portfs_format.h): tables are the top directories, an entry's
 * key is its path in its table, its value a record (kind, mode, owner,
 * times, size; small data inline, larger data in chunks named by the
 * file's number). Every change is one port transaction whose checks make
 * it mean what it means on one machine, whichever mount runs it:
 *
 *   create, mkdir, symlink  the name was absent and the parent is as this
 *                           mount last saw it (O_EXCL: exactly one of
 *                           several mounts creating a name wins)
 *   unlink, rmdir           the entry is the one read; rmdir: nothing was
 *                           created below it since it was found empty
 *   rename                  source and target are the ones read; the target
 *                           is replaced and the source removed at once
 *   close, fsync            the changed chunks are written first, then the
 *                           record that names them: readers elsewhere see
 *                           the old contents or the new, whole
 *
 * A transaction that loses to another mount is run again from its reads
 * (with backoff), up to PF_ATTEMPTS times, then fails with EAGAIN.
 *
 * Consistency between mounts, as NFS's close-to-open: a file's contents
 * are read afresh at each open (the kernel's page cache is dropped), and
 * what a mount wrote is visible to every open that starts after its
 * close or fsync returned. Names and attributes are cached by the kernel
 * for attr_timeout / entry_timeout (1 s by default here); a watch on the
 * store drops them from the cache as soon as another mount's change is
 * committed (fuse_invalidate_path), so staleness is a watch round trip in
 * practice and 1 s at most while the watch is down. fsync returns once the
 * store has the data: on etcd, once a quorum has it in its log.
 *
 * A file open here stays that file for its handles: renamed here, they
 * follow it (rename_handles); unlinked or replaced here, it lives on for
 * them (orphan) and its last close deletes its chunks.
 *
 * /.golite/stats: the mount's figures (stats_text).
 *
 * Extended attributes live in the record (xa_*), changed by update_if.
 *
 * Every open of one file through this mount shares one handle
 * (handle_share), as they share the kernel's inode.
 *
 * Not supported here (the engine-backed mount has them): hard links,
 * snapshots, expiry, the other /.golite files.
 * Renaming across tables, or a directory holding more entries than one
 * transaction carries, gives EXDEV (mv copies instead).
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fuse.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <linux/falloc.h>
#include <linux/limits.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "golite_store.h"
#include "portfs.h"
#include "portfs_format.h"
#include "util.h"

#define PF_ATTEMPTS 20
#define RCACHE_SLOTS 65536

#define TCACHE_SLOTS 256

struct tslot {
	char *name;
	uint64_t at_ns;
};

struct ino_range {
	char *table;
	uint64_t next, end;
};

static struct {
	golite_store *s;
	struct fuse *fuse;
	double timeout;
	bool watching;
	pthread_t watcher;
	volatile int stop;
	pthread_mutex_t mu;           /* ino ranges, rcache */
	struct ino_range *inos;
	size_t ninos;
	struct rslot *rcache;         /* RCACHE_SLOTS */
	struct tslot tcache[TCACHE_SLOTS];   /* tables known to exist */
	uint64_t epoch;               /* rcache entries of an older one are void */
	bool trusted;                 /* no writer goes unseen: entries do not age */
	uint64_t max_file;            /* a record names this many chunks at most */
	struct handle *open;          /* open files of this mount */
	_Atomic uint64_t cache_hits, cache_misses;   /* read_rec */
	uid_t uid;
	gid_t gid;
	struct timespec mounted;
} pf;

/* ---- records ---- */

struct rec {
	int kind;
	uint32_t mode, uid, gid, nchunks;
	uint64_t ino, size, mtime, ctime, atime, rdev;
	uint8_t *xa;          /* extended attributes, as the record holds them
			       * (portfs_format.h); NULL: none */
	size_t xalen;
	uint32_t *gen;        /* nchunks generations */
	uint8_t *data;        /* inline data (size bytes) when nchunks == 0 */
	uint64_t version;
};

static void rec_free(struct rec *r)
{
	free(r->gen);
	free(r->data);
	free(r->xa);
	r->gen = NULL;
	r->data = NULL;
	r->xa = NULL;
	r->xalen = 0;
}

/* ---- extended attributes: "count (2), then per attribute: name length
 * (1), name, value length (4), value" (portfs_format.h) ---- */

/* Checks an attribute area: true if it parses to its end exactly. */
static bool xa_valid(const uint8_t *p, size_t n)
{
	if (n < 2)
		return false;
	size_t count = get_le16(p), off = 2;
	for (size_t i = 0; i < count; i++) {
		if (off + 1 > n || p[off] == 0 || off + 1 + p[off] + 4 > n)
			return false;
		size_t nl = p[off];
		uint32_t vl = get_le32(p + off + 1 + nl);
		off += 1 + nl + 4;
		if (vl > n - off)
			return false;
		off += vl;
	}
	return off == n;
}

/* Calls fn for each attribute of r until it returns non-zero. */
static int xa_each(const struct rec *r,
		   int (*fn)(void *ctx, const char *name, size_t nl, const uint8_t *v, size_t vl),
		   void *ctx)
{
	if (!r->xa)
		return 0;
	size_t count = get_le16(r->xa), off = 2;
	for (size_t i = 0; i < count; i++) {
		size_t nl = r->xa[off];
		const char *name = (const char *)r->xa + off + 1;
		uint32_t vl = get_le32(r->xa + off + 1 + nl);
		const uint8_t *v = r->xa + off + 1 + nl + 4;
		int x = fn(ctx, name, nl, v, vl);
		if (x)
			return x;
		off += 1 + nl + 4 + vl;
	}
	return 0;
}

struct xa_edit {
	const char *name;      /* the attribute set or removed */
	const void *value;     /* NULL: remove */
	size_t vlen;
	bool found;
	uint8_t *out;
	size_t len, count;
};

static void xa_append(struct xa_edit *e, const char *name, size_t nl, const void *v, size_t vl)
{
	e->out = xrealloc(e->out, e->len + 1 + nl + 4 + vl);
	e->out[e->len] = (uint8_t)nl;
	memcpy(e->out + e->len + 1, name, nl);
	put_le32(e->out + e->len + 1 + nl, (uint32_t)vl);
	if (vl)
		memcpy(e->out + e->len + 1 + nl + 4, v, vl);
	e->len += 1 + nl + 4 + vl;
	e->count++;
}

static int xa_copy_one(void *ctx, const char *name, size_t nl, const uint8_t *v, size_t vl)
{
	struct xa_edit *e = ctx;
	if (nl == strlen(e->name) && memcmp(name, e->name, nl) == 0) {
		e->found = true;
		if (e->value)
			xa_append(e, name, nl, e->value, e->vlen);
		return 0;
	}
	xa_append(e, name, nl, v, vl);
	return 0;
}

/* r's attributes with name set to value (NULL: removed); *found says
 * whether it was there. */
static void xa_edit(struct rec *r, const char *name, const void *value, size_t vlen, bool *found)
{
	struct xa_edit e = { .name = name, .value = value, .vlen = vlen };
	e.out = xmalloc(2);
	e.len = 2;
	xa_each(r, xa_copy_one, &e);
	if (!e.found && value)
		xa_append(&e, name, strlen(name), value, vlen);
	put_le16(e.out, (uint16_t)e.count);
	free(r->xa);
	if (e.count) {
		r->xa = e.out;
		r->xalen = e.len;
	} else {
		free(e.out);
		r->xa = NULL;
		r->xalen = 0;
	}
	*found = e.found;
}

static uint64_t now_real_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void rec_decode(struct rec *r, const uint8_t *v, size_t n, uint64_t version)
{
	memset(r, 0, sizeof(*r));
	r->version = version;
	if (n >= PF_HEADER && memcmp(v, PF_MAGIC, 4) == 0 && v[4] == PF_VERSION &&
	    v[5] >= PF_FILE && v[5] <= PF_SPECIAL) {
		r->kind = v[5];
		/* the type bits follow the kind, whatever the record says */
		uint32_t m = get_le32(v + 8), type = m & S_IFMT;
		if (r->kind == PF_SPECIAL && !S_ISFIFO(type) && !S_ISSOCK(type) && !S_ISCHR(type) &&
		    !S_ISBLK(type))
			type = S_IFIFO;
		r->mode = (m & 07777) | (r->kind == PF_DIR ? S_IFDIR
					: r->kind == PF_LINK ? S_IFLNK
					: r->kind == PF_SPECIAL ? type : S_IFREG);
		r->uid = get_le32(v + 12);
		r->gid = get_le32(v + 16);
		r->nchunks = get_le32(v + 20);
		r->ino = get_le64(v + 24);
		r->size = get_le64(v + 32);
		r->mtime = get_le64(v + 40);
		r->ctime = get_le64(v + 48);
		r->atime = get_le64(v + 56);
		r->rdev = get_le64(v + 64);
		size_t need = PF_HEADER + (size_t)r->nchunks * 4;
		uint64_t inl = r->nchunks ? 0 : r->size;
		if (need <= n && inl <= n - need && (r->nchunks == 0 || r->kind == PF_FILE) &&
		    (r->nchunks == 0 || r->size <= (uint64_t)r->nchunks * PF_CHUNK) &&
		    xa_valid(v + need + inl, n - need - (size_t)inl)) {
			r->gen = r->nchunks ? xmalloc(r->nchunks * 4u) : NULL;
			for (uint32_t i = 0; i < r->nchunks; i++)
				r->gen[i] = get_le32(v + PF_HEADER + 4 * i);
			r->data = inl ? xmemdup(v + need, (size_t)inl) : NULL;
			const uint8_t *xa = v + need + inl;
			if (get_le16(xa)) {
				r->xalen = n - need - (size_t)inl;
				r->xa = xmemdup(xa, r->xalen);
			}
			return;
		}
		/* damaged: shown as a plain file of its bytes */
		memset(r, 0, sizeof(*r));
		r->version = version;
	}
	r->kind = PF_FILE;
	r->mode = S_IFREG | 0644;
	r->size = n;
	r->data = n ? xmemdup(v, n) : NULL;
}

static uint8_t *rec_encode(const struct rec *r, size_t *n)
{
	size_t inl = r->nchunks ? 0 : (size_t)r->size;
	size_t xal = r->xa ? r->xalen : 2;
	*n = PF_HEADER + (size_t)r->nchunks * 4 + inl + xal;
	uint8_t *v = xcalloc(1, *n);
	memcpy(v, PF_MAGIC, 4);
	v[4] = PF_VERSION;
	v[5] = (uint8_t)r->kind;
	put_le32(v + 8, r->mode);
	put_le32(v + 12, r->uid);
	put_le32(v + 16, r->gid);
	put_le32(v + 20, r->nchunks);
	put_le64(v + 24, r->ino);
	put_le64(v + 32, r->size);
	put_le64(v + 40, r->mtime);
	put_le64(v + 48, r->ctime);
	put_le64(v + 56, r->atime);
	put_le64(v + 64, r->rdev);
	for (uint32_t i = 0; i < r->nchunks; i++)
		put_le32(v + PF_HEADER + 4 * i, r->gen[i]);
	if (inl)
		memcpy(v + PF_HEADER + (size_t)r->nchunks * 4, r->data, inl);
	if (r->xa)   /* else two zero bytes: no attribute */
		memcpy(v + PF_HEADER + (size_t)r->nchunks * 4 + inl, r->xa, r->xalen);
	return v;
}

static void chunk_key(uint8_t k[PF_CHUNK_KEY], uint64_t ino, uint32_t i, uint32_t gen)
{
	k[0] = 0;
	for (int b = 0; b < 8; b++)
		k[1 + b] = (uint8_t)(ino >> (56 - 8 * b));
	for (int b = 0; b < 4; b++) {
		k[9 + b] = (uint8_t)(i >> (24 - 8 * b));
		k[13 + b] = (uint8_t)(gen >> (24 - 8 * b));
	}
}

/* ---- paths ---- */

/* "/T/rest": table T (in tbuf), key rest. Returns 0 for the root, 1 for a
 * table, 2 for an entry; -errno for a name that cannot be one. */
static int split(const char *path, char *tbuf, size_t tcap, const char **key)
{
	const char *p = path + 1;
	if (!*p)
		return 0;
	const char *slash = strchr(p, '/');
	size_t tl = slash ? (size_t)(slash - p) : strlen(p);
	if (tl >= tcap)
		return -ENAMETOOLONG;
	memcpy(tbuf, p, tl);
	tbuf[tl] = '\0';
	if (!slash)
		return 1;
	*key = slash + 1;
	if (strlen(*key) > GOLITE_MAX_KEY_SIZE)
		return -ENAMETOOLONG;
	for (const char *c = *key; *c;) {   /* each name at most NAME_MAX */
		size_t l = strcspn(c, "/");
		if (l > NAME_MAX)
			return -ENAMETOOLONG;
		c += l + (c[l] == '/');
	}
	return 2;
}

static int err_of(int r)
{
	switch (r) {
	case 0: return 0;
	case GOLITE_ENOTFOUND:
	case GOLITE_ENOTABLE: return -ENOENT;
	case GOLITE_EEXIST: return -EEXIST;
	case GOLITE_ENOTEMPTY: return -ENOTEMPTY;
	case GOLITE_EKEYSIZE: return -ENAMETOOLONG;
	case GOLITE_ENAME: return -EINVAL;
	case GOLITE_EVALSIZE:
	case GOLITE_EBATCH: return -EFBIG;
	case GOLITE_ECONFLICT: return -EAGAIN;
	case GOLITE_ENOSPC: return -ENOSPC;
	case GOLITE_EROFS: return -EROFS;
	default: return -EIO;
	}
}

/* ---- the record cache ----
 *
 * What this mount knows of entries, by path: a record's version and
 * bytes (up to RCACHE_MAX_VALUE), or that the entry is absent. An entry
 * is used only while nobody can have changed it unseen: with the watch in
 * place (etcd), until the watch reports a change of its key, which then
 * updates it; with no watch (it is down, or reconnecting), for the
 * kernel's cache time. A local store has no other writer: entries stay.
 * Transactions built on an entry check its version at commit (a stale
 * entry makes the commit fail, drops the entry, and the retry reads).
 * seen is the store revision the entry is known at (etcd), so that an
 * older event arriving late does not undo a newer commit of this mount.
 */
#define RCACHE_MAX_VALUE 1024   /* at most 64 MiB of values in all */

struct rslot {
	char *path;
	bool absent;
	uint64_t version, seen;
	uint8_t *val;          /* NULL: bytes not kept */
	size_t vlen;
	uint64_t epoch, at_ns;
};

/* The cache is set-associative: a path may sit in any of the
 * RCACHE_WAYS slots of its set; a new path takes a free or void one, or
 * the one written longest ago. */
#define RCACHE_WAYS 8

/* path's slot (pf.mu held); NULL if absent and !make. */
static struct rslot *rslot_find(const char *path, bool make)
{
	size_t set = hash64(path, strlen(path)) % (RCACHE_SLOTS / RCACHE_WAYS) * RCACHE_WAYS;
	struct rslot *victim = NULL;
	for (size_t w = 0; w < RCACHE_WAYS; w++) {
		struct rslot *v = &pf.rcache[set + w];
		if (v->path && strcmp(v->path, path) == 0)
			return v;
		bool v_free = !v->path || v->epoch != pf.epoch;
		bool victim_free = victim && (!victim->path || victim->epoch != pf.epoch);
		if (!victim || (v_free && !victim_free) ||
		    (!v_free && !victim_free && v->at_ns < victim->at_ns))
			victim = v;
	}
	return make ? victim : NULL;
}

static void rslot_clear(struct rslot *v)
{
	free(v->path);
	free(v->val);
	memset(v, 0, sizeof(*v));
}

/* Notes path as known at revision seen: absent, or at version with bytes
 * val (NULL: unknown). Unless the entry is known at a later revision. */
static void rc_put(const char *path, bool absent, uint64_t version, uint64_t seen,
		   const void *val, size_t vlen)
{
	mutex_lock(&pf.mu);
	struct rslot *v = rslot_find(path, true);
	if (v->path && strcmp(v->path, path) == 0 && v->epoch == pf.epoch && seen &&
	    v->seen > seen) {
		mutex_unlock(&pf.mu);
		return;
	}
	rslot_clear(v);
	v->path = xstrdup(path);
	v->absent = absent;
	v->version = version;
	v->seen = seen;
	if (val && vlen <= RCACHE_MAX_VALUE) {
		v->val = xmemdup(val, vlen ? vlen : 1);
		v->vlen = vlen;
	}
	v->epoch = pf.epoch;
	v->at_ns = now_ns();
	mutex_unlock(&pf.mu);
}

static void rc_drop(const char *path)
{
	mutex_lock(&pf.mu);
	struct rslot *v = rslot_find(path, false);
	if (v)
		rslot_clear(v);
	mutex_unlock(&pf.mu);
}

/* Everything cached is in doubt (the watch went down): forget it. */
static void rc_forget_all(void)
{
	mutex_lock(&pf.mu);
	pf.epoch++;
	mutex_unlock(&pf.mu);
}

/* The entry of path, if usable: true with *absent, *version and (if it
 * was kept and val is not NULL) a copy of the bytes in *val. */
static bool rc_get(const char *path, bool *absent, uint64_t *version, uint8_t **val, size_t *vlen)
{
	bool hit = false;
	mutex_lock(&pf.mu);
	struct rslot *v = rslot_find(path, false);
	if (v && v->epoch == pf.epoch &&
	    (pf.trusted || now_ns() - v->at_ns < (uint64_t)(pf.timeout * 1e9))) {
		hit = true;
		*absent = v->absent;
		*version = v->version;
		if (val) {
			*val = v->val ? xmemdup(v->val, v->vlen ? v->vlen : 1) : NULL;
			*vlen = v->vlen;
		}
	}
	mutex_unlock(&pf.mu);
	return hit;
}

/* ---- reads ---- */

/* Reads table[key]'s record into r (in t); *raw gets the value's bytes
 * when raw is not NULL. */
static int get_rec_raw(golite_txn *t, const char *table, const char *key, struct rec *r,
		       void **raw, size_t *rawlen)
{
	void *v = NULL;
	size_t n = 0;
	uint64_t ver = 0;
	int e = golite_txn_get(t, table, key, strlen(key), &v, &n, &ver);
	if (e)
		return e;
	rec_decode(r, v, n, ver);
	if (raw) {
		*raw = v;
		*rawlen = n;
	} else {
		golite_free(v);
	}
	return 0;
}

static int get_rec(golite_txn *t, const char *table, const char *key, struct rec *r)
{
	return get_rec_raw(t, table, key, r, NULL, NULL);
}

/* Reads path's record (table, key) into r from the store, in t, and notes
 * what it found in the cache. */
static int fetch_rec(golite_txn *t, const char *path, const char *table, const char *key,
		     struct rec *r)
{
	void *raw = NULL;
	size_t n = 0;
	int e = get_rec_raw(t, table, key, r, &raw, &n);
	if (e == GOLITE_ENOTFOUND)
		rc_put(path, true, 0, 0, NULL, 0);
	else if (e == 0)
		rc_put(path, false, r->version, r->version, raw, n);
	golite_free(raw);
	return e;
}

/* Reads path's record (table, key) into r through the cache, and adds
 * to t (if not NULL) the commit's check that it is still what was read:
 * 0, GOLITE_ENOTFOUND, or an error. */
static int read_rec(golite_txn *t, const char *path, const char *table, const char *key,
		    struct rec *r)
{
	bool absent;
	uint64_t ver;
	uint8_t *val = NULL;
	size_t vlen = 0;
	memset(r, 0, sizeof(*r));
	if (rc_get(path, &absent, &ver, &val, &vlen) && (absent || val)) {
		pf.cache_hits++;
		int e = t ? golite_txn_expect(t, table, key, strlen(key), absent ? 0 : ver) : 0;
		if (!e && absent)
			e = GOLITE_ENOTFOUND;
		if (!e)
			rec_decode(r, val, vlen, ver);
		free(val);
		return e;
	}
	pf.cache_misses++;
	if (t)
		return fetch_rec(t, path, table, key, r);
	golite_txn *own;
	golite_txn_begin(pf.s, &own);
	int e = fetch_rec(own, path, table, key, r);
	golite_txn_free(own);
	return e;
}

/* Notes that this mount's commit at revision rev wrote record bytes v
 * (NULL: deleted) at path. */
static void rc_wrote(const char *path, uint64_t rev, const void *v, size_t n)
{
	if (!v)
		rc_put(path, true, 0, rev, NULL, 0);
	else
		rc_put(path, false, golite_store_version_after(pf.s, rev, v, n), rev, v, n);
}

/* Reads path's record from the store (not the cache, which it updates),
 * in a transaction of its own: what an open must see. */
static int load(const char *path, const char *table, const char *key, struct rec *r)
{
	golite_txn *t;
	golite_txn_begin(pf.s, &t);
	int e = fetch_rec(t, path, table, key, r);
	golite_txn_free(t);
	return e;
}

/* Whether table exists: 0 or GOLITE_ENOTABLE (or an error). Answers from
 * the last check for the kernel's cache time (the kernel asks again after
 * every create in the table): table changes reach no watch, and a write
 * into a table dropped meanwhile fails on its own check. */
static int table_exists(const char *table)
{
	uint64_t now = now_ns(), ttl = (uint64_t)(pf.timeout * 1e9);
	size_t i = hash64(table, strlen(table)) % TCACHE_SLOTS;
	mutex_lock(&pf.mu);
	struct tslot *c = &pf.tcache[i];
	bool hit = c->name && strcmp(c->name, table) == 0 && now - c->at_ns < ttl;
	mutex_unlock(&pf.mu);
	if (hit)
		return 0;
	golite_txn *t;
	golite_txn_begin(pf.s, &t);
	int e = golite_txn_get(t, table, PF_COUNTER_KEY, PF_COUNTER_KEY_LEN, NULL, NULL, NULL);
	golite_txn_free(t);
	if (e == GOLITE_ENOTFOUND)
		e = 0;
	mutex_lock(&pf.mu);
	free(c->name);
	c->name = e == 0 ? xstrdup(table) : NULL;
	c->at_ns = now;
	mutex_unlock(&pf.mu);
	return e;
}

/* Forgets that table exists (dropped here, or a write found it gone). */
static void table_forget(const char *table)
{
	size_t i = hash64(table, strlen(table)) % TCACHE_SLOTS;
	mutex_lock(&pf.mu);
	struct tslot *c = &pf.tcache[i];
	if (c->name && strcmp(c->name, table) == 0) {
		free(c->name);
		c->name = NULL;
	}
	mutex_unlock(&pf.mu);
}

/* golite_txn_commit of a transaction writing into table. */
static int pf_commit(golite_txn *t, const char *table, uint64_t *rev)
{
	int r = golite_txn_commit(t, rev);
	if (r == GOLITE_ENOTABLE)
		table_forget(table);
	return r;
}

static void fill_stat(struct stat *st, const struct rec *r)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = r->mode;
	st->st_nlink = r->kind == PF_DIR ? 2 : 1;
	st->st_uid = r->uid;
	st->st_gid = r->gid;
	st->st_size = (off_t)r->size;
	st->st_blocks = (blkcnt_t)((r->size + 511) / 512);
	st->st_blksize = PF_CHUNK;
	st->st_ino = r->ino;
	st->st_mtim.tv_sec = (time_t)(r->mtime / 1000000000ull);
	st->st_mtim.tv_nsec = (long)(r->mtime % 1000000000ull);
	st->st_ctim.tv_sec = (time_t)(r->ctime / 1000000000ull);
	st->st_ctim.tv_nsec = (long)(r->ctime % 1000000000ull);
	st->st_atim.tv_sec = (time_t)(r->atime / 1000000000ull);
	st->st_atim.tv_nsec = (long)(r->atime % 1000000000ull);
	st->st_rdev = (dev_t)r->rdev;
}

/* The root and the tables: directories of the mount's owner, dated from
 * the mount (the store keeps no times for them). */
static void dir_stat(struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
	st->st_uid = pf.uid;
	st->st_gid = pf.gid;
	st->st_mtim = st->st_ctim = st->st_atim = pf.mounted;
}

/* ---- open files ---- */

struct chunk {
	uint32_t i;
	bool dirty;
	uint8_t *data;      /* PF_CHUNK bytes */
	struct chunk *next;
};

struct handle {
	char table[256];
	char *key;
	char *path;
	pthread_mutex_t mu;
	struct rec r;          /* as read at open, or as last flushed */
	uint64_t size;         /* with this handle's writes */
	bool dirty;            /* data or size changed since the last flush */
	bool special;          /* /.golite/stats: text made at open, read-only */
	uint32_t hole_from;    /* chunks from here on were cut off by a truncate
				* since the last flush: holes unless written
				* (UINT32_MAX: none) */
	_Atomic uint64_t cut;  /* a truncate by path here set the file's size to
				* this (UINT64_MAX: none): applied by the
				* handle's next operation (handle_sync_cut) */
	bool orphan;           /* its name was removed here while it was open:
				* the file lives on for its open handles
				* (reads see it, writes are dropped), and
				* the last release deletes its chunks */
	struct chunk *chunks;  /* read or written chunks */
	size_t nchunks_cached;
	struct handle *prev, *next;   /* pf.open (pf.mu) */
	int refs;              /* opens sharing it (pf.mu): every open of one
				* file through this mount shares one handle,
				* as they share the kernel's inode */
	bool listed;           /* on pf.open (pf.mu) */
};

static void handle_sync_cut(struct handle *h);
static void handle_put(struct handle *h);
static int truncate_handle(struct handle *h, uint64_t n);
static void cut_others(const char *table, uint64_t ino, const struct handle *except, uint64_t n);

static struct handle *H(struct fuse_file_info *fi)
{
	return (struct handle *)(uintptr_t)fi->fh;
}

/* Takes h off pf.open (pf.mu held). */
static void handle_unlist(struct handle *h)
{
	if (!h->listed)
		return;
	if (h->prev)
		h->prev->next = h->next;
	else if (pf.open == h)
		pf.open = h->next;
	if (h->next)
		h->next->prev = h->prev;
	h->listed = false;
}

/* Forgets every chunk h holds (h->mu held, or h private). */
static void drop_chunks(struct handle *h)
{
	while (h->chunks) {
		struct chunk *c = h->chunks;
		h->chunks = c->next;
		free(c->data);
		free(c);
	}
	h->nchunks_cached = 0;
}

static void handle_free(struct handle *h)
{
	mutex_lock(&pf.mu);
	handle_unlist(h);
	mutex_unlock(&pf.mu);
	drop_chunks(h);
	rec_free(&h->r);
	free(h->key);
	free(h->path);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

/* Chunk i of the file as stored (zeros for a hole or past the end). */
static int fetch_chunk(struct handle *h, uint32_t i, uint8_t *out)
{
	memset(out, 0, PF_CHUNK);
	if (i >= h->hole_from)
		return 0;   /* cut off by a truncate not flushed yet */
	if (h->r.nchunks == 0) {
		uint64_t off = (uint64_t)i * PF_CHUNK;
		if (off < h->r.size && h->r.data)
			memcpy(out, h->r.data + off, MIN(PF_CHUNK, h->r.size - off));
		return 0;
	}
	if (i >= h->r.nchunks || h->r.gen[i] == 0)
		return 0;
	uint8_t k[PF_CHUNK_KEY];
	chunk_key(k, h->r.ino, i, h->r.gen[i]);
	golite_txn *t;
	golite_txn_begin(pf.s, &t);
	void *v = NULL;
	size_t n = 0;
	int e = golite_txn_get(t, h->table, k, sizeof k, &v, &n, NULL);
	golite_txn_free(t);
	if (e == GOLITE_ENOTFOUND || e == GOLITE_ENOTABLE)
		return -ESTALE;   /* another mount replaced or removed the file */
	if (e)
		return err_of(e);
	memcpy(out, v, MIN(n, (size_t)PF_CHUNK));
	golite_free(v);
	return 0;
}

/* The cached chunk i, fetched if absent. Clean chunks are dropped past a
 * few, so that reading a large file keeps a few chunks in memory. */
static int chunk_get(struct handle *h, uint32_t i, struct chunk **out)
{
	for (struct chunk *c = h->chunks; c; c = c->next) {
		if (c->i == i) {
			*out = c;
			return 0;
		}
	}
	if (h->nchunks_cached >= 8) {
		struct chunk **pp = &h->chunks;
		while (*pp) {
			struct chunk *c = *pp;
			if (!c->dirty) {
				*pp = c->next;
				free(c->data);
				free(c);
				h->nchunks_cached--;
			} else {
				pp = &c->next;
			}
		}
	}
	struct chunk *c = xcalloc(1, sizeof(*c));
	c->i = i;
	c->data = xmalloc(PF_CHUNK);
	int e = fetch_chunk(h, i, c->data);
	if (e) {
		free(c->data);
		free(c);
		return e;
	}
	c->next = h->chunks;
	h->chunks = c;
	h->nchunks_cached++;
	*out = c;
	return 0;
}

/* Writes the handle's changes: changed chunks first (not yet named by any
 * record), then the record, merged with what another mount may have
 * committed since: this mount's chunks win where both wrote. */
static int flush_handle(struct handle *h)
{
	if (!h->dirty)
		return 0;
	if (h->orphan) {
		/* no name reaches it: what it wrote goes with its last close */
		return 0;
	}
	golite_store_limits lim;
	golite_store_limits_get(pf.s, &lim);
	bool inline_data = h->size <= PF_INLINE_MAX;
	uint32_t nch = inline_data ? 0 : (uint32_t)((h->size + PF_CHUNK - 1) / PF_CHUNK);
	uint8_t *inl = NULL;
	uint32_t *newgen = NULL;
	int e = 0;
	/* generations this flush writes: one past anything seen */
	uint32_t gen = 1;
	for (uint32_t i = 0; i < h->r.nchunks; i++)
		gen = MAX(gen, h->r.gen[i] + 1);
	if (inline_data) {
		inl = xcalloc(1, h->size ? h->size : 1);
		for (uint64_t off = 0; off < h->size && e == 0; off += PF_CHUNK) {
			struct chunk *c;
			e = chunk_get(h, (uint32_t)(off / PF_CHUNK), &c);
			if (!e)
				memcpy(inl + off, c->data, MIN(PF_CHUNK, h->size - off));
		}
	} else {
		newgen = xcalloc(nch, sizeof(uint32_t));
		/* A file that was inline, or grew a chunk, writes every chunk it
		 * has data for; otherwise only the changed ones. */
		golite_txn *t;
		golite_txn_begin(pf.s, &t);
		size_t in_txn = 0, bytes = 0;
		for (uint32_t i = 0; i < nch && e == 0; i++) {
			bool had = h->r.nchunks > i && h->r.gen[i] && i < h->hole_from;
			struct chunk *c = NULL;
			for (struct chunk *x = h->chunks; x; x = x->next)
				if (x->i == i)
					c = x;
			bool write = (c && c->dirty) ||
				     (!had && h->r.nchunks == 0 && i < h->hole_from &&
				      (uint64_t)i * PF_CHUNK < h->r.size);
			if (!write) {
				newgen[i] = had ? h->r.gen[i] : 0;
				continue;
			}
			if (!c)
				e = chunk_get(h, i, &c);
			if (e)
				break;
			uint64_t off = (uint64_t)i * PF_CHUNK;
			size_t len = (size_t)MIN(PF_CHUNK, h->size - off);
			uint8_t k[PF_CHUNK_KEY];
			chunk_key(k, h->r.ino, i, gen);
			if (in_txn > 0 && (bytes + len + 64 > lim.max_txn_bytes ||
					   in_txn + 1 > lim.max_txn_writes)) {
				e = err_of(pf_commit(t, h->table, NULL));
				in_txn = bytes = 0;
			}
			if (!e)
				e = err_of(golite_txn_put(t, h->table, k, sizeof k, c->data, len));
			in_txn++;
			bytes += len + 64;
			newgen[i] = gen;
		}
		if (!e && in_txn)
			e = err_of(pf_commit(t, h->table, NULL));
		golite_txn_free(t);
	}
	/* The record, merged with what is there now, under the file's name
	 * now (a rename here moves its handles along: rename_handles). */
	mutex_lock(&pf.mu);
	char *hkey = xstrdup(h->key), *hpath = xstrdup(h->path);
	mutex_unlock(&pf.mu);
	for (unsigned attempt = 0; e == 0; attempt++) {
		golite_txn *t;
		golite_txn_begin(pf.s, &t);
		struct rec cur;
		int g;
		if (attempt == 0 && h->r.version) {
			/* as this handle last read or wrote it, checked at commit */
			cur = h->r;
			cur.gen = h->r.nchunks ? xmemdup(h->r.gen, h->r.nchunks * 4u) : NULL;
			cur.data = NULL;
			cur.xa = h->r.xa ? xmemdup(h->r.xa, h->r.xalen) : NULL;
			g = golite_txn_expect(t, h->table, hkey, strlen(hkey), h->r.version);
		} else {
			g = get_rec(t, h->table, hkey, &cur);
		}
		if (g) {
			golite_txn_free(t);
			e = g == GOLITE_ENOTFOUND ? -ESTALE : err_of(g);
			break;
		}
		struct rec nr = cur;
		nr.gen = NULL;
		nr.data = NULL;
		if (cur.ino != h->r.ino) {
			/* replaced by another file (a rename over it): ours is gone */
			rec_free(&cur);
			golite_txn_free(t);
			e = -ESTALE;
			break;
		}
		nr.size = h->size;
		nr.nchunks = nch;
		nr.mtime = nr.ctime = now_real_ns();
		if (inline_data) {
			nr.data = inl;
		} else {
			nr.gen = newgen;
			/* chunks this handle did not write: the newest record's */
			for (uint32_t i = 0; i < nch; i++) {
				bool ours = false;
				for (struct chunk *x = h->chunks; x; x = x->next)
					ours |= x->i == i && x->dirty;
				if (!ours && !(h->r.nchunks == 0 && (uint64_t)i * PF_CHUNK < h->r.size))
					newgen[i] = i < cur.nchunks && i < h->hole_from ? cur.gen[i]
											: 0;
			}
		}
		size_t n;
		uint8_t *v = rec_encode(&nr, &n);
		int c = golite_txn_put(t, h->table, hkey, strlen(hkey), v, n);
		free(v);
		/* chunks the old record named and the new one does not */
		for (uint32_t i = 0; i < cur.nchunks && c == 0; i++) {
			if (cur.gen[i] && (i >= nch || newgen[i] != cur.gen[i])) {
				uint8_t k[PF_CHUNK_KEY];
				chunk_key(k, cur.ino, i, cur.gen[i]);
				c = golite_txn_delete(t, h->table, k, sizeof k);
				if (c == GOLITE_EBATCH)
					c = 0;   /* left over: the store's garbage */
			}
		}
		uint64_t rev;
		if (c == 0)
			c = pf_commit(t, h->table, &rev);
		golite_txn_free(t);
		if (c == 0) {
			size_t vn;
			uint8_t *vb = rec_encode(&nr, &vn);
			rc_wrote(hpath, rev, vb, vn);
			/* the handle now reads what it wrote */
			rec_free(&h->r);
			h->r = nr;
			h->r.version = golite_store_version_after(pf.s, rev, vb, vn);
			free(vb);
			h->r.gen = nr.gen ? xmemdup(nr.gen, nch * sizeof(uint32_t)) : NULL;
			h->r.data = inl ? xmemdup(inl, h->size ? h->size : 1) : NULL;
			h->r.xa = cur.xa ? xmemdup(cur.xa, cur.xalen) : NULL;
			for (struct chunk *x = h->chunks; x; x = x->next)
				x->dirty = false;
			h->dirty = false;
			h->hole_from = UINT32_MAX;   /* the record says it now */
			rec_free(&cur);
			break;
		}
		rec_free(&cur);
		if (c != GOLITE_ECONFLICT || attempt + 1 >= PF_ATTEMPTS) {
			e = err_of(c);
			break;
		}
		golite_store_backoff(attempt);
	}
	free(hkey);
	free(hpath);
	free(inl);
	free(newgen);
	return e;
}

/* ---- inode numbers ---- */

static int alloc_ino(const char *table, uint64_t *ino)
{
	mutex_lock(&pf.mu);
	for (size_t i = 0; i < pf.ninos; i++) {
		struct ino_range *r = &pf.inos[i];
		if (strcmp(r->table, table) == 0 && r->next < r->end) {
			*ino = r->next++;
			mutex_unlock(&pf.mu);
			return 0;
		}
	}
	mutex_unlock(&pf.mu);
	uint64_t first = 0;
	int e = 0;
	for (unsigned attempt = 0;; attempt++) {
		golite_txn *t;
		golite_txn_begin(pf.s, &t);
		void *v = NULL;
		size_t n = 0;
		e = golite_txn_get(t, table, PF_COUNTER_KEY, PF_COUNTER_KEY_LEN, &v, &n, NULL);
		first = 1;
		if (e == 0 && n == 8)
			first = get_le64(v);
		golite_free(v);
		if (e == 0 || e == GOLITE_ENOTFOUND) {
			uint8_t buf[8];
			put_le64(buf, first + PF_INO_BATCH);
			e = golite_txn_put(t, table, PF_COUNTER_KEY, PF_COUNTER_KEY_LEN, buf, 8);
			if (!e)
				e = pf_commit(t, table, NULL);
		}
		golite_txn_free(t);
		if (e != GOLITE_ECONFLICT || attempt + 1 >= PF_ATTEMPTS)
			break;
		golite_store_backoff(attempt);
	}
	if (e)
		return err_of(e);
	mutex_lock(&pf.mu);
	size_t i;
	for (i = 0; i < pf.ninos && strcmp(pf.inos[i].table, table) != 0; i++)
		;
	if (i == pf.ninos) {
		pf.inos = xrealloc(pf.inos, (pf.ninos + 1) * sizeof(*pf.inos));
		pf.inos[pf.ninos++].table = xstrdup(table);
	}
	pf.inos[i].next = first + 1;
	pf.inos[i].end = first + PF_INO_BATCH;
	mutex_unlock(&pf.mu);
	*ino = first;
	return 0;
}

/* n bytes of p and a NUL. */
static char *xmemdup0(const void *p, size_t n)
{
	char *s = xmalloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static int count_one(void *arg, const golite_store_item *it)
{
	(void)it;
	(*(size_t *)arg)++;
	return 0;
}

/* The keys below directory key: [key "/", key "0"), '0' following '/'.
 * *lo and *hi are malloc'd, each strlen(key) + 1 bytes. */
static void subtree(const char *key, char **lo, char **hi)
{
	size_t kl = strlen(key);
	*lo = xmalloc(kl + 1);
	*hi = xmalloc(kl + 1);
	memcpy(*lo, key, kl);
	memcpy(*hi, key, kl);
	(*lo)[kl] = '/';
	(*hi)[kl] = '0';
}

/* Adds to t a scan of what lies below directory key: 0 if nothing does
 * (and the commit checks nothing appears), -ENOTEMPTY, or an error. */
static int expect_empty(golite_txn *t, const char *table, const char *key)
{
	size_t kl = strlen(key), n = 0;
	char *lo, *hi;
	subtree(key, &lo, &hi);
	int e = err_of(golite_txn_scan(t, table, lo, kl + 1, hi, kl + 1, 1, 1, count_one, &n, NULL,
				       NULL));
	free(lo);
	free(hi);
	return e ? e : n ? -ENOTEMPTY : 0;
}

/* Adds to t the deletes of the chunks record r names, as many as the
 * transaction takes (the rest are left over: the store's garbage). */
static void txn_delete_chunks(golite_txn *t, const char *table, const struct rec *r)
{
	for (uint32_t i = 0; i < r->nchunks; i++) {
		if (!r->gen[i])
			continue;
		uint8_t k[PF_CHUNK_KEY];
		chunk_key(k, r->ino, i, r->gen[i]);
		if (golite_txn_delete(t, table, k, sizeof k) == GOLITE_EBATCH)
			break;
	}
}

/* ---- /.golite/stats ---- */

#define STATS_DIR "/.golite"
#define STATS_PATH "/.golite/stats"

/* The figures of this mount, one "name value" a line. */
static char *stats_text(size_t *len)
{
	golite_store_stats st;
	golite_store_stats_get(pf.s, &st);
	size_t open_files = 0;
	mutex_lock(&pf.mu);
	for (struct handle *h = pf.open; h; h = h->next)
		open_files += !h->special;
	bool trusted = pf.trusted;
	mutex_unlock(&pf.mu);
	char *t = xasprintf("fs_pid %d\n"
			    "store_backend %s\n"
			    "store_requests %llu\n"
			    "store_gets %llu\n"
			    "store_scans %llu\n"
			    "store_commits %llu\n"
			    "store_conflicts %llu\n"
			    "cache_hits %llu\n"
			    "cache_misses %llu\n"
			    "cache_trusted %d\n"
			    "open_files %zu\n",
			    (int)getpid(), golite_store_backend(pf.s),
			    (unsigned long long)st.requests, (unsigned long long)st.gets,
			    (unsigned long long)st.scans, (unsigned long long)st.commits,
			    (unsigned long long)st.conflicts,
			    (unsigned long long)pf.cache_hits, (unsigned long long)pf.cache_misses,
			    trusted ? 1 : 0, open_files);
	*len = strlen(t);
	return t;
}

/* ---- the operations ---- */

static int pf_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (fi && fi->fh) {
		struct handle *h = H(fi);
		mutex_lock(&h->mu);
		fill_stat(st, &h->r);
		st->st_size = (off_t)h->size;
		st->st_blocks = (blkcnt_t)((h->size + 511) / 512);
		mutex_unlock(&h->mu);
		return 0;
	}
	if (strcmp(path, STATS_DIR) == 0) {
		dir_stat(st);
		st->st_mode = S_IFDIR | 0555;
		return 0;
	}
	if (strcmp(path, STATS_PATH) == 0) {
		size_t n;
		free(stats_text(&n));
		dir_stat(st);
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)n;
		return 0;
	}
	char table[256];
	const char *key;
	int w = split(path, table, sizeof table, &key);
	if (w < 0)
		return w;
	if (w == 0) {
		dir_stat(st);
		return 0;
	}
	if (w == 1) {
		int e = table_exists(table);
		if (e)
			return err_of(e);
		dir_stat(st);
		return 0;
	}
	struct rec r;
	int e = read_rec(NULL, path, table, key, &r);
	if (e)
		return err_of(e);
	fill_stat(st, &r);
	/* A file open here with writes not yet flushed has the size they give
	 * it (fstat after write reaches here without the handle). */
	mutex_lock(&pf.mu);
	for (struct handle *h = pf.open; h; h = h->next) {
		if (h->special || h->r.ino != r.ino || strcmp(h->table, table) != 0 ||
		    strcmp(h->key, key) != 0)
			continue;
		uint64_t cut = atomic_load(&h->cut);
		st->st_size = (off_t)(cut != UINT64_MAX ? cut
						 : __atomic_load_n(&h->size, __ATOMIC_RELAXED));
		st->st_blocks = (blkcnt_t)(((uint64_t)st->st_size + 511) / 512);
	}
	mutex_unlock(&pf.mu);
	rec_free(&r);
	return 0;
}

struct dir_fill {
	void *buf;
	fuse_fill_dir_t filler;
	size_t plen;
	char *skip_to;       /* a deeper key was met: resume after its subtree */
	size_t skip_len;
};

static int dir_one(void *arg, const golite_store_item *it)
{
	struct dir_fill *d = arg;
	const char *k = (const char *)it->key + d->plen;
	size_t n = it->klen - d->plen;
	const char *slash = memchr(k, '/', n);
	if (slash) {
		/* below a child: skip the child's subtree, "child/" .. "child0" */
		size_t cl = (size_t)(slash - k);
		d->skip_len = d->plen + cl + 1;
		d->skip_to = xmalloc(d->skip_len);
		memcpy(d->skip_to, it->key, d->plen + cl);
		d->skip_to[d->plen + cl] = '0';   /* '/' + 1 */
		return 1;
	}
	char name[NAME_MAX + 1];
	if (n == 0 || n > NAME_MAX)
		return 0;
	memcpy(name, k, n);
	name[n] = '\0';
	d->filler(d->buf, name, NULL, 0, 0);
	return 0;
}

static int pf_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	(void)off, (void)fi, (void)flags;
	char table[256];
	const char *key = "";
	int w = split(path, table, sizeof table, &key);
	if (w < 0)
		return w;
	filler(buf, ".", NULL, 0, 0);
	filler(buf, "..", NULL, 0, 0);
	if (strcmp(path, STATS_DIR) == 0) {
		filler(buf, "stats", NULL, 0, 0);
		return 0;
	}
	if (w == 0) {
		char **names;
		size_t n;
		int e = golite_store_table_list(pf.s, &names, &n);
		if (e)
			return err_of(e);
		for (size_t i = 0; i < n; i++)
			filler(buf, names[i], NULL, 0, 0);
		golite_free(names);
		return 0;
	}
	/* [prefix, prefix's end): "dir/" .. "dir0"; a table: "\x01" .. */
	size_t plen = w == 1 ? 0 : strlen(key) + 1;
	char *start, *end = NULL;
	size_t slen, elen = 0;
	if (w == 1) {
		start = xmemdup("\x01", 1);
		slen = 1;
	} else {
		subtree(key, &start, &end);
		slen = elen = plen;
	}
	int e = 0;
	for (;;) {
		golite_txn *t;
		golite_txn_begin(pf.s, &t);
		struct dir_fill d = { .buf = buf, .filler = filler, .plen = plen };
		void *next = NULL;
		size_t nlen = 0;
		int r = golite_txn_scan(t, table, start, slen, end, elen, 1000, 1, dir_one, &d,
					&next, &nlen);
		golite_txn_free(t);
		if (r < 0) {
			e = err_of(r);
			free(next);
			free(d.skip_to);
			break;
		}
		free(start);
		if (d.skip_to) {
			free(next);
			start = d.skip_to;
			slen = d.skip_len;
			continue;
		}
		start = next;
		slen = nlen;
		if (!next)
			break;
	}
	free(start);
	free(end);
	if (e == 0 && w == 2) {
		/* an empty listing of something that is not a directory */
		struct rec r;
		int g = read_rec(NULL, path, table, key, &r);
		if (g)
			return err_of(g);
		int kind = r.kind;
		rec_free(&r);
		if (kind != PF_DIR)
			return -ENOTDIR;
	}
	return e;
}

/* The parent of key ("a/b/c" -> "a/b"); NULL for an entry at a table's
 * top. */
static char *parent_of(const char *key)
{
	const char *slash = strrchr(key, '/');
	return slash ? xmemdup0(key, (size_t)(slash - key)) : NULL;
}

/* Adds to t the check that key's parent directory exists (as cached, or
 * read now). */
static int expect_parent(golite_txn *t, const char *path, const char *table, const char *key)
{
	char *parent = parent_of(key);
	if (!parent)
		return 0;
	size_t pl = strlen(path) - strlen(key) + strlen(parent);
	char *ppath = xmemdup0(path, pl);
	struct rec r;
	int e = err_of(read_rec(t, ppath, table, parent, &r));
	if (!e && r.kind != PF_DIR)
		e = -ENOTDIR;
	rec_free(&r);
	free(ppath);
	free(parent);
	return e;
}

/* Forgets what is cached of key's parent (a commit that checked it lost). */
static void drop_parent(const char *path, const char *key)
{
	char *parent = parent_of(key);
	if (parent) {
		size_t pl = strlen(path) - strlen(key) + strlen(parent);
		char *ppath = xmemdup0(path, pl);
		rc_drop(ppath);
		free(ppath);
		free(parent);
	}
}

/* Creates the entry of record r at path (absent), retrying on conflicts.
 * -EEXIST if it exists. */
static int create_entry(const char *path, const char *table, const char *key, struct rec *r)
{
	size_t n;
	uint8_t *v = rec_encode(r, &n);
	int e = 0;
	for (unsigned attempt = 0;; attempt++) {
		golite_txn *t;
		golite_txn_begin(pf.s, &t);
		e = expect_parent(t, path, table, key);
		if (!e)
			e = err_of(golite_txn_expect(t, table, key, strlen(key), 0));
		if (!e)
			e = err_of(golite_txn_put(t, table, key, strlen(key), v, n));
		uint64_t rev = 0;
		if (!e)
			e = err_of(pf_commit(t, table, &rev));
		golite_txn_free(t);
		if (e == 0)
			rc_wrote(path, rev, v, n);
		if (e != -EAGAIN || attempt + 1 >= PF_ATTEMPTS)
			break;
		/* lost: is it the name (EEXIST) or the parent (read again)? */
		drop_parent(path, key);
		rc_drop(path);
		struct rec x;
		int g = load(path, table, key, &x);
		if (g == 0) {
			rec_free(&x);
			e = -EEXIST;
			break;
		}
		golite_store_backoff(attempt);
	}
	free(v);
	return e;
}

static int new_rec(struct rec *r, int kind, mode_t mode, const char *table)
{
	memset(r, 0, sizeof(*r));
	struct fuse_context *fc = fuse_get_context();
	r->kind = kind;
	r->mode = (uint32_t)mode;
	r->uid = fc ? fc->uid : 0;
	r->gid = fc ? fc->gid : 0;
	r->mtime = r->ctime = r->atime = now_real_ns();
	return alloc_ino(table, &r->ino);
}

static int pf_mkdir(const char *path, mode_t mode)
{
	char table[256];
	const char *key;
	int w = split(path, table, sizeof table, &key);
	if (w <= 0)
		return w < 0 ? w : -EEXIST;
	if (w == 1)
		return err_of(golite_store_table_create(pf.s, table));
	struct rec r;
	int e = new_rec(&r, PF_DIR, S_IFDIR | (mode & 07777), table);
	if (!e)
		e = create_entry(path, table, key, &r);
	rec_free(&r);
	return e;
}

/* mknod: FIFOs, sockets and devices are records of their own (the kernel
 * opens them: a FIFO's data never reaches the store); a regular file is
 * created as by create. */
static int pf_mknod(const char *path, mode_t mode, dev_t rdev)
{
	char table[256];
	const char *key;
	int w = split(path, table, sizeof table, &key);
	if (w != 2)
		return w < 0 ? w : -EPERM;
	mode_t type = mode & S_IFMT;
	if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK && type != S_IFCHR &&
	    type != S_IFBLK)
		return -EINVAL;
	struct rec r;
	int e = new_rec(&r, type == S_IFREG ? PF_FILE : PF_SPECIAL, type | (mode & 07777), table);
	if (!e) {
		r.rdev = (type == S_IFCHR || type == S_IFBLK) ? (uint64_t)rdev : 0;
		e = create_entry(path, table, key, &r);
	}
	rec_free(&r);
	return e;
}

static int pf_symlink(const char *target, const char *path)
{
	char table[256];
	const char *key;
	int w = split(path, table, sizeof table, &key);
	if (w != 2)
		return w < 0 ? w : -EPERM;
	struct rec r;
	int e = new_rec(&r, PF_LINK, S_IFLNK | 0777, table);
	if (!e) {
		r.size = strlen(target);
		r.data = xmemdup(target, r.size);
		e = create_entry(path, table, key, &r);
	}
	rec_free(&r);
	return e;
}

static int pf_readlink(const char *path, char *buf, size_t size)
{
	char table[256];
	const char *key;
	int w = split(path, table, sizeof table, &key);
	if (w != 2)
		return w < 0 ? w : -EINVAL;
	struct rec r;
	int e = err_of(read_rec(NULL, path, table, key, &r));
	if (e)
		return e;
	if (r.kind != PF_LINK) {
		rec_free(&r);
		return -EINVAL;
	}
	size_t n = MIN(size - 1, (size_t)r.size);
	memcpy(buf, r.data, n);
	buf[n] = '\0';
	rec_free(&r);
	return 0;
}

static struct handle *handle_new(const char *path, const char *table, const char *key,
				 struct rec *r)
{
	struct handle *h = xcalloc(1, sizeof(*h));
	snprintf(h->table, sizeof h->table, "%s", table);
	h->key = xstrdup(key);
	h->path = xstrdup(path);
	mutex_init(&h->mu);
	h->r = *r;
	h->size = r->size;
	h->hole_from = UINT32_MAX;
	atomic_init(&h->cut, UINT64_MAX);
	h->refs = 1;
	mutex_lock(&pf.mu);
	h->next = pf.open;
	if (pf.open)
		pf.open->prev = h;
	pf.open = h;
	h->listed = true;
	mutex_unlock(&pf.mu);
	return h;
}

/* The handle this mount already has open on file r->ino of table, shared
 * by one more open, with r (just read) taken in if it holds no change of
 * its own; NULL if there is none (r is then left to the caller). */
static struct handle *handle_share(const char *table, struct rec *r)
{
	struct handle *h = NULL;
	mutex_lock(&pf.mu);
	for (struct handle *x = pf.open; x; x = x->next) {
		if (!x->special && !x->orphan && x->r.ino == r->ino && strcmp(x->table, table) == 0) {
			h = x;
			h->refs++;
			break;
		}
	}
	mutex_unlock(&pf.mu);
	if (!h)
		return NULL;
	mutex_lock(&h->mu);
	handle_sync_cut(h);
	if (!h->dirty && h->r.version != r->version) {
		/* another mount changed it: this open sees the new contents */
		drop_chunks(h);
		rec_free(&h->r);
		h->r = *r;
		__atomic_store_n(&h->size, r->size, __ATOMIC_RELAXED);
	} else {
		rec_free(r);
	}
	mutex_unlock(&h->mu);
	return h;
}

/* Is file ino of table open through this mount? With orphan, its handles
 * are marked orphans (its name is gone). */
static bool open_here(const char *table, uint64_t ino, bool orphan)
{
	bool found = false;
	mutex_lock(&pf.mu);
	for (struct handle *h = pf.open; h; h = h->next) {
		if (h->r.ino == ino && strcmp(h->table, table) == 0) {
			found = true;
			if (orphan)
				h->orphan = true;
		}
	}
	mutex_unlock(&pf.mu);
	return found;
}

/* A rename here of from_key to to_key in table (a directory: everything
 * below moves too) carries this mount's open handles along. */
static void rename_handles(const char *table, const char *from_key, const char *to_key)
{
	size_t fl = strlen(from_key);
	mutex_lock(&pf.mu);
	for (struct handle *h = pf.open; h; h = h->next) {
		if (strcmp(h->table, table) != 0 || strncmp(h->key, from_key, fl) != 0 ||
		    (h->key[fl] != '\0' && h->key[fl] != '/'))
			continue;
		char *nk = xasprintf("%s%s", to_key, h->key + fl);
		free(h->key);
		h->key = nk;
		free(h->path);
		h->path = xasprintf("/%s/%s", table, nk);
	}
	mutex_unlock(&pf.mu);
}

/* Deletes the chunks record r names (a file no name and no handle of this
 * mount reaches any more), as many transactions as it takes. */
static void delete_chunks(const char *table, const struct rec *r)
{
	golite_txn *t;
	golite_txn_begin(pf.s, &t);
	size_t n = 0;
	for (uint32_t i = 0; i < r->nchunks; i++) {
		if (!r->gen[i])
			continue;
		uint8_t k[PF_CHUNK_KEY];
		chunk_key(k, r->ino, i, r->gen[i]);
		golite_txn_delete(t, table, k, sizeof k);
		if (++n == 100) {   /* under the store's limit of writes */
			pf_commit(t, table, NULL);
			n = 0;
		}
	}
	if (n)
		pf_commit(t, table, NULL);
	golite_txn_free(t);
}

static int pf_open(const char *path, struct fuse_file_info *fi)
{
	if (strcmp(path, STATS_PATH) == 0) {
		if ((fi->flags & O_ACCMODE) != O_RDONLY)
			return -EACCES;
		struct rec r = { .kind = PF_FILE, .mode = S_IFREG | 0444 };
		size_t n;
		r.data = (uint8_t *)stats_text(&n);
		r.size = n;
		struct handle *h = handle_new(path, ".golite", "stats", &r);
		h->special = true;
		fi->fh = (uint64_t)(uintptr_t)h;
		fi->direct_io = 1;   /* the text is made anew at each open */
		return 0;
	}
	char table[256];
	const char *key;
	int w = split(path, table, sizeof table, &key);
	if (w != 2)
		return w < 0 ? w : -EISDIR;
	struct rec r;
	int e = err_of(load(path, table, key, &r));
	if (e)
		return e;
	if (r.kind == PF_DIR) {
		rec_free(&r);
		return -EISDIR;
	}
	struct handle *h = handle_share(table, &r);
	if (!h)
		h = handle_new(path, table, key, &r);
	if (fi->flags & O_TRUNC && h->size) {
		mutex_lock(&h->mu);
		handle_sync_cut(h);
		int t = truncate_handle(h, 0);
		mutex_unlock(&h->mu);
		if (t) {
			handle_put(h);
			return t;
		}
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	return 0;
}

static int pf_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	char table[256];
	const char *key;
	int w = split(path, table, sizeof table, &key);
	if (w != 2)
		return w < 0 ? w : -EPERM;
	struct rec r;
	int e = new_rec(&r, PF_FILE, S_IFREG | (mode & 07777), table);
	if (!e)
		e = create_entry(path, table, key, &r);
	if (e == -EEXIST && !(fi->flags & O_EXCL)) {
		rec_free(&r);
		return pf_open(path, fi);
	}
	if (e) {
		rec_free(&r);
		return e;
	}
	fi->fh = (uint64_t)(uintptr_t)handle_new(path, table, key, &r);
	return 0;
}

static int pf_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = H(fi);
	mutex_lock(&h->mu);
	handle_sync_cut(h);
	size_t done = 0;
	int e = 0;
	while (done < size && (uint64_t)off + done < h->size) {
		uint64_t pos = (uint64_t)off + done;
		uint32_t i = (uint32_t)(pos / PF_CHUNK);
		size_t in = (size_t)(pos % PF_CHUNK);
		size_t n = (size_t)MIN(MIN(size - done, (size_t)PF_CHUNK - in), h->size - pos);
		struct chunk *c;
		e = chunk_get(h, i, &c);
		if (e)
			break;
		memcpy(buf + done, c->data + in, n);
		done += n;
	}
	mutex_unlock(&h->mu);
	return e && done == 0 ? e : (int)done;
}

static int pf_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = H(fi);
	if ((uint64_t)off + size > pf.max_file)
		return -EFBIG;
	mutex_lock(&h->mu);
	handle_sync_cut(h);
	size_t done = 0;
	int e = 0;
	while (done < size) {
		uint64_t pos = (uint64_t)off + done;
		uint32_t i = (uint32_t)(pos / PF_CHUNK);
		size_t in = (size_t)(pos % PF_CHUNK);
		size_t n = MIN(size - done, (size_t)PF_CHUNK - in);
		struct chunk *c;
		e = chunk_get(h, i, &c);
		if (e)
			break;
		memcpy(c->data + in, buf + done, n);
		c->dirty = true;
		done += n;
	}
	if (done) {
		__atomic_store_n(&h->size, MAX(h->size, (uint64_t)off + done), __ATOMIC_RELAXED);
		h->dirty = true;
	}
	mutex_unlock(&h->mu);
	return e && done == 0 ? e : (int)done;
}

static int pf_flush(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	struct handle *h = H(fi);
	mutex_lock(&h->mu);
	handle_sync_cut(h);
	int e = flush_handle(h);
	mutex_unlock(&h->mu);
	return e;
}

static int pf_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	(void)datasync;
	return pf_flush(path, fi);
}

/* One open of h ends: its changes are flushed; the last one frees h (and
 * with it, a file whose name is gone: its chunks). */
static void handle_put(struct handle *h)
{
	mutex_lock(&h->mu);
	handle_sync_cut(h);
	flush_handle(h);
	mutex_unlock(&h->mu);
	mutex_lock(&pf.mu);
	bool last = --h->refs == 0;
	if (last)
		handle_unlist(h);   /* no open may find it from now on */
	mutex_unlock(&pf.mu);
	if (!last)
		return;
	bool orphan = h->orphan;
	struct rec r = h->r;
	char table[256];
	snprintf(table, sizeof table, "%s", h->table);
	h->r.gen = NULL;   /* kept in r, for delete_chunks */
	h->r.data = NULL;
	h->r.xa = NULL;
	handle_free(h);
	/* the last handle of a file whose name was removed: its chunks go */
	if (orphan && !open_here(table, r.ino, false))
		delete_chunks(table, &r);
	rec_free(&r);
}

static int pf_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	handle_put(H(fi));
	return 0;
}

/* Sets size to n in h: chunks past it dropped, the tail of the last one
 * zeroed, so that a later extension reads zeros. */
static int truncate_handle(struct handle *h, uint64_t n)
{
	if (n < h->size && n % PF_CHUNK) {
		struct chunk *c;
		int e = chunk_get(h, (uint32_t)(n / PF_CHUNK), &c);
		if (e)
			return e;
		memset(c->data + n % PF_CHUNK, 0, PF_CHUNK - n % PF_CHUNK);
		c->dirty = true;
	}
	if (n < h->size) {
		/* Every chunk wholly past n is a hole from now on, stored or
		 * cached, until written again: a later growth reads zeros. */
		uint32_t from = (uint32_t)((n + PF_CHUNK - 1) / PF_CHUNK);
		h->hole_from = MIN(h->hole_from, from);
		for (struct chunk *c = h->chunks; c; c = c->next) {
			if (c->i >= from) {
				memset(c->data, 0, PF_CHUNK);
				c->dirty = false;
			}
		}
	}
	__atomic_store_n(&h->size, n, __ATOMIC_RELAXED);
	h->dirty = true;
	return 0;
}

/* Applies a truncate made here through another handle or a path
 * (h->mu held). */
static void handle_sync_cut(struct handle *h)
{
	uint64_t c = atomic_exchange(&h->cut, UINT64_MAX);
	if (c != UINT64_MAX)
		truncate_handle(h, c);
}

/* The other handles of this mount on file ino of table see a truncate to
 * n made through a path or an O_TRUNC open (they apply it themselves, at
 * their next operation, under their own lock: handle_sync_cut). */
static void cut_others(const char *table, uint64_t ino, const struct handle *except, uint64_t n)
{
	mutex_lock(&pf.mu);
	for (struct handle *h = pf.open; h; h = h->next)
		if (h != except && !h->special && h->r.ino == ino && strcmp(h->table, table) == 0)
			atomic_store(&h->cut, n);
	mutex_unlock(&pf.mu);
}

static int pf_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (size < 0)
		return -EINVAL;
	if ((uint64_t)size > pf.max_file)
		return -EFBIG;
	if (fi && fi->fh) {
		struct handle *h = H(fi);
		mutex_lock(&h->mu);
		handle_sync_cut(h);
		int e = truncate_handle(h, (uint64_t)size);
		if (!e)
			e = flush_handle(h);
		mutex_unlock(&h->mu);
		if (!e)
			cut_others(h->table, h->r.ino, h, (uint64_t)size);
		return e;
	}
	struct fuse_file_info tmp = { .flags = O_WRONLY };
	int e = pf_open(path, &tmp);
	if (e)
		return e;
	struct handle *h = H(&tmp);
	mutex_lock(&h->mu);
	handle_sync_cut(h);
	e = truncate_handle(h, (uint64_t)size);
	if (!e)
		e = flush_handle(h);
	mutex_unlock(&h->mu);
	if (!e)
		cut_others(h->table, h->r.ino, h, (uint64_t)size);
	handle_put(h);
	return e;
}

static int update_if(const char *path, void (*fn)(struct rec *r, const void *arg),
		     const void *arg, const int *err);

/*
 * fallocate: the store allocates as it writes, so reserving space is a
 * size change at most (mode 0: the file grows to offset + length, holes
 * read as zeros; FALLOC_FL_KEEP_SIZE: nothing to do). FALLOC_FL_PUNCH_HOLE
 * (with KEEP_SIZE) writes zeros over the range.
 */
static int pf_fallocate(const char *path, int mode, off_t off, off_t len,
			struct fuse_file_info *fi)
{
	(void)path;
	if (off < 0 || len <= 0)
		return -EINVAL;
	if (!fi || !fi->fh)
		return -EBADF;
	struct handle *h = H(fi);
	uint64_t end = (uint64_t)off + (uint64_t)len;
	if (end > pf.max_file)
		return -EFBIG;
	int e = 0;
	mutex_lock(&h->mu);
	handle_sync_cut(h);
	if (mode == 0) {
		if (end > h->size)
			e = truncate_handle(h, end);
	} else if (mode == FALLOC_FL_KEEP_SIZE) {
		/* nothing is reserved ahead: the store takes space as it writes */
	} else if (mode == (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
		for (uint64_t pos = (uint64_t)off; pos < MIN(end, h->size) && !e;) {
			struct chunk *c;
			e = chunk_get(h, (uint32_t)(pos / PF_CHUNK), &c);
			if (e)
				break;
			size_t in = (size_t)(pos % PF_CHUNK);
			size_t n = (size_t)MIN((uint64_t)PF_CHUNK - in, MIN(end, h->size) - pos);
			memset(c->data + in, 0, n);
			c->dirty = true;
			h->dirty = true;
			pos += n;
		}
	} else {
		e = -EOPNOTSUPP;
	}
	mutex_unlock(&h->mu);
	return e;
}

/* Changes a record with fn, as a transaction retried on conflicts. */
static int update(const char *path, void (*fn)(struct rec *r, const void *arg), const void *arg)
{
	return update_if(path, fn, arg, NULL);
}

/* update, where fn may refuse: a non-zero *err after fn is returned and
 * nothing written. */
static int update_if(const char *path, void (*fn)(struct rec *r, const void *arg),
		     const void *arg, const int *err)
{
	char table[256];
	const char *key;
	int w = split(path, table, sizeof table, &key);
	if (w != 2)
		return w < 0 ? w : -EPERM;
	for (unsigned attempt = 0;; attempt++) {
		golite_txn *t;
		golite_txn_begin(pf.s, &t);
		struct rec r;
		int e = err_of(read_rec(t, path, table, key, &r));
		if (!e) {
			fn(&r, arg);
			if (err && *err) {
				rec_free(&r);
				golite_txn_free(t);
				return *err;
			}
			r.ctime = now_real_ns();
			size_t n;
			uint8_t *v = rec_encode(&r, &n);
			e = err_of(golite_txn_put(t, table, key, strlen(key), v, n));
			uint64_t rev = 0;
			if (!e)
				e = err_of(pf_commit(t, table, &rev));
			if (!e)
				rc_wrote(path, rev, v, n);
			else
				rc_drop(path);
			free(v);
		}
		rec_free(&r);
		golite_txn_free(t);
		if (e != -EAGAIN || attempt + 1 >= PF_ATTEMPTS)
			return e;
		golite_store_backoff(attempt);
	}
}

static void set_mode(struct rec *r, const void *arg)
{
	r->mode = (r->mode & S_IFMT) | (*(const mode_t *)arg & 07777);
}

static int pf_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	(void)fi;
	return update(path, set_mode, &mode);
}

struct owner {
	uid_t uid;
	gid_t gid;
};

static void set_owner(struct rec *r, const void *arg)
{
	const struct owner *o = arg;
	if (o->uid != (uid_t)-1)
		r->uid = o->uid;
	if (o->gid != (gid_t)-1)
		r->gid = o->gid;
}

static int pf_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	(void)fi;
	struct owner o = { uid, gid };
	return update(path, set_owner, &o);
}

static void set_times(struct rec *r, const void *arg)
{
	const struct timespec *ts = arg;
	uint64_t now = now_real_ns();
	if (ts[0].tv_nsec == UTIME_NOW)
		r->atime = now;
	else if (ts[0].tv_nsec != UTIME_OMIT)
		r->atime = (uint64_t)ts[0].tv_sec * 1000000000ull + (uint64_t)ts[0].tv_nsec;
	if (ts[1].tv_nsec == UTIME_NOW)
		r->mtime = now;
	else if (ts[1].tv_nsec != UTIME_OMIT)
		r->mtime = (uint64_t)ts[1].tv_sec * 1000000000ull + (uint64_t)ts[1].tv_nsec;
}

static int pf_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi)
{
	(void)fi;
	return update(path, set_times, ts);
}

/* Deletes path's entry (a directory only if empty). */
static int remove_entry(const char *path, bool dir)
{
	char table[256];
	const char *key;
	int w = split(path, table, sizeof table, &key);
	if (w < 0)
		return w;
	if (w == 0)
		return -EBUSY;
	if (w == 1) {
		table_forget(table);
		return dir ? err_of(golite_store_table_drop(pf.s, table, 0)) : -EISDIR;
	}
	for (unsigned attempt = 0;; attempt++) {
		golite_txn *t;
		golite_txn_begin(pf.s, &t);
		struct rec r;
		int e = err_of(read_rec(t, path, table, key, &r));
		if (!e && dir && r.kind != PF_DIR)
			e = -ENOTDIR;
		if (!e && !dir && r.kind == PF_DIR)
			e = -EISDIR;
		if (!e && dir)   /* empty, and nothing made below it before the commit */
			e = expect_empty(t, table, key);
		if (!e)
			e = err_of(golite_txn_delete(t, table, key, strlen(key)));
		/* a file open here lives on for its handles: their last close
		 * deletes its chunks */
		bool keep = !e && r.kind == PF_FILE && open_here(table, r.ino, false);
		if (!e && !keep)
			txn_delete_chunks(t, table, &r);
		uint64_t rev = 0;
		if (!e)
			e = err_of(pf_commit(t, table, &rev));
		rec_free(&r);
		golite_txn_free(t);
		if (e == 0) {
			rc_wrote(path, rev, NULL, 0);
			if (keep)
				open_here(table, r.ino, true);
		} else {
			rc_drop(path);
		}
		if (e != -EAGAIN || attempt + 1 >= PF_ATTEMPTS)
			return e;
		golite_store_backoff(attempt);
	}
}

static int pf_unlink(const char *path)
{
	return remove_entry(path, false);
}

static int pf_rmdir(const char *path)
{
	return remove_entry(path, true);
}

struct moved {
	golite_txn *t;
	const char *table;
	size_t from_len;
	const char *to;
	int e;
};

static int move_one(void *arg, const golite_store_item *it)
{
	struct moved *m = arg;
	size_t tl = strlen(m->to);
	size_t nl = tl + it->klen - m->from_len;
	char *nk = xmalloc(nl);
	memcpy(nk, m->to, tl);
	memcpy(nk + tl, (const char *)it->key + m->from_len, it->klen - m->from_len);
	m->e = golite_txn_put(m->t, m->table, nk, nl, it->value, it->vlen);
	if (!m->e)
		m->e = golite_txn_delete(m->t, m->table, it->key, it->klen);
	free(nk);
	return m->e ? 1 : 0;
}

/* Swaps the names of this mount's open handles of a and b (a rename with
 * RENAME_EXCHANGE). */
static void swap_handles(const char *table, const char *a, const char *b)
{
	mutex_lock(&pf.mu);
	for (struct handle *h = pf.open; h; h = h->next) {
		if (strcmp(h->table, table) != 0)
			continue;
		const char *to = strcmp(h->key, a) == 0 ? b : strcmp(h->key, b) == 0 ? a : NULL;
		if (!to)
			continue;
		free(h->key);
		h->key = xstrdup(to);
		free(h->path);
		h->path = xasprintf("/%s/%s", table, to);
	}
	mutex_unlock(&pf.mu);
}

/* The entries below a directory, read in a transaction (which checks
 * them at commit): keys and values. */
struct below {
	size_t n;
	uint8_t **keys, **vals;
	size_t *klens, *vlens;
};

static int below_one(void *ctx, const golite_store_item *it)
{
	struct below *b = ctx;
	b->keys = xrealloc(b->keys, (b->n + 1) * sizeof(*b->keys));
	b->vals = xrealloc(b->vals, (b->n + 1) * sizeof(*b->vals));
	b->klens = xrealloc(b->klens, (b->n + 1) * sizeof(*b->klens));
	b->vlens = xrealloc(b->vlens, (b->n + 1) * sizeof(*b->vlens));
	b->keys[b->n] = xmemdup(it->key, it->klen);
	b->klens[b->n] = it->klen;
	b->vals[b->n] = xmemdup(it->value ? it->value : "", it->vlen ? it->vlen : 1);
	b->vlens[b->n] = it->vlen;
	b->n++;
	return 0;
}

static void below_free(struct below *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->keys[i]);
		free(b->vals[i]);
	}
	free(b->keys);
	free(b->vals);
	free(b->klens);
	free(b->vlens);
	memset(b, 0, sizeof(*b));
}

/* Reads what lies below directory key into b: 0, -EFBIG if more than a
 * transaction could move, or an error. */
static int below_read(golite_txn *t, const char *table, const char *key, struct below *b)
{
	golite_store_limits lim;
	golite_store_limits_get(pf.s, &lim);
	char *lo, *hi;
	subtree(key, &lo, &hi);
	size_t kl = strlen(key) + 1;
	void *next = NULL;
	size_t nlen;
	int r = golite_txn_scan(t, table, lo, kl, hi, kl, lim.max_txn_writes / 2, 0, below_one, b,
				&next, &nlen);
	free(lo);
	free(hi);
	int e = r < 0 ? err_of(r) : next ? -EFBIG : 0;
	free(next);
	return e;
}

/* Puts entry i of b under m->to (in place of its first m->from_len
 * bytes). */
static int below_put(struct moved *m, const struct below *b, size_t i)
{
	size_t tl = strlen(m->to);
	size_t nl = tl + b->klens[i] - m->from_len;
	char *nk = xmalloc(nl);
	memcpy(nk, m->to, tl);
	memcpy(nk + tl, b->keys[i] + m->from_len, b->klens[i] - m->from_len);
	int e = err_of(golite_txn_put(m->t, m->table, nk, nl, b->vals[i], b->vlens[i]));
	free(nk);
	return e;
}

/* renameat2 with RENAME_EXCHANGE: both names exist and trade places in
 * one transaction. Directories are swapped only when empty here (their
 * entries would have to move in the same transaction): EXDEV otherwise. */
static int exchange(const char *from, const char *to, const char *table, const char *fk,
		    const char *tk)
{
	if (strcmp(fk, tk) == 0)
		return 0;
	for (unsigned attempt = 0;; attempt++) {
		golite_txn *t;
		golite_txn_begin(pf.s, &t);
		struct rec a, b;
		memset(&b, 0, sizeof b);
		int e = err_of(read_rec(t, from, table, fk, &a));
		if (!e)
			e = err_of(read_rec(t, to, table, tk, &b));
		/* what lies below either name trades places too: all the
		 * deletes first, then the puts (a name below both ends up put) */
		struct moved ma = { .t = t, .table = table, .from_len = strlen(fk), .to = tk };
		struct moved mb = { .t = t, .table = table, .from_len = strlen(tk), .to = fk };
		struct below ba = { 0 }, bb = { 0 };
		if (!e && a.kind == PF_DIR)
			e = below_read(t, table, fk, &ba);
		if (!e && b.kind == PF_DIR)
			e = below_read(t, table, tk, &bb);
		for (size_t i = 0; !e && i < ba.n; i++)
			e = err_of(golite_txn_delete(t, table, ba.keys[i], ba.klens[i]));
		for (size_t i = 0; !e && i < bb.n; i++)
			e = err_of(golite_txn_delete(t, table, bb.keys[i], bb.klens[i]));
		for (size_t i = 0; !e && i < ba.n; i++)
			e = below_put(&ma, &ba, i);
		for (size_t i = 0; !e && i < bb.n; i++)
			e = below_put(&mb, &bb, i);
		below_free(&ba);
		below_free(&bb);
		if (e == -EFBIG)
			e = -EXDEV;   /* more than one transaction carries */
		size_t an = 0, bn = 0;
		uint8_t *av = NULL, *bv = NULL;
		if (!e) {
			av = rec_encode(&a, &an);
			bv = rec_encode(&b, &bn);
			e = err_of(golite_txn_put(t, table, tk, strlen(tk), av, an));
		}
		if (!e)
			e = err_of(golite_txn_put(t, table, fk, strlen(fk), bv, bn));
		uint64_t rev = 0;
		if (!e)
			e = err_of(pf_commit(t, table, &rev));
		if (e == 0) {
			rc_wrote(to, rev, av, an);
			rc_wrote(from, rev, bv, bn);
			if (a.kind == PF_DIR || b.kind == PF_DIR)
				rc_forget_all();   /* the paths below moved */
			swap_handles(table, fk, tk);
		} else {
			rc_drop(from);
			rc_drop(to);
		}
		free(av);
		free(bv);
		rec_free(&a);
		rec_free(&b);
		golite_txn_free(t);
		if (e != -EAGAIN || attempt + 1 >= PF_ATTEMPTS)
			return e;
		golite_store_backoff(attempt);
	}
}

static int pf_rename(const char *from, const char *to, unsigned int flags)
{
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	char ft[256], tt[256];
	const char *fk, *tk;
	int fw = split(from, ft, sizeof ft, &fk), tw = split(to, tt, sizeof tt, &tk);
	if (fw < 0 || tw < 0)
		return fw < 0 ? fw : tw;
	if (fw != 2 || tw != 2)
		return -EPERM;   /* tables are not renamed here */
	if (strcmp(ft, tt) != 0)
		return -EXDEV;
	size_t fl = strlen(fk);
	if (strncmp(tk, fk, fl) == 0 && tk[fl] == '/')
		return -EINVAL;   /* into itself */
	if (flags & RENAME_EXCHANGE)
		return exchange(from, to, ft, fk, tk);
	for (unsigned attempt = 0;; attempt++) {
		golite_txn *t;
		golite_txn_begin(pf.s, &t);
		struct rec src, dst;
		memset(&dst, 0, sizeof dst);
		int e = err_of(read_rec(t, from, ft, fk, &src));
		int d = e ? 0 : read_rec(t, to, tt, tk, &dst);
		if (!e && d && d != GOLITE_ENOTFOUND)
			e = err_of(d);
		bool target = !e && d == 0;
		if (!e && target && (flags & RENAME_NOREPLACE))
			e = -EEXIST;
		if (!e && target && src.kind == PF_DIR && dst.kind != PF_DIR)
			e = -ENOTDIR;
		if (!e && target && src.kind != PF_DIR && dst.kind == PF_DIR)
			e = -EISDIR;
		bool same = strcmp(fk, tk) == 0;   /* nothing to do */
		if (!e && !same)
			e = expect_parent(t, to, tt, tk);
		if (!e && !same && target && dst.kind == PF_DIR)   /* must be empty */
			e = expect_empty(t, tt, tk);
		size_t n = 0;
		uint8_t *v = NULL;
		if (!e && !same) {
			v = rec_encode(&src, &n);
			e = err_of(golite_txn_put(t, tt, tk, strlen(tk), v, n));
		}
		if (!e && !same)
			e = err_of(golite_txn_delete(t, ft, fk, fl));
		bool keep_dst = !e && !same && target && dst.kind == PF_FILE &&
				open_here(tt, dst.ino, false);
		if (!e && !same && target && dst.kind == PF_FILE && !keep_dst)
			txn_delete_chunks(t, tt, &dst);
		if (!e && !same && src.kind == PF_DIR) {
			/* everything below moves in the same transaction */
			char *lo, *hi;
			subtree(fk, &lo, &hi);
			char *tprefix = xasprintf("%s", tk);
			struct moved m = { .t = t, .table = ft, .from_len = fl, .to = tprefix };
			golite_store_limits lim;
			golite_store_limits_get(pf.s, &lim);
			void *next = NULL;
			size_t nlen;
			int r = golite_txn_scan(t, ft, lo, fl + 1, hi, fl + 1, lim.max_txn_writes / 2,
						0, move_one, &m, &next, &nlen);
			if (r < 0)
				e = err_of(r);
			else if (m.e == GOLITE_EBATCH || next)
				e = -EXDEV;   /* too big for one transaction */
			else if (m.e)
				e = err_of(m.e);
			free(next);
			free(tprefix);
			free(lo);
			free(hi);
		}
		uint64_t rev = 0;
		if (!e && !same)
			e = err_of(pf_commit(t, tt, &rev));
		if (e == 0 && !same) {
			rc_wrote(from, rev, NULL, 0);
			rc_wrote(to, rev, v, n);
			if (keep_dst)
				open_here(tt, dst.ino, true);
			rename_handles(ft, fk, tk);
			if (src.kind == PF_DIR)
				rc_forget_all();   /* the paths below moved */
		} else if (e) {
			rc_drop(from);
			rc_drop(to);
			drop_parent(to, tk);
		}
		free(v);
		rec_free(&src);
		rec_free(&dst);
		golite_txn_free(t);
		if (e != -EAGAIN || attempt + 1 >= PF_ATTEMPTS)
			return e;
		golite_store_backoff(attempt);
	}
}

/* ---- extended attributes ---- */

/* Namespaces this mount keeps no attributes in: POSIX ACLs (system.*)
 * and security labels, as the engine-backed mount answers. */
static bool xa_refused(const char *name)
{
	return strncmp(name, "system.", 7) == 0 || strcmp(name, "security.selinux") == 0;
}

struct xa_set_arg {
	const char *name;
	const char *value;   /* NULL: remove */
	size_t size;
	int flags;
	int err;
};

static void xa_set_fn(struct rec *r, const void *arg)
{
	struct xa_set_arg *a = (struct xa_set_arg *)arg;
	bool found;
	xa_edit(r, a->name, a->value, a->size, &found);
	if (a->value && found && (a->flags & XATTR_CREATE))
		a->err = -EEXIST;
	else if ((!a->value || (a->flags & XATTR_REPLACE)) && !found)
		a->err = -ENODATA;
}

static int pf_setxattr(const char *path, const char *name, const char *value, size_t size,
		       int flags)
{
	if (xa_refused(name))
		return -EOPNOTSUPP;
	size_t nl = strlen(name);
	if (nl == 0 || nl > 255)
		return -ERANGE;
	if (size > XATTR_SIZE_MAX)
		return -E2BIG;
	struct xa_set_arg a = { .name = name, .value = value ? value : "", .size = size,
				.flags = flags };
	int e = update_if(path, xa_set_fn, &a, &a.err);
	return e == -EFBIG ? -ENOSPC : e;   /* the record would pass the value limit */
}

static int pf_removexattr(const char *path, const char *name)
{
	if (xa_refused(name))
		return -EOPNOTSUPP;
	struct xa_set_arg a = { .name = name };
	return update_if(path, xa_set_fn, &a, &a.err);
}

struct xa_get_arg {
	const char *name;
	char *buf;
	size_t size;
	int result;   /* bytes, or -errno */
};

static int xa_get_one(void *ctx, const char *name, size_t nl, const uint8_t *v, size_t vl)
{
	struct xa_get_arg *a = ctx;
	if (nl != strlen(a->name) || memcmp(name, a->name, nl) != 0)
		return 0;
	if (a->size == 0)
		a->result = (int)vl;
	else if (vl > a->size)
		a->result = -ERANGE;
	else {
		memcpy(a->buf, v, vl);
		a->result = (int)vl;
	}
	return 1;
}

static int xa_list_one(void *ctx, const char *name, size_t nl, const uint8_t *v, size_t vl)
{
	(void)v, (void)vl;
	struct xa_get_arg *a = ctx;
	if (a->result < 0)
		return 1;
	if (a->size && (size_t)a->result + nl + 1 > a->size) {
		a->result = -ERANGE;
		return 1;
	}
	if (a->size) {
		memcpy(a->buf + a->result, name, nl);
		a->buf[a->result + (int)nl] = '\0';
	}
	a->result += (int)nl + 1;
	return 0;
}

/* Reads path's record for an attribute call: 0 or -errno. */
static int xa_rec(const char *path, struct rec *r)
{
	char table[256];
	const char *key;
	int w = split(path, table, sizeof table, &key);
	if (w < 0)
		return w;
	if (w != 2) {
		memset(r, 0, sizeof(*r));   /* the root and tables keep none */
		return 0;
	}
	return err_of(read_rec(NULL, path, table, key, r));
}

static int pf_getxattr(const char *path, const char *name, char *buf, size_t size)
{
	if (xa_refused(name))
		return -EOPNOTSUPP;
	struct rec r;
	int e = xa_rec(path, &r);
	if (e)
		return e;
	struct xa_get_arg a = { .name = name, .buf = buf, .size = size, .result = -ENODATA };
	xa_each(&r, xa_get_one, &a);
	rec_free(&r);
	return a.result;
}

static int pf_listxattr(const char *path, char *buf, size_t size)
{
	struct rec r;
	int e = xa_rec(path, &r);
	if (e)
		return e;
	struct xa_get_arg a = { .buf = buf, .size = size };
	xa_each(&r, xa_list_one, &a);
	rec_free(&r);
	return a.result;
}

static int pf_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	memset(st, 0, sizeof(*st));
	st->f_bsize = st->f_frsize = PF_CHUNK;
	st->f_blocks = st->f_bfree = st->f_bavail = 1ull << 30;
	st->f_files = st->f_ffree = st->f_favail = 1ull << 30;
	st->f_namemax = NAME_MAX;
	return 0;
}

/* ---- the watch: other mounts' changes leave the kernel's caches ---- */

static int on_change(void *arg, const golite_store_event *ev)
{
	uint64_t *last = arg;
	if (!ev->table) {
		/* in place: from now on no change goes unseen */
		mutex_lock(&pf.mu);
		pf.trusted = true;
		mutex_unlock(&pf.mu);
		return pf.stop ? 1 : 0;
	}
	*last = ev->revision;
	if (ev->klen == 0 || ((const uint8_t *)ev->key)[0] == 0)
		return 0;   /* chunks and counters: their record's event follows */
	char *path = xasprintf("/%s/%.*s", ev->table, (int)ev->klen, (const char *)ev->key);
	if (ev->deleted)
		rc_put(path, true, 0, ev->revision, NULL, 0);
	else
		rc_put(path, false, ev->revision, ev->revision, ev->value, ev->vlen);
	fuse_invalidate_path(pf.fuse, path);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	fuse_invalidate_path(pf.fuse, path);
	free(path);
	return pf.stop ? 1 : 0;
}

static void *watch_main(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "golite-watch");
	uint64_t last = 0;
	for (unsigned attempt = 0; !pf.stop; attempt++) {
		int r = golite_store_watch(pf.s, NULL, last ? last + 1 : 0, on_change, &last,
					   &pf.stop);
		/* down: entries age again, and what was trusted is doubted */
		mutex_lock(&pf.mu);
		pf.trusted = false;
		pf.epoch++;
		mutex_unlock(&pf.mu);
		if (pf.stop)
			break;
		if (r == GOLITE_ERANGE)
			last = 0;   /* events lost: the cache timeouts bound the staleness */
		fprintf(stderr, "golitefs: watch: %s; again\n", golite_last_error());
		golite_store_backoff(attempt < 8 ? attempt : 8);
	}
	return NULL;
}

static void *pf_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	/* The kernel keeps no attributes: every stat, and the size check of
	 * every read, asks this daemon, which answers from its cache (kept
	 * current by the watch) at no round trip to the store. So an open,
	 * which reads the record afresh, also gives the kernel the size that
	 * goes with it: close-to-open holds even before the watch tells. */
	cfg->attr_timeout = 0;
	cfg->entry_timeout = pf.timeout;
	cfg->negative_timeout = 0;
	cfg->hard_remove = 1;
	pf.fuse = fuse_get_context()->fuse;
	if (strcmp(golite_store_backend(pf.s), "local") != 0) {
		pf.watching = pthread_create(&pf.watcher, NULL, watch_main, NULL) == 0;
	}
	return NULL;
}

static void pf_destroy(void *data)
{
	(void)data;
	pf.stop = 1;
	if (pf.watching)
		pthread_join(pf.watcher, NULL);
}

static const struct fuse_operations pf_ops = {
	.init = pf_init,
	.destroy = pf_destroy,
	.getattr = pf_getattr,
	.readdir = pf_readdir,
	.mkdir = pf_mkdir,
	.rmdir = pf_rmdir,
	.unlink = pf_unlink,
	.symlink = pf_symlink,
	.mknod = pf_mknod,
	.fallocate = pf_fallocate,
	.readlink = pf_readlink,
	.rename = pf_rename,
	.create = pf_create,
	.open = pf_open,
	.read = pf_read,
	.write = pf_write,
	.flush = pf_flush,
	.fsync = pf_fsync,
	.release = pf_release,
	.truncate = pf_truncate,
	.chmod = pf_chmod,
	.chown = pf_chown,
	.utimens = pf_utimens,
	.statfs = pf_statfs,
	.setxattr = pf_setxattr,
	.getxattr = pf_getxattr,
	.listxattr = pf_listxattr,
	.removexattr = pf_removexattr,
};

int portfs_main(const char *uri, const char *mountpoint, double timeout, bool foreground,
		struct fuse_args *args)
{
	golite_store_options o;
	golite_store_options_init(&o);
	o.create = 1;
	int r = golite_store_open(uri, &o, &pf.s);
	if (r) {
		fprintf(stderr, "golitefs: %s: %s\n", uri, golite_last_error());
		return 1;
	}
	pf.timeout = timeout;
	pf.rcache = xcalloc(RCACHE_SLOTS, sizeof(*pf.rcache));
	golite_store_limits lim;
	golite_store_limits_get(pf.s, &lim);
	/* a record of PF_HEADER bytes and 4 per chunk must fit a value, and
	 * chunk numbers 32 bits */
	pf.max_file = (uint64_t)MIN((lim.max_value - PF_HEADER) / 4, (size_t)UINT32_MAX) * PF_CHUNK;
	/* A local store has no writer but this process: nothing goes unseen. */
	pf.trusted = strcmp(golite_store_backend(pf.s), "local") == 0;
	pf.uid = getuid();
	clock_gettime(CLOCK_REALTIME, &pf.mounted);
	pf.gid = getgid();
	mutex_init(&pf.mu);
	fuse_opt_add_arg(args, "-o");
	fuse_opt_add_arg(args, "default_permissions,fsname=golite-store,subtype=golitefs");
	struct fuse *f = fuse_new(args, &pf_ops, sizeof(pf_ops), NULL);
	int status = 1;
	if (!f) {
		fprintf(stderr, "golitefs: cannot set up the mount\n");
	} else if (fuse_mount(f, mountpoint) != 0) {
		fprintf(stderr, "golitefs: cannot mount at %s\n", mountpoint);
		fuse_destroy(f);
	} else {
		if (fuse_set_signal_handlers(fuse_get_session(f)) == 0) {
			/* Detaching forks, and a fork keeps no thread: the store
			 * (whose engine runs threads of its own) is opened again
			 * in the detached process. It opened above, so that a
			 * store that cannot be opened is said on the terminal. */
			if (!foreground) {
				golite_store_close(pf.s);
				pf.s = NULL;
				if (fuse_daemonize(0) != 0) {
					fprintf(stderr, "golitefs: cannot detach\n");
				} else if ((r = golite_store_open(uri, &o, &pf.s)) != 0) {
					syslog(LOG_ERR, "golitefs: %s: %s", uri, golite_last_error());
					pf.s = NULL;
				}
			}
			if (pf.s) {
				struct fuse_loop_config *lc = fuse_loop_cfg_create();
				fuse_loop_cfg_set_max_threads(lc, 16);
				status = fuse_loop_mt(f, lc) == 0 ? 0 : 1;
				fuse_loop_cfg_destroy(lc);
			}
			fuse_remove_signal_handlers(fuse_get_session(f));
		}
		fuse_unmount(f);
		fuse_destroy(f);
	}
	if (pf.s)
		golite_store_close(pf.s);
	for (size_t i = 0; i < RCACHE_SLOTS; i++)
		rslot_clear(&pf.rcache[i]);
	for (size_t i = 0; i < TCACHE_SLOTS; i++)
		free(pf.tcache[i].name);
	free(pf.rcache);
	for (size_t i = 0; i < pf.ninos; i++)
		free(pf.inos[i].table);
	free(pf.inos);
	return status;
}
