/* REST API (libmicrohttpd) on api.listen, base /api/v1 (DESIGN §7, docs/api.md):
 * bearer-token auth, body limits, JSON errors, routing to the endpoint files. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/metrics.h"
#include "api_int.h"
#include "api_ops.h"
#include "http_int.h"
#include "http_util.h"

#define API_BASE "/api/v1"

void api_err_set(struct api_err *e, unsigned status, const char *field, const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

enum MHD_Result api_queue(struct api_req *r, unsigned status, struct MHD_Response *resp,
			  const char *cache)
{
	enum MHD_Result ret;

	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Cache-Control", cache);
	if (r->location[0] && status < 300)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, r->location);
	if (status >= 400)
		PP_COUNT(api.errors, 1);
	else
		PP_COUNT(api.transfers, 1);
	ret = MHD_queue_response(r->c, status, resp);
	MHD_destroy_response(resp);
	r->responded = true;
	/* the access log: one line per API request */
	if (pp_log_enabled(PP_LOG_INFO)) {
		char q[300], p[256] = "";

		for (size_t i = 0; i < r->nseg; i++) {
			size_t l = strlen(p);

			snprintf(p + l, sizeof(p) - l, "/%s", r->seg[i]);
		}
		pp_log(PP_LOG_INFO, "api.request", "client=%s method=%s path=%s status=%u "
		       "duration_ms=%.1f", r->ip, r->method,
		       pp_q(q, sizeof(q), p[0] ? p : r->raw ? r->raw : "/"), /* console: raw */
		       status, (double)(pp_mono_ns() - r->t0) / 1e6);
	}
	return ret;
}

static enum MHD_Result queue(struct api_req *r, unsigned status, struct MHD_Response *resp)
{
	return api_queue(r, status, resp, "no-store");
}

enum MHD_Result api_text(struct api_req *r, unsigned status, const char *type, char *data,
			 size_t len)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, data ? data : (void *)"",
					       data ? MHD_RESPMEM_MUST_FREE :
						      MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(data);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	PP_COUNT(api.bytes, len);
	return queue(r, status, resp);
}

enum MHD_Result api_json(struct api_req *r, unsigned status, json_t *json)
{
	char *s;

	if (!json)
		return api_text(r, 500, "application/json", strdup("{\"error\":\"out of memory\"}"),
				25);
	s = json_dumps(json, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(json);
	if (!s)
		return MHD_NO;
	size_t n = strlen(s);

	s[n] = '\0';
	/* one trailing newline makes curl output readable */
	char *t = realloc(s, n + 2);

	if (t) {
		s = t;
		s[n++] = '\n';
		s[n] = '\0';
	}
	return api_text(r, status, "application/json", s, n);
}

enum MHD_Result api_json_at(struct api_req *r, unsigned status, json_t *json, const char *location)
{
	snprintf(r->location, sizeof(r->location), "%s", location);
	return api_json(r, status, json);
}

enum MHD_Result api_prov_error(struct api_req *r, int code, const struct pp_err *err)
{
	struct api_err e = { 0 };
	unsigned status;

	switch (code) {
	case PP_EBADREQ: status = 400; break;
	case PP_EINVAL: status = 422; break;
	case PP_EACCES: status = 403; break;
	case PP_ENOENT: status = 404; break;
	case PP_EEXIST: status = 409; break;
	default:
		return api_code_error(r, code, "device", err);
	}
	api_err_set(&e, status, err->field, "%s", err->msg[0] ? err->msg : pp_strerror(code));
	return api_error_e(r, &e);
}

enum MHD_Result api_error_e(struct api_req *r, const struct api_err *e)
{
	json_t *j = json_pack("{s:s, s:s}", "error", e->msg, "field", e->field);

