/*
 * vlog.c — value separation (vlog.h): pointers, reading values from value
 * files, finding values in log segments at flush, and the value collector.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "crc32c.h"
#include "db.h"
#include "error.h"
#include "filename.h"
#include "format.h"
#include "io.h"
#include "iter.h"
#include "snapshot.h"
#include "space.h"
#include "util.h"
#include "vlog.h"
#include "wal.h"
#include "wal_format.h"

/* ---- pointers ---- */

void vptr_encode(uint8_t out[VPTR_SIZE], const struct vptr *p)
{
	put_le64(out, p->file);
	put_le64(out + 8, p->record);
	put_le32(out + 16, p->offset);
	put_le32(out + 20, p->len);
	put_le32(out + 24, p->crc);
}

int vptr_decode(const uint8_t *v, size_t n, struct vptr *p)
{
	if (n != VPTR_SIZE)
		return set_error(GOLITE_ECORRUPT, "a value pointer of %zu bytes", n);
	p->file = get_le64(v);
	p->record = get_le64(v + 8);
	p->offset = get_le32(v + 16);
	p->len = get_le32(v + 20);
	p->crc = get_le32(v + 24);
	if (p->len == 0 || p->len > GOLITE_MAX_VALUE_SIZE || p->record < WAL_SEGMENT_HEADER)
		return set_error(GOLITE_ECORRUPT, "a value pointer to %u bytes at %llu of file %llu",
				 p->len, (unsigned long long)p->record,
				 (unsigned long long)p->file);
	return 0;
}

/* ---- reading ---- */

/* An open value file, mapped whole: value files never change once
 * tables point into them, and a mapping saves a copy and a system call a
 * read (its pages are the page cache's, as pread's would be). */
struct vfile {
	uint64_t no;
	int fd;
	const uint8_t *map;
	size_t size;
};

struct vlog_files {
	char *dir;
	pthread_mutex_t mu;
	struct vfile *v;     /* sorted by no */
	size_t n, cap;
};

struct vlog_files *vlog_files_new(const char *dir)
{
	struct vlog_files *f = xcalloc(1, sizeof(*f));
	f->dir = xstrdup(dir);
	mutex_init(&f->mu);
	return f;
}

void vlog_files_free(struct vlog_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++) {
		if (f->v[i].map)
			munmap((void *)f->v[i].map, f->v[i].size);
		close(f->v[i].fd);
	}
	free(f->v);
	free(f->dir);
	pthread_mutex_destroy(&f->mu);
	free(f);
}

static size_t find_slot(const struct vlog_files *f, uint64_t no)
{
	size_t lo = 0, hi = f->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (f->v[mid].no < no)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The open file no (its .val name, or its .wal name while it has no other)
 * in *out, or a negative error. */
static int file_get(struct vlog_files *f, uint64_t no, struct vfile *out)
{
	mutex_lock(&f->mu);
	size_t i = find_slot(f, no);
	if (i < f->n && f->v[i].no == no) {
		*out = f->v[i];
		mutex_unlock(&f->mu);
		return 0;
	}
	char path[PATH_MAX];
	file_path(path, sizeof(path), f->dir, FILE_VALUE, no);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		file_path(path, sizeof(path), f->dir, FILE_WAL, no);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		int e = errno;
		mutex_unlock(&f->mu);
		file_path(path, sizeof(path), f->dir, FILE_VALUE, no);
		return set_error(e == ENOENT ? GOLITE_ECORRUPT : GOLITE_EIO,
				 "value file %s: %s", path, strerror(e));
	}
	struct vfile vf = { no, fd, NULL, 0 };
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			vf.map = m;
			vf.size = (size_t)st.st_size;
		}
	}
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 16;
		f->v = xrealloc(f->v, f->cap * sizeof(*f->v));
	}
	memmove(&f->v[i + 1], &f->v[i], (f->n - i) * sizeof(*f->v));
	f->v[i] = vf;
	f->n++;
	mutex_unlock(&f->mu);
	*out = vf;
	return 0;
}

