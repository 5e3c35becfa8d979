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

#include "../log.h"
#include "../pipeline.h"
#include "../registry/registry.h"
#include "../store/store.h"
#include "api_int.h"

#define FIELD_MAX 255

/* Fields a client may set; the rest (state, created, updated, last_seen,
 * scores, dhcp) belong to the server. */
static const char *const str_fields[] = { "vendor", "model", "version", "serial", "plugin",
					  "config", "phone_type", "description" };
static const char *const ro_fields[] = { "state", "created", "updated", "last_seen", "scores",
					 "dhcp" };

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

/* Types and syntax of a device body (no store access). */
int api_check_device(const json_t *body, bool partial, struct api_err *e)
{
	const char *k;
	json_t *v;
	char mac[18];

	if (!json_is_object(body)) {
		api_err_set(e, 400, "", "request body must be a JSON object");
		return -1;
	}
	json_object_foreach((json_t *)body, k, v) {
		if (strcmp(k, "mac") == 0) {
			if (!json_is_string(v)) {
				api_err_set(e, 400, k, "mac must be a string");
				return -1;
			}
			if (pp_mac_normalize(json_string_value(v), json_string_length(v), mac) !=
			    PP_OK) {
				api_err_set(e, 422, k, "not a MAC address");
				return -1;
			}
		} else if (strcmp(k, "ip") == 0) {
			if (json_is_null(v))
				continue;
			if (!json_is_string(v)) {
				api_err_set(e, 400, k, "ip must be a string or null");
				return -1;
			}
			if (!valid_ip(json_string_value(v))) {
				api_err_set(e, 422, k, "not an IPv4 or IPv6 address");
				return -1;
			}
		} else if (in_list(k, str_fields, PP_ARRAY_LEN(str_fields))) {
			if (json_is_null(v))
				continue;
			if (!json_is_string(v)) {
				api_err_set(e, 400, k, "%s must be a string or null", k);
				return -1;
			}
			if (json_string_length(v) > FIELD_MAX ||
			    strlen(json_string_value(v)) != json_string_length(v)) {
				api_err_set(e, 422, k, "%s must be at most %d bytes without NUL", k,
					    FIELD_MAX);
				return -1;
			}
			if (strcmp(k, "config") == 0 && !api_valid_id(json_string_value(v))) {
				api_err_set(e, 422, k, "not a valid config id");
				return -1;
			}
		} else if (strcmp(k, "extra") == 0) {
			if (!json_is_object(v) && !json_is_null(v)) {
				api_err_set(e, 400, k, "extra must be an object");
				return -1;
			}
		} else if (in_list(k, ro_fields, PP_ARRAY_LEN(ro_fields))) {
			api_err_set(e, 422, k, "%s is set by the server", k);
			return -1;
		} else {
			api_err_set(e, 422, k, "unknown field");
			return -1;
		}
	}
	if (!partial && !json_object_get(body, "mac")) {
		api_err_set(e, 400, "mac", "mac is required");
		return -1;
	}
	return 0;
}

/* The phone type, looked up in the device's plugin (or any plugin). Returns
 * 1 when special, 0 when ordinary, -1 when unknown. */
static int phone_type_special(const struct pp_registry *reg, const char *plugin,
			      const char *type)
{
	size_t n = reg ? pp_registry_count(reg) : 0;

	for (size_t i = 0; i < n; i++) {
		const struct pp_plugin *p = pp_registry_at(reg, i);
		json_t *types, *t;
		size_t k;

		if (plugin && strcmp(p->name, plugin) != 0)
			continue;
		types = json_object_get(p->meta, "phone_types");
		json_array_foreach(types, k, t) {
			const char *name = json_string_value(json_object_get(t, "name"));

			if (name && strcmp(name, type) == 0)
				return json_is_true(json_object_get(t, "special")) ? 1 : 0;
		}
	}
	return -1;
}

