/* /api/v1/devices: list, create, read, replace, patch, delete, reconfigure,
 * synchronize (SIP NOTIFY check-sync). Every change is one LMDB transaction
 * that also appends an event. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "daemon/provision/provision.h"
#include "daemon/store/store.h"
#include "api_int.h"
#include "api_sync.h"

/* Device documents are checked by the provisioning module; the fuzz harness
 * reaches the same check through this wrapper. */
int api_check_device(const json_t *body, bool partial, struct api_err *e)
{
	struct pp_err err = { 0 };
	int rc = pp_prov_device_check(body, partial, &err);

	if (rc == PP_OK)
		return 0;
	api_err_set(e, rc == PP_EBADREQ ? 400 : 422, err.field, "%s", err.msg);
	return -1;
}

static struct pp_actor actor_of(const struct api_req *r)
{
	return (struct pp_actor){ "api", r->auth == AUTH_ADMIN };
}

/* ---- handlers --------------------------------------------------------- */

/* GET /devices filters: exact matches on these fields; an empty value
 * matches a device without the field. */
static const char *const filter_keys[] = { "vendor", "model", "plugin", "state", "config",
					   "ip", "phone_type" };

struct list_arg {
	json_t *arr;
	size_t limit;
	char last[18];
	const char *filter[PP_ARRAY_LEN(filter_keys)]; /* NULL: no filter on it */
	int ip_af;                  /* the ip filter, parsed (0: none or empty) */
	unsigned char ip[16];
};

#define FILTER_IP 5 /* filter_keys[FILTER_IP] is "ip": compared as an address */

/* ::1 and 0:0::1 are one address: compare bytes, not spellings. */
static bool ip_equal(const struct list_arg *a, const char *have)
{
	unsigned char bin[16];

	return inet_pton(a->ip_af, have, bin) == 1 &&
	       memcmp(bin, a->ip, a->ip_af == AF_INET ? 4 : 16) == 0;
}

static bool list_match(const struct list_arg *a, json_t *dev)
{
	for (size_t i = 0; i < PP_ARRAY_LEN(filter_keys); i++) {
		const char *want = a->filter[i], *have;

		if (!want)
			continue;
		have = json_string_value(json_object_get(dev, filter_keys[i]));
		if (!have)
			have = "";
		if (i == FILTER_IP && a->ip_af ? !ip_equal(a, have) : strcmp(want, have) != 0)
			return false;
	}
	return true;
}

static int list_cb(const char *mac, json_t *dev, void *arg)
{
	struct list_arg *a = arg;

	if (!list_match(a, dev))
		return PP_OK;
	if (json_array_size(a->arr) >= a->limit)
		return PP_EBUSY; /* stop: more remain */
	json_array_append(a->arr, dev);
	snprintf(a->last, sizeof(a->last), "%s", mac);
	return PP_OK;
}

struct list_txn {
	const char *after;
	struct list_arg la;
};

static int list_txn_fn(struct pp_txn *t, void *arg)
{
	struct list_txn *x = arg;

	json_array_clear(x->la.arr);
	return pp_dev_each(t, x->after, list_cb, &x->la);
}

static enum MHD_Result list_devices(struct api_req *r)
{
	struct list_txn x = { 0 };
	uint64_t limit;
	json_t *out;
	int rc;

	if (api_query_u64(r, "limit", 1000, 100000, &limit) != 0)
		return MHD_YES;
	x.after = api_query(r, "after");
	for (size_t i = 0; i < PP_ARRAY_LEN(filter_keys); i++)
		x.la.filter[i] = api_query(r, filter_keys[i]);
	if (x.la.filter[FILTER_IP] && *x.la.filter[FILTER_IP]) {
		const char *qip = x.la.filter[FILTER_IP];

		x.la.ip_af = strchr(qip, ':') ? AF_INET6 : AF_INET;
		if (inet_pton(x.la.ip_af, qip, x.la.ip) != 1)
			return api_error(r, 400, "ip", "ip must be an IPv4 or IPv6 address, not '%s'",
					 qip);
	}
	x.la.arr = json_array();
	x.la.limit = limit ? limit : 1;
	rc = pp_store_read(r->api->d->store, list_txn_fn, &x);
	if (rc != PP_OK && rc != PP_EBUSY) {
		json_decref(x.la.arr);
		return api_code_error(r, rc, "store", NULL);
	}
	out = json_pack("{s:o, s:i}", "devices", x.la.arr, "count",
			(json_int_t)json_array_size(x.la.arr));
	if (out && rc == PP_EBUSY)
		json_object_set_new(out, "next", json_string(x.la.last));
	return api_json(r, 200, out);
}

