/* Declarative extractors: PCRE2 rules with named groups (see extract.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "extract.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pcre2.h>

#define MAX_PAIRS 64 /* capture groups a rule may have (+1 for the whole match) */

struct pp_ex_rule {
	int src;
	pcre2_code *re;
	int group[PP_F_N];            /* capture number per field, -1 = none */
	char set[PP_F_N][PP_FIELD_LEN];
	size_t set_len[PP_F_N];
};

static const char *const src_names[PP_SRC_N] = {
	[PP_SRC_DHCP_VCI] = "dhcp.vendor_class",
	[PP_SRC_HTTP_UA] = "http.user_agent",
	[PP_SRC_DHCP_USER_CLASS] = "dhcp.user_class",
	[PP_SRC_DHCP_HOSTNAME] = "dhcp.hostname",
	[PP_SRC_DHCP_CLIENT_ID] = "dhcp.client_id",
	[PP_SRC_HTTP_PATH] = "http.path",
	[PP_SRC_TFTP_FILE] = "tftp.filename",
};

static const char *const field_names[PP_F_N] = {
	"vendor", "model", "version", "mac", "serial",
};

const char *pp_src_name(int src)
{
	return src >= 0 && src < PP_SRC_N ? src_names[src] : "?";
}

int pp_src_parse(const char *name)
{
	for (int i = 0; i < PP_SRC_N; i++)
		if (strcmp(name, src_names[i]) == 0)
			return i;
	return -1;
}

const char *pp_field_name(int field)
{
	return field >= 0 && field < PP_F_N ? field_names[field] : "?";
}

int pp_field_parse(const char *name)
{
	for (int i = 0; i < PP_F_N; i++)
		if (strcmp(name, field_names[i]) == 0)
			return i;
	return -1;
}

void pp_devinfo_init(struct pp_devinfo *di)
{
	for (int i = 0; i < PP_F_N; i++) {
		di->f[i][0] = '\0';
		di->src[i] = -1;
		di->plugin[i] = NULL;
	}
}

