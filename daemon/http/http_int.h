/* Internal helpers shared by the HTTP file server and the REST API. */
#ifndef PP_HTTP_INT_H
#define PP_HTTP_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "lib/common.h"
#include "daemon/config/config.h"
#include <microhttpd.h>

/* Client address as text ("127.0.0.1", "::1"); "-" when unknown. */
void pp_sockaddr_ip(const struct sockaddr *sa, char *out, size_t n);
struct pp_sockact;
/* The listening TCP socket for l (numeric host): the one systemd handed
 * over in sa (may be NULL), else bound and listening here. what names the
 * key in errors. */
int pp_http_listen_socket(const struct pp_listen *l, const char *what, struct pp_sockact *sa,
			  int *fd, struct pp_err *err);
/* MHD thread-pool size: online cores, 1..16. */
unsigned pp_http_pool_size(void);
/* Connection limit: want, bounded by RLIMIT_NOFILE minus headroom. */
unsigned pp_http_conn_limit(unsigned want);
/* The access log: one http.request line at info per request served or not
 * found (refusals have their http.refused line). ns: its duration. */
void pp_http_log_request(const char *ip, const char *method, const char *path, unsigned status,
			 uint64_t bytes, uint64_t ns, const char *ua);
/* libmicrohttpd's error logger: one debug line; cls is the event name
 * ("http.mhd" or "api.mhd"). */
void pp_http_mhd_logger(void *cls, const char *fmt, va_list ap);

/* The header deadline: a connection's request head (request line and
 * headers) must arrive whole within timeout_s of the connection's start, or
 * of the end of its previous request (keep-alive), however slowly its bytes
 * trickle in (libmicrohttpd's own timeout restarts on every byte). A sweeper
 * thread shuts the late connections' sockets down; libmicrohttpd then closes
 * them as if the client had. what names the log events ("http", "api"). */
struct MHD_Connection;
struct pp_headdl;
struct pp_headdl *pp_headdl_new(const char *what, unsigned timeout_s);
/* Stops the sweeper: after MHD_stop_daemon (no connection left). */
void pp_headdl_free(struct pp_headdl *hd);
/* MHD_OPTION_NOTIFY_CONNECTION callback, cls the pp_headdl. */
void pp_headdl_notify(void *cls, struct MHD_Connection *c, void **socket_context,
		      enum MHD_ConnectionNotificationCode toe);
/* The handler saw the head of a request on c. */
void pp_headdl_head_done(struct pp_headdl *hd, struct MHD_Connection *c);
/* A request on c completed: the next head is due within the deadline. */
void pp_headdl_request_done(struct pp_headdl *hd, struct MHD_Connection *c);

#endif
