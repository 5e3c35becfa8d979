/* The PROXY-protocol front of a file-server listener. libmicrohttpd reads
 * a connection's first bytes itself and has no hook before HTTP parsing,
 * so when http.trusted_proxies is set at start the listener's socket is
 * not handed to libmicrohttpd: this thread accepts, looks at (MSG_PEEK)
 * the first bytes of connections from trusted proxies, drops a PROXY v1/v2
 * header and hands the connection over with MHD_add_connection and the
 * client's address from the header, so that everything after it (logs,
 * per-address limits, device identification, the ban) sees the client.
 * Connections from anyone else are handed over at once, untouched: their
 * PROXY header, if any, reaches HTTP parsing and is a 400. */

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <microhttpd.h>

#include "daemon/daemon.h"
#include "lib/log.h"
#include "lib/netaddr.h"
#include "http_int.h"
#include "paccept.h"

#define PACCEPT_PENDING_MAX 1024 /* trusted connections waiting for their first bytes */
#define PACCEPT_RETRY_MS 10     /* a partial header: look again after this */

struct pending {
	int fd;
	struct sockaddr_storage sa;
	socklen_t salen;
	uint64_t deadline_ns; /* header_timeout_s after accept */
	uint64_t retry_ns;    /* 0, or do not poll before this (partial header) */
};

struct pp_paccept {
	struct pp_daemon *d;
	struct MHD_Daemon *mhd;
	int lfd, efd;
	unsigned timeout_s;
	const char *name;
	pthread_t thr;
	struct pending p[PACCEPT_PENDING_MAX];
	size_t np;
	uint64_t accept_pause_ns; /* out of descriptors: no accept before this */
};

static bool trusted(struct pp_paccept *a, const struct sockaddr *sa)
{
	struct pp_snapshot *s = pp_daemon_acquire(a->d);
	char ip[64];
	bool yes;

	pp_sockaddr_ip(sa, ip, sizeof(ip));
	yes = pp_cidr_match_text(s->cfg->http.trusted_proxies, s->cfg->http.n_trusted_proxies, ip);
	pp_snapshot_release(s);
	return yes;
}

static void hand_over(struct pp_paccept *a, int fd, const struct sockaddr *sa, socklen_t len)
{
	/* MHD closes the socket itself when it cannot take it */
	if (MHD_add_connection(a->mhd, fd, sa, len) != MHD_YES)
		pp_log(PP_LOG_DEBUG, "http.proxy_refused", "listener=%s reason=%s", a->name,
		       "connection limit");
}

static void drop(struct pp_paccept *a, size_t i)
{
	a->p[i] = a->p[--a->np];
}

/* Look at a trusted connection's first bytes. True when it is done with
 * (handed over or closed). */
static bool examine(struct pp_paccept *a, struct pending *pc, uint64_t now)
{
	unsigned char buf[PP_PROXY_MAX];
	struct sockaddr_storage src;
	socklen_t srclen = 0;
	size_t used = 0;
	char peer[64], client[64];
	ssize_t n = recv(pc->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	enum pp_proxy_rc rc;

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	if (n <= 0) {
		close(pc->fd); /* closed or failed before sending anything */
		return true;
	}
	rc = pp_proxy_parse(buf, (size_t)n, &used, &src, &srclen);
	if (rc == PP_PROXY_MORE && (size_t)n == sizeof(buf))
		rc = PP_PROXY_BAD;
	pp_sockaddr_ip((struct sockaddr *)&pc->sa, peer, sizeof(peer));
	switch (rc) {
	case PP_PROXY_MORE:
		pc->retry_ns = now + PACCEPT_RETRY_MS * 1000000ull;
		return false;
	case PP_PROXY_NONE:
		hand_over(a, pc->fd, (struct sockaddr *)&pc->sa, pc->salen);
		return true;
	case PP_PROXY_BAD:
		pp_log(PP_LOG_INFO, "http.refused", "client=%s listener=%s status=0 "
		       "reason=\"malformed PROXY protocol header\"", peer, a->name);
		close(pc->fd);
		return true;
	case PP_PROXY_LOCAL:
	case PP_PROXY_OK:
		if (recv(pc->fd, buf, used, MSG_DONTWAIT) != (ssize_t)used) {
			close(pc->fd);
			return true;
		}
		if (rc == PP_PROXY_LOCAL) {
			hand_over(a, pc->fd, (struct sockaddr *)&pc->sa, pc->salen);
			return true;
		}
		pp_sockaddr_ip((struct sockaddr *)&src, client, sizeof(client));
		pp_log(PP_LOG_DEBUG, "http.proxy", "listener=%s proxy=%s client=%s", a->name, peer,
		       client);
		hand_over(a, pc->fd, (struct sockaddr *)&src, srclen);
		return true;
	}
	return false;
}

/* False when there was nothing (more) to accept. */
static bool accept_one(struct pp_paccept *a, uint64_t now)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);
	int fd = accept4(a->lfd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0) {
		/* out of descriptors: the socket stays readable, so wait a little
		 * rather than spin (the kernel keeps the connections queued) */
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
			a->accept_pause_ns = now + 100 * 1000000ull;
		return false; /* EAGAIN, a client gone: the next poll retries */
	}
	if (!trusted(a, (struct sockaddr *)&sa)) {
		hand_over(a, fd, (struct sockaddr *)&sa, len);
		return true;
	}
	a->p[a->np] = (struct pending){ .fd = fd, .sa = sa, .salen = len,
					.deadline_ns = now + a->timeout_s * 1000000000ull };
	a->np++;
	return true;
}

