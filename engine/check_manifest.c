/*
 * check_manifest.c — checking a MANIFEST without opening the store: it is
 * read with the manifest's own reader in its reporting mode
 * (manifest_scan, manifest.c invariant 3), so that what the manifest still
 * says is kept (repair rebuilds from it) and every damaged or malformed
 * edit becomes a finding with its offset.
 */
#include "check_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "manifest.h"
#include "util.h"

struct mreport {
	struct run *r;
	const char *path;
};

static void report_edit(void *ctx, uint64_t off, const char *why)
{
	struct mreport *mr = ctx;
	ck_found(mr->r, GOLITE_FINDING_PROBLEM, mr->path, off, "%s", why);
}

/* Reads a manifest image with the manifest's reader, reporting every
 * damaged edit and keeping the others. */
void ck_mscan_run(struct run *r, const char *path, const uint8_t *d, size_t n,
		  struct manifest_scan *ms)
{
	struct mreport mr = { r, path };
	struct manifest_reporter rep = { report_edit, &mr };
	manifest_scan(path, d, n, &rep, ms);
}

static void scan_manifest_file(struct run *r, const char *path, const uint8_t *d, size_t n)
{
	struct manifest_scan ms;
	ck_mscan_run(r, path, d, n, &ms);
	r->st->manifest_edits = ms.edits;
	manifest_scan_free(&ms);
}

int check_manifest_file(const char *path, const golite_check_options *o, golite_check_stats *st)
{
	return ck_check_one_file(path, o, st, scan_manifest_file);
}
