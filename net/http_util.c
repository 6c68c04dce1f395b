/*
 * http_util.c — the small pieces of text work the HTTP server does:
 * percent-decoding of paths and query arguments, base64 for bytes that are
 * not text, JSON strings written straight into a buffer (the listing
 * writes one per key and must not pay an allocation for each), ETags, and
 * the tokens file.
 */
#include "base64.h"
#include "http_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "keyesc.h"
#include "util.h"
#include "utf8.h"

/* ---- percent-decoding ---- */

long http_pct_decode(uint8_t *out, const char *s, size_t n, bool plus)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (i + 2 >= n)
				return -1;
			int h = hex_digit_value((unsigned char)s[i + 1]);
			int l = hex_digit_value((unsigned char)s[i + 2]);
			if (h < 0 || l < 0)
				return -1;
			out[o++] = (uint8_t)(h << 4 | l);
			i += 2;
		} else if (plus && s[i] == '+') {
			out[o++] = ' ';
		} else {
			out[o++] = (uint8_t)s[i];
		}
	}
	return (long)o;
}

/* ---- text ---- */

bool utf8_valid(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (p[i] == 0)
			return false;
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		/* utf8_printable accepts U+00A0 and above; U+0080..U+009F are
		 * valid UTF-8 too (C1 controls), escaped by sb_json_str. */
		size_t len = utf8_printable(p + i, n - i);
		if (!len) {
			if (i + 1 < n && p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] < 0xa0)
				len = 2;
			else
				return false;
		}
		i += len;
	}
	return true;
}

void sb_put(struct sbuf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sb_put(b, small, (size_t)n);
		return;
	}
	char *big = xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb_put(b, big, (size_t)n);
	free(big);
}

void sb_json_str(struct sbuf *b, const void *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *s = p;
	sb_put(b, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = s[i];
		bool c1 = c == 0xc2 && i + 1 < n && s[i + 1] >= 0x80 && s[i + 1] < 0xa0;
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f && !c1)
			continue;
		sb_put(b, s + run, i - run);
		char e[8];
		if (c == '"' || c == '\\') {
			e[0] = '\\';
			e[1] = (char)c;
			sb_put(b, e, 2);
		} else {
			unsigned cp = c1 ? s[++i] : c;
			memcpy(e, "\\u00", 4);
			e[4] = hex[cp >> 4];
			e[5] = hex[cp & 15];
			sb_put(b, e, 6);
		}
		run = i + 1;
	}
	sb_put(b, s + run, n - run);
	sb_put(b, "\"", 1);
}

void sb_json_bytes(struct sbuf *b, const char *name, const void *p, size_t n)
{
	sb_put(b, "\"", 1);
	sb_puts(b, name);
	if (utf8_valid(p, n)) {
		sb_put(b, "\":", 2);
		sb_json_str(b, p, n);
		return;
	}
	sb_puts(b, "_b64\":\"");
	size_t len;
	char *e = b64_encode(p, n, &len);
	sb_put(b, e, len);
	free(e);
	sb_put(b, "\"", 1);
}

/* ---- ETags ---- */

void http_etag(const void *value, size_t len, char out[HTTP_ETAG_LEN + 1])
{
	XXH128_hash_t h = XXH3_128bits(value, len);
	snprintf(out, HTTP_ETAG_LEN + 1, "\"%016llx%016llx\"", (unsigned long long)h.high64,
		 (unsigned long long)h.low64);
}

bool http_etag_match(const char *list, const char *etag)
{
	const char *p = list;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			break;
		if (*p == '*')
			return etag != NULL;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		const char *start = p;
		if (*p == '"') {
			p++;
			while (*p && *p != '"')
				p++;
			if (*p == '"')
				p++;
		} else {
			while (*p && *p != ',' && *p != ' ')
				p++;
		}
		if (etag && (size_t)(p - start) == strlen(etag) && !memcmp(start, etag, strlen(etag)))
			return true;
	}
	return false;
}

/* ---- tokens ---- */

int http_tokens_load(struct http_server *s, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "tokens file %s: %s", path, strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "tokens file %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "tokens file %s: mode %03o lets others read it; "
			 "chmod 600 it", path, (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		snprintf(err, errlen, "tokens file %s: %s", path, strerror(errno));
		return -1;
	}
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int r = 0;
	while (getline(&line, &cap, f) > 0) {
		lineno++;
		char *save = NULL;
		char *tok = strtok_r(line, " \t\r\n", &save);
		if (!tok || tok[0] == '#')
			continue;
		char *mode = strtok_r(NULL, " \t\r\n", &save);
		char *extra = mode ? strtok_r(NULL, " \t\r\n", &save) : NULL;
		if (!mode || extra || (strcmp(mode, "rw") && strcmp(mode, "ro"))) {
			snprintf(err, errlen, "tokens file %s:%u: want \"TOKEN rw\" or \"TOKEN ro\"",
				 path, lineno);
			r = -1;
			break;
		}
		if (strlen(tok) < 8) {
			snprintf(err, errlen, "tokens file %s:%u: a token of fewer than 8 characters",
				 path, lineno);
			r = -1;
			break;
		}
		s->tokens = xrealloc(s->tokens, (s->ntokens + 1) * sizeof(*s->tokens));
		s->tokens[s->ntokens].token = xstrdup(tok);
		s->tokens[s->ntokens].len = strlen(tok);
		s->tokens[s->ntokens].rw = strcmp(mode, "rw") == 0;
		s->ntokens++;
	}
	free(line);
	fclose(f);
	if (!r && s->ntokens == 0) {
		snprintf(err, errlen, "tokens file %s holds no token", path);
		r = -1;
	}
	return r;
}

/* Compares without stopping at the first difference, so the time taken
 * does not tell an attacker how much of a guess was right. */
static bool same_secret(const char *a, size_t alen, const char *b, size_t blen)
{
	unsigned char diff = alen != blen;
	size_t n = MIN(alen, blen);
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

const struct http_token *http_token_find(const struct http_server *s, const char *auth)
{
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return NULL;
	const char *t = auth + 7;
	while (*t == ' ')
		t++;
	size_t len = strcspn(t, " \t");
	const struct http_token *found = NULL;
	for (size_t i = 0; i < s->ntokens; i++)
		if (same_secret(s->tokens[i].token, s->tokens[i].len, t, len))
			found = &s->tokens[i];
	return found;
}

json_t *http_json_body(struct http_server *s, struct MHD_Connection *c, const uint8_t *body,
		       size_t len, enum MHD_Result *res)
{
	json_error_t jerr;
	json_t *root = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		*res = http_error(s, c, 400, "bad_json", "line %d, column %d: %s", jerr.line,
				  jerr.column, jerr.text);
	return root;
}

enum MHD_Result http_json_value(struct http_server *s, struct MHD_Connection *c,
				unsigned status, json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	enum MHD_Result res = text ? http_json(s, c, status, text, strlen(text)) : MHD_NO;
	free(text);
	return res;
}
