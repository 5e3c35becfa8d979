/* Fuzz the configuration loader: YAML parsing plus every validation rule of
 * pp_config_load_buf. Invariants: no crash or leak; success gives a complete
 * config with absolute paths; failure gives one non-empty line. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
	if (!p || p[0] != '/')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_config *c = NULL;
	struct pp_err err = { 0 };
	int rc;

	if (size > 65536)
		return 0;
	rc = pp_config_load_buf("fuzz.yml", (const char *)data, size, "/srv/phoneprov", false, &c,
				&err);
	if (rc != PP_OK) {
		if (c || !err.msg[0] || strchr(err.msg, '\n'))
			abort();
		return 0;
	}
	if (!c)
		abort();
	check_path(c->data_dir);
	check_path(c->tftp.root);
	check_path(c->http.root);
	check_path(c->api.token_file);
	check_path(c->api.admin_token_file);
	check_path(c->plugins.dir);
	if (c->dhcp_sniffer.pcap_file[0])
		check_path(c->dhcp_sniffer.pcap_file);
	if (c->tftp.max_blksize < 8 || c->tftp.max_blksize > 65464 || c->tftp.max_windowsize < 1 ||
	    c->tftp.listen.port < 1 || c->tftp.listen.port > 65535 || c->http.listen.port < 1 ||
	    c->api.listen.port < 1 || !json_is_object(c->plugins.settings) ||
	    (c->plugins.all && c->plugins.n_enabled))
		abort();
	pp_config_free(c);
	return 0;
}
