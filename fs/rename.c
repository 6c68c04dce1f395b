/*
 * rename.c — rename(2) and renameat2(2) through the mount.
 *
 * Every rename is one batch, so it is atomic: after a crash either the old
 * names or the new ones exist, never both or neither.
 *   - A file moves by moving its record (a chunked file's chunks are keyed
 *     by inode number and stay where they are; its owner record follows).
 *   - A directory moves by rewriting every key below it ("a/..." becomes
 *     "b/..."), with the namespace lock held exclusive. The cost is
 *     O(keys below it); past GFS_RENAME_MAX_KEYS keys or
 *     GFS_RENAME_MAX_BYTES bytes the rename answers EXDEV, and mv(1)
 *     falls back to copying.
 *   - Across tables, the same, in one batch over both tables.
 *   - At the root, renaming a table directory is golite_table_rename();
 *     replacing an existing, empty table drops it first (two steps).
 *     A directory moved to the root becomes a table (created first, then
 *     the keys move in one batch); a table moved into a table becomes a
 *     directory (the keys move in one batch, then the emptied table is
 *     dropped). A file cannot move to the root (EPERM).
 * Flags: RENAME_NOREPLACE and RENAME_EXCHANGE are supported within
 * tables (EXCHANGE not for tables themselves: EINVAL); other flags are
 * EINVAL.
 */
#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunks.h"
#include "data.h"
#include "dir.h"
#include "hardlink.h"
#include "persist.h"
#include "util.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* ---- tables ---- */

static int rename_tables(struct gfs *fs, const char *from, const char *to, unsigned flags)
{
	if (strcmp(from, CTL_NAME) == 0 || strcmp(to, CTL_NAME) == 0)
		return -EPERM;
	if (flags & RENAME_EXCHANGE) {
		gfs_log(LOG_LVL_INFO, "rename /%s /%s: tables cannot be exchanged", from, to);
		return -EINVAL;
	}
	if (strlen(to) > ESC_NAME_MAX)
		return -ENAMETOOLONG;
	uint32_t id, other;
	if (golite_table_id(fs->db, from, &id))
		return -ENOENT;
	if (strcmp(from, to) == 0)
		return 0;
	if (golite_table_id(fs->db, to, &other) == 0) {
		if (flags & RENAME_NOREPLACE)
			return -EEXIST;
		int r = golite_table_drop(fs->db, to, GOLITE_DROP_IF_EMPTY);
		if (r)
			return -gfs_errno(r, "replace a table");
		node_table_gone(fs, other);
	}
	int r = golite_table_rename(fs->db, from, to);
	if (r == GOLITE_ENAME) {
		gfs_log(LOG_LVL_WARN, "rename /%s /%s: not a valid table name (%s)", from, to,
			golite_last_error());
		return -EINVAL;
	}
	return r ? -gfs_errno(r, "rename a table") : 0;
}

/* ---- moving records ---- */

struct move {
	uint32_t table;
	uint8_t *key;
	size_t klen;
	unsigned kind;
	uint8_t *val;
	size_t vlen;
	uint64_t expires;   /* the record's time to live goes with it */
};

struct moves {
	struct move *v;
	size_t n, cap;
	size_t bytes;
};

static void moves_add(struct moves *m, uint32_t table, const uint8_t *key, size_t klen,
		      unsigned kind, uint8_t *val, size_t vlen, uint64_t expires)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 16;
		m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
	}
	struct move *mv = &m->v[m->n++];
	mv->table = table;
	mv->key = xmemdup(key, klen);
	mv->klen = klen;
	mv->kind = kind;
	mv->val = val;
	mv->vlen = vlen;
	mv->expires = expires;
	m->bytes += klen + vlen + 32;
}

static void moves_free(struct moves *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].val);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/*
 * Collects the keys that start with prefix from (of from's table) as moves
 * to prefix to + the rest of the key (of to's table): deletes of the old
 * keys into b, the new records into m. EXDEV past the limits. A
 * directory's contents are child_prefix(dir); a table's, the empty one.
 */
