/*
 * expire.c — keys that expire (golite.h "Keys that expire"): the store's
 * clock, the calls that write and read times to live, and the expirer
 * thread that deletes keys at their expiry. The format and invariants are
 * in expire.h and format.h.
 *
 * The expirer sleeps until the earliest expiry in the index (at most a
 * second, so that a clock set forward is noticed), or until a write of an
 * earlier one wakes it, then walks the index from its start: each entry
 * due deletes its key (if the key still holds that expiring version) and
 * itself, in one conditional write (invariant 2).
 */
#include "expire.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "db.h"
#include "error.h"
#include "format.h"
#include "rcu.h"
#include "util.h"
#include "vfile.h"

/* Index entries one pass handles before it lets a new pass start (and
 * the hooks be changed). */
#define PASS_MAX 1000
/* The longest sleep: a clock set forward is noticed within it. */
#define SLEEP_MAX_MS 1000
/* Attempts of one conditional delete before the entry waits for a pass. */
#define ATTEMPTS 8

void expire_init(struct golite *db)
{
	struct expirer *x = &db->expirer;
	pthread_mutex_init(&x->mu, NULL);
	pthread_mutex_init(&x->hooks_mu, NULL);
	cond_init(&x->cv);
}

void expire_destroy(struct golite *db)
{
	pthread_mutex_destroy(&db->expirer.mu);
	pthread_mutex_destroy(&db->expirer.hooks_mu);
	pthread_cond_destroy(&db->expirer.cv);
}

/* ---- the clock ---- */

/* Added to the wall clock's reading (expire_clock_shift). */
static _Atomic int64_t clock_shift_ms;

void expire_clock_shift(int64_t ms)
{
	atomic_fetch_add(&clock_shift_ms, ms);
}

uint64_t db_clock_ms(struct golite *db)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	now += (uint64_t)atomic_load_explicit(&clock_shift_ms, memory_order_relaxed);
	uint64_t hw = atomic_load_explicit(&db->expirer.clock_ms, memory_order_relaxed);
	while (now > hw)
		if (atomic_compare_exchange_weak_explicit(&db->expirer.clock_ms, &hw, now,
							  memory_order_relaxed,
							  memory_order_relaxed))
			return now;
	return hw;
}

uint64_t db_read_clock_ms(struct golite *db, const golite_snapshot *snap)
{
	if (snap)
		return (uint64_t)snap->s->time_ns / 1000000;
	return db_clock_ms(db);
}

uint64_t golite_clock_ms(golite *db)
{
	return db_clock_ms(db);
}

/* ---- the index ---- */

/* The index ikey of an entry of ikey expiring at at. */
static void index_key(uint8_t out[IKEY_PREFIX + EXPIRE_INDEX_KEY], uint64_t at,
		      const uint8_t *ikey, size_t iklen)
{
	put_be32(out, TABLE_ID_EXPIRY);
	put_be64(out + IKEY_PREFIX, at);
	memcpy(out + IKEY_PREFIX + 8, ikey, IKEY_PREFIX);   /* the table id, BE32 */
	put_be64(out + IKEY_PREFIX + 12, hash64(ikey, iklen));
}

void expire_index_add(struct rep *r, uint64_t at, const uint8_t *ikey, size_t iklen)
{
	uint8_t k[IKEY_PREFIX + EXPIRE_INDEX_KEY];
	index_key(k, at, ikey, iklen);
	rep_add(r, KIND_VALUE, k, sizeof(k), ikey + IKEY_PREFIX, iklen - IKEY_PREFIX);
}

void expire_note(struct golite *db, uint64_t at)
{
	struct expirer *x = &db->expirer;
	uint64_t w = atomic_load_explicit(&x->wake_ms, memory_order_acquire);
	if (w && at >= w)
		return;   /* the thread looks by then */
	if (!x->started)
		return;
	mutex_lock(&x->mu);
	if (!x->wake_ms) {
		/* A pass is under way and may have missed it. */
		if (!x->early || at < x->early)
			x->early = at;
	} else if (at < x->wake_ms) {
		atomic_store_explicit(&x->wake_ms, at, memory_order_release);
		cond_signal(&x->cv);
	}
	mutex_unlock(&x->mu);
}

