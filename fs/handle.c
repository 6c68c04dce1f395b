/*
 * handle.c — the handles of open directories and control files.
 *
 * The kernel can send the release of a handle while a read of it is still
 * being served (the reading process was killed and the kernel gave up
 * waiting), and libfuse serves them on different threads. So fi->fh holds
 * a handle id, never a pointer: a request finds the object through this
 * registry and holds a reference while it uses it; the release marks the
 * handle closed, and the object is destroyed when the last reference goes.
 * Ids are never reused.
 */
#include "fs.h"

#include <stdlib.h>

#include "util.h"

#define HANDLE_BUCKETS 256

struct handle {
	struct handle *next;
	uint64_t id;
	uint32_t refs;
	bool closed;
	void *obj;
	void (*destroy)(void *obj);
};

static pthread_mutex_t handles_mu = PTHREAD_MUTEX_INITIALIZER;
static struct handle *buckets[HANDLE_BUCKETS];  /* protected by handles_mu */
static uint64_t next_id = 1;                    /* protected by handles_mu */

uint64_t handle_new(void *obj, void (*destroy)(void *obj))
{
	struct handle *h = xcalloc(1, sizeof(*h));
	h->obj = obj;
	h->destroy = destroy;
	h->refs = 1;
	mutex_lock(&handles_mu);
	h->id = next_id++;
	h->next = buckets[h->id % HANDLE_BUCKETS];
	buckets[h->id % HANDLE_BUCKETS] = h;
	mutex_unlock(&handles_mu);
	return h->id;
}

void *handle_get(uint64_t id)
{
	void *obj = NULL;
	mutex_lock(&handles_mu);
	for (struct handle *h = buckets[id % HANDLE_BUCKETS]; h; h = h->next) {
		if (h->id == id) {
			if (!h->closed) {
				h->refs++;
				obj = h->obj;
			}
			break;
		}
	}
	mutex_unlock(&handles_mu);
	return obj;
}

/* Drops a reference (handles_mu held); returns the handle to destroy. */
static struct handle *unref_locked(uint64_t id)
{
	struct handle **p = &buckets[id % HANDLE_BUCKETS];
	while (*p && (*p)->id != id)
		p = &(*p)->next;
	struct handle *h = *p;
	if (!h || --h->refs)
		return NULL;
	*p = h->next;
	return h;
}

static void destroy(struct handle *h)
{
	if (!h)
		return;
	h->destroy(h->obj);
	free(h);
}

void handle_put(uint64_t id)
{
	mutex_lock(&handles_mu);
	struct handle *h = unref_locked(id);
	mutex_unlock(&handles_mu);
	destroy(h);
}

void handle_close(uint64_t id)
{
	mutex_lock(&handles_mu);
	struct handle *h = NULL;
	for (struct handle *x = buckets[id % HANDLE_BUCKETS]; x; x = x->next) {
		if (x->id == id && !x->closed) {
			x->closed = true;
			h = unref_locked(id);
			break;
		}
	}
	mutex_unlock(&handles_mu);
	destroy(h);
}
