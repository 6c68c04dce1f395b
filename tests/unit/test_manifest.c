/*
 * Tests of MANIFEST (manifest.c): a round trip, and the reader's two modes
 * on a damaged file: manifest_read stops at the damage, manifest_scan with
 * a reporter reports it and keeps what the other edits say.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "filename.h"
#include "format.h"
#include "io.h"
#include "manifest.h"
#include "manifest_format.h"
#include "util.h"

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/golite-manifest-XXXXXX");
	cr_assert(mkdtemp(dir));
}

static void teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_expect_eq(system(cmd), 0);
}

TestSuite(manifest, .init = setup, .fini = teardown);

/* An skey of table 16: key, sequence seq, a value. malloc()ed. */
static uint8_t *skey(const char *key, uint64_t seq, size_t *len)
{
	uint8_t *k = xmalloc(IKEY_PREFIX + strlen(key) + TRAILER_SIZE);
	size_t n = ikey_make(k, 16, key, strlen(key));
	put_le64(k + n, trailer_pack(seq, KIND_VALUE));
	*len = n + TRAILER_SIZE;
	return k;
}

/* A manifest of three level-1 tables, written to dir. */
static void write_three(void)
{
	struct manifest m = { .log_number = 9, .next_file_no = 12, .last_seq = 300 };
	m.nfiles = 3;
	m.files = xcalloc(3, sizeof(*m.files));
	static const char *const lo[] = { "a", "h", "p" }, *const hi[] = { "g", "o", "z" };
	for (size_t i = 0; i < 3; i++) {
		struct manifest_file *f = &m.files[i];
		f->level = 1;
		f->meta.file_no = 5 + i;
		f->meta.entries = 10;
		f->meta.min_seq = 1;
		f->meta.max_seq = 100 * (i + 1);
		f->meta.smallest = skey(lo[i], 1, &f->meta.smallest_len);
		f->meta.largest = skey(hi[i], 1, &f->meta.largest_len);
	}
	cr_assert_eq(manifest_write(dir, &m), 0);
	manifest_free(&m);
}

Test(manifest, round_trip)
{
	write_three();
	struct manifest m;
	cr_assert_eq(manifest_read(dir, &m), 0);
	cr_assert_eq(m.log_number, 9);
	cr_assert_eq(m.next_file_no, 12);
	cr_assert_eq(m.last_seq, 300);
	cr_assert_eq(m.nfiles, 3);
	cr_assert_eq(m.files[2].meta.file_no, 7);
	manifest_free(&m);
}

struct seen {
	uint64_t off[8];
	size_t n;
};

static void corruption(void *ctx, uint64_t off, const char *why)
{
	struct seen *s = ctx;
	cr_assert(why && *why);
	cr_assert_lt(s->n, 8);
	s->off[s->n++] = off;
}

Test(manifest, damaged_edit_stops_the_read_and_is_reported_by_the_scan)
{
	write_three();
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, MANIFEST_FILE);
	uint8_t *d;
	size_t n;
	cr_assert_eq(io_read_file(path, 1 << 20, &d, &n), 0);
	struct manifest_scan clean;
	cr_assert_eq(manifest_scan(path, d, n, NULL, &clean), 0);
	cr_assert(clean.clean);
	cr_assert_eq(clean.m.nfiles, 3);
	uint64_t second = clean.file_off[1];
	manifest_scan_free(&clean);

	d[second + MANIFEST_EDIT_HEADER + 3] ^= 0x40;   /* the second table's edit */
	struct manifest_scan strict;
	cr_assert_eq(manifest_scan(path, d, n, NULL, &strict), GOLITE_ECORRUPT);
	char want[32];
	snprintf(want, sizeof(want), "offset %llu", (unsigned long long)second);
	cr_assert(strstr(golite_last_error(), want), "message: %s", golite_last_error());
	manifest_scan_free(&strict);

	struct seen s = { 0 };
	struct manifest_reporter rep = { corruption, &s };
	struct manifest_scan ms;
	cr_assert_eq(manifest_scan(path, d, n, &rep, &ms), 0);
	cr_assert_not(ms.clean);
	cr_assert_eq(s.n, 1, "one damaged edit");
	cr_assert_eq(s.off[0], second);
	cr_assert_eq(ms.m.nfiles, 2, "the other tables are kept");
	cr_assert_eq(ms.m.files[1].meta.file_no, 7);
	cr_assert(ms.have_log && ms.have_next && ms.have_last);
	manifest_scan_free(&ms);
	free(d);
}
