/* POST /devices/{mac}/synchronize as an operation of kind "synchronize": a
 * SIP NOTIFY sent as a non-INVITE client transaction over UDP (RFC 3261
 * §17.1.2): retransmitted after T1, 2*T1, ... capped at T2 = 8*T1 (4 s for
 * the default T1 of 500 ms; T2 from the first provisional answer on), given
 * up at Timer F = 64*T1. A final answer ends it: 2xx "ok", >= 300 "refused"
 * with the code. The result counts the retransmissions. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "api_int.h"
#include "api_ops.h"
#include "api_sync.h"
#include "sip_msg.h"

struct sync_arg {
	char ip[64];
	unsigned port;
	char user[130];
	char auth_user[130]; /* line 1's auth_username, else username (digest) */
	char password[130];  /* line 1's password ("" = no digest) */
	char event[64];
	unsigned t1_ms;
};

static bool user_char_ok(unsigned char c)
{
	/* RFC 3261 user: unreserved and a few marks; anything else is refused */
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("-_.!~*'()&=+$,;?/", c);
}

const char *api_sync_event(const char *plugin)
{
	if (plugin && strcmp(plugin, "snom") == 0)
		return "check-sync;reboot=false";
	if (plugin && strcmp(plugin, "cisco-enterprise") == 0)
		return "service-control";
	return "check-sync;reboot=true";
}

/* One non-INVITE client transaction: send msg, retransmit, wait for a final
 * answer. Returns its code, 0 on Timer F, -1 on a send error or a stopping
 * daemon (end->error set). resp gets the final answer's text. */
static int transact(int fd, const char *msg, size_t n, const struct sync_arg *a,
		    const char *branch, unsigned *sent, unsigned *provisional, char *reason,
		    size_t rn, char *resp, size_t respn, struct api_op_end *end)
{
	unsigned t2 = a->t1_ms * 8, interval = a->t1_ms;
	int64_t deadline = pp_now_ms() + 64 * (int64_t)a->t1_ms, next_tx = pp_now_ms();
	bool proceeding = false;
	int code;

	for (;;) {
		int64_t now = pp_now_ms();
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int wait;

		if (now >= deadline)
			return 0;
		if (now >= next_tx) {
			if (send(fd, msg, n, 0) != (ssize_t)n && errno != ECONNREFUSED) {
				snprintf(end->error, sizeof(end->error), "send to %s:%u: %s", a->ip,
					 a->port, strerror(errno));
				return -1;
			}
			(*sent)++;
			/* §17.1.2.2: Trying doubles up to T2; Proceeding retransmits every T2 */
			next_tx = now + (proceeding ? t2 : interval);
			interval = interval * 2 < t2 ? interval * 2 : t2;
		}
		wait = (int)((next_tx < deadline ? next_tx : deadline) - now);
		if (wait > 100)
			wait = 100; /* notice a stopping daemon */
		if (wait < 0)
			wait = 0;
		if (api_ops_stopping()) {
			snprintf(end->error, sizeof(end->error), "the daemon was stopping");
			return -1;
		}
		if (poll(&pfd, 1, wait) <= 0)
			continue;
		ssize_t got = recv(fd, resp, respn - 1, 0);

		if (got < 0)
			continue; /* ICMP unreachable (ECONNREFUSED): a phone may come up; Timer F decides */
		resp[got] = '\0';
		code = pp_sip_response_code(resp, (size_t)got, branch, reason, rn);
		if (code >= 100 && code < 200) {
			proceeding = true;
			(*provisional)++;
			continue;
		}
		if (code >= 200)
			return code;
	}
}

/* The Authorization (401) / Proxy-Authorization (407) header answering the
 * challenge in resp, with a fresh client nonce; 0 or -1. */
static int digest_header(const char *resp, int code, const struct sync_arg *a, const char *uri,
			 char *out, size_t n)
{
	unsigned char rnd[8];
	char cnonce[17];

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x33, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(cnonce + 2 * i, 3, "%02x", rnd[i]);
	return pp_sip_digest_authz(resp, strlen(resp), code, a->auth_user, a->password, "NOTIFY",
				   uri, cnonce, out, n);
}

