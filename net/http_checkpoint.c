/*
 * http_checkpoint.c — POST /v1/checkpoint: a checkpoint of the store
 * (golite_checkpoint) in a directory of the server's machine, taken while
 * the store is in use.
 *
 *   request:  {"dir": "/absolute/path"}
 *   reply:    201 {"dir": "/absolute/path", "sequence": N}
 *
 * The directory must not exist and its parent must (409 exists, 404
 * not_found); a path that is not absolute, or lies inside the mount the
 * server runs beside, is 400 bad_dir. The request needs a token that may
 * write. Beside a mount the mount takes the checkpoint (hooks.checkpoint:
 * its pending sizes and times first, counted in its stats).
 */
#include "http_int.h"

#include <jansson.h>
#include <limits.h>
#include <string.h>

#include "util.h"

enum MHD_Result http_checkpoint(struct http_server *s, struct MHD_Connection *c,
				const uint8_t *body, size_t len)
{
	enum MHD_Result res;
	json_t *root = http_json_body(s, c, body, len, &res);
	if (!root)
		return res;
	json_t *jdir = json_is_object(root) ? json_object_get(root, "dir") : NULL;
	const char *dir = json_string_value(jdir);
	if (!dir || json_object_size(root) != 1) {
		res = http_error(s, c, 400, "bad_request",
				 "the body is {\"dir\": \"/absolute/path\"} and nothing else");
	} else if (dir[0] != '/' || strlen(dir) >= PATH_MAX ||
		   json_string_length(jdir) != strlen(dir)) {
		res = http_error(s, c, 400, "bad_dir",
				 "dir is an absolute path, without NUL bytes, under %d bytes",
				 PATH_MAX);
	} else if (s->c.hooks.mountpoint && path_inside(dir, s->c.hooks.mountpoint)) {
		res = http_error(s, c, 400, "bad_dir",
				 "dir lies inside the mount, which the checkpoint would copy into itself");
	} else {
		uint64_t seq = 0;
		int r = s->c.hooks.checkpoint ? s->c.hooks.checkpoint(s->c.hooks.ctx, dir, &seq)
					      : golite_checkpoint(s->db, dir, &seq);
		if (r == GOLITE_EEXIST) {
			res = http_error(s, c, 409, "exists", "checkpoint: %s exists", dir);
		} else if (r == GOLITE_ENOTFOUND) {
			res = http_error(s, c, 404, "not_found", "checkpoint: the parent of %s "
					 "does not exist", dir);
		} else if (r) {
			res = http_store_error(s, c, r, "checkpoint");
		} else {
			res = http_json_value(s, c, 201, json_pack("{s:s, s:I}", "dir", dir,
								   "sequence", (json_int_t)seq));
		}
	}
	json_decref(root);
	return res;
}
