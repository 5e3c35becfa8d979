/* Phone types ("flavors", plugin.yml `phone_types:`): what a user picks when
 * creating a device, each with its display order, models, codec preference,
 * admin-only flag, prevent_sip flag and the typed schema of the device's
 * `extra` values. Loaded with the plugin (FILE:LINE:COL errors), immutable
 * afterwards: the validator below runs on any thread. */
#include "plugin_int.h"
#include "phonetypes.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/yamltree.h"

enum xf_type { XF_STRING, XF_INTEGER, XF_BOOLEAN, XF_NUMBER, XF_PASSWORD, XF_IP, XF_MAC,
	       XF_LIST };
static const char *const xf_type_names[] = { "string", "integer", "boolean", "number",
					     "password", "ip", "mac", "list", NULL };

struct xfield {
	char *name;
	enum xf_type type;
	bool required;
	json_t *def;          /* NULL = no default */
	char *pattern;        /* NULL = none */
	pcre2_code *re;
	json_t *enumv;        /* array of allowed values, NULL = any */
	bool has_min, has_max;
	double min, max;      /* value (integer, number), length (string,
			       * password), items (list) */
};

struct pp_ptype {
	char *name;
	const struct pp_plugin *plugin;
	long long display_index;
	bool special, prevent_sip;
	json_t *codec;        /* the type's codec preference (array, may be empty) */
	json_t *models;       /* model names (array) */
	struct xfield *f;
	size_t nf;
	json_t *json;         /* the listing entry (GET /phone_types) */
};

struct pp_ptypes {
	struct pp_ptype *t;
	size_t n;
};

static const char *const pt_keys[] = {
	"name", "display_index", "special", "models", "codec", "prevent_sip", "extra_fields",
	"description", NULL,
};
static const char *const xf_keys[] = {
	"name", "type", "required", "default", "pattern", "enum", "min", "max", "description",
	NULL,
};

/* ---- the validator ------------------------------------------------------ */

static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

/* "red, green, blue" */
static void enum_text(const json_t *e, char *out, size_t n)
{
	size_t i, len = 0;
	json_t *v;

	out[0] = '\0';
	json_array_foreach(e, i, v) {
		char *s = json_is_string(v) ? strdup(json_string_value(v)) :
			  json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		if (!s)
			continue;
		len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s", i ? ", " : "", s);
		free(s);
		if (len >= n)
			break;
	}
}

/* A number in messages: integers without a fraction. */
static void num_text(double d, char *out, size_t n)
{
	if (d == floor(d) && fabs(d) < 1e15)
		snprintf(out, n, "%lld", (long long)d);
	else
		snprintf(out, n, "%g", d);
}

