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
#include "lib/common.h"

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
/* Copy len bytes of a field learnt from the network (or a device record)
 * into dst (dstsz bytes, NUL-terminated): control bytes and bytes that are
 * not UTF-8 become '?', and a value too long is cut before a character,
 * never inside one, so the result is always valid UTF-8. Returns its length. */
size_t pp_field_copy(char *dst, size_t dstsz, const char *val, size_t len);

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

/* Facts a DHCP packet gives about a client (strings NUL-terminated, "" when
 * absent): the input of identification for the DHCP sources. */
struct pp_dhcp_facts {
	char mac[18];          /* chaddr, normalised; "" unless an Ethernet device MAC */
	char ip[46];           /* yiaddr of an ACK, else ciaddr, else "" */
	int msg_type;          /* option 53 */
	int bound;             /* 1 for an ACK that binds ip to mac */
	/* option 60 as sent (instances concatenated, RFC 3396; cut at 255 bytes):
	 * what the extract rules match (binary RFC 3925 vendor classes, a
	 * terminating NUL) */
	unsigned char vendor_class_raw[255];
	size_t vendor_class_len;
	/* the same as text for logs and JSON: one trailing NUL dropped, printable
	 * ASCII as is, '\\' doubled, any other byte as \xNN */
	char vendor_class[1024];
	char hostname[256];    /* option 12 */
	char client_id[520];   /* option 61, hex */
	char user_class[256];  /* option 77 */
	char requested_ip[46]; /* option 50 */
	char server_id[46];    /* option 54 */
	char param_list[768];  /* option 55, comma-separated codes */
	char relay_info[520];  /* option 82, hex */
	unsigned vlan;         /* 802.1Q VLAN id, 0 = untagged */
};

const char *pp_src_name(int src);
int pp_src_parse(const char *name); /* -1 when unknown */
const char *pp_field_name(int field);
int pp_field_parse(const char *name); /* -1 when unknown */

void pp_devinfo_init(struct pp_devinfo *di);
/* Set a field when it is still empty, normalising it (MAC to aa:bb:..,
 * version 1_4_0_0 to 1.4.0.0, trimmed). Returns 1 when set, 0 when the
 * field was already known or the value is empty/invalid (a bad MAC, or the
 * all-zero / broadcast MAC, which is never a device). */
int pp_devinfo_offer(struct pp_devinfo *di, int field, const char *val, size_t len, int src,
		     const char *plugin);

/* In-place version normalisation: trims blanks, '_' and '-' between digits
 * become '.', a leading "v"/"V" before a digit is dropped. */
void pp_version_normalize(char *s);

/* Compile a rule. The regex works on bytes (no UTF-8 decoding unless it
 * starts with (*UTF)): `.` and \xNN match one byte of what the phone sent.
 * set[f] (may be NULL) are constants given when the rule matches. On a regex error returns PP_EINVAL with *erroff the offset of the
 * problem in the pattern and msg the PCRE2 message. */
#define PP_EX_NO_JIT 1u /* flags: skip JIT compilation (one-shot tools) */
int pp_ex_rule_new(int src, const char *regex, size_t len, bool caseless, unsigned flags,
		   const char *const set[PP_F_N], struct pp_ex_rule **out, size_t *erroff,
		   char *msg, size_t msgsz);
void pp_ex_rule_free(struct pp_ex_rule *r);
int pp_ex_rule_src(const struct pp_ex_rule *r);
/* The vendor this rule gives through `set` ("" when none). */
const char *pp_ex_rule_vendor(const struct pp_ex_rule *r);

/* What one rule's match gives: per field the bytes (in the input or the
 * rule's constants, valid while both live) or len 0. */
struct pp_ex_hit {
	const char *val[PP_F_N];
	size_t len[PP_F_N];
};
/* Match one rule: 1 with hit filled, 0 when it does not match, <0 on an
 * error (PP_ENOMEM). */
int pp_ex_rule_match(const struct pp_ex_rule *r, const struct pp_ex_input *in,
		     struct pp_ex_hit *hit);
/* Does the vendor value val/len (blanks around ignored) name another vendor
 * than v (case-insensitively)? 0 when either is empty. */
int pp_ex_vendor_conflict(const char *val, size_t len, const char *v);

/* Apply one rule on its own. Fields are offered in order vendor, model,
 * version, mac, serial with pp_devinfo_offer. A rule naming another vendor
 * (case-insensitively) than the one already known gives nothing. Returns 1
 * when the regex matched, 0 when not, <0 on an error (PP_ENOMEM). Whole
 * requests go through pp_ex_identify (identify.h), which also knows the
 * vendor of each rule's plugin. */
int pp_ex_rule_apply(const struct pp_ex_rule *r, const struct pp_ex_input *in,
		     struct pp_devinfo *di, const char *plugin);

/* This thread's PCRE2 match data (pcre2_match_data *, 64 pairs), never freed
 * by the caller. NULL when out of memory. */
void *pp_ex_match_data(void);

/* JSON-ish one-line rendering for logs: vendor=.. model=.. (buf, n). */
const char *pp_devinfo_str(const struct pp_devinfo *di, char *buf, size_t n);

#endif
