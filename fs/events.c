/*
 * events.c — the mount's part of the change feed /.golite/events: which
 * changes are events, how they name their entries, and the feed's file.
 * The feed itself (numbering, times, escaping, the ring, readers, the
 * "missed" line) is the engine's, golite_feed_* in golite_raw.h and
 * engine/feed.c; the mount publishes to it and serves one reader per open
 * handle of the file.
 *
 *   SEQ TIME OP TABLE PATH [TABLE2 PATH2 | ATTR]
 *
 *   OP     create mkdir symlink write truncate fallocate unlink rmdir
 *          rename exchange chmod chown utimens setxattr removexattr
 *   TABLE  the table (the directory at the mount's root); "?" for one
 *          dropped before the event was made
 *   PATH   the entry's path inside the table as the mount shows it (the
 *          escaped names of fs/escape.h), "." for the table itself
 *   rename and exchange add the destination's TABLE2 PATH2; setxattr and
 *   removexattr add the attribute's name.
 *
 * The mount hands the feed TABLE, PATH and ATTR as byte strings (PATH
 * built here from the key with escape.h's names); the feed escapes each
 * as a field (common/keyesc.h), adds SEQ and TIME, and keeps the line.
 * fs/README-fs.md has the format as users see it.
 *
 * What is not an event: the daemon's own writes (sizes and times written
 * back at close or by the background thread, the sweep of orphaned
 * chunks), reads, and changes to the root directory itself. Events are
 * made only while a reader has the file open (golite_feed_wanted): the
 * emitters below return before taking any lock otherwise.
 */
#include "fs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hardlink.h"
#include "util.h"

static const char *const op_names[EV_COUNT] = {
	"create", "mkdir", "symlink", "write", "truncate", "fallocate", "unlink", "rmdir",
	"rename", "exchange", "chmod", "chown", "utimens", "setxattr", "removexattr", "link",
};

/* ---- the fields of an event ---- */

#define EV_FIELDS_MAX 5

/* An event's fields, written one after another to a memory stream. */
struct ev_fields {
	FILE *out;
	char *p;                       /* the bytes, once out is closed */
	size_t len;
	size_t off[EV_FIELDS_MAX], flen[EV_FIELDS_MAX];
	size_t n;
};

static void fl_init(struct ev_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->out = open_memstream(&f->p, &f->len);
	if (!f->out)
		FATAL("open_memstream");
}

static void fl_putc(struct ev_fields *f, char c)
{
	fputc(c, f->out);
}

static void fl_puts(struct ev_fields *f, const char *s)
{
	fputs(s, f->out);
}

static size_t fl_pos(struct ev_fields *f)
{
	return (size_t)ftell(f->out);
}

/* Starts a field: the bytes put until fl_end are its. */
static void fl_begin(struct ev_fields *f)
{
	f->off[f->n] = fl_pos(f);
}

/* Ends the field; an empty one becomes "." (the table itself). */
static void fl_end(struct ev_fields *f)
{
	if (fl_pos(f) == f->off[f->n])
		fl_putc(f, '.');
	f->flen[f->n] = fl_pos(f) - f->off[f->n];
	f->n++;
}

/* Puts the names the mount shows for one key component (view: its
 * directory view), chained pieces separated by '/'. */
static void path_component(struct ev_fields *f, const uint8_t *c, size_t clen, bool view)
{
	char name[ESC_NAME_MAX + 1];
	for (size_t acc = 0;; acc += ESC_PIECE) {
		enum esc_kind k = esc_encode(c, clen, acc, view, name);
		fl_puts(f, name);
		if (k != ESC_CONT)
			break;
		fl_putc(f, '/');
	}
}

/* Puts the path of k inside its table as the mount shows it; nothing for
 * the table itself. */
