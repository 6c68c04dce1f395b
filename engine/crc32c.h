/*
 * crc32c.h — CRC-32C (Castagnoli), the checksum of every record and block
 * the engine writes. Uses the SSE4.2 crc32 instruction when the CPU has it,
 * a slicing-by-8 table otherwise; both give identical results.
 */
#ifndef GOLITE_CRC32C_H
#define GOLITE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Returns the CRC-32C of data[0..n) continuing from crc (start with 0). */
uint32_t crc32c_extend(uint32_t crc, const void *data, size_t n);

static inline uint32_t crc32c(const void *data, size_t n)
{
	return crc32c_extend(0, data, n);
}

/*
 * Checksums stored inside data that is itself checksummed are masked, so
 * that the CRC of a string holding its own CRC is not degenerate (the
 * scheme of LevelDB's crc32c::Mask).
 */
static inline uint32_t crc32c_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static inline uint32_t crc32c_unmask(uint32_t m)
{
	uint32_t rot = m - 0xa282ead8u;
	return (rot >> 17) | (rot << 15);
}

#endif /* GOLITE_CRC32C_H */
