/*
 * test_api.c — the public API against its documented contract (golite.h):
 * every call given bad input returns the documented error and changes
 * nothing; tables, batches, iterators, the directory lock, open options,
 * read-only stores, error strings and figures behave as documented.
 *
 * Suites:
 *   api     a store with tables "t" and "u" holding a few keys, mirrored by
 *           a model; tests that feed bad input end by comparing the store
 *           with the unchanged model.
 *   iter    iterator bounds, seeks and snapshots.
 *   open    golite_open's options and what it does to directories.
 *   lock    the directory lock between processes (fork). The test process
 *           forks before it first calls the library, so that no child
 *           inherits the library's threads.
 *   failure the store after an injected I/O error (engine/io.h hook).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "golite.h"
#include "io.h"
#include "testutil.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ---- */

static void put_ok(golite *db, const char *t, const char *k, const char *v)
{
	int r = golite_put(db, t, k, strlen(k), v, strlen(v));
	cr_assert_eq(r, 0, "put %s/%s: %s (%s)", t, k, golite_strerror(r), golite_last_error());
}

static void expect_value(golite *db, const char *t, const char *k, const char *v)
{
	void *got = NULL;
	size_t len = 0;
	int r = golite_get(db, t, k, strlen(k), &got, &len);
	cr_assert_eq(r, 0, "get %s/%s: %s", t, k, golite_strerror(r));
	cr_assert(len == strlen(v) && memcmp(got, v, len) == 0,
		  "get %s/%s: got %.*s, want %s", t, k, (int)len, (char *)got, v);
	golite_free(got);
}

static void expect_absent(golite *db, const char *t, const char *k)
{
	void *got = (void *)1;
	size_t len = 99;
	int r = golite_get(db, t, k, strlen(k), &got, &len);
	cr_assert_eq(r, GOLITE_ENOTFOUND, "get %s/%s: %s, want ENOTFOUND", t, k,
		     golite_strerror(r));
	cr_assert_null(got, "get of an absent key leaves *value non-NULL");
	cr_assert(!golite_exists(db, t, k, strlen(k)));
}

/*
 * Scans table t with options o, starting at seek (NULL: seek_first), and
 * returns the keys joined by ',' in a static buffer ("" when empty).
 */
static const char *scan(golite *db, const char *t, const golite_iter_options *o,
			const char *seek)
{
	static char out[4096];
	golite_iter *it = NULL;
	int r = golite_iter_new(db, t, o, &it);
	cr_assert_eq(r, 0, "iter_new %s: %s", t, golite_strerror(r));
	if (seek)
		golite_iter_seek(it, seek, strlen(seek));
	else
		golite_iter_seek_first(it);
	size_t n = 0;
	out[0] = '\0';
	for (; golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen;
		const char *k = golite_iter_key(it, &klen);
		n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s", n ? "," : "", (int)klen, k);
		cr_assert_lt(n, sizeof(out) - 1);
	}
	cr_assert_eq(golite_iter_status(it), 0);
	golite_iter_free(it);
	return out;
}

static golite_options opts_default(void)
{
	golite_options o;
	golite_options_init(&o);
	return o;
}

/* ---- the api suite: a store with a model ---- */

static char *dir;
static golite *db;
static struct tu_model model;

static void api_put(const char *t, const char *k, const char *v)
{
	put_ok(db, t, k, v);
	tu_model_put(&model, t, k, strlen(k), v, strlen(v));
}

static void api_setup(void)
{
	dir = tu_tmpdir("api");
	db = tu_open(dir, NULL);
	tu_model_init(&model);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	cr_assert_eq(golite_table_create(db, "u"), 0);
	tu_model_create(&model, "t");
	tu_model_create(&model, "u");
	api_put("t", "a", "1");
	api_put("t", "b", "22");
	api_put("t", "c", "");
	api_put("u", "a", "u-a");
}

static void api_teardown(void)
{
	golite_close(db);
	db = NULL;
	tu_model_free(&model);
	tu_rmtree(dir);
	dir = NULL;
}

/* The store still equals the model (after calls that must change nothing). */
static void expect_unchanged(void)
{
	char msg[512];
	cr_assert_eq(tu_compare(db, &model, msg, sizeof(msg)), 0, "%s", msg);
}

static void reopen(const golite_options *o)
{
	cr_assert_eq(golite_close(db), 0, "close: %s", golite_last_error());
	db = tu_open(dir, o);
}

TestSuite(api, .init = api_setup, .fini = api_teardown, .timeout = 60);

Test(api, setup_matches_model)
{
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, null_handle_is_rejected_everywhere)
{
	void *v = NULL;
	size_t vlen = 0;
	char buf[8];
	cr_assert_eq(golite_put(NULL, "t", "k", 1, "v", 1), GOLITE_EINVAL);
	cr_assert_eq(golite_get(NULL, "t", "a", 1, &v, &vlen), GOLITE_EINVAL);
	cr_assert_eq(golite_get_into(NULL, "t", "a", 1, buf, sizeof(buf), &vlen), GOLITE_EINVAL);
	cr_assert_eq(golite_delete(NULL, "t", "a", 1), GOLITE_EINVAL);
	cr_assert(!golite_exists(NULL, "t", "a", 1));
	cr_assert_eq(golite_sync(NULL), GOLITE_EINVAL);
	cr_assert_eq(golite_table_create(NULL, "x"), GOLITE_EINVAL);
	cr_assert_eq(golite_table_drop(NULL, "t", 0), GOLITE_EINVAL);
	cr_assert_eq(golite_table_rename(NULL, "t", "x"), GOLITE_EINVAL);
	cr_assert(!golite_table_exists(NULL, "t"));
	char **names = NULL;
	size_t count = 0;
	cr_assert_eq(golite_table_list(NULL, &names, &count), GOLITE_EINVAL);
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_put(b, "t", "k", 1, "v", 1), 0);
	cr_assert_eq(golite_write(NULL, b), GOLITE_EINVAL);
	golite_batch_free(b);
	golite_iter *it = (golite_iter *)1;
	cr_assert_eq(golite_iter_new(NULL, "t", NULL, &it), GOLITE_EINVAL);
	cr_assert_null(it, "a failed golite_iter_new leaves *out set");
	golite_stats st;
	cr_assert_eq(golite_stats_get(NULL, &st), GOLITE_EINVAL);
	char *text = NULL;
	cr_assert_eq(golite_stats_text(NULL, &text), GOLITE_EINVAL);
	cr_assert_eq(golite_close(NULL), 0);
	golite_free(NULL);
	golite_batch_free(NULL);
	golite_iter_free(NULL);
	expect_unchanged();
}

Test(api, null_table_name_is_rejected)
{
	void *v = NULL;
	size_t vlen = 0;
	char buf[8];
	cr_assert_eq(golite_put(db, NULL, "k", 1, "v", 1), GOLITE_EINVAL);
	cr_assert_eq(golite_get(db, NULL, "a", 1, &v, &vlen), GOLITE_EINVAL);
	cr_assert_eq(golite_get_into(db, NULL, "a", 1, buf, sizeof(buf), &vlen), GOLITE_EINVAL);
	cr_assert_eq(golite_delete(db, NULL, "a", 1), GOLITE_EINVAL);
	cr_assert(!golite_exists(db, NULL, "a", 1));
	cr_assert_eq(golite_table_create(db, NULL), GOLITE_EINVAL);
	cr_assert_eq(golite_table_drop(db, NULL, 0), GOLITE_EINVAL);
	cr_assert_eq(golite_table_rename(db, NULL, "x"), GOLITE_EINVAL);
	cr_assert_eq(golite_table_rename(db, "t", NULL), GOLITE_EINVAL);
	cr_assert(!golite_table_exists(db, NULL));
	golite_iter *it = NULL;
	cr_assert_eq(golite_iter_new(db, NULL, NULL, &it), GOLITE_EINVAL);
	cr_assert_null(it);
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_put(b, NULL, "k", 1, "v", 1), GOLITE_EINVAL);
	cr_assert_eq(golite_batch_delete(b, NULL, "k", 1), GOLITE_EINVAL);
	cr_assert_eq(golite_batch_count(b), 0);
	golite_batch_free(b);
	expect_unchanged();
}

Test(api, null_key_and_value_pointers_are_rejected)
{
	void *v = NULL;
	size_t vlen = 0;
	char buf[8];
	cr_assert_eq(golite_put(db, "t", NULL, 1, "v", 1), GOLITE_EINVAL);
	cr_assert_eq(golite_put(db, "t", "k", 1, NULL, 1), GOLITE_EINVAL,
		     "NULL value with a length must be refused");
	cr_assert_eq(golite_get(db, "t", NULL, 1, &v, &vlen), GOLITE_EINVAL);
	cr_assert_eq(golite_get_into(db, "t", NULL, 1, buf, sizeof(buf), &vlen), GOLITE_EINVAL);
	cr_assert_eq(golite_delete(db, "t", NULL, 1), GOLITE_EINVAL);
	cr_assert(!golite_exists(db, "t", NULL, 1));
	/* A NULL key of length 0 is wrong twice; either code will do. */
	int r = golite_put(db, "t", NULL, 0, "v", 1);
	cr_assert(r == GOLITE_EINVAL || r == GOLITE_EKEYSIZE, "put NULL/0: %s", golite_strerror(r));
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_put(b, "t", NULL, 1, "v", 1), GOLITE_EINVAL);
	cr_assert_eq(golite_batch_put(b, "t", "k", 1, NULL, 1), GOLITE_EINVAL);
	cr_assert_eq(golite_batch_delete(b, "t", NULL, 1), GOLITE_EINVAL);
	cr_assert_eq(golite_batch_count(b), 0);
	cr_assert_eq(golite_batch_put(NULL, "t", "k", 1, "v", 1), GOLITE_EINVAL);
	cr_assert_eq(golite_batch_delete(NULL, "t", "k", 1), GOLITE_EINVAL);
	cr_assert_eq(golite_write(db, NULL), GOLITE_EINVAL);
	golite_batch_free(b);
	expect_unchanged();
}

Test(api, null_out_pointers_are_rejected)
{
	void *v = NULL;
	size_t vlen = 0;
	cr_assert_eq(golite_get(db, "t", "a", 1, NULL, &vlen), GOLITE_EINVAL);
	cr_assert_eq(golite_get(db, "t", "a", 1, &v, NULL), GOLITE_EINVAL);
	cr_assert_eq(golite_get_into(db, "t", "a", 1, NULL, 8, &vlen), GOLITE_EINVAL,
		     "a NULL buffer with a capacity must be refused");
	char buf[8];
	cr_assert_eq(golite_get_into(db, "t", "a", 1, buf, sizeof(buf), NULL), GOLITE_EINVAL);
	cr_assert_eq(golite_iter_new(db, "t", NULL, NULL), GOLITE_EINVAL);
	cr_assert_eq(golite_table_list(db, NULL, &vlen), GOLITE_EINVAL);
	char **names;
	cr_assert_eq(golite_table_list(db, &names, NULL), GOLITE_EINVAL);
	cr_assert_eq(golite_stats_get(db, NULL), GOLITE_EINVAL);
	cr_assert_eq(golite_stats_text(db, NULL), GOLITE_EINVAL);
	expect_unchanged();
}

