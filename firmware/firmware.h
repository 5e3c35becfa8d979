/* Firmware packages (DESIGN §9): plugins/<name>/pkgs.yml, verified downloads
 * into <data_dir>/cache, safe install steps into the static tree. */
#ifndef PP_FIRMWARE_H
#define PP_FIRMWARE_H

#include <jansson.h>
#include "lib/common.h"
#include "daemon/config/config.h"

struct pp_registry;

/* Progress: called with bytes done / total (total 0 when unknown). */
typedef void (*pp_fw_progress_fn)(void *arg, const char *what, uint64_t done, uint64_t total);

/* JSON array of packages of a plugin (NULL plugin = all): name, plugin,
 * description, version, installed (bool), files. */
int pp_fw_list(const struct pp_config *cfg, const struct pp_registry *reg, const char *plugin,
	       json_t **out, struct pp_err *err);
int pp_fw_install(const struct pp_config *cfg, const struct pp_registry *reg, const char *plugin,
		  const char *pkg, pp_fw_progress_fn progress, void *arg, struct pp_err *err);
int pp_fw_uninstall(const struct pp_config *cfg, const struct pp_registry *reg,
		    const char *plugin, const char *pkg, struct pp_err *err);
/* Re-check installed files against the install record: JSON report. */
int pp_fw_verify(const struct pp_config *cfg, const struct pp_registry *reg, json_t **out,
		 struct pp_err *err);

#endif
