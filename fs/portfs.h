/*
 * portfs.h — golitefs -o store=URI: the mount on the store port
 * (portfs.c; record layout in portfs_format.h).
 */
#ifndef GOLITEFS_PORTFS_H
#define GOLITEFS_PORTFS_H

#include <stdbool.h>

struct fuse_args;

/* Mounts the store uri names at mountpoint and serves it until unmounted;
 * timeout: the kernel's attribute and name cache time, in seconds; args:
 * libfuse's options. Returns the exit status. */
int portfs_main(const char *uri, const char *mountpoint, double timeout, bool foreground,
		struct fuse_args *args);

#endif
