/*
 * netglue.c — the network servers in the daemon, HTTP (net/http.h, -o
 * http=) and the Redis protocol (net/resp.h, -o redis=): writes made
 * through them visible through the mount at once. Both publish their
 * writes to the store's change feed themselves (so /.golite/events shows
 * them), and read the mount's events from it.
 *
 * The kernel caches names (negative ones too), attributes and pages, and
 * the daemon caches each known entry's attributes in its node (fs.h),
 * both on the promise that every change comes through the mount. A key
 * written or deleted over HTTP or RESP breaks that promise, so the
 * server's changed() hook, called after the store took the change and
 * before the client's reply, undoes what was cached about the key
 * (gfs_key_changed, inval.c). A table created or dropped drops the
 * root's entry of its name.
 *
 * Writes over HTTP and RESP hold the namespace lock shared
 * (write_begin/end), as every write through the mount does, so a
 * directory rename (which holds it exclusive while it rewrites the keys
 * below) never interleaves with them.
 *
 * Not covered: a file open through the mount while its key is written
 * over HTTP or RESP keeps its handle's view (the last writer wins); a key
 * component longer than one name ("%+" pieces) is not invalidated in the
 * kernel and shows after entry_timeout.
 */
#include "fs.h"

#include <stdio.h>
#include <string.h>

#include "http.h"
#include "netglue.h"
#include "resp.h"

static struct http_config hc;
static bool wanted;
static struct http_server *server;
static struct resp_options ro;
static struct resp_server *redis;

/* Takes one redis option; 0, or -1 after printing what is wrong. */
static int redis_option(const char *name, const char *value)
{
	if (!strcmp(name, "redis"))
		ro.listen = value;
	else if (!strcmp(name, "redis_password_file"))
		ro.password_file = value;
	else {
		fprintf(stderr, "golitefs: unknown option %s (redis=, redis_password_file=)\n",
			name);
		return -1;
	}
	if (!*value) {
		fprintf(stderr, "golitefs: %s wants a value\n", name);
		return -1;
	}
	return 0;
}

int netglue_configure(char *const *opts, int n, bool read_only)
{
	http_config_init(&hc);
	hc.read_only = read_only;
	resp_options_init(&ro);
	ro.listen = NULL;
	bool any_http = false;
	for (int i = 0; i < n; i++) {
		char *eq = strchr(opts[i], '=');
		char err[512];
		if (!eq) {
			fprintf(stderr, "golitefs: %s: want NAME=VALUE\n", opts[i]);
			return -1;
		}
		*eq = '\0';
		bool is_redis = !strncmp(opts[i], "redis", 5);
		int r = is_redis ? redis_option(opts[i], eq + 1)
				 : http_config_set(&hc, opts[i], eq + 1, err, sizeof(err));
		*eq = '=';
		if (r < 0) {
			if (!is_redis)
				fprintf(stderr, "golitefs: %s\n", err);
			return -1;
		}
		any_http |= !is_redis;
		if (!strncmp(opts[i], "http=", 5))
			wanted = true;
	}
	if (any_http && !wanted) {
		fprintf(stderr, "golitefs: http_* options need http=ADDR:PORT\n");
		return -1;
	}
	if (ro.password_file && !ro.listen) {
		fprintf(stderr, "golitefs: redis_password_file needs redis=ADDR:PORT\n");
		return -1;
	}
	if (ro.listen && read_only) {
		fprintf(stderr, "golitefs: redis= cannot serve a read-only mount\n");
		return -1;
	}
	return 0;
}

bool netglue_wanted(void)
{
	return wanted || ro.listen;
}

unsigned netglue_events_buffer(void)
{
	return hc.events_buffer;
}

static void write_begin(void *ctx)
{
	ns_rdlock(ctx);
}

static void write_end(void *ctx)
{
	ns_rdunlock(ctx);
}

static void changed(void *ctx, const char *table, const void *keyp, size_t klen)
{
	struct gfs *fs = ctx;
	if (!fs->se)
		return;
	if (!keyp) {
		fuse_lowlevel_notify_inval_entry(fs->se, FUSE_ROOT_ID, table, strlen(table));
		return;
	}
	uint32_t tid;
	if (golite_table_id(fs->db, table, &tid))
		return;
	gfs_key_changed(fs, tid, keyp, klen);
}

static int checkpoint(void *ctx, const char *dir, uint64_t *seq)
{
	return ctl_checkpoint(ctx, dir, seq);
}

int netglue_start(struct gfs *fs)
{
	if (ro.listen) {
		ro.changed = changed;
		ro.changed_ctx = fs;
		ro.write_begin = write_begin;
		ro.write_end = write_end;
		int r = resp_start(fs->db, &ro, &redis);
		if (r < 0) {
			fprintf(stderr, "golitefs: cannot serve the Redis protocol on %s: %s\n",
				ro.listen, strerror(-r));
			return -1;
		}
		gfs_log(LOG_LVL_INFO, "serving the Redis protocol on %s (port %d)", ro.listen,
			resp_port(redis));
	}
	if (!wanted)
		return 0;
	hc.hooks = (struct http_hooks){ .changed = changed, .write_begin = write_begin,
					.write_end = write_end, .checkpoint = checkpoint,
					.mountpoint = fs->mountpoint, .ctx = fs };
	char err[512];
	if (http_start(fs->db, &hc, &server, err, sizeof(err)) < 0) {
		fprintf(stderr, "golitefs: %s\n", err);
		resp_stop(redis);
		redis = NULL;
		return -1;
	}
	gfs_log(LOG_LVL_INFO, "serving HTTP on %s (port %u)", hc.listen, http_port(server));
	return 0;
}

void netglue_stop(struct gfs *fs)
{
	(void)fs;
	resp_stop(redis);
	redis = NULL;
	http_stop(server);
	server = NULL;
}
