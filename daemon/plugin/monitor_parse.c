/* Framing and parsing of call records: bytes from a PBX are cut into frames
 * (lines, fixed-length records or blank-line-terminated blocks), each frame
 * runs through the monitor's parse steps (regex with named groups, fixed
 * columns, CSV, "Key: Value" lines) into named captures, and the captures
 * become the record fields through templates, value maps and rules
 * (docs/monitors.md). No I/O here: the runtime, the tests and the fuzz
 * harness all drive the same code. A frame that does not parse is never an
 * error: it comes back as {"parsed": false, "raw": ..., "error": ...}. */
#include "monitor_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MATCH_LIMIT 200000u /* PCRE2 backtracking budget per match (regexes come from YAML) */

struct pp_mon_parser {
	struct pp_mon_def *d;
	struct pp_buf in;            /* bytes not yet framed */
	size_t scan;                 /* of `in`, already searched for a terminator */
	bool skipping;               /* dropping the rest of an over-long line */
	struct pp_buf block;         /* block framing: lines of the current block */
	pcre2_match_data *md;
	pcre2_match_context *mc;
	/* per frame */
	const char *cv[MON_CAPS_MAX];
	size_t cl[MON_CAPS_MAX];
	char *arena;                 /* unquoted CSV values */
	size_t arena_len, arena_cap;
	struct pp_buf fv[MON_F_N];   /* field values as text */
	struct pp_buf frame, tmp, utf;
	char why[160];
};

/* ---- UTF-8 -------------------------------------------------------------- */

static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void pp_mon_utf8(struct pp_buf *out, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;

	pp_buf_reset(out);
	pp_buf_append(out, "", 0);
	for (size_t i = 0; i < n;) {
		size_t l = utf8_seq(s + i, n - i);

		if (l == 1 && s[i] == 0) {
			i++;
		} else if (l) {
			pp_buf_append(out, s + i, l);
			i += l;
		} else { /* ISO-8859-1 byte */
			char two[2] = { (char)(0xc0 | s[i] >> 6), (char)(0x80 | (s[i] & 0x3f)) };

			pp_buf_append(out, two, 2);
			i++;
		}
	}
}

/* ---- parser lifetime ---------------------------------------------------- */

int pp_mon_parser_new(struct pp_mon_def *d, struct pp_mon_parser **out)
{
	struct pp_mon_parser *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return PP_ENOMEM;
	p->d = pp_mon_def_ref(d);
	p->md = pcre2_match_data_create(d->max_groups ? d->max_groups : 1, NULL);
	p->mc = pcre2_match_context_create(NULL);
	p->arena_cap = d->max_record * 2 + 64;
	p->arena = malloc(p->arena_cap);
	if (!p->md || !p->mc || !p->arena) {
		pp_mon_parser_free(p);
		return PP_ENOMEM;
	}
	pcre2_set_match_limit(p->mc, MATCH_LIMIT);
	*out = p;
	return PP_OK;
}

void pp_mon_parser_free(struct pp_mon_parser *p)
{
	if (!p)
		return;
	pp_buf_free(&p->in);
	pp_buf_free(&p->block);
	pcre2_match_data_free(p->md);
	pcre2_match_context_free(p->mc);
	free(p->arena);
	for (int f = 0; f < MON_F_N; f++)
		pp_buf_free(&p->fv[f]);
	pp_buf_free(&p->frame);
	pp_buf_free(&p->tmp);
	pp_buf_free(&p->utf);
	pp_mon_def_unref(p->d);
	free(p);
}

/* ---- matching helpers ------------------------------------------------------ */

static int re_match(struct pp_mon_parser *p, const pcre2_code *re, const char *s, size_t n)
{
	return pcre2_match(re, (PCRE2_SPTR)(s ? s : ""), n, 0, 0, p->md, p->mc);
}

static void trim(const char **s, size_t *n)
{
	while (*n && ((*s)[0] == ' ' || (*s)[0] == '\t' || (*s)[0] == '\r' || (*s)[0] == '\n')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r' ||
		      (*s)[*n - 1] == '\n'))
		(*n)--;
}

