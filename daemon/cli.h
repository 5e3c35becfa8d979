/* The phoneprov CLI: one function per command. Each command parses its own
 * arguments (argv[0] is the command name), prints --help, and returns the
 * process exit status (0 ok, 1 failure, 2 usage error). */
#ifndef PP_CLI_H
#define PP_CLI_H

#include <stdbool.h>
#include "daemon.h"

struct pp_cli {
	const char *config_path; /* -c FILE, default phoneprov.yml */
	bool json;               /* --json */
	struct pp_config *cfg;   /* loaded by pp_cli_open_config */
	struct pp_daemon d;      /* filled by pp_cli_open_daemon */
	bool d_open;
};

/* Load cfg (prints the error and returns 1 on failure). */
int pp_cli_open_config(struct pp_cli *c);
/* Load cfg, open the store and the plugin registry into c->d. */
int pp_cli_open_daemon(struct pp_cli *c);

int pp_cmd_check_config(struct pp_cli *c, int argc, char **argv);
int pp_cmd_devices(struct pp_cli *c, int argc, char **argv);
int pp_cmd_records(struct pp_cli *c, int argc, char **argv);
/* registry module */
int pp_cmd_plugins(struct pp_cli *c, int argc, char **argv);
int pp_cmd_render(struct pp_cli *c, int argc, char **argv);
int pp_cmd_identify(struct pp_cli *c, int argc, char **argv);
/* dhcp module */
int pp_cmd_dhcpd_config(struct pp_cli *c, int argc, char **argv);
int pp_cmd_import_pcap(struct pp_cli *c, int argc, char **argv);
/* firmware module */
int pp_cmd_firmware(struct pp_cli *c, int argc, char **argv);

#endif
