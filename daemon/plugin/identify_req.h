/* An identification request (the inputs of `phoneprov identify`, its
 * --batch lines and POST /api/v1/identify) read from options or a JSON
 * object, owning its bytes. The answer is pp_identify_json's. */
#ifndef PP_IDENTIFY_REQ_H
#define PP_IDENTIFY_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "extractors/extract.h"

struct pp_identify_req {
	struct pp_ex_input in;
	char *buf[PP_SRC_N];
	int n;                      /* inputs set */
};

/* Set one input (PP_SRC_*); hex: v is hexadecimal bytes (a trailing NUL, a
 * byte that is not text). Paths are normalised as the request path sees
 * them (relative, no dots). 0, or -1 (bad hex, out of memory). */
int pp_identify_req_set(struct pp_identify_req *q, int src, const char *v, size_t len, bool hex);
/* Read a JSON object: keys dhcp_vci, dhcp_vci_hex, dhcp_hostname,
 * dhcp_client_id, dhcp_user_class, user_agent, user_agent_hex, http_path,
 * tftp_file, each a string. 0, or -1 with *bad_key naming the key at fault
 * (an unknown key, not a string, bad hex). */
int pp_identify_req_json(struct pp_identify_req *q, const json_t *o, const char **bad_key);
void pp_identify_req_free(struct pp_identify_req *q);

#endif
