/* DHCP: packet parser (used by the sniffer and import-pcap) and generation of
 * dhcpd configuration from the plugins' dhcp classes. */
#ifndef PP_DHCP_H
#define PP_DHCP_H

#include <stddef.h>
#include <stdint.h>
#include "../daemon/common.h"
#include "../daemon/pipeline.h"

struct pp_registry;

/* Parse one captured frame of the given pcap link type (DLT_EN10MB with or
 * without 802.1Q, DLT_RAW, DLT_LINUX_SLL). Returns PP_OK with out filled,
 * PP_ENOENT when the frame is not DHCP, PP_EINVAL when it is malformed. */
int pp_dhcp_parse_frame(const uint8_t *frame, size_t len, int linktype, struct pp_dhcp_facts *out);
/* Parse a BOOTP/DHCP payload (UDP payload). */
int pp_dhcp_parse(const uint8_t *p, size_t len, struct pp_dhcp_facts *out);

enum pp_dhcpd_format { PP_DHCPD_ISC = 0, PP_DHCPD_KEA = 1 };
/* Generate dhcpd configuration for the registry's dhcp classes. */
int pp_dhcpd_conf(const struct pp_registry *reg, const struct pp_config *cfg,
		  enum pp_dhcpd_format fmt, struct pp_buf *out, struct pp_err *err);

#endif
