/* Declarative extractors (issue 6): PCRE2 (JIT) rules with named groups
 * vendor/model/version/mac/serial over the identification strings a phone
 * sends (DHCP options, HTTP path and User-Agent, TFTP file name).
 *
 * A rule is compiled once (at plugin load) and is immutable afterwards; any
 * number of threads may apply rules at the same time. Matching allocates
 * nothing: each thread keeps one PCRE2 match-data block of its own. */
#ifndef PP_EXTRACT_H
#define PP_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include "daemon/common.h"

/* Sources, in precedence order: when two rules give the same field, the one
 * over the earlier source wins (see docs/plugins.md, "Precedence"). */
enum pp_src {
	PP_SRC_DHCP_VCI = 0,     /* dhcp.vendor_class (option 60) */
	PP_SRC_HTTP_UA,          /* http.user_agent */
	PP_SRC_DHCP_USER_CLASS,  /* dhcp.user_class (option 77) */
	PP_SRC_DHCP_HOSTNAME,    /* dhcp.hostname (option 12) */
	PP_SRC_DHCP_CLIENT_ID,   /* dhcp.client_id (option 61, hex) */
	PP_SRC_HTTP_PATH,        /* http.path */
	PP_SRC_TFTP_FILE,        /* tftp.filename */
	PP_SRC_N
};

enum pp_field { PP_F_VENDOR = 0, PP_F_MODEL, PP_F_VERSION, PP_F_MAC, PP_F_SERIAL, PP_F_N };

#define PP_FIELD_LEN 64      /* longer values are truncated */
#define PP_SRC_MAXLEN 2048   /* longer inputs are cut before matching */

/* What is known about a device from one request. Empty string = unknown. */
struct pp_devinfo {
	char f[PP_F_N][PP_FIELD_LEN];
	signed char src[PP_F_N];       /* source that gave the field, -1 = none */
	const char *plugin[PP_F_N];    /* plugin whose rule gave it (NULL = none) */
};

/* The strings of one request; NULL (or len 0) = absent. */
struct pp_ex_input {
	const char *s[PP_SRC_N];
	size_t len[PP_SRC_N];
};

struct pp_ex_rule;

const char *pp_src_name(int src);
int pp_src_parse(const char *name); /* -1 when unknown */
const char *pp_field_name(int field);
int pp_field_parse(const char *name); /* -1 when unknown */

void pp_devinfo_init(struct pp_devinfo *di);
/* Set a field when it is still empty, normalising it (MAC to aa:bb:..,
 * version 1_4_0_0 to 1.4.0.0, trimmed). Returns 1 when set, 0 when the
 * field was already known or the value is empty/invalid (a bad MAC). */
int pp_devinfo_offer(struct pp_devinfo *di, int field, const char *val, size_t len, int src,
		     const char *plugin);

/* In-place version normalisation: trims blanks, '_' and '-' between digits
 * become '.', a leading "v"/"V" before a digit is dropped. */
void pp_version_normalize(char *s);

/* Compile a rule. set[f] (may be NULL) are constants given when the rule
 * matches. On a regex error returns PP_EINVAL with *erroff the offset of the
 * problem in the pattern and msg the PCRE2 message. */
#define PP_EX_NO_JIT 1u /* flags: skip JIT compilation (one-shot tools) */
int pp_ex_rule_new(int src, const char *regex, size_t len, bool caseless, unsigned flags,
		   const char *const set[PP_F_N], struct pp_ex_rule **out, size_t *erroff,
		   char *msg, size_t msgsz);
void pp_ex_rule_free(struct pp_ex_rule *r);
int pp_ex_rule_src(const struct pp_ex_rule *r);
/* The vendor this rule gives through `set` ("" when none). */
const char *pp_ex_rule_vendor(const struct pp_ex_rule *r);

/* Apply one rule. Fields are offered in order vendor, model, version, mac,
 * serial with pp_devinfo_offer. If the rule yields a vendor that differs
 * (case-insensitively) from the vendor already known, it contributes only
 * its mac. Returns 1 when the regex matched, 0 when not, <0 on an error
 * (PP_ENOMEM). */
int pp_ex_rule_apply(const struct pp_ex_rule *r, const struct pp_ex_input *in,
		     struct pp_devinfo *di, const char *plugin);

/* This thread's PCRE2 match data (pcre2_match_data *, 64 pairs), never freed
 * by the caller. NULL when out of memory. */
void *pp_ex_match_data(void);

/* JSON-ish one-line rendering for logs: vendor=.. model=.. (buf, n). */
const char *pp_devinfo_str(const struct pp_devinfo *di, char *buf, size_t n);

#endif