static int ends_inside(uint64_t file, uint64_t at)
{
	return set_error(GOLITE_ECORRUPT, "value file %08llu ends inside a value at %llu",
			 (unsigned long long)file, (unsigned long long)at);
}

/* 0 if v holds the value p points at (its checksum), else ECORRUPT. */
static int value_check(const struct vptr *p, const uint8_t *v)
{
	if (crc32c_mask(crc32c(v, p->len)) == p->crc)
		return 0;
	return set_error(GOLITE_ECORRUPT,
			 "value of %u bytes in record %llu of value file %08llu: checksum mismatch",
			 p->len, (unsigned long long)p->record, (unsigned long long)p->file);
}

/* Bytes [at, at + n) of an open value file into buf. */
static int file_bytes(const struct vfile *vf, uint8_t *buf, size_t n, uint64_t at)
{
	if (vf->map) {
		if (at > vf->size || n > vf->size - at)
			return ends_inside(vf->no, at);
		memcpy(buf, vf->map + at, n);
		return 0;
	}
	ssize_t got = io_pread(vf->fd, buf, n, at);
	if (got < 0)
		return set_error(GOLITE_EIO, "reading value file %08llu: %s",
				 (unsigned long long)vf->no, strerror((int)-got));
	if ((size_t)got < n)
		return ends_inside(vf->no, at);
	return 0;
}

void vlog_files_forget(struct vlog_files *f, uint64_t no)
{
	mutex_lock(&f->mu);
	size_t i = find_slot(f, no);
	if (i < f->n && f->v[i].no == no) {
		if (f->v[i].map)
			munmap((void *)f->v[i].map, f->v[i].size);
		close(f->v[i].fd);
		memmove(&f->v[i], &f->v[i + 1], (f->n - i - 1) * sizeof(*f->v));
		f->n--;
	}
	mutex_unlock(&f->mu);
}

/* The file offset of payload byte p of the record at rec (vlog.h). */
static uint64_t payload_at(uint64_t rec, uint64_t p)
{
	uint64_t frag = p / WAL_MAX_FRAGMENT;
	return rec + frag * (WAL_MAX_FRAGMENT + WAL_RECORD_OVERHEAD) + WAL_RECORD_HEADER +
	       p % WAL_MAX_FRAGMENT;
}

int vlog_files_read(struct vlog_files *f, const struct vptr *p, uint8_t *buf)
{
	struct vfile vf;
	int r = file_get(f, p->file, &vf);
	if (r)
		return r;
	uint64_t pos = p->offset;
	size_t done = 0;
	while (done < p->len) {
		size_t in_frag = WAL_MAX_FRAGMENT - (size_t)(pos % WAL_MAX_FRAGMENT);
		size_t n = MIN(in_frag, p->len - done);
		r = file_bytes(&vf, buf + done, n, payload_at(p->record, pos));
		if (r)
			return r;
		done += n;
		pos += n;
	}
	return value_check(p, buf);
}

int vlog_read(struct golite *db, const struct vptr *p, uint8_t *buf)
{
	return vlog_files_read(db->vlog.files, p, buf);
}

static int cmp_vref(const void *a, const void *b)
{
	const struct vref *x = a, *y = b;
	if (x->p.file != y->p.file)
		return x->p.file < y->p.file ? -1 : 1;
	return x->at < y->at ? -1 : x->at > y->at;
}

/* Bytes between two values that still join them into one read (the
 * headers of the entries between them), and the longest read. */
#define JOIN_GAP 256u
#define JOIN_MAX (4u << 20)

