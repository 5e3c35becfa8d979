/* /api/v1/configs: {id, parent_ids, raw_config, description}. Reads here;
 * every change goes through the provisioning module (pp_prov_config_*):
 * one transaction with its event, then the devices that inherit from the
 * config are re-rendered. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/provision/provision.h"
#include "daemon/store/store.h"
#include "api_int.h"

bool api_valid_id(const char *s)
{
	return pp_prov_valid_config_id(s);
}

/* The fuzz harness reaches the provisioning module's check through this. */
int api_check_config(const json_t *body, struct api_err *e)
{
	struct pp_err err = { 0 };
	int rc = pp_prov_config_check(body, &err);

	if (rc == PP_OK)
		return 0;
	api_err_set(e, rc == PP_EBADREQ ? 400 : 422, err.field, "%s", err.msg);
	return -1;
}

static struct pp_actor actor_of(const struct api_req *r)
{
	return (struct pp_actor){ "api", r->auth == AUTH_ADMIN };
}

/* ---- list (id order, ?limit=&after=) -------------------------------------- */

struct list_txn {
	json_t *arr;
	const char *after;
	size_t limit;
	bool more;
};

static int list_cb(const char *id, json_t *cfg, void *arg)
{
	struct list_txn *x = arg;

	if (x->after && strcmp(id, x->after) <= 0)
		return PP_OK;
	if (json_array_size(x->arr) >= x->limit) {
		x->more = true;
		return PP_EBUSY; /* stop: more remain */
	}
	return json_array_append(x->arr, cfg) == 0 ? PP_OK : PP_ENOMEM;
}

static int list_txn_fn(struct pp_txn *t, void *arg)
{
	struct list_txn *x = arg;

	json_array_clear(x->arr);
	x->more = false;
	return pp_cfg_each(t, list_cb, x);
}

static enum MHD_Result list_configs(struct api_req *r)
{
	struct list_txn x = { 0 };
	uint64_t limit;
	json_t *out;
	size_t n;
	int rc;

	if (api_query_u64(r, "limit", 1000, 100000, &limit) != 0)
		return MHD_YES;
	x.after = api_query(r, "after");
	x.limit = limit ? (size_t)limit : 1;
	x.arr = json_array();
	rc = pp_store_read(r->api->d->store, list_txn_fn, &x);
	if (rc != PP_OK && rc != PP_EBUSY) {
		json_decref(x.arr);
		return api_code_error(r, rc, "store", NULL);
	}
	n = json_array_size(x.arr);
	out = json_pack("{s:o, s:i}", "configs", x.arr, "count", (json_int_t)n);
	if (out && x.more && n)
		json_object_set(out, "next",
				json_object_get(json_array_get(x.arr, n - 1), "id"));
	return api_json(r, 200, out);
}

/* ---- one config ----------------------------------------------------------- */

struct get_txn {
	const char *id;
	json_t *cfg;
};

static int get_txn_fn(struct pp_txn *t, void *arg)
{
	struct get_txn *x = arg;

	return pp_cfg_get(t, x->id, &x->cfg);
}

static enum MHD_Result write_config(struct api_req *r, enum pp_cfg_write op, const char *url_id)
{
	struct pp_actor who = actor_of(r);
	struct pp_err err = { 0 };
	enum MHD_Result ret;
	json_t *body = api_body_object(r, &ret), *cfg = NULL, *rr = NULL;
	int rc;

	if (!body)
		return ret;
	rc = pp_prov_config_write(r->api->d->prov, &who, op, url_id, body, &cfg, &rr, &err);
	json_decref(body);
	if (rc != PP_OK)
		return api_prov_error(r, rc, &err);
	if (json_array_size(json_object_get(rr, "failed"))) {
		/* the config changed, some of its devices were not re-rendered:
		 * never a plain 200 (207: per-device results) */
		return api_json(r, 207, json_pack("{s:o, s:o}", "config", cfg, "rerender", rr));
	}
	json_decref(rr);
	if (op == PP_CFG_CREATE) {
		char loc[200];

		snprintf(loc, sizeof(loc), "/api/v1/configs/%s",
			 json_string_value(json_object_get(cfg, "id")));
		return api_json_at(r, 201, cfg, loc);
	}
	return api_json(r, 200, cfg);
}

enum MHD_Result api_configs(struct api_req *r)
{
	const char *m = r->method;
	struct pp_actor who = actor_of(r);
	struct pp_err err = { 0 };
	int rc;

	if (r->nseg == 1)
		return strcmp(m, "POST") == 0 ? write_config(r, PP_CFG_CREATE, NULL) :
						 list_configs(r);
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
		return write_config(r, PP_CFG_REPLACE, r->seg[1]);
	rc = pp_prov_config_delete(r->api->d->prov, &who, r->seg[1], &err);
	if (rc != PP_OK)
		return api_prov_error(r, rc, &err);
	return api_text(r, 204, "application/json", NULL, 0);
}
