/* Phone types of devices (docs/flavors.md): a device's `extra` checked
 * against its type's schema on every administrator's write, `prevent_sip`
 * kept in the document and its events, the type's values and codecs in what
 * templates see, and the effective config handed to the lifecycle hooks. */
#include "prov_int.h"

#include <string.h>

#include "daemon/plugin/phonetypes.h"

static const struct pp_ptype *dev_type(const struct pp_registry *reg, const json_t *dev,
				       const struct pp_plugin *p)
{
	const char *type = json_string_value(json_object_get(dev, "phone_type"));

	if (!type || !reg)
		return NULL;
	return pp_phone_type_find(reg, p ? p->name : prov_jstr(dev, "plugin"), type);
}

int prov_check_extra(const struct pp_registry *reg, json_t *dev, struct pp_err *err)
{
	const json_t *extra = json_object_get(dev, "extra");
	const struct pp_ptype *t = dev_type(reg, dev, NULL);
	json_t *out = NULL;
	int rc;

	if (!t) {
		if (json_object_get(dev, "phone_type")) {
			pp_err_field(err, "phone_type", "no such phone type: %s",
				     prov_jstr(dev, "phone_type"));
			return PP_EINVAL;
		}
		/* without a type there is no schema to hold the values to */
		if (json_object_size(extra)) {
			pp_err_field(err, "extra", "extra needs a phone_type: its extra_fields "
				     "are the schema of these values");
			return PP_EINVAL;
		}
		json_object_del(dev, "extra");
		return PP_OK;
	}
	if ((rc = pp_phone_type_check_extra(t, extra, &out, err)) != PP_OK)
		return rc;
	if (json_object_size(out))
		json_object_set_new(dev, "extra", out);
	else {
		json_decref(out);
		json_object_del(dev, "extra");
	}
	return PP_OK;
}

void prov_set_prevent_sip(const struct pp_registry *reg, json_t *dev, const struct pp_plugin *p)
{
	const struct pp_ptype *t = dev_type(reg, dev, p);

	if (t)
		json_object_set_new(dev, "prevent_sip", json_boolean(pp_phone_type_prevent_sip(t)));
	else
		json_object_del(dev, "prevent_sip");
}

int prov_event_dev(struct pp_txn *t, const char *type, const char *mac, const json_t *dev,
		   const char *plugin, const char *source)
{
	json_t *o = json_pack("{s:s}", "mac", mac), *v;
	int rc;

	if (!o)
		return PP_ENOMEM;
	if (plugin)
		json_object_set_new(o, "plugin", json_string(plugin));
	if (source)
		json_object_set_new(o, "source", json_string(source));
	if ((v = json_object_get(dev, "phone_type")))
		json_object_set(o, "phone_type", v);
	if ((v = json_object_get(dev, "prevent_sip")))
		json_object_set(o, "prevent_sip", v);
	rc = pp_event_append(t, type, o, NULL);
	json_decref(o);
	return rc;
}

/* What the type adds to the resolved config: `codecs` under the config's
 * own (the config may choose), then `extra` (with defaults) and
 * `phone_type` {name, special, prevent_sip} over it (the device's own). */
json_t *prov_type_layer(const struct pp_registry *reg, const json_t *dev, json_t *config)
{
	const struct pp_plugin *p = reg ? pp_registry_find(reg, prov_jstr(dev, "plugin")) : NULL;
	const struct pp_ptype *t = dev_type(reg, dev, p);
	json_t *extra = NULL, *codecs;
	struct pp_err err = { 0 };

	if (!t)
		return config;
	if (!config && !(config = json_object()))
		return NULL;
	codecs = pp_phone_type_codecs(t, prov_jstr(dev, "model"));
	if (!json_object_get(config, "codecs") && json_array_size(codecs))
		json_object_set(config, "codecs", codecs);
	json_decref(codecs);
	/* stored values were checked when written; a schema changed since
	 * (reload) still gets its defaults, and the stored values stand */
	if (pp_phone_type_check_extra(t, json_object_get(dev, "extra"), &extra, &err) != PP_OK) {
		extra = json_deep_copy(json_object_get(dev, "extra"));
		if (!extra)
			extra = json_object();
	}
	json_object_set_new(config, "extra", extra);
	json_object_set_new(config, "phone_type",
			    json_pack("{s:s, s:b, s:b}", "name", pp_phone_type_name(t), "special",
				      pp_phone_type_special(t), "prevent_sip",
				      pp_phone_type_prevent_sip(t)));
	return config;
}

json_t *prov_hook_config(const struct pp_plugin *p, const json_t *base)
{
	json_t *eff = json_deep_copy(p ? pp_plugin_autoprov(p) : NULL), *b;

	if (!eff)
		eff = json_object();
	/* merged from a copy: nothing the hook is given is shared */
	if (eff && json_is_object(base) && (b = json_deep_copy(base))) {
		pp_json_merge(eff, b);
		json_decref(b);
	}
	return eff;
}

const struct pp_plugin *prov_type_plugin(const struct pp_registry *reg, const json_t *dev,
					 const struct pp_plugin *p)
{
	const struct pp_ptype *t = dev ? dev_type(reg, dev, p) : NULL;

	return t ? pp_phone_type_plugin(t) : NULL;
}

bool prov_hooks_wanted(const struct pp_registry *reg, const json_t *dev,
		       const struct pp_plugin *p)
{
	const struct pp_plugin *tp = prov_type_plugin(reg, dev, p);

	return (p && pp_plugin_has_hooks(p)) || (tp && pp_plugin_has_hooks(tp));
}
