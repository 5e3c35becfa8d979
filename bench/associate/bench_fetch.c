/* bench-fetch PLUGINS_DIR [N]: pp_prov_fetch cost for (a) a known device
 * whose files are fresh (one read txn), (b) a static file, (c) first sight
 * (create + associate + render + disk), with every plugin of PLUGINS_DIR.
 * Uses a temporary data dir; nothing else is touched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config/config.h"
#include "daemon/daemon.h"
#include "daemon/provision/provision.h"

static double run(struct pp_daemon *d, const char *path, const char *ua, size_t n, int vary)
{
	char buf[64];
	uint64_t t0 = pp_mono_ns();

	for (size_t i = 0; i < n; i++) {
		struct pp_request rq = { .proto = PP_PROTO_HTTP, .path = path,
					 .path_len = path ? strlen(path) : 0, .user_agent = ua,
					 .peer_ip = "127.0.0.1", .rootfd = d->http_rootfd };
		struct pp_blob b;
		const char *why;

		if (vary) {
			snprintf(buf, sizeof(buf), "805ec0%06zx.cfg", i);
			rq.path = buf;
			rq.path_len = strlen(buf);
		}
		if (pp_prov_fetch(d->prov, &rq, &b, &why, NULL, NULL) == PP_OK)
			pp_blob_release(&b);
	}
	return (pp_mono_ns() - t0) / 1e3 / (double)n;
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/ppbench-fetch-XXXXXX", cmd[600], path[512];
	struct pp_config *cfg;
	struct pp_daemon d;
	struct pp_err err = { 0 };
	size_t n = argc > 2 ? strtoul(argv[2], NULL, 10) : 20000;
	const char *ua = "Yealink SIP-T46S 66.86.0.15 80:5e:c0:a1:b2:c3";
	FILE *f;

	if (argc < 2 || !mkdtemp(tmp))
		return 2;
	snprintf(path, sizeof(path), "%s/static.bin", tmp);
	f = fopen(path, "w");
	fputs("static\n", f);
	fclose(f);
	cfg = pp_config_defaults(tmp);
	free(cfg->plugins.dir);
	cfg->plugins.dir = strdup(argv[1]);
	free(cfg->http.root);
	cfg->http.root = strdup(tmp);
	free(cfg->tftp.root);
	cfg->tftp.root = strdup(tmp);
	free(cfg->data_dir);
	snprintf(path, sizeof(path), "%s/var", tmp);
	cfg->data_dir = strdup(path);
	cfg->security.unknown_mac_limit = 0; /* no ban in the benchmark */
	cfg->security.unknown_mac_limit_per_net = 0;
	if (pp_daemon_init(&d, cfg, 0, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	run(&d, "805ec0a1b2c3.cfg", ua, 1, 0); /* create it */
	printf("fresh_device_fetch_us=%.2f\n", run(&d, "805ec0a1b2c3.cfg", ua, n, 0));
	printf("static_file_fetch_us=%.2f\n", run(&d, "static.bin", NULL, n, 0));
	printf("first_sight_create_render_us=%.1f\n", run(&d, NULL, "Yealink SIP-T46S 66.86.0.15",
							   n / 100 ? n / 100 : 1, 1));
	pp_daemon_fini(&d);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	return system(cmd) == 0 ? 0 : 1;
}
