/*
 * netglue.h — golitefs's HTTP server (net/http.h) beside the mount
 * (netglue.c): its options, start and stop.
 */
#ifndef GOLITEFS_NETGLUE_H
#define GOLITEFS_NETGLUE_H

#include "fs.h"

/* Takes the http* options of the command line ("name=value" strings, kept
 * until netglue_stop) and checks them. Returns 0, or -1 after printing
 * what is wrong. */
int netglue_configure(char *const *opts, int n, bool read_only);
/* True if an http= option was given. */
bool netglue_wanted(void);
/* Starts the server on fs's store (the session is mounted, fs->se set).
 * Returns 0, or -1 after printing why. */
int netglue_start(struct gfs *fs);
/* Stops it: no HTTP request runs after it returns. Called before the
 * session is destroyed. */
void netglue_stop(struct gfs *fs);

#endif /* GOLITEFS_NETGLUE_H */
