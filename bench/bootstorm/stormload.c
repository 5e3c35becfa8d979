/* stormload: a boot storm of never-seen phones, or a prober of known files,
 * against a TFTP and an HTTP server on 127.0.0.1.
 *
 *   stormload storm -H HTTP_PORT -T TFTP_PORT -n PHONES -c CONC [-o OFFSET] [-r TRIES]
 *       PHONES phones (even: HTTP, odd: TFTP), at most CONC in flight. An
 *       HTTP phone GETs /<mac>.cfg on a new connection with the User-Agent
 *       "Yealink SIP-T46S 66.86.0.15 <mac>" (MACs 80:5e:c0:..); a TFTP phone
 *       reads <mac>.cfg (MACs 24:9a:d8:..) from its own UDP port, lock-step
 *       512-byte blocks. 503 (HTTP) means come back: the phone retries after
 *       Retry-After (1 s); a TFTP request nobody answers is sent again after
 *       1 s. A phone succeeds with a 200 / a whole file that is not empty,
 *       fails after 10 tries (-r TRIES) or on any other answer. -v: one line "ok MAC"
 *       per phone answered, as it happens (flushed).
 *   stormload probe -H HTTP_PORT -T TFTP_PORT -p HTTP_PATH -f TFTP_FILE -d SECONDS
 *       one request at a time, alternating an HTTP GET of HTTP_PATH and a
 *       TFTP read of TFTP_FILE, for SECONDS: the latency a known phone sees.
 *
 * Prints one line of key=value results (phones/s, p50/p99/max latency in ms,
 * failures, retries). Loopback only. */
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

static int max_tries = 10; /* -r */

enum kind { K_HTTP, K_TFTP };
enum st { S_IDLE, S_WAIT, S_RUN };

struct phone {
	int idx;              /* phone number, -1 = free slot */
	enum kind kind;
	enum st st;
	int fd;
	int tries;
	uint64_t t0;          /* first try */
	uint64_t deadline;    /* retry / timeout */
	/* HTTP */
	char req[512];
	size_t req_len, sent;
	char resp[8192];
	size_t got;
	/* TFTP */
	struct sockaddr_in tid;
	int have_tid;
	uint16_t expect;
	uint64_t bytes;
	uint8_t last[600];
	size_t last_len;
};

static struct sockaddr_in http_addr, tftp_addr;
static int ep;
static double *lat;
static size_t nlat;
static unsigned ok, failed, retries, busy503;
static int verbose;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void mac_of(int i, enum kind k, char *mac, char *colon)
{
	unsigned v = (unsigned)i;
	const char *oui = k == K_HTTP ? "805ec0" : "249ad8";

	sprintf(mac, "%s%06x", oui, v & 0xffffff);
	sprintf(colon, "%.2s:%.2s:%.2s:%02x:%02x:%02x", oui, oui + 2, oui + 4, (v >> 16) & 255,
		(v >> 8) & 255, v & 255);
}

static void drop(struct phone *p)
{
	if (p->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, p->fd, NULL);
		close(p->fd);
	}
	p->fd = -1;
}

static void finish(struct phone *p, int good)
{
	drop(p);
	if (good) {
		ok++;
		lat[nlat++] = (double)(now_ns() - p->t0) / 1e6;
		if (verbose) {
			char mac[16], colon[20];

			mac_of(p->idx, p->kind, mac, colon);
			printf("ok %s\n", colon);
			fflush(stdout);
		}
	} else {
		failed++;
	}
	p->idx = -1;
	p->st = S_IDLE;
}

static void later(struct phone *p, uint64_t ns)
{
	drop(p);
	p->st = S_WAIT;
	p->deadline = now_ns() + ns;
}

static int start_http(struct phone *p, const char *path, const char *ua)
{
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN, .data.ptr = p };

	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return -1;
	if (connect(p->fd, (struct sockaddr *)&http_addr, sizeof(http_addr)) != 0 &&
	    errno != EINPROGRESS)
		return -1;
	p->req_len = (size_t)snprintf(p->req, sizeof(p->req),
				      "GET /%s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s"
				      "Connection: close\r\n\r\n", path, ua ? "User-Agent: " : "",
				      ua ? ua : "", ua ? "\r\n" : "");
	p->sent = p->got = 0;
	p->deadline = now_ns() + 30000000000ull;
	p->st = S_RUN;
	return epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev);
}

static void put16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static int start_tftp(struct phone *p, const char *file)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };
	size_t n = 0;

	p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->fd < 0)
		return -1;
	put16(p->last, 1);
	n = 2;
	n += (size_t)sprintf((char *)p->last + n, "%s", file) + 1;
	n += (size_t)sprintf((char *)p->last + n, "octet") + 1;
	p->last_len = n;
	p->have_tid = 0;
	p->expect = 1;
	p->bytes = 0;
	p->st = S_RUN;
	p->deadline = now_ns() + 1000000000ull;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, p->fd, &ev) != 0)
		return -1;
	return sendto(p->fd, p->last, n, 0, (struct sockaddr *)&tftp_addr, sizeof(tftp_addr)) ==
			       (ssize_t)n ? 0 : -1;
}