static int collect_prefix(struct gfs *fs, const struct kbuf *from, const struct kbuf *to,
			  golite_batch *b, struct moves *m)
{
	golite_iter_options o = { .prefix = from->len ? from->b : NULL, .prefix_len = from->len };
	golite_iter *it;
	int r = gfs_iter_new(fs, from->table, &o, &it);
	if (r)
		return -gfs_errno(r, "list a directory to rename");
	uint8_t *nk = xmalloc(GOLITE_MAX_KEY_SIZE + 1);
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen, vlen;
		const uint8_t *k = golite_iter_key(it, &klen);
		const uint8_t *v = golite_iter_value_raw(it, &vlen);
		size_t nlen = to->len + (klen - from->len);
		if (nlen > GOLITE_MAX_KEY_SIZE) {
			r = -ENAMETOOLONG;
			break;
		}
		if (m->n + 1 > GFS_RENAME_MAX_KEYS || m->bytes + klen + vlen > GFS_RENAME_MAX_BYTES) {
			gfs_log(LOG_LVL_INFO, "a directory rename would rewrite more than %u keys "
				"or %u bytes in one batch: EXDEV (mv copies instead)",
				GFS_RENAME_MAX_KEYS, GFS_RENAME_MAX_BYTES);
			r = -EXDEV;
			break;
		}
		int e = golite_batch_delete_raw(b, from->table, k, klen);
		if (e) {
			r = -gfs_errno(e, "rename");
			break;
		}
		uint64_t ino;
		if (hlink_parse(golite_iter_kind(it), v, vlen, &ino)) {
			/* A name of a linked file: its back reference moves
			 * too (the new one is put with the record). */
			r = hlink_backref_delete(b, ino, from->table & GFS_TABLE_MASK, k, klen);
			if (r)
				break;
		}
		memcpy(nk, to->b, to->len);
		memcpy(nk + to->len, k + from->len, klen - from->len);
		moves_add(m, to->table, nk, nlen, golite_iter_kind(it), xmemdup(v, vlen ? vlen : 1),
			  vlen, golite_iter_expires(it));
	}
	if (!r && golite_iter_status(it))
		r = -gfs_errno(golite_iter_status(it), "list a directory to rename");
	golite_iter_free(it);
	free(nk);
	return r;
}

/* Collects the keys below directory from (its contents) as moves below
 * directory to. */
static int collect_below(struct gfs *fs, const struct kbuf *from, const struct kbuf *to,
			 golite_batch *b, struct moves *m)
{
	struct kbuf *fp = xmalloc(sizeof(*fp)), *tp = xmalloc(sizeof(*tp));
	struct kbuf fd = *from, td = *to;
	fd.flavor = td.flavor = FL_NORMAL;
	child_prefix(&fd, fp);
	child_prefix(&td, tp);
	int r = collect_prefix(fs, fp, tp, b, m);
	free(fp);
	free(tp);
	return r;
}

/* Adds the puts of m to b, with the owner records of chunked files and
 * the back references of names of linked files. */
static int moves_apply(struct gfs *fs, golite_batch *b, const struct moves *m)
{
	for (size_t i = 0; i < m->n; i++) {
		const struct move *mv = &m->v[i];
		int e = golite_batch_put_raw_ex(b, mv->table, mv->kind, mv->key, mv->klen, mv->val,
						mv->vlen, mv->expires);
		if (e)
			return -gfs_errno(e, "rename");
		/* Directories implied by moved keys are implied at their new
		 * names too (implied.c, invariant 1). */
		if (memchr(mv->key, '/', mv->klen))
			implied_add_key(fs, mv->table, mv->key, mv->klen);
		if (mv->kind != GOLITE_KIND_META)
			continue;
		uint64_t ino;
		if (hlink_parse(mv->kind, mv->val, mv->vlen, &ino)) {
			int r = hlink_backref_put(b, ino, mv->table, mv->key, mv->klen);
			if (r)
				return r;
			continue;
		}
		struct vfile f;
		if (vfile_decode(mv->val, mv->vlen, &f) == 0 && f.type == VFILE_REG &&
		    (f.flags & VFILE_F_CHUNKED)) {
			int r = owner_put(b, f.ino, mv->table, mv->key, mv->klen);
			if (r)
				return r;
		}
	}
	return 0;
}

