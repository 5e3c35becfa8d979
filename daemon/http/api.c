/* STUB: replaced by the api module. */
#include "../daemon.h"
int pp_api_start(struct pp_daemon *d, struct pp_api **out, struct pp_err *err)
{
	(void)d; (void)err;
	*out = NULL;
	return PP_OK;
}
void pp_api_stop(struct pp_api *x) { (void)x; }
