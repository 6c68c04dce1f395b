/*
 * Writes a small store whose files seed the fuzz corpora: log segments,
 * tables (plain and compressed) and a manifest, with puts, deletes, batches
 * and file records in them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golite.h"
#include "golite_raw.h"
#include "vfile.h"

static void check(int r, const char *what)
{
	if (r) {
		fprintf(stderr, "seeds: %s: %s (%s)\n", what, golite_strerror(r), golite_last_error());
		exit(1);
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: seeds DIR COMPRESSION(0|1|2)\n");
		return 2;
	}
	golite_options o;
	golite_options_init(&o);
	o.memtable_size = 64 << 10;
	o.sstable_size = 16 << 10;
	o.compression = (enum golite_compression)atoi(argv[2]);
	golite *db;
	check(golite_open(argv[1], &o, &db), "open");
	check(golite_table_create(db, "t"), "create");
	char k[32], v[300];
	for (int i = 0; i < 2000; i++) {
		int kl = snprintf(k, sizeof(k), "key%05d", i * 7 % 2000);
		int vl = snprintf(v, sizeof(v), "value %d %0*d", i, i % 200, 0);
		if (i % 9 == 0)
			check(golite_delete(db, "t", k, (size_t)kl), "delete");
		else
			check(golite_put(db, "t", k, (size_t)kl, v, (size_t)vl), "put");
	}
	golite_batch *b = golite_batch_new();
	golite_batch_put(b, "t", "batch-a", 7, "1", 1);
	golite_batch_delete(b, "t", "key00001", 8);
	check(golite_write(db, b), "write");
	golite_batch_free(b);
	uint32_t id;
	check(golite_table_id(db, "t", &id), "table id");
	struct vfile f = { .type = VFILE_REG, .mode = 0100644, .ino = 99, .size = 5,
			   .data = (const uint8_t *)"hello", .data_len = 5 };
	uint8_t rec[256];
	vfile_encode(&f, rec);
	check(golite_put_raw(db, id, GOLITE_KIND_META, "dir/file", 8, rec, vfile_encoded_size(&f)),
	      "put file record");
	check(golite_compact_range(db, NULL, NULL, 0, NULL, 0), "compact");
	for (int i = 0; i < 50; i++) {
		int kl = snprintf(k, sizeof(k), "late%03d", i);
		check(golite_put(db, "t", k, (size_t)kl, "x", 1), "put");
	}
	check(golite_close(db), "close");
	return 0;
}
