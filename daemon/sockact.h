/* Socket activation (sd_listen_fds(3) protocol, without libsystemd): the
 * listening sockets systemd bound for phoneprovd (phoneprovd.socket) are
 * fds 3.. when $LISTEN_PID is our pid and $LISTEN_FDS counts them. A
 * service asks for the one bound to its configured listen address
 * (family, address, port and socket type all equal); what nobody took is
 * logged and closed once every service has started. Main thread only,
 * before the serving threads exist. */
#ifndef PP_SOCKACT_H
#define PP_SOCKACT_H

#include <stdbool.h>
#include "daemon/config/config.h"

#define PP_SOCKACT_MAX 16

struct pp_sockact {
	int fd[PP_SOCKACT_MAX];   /* -1 once taken */
	size_t n;
};

/* Take over the inherited sockets (set close-on-exec, unset the
 * variables so that no child sees them). Returns how many. */
size_t pp_sockact_init(struct pp_sockact *sa);
/* The inherited socket of this type (SOCK_STREAM, SOCK_DGRAM) bound to l,
 * made non-blocking, now the caller's; -1 when there is none. sa may be
 * NULL (no socket activation). */
int pp_sockact_take(struct pp_sockact *sa, int type, const struct pp_listen *l);
/* Log and close the sockets nobody took. */
void pp_sockact_close_unused(struct pp_sockact *sa);

#endif