static const char *kind_of(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "a list";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

static bool re_match(const pcre2_code *re, const char *s, size_t len)
{
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	int rc;

	if (!md)
		return false;
	rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

/* One value against its field. *out: the value to store (new reference). */
static int check_value(const struct xfield *f, const char *fld, const json_t *v, json_t **out,
		       struct pp_err *err)
{
	char text[64], a[32];
	const char *s = NULL;
	size_t slen = 0;
	double num = 0, size = 0;
	bool sized = false;

	*out = NULL;
	switch (f->type) {
	case XF_STRING:
	case XF_PASSWORD:
	case XF_IP:
	case XF_MAC:
		if (!json_is_string(v)) {
			pp_err_field(err, fld, "%s must be a string, not %s", fld, kind_of(v));
			return PP_EINVAL;
		}
		s = json_string_value(v);
		slen = json_string_length(v);
		if (strlen(s) != slen) {
			pp_err_field(err, fld, "%s must not contain NUL bytes", fld);
			return PP_EINVAL;
		}
		size = (double)utf8_chars(s, slen);
		sized = true;
		break;
	case XF_INTEGER:
		if (!json_is_integer(v)) {
			pp_err_field(err, fld, "%s must be an integer, not %s", fld, kind_of(v));
			return PP_EINVAL;
		}
		num = (double)json_integer_value(v);
		snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
		s = text;
		slen = strlen(text);
		break;
	case XF_NUMBER:
		if (!json_is_number(v)) {
			pp_err_field(err, fld, "%s must be a number, not %s", fld, kind_of(v));
			return PP_EINVAL;
		}
		num = json_number_value(v);
		num_text(num, text, sizeof(text));
		s = text;
		slen = strlen(text);
		break;
	case XF_BOOLEAN:
		if (!json_is_boolean(v)) {
			pp_err_field(err, fld, "%s must be true or false, not %s", fld, kind_of(v));
			return PP_EINVAL;
		}
		break;
	case XF_LIST:
		if (!json_is_array(v)) {
			pp_err_field(err, fld, "%s must be a list, not %s", fld, kind_of(v));
			return PP_EINVAL;
		}
		for (size_t i = 0; i < json_array_size(v); i++) {
			const json_t *e = json_array_get(v, i);

			if (!json_is_string(e) && !json_is_number(e) && !json_is_boolean(e)) {
				pp_err_field(err, fld, "%s[%zu] must be a string, number or boolean, "
					     "not %s", fld, i, kind_of(e));
				return PP_EINVAL;
			}
		}
		size = (double)json_array_size(v);
		sized = true;
		break;
	}
	if (f->type == XF_IP) {
		unsigned char buf[16];

		if (inet_pton(AF_INET, s, buf) != 1 && inet_pton(AF_INET6, s, buf) != 1) {
			pp_err_field(err, fld, "%s '%s' is not an IP address (IPv4 or IPv6)", fld, s);
			return PP_EINVAL;
		}
	}
	if (f->type == XF_MAC) {
		char mac[18];

		if (pp_mac_normalize(s, slen, mac) != PP_OK) {
			pp_err_field(err, fld, "%s '%s' is not a MAC address", fld, s);
			return PP_EINVAL;
		}
		*out = json_string(mac);
		return *out ? PP_OK : PP_ENOMEM;
	}
	if (f->enumv) {
		bool found = false;
		char list[200];

		if (f->type == XF_LIST) {
			for (size_t i = 0; i < json_array_size(v); i++) {
				const json_t *e = json_array_get(v, i);
				size_t k;
				json_t *ok;

				found = false;
				json_array_foreach(f->enumv, k, ok)
					if (json_equal((json_t *)e, ok))
						found = true;
				if (!found) {
					char *es = json_dumps(e, JSON_ENCODE_ANY);

					enum_text(f->enumv, list, sizeof(list));
					pp_err_field(err, fld, "%s[%zu] must be one of %s; not %s", fld, i,
						     list, es ? es : "?");
					free(es);
					return PP_EINVAL;
				}
			}
		} else {
			size_t k;
			json_t *ok;

			json_array_foreach(f->enumv, k, ok)
				if (json_equal((json_t *)v, ok))
					found = true;
			if (!found) {
				char *es = json_dumps(v, JSON_ENCODE_ANY);

				enum_text(f->enumv, list, sizeof(list));
				pp_err_field(err, fld, "%s must be one of %s; not %s", fld, list,
					     es ? es : "?");
				free(es);
				return PP_EINVAL;
			}
		}
	}
	if (f->re && s && !re_match(f->re, s, slen)) {
		if (f->type == XF_PASSWORD)
			pp_err_field(err, fld, "%s does not match %s", fld, f->pattern);
		else
			pp_err_field(err, fld, "%s '%s' does not match %s", fld, s, f->pattern);
		return PP_EINVAL;
	}
	if (f->has_min || f->has_max) {
		double x = sized ? size : num;
		const char *unit = f->type == XF_LIST ? " items" : sized ? " characters" : "";

		if (f->has_min && x < f->min) {
			num_text(f->min, a, sizeof(a));
			pp_err_field(err, fld, "%s must be at least %s%s", fld, a, unit);
			return PP_EINVAL;
		}
		if (f->has_max && x > f->max) {
			num_text(f->max, a, sizeof(a));
			pp_err_field(err, fld, "%s must be at most %s%s", fld, a, unit);
			return PP_EINVAL;
		}
	}
	*out = json_deep_copy(v);
	return *out ? PP_OK : PP_ENOMEM;
}

int pp_phone_type_check_extra(const struct pp_ptype *t, const json_t *extra, json_t **out,
			      struct pp_err *err)
{
	json_t *res;
	const char *k;
	json_t *v;
	char fld[96];

	*out = NULL;
	if (extra && !json_is_null(extra) && !json_is_object(extra)) {
		pp_err_field(err, "extra", "extra must be an object");
		return PP_EBADREQ;
	}
	json_object_foreach((json_t *)extra, k, v) {
		size_t i;

		for (i = 0; i < t->nf && strcmp(t->f[i].name, k) != 0; i++)
			;
		if (i == t->nf) {
			char names[200] = "";
			size_t len = 0;

			for (size_t j = 0; j < t->nf && len < sizeof(names); j++)
				len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
							j ? ", " : "", t->f[j].name);
			snprintf(fld, sizeof(fld), "extra.%.80s", k);
			pp_err_field(err, fld, "%s is not a field of phone type %s (%s%s)", fld,
				     t->name, t->nf ? "fields: " : "it has no extra fields",
				     names);
			return PP_EINVAL;
		}
	}
	if (!(res = json_object()))
		return PP_ENOMEM;
	for (size_t i = 0; i < t->nf; i++) {
		const struct xfield *f = &t->f[i];
		const json_t *given = json_object_get(extra, f->name);
		json_t *val;
		int rc;

		snprintf(fld, sizeof(fld), "extra.%s", f->name);
		if (!given || json_is_null(given)) {
			if (f->def) {
				json_object_set_new(res, f->name, json_deep_copy(f->def));
				continue;
			}
			if (f->required) {
				json_decref(res);
				pp_err_field(err, fld, "%s is required by phone type %s", fld, t->name);
				return PP_EINVAL;
			}
			continue;
		}
		if ((rc = check_value(f, fld, given, &val, err)) != PP_OK) {
			json_decref(res);
			return rc;
		}
		json_object_set_new(res, f->name, val);
	}
	*out = res;
	return PP_OK;
}

/* ---- lookups ------------------------------------------------------------ */

static const struct pp_ptypes *ptypes_of(const struct pp_plugin *p)
{
	return pp_priv(p)->ptypes;
}

const struct pp_ptype *pp_phone_type_find(const struct pp_registry *r, const char *plugin,
					  const char *name)
{
	size_t n = pp_registry_count(r);

	if (!name)
		return NULL;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < n; i++) {
			const struct pp_plugin *p = pp_registry_at(r, i);
			const struct pp_ptypes *ts = ptypes_of(p);

			/* the device's plugin first, then any plugin */
			if (pass == 0 && (!plugin || strcmp(p->name, plugin) != 0))
				continue;
			for (size_t k = 0; ts && k < ts->n; k++)
				if (strcmp(ts->t[k].name, name) == 0)
					return &ts->t[k];
		}
	}
	return NULL;
}