static void cap_set(struct pp_mon_parser *p, int cap, const char *s, size_t n)
{
	if (cap < 0)
		return;
	trim(&s, &n);
	p->cv[cap] = s;
	p->cl[cap] = n;
}

static char *arena_put(struct pp_mon_parser *p, size_t n)
{
	char *r;

	if (p->arena_cap - p->arena_len < n)
		return NULL;
	r = p->arena + p->arena_len;
	p->arena_len += n;
	return r;
}

/* ---- parse steps ----------------------------------------------------------- */

static int step_regex(struct pp_mon_parser *p, const struct mon_step *st, const char *in,
		      size_t n, size_t idx)
{
	PCRE2_SIZE *ov;
	int rc = re_match(p, st->re, in, n);

	if (rc == PCRE2_ERROR_NOMATCH) {
		if (st->optional)
			return PP_OK;
		snprintf(p->why, sizeof(p->why), "does not match the regex of parse step %zu",
			 idx + 1);
		return PP_EINVAL;
	}
	if (rc < 0) {
		snprintf(p->why, sizeof(p->why), "regex of parse step %zu failed (%d)", idx + 1, rc);
		return PP_EINVAL;
	}
	ov = pcre2_get_ovector_pointer(p->md);
	for (uint32_t g = 1; g <= st->n_groups; g++) {
		int cap = st->group_cap[g];

		if (cap < 0)
			continue;
		if ((int)g >= rc || ov[2 * g] == PCRE2_UNSET)
			cap_set(p, cap, "", 0);
		else
			cap_set(p, cap, in + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
	}
	return PP_OK;
}

static void step_columns(struct pp_mon_parser *p, const struct mon_step *st, const char *in,
			 size_t n)
{
	for (size_t i = 0; i < st->n_cols; i++) {
		const struct mon_col *c = &st->cols[i];

		if (c->from >= n)
			cap_set(p, c->cap, "", 0);
		else
			cap_set(p, c->cap, in + c->from, (c->to < n ? c->to : n) - c->from);
	}
}

/* RFC 4180-style: a field may be quoted, "" inside quotes is one quote. */
static int step_csv(struct pp_mon_parser *p, const struct mon_step *st, const char *in, size_t n)
{
	size_t col = 0, i = 0;

	for (size_t k = 0; k < st->n_csv; k++)
		cap_set(p, st->csv_cap[k], "", 0);
	while (i <= n && col < st->n_csv) {
		if (i < n && in[i] == '"') {
			char *dst = arena_put(p, 0);
			size_t len = 0;

			for (i++; i < n; i++) {
				if (in[i] == '"') {
					if (i + 1 < n && in[i + 1] == '"') {
						i++;
					} else {
						i++;
						break;
					}
				}
				if (!arena_put(p, 1)) {
					snprintf(p->why, sizeof(p->why), "csv value too long");
					return PP_EINVAL;
				}
				dst[len++] = in[i];
			}
			cap_set(p, st->csv_cap[col], dst, len);
			while (i < n && in[i] != st->sep)
				i++;
		} else {
			size_t s = i;

			while (i < n && in[i] != st->sep)
				i++;
			cap_set(p, st->csv_cap[col], in + s, i - s);
		}
		col++;
		if (i >= n)
			break;
		i++; /* separator */
	}
	return PP_OK;
}

static void step_kv(struct pp_mon_parser *p, const struct mon_step *st, const char *in, size_t n)
{
	size_t i = 0;

	while (i < n) {
		const char *line = in + i, *nl = memchr(line, '\n', n - i);
		size_t len = nl ? (size_t)(nl - line) : n - i;
		const char *sep = memchr(line, st->sep, len);

		if (sep) {
			const char *k = line;
			size_t kl = (size_t)(sep - line);
			int cap;

			trim(&k, &kl);
			cap = kl ? -1 : -2;
			for (size_t c = 0; cap == -1 && c < p->d->n_caps; c++)
				if (strlen(p->d->caps[c]) == kl && !strncasecmp(p->d->caps[c], k, kl))
					cap = (int)c;
			if (cap >= 0)
				cap_set(p, cap, sep + 1, len - (size_t)(sep - line) - 1);
		}
		i += len + 1;
	}
}

static int run_steps(struct pp_mon_parser *p, const char *frame, size_t n)
{
	const struct pp_mon_def *d = p->d;

	for (size_t i = 0; i < d->n_steps; i++) {
		const struct mon_step *st = &d->steps[i];
		const char *in = frame;
		size_t len = n;

		if (st->on >= 0) {
			in = p->cv[st->on];
			len = p->cl[st->on];
		}
		if (st->guard) {
			int rc = re_match(p, st->guard, in, len);

			if (rc == PCRE2_ERROR_NOMATCH)
				continue;
			if (rc < 0) {
				snprintf(p->why, sizeof(p->why), "if: of parse step %zu failed (%d)",
					 i + 1, rc);
				return PP_EINVAL;
			}
		}
		switch (st->kind) {
		case MON_ST_REGEX:
			if (step_regex(p, st, in, len, i))
				return PP_EINVAL;
			break;
		case MON_ST_COLUMNS:
			step_columns(p, st, in, len);
			break;
		case MON_ST_CSV:
			if (step_csv(p, st, in, len))
				return PP_EINVAL;
			break;
		case MON_ST_KV:
			step_kv(p, st, in, len);
			break;
		}
	}
	return PP_OK;
}

/* ---- field values ------------------------------------------------------------ */

static void expand(struct pp_mon_parser *p, const struct mon_tpl *t, struct pp_buf *out)
{
	const char *s;
	size_t n;

	pp_buf_reset(out);
	pp_buf_append(out, "", 0);
	for (size_t i = 0; i < t->n; i++) {
		const struct mon_tpart *tp = &t->parts[i];

		if (tp->cap < 0)
			pp_buf_append(out, tp->lit, tp->len);
		else if (p->cv[tp->cap])
			pp_buf_append(out, p->cv[tp->cap], p->cl[tp->cap]);
	}
	s = out->data;
	n = out->len;
	trim(&s, &n);
	if (s != out->data || n != out->len) {
		memmove(out->data, s, n);
		out->len = n;
		out->data[n] = '\0';
	}
}

static void apply_map(const struct mon_map *m, struct pp_buf *v)
{
	for (size_t i = 0; i < m->n; i++)
		if (!strcmp(m->from[i], v->data)) {
			pp_buf_reset(v);
			pp_buf_puts(v, m->to[i]);
			return;
		}
}

/* "65", "1:05", "00:01:05", "00:01'05", "5'15", "0:01:05.5": seconds. */
static int parse_duration(const char *s, long long *out)
{
	long long part[3] = { 0, 0, 0 };
	int np = 0, digits = 0;
	const char *p = s;

	for (;; p++) {
		if (isdigit((unsigned char)*p)) {
			if (digits >= 9)
				return -1;
			part[np] = part[np] * 10 + (*p - '0');
			digits++;
		} else if ((*p == ':' || *p == '\'') && digits && np < 2) {
			np++;
			digits = 0;
		} else if (*p == '.' && digits) {
			while (isdigit((unsigned char)p[1]))
				p++;
			p++;
			break;
		} else {
			break;
		}
	}
	if (*p || !digits)
		return -1;
	if (np == 0) {
		*out = part[0];
		return 0;
	}
	/* the last part is seconds, the one before minutes */
	if (part[np] > 59 || part[np - 1] > (np == 2 ? 59 : 99999))
		return -1;
	*out = np == 2 ? part[0] * 3600 + part[1] * 60 + part[2] : part[0] * 60 + part[1];
	return 0;
}

static const char *const months[] = { "jan", "feb", "mar", "apr", "may", "jun",
				      "jul", "aug", "sep", "oct", "nov", "dec" };

static int num(const char **s, int min_d, int max_d, int *out)
{
	int v = 0, d = 0;

	while (d < max_d && isdigit((unsigned char)**s)) {
		v = v * 10 + (**s - '0');
		(*s)++;
		d++;
	}
	if (d < min_d)
		return -1;
	*out = v;
	return 0;
}

/* strptime-like, with our directives only (validated at load). */
static int parse_time(const char *s, const char *fmt, time_t *out)
{
	int year = -1, mon = -1, day = -1, hour = 0, min = 0, sec = 0, pm = -1, h12 = 0;
	struct tm tm, chk;
	time_t now = time(NULL), t;

	for (const char *f = fmt; *f; f++) {
		if (*f == ' ') {
			while (*s == ' ')
				s++;
			continue;
		}
		if (*f != '%' || f[1] == '%') {
			if (*f == '%')
				f++;
			if (*s != *f)
				return -1;
			s++;
			continue;
		}
		f++;
		switch (*f) {
		case 'Y':
			if (num(&s, 4, 4, &year))
				return -1;
			break;
		case 'y':
			if (num(&s, 2, 2, &year))
				return -1;
			year += 2000;
			break;
		case 'm':
			if (num(&s, 1, 2, &mon))
				return -1;
			break;
		case 'd':
			while (*s == ' ')
				s++;
			if (num(&s, 1, 2, &day))
				return -1;
			break;
		case 'H':
			while (*s == ' ')
				s++;
			if (num(&s, 1, 2, &hour))
				return -1;
			break;
		case 'I':
			while (*s == ' ')
				s++;
			if (num(&s, 1, 2, &hour))
				return -1;
			h12 = 1;
			break;
		case 'M':
			if (num(&s, 1, 2, &min))
				return -1;
			break;
		case 'S':
			if (num(&s, 1, 2, &sec))
				return -1;
			break;
		case 'p':
			/* AM/PM, A/P (Mitel prints 'p' after PM times), or nothing = AM */
			if (*s == 'p' || *s == 'P') {
				pm = 1;
				s += (s[1] == 'm' || s[1] == 'M') ? 2 : 1;
			} else if (*s == 'a' || *s == 'A') {
				pm = 0;
				s += (s[1] == 'm' || s[1] == 'M') ? 2 : 1;
			} else {
				pm = 0;
			}
			break;
		case 'b':
			for (mon = 0; mon < 12 && strncasecmp(s, months[mon], 3); mon++)
				;
			if (mon == 12)
				return -1;
			mon++;
			s += 3;
			break;
		default:
			return -1;
		}
	}
	while (*s == ' ')
		s++;
	if (*s)
		return -1;
	if (h12) {
		if (hour < 1 || hour > 12)
			return -1;
		hour = hour % 12 + (pm == 1 ? 12 : 0);
	} else if (pm == 1 && hour < 12) {
		hour += 12;
	}
	if (hour > 23 || min > 59 || sec > 60)
		return -1;
	localtime_r(&now, &tm);
	if (mon < 0 && day < 0) { /* a time of day only: today */
		mon = tm.tm_mon + 1;
		day = tm.tm_mday;
		if (year < 0)
			year = tm.tm_year + 1900;
	}
	if (mon < 1 || mon > 12 || day < 1 || day > 31)
		return -1;
	for (int pass = 0; pass < 2; pass++) {
		memset(&chk, 0, sizeof(chk));
		chk.tm_year = (year < 0 ? tm.tm_year + 1900 - pass : year) - 1900;
		chk.tm_mon = mon - 1;
		chk.tm_mday = day;
		chk.tm_hour = hour;
		chk.tm_min = min;
		chk.tm_sec = sec;
		chk.tm_isdst = -1;
		t = mktime(&chk);
		if (t == (time_t)-1 || chk.tm_mday != day || chk.tm_mon != mon - 1)
			return -1;
		/* no year in the record (mm/dd): a date more than a day ahead is last year's */
		if (year >= 0 || t <= now + 86400)
			break;
	}
	*out = t;
	return 0;
}

static int parse_start(const char *s, const struct mon_fieldspec *fs, time_t *out)
{
	static const char *const iso[] = { "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S",
					   "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", NULL };

	if (fs->format)
		return parse_time(s, fs->format, out);
	for (int i = 0; iso[i]; i++)
		if (parse_time(s, iso[i], out) == 0)
			return 0;
	return -1;
}

static void iso_time(time_t t, char out[64])
{
	struct tm tm;
	int off;

	localtime_r(&t, &tm);
	off = (int)(tm.tm_gmtoff / 60);
	snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", tm.tm_year + 1900,
		 (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
		 tm.tm_sec % 100, off < 0 ? '-' : '+', (abs(off) / 60) % 100, abs(off) % 60);
}

static bool is_direction(const char *s)
{
	return !*s || !strcmp(s, "incoming") || !strcmp(s, "outgoing") || !strcmp(s, "internal") ||
	       !strcmp(s, "missed");
}

static int convert_duration(struct pp_mon_parser *p, int f)
{
	long long v;
	char num[24];

	if (!p->fv[f].len)
		return PP_OK;
	if (parse_duration(p->fv[f].data, &v)) {
		snprintf(p->why, sizeof(p->why), "%s: '%.40s' is not a duration",
			 pp_mon_field_names[f], p->fv[f].data);
		return PP_EINVAL;
	}
	snprintf(num, sizeof(num), "%lld", v);
	pp_buf_reset(&p->fv[f]);
	pp_buf_puts(&p->fv[f], num);
	return PP_OK;
}

static bool rule_matches(struct pp_mon_parser *p, const struct mon_rule *r)
{
	for (size_t i = 0; i < r->n_when; i++) {
		const struct mon_cond *c = &r->when[i];
		const char *s;
		size_t n;

		if (c->field >= 0) {
			s = p->fv[c->field].data;
			n = p->fv[c->field].len;
		} else {
			s = p->cv[c->cap];
			n = s ? p->cl[c->cap] : 0;
		}
		if (re_match(p, c->re, s, n) < 0)
			return false;
	}
	return true;
}

/* ---- one frame ------------------------------------------------------------- */

static json_t *str_utf8(struct pp_mon_parser *p, const char *s, size_t n)
{
	size_t i = 0;

	/* the common case, printable ASCII, needs no copy (and is valid UTF-8) */
	while (i < n && (unsigned char)s[i] >= 0x20 && (unsigned char)s[i] < 0x80)
		i++;
	if (i == n)
		return json_stringn_nocheck(s, n);
	pp_mon_utf8(&p->utf, s, n);
	return json_stringn_nocheck(p->utf.data, p->utf.len);
}

static json_t *unparsed(struct pp_mon_parser *p, const char *frame, size_t n)
{
	json_t *r = json_object();

	if (!r)
		return NULL;
	json_object_set_new(r, "monitor", json_string(p->d->id));
	json_object_set_new(r, "parsed", json_false());
	json_object_set_new(r, "raw", str_utf8(p, frame, n));
	json_object_set_new(r, "error", str_utf8(p, p->why, strlen(p->why)));
	return r;
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
			return false;
	return true;
}

json_t *pp_mon_parse_frame(struct pp_mon_parser *p, const char *in, size_t inlen)
{
	const struct pp_mon_def *d = p->d;
	const char *frame;
	size_t n;
	time_t start = 0;
	bool have_start = false, any = false;
	json_t *r;

	/* page feeds and NULs are printer control, never record content */
	pp_buf_reset(&p->frame);
	pp_buf_append(&p->frame, "", 0);
	for (size_t i = 0; i < inlen; i++)
		if (in[i] != '\f' && in[i] != '\0')
			pp_buf_putc(&p->frame, in[i]);
	frame = p->frame.data;
	n = p->frame.len;
	if (blank(frame, n))
		return NULL;
	for (size_t i = 0; i < d->n_ignore; i++)
		if (re_match(p, d->ignore[i], frame, n) >= 0)
			return NULL;
	if (d->select && re_match(p, d->select, frame, n) < 0)
		return NULL;

	memset(p->cv, 0, sizeof(p->cv));
	memset(p->cl, 0, sizeof(p->cl));
	p->arena_len = 0;
	p->why[0] = '\0';
	if (run_steps(p, frame, n))
		return unparsed(p, frame, n);

	for (int f = 0; f < MON_F_N; f++) {
		const struct mon_fieldspec *fs = &d->fields[f];

		pp_buf_reset(&p->fv[f]);
		pp_buf_append(&p->fv[f], "", 0);
		if (!fs->set)
			continue;
		expand(p, &fs->tpl, &p->fv[f]);
		apply_map(&fs->map, &p->fv[f]);
	}
	if (convert_duration(p, MON_F_DURATION) || convert_duration(p, MON_F_RING))
		return unparsed(p, frame, n);
	for (size_t i = 0; i < d->n_rules; i++) {
		const struct mon_rule *ru = &d->rules[i];

		if (!rule_matches(p, ru))
			continue;
		for (int f = 0; f < MON_F_N; f++) {
			if (!ru->has[f])
				continue;
			expand(p, &ru->set[f], &p->fv[f]);
			if ((f == MON_F_DURATION || f == MON_F_RING) && convert_duration(p, f))
				return unparsed(p, frame, n);
		}
	}
	if (!is_direction(p->fv[MON_F_DIRECTION].data)) {
		snprintf(p->why, sizeof(p->why), "direction '%.40s' is not incoming, outgoing, "
			 "internal or missed", p->fv[MON_F_DIRECTION].data);
		return unparsed(p, frame, n);
	}
	if (p->fv[MON_F_START].len) {
		if (parse_start(p->fv[MON_F_START].data, &d->fields[MON_F_START], &start)) {
			snprintf(p->why, sizeof(p->why), "start: '%.40s' does not match %s",
				 p->fv[MON_F_START].data, d->fields[MON_F_START].format ?
				 d->fields[MON_F_START].format : "an ISO 8601 date and time");
			return unparsed(p, frame, n);
		}
		if (d->fields[MON_F_START].end_of_call && p->fv[MON_F_DURATION].len)
			start -= (time_t)strtoll(p->fv[MON_F_DURATION].data, NULL, 10);
		have_start = true;
	}
	for (int f = 0; f < MON_F_N; f++)
		any |= p->fv[f].len > 0;
	if (!any) {
		snprintf(p->why, sizeof(p->why), "no record field in it");
		return unparsed(p, frame, n);
	}

	r = json_object();
	if (!r)
		return NULL;
	json_object_set_new(r, "monitor", json_string(d->id));
	json_object_set_new(r, "parsed", json_true());
	for (int f = 0; f < MON_F_N; f++) {
		const struct pp_buf *v = &p->fv[f];

		if (!v->len)
			continue;
		if (f == MON_F_DURATION || f == MON_F_RING) {
			json_object_set_new(r, pp_mon_field_names[f],
					    json_integer(strtoll(v->data, NULL, 10)));
		} else if (f == MON_F_START) {
			char iso[64];

			iso_time(have_start ? start : 0, iso);
			json_object_set_new(r, "start", json_string(iso));
		} else {
			json_object_set_new(r, pp_mon_field_names[f], str_utf8(p, v->data, v->len));
		}
	}
	if (d->n_extra) {
		json_t *x = json_object();

		for (size_t i = 0; x && i < d->n_extra; i++) {
			expand(p, &d->extra[i], &p->tmp);
			if (p->tmp.len)
				json_object_set_new(x, d->extra_names[i],
						    str_utf8(p, p->tmp.data, p->tmp.len));
		}
		if (x && json_object_size(x))
			json_object_set_new(r, "extra", x);
		else
			json_decref(x);
	}
	json_object_set_new(r, "raw", str_utf8(p, frame, n));
	return r;
}

/* ---- framing --------------------------------------------------------------- */

static int emit(struct pp_mon_parser *p, const char *frame, size_t n, pp_mon_rec_cb cb,
		void *arg)
{
	json_t *r = pp_mon_parse_frame(p, frame, n);

	return r ? cb(r, arg) : 0;
}

static int too_long(struct pp_mon_parser *p, const char *frame, size_t n, pp_mon_rec_cb cb,
		    void *arg)
{
	json_t *r;

	snprintf(p->why, sizeof(p->why), "record longer than max_record (%zu bytes): cut",
		 p->d->max_record);
	r = unparsed(p, frame, n < p->d->max_record ? n : p->d->max_record);
	return r ? cb(r, arg) : 0;
}

/* Line framing: CR, LF or CRLF end a line; empty lines are dropped. Block
 * framing: LF ends a line (a trailing CR is dropped), an empty line ends the
 * block; the block is the lines joined with "\n". */
static int feed_lines(struct pp_mon_parser *p, pp_mon_rec_cb cb, void *arg)
{
	const struct pp_mon_def *d = p->d;
	bool block = d->framing == MON_FR_BLOCK;
	size_t start = 0;
	int rc = 0;

	for (size_t i = p->scan; i < p->in.len && !rc; i++) {
		char c = p->in.data[i];
		size_t len;

		if (c != '\n' && (block || c != '\r'))
			continue;
		len = i - start;
		if (p->skipping) {
			p->skipping = false;
		} else if (!block) {
			if (len)
				rc = emit(p, p->in.data + start, len, cb, arg);
		} else {
			if (len && p->in.data[start + len - 1] == '\r')
				len--;
			if (len) {
				if (p->block.len)
					pp_buf_putc(&p->block, '\n');
				pp_buf_append(&p->block, p->in.data + start, len);
				if (p->block.len > d->max_record) {
					rc = too_long(p, p->block.data, p->block.len, cb, arg);
					pp_buf_reset(&p->block);
				}
			} else if (p->block.len) {
				rc = emit(p, p->block.data, p->block.len, cb, arg);
				pp_buf_reset(&p->block);
			}
		}
		start = i + 1;
	}
	/* keep the incomplete line */
	if (start) {
		memmove(p->in.data, p->in.data + start, p->in.len - start);
		p->in.len -= start;
		p->in.data[p->in.len] = '\0';
	}
	p->scan = p->in.len;
	if (!rc && p->in.len > d->max_record) {
		if (!p->skipping)
			rc = too_long(p, p->in.data, p->in.len, cb, arg);
		p->skipping = true;
		pp_buf_reset(&p->in);
		p->scan = 0;
	}
	return rc;
}

static int feed_fixed(struct pp_mon_parser *p, pp_mon_rec_cb cb, void *arg)
{
	size_t n = p->d->record_length, off = 0;
	int rc = 0;

	while (!rc && p->in.len - off >= n) {
		rc = emit(p, p->in.data + off, n, cb, arg);
		off += n;
	}
	if (off) {
		memmove(p->in.data, p->in.data + off, p->in.len - off);
		p->in.len -= off;
		p->in.data[p->in.len] = '\0';
	}
	return rc;
}

int pp_mon_parser_feed(struct pp_mon_parser *p, const void *data, size_t len, pp_mon_rec_cb cb,
		       void *arg)
{
	if (len && pp_buf_append(&p->in, data, len))
		return PP_ENOMEM;
	return p->d->framing == MON_FR_FIXED ? feed_fixed(p, cb, arg) : feed_lines(p, cb, arg);
}

int pp_mon_parser_flush(struct pp_mon_parser *p, pp_mon_rec_cb cb, void *arg)
{
	int rc = 0;

	if (p->d->framing == MON_FR_BLOCK) {
		if (p->in.len && !p->skipping) {
			size_t len = p->in.len;

			if (p->in.data[len - 1] == '\r')
				len--;
			if (p->block.len)
				pp_buf_putc(&p->block, '\n');
			pp_buf_append(&p->block, p->in.data, len);
		}
		if (p->block.len)
			rc = emit(p, p->block.data, p->block.len, cb, arg);
		pp_buf_reset(&p->block);
	} else if (p->in.len && !p->skipping) {
		rc = emit(p, p->in.data, p->in.len, cb, arg);
	}
	pp_buf_reset(&p->in);
	p->scan = 0;
	p->skipping = false;
	return rc;
}

size_t pp_mon_parser_pending(const struct pp_mon_parser *p)
{
	return p->in.len + p->block.len;
}
