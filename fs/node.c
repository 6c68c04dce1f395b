/*
 * node.c — the nodes the kernel knows (fs.h), the namespace lock, keys and
 * inode numbers.
 *
 * A node is held while the kernel holds a lookup count on it (nlookup) or
 * an operation or list holds a reference (refs); both are counted under
 * nodes_mu. The map finds the node of (table, key, flavor), so that
 * looking an entry up twice gives the kernel the same node id.
 *
 * Node ids. Each node gets a number from a counter (fs->id_next, never
 * reused within a mount; 1 is the root, 2..4 the control nodes) and the
 * table fs->ids maps ids back to nodes: an id the kernel sends is looked up
 * there, never dereferenced. Every id carries the mount's generation
 * (fs->generation, not 0; the root's is 0 as the kernel wants), so a file
 * handle of an earlier mount, whose ids may be given again, does not match.
 *
 * Cold nodes. When nothing holds a node that still names an entry (in the
 * map), it becomes cold: kept in the map and the id table, on a list in
 * use order, at most NODE_COLD_MAX of them. The kernel may still hold a
 * file handle of it (NFS, open_by_handle_at) and, having forgotten the
 * inode, asks by id alone (lookup of "." in it): node_revive gives it back.
 * A name lookup of the entry finds the cold node too, so the entry keeps
 * its id. A cold node is answered from what it caches, like any node
 * (fs.h: the daemon is the only writer; netglue.c unhashes the nodes of
 * keys written by other front ends).
 *
 * Invariants:
 *   1. A node is in exactly one of: held (nlookup or refs), cold (hashed,
 *      on the cold list), retired (on fs->retired). Static nodes are
 *      always held.
 *   2. A node leaves the id table only when it is freed, a grace period
 *      (NODE_GRACE_NS) after it was retired: the kernel may forget a node
 *      while a request about it is still being served (its caller was
 *      killed and the kernel stopped waiting), and that request must still
 *      find valid memory.
 *
 * Inode numbers (st_ino):
 *   - a record written through the mount carries its own, allocated from a
 *     counter in GOLITE_TABLE_FS key "I". The counter is written once per
 *     GFS_INO_RANGE numbers, before any of them is used: the log keeps
 *     writes in order, so after a crash the counter is never behind a
 *     number that some surviving record uses;
 *   - a table's directory is GFS_INO_TABLE | table id (ids are never
 *     reused);
 *   - an entry without an inode of its own (a key written through the API,
 *     an implied directory, a view or a piece) shows a 63-bit hash of
 *     (table, key, flavor) with the top bit set. It becomes a real inode
 *     number when the entry gets a record of its own (first change of its
 *     metadata).
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* ---- the namespace lock ---- */

static __thread int ns_stripe = -1;

void ns_init(struct ns_lock *l)
{
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	/* Writers (directory renames) must not starve behind a stream of
	 * readers; no reader ever takes a second stripe, so this is safe. */
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	for (int i = 0; i < NS_STRIPES; i++)
		if (pthread_rwlock_init(&l->s[i].lk, &attr))
			FATAL("pthread_rwlock_init");
	pthread_rwlockattr_destroy(&attr);
}

void ns_destroy(struct ns_lock *l)
{
	for (int i = 0; i < NS_STRIPES; i++)
		pthread_rwlock_destroy(&l->s[i].lk);
}

void ns_rdlock(struct gfs *fs)
{
	if (unlikely(ns_stripe < 0)) {
		static _Atomic int next;
		ns_stripe = atomic_fetch_add(&next, 1) % NS_STRIPES;
	}
	if (pthread_rwlock_rdlock(&fs->ns.s[ns_stripe].lk))
		FATAL("pthread_rwlock_rdlock");
}

void ns_rdunlock(struct gfs *fs)
{
	pthread_rwlock_unlock(&fs->ns.s[ns_stripe].lk);
}

void ns_wrlock(struct gfs *fs)
{
	for (int i = 0; i < NS_STRIPES; i++)
		if (pthread_rwlock_wrlock(&fs->ns.s[i].lk))
			FATAL("pthread_rwlock_wrlock");
}

