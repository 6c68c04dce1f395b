/*
 * race.c — rename, unlink, create and readdir racing on a small namespace
 * of a mount, checked against a model.
 *
 *   race run DIR SEED THREADS OPS K MODELFILE
 *   race verify DIR MODELFILE
 *   race replace DIR ROUNDS
 *
 * run: THREADS threads each do OPS random operations on the 16 names
 * DIR/A/n0..n7 and DIR/B/n0..n7: create (O_EXCL) a file holding a new
 * token, unlink, rename (plain, RENAME_NOREPLACE, RENAME_EXCHANGE; within
 * a directory and across the two), and, without any lock, list a
 * directory, open and read what it lists, stat a name. Each file holds a
 * token "tok-TT-SSSSSSSS\n" that no other file ever held (thread TT's
 * S-th). A thread takes the locks of the names an operation changes, so
 * the outcome of every change is decided by the model (name -> token)
 * that is updated under the same locks: the result (success or errno)
 * must be the one the model predicts. Operations on different names, and
 * all listings, opens and stats, race freely.
 *
 * Checked during the race: a listing never shows a name twice nor a name
 * outside the namespace; a listed name, opened, is either gone (ENOENT)
 * (or ESTALE, counted: see replace below) or holds a token that was
 * handed out; a stat sees either nothing or a
 * regular file of a token's size. Every K operations all threads meet at
 * a barrier and one of them lists both directories: the names and the
 * tokens they hold must be exactly the model's, and no token may appear
 * under two names. The model goes to MODELFILE at the end; `verify`
 * compares a later listing with it (after an unmount and a remount).
 *
 * replace: one thread replaces DIR/f ROUNDS times (a temporary file
 * written, then renamed over f; small and chunked files in turn) while
 * three threads open, read and close f (every other time with O_DIRECT,
 * reading twice): every read must be one whole version, and both reads
 * of one open file the same. An open fails only with ESTALE (counted),
 * when the file the kernel looked up was replaced before the open and
 * again before the kernel looked the name up a second time. (An open
 * that came after the lookup of a file just replaced used to reach a file
 * whose bytes were freed: EIO on read; and a read racing the replacement
 * of its open file could return the new file's bytes.)
 *
 * Prints "summary: race ops=.. listings=.. quiescent_checks=.. bad=..
 * crashes=.." and exits 1 on any difference. SEED is printed; with the
 * same seed each thread makes the same choices.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

#define PER_DIR 8
#define NSLOT (2 * PER_DIR)
#define TOKLEN 16 /* "tok-TT-SSSSSSSS\n" */
#define MAXT 32

static const char *dir;
static int nthreads, kq;
static long nops;
static uint64_t seed;
static pthread_mutex_t lock[NSLOT];
static uint64_t model[NSLOT];                  /* token, 0: no file */
static _Atomic uint32_t issued[MAXT];          /* tokens handed out per thread */
static _Atomic long n_ops, n_listings, n_checks, n_bad, n_crashes;
static _Atomic long replace_estale; /* opens answered ESTALE */
static pthread_barrier_t barrier;
static _Atomic bool stop;

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void slot_path(int s, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%c/n%d", dir, s < PER_DIR ? 'A' : 'B', s % PER_DIR);
}

static uint64_t token_make(int t, uint32_t n)
{
	return ((uint64_t)(t + 1) << 32) | n;
}

static void token_text(uint64_t tok, char *buf)
{
	snprintf(buf, TOKLEN + 1, "tok-%02u-%08u\n", (unsigned)(tok >> 32) - 1,
		 (unsigned)(tok & 0xffffffffu));
}

/* The token in text (TOKLEN bytes), or 0 if it is none handed out. */
static uint64_t token_parse(const char *b, size_t n)
{
	unsigned t, s;
	char nl;
	if (n != TOKLEN || sscanf(b, "tok-%2u-%8u%c", &t, &s, &nl) != 3 || nl != '\n')
		return 0;
	if (t >= (unsigned)nthreads || s == 0 || s > atomic_load(&issued[t]))
		return 0;
	char again[TOKLEN + 1];
	token_text(token_make((int)t, s), again);
	if (memcmp(again, b, TOKLEN))
		return 0;
	return token_make((int)t, s);
}

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
	char buf[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "BAD: %s (seed %" PRIu64 ")\n", buf, seed);
	atomic_fetch_add(&n_bad, 1);
}