Test(api, empty_and_oversize_keys_are_rejected)
{
	size_t big = GOLITE_MAX_KEY_SIZE + 1;
	char *k = malloc(big);
	memset(k, 'k', big);
	void *v = NULL;
	size_t vlen = 0;
	char buf[8];
	size_t lens[] = { 0, big, SIZE_MAX };
	for (size_t i = 0; i < ARRAY_LEN(lens); i++) {
		size_t l = lens[i];
		cr_assert_eq(golite_put(db, "t", k, l, "v", 1), GOLITE_EKEYSIZE, "put klen %zu", l);
		cr_assert_eq(golite_get(db, "t", k, l, &v, &vlen), GOLITE_EKEYSIZE, "get klen %zu", l);
		cr_assert_eq(golite_get_into(db, "t", k, l, buf, sizeof(buf), &vlen),
			     GOLITE_EKEYSIZE, "get_into klen %zu", l);
		cr_assert_eq(golite_delete(db, "t", k, l), GOLITE_EKEYSIZE, "delete klen %zu", l);
		cr_assert(!golite_exists(db, "t", k, l));
		golite_batch *b = golite_batch_new();
		cr_assert_eq(golite_batch_put(b, "t", k, l, "v", 1), GOLITE_EKEYSIZE);
		cr_assert_eq(golite_batch_delete(b, "t", k, l), GOLITE_EKEYSIZE);
		cr_assert_eq(golite_batch_count(b), 0);
		golite_batch_free(b);
	}
	free(k);
	expect_unchanged();
}

Test(api, largest_key_round_trips)
{
	size_t n = GOLITE_MAX_KEY_SIZE;
	char *k = malloc(n);
	tu_fill(k, n, 7);
	k[0] = 'z';
	cr_assert_eq(golite_put(db, "t", k, n, "big-key", 7), 0);
	tu_model_put(&model, "t", k, n, "big-key", 7);
	/* A second key sharing all but the last byte. */
	k[n - 1] ^= 1;
	cr_assert_eq(golite_put(db, "t", k, n, "big-key-2", 9), 0);
	tu_model_put(&model, "t", k, n, "big-key-2", 9);
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
	cr_assert_eq(golite_delete(db, "t", k, n), 0);
	tu_model_del(&model, "t", k, n);
	expect_unchanged();
	free(k);
}

Test(api, oversize_value_is_rejected)
{
	size_t big = (size_t)GOLITE_MAX_VALUE_SIZE + 1;
	char *v = calloc(1, big);   /* zero pages: the call must refuse before reading */
	cr_assert_eq(golite_put(db, "t", "a", 1, v, big), GOLITE_EVALSIZE);
	cr_assert_eq(golite_put(db, "t", "new", 3, v, big), GOLITE_EVALSIZE);
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_put(b, "t", "a", 1, v, big), GOLITE_EVALSIZE);
	cr_assert_eq(golite_batch_count(b), 0);
	golite_batch_free(b);
	free(v);
	expect_unchanged();
}

Test(api, largest_value_round_trips, .timeout = 120)
{
	size_t n = GOLITE_MAX_VALUE_SIZE;
	char *v = malloc(n);
	tu_fill(v, n, 42);
	cr_assert_eq(golite_put(db, "t", "huge", 4, v, n), 0, "%s", golite_last_error());
	tu_model_put(&model, "t", "huge", 4, v, n);
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
	free(v);
}

Test(api, empty_value_round_trips)
{
	cr_assert_eq(golite_put(db, "t", "e1", 2, NULL, 0), 0);
	cr_assert_eq(golite_put(db, "t", "e2", 2, "ignored", 0), 0);
	tu_model_put(&model, "t", "e1", 2, "", 0);
	tu_model_put(&model, "t", "e2", 2, "", 0);
	size_t vlen = 99;
	cr_assert_eq(golite_get_into(db, "t", "e1", 2, NULL, 0, &vlen), 0);
	cr_assert_eq(vlen, 0);
	cr_assert(golite_exists(db, "t", "e1", 2));
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

static const char *const bad_names[] = {
	"", "/", "a/b", "/t", "t/", ".", "..", ".golite", ".golite-x", ".golitestats",
};

static char long_name[GOLITE_MAX_TABLE_NAME + 2];

static void each_bad_name(void (*fn)(const char *name))
{
	for (size_t i = 0; i < ARRAY_LEN(bad_names); i++)
		fn(bad_names[i]);
	memset(long_name, 'n', GOLITE_MAX_TABLE_NAME + 1);
	long_name[GOLITE_MAX_TABLE_NAME + 1] = '\0';
	fn(long_name);
}

static void bad_name_calls(const char *name)
{
	void *v = NULL;
	size_t vlen = 0;
	char buf[8];
	cr_assert_eq(golite_table_create(db, name), GOLITE_ENAME, "create \"%s\"", name);
	cr_assert(!golite_table_exists(db, name));
	cr_assert_eq(golite_table_drop(db, name, 0), GOLITE_ENAME, "drop \"%s\"", name);
	cr_assert_eq(golite_table_rename(db, "t", name), GOLITE_ENAME, "rename t to \"%s\"", name);
	cr_assert_eq(golite_table_rename(db, name, "x"), GOLITE_ENAME, "rename \"%s\"", name);
	cr_assert_eq(golite_put(db, name, "a", 1, "v", 1), GOLITE_ENAME, "put \"%s\"", name);
	cr_assert_eq(golite_get(db, name, "a", 1, &v, &vlen), GOLITE_ENAME, "get \"%s\"", name);
	cr_assert_eq(golite_get_into(db, name, "a", 1, buf, sizeof(buf), &vlen), GOLITE_ENAME);
	cr_assert_eq(golite_delete(db, name, "a", 1), GOLITE_ENAME, "delete \"%s\"", name);
	cr_assert(!golite_exists(db, name, "a", 1));
	golite_iter *it = NULL;
	cr_assert_eq(golite_iter_new(db, name, NULL, &it), GOLITE_ENAME, "iter \"%s\"", name);
	cr_assert_null(it);
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_put(b, name, "a", 1, "v", 1), GOLITE_ENAME);
	cr_assert_eq(golite_batch_delete(b, name, "a", 1), GOLITE_ENAME);
	cr_assert_eq(golite_batch_count(b), 0);
	golite_batch_free(b);
}

Test(api, invalid_table_names_are_rejected)
{
	each_bad_name(bad_name_calls);
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, unusual_but_valid_table_names_work)
{
	char longest[GOLITE_MAX_TABLE_NAME + 1];
	memset(longest, 'L', GOLITE_MAX_TABLE_NAME);
	longest[GOLITE_MAX_TABLE_NAME] = '\0';
	const char *names[] = { "...", ".golit", "x.golite", "a b", "-", "\xc3\xbc\x6e\xc3\xaf",
				".hidden", "\x7f", longest };
	for (size_t i = 0; i < ARRAY_LEN(names); i++) {
		cr_assert_eq(golite_table_create(db, names[i]), 0, "create \"%s\": %s", names[i],
			     golite_last_error());
		tu_model_create(&model, names[i]);
		api_put(names[i], "k", names[i]);
	}
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, creating_an_existing_table_is_eexist)
{
	cr_assert_eq(golite_table_create(db, "t"), GOLITE_EEXIST);
	expect_unchanged();
}

static void unknown_table_calls(const char *name)
{
	void *v = (void *)1;
	size_t vlen = 0;
	char buf[8];
	cr_assert(!golite_table_exists(db, name));
	cr_assert_eq(golite_put(db, name, "a", 1, "v", 1), GOLITE_ENOTABLE, "put %s", name);
	cr_assert_eq(golite_get(db, name, "a", 1, &v, &vlen), GOLITE_ENOTABLE, "get %s", name);
	cr_assert_eq(golite_get_into(db, name, "a", 1, buf, sizeof(buf), &vlen), GOLITE_ENOTABLE);
	cr_assert_eq(golite_delete(db, name, "a", 1), GOLITE_ENOTABLE, "delete %s", name);
	cr_assert(!golite_exists(db, name, "a", 1));
	cr_assert_eq(golite_table_drop(db, name, 0), GOLITE_ENOTABLE, "drop %s", name);
	cr_assert_eq(golite_table_drop(db, name, GOLITE_DROP_IF_EMPTY), GOLITE_ENOTABLE);
	cr_assert_eq(golite_table_rename(db, name, "elsewhere"), GOLITE_ENOTABLE);
	golite_iter *it = (golite_iter *)1;
	cr_assert_eq(golite_iter_new(db, name, NULL, &it), GOLITE_ENOTABLE, "iter %s", name);
	cr_assert_null(it);
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_put(b, name, "a", 1, "v", 1), 0,
		     "batch_put checks the name's form, not its existence");
	cr_assert_eq(golite_write(db, b), GOLITE_ENOTABLE);
	golite_batch_free(b);
}

Test(api, unknown_table_is_enotable)
{
	unknown_table_calls("nope");
	unknown_table_calls("T");   /* names are case-sensitive */
	unknown_table_calls("t ");
	expect_unchanged();
}

Test(api, dropped_table_is_enotable)
{
	cr_assert_eq(golite_table_drop(db, "u", 0), 0);
	tu_model_drop(&model, "u");
	unknown_table_calls("u");
	expect_unchanged();
	reopen(NULL);
	unknown_table_calls("u");
	expect_unchanged();
}

Test(api, get_of_absent_key_is_enotfound)
{
	expect_absent(db, "t", "zz");
	expect_absent(db, "u", "b");   /* present in another table only */
	cr_assert_eq(golite_delete(db, "t", "a", 1), 0);
	tu_model_del(&model, "t", "a", 1);
	expect_absent(db, "t", "a");
	cr_assert_eq(golite_delete(db, "t", "never", 5), 0, "deleting an absent key is not an error");
	expect_absent(db, "t", "never");
	expect_unchanged();
}

Test(api, get_into_reports_erange_and_the_size)
{
	char buf[8];
	memset(buf, '#', sizeof(buf));
	size_t vlen = 0;
	/* "b" holds "22". */
	cr_assert_eq(golite_get_into(db, "t", "b", 1, buf, 1, &vlen), GOLITE_ERANGE);
	cr_assert_eq(vlen, 2, "*vlen must give the size needed");
	cr_assert_eq(buf[0], '#', "nothing may be copied on ERANGE");
	vlen = 0;
	cr_assert_eq(golite_get_into(db, "t", "b", 1, NULL, 0, &vlen), GOLITE_ERANGE);
	cr_assert_eq(vlen, 2);
	cr_assert_eq(golite_get_into(db, "t", "b", 1, buf, 2, &vlen), 0);
	cr_assert(vlen == 2 && memcmp(buf, "22", 2) == 0);
	cr_assert_eq(buf[2], '#', "bytes past the value were written");
	cr_assert_eq(golite_get_into(db, "t", "b", 1, buf, sizeof(buf), &vlen), 0);
	cr_assert_eq(vlen, 2);
	/* An empty value fits any buffer. */
	cr_assert_eq(golite_get_into(db, "t", "c", 1, buf, 0, &vlen), 0);
	cr_assert_eq(vlen, 0);
	/* A large value. */
	size_t n = 100000;
	char *big = malloc(n);
	tu_fill(big, n, 3);
	cr_assert_eq(golite_put(db, "t", "big", 3, big, n), 0);
	tu_model_put(&model, "t", "big", 3, big, n);
	char *dst = malloc(n);
	cr_assert_eq(golite_get_into(db, "t", "big", 3, dst, n - 1, &vlen), GOLITE_ERANGE);
	cr_assert_eq(vlen, n);
	cr_assert_eq(golite_get_into(db, "t", "big", 3, dst, vlen, &vlen), 0);
	cr_assert(memcmp(dst, big, n) == 0);
	free(dst);
	free(big);
	expect_unchanged();
}