void ns_wrunlock(struct gfs *fs)
{
	for (int i = NS_STRIPES - 1; i >= 0; i--)
		pthread_rwlock_unlock(&fs->ns.s[i].lk);
}

/* ---- identity hashing ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

static uint64_t ident_hash(uint32_t table, const uint8_t *key, size_t klen, unsigned flavor)
{
	return mix64(hash64(key, klen) ^ ((uint64_t)table << 8 | flavor));
}

uint64_t hash_ino(uint32_t table, const uint8_t *key, size_t klen, unsigned flavor)
{
	return ident_hash(table, key, klen, flavor) | GFS_INO_HASHED;
}

/* ---- the node map ---- */

static void node_init_locks(struct node *n)
{
	mutex_init(&n->mu);
	if (pthread_rwlock_init(&n->rw, NULL))
		FATAL("pthread_rwlock_init");
}

/* ---- node ids ---- */

/* nodes_mu held. */
static void ids_insert(struct gfs *fs, struct node *n)
{
	if (fs->ids_count + 1 > fs->ids_size) {
		size_t size = fs->ids_size * 2;
		struct node **ids = xcalloc(size, sizeof(*ids));
		for (size_t i = 0; i < fs->ids_size; i++) {
			struct node *m = fs->ids[i];
			while (m) {
				struct node *next = m->idnext;
				m->idnext = ids[mix64(m->id) & (size - 1)];
				ids[mix64(m->id) & (size - 1)] = m;
				m = next;
			}
		}
		free(fs->ids);
		fs->ids = ids;
		fs->ids_size = size;
	}
	struct node **slot = &fs->ids[mix64(n->id) & (fs->ids_size - 1)];
	n->idnext = *slot;
	*slot = n;
	fs->ids_count++;
}

/* nodes_mu held. */
static void ids_remove(struct gfs *fs, struct node *n)
{
	struct node **p = &fs->ids[mix64(n->id) & (fs->ids_size - 1)];
	while (*p != n)
		p = &(*p)->idnext;
	*p = n->idnext;
	n->idnext = NULL;
	fs->ids_count--;
}

/* nodes_mu held. */
static struct node *ids_find(struct gfs *fs, uint64_t id)
{
	struct node *n = fs->ids[mix64(id) & (fs->ids_size - 1)];
	while (n && n->id != id)
		n = n->idnext;
	return n;
}

/* A generation for this mount: not 0, and unlike the last mount's. */
static uint32_t mount_generation(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t t = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	uint64_t x = mix64(t ^ ((uint64_t)getpid() << 32));
	return (uint32_t)x ? (uint32_t)x : 1;
}

void nodes_init(struct gfs *fs)
{
	mutex_init(&fs->nodes_mu);
	fs->map_size = 1024;
	fs->map = xcalloc(fs->map_size, sizeof(*fs->map));
	fs->ids_size = 1024;
	fs->ids = xcalloc(fs->ids_size, sizeof(*fs->ids));
	fs->generation = mount_generation();
	struct node *st[] = { &fs->root, &fs->ctl, &fs->ctl_stats, &fs->ctl_events,
			      &fs->ctl_checkpoint, &fs->ctl_snapshots };
	for (size_t i = 0; i < ARRAY_SIZE(st); i++) {
		node_init_locks(st[i]);
		st[i]->flavor = FL_STATIC;
		st[i]->nlookup = 1;
		st[i]->id = FUSE_ROOT_ID + i;
		ids_insert(fs, st[i]);
	}
	fs->id_next = 16;
}

static void node_free(struct node *n)
{
	pthread_mutex_destroy(&n->mu);
	pthread_rwlock_destroy(&n->rw);
	free(n->key);
	free(n);
}

void nodes_destroy(struct gfs *fs)
{
	nodes_reap(fs, true);
	for (size_t i = 0; i < fs->map_size; i++) {
		struct node *n = fs->map[i];
		while (n) {
			struct node *next = n->hnext;
			node_free(n);
			n = next;
		}
	}
	free(fs->map);
	free(fs->ids);
	pthread_mutex_destroy(&fs->nodes_mu);
}

