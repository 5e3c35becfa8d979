/* CLI commands of the plugin module: `phoneprov plugins`, `phoneprov
 * identify ...` and `phoneprov render MAC [--explain]`. */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon/provision/provision.h"
#include "daemon/store/store.h"
#include "daemon/plugin/plugin.h"
#include "daemon/plugin/identify_req.h"
#include "daemon/plugin/render.h"

static void print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
}

/* Config + registry only (no store): fast, and usable while the daemon runs. */
static int open_registry(struct pp_cli *c, struct pp_registry **reg, const char *cmd,
			 unsigned flags)
{
	struct pp_err err = { 0 };

	if (pp_cli_open_config(c))
		return 1;
	if (pp_registry_load_ex(c->cfg, flags, reg, &err) != PP_OK) {
		fprintf(stderr, "phoneprov %s: %s\n", cmd, err.msg);
		return 1;
	}
	return 0;
}

/* ---- plugins ------------------------------------------------------------ */

static json_t *plugin_json(const struct pp_plugin *p)
{
	json_t *models = json_array(), *files = json_array();

	for (size_t i = 0; i < pp_plugin_model_count(p); i++)
		json_array_append_new(models, json_string(pp_plugin_model_name(p, i)));
	for (size_t i = 0; i < pp_plugin_file_count(p); i++) {
		struct pp_plugin_file f;

		pp_plugin_file_at(p, i, &f);
		json_array_append_new(files, json_pack("{s:s, s:s, s:s, s:b, s:b}", "path", f.path,
						       "template", f.template_name, "scope",
						       f.common ? "common" : "device", "sensitive",
						       f.sensitive, "trigger", f.trigger));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:b, s:O}", "name", p->name,
			 "version", p->version, "vendor", p->vendor, "description", p->description,
			 "dir", p->dir, "models", models, "files", files, "rules",
			 (json_int_t)pp_plugin_rule_count(p), "hooks", pp_plugin_has_hooks(p),
			 "meta", p->meta);
}

int pp_cmd_plugins(struct pp_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct pp_registry *reg;
	bool json = c->json;
	int o;

	while ((o = pp_cli_getopt("plugins", argc, argv, "h", opts)) != -1) {
		if (o == 'h') {
			printf("Usage: phoneprov plugins [--json]\n"
			       "List the enabled plugins: name, version, vendor, models.\n");
			return 0;
		}
		return 2;
	}
	if (optind < argc)
		return pp_cli_usage_error("plugins", "unexpected argument '%s'", argv[optind]);
	if (open_registry(c, &reg, "plugins", 0))
		return 1;
	if (json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < pp_registry_count(reg); i++)
			json_array_append_new(arr, plugin_json(pp_registry_at(reg, i)));
		print_json(arr);
		json_decref(arr);
	} else {
		printf("%-14s %-8s %-12s %-7s %s\n", "NAME", "VERSION", "VENDOR", "MODELS",
		       "DESCRIPTION");
		for (size_t i = 0; i < pp_registry_count(reg); i++) {
			const struct pp_plugin *p = pp_registry_at(reg, i);

			printf("%-14s %-8s %-12s %-7zu %s\n", p->name, p->version, p->vendor,
			       pp_plugin_model_count(p), p->description);
		}
	}
	pp_registry_free(reg);
	return 0;
}

/* ---- identify ----------------------------------------------------------- */

