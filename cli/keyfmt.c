/*
 * keyfmt.c — how the golite command shows keys, and reads them back.
 *
 * Keys are byte strings. A listing shows one key per line, so a key is
 * printed as it is only where that is unambiguous: printable ASCII and
 * whole, valid UTF-8 characters from U+00A0 on. A backslash becomes "\\",
 * tab, newline and carriage return "\t", "\n", "\r", and any other byte
 * "\xHH" (two lowercase hex digits). cli_unescape() is the inverse, so
 * `golite get -e DIR T "$(line printed by ls)"` finds the key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "utf8.h"

void cli_put_escaped(FILE *f, const void *key, size_t len)
{
	const uint8_t *p = key;
	for (size_t i = 0; i < len;) {
		uint8_t c = p[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			fputc(c, f);
			i++;
			continue;
		}
		size_t u = c >= 0x80 ? utf8_printable(p + i, len - i) : 0;
		if (u) {
			fwrite(p + i, 1, u, f);
			i += u;
			continue;
		}
		switch (c) {
		case '\\': fputs("\\\\", f); break;
		case '\t': fputs("\\t", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		default: fprintf(f, "\\x%02x", c); break;
		}
		i++;
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

uint8_t *cli_unescape(const char *s, size_t *len)
{
	size_t n = strlen(s);
	uint8_t *out = malloc(n + 1);
	if (!out)
		abort();
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\') {
			out[o++] = (uint8_t)s[i];
			continue;
		}
		char e = s[++i];
		int hi, lo;
		switch (e) {
		case '\\': out[o++] = '\\'; break;
		case 't': out[o++] = '\t'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 'x':
			if ((hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
				goto bad;
			out[o++] = (uint8_t)(hi << 4 | lo);
			i += 2;
			break;
		default:
			goto bad;
		}
	}
	*len = o;
	return out;
bad:
	cli_error("bad escape in \"%s\" (use \\\\, \\t, \\n, \\r or \\xHH)", s);
	free(out);
	return NULL;
}