int vlog_read_many(struct golite *db, struct vref *refs, size_t n,
		   void (*fn)(void *ctx, const struct vref *r, const uint8_t *value), void *ctx)
{
	for (size_t i = 0; i < n; i++)
		refs[i].at = payload_at(refs[i].p.record, refs[i].p.offset);
	qsort(refs, n, sizeof(*refs), cmp_vref);
	uint8_t *buf = NULL;
	size_t cap = 0;
	int r = 0;
	for (size_t i = 0; i < n && !r;) {
		/* A value that crosses a fragment boundary is read alone. */
		const struct vref *a = &refs[i];
		bool alone = payload_at(a->p.record, (uint64_t)a->p.offset + a->p.len - 1) + 1 !=
			     a->at + a->p.len;
		size_t j = i + 1;
		uint64_t end = a->at + a->p.len;
		while (!alone && j < n && refs[j].p.file == a->p.file && refs[j].at >= end &&
		       refs[j].at - end <= JOIN_GAP && refs[j].at + refs[j].p.len - a->at <= JOIN_MAX &&
		       payload_at(refs[j].p.record, (uint64_t)refs[j].p.offset + refs[j].p.len - 1) +
				       1 == refs[j].at + refs[j].p.len) {
			end = refs[j].at + refs[j].p.len;
			j++;
		}
		size_t span = alone ? a->p.len : (size_t)(end - a->at);
		struct vfile vf;
		r = file_get(db->vlog.files, a->p.file, &vf);
		if (r)
			break;
		if ((alone || !vf.map) && span > cap) {
			free(buf);
			cap = span;
			buf = xmalloc(cap);
		}
		if (alone) {
			r = vlog_read(db, &a->p, buf);
			if (!r)
				fn(ctx, a, buf);
			i++;
			continue;
		}
		const uint8_t *base;
		size_t got;
		if (vf.map) {
			/* Read in place. */
			base = a->at <= vf.size ? vf.map + a->at : vf.map;
			got = a->at <= vf.size ? MIN(span, vf.size - (size_t)a->at) : 0;
		} else {
			ssize_t g = io_pread(vf.fd, buf, span, a->at);
			if (g < 0) {
				r = set_error(GOLITE_EIO, "reading value file %08llu: %s",
					      (unsigned long long)a->p.file, strerror((int)-g));
				break;
			}
			base = buf;
			got = (size_t)g;
		}
		for (; i < j; i++) {
			const struct vref *x = &refs[i];
			size_t o = (size_t)(x->at - a->at);
			r = got < o + x->p.len ? ends_inside(x->p.file, x->at)
					       : value_check(&x->p, base + o);
			if (r)
				break;
			fn(ctx, x, base + o);
		}
	}
	free(buf);
	return r;
}

/* ---- iterators ---- */

uint64_t vlog_iter_enter(struct golite *db)
{
	uint64_t e = atomic_load(&db->vlog.epoch);
	atomic_fetch_add(&db->vlog.iters[e & 1], 1);
	return e;
}

void vlog_iter_leave(struct golite *db, uint64_t epoch)
{
	atomic_fetch_sub(&db->vlog.iters[epoch & 1], 1);
}

/* ---- finding values in log segments (flush) ---- */

struct vloc {
	uint64_t seq;      /* 0: empty slot */
	uint64_t file, record;
	uint32_t offset, len;
};

struct vseg {
	uint64_t no;
	uint64_t end;      /* just past its last record */
	uint64_t live;     /* bytes of large values the flush keeps */
	bool keep;         /* worth keeping as a value file */
	bool used;
};

struct vlog_map {
	struct vloc *slots;
	size_t cap, n;     /* cap a power of two */
	struct vseg *segs;
	size_t nsegs;
	size_t min;
};

static size_t slot_of(const struct vlog_map *m, uint64_t seq)
{
	return (size_t)(hash64(&seq, sizeof(seq)) & (m->cap - 1));
}

