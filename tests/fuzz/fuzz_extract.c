/* Fuzz the extractors: the input is split at '\n' into the seven sources
 * (dhcp.vendor_class, http.user_agent, dhcp.user_class, dhcp.hostname,
 * dhcp.client_id, http.path, tftp.filename) and run through every rule of a
 * test plugin, the association, the path matchers and the normalisers. */
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

static struct pp_registry *reg;
static char dir[64];

static void cleanup(void)
{
	static const char *const rel[] = { "fx/templates/t.mustache", "fx/templates",
					   "fx/plugin.yml", "fx", "" };
	char path[256];

	for (size_t i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, rel[i]);
		remove(path);
	}
	pp_registry_free(reg);
}

static const char plugin_yml[] =
	"name: fx\nversion: \"1.0\"\ndescription: fuzz\nvendor: Fx\n"
	"models:\n  A1: { aliases: [FX-A1], firmware_version: \"1.2.3\" }\n"
	"extract:\n"
	"  - { from: dhcp.vendor_class, regex: '^fx[-_ ](?<model>\\w+)[-_ ](?<version>[\\d_.]+)', "
	"caseless: true, set: { vendor: Fx } }\n"
	"  - { from: http.user_agent, regex: '^Fx/(?<model>\\S+) (?<version>\\S+)(?: "
	"(?<mac>\\S+))?(?: (?<serial>\\S+))?', set: { vendor: Fx } }\n"
	"  - { from: dhcp.hostname, regex: '(?<mac>[0-9a-f]{12})', caseless: true }\n"
	"  - { from: dhcp.user_class, regex: '(?<vendor>\\w+)-(?<model>\\w+)' }\n"
	"  - { from: dhcp.client_id, regex: '^01(?<mac>[0-9a-f]{12})$' }\n"
	"  - { from: http.path, regex: '(?:^|/)(?<mac>[0-9A-Fa-f:.-]{12,17})\\.cfg$' }\n"
	"  - { from: tftp.filename, regex: '(?<version>(?:\\d+[_.-])+\\d+)', set: { vendor: Other } }\n"
	"  - { from: tftp.filename, regex: '(?<serial>(a|aa)+)$' }\n" /* backtracks: match limit */
	"files:\n"
	"  - { path: \"fx/{{mac}}.cfg\", template: t.mustache }\n"
	"  - { path: \"fx/{{MAC}}-{{model}}.xml\", template: t.mustache }\n"
	"  - { path: \"{{mac_colon}}/x.cfg\", template: t.mustache }\n";

static void setup(void)
{
	char path[256];
	struct pp_config *cfg;
	struct pp_err err = { 0 };
	FILE *f;

	snprintf(dir, sizeof(dir), "/tmp/pp-fuzz-extract-XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/fx", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/fx/templates", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/fx/templates/t.mustache", dir);
	f = fopen(path, "w");
	fputs("{{device.mac}}\n", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/fx/plugin.yml", dir);
	f = fopen(path, "w");
	fputs(plugin_yml, f);
	fclose(f);
	cfg = pp_config_defaults(dir);
	free(cfg->plugins.dir);
	cfg->plugins.dir = strdup(dir);
	if (pp_registry_load(cfg, &reg, &err) != PP_OK) {
		fprintf(stderr, "fuzz_extract setup: %s\n", err.msg);
		abort();
	}
	pp_config_free(cfg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct pp_ex_input in;
	struct pp_devinfo di;
	unsigned char sc[4];
	char buf[PP_FIELD_LEN], mac[18];
	const struct pp_plugin *pl;

	if (!reg)
		setup();
	memset(&in, 0, sizeof(in));
	for (int s = 0; s < PP_SRC_N && p <= end; s++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		in.s[s] = p;
		in.len[s] = n;
		p += n + 1;
	}
	pp_identify(reg, &in, &di);
	pp_associate(reg, &di, sc);
	for (int f = 0; f < PP_F_N; f++)
		if (strlen(di.f[f]) >= PP_FIELD_LEN)
			abort();
	if (di.f[PP_F_MAC][0] && strlen(di.f[PP_F_MAC]) != 17)
		abort();
	if (in.s[PP_SRC_HTTP_PATH] && in.len[PP_SRC_HTTP_PATH] < 512) {
		char path[512];

		memcpy(path, in.s[PP_SRC_HTTP_PATH], in.len[PP_SRC_HTTP_PATH]);
		path[in.len[PP_SRC_HTTP_PATH]] = '\0';
		pp_registry_match_path(reg, path, &pl, mac);
	}
	snprintf(buf, sizeof(buf), "%.*s", (int)(size < 60 ? size : 60), (const char *)data);
	pp_version_normalize(buf);
	return 0;
}
