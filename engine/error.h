/*
 * error.h — the per-thread error message behind golite_last_error(), and
 * errno to golite error code mapping. Engine functions that fail return a
 * negative GOLITE_E* code and leave the details here.
 */
#ifndef GOLITE_ERROR_H
#define GOLITE_ERROR_H

#include <stdarg.h>

/*
 * Records a detailed message for golite_last_error() on this thread and
 * returns err, so callers can write: return set_error(GOLITE_EIO, "...").
 */
__attribute__((format(printf, 2, 3))) int set_error(int err, const char *fmt, ...);
/* Same, from a va_list. */
int set_error_v(int err, const char *fmt, va_list ap);
/* Clears the message (successful calls need not call it). */
void clear_error(void);
/* The current message of this thread. */
const char *last_error(void);

/* Maps an errno value from a failed system call to a golite error code. */
int errno_to_golite(int e);

#endif /* GOLITE_ERROR_H */
