/* STUB: replaced by the http module. */
#include "../daemon.h"
int pp_http_start(struct pp_daemon *d, struct pp_http **out, struct pp_err *err)
{
	(void)d; (void)err;
	*out = NULL;
	return PP_OK;
}
void pp_http_stop(struct pp_http *x) { (void)x; }
