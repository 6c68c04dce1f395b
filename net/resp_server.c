/*
 * resp_server.c — the RESP server's threads and connections.
 *
 * One epoll loop per worker thread, non-blocking sockets, level-triggered
 * events. Worker 0 watches the listening socket too and hands each new
 * connection to the workers in turn, through their inbox (an eventfd and
 * a list under worker.mu), so that connections spread evenly.
 *
 * A readable connection is read once (at least RESP_READ_CHUNK bytes of
 * room, more when a big argument is on its way), every whole command in
 * the buffer is run, their replies are appended to the connection's output
 * buffer, and the buffer is written with one send(): a client that
 * pipelines 16 commands costs one read and one write, not 16 of each.
 *
 * Invariants:
 *   1. Only the owning worker reads, writes, parses or frees a connection.
 *      Other threads reach it only through the pub/sub registry (under
 *      server.ps_lock) and its worker's inbox (under worker.mu).
 *   2. A closed connection leaves the registry (ps_conn_gone, under the
 *      write lock) and its worker's ready list before its memory is freed,
 *      and it is freed only after the epoll batch that closed it, so no
 *      later event of the batch can name it.
 *   3. Reading stops while more than RESP_OUT_HIGH bytes of replies wait
 *      (a client that does not read its replies cannot make the server
 *      hold more than that plus one command's reply), and after a fatal
 *      protocol error or QUIT.
 */
#include "resp_int.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#define EVENTS_PER_WAIT 256
#define ACCEPTS_PER_WAKE 64
#define PASSWORD_MAX 4096

void resp_options_init(struct resp_options *o)
{
	memset(o, 0, sizeof *o);
	o->listen = "127.0.0.1:6380";
	o->max_clients = 10000;
	o->max_request_size = 128u << 20;
	o->default_table = "0";
}

void resp_log(const struct resp_server *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (s->o.log)
		s->o.log(s->o.log_ctx, msg);
	else
		fprintf(stderr, "golite resp: %s\n", msg);
}

pthread_mutex_t *stripe_of(struct resp_server *s, const char *table, const void *key,
			   size_t klen)
{
	uint64_t h = hash64(key, klen) ^ hash64(table, strlen(table));
	return &s->stripe[h % RESP_STRIPES];
}

/* ---- connections ---- */

static void conn_close(struct conn *c);

static void conn_new(struct worker *w, int fd)
{
	struct resp_server *s = w->s;
	struct conn *c = xcalloc(1, sizeof *c);
	c->fd = fd;
	c->w = w;
	c->id = atomic_fetch_add(&s->next_id, 1) + 1;
	c->mb_left = -1;
	c->bulk_len = -1;
	c->authed = !s->password;
	snprintf(c->table, sizeof c->table, "%s", s->o.default_table);
	mutex_init(&c->pub_mu);
	c->events = EPOLLIN;
	struct epoll_event ev = { .events = c->events, .data.ptr = c };
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		resp_log(s, "epoll_ctl: %s", strerror(errno));
		close(fd);
		pthread_mutex_destroy(&c->pub_mu);
		free(c);
		atomic_fetch_sub(&s->clients, 1);
		return;
	}
	c->next = w->conns;
	if (w->conns)
		w->conns->prev = c;
	w->conns = c;
	atomic_fetch_add_explicit(&w->accepted, 1, memory_order_relaxed);
}

/* Connections closed during the current epoll batch (invariant 2),
 * chained through next; per thread. */
static __thread struct conn *graveyard;

static void conn_close(struct conn *c)
{
	struct worker *w = c->w;
	if (c->fd < 0)
		return;
	if (c->subs)
		ps_conn_gone(c);
	mutex_lock(&w->mu);
	if (c->pub_queued) {
		for (size_t i = 0; i < w->n_ready; i++) {
			if (w->ready[i] == c) {
				w->ready[i] = w->ready[--w->n_ready];
				break;
			}
		}
		c->pub_queued = false;
	}
	mutex_unlock(&w->mu);
	epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = NULL;
	c->next = graveyard;
	graveyard = c;
	atomic_fetch_sub(&w->s->clients, 1);
}

