/*
 * stress.c — writers and readers on a mounted directory, every read
 * checked against what was written.
 *
 *   stress run DIR SEED SECONDS STATEFILE [WRITERS READERS]
 *   stress verify DIR STATEFILE
 *
 * run: WRITERS (8) writer processes each own NAMES names spread over
 * DIR/x and DIR/y. A writer replaces a file atomically (a temporary name,
 * write, fsync, rename over the name) or overwrites it in place (under
 * flock LOCK_EX: write from offset 0, then ftruncate to the new length),
 * files of 100 bytes to 2 MiB. Every file is self-describing: a 64-byte
 * header "GLST name=N ver=V len=L" then L - 64 bytes derived from the
 * name and version. Writers publish, in memory shared by all processes,
 * the version they are writing (before) and the version now in place
 * (after). READERS (8) reader processes read random names (under flock
 * LOCK_SH) and check that the file is one complete, undamaged version of
 * that name, no older than what was published before the open and no
 * newer than what was being written after the read; they also list the
 * directories (no name twice, no unknown name). After SECONDS, every file
 * must be exactly its last version; the names and versions go to
 * STATEFILE for `verify` (after a remount: the listing and every file
 * exactly).
 *
 * Prints "summary: stress seconds=.. writes=.. reads=.. listings=..
 * bytes_written=.. bytes_read=.. bad=.. crashes=.." and exits 1 on any
 * bad read or error. SEED is printed; the same seed replays the same
 * choices (the interleaving is the machine's).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NAMES 24       /* per writer */
#define MAXW 64
#define HDR 64
#define MAXLEN (2u << 20)

struct shared {
	_Atomic uint32_t published[MAXW * NAMES];
	_Atomic uint32_t writing[MAXW * NAMES];
	_Atomic uint64_t writes, reads, listings, bytes_written, bytes_read, bad, crashes, estale;
};

static struct shared *sh;
static const char *dir;
static int nwriters = 8, nreaders = 8;

static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void name_of(int id, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/n%d-%d", (id % NAMES) % 2 ? "y" : "x", id / NAMES, id % NAMES);
}

static void path_of(int id, char *buf, size_t cap)
{
	char n[64];
	name_of(id, n, sizeof(n));
	snprintf(buf, cap, "%s/%s", dir, n);
}

/* The content of version ver of name id: len bytes. */
static void gen(uint8_t *b, int id, uint32_t ver, uint32_t len)
{
	char n[64];
	name_of(id, n, sizeof(n));
	memset(b, ' ', HDR);
	int h = snprintf((char *)b, HDR, "GLST name=%s ver=%u len=%u", n, ver, len);
	b[h] = ' ';
	b[HDR - 1] = '\n';
	uint64_t x = mix(((uint64_t)id << 32) | ver);
	for (uint32_t i = HDR; i < len; i += 8) {
		x = mix(x);
		uint32_t k = len - i < 8 ? len - i : 8;
		memcpy(b + i, &x, k);
	}
}

static uint32_t pick_len(uint64_t *rng)
{
	*rng = mix(*rng);
	uint64_t r = *rng % 100, s = *rng >> 8;
	if (r < 60)
		return HDR + 36 + (uint32_t)(s % 3900);            /* inline */
	if (r < 95)
		return 5000 + (uint32_t)(s % 200000);              /* chunked */
	return (256u << 10) + (uint32_t)(s % (MAXLEN - (256u << 10)));
}

static bool dead(int e)
{
	return e == ENOTCONN || e == ECONNABORTED;
}

static void bad(const char *who, const char *fmt, const char *p, const char *detail)
{
	fprintf(stderr, "%s: BAD: %s: ", who, p);
	fprintf(stderr, fmt, detail);
	fprintf(stderr, "\n");
	atomic_fetch_add(&sh->bad, 1);
}

static void op_error(const char *who, const char *what, const char *p)
{
	int e = errno;
	if (dead(e)) {
		fprintf(stderr, "%s: %s %s: the mount is gone (%s)\n", who, what, p, strerror(e));
		atomic_fetch_add(&sh->crashes, 1);
		_exit(4);
	}
	fprintf(stderr, "%s: BAD: %s %s: %s\n", who, what, p, strerror(e));
	atomic_fetch_add(&sh->bad, 1);
}

