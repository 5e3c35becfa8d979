/* Core CLI commands: check-config, devices; config/store opening
 * shared by every command. */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>

#include "lib/log.h"
#include "daemon/provision/provision.h"
#include "daemon/plugin/plugin.h"
#include "daemon/http/tls.h"
#include "daemon/store/store.h"

int pp_cli_open_config(struct pp_cli *c)
{
	struct pp_err err = { 0 };

	if (c->cfg)
		return 0;
	if (pp_config_load(c->config_path, &c->cfg, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	pp_log_set_level(c->cfg->log_level < PP_LOG_WARN ? c->cfg->log_level : PP_LOG_WARN);
	return 0;
}

int pp_cli_open_daemon(struct pp_cli *c)
{
	struct pp_err err = { 0 };
	struct pp_config *cfg;

	if (c->d_open)
		return 0;
	if (pp_cli_open_config(c))
		return 1;
	cfg = c->cfg;
	/* pp_daemon_init takes cfg over: c->cfg stays a borrowed pointer */
	if (pp_daemon_init(&c->d, cfg, 0, &err) != PP_OK) {
		fprintf(stderr, "phoneprov: %s\n", err.msg);
		pp_daemon_fini(&c->d);
		c->cfg = NULL;
		return 1;
	}
	c->d_open = true;
	return 0;
}

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

int pp_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "phoneprov %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'phoneprov %s --help'.\n", cmd);
	return 2;
}

int pp_cli_getopt(const char *cmd, int argc, char **argv, const char *shortopts,
		  const struct option *opts)
{
	char so[64];
	int o;

	snprintf(so, sizeof(so), ":%s", shortopts);
	opterr = 0;
	o = getopt_long(argc, argv, so, opts, NULL);
	if (o == '?') {
		const char *a = argv[optind - 1];

		if (strncmp(a, "--", 2) == 0)
			pp_cli_usage_error(cmd, "unknown option or unexpected value '%s'", a);
		else
			pp_cli_usage_error(cmd, "unknown option '-%c'", optopt ? optopt : '?');
		return PP_CLI_BADOPT;
	}
	if (o == ':') {
		pp_cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
		return PP_CLI_BADOPT;
	}
	return o;
}

void pp_cli_print_json(const json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
}

/* ---- check-config ------------------------------------------------------ */

