/* Administrators (REST API, CLI): device documents checked, written,
 * deleted and explained, through the same apply machinery as phones. */
#include "prov_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/plugin/phonetypes.h"
#include "lib/log.h"

#define FIELD_MAX 255

/* Fields a client may set; the rest belong to the server. */
static const char *const fact_fields[] = { "vendor", "model", "version", "serial" };
static const char *const str_fields[] = { "vendor", "model", "version", "serial", "plugin",
					  "config", "phone_type", "description" };
/* Read-only for clients, kept by a PUT. */
static const char *const server_fields[] = { "state", "created", "updated", "last_seen",
					     "scores", "dhcp", "render", "provisioned",
					     "prevent_sip" };

static bool in_list(const char *k, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(k, list[i]) == 0)
			return true;
	return false;
}

static bool valid_ip(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Config ids: 1-128 of A-Z a-z 0-9 _ - and '.' (not first). */
static bool valid_id(const char *s, size_t n)
{
	if (n == 0 || n > 128 || strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || (c == '.' && i > 0)))
			return false;
	}
	return true;
}

int pp_prov_device_check(const json_t *body, bool partial, struct pp_err *err)
{
	const char *k;
	json_t *v;
	char mac[18];
	int rc;

	if (!json_is_object(body)) {
		pp_err_field(err, "", "request body must be a JSON object");
		return PP_EBADREQ;
	}
	json_object_foreach((json_t *)body, k, v) {
		if (strcmp(k, "mac") == 0) {
			if (!json_is_string(v)) {
				pp_err_field(err, k, "mac must be a string");
				return PP_EBADREQ;
			}
			if (pp_mac_normalize(json_string_value(v), json_string_length(v), mac) !=
			    PP_OK) {
				pp_err_field(err, k, "not a MAC address");
				return PP_EINVAL;
			}
		} else if (strcmp(k, "ip") == 0) {
			if (json_is_null(v))
				continue;
			if (!json_is_string(v)) {
				pp_err_field(err, k, "ip must be a string or null");
				return PP_EBADREQ;
			}
			if (!valid_ip(json_string_value(v))) {
				pp_err_field(err, k, "'%s' is not an IP address (IPv4 or IPv6)",
					     json_string_value(v));
				return PP_EINVAL;
			}
		} else if (in_list(k, str_fields, PP_ARRAY_LEN(str_fields))) {
			if (json_is_null(v))
				continue;
			if (!json_is_string(v)) {
				pp_err_field(err, k, "%s must be a string or null", k);
				return PP_EBADREQ;
			}
			if (json_string_length(v) > FIELD_MAX ||
			    strlen(json_string_value(v)) != json_string_length(v)) {
				pp_err_field(err, k, "%s must be at most %d bytes without NUL", k,
					     FIELD_MAX);
				return PP_EINVAL;
			}
			/* the identification facts are what templates see as
			 * {{device.*}}: refused rather than cut */
			if (in_list(k, fact_fields, PP_ARRAY_LEN(fact_fields)) &&
			    json_string_length(v) >= PP_FIELD_LEN) {
				pp_err_field(err, k, "%s is %zu bytes: at most %d bytes (UTF-8)", k,
					     json_string_length(v), PP_FIELD_LEN - 1);
				return PP_EINVAL;
			}
			if (strcmp(k, "config") == 0 &&
			    !valid_id(json_string_value(v), json_string_length(v))) {
				pp_err_field(err, k, "not a valid config id");
				return PP_EINVAL;
			}
		} else if (strcmp(k, "extra") == 0) {
			if (!json_is_object(v) && !json_is_null(v)) {
				pp_err_field(err, k, "extra must be an object");
				return PP_EBADREQ;
			}
		} else if (in_list(k, server_fields, PP_ARRAY_LEN(server_fields)) ||
			   strcmp(k, "scores") == 0) {
			pp_err_field(err, k, "%s is set by the server", k);
			return PP_EINVAL;
		} else if ((rc = prov_device_compat_field(k, v, err)) != 1) {
			if (rc != 0)
				return rc; /* a provd field (roles.c) of a wrong type */
			pp_err_field(err, k, "unknown field");
			return PP_EINVAL;
		}
	}
	if (!partial && !json_object_get(body, "mac")) {
		pp_err_field(err, "mac", "mac is required");
		return PP_EBADREQ;
	}
	return PP_OK;
}