static bool write_all(int fd, const uint8_t *b, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t w = pwrite(fd, b + done, len - done, off + (off_t)done);
		if (w <= 0)
			return false;
		done += (size_t)w;
	}
	return true;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void writer(int w, uint64_t seed, double end)
{
	char who[32];
	snprintf(who, sizeof(who), "writer %d", w);
	uint64_t rng = mix(seed ^ mix((uint64_t)w + 1));
	uint8_t *buf = malloc(MAXLEN);
	char p[4200], tmp[4200];
	while (now() < end) {
		rng = mix(rng);
		int i = (int)(rng % NAMES);
		int id = w * NAMES + i;
		uint32_t ver = atomic_load(&sh->writing[id]) + 1;
		uint32_t len = pick_len(&rng);
		path_of(id, p, sizeof(p));
		gen(buf, id, ver, len);
		atomic_store(&sh->writing[id], ver);
		bool in_place = atomic_load(&sh->published[id]) > 0 && (rng >> 40) % 100 < 40;
		if (in_place) {
			int fd = open(p, O_RDWR);
			if (fd < 0) {
				op_error(who, "open", p);
				continue;
			}
			if (flock(fd, LOCK_EX) < 0)
				op_error(who, "flock", p);
			if (!write_all(fd, buf, len, 0))
				op_error(who, "write", p);
			if (ftruncate(fd, len) < 0)
				op_error(who, "ftruncate", p);
			if ((rng >> 50) % 4 == 0 && fsync(fd) < 0)
				op_error(who, "fsync", p);
			if (flock(fd, LOCK_UN) < 0)
				op_error(who, "unlock", p);
			if (close(fd) < 0)
				op_error(who, "close", p);
		} else {
			snprintf(tmp, sizeof(tmp), "%s/%s/.tmp-%d", dir, i % 2 ? "y" : "x", w);
			int fd = open(tmp, O_CREAT | O_TRUNC | O_WRONLY, 0644);
			if (fd < 0) {
				op_error(who, "create", tmp);
				continue;
			}
			if (!write_all(fd, buf, len, 0))
				op_error(who, "write", tmp);
			if (fsync(fd) < 0)
				op_error(who, "fsync", tmp);
			if (close(fd) < 0)
				op_error(who, "close", tmp);
			if (rename(tmp, p) < 0)
				op_error(who, "rename", tmp);
		}
		atomic_store(&sh->published[id], ver);
		atomic_fetch_add(&sh->writes, 1);
		atomic_fetch_add(&sh->bytes_written, len);
	}
	free(buf);
}

/* Reads p whole into buf (cap bytes); -1 and errno on failure. */
static ssize_t read_file(int fd, uint8_t *buf, size_t cap)
{
	size_t n = 0;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0)
			return -1;
		if (r == 0)
			return (ssize_t)n;
		n += (size_t)r;
		if (n == cap)
			return (ssize_t)n;
	}
}

/* Checks that buf (n bytes) is a whole version of id between lo and hi;
 * the version or 0 with why filled. */
static uint32_t check_content(const uint8_t *buf, size_t n, int id, uint32_t lo, uint32_t hi,
			      uint8_t *want, char *why, size_t cap)
{
	char name[64], hname[64];
	unsigned ver, len;
	name_of(id, name, sizeof(name));
	if (n < HDR || sscanf((const char *)buf, "GLST name=%63s ver=%u len=%u", hname, &ver,
			      &len) != 3) {
		snprintf(why, cap, "%zu bytes without a header", n);
		return 0;
	}
	if (strcmp(hname, name)) {
		snprintf(why, cap, "holds the content of %s", hname);
		return 0;
	}
	if (len != n) {
		snprintf(why, cap, "version %u of %u bytes, %zu read", ver, len, n);
		return 0;
	}
	if (ver < lo || ver > hi || ver == 0) {
		snprintf(why, cap, "version %u, expected %u..%u", ver, lo, hi);
		return 0;
	}
	gen(want, id, ver, len);
	if (memcmp(want, buf, n)) {
		size_t i = 0;
		while (i < n && want[i] == buf[i])
			i++;
		snprintf(why, cap, "version %u damaged at byte %zu", ver, i);
		return 0;
	}
	return ver;
}

