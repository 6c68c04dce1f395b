/*
 * test_hardlink.c — hard links (common/vfile.h): read through each name
 * by golite_get and iterators, checked by golite_check and repaired by
 * golite_repair (engine/check_links.c).
 *
 * Each test builds, with the raw API as the mount writes them, a store
 * with two linked files of two names each:
 *   inode 5000, inline "hello", named t/a1 and u/a2;
 *   inode 5001, chunked (10000 bytes in 3 chunks), named t/b1 and t/b2,
 *   its owner record naming its shared record.
 * A test that damages the links does it the same way, closes the store,
 * and runs check and repair on the directory, whose findings it collects
 * as text ("problem: ...", one a line).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "golite.h"
#include "golite_raw.h"
#include "golite_tools.h"
#include "testutil.h"
#include "util.h"
#include "vfile.h"

#define INO_A 5000u
#define INO_B 5001u
#define B_SIZE 10000u
#define B_TAG 77u

static char *dir;
static golite *db;
static uint32_t tid_t, tid_u;

/* ---- keys and records as the mount writes them ---- */

static void put_raw(uint32_t table, unsigned kind, const void *k, size_t klen, const void *v,
		    size_t vlen)
{
	int r = golite_put_raw(db, table, kind, k, klen, v, vlen);
	cr_assert_eq(r, 0, "put_raw: %s", golite_last_error());
}

static void del_raw(uint32_t table, const void *k, size_t klen)
{
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_delete_raw(b, table, k, klen), 0);
	cr_assert_eq(golite_write(db, b), 0, "delete: %s", golite_last_error());
	golite_batch_free(b);
}

static bool exists_raw(uint32_t table, const void *k, size_t klen)
{
	unsigned kind;
	size_t vlen;
	int r = golite_get_raw(db, table, k, klen, &kind, NULL, 0, NULL, &vlen);
	cr_assert(r == 0 || r == GOLITE_ENOTFOUND, "get_raw: %s", golite_last_error());
	return r == 0;
}

static void put_shared(uint64_t ino, const struct vfile *f)
{
	uint8_t key[VFILE_INODE_KEY];
	uint8_t *rec = malloc(vfile_encoded_size(f));
	vfile_inode_key(key, ino);
	vfile_encode(f, rec);
	put_raw(GOLITE_TABLE_FS, GOLITE_KIND_META, key, sizeof(key), rec, vfile_encoded_size(f));
	free(rec);
}

static size_t ref_key(uint8_t *out, uint64_t ino, uint32_t table, const char *name)
{
	return vfile_backref_key(out, ino, true, table, (const uint8_t *)name, strlen(name));
}

static void owner_key(uint8_t key[9], uint64_t ino)
{
	key[0] = 'O';
	put_be64(key + 1, ino);
}

/* A name of ino at table/name, and its back reference. */
static void put_name(uint32_t table, const char *name, uint64_t ino, bool with_ref)
{
	uint8_t rec[VFILE_HEADER], rk[64];
	vfile_encode_hlink(rec, ino, S_IFREG | 0644);
	put_raw(table, GOLITE_KIND_META, name, strlen(name), rec, sizeof(rec));
	if (with_ref)
		put_raw(GOLITE_TABLE_FS, GOLITE_KIND_VALUE, rk, ref_key(rk, ino, table, name), "", 0);
}

static void del_ref(uint64_t ino, uint32_t table, const char *name)
{
	uint8_t rk[64];
	del_raw(GOLITE_TABLE_FS, rk, ref_key(rk, ino, table, name));
}

static bool has_ref(uint64_t ino, uint32_t table, const char *name)
{
	uint8_t rk[64];
	return exists_raw(GOLITE_TABLE_FS, rk, ref_key(rk, ino, table, name));
}

static bool has_shared(uint64_t ino)
{
	uint8_t key[VFILE_INODE_KEY];
	vfile_inode_key(key, ino);
	return exists_raw(GOLITE_TABLE_FS, key, sizeof(key));
}

static size_t count_chunks(uint64_t ino)
{
	uint8_t prefix[8];
	put_be64(prefix, ino);
	golite_iter_options o = { .prefix = prefix, .prefix_len = sizeof(prefix) };
	golite_iter *it;
	cr_assert_eq(golite_iter_new_raw(db, GOLITE_TABLE_CHUNKS, &o, &it), 0);
	size_t n = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it))
		n++;
	golite_iter_free(it);
	return n;
}