/*
 * Adds the move of entry s (whose node, if any, is sn) to key t: its own
 * record, and for a directory every key below it. mu of sn held.
 */
static int collect_entry(struct gfs *fs, const struct entry *s, struct node *sn,
			 const struct kbuf *t, golite_batch *b, struct moves *m, int64_t now)
{
	bool dir = S_ISDIR(s->a.mode);
	if (s->link) {
		/* A name of a linked file: the name's record moves (its back
		 * reference with it, moves_apply); the file's ctime changes in
		 * its shared record. */
		struct rec rec;
		int r = rec_get(fs, s->k.table, s->k.b, s->k.len, &rec);
		int e = r ? 0 : golite_batch_delete_raw(b, s->k.table, s->k.b, s->k.len);
		if (!r && e)
			r = -gfs_errno(e, "rename");
		if (!r)
			r = hlink_backref_delete(b, s->link, s->k.table, s->k.b, s->k.len);
		if (!r)
			moves_add(m, t->table, t->b, t->len, rec.kind,
				  xmemdup(rec.data, rec.len ? rec.len : 1), rec.len, rec.expires);
		rec_free(&rec);
		if (r || !sn)
			return r;
		struct kbuf *sk = xmalloc(sizeof(*sk));
		node_key_locked(sn, sk);
		struct vrec v;
		r = node_load_vrec_locked(fs, sn, sk, &v);
		if (!r) {
			v.f.ctime_ns = now;
			size_t len;
			uint8_t *buf = vrec_encode(&v, &len);
			moves_add(m, sk->table, sk->b, sk->len, GOLITE_KIND_META, buf, len, v.expires);
			vrec_free(&v);
		}
		free(sk);
		return r;
	}
	if (s->k.flavor == FL_NORMAL && (s->src == SRC_META || s->src == SRC_VALUE)) {
		int e = golite_batch_delete_raw(b, s->k.table, s->k.b, s->k.len);
		if (e)
			return -gfs_errno(e, "rename");
		if (sn && sn->src == SRC_META) {
			struct vrec v;
			int r = node_load_vrec_locked(fs, sn, &s->k, &v);
			if (r)
				return r;
			v.f.ctime_ns = now;
			size_t len;
			uint8_t *buf = vrec_encode(&v, &len);
			uint64_t expires = v.expires;
			vrec_free(&v);
			moves_add(m, t->table, t->b, t->len, GOLITE_KIND_META, buf, len, expires);
		} else {
			struct rec rec;
			int r = rec_get(fs, s->k.table, s->k.b, s->k.len, &rec);
			if (r) {
				rec_free(&rec);
				return r;
			}
			moves_add(m, t->table, t->b, t->len, rec.kind,
				  xmemdup(rec.data, rec.len ? rec.len : 1), rec.len, rec.expires);
			rec_free(&rec);
		}
	}
	if (dir)
		return collect_below(fs, &s->k, t, b, m);
	return 0;
}

/*
 * The target t is replaced: adds what frees it to b. For a file that is
 * still open, its bytes stay (moved to chunks if inline) until the last
 * close; *ino and *chunked say where.
 */
static int replace_target(struct gfs *fs, const struct entry *t, struct node *tn,
			  golite_batch *b, int64_t now, uint64_t *ino, bool *chunked,
			  uint32_t *left, struct vrec *tv)
{
	int e = golite_batch_delete_raw(b, t->k.table, t->k.b, t->k.len);
	if (e)
		return -gfs_errno(e, "rename");
	*ino = t->a.ino;
	*chunked = t->a.chunked;
	*left = 0;
	if (tn && node_is_shared(tn))
		return hlink_drop_name(fs, b, tn, &t->k, now, left, ino, chunked, tv);
	if (S_ISDIR(t->a.mode))
		return 0;
	return chunks_release_name(fs, b, &t->k, t->a.mode, tn && tn->opens > 0, ino, chunked);
}

/* Adds to b a directory record at k, with the attributes of a (a
 * directory that had none of its own) and a new inode number. */
