/* CLI commands of the plugin module: `phoneprov plugins`, `phoneprov
 * identify ...` and `phoneprov render MAC [--explain]`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../cli.h"
#include "../pipeline.h"
#include "../store/store.h"
#include "engine.h"
#include "render.h"

static void print_json(json_t *j)
{
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	putchar('\n');
}

/* Config + registry only (no store): fast, and usable while the daemon runs. */
static int open_registry(struct pp_cli *c, struct pp_registry **reg, const char *cmd,
			 unsigned flags)
{
	struct pp_err err = { "" };

	if (pp_cli_open_config(c))
		return 1;
	if (pp_registry_load_ex(c->cfg, flags, reg, &err) != PP_OK) {
		fprintf(stderr, "phoneprov %s: %s\n", cmd, err.msg);
		return 1;
	}
	return 0;
}

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

/* ---- plugins ------------------------------------------------------------ */

static json_t *plugin_json(const struct pp_plugin *p)
{
	const struct pp_plugin_priv *pv = pp_priv(p);
	json_t *models = json_array(), *files = json_array();

	for (size_t i = 0; i < pv->n_models; i++)
		json_array_append_new(models, json_string(pv->models[i].name));
	for (size_t i = 0; i < pv->n_files; i++) {
		const struct pp_file_spec *fs = &pv->files[i];

		json_array_append_new(files, json_pack("{s:s, s:s, s:s, s:b, s:b}", "path", fs->path,
						       "template", fs->tpl_name, "scope",
						       fs->common ? "common" : "device", "sensitive",
						       fs->sensitive, "trigger", fs->trigger));
	}
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:b, s:O}", "name", p->name,
			 "version", p->version, "vendor", p->vendor, "description", p->description,
			 "dir", p->dir, "models", models, "files", files, "rules",
			 (json_int_t)pv->n_rules, "hooks", pv->hooks != NULL, "meta", p->meta);
}

int pp_cmd_plugins(struct pp_cli *c, int argc, char **argv)
{
	struct pp_registry *reg;
	bool json = c->json;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("Usage: phoneprov plugins [--json]\n"
			       "List the enabled plugins: name, version, vendor, models.\n");
			return 0;
		} else {
			fprintf(stderr, "phoneprov plugins: unknown argument '%s'\n", argv[i]);
			return 2;
		}
	}
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
			       pp_priv(p)->n_models, p->description);
		}
	}
	pp_registry_free(reg);
	return 0;
}

/* ---- identify ----------------------------------------------------------- */

