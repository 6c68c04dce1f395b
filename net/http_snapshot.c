/*
 * http_snapshot.c — snapshots over HTTP: the named snapshots of the store
 * (golite_snapshot_*), and the argument ?snapshot=NAME that makes a GET
 * of a key or a listing read the store as it was at one.
 *
 *   GET    /v1/snapshots        {"snapshots":[{"name","sequence","time"},...]}
 *   PUT    /v1/snapshots/NAME   creates one of now: 201 {"name","sequence"};
 *                               409 exists, 400 bad_snapshot for a bad name
 *   DELETE /v1/snapshots/NAME   drops it: 204; 404 no_snapshot
 *
 * A read at a snapshot opens a handle on it for the request (a listing
 * keeps it until its stream ends), so a drop meanwhile does not cut it.
 */
#include "http_int.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

int http_snapshot_arg(struct http_server *s, struct MHD_Connection *c, golite_snapshot **snap,
		      enum MHD_Result *res)
{
	*snap = NULL;
	bool bad = false;
	size_t len;
	char *name = http_arg(c, "snapshot", &len, &bad);
	if (bad || (name && (len == 0 || strlen(name) != len))) {
		free(name);
		*res = http_error(s, c, 400, "bad_argument", "snapshot is a snapshot's name");
		return -1;
	}
	if (!name)
		return 0;
	int r = golite_snapshot_open(s->db, name, snap);
	if (r == GOLITE_ENOTFOUND || r == GOLITE_ENAME)
		*res = http_error(s, c, 404, "no_snapshot", "no snapshot named %s", name);
	else if (r)
		*res = http_store_error(s, c, r, "snapshot");
	free(name);
	return r ? -1 : 0;
}

static enum MHD_Result snapshots_list(struct http_server *s, struct MHD_Connection *c)
{
	golite_snapshot_info *v;
	size_t n;
	int r = golite_snapshot_list(s->db, &v, &n);
	if (r)
		return http_store_error(s, c, r, "snapshots");
	json_t *list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:s, s:I, s:f}", "name", v[i].name,
						      "sequence", (json_int_t)v[i].sequence,
						      "time", (double)v[i].time_ns / 1e9));
	golite_free(v);
	return http_json_value(s, c, 200, json_pack("{s:o}", "snapshots", list));
}

static enum MHD_Result snapshot_create(struct http_server *s, struct MHD_Connection *c,
				       const char *name)
{
	uint64_t seq;
	int r = golite_snapshot_create(s->db, name, &seq);
	if (r == GOLITE_EEXIST)
		return http_error(s, c, 409, "exists", "a snapshot named %s exists", name);
	if (r == GOLITE_ENAME)
		return http_error(s, c, 400, "bad_snapshot",
				  "a snapshot's name is 1..%u bytes, without '/', not . or ..",
				  GOLITE_MAX_SNAPSHOT_NAME);
	if (r)
		return http_store_error(s, c, r, "snapshot");
	return http_json_value(s, c, 201, json_pack("{s:s, s:I}", "name", name, "sequence",
						    (json_int_t)seq));
}

static enum MHD_Result snapshot_drop(struct http_server *s, struct MHD_Connection *c,
				     const char *name)
{
	int r = golite_snapshot_drop(s->db, name);
	if (r == GOLITE_ENOTFOUND || r == GOLITE_ENAME)
		return http_error(s, c, 404, "no_snapshot", "no snapshot named %s", name);
	if (r)
		return http_store_error(s, c, r, "snapshot");
	struct MHD_Response *resp = MHD_create_response_from_buffer(0, NULL,
								    MHD_RESPMEM_PERSISTENT);
	return resp ? http_queue(s, c, MHD_HTTP_NO_CONTENT, resp) : MHD_NO;
}

enum MHD_Result http_snapshots(struct http_server *s, struct MHD_Connection *c,
			       const char *method, const struct http_route *rt)
{
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	if (!rt->table) {
		if (get)
			return snapshots_list(s, c);
		return http_bad_method(s, c, method, "GET, HEAD");
	}
	if (!strcmp(method, "PUT"))
		return snapshot_create(s, c, rt->table);
	if (!strcmp(method, "DELETE"))
		return snapshot_drop(s, c, rt->table);
	return http_bad_method(s, c, method, "PUT, DELETE");
}
