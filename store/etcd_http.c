/*
 * etcd_http.c — requests to etcd's v3 JSON gateway over libcurl: the
 * member list, failover, timeouts, and the watch stream. See etcd_http.h.
 */
#include "etcd_http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "golite.h"
#include "golite_raw.h"
#include "util.h"

#define POOL_MAX 8

struct etcd_http {
	char **eps;                /* "HOST:PORT" */
	size_t n;
	atomic_size_t cur;         /* the member requests go to first */
	uint32_t timeout_ms;
	pthread_mutex_t mu;        /* pool */
	CURL *pool[POOL_MAX];      /* idle handles, keeping their connections */
	size_t npool;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		FATAL("libcurl cannot initialise");
}

int etcd_http_new(const char *hosts, uint32_t timeout_ms, struct etcd_http **out)
{
	pthread_once(&curl_once, curl_init_once);
	struct etcd_http *h = xcalloc(1, sizeof(*h));
	mutex_init(&h->mu);
	char *copy = xstrdup(hosts), *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strrchr(tok, ':');
		char *endp = NULL;
		long port = colon ? strtol(colon + 1, &endp, 10) : 0;
		if (!colon || colon == tok || !endp || *endp || port < 1 || port > 65535 ||
		    strpbrk(tok, "/?#@ ")) {
			golite_error_set(GOLITE_EINVAL, "etcd member \"%s\" is not HOST:PORT", tok);
			free(copy);
			etcd_http_free(h);
			return GOLITE_EINVAL;
		}
		h->eps = xrealloc(h->eps, (h->n + 1) * sizeof(*h->eps));
		h->eps[h->n++] = xstrdup(tok);
	}
	free(copy);
	if (h->n == 0) {
		etcd_http_free(h);
		return golite_error_set(GOLITE_EINVAL, "no etcd member named");
	}
	h->timeout_ms = timeout_ms;
	*out = h;
	return 0;
}

void etcd_http_free(struct etcd_http *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->npool; i++)
		curl_easy_cleanup(h->pool[i]);
	for (size_t i = 0; i < h->n; i++)
		free(h->eps[i]);
	free(h->eps);
	pthread_mutex_destroy(&h->mu);
	free(h);
}

static CURL *handle_get(struct etcd_http *h)
{
	CURL *c = NULL;
	mutex_lock(&h->mu);
	if (h->npool)
		c = h->pool[--h->npool];
	mutex_unlock(&h->mu);
	if (!c) {
		c = curl_easy_init();
		if (!c)
			FATAL("curl_easy_init failed");
	}
	return c;
}

static void handle_put(struct etcd_http *h, CURL *c)
{
	curl_easy_reset(c);
	mutex_lock(&h->mu);
	if (h->npool < POOL_MAX) {
		h->pool[h->npool++] = c;
		c = NULL;
	}
	mutex_unlock(&h->mu);
	if (c)
		curl_easy_cleanup(c);
}

struct body {
	char *p;
	size_t len, cap;
};

static size_t body_write(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;
	if (b->len + add + 1 > b->cap) {
		b->cap = MAX(b->cap * 2, b->len + add + 1);
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, data, add);
	b->len += add;
	b->p[b->len] = '\0';
	return add;
}

/* The message of an error answer ({"error": ..., "message": ...}). */
static const char *error_message(json_t *j)
{
	const char *m = json_string_value(json_object_get(j, "message"));
	if (!m)
		m = json_string_value(json_object_get(j, "error"));
	return m ? m : "(no message)";
}

static void setup(CURL *c, const char *url, struct curl_slist *hdr, const char *body,
		  size_t blen)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)blen);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
}

int etcd_call(struct etcd_http *h, const char *path, json_t *req, bool write, json_t **resp)
{
	char *body = json_dumps(req, JSON_COMPACT);
	if (!body)
		FATAL("cannot encode an etcd request");
	size_t blen = strlen(body);
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	uint64_t deadline = now_ns() + (uint64_t)h->timeout_ms * 1000000ull;
	size_t first = atomic_load(&h->cur);
	int r = GOLITE_EIO;
	char why[512] = "";
	*resp = NULL;
	for (size_t a = 0; a < h->n; a++) {
		size_t i = (first + a) % h->n;
		uint64_t now = now_ns();
		if (now >= deadline)
			break;
		uint64_t left_ms = (deadline - now) / 1000000ull + 1;
		/* A read may go on to the next member: it leaves it some time. */
		uint64_t budget = write ? left_ms : MAX(left_ms / (h->n - a), 200);
		budget = MIN(budget, left_ms);
		char url[300];
		snprintf(url, sizeof(url), "http://%s%s", h->eps[i], path);
		CURL *c = handle_get(h);
		struct body b = { 0 };
		setup(c, url, hdr, body, blen);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)budget);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)MIN(budget, 1000));
		CURLcode cc = curl_easy_perform(c);
		long status = 0;
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		handle_put(h, c);
		bool next = false;
		if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
		    (cc == CURLE_OPERATION_TIMEDOUT && status == 0 && !b.len && !write) ||
		    ((cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING) &&
		     !write)) {
			snprintf(why, sizeof(why), "etcd member %s: %s", h->eps[i],
				 curl_easy_strerror(cc));
			next = true;
		} else if (cc != CURLE_OK) {
			snprintf(why, sizeof(why), "etcd member %s: %s%s", h->eps[i],
				 curl_easy_strerror(cc),
				 write ? " (the write may or may not have been applied)" : "");
		} else {
			json_error_t je;
			json_t *j = json_loadb(b.p ? b.p : "", b.len, 0, &je);
			if (!j) {
				snprintf(why, sizeof(why), "etcd member %s: answer is not JSON: %s",
					 h->eps[i], je.text);
			} else if (status == 200) {
				*resp = j;
				r = 0;
			} else {
				const char *m = error_message(j);
				snprintf(why, sizeof(why), "etcd member %s: %s", h->eps[i], m);
				if (strstr(m, "too many operations") || strstr(m, "too large"))
					r = GOLITE_EBATCH;
				/* Refused before anything was done: another member may
				 * have a leader. */
				else if (strstr(m, "no leader") || strstr(m, "not capable") ||
					 strstr(m, "stopped"))
					next = true;
				json_decref(j);
			}
		}
		free(b.p);
		if (r == 0 || r == GOLITE_EBATCH) {
			atomic_store(&h->cur, i);
			break;
		}
		if (!next)
			break;
	}
	curl_slist_free_all(hdr);
	free(body);
	if (r)
		golite_error_set(r, "%s", why[0] ? why : "etcd did not answer in time");
	return r;
}

