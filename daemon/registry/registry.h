/* The plugin registry: every enabled plugin loaded from plugins.dir, one
 * instance each, immutable once built (SIGHUP builds a new one). */
#ifndef PP_REGISTRY_H
#define PP_REGISTRY_H

#include <jansson.h>
#include "../common.h"
#include "../config.h"

/* A plugin.yml `dhcp:` class. */
struct pp_dhcp_class {
	char *name;        /* class name, e.g. "yealink" */
	char *vci_prefix;  /* option-60 prefix to match, e.g. "yealink" */
	char *boot_file;   /* TFTP boot file name / path (may be NULL) */
	char *boot_url;    /* HTTP provisioning URL (option 66/160/…) (may be NULL) */
};

struct pp_plugin {
	char *name, *version, *description, *vendor;
	char *dir;         /* absolute plugin folder */
	json_t *meta;      /* the whole plugin.yml as JSON (for the API / CLI) */
	struct pp_dhcp_class *dhcp;
	size_t n_dhcp;
	void *priv;        /* registry-private: rules, templates, hooks */
};

struct pp_registry;

/* Load the enabled plugins. Plugins that fail validation make the load fail
 * with "FILE:LINE:COL: what" in err. */
int pp_registry_load(const struct pp_config *cfg, struct pp_registry **out, struct pp_err *err);
void pp_registry_free(struct pp_registry *r);
size_t pp_registry_count(const struct pp_registry *r);
const struct pp_plugin *pp_registry_at(const struct pp_registry *r, size_t i);
const struct pp_plugin *pp_registry_find(const struct pp_registry *r, const char *name);

#endif
