/*
 * rcu.h — the process's one flavour of userspace RCU (liburcu, memb), used
 * by the engine and the mount alike.
 *
 * Every thread that reads engine structures under rcu_read_lock() must be
 * registered with RCU. Library entry points call rcu_thread_ensure(), which
 * registers the calling thread on its first call and arranges for it to be
 * unregistered when the thread exits (a pthread key destructor). Engine
 * threads register themselves when they start.
 */
#ifndef GOLITE_RCU_H
#define GOLITE_RCU_H

#include <stdbool.h>
#include <urcu.h>
#include <urcu/rculfhash.h>

/*
 * Publishing a pointer that readers follow inside read-side sections, and
 * following it: a release store and an acquire load (free on x86), written
 * with compiler atomics rather than liburcu's rcu_assign_pointer and
 * rcu_dereference so that ThreadSanitizer sees the ordering.
 */
#define rcu_publish(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define rcu_fetch(p) __atomic_load_n(&(p), __ATOMIC_ACQUIRE)

extern __thread bool rcu_thread_registered;
void rcu_thread_register_slow(void);

/* Registers the calling thread with RCU if it is not yet. Cheap. */
static inline void rcu_thread_ensure(void)
{
	if (__builtin_expect(!rcu_thread_registered, 0))
		rcu_thread_register_slow();
}

/* Registers fn to run in every registered thread when it exits (or
 * detaches), to free per-thread state. At most a few, registered once. */
void rcu_thread_on_exit(void (*fn)(void));

/* Unregisters the calling thread now (if registered). */
void rcu_thread_detach(void);

#endif /* GOLITE_RCU_H */
