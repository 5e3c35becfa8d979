/* The unknown-MAC ban (DESIGN §3 security): a client that asks for too many
 * per-MAC files of devices nobody knows within a window is refused for a
 * while. Counted twice: per client address and per network (IPv4 /24, IPv6
 * /64), each with its own limit and the same window and ban duration, so a
 * prober spreading over many addresses of one network is banned as a whole.
 * Two fixed-size tables (no allocation per client), thread-safe. */
#ifndef PP_BAN_H
#define PP_BAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pp_ban;

struct pp_ban_limits {
	unsigned limit;     /* unknown-MAC requests per window from one address; 0 = never */
	unsigned limit_net; /* the same from one /24 (IPv6 /64); 0 = never */
	unsigned window_s;
	unsigned ban_s;
};

/* What pp_ban_count saw: a ban that this request started (the caller logs it
 * once) with the requests counted in the window. */
struct pp_ban_result {
	bool started_ip, started_net;
	unsigned count_ip, count_net;
	char net[64]; /* the network of the address ("127.0.1.0/24", "2001:db8::/64"), "" if none */
};

#define PP_BAN_SLOTS 4096     /* addresses tracked at most */
#define PP_BAN_NET_SLOTS 1024 /* networks tracked at most */

struct pp_ban *pp_ban_new(void);
void pp_ban_free(struct pp_ban *b);
/* Is ip, or its network, banned now? */
bool pp_ban_is_banned(struct pp_ban *b, const char *ip);
/* Count one request for an unknown per-MAC file against ip and its network.
 * Returns true when ip or its network is banned after it. */
bool pp_ban_count(struct pp_ban *b, const struct pp_ban_limits *lim, const char *ip,
		  struct pp_ban_result *res);
/* The network of an address: a.b.c.0/24 for IPv4 (also IPv4-mapped IPv6),
 * the /64 for IPv6. False (out = "") when ip is not a numeric address. */
bool pp_ban_net_of(const char *ip, char *out, size_t outsz);

#endif