static void sync_run(void *argp, struct api_op_end *end)
{
	struct sync_arg *a = argp;
	struct sockaddr_storage ss, local;
	socklen_t slen, llen = sizeof(local);
	char lip[64], msg[2400], resp[4096], reason[128] = "", branch[32], uri[300];
	char authz[1200] = "";
	unsigned char rnd[16];
	char tag[33];
	unsigned sent = 0, provisional = 0, cseq = 1;
	int64_t start = pp_now_ms();
	int fd, n, code = 0;
	bool authenticated = false;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, a->ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)a->port);
		slen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, a->ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)a->port);
		slen = sizeof(struct sockaddr_in6);
	} else {
		end->state = API_OP_FAILED;
		snprintf(end->error, sizeof(end->error), "device ip is not an address: %s", a->ip);
		return;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, slen) != 0 ||
	    getsockname(fd, (struct sockaddr *)&local, &llen) != 0) {
		end->state = API_OP_FAILED;
		snprintf(end->error, sizeof(end->error), "cannot reach %s: %s", a->ip,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if (local.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&local)->sin_addr, lip, sizeof(lip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&local)->sin6_addr, lip, sizeof(lip));
	unsigned lport = ntohs(local.ss_family == AF_INET ?
				       ((struct sockaddr_in *)&local)->sin_port :
				       ((struct sockaddr_in6 *)&local)->sin6_port);
	bool v6 = local.ss_family == AF_INET6;
	const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
	const char *db = ss.ss_family == AF_INET6 ? "[" : "", *de = ss.ss_family == AF_INET6 ? "]" : "";

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(tag + 2 * i, 3, "%02x", rnd[i]);
	snprintf(uri, sizeof(uri), "sip:%s@%s%s%s:%u", a->user, db, a->ip, de, a->port);
	for (;;) {
		/* a new branch per transaction (the authenticated one is a new request) */
		snprintf(branch, sizeof(branch), "z9hG4bK%.12s%u", tag, cseq);
		n = snprintf(msg, sizeof(msg),
			     "NOTIFY %s SIP/2.0\r\n"
			     "Via: SIP/2.0/UDP %s%s%s:%u;branch=%s;rport\r\n"
			     "Max-Forwards: 70\r\n"
			     "From: <sip:phoneprov@%s%s%s>;tag=%.8s\r\n"
			     "To: <%s>\r\n"
			     "Call-ID: %.16s@%s%s%s\r\n"
			     "CSeq: %u NOTIFY\r\n"
			     "Contact: <sip:phoneprov@%s%s%s:%u>\r\n"
			     "%s"
			     "Event: %s\r\n"
			     "Subscription-State: terminated;reason=timeout\r\n"
			     "User-Agent: phoneprov\r\n"
			     "Content-Length: 0\r\n\r\n",
			     uri, lb, lip, rb, lport, branch, lb, lip, rb, tag + 24, uri, tag + 12,
			     lb, lip, rb, cseq, lb, lip, rb, lport, authz, a->event);
		if (n <= 0 || (size_t)n >= sizeof(msg)) {
			end->state = API_OP_FAILED;
			snprintf(end->error, sizeof(end->error), "NOTIFY too long");
			close(fd);
			return;
		}
		code = transact(fd, msg, (size_t)n, a, branch, &sent, &provisional, reason,
				sizeof(reason), resp, sizeof(resp), end);
		if ((code == 401 || code == 407) && !authenticated && a->password[0] &&
		    digest_header(resp, code, a, uri, authz, sizeof(authz)) == 0) {
			authenticated = true;
			cseq++;
			continue;
		}
		break;
	}
	close(fd);
	end->result = json_pack("{s:s, s:i, s:s, s:s, s:i, s:i, s:i, s:I, s:b}", "ip", a->ip,
				"port", (json_int_t)a->port, "user", a->user, "event", a->event,
				"sent", (json_int_t)sent, "retransmissions",
				(json_int_t)(sent > cseq ? sent - cseq : 0), "provisional",
				(json_int_t)provisional, "duration_ms",
				(json_int_t)(pp_now_ms() - start), "authenticated", authenticated);
	if (code < 0) {
		end->state = API_OP_FAILED;
		return;
	}
	if (code >= 200 && code < 300) {
		end->state = API_OP_OK;
	} else if (code >= 300) {
		end->state = API_OP_REFUSED;
		snprintf(end->error, sizeof(end->error), "%d %s", code, reason);
	} else {
		end->state = API_OP_TIMEOUT;
		snprintf(end->error, sizeof(end->error),
			 "no final answer from %s:%u within Timer F (%u ms, %u retransmissions)",
			 a->ip, a->port, 64 * a->t1_ms, sent > cseq ? sent - cseq : 0);
	}
	if (end->result) {
		json_object_set_new(end->result, "code", code >= 200 ? json_integer(code) : json_null());
		if (code >= 200)
			json_object_set_new(end->result, "reason", json_string(reason));
	}
}

enum MHD_Result api_sync_start(struct api_req *r, const char *mac, const char *ip, unsigned port,
			       const char *user, const char *auth_user, const char *password,
			       const char *plugin, unsigned t1_ms)
{
	struct sync_arg *a;
	char u[13];

	if (!user || !*user) {
		for (int i = 0, o = 0; mac[i] && o < 12; i++)
			if (mac[i] != ':')
				u[o++] = mac[i], u[o] = '\0';
		user = u;
	}
	if (strlen(user) >= sizeof(a->user))
		return api_error(r, 422, "sip_lines", "line 1 username is too long for a SIP URI");
	for (const char *c = user; *c; c++)
		if (!user_char_ok((unsigned char)*c))
			return api_error(r, 422, "sip_lines",
					 "line 1 username has a character a SIP URI cannot carry");
	if ((auth_user && strlen(auth_user) >= sizeof(a->auth_user)) ||
	    (password && strlen(password) >= sizeof(a->password)) ||
	    (auth_user && strpbrk(auth_user, "\"\\\r\n")))
		return api_error(r, 422, "sip_lines",
				 "line 1 auth_username/password too long or not quotable");
	if (strlen(ip) >= sizeof(a->ip))
		return api_error(r, 409, "ip", "device ip is not an address");
	a = calloc(1, sizeof(*a));
	if (!a)
		return api_error(r, 500, "", "out of memory");
	snprintf(a->ip, sizeof(a->ip), "%s", ip);
	a->port = port;
	snprintf(a->user, sizeof(a->user), "%s", user);
	snprintf(a->auth_user, sizeof(a->auth_user), "%s", auth_user && *auth_user ? auth_user : user);
	snprintf(a->password, sizeof(a->password), "%s", password ? password : "");
	snprintf(a->event, sizeof(a->event), "%s", api_sync_event(plugin));
	a->t1_ms = t1_ms ? t1_ms : 500;
	pp_log(PP_LOG_INFO, "api.sync", "mac=%s to=%s:%u user=%s event=%s", mac, ip, port,
	       a->user, a->event);
	return api_op_start(r, "synchronize",
			    json_pack("{s:s, s:s, s:i}", "mac", mac, "ip", ip, "port",
				      (json_int_t)port),
			    sync_run, a, free);
}
