/* Address lists, X-Forwarded-For and the PROXY protocol header: see
 * netaddr.h. The PROXY header format is HAProxy's "PROXY protocol"
 * specification (v1 text line, v2 binary block). */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netaddr.h"

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

bool pp_ip_parse(const char *s, unsigned char out[16])
{
	struct in_addr a4;

	if (inet_pton(AF_INET, s, &a4) == 1) {
		memcpy(out, v4mapped, 12);
		memcpy(out + 12, &a4, 4);
		return true;
	}
	return inet_pton(AF_INET6, s, out) == 1;
}

const char *pp_cidr_parse(const char *s, struct pp_cidr *out)
{
	char host[64];
	const char *slash = strchr(s, '/');
	size_t hlen = slash ? (size_t)(slash - s) : strlen(s);
	bool v4;
	unsigned bits;

	if (hlen == 0 || hlen >= sizeof(host))
		return "is not an address or ADDRESS/BITS";
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	v4 = strchr(host, ':') == NULL;
	if (!pp_ip_parse(host, out->addr))
		return "is not a numeric IPv4 or IPv6 address (ADDRESS or ADDRESS/BITS)";
	if (!slash) {
		out->bits = 128;
		return NULL;
	}
	{
		const char *p = slash + 1;
		char *end;
		unsigned long b;

		if (*p < '0' || *p > '9')
			return "has no prefix length after '/'";
		b = strtoul(p, &end, 10);
		if (*end || b > (v4 ? 32u : 128u) || end - p > 3)
			return v4 ? "has a prefix length that is not 0..32" :
				    "has a prefix length that is not 0..128";
		bits = (unsigned)b + (v4 ? 96u : 0u);
	}
	for (unsigned i = bits; i < 128; i++)
		if (out->addr[i / 8] & (0x80u >> (i % 8)))
			return "has bits set after the prefix (write the network address)";
	out->bits = bits;
	return NULL;
}

static bool match(const struct pp_cidr *c, const unsigned char a[16])
{
	unsigned full = c->bits / 8, rest = c->bits % 8;

	if (memcmp(c->addr, a, full) != 0)
		return false;
	if (!rest)
		return true;
	return ((c->addr[full] ^ a[full]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

static bool in_list(const struct pp_cidr *list, size_t n, const unsigned char a[16])
{
	for (size_t i = 0; i < n; i++)
		if (match(&list[i], a))
			return true;
	return false;
}

bool pp_cidr_match_text(const struct pp_cidr *list, size_t n, const char *ip)
{
	unsigned char a[16];

	return n && pp_ip_parse(ip, a) && in_list(list, n, a);
}

/* The address as pp_sockaddr_ip would print it: dotted IPv4 for a
 * mapped address, else the canonical IPv6 text. */
static void ip_text(const unsigned char a[16], char *out, size_t n)
{
	char buf[INET6_ADDRSTRLEN];

	if (memcmp(a, v4mapped, 12) == 0)
		inet_ntop(AF_INET, a + 12, buf, sizeof(buf));
	else
		inet_ntop(AF_INET6, a, buf, sizeof(buf));
	snprintf(out, n, "%s", buf);
}

bool pp_xff_client(const char *xff, const struct pp_cidr *trusted, size_t n, char *out,
		   size_t outn)
{
	const char *end = xff + strlen(xff);
	unsigned char a[16], last[16];
	bool have = false;

	while (end > xff) {
		const char *start = end, *e = end;
		char tok[64];
		size_t len;

		while (start > xff && start[-1] != ',')
			start--;
		end = start > xff ? start - 1 : xff;
		while (start < e && (*start == ' ' || *start == '\t'))
			start++;
		while (e > start && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		len = (size_t)(e - start);
		if (len == 0)
			continue; /* "a, , b": an empty element is no hop */
		if (len >= sizeof(tok))
			return false;
		memcpy(tok, start, len);
		tok[len] = '\0';
		if (!pp_ip_parse(tok, a))
			return false; /* a name, a port, garbage: do not guess */
		memcpy(last, a, 16);
		have = true;
		if (!in_list(trusted, n, a))
			break;
	}
	if (!have)
		return false;
	ip_text(last, out, outn);
	return true;
}

static const unsigned char v2sig[12] = { 0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
					 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a };

/* A decimal port "0".."65535" without sign or leading zeros. */
static bool port_parse(const char *s, unsigned *out)
{
	unsigned v = 0;
	size_t n = strlen(s);

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return false;
	*out = v;
	return true;
}

static enum pp_proxy_rc parse_v1(const unsigned char *buf, size_t len, size_t *consumed,
				 struct sockaddr_storage *src, socklen_t *srclen)
{
	char line[PP_PROXY_V1_MAX + 1], *f[6], *save = NULL, *p;
	size_t n, nf = 0;
	const unsigned char *cr = NULL;
	unsigned sport, dport;

	for (size_t i = 0; i + 1 < len && i < PP_PROXY_V1_MAX; i++)
		if (buf[i] == '\r' && buf[i + 1] == '\n') {
			cr = buf + i;
			break;
		}
	if (!cr)
		return len >= PP_PROXY_V1_MAX ? PP_PROXY_BAD : PP_PROXY_MORE;
	n = (size_t)(cr - buf);
	memcpy(line, buf, n);
	line[n] = '\0';
	if (memchr(line, '\0', n))
		return PP_PROXY_BAD;
	*consumed = n + 2;
	/* exactly one space between fields */
	if (strstr(line, "  ") || line[n - 1] == ' ')
		return PP_PROXY_BAD;
	for (p = strtok_r(line, " ", &save); p && nf < 6; p = strtok_r(NULL, " ", &save))
		f[nf++] = p;
	if (p || nf < 2 || strcmp(f[0], "PROXY") != 0)
		return PP_PROXY_BAD;
	if (strcmp(f[1], "UNKNOWN") == 0)
		return PP_PROXY_LOCAL; /* anything may follow */
	if (nf != 6 || (strcmp(f[1], "TCP4") && strcmp(f[1], "TCP6")) ||
	    !port_parse(f[4], &sport) || !port_parse(f[5], &dport))
		return PP_PROXY_BAD;
	memset(src, 0, sizeof(*src));
	if (f[1][3] == '4') {
		struct sockaddr_in *s4 = (struct sockaddr_in *)src;
		struct in_addr d4;

		if (inet_pton(AF_INET, f[2], &s4->sin_addr) != 1 || inet_pton(AF_INET, f[3], &d4) != 1)
			return PP_PROXY_BAD;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)sport);
		*srclen = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)src;
		struct in6_addr d6;

		if (inet_pton(AF_INET6, f[2], &s6->sin6_addr) != 1 ||
		    inet_pton(AF_INET6, f[3], &d6) != 1)
			return PP_PROXY_BAD;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)sport);
		*srclen = sizeof(*s6);
	}
	return PP_PROXY_OK;
}

