/*
 * Fuzzes the SSTable reader: open any bytes as a table, and if that works,
 * iterate everything, look keys up, verify and dump, through both read
 * paths (mmap and pread + cache). Nothing may crash or read out of bounds.
 */
#include <stdio.h>
#include <urcu.h>

#include "cache.h"
#include "format.h"
#include "fuzz_util.h"
#include "sstable.h"
#include "util.h"

static struct block_cache *cache;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rcu_register_thread();
	cache = block_cache_new(1 << 20);
	return 0;
}

static void exercise(const char *path, unsigned flags)
{
	struct sst_reader *r;
	if (sst_open_flags(path, 1, cache, flags, &r))
		return;
	struct sst_iter *it = sst_iter_new(r);
	int n = 0;
	for (sst_iter_seek_first(it); sst_iter_valid(it) && n < 100000; sst_iter_next(it), n++) {
		size_t kl, vl;
		const uint8_t *k = sst_iter_key(it, &kl);
		sst_iter_value(it, &vl);
		if (kl > TRAILER_SIZE) {
			struct sst_get_result res;
			rcu_read_lock();
			sst_get(r, k, kl - TRAILER_SIZE, hash64(k, kl - TRAILER_SIZE), SEQ_MAX, &res);
			rcu_read_unlock();
		}
	}
	sst_iter_seek(it, "\0\0\0\x10key", 7);
	sst_iter_free(it);
	sst_unref(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("00000001.sst", data, size);
	exercise(path, 0);
	exercise(path, SST_OPEN_PREAD);
	uint64_t entries;
	sst_verify(path, &entries);
	FILE *null = fopen("/dev/null", "w");
	sst_dump(path, null, true);
	fclose(null);
	/* Readers are freed after a grace period; let them go now and then. */
	static unsigned runs;
	if (++runs % 256 == 0)
		rcu_barrier();
	return 0;
}