static const struct option identify_opts[] = {
	{ "dhcp-vci", required_argument, NULL, 'v' },
	{ "dhcp-vendor-class", required_argument, NULL, 'v' },
	{ "dhcp-vci-hex", required_argument, NULL, 'x' },
	{ "dhcp-hostname", required_argument, NULL, 'n' },
	{ "dhcp-client-id", required_argument, NULL, 'i' },
	{ "dhcp-user-class", required_argument, NULL, 'u' },
	{ "user-agent", required_argument, NULL, 'a' },
	{ "user-agent-hex", required_argument, NULL, 'A' },
	{ "http-path", required_argument, NULL, 'p' },
	{ "tftp-file", required_argument, NULL, 't' },
	{ "batch", no_argument, NULL, 'b' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char identify_help[] =
	"Usage: phoneprov identify [--dhcp-vci S | --dhcp-vci-hex HEX]\n"
	"                          [--user-agent S | --user-agent-hex HEX]\n"
	"                          [--http-path S] [--tftp-file S] [--dhcp-hostname S]\n"
	"                          [--dhcp-client-id HEX] [--dhcp-user-class S]\n"
	"       phoneprov identify --batch < requests.jsonl\n"
	"Show, as JSON, what phoneprov makes of a phone's request: the extracted vendor,\n"
	"model, version, mac and serial (and which rule gave each), every plugin's score\n"
	"(EXACT, COMPLETE, PROBABLE, IMPROBABLE) and the plugin chosen.\n"
	"--dhcp-vci-hex gives option 60 as the bytes a phone sent (e.g. a trailing NUL),\n"
	"--user-agent-hex a User-Agent with a byte that is not text.\n"
	"--batch reads one JSON object per line (keys dhcp_vci, dhcp_vci_hex, user_agent,\n"
	"user_agent_hex, http_path, tftp_file, dhcp_hostname, dhcp_client_id,\n"
	"dhcp_user_class) and prints one JSON answer per line, in order ({\"error\": ...}\n"
	"for a line it cannot read).\n";

/* --batch: JSON lines in, JSON lines out. */
static int identify_batch(const struct pp_registry *reg)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) >= 0) {
		json_error_t je;
		json_t *o = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &je), *out = NULL;
		struct pp_identify_req q = { 0 };
		const char *k;
		char *txt;

		if (n <= 1 && (n == 0 || line[0] == '\n')) {
			json_decref(o);
			continue;
		}
		if (!json_is_object(o)) {
			out = json_pack("{s:s}", "error", o ? "not a JSON object" : je.text);
		} else {
			if (pp_identify_req_json(&q, o, &k) != 0)
				out = json_pack("{s:s, s:s}", "error", "bad input", "field", k);
			if (!out)
				out = pp_identify_json(reg, &q.in);
		}
		txt = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
		printf("%s\n", txt ? txt : "{\"error\":\"out of memory\"}");
		free(txt);
		json_decref(out);
		json_decref(o);
		pp_identify_req_free(&q);
	}
	free(line);
	return ferror(stdin) ? 1 : 0;
}

int pp_cmd_identify(struct pp_cli *c, int argc, char **argv)
{
	struct pp_identify_req q = { 0 };
	struct pp_registry *reg;
	int opt, any = 0, rc = 0;
	bool batch = false;
	json_t *out;

	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", identify_opts, NULL)) != -1) {
		int s = -1;
		bool hex = false;

		switch (opt) {
		case 'v': s = PP_SRC_DHCP_VCI; break;
		case 'x': s = PP_SRC_DHCP_VCI; hex = true; break;
		case 'n': s = PP_SRC_DHCP_HOSTNAME; break;
		case 'i': s = PP_SRC_DHCP_CLIENT_ID; break;
		case 'u': s = PP_SRC_DHCP_USER_CLASS; break;
		case 'a': s = PP_SRC_HTTP_UA; break;
		case 'A': s = PP_SRC_HTTP_UA; hex = true; break;
		case 'p': s = PP_SRC_HTTP_PATH; break;
		case 't': s = PP_SRC_TFTP_FILE; break;
		case 'b': batch = true; continue;
		case 'j': continue;
		case 'h':
			fputs(identify_help, stdout);
			return 0;
		default:
			fprintf(stderr, "phoneprov identify: unknown or incomplete option '%s'\n%s",
				argv[optind - 1], identify_help);
			pp_identify_req_free(&q);
			return 2;
		}
		if (pp_identify_req_set(&q, s, optarg, strlen(optarg), hex) != 0) {
			fprintf(stderr, "phoneprov identify: %s: '%s' is not hexadecimal bytes\n",
				opt == 'A' ? "--user-agent-hex" : "--dhcp-vci-hex", optarg);
			pp_identify_req_free(&q);
			return 2;
		}
		any = 1;
	}
	if (optind < argc || (batch && any) || (!batch && !any)) {
		if (optind < argc)
			fprintf(stderr, "phoneprov identify: unexpected argument '%s'\n",
				argv[optind]);
		else if (batch)
			fprintf(stderr, "phoneprov identify: --batch reads its requests from "
				"standard input, not from options\n");
		else
			fprintf(stderr, "phoneprov identify: give at least one of --dhcp-vci, "
				"--dhcp-vci-hex, --user-agent, --user-agent-hex, --http-path, --tftp-file, "
				"--dhcp-hostname, --dhcp-client-id, --dhcp-user-class (or --batch)\n");
		pp_identify_req_free(&q);
		return 2;
	}
	if (open_registry(c, &reg, "identify", PP_REG_IDENTIFY)) {
		pp_identify_req_free(&q);
		return 1;
	}
	if (batch) {
		rc = identify_batch(reg);
	} else {
		out = pp_identify_json(reg, &q.in);
		print_json(out);
		json_decref(out);
	}
	pp_registry_free(reg);
	pp_identify_req_free(&q);
	return rc;
}

