/*
 * resp_proto.c — RESP2 on the wire: the request parser, the reply
 * buffers, and Redis' glob patterns.
 *
 * Requests come in two forms:
 *
 *   multibulk   *<argc>\r\n  then argc times  $<len>\r\n<len bytes>\r\n
 *   inline      a line of words separated by spaces, ended by \n (a \r
 *               before it is dropped); "..." and '...' quote a word, and
 *               inside "..." \n \r \t \b \a \\ \" and \xHH are escapes
 *
 * The parser is resumable: it reads what has arrived, keeps its place in
 * the connection (mb_left, bulk_len, pos) and goes on when more comes, so
 * a big value arriving in many reads is looked at once.
 *
 * Invariants:
 *   1. Argument offsets are relative to cmd_start: the buffer may be moved
 *      or compacted (cmd_start moved to 0) between reads.
 *   2. While too_big, nothing before pos is needed: the command is
 *      refused, its bytes are counted and dropped (cmd_start == pos
 *      after every step), so a request over the limit never grows the
 *      buffer.
 *   3. An error sent for PARSE_FATAL is the last thing written on the
 *      connection; after PARSE_REJECTED the next request is read normally.
 */
#include "resp_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ---- buffers ---- */

char *ob_room(struct obuf *b, size_t n)
{
	if (unlikely(b->cap - b->len < n)) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap - b->len < n)
			cap *= 2;
		b->p = xrealloc(b->p, cap);
		b->cap = cap;
	}
	return b->p + b->len;
}

void ob_put(struct obuf *b, const void *p, size_t n)
{
	char *d = ob_room(b, n);
	if (n)
		memcpy(d, p, n);
	b->len += n;
}

void ob_free(struct obuf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = b->sent = 0;
}

