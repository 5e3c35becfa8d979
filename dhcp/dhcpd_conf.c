/* STUB: dhcpd config generation (issue 7) replaces this file. */
#include "dhcp.h"
int pp_dhcpd_conf(const struct pp_registry *reg, const struct pp_config *cfg,
		  enum pp_dhcpd_format fmt, struct pp_buf *out, struct pp_err *err)
{
	(void)reg; (void)cfg; (void)fmt; (void)out;
	pp_err_set(err, "dhcpd config generation not implemented");
	return PP_ENOTSUP;
}
