/*
 * Fuzzes the log reader: any bytes as a log segment must be replayed,
 * verified and dumped without crashing, and every payload handed to the
 * store must parse or be refused as damaged.
 */
#include <stdio.h>

#include "batch.h"
#include "fuzz_util.h"
#include "golite.h"
#include "golite_tools.h"
#include "wal.h"

static int apply(void *ctx, const uint8_t *p, size_t len, const char *path, uint64_t off)
{
	(void)ctx;
	(void)path;
	(void)off;
	uint32_t count;
	uint64_t first;
	rep_iterate(p, len, NULL, NULL, &count, &first);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_file("00000001.wal", data, size);
	struct wal_replay_info info;
	/* read_only: never truncate the input while fuzzing. */
	wal_replay(fuzz_dir(), 0, true, apply, NULL, NULL, NULL, &info);
	char path[256];
	snprintf(path, sizeof(path), "%s/00000001.wal", fuzz_dir());
	uint64_t records;
	wal_verify_file(path, &records);
	FILE *null = fopen("/dev/null", "w");
	golite_dump_file(path, null, 0, NULL);
	fclose(null);
	return 0;
}