Test(api, exists_reports_presence)
{
	cr_assert(golite_exists(db, "t", "a", 1));
	cr_assert(golite_exists(db, "t", "c", 1), "a key with an empty value exists");
	cr_assert(!golite_exists(db, "t", "d", 1));
	cr_assert(!golite_exists(db, "u", "b", 1));
	cr_assert(!golite_exists(db, "nope", "a", 1));
	cr_assert(!golite_exists(db, "t", "", 0));
	cr_assert_eq(golite_delete(db, "t", "a", 1), 0);
	cr_assert(!golite_exists(db, "t", "a", 1));
	put_ok(db, "t", "a", "again");
	cr_assert(golite_exists(db, "t", "a", 1));
}

Test(api, overwrite_replaces_value)
{
	for (int i = 0; i < 50; i++) {
		char v[32];
		snprintf(v, sizeof(v), "v%d", i);
		api_put("t", "a", v);
	}
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, strerror_explains_every_code)
{
	const char *seen[32] = { 0 };
	for (int e = 0; e >= GOLITE_ECONFLICT; e--) {
		const char *s = golite_strerror(e);
		cr_assert_not_null(s, "code %d", e);
		cr_assert_gt(strlen(s), 0, "code %d", e);
		for (int f = 0; f > e; f--)
			cr_assert_str_neq(s, seen[-f], "codes %d and %d share \"%s\"", e, f, s);
		seen[-e] = s;
	}
	const int odd[] = { 1, 2, GOLITE_ECONFLICT - 1, -1000, INT_MIN, INT_MAX };
	for (size_t i = 0; i < ARRAY_LEN(odd); i++) {
		const char *s = golite_strerror(odd[i]);
		cr_assert_not_null(s, "code %d", odd[i]);
		cr_assert_gt(strlen(s), 0);
	}
}

static void *fresh_thread_error(void *arg)
{
	const char **out = arg;
	out[0] = golite_last_error();
	static char copy[512];
	copy[0] = '\0';
	if (out[0])
		snprintf(copy, sizeof(copy), "%s", out[0]);
	out[0] = copy;
	return NULL;
}

Test(api, last_error_is_detailed_and_per_thread)
{
	cr_assert_eq(golite_table_drop(db, "missing-table", 0), GOLITE_ENOTABLE);
	const char *e = golite_last_error();
	cr_assert_not_null(e);
	cr_assert(strstr(e, "missing-table"), "message does not name the table: \"%s\"", e);
	const char *other[1] = { 0 };
	pthread_t th;
	pthread_create(&th, NULL, fresh_thread_error, other);
	pthread_join(th, NULL);
	cr_assert_str_eq(other[0], "", "a thread with no failed call sees \"%s\"", other[0]);
	/* Still this thread's message. */
	cr_assert(strstr(golite_last_error(), "missing-table"));
}

Test(api, table_list_is_sorted_and_one_block)
{
	const char *add[] = { "b", "B", "aa", "a", "\xc3\xa9", "a0", "zz", "Z" };
	for (size_t i = 0; i < ARRAY_LEN(add); i++)
		cr_assert_eq(golite_table_create(db, add[i]), 0, "%s", add[i]);
	/* memcmp order, with "t" and "u" from the setup. */
	const char *want[] = { "B", "Z", "a", "a0", "aa", "b", "t", "u", "zz", "\xc3\xa9" };
	char **names = NULL;
	size_t count = 0;
	cr_assert_eq(golite_table_list(db, &names, &count), 0);
	cr_assert_eq(count, ARRAY_LEN(want));
	for (size_t i = 0; i < count; i++)
		cr_assert_str_eq(names[i], want[i], "position %zu", i);
	/* The caller owns the block: it may scribble on it and free it once. */
	for (size_t i = 0; i < count; i++)
		memset(names[i], 'x', strlen(names[i]));
	golite_free(names);
	/* A second list is unaffected. */
	cr_assert_eq(golite_table_list(db, &names, &count), 0);
	cr_assert_eq(count, ARRAY_LEN(want));
	cr_assert_str_eq(names[0], "B");
	golite_free(names);
	reopen(NULL);
	cr_assert_eq(golite_table_list(db, &names, &count), 0);
	cr_assert_eq(count, ARRAY_LEN(want));
	for (size_t i = 0; i < count; i++)
		cr_assert_str_eq(names[i], want[i], "after reopen, position %zu", i);
	golite_free(names);
}

Test(api, table_list_of_a_store_without_tables)
{
	cr_assert_eq(golite_table_drop(db, "t", 0), 0);
	cr_assert_eq(golite_table_drop(db, "u", 0), 0);
	char **names = NULL;
	size_t count = 99;
	cr_assert_eq(golite_table_list(db, &names, &count), 0);
	cr_assert_eq(count, 0);
	golite_free(names);
	tu_model_drop(&model, "t");
	tu_model_drop(&model, "u");
	reopen(NULL);
	expect_unchanged();
}

Test(api, rename_moves_keys)
{
	cr_assert_eq(golite_table_rename(db, "t", "t2"), 0);
	tu_model_rename(&model, "t", "t2");
	cr_assert(!golite_table_exists(db, "t"));
	cr_assert(golite_table_exists(db, "t2"));
	expect_unchanged();
	api_put("t2", "d", "after-rename");
	reopen(NULL);
	expect_unchanged();
	/* The old name is free again and starts empty. */
	cr_assert_eq(golite_table_create(db, "t"), 0);
	tu_model_create(&model, "t");
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, rename_chain_and_swap_through_a_third_name)
{
	cr_assert_eq(golite_table_rename(db, "t", "tmp"), 0);
	cr_assert_eq(golite_table_rename(db, "u", "t"), 0);
	cr_assert_eq(golite_table_rename(db, "tmp", "u"), 0);
	tu_model_rename(&model, "t", "tmp");
	tu_model_rename(&model, "u", "t");
	tu_model_rename(&model, "tmp", "u");
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, rename_onto_an_existing_table_is_eexist)
{
	cr_assert_eq(golite_table_rename(db, "t", "u"), GOLITE_EEXIST);
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, table_created_after_drop_starts_empty)
{
	cr_assert_eq(golite_table_drop(db, "t", 0), 0);
	cr_assert(!golite_table_exists(db, "t"));
	cr_assert_eq(golite_table_create(db, "t"), 0);
	tu_model_drop(&model, "t");
	tu_model_create(&model, "t");
	expect_unchanged();
	api_put("t", "b", "new-b");
	reopen(NULL);
	expect_unchanged();
	/* Dropped again and recreated after a reopen: still empty. */
	cr_assert_eq(golite_table_drop(db, "t", 0), 0);
	reopen(NULL);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	tu_model_drop(&model, "t");
	tu_model_create(&model, "t");
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, drop_if_empty_refuses_a_table_with_keys)
{
	cr_assert_eq(golite_table_drop(db, "u", GOLITE_DROP_IF_EMPTY), GOLITE_ENOTEMPTY);
	cr_assert(golite_table_exists(db, "u"));
	expect_unchanged();
	/* One key left, with an empty value. */
	cr_assert_eq(golite_delete(db, "t", "a", 1), 0);
	cr_assert_eq(golite_delete(db, "t", "b", 1), 0);
	tu_model_del(&model, "t", "a", 1);
	tu_model_del(&model, "t", "b", 1);
	cr_assert_eq(golite_table_drop(db, "t", GOLITE_DROP_IF_EMPTY), GOLITE_ENOTEMPTY);
	expect_unchanged();
}

Test(api, drop_if_empty_accepts_a_table_whose_keys_were_deleted)
{
	cr_assert_eq(golite_delete(db, "u", "a", 1), 0);
	cr_assert_eq(golite_table_drop(db, "u", GOLITE_DROP_IF_EMPTY), 0, "%s",
		     golite_last_error());
	tu_model_drop(&model, "u");
	cr_assert_eq(golite_table_create(db, "empty"), 0);
	cr_assert_eq(golite_table_drop(db, "empty", GOLITE_DROP_IF_EMPTY), 0);
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, drop_if_empty_ignores_neighbouring_tables)
{
	/* Tables created in order get neighbouring ids: "mid" sits between
	 * "t"/"u" and "z" in the key space. */
	cr_assert_eq(golite_table_create(db, "mid"), 0);
	cr_assert_eq(golite_table_create(db, "z"), 0);
	put_ok(db, "z", "a", "x");
	cr_assert_eq(golite_table_drop(db, "mid", GOLITE_DROP_IF_EMPTY), 0, "%s",
		     golite_last_error());
	cr_assert(golite_table_exists(db, "z"));
	expect_value(db, "z", "a", "x");
}

Test(api, batch_spanning_tables_applies_everything)
{
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_put(b, "t", "x", 1, "tx", 2), 0);
	cr_assert_eq(golite_batch_put(b, "u", "x", 1, "ux", 2), 0);
	cr_assert_eq(golite_batch_delete(b, "t", "a", 1), 0);
	cr_assert_eq(golite_batch_delete(b, "u", "a", 1), 0);
	cr_assert_eq(golite_batch_put(b, "t", "b", 1, "bb", 2), 0);
	cr_assert_eq(golite_batch_count(b), 5);
	cr_assert_eq(golite_write(db, b), 0, "%s", golite_last_error());
	tu_model_put(&model, "t", "x", 1, "tx", 2);
	tu_model_put(&model, "u", "x", 1, "ux", 2);
	tu_model_del(&model, "t", "a", 1);
	tu_model_del(&model, "u", "a", 1);
	tu_model_put(&model, "t", "b", 1, "bb", 2);
	golite_batch_free(b);
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, batch_naming_an_unknown_table_applies_nothing)
{
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_put(b, "t", "x", 1, "tx", 2), 0);
	cr_assert_eq(golite_batch_delete(b, "t", "a", 1), 0);
	cr_assert_eq(golite_batch_put(b, "nope", "x", 1, "nx", 2), 0);
	cr_assert_eq(golite_batch_put(b, "u", "x", 1, "ux", 2), 0);
	cr_assert_eq(golite_write(db, b), GOLITE_ENOTABLE);
	expect_unchanged();
	/* Unknown table first, and a dropped one. */
	golite_batch_clear(b);
	cr_assert_eq(golite_batch_put(b, "gone", "x", 1, "gx", 2), 0);
	cr_assert_eq(golite_batch_put(b, "t", "x", 1, "tx", 2), 0);
	cr_assert_eq(golite_table_create(db, "gone"), 0);
	cr_assert_eq(golite_table_drop(db, "gone", 0), 0);
	cr_assert_eq(golite_write(db, b), GOLITE_ENOTABLE);
	golite_batch_free(b);
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, batch_operations_apply_in_order)
{
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_put(b, "t", "k", 1, "first", 5), 0);
	cr_assert_eq(golite_batch_put(b, "t", "k", 1, "second", 6), 0);
	cr_assert_eq(golite_batch_put(b, "t", "gone", 4, "x", 1), 0);
	cr_assert_eq(golite_batch_delete(b, "t", "gone", 4), 0);
	cr_assert_eq(golite_batch_delete(b, "t", "a", 1), 0);
	cr_assert_eq(golite_batch_put(b, "t", "a", 1, "back", 4), 0);
	cr_assert_eq(golite_write(db, b), 0);
	golite_batch_free(b);
	tu_model_put(&model, "t", "k", 1, "second", 6);
	tu_model_put(&model, "t", "a", 1, "back", 4);
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(api, batch_is_unchanged_by_write_and_reusable_after_clear)
{
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_put(b, "t", "k", 1, "v1", 2), 0);
	cr_assert_eq(golite_write(db, b), 0);
	cr_assert_eq(golite_batch_count(b), 1);
	put_ok(db, "t", "k", "overwritten");
	cr_assert_eq(golite_write(db, b), 0, "the same batch may be written again");
	expect_value(db, "t", "k", "v1");
	golite_batch_clear(b);
	cr_assert_eq(golite_batch_count(b), 0);
	cr_assert_eq(golite_write(db, b), 0, "an empty batch writes nothing");
	cr_assert_eq(golite_batch_put(b, "u", "k", 1, "v2", 2), 0);
	cr_assert_eq(golite_batch_count(b), 1);
	cr_assert_eq(golite_write(db, b), 0);
	golite_batch_free(b);
	tu_model_put(&model, "t", "k", 1, "v1", 2);
	tu_model_put(&model, "u", "k", 1, "v2", 2);
	expect_unchanged();
}

