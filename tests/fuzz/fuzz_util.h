/*
 * fuzz_util.h — helpers shared by the fuzz targets: write the input to a
 * file on tmpfs so that the readers under test see it as they see a store.
 */
#ifndef GOLITE_FUZZ_UTIL_H
#define GOLITE_FUZZ_UTIL_H

#include <fcntl.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A directory of this process, created once. */
static inline const char *fuzz_dir(void)
{
	static char dir[64];
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/dev/shm/golite-fuzz-%d", (int)getpid());
		mkdir(dir, 0700);
	}
	return dir;
}

/* Writes data to dir/name (replacing it) and returns the path. */
static inline const char *fuzz_file(const char *name, const uint8_t *data, size_t size)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/%s", fuzz_dir(), name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	return path;
}

#endif
