/*
 * killload.c — the workload and the checker of test_killrounds.sh.
 *
 *   killload work DIR WORKER ROUND SEED BASE JOURNAL
 *   killload verify DIR WORKER BASE JOURNAL NEWBASE
 *
 * work: worker WORKER owns DIR/wWORKER/{a,b}/{f0..f11,t0,t1}. It starts
 * from the files listed in BASE (what the last verification found; absent
 * for the first round) and creates, rewrites (O_TRUNC), appends to,
 * overwrites in place, replaces atomically (temporary name, fsync,
 * rename), renames (across the two directories too) and unlinks files of
 * 512 bytes to a few MiB, until the mount dies under it (ENOTCONN). Most
 * operations are followed by fsync of the file and of the directories
 * involved. Before each operation it appends what it is about to do to
 * JOURNAL (a file outside the mount), and after an fsync returned it
 * appends "S fid": that state of the file is promised.
 *
 * Every 512-byte block written names its file (fid), version and offset
 * in its first 24 bytes and is filled with bytes derived from those three,
 * so a block read back tells what it is and whether it is whole.
 *
 * verify: replays BASE and JOURNAL into the history of each file, then
 * reads everything in DIR/wWORKER and checks, per file:
 *   - a file whose last journaled operation was fsynced is exactly that
 *     state: same name, same size, every block;
 *   - otherwise it is at a name it had from its last fsynced state on, and
 *     each block is a block of one of those states at that offset (or
 *     zeros where a write after the fsync had not landed); blocks the
 *     operations after the fsync did not touch are exactly as fsynced;
 *   - no block names another file, another offset, a version that was
 *     never written there, or is damaged (bytes never written);
 *   - a file is under one name only, and no unknown name exists;
 *   - a file that exists in every state from its last fsync on is found.
 * It writes what it found to NEWBASE (the next round's BASE) and prints
 * "wN: files=.. promised=.. bytes=.. lost=.. bad=..". Exit status 1 when
 * something was lost or bad.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLK 512
#define MAXBLOCKS 8192 /* 4 MiB */
#define NDIRS 2
#define NPERM 12 /* f0..f11 */
#define NTMP 2   /* t0, t1 */
#define NSLOT (NDIRS * (NPERM + NTMP))

static const char *top;   /* DIR */
static int worker;
static char wdir[4096];  /* DIR/wN */

/* ---- blocks ---- */

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static void gen_block(uint8_t *b, uint64_t fid, uint32_t ver, uint64_t off)
{
	memcpy(b, "GLKB", 4);
	memcpy(b + 4, &ver, 4);
	put64(b + 8, fid);
	put64(b + 16, off);
	uint64_t x = mix(fid ^ mix((uint64_t)ver ^ mix(off)));
	for (int i = 24; i < BLK; i += 8) {
		x = mix(x);
		put64(b + i, x);
	}
}

static bool is_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* ---- file states ---- */

struct ext {
	uint64_t start, len;
	uint32_t ver;
};

struct state {
	int slot;       /* -1: absent */
	uint64_t size;
	int n;
	struct ext *e;
	/* the event that made this state: what it changed */
	char ev;        /* 'B' base, 'N' create, 'T', 'W', 'R', 'X', 'U' */
	uint64_t off, len;
	long line;      /* the journal line of the event (0: the base) */
};

struct file {
	uint64_t fid;
	uint32_t maxver;
	int nst, cap;
	struct state *st;
	int synced;     /* index of the last promised state */
	long synced_line; /* the journal line that promised it (0: the base) */
	bool found;
};

static struct file *files;
static int nfiles, capfiles;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		perror("realloc");
		exit(2);
	}
	return p;
}

static struct file *find_file(uint64_t fid)
{
	for (int i = 0; i < nfiles; i++)
		if (files[i].fid == fid)
			return &files[i];
	return NULL;
}

static struct file *new_file(uint64_t fid)
{
	if (nfiles == capfiles) {
		capfiles = capfiles ? capfiles * 2 : 64;
		files = xrealloc(files, (size_t)capfiles * sizeof(*files));
	}
	struct file *f = &files[nfiles++];
	memset(f, 0, sizeof(*f));
	f->fid = fid;
	return f;
}

static struct state *cur(struct file *f)
{
	return &f->st[f->nst - 1];
}

