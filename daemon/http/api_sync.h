/* Synchronize (api_sync.c): SIP NOTIFY as an operation. */
#ifndef PP_API_SYNC_H
#define PP_API_SYNC_H

#include "api_int.h"

/* The Event header for a device of this plugin (NULL: the default). */
const char *api_sync_event(const char *plugin);
/* Start the "synchronize" operation (202 + Location). user: line 1's SIP
 * username, NULL/"" for the MAC without colons; auth_user/password (line 1's)
 * answer a 401/407 Digest challenge once (none without a password). */
enum MHD_Result api_sync_start(struct api_req *r, const char *mac, const char *ip, unsigned port,
			       const char *user, const char *auth_user, const char *password,
			       const char *plugin, unsigned t1_ms);

#endif