Test(api, failed_batch_add_leaves_the_batch_unchanged)
{
	golite_batch *b = golite_batch_new();
	cr_assert_eq(golite_batch_put(b, "t", "k1", 2, "v1", 2), 0);
	cr_assert_eq(golite_batch_put(b, "t", "", 0, "v", 1), GOLITE_EKEYSIZE);
	cr_assert_eq(golite_batch_put(b, "a/b", "k", 1, "v", 1), GOLITE_ENAME);
	cr_assert_eq(golite_batch_delete(b, "", "k", 1), GOLITE_ENAME);
	cr_assert_eq(golite_batch_count(b), 1);
	cr_assert_eq(golite_batch_put(b, "u", "k2", 2, "v2", 2), 0);
	cr_assert_eq(golite_write(db, b), 0);
	golite_batch_free(b);
	tu_model_put(&model, "t", "k1", 2, "v1", 2);
	tu_model_put(&model, "u", "k2", 2, "v2", 2);
	expect_unchanged();
}

Test(api, batch_past_the_size_limit_is_ebatch, .timeout = 120)
{
	size_t n = GOLITE_MAX_VALUE_SIZE;
	char *v = calloc(1, n);
	golite_batch *b = golite_batch_new();
	size_t added = 0;
	int r = 0;
	for (int i = 0; i < 6 && r == 0; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		r = golite_batch_put(b, "t", k, strlen(k), v, n);
		if (r == 0)
			added++;
	}
	cr_assert_eq(r, GOLITE_EBATCH, "a batch of %zu values of 64 MiB was accepted", added);
	cr_assert_eq(golite_batch_count(b), added);
	cr_assert_leq(added * n, (size_t)GOLITE_MAX_BATCH_SIZE);
	golite_batch_free(b);
	free(v);
	expect_unchanged();
}

Test(api, stats_count_operations)
{
	golite_stats s0, s1;
	cr_assert_eq(golite_stats_get(db, &s0), 0);
	cr_assert(!s0.failed);
	uint64_t seq = s0.last_sequence;
	for (int i = 0; i < 10; i++) {
		char k[16];
		snprintf(k, sizeof(k), "s%d", i);
		put_ok(db, "t", k, "v");
		golite_stats_get(db, &s1);
		cr_assert_gt(s1.last_sequence, seq, "last_sequence did not grow on a put");
		seq = s1.last_sequence;
	}
	for (int i = 0; i < 4; i++)
		cr_assert_eq(golite_delete(db, "t", "s1", 2), 0);
	golite_batch *b = golite_batch_new();
	golite_batch_put(b, "t", "x", 1, "1", 1);
	golite_batch_put(b, "u", "x", 1, "1", 1);
	for (int i = 0; i < 3; i++)
		cr_assert_eq(golite_write(db, b), 0);
	golite_batch_free(b);
	void *v;
	size_t vlen;
	for (int i = 0; i < 7; i++) {
		cr_assert_eq(golite_get(db, "t", "s2", 2, &v, &vlen), 0);
		golite_free(v);
	}
	/* Failed calls are not operations. */
	cr_assert_eq(golite_put(db, "nope", "k", 1, "v", 1), GOLITE_ENOTABLE);
	cr_assert_eq(golite_sync(db), 0);
	cr_assert_eq(golite_stats_get(db, &s1), 0);
	cr_assert_eq(s1.puts - s0.puts, 10);
	cr_assert_eq(s1.deletes - s0.deletes, 4);
	cr_assert_eq(s1.batches - s0.batches, 3);
	cr_assert_geq(s1.gets - s0.gets, 7);
	cr_assert_geq(s1.last_sequence - s0.last_sequence, 10 + 4 + 3);
	cr_assert_gt(s1.wal_bytes, s0.wal_bytes, "golite_sync wrote nothing to the log");
	cr_assert_geq(s1.wal_syncs, 1);
	cr_assert_gt(s1.memtable_entries, 0);
	cr_assert_gt(s1.memtable_bytes, 0);
	cr_assert(!s1.failed);
	/* The sequence carries on after a reopen. */
	reopen(NULL);
	golite_stats s2;
	cr_assert_eq(golite_stats_get(db, &s2), 0);
	cr_assert_geq(s2.last_sequence, s1.last_sequence, "last_sequence went back after reopen");
	put_ok(db, "t", "after", "reopen");
	golite_stats_get(db, &s2);
	cr_assert_gt(s2.last_sequence, s1.last_sequence);
}

/* Value of line "name value" in text, or -1. */
static long long stat_line(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtoll(p + n + 1, NULL, 10);
	}
	return -1;
}

Test(api, stats_text_is_lines_of_name_and_value)
{
	put_ok(db, "t", "x", "y");
	char *text = NULL;
	cr_assert_eq(golite_stats_text(db, &text), 0);
	cr_assert_not_null(text);
	size_t len = strlen(text);
	cr_assert_gt(len, 0);
	cr_assert_eq(text[len - 1], '\n', "text does not end with a newline");
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		cr_assert_not_null(nl);
		const char *sp = memchr(p, ' ', (size_t)(nl - p));
		cr_assert(sp && sp > p && sp + 1 < nl, "malformed line \"%.*s\"", (int)(nl - p), p);
		cr_assert_null(memchr(sp + 1, ' ', (size_t)(nl - sp - 1)), "line \"%.*s\"",
			       (int)(nl - p), p);
		p = nl + 1;
	}
	golite_stats s;
	cr_assert_eq(golite_stats_get(db, &s), 0);
	cr_assert_eq(stat_line(text, "puts"), (long long)s.puts, "%s", text);
	cr_assert_eq(stat_line(text, "last_sequence"), (long long)s.last_sequence);
	cr_assert_eq(stat_line(text, "failed"), 0);
	golite_free(text);
}

static void *sync_writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	for (int i = 0; i < 50; i++) {
		char k[32];
		snprintf(k, sizeof(k), "g%d-%d", id, i);
		if (golite_put(db, "t", k, strlen(k), "v", 1) != 0)
			return (void *)1;
	}
	return NULL;
}

Test(api, stats_show_group_commits_levels_and_compaction)
{
	golite_options o;
	golite_options_init(&o);
	o.durability = GOLITE_SYNC;
	reopen(&o);
	golite_stats s0, s1;
	cr_assert_eq(golite_stats_get(db, &s0), 0);
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, sync_writer, (void *)(intptr_t)i), 0);
	for (int i = 0; i < 4; i++) {
		void *ret;
		pthread_join(th[i], &ret);
		cr_assert_null(ret, "a synchronous put failed");
	}
	cr_assert_eq(golite_stats_get(db, &s1), 0);
	cr_assert_geq(s1.wal_records - s0.wal_records, 200);
	cr_assert_gt(s1.wal_writes, s0.wal_writes);
	cr_assert_geq(s1.wal_group_max, 1);
	cr_assert(s1.wal_group_p50 >= 1 && s1.wal_group_p50 <= s1.wal_group_p99 &&
		  s1.wal_group_p99 <= s1.wal_group_max, "p50 %llu p99 %llu max %llu",
		  (unsigned long long)s1.wal_group_p50, (unsigned long long)s1.wal_group_p99,
		  (unsigned long long)s1.wal_group_max);
	cr_assert_eq(s1.memtable_limit, o.memtable_size);
	cr_assert_gt(s1.block_cache_capacity, 0);
	/* Tables per level add up; a full compaction leaves no debt or
	 * running work behind. */
	cr_assert_eq(golite_compact_range(db, NULL, NULL, 0, NULL, 0), 0);
	cr_assert_eq(golite_stats_get(db, &s1), 0);
	uint64_t files = 0, bytes = 0;
	for (int l = 0; l < GOLITE_STATS_LEVELS; l++) {
		files += s1.level_tables[l];
		bytes += s1.level_bytes[l];
	}
	cr_assert_eq(files, s1.sstable_count);
	cr_assert_eq(bytes, s1.sstable_bytes);
	cr_assert_gt(files, 0);
	cr_assert_gt(s1.flushes, 0);
	cr_assert_eq(s1.compactions_running, 0);
	cr_assert_eq(s1.compaction_running_input_bytes, 0);
	cr_assert_eq(s1.compaction_running_merged_bytes, 0);
	cr_assert_eq(s1.compaction_debt_bytes, 0);
	char *text = NULL;
	cr_assert_eq(golite_stats_text(db, &text), 0);
	cr_assert_eq(stat_line(text, "wal_group_p99"), (long long)s1.wal_group_p99, "%s", text);
	cr_assert_eq(stat_line(text, "compaction_running_input_bytes"), 0);
	cr_assert_eq(stat_line(text, "memtable_limit_bytes"), (long long)o.memtable_size);
	golite_free(text);
}

Test(api, writes_go_on_without_background_compaction, .timeout = 30)
{
	/* compaction_threads = 0 "disables background compaction"; writes
	 * must still go on (they may be slower), not wait for compaction that
	 * never comes. 4 MiB through 64 KiB memtables. */
	golite_options o = opts_default();
	o.compaction_threads = 0;
	o.memtable_size = 64 << 10;
	reopen(&o);
	char k[16], v[1024];
	memset(v, 'v', sizeof(v));
	for (int i = 0; i < 4096; i++) {
		snprintf(k, sizeof(k), "k%05d", i);
		cr_assert_eq(golite_put(db, "t", k, strlen(k), v, sizeof(v)), 0);
		tu_model_put(&model, "t", k, strlen(k), v, sizeof(v));
		if (i % 64 == 63)
			usleep(2000);   /* let the flush thread keep up */
	}
	expect_unchanged();
	reopen(&o);
	expect_unchanged();
}

/* ---- the iter suite ---- */

TestSuite(iter, .init = api_setup, .fini = api_teardown, .timeout = 60);

static void load_keys(const char *t, const char *const *keys, size_t n)
{
	for (size_t i = 0; i < n; i++)
		put_ok(db, t, keys[i], keys[i]);
}

static golite_iter_options bounds(const char *lo, const char *hi, const char *pre)
{
	golite_iter_options o = { 0 };
	if (lo) {
		o.lower = lo;
		o.lower_len = strlen(lo);
	}
	if (hi) {
		o.upper = hi;
		o.upper_len = strlen(hi);
	}
	if (pre) {
		o.prefix = pre;
		o.prefix_len = strlen(pre);
	}
	return o;
}

