/*
 * implied.c — the index of implied directories, and the scan of the keys
 * at mount that builds it.
 *
 * A directory is implied when keys lie below it ("x/y/z" written through
 * the API makes "x" and "x/y" directories) but no directory record of its
 * own exists at its key. Knowing whether a name is an implied directory
 * takes a prefix scan (an iterator), which costs far more than the point
 * lookup that answers for every other entry; a create is preceded by the
 * kernel's lookup of the new name, so each create would pay one.
 *
 * Implied directories are only ever made by keys written through the API,
 * and while the store is mounted the API writes only through the daemon's
 * own HTTP server (the daemon holds the store's lock), which reports every
 * key it writes (netglue.c: implied_add_key). Through the mount, mkdir
 * writes a record, a removal gives an implied parent a record (remove.c),
 * and a rename gives an implied directory a record at its new name
 * (rename.c). So one scan of the keys at mount, and the keys the HTTP
 * server reports after it, find them all.
 *
 * Invariants:
 *   1. Once ready, the index holds every implied directory of the store
 *      (it may hold some that no longer are: a "yes" is checked with a
 *      prefix scan, a "no" is final).
 *   2. Until ready, every question is answered "maybe".
 *
 * The scan runs in the background thread right after the mount, and also
 * counts the keys (fs_files, statfs). It costs one pass over every key and
 * a point lookup per distinct directory prefix.
 */
#include "fs.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

struct implied_entry {
	struct implied_entry *next;
	uint64_t h;
	uint32_t table;
	uint32_t klen;
	uint8_t key[];
};

static uint64_t ihash(uint32_t table, const uint8_t *key, size_t klen)
{
	return hash64(key, klen) ^ ((uint64_t)table * UINT64_C(0x9e3779b97f4a7c15));
}

void implied_init(struct gfs *fs)
{
	if (pthread_rwlock_init(&fs->implied_lk, NULL))
		FATAL("pthread_rwlock_init");
	fs->implied_size = 64;
	fs->implied = xcalloc(fs->implied_size, sizeof(*fs->implied));
}

void implied_destroy(struct gfs *fs)
{
	for (size_t i = 0; i < fs->implied_size; i++) {
		struct implied_entry *e = fs->implied[i];
		while (e) {
			struct implied_entry *next = e->next;
			free(e);
			e = next;
		}
	}
	free(fs->implied);
	pthread_rwlock_destroy(&fs->implied_lk);
}

/* implied_lk held for writing. */
static void implied_add(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen)
{
	uint64_t h = ihash(table, key, klen);
	for (struct implied_entry *e = fs->implied[h & (fs->implied_size - 1)]; e; e = e->next)
		if (e->h == h && e->table == table && e->klen == klen && !memcmp(e->key, key, klen))
			return;
	if (fs->implied_count + 1 > fs->implied_size) {
		size_t size = fs->implied_size * 2;
		struct implied_entry **v = xcalloc(size, sizeof(*v));
		for (size_t i = 0; i < fs->implied_size; i++) {
			struct implied_entry *e = fs->implied[i];
			while (e) {
				struct implied_entry *next = e->next;
				e->next = v[e->h & (size - 1)];
				v[e->h & (size - 1)] = e;
				e = next;
			}
		}
		free(fs->implied);
		fs->implied = v;
		fs->implied_size = size;
	}
	struct implied_entry *e = xmalloc(sizeof(*e) + klen + 1);
	e->h = h;
	e->table = table;
	e->klen = (uint32_t)klen;
	memcpy(e->key, key, klen);
	struct implied_entry **slot = &fs->implied[h & (fs->implied_size - 1)];
	e->next = *slot;
	*slot = e;
	fs->implied_count++;
}

void implied_add_key(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen)
{
	pthread_rwlock_wrlock(&fs->implied_lk);
	for (size_t i = 0; i < klen; i++)
		if (key[i] == '/')
			implied_add(fs, table, key, i);
	pthread_rwlock_unlock(&fs->implied_lk);
}

