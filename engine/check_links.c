/*
 * check_links.c — hard links (common/vfile.h) checked for `golite check`
 * and repaired for `golite repair`.
 *
 * A linked file is one shared record ('N' + inode in GOLITE_TABLE_FS), a
 * type 8 record at each of its names, and a back reference ('L' + inode +
 * table + key) per name. Unlike the rest of check, this looks at the
 * store's contents, not its files: it opens the store (check.c and
 * repair.c call it only when their file checks saw a record of a hard
 * link), reads GOLITE_TABLE_FS and the file records of every user table
 * with raw iterators, and compares them.
 *
 * What it finds, and how each is judged:
 *   1. A name whose shared record is missing, or is no file record of
 *      that inode (a directory, a name, a plain value, another inode's,
 *      undecodable): a problem, the name cannot be read. Repair deletes
 *      the name and its back reference.
 *   2. A name without its back reference: a problem, the link count
 *      misses it, and the mount's sweep frees an inode that no counted
 *      name holds. Repair adds the back reference.
 *   3. A chunked shared record whose owner record ('O' + inode, fs/fs.h
 *      invariant 3) does not name it: a problem, the mount's sweep would
 *      free its chunks. Repair writes the owner record.
 *   4. A back reference whose name no longer holds a type 8 record of its
 *      inode (stale): a note. golite_put and golite_delete do not read
 *      before they write, so this is what they leave of a name they
 *      overwrite or delete: garbage, not damage, like the orphaned chunks
 *      a put over a chunked file leaves (which check does not count as
 *      problems either). The mount's sweep or repair removes it.
 *   5. A shared record that no name refers to (an orphan): a note, the
 *      same garbage. Repair deletes it with its chunks and owner record.
 * The note "hard links: N inodes, M names" counts the shared records
 * with a readable name, and those names.
 *
 * Invariants:
 *   1. Check opens the store read-only and writes nothing (check.c
 *      invariant 1); so does repair when nothing needs fixing.
 *   2. An orphan's shared record and owner record are deleted in the
 *      batch that deletes its last chunks or a later one: a repair cut
 *      short leaves an orphan that the next repair finds again, never
 *      chunks that nothing names.
 *   3. Each fix stands alone (a name deleted takes its back reference
 *      with it in one batch): a repair cut short leaves a store that
 *      reads as before or better, and a second repair finishes it.
 */
#include "check_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golite_raw.h"
#include "keyesc.h"
#include "util.h"
#include "vfile.h"

/* The owner record of a file's chunks: 'O' | inode BE64, its value the
 * owning record's table id LE32 | key (fs/fs.h invariant 3). */
#define OWNER_KEY 'O'
#define OWNER_KEY_LEN 9u

/* Findings of one kind shown in full; the rest are counted (lk_total). */
#define LINK_EXAMPLES 10u

/* Operations per batch that repair writes. */
#define LINK_BATCH_OPS 4096u

/* A name as findings show it: "TABLE/KEY", both escaped (keyesc.h), the
 * key cut after its first NAME_KEY_SHOWN bytes. */
#define NAME_KEY_SHOWN 64u
#define NAME_TEXT (4 * GOLITE_MAX_TABLE_NAME + 4 * NAME_KEY_SHOWN + 8)

/* Why a shared record is not one. */
enum lk_bad {
	LK_OK,
	LK_VALUE,        /* a plain value, not a file record */
	LK_UNDECODABLE,  /* vfile_decode failed (code says why) */
	LK_DIR,          /* a directory */
	LK_HLINK,        /* a name itself */
	LK_OTHER_INO,    /* a file record of another inode */
};

enum lk_owner {
	OWNER_NONE,      /* no owner record */
	OWNER_SHARED,    /* it names the shared record */
	OWNER_OTHER,     /* it names something else */
};

/* A shared record, 'N' | inode. */
struct lk_inode {
	uint64_t ino;
	enum lk_bad bad;
	int code;                /* LK_UNDECODABLE: the VFILE_E* code */
	uint64_t other_ino;      /* LK_OTHER_INO: the record's inode number */
	unsigned type;           /* LK_OK: the record's */
	bool chunked;
	uint64_t size;
	enum lk_owner owner;
	char *owner_text;        /* OWNER_OTHER: what it names */
	uint64_t names;          /* type 8 names of this inode */
	uint64_t counted;        /* of them, with a back reference: the link count */
};

