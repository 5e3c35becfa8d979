/* Fuzz the provd document reader (daemon/provision/provd.c) as `phoneprov
 * import wazo` uses it: parse one file, convert it as a config and as a
 * device, then run the write path's checks on the results (the config's
 * raw_config schema, the device document check). Invariants: no crash or
 * leak; a refusal has a message; a converted device has a normalised MAC
 * equal to its "mac" member; the schema's normaliser accepts any config. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/rawschema.h"
#include "daemon/provision/provd.h"
#include "daemon/provision/provision.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_err err = { 0 };
	json_t *doc = NULL, *cfg = NULL, *dev = NULL;
	char mac[18], plugin[128];

	if (size > 65536)
		return 0;
	if (pp_provd_parse((const char *)data, size, &doc, &err) != PP_OK) {
		if (doc || !err.msg[0])
			abort();
		return 0;
	}
	if (pp_provd_config(doc, &cfg, &err) == PP_OK) {
		json_t *copy;

		if (!cfg)
			abort();
		memset(&err, 0, sizeof(err));
		if (pp_prov_config_check(cfg, &err) != PP_OK && !err.msg[0])
			abort();
		copy = json_deep_copy(json_object_get(cfg, "raw_config"));
		pp_rawcfg_normalise(copy);
		(void)pp_rawcfg_line1(copy);
		json_decref(copy);
	} else if (cfg || !err.msg[0]) {
		abort();
	}
	memset(&err, 0, sizeof(err));
	if (pp_provd_device(doc, &dev, mac, plugin, &err) == PP_OK) {
		const char *m = json_string_value(json_object_get(dev, "mac"));

		if (!m || strcmp(m, mac) != 0 || strlen(mac) != 17)
			abort();
		memset(&err, 0, sizeof(err));
		if (pp_prov_device_check(dev, false, &err) != PP_OK && !err.msg[0])
			abort();
	} else if (dev || !err.msg[0]) {
		abort();
	}
	json_decref(dev);
	json_decref(cfg);
	json_decref(doc);
	return 0;
}