static void map_insert(struct vlog_map *m, const struct vloc *l)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct vloc *old = m->slots;
		size_t oldcap = m->cap;
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->slots = xcalloc(m->cap, sizeof(*m->slots));
		m->n = 0;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].seq)
				map_insert(m, &old[i]);
		free(old);
	}
	size_t i = slot_of(m, l->seq);
	while (m->slots[i].seq && m->slots[i].seq != l->seq)
		i = (i + 1) & (m->cap - 1);
	if (!m->slots[i].seq)
		m->n++;
	m->slots[i] = *l;
}

struct scan_ctx {
	struct vlog_map *m;
	uint64_t file, record;
	const uint8_t *payload;
	struct vseg *seg;
};

static int scan_entry(void *arg, uint64_t seq, unsigned kind, const uint8_t *ikey, size_t iklen,
		      const uint8_t *value, size_t vlen)
{
	(void)ikey;
	(void)iklen;
	struct scan_ctx *c = arg;
	if (kind != KIND_VALUE || vlen < c->m->min)
		return 0;
	struct vloc l = { seq, c->file, c->record, (uint32_t)(value - c->payload),
			  (uint32_t)vlen };
	map_insert(c->m, &l);
	return 0;
}

static int scan_record(void *arg, uint64_t off, const uint8_t *payload, size_t len)
{
	struct scan_ctx *c = arg;
	c->record = off;
	c->payload = payload;
	uint64_t end = off + wal_logical_size(len);
	if (end > c->seg->end)
		c->seg->end = end;
	/* A payload that does not parse was refused by replay: skip it. */
	if (rep_iterate(payload, len, NULL, NULL, NULL, NULL) == 0)
		rep_iterate(payload, len, scan_entry, c, NULL, NULL);
	return 0;
}

int vlog_map_build(struct golite *db, uint64_t lo, uint64_t hi, struct vlog_map **out)
{
	*out = NULL;
	if (db->vlog.min == SIZE_MAX)
		return 0;
	uint64_t *nums;
	size_t count;
	int e = file_list(db->path, FILE_WAL, &nums, &count);
	if (e < 0)
		return set_error(GOLITE_EIO, "listing %s: %s", db->path, strerror(-e));
	struct vlog_map *m = xcalloc(1, sizeof(*m));
	m->min = db->vlog.min;
	m->segs = xcalloc(count ? count : 1, sizeof(*m->segs));
	int r = 0;
	for (size_t i = 0; i < count && !r; i++) {
		if (nums[i] < lo || nums[i] >= hi)
			continue;
		char path[PATH_MAX];
		file_path(path, sizeof(path), db->path, FILE_WAL, nums[i]);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			r = set_error(GOLITE_EIO, "%s: %s", path, strerror(errno));
			break;
		}
		struct stat st;
		if (fstat(fd, &st) < 0) {
			r = set_error(GOLITE_EIO, "%s: %s", path, strerror(errno));
			close(fd);
			break;
		}
		struct vseg *seg = &m->segs[m->nsegs++];
		seg->no = nums[i];
		if (st.st_size > 0) {
			void *d = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
			if (d == MAP_FAILED) {
				r = set_error(GOLITE_EIO, "mapping %s: %s", path, strerror(errno));
				close(fd);
				break;
			}
			struct scan_ctx c = { .m = m, .file = nums[i], .seg = seg };
			struct wal_scan_info info;
			wal_scan(d, (size_t)st.st_size, scan_record, &c, NULL, &info);
			munmap(d, (size_t)st.st_size);
		}
		close(fd);
	}
	free(nums);
	if (r) {
		vlog_map_free(m);
		return r;
	}
	*out = m;
	return 0;
}

static const struct vloc *map_lookup(const struct vlog_map *m, uint64_t seq, size_t len)
{
	if (!m || !m->cap || len < m->min)
		return NULL;
	size_t i = slot_of(m, seq);
	while (m->slots[i].seq && m->slots[i].seq != seq)
		i = (i + 1) & (m->cap - 1);
	const struct vloc *l = &m->slots[i];
	return l->seq == seq && l->len == len ? l : NULL;
}

