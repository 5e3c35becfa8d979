/* Config roles and provd's device fields (issue 14).
 *
 * A config may carry `role`: "default" (the config a new device without
 * one gets) or "autocreate" (cloned, for a new phone that provisions
 * itself, into a transient config of its own, as Wazo provd does). At most
 * one config holds each role. A transient config goes with the last device
 * that uses it; `deletable: false` protects a config from DELETE.
 *
 * Device documents may carry provd's fields (id, added, configured,
 * is_new, options, remote_state_sip_username, tenant_uuid, sn, uuid) and
 * X_ fields: accepted, type-checked and kept as they are. */
#include "prov_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "daemon/config/rawschema.h"

/* ---- device documents -------------------------------------------------- */

int prov_device_compat_field(const char *k, const json_t *v, struct pp_err *err)
{
	static const char *const strs[] = { "id", "added", "remote_state_sip_username",
					    "tenant_uuid", "sn", "uuid" };
	static const char *const bools[] = { "configured", "is_new" };

	if (strncmp(k, "X_", 2) == 0)
		return 1;
	for (size_t i = 0; i < PP_ARRAY_LEN(strs); i++) {
		if (strcmp(k, strs[i]) != 0)
			continue;
		if (!json_is_string(v) && !json_is_null(v)) {
			pp_err_field(err, k, "%s must be a string or null", k);
			return PP_EBADREQ;
		}
		if (json_is_string(v) && (json_string_length(v) > 255 ||
					  strlen(json_string_value(v)) != json_string_length(v))) {
			pp_err_field(err, k, "%s must be at most 255 bytes without NUL", k);
			return PP_EINVAL;
		}
		return 1;
	}
	for (size_t i = 0; i < PP_ARRAY_LEN(bools); i++) {
		if (strcmp(k, bools[i]) != 0)
			continue;
		if (!json_is_boolean(v) && !json_is_null(v)) {
			pp_err_field(err, k, "%s must be true or false", k);
			return PP_EBADREQ;
		}
		return 1;
	}
	if (strcmp(k, "options") == 0) {
		if (!json_is_object(v) && !json_is_null(v)) {
			pp_err_field(err, k, "options must be an object");
			return PP_EBADREQ;
		}
		return 1;
	}
	return 0;
}

/* ---- roles ---------------------------------------------------------------- */

struct role_find {
	const char *role;
	const char *skip;   /* a config id not to count (the one being written) */
	char id[136];
};

static int role_cb(const char *id, json_t *cfg, void *arg)
{
	struct role_find *f = arg;
	const char *r = json_string_value(json_object_get(cfg, "role"));

	if (!r || strcmp(r, f->role) != 0 || (f->skip && strcmp(id, f->skip) == 0))
		return PP_OK;
	snprintf(f->id, sizeof(f->id), "%s", id);
	return PP_EEXIST; /* found: stop */
}

int prov_role_find(struct pp_txn *t, const char *role, const char *skip, char id[136])
{
	struct role_find f = { .role = role, .skip = skip };
	int rc = pp_cfg_each(t, role_cb, &f);

	if (rc == PP_EEXIST) {
		snprintf(id, 136, "%s", f.id);
		return PP_OK;
	}
	return rc == PP_OK ? PP_ENOENT : rc;
}

#define PROV_ROLE_TTL_MS 1000

/* prov_role_find through p's cache: a remembered config is checked (one
 * read); the whole list is read again after a config write of this process
 * or PROV_ROLE_TTL_MS (another process may have written one). */
static int role_cached(struct pp_prov *p, struct pp_txn *t, int which, char id[136])
{
	static const char *const names[2] = { "default", "autocreate" };
	struct prov_role_cache *c;
	uint64_t gen;
	int64_t now = pp_now_ms();
	int rc;

	if (!p)
		return prov_role_find(t, names[which], NULL, id);
	c = &p->roles[which];
	gen = atomic_load(&p->cfg_gen);
	if (c->at_ms && c->gen == gen && now - c->at_ms < PROV_ROLE_TTL_MS) {
		json_t *cfg = NULL;

		if (c->rc == PP_ENOENT)
			return PP_ENOENT;
		if (pp_cfg_get(t, c->id, &cfg) == PP_OK &&
		    json_is_string(json_object_get(cfg, "role")) &&
		    strcmp(json_string_value(json_object_get(cfg, "role")), names[which]) == 0) {
			json_decref(cfg);
			snprintf(id, 136, "%s", c->id);
			return PP_OK;
		}
		json_decref(cfg);
	}
	rc = prov_role_find(t, names[which], NULL, id);
	if (rc == PP_OK || rc == PP_ENOENT) {
		c->rc = rc;
		snprintf(c->id, sizeof(c->id), "%s", rc == PP_OK ? id : "");
		c->gen = gen;
		c->at_ms = now;
	}
	return rc;
}

