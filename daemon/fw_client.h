/* Firmware operations of phoneprovd, each run in a child process
 * (`phoneprov firmware --worker ...`): the daemon neither links libcurl nor
 * libarchive nor parses a downloaded archive itself. Same arguments and
 * results as firmware/firmware.h's pp_fw_* (that module is the worker). */
#ifndef PP_FW_CLIENT_H
#define PP_FW_CLIENT_H

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

#include "firmware/firmware.h"

int pp_fwc_list(const struct pp_config *cfg, const char *plugin, json_t **out,
		struct pp_err *err);
int pp_fwc_install(const struct pp_config *cfg, const char *plugin, const char *pkg,
		   struct pp_err *err);
int pp_fwc_uninstall(const struct pp_config *cfg, const char *plugin, const char *pkg,
		     struct pp_err *err);
/* The worker process of one running operation (api_ops.c): pid is set while
 * the child runs (0 before and once its answer is read), so that a stopping
 * daemon can signal it. */
struct pp_fwc_child {
	pthread_mutex_t lock;
	pid_t pid;
};
/* pp_fwc_install / pp_fwc_uninstall recording the worker's pid in *child. */
int pp_fwc_package_op(const struct pp_config *cfg, bool install, const char *plugin,
		      const char *pkg, struct pp_fwc_child *child, struct pp_err *err);
/* Send sig to the child if one runs. */
void pp_fwc_child_kill(struct pp_fwc_child *child, int sig);
int pp_fwc_verify(const struct pp_config *cfg, json_t **out, struct pp_err *err);

#endif
