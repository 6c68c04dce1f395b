/*
 * bench_alloc.c — counts heap allocations of the whole benchmark process.
 *
 * The executable defines malloc, calloc, realloc, reallocarray, free,
 * posix_memalign, aligned_alloc, memalign, valloc and pvalloc, so that every
 * call to them — from GoLite linked in statically, from the shared libraries
 * of LevelDB, RocksDB, LMDB and SQLite, and from libstdc++'s operator new —
 * resolves here first (ELF symbol interposition). Each forwards to glibc's
 * allocator through its __libc_* entry points, so the memory behaviour is
 * glibc's, unchanged.
 *
 * Invariants:
 *   1. Nothing is counted unless bench_alloc_counting is set; the runner sets
 *      it only around a timed region, so set-up, loading and reporting do not
 *      count. Every thread of the process counts, background threads of the
 *      systems included: their allocations are part of the cost of the
 *      workload.
 *   2. Counting never allocates and never takes a lock: each thread adds to
 *      one of 64 cache-line-sized stripes (chosen once per thread), with
 *      relaxed atomic adds. Totals are exact once the counted threads have
 *      stopped or passed a barrier.
 *   3. An allocation is one successful-or-not call of an allocating function
 *      (realloc counts as one allocation of its new size; realloc to 0 and
 *      free count nothing). Bytes are the bytes asked for.
 *   4. Under AddressSanitizer or ThreadSanitizer, whose runtimes replace the
 *      allocator themselves, nothing is interposed and every count is 0.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bench.h"

atomic_int bench_alloc_counting;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)

void bench_alloc_totals(uint64_t *count_out, uint64_t *bytes_out)
{
	*count_out = 0;
	*bytes_out = 0;
}

#else /* the interposed allocator */

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
extern void *__libc_memalign(size_t align, size_t n);
extern void *__libc_valloc(size_t n);
extern void *__libc_pvalloc(size_t n);

#define STRIPES 64

struct stripe {
	atomic_uint_fast64_t count;
	atomic_uint_fast64_t bytes;
} __attribute__((aligned(64)));

static struct stripe stripes[STRIPES];
static atomic_uint next_stripe;
static __thread unsigned my_stripe;   /* 0: not chosen yet, else index + 1 */

static inline void count(size_t n)
{
	if (__builtin_expect(!atomic_load_explicit(&bench_alloc_counting,
						   memory_order_relaxed), 1))
		return;
	if (my_stripe == 0)
		my_stripe = atomic_fetch_add_explicit(&next_stripe, 1,
						      memory_order_relaxed) % STRIPES + 1;
	struct stripe *s = &stripes[my_stripe - 1];
	atomic_fetch_add_explicit(&s->count, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&s->bytes, n, memory_order_relaxed);
}

/* Totals since the process started (or forked). Callers take differences. */
void bench_alloc_totals(uint64_t *count_out, uint64_t *bytes_out)
{
	uint64_t c = 0, b = 0;
	for (int i = 0; i < STRIPES; i++) {
		c += atomic_load_explicit(&stripes[i].count, memory_order_relaxed);
		b += atomic_load_explicit(&stripes[i].bytes, memory_order_relaxed);
	}
	*count_out = c;
	*bytes_out = b;
}

/*
 * The definitions below replace the C library's own, whose prototypes
 * <stdlib.h> and <malloc.h> would declare with attributes (malloc,
 * alloc_size, nothrow) that a definition here cannot repeat exactly; so
 * neither header is included and -Wmissing-prototypes, which asks for a
 * previous declaration of every global function, is off for them.
 */
#pragma GCC diagnostic ignored "-Wmissing-prototypes"

void *malloc(size_t n)
{
	count(n);
	return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total))
		total = SIZE_MAX;
	count(total);
	return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
	if (n != 0 || p == NULL)
		count(n);
	return __libc_realloc(p, n);
}

void *reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, total);
}

void free(void *p)
{
	__libc_free(p);
}

void *memalign(size_t align, size_t n)
{
	count(n);
	return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	count(n);
	return __libc_memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)) != 0)
		return EINVAL;
	count(n);
	void *p = __libc_memalign(align, n);
	if (p == NULL)
		return ENOMEM;
	*out = p;
	return 0;
}

void *valloc(size_t n)
{
	count(n);
	return __libc_valloc(n);
}

void *pvalloc(size_t n)
{
	count(n);
	return __libc_pvalloc(n);
}

#endif /* the interposed allocator */