const char *pp_phone_type_name(const struct pp_ptype *t) { return t->name; }
const struct pp_plugin *pp_phone_type_plugin(const struct pp_ptype *t) { return t->plugin; }
bool pp_phone_type_special(const struct pp_ptype *t) { return t->special; }
bool pp_phone_type_prevent_sip(const struct pp_ptype *t) { return t->prevent_sip; }

/* The codec preference of a model of the type: the type's own list, else the
 * model's `codec` of plugin.yml. */
static json_t *model_codecs(const struct pp_ptype *t, const char *model)
{
	const struct pp_model *m;
	json_t *c;

	if (json_array_size(t->codec))
		return json_incref(t->codec);
	m = model ? pp_plugin_model(t->plugin, model) : NULL;
	c = m && m->json ? json_object_get(m->json, "codec") : NULL;
	return json_is_array(c) ? json_incref(c) : json_array();
}

json_t *pp_phone_type_codecs(const struct pp_ptype *t, const char *model)
{
	return model_codecs(t, model);
}

static int cmp_types(const void *a, const void *b)
{
	const struct pp_ptype *x = *(const struct pp_ptype *const *)a;
	const struct pp_ptype *y = *(const struct pp_ptype *const *)b;
	int c;

	if (x->display_index != y->display_index)
		return x->display_index > y->display_index ? -1 : 1;
	if ((c = strcmp(x->name, y->name)) != 0)
		return c;
	return strcmp(x->plugin->name, y->plugin->name);
}

json_t *pp_phone_types_json(const struct pp_registry *r)
{
	size_t n = pp_registry_count(r), total = 0, k = 0;
	const struct pp_ptype **all;
	json_t *out = json_array();

	for (size_t i = 0; i < n; i++) {
		const struct pp_ptypes *ts = ptypes_of(pp_registry_at(r, i));

		total += ts ? ts->n : 0;
	}
	all = calloc(total ? total : 1, sizeof(*all));
	if (!all || !out) {
		free(all);
		json_decref(out);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pp_ptypes *ts = ptypes_of(pp_registry_at(r, i));

		for (size_t j = 0; ts && j < ts->n; j++)
			all[k++] = &ts->t[j];
	}
	qsort(all, total, sizeof(*all), cmp_types);
	for (size_t i = 0; i < total; i++)
		json_array_append(out, all[i]->json);
	free(all);
	return out;
}

