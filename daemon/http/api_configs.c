/* /api/v1/configs: {id, parent_ids, raw_config, description}. Parents must
 * exist and not form a cycle; a config that others inherit from or devices
 * use cannot be deleted (409). Every change: one transaction + an event,
 * then the pipeline re-renders the devices that inherit from it. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../log.h"
#include "../pipeline.h"
#include "../store/store.h"
#include "api_int.h"

#define MAX_PARENTS 32
#define MAX_DEPTH 64

bool api_valid_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '-' ||
			  (c == '.' && i > 0);

		if (!ok)
			return false;
	}
	return true;
}

int api_check_config(const json_t *body, struct api_err *e)
{
	const char *k;
	json_t *v;

	if (!json_is_object(body)) {
		api_err_set(e, 400, "", "request body must be a JSON object");
		return -1;
	}
	json_object_foreach((json_t *)body, k, v) {
		if (strcmp(k, "id") == 0) {
			if (!json_is_string(v)) {
				api_err_set(e, 400, k, "id must be a string");
				return -1;
			}
			if (!api_valid_id(json_string_value(v)) ||
			    strlen(json_string_value(v)) != json_string_length(v)) {
				api_err_set(e, 422, k,
					    "id must be 1-128 characters of A-Z a-z 0-9 . _ -");
				return -1;
			}
		} else if (strcmp(k, "parent_ids") == 0) {
			size_t i;
			json_t *p;

			if (!json_is_array(v)) {
				api_err_set(e, 400, k, "parent_ids must be an array of ids");
				return -1;
			}
			if (json_array_size(v) > MAX_PARENTS) {
				api_err_set(e, 422, k, "at most %d parents", MAX_PARENTS);
				return -1;
			}
			json_array_foreach(v, i, p) {
				if (!json_is_string(p)) {
					api_err_set(e, 400, k, "parent_ids[%zu] must be a string", i);
					return -1;
				}
				if (!api_valid_id(json_string_value(p))) {
					api_err_set(e, 422, k, "parent_ids[%zu] is not a valid id", i);
					return -1;
				}
				for (size_t j = 0; j < i; j++) {
					if (json_equal(p, json_array_get(v, j))) {
						api_err_set(e, 422, k, "parent_ids[%zu] is repeated",
							    i);
						return -1;
					}
				}
			}
		} else if (strcmp(k, "raw_config") == 0) {
			if (!json_is_object(v)) {
				api_err_set(e, 400, k, "raw_config must be an object");
				return -1;
			}
		} else if (strcmp(k, "description") == 0) {
			if (!json_is_string(v) && !json_is_null(v)) {
				api_err_set(e, 400, k, "description must be a string");
				return -1;
			}
		} else if (strcmp(k, "created") == 0 || strcmp(k, "updated") == 0) {
			api_err_set(e, 422, k, "%s is set by the server", k);
			return -1;
		} else {
			api_err_set(e, 422, k, "unknown field");
			return -1;
		}
	}
	return 0;
}

/* ---- transactions ------------------------------------------------------ */

enum cfg_op { OP_CREATE, OP_PUT, OP_DELETE };

struct cfg_txn {
	enum cfg_op op;
	const char *id;
	const json_t *body;
	json_t *result;
	struct api_err e;
	int64_t now;
};

/* Does walking up from `from` reach `target`? (depth-bounded DFS) */
static int reaches(struct pp_txn *t, const char *from, const char *target, int depth)
{
	json_t *c = NULL, *p;
	size_t i;
	int rc;

	if (strcmp(from, target) == 0)
		return 1;
	if (depth > MAX_DEPTH)
		return 1; /* treat as a cycle: refuse */
	if (pp_cfg_get(t, from, &c) != PP_OK)
		return 0;
	json_array_foreach(json_object_get(c, "parent_ids"), i, p) {
		const char *pid = json_string_value(p);

		if (pid && (rc = reaches(t, pid, target, depth + 1)) != 0) {
			json_decref(c);
			return rc;
		}
	}
	json_decref(c);
	return 0;
}

struct users_arg {
	const char *id;
	char who[160];
};

static int cfg_user_cb(const char *id, json_t *cfg, void *arg)
{
	struct users_arg *a = arg;
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(cfg, "parent_ids"), i, p) {
		if (json_is_string(p) && strcmp(json_string_value(p), a->id) == 0) {
			snprintf(a->who, sizeof(a->who), "config %s inherits from it", id);
			return PP_EEXIST;
		}
	}
	return PP_OK;
}

