/* tftpload: a TFTP load generator. Keeps N transfers in flight, each from
 * its own UDP socket (a new one per transfer, like N phones booting), all
 * driven by one epoll loop, until T transfers are done. Prints one line of
 * key=value results: transfers/s, MB/s, latency percentiles, failures.
 *
 *   tftpload -p PORT -f FILE -n CONC -t TOTAL [-b BLKSIZE] [-w WINDOW]
 *            [-s EXPECTED_SIZE] [-T TIMEOUT_MS] [-h HOST] [-l LABEL]
 *
 * Loopback only by default (-h 127.0.0.1). Each transfer's byte count is
 * checked against -s; a wrong size counts as a failure. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct slot {
	int fd;
	int active;
	struct sockaddr_in tid;
	int have_tid;
	uint32_t expect;     /* next block (absolute) */
	uint32_t in_window;
	uint32_t blksize, window;
	uint64_t bytes;
	uint64_t start_ns, last_ns;
	int retries;
	int gap;
	uint8_t last_pkt[600];
	size_t last_len;
};

static struct sockaddr_in srv;
static const char *file;
static unsigned conc = 64, total = 1000, want_blk = 512, want_win = 1, timeout_ms = 1000;
static long long want_size = -1;
static unsigned started, done_ok, failed;
static double *lat;
static size_t nlat;
static uint64_t total_bytes;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t build_rrq(uint8_t *p)
{
	size_t n = 2;

	put16(p, 1);
	n += (size_t)sprintf((char *)p + n, "%s", file) + 1;
	n += (size_t)sprintf((char *)p + n, "octet") + 1;
	if (want_blk != 512) {
		n += (size_t)sprintf((char *)p + n, "blksize") + 1;
		n += (size_t)sprintf((char *)p + n, "%u", want_blk) + 1;
	}
	if (want_win > 1) {
		n += (size_t)sprintf((char *)p + n, "windowsize") + 1;
		n += (size_t)sprintf((char *)p + n, "%u", want_win) + 1;
	}
	return n;
}

static void send_last(struct slot *s)
{
	const struct sockaddr_in *to = s->have_tid ? &s->tid : &srv;

	sendto(s->fd, s->last_pkt, s->last_len, 0, (const struct sockaddr *)to, sizeof(*to));
	s->last_ns = now_ns();
}

static void send_ack(struct slot *s, unsigned blk)
{
	put16(s->last_pkt, 4);
	put16(s->last_pkt + 2, blk & 0xffff);
	s->last_len = 4;
	send_last(s);
}

static int start(int ep, struct slot *s)
{
	struct sockaddr_in me = { .sin_family = AF_INET };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	memset(s, 0, sizeof(*s));
	s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		perror("socket");
		exit(2);
	}
	me.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s->fd, (struct sockaddr *)&me, sizeof(me)) != 0 ||
	    epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
		perror("bind/epoll");
		exit(2);
	}
	s->active = 1;
	s->expect = 1;
	s->blksize = 512;
	s->window = 1;
	s->start_ns = now_ns();
	s->last_len = build_rrq(s->last_pkt);
	send_last(s);
	started++;
	return 0;
}

static void finish(int ep, struct slot *s, int ok)
{
	uint64_t t = now_ns();

	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->active = 0;
	if (ok && want_size >= 0 && (long long)s->bytes != want_size)
		ok = 0;
	if (ok) {
		done_ok++;
		total_bytes += s->bytes;
		lat[nlat++] = (double)(t - s->start_ns) / 1e6;
	} else {
		failed++;
	}
	if (started < total)
		start(ep, s);
}

