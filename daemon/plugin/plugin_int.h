/* Registry internals shared by the pipeline, the CLI commands, tests and
 * benchmarks: plugin private data, identification and association. */
#ifndef PP_REGISTRY_ENGINE_H
#define PP_REGISTRY_ENGINE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stdint.h>
#include "plugin.h"
#include "extractors/extract.h"
#include "extractors/identify.h"
#include "extractors/pathpat.h"
#include "lib/mustache.h"


struct pp_model {
	char *name;
	char **aliases;
	size_t n_aliases;
	char *firmware_version;   /* NULL when absent */
	json_t *json;             /* the model's entry (with "name" added) */
};

struct pp_file_spec {
	char *path;                  /* the pattern as written */
	struct pp_pathpat pat;       /* parsed; compiled for per-device files */
	char *tpl_name;
	const struct mst_tpl *tpl;
	char **model_names;          /* model_templates: canonical model -> template */
	char **model_tpl_names;
	const struct mst_tpl **model_tpls;
	size_t n_model_tpls;
	enum mst_escape esc;
	bool sensitive, trigger, common;
	unsigned char *common_data;  /* scope common: rendered at load */
	size_t common_len;
};

struct pp_tpl_ent {
	char *name;                  /* file name in templates/, e.g. "mac.cfg.mustache" */
	struct mst_tpl *tpl;
};

struct pp_hooks; /* jobs.c */
struct pp_mon_set; /* monitor_int.h: call-record monitor definitions (issue 17) */

struct pp_plugin_priv {
	struct pp_model *models;
	size_t n_models;
	struct pp_ex_rule **rules;
	size_t n_rules;
	struct pp_file_spec *files;
	size_t n_files;
	struct pp_tpl_ent *tpls;
	size_t n_tpls;
	json_t *autoprov;            /* object */
	json_t *settings;            /* object: plugins.settings.<name> */
	json_t *plugin_data;         /* what templates see as `plugin` */
	unsigned ver[8];             /* parsed version */
	size_t n_ver;
	uint64_t hash;               /* of plugin.yml, templates and settings */
	struct pp_hooks *hooks;      /* NULL without hooks.so */
	struct pp_mon_set *monitors; /* plugin.yml `monitors:` (never NULL once loaded) */
	struct pp_ptypes *ptypes;    /* plugin.yml `phone_types:` (phonetypes.c) */
	size_t index;                /* position in the registry */
};

static inline struct pp_plugin_priv *pp_priv(const struct pp_plugin *p)
{
	return (struct pp_plugin_priv *)p->priv;
}




/* Score one plugin (hooks may override). *model gets the matched model. */
int pp_plugin_score(const struct pp_plugin *p, const struct pp_devinfo *di,
		    const struct pp_model **model);
/* -1, 0, 1 comparing dotted numeric versions. */
int pp_version_cmp(const char *a, const char *b);

const struct pp_model *pp_plugin_model(const struct pp_plugin *p, const char *name);
/* The template used for a file and a model (model_templates, else template). */
const struct mst_tpl *pp_file_template(const struct pp_file_spec *fs, const char *model,
				       const char **name);
/* Expand a path pattern for a device. Returns PP_OK or PP_EINVAL (unsafe result). */
int pp_file_path(const struct pp_file_spec *fs, const struct pp_devinfo *di, char *out,
		 size_t outsz);
/* Does a normalised request path name a per-device file of some plugin?
 * Returns the spec (and its plugin) or NULL; the MAC in the name (if any) is
 * normalised into mac (18 bytes). */
const struct pp_file_spec *pp_registry_match_path(const struct pp_registry *r, const char *path,
						  const struct pp_plugin **plugin, char mac[18]);
/* A common file by exact path (NULL when none). */
const struct pp_file_spec *pp_registry_common(const struct pp_registry *r, const char *path,
					      const struct pp_plugin **plugin);
/* plugin.yml `dhcp:` into p->dhcp / p->dhcp_vendor (dhcpspec.c); models
 * must be loaded first. FILE:LINE:COL errors. */
struct pp_ynode;
int pp_dhcp_spec_load(struct pp_plugin *p, const struct pp_ynode *n, struct pp_err *err);
void pp_dhcp_spec_free(struct pp_plugin *p);
/* Partial/parent lookup for mst_render (ud = the plugin). */
const struct mst_tpl *pp_plugin_tpl_lookup(void *ud, const char *name, size_t len);



#endif
