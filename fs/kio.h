/*
 * kio.h — the daemon's reads and writes of /dev/fuse (libfuse custom I/O),
 * to take over set-user-ID clearing from the kernel (FUSE_HANDLE_KILLPRIV_V2),
 * which libfuse 3.14 cannot negotiate itself. See kio.c.
 */
#ifndef GOLITEFS_KIO_H
#define GOLITEFS_KIO_H

#include <stdbool.h>

struct fuse_session;

/* Puts the session's /dev/fuse traffic through kio (after mounting).
 * Returns 0, or -1 if libfuse refused (the kernel then keeps probing
 * security.capability before each write; everything else works). */
int kio_attach(struct fuse_session *se);

/* True once the kernel accepted FUSE_HANDLE_KILLPRIV_V2. */
bool kio_killpriv_v2(void);

/* For the request this thread is handling: the kernel asks to clear the
 * set-user-ID and set-group-ID bits (a write, truncate, chown or
 * open(O_TRUNC) by a caller without CAP_FSETID). */
bool kio_kill_suidgid(void);

#endif /* GOLITEFS_KIO_H */
