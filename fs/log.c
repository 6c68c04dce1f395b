/*
 * log.c — the daemon's log (stderr in the foreground, syslog once
 * daemonized) and the mapping of engine errors to errno values.
 *
 * Answers that are part of normal use (a name that does not exist, a
 * directory that is not empty) are not logged. Failures are logged with
 * the engine's detailed message (golite_last_error()); ENOSPC, which
 * repeats for every write while the disk is full, at most once a second.
 */
#include "fs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "util.h"

static bool use_syslog;
static enum gfs_loglevel max_level = LOG_LVL_WARN;

void gfs_log_setup(bool foreground, enum gfs_loglevel level)
{
	(void)foreground;
	max_level = level;
	openlog("golitefs", LOG_PID, LOG_DAEMON);
}

void gfs_log_daemonized(void)
{
	use_syslog = true;
}

enum gfs_loglevel gfs_log_level(void)
{
	return max_level;
}

void gfs_log(enum gfs_loglevel lvl, const char *fmt, ...)
{
	if (lvl > max_level)
		return;
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	static const char *const names[] = { "error", "warning", "info", "debug" };
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	if (use_syslog)
		syslog(prio[lvl], "%s: %s", names[lvl], msg);
	else
		fprintf(stderr, "golitefs: %s: %s\n", names[lvl], msg);
}

void gfs_engine_log(void *ctx, enum golite_log_level lvl, const char *msg)
{
	(void)ctx;
	enum gfs_loglevel l = lvl == GOLITE_LOG_ERROR ? LOG_LVL_ERROR
			      : lvl == GOLITE_LOG_WARN ? LOG_LVL_WARN
			      : lvl == GOLITE_LOG_INFO ? LOG_LVL_INFO : LOG_LVL_DEBUG;
	gfs_log(l, "engine: %s", msg);
}

int gfs_errno(int err, const char *what)
{
	int e;
	bool quiet = false;
	switch (err) {
	case GOLITE_OK: return 0;
	case GOLITE_ENOTFOUND: e = ENOENT; quiet = true; break;
	case GOLITE_ENOTABLE: e = ENOENT; quiet = true; break;
	case GOLITE_EEXIST: e = EEXIST; quiet = true; break;
	case GOLITE_ENOTEMPTY: e = ENOTEMPTY; quiet = true; break;
	case GOLITE_EISDIR: e = EISDIR; quiet = true; break;
	case GOLITE_ERANGE: e = ERANGE; quiet = true; break;
	case GOLITE_EKEYSIZE: e = ENAMETOOLONG; break;
	case GOLITE_ENAME: e = EINVAL; break;
	case GOLITE_EINVAL: e = EINVAL; break;
	case GOLITE_EVALSIZE: e = EFBIG; break;
	case GOLITE_EBATCH: e = EFBIG; break;
	case GOLITE_ENOSPC: e = ENOSPC; break;
	case GOLITE_EROFS: e = EROFS; break;
	case GOLITE_EBUSY: e = EBUSY; break;
	case GOLITE_ELOCKED: e = EBUSY; break;
	case GOLITE_EIO:
	case GOLITE_ECORRUPT:
	case GOLITE_EFAILED:
	case GOLITE_ECLOSED:
	case GOLITE_EVERSION:
	default: e = EIO; break;
	}
	if (!quiet) {
		if (e == ENOSPC) {
			static _Atomic int64_t last;
			int64_t now = (int64_t)now_ns();
			int64_t prev = atomic_load(&last);
			if (now - prev > 1000000000 && atomic_compare_exchange_strong(&last, &prev, now))
				gfs_log(LOG_LVL_WARN, "%s: %s (%s)", what, golite_strerror(err),
					golite_last_error());
		} else {
			gfs_log(e == EIO ? LOG_LVL_ERROR : LOG_LVL_WARN, "%s: %s (%s)", what,
				golite_strerror(err), golite_last_error());
		}
	}
	return e;
}