/* ---- the expirer ---- */

/* Publishes "expire TABLE KEY" (golite_raw.h). */
static void publish(struct golite *db, const char *table, const uint8_t *key, size_t klen)
{
	if (!golite_feed_wanted(db))
		return;
	golite_feed_field f[2] = { { table, strlen(table) }, { key, klen } };
	golite_feed_publish(db, "expire", f, 2);
}

/*
 * Handles the index entry (at, tid, key): deletes the key if it still
 * holds the version that expires at at, and the entry. Returns 0, or
 * GOLITE_EBUSY if writes kept racing with it (the entry waits for the
 * next pass), or the error of the write.
 */
static int expire_one(struct golite *db, uint64_t at, uint32_t tid, const uint8_t *key,
		      size_t klen)
{
	struct expirer *x = &db->expirer;
	uint8_t ikey[IKEY_MAX];
	size_t iklen = ikey_make(ikey, tid, key, klen);
	uint8_t ix[IKEY_PREFIX + EXPIRE_INDEX_KEY];
	index_key(ix, at, ikey, iklen);
	struct rep rep = { 0 };
	char table[GOLITE_MAX_TABLE_NAME + 1];
	if (golite_table_name(db, tid, table, sizeof(table))) {
		/* The table was dropped: its keys go with it (compaction
		 * discards them); only the index entry is left to delete. */
		rep_reset(&rep);
		rep_add(&rep, KIND_DELETE, ix, sizeof(ix), NULL, 0);
		int r = db_commit_batch(db, &rep, true, NULL);
		rep_free(&rep);
		return r;
	}
	int r = GOLITE_EBUSY;
	for (int attempt = 0; attempt < ATTEMPTS && r == GOLITE_EBUSY; attempt++) {
		if (x->hooks.begin)
			x->hooks.begin(x->hooks.ctx);
		uint64_t gen = atomic_load_explicit(&db->src_gen, memory_order_acquire);
		struct db_newest n;
		r = db_newest_entry(db, ikey, iklen, &n, true);
		if (r < 0) {
			if (x->hooks.end)
				x->hooks.end(x->hooks.ctx);
			break;
		}
		bool due = r == 1 && (n.kind & KIND_EXPIRES) && n.expires == at;
		rep_reset(&rep);
		if (due)
			rep_add(&rep, KIND_DELETE, ikey, iklen, NULL, 0);
		rep_add(&rep, KIND_DELETE, ix, sizeof(ix), NULL, 0);
		struct db_cond cond = { ikey, iklen, r == 1 ? n.seq : 0, gen };
		r = db_commit_if(db, &rep, true, &cond);
		if (!r && due) {
			atomic_fetch_add_explicit(&x->expired, 1, memory_order_relaxed);
			db_count(db, C_DELETES, 1);
			publish(db, table, key, klen);
			if (x->hooks.expired)
				x->hooks.expired(x->hooks.ctx, tid, key, klen, kind_base(n.kind),
						 (const uint8_t *)n.value + EXPIRES_PREFIX,
						 n.vlen - EXPIRES_PREFIX);
		}
		free(n.value);
		if (x->hooks.end)
			x->hooks.end(x->hooks.ctx);
	}
	rep_free(&rep);
	return r;
}

/*
 * One pass over the index: handles the entries due. Returns when to look
 * next: the earliest expiry left (0 if none), or now if the pass stopped
 * early.
 */
static uint64_t expire_pass(struct golite *db)
{
	struct expirer *x = &db->expirer;
	golite_iter *it;
	uint64_t now = db_clock_ms(db);
	if (golite_iter_new_raw(db, TABLE_ID_EXPIRY, NULL, &it))
		return now + SLEEP_MAX_MS;
	uint64_t next = 0;
	int done = 0;
	mutex_lock(&x->hooks_mu);
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t ilen, klen;
		const uint8_t *ik = golite_iter_key(it, &ilen);
		const uint8_t *key = golite_iter_value_raw(it, &klen);
		if (ilen != EXPIRE_INDEX_KEY || klen == 0 || klen > GOLITE_MAX_KEY_SIZE)
			continue;   /* not an index entry; golite check reports it */
		uint64_t at = get_be64(ik);
		if (at > now) {
			next = at;
			break;
		}
		if (++done > PASS_MAX || atomic_load(&db->closing)) {
			next = now;
			break;
		}
		int r = expire_one(db, at, get_be32(ik + 8), key, klen);
		if (r == GOLITE_EBUSY) {
			next = now + 10;   /* raced by writes: the next pass */
		} else if (r) {
			db_log(db, GOLITE_LOG_WARN, "deleting an expired key failed: %s",
			       golite_last_error());
			next = now + SLEEP_MAX_MS;
			break;
		}
	}
	mutex_unlock(&x->hooks_mu);
	if (golite_iter_status(it))
		next = now + SLEEP_MAX_MS;
	golite_iter_free(it);
	return next;
}

