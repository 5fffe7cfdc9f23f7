/*
 * Plain-TCP echo server: the transport floor of the wss benchmark.
 *
 *   tcp_echo <cert.pem> <key.pem>      (arguments accepted and ignored)
 *
 * No TLS and no WebSocket: it measures what the kernel's loopback TCP costs a
 * server with the same process model as the WebSocket servers (one thread,
 * one epoll loop, non-blocking sockets, TCP_NODELAY). Listens on 127.0.0.1
 * port 0 and prints `PORT <n>` as the first stdout line.
 *
 * Every byte read is sent back on the same connection. Edge-triggered epoll,
 * each connection registered once (EPOLLIN | EPOLLOUT | EPOLLRDHUP), so no
 * epoll_ctl per message. A read is followed directly by a send of the same
 * bytes; what send() does not take is kept in a per-connection pending
 * buffer and the connection is not read any more until that is flushed (on
 * the next EPOLLOUT edge). A short read means the socket is drained (the next
 * arrival raises a new edge), so no extra recv() just to see EAGAIN.
 * recv() == 0 (peer closed), an error or EPOLLHUP/EPOLLERR closes it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define RBUF (256 * 1024)
#define MAX_EVENTS 256

struct conn {
	int fd;
	unsigned char *pend; /* unsent output (NULL when none) */
	size_t pend_len, pend_off, pend_cap;
};

static unsigned char rbuf[RBUF];

static void conn_close(struct conn *c)
{
	close(c->fd); /* also removes it from the epoll set */
	free(c->pend);
	free(c);
}

/* Send pending output. 1: all sent, 0: would block, -1: error. */
static int flush_pending(struct conn *c)
{
	while (c->pend_off < c->pend_len) {
		ssize_t n = send(c->fd, c->pend + c->pend_off, c->pend_len - c->pend_off, MSG_NOSIGNAL);
		if (n > 0) {
			c->pend_off += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			return 0;
		} else {
			return -1;
		}
	}
	c->pend_len = c->pend_off = 0;
	return 1;
}

static int keep_pending(struct conn *c, const unsigned char *p, size_t len)
{
	if (len > c->pend_cap) {
		unsigned char *nb = realloc(c->pend, len);
		if (!nb)
			return -1;
		c->pend = nb;
		c->pend_cap = len;
	}
	memcpy(c->pend, p, len);
	c->pend_len = len;
	c->pend_off = 0;
	return 0;
}

/* Read and echo until the socket is drained or output backs up. -1: close it. */
static int echo(struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, rbuf, sizeof rbuf, 0);
		if (n == 0)
			return -1; /* peer closed */
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		size_t off = 0;
		while (off < (size_t)n) {
			ssize_t w = send(c->fd, rbuf + off, (size_t)n - off, MSG_NOSIGNAL);
			if (w > 0) {
				off += (size_t)w;
			} else if (w < 0 && errno == EINTR) {
				continue;
			} else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				/* Stop reading until this is flushed (EPOLLOUT edge). */
				return keep_pending(c, rbuf + off, (size_t)n - off);
			} else {
				return -1;
			}
		}
		if ((size_t)n < sizeof rbuf)
			return 0; /* short read: drained; the next arrival raises a new edge */
	}
}

static void accept_all(int ep, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				perror("accept4");
			return;
		}
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		struct conn *c = calloc(1, sizeof *c);
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			perror("epoll_ctl");
			conn_close(c);
		}
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	signal(SIGPIPE, SIG_IGN);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		perror("socket");
		return 1;
	}
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 4096) < 0) {
		perror("bind/listen");
		return 1;
	}
	socklen_t alen = sizeof a;
	if (getsockname(lfd, (struct sockaddr *)&a, &alen) < 0) {
		perror("getsockname");
		return 1;
	}

	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("epoll_create1");
		return 1;
	}
	struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL}; /* NULL = listener */
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) {
		perror("epoll_ctl");
		return 1;
	}
	printf("PORT %d\n", ntohs(a.sin_port));
	fflush(stdout);

	struct epoll_event evs[MAX_EVENTS];
	for (;;) {
		int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;
			if (!c) {
				accept_all(ep, lfd);
				continue;
			}
			if (evs[i].events & (EPOLLERR | EPOLLHUP)) {
				conn_close(c);
				continue;
			}
			if (c->pend_len) {
				int r = flush_pending(c);
				if (r < 0) {
					conn_close(c);
					continue;
				}
				if (r == 0)
					continue; /* still backed up: keep not reading */
				/* Flushed: data may have queued up while we were not reading, and edge
				 * triggering will not report it again, so read now. */
			} else if (!(evs[i].events & (EPOLLIN | EPOLLRDHUP))) {
				continue; /* only an EPOLLOUT edge and nothing to send */
			}
			if (echo(c) < 0)
				conn_close(c);
		}
	}
}
