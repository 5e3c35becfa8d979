/* Helpers shared by the file server and the API: sockets, sizes, logs. */

#include "http_int.h"
#include "daemon/sockact.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include <microhttpd.h>

#include "lib/log.h"

void pp_sockaddr_ip(const struct sockaddr *sa, char *out, size_t n)
{
	if (sa && sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)n))
		return;
	if (sa && sa->sa_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, (socklen_t)n))
		return;
	snprintf(out, n, "-");
}

int pp_http_listen_socket(const struct pp_listen *l, const char *what, struct pp_sockact *sa,
			  int *fd, struct pp_err *err)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	int one = 1, s;

	/* bound and listening already when systemd handed it over */
	if ((s = pp_sockact_take(sa, SOCK_STREAM, l)) >= 0) {
		*fd = s;
		return PP_OK;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, l->host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)l->port);
		slen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, l->host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)l->port);
		slen = sizeof(*sin6);
	} else {
		pp_err_set(err, "%s %s: not a numeric address", what, l->text);
		return PP_EINVAL;
	}
	s = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s < 0) {
		pp_err_set(err, "%s %s: socket: %s", what, l->text, strerror(errno));
		return PP_EIO;
	}
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&ss, slen) != 0 || listen(s, 1024) != 0) {
		pp_err_set(err, "%s %s: cannot bind: %s", what, l->text, strerror(errno));
		close(s);
		return PP_EIO;
	}
	*fd = s;
	return PP_OK;
}

unsigned pp_http_pool_size(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		n = 1;
	if (n > 16)
		n = 16;
	return (unsigned)n;
}

unsigned pp_http_conn_limit(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		/* each connection may hold a socket and an open file */
		rlim_t avail = rl.rlim_cur > 128 ? (rl.rlim_cur - 128) / 2 : 16;

		if (avail < want)
			want = (unsigned)avail;
	}
	return want;
}

void pp_http_log_request(const char *ip, const char *method, const char *path, unsigned status,
			 uint64_t bytes, uint64_t ns, const char *ua)
{
	char q1[600], q2[600];

	if (!pp_log_enabled(PP_LOG_INFO))
		return;
	if (!ua || !*ua)
		ua = "-";
	/* pp_qn: a byte of the User-Agent that is not printable ASCII is \xNN */
	pp_log(PP_LOG_INFO, "http.request",
	       "client=%s method=%s path=%s status=%u bytes=%llu duration_ms=%.1f ua=%s", ip,
	       method, pp_q(q1, sizeof(q1), path), status, (unsigned long long)bytes,
	       (double)ns / 1e6, pp_qn(q2, sizeof(q2), ua, strlen(ua)));
}

void pp_http_mhd_logger(void *cls, const char *fmt, va_list ap)
{
	char msg[512], q[600];

	if (!pp_log_enabled(PP_LOG_DEBUG))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	pp_log(PP_LOG_DEBUG, (const char *)cls, "msg=%s", pp_q(q, sizeof(q), msg));
}

/* ---- header deadline ------------------------------------------------------ */

struct hd_conn {
	int fd;
	bool listed;
	uint64_t deadline;     /* pp_mono_ns() */
	struct hd_conn *prev, *next;
};

struct pp_headdl {
	const char *what;
	char event[32];
	uint64_t timeout_ns;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop, started;
	pthread_t thr;
	/* connections waiting for a head, by deadline (one timeout for all:
	 * appending keeps the order) */
	struct hd_conn *head, *tail;
	unsigned long long closed; /* shut down since the last log line */
	uint64_t logged_ns;
};

static void hd_unlink(struct pp_headdl *hd, struct hd_conn *k)
{
	if (!k->listed)
		return;
	if (k->prev)
		k->prev->next = k->next;
	else
		hd->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		hd->tail = k->prev;
	k->prev = k->next = NULL;
	k->listed = false;
}

static void hd_append(struct pp_headdl *hd, struct hd_conn *k)
{
	hd_unlink(hd, k);
	k->deadline = pp_mono_ns() + hd->timeout_ns;
	k->prev = hd->tail;
	if (hd->tail)
		hd->tail->next = k;
	else
		hd->head = k;
	hd->tail = k;
	k->listed = true;
}

