/*
 * test_crash.c — crash recovery: a child process writes to the store from
 * a deterministic stream of operations and reports each acknowledged one
 * through a pipe; the parent kills it with SIGKILL at a random moment,
 * then a second child opens the store and reports what it holds. The
 * parent checks, against its own model of the stream:
 *
 *   (a) durability: every operation the store promised to keep is there
 *       (in GOLITE_SYNC mode every acknowledged one; in the other modes
 *       every one acknowledged before a golite_sync() that returned);
 *   (b) prefix: the state equals the model after exactly the first N
 *       operations of the round, for some N between that lower bound and
 *       the acknowledged count plus one (the one write in flight).
 *
 * Rounds repeat on the same directory, so recovery runs on top of earlier
 * recoveries (and, with small memtables and log segments, crashes land in
 * rotations, flushes and compactions).
 *
 * The state is three tables of KEYS keys each; one table is renamed back
 * and forth and one dropped and created again, so that the catalog is in
 * the history too. A value names the operation that wrote it and is
 * checked byte for byte.
 *
 * The test process never calls the library itself: writers and verifiers
 * are forked children, so no child inherits the library's threads.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "golite.h"
#include "wal.h"
#include "testutil.h"

#define KEYS 48
#define NAMES 4
#define MAX_BATCH 12
#define MAX_OPS 6000

/* Table names; slot 1 is "c1" or "c1-moved", slot 3 ("c2") comes and goes. */
static const char *const names[NAMES] = { "c0", "c1", "c1-moved", "c2" };

enum op_kind { OP_PUT, OP_DEL, OP_BATCH, OP_RENAME, OP_DROP, OP_CREATE };

struct op_entry {
	uint8_t name;      /* index into names[] */
	uint8_t del;
	uint16_t key;
};

struct op {
	uint8_t kind;
	uint8_t n;         /* entries (1 for put and delete) */
	uint8_t from, to;  /* OP_RENAME; OP_DROP / OP_CREATE use from */
	struct op_entry e[MAX_BATCH];
};

/* The store as the parent sees it: which names exist, and per name and
 * key the operation whose value is there (-1: absent). */
struct state {
	unsigned present;          /* bit per name */
	int64_t cell[NAMES][KEYS];
};

/* ---- keys and values ---- */

static size_t key_bytes(unsigned k, char *buf)
{
	/* Some keys are long, some share long prefixes. */
	int n = snprintf(buf, 32, "key-%03u", k);
	size_t len = (size_t)n;
	if (k % 7 == 3) {
		memset(buf + len, 'p', 300);
		len += 300;
		buf[len++] = (char)('a' + k % 26);
	}
	return len;
}

#define VHEAD 12

/* Length of the value operation op writes to (name, key). */
static size_t value_len(int64_t op, unsigned name, unsigned key)
{
	uint64_t x = tu_mix((uint64_t)op * 131 + name * 7 + key);
	unsigned p = (unsigned)(x % 1000);
	x >>= 10;
	size_t extra;
	if (p < 750)
		extra = x % 65;
	else if (p < 970)
		extra = 64 + x % 2000;
	else if (p < 999)
		extra = 2048 + x % (30 << 10);
	else
		extra = (256 << 10) + x % (1280 << 10);
	return VHEAD + extra;
}

static uint64_t value_tag(int64_t op, unsigned name, unsigned key)
{
	return (uint64_t)op * 1000003 + name * 1009 + key;
}

static void make_value(int64_t op, unsigned name, unsigned key, uint8_t *v, size_t *len)
{
	*len = value_len(op, name, key);
	uint64_t o = (uint64_t)op;
	memcpy(v, &o, 8);
	v[8] = (uint8_t)name;
	v[9] = 0;
	v[10] = (uint8_t)(key & 0xff);
	v[11] = (uint8_t)(key >> 8);
	tu_fill(v + VHEAD, *len - VHEAD, value_tag(op, name, key));
}

/*
 * The operation whose value v is, or -1 with why set. name is not checked
 * against the header: a renamed table carries values written under its
 * old name.
 */
static int64_t value_op(const uint8_t *v, size_t len, unsigned key, char *why, size_t cap)
{
	if (len < VHEAD) {
		snprintf(why, cap, "value of %zu bytes is shorter than its header", len);
		return -1;
	}
	uint64_t o;
	memcpy(&o, v, 8);
	unsigned name = v[8], k = v[10] | (unsigned)v[11] << 8;
	if (k != key || name >= NAMES || o > (uint64_t)1 << 40) {
		snprintf(why, cap, "value header names op %llu name %u key %u", (unsigned long long)o,
			 name, k);
		return -1;
	}
	if (len != value_len((int64_t)o, name, key)) {
		snprintf(why, cap, "value of op %llu has %zu bytes, want %zu", (unsigned long long)o,
			 len, value_len((int64_t)o, name, key));
		return -1;
	}
	if (!tu_check_fill(v + VHEAD, len - VHEAD, value_tag((int64_t)o, name, key))) {
		snprintf(why, cap, "value of op %llu is damaged", (unsigned long long)o);
		return -1;
	}
	return (int64_t)o;
}

/* ---- the operation stream ---- */

