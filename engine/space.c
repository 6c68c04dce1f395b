/*
 * space.c — the reserve, the headroom, the size limit and the space
 * thread (space.h says why and what).
 */
#include "space.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "batch.h"
#include "db.h"
#include "error.h"
#include "filename.h"
#include "format.h"
#include "io.h"
#include "util.h"

#define MIB (UINT64_C(1) << 20)
#define GIB (UINT64_C(1) << 30)
#define RESERVE_MIN (4 * MIB)
#define RESERVE_CAP_MIN (8 * MIB)
#define RESERVE_CAP_MAX (256 * MIB)
#define LOG_KEEP_MIN (2 * MIB)
#define HEADROOM_MAX (8 * GIB)
/* How often the space thread looks, in normal times and when short. */
#define TICK_NS (1000ull * 1000 * 1000)
#define PRESSED_TICK_NS (200ull * 1000 * 1000)
/* The space thread looks at most this often, however often it is woken. */
#define MIN_LOOK_NS (50ull * 1000 * 1000)
/* A refused write looks again when the last look is older than this. */
#define STALE_NS (10ull * 1000 * 1000)

const char *space_state_name(int state)
{
	switch (state) {
	case SPACE_NORMAL: return "normal";
	case SPACE_FULL: return "writes-refused";
	case SPACE_READONLY: return "read-only";
	}
	return "unknown";
}

/* Bytes on disk of the regular files in dir. */
static uint64_t dir_usage(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	uint64_t sum = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_blocks * 512;
	}
	closedir(d);
	return sum;
}

