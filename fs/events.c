/*
 * events.c — /.golite/events, the change feed: one line per change made
 * through the mount, written once the engine has accepted the change.
 *
 *   SEQ TIME OP TABLE PATH [TABLE2 PATH2 | ATTR]
 *
 *   SEQ    the event's number, counting from 1 at mount; consecutive
 *          for one reader unless it fell behind (see "missed")
 *   TIME   wall-clock time of the event, seconds.microseconds
 *   OP     create mkdir symlink write truncate fallocate unlink rmdir
 *          rename exchange chmod chown utimens setxattr removexattr
 *   TABLE  the table (the directory at the mount's root)
 *   PATH   the entry's path inside the table as the mount shows it (the
 *          escaped names of fs/escape.h), "." for the table itself
 *   rename and exchange add the destination's TABLE2 PATH2; setxattr and
 *   removexattr add the attribute's name.
 *
 * Fields are separated by one space. Inside TABLE, PATH and ATTR, bytes
 * are shown as they are when printable (ASCII from '!' to '~', and whole
 * UTF-8 characters from U+00A0 on); a backslash is "\\", tab, newline and
 * carriage return "\t", "\n", "\r", and any other byte (space included)
 * "\xHH", as `golite ls` shows keys.
 *
 * A reader that fell more than the ring's size behind gets one line
 *
 *   SEQ TIME missed COUNT
 *
 * where SEQ is the first event it missed and COUNT how many, then goes on
 * with the oldest event still kept.
 *
 * The ring. Events live in ev.slot[seq % size], each an immutable struct
 * event. A writer formats its line, then under ev.mu (taken by writers
 * only, for a few stores) numbers it, puts it in its slot, and publishes
 * ev.last; the event it replaced is freed after an RCU grace period.
 * Readers take no lock that writers take: inside an RCU read-side section
 * they load a slot and copy its line. So a writer never waits for a
 * reader, and a slow reader loses the oldest events instead.
 *
 * Events are made only while a reader has the file open (ev.readers): a
 * reader sees the events after its open, and nobody pays for a feed that
 * no one reads.
 *
 * What is not an event: the daemon's own writes (sizes and times written
 * back at close or by the background thread, the sweep of orphaned
 * chunks), reads, and changes to the root directory itself.
 *
 * Invariants:
 *   1. ev.slot[s % size] holds event s or a later one once ev.last >= s
 *      (the slot is stored before ev.last, both under ev.mu).
 *   2. An event's memory is freed only by call_rcu after it left its slot,
 *      or by ev_destroy when no reader is left.
 */
#include "fs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "keyesc.h"
#include "rcu.h"
#include "util.h"

#define SEQ_DIGITS 20

struct event {
	struct rcu_head rcu;
	uint64_t seq;
	uint32_t off, len;     /* the line is text[off .. off + len) */
	char text[];           /* SEQ_DIGITS for the number, ' ', the body */
};

static const char *const op_names[EV_COUNT] = {
	"create", "mkdir", "symlink", "write", "truncate", "fallocate", "unlink", "rmdir",
	"rename", "exchange", "chmod", "chown", "utimens", "setxattr", "removexattr",
};

int ev_init(struct gfs *fs, unsigned size)
{
	struct ev_ring *ev = &fs->ev;
	mutex_init(&ev->mu);
	ev->size = size ? size : 1;
	ev->slot = xcalloc(ev->size, sizeof(*ev->slot));
	ev->seq = 0;
	atomic_store(&ev->last, 0);
	atomic_store(&ev->bytes, 0);
	atomic_store(&ev->mtime_ns, fs->mount_ns);
	atomic_store(&ev->readers, 0);
	return 0;
}

void ev_destroy(struct gfs *fs)
{
	struct ev_ring *ev = &fs->ev;
	if (!ev->slot)
		return;
	for (size_t i = 0; i < ev->size; i++)
		free(ev->slot[i]);
	free(ev->slot);
	ev->slot = NULL;
	pthread_mutex_destroy(&ev->mu);
}

