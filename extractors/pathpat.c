/* File-name patterns: parse, expand, match. */
#include "pathpat.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <ctype.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/safepath.h"

static const char *const pvar_names[] = {
	[PP_PV_MAC] = "mac", [PP_PV_MAC_UP] = "MAC", [PP_PV_MAC_COLON] = "mac_colon",
	[PP_PV_MODEL] = "model", [PP_PV_VENDOR] = "vendor", [PP_PV_VERSION] = "version",
};

/* Append one part: a literal (lit, len) when var is PP_PV_LIT, else a
 * variable. Two entry points so that the literal copy is never reached with
 * a NULL pointer, even as the optimiser sees it (GCC -O3 -Wnonnull). */
static int add_part(struct pp_pathpat *pp, int var, char *lit)
{
	struct pp_ppart *np = realloc(pp->parts, (pp->n_parts + 1) * sizeof(*np));

	if (!np) {
		free(lit);
		return PP_ENOMEM;
	}
	pp->parts = np;
	np[pp->n_parts].var = var;
	np[pp->n_parts].lit = lit;
	pp->n_parts++;
	return PP_OK;
}

static int add_lit(struct pp_pathpat *pp, const char *s, size_t len)
{
	char *lit = strndup(s, len);

	return lit ? add_part(pp, PP_PV_LIT, lit) : PP_ENOMEM;
}

int pp_pathpat_parse(const char *s, struct pp_pathpat *out, size_t *erroff, char *msg,
		     size_t msgsz)
{
	const char *p = s;

	memset(out, 0, sizeof(*out));
	*erroff = 0;
	while (*p) {
		const char *o = strstr(p, "{{"), *c, *a, *b;
		int var = -1;

		if (!o)
			return add_lit(out, p, strlen(p));
		if (o > p && add_lit(out, p, (size_t)(o - p)))
			return PP_ENOMEM;
		c = strstr(o + 2, "}}");
		if (!c) {
			*erroff = (size_t)(o - s);
			snprintf(msg, msgsz, "unterminated '{{'");
			return PP_EINVAL;
		}
		for (a = o + 2; a < c && *a == ' '; a++)
			;
		for (b = c; b > a && b[-1] == ' '; b--)
			;
		for (int v = PP_PV_MAC; v <= PP_PV_VERSION; v++)
			if ((size_t)(b - a) == strlen(pvar_names[v]) &&
			    memcmp(a, pvar_names[v], (size_t)(b - a)) == 0)
				var = v;
		if (var < 0) {
			*erroff = (size_t)(o - s);
			snprintf(msg, msgsz, "unknown variable '%.*s' (mac, MAC, mac_colon, model, "
				 "vendor, version)", (int)(b - a), a);
			return PP_EINVAL;
		}
		if (add_part(out, var, NULL))
			return PP_ENOMEM;
		if (var <= PP_PV_MAC_COLON)
			out->per_mac = true;
		p = c + 2;
	}
	return PP_OK;
}

void pp_pathpat_free(struct pp_pathpat *pp)
{
	for (size_t k = 0; k < pp->n_parts; k++)
		free(pp->parts[k].lit);
	free(pp->parts);
	pcre2_code_free(pp->match);
	memset(pp, 0, sizeof(*pp));
}

bool pp_pathpat_literal(const struct pp_pathpat *pp)
{
	return pp->n_parts == 1 && pp->parts[0].var == PP_PV_LIT;
}

int pp_pathpat_expand(const struct pp_pathpat *pp, const struct pp_devinfo *di, char *out,
		      size_t outsz)
{
	const char *mac = di->f[PP_F_MAC];
	struct pp_buf b = { 0 };
	const char *reason;
	int rc;

	for (size_t i = 0; i < pp->n_parts; i++) {
		const struct pp_ppart *pt = &pp->parts[i];

		switch (pt->var) {
		case PP_PV_LIT:
			pp_buf_puts(&b, pt->lit);
			break;
		case PP_PV_MAC:
		case PP_PV_MAC_UP:
			for (size_t k = 0; mac[k]; k++)
				if (mac[k] != ':')
					pp_buf_putc(&b, pt->var == PP_PV_MAC ? mac[k] :
						    (char)toupper((unsigned char)mac[k]));
			break;
		case PP_PV_MAC_COLON:
			pp_buf_puts(&b, mac);
			break;
		case PP_PV_MODEL:
			pp_buf_puts(&b, di->f[PP_F_MODEL]);
			break;
		case PP_PV_VENDOR:
			pp_buf_puts(&b, di->f[PP_F_VENDOR]);
			break;
		case PP_PV_VERSION:
			pp_buf_puts(&b, di->f[PP_F_VERSION]);
			break;
		}
	}
	if (!b.data)
		return PP_ENOMEM;
	rc = pp_path_normalize(b.data, b.len, out, outsz, &reason) ? PP_EINVAL : PP_OK;
	pp_buf_free(&b);
	return rc;
}

int pp_pathpat_compile(struct pp_pathpat *pp, bool jit)
{
	struct pp_buf b = { 0 };
	PCRE2_SIZE off;
	int ec;

	pp_buf_puts(&b, "^");
	for (size_t i = 0; i < pp->n_parts; i++) {
		const struct pp_ppart *pt = &pp->parts[i];

		switch (pt->var) {
		case PP_PV_LIT:
			for (const char *c = pt->lit; *c; c++) {
				if (!isalnum((unsigned char)*c) && !((unsigned char)*c & 0x80))
					pp_buf_putc(&b, '\\');
				pp_buf_putc(&b, *c);
			}
			break;
		case PP_PV_MAC:
		case PP_PV_MAC_UP:
			pp_buf_puts(&b, "(?<mac>[0-9a-f]{12})");
			break;
		case PP_PV_MAC_COLON:
			pp_buf_puts(&b, "(?<mac>[0-9a-f]{2}(?::[0-9a-f]{2}){5})");
			break;
		default:
			pp_buf_puts(&b, "[^/]+");
		}
	}
	pp_buf_puts(&b, "$");
	if (!b.data)
		return PP_ENOMEM;
	pp->match = pcre2_compile((PCRE2_SPTR)b.data, b.len,
				  PCRE2_CASELESS | PCRE2_DUPNAMES | PCRE2_UTF |
				  PCRE2_MATCH_INVALID_UTF, &ec, &off, NULL);
	pp_buf_free(&b);
	if (!pp->match)
		return PP_EINVAL;
	if (jit)
		(void)pcre2_jit_compile(pp->match, PCRE2_JIT_COMPLETE);
	return PP_OK;
}

bool pp_pathpat_match(const struct pp_pathpat *pp, const char *path, size_t len, char mac[18])
{
	pcre2_match_data *md = pp_ex_match_data();
	PCRE2_UCHAR buf[40];
	PCRE2_SIZE bl = sizeof(buf);

	mac[0] = '\0';
	if (!pp->match || !md ||
	    pcre2_match(pp->match, (PCRE2_SPTR)path, len, 0, 0, md, NULL) < 0)
		return false;
	if (pcre2_substring_copy_byname(md, (PCRE2_SPTR) "mac", buf, &bl) != 0)
		return true; /* the pattern has no MAC */
	/* A name whose MAC is all-zero or broadcast is no device's file (Polycom's
	 * master 000000000000.cfg has the shape of <mac>.cfg): no match. */
	if (pp_mac_normalize((const char *)buf, bl, mac) != PP_OK || !pp_mac_is_device(mac)) {
		mac[0] = '\0';
		return false;
	}
	return true;
}