	if (pp_log_enabled(PP_LOG_INFO) && (e->status == 401 || e->status == 403)) {
		char q[300];

		pp_log(PP_LOG_INFO, "api.refused", "client=%s method=%s status=%u reason=%s", r->ip,
		       r->method, e->status, pp_q(q, sizeof(q), e->msg));
	}
	return api_json(r, e->status, j);
}

enum MHD_Result api_error(struct api_req *r, unsigned status, const char *field,
			  const char *fmt, ...)
{
	struct api_err e;
	va_list ap;

	e.status = status;
	snprintf(e.field, sizeof(e.field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e.msg, sizeof(e.msg), fmt, ap);
	va_end(ap);
	return api_error_e(r, &e);
}

enum MHD_Result api_code_error(struct api_req *r, int code, const char *what,
			       const struct pp_err *err)
{
	const char *m = err && err->msg[0] ? err->msg : pp_strerror(code);

	switch (code) {
	case PP_ENOTSUP:
		return api_error(r, 501, "", "%s: not implemented yet", what);
	case PP_ENOENT:
		return api_error(r, 404, "", "%s: %s", what, m);
	case PP_EEXIST:
		return api_error(r, 409, "", "%s: %s", what, m);
	case PP_EINVAL:
		return api_error(r, 422, "", "%s: %s", what, m);
	case PP_EACCES:
		return api_error(r, 403, "", "%s: %s", what, m);
	case PP_EBUSY:
		return api_error(r, 503, "", "%s: busy, try again", what);
	default:
		return api_error(r, 500, "", "%s: %s", what, m);
	}
}

/* A JSON error {"error","field"} with one extra response header (Allow,
 * WWW-Authenticate). */
static enum MHD_Result error_with_header(struct api_req *r, unsigned status, const char *msg,
					 const char *field, const char *hname, const char *hval)
{
	json_t *j = json_pack("{s:s, s:s}", "error", msg, "field", field);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	struct MHD_Response *resp;

	json_decref(j);
	if (!s)
		return MHD_NO;
	resp = MHD_create_response_from_buffer(strlen(s), s, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(s);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, hname, hval);
	return queue(r, status, resp);
}

enum MHD_Result api_method_not_allowed(struct api_req *r, const char *allow)
{
	return error_with_header(r, 405, "method not allowed", "", MHD_HTTP_HEADER_ALLOW, allow);
}

json_t *api_body_object(struct api_req *r, enum MHD_Result *ret)
{
	json_error_t je;
	json_t *j;

	if (r->body.len == 0) {
		*ret = api_error(r, 400, "", "request body required (a JSON object)");
		return NULL;
	}
	j = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		json_t *e = json_pack("{s:s, s:s, s:i, s:i, s:i}", "error", "", "field", "", "line",
				      je.line, "column", je.column, "position", je.position);
		char msg[300];

		snprintf(msg, sizeof(msg), "malformed JSON at line %d, column %d (position %d): %s",
			 je.line, je.column, je.position, je.text);
		json_object_set_new(e, "error", json_string(msg));
		*ret = api_json(r, 400, e);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*ret = api_error(r, 400, "", "request body must be a JSON object");
		return NULL;
	}
	return j;
}

const char *api_query(struct api_req *r, const char *key)
{
	return MHD_lookup_connection_value(r->c, MHD_GET_ARGUMENT_KIND, key);
}

int api_query_u64(struct api_req *r, const char *key, uint64_t def, uint64_t max, uint64_t *out)
{
	const char *v = api_query(r, key);
	char *end;
	unsigned long long x;

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || x > max) {
		api_error(r, 400, key, "%s must be an integer between 0 and %llu", key,
			  (unsigned long long)max);
		return -1;
	}
	*out = x;
	return 0;
}

/* Split the raw path after /api/v1 into decoded segments. 0, or -1 (404). */
static int split_path(struct api_req *r, const char *url)
{
	const char *p;

	if (strncmp(url, API_BASE, strlen(API_BASE)) != 0)
		return -1;
	p = url + strlen(API_BASE);
	if (*p && *p != '/')
		return -1;
	r->nseg = 0;
	while (*p == '/') {
		const char *s = ++p;
		size_t n;

		while (*p && *p != '/')
			p++;
		if (p == s) {
			if (!*p)
				break; /* trailing slash */
			return -1;  /* empty segment */
		}
		if (r->nseg == API_MAX_SEGS ||
		    pp_http_decode_component(s, (size_t)(p - s), false, r->seg[r->nseg],
					     API_SEG_MAX, &n) != PP_DEC_OK)
			return -1;
		r->nseg++;
	}
	return 0;
}