/* Generates the round's operations, starting from the names in *present. */
static void generate(struct op *ops, int nops, uint64_t seed, unsigned present, bool ddl)
{
	struct tu_rng r;
	tu_rng_init(&r, seed);
	for (int i = 0; i < nops; i++) {
		struct op *o = &ops[i];
		memset(o, 0, sizeof(*o));
		unsigned live[NAMES], nlive = 0;
		for (unsigned n = 0; n < NAMES; n++)
			if (present & (1u << n))
				live[nlive++] = n;
		uint64_t x = tu_below(&r, 1000);
		if (ddl && x < 6) {
			unsigned slot1 = present & 2 ? 1 : 2;
			o->kind = OP_RENAME;
			o->from = (uint8_t)slot1;
			o->to = (uint8_t)(3 - slot1);
			present = (present & ~(1u << slot1)) | (1u << o->to);
			continue;
		}
		if (ddl && x < 10) {
			o->kind = present & 8 ? OP_DROP : OP_CREATE;
			o->from = 3;
			present ^= 8;
			continue;
		}
		if (nlive == 0)
			abort();
		if (x < 550) {
			o->kind = OP_PUT;
			o->n = 1;
		} else if (x < 750) {
			o->kind = OP_DEL;
			o->n = 1;
			o->e[0].del = 1;
		} else {
			o->kind = OP_BATCH;
			o->n = (uint8_t)(1 + tu_below(&r, MAX_BATCH));
		}
		for (unsigned j = 0; j < o->n; j++) {
			o->e[j].name = (uint8_t)live[tu_below(&r, nlive)];
			o->e[j].key = (uint16_t)tu_below(&r, KEYS);
			if (o->kind == OP_BATCH)
				o->e[j].del = tu_chance(&r, 25);
		}
	}
}

/* Applies operation i to s. */
static void apply(struct state *s, const struct op *o, int64_t i)
{
	switch (o->kind) {
	case OP_RENAME:
		memcpy(s->cell[o->to], s->cell[o->from], sizeof(s->cell[0]));
		for (int k = 0; k < KEYS; k++)
			s->cell[o->from][k] = -1;
		s->present = (s->present & ~(1u << o->from)) | (1u << o->to);
		return;
	case OP_DROP:
		for (int k = 0; k < KEYS; k++)
			s->cell[o->from][k] = -1;
		s->present &= ~(1u << o->from);
		return;
	case OP_CREATE:
		s->present |= 1u << o->from;
		return;
	default:
		for (unsigned j = 0; j < o->n; j++)
			s->cell[o->e[j].name][o->e[j].key] = o->e[j].del ? -1 : i;
	}
}

/* ---- the writer child ---- */

enum { MSG_OPENED = 1, MSG_ACK, MSG_SYNCED, MSG_ERROR };

struct msg {
	int32_t type;
	int32_t val;
};

static void send_msg(int fd, int type, int val)
{
	struct msg m = { type, val };
	if (write(fd, &m, sizeof(m)) != sizeof(m))
		_exit(5);
}

struct config {
	const char *name;
	enum golite_durability durability;
	enum golite_memtable_kind memtable;
	bool call_sync;        /* golite_sync every SYNC_EVERY operations */
	bool ddl;              /* renames, drops and creates in the stream */
	int rounds;
	uint64_t seed;
};

#define SYNC_EVERY 16

static golite_options options(const struct config *c)
{
	golite_options o;
	golite_options_init(&o);
	o.durability = c->durability;
	o.memtable = c->memtable;
	o.memtable_size = 256 << 10;
	o.wal_segment_size = 1 << 20;
	o.sstable_size = 256 << 10;
	o.sync_interval_ms = 20;
	return o;
}

static int do_op(golite *db, const struct op *o, int64_t i, uint8_t *vbuf)
{
	char k[400];
	size_t klen, vlen;
	switch (o->kind) {
	case OP_RENAME:
		return golite_table_rename(db, names[o->from], names[o->to]);
	case OP_DROP:
		return golite_table_drop(db, names[o->from], 0);
	case OP_CREATE:
		return golite_table_create(db, names[o->from]);
	case OP_PUT:
		klen = key_bytes(o->e[0].key, k);
		make_value(i, o->e[0].name, o->e[0].key, vbuf, &vlen);
		return golite_put(db, names[o->e[0].name], k, klen, vbuf, vlen);
	case OP_DEL:
		klen = key_bytes(o->e[0].key, k);
		return golite_delete(db, names[o->e[0].name], k, klen);
	default: {
		golite_batch *b = golite_batch_new();
		for (unsigned j = 0; j < o->n; j++) {
			klen = key_bytes(o->e[j].key, k);
			int r;
			if (o->e[j].del) {
				r = golite_batch_delete(b, names[o->e[j].name], k, klen);
			} else {
				make_value(i, o->e[j].name, o->e[j].key, vbuf, &vlen);
				r = golite_batch_put(b, names[o->e[j].name], k, klen, vbuf, vlen);
			}
			if (r) {
				golite_batch_free(b);
				return r;
			}
		}
		int r = golite_write(db, b);
		golite_batch_free(b);
		return r;
	}
	}
}

static void writer(const char *dir, const struct config *c, const struct op *ops, int nops,
		   int64_t first, int fd)
{
	golite_options o = options(c);
	golite *db = NULL;
	int r = golite_open(dir, &o, &db);
	if (r) {
		send_msg(fd, MSG_ERROR, r);
		fprintf(stderr, "writer: open: %s\n", golite_last_error());
		_exit(3);
	}
	send_msg(fd, MSG_OPENED, 0);
	uint8_t *vbuf = malloc(2 << 20);
	for (int i = 0; i < nops; i++) {
		r = do_op(db, &ops[i], first + i, vbuf);
		if (r) {
			fprintf(stderr, "writer: operation %d: %s\n", i, golite_last_error());
			send_msg(fd, MSG_ERROR, r);
			_exit(4);
		}
		send_msg(fd, MSG_ACK, i);
		if (c->call_sync && i % SYNC_EVERY == SYNC_EVERY - 1) {
			r = golite_sync(db);
			if (r) {
				send_msg(fd, MSG_ERROR, r);
				_exit(4);
			}
			send_msg(fd, MSG_SYNCED, i + 1);
		}
	}
	r = golite_close(db);
	_exit(r ? 6 : 0);
}

/* ---- the verifier child ---- */

struct report {
	int32_t status;            /* 0, or the failing call's error */
	struct state s;
	char msg[512];
};

static void report_fail(int fd, struct report *rep, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), noreturn));

static void report_fail(int fd, struct report *rep, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	rep->status = status ? status : -999;
	vsnprintf(rep->msg, sizeof(rep->msg), fmt, ap);
	va_end(ap);
	if (write(fd, rep, sizeof(*rep)) != sizeof(*rep))
		_exit(5);
	_exit(0);
}