static int fs_space(const char *dir, uint64_t *size, uint64_t *avail)
{
	struct statvfs sv;
	if (statvfs(dir, &sv) < 0)
		return -errno;
	*size = (uint64_t)sv.f_blocks * sv.f_frsize;
	*avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

static uint64_t clamp64(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int space_open(struct golite *db)
{
	struct space *sp = &db->space;
	sp->fd = -1;
	mutex_init(&sp->mu);
	mutex_init(&sp->ranges_mu);
	cond_init(&sp->cv);
	uint64_t size = 0, avail = 0;
	int r = fs_space(db->path, &size, &avail);
	if (r < 0)
		return set_error(GOLITE_EIO, "cannot read the file system's size at %s: %s",
				 db->path, strerror(-r));
	atomic_store(&sp->fs_size, size);
	atomic_store(&sp->fs_free, avail);
	sp->limit = db->o.max_size;
	sp->total = sp->limit && sp->limit < size ? sp->limit : size;
	uint64_t total = sp->total;

	/* Sizes that fit the space (space.h). */
	uint64_t mem_cap = MAX(MIB, total / 32), sst_cap = MAX(MIB, total / 64);
	if (db->o.memtable_size > mem_cap)
		db->o.memtable_size = (size_t)mem_cap;
	if (db->o.sstable_size > sst_cap)
		db->o.sstable_size = (size_t)sst_cap;
	if (db->o.space_reserve) {
		sp->cap = db->o.space_reserve;
	} else {
		sp->cap = clamp64(total / 16, RESERVE_CAP_MIN, RESERVE_CAP_MAX);
		if (sp->cap > total / 4)
			sp->cap = total / 4 / MIB * MIB;
	}
	sp->target = MIN(sp->cap, RESERVE_MIN);
	sp->log_keep = MIN(sp->target, LOG_KEEP_MIN);
	sp->headroom = MAX(MIN(total / 50, HEADROOM_MAX),
			   2 * (uint64_t)db->o.memtable_size + 2 * (uint64_t)db->o.sstable_size);

	if (db->o.read_only) {
		char rpath[PATH_MAX];
		struct stat st;
		file_path(rpath, sizeof(rpath), db->path, FILE_RESERVE, 0);
		if (stat(rpath, &st) == 0)
			atomic_store(&sp->have, (uint64_t)st.st_blocks * 512);
		atomic_store(&sp->state, SPACE_READONLY);
		sp->cause = "opened_read_only";
		snprintf(sp->why, sizeof(sp->why), "the store was opened read-only");
		atomic_store(&sp->used, dir_usage(db->path));
		return 0;
	}
	char path[PATH_MAX];
	file_path(path, sizeof(path), db->path, FILE_RESERVE, 0);
	int fd = io_open(path, O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		/* Without a reserve the store still works; deletes on a full
		 * disk may then fail. */
		db_log(db, GOLITE_LOG_WARN, "cannot open %s: %s; no space is reserved for deletes",
		       path, strerror(-fd));
	} else {
		struct stat st;
		uint64_t have = 0;
		if (fstat(fd, &st) == 0) {
			have = (uint64_t)st.st_size;
			/* A sparse reserve holds no blocks: start again. */
			if ((uint64_t)st.st_blocks * 512 < have) {
				io_ftruncate(fd, 0);
				have = 0;
			}
		}
		if (have > sp->cap) {
			io_ftruncate(fd, sp->cap);
			have = sp->cap;
		}
		sp->fd = fd;
		atomic_store(&sp->have, have);
	}
	space_refresh(db);
	return 0;
}

/* The reserve grows with the store: what a flush or the rewrite of a table
 * of a store this size needs, and the log's part (mu held). A reserve
 * above its new target gives the rest back. */
static void size_target_locked(struct golite *db, uint64_t used)
{
	struct space *sp = &db->space;
	uint64_t have = atomic_load(&sp->have);
	uint64_t data = used > have ? used - have : 0;
	uint64_t t = db->o.space_reserve ? sp->cap
					 : MIN(sp->cap, MAX(RESERVE_MIN, LOG_KEEP_MIN + data / 8));
	t = (t + MIB - 1) / MIB * MIB;
	sp->target = t;
	sp->log_keep = MIN(t, MAX(LOG_KEEP_MIN, t / 4));
	if (sp->fd >= 0 && have > t && io_ftruncate(sp->fd, t) == 0)
		atomic_store(&sp->have, t);
}

/* Where fallocate is not supported: zeros written and synced hold the
 * blocks as well. */
static int write_zeros(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[64 << 10];
	for (uint64_t done = 0; done < len;) {
		size_t n = (size_t)MIN((uint64_t)sizeof(zeros), len - done);
		int r = io_pwrite(fd, zeros, n, off + done);
		if (r < 0)
			return r;
		done += n;
	}
	return io_fdatasync(fd);
}

/* Fills the reserve up to its target if the file system has the room
 * (mu held). */
static void refill_locked(struct golite *db, uint64_t *avail)
{
	struct space *sp = &db->space;
	uint64_t have = atomic_load(&sp->have);
	if (sp->fd < 0 || have >= sp->target)
		return;
	uint64_t want = sp->target - have;
	if (*avail < want)
		return;
	int r = io_allocate(sp->fd, have, want);
	if (r == -EOPNOTSUPP)
		r = write_zeros(sp->fd, have, want);
	if (r < 0) {
		/* A partial allocation is given back: the size says it all. */
		io_ftruncate(sp->fd, have);
		return;
	}
	atomic_store(&sp->have, sp->target);
	*avail -= want;
}

/* Decides the state from the figures (mu held); logs a change. */
static void decide_locked(struct golite *db, uint64_t avail, uint64_t used)
{
	struct space *sp = &db->space;
	int old = atomic_load(&sp->state);
	if (old == SPACE_READONLY)
		return;
	uint64_t have = atomic_load(&sp->have);
	int s = SPACE_NORMAL;
	char why[sizeof(sp->why)] = "";
	const char *cause = "none";
	/* Leaving the full state takes a little more than entering it, so
	 * that writes at the edge do not flap. */
	uint64_t margin = old == SPACE_FULL ? MIB : 0;
	if (sp->fd >= 0 && have < sp->target) {
		s = SPACE_FULL;
		cause = "reserve_in_use";
		snprintf(why, sizeof(why), "the space reserved for deletes is in use (%llu of %llu bytes left)",
			 (unsigned long long)have, (unsigned long long)sp->target);
	} else if (avail < sp->headroom + margin) {
		s = SPACE_FULL;
		cause = "headroom";
		snprintf(why, sizeof(why),
			 "%llu bytes free on the file system, below the headroom of %llu",
			 (unsigned long long)avail, (unsigned long long)sp->headroom);
	} else if (sp->limit && used + sp->headroom + margin > sp->limit) {
		s = SPACE_FULL;
		cause = "max_size";
		snprintf(why, sizeof(why),
			 "the store's files take %llu bytes, within the headroom of %llu of max_size %llu",
			 (unsigned long long)used, (unsigned long long)sp->headroom,
			 (unsigned long long)sp->limit);
	}
	memcpy(sp->why, why, sizeof(why));
	sp->cause = cause;
	if (s == old)
		return;
	atomic_store(&sp->state, s);
	if (s == SPACE_FULL)
		db_log(db, GOLITE_LOG_WARN, "space: writes refused from now on: %s; deletes go on", why);
	else
		db_log(db, GOLITE_LOG_WARN,
		       "space: writes accepted again (%llu bytes free, reserve full)",
		       (unsigned long long)avail);
}

void space_refresh(struct golite *db)
{
	struct space *sp = &db->space;
	uint64_t size = 0, avail = 0;
	if (fs_space(db->path, &size, &avail) < 0)
		return;
	uint64_t used = dir_usage(db->path);
	mutex_lock(&sp->mu);
	if (atomic_load(&sp->state) != SPACE_READONLY) {
		size_target_locked(db, used);
		/* The reserve comes first; under a limit, so does its room. */
		uint64_t room = avail;
		if (sp->limit) {
			uint64_t left = used < sp->limit ? sp->limit - used : 0;
			room = MIN(room, left);
		}
		uint64_t before = room;
		refill_locked(db, &room);
		used += before - room;
		avail -= before - room;
	}
	atomic_store(&sp->fs_size, size);
	atomic_store(&sp->fs_free, avail);
	atomic_store(&sp->used, used);
	atomic_store(&sp->refreshed_ns, now_ns());
	decide_locked(db, avail, used);
	mutex_unlock(&sp->mu);
}

uint64_t space_borrow(struct golite *db, uint64_t bytes, uint64_t keep, const char *what)
{
	struct space *sp = &db->space;
	mutex_lock(&sp->mu);
	uint64_t have = atomic_load(&sp->have);
	uint64_t take = 0;
	if (sp->fd >= 0 && have > keep) {
		take = MIN(have - keep, (bytes + MIB - 1) / MIB * MIB);
		if (io_ftruncate(sp->fd, have - take) < 0) {
			take = 0;
		} else {
			atomic_store(&sp->have, have - take);
			atomic_fetch_add(&sp->borrowed, take);
			atomic_fetch_add(&sp->fs_free, take);
		}
	}
	if (take) {
		if (atomic_load(&sp->state) == SPACE_NORMAL)
			db_log(db, GOLITE_LOG_WARN, "space: writes refused from now on: the disk is full");
		atomic_store(&sp->state, SPACE_FULL);
		sp->cause = "reserve_in_use";
		snprintf(sp->why, sizeof(sp->why), "the space reserved for deletes is in use (%llu of %llu bytes left)",
			 (unsigned long long)(have - take), (unsigned long long)sp->target);
		db_log(db, GOLITE_LOG_INFO, "space: %s draws %llu bytes on the reserve (%llu left)",
		       what, (unsigned long long)take, (unsigned long long)(have - take));
		cond_signal(&sp->cv);
	}
	mutex_unlock(&sp->mu);
	return take;
}

int space_refused(struct golite *db)
{
	struct space *sp = &db->space;
	/* Space freed since the last look (a file removed beside the store)
	 * lets writes in at once: a look older than STALE_NS is taken again,
	 * and so is a newer one if the file system's free bytes changed since
	 * (one statfs; a file removed right after the last look counts). */
	uint64_t size = 0, avail = 0;
	if (now_ns() - atomic_load(&sp->refreshed_ns) > STALE_NS ||
	    (fs_space(db->path, &size, &avail) == 0 && avail != atomic_load(&sp->fs_free)))
		space_refresh(db);
	mutex_lock(&sp->mu);
	int r = 0;
	/* The state may have changed since the caller looked. */
	if (atomic_load(&sp->state) == SPACE_FULL) {
		atomic_fetch_add_explicit(&sp->refused, 1, memory_order_relaxed);
		r = set_error(GOLITE_ENOSPC, "no space for writes: %s; deletes still work", sp->why);
	}
	mutex_unlock(&sp->mu);
	return r;
}

/* Tables (ids) with deletes pending, at most; past that every table is read. */
#define MAX_RANGES 64

/* Adds count deletes in [lo, hi] (one table id): widens that table's
 * range (ranges_mu held). */
static void range_add_locked(struct space *sp, const uint8_t *lo, size_t lolen, const uint8_t *hi,
			     size_t hilen, uint64_t count)
{
	if (sp->scan_all)
		return;
	uint32_t table = ikey_table(lo);
	for (size_t i = 0; i < sp->nranges; i++) {
		struct space_range *r = &sp->ranges[i];
		if (ikey_table(r->lo) != table)
			continue;
		if (ikey_cmp(lo, lolen, r->lo, r->lolen) < 0) {
			free(r->lo);
			r->lo = xmemdup(lo, lolen);
			r->lolen = lolen;
		}
		if (ikey_cmp(hi, hilen, r->hi, r->hilen) > 0) {
			free(r->hi);
			r->hi = xmemdup(hi, hilen);
			r->hilen = hilen;
		}
		r->count += count;
		return;
	}
	if (sp->nranges == MAX_RANGES) {
		/* Deletes in many tables: the next pass reads every table. */
		space_ranges_free(sp->ranges, sp->nranges);
		sp->ranges = NULL;
		sp->nranges = sp->cap_ranges = 0;
		sp->scan_all = true;
		return;
	}
	if (sp->nranges == sp->cap_ranges) {
		sp->cap_ranges = sp->cap_ranges ? sp->cap_ranges * 2 : 16;
		sp->ranges = xrealloc(sp->ranges, sp->cap_ranges * sizeof(*sp->ranges));
	}
	struct space_range *r = &sp->ranges[sp->nranges++];
	r->lo = xmemdup(lo, lolen);
	r->lolen = lolen;
	r->hi = xmemdup(hi, hilen);
	r->hilen = hilen;
	r->count = count;
}

struct range_acc {
	struct space *sp;
	const uint8_t *lo, *hi;
	size_t lolen, hilen;
	uint64_t count;
};

static void acc_flush(struct range_acc *a)
{
	if (a->lo)
		range_add_locked(a->sp, a->lo, a->lolen, a->hi, a->hilen, a->count);
	a->lo = a->hi = NULL;
	a->count = 0;
}

static int acc_entry(void *ctx, uint64_t seq, unsigned kind, const uint8_t *ikey, size_t iklen,
		     const uint8_t *value, size_t vlen)
{
	(void)seq;
	(void)value;
	(void)vlen;
	struct range_acc *a = ctx;
	if (kind != KIND_DELETE)
		return 0;
	if (a->lo && ikey_table(a->lo) != ikey_table(ikey))
		acc_flush(a);
	a->count++;
	if (!a->lo) {
		a->lo = a->hi = ikey;
		a->lolen = a->hilen = iklen;
		return 0;
	}
	if (ikey_cmp(ikey, iklen, a->lo, a->lolen) < 0) {
		a->lo = ikey;
		a->lolen = iklen;
	}
	if (ikey_cmp(ikey, iklen, a->hi, a->hilen) > 0) {
		a->hi = ikey;
		a->hilen = iklen;
	}
	return 0;
}

void space_note_frees(struct golite *db, const uint8_t *payload, size_t len,
		      const uint8_t *one_ikey, size_t one_iklen, unsigned one_kind)
{
	struct space *sp = &db->space;
	atomic_fetch_add_explicit(&sp->frees, 1, memory_order_relaxed);
	mutex_lock(&sp->ranges_mu);
	if (one_ikey) {
		if (one_kind == KIND_DELETE)
			range_add_locked(sp, one_ikey, one_iklen, one_ikey, one_iklen, 1);
	} else {
		struct range_acc a = { .sp = sp };
		rep_iterate(payload, len, acc_entry, &a, NULL, NULL);
		acc_flush(&a);
	}
	mutex_unlock(&sp->ranges_mu);
	/* Short of space, the space thread acts at once; otherwise its next
	 * tick (a second) is soon enough, and a stream of deletes does not
	 * keep it awake. */
	if (sp->thread_running && space_pressure(db)) {
		mutex_lock(&sp->mu);
		cond_signal(&sp->cv);
		mutex_unlock(&sp->mu);
	}
}

struct space_range *space_ranges_take(struct golite *db, size_t *n, bool *all)
{
	struct space *sp = &db->space;
	mutex_lock(&sp->ranges_mu);
	struct space_range *r = sp->ranges;
	*n = sp->nranges;
	*all = sp->scan_all;
	sp->ranges = NULL;
	sp->nranges = sp->cap_ranges = 0;
	sp->scan_all = false;
	mutex_unlock(&sp->ranges_mu);
	return r;
}

void space_ranges_free(struct space_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(r[i].lo);
		free(r[i].hi);
	}
	free(r);
}

static bool ranges_pending(struct space *sp)
{
	mutex_lock(&sp->ranges_mu);
	bool p = sp->nranges || sp->scan_all;
	mutex_unlock(&sp->ranges_mu);
	return p;
}

int space_admit(struct golite *db, uint64_t bytes, bool frees)
{
	struct space *sp = &db->space;
	/* Under a size limit the store's files are counted again (flushes
	 * and compactions add tables between two looks). */
	if (sp->limit && now_ns() - atomic_load(&sp->refreshed_ns) > STALE_NS)
		space_refresh(db);
	uint64_t size = 0, avail = 0;
	if (fs_space(db->path, &size, &avail) < 0)
		return 0;
	atomic_store(&sp->fs_free, avail);
	uint64_t used = atomic_load(&sp->used) + bytes;
	atomic_store(&sp->used, used);
	mutex_lock(&sp->mu);
	decide_locked(db, avail > bytes ? avail - bytes : 0, used);
	int s = atomic_load(&sp->state);
	mutex_unlock(&sp->mu);
	if (s != SPACE_NORMAL && !frees)
		return space_refused(db);
	return 0;
}

uint64_t space_room(struct golite *db)
{
	struct space *sp = &db->space;
	uint64_t have = atomic_load(&sp->have), keep = atomic_load(&sp->log_keep);
	return atomic_load(&sp->fs_free) + (have > keep ? have - keep : 0);
}

bool space_pressure(struct golite *db)
{
	struct space *sp = &db->space;
	int s = atomic_load(&sp->state);
	if (s == SPACE_READONLY)
		return false;
	if (s == SPACE_FULL)
		return true;
	if (atomic_load(&sp->fs_free) < 2 * sp->headroom)
		return true;
	return sp->limit && atomic_load(&sp->used) + 2 * sp->headroom > sp->limit;
}

static void *space_thread(void *arg)
{
	struct golite *db = arg;
	struct space *sp = &db->space;
	rcu_thread_ensure();
	pthread_setname_np(pthread_self(), "golite-space");
	bool again = false;
	mutex_lock(&sp->mu);
	while (!sp->stop) {
		mutex_unlock(&sp->mu);
		if (now_ns() - atomic_load(&sp->refreshed_ns) >= MIN_LOOK_NS)
			space_refresh(db);
		if (again || ranges_pending(sp)) {
			uint64_t passes = atomic_load(&sp->reclaim_passes);
			again = reclaim_pass(db);
			if (atomic_load(&sp->reclaim_passes) != passes)
				space_refresh(db);   /* what the pass gave back */
		}
		mutex_lock(&sp->mu);
		if (sp->stop)
			break;
		cond_wait_until(&sp->cv, &sp->mu,
				now_ns() + (again || space_pressure(db) ? PRESSED_TICK_NS : TICK_NS));
	}
	mutex_unlock(&sp->mu);
	return NULL;
}

void space_start(struct golite *db)
{
	struct space *sp = &db->space;
	if (db->o.read_only || sp->thread_running)
		return;
	/* A store that opens short of space reads every table once: the log
	 * it replayed may hold deletes whose ranges nobody noted. */
	if (space_pressure(db)) {
		mutex_lock(&sp->ranges_mu);
		sp->scan_all = true;
		mutex_unlock(&sp->ranges_mu);
	}
	sp->stop = false;
	if (pthread_create(&sp->thread, NULL, space_thread, db))
		FATAL("pthread_create");
	sp->thread_running = true;
}

void space_stop(struct golite *db)
{
	struct space *sp = &db->space;
	if (!sp->thread_running)
		return;
	mutex_lock(&sp->mu);
	sp->stop = true;
	cond_signal(&sp->cv);
	mutex_unlock(&sp->mu);
	pthread_join(sp->thread, NULL);
	sp->thread_running = false;
}

void space_close(struct golite *db)
{
	struct space *sp = &db->space;
	space_stop(db);
	if (sp->fd >= 0)
		io_close(sp->fd);
	sp->fd = -1;
	space_ranges_free(sp->ranges, sp->nranges);
	sp->ranges = NULL;
	sp->nranges = 0;
	pthread_cond_destroy(&sp->cv);
	pthread_mutex_destroy(&sp->ranges_mu);
	pthread_mutex_destroy(&sp->mu);
}

void space_figures(struct golite *db, golite_stats *s)
{
	struct space *sp = &db->space;
	s->space_state = atomic_load(&sp->state);
	s->space_used = atomic_load(&sp->used);
	s->space_free = atomic_load(&sp->fs_free);
	s->space_limit = sp->limit;
	s->space_headroom = sp->headroom;
	s->space_reserve = atomic_load(&sp->have);
	s->space_reserve_target = sp->target;
	s->space_reclaimable = atomic_load(&sp->reclaimable_bytes);
	s->space_reclaimed = atomic_load(&sp->reclaimed_bytes);
	s->space_refused = atomic_load(&sp->refused);
}

void space_stats(struct golite *db, FILE *f)
{
	struct space *sp = &db->space;
	mutex_lock(&sp->mu);
	int state = atomic_load(&sp->state);
	fprintf(f, "space_state %s\n", space_state_name(state));
	fprintf(f, "space_state_cause %s\n", state == SPACE_NORMAL ? "none" : sp->cause);
	mutex_unlock(&sp->mu);
	fprintf(f, "space_used_bytes %llu\n", (unsigned long long)atomic_load(&sp->used));
	fprintf(f, "space_limit_bytes %llu\n", (unsigned long long)sp->limit);
	fprintf(f, "space_fs_size_bytes %llu\n", (unsigned long long)atomic_load(&sp->fs_size));
	fprintf(f, "space_fs_free_bytes %llu\n", (unsigned long long)atomic_load(&sp->fs_free));
	fprintf(f, "space_headroom_bytes %llu\n", (unsigned long long)sp->headroom);
	fprintf(f, "space_reserve_bytes %llu\n", (unsigned long long)atomic_load(&sp->have));
	fprintf(f, "space_reserve_target_bytes %llu\n", (unsigned long long)sp->target);
	fprintf(f, "space_reserve_borrowed_bytes %llu\n",
		(unsigned long long)atomic_load(&sp->borrowed));
	fprintf(f, "space_reclaimable_bytes %llu\n",
		(unsigned long long)atomic_load(&sp->reclaimable_bytes));
	fprintf(f, "space_reclaimed_bytes %llu\n",
		(unsigned long long)atomic_load(&sp->reclaimed_bytes));
	fprintf(f, "space_reclaim_passes %llu\n",
		(unsigned long long)atomic_load(&sp->reclaim_passes));
	fprintf(f, "space_reclaim_tables_dropped %llu\n",
		(unsigned long long)atomic_load(&sp->reclaim_dropped));
	fprintf(f, "space_reclaim_tables_rewritten %llu\n",
		(unsigned long long)atomic_load(&sp->reclaim_rewritten));
	fprintf(f, "space_writes_refused %llu\n", (unsigned long long)atomic_load(&sp->refused));
}
