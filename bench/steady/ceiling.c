/* ceiling: the trivial responder bench/steady/run.sh measures the load tools
 * against. It does the least a server can do and still be a server, so the
 * numbers it gets are what the load tool, the kernel's loopback path and the
 * machine allow; every real server's ratio to it says how much of that is left.
 *
 *   ceiling -f FILE [-t TFTP_PORT] [-H HTTP_PORT]
 *
 * Both on 127.0.0.1 only, one thread, one epoll loop, FILE (<= 64 KiB) read
 * once at start:
 *   TFTP: any RRQ (4 MiB receive buffer on the listening socket; the name and options are ignored: no OACK, blksize 512) is
 *         answered from a new socket of its own (a TID, like a real server)
 *         with the DATA packets of FILE, built before the first request; the
 *         next block goes out on the ACK of the previous one; the last packet
 *         is resent after 1 s without its ACK, 5 times at most.
 *   HTTP: every request (counted by its blank line; the request is not parsed)
 *         gets the same pre-built 200 response holding FILE, on keep-alive
 *         connections.
 * Stops on SIGINT/SIGTERM. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BLK 512
#define MAX_FILE 65536
#define MAX_BLOCKS (MAX_FILE / BLK + 1)

enum kind { K_TFTP_LISTEN, K_TFTP_XFER, K_HTTP_LISTEN, K_HTTP_CONN };

struct obj {
	enum kind kind;
	int fd;
	/* TFTP transfer */
	struct sockaddr_in peer;
	unsigned sent; /* block number of the last DATA sent */
	uint64_t sent_ns;
	int retries;
	struct obj *next; /* list of live transfers (for the timeouts) */
	struct obj *prev;
	/* HTTP connection */
	unsigned owed;  /* responses still to send */
	size_t off;     /* bytes of the current response already sent */
	char tail[3];   /* the last bytes read, to find a blank line split by reads */
	size_t ntail;
};

static uint8_t data_pkt[MAX_BLOCKS][4 + BLK];
static size_t data_len[MAX_BLOCKS];
static unsigned nblocks;
static char *resp;
static size_t resp_len;
static struct obj *xfers;
static volatile sig_atomic_t stop;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int listen_on(int type, unsigned port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 4096) != 0)) {
		fprintf(stderr, "ceiling: cannot listen on 127.0.0.1:%u: %s\n", port, strerror(errno));
		exit(1);
	}
	if (type == SOCK_DGRAM) {
		/* room for a burst of RRQs (512 phones at once), as phoneprovd has */
		int rcvbuf = 4 << 20;

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	}
	return fd;
}

static struct obj *add(int ep, enum kind kind, int fd, uint32_t events)
{
	struct obj *o = calloc(1, sizeof(*o));
	struct epoll_event ev = { .events = events };

	if (!o) {
		fprintf(stderr, "ceiling: out of memory\n");
		exit(1);
	}
	o->kind = kind;
	o->fd = fd;
	ev.data.ptr = o;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
		perror("ceiling: epoll_ctl");
		exit(1);
	}
	return o;
}

static void drop(struct obj *o)
{
	if (o->kind == K_TFTP_XFER) {
		if (o->prev)
			o->prev->next = o->next;
		else
			xfers = o->next;
		if (o->next)
			o->next->prev = o->prev;
	}
	close(o->fd); /* closing removes it from the epoll set */
	free(o);
}

static void send_block(struct obj *x, unsigned blk)
{
	x->sent = blk;
	x->sent_ns = now_ns();
	sendto(x->fd, data_pkt[blk - 1], data_len[blk - 1], 0, (struct sockaddr *)&x->peer,
	       sizeof(x->peer));
}

static void tftp_rrq(int ep, int lfd)
{
	uint8_t buf[1500];
	struct sockaddr_in from, me = { .sin_family = AF_INET };

	for (;;) {
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(lfd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		if (n < 4 || buf[0] != 0 || buf[1] != 1)
			continue; /* not an RRQ */
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (fd < 0)
			continue; /* out of descriptors: the client retransmits */
		if (bind(fd, (struct sockaddr *)&me, sizeof(me)) != 0) {
			close(fd);
			continue;
		}
		struct obj *x = add(ep, K_TFTP_XFER, fd, EPOLLIN);

		x->peer = from;
		x->next = xfers;
		if (xfers)
			xfers->prev = x;
		xfers = x;
		send_block(x, 1);
	}
}

static void tftp_ack(struct obj *x)
{
	uint8_t buf[1500];

	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(x->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);

		if (n < 0)
			return;
		if (n < 4 || from.sin_port != x->peer.sin_port || buf[1] != 4)
			continue;
		unsigned blk = (unsigned)(buf[2] << 8 | buf[3]);

		if (blk != x->sent)
			continue; /* a duplicate ACK: the timeout resends */
		if (blk == nblocks) {
			drop(x);
			return;
		}
		x->retries = 0;
		send_block(x, blk + 1);
	}
}

static void tftp_timeouts(void)
{
	uint64_t t = now_ns();

	for (struct obj *x = xfers, *nx; x; x = nx) {
		nx = x->next;
		if (t - x->sent_ns < 1000000000ull)
			continue;
		if (++x->retries > 5)
			drop(x);
		else
			send_block(x, x->sent);
	}
}