Test(iter, empty_table_is_never_valid)
{
	cr_assert_eq(golite_table_create(db, "e"), 0);
	cr_assert_str_eq(scan(db, "e", NULL, NULL), "");
	cr_assert_str_eq(scan(db, "e", NULL, "a"), "");
	golite_iter_options o = bounds("a", "z", "m");
	cr_assert_str_eq(scan(db, "e", &o, NULL), "");
	/* A table next to it in the key space holds keys; none may leak in. */
	cr_assert_eq(golite_table_create(db, "f"), 0);
	put_ok(db, "f", "a", "x");
	cr_assert_str_eq(scan(db, "e", NULL, NULL), "");
	cr_assert_str_eq(scan(db, "t", NULL, NULL), "a,b,c");
}

Test(iter, new_iterator_is_not_positioned)
{
	golite_iter *it = NULL;
	cr_assert_eq(golite_iter_new(db, "t", NULL, &it), 0);
	cr_assert(!golite_iter_valid(it), "an iterator starts before the first key");
	cr_assert_eq(golite_iter_status(it), 0);
	golite_iter_free(it);
}

static const char *const letters[] = { "a", "ab", "abc", "abd", "ac", "b", "ba", "bab", "c", "cc" };

Test(iter, bounds_combinations)
{
	cr_assert_eq(golite_table_create(db, "k"), 0);
	load_keys("k", letters, ARRAY_LEN(letters));
	struct {
		const char *lo, *hi, *pre, *seek, *want;
	} cases[] = {
		{ NULL, NULL, NULL, NULL, "a,ab,abc,abd,ac,b,ba,bab,c,cc" },
		{ "ab", NULL, NULL, NULL, "ab,abc,abd,ac,b,ba,bab,c,cc" },
		{ "abb", NULL, NULL, NULL, "abc,abd,ac,b,ba,bab,c,cc" },
		{ NULL, "b", NULL, NULL, "a,ab,abc,abd,ac" },
		{ NULL, "ba", NULL, NULL, "a,ab,abc,abd,ac,b" },
		{ "ab", "b", NULL, NULL, "ab,abc,abd,ac" },
		{ "abc", "abc", NULL, NULL, "" },
		{ "c", "b", NULL, NULL, "" },
		{ NULL, "a", NULL, NULL, "" },
		{ "cd", NULL, NULL, NULL, "" },
		{ NULL, NULL, "ab", NULL, "ab,abc,abd" },
		{ NULL, NULL, "b", NULL, "b,ba,bab" },
		{ NULL, NULL, "d", NULL, "" },
		{ NULL, NULL, "abcd", NULL, "" },
		{ "abd", NULL, "ab", NULL, "abd" },
		{ NULL, "abd", "ab", NULL, "ab,abc" },
		{ "aa", "abd", "ab", NULL, "ab,abc" },
		{ "b", NULL, "a", NULL, "" },
		{ NULL, "a", "a", NULL, "" },
		{ NULL, "ab", "a", NULL, "a" },
		/* seeks */
		{ NULL, NULL, NULL, "abb", "abc,abd,ac,b,ba,bab,c,cc" },
		{ NULL, NULL, NULL, "zzz", "" },
		{ "b", NULL, NULL, "a", "b,ba,bab,c,cc" },
		{ "b", NULL, NULL, "bb", "c,cc" },
		{ NULL, "c", NULL, "bab", "bab" },
		{ NULL, "c", NULL, "c", "" },
		{ NULL, "c", NULL, "d", "" },
		{ "ab", "b", NULL, "aa", "ab,abc,abd,ac" },
		{ "ab", "b", NULL, "abcz", "abd,ac" },
		{ NULL, NULL, "ab", "a", "ab,abc,abd" },
		{ NULL, NULL, "ab", "abd", "abd" },
		{ NULL, NULL, "ab", "abz", "" },
		{ NULL, NULL, "ab", "b", "" },
		{ "abc", "ac", "ab", "aa", "abc,abd" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		golite_iter_options o = bounds(cases[i].lo, cases[i].hi, cases[i].pre);
		const char *got = scan(db, "k", &o, cases[i].seek);
		cr_expect_str_eq(got, cases[i].want,
				 "lower %s upper %s prefix %s seek %s: got \"%s\", want \"%s\"",
				 cases[i].lo, cases[i].hi, cases[i].pre, cases[i].seek, got,
				 cases[i].want);
	}
}

Test(iter, reseek_moves_back_and_forth_within_bounds)
{
	cr_assert_eq(golite_table_create(db, "k"), 0);
	load_keys("k", letters, ARRAY_LEN(letters));
	golite_iter_options o = bounds("ab", "c", NULL);
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "k", &o, &it), 0);
	const char *seeks[] = { "b", "a", "zz", "ac", "", "bab", "ab" };
	const char *want[] = { "b", "ab", NULL, "ac", "ab", "bab", "ab" };
	for (size_t i = 0; i < ARRAY_LEN(seeks); i++) {
		golite_iter_seek(it, seeks[i], strlen(seeks[i]));
		if (!want[i]) {
			cr_assert(!golite_iter_valid(it), "seek %s", seeks[i]);
			continue;
		}
		cr_assert(golite_iter_valid(it), "seek %s", seeks[i]);
		size_t klen;
		const char *k = golite_iter_key(it, &klen);
		cr_assert(klen == strlen(want[i]) && memcmp(k, want[i], klen) == 0,
			  "seek %s lands on %.*s, want %s", seeks[i], (int)klen, k, want[i]);
	}
	golite_iter_seek_first(it);
	size_t klen;
	cr_assert(golite_iter_valid(it));
	cr_assert(memcmp(golite_iter_key(it, &klen), "ab", 2) == 0 && klen == 2);
	golite_iter_free(it);
}

Test(iter, binary_keys_in_memcmp_order)
{
	cr_assert_eq(golite_table_create(db, "bin"), 0);
	const struct {
		const char *k;
		size_t n;
	} keys[] = {
		{ "\xff", 1 }, { "a\0", 2 }, { "a", 1 }, { "\0", 1 }, { "\0\0", 2 }, { "a\xff", 2 },
		{ "a\0\0", 3 }, { "\x7f", 1 }, { "\x80", 1 }, { "aa", 2 },
	};
	/* Sorted by memcmp, shorter first. */
	const int order[] = { 3, 4, 2, 1, 6, 9, 5, 7, 8, 0 };
	for (size_t i = 0; i < ARRAY_LEN(keys); i++)
		cr_assert_eq(golite_put(db, "bin", keys[i].k, keys[i].n, &i, sizeof(i)), 0);
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "bin", NULL, &it), 0);
	size_t i = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it), i++) {
		cr_assert_lt(i, ARRAY_LEN(keys));
		size_t klen, vlen;
		const void *k = golite_iter_key(it, &klen);
		const void *v = golite_iter_value(it, &vlen);
		int w = order[i];
		cr_assert(klen == keys[w].n && memcmp(k, keys[w].k, klen) == 0,
			  "position %zu is not key #%d", i, w);
		size_t got;
		cr_assert_eq(vlen, sizeof(got));
		memcpy(&got, v, sizeof(got));
		cr_assert_eq(got, (size_t)w);
	}
	cr_assert_eq(i, ARRAY_LEN(keys));
	/* A prefix of "a" takes "a" and everything after it that starts with a. */
	golite_iter_options o = { .prefix = "a", .prefix_len = 1 };
	golite_iter_free(it);
	cr_assert_eq(golite_iter_new(db, "bin", &o, &it), 0);
	i = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it))
		i++;
	cr_assert_eq(i, 5);
	golite_iter_free(it);
	/* A prefix "\0" against keys "\0" and "\0\0". */
	o.prefix = "\0";
	cr_assert_eq(golite_iter_new(db, "bin", &o, &it), 0);
	i = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it))
		i++;
	cr_assert_eq(i, 2);
	golite_iter_free(it);
}

/* The brute-force reference: keys that pass the bounds and seek. */
static bool in_range(const char *k, const char *lo, const char *hi, const char *pre,
		     const char *seek)
{
	size_t kl = strlen(k);
	if (lo && tu_keycmp(k, kl, lo, strlen(lo)) < 0)
		return false;
	if (hi && tu_keycmp(k, kl, hi, strlen(hi)) >= 0)
		return false;
	if (pre && strncmp(k, pre, strlen(pre)) != 0)
		return false;
	if (seek && tu_keycmp(k, kl, seek, strlen(seek)) < 0)
		return false;
	return true;
}

static void random_word(struct tu_rng *r, char *w, size_t minlen)
{
	size_t n = minlen + tu_below(r, 4 - minlen + 1);
	for (size_t i = 0; i < n; i++)
		w[i] = "abc"[tu_below(r, 3)];
	w[n] = '\0';
}

Test(iter, bounds_and_seeks_match_a_brute_force_filter)
{
	uint64_t seed = tu_seed("iter/bounds_and_seeks_match_a_brute_force_filter", 20240601);
	struct tu_rng r;
	tu_rng_init(&r, seed);
	cr_assert_eq(golite_table_create(db, "k"), 0);
	/* All words over {a,b,c} of length 1..4, about half present. */
	static char words[120][5];
	size_t nw = 0;
	for (size_t len = 1; len <= 4; len++) {
		size_t total = 1;
		for (size_t i = 0; i < len; i++)
			total *= 3;
		for (size_t x = 0; x < total; x++) {
			size_t y = x;
			char w[5];
			for (size_t i = 0; i < len; i++) {
				w[len - 1 - i] = "abc"[y % 3];
				y /= 3;
			}
			w[len] = '\0';
			if (tu_chance(&r, 50) && nw < ARRAY_LEN(words))
				strcpy(words[nw++], w);
		}
	}
	for (size_t i = 0; i < nw; i++)
		put_ok(db, "k", words[i], words[i]);
	/* Some deleted again: tombstones must not surface. */
	for (size_t i = 0; i < nw; i++)
		if (tu_chance(&r, 20)) {
			cr_assert_eq(golite_delete(db, "k", words[i], strlen(words[i])), 0);
			words[i][0] = '\0';
		}
	qsort(words, nw, sizeof(words[0]), (int (*)(const void *, const void *))strcmp);
	char want[4096], lo[8], hi[8], pre[8], sk[8];
	for (int round = 0; round < 2000; round++) {
		random_word(&r, lo, 0);
		random_word(&r, hi, 0);
		random_word(&r, pre, 0);
		random_word(&r, sk, 0);
		const char *L = tu_chance(&r, 50) && *lo ? lo : NULL;
		const char *H = tu_chance(&r, 50) && *hi ? hi : NULL;
		const char *P = tu_chance(&r, 40) && *pre ? pre : NULL;
		const char *S = tu_chance(&r, 50) ? sk : NULL;
		size_t n = 0;
		want[0] = '\0';
		for (size_t i = 0; i < nw; i++) {
			if (!words[i][0] || !in_range(words[i], L, H, P, S && *S ? S : NULL))
				continue;
			n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%s", n ? "," : "",
					      words[i]);
		}
		golite_iter_options o = bounds(L, H, P);
		const char *got = scan(db, "k", &o, S);
		cr_assert_str_eq(got, want, "seed %llu round %d: lower %s upper %s prefix %s seek %s",
				 (unsigned long long)seed, round, L, H, P, S);
	}
}