static void http_event(struct phone *p, uint32_t evs, int *done_good)
{
	*done_good = -1;
	if ((evs & EPOLLOUT) && p->sent < p->req_len) {
		ssize_t w = send(p->fd, p->req + p->sent, p->req_len - p->sent, MSG_NOSIGNAL);

		if (w > 0)
			p->sent += (size_t)w;
		else if (w < 0 && errno != EAGAIN)
			*done_good = 0;
		if (p->sent == p->req_len) {
			struct epoll_event ev = { .events = EPOLLIN, .data.ptr = p };

			epoll_ctl(ep, EPOLL_CTL_MOD, p->fd, &ev);
		}
	}
	if (evs & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
		for (;;) {
			ssize_t r = recv(p->fd, p->resp + p->got, sizeof(p->resp) - 1 - p->got, 0);

			if (r > 0) {
				p->got += (size_t)r;
				if (p->got >= sizeof(p->resp) - 1)
					break; /* enough to judge */
				continue;
			}
			if (r < 0 && errno == EAGAIN)
				return;
			break; /* closed (or error): judge what came */
		}
		p->resp[p->got] = 0;
		if (!strncmp(p->resp, "HTTP/1.1 200", 12)) {
			char *body = strstr(p->resp, "\r\n\r\n");

			*done_good = body && body[4] ? 1 : 0;
		} else if (!strncmp(p->resp, "HTTP/1.1 503", 12)) {
			*done_good = 2; /* come back */
		} else {
			*done_good = 0;
		}
	}
}

