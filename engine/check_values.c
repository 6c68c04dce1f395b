/*
 * check_values.c — separated values (vlog.h), checked in the store's
 * contents: every value a reader can reach, now or at a named snapshot,
 * is read from its value file and its checksum checked. Dead pointers
 * (versions no reader sees) are not followed: their file may be gone.
 */
#include <limits.h>
#include <stdlib.h>

#include "check_int.h"
#include "db.h"
#include "filename.h"
#include "golite_raw.h"
#include "iter.h"
#include "snapshot.h"
#include "util.h"
#include "vlog.h"

/* Reads every value it reaches; returns how many failed. */
static uint64_t read_reached(struct run *r, struct golite *db, struct db_iter *it,
			     uint64_t *checked)
{
	static const uint8_t first[IKEY_PREFIX];
	uint8_t *buf = NULL;
	size_t cap = 0;
	uint64_t bad = 0;
	for (db_iter_seek(it, first, sizeof(first)); db_iter_valid(it); db_iter_next(it)) {
		struct vptr p;
		if (!db_iter_vptr(it, &p))
			continue;
		if (p.len > cap) {
			free(buf);
			cap = p.len;
			buf = xmalloc(cap);
		}
		(*checked)++;
		if (vlog_read(db, &p, buf) == 0)
			continue;
		bad++;
		char path[PATH_MAX];
		file_path(path, sizeof(path), db->path, FILE_VALUE, p.file);
		ck_found(r, GOLITE_FINDING_PROBLEM, path, p.record, "%s", golite_last_error());
	}
	if (db_iter_status(it))
		ck_found(r, GOLITE_FINDING_PROBLEM, db->path, GOLITE_NO_OFFSET,
			 "reading the store failed (%s)", golite_last_error());
	free(buf);
	return bad;
}

void ck_values_check(struct run *r, const char *dir)
{
	golite *h;
	if (ck_store_open(dir, false, &h)) {
		ck_found(r, GOLITE_FINDING_PROBLEM, dir, GOLITE_NO_OFFSET,
			 "the store does not open (%s), so its separated values were not read",
			 golite_last_error());
		return;
	}
	struct golite *db = h;
	uint64_t checked = 0;
	struct db_iter *it = db_iter_new(db, false);
	read_reached(r, db, it, &checked);
	db_iter_free(it);
	size_t n = 0;
	uint64_t *seqs = snap_seqs(db, &n);
	for (size_t i = 0; i < n; i++) {
		it = db_iter_new_at(db, seqs[i]);
		read_reached(r, db, it, &checked);
		db_iter_free(it);
	}
	free(seqs);
	r->st->values_checked += checked;
	golite_close(h);
}

/* ---- repair ---- */

int ck_values_repair(struct run *r, const char *dir, bool *changed, uint64_t *dropped)
{
	*changed = false;
	golite *h;
	int e = ck_store_open(dir, true, &h);
	if (e) {
		ck_found(r, GOLITE_FINDING_PROBLEM, dir, GOLITE_NO_OFFSET,
			 "the store does not open (%s), so its separated values were not read",
			 golite_last_error());
		return 0;
	}
	struct golite *db = h;
	/* The keys whose newest value cannot be read: deleted, so that the
	 * rest of the store reads (a snapshot keeps what it saw). */
	golite_batch *del = golite_batch_new();
	static const uint8_t first[IKEY_PREFIX];
	struct db_iter *it = db_iter_new(db, false);
	uint8_t *buf = NULL;
	size_t cap = 0;
	for (db_iter_seek(it, first, sizeof(first)); db_iter_valid(it); db_iter_next(it)) {
		struct vptr p;
		if (!db_iter_vptr(it, &p))
			continue;
		if (p.len > cap) {
			free(buf);
			cap = p.len;
			buf = xmalloc(cap);
		}
		if (vlog_read(db, &p, buf) == 0)
			continue;
		char path[PATH_MAX];
		file_path(path, sizeof(path), db->path, FILE_VALUE, p.file);
		ck_found(r, GOLITE_FINDING_PROBLEM, path, p.record,
			 "%s: the key's value is lost and the key deleted", golite_last_error());
		size_t iklen;
		const uint8_t *ikey = db_iter_key(it, &iklen);
		golite_batch_delete_raw(del, ikey_table(ikey), ikey + IKEY_PREFIX,
					iklen - IKEY_PREFIX);
		(*dropped)++;
	}
	free(buf);
	e = db_iter_status(it);
	db_iter_free(it);
	if (!e && golite_batch_count(del)) {
		e = golite_write(h, del);
		if (!e)
			*changed = true;
	}
	golite_batch_free(del);
	int c = golite_close(h);
	return e ? e : c;
}
