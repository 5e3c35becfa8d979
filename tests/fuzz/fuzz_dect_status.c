/* Fuzz the DECT base station status page parser of the dect-base flavor
 * (plugins/dect-base/status.c) over raw bytes: any page gives the handsets
 * or a "line N: ..." error, never a crash, leak or undefined behaviour; and
 * what it gives holds the documented bounds (docs/flavors.md, "The DECT
 * status page"). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugins/dect-base/status.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *out = NULL, *h;
	char err[200];
	size_t i;

	if (dect_status_parse((const char *)data, size, &out, err, sizeof(err)) != 0) {
		if (out || !err[0])
			abort();
		return 0;
	}
	if (!json_is_object(json_object_get(out, "base")) ||
	    json_array_size(json_object_get(out, "handsets")) > DECT_HANDSETS_MAX)
		abort();
	json_array_foreach(json_object_get(out, "handsets"), i, h) {
		const char *ipui = json_string_value(json_object_get(h, "ipui"));
		json_int_t idx = json_integer_value(json_object_get(h, "index"));
		json_t *r = json_object_get(h, "rssi"), *b = json_object_get(h, "battery");

		if (!ipui || strlen(ipui) != 10 || idx < 1 || idx > 9999 ||
		    (r && (json_integer_value(r) < -150 || json_integer_value(r) > 0)) ||
		    (b && (json_integer_value(b) < 0 || json_integer_value(b) > 100)))
			abort();
		if (i > 0 && json_integer_value(json_object_get(json_array_get(
				     json_object_get(out, "handsets"), i - 1), "index")) >= idx)
			abort();
	}
	json_decref(out);
	return 0;
}
