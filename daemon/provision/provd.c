/* Reading Wazo provd's documents (see provd.h and docs/migrating-from-provd.md).
 * Mapping tables, not code paths: which provd field becomes which phoneprov
 * field, which are kept as they are, which are renamed X_provd_<field>. */
#include "provd.h"

#include <stdio.h>
#include <string.h>

/* phoneprov's config fields, kept as they are */
static const char *const cfg_keep[] = { "id", "parent_ids", "raw_config", "role", "transient",
					"deletable", "description" };
/* phoneprov's own device fields (an export) and provd's, kept as they are */
static const char *const dev_keep[] = {
	"mac", "ip", "vendor", "model", "version", "serial", "config", "description",
	"phone_type", "extra", "plugin",
	"id", "added", "configured", "is_new", "options", "tenant_uuid", "uuid",
	"remote_state_sip_username",
};
/* provd's name -> phoneprov's */
static const char *const dev_rename[][2] = { { "sn", "serial" } };
/* server-owned fields of an export: not client fields, dropped */
static const char *const dev_server[] = { "state", "created", "updated", "last_seen", "scores",
					  "dhcp", "render", "provisioned" };

static bool in(const char *k, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(k, list[i]) == 0)
			return true;
	return false;
}

int pp_provd_parse(const char *text, size_t len, json_t **out, struct pp_err *err)
{
	json_error_t je;
	json_t *j;

	*out = NULL;
	if (len > PP_PROVD_DOC_MAX) {
		pp_err_set(err, "document too large (%zu bytes, at most %u)", len,
			   PP_PROVD_DOC_MAX);
		return PP_EINVAL;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		pp_err_set(err, "not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
		return PP_EINVAL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		pp_err_set(err, "not a JSON object");
		return PP_EINVAL;
	}
	*out = j;
	return PP_OK;
}

/* A field without a phoneprov name: X_ fields as they are, the rest as
 * X_provd_<field>. */
static void keep_unknown(json_t *out, const char *k, json_t *v)
{
	char name[160];

	if (strncmp(k, "X_", 2) == 0) {
		json_object_set(out, k, v);
		return;
	}
	snprintf(name, sizeof(name), "X_provd_%s", k);
	json_object_set(out, name, v);
}

int pp_provd_config(const json_t *doc, json_t **out, struct pp_err *err)
{
	const char *k;
	json_t *v, *o;

	*out = NULL;
	if (!json_is_object(doc)) {
		pp_err_set(err, "not a JSON object");
		return PP_EINVAL;
	}
	if (!json_is_string(json_object_get(doc, "id"))) {
		pp_err_field(err, "id", "no id (a string)");
		return PP_EINVAL;
	}
	if (!(o = json_object()))
		return PP_ENOMEM;
	json_object_foreach((json_t *)doc, k, v) {
		if (strcmp(k, "created") == 0 || strcmp(k, "updated") == 0)
			continue; /* an export's server fields */
		if (strcmp(k, "raw_config") == 0 && json_is_object(v)) {
			json_t *raw = json_object();
			const char *rk;
			json_t *rv;

			json_object_foreach(v, rk, rv)
				if (!json_is_null(rv))
					json_object_set(raw, rk, rv);
			json_object_set_new(o, k, raw);
		} else if (in(k, cfg_keep, PP_ARRAY_LEN(cfg_keep))) {
			if (!json_is_null(v))
				json_object_set(o, k, v);
		} else {
			keep_unknown(o, k, v);
		}
	}
	*out = o;
	return PP_OK;
}

int pp_provd_device(const json_t *doc, json_t **out, char mac[18], char plugin[128],
		    struct pp_err *err)
{
	const char *k, *m;
	json_t *v, *o;

	*out = NULL;
	mac[0] = plugin[0] = '\0';
	if (!json_is_object(doc)) {
		pp_err_set(err, "not a JSON object");
		return PP_EINVAL;
	}
	m = json_string_value(json_object_get(doc, "mac"));
	if (!m) {
		pp_err_field(err, "mac", "no mac: phoneprov keys devices by MAC address");
		return PP_EINVAL;
	}
	if (pp_mac_normalize(m, strlen(m), mac) != PP_OK) {
		pp_err_field(err, "mac", "not a MAC address: %.40s", m);
		return PP_EINVAL;
	}
	if (!(o = json_object()))
		return PP_ENOMEM;
	json_object_foreach((json_t *)doc, k, v) {
		bool done = false;

		if (json_is_null(v) || in(k, dev_server, PP_ARRAY_LEN(dev_server)))
			continue;
		if (strcmp(k, "plugin") == 0 && json_is_string(v)) {
			snprintf(plugin, 128, "%s", json_string_value(v));
			continue; /* the caller maps it */
		}
		for (size_t i = 0; i < PP_ARRAY_LEN(dev_rename); i++)
			if (strcmp(k, dev_rename[i][0]) == 0) {
				json_object_set(o, dev_rename[i][1], v);
				done = true;
			}
		if (done)
			continue;
		if (in(k, dev_keep, PP_ARRAY_LEN(dev_keep)))
			json_object_set(o, k, v);
		else
			keep_unknown(o, k, v);
	}
	json_object_set_new(o, "mac", json_string(mac));
	*out = o;
	return PP_OK;
}