static void build(void)
{
	cr_assert_eq(golite_table_create(db, "t"), 0);
	cr_assert_eq(golite_table_create(db, "u"), 0);
	cr_assert_eq(golite_table_id(db, "t", &tid_t), 0);
	cr_assert_eq(golite_table_id(db, "u", &tid_u), 0);

	struct vfile a = { .type = VFILE_REG, .mode = S_IFREG | 0644, .ino = INO_A, .size = 5,
			   .data = (const uint8_t *)"hello", .data_len = 5, .mtime_ns = 1 };
	put_shared(INO_A, &a);
	put_name(tid_t, "a1", INO_A, true);
	put_name(tid_u, "a2", INO_A, true);

	struct vfile b = { .type = VFILE_REG, .flags = VFILE_F_CHUNKED, .mode = S_IFREG | 0600,
			   .ino = INO_B, .size = B_SIZE, .mtime_ns = 2 };
	put_shared(INO_B, &b);
	uint8_t data[B_SIZE];
	tu_fill(data, sizeof(data), B_TAG);
	for (uint32_t i = 0; i * VFILE_CHUNK < B_SIZE; i++) {
		uint8_t ck[VFILE_CHUNK_KEY];
		vfile_chunk_key(ck, INO_B, i);
		put_raw(GOLITE_TABLE_CHUNKS, GOLITE_KIND_VALUE, ck, sizeof(ck),
			data + i * VFILE_CHUNK, MIN(VFILE_CHUNK, B_SIZE - i * VFILE_CHUNK));
	}
	uint8_t ok[9], ov[4 + VFILE_INODE_KEY];
	owner_key(ok, INO_B);
	put_le32(ov, GOLITE_TABLE_FS);
	vfile_inode_key(ov + 4, INO_B);
	put_raw(GOLITE_TABLE_FS, GOLITE_KIND_VALUE, ok, sizeof(ok), ov, sizeof(ov));
	put_name(tid_t, "b1", INO_B, true);
	put_name(tid_t, "b2", INO_B, true);
}

static void setup(void)
{
	dir = tu_tmpdir("hardlink");
	db = tu_open(dir, NULL);
	build();
}

static void teardown(void)
{
	if (db)
		cr_assert_eq(golite_close(db), 0);
	tu_rmtree(dir);
}

TestSuite(links, .init = setup, .fini = teardown);

static void reopen(void)
{
	if (!db)
		db = tu_open(dir, NULL);
}

static void close_db(void)
{
	cr_assert_eq(golite_close(db), 0);
	db = NULL;
}

/* ---- reading ---- */

static void expect_value(const char *table, const char *key, const void *want, size_t wlen)
{
	void *got;
	size_t len;
	int r = golite_get(db, table, key, strlen(key), &got, &len);
	cr_assert_eq(r, 0, "get %s/%s: %s", table, key, golite_last_error());
	cr_assert(len == wlen && memcmp(got, want, len) == 0, "get %s/%s: %zu bytes, want %zu",
		  table, key, len, wlen);
	golite_free(got);
}

static void expect_b(const char *table, const char *key)
{
	uint8_t data[B_SIZE];
	tu_fill(data, sizeof(data), B_TAG);
	expect_value(table, key, data, sizeof(data));
}

static void expect_absent(const char *table, const char *key)
{
	void *got;
	size_t len;
	int r = golite_get(db, table, key, strlen(key), &got, &len);
	cr_assert_eq(r, GOLITE_ENOTFOUND, "get %s/%s: %d", table, key, r);
}

Test(links, get_reads_the_shared_bytes_through_every_name)
{
	expect_value("t", "a1", "hello", 5);
	expect_value("u", "a2", "hello", 5);
	expect_b("t", "b1");
	expect_b("t", "b2");
	close_db();
	reopen();   /* from tables now */
	expect_value("u", "a2", "hello", 5);
	expect_b("t", "b2");
}

Test(links, an_iterator_yields_every_name_with_its_bytes)
{
	uint8_t data[B_SIZE];
	tu_fill(data, sizeof(data), B_TAG);
	static const char *const keys[] = { "a1", "b1", "b2" };
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "t", NULL, &it), 0);
	size_t n = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it), n++) {
		size_t klen, vlen;
		const void *k = golite_iter_key(it, &klen);
		const void *v = golite_iter_value(it, &vlen);
		cr_assert(n < 3 && klen == 2 && memcmp(k, keys[n], 2) == 0, "key %zu", n);
		if (n == 0)
			cr_assert(vlen == 5 && memcmp(v, "hello", 5) == 0);
		else
			cr_assert(vlen == B_SIZE && memcmp(v, data, B_SIZE) == 0, "value of %s",
				  keys[n]);
	}
	cr_assert_eq(golite_iter_status(it), 0);
	cr_assert_eq(n, 3);
	golite_iter_free(it);
}

/* ---- check and repair ---- */

struct findings {
	char *text;
	size_t len;
};

static void collect(void *ctx, const golite_finding *f)
{
	static const char *const label[] = { "problem", "note", "fixed", "lost" };
	struct findings *fs = ctx;
	char line[2048];
	int n = snprintf(line, sizeof(line), "%s: %s\n", label[f->kind], f->msg);
	fs->text = realloc(fs->text, fs->len + (size_t)n + 1);
	memcpy(fs->text + fs->len, line, (size_t)n + 1);
	fs->len += (size_t)n;
}