int pp_cmd_check_config(struct pp_cli *c, int argc, char **argv)
{
	struct pp_registry *reg = NULL;
	struct pp_err err = { 0 };
	size_t n;

	if (want_help(argc, argv)) {
		printf("Usage: phoneprov [-c FILE] [--json] check-config\n"
		       "Validate the configuration file and every enabled plugin.\n"
		       "Exit 0 when valid; 1 with 'FILE:LINE:COL: what is wrong' otherwise.\n");
		return 0;
	}
	if (argc > 1)
		return pp_cli_usage_error("check-config", "unexpected argument '%s'", argv[1]);
	if (!c->cfg && pp_config_load(c->config_path, &c->cfg, &err) != PP_OK) {
		c->cfg = NULL;
		fprintf(stderr, "%s\n", err.msg);
		if (c->json) {
			json_t *j = json_pack("{s:b, s:s}", "ok", 0, "error", err.msg);

			pp_cli_print_json(j);
			json_decref(j);
		}
		return 1;
	}
	if (pp_registry_load(c->cfg, &reg, &err) != PP_OK) {
		fprintf(stderr, "%s\n", err.msg);
		if (c->json) {
			json_t *j = json_pack("{s:b, s:s}", "ok", 0, "error", err.msg);

			json_dumpf(j, stdout, JSON_INDENT(2));
			putchar('\n');
			json_decref(j);
		}
		return 1;
	}
	if (c->cfg->https.listen.port) {
		/* the HTTPS certificate and key, as phoneprovd reads them at start */
		struct pp_tls_creds *creds = NULL;

		if (pp_tls_load(c->cfg->https.cert, c->cfg->https.key, c->cfg->https.client_ca,
				&creds, &err) != PP_OK) {
			char msg[sizeof(err.msg) + 600];

			snprintf(msg, sizeof(msg), "%s: %s", c->cfg->path, err.msg);
			fprintf(stderr, "%s\n", msg);
			if (c->json) {
				json_t *j = json_pack("{s:b, s:s}", "ok", 0, "error", msg);

				pp_cli_print_json(j);
				json_decref(j);
			}
			pp_registry_free(reg);
			return 1;
		}
		pp_tls_creds_free(creds);
	}
	n = reg ? pp_registry_count(reg) : 0;
	if (c->json) {
		json_t *names = json_array();
		json_t *j;

		for (size_t i = 0; i < n; i++)
			json_array_append_new(names, json_string(pp_registry_at(reg, i)->name));
		j = json_pack("{s:b, s:s, s:o}", "ok", 1, "config", c->cfg->path, "plugins", names);
		json_dumpf(j, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(j);
	} else {
		printf("%s: ok (%zu plugins", c->cfg->path, n);
		for (size_t i = 0; i < n; i++)
			printf("%s%s", i ? ", " : ": ", pp_registry_at(reg, i)->name);
		printf(")\n");
	}
	pp_registry_free(reg);
	return 0;
}

/* ---- devices ------------------------------------------------------------ */

static const char devices_help[] =
	"Usage: phoneprov [-c FILE] [--json] devices [list] [--vendor=V] [--model=M]\n"
	"                 [--plugin=P] [--state=S] [--config=ID] [--ip=IP] [--phone-type=T]\n"
	"       phoneprov [-c FILE] [--json] devices show MAC\n"
	"       phoneprov [-c FILE] [--json] devices add MAC [--ip=IP] [--vendor=V] [--model=M]\n"
	"                 [--version=V] [--serial=S] [--config=ID] [--plugin=NAME]\n"
	"                 [--phone-type=T] [--extra=JSON] [--description=TEXT]\n"
	"       phoneprov [-c FILE] [--json] devices set MAC [the options of add]\n"
	"       phoneprov [-c FILE] [--json] devices rm MAC\n"
	"Manage the device table in the store (works while phoneprovd runs).\n"
	"MACs are accepted in any common form and stored as aa:bb:cc:dd:ee:ff.\n"
	"  list   every device (MAC order), or those matching every filter given (exact\n"
	"         values; an empty value matches devices without the field)\n"
	"  show   one device; --json: the stored JSON object\n"
	"  add    create a device (fails when it exists); its files are rendered when\n"
	"         it has a plugin and a config\n"
	"  set    change the given fields of a device (an empty value removes one, e.g.\n"
	"         --config=); associated and rendered again in the same transaction\n"
	"         --extra='{\"room\": \"A101\"}': the phone type's extra fields (a JSON\n"
	"         object, checked against the type's schema; set replaces them all)\n"
	"  rm     delete a device (its IP mapping and its rendered files)\n";

/* Device fields a client sets: the options of add/set, the filters of list. */
static const struct option dev_opts[] = {
	{ "ip", required_argument, NULL, 'i' },
	{ "vendor", required_argument, NULL, 'v' },
	{ "model", required_argument, NULL, 'm' },
	{ "version", required_argument, NULL, 'r' },
	{ "serial", required_argument, NULL, 's' },
	{ "config", required_argument, NULL, 'c' },
	{ "plugin", required_argument, NULL, 'p' },
	{ "phone-type", required_argument, NULL, 't' },
	{ "description", required_argument, NULL, 'd' },
	{ "extra", required_argument, NULL, 'x' },
	{ "state", required_argument, NULL, 'S' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option help_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* The JSON field of an option of dev_opts. */
static const char *dev_field(int o)
{
	switch (o) {
	case 'i': return "ip";
	case 'v': return "vendor";
	case 'm': return "model";
	case 'r': return "version";
	case 's': return "serial";
	case 'c': return "config";
	case 'p': return "plugin";
	case 't': return "phone_type";
	case 'd': return "description";
	case 'x': return "extra";
	case 'S': return "state";
	default: return NULL;
	}
}

static const char *dev_fields[] = { "mac", "ip", "vendor", "model", "version", "serial",
				    "plugin", "config", "state", "created", "updated",
				    "last_seen", NULL };

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s && *s ? s : "-";
}

static void print_time(const char *k, json_t *v)
{
	char buf[64];

	if (json_is_integer(v)) {
		long long ms = json_integer_value(v);
		time_t t = (time_t)(ms / 1000);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
		printf("%-10s %s.%03lldZ\n", k, buf, ms % 1000);
	} else if (json_is_string(v)) {
		printf("%-10s %s\n", k, json_string_value(v));
	}
}

static void print_device(json_t *dev)
{
	const char *k;
	json_t *v;

	for (const char **f = dev_fields; *f; f++) {
		v = json_object_get(dev, *f);
		if (!v || json_is_null(v))
			continue;
		if (!strcmp(*f, "created") || !strcmp(*f, "updated") || !strcmp(*f, "last_seen"))
			print_time(*f, v);
		else if (json_is_string(v))
			printf("%-10s %s\n", *f, json_string_value(v));
	}
	/* anything else (scores, dhcp facts, ...) as compact JSON */
	json_object_foreach(dev, k, v) {
		bool known = false;

		for (const char **f = dev_fields; *f && !known; f++)
			known = !strcmp(*f, k);
		if (known && (json_is_string(v) || json_is_integer(v) || json_is_null(v)))
			continue;
		char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

		printf("%-10s %s\n", k, s ? s : "?");
		free(s);
	}
}

struct list_ctx {
	json_t *arr;
	json_t *filter; /* field -> wanted value ("" = absent) */
	bool json;
	size_t n;
};

static int list_cb(const char *mac, json_t *dev, void *arg)
{
	struct list_ctx *l = arg;
	const char *k;
	json_t *v;

	json_object_foreach(l->filter, k, v) {
		const char *have = json_string_value(json_object_get(dev, k));

		if (strcmp(have ? have : "", json_string_value(v)) != 0)
			return PP_OK;
	}
	l->n++;
	if (l->json)
		return json_array_append(l->arr, dev) ? PP_ENOMEM : PP_OK;
	printf("%-17s  %-15s  %-10s  %-14s  %-12s  %-10s  %-12s  %s\n", mac, jstr(dev, "ip"),
	       jstr(dev, "vendor"), jstr(dev, "model"), jstr(dev, "version"), jstr(dev, "plugin"),
	       jstr(dev, "config"), jstr(dev, "state"));
	return PP_OK;
}

static int list_txn(struct pp_txn *t, void *arg)
{
	return pp_dev_each(t, NULL, list_cb, arg);
}

static int devices_list(struct pp_cli *c, int argc, char **argv)
{
	struct list_ctx l = { .json = c->json, .filter = json_object() };
	char **ops;
	int o, rc;

	while ((o = pp_cli_getopt("devices list", argc, argv, "h", dev_opts)) != -1) {
		if (o == PP_CLI_BADOPT || o == 'h' || !dev_field(o) || o == 'd' || o == 's' ||
		    o == 'r' || o == 'x') {
			json_decref(l.filter);
			if (o == 'h') {
				fputs(devices_help, stdout);
				return 0;
			}
			return o == PP_CLI_BADOPT ? 2 :
				pp_cli_usage_error("devices list", "cannot filter on '%s'",
						   argv[optind - 1]);
		}
		json_object_set_new(l.filter, dev_field(o), json_string(optarg));
	}
	if (pp_cli_operands(argc, argv, &ops) > 0) {
		json_decref(l.filter);
		return pp_cli_usage_error("devices list", "unexpected argument '%s'", ops[0]);
	}
	if (pp_cli_open_daemon(c)) {
		json_decref(l.filter);
		return 1;
	}
	if (c->json && !(l.arr = json_array())) {
		json_decref(l.filter);
		return 1;
	}
	if (!c->json)
		printf("%-17s  %-15s  %-10s  %-14s  %-12s  %-10s  %-12s  %s\n", "MAC", "IP",
		       "VENDOR", "MODEL", "VERSION", "PLUGIN", "CONFIG", "STATE");
	rc = pp_store_read(c->d.store, list_txn, &l);
	json_decref(l.filter);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov devices: cannot list devices: %s\n", pp_strerror(rc));
		json_decref(l.arr);
		return 1;
	}
	if (c->json) {
		pp_cli_print_json(l.arr);
		json_decref(l.arr);
	}
	return 0;
}

static int parse_mac(const char *cmd, const char *s, char mac[18])
{
	if (pp_mac_normalize(s, strlen(s), mac) != PP_OK) {
		fprintf(stderr, "phoneprov %s: '%s' is not a MAC address\n", cmd, s);
		return 1;
	}
	return 0;
}

/* The one MAC operand of a subcommand; 2 (usage, reported) or 0. */
static int one_mac(const char *cmd, int argc, char **argv, const char **mac)
{
	char **ops;
	int n = pp_cli_operands(argc, argv, &ops);

	if (n != 1)
		return pp_cli_usage_error(cmd, "%s", n ? "too many arguments" : "missing MAC");
	*mac = ops[0];
	return 0;
}

static int devices_show(struct pp_cli *c, int argc, char **argv)
{
	const char *arg = NULL;
	char mac[18];
	json_t *dev = NULL;
	int o, rc;

	while ((o = pp_cli_getopt("devices show", argc, argv, "h", help_opts)) != -1) {
		if (o == 'h') {
			fputs(devices_help, stdout);
			return 0;
		}
		return 2;
	}
	if ((rc = one_mac("devices show", argc, argv, &arg)))
		return rc;
	if (parse_mac("devices show", arg, mac) || pp_cli_open_daemon(c))
		return 1;
	rc = pp_store_dev_get(c->d.store, mac, &dev);
	if (rc == PP_ENOENT) {
		fprintf(stderr, "phoneprov devices show: no device %s\n", mac);
		return 1;
	}
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov devices show: %s: %s\n", mac, pp_strerror(rc));
		return 1;
	}
	if (c->json)
		pp_cli_print_json(dev);
	else
		print_device(dev);
	json_decref(dev);
	return 0;
}