struct line_start {
	const char *at;
	bool found;
};

static enum MHD_Result is_key_at(void *cls, enum MHD_ValueKind kind, const char *key,
				 size_t key_size, const char *value, size_t value_size)
{
	struct line_start *ls = cls;

	(void)kind;
	(void)key_size;
	(void)value;
	(void)value_size;
	if (key == ls->at)
		ls->found = true;
	return ls->found ? MHD_NO : MHD_YES;
}

/* libmicrohttpd (0.9.75) measures a header value with strlen: in
 * "Authorization: Bearer TOKEN\0junk" it reports TOKEN. Its values point
 * into the request's read buffer, where it replaced the line's CR and LF by
 * NULs: after a whole value comes another NUL (CRLF), or the next header's
 * name (a bare LF). Anything else after the value's NUL is the rest of a
 * line that held a NUL byte. */
static bool value_cut_at_nul(struct MHD_Connection *c, const char *v, size_t n)
{
	struct line_start ls = { .at = v + n + 1 };

	if (v[n + 1] == '\0')
		return false;
	MHD_get_connection_values_n(c, MHD_HEADER_KIND, is_key_at, &ls);
	return !ls.found;
}

static int check_auth(struct pp_api *a, struct MHD_Connection *c, bool *presented)
{
	const char *h = NULL;
	size_t n = 0;
	bool is_admin, is_user;

	*presented = false;
	/* with its length: "Bearer TOKEN\0junk" must not read as TOKEN */
	if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
					  strlen(MHD_HTTP_HEADER_AUTHORIZATION), &h, &n) != MHD_YES ||
	    !h)
		return AUTH_NONE;
	*presented = true;
	if (memchr(h, '\0', n) || value_cut_at_nul(c, h, n))
		return AUTH_NONE; /* whole tokens only */
	if (n < 7 || strncasecmp(h, "Bearer ", 7) != 0)
		return AUTH_NONE;
	h += 7;
	n -= 7;
	while (n && *h == ' ')
		h++, n--;
	while (n && (h[n - 1] == ' ' || h[n - 1] == '\t'))
		n--;
	/* both comparisons always run, each in constant time */
	is_admin = api_token_equal(h, n, a->admin_token);
	is_user = api_token_equal(h, n, a->token);
	return is_admin ? AUTH_ADMIN : is_user ? AUTH_USER : AUTH_NONE;
}

static enum MHD_Result unauthorized(struct api_req *r, bool presented)
{
	char q[64];

	PP_COUNT(api.refused, 1);
	pp_log(PP_LOG_INFO, "api.refused", "client=%s method=%s status=401 reason=%s", r->ip,
	       r->method, pp_q(q, sizeof(q), presented ? "invalid token" : "no token"));
	return error_with_header(r, 401, presented ? "invalid token" : "missing bearer token",
				 "Authorization", MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				 presented ? "Bearer realm=\"phoneprov\", error=\"invalid_token\"" :
					     "Bearer realm=\"phoneprov\"");
}

/* A query parameter the route does not name: 400 (a misspelt filter must
 * not silently return everything). */
struct param_check {
	const char *const *allowed;
	const char *bad;
};

static enum MHD_Result param_cb(void *cls, enum MHD_ValueKind kind, const char *key,
				const char *value)
{
	struct param_check *pc = cls;

	(void)kind;
	(void)value;
	for (const char *const *a = pc->allowed; *a; a++)
		if (strcmp(*a, key) == 0 || strcmp(*a, "*") == 0)
			return MHD_YES;
	pc->bad = key;
	return MHD_NO;
}

/* The route table (api_routes.c) decides: 404, 405 with Allow, 400 for an
 * unknown query parameter, else the endpoint's handler. */
static enum MHD_Result route(struct api_req *r)
{
	const struct api_route *rt = NULL;
	struct param_check pc = { NULL, NULL };
	char allow[96] = "";
	bool known = false;

