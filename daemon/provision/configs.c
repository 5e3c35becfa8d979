/* Configs ({id, parent_ids, raw_config, description}) for administrators
 * (REST API, CLI): checked, written and deleted in one transaction with
 * their event, then the devices that inherit from a changed config are
 * re-rendered. Parents must exist and not form a cycle; a config that
 * another inherits from or a device uses cannot be deleted. */
#include "prov_int.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/rawschema.h"
#include "lib/log.h"

#define MAX_PARENTS 32
/* what a config written by an administrator may inherit: configs on the
 * longest path up (itself included) and distinct configs in its chain */
#define MAX_DEPTH PP_PROV_CFG_MAX_DEPTH
#define MAX_CHAIN PP_PROV_CFG_MAX_CHAIN

bool pp_prov_valid_config_id(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || (c == '.' && i > 0)))
			return false;
	}
	return true;
}

int pp_prov_config_check(const json_t *body, struct pp_err *err)
{
	const char *k;
	json_t *v;

	if (!json_is_object(body)) {
		pp_err_field(err, "", "request body must be a JSON object");
		return PP_EBADREQ;
	}
	json_object_foreach((json_t *)body, k, v) {
		if (strcmp(k, "id") == 0) {
			if (!json_is_string(v)) {
				pp_err_field(err, k, "id must be a string");
				return PP_EBADREQ;
			}
			if (!pp_prov_valid_config_id(json_string_value(v)) ||
			    strlen(json_string_value(v)) != json_string_length(v)) {
				pp_err_field(err, k, "id must be 1-128 characters of A-Z a-z 0-9 . _ -");
				return PP_EINVAL;
			}
		} else if (strcmp(k, "parent_ids") == 0) {
			size_t i;
			json_t *p;

			if (!json_is_array(v)) {
				pp_err_field(err, k, "parent_ids must be an array of ids");
				return PP_EBADREQ;
			}
			if (json_array_size(v) > MAX_PARENTS) {
				pp_err_field(err, k, "at most %d parents", MAX_PARENTS);
				return PP_EINVAL;
			}
			json_array_foreach(v, i, p) {
				if (!json_is_string(p)) {
					pp_err_field(err, k, "parent_ids[%zu] must be a string", i);
					return PP_EBADREQ;
				}
				if (!pp_prov_valid_config_id(json_string_value(p))) {
					pp_err_field(err, k, "parent_ids[%zu] is not a valid id", i);
					return PP_EINVAL;
				}
				for (size_t j = 0; j < i; j++) {
					if (json_equal(p, json_array_get(v, j))) {
						pp_err_field(err, k, "parent_ids[%zu] is repeated", i);
						return PP_EINVAL;
					}
				}
			}
		} else if (strcmp(k, "raw_config") == 0) {
			if (!json_is_object(v)) {
				pp_err_field(err, k, "raw_config must be an object");
				return PP_EBADREQ;
			}
			if (pp_rawcfg_check(v, "raw_config", err) != PP_OK)
				return PP_EINVAL;
		} else if (strcmp(k, "description") == 0) {
			if (!json_is_string(v) && !json_is_null(v)) {
				pp_err_field(err, k, "description must be a string");
				return PP_EBADREQ;
			}
		} else if (strcmp(k, "role") == 0) {
			const char *r = json_string_value(v);

			if (json_is_null(v))
				continue;
			if (!r) {
				pp_err_field(err, k, "role must be a string: default or autocreate");
				return PP_EBADREQ;
			}
			if (strcmp(r, "default") != 0 && strcmp(r, "autocreate") != 0) {
				pp_err_field(err, k, "role must be default or autocreate, got \"%.64s\"",
					     r);
				return PP_EINVAL;
			}
		} else if (strcmp(k, "transient") == 0 || strcmp(k, "deletable") == 0) {
			if (!json_is_boolean(v) && !json_is_null(v)) {
				pp_err_field(err, k, "%s must be true or false", k);
				return PP_EBADREQ;
			}
		} else if (strncmp(k, "X_", 2) == 0) {
			continue; /* provd's X_type and the like: kept as they are */
		} else if (strcmp(k, "created") == 0 || strcmp(k, "updated") == 0) {
			pp_err_field(err, k, "%s is set by the server", k);
			return PP_EINVAL;
		} else {
			pp_err_field(err, k, "unknown field");
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

/* ---- transactions ------------------------------------------------------ */

enum cfg_op { OP_CREATE, OP_PUT, OP_DELETE };

struct cfg_txn {
	enum cfg_op op;
	const char *id;
	const char *source;
	const json_t *body;
	json_t *result;
	struct pp_err *err;
	int64_t now;
	json_t **rerender;
};

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
	struct pp_cfg_reach *r = NULL;
	json_t *p;
	size_t i;
	int rc = PP_OK;

	json_array_foreach(json_object_get(cfg, "parent_ids"), i, p) {
		const char *pid = json_string_value(p);
		json_t *pc = NULL;

		if (strcmp(pid, x->id) == 0) {
			pp_err_field(x->err, "parent_ids", "a config cannot inherit from itself");
			rc = PP_EINVAL;
			break;
		}
		rc = pp_cfg_get(t, pid, &pc);
		json_decref(pc);
		if (rc == PP_ENOENT) {
			pp_err_field(x->err, "parent_ids", "no such config: %s", pid);
			rc = PP_EINVAL;
		}
		if (rc != PP_OK)
			break;
		if (x->op != OP_PUT)
			continue;
		/* one memo for all parents: linear in configs + edges */
		if (!r && !(r = pp_cfg_reach_new(x->id))) {
			rc = PP_ENOMEM;
			break;
		}
		if (pp_cfg_reaches(t, r, pid)) {
			pp_err_field(x->err, "parent_ids", "inheriting from %s makes a cycle", pid);
			rc = PP_EINVAL;
			break;
		}
	}
	pp_cfg_reach_free(r);
	return rc;
}

/* Is the chain of `id` (as stored in this transaction) within the limits? */
static int check_chain(struct pp_txn *t, struct cfg_txn *x, const char *id)
{
	struct pp_cfg_chain c;
	int rc = pp_cfg_chain(t, id, MAX_DEPTH, MAX_CHAIN, &c);
	char via[200] = "";

	if (rc != PP_EINVAL)
		return rc;
	if (strcmp(id, x->id) != 0)
		snprintf(via, sizeof(via), " (config %s inherits from %s)", id, x->id);
	if (c.too_deep)
		pp_err_field(x->err, "parent_ids",
			     "inheritance too deep: more than %d configs on one path up from %s, the "
			     "limit is %d%s", MAX_DEPTH, id, MAX_DEPTH, via);
	else if (c.too_big)
		pp_err_field(x->err, "parent_ids",
			     "inheritance too large: more than %d configs in the chain of %s, the "
			     "limit is %d%s", MAX_CHAIN, id, MAX_CHAIN, via);
	else if (c.cycle)
		pp_err_field(x->err, "parent_ids", "inheritance cycle through %s%s", c.at, via);
	else if (c.missing)
		pp_err_field(x->err, "parent_ids", "no such config: %s%s", c.at, via);
	else
		pp_err_field(x->err, "parent_ids", "config %s cannot be resolved", id);
	return PP_EINVAL;
}

struct heirs_arg {
	struct pp_txn *t;
	struct pp_cfg_reach *r;
	const char *id;
	char **ids;
	size_t n, cap;
};

static int heirs_cb(const char *id, json_t *cfg, void *arg)
{
	struct heirs_arg *h = arg;

	(void)cfg;
	if (strcmp(id, h->id) == 0 || !pp_cfg_reaches(h->t, h->r, id))
		return PP_OK;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 16;
		char **n = realloc(h->ids, cap * sizeof(*n));

		if (!n)
			return PP_ENOMEM;
		h->ids = n;
		h->cap = cap;
	}
	if (!(h->ids[h->n] = strdup(id)))
		return PP_ENOMEM;
	h->n++;
	return PP_OK;
}

/* After x->id's parents changed: its chain and the chain of every config
 * that inherits from it must stay within the limits. */
static int check_chains(struct pp_txn *t, struct cfg_txn *x)
{
	struct heirs_arg h = { .t = t, .id = x->id };
	int rc = check_chain(t, x, x->id);

	if (rc != PP_OK || x->op == OP_CREATE)
		return rc; /* a new config has no heirs yet */
	if (!(h.r = pp_cfg_reach_new(x->id)))
		return PP_ENOMEM;
	rc = pp_cfg_each(t, heirs_cb, &h);
	for (size_t i = 0; i < h.n; i++) {
		if (rc == PP_OK)
			rc = check_chain(t, x, h.ids[i]);
		free(h.ids[i]);
	}
	free(h.ids);
	pp_cfg_reach_free(h.r);
	return rc;
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
		pp_err_field(x->err, "id", "config %s exists", x->id);
		return PP_EEXIST;
	}
	if (x->op != OP_CREATE && !old) {
		pp_err_field(x->err, "id", "no such config: %s", x->id);
		return PP_ENOENT;
	}
	if (x->op == OP_DELETE) {
		struct users_arg ua = { .id = x->id };

		if (json_is_false(json_object_get(old, "deletable"))) {
			pp_err_field(x->err, "deletable", "config %s is protected (deletable: false): "
				     "set deletable to true first", x->id);
			json_decref(old);
			return PP_EEXIST;
		}

		rc = pp_cfg_each(t, cfg_user_cb, &ua);
		if (rc == PP_OK)
			rc = pp_dev_each(t, NULL, dev_user_cb, &ua);
		if (rc == PP_EEXIST) {
			pp_err_field(x->err, "id", "config %s is in use: %s", x->id, ua.who);
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
		if (json_is_null(json_object_get(cfg, "role")))
			json_object_del(cfg, "role");
		if (json_is_string(json_object_get(cfg, "role"))) {
			char other[136];
			const char *role = json_string_value(json_object_get(cfg, "role"));

			rc = prov_role_find(t, role, x->id, other);
			if (rc == PP_OK) {
				pp_err_field(x->err, "role", "config %s has the role %s already (one "
					     "config per role)", other, role);
				rc = PP_EEXIST;
			}
			if (rc != PP_ENOENT) {
				json_decref(old);
				json_decref(cfg);
				return rc;
			}
			rc = PP_OK;
		}
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
		/* the chains change only with the parents (the txn is
		 * abandoned on an error: nothing is kept) */
		if (rc == PP_OK && (!old || !json_equal(json_object_get(old, "parent_ids"),
							json_object_get(cfg, "parent_ids"))))
			rc = check_chains(t, x);
		type = x->op == OP_CREATE ? "config.created" : "config.updated";
	}
	json_decref(old);
	if (rc == PP_OK) {
		ev = json_pack("{s:s, s:s}", "id", x->id, "source", x->source);
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

static int run(struct pp_prov *p, struct cfg_txn *x, json_t **out)
{
	int rc;

	x->now = pp_now_ms();
	rc = pp_store_write(p->store, cfg_txn_fn, x);
	atomic_fetch_add(&p->cfg_gen, 1); /* roles.c: role lookups look again */
	if (rc != PP_OK) {
		json_decref(x->result);
		if (rc == PP_EIO && pp_store_last_errno()) {
			struct pp_snapshot *s = pp_snaps_acquire(p->snaps);

			prov_store_err(s ? s->cfg : NULL, rc, x->err);
			if (s)
				pp_snapshot_release(s);
		} else if (!x->err->msg[0]) {
			pp_err_field(x->err, "", "store: %s", pp_strerror(rc));
		}
		return rc;
	}
	if (x->op != OP_CREATE) {
		json_t *rep = NULL;
		int r = pp_prov_config_changed(p, x->id, x->rerender ? PP_PROV_RERENDER_WAIT_MS : 0,
					       &rep);
		size_t nf = json_array_size(json_object_get(rep, "failed"));

		if (r != PP_OK && r != PP_ENOTSUP)
			pp_log(PP_LOG_WARN, "prov.rerender_failed", "config=%s error=%s", x->id,
			       pp_strerror(r));
		if (nf)
			pp_log(PP_LOG_WARN, "config.rerender_failed", "config=%s devices=%zu failed=%zu",
			       x->id, (size_t)json_integer_value(json_object_get(rep, "devices")), nf);
		if (x->rerender)
			*x->rerender = rep;
		else
			json_decref(rep);
	}
	if (out && x->op != OP_DELETE)
		*out = x->result;
	else
		json_decref(x->result);
	return PP_OK;
}

int pp_prov_config_write(struct pp_prov *p, const struct pp_actor *who, enum pp_cfg_write op,
			 const char *id, const json_t *body, json_t **out, json_t **rerender,
			 struct pp_err *err)
{
	struct cfg_txn x = { .op = op == PP_CFG_CREATE ? OP_CREATE : OP_PUT, .id = id,
			     .source = who->source, .body = body, .err = err,
			     .rerender = rerender };
	const char *bid;
	int rc;

	if (out)
		*out = NULL;
	if (rerender)
		*rerender = NULL;
	if ((rc = pp_prov_config_check(body, err)) != PP_OK)
		return rc;
	bid = json_string_value(json_object_get(body, "id"));
	if (!id)
		id = x.id = bid;
	if (!id) {
		pp_err_field(err, "id", "id is required");
		return PP_EBADREQ;
	}
	if (!pp_prov_valid_config_id(id)) {
		pp_err_field(err, "id", "id must be 1-128 characters of A-Z a-z 0-9 . _ -");
		return PP_EINVAL;
	}
	if (bid && strcmp(bid, id) != 0) {
		pp_err_field(err, "id", "id %s does not match %s", bid, id);
		return PP_EINVAL;
	}
	return run(p, &x, out);
}

int pp_prov_config_delete(struct pp_prov *p, const struct pp_actor *who, const char *id,
			  struct pp_err *err)
{
	struct cfg_txn x = { .op = OP_DELETE, .id = id, .source = who->source, .err = err };

	if (!pp_prov_valid_config_id(id)) {
		pp_err_field(err, "id", "not a valid config id");
		return PP_EBADREQ;
	}
	return run(p, &x, NULL);
}