static int name_index(const char *n)
{
	for (int i = 0; i < NAMES; i++)
		if (strcmp(n, names[i]) == 0)
			return i;
	return -1;
}

static void verifier(const char *dir, const struct config *c, bool read_only, int fd)
{
	static struct report rep;
	memset(&rep, 0, sizeof(rep));
	golite_options o = options(c);
	o.read_only = read_only;
	golite *db = NULL;
	int r = golite_open(dir, &o, &db);
	if (r)
		report_fail(fd, &rep, r, "open%s after the crash: %s (%s)",
			    read_only ? " (read-only)" : "", golite_strerror(r), golite_last_error());
	char **list;
	size_t count;
	r = golite_table_list(db, &list, &count);
	if (r)
		report_fail(fd, &rep, r, "table list: %s", golite_strerror(r));
	for (size_t i = 0; i < count; i++) {
		int n = name_index(list[i]);
		if (n < 0)
			report_fail(fd, &rep, 0, "unknown table \"%s\" after the crash", list[i]);
		rep.s.present |= 1u << n;
	}
	golite_free(list);
	char why[200], kb[400];
	for (int n = 0; n < NAMES; n++) {
		for (int k = 0; k < KEYS; k++)
			rep.s.cell[n][k] = -1;
		if (!(rep.s.present & (1u << n)))
			continue;
		/* The scan. */
		golite_iter *it;
		r = golite_iter_new(db, names[n], NULL, &it);
		if (r)
			report_fail(fd, &rep, r, "iter_new %s: %s", names[n], golite_strerror(r));
		int expect_next = 0;
		for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
			size_t klen, vlen;
			const char *key = golite_iter_key(it, &klen);
			const uint8_t *v = golite_iter_value(it, &vlen);
			int k = -1;
			for (int j = expect_next; j < KEYS && k < 0; j++) {
				size_t l = key_bytes((unsigned)j, kb);
				if (l == klen && memcmp(kb, key, l) == 0)
					k = j;
			}
			if (k < 0)
				report_fail(fd, &rep, 0, "table %s: scan finds unknown or misordered key %s",
					    names[n], tu_show(key, klen, why, sizeof(why)));
			expect_next = k + 1;
			int64_t op = value_op(v, vlen, (unsigned)k, why, sizeof(why));
			if (op < 0)
				report_fail(fd, &rep, 0, "table %s key %d (scan): %s", names[n], k, why);
			rep.s.cell[n][k] = op;
		}
		if (golite_iter_status(it))
			report_fail(fd, &rep, golite_iter_status(it), "table %s: iterator failed",
				    names[n]);
		golite_iter_free(it);
		/* Point reads must agree with the scan. */
		for (int k = 0; k < KEYS; k++) {
			size_t klen = key_bytes((unsigned)k, kb);
			void *v = NULL;
			size_t vlen = 0;
			r = golite_get(db, names[n], kb, klen, &v, &vlen);
			int64_t op = -1;
			if (r == 0) {
				op = value_op(v, vlen, (unsigned)k, why, sizeof(why));
				if (op < 0)
					report_fail(fd, &rep, 0, "table %s key %d (get): %s", names[n], k,
						    why);
			} else if (r != GOLITE_ENOTFOUND) {
				report_fail(fd, &rep, r, "get %s key %d: %s", names[n], k,
					    golite_strerror(r));
			}
			golite_free(v);
			if (op != rep.s.cell[n][k])
				report_fail(fd, &rep, 0,
					    "table %s key %d: golite_get finds op %lld, the scan op %lld",
					    names[n], k, (long long)op, (long long)rep.s.cell[n][k]);
		}
	}
	r = golite_close(db);
	if (r)
		report_fail(fd, &rep, r, "close: %s", golite_strerror(r));
	if (write(fd, &rep, sizeof(rep)) != sizeof(rep))
		_exit(5);
	_exit(0);
}

/* Runs the verifier in a child and returns its report. */
static void verify(const char *dir, const struct config *c, bool read_only, struct report *rep)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[0]);
		verifier(dir, c, read_only, p[1]);
	}
	close(p[1]);
	size_t got = 0;
	while (got < sizeof(*rep)) {
		ssize_t n = read(p[0], (char *)rep + got, sizeof(*rep) - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	cr_assert_eq(got, sizeof(*rep), "the verifier died (status %d) in %s", st, dir);
}

/* ---- the parent ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct outcome {
	int acked;             /* operations acknowledged */
	int synced;            /* operations made durable by golite_sync */
	bool opened;
	bool finished;         /* ran every operation and closed cleanly */
	int error;             /* an operation failed */
};

/* Runs a writer of ops (numbered from first) and kills it after delay_ms
 * (or lets it finish). */
static struct outcome run_writer(const char *dir, const struct config *c, const struct op *ops,
				 int nops, int64_t first, unsigned delay_ms)
{
	int p[2];
	cr_assert_eq(pipe(p), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[0]);
		writer(dir, c, ops, nops, first, p[1]);
	}
	close(p[1]);
	struct outcome out = { 0 };
	uint64_t deadline = now_ms() + delay_ms;
	bool killed = false, eof = false;
	struct msg m;
	size_t have = 0;
	for (;;) {
		int64_t left = (int64_t)(deadline - now_ms());
		if (!killed && left <= 0) {
			kill(pid, SIGKILL);
			killed = true;
		}
		struct pollfd pf = { p[0], POLLIN, 0 };
		int pr = poll(&pf, 1, killed ? -1 : (int)(left > 0 ? left : 0));
		if (pr <= 0)
			continue;
		ssize_t n = read(p[0], (char *)&m + have, sizeof(m) - have);
		if (n <= 0) {
			eof = true;
			break;
		}
		have += (size_t)n;
		if (have < sizeof(m))
			continue;
		have = 0;
		if (m.type == MSG_OPENED)
			out.opened = true;
		else if (m.type == MSG_ACK)
			out.acked = m.val + 1;
		else if (m.type == MSG_SYNCED)
			out.synced = m.val;
		else if (m.type == MSG_ERROR)
			out.error = m.val;
	}
	(void)eof;
	close(p[0]);
	int st;
	waitpid(pid, &st, 0);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		out.finished = true;
	else if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) && !out.error)
		out.error = -1000 - (WIFEXITED(st) ? WEXITSTATUS(st) : 0);
	return out;
}

