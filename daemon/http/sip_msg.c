/* Reading SIP responses and Digest challenges (see sip_msg.h). Everything
 * here reads bytes a device (or anything at its address) sent: lengths are
 * bounded, no input byte is trusted to end a string. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <nettle/md5.h>

#include "sip_msg.h"

/* Calls fn(line, len, arg) for each header line of msg (NUL-terminated),
 * the status line excluded, until the empty line; stops when fn returns
 * non-zero and returns that. */
static int each_header(const char *msg, int (*fn)(const char *, size_t, void *), void *arg)
{
	const char *line = strstr(msg, "\r\n");

	while (line) {
		line += 2;
		const char *eol = strstr(line, "\r\n");
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		int rc;

		if (len == 0)
			return 0; /* end of the headers */
		if ((rc = fn(line, len, arg)) != 0)
			return rc;
		line = eol;
	}
	return 0;
}

/* Does header line[0..len) have this name (case-insensitive; "name:" with
 * optional spaces before the colon)? Sets *value to what follows the colon. */
static bool header_is(const char *line, size_t len, const char *name, const char **value,
		      size_t *vlen)
{
	size_t nl = strlen(name), i;

	if (len <= nl || strncasecmp(line, name, nl) != 0)
		return false;
	for (i = nl; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	if (i >= len || line[i] != ':')
		return false;
	for (i++; i < len && (line[i] == ' ' || line[i] == '\t'); i++)
		;
	*value = line + i;
	*vlen = len - i;
	return true;
}

/* memmem for a NUL-terminated needle */
static bool has(const char *v, size_t vlen, const char *needle)
{
	size_t nl = strlen(needle);

	return nl <= vlen && memmem(v, vlen, needle, nl) != NULL;
}

struct match {
	const char *branch;
	bool branch_ok, cseq_ok;
};

static int match_header(const char *line, size_t len, void *arg)
{
	struct match *m = arg;
	const char *v;
	size_t vl;

	/* "v" is Via's compact form (RFC 3261 §7.3.3) */
	if ((header_is(line, len, "Via", &v, &vl) || header_is(line, len, "v", &v, &vl)) &&
	    has(v, vl, m->branch))
		m->branch_ok = true;
	if (header_is(line, len, "CSeq", &v, &vl) && has(v, vl, "NOTIFY"))
		m->cseq_ok = true;
	return 0;
}

int pp_sip_response_code(const char *buf, size_t n, const char *branch, char *reason,
			 size_t rn)
{
	char *msg = strndup(buf, n);
	struct match m = { .branch = branch };
	int code = 0;

	if (rn)
		reason[0] = '\0';
	if (!msg)
		return 0;
	if (strncmp(msg, "SIP/2.0 ", 8) == 0 && msg[8] >= '1' && msg[8] <= '6' &&
	    msg[9] >= '0' && msg[9] <= '9' && msg[10] >= '0' && msg[10] <= '9' &&
	    msg[11] == ' ') {
		size_t rl = strcspn(msg + 12, "\r\n");

		code = (msg[8] - '0') * 100 + (msg[9] - '0') * 10 + (msg[10] - '0');
		if (rn)
			snprintf(reason, rn, "%.*s", (int)(rl < rn ? rl : rn - 1), msg + 12);
		each_header(msg, match_header, &m);
	}
	free(msg);
	return m.branch_ok && m.cseq_ok ? code : 0;
}

/* A parameter of a Digest challenge (quoted, with \-escapes, or a token);
 * "" when absent. ch is NUL-terminated. */
static void digest_param(const char *ch, const char *name, char *out, size_t n)
{
	size_t nl = strlen(name);
	const char *p = ch;

	out[0] = '\0';
	while ((p = strcasestr(p, name)) != NULL) {
		bool start = p == ch || p[-1] == ' ' || p[-1] == ',' || p[-1] == '\t';
		size_t i = 0;

		p += nl;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!start || *p != '=')
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (i + 1 < n)
					out[i++] = *p;
			}
		} else {
			for (; *p && *p != ',' && *p != ' ' && *p != '\t'; p++)
				if (i + 1 < n)
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

struct challenge {
	const char *name;
	char line[1024];
};

static int find_challenge(const char *line, size_t len, void *arg)
{
	struct challenge *c = arg;
	const char *v;
	size_t vl;

	if (!header_is(line, len, c->name, &v, &vl) || vl < 6 || strncasecmp(v, "Digest", 6) != 0)
		return 0;
	snprintf(c->line, sizeof(c->line), "%.*s", (int)(vl < sizeof(c->line) ? vl : sizeof(c->line) - 1), v);
	return 1;
}

int pp_sip_digest_authz(const char *resp, size_t n, int code, const char *user,
			const char *password, const char *method, const char *uri,
			const char *cnonce, char *out, size_t outn)
{
	struct challenge c = { .name = code == 407 ? "Proxy-Authenticate" : "WWW-Authenticate" };
	char realm[256], nonce[256], opaque[256], qop[64], algo[32];
	char ha1[33], ha2[33], rsp[33], buf[1400];
	char *msg = strndup(resp, n);
	int found;

	if (!msg)
		return -1;
	found = each_header(msg, find_challenge, &c);
	free(msg);
	if (!found)
		return -1;
	digest_param(c.line, "realm", realm, sizeof(realm));
	digest_param(c.line, "nonce", nonce, sizeof(nonce));
	digest_param(c.line, "opaque", opaque, sizeof(opaque));
	digest_param(c.line, "qop", qop, sizeof(qop));
	digest_param(c.line, "algorithm", algo, sizeof(algo));
	if (!nonce[0] || (algo[0] && strcasecmp(algo, "MD5") != 0))
		return -1;
	/* the values go back inside quotes: a quote or a line break from the
	 * challenge would end the header early or add one */
	if (strpbrk(realm, "\"\r\n") || strpbrk(nonce, "\"\r\n") || strpbrk(opaque, "\"\r\n"))
		return -1;
	snprintf(buf, sizeof(buf), "%s:%s:%s", user, realm, password);
	md5_hex(buf, ha1);
	snprintf(buf, sizeof(buf), "%s:%s", method, uri);
	md5_hex(buf, ha2);
	bool auth = false; /* "auth" among the offered qop values (not auth-int alone) */

	for (char *save = NULL, *t = strtok_r(qop, ", \t", &save); t && !auth;
	     t = strtok_r(NULL, ", \t", &save))
		auth = strcasecmp(t, "auth") == 0;

	if (auth)
		snprintf(buf, sizeof(buf), "%s:%s:00000001:%s:auth:%s", ha1, nonce, cnonce, ha2);
	else
		snprintf(buf, sizeof(buf), "%s:%s:%s", ha1, nonce, ha2);
	md5_hex(buf, rsp);
	int w = snprintf(out, outn,
			 "%s: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
			 "response=\"%s\", algorithm=MD5%s%s%s%s%s%s\r\n",
			 code == 407 ? "Proxy-Authorization" : "Authorization", user, realm, nonce,
			 uri, rsp, auth ? ", qop=auth, nc=00000001, cnonce=\"" : "",
			 auth ? cnonce : "", auth ? "\"" : "", opaque[0] ? ", opaque=\"" : "",
			 opaque[0] ? opaque : "", opaque[0] ? "\"" : "");
	return w > 0 && (size_t)w < outn ? 0 : -1;
}