static bool gone(int e)
{
	if (e == ENOTCONN || e == ECONNABORTED) {
		if (!atomic_exchange(&stop, true)) {
			fprintf(stderr, "the mount is gone (%s)\n", strerror(e));
			atomic_fetch_add(&n_crashes, 1);
		}
		return true;
	}
	return false;
}

/* Compares an operation's outcome with the model's prediction. */
static void expect(const char *what, const char *p, int r, int want_errno)
{
	int e = r < 0 ? errno : 0;
	if (e && gone(e))
		return;
	if (e != want_errno)
		bad("%s %s: got %s, the model says %s", what, p, e ? strerror(e) : "success",
		    want_errno ? strerror(want_errno) : "success");
}

static ssize_t read_small(const char *p, char *buf, size_t cap)
{
	int fd = open(p, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (r == 0 || (n += (size_t)r) == cap)
			break;
	}
	close(fd);
	return (ssize_t)n;
}

/* A listing of A or B while others change it. */
static void racy_listing(int d, uint64_t *rng)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%c", dir, d ? 'B' : 'A');
	DIR *dh = opendir(p);
	if (!dh) {
		if (!gone(errno))
			bad("opendir %s: %s", p, strerror(errno));
		return;
	}
	int seen[PER_DIR] = { 0 };
	int listed[PER_DIR], nl = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(dh))) {
		int i;
		char rest;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (sscanf(de->d_name, "n%d%c", &i, &rest) != 1 || i < 0 || i >= PER_DIR) {
			bad("%s lists an unknown name %s", p, de->d_name);
			continue;
		}
		if (seen[i]++)
			bad("%s lists %s twice", p, de->d_name);
		else
			listed[nl++] = i;
	}
	if (errno && !gone(errno))
		bad("readdir %s: %s", p, strerror(errno));
	closedir(dh);
	atomic_fetch_add(&n_listings, 1);
	/* open what it listed: gone, or a token handed out */
	for (int j = 0; j < nl; j++) {
		*rng = mix(*rng);
		if (*rng % 2)
			continue;
		char f[4300], b[64];
		snprintf(f, sizeof(f), "%s/n%d", p, listed[j]);
		ssize_t n = read_small(f, b, sizeof(b));
		if (n < 0) {
			/* raced away; ESTALE: replaced or removed after the lookup
			 * and again before the kernel's second one (counted) */
			if (errno == ESTALE)
				atomic_fetch_add(&replace_estale, 1);
			else if (errno != ENOENT && !gone(errno))
				bad("open/read listed %s: %s", f, strerror(errno));
			continue;
		}
		if (n == 0)
			continue; /* being created: O_EXCL made it, its token not yet written */
		if (!token_parse(b, (size_t)n))
			bad("listed %s holds %zd bytes that are no token: %.*s", f, n, (int)n, b);
	}
}

static void racy_stat(int s)
{
	char p[4200];
	slot_path(s, p, sizeof(p));
	struct stat st;
	if (lstat(p, &st) < 0) {
		if (errno != ENOENT && !gone(errno))
			bad("stat %s: %s", p, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode) || (st.st_size != 0 && st.st_size != TOKLEN))
		bad("stat %s: mode %o size %lld", p, st.st_mode, (long long)st.st_size);
}

static void lock2(int a, int b)
{
	if (a == b) {
		pthread_mutex_lock(&lock[a]);
		return;
	}
	pthread_mutex_lock(&lock[a < b ? a : b]);
	pthread_mutex_lock(&lock[a < b ? b : a]);
}

static void unlock2(int a, int b)
{
	pthread_mutex_unlock(&lock[a]);
	if (a != b)
		pthread_mutex_unlock(&lock[b]);
}

static void op_create(int t, int s)
{
	char p[4200], text[TOKLEN + 1];
	slot_path(s, p, sizeof(p));
	pthread_mutex_lock(&lock[s]);
	int fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0644);
	expect("create", p, fd, model[s] ? EEXIST : 0);
	if (fd >= 0) {
		uint64_t tok = token_make(t, atomic_load(&issued[t]) + 1);
		atomic_store(&issued[t], (uint32_t)(tok & 0xffffffffu));
		token_text(tok, text);
		if (write(fd, text, TOKLEN) != TOKLEN && !gone(errno))
			bad("write %s: %s", p, strerror(errno));
		if (close(fd) < 0 && !gone(errno))
			bad("close %s: %s", p, strerror(errno));
		if (!model[s])
			model[s] = tok;
	}
	pthread_mutex_unlock(&lock[s]);
}