bool implied_maybe(struct gfs *fs, uint32_t table, const uint8_t *key, size_t klen)
{
	/* The index is of the live store: a snapshot view asks the store. */
	if (snap_slot(table) || !atomic_load_explicit(&fs->implied_ready, memory_order_acquire))
		return true;
	uint64_t h = ihash(table, key, klen);
	bool found = false;
	pthread_rwlock_rdlock(&fs->implied_lk);
	for (struct implied_entry *e = fs->implied[h & (fs->implied_size - 1)]; e && !found;
	     e = e->next)
		found = e->h == h && e->table == table && e->klen == klen && !memcmp(e->key, key, klen);
	pthread_rwlock_unlock(&fs->implied_lk);
	return found;
}

/*
 * Scans table id: counts its keys and adds its implied directories to the
 * index. The keys come in order, so the directory prefixes of consecutive
 * keys repeat: each depth remembers the last prefix checked there.
 */
static uint64_t scan_table(struct gfs *fs, uint32_t id, bool *stop)
{
	golite_iter *it;
	if (golite_iter_new_raw(fs->db, id, NULL, &it))
		return 0;
	uint64_t count = 0;
	/* checked[d]: the prefix of depth d last looked up. */
	size_t depth_cap = 16;
	struct {
		uint8_t *key;
		size_t len;
	} *checked = xcalloc(depth_cap, sizeof(*checked));
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen;
		const uint8_t *k = golite_iter_key(it, &klen);
		count++;
		size_t d = 0;
		for (size_t i = 0; i < klen; i++) {
			if (k[i] != '/')
				continue;
			if (d == depth_cap) {
				checked = xrealloc(checked, 2 * depth_cap * sizeof(*checked));
				memset(checked + depth_cap, 0, depth_cap * sizeof(*checked));
				depth_cap *= 2;
			}
			if (checked[d].key && checked[d].len == i && memcmp(checked[d].key, k, i) == 0) {
				d++;
				continue;
			}
			/* A new prefix at this depth: deeper ones are new too. */
			for (size_t j = d; j < depth_cap && checked[j].key; j++) {
				free(checked[j].key);
				checked[j].key = NULL;
			}
			checked[d].key = xmemdup(k, i ? i : 1);
			checked[d].len = i;
			struct rec rec;
			bool dir_record = false;
			if (rec_get(fs, id, k, i, &rec) == 0 && rec.kind == GOLITE_KIND_META) {
				struct nattr a;
				dir_record = rec_attr(fs, id, k, i, &rec, &a) == 0 && S_ISDIR(a.mode);
			}
			rec_free(&rec);
			if (!dir_record) {
				pthread_rwlock_wrlock(&fs->implied_lk);
				implied_add(fs, id, k, i);
				pthread_rwlock_unlock(&fs->implied_lk);
			}
			d++;
		}
		if ((count & 4095) == 0) {
			mutex_lock(&fs->bg_mu);
			*stop = fs->bg_stop;
			mutex_unlock(&fs->bg_mu);
			if (*stop)
				break;
		}
	}
	for (size_t j = 0; j < depth_cap; j++)
		free(checked[j].key);
	free(checked);
	golite_iter_free(it);
	return count;
}

void scan_keys(struct gfs *fs)
{
	char **names;
	size_t count;
	if (golite_table_list(fs->db, &names, &count))
		return;
	uint64_t total = 0;
	bool stop = false;
	for (size_t i = 0; i < count && !stop; i++) {
		uint32_t id;
		if (golite_table_id(fs->db, names[i], &id) == 0)
			total += scan_table(fs, id, &stop);
	}
	golite_free(names);
	if (stop)
		return;
	atomic_fetch_add(&fs->files, total);
	atomic_store(&fs->files_counted, true);
	atomic_store_explicit(&fs->implied_ready, true, memory_order_release);
	gfs_log(LOG_LVL_INFO, "%llu keys, %zu implied directories",
		(unsigned long long)total, fs->implied_count);
}