static void *run(void *arg)
{
	struct pp_paccept *a = arg;
	struct pollfd pf[PACCEPT_PENDING_MAX + 2];
	size_t map[PACCEPT_PENDING_MAX];

	for (;;) {
		uint64_t now = pp_mono_ns(), next = now + 1000000000ull;
		size_t nf = 0;
		int timeout_ms;

		pf[nf++] = (struct pollfd){ .fd = a->efd, .events = POLLIN };
		/* full: leave the new connections in the kernel's backlog */
		pf[nf++] = (struct pollfd){ .fd = a->np < PACCEPT_PENDING_MAX &&
						  a->accept_pause_ns <= now ? a->lfd : -1,
					    .events = POLLIN };
		if (a->accept_pause_ns > now && a->accept_pause_ns < next)
			next = a->accept_pause_ns;
		for (size_t i = 0; i < a->np; i++) {
			struct pending *pc = &a->p[i];

			if (pc->deadline_ns < next)
				next = pc->deadline_ns;
			if (pc->retry_ns > now) {
				if (pc->retry_ns < next)
					next = pc->retry_ns;
				continue;
			}
			map[nf - 2] = i;
			pf[nf++] = (struct pollfd){ .fd = pc->fd, .events = POLLIN };
		}
		timeout_ms = next > now ? (int)((next - now) / 1000000ull) + 1 : 0;
		if (poll(pf, nf, timeout_ms) < 0 && errno != EINTR)
			break;
		if (pf[0].revents)
			break;
		now = pp_mono_ns();
		/* from the end, so that drop() (last moves into i) keeps map valid */
		for (size_t k = nf; k-- > 2;) {
			size_t i = map[k - 2];

			if (pf[k].revents && examine(a, &a->p[i], now))
				drop(a, i);
		}
		for (size_t i = a->np; i-- > 0;) {
			if (a->p[i].deadline_ns <= now) {
				char peer[64];

				pp_sockaddr_ip((struct sockaddr *)&a->p[i].sa, peer, sizeof(peer));
				pp_log(PP_LOG_INFO, "http.header_timeout", "client=%s listener=%s "
				       "stage=proxy", peer, a->name);
				close(a->p[i].fd);
				drop(a, i);
			} else if (a->p[i].retry_ns && a->p[i].retry_ns <= now) {
				a->p[i].retry_ns = 0;
			}
		}
		if (pf[1].revents & POLLIN)
			for (int j = 0; j < 64 && a->np < PACCEPT_PENDING_MAX; j++)
				if (!accept_one(a, now))
					break;
	}
	return NULL;
}

int pp_paccept_start(struct pp_daemon *d, struct MHD_Daemon *mhd, int lfd, unsigned timeout_s,
		     const char *name, struct pp_paccept **out, struct pp_err *err)
{
	struct pp_paccept *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a) {
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	a->d = d;
	a->mhd = mhd;
	a->lfd = lfd;
	a->timeout_s = timeout_s;
	a->name = name;
	a->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->efd < 0 || pthread_create(&a->thr, NULL, run, a) != 0) {
		if (a->efd >= 0)
			close(a->efd);
		free(a);
		pp_err_set(err, "%s.listen: cannot start the PROXY protocol thread", name);
		return PP_ERR;
	}
	*out = a;
	return PP_OK;
}

void pp_paccept_stop(struct pp_paccept *a)
{
	uint64_t one = 1;

	if (!a)
		return;
	(void)!write(a->efd, &one, sizeof(one));
	pthread_join(a->thr, NULL);
	for (size_t i = 0; i < a->np; i++)
		close(a->p[i].fd);
	close(a->efd);
	close(a->lfd);
	free(a);
}
