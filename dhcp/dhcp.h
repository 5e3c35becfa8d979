/* DHCP: packet parser (used by the sniffer and import-pcap) and generation of
 * dhcpd configuration from the plugins' dhcp classes. */
#ifndef PP_DHCP_H
#define PP_DHCP_H

#include <stddef.h>
#include <stdint.h>
#include "lib/common.h"
#include "daemon/provision/provision.h"
#include "daemon/plugin/snapshot.h"

struct pp_registry;

/* Parse one captured frame of the given pcap link type (DLT_EN10MB with or
 * without 802.1Q, DLT_RAW, DLT_LINUX_SLL). Returns PP_OK with out filled,
 * PP_ENOENT when the frame is not DHCP, PP_EINVAL when it is malformed. */
int pp_dhcp_parse_frame(const uint8_t *frame, size_t len, int linktype, struct pp_dhcp_facts *out);
/* Parse a BOOTP/DHCP payload (UDP payload). */
int pp_dhcp_parse(const uint8_t *p, size_t len, struct pp_dhcp_facts *out);

/* pcap link types the parser reads (values of libpcap's DLT_* on Linux). */
enum {
	PP_DLT_EN10MB = 1,       /* Ethernet, optionally 802.1Q / QinQ tagged */
	PP_DLT_RAW_BSD = 14,     /* raw IPv4 (DLT_RAW on OpenBSD) */
	PP_DLT_RAW = 12,         /* raw IP */
	PP_LINKTYPE_RAW = 101,   /* raw IP as written in capture files */
	PP_DLT_LINUX_SLL = 113,  /* Linux cooked capture (the "any" device) */
	PP_DLT_IPV4 = 228,
	PP_DLT_LINUX_SLL2 = 276,
};
int pp_dhcp_linktype_supported(int linktype);
/* "discover", "ack", ... for option 53 values ("none" for 0). */
const char *pp_dhcp_msg_name(int type);
void pp_dhcp_fmt_mac(const uint8_t m[6], char out[18]);
/* Log f as one debug line of the given event (mac, ip, vci, ...). */
void pp_dhcp_log_facts(const struct pp_dhcp_facts *f, const char *event);

/* The sniffer (live interface or capture file from the snapshot's
 * dhcp_sniffer settings) feeding every DHCP packet to prov. _start opens the
 * capture (the step that needs CAP_NET_RAW), _run starts its thread.
 * Switched off by config: PP_OK with *out = NULL. */
struct pp_sniffer;
int pp_sniffer_start(struct pp_snaps *snaps, struct pp_prov *prov, struct pp_sniffer **out,
		     struct pp_err *err);
int pp_sniffer_run(struct pp_sniffer *x, struct pp_err *err);
void pp_sniffer_stop(struct pp_sniffer *s);

enum pp_dhcpd_format { PP_DHCPD_ISC = 0, PP_DHCPD_KEA = 1 };
/* Generate dhcpd configuration for the registry's dhcp classes. */
int pp_dhcpd_conf(const struct pp_registry *reg, const struct pp_config *cfg,
		  enum pp_dhcpd_format fmt, struct pp_buf *out, struct pp_err *err);

/* Overrides for the generated configuration (NULL / 0 = from cfg). */
struct pp_dhcpd_opts {
	const char *tftp_server; /* next-server / option 66 address (IPv4) */
	const char *http_host;   /* {{http_host}} in boot URLs */
	unsigned http_port;      /* {{http_port}} in boot URLs */
	const char *subnet;      /* "192.0.2.0/24": emit a complete subnet with a pool */
	const char *range_lo, *range_hi; /* pool range inside subnet */
	const char *router;      /* option routers for the subnet */
};
int pp_dhcpd_conf_ex(const struct pp_registry *reg, const struct pp_config *cfg,
		     enum pp_dhcpd_format fmt, const struct pp_dhcpd_opts *o, struct pp_buf *out,
		     struct pp_err *err);

#endif
