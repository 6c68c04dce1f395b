/*
 * testutil.h — what the store's test suites share: seeds and a small
 * random generator, temporary directories, deterministic value bytes, and
 * the model (a plain sorted map of (table, key) -> value) with a checker
 * that compares a store against it key by key.
 *
 * Nothing here uses the engine's internals: the model and the checker go
 * through the public API only, so that they judge the engine rather than
 * repeat it.
 */
#ifndef GOLITE_TESTUTIL_H
#define GOLITE_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "golite.h"

/* ---- seeds and random numbers ---- */

/*
 * The seed of a random test: GOLITE_TEST_SEED from the environment if set
 * (decimal or 0x hex), else dflt. Printed with the test's name so that a
 * failure can be replayed.
 */
uint64_t tu_seed(const char *test, uint64_t dflt);

struct tu_rng {
	uint64_t s;
};

void tu_rng_init(struct tu_rng *r, uint64_t seed);
uint64_t tu_rand(struct tu_rng *r);
/* Uniform in [0, n); n > 0. */
uint64_t tu_below(struct tu_rng *r, uint64_t n);
/* True with probability pct/100. */
bool tu_chance(struct tu_rng *r, unsigned pct);

/* splitmix64: a well-mixed function of x (for deriving per-item tags). */
uint64_t tu_mix(uint64_t x);

/* Fills buf with n bytes that depend only on tag. */
void tu_fill(void *buf, size_t n, uint64_t tag);
/* True if buf holds exactly what tu_fill(buf, n, tag) writes. */
bool tu_check_fill(const void *buf, size_t n, uint64_t tag);

/* ---- temporary directories ---- */

/* Creates a fresh directory under /tmp; returns a malloc()ed path. */
char *tu_tmpdir(const char *what);
/* Removes a directory tree (errors ignored) and frees path. */
void tu_rmtree(char *path);
/* Number of entries in a directory (-1 if it cannot be read). */
int tu_count_entries(const char *dir);

/* Opens path with opts; aborts the test on failure. */
golite *tu_open(const char *path, const golite_options *opts);

/* ---- the model ---- */

struct tu_kv {
	uint8_t *key;
	size_t klen;
	uint8_t *val;
	size_t vlen;
};

struct tu_table {
	char *name;
	struct tu_kv *kv;      /* sorted by key (memcmp, shorter first) */
	size_t n, cap;
};

struct tu_model {
	struct tu_table *t;    /* sorted by name (memcmp, shorter first) */
	size_t n, cap;
};

void tu_model_init(struct tu_model *m);
void tu_model_free(struct tu_model *m);
struct tu_table *tu_model_table(struct tu_model *m, const char *name);
/* Table operations; return false where the store must fail (exists, absent). */
bool tu_model_create(struct tu_model *m, const char *name);
bool tu_model_drop(struct tu_model *m, const char *name);
bool tu_model_rename(struct tu_model *m, const char *from, const char *to);
void tu_model_put(struct tu_model *m, const char *table, const void *key, size_t klen,
		  const void *val, size_t vlen);
void tu_model_del(struct tu_model *m, const char *table, const void *key, size_t klen);
const struct tu_kv *tu_model_get(const struct tu_model *m, const char *table, const void *key,
				 size_t klen);

/* Orders byte strings as the store does: memcmp, then the shorter first. */
int tu_keycmp(const void *a, size_t alen, const void *b, size_t blen);

/*
 * Compares the store with the model: the table list, a full iterator scan
 * of every table, golite_get, golite_get_into and golite_exists of every
 * key. Returns 0 if they agree; otherwise writes the first difference into
 * msg and returns -1.
 */
int tu_compare(golite *db, const struct tu_model *m, char *msg, size_t cap);

/* Writes the message of a difference into msg (cap bytes); returns -1,
 * for comparisons that report their first difference. */
__attribute__((format(printf, 3, 4))) int tu_differ(char *msg, size_t cap, const char *fmt,
						    ...);

/* Options of a store small enough that a test's few thousand keys go
 * through flushes and compactions: 64 KiB memtables and tables, 1 MiB
 * log segments, a 64 KiB log buffer. */
void tu_small_options(golite_options *o);

/* Renders a key for messages: printable bytes as is, others as \xNN,
 * shortened past 40 bytes. Returns buf. */
const char *tu_show(const void *key, size_t klen, char *buf, size_t cap);

#endif /* GOLITE_TESTUTIL_H */