/* ---- streams ---- */

struct stream {
	struct body b;
	int (*fn)(void *ctx, json_t *msg);
	void *ctx;
	int r;                     /* what fn returned, or a parse error */
	const volatile int *stop;
};

static size_t stream_write(char *data, size_t size, size_t n, void *arg)
{
	struct stream *s = arg;
	size_t add = size * n;
	body_write(data, size, n, &s->b);
	/* The gateway sends one JSON object per message, each complete
	 * object ending a line; take every whole one. */
	size_t off = 0;
	while (off < s->b.len) {
		char *nl = memchr(s->b.p + off, '\n', s->b.len - off);
		if (!nl)
			break;
		size_t len = (size_t)(nl - (s->b.p + off));
		if (len > 0) {
			json_error_t je;
			json_t *j = json_loadb(s->b.p + off, len, 0, &je);
			if (!j) {
				s->r = golite_error_set(GOLITE_EIO, "etcd watch: bad message: %s",
							je.text);
				return 0;
			}
			int r = s->fn(s->ctx, j);
			json_decref(j);
			if (r) {
				s->r = r;
				return 0;   /* stops the transfer */
			}
		}
		off += len + 1;
	}
	memmove(s->b.p, s->b.p + off, s->b.len - off);
	s->b.len -= off;
	return add;
}

static int stream_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void)dt, (void)dn, (void)ut, (void)un;
	struct stream *s = arg;
	return s->stop && *s->stop ? 1 : 0;
}

int etcd_stream(struct etcd_http *h, const char *path, json_t *req,
		int (*fn)(void *ctx, json_t *msg), void *ctx, const volatile int *stop)
{
	char *body = json_dumps(req, JSON_COMPACT);
	if (!body)
		FATAL("cannot encode an etcd request");
	struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/json");
	size_t first = atomic_load(&h->cur);
	int r = GOLITE_EIO;
	char why[512] = "no etcd member answered";
	for (size_t a = 0; a < h->n; a++) {
		size_t i = (first + a) % h->n;
		char url[300];
		snprintf(url, sizeof(url), "http://%s%s", h->eps[i], path);
		CURL *c = curl_easy_init();
		if (!c)
			FATAL("curl_easy_init failed");
		struct stream s = { .fn = fn, .ctx = ctx, .stop = stop };
		setup(c, url, hdr, body, strlen(body));
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_write);
		curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
		curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)MIN(h->timeout_ms, 1000u));
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, &s);
		/* A member that went away is noticed: TCP keepalive. */
		curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
		curl_easy_setopt(c, CURLOPT_TCP_KEEPIDLE, 2L);
		curl_easy_setopt(c, CURLOPT_TCP_KEEPINTVL, 1L);
		CURLcode cc = curl_easy_perform(c);
		curl_easy_cleanup(c);
		free(s.b.p);
		if (s.r) {
			r = s.r;
			break;
		}
		if (stop && *stop) {
			r = 0;
			break;
		}
		snprintf(why, sizeof(why), "etcd member %s: watch ended: %s", h->eps[i],
			 curl_easy_strerror(cc));
		if (cc != CURLE_COULDNT_CONNECT)
			break;
	}
	curl_slist_free_all(hdr);
	free(body);
	if (r < 0 && r != GOLITE_ERANGE)
		golite_error_set(r, "%s", why);
	return r;
}

/* ---- JSON ---- */

json_t *etcd_b64(const void *p, size_t n)
{
	size_t len;
	char *s = b64_encode(p, n, &len);
	json_t *j = json_stringn(s, len);
	free(s);
	return j;
}

json_t *etcd_num(uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return json_string(buf);
}

uint64_t etcd_get_num(json_t *o, const char *field)
{
	json_t *v = json_object_get(o, field);
	if (json_is_string(v))
		return strtoull(json_string_value(v), NULL, 10);
	if (json_is_integer(v))
		return (uint64_t)json_integer_value(v);
	return 0;
}

uint8_t *etcd_get_bytes(json_t *o, const char *field, size_t *n)
{
	json_t *v = json_object_get(o, field);
	*n = 0;
	if (!json_is_string(v) || json_string_length(v) == 0)
		return NULL;
	return b64_decode(json_string_value(v), json_string_length(v), n);
}