static void path_of(struct ev_fields *f, const struct kbuf *k)
{
	if (k->flavor == FL_TABLE)
		return;
	/* The whole components: all of the key, or (a piece) those before
	 * comp_off, each followed by '/'. */
	size_t end = k->flavor == FL_PARTIAL ? k->comp_off : k->len;
	for (size_t start = 0; k->flavor != FL_PARTIAL || start < end;) {
		const uint8_t *slash = memchr(k->b + start, '/', end - start);
		size_t stop = slash ? (size_t)(slash - k->b) : end;
		path_component(f, k->b + start, stop - start, !slash && k->flavor == FL_VIEW);
		if (!slash)
			break;
		fl_putc(f, '/');
		start = stop + 1;
	}
	if (k->flavor == FL_PARTIAL) {
		/* The "%+" pieces of the component from comp_off on, ESC_PIECE
		 * bytes a name. */
		static const char hex[] = "0123456789abcdef";
		for (size_t off = k->comp_off; off < k->len; off += ESC_PIECE) {
			if (off > k->comp_off)
				fl_putc(f, '/');
			fl_puts(f, "%+");
			size_t n = MIN((size_t)ESC_PIECE, k->len - off);
			for (size_t i = 0; i < n; i++) {
				fl_putc(f, hex[k->b[off + i] >> 4]);
				fl_putc(f, hex[k->b[off + i] & 15]);
			}
		}
	}
}

/* Puts the field TABLE of table id. */
static void table_field(struct gfs *fs, struct ev_fields *f, uint32_t table)
{
	char name[GOLITE_MAX_TABLE_NAME + 1];
	fl_begin(f);
	if (golite_table_name(fs->db, table, name, sizeof(name)) == 0)
		fl_puts(f, name);
	else
		fl_putc(f, '?');   /* dropped meanwhile */
	fl_end(f);
}

/* Puts the fields TABLE PATH of key k, or of its entry child if child is
 * not NULL. */
static void key_fields(struct gfs *fs, struct ev_fields *f, const struct kbuf *k,
		       const char *child)
{
	table_field(fs, f, k->table);
	fl_begin(f);
	path_of(f, k);
	if (child) {
		if (fl_pos(f) > f->off[f->n])
			fl_putc(f, '/');
		fl_puts(f, child);
	}
	fl_end(f);
}

/* Puts the fields TABLE PATH of node n, or of its entry child if child
 * is not NULL (ns taken here). */
static void node_fields(struct gfs *fs, struct ev_fields *f, struct node *n, const char *child)
{
	struct kbuf *k = xmalloc(sizeof(*k));
	ns_rdlock(fs);
	node_key(n, k);
	ns_rdunlock(fs);
	key_fields(fs, f, k, child);
	free(k);
}

/* Puts the fields TABLE PATH of the entry name of directory dir. */
static void child_fields(struct gfs *fs, struct ev_fields *f, struct node *dir, const char *name)
{
	if (dir != &fs->root) {
		node_fields(fs, f, dir, name);
		return;
	}
	fl_begin(f);
	fl_puts(f, name);
	fl_end(f);
	fl_begin(f);
	fl_end(f);   /* "." */
}

/* Publishes op with the fields gathered, and frees them. */
static void publish(struct gfs *fs, enum ev_op op, struct ev_fields *f)
{
	fclose(f->out);
	golite_feed_field fields[EV_FIELDS_MAX];
	for (size_t i = 0; i < f->n; i++)
		fields[i] = (golite_feed_field){ f->p + f->off[i], f->flen[i] };
	int r = golite_feed_publish(fs->db, op_names[op], fields, f->n);
	if (r)
		gfs_log(LOG_LVL_DEBUG, "events: cannot publish a %s event: %s", op_names[op],
			golite_last_error());
	free(f->p);
}

/* An event of a linked file, made once per name (hlink_names). */
struct ev_named {
	struct gfs *fs;
	enum ev_op op;
	const char *arg;
	struct kbuf k;
};

