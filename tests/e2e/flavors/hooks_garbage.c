/* A routes hook that answers badly on purpose, for the boundary tests of
 * test_flavors.py: a status outside HTTP's range, a body that is no JSON
 * object, a return value that is no PP_E* code; and two fair answers (an
 * error with a field, a teapot) to compare. */
#include <string.h>

#include "daemon/plugin/hooks.h"
#include "lib/common.h"

static int g_routes(void *state, const struct pp_hook_request *rq, struct pp_hook_response *rs)
{
	(void)state;
	if (strcmp(rq->path, "status") == 0) {
		rs->status = 42;
		rs->body = json_object();
		return PP_OK;
	}
	if (strcmp(rq->path, "string") == 0) {
		rs->body = json_string("not an object");
		return PP_OK;
	}
	if (strcmp(rq->path, "rc") == 0)
		return 7;
	if (strcmp(rq->path, "einval") == 0) {
		strcpy(rs->error, "the thing is wrong");
		strcpy(rs->field, "thing");
		rs->body = json_object(); /* ignored with an error: freed */
		return PP_EINVAL;
	}
	if (strcmp(rq->path, "teapot") == 0) {
		rs->status = 418;
		rs->body = json_pack("{s:s}", "short", "stout");
		return PP_OK;
	}
	if (strcmp(rq->path, "nobody") == 0) {
		rs->status = 204;
		return PP_OK;
	}
	return PP_ENOENT;
}

const struct pp_plugin_hooks pp_plugin_hooks = {
	.abi = PP_HOOKS_ABI,
	.size = sizeof(struct pp_plugin_hooks),
	.routes = g_routes,
};