/* Checks the closed store; returns its findings (free them). */
static char *check(golite_check_stats *st)
{
	struct findings fs = { calloc(1, 1), 0 };
	golite_check_options o = { .report = collect, .report_ctx = &fs };
	int r = golite_check(dir, &o, st);
	cr_assert_eq(r, 0, "check: %s", golite_last_error());
	return fs.text;
}

static char *repair(golite_repair_stats *st)
{
	struct findings fs = { calloc(1, 1), 0 };
	golite_check_options o = { .report = collect, .report_ctx = &fs };
	int r = golite_repair(dir, &o, st);
	cr_assert_eq(r, 0, "repair: %s", golite_last_error());
	return fs.text;
}

static void expect_has(const char *text, const char *want)
{
	cr_assert(strstr(text, want), "wanted \"%s\" in:\n%s", want, text);
}

static void expect_lacks(const char *text, const char *unwanted)
{
	cr_assert(!strstr(text, unwanted), "did not want \"%s\" in:\n%s", unwanted, text);
}

/* Closes the store, expects check to find problems (and notes), repair
 * to say want_fix, and check after it to be clean with the counts note
 * links_after. Reopens the store. */
static void damage_then_repair(uint64_t problems, uint64_t notes, const char *want_check,
			       const char *want_fix, const char *links_after)
{
	close_db();
	golite_check_stats cs;
	char *text = check(&cs);
	cr_assert_eq(cs.problems, problems, "problems %llu, want %llu:\n%s",
		     (unsigned long long)cs.problems, (unsigned long long)problems, text);
	cr_assert_eq(cs.notes, notes, "notes %llu, want %llu:\n%s", (unsigned long long)cs.notes,
		     (unsigned long long)notes, text);
	expect_has(text, want_check);
	free(text);

	golite_repair_stats rs;
	text = repair(&rs);
	cr_assert(rs.changed, "repair changed nothing:\n%s", text);
	cr_assert_eq(rs.problems_after, 0, "problems after repair:\n%s", text);
	expect_has(text, want_fix);
	free(text);

	text = check(&cs);
	cr_assert_eq(cs.problems, 0, "after repair:\n%s", text);
	cr_assert_eq(cs.notes, 1, "after repair:\n%s", text);
	expect_has(text, links_after);
	free(text);
	reopen();
}

Test(links, check_passes_on_consistent_links_and_counts_them)
{
	close_db();
	golite_check_stats st;
	char *text = check(&st);
	cr_assert_eq(st.problems, 0, "%s", text);
	cr_assert_eq(st.notes, 1, "%s", text);
	expect_has(text, "note: hard links: 2 inodes, 4 names");
	free(text);
}

Test(links, repair_leaves_consistent_links_alone)
{
	close_db();
	golite_repair_stats rs;
	char *text = repair(&rs);
	cr_assert(!rs.changed, "%s", text);
	expect_has(text, "nothing to repair");
	free(text);
}

Test(links, a_store_without_links_gets_no_link_findings)
{
	close_db();
	tu_rmtree(dir);
	dir = tu_tmpdir("hardlink");
	db = tu_open(dir, NULL);
	cr_assert_eq(golite_table_create(db, "plain"), 0);
	cr_assert_eq(golite_put(db, "plain", "k", 1, "v", 1), 0);
	close_db();
	golite_check_stats st;
	char *text = check(&st);
	cr_assert_eq(st.problems + st.notes, 0, "%s", text);
	free(text);
}

Test(links, a_missing_shared_record_is_a_problem_repair_deletes_its_names)
{
	uint8_t key[VFILE_INODE_KEY];
	vfile_inode_key(key, INO_A);
	del_raw(GOLITE_TABLE_FS, key, sizeof(key));
	cr_assert_eq(golite_get(db, "t", "a1", 2, &(void *){ NULL }, &(size_t){ 0 }),
		     GOLITE_ECORRUPT);
	damage_then_repair(2, 1, "problem: name t/a1: a hard link to inode 5000, whose shared "
			   "record is missing: the name cannot be read",
			   "lost: deleted name u/a2 and its back reference: a hard link to inode 5000",
			   "hard links: 1 inode, 2 names");
	expect_absent("t", "a1");
	expect_absent("u", "a2");
	cr_assert(!has_ref(INO_A, tid_t, "a1") && !has_ref(INO_A, tid_u, "a2"));
	expect_b("t", "b1");
}