static struct vseg *seg_of(struct vlog_map *m, uint64_t no)
{
	for (size_t s = 0; s < m->nsegs; s++)
		if (m->segs[s].no == no)
			return &m->segs[s];
	return NULL;
}

void vlog_map_count(struct vlog_map *m, uint64_t seq, size_t len)
{
	const struct vloc *l = map_lookup(m, seq, len);
	struct vseg *g = l ? seg_of(m, l->file) : NULL;
	if (g)
		g->live += len;
}

void vlog_map_decide(struct vlog_map *m)
{
	if (!m)
		return;
	for (size_t s = 0; s < m->nsegs; s++) {
		struct vseg *g = &m->segs[s];
		g->keep = (double)g->live >= VLOG_KEEP_LIVE * (double)g->end;
	}
}

bool vlog_map_find(struct vlog_map *m, uint64_t seq, const uint8_t *value, size_t len,
		   struct vptr *p)
{
	const struct vloc *l = map_lookup(m, seq, len);
	struct vseg *g = l ? seg_of(m, l->file) : NULL;
	if (!g || !g->keep)
		return false;
	g->used = true;
	*p = (struct vptr){ l->file, l->record, l->offset, l->len,
			    crc32c_mask(crc32c(value, len)) };
	return true;
}

int vlog_map_keep(struct golite *db, struct vlog_map *m)
{
	if (!m)
		return 0;
	bool linked = false;
	for (size_t s = 0; s < m->nsegs; s++) {
		struct vseg *seg = &m->segs[s];
		if (!seg->used)
			continue;
		char wal[PATH_MAX], val[PATH_MAX];
		file_path(wal, sizeof(wal), db->path, FILE_WAL, seg->no);
		file_path(val, sizeof(val), db->path, FILE_VALUE, seg->no);
		int fd = io_open(wal, O_RDWR | O_CLOEXEC, 0);
		if (fd < 0)
			return set_error(GOLITE_EIO, "%s: %s", wal, strerror(-fd));
		/* Zeros written ahead past the last record are not kept. */
		int e = io_ftruncate(fd, seg->end);
		if (!e)
			e = io_fdatasync(fd);
		io_close(fd);
		if (e)
			return set_error(e == -ENOSPC ? GOLITE_ENOSPC : GOLITE_EIO, "%s: %s", wal,
					 strerror(-e));
		e = io_link(wal, val);
		if (e && e != -EEXIST)
			return set_error(e == -ENOSPC ? GOLITE_ENOSPC : GOLITE_EIO,
					 "linking %s: %s", val, strerror(-e));
		linked = true;
	}
	if (linked) {
		int e = io_sync_dir(db->path);
		if (e)
			return set_error(GOLITE_EIO, "syncing %s: %s", db->path, strerror(-e));
		vlog_request(db);
	}
	return 0;
}

void vlog_map_free(struct vlog_map *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m->segs);
	free(m);
}

/* ---- the collector ---- */

/* What one pass knows of a value file. */
struct use {
	uint64_t no;
	uint64_t size;     /* bytes on disk */
	uint64_t live;     /* bytes of values the newest versions point at */
	bool seen;         /* some reader (now or a snapshot) can reach it */
};

static struct use *use_find(struct use *u, size_t n, uint64_t no)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (u[mid].no < no)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && u[lo].no == no ? &u[lo] : NULL;
}

/* Counts what it (reading now, or at a snapshot) can reach. */
static int count_reach(struct db_iter *it, struct use *u, size_t n, bool now)
{
	static const uint8_t first[IKEY_PREFIX];
	for (db_iter_seek(it, first, sizeof(first)); db_iter_valid(it); db_iter_next(it)) {
		struct vptr p;
		if (!db_iter_vptr(it, &p))
			continue;
		struct use *x = use_find(u, n, p.file);
		if (!x)
			continue;
		x->seen = true;
		if (now)
			x->live += p.len;
	}
	return db_iter_status(it);
}

