/* STUB: the plugin registry (issue 6) replaces this file. */
#include "registry.h"
int pp_registry_load(const struct pp_config *cfg, struct pp_registry **out, struct pp_err *err)
{
	(void)cfg; (void)err;
	*out = NULL;
	return PP_OK;
}
void pp_registry_free(struct pp_registry *r) { (void)r; }
size_t pp_registry_count(const struct pp_registry *r) { (void)r; return 0; }
const struct pp_plugin *pp_registry_at(const struct pp_registry *r, size_t i) { (void)r; (void)i; return NULL; }
const struct pp_plugin *pp_registry_find(const struct pp_registry *r, const char *name) { (void)r; (void)name; return NULL; }
