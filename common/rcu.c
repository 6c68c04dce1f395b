/*
 * rcu.c — automatic RCU registration of threads that call the library.
 * See rcu.h.
 */
#include "rcu.h"

#include <pthread.h>
#include <stdatomic.h>

#include "util.h"

__thread bool rcu_thread_registered;

static pthread_key_t exit_key;

#define MAX_EXIT_FNS 4
static void (*_Atomic exit_fns[MAX_EXIT_FNS])(void);

void rcu_thread_on_exit(void (*fn)(void))
{
	for (int i = 0; i < MAX_EXIT_FNS; i++) {
		void (*expected)(void) = NULL;
		if (atomic_load(&exit_fns[i]) == fn ||
		    atomic_compare_exchange_strong(&exit_fns[i], &expected, fn))
			return;
	}
	FATAL("too many thread exit functions");
}

static void run_exit_fns(void)
{
	for (int i = 0; i < MAX_EXIT_FNS; i++) {
		void (*fn)(void) = atomic_load(&exit_fns[i]);
		if (fn)
			fn();
	}
}
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void on_thread_exit(void *arg)
{
	(void)arg;
	run_exit_fns();
	if (rcu_thread_registered) {
		rcu_unregister_thread();
		rcu_thread_registered = false;
	}
}

static void make_exit_key(void)
{
	if (pthread_key_create(&exit_key, on_thread_exit))
		FATAL("pthread_key_create");
	/*
	 * liburcu's call_rcu worker (and the hash tables' resize worker) are
	 * registered RCU readers. Pausing them across fork() (they unregister
	 * while paused) keeps the child's registry free of threads that do not
	 * exist there; without it the child's first synchronize_rcu() walks
	 * the dead threads' entries, whose memory glibc reuses for the child's
	 * new thread stacks.
	 */
	if (pthread_atfork(call_rcu_before_fork, call_rcu_after_fork_parent,
			   call_rcu_after_fork_child))
		FATAL("pthread_atfork");
}

void rcu_thread_register_slow(void)
{
	pthread_once(&exit_key_once, make_exit_key);
	rcu_register_thread();
	rcu_thread_registered = true;
	/* Any non-NULL value makes the destructor run at thread exit. */
	pthread_setspecific(exit_key, (void *)1);
}

void rcu_thread_detach(void)
{
	run_exit_fns();
	if (rcu_thread_registered) {
		rcu_unregister_thread();
		rcu_thread_registered = false;
		pthread_setspecific(exit_key, NULL);
	}
}