/* A name: a type 8 record in a user table. */
struct lk_name {
	uint32_t table;
	uint8_t *key;
	size_t klen;
	uint64_t ino;
	bool has_ref;
};

/* A back reference, 'L' | inode | table | key. */
struct lk_ref {
	uint64_t ino;
	uint32_t table;
	uint8_t *key;
	size_t klen;
	bool live;               /* its name holds a type 8 record of ino */
};

/* What a scan found; each array in key order. */
struct links {
	struct lk_inode *inodes;  /* by inode number */
	size_t ninodes, icap;
	struct lk_name *names;    /* by table id, then key */
	size_t nnames, ncap;
	struct lk_ref *refs;      /* by inode, table id, key */
	size_t nrefs, rcap;
};

/* Room for element n of array v (cap elements of size bytes): v, or v
 * reallocated twice as large. Out of memory aborts (util.h). */
static void *grow(void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	*cap = *cap ? 2 * *cap : 64;
	return xrealloc(v, *cap * size);
}

/* Byte strings in the store's order: memcmp, then the shorter first. */
static int bytes_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, MIN(alen, blen));
	return c ? c : (alen > blen) - (alen < blen);
}

static int u64_cmp(uint64_t a, uint64_t b)
{
	return (a > b) - (a < b);
}

static int name_cmp(const void *pa, const void *pb)
{
	const struct lk_name *a = pa, *b = pb;
	int c = u64_cmp(a->table, b->table);
	return c ? c : bytes_cmp(a->key, a->klen, b->key, b->klen);
}

static int ref_cmp(const void *pa, const void *pb)
{
	const struct lk_ref *a = pa, *b = pb;
	int c = u64_cmp(a->ino, b->ino);
	if (!c)
		c = u64_cmp(a->table, b->table);
	return c ? c : bytes_cmp(a->key, a->klen, b->key, b->klen);
}

static int inode_cmp(const void *pa, const void *pb)
{
	const struct lk_inode *a = pa, *b = pb;
	return u64_cmp(a->ino, b->ino);
}

static struct lk_inode *find_inode(const struct links *L, uint64_t ino)
{
	struct lk_inode key = { .ino = ino };
	if (!L->ninodes)
		return NULL;   /* (bsearch's array may not be NULL) */
	return bsearch(&key, L->inodes, L->ninodes, sizeof(key), inode_cmp);
}

static void links_free(struct links *L)
{
	for (size_t i = 0; i < L->ninodes; i++)
		free(L->inodes[i].owner_text);
	for (size_t i = 0; i < L->nnames; i++)
		free(L->names[i].key);
	for (size_t i = 0; i < L->nrefs; i++)
		free(L->refs[i].key);
	free(L->inodes);
	free(L->names);
	free(L->refs);
	memset(L, 0, sizeof(*L));
}

/* Writes the escaped form of s[0, n) to out, at most max bytes of s. */
static size_t put_escaped(char *out, const void *s, size_t n, size_t max)
{
	size_t len = key_escape(out, s, MIN(n, max), 0);
	if (n > max) {
		memcpy(out + len, "...", 3);
		len += 3;
	}
	return len;
}

/* The name (table, key) as findings show it, in out[NAME_TEXT]. */
static const char *name_text(golite *db, uint32_t table, const uint8_t *key, size_t klen,
			     char *out)
{
	char tname[GOLITE_MAX_TABLE_NAME + 1];
	size_t len;
	if (golite_table_name(db, table, tname, sizeof(tname)) == 0)
		len = put_escaped(out, tname, strlen(tname), GOLITE_MAX_TABLE_NAME);
	else if (table == GOLITE_TABLE_FS)
		len = (size_t)sprintf(out, "(fs)");
	else if (table == GOLITE_TABLE_CHUNKS)
		len = (size_t)sprintf(out, "(chunks)");
	else
		len = (size_t)sprintf(out, "(table %" PRIu32 ")", table);
	out[len++] = '/';
	len += put_escaped(out + len, key, klen, NAME_KEY_SHOWN);
	out[len] = '\0';
	return out;
}