static const struct pp_actor cli_actor = { "cli", true };

/* devices add MAC [--field=value ...] / devices set MAC [--field=value ...]:
 * PP_DEV_CREATE or PP_DEV_PATCH through the provisioning module. */
static int devices_write(struct pp_cli *c, int argc, char **argv, enum pp_dev_write op)
{
	const char *cmd = op == PP_DEV_CREATE ? "devices add" : "devices set";
	struct pp_err err = { 0 };
	json_t *body = json_object(), *dev = NULL;
	const char *mac_arg = NULL;
	char mac[18];
	int o, rc;

	if (!body)
		return 1;
	while ((o = pp_cli_getopt(cmd, argc, argv, "h", dev_opts)) != -1) {
		if (o == 'h') {
			json_decref(body);
			fputs(devices_help, stdout);
			return 0;
		}
		if (o == PP_CLI_BADOPT || !dev_field(o) || o == 'S') {
			json_decref(body);
			return o == PP_CLI_BADOPT ? 2 :
				pp_cli_usage_error(cmd, "'%s' is set by the server",
						   argv[optind - 1]);
		}
		if (!*optarg && op == PP_DEV_CREATE) {
			json_decref(body);
			return pp_cli_usage_error(cmd, "option '%s' needs a non-empty value",
						  argv[optind - 1]);
		}
		if (o == 'x' && *optarg) {
			/* --extra='{"room": "A101"}': the phone type's extra fields */
			json_t *x = json_loads(optarg, JSON_DECODE_ANY, NULL);

			if (!json_is_object(x)) {
				json_decref(x);
				json_decref(body);
				return pp_cli_usage_error(cmd, "--extra needs a JSON object, e.g. "
							  "--extra='{\"room\": \"A101\"}'");
			}
			json_object_set_new(body, "extra", x);
			continue;
		}
		/* set: an empty value removes the field */
		json_object_set_new(body, dev_field(o), *optarg ? json_string(optarg) : json_null());
	}
	if ((rc = one_mac(cmd, argc, argv, &mac_arg))) {
		json_decref(body);
		return rc;
	}
	if (op == PP_DEV_PATCH && json_object_size(body) == 0) {
		json_decref(body);
		return pp_cli_usage_error(cmd, "nothing to change (give --ip=, --config=, ...)");
	}
	if (parse_mac(cmd, mac_arg, mac) || pp_cli_open_daemon(c)) {
		json_decref(body);
		return 1;
	}
	rc = pp_prov_device_write(c->d.prov, &cli_actor, op, mac, body, &dev, &err);
	json_decref(body);
	if (rc == PP_ENOENT && !err.msg[0])
		snprintf(err.msg, sizeof(err.msg), "no device %s", mac);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov %s: %s\n", cmd, err.msg[0] ? err.msg : pp_strerror(rc));
		return 1;
	}
	if (c->json)
		pp_cli_print_json(dev);
	else
		printf("%s %s\n", op == PP_DEV_CREATE ? "added" : "changed", mac);
	json_decref(dev);
	return 0;
}