static void conn_free(struct conn *c)
{
	free(c->in);
	free(c->argv);
	golite_batch_free(c->sets);
	ob_free(&c->out);
	ob_free(&c->pub);
	free(c->name);
	pthread_mutex_destroy(&c->pub_mu);
	free(c);
}

static void bury_dead(void)
{
	while (graveyard) {
		struct conn *c = graveyard;
		graveyard = c->next;
		conn_free(c);
	}
}

static size_t pending_out(const struct conn *c)
{
	return c->out.len - c->out.sent;
}

/* Sets what epoll watches for c (invariant 3). */
static void conn_watch(struct conn *c)
{
	uint32_t want = 0;
	if (pending_out(c))
		want |= EPOLLOUT;
	if (!c->close_after && pending_out(c) <= RESP_OUT_HIGH)
		want |= EPOLLIN;
	if (want == c->events)
		return;
	struct epoll_event ev = { .events = want, .data.ptr = c };
	if (epoll_ctl(c->w->ep, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->events = want;
}

/* Writes what output waits. Closes c after an error, or once everything
 * is written after QUIT or a fatal error. */
static void conn_flush(struct conn *c)
{
	struct obuf *o = &c->out;
	while (o->sent < o->len) {
		ssize_t n = send(c->fd, o->p + o->sent, o->len - o->sent, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			conn_close(c);
			return;
		}
		o->sent += (size_t)n;
	}
	if (o->sent == o->len) {
		o->sent = o->len = 0;
		if (o->cap > RESP_OUT_HIGH)
			ob_free(o);
		if (c->close_after) {
			conn_close(c);
			return;
		}
	}
	conn_watch(c);
}

/* Runs every whole command waiting in c->in (until output piles up). */
static void conn_process(struct conn *c)
{
	struct resp_server *s = c->w->s;
	uint64_t ran = 0;
	while (!c->close_after && pending_out(c) <= RESP_OUT_HIGH) {
		enum parse_result r = parse_command(c, s->o.max_request_size);
		if (r == PARSE_MORE)
			break;
		if (r == PARSE_FATAL) {
			c->close_after = true;
			break;
		}
		if (r == PARSE_COMMAND) {
			for (size_t i = 0; i < c->argc; i++)
				c->argv[i].p = c->in + c->cmd_start + c->argv[i].off;
			resp_dispatch(c);
			ran++;
		}
		c->cmd_start = c->pos;
		c->argc = 0;
	}
	resp_flush_sets(c);
	if (ran)
		atomic_fetch_add_explicit(&c->w->commands, ran, memory_order_relaxed);
	if (c->cmd_start == c->in_len) {
		c->cmd_start = c->pos = c->in_len = 0;
		if (c->in_cap > RESP_OUT_HIGH) {
			free(c->in);
			c->in = NULL;
			c->in_cap = 0;
		}
	}
}

/* Makes room to read into: at least RESP_READ_CHUNK bytes, or what the
 * argument being read still needs (invariant 1 of resp_proto.c). */
static void conn_make_room(struct conn *c)
{
	size_t have = c->in_len - c->cmd_start;
	size_t need = parse_need(c);
	size_t room = RESP_READ_CHUNK;
	if (need > have && need - have > room)
		room = need - have;
	if (c->in_cap - c->in_len >= room)
		return;
	if (c->cmd_start) {
		memmove(c->in, c->in + c->cmd_start, have);
		c->pos -= c->cmd_start;
		c->in_len = have;
		c->cmd_start = 0;
		if (c->in_cap - c->in_len >= room)
			return;
	}
	size_t cap = c->in_cap ? c->in_cap : RESP_READ_CHUNK;
	while (cap - c->in_len < room)
		cap *= 2;
	c->in = xrealloc(c->in, cap);
	c->in_cap = cap;
}

static void conn_readable(struct conn *c)
{
	conn_make_room(c);
	ssize_t n = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return;
		conn_close(c);
		return;
	}
	if (n == 0) {
		/* The client is done sending: answer what it sent, then close. */
		conn_process(c);
		c->close_after = true;
		conn_flush(c);
		return;
	}
	c->in_len += (size_t)n;
	conn_process(c);
	conn_flush(c);
}

static void conn_event(struct conn *c, uint32_t events)
{
	if (events & EPOLLERR) {
		conn_close(c);
		return;
	}
	if (events & EPOLLOUT) {
		bool was_paused = pending_out(c) > RESP_OUT_HIGH;
		conn_flush(c);
		if (c->fd < 0)
			return;
		if (was_paused && pending_out(c) <= RESP_OUT_HIGH) {
			conn_process(c);
			conn_flush(c);
			if (c->fd < 0)
				return;
		}
	}
	if (events & (EPOLLIN | EPOLLHUP))
		conn_readable(c);
}

/* ---- the inbox ---- */

static void worker_kick(struct worker *w)
{
	uint64_t one = 1;
	ssize_t r = write(w->efd, &one, sizeof one);
	(void)r;   /* a full counter still wakes the worker */
}

void worker_wake_for(struct conn *c)
{
	struct worker *w = c->w;
	bool kick = false;
	mutex_lock(&w->mu);
	if (!c->pub_queued) {
		if (w->n_ready == w->cap_ready) {
			w->cap_ready = w->cap_ready ? w->cap_ready * 2 : 16;
			w->ready = xrealloc(w->ready, w->cap_ready * sizeof *w->ready);
		}
		w->ready[w->n_ready++] = c;
		c->pub_queued = true;
		kick = w->n_ready == 1;
	}
	mutex_unlock(&w->mu);
	if (kick)
		worker_kick(w);
}

static void worker_inbox(struct worker *w)
{
	uint64_t v;
	ssize_t r = read(w->efd, &v, sizeof v);
	(void)r;
	mutex_lock(&w->mu);
	int *fds = w->new_fds;
	size_t nfds = w->n_new;
	w->new_fds = NULL;
	w->n_new = w->cap_new = 0;
	struct conn **ready = w->ready;
	size_t nready = w->n_ready;
	w->ready = NULL;
	w->n_ready = w->cap_ready = 0;
	for (size_t i = 0; i < nready; i++)
		ready[i]->pub_queued = false;
	mutex_unlock(&w->mu);

	for (size_t i = 0; i < nfds; i++)
		conn_new(w, fds[i]);
	free(fds);
	for (size_t i = 0; i < nready; i++) {
		struct conn *c = ready[i];
		if (c->fd < 0)
			continue;
		mutex_lock(&c->pub_mu);
		bool overflow = c->pub_overflow;
		if (!overflow)
			ob_put(&c->out, c->pub.p + c->pub.sent, c->pub.len - c->pub.sent);
		c->pub.len = c->pub.sent = 0;
		if (c->pub.cap > RESP_OUT_HIGH)
			ob_free(&c->pub);
		mutex_unlock(&c->pub_mu);
		if (overflow) {
			resp_log(w->s, "client %llu dropped: %u MiB of messages not read",
				 (unsigned long long)c->id, RESP_PUB_MAX >> 20);
			conn_close(c);
		} else {
			conn_flush(c);
		}
	}
	free(ready);
}

/* ---- accepting ---- */

static void refuse(int fd, const char *msg)
{
	ssize_t r = send(fd, msg, strlen(msg), MSG_NOSIGNAL | MSG_DONTWAIT);
	(void)r;
	close(fd);
}

static void accept_some(struct worker *w)
{
	struct resp_server *s = w->s;
	for (int i = 0; i < ACCEPTS_PER_WAKE; i++) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				resp_log(s, "accept: %s", strerror(errno));
			return;
		}
		if (atomic_fetch_add(&s->clients, 1) >= s->o.max_clients) {
			atomic_fetch_sub(&s->clients, 1);
			refuse(fd, "-ERR max number of clients reached\r\n");
			continue;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct worker *to = &s->workers[s->next_worker++ % s->nworkers];
		if (to == w) {
			conn_new(w, fd);
			continue;
		}
		mutex_lock(&to->mu);
		if (to->n_new == to->cap_new) {
			to->cap_new = to->cap_new ? to->cap_new * 2 : 16;
			to->new_fds = xrealloc(to->new_fds, to->cap_new * sizeof *to->new_fds);
		}
		to->new_fds[to->n_new++] = fd;
		mutex_unlock(&to->mu);
		worker_kick(to);
	}
}

