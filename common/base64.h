/*
 * base64.h — RFC 4648 base64 (base64.c).
 */
#ifndef GOLITE_BASE64_H
#define GOLITE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Base64 (RFC 4648, with padding) of p[0, n) into a malloc()ed,
 * NUL-terminated string; *outlen (if not NULL) gets its length. */
char *b64_encode(const void *p, size_t n, size_t *outlen);
/* Decodes base64 (standard or URL alphabet, padding optional) into a
 * malloc()ed buffer; NULL if s is not base64. */
uint8_t *b64_decode(const char *s, size_t n, size_t *outlen);

#endif