/* Writes the value of ikey again if its newest version still points into
 * file no (a write conditional on that version, vlog.h step 3). */
static int rewrite_one(struct golite *db, const uint8_t *ikey, size_t iklen, uint64_t no,
		       bool frees, struct rep *rep, uint64_t *bytes)
{
	int r = GOLITE_EBUSY;
	for (int attempt = 0; attempt < 16 && r == GOLITE_EBUSY; attempt++) {
		uint64_t gen = atomic_load_explicit(&db->src_gen, memory_order_acquire);
		struct db_newest n;
		r = db_newest_entry(db, ikey, iklen, &n, false);
		if (r <= 0)
			return r;
		if (!n.separated || n.ptr.file != no)
			return 0;   /* written since: nothing to move */
		uint8_t *buf = xmalloc(n.ptr.len);
		r = vlog_read(db, &n.ptr, buf);
		if (!r) {
			rep_reset(rep);
			rep_add(rep, KIND_VALUE, ikey, iklen, buf, n.ptr.len);
			struct db_cond cond = { ikey, iklen, n.seq, gen };
			r = db_commit_if(db, rep, frees, &cond);
			if (!r)
				*bytes += n.ptr.len;
		}
		free(buf);
	}
	return r == GOLITE_EBUSY ? 0 : r;
}

/* Writes again every value the store points at in file no. frees: the
 * writes go ahead of the space checks (space.h), as deletes do. */
static int rewrite_file(struct golite *db, uint64_t no, bool frees, uint64_t *bytes)
{
	struct db_iter *it = db_iter_new(db, false);
	struct rep rep = { 0 };
	int r = 0;
	static const uint8_t first[IKEY_PREFIX];
	for (db_iter_seek(it, first, sizeof(first)); db_iter_valid(it) && !r; db_iter_next(it)) {
		struct vptr p;
		if (!db_iter_vptr(it, &p) || p.file != no)
			continue;
		size_t iklen;
		const uint8_t *ikey = db_iter_key(it, &iklen);
		uint8_t copy[IKEY_MAX];
		memcpy(copy, ikey, iklen);
		r = rewrite_one(db, copy, iklen, no, frees, &rep, bytes);
		if (atomic_load(&db->closing) || db->vlog.stop)
			break;
	}
	if (!r)
		r = db_iter_status(it);
	db_iter_free(it);
	rep_free(&rep);
	return r;
}

/* Waits (a little) until no iterator created before now is open
 * (invariant 2). False if some still is. */
static bool iterators_gone(struct golite *db)
{
	struct vlog *v = &db->vlog;
	uint64_t e = atomic_load(&v->epoch);
	/* New iterators go to the other parity: it must be empty of older
	 * ones first. */
	if (atomic_load(&v->iters[(e + 1) & 1]) != 0)
		return false;
	atomic_store(&v->epoch, e + 1);
	for (int i = 0; i < 200; i++) {
		if (atomic_load(&v->iters[e & 1]) == 0)
			return true;
		usleep(5000);
	}
	return false;
}

