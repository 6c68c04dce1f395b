/*
 * Fuzzes reading separated values (engine/vlog.h): the first 28 bytes of
 * the input are decoded as a value pointer, the rest is the value file it
 * points into. Decoding refuses what is not a pointer; reading follows the
 * fragment layout of log records and checks the checksum; neither may
 * crash or read out of bounds, whatever the pointer and the file say.
 */
#include <stdlib.h>
#include <urcu.h>

#include "fuzz_util.h"
#include "vlog.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	rcu_register_thread();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < VPTR_SIZE)
		return 0;
	struct vptr p;
	if (vptr_decode(data, VPTR_SIZE, &p))
		return 0;
	uint8_t again[VPTR_SIZE];
	vptr_encode(again, &p);
	if (memcmp(again, data, VPTR_SIZE))
		abort();   /* decode and encode disagree */
	fuzz_file("00000001.val", data + VPTR_SIZE, size - VPTR_SIZE);
	/* Any pointer, read against this file (large lengths are refused by
	 * the reader's bounds before anything that big is read). */
	p.file = 1;
	if (p.len > (4u << 20))
		p.len = 4u << 20;
	uint8_t *buf = malloc(p.len);
	struct vlog_files *f = vlog_files_new(fuzz_dir());
	vlog_files_read(f, &p, buf);
	vlog_files_free(f);
	free(buf);
	return 0;
}