static void *expire_main(void *arg)
{
	struct golite *db = arg;
	struct expirer *x = &db->expirer;
	rcu_thread_ensure();
	pthread_setname_np(pthread_self(), "golite-expire");
	mutex_lock(&x->mu);
	while (!x->stop) {
		atomic_store_explicit(&x->wake_ms, 0, memory_order_release);
		x->early = 0;
		mutex_unlock(&x->mu);
		uint64_t next = expire_pass(db);
		atomic_store_explicit(&x->next_ms, next, memory_order_relaxed);
		mutex_lock(&x->mu);
		uint64_t now = db_clock_ms(db);
		uint64_t plan = now + SLEEP_MAX_MS;
		if (next && next < plan)
			plan = next;
		if (x->early && x->early < plan)
			plan = x->early;
		atomic_store_explicit(&x->wake_ms, plan, memory_order_release);
		while (!x->stop) {
			now = db_clock_ms(db);
			uint64_t w = atomic_load_explicit(&x->wake_ms, memory_order_relaxed);
			if (now >= w)
				break;
			cond_wait_until(&x->cv, &x->mu, now_ns() + (w - now) * 1000000);
		}
	}
	mutex_unlock(&x->mu);
	rcu_thread_detach();
	return NULL;
}

int expire_start(struct golite *db)
{
	struct expirer *x = &db->expirer;
	int e = pthread_create(&x->thread, NULL, expire_main, db);
	if (e)
		return set_error(GOLITE_EIO, "cannot start the expiry thread: %s", strerror(e));
	x->started = true;
	return 0;
}

void expire_stop(struct golite *db)
{
	struct expirer *x = &db->expirer;
	if (!x->started)
		return;
	mutex_lock(&x->mu);
	x->stop = true;
	cond_signal(&x->cv);
	mutex_unlock(&x->mu);
	pthread_join(x->thread, NULL);
	x->started = false;
}

void golite_expire_hooks_set(golite *db, const golite_expire_hooks *h)
{
	if (!db)
		return;
	struct expirer *x = &db->expirer;
	mutex_lock(&x->hooks_mu);
	if (h)
		x->hooks = *h;
	else
		memset(&x->hooks, 0, sizeof(x->hooks));
	mutex_unlock(&x->hooks_mu);
}

/* ---- the calls ---- */

static int check_ttl(uint64_t ttl_ms, bool zero_ok)
{
	if ((!ttl_ms && !zero_ok) || ttl_ms > GOLITE_TTL_MAX_MS)
		return set_error(GOLITE_EINVAL,
				 "a time to live of %" PRIu64 " ms (1..%" PRIu64 " allowed)", ttl_ms,
				 (uint64_t)GOLITE_TTL_MAX_MS);
	return 0;
}

int golite_put_ttl(golite *db, const char *table, const void *key, size_t klen,
		   const void *value, size_t vlen, uint64_t ttl_ms)
{
	int r = db_check_handle(db);
	if (!r)
		r = db_check_writable(db);
	if (!r)
		r = check_ttl(ttl_ms, false);
	if (r)
		return r;
	golite_batch *b = golite_batch_new();
	r = golite_batch_put_expiring(b, table, key, klen, value, vlen, db_clock_ms(db) + ttl_ms);
	if (!r)
		r = golite_write(db, b);
	golite_batch_free(b);
	if (!r)
		db_count(db, C_PUTS, 1);
	return r;
}

