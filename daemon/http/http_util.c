/* Pure HTTP helpers: see http_util.h. */

#include "http_util.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool pp_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false; /* continuation byte first, 0xc0/0xc1 overlong, > 0xf4 */
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false; /* overlong or out of range */
		if (cp >= 0xd800 && cp <= 0xdfff)
			return false; /* surrogate */
		i += n + 1;
	}
	return true;
}

static int decode(const char *in, size_t len, bool plus_space, bool allow_slash, char *out,
		  size_t outsz, size_t *outlen, const char **reason)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		bool escaped = false;

		if (c == '%') {
			int hi, lo;

			if (len - i < 3 || (hi = hexval((unsigned char)in[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)in[i + 2])) < 0) {
				*reason = "invalid percent escape";
				return PP_DEC_BAD;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
			escaped = true;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c == 0) {
			*reason = "NUL byte in path";
			return PP_DEC_BAD;
		}
		if (c < 0x20 || c == 0x7f) {
			*reason = "control byte in path";
			return PP_DEC_BAD;
		}
		if (c == '\\') {
			*reason = "backslash in path";
			return PP_DEC_BAD;
		}
		if (c == '/' && escaped && !allow_slash) {
			*reason = "encoded slash in path";
			return PP_DEC_BAD;
		}
		if (o + 1 >= outsz) {
			*reason = "path too long";
			return PP_DEC_TOO_LONG;
		}
		out[o++] = (char)c;
	}
	out[o] = '\0';
	if (!pp_utf8_valid((const unsigned char *)out, o)) {
		*reason = "path is not valid UTF-8";
		return PP_DEC_BAD;
	}
	*outlen = o;
	return PP_DEC_OK;
}

int pp_http_decode_path(const char *in, size_t len, char *out, size_t outsz, size_t *outlen,
			const char **reason)
{
	if (outsz == 0) {
		*reason = "path too long";
		return PP_DEC_TOO_LONG;
	}
	if (len == 0 || in[0] != '/') {
		*reason = "path does not start with /";
		return PP_DEC_BAD;
	}
	return decode(in, len, false, false, out, outsz, outlen, reason);
}

int pp_http_decode_component(const char *in, size_t len, bool plus_space, char *out,
			     size_t outsz, size_t *outlen)
{
	const char *reason;

	if (outsz == 0)
		return PP_DEC_TOO_LONG;
	return decode(in, len, plus_space, true, out, outsz, outlen, &reason);
}

