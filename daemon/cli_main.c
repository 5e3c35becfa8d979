/* phoneprov: the command-line tool. Global options, then one command from
 * the table below; each command parses its own arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#ifndef PP_VERSION
#define PP_VERSION "0.1.0"
#endif

struct command {
	const char *name;
	int (*fn)(struct pp_cli *c, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "check-config", pp_cmd_check_config, "validate the configuration and plugins" },
	{ "plugins", pp_cmd_plugins, "list the plugins and what they support" },
	{ "devices", pp_cmd_devices, "list|show|add|rm devices in the store" },
	{ "render", pp_cmd_render, "render a device's files (MAC [--explain])" },
	{ "identify", pp_cmd_identify, "show what phoneprov makes of a phone's request" },
	{ "dhcpd-config", pp_cmd_dhcpd_config, "print a DHCP server config (--format isc|kea)" },
	{ "firmware", pp_cmd_firmware, "list|install|verify firmware packages" },
	{ "import-pcap", pp_cmd_import_pcap, "replay DHCP traffic from a capture file" },
	{ "records", pp_cmd_records, "list call records (--since SEQ, --limit N)" },
};

static void usage(FILE *f)
{
	fputs("Usage: phoneprov [-c FILE] [--json] COMMAND [ARGS]\n"
	      "Administer a phoneprov installation: the same configuration and store as\n"
	      "phoneprovd (safe to use while the daemon runs).\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE  configuration file (default: ./phoneprov.yml)\n"
	      "      --json         machine-readable output (also accepted after COMMAND)\n"
	      "  -h, --help         this help; 'phoneprov COMMAND --help' for a command\n"
	      "  -V, --version      show the version\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < PP_ARRAY_LEN(commands); i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fputs("\nExit status: 0 ok, 1 failure, 2 usage error.\n", f);
}

int main(int argc, char **argv)
{
	struct pp_cli c;
	const struct command *cmd = NULL;
	int i, rc, n = 0;
	char **args;

	memset(&c, 0, sizeof(c));
	c.config_path = "phoneprov.yml";
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "phoneprov: %s needs a file name\n", a);
				return 2;
			}
			c.config_path = argv[++i];
		} else if (!strncmp(a, "--config=", 9)) {
			c.config_path = a + 9;
		} else if (!strcmp(a, "--json")) {
			c.json = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help")) {
			if (!strcmp(a, "help") && i + 1 < argc)
				break; /* "help COMMAND" → COMMAND --help below */
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("phoneprov %s\n", PP_VERSION);
			return 0;
		} else if (a[0] == '-') {
			fprintf(stderr, "phoneprov: unknown option '%s'\n", a);
			usage(stderr);
			return 2;
		} else {
			break;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	bool help_cmd = !strcmp(argv[i], "help");

	if (help_cmd)
		i++;
	for (size_t k = 0; k < PP_ARRAY_LEN(commands); k++)
		if (!strcmp(commands[k].name, argv[i]))
			cmd = &commands[k];
	if (!cmd) {
		fprintf(stderr, "phoneprov: unknown command '%s'\n", argv[i]);
		usage(stderr);
		return 2;
	}
	/* the command's own argv (argv[0] = its name); --json is global */
	args = calloc((size_t)(argc - i) + 2, sizeof(char *));
	if (!args) {
		fprintf(stderr, "phoneprov: out of memory\n");
		return 1;
	}
	args[n++] = argv[i];
	if (help_cmd)
		args[n++] = (char *)"--help";
	for (int k = i + 1; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			c.json = true;
		else
			args[n++] = argv[k];
	}
	args[n] = NULL;
	rc = cmd->fn(&c, n, args);
	free(args);
	if (c.d_open)
		pp_daemon_fini(&c.d);
	else
		pp_config_free(c.cfg);
	return rc;
}