static int dir_record_put(struct gfs *fs, golite_batch *b, const struct kbuf *k,
			  const struct nattr *a, int64_t now, struct nattr *out)
{
	struct nattr d = *a;
	int r = ino_alloc(fs, &d.ino);
	if (r)
		return r;
	d.ctime = now;
	struct vrec v;
	vrec_from_attr(&v, &d);
	r = vrec_put(fs, b, k->table, k->b, k->len, &v);
	vrec_to_attr(&v, out);
	vrec_free(&v);
	return r;
}

/* Loads an entry's state: from its node if the kernel has one, else from
 * the store. Returns the node with a reference, or NULL. */
static struct node *entry_state(struct gfs *fs, struct entry *e, int *r)
{
	struct node *n = node_find(fs, e->k.table, e->k.b, e->k.len, e->k.flavor, false);
	*r = 0;
	if (n) {
		mutex_lock(&n->mu);
		e->src = n->src;
		e->a = n->a;
		mutex_unlock(&n->mu);
		return n;
	}
	*r = entry_load(fs, e);
	if (*r || !e->link)
		return NULL;
	/* A name of a linked file: the file's node, held and locked while
	 * its names change (hardlink.c, invariant 2). */
	*r = hlink_node(fs, e->link, 0, false, &n);
	return n;
}

struct rekey_plan {
	struct node **below;
	size_t nbelow;
	struct kbuf *from, *to;
};

/* Gives the nodes below from the keys below to. */
static void rekey_below(struct gfs *fs, struct rekey_plan *p)
{
	if (!p->nbelow)
		return;
	int64_t delta = (int64_t)p->to->len - (int64_t)p->from->len;
	uint8_t *nk = xmalloc(GOLITE_MAX_KEY_SIZE + ESC_NAME_MAX + 1);
	for (size_t i = 0; i < p->nbelow; i++) {
		struct node *n = p->below[i];
		size_t nlen = p->to->len + (n->klen - p->from->len);
		memcpy(nk, p->to->b, p->to->len);
		memcpy(nk + p->to->len, n->key + p->from->len, n->klen - p->from->len);
		uint32_t comp_off = n->flavor == FL_PARTIAL ? (uint32_t)((int64_t)n->comp_off + delta)
							    : 0;
		node_rekey(fs, n, p->to->table, nk, nlen, n->flavor, comp_off);
	}
	free(nk);
}

static void plan_free(struct gfs *fs, struct rekey_plan *p)
{
	for (size_t i = 0; i < p->nbelow; i++)
		node_unref(fs, p->below[i]);
	free(p->below);
	p->below = NULL;
	p->nbelow = 0;
}