/* ---- reading the store ---- */

static void add_inode(struct links *L, uint64_t ino, unsigned kind, const uint8_t *v,
		      size_t vlen)
{
	L->inodes = grow(L->inodes, &L->icap, L->ninodes, sizeof(*L->inodes));
	struct lk_inode *in = &L->inodes[L->ninodes++];
	memset(in, 0, sizeof(*in));
	in->ino = ino;
	struct vfile f;
	if (kind != GOLITE_KIND_META) {
		in->bad = LK_VALUE;
	} else if ((in->code = vfile_decode(v, vlen, &f))) {
		in->bad = LK_UNDECODABLE;
	} else if (f.type == VFILE_DIR) {
		in->bad = LK_DIR;
	} else if (f.type == VFILE_HLINK) {
		in->bad = LK_HLINK;
	} else if (f.ino != ino) {
		in->bad = LK_OTHER_INO;
		in->other_ino = f.ino;
	} else {
		in->type = f.type;
		in->chunked = f.type == VFILE_REG && (f.flags & VFILE_F_CHUNKED);
		in->size = f.size;
	}
}

/* Notes whom the owner record of ino names. Shared records come first in
 * GOLITE_TABLE_FS ('N' < 'O'): L->inodes is complete. */
static void note_owner(golite *db, struct links *L, uint64_t ino, const uint8_t *v, size_t vlen)
{
	struct lk_inode *in = find_inode(L, ino);
	if (!in)
		return;
	uint8_t ikey[VFILE_INODE_KEY];
	vfile_inode_key(ikey, ino);
	if (vlen == 4 + sizeof(ikey) && get_le32(v) == GOLITE_TABLE_FS &&
	    memcmp(v + 4, ikey, sizeof(ikey)) == 0) {
		in->owner = OWNER_SHARED;
		return;
	}
	char text[NAME_TEXT];
	in->owner = OWNER_OTHER;
	in->owner_text = xstrdup(vlen > 4 ? name_text(db, get_le32(v), v + 4, vlen - 4, text)
					  : "nothing (it is malformed)");
}

/* Reads the shared records, back references and owner records. */
static int scan_fs(golite *db, struct links *L)
{
	golite_iter *it;
	int e = golite_iter_new_raw(db, GOLITE_TABLE_FS, NULL, &it);
	if (e)
		return e;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen, vlen, nklen;
		const uint8_t *k = golite_iter_key(it, &klen);
		const uint8_t *v = golite_iter_value_raw(it, &vlen);
		const uint8_t *nkey;
		uint64_t ino;
		uint32_t table;
		if (klen == VFILE_INODE_KEY && k[0] == VFILE_KEY_INODE) {
			add_inode(L, get_be64(k + 1), golite_iter_kind(it), v, vlen);
		} else if (vfile_backref_parse(k, klen, &ino, &table, &nkey, &nklen)) {
			L->refs = grow(L->refs, &L->rcap, L->nrefs, sizeof(*L->refs));
			L->refs[L->nrefs++] = (struct lk_ref){ ino, table, xmemdup(nkey, nklen),
							      nklen, false };
		} else if (klen == OWNER_KEY_LEN && k[0] == OWNER_KEY) {
			note_owner(db, L, get_be64(k + 1), v, vlen);
		}
	}
	e = golite_iter_status(it);
	golite_iter_free(it);
	return e;
}