static void ev_named(void *ctx, uint32_t table, const uint8_t *key, size_t klen)
{
	struct ev_named *c = ctx;
	c->k.table = table;
	c->k.flavor = FL_NORMAL;
	c->k.comp_off = 0;
	c->k.len = klen;
	memcpy(c->k.b, key, klen);
	struct ev_fields f;
	fl_init(&f);
	key_fields(c->fs, &f, &c->k, NULL);
	if (c->arg) {
		fl_begin(&f);
		fl_puts(&f, c->arg);
		fl_end(&f);
	}
	publish(c->fs, c->op, &f);
}

void ev_node(struct gfs *fs, enum ev_op op, struct node *n, const char *arg)
{
	if (!ev_wanted(fs) || node_is_ctl(fs, n) || n == &fs->root)
		return;
	if (node_is_shared(n)) {
		/* A linked file: the event names each of its names. */
		struct ev_named *c = xmalloc(sizeof(*c));
		*c = (struct ev_named){ .fs = fs, .op = op, .arg = arg };
		mutex_lock(&n->mu);
		uint64_t ino = n->a.ino;
		mutex_unlock(&n->mu);
		ns_rdlock(fs);
		hlink_names(fs, ino, ev_named, c);
		ns_rdunlock(fs);
		free(c);
		return;
	}
	struct ev_fields f;
	fl_init(&f);
	node_fields(fs, &f, n, NULL);
	if (arg) {
		fl_begin(&f);
		fl_puts(&f, arg);
		fl_end(&f);
	}
	publish(fs, op, &f);
}

void ev_child(struct gfs *fs, enum ev_op op, struct node *dir, const char *name)
{
	if (!ev_wanted(fs))
		return;
	struct ev_fields f;
	fl_init(&f);
	child_fields(fs, &f, dir, name);
	publish(fs, op, &f);
}

void ev_rename(struct gfs *fs, struct node *sdir, const char *name, struct node *ddir,
	       const char *newname, unsigned flags)
{
	if (!ev_wanted(fs))
		return;
	struct ev_fields f;
	fl_init(&f);
	child_fields(fs, &f, sdir, name);
	child_fields(fs, &f, ddir, newname);
	publish(fs, (flags & RENAME_EXCHANGE) ? EV_EXCHANGE : EV_RENAME, &f);
}

/* ---- the feed's file ---- */

void ev_stat(struct gfs *fs, uint64_t *size, int64_t *mtime_ns)
{
	golite_feed_stats st;
	golite_feed_stats_get(fs->db, &st);
	*size = st.bytes;
	*mtime_ns = st.last_ns;
}

void ev_push_size(struct gfs *fs)
{
	uint64_t size, pushed = atomic_load(&fs->ev_size_pushed);
	int64_t mtime;
	ev_stat(fs, &size, &mtime);
	if (size <= pushed || !fs->se)
		return;
	atomic_store(&fs->ev_size_pushed, size);
	/* The byte stored is what the page cache holds there; reads of the
	 * feed use direct I/O and never see it. */
	char nl = '\n';
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(1);
	bv.buf[0].mem = &nl;
	int r = fuse_lowlevel_notify_store(fs->se, node_id(fs, &fs->ctl_events), (off_t)size - 1,
					   &bv, 0);
	if (r && r != -ENOENT)
		gfs_log(LOG_LVL_DEBUG, "events: cannot tell the kernel the feed's size: %s",
			strerror(-r));
}

static void reader_free(void *r)
{
	golite_feed_reader_free(r);
}

int ev_open(struct gfs *fs, uint64_t *fh)
{
	golite_feed_reader *r;
	int e = golite_feed_reader_new(fs->db, 0, &r);
	if (e)
		return -gfs_errno(e, "open the change feed");
	*fh = handle_new(r, reader_free);
	return 0;
}

void ev_read(void *reader, size_t size, char **data, size_t *len)
{
	char *out = xmalloc(size ? size : 1);
	if (golite_feed_read(reader, out, size, len))
		*len = 0;   /* cannot fail: reader and buffers are ours */
	*data = out;
}
