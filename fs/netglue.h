/*
 * netglue.h — golitefs's network servers beside the mount, HTTP
 * (net/http.h) and the Redis protocol (net/resp.h) (netglue.c): their
 * options, start and stop.
 */
#ifndef GOLITEFS_NETGLUE_H
#define GOLITEFS_NETGLUE_H

#include "fs.h"

/* Takes the http* and redis* options of the command line ("name=value" strings, kept
 * until netglue_stop) and checks them. Returns 0, or -1 after printing
 * what is wrong. */
int netglue_configure(char *const *opts, int n, bool read_only);
/* True if an http= or redis= option was given. */
bool netglue_wanted(void);
/* The feed size http_events_buffer= asked for; 0 if not given. */
unsigned netglue_events_buffer(void);
/* Starts the server on fs's store (the session is mounted, fs->se set).
 * Returns 0, or -1 after printing why. */
int netglue_start(struct gfs *fs);
/* Stops it: no HTTP request runs after it returns. Called before the
 * session is destroyed. */
void netglue_stop(struct gfs *fs);

#endif /* GOLITEFS_NETGLUE_H */