static void http_accept(int ep, int lfd)
{
	for (;;) {
		int one = 1, fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		add(ep, K_HTTP_CONN, fd, EPOLLIN | EPOLLRDHUP);
	}
}

/* sends what is owed; 0 when all was sent, 1 when the socket is full, -1 on error */
static int http_flush(struct obj *c)
{
	while (c->owed) {
		ssize_t n = send(c->fd, resp + c->off, resp_len - c->off, MSG_NOSIGNAL);

		if (n < 0)
			return errno == EAGAIN ? 1 : -1;
		c->off += (size_t)n;
		if (c->off == resp_len) {
			c->off = 0;
			c->owed--;
		}
	}
	return 0;
}

static void http_io(int ep, struct obj *c, uint32_t events)
{
	char buf[16384 + 3];

	if (events & EPOLLIN) {
		for (;;) {
			memcpy(buf, c->tail, c->ntail);
			ssize_t n = recv(c->fd, buf + c->ntail, sizeof(buf) - 3, 0);

			if (n == 0 || (n < 0 && errno != EAGAIN)) {
				drop(c);
				return;
			}
			if (n < 0)
				break;
			size_t len = c->ntail + (size_t)n;

			for (size_t i = 0; i + 4 <= len; i++)
				if (!memcmp(buf + i, "\r\n\r\n", 4))
					c->owed++;
			c->ntail = len < 3 ? len : 3;
			memcpy(c->tail, buf + len - c->ntail, c->ntail);
		}
	}
	int r = http_flush(c);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP | (r == 1 ? EPOLLOUT : 0),
				  .data.ptr = c };

	if (r < 0) {
		drop(c);
		return;
	}
	if (r == 1 || (events & EPOLLOUT))
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	unsigned tport = 0, hport = 0;
	static uint8_t body[MAX_FILE];
	size_t size = 0;
	int c, ep;
	struct rlimit rl;

	while ((c = getopt(argc, argv, "f:t:H:")) != -1) {
		switch (c) {
		case 'f': path = optarg; break;
		case 't': tport = (unsigned)atoi(optarg); break;
		case 'H': hport = (unsigned)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: ceiling -f FILE [-t TFTP_PORT] [-H HTTP_PORT]\n");
			return 2;
		}
	}
	if (!path || (!tport && !hport)) {
		fprintf(stderr, "usage: ceiling -f FILE [-t TFTP_PORT] [-H HTTP_PORT]\n");
		return 2;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		fprintf(stderr, "ceiling: %s: %s\n", path, strerror(errno));
		return 1;
	}
	while (size < sizeof(body) && (n = read(fd, body + size, sizeof(body) - size)) > 0)
		size += (size_t)n;
	if (size == sizeof(body) && read(fd, body, 1) > 0) {
		fprintf(stderr, "ceiling: %s is larger than %d bytes\n", path, MAX_FILE);
		return 1;
	}
	close(fd);

	/* the packets, built once: DATA 1..n, the last one shorter than 512 */
	nblocks = (unsigned)(size / BLK + 1);
	for (unsigned b = 1; b <= nblocks; b++) {
		size_t off = (size_t)(b - 1) * BLK, len = size - off < BLK ? size - off : BLK;

		data_pkt[b - 1][0] = 0;
		data_pkt[b - 1][1] = 3;
		data_pkt[b - 1][2] = (uint8_t)(b >> 8);
		data_pkt[b - 1][3] = (uint8_t)b;
		memcpy(data_pkt[b - 1] + 4, body + off, len);
		data_len[b - 1] = 4 + len;
	}
	char head[160];
	int hl = snprintf(head, sizeof(head),
			  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n",
			  size);

	resp_len = (size_t)hl + size;
	resp = malloc(resp_len);
	if (!resp)
		return 1;
	memcpy(resp, head, (size_t)hl);
	memcpy(resp + hl, body, size);

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGPIPE, SIG_IGN);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		return 1;
	if (tport)
		add(ep, K_TFTP_LISTEN, listen_on(SOCK_DGRAM, tport), EPOLLIN);
	if (hport)
		add(ep, K_HTTP_LISTEN, listen_on(SOCK_STREAM, hport), EPOLLIN);
	fprintf(stderr, "ceiling: ready (tftp %u, http %u, %zu bytes)\n", tport, hport, size);

	uint64_t last_scan = now_ns();

	while (!stop) {
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, 100);

		for (int i = 0; i < k; i++) {
			struct obj *o = evs[i].data.ptr;

			switch (o->kind) {
			case K_TFTP_LISTEN: tftp_rrq(ep, o->fd); break;
			case K_TFTP_XFER: tftp_ack(o); break;
			case K_HTTP_LISTEN: http_accept(ep, o->fd); break;
			case K_HTTP_CONN: http_io(ep, o, evs[i].events); break;
			}
		}
		if (now_ns() - last_scan > 100000000ull) {
			tftp_timeouts();
			last_scan = now_ns();
		}
	}
	return 0;
}