/* Appends a copy of the current state (or an absent one) as a new state. */
static struct state *push_state(struct file *f, char ev)
{
	if (f->nst == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->st = xrealloc(f->st, (size_t)f->cap * sizeof(*f->st));
	}
	struct state *s = &f->st[f->nst];
	if (f->nst == 0) {
		memset(s, 0, sizeof(*s));
		s->slot = -1;
	} else {
		*s = f->st[f->nst - 1];
		s->e = s->n ? xrealloc(NULL, (size_t)s->n * sizeof(*s->e)) : NULL;
		if (s->n)
			memcpy(s->e, f->st[f->nst - 1].e, (size_t)s->n * sizeof(*s->e));
	}
	s->ev = ev;
	s->off = s->len = 0;
	f->nst++;
	return s;
}

/* Worker only: drops history, keeping the current state. */
static void forget_history(struct file *f)
{
	if (f->nst <= 1)
		return;
	for (int i = 0; i < f->nst - 1; i++)
		free(f->st[i].e);
	f->st[0] = f->st[f->nst - 1];
	f->nst = 1;
	f->synced = 0;
}

static void add_ext(struct state *s, uint64_t start, uint64_t len, uint32_t ver)
{
	s->e = xrealloc(s->e, (size_t)(s->n + 1) * sizeof(*s->e));
	s->e[s->n++] = (struct ext){ start, len, ver };
}

/* Sets [off, off+len) to version ver. */
static void set_range(struct state *s, uint64_t off, uint64_t len, uint32_t ver)
{
	struct ext *old = s->e;
	int n = s->n;
	s->e = NULL;
	s->n = 0;
	uint64_t end = off + len;
	for (int i = 0; i < n; i++) {
		uint64_t a = old[i].start, b = old[i].start + old[i].len;
		if (b <= off || a >= end) {
			add_ext(s, a, b - a, old[i].ver);
			continue;
		}
		if (a < off)
			add_ext(s, a, off - a, old[i].ver);
		if (b > end)
			add_ext(s, end, b - end, old[i].ver);
	}
	free(old);
	add_ext(s, off, len, ver);
	if (end > s->size)
		s->size = end;
}

static void truncate_state(struct state *s, uint64_t size)
{
	int j = 0;
	for (int i = 0; i < s->n; i++) {
		if (s->e[i].start >= size)
			continue;
		s->e[j] = s->e[i];
		if (s->e[j].start + s->e[j].len > size)
			s->e[j].len = size - s->e[j].start;
		j++;
	}
	s->n = j;
	s->size = size;
}

/* The version of the block at off in s (0: zeros). */
static uint32_t ver_at(const struct state *s, uint64_t off)
{
	if (off >= s->size)
		return 0;
	for (int i = 0; i < s->n; i++)
		if (off >= s->e[i].start && off < s->e[i].start + s->e[i].len)
			return s->e[i].ver;
	return 0;
}

/* ---- slots ---- */

static const char *dname[NDIRS] = { "a", "b" };

static void slot_name(int slot, char *buf, size_t cap)
{
	int d = slot / (NPERM + NTMP), i = slot % (NPERM + NTMP);
	if (i < NPERM)
		snprintf(buf, cap, "%s/f%d", dname[d], i);
	else
		snprintf(buf, cap, "%s/t%d", dname[d], i - NPERM);
}

static int slot_of(const char *name)
{
	char buf[64];
	for (int s = 0; s < NSLOT; s++) {
		slot_name(s, buf, sizeof(buf));
		if (!strcmp(buf, name))
			return s;
	}
	return -1;
}

static bool slot_is_tmp(int slot)
{
	return slot % (NPERM + NTMP) >= NPERM;
}

static char *slot_path(int slot)
{
	static char buf[2][4200];
	static int k;
	char n[64];
	slot_name(slot, n, sizeof(n));
	char *p = buf[k++ % 2];
	snprintf(p, sizeof(buf[0]), "%s/%s", wdir, n);
	return p;
}

/* ---- base files ---- */

/* BASE: "F fid slotname size maxver" then "E start len ver" lines. */
static void load_base(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		if (errno == ENOENT)
			return;
		perror(path);
		exit(2);
	}
	char line[256];
	struct file *f = NULL;
	while (fgets(line, sizeof(line), fp)) {
		uint64_t fid, size, a, b;
		unsigned ver;
		char name[64];
		if (sscanf(line, "F %" SCNx64 " %63s %" SCNu64 " %u", &fid, name, &size, &ver) == 4) {
			f = new_file(fid);
			f->maxver = ver;
			struct state *s = push_state(f, 'B');
			s->slot = slot_of(name);
			s->size = size;
			if (s->slot < 0) {
				fprintf(stderr, "%s: bad name %s\n", path, name);
				exit(2);
			}
		} else if (f && sscanf(line, "E %" SCNu64 " %" SCNu64 " %u", &a, &b, &ver) == 3) {
			add_ext(cur(f), a, b, ver);
		} else {
			fprintf(stderr, "%s: bad line %s", path, line);
			exit(2);
		}
	}
	fclose(fp);
}

