/*
 * escape_unit.c — the name escaping of fs/escape.c, both ways (its
 * invariants 1 and 2), on fixed cases and on random components and names.
 *
 *   escape_unit [SEED]
 *
 * Built from the module's source (it is part of the daemon, not of the
 * library). Prints "N passed, N failed".
 */
#include "../../fs/escape.c"

#include <stdio.h>
#include <stdlib.h>

static int passed, failed;
static uint64_t rng;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define CHECK(cond, ...)                                             \
	do {                                                         \
		if (cond) {                                          \
			passed++;                                    \
		} else {                                             \
			failed++;                                    \
			fprintf(stderr, "FAIL line %d: ", __LINE__); \
			fprintf(stderr, __VA_ARGS__);                \
			fprintf(stderr, "\n");                       \
		}                                                    \
	} while (0)

/* Encodes component c as its chain of names, then decodes the chain.
 * Returns true if the bytes come back. names gets the path ("a/b/c"). */
static bool roundtrip(const uint8_t *c, size_t len, bool view, char *names, size_t cap)
{
	uint8_t acc[8192 + 256];
	size_t acclen = 0;
	names[0] = '\0';
	for (int depth = 0; depth < 100; depth++) {
		char name[ESC_NAME_MAX + 1];
		enum esc_kind k = esc_encode(c, len, acclen, view, name);
		size_t nlen = strlen(name);
		if (nlen == 0 && len != 0)
			return false;
		if (strlen(names) + nlen + 2 < cap) {
			if (names[0])
				strcat(names, "/");
			strcat(names, name);
		}
		uint8_t out[ESC_NAME_MAX + 1];
		size_t olen;
		enum esc_kind d = esc_decode(name, nlen, acc, acclen, out, &olen);
		if (len == 0 && !view) {
			/* The empty component is the name "%". */
			return k == ESC_NAME && strcmp(name, "%") == 0 && d == ESC_NAME && olen == 0;
		}
		if (d != k)
			return false;
		memcpy(acc + acclen, out, olen);
		acclen += olen;
		if (k != ESC_CONT)
			return acclen == len && memcmp(acc, c, len) == 0;
	}
	return false;
}

