/*
 * keyesc.c — keys shown as text and read back. See keyesc.h.
 */
#include "keyesc.h"

#include "utf8.h"

size_t key_escape(char *out, const void *key, size_t len, unsigned flags)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *p = key;
	uint8_t lowest = flags & KEYESC_SPACE ? 0x21 : 0x20;
	char *o = out;
	for (size_t i = 0; i < len;) {
		uint8_t c = p[i];
		if (c >= lowest && c < 0x7f && c != '\\') {
			*o++ = (char)c;
			i++;
			continue;
		}
		size_t u = c >= 0x80 ? utf8_printable(p + i, len - i) : 0;
		if (u) {
			for (size_t j = 0; j < u; j++)
				*o++ = (char)p[i + j];
			i += u;
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '\\': *o++ = '\\'; break;
		case '\t': *o++ = 't'; break;
		case '\n': *o++ = 'n'; break;
		case '\r': *o++ = 'r'; break;
		default:
			*o++ = 'x';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
			break;
		}
		i++;
	}
	return (size_t)(o - out);
}

int hex_digit_value(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

ssize_t key_unescape(uint8_t *out, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			out[o++] = (uint8_t)s[i];
			continue;
		}
		if (++i == n)
			return -1;
		int hi, lo;
		switch (s[i]) {
		case '\\': out[o++] = '\\'; break;
		case 't': out[o++] = '\t'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 'x':
			if (n - i < 3 || (hi = hex_digit_value(s[i + 1])) < 0 ||
			    (lo = hex_digit_value(s[i + 2])) < 0)
				return -1;
			out[o++] = (uint8_t)(hi << 4 | lo);
			i += 2;
			break;
		default:
			return -1;
		}
	}
	return (ssize_t)o;
}
