/*
 * test_file_read.c — golite_chunks_read (golite_raw.h), the one reader of
 * the chunk table, and golite_get of a chunked file record, which goes
 * through it.
 *
 * Chunks are written with golite_put_raw as the mount writes them
 * (common/vfile.h); each test compares what is read with a model buffer
 * of the file's bytes. Both of the reader's ways are covered: point
 * lookups (short ranges) and one iterator (ranges of 512 chunks or more).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golite.h"
#include "golite_raw.h"
#include "testutil.h"
#include "util.h"
#include "vfile.h"

#define CH VFILE_CHUNK

static char *dir;
static golite *db;

static void setup(void)
{
	dir = tu_tmpdir("file_read");
	db = tu_open(dir, NULL);
}

static void teardown(void)
{
	cr_assert_eq(golite_close(db), 0);
	tu_rmtree(dir);
}

TestSuite(chunks, .init = setup, .fini = teardown);

static void put_chunk(uint64_t ino, uint32_t idx, const void *data, size_t len)
{
	uint8_t key[VFILE_CHUNK_KEY];
	vfile_chunk_key(key, ino, idx);
	int r = golite_put_raw(db, GOLITE_TABLE_CHUNKS, GOLITE_KIND_VALUE, key, sizeof(key), data,
			       len);
	cr_assert_eq(r, 0, "put chunk %u: %s", idx, golite_last_error());
}

/* Writes chunk idx of ino with len bytes of tag-derived data, and the
 * same bytes into the model (model[idx * CH ..], zeros after them). */
static void put_model_chunk(uint8_t *model, uint64_t ino, uint32_t idx, size_t len)
{
	uint8_t *p = model + (size_t)idx * CH;
	tu_fill(p, len, ino * 1000003 + idx);
	memset(p + len, 0, CH - len);
	put_chunk(ino, idx, p, len);
}

/* Reads [off, off + len) of ino and compares it with model. The buffer
 * starts full of 0xa5, so a byte the reader leaves unwritten shows. */
static void expect_range(uint64_t ino, const uint8_t *model, uint64_t off, size_t len)
{
	uint8_t *got = malloc(len ? len : 1);
	memset(got, 0xa5, len);
	int r = golite_chunks_read(db, ino, off, got, len);
	cr_assert_eq(r, 0, "read [%llu, +%zu): %s", (unsigned long long)off, len,
		     golite_last_error());
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(got[i], model[off + i], "byte %llu: got %#x want %#x",
			     (unsigned long long)(off + i), got[i], model[off + i]);
	free(got);
}

Test(chunks, a_file_without_chunks_reads_as_zeros)
{
	uint8_t *zeros = calloc(1, 2 * CH);
	expect_range(42, zeros, 0, 2 * CH);
	expect_range(42, zeros, 100, 5000);
	expect_range(42, zeros, 7, 1);
	free(zeros);
}

Test(chunks, partial_last_chunk_reads_zeros_past_its_length)
{
	uint8_t model[3 * CH] = { 0 };
	put_model_chunk(model, 9, 0, CH);
	put_model_chunk(model, 9, 1, 100);
	expect_range(9, model, 0, 3 * CH);            /* whole chunks in place */
	expect_range(9, model, CH + 50, 100);         /* across the chunk's end */
	expect_range(9, model, CH + 100, CH);         /* all past it */
	expect_range(9, model, CH - 10, 20);          /* across two chunks */
}

Test(chunks, holes_between_chunks_read_as_zeros)
{
	uint8_t model[5 * CH] = { 0 };
	put_model_chunk(model, 3, 0, CH);
	put_model_chunk(model, 3, 2, CH);
	put_model_chunk(model, 3, 4, 1);
	expect_range(3, model, 0, 5 * CH);
	expect_range(3, model, 123, 4 * CH);
	expect_range(3, model, CH, CH);               /* the hole alone */
}

Test(chunks, the_neighbours_chunks_are_not_read)
{
	uint8_t model[4 * CH] = { 0 }, other[2 * CH];
	put_model_chunk(model, 5, 0, CH);
	memset(other, 0x77, sizeof(other));
	put_chunk(4, 0xffffffffu, other, CH);         /* just before ino 5's keys */
	put_chunk(6, 0, other, CH);                   /* just after them */
	expect_range(5, model, 0, 4 * CH);
}

Test(chunks, a_long_range_by_scan_equals_the_same_by_lookups)
{
	/* 600 chunks: every third missing, some short, then a short last
	 * one. One read covers them (the iterator), pieces of 3 chunks do
	 * not (point lookups). */
	const uint32_t n = 600;
	uint8_t *model = calloc(n + 1, CH);
	for (uint32_t i = 0; i < n; i++)
		if (i % 3)
			put_model_chunk(model, 11, i, i % 7 == 1 ? 1000 : CH);
	put_model_chunk(model, 11, n - 1, 17);
	expect_range(11, model, 0, (size_t)n * CH);
	expect_range(11, model, 4097, (size_t)(n - 2) * CH);
	for (uint64_t off = 0; off < (uint64_t)n * CH; off += 3 * CH - 1)
		expect_range(11, model, off, (size_t)MIN(3 * CH, (uint64_t)(n + 1) * CH - off));
	free(model);
}