/* ---- the loop ---- */

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct resp_server *s = w->s;
	struct epoll_event evs[EVENTS_PER_WAIT];
	pthread_setname_np(pthread_self(), "golite-resp");
	while (!atomic_load(&s->stopping)) {
		int n = epoll_wait(w->ep, evs, EVENTS_PER_WAIT, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			FATAL("epoll_wait: %s", strerror(errno));
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &w->efd) {
				worker_inbox(w);
			} else if (p == &s->lfd) {
				accept_some(w);
			} else if (p == &s->feed_efd) {
				feed_follow_drain(s);
			} else {
				struct conn *c = p;
				if (c->fd >= 0)
					conn_event(c, evs[i].events);
			}
		}
		bury_dead();
	}
	while (w->conns)
		conn_close(w->conns);
	bury_dead();
	golite_thread_detach();
	return NULL;
}

/* ---- start and stop ---- */

/* Splits "ADDR:PORT" ("[v6]:PORT") and binds a listening socket. */
static int listen_on(struct resp_server *s, const char *spec)
{
	char host[256];
	const char *colon = strrchr(spec, ':');
	if (!colon || colon == spec || !colon[1]) {
		resp_log(s, "listen address \"%s\" is not ADDR:PORT", spec);
		return -EINVAL;
	}
	const char *h = spec;
	size_t hlen = (size_t)(colon - spec);
	if (h[0] == '[' && hlen >= 2 && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen >= sizeof host) {
		resp_log(s, "listen address \"%s\" is too long", spec);
		return -EINVAL;
	}
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res;
	int gr = getaddrinfo(host, colon + 1, &hints, &res);
	if (gr) {
		resp_log(s, "listen address \"%s\": %s", spec, gai_strerror(gr));
		return -EINVAL;
	}
	int err = -EADDRNOTAVAIL;
	for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = -errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0) {
			err = -errno;
			close(fd);
			continue;
		}
		struct sockaddr_storage ss;
		socklen_t sl = sizeof ss;
		getsockname(fd, (struct sockaddr *)&ss, &sl);
		s->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
							 : ((struct sockaddr_in *)&ss)->sin_port);
		s->lfd = fd;
		freeaddrinfo(res);
		return 0;
	}
	freeaddrinfo(res);
	resp_log(s, "cannot listen on %s: %s", spec, strerror(-err));
	return err;
}

