/*
 * keys.c — reads and writes keys of an unmounted store through the C API,
 * for the mount tests (keys with any bytes, given in hex).
 *
 *   keys put DATADIR TABLE HEXKEY HEXVALUE [HEXKEY HEXVALUE ...]
 *   keys del DATADIR TABLE HEXKEY
 *   keys get DATADIR TABLE HEXKEY        prints the value in hex
 *   keys dump DATADIR TABLE              prints "HEXKEY HEXVALUE" per key
 *                                        ("HEXKEY dir" for a directory)
 *   keys rawput DATADIR TABLEID HEXKEY HEXVALUE
 *   keys rawdel DATADIR TABLEID HEXKEY   the same on a table by id
 *                                        (engine/raw.h), e.g. the chunks
 *                                        (1) or the mount's own table (2)
 *
 * put creates the table if needed. Exit status 0 on success, 1 on error
 * (the library's message on stderr).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golite.h"
#include "golite_raw.h"

static int unhex(const char *s, unsigned char **out, size_t *len)
{
	size_t n = strlen(s);
	if (n % 2)
		return -1;
	*out = malloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		(*out)[i] = (unsigned char)v;
	}
	*len = n / 2;
	return 0;
}

static void print_hex(const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		printf("%02x", b[i]);
}

static int fail(const char *what, int r)
{
	fprintf(stderr, "keys: %s: %s (%s)\n", what, golite_strerror(r), golite_last_error());
	return 1;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: keys put|del|get|dump DATADIR TABLE [HEX...]\n");
		return 2;
	}
	const char *cmd = argv[1], *table = argv[3];
	golite *db;
	int r = golite_open(argv[2], NULL, &db);
	if (r)
		return fail("open", r);
	int status = 0;
	if (strcmp(cmd, "put") == 0) {
		if (!golite_table_exists(db, table) && (r = golite_table_create(db, table)))
			status = fail("create table", r);
		for (int i = 4; i + 1 < argc && !status; i += 2) {
			unsigned char *k, *v;
			size_t kl, vl;
			if (unhex(argv[i], &k, &kl) || unhex(argv[i + 1], &v, &vl)) {
				fprintf(stderr, "keys: bad hex\n");
				status = 1;
				break;
			}
			if ((r = golite_put(db, table, k, kl, v, vl)))
				status = fail("put", r);
			free(k);
			free(v);
		}
	} else if (strcmp(cmd, "del") == 0 && argc > 4) {
		unsigned char *k;
		size_t kl;
		if (unhex(argv[4], &k, &kl) == 0) {
			if ((r = golite_delete(db, table, k, kl)))
				status = fail("delete", r);
			free(k);
		}
	} else if (strcmp(cmd, "get") == 0 && argc > 4) {
		unsigned char *k;
		size_t kl;
		void *v;
		size_t vl;
		if (unhex(argv[4], &k, &kl) == 0) {
			if ((r = golite_get(db, table, k, kl, &v, &vl))) {
				status = fail("get", r);
			} else {
				print_hex(v, vl);
				printf("\n");
				golite_free(v);
			}
			free(k);
		}
	} else if ((strcmp(cmd, "rawput") == 0 && argc > 5) || (strcmp(cmd, "rawdel") == 0 && argc > 4)) {
		uint32_t id = (uint32_t)strtoul(table, NULL, 0);
		unsigned char *k, *v = NULL;
		size_t kl, vl = 0;
		if (unhex(argv[4], &k, &kl) || (argc > 5 && unhex(argv[5], &v, &vl))) {
			fprintf(stderr, "keys: bad hex\n");
			status = 1;
		} else {
			golite_batch *b = golite_batch_new();
			r = cmd[3] == 'p' ? golite_batch_put_raw(b, id, GOLITE_KIND_VALUE, k, kl, v, vl)
					  : golite_batch_delete_raw(b, id, k, kl);
			if (!r)
				r = golite_write(db, b);
			if (r)
				status = fail(cmd, r);
			golite_batch_free(b);
			free(k);
			free(v);
		}
	} else if (strcmp(cmd, "dump") == 0) {
		golite_iter *it;
		if ((r = golite_iter_new(db, table, NULL, &it))) {
			status = fail("iterate", r);
		} else {
			for (golite_iter_seek_first(it); golite_iter_valid(it); golite_iter_next(it)) {
				size_t kl, vl;
				const void *k = golite_iter_key(it, &kl);
				print_hex(k, kl);
				if (golite_iter_is_dir(it)) {
					printf(" dir\n");
					continue;
				}
				const void *v = golite_iter_value(it, &vl);
				printf(" ");
				print_hex(v, vl);
				printf("\n");
			}
			if (golite_iter_status(it))
				status = fail("iterate", golite_iter_status(it));
			golite_iter_free(it);
		}
	} else {
		fprintf(stderr, "keys: unknown command %s\n", cmd);
		status = 2;
	}
	r = golite_close(db);
	if (r && !status)
		status = fail("close", r);
	return status;
}