static int devices_rm(struct pp_cli *c, int argc, char **argv)
{
	struct pp_err err = { 0 };
	const char *arg = NULL;
	char mac[18];
	int o, rc;

	while ((o = pp_cli_getopt("devices rm", argc, argv, "h", help_opts)) != -1) {
		if (o == 'h') {
			fputs(devices_help, stdout);
			return 0;
		}
		return 2;
	}
	if ((rc = one_mac("devices rm", argc, argv, &arg)))
		return rc;
	if (parse_mac("devices rm", arg, mac) || pp_cli_open_daemon(c))
		return 1;
	rc = pp_prov_device_delete(c->d.prov, &cli_actor, mac, &err);
	if (rc == PP_ENOENT) {
		fprintf(stderr, "phoneprov devices rm: no device %s\n", mac);
		return 1;
	}
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov devices rm: %s: %s\n", mac,
			err.msg[0] ? err.msg : pp_strerror(rc));
		return 1;
	}
	if (c->json)
		printf("{\"deleted\": \"%s\"}\n", mac);
	else
		printf("deleted %s\n", mac);
	return 0;
}

int pp_cmd_devices(struct pp_cli *c, int argc, char **argv)
{
	const char *sub = argc > 1 && argv[1][0] != '-' ? argv[1] : NULL;

	if (!sub) {
		/* `devices [--filters]` is `devices list [--filters]` */
		return devices_list(c, argc, argv);
	}
	argc--;
	argv++;
	if (!strcmp(sub, "list"))
		return devices_list(c, argc, argv);
	if (!strcmp(sub, "show"))
		return devices_show(c, argc, argv);
	if (!strcmp(sub, "add"))
		return devices_write(c, argc, argv, PP_DEV_CREATE);
	if (!strcmp(sub, "set"))
		return devices_write(c, argc, argv, PP_DEV_PATCH);
	if (!strcmp(sub, "rm"))
		return devices_rm(c, argc, argv);
	if (want_help(argc + 1, argv - 1)) {
		fputs(devices_help, stdout);
		return 0;
	}
	return pp_cli_usage_error("devices", "unknown subcommand '%s' (list, show, add, set, rm)",
				  sub);
}

