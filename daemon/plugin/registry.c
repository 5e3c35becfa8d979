/* The plugin registry: loads plugins.dir/<name>/plugin.yml for every enabled
 * plugin with full validation (FILE:LINE:COL errors), compiles extract rules
 * (PCRE2 JIT) and templates once, and stays immutable afterwards. */
#include "plugin_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/safepath.h"
#include "lib/yamltree.h"
#include "hooks_int.h"
#include "phonetypes.h"
#include "monitor_int.h"
#include "render.h"

/* Load flags of the current load (one load per thread at a time). */
static __thread unsigned load_flags;

struct pp_registry {
	struct pp_plugin *plugins;
	size_t n;
	struct pp_ex_set *ids;   /* every rule and per-device file pattern */
	uint64_t hash;
	bool all_types_public;   /* plugins.all_types_public */
};

const char *pp_score_name(int score)
{
	static const char *const names[] = { "IMPROBABLE", "PROBABLE", "COMPLETE", "EXACT" };

	return score >= 0 && score <= PP_EXACT ? names[score] : "?";
}

/* ---- small helpers ------------------------------------------------------ */

/* plugin.yml, templates and hooks settings are bounded like every file read */
#define PLUGIN_FILE_MAX (16u << 20)

static int read_file(const char *path, char **out, size_t *len, struct pp_err *err)
{
	return pp_file_read(path, PLUGIN_FILE_MAX, out, len, err);
}

static bool valid_name(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

static size_t parse_version(const char *s, unsigned *v, size_t max)
{
	size_t n = 0;

	while (*s && n < max) {
		char *end;
		unsigned long x;

		if (!isdigit((unsigned char)*s))
			return 0;
		x = strtoul(s, &end, 10);
		v[n++] = x > 0xffffffffu ? 0xffffffffu : (unsigned)x;
		s = end;
		if (*s == '.')
			s++;
		else if (*s)
			return 0;
	}
	return *s ? 0 : n;
}

int pp_version_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		unsigned long x = strtoul(a, (char **)&a, 10), y = strtoul(b, (char **)&b, 10);

		if (x != y)
			return x < y ? -1 : 1;
		while (*a && !isdigit((unsigned char)*a))
			a++;
		while (*b && !isdigit((unsigned char)*b))
			b++;
	}
	return 0;
}

static int str_at(const struct pp_ynode *map, const char *key, const char *what, bool required,
		  const char **out, struct pp_err *err)
{
	struct pp_ynode *n = pp_ymap_get(map, key);

	*out = NULL;
	if (!n) {
		if (!required)
			return PP_OK;
		pp_y_err(err, map, "%s: missing required key '%s'", what, key);
		return PP_EINVAL;
	}
	return pp_y_str(n, key, out, err);
}

static int bool_at(const struct pp_ynode *map, const char *key, bool def, bool *out,
		   struct pp_err *err)
{
	struct pp_ynode *n = pp_ymap_get(map, key);

	*out = def;
	return n ? pp_y_bool(n, key, out, err) : PP_OK;
}

static int int_at(const struct pp_ynode *map, const char *key, long long min, long long max,
		  struct pp_err *err)
{
	struct pp_ynode *n = pp_ymap_get(map, key);
	long long v;

	return n ? pp_y_int(n, key, min, max, &v, err) : PP_OK;
}

static int str_list(const struct pp_ynode *n, const char *what, char ***out, size_t *cnt,
		    struct pp_err *err)
{
	const char *s;

	*out = NULL;
	*cnt = 0;
	if (pp_y_expect(n, PP_Y_SEQ, what, err))
		return PP_EINVAL;
	if (n->n == 0)
		return PP_OK;
	*out = calloc(n->n, sizeof(char *));
	if (!*out)
		return PP_ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		if (pp_y_str(n->vals[i], what, &s, err))
			return PP_EINVAL;
		if (!*s) {
			pp_y_err(err, n->vals[i], "%s: empty string", what);
			return PP_EINVAL;
		}
		(*out)[(*cnt)++] = strdup(s);
	}
	return PP_OK;
}

/* Column of byte `off` of a one-line scalar (quotes shift by one). */
static int scalar_col(const struct pp_ynode *n, size_t off)
{
	return n->col + (n->plain ? 0 : 1) + (int)off;
}

/* ---- models ------------------------------------------------------------- */

static const char *const model_keys[] = {
	"aliases", "lines", "function_keys", "expansion_modules", "type", "protocol", "codec",
	"firmware_version", "description", NULL,
};

static int load_model(struct pp_plugin_priv *pv, const struct pp_ynode *key,
		      const struct pp_ynode *val, struct pp_err *err)
{
	struct pp_model *m = &pv->models[pv->n_models];
	const char *s;
	struct pp_ynode *n;

	if (!*key->str) {
		pp_y_err(err, key, "models: empty model name");
		return PP_EINVAL;
	}
	for (size_t i = 0; i < pv->n_models; i++)
		if (strcasecmp(pv->models[i].name, key->str) == 0) {
			pp_y_err(err, key, "models: duplicate model '%s'", key->str);
			return PP_EINVAL;
		}
	if (pp_y_check_keys(val, model_keys, "model", err))
		return PP_EINVAL;
	m->name = strdup(key->str);
	pv->n_models++;
	if ((n = pp_ymap_get(val, "aliases")) &&
	    str_list(n, "aliases", &m->aliases, &m->n_aliases, err))
		return PP_EINVAL;
	if (int_at(val, "lines", 0, 1024, err) || int_at(val, "function_keys", 0, 10000, err) ||
	    int_at(val, "expansion_modules", 0, 64, err))
		return PP_EINVAL;
	if (str_at(val, "type", "model", false, &s, err))
		return PP_EINVAL;
	if (s) {
		static const char *const types[] = { "deskphone", "conference", "dect", "ata",
						     "softphone", "gateway", "video", NULL };
		const char *const *t;

		for (t = types; *t && strcmp(*t, s); t++)
			;
		if (!*t) {
			pp_y_err(err, pp_ymap_get(val, "type"),
				 "type must be one of deskphone, conference, dect, ata, softphone, "
				 "gateway, video; not '%s'", s);
			return PP_EINVAL;
		}
	}
	if (str_at(val, "protocol", "model", false, &s, err) ||
	    str_at(val, "description", "model", false, &s, err))
		return PP_EINVAL;
	if ((n = pp_ymap_get(val, "codec"))) {
		char **l;
		size_t c;
		int rc = str_list(n, "codec", &l, &c, err);

		for (size_t i = 0; i < c; i++)
			free(l[i]);
		free(l);
		if (rc)
			return PP_EINVAL;
	}
	if (str_at(val, "firmware_version", "model", false, &s, err))
		return PP_EINVAL;
	if (s) {
		m->firmware_version = strdup(s);
		pp_version_normalize(m->firmware_version);
	}
	m->json = pp_ynode_to_json(val);
	if (m->json && json_is_object(m->json))
		json_object_set_new(m->json, "name", json_string(m->name));
	return PP_OK;
}

