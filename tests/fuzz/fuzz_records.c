/*
 * Fuzzes the in-memory decoders of stored records: log payloads (batches)
 * and the mount's file records.
 */
#include "batch.h"
#include "vfile.h"

static int count_entry(void *ctx, uint64_t seq, unsigned kind, const uint8_t *ikey,
		       size_t iklen, const uint8_t *value, size_t vlen)
{
	(void)seq;
	(void)kind;
	/* Touch every byte handed out: ASan catches reads past the input. */
	unsigned *sum = ctx;
	for (size_t i = 0; i < iklen; i++)
		*sum += ikey[i];
	for (size_t i = 0; i < vlen; i++)
		*sum += value[i];
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned sum = 0;
	rep_iterate(data, size, count_entry, &sum, NULL, NULL);
	struct vfile f;
	if (vfile_decode(data, size, &f) == 0) {
		size_t pos = 0;
		struct vfile_xattr x;
		while (vfile_xattr_next(&f, &pos, &x))
			for (size_t i = 0; i < x.value_len; i++)
				sum += x.value[i];
		for (size_t i = 0; i < f.data_len; i++)
			sum += f.data[i];
	}
	return (int)(sum & 0);
}
