/* bench-associate PLUGINS_DIR [ITERATIONS] < requests
 * Each stdin line is one request: "ua|path|proto" (proto tftp or http) or
 * "dhcp|vci". Loads every plugin of PLUGINS_DIR and times, per request, what
 * the pipeline does before touching the store: extract (pp_identify), match
 * the path against the file patterns (ban / MAC), associate. Prints µs per
 * request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/config.h"
#include "daemon/plugin/plugin_int.h"

struct req {
	struct pp_ex_input in;
	char path[512];
};

int main(int argc, char **argv)
{
	struct pp_config *cfg;
	struct pp_registry *reg;
	struct pp_err err = { 0 };
	struct req *rq = NULL;
	size_t n = 0, cap = 0, iters;
	char line[2048];
	unsigned char sc[256];
	uint64_t t0, t1;
	volatile int sink = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: bench-associate PLUGINS_DIR [ITERATIONS] < requests\n");
		return 2;
	}
	iters = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
	cfg = pp_config_defaults(argv[1]);
	free(cfg->plugins.dir);
	cfg->plugins.dir = strdup(argv[1]);
	t0 = pp_mono_ns();
	if (pp_registry_load(cfg, &reg, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	t1 = pp_mono_ns();
	printf("plugins=%zu load_ms=%.2f\n", pp_registry_count(reg), (t1 - t0) / 1e6);
	while (fgets(line, sizeof(line), stdin)) {
		char *a = strtok(line, "|\n"), *b = strtok(NULL, "|\n"), *c = strtok(NULL, "|\n");
		struct req *r;

		if (!a)
			continue;
		if (n == cap && !(rq = realloc(rq, (cap = cap ? cap * 2 : 64) * sizeof(*rq))))
			return 1;
		r = &rq[n++];
		memset(r, 0, sizeof(*r));
		if (strcmp(a, "dhcp") == 0) {
			r->in.s[PP_SRC_DHCP_VCI] = strdup(b ? b : "");
			r->in.len[PP_SRC_DHCP_VCI] = strlen(b ? b : "");
			continue;
		}
		snprintf(r->path, sizeof(r->path), "%s", b ? b : "");
		if (strcmp(a, "-") != 0) {
			r->in.s[PP_SRC_HTTP_UA] = strdup(a);
			r->in.len[PP_SRC_HTTP_UA] = strlen(a);
		}
		int s = c && strcmp(c, "tftp") == 0 ? PP_SRC_TFTP_FILE : PP_SRC_HTTP_PATH;

		r->in.s[s] = r->path;
		r->in.len[s] = strlen(r->path);
	}
	if (!n)
		return 1;
	/* warm up, then measure */
	for (size_t k = 0; k < 2; k++) {
		struct pp_devinfo di;
		char mac[18];
		const struct pp_plugin *p;

		t0 = pp_mono_ns();
		for (size_t i = 0; i < iters; i++) {
			struct req *r = &rq[i % n];

			pp_identify(reg, &r->in, &di);
			if (r->path[0])
				sink += pp_registry_match_path(reg, r->path, &p, mac) != NULL;
			sink += pp_associate(reg, &di, sc);
		}
		t1 = pp_mono_ns();
	}
	printf("requests=%zu iterations=%zu us_per_request=%.3f\n", n, iters,
	       (t1 - t0) / 1e3 / (double)iters);
	pp_registry_free(reg);
	pp_config_free(cfg);
	return sink == 42 ? 3 : 0;
}
