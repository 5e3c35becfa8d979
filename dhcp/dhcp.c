/* STUB: the DHCP parser (issue 7) replaces this file. */
#include "dhcp.h"
int pp_dhcp_parse_frame(const uint8_t *frame, size_t len, int linktype, struct pp_dhcp_facts *out)
{
	(void)frame; (void)len; (void)linktype; (void)out;
	return PP_ENOTSUP;
}
int pp_dhcp_parse(const uint8_t *p, size_t len, struct pp_dhcp_facts *out)
{
	(void)p; (void)len; (void)out;
	return PP_ENOTSUP;
}
