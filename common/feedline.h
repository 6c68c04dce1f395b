/*
 * feedline.h — reading the lines of the store's change feed (golite_raw.h,
 * "the change feed"; engine/feed.c draws the format), for the front ends
 * that follow it: the HTTP server's /v1/events and the RESP server's
 * keyspace notifications.
 *
 *   SEQ TIME OP FIELD...\n
 *
 * Each FIELD is escaped with common/keyesc.h (KEYESC_SPACE); the words
 * are separated by one space.
 */
#ifndef GOLITE_FEEDLINE_H
#define GOLITE_FEEDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* The most fields a line of the known publishers holds (TABLE KEY TABLE2
 * KEY2, TABLE PATH TABLE2 PATH2). */
#define FEEDLINE_FIELDS_MAX 4

/* A line split into its words, each NUL-terminated inside the line. */
struct feedline {
	const char *seq, *time, *op;
	char *field[FEEDLINE_FIELDS_MAX];    /* unescaped bytes, NUL after them */
	size_t flen[FEEDLINE_FIELDS_MAX];
	size_t nfields;
};

/*
 * Splits line (NUL-terminated, without its '\n'), in place: its spaces
 * become NULs and its fields are unescaped where they stand. False for a
 * line that is not one (fewer than three words, more than
 * FEEDLINE_FIELDS_MAX fields, a bad escape); line is then undefined.
 */
bool feedline_split(char *line, struct feedline *out);

/* True if the line's op is op. */
bool feedline_op_is(const struct feedline *l, const char *op);

/*
 * Calls fn(ctx, line) for each whole line in buf[0, len), the line's '\n'
 * replaced by a NUL. Returns the bytes of the whole lines: what is after
 * them is the start of a line not read whole, to be completed by the next
 * read.
 */
size_t feedline_each(char *buf, size_t len, void (*fn)(void *ctx, char *line), void *ctx);

#endif /* GOLITE_FEEDLINE_H */
