/* Helpers shared by the file server and the API: sockets, sizes, logs. */

#include "http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../log.h"

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

int pp_http_listen_socket(const struct pp_listen *l, const char *what, int *fd,
			  struct pp_err *err)
{
	struct sockaddr_storage ss;
	socklen_t slen;
	int one = 1, s;

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
			 uint64_t bytes, const char *ua)
{
	char q1[600], q2[600];

	pp_log(PP_LOG_DEBUG, "http.request", "client=%s method=%s path=%s status=%u bytes=%llu ua=%s",
	       ip, method, pp_q(q1, sizeof(q1), path), status, (unsigned long long)bytes,
	       pp_q(q2, sizeof(q2), ua && *ua ? ua : "-"));
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