/* Number of cells where a and b differ (a name present in one only counts
 * once more). */
static int distance(const struct state *a, const struct state *b)
{
	int d = __builtin_popcount(a->present ^ b->present);
	for (int n = 0; n < NAMES; n++)
		for (int k = 0; k < KEYS; k++)
			d += a->cell[n][k] != b->cell[n][k];
	return d;
}

static void describe_diff(const struct state *want, const struct state *got, char *buf,
			  size_t cap)
{
	size_t o = (size_t)snprintf(buf, cap, "tables present: want %#x, found %#x;",
				    want->present, got->present);
	int shown = 0;
	for (int n = 0; n < NAMES; n++)
		for (int k = 0; k < KEYS && shown < 6; k++)
			if (want->cell[n][k] != got->cell[n][k] && o < cap) {
				o += (size_t)snprintf(buf + o, cap - o, " %s/key-%03d: want op %lld, found %lld;",
						      names[n], k, (long long)want->cell[n][k],
						      (long long)got->cell[n][k]);
				shown++;
			}
}

static void run_crash(const struct config *c)
{
	uint64_t seed = tu_seed(c->name, c->seed);
	struct tu_rng rng;
	tu_rng_init(&rng, seed);
	char *dir = tu_tmpdir("crash");
	struct op *ops = malloc(MAX_OPS * sizeof(*ops));

	/* The tables, made by a writer that runs no operations. */
	struct state base;
	memset(&base, 0, sizeof(base));
	for (int n = 0; n < NAMES; n++)
		for (int k = 0; k < KEYS; k++)
			base.cell[n][k] = -1;
	{
		struct op mk[3] = { { .kind = OP_CREATE, .from = 0 },
				    { .kind = OP_CREATE, .from = 1 },
				    { .kind = OP_CREATE, .from = 3 } };
		struct outcome out = run_writer(dir, c, mk, 3, 0, 60000);
		cr_assert(out.finished && out.acked == 3, "creating the tables failed (%d)",
			  out.error);
		base.present = 1 | 2 | 8;
	}

	int kills = 0, finished = 0, lost_total = 0;
	int64_t ops_done = 0;
	for (int round = 0; round < c->rounds; round++) {
		uint64_t round_seed = tu_mix(seed + (uint64_t)round);
		int nops = c->durability == GOLITE_SYNC ? 3000 : MAX_OPS;
		generate(ops, nops, round_seed, base.present, c->ddl);
		/* Operations are numbered across rounds, so that values written
		 * in different rounds never look alike. */
		int64_t first = (int64_t)(round + 1) * MAX_OPS;
		/* Some kills land in the open (recovery), most in the writes. */
		unsigned delay = tu_chance(&rng, 20) ? (unsigned)tu_below(&rng, 10)
						     : (unsigned)tu_below(&rng, 150);
		struct outcome out = run_writer(dir, c, ops, nops, first, delay);
		cr_assert_eq(out.error, 0,
			     "round %d: an operation failed in the writer: %s (seed %llu, dir %s)",
			     round, golite_strerror(out.error), (unsigned long long)seed, dir);
		kills += !out.finished;
		finished += out.finished;

		struct report rep;
		verify(dir, c, round % 2 == 0, &rep);
		cr_assert_eq(rep.status, 0, "round %d (acked %d): %s (seed %llu, dir %s)", round,
			     out.acked, rep.msg, (unsigned long long)seed, dir);

		int lower = out.finished ? out.acked
			    : c->durability == GOLITE_SYNC ? out.acked
			    : c->call_sync ? out.synced : 0;
		int upper = out.finished ? out.acked : out.acked + 1;
		if (upper > nops)
			upper = nops;

		/* Walk the history: model after N operations, N = 0..upper. */
		struct state model = base;
		int best = -1, best_d = INT32_MAX, match = -1;
		const struct state *found = &rep.s;
		for (int n_ops = 0; n_ops <= upper; n_ops++) {
			if (n_ops > 0)
				apply(&model, &ops[n_ops - 1], first + n_ops - 1);
			int d = distance(&model, found);
			if (d < best_d) {
				best_d = d;
				best = n_ops;
			}
			if (d == 0 && n_ops >= lower) {
				match = n_ops;
				break;
			}
		}
		if (match < 0) {
			struct state want = base;
			int n_show = best < lower ? lower : best;
			for (int i = 0; i < n_show; i++)
				apply(&want, &ops[i], first + i);
			char diff[1024];
			describe_diff(&want, found, diff, sizeof(diff));
			cr_assert_fail("round %d: the store after the crash is no prefix of the history "
				       "that keeps what was promised: acknowledged %d, synced %d, "
				       "finished %d; must match N in [%d, %d]; closest N is %d "
				       "(%d cells differ); at N=%d: %s (seed %llu, kill after %u ms, "
				       "dir %s)",
				       round, out.acked, out.synced, out.finished, lower, upper, best,
				       best_d, n_show, diff, (unsigned long long)seed, delay, dir);
		}
		lost_total += out.acked - match > 0 ? out.acked - match : 0;
		ops_done += match;
		/* The next round starts from what survived. */
		base = model;
	}
	fprintf(stderr,
		"%s: %d rounds, %d killed, %d ran to the end, %lld operations kept, %d acknowledged "
		"ones lost (allowed in this mode)\n",
		c->name, c->rounds, kills, finished, (long long)ops_done, lost_total);
	/* For scripts/torture.sh; reached only when every round checked out. */
	fprintf(stderr, "summary: crash_rounds=%d kills=%d lost=0\n", c->rounds, kills);
	free(ops);
	tu_rmtree(dir);
}

TestSuite(crash, .timeout = 240);

