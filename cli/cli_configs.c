/* phoneprov configs list|show|add|set|rm: the configs devices inherit from.
 * Reads come from the store; every change goes through the provisioning
 * module (pp_prov_config_write/delete), like the REST API's, so devices
 * inheriting from a changed config are rendered again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon/provision/provision.h"
#include "daemon/store/store.h"

static const char configs_help[] =
	"Usage: phoneprov [-c FILE] [--json] configs [list]\n"
	"       phoneprov [-c FILE] [--json] configs show ID\n"
	"       phoneprov [-c FILE] [--json] configs add ID [--parent=ID]... [--description=TEXT]\n"
	"                 [--raw=JSON] [KEY=VALUE | KEY:=JSON]...\n"
	"       phoneprov [-c FILE] [--json] configs set ID [--parent=ID]... [--no-parents]\n"
	"                 [--description=TEXT] [--raw=JSON] [--unset=KEY]... [KEY=VALUE]...\n"
	"       phoneprov [-c FILE] [--json] configs rm ID\n"
	"Configs hold raw_config settings that devices inherit (a device's config, then\n"
	"its parents in order). IDs: 1-128 of A-Z a-z 0-9 . _ - (not starting with .).\n"
	"  KEY=VALUE   set raw_config KEY to the string VALUE; KEY:=JSON sets it to a\n"
	"              JSON value (number, true, an object...); a dotted KEY (sip.proxy)\n"
	"              names a member of an object\n"
	"  --raw=JSON  the whole raw_config (an object), before any KEY=VALUE\n"
	"  --parent    a parent config, in order (set: replaces the list)\n"
	"  --unset     remove KEY from raw_config (set)\n"
	"  set         changes the config (what is not given stays); the devices that\n"
	"              inherit from it are rendered again\n"
	"  rm          refused while a config inherits from it or a device uses it\n";

static const struct pp_actor cli_actor = { "cli", true };

enum { OPT_PARENT = 'p', OPT_NOPARENTS = 'N', OPT_DESC = 'd', OPT_RAW = 'r', OPT_UNSET = 'u' };

static const struct option opts[] = {
	{ "parent", required_argument, NULL, OPT_PARENT },
	{ "no-parents", no_argument, NULL, OPT_NOPARENTS },
	{ "description", required_argument, NULL, OPT_DESC },
	{ "raw", required_argument, NULL, OPT_RAW },
	{ "unset", required_argument, NULL, OPT_UNSET },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const struct option help_opts[] = {
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* ---- reading ------------------------------------------------------------ */

struct get_arg {
	const char *id;
	json_t *cfg;
	json_t *all;
};

static int get_txn(struct pp_txn *t, void *arg)
{
	struct get_arg *g = arg;

	return pp_cfg_get(t, g->id, &g->cfg);
}

static int list_cb(const char *id, json_t *cfg, void *arg)
{
	(void)id;
	return json_array_append(((struct get_arg *)arg)->all, cfg) ? PP_ENOMEM : PP_OK;
}

static int list_txn(struct pp_txn *t, void *arg)
{
	json_array_clear(((struct get_arg *)arg)->all);
	return pp_cfg_each(t, list_cb, arg);
}

/* The stored config, or NULL after printing why. */
static json_t *load(struct pp_cli *c, const char *cmd, const char *id)
{
	struct get_arg g = { .id = id };
	int rc = pp_store_read(c->d.store, get_txn, &g);

	if (rc == PP_ENOENT)
		fprintf(stderr, "phoneprov %s: no config %s\n", cmd, id);
	else if (rc != PP_OK)
		fprintf(stderr, "phoneprov %s: %s: %s\n", cmd, id, pp_strerror(rc));
	return rc == PP_OK ? g.cfg : NULL;
}

static void print_config(const json_t *cfg)
{
	json_t *p;
	size_t i;
	char *raw;

	printf("%-12s %s\n", "id", json_string_value(json_object_get(cfg, "id")));
	printf("%-12s", "parents");
	json_array_foreach(json_object_get(cfg, "parent_ids"), i, p)
		printf(" %s", json_string_value(p));
	printf("%s\n", json_array_size(json_object_get(cfg, "parent_ids")) ? "" : " -");
	if (json_is_string(json_object_get(cfg, "description")))
		printf("%-12s %s\n", "description",
		       json_string_value(json_object_get(cfg, "description")));
	raw = json_dumps(json_object_get(cfg, "raw_config"), JSON_INDENT(2) | JSON_SORT_KEYS);
	printf("%-12s %s\n", "raw_config", raw ? raw : "{}");
	free(raw);
}

