/* Optional C hooks of a plugin (DESIGN §6): the public, versioned ABI.
 *
 * A plugin folder may hold hooks.so (built from hooks.c, see docs/plugins.md).
 * It exports ONE symbol, `pp_plugin_hooks`, of type `const struct
 * pp_plugin_hooks` with abi = PP_HOOKS_ABI and size = sizeof(struct
 * pp_plugin_hooks). Every function pointer is optional (NULL = not provided).
 * Fields are only ever appended: a module built against an older header has
 * a smaller `size` and the daemon never reads past it.
 *
 * Threads: init/fini run where the registry is (re)loaded (the main
 * thread); on_device* run after the commit on the thread that made the
 * change (API threads, the CLI, the provisioning worker) and score on the
 * TFTP/HTTP/DHCP threads (concurrently: be thread-safe); routes on the API
 * threads (concurrently); job on the jobs thread (never two at once); run
 * (call-record monitor) on its own thread. docs/flavors.md has the rules.
 * Functions return PP_OK (0) or a negative PP_E* code (daemon/common.h). */
#ifndef PP_HOOKS_H
#define PP_HOOKS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

#define PP_HOOKS_ABI 1

/* What the extractors found about a device (strings never NULL, "" = unknown). */
struct pp_hook_info {
	const char *vendor, *model, *version, *mac, *serial;
};

/* A call to /api/v1/plugins/<name>/<sub path> (docs/flavors.md, "Routes").
 * Everything is borrowed for the duration of the call. */
struct pp_hook_request {
	const char *method;   /* "GET", "POST", ... */
	const char *path;     /* below /api/v1/plugins/<name>/, no leading '/',
			       * percent-decoded segments joined by '/' */
	const char *query;    /* raw query string (still percent-encoded) or "" */
	const char *body;     /* request body (NUL-terminated) or "" */
	size_t body_len;
	/* appended (ABI 1, phone flavors): */
	const json_t *query_args; /* the query decoded: object name -> string */
	const json_t *json;   /* the body parsed when it is JSON, else NULL */
	bool admin;           /* the caller presented the admin token */
};
/* Filled by the hook. Return PP_OK with status (100-599; 0 = 200) and body
 * (a JSON object or array the daemon takes over and frees; NULL = no body),
 * or a PP_E* code with error (and field) set: the client gets
 * {"error": error, "field": field} with the code's status (PP_EINVAL 422,
 * PP_EBADREQ 400, PP_ENOENT 404, PP_EACCES 403, PP_EEXIST 409, PP_EBUSY
 * 503, PP_ENOTSUP 501, else 500). Anything else is the hook's fault: 500. */
struct pp_hook_response {
	int status;           /* HTTP status; 0 = 200 */
	json_t *body;         /* set by the hook, freed by the daemon */
	char error[256];      /* with a PP_E* return: the message */
	char field[64];       /* with a PP_E* return: the input at fault ("" = none) */
};

/* on_device's event */
#define PP_DEVICE_CREATED 0
#define PP_DEVICE_UPDATED 1
#define PP_DEVICE_DELETED 2

/* Call-record monitor context. */
struct pp_monitor_ctx {
	atomic_bool *running;           /* loop while *running */
	const json_t *settings;         /* the plugin's settings */
	/* Store one call record (any JSON object); PP_OK or an error. */
	int (*push)(struct pp_monitor_ctx *ctx, const json_t *record);
	void *daemon;                   /* opaque */
};

struct pp_plugin_hooks {
	uint32_t abi;                   /* PP_HOOKS_ABI */
	uint32_t size;                  /* sizeof(struct pp_plugin_hooks) */
	/* settings: plugins.settings.<name> (an object). *state is passed back. */
	int (*init)(const json_t *settings, void **state);
	void (*fini)(void *state);
	void (*on_device_create)(void *state, const json_t *device);
	void (*on_device_update)(void *state, const json_t *device);
	void (*on_device_delete)(void *state, const json_t *device);
	/* Return a score 0..3 (IMPROBABLE..EXACT) or -1 to keep `def`. */
	int (*score)(void *state, const struct pp_hook_info *info, int def);
	int (*routes)(void *state, const struct pp_hook_request *rq, struct pp_hook_response *rs);
	/* Periodic job: called once at start, then every job_interval_s seconds.
	 * Returning PP_ENOTSUP (-9) means "not implemented": never called again. */
	int (*job)(void *state);
	unsigned job_interval_s;
	/* Call-record monitor: loops while *ctx->running, pushing records. */
	int (*run)(void *state, struct pp_monitor_ctx *ctx);
	/* ---- appended (phone flavors, docs/flavors.md) ---- */
	/* Device lifecycle with the device's effective config (its plugin's
	 * autoprov <- general settings <- its config chain <- phone type:
	 * what its templates see), called after the commit, exactly once per
	 * change, on the thread that made the change (API, CLI, provisioning
	 * worker): be thread-safe. When set, on_device_create/update/delete
	 * are not called. event: PP_DEVICE_CREATED, _UPDATED, _DELETED. */
	void (*on_device)(void *state, int event, const json_t *device, const json_t *config);
	/* Sub paths of routes that need the admin token: fnmatch(3) patterns
	 * (e.g. "config", "admin/\*"), NULL-terminated; NULL = none. */
	const char *const *admin_routes;
};

#endif