static const struct option identify_opts[] = {
	{ "dhcp-vci", required_argument, NULL, 'v' },
	{ "dhcp-vendor-class", required_argument, NULL, 'v' },
	{ "dhcp-hostname", required_argument, NULL, 'n' },
	{ "dhcp-client-id", required_argument, NULL, 'i' },
	{ "dhcp-user-class", required_argument, NULL, 'u' },
	{ "user-agent", required_argument, NULL, 'a' },
	{ "http-path", required_argument, NULL, 'p' },
	{ "tftp-file", required_argument, NULL, 't' },
	{ "json", no_argument, NULL, 'j' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char identify_help[] =
	"Usage: phoneprov identify [--dhcp-vci S] [--user-agent S] [--http-path S]\n"
	"                          [--tftp-file S] [--dhcp-hostname S] [--dhcp-client-id HEX]\n"
	"                          [--dhcp-user-class S]\n"
	"Show, as JSON, what phoneprov makes of a phone's request: the extracted vendor,\n"
	"model, version, mac and serial (and which rule gave each), every plugin's score\n"
	"(EXACT, COMPLETE, PROBABLE, IMPROBABLE) and the plugin chosen.\n";

json_t *pp_identify_json(const struct pp_registry *reg, const struct pp_ex_input *in);

json_t *pp_identify_json(const struct pp_registry *reg, const struct pp_ex_input *in)
{
	size_t n = pp_registry_count(reg);
	unsigned char *sc = calloc(n ? n : 1, 1);
	json_t *out = json_object(), *scores = json_object(), *from = json_object();
	json_t *input = json_object();
	struct pp_devinfo di;
	int best;

	pp_identify(reg, in, &di);
	best = pp_associate(reg, &di, sc);
	for (int s = 0; s < PP_SRC_N; s++)
		if (in->s[s])
			json_object_set_new(input, pp_src_name(s), json_stringn(in->s[s], in->len[s]));
	for (int f = 0; f < PP_F_N; f++) {
		json_object_set_new(out, pp_field_name(f),
				    di.f[f][0] ? json_string(di.f[f]) : json_null());
		if (di.f[f][0])
			json_object_set_new(from, pp_field_name(f),
					    json_pack("{s:s, s:s?}", "source", pp_src_name(di.src[f]),
						      "plugin", di.plugin[f]));
	}
	for (size_t i = 0; i < n; i++)
		json_object_set_new(scores, pp_registry_at(reg, i)->name,
				    json_string(sc ? pp_score_name(sc[i]) : "?"));
	json_object_set_new(out, "from", from);
	json_object_set_new(out, "scores", scores);
	json_object_set_new(out, "input", input);
	if (best >= 0) {
		const struct pp_plugin *p = pp_registry_at(reg, (size_t)best);
		const struct pp_model *m = pp_plugin_model(p, di.f[PP_F_MODEL]);

		json_object_set_new(out, "plugin", json_string(p->name));
		json_object_set_new(out, "score", json_string(pp_score_name(sc[best])));
		json_object_set_new(out, "canonical_model", m ? json_string(m->name) : json_null());
	} else {
		json_object_set_new(out, "plugin", json_null());
		json_object_set_new(out, "score", json_string("IMPROBABLE"));
		json_object_set_new(out, "canonical_model", json_null());
	}
	free(sc);
	return out;
}

int pp_cmd_identify(struct pp_cli *c, int argc, char **argv)
{
	static char norm[2][PP_PATH_MAX];
	struct pp_ex_input in;
	struct pp_registry *reg;
	int opt, any = 0;
	json_t *out;

	memset(&in, 0, sizeof(in));
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", identify_opts, NULL)) != -1) {
		int s = -1;
		const char *v = optarg;

		switch (opt) {
		case 'v': s = PP_SRC_DHCP_VCI; break;
		case 'n': s = PP_SRC_DHCP_HOSTNAME; break;
		case 'i': s = PP_SRC_DHCP_CLIENT_ID; break;
		case 'u': s = PP_SRC_DHCP_USER_CLASS; break;
		case 'a': s = PP_SRC_HTTP_UA; break;
		case 'p': s = PP_SRC_HTTP_PATH; break;
		case 't': s = PP_SRC_TFTP_FILE; break;
		case 'j': continue;
		case 'h':
			fputs(identify_help, stdout);
			return 0;
		default:
			fprintf(stderr, "phoneprov identify: unknown or incomplete option '%s'\n%s",
				argv[optind - 1], identify_help);
			return 2;
		}
		/* paths are matched as the pipeline sees them: normalised, relative */
		if (s == PP_SRC_HTTP_PATH || s == PP_SRC_TFTP_FILE) {
			char *dst = norm[s == PP_SRC_TFTP_FILE];
			const char *reason;

			if (pp_path_normalize(v, strlen(v), dst, PP_PATH_MAX, &reason) == 0)
				v = dst;
		}
		in.s[s] = v;
		in.len[s] = strlen(v);
		any = 1;
	}
	if (optind < argc) {
		fprintf(stderr, "phoneprov identify: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!any) {
		fprintf(stderr, "phoneprov identify: give at least one of --dhcp-vci, "
			"--user-agent, --http-path, --tftp-file, --dhcp-hostname, --dhcp-client-id, "
			"--dhcp-user-class\n");
		return 2;
	}
	if (open_registry(c, &reg, "identify", PP_REG_IDENTIFY))
		return 1;
	out = pp_identify_json(reg, &in);
	print_json(out);
	json_decref(out);
	pp_registry_free(reg);
	return 0;
}

/* ---- render ------------------------------------------------------------- */

static json_t *config_chain(struct pp_txn *t, const char *id, int depth, json_t *chain)
{
	json_t *cfg, *v;
	size_t i;

	if (!id || depth > 32)
		return chain;
	if (pp_cfg_get(t, id, &cfg) != PP_OK) {
		json_array_append_new(chain, json_pack("{s:s, s:b}", "id", id, "missing", 1));
		return chain;
	}
	json_array_append_new(chain, json_pack("{s:s, s:O?}", "id", id, "raw_config",
					       json_object_get(cfg, "raw_config")));
	json_array_foreach(json_object_get(cfg, "parent_ids"), i, v)
		config_chain(t, json_string_value(v), depth + 1, chain);
	json_decref(cfg);
	return chain;
}

struct explain_arg {
	const char *mac;
	json_t *dev;
	json_t *chain;
	json_t *resolved;
	int resolve_rc;
	json_t *files;
};

static int explain_txn(struct pp_txn *t, void *arg)
{
	struct explain_arg *e = arg;
	const char *cid;
	json_t *v;
	size_t i;
	int rc;

	json_decref(e->dev);
	json_decref(e->chain);
	json_decref(e->resolved);
	json_decref(e->files);
	e->dev = e->chain = e->resolved = e->files = NULL;
	if ((rc = pp_dev_get(t, e->mac, &e->dev)))
		return rc;
	cid = json_string_value(json_object_get(e->dev, "config"));
	e->chain = config_chain(t, cid, 0, json_array());
	e->resolve_rc = cid ? pp_cfg_resolve(t, cid, &e->resolved) : PP_OK;
	e->files = json_array();
	json_array_foreach(json_object_get(json_object_get(e->dev, "render"), "files"), i, v) {
		struct pp_file f;
		const char *path = json_string_value(v);

		if (path && pp_file_get(t, path, &f) == PP_OK)
			json_array_append_new(e->files,
					      json_pack("{s:s, s:I, s:s, s:s?}", "path", path, "size",
							(json_int_t)f.size, "etag", f.etag, "template",
							json_string_value(json_object_get(
								json_object_get(json_object_get(
									e->dev, "render"), "templates"),
								path))));
	}
	return PP_OK;
}

static json_t *explain(struct pp_cli *c, struct explain_arg *e)
{
	struct pp_snapshot *s = pp_daemon_acquire(&c->d);
	const struct pp_plugin *p = pp_registry_find(s->reg,
						     json_string_value(json_object_get(e->dev,
										       "plugin")));
	json_t *out = json_object(), *ext = json_object(), *merged;
	static const char *const keys[] = { "vendor", "model", "version", "mac", "serial", "ip" };

	for (size_t i = 0; i < PP_ARRAY_LEN(keys); i++)
		json_object_set(ext, keys[i], json_object_get(e->dev, keys[i]) ?
				json_object_get(e->dev, keys[i]) : json_null());
	json_object_set_new(out, "device", ext);
	json_object_set(out, "dhcp", json_object_get(e->dev, "dhcp") ?
			json_object_get(e->dev, "dhcp") : json_null());
	json_object_set(out, "scores", json_object_get(e->dev, "scores") ?
			json_object_get(e->dev, "scores") : json_object());
	json_object_set_new(out, "plugin", p ? json_string(p->name) : json_null());
	json_object_set(out, "config_id", json_object_get(e->dev, "config") ?
			json_object_get(e->dev, "config") : json_null());
	json_object_set(out, "config_chain", e->chain);
	json_object_set(out, "config_resolved", e->resolved ? e->resolved : json_null());
	if (p) {
		merged = json_deep_copy(pp_priv(p)->autoprov);
		if (e->resolved)
			pp_json_merge(merged, e->resolved);
		json_object_set(out, "plugin_autoprov", pp_priv(p)->autoprov);
		json_object_set_new(out, "config_merged", merged);
		json_object_set(out, "plugin_settings", pp_priv(p)->settings);
	}
	json_object_set(out, "files", e->files);
	pp_snapshot_release(s);
	return out;
}

int pp_cmd_render(struct pp_cli *c, int argc, char **argv)
{
	struct explain_arg e = { 0 };
	const char *macarg = NULL;
	bool expl = false, json = c->json;
	char mac[18];
	int rc, status = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--explain")) {
			expl = true;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (want_help(2, (char *[]){ argv[0], argv[i] })) {
			printf("Usage: phoneprov render MAC [--explain] [--json]\n"
			       "Render the device's files now (LMDB and data_dir/tftpboot). With\n"
			       "--explain, show how: extracted facts, plugin scores, the config\n"
			       "inheritance chain, the merged config and the template of each file.\n");
			return 0;
		} else if (argv[i][0] == '-' || macarg) {
			fprintf(stderr, "phoneprov render: unexpected argument '%s'\n", argv[i]);
			return 2;
		} else {
			macarg = argv[i];
		}
	}
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
	rc = pp_pipeline_reconfigure(&c->d, mac);
	if (rc == PP_ENOENT) {
		fprintf(stderr, "phoneprov render: no device %s\n", mac);
		return 1;
	}
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov render: %s: rendering failed: %s (see the log line "
			"above)\n", mac, pp_strerror(rc));
		status = 1;
	}
	e.mac = mac;
	if (pp_store_read(c->d.store, explain_txn, &e) != PP_OK) {
		fprintf(stderr, "phoneprov render: cannot read device %s\n", mac);
		return 1;
	}
	if (expl || json) {
		json_t *out = expl ? explain(c, &e) : json_pack("{s:s, s:O}", "mac", mac, "files",
								 e.files);

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

		if (json_array_size(e.files) == 0)
			printf("%s: no files (no plugin supports this device: see phoneprov render "
			       "%s --explain)\n", mac, mac);
		json_array_foreach(e.files, i, f)
			printf("%s\t%lld bytes\t(template %s)\n",
			       json_string_value(json_object_get(f, "path")),
			       (long long)json_integer_value(json_object_get(f, "size")),
			       json_string_value(json_object_get(f, "template")) ?
			       json_string_value(json_object_get(f, "template")) : "?");
	}
	json_decref(e.dev);
	json_decref(e.chain);
	json_decref(e.resolved);
	json_decref(e.files);
	return status;
}