static int dev_user_cb(const char *mac, json_t *dev, void *arg)
{
	struct users_arg *a = arg;
	const char *c = json_string_value(json_object_get(dev, "config"));

	if (c && strcmp(c, a->id) == 0) {
		snprintf(a->who, sizeof(a->who), "device %s uses it", mac);
		return PP_EEXIST;
	}
	return PP_OK;
}

static int check_parents(struct pp_txn *t, struct cfg_txn *x, const json_t *cfg)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(cfg, "parent_ids"), i, p) {
		const char *pid = json_string_value(p);
		json_t *pc = NULL;
		int rc;

		if (strcmp(pid, x->id) == 0) {
			api_err_set(&x->e, 422, "parent_ids", "a config cannot inherit from itself");
			return PP_EINVAL;
		}
		rc = pp_cfg_get(t, pid, &pc);
		json_decref(pc);
		if (rc == PP_ENOENT) {
			api_err_set(&x->e, 422, "parent_ids", "no such config: %s", pid);
			return PP_EINVAL;
		}
		if (rc != PP_OK)
			return rc;
		if (x->op == OP_PUT && reaches(t, pid, x->id, 0)) {
			api_err_set(&x->e, 422, "parent_ids", "inheriting from %s makes a cycle",
				    pid);
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

static int cfg_txn_fn(struct pp_txn *t, void *arg)
{
	struct cfg_txn *x = arg;
	json_t *old = NULL, *cfg = NULL, *ev;
	const char *type;
	int rc = pp_cfg_get(t, x->id, &old);

	json_decref(x->result);
	x->result = NULL;
	if (rc != PP_OK && rc != PP_ENOENT)
		return rc;
	if (x->op == OP_CREATE && old) {
		json_decref(old);
		api_err_set(&x->e, 409, "id", "config %s exists", x->id);
		return PP_EEXIST;
	}
	if (x->op != OP_CREATE && !old) {
		api_err_set(&x->e, 404, "id", "no such config: %s", x->id);
		return PP_ENOENT;
	}
	if (x->op == OP_DELETE) {
		struct users_arg ua = { .id = x->id };

		rc = pp_cfg_each(t, cfg_user_cb, &ua);
		if (rc == PP_OK)
			rc = pp_dev_each(t, NULL, dev_user_cb, &ua);
		if (rc == PP_EEXIST) {
			api_err_set(&x->e, 409, "id", "config %s is in use: %s", x->id, ua.who);
			json_decref(old);
			return rc;
		}
		if (rc == PP_OK)
			rc = pp_cfg_del(t, x->id);
		type = "config.deleted";
		cfg = old;
		old = NULL;
	} else {
		cfg = json_deep_copy(x->body);
		if (!cfg) {
			json_decref(old);
			return PP_ENOMEM;
		}
		if (json_is_null(json_object_get(cfg, "description")))
			json_object_del(cfg, "description");
		json_object_set_new(cfg, "id", json_string(x->id));
		if (!json_object_get(cfg, "parent_ids"))
			json_object_set_new(cfg, "parent_ids", json_array());
		if (!json_object_get(cfg, "raw_config"))
			json_object_set_new(cfg, "raw_config", json_object());
		json_t *created = old ? json_object_get(old, "created") : NULL;

		json_object_set_new(cfg, "created",
				    created ? json_incref(created) : json_integer(x->now));
		json_object_set_new(cfg, "updated", json_integer(x->now));
		rc = check_parents(t, x, cfg);
		if (rc == PP_OK)
			rc = pp_cfg_put(t, x->id, cfg);
		type = x->op == OP_CREATE ? "config.created" : "config.updated";
	}
	json_decref(old);
	if (rc == PP_OK) {
		ev = json_pack("{s:s, s:s}", "id", x->id, "source", "api");
		rc = ev ? pp_event_append(t, type, ev, NULL) : PP_ENOMEM;
		json_decref(ev);
	}
	if (rc != PP_OK) {
		json_decref(cfg);
		return rc;
	}
	x->result = cfg;
	return PP_OK;
}

static enum MHD_Result run_cfg_txn(struct api_req *r, struct cfg_txn *x, unsigned ok_status)
{
	int rc;

	x->now = pp_now_ms();
	x->e.status = 0;
	rc = pp_store_write(r->api->d->store, cfg_txn_fn, x);
	if (rc != PP_OK) {
		json_decref(x->result);
		if (x->e.status)
			return api_error_e(r, &x->e);
		return api_code_error(r, rc, "store", NULL);
	}
	if (x->op != OP_CREATE) {
		rc = pp_pipeline_config_changed(r->api->d, x->id);
		if (rc != PP_OK && rc != PP_ENOTSUP)
			pp_log(PP_LOG_WARN, "api.rerender_failed", "config=%s error=%s", x->id,
			       pp_strerror(rc));
	}
	if (x->op == OP_DELETE) {
		json_decref(x->result);
		return api_text(r, 204, "application/json", NULL, 0);
	}
	return api_json(r, ok_status, x->result);
}

/* ---- handlers ------------------------------------------------------------ */

struct list_txn {
	json_t *arr;
};

static int list_cb(const char *id, json_t *cfg, void *arg)
{
	(void)id;
	return json_array_append(((struct list_txn *)arg)->arr, cfg) == 0 ? PP_OK : PP_ENOMEM;
}

static int list_txn_fn(struct pp_txn *t, void *arg)
{
	struct list_txn *x = arg;

	json_array_clear(x->arr);
	return pp_cfg_each(t, list_cb, x);
}

struct get_txn {
	const char *id;
	json_t *cfg;
};

static int get_txn_fn(struct pp_txn *t, void *arg)
{
	struct get_txn *x = arg;

	return pp_cfg_get(t, x->id, &x->cfg);
}

static enum MHD_Result write_config(struct api_req *r, enum cfg_op op, const char *url_id)
{
	struct cfg_txn x = { .op = op };
	enum MHD_Result ret;
	json_t *body = api_body_object(r, &ret);
	const char *bid;

	if (!body)
		return ret;
	if (api_check_config(body, &x.e) != 0)
		goto fail;
	bid = json_string_value(json_object_get(body, "id"));
	if (url_id && bid && strcmp(bid, url_id) != 0) {
		api_err_set(&x.e, 422, "id", "id %s does not match the URL", bid);
		goto fail;
	}
	if (!url_id && !bid) {
		api_err_set(&x.e, 400, "id", "id is required");
		goto fail;
	}
	x.id = url_id ? url_id : bid;
	x.body = body;
	ret = run_cfg_txn(r, &x, op == OP_CREATE ? 201 : 200);
	json_decref(body);
	return ret;
fail:
	json_decref(body);
	return api_error_e(r, &x.e);
}

enum MHD_Result api_configs(struct api_req *r)
{
	const char *m = r->method;
	int rc;

	if (r->nseg == 1) {
		if (strcmp(m, "GET") == 0) {
			struct list_txn x = { json_array() };

			rc = pp_store_read(r->api->d->store, list_txn_fn, &x);
			if (rc != PP_OK) {
				json_decref(x.arr);
				return api_code_error(r, rc, "store", NULL);
			}
			return api_json(r, 200, json_pack("{s:o, s:i}", "configs", x.arr, "count",
							  (json_int_t)json_array_size(x.arr)));
		}
		if (strcmp(m, "POST") == 0)
			return write_config(r, OP_CREATE, NULL);
		return api_method_not_allowed(r, "GET, POST");
	}
	if (r->nseg != 2)
		return api_error(r, 404, "", "no such endpoint");
	if (!api_valid_id(r->seg[1]))
		return api_error(r, 400, "id", "not a valid config id");
	if (strcmp(m, "GET") == 0) {
		struct get_txn g = { r->seg[1], NULL };

		rc = pp_store_read(r->api->d->store, get_txn_fn, &g);
		if (rc == PP_ENOENT)
			return api_error(r, 404, "id", "no such config: %s", r->seg[1]);
		if (rc != PP_OK)
			return api_code_error(r, rc, "store", NULL);
		return api_json(r, 200, g.cfg);
	}
	if (strcmp(m, "PUT") == 0)
		return write_config(r, OP_PUT, r->seg[1]);
	if (strcmp(m, "DELETE") == 0) {
		struct cfg_txn x = { .op = OP_DELETE, .id = r->seg[1] };

		return run_cfg_txn(r, &x, 204);
	}
	return api_method_not_allowed(r, "GET, PUT, DELETE");
}