/* The phone type, looked up in the device's plugin (or any plugin). Returns
 * 1 when special (admin-only), 0 when ordinary or when every type is public
 * (plugins.all_types_public), -1 when unknown. */
static int phone_type_special(const struct pp_registry *reg, const char *plugin,
			      const char *type)
{
	const struct pp_ptype *t = pp_phone_type_find(reg, plugin, type);

	if (!t)
		return -1;
	return pp_phone_type_special(t) && !pp_registry_types_public(reg) ? 1 : 0;
}

/* Is the device (as stored) of a special phone type? */
static bool dev_special(const struct pp_registry *reg, const json_t *dev)
{
	const char *type = json_string_value(json_object_get(dev, "phone_type"));

	return dev && type && phone_type_special(reg, json_string_value(json_object_get(dev, "plugin")),
						 type) > 0;
}

static void drop_nulls(json_t *dev)
{
	const char *k;
	json_t *v;
	void *tmp;

	json_object_foreach_safe(dev, tmp, k, v) {
		if (json_is_null(v))
			json_object_del(dev, k);
	}
}

static int update_ip_index(struct pp_txn *t, const json_t *old, const json_t *dev,
			   const char *mac)
{
	const char *oip = old ? json_string_value(json_object_get(old, "ip")) : NULL;
	const char *nip = dev ? json_string_value(json_object_get(dev, "ip")) : NULL;
	int rc;

	if (oip && (!nip || strcmp(oip, nip) != 0)) {
		char cur[18];

		if (pp_ip2mac_get(t, oip, cur) == PP_OK && strcmp(cur, mac) == 0 &&
		    (rc = pp_ip2mac_del(t, oip)) != PP_OK && rc != PP_ENOENT)
			return rc;
	}
	if (nip && (rc = pp_ip2mac_put(t, nip, mac)) != PP_OK)
		return rc;
	return PP_OK;
}

struct write_arg {
	enum pp_dev_write op;
	const json_t *body;
	const struct pp_actor *who;
};

/* The client's document applied to the record, then its references checked
 * (inside the transaction, so the config cannot vanish meanwhile). */
static int write_mutate(struct pp_txn *t, struct apply *a, json_t *dev, const json_t *old,
			void *arg)
{
	struct write_arg *w = arg;
	const char *plugin, *type, *cfg;
	json_t *v;
	int rc, sp;

	if (old && dev_special(a->reg, old) && !w->who->admin) {
		pp_err_field(&a->err, "phone_type", "phone type %s needs the admin token",
			     prov_jstr(old, "phone_type"));
		return PP_EACCES;
	}
	if (w->op == PP_DEV_REPLACE) {
		/* replace what clients own, keep what the server owns */
		json_object_clear(dev);
		json_object_update(dev, (json_t *)w->body);
		for (size_t i = 0; i < PP_ARRAY_LEN(server_fields); i++)
			if ((v = json_object_get(old, server_fields[i])))
				json_object_set(dev, server_fields[i], v);
	} else {
		json_object_update(dev, (json_t *)w->body);
	}
	drop_nulls(dev);
	json_object_set_new(dev, "mac", json_string(a->mac));
	if (!json_object_get(dev, "state"))
		json_object_set_new(dev, "state", json_string("new"));
	if (!json_object_get(dev, "created"))
		json_object_set_new(dev, "created", json_integer((json_int_t)pp_now_ms()));
	plugin = json_string_value(json_object_get(dev, "plugin"));
	type = json_string_value(json_object_get(dev, "phone_type"));
	cfg = json_string_value(json_object_get(dev, "config"));
	if (plugin && !pp_registry_find(a->reg, plugin)) {
		pp_err_field(&a->err, "plugin", "no enabled plugin '%s'", plugin);
		return PP_EINVAL;
	}
	if (type) {
		sp = phone_type_special(a->reg, plugin, type);
		if (sp < 0) {
			pp_err_field(&a->err, "phone_type", "no such phone type: %s", type);
			return PP_EINVAL;
		}
		if (sp > 0 && !w->who->admin) {
			pp_err_field(&a->err, "phone_type", "phone type %s needs the admin token",
				     type);
			return PP_EACCES;
		}
	}
	if (cfg) {
		json_t *c = NULL;

		rc = pp_cfg_get(t, cfg, &c);
		json_decref(c);
		if (rc == PP_ENOENT) {
			pp_err_field(&a->err, "config", "no config '%s'", cfg);
			return PP_EINVAL;
		}
		if (rc != PP_OK)
			return rc;
	}
	return update_ip_index(t, old, dev, a->mac);
}

