/* Core CLI commands: check-config, devices, records; config/store opening
 * shared by every command. */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pipeline.h"
#include "registry/registry.h"
#include "store/store.h"

int pp_cli_open_config(struct pp_cli *c)
{
	struct pp_err err = { "" };

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
	struct pp_err err = { "" };
	struct pp_config *cfg;

	if (c->d_open)
		return 0;
	if (pp_cli_open_config(c))
		return 1;
	cfg = c->cfg;
	/* pp_daemon_init takes cfg over: c->cfg stays a borrowed pointer */
	if (pp_daemon_init(&c->d, cfg, &err) != PP_OK) {
		fprintf(stderr, "phoneprov: %s\n", err.msg);
		pp_daemon_fini(&c->d);
		c->cfg = NULL;
		return 1;
	}
	c->d_open = true;
	return 0;
}

/* The same device events the API appends, so /events watchers see CLI changes. */
static int dev_event(struct pp_txn *t, const char *type, const char *mac)
{
	json_t *ev = json_pack("{s:s, s:s}", "mac", mac, "source", "cli");
	int rc = ev ? pp_event_append(t, type, ev, NULL) : PP_ENOMEM;

	json_decref(ev);
	return rc;
}

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "phoneprov %s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'phoneprov %s --help'.\n", cmd);
	return 2;
}

/* ---- check-config ------------------------------------------------------ */