Test(links, a_directory_as_shared_record_is_a_problem_repair_frees_it)
{
	struct vfile d = { .type = VFILE_DIR, .mode = S_IFDIR | 0755, .ino = INO_A };
	put_shared(INO_A, &d);
	damage_then_repair(2, 1, "whose shared record is a directory",
			   "fixed: freed inode 5000, whose names were deleted",
			   "hard links: 1 inode, 2 names");
	cr_assert(!has_shared(INO_A));
	expect_absent("t", "a1");
}

Test(links, a_name_without_back_reference_is_a_problem_repair_adds_it)
{
	del_ref(INO_B, tid_t, "b2");
	damage_then_repair(1, 1, "problem: name t/b2: a hard link to inode 5001 without its back "
			   "reference",
			   "fixed: added the back reference of name t/b2 (inode 5001)",
			   "hard links: 2 inodes, 4 names");
	cr_assert(has_ref(INO_B, tid_t, "b2"));
	expect_b("t", "b2");
}

Test(links, a_stale_back_reference_is_a_note_repair_removes_it)
{
	/* What the API leaves: it does not read before it writes. */
	cr_assert_eq(golite_put(db, "t", "a1", 2, "plain", 5), 0);
	damage_then_repair(0, 2, "note: back reference of inode 5000 to t/a1, which no longer "
			   "holds a hard link to it",
			   "fixed: removed the stale back reference of inode 5000 to t/a1",
			   "hard links: 2 inodes, 3 names");
	cr_assert(!has_ref(INO_A, tid_t, "a1"));
	cr_assert(has_ref(INO_A, tid_u, "a2"));
	expect_value("t", "a1", "plain", 5);
	expect_value("u", "a2", "hello", 5);
}

Test(links, an_inode_without_names_is_a_note_repair_frees_it_with_its_chunks)
{
	cr_assert_eq(golite_delete(db, "t", "b1", 2), 0);
	cr_assert_eq(golite_delete(db, "t", "b2", 2), 0);
	/* Two stale back references, the orphan, and the counts. */
	damage_then_repair(0, 4, "note: inode 5001: a shared record (a file of 10000 bytes in 3 "
			   "chunks) that no name refers to",
			   "fixed: freed inode 5001, which no name refers to: its shared record "
			   "(a file of 10000 bytes), 3 chunks and its owner record",
			   "hard links: 1 inode, 2 names");
	cr_assert(!has_shared(INO_B));
	cr_assert_eq(count_chunks(INO_B), 0);
	uint8_t ok[9];
	owner_key(ok, INO_B);
	cr_assert(!exists_raw(GOLITE_TABLE_FS, ok, sizeof(ok)));
	cr_assert(!has_ref(INO_B, tid_t, "b1") && !has_ref(INO_B, tid_t, "b2"));
	expect_value("t", "a1", "hello", 5);
}

Test(links, a_chunked_file_without_owner_record_is_a_problem_repair_sets_it)
{
	uint8_t ok[9];
	owner_key(ok, INO_B);
	del_raw(GOLITE_TABLE_FS, ok, sizeof(ok));
	damage_then_repair(1, 1, "problem: inode 5001: a chunked file whose owner record is "
			   "missing",
			   "fixed: inode 5001: set its owner record to its shared record",
			   "hard links: 2 inodes, 4 names");
	cr_assert(exists_raw(GOLITE_TABLE_FS, ok, sizeof(ok)));
	cr_assert_eq(count_chunks(INO_B), 3);
	expect_b("t", "b1");
}

Test(links, findings_past_the_examples_are_counted)
{
	char name[16];
	for (int i = 0; i < 25; i++) {
		snprintf(name, sizeof(name), "x%02d", i);
		put_name(tid_u, name, INO_A, false);
	}
	close_db();
	golite_check_stats st;
	char *text = check(&st);
	cr_assert_eq(st.problems, 25, "%s", text);
	expect_has(text, "name u/x09: a hard link to inode 5000 without");
	expect_lacks(text, "name u/x10:");
	expect_has(text, "problem: 25 names without a back reference in all");
	free(text);

	golite_repair_stats rs;
	text = repair(&rs);
	cr_assert_eq(rs.problems_after, 0, "%s", text);
	expect_has(text, "fixed: 25 back references added in all");
	free(text);
	text = check(&st);
	cr_assert_eq(st.problems, 0, "%s", text);
	expect_has(text, "hard links: 2 inodes, 29 names");
	free(text);
}

Test(links, links_still_in_the_log_are_checked)
{
	close_db();
	golite_options o;
	golite_options_init(&o);
	o.flush_on_close = false;
	db = tu_open(dir, &o);
	del_ref(INO_A, tid_u, "a2");
	cr_assert_eq(golite_put(db, "t", "b1", 2, "plain", 5), 0);
	damage_then_repair(1, 2, "problem: name u/a2: a hard link to inode 5000 without its back "
			   "reference",
			   "fixed: removed the stale back reference of inode 5001 to t/b1",
			   "hard links: 2 inodes, 3 names");
}
