/*
 * resp_serve.c — the test driver of the RESP server: opens a store,
 * serves it until SIGTERM or SIGINT, then stops the server and closes the
 * store cleanly (exit status 0 only if the close succeeded).
 *
 *   resp_serve [-a PASSFILE] [-j THREADS] [-m MAXREQ] [-c MAXCLIENTS]
 *              [-t TABLE] [-v] DATADIR ADDR:PORT
 *
 * Prints "listening on PORT" once it accepts connections. -v prints
 * "changed TABLE KEY" for every change the server reports (the callback a
 * mount would use to drop its caches).
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "golite.h"
#include "resp.h"

static pthread_mutex_t print_mu = PTHREAD_MUTEX_INITIALIZER;

static void print_change(void *ctx, const char *table, const void *key, size_t klen)
{
	(void)ctx;
	pthread_mutex_lock(&print_mu);
	printf("changed %s %.*s\n", table, (int)klen, key ? (const char *)key : "*");
	fflush(stdout);
	pthread_mutex_unlock(&print_mu);
}

static void usage(void)
{
	fprintf(stderr, "usage: resp_serve [-a PASSFILE] [-j THREADS] [-m MAXREQ] "
			"[-c MAXCLIENTS] [-t TABLE] [-v] DATADIR ADDR:PORT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct resp_options o;
	resp_options_init(&o);
	int opt;
	while ((opt = getopt(argc, argv, "a:j:m:c:t:v")) != -1) {
		switch (opt) {
		case 'a': o.password_file = optarg; break;
		case 'j': o.threads = (unsigned)atoi(optarg); break;
		case 'm': o.max_request_size = strtoull(optarg, NULL, 0); break;
		case 'c': o.max_clients = (unsigned)atoi(optarg); break;
		case 't': o.default_table = optarg; break;
		case 'v': o.changed = print_change; break;
		default: usage();
		}
	}
	if (argc - optind != 2)
		usage();
	o.listen = argv[optind + 1];

	/* Signals: the threads inherit the mask; main waits for them. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	golite *db;
	int r = golite_open(argv[optind], NULL, &db);
	if (r) {
		fprintf(stderr, "resp_serve: %s: %s\n", argv[optind], golite_last_error());
		return 1;
	}
	struct resp_server *srv;
	r = resp_start(db, &o, &srv);
	if (r) {
		fprintf(stderr, "resp_serve: %s\n", strerror(-r));
		golite_close(db);
		return 1;
	}
	printf("listening on %d\n", resp_port(srv));
	fflush(stdout);
	int sig;
	sigwait(&set, &sig);
	resp_stop(srv);
	r = golite_close(db);
	if (r) {
		fprintf(stderr, "resp_serve: close: %s\n", golite_strerror(r));
		return 1;
	}
	return 0;
}
