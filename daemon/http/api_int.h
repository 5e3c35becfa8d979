/* REST API internals (daemon/http/api*.c). */
#ifndef PP_API_INT_H
#define PP_API_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <microhttpd.h>

#include "lib/common.h"
#include "daemon/daemon.h"

#define API_BODY_MAX (1024 * 1024)
#define API_MAX_SEGS 8
#define API_SEG_MAX 256

enum api_auth { AUTH_NONE = 0, AUTH_USER = 1, AUTH_ADMIN = 2 };

struct pp_api {
	struct pp_daemon *d;
	struct MHD_Daemon *mhd;
	char token[128];
	char admin_token[128];
	atomic_bool stopping;
	int lfd;                    /* bound, until pp_api_run hands it to MHD */
	char listen_text[80];
	int64_t started_ms;
	struct pp_headdl *hd;       /* the header deadline */
};

/* One API request. */
struct api_req {
	struct pp_api *api;
	struct MHD_Connection *c;
	const char *method;
	int auth;                   /* what the presented token allows */
	bool started;               /* the handler saw the headers */
	uint64_t t0;                /* pp_mono_ns() then */
	bool too_large;
	char *raw;                  /* the path as sent (before any decoding) */
	bool responded;             /* a response was queued early (401, 413) */
	struct pp_buf body;
	size_t nseg;
	char seg[API_MAX_SEGS][API_SEG_MAX]; /* decoded path segments after /api/v1 */
	char ip[64];
	char location[160];         /* Location header of a 2xx answer ("" = none) */
};

/* A detailed error from a transaction callback or a validator. */
struct api_err {
	unsigned status;
	char msg[256];
	char field[64];
};

void api_err_set(struct api_err *e, unsigned status, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Queue resp (destroyed here) with Cache-Control cache; logs the request. */
enum MHD_Result api_queue(struct api_req *r, unsigned status, struct MHD_Response *resp,
			  const char *cache);
/* Responses (each returns MHD's verdict). json is stolen. */
enum MHD_Result api_json(struct api_req *r, unsigned status, json_t *json);
enum MHD_Result api_error(struct api_req *r, unsigned status, const char *field,
			  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
enum MHD_Result api_error_e(struct api_req *r, const struct api_err *e);
/* api_json with a Location header (201 Created). */
enum MHD_Result api_json_at(struct api_req *r, unsigned status, json_t *json, const char *location);
/* A provisioning error (PP_EBADREQ 400, PP_EINVAL 422, PP_EACCES 403,
 * PP_ENOENT 404, PP_EEXIST 409, else api_code_error) with err's field. */
enum MHD_Result api_prov_error(struct api_req *r, int code, const struct pp_err *err);
enum MHD_Result api_text(struct api_req *r, unsigned status, const char *type, char *data,
			 size_t len); /* data is malloc'd and taken over */
/* Map a module return code (PP_ENOTSUP → 501, ...) to an error response. */
enum MHD_Result api_code_error(struct api_req *r, int code, const char *what,
			       const struct pp_err *err);

/* The body parsed as a JSON object (400 with line/column on error). NULL
 * after a response was queued. */
json_t *api_body_object(struct api_req *r, enum MHD_Result *ret);
/* A query argument, or NULL. */
const char *api_query(struct api_req *r, const char *key);
/* Parse an unsigned query argument; -1 after queueing a 400. */
int api_query_u64(struct api_req *r, const char *key, uint64_t def, uint64_t max, uint64_t *out);

/* Endpoints. */
enum MHD_Result api_openapi(struct api_req *r);
enum MHD_Result api_health(struct api_req *r);
enum MHD_Result api_metrics(struct api_req *r);
enum MHD_Result api_devices(struct api_req *r);
enum MHD_Result api_configs(struct api_req *r);
enum MHD_Result api_plugins(struct api_req *r);
enum MHD_Result api_dhcpd_conf(struct api_req *r);
enum MHD_Result api_records(struct api_req *r);
enum MHD_Result api_events(struct api_req *r);
enum MHD_Result api_identify(struct api_req *r);
enum MHD_Result api_whoami(struct api_req *r);
/* The web console (api_console.c): GET/HEAD of a console page outside
 * /api/v1; false when path names none (the caller answers 404). */
bool api_console_serve(struct api_req *r, const char *path, enum MHD_Result *ret);
enum MHD_Result api_phone_types(struct api_req *r);  /* api_flavors.c */
enum MHD_Result api_plugin_route(struct api_req *r); /* api_flavors.c */

/* The routes (api_routes.c): one row per path and method. */
struct api_route {
	const char *path;             /* after /api/v1; "{name}" matches one segment */
	const char *method;
	const char *const *params;    /* the query parameters accepted, NULL-terminated */
	enum MHD_Result (*handler)(struct api_req *r);
};
extern const struct api_route api_routes[];
extern const size_t api_n_routes;
/* Does the request's path (its decoded segments) match a route's path? */
bool api_route_match(const char *path, const struct api_req *r);

/* The OpenAPI document (docs/openapi.json, embedded at build time). */
extern const char pp_openapi_json[];
extern const size_t pp_openapi_json_len;

/* Tokens (api_token.c). */
int api_tokens_load(const char *path, char *out, size_t n, struct pp_err *err);
bool api_token_equal(const char *given, size_t given_len, const char *want);

/* Device/config checks shared with the fuzz harness. */
int api_check_device(const json_t *body, bool partial, struct api_err *e);
int api_check_config(const json_t *body, struct api_err *e);
bool api_valid_id(const char *s);

/* The 405 answer with its Allow header. */
enum MHD_Result api_method_not_allowed(struct api_req *r, const char *allow);

#endif
