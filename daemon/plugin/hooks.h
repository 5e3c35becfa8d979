/* Optional C hooks of a plugin (DESIGN §6): the public, versioned ABI.
 *
 * A plugin folder may hold hooks.so (built from hooks.c, see docs/plugins.md).
 * It exports ONE symbol, `pp_plugin_hooks`, of type `const struct
 * pp_plugin_hooks` with abi = PP_HOOKS_ABI and size = sizeof(struct
 * pp_plugin_hooks). Every function pointer is optional (NULL = not provided).
 * Fields are only ever appended: a module built against an older header has
 * a smaller `size` and the daemon never reads past it.
 *
 * Threads: init/fini run where the registry is (re)loaded; on_device_* and
 * score run on the TFTP/HTTP/DHCP threads (concurrently: be thread-safe);
 * job runs on the jobs thread; run (call-record monitor) on its own thread.
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

/* A call to /api/v1/plugins/<name>/<sub path>. */
struct pp_hook_request {
	const char *method;   /* "GET", "POST", ... */
	const char *path;     /* below /api/v1/plugins/<name>/, no leading '/' */
	const char *query;    /* raw query string or "" */
	const char *body;     /* request body (NUL-terminated) or "" */
	size_t body_len;
};
struct pp_hook_response {
	int status;           /* HTTP status; 0 = 404 */
	json_t *body;         /* set by the hook, freed by the daemon */
};

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
};

#endif
