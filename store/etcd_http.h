/*
 * etcd_http.h — requests to etcd's v3 JSON gateway (etcd_http.c).
 *
 * etcd serves its gRPC API as JSON over HTTP/1.1 on the client port
 * (POST /v3/kv/range, /v3/kv/txn, /v3/watch, ...): keys and values in
 * base64, 64-bit numbers as strings. Any member answers any request (it
 * forwards writes to the leader), so the client keeps a list of members
 * and moves to the next one when a member cannot be reached.
 *
 * Failures. A request has the store's timeout in all. A member that
 * refuses the connection, or answers that it has no leader, is skipped
 * and the next tried within that time (nothing reached the cluster). A
 * request that reached a member and got no answer in time is GOLITE_EIO:
 * a read is tried on the next member with the time left, a write is not
 * (it may have been applied; the caller reads to find out).
 */
#ifndef GOLITE_ETCD_HTTP_H
#define GOLITE_ETCD_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct etcd_http;

/* hosts: "HOST:PORT[,HOST:PORT...]". 0, or GOLITE_EINVAL for a bad list. */
int etcd_http_new(const char *hosts, uint32_t timeout_ms, struct etcd_http **out);
void etcd_http_free(struct etcd_http *h);

/* POSTs req (JSON) to path ("/v3/kv/txn"); on 0, *resp is the answer
 * (json_decref it). write: the request changes the store (not retried
 * once it may have reached a member). GOLITE_EIO with the member's
 * message for a refusal; GOLITE_EBATCH for a request over etcd's limits. */
int etcd_call(struct etcd_http *h, const char *path, json_t *req, bool write, json_t **resp);

/* POSTs req to a streaming path (/v3/watch) and calls fn for each JSON
 * message of the answer until fn returns non-zero (returned), *stop
 * becomes non-zero (checked at least once a second; returns 0) or the
 * stream ends (GOLITE_EIO). No timeout applies once the stream is open. */
int etcd_stream(struct etcd_http *h, const char *path, json_t *req,
		int (*fn)(void *ctx, json_t *msg), void *ctx, const volatile int *stop);

/* JSON helpers for the gateway's conventions. */
json_t *etcd_b64(const void *p, size_t n);           /* base64 string */
json_t *etcd_num(uint64_t v);                        /* "123" */
uint64_t etcd_get_num(json_t *o, const char *field); /* 0 if absent */
/* Decodes base64 field of o into a malloc'd buffer (*n its length); NULL
 * with *n 0 if absent or empty. */
uint8_t *etcd_get_bytes(json_t *o, const char *field, size_t *n);

#endif
