/* STUB: the config loader (issue 2) replaces this file. */
#include "config.h"
#include <stdlib.h>
int pp_config_load(const char *path, struct pp_config **out, struct pp_err *err)
{
	*out = NULL;
	pp_err_set(err, "%s: config loader not implemented", path);
	return PP_ENOTSUP;
}
struct pp_config *pp_config_defaults(const char *base_dir)
{
	(void)base_dir;
	return NULL;
}
void pp_config_free(struct pp_config *cfg)
{
	free(cfg);
}