struct node *node_of(struct gfs *fs, fuse_ino_t nodeid)
{
	if (nodeid == FUSE_ROOT_ID)
		return &fs->root;
	mutex_lock(&fs->nodes_mu);
	struct node *n = ids_find(fs, nodeid);
	mutex_unlock(&fs->nodes_mu);
	return n;
}

fuse_ino_t node_id(struct gfs *fs, struct node *n)
{
	(void)fs;
	return n->id;
}

static bool ident_eq(const struct node *n, uint32_t table, const uint8_t *key, size_t klen,
		     unsigned flavor)
{
	return n->table == table && n->flavor == flavor && n->klen == klen &&
	       memcmp(n->key, key, klen) == 0;
}

/* nodes_mu held. */
static void map_insert(struct gfs *fs, struct node *n)
{
	if (fs->map_count + 1 > fs->map_size) {
		size_t size = fs->map_size * 2;
		struct node **map = xcalloc(size, sizeof(*map));
		for (size_t i = 0; i < fs->map_size; i++) {
			struct node *m = fs->map[i];
			while (m) {
				struct node *next = m->hnext;
				m->hnext = map[m->khash & (size - 1)];
				map[m->khash & (size - 1)] = m;
				m = next;
			}
		}
		free(fs->map);
		fs->map = map;
		fs->map_size = size;
	}
	struct node **slot = &fs->map[n->khash & (fs->map_size - 1)];
	n->hnext = *slot;
	*slot = n;
	n->hashed = true;
	fs->map_count++;
}

/* nodes_mu held. */
static void map_remove(struct gfs *fs, struct node *n)
{
	if (!n->hashed)
		return;
	struct node **p = &fs->map[n->khash & (fs->map_size - 1)];
	while (*p != n)
		p = &(*p)->hnext;
	*p = n->hnext;
	n->hnext = NULL;
	n->hashed = false;
	fs->map_count--;
}

/* nodes_mu held. */
static struct node *map_find(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen,
			     unsigned flavor, uint64_t h)
{
	for (struct node *n = fs->map[h & (fs->map_size - 1)]; n; n = n->hnext)
		if (n->khash == h && ident_eq(n, table, key, klen, flavor))
			return n;
	return NULL;
}

/* nodes_mu held: takes n off the cold list. */
static void cold_unlink(struct gfs *fs, struct node *n)
{
	if (n->cold_prev)
		n->cold_prev->cold_next = n->cold_next;
	else
		fs->cold_head = n->cold_next;
	if (n->cold_next)
		n->cold_next->cold_prev = n->cold_prev;
	else
		fs->cold_tail = n->cold_prev;
	n->cold_prev = n->cold_next = NULL;
	n->cold = false;
	atomic_fetch_sub(&fs->cold_count, 1);
}

/* nodes_mu held: n is held once more (lookup count or reference). */
static void hold(struct gfs *fs, struct node *n, bool lookup)
{
	if (n->cold) {
		cold_unlink(fs, n);
		atomic_fetch_add(&fs->node_count, 1);
	}
	if (lookup)
		n->nlookup++;
	else
		n->refs++;
}

/* nodes_mu held: out of the map and the cold list; freed by nodes_reap
 * NODE_GRACE_NS from now (invariant 2). */
static void retire(struct gfs *fs, struct node *n)
{
	if (n->cold)
		cold_unlink(fs, n);
	else
		atomic_fetch_sub(&fs->node_count, 1);
	map_remove(fs, n);
	n->retired = true;
	n->hnext = fs->retired;
	n->retired_ns = now_ns();
	fs->retired = n;
}

/* nodes_mu held: if nothing holds n any more, makes it cold (it still
 * names an entry) or retires it (invariant 1). */
static void maybe_free(struct gfs *fs, struct node *n)
{
	if (n->flavor == FL_STATIC || n->nlookup || n->refs || n->retired || n->cold)
		return;
	if (!n->hashed) {
		retire(fs, n);
		return;
	}
	n->cold = true;
	n->cold_prev = NULL;
	n->cold_next = fs->cold_head;
	if (fs->cold_head)
		fs->cold_head->cold_prev = n;
	else
		fs->cold_tail = n;
	fs->cold_head = n;
	atomic_fetch_add(&fs->cold_count, 1);
	atomic_fetch_sub(&fs->node_count, 1);
	while (atomic_load(&fs->cold_count) > NODE_COLD_MAX)
		retire(fs, fs->cold_tail);
}