int pp_prov_device_write(struct pp_prov *p, const struct pp_actor *who, enum pp_dev_write op,
			 const char *mac_in, const json_t *body, json_t **out, struct pp_err *err)
{
	struct write_arg w = { op, body, who };
	const char *bm;
	char mac[18], bmac[18];
	struct job *j;
	int rc;

	if (out)
		*out = NULL;
	if ((rc = pp_prov_device_check(body, true, err)) != PP_OK) /* mac: the argument */
		return rc;
	if (pp_mac_normalize(mac_in, strlen(mac_in), mac) != PP_OK) {
		pp_err_field(err, "mac", "not a MAC address: %s", mac_in);
		return PP_EINVAL;
	}
	bm = json_string_value(json_object_get(body, "mac"));
	if (bm && (pp_mac_normalize(bm, strlen(bm), bmac) != PP_OK || strcmp(bmac, mac) != 0)) {
		pp_err_field(err, "mac", "mac %s does not match the URL", bm);
		return PP_EINVAL;
	}
	if (!(j = job_new(JOB_APPLY, mac)))
		return PP_ENOMEM;
	j->a.create = j->a.must_create = op == PP_DEV_CREATE;
	j->a.force = true; /* an administrator's write always re-renders */
	j->a.source = who->source;
	j->a.mutate = write_mutate;
	j->a.mutate_arg = &w;
	rc = prov_submit(p, j, NULL, NULL);
	/* committed, but its files are not on disk (a full disk): the change
	 * stands (LMDB is the truth, phones are served, the resync rewrites
	 * the mirror) and the administrator is told, never a plain 200/201 */
	if (rc == PP_OK && j->a.disk_errno)
		rc = PP_EIO;
	if (rc == PP_OK && out)
		*out = json_incref(j->a.dev);
	else if (rc != PP_OK && err)
		*err = j->a.err;
	job_free(j);
	return rc;
}

/* ---- delete ------------------------------------------------------------- */

int delete_txn(struct pp_txn *t, struct job *j)
{
	int rc;

	json_decref(j->deleted);
	j->deleted = NULL;
	j->a.err.msg[0] = j->a.err.field[0] = '\0';
	if ((rc = pp_dev_get(t, j->mac, &j->deleted)) != PP_OK) {
		if (rc == PP_ENOENT)
			pp_err_field(&j->a.err, "mac", "no such device: %s", j->mac);
		return rc;
	}
	if (dev_special(j->a.reg, j->deleted) && !j->who->admin) {
		pp_err_field(&j->a.err, "phone_type", "phone type %s needs the admin token",
			     prov_jstr(j->deleted, "phone_type"));
		return PP_EACCES;
	}
	if ((rc = prov_forget_txn(t, j->deleted)) != PP_OK ||
	    (rc = update_ip_index(t, j->deleted, NULL, j->mac)) != PP_OK ||
	    (rc = pp_dev_del(t, j->mac)) != PP_OK ||
	    (rc = prov_roles_on_delete(t, j->deleted, j->mac)) != PP_OK)
		return rc;
	/* the config the delete hook sees: the device's as it was */
	json_decref(j->a.hook_base);
	j->a.hook_base = NULL;
	if (prov_resolve_config(t, j->a.cfg, j->a.reg, j->deleted, &j->a.hook_base) != PP_OK)
		j->a.hook_base = NULL;
	return prov_event_dev(t, "device.deleted", j->mac, j->deleted, NULL, j->who->source);
}

void delete_after(struct pp_prov *p, struct job *j)
{
	struct apply a = { 0 };

	prov_forget_disk(p, j->deleted);
	pp_log(PP_LOG_INFO, "device.deleted", "mac=%s source=%s", j->mac, j->who->source);
	/* the device leaves its plugin */
	a.mac = j->mac;
	a.old = j->deleted;
	a.old_plugin = pp_registry_find(j->a.reg, prov_jstr(j->deleted, "plugin"));
	a.reg = j->a.reg;
	a.hook_base = j->a.hook_base;
	prov_hooks(&a);
}