static int configs_list(struct pp_cli *c)
{
	struct get_arg g = { .all = json_array() };
	json_t *cfg;
	size_t i;
	int rc;

	if (!g.all || pp_cli_open_daemon(c)) {
		json_decref(g.all);
		return 1;
	}
	rc = pp_store_read(c->d.store, list_txn, &g);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov configs: cannot list configs: %s\n", pp_strerror(rc));
		json_decref(g.all);
		return 1;
	}
	if (c->json) {
		pp_cli_print_json(g.all);
	} else {
		printf("%-24s  %-24s  %-5s  %s\n", "ID", "PARENTS", "KEYS", "DESCRIPTION");
		json_array_foreach(g.all, i, cfg) {
			char parents[200] = "";
			json_t *p;
			size_t k;

			json_array_foreach(json_object_get(cfg, "parent_ids"), k, p) {
				size_t l = strlen(parents);

				snprintf(parents + l, sizeof(parents) - l, "%s%s", l ? "," : "",
					 json_string_value(p));
			}
			printf("%-24s  %-24s  %-5zu  %s\n",
			       json_string_value(json_object_get(cfg, "id")),
			       parents[0] ? parents : "-",
			       json_object_size(json_object_get(cfg, "raw_config")),
			       json_is_string(json_object_get(cfg, "description")) ?
				       json_string_value(json_object_get(cfg, "description")) : "");
		}
	}
	json_decref(g.all);
	return 0;
}

/* ---- KEY=VALUE ---------------------------------------------------------- */

/* The object holding the last part of a dotted key (created on the way,
 * create = true), and that last part in *leaf. NULL on a conflict (a part
 * that is not an object). */
static json_t *walk(json_t *obj, char *key, bool create, char **leaf)
{
	char *dot;

	while ((dot = strchr(key, '.'))) {
		json_t *next;

		*dot = '\0';
		next = json_object_get(obj, key);
		if (!next && create) {
			next = json_object();
			if (!next || json_object_set_new(obj, key, next))
				return NULL;
		}
		if (!json_is_object(next))
			return NULL;
		obj = next;
		key = dot + 1;
	}
	*leaf = key;
	return obj;
}

/* KEY=VALUE (a string) or KEY:=JSON into raw. 0, or 2 after reporting. */
static int assign(const char *cmd, json_t *raw, const char *arg)
{
	const char *eq = strchr(arg, '=');
	bool typed = eq && eq > arg && eq[-1] == ':';
	size_t klen = eq ? (size_t)(eq - arg) - typed : 0;
	char *key, *leaf;
	json_t *v, *obj;
	json_error_t je;

	if (!eq || klen == 0)
		return pp_cli_usage_error(cmd, "'%s': expected KEY=VALUE or KEY:=JSON", arg);
	key = strndup(arg, klen);
	if (!key)
		return 2;
	if (typed) {
		v = json_loads(eq + 1, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
		if (!v) {
			free(key);
			return pp_cli_usage_error(cmd, "'%s': the value is not JSON (%s)", arg,
						  je.text);
		}
	} else {
		v = json_string(eq + 1);
	}
	obj = walk(raw, key, true, &leaf);
	if (!obj || !*leaf || json_object_set_new(obj, leaf, v)) {
		if (!obj || !*leaf)
			json_decref(v);
		free(key);
		return pp_cli_usage_error(cmd, "'%s': a part of the key is not an object", arg);
	}
	free(key);
	return 0;
}

static void unset(json_t *raw, const char *k)
{
	char *key = strdup(k), *leaf;
	json_t *obj = key ? walk(raw, key, false, &leaf) : NULL;

	if (obj)
		json_object_del(obj, leaf);
	free(key);
}

/* ---- add / set / rm ----------------------------------------------------- */

/* configs add ID ... (create) / configs set ID ... (read, change, replace). */
static int configs_write(struct pp_cli *c, int argc, char **argv, bool create)
{
	const char *cmd = create ? "configs add" : "configs set";
	struct pp_err err = { 0 };
	json_t *parents = NULL, *raw = NULL, *unsets = json_array(), *body = NULL, *out = NULL;
	json_t *rr = NULL;
	const char *desc = NULL, *id;
	bool no_parents = false;
	json_error_t je;
	int o, n, rc = 2;
	char **ops;

	if (!unsets)
		return 1;
	while ((o = pp_cli_getopt(cmd, argc, argv, "h", opts)) != -1) {
		switch (o) {
		case 'h':
			fputs(configs_help, stdout);
			rc = 0;
			goto out;
		case OPT_PARENT:
			if (!parents && !(parents = json_array()))
				goto out;
			json_array_append_new(parents, json_string(optarg));
			break;
		case OPT_NOPARENTS:
			no_parents = true;
			break;
		case OPT_DESC:
			desc = optarg;
			break;
		case OPT_RAW:
			json_decref(raw);
			raw = json_loads(optarg, JSON_REJECT_DUPLICATES, &je);
			if (!json_is_object(raw)) {
				pp_cli_usage_error(cmd, "--raw: not a JSON object%s%s",
						   raw ? "" : ": ", raw ? "" : je.text);
				goto out;
			}
			break;
		case OPT_UNSET:
			if (create) {
				pp_cli_usage_error(cmd, "--unset is for configs set");
				goto out;
			}
			json_array_append_new(unsets, json_string(optarg));
			break;
		default:
			goto out;
		}
	}
	n = pp_cli_operands(argc, argv, &ops);
	if (n < 1) {
		pp_cli_usage_error(cmd, "missing config ID");
		goto out;
	}
	id = ops[0];
	if (no_parents && parents) {
		pp_cli_usage_error(cmd, "--parent and --no-parents together");
		goto out;
	}
	if (!pp_prov_valid_config_id(id)) {
		pp_cli_usage_error(cmd, "'%s' is not a config id (1-128 of A-Z a-z 0-9 . _ -)", id);
		goto out;
	}
	rc = 1;
	if (pp_cli_open_daemon(c))
		goto out;
	if (create) {
		body = json_pack("{s:s}", "id", id);
	} else {
		body = load(c, cmd, id);
		if (body) {
			json_object_del(body, "created");
			json_object_del(body, "updated");
		}
	}
	if (!body)
		goto out;
	if (raw)
		json_object_set(body, "raw_config", raw);
	if (!json_is_object(json_object_get(body, "raw_config")))
		json_object_set_new(body, "raw_config", json_object());
	rc = 2;
	for (int i = 1; i < n; i++)
		if (assign(cmd, json_object_get(body, "raw_config"), ops[i]))
			goto out;
	{
		size_t i;
		json_t *k;

		json_array_foreach(unsets, i, k)
			unset(json_object_get(body, "raw_config"), json_string_value(k));
	}
	if (parents)
		json_object_set(body, "parent_ids", parents);
	if (no_parents)
		json_object_set_new(body, "parent_ids", json_array());
	if (desc)
		json_object_set_new(body, "description", *desc ? json_string(desc) : json_null());
	rc = pp_prov_config_write(c->d.prov, &cli_actor, create ? PP_CFG_CREATE : PP_CFG_REPLACE,
				  id, body, &out, &rr, &err);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov %s: %s\n", cmd, err.msg[0] ? err.msg : pp_strerror(rc));
		rc = 1;
		goto out;
	}
	if (c->json)
		pp_cli_print_json(out);
	else
		printf("%s %s\n", create ? "added" : "changed", id);
	rc = 0;
	{
		/* the config changed; devices that could not be re-rendered */
		json_t *failed = json_object_get(rr, "failed"), *f;
		size_t i;

		json_array_foreach(failed, i, f)
			fprintf(stderr, "phoneprov %s: device %s not re-rendered: %s\n", cmd,
				json_string_value(json_object_get(f, "mac")),
				json_string_value(json_object_get(f, "error")));
		if (json_array_size(failed))
			rc = 1;
	}
out:
	json_decref(rr);
	json_decref(parents);
	json_decref(raw);
	json_decref(unsets);
	json_decref(body);
	json_decref(out);
	return rc;
}

