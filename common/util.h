/*
 * util.h — small helpers shared by the engine, the daemon and the tools:
 * the out-of-memory policy, fatal errors, locks, the two clocks,
 * little-endian and varint coding, hashing.
 *
 * Out-of-memory policy: no module returns a half-done result because
 * malloc failed. xmalloc() and friends abort the process with a message.
 */
#ifndef GOLITE_UTIL_H
#define GOLITE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define CACHELINE 64

/* Aborts with file and line: for failures that cannot happen (a mutex that
 * cannot lock) and for running out of memory. */
#define FATAL(...) util_fatal(__FILE__, __LINE__, __VA_ARGS__)
__attribute__((noreturn, format(printf, 3, 4)))
void util_fatal(const char *file, int line, const char *fmt, ...);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
void *xmemdup(const void *p, size_t n);
__attribute__((format(printf, 1, 2))) char *xasprintf(const char *fmt, ...);

/* Locks that cannot fail in a correct program. */
#include <pthread.h>
void mutex_init(pthread_mutex_t *m);
/* A mutex that spins briefly before sleeping: for very short critical
 * sections taken by many threads (the log append). */
void mutex_init_adaptive(pthread_mutex_t *m);
void mutex_lock(pthread_mutex_t *m);
void mutex_unlock(pthread_mutex_t *m);
void rwlock_init(pthread_rwlock_t *l);
void rwlock_rdlock(pthread_rwlock_t *l);
void rwlock_wrlock(pthread_rwlock_t *l);
void rwlock_unlock(pthread_rwlock_t *l);
void cond_init(pthread_cond_t *c);  /* CLOCK_MONOTONIC */
void cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
/* Waits until the monotonic deadline (ns). Returns false on timeout. */
bool cond_wait_until(pthread_cond_t *c, pthread_mutex_t *m, uint64_t deadline_ns);
void cond_broadcast(pthread_cond_t *c);
void cond_signal(pthread_cond_t *c);

/* The CPUs this process may run on: its affinity mask (taskset, a
 * container's cpuset), else the CPUs online; at least 1. Servers start a
 * thread per CPU from it. */
unsigned usable_cpus(void);

/* True if path (absolute; it need not exist) lies in directory dir (an
 * absolute path without symlinks, as realpath gives): its deepest
 * existing ancestor, symlinks resolved, is dir or below it. */
bool path_inside(const char *path, const char *dir);

/* ---- clocks ----
 * now_ns: monotonic, for intervals, deadlines and latencies.
 * wall_ns: the calendar time, for timestamps that outlive the process.
 * wall_coarse_ns: the calendar time as the kernel stamps files with it
 * (current_time(): the coarse clock, one tick of resolution). */
static inline uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline int64_t wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static inline int64_t wall_coarse_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- little-endian fixed-width coding ---- */
static inline void put_le16(void *p, uint16_t v) { memcpy(p, &v, 2); }
static inline void put_le32(void *p, uint32_t v) { memcpy(p, &v, 4); }
static inline void put_le64(void *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint16_t get_le16(const void *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static inline uint32_t get_le32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t get_le64(const void *p) { uint64_t v; memcpy(&v, p, 8); return v; }
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "little-endian hosts only");

static inline void put_be32(void *p, uint32_t v) { v = __builtin_bswap32(v); memcpy(p, &v, 4); }
static inline void put_be64(void *p, uint64_t v) { v = __builtin_bswap64(v); memcpy(p, &v, 8); }
static inline uint32_t get_be32(const void *p) { uint32_t v; memcpy(&v, p, 4); return __builtin_bswap32(v); }
static inline uint64_t get_be64(const void *p) { uint64_t v; memcpy(&v, p, 8); return __builtin_bswap64(v); }

/* ---- varints (LEB128, as LevelDB's) ---- */
#define VARINT32_MAX 5
#define VARINT64_MAX 10

static inline size_t varint_len(uint64_t v)
{
	size_t n = 1;
	while (v >= 128) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 128) {
		*p++ = (uint8_t)(v | 128);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/* Decodes a varint from [p, end). Returns the byte after it, or NULL if the
 * input is truncated or longer than max_bytes. */
static inline const uint8_t *get_varint(const uint8_t *p, const uint8_t *end,
					uint64_t *v, int max_bytes)
{
	uint64_t r = 0;
	for (int shift = 0, i = 0; p < end && i < max_bytes; shift += 7, i++) {
		uint64_t b = *p++;
		r |= (b & 127) << shift;
		if (b < 128) {
			*v = r;
			return p;
		}
	}
	return NULL;
}

static inline const uint8_t *get_varint32(const uint8_t *p, const uint8_t *end, uint32_t *v)
{
	uint64_t x;
	p = get_varint(p, end, &x, VARINT32_MAX);
	if (!p || x > UINT32_MAX)
		return NULL;
	*v = (uint32_t)x;
	return p;
}

/* ---- hashing (xxHash, inlined) ---- */
uint64_t hash64(const void *p, size_t n);

#endif /* GOLITE_UTIL_H */