static int do_rename_entries(struct gfs *fs, struct node *sdir, const char *name,
			     struct node *tdir, const char *newname, unsigned flags, bool excl,
			     bool *need_excl)
{
	struct entry *s = xcalloc(1, sizeof(*s)), *t = xcalloc(1, sizeof(*t));
	struct node *sn = NULL, *tn = NULL;
	struct moves m = { 0 };
	struct rekey_plan ps = { 0 }, pt = { 0 };
	bool exchange = flags & RENAME_EXCHANGE;
	int r = resolve_child(fs, sdir, name, false, s);
	if (!r)
		r = resolve_child(fs, tdir, newname, !exchange, t);
	if (r)
		goto out;
	if (s->k.flavor == FL_PARTIAL || t->k.flavor == FL_PARTIAL ||
	    (exchange && (t->k.flavor != FL_NORMAL || s->k.flavor != FL_NORMAL))) {
		r = -EINVAL;
		goto out;
	}
	sn = entry_state(fs, s, &r);
	if (!r)
		tn = entry_state(fs, t, &r);
	if (r)
		goto out;
	if (s->src == SRC_NONE || (exchange && t->src == SRC_NONE)) {
		r = -ENOENT;
		goto out;
	}
	if (s->k.table == t->k.table && s->k.len == t->k.len && s->k.flavor == t->k.flavor &&
	    memcmp(s->k.b, t->k.b, s->k.len) == 0)
		goto out;  /* the same entry: nothing to do */
	if (s->link && s->link == t->link)
		goto out;  /* two names of one file: POSIX leaves both */
	bool sdirp = S_ISDIR(s->a.mode), tdirp = t->src != SRC_NONE && S_ISDIR(t->a.mode);
	bool texists = t->src != SRC_NONE;
	if (!exchange && texists) {
		if (flags & RENAME_NOREPLACE) {
			r = -EEXIST;
			goto out;
		}
		if (sdirp && !tdirp) {
			r = -ENOTDIR;
			goto out;
		}
		if (!sdirp && tdirp) {
			r = -EISDIR;
			goto out;
		}
		if (tdirp) {
			bool yes = t->src != SRC_META;
			if (!yes) {
				t->k.b[t->k.len] = '/';
				r = has_children(fs, t->k.table, t->k.b, t->k.len + 1, &yes);
				if (r)
					goto out;
			}
			if (yes) {
				r = -ENOTEMPTY;
				goto out;
			}
		}
	}
	if ((sdirp || (exchange && tdirp)) && !excl) {
		*need_excl = true;
		goto out;
	}

	struct node *locked[4] = { sdir, tdir, sn, tn };
	lock_nodes(locked, 4);
	int64_t now = wall_ns();
	golite_batch *b = gfs_batch();
	/* Directories first: giving the source directory a record (so it
	 * stays when emptied) is a write of its own. */
	r = dir_touch_locked(fs, sdir, b, true, now);
	if (!r && tdir != sdir)
		r = dir_touch_locked(fs, tdir, gfs_batch_current(), false, now);
	b = gfs_batch_current();
	uint64_t tino = 0;
	bool tchunked = false;
	uint32_t tleft = 0;
	struct vrec tv = { 0 };
	if (!r && exchange) {
		r = collect_entry(fs, s, sn, &t->k, b, &m, now);
		if (!r)
			r = collect_entry(fs, t, tn, &s->k, b, &m, now);
	} else if (!r) {
		if (texists)
			r = replace_target(fs, t, tn, b, now, &tino, &tchunked, &tleft, &tv);
		if (!r)
			r = collect_entry(fs, s, sn, &t->k, b, &m, now);
	}
	if (!r)
		r = moves_apply(fs, b, &m);
	/* A directory without a record of its own (implied by its keys, or a
	 * view) gets one at its new name: no directory becomes implied while
	 * mounted (implied.c relies on it). */
	struct nattr sa_new, ta_new;
	bool s_made = false, t_made = false;
	if (!r && sdirp && s->src != SRC_META) {
		r = dir_record_put(fs, b, &t->k, &s->a, now, &sa_new);
		s_made = !r;
	}
	if (!r && exchange && tdirp && t->src != SRC_META) {
		r = dir_record_put(fs, b, &s->k, &t->a, now, &ta_new);
		t_made = !r;
	}
	if (!r && sdirp) {
		ps.below = nodes_collect_below(fs, s->k.table, s->k.b, s->k.len, &ps.nbelow);
		ps.from = &s->k;
		ps.to = &t->k;
	}
	if (!r && exchange && tdirp) {
		pt.below = nodes_collect_below(fs, t->k.table, t->k.b, t->k.len, &pt.nbelow);
		pt.from = &t->k;
		pt.to = &s->k;
	}
	if (!r)
		r = gfs_write_batch(fs, b, "rename");
	if (!r) {
		if (sdir->src == SRC_META || sdir->src == SRC_TABLE)
			sdir->a.mtime = sdir->a.ctime = now;
		if (tdir->src == SRC_META || tdir->src == SRC_TABLE)
			tdir->a.mtime = tdir->a.ctime = now;
		/* Subdirectories leaving and arriving. */
		int sd = 0, td = 0;
		if (exchange) {
			sd = (int)tdirp - (int)sdirp;
			td = -sd;
		} else {
			sd = -(int)sdirp;
			td = (int)sdirp - (int)(texists && tdirp);
		}
		if (sdir == tdir) {
			dir_nlink_adjust(sdir, sd + td);
		} else {
			dir_nlink_adjust(sdir, sd);
			dir_nlink_adjust(tdir, td);
		}
		if (!exchange && tn && tleft) {
			hlink_drop_commit(fs, tn, tleft, &tv);
		} else if (!exchange && tn) {
			node_name_gone_locked(fs, tn, tino, tchunked);
		}
		if (!exchange && texists)
			atomic_fetch_sub(&fs->files, 1);
		rekey_below(fs, &ps);
		rekey_below(fs, &pt);
		if (sn) {
			if (sn->src == SRC_META)
				sn->a.ctime = now;
			if (s_made) {
				sn->src = SRC_META;
				sn->a = sa_new;
			}
			if (!s->link)
				node_rekey(fs, sn, t->k.table, t->k.b, t->k.len, FL_NORMAL, 0);
		}
		if (exchange && tn) {
			if (tn->src == SRC_META)
				tn->a.ctime = now;
			if (t_made) {
				tn->src = SRC_META;
				tn->a = ta_new;
			}
			if (!t->link)
				node_rekey(fs, tn, s->k.table, s->k.b, s->k.len, FL_NORMAL, 0);
		}
	}
	unlock_nodes(locked, 4);
	if (!r && !exchange && s->k.flavor == FL_NORMAL && !sdirp) {
		/* The directory view of the old name is no longer one. */
		struct node *view = node_find(fs, s->k.table, s->k.b, s->k.len, FL_VIEW, false);
		if (view) {
			node_unhash(fs, view);
			node_unref(fs, view);
		}
	}
	vrec_free(&tv);
out:
	plan_free(fs, &ps);
	plan_free(fs, &pt);
	moves_free(&m);
	node_unref(fs, sn);
	node_unref(fs, tn);
	free(s);
	free(t);
	return r;
}

