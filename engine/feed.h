/*
 * feed.h — the store's change feed (feed.c): a ring of the last events
 * front ends published, as lines of text, followed by readers. The API is
 * golite_feed_* in golite_raw.h; this is the part the rest of the engine
 * sees (db.h embeds a struct feed in the handle).
 */
#ifndef GOLITE_FEED_H
#define GOLITE_FEED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Events kept for readers (golite_options.feed_events). */
#define FEED_EVENTS_DEFAULT 8192u
#define FEED_EVENTS_MAX (1u << 24)

struct feed_event;
struct golite_feed_watch;

struct feed {
	pthread_mutex_t mu;          /* taken by publishers only, for a few
				      * stores; readers take no lock */
	struct feed_event **slot;    /* slot[seq % size]; RCU: replaced under
				      * mu, freed after a grace period */
	size_t size;
	uint64_t seq;                /* protected by mu: the newest event's */
	_Atomic uint64_t last;       /* seq of the newest published event */
	_Atomic uint64_t bytes;      /* bytes of every line published */
	_Atomic int64_t mtime_ns;    /* wall time of the newest event */
	_Atomic unsigned readers;    /* open readers: events are made only
				      * while there is one */
	pthread_rwlock_t watch_lock; /* read by publishers calling the
				      * watches, written to add or remove one */
	struct golite_feed_watch *watches;  /* protected by watch_lock */
	_Atomic unsigned nwatches;   /* the list's length, read without it */
};

/* Sets up an empty ring of size events (0: FEED_EVENTS_DEFAULT). */
void feed_init(struct feed *f, size_t size);
/* Frees the ring. No reader may remain, and every grace period that
 * frees a replaced event must be over (golite_close runs rcu_barrier
 * first). A feed never set up (slot NULL) is left alone. */
void feed_destroy(struct feed *f);

#endif /* GOLITE_FEED_H */