/* Checks needing the registry: plugin exists, phone type and its right. */
static int check_refs(struct api_req *r, const json_t *dev, struct api_err *e)
{
	struct pp_snapshot *s = pp_daemon_acquire(r->api->d);
	const struct pp_registry *reg = s->reg;
	const char *plugin = json_string_value(json_object_get(dev, "plugin"));
	const char *type = json_string_value(json_object_get(dev, "phone_type"));
	int rc = 0;

	if (plugin && reg && !pp_registry_find(reg, plugin)) {
		api_err_set(e, 422, "plugin", "no such plugin: %s", plugin);
		rc = -1;
	} else if (type && reg) {
		int sp = phone_type_special(reg, plugin, type);

		if (sp < 0) {
			api_err_set(e, 422, "phone_type", "no such phone type: %s", type);
			rc = -1;
		} else if (sp > 0 && r->auth != AUTH_ADMIN) {
			api_err_set(e, 403, "phone_type", "phone type %s needs the admin token",
				    type);
			rc = -1;
		}
	}
	pp_snapshot_release(s);
	return rc;
}

/* ---- transactions ---------------------------------------------------- */

enum dev_op { OP_CREATE, OP_PUT, OP_PATCH, OP_DELETE };

struct dev_txn {
	enum dev_op op;
	const char *mac;
	const json_t *body;
	json_t *result;        /* the stored device (new ref) */
	struct api_err e;
	int64_t now;
};

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

static int dev_txn_fn(struct pp_txn *t, void *arg)
{
	struct dev_txn *x = arg;
	json_t *old = NULL, *dev = NULL, *ev;
	const char *cfg, *type;
	int rc = pp_dev_get(t, x->mac, &old);

	json_decref(x->result);
	x->result = NULL;
	if (rc != PP_OK && rc != PP_ENOENT)
		return rc;
	if (x->op == OP_CREATE && old) {
		api_err_set(&x->e, 409, "mac", "device %s exists", x->mac);
		json_decref(old);
		return PP_EEXIST;
	}
	if (x->op != OP_CREATE && !old) {
		api_err_set(&x->e, 404, "mac", "no such device: %s", x->mac);
		return PP_ENOENT;
	}
	if (x->op == OP_DELETE) {
		rc = pp_pipeline_forget_txn(t, old);
		if (rc == PP_OK)
			rc = pp_dev_del(t, x->mac);
		if (rc == PP_OK)
			rc = update_ip_index(t, old, NULL, x->mac);
		type = "device.deleted";
		dev = json_incref(old);
	} else {
		if (x->op == OP_PATCH) {
			dev = json_deep_copy(old);
			json_object_update(dev, (json_t *)x->body);
		} else {
			dev = json_deep_copy(x->body);
			/* PUT replaces what clients own, keeps what the server owns */
			for (size_t i = 0; old && i < PP_ARRAY_LEN(ro_fields); i++) {
				json_t *v = json_object_get(old, ro_fields[i]);

				if (v)
					json_object_set(dev, ro_fields[i], v);
			}
		}
		if (!dev) {
			json_decref(old);
			return PP_ENOMEM;
		}
		drop_nulls(dev);
		json_object_set_new(dev, "mac", json_string(x->mac));
		if (!json_object_get(dev, "created"))
			json_object_set_new(dev, "created", json_integer(x->now));
		if (!json_object_get(dev, "state"))
			json_object_set_new(dev, "state", json_string("new"));
		json_object_set_new(dev, "updated", json_integer(x->now));
		rc = PP_OK;
		cfg = json_string_value(json_object_get(dev, "config"));
		if (cfg) {
			json_t *c = NULL;

			rc = pp_cfg_get(t, cfg, &c);
			json_decref(c);
			if (rc == PP_ENOENT) {
				api_err_set(&x->e, 422, "config", "no such config: %s", cfg);
				rc = PP_EINVAL;
			}
		}
		if (rc == PP_OK)
			rc = pp_dev_put(t, x->mac, dev);
		if (rc == PP_OK)
			rc = update_ip_index(t, old, dev, x->mac);
		type = x->op == OP_CREATE ? "device.created" : "device.updated";
	}
	json_decref(old);
	if (rc == PP_OK) {
		ev = json_pack("{s:s, s:s}", "mac", x->mac, "source", "api");
		rc = ev ? pp_event_append(t, type, ev, NULL) : PP_ENOMEM;
		json_decref(ev);
	}
	if (rc != PP_OK) {
		json_decref(dev);
		return rc;
	}
	x->result = dev;
	return PP_OK;
}

static void rerender(struct pp_daemon *d, const char *mac)
{
	int rc = pp_pipeline_reconfigure(d, mac);

	if (rc != PP_OK && rc != PP_ENOTSUP && rc != PP_ENOENT)
		pp_log(PP_LOG_WARN, "api.rerender_failed", "mac=%s error=%s", mac, pp_strerror(rc));
}

