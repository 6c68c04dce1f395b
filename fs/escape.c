/*
 * escape.c — names for keys that cannot be path components (escape.h has
 * the forms and the invariants).
 */
#include "escape.h"

#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;  /* uppercase is not canonical: the encoder never writes it */
}

/* Decodes n hex digits (n even) into out. Returns false if one is not a
 * lowercase hex digit. */
static bool unhex(const char *s, size_t n, uint8_t *out)
{
	if (n % 2)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

static size_t put_hex(char *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdigits[p[i] >> 4];
		out[2 * i + 1] = hexdigits[p[i] & 15];
	}
	return 2 * n;
}

bool esc_needs_escape(const uint8_t *c, size_t len)
{
	if (len == 0 || len > ESC_NAME_MAX)
		return true;
	if (c[0] == '.' && (len == 1 || (len == 2 && c[1] == '.')))
		return true;
	if (memchr(c, 0, len))
		return true;
	if (c[0] != '%')
		return false;
	if (len >= 2 && (c[1] == '+' || c[1] == '_'))
		return true;
	/* "%<hex>" would decode to the bytes it spells if those need escaping
	 * (the recursion ends: each level halves the length). */
	uint8_t inner[ESC_NAME_MAX / 2];
	if (!unhex((const char *)c + 1, len - 1, inner))
		return false;
	return esc_needs_escape(inner, (len - 1) / 2);
}

bool esc_chained(const uint8_t *c, size_t len, bool view)
{
	if (view)
		return len > ESC_VIEW_MAX;
	return len > ESC_NAME_MAX || (len > ESC_FINAL_MAX && esc_needs_escape(c, len));
}

enum esc_kind esc_decode(const char *name, size_t nlen, const uint8_t *acc, size_t acclen,
			 uint8_t *out, size_t *outlen)
{
	*outlen = 0;
	if (nlen == 0 || nlen > ESC_NAME_MAX)
		return ESC_BAD;
	if (name[0] == '%' && nlen >= 2 && name[1] == '+') {
		if (nlen != 2 + 2 * ESC_PIECE || !unhex(name + 2, nlen - 2, out))
			return ESC_BAD;
		*outlen = ESC_PIECE;
		return ESC_CONT;
	}
	if (name[0] == '%' && nlen >= 2 && name[1] == '_') {
		size_t n = (nlen - 2) / 2;
		if (n < 1 || n > ESC_VIEW_MAX || !unhex(name + 2, nlen - 2, out))
			return ESC_BAD;
		*outlen = n;
		return ESC_VIEW;
	}
	if (acclen == 0) {
		if (name[0] == '%' && unhex(name + 1, nlen - 1, out) &&
		    esc_needs_escape(out, (nlen - 1) / 2)) {
			*outlen = (nlen - 1) / 2;
			return ESC_NAME;
		}
		if ((nlen == 1 && name[0] == '.') || (nlen == 2 && name[0] == '.' && name[1] == '.'))
			return ESC_BAD;
		if (memchr(name, '/', nlen) || memchr(name, 0, nlen))
			return ESC_BAD;
		memcpy(out, name, nlen);
		*outlen = nlen;
		return ESC_NAME;
	}
	/* Inside a chain only pieces are valid: the final one is "%<hex>" of
	 * 2..127 bytes, and the whole component must be one that is chained. */
	if (name[0] != '%' || !unhex(name + 1, nlen - 1, out))
		return ESC_BAD;
	size_t n = (nlen - 1) / 2;
	if (n < ESC_FINAL_MAX - ESC_PIECE + 1 || n > ESC_FINAL_MAX)
		return ESC_BAD;
	uint8_t whole[ESC_NAME_MAX + 1];
	bool chained;
	if (acclen + n <= ESC_NAME_MAX) {
		memcpy(whole, acc, acclen);
		memcpy(whole + acclen, out, n);
		chained = esc_chained(whole, acclen + n, false);
	} else {
		chained = true;
	}
	if (!chained)
		return ESC_BAD;
	*outlen = n;
	return ESC_NAME;
}

enum esc_kind esc_encode(const uint8_t *c, size_t clen, size_t acclen, bool view,
			 char out[ESC_NAME_MAX + 1])
{
	const uint8_t *rest = c + acclen;
	size_t rlen = clen - acclen;
	size_t n = 0;
	if (acclen == 0 && !esc_chained(c, clen, view)) {
		if (view) {
			out[n++] = '%';
			out[n++] = '_';
			n += put_hex(out + n, c, clen);
		} else if (esc_needs_escape(c, clen)) {
			out[n++] = '%';
			n += put_hex(out + n, c, clen);
		} else {
			memcpy(out, c, clen);
			n = clen;
		}
		out[n] = '\0';
		return view ? ESC_VIEW : ESC_NAME;
	}
	size_t final_max = view ? ESC_VIEW_MAX : ESC_FINAL_MAX;
	if (rlen > final_max) {
		out[n++] = '%';
		out[n++] = '+';
		n += put_hex(out + n, rest, ESC_PIECE);
		out[n] = '\0';
		return ESC_CONT;
	}
	out[n++] = '%';
	if (view)
		out[n++] = '_';
	n += put_hex(out + n, rest, rlen);
	out[n] = '\0';
	return view ? ESC_VIEW : ESC_NAME;
}
