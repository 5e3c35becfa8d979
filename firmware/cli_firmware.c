/* STUB: replaced by its module's issue. */
#include <stdio.h>
#include "../daemon/cli.h"
int pp_cmd_firmware(struct pp_cli *c, int argc, char **argv)
{
	(void)c; (void)argc;
	fprintf(stderr, "phoneprov %s: not implemented yet\n", argv[0]);
	return 1;
}