/* ---- between the root and a table ---- */

/* The record of table id's directory ("T" + id) holding a: into b. */
static int table_record_put(struct gfs *fs, golite_batch *b, uint32_t id, const struct nattr *a)
{
	uint8_t key[5];
	table_fskey(id, key);
	struct vrec v;
	vrec_from_attr(&v, a);
	int r = vrec_put(fs, b, GOLITE_TABLE_FS, key, sizeof(key), &v);
	vrec_free(&v);
	return r;
}

/*
 * A directory of a table renamed to the root becomes table newname: its
 * keys move to the new table (the directory's prefix cut off), its
 * attributes become the table's. The table is created first, then one
 * batch moves the keys; a crash between leaves an empty table. ns held
 * exclusive.
 */
static int dir_to_table(struct gfs *fs, struct node *sdir, const char *name, const char *newname,
			unsigned flags)
{
	struct entry *s = xcalloc(1, sizeof(*s));
	struct kbuf *from = xmalloc(sizeof(*from)), *to = xmalloc(sizeof(*to));
	struct moves m = { 0 };
	struct rekey_plan p = { 0 };
	struct node *sn = NULL;
	bool created = false;
	uint32_t id = 0;
	int r = resolve_child(fs, sdir, name, false, s);
	if (!r && s->k.flavor == FL_PARTIAL)
		r = -EINVAL;
	if (!r)
		sn = entry_state(fs, s, &r);
	if (!r && s->src == SRC_NONE)
		r = -ENOENT;
	if (!r && !S_ISDIR(s->a.mode)) {
		gfs_log(LOG_LVL_WARN, "rename to /%s: the root holds only tables (directories)",
			newname);
		r = -EPERM;
	}
	if (r)
		goto out;
	uint32_t old;
	if (golite_table_id(fs->db, newname, &old) == 0) {
		if (flags & RENAME_NOREPLACE) {
			r = -EEXIST;
			goto out;
		}
		/* Replaced only when empty, as a directory would be. */
		r = golite_table_drop(fs->db, newname, GOLITE_DROP_IF_EMPTY);
		if (r) {
			r = r == GOLITE_ENOTEMPTY ? -ENOTEMPTY : -gfs_errno(r, "replace a table");
			goto out;
		}
		node_table_gone(fs, old);
	}
	r = golite_table_create(fs->db, newname);
	if (r == GOLITE_ENAME)
		r = -EINVAL;
	else if (r)
		r = -gfs_errno(r, "create a table");
	if (!r)
		r = golite_table_id(fs->db, newname, &id) ? -EIO : 0;
	if (r)
		goto out;
	created = true;
	struct node *locked[2] = { sdir, sn };
	lock_nodes(locked, 2);
	int64_t now = wall_ns();
	golite_batch *b = gfs_batch();
	r = dir_touch_locked(fs, sdir, b, true, now);
	b = gfs_batch_current();
	struct kbuf sd = s->k;
	sd.flavor = FL_NORMAL;
	child_prefix(&sd, from);
	to->table = id;
	to->flavor = FL_NORMAL;
	to->comp_off = 0;
	to->len = 0;
	if (!r && s->src == SRC_META) {
		int e = golite_batch_delete_raw(b, s->k.table, s->k.b, s->k.len);
		r = e ? -gfs_errno(e, "rename") : 0;
	}
	if (!r)
		r = collect_prefix(fs, from, to, b, &m);
	if (!r)
		r = moves_apply(fs, b, &m);
	struct nattr ta = s->a;
	ta.ino = GFS_INO_TABLE | id;
	ta.ctime = now;
	if (!r)
		r = table_record_put(fs, b, id, &ta);
	if (!r) {
		p.below = nodes_collect_below(fs, s->k.table, s->k.b, s->k.len, &p.nbelow);
		p.from = from;
		p.to = to;
		r = gfs_write_batch(fs, b, "rename a directory to a table");
	}
	if (!r) {
		dir_touch_commit(sdir, now);
		dir_nlink_adjust(sdir, -1);
		rekey_below(fs, &p);
		if (sn) {
			sn->src = SRC_TABLE;
			sn->a = ta;
			sn->a.nlink = 0;
			node_rekey(fs, sn, id, (const uint8_t *)"", 0, FL_TABLE, 0);
		}
		created = false;
	}
	unlock_nodes(locked, 2);
out:
	if (created && golite_table_drop(fs->db, newname, GOLITE_DROP_IF_EMPTY))
		gfs_log(LOG_LVL_WARN, "rename to /%s failed and left the table it made", newname);
	plan_free(fs, &p);
	moves_free(&m);
	node_unref(fs, sn);
	free(from);
	free(to);
	free(s);
	return r;
}

