/* Unknown-MAC ban tables: open addressing over fixed arrays, LRU eviction
 * inside a short probe window; one table of addresses, one of networks. */
#include "ban.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/common.h"

#define BAN_PROBE 16

struct ban_ent {
	char key[64]; /* an address, or a network in CIDR form */
	unsigned count;
	int64_t window_start_ms;
	int64_t banned_until_ms;
	int64_t last_ms;
};

struct ban_tab {
	struct ban_ent *e;
	unsigned n;
};

struct pp_ban {
	pthread_mutex_t lock;
	struct ban_ent ip[PP_BAN_SLOTS];
	struct ban_ent net[PP_BAN_NET_SLOTS];
};

struct pp_ban *pp_ban_new(void)
{
	struct pp_ban *b = calloc(1, sizeof(*b));

	if (b && pthread_mutex_init(&b->lock, NULL) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

void pp_ban_free(struct pp_ban *b)
{
	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b);
}

bool pp_ban_net_of(const char *ip, char *out, size_t outsz)
{
	unsigned char a[16];
	char s[INET6_ADDRSTRLEN];

	if (outsz)
		out[0] = '\0';
	if (!ip || !*ip || outsz < sizeof(s) + 4)
		return false;
	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(out, outsz, "%u.%u.%u.0/24", a[0], a[1], a[2]);
		return true;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return false;
	if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a)) {
		snprintf(out, outsz, "%u.%u.%u.0/24", a[12], a[13], a[14]);
		return true;
	}
	memset(a + 8, 0, 8);
	if (!inet_ntop(AF_INET6, a, s, sizeof(s)))
		return false;
	snprintf(out, outsz, "%s/64", s);
	return true;
}

/* The slot of key (create = take the stalest slot of the probe window). */
static struct ban_ent *slot(struct ban_tab t, const char *key, bool create, int64_t now)
{
	uint64_t h = pp_fnv(PP_FNV_INIT, key, strlen(key));
	struct ban_ent *victim = NULL;

	for (unsigned i = 0; i < BAN_PROBE; i++) {
		struct ban_ent *e = &t.e[(h + i) % t.n];

		if (e->key[0] && strcmp(e->key, key) == 0)
			return e;
		if (!create)
			continue;
		/* prefer empty, then expired, then the least recently used */
		if (!e->key[0])
			victim = victim && !victim->key[0] ? victim : e;
		else if (!victim || (victim->key[0] && e->banned_until_ms <= now &&
				     (victim->banned_until_ms > now || e->last_ms < victim->last_ms)))
			victim = e;
	}
	if (victim) {
		memset(victim, 0, sizeof(*victim));
		snprintf(victim->key, sizeof(victim->key), "%s", key);
		victim->window_start_ms = now;
	}
	return victim;
}

static bool banned_in(struct ban_tab t, const char *key, int64_t now)
{
	struct ban_ent *e = slot(t, key, false, now);

	return e && e->banned_until_ms > now;
}

/* Count one request against key; true when key is banned after it. */
static bool count_in(struct ban_tab t, const char *key, unsigned limit,
		     const struct pp_ban_limits *lim, int64_t now, bool *started, unsigned *count)
{
	struct ban_ent *e = slot(t, key, true, now);
	bool banned = false;

	if (!e)
		return false;
	e->last_ms = now;
	if (now - e->window_start_ms > (int64_t)lim->window_s * 1000) {
		e->window_start_ms = now;
		e->count = 0;
	}
	if (e->count < UINT_MAX)
		e->count++;
	if (e->count > limit) {
		banned = true;
		if (e->banned_until_ms <= now) {
			e->banned_until_ms = now + (int64_t)lim->ban_s * 1000;
			*started = true;
		}
	}
	*count = e->count;
	return banned;
}

bool pp_ban_is_banned(struct pp_ban *b, const char *ip)
{
	struct ban_tab tip, tnet;
	char net[64];
	bool banned;
	int64_t now = pp_now_ms();

	if (!b || !ip || !*ip)
		return false;
	tip = (struct ban_tab){ b->ip, PP_BAN_SLOTS };
	tnet = (struct ban_tab){ b->net, PP_BAN_NET_SLOTS };
	pp_ban_net_of(ip, net, sizeof(net));
	pthread_mutex_lock(&b->lock);
	banned = banned_in(tip, ip, now) || (net[0] && banned_in(tnet, net, now));
	pthread_mutex_unlock(&b->lock);
	return banned;
}

bool pp_ban_count(struct pp_ban *b, const struct pp_ban_limits *lim, const char *ip,
		  struct pp_ban_result *res)
{
	struct ban_tab tip, tnet;
	int64_t now = pp_now_ms();
	bool banned = false;

	memset(res, 0, sizeof(*res));
	if (!b || !ip || !*ip || (!lim->limit && !lim->limit_net))
		return false;
	tip = (struct ban_tab){ b->ip, PP_BAN_SLOTS };
	tnet = (struct ban_tab){ b->net, PP_BAN_NET_SLOTS };
	if (lim->limit_net)
		pp_ban_net_of(ip, res->net, sizeof(res->net));
	pthread_mutex_lock(&b->lock);
	if (lim->limit)
		banned = count_in(tip, ip, lim->limit, lim, now, &res->started_ip, &res->count_ip);
	if (res->net[0] &&
	    count_in(tnet, res->net, lim->limit_net, lim, now, &res->started_net, &res->count_net))
		banned = true;
	pthread_mutex_unlock(&b->lock);
	return banned;
}
