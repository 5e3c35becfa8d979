/* The phoneprov CLI: one function per command. Each command parses its own
 * arguments with getopt_long (argv[0] is the command name; --opt=value and
 * --opt value both work), prints --help, and returns the process exit
 * status (0 ok, 1 failure, 2 usage error). Device and config changes go
 * through the provisioning module (pp_prov_*), like the REST API's. */
#ifndef PP_CLI_H
#define PP_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include "daemon/daemon.h"

struct pp_cli {
	const char *config_path; /* -c FILE, else pp_config_default_path() */
	bool json;               /* --json */
	struct pp_config *cfg;   /* loaded by pp_cli_open_config */
	struct pp_daemon d;      /* filled by pp_cli_open_daemon */
	bool d_open;
};

/* Load cfg (prints the error and returns 1 on failure). */
int pp_cli_open_config(struct pp_cli *c);
/* Load cfg, open the store and the plugin registry into c->d. */
int pp_cli_open_daemon(struct pp_cli *c);

/* What pp_cli_getopt returns for a bad option (already reported). */
#define PP_CLI_BADOPT 0x100
/* getopt_long for command `cmd` (optind is reset before each vector):
 * returns the option's value, -1 at the end, or PP_CLI_BADOPT after
 * printing "unknown option" / "needs a value". shortopts without ':'. */
int pp_cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
		  const struct option *opts);
/* The operands after a getopt_long loop (GNU getopt moved them last). */
static inline int pp_cli_operands(int argc, char **argv, char ***out)
{
	*out = argv + optind;
	return argc - optind;
}
/* "phoneprov CMD: <message>" + "Try ..." on stderr; returns 2. */
int pp_cli_usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print j (indented, sorted keys) on stdout. */
void pp_cli_print_json(const json_t *j);

/* The running daemon's REST API (cli_remote.c): METHOD path (after /api/v1)
 * with the admin token (or the user token when the admin one cannot be
 * read). *status = the HTTP status, *out = the JSON answer (NULL when not
 * JSON). PP_OK, or PP_EIO when the daemon does not answer (err says why). */
int pp_cli_api(struct pp_cli *c, const char *method, const char *path, long *status,
	       json_t **out, struct pp_err *err);

int pp_cmd_check_config(struct pp_cli *c, int argc, char **argv);
int pp_cmd_devices(struct pp_cli *c, int argc, char **argv);
int pp_cmd_reconfigure(struct pp_cli *c, int argc, char **argv);
int pp_cmd_records(struct pp_cli *c, int argc, char **argv);
int pp_cmd_files(struct pp_cli *c, int argc, char **argv);
int pp_cmd_configs(struct pp_cli *c, int argc, char **argv);
int pp_cmd_status(struct pp_cli *c, int argc, char **argv);
int pp_cmd_synchronize(struct pp_cli *c, int argc, char **argv);
/* registry module */
int pp_cmd_plugins(struct pp_cli *c, int argc, char **argv);
int pp_cmd_render(struct pp_cli *c, int argc, char **argv);
int pp_cmd_identify(struct pp_cli *c, int argc, char **argv);
int pp_cmd_phone_types(struct pp_cli *c, int argc, char **argv); /* cli_flavors.c */
/* dhcp module */
int pp_cmd_dhcpd_config(struct pp_cli *c, int argc, char **argv);
int pp_cmd_import_pcap(struct pp_cli *c, int argc, char **argv);
/* firmware module */
int pp_cmd_firmware(struct pp_cli *c, int argc, char **argv);
/* import / export (cli_import.c) */
int pp_cmd_import(struct pp_cli *c, int argc, char **argv);
int pp_cmd_export(struct pp_cli *c, int argc, char **argv);

#endif