int pp_prov_device_delete(struct pp_prov *p, const struct pp_actor *who, const char *mac_in,
			  struct pp_err *err)
{
	char mac[18];
	struct job *j;
	int rc;

	if (pp_mac_normalize(mac_in, strlen(mac_in), mac) != PP_OK) {
		pp_err_field(err, "mac", "not a MAC address: %s", mac_in);
		return PP_EINVAL;
	}
	if (!(j = job_new(JOB_DELETE, mac)))
		return PP_ENOMEM;
	j->who = who;
	rc = prov_submit(p, j, NULL, NULL);
	if (rc != PP_OK && err)
		*err = j->a.err;
	job_free(j);
	return rc;
}

/* ---- explain ------------------------------------------------------------ */

struct explain_arg {
	const char *mac;
	json_t *dev;
	json_t *chain;
	json_t *resolved;
	json_t *files;
};

/* The inheritance chain: the config, then its parents depth first, each
 * config once (at its first place; `seen` holds the ids listed), each
 * {id, raw_config} ({id, missing: true} for a missing parent). */
static json_t *config_chain(struct pp_txn *t, const char *id, int depth, json_t *seen,
			    json_t *chain)
{
	json_t *cfg, *v;
	size_t i;

	if (!id || depth >= PP_CFG_MAX_DEPTH || !chain || !seen || json_object_get(seen, id) ||
	    json_object_size(seen) >= PP_CFG_MAX_CHAIN)
		return chain;
	json_object_set_new(seen, id, json_true());
	if (pp_cfg_get(t, id, &cfg) != PP_OK) {
		json_array_append_new(chain, json_pack("{s:s, s:b}", "id", id, "missing", 1));
		return chain;
	}
	json_array_append_new(chain, json_pack("{s:s, s:O?}", "id", id, "raw_config",
					       json_object_get(cfg, "raw_config")));
	json_array_foreach(json_object_get(cfg, "parent_ids"), i, v)
		config_chain(t, json_string_value(v), depth + 1, seen, chain);
	json_decref(cfg);
	return chain;
}

static int explain_txn(struct pp_txn *t, void *arg)
{
	struct explain_arg *e = arg;
	const json_t *render;
	const char *cid;
	json_t *v, *seen;
	size_t i;
	int rc;

	json_decref(e->dev);
	json_decref(e->chain);
	json_decref(e->resolved);
	json_decref(e->files);
	e->dev = e->chain = e->resolved = e->files = NULL;
	if ((rc = pp_dev_get(t, e->mac, &e->dev)))
		return rc;
	cid = json_string_value(json_object_get(e->dev, "config"));
	seen = json_object();
	e->chain = config_chain(t, cid, 0, seen, json_array());
	json_decref(seen);
	if (cid && pp_cfg_resolve(t, cid, &e->resolved) != PP_OK)
		e->resolved = NULL;
	e->files = json_array();
	render = json_object_get(e->dev, "render");
	json_array_foreach(json_object_get(render, "files"), i, v) {
		struct pp_file f;
		const char *path = json_string_value(v);

		if (path && pp_file_get(t, path, &f) == PP_OK)
			json_array_append_new(
				e->files,
				json_pack("{s:s, s:I, s:s, s:s?}", "path", path, "size",
					  (json_int_t)f.size, "etag", f.etag, "template",
					  json_string_value(json_object_get(
						  json_object_get(render, "templates"), path))));
	}
	return PP_OK;
}

/* Each general setting (ip, http_port, tftp_port, http_base_url,
 * tftp_server) as the device's templates see it: {value, source}, the
 * source the layer that won: the nearest config of the chain setting it
 * ("config ID"), the plugin's autoprov default, or the general settings
 * themselves ("general settings (http.listen)", "provisioning.public_url").
 * A setting no layer gives is listed with value null and why. */