static int load_models(struct pp_plugin_priv *pv, const struct pp_ynode *n, struct pp_err *err)
{
	if (!n)
		return PP_OK;
	if (pp_y_expect(n, PP_Y_MAP, "models", err))
		return PP_EINVAL;
	pv->models = calloc(n->n ? n->n : 1, sizeof(*pv->models));
	if (!pv->models)
		return PP_ENOMEM;
	for (size_t i = 0; i < n->n; i++)
		if (load_model(pv, n->keys[i], n->vals[i], err))
			return PP_EINVAL;
	/* aliases must not collide with another model's name or alias */
	for (size_t i = 0; i < pv->n_models; i++)
		for (size_t a = 0; a < pv->models[i].n_aliases; a++)
			for (size_t j = 0; j < pv->n_models; j++) {
				const struct pp_model *o = &pv->models[j];

				if (j != i && strcasecmp(o->name, pv->models[i].aliases[a]) == 0) {
					pp_y_err(err, n->keys[i],
						 "model '%s': alias '%s' is also a model name",
						 pv->models[i].name, pv->models[i].aliases[a]);
					return PP_EINVAL;
				}
			}
	return PP_OK;
}

const struct pp_model *pp_plugin_model(const struct pp_plugin *p, const char *name)
{
	const struct pp_plugin_priv *pv = pp_priv(p);

	if (!name || !*name)
		return NULL;
	for (size_t i = 0; i < pv->n_models; i++) {
		const struct pp_model *m = &pv->models[i];

		if (strcasecmp(m->name, name) == 0)
			return m;
		for (size_t a = 0; a < m->n_aliases; a++)
			if (strcasecmp(m->aliases[a], name) == 0)
				return m;
	}
	return NULL;
}

/* ---- extract rules ------------------------------------------------------ */

static const char *const rule_keys[] = { "from", "regex", "set", "caseless", NULL };

static int load_rule(struct pp_plugin_priv *pv, const struct pp_ynode *n, struct pp_err *err)
{
	const char *from, *regex, *set[PP_F_N] = { 0 };
	struct pp_ynode *rn, *sn;
	bool caseless;
	char msg[256];
	size_t off;
	int src, rc;

	if (pp_y_check_keys(n, rule_keys, "extract rule", err))
		return PP_EINVAL;
	if (str_at(n, "from", "extract rule", true, &from, err) ||
	    str_at(n, "regex", "extract rule", true, &regex, err) ||
	    bool_at(n, "caseless", false, &caseless, err))
		return PP_EINVAL;
	src = pp_src_parse(from);
	if (src < 0) {
		pp_y_err(err, pp_ymap_get(n, "from"),
			 "from: unknown source '%s' (dhcp.vendor_class, dhcp.hostname, "
			 "dhcp.client_id, dhcp.user_class, http.user_agent, http.path, tftp.filename)",
			 from);
		return PP_EINVAL;
	}
	if ((sn = pp_ymap_get(n, "set"))) {
		if (pp_y_expect(sn, PP_Y_MAP, "set", err))
			return PP_EINVAL;
		for (size_t i = 0; i < sn->n; i++) {
			int f = pp_field_parse(sn->keys[i]->str);

			if (f < 0 || f == PP_F_MAC) {
				pp_y_err(err, sn->keys[i],
					 "set: unknown field '%s' (vendor, model, version, serial)",
					 sn->keys[i]->str);
				return PP_EINVAL;
			}
			if (pp_y_str(sn->vals[i], sn->keys[i]->str, &set[f], err))
				return PP_EINVAL;
		}
	}
	rn = pp_ymap_get(n, "regex");
	rc = pp_ex_rule_new(src, regex, rn->len, caseless,
			    load_flags & PP_REG_IDENTIFY ? PP_EX_NO_JIT : 0, set, &pv->rules[pv->n_rules], &off,
			    msg, sizeof(msg));
	if (rc == PP_EINVAL) {
		pp_err_at(err, rn->file, rn->line, scalar_col(rn, off), "regex: %s", msg);
		return PP_EINVAL;
	}
	if (rc)
		return rc;
	pv->n_rules++;
	/* a rule must give something: a named field group or a constant */
	{
		const struct pp_ex_rule *r = pv->rules[pv->n_rules - 1];
		bool any = false;

		for (int f = 0; f < PP_F_N; f++)
			any = any || set[f];
		if (!any) {
			pcre2_code *re = pcre2_compile((PCRE2_SPTR)regex, rn->len, 0, &rc,
						       (PCRE2_SIZE *)&off, NULL);

			for (int f = 0; re && f < PP_F_N; f++)
				any = any || pcre2_substring_number_from_name(
					re, (PCRE2_SPTR)pp_field_name(f)) > 0;
			pcre2_code_free(re);
		}
		(void)r;
		if (!any) {
			pp_y_err(err, rn, "regex: the rule gives nothing: use a named group "
				 "(?<vendor>…), (?<model>…), (?<version>…), (?<mac>…), (?<serial>…) "
				 "or `set:`");
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

static int load_rules(struct pp_plugin_priv *pv, const struct pp_ynode *n, struct pp_err *err)
{
	if (!n)
		return PP_OK;
	if (pp_y_expect(n, PP_Y_SEQ, "extract", err))
		return PP_EINVAL;
	pv->rules = calloc(n->n ? n->n : 1, sizeof(*pv->rules));
	if (!pv->rules)
		return PP_ENOMEM;
	for (size_t i = 0; i < n->n; i++)
		if (load_rule(pv, n->vals[i], err))
			return PP_EINVAL;
	return PP_OK;
}

/* ---- templates ---------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct tpl_src {
	char *name;
	const char *dir; /* the shipped or the local templates/ folder */
};

static int tpl_src_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tpl_src *)a)->name, ((const struct tpl_src *)b)->name);
}