static void *hd_thread(void *arg)
{
	struct pp_headdl *hd = arg;

	pthread_mutex_lock(&hd->lock);
	while (!hd->stop) {
		uint64_t now = pp_mono_ns();
		struct timespec ts;

		/* the fd is open: MHD reports a connection closed (and takes
		 * this lock) before it closes its socket */
		while (hd->head && hd->head->deadline <= now) {
			struct hd_conn *k = hd->head;

			shutdown(k->fd, SHUT_RDWR);
			hd_unlink(hd, k);
			hd->closed++;
		}
		if (hd->closed && now - hd->logged_ns >= 1000000000ull) {
			/* one line a second at most, however many were closed */
			pp_log(PP_LOG_INFO, hd->event, "closed=%llu timeout_s=%llu", hd->closed,
			       (unsigned long long)(hd->timeout_ns / 1000000000ull));
			hd->closed = 0;
			hd->logged_ns = now;
		}
		ts = pp_deadline_ms(CLOCK_MONOTONIC, 200); /* sweep 5 times a second */
		pthread_cond_timedwait(&hd->cond, &hd->lock, &ts);
	}
	pthread_mutex_unlock(&hd->lock);
	return NULL;
}

struct pp_headdl *pp_headdl_new(const char *what, unsigned timeout_s)
{
	struct pp_headdl *hd = calloc(1, sizeof(*hd));
	pthread_condattr_t ca;
	char name[16];

	if (!hd)
		return NULL;
	hd->what = what;
	snprintf(hd->event, sizeof(hd->event), "%s.header_timeout", what);
	hd->timeout_ns = (uint64_t)(timeout_s ? timeout_s : 10) * 1000000000ull;
	pthread_mutex_init(&hd->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hd->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&hd->thr, NULL, hd_thread, hd) != 0) {
		pthread_cond_destroy(&hd->cond);
		pthread_mutex_destroy(&hd->lock);
		free(hd);
		return NULL;
	}
	hd->started = true;
	snprintf(name, sizeof(name), "pp-%.6s-hdl", what);
	pthread_setname_np(hd->thr, name);
	return hd;
}

void pp_headdl_free(struct pp_headdl *hd)
{
	if (!hd)
		return;
	pthread_mutex_lock(&hd->lock);
	hd->stop = true;
	pthread_cond_signal(&hd->cond);
	pthread_mutex_unlock(&hd->lock);
	if (hd->started)
		pthread_join(hd->thr, NULL);
	pthread_cond_destroy(&hd->cond);
	pthread_mutex_destroy(&hd->lock);
	free(hd);
}

void pp_headdl_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		      enum MHD_ConnectionNotificationCode toe)
{
	struct pp_headdl *hd = cls;
	struct hd_conn *k = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		if (!ci || !(k = calloc(1, sizeof(*k))))
			return; /* no deadline for this one (out of memory) */
		k->fd = ci->connect_fd;
		pthread_mutex_lock(&hd->lock);
		hd_append(hd, k);
		pthread_mutex_unlock(&hd->lock);
		*socket_context = k;
		return;
	}
	if (!k)
		return;
	pthread_mutex_lock(&hd->lock);
	hd_unlink(hd, k);
	pthread_mutex_unlock(&hd->lock);
	free(k);
	*socket_context = NULL;
}

static struct hd_conn *hd_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

void pp_headdl_head_done(struct pp_headdl *hd, struct MHD_Connection *c)
{
	struct hd_conn *k = hd ? hd_of(c) : NULL;

	if (!k)
		return;
	pthread_mutex_lock(&hd->lock);
	hd_unlink(hd, k);
	pthread_mutex_unlock(&hd->lock);
}

void pp_headdl_request_done(struct pp_headdl *hd, struct MHD_Connection *c)
{
	struct hd_conn *k = hd ? hd_of(c) : NULL;

	if (!k)
		return;
	pthread_mutex_lock(&hd->lock);
	hd_append(hd, k);
	pthread_mutex_unlock(&hd->lock);
}
