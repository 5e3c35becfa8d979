/* Hooks modules the daemon must refuse, built twice (see meson.build):
 * -DBAD_ABI: a descriptor from a future, incompatible ABI;
 * -DBAD_SIZE: a descriptor claiming fewer bytes than abi + size. */
#include "daemon/plugin/hooks.h"

static int h_init(const json_t *settings, void **state)
{
	(void)settings;
	*state = 0;
	return 0;
}

const struct pp_plugin_hooks pp_plugin_hooks = {
#ifdef BAD_ABI
	.abi = PP_HOOKS_ABI + 41,
	.size = sizeof(struct pp_plugin_hooks),
#else
	.abi = PP_HOOKS_ABI,
	.size = 4,
#endif
	.init = h_init,
};