/* ---- the worker ---- */

static int jfd;
static uint64_t rng;
static long n_ops, n_fsyncs;
static uint64_t n_bytes;
static int slots[NSLOT]; /* index into files, -1 free */

static uint64_t rnd(void)
{
	rng = mix(rng);
	return rng;
}

static uint64_t below(uint64_t n)
{
	return rnd() % n;
}

static void jprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void jprintf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (write(jfd, buf, (size_t)n) != n) {
		perror("journal");
		exit(2);
	}
}

static void worker_summary(const char *why)
{
	printf("w%d: %s: ops=%ld fsyncs=%ld bytes_written=%" PRIu64 "\n", worker, why, n_ops,
	       n_fsyncs, n_bytes);
	fflush(stdout);
}

/* Is the mount dead? An open always reaches the daemon (a stat may be
 * answered from the kernel's attribute cache). */
static bool mount_dead(void)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/.golite/stats", top);
	int fd = open(p, O_RDONLY);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	return errno == ENOTCONN || errno == ECONNABORTED;
}

/* An operation failed: a dead mount ends the worker (a write-back error
 * of a dead mount shows as EIO at close or fsync); anything else is a
 * bug. */
static void failed(const char *what, const char *path)
{
	int e = errno;
	if (e == ENOTCONN || e == ECONNABORTED || mount_dead()) {
		worker_summary("mount gone");
		exit(0);
	}
	fprintf(stderr, "w%d: %s %s: %s (the mount is alive)\n", worker, what, path, strerror(e));
	worker_summary("FAILED");
	exit(3);
}

static void fsync_path(const char *path, bool dir)
{
	int fd = open(path, (dir ? O_DIRECTORY : 0) | O_RDONLY);
	if (fd < 0)
		failed("open for fsync", path);
	if (fsync(fd) < 0)
		failed("fsync", path);
	close(fd);
	n_fsyncs++;
}

static void fsync_dir_of(int slot)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", wdir, dname[slot / (NPERM + NTMP)]);
	fsync_path(p, true);
}

static uint8_t *wbuf;

static void write_blocks(int fd, const char *path, uint64_t fid, uint32_t ver, uint64_t off,
			 uint64_t len)
{
	for (uint64_t o = 0; o < len; o += BLK)
		gen_block(wbuf + o, fid, ver, off + o);
	uint64_t done = 0;
	while (done < len) {
		size_t n = len - done > (1u << 20) ? (1u << 20) : (size_t)(len - done);
		ssize_t w = pwrite(fd, wbuf + done, n, (off_t)(off + done));
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			failed("write", path);
		}
		done += (uint64_t)w;
	}
	n_bytes += len;
}

static uint64_t pick_size(void)
{
	uint64_t r = below(100);
	if (r < 60)
		return (1 + below(8)) * BLK;          /* inline: up to 4 KiB */
	if (r < 92)
		return (9 + below(248)) * BLK;        /* chunked, up to 128 KiB */
	return (512 + below(6144 - 512)) * BLK; /* 256 KiB .. 3 MiB */
}

static uint64_t new_fid(int round)
{
	static uint32_t counter;
	return ((uint64_t)(worker + 1) << 48) | ((uint64_t)round << 24) | ++counter;
}

/* A free slot of the kind asked for, or -1. */
static int free_slot(bool tmp)
{
	int cand[NSLOT], n = 0;
	for (int s = 0; s < NSLOT; s++)
		if (slots[s] < 0 && slot_is_tmp(s) == tmp)
			cand[n++] = s;
	return n ? cand[below((uint64_t)n)] : -1;
}

static int used_slot(void)
{
	int cand[NSLOT], n = 0;
	for (int s = 0; s < NSLOT; s++)
		if (slots[s] >= 0)
			cand[n++] = s;
	return n ? cand[below((uint64_t)n)] : -1;
}

/* The file at slot after an fsync of it (and its directory): promised. */
static void promise(struct file *f)
{
	jprintf("S %" PRIx64 "\n", f->fid);
	forget_history(f);
}