/* Add dir's *.mustache to the list; a name already there now comes from
 * dir (the local folder is read second and wins). A missing folder holds
 * nothing. */
static int list_tpls(const char *dir, struct tpl_src **v, size_t *n, size_t *cap,
		     struct pp_err *err)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int rc = PP_OK;

	if (!d)
		return errno == ENOENT || errno == ENOTDIR ?
			       PP_OK :
			       (pp_err_set(err, "%s: %s", dir, strerror(errno)), PP_EIO);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name), i;

		if (e->d_name[0] == '.' || l < 10 || strcmp(e->d_name + l - 9, ".mustache"))
			continue;
		for (i = 0; i < *n && strcmp((*v)[i].name, e->d_name); i++)
			;
		if (i < *n) {
			(*v)[i].dir = dir;
			continue;
		}
		if (*n == *cap) {
			struct tpl_src *nv = realloc(*v, (*cap = *cap ? *cap * 2 : 16) * sizeof(**v));

			if (!nv) {
				rc = PP_ENOMEM;
				break;
			}
			*v = nv;
		}
		if (!((*v)[*n].name = strdup(e->d_name))) {
			rc = PP_ENOMEM;
			break;
		}
		(*v)[(*n)++].dir = dir;
	}
	closedir(d);
	return rc;
}

/* The plugin's templates: the *.mustache files of <dir>/templates, where the local
 * folder <plugins.local_dir>/<name>/templates/ (outside the package,
 * kept across upgrades) replaces a template of the same name or adds one. */
static int load_templates(struct pp_plugin *p, const char *local_dir, uint64_t *hash,
			  struct pp_err *err)
{
	struct pp_plugin_priv *pv = pp_priv(p);
	char dir[4096], local[4096], path[8300];
	struct tpl_src *v = NULL;
	size_t n = 0, cap = 0;
	int rc;

	snprintf(dir, sizeof(dir), "%s/templates", p->dir);
	local[0] = '\0';
	if (local_dir && local_dir[0])
		snprintf(local, sizeof(local), "%s/%s/templates", local_dir, p->name);
	rc = list_tpls(dir, &v, &n, &cap, err);
	if (rc == PP_OK && local[0])
		rc = list_tpls(local, &v, &n, &cap, err);
	if (rc == PP_OK && n) {
		qsort(v, n, sizeof(*v), tpl_src_cmp);
		pv->tpls = calloc(n, sizeof(*pv->tpls));
		if (!pv->tpls)
			rc = PP_ENOMEM;
	}
	for (size_t i = 0; rc == PP_OK && i < n; i++) {
		struct mst_error me = { { 0 } };
		char *src;
		size_t len;

		snprintf(path, sizeof(path), "%s/%s", v[i].dir, v[i].name);
		if ((rc = read_file(path, &src, &len, err)))
			break;
		*hash = pp_fnv(*hash, v[i].name, strlen(v[i].name) + 1);
		if (v[i].dir == local) /* a local copy, even an identical one, is news */
			*hash = pp_fnv(*hash, "local", 5);
		*hash = pp_fnv(*hash, src, len);
		rc = mst_compile(path, src, len, &pv->tpls[i].tpl, &me);
		free(src);
		if (rc) {
			pp_err_set(err, "%s", me.msg[0] ? me.msg : "template compile failed");
			rc = rc == PP_ENOTSUP ? PP_ENOTSUP : PP_EINVAL;
			break;
		}
		pv->tpls[i].name = v[i].name;
		v[i].name = NULL;
		pv->n_tpls++;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return rc;
}

static const struct mst_tpl *tpl_find(const struct pp_plugin_priv *pv, const char *name,
				      size_t len)
{
	for (size_t i = 0; i < pv->n_tpls; i++) {
		const char *t = pv->tpls[i].name;
		size_t tl = strlen(t);

		/* "header.mustache" answers to {{> header}} and {{> header.mustache}} */
		if ((tl == len && memcmp(t, name, len) == 0) ||
		    (tl == len + 9 && memcmp(t, name, len) == 0 && strcmp(t + len, ".mustache") == 0))
			return pv->tpls[i].tpl;
	}
	return NULL;
}

const struct mst_tpl *pp_plugin_tpl_lookup(void *ud, const char *name, size_t len)
{
	return tpl_find(pp_priv(ud), name, len);
}

struct ref_check {
	const struct pp_plugin_priv *pv;
	char missing[128];
};

static void ref_cb(void *arg, const char *name, size_t len)
{
	struct ref_check *rc = arg;

	if (!rc->missing[0] && !tpl_find(rc->pv, name, len))
		snprintf(rc->missing, sizeof(rc->missing), "%.*s", (int)(len > 100 ? 100 : len),
			 name);
}

/* Resolve a template file name given in plugin.yml, checking its partials. */
static int resolve_tpl(const struct pp_plugin_priv *pv, const struct pp_ynode *n,
		       const struct mst_tpl **out, struct pp_err *err)
{
	struct ref_check rc = { .pv = pv };
	const char *name;

	if (pp_y_str(n, "template", &name, err))
		return PP_EINVAL;
	if (load_flags & PP_REG_IDENTIFY) {
		*out = NULL;
		return PP_OK;
	}
	if (strchr(name, '/') || !(*out = tpl_find(pv, name, strlen(name)))) {
		pp_y_err(err, n, "template '%s' not found in templates/ (a *.mustache file)", name);
		return PP_EINVAL;
	}
	mst_each_ref(*out, ref_cb, &rc);
	if (rc.missing[0]) {
		pp_y_err(err, n, "template '%s' uses partial '%s' which is not in templates/", name,
			 rc.missing);
		return PP_EINVAL;
	}
	return PP_OK;
}

/* ---- files -------------------------------------------------------------- */

int pp_file_path(const struct pp_file_spec *fs, const struct pp_devinfo *di, char *out,
		 size_t outsz)
{
	return pp_pathpat_expand(&fs->pat, di, out, outsz);
}

static int parse_path(struct pp_file_spec *fs, const struct pp_ynode *n, struct pp_err *err)
{
	char msg[200];
	size_t off;
	int rc = pp_pathpat_parse(fs->path, &fs->pat, &off, msg, sizeof(msg));

	if (rc == PP_EINVAL)
		pp_err_at(err, n->file, n->line, scalar_col(n, off), "path: %s", msg);
	return rc;
}

static const char *const file_keys[] = {
	"path", "template", "model_templates", "escape", "sensitive", "trigger", "scope", NULL,
};

static int load_file(struct pp_plugin *p, const struct pp_ynode *n, bool *have_trigger,
		     struct pp_err *err)
{
	struct pp_plugin_priv *pv = pp_priv(p);
	struct pp_file_spec *fs = &pv->files[pv->n_files];
	const char *path, *esc, *scope;
	struct pp_ynode *pn, *mt;
	struct pp_devinfo dummy;
	char out[PP_PATH_MAX];
	size_t tl;