static void listing(const char *who, const char *sub)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	DIR *d = opendir(p);
	if (!d) {
		op_error(who, "opendir", p);
		return;
	}
	static char seen[MAXW * NAMES];
	memset(seen, 0, sizeof(seen));
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		int w, i;
		char rest;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strncmp(de->d_name, ".tmp-", 5))
			continue;
		if (sscanf(de->d_name, "n%d-%d%c", &w, &i, &rest) != 2 || w < 0 || w >= nwriters ||
		    i < 0 || i >= NAMES || (i % 2 ? "y" : "x")[0] != sub[0]) {
			bad(who, "unknown name %s in the listing", p, de->d_name);
			continue;
		}
		if (seen[w * NAMES + i]++)
			bad(who, "%s listed twice", p, de->d_name);
	}
	if (errno)
		op_error(who, "readdir", p);
	closedir(d);
	atomic_fetch_add(&sh->listings, 1);
}

static void reader(int r, uint64_t seed, double end)
{
	char who[32];
	snprintf(who, sizeof(who), "reader %d", r);
	uint64_t rng = mix(seed ^ mix((uint64_t)r + 1000));
	uint8_t *buf = malloc(MAXLEN + 1), *want = malloc(MAXLEN + 1);
	char p[4200], why[256];
	while (now() < end) {
		rng = mix(rng);
		if (rng % 50 == 0) {
			listing(who, (rng >> 8) % 2 ? "y" : "x");
			continue;
		}
		int id = (int)((rng >> 8) % (uint64_t)(nwriters * NAMES));
		path_of(id, p, sizeof(p));
		uint32_t lo = atomic_load(&sh->published[id]);
		int fd = open(p, O_RDONLY);
		if (fd < 0) {
			if (errno == ENOENT && lo == 0)
				continue;
			/* replaced before the open and again before the kernel's
			 * second lookup (see race.c, replace): counted */
			if (errno == ESTALE) {
				atomic_fetch_add(&sh->estale, 1);
				continue;
			}
			op_error(who, "open", p);
			continue;
		}
		if (flock(fd, LOCK_SH) < 0)
			op_error(who, "flock", p);
		ssize_t n = read_file(fd, buf, MAXLEN + 1);
		int e = errno;
		flock(fd, LOCK_UN);
		close(fd);
		uint32_t hi = atomic_load(&sh->writing[id]);
		if (n < 0) {
			errno = e;
			op_error(who, "read", p);
			continue;
		}
		if (!check_content(buf, (size_t)n, id, lo, hi, want, why, sizeof(why)))
			bad(who, "%s", p, why);
		atomic_fetch_add(&sh->reads, 1);
		atomic_fetch_add(&sh->bytes_read, (uint64_t)n);
	}
	free(buf);
	free(want);
}

/* Every name is exactly its version (0: absent). */
static long verify_all(const uint32_t *vers)
{
	uint8_t *buf = malloc(MAXLEN + 1), *want = malloc(MAXLEN + 1);
	char p[4200], why[256];
	long problems = 0;
	for (int id = 0; id < nwriters * NAMES; id++) {
		path_of(id, p, sizeof(p));
		int fd = open(p, O_RDONLY);
		if (fd < 0) {
			if (errno == ENOENT && vers[id] == 0)
				continue;
			fprintf(stderr, "verify: %s: %s (version %u expected)\n", p, strerror(errno),
				vers[id]);
			problems++;
			continue;
		}
		ssize_t n = read_file(fd, buf, MAXLEN + 1);
		close(fd);
		if (n < 0 || !check_content(buf, (size_t)n, id, vers[id], vers[id], want, why,
					     sizeof(why))) {
			fprintf(stderr, "verify: %s: %s\n", p, n < 0 ? strerror(errno) : why);
			problems++;
		}
	}
	/* the listings hold exactly the names written, no temporary left */
	for (int s = 0; s < 2; s++) {
		snprintf(p, sizeof(p), "%s/%s", dir, s ? "y" : "x");
		DIR *d = opendir(p);
		if (!d) {
			fprintf(stderr, "verify: %s: %s\n", p, strerror(errno));
			problems++;
			continue;
		}
		long listed = 0, want_n = 0;
		struct dirent *de;
		while ((de = readdir(d))) {
			int w, i;
			char rest;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			if (sscanf(de->d_name, "n%d-%d%c", &w, &i, &rest) != 2 || w < 0 ||
			    w >= nwriters || i < 0 || i >= NAMES || vers[w * NAMES + i] == 0) {
				fprintf(stderr, "verify: %s: unexpected entry %s\n", p, de->d_name);
				problems++;
				continue;
			}
			listed++;
		}
		closedir(d);
		for (int id = 0; id < nwriters * NAMES; id++)
			if (vers[id] && (id % NAMES) % 2 == s)
				want_n++;
		if (listed != want_n) {
			fprintf(stderr, "verify: %s lists %ld names, %ld written\n", p, listed, want_n);
			problems++;
		}
	}
	free(buf);
	free(want);
	return problems;
}