Test(iter, bound_with_a_length_but_no_bytes_is_einval)
{
	golite_iter *it = (golite_iter *)1;
	golite_iter_options o = { .lower = NULL, .lower_len = 3 };
	cr_assert_eq(golite_iter_new(db, "t", &o, &it), GOLITE_EINVAL);
	cr_assert_null(it);
	o = (golite_iter_options){ .upper = NULL, .upper_len = 1 };
	cr_assert_eq(golite_iter_new(db, "t", &o, &it), GOLITE_EINVAL);
	o = (golite_iter_options){ .prefix = NULL, .prefix_len = 2 };
	cr_assert_eq(golite_iter_new(db, "t", &o, &it), GOLITE_EINVAL);
}

Test(iter, bounds_are_copied)
{
	cr_assert_eq(golite_table_create(db, "k"), 0);
	load_keys("k", letters, ARRAY_LEN(letters));
	char lo[4] = "b", hi[4] = "c";
	golite_iter_options o = bounds(lo, hi, NULL);
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "k", &o, &it), 0);
	strcpy(lo, "a");
	strcpy(hi, "z");
	size_t n = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it))
		n++;
	cr_assert_eq(n, 3, "the iterator kept pointers to the caller's bounds");
	golite_iter_free(it);
}

Test(iter, writes_after_creation_are_invisible)
{
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "t", NULL, &it), 0);
	/* After the iterator: a new key before, between and after the old
	 * ones, an overwrite, a delete, and a delete + re-put. */
	put_ok(db, "t", "0", "new");
	put_ok(db, "t", "bb", "new");
	put_ok(db, "t", "z", "new");
	put_ok(db, "t", "a", "changed");
	cr_assert_eq(golite_delete(db, "t", "b", 1), 0);
	cr_assert_eq(golite_delete(db, "t", "c", 1), 0);
	put_ok(db, "t", "c", "reborn");
	golite_batch *b = golite_batch_new();
	golite_batch_put(b, "t", "ab", 2, "batch", 5);
	golite_batch_delete(b, "t", "a", 1);
	cr_assert_eq(golite_write(db, b), 0);
	golite_batch_free(b);

	const char *keys[] = { "a", "b", "c" };
	const char *vals[] = { "1", "22", "" };
	for (int pass = 0; pass < 2; pass++) {
		size_t i = 0;
		for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it), i++) {
			cr_assert_lt(i, 3, "pass %d: the snapshot shows a later key", pass);
			size_t klen, vlen;
			const char *k = golite_iter_key(it, &klen);
			const char *v = golite_iter_value(it, &vlen);
			cr_assert(klen == strlen(keys[i]) && memcmp(k, keys[i], klen) == 0,
				  "pass %d position %zu: key %.*s, want %s", pass, i, (int)klen, k,
				  keys[i]);
			cr_assert(vlen == strlen(vals[i]) && memcmp(v, vals[i], vlen) == 0,
				  "pass %d key %s: value %.*s, want %s", pass, keys[i], (int)vlen, v,
				  vals[i]);
		}
		cr_assert_eq(i, 3, "pass %d: %zu keys in the snapshot", pass, i);
		/* The second pass re-seeks the same iterator after more writes. */
		put_ok(db, "t", "aa", "later");
		cr_assert_eq(golite_delete(db, "t", "a", 1), 0);
	}
	golite_iter_seek(it, "b", 1);
	cr_assert(golite_iter_valid(it));
	size_t klen;
	cr_assert(memcmp(golite_iter_key(it, &klen), "b", 1) == 0 && klen == 1,
		  "seek into the snapshot misses deleted key b");
	golite_iter_free(it);
	cr_assert_str_eq(scan(db, "t", NULL, NULL), "0,aa,ab,bb,c,z");
}

Test(iter, snapshot_outlives_a_drop_of_its_table)
{
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "t", NULL, &it), 0);
	cr_assert_eq(golite_table_drop(db, "t", 0), 0);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	put_ok(db, "t", "new", "x");
	size_t n = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it))
		n++;
	cr_assert_eq(n, 3, "an iterator over a since-dropped table lost its snapshot");
	golite_iter_free(it);
	cr_assert_str_eq(scan(db, "t", NULL, NULL), "new");
}

Test(iter, keys_and_values_stay_valid_until_the_iterator_moves)
{
	cr_assert_eq(golite_table_create(db, "k"), 0);
	load_keys("k", letters, ARRAY_LEN(letters));
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "k", NULL, &it), 0);
	golite_iter_seek(it, "b", 1);
	size_t klen, vlen;
	const char *k = golite_iter_key(it, &klen);
	const char *v = golite_iter_value(it, &vlen);
	/* Heavy writes, including to the very key, must not move them. */
	for (int i = 0; i < 2000; i++) {
		char key[16];
		snprintf(key, sizeof(key), "b%04d", i);
		put_ok(db, "k", key, key);
		put_ok(db, "k", "b", key);
	}
	cr_assert(klen == 1 && memcmp(k, "b", 1) == 0);
	cr_assert(vlen == 1 && memcmp(v, "b", 1) == 0);
	golite_iter_free(it);
}

Test(iter, positioned_entry_survives_flushes_and_cache_pressure)
{
	/* Everything in tables on disk, a small block cache, then a long
	 * stretch of other reads and writes while the iterator stands still. */
	golite_options o = opts_default();
	o.memtable_size = 64 << 10;
	o.block_cache_size = 64 << 10;
	cr_assert_eq(golite_close(db), 0);
	db = tu_open(dir, &o);
	cr_assert_eq(golite_table_create(db, "k"), 0);
	char key[16], val[1024];
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "key%05d", i);
		tu_fill(val, sizeof(val), (uint64_t)i);
		cr_assert_eq(golite_put(db, "k", key, strlen(key), val, sizeof(val)), 0);
	}
	cr_assert_eq(golite_close(db), 0);
	db = tu_open(dir, &o);
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "k", NULL, &it), 0);
	golite_iter_seek(it, "key01500", 8);
	cr_assert(golite_iter_valid(it));
	size_t klen, vlen;
	const char *k = golite_iter_key(it, &klen);
	const char *v = golite_iter_value(it, &vlen);
	cr_assert(!golite_iter_is_dir(it));
	for (int round = 0; round < 3; round++)
		for (int i = 0; i < 3000; i += 7) {
			snprintf(key, sizeof(key), "key%05d", i);
			void *got;
			size_t n;
			cr_assert_eq(golite_get(db, "k", key, strlen(key), &got, &n), 0);
			golite_free(got);
			if (round == 1) {
				tu_fill(val, sizeof(val), (uint64_t)i + 100000);
				cr_assert_eq(golite_put(db, "k", key, strlen(key), val, sizeof(val)), 0);
			}
		}
	cr_assert(klen == 8 && memcmp(k, "key01500", 8) == 0, "the key moved under the iterator");
	cr_assert(vlen == 1024 && tu_check_fill(v, vlen, 1500),
		  "the value moved under the iterator");
	golite_iter_next(it);
	cr_assert(golite_iter_valid(it));
	k = golite_iter_key(it, &klen);
	cr_assert(klen == 8 && memcmp(k, "key01501", 8) == 0);
	v = golite_iter_value(it, &vlen);
	cr_assert(vlen == 1024 && tu_check_fill(v, vlen, 1501), "the snapshot shows a later write");
	golite_iter_free(it);
}

Test(iter, snapshot_survives_flushes_and_compactions, .timeout = 120)
{
	/* An iterator taken over data spread across memtables and tables,
	 * then overwrites and deletes of every key, enough to flush and
	 * compact many times: the iterator still shows its snapshot. */
	golite_options o = opts_default();
	o.memtable_size = 64 << 10;
	o.sstable_size = 64 << 10;
	reopen(&o);
	cr_assert_eq(golite_table_create(db, "k"), 0);
	char key[16], val[512];
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "key%05d", i);
		tu_fill(val, sizeof(val), (uint64_t)i);
		cr_assert_eq(golite_put(db, "k", key, strlen(key), val, sizeof(val)), 0);
	}
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "k", NULL, &it), 0);
	for (int round = 1; round <= 4; round++)
		for (int i = 0; i < 2000; i++) {
			snprintf(key, sizeof(key), "key%05d", i);
			if ((i + round) % 3 == 0) {
				cr_assert_eq(golite_delete(db, "k", key, strlen(key)), 0);
			} else {
				tu_fill(val, sizeof(val), (uint64_t)(i + round * 100000));
				cr_assert_eq(golite_put(db, "k", key, strlen(key), val, sizeof(val)), 0);
			}
		}
	golite_stats st;
	golite_stats_get(db, &st);
	cr_assert_gt(st.sstable_count, 0, "nothing was flushed: the test tests nothing");
	fprintf(stderr, "iter/snapshot_survives_flushes_and_compactions: %llu tables\n",
		(unsigned long long)st.sstable_count);
	int n = 0;
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it), n++) {
		size_t klen, vlen;
		const char *k = golite_iter_key(it, &klen);
		const char *v = golite_iter_value(it, &vlen);
		snprintf(key, sizeof(key), "key%05d", n);
		cr_assert(klen == strlen(key) && memcmp(k, key, klen) == 0,
			  "position %d holds %.*s (%llu tables now)", n, (int)klen, k,
			  (unsigned long long)st.sstable_count);
		cr_assert(vlen == sizeof(val) && tu_check_fill(v, vlen, (uint64_t)n),
			  "%s does not hold its value as of the snapshot", key);
	}
	cr_assert_eq(golite_iter_status(it), 0);
	cr_assert_eq(n, 2000, "the snapshot shows %d of 2000 keys", n);
	golite_iter_free(it);
}

Test(api, many_tables)
{
	char name[32];
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "tbl-%04d", (i * 7919) % 2000);
		cr_assert_eq(golite_table_create(db, name), 0, "%s", name);
		tu_model_create(&model, name);
		if (i % 3 == 0)
			api_put(name, "k", name);
	}
	for (int i = 0; i < 2000; i += 2) {
		snprintf(name, sizeof(name), "tbl-%04d", i);
		cr_assert_eq(golite_table_drop(db, name, 0), 0, "%s", name);
		tu_model_drop(&model, name);
	}
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

Test(iter, api_keys_are_not_directories)
{
	golite_iter *it;
	cr_assert_eq(golite_iter_new(db, "t", NULL, &it), 0);
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		cr_assert(!golite_iter_is_dir(it));
		size_t vlen;
		cr_assert(golite_iter_value(it, &vlen) != NULL || vlen == 0);
	}
	golite_iter_free(it);
}

Test(api, batch_larger_than_a_log_segment_survives_reopen, .timeout = 120)
{
	golite_options o = opts_default();
	o.wal_segment_size = 1 << 20;
	o.wal_buffer_size = 64 << 10;
	o.memtable_size = 256 << 10;
	reopen(&o);
	golite_batch *b = golite_batch_new();
	size_t n = 512 << 10;
	char *v = malloc(n);
	for (int i = 0; i < 40; i++) {
		char k[16];
		snprintf(k, sizeof(k), "big%02d", i);
		tu_fill(v, n, (uint64_t)i);
		const char *t = i % 2 ? "t" : "u";
		cr_assert_eq(golite_batch_put(b, t, k, strlen(k), v, n), 0);
		tu_model_put(&model, t, k, strlen(k), v, n);
	}
	cr_assert_eq(golite_write(db, b), 0, "%s", golite_last_error());
	golite_batch_free(b);
	free(v);
	expect_unchanged();
	reopen(&o);
	expect_unchanged();
	reopen(NULL);
	expect_unchanged();
}

/* ---- the open suite ---- */

TestSuite(open, .timeout = 60);