static void on_packet(int ep, struct slot *s, const uint8_t *p, size_t n,
		      const struct sockaddr_in *from)
{
	unsigned op;

	if (n < 4)
		return;
	if (!s->have_tid) {
		s->tid = *from;
		s->have_tid = 1;
	} else if (from->sin_port != s->tid.sin_port) {
		return;
	}
	op = (unsigned)(p[0] << 8 | p[1]);
	if (op == 6) { /* OACK */
		const char *q = (const char *)p + 2, *end = (const char *)p + n;

		while (q < end) {
			const char *v = q + strnlen(q, (size_t)(end - q)) + 1;

			if (v >= end)
				break;
			if (!strcasecmp(q, "blksize"))
				s->blksize = (uint32_t)atoi(v);
			else if (!strcasecmp(q, "windowsize"))
				s->window = (uint32_t)atoi(v);
			q = v + strnlen(v, (size_t)(end - v)) + 1;
		}
		s->retries = 0;
		send_ack(s, 0);
		return;
	}
	if (op == 5) {
		fprintf(stderr, "error %u: %.*s\n", (unsigned)(p[2] << 8 | p[3]), (int)(n - 4),
			(const char *)p + 4);
		finish(ep, s, 0);
		return;
	}
	if (op != 3)
		return;
	unsigned blk = (unsigned)(p[2] << 8 | p[3]);

	s->retries = 0;
	if (blk != (s->expect & 0xffff)) {
		/* a resend of the last block (our ACK was lost), or a gap in a
		 * window: acknowledge what we have, once per gap */
		if (s->window == 1 ? ((s->expect - 1) & 0xffff) == blk : !s->gap) {
			s->gap = 1;
			s->in_window = 0;
			send_ack(s, s->expect - 1);
		}
		return;
	}
	s->gap = 0;
	s->bytes += n - 4;
	s->expect++;
	s->in_window++;
	if (n - 4 < s->blksize) {
		send_ack(s, blk);
		finish(ep, s, 1);
		return;
	}
	if (s->in_window >= s->window) {
		s->in_window = 0;
		send_ack(s, blk);
	}
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *label = "run";
	unsigned port = 0;
	int c, ep;
	struct slot *slots;
	uint8_t buf[70000];
	struct rlimit rl;

	while ((c = getopt(argc, argv, "p:f:n:t:b:w:s:T:h:l:")) != -1) {
		switch (c) {
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'f': file = optarg; break;
		case 'n': conc = (unsigned)atoi(optarg); break;
		case 't': total = (unsigned)atoi(optarg); break;
		case 'b': want_blk = (unsigned)atoi(optarg); break;
		case 'w': want_win = (unsigned)atoi(optarg); break;
		case 's': want_size = atoll(optarg); break;
		case 'T': timeout_ms = (unsigned)atoi(optarg); break;
		case 'h': host = optarg; break;
		case 'l': label = optarg; break;
		default:
			fprintf(stderr, "usage: tftpload -p PORT -f FILE [-n CONC] [-t TOTAL] "
					"[-b BLKSIZE] [-w WINDOW] [-s SIZE] [-T MS] [-l LABEL]\n");
			return 2;
		}
	}
	if (!port || !file || !conc || !total) {
		fprintf(stderr, "tftpload: -p and -f are required\n");
		return 2;
	}
	if (conc > total)
		conc = total;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	srv.sin_family = AF_INET;
	srv.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &srv.sin_addr) != 1) {
		fprintf(stderr, "tftpload: bad host %s\n", host);
		return 2;
	}
	slots = calloc(conc, sizeof(*slots));
	lat = calloc(total, sizeof(*lat));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!slots || !lat || ep < 0)
		return 2;

	uint64_t t0 = now_ns();

	for (unsigned i = 0; i < conc; i++)
		start(ep, &slots[i]);
	while (done_ok + failed < total) {
		struct epoll_event evs[256];
		int n = epoll_wait(ep, evs, 256, 10);

		for (int i = 0; i < n; i++) {
			struct slot *s = evs[i].data.ptr;

			for (int k = 0; k < 64 && s->active; k++) {
				struct sockaddr_in from;
				socklen_t fl = sizeof(from);
				int fd = s->fd;
				ssize_t r = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from,
						     &fl);

				if (r < 0)
					break;
				on_packet(ep, s, buf, (size_t)r, &from);
				if (s->fd != fd)
					break; /* finished and restarted */
			}
		}
		uint64_t t = now_ns();

		for (unsigned i = 0; i < conc; i++) {
			struct slot *s = &slots[i];

			if (!s->active || t - s->last_ns < (uint64_t)timeout_ms * 1000000ull)
				continue;
			if (++s->retries > 5) {
				finish(ep, s, 0);
				continue;
			}
			send_last(s);
		}
	}
	double secs = (double)(now_ns() - t0) / 1e9;

	qsort(lat, nlat, sizeof(*lat), cmp_d);
	double p50 = nlat ? lat[nlat / 2] : 0, p99 = nlat ? lat[(nlat * 99) / 100 - (nlat >= 100)] : 0;
	double mx = nlat ? lat[nlat - 1] : 0;

	printf("label=%s transfers=%u failures=%u seconds=%.3f transfers_per_s=%.1f mb_per_s=%.2f "
	       "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
	       label, done_ok, failed, secs, done_ok / secs, (double)total_bytes / 1048576.0 / secs,
	       p50, p99, mx);
	return failed ? 1 : 0;
}