size_t u64_to_dec(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (size_t i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* Writes "<type><v>\r\n". */
static void put_header(struct obuf *b, char type, long long v)
{
	char *d = ob_room(b, 24);
	size_t n = 0;
	d[n++] = type;
	if (v < 0) {
		d[n++] = '-';
		n += u64_to_dec(d + n, (uint64_t)0 - (uint64_t)v);
	} else {
		n += u64_to_dec(d + n, (uint64_t)v);
	}
	d[n++] = '\r';
	d[n++] = '\n';
	b->len += n;
}

void reply_simple(struct obuf *b, const char *s)
{
	size_t n = strlen(s);
	char *d = ob_room(b, n + 3);
	d[0] = '+';
	memcpy(d + 1, s, n);
	d[n + 1] = '\r';
	d[n + 2] = '\n';
	b->len += n + 3;
}

/* Writes "-CODE message\r\n" with CR and LF in the message made spaces. */
static void error_v(struct obuf *b, const char *code, const char *fmt, va_list ap)
{
	char msg[512];
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof msg)
		n = sizeof msg - 1;
	size_t clen = strlen(code);
	char *d = ob_room(b, clen + (size_t)n + 4);
	size_t k = 0;
	d[k++] = '-';
	memcpy(d + k, code, clen);
	k += clen;
	d[k++] = ' ';
	for (int i = 0; i < n; i++)
		d[k++] = (msg[i] == '\r' || msg[i] == '\n') ? ' ' : msg[i];
	d[k++] = '\r';
	d[k++] = '\n';
	b->len += k;
}

void reply_error(struct obuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_v(b, "ERR", fmt, ap);
	va_end(ap);
}

void reply_error_code(struct obuf *b, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	error_v(b, code, fmt, ap);
	va_end(ap);
}

void reply_int(struct obuf *b, long long v)
{
	put_header(b, ':', v);
}

void reply_bulk(struct obuf *b, const void *p, size_t n)
{
	put_header(b, '$', (long long)n);
	char *d = ob_room(b, n + 2);
	if (n)
		memcpy(d, p, n);
	d[n] = '\r';
	d[n + 1] = '\n';
	b->len += n + 2;
}

void reply_cstr(struct obuf *b, const char *s)
{
	reply_bulk(b, s, strlen(s));
}

void reply_null(struct obuf *b)
{
	ob_put(b, "$-1\r\n", 5);
}

void reply_array(struct obuf *b, size_t n)
{
	put_header(b, '*', (long long)n);
}

#define DEFER_ROOM 24

size_t reply_defer(struct obuf *b)
{
	ob_room(b, DEFER_ROOM);
	size_t mark = b->len;
	b->len += DEFER_ROOM;
	return mark;
}

void reply_defer_set(struct obuf *b, size_t mark, size_t n)
{
	char h[DEFER_ROOM];
	size_t k = 0;
	h[k++] = '*';
	k += u64_to_dec(h + k, n);
	h[k++] = '\r';
	h[k++] = '\n';
	char *body = b->p + mark + DEFER_ROOM;
	size_t blen = b->len - mark - DEFER_ROOM;
	memcpy(b->p + mark, h, k);
	memmove(b->p + mark + k, body, blen);
	b->len = mark + k + blen;
}

bool parse_ll(const char *p, size_t n, long long *out)
{
	if (n == 0 || n > 20)
		return false;
	size_t i = 0;
	bool neg = false;
	if (p[0] == '-') {
		neg = true;
		i = 1;
		if (n == 1)
			return false;
	}
	if (p[i] == '0' && n > i + 1)
		return false;
	uint64_t v = 0;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		uint64_t d = (uint64_t)(p[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return false;
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(long long)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return false;
		*out = (long long)v;
	}
	return true;
}

/* ---- glob patterns ---- */

/* Matches one pattern element at pat (not '*') against byte ch; sets *adv
 * to the element's length. */
static bool match_one(const char *pat, size_t plen, unsigned char ch, size_t *adv)
{
	if (pat[0] == '?') {
		*adv = 1;
		return true;
	}
	if (pat[0] == '\\' && plen > 1) {
		*adv = 2;
		return (unsigned char)pat[1] == ch;
	}
	if (pat[0] != '[') {
		*adv = 1;
		return (unsigned char)pat[0] == ch;
	}
	size_t i = 1;
	bool negate = false, hit = false;
	if (i < plen && (pat[i] == '^' || pat[i] == '!')) {
		negate = true;
		i++;
	}
	/* A class runs to its ']' (a ']' right after '[' or '[^' is a
	 * member), or to the pattern's end. */
	bool first = true;
	while (i < plen && (pat[i] != ']' || first)) {
		first = false;
		unsigned char lo = (unsigned char)pat[i];
		if (lo == '\\' && i + 1 < plen)
			lo = (unsigned char)pat[++i];
		if (i + 2 < plen && pat[i + 1] == '-' && pat[i + 2] != ']') {
			unsigned char hi = (unsigned char)pat[i + 2];
			i += 2;
			if (hi == '\\' && i + 1 < plen)
				hi = (unsigned char)pat[++i];
			if (lo > hi) {
				unsigned char t = lo;
				lo = hi;
				hi = t;
			}
			if (ch >= lo && ch <= hi)
				hit = true;
		} else if (ch == lo) {
			hit = true;
		}
		i++;
	}
	*adv = i < plen ? i + 1 : plen;
	return hit != negate;
}

/* Iterative matching with one backtrack point (the last '*'): linear in
 * practice, never exponential, unlike the recursive form. */
bool glob_match(const char *pat, size_t plen, const char *s, size_t slen)
{
	size_t pi = 0, si = 0, star_pi = SIZE_MAX, star_si = 0;
	while (si < slen) {
		if (pi < plen && pat[pi] == '*') {
			while (pi < plen && pat[pi] == '*')
				pi++;
			if (pi == plen)
				return true;
			star_pi = pi;
			star_si = si;
			continue;
		}
		size_t adv;
		if (pi < plen && match_one(pat + pi, plen - pi, (unsigned char)s[si], &adv)) {
			pi += adv;
			si++;
			continue;
		}
		if (star_pi == SIZE_MAX)
			return false;
		pi = star_pi;
		si = ++star_si;
	}
	while (pi < plen && pat[pi] == '*')
		pi++;
	return pi == plen;
}

size_t glob_prefix_len(const char *pat, size_t plen)
{
	size_t i = 0;
	while (i < plen && pat[i] != '*' && pat[i] != '?' && pat[i] != '[' && pat[i] != '\\')
		i++;
	return i;
}

/* ---- the parser ---- */

static void add_arg(struct conn *c, size_t off, size_t len)
{
	if (c->argc == c->argv_cap) {
		c->argv_cap = c->argv_cap ? c->argv_cap * 2 : 16;
		c->argv = xrealloc(c->argv, c->argv_cap * sizeof *c->argv);
	}
	c->argv[c->argc].off = off;
	c->argv[c->argc].len = len;
	c->argc++;
}

/* Parses the decimal in [p, p + n), which must be followed by "\r".
 * Returns false if it is not a number of at most 18 digits. */
static bool header_number(const char *p, size_t n, long long *v)
{
	if (n < 2 || p[n - 1] != '\r')
		return false;
	return n - 1 <= 19 && parse_ll(p, n - 1, v);
}

static enum parse_result fatal(struct conn *c, const char *what)
{
	reply_error(&c->out, "Protocol error: %s", what);
	c->mb_left = -1;
	return PARSE_FATAL;
}

/* Splits the line [start, end) in place into arguments. */
static enum parse_result parse_inline(struct conn *c, size_t end_nl)
{
	size_t end = end_nl;
	if (end > c->pos && c->in[end - 1] == '\r')
		end--;
	char *b = c->in;
	size_t i = c->pos;
	c->argc = 0;
	while (i < end) {
		while (i < end && (b[i] == ' ' || b[i] == '\t'))
			i++;
		if (i == end)
			break;
		size_t w = i, start = i;       /* write position, argument start */
		if (b[i] == '"' || b[i] == '\'') {
			char q = b[i++];
			bool closed = false;
			while (i < end) {
				char ch = b[i++];
				if (ch == q) {
					closed = true;
					break;
				}
				if (ch == '\\' && i < end) {
					char e = b[i++];
					if (q == '\'') {
						ch = e == '\'' ? '\'' : ch;
						if (e != '\'')
							i--;
					} else if (e == 'x' && i + 1 < end && isxdigit((unsigned char)b[i]) &&
						   isxdigit((unsigned char)b[i + 1])) {
						char hx[3] = { b[i], b[i + 1], 0 };
						ch = (char)strtol(hx, NULL, 16);
						i += 2;
					} else {
						ch = e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' :
						     e == 'b' ? '\b' : e == 'a' ? '\a' : e;
					}
				}
				b[w++] = ch;
			}
			/* A closing quote must end the word. */
			if (!closed || (i < end && b[i] != ' ' && b[i] != '\t')) {
				c->pos = end_nl + 1;
				c->argc = 0;
				reply_error(&c->out, "Protocol error: unbalanced quotes in request");
				return PARSE_REJECTED;
			}
		} else {
			while (i < end && b[i] != ' ' && b[i] != '\t')
				b[w++] = b[i++];
		}
		add_arg(c, start - c->cmd_start, w - start);
	}
	c->pos = end_nl + 1;
	return c->argc ? PARSE_COMMAND : PARSE_REJECTED;
}

size_t parse_need(const struct conn *c)
{
	if (c->mb_left > 0 && c->bulk_len >= 0 && !c->too_big)
		return c->pos - c->cmd_start + (size_t)c->bulk_len + 2;
	return 0;
}

enum parse_result parse_command(struct conn *c, size_t max_request)
{
	char *b = c->in;
	for (;;) {
		if (c->mb_left < 0) {
			/* Between commands. */
			if (c->pos == c->in_len)
				return PARSE_MORE;
			char *nl = memchr(b + c->pos, '\n', c->in_len - c->pos);
			if (b[c->pos] != '*') {
				if (!nl) {
					if (c->in_len - c->pos > RESP_INLINE_MAX)
						return fatal(c, "too big inline request");
					return PARSE_MORE;
				}
				if ((size_t)(nl - b) - c->pos > RESP_INLINE_MAX)
					return fatal(c, "too big inline request");
				/* An empty line is PARSE_REJECTED with nothing to answer. */
				return parse_inline(c, (size_t)(nl - b));
			}
			if (!nl) {
				if (c->in_len - c->pos > 32)
					return fatal(c, "invalid multibulk length");
				return PARSE_MORE;
			}
			long long n;
			if (!header_number(b + c->pos + 1, (size_t)(nl - b) - c->pos - 1, &n) ||
			    n > (long long)RESP_MAX_ARGS)
				return fatal(c, "invalid multibulk length");
			c->pos = (size_t)(nl - b) + 1;
			if (n <= 0) {
				c->cmd_start = c->pos;
				continue;
			}
			c->mb_left = n;
			c->bulk_len = -1;
			c->argc = 0;
			c->too_big = false;
		}
		while (c->mb_left > 0) {
			if (c->bulk_len < 0) {
				if (c->pos == c->in_len)
					return PARSE_MORE;
				char *nl = memchr(b + c->pos, '\n', c->in_len - c->pos);
				if (b[c->pos] != '$') {
					char what[40];
					unsigned char ch = (unsigned char)b[c->pos];
					snprintf(what, sizeof what, "expected '$', got '%c'",
						 ch >= ' ' && ch < 127 ? ch : '?');
					return fatal(c, what);
				}
				if (!nl) {
					if (c->in_len - c->pos > 32)
						return fatal(c, "invalid bulk length");
					return PARSE_MORE;
				}
				long long n;
				if (!header_number(b + c->pos + 1, (size_t)(nl - b) - c->pos - 1, &n) ||
				    n < 0)
					return fatal(c, "invalid bulk length");
				c->pos = (size_t)(nl - b) + 1;
				c->bulk_len = n;
				if (!c->too_big &&
				    c->pos - c->cmd_start + (size_t)n + 2 > max_request)
					c->too_big = true;
				if (c->too_big) {
					c->bulk_len += 2;   /* the bytes left to drop */
					c->cmd_start = c->pos;
				}
			}
			if (c->too_big) {
				/* Invariant 2: drop what has come of it. */
				size_t have = c->in_len - c->pos;
				size_t take = have < (size_t)c->bulk_len ? have : (size_t)c->bulk_len;
				c->pos += take;
				c->cmd_start = c->pos;
				c->bulk_len -= (long long)take;
				if (c->bulk_len > 0)
					return PARSE_MORE;
			} else {
				size_t n = (size_t)c->bulk_len;
				if (c->in_len - c->pos < n + 2)
					return PARSE_MORE;
				if (b[c->pos + n] != '\r' || b[c->pos + n + 1] != '\n')
					return fatal(c, "bulk not followed by CRLF");
				add_arg(c, c->pos - c->cmd_start, n);
				c->pos += n + 2;
			}
			c->bulk_len = -1;
			c->mb_left--;
		}
		c->mb_left = -1;
		if (c->too_big) {
			c->too_big = false;
			c->argc = 0;
			reply_error(&c->out, "request larger than the server's limit of %zu bytes",
				    max_request);
			return PARSE_REJECTED;
		}
		return PARSE_COMMAND;
	}
}