/* "name size" lines of every file in dir, sorted, with a content hash. */
static char *dir_listing(const char *d)
{
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "cd '%s' && find . -type f | sort | xargs -r md5sum", d);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char *buf = calloc(1, 1 << 16);
	size_t n = fread(buf, 1, (1 << 16) - 1, p);
	buf[n] = '\0';
	pclose(p);
	return buf;
}

Test(open, creates_a_missing_directory)
{
	char *base = tu_tmpdir("open");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/store", base);
	golite *d = tu_open(path, NULL);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_eq(st.st_mode & 0777, 0700, "mode %o", st.st_mode & 0777);
	golite_close(d);
	tu_rmtree(base);
}

Test(open, null_arguments_are_einval)
{
	golite *d = (golite *)1;
	cr_assert_eq(golite_open(NULL, NULL, &d), GOLITE_EINVAL);
	cr_assert_null(d, "*out must be NULL on failure");
	cr_assert_eq(golite_open("/tmp/x", NULL, NULL), GOLITE_EINVAL);
	d = (golite *)1;
	cr_assert_eq(golite_open("", NULL, &d), GOLITE_EINVAL);
	cr_assert_null(d);
}

Test(open, bad_options_are_einval)
{
	char *base = tu_tmpdir("open");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/store", base);
	golite_options o;
	golite *d;
	for (int i = 0; i < 6; i++) {
		golite_options_init(&o);
		const char *what = "";
		switch (i) {
		case 0: o.durability = (enum golite_durability)9; what = "durability"; break;
		case 1: o.memtable = (enum golite_memtable_kind)9; what = "memtable"; break;
		case 2: o.compression = (enum golite_compression)9; what = "compression"; break;
		case 3: o.sync_interval_ms = 0; what = "sync_interval_ms 0"; break;
		case 4: o.sync_interval_ms = 60001; what = "sync_interval_ms 60001"; break;
		case 5: o.durability = (enum golite_durability)-1; what = "durability -1"; break;
		}
		d = (golite *)1;
		cr_assert_eq(golite_open(path, &o, &d), GOLITE_EINVAL, "%s", what);
		cr_assert_null(d);
		cr_assert_eq(access(path, F_OK), -1, "a refused open created the directory (%s)",
			     what);
	}
	golite_options_init(&o);
	o.sync_interval_ms = 60000;
	d = tu_open(path, &o);
	golite_close(d);
	tu_rmtree(base);
}

Test(open, options_init_gives_the_documented_defaults)
{
	golite_options o;
	memset(&o, 0xa5, sizeof(o));
	golite_options_init(&o);
	cr_assert(o.create_if_missing);
	cr_assert(!o.error_if_exists);
	cr_assert(!o.read_only);
	cr_assert_eq(o.durability, GOLITE_PERIODIC);
	cr_assert_eq(o.sync_interval_ms, 1000);
	cr_assert_eq(o.wal_buffer_size, 4u << 20);
	cr_assert_eq(o.wal_segment_size, 64u << 20);
	cr_assert_eq(o.memtable_size, 64u << 20);
	cr_assert_eq(o.memtable, GOLITE_MEMTABLE_LOCKFREE);
	cr_assert_eq(o.block_cache_size, 64u << 20);
	cr_assert_eq(o.sstable_size, 32u << 20);
	cr_assert_eq(o.bloom_bits_per_key, 10);
	cr_assert_eq(o.compression, GOLITE_COMPRESS_NONE);
	cr_assert_eq(o.compaction_threads, 1);
	cr_assert_null(o.log);
	cr_assert_eq(o.log_level, GOLITE_LOG_WARN);
	cr_assert(o.flush_on_close);
	cr_assert_null(o.progress);
}

Test(open, missing_store_without_create_if_missing_fails_and_creates_nothing)
{
	char *base = tu_tmpdir("open");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/store", base);
	golite_options o = opts_default();
	o.create_if_missing = false;
	golite *d = (golite *)1;
	int r = golite_open(path, &o, &d);
	cr_assert_lt(r, 0);
	cr_assert_null(d);
	cr_assert_eq(access(path, F_OK), -1, "the directory was created");
	/* An existing, empty directory is no store either. */
	cr_assert_eq(mkdir(path, 0700), 0);
	r = golite_open(path, &o, &d);
	cr_assert_lt(r, 0, "an empty directory opened as a store");
	cr_assert_null(d);
	cr_assert_eq(tu_count_entries(path), 0,
		     "a failed open left %d files in an empty directory (contract: nothing on "
		     "disk is changed)",
		     tu_count_entries(path));
	tu_rmtree(base);
}

Test(open, error_if_exists)
{
	char *path = tu_tmpdir("open");
	golite_options o = opts_default();
	o.error_if_exists = true;
	golite *d = tu_open(path, &o);   /* a new store: fine */
	cr_assert_eq(golite_table_create(d, "t"), 0);
	put_ok(d, "t", "k", "v");
	cr_assert_eq(golite_close(d), 0);
	char *before = dir_listing(path);
	d = (golite *)1;
	cr_assert_eq(golite_open(path, &o, &d), GOLITE_EEXIST);
	cr_assert_null(d);
	char *after = dir_listing(path);
	cr_assert_str_eq(before, after, "a refused open changed files");
	free(before);
	free(after);
	o.error_if_exists = false;
	d = tu_open(path, &o);
	expect_value(d, "t", "k", "v");
	golite_close(d);
	tu_rmtree(path);
}

static void write_file(const char *dirpath, const char *name, const char *text)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dirpath, name);
	FILE *f = fopen(p, "w");
	cr_assert_not_null(f, "%s", p);
	fputs(text, f);
	fclose(f);
}

Test(open, junk_directory_without_create_is_refused_untouched)
{
	char *path = tu_tmpdir("junk");
	write_file(path, "notes.txt", "not a store\n");
	write_file(path, "data.bin", "\x01\x02\x03");
	char sub[PATH_MAX];
	snprintf(sub, sizeof(sub), "%s/subdir", path);
	mkdir(sub, 0700);
	char *before = dir_listing(path);
	int entries = tu_count_entries(path);
	golite_options o = opts_default();
	o.create_if_missing = false;
	golite *d = (golite *)1;
	cr_assert_lt(golite_open(path, &o, &d), 0, "a directory of junk opened as a store");
	cr_assert_null(d);
	o.read_only = true;
	cr_assert_lt(golite_open(path, &o, &d), 0);
	cr_assert_null(d);
	char *after = dir_listing(path);
	cr_assert_str_eq(before, after);
	cr_assert_eq(tu_count_entries(path), entries,
		     "a failed open added files to a non-store directory (now %d entries, was %d)",
		     tu_count_entries(path), entries);
	free(before);
	free(after);
	tu_rmtree(path);
}

Test(open, junk_directory_with_create_keeps_the_junk)
{
	char *path = tu_tmpdir("junk");
	write_file(path, "notes.txt", "not a store\n");
	golite *d = NULL;
	int r = golite_open(path, NULL, &d);
	if (r == 0) {
		cr_assert_eq(golite_table_create(d, "t"), 0);
		put_ok(d, "t", "k", "v");
		golite_close(d);
		d = tu_open(path, NULL);
		expect_value(d, "t", "k", "v");
		golite_close(d);
	} else {
		cr_assert_null(d);
	}
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/notes.txt", path);
	FILE *f = fopen(p, "r");
	cr_assert_not_null(f, "the store removed a file it does not own");
	char line[64] = "";
	cr_assert_not_null(fgets(line, sizeof(line), f));
	fclose(f);
	cr_assert_str_eq(line, "not a store\n");
	tu_rmtree(path);
}

Test(open, damaged_store_marker_is_refused)
{
	char *path = tu_tmpdir("open");
	golite *d = tu_open(path, NULL);
	golite_close(d);
	write_file(path, "STORE", "garbage\n");
	char *before = dir_listing(path);
	d = (golite *)1;
	int r = golite_open(path, NULL, &d);
	cr_assert_eq(r, GOLITE_ECORRUPT, "got %s", golite_strerror(r));
	cr_assert_null(d);
	cr_assert(strstr(golite_last_error(), "STORE"), "message \"%s\" names no file",
		  golite_last_error());
	char *after = dir_listing(path);
	cr_assert_str_eq(before, after);
	free(before);
	free(after);
	tu_rmtree(path);
}

Test(open, newer_store_format_is_eversion)
{
	char *path = tu_tmpdir("open");
	golite *d = tu_open(path, NULL);
	golite_close(d);
	write_file(path, "STORE", "golite store\nformat 99\n");
	d = (golite *)1;
	int r = golite_open(path, NULL, &d);
	cr_assert_eq(r, GOLITE_EVERSION, "got %s", golite_strerror(r));
	cr_assert_null(d);
	tu_rmtree(path);
}

Test(open, path_that_is_a_file_is_refused)
{
	char *path = tu_tmpdir("open");
	write_file(path, "plain", "x");
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/plain", path);
	golite *d = (golite *)1;
	cr_assert_lt(golite_open(p, NULL, &d), 0);
	cr_assert_null(d);
	tu_rmtree(path);
}

Test(open, data_survives_reopen_in_every_mode)
{
	const enum golite_durability modes[] = { GOLITE_PERIODIC, GOLITE_SYNC, GOLITE_NONE };
	const enum golite_memtable_kind kinds[] = { GOLITE_MEMTABLE_LOCKFREE,
						    GOLITE_MEMTABLE_LOCKED };
	for (size_t m = 0; m < ARRAY_LEN(modes); m++) {
		for (size_t k = 0; k < ARRAY_LEN(kinds); k++) {
			char *path = tu_tmpdir("modes");
			golite_options o = opts_default();
			o.durability = modes[m];
			o.memtable = kinds[k];
			golite *d = tu_open(path, &o);
			cr_assert_eq(golite_table_create(d, "t"), 0);
			for (int i = 0; i < 100; i++) {
				char key[16];
				snprintf(key, sizeof(key), "k%03d", i);
				put_ok(d, "t", key, key);
			}
			cr_assert_eq(golite_delete(d, "t", "k050", 4), 0);
			cr_assert_eq(golite_close(d), 0);
			/* Reopen with a different mode and memtable. */
			o.durability = modes[(m + 1) % ARRAY_LEN(modes)];
			o.memtable = kinds[(k + 1) % ARRAY_LEN(kinds)];
			d = tu_open(path, &o);
			for (int i = 0; i < 100; i++) {
				char key[16];
				snprintf(key, sizeof(key), "k%03d", i);
				if (i == 50)
					expect_absent(d, "t", key);
				else
					expect_value(d, "t", key, key);
			}
			golite_close(d);
			tu_rmtree(path);
		}
	}
}

