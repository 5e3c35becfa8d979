/* phoneprov-firmware-worker: what phoneprovd runs for one firmware operation
 * (daemon/fw_client.c). It takes the arguments of
 *   phoneprov -c CONFIG firmware --worker OPERATION [ARGS]
 * and runs the same code (cli/cli_firmware.c), so that the daemon may run
 * either program; installed in libexec (the daemon knows its path from the
 * build, pp_paths.h), it is not a command for people. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
	struct pp_cli c;
	int rc;

	if (argc < 5 || strcmp(argv[1], "-c") != 0 || strcmp(argv[3], "firmware") != 0 ||
	    strcmp(argv[4], "--worker") != 0) {
		fprintf(stderr, "phoneprov-firmware-worker: phoneprovd runs this program for its "
			"firmware operations\n"
			"usage: %s -c CONFIG firmware --worker OPERATION [ARGS]\n"
			"(people use 'phoneprov firmware')\n", argv[0]);
		return 2;
	}
	memset(&c, 0, sizeof(c));
	c.config_path = argv[2];
	rc = pp_cmd_firmware(&c, argc - 3, argv + 3);
	if (c.d_open)
		pp_daemon_fini(&c.d);
	else
		pp_config_free(c.cfg);
	return rc;
}
