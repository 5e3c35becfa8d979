/* STUB: replaced by the jobs module. */
#include "../daemon.h"
int pp_jobs_start(struct pp_daemon *d, struct pp_jobs **out, struct pp_err *err)
{
	(void)d; (void)err;
	*out = NULL;
	return PP_OK;
}
void pp_jobs_stop(struct pp_jobs *x) { (void)x; }