static void tftp_event(struct phone *p, int *done_good)
{
	uint8_t b[1024];
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	ssize_t n = recvfrom(p->fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
	unsigned op, blk;

	*done_good = -1;
	if (n < 4)
		return;
	op = (unsigned)(b[0] << 8 | b[1]);
	blk = (unsigned)(b[2] << 8 | b[3]);
	if (op == 5) {
		*done_good = 0;
		return;
	}
	if (op != 3)
		return;
	if (!p->have_tid) {
		p->tid = from;
		p->have_tid = 1;
	}
	if (blk != p->expect)
		return;
	p->bytes += (uint64_t)n - 4;
	put16(p->last, 4);
	put16(p->last + 2, blk);
	p->last_len = 4;
	sendto(p->fd, p->last, 4, 0, (struct sockaddr *)&p->tid, sizeof(p->tid));
	p->expect++;
	p->deadline = now_ns() + 1000000000ull;
	if (n - 4 < 512)
		*done_good = p->bytes > 0;
}

static void try_phone(struct phone *p)
{
	char mac[16], colon[20], path[64], ua[128];
	int rc;

	p->tries++;
	mac_of(p->idx, p->kind, mac, colon);
	snprintf(path, sizeof(path), "%s.cfg", mac);
	if (p->kind == K_HTTP) {
		snprintf(ua, sizeof(ua), "Yealink SIP-T46S 66.86.0.15 %s", colon);
		rc = start_http(p, path, ua);
	} else {
		rc = start_tftp(p, path);
	}
	if (rc != 0)
		later(p, 100000000ull); /* out of sockets for a moment */
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double pct(double q)
{
	if (!nlat)
		return 0;
	return lat[(size_t)(q * (double)(nlat - 1))];
}

static void raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int storm(int phones, int conc, int offset)
{
	struct phone *ps = calloc((size_t)conc, sizeof(*ps));
	struct epoll_event evs[256];
	int next = 0, active = 0;
	uint64_t t0 = now_ns(), t1;

	lat = calloc((size_t)phones + 1, sizeof(double));
	if (!ps || !lat) {
		fprintf(stderr, "stormload: out of memory\n");
		return 2;
	}
	for (int i = 0; i < conc; i++) {
		ps[i].idx = -1;
		ps[i].fd = -1;
	}
	for (;;) {
		uint64_t now = now_ns();

		active = 0;
		for (int i = 0; i < conc; i++) {
			struct phone *p = &ps[i];

			if (p->idx < 0 && next < phones) {
				memset(p, 0, sizeof(*p));
				p->fd = -1;
				p->idx = offset + next;
				p->kind = next % 2 ? K_TFTP : K_HTTP;
				p->t0 = now;
				next++;
				try_phone(p);
			}
			if (p->idx < 0)
				continue;
			active++;
			if (p->deadline > now)
				continue;
			if (p->tries >= max_tries) {
				finish(p, 0);
				continue;
			}
			if (p->st == S_RUN && p->kind == K_TFTP && !p->have_tid) {
				retries++;
				p->tries++;
				sendto(p->fd, p->last, p->last_len, 0, (struct sockaddr *)&tftp_addr,
				       sizeof(tftp_addr));
				p->deadline = now + 1000000000ull;
			} else if (p->st == S_RUN && p->kind == K_TFTP) {
				retries++;
				p->tries++;
				sendto(p->fd, p->last, p->last_len, 0, (struct sockaddr *)&p->tid,
				       sizeof(p->tid));
				p->deadline = now + 1000000000ull;
			} else {
				if (p->st == S_RUN)
					drop(p);
				retries++;
				try_phone(p);
			}
		}
		if (!active && next >= phones)
			break;
		int n = epoll_wait(ep, evs, 256, 10);

		for (int i = 0; i < n; i++) {
			struct phone *p = evs[i].data.ptr;
			int good;

			if (p->idx < 0 || p->fd < 0)
				continue;
			if (p->kind == K_HTTP)
				http_event(p, evs[i].events, &good);
			else
				tftp_event(p, &good);
			if (good == 2) {
				busy503++;
				later(p, 1000000000ull);
			} else if (good >= 0) {
				finish(p, good);
			}
		}
	}
	t1 = now_ns();
	qsort(lat, nlat, sizeof(double), cmp_d);
	printf("phones=%d ok=%u failed=%u wall_s=%.2f phones_per_s=%.0f p50_ms=%.1f p99_ms=%.1f "
	       "max_ms=%.1f retries=%u busy503=%u\n", phones, ok, failed, (double)(t1 - t0) / 1e9,
	       (double)ok / ((double)(t1 - t0) / 1e9), pct(0.5), pct(0.99), pct(1.0), retries,
	       busy503);
	free(ps);
	free(lat);
	return failed ? 1 : 0;
}

static int probe(const char *hpath, const char *tfile, double secs)
{
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
	size_t cap = 1 << 20;
	struct phone p;

	lat = calloc(cap, sizeof(double));
	if (!lat) {
		fprintf(stderr, "stormload: out of memory\n");
		return 2;
	}
	for (int i = 0; now_ns() < end && nlat < cap; i++) {
		struct epoll_event ev;
		int good = -1;

		memset(&p, 0, sizeof(p));
		p.fd = -1;
		p.idx = i;
		p.kind = i % 2 ? K_TFTP : K_HTTP;
		p.t0 = now_ns();
		if ((p.kind == K_HTTP ? start_http(&p, hpath, NULL) : start_tftp(&p, tfile)) != 0) {
			finish(&p, 0);
			continue;
		}
		while (good < 0 && now_ns() < p.t0 + 10000000000ull) {
			if (epoll_wait(ep, &ev, 1, 100) == 1) {
				if (p.kind == K_HTTP)
					http_event(&p, ev.events, &good);
				else
					tftp_event(&p, &good);
			} else if (p.kind == K_TFTP) {
				sendto(p.fd, p.last, p.last_len, 0,
				       p.have_tid ? (struct sockaddr *)&p.tid :
						    (struct sockaddr *)&tftp_addr, sizeof(tftp_addr));
				retries++;
			}
		}
		finish(&p, good == 1);
	}
	qsort(lat, nlat, sizeof(double), cmp_d);
	printf("requests=%u failed=%u p50_ms=%.2f p99_ms=%.2f max_ms=%.2f retries=%u\n", ok,
	       failed, pct(0.5), pct(0.99), pct(1.0), retries);
	free(lat);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	int hport = 0, tport = 0, phones = 1000, conc = 64, offset = 0, o;
	const char *hpath = "static.cfg", *tfile = "static.cfg";
	double secs = 5;

	if (argc < 2 || (strcmp(argv[1], "storm") && strcmp(argv[1], "probe"))) {
		fprintf(stderr, "usage: stormload storm|probe [options] (see the source)\n");
		return 2;
	}
	optind = 2;
	while ((o = getopt(argc, argv, "H:T:n:c:o:p:f:d:r:v")) != -1) {
		switch (o) {
		case 'H': hport = atoi(optarg); break;
		case 'T': tport = atoi(optarg); break;
		case 'n': phones = atoi(optarg); break;
		case 'c': conc = atoi(optarg); break;
		case 'o': offset = atoi(optarg); break;
		case 'p': hpath = optarg; break;
		case 'f': tfile = optarg; break;
		case 'd': secs = atof(optarg); break;
		case 'r': max_tries = atoi(optarg) > 0 ? atoi(optarg) : 1; break;
		case 'v': verbose = 1; break;
		default: return 2;
		}
	}
	raise_nofile();
	http_addr.sin_family = tftp_addr.sin_family = AF_INET;
	http_addr.sin_addr.s_addr = tftp_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	http_addr.sin_port = htons((uint16_t)hport);
	tftp_addr.sin_port = htons((uint16_t)tport);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!strcmp(argv[1], "storm"))
		return storm(phones, conc, offset);
	return probe(hpath, tfile, secs);
}