/* Reads the password file (see resp_options.password_file). */
static int read_password(struct resp_server *s, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int e = errno;
		resp_log(s, "password file %s: %s", path, strerror(e));
		return -e;
	}
	struct stat st;
	int r = 0;
	char buf[PASSWORD_MAX + 1];
	ssize_t n = 0;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		resp_log(s, "password file %s must be a regular file of mode 0600 (it is %04o)",
			 path, (unsigned)(st.st_mode & 07777));
		r = -EPERM;
		goto out_close;
	}
	n = read(fd, buf, sizeof buf);
	if (n < 0) {
		r = -errno;
		goto out_close;
	}
	if (n > PASSWORD_MAX) {
		resp_log(s, "password file %s: longer than %d bytes", path, PASSWORD_MAX);
		r = -EINVAL;
		goto out_close;
	}
	if (n && buf[n - 1] == '\n')
		n--;
	if (n && buf[n - 1] == '\r')
		n--;
	if (n == 0) {
		resp_log(s, "password file %s is empty", path);
		r = -EINVAL;
		goto out_close;
	}
	s->password = xmemdup(buf, (size_t)n);
	s->password_len = (size_t)n;
out_close:
	explicit_bzero(buf, sizeof buf);
	close(fd);
	return r;
}

static void server_free(struct resp_server *s)
{
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];
		for (size_t j = 0; j < w->n_new; j++)
			close(w->new_fds[j]);
		free(w->new_fds);
		free(w->ready);
		if (w->ep >= 0)
			close(w->ep);
		if (w->efd >= 0)
			close(w->efd);
		pthread_mutex_destroy(&w->mu);
	}
	free(s->workers);
	if (s->lfd >= 0)
		close(s->lfd);
	for (size_t i = 0; i < RESP_SCAN_SLOTS; i++)
		free(s->scan[i].key);
	for (size_t i = 0; i < RESP_STRIPES; i++)
		pthread_mutex_destroy(&s->stripe[i]);
	pthread_mutex_destroy(&s->scan_mu);
	if (s->feed_started)
		feed_follow_stop(s);
	ps_destroy(s);
	if (s->password)
		explicit_bzero(s->password, s->password_len);
	free(s->password);
	free(s->listen);
	free(s->default_table);
	free(s);
}