/* Resolves table and checks the key, for golite_expire and golite_ttl. */
static int key_ikey(struct golite *db, const char *table, const void *key, size_t klen,
		    uint8_t *ikey, size_t *iklen, uint32_t *id)
{
	int r = db_check_handle(db);
	if (r)
		return r;
	if (!key || klen == 0 || klen > GOLITE_MAX_KEY_SIZE)
		return set_error(GOLITE_EKEYSIZE, "key of %zu bytes (1..%u allowed)", klen,
				 GOLITE_MAX_KEY_SIZE);
	rcu_read_lock();
	r = db_table_id(db, table, id);
	rcu_read_unlock();
	if (!r)
		*iklen = ikey_make(ikey, *id, key, klen);
	return r;
}

int golite_expire(golite *db, const char *table, const void *key, size_t klen, uint64_t ttl_ms)
{
	uint8_t ikey[IKEY_MAX];
	size_t iklen;
	uint32_t id;
	int r = key_ikey(db, table, key, klen, ikey, &iklen, &id);
	if (!r)
		r = db_check_writable(db);
	if (!r)
		r = check_ttl(ttl_ms, true);
	if (r)
		return r;
	struct rep rep = { 0 };
	r = GOLITE_EBUSY;
	for (int attempt = 0; attempt < 1000 && r == GOLITE_EBUSY; attempt++) {
		uint64_t gen = atomic_load_explicit(&db->src_gen, memory_order_acquire);
		struct db_newest n;
		r = db_newest_entry(db, ikey, iklen, &n, true);
		if (r < 0)
			break;
		uint64_t now = db_clock_ms(db);
		if (r == 0 || n.kind == KIND_DELETE ||
		    ((n.kind & KIND_EXPIRES) && n.expires <= now)) {
			free(n.value);
			r = set_error(GOLITE_ENOTFOUND, "key not found");
			break;
		}
		size_t pre = (n.kind & KIND_EXPIRES) ? EXPIRES_PREFIX : 0;
		const uint8_t *v = (const uint8_t *)n.value + pre;
		size_t vlen = n.vlen - pre;
		unsigned base = kind_base(n.kind);
		if (base == KIND_META && vlen >= 2 && v[1] == VFILE_DIR) {
			free(n.value);
			r = set_error(GOLITE_EISDIR, "the key names a directory");
			break;
		}
		if (base == KIND_META && vlen >= 2 && v[1] == VFILE_HLINK) {
			free(n.value);
			r = set_error(GOLITE_EINVAL, "a file with several names (hard links) "
						     "cannot expire");
			break;
		}
		uint64_t at = ttl_ms ? now + ttl_ms : 0;
		if (!at && !pre) {
			free(n.value);
			r = 0;   /* no time to live to remove */
			break;
		}
		rep_reset(&rep);
		if (at) {
			rep_add_expiring(&rep, base, ikey, iklen, at, v, vlen);
			expire_index_add(&rep, at, ikey, iklen);
		} else {
			rep_add(&rep, base, ikey, iklen, v, vlen);
		}
		free(n.value);
		struct db_cond cond = { ikey, iklen, n.seq, gen };
		r = db_commit_if(db, &rep, false, &cond);
		if (!r && at)
			expire_note(db, at);
	}
	rep_free(&rep);
	if (r == GOLITE_EBUSY)
		r = set_error(GOLITE_EBUSY, "the key kept changing");
	return r;
}

int golite_ttl(golite *db, const char *table, const void *key, size_t klen, int64_t *ms_left)
{
	uint8_t ikey[IKEY_MAX];
	size_t iklen;
	uint32_t id;
	if (!ms_left)
		return set_error(GOLITE_EINVAL, "ms_left is NULL");
	int r = key_ikey(db, table, key, klen, ikey, &iklen, &id);
	if (r)
		return r;
	unsigned kind;
	uint64_t at;
	size_t vlen;
	r = golite_get_raw_ex(db, NULL, id, key, klen, &kind, &at, NULL, 0, NULL, &vlen);
	if (r)
		return r;
	if (!at) {
		*ms_left = -1;
		return 0;
	}
	uint64_t now = db_clock_ms(db);
	*ms_left = at > now ? (int64_t)(at - now) : 1;
	return 0;
}
