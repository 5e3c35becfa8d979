/* Prints the REST API's route table (daemon/http/api_routes.c) as JSON, for
 * tests/e2e/http/test_openapi.py: [{"path", "method", "params": [...]}]. */
#include <stdio.h>
#include <jansson.h>

#include "daemon/http/api_int.h"

int main(void)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < api_n_routes; i++) {
		json_t *params = json_array();

		for (const char *const *p = api_routes[i].params; *p; p++)
			json_array_append_new(params, json_string(*p));
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "path", api_routes[i].path,
						     "method", api_routes[i].method, "params",
						     params));
	}
	json_dumpf(arr, stdout, JSON_INDENT(1));
	putchar('\n');
	json_decref(arr);
	return 0;
}
