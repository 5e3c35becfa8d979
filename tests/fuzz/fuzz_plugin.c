/* Fuzz the plugin.yml loader: the input is written as plugin.yml of a plugin
 * "fz" (with two templates) and the registry is loaded: every input must give
 * PP_OK or a clean error, never a crash or leak. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config/config.h"
#include "daemon/plugin/plugin_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];

static void put(const char *rel, const void *p, size_t n)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "wb");
	if (!f)
		abort();
	fwrite(p, 1, n, f);
	fclose(f);
}

static void cleanup(void)
{
	static const char *const rel[] = { "fz/templates/t.mustache", "fz/templates/p.mustache",
					   "fz/templates", "fz/plugin.yml", "fz", "" };
	char path[256];

	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, rel[i]);
		remove(path);
	}
}

static void setup(void)
{
	char path[256];

	snprintf(dir, sizeof(dir), "/tmp/pp-fuzz-plugin-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/fz", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/fz/templates", dir);
	mkdir(path, 0700);
	put("fz/templates/t.mustache", "{{device.mac}} {{#sip_lines}}{{username}}{{/sip_lines}}\n", 55);
	put("fz/templates/p.mustache", "{{> t}}{{plugin.name}}\n", 23);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_config *cfg;
	struct pp_registry *r = NULL;
	struct pp_err err = { 0 };

	if (!dir[0])
		setup();
	if (size > 65536)
		return 0;
	put("fz/plugin.yml", data, size);
	cfg = pp_config_defaults(dir);
	free(cfg->plugins.dir);
	cfg->plugins.dir = strdup(dir);
	if (pp_registry_load(cfg, &r, &err) == PP_OK) {
		struct pp_devinfo di;
		struct pp_ex_input in;
		const char *ua = "FZ T1 1_2_3 00:11:22:33:44:55";

		memset(&in, 0, sizeof(in));
		for (int s = 0; s < PP_SRC_N; s++) {
			in.s[s] = ua;
			in.len[s] = strlen(ua);
		}
		pp_identify(r, &in, &di);
		pp_associate(r, &di, NULL);
		pp_registry_free(r);
	} else if (!strchr(err.msg, ':')) {
		abort(); /* every error names its file */
	}
	pp_config_free(cfg);
	return 0;
}
