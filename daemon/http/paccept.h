/* The PROXY-protocol accept thread in front of a file-server listener
 * (http.trusted_proxies set at start): see paccept.c. */
#ifndef PP_PACCEPT_H
#define PP_PACCEPT_H

#include "lib/common.h"

struct pp_daemon;
struct MHD_Daemon;
struct pp_paccept;

/* Accept on lfd (listening, owned from now on: closed by stop) and hand
 * every connection to mhd (started with MHD_USE_NO_LISTEN_SOCKET); a
 * trusted proxy's PROXY header must arrive within timeout_s. name: "http"
 * or "https", for logs and errors. */
int pp_paccept_start(struct pp_daemon *d, struct MHD_Daemon *mhd, int lfd, unsigned timeout_s,
		     const char *name, struct pp_paccept **out, struct pp_err *err);
/* Stops accepting and closes the connections still waiting: before
 * MHD_stop_daemon. */
void pp_paccept_stop(struct pp_paccept *a);

#endif
