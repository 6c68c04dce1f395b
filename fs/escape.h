/*
 * escape.h — how keys that cannot be path components are named on the
 * mount, and back. The mapping is a bijection: every key has exactly one
 * path and every name that the mount shows decodes to the key it came from.
 *
 * A key is split at '/' into components: "a/b/k" is the path a/b/k. A
 * component is *plain* when it can be a file name as it is: 1..255 bytes,
 * no NUL, not "." or "..", and not in the reserved forms below. Plain
 * components are shown unchanged. The others are escaped:
 *
 *   %<hex>        the component whose bytes are <hex> (lowercase, two digits
 *                 per byte). "%" alone is the empty component (keys such as
 *                 "/a", "a/" or "a//b"), "%2e" is ".", "%2e2e" is "..",
 *                 "%610062" is "a\0b". Used for components of 0..127 bytes.
 *   %+<hex>       a non-final piece of a component too long for one name
 *                 (more than 255 bytes, or more than 127 bytes that need
 *                 escaping): exactly 126 bytes as 252 hex digits, shown as a
 *                 directory. Its entries continue the same component: more
 *                 "%+" pieces while more than 127 bytes remain, then the
 *                 final piece as "%<hex>" (2..127 bytes). A 300-byte
 *                 component is %+<126 bytes>/%+<126 bytes>/%<48 bytes>.
 *   %_<hex>       the directory named by a component that is also a file:
 *                 a key "x" written through the API and keys "x/..." too.
 *                 The file keeps the name "x"; the directory is "%_78".
 *                 Components of 1..126 bytes; longer ones are chained as
 *                 above with a final "%_<hex>" piece of 1..126 bytes.
 *
 * Reserved forms. A name starting with "%+" or "%_" is always decoded as
 * above (a key component that starts so is escaped as %<hex>). A name of
 * the form "%<hex>" is decoded only when the bytes it stands for need
 * escaping; otherwise it is an ordinary name: "%41" is the component
 * "%41", not "A" (and the key component "%2e" is shown as "%252e" because
 * "%2e" would mean "."). So every name a program creates through the mount
 * reads back unchanged, except names starting with "%+" or "%_", which
 * cannot be created (EINVAL), and "%", which is the empty component.
 *
 * Invariants:
 *   1. esc_decode(esc_encode(c)) == c for every component c (piece by piece
 *      for chained components).
 *   2. esc_encode(esc_decode(n)) == n for every name n that decodes.
 */
#ifndef GOLITEFS_ESCAPE_H
#define GOLITEFS_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ESC_NAME_MAX 255u    /* bytes in a name (NAME_MAX) */
#define ESC_PIECE 126u       /* bytes of a component in one "%+" piece */
#define ESC_FINAL_MAX 127u   /* bytes of a component in one "%<hex>" name */
#define ESC_VIEW_MAX 126u    /* bytes of a component in one "%_<hex>" name */

enum esc_kind {
	ESC_NAME = 0,  /* a component, or the final piece of a chained one */
	ESC_VIEW = 1,  /* the directory view of a component that is also a file */
	ESC_CONT = 2,  /* a non-final piece of a chained component */
	ESC_BAD = 3,   /* not a name that this directory can hold */
};

/* True if component c (len bytes) cannot be shown as it is. */
bool esc_needs_escape(const uint8_t *c, size_t len);

/* True if the entry for component c is a chain of pieces (view: the
 * directory view of c). */
bool esc_chained(const uint8_t *c, size_t len, bool view);

/*
 * Decodes a name found in a directory. acc/acclen are the bytes of the
 * current component consumed by the "%+" pieces above (acclen 0 in an
 * ordinary directory). Writes the bytes the name stands for into out (at
 * most ESC_NAME_MAX) and their count into *outlen. Returns the kind; for
 * ESC_NAME and ESC_VIEW the component is acc followed by out.
 */
enum esc_kind esc_decode(const char *name, size_t nlen, const uint8_t *acc, size_t acclen,
			 uint8_t *out, size_t *outlen);

/*
 * Encodes the entry for component c (clen bytes; view: its directory view)
 * in a directory where acclen of its bytes are consumed by "%+" pieces
 * (acclen is 0 or a multiple of ESC_PIECE below clen). Writes the
 * NUL-terminated name into out. Returns ESC_CONT if the name is a piece
 * (then the entry is a directory holding the rest), else ESC_NAME or
 * ESC_VIEW.
 */
enum esc_kind esc_encode(const uint8_t *c, size_t clen, size_t acclen, bool view,
			 char out[ESC_NAME_MAX + 1]);

#endif /* GOLITEFS_ESCAPE_H */