int vlog_collect(struct golite *db)
{
	struct vlog *v = &db->vlog;
	if (db->o.read_only || v->min == SIZE_MAX)
		return 0;
	rcu_thread_ensure();
	mutex_lock(&v->pass_mu);
	uint64_t *nums;
	size_t count;
	int e = file_list(db->path, FILE_VALUE, &nums, &count);
	if (e < 0) {
		mutex_unlock(&v->pass_mu);
		return set_error(GOLITE_EIO, "listing %s: %s", db->path, strerror(-e));
	}
	mutex_lock(&db->bg_mu);
	uint64_t log_number = db->ms.log_number;
	mutex_unlock(&db->bg_mu);
	/* Files that may still be replayed are not the collector's. */
	struct use *u = xcalloc(count ? count : 1, sizeof(*u));
	size_t n = 0;
	uint64_t bytes = 0;
	for (size_t i = 0; i < count; i++) {
		char path[PATH_MAX];
		struct stat st;
		file_path(path, sizeof(path), db->path, FILE_VALUE, nums[i]);
		if (stat(path, &st) < 0)
			continue;
		bytes += (uint64_t)st.st_size;
		if (nums[i] >= log_number)
			continue;
		u[n++] = (struct use){ .no = nums[i], .size = (uint64_t)st.st_size };
	}
	free(nums);
	atomic_store(&v->file_count, count);
	atomic_store(&v->file_bytes, bytes);
	atomic_fetch_add(&v->gc_passes, 1);
	int r = 0;
	if (n == 0)
		goto out;

	/* What readers can reach: now, and at each live snapshot. */
	struct db_iter *it = db_iter_new(db, false);
	r = count_reach(it, u, n, true);
	db_iter_free(it);
	size_t nseqs = 0;
	uint64_t *seqs = snap_seqs(db, &nseqs);
	for (size_t i = 0; i < nseqs && !r; i++) {
		it = db_iter_new_at(db, seqs[i]);
		r = count_reach(it, u, n, false);
		db_iter_free(it);
	}
	free(seqs);
	if (r)
		goto out;
	uint64_t live = 0;
	size_t dead = 0;
	for (size_t i = 0; i < n; i++) {
		live += u[i].live;
		dead += !u[i].seen;
	}
	atomic_store(&v->live_bytes, live);

	/* Delete what no reader can reach (invariant 2). */
	if (dead) {
		r = wal_sync(db->wal);
		if (r)
			goto out;
		if (!iterators_gone(db))
			goto rewrite;
		synchronize_rcu();
		mutex_lock(&db->bg_mu);
		if (db->ckpt_holds == 0) {
			for (size_t i = 0; i < n; i++) {
				if (u[i].seen)
					continue;
				char path[PATH_MAX];
				file_path(path, sizeof(path), db->path, FILE_VALUE, u[i].no);
				vlog_files_forget(v->files, u[i].no);
				if (io_unlink(path) == 0) {
					atomic_fetch_add(&v->gc_deleted, 1);
					atomic_fetch_add(&db->space.reclaimed_bytes, u[i].size);
					atomic_fetch_sub(&v->file_count, 1);
					atomic_fetch_sub(&v->file_bytes, u[i].size);
				}
				u[i].size = 0;
			}
		}
		mutex_unlock(&db->bg_mu);
	}

rewrite:;
	/* Rewrite the live values of the emptiest files while the files hold
	 * more than VLOG_GC_RATIO times what is live. A file reached only by
	 * snapshots gains nothing from it. */
	uint64_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += u[i].size;
	uint64_t budget = UINT64_C(256) << 20, moved = 0;
	while (!r && moved < budget && (double)total > VLOG_GC_RATIO * (double)live &&
	       !v->stop && !atomic_load(&db->closing)) {
		struct use *best = NULL;
		for (size_t i = 0; i < n; i++) {
			struct use *x = &u[i];
			if (!x->size || !x->live)
				continue;
			if ((double)x->live > 0.9 * (double)x->size)
				continue;
			if (!best || (double)x->live / (double)x->size <
					     (double)best->live / (double)best->size)
				best = x;
		}
		if (!best)
			break;
		/* Short of space, the rewrite goes ahead of the space checks
		 * (it gives back more than it takes) if the room left holds
		 * twice what it writes. */
		bool pressed = atomic_load(&db->space.state) != SPACE_NORMAL;
		if (pressed && best->live * 2 > space_room(db))
			break;
		uint64_t done = 0;
		r = rewrite_file(db, best->no, pressed, &done);
		moved += done;
		atomic_fetch_add(&v->gc_rewritten, 1);
		atomic_fetch_add(&v->gc_rewritten_bytes, done);
		total -= best->size;
		total += best->live;
		best->size = 0;
	}
	if (moved) {
		/* The rewritten values reach new value files at the next
		 * flush; the next pass deletes the old files. */
		bg_request_flush(db);
		mutex_lock(&v->mu);
		v->requested = true;
		mutex_unlock(&v->mu);
	}
out:
	free(u);
	mutex_unlock(&v->pass_mu);
	return r;
}

