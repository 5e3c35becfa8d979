/* Privileges of phoneprovd after start-up (DESIGN §2, STYLE §7): once every
 * socket is bound and the capture is open, the daemon keeps no capability
 * and, started as root without systemd, no root either. */
#ifndef PP_PRIVS_H
#define PP_PRIVS_H

#include "daemon/config/config.h"

/* As root with cfg->user set: hand the data folders to that user and switch
 * to it (groups, gid, uid). Then drop every capability (lib/caps.h).
 * As root without cfg->user: warn once, keep running as root with no
 * capability beyond root's own. Returns PP_OK or PP_EIO/PP_ENOENT with the
 * reason in err (an unknown user, a failed setuid: start-up fails). */
int pp_privs_drop(const struct pp_config *cfg, struct pp_err *err);

#endif