int pp_cmd_check_config(struct pp_cli *c, int argc, char **argv)
{
	struct pp_registry *reg = NULL;
	struct pp_err err = { "" };
	size_t n;

	if (want_help(argc, argv)) {
		printf("Usage: phoneprov [-c FILE] [--json] check-config\n"
		       "Validate the configuration file and every enabled plugin.\n"
		       "Exit 0 when valid; 1 with 'FILE:LINE:COL: what is wrong' otherwise.\n");
		return 0;
	}
	if (argc > 1)
		return usage_error("check-config", "unexpected argument '%s'", argv[1]);
	if (pp_cli_open_config(c)) {
		if (c->json)
			printf("{\"ok\": false}\n");
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
	"Usage: phoneprov [-c FILE] [--json] devices [list]\n"
	"       phoneprov [-c FILE] [--json] devices show MAC\n"
	"       phoneprov [-c FILE] [--json] devices add MAC [--ip IP] [--vendor V] [--model M]\n"
	"                 [--version V] [--serial S] [--config ID] [--plugin NAME]\n"
	"       phoneprov [-c FILE] devices rm MAC\n"
	"Manage the device table in the store (works while phoneprovd runs).\n"
	"MACs are accepted in any common form and stored as aa:bb:cc:dd:ee:ff.\n"
	"  list   every device (MAC order); --json: a JSON array\n"
	"  show   one device; --json: the stored JSON object\n"
	"  add    create a device (fails when it exists); its files are rendered when\n"
	"         it has a plugin and a config\n"
	"  rm     delete a device (and its IP mapping)\n";

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
	bool json;
	size_t n;
};

static int list_cb(const char *mac, json_t *dev, void *arg)
{
	struct list_ctx *l = arg;

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

static int devices_list(struct pp_cli *c)
{
	struct list_ctx l = { .json = c->json };
	int rc;

	if (c->json && !(l.arr = json_array()))
		return 1;
	if (!c->json)
		printf("%-17s  %-15s  %-10s  %-14s  %-12s  %-10s  %-12s  %s\n", "MAC", "IP",
		       "VENDOR", "MODEL", "VERSION", "PLUGIN", "CONFIG", "STATE");
	rc = pp_store_read(c->d.store, list_txn, &l);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov devices: cannot list devices: %s\n", pp_strerror(rc));
		json_decref(l.arr);
		return 1;
	}
	if (c->json) {
		json_dumpf(l.arr, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
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

static int devices_show(struct pp_cli *c, const char *arg)
{
	char mac[18];
	json_t *dev = NULL;
	int rc;

	if (parse_mac("devices show", arg, mac))
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
	if (c->json) {
		json_dumpf(dev, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
	} else {
		print_device(dev);
	}
	json_decref(dev);
	return 0;
}

struct add_ctx {
	const char *mac;
	json_t *dev;
	const char *ip, *config;
	char why[200];
};

static int add_txn(struct pp_txn *t, void *arg)
{
	struct add_ctx *a = arg;
	json_t *old = NULL;
	int rc;

	a->why[0] = '\0';
	rc = pp_dev_get(t, a->mac, &old);
	json_decref(old);
	if (rc == PP_OK) {
		snprintf(a->why, sizeof(a->why), "device %s already exists", a->mac);
		return PP_EEXIST;
	}
	if (rc != PP_ENOENT)
		return rc;
	if (a->config) {
		json_t *cfg = NULL;

		rc = pp_cfg_get(t, a->config, &cfg);
		json_decref(cfg);
		if (rc == PP_ENOENT) {
			snprintf(a->why, sizeof(a->why), "no config '%s'", a->config);
			return PP_ENOENT;
		}
		if (rc != PP_OK)
			return rc;
	}
	if ((rc = pp_dev_put(t, a->mac, a->dev)) != PP_OK)
		return rc;
	if (a->ip && (rc = pp_ip2mac_put(t, a->ip, a->mac)) != PP_OK)
		return rc;
	return dev_event(t, "device.created", a->mac);
}

static bool valid_ip(const char *s)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int devices_add(struct pp_cli *c, int argc, char **argv)
{
	static const char *const opts[] = { "--ip", "--vendor", "--model", "--version",
					    "--serial", "--config", "--plugin", NULL };
	struct add_ctx a = { 0 };
	char mac[18];
	const char *mac_arg = NULL;
	int64_t now = pp_now_ms();
	int rc;

	a.dev = json_object();
	if (!a.dev)
		return 1;
	for (int i = 1; i < argc; i++) {
		const char *const *o;

		if (argv[i][0] != '-') {
			if (mac_arg) {
				json_decref(a.dev);
				return usage_error("devices add", "unexpected argument '%s'", argv[i]);
			}
			mac_arg = argv[i];
			continue;
		}
		for (o = opts; *o && strcmp(*o, argv[i]); o++)
			;
		if (!*o) {
			json_decref(a.dev);
			return usage_error("devices add", "unknown option '%s'", argv[i]);
		}
		if (i + 1 >= argc || !argv[i + 1][0]) {
			json_decref(a.dev);
			return usage_error("devices add", "option '%s' needs a non-empty value",
					   argv[i]);
		}
		json_object_set_new(a.dev, *o + 2, json_string(argv[++i]));
	}
	if (!mac_arg) {
		json_decref(a.dev);
		return usage_error("devices add", "%s", "missing MAC");
	}
	if (parse_mac("devices add", mac_arg, mac)) {
		json_decref(a.dev);
		return 1;
	}
	a.mac = mac;
	a.ip = json_string_value(json_object_get(a.dev, "ip"));
	a.config = json_string_value(json_object_get(a.dev, "config"));
	if (a.ip && !valid_ip(a.ip)) {
		fprintf(stderr, "phoneprov devices add: '%s' is not an IP address\n", a.ip);
		json_decref(a.dev);
		return 1;
	}
	if (pp_cli_open_daemon(c)) {
		json_decref(a.dev);
		return 1;
	}
	{
		const char *plugin = json_string_value(json_object_get(a.dev, "plugin"));
		struct pp_snapshot *s = pp_daemon_acquire(&c->d);
		bool known = !plugin || (s->reg && pp_registry_find(s->reg, plugin));

		pp_snapshot_release(s);
		if (!known) {
			fprintf(stderr, "phoneprov devices add: no enabled plugin '%s'\n", plugin);
			json_decref(a.dev);
			return 1;
		}
	}
	json_object_set_new(a.dev, "mac", json_string(mac));
	json_object_set_new(a.dev, "state", json_string("new"));
	json_object_set_new(a.dev, "created", json_integer(now));
	json_object_set_new(a.dev, "updated", json_integer(now));
	rc = pp_store_write(c->d.store, add_txn, &a);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov devices add: %s\n", a.why[0] ? a.why : pp_strerror(rc));
		json_decref(a.dev);
		return 1;
	}
	if (a.config || json_object_get(a.dev, "plugin")) {
		rc = pp_pipeline_reconfigure(&c->d, mac);
		if (rc != PP_OK && rc != PP_ENOTSUP && rc != PP_ENOENT)
			fprintf(stderr, "phoneprov devices add: %s added, but rendering its files "
				"failed: %s\n", mac, pp_strerror(rc));
	}
	if (c->json) {
		json_t *dev = NULL;

		if (pp_store_dev_get(c->d.store, mac, &dev) == PP_OK) {
			json_dumpf(dev, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
			putchar('\n');
		}
		json_decref(dev);
	} else {
		printf("added %s\n", mac);
	}
	json_decref(a.dev);
	return 0;
}

struct rm_ctx {
	const char *mac;
	json_t *dev; /* the deleted record, for removing its files on disk */
};

static int rm_txn(struct pp_txn *t, void *arg)
{
	struct rm_ctx *r = arg;
	json_t *dev = NULL;
	const char *ip;
	char cur[18];
	int rc;

	if ((rc = pp_dev_get(t, r->mac, &dev)) != PP_OK)
		return rc;
	ip = json_string_value(json_object_get(dev, "ip"));
	if (ip && pp_ip2mac_get(t, ip, cur) == PP_OK && !strcmp(cur, r->mac) &&
	    (rc = pp_ip2mac_del(t, ip)) != PP_OK && rc != PP_ENOENT) {
		json_decref(dev);
		return rc;
	}
	json_decref(r->dev); /* a re-run after the map grew */
	r->dev = dev;
	if ((rc = pp_pipeline_forget_txn(t, dev)) != PP_OK)
		return rc;
	if ((rc = pp_dev_del(t, r->mac)) != PP_OK)
		return rc;
	return dev_event(t, "device.deleted", r->mac);
}

static int devices_rm(struct pp_cli *c, const char *arg)
{
	char mac[18];
	struct rm_ctx r = { .mac = mac };
	int rc;

	if (parse_mac("devices rm", arg, mac))
		return 1;
	rc = pp_store_write(c->d.store, rm_txn, &r);
	if (rc == PP_OK)
		pp_pipeline_forget_disk(&c->d, r.dev);
	json_decref(r.dev);
	if (rc == PP_ENOENT) {
		fprintf(stderr, "phoneprov devices rm: no device %s\n", mac);
		return 1;
	}
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov devices rm: %s: %s\n", mac, pp_strerror(rc));
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
	const char *sub = argc > 1 ? argv[1] : "list";

	if (want_help(argc, argv)) {
		fputs(devices_help, stdout);
		return 0;
	}
	if (!strcmp(sub, "list")) {
		if (argc > 2)
			return usage_error("devices list", "unexpected argument '%s'", argv[2]);
		return pp_cli_open_daemon(c) ? 1 : devices_list(c);
	}
	if (!strcmp(sub, "show") || !strcmp(sub, "rm")) {
		if (argc != 3)
			return usage_error(!strcmp(sub, "rm") ? "devices rm" : "devices show",
					   "%s", argc < 3 ? "missing MAC" : "too many arguments");
		if (pp_cli_open_daemon(c))
			return 1;
		return !strcmp(sub, "rm") ? devices_rm(c, argv[2]) : devices_show(c, argv[2]);
	}
	if (!strcmp(sub, "add"))
		return devices_add(c, argc - 1, argv + 1);
	return usage_error("devices", "unknown subcommand '%s' (list, show, add, rm)", sub);
}

/* ---- records ------------------------------------------------------------ */

struct rec_ctx {
	json_t *arr;
	bool json;
};

static int rec_cb(uint64_t seq, json_t *val, void *arg)
{
	struct rec_ctx *r = arg;

	if (r->json) {
		json_t *o = json_is_object(val) ? json_deep_copy(val) : json_pack("{s:O}", "value", val);

		if (!o)
			return PP_ENOMEM;
		json_object_set_new(o, "seq", json_integer((json_int_t)seq));
		return json_array_append_new(r->arr, o) ? PP_ENOMEM : PP_OK;
	}
	char *s = json_dumps(val, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);

	printf("%llu %s\n", (unsigned long long)seq, s ? s : "?");
	free(s);
	return PP_OK;
}

struct rec_args {
	uint64_t since;
	size_t limit;
	struct rec_ctx *ctx;
};

static int rec_txn(struct pp_txn *t, void *arg)
{
	struct rec_args *a = arg;

	return pp_rec_each(t, a->since, a->limit, rec_cb, a->ctx);
}

static int parse_u64(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;

	if (!*s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end || *out > max ? -1 : 0;
}

int pp_cmd_records(struct pp_cli *c, int argc, char **argv)
{
	struct rec_ctx r = { .json = c->json };
	struct rec_args a = { .since = 0, .limit = 100, .ctx = &r };
	unsigned long long v;
	int rc;

	if (want_help(argc, argv)) {
		printf("Usage: phoneprov [-c FILE] [--json] records [--since SEQ] [--limit N]\n"
		       "List call records pushed by the plugins' call-record monitors, oldest first.\n"
		       "  --since SEQ  only records with a sequence number above SEQ (default 0)\n"
		       "  --limit N    at most N records (default 100, 0 = no limit)\n"
		       "Output: one line per record 'SEQ JSON'; --json: a JSON array of records\n"
		       "each with its \"seq\".\n");
		return 0;
	}
	for (int i = 1; i < argc; i += 2) {
		bool since = !strcmp(argv[i], "--since");

		if (!since && strcmp(argv[i], "--limit"))
			return usage_error("records", "unknown argument '%s'", argv[i]);
		if (i + 1 >= argc || parse_u64(argv[i + 1], since ? UINT64_MAX : 100000000, &v))
			return usage_error("records", "%s needs a number", argv[i]);
		if (since)
			a.since = v;
		else
			a.limit = v ? (size_t)v : SIZE_MAX;
	}
	if (pp_cli_open_daemon(c))
		return 1;
	if (c->json && !(r.arr = json_array()))
		return 1;
	rc = pp_store_read(c->d.store, rec_txn, &a);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov records: %s\n", pp_strerror(rc));
		json_decref(r.arr);
		return 1;
	}
	if (c->json) {
		json_dumpf(r.arr, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		putchar('\n');
		json_decref(r.arr);
	}
	return 0;
}
