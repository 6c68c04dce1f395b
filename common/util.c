/*
 * util.c — fatal errors, allocation, locks and hashing. See util.h.
 */
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>


void util_fatal(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "golite: fatal: %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		FATAL("out of memory allocating %zu bytes", n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		FATAL("out of memory allocating %zu x %zu bytes", n, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		FATAL("out of memory reallocating %zu bytes", n);
	return p;
}

char *xstrdup(const char *s)
{
	return xmemdup(s, strlen(s) + 1);
}

void *xmemdup(const void *p, size_t n)
{
	void *q = xmalloc(n);
	if (n)
		memcpy(q, p, n);
	return q;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		FATAL("out of memory formatting a string");
	va_end(ap);
	return s;
}

void mutex_init(pthread_mutex_t *m)
{
	if (pthread_mutex_init(m, NULL))
		FATAL("pthread_mutex_init");
}

void mutex_init_adaptive(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	if (pthread_mutexattr_init(&a) || pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP) ||
	    pthread_mutex_init(m, &a))
		FATAL("pthread_mutex_init");
	pthread_mutexattr_destroy(&a);
}

void mutex_lock(pthread_mutex_t *m)
{
	int e = pthread_mutex_lock(m);
	if (e)
		FATAL("pthread_mutex_lock: %s", strerror(e));
}

void mutex_unlock(pthread_mutex_t *m)
{
	int e = pthread_mutex_unlock(m);
	if (e)
		FATAL("pthread_mutex_unlock: %s", strerror(e));
}

void rwlock_init(pthread_rwlock_t *l)
{
	int e = pthread_rwlock_init(l, NULL);
	if (e)
		FATAL("pthread_rwlock_init: %s", strerror(e));
}

void rwlock_rdlock(pthread_rwlock_t *l)
{
	int e = pthread_rwlock_rdlock(l);
	if (e)
		FATAL("pthread_rwlock_rdlock: %s", strerror(e));
}

void rwlock_wrlock(pthread_rwlock_t *l)
{
	int e = pthread_rwlock_wrlock(l);
	if (e)
		FATAL("pthread_rwlock_wrlock: %s", strerror(e));
}

void rwlock_unlock(pthread_rwlock_t *l)
{
	int e = pthread_rwlock_unlock(l);
	if (e)
		FATAL("pthread_rwlock_unlock: %s", strerror(e));
}

void cond_init(pthread_cond_t *c)
{
	pthread_condattr_t a;
	if (pthread_condattr_init(&a) || pthread_condattr_setclock(&a, CLOCK_MONOTONIC) ||
	    pthread_cond_init(c, &a))
		FATAL("pthread_cond_init");
	pthread_condattr_destroy(&a);
}

void cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	int e = pthread_cond_wait(c, m);
	if (e)
		FATAL("pthread_cond_wait: %s", strerror(e));
}

bool cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000ull),
		.tv_nsec = (long)(deadline_ns % 1000000000ull),
	};
	int e = pthread_cond_timedwait(c, m, &ts);
	if (e == ETIMEDOUT)
		return false;
	if (e)
		FATAL("pthread_cond_timedwait: %s", strerror(e));
	return true;
}

void cond_broadcast(pthread_cond_t *c)
{
	if (pthread_cond_broadcast(c))
		FATAL("pthread_cond_broadcast");
}

void cond_signal(pthread_cond_t *c)
{
	if (pthread_cond_signal(c))
		FATAL("pthread_cond_signal");
}

bool path_inside(const char *path, const char *dir)
{
	char *p = xstrdup(path);
	char *real = NULL;
	while (!real) {
		char *slash = strrchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		real = realpath(*p ? p : "/", NULL);
	}
	size_t dl = strlen(dir);
	bool in = real && strncmp(real, dir, dl) == 0 && (real[dl] == '\0' || real[dl] == '/');
	free(real);
	free(p);
	return in;
}

unsigned usable_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

uint64_t hash64(const void *p, size_t n)
{
	return XXH3_64bits(p, n);
}
