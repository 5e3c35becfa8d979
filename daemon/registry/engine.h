/* Registry internals shared by the pipeline, the CLI commands, tests and
 * benchmarks: plugin private data, identification and association. */
#ifndef PP_REGISTRY_ENGINE_H
#define PP_REGISTRY_ENGINE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdbool.h>
#include <stdint.h>
#include "registry.h"
#include "extractors/extract.h"
#include "../mustache/mustache.h"

enum pp_score { PP_IMPROBABLE = 0, PP_PROBABLE = 1, PP_COMPLETE = 2, PP_EXACT = 3 };
const char *pp_score_name(int score);

struct pp_model {
	char *name;
	char **aliases;
	size_t n_aliases;
	char *firmware_version;   /* NULL when absent */
	json_t *json;             /* the model's entry (with "name" added) */
};

/* A path pattern "Yealink/{{mac}}.cfg" split into literal text and variables. */
enum pp_pvar { PP_PV_LIT = 0, PP_PV_MAC, PP_PV_MAC_UP, PP_PV_MAC_COLON, PP_PV_MODEL,
	       PP_PV_VENDOR, PP_PV_VERSION };
struct pp_ppart {
	int var;        /* enum pp_pvar */
	char *lit;      /* PP_PV_LIT */
};

struct pp_file_spec {
	char *path;                  /* the pattern as written */
	struct pp_ppart *parts;
	size_t n_parts;
	bool per_mac;                /* the pattern has a mac variable */
	pcre2_code *match;           /* anchored regex matching rendered names (mac captured) */
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
	size_t index;                /* position in the registry */
};

static inline struct pp_plugin_priv *pp_priv(const struct pp_plugin *p)
{
	return (struct pp_plugin_priv *)p->priv;
}

/* Load for identification only (phoneprov identify): no JIT, templates are
 * neither compiled nor checked, no common files, no hooks. */
#define PP_REG_IDENTIFY 1u
int pp_registry_load_ex(const struct pp_config *cfg, unsigned flags, struct pp_registry **out,
			struct pp_err *err);

/* Identification: run every enabled plugin's rules in precedence order
 * (source, then plugin order, then rule order), then the file-name patterns
 * of per-device files (mac only). */
void pp_identify(const struct pp_registry *r, const struct pp_ex_input *in,
		 struct pp_devinfo *di);

/* Score one plugin (hooks may override). *model gets the matched model. */
int pp_plugin_score(const struct pp_plugin *p, const struct pp_devinfo *di,
		    const struct pp_model **model);
/* Score every plugin into scores[pp_registry_count(r)]; returns the index of
 * the winner, or -1 when no plugin scores above IMPROBABLE. */
int pp_associate(const struct pp_registry *r, const struct pp_devinfo *di, unsigned char *scores);
/* Same; on a tie, `prefer` (the plugin whose file the phone asked for) wins
 * before plugin version and name. */
int pp_associate_pref(const struct pp_registry *r, const struct pp_devinfo *di,
		      unsigned char *scores, const struct pp_plugin *prefer);
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
/* Partial/parent lookup for mst_render (ud = the plugin). */
const struct mst_tpl *pp_plugin_tpl_lookup(void *ud, const char *name, size_t len);
/* Hash of the whole registry (changes when any plugin or setting changes). */
uint64_t pp_registry_hash(const struct pp_registry *r);

/* FNV-1a 64 */
static inline uint64_t pp_fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= 1099511628211ull;
	}
	return h;
}
#define PP_FNV_INIT 14695981039346656037ull

#endif