/* Reads the type 8 records of every user table. */
static int scan_names(golite *db, struct links *L)
{
	char **tables;
	size_t ntables;
	int e = golite_table_list(db, &tables, &ntables);
	if (e)
		return e;
	for (size_t i = 0; i < ntables && !e; i++) {
		uint32_t id;
		golite_iter *it;
		e = golite_table_id(db, tables[i], &id);
		if (!e)
			e = golite_iter_new_raw(db, id, NULL, &it);
		if (e)
			break;
		for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
			size_t klen, vlen;
			const uint8_t *v = golite_iter_value_raw(it, &vlen);
			struct vfile f;
			if (golite_iter_kind(it) != GOLITE_KIND_META || vlen < 2 ||
			    v[1] != VFILE_HLINK || vfile_decode(v, vlen, &f))
				continue;
			const uint8_t *k = golite_iter_key(it, &klen);
			L->names = grow(L->names, &L->ncap, L->nnames, sizeof(*L->names));
			L->names[L->nnames++] = (struct lk_name){ id, xmemdup(k, klen), klen, f.ino,
								  false };
		}
		e = golite_iter_status(it);
		golite_iter_free(it);
	}
	golite_free(tables);
	return e;
}

/* Reads everything and ties names, back references and inodes together. */
static int links_scan(golite *db, struct links *L)
{
	int e = scan_fs(db, L);
	if (!e)
		e = scan_names(db, L);
	if (e)
		return e;
	if (L->nnames)
		qsort(L->names, L->nnames, sizeof(*L->names), name_cmp);
	for (size_t i = 0; i < L->nnames; i++) {
		struct lk_name *n = &L->names[i];
		struct lk_ref want = { n->ino, n->table, n->key, n->klen, false };
		struct lk_ref *ref =
			L->nrefs ? bsearch(&want, L->refs, L->nrefs, sizeof(want), ref_cmp) : NULL;
		n->has_ref = ref != NULL;
		if (ref)
			ref->live = true;
		struct lk_inode *in = find_inode(L, n->ino);
		if (in) {
			in->names++;
			in->counted += n->has_ref;
		}
	}
	return 0;
}

/* A name that cannot be read: its shared record is missing or bad. */
static bool name_unreadable(const struct links *L, const struct lk_name *n)
{
	const struct lk_inode *in = find_inode(L, n->ino);
	return !in || in->bad != LK_OK;
}

/* An inode to free: no name refers to it, or its record is no file's
 * (its names are deleted). */
static bool inode_garbage(const struct lk_inode *in)
{
	return !in->names || in->bad != LK_OK;
}

static bool inode_unowned(const struct lk_inode *in)
{
	return !inode_garbage(in) && in->chunked && in->owner != OWNER_SHARED;
}

/* True if repair has anything to do. */
static bool links_faulty(const struct links *L)
{
	for (size_t i = 0; i < L->nnames; i++)
		if (!L->names[i].has_ref || name_unreadable(L, &L->names[i]))
			return true;
	for (size_t i = 0; i < L->nrefs; i++)
		if (!L->refs[i].live)
			return true;
	for (size_t i = 0; i < L->ninodes; i++)
		if (inode_garbage(&L->inodes[i]) || inode_unowned(&L->inodes[i]))
			return true;
	return false;
}

/* What is wrong with the shared record of inode ino (in, NULL if there is
 * none), as "whose shared record ...", into out (128 bytes). */
static const char *record_trouble(const struct lk_inode *in, char *out)
{
	if (!in)
		return "is missing";
	switch (in->bad) {
	case LK_VALUE:
		return "is a plain value, not a file record";
	case LK_UNDECODABLE:
		snprintf(out, 128, "does not decode (%s)", vfile_strerror(in->code));
		return out;
	case LK_DIR:
		return "is a directory";
	case LK_HLINK:
		return "is itself a hard link (type 8)";
	case LK_OTHER_INO:
		snprintf(out, 128, "holds inode number %" PRIu64, in->other_ino);
		return out;
	default:
		return "is fine";
	}
}

/* The chunks of ino in GOLITE_TABLE_CHUNKS: counted, and with w (not
 * NULL) deleted. */
struct lk_writer;
static void w_del(struct lk_writer *w, uint32_t table, const void *key, size_t klen);

static uint64_t chunks_of(golite *db, uint64_t ino, struct lk_writer *w)
{
	uint8_t prefix[8];
	put_be64(prefix, ino);
	golite_iter_options o = { .prefix = prefix, .prefix_len = sizeof(prefix) };
	golite_iter *it;
	uint64_t n = 0;
	if (golite_iter_new_raw(db, GOLITE_TABLE_CHUNKS, &o, &it))
		return 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen;
		const void *k = golite_iter_key(it, &klen);
		if (w)
			w_del(w, GOLITE_TABLE_CHUNKS, k, klen);
		n++;
	}
	golite_iter_free(it);
	return n;
}

