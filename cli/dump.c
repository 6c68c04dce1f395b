/*
 * dump.c — golite dump FILE: a log segment, a table or a MANIFEST in
 * human-readable form. The kind of file is told by its magic number.
 *
 * A log segment is walked with check_wal_walk(), so a damaged segment is
 * dumped too: every readable record, and each damaged range by offset.
 * Each record's batch (batch.h) is decoded:
 *
 *     @32  seq 17  2 ops
 *       put    t16 "key" = "value"
 *       delete t16 "other"
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "catalog.h"
#include "check.h"
#include "cli.h"
#include "filename.h"
#include "format.h"
#include "io.h"
#include "manifest.h"
#include "sstable.h"
#include "vfile.h"

#define MAX_FILE (UINT64_C(4) << 30)

static bool hex;

/* A value or key: "quoted and escaped", or hex digits with --hex. */
static void put_bytes(const uint8_t *p, size_t n)
{
	if (hex) {
		for (size_t i = 0; i < n; i++)
			printf("%02x", p[i]);
		return;
	}
	putchar('"');
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '"' || p[i] == '\\')
			printf("\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
	putchar('"');
}

static void put_file_record(const uint8_t *v, size_t n)
{
	struct vfile f;
	if (vfile_decode(v, n, &f)) {
		fputs("(file record that does not decode) ", stdout);
		put_bytes(v, n);
		return;
	}
	static const char *const types[] = { "?", "file", "dir", "link" };
	printf("%s ino %" PRIu64 " mode %o uid %u gid %u size %" PRIu64 " mtime %" PRId64
	       " xattrs %zu%s",
	       types[f.type <= VFILE_LNK ? f.type : 0], f.ino, f.mode, f.uid, f.gid, f.size,
	       f.mtime_ns, f.nxattr, f.flags & VFILE_F_CHUNKED ? " chunked" : "");
	if (f.data_len) {
		fputs(" data ", stdout);
		put_bytes(f.data, f.data_len);
	}
}

static int dump_op(void *ctx, uint64_t seq, unsigned kind, const uint8_t *ikey, size_t iklen,
		   const uint8_t *value, size_t vlen)
{
	(void)ctx;
	static const char *const kinds[] = { "delete", "put", "meta" };
	uint32_t id = ikey_table(ikey);
	printf("  %-6s @%" PRIu64 " t%u ", kinds[kind <= KIND_MAX ? kind : 0], seq, id);
	put_bytes(ikey + IKEY_PREFIX, iklen - IKEY_PREFIX);
	if (kind == KIND_DELETE) {
		putchar('\n');
		return 0;
	}
	fputs(" = ", stdout);
	if (kind == KIND_META)
		put_file_record(value, vlen);
	else
		put_bytes(value, vlen);
	if (id == TABLE_ID_CATALOG && vlen == 4 && iklen > IKEY_PREFIX)
		printf("  (catalog: %s %u)",
		       ikey[IKEY_PREFIX] == CATALOG_KEY_NEXT ? "next table id" : "table id",
		       get_le32(value));
	putchar('\n');
	return 0;
}

struct wal_dump {
	uint64_t damaged;
};

static void dump_record(void *ctx, uint64_t off, const uint8_t *p, size_t len)
{
	(void)ctx;
	uint32_t count;
	uint64_t seq;
	if (rep_iterate(p, len, NULL, NULL, &count, &seq)) {
		printf("@%" PRIu64 "  malformed batch, %zu bytes\n", off, len);
		return;
	}
	printf("@%" PRIu64 "  seq %" PRIu64 "  %u op%s, %zu bytes\n", off, seq, count,
	       count == 1 ? "" : "s", len);
	rep_iterate(p, len, dump_op, NULL, NULL, NULL);
}

static void dump_damage(void *ctx, uint64_t off, uint64_t end, const char *what)
{
	struct wal_dump *d = ctx;
	d->damaged++;
	printf("@%" PRIu64 "  DAMAGED: %" PRIu64 " bytes: %s\n", off, end - off, what);
}

static int dump_wal(const char *path, const uint8_t *d, size_t n)
{
	struct wal_dump wd = { 0 };
	struct check_wal_ops ops = { dump_record, dump_damage };
	struct check_wal_info info;
	printf("log segment %s, %zu bytes\n", path, n);
	check_wal_walk(d, n, &ops, &wd, &info);
	if (info.header_ok)
		printf("header: format version %u, segment %" PRIu64 "\n", info.version, info.segno);
	else if (info.empty)
		printf("empty segment (no header)\n");
	printf("%" PRIu64 " records, %" PRIu64 " payload bytes, %" PRIu64 " damaged ranges\n",
	       info.records, info.bytes, info.damaged);
	return info.damaged ? EXIT_ERROR : 0;
}

int cmd_dump(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "hex", no_argument, NULL, 'x' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, status = -1;
	while ((c = cli_getopt(argc, argv, "xh", longs, &status)) != -1)
		if (c == 'x')
			hex = true;
	if (status >= 0)
		return status;
	if (!cli_operands(argc, 1, 1))
		return EXIT_ERROR;
	const char *path = argv[optind];
	uint8_t *d;
	size_t n;
	int r = io_read_file(path, MAX_FILE, &d, &n);
	if (r < 0) {
		cli_error("cannot read %s: %s", path, strerror(-r));
		return EXIT_ERROR;
	}
	int st = 0;
	/* By magic number; a file without one is dumped only if its name says
	 * it is a log segment (a segment cut short before its header). */
	enum file_kind kind = file_kind_of(NULL, d, n, d, n);
	if (kind == FILE_UNKNOWN && file_kind_of(path, NULL, 0, NULL, 0) == FILE_WAL)
		kind = FILE_WAL;
	if (kind == FILE_WAL) {
		st = dump_wal(path, d, n);
	} else if (kind == FILE_MANIFEST) {
		struct manifest m;
		r = manifest_read_file(path, &m);
		if (r) {
			cli_fail(path, r);
			st = EXIT_ERROR;
		} else {
			printf("manifest %s, %zu bytes\n", path, n);
			manifest_print(&m, stdout);
			manifest_free(&m);
		}
	} else if (kind == FILE_TABLE) {
		r = sst_dump(path, stdout, hex);
		if (r) {
			fflush(stdout);
			cli_fail(path, r);
			st = EXIT_ERROR;
		}
	} else {
		cli_error("%s is not a log segment, table or MANIFEST (no magic number)", path);
		st = EXIT_ERROR;
	}
	free(d);
	return st;
}