static void op_create(int round, int slot)
{
	struct file *f = new_file(new_fid(round));
	int fi = (int)(f - files);
	push_state(f, 'A'); /* absent before */
	const char *p = slot_path(slot);
	char name[64];
	slot_name(slot, name, sizeof(name));
	jprintf("N %" PRIx64 " %s\n", f->fid, name);
	push_state(f, 'N')->slot = slot;
	slots[slot] = fi;
	int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0)
		failed("create", p);
	uint64_t len = pick_size();
	uint32_t ver = ++f->maxver;
	jprintf("W %" PRIx64 " %u 0 %" PRIu64 "\n", f->fid, ver, len);
	set_range(push_state(f, 'W'), 0, len, ver);
	write_blocks(fd, p, f->fid, ver, 0, len);
	bool sync = below(100) < 75;
	if (sync && fsync(fd) < 0)
		failed("fsync", p);
	if (close(fd) < 0)
		failed("close", p);
	if (sync) {
		n_fsyncs++;
		fsync_dir_of(slot);
		promise(&files[fi]);
	}
}

static void op_rewrite(int slot)
{
	struct file *f = &files[slots[slot]];
	const char *p = slot_path(slot);
	jprintf("T %" PRIx64 "\n", f->fid);
	truncate_state(push_state(f, 'T'), 0);
	int fd = open(p, O_TRUNC | O_WRONLY);
	if (fd < 0)
		failed("open O_TRUNC", p);
	uint64_t len = pick_size();
	uint32_t ver = ++f->maxver;
	jprintf("W %" PRIx64 " %u 0 %" PRIu64 "\n", f->fid, ver, len);
	set_range(push_state(f, 'W'), 0, len, ver);
	write_blocks(fd, p, f->fid, ver, 0, len);
	bool sync = below(100) < 75;
	if (sync && fsync(fd) < 0)
		failed("fsync", p);
	if (close(fd) < 0)
		failed("close", p);
	if (sync) {
		n_fsyncs++;
		promise(f);
	}
}

static void op_write(int slot, bool append)
{
	struct file *f = &files[slots[slot]];
	const char *p = slot_path(slot);
	uint64_t size = cur(f)->size, off, len;
	if (append || size < BLK) {
		off = size;
		len = (below(10) == 0 ? 64 + below(512) : 1 + below(16)) * BLK;
		if (off + len > (uint64_t)MAXBLOCKS * BLK) {
			op_rewrite(slot);
			return;
		}
	} else {
		uint64_t nb = size / BLK;
		uint64_t b = below(nb);
		uint64_t n = 1 + below(nb - b < 64 ? nb - b : 64);
		off = b * BLK;
		len = n * BLK;
	}
	uint32_t ver = ++f->maxver;
	jprintf("W %" PRIx64 " %u %" PRIu64 " %" PRIu64 "\n", f->fid, ver, off, len);
	struct state *s = push_state(f, 'W');
	s->off = off;
	s->len = len;
	set_range(s, off, len, ver);
	int fd = open(p, O_WRONLY | (append ? O_APPEND : 0));
	if (fd < 0)
		failed("open", p);
	if (append) {
		/* O_APPEND: plain writes land at the end */
		for (uint64_t o = 0; o < len; o += BLK)
			gen_block(wbuf + o, f->fid, ver, off + o);
		uint64_t done = 0;
		while (done < len) {
			ssize_t w = write(fd, wbuf + done, (size_t)(len - done));
			if (w <= 0)
				failed("append", p);
			done += (uint64_t)w;
		}
		n_bytes += len;
	} else {
		write_blocks(fd, p, f->fid, ver, off, len);
	}
	bool sync = below(100) < 75;
	if (sync && fdatasync(fd) < 0)
		failed("fdatasync", p);
	if (close(fd) < 0)
		failed("close", p);
	if (sync) {
		n_fsyncs++;
		promise(f);
	}
}

/* Moves the file at from to slot to (replacing what is there). */
static void do_rename(int from, int to)
{
	struct file *f = &files[slots[from]];
	struct file *old = slots[to] >= 0 ? &files[slots[to]] : NULL;
	char name[64];
	slot_name(to, name, sizeof(name));
	if (old) {
		jprintf("X %" PRIx64 "\n", old->fid);
		push_state(old, 'X')->slot = -1;
	}
	jprintf("R %" PRIx64 " %s\n", f->fid, name);
	push_state(f, 'R')->slot = to;
	char src[4200];
	snprintf(src, sizeof(src), "%s", slot_path(from));
	const char *dst = slot_path(to);
	if (rename(src, dst) < 0)
		failed("rename", src);
	slots[to] = (int)(f - files);
	slots[from] = -1;
	if (below(100) < 75) {
		fsync_dir_of(from);
		if (from / (NPERM + NTMP) != to / (NPERM + NTMP))
			fsync_dir_of(to);
		promise(f);
		if (old)
			promise(old);
	}
}

