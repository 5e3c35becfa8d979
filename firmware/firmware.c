/* STUB: firmware packages (issue 8) replace this file. */
#include "firmware.h"
int pp_fw_list(const struct pp_config *cfg, const struct pp_registry *reg, const char *plugin,
	       json_t **out, struct pp_err *err)
{
	(void)cfg; (void)reg; (void)plugin;
	*out = NULL;
	pp_err_set(err, "firmware not implemented");
	return PP_ENOTSUP;
}
int pp_fw_install(const struct pp_config *cfg, const struct pp_registry *reg, const char *plugin,
		  const char *pkg, pp_fw_progress_fn progress, void *arg, struct pp_err *err)
{
	(void)cfg; (void)reg; (void)plugin; (void)pkg; (void)progress; (void)arg;
	pp_err_set(err, "firmware not implemented");
	return PP_ENOTSUP;
}
int pp_fw_uninstall(const struct pp_config *cfg, const struct pp_registry *reg,
		    const char *plugin, const char *pkg, struct pp_err *err)
{
	(void)cfg; (void)reg; (void)plugin; (void)pkg;
	pp_err_set(err, "firmware not implemented");
	return PP_ENOTSUP;
}
int pp_fw_verify(const struct pp_config *cfg, const struct pp_registry *reg, json_t **out,
		 struct pp_err *err)
{
	(void)cfg; (void)reg;
	*out = NULL;
	pp_err_set(err, "firmware not implemented");
	return PP_ENOTSUP;
}
