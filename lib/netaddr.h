/* Client addresses behind reverse proxies: address/prefix lists
 * (http.trusted_proxies), the X-Forwarded-For walk, and the PROXY protocol
 * header (HAProxy's spec, versions 1 and 2) that a load balancer puts in
 * front of a TCP stream. Leaf code: no logging, no allocation. */
#ifndef PP_NETADDR_H
#define PP_NETADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* One address or network. IPv4 is kept as an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d, prefix + 96) so that an IPv4 client reaching an IPv6
 * socket matches the same entries. */
struct pp_cidr {
	unsigned char addr[16];
	unsigned bits; /* 0..128 */
};

/* "ADDR" or "ADDR/BITS" (numeric IPv4 or IPv6, no brackets). Returns NULL,
 * or a static description of what is wrong. Host bits set under the
 * prefix are refused (a typo, e.g. 10.0.0.1/8). */
const char *pp_cidr_parse(const char *s, struct pp_cidr *out);
/* Parse a numeric address into the mapped form above; false if not one. */
bool pp_ip_parse(const char *s, unsigned char out[16]);
/* Is the address (text, as pp_sockaddr_ip writes it) in one of the n entries? */
bool pp_cidr_match_text(const struct pp_cidr *list, size_t n, const char *ip);

/* X-Forwarded-For: walk the comma-separated list from the right, skipping
 * the addresses of trusted proxies; the first one that is not trusted is
 * the client (a client can put anything on the left: only the entries
 * appended by our own proxies count). When every entry is trusted, the
 * left-most one. Writes it (normalised text) into out and returns true;
 * false (out untouched) when the header holds an entry that is not an
 * address (the header is then ignored as a whole), or nothing. */
bool pp_xff_client(const char *xff, const struct pp_cidr *trusted, size_t n, char *out,
		   size_t outn);

/* The PROXY protocol header at the start of a connection.
 * PP_PROXY_MORE: a prefix of a header, wait for more bytes (len < the
 * maximum); PP_PROXY_NONE: the stream does not start with a header;
 * PP_PROXY_BAD: a malformed header (close the connection);
 * PP_PROXY_LOCAL: a valid header that carries no client address (v1
 * "UNKNOWN", v2 LOCAL command or a family other than TCP over IPv4/IPv6):
 * keep the connection's own peer; PP_PROXY_OK: *src holds the client's
 * address and port. *consumed is the header's length (OK, LOCAL). */
enum pp_proxy_rc { PP_PROXY_OK, PP_PROXY_LOCAL, PP_PROXY_MORE, PP_PROXY_NONE, PP_PROXY_BAD };
#define PP_PROXY_V1_MAX 107    /* the spec's longest v1 line, CRLF included */
#define PP_PROXY_MAX 536       /* v2: 16 bytes + addresses + TLVs, accepted up to this */
enum pp_proxy_rc pp_proxy_parse(const unsigned char *buf, size_t len, size_t *consumed,
				struct sockaddr_storage *src, socklen_t *srclen);

#endif