static void fixed_cases(void)
{
	struct {
		const char *c;
		size_t len;
		const char *name;
	} cases[] = {
		{ "plain", 5, "plain" },
		{ "", 0, "%" },
		{ ".", 1, "%2e" },
		{ "..", 2, "%2e2e" },
		{ "...", 3, "..." },
		{ "a\0b", 3, "%610062" },
		{ "%41", 3, "%41" },
		{ "%2e", 3, "%253265" },
		{ "%", 1, "%25" },
		{ "%zz", 3, "%zz" },
		{ "%+x", 3, "%252b78" },
		{ "%_x", 3, "%255f78" },
		{ "100%", 4, "100%" },
		{ "%252e", 5, "%252e" },  /* "%." needs no escape */
		{ "\xc3\xbc", 2, "\xc3\xbc" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[ESC_NAME_MAX + 1];
		esc_encode((const uint8_t *)cases[i].c, cases[i].len, 0, false, name);
		CHECK(strcmp(name, cases[i].name) == 0, "encode case %zu: got %s want %s", i, name,
		      cases[i].name);
		char path[4096];
		CHECK(roundtrip((const uint8_t *)cases[i].c, cases[i].len, false, path, sizeof(path)),
		      "round trip case %zu", i);
	}
	char name[ESC_NAME_MAX + 1];
	esc_encode((const uint8_t *)"x", 1, 0, true, name);
	CHECK(strcmp(name, "%_78") == 0, "the view of x is %%_78, got %s", name);

	/* A 300-byte plain component: two pieces of 126, a final of 48. */
	uint8_t big[300];
	memset(big, 'L', sizeof(big));
	char path[4096];
	CHECK(roundtrip(big, sizeof(big), false, path, sizeof(path)), "300-byte component");
	CHECK(strncmp(path, "%+4c4c", 6) == 0 && strlen(path) == 254 + 1 + 254 + 1 + 97,
	      "300 bytes: two pieces and a final: %zu", strlen(path));
	/* 255 plain bytes fit one name; 256 do not. */
	CHECK(esc_encode(big, 255, 0, false, name) == ESC_NAME && strlen(name) == 255, "255 fits");
	CHECK(esc_encode(big, 256, 0, false, name) == ESC_CONT, "256 is chained");
	/* Bytes that need escaping: 127 fit one name, 128 do not. */
	big[0] = '\0';
	CHECK(esc_encode(big, 127, 0, false, name) == ESC_NAME && strlen(name) == 255,
	      "127 escaped bytes fit");
	CHECK(esc_encode(big, 128, 0, false, name) == ESC_CONT, "128 escaped bytes are chained");
	CHECK(roundtrip(big, 128, false, path, sizeof(path)), "128 escaped bytes round trip");
	CHECK(roundtrip(big, 127, true, path, sizeof(path)), "a long view round trip");

	/* Decoding: reserved forms, names that are not escapes. */
	uint8_t out[ESC_NAME_MAX + 1];
	size_t olen;
	CHECK(esc_decode("%41", 3, NULL, 0, out, &olen) == ESC_NAME && olen == 3 &&
	      memcmp(out, "%41", 3) == 0, "%%41 is literal");
	CHECK(esc_decode("%2e", 3, NULL, 0, out, &olen) == ESC_NAME && olen == 1 && out[0] == '.',
	      "%%2e is .");
	CHECK(esc_decode("%2E", 3, NULL, 0, out, &olen) == ESC_NAME && olen == 3,
	      "uppercase hex is literal");
	CHECK(esc_decode("%", 1, NULL, 0, out, &olen) == ESC_NAME && olen == 0, "%% is empty");
	CHECK(esc_decode("%+12", 4, NULL, 0, out, &olen) == ESC_BAD, "short piece is bad");
	CHECK(esc_decode("%_", 2, NULL, 0, out, &olen) == ESC_BAD, "empty view is bad");
	CHECK(esc_decode("%_zz", 4, NULL, 0, out, &olen) == ESC_BAD, "view of non-hex is bad");
	CHECK(esc_decode(".", 1, NULL, 0, out, &olen) == ESC_BAD, ". is not a name");
	uint8_t acc[ESC_PIECE];
	memset(acc, 'L', sizeof(acc));
	CHECK(esc_decode("plain", 5, acc, sizeof(acc), out, &olen) == ESC_BAD,
	      "a plain name inside a chain is bad");
	CHECK(esc_decode("%4c", 3, acc, sizeof(acc), out, &olen) == ESC_BAD,
	      "a 1-byte final piece of a plain 127-byte component is bad");
}

static uint8_t pick_byte(void)
{
	static const uint8_t special[] = { '%', '+', '_', '.', 0, '2', 'e', 'a', 'f', '0', 0xff };
	if (rnd() % 2)
		return special[rnd() % sizeof(special)];
	return (uint8_t)(rnd() % 255 + 1 == '/' ? 'x' : rnd() % 255 + 1);
}

static void random_components(int n)
{
	uint8_t c[600];
	char path[8192];
	int bad = 0;
	for (int i = 0; i < n; i++) {
		size_t len = rnd() % 4 == 0 ? rnd() % 600 : rnd() % 8;
		for (size_t j = 0; j < len; j++) {
			c[j] = pick_byte();
			if (c[j] == '/')
				c[j] = '-';
		}
		if (rnd() % 5 == 0 && len > 1) {
			/* Something that looks like an escape. */
			c[0] = '%';
			for (size_t j = 1; j < len; j++)
				c[j] = "0123456789abcdef"[rnd() % 16];
		}
		bool view = len > 0 && rnd() % 4 == 0;
		if (!roundtrip(c, len, view, path, sizeof(path)) && bad++ < 5)
			fprintf(stderr, "component of %zu bytes (view %d) -> %s\n", len, view, path);
	}
	CHECK(bad == 0, "%d of %d random components did not round trip", bad, n);
}

static void random_names(int n)
{
	static const char alphabet[] = "%%%+_.0123456789abcdefABz-";
	int bad = 0;
	for (int i = 0; i < n; i++) {
		char name[ESC_NAME_MAX + 1];
		size_t len = 1 + rnd() % (rnd() % 8 == 0 ? 255 : 10);
		for (size_t j = 0; j < len; j++)
			name[j] = alphabet[rnd() % (sizeof(alphabet) - 1)];
		name[len] = '\0';
		uint8_t out[ESC_NAME_MAX + 1];
		size_t olen;
		enum esc_kind k = esc_decode(name, len, NULL, 0, out, &olen);
		if (k == ESC_BAD || k == ESC_CONT)
			continue;
		char again[ESC_NAME_MAX + 1];
		enum esc_kind k2 = esc_encode(out, olen, 0, k == ESC_VIEW, again);
		if ((k2 != k || strcmp(again, name) != 0) && bad++ < 5)
			fprintf(stderr, "name %s -> %zu bytes -> %s\n", name, olen, again);
	}
	CHECK(bad == 0, "%d of %d random names did not come back", bad, n);
}

int main(int argc, char **argv)
{
	rng = argc > 1 ? strtoull(argv[1], NULL, 0) : 0xe5ca9e5eedull;
	printf("seed %#llx\n", (unsigned long long)rng);
	fixed_cases();
	random_components(200000);
	random_names(200000);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