/*
 * Table name renamed into directory tdir as newname: its keys move below
 * the new directory, whose record takes the table's attributes, and the
 * emptied table is dropped after the batch (a crash between leaves it,
 * empty). ns held exclusive.
 */
static int table_to_dir(struct gfs *fs, const char *name, struct node *tdir, const char *newname,
			unsigned flags)
{
	struct entry *t = xcalloc(1, sizeof(*t));
	struct kbuf *from = xmalloc(sizeof(*from)), *to = xmalloc(sizeof(*to));
	struct moves m = { 0 };
	struct rekey_plan p = { 0 };
	struct node *tn = NULL, *sn = NULL;
	uint32_t id;
	int r = strcmp(name, CTL_NAME) == 0 ? -EPERM : 0;
	if (!r)
		r = golite_table_id(fs->db, name, &id) ? -ENOENT : 0;
	if (!r)
		r = resolve_child(fs, tdir, newname, true, t);
	if (!r && t->k.table == id)
		r = -EINVAL;   /* into itself */
	if (!r)
		tn = entry_state(fs, t, &r);
	if (r)
		goto out;
	if (t->src != SRC_NONE) {
		bool yes = t->src != SRC_META;
		if (flags & RENAME_NOREPLACE)
			r = -EEXIST;
		else if (!S_ISDIR(t->a.mode))
			r = -ENOTDIR;
		else if (!yes) {
			t->k.b[t->k.len] = '/';
			r = has_children(fs, t->k.table, t->k.b, t->k.len + 1, &yes);
		}
		if (!r && yes)
			r = -ENOTEMPTY;
		if (r)
			goto out;
	}
	sn = table_node(fs, id, false);
	struct node *locked[3] = { tdir, tn, sn };
	lock_nodes(locked, 3);
	int64_t now = wall_ns();
	golite_batch *b = gfs_batch();
	r = dir_touch_locked(fs, tdir, b, false, now);
	from->table = id;
	from->flavor = FL_NORMAL;
	from->comp_off = 0;
	from->len = 0;
	struct kbuf td = t->k;
	td.flavor = FL_NORMAL;
	child_prefix(&td, to);
	if (!r && t->src == SRC_META) {
		int e = golite_batch_delete_raw(b, t->k.table, t->k.b, t->k.len);
		r = e ? -gfs_errno(e, "rename") : 0;
	}
	if (!r)
		r = collect_prefix(fs, from, to, b, &m);
	if (!r)
		r = moves_apply(fs, b, &m);
	uint8_t tkey[5];
	table_fskey(id, tkey);
	if (!r) {
		int e = golite_batch_delete_raw(b, GOLITE_TABLE_FS, tkey, sizeof(tkey));
		r = e ? -gfs_errno(e, "rename") : 0;
	}
	struct nattr da, sa = sn->a;
	if (!r)
		r = dir_record_put(fs, b, &t->k, &sa, now, &da);
	if (!r) {
		p.below = nodes_collect_below(fs, id, (const uint8_t *)"", 0, &p.nbelow);
		p.from = from;
		p.to = to;
		r = gfs_write_batch(fs, b, "rename a table to a directory");
	}
	if (!r) {
		dir_touch_commit(tdir, now);
		dir_nlink_adjust(tdir, t->src == SRC_NONE ? +1 : 0);
		if (tn && t->src != SRC_NONE) {
			tn->src = SRC_NONE;
			tn->unlinked = true;
			node_unhash(fs, tn);
		}
		rekey_below(fs, &p);
		sn->src = SRC_META;
		sn->a = da;
		node_rekey(fs, sn, t->k.table, t->k.b, t->k.len, FL_NORMAL, 0);
	}
	unlock_nodes(locked, 3);
	if (!r && golite_table_drop(fs->db, name, GOLITE_DROP_IF_EMPTY))
		gfs_log(LOG_LVL_WARN, "rename /%s: its keys moved, the emptied table stays (%s)", name,
			golite_last_error());
out:
	plan_free(fs, &p);
	moves_free(&m);
	node_unref(fs, tn);
	node_unref(fs, sn);
	free(from);
	free(to);
	free(t);
	return r;
}