bool node_revive(struct gfs *fs, struct node *n)
{
	if (n->flavor == FL_STATIC)
		return true;
	mutex_lock(&fs->nodes_mu);
	bool alive = n->hashed && !n->retired;
	if (alive)
		hold(fs, n, true);
	mutex_unlock(&fs->nodes_mu);
	return alive;
}

void nodes_reap(struct gfs *fs, bool all)
{
	uint64_t now = now_ns();
	mutex_lock(&fs->nodes_mu);
	struct node **p = &fs->retired, *dead = NULL;
	while (*p) {
		struct node *n = *p;
		if (all || now - n->retired_ns > NODE_GRACE_NS) {
			ids_remove(fs, n);
			*p = n->hnext;
			n->hnext = dead;
			dead = n;
		} else {
			p = &n->hnext;
		}
	}
	mutex_unlock(&fs->nodes_mu);
	while (dead) {
		struct node *next = dead->hnext;
		node_free(dead);
		dead = next;
	}
}

struct node *node_find(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen,
		       unsigned flavor, bool lookup)
{
	uint64_t h = ident_hash(table, key, klen, flavor);
	mutex_lock(&fs->nodes_mu);
	struct node *n = map_find(fs, table, key, klen, flavor, h);
	if (n)
		hold(fs, n, lookup);
	mutex_unlock(&fs->nodes_mu);
	return n;
}

struct node *node_get(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen,
		      unsigned flavor, uint32_t comp_off, unsigned src, const struct nattr *a,
		      bool lookup)
{
	uint64_t h = ident_hash(table, key, klen, flavor);
	mutex_lock(&fs->nodes_mu);
	struct node *n = map_find(fs, table, key, klen, flavor, h);
	if (!n) {
		n = xcalloc(1, sizeof(*n));
		node_init_locks(n);
		n->table = table;
		n->flavor = (uint8_t)flavor;
		n->comp_off = comp_off;
		n->klen = (uint32_t)klen;
		n->key = xmemdup(key, klen ? klen : 1);
		n->khash = h;
		n->src = (uint8_t)src;
		n->a = *a;
		n->id = fs->id_next++;
		map_insert(fs, n);
		ids_insert(fs, n);
		atomic_fetch_add(&fs->node_count, 1);
	}
	hold(fs, n, lookup);
	mutex_unlock(&fs->nodes_mu);
	return n;
}

void node_ref(struct gfs *fs, struct node *n)
{
	mutex_lock(&fs->nodes_mu);
	hold(fs, n, false);
	mutex_unlock(&fs->nodes_mu);
}

void node_unref(struct gfs *fs, struct node *n)
{
	if (!n)
		return;
	mutex_lock(&fs->nodes_mu);
	if (n->refs == 0)
		FATAL("node reference count underflow");
	n->refs--;
	maybe_free(fs, n);
	mutex_unlock(&fs->nodes_mu);
}

void node_forget(struct gfs *fs, struct node *n, uint64_t nlookup)
{
	if (n->flavor == FL_STATIC)
		return;
	mutex_lock(&fs->nodes_mu);
	n->nlookup = nlookup >= n->nlookup ? 0 : n->nlookup - nlookup;
	maybe_free(fs, n);
	mutex_unlock(&fs->nodes_mu);
}

void node_table_gone(struct gfs *fs, uint32_t id)
{
	struct node *n = node_find(fs, id, (const uint8_t *)"", 0, FL_TABLE, false);
	if (!n)
		return;
	mutex_lock(&n->mu);
	n->src = SRC_NONE;
	n->unlinked = true;
	mutex_unlock(&n->mu);
	node_unhash(fs, n);
	node_unref(fs, n);
}

void node_unhash(struct gfs *fs, struct node *n)
{
	if (n->flavor == FL_STATIC)
		return;
	mutex_lock(&fs->nodes_mu);
	map_remove(fs, n);
	maybe_free(fs, n);
	mutex_unlock(&fs->nodes_mu);
}