	for (size_t i = 0; i < api_n_routes; i++) {
		const struct api_route *e = &api_routes[i];

		if (!api_route_match(e->path, r))
			continue;
		known = true;
		if (strcmp(e->method, r->method) == 0)
			rt = e;
		if (strlen(allow) + strlen(e->method) + 3 < sizeof(allow))
			snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow), "%s%s",
				 allow[0] ? ", " : "", e->method);
	}
	if (!known)
		return api_error(r, 404, "", "no such endpoint");
	if (!rt)
		return api_method_not_allowed(r, allow);
	if (r->auth == AUTH_NONE && strcmp(rt->path, "/health") != 0)
		return MHD_NO; /* not reached: checked before */
	pc.allowed = rt->params;
	MHD_get_connection_values(r->c, MHD_GET_ARGUMENT_KIND, param_cb, &pc);
	if (pc.bad) {
		char q[80];

		return api_error(r, 400, pc.bad, "unknown query parameter '%s' for %s %s",
				 pp_q(q, sizeof(q), pc.bad), r->method, rt->path);
	}
	return rt->handler(r);
}

enum MHD_Result api_openapi(struct api_req *r)
{
	char *doc = malloc(pp_openapi_json_len);

	if (!doc)
		return api_error(r, 500, "", "out of memory");
	memcpy(doc, pp_openapi_json, pp_openapi_json_len);
	return api_text(r, 200, "application/json", doc, pp_openapi_json_len);
}

/* MHD decodes the URL before the handler sees it; the routing needs the raw
 * path (an encoded '/' in an id must not split it), so keep a copy here. */
static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct api_req *r = calloc(1, sizeof(*r));
	size_t n = strcspn(uri, "?#");

	if (!r)
		return NULL;
	r->api = cls;
	r->c = c;
	r->raw = strndup(uri, n > 4096 ? 4096 : n);
	return r;
}

static enum MHD_Result first_call(struct pp_api *a, struct api_req *r, const char *method)
{
	const union MHD_ConnectionInfo *ci;
	const char *cl;
	bool presented;