struct get_txn {
	const char *mac;
	json_t *dev;
};

static int get_txn_fn(struct pp_txn *t, void *arg)
{
	struct get_txn *x = arg;

	return pp_dev_get(t, x->mac, &x->dev);
}

static enum MHD_Result get_device(struct api_req *r, const char *mac)
{
	struct get_txn x = { mac, NULL };
	int rc = pp_store_read(r->api->d->store, get_txn_fn, &x);

	if (rc == PP_ENOENT)
		return api_error(r, 404, "mac", "no such device: %s", mac);
	if (rc != PP_OK)
		return api_code_error(r, rc, "store", NULL);
	return api_json(r, 200, x.dev);
}

static enum MHD_Result write_device(struct api_req *r, enum pp_dev_write op, const char *url_mac)
{
	struct pp_actor who = actor_of(r);
	struct pp_err err = { 0 };
	enum MHD_Result ret;
	json_t *body = api_body_object(r, &ret), *dev = NULL;
	const char *mac = url_mac;
	int rc;

	if (!body)
		return ret;
	if (!mac) {
		/* POST /devices: the MAC comes from the body */
		rc = pp_prov_device_check(body, false, &err);
		mac = rc == PP_OK ? json_string_value(json_object_get(body, "mac")) : NULL;
	}
	rc = mac ? pp_prov_device_write(r->api->d->prov, &who, op, mac, body, &dev, &err) :
		   (rc != PP_OK ? rc : PP_EINVAL);
	json_decref(body);
	if (rc != PP_OK)
		return api_prov_error(r, rc, &err);
	if (op == PP_DEV_CREATE) {
		char loc[64];

		snprintf(loc, sizeof(loc), "/api/v1/devices/%s",
			 json_string_value(json_object_get(dev, "mac")));
		return api_json_at(r, 201, dev, loc);
	}
	return api_json(r, 200, dev);
}

static enum MHD_Result delete_device(struct api_req *r, const char *mac)
{
	struct pp_actor who = actor_of(r);
	struct pp_err err = { 0 };
	int rc = pp_prov_device_delete(r->api->d->prov, &who, mac, &err);

	if (rc != PP_OK)
		return api_prov_error(r, rc, &err);
	return api_text(r, 204, "application/json", NULL, 0);
}

static enum MHD_Result reconfigure(struct api_req *r, const char *mac)
{
	struct pp_err err = { 0 };
	int rc = pp_prov_reconfigure(r->api->d->prov, mac, &err);

	if (rc != PP_OK)
		return api_prov_error(r, rc, &err);
	return api_json(r, 200, json_pack("{s:s, s:b}", "mac", mac, "reconfigured", 1));
}

/* GET /devices/{mac}/explain: what `phoneprov render MAC --explain` prints
 * (pp_prov_explain: facts, every plugin's score, the config chain, the
 * merged config, the general settings with their sources, the files), read
 * only: nothing is rendered. */
static enum MHD_Result explain(struct api_req *r, const char *mac)
{
	json_t *ex = NULL;
	int rc = pp_prov_explain(r->api->d->prov, mac, &ex);

	if (rc == PP_ENOENT)
		return api_error(r, 404, "mac", "no such device: %s", mac);
	if (rc != PP_OK)
		return api_code_error(r, rc, "store", NULL);
	return api_json(r, 200, ex);
}

/* GET /devices/{mac}/files?path=P: the bytes of one of the device's rendered
 * files, as stored (the render record lists them); any other path is 404. */
struct file_txn {
	const char *mac;
	const char *path;
	char *data;
	size_t size;
	bool listed;
};

static int file_txn_fn(struct pp_txn *t, void *arg)
{
	struct file_txn *x = arg;
	json_t *dev = NULL, *v;
	struct pp_file f;
	size_t i;
	int rc;

	free(x->data);
	x->data = NULL;
	x->listed = false;
	if ((rc = pp_dev_get(t, x->mac, &dev)) != PP_OK)
		return rc;
	json_array_foreach(json_object_get(json_object_get(dev, "render"), "files"), i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), x->path) == 0)
			x->listed = true;
	json_decref(dev);
	if (!x->listed)
		return PP_OK;
	if ((rc = pp_file_get(t, x->path, &f)) != PP_OK) {
		x->listed = false;
		return rc == PP_ENOENT ? PP_OK : rc;
	}
	if (!(x->data = malloc(f.size ? f.size : 1)))
		return PP_ENOMEM;
	memcpy(x->data, f.data, f.size);
	x->size = f.size;
	return PP_OK;
}

