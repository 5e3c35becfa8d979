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
#include <nettle/md5.h>

#include "lib/log.h"
#include "api_int.h"
#include "api_ops.h"
#include "api_sync.h"

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

/* The status code of a SIP response matching our Via branch and CSeq, or 0. */
static int parse_response(const char *buf, size_t n, const char *branch, char *reason,
			  size_t rn)
{
	char *msg = strndup(buf, n);
	int code = 0;
	bool branch_ok = false, cseq_ok = false;

	if (!msg)
		return 0;
	if (strncmp(msg, "SIP/2.0 ", 8) == 0 && msg[8] >= '1' && msg[8] <= '6' &&
	    msg[9] >= '0' && msg[9] <= '9' && msg[10] >= '0' && msg[10] <= '9' && msg[11] == ' ') {
		char *eol = strstr(msg, "\r\n"), *line;

		code = atoi(msg + 8);
		if (eol)
			snprintf(reason, rn, "%.*s", (int)(eol - (msg + 12)), msg + 12);
		for (line = eol ? eol + 2 : NULL; line && *line && strncmp(line, "\r\n", 2) != 0;) {
			char *next = strstr(line, "\r\n");

			if (next)
				*next = '\0';
			if ((strncasecmp(line, "Via:", 4) == 0 || strncasecmp(line, "v:", 2) == 0) &&
			    strstr(line, branch))
				branch_ok = true;
			if (strncasecmp(line, "CSeq:", 5) == 0 && strstr(line, "NOTIFY"))
				cseq_ok = true;
			line = next ? next + 2 : NULL;
		}
	}
	free(msg);
	return branch_ok && cseq_ok ? code : 0;
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
		code = parse_response(resp, (size_t)got, branch, reason, rn);
		if (code >= 100 && code < 200) {
			proceeding = true;
			(*provisional)++;
			continue;
		}
		if (code >= 200)
			return code;
	}
}

/* A parameter of a Digest challenge (quoted or token), "" when absent. */
static void digest_param(const char *ch, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	const char *p = ch;

	out[0] = '\0';
	while ((p = strcasestr(p, name)) != NULL) {
		bool start = p == ch || p[-1] == ' ' || p[-1] == ',' || p[-1] == '\t';

		p += nl;
		while (*p == ' ')
			p++;
		if (!start || *p != '=')
			continue;
		p++;
		while (*p == ' ')
			p++;
		size_t i = 0;

		if (*p == '"') {
			for (p++; *p && *p != '"' && i + 1 < n; p++)
				out[i++] = *p;
		} else {
			for (; *p && *p != ',' && *p != ' ' && *p != '\r' && i + 1 < n; p++)
				out[i++] = *p;
		}
		out[i] = '\0';
		return;
	}
}

static void md5_hex(const char *text, char out[33])
{
	struct md5_ctx c;
	uint8_t d[MD5_DIGEST_SIZE];

	md5_init(&c);
	md5_update(&c, strlen(text), (const uint8_t *)text);
	md5_digest(&c, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

/* The Authorization (401) / Proxy-Authorization (407) header answering the
 * challenge in resp (RFC 2617 MD5, qop=auth when offered); 0 or -1. */
static int digest_header(const char *resp, int code, const struct sync_arg *a, const char *uri,
			 char *out, size_t n)
{
	const char *want = code == 407 ? "Proxy-Authenticate:" : "WWW-Authenticate:";
	const char *h = strcasestr(resp, want);
	char line[1024], realm[256], nonce[256], opaque[256], qop[64], algo[32];
	char ha1[33], ha2[33], rsp[33], cnonce[17], buf[1400];
	unsigned char rnd[8];

	if (!h)
		return -1;
	h += strlen(want);
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(h, "\r\n"), h);
	while (line[0] == ' ')
		memmove(line, line + 1, strlen(line));
	if (strncasecmp(line, "Digest", 6) != 0)
		return -1;
	digest_param(line, "realm", realm, sizeof(realm));
	digest_param(line, "nonce", nonce, sizeof(nonce));
	digest_param(line, "opaque", opaque, sizeof(opaque));
	digest_param(line, "qop", qop, sizeof(qop));
	digest_param(line, "algorithm", algo, sizeof(algo));
	if (!nonce[0] || (algo[0] && strcasecmp(algo, "MD5") != 0))
		return -1;
	snprintf(buf, sizeof(buf), "%s:%s:%s", a->auth_user, realm, a->password);
	md5_hex(buf, ha1);
	snprintf(buf, sizeof(buf), "NOTIFY:%s", uri);
	md5_hex(buf, ha2);
	bool auth = qop[0] && strcasestr(qop, "auth") != NULL;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x33, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(cnonce + 2 * i, 3, "%02x", rnd[i]);
	if (auth)
		snprintf(buf, sizeof(buf), "%s:%s:00000001:%s:auth:%s", ha1, nonce, cnonce, ha2);
	else
		snprintf(buf, sizeof(buf), "%s:%s:%s", ha1, nonce, ha2);
	md5_hex(buf, rsp);
	int w = snprintf(out, n,
			 "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
			 "response=\"%s\", algorithm=MD5%s%s%s%s%s%s\r\n",
			 code == 407 ? "Proxy-Authorization" : "Authorization", a->auth_user, realm,
			 nonce, uri, rsp, auth ? ", qop=auth, nc=00000001, cnonce=\"" : "",
			 auth ? cnonce : "", auth ? "\"" : "", opaque[0] ? ", opaque=\"" : "",
			 opaque[0] ? opaque : "", opaque[0] ? "\"" : "");
	return w > 0 && (size_t)w < n ? 0 : -1;
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