static int configs_show_rm(struct pp_cli *c, int argc, char **argv, bool rm)
{
	const char *cmd = rm ? "configs rm" : "configs show";
	struct pp_err err = { 0 };
	char **ops;
	json_t *cfg;
	int o, rc;

	while ((o = pp_cli_getopt(cmd, argc, argv, "h", help_opts)) != -1) {
		if (o == 'h') {
			fputs(configs_help, stdout);
			return 0;
		}
		return 2;
	}
	if (pp_cli_operands(argc, argv, &ops) != 1)
		return pp_cli_usage_error(cmd, "%s", argc - optind ? "too many arguments" :
				"missing config ID");
	if (pp_cli_open_daemon(c))
		return 1;
	if (!rm) {
		if (!(cfg = load(c, cmd, ops[0])))
			return 1;
		if (c->json)
			pp_cli_print_json(cfg);
		else
			print_config(cfg);
		json_decref(cfg);
		return 0;
	}
	rc = pp_prov_config_delete(c->d.prov, &cli_actor, ops[0], &err);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov %s: %s\n", cmd, err.msg[0] ? err.msg : pp_strerror(rc));
		return 1;
	}
	if (c->json) {
		json_t *j = json_pack("{s:s}", "deleted", ops[0]);

		pp_cli_print_json(j);
		json_decref(j);
	} else {
		printf("deleted %s\n", ops[0]);
	}
	return 0;
}

int pp_cmd_configs(struct pp_cli *c, int argc, char **argv)
{
	const char *sub = argc > 1 && argv[1][0] != '-' ? argv[1] : "list";
	int o;

	if (argc > 1 && argv[1][0] != '-') {
		argc--;
		argv++;
	}
	if (!strcmp(sub, "add") || !strcmp(sub, "set"))
		return configs_write(c, argc, argv, !strcmp(sub, "add"));
	if (!strcmp(sub, "show") || !strcmp(sub, "rm"))
		return configs_show_rm(c, argc, argv, !strcmp(sub, "rm"));
	if (strcmp(sub, "list") != 0)
		return pp_cli_usage_error("configs", "unknown subcommand '%s' (list, show, add, "
					  "set, rm)", sub);
	while ((o = pp_cli_getopt("configs list", argc, argv, "h", help_opts)) != -1) {
		if (o == 'h') {
			fputs(configs_help, stdout);
			return 0;
		}
		return 2;
	}
	if (optind < argc)
		return pp_cli_usage_error("configs list", "unexpected argument '%s'", argv[optind]);
	return configs_list(c);
}