void node_rekey(struct gfs *fs, struct node *n, uint32_t table, const uint8_t *key,
		size_t klen, unsigned flavor, uint32_t comp_off)
{
	uint64_t h = ident_hash(table, key, klen, flavor);
	uint8_t *copy = xmemdup(key, klen ? klen : 1);
	mutex_lock(&fs->nodes_mu);
	map_remove(fs, n);
	/* A node that still names the new identity is stale (its entry was
	 * replaced): this one takes over. */
	struct node *old = map_find(fs, table, key, klen, flavor, h);
	if (old) {
		map_remove(fs, old);
		maybe_free(fs, old);
	}
	free(n->key);
	n->key = copy;
	n->klen = (uint32_t)klen;
	n->table = table;
	n->flavor = (uint8_t)flavor;
	n->comp_off = comp_off;
	n->khash = h;
	map_insert(fs, n);
	mutex_unlock(&fs->nodes_mu);
}

struct node **nodes_collect_below(struct gfs *fs, uint32_t table, const uint8_t *key,
				  size_t klen, size_t *count)
{
	size_t n = 0, cap = 16;
	struct node **v = xmalloc(cap * sizeof(*v));
	mutex_lock(&fs->nodes_mu);
	for (size_t i = 0; i < fs->map_size; i++) {
		for (struct node *m = fs->map[i]; m; m = m->hnext) {
			bool below = klen == 0 ? m->table == table && m->flavor != FL_TABLE
					       : m->table == table && m->klen > klen &&
							 m->key[klen] == '/' &&
							 memcmp(m->key, key, klen) == 0;
			if (!below)
				continue;
			if (n == cap)
				v = xrealloc(v, (cap *= 2) * sizeof(*v));
			hold(fs, m, false);
			v[n++] = m;
		}
	}
	mutex_unlock(&fs->nodes_mu);
	*count = n;
	return v;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(struct node *const *)a, y = (uintptr_t)*(struct node *const *)b;
	return x < y ? -1 : x > y;
}

/* Sorts v (n entries, NULLs allowed) by address, drops NULLs and
 * duplicates, and returns the new count. */
static int nodes_sort(struct node **v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_ptr);
	int m = 0;
	for (int i = 0; i < n; i++)
		if (v[i] && (m == 0 || v[m - 1] != v[i]))
			v[m++] = v[i];
	for (int i = m; i < n; i++)
		v[i] = NULL;
	return m;
}

void lock_nodes(struct node **v, int n)
{
	int m = nodes_sort(v, n);
	for (int i = 0; i < m; i++)
		mutex_lock(&v[i]->mu);
}

void unlock_nodes(struct node **v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		if (v[i])
			mutex_unlock(&v[i]->mu);
}

/* ---- keys ---- */

void node_key_locked(const struct node *n, struct kbuf *k)
{
	k->table = n->table;
	k->flavor = n->flavor;
	k->comp_off = n->comp_off;
	k->len = n->klen;
	memcpy(k->b, n->key, n->klen);
}

void node_key(struct node *n, struct kbuf *k)
{
	mutex_lock(&n->mu);
	node_key_locked(n, k);
	mutex_unlock(&n->mu);
}

void child_prefix(const struct kbuf *dir, struct kbuf *p)
{
	p->table = dir->table;
	p->flavor = FL_NORMAL;
	p->comp_off = dir->comp_off;
	if (dir->flavor == FL_TABLE) {
		p->len = 0;
		return;
	}
	memcpy(p->b, dir->b, dir->len);
	p->len = dir->len;
	if (dir->flavor != FL_PARTIAL)
		p->b[p->len++] = '/';
}

/* ---- inode numbers ---- */

