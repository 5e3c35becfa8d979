/* Socket activation: see sockact.h. The protocol (sd_listen_fds(3)):
 * $LISTEN_PID = our pid, $LISTEN_FDS = N, the sockets are fds 3 .. 3+N-1. */
#include "sockact.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"

#define LISTEN_FDS_START 3

size_t pp_sockact_init(struct pp_sockact *sa)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long n;

	memset(sa, 0, sizeof(*sa));
	if (!pid || !fds || strtol(pid, &end, 10) != (long)getpid() || *end)
		goto out;
	n = strtol(fds, &end, 10);
	if (*end || n <= 0)
		goto out;
	if (n > PP_SOCKACT_MAX) {
		pp_log(PP_LOG_WARN, "sockets.inherited", "count=%ld used_at_most=%d", n,
		       PP_SOCKACT_MAX);
		n = PP_SOCKACT_MAX;
	}
	for (long i = 0; i < n; i++) {
		int fd = LISTEN_FDS_START + (int)i;

		fcntl(fd, F_SETFD, FD_CLOEXEC);
		sa->fd[sa->n++] = fd;
	}
out:
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return sa->n;
}

/* Does the socket's local address equal l (numeric host, port)? */
static bool bound_to(int fd, const struct pp_listen *l)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	unsigned char want[16];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	if (ss.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		return inet_pton(AF_INET, l->host, want) == 1 && ntohs(s4->sin_port) == l->port &&
		       memcmp(&s4->sin_addr, want, 4) == 0;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		return inet_pton(AF_INET6, l->host, want) == 1 &&
		       ntohs(s6->sin6_port) == l->port && memcmp(&s6->sin6_addr, want, 16) == 0;
	}
	return false;
}

int pp_sockact_take(struct pp_sockact *sa, int type, const struct pp_listen *l)
{
	if (!sa)
		return -1;
	for (size_t i = 0; i < sa->n; i++) {
		int fd = sa->fd[i], t = 0, fl;
		socklen_t tl = sizeof(t);

		if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &t, &tl) != 0 || t != type ||
		    !bound_to(fd, l))
			continue;
		fl = fcntl(fd, F_GETFL);
		if (fl >= 0)
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		sa->fd[i] = -1;
		pp_log(PP_LOG_INFO, "sockets.inherited", "listen=%s type=%s fd=%d", l->text,
		       type == SOCK_DGRAM ? "udp" : "tcp", fd);
		return fd;
	}
	return -1;
}

void pp_sockact_close_unused(struct pp_sockact *sa)
{
	for (size_t i = 0; sa && i < sa->n; i++) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		char host[INET6_ADDRSTRLEN] = "?";
		unsigned port = 0;

		if (sa->fd[i] < 0)
			continue;
		if (getsockname(sa->fd[i], (struct sockaddr *)&ss, &len) == 0) {
			if (ss.ss_family == AF_INET) {
				inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host,
					  sizeof(host));
				port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
			} else if (ss.ss_family == AF_INET6) {
				inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host,
					  sizeof(host));
				port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
			}
		}
		pp_log(PP_LOG_WARN, "sockets.unused",
		       "addr=%s port=%u reason=\"no listen address of the configuration is this "
		       "socket: keep phoneprovd.socket and phoneprov.yml in step\"", host, port);
		close(sa->fd[i]);
		sa->fd[i] = -1;
	}
}