	r->started = true;
	r->method = method;
	r->t0 = pp_mono_ns();
	ci = MHD_get_connection_info(r->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	pp_sockaddr_ip(ci ? ci->client_addr : NULL, r->ip, sizeof(r->ip));
	PP_COUNT(api.requests, 1);
	if (!r->raw || split_path(r, r->raw) != 0) {
		enum MHD_Result ret;

		r->nseg = 0;
		if (r->raw && api_console_serve(r, r->raw, &ret))
			return ret;
		return api_error(r, 404, "", "no such endpoint");
	}
	if (!(r->nseg == 1 && strcmp(r->seg[0], "health") == 0)) {
		r->auth = check_auth(a, r->c, &presented);
		if (r->auth == AUTH_NONE)
			return unauthorized(r, presented);
	}
	cl = MHD_lookup_connection_value(r->c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > API_BODY_MAX) {
		r->too_large = true;
		return api_error(r, 413, "", "request body larger than %d bytes", API_BODY_MAX);
	}
	return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **req_cls)
{
	struct pp_api *a = cls;
	struct api_req *r = *req_cls;

	(void)version;
	(void)url;
	(void)c;
	if (!r)
		return MHD_NO; /* out of memory in uri_logger */
	if (!r->started) {
		pp_headdl_head_done(a->hd, c);
		return first_call(a, r, method);
	}
	if (*upload_size) {
		if (!r->responded && !r->too_large) {
			if (r->body.len + *upload_size > API_BODY_MAX)
				r->too_large = true;
			else if (pp_buf_append(&r->body, upload_data, *upload_size) != PP_OK)
				return MHD_NO;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (r->responded)
		return MHD_YES;
	if (r->too_large)
		return api_error(r, 413, "", "request body larger than %d bytes", API_BODY_MAX);
	return route(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_req *r = *req_cls;
	struct pp_api *a = cls;

	(void)toe;
	pp_headdl_request_done(a->hd, c);
	if (!r)
		return;
	if (r->started)
		pp_hist_observe(&pp_metrics.api.duration, pp_mono_ns() - r->t0);
	pp_buf_free(&r->body);
	free(r->raw);
	free(r);
	*req_cls = NULL;
}

int pp_api_start(struct pp_daemon *d, struct pp_api **out, struct pp_err *err)
{
	struct pp_snapshot *s = pp_daemon_acquire(d);
	struct pp_config *cfg = s->cfg;
	struct pp_api *a;
	char text[80];
	int fd = -1, rc;

	*out = NULL;
	if (!cfg->api.listen.port && !cfg->api.listen.host[0]) {
		pp_snapshot_release(s);
		return PP_OK;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		pp_snapshot_release(s);
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	a->d = d;
	a->started_ms = pp_now_ms();
	rc = api_tokens_load(cfg->api.token_file, a->token, sizeof(a->token), err);
	if (rc == PP_OK)
		rc = api_tokens_load(cfg->api.admin_token_file, a->admin_token,
				     sizeof(a->admin_token), err);
	if (rc == PP_OK && strcmp(a->token, a->admin_token) == 0) {
		pp_err_set(err, "%s: the user and admin tokens must differ",
			   cfg->api.admin_token_file);
		rc = PP_EINVAL;
	}
	if (rc == PP_OK)
		rc = pp_http_listen_socket(&cfg->api.listen, "api.listen", d->sockact, &fd,
					   err);
	snprintf(text, sizeof(text), "%s", cfg->api.listen.text);
	pp_snapshot_release(s);
	if (rc != PP_OK) {
		free(a);
		return rc;
	}
	a->lfd = fd;
	snprintf(a->listen_text, sizeof(a->listen_text), "%s", text);
	*out = a;
	return PP_OK;
}

int pp_api_run(struct pp_api *a, struct pp_err *err)
{
	int fd = a->lfd;
	struct pp_snapshot *s = pp_daemon_acquire(a->d);
	unsigned hto = s->cfg->api.header_timeout_s, maxc = s->cfg->api.max_connections,
		 perip = s->cfg->api.max_connections_per_ip;

	pp_snapshot_release(s);
	a->hd = pp_headdl_new("api", hto);
	if (!a->hd) {
		pp_err_set(err, "api: cannot start the header deadline thread");
		return PP_ERR;
	}
	maxc = pp_http_conn_limit(maxc);
	a->mhd = MHD_start_daemon(
		MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL |
			MHD_USE_ERROR_LOG,
		0, NULL, NULL, on_request, a,
		MHD_OPTION_EXTERNAL_LOGGER, pp_http_mhd_logger, (void *)"api.mhd",
		MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_CONNECTION_LIMIT, maxc,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, perip,
		MHD_OPTION_NOTIFY_CONNECTION, pp_headdl_notify, a->hd,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, a,
		MHD_OPTION_URI_LOG_CALLBACK, uri_logger, a,
		MHD_OPTION_END);
	if (!a->mhd) {
		pp_err_set(err, "api.listen %s: cannot start the API server", a->listen_text);
		return PP_ERR;
	}
	a->lfd = -1; /* MHD's now */
	pp_log(PP_LOG_INFO, "api.start",
	       "listen=%s max_connections=%u max_connections_per_ip=%u header_timeout_s=%u",
	       a->listen_text, maxc, perip, hto);
	return PP_OK;
}

void pp_api_stop(struct pp_api *a)
{
	if (!a)
		return;
	atomic_store(&a->stopping, true);
	if (a->mhd)
		MHD_stop_daemon(a->mhd); /* closes the listening socket too */
	else if (a->lfd >= 0)
		close(a->lfd);
	pp_headdl_free(a->hd);
	api_ops_stop(); /* after MHD: no request starts another */
	explicit_bzero(a->token, sizeof(a->token));
	explicit_bzero(a->admin_token, sizeof(a->admin_token));
	free(a);
	pp_log(PP_LOG_INFO, "api.stop", "status=%s", "stopped");
}
