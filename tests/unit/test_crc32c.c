/* Tests of CRC-32C: known vectors, hardware and software paths agree. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

uint32_t crc32c_software(uint32_t crc, const void *data, size_t n);

Test(crc32c, known_vectors)
{
	/* RFC 3720 B.4 test vectors. */
	uint8_t zeros[32] = { 0 }, ones[32], inc[32], dec[32];
	memset(ones, 0xff, sizeof(ones));
	for (int i = 0; i < 32; i++) {
		inc[i] = (uint8_t)i;
		dec[i] = (uint8_t)(31 - i);
	}
	cr_expect_eq(crc32c(zeros, 32), 0x8a9136aa);
	cr_expect_eq(crc32c(ones, 32), 0x62a8ab43);
	cr_expect_eq(crc32c(inc, 32), 0x46dd794e);
	cr_expect_eq(crc32c(dec, 32), 0x113fdb5c);
	cr_expect_eq(crc32c("123456789", 9), 0xe3069283);
}

Test(crc32c, extend_equals_whole)
{
	const char *s = "hello, world: a longer string to checksum in pieces";
	size_t n = strlen(s);
	for (size_t cut = 0; cut <= n; cut++)
		cr_expect_eq(crc32c_extend(crc32c(s, cut), s + cut, n - cut), crc32c(s, n));
}

Test(crc32c, hardware_and_software_agree)
{
	unsigned seed = 1234;
	printf("seed %u\n", seed);
	srand(seed);
	static uint8_t buf[64 * 1024];  /* past 3 x 8 KiB: every path */
	for (int round = 0; round < 400; round++) {
		size_t n = (size_t)rand() % sizeof(buf), off = (size_t)rand() % 8;
		if (off > n)
			off = n;
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rand();
		uint32_t init = (uint32_t)rand();
		cr_assert_eq(crc32c_extend(init, buf + off, n - off),
			     crc32c_software(init, buf + off, n - off));
	}
}

Test(crc32c, mask_roundtrip)
{
	for (uint32_t v = 0; v < 100000; v += 7)
		cr_expect_eq(crc32c_unmask(crc32c_mask(v * 2654435761u)), v * 2654435761u);
	cr_expect_neq(crc32c_mask(0x12345678), 0x12345678);
}
