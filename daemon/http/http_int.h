/* Internal helpers shared by the HTTP file server and the REST API. */
#ifndef PP_HTTP_INT_H
#define PP_HTTP_INT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "../common.h"
#include "../config.h"

/* Client address as text ("127.0.0.1", "::1"); "-" when unknown. */
void pp_sockaddr_ip(const struct sockaddr *sa, char *out, size_t n);
/* Bind + listen a TCP socket on l (numeric host). what names the key in errors. */
int pp_http_listen_socket(const struct pp_listen *l, const char *what, int *fd,
			  struct pp_err *err);
/* MHD thread-pool size: online cores, 1..16. */
unsigned pp_http_pool_size(void);
/* Connection limit: want, bounded by RLIMIT_NOFILE minus headroom. */
unsigned pp_http_conn_limit(unsigned want);
/* One debug line per served request. */
void pp_http_log_request(const char *ip, const char *method, const char *path, unsigned status,
			 uint64_t bytes, const char *ua);
/* libmicrohttpd's error logger: one debug line; cls is the event name
 * ("http.mhd" or "api.mhd"). */
void pp_http_mhd_logger(void *cls, const char *fmt, va_list ap);

#endif
