/* Rendering a device's files: template data (merged config + device + plugin
 * + model, with the derived helper keys of docs/plugin-format.md) and the
 * mustache render of every per-device file of its plugin. Pure: no I/O. */
#include "render.h"
#include "plugin_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/config/rawschema.h"
#include "lib/metrics.h"

void pp_json_merge(json_t *dst, const json_t *src)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)src, k, v) {
		json_t *o = json_object_get(dst, k);

		if (json_is_object(o) && json_is_object(v))
			pp_json_merge(o, v);
		else
			json_object_set_new(dst, k, json_deep_copy(v));
	}
}

static void sanitize(const char *in, char *out, size_t n, bool lower)
{
	size_t j = 0;

	for (size_t i = 0; in[i] && j + 1 < n; i++) {
		unsigned char c = (unsigned char)in[i];

		out[j++] = isalnum(c) ? (char)(lower ? tolower(c) : c) : '_';
	}
	out[j] = '\0';
}

static void add_flag(json_t *obj, const char *key, const char *val)
{
	char name[128], sv[64];

	for (int lower = 0; lower < 2; lower++) {
		sanitize(val, sv, sizeof(sv), lower);
		if (!sv[0])
			return;
		snprintf(name, sizeof(name), "%s_%s", key, sv);
		if (!json_object_get(obj, name))
			json_object_set_new(obj, name, json_true());
	}
}

/* Derived keys: key_value flags for short scalars, index/index0/first/last
 * and index_N in list items, <list>_by_line and <list>_by_index maps. */
static void enrich(json_t *v, int depth)
{
	const char *k;
	json_t *c;
	void *tmp;

	if (depth > 16)
		return;
	if (json_is_object(v)) {
		json_t *add = json_object();

		json_object_foreach_safe(v, tmp, k, c) {
			char sv[64];

			if (json_is_string(c) && json_string_length(c) <= 48)
				add_flag(add, k, json_string_value(c));
			else if (json_is_integer(c)) {
				snprintf(sv, sizeof(sv), "%lld", (long long)json_integer_value(c));
				add_flag(add, k, sv);
			} else if (json_is_boolean(c)) {
				add_flag(add, k, json_is_true(c) ? "true" : "false");
			}
			if (json_is_array(c)) {
				json_t *by_line = json_object(), *by_index = json_object();
				size_t i;
				json_t *e;
				char name[160];

				json_array_foreach(c, i, e) {
					json_t *ln = json_object_get(e, "line");

					if (!json_is_object(e))
						continue;
					snprintf(sv, sizeof(sv), "%zu", i + 1);
					json_object_set(by_index, sv, e);
					if (json_is_integer(ln))
						snprintf(sv, sizeof(sv), "%lld",
							 (long long)json_integer_value(ln));
					else if (json_is_string(ln))
						snprintf(sv, sizeof(sv), "%s", json_string_value(ln));
					else
						continue;
					json_object_set(by_line, sv, e);
				}
				snprintf(name, sizeof(name), "%s_by_line", k);
				if (json_object_size(by_line) && !json_object_get(v, name))
					json_object_set(add, name, by_line);
				snprintf(name, sizeof(name), "%s_by_index", k);
				if (json_object_size(by_index) && !json_object_get(v, name))
					json_object_set(add, name, by_index);
				json_decref(by_line);
				json_decref(by_index);
			}
			enrich(c, depth + 1);
		}
		json_object_foreach(add, k, c)
			if (!json_object_get(v, k))
				json_object_set(v, k, c);
		json_decref(add);
	} else if (json_is_array(v)) {
		size_t i, n = json_array_size(v);
		json_t *e;

		json_array_foreach(v, i, e) {
			char name[32];

			if (!json_is_object(e))
				continue;
			enrich(e, depth + 1);
			if (!json_object_get(e, "index"))
				json_object_set_new(e, "index", json_integer((json_int_t)i + 1));
			if (!json_object_get(e, "index0"))
				json_object_set_new(e, "index0", json_integer((json_int_t)i));
			if (!json_object_get(e, "first"))
				json_object_set_new(e, "first", json_boolean(i == 0));
			if (!json_object_get(e, "last"))
				json_object_set_new(e, "last", json_boolean(i + 1 == n));
			snprintf(name, sizeof(name), "index_%zu", i + 1);
			json_object_set_new(e, name, json_true());
		}
	}
}