static int do_run(int argc, char **argv)
{
	if (argc != 6 && argc != 8) {
		fprintf(stderr, "usage: stress run DIR SEED SECONDS STATEFILE [WRITERS READERS]\n");
		return 2;
	}
	dir = argv[2];
	uint64_t seed = strtoull(argv[3], NULL, 0);
	double secs = atof(argv[4]);
	if (argc == 8) {
		nwriters = atoi(argv[6]);
		nreaders = atoi(argv[7]);
		if (nwriters < 1 || nwriters > MAXW || nreaders < 0) {
			fprintf(stderr, "stress: 1..%d writers\n", MAXW);
			return 2;
		}
	}
	printf("stress: seed %" PRIu64 ", %d writers, %d readers, %.0f s\n", seed, nwriters,
	       nreaders, secs);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("mmap");
		return 2;
	}
	char p[4200];
	for (int s = 0; s < 2; s++) {
		snprintf(p, sizeof(p), "%s/%s", dir, s ? "y" : "x");
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			perror(p);
			return 2;
		}
	}
	fflush(stdout);
	double end = now() + secs;
	for (int i = 0; i < nwriters + nreaders; i++) {
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0) {
			if (i < nwriters)
				writer(i, seed, end);
			else
				reader(i - nwriters, seed, end);
			_exit(0);
		}
	}
	int failed_children = 0, st;
	while (wait(&st) > 0)
		if (!WIFEXITED(st) || WEXITSTATUS(st))
			failed_children++;
	uint32_t *vers = calloc(MAXW * NAMES, sizeof(uint32_t));
	for (int id = 0; id < nwriters * NAMES; id++)
		vers[id] = atomic_load(&sh->published[id]);
	long problems = atomic_load(&sh->crashes) ? 0 : verify_all(vers);
	FILE *out = fopen(argv[5], "w");
	if (!out) {
		perror(argv[5]);
		return 2;
	}
	fprintf(out, "%d\n", nwriters);
	for (int id = 0; id < nwriters * NAMES; id++)
		fprintf(out, "%u\n", vers[id]);
	fclose(out);
	uint64_t nbad = atomic_load(&sh->bad) + (uint64_t)problems;
	printf("stress: final verification: %ld problems\n", problems);
	printf("summary: stress seconds=%.0f writes=%" PRIu64 " reads=%" PRIu64 " listings=%" PRIu64
	       " bytes_written=%" PRIu64 " bytes_read=%" PRIu64 " estale=%" PRIu64 " bad=%" PRIu64
	       " crashes=%" PRIu64 "\n",
	       secs, atomic_load(&sh->writes), atomic_load(&sh->reads), atomic_load(&sh->listings),
	       atomic_load(&sh->bytes_written), atomic_load(&sh->bytes_read),
	       atomic_load(&sh->estale), nbad, atomic_load(&sh->crashes));
	free(vers);
	return nbad || failed_children || atomic_load(&sh->crashes) ? 1 : 0;
}

static int do_verify(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: stress verify DIR STATEFILE\n");
		return 2;
	}
	dir = argv[2];
	FILE *in = fopen(argv[3], "r");
	if (!in || fscanf(in, "%d", &nwriters) != 1 || nwriters < 1 || nwriters > MAXW) {
		fprintf(stderr, "stress: cannot read %s\n", argv[3]);
		return 2;
	}
	uint32_t *vers = calloc(MAXW * NAMES, sizeof(uint32_t));
	for (int id = 0; id < nwriters * NAMES; id++)
		if (fscanf(in, "%u", &vers[id]) != 1) {
			fprintf(stderr, "stress: %s is short\n", argv[3]);
			return 2;
		}
	fclose(in);
	long problems = verify_all(vers);
	long n = 0;
	for (int id = 0; id < nwriters * NAMES; id++)
		n += vers[id] > 0;
	printf("stress: verified %ld files: %ld problems\n", n, problems);
	free(vers);
	return problems ? 1 : 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return do_run(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "verify"))
		return do_verify(argc, argv);
	fprintf(stderr, "usage: stress run|verify ...\n");
	return 2;
}