Test(open, read_only_serves_reads_and_refuses_writes)
{
	char *path = tu_tmpdir("ro");
	golite *d = tu_open(path, NULL);
	cr_assert_eq(golite_table_create(d, "t"), 0);
	put_ok(d, "t", "a", "1");
	put_ok(d, "t", "b", "2");
	golite_close(d);
	char *before = dir_listing(path);

	golite_options o = opts_default();
	o.read_only = true;
	d = tu_open(path, &o);
	expect_value(d, "t", "a", "1");
	cr_assert(golite_exists(d, "t", "b", 1));
	cr_assert(golite_table_exists(d, "t"));
	golite_iter *it;
	cr_assert_eq(golite_iter_new(d, "t", NULL, &it), 0);
	golite_iter_seek_first(it);
	cr_assert(golite_iter_valid(it));
	golite_iter_free(it);
	cr_assert_eq(golite_put(d, "t", "c", 1, "3", 1), GOLITE_EROFS);
	cr_assert_eq(golite_put(d, "t", "a", 1, "9", 1), GOLITE_EROFS);
	cr_assert_eq(golite_delete(d, "t", "a", 1), GOLITE_EROFS);
	golite_batch *b = golite_batch_new();
	golite_batch_put(b, "t", "c", 1, "3", 1);
	cr_assert_eq(golite_write(d, b), GOLITE_EROFS);
	golite_batch_free(b);
	cr_assert_eq(golite_table_create(d, "n"), GOLITE_EROFS);
	cr_assert_eq(golite_table_drop(d, "t", 0), GOLITE_EROFS);
	cr_assert_eq(golite_table_rename(d, "t", "n"), GOLITE_EROFS);
	golite_stats st;
	cr_assert_eq(golite_stats_get(d, &st), 0);
	int r = golite_sync(d);
	cr_assert(r == 0 || r == GOLITE_EROFS, "sync of a read-only store: %s",
		  golite_strerror(r));
	expect_value(d, "t", "a", "1");
	cr_assert_eq(golite_close(d), 0);

	char *after = dir_listing(path);
	cr_assert_str_eq(before, after, "a read-only session changed files:\n%s\n---\n%s", before,
			 after);
	free(before);
	free(after);
	d = tu_open(path, NULL);
	expect_value(d, "t", "a", "1");
	expect_value(d, "t", "b", "2");
	expect_absent(d, "t", "c");
	golite_close(d);
	tu_rmtree(path);
}

Test(open, read_only_of_a_missing_store_fails_and_creates_nothing)
{
	char *base = tu_tmpdir("ro");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/store", base);
	golite_options o = opts_default();
	o.read_only = true;
	golite *d = (golite *)1;
	cr_assert_lt(golite_open(path, &o, &d), 0);
	cr_assert_null(d);
	cr_assert_eq(access(path, F_OK), -1);
	tu_rmtree(base);
}

Test(open, second_open_in_the_same_process_is_refused)
{
	char *path = tu_tmpdir("lock");
	golite *d = tu_open(path, NULL);
	golite *e = (golite *)1;
	int r = golite_open(path, NULL, &e);
	cr_assert_eq(r, GOLITE_ELOCKED, "second open: %s", golite_strerror(r));
	cr_assert_null(e);
	golite_close(d);
	d = tu_open(path, NULL);
	golite_close(d);
	tu_rmtree(path);
}

/* ---- the lock suite: other processes ---- */

TestSuite(lock, .timeout = 60);

struct holder {
	pid_t pid;
	int ctl;   /* closing it tells the holder to close the store and exit */
};

/*
 * Forks a process that opens path (read-only or not), reports the result
 * of golite_open, and holds the store until told to let go (or killed).
 * Must be called before the calling process first uses the library.
 */
static struct holder spawn_holder(const char *path, bool read_only)
{
	int ready[2], ctl[2];
	cr_assert_eq(pipe(ready), 0);
	cr_assert_eq(pipe(ctl), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		close(ctl[1]);
		golite_options o;
		golite_options_init(&o);
		o.read_only = read_only;
		golite *d = NULL;
		int r = golite_open(path, &o, &d);
		if (write(ready[1], &r, sizeof(r)) != sizeof(r))
			_exit(2);
		char c;
		while (read(ctl[0], &c, 1) > 0)
			;
		golite_close(d);
		_exit(0);
	}
	close(ready[1]);
	close(ctl[0]);
	int r = -999;
	cr_assert_eq(read(ready[0], &r, sizeof(r)), (ssize_t)sizeof(r), "holder died");
	close(ready[0]);
	cr_assert_eq(r, 0, "holder could not open %s: %s", path, golite_strerror(r));
	return (struct holder){ pid, ctl[1] };
}

static void release_holder(struct holder h)
{
	close(h.ctl);
	int st;
	cr_assert_eq(waitpid(h.pid, &st, 0), h.pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "holder exit status %d", st);
}

/* Makes path a store without touching the library in this process. */
static void make_store(const char *path)
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		golite *d = NULL;
		if (golite_open(path, NULL, &d))
			_exit(1);
		golite_table_create(d, "t");
		golite_put(d, "t", "k", 1, "v", 1);
		_exit(golite_close(d) ? 1 : 0);
	}
	int st;
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

Test(lock, second_open_from_another_process_is_elocked_naming_the_holder)
{
	char *path = tu_tmpdir("lock");
	make_store(path);
	struct holder h = spawn_holder(path, false);
	golite *d = (golite *)1;
	int r = golite_open(path, NULL, &d);
	cr_assert_eq(r, GOLITE_ELOCKED, "got %s", golite_strerror(r));
	cr_assert_null(d);
	char pid[32];
	snprintf(pid, sizeof(pid), "%d", (int)h.pid);
	cr_assert(strstr(golite_last_error(), pid), "\"%s\" does not name holder pid %s",
		  golite_last_error(), pid);
	golite_options o = opts_default();
	o.read_only = true;
	cr_assert_eq(golite_open(path, &o, &d), GOLITE_ELOCKED,
		     "a reader got in beside a writer");
	release_holder(h);
	d = tu_open(path, NULL);
	expect_value(d, "t", "k", "v");
	golite_close(d);
	tu_rmtree(path);
}

Test(lock, lock_is_released_when_the_holder_is_killed)
{
	char *path = tu_tmpdir("lock");
	make_store(path);
	struct holder h = spawn_holder(path, false);
	kill(h.pid, SIGKILL);
	int st;
	waitpid(h.pid, &st, 0);
	close(h.ctl);
	golite *d = tu_open(path, NULL);
	expect_value(d, "t", "k", "v");
	golite_close(d);
	tu_rmtree(path);
}

Test(lock, readers_share_and_writers_exclude)
{
	char *path = tu_tmpdir("lock");
	make_store(path);
	struct holder h = spawn_holder(path, true);
	golite_options o = opts_default();
	o.read_only = true;
	golite *d = tu_open(path, &o);   /* a second reader */
	expect_value(d, "t", "k", "v");
	golite *w = (golite *)1;
	cr_assert_eq(golite_open(path, NULL, &w), GOLITE_ELOCKED, "a writer got in beside readers");
	cr_assert_null(w);
	golite_close(d);
	cr_assert_eq(golite_open(path, NULL, &w), GOLITE_ELOCKED,
		     "a writer got in beside another process's reader");
	release_holder(h);
	w = tu_open(path, NULL);
	golite_close(w);
	tu_rmtree(path);
}

/* ---- the failure suite: injected I/O errors ---- */

static _Atomic int fail_op = -1;
static _Atomic int fail_errno;

static int fault_hook(void *ctx, enum io_op op, const char *path, int fd, size_t *len)
{
	(void)ctx;
	(void)path;
	(void)fd;
	(void)len;
	return (int)op == atomic_load(&fail_op) ? atomic_load(&fail_errno) : 0;
}

static void inject(enum io_op op, int err)
{
	atomic_store(&fail_errno, err);
	atomic_store(&fail_op, (int)op);
	io_set_fault_hook(fault_hook, NULL);
}

static void stop_injecting(void)
{
	atomic_store(&fail_op, -1);
	io_set_fault_hook(NULL, NULL);
}

TestSuite(failure, .timeout = 60);

static void expect_refuses_writes(golite *d)
{
	cr_assert_eq(golite_put(d, "t", "later", 5, "x", 1), GOLITE_EFAILED);
	cr_assert_eq(golite_delete(d, "t", "a", 1), GOLITE_EFAILED);
	golite_batch *b = golite_batch_new();
	golite_batch_put(b, "t", "later", 5, "x", 1);
	cr_assert_eq(golite_write(d, b), GOLITE_EFAILED);
	golite_batch_free(b);
	cr_assert_eq(golite_table_create(d, "later"), GOLITE_EFAILED);
	cr_assert_eq(golite_sync(d), GOLITE_EFAILED);
	golite_stats st;
	cr_assert_eq(golite_stats_get(d, &st), 0);
	cr_assert(st.failed, "stats do not say the store failed");
	/* Reads go on. */
	expect_value(d, "t", "a", "1");
	golite_iter *it;
	cr_assert_eq(golite_iter_new(d, "t", NULL, &it), 0);
	golite_iter_seek_first(it);
	cr_assert(golite_iter_valid(it));
	golite_iter_free(it);
}

Test(failure, sync_write_error_makes_the_store_refuse_writes_and_serve_reads)
{
	char *path = tu_tmpdir("fail");
	golite_options o = opts_default();
	o.durability = GOLITE_SYNC;
	golite *d = tu_open(path, &o);
	cr_assert_eq(golite_table_create(d, "t"), 0);
	put_ok(d, "t", "a", "1");
	inject(IO_PWRITE, EIO);
	int r = golite_put(d, "t", "b", 1, "2", 1);
	stop_injecting();
	cr_assert(r == GOLITE_EIO || r == GOLITE_EFAILED, "a write the log could not take: %s",
		  golite_strerror(r));
	expect_refuses_writes(d);
	cr_assert_neq(golite_close(d), 0, "close hides the log failure");
	d = tu_open(path, NULL);
	expect_value(d, "t", "a", "1");
	expect_absent(d, "t", "later");
	put_ok(d, "t", "c", "3");
	golite_close(d);
	tu_rmtree(path);
}

Test(failure, background_write_error_is_reported_to_later_writers)
{
	char *path = tu_tmpdir("fail");
	golite *d = tu_open(path, NULL);
	cr_assert_eq(golite_table_create(d, "t"), 0);
	put_ok(d, "t", "a", "1");
	cr_assert_eq(golite_sync(d), 0);
	inject(IO_FDATASYNC, EIO);
	put_ok(d, "t", "b", "2");   /* buffered: acknowledged */
	int r = golite_sync(d);
	stop_injecting();
	cr_assert(r == GOLITE_EIO || r == GOLITE_EFAILED, "sync after a failed fdatasync: %s",
		  golite_strerror(r));
	expect_refuses_writes(d);
	golite_close(d);
	tu_rmtree(path);
}

Test(failure, no_space_to_reserve_fails_one_write_and_changes_nothing)
{
	char *path = tu_tmpdir("fail");
	golite *d = tu_open(path, NULL);
	cr_assert_eq(golite_table_create(d, "t"), 0);
	put_ok(d, "t", "a", "1");
	/* A value larger than what is reserved at a segment's start. */
	size_t n = 6u << 20;
	char *v = malloc(n);
	tu_fill(v, n, 1);
	inject(IO_FALLOCATE, ENOSPC);
	int r = golite_put(d, "t", "big", 3, v, n);
	stop_injecting();
	cr_assert_eq(r, GOLITE_ENOSPC, "got %s", golite_strerror(r));
	expect_absent(d, "t", "big");
	golite_stats st;
	golite_stats_get(d, &st);
	cr_assert(!st.failed, "running out of space is not a failure of the store");
	cr_assert_eq(golite_put(d, "t", "big", 3, v, n), 0, "%s", golite_last_error());
	cr_assert_eq(golite_close(d), 0);
	d = tu_open(path, NULL);
	void *got;
	size_t len;
	cr_assert_eq(golite_get(d, "t", "big", 3, &got, &len), 0);
	cr_assert(len == n && memcmp(got, v, n) == 0);
	golite_free(got);
	expect_value(d, "t", "a", "1");
	golite_close(d);
	free(v);
	tu_rmtree(path);
}
