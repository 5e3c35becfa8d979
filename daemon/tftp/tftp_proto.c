/* TFTP packet parsing and building. Everything here works on byte arrays
 * only and must never read outside [p, p + n). */
#include "tftp_proto.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

int tftp_opcode(const uint8_t *p, size_t n)
{
	return n < 2 ? 0 : tftp_get16(p);
}

/* The NUL-terminated string at p[*pos..n): returns its start and advances
 * *pos past the NUL, or NULL when no NUL is left. */
static const char *take_str(const uint8_t *p, size_t n, size_t *pos, size_t *len)
{
	const uint8_t *s = p + *pos;
	const uint8_t *z = memchr(s, 0, n - *pos);

	if (!z)
		return NULL;
	*len = (size_t)(z - s);
	*pos += *len + 1;
	return (const char *)s;
}

/* A decimal option value without sign or spaces; -1 when malformed. Values
 * too large for 19 digits saturate (they are clamped by the caller). */
static long long parse_num(const char *s, size_t len)
{
	long long v = 0;

	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > 99999999999999999LL)
			v = 999999999999999999LL;
		else
			v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int name_is(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && strncasecmp(s, name, len) == 0;
}

static enum tftp_mode parse_mode(const char *s, size_t len)
{
	if (name_is(s, len, "octet"))
		return TFTP_MODE_OCTET;
	if (name_is(s, len, "netascii"))
		return TFTP_MODE_NETASCII;
	if (name_is(s, len, "mail"))
		return TFTP_MODE_MAIL;
	return TFTP_MODE_UNKNOWN;
}

/* One option pair. Known options with a value outside what the RFCs allow
 * are remembered in bad_option; values above what we may use are clamped
 * later against the configuration. The first occurrence of a name wins. */
static void take_option(struct tftp_req *r, const char *name, size_t nlen, const char *val,
			size_t vlen)
{
	long long v = parse_num(val, vlen);
	long long *slot;
	const char *canon;
	long long lo, hi;

	if (name_is(name, nlen, "blksize")) {
		slot = &r->blksize, canon = "blksize", lo = TFTP_BLKSIZE_MIN, hi = -1;
	} else if (name_is(name, nlen, "timeout")) {
		slot = &r->timeout, canon = "timeout", lo = 1, hi = TFTP_TIMEOUT_MAX;
	} else if (name_is(name, nlen, "tsize")) {
		slot = &r->tsize, canon = "tsize", lo = 0, hi = -1;
	} else if (name_is(name, nlen, "windowsize")) {
		slot = &r->windowsize, canon = "windowsize", lo = 1, hi = -1;
	} else {
		r->n_unknown++;
		return;
	}
	if (*slot != -1)
		return;
	if (v < lo || (hi >= 0 && v > hi)) {
		if (!r->bad_option)
			r->bad_option = canon;
		return;
	}
	*slot = v;
}

int tftp_parse_request(const uint8_t *p, size_t n, struct tftp_req *r, const char **why)
{
	const char *mode, *name, *val;
	size_t pos = 2, mlen, nlen, vlen;

	memset(r, 0, sizeof(*r));
	r->blksize = r->timeout = r->tsize = r->windowsize = -1;
	r->opcode = tftp_opcode(p, n);
	if (r->opcode != TFTP_RRQ && r->opcode != TFTP_WRQ) {
		*why = "not a request";
		return -1;
	}
	r->file = take_str(p, n, &pos, &r->file_len);
	if (!r->file) {
		*why = "file name not terminated";
		return -1;
	}
	mode = take_str(p, n, &pos, &mlen);
	if (!mode) {
		*why = "mode missing";
		return -1;
	}
	r->mode = parse_mode(mode, mlen);
	while (pos < n) {
		name = take_str(p, n, &pos, &nlen);
		if (!name)
			break;  /* trailing bytes without NUL: ignored */
		if (nlen == 0)
			continue; /* NUL padding some clients add */
		val = take_str(p, n, &pos, &vlen);
		if (!val)
			break;  /* an option name without value: ignored */
		r->n_options++;
		take_option(r, name, nlen, val, vlen);
	}
	return 0;
}

int tftp_parse_ack(const uint8_t *p, size_t n, uint16_t *block)
{
	if (n < 4 || tftp_opcode(p, n) != TFTP_ACK)
		return -1;
	*block = tftp_get16(p + 2);
	return 0;
}

int tftp_parse_error(const uint8_t *p, size_t n, uint16_t *code, const char **msg,
		     size_t *msg_len)
{
	const uint8_t *z;

	if (n < 4 || tftp_opcode(p, n) != TFTP_ERROR)
		return -1;
	*code = tftp_get16(p + 2);
	*msg = (const char *)p + 4;
	z = memchr(p + 4, 0, n - 4);
	*msg_len = z ? (size_t)(z - (p + 4)) : n - 4;
	return 0;
}

size_t tftp_build_error(uint8_t *buf, size_t cap, uint16_t code, const char *msg)
{
	size_t len = strlen(msg);

	if (cap < 5)
		return 0;
	if (len > cap - 5)
		len = cap - 5;
	tftp_put16(buf, TFTP_ERROR);
	tftp_put16(buf + 2, code);
	memcpy(buf + 4, msg, len);
	buf[4 + len] = 0;
	return 5 + len;
}

static int put_opt(uint8_t *buf, size_t cap, size_t *pos, const char *name, long long v)
{
	char num[24];
	size_t nl = strlen(name);
	int vl = snprintf(num, sizeof(num), "%lld", v);

	if (vl < 0 || *pos + nl + 1 + (size_t)vl + 1 > cap)
		return -1;
	memcpy(buf + *pos, name, nl + 1);
	*pos += nl + 1;
	memcpy(buf + *pos, num, (size_t)vl + 1);
	*pos += (size_t)vl + 1;
	return 0;
}

size_t tftp_build_oack(uint8_t *buf, size_t cap, const struct tftp_oack *o)
{
	size_t pos = 2;

	if (cap < 2)
		return 0;
	tftp_put16(buf, TFTP_OACK);
	if ((o->blksize >= 0 && put_opt(buf, cap, &pos, "blksize", o->blksize)) ||
	    (o->timeout >= 0 && put_opt(buf, cap, &pos, "timeout", o->timeout)) ||
	    (o->tsize >= 0 && put_opt(buf, cap, &pos, "tsize", o->tsize)) ||
	    (o->windowsize >= 0 && put_opt(buf, cap, &pos, "windowsize", o->windowsize)))
		return 0;
	return pos;
}

size_t tftp_na_encode(struct tftp_na *s, const uint8_t *in, size_t in_len, uint8_t *out,
		      size_t out_cap)
{
	size_t o = 0, i = 0;

	if (s->pending >= 0 && out_cap > 0) {
		out[o++] = (uint8_t)s->pending;
		s->pending = -1;
	}
	while (o < out_cap && i < in_len) {
		uint8_t c = in[i++];

		if (c == '\n' || c == '\r') {
			out[o++] = '\r';
			int second = c == '\n' ? '\n' : '\0';

			if (o < out_cap)
				out[o++] = (uint8_t)second;
			else
				s->pending = second;
		} else {
			out[o++] = c;
		}
	}
	s->in_off += i;
	s->out_off += o;
	return o;
}

uint64_t tftp_na_count_extra(const uint8_t *in, size_t n)
{
	uint64_t extra = 0;

	for (size_t i = 0; i < n; i++)
		extra += in[i] == '\n' || in[i] == '\r';
	return extra;
}