	if (pp_y_check_keys(n, file_keys, "file", err))
		return PP_EINVAL;
	if (str_at(n, "path", "file", true, &path, err))
		return PP_EINVAL;
	pv->n_files++;
	fs->path = strdup(path);
	pn = pp_ymap_get(n, "path");
	if (parse_path(fs, pn, err))
		return PP_EINVAL;
	pp_devinfo_init(&dummy);
	strcpy(dummy.f[PP_F_MAC], "00:00:00:00:00:00");
	strcpy(dummy.f[PP_F_MODEL], "model");
	strcpy(dummy.f[PP_F_VENDOR], "vendor");
	strcpy(dummy.f[PP_F_VERSION], "1.0");
	if (pp_file_path(fs, &dummy, out, sizeof(out)) != PP_OK) {
		pp_y_err(err, pn, "path: '%s' is not a safe relative path (no '..', '.', "
			 "backslash or control characters)", path);
		return PP_EINVAL;
	}
	if (!pp_ymap_get(n, "template")) {
		pp_y_err(err, n, "file: missing required key 'template'");
		return PP_EINVAL;
	}
	if (resolve_tpl(pv, pp_ymap_get(n, "template"), &fs->tpl, err))
		return PP_EINVAL;
	fs->tpl_name = strdup(pp_ymap_get(n, "template")->str);
	if ((mt = pp_ymap_get(n, "model_templates"))) {
		if (pp_y_expect(mt, PP_Y_MAP, "model_templates", err))
			return PP_EINVAL;
		fs->model_names = calloc(mt->n + 1, sizeof(char *));
		fs->model_tpls = calloc(mt->n + 1, sizeof(*fs->model_tpls));
		fs->model_tpl_names = calloc(mt->n + 1, sizeof(char *));
		if (!fs->model_names || !fs->model_tpls || !fs->model_tpl_names)
			return PP_ENOMEM;
		for (size_t i = 0; i < mt->n; i++) {
			const struct pp_model *m = pp_plugin_model(p, mt->keys[i]->str);

			if (!m) {
				pp_y_err(err, mt->keys[i], "model_templates: unknown model '%s' "
					 "(not in models:)", mt->keys[i]->str);
				return PP_EINVAL;
			}
			if (resolve_tpl(pv, mt->vals[i], &fs->model_tpls[i], err))
				return PP_EINVAL;
			fs->model_names[i] = strdup(m->name);
			fs->model_tpl_names[i] = strdup(mt->vals[i]->str);
			fs->n_model_tpls++;
		}
	}
	if (str_at(n, "escape", "file", false, &esc, err) ||
	    str_at(n, "scope", "file", false, &scope, err))
		return PP_EINVAL;
	tl = strlen(path);
	fs->esc = tl > 4 && strcasecmp(path + tl - 4, ".xml") == 0 ? MST_ESCAPE_HTML :
		  MST_ESCAPE_NONE;
	if (esc) {
		if (strcmp(esc, "none") && strcmp(esc, "html")) {
			pp_y_err(err, pp_ymap_get(n, "escape"),
				 "escape must be 'none' or 'html', not '%s'", esc);
			return PP_EINVAL;
		}
		fs->esc = strcmp(esc, "html") == 0 ? MST_ESCAPE_HTML : MST_ESCAPE_NONE;
	}
	if (scope && strcmp(scope, "device") && strcmp(scope, "common")) {
		pp_y_err(err, pp_ymap_get(n, "scope"),
			 "scope must be 'device' or 'common', not '%s'", scope);
		return PP_EINVAL;
	}
	fs->common = scope && strcmp(scope, "common") == 0;
	if (fs->common && !pp_pathpat_literal(&fs->pat)) {
		pp_y_err(err, pn, "path: a common file's path cannot use device variables");
		return PP_EINVAL;
	}
	if (!fs->common && !fs->pat.per_mac) {
		pp_y_err(err, pn, "path: a per-device file's path must contain {{mac}}, {{MAC}} "
			 "or {{mac_colon}} (or set scope: common)");
		return PP_EINVAL;
	}
	if (bool_at(n, "sensitive", !fs->common, &fs->sensitive, err) ||
	    bool_at(n, "trigger", false, &fs->trigger, err))
		return PP_EINVAL;
	if (fs->trigger && fs->common) {
		pp_y_err(err, pp_ymap_get(n, "trigger"), "trigger: a common file cannot be the "
			 "trigger file (it is not per device)");
		return PP_EINVAL;
	}
	if (fs->trigger) {
		if (*have_trigger) {
			pp_y_err(err, pp_ymap_get(n, "trigger"),
				 "trigger: only one file may be the trigger file");
			return PP_EINVAL;
		}
		*have_trigger = true;
	}
	if (!fs->common && pp_pathpat_compile(&fs->pat, !(load_flags & PP_REG_IDENTIFY))) {
		pp_y_err(err, pn, "path: cannot build a matcher for '%s'", path);
		return PP_EINVAL;
	}
	return PP_OK;
}

static int load_files(struct pp_plugin *p, const struct pp_ynode *n, struct pp_err *err)
{
	struct pp_plugin_priv *pv = pp_priv(p);
	bool trig = false;

	if (!n)
		return PP_OK;
	if (pp_y_expect(n, PP_Y_SEQ, "files", err))
		return PP_EINVAL;
	pv->files = calloc(n->n ? n->n : 1, sizeof(*pv->files));
	if (!pv->files)
		return PP_ENOMEM;
	for (size_t i = 0; i < n->n; i++) {
		if (load_file(p, n->vals[i], &trig, err))
			return PP_EINVAL;
		for (size_t j = 0; j + 1 < pv->n_files; j++)
			if (strcmp(pv->files[j].path, pv->files[pv->n_files - 1].path) == 0) {
				pp_y_err(err, pp_ymap_get(n->vals[i], "path"),
					 "path: '%s' is declared twice", pv->files[j].path);
				return PP_EINVAL;
			}
	}
	return PP_OK;
}

const struct mst_tpl *pp_file_template(const struct pp_file_spec *fs, const char *model,
				       const char **name)
{
	for (size_t i = 0; model && i < fs->n_model_tpls; i++)
		if (strcasecmp(fs->model_names[i], model) == 0) {
			if (name)
				*name = fs->model_tpl_names[i];
			return fs->model_tpls[i];
		}
	if (name)
		*name = fs->tpl_name;
	return fs->tpl;
}

/* ---- one plugin --------------------------------------------------------- */

static const char *const top_keys[] = {
	"name", "version", "description", "vendor", "models", "extract", "files", "autoprov",
	"dhcp", "phone_types", "monitors", NULL,
};

static void plugin_free(struct pp_plugin *p)
{
	struct pp_plugin_priv *pv = p->priv;

	if (pv) {
		pp_hooks_unload(pv->hooks);
		pp_mon_set_free(pv->monitors);
		pp_ptypes_free(pv->ptypes);
		for (size_t i = 0; i < pv->n_models; i++) {
			struct pp_model *m = &pv->models[i];

			free(m->name);
			for (size_t a = 0; a < m->n_aliases; a++)
				free(m->aliases[a]);
			free(m->aliases);
			free(m->firmware_version);
			json_decref(m->json);
		}
		free(pv->models);
		for (size_t i = 0; i < pv->n_rules; i++)
			pp_ex_rule_free(pv->rules[i]);
		free(pv->rules);
		for (size_t i = 0; i < pv->n_files; i++) {
			struct pp_file_spec *fs = &pv->files[i];

			free(fs->path);
			pp_pathpat_free(&fs->pat);
			free(fs->tpl_name);
			for (size_t k = 0; k < fs->n_model_tpls; k++) {
				free(fs->model_names[k]);
				free(fs->model_tpl_names[k]);
			}
			free(fs->model_names);
			free(fs->model_tpl_names);
			free(fs->model_tpls);
			free(fs->common_data);
		}
		free(pv->files);
		for (size_t i = 0; i < pv->n_tpls; i++) {
			free(pv->tpls[i].name);
			mst_free(pv->tpls[i].tpl);
		}
		free(pv->tpls);
		json_decref(pv->autoprov);
		json_decref(pv->settings);
		json_decref(pv->plugin_data);
		free(pv);
	}
	pp_dhcp_spec_free(p);
	free(p->name);
	free(p->version);
	free(p->description);
	free(p->vendor);
	free(p->dir);
	json_decref(p->meta);
	memset(p, 0, sizeof(*p));
}

/* Render the plugin's common files from its settings and autoprov config. */
static int render_common(struct pp_plugin *p, struct pp_err *err)
{
	struct pp_plugin_priv *pv = pp_priv(p);

	for (size_t i = 0; i < pv->n_files; i++) {
		struct pp_file_spec *fs = &pv->files[i];
		struct mst_error me = { { 0 } };
		struct pp_buf out = { 0 };
		struct pp_devinfo none;
		json_t *data;
		int rc;

		if (!fs->common)
			continue;
		pp_devinfo_init(&none);
		data = pp_template_data(p, &none, "", NULL);
		if (!data)
			return PP_ENOMEM;
		rc = mst_render(fs->tpl, data, fs->esc, pp_plugin_tpl_lookup, p, 1, &out, &me);
		json_decref(data);
		if (rc) {
			pp_buf_free(&out);
			pp_err_set(err, "%s", me.msg[0] ? me.msg : "render failed");
			return PP_EINVAL;
		}
		if (pp_buf_append(&out, "", 0))
			return PP_ENOMEM;
		fs->common_data = (unsigned char *)pp_buf_steal(&out, &fs->common_len);
	}
	return PP_OK;
}

static int load_plugin(const struct pp_config *cfg, const char *name, struct pp_plugin *p,
		       struct pp_err *err)
{
	struct pp_plugin_priv *pv;
	struct pp_ydoc *doc = NULL;
	const struct pp_ynode *root;
	const char *s;
	char path[4400], *raw = NULL;
	size_t rawlen;
	uint64_t h = PP_FNV_INIT;
	json_t *set;
	int rc;