Test(chunks, an_overlong_chunk_is_corruption)
{
	uint8_t big[CH + 1] = { 1 };
	put_chunk(8, 1, big, sizeof(big));
	uint8_t *buf = malloc(600 * CH);
	cr_assert_eq(golite_chunks_read(db, 8, 0, buf, 2 * CH), GOLITE_ECORRUPT);
	cr_assert_eq(golite_chunks_read(db, 8, 0, buf, 600 * CH), GOLITE_ECORRUPT);
	cr_assert_eq(golite_chunks_read(db, 8, 0, buf, CH), 0, "chunk 0 alone is fine");
	free(buf);
}

Test(chunks, bad_arguments)
{
	uint8_t b[1];
	cr_assert_eq(golite_chunks_read(db, 1, 0, NULL, 1), GOLITE_EINVAL);
	cr_assert_eq(golite_chunks_read(db, 1, 0, NULL, 0), 0);
	cr_assert_eq(golite_chunks_read(db, 1, (uint64_t)CH << 32, b, 1), GOLITE_EINVAL);
	cr_assert_eq(golite_chunks_read(db, 1, UINT64_MAX, b, 1), GOLITE_EINVAL);
	cr_assert_eq(golite_chunks_read(db, 1, ((uint64_t)CH << 32) - 1, b, 1), 0);
}

Test(chunks, golite_get_assembles_a_chunked_file)
{
	const uint64_t ino = 77, size = 2 * CH + 10;
	uint8_t model[3 * CH] = { 0 };
	put_model_chunk(model, ino, 0, CH);
	put_model_chunk(model, ino, 2, CH);          /* past the size: cut */
	struct vfile f = { .type = VFILE_REG, .flags = VFILE_F_CHUNKED, .mode = 0100644,
			   .ino = ino, .size = size };
	uint8_t rec[VFILE_HEADER];
	cr_assert_eq(vfile_encoded_size(&f), sizeof(rec));
	vfile_encode(&f, rec);
	cr_assert_eq(golite_table_create(db, "t"), 0);
	uint32_t id;
	cr_assert_eq(golite_table_id(db, "t", &id), 0);
	cr_assert_eq(golite_put_raw(db, id, GOLITE_KIND_META, "f", 1, rec, sizeof(rec)), 0);
	void *v;
	size_t vlen;
	cr_assert_eq(golite_get(db, "t", "f", 1, &v, &vlen), 0, "%s", golite_last_error());
	cr_assert_eq(vlen, size);
	cr_assert(memcmp(v, model, size) == 0);
	golite_free(v);
}

/* Records of FIFOs, sockets and devices (format version 2): they decode,
 * keep the device number, read as empty values, and a version 1 record
 * cannot claim their types. */
Test(chunks, special_files_read_as_empty_values)
{
	cr_assert_eq(golite_table_create(db, "t"), 0);
	uint32_t id;
	cr_assert_eq(golite_table_id(db, "t", &id), 0);
	static const unsigned types[] = { VFILE_FIFO, VFILE_SOCK, VFILE_CHR, VFILE_BLK };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint64_t rdev = vfile_device(types[i]) ? 0x10307 : 0;
		struct vfile f = { .type = types[i], .mode = vfile_mode_type(types[i]) | 0640,
				   .ino = 90 + i, .size = rdev };
		uint8_t rec[VFILE_HEADER];
		vfile_encode(&f, rec);
		cr_assert_eq(rec[0], VFILE_VERSION_SPECIAL);
		struct vfile d;
		cr_assert_eq(vfile_decode(rec, sizeof(rec), &d), 0);
		cr_assert_eq(d.type, types[i]);
		cr_assert_eq(d.size, rdev);
		cr_assert_eq(vfile_value_size(&d), 0);
		cr_assert_eq(vfile_type_of_mode(d.mode), types[i]);
		char key[8];
		snprintf(key, sizeof(key), "s%zu", i);
		cr_assert_eq(golite_put_raw(db, id, GOLITE_KIND_META, key, strlen(key), rec,
					    sizeof(rec)), 0);
		void *v;
		size_t vlen = 99;
		cr_assert_eq(golite_get(db, "t", key, strlen(key), &v, &vlen), 0, "%s",
			     golite_last_error());
		cr_assert_eq(vlen, 0, "a %s reads as %zu bytes", vfile_type_name(types[i]), vlen);
		golite_free(v);
		rec[0] = VFILE_VERSION;
		cr_assert_eq(vfile_decode(rec, sizeof(rec), &d), VFILE_ETYPE);
		rec[0] = 3;
		cr_assert_eq(vfile_decode(rec, sizeof(rec), &d), VFILE_EVERSION);
	}
	/* The old types are still written as version 1. */
	struct vfile f = { .type = VFILE_LNK, .mode = 0120777, .size = 1, .data = (const uint8_t *)"t",
			   .data_len = 1 };
	uint8_t rec[VFILE_HEADER + 1];
	vfile_encode(&f, rec);
	cr_assert_eq(rec[0], VFILE_VERSION);
}
