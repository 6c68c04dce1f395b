/*
 * serve.c — golite serve: the HTTP API (net/http.h, docs/api.md) and, with
 * --redis, the Redis protocol (net/resp.h, docs/redis.md) on a data
 * directory that is not mounted. Both serve the one open store and share
 * its change feed: a write through either shows in /v1/events and in
 * keyspace notifications. Runs until SIGINT or SIGTERM, then stops the
 * servers (requests under way finish, event streams end) and closes the
 * store cleanly (the log written and synced).
 *
 * The process holds the data directory's lock like any opener: a mounted
 * store is refused; serve the mount's store with golitefs -o http=...
 */
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "http.h"
#include "resp.h"

int cmd_serve(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "create", no_argument, NULL, 'c' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "tls-cert", required_argument, NULL, 'C' },
		{ "tls-key", required_argument, NULL, 'K' },
		{ "tokens", required_argument, NULL, 'T' },
		{ "threads", required_argument, NULL, 't' },
		{ "max-conns", required_argument, NULL, 'm' },
		{ "max-body", required_argument, NULL, 'b' },
		{ "timeout", required_argument, NULL, 'o' },
		{ "conn-memory", required_argument, NULL, 'M' },
		{ "events-buffer", required_argument, NULL, 'e' },
		{ "redis", required_argument, NULL, 'R' },
		{ "redis-password-file", required_argument, NULL, 'P' },
		{ "no-http", no_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct http_config hc;
	http_config_init(&hc);
	struct resp_options ro;
	resp_options_init(&ro);
	ro.listen = NULL;
	bool create = false, http = true;
	int status = 0, c;
	char err[512];
	while ((c = cli_getopt(argc, argv, "l:crh", longs, &status)) != -1) {
		const char *name = NULL;
		switch (c) {
		case 'l': name = "http"; break;
		case 'c': create = true; break;
		case 'r': hc.read_only = true; break;
		case 'C': name = "http_tls_cert"; break;
		case 'K': name = "http_tls_key"; break;
		case 'T': name = "http_tokens"; break;
		case 't': name = "http_threads"; break;
		case 'm': name = "http_max_conns"; break;
		case 'b': name = "http_max_body"; break;
		case 'o': name = "http_timeout"; break;
		case 'M': name = "http_conn_memory"; break;
		case 'e': name = "http_events_buffer"; break;
		case 'R': ro.listen = optarg; break;
		case 'P': ro.password_file = optarg; break;
		case 'N': http = false; break;
		default: break;
		}
		if (name && http_config_set(&hc, name, optarg, err, sizeof(err)) < 0) {
			cli_error("%s", err);
			return EXIT_ERROR;
		}
	}
	if (status)
		return status;
	if (!cli_operands(argc, 1, 1))
		return EXIT_ERROR;
	const char *dir = argv[optind];
	if (!http && !ro.listen) {
		cli_error("--no-http needs --redis ADDR:PORT: there would be nothing to serve");
		return EXIT_ERROR;
	}
	if (ro.listen && hc.read_only) {
		cli_error("--read-only is for HTTP only: the Redis protocol has no read-only mode");
		return EXIT_ERROR;
	}
	if (hc.events_buffer)
		cli.opts.feed_events = hc.events_buffer;

	/* The command's writes are durable at close; a server's must be
	 * within the periodic window unless asked otherwise. */
	if (!cli.durability_set)
		cli.opts.durability = GOLITE_PERIODIC;
	/* The server's threads must not take the signals: the main thread
	 * waits for them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	golite *db = cli_open(dir, hc.read_only ? CLI_READ : create ? CLI_CREATE : CLI_WRITE);
	if (!db)
		return EXIT_ERROR;
	struct http_server *srv = NULL;
	struct resp_server *rs = NULL;
	if (http && http_start(db, &hc, &srv, err, sizeof(err)) < 0) {
		cli_error("%s", err);
		return cli_close(db, EXIT_ERROR);
	}
	if (srv)
		fprintf(stderr, "golite: serve: %s: HTTP on %s (port %u)%s\n", dir, hc.listen,
			http_port(srv), hc.tls_cert ? ", HTTPS" : "");
	if (ro.listen) {
		int r = resp_start(db, &ro, &rs);
		if (r < 0) {
			cli_error("cannot serve the Redis protocol on %s: %s", ro.listen,
				  strerror(-r));
			http_stop(srv);
			return cli_close(db, EXIT_ERROR);
		}
		fprintf(stderr, "golite: serve: %s: Redis protocol on %s (port %d)\n", dir,
			ro.listen, resp_port(rs));
	}
	int sig = 0;
	sigwait(&sigs, &sig);
	fprintf(stderr, "golite: serve: %s: stopping\n", strsignal(sig));
	resp_stop(rs);
	http_stop(srv);
	return cli_close(db, 0);
}