	pv = calloc(1, sizeof(*pv));
	if (!pv)
		return PP_ENOMEM;
	p->priv = pv;
	if (asprintf(&p->dir, "%s/%s", cfg->plugins.dir, name) < 0) {
		p->dir = NULL;
		return PP_ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/plugin.yml", p->dir);
	if ((rc = read_file(path, &raw, &rawlen, err)))
		return rc;
	h = pp_fnv(h, raw, rawlen);
	rc = pp_yaml_load_buf(path, raw, rawlen, &doc, err);
	free(raw);
	if (rc)
		return rc;
	root = doc->root;
	rc = PP_EINVAL;
	if (!root) {
		pp_err_at(err, path, 1, 1, "empty plugin.yml");
		goto out;
	}
	if (pp_y_check_keys(root, top_keys, "plugin.yml", err))
		goto out;
	if (str_at(root, "name", "plugin.yml", true, &s, err))
		goto out;
	if (!valid_name(s) || strcmp(s, name)) {
		pp_y_err(err, pp_ymap_get(root, "name"),
			 strcmp(s, name) ? "name '%s' must equal the folder name '%s'" :
			 "name '%s' must match [a-z0-9_-]+ (folder '%s')", s, name);
		goto out;
	}
	p->name = strdup(s);
	if (str_at(root, "version", "plugin.yml", true, &s, err))
		goto out;
	pv->n_ver = parse_version(s, pv->ver, PP_ARRAY_LEN(pv->ver));
	if (!pv->n_ver) {
		pp_y_err(err, pp_ymap_get(root, "version"),
			 "version '%s' must be dotted numbers, e.g. \"1.0.0\"", s);
		goto out;
	}
	p->version = strdup(s);
	if (str_at(root, "description", "plugin.yml", true, &s, err))
		goto out;
	p->description = strdup(s);
	if (str_at(root, "vendor", "plugin.yml", true, &s, err))
		goto out;
	if (!*s) {
		pp_y_err(err, pp_ymap_get(root, "vendor"), "vendor must not be empty");
		goto out;
	}
	p->vendor = strdup(s);
	if (!(load_flags & PP_REG_IDENTIFY) &&
	    (rc = load_templates(p, cfg->plugins.local_dir, &h, err)))
		goto out;
	rc = PP_EINVAL;
	if (load_models(pv, pp_ymap_get(root, "models"), err) ||
	    load_rules(pv, pp_ymap_get(root, "extract"), err) ||
	    load_files(p, pp_ymap_get(root, "files"), err) ||
	    pp_dhcp_spec_load(p, pp_ymap_get(root, "dhcp"), err) ||
	    pp_ptypes_load(p, pp_ymap_get(root, "phone_types"), err))
		goto out;
	if (pp_ymap_get(root, "autoprov")) {
		if (pp_y_expect(pp_ymap_get(root, "autoprov"), PP_Y_MAP, "autoprov", err))
			goto out;
		pv->autoprov = pp_ynode_to_json(pp_ymap_get(root, "autoprov"));
	} else {
		pv->autoprov = json_object();
	}
	set = json_object_get(cfg->plugins.settings, name);
	{
		const json_t *ji = json_object_get(set, "job_interval_s");

		if (ji && (!json_is_number(ji) || json_number_value(ji) <= 0 ||
			   json_number_value(ji) > 604800)) {
			pp_err_set(err, "%s: plugins.settings.%s.job_interval_s must be a number of "
				   "seconds above 0 and at most 604800", cfg->path, name);
			goto out;
		}
	}
	pv->settings = json_is_object(set) ? json_deep_copy(set) : json_object();
	pv->plugin_data = json_deep_copy(pv->settings);
	if (!pv->autoprov || !pv->settings || !pv->plugin_data) {
		rc = PP_ENOMEM;
		goto out;
	}
	/* call-record monitors (issue 17): a plugin may have only these, no
	 * models or files (a monitor-only plugin, never associated to phones) */
	if ((rc = pp_mon_set_load(p->name, (load_flags & PP_REG_IDENTIFY) ? NULL :
				  pp_ymap_get(root, "monitors"), (load_flags & PP_REG_IDENTIFY) ?
				  NULL : pv->settings, cfg->path, true, &pv->monitors, err)))
		goto out;
	if (!json_object_get(pv->plugin_data, "name"))
		json_object_set_new(pv->plugin_data, "name", json_string(p->name));
	if (!json_object_get(pv->plugin_data, "version"))
		json_object_set_new(pv->plugin_data, "version", json_string(p->version));
	{
		char *js = json_dumps(pv->settings, JSON_COMPACT | JSON_SORT_KEYS);

		if (js)
			h = pp_fnv(h, js, strlen(js));
		free(js);
	}
	pv->hash = h;
	p->meta = pp_ynode_to_json(root);
	if (load_flags & PP_REG_IDENTIFY) {
		rc = PP_OK;
		goto out;
	}
	if ((rc = render_common(p, err)))
		goto out;
	if (!(load_flags & PP_REG_NO_HOOKS))
		rc = pp_hooks_load(p, err);
out:
	pp_ydoc_free(doc);
	return rc;
}

/* ---- the registry ------------------------------------------------------- */


static bool has_plugin_yml(const char *dir, const char *name)
{
	char path[4400];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s/plugin.yml", dir, name);
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int list_plugins(const struct pp_config *cfg, char ***out, size_t *n, struct pp_err *err)
{
	size_t cap = 0;
	struct dirent *e;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (!cfg->plugins.all) {
		*out = calloc(cfg->plugins.n_enabled + 1, sizeof(char *));
		if (!*out)
			return PP_ENOMEM;
		for (size_t i = 0; i < cfg->plugins.n_enabled; i++) {
			const char *nm = cfg->plugins.enabled[i];

			for (size_t j = 0; j < i; j++)
				if (strcmp(cfg->plugins.enabled[j], nm) == 0) {
					pp_err_set(err, "%s: plugins.enabled: '%s' is listed twice",
						   cfg->path ? cfg->path : "config", nm);
					return PP_EINVAL;
				}
			if (!valid_name(nm) || !has_plugin_yml(cfg->plugins.dir, nm)) {
				pp_err_set(err, "%s: plugins.enabled: unknown plugin '%s' (no %s/%s/"
					   "plugin.yml)", cfg->path ? cfg->path : "config", nm,
					   cfg->plugins.dir, nm);
				return PP_EINVAL;
			}
			(*out)[(*n)++] = strdup(nm);
		}
		return PP_OK;
	}
	d = opendir(cfg->plugins.dir);
	if (!d) {
		pp_err_set(err, "%s: cannot open plugins.dir: %s", cfg->plugins.dir, strerror(errno));
		return PP_EIO;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !has_plugin_yml(cfg->plugins.dir, e->d_name))
			continue;
		if (*n == cap) {
			char **nn = realloc(*out, (cap = cap ? cap * 2 : 16) * sizeof(char *));

			if (!nn) {
				closedir(d);
				return PP_ENOMEM;
			}
			*out = nn;
		}
		(*out)[(*n)++] = strdup(e->d_name);
	}
	closedir(d);
	if (*n)
		qsort(*out, *n, sizeof(char *), cmp_str);
	return PP_OK;
}

static int check_settings(const struct pp_config *cfg, struct pp_err *err)
{
	const char *k;
	json_t *v;

	json_object_foreach(cfg->plugins.settings, k, v) {
		if (!valid_name(k) || !has_plugin_yml(cfg->plugins.dir, k)) {
			pp_err_set(err, "%s: plugins.settings: unknown plugin '%s'",
				   cfg->path ? cfg->path : "config", k);
			return PP_EINVAL;
		}
		if (!json_is_object(v)) {
			pp_err_set(err, "%s: plugins.settings.%s must be a map",
				   cfg->path ? cfg->path : "config", k);
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

int pp_registry_load(const struct pp_config *cfg, struct pp_registry **out, struct pp_err *err)
{
	return pp_registry_load_ex(cfg, 0, out, err);
}

int pp_registry_load_ex(const struct pp_config *cfg, unsigned flags, struct pp_registry **out,
			struct pp_err *err)
{
	struct pp_registry *r;
	char **names = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	load_flags = flags;
	r = calloc(1, sizeof(*r));
	if (!r)
		return PP_ENOMEM;
	rc = list_plugins(cfg, &names, &n, err);
	if (rc == PP_OK)
		rc = check_settings(cfg, err);
	if (rc == PP_OK && n && !(r->plugins = calloc(n, sizeof(*r->plugins))))
		rc = PP_ENOMEM;
	r->hash = PP_FNV_INIT;
	r->all_types_public = cfg->plugins.all_types_public;
	for (size_t i = 0; rc == PP_OK && i < n; i++) {
		rc = load_plugin(cfg, names[i], &r->plugins[i], err);
		r->n++;
		if (rc == PP_OK) {
			pp_priv(&r->plugins[i])->index = i;
			r->hash = pp_fnv(r->hash, &pp_priv(&r->plugins[i])->hash, sizeof(uint64_t));
		}
	}
	/* a common file path belongs to one plugin only */
	for (size_t i = 0; rc == PP_OK && i < r->n; i++) {
		const struct pp_plugin_priv *a = pp_priv(&r->plugins[i]);

		for (size_t f = 0; rc == PP_OK && f < a->n_files; f++) {
			const struct pp_plugin *o = NULL;

			if (a->files[f].common && (pp_registry_common(r, a->files[f].path, &o),
						   o != &r->plugins[i])) {
				pp_err_set(err, "%s/plugin.yml: common file '%s' is also declared by "
					   "plugin '%s'", r->plugins[i].dir, a->files[f].path,
					   o->name);
				rc = PP_EINVAL;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == PP_OK) {
		if (!(r->ids = pp_ex_set_new()))
			rc = PP_ENOMEM;
		for (size_t i = 0; rc == PP_OK && i < r->n; i++) {
			const struct pp_plugin *pl = &r->plugins[i];
			const struct pp_plugin_priv *pv = pp_priv(pl);

			for (size_t k = 0; rc == PP_OK && k < pv->n_rules; k++)
				rc = pp_ex_set_add_rule(r->ids, pv->rules[k], pl->name, pl->vendor,
								i, k);
			for (size_t f = 0; rc == PP_OK && f < pv->n_files; f++)
				if (!pv->files[f].common)
					rc = pp_ex_set_add_path(r->ids, &pv->files[f].pat, pl->name);
		}
		if (rc == PP_OK)
			pp_ex_set_finish(r->ids);
	}
	if (rc != PP_OK) {
		pp_registry_free(r);
		return rc;
	}
	*out = r;
	return PP_OK;
}

int pp_registry_load_hooks(struct pp_registry *r, struct pp_err *err)
{
	int rc = PP_OK;

	for (size_t i = 0; rc == PP_OK && r && i < r->n; i++)
		if (!pp_priv(&r->plugins[i])->hooks)
			rc = pp_hooks_load(&r->plugins[i], err);
	return rc;
}

void pp_registry_free(struct pp_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		plugin_free(&r->plugins[i]);
	free(r->plugins);
	pp_ex_set_free(r->ids);
	free(r);
}

size_t pp_registry_count(const struct pp_registry *r)
{
	return r ? r->n : 0;
}

const struct pp_plugin *pp_registry_at(const struct pp_registry *r, size_t i)
{
	return r && i < r->n ? &r->plugins[i] : NULL;
}

const struct pp_plugin *pp_registry_find(const struct pp_registry *r, const char *name)
{
	for (size_t i = 0; r && name && i < r->n; i++)
		if (strcmp(r->plugins[i].name, name) == 0)
			return &r->plugins[i];
	return NULL;
}

uint64_t pp_registry_hash(const struct pp_registry *r)
{
	return r ? r->hash : 0;
}

/* ---- identification and association ------------------------------------ */

const struct pp_file_spec *pp_registry_match_path(const struct pp_registry *r, const char *path,
						  const struct pp_plugin **plugin, char mac[18])
{
	size_t len = strlen(path);

	mac[0] = '\0';
	for (size_t i = 0; r && i < r->n; i++) {
		const struct pp_plugin_priv *pv = pp_priv(&r->plugins[i]);

		for (size_t f = 0; f < pv->n_files; f++) {
			const struct pp_file_spec *fs = &pv->files[f];

			if (fs->common || !pp_pathpat_match(&fs->pat, path, len, mac))
				continue;
			if (plugin)
				*plugin = &r->plugins[i];
			return fs;
		}
	}
	return NULL;
}

const struct pp_file_spec *pp_registry_common(const struct pp_registry *r, const char *path,
					      const struct pp_plugin **plugin)
{
	for (size_t i = 0; r && i < r->n; i++) {
		const struct pp_plugin_priv *pv = pp_priv(&r->plugins[i]);

		for (size_t f = 0; f < pv->n_files; f++)
			if (pv->files[f].common && strcmp(pv->files[f].path, path) == 0) {
				if (plugin)
					*plugin = &r->plugins[i];
				return &pv->files[f];
			}
	}
	return NULL;
}

const char *pp_plugin_canonical_model(const struct pp_plugin *p, const char *model)
{
	const struct pp_model *m = p ? pp_plugin_model(p, model) : NULL;

	return m ? m->name : NULL;
}

/* The model under its canonical name: the one of the plugin whose rule gave
 * it, else of the first plugin of the request's vendor that knows it. */
static void canonical_model(const struct pp_registry *r, struct pp_devinfo *di)
{
	char *model = di->f[PP_F_MODEL];
	const char *c = NULL;

	if (!model[0])
		return;
	if (di->plugin[PP_F_MODEL])
		c = pp_plugin_canonical_model(pp_registry_find(r, di->plugin[PP_F_MODEL]), model);
	for (size_t i = 0; !c && di->f[PP_F_VENDOR][0] && i < r->n; i++)
		if (strcasecmp(r->plugins[i].vendor, di->f[PP_F_VENDOR]) == 0)
			c = pp_plugin_canonical_model(&r->plugins[i], model);
	if (c && strcmp(c, model) != 0)
		snprintf(model, PP_FIELD_LEN, "%s", c);
}

void pp_identify(const struct pp_registry *r, const struct pp_ex_input *in,
		 struct pp_devinfo *di)
{
	pp_ex_identify(r ? r->ids : NULL, in, di);
	if (r)
		canonical_model(r, di);
}

int pp_plugin_score(const struct pp_plugin *p, const struct pp_devinfo *di,
		    const struct pp_model **model)
{
	const struct pp_model *m;
	int score, hs;

	*model = NULL;
	if (!pp_priv(p)->n_models && !pp_priv(p)->n_files && !pp_priv(p)->n_rules) {
		score = PP_IMPROBABLE; /* monitor-only plugin: serves no phone */
	} else if (!di->f[PP_F_VENDOR][0] || strcasecmp(di->f[PP_F_VENDOR], p->vendor) != 0) {
		score = PP_IMPROBABLE;
	} else if (!(m = pp_plugin_model(p, di->f[PP_F_MODEL]))) {
		score = PP_PROBABLE;
	} else {
		*model = m;
		score = m->firmware_version && di->f[PP_F_VERSION][0] &&
			strcmp(m->firmware_version, di->f[PP_F_VERSION]) == 0 ? PP_EXACT :
										PP_COMPLETE;
	}
	hs = pp_hooks_score(pp_priv(p)->hooks, di, score);
	if (hs >= PP_IMPROBABLE && hs <= PP_EXACT)
		score = hs;
	return score;
}

static int ver_cmp(const struct pp_plugin_priv *a, const struct pp_plugin_priv *b)
{
	size_t n = a->n_ver > b->n_ver ? a->n_ver : b->n_ver;

	for (size_t i = 0; i < n; i++) {
		unsigned x = i < a->n_ver ? a->ver[i] : 0, y = i < b->n_ver ? b->ver[i] : 0;

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

int pp_associate(const struct pp_registry *r, const struct pp_devinfo *di, unsigned char *scores)
{
	return pp_associate_pref(r, di, scores, NULL);
}

int pp_associate_pref(const struct pp_registry *r, const struct pp_devinfo *di,
		      unsigned char *scores, const struct pp_plugin *prefer)
{
	int best = -1, bs = PP_IMPROBABLE;

	for (size_t i = 0; r && i < r->n; i++) {
		const struct pp_plugin *p = &r->plugins[i];
		const struct pp_model *m;
		int s = pp_plugin_score(p, di, &m);

		if (scores)
			scores[i] = (unsigned char)s;
		if (s == PP_IMPROBABLE)
			continue;
		if (best < 0 || s > bs)
			goto take;
		if (s < bs)
			continue;
		{
			const struct pp_plugin *b = &r->plugins[best];
			int vc = ver_cmp(pp_priv(p), pp_priv(b));

			/* the plugin serving the file the phone asked for wins ties */
			if (prefer && (p == prefer || b == prefer)) {
				if (p == prefer)
					goto take;
				continue;
			}

			if (vc < 0 || (vc == 0 && strcmp(p->name, b->name) >= 0))
				continue;
		}
take:
		best = (int)i;
		bs = s;
	}
	return best;
}

bool pp_registry_types_public(const struct pp_registry *r)
{
	return r && r->all_types_public;
}
