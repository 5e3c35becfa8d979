/* Identification requests from options or JSON (identify_req.h): one reader
 * for the CLI's options, its --batch lines and the API's POST /identify. */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"
#include "lib/safepath.h"
#include "identify_req.h"

void pp_identify_req_free(struct pp_identify_req *q)
{
	for (int s = 0; s < PP_SRC_N; s++)
		free(q->buf[s]);
	memset(q, 0, sizeof(*q));
}

int pp_identify_req_set(struct pp_identify_req *q, int s, const char *v, size_t len, bool hex)
{
	char *b;
	size_t n = 0;

	if (s < 0 || s >= PP_SRC_N)
		return -1;
	free(q->buf[s]);
	q->buf[s] = NULL;
	q->in.s[s] = NULL;
	q->in.len[s] = 0;
	if (hex) {
		if (len % 2)
			return -1;
		if (!(b = malloc(len / 2 + 1)))
			return -1;
		for (size_t i = 0; i < len; i += 2) {
			unsigned x;

			if (!isxdigit((unsigned char)v[i]) || !isxdigit((unsigned char)v[i + 1]) ||
			    sscanf(v + i, "%2x", &x) != 1) {
				free(b);
				return -1;
			}
			b[n++] = (char)x;
		}
		b[n] = '\0';
	} else if (s == PP_SRC_HTTP_PATH || s == PP_SRC_TFTP_FILE) {
		const char *reason;

		if (!(b = malloc(PP_PATH_MAX)))
			return -1;
		if (pp_path_normalize(v, len, b, PP_PATH_MAX, &reason) != 0)
			snprintf(b, PP_PATH_MAX, "%.*s", (int)len, v); /* as given */
		n = strlen(b);
	} else {
		if (!(b = malloc(len + 1)))
			return -1;
		memcpy(b, v, len);
		b[len] = '\0';
		n = len;
	}
	q->buf[s] = b;
	q->in.s[s] = b;
	q->in.len[s] = n;
	q->n++;
	return 0;
}

static const struct {
	const char *key;
	int src;
	bool hex;
} keys[] = {
	{ "dhcp_vci", PP_SRC_DHCP_VCI, false },       { "dhcp_vci_hex", PP_SRC_DHCP_VCI, true },
	{ "dhcp_hostname", PP_SRC_DHCP_HOSTNAME, false },
	{ "dhcp_client_id", PP_SRC_DHCP_CLIENT_ID, false },
	{ "dhcp_user_class", PP_SRC_DHCP_USER_CLASS, false },
	{ "user_agent", PP_SRC_HTTP_UA, false },      { "user_agent_hex", PP_SRC_HTTP_UA, true },
	{ "http_path", PP_SRC_HTTP_PATH, false },
	{ "tftp_file", PP_SRC_TFTP_FILE, false },
};

int pp_identify_req_json(struct pp_identify_req *q, const json_t *o, const char **bad_key)
{
	const char *k;
	json_t *v;

	*bad_key = "";
	json_object_foreach((json_t *)o, k, v) {
		size_t i;

		for (i = 0; i < PP_ARRAY_LEN(keys) && strcmp(keys[i].key, k); i++)
			;
		if (i == PP_ARRAY_LEN(keys) || !json_is_string(v) ||
		    pp_identify_req_set(q, keys[i].src, json_string_value(v),
					json_string_length(v), keys[i].hex) != 0) {
			*bad_key = i == PP_ARRAY_LEN(keys) ? k : keys[i].key;
			return -1;
		}
	}
	return 0;
}