static int do_rename(struct gfs *fs, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		     const char *newname, unsigned flags)
{
	struct node *sdir = node_of(fs, parent), *tdir = node_of(fs, newparent);
	if (!sdir || !tdir)
		return -ESTALE;
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE)) {
		gfs_log(LOG_LVL_INFO, "rename %s: flags %#x are not supported", name, flags);
		return -EINVAL;
	}
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if (fs->o.read_only || node_frozen(sdir) || node_frozen(tdir))
		return -EROFS;
	if (node_is_ctl(fs, sdir) || node_is_ctl(fs, tdir))
		return -EPERM;
	if (sdir == &fs->root && tdir == &fs->root)
		return rename_tables(fs, name, newname, flags);
	if (sdir == &fs->root || tdir == &fs->root) {
		/* A directory becomes a table, or a table a directory. */
		if (flags & RENAME_EXCHANGE)
			return -EINVAL;
		if (strlen(newname) > ESC_NAME_MAX)
			return -ENAMETOOLONG;
		ns_wrlock(fs);
		int r = sdir == &fs->root ? table_to_dir(fs, name, tdir, newname, flags)
					  : dir_to_table(fs, sdir, name, newname, flags);
		ns_wrunlock(fs);
		return r;
	}
	if (strlen(newname) > ESC_NAME_MAX)
		return -ENAMETOOLONG;
	bool need_excl = false;
	ns_rdlock(fs);
	int r = do_rename_entries(fs, sdir, name, tdir, newname, flags, false, &need_excl);
	ns_rdunlock(fs);
	if (need_excl) {
		ns_wrlock(fs);
		need_excl = false;
		r = do_rename_entries(fs, sdir, name, tdir, newname, flags, true, &need_excl);
		ns_wrunlock(fs);
	}
	return r;
}

void gfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
		const char *newname, unsigned int flags)
{
	struct gfs *fs = req_fs(req);
	op_count(fs, OP_RENAME);
	int r = do_rename(fs, parent, name, newparent, newname, flags);
	if (!r)
		ev_rename(fs, node_of(fs, parent), name, node_of(fs, newparent), newname, flags);
	fuse_reply_err(req, -r);
}
