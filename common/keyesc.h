/*
 * keyesc.h — how keys and names are shown as text, and read back: by the
 * golite command's listings and by the change feed.
 *
 * Keys are byte strings. A byte is shown as it is only where that is
 * unambiguous: printable ASCII (space included unless KEYESC_SPACE) and
 * whole, valid UTF-8 characters from U+00A0 on (utf8.h). A backslash
 * becomes "\\", tab, newline and carriage return "\t", "\n", "\r", and
 * any other byte "\xHH" (two lowercase hex digits). key_unescape() is the
 * inverse, so a key printed by `golite ls` can be given back to
 * `golite get -e`.
 */
#ifndef GOLITE_KEYESC_H
#define GOLITE_KEYESC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The value of the hex digit c (either case), or -1. */
int hex_digit_value(int c);

/* Escape the space too (for fields separated by spaces). */
#define KEYESC_SPACE 1u

/* The most bytes key_escape() writes for len bytes of key. */
static inline size_t key_escaped_max(size_t len)
{
	return 4 * len;
}

/* Writes the escaped form of key[0, len) to out (key_escaped_max(len)
 * bytes of room, no NUL added). Returns the number of bytes written. */
size_t key_escape(char *out, const void *key, size_t len, unsigned flags);

/* Decodes the escaped text s[0, n) into out (n bytes of room suffice).
 * Returns the key's length, or -1 if s holds an escape that is not one of
 * the five above. */
ssize_t key_unescape(uint8_t *out, const char *s, size_t n);

#endif /* GOLITE_KEYESC_H */