static void op_unlink(int s)
{
	char p[4200];
	slot_path(s, p, sizeof(p));
	pthread_mutex_lock(&lock[s]);
	int r = unlink(p);
	expect("unlink", p, r, model[s] ? 0 : ENOENT);
	if (r == 0)
		model[s] = 0;
	pthread_mutex_unlock(&lock[s]);
}

static void op_rename(int s, int d, unsigned flags)
{
	char ps[4200], pd[4200], what[64];
	slot_path(s, ps, sizeof(ps));
	slot_path(d, pd, sizeof(pd));
	snprintf(what, sizeof(what), "rename%s to %s",
		 flags == RENAME_NOREPLACE ? "(noreplace)" : flags == RENAME_EXCHANGE ? "(exchange)" : "",
		 pd + strlen(dir) + 1);
	lock2(s, d);
	int want;
	if (!model[s])
		want = ENOENT;
	else if (flags == RENAME_EXCHANGE && !model[d])
		want = ENOENT;
	else if (flags == RENAME_NOREPLACE && model[d])
		want = EEXIST;
	else
		want = 0;
	int r = (int)syscall(SYS_renameat2, AT_FDCWD, ps, AT_FDCWD, pd, flags);
	expect(what, ps, r, want);
	if (r == 0 && want == 0) {
		uint64_t x = model[d];
		model[d] = model[s];
		model[s] = flags == RENAME_EXCHANGE ? x : 0;
	}
	unlock2(s, d);
}

/* At a barrier: the listing is exactly the model. */
static long quiescent_check(const char *when)
{
	long problems = 0;
	bool present[NSLOT] = { false };
	for (int d = 0; d < 2; d++) {
		char p[4200];
		snprintf(p, sizeof(p), "%s/%c", dir, d ? 'B' : 'A');
		DIR *dh = opendir(p);
		if (!dh) {
			if (!gone(errno)) {
				bad("%s: opendir %s: %s", when, p, strerror(errno));
				problems++;
			}
			return problems;
		}
		struct dirent *de;
		while ((de = readdir(dh))) {
			int i;
			char rest;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (sscanf(de->d_name, "n%d%c", &i, &rest) != 1 || i < 0 || i >= PER_DIR) {
				bad("%s: %s lists an unknown name %s", when, p, de->d_name);
				problems++;
				continue;
			}
			int s = d * PER_DIR + i;
			if (present[s]) {
				bad("%s: %s lists %s twice", when, p, de->d_name);
				problems++;
			}
			present[s] = true;
		}
		closedir(dh);
	}
	uint64_t seen[NSLOT];
	int nseen = 0;
	for (int s = 0; s < NSLOT; s++) {
		char p[4200], want[TOKLEN + 1], b[64];
		slot_path(s, p, sizeof(p));
		if (present[s] != (model[s] != 0)) {
			if (model[s])
				token_text(model[s], want);
			bad("%s: %s is %s, the model says %s", when, p, present[s] ? "listed" : "not listed",
			    model[s] ? want : "absent");
			problems++;
		}
		ssize_t n = read_small(p, b, sizeof(b));
		if (n < 0 && errno != ENOENT) {
			if (!gone(errno)) {
				bad("%s: read %s: %s", when, p, strerror(errno));
				problems++;
			}
			continue;
		}
		if ((n >= 0) != (model[s] != 0)) {
			bad("%s: %s %s, the model says %s", when, p, n >= 0 ? "opens" : "does not open",
			    model[s] ? "present" : "absent");
			problems++;
			continue;
		}
		if (n < 0)
			continue;
		uint64_t tok = token_parse(b, (size_t)n);
		token_text(model[s], want);
		if (tok != model[s]) {
			bad("%s: %s holds %.*s, the model says %.*s", when, p, (int)n, b, TOKLEN - 1, want);
			problems++;
		}
		for (int j = 0; j < nseen; j++)
			if (seen[j] == tok) {
				bad("%s: token %.*s under two names", when, TOKLEN - 1, want);
				problems++;
			}
		seen[nseen++] = tok;
	}
	atomic_fetch_add(&n_checks, 1);
	return problems;
}