static void op_replace(int round, int slot)
{
	int tmp = free_slot(true);
	if (tmp < 0) {
		tmp = used_slot();
		/* both temporary names taken (left by a crash): free one */
		for (int s = 0; s < NSLOT; s++)
			if (slot_is_tmp(s) && slots[s] >= 0)
				tmp = s;
		struct file *f = &files[slots[tmp]];
		jprintf("U %" PRIx64 "\n", f->fid);
		push_state(f, 'U')->slot = -1;
		if (unlink(slot_path(tmp)) < 0)
			failed("unlink", slot_path(tmp));
		slots[tmp] = -1;
	}
	struct file *f = new_file(new_fid(round));
	int fi = (int)(f - files);
	push_state(f, 'A');
	const char *p = slot_path(tmp);
	char name[64];
	slot_name(tmp, name, sizeof(name));
	jprintf("N %" PRIx64 " %s\n", f->fid, name);
	push_state(f, 'N')->slot = tmp;
	slots[tmp] = fi;
	int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
	if (fd < 0)
		failed("create", p);
	uint64_t len = pick_size();
	uint32_t ver = ++f->maxver;
	jprintf("W %" PRIx64 " %u 0 %" PRIu64 "\n", f->fid, ver, len);
	set_range(push_state(f, 'W'), 0, len, ver);
	write_blocks(fd, p, f->fid, ver, 0, len);
	if (fsync(fd) < 0)
		failed("fsync", p);
	n_fsyncs++;
	if (close(fd) < 0)
		failed("close", p);
	promise(&files[fi]);
	do_rename(tmp, slot);
}

static void op_unlink(int slot)
{
	struct file *f = &files[slots[slot]];
	jprintf("U %" PRIx64 "\n", f->fid);
	push_state(f, 'U')->slot = -1;
	if (unlink(slot_path(slot)) < 0)
		failed("unlink", slot_path(slot));
	slots[slot] = -1;
	if (below(100) < 75) {
		fsync_dir_of(slot);
		promise(f);
	}
}

static int do_work(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: killload work DIR WORKER ROUND SEED BASE JOURNAL\n");
		return 2;
	}
	top = argv[2];
	worker = atoi(argv[3]);
	int round = atoi(argv[4]);
	rng = mix(strtoull(argv[5], NULL, 0) ^ mix((uint64_t)worker) ^ mix((uint64_t)round << 20));
	snprintf(wdir, sizeof(wdir), "%s/w%d", top, worker);
	load_base(argv[6]);
	jfd = open(argv[7], O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644);
	if (jfd < 0) {
		perror(argv[7]);
		return 2;
	}
	wbuf = xrealloc(NULL, (size_t)MAXBLOCKS * BLK);
	for (int s = 0; s < NSLOT; s++)
		slots[s] = -1;
	for (int i = 0; i < nfiles; i++) {
		files[i].synced = 0;
		slots[cur(&files[i])->slot] = i;
	}
	/* The directories (made durable before anything is promised in them). */
	char p[4200];
	if (mkdir(wdir, 0755) < 0 && errno != EEXIST)
		failed("mkdir", wdir);
	for (int d = 0; d < NDIRS; d++) {
		snprintf(p, sizeof(p), "%s/%s", wdir, dname[d]);
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			failed("mkdir", p);
	}
	fsync_path(top, true);
	fsync_path(wdir, true);
	for (;;) {
		/* the files list only grows; drop entries of files gone and promised */
		uint64_t r = below(100);
		int s = used_slot();
		n_ops++;
		if (s < 0 || r < 18) {
			int fs = free_slot(false);
			if (fs >= 0)
				op_create(round, fs);
			else if (s >= 0)
				op_rewrite(s);
		} else if (r < 32) {
			op_rewrite(s);
		} else if (r < 48) {
			op_write(s, true);
		} else if (r < 64) {
			op_write(s, false);
		} else if (r < 76) {
			int to = below(2) ? used_slot() : free_slot(false);
			if (to < 0 || slot_is_tmp(to))
				to = s;
			op_replace(round, to);
		} else if (r < 88) {
			int to = below(3) ? free_slot(false) : used_slot();
			if (to >= 0 && to != s && !slot_is_tmp(to))
				do_rename(s, to);
		} else if (r < 96) {
			op_unlink(s);
		} else {
			struct file *f = &files[slots[s]];
			fsync_path(slot_path(s), false);
			promise(f);
		}
	}
}

