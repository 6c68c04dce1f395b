/*
 * error.c — the per-thread message behind golite_last_error(), and the
 * mapping from errno to golite error codes. See error.h.
 */
#include "error.h"

#include <errno.h>
#include <stdio.h>

#include "golite.h"
#include "golite_raw.h"
#include "util.h"

static __thread char error_msg[512];

int set_error_v(int err, const char *fmt, va_list ap)
{
	vsnprintf(error_msg, sizeof(error_msg), fmt, ap);
	return err;
}

int set_error(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error_v(err, fmt, ap);
	va_end(ap);
	return err;
}

int golite_error_set(int err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	set_error_v(err, fmt, ap);
	va_end(ap);
	return err;
}

void clear_error(void)
{
	error_msg[0] = '\0';
}

const char *last_error(void)
{
	return error_msg;
}

int errno_to_golite(int e)
{
	switch (e) {
	case ENOSPC:
	case EDQUOT:
	case EFBIG:
		return GOLITE_ENOSPC;
	case EROFS:
		return GOLITE_EROFS;
	case ENOENT:
		return GOLITE_ENOTFOUND;
	case EEXIST:
		return GOLITE_EEXIST;
	case EWOULDBLOCK:
		return GOLITE_ELOCKED;
	case ENOMEM:
		FATAL("out of memory in a system call");
	default:
		return GOLITE_EIO;
	}
}
