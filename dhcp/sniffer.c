/* STUB: replaced by the sniffer module. */
#include "../daemon/daemon.h"
int pp_sniffer_start(struct pp_daemon *d, struct pp_sniffer **out, struct pp_err *err)
{
	(void)d; (void)err;
	*out = NULL;
	return PP_OK;
}
void pp_sniffer_stop(struct pp_sniffer *x) { (void)x; }