Test(crash, sync_mode_keeps_every_acknowledged_write)
{
	struct config c = { "crash/sync_mode_keeps_every_acknowledged_write", GOLITE_SYNC,
			    GOLITE_MEMTABLE_LOCKFREE, false, true, 30, 11 };
	run_crash(&c);
}

Test(crash, sync_mode_with_locked_memtable)
{
	struct config c = { "crash/sync_mode_with_locked_memtable", GOLITE_SYNC,
			    GOLITE_MEMTABLE_LOCKED, false, false, 15, 12 };
	run_crash(&c);
}

Test(crash, periodic_mode_recovers_a_prefix)
{
	struct config c = { "crash/periodic_mode_recovers_a_prefix", GOLITE_PERIODIC,
			    GOLITE_MEMTABLE_LOCKFREE, false, true, 30, 13 };
	run_crash(&c);
}

Test(crash, periodic_mode_keeps_what_golite_sync_returned_for)
{
	struct config c = { "crash/periodic_mode_keeps_what_golite_sync_returned_for",
			    GOLITE_PERIODIC, GOLITE_MEMTABLE_LOCKFREE, true, true, 30, 14 };
	run_crash(&c);
}

Test(crash, none_mode_keeps_what_golite_sync_returned_for)
{
	struct config c = { "crash/none_mode_keeps_what_golite_sync_returned_for", GOLITE_NONE,
			    GOLITE_MEMTABLE_LOCKFREE, true, true, 30, 15 };
	run_crash(&c);
}

/* ---- damaged logs, made by hand ---- */

struct log_sink {
	int warnings;
	char last[512];
};

static void log_to_sink(void *ctx, enum golite_log_level level, const char *msg)
{
	struct log_sink *s = ctx;
	if (level <= GOLITE_LOG_WARN) {
		s->warnings++;
		snprintf(s->last, sizeof(s->last), "%s", msg);
	}
}

/* The log segment in dir holding the most record bytes, and where its
 * records end (zeros written ahead may follow them). */
static void largest_segment(const char *dir, char *path, size_t cap, off_t *size)
{
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "ls '%s'/*.wal", dir);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char line[PATH_MAX];
	uint64_t best = 0;
	path[0] = '\0';
	while (fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		uint64_t end;
		cr_assert_eq(wal_file_records_end(line, &end), 0, "cannot read %s", line);
		if (!path[0] || end > best) {
			best = end;
			snprintf(path, cap, "%s", line);
		}
	}
	pclose(p);
	cr_assert(path[0], "no log segment in %s", dir);
	*size = (off_t)best;
}

static char *listing(const char *dir)
{
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "cd '%s' && ls | sort | xargs -r md5sum", dir);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char *buf = calloc(1, 1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, p);
	buf[n] = '\0';
	pclose(p);
	return buf;
}

#define HAND_KEYS 40

/* A store whose log holds HAND_KEYS records, one put each. */
static char *store_with_records(void)
{
	char *dir = tu_tmpdir("hand");
	golite_options o;
	golite_options_init(&o);
	o.flush_on_close = false;   /* leave the writes in the log */
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	for (int i = 0; i < HAND_KEYS; i++) {
		char k[16], v[200];
		snprintf(k, sizeof(k), "k%02d", i);
		memset(v, 'a' + i % 26, sizeof(v));
		cr_assert_eq(golite_put(db, "t", k, strlen(k), v, sizeof(v)), 0);
	}
	cr_assert_eq(golite_close(db), 0);
	return dir;
}

static int count_keys(golite *db)
{
	int n = 0;
	for (int i = 0; i < HAND_KEYS; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%02d", i);
		n += golite_exists(db, "t", k, strlen(k));
	}
	return n;
}

Test(crash, torn_last_record_is_dropped_and_reported)
{
	char *dir = store_with_records();
	char seg[PATH_MAX];
	off_t size;
	largest_segment(dir, seg, sizeof(seg), &size);
	/* Past the mark record a clean close ends the segment with (wal.c),
	 * into the last data record. */
	cr_assert_eq(truncate(seg, size - WAL_RECORD_OVERHEAD - 7), 0);
	struct log_sink sink = { 0 };
	golite_options o;
	golite_options_init(&o);
	o.log = log_to_sink;
	o.log_ctx = &sink;
	golite *db = tu_open(dir, &o);
	cr_assert_eq(count_keys(db), HAND_KEYS - 1, "a torn last record must cost that record only");
	cr_assert(!golite_exists(db, "t", "k39", 3));
	cr_assert_geq(sink.warnings, 1, "the dropped tail was not reported");
	cr_assert(strstr(sink.last, ".wal"), "report \"%s\" names no log file", sink.last);
	/* Writing on after recovery, and again after a reopen. */
	cr_assert_eq(golite_put(db, "t", "k39", 3, "again", 5), 0);
	cr_assert_eq(golite_close(db), 0);
	db = tu_open(dir, NULL);
	cr_assert_eq(count_keys(db), HAND_KEYS);
	golite_close(db);
	tu_rmtree(dir);
}

Test(crash, garbage_after_the_last_record_is_dropped)
{
	char *dir = store_with_records();
	char seg[PATH_MAX];
	off_t size;
	largest_segment(dir, seg, sizeof(seg), &size);
	FILE *f = fopen(seg, "a");
	cr_assert_not_null(f);
	for (int i = 0; i < 100; i++)
		fputc(0x5a ^ i, f);
	fclose(f);
	golite *db = tu_open(dir, NULL);
	cr_assert_eq(count_keys(db), HAND_KEYS);
	cr_assert_eq(golite_put(db, "t", "after", 5, "x", 1), 0);
	cr_assert_eq(golite_close(db), 0);
	db = tu_open(dir, NULL);
	cr_assert_eq(count_keys(db), HAND_KEYS);
	cr_assert(golite_exists(db, "t", "after", 5));
	golite_close(db);
	tu_rmtree(dir);
}

