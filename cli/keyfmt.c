/*
 * keyfmt.c — how the golite command shows keys, and reads them back.
 *
 * A listing shows one key per line, escaped as common/keyesc.h says;
 * cli_unescape() is the inverse, so `golite get -e DIR T "$(line printed
 * by ls)"` finds the key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "keyesc.h"
#include "util.h"

void cli_put_escaped(FILE *f, const void *key, size_t len)
{
	char small[256];
	char *out = key_escaped_max(len) <= sizeof(small) ? small : xmalloc(key_escaped_max(len));
	fwrite(out, 1, key_escape(out, key, len, 0), f);
	if (out != small)
		free(out);
}

uint8_t *cli_unescape(const char *s, size_t *len)
{
	size_t n = strlen(s);
	uint8_t *out = xmalloc(n + 1);
	ssize_t r = key_unescape(out, s, n);
	if (r < 0) {
		cli_error("bad escape in \"%s\" (use \\\\, \\t, \\n, \\r or \\xHH)", s);
		free(out);
		return NULL;
	}
	*len = (size_t)r;
	return out;
}
