/* Fuzzes the manifest reader: any bytes must be read or refused cleanly. */
#include <stdio.h>

#include "fuzz_util.h"
#include "manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_file("MANIFEST", data, size);
	struct manifest m;
	if (manifest_read_file(path, &m) == 0) {
		FILE *null = fopen("/dev/null", "w");
		manifest_print(&m, null);
		fclose(null);
		manifest_free(&m);
	}
	return 0;
}
