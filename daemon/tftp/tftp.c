/* STUB: replaced by the tftp module. */
#include "../daemon.h"
int pp_tftp_start(struct pp_daemon *d, struct pp_tftp **out, struct pp_err *err)
{
	(void)d; (void)err;
	*out = NULL;
	return PP_OK;
}
void pp_tftp_stop(struct pp_tftp *x) { (void)x; }