int ino_load(struct gfs *fs)
{
	mutex_init(&fs->ino_mu);
	uint8_t key = FSKEY_INO_NEXT, v[8];
	unsigned kind;
	size_t vlen;
	int r = golite_get_raw(fs->db, GOLITE_TABLE_FS, &key, 1, &kind, v, sizeof(v), NULL, &vlen);
	if (r == GOLITE_ENOTFOUND) {
		fs->ino_next = fs->ino_limit = GFS_INO_FIRST;
		return 0;
	}
	if (r)
		return r;
	if (vlen != 8)
		return GOLITE_ECORRUPT;
	fs->ino_next = fs->ino_limit = get_le64(v);
	if (fs->ino_next < GFS_INO_FIRST || fs->ino_next >= GFS_INO_TABLE)
		return GOLITE_ECORRUPT;
	return 0;
}

int ino_alloc(struct gfs *fs, uint64_t *ino)
{
	mutex_lock(&fs->ino_mu);
	if (fs->ino_next >= fs->ino_limit) {
		uint64_t limit = fs->ino_next + GFS_INO_RANGE;
		uint8_t key = FSKEY_INO_NEXT, v[8];
		put_le64(v, limit);
		int r = gfs_put_raw(fs, GOLITE_TABLE_FS, GOLITE_KIND_VALUE, &key, 1, v, 8);
		if (r) {
			mutex_unlock(&fs->ino_mu);
			return -gfs_errno(r, "reserve inode numbers");
		}
		fs->ino_limit = limit;
	}
	*ino = fs->ino_next++;
	mutex_unlock(&fs->ino_mu);
	return 0;
}

/* ---- attributes ---- */

bool node_is_dir(const struct node *n)
{
	return S_ISDIR(n->a.mode);
}

void attr_defaults_dir(const struct gfs *fs, struct nattr *a, uint64_t ino)
{
	memset(a, 0, sizeof(*a));
	a->mode = S_IFDIR | 0755;
	a->uid = fs->uid;
	a->gid = fs->gid;
	a->ino = ino;
	a->mtime = a->ctime = a->atime = fs->mount_ns;
}

void attr_defaults_file(const struct gfs *fs, struct nattr *a, uint64_t ino, uint64_t size)
{
	memset(a, 0, sizeof(*a));
	a->mode = S_IFREG | 0644;
	a->uid = fs->uid;
	a->gid = fs->gid;
	a->ino = ino;
	a->size = size;
	a->mtime = a->ctime = a->atime = fs->mount_ns;
}

static void ns_to_ts(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
	if (ts->tv_nsec < 0) {
		ts->tv_nsec += 1000000000;
		ts->tv_sec--;
	}
}

void attr_to_stat(const struct gfs *fs, const struct nattr *a, struct stat *st)
{
	(void)fs;
	memset(st, 0, sizeof(*st));
	st->st_ino = a->ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink ? a->nlink : 1;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_size = (off_t)a->size;
	st->st_rdev = (dev_t)a->rdev;
	st->st_blksize = VFILE_CHUNK;
	st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	ns_to_ts(a->atime, &st->st_atim);
	ns_to_ts(a->mtime, &st->st_mtim);
	ns_to_ts(a->ctime, &st->st_ctim);
}

void node_fill_entry(struct gfs *fs, struct node *n, struct fuse_entry_param *e)
{
	dir_nlink_fill(fs, n);
	node_fill_entry_cached(fs, n, e);
}

void node_fill_entry_cached(struct gfs *fs, struct node *n, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	e->ino = node_id(fs, n);
	if (node_is_ctl(fs, n)) {
		ctl_stat(fs, n, &e->attr);
	} else {
		mutex_lock(&n->mu);
		attr_to_stat(fs, &n->a, &e->attr);
		e->attr.st_ino = snap_ino(n->table, e->attr.st_ino);
		if (n->unlinked)
			e->attr.st_nlink = 0;
		bool uncounted = node_is_dir(n) && n->a.nlink < 2;
		mutex_unlock(&n->mu);
		if (uncounted) {
			e->generation = n == &fs->root ? 0 : fs->generation;
			e->attr_timeout = 0;
			e->entry_timeout = fs->o.entry_timeout;
			return;
		}
	}
	e->generation = n == &fs->root ? 0 : fs->generation;
	e->attr_timeout = node_is_volatile(fs, n) ? 0 : fs->o.attr_timeout;
	e->entry_timeout = fs->o.entry_timeout;
}