static void *thread_main(void *arg)
{
	int t = (int)(intptr_t)arg;
	uint64_t rng = mix(seed ^ mix((uint64_t)t + 77));
	for (long i = 1; i <= nops; i++) {
		if (!atomic_load(&stop)) {
			rng = mix(rng);
			int r = (int)(rng % 100);
			int s = (int)((rng >> 8) % NSLOT), d = (int)((rng >> 16) % NSLOT);
			if (r < 22)
				op_create(t, s);
			else if (r < 36)
				op_unlink(s);
			else if (r < 60 && s != d)
				op_rename(s, d, 0);
			else if (r < 68 && s != d)
				op_rename(s, d, RENAME_NOREPLACE);
			else if (r < 76 && s != d)
				op_rename(s, d, RENAME_EXCHANGE);
			else if (r < 90)
				racy_listing((int)((rng >> 24) % 2), &rng);
			else
				racy_stat(s);
			atomic_fetch_add(&n_ops, 1);
		}
		if (i % kq == 0 || i == nops) {
			if (pthread_barrier_wait(&barrier) == PTHREAD_BARRIER_SERIAL_THREAD &&
			    !atomic_load(&stop)) {
				char when[64];
				snprintf(when, sizeof(when), "after %ld operations each", i);
				quiescent_check(when);
			}
			pthread_barrier_wait(&barrier);
		}
	}
	return NULL;
}

static int do_run(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr, "usage: race run DIR SEED THREADS OPS K MODELFILE\n");
		return 2;
	}
	dir = argv[2];
	seed = strtoull(argv[3], NULL, 0);
	nthreads = atoi(argv[4]);
	nops = atol(argv[5]);
	kq = atoi(argv[6]);
	if (nthreads < 1 || nthreads > MAXT || nops < 1 || kq < 1) {
		fprintf(stderr, "race: 1..%d threads, OPS and K at least 1\n", MAXT);
		return 2;
	}
	printf("race: seed %" PRIu64 ", %d threads, %ld operations each, check every %d\n", seed,
	       nthreads, nops, kq);
	for (int d = 0; d < 2; d++) {
		char p[4200];
		snprintf(p, sizeof(p), "%s/%c", dir, d ? 'B' : 'A');
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			perror(p);
			return 2;
		}
	}
	/* start from whatever is there (nothing, for a fresh directory) */
	for (int s = 0; s < NSLOT; s++) {
		pthread_mutex_init(&lock[s], NULL);
		char p[4200];
		slot_path(s, p, sizeof(p));
		if (unlink(p) < 0 && errno != ENOENT) {
			perror(p);
			return 2;
		}
	}
	pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
	pthread_t th[MAXT];
	for (int t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, thread_main, (void *)(intptr_t)t);
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	FILE *out = fopen(argv[7], "w");
	if (!out) {
		perror(argv[7]);
		return 2;
	}
	fprintf(out, "%d\n", nthreads);
	for (int t = 0; t < nthreads; t++)
		fprintf(out, "%u\n", atomic_load(&issued[t]));
	for (int s = 0; s < NSLOT; s++)
		fprintf(out, "%" PRIx64 "\n", model[s]);
	fclose(out);
	int files = 0;
	for (int s = 0; s < NSLOT; s++)
		files += model[s] != 0;
	printf("summary: race ops=%ld listings=%ld quiescent_checks=%ld files=%d estale=%ld bad=%ld "
	       "crashes=%ld\n",
	       atomic_load(&n_ops), atomic_load(&n_listings), atomic_load(&n_checks), files,
	       atomic_load(&replace_estale), atomic_load(&n_bad), atomic_load(&n_crashes));
	return atomic_load(&n_bad) || atomic_load(&n_crashes) ? 1 : 0;
}

static int do_verify(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: race verify DIR MODELFILE\n");
		return 2;
	}
	dir = argv[2];
	FILE *in = fopen(argv[3], "r");
	if (!in || fscanf(in, "%d", &nthreads) != 1 || nthreads < 1 || nthreads > MAXT) {
		fprintf(stderr, "race: cannot read %s\n", argv[3]);
		return 2;
	}
	for (int t = 0; t < nthreads; t++) {
		unsigned v;
		if (fscanf(in, "%u", &v) != 1)
			return 2;
		issued[t] = v;
	}
	for (int s = 0; s < NSLOT; s++)
		if (fscanf(in, "%" SCNx64, &model[s]) != 1)
			return 2;
	fclose(in);
	long problems = quiescent_check("after the remount");
	printf("race: after the remount: %ld problems\n", problems);
	return problems || atomic_load(&n_bad) ? 1 : 0;
}

/* ---- replace: rename over a file that readers open ---- */