json_t *pp_device_vars(const struct pp_devinfo *di, const char *ip)
{
	const char *m = di->f[PP_F_MAC];
	char mac[13] = "", MAC[13] = "";
	size_t j = 0;

	for (size_t i = 0; m[i] && j < 12; i++)
		if (m[i] != ':') {
			mac[j] = m[i];
			MAC[j] = (char)toupper((unsigned char)m[i]);
			j++;
		}
	mac[j] = MAC[j] = '\0';
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "mac", mac, "MAC", MAC,
			 "mac_colon", m, "ip", ip ? ip : "", "vendor", di->f[PP_F_VENDOR],
			 "model", di->f[PP_F_MODEL], "version", di->f[PP_F_VERSION], "serial",
			 di->f[PP_F_SERIAL]);
}

/* `codecs`: the codec preference list templates iterate, as objects
 * {"name": "PCMU"} (so that index/first/last helpers apply): the config's
 * `codecs` (names, first preferred) when it has one, else the model's
 * `codec` list of plugin.yml. */
static void set_codecs(json_t *data, const struct pp_model *m)
{
	const json_t *src = json_object_get(data, "codecs");
	json_t *out, *v;
	size_t i;

	if (!json_is_array(src))
		src = m && m->json ? json_object_get(m->json, "codec") : NULL;
	if (!json_is_array(src) || !(out = json_array()))
		return;
	json_array_foreach(src, i, v) {
		if (json_is_string(v))
			json_array_append_new(out, json_pack("{s:O}", "name", v));
		else if (json_is_object(v) && json_is_string(json_object_get(v, "name")))
			json_array_append(out, v);
	}
	json_object_set_new(data, "codecs", out);
}

json_t *pp_template_data(const struct pp_plugin *p, const struct pp_devinfo *di, const char *ip,
			 const json_t *config)
{
	const struct pp_plugin_priv *pv = pp_priv(p);
	const struct pp_model *m = pp_plugin_model(p, di->f[PP_F_MODEL]);
	json_t *data = json_deep_copy(pv->autoprov);

	if (!data)
		return NULL;
	if (json_is_object(config))
		pp_json_merge(data, config);
	/* provd's dict-shaped sip_lines/funckeys become lists: one shape for
	 * every template */
	pp_rawcfg_normalise(data);
	set_codecs(data, m);
	enrich(data, 0);
	json_object_set_new(data, "device", pp_device_vars(di, ip));
	json_object_set(data, "plugin", pv->plugin_data);
	json_object_set_new(data, "model", m && m->json ? json_deep_copy(m->json) : json_object());
	return data;
}

void pp_rendered_free(struct pp_rendered *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->f[i].data);
	free(r->f);
	r->f = NULL;
	r->n = 0;
}

int pp_render_device(const struct pp_plugin *p, const struct pp_devinfo *di, const char *ip,
		     const json_t *config, struct pp_rendered *out, struct pp_err *err)
{
	const struct pp_plugin_priv *pv = pp_priv(p);
	json_t *data = pp_template_data(p, di, ip, config);
	int rc = PP_OK;

	memset(out, 0, sizeof(*out));
	if (!data)
		return PP_ENOMEM;
	out->f = calloc(pv->n_files ? pv->n_files : 1, sizeof(*out->f));
	if (!out->f) {
		json_decref(data);
		return PP_ENOMEM;
	}
	for (size_t i = 0; rc == PP_OK && i < pv->n_files; i++) {
		const struct pp_file_spec *fs = &pv->files[i];
		struct pp_rfile *rf = &out->f[out->n];
		struct mst_error me = { { 0 } };
		struct pp_buf b = { 0 };
		const struct mst_tpl *t;

		if (fs->common)
			continue;
		if (pp_file_path(fs, di, rf->path, sizeof(rf->path)) != PP_OK) {
			pp_err_set(err, "plugin %s: file '%s' gives an unsafe path for this device",
				   p->name, fs->path);
			rc = PP_EINVAL;
			break;
		}
		t = pp_file_template(fs, di->f[PP_F_MODEL], &rf->tpl);
		if (mst_render(t, data, fs->esc, pp_plugin_tpl_lookup, (void *)p, 1, &b, &me) != 0) {
			pp_buf_free(&b);
			pp_err_set(err, "%s", me.msg[0] ? me.msg : "render failed");
			PP_COUNT(render_errors, 1);
			rc = PP_EINVAL;
			break;
		}
		if (pp_buf_append(&b, "", 0) != PP_OK) {
			rc = PP_ENOMEM;
			break;
		}
		rf->data = (unsigned char *)pp_buf_steal(&b, &rf->len);
		rf->trigger = fs->trigger;
		rf->sensitive = fs->sensitive;
		out->n++;
		PP_COUNT(renders, 1);
	}
	json_decref(data);
	if (rc != PP_OK)
		pp_rendered_free(out);
	return rc;
}
