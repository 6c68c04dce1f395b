/*
 * feedline.c — splitting the change feed's lines (feedline.h).
 */
#include "feedline.h"

#include <stdint.h>
#include <string.h>

#include "keyesc.h"

bool feedline_split(char *line, struct feedline *out)
{
	const char **head[3] = { &out->seq, &out->time, &out->op };
	memset(out, 0, sizeof(*out));
	size_t words = 0;
	for (char *p = line;; words++) {
		char *sp = strchr(p, ' ');
		size_t n = sp ? (size_t)(sp - p) : strlen(p);
		if (sp)
			*sp = '\0';
		if (words < 3) {
			*head[words] = p;
		} else {
			if (out->nfields == FEEDLINE_FIELDS_MAX)
				return false;
			ssize_t k = key_unescape((uint8_t *)p, p, n);
			if (k <= 0)
				return false;
			p[k] = '\0';
			out->field[out->nfields] = p;
			out->flen[out->nfields++] = (size_t)k;
		}
		if (!sp)
			break;
		p = sp + 1;
	}
	return words >= 2;
}

bool feedline_op_is(const struct feedline *l, const char *op)
{
	return strcmp(l->op, op) == 0;
}

size_t feedline_each(char *buf, size_t len, void (*fn)(void *ctx, char *line), void *ctx)
{
	char *start = buf, *end = buf + len, *nl;
	while ((nl = memchr(start, '\n', (size_t)(end - start)))) {
		*nl = '\0';
		fn(ctx, start);
		start = nl + 1;
	}
	return (size_t)(start - buf);
}