Test(crash, read_only_open_of_a_torn_log_changes_nothing)
{
	char *dir = store_with_records();
	char seg[PATH_MAX];
	off_t size;
	largest_segment(dir, seg, sizeof(seg), &size);
	/* Past the mark record a clean close ends the segment with (wal.c),
	 * into the last data record. */
	cr_assert_eq(truncate(seg, size - WAL_RECORD_OVERHEAD - 7), 0);
	char *before = listing(dir);
	golite_options o;
	golite_options_init(&o);
	o.read_only = true;
	golite *db = tu_open(dir, &o);
	cr_assert_eq(count_keys(db), HAND_KEYS - 1);
	golite_close(db);
	char *after = listing(dir);
	cr_assert_str_eq(before, after, "a read-only open repaired the log");
	free(before);
	free(after);
	tu_rmtree(dir);
}

Test(crash, damage_before_the_tail_is_refused_naming_file_and_offset)
{
	/* The log was synced by golite_close: every record is durable, and a
	 * damaged one in the middle is damage, not a torn tail. */
	char *dir = store_with_records();
	char seg[PATH_MAX];
	off_t size;
	largest_segment(dir, seg, sizeof(seg), &size);
	/* A byte in the middle of the records: later records stay valid. */
	FILE *f = fopen(seg, "r+");
	cr_assert_not_null(f);
	fseek(f, size / 2, SEEK_SET);
	int c = fgetc(f);
	fseek(f, size / 2, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
	char *before = listing(dir);
	const bool ro[] = { true, false };
	for (int i = 0; i < 2; i++) {
		golite_options o;
		golite_options_init(&o);
		o.read_only = ro[i];
		o.flush_on_close = false;
		golite *db = NULL;
		int r = golite_open(dir, &o, &db);
		if (r == 0) {
			int n = count_keys(db);
			golite_close(db);
			char *after = listing(dir);
			bool changed = strcmp(before, after) != 0;
			free(after);
			cr_assert_fail("%sopen of a log damaged in the middle (offset %lld of %lld, "
				       "all of it synced by golite_close) succeeded: %d of %d keys "
				       "left, files %s",
				       ro[i] ? "read-only " : "", (long long)size / 2, (long long)size,
				       n, HAND_KEYS,
				       changed ? "changed (the segment was cut at the damage)"
					       : "unchanged");
		}
		cr_assert_eq(r, GOLITE_ECORRUPT, "%sopen of a log damaged before its tail: %s",
			     ro[i] ? "read-only " : "", golite_strerror(r));
		cr_assert_null(db);
		const char *msg = golite_last_error();
		const char *base = strrchr(seg, '/') + 1;
		cr_assert(strstr(msg, base), "\"%s\" does not name %s", msg, base);
		cr_assert(strstr(msg, "offset"), "\"%s\" gives no offset", msg);
	}
	char *after = listing(dir);
	cr_assert_str_eq(before, after, "a refused open changed files:\n%s---\n%s", before, after);
	free(before);
	free(after);
	tu_rmtree(dir);
}

Test(crash, damage_before_records_synced_in_sync_mode_is_refused)
{
	/* The same in GOLITE_SYNC mode, where each record was on disk before
	 * the next was written. */
	char *dir = tu_tmpdir("hand");
	golite_options o;
	golite_options_init(&o);
	o.flush_on_close = false;
	o.durability = GOLITE_SYNC;
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	for (int i = 0; i < HAND_KEYS; i++) {
		char k[16], v[200];
		snprintf(k, sizeof(k), "k%02d", i);
		memset(v, 'a' + i % 26, sizeof(v));
		cr_assert_eq(golite_put(db, "t", k, strlen(k), v, sizeof(v)), 0);
	}
	cr_assert_eq(golite_close(db), 0);
	char seg[PATH_MAX];
	off_t size;
	largest_segment(dir, seg, sizeof(seg), &size);
	FILE *f = fopen(seg, "r+");
	cr_assert_not_null(f);
	fseek(f, size / 2, SEEK_SET);
	int c = fgetc(f);
	fseek(f, size / 2, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
	o.read_only = true;
	db = NULL;
	int r = golite_open(dir, &o, &db);
	int n = r == 0 ? count_keys(db) : -1;
	golite_close(db);
	cr_assert_eq(r, GOLITE_ECORRUPT, "read-only open: %s (%d keys left)", golite_strerror(r), n);
	cr_assert(strstr(golite_last_error(), "offset"));
	tu_rmtree(dir);
}

/* ---- what a power cut would keep: an audit of syncs ----
 *
 * A killed process keeps what it wrote to the page cache, so the tests
 * above cannot see a missing fsync. Here the io.h hook follows every
 * write, sync, rename, unlink and directory sync, and checks the ordering
 * that a power cut needs: an acknowledged log record is synced and its
 * segment's directory entry too; a manifest is renamed into place only
 * when it and every table it can name are synced; a log segment is
 * unlinked only after the manifest that retires it is durable.
 */

#include <pthread.h>

#include "io.h"
#include "manifest.h"

#define AUDIT_FILES 512

static struct {
	pthread_mutex_t mu;
	struct {
		char name[64];
		uint64_t pending;      /* bytes written since the last sync */
		bool undurable;        /* created or renamed, directory not synced */
	} f[AUDIT_FILES];
	int n;
	bool manifest_undurable;   /* renamed into place, directory not synced */
	uint64_t wal_synced;       /* log bytes written and then synced */
	char violation[512];
	uint64_t writes, syncs, dirsyncs, renames;
	char dir[PATH_MAX];
} audit = { .mu = PTHREAD_MUTEX_INITIALIZER };

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int audit_slot(const char *name)
{
	for (int i = 0; i < audit.n; i++)
		if (strcmp(audit.f[i].name, name) == 0)
			return i;
	if (audit.n == AUDIT_FILES)
		return -1;
	snprintf(audit.f[audit.n].name, sizeof(audit.f[0].name), "%s", name);
	audit.f[audit.n].pending = 0;
	audit.f[audit.n].undurable = false;
	return audit.n++;
}

static const char *base_of(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

static bool fd_name(int fd, char *name, size_t cap)
{
	char link[64], path[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return false;
	path[n] = '\0';
	const char *b = base_of(path);
	size_t l = strlen(b);
	if (l >= cap)
		return false;
	memcpy(name, b, l + 1);
	return true;
}

__attribute__((format(printf, 1, 2))) static void violation(const char *fmt, ...)
{
	if (audit.violation[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(audit.violation, sizeof(audit.violation), fmt, ap);
	va_end(ap);
}

/* Set while the audit reads a manifest itself: its own I/O is not the
 * store's. */
static __thread bool audit_reading;

/* True if the manifest about to be published at path names table name:
 * a table being written meanwhile by other work (a flush beside a reclaim
 * pass) need not be durable yet, one the manifest names must. */
static bool manifest_names(const char *path, const char *name)
{
	struct manifest m;
	audit_reading = true;
	int r = manifest_read_file(path, &m);
	audit_reading = false;
	if (r)
		return true;
	bool named = false;
	for (size_t i = 0; i < m.nfiles && !named; i++) {
		char n[32];
		snprintf(n, sizeof(n), "%08llu.sst", (unsigned long long)m.files[i].meta.file_no);
		named = strcmp(n, name) == 0;
	}
	manifest_free(&m);
	return named;
}

static int audit_hook(void *ctx, enum io_op op, const char *path, int fd, size_t *len)
{
	(void)ctx;
	char name[64];
	if (audit_reading)
		return 0;
	pthread_mutex_lock(&audit.mu);
	switch (op) {
	case IO_OPEN:
		if (access(path, F_OK) != 0) {
			int i = audit_slot(base_of(path));
			if (i >= 0)
				audit.f[i].undurable = true;
		}
		break;
	case IO_PWRITE:
		if (fd_name(fd, name, sizeof(name))) {
			int i = audit_slot(name);
			if (i >= 0)
				audit.f[i].pending += *len;
		}
		audit.writes++;
		break;
	case IO_FDATASYNC:
	case IO_FSYNC:
		if (fd_name(fd, name, sizeof(name))) {
			int i = audit_slot(name);
			if (i >= 0) {
				if (ends_with(name, ".wal"))
					audit.wal_synced += audit.f[i].pending;
				audit.f[i].pending = 0;
			}
		}
		audit.syncs++;
		break;
	case IO_SYNCDIR:
		for (int i = 0; i < audit.n; i++)
			audit.f[i].undurable = false;
		audit.manifest_undurable = false;
		audit.dirsyncs++;
		break;
	case IO_RENAME: {
		int i = audit_slot(base_of(path));
		if (i >= 0 && audit.f[i].pending)
			violation("%s renamed with %llu bytes never synced", base_of(path),
				  (unsigned long long)audit.f[i].pending);
		if (ends_with(path, "MANIFEST.tmp")) {
			for (int j = 0; j < audit.n; j++)
				if (ends_with(audit.f[j].name, ".sst") &&
				    (audit.f[j].pending || audit.f[j].undurable) &&
				    manifest_names(path, audit.f[j].name))
					violation("manifest published while table %s is not durable "
						  "(%llu bytes unsynced, directory entry %s)",
						  audit.f[j].name, (unsigned long long)audit.f[j].pending,
						  audit.f[j].undurable ? "not synced" : "synced");
			audit.manifest_undurable = true;
		}
		audit.renames++;
		break;
	}
	case IO_UNLINK:
		if (ends_with(path, ".wal") && audit.manifest_undurable)
			violation("log segment %s unlinked before the manifest retiring it is durable",
				  base_of(path));
		{
			int i = audit_slot(base_of(path));
			if (i >= 0) {
				audit.f[i].pending = 0;
				audit.f[i].undurable = false;
			}
		}
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&audit.mu);
	return 0;
}

static uint64_t audit_wal_synced(void)
{
	pthread_mutex_lock(&audit.mu);
	uint64_t n = audit.wal_synced;
	pthread_mutex_unlock(&audit.mu);
	return n;
}

/*
 * True if the last `pending` bytes of log segment `name`'s records are marks
 * (wal.c: written after a sync, vouching for it, and not data themselves).
 * The hook counts a write before it happens: give it a moment to land.
 */
static bool only_marks_pending(const char *name, uint64_t pending)
{
	if (pending % WAL_RECORD_OVERHEAD)
		return false;
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", audit.dir, name);
	for (int attempt = 0; attempt < 200; attempt++) {
		uint8_t buf[16 * WAL_RECORD_OVERHEAD];
		/* Read with stdio: the audit holds its lock, and the engine's
		 * io calls would enter the hook again. */
		FILE *f = fopen(path, "rb");
		uint8_t *all = NULL;
		size_t n = 0;
		if (f && fseek(f, 0, SEEK_END) == 0) {
			long len = ftell(f);
			all = len > 0 ? malloc((size_t)len) : NULL;
			if (all && fseek(f, 0, SEEK_SET) == 0 &&
			    fread(all, 1, (size_t)len, f) == (size_t)len)
				n = (size_t)len;
		}
		if (f)
			fclose(f);
		size_t end = n ? wal_records_end(all, n) : 0;
		bool ok = pending <= sizeof(buf) && end >= pending;
		if (ok)
			memcpy(buf, all + end - pending, pending);
		free(all);
		for (uint64_t off = 0; ok && off < pending; off += WAL_RECORD_OVERHEAD) {
			struct wal_record rec;
			ok = wal_record_parse(buf + off, WAL_RECORD_OVERHEAD, 0, &rec) &&
			     rec.type == WAL_REC_MARK;
		}
		if (ok)
			return true;
		usleep(1000);
	}
	return false;
}

/* Every log segment is durable up to what was written, and at least
 * `bytes` more were synced since `before`: called where the store has
 * acknowledged something as durable. */
static void audit_log_durable_since(const char *what, uint64_t before, uint64_t bytes)
{
	uint64_t now = audit_wal_synced();
	if (now < before + bytes)
		violation("%s returned, but only %llu log bytes were synced for a record of at "
			  "least %llu", what, (unsigned long long)(now - before),
			  (unsigned long long)bytes);
	pthread_mutex_lock(&audit.mu);
	for (int i = 0; i < audit.n; i++)
		if (ends_with(audit.f[i].name, ".wal") &&
		    ((audit.f[i].pending &&
		      !only_marks_pending(audit.f[i].name, audit.f[i].pending)) ||
		     audit.f[i].undurable))
			violation("%s returned while log segment %s is not durable (%llu bytes "
				  "unsynced, directory entry %s)",
				  what, audit.f[i].name, (unsigned long long)audit.f[i].pending,
				  audit.f[i].undurable ? "not synced" : "synced");
	pthread_mutex_unlock(&audit.mu);
	cr_assert_str_empty(audit.violation, "%s", audit.violation);
}

static void audit_log_durable(const char *what)
{
	audit_log_durable_since(what, 0, 0);
}

static void audit_run(enum golite_durability mode)
{
	char *dir = tu_tmpdir("audit");
	snprintf(audit.dir, sizeof(audit.dir), "%s", dir);
	io_set_fault_hook(audit_hook, NULL);
	golite_options o;
	golite_options_init(&o);
	o.durability = mode;
	o.memtable_size = 64 << 10;
	o.wal_segment_size = 1 << 20;
	o.compaction_threads = 0;   /* tables come from flushes and reclaim passes */
	golite *db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	if (mode == GOLITE_SYNC)
		audit_log_durable("golite_table_create");
	char k[32], v[1500];
	for (int i = 0; i < 400; i++) {
		snprintf(k, sizeof(k), "k%04d", i % 300);
		tu_fill(v, sizeof(v), (uint64_t)i);
		int r;
		const char *what;
		uint64_t before = audit_wal_synced(), bytes;
		if (i % 50 == 25) {
			golite_batch *b = golite_batch_new();
			for (int j = 0; j < 5; j++) {
				snprintf(k, sizeof(k), "b%04d-%d", i, j);
				golite_batch_put(b, "t", k, strlen(k), v, 700);
			}
			r = golite_write(db, b);
			golite_batch_free(b);
			what = "golite_write";
			bytes = 5 * 700;
		} else if (i % 7 == 3) {
			r = golite_delete(db, "t", k, strlen(k));
			what = "golite_delete";
			bytes = strlen(k);
		} else {
			r = golite_put(db, "t", k, strlen(k), v, sizeof(v));
			what = "golite_put";
			bytes = sizeof(v);
		}
		cr_assert_eq(r, 0, "%s: %s", what, golite_strerror(r));
		if (mode == GOLITE_SYNC)
			audit_log_durable_since(what, before, bytes);
		if (i % 40 == 39) {
			uint64_t s0 = audit_wal_synced();
			cr_assert_eq(golite_sync(db), 0);
			/* Everything since the last check: at least this record. */
			audit_log_durable_since("golite_sync", mode == GOLITE_SYNC ? s0 : before,
						mode == GOLITE_SYNC ? 0 : bytes);
		}
		if (i % 100 == 99)
			usleep(20000);   /* let flushes run */
	}
	cr_assert_eq(golite_sync(db), 0);
	audit_log_durable("golite_sync");
	golite_stats st;
	golite_stats_get(db, &st);
	cr_assert_eq(golite_close(db), 0);
	audit_log_durable("golite_close");
	io_set_fault_hook(NULL, NULL);
	fprintf(stderr, "audit (%s): %llu writes, %llu syncs, %llu directory syncs, %llu renames, "
		"%llu tables\n", mode == GOLITE_SYNC ? "sync" : mode == GOLITE_NONE ? "none" : "periodic",
		(unsigned long long)audit.writes, (unsigned long long)audit.syncs,
		(unsigned long long)audit.dirsyncs, (unsigned long long)audit.renames,
		(unsigned long long)st.sstable_count);
	cr_assert_str_empty(audit.violation, "%s", audit.violation);
	tu_rmtree(dir);
}

Test(crash, power_cut_audit_sync_mode)
{
	audit_run(GOLITE_SYNC);
}

Test(crash, power_cut_audit_periodic_mode)
{
	audit_run(GOLITE_PERIODIC);
}

Test(crash, power_cut_audit_none_mode)
{
	audit_run(GOLITE_NONE);
}

Test(crash, damage_in_records_made_durable_by_golite_sync_is_refused)
{
	/* A writer syncs with golite_sync() and dies without closing. The
	 * records before the sync were on disk: a crash cannot have torn
	 * them, so damage among them is damage, not a torn tail. */
	char *dir = tu_tmpdir("hand");
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		golite_options o;
		golite_options_init(&o);
		golite *db = NULL;
		if (golite_open(dir, &o, &db) || golite_table_create(db, "t"))
			_exit(1);
		for (int i = 0; i < HAND_KEYS; i++) {
			char k[16], v[200];
			snprintf(k, sizeof(k), "k%02d", i);
			memset(v, 'a' + i % 26, sizeof(v));
			if (golite_put(db, "t", k, strlen(k), v, sizeof(v)))
				_exit(1);
		}
		_exit(golite_sync(db) ? 1 : 0);   /* no close: a crash after the sync */
	}
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the writer failed");
	char seg[PATH_MAX];
	off_t size;
	largest_segment(dir, seg, sizeof(seg), &size);
	FILE *f = fopen(seg, "r+");
	cr_assert_not_null(f);
	fseek(f, size / 2, SEEK_SET);
	int c = fgetc(f);
	fseek(f, size / 2, SEEK_SET);
	fputc(c ^ 0x40, f);
	fclose(f);
	golite_options o;
	golite_options_init(&o);
	o.read_only = true;
	golite *db = NULL;
	int r = golite_open(dir, &o, &db);
	int n = r == 0 ? count_keys(db) : -1;
	golite_close(db);
	cr_assert_eq(r, GOLITE_ECORRUPT,
		     "read-only open of a log damaged at offset %lld of %lld, all of it synced by "
		     "golite_sync: %s, %d of %d keys left",
		     (long long)size / 2, (long long)size, golite_strerror(r), n, HAND_KEYS);
	tu_rmtree(dir);
}