/* Parse decimal digits at *p (at least one); no overflow past 2^63. */
static int parse_u64(const char **p, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	while (isdigit((unsigned char)*s)) {
		if (x > (UINT64_MAX / 2 - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(*s - '0');
		s++;
	}
	*p = s;
	*v = x;
	return 0;
}

static const char *skip_ows(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int pp_http_parse_range(const char *hdr, uint64_t size, uint64_t *start, uint64_t *len)
{
	const char *p = skip_ows(hdr);
	uint64_t a, b;

	if (strncasecmp(p, "bytes", 5) != 0)
		return PP_RANGE_NONE;
	p = skip_ows(p + 5);
	if (*p++ != '=')
		return PP_RANGE_NONE;
	p = skip_ows(p);
	if (strchr(p, ','))
		return PP_RANGE_NONE; /* several ranges: serve the whole representation */
	if (*p == '-') {
		p++;
		if (parse_u64(&p, &b) != 0 || *skip_ows(p) != '\0')
			return PP_RANGE_NONE;
		if (b == 0 || size == 0)
			return PP_RANGE_UNSATISFIABLE;
		if (b > size)
			b = size;
		*start = size - b;
		*len = b;
		return PP_RANGE_OK;
	}
	if (parse_u64(&p, &a) != 0 || *p++ != '-')
		return PP_RANGE_NONE;
	if (*skip_ows(p) == '\0') {
		b = UINT64_MAX;
	} else {
		if (parse_u64(&p, &b) != 0 || *skip_ows(p) != '\0' || b < a)
			return PP_RANGE_NONE;
	}
	if (a >= size)
		return PP_RANGE_UNSATISFIABLE;
	if (b >= size)
		b = size - 1;
	*start = a;
	*len = b - a + 1;
	return PP_RANGE_OK;
}

static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int month_index(const char *m)
{
	for (int i = 0; i < 12; i++)
		if (strncmp(m, months[i], 3) == 0)
			return i;
	return -1;
}

static int finish_tm(struct tm *tm, int year, const char *mon, int mday, int h, int mi, int s,
		     int64_t *out)
{
	int m = month_index(mon);
	time_t t;

	if (m < 0 || mday < 1 || mday > 31 || h > 23 || mi > 59 || s > 60 || year < 1970 ||
	    year > 9999)
		return -1;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = year - 1900;
	tm->tm_mon = m;
	tm->tm_mday = mday;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = s;
	t = timegm(tm);
	if (t == (time_t)-1)
		return -1;
	*out = (int64_t)t;
	return 0;
}

int pp_http_parse_date(const char *s, int64_t *out)
{
	char wd[16], mon[4], tz[4];
	int mday, year, h, mi, sec, n = 0;
	struct tm tm;

	if (!s)
		return -1;
	s = skip_ows(s);
	/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3[A-Z]%n", wd, &mday, mon,
		   &year, &h, &mi, &sec, tz, &n) == 8 && n > 0 && s[n] == '\0' &&
	    strcmp(tz, "GMT") == 0)
		return finish_tm(&tm, year, mon, mday, h, mi, sec, out);
	/* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
	n = 0;
	if (sscanf(s, "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d %3[A-Z]%n", wd, &mday, mon,
		   &year, &h, &mi, &sec, tz, &n) == 8 && n > 0 && s[n] == '\0' &&
	    strcmp(tz, "GMT") == 0) {
		year += year < 70 ? 2000 : 1900;
		return finish_tm(&tm, year, mon, mday, h, mi, sec, out);
	}
	/* asctime: Sun Nov  6 08:49:37 1994 */
	n = 0;
	if (sscanf(s, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n", wd, mon, &mday, &h, &mi, &sec,
		   &year, &n) == 7 && n > 0 && s[n] == '\0')
		return finish_tm(&tm, year, mon, mday, h, mi, sec, out);
	return -1;
}

void pp_http_format_date(int64_t t, char out[32])
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	snprintf(out, 32, "%s, %02d %s %04d %02d:%02d:%02d GMT", wdays[tm.tm_wday % 7], tm.tm_mday,
		 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The opaque part of an entity tag ("W/" dropped) as [*p, *p + *n). */
static void etag_opaque(const char *e, const char **p, size_t *n)
{
	if (e[0] == 'W' && e[1] == '/')
		e += 2;
	*p = e;
	*n = strlen(e);
}

bool pp_http_etag_match(const char *inm, const char *etag)
{
	const char *ep, *s = inm;
	size_t en;

	if (!inm || !etag || !*etag)
		return false;
	etag_opaque(etag, &ep, &en);
	while (*s) {
		const char *start, *end;

		s = skip_ows(s);
		if (*s == ',') {
			s++;
			continue;
		}
		if (*s == '*')
			return true;
		start = s;
		if (s[0] == 'W' && s[1] == '/')
			s += 2;
		if (*s != '"')
			return false; /* malformed list: no match */
		end = strchr(s + 1, '"');
		if (!end)
			return false;
		end++;
		if (start[0] == 'W')
			start += 2;
		if ((size_t)(end - start) == en && memcmp(start, ep, en) == 0)
			return true;
		s = end;
	}
	return false;
}

const char *pp_http_content_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} map[] = {
		{ "cfg", "text/plain" },  { "txt", "text/plain" },
		{ "conf", "text/plain" }, { "ini", "text/plain" },
		{ "xml", "application/xml" },
		{ "bin", "application/octet-stream" }, { "ld", "application/octet-stream" },
		{ "rom", "application/octet-stream" }, { "img", "application/octet-stream" },
		{ "zip", "application/octet-stream" },
		{ "json", "application/json" }, { "htm", "text/html" }, { "html", "text/html" },
		{ "png", "image/png" }, { "jpg", "image/jpeg" }, { "jpeg", "image/jpeg" },
		{ "wav", "audio/wav" },
	};
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash + 1 : path, '.');

	if (!dot || !dot[1])
		return "application/octet-stream";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcasecmp(dot + 1, map[i].ext) == 0)
			return map[i].type;
	return "application/octet-stream";
}