/* ---- render ------------------------------------------------------------- */

int pp_cmd_render(struct pp_cli *c, int argc, char **argv)
{
	struct pp_err err = { 0 };
	json_t *ex = NULL, *files;
	const char *macarg = NULL;
	bool expl = false, json = c->json;
	char mac[18];
	int rc, status = 0;

	static const struct option opts[] = { { "explain", no_argument, NULL, 'e' },
					      { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	int o;

	while ((o = pp_cli_getopt("render", argc, argv, "h", opts)) != -1) {
		if (o == 'e') {
			expl = true;
		} else if (o == 'h') {
			printf("Usage: phoneprov render MAC [--explain] [--json]\n"
			       "Render the device's files now (LMDB and data_dir/tftpboot). With\n"
			       "--explain, show how: extracted facts, plugin scores, the config\n"
			       "inheritance chain, the merged config, the general settings (ip,\n"
			       "http_port, tftp_port, http_base_url, tftp_server) with where each\n"
			       "came from, and the template of each file.\n");
			return 0;
		} else {
			return 2;
		}
	}
	if (argc - optind > 1)
		return pp_cli_usage_error("render", "unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc)
		macarg = argv[optind];
	if (!macarg) {
		fprintf(stderr, "phoneprov render: which device? (phoneprov render MAC)\n");
		return 2;
	}
	if (pp_mac_normalize(macarg, strlen(macarg), mac) != PP_OK) {
		fprintf(stderr, "phoneprov render: '%s' is not a MAC address\n", macarg);
		return 2;
	}
	if (pp_cli_open_daemon(c))
		return 1;
	rc = pp_prov_reconfigure(c->d.prov, mac, &err);
	if (rc == PP_ENOENT) {
		fprintf(stderr, "phoneprov render: no device %s\n", mac);
		return 1;
	}
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov render: %s: rendering failed: %s\n", mac,
			err.msg[0] ? err.msg : pp_strerror(rc));
		status = 1;
	}
	if (pp_prov_explain(c->d.prov, mac, &ex) != PP_OK) {
		fprintf(stderr, "phoneprov render: cannot read device %s\n", mac);
		return 1;
	}
	files = json_object_get(ex, "files");
	if (expl || json) {
		json_t *out = expl ? json_incref(ex) :
				     json_pack("{s:s, s:O}", "mac", mac, "files", files);

		if (json || !expl) {
			print_json(out);
		} else {
			char *txt = json_dumps(out, JSON_INDENT(2) | JSON_SORT_KEYS);

			printf("# phoneprov render %s --explain\n%s\n", mac, txt ? txt : "");
			free(txt);
		}
		json_decref(out);
	} else {
		size_t i;
		json_t *f;

		if (json_array_size(files) == 0)
			printf("%s: no files (no plugin supports this device: see phoneprov render "
			       "%s --explain)\n", mac, mac);
		json_array_foreach(files, i, f)
			printf("%s\t%lld bytes\t(template %s)\n",
			       json_string_value(json_object_get(f, "path")),
			       (long long)json_integer_value(json_object_get(f, "size")),
			       json_string_value(json_object_get(f, "template")) ?
			       json_string_value(json_object_get(f, "template")) : "?");
	}
	json_decref(ex);
	return status;
}