int resp_start(golite *db, const struct resp_options *opts, struct resp_server **out)
{
	struct resp_options defaults;
	int r;
	*out = NULL;
	if (!opts) {
		resp_options_init(&defaults);
		opts = &defaults;
	}
	struct resp_server *s = xcalloc(1, sizeof *s);
	s->db = db;
	s->o = *opts;
	s->lfd = -1;
	s->feed_efd = -1;
	s->start_ns = now_ns();
	s->listen = xstrdup(opts->listen ? opts->listen : "127.0.0.1:6380");
	s->default_table = xstrdup(opts->default_table ? opts->default_table : "0");
	s->o.listen = s->listen;
	s->o.default_table = s->default_table;
	s->o.password_file = NULL;
	if (!s->o.max_clients)
		s->o.max_clients = 10000;
	if (!s->o.max_request_size)
		s->o.max_request_size = 128u << 20;
	for (size_t i = 0; i < RESP_STRIPES; i++)
		mutex_init(&s->stripe[i]);
	mutex_init(&s->scan_mu);
	ps_init(s);
	resp_commands_init();

	if (!db || s->o.max_request_size < (1u << 20) || !table_name_ok(s->default_table)) {
		resp_log(s, "bad options (no store, max_request_size under 1 MiB, or default "
			    "table \"%s\" not a table name)", s->default_table);
		r = -EINVAL;
		goto out_free;
	}
	if (opts->password_file && (r = read_password(s, opts->password_file)) < 0)
		goto out_free;
	if ((r = listen_on(s, s->listen)) < 0)
		goto out_free;

	s->nworkers = s->o.threads ? s->o.threads : usable_cpus();
	s->workers = xcalloc(s->nworkers, sizeof *s->workers);
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];
		w->s = s;
		w->idx = i;
		w->ep = w->efd = -1;
		mutex_init(&w->mu);
	}
	for (unsigned i = 0; i < s->nworkers; i++) {
		struct worker *w = &s->workers[i];
		w->ep = epoll_create1(EPOLL_CLOEXEC);
		w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (w->ep < 0 || w->efd < 0) {
			r = -errno;
			resp_log(s, "epoll or eventfd: %s", strerror(errno));
			goto out_free;
		}
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &w->efd };
		epoll_ctl(w->ep, EPOLL_CTL_ADD, w->efd, &ev);
	}
	struct epoll_event lev = { .events = EPOLLIN, .data.ptr = &s->lfd };
	if (epoll_ctl(s->workers[0].ep, EPOLL_CTL_ADD, s->lfd, &lev) < 0) {
		r = -errno;
		goto out_free;
	}
	if ((r = feed_follow_start(s)) < 0)
		goto out_free;
	struct epoll_event fev = { .events = EPOLLIN, .data.ptr = &s->feed_efd };
	if (epoll_ctl(s->workers[0].ep, EPOLL_CTL_ADD, s->feed_efd, &fev) < 0) {
		r = -errno;
		goto out_free;
	}
	for (unsigned i = 0; i < s->nworkers; i++) {
		int e = pthread_create(&s->workers[i].thread, NULL, worker_main, &s->workers[i]);
		if (e) {
			resp_log(s, "pthread_create: %s", strerror(e));
			atomic_store(&s->stopping, true);
			for (unsigned j = 0; j < i; j++) {
				worker_kick(&s->workers[j]);
				pthread_join(s->workers[j].thread, NULL);
			}
			r = -e;
			goto out_free;
		}
	}
	*out = s;
	return 0;

out_free:
	server_free(s);
	return r;
}

int resp_port(const struct resp_server *s)
{
	return s->port;
}

void resp_stop(struct resp_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	for (unsigned i = 0; i < s->nworkers; i++)
		worker_kick(&s->workers[i]);
	for (unsigned i = 0; i < s->nworkers; i++)
		pthread_join(s->workers[i].thread, NULL);
	server_free(s);
}