/* ---- reconfigure --------------------------------------------------------- */

int pp_cmd_reconfigure(struct pp_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	char **ops, mac[18];
	int o, n, failed = 0;
	json_t *done = NULL;

	while ((o = pp_cli_getopt("reconfigure", argc, argv, "h", opts)) != -1) {
		if (o == 'h') {
			printf("Usage: phoneprov [-c FILE] [--json] reconfigure MAC...\n"
			       "Associate each device with its plugin again and render its files now\n"
			       "(after a template or plugin change). Exit 1 when one failed.\n");
			return 0;
		}
		return 2;
	}
	n = pp_cli_operands(argc, argv, &ops);
	if (n == 0)
		return pp_cli_usage_error("reconfigure", "which device? (reconfigure MAC...)");
	for (int i = 0; i < n; i++)
		if (parse_mac("reconfigure", ops[i], mac))
			return 2;
	if (pp_cli_open_daemon(c))
		return 1;
	if (c->json && !(done = json_array()))
		return 1;
	for (int i = 0; i < n; i++) {
		struct pp_err err = { 0 };
		int rc;

		pp_mac_normalize(ops[i], strlen(ops[i]), mac);
		rc = pp_prov_reconfigure(c->d.prov, mac, &err);
		if (rc != PP_OK) {
			failed++;
			fprintf(stderr, "phoneprov reconfigure: %s: %s\n", mac,
				rc == PP_ENOENT ? "no such device" :
				err.msg[0] ? err.msg : pp_strerror(rc));
		}
		if (done)
			json_array_append_new(done, rc == PP_OK ?
				json_pack("{s:s, s:b}", "mac", mac, "reconfigured", 1) :
				json_pack("{s:s, s:b, s:s}", "mac", mac, "reconfigured", 0, "error",
					  rc == PP_ENOENT ? "no such device" :
					  err.msg[0] ? err.msg : pp_strerror(rc)));
		else if (rc == PP_OK)
			printf("reconfigured %s\n", mac);
	}
	if (done) {
		pp_cli_print_json(done);
		json_decref(done);
	}
	return failed ? 1 : 0;
}