static enum pp_proxy_rc parse_v2(const unsigned char *buf, size_t len, size_t *consumed,
				 struct sockaddr_storage *src, socklen_t *srclen)
{
	size_t body, total;
	unsigned ver = buf[12] >> 4, cmd = buf[12] & 0x0f, fam = buf[13];

	if (len < 16)
		return PP_PROXY_MORE;
	body = (size_t)buf[14] << 8 | buf[15];
	total = 16 + body;
	if (ver != 2 || cmd > 1 || total > PP_PROXY_MAX)
		return PP_PROXY_BAD;
	if (len < total)
		return PP_PROXY_MORE;
	*consumed = total;
	if (cmd == 0)
		return PP_PROXY_LOCAL; /* the proxy's own connection (health check) */
	memset(src, 0, sizeof(*src));
	if (fam == 0x11) { /* TCP over IPv4 */
		struct sockaddr_in *s4 = (struct sockaddr_in *)src;

		if (body < 12)
			return PP_PROXY_BAD;
		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, buf + 16, 4);
		memcpy(&s4->sin_port, buf + 24, 2);
		*srclen = sizeof(*s4);
		return PP_PROXY_OK;
	}
	if (fam == 0x21) { /* TCP over IPv6 */
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)src;

		if (body < 36)
			return PP_PROXY_BAD;
		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, buf + 16, 16);
		memcpy(&s6->sin6_port, buf + 48, 2);
		*srclen = sizeof(*s6);
		return PP_PROXY_OK;
	}
	return PP_PROXY_LOCAL; /* UNSPEC, UDP, unix sockets: no TCP client address */
}

enum pp_proxy_rc pp_proxy_parse(const unsigned char *buf, size_t len, size_t *consumed,
				struct sockaddr_storage *src, socklen_t *srclen)
{
	static const char v1[] = "PROXY ";
	size_t k;

	*consumed = 0;
	k = len < sizeof(v2sig) ? len : sizeof(v2sig);
	if (memcmp(buf, v2sig, k) == 0)
		return len < sizeof(v2sig) + 4 ? PP_PROXY_MORE :
						 parse_v2(buf, len, consumed, src, srclen);
	k = len < sizeof(v1) - 1 ? len : sizeof(v1) - 1;
	if (memcmp(buf, v1, k) == 0)
		return len < sizeof(v1) - 1 ? PP_PROXY_MORE :
					      parse_v1(buf, len, consumed, src, srclen);
	return PP_PROXY_NONE;
}