static _Atomic bool replace_done;
static _Atomic long replace_reads;

static size_t replace_len(unsigned v)
{
	static const size_t lens[] = { 100, 3000, 9000, 40, 70000, 4096 };
	return lens[v % 6];
}

static void replace_fill(char *b, unsigned v, size_t len)
{
	memset(b, 'a' + (int)(v % 26), len);
	char h[48];
	int hl = snprintf(h, sizeof(h), "rep-%08u len=%08zu", v % 100000000u, len);
	memcpy(b, h, (size_t)hl);
}

static void *replace_reader(void *arg)
{
	(void)arg;
	char p[4200];
	snprintf(p, sizeof(p), "%s/f", dir);
	char *buf, *want = malloc(81920);
	if (posix_memalign((void **)&buf, 4096, 81920))
		abort();
	for (unsigned i = 0; !atomic_load(&replace_done); i++) {
		/* every other open with O_DIRECT, read twice: each read reaches
		 * the daemon, and both must be the file that was opened */
		bool direct = i % 2;
		int fd = open(p, O_RDONLY | (direct ? O_DIRECT : 0));
		if (fd < 0) {
			/* the file the kernel looked up was replaced before the
			 * open, and again before the kernel's second look: an
			 * honest error, counted */
			if (errno == ESTALE)
				atomic_fetch_add(&replace_estale, 1);
			else if (!gone(errno))
				bad("replace: open %s: %s", p, strerror(errno));
			continue;
		}
		unsigned first = 0;
		for (int pass = 0; pass < (direct ? 2 : 1); pass++) {
			size_t n = 0;
			ssize_t r;
			while ((r = pread(fd, buf + n, 81920 - n, (off_t)n)) > 0)
				n += (size_t)r;
			if (r < 0) {
				if (!gone(errno))
					bad("replace: read %s%s: %s", p, direct ? " (O_DIRECT)" : "",
					    strerror(errno));
				break;
			}
			unsigned v;
			size_t len;
			if (n < 30 || sscanf(buf, "rep-%8u len=%8zu", &v, &len) != 2 || len != n) {
				bad("replace: %s holds %zu bytes that are no whole version", p, n);
				break;
			}
			replace_fill(want, v, len);
			if (memcmp(want, buf, n))
				bad("replace: version %u of %s is damaged", v, p);
			if (pass == 1 && v != first)
				bad("replace: an open file of version %u read as version %u", first, v);
			first = v;
			atomic_fetch_add(&replace_reads, 1);
			sched_yield();
		}
		close(fd);
	}
	free(buf);
	free(want);
	return NULL;
}

static int do_replace(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: race replace DIR ROUNDS\n");
		return 2;
	}
	dir = argv[2];
	long rounds = atol(argv[3]);
	nthreads = 1;
	char p[4200], tmp[4200];
	snprintf(p, sizeof(p), "%s/f", dir);
	snprintf(tmp, sizeof(tmp), "%s/f.tmp", dir);
	char *buf = malloc(80000);
	pthread_t th[3];
	for (unsigned v = 0; v <= (unsigned)rounds && !atomic_load(&stop); v++) {
		size_t len = replace_len(v);
		replace_fill(buf, v, len);
		int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY, 0644);
		if (fd < 0 || write(fd, buf, len) != (ssize_t)len || close(fd) < 0) {
			if (!gone(errno))
				bad("replace: write %s: %s", tmp, strerror(errno));
			break;
		}
		if (rename(tmp, p) < 0) {
			if (!gone(errno))
				bad("replace: rename to %s: %s", p, strerror(errno));
			break;
		}
		if (v == 0)
			for (int t = 0; t < 3; t++)
				pthread_create(&th[t], NULL, replace_reader, NULL);
	}
	atomic_store(&replace_done, true);
	for (int t = 0; t < 3; t++)
		pthread_join(th[t], NULL);
	free(buf);
	printf("summary: race replace rounds=%ld reads=%ld estale=%ld bad=%ld crashes=%ld\n", rounds,
	       atomic_load(&replace_reads), atomic_load(&replace_estale), atomic_load(&n_bad),
	       atomic_load(&n_crashes));
	return atomic_load(&n_bad) || atomic_load(&n_crashes) ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return do_run(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "verify"))
		return do_verify(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "replace"))
		return do_replace(argc, argv);
	fprintf(stderr, "usage: race run|verify|replace ...\n");
	return 2;
}