/* `records`: cli_records.c */

/* ---- files ---------------------------------------------------------------- */

struct files_ctx {
	json_t *arr;
	size_t n;
};

static int files_cb(const char *path, const struct pp_file *f, void *arg)
{
	struct files_ctx *x = arg;

	x->n++;
	if (x->arr)
		return json_array_append_new(x->arr, json_pack("{s:s, s:I, s:s, s:I}", "path", path,
							       "size", (json_int_t)f->size, "etag",
							       f->etag, "mtime_ms",
							       (json_int_t)f->mtime_ms)) ? PP_ENOMEM : PP_OK;
	printf("%-50s %8zu %s\n", path, f->size, f->etag);
	return PP_OK;
}

static int files_txn(struct pp_txn *t, void *arg)
{
	struct files_ctx *x = arg;

	x->n = 0;
	if (x->arr)
		json_array_clear(x->arr);
	return pp_file_each(t, NULL, files_cb, arg);
}

int pp_cmd_files(struct pp_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct files_ctx x = { 0 };
	int o, rc;

	while ((o = pp_cli_getopt("files", argc, argv, "h", opts)) != -1) {
		if (o == 'h') {
			printf("Usage: phoneprov [-c FILE] [--json] files\n"
			       "List the rendered files the store holds (per-device and plugins'\n"
			       "common files): path, size, ETag. <data_dir>/tftpboot mirrors them.\n");
			return 0;
		}
		return 2;
	}
	if (optind < argc)
		return pp_cli_usage_error("files", "unexpected argument '%s'", argv[optind]);
	if (pp_cli_open_daemon(c))
		return 1;
	if (c->json && !(x.arr = json_array()))
		return 1;
	rc = pp_store_read(c->d.store, files_txn, &x);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov files: %s\n", pp_strerror(rc));
		json_decref(x.arr);
		return 1;
	}
	if (x.arr) {
		json_dumpf(x.arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(x.arr);
	}
	return 0;
}