/* ---- loading ------------------------------------------------------------ */

static int num_at(const struct pp_ynode *map, const char *key, bool *has, double *out,
		  struct pp_err *err)
{
	const struct pp_ynode *n = pp_ymap_get(map, key);
	json_t *j;

	*has = false;
	if (!n)
		return PP_OK;
	j = pp_ynode_to_json(n);
	if (!json_is_number(j)) {
		json_decref(j);
		pp_y_err(err, n, "%s must be a number", key);
		return PP_EINVAL;
	}
	*out = json_number_value(j);
	*has = true;
	json_decref(j);
	return PP_OK;
}

static int load_field(const struct pp_plugin *p, struct pp_ptype *t, struct xfield *f,
		      const struct pp_ynode *n, struct pp_err *err)
{
	const struct pp_ynode *v;
	const char *s;
	bool b;

	if (pp_y_check_keys(n, xf_keys, "extra field", err))
		return PP_EINVAL;
	if (!(v = pp_ymap_get(n, "name"))) {
		pp_y_err(err, n, "extra field: missing required key 'name'");
		return PP_EINVAL;
	}
	if (pp_y_str(v, "name", &s, err))
		return PP_EINVAL;
	if (!*s || strlen(s) > 64 || strspn(s, "abcdefghijklmnopqrstuvwxyz"
					     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != strlen(s)) {
		pp_y_err(err, v, "extra field name '%s' must be 1-64 of A-Z a-z 0-9 _ -", s);
		return PP_EINVAL;
	}
	for (size_t i = 0; i < t->nf; i++)
		if (strcmp(t->f[i].name, s) == 0) {
			pp_y_err(err, v, "extra field '%s' is declared twice", s);
			return PP_EINVAL;
		}
	f->name = strdup(s);
	f->type = XF_STRING;
	if ((v = pp_ymap_get(n, "type"))) {
		int k;

		if (pp_y_str(v, "type", &s, err))
			return PP_EINVAL;
		for (k = 0; xf_type_names[k] && strcmp(xf_type_names[k], s); k++)
			;
		if (!xf_type_names[k]) {
			pp_y_err(err, v, "type must be one of string, integer, boolean, number, "
				 "password, ip, mac, list; not '%s'", s);
			return PP_EINVAL;
		}
		f->type = (enum xf_type)k;
	}
	if ((v = pp_ymap_get(n, "required")) && pp_y_bool(v, "required", &b, err))
		return PP_EINVAL;
	f->required = v ? b : false;
	if ((v = pp_ymap_get(n, "description")) && pp_y_str(v, "description", &s, err))
		return PP_EINVAL;
	if ((v = pp_ymap_get(n, "pattern"))) {
		PCRE2_SIZE off;
		int ec;

		if (pp_y_str(v, "pattern", &s, err))
			return PP_EINVAL;
		if (*s) {
			if (f->type == XF_BOOLEAN || f->type == XF_LIST) {
				pp_y_err(err, v, "pattern applies to text and numbers, not to a %s",
					 xf_type_names[f->type]);
				return PP_EINVAL;
			}
			f->re = pcre2_compile((PCRE2_SPTR)s, v->len, PCRE2_UTF, &ec, &off, NULL);
			if (!f->re) {
				PCRE2_UCHAR m[256];

				pcre2_get_error_message(ec, m, sizeof(m));
				pp_err_at(err, v->file, v->line, v->col + (v->plain ? 0 : 1) + (int)off,
					  "pattern: %s", (const char *)m);
				return PP_EINVAL;
			}
			f->pattern = strdup(s);
		}
	}
	if ((v = pp_ymap_get(n, "enum"))) {
		if (pp_y_expect(v, PP_Y_SEQ, "enum", err))
			return PP_EINVAL;
		if (v->n == 0) {
			pp_y_err(err, v, "enum must list at least one value");
			return PP_EINVAL;
		}
		f->enumv = pp_ynode_to_json(v);
	}
	if (num_at(n, "min", &f->has_min, &f->min, err) ||
	    num_at(n, "max", &f->has_max, &f->max, err))
		return PP_EINVAL;
	if ((f->has_min || f->has_max) && f->type == XF_BOOLEAN) {
		pp_y_err(err, pp_ymap_get(n, f->has_min ? "min" : "max"),
			 "min and max do not apply to a boolean");
		return PP_EINVAL;
	}
	if (f->has_min && f->has_max && f->min > f->max) {
		pp_y_err(err, pp_ymap_get(n, "max"), "max is below min");
		return PP_EINVAL;
	}
	if ((v = pp_ymap_get(n, "default"))) {
		json_t *d = pp_ynode_to_json(v), *ok = NULL;
		struct pp_err e2 = { 0 };
		char fld[96];

		snprintf(fld, sizeof(fld), "extra.%s", f->name);
		/* the bundled plugins write `pattern: ""` and an empty default for
		 * "no default": an empty string default of a non-text field is none */
		if (json_is_null(d) || (json_is_string(d) && !json_string_length(d) &&
					f->type != XF_STRING && f->type != XF_PASSWORD)) {
			json_decref(d);
		} else if (check_value(f, fld, d, &ok, &e2) != PP_OK) {
			json_decref(d);
			pp_y_err(err, v, "default of extra field '%s' of phone type %s (plugin %s) "
				 "breaks its own schema: %s", f->name, t->name, p->name, e2.msg);
			return PP_EINVAL;
		} else {
			json_decref(d);
			f->def = ok;
		}
	}
	return PP_OK;
}

static json_t *field_json(const struct xfield *f, const struct pp_ynode *n)
{
	const struct pp_ynode *d = pp_ymap_get(n, "description");
	json_t *o = json_pack("{s:s, s:s, s:b}", "name", f->name, "type", xf_type_names[f->type],
			      "required", f->required);

	if (!o)
		return NULL;
	if (f->def)
		json_object_set(o, "default", f->def);
	if (f->pattern)
		json_object_set_new(o, "pattern", json_string(f->pattern));
	if (f->enumv)
		json_object_set(o, "enum", f->enumv);
	if (f->has_min)
		json_object_set_new(o, "min", f->min == floor(f->min) ?
				    json_integer((json_int_t)f->min) : json_real(f->min));
	if (f->has_max)
		json_object_set_new(o, "max", f->max == floor(f->max) ?
				    json_integer((json_int_t)f->max) : json_real(f->max));
	if (d && d->type == PP_Y_SCALAR)
		json_object_set_new(o, "description", json_string(d->str));
	return o;
}

static int load_type(const struct pp_plugin *p, struct pp_ptype *t, const struct pp_ynode *n,
		     struct pp_err *err)
{
	const struct pp_ynode *v, *xf;
	json_t *models, *fields;
	const char *s;
	long long di;
	bool b;

	if (pp_y_check_keys(n, pt_keys, "phone type", err))
		return PP_EINVAL;
	if (!(v = pp_ymap_get(n, "name"))) {
		pp_y_err(err, n, "phone type: missing required key 'name'");
		return PP_EINVAL;
	}
	if (pp_y_str(v, "name", &s, err))
		return PP_EINVAL;
	if (!*s) {
		pp_y_err(err, v, "phone type name must not be empty");
		return PP_EINVAL;
	}
	t->name = strdup(s);
	t->plugin = p;
	if ((v = pp_ymap_get(n, "display_index")) &&
	    pp_y_int(v, "display_index", -1000000, 1000000, &di, err))
		return PP_EINVAL;
	t->display_index = v ? di : 0;
	if ((v = pp_ymap_get(n, "special")) && pp_y_bool(v, "special", &b, err))
		return PP_EINVAL;
	t->special = v ? b : false;
	if ((v = pp_ymap_get(n, "prevent_sip")) && pp_y_bool(v, "prevent_sip", &b, err))
		return PP_EINVAL;
	t->prevent_sip = v ? b : false;
	if ((v = pp_ymap_get(n, "description")) && pp_y_str(v, "description", &s, err))
		return PP_EINVAL;
	t->models = json_array();
	t->codec = json_array();
	if ((v = pp_ymap_get(n, "models"))) {
		if (pp_y_expect(v, PP_Y_SEQ, "models", err))
			return PP_EINVAL;
		for (size_t k = 0; k < v->n; k++) {
			const struct pp_model *m;

			if (pp_y_str(v->vals[k], "models", &s, err))
				return PP_EINVAL;
			if (!(m = pp_plugin_model(p, s))) {
				pp_y_err(err, v->vals[k], "models: unknown model '%s' (not in models:)",
					 s);
				return PP_EINVAL;
			}
			json_array_append_new(t->models, json_string(m->name));
		}
	} else {
		/* no list: every model of the plugin */
		for (size_t k = 0; k < pp_plugin_model_count(p); k++)
			json_array_append_new(t->models, json_string(pp_plugin_model_name(p, k)));
	}
	if ((v = pp_ymap_get(n, "codec"))) {
		if (pp_y_expect(v, PP_Y_SEQ, "codec", err))
			return PP_EINVAL;
		for (size_t k = 0; k < v->n; k++) {
			if (pp_y_str(v->vals[k], "codec", &s, err))
				return PP_EINVAL;
			json_array_append_new(t->codec, json_string(s));
		}
	}
	if ((xf = pp_ymap_get(n, "extra_fields"))) {
		if (pp_y_expect(xf, PP_Y_SEQ, "extra_fields", err))
			return PP_EINVAL;
		if (xf->n && !(t->f = calloc(xf->n, sizeof(*t->f))))
			return PP_ENOMEM;
		for (size_t k = 0; k < xf->n; k++) {
			if (load_field(p, t, &t->f[t->nf], xf->vals[k], err)) {
				t->nf++; /* freed with the others */
				return PP_EINVAL;
			}
			t->nf++;
		}
	}
	/* the listing entry */
	models = json_array();
	fields = json_array();
	for (size_t k = 0; k < json_array_size(t->models); k++) {
		const char *mn = json_string_value(json_array_get(t->models, k));

		json_array_append_new(models, json_pack("{s:s, s:o}", "name", mn, "codec",
							model_codecs(t, mn)));
	}
	for (size_t k = 0; k < t->nf; k++)
		json_array_append_new(fields, field_json(&t->f[k], xf->vals[k]));
	t->json = json_pack("{s:s, s:s, s:I, s:b, s:b, s:O, s:o, s:o}", "name", t->name, "plugin",
			    p->name, "display_index", (json_int_t)t->display_index, "special",
			    t->special, "prevent_sip", t->prevent_sip, "codec", t->codec, "models",
			    models, "extra_fields", fields);
	if (!t->json)
		return PP_ENOMEM;
	if ((v = pp_ymap_get(n, "description")))
		json_object_set_new(t->json, "description", json_string(v->str));
	return PP_OK;
}

void pp_ptypes_free(struct pp_ptypes *ts)
{
	if (!ts)
		return;
	for (size_t i = 0; i < ts->n; i++) {
		struct pp_ptype *t = &ts->t[i];

		for (size_t k = 0; k < t->nf; k++) {
			free(t->f[k].name);
			free(t->f[k].pattern);
			pcre2_code_free(t->f[k].re);
			json_decref(t->f[k].def);
			json_decref(t->f[k].enumv);
		}
		free(t->f);
		free(t->name);
		json_decref(t->codec);
		json_decref(t->models);
		json_decref(t->json);
	}
	free(ts->t);
	free(ts);
}

int pp_ptypes_load(struct pp_plugin *p, const struct pp_ynode *n, struct pp_err *err)
{
	struct pp_ptypes *ts = calloc(1, sizeof(*ts));
	int rc = PP_OK;

	if (!ts)
		return PP_ENOMEM;
	pp_priv(p)->ptypes = ts;
	if (!n)
		return PP_OK;
	if (pp_y_expect(n, PP_Y_SEQ, "phone_types", err))
		return PP_EINVAL;
	if (n->n && !(ts->t = calloc(n->n, sizeof(*ts->t))))
		return PP_ENOMEM;
	for (size_t i = 0; rc == PP_OK && i < n->n; i++) {
		rc = load_type(p, &ts->t[ts->n], n->vals[i], err);
		ts->n++;
		for (size_t k = 0; rc == PP_OK && k + 1 < ts->n; k++)
			if (strcmp(ts->t[k].name, ts->t[ts->n - 1].name) == 0) {
				pp_y_err(err, pp_ymap_get(n->vals[i], "name"),
					 "phone type '%s' is declared twice", ts->t[k].name);
				rc = PP_EINVAL;
			}
	}
	return rc;
}
