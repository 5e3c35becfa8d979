/* phoneprov: the command-line tool. Global options (getopt_long, so
 * --config=FILE works like -c FILE), then one command from the table below;
 * each command parses its own arguments.
 *
 * --json: a command prints its answer as JSON on stdout, and its errors too.
 * Commands print their errors on stderr; under --json both streams are
 * wrapped (fopencookie): stderr still reaches fd 2 and its last line is
 * kept, stdout counts what it printed. A command that fails (exit status
 * not 0) without printing anything on stdout then gets
 *   {"error": "<its last error line>", "exit": <status>}
 * there, so a script reading stdout always has one JSON document. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#ifndef PP_VERSION
#error "PP_VERSION comes from meson.build (project version)"
#endif

struct command {
	const char *name;
	int (*fn)(struct pp_cli *c, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "status", pp_cmd_status, "the running daemon (through the API), else the store" },
	{ "check-config", pp_cmd_check_config, "validate the configuration and plugins" },
	{ "plugins", pp_cmd_plugins, "list the plugins and what they support" },
	{ "phone-types", pp_cmd_phone_types, "list the phone types users choose from" },
	{ "devices", pp_cmd_devices, "list|show|add|set|rm devices in the store" },
	{ "configs", pp_cmd_configs, "list|show|add|set|rm configs" },
	{ "reconfigure", pp_cmd_reconfigure, "re-associate and re-render devices (MAC...)" },
	{ "synchronize", pp_cmd_synchronize, "ask a phone to fetch its files again (MAC)" },
	{ "render", pp_cmd_render, "render a device's files (MAC [--explain])" },
	{ "files", pp_cmd_files, "list the rendered files the store holds" },
	{ "identify", pp_cmd_identify, "show what phoneprov makes of a phone's request" },
	{ "dhcpd-config", pp_cmd_dhcpd_config, "print a DHCP server config (--format isc|kea)" },
	{ "firmware", pp_cmd_firmware, "list|install|uninstall|verify firmware packages" },
	{ "import-pcap", pp_cmd_import_pcap, "replay DHCP traffic from a capture file" },
	{ "records", pp_cmd_records, "list or --follow call records (filters, --csv)" },
	{ "import", pp_cmd_import, "import a Wazo provd site (wazo DIR) or an export FILE" },
	{ "export", pp_cmd_export, "write every config and device as JSON (a backup)" },
};

static void usage(FILE *f)
{
	fputs("Usage: phoneprov [-c FILE] [--json] COMMAND [ARGS]\n"
	      "Administer a phoneprov installation: the same configuration and store as\n"
	      "phoneprovd (safe to use while the daemon runs).\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config=FILE  configuration file (default: $PHONEPROV_CONFIG, else\n"
	      "                     ./phoneprov.yml when present, else the installed one)\n"
	      "      --json         machine-readable output and errors (also after COMMAND)\n"
	      "  -h, --help         this help; 'phoneprov COMMAND --help' for a command\n"
	      "  -V, --version      show the version\n"
	      "\n"
	      "Commands:\n", f);
	for (size_t i = 0; i < PP_ARRAY_LEN(commands); i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].summary);
	fputs("\nExit status: 0 ok, 1 failure, 2 usage error. See phoneprov(1).\n", f);
}

/* ---- --json: errors on stdout too --------------------------------------- */

struct tee {
	int fd;
	unsigned long long written;
	char cur[512], last[512];
	size_t n;
};

static struct tee tee_out = { .fd = STDOUT_FILENO }, tee_err = { .fd = STDERR_FILENO };

static ssize_t tee_write(void *cookie, const char *buf, size_t size)
{
	struct tee *t = cookie;
	size_t off = 0;

	while (off < size) {
		ssize_t w = write(t->fd, buf + off, size - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	t->written += off;
	/* keep the last non-empty line (progress bars redraw with \r) */
	for (size_t i = 0; i < size; i++) {
		if (buf[i] == '\n' || buf[i] == '\r') {
			if (t->n) {
				memcpy(t->last, t->cur, t->n);
				t->last[t->n] = '\0';
			}
			t->n = 0;
		} else if (t->n + 1 < sizeof(t->cur)) {
			t->cur[t->n++] = buf[i];
		}
	}
	return off ? (ssize_t)off : -1;
}

static FILE *tee_open(struct tee *t, int mode)
{
	cookie_io_functions_t io = { .write = tee_write };
	FILE *f = fopencookie(t, "w", io);

	if (f)
		setvbuf(f, NULL, mode, mode == _IONBF ? 0 : BUFSIZ);
	return f;
}

static void json_mode_start(void)
{
	FILE *o, *e;

	fflush(stdout);
	fflush(stderr);
	o = tee_open(&tee_out, isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF);
	e = tee_open(&tee_err, _IONBF);
	if (o)
		stdout = o;
	if (e)
		stderr = e;
}

static void json_mode_end(int rc)
{
	const char *msg;
	json_t *j;

	fflush(stdout);
	if (rc == 0 || tee_out.written)
		return;
	if (tee_err.n) { /* an unfinished last line */
		memcpy(tee_err.last, tee_err.cur, tee_err.n);
		tee_err.last[tee_err.n] = '\0';
	}
	msg = tee_err.last[0] ? tee_err.last : "failed";
	j = json_pack("{s:s, s:i}", "error", msg, "exit", rc);
	if (j) {
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(j);
	}
	fflush(stdout);
}

/* ---- main --------------------------------------------------------------- */

static int run(int argc, char **argv, struct pp_cli *c)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd = NULL;
	char **args;
	int o, i, rc, n = 0;
	bool help_cmd;

	opterr = 0;
	/* '+': stop at the command; its options are its own */
	while ((o = getopt_long(argc, argv, "+:c:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			c->config_path = optarg;
			break;
		case 'j':
			c->json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("phoneprov %s\n", PP_VERSION);
			return 0;
		case ':':
			fprintf(stderr, "phoneprov: %s needs a value\n", argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "phoneprov: unknown option '%s'\n", argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	i = optind;
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	help_cmd = !strcmp(argv[i], "help");
	if (help_cmd && i + 1 >= argc) {
		usage(stdout);
		return 0;
	}
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
	if (!c->config_path)
		c->config_path = pp_config_default_path();
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
			c->json = true;
		else
			args[n++] = argv[k];
	}
	args[n] = NULL;
	optind = 0; /* a command's getopt_long starts afresh */
	rc = cmd->fn(c, n, args);
	free(args);
	return rc;
}

int main(int argc, char **argv)
{
	struct pp_cli c;
	bool json = false;
	int rc;

	memset(&c, 0, sizeof(c));
	for (int i = 1; i < argc; i++)
		json |= !strcmp(argv[i], "--json");
	if (json)
		json_mode_start();
	rc = run(argc, argv, &c);
	if (c.d_open)
		pp_daemon_fini(&c.d);
	else
		pp_config_free(c.cfg);
	if (json)
		json_mode_end(rc);
	return rc;
}