/* ---- the checker ---- */

static long v_lost, v_bad;

static void problem(bool lost, struct file *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void problem(bool lost, struct file *f, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (lost)
		v_lost++;
	else
		v_bad++;
	fprintf(stderr, "w%d: %s: file %" PRIx64 ": %s\n", worker, lost ? "LOST" : "BAD",
		f ? f->fid : 0, buf);
}

static void replay_journal(const char *path)
{
	FILE *fp = fopen(path, "r");
	if (!fp) {
		if (errno == ENOENT)
			return;
		perror(path);
		exit(2);
	}
	char line[256];
	long lineno = 0;
	while (fgets(line, sizeof(line), fp)) {
		lineno++;
		if (!strchr(line, '\n'))
			break; /* a torn last line: cannot happen (one write each), but harmless */
		char kind = line[0];
		uint64_t fid, off, len;
		unsigned ver;
		char name[64];
		if (sscanf(line + 2, "%" SCNx64, &fid) != 1) {
			fprintf(stderr, "%s: bad line %s", path, line);
			exit(2);
		}
		struct file *f = find_file(fid);
		if (kind == 'N') {
			if (f || sscanf(line + 2, "%" SCNx64 " %63s", &fid, name) != 2) {
				fprintf(stderr, "%s: bad create %s", path, line);
				exit(2);
			}
			f = new_file(fid);
			push_state(f, 'A');
			push_state(f, 'N')->slot = slot_of(name);
			cur(f)->line = lineno;
			continue;
		}
		if (!f) {
			fprintf(stderr, "%s: unknown file in %s", path, line);
			exit(2);
		}
		struct state *s;
		switch (kind) {
		case 'S':
			f->synced = f->nst - 1;
			f->synced_line = lineno;
			break;
		case 'T':
			truncate_state(push_state(f, 'T'), 0);
			break;
		case 'W':
			if (sscanf(line + 2, "%" SCNx64 " %u %" SCNu64 " %" SCNu64, &fid, &ver, &off,
				   &len) != 4) {
				fprintf(stderr, "%s: bad write %s", path, line);
				exit(2);
			}
			s = push_state(f, 'W');
			s->off = off;
			s->len = len;
			set_range(s, off, len, ver);
			if (ver > f->maxver)
				f->maxver = ver;
			break;
		case 'R':
			if (sscanf(line + 2, "%" SCNx64 " %63s", &fid, name) != 2) {
				fprintf(stderr, "%s: bad rename %s", path, line);
				exit(2);
			}
			push_state(f, 'R')->slot = slot_of(name);
			break;
		case 'X':
		case 'U':
			push_state(f, kind)->slot = -1;
			break;
		default:
			fprintf(stderr, "%s: bad line %s", path, line);
			exit(2);
		}
		if (kind != 'S')
			cur(f)->line = lineno;
	}
	fclose(fp);
}

/* Was the block at off changed by an event after the promised state? */
static bool changed_after(const struct file *f, uint64_t off)
{
	for (int j = f->synced + 1; j < f->nst; j++) {
		const struct state *s = &f->st[j];
		if (s->ev == 'T' || s->ev == 'N')
			return true;
		if (s->ev == 'W' && off + BLK > s->off && off < s->off + s->len)
			return true;
	}
	return false;
}

/* Checks the content of a file found at slot against file f; reports when
 * report is set, else only answers. */
static bool check_file(struct file *f, int slot, const uint8_t *data, uint64_t size, bool report,
		       uint64_t *promised_bytes)
{
	int k = f->synced, last = f->nst - 1;
	const struct state *ks = &f->st[k];
	char name[64];
	slot_name(slot, name, sizeof(name));
	bool name_ok = false, truncated = false;
	uint64_t maxsize = 0;
	/* sizes: of the states the file had at this name (a truncation made
	 * under another name says nothing about this one) */
	for (int j = k; j <= last; j++) {
		if (f->st[j].slot != slot)
			continue;
		name_ok = true;
		if (f->st[j].size > maxsize)
			maxsize = f->st[j].size;
		if (j > k && (f->st[j].ev == 'T' || f->st[j].ev == 'N'))
			truncated = true;
	}
	if (!name_ok) {
		if (report)
			problem(true, f, "found at %s, a name it did not have since its last fsync", name);
		return false;
	}
	if (k == last) {
		if (size != ks->size) {
			if (report)
				problem(true, f, "%s: size %" PRIu64 ", fsynced %" PRIu64, name, size,
					ks->size);
			return false;
		}
	} else {
		if (size > maxsize) {
			if (report)
				problem(false, f, "%s: size %" PRIu64 " larger than any it was given (%" PRIu64 ")",
					name, size, maxsize);
			return false;
		}
		if (!truncated && ks->slot == slot && size < ks->size) {
			if (report)
				problem(true, f, "%s: size %" PRIu64 " shorter than fsynced %" PRIu64, name,
					size, ks->size);
			return false;
		}
	}
	uint8_t want[BLK];
	for (uint64_t off = 0; off < size; off += BLK) {
		size_t n = size - off < BLK ? (size_t)(size - off) : BLK;
		const uint8_t *b = data + off;
		bool changed = changed_after(f, off);
		uint32_t kver = ks->slot >= 0 && off < ks->size ? ver_at(ks, off) : 0;
		bool in_promised = ks->slot >= 0 && off < ks->size;
		if (is_zero(b, n)) {
			if (changed || (in_promised && kver == 0))
				continue;
			if (report)
				problem(true, f, "%s: zeros at %" PRIu64 " where version %u was fsynced",
					name, off, kver);
			return false;
		}
		/* one of the versions this offset had from the promised state on */
		uint32_t ver = 0;
		for (int j = k; j <= last && !ver; j++) {
			uint32_t v = f->st[j].slot >= 0 && off < f->st[j].size ? ver_at(&f->st[j], off) : 0;
			if (!v)
				continue;
			gen_block(want, f->fid, v, off);
			if (!memcmp(want, b, n))
				ver = v;
		}
		if (!ver) {
			if (report) {
				if (n >= 24 && !memcmp(b, "GLKB", 4)) {
					uint32_t bv;
					memcpy(&bv, b + 4, 4);
					gen_block(want, get64(b + 8), bv, get64(b + 16));
					problem(false, f,
						"%s: block at %" PRIu64 " is file %" PRIx64 " version %u offset %" PRIu64
						"%s, not a block written there since the fsync (fsynced version %u)",
						name, off, get64(b + 8), bv, get64(b + 16),
						memcmp(want, b, n) ? " (damaged)" : "", kver);
				} else {
					problem(false, f, "%s: block at %" PRIu64 " is not a block ever written",
						name, off);
				}
			}
			return false;
		}
		if (!changed && in_promised && ver != kver) {
			if (report)
				problem(true, f, "%s: block at %" PRIu64 " is version %u, fsynced %u and not written since",
					name, off, ver, kver);
			return false;
		}
		if (in_promised && !changed)
			*promised_bytes += n;
	}
	return true;
}

static uint8_t *read_all(const char *p, uint64_t *size)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return NULL;
	struct stat st;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1;
	uint8_t *buf = xrealloc(NULL, cap);
	size_t n = 0;
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = xrealloc(buf, cap);
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n != (size_t)st.st_size)
		fprintf(stderr, "w%d: %s: stat says %lld bytes, read %zu\n", worker, p,
			(long long)st.st_size, n);
	*size = n;
	return buf;
}

