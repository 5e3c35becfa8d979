/* Phone flavors on the REST API (docs/flavors.md): GET /phone_types, and
 * /plugins/<name>/<path>, any method, handed to the plugin's C routes hook
 * behind a boundary that turns whatever the hook answers into a clear
 * response (a broken answer is a 500 naming the plugin, never a crash of
 * the API). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"
#include "daemon/plugin/hooks.h"
#include "daemon/plugin/phonetypes.h"
#include "daemon/plugin/snapshot.h"

enum MHD_Result api_phone_types(struct api_req *r)
{
	struct pp_snapshot *s = pp_daemon_acquire(r->api->d);
	json_t *types = s && s->reg ? pp_phone_types_json(s->reg) : json_array();
	enum MHD_Result ret;

	if (!types)
		ret = api_error(r, 500, "", "out of memory");
	else
		ret = api_json(r, 200, json_pack("{s:o, s:I, s:b}", "phone_types", types, "count",
						 (json_int_t)json_array_size(types),
						 "all_types_public",
						 s && pp_registry_types_public(s->reg)));
	pp_snapshot_release(s);
	return ret;
}

struct qctx {
	json_t *args;
	struct pp_buf q;
};

static const char hexd[] = "0123456789ABCDEF";

static void qenc(struct pp_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == '.' || c == '~') {
			pp_buf_putc(b, (char)c);
		} else {
			pp_buf_putc(b, '%');
			pp_buf_putc(b, hexd[c >> 4]);
			pp_buf_putc(b, hexd[c & 15]);
		}
	}
}

static enum MHD_Result query_cb(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct qctx *q = cls;

	(void)kind;
	if (q->q.len)
		pp_buf_putc(&q->q, '&');
	qenc(&q->q, key);
	if (value) {
		pp_buf_putc(&q->q, '=');
		qenc(&q->q, value);
	}
	/* a repeated name: the last value (the raw query has them all) */
	json_object_set_new(q->args, key, json_string(value ? value : ""));
	return MHD_YES;
}

/* The status of a PP_E* code returned by a hook (0 = not one). */
static unsigned code_status(int rc)
{
	switch (rc) {
	case PP_EBADREQ: return 400;
	case PP_EACCES: return 403;
	case PP_ENOENT: return 404;
	case PP_EEXIST: return 409;
	case PP_EINVAL: return 422;
	case PP_EBUSY:
	case PP_EAGAIN: return 503;
	case PP_ENOTSUP: return 501;
	case PP_ERR:
	case PP_EIO:
	case PP_ENOMEM: return 500;
	default: return 0;
	}
}

enum MHD_Result api_plugin_route(struct api_req *r)
{
	struct pp_snapshot *s = pp_daemon_acquire(r->api->d);
	struct pp_hook_request rq = { 0 };
	struct pp_hook_response rs = { 0 };
	struct qctx q = { json_object(), { 0 } };
	const struct pp_plugin *p;
	struct pp_buf path = { 0 };
	json_t *body_json = NULL;
	enum MHD_Result ret;
	char *body = NULL;
	int rc;

	p = s && s->reg ? pp_registry_find(s->reg, r->seg[1]) : NULL;
	if (!p) {
		ret = api_error(r, 404, "name", "no such plugin: %s", r->seg[1]);
		goto out;
	}
	if (strcmp(r->seg[2], "packages") == 0) {
		ret = api_error(r, 404, "", "/plugins/%s/packages is phoneprov's (firmware "
				"packages), not a route of the plugin", p->name);
		goto out;
	}
	if (!pp_plugin_has_routes(p)) {
		ret = api_error(r, 404, "", "plugin %s has no routes (no routes hook)", p->name);
		goto out;
	}
	for (size_t i = 2; i < r->nseg; i++) {
		if (i > 2)
			pp_buf_putc(&path, '/');
		pp_buf_puts(&path, r->seg[i]);
	}
	pp_buf_putc(&path, '\0');
	if (pp_plugin_route_admin(p, path.data) && r->auth != AUTH_ADMIN) {
		ret = api_error(r, 403, "", "%s %s of plugin %s needs the admin token", r->method,
				path.data, p->name);
		goto out;
	}
	if (!q.args || !(body = malloc(r->body.len + 1))) {
		ret = api_error(r, 500, "", "out of memory");
		goto out;
	}
	memcpy(body, r->body.len ? r->body.data : "", r->body.len);
	body[r->body.len] = '\0';
	if (r->body.len) {
		const char *ct = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND,
							     MHD_HTTP_HEADER_CONTENT_TYPE);
		json_error_t je;

		body_json = json_loadb(body, r->body.len, JSON_REJECT_DUPLICATES, &je);
		if (!body_json && ct && strncmp(ct, "application/json", 16) == 0) {
			ret = api_error(r, 400, "", "malformed JSON at line %d, column %d: %s",
					je.line, je.column, je.text);
			goto out;
		}
	}
	MHD_get_connection_values(r->c, MHD_GET_ARGUMENT_KIND, query_cb, &q);
	pp_buf_putc(&q.q, '\0');
	rq.method = r->method;
	rq.path = path.data;
	rq.query = q.q.data ? q.q.data : "";
	rq.body = body;
	rq.body_len = r->body.len;
	rq.query_args = q.args;
	rq.json = body_json;
	rq.admin = r->auth == AUTH_ADMIN;
	rc = pp_plugin_route(p, &rq, &rs);
	rs.error[sizeof(rs.error) - 1] = '\0';
	rs.field[sizeof(rs.field) - 1] = '\0';
	if (rc == PP_OK) {
		unsigned st = rs.status ? (unsigned)rs.status : 200;

		if (rs.status < 0 || st < 200 || st > 599) {
			ret = api_error(r, 500, "", "plugin %s: the routes hook answered HTTP status "
					"%d (not 200-599)", p->name, rs.status);
		} else if (rs.body && !json_is_object(rs.body) && !json_is_array(rs.body)) {
			ret = api_error(r, 500, "", "plugin %s: the routes hook answered a body that "
					"is not a JSON object or array", p->name);
		} else if (!rs.body && st != 204 && st != 304) {
			ret = api_json(r, st, json_object());
		} else if (!rs.body) {
			ret = api_text(r, st, "application/json", NULL, 0);
		} else {
			ret = api_json(r, st, rs.body);
			rs.body = NULL; /* taken */
		}
	} else if (code_status(rc)) {
		ret = api_error(r, code_status(rc), rs.field, "plugin %s: %s", p->name,
				rs.error[0] ? rs.error : pp_strerror(rc));
	} else {
		ret = api_error(r, 500, "", "plugin %s: the routes hook returned %d, not PP_OK or "
				"a PP_E* code", p->name, rc);
	}
	json_decref(rs.body);
out:
	json_decref(q.args);
	json_decref(body_json);
	pp_buf_free(&q.q);
	pp_buf_free(&path);
	free(body);
	pp_snapshot_release(s);
	return ret;
}
