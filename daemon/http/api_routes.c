/* The REST API's routes: one row per (path, method) with the query
 * parameters it accepts. The router (api.c) answers from this table: 404
 * for a path it does not list, 405 with the Allow header for a method it
 * does not list, 400 for a query parameter the row does not name; then the
 * endpoint's handler runs. docs/openapi.json documents exactly these rows
 * (tests/e2e/http/test_openapi.py compares them). */

#include <string.h>

#include "api_int.h"
#include "api_ops.h"

static const char *const none[] = { NULL };
static const char *const device_list[] = { "limit", "after", "vendor", "model", "plugin",
					   "state", "config", "ip", "phone_type", NULL };
static const char *const page[] = { "limit", "after", NULL };
static const char *const sync_params[] = { "port", NULL };
static const char *const dhcpd_params[] = { "format", NULL };
static const char *const records_params[] = { "since", "limit", "monitor", "number", "ext",
					      "direction", "from", "to", "parsed", "format",
					      NULL };
static const char *const events_params[] = { "since", NULL };
static const char *const file_params[] = { "path", NULL };
static const char *const any_query[] = { "*", NULL }; /* passed on, not checked */

const struct api_route api_routes[] = {
	{ "/health", "GET", none, api_health },
	{ "/health", "HEAD", none, api_health },
	{ "/openapi.json", "GET", none, api_openapi },
	{ "/metrics", "GET", none, api_metrics },
	{ "/devices", "GET", device_list, api_devices },
	{ "/devices", "POST", none, api_devices },
	{ "/devices/{mac}", "GET", none, api_devices },
	{ "/devices/{mac}", "PUT", none, api_devices },
	{ "/devices/{mac}", "PATCH", none, api_devices },
	{ "/devices/{mac}", "DELETE", none, api_devices },
	{ "/devices/{mac}/reconfigure", "POST", none, api_devices },
	{ "/devices/{mac}/synchronize", "POST", sync_params, api_devices },
	{ "/devices/{mac}/explain", "GET", none, api_devices },
	{ "/devices/{mac}/files", "GET", file_params, api_devices },
	{ "/configs", "GET", page, api_configs },
	{ "/configs", "POST", none, api_configs },
	{ "/configs/{id}", "GET", none, api_configs },
	{ "/configs/{id}", "PUT", none, api_configs },
	{ "/configs/{id}", "DELETE", none, api_configs },
	{ "/plugins", "GET", none, api_plugins },
	{ "/plugins/{name}", "GET", none, api_plugins },
	/* a plugin's own routes (api_flavors.c); "{path}" spans the rest of
	 * the path, any query goes to the plugin; the packages rows below win */
	{ "/plugins/{name}/{path}", "GET", any_query, api_plugin_route },
	{ "/plugins/{name}/{path}", "POST", any_query, api_plugin_route },
	{ "/plugins/{name}/{path}", "PUT", any_query, api_plugin_route },
	{ "/plugins/{name}/{path}", "PATCH", any_query, api_plugin_route },
	{ "/plugins/{name}/{path}", "DELETE", any_query, api_plugin_route },
	{ "/plugins/{name}/packages", "GET", none, api_plugins },
	{ "/plugins/{name}/packages/{package}", "POST", none, api_plugins },
	{ "/plugins/{name}/packages/{package}", "DELETE", none, api_plugins },
	{ "/phone_types", "GET", none, api_phone_types },
	{ "/operations", "GET", none, api_operations },
	{ "/operations/{id}", "GET", none, api_operations },
	{ "/dhcpd.conf", "GET", dhcpd_params, api_dhcpd_conf },
	{ "/records", "GET", records_params, api_records },
	{ "/events", "GET", events_params, api_events },
	{ "/identify", "POST", none, api_identify },
	{ "/whoami", "GET", none, api_whoami },
};
const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);

bool api_route_match(const char *path, const struct api_req *r)
{
	size_t i = 0;

	while (*path == '/') {
		const char *s = ++path;
		size_t n;

		while (*path && *path != '/')
			path++;
		n = (size_t)(path - s);
		if (i >= r->nseg)
			return false;
		if (!*path && n == 6 && memcmp(s, "{path}", 6) == 0)
			return true; /* a last "{path}": the rest, one segment or more */
		if (!(s[0] == '{' && s[n - 1] == '}') &&
		    (strlen(r->seg[i]) != n || memcmp(r->seg[i], s, n) != 0))
			return false;
		i++;
	}
	return i == r->nseg;
}