static void write_base_entry(FILE *out, struct file *f, int slot, const uint8_t *data,
			     uint64_t size)
{
	char name[64];
	slot_name(slot, name, sizeof(name));
	fprintf(out, "F %" PRIx64 " %s %" PRIu64 " %u\n", f->fid, name, size, f->maxver);
	uint64_t start = 0;
	uint32_t prev = UINT32_MAX;
	for (uint64_t off = 0; off < size; off += BLK) {
		size_t n = size - off < BLK ? (size_t)(size - off) : BLK;
		uint32_t ver = 0;
		if (!is_zero(data + off, n))
			memcpy(&ver, data + off + 4, 4);
		if (ver != prev) {
			if (prev != UINT32_MAX && prev != 0)
				fprintf(out, "E %" PRIu64 " %" PRIu64 " %u\n", start, off - start, prev);
			start = off;
			prev = ver;
		}
	}
	if (prev != UINT32_MAX && prev != 0)
		fprintf(out, "E %" PRIu64 " %" PRIu64 " %u\n", start, size - start, prev);
}

static int do_verify(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: killload verify DIR WORKER BASE JOURNAL NEWBASE\n");
		return 2;
	}
	top = argv[2];
	worker = atoi(argv[3]);
	snprintf(wdir, sizeof(wdir), "%s/w%d", top, worker);
	load_base(argv[4]);
	replay_journal(argv[5]);
	FILE *out = fopen(argv[6], "w");
	if (!out) {
		perror(argv[6]);
		return 2;
	}
	long nfound = 0, npromised = 0;
	uint64_t bytes = 0, promised_bytes = 0;
	for (int d = 0; d < NDIRS; d++) {
		char p[4200];
		snprintf(p, sizeof(p), "%s/%s", wdir, dname[d]);
		DIR *dh = opendir(p);
		if (!dh) {
			/* a missing directory: its promised files are missing, below */
			if (errno == ENOENT)
				continue;
			problem(true, NULL, "directory %s: %s", p, strerror(errno));
			continue;
		}
		struct dirent *de;
		while ((de = readdir(dh))) {
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			char name[300];
			snprintf(name, sizeof(name), "%s/%s", dname[d], de->d_name);
			int slot = slot_of(name);
			char fp[4600];
			snprintf(fp, sizeof(fp), "%s/%.255s", p, de->d_name);
			if (slot < 0) {
				problem(false, NULL, "unknown name %s", fp);
				continue;
			}
			uint64_t size = 0;
			uint8_t *data = read_all(fp, &size);
			if (!data) {
				problem(true, NULL, "%s: cannot read: %s", fp, strerror(errno));
				continue;
			}
			nfound++;
			bytes += size;
			/* whose is it? the first block that is not zeros says */
			struct file *f = NULL;
			for (uint64_t off = 0; off + 24 <= size && !f; off += BLK)
				if (!is_zero(data + off, size - off < BLK ? size - off : BLK)) {
					if (!memcmp(data + off, "GLKB", 4))
						f = find_file(get64(data + off + 8));
					if (!f) {
						problem(false, NULL, "%s: block at %" PRIu64 " belongs to no file of this worker",
							fp, off);
						break;
					}
				}
			if (!f) {
				/* Empty or zeros: whose is it? Of the files it could
				 * be, the one that came to this name last (operations
				 * reach the store in order: if a later arrival here
				 * survived, the files that left before had left). */
				long best_line = -1;
				for (int i = 0; i < nfiles; i++) {
					struct file *c = &files[i];
					uint64_t pb = 0;
					if (c->found || !check_file(c, slot, data, size, false, &pb))
						continue;
					long arrived = -1;
					for (int j = 0; j < c->nst; j++)
						if (c->st[j].slot == slot &&
						    (j == 0 || c->st[j - 1].slot != slot))
							arrived = c->st[j].line;
					if (arrived > best_line) {
						best_line = arrived;
						f = c;
					}
				}
				if (!f) {
					problem(false, NULL, "%s: %" PRIu64 " bytes of zeros, no file could be that",
						fp, size);
					free(data);
					continue;
				}
			}
			if (f->found) {
				problem(false, f, "found under a second name, %s", name);
			} else {
				f->found = true;
				if (check_file(f, slot, data, size, true, &promised_bytes))
					write_base_entry(out, f, slot, data, size);
			}
			free(data);
		}
		closedir(dh);
	}
	for (int i = 0; i < nfiles; i++) {
		struct file *f = &files[i];
		bool always = true;
		for (int j = f->synced; j < f->nst; j++)
			if (f->st[j].slot < 0)
				always = false;
		if (f->st[f->synced].slot >= 0)
			npromised++;
		if (always && !f->found) {
			char name[64];
			slot_name(f->st[f->synced].slot, name, sizeof(name));
			problem(true, f, "missing (fsynced as %s, %" PRIu64 " bytes)", name,
				f->st[f->synced].size);
		}
	}
	if (fclose(out)) {
		perror(argv[6]);
		return 2;
	}
	printf("w%d: files=%ld promised=%ld bytes=%" PRIu64 " promised_bytes=%" PRIu64
	       " lost=%ld bad=%ld\n",
	       worker, nfound, npromised, bytes, promised_bytes, v_lost, v_bad);
	return v_lost || v_bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "work"))
		return do_work(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "verify"))
		return do_verify(argc, argv);
	fprintf(stderr, "usage: killload work|verify ...\n");
	return 2;
}
