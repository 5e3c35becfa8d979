/* Fuzz what a reverse proxy or a client sends before and in HTTP
 * (lib/netaddr.c): the PROXY protocol v1/v2 header, X-Forwarded-For and
 * trusted_proxies entries. Invariants are checked with abort(): a header
 * consumes at most what was given (and at most PP_PROXY_MAX), a client
 * address is IPv4 or IPv6 with a length that matches, every prefix of an
 * accepted header is MORE (never a different verdict), an XFF client is a
 * parseable address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "lib/netaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_storage src;
	socklen_t slen = 0;
	size_t used = 0;
	enum pp_proxy_rc rc = pp_proxy_parse(data, size, &used, &src, &slen);
	struct pp_cidr list[2];
	unsigned char a[16];
	char *s, out[64];

	if (rc == PP_PROXY_OK || rc == PP_PROXY_LOCAL) {
		if (used == 0 || used > size || used > PP_PROXY_MAX)
			abort();
		if (rc == PP_PROXY_OK &&
		    !((src.ss_family == AF_INET && slen == sizeof(struct sockaddr_in)) ||
		      (src.ss_family == AF_INET6 && slen == sizeof(struct sockaddr_in6))))
			abort();
		/* a shorter read of the same header must ask for more */
		for (size_t k = 0; k < used; k += 1 + used / 16) {
			size_t u2;
			socklen_t l2;
			struct sockaddr_storage s2;

			if (pp_proxy_parse(data, k, &u2, &s2, &l2) != PP_PROXY_MORE)
				abort();
		}
	}
	/* the same bytes as text: an XFF value and a trusted_proxies entry */
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(list, 0, sizeof(list));
	if (!pp_cidr_parse(s, &list[0]) && list[0].bits > 128)
		abort();
	pp_cidr_parse("127.0.0.0/8", &list[1]);
	if (pp_xff_client(s, list, 2, out, sizeof(out)) && !pp_ip_parse(out, a))
		abort();
	(void)pp_cidr_match_text(list, 2, s);
	free(s);
	return 0;
}