/* ---- building a line ---- */

struct sbuf {
	char *p;
	size_t len, cap;
};

static void sb_reserve(struct sbuf *b, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = MAX(b->cap * 2, b->len + n + 256);
		b->p = xrealloc(b->p, b->cap);
	}
}

static void sb_put(struct sbuf *b, const void *p, size_t n)
{
	sb_reserve(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void sb_putc(struct sbuf *b, char c)
{
	sb_put(b, &c, 1);
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* Appends a field, escaped (see the top of this file). */
static void sb_field(struct sbuf *b, const void *data, size_t len)
{
	sb_reserve(b, key_escaped_max(len));
	b->len += key_escape(b->p + b->len, data, len, KEYESC_SPACE);
}

/* Appends the names the mount shows for one key component (view: its
 * directory view), chained pieces separated by '/'. */
static void path_component(struct sbuf *b, const uint8_t *c, size_t clen, bool view)
{
	char name[ESC_NAME_MAX + 1];
	for (size_t acc = 0;; acc += ESC_PIECE) {
		enum esc_kind k = esc_encode(c, clen, acc, view, name);
		sb_puts(b, name);
		if (k != ESC_CONT)
			break;
		sb_putc(b, '/');
	}
}

/* Appends the path of k inside its table as the mount shows it (unescaped
 * for the line; sb_field escapes it). "" for the table itself. */
static void path_of(struct sbuf *b, const struct kbuf *k)
{
	if (k->flavor == FL_TABLE)
		return;
	/* The whole components: all of the key, or (a piece) those before
	 * comp_off, each followed by '/'. */
	size_t end = k->flavor == FL_PARTIAL ? k->comp_off : k->len;
	for (size_t start = 0; k->flavor != FL_PARTIAL || start < end;) {
		const uint8_t *slash = memchr(k->b + start, '/', end - start);
		size_t stop = slash ? (size_t)(slash - k->b) : end;
		path_component(b, k->b + start, stop - start, !slash && k->flavor == FL_VIEW);
		if (!slash)
			break;
		sb_putc(b, '/');
		start = stop + 1;
	}
	if (k->flavor == FL_PARTIAL) {
		/* The "%+" pieces of the component from comp_off on, ESC_PIECE
		 * bytes a name. */
		static const char hex[] = "0123456789abcdef";
		for (size_t off = k->comp_off; off < k->len; off += ESC_PIECE) {
			if (off > k->comp_off)
				sb_putc(b, '/');
			sb_puts(b, "%+");
			size_t n = MIN((size_t)ESC_PIECE, k->len - off);
			for (size_t i = 0; i < n; i++) {
				sb_putc(b, hex[k->b[off + i] >> 4]);
				sb_putc(b, hex[k->b[off + i] & 15]);
			}
		}
	}
}

static void table_field(struct gfs *fs, struct sbuf *b, uint32_t table)
{
	char name[GOLITE_MAX_TABLE_NAME + 1];
	if (golite_table_name(fs->db, table, name, sizeof(name)) == 0)
		sb_field(b, name, strlen(name));
	else
		sb_putc(b, '?');   /* dropped meanwhile */
}

/* Appends " TABLE PATH" for the node n (ns taken here). */
static void node_fields(struct gfs *fs, struct sbuf *b, struct node *n, const char *child)
{
	struct kbuf *k = xmalloc(sizeof(*k));
	ns_rdlock(fs);
	node_key(n, k);
	ns_rdunlock(fs);
	sb_putc(b, ' ');
	table_field(fs, b, k->table);
	sb_putc(b, ' ');
	struct sbuf path = { 0 };
	path_of(&path, k);
	if (child) {
		if (path.len)
			sb_putc(&path, '/');
		sb_puts(&path, child);
	}
	if (path.len)
		sb_field(b, path.p, path.len);
	else
		sb_putc(b, '.');
	free(path.p);
	free(k);
}

/* Appends " TABLE PATH" for the entry name of directory dir. */
static void child_fields(struct gfs *fs, struct sbuf *b, struct node *dir, const char *name)
{
	if (dir == &fs->root) {
		sb_putc(b, ' ');
		sb_field(b, name, strlen(name));
		sb_puts(b, " .");
		return;
	}
	node_fields(fs, b, dir, name);
}

static void sb_head(struct sbuf *b, const char *op)
{
	int64_t now = wall_ns();
	char t[64];
	int n = snprintf(t, sizeof(t), "%lld.%06lld %s", (long long)(now / 1000000000),
			 (long long)(now % 1000000000 / 1000), op);
	sb_put(b, t, (size_t)n);
}

static void event_free_cb(struct rcu_head *h)
{
	free(caa_container_of(h, struct event, rcu));
}

/* Numbers the line (b: the body after "SEQ ", without its newline) and
 * publishes it. */
static void publish(struct gfs *fs, struct sbuf *b)
{
	struct ev_ring *ev = &fs->ev;
	sb_putc(b, '\n');
	struct event *e = xmalloc(sizeof(*e) + SEQ_DIGITS + 1 + b->len);
	memcpy(e->text + SEQ_DIGITS + 1, b->p, b->len);
	e->text[SEQ_DIGITS] = ' ';
	rcu_thread_ensure();
	mutex_lock(&ev->mu);
	uint64_t seq = ++ev->seq;
	char d[SEQ_DIGITS];
	unsigned nd = 0;
	for (uint64_t v = seq; v; v /= 10)
		d[SEQ_DIGITS - ++nd] = (char)('0' + v % 10);
	memcpy(e->text + SEQ_DIGITS - nd, d + SEQ_DIGITS - nd, nd);
	e->seq = seq;
	e->off = SEQ_DIGITS - nd;
	e->len = (uint32_t)(nd + 1 + b->len);
	struct event **slot = &ev->slot[seq % ev->size];
	struct event *old = *slot;
	rcu_publish(*slot, e);
	atomic_fetch_add_explicit(&ev->bytes, e->len, memory_order_relaxed);
	atomic_store_explicit(&ev->mtime_ns, wall_ns(), memory_order_relaxed);
	atomic_store_explicit(&ev->last, seq, memory_order_release);
	mutex_unlock(&ev->mu);
	if (old)
		call_rcu(&old->rcu, event_free_cb);
}

void ev_node(struct gfs *fs, enum ev_op op, struct node *n, const char *arg)
{
	if (!ev_wanted(fs) || node_is_ctl(fs, n) || n == &fs->root)
		return;
	struct sbuf b = { 0 };
	sb_head(&b, op_names[op]);
	node_fields(fs, &b, n, NULL);
	if (arg) {
		sb_putc(&b, ' ');
		sb_field(&b, arg, strlen(arg));
	}
	publish(fs, &b);
	free(b.p);
}

void ev_child(struct gfs *fs, enum ev_op op, struct node *dir, const char *name)
{
	if (!ev_wanted(fs))
		return;
	struct sbuf b = { 0 };
	sb_head(&b, op_names[op]);
	child_fields(fs, &b, dir, name);
	publish(fs, &b);
	free(b.p);
}

void ev_rename(struct gfs *fs, struct node *sdir, const char *name, struct node *ddir,
	       const char *newname, unsigned flags)
{
	if (!ev_wanted(fs))
		return;
	struct sbuf b = { 0 };
	sb_head(&b, op_names[(flags & RENAME_EXCHANGE) ? EV_EXCHANGE : EV_RENAME]);
	child_fields(fs, &b, sdir, name);
	child_fields(fs, &b, ddir, newname);
	publish(fs, &b);
	free(b.p);
}

void ev_stat(struct gfs *fs, uint64_t *size, int64_t *mtime_ns)
{
	*size = atomic_load_explicit(&fs->ev.bytes, memory_order_relaxed);
	*mtime_ns = atomic_load_explicit(&fs->ev.mtime_ns, memory_order_relaxed);
}

void ev_push_size(struct gfs *fs)
{
	struct ev_ring *ev = &fs->ev;
	uint64_t size = atomic_load(&ev->bytes);
	uint64_t pushed = atomic_load(&ev->size_pushed);
	if (size <= pushed || !fs->se)
		return;
	atomic_store(&ev->size_pushed, size);
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

/* ---- readers ---- */

struct ev_reader {
	struct gfs *fs;
	pthread_mutex_t mu;          /* one read at a time */
	uint64_t next;               /* the next event to deliver */
	uint64_t missed, missed_from;
	char *pend;                  /* the rest of a line cut by a short read */
	size_t pend_len, pend_off;
};

void *ev_reader_new(struct gfs *fs)
{
	struct ev_reader *r = xcalloc(1, sizeof(*r));
	r->fs = fs;
	mutex_init(&r->mu);
	atomic_fetch_add(&fs->ev.readers, 1);
	r->next = atomic_load(&fs->ev.last) + 1;
	return r;
}

void ev_reader_free(void *p)
{
	struct ev_reader *r = p;
	atomic_fetch_sub(&r->fs->ev.readers, 1);
	pthread_mutex_destroy(&r->mu);
	free(r->pend);
	free(r);
}

/* Copies line into out[*used .. size); what does not fit goes to pend. */
static void put_line(struct ev_reader *r, char *out, size_t size, size_t *used, const char *line,
		     size_t len)
{
	size_t n = MIN(len, size - *used);
	memcpy(out + *used, line, n);
	*used += n;
	if (n < len) {
		r->pend = xmemdup(line + n, len - n);
		r->pend_len = len - n;
		r->pend_off = 0;
	}
}

static void put_missed(struct ev_reader *r, char *out, size_t size, size_t *used)
{
	int64_t now = wall_ns();
	char line[128];
	int n = snprintf(line, sizeof(line), "%llu %lld.%06lld missed %llu\n",
			 (unsigned long long)r->missed_from, (long long)(now / 1000000000),
			 (long long)(now % 1000000000 / 1000), (unsigned long long)r->missed);
	r->missed = 0;
	put_line(r, out, size, used, line, (size_t)n);
}

void ev_read(struct gfs *fs, void *p, size_t size, char **data, size_t *len)
{
	struct ev_reader *r = p;
	struct ev_ring *ev = &fs->ev;
	char *out = xmalloc(size ? size : 1);
	size_t used = 0;
	mutex_lock(&r->mu);
	if (r->pend) {
		size_t n = MIN(size, r->pend_len - r->pend_off);
		memcpy(out, r->pend + r->pend_off, n);
		used = n;
		r->pend_off += n;
		if (r->pend_off == r->pend_len) {
			free(r->pend);
			r->pend = NULL;
		}
	}
	rcu_thread_ensure();
	while (used < size && !r->pend) {
		uint64_t last = atomic_load_explicit(&ev->last, memory_order_acquire);
		if (r->next > last)
			break;
		rcu_read_lock();
		struct event *e = rcu_fetch(ev->slot[r->next % ev->size]);
		if (e->seq > r->next) {
			/* Overwritten (invariant 1): skip to the oldest kept. */
			rcu_read_unlock();
			last = atomic_load_explicit(&ev->last, memory_order_acquire);
			uint64_t oldest = last - ev->size + 1;
			if (oldest <= r->next)
				oldest = r->next + 1;   /* cannot happen (invariant 1) */
			if (!r->missed)
				r->missed_from = r->next;
			r->missed += oldest - r->next;
			r->next = oldest;
			continue;
		}
		if (r->missed) {
			put_missed(r, out, size, &used);
			if (r->pend) {
				/* The event waits for the next read. */
				rcu_read_unlock();
				break;
			}
		}
		put_line(r, out, size, &used, e->text + e->off, e->len);
		rcu_read_unlock();
		r->next++;
	}
	if (r->missed && used < size && !r->pend)
		put_missed(r, out, size, &used);
	mutex_unlock(&r->mu);
	*data = out;
	*len = used;
}