void pp_version_normalize(char *s)
{
	size_t n = strlen(s), i = 0, j = 0;

	while (i < n && isspace((unsigned char)s[i]))
		i++;
	while (n > i && isspace((unsigned char)s[n - 1]))
		n--;
	if (n - i >= 2 && (s[i] == 'v' || s[i] == 'V') && isdigit((unsigned char)s[i + 1]))
		i++;
	for (; i < n; i++) {
		char c = s[i];

		if ((c == '_' || c == '-') && j > 0 && isdigit((unsigned char)s[j - 1]) &&
		    i + 1 < n && isdigit((unsigned char)s[i + 1]))
			c = '.';
		s[j++] = c;
	}
	s[j] = '\0';
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 when the
 * bytes there are not one (overlong forms, surrogates, past U+10FFFF). */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t k;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4, c = p[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((k == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (k == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return k;
}

size_t pp_field_copy(char *dst, size_t dstsz, const char *val, size_t len)
{
	const unsigned char *v = (const unsigned char *)val;
	size_t i = 0, j = 0;

	if (!dstsz)
		return 0;
	while (i < len) {
		size_t k = utf8_seq(v + i, len - i);

		if (k == 0 || (k == 1 && (v[i] < 0x20 || v[i] == 0x7f))) {
			/* control bytes and bytes that are not UTF-8 never
			 * reach logs/JSON (a JSON string must be UTF-8) */
			if (j + 1 >= dstsz)
				break;
			dst[j++] = '?';
			i++;
			continue;
		}
		if (j + k >= dstsz)
			break; /* cut before a character, never inside one */
		memcpy(dst + j, v + i, k);
		i += k;
		j += k;
	}
	dst[j] = '\0';
	return j;
}

int pp_devinfo_offer(struct pp_devinfo *di, int field, const char *val, size_t len, int src,
		     const char *plugin)
{
	char *dst = di->f[field];

	if (dst[0])
		return 0;
	while (len && isspace((unsigned char)*val)) {
		val++;
		len--;
	}
	while (len && isspace((unsigned char)val[len - 1]))
		len--;
	if (!len)
		return 0;
	if (field == PP_F_MAC) {
		/* an all-zero or broadcast MAC names no device (a placeholder file name) */
		if (pp_mac_normalize(val, len, dst) != PP_OK || !pp_mac_is_device(dst)) {
			dst[0] = '\0';
			return 0;
		}
	} else {
		pp_field_copy(dst, PP_FIELD_LEN, val, len);
		if (field == PP_F_VERSION)
			pp_version_normalize(dst);
		if (!dst[0])
			return 0;
	}
	di->src[field] = (signed char)src;
	di->plugin[field] = plugin;
	return 1;
}

int pp_ex_rule_new(int src, const char *regex, size_t len, bool caseless, unsigned flags,
		   const char *const set[PP_F_N], struct pp_ex_rule **out, size_t *erroff,
		   char *msg, size_t msgsz)
{
	struct pp_ex_rule *r;
	uint32_t captures = 0;
	PCRE2_SIZE off = 0;
	int ec = 0;

	*out = NULL;
	*erroff = 0;
	if (src < 0 || src >= PP_SRC_N) {
		snprintf(msg, msgsz, "unknown source");
		return PP_EINVAL;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return PP_ENOMEM;
	r->src = src;
	/* Byte mode: identification strings are matched as the bytes the phone
	 * sent (a binary vendor class, a stray byte in a User-Agent), `.` and
	 * \xNN are one byte. A pattern may still opt in to UTF-8 with (*UTF). */
	r->re = pcre2_compile((PCRE2_SPTR)regex, len, caseless ? PCRE2_CASELESS : 0, &ec, &off,
			      NULL);
	if (!r->re) {
		PCRE2_UCHAR buf[256];

		pcre2_get_error_message(ec, buf, sizeof(buf));
		snprintf(msg, msgsz, "%s", (const char *)buf);
		*erroff = off;
		free(r);
		return PP_EINVAL;
	}
	pcre2_pattern_info(r->re, PCRE2_INFO_CAPTURECOUNT, &captures);
	if (captures >= MAX_PAIRS) {
		snprintf(msg, msgsz, "too many capture groups (%u, at most %d)", captures,
			 MAX_PAIRS - 1);
		pcre2_code_free(r->re);
		free(r);
		return PP_EINVAL;
	}
	/* JIT when the platform has it; pcre2_match falls back otherwise. */
	if (!(flags & PP_EX_NO_JIT))
		(void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
	for (int f = 0; f < PP_F_N; f++) {
		int g = pcre2_substring_number_from_name(r->re, (PCRE2_SPTR)field_names[f]);

		r->group[f] = g > 0 ? g : -1;
		if (set && set[f]) {
			snprintf(r->set[f], sizeof(r->set[f]), "%s", set[f]);
			r->set_len[f] = strlen(r->set[f]);
		}
	}
	*out = r;
	return PP_OK;
}

void pp_ex_rule_free(struct pp_ex_rule *r)
{
	if (!r)
		return;
	pcre2_code_free(r->re);
	free(r);
}

int pp_ex_rule_src(const struct pp_ex_rule *r)
{
	return r->src;
}

const char *pp_ex_rule_vendor(const struct pp_ex_rule *r)
{
	return r->set[PP_F_VENDOR];
}

/* One match-data block per thread, freed when the thread exits. */
static pthread_key_t md_key;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;
static pcre2_match_context *mctx;

static void md_free(void *p)
{
	pcre2_match_data_free(p);
}

static void md_init(void)
{
	pthread_key_create(&md_key, md_free);
	mctx = pcre2_match_context_create(NULL);
	if (mctx) {
		/* Bound the work a pathological plugin regex can do per request. */
		pcre2_set_match_limit(mctx, 100000);
		pcre2_set_depth_limit(mctx, 1000);
	}
}

static pcre2_match_data *thread_md(void)
{
	pcre2_match_data *md;

	pthread_once(&md_once, md_init);
	md = pthread_getspecific(md_key);
	if (md)
		return md;
	md = pcre2_match_data_create(MAX_PAIRS, NULL);
	if (md && pthread_setspecific(md_key, md) != 0) {
		pcre2_match_data_free(md);
		md = NULL;
	}
	return md;
}

void *pp_ex_match_data(void)
{
	return thread_md();
}

int pp_ex_rule_match(const struct pp_ex_rule *r, const struct pp_ex_input *in,
		     struct pp_ex_hit *hit)
{
	const char *s = in->s[r->src];
	size_t len = in->len[r->src];
	pcre2_match_data *md;
	PCRE2_SIZE *ov;
	int rc;

	if (!s || !len)
		return 0;
	if (len > PP_SRC_MAXLEN)
		len = PP_SRC_MAXLEN;
	md = thread_md();
	if (!md)
		return PP_ENOMEM;
	rc = pcre2_match(r->re, (PCRE2_SPTR)s, len, 0, 0, md, mctx);
	if (rc < 0)
		return 0; /* no match, or a limit hit: treated as no match */
	ov = pcre2_get_ovector_pointer(md);
	for (int f = 0; f < PP_F_N; f++) {
		int g = r->group[f];

		hit->val[f] = NULL;
		hit->len[f] = 0;
		if (g > 0 && g < rc && ov[2 * g] != PCRE2_UNSET) {
			hit->val[f] = s + ov[2 * g];
			hit->len[f] = ov[2 * g + 1] - ov[2 * g];
		}
		if (!hit->len[f] && r->set_len[f]) {
			hit->val[f] = r->set[f];
			hit->len[f] = r->set_len[f];
		}
	}
	return 1;
}

/* Does a vendor value (as captured: untrimmed) name another vendor than v? */
int pp_ex_vendor_conflict(const char *val, size_t len, const char *v)
{
	while (len && isspace((unsigned char)*val)) {
		val++;
		len--;
	}
	while (len && isspace((unsigned char)val[len - 1]))
		len--;
	if (!len || !v || !*v)
		return 0;
	return strlen(v) != len || strncasecmp(val, v, len) != 0;
}

int pp_ex_rule_apply(const struct pp_ex_rule *r, const struct pp_ex_input *in,
		     struct pp_devinfo *di, const char *plugin)
{
	struct pp_ex_hit h;
	int rc = pp_ex_rule_match(r, in, &h);

	if (rc <= 0)
		return rc;
	/* A rule naming another vendor than the one already found gives nothing. */
	if (pp_ex_vendor_conflict(h.val[PP_F_VENDOR], h.len[PP_F_VENDOR], di->f[PP_F_VENDOR]))
		return 1;
	for (int f = 0; f < PP_F_N; f++)
		if (h.len[f])
			pp_devinfo_offer(di, f, h.val[f], h.len[f], r->src, plugin);
	return 1;
}

const char *pp_devinfo_str(const struct pp_devinfo *di, char *buf, size_t n)
{
	snprintf(buf, n, "vendor=%s model=%s version=%s mac=%s serial=%s",
		 di->f[PP_F_VENDOR][0] ? di->f[PP_F_VENDOR] : "-",
		 di->f[PP_F_MODEL][0] ? di->f[PP_F_MODEL] : "-",
		 di->f[PP_F_VERSION][0] ? di->f[PP_F_VERSION] : "-",
		 di->f[PP_F_MAC][0] ? di->f[PP_F_MAC] : "-",
		 di->f[PP_F_SERIAL][0] ? di->f[PP_F_SERIAL] : "-");
	return buf;
}