static enum MHD_Result run_dev_txn(struct api_req *r, struct dev_txn *x, unsigned ok_status)
{
	int rc;

	x->now = pp_now_ms();
	x->e.status = 0;
	rc = pp_store_write(r->api->d->store, dev_txn_fn, x);
	if (rc != PP_OK) {
		json_decref(x->result);
		if (x->e.status)
			return api_error_e(r, &x->e);
		return api_code_error(r, rc, "store", NULL);
	}
	if (x->op != OP_DELETE)
		rerender(r->api->d, x->mac);
	if (x->op == OP_DELETE) {
		pp_pipeline_forget_disk(r->api->d, x->result);
		json_decref(x->result);
		return api_text(r, 204, "application/json", NULL, 0);
	}
	return api_json(r, ok_status, x->result);
}

/* ---- handlers --------------------------------------------------------- */

struct list_arg {
	json_t *arr;
	size_t limit;
	char last[18];
};

static int list_cb(const char *mac, json_t *dev, void *arg)
{
	struct list_arg *a = arg;

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

static enum MHD_Result write_device(struct api_req *r, enum dev_op op, const char *url_mac)
{
	struct dev_txn x = { .op = op };
	enum MHD_Result ret;
	json_t *body = api_body_object(r, &ret);
	char mac[18];
	const char *bm;

	if (!body)
		return ret;
	if (api_check_device(body, op != OP_CREATE, &x.e) != 0)
		goto fail;
	bm = json_string_value(json_object_get(body, "mac"));
	if (bm)
		pp_mac_normalize(bm, strlen(bm), mac);
	if (url_mac) {
		if (bm && strcmp(mac, url_mac) != 0) {
			api_err_set(&x.e, 422, "mac", "mac %s does not match the URL", bm);
			goto fail;
		}
		snprintf(mac, sizeof(mac), "%s", url_mac);
	}
	if (op == OP_PATCH) {
		/* the merged record must still pass the reference checks */
		struct get_txn g = { mac, NULL };
		int rc = pp_store_read(r->api->d->store, get_txn_fn, &g);

		if (rc == PP_OK) {
			json_object_update(g.dev, body);
			drop_nulls(g.dev);
			rc = check_refs(r, g.dev, &x.e);
			json_decref(g.dev);
			if (rc != 0)
				goto fail;
		}
	} else if (check_refs(r, body, &x.e) != 0) {
		goto fail;
	}
	x.mac = mac;
	x.body = body;
	ret = run_dev_txn(r, &x, op == OP_CREATE ? 201 : 200);
	json_decref(body);
	return ret;
fail:
	json_decref(body);
	return api_error_e(r, &x.e);
}

static enum MHD_Result delete_device(struct api_req *r, const char *mac)
{
	struct dev_txn x = { .op = OP_DELETE, .mac = mac };

	return run_dev_txn(r, &x, 204);
}

static enum MHD_Result reconfigure(struct api_req *r, const char *mac)
{
	struct get_txn g = { mac, NULL };
	int rc = pp_store_read(r->api->d->store, get_txn_fn, &g);

	if (rc == PP_ENOENT)
		return api_error(r, 404, "mac", "no such device: %s", mac);
	if (rc != PP_OK)
		return api_code_error(r, rc, "store", NULL);
	json_decref(g.dev);
	rc = pp_pipeline_reconfigure(r->api->d, mac);
	if (rc != PP_OK)
		return api_code_error(r, rc, "reconfigure", NULL);
	return api_json(r, 200, json_pack("{s:s, s:b}", "mac", mac, "reconfigured", 1));
}

/* SIP NOTIFY with Event: check-sync (RFC 3265 style, as phones expect). */
static int send_check_sync(const char *ip, unsigned port, const char *mac, char *err,
			   size_t errn)
{
	struct sockaddr_storage ss, local;
	socklen_t slen, llen = sizeof(local);
	char lip[64], msg[1024];
	unsigned char rnd[12];
	char tag[25];
	int fd, n;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
		((struct sockaddr_in *)&ss)->sin_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)port);
		slen = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		((struct sockaddr_in6 *)&ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)port);
		slen = sizeof(struct sockaddr_in6);
	} else {
		snprintf(err, errn, "device ip is not an address");
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&ss, slen) != 0 ||
	    getsockname(fd, (struct sockaddr *)&local, &llen) != 0) {
		snprintf(err, errn, "cannot reach %s: %s", ip, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (local.ss_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)&local)->sin_addr, lip, sizeof(lip));
	else
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&local)->sin6_addr, lip, sizeof(lip));
	unsigned lport = ntohs(local.ss_family == AF_INET ?
				       ((struct sockaddr_in *)&local)->sin_port :
				       ((struct sockaddr_in6 *)&local)->sin6_port);
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, 0x5a, sizeof(rnd));
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(tag + 2 * i, 3, "%02x", rnd[i]);
	bool v6 = local.ss_family == AF_INET6;
	const char *lb = v6 ? "[" : "", *rb = v6 ? "]" : "";
	const char *db = ss.ss_family == AF_INET6 ? "[" : "", *de = ss.ss_family == AF_INET6 ? "]" : "";
	char user[13];

	for (int i = 0, o = 0; mac[i] && o < 12; i++)
		if (mac[i] != ':')
			user[o++] = mac[i], user[o] = '\0';
	n = snprintf(msg, sizeof(msg),
		     "NOTIFY sip:%s@%s%s%s:%u SIP/2.0\r\n"
		     "Via: SIP/2.0/UDP %s%s%s:%u;branch=z9hG4bK%.16s;rport\r\n"
		     "Max-Forwards: 70\r\n"
		     "From: <sip:phoneprov@%s%s%s>;tag=%.8s\r\n"
		     "To: <sip:%s@%s%s%s:%u>\r\n"
		     "Call-ID: %s@%s%s%s\r\n"
		     "CSeq: 1 NOTIFY\r\n"
		     "Contact: <sip:phoneprov@%s%s%s:%u>\r\n"
		     "Event: check-sync;reboot=true\r\n"
		     "Subscription-State: terminated;reason=timeout\r\n"
		     "User-Agent: phoneprov\r\n"
		     "Content-Length: 0\r\n\r\n",
		     user, db, ip, de, port, lb, lip, rb, lport, tag, lb, lip, rb, tag + 16, user,
		     db, ip, de, port, tag, lb, lip, rb, lb, lip, rb, lport);
	if (send(fd, msg, (size_t)n, 0) != n) {
		snprintf(err, errn, "send to %s:%u: %s", ip, port, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static enum MHD_Result synchronize(struct api_req *r, const char *mac)
{
	struct get_txn g = { mac, NULL };
	int rc = pp_store_read(r->api->d->store, get_txn_fn, &g);
	const char *ip;
	uint64_t port = 5060;
	char err[200];
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
	if (send_check_sync(ip, (unsigned)port, mac, err, sizeof(err)) != 0) {
		ret = api_error(r, 502, "ip", "%s", err);
	} else {
		pp_log(PP_LOG_INFO, "api.sync_sent", "mac=%s to=%s:%u", mac, ip, (unsigned)port);
		ret = api_json(r, 202, json_pack("{s:s, s:s, s:i, s:s}", "mac", mac, "ip", ip,
						 "port", (json_int_t)port, "event",
						 "check-sync"));
	}
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
			return write_device(r, OP_CREATE, NULL);
		return api_method_not_allowed(r, "GET, POST");
	}
	if (pp_mac_normalize(r->seg[1], strlen(r->seg[1]), mac) != PP_OK)
		return api_error(r, 400, "mac", "not a MAC address: %s", r->seg[1]);
	if (r->nseg == 2) {
		if (strcmp(m, "GET") == 0)
			return get_device(r, mac);
		if (strcmp(m, "PUT") == 0)
			return write_device(r, OP_PUT, mac);
		if (strcmp(m, "PATCH") == 0)
			return write_device(r, OP_PATCH, mac);
		if (strcmp(m, "DELETE") == 0)
			return delete_device(r, mac);
		return api_method_not_allowed(r, "GET, PUT, PATCH, DELETE");
	}
	if (r->nseg == 3 && strcmp(r->seg[2], "reconfigure") == 0) {
		if (strcmp(m, "POST") != 0)
			return api_method_not_allowed(r, "POST");
		return reconfigure(r, mac);
	}
	if (r->nseg == 3 && strcmp(r->seg[2], "synchronize") == 0) {
		if (strcmp(m, "POST") != 0)
			return api_method_not_allowed(r, "POST");
		return synchronize(r, mac);
	}
	return api_error(r, 404, "", "no such endpoint");
}