#define VLOG_PERIOD_MS 10000

static void *collector(void *arg)
{
	struct golite *db = arg;
	struct vlog *v = &db->vlog;
	rcu_thread_ensure();
	pthread_setname_np(pthread_self(), "golite-values");
	mutex_lock(&v->mu);
	while (!v->stop) {
		if (!v->requested)
			cond_wait_until(&v->cv, &v->mu, now_ns() + VLOG_PERIOD_MS * UINT64_C(1000000));
		if (v->stop)
			break;
		v->requested = false;
		mutex_unlock(&v->mu);
		int r = vlog_collect(db);
		if (r && r != GOLITE_ENOSPC && r != GOLITE_ECLOSED)
			db_log(db, GOLITE_LOG_WARN, "collecting value files: %s", golite_strerror(r));
		mutex_lock(&v->mu);
		if (v->requested && !v->stop)
			cond_wait_until(&v->cv, &v->mu, now_ns() + UINT64_C(200000000));
	}
	mutex_unlock(&v->mu);
	return NULL;
}

void vlog_init(struct golite *db)
{
	struct vlog *v = &db->vlog;
	memset(v, 0, sizeof(*v));
	v->files = vlog_files_new(db->path);
	v->min = db->o.separate_values_from ? db->o.separate_values_from : VLOG_MIN_DEFAULT;
	mutex_init(&v->mu);
	mutex_init(&v->pass_mu);
	cond_init(&v->cv);
}

void vlog_destroy(struct golite *db)
{
	struct vlog *v = &db->vlog;
	vlog_files_free(v->files);
	v->files = NULL;
	pthread_mutex_destroy(&v->mu);
	pthread_mutex_destroy(&v->pass_mu);
	pthread_cond_destroy(&v->cv);
}

int vlog_start(struct golite *db)
{
	struct vlog *v = &db->vlog;
	if (v->min == SIZE_MAX)
		return 0;
	v->requested = true;   /* files a crash left behind */
	int e = pthread_create(&v->thread, NULL, collector, db);
	if (e)
		return set_error(GOLITE_EIO, "starting the value collector: %s", strerror(e));
	v->started = true;
	return 0;
}

void vlog_stop(struct golite *db)
{
	struct vlog *v = &db->vlog;
	if (!v->started)
		return;
	mutex_lock(&v->mu);
	v->stop = true;
	cond_broadcast(&v->cv);
	mutex_unlock(&v->mu);
	pthread_join(v->thread, NULL);
	v->started = false;
}

void vlog_request(struct golite *db)
{
	struct vlog *v = &db->vlog;
	mutex_lock(&v->mu);
	v->requested = true;
	cond_broadcast(&v->cv);
	mutex_unlock(&v->mu);
}

void vlog_figures(struct golite *db, struct golite_stats *s)
{
	struct vlog *v = &db->vlog;
	s->values_separated = atomic_load(&v->separated);
	s->value_files = atomic_load(&v->file_count);
	s->value_file_bytes = atomic_load(&v->file_bytes);
	s->value_live_bytes = atomic_load(&v->live_bytes);
	s->value_gc_passes = atomic_load(&v->gc_passes);
	s->value_gc_rewritten_files = atomic_load(&v->gc_rewritten);
	s->value_gc_rewritten_bytes = atomic_load(&v->gc_rewritten_bytes);
	s->value_gc_deleted_files = atomic_load(&v->gc_deleted);
}