/* A new device without a config: a phone that provisions itself gets a
 * transient clone of the autocreate config (when there is one), anyone
 * else, or a phone without an autocreate config, the default config. */
int prov_roles_on_create(struct pp_prov *p, struct pp_txn *t, json_t *dev, const char *mac,
			 bool phone)
{
	char id[136], tid[160];
	json_t *cfg = NULL, *clone;
	int rc;

	if (json_is_string(json_object_get(dev, "config")))
		return PP_OK;
	if (phone && (rc = role_cached(p, t, 1, id)) == PP_OK) {
		char m[13];
		size_t j = 0;

		for (size_t i = 0; mac[i] && j < 12; i++)
			if (mac[i] != ':')
				m[j++] = mac[i];
		m[j] = '\0';
		snprintf(tid, sizeof(tid), "%s-%s", id, m);
		if ((rc = pp_cfg_get(t, id, &cfg)) != PP_OK)
			return rc;
		/* the clone inherits from the autocreate config: a change of it
		 * reaches every phone it made */
		clone = json_pack("{s:s, s:[s], s:{}, s:b, s:b, s:s, s:I, s:I}", "id", tid,
				  "parent_ids", id, "raw_config", "transient", 1, "deletable", 1,
				  "description", "made for a new phone from the autocreate config",
				  "created", (json_int_t)pp_now_ms(), "updated",
				  (json_int_t)pp_now_ms());
		json_decref(cfg);
		if (!clone)
			return PP_ENOMEM;
		rc = pp_cfg_put(t, tid, clone);
		json_decref(clone);
		if (rc == PP_OK)
			json_object_set_new(dev, "config", json_string(tid));
		return rc;
	} else if (phone && rc != PP_ENOENT) {
		return rc;
	}
	rc = role_cached(p, t, 0, id);
	if (rc == PP_OK)
		json_object_set_new(dev, "config", json_string(id));
	return rc == PP_ENOENT ? PP_OK : rc;
}

struct users {
	const char *id;
	const char *mac;
};

static int other_user_cb(const char *mac, json_t *dev, void *arg)
{
	struct users *u = arg;
	const char *c = json_string_value(json_object_get(dev, "config"));

	return c && strcmp(c, u->id) == 0 && strcmp(mac, u->mac) != 0 ? PP_EEXIST : PP_OK;
}

static int heir_cb(const char *id, json_t *cfg, void *arg)
{
	struct users *u = arg;
	json_t *p;
	size_t i;

	(void)id;
	json_array_foreach(json_object_get(cfg, "parent_ids"), i, p)
		if (json_is_string(p) && strcmp(json_string_value(p), u->id) == 0)
			return PP_EEXIST;
	return PP_OK;
}

/* The device `dev` is gone (or left its config): its config goes too when
 * transient and nothing else uses it. */
int prov_roles_on_delete(struct pp_txn *t, const json_t *dev, const char *mac)
{
	const char *id = json_string_value(json_object_get(dev, "config"));
	struct users u = { id, mac };
	json_t *cfg = NULL;
	int rc;

	if (!id || pp_cfg_get(t, id, &cfg) != PP_OK)
		return PP_OK;
	rc = json_is_true(json_object_get(cfg, "transient")) ? PP_OK : PP_ENOENT;
	json_decref(cfg);
	if (rc != PP_OK)
		return PP_OK;
	if ((rc = pp_dev_each(t, NULL, other_user_cb, &u)) == PP_OK &&
	    (rc = pp_cfg_each(t, heir_cb, &u)) == PP_OK)
		rc = pp_cfg_del(t, id);
	return rc == PP_EEXIST ? PP_OK : rc;
}

/* Line 1's username of the device's effective config (for
 * remote_state_sip_username), "" when none. */
void prov_line1_username(struct pp_txn *t, const json_t *dev, char *out, size_t n)
{
	const char *id = json_string_value(json_object_get(dev, "config"));
	json_t *cfg = NULL;
	const char *u;

	out[0] = '\0';
	if (!id || pp_cfg_resolve(t, id, &cfg) != PP_OK)
		return;
	u = json_string_value(json_object_get(pp_rawcfg_line1(cfg), "username"));
	if (u)
		snprintf(out, n, "%s", u);
	json_decref(cfg);
}
