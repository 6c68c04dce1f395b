/*
 * embed.c — a program that embeds GoLite through its installed header and
 * library. Build it against an installed copy with pkg-config:
 *
 *     cc -o embed embed.c $(pkg-config --cflags --libs golite)
 *     ./embed /tmp/embed-data
 *
 * It creates a table, writes a few keys in one atomic batch, reads one
 * back, lists the table in order, and closes the store. Exit status 0 on
 * success; on failure it prints golite_last_error() (which names files
 * and offsets) and exits 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <golite.h>

static int fail(const char *what, int err)
{
	fprintf(stderr, "embed: %s: %s (%s)\n", what, golite_strerror(err),
		golite_last_error());
	return 1;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "./embed-data";
	golite_options o;
	golite_options_init(&o);          /* documented defaults */
	o.durability = GOLITE_SYNC;       /* each write on disk when it returns */
	golite *db;
	int r = golite_open(dir, &o, &db);
	if (r)
		return fail("open", r);

	r = golite_table_create(db, "users");
	if (r && r != GOLITE_EEXIST)
		return fail("create table", r);

	/* Three writes, applied atomically. */
	golite_batch *b = golite_batch_new();
	static const char *const names[][2] = {
		{ "41", "{\"name\":\"lee\"}" },
		{ "42", "{\"name\":\"kim\"}" },
		{ "43", "{\"name\":\"park\"}" },
	};
	for (size_t i = 0; i < 3; i++)
		golite_batch_put(b, "users", names[i][0], strlen(names[i][0]), names[i][1],
				 strlen(names[i][1]));
	r = golite_write(db, b);
	golite_batch_free(b);
	if (r)
		return fail("write", r);

	void *v;
	size_t vlen;
	r = golite_get(db, "users", "42", 2, &v, &vlen);
	if (r)
		return fail("get", r);
	printf("users/42 = %.*s\n", (int)vlen, (const char *)v);
	golite_free(v);               /* the library's buffer */

	golite_iter *it;
	r = golite_iter_new(db, "users", NULL, &it);
	if (r)
		return fail("iterator", r);
	for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
		size_t klen;
		const char *k = golite_iter_key(it, &klen);
		printf("key %.*s\n", (int)klen, k);
	}
	r = golite_iter_status(it);
	golite_iter_free(it);
	if (r)
		return fail("iterate", r);

	r = golite_close(db);
	if (r)
		return fail("close", r);
	printf("ok, GoLite %s\n", GOLITE_VERSION_STRING);
	return 0;
}