static enum MHD_Result device_file(struct api_req *r, const char *mac)
{
	struct file_txn x = { .mac = mac, .path = api_query(r, "path") };
	int rc;

	if (!x.path || !*x.path)
		return api_error(r, 400, "path", "path is required (one of the device's files)");
	rc = pp_store_read(r->api->d->store, file_txn_fn, &x);
	if (rc == PP_ENOENT)
		return api_error(r, 404, "mac", "no such device: %s", mac);
	if (rc != PP_OK) {
		free(x.data);
		return api_code_error(r, rc, "store", NULL);
	}
	if (!x.listed)
		return api_error(r, 404, "path", "device %s has no rendered file %s", mac, x.path);
	return api_text(r, 200, "application/octet-stream", x.data, x.size);
}

/* SIP NOTIFY check-sync as an operation (api_sync.c): the Request-URI user
 * is line 1's username in the device's effective config, else the MAC. */
static enum MHD_Result synchronize(struct api_req *r, const char *mac)
{
	struct get_txn g = { mac, NULL };
	int rc = pp_store_read(r->api->d->store, get_txn_fn, &g);
	const char *ip, *cfg_id, *user = NULL, *auth_user = NULL, *password = NULL;
	uint64_t port = 5060;
	json_t *eff = NULL;
	struct pp_snapshot *s;
	unsigned t1;
	enum MHD_Result ret;

	if (rc == PP_ENOENT)
		return api_error(r, 404, "mac", "no such device: %s", mac);
	if (rc != PP_OK)
		return api_code_error(r, rc, "store", NULL);
	if (api_query_u64(r, "port", 5060, 65535, &port) != 0) {
		json_decref(g.dev);
		return MHD_YES;
	}
	ip = json_string_value(json_object_get(g.dev, "ip"));
	if (!ip || port == 0) {
		json_decref(g.dev);
		return api_error(r, 409, "ip", port ? "device has no ip address" : "port 0");
	}
	cfg_id = json_string_value(json_object_get(g.dev, "config"));
	if (cfg_id && *cfg_id && pp_store_cfg_resolve(r->api->d->store, cfg_id, &eff) == PP_OK) {
		json_t *l1 = json_array_get(json_object_get(eff, "sip_lines"), 0);

		user = json_string_value(json_object_get(l1, "username"));
		auth_user = json_string_value(json_object_get(l1, "auth_username"));
		password = json_string_value(json_object_get(l1, "password"));
	}
	s = pp_daemon_acquire(r->api->d);
	t1 = s->cfg->synchronize.t1_ms;
	pp_snapshot_release(s);
	ret = api_sync_start(r, mac, ip, (unsigned)port, user, auth_user, password,
			     json_string_value(json_object_get(g.dev, "plugin")), t1);
	json_decref(eff);
	json_decref(g.dev);
	return ret;
}

enum MHD_Result api_devices(struct api_req *r)
{
	const char *m = r->method;
	char mac[18];

	if (r->nseg == 1) {
		if (strcmp(m, "GET") == 0)
			return list_devices(r);
		if (strcmp(m, "POST") == 0)
			return write_device(r, PP_DEV_CREATE, NULL);
		return api_method_not_allowed(r, "GET, POST");
	}
	if (pp_mac_normalize(r->seg[1], strlen(r->seg[1]), mac) != PP_OK)
		return api_error(r, 400, "mac", "not a MAC address: %s", r->seg[1]);
	if (r->nseg == 2) {
		if (strcmp(m, "GET") == 0)
			return get_device(r, mac);
		if (strcmp(m, "PUT") == 0)
			return write_device(r, PP_DEV_REPLACE, mac);
		if (strcmp(m, "PATCH") == 0)
			return write_device(r, PP_DEV_PATCH, mac);
		if (strcmp(m, "DELETE") == 0)
			return delete_device(r, mac);
		return api_method_not_allowed(r, "GET, PUT, PATCH, DELETE");
	}
	if (r->nseg == 3 && strcmp(r->seg[2], "reconfigure") == 0) {
		if (strcmp(m, "POST") != 0)
			return api_method_not_allowed(r, "POST");
		return reconfigure(r, mac);
	}
	if (r->nseg == 3 && strcmp(r->seg[2], "explain") == 0)
		return explain(r, mac);
	if (r->nseg == 3 && strcmp(r->seg[2], "files") == 0)
		return device_file(r, mac);
	if (r->nseg == 3 && strcmp(r->seg[2], "synchronize") == 0) {
		if (strcmp(m, "POST") != 0)
			return api_method_not_allowed(r, "POST");
		return synchronize(r, mac);
	}
	return api_error(r, 404, "", "no such endpoint");
}