static json_t *general_explain(const struct pp_config *cfg, const struct pp_plugin *pl,
			       const json_t *chain)
{
	static const char *const keys[] = { "ip", "http_port", "tftp_port", "http_base_url",
					    "tftp_server" };
	json_t *o = json_object();

	for (size_t i = 0; o && i < PP_ARRAY_LEN(keys); i++) {
		const char *k = keys[i];
		const json_t *v = NULL, *c;
		char src[300] = "";
		size_t j;

		json_array_foreach(chain, j, c) {
			const json_t *raw = json_object_get(c, "raw_config");

			if ((v = json_object_get(raw, k))) {
				const char *id = json_string_value(json_object_get(c, "id"));

				snprintf(src, sizeof(src), "config %s", id ? id : "?");
				break;
			}
		}
		if (!v && pl && (v = json_object_get(pp_plugin_autoprov(pl), k)))
			snprintf(src, sizeof(src), "plugin %s autoprov default", pl->name);
		if (!v && cfg && (v = json_object_get(cfg->general, k)))
			snprintf(src, sizeof(src), "%s",
				 json_string_value(json_object_get(cfg->general_src, k)));
		if (!v && !strcmp(k, "tftp_server"))
			snprintf(src, sizeof(src), "not set: tftp.listen is a wildcard address");
		else if (!v)
			snprintf(src, sizeof(src), "not set: %s",
				 cfg && cfg->general_warn[0] ? cfg->general_warn : "no general settings");
		json_object_set_new(o, k, json_pack("{s:O?, s:s}", "value", (json_t *)v,
						    "source", src));
	}
	return o;
}

int pp_prov_explain(struct pp_prov *p, const char *mac_in, json_t **out)
{
	static const char *const keys[] = { "vendor", "model", "version", "mac", "serial", "ip" };
	struct explain_arg e = { 0 };
	struct pp_snapshot *s;
	const struct pp_plugin *pl;
	json_t *o, *ext;
	char mac[18];
	int rc;

	*out = NULL;
	if (pp_mac_normalize(mac_in, strlen(mac_in), mac) != PP_OK)
		return PP_EINVAL;
	e.mac = mac;
	if ((rc = pp_store_read(p->store, explain_txn, &e)) != PP_OK)
		return rc;
	if (!(s = pp_snaps_acquire(p->snaps))) {
		rc = PP_EIO;
		goto done;
	}
	pl = pp_registry_find(s->reg, json_string_value(json_object_get(e.dev, "plugin")));
	o = json_object();
	ext = json_object();
	for (size_t i = 0; i < PP_ARRAY_LEN(keys); i++)
		json_object_set(ext, keys[i], json_object_get(e.dev, keys[i]) ?
				json_object_get(e.dev, keys[i]) : json_null());
	json_object_set_new(o, "device", ext);
	json_object_set(o, "dhcp", json_object_get(e.dev, "dhcp") ?
			json_object_get(e.dev, "dhcp") : json_null());
	{
		/* every plugin's score: those the device record does not list
		 * scored IMPROBABLE */
		json_t *stored = json_object_get(e.dev, "scores"), *all = json_object();

		for (size_t i = 0; all && i < pp_registry_count(s->reg); i++) {
			const char *name = pp_registry_at(s->reg, i)->name;
			json_t *v = json_object_get(stored, name);

			json_object_set_new(all, name, v ? json_incref(v) :
							   json_string(pp_score_name(PP_IMPROBABLE)));
		}
		json_object_set_new(o, "scores", all);
	}
	json_object_set_new(o, "plugin", pl ? json_string(pl->name) : json_null());
	json_object_set(o, "config_id", json_object_get(e.dev, "config") ?
			json_object_get(e.dev, "config") : json_null());
	json_object_set(o, "config_chain", e.chain);
	json_object_set(o, "config_resolved", e.resolved ? e.resolved : json_null());
	if (pl) {
		json_t *merged = prov_general_layer(s->cfg, pl);

		if (!merged)
			merged = json_object();
		pp_json_merge(merged, pp_plugin_autoprov(pl));
		if (e.resolved)
			pp_json_merge(merged, e.resolved);
		json_object_set(o, "plugin_autoprov", (json_t *)pp_plugin_autoprov(pl));
		json_object_set_new(o, "config_merged", merged);
		json_object_set(o, "plugin_settings", (json_t *)pp_plugin_settings(pl));
	}
	json_object_set_new(o, "general_settings", general_explain(s->cfg, pl, e.chain));
	json_object_set(o, "files", e.files);
	pp_snapshot_release(s);
	*out = o;
done:
	json_decref(e.dev);
	json_decref(e.chain);
	json_decref(e.resolved);
	json_decref(e.files);
	return rc;
}
