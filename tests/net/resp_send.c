/*
 * resp_send.c — sends its standard input to a server as raw bytes, shuts
 * down its side of the connection, and copies what the server answers to
 * standard output until the server closes. For the protocol tests that
 * redis-cli cannot make (inline commands, malformed and oversize
 * requests).
 *
 *   resp_send HOST PORT < request > reply
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int dial(const char *host, const char *port)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res;
	if (getaddrinfo(host, port, &hints, &res))
		return -1;
	int fd = -1;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype, 0);
		if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* Writes all of p; false if the peer stopped reading (it closed). */
static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return 0;
		p += w;
		n -= (size_t)w;
	}
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: resp_send HOST PORT < request\n");
		return 2;
	}
	int fd = dial(argv[1], argv[2]);
	if (fd < 0) {
		fprintf(stderr, "resp_send: cannot connect to %s:%s\n", argv[1], argv[2]);
		return 1;
	}
	/* Send everything first: the server answers as it reads, so its
	 * replies are read afterwards (they wait in the socket buffers; the
	 * tests send requests whose replies fit). */
	char buf[65536];
	ssize_t n;
	while ((n = read(0, buf, sizeof buf)) > 0)
		if (!write_all(fd, buf, (size_t)n))
			break;
	shutdown(fd, SHUT_WR);
	while ((n = recv(fd, buf, sizeof buf, 0)) > 0)
		fwrite(buf, 1, (size_t)n, stdout);
	close(fd);
	return 0;
}
