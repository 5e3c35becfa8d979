/* The schema of a config's raw_config (rawschema.c): the keys of Wazo
 * provd's raw_config (docs/config-keys.md) plus phoneprov's own (codecs,
 * contacts, tftp_server), as one table. Keys starting with X_ are kept as
 * they are. Pure: no I/O, no store. */
#ifndef PP_RAWSCHEMA_H
#define PP_RAWSCHEMA_H

#include <jansson.h>
#include "lib/common.h"

/* Check one raw_config object (as written in one config: no inheritance).
 * PP_OK, or PP_EINVAL with err->field the dotted path from the document root
 * ("raw_config.sip_lines.1.proxy_port"; list items as "funckeys[0].type")
 * and err->msg a sentence that starts with the same path. `root` is the
 * prefix of the path ("raw_config"). */
int pp_rawcfg_check(const json_t *raw, const char *root, struct pp_err *err);

/* One shape for templates: sip_lines, funckeys and sccp_call_managers given
 * in provd's dict shape ({"1": {...}, "2": {...}}) become lists ordered by
 * their number, each item carrying its number ("line" for sip_lines, "index"
 * for funckeys and sccp_call_managers) unless it has one. Lines missing
 * proxy_ip, proxy_port, transport, dtmf_mode or srtp_mode take the global
 * sip_proxy_ip, sip_proxy_port, sip_transport, sip_dtmf_mode, sip_srtp_mode.
 * Changes cfg in place (an effective, merged config). */
void pp_rawcfg_normalise(json_t *cfg);

/* Line 1 of a (merged) raw_config in either shape: the "1" member of a
 * dict, or the list item with line 1 (else the first item). Borrowed; NULL
 * when there is none. */
const json_t *pp_rawcfg_line1(const json_t *cfg);

#endif