/* The shared record for messages, into out (160 bytes): "file, 5000
 * bytes" or why it is no file record. */
static const char *record_text(const struct lk_inode *in, char *out)
{
	char why[128];
	if (in->bad)
		snprintf(out, 160, "which %s", record_trouble(in, why));
	else if (vfile_device(in->type) || in->type == VFILE_FIFO || in->type == VFILE_SOCK)
		snprintf(out, 160, "a %s", vfile_type_name(in->type));
	else
		snprintf(out, 160, "a %s of %" PRIu64 " bytes", vfile_type_name(in->type), in->size);
	return out;
}

/* ---- findings of one kind: the first LINK_EXAMPLES shown ---- */

struct lk_class {
	enum golite_finding_kind kind;
	uint64_t count;
};

/* True if the next finding of c will be shown. */
static bool lk_shows(const struct lk_class *c)
{
	return c->count < LINK_EXAMPLES;
}

__attribute__((format(printf, 4, 5)))
static void lk_found(struct run *r, const char *dir, struct lk_class *c, const char *fmt, ...)
{
	if (!lk_shows(c)) {
		c->count++;
		r->st->problems += c->kind == GOLITE_FINDING_PROBLEM;
		r->st->notes += c->kind == GOLITE_FINDING_NOTE;
		return;
	}
	c->count++;
	char msg[2 * NAME_TEXT + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ck_found(r, c->kind, dir, GOLITE_NO_OFFSET, "%s", msg);
}

/* After the examples, the count of them all ("N WHAT in all"). */
static void lk_total(struct run *r, const char *dir, const struct lk_class *c, const char *what)
{
	if (c->count <= LINK_EXAMPLES || !r->o->report ||
	    (r->o->quiet && c->kind == GOLITE_FINDING_NOTE))
		return;
	char msg[256];
	snprintf(msg, sizeof(msg), "%" PRIu64 " %s in all (the first %u are above)", c->count, what,
		 LINK_EXAMPLES);
	golite_finding f = { c->kind, dir, GOLITE_NO_OFFSET, msg };
	r->o->report(r->o->report_ctx, &f);
}

/* ---- check ---- */

static void links_report(struct run *r, const char *dir, golite *db, const struct links *L)
{
	char a[NAME_TEXT], b[160];
	struct lk_class unreadable = { GOLITE_FINDING_PROBLEM, 0 };
	struct lk_class unref = { GOLITE_FINDING_PROBLEM, 0 };
	struct lk_class unowned = { GOLITE_FINDING_PROBLEM, 0 };
	struct lk_class stale = { GOLITE_FINDING_NOTE, 0 };
	struct lk_class orphan = { GOLITE_FINDING_NOTE, 0 };
	for (size_t i = 0; i < L->nnames; i++) {
		const struct lk_name *n = &L->names[i];
		const struct lk_inode *in = find_inode(L, n->ino);
		if (name_unreadable(L, n))
			lk_found(r, dir, &unreadable, "name %s: a hard link to inode %" PRIu64
				 ", whose shared record %s: the name cannot be read",
				 name_text(db, n->table, n->key, n->klen, a), n->ino,
				 record_trouble(in, b));
		else if (!n->has_ref)
			lk_found(r, dir, &unref, "name %s: a hard link to inode %" PRIu64 " without "
				 "its back reference: the link count misses it (and the mount's "
				 "sweep frees an inode no counted name holds)",
				 name_text(db, n->table, n->key, n->klen, a), n->ino);
	}
	lk_total(r, dir, &unreadable, "names whose shared record is missing or unusable");
	lk_total(r, dir, &unref, "names without a back reference");
	for (size_t i = 0; i < L->ninodes; i++) {
		const struct lk_inode *in = &L->inodes[i];
		if (inode_unowned(in))
			lk_found(r, dir, &unowned, "inode %" PRIu64 ": a chunked file whose owner "
				 "record %s%s: the mount's sweep would free its chunks", in->ino,
				 in->owner == OWNER_NONE ? "is missing" : "names ",
				 in->owner == OWNER_NONE ? "" : in->owner_text);
	}
	lk_total(r, dir, &unowned, "chunked shared records without their owner record");
	for (size_t i = 0; i < L->nrefs; i++) {
		const struct lk_ref *ref = &L->refs[i];
		if (!ref->live)
			lk_found(r, dir, &stale, "back reference of inode %" PRIu64 " to %s, which "
				 "no longer holds a hard link to it (what an overwrite or delete "
				 "through the API leaves): garbage, removed by `golite repair` or the "
				 "mount's sweep",
				 ref->ino, name_text(db, ref->table, ref->key, ref->klen, a));
	}
	lk_total(r, dir, &stale, "stale back references");
	for (size_t i = 0; i < L->ninodes; i++) {
		const struct lk_inode *in = &L->inodes[i];
		if (in->names)
			continue;
		char chunks[64] = "";
		if (lk_shows(&orphan) && in->chunked)
			snprintf(chunks, sizeof(chunks), " in %" PRIu64 " chunks",
				 chunks_of(db, in->ino, NULL));
		lk_found(r, dir, &orphan, "inode %" PRIu64 ": a shared record (%s%s) that no name "
			 "refers to: garbage, as orphaned chunks are, freed by `golite repair` or "
			 "the mount's sweep",
			 in->ino, record_text(in, b), chunks);
	}
	lk_total(r, dir, &orphan, "shared records without a name");
	uint64_t inodes = 0, names = 0;
	for (size_t i = 0; i < L->ninodes; i++)
		if (!L->inodes[i].bad && L->inodes[i].names) {
			inodes++;
			names += L->inodes[i].names;
		}
	ck_found(r, GOLITE_FINDING_NOTE, dir, GOLITE_NO_OFFSET,
		 "hard links: %" PRIu64 " inode%s, %" PRIu64 " name%s", inodes,
		 inodes == 1 ? "" : "s", names, names == 1 ? "" : "s");
}

void ck_links_check(struct run *r, const char *dir)
{
	golite *db;
	int e = ck_store_open(dir, false, &db);
	if (e) {
		ck_found(r, GOLITE_FINDING_PROBLEM, dir, GOLITE_NO_OFFSET,
			 "the store does not open (%s), so its hard links were not checked",
			 golite_last_error());
		return;
	}
	struct links L = { 0 };
	e = links_scan(db, &L);
	if (e)
		ck_found(r, GOLITE_FINDING_PROBLEM, dir, GOLITE_NO_OFFSET,
			 "reading the store failed (%s), so its hard links were not checked",
			 golite_last_error());
	else
		links_report(r, dir, db, &L);
	links_free(&L);
	golite_close(db);
}

/* ---- repair ---- */

/* Repair's writes: deletions in a batch that frees space (so that repair
 * works on a full disk), puts in another. */
struct lk_writer {
	golite *db;
	golite_batch *del, *put;
	bool wrote;
	int err;                 /* the first failed write; nothing after it */
};

static void w_flush(struct lk_writer *w, golite_batch *b)
{
	if (!w->err && golite_batch_count(b)) {
		w->err = golite_write(w->db, b);
		w->wrote |= !w->err;
	}
	golite_batch_clear(b);
	golite_batch_set_frees_space(w->del, true);
}

static void w_del(struct lk_writer *w, uint32_t table, const void *key, size_t klen)
{
	if (w->err)
		return;
	int e = golite_batch_delete_raw(w->del, table, key, klen);
	if (e)
		w->err = e;
	else if (golite_batch_count(w->del) >= LINK_BATCH_OPS)
		w_flush(w, w->del);
}

/* Returns what golite_batch_put_raw said (a key too long: the caller's to
 * report); a failed write shows in w->err. */
static int w_put(struct lk_writer *w, const void *key, size_t klen, unsigned kind,
		 const void *value, size_t vlen)
{
	if (w->err)
		return 0;
	int e = golite_batch_put_raw(w->put, GOLITE_TABLE_FS, kind, key, klen, value, vlen);
	if (!e && golite_batch_count(w->put) >= LINK_BATCH_OPS)
		w_flush(w, w->put);
	return e;
}

/* The back reference of name n, into a malloc()ed buffer. */
static uint8_t *ref_key(uint64_t ino, uint32_t table, const uint8_t *key, size_t klen,
			size_t *len)
{
	uint8_t *k = xmalloc(VFILE_BACKREF_PREFIX + 4 + klen);
	*len = vfile_backref_key(k, ino, true, table, key, klen);
	return k;
}

static void fix_names(struct run *r, const char *dir, golite *db, const struct links *L,
		      struct lk_writer *w)
{
	char a[NAME_TEXT], b[128];
	struct lk_class deleted = { GOLITE_FINDING_LOST, 0 };
	struct lk_class added = { GOLITE_FINDING_FIXED, 0 };
	struct lk_class failed = { GOLITE_FINDING_PROBLEM, 0 };
	for (size_t i = 0; i < L->nnames && !w->err; i++) {
		const struct lk_name *n = &L->names[i];
		size_t rlen;
		if (name_unreadable(L, n)) {
			/* The name and its back reference go in one batch. */
			if (golite_batch_count(w->del) + 2 > LINK_BATCH_OPS)
				w_flush(w, w->del);
			w_del(w, n->table, n->key, n->klen);
			if (n->has_ref) {
				uint8_t *rk = ref_key(n->ino, n->table, n->key, n->klen, &rlen);
				w_del(w, GOLITE_TABLE_FS, rk, rlen);
				free(rk);
			}
			lk_found(r, dir, &deleted, "deleted name %s%s: a hard link to inode %" PRIu64
				 ", whose shared record %s (the name could not be read)",
				 name_text(db, n->table, n->key, n->klen, a),
				 n->has_ref ? " and its back reference" : "", n->ino,
				 record_trouble(find_inode(L, n->ino), b));
		} else if (!n->has_ref) {
			uint8_t *rk = ref_key(n->ino, n->table, n->key, n->klen, &rlen);
			int e = w_put(w, rk, rlen, GOLITE_KIND_VALUE, NULL, 0);
			free(rk);
			if (e)
				lk_found(r, dir, &failed, "name %s: its back reference cannot be "
					 "written: %s", name_text(db, n->table, n->key, n->klen, a),
					 golite_last_error());
			else
				lk_found(r, dir, &added, "added the back reference of name %s (inode "
					 "%" PRIu64 ")", name_text(db, n->table, n->key, n->klen, a),
					 n->ino);
		}
	}
	lk_total(r, dir, &deleted, "names deleted");
	lk_total(r, dir, &added, "back references added");
	lk_total(r, dir, &failed, "back references not written");
}

static void fix_refs(struct run *r, const char *dir, golite *db, const struct links *L,
		     struct lk_writer *w)
{
	char a[NAME_TEXT];
	struct lk_class removed = { GOLITE_FINDING_FIXED, 0 };
	for (size_t i = 0; i < L->nrefs && !w->err; i++) {
		const struct lk_ref *ref = &L->refs[i];
		if (ref->live)
			continue;
		size_t rlen;
		uint8_t *rk = ref_key(ref->ino, ref->table, ref->key, ref->klen, &rlen);
		w_del(w, GOLITE_TABLE_FS, rk, rlen);
		free(rk);
		lk_found(r, dir, &removed, "removed the stale back reference of inode %" PRIu64
			 " to %s", ref->ino, name_text(db, ref->table, ref->key, ref->klen, a));
	}
	lk_total(r, dir, &removed, "stale back references removed");
}

static void fix_inodes(struct run *r, const char *dir, golite *db, const struct links *L,
		       struct lk_writer *w)
{
	char b[160];
	struct lk_class freed = { GOLITE_FINDING_FIXED, 0 };
	struct lk_class owned = { GOLITE_FINDING_FIXED, 0 };
	for (size_t i = 0; i < L->ninodes && !w->err; i++) {
		const struct lk_inode *in = &L->inodes[i];
		uint8_t ikey[VFILE_INODE_KEY], okey[OWNER_KEY_LEN];
		vfile_inode_key(ikey, in->ino);
		okey[0] = OWNER_KEY;
		put_be64(okey + 1, in->ino);
		if (inode_unowned(in)) {
			uint8_t v[4 + VFILE_INODE_KEY];
			put_le32(v, GOLITE_TABLE_FS);
			memcpy(v + 4, ikey, sizeof(ikey));
			w_put(w, okey, sizeof(okey), GOLITE_KIND_VALUE, v, sizeof(v));
			lk_found(r, dir, &owned, "inode %" PRIu64 ": set its owner record to its "
				 "shared record (it %s%s), so that the mount keeps its chunks",
				 in->ino, in->owner == OWNER_NONE ? "was missing" : "named ",
				 in->owner == OWNER_NONE ? "" : in->owner_text);
			continue;
		}
		if (!inode_garbage(in))
			continue;
		/* Its chunks first, then its records (invariant 2). The
		 * chunks are left to an owner record that names another
		 * record: they are that one's. */
		uint64_t chunks = 0;
		if (in->owner != OWNER_OTHER)
			chunks = chunks_of(db, in->ino, w);
		if (in->owner == OWNER_SHARED)
			w_del(w, GOLITE_TABLE_FS, okey, sizeof(okey));
		w_del(w, GOLITE_TABLE_FS, ikey, sizeof(ikey));
		char what[128] = "";
		if (in->owner == OWNER_OTHER)
			snprintf(what, sizeof(what), " (its chunks stay: their owner record names "
				 "another record)");
		else if (chunks || in->owner == OWNER_SHARED)
			snprintf(what, sizeof(what), ", %" PRIu64 " chunk%s%s", chunks,
				 chunks == 1 ? "" : "s",
				 in->owner == OWNER_SHARED ? " and its owner record" : "");
		lk_found(r, dir, &freed, "freed inode %" PRIu64 ", %s: its shared record (%s)%s",
			 in->ino, in->names ? "whose names were deleted" : "which no name refers to",
			 record_text(in, b), what);
	}
	lk_total(r, dir, &owned, "owner records set");
	lk_total(r, dir, &freed, "inodes freed");
}

int ck_links_repair(struct run *r, const char *dir, bool *changed)
{
	*changed = false;
	golite *db;
	int e = ck_store_open(dir, false, &db);
	if (e) {
		ck_found(r, GOLITE_FINDING_PROBLEM, dir, GOLITE_NO_OFFSET,
			 "the store does not open (%s), so its hard links were not repaired",
			 golite_last_error());
		return 0;
	}
	/* Read-only first: a store whose links hold is left as it is
	 * (invariant 1). */
	struct links L = { 0 };
	e = links_scan(db, &L);
	bool faulty = !e && links_faulty(&L);
	links_free(&L);
	golite_close(db);
	if (!e && !faulty)
		return 0;
	if (!e)
		e = ck_store_open(dir, true, &db);
	if (e) {
		ck_found(r, GOLITE_FINDING_PROBLEM, dir, GOLITE_NO_OFFSET,
			 "the store could not be read or opened for writing (%s), so its hard "
			 "links were not repaired", golite_last_error());
		return 0;
	}
	e = links_scan(db, &L);
	struct lk_writer w = { db, golite_batch_new(), golite_batch_new(), false, e };
	golite_batch_set_frees_space(w.del, true);
	if (!e) {
		fix_names(r, dir, db, &L, &w);
		fix_refs(r, dir, db, &L, &w);
		fix_inodes(r, dir, db, &L, &w);
		w_flush(&w, w.del);
		w_flush(&w, w.put);
	}
	e = w.err;
	if (e)
		ck_found(r, GOLITE_FINDING_PROBLEM, dir, GOLITE_NO_OFFSET,
			 "repairing the hard links stopped: %s", golite_last_error());
	golite_batch_free(w.del);
	golite_batch_free(w.put);
	links_free(&L);
	int ce = golite_close(db);
	*changed = w.wrote;
	return e ? e : ce;
}
