/* STUB: the phoneprov CLI dispatcher and core commands (issue 2) replace this file. */
#include <stdio.h>
#include "cli.h"
int pp_cmd_check_config(struct pp_cli *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; return 1; }
int pp_cmd_devices(struct pp_cli *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; return 1; }
int pp_cmd_records(struct pp_cli *c, int argc, char **argv) { (void)c; (void)argc; (void)argv; return 1; }
int pp_cli_open_config(struct pp_cli *c) { (void)c; return 1; }
int pp_cli_open_daemon(struct pp_cli *c) { (void)c; return 1; }
