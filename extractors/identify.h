/* Identification: the request -> device facts step of DESIGN §1. Every
 * enabled plugin's rules, applied in precedence order (source, then plugin
 * order, then rule order; see docs/plugins.md), then, as a last resort for
 * the MAC, the file-name patterns of per-device files.
 *
 * A set is built once per registry (pp_ex_set_add_* then pp_ex_set_finish)
 * and is immutable afterwards. It borrows the rules and patterns it is given:
 * they must outlive it. */
#ifndef PP_IDENTIFY_H
#define PP_IDENTIFY_H

#include "extractors/extract.h"
#include "extractors/pathpat.h"

struct pp_ex_set;

struct pp_ex_set *pp_ex_set_new(void);
void pp_ex_set_free(struct pp_ex_set *s);
/* owner: the plugin's name, owner_vendor its vendor (both borrowed: they
 * must outlive the set); owner_idx/rule_idx: the plugin's position and the
 * rule's position in it (precedence ties). A rule that gives no vendor of its
 * own stands for owner_vendor. */
int pp_ex_set_add_rule(struct pp_ex_set *s, const struct pp_ex_rule *r, const char *owner,
		       const char *owner_vendor, size_t owner_idx, size_t rule_idx);
/* A per-device file-name pattern (compiled), tried in the order added. */
int pp_ex_set_add_path(struct pp_ex_set *s, const struct pp_pathpat *pp, const char *owner);
/* Sort the rules into precedence order. */
void pp_ex_set_finish(struct pp_ex_set *s);

/* What the request tells about the device. The rules that match are taken
 * in precedence order; the request's vendor is the first one a rule gives
 * (else the vendor of the plugin whose rule matched first), and a rule that
 * stands for another vendor (the one it gives, else its plugin's) adds
 * nothing. Each field is then the first value offered. Option 60 is matched
 * without one trailing NUL (the terminator some phones send); other bytes are
 * matched as sent. */
void pp_ex_identify(const struct pp_ex_set *s, const struct pp_ex_input *in,
		    struct pp_devinfo *di);

/* The input strings of a DHCP observation (options 60 as sent, 12, 61, 77). */
void pp_ex_input_dhcp(const struct pp_dhcp_facts *f, struct pp_ex_input *in);

#endif
