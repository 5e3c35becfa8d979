/* phoneprov import wazo DIR | import FILE | export: take over a Wazo provd
 * site (its JSON database folder: configs/, devices/, app.json), and back
 * up / restore phoneprov's own devices and configs.
 *
 * Every document goes through the provisioning module like an API write
 * (pp_prov_config_write, pp_prov_device_write: the raw_config schema, the
 * references, the render); nothing here writes the store. Configs are
 * written parents first; a document that is refused is reported with its
 * file and the reason and the rest is imported. A document equal to what
 * the store holds is left alone, so a second import changes nothing. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "daemon/provision/provd.h"
#include "daemon/provision/provision.h"
#include "daemon/store/store.h"
#include "lib/fs.h"

static const char import_help[] =
	"Usage: phoneprov [-c FILE] [--json] import wazo DIR [--dry-run]\n"
	"       phoneprov [-c FILE] [--json] import FILE [--dry-run]\n"
	"Import a Wazo provd JSON database folder (DIR/configs/*, DIR/devices/*, one\n"
	"document per file, and DIR/app.json), or a file written by 'phoneprov export'.\n"
	"Configs are written parents first, then devices, each through the same checks\n"
	"as the REST API (raw_config schema, references); each written device is\n"
	"rendered. A document equal to what the store holds is left alone: importing\n"
	"twice changes nothing. A refused document is reported with its file and the\n"
	"reason, and the rest is still imported (exit status 1 when any was refused).\n"
	"  --dry-run   print what would change, change nothing\n"
	"See docs/migrating-from-provd.md.\n";

static const char export_help[] =
	"Usage: phoneprov [-c FILE] export [-o FILE]\n"
	"Write every config and device (the fields clients own) as one JSON document,\n"
	"{\"phoneprov_export\": 1, \"configs\": [...], \"devices\": [...]}, on stdout or\n"
	"to FILE. 'phoneprov import FILE' reads it back.\n";

static const struct pp_actor import_actor = { "import", true };

struct doc {
	char *src;      /* "configs/base", "export.json:devices[3]" */
	json_t *body;   /* converted document (NULL: refused while reading) */
	char *why;      /* refusal */
	char key[160];  /* config id / MAC */
	int state;      /* 0 todo, 1 done (written or equal), -1 refused */
};

struct docs {
	struct doc *v;
	size_t n, cap;
};

struct run {
	struct pp_cli *c;
	bool dry, json;
	struct docs cfgs, devs;
	json_t *report;   /* {"changes": [...], "refused": [...], "notes": [...]} */
	size_t counts[2][4]; /* [config/device][added, changed, unchanged, refused] */
};

enum { ADDED, CHANGED, UNCHANGED, REFUSED };
static const char *const verbs[2][4] = {
	{ "added", "changed", "unchanged", "refused" },
	{ "would add", "would change", "unchanged", "refused" },
};

static struct doc *docs_add(struct docs *d, const char *src)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		struct doc *n = realloc(d->v, cap * sizeof(*n));

		if (!n)
			return NULL;
		d->v = n;
		d->cap = cap;
	}
	memset(&d->v[d->n], 0, sizeof(d->v[0]));
	if (!(d->v[d->n].src = strdup(src)))
		return NULL;
	return &d->v[d->n++];
}

static void docs_free(struct docs *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].src);
		free(d->v[i].why);
		json_decref(d->v[i].body);
	}
	free(d->v);
}

static void refuse(struct run *r, int kind, struct doc *d, const char *why)
{
	if (d->state == -1)
		return;
	d->state = -1;
	if (!d->why)
		d->why = strdup(why);
	r->counts[kind][REFUSED]++;
	json_array_append_new(json_object_get(r->report, "refused"),
			      json_pack("{s:s, s:s}", "file", d->src, "reason", why));
	if (!r->json)
		fprintf(stderr, "phoneprov import: refused %s: %s\n", d->src, why);
}

static void change(struct run *r, int kind, const char *key, int what, const char *detail)
{
	r->counts[kind][what]++;
	if (what == UNCHANGED)
		return;
	json_array_append_new(json_object_get(r->report, "changes"),
			      json_pack("{s:s, s:s, s:s}", "kind", kind ? "device" : "config",
					"id", key, "change", verbs[r->dry][what]));
	if (!r->json)
		printf("%s %s: %s%s%s\n", kind ? "device" : "config", key, verbs[r->dry][what],
		       detail && *detail ? " " : "", detail ? detail : "");
}

static void note(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void note(struct run *r, const char *fmt, ...)
{
	char m[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	json_array_append_new(json_object_get(r->report, "notes"), json_string(m));
	if (!r->json)
		printf("note: %s\n", m);
}

/* ---- reading ---------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One document per regular file of DIR/sub, in name order. */
static int read_folder(struct run *r, const char *dir, const char *sub, int kind)
{
	char path[4096], **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if (!(d = opendir(path))) {
		if (errno == ENOENT) {
			note(r, "no %s folder: nothing of that kind to import", sub);
			return 0;
		}
		fprintf(stderr, "phoneprov import: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof(*nn));

			if (!nn)
				break;
			names = nn;
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		struct docs *ds = kind ? &r->devs : &r->cfgs;
		struct pp_err err = { 0 };
		char src[4200], *text = NULL, plugin[128];
		size_t len = 0;
		json_t *j = NULL;
		struct doc *doc;

		snprintf(src, sizeof(src), "%s/%s", sub, names[i]);
		snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, names[i]);
		free(names[i]);
		if (!(doc = docs_add(ds, src)))
			continue;
		if (pp_file_read(path, PP_PROVD_DOC_MAX, &text, &len, &err) != PP_OK) {
			refuse(r, kind, doc, err.msg[0] ? err.msg : "cannot be read");
			continue;
		}
		if (pp_provd_parse(text, len, &j, &err) == PP_OK) {
			if (kind)
				pp_provd_device(j, &doc->body, doc->key, plugin, &err);
			else
				pp_provd_config(j, &doc->body, &err);
		}
		if (doc->body && kind && plugin[0])
			json_object_set_new(doc->body, "X_provd_plugin", json_string(plugin));
		free(text);
		json_decref(j);
		if (!doc->body)
			refuse(r, kind, doc, err.msg);
	}
	free(names);
	return 0;
}

static void read_app_json(struct run *r, const char *dir)
{
	char path[4096], *text = NULL;
	struct pp_err err = { 0 };
	const char *k;
	json_t *j = NULL, *v;
	size_t len;

	snprintf(path, sizeof(path), "%s/app.json", dir);
	if (pp_file_read(path, PP_PROVD_DOC_MAX, &text, &len, &err) != PP_OK) {
		note(r, "%s", "no readable app.json: provd's settings not reviewed");
		return;
	}
	if (pp_provd_parse(text, len, &j, &err) != PP_OK) {
		free(text);
		note(r, "app.json refused: %s", err.msg);
		return;
	}
	free(text);
	json_object_foreach(j, k, v) {
		if (strcmp(k, "plugin_server") == 0 || strcmp(k, "http_proxy") == 0 ||
		    strcmp(k, "https_proxy") == 0 || strcmp(k, "ftp_proxy") == 0)
			note(r, "app.json %s not imported: phoneprov's plugins are bundled and "
			     "their firmware comes from pkgs.yml (docs/firmware.md)", k);
		else if (strcmp(k, "locale") == 0)
			note(r, "app.json %s not imported: set the locale raw_config key in a config "
			     "(e.g. the default-role config)", k);
		else if (strcmp(k, "NAT") == 0)
			note(r, "app.json %s not imported: see docs/config.md for NAT handling", k);
		else
			note(r, "app.json %s not imported: phoneprov has no such setting", k);
	}
	json_decref(j);
}

/* An export file: {"phoneprov_export": 1, "configs": [...], "devices": [...]}. */
static int read_export(struct run *r, const char *file)
{
	struct pp_err err = { 0 };
	char *text = NULL;
	size_t len = 0;
	json_t *j = NULL;

	if (pp_file_read(file, 1u << 30, &text, &len, &err) != PP_OK) {
		fprintf(stderr, "phoneprov import: %s: %s\n", file, err.msg);
		return -1;
	}
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if (!json_is_object(j) || !json_is_integer(json_object_get(j, "phoneprov_export"))) {
		fprintf(stderr, "phoneprov import: %s is not a 'phoneprov export' file (for a "
			"provd database folder: phoneprov import wazo DIR)\n", file);
		json_decref(j);
		return -1;
	}
	for (int kind = 0; kind < 2; kind++) {
		json_t *arr = json_object_get(j, kind ? "devices" : "configs"), *e;
		size_t i;

		json_array_foreach(arr, i, e) {
			char src[4200], plugin[128];
			struct doc *doc;

			snprintf(src, sizeof(src), "%s:%s[%zu]", file, kind ? "devices" : "configs", i);
			if (!(doc = docs_add(kind ? &r->devs : &r->cfgs, src)))
				break;
			err.msg[0] = '\0';
			if (kind)
				pp_provd_device(e, &doc->body, doc->key, plugin, &err);
			else
				pp_provd_config(e, &doc->body, &err);
			if (doc->body && kind && plugin[0])
				json_object_set_new(doc->body, "plugin", json_string(plugin));
			if (!doc->body)
				refuse(r, kind, doc, err.msg);
		}
	}
	json_decref(j);
	return 0;
}

/* ---- writing -------------------------------------------------------------- */

struct getter {
	const char *key;
	int kind;
	json_t *out;
};

static int get_txn(struct pp_txn *t, void *arg)
{
	struct getter *g = arg;

	json_decref(g->out);
	g->out = NULL;
	return g->kind ? pp_dev_get(t, g->key, &g->out) : pp_cfg_get(t, g->key, &g->out);
}

static json_t *stored(struct run *r, int kind, const char *key)
{
	struct getter g = { key, kind, NULL };

	if (pp_store_read(r->c->d.store, get_txn, &g) != PP_OK) {
		json_decref(g.out);
		return NULL;
	}
	return g.out;
}

static struct doc *find_cfg(struct run *r, const char *id)
{
	for (size_t i = 0; i < r->cfgs.n; i++)
		if (r->cfgs.v[i].body && strcmp(r->cfgs.v[i].key, id) == 0)
			return &r->cfgs.v[i];
	return NULL;
}

/* The config as the write path would store it (for the comparison). */
static bool cfg_equal(const json_t *body, const json_t *old)
{
	json_t *a = json_deep_copy(body), *b = json_deep_copy(old);
	bool eq;

	if (!json_object_get(a, "parent_ids"))
		json_object_set_new(a, "parent_ids", json_array());
	if (!json_object_get(a, "raw_config"))
		json_object_set_new(a, "raw_config", json_object());
	json_object_del(b, "created");
	json_object_del(b, "updated");
	eq = json_equal(a, b);
	json_decref(a);
	json_decref(b);
	return eq;
}

/* Is every field of body what the store holds? */
static bool dev_equal(const json_t *body, const json_t *old)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)body, k, v)
		if (!json_equal(v, json_object_get(old, k)))
			return false;
	return true;
}

/* -1: a parent is refused / missing (why set), 0: not yet, 1: ready */
static int parents_ready(struct run *r, struct doc *d, char *why, size_t n)
{
	json_t *p;
	size_t i;

	json_array_foreach(json_object_get(d->body, "parent_ids"), i, p) {
		const char *pid = json_string_value(p);
		struct doc *pd;
		json_t *old;

		if (!pid)
			continue; /* the schema check says why */
		if ((pd = find_cfg(r, pid))) {
			if (pd->state == -1) {
				snprintf(why, n, "parent config %s was refused", pid);
				return -1;
			}
			if (pd->state == 0)
				return 0;
			continue;
		}
		if (!(old = stored(r, 0, pid))) {
			snprintf(why, n, "parent config %s: no such config (neither imported nor "
				 "in the store)", pid);
			return -1;
		}
		json_decref(old);
	}
	return 1;
}

static void import_config(struct run *r, struct doc *d)
{
	struct pp_err err = { 0 };
	json_t *old = stored(r, 0, d->key), *rr = NULL;
	int rc;

	if (pp_prov_config_check(d->body, &err) != PP_OK) {
		char why[700];

		snprintf(why, sizeof(why), "%s", err.msg);
		refuse(r, 0, d, why);
		json_decref(old);
		return;
	}
	if (old && cfg_equal(d->body, old)) {
		d->state = 1;
		change(r, 0, d->key, UNCHANGED, NULL);
		json_decref(old);
		return;
	}
	if (!r->dry) {
		rc = pp_prov_config_write(r->c->d.prov, &import_actor,
					  old ? PP_CFG_REPLACE : PP_CFG_CREATE, d->key, d->body, NULL,
					  &rr, &err);
		json_decref(rr);
		if (rc != PP_OK) {
			refuse(r, 0, d, err.msg[0] ? err.msg : pp_strerror(rc));
			json_decref(old);
			return;
		}
	}
	d->state = 1;
	change(r, 0, d->key, old ? CHANGED : ADDED, NULL);
	json_decref(old);
}

static void import_configs(struct run *r)
{
	bool progress = true;

	for (size_t i = 0; i < r->cfgs.n; i++) {
		struct doc *d = &r->cfgs.v[i];
		const char *id = json_string_value(json_object_get(d->body, "id"));

		if (d->body && id)
			snprintf(d->key, sizeof(d->key), "%s", id);
		if (d->body && find_cfg(r, d->key) != d)
			refuse(r, 0, d, "the same config id is in another document too");
	}
	/* parents first: passes until nothing moves; what is left is a cycle */
	while (progress) {
		progress = false;
		for (size_t i = 0; i < r->cfgs.n; i++) {
			struct doc *d = &r->cfgs.v[i];
			char why[300];
			int ready;

			if (d->state != 0 || !d->body)
				continue;
			ready = parents_ready(r, d, why, sizeof(why));
			if (ready == 0)
				continue;
			progress = true;
			if (ready < 0)
				refuse(r, 0, d, why);
			else
				import_config(r, d);
		}
	}
	for (size_t i = 0; i < r->cfgs.n; i++)
		if (r->cfgs.v[i].state == 0 && r->cfgs.v[i].body)
			refuse(r, 0, &r->cfgs.v[i], "inheritance cycle among the imported configs");
}

/* provd's plugin id -> a bundled plugin: "wazo-yealink-v86" -> "yealink",
 * "xivo-cisco-spa-7.5.4" -> "cisco-spa" (the longest plugin name that the id
 * starts with, after the wazo-/xivo- prefix). */
static const char *map_plugin(const struct pp_registry *reg, const char *id)
{
	const char *best = NULL;
	size_t bl = 0;

	if (strncmp(id, "wazo-", 5) == 0 || strncmp(id, "xivo-", 5) == 0)
		id += 5;
	for (size_t i = 0; reg && i < pp_registry_count(reg); i++) {
		const char *name = pp_registry_at(reg, i)->name;
		size_t n = strlen(name);

		if (strncmp(id, name, n) == 0 && (id[n] == '\0' || id[n] == '-') && n > bl) {
			best = name;
			bl = n;
		}
	}
	return best;
}

static void import_devices(struct run *r)
{
	struct pp_snapshot *s = pp_daemon_acquire(&r->c->d);

	for (size_t i = 0; i < r->devs.n; i++) {
		struct doc *d = &r->devs.v[i];
		struct pp_err err = { 0 };
		const char *cfg, *pp;
		json_t *old, *out = NULL;
		char why[700];
		int rc;

		if (!d->body || d->state)
			continue;
		for (size_t j = 0; j < i; j++)
			if (r->devs.v[j].body && strcmp(r->devs.v[j].key, d->key) == 0) {
				refuse(r, 1, d, "the same MAC is in another document too");
				break;
			}
		if (d->state)
			continue;
		pp = json_string_value(json_object_get(d->body, "X_provd_plugin"));
		if (pp && !json_object_get(d->body, "plugin")) {
			const char *m = map_plugin(s ? s->reg : NULL, pp);

			if (m)
				json_object_set_new(d->body, "plugin", json_string(m));
		}
		cfg = json_string_value(json_object_get(d->body, "config"));
		if (cfg) {
			struct doc *cd = find_cfg(r, cfg);

			if (cd && cd->state == -1) {
				snprintf(why, sizeof(why), "its config %s was refused", cfg);
				refuse(r, 1, d, why);
				continue;
			}
			if (!cd && !(old = stored(r, 0, cfg))) {
				snprintf(why, sizeof(why), "config %s: no such config (neither imported "
					 "nor in the store)", cfg);
				refuse(r, 1, d, why);
				continue;
			} else if (!cd) {
				json_decref(old);
			}
		}
		if (pp_prov_device_check(d->body, false, &err) != PP_OK) {
			snprintf(why, sizeof(why), "%s%s%s", err.field[0] ? err.field : "",
				 err.field[0] ? ": " : "", err.msg);
			refuse(r, 1, d, why);
			continue;
		}
		old = stored(r, 1, d->key);
		if (old && dev_equal(d->body, old)) {
			d->state = 1;
			change(r, 1, d->key, UNCHANGED, NULL);
			json_decref(old);
			continue;
		}
		if (!r->dry) {
			rc = pp_prov_device_write(r->c->d.prov, &import_actor,
						  old ? PP_DEV_PATCH : PP_DEV_CREATE, d->key, d->body,
						  &out, &err);
			if (rc != PP_OK) {
				snprintf(why, sizeof(why), "%s", err.msg[0] ? err.msg : pp_strerror(rc));
				refuse(r, 1, d, why);
				json_decref(old);
				continue;
			}
		}
		{
			json_t *files = json_object_get(json_object_get(out, "render"), "files");
			char detail[200] = "";

			if (out)
				snprintf(detail, sizeof(detail), "(%s, %zu files rendered)",
					 json_string_value(json_object_get(out, "plugin")) ?
					 json_string_value(json_object_get(out, "plugin")) : "no plugin",
					 json_array_size(files));
			d->state = 1;
			change(r, 1, d->key, old ? CHANGED : ADDED, detail);
		}
		json_decref(out);
		json_decref(old);
	}
	if (s)
		pp_snapshot_release(s);
}

int pp_cmd_import(struct pp_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct run r = { .c = c, .json = c->json };
	char **ops;
	int o, n, rc = 0;
	bool wazo;

	while ((o = pp_cli_getopt("import", argc, argv, "hn", opts)) != -1) {
		if (o == 'h') {
			fputs(import_help, stdout);
			return 0;
		}
		if (o == PP_CLI_BADOPT)
			return 2;
		if (o == 'n')
			r.dry = true;
	}
	n = pp_cli_operands(argc, argv, &ops);
	wazo = n >= 1 && strcmp(ops[0], "wazo") == 0;
	if (n != (wazo ? 2 : 1))
		return pp_cli_usage_error("import", "give 'wazo DIR' or an export FILE");
	if (pp_cli_open_daemon(c))
		return 1;
	r.report = json_pack("{s:[], s:[], s:[]}", "changes", "refused", "notes");
	if (!r.report)
		return 1;
	if (wazo) {
		if (read_folder(&r, ops[1], "configs", 0) || read_folder(&r, ops[1], "devices", 1))
			rc = 1;
		else
			read_app_json(&r, ops[1]);
	} else if (read_export(&r, ops[0])) {
		rc = 1;
	}
	if (rc == 0) {
		import_configs(&r);
		import_devices(&r);
		for (int k = 0; k < 2; k++) {
			json_t *cnt = json_object();

			for (int w = 0; w < 4; w++)
				json_object_set_new(cnt, verbs[0][w], json_integer((json_int_t)r.counts[k][w]));
			json_object_set_new(r.report, k ? "devices" : "configs", cnt);
		}
		json_object_set_new(r.report, "dry_run", json_boolean(r.dry));
		if (r.json)
			pp_cli_print_json(r.report);
		else
			for (int k = 0; k < 2; k++)
				printf("%s: %zu %s, %zu %s, %zu unchanged, %zu refused\n",
				       k ? "devices" : "configs", r.counts[k][ADDED], verbs[r.dry][ADDED],
				       r.counts[k][CHANGED], verbs[r.dry][CHANGED],
				       r.counts[k][UNCHANGED], r.counts[k][REFUSED]);
		rc = r.counts[0][REFUSED] || r.counts[1][REFUSED] ? 1 : 0;
	}
	docs_free(&r.cfgs);
	docs_free(&r.devs);
	json_decref(r.report);
	return rc;
}

/* ---- export ---------------------------------------------------------------- */

static const char *const server_fields[] = { "state", "created", "updated", "last_seen",
					     "scores", "dhcp", "render", "provisioned" };

static int exp_cfg_cb(const char *id, json_t *cfg, void *arg)
{
	json_t *c = json_deep_copy(cfg);

	(void)id;
	json_object_del(c, "created");
	json_object_del(c, "updated");
	return json_array_append_new(json_object_get(arg, "configs"), c) ? PP_ENOMEM : PP_OK;
}

static int exp_dev_cb(const char *mac, json_t *dev, void *arg)
{
	json_t *d = json_deep_copy(dev);

	(void)mac;
	for (size_t i = 0; i < PP_ARRAY_LEN(server_fields); i++)
		json_object_del(d, server_fields[i]);
	return json_array_append_new(json_object_get(arg, "devices"), d) ? PP_ENOMEM : PP_OK;
}

static int exp_txn(struct pp_txn *t, void *arg)
{
	int rc;

	json_array_clear(json_object_get(arg, "configs"));
	json_array_clear(json_object_get(arg, "devices"));
	if ((rc = pp_cfg_each(t, exp_cfg_cb, arg)) != PP_OK)
		return rc;
	return pp_dev_each(t, NULL, exp_dev_cb, arg);
}

int pp_cmd_export(struct pp_cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL;
	char **ops;
	json_t *all;
	int o, rc;

	while ((o = pp_cli_getopt("export", argc, argv, "ho:", opts)) != -1) {
		if (o == 'h') {
			fputs(export_help, stdout);
			return 0;
		}
		if (o == PP_CLI_BADOPT)
			return 2;
		if (o == 'o')
			file = optarg;
	}
	if (pp_cli_operands(argc, argv, &ops) != 0)
		return pp_cli_usage_error("export", "no operands (use -o FILE)");
	if (pp_cli_open_daemon(c))
		return 1;
	all = json_pack("{s:i, s:[], s:[]}", "phoneprov_export", 1, "configs", "devices");
	if (!all)
		return 1;
	rc = pp_store_read(c->d.store, exp_txn, all);
	if (rc != PP_OK) {
		fprintf(stderr, "phoneprov export: store: %s\n", pp_strerror(rc));
		json_decref(all);
		return 1;
	}
	if (file) {
		if (json_dump_file(all, file, JSON_INDENT(1) | JSON_SORT_KEYS) != 0) {
			fprintf(stderr, "phoneprov export: cannot write %s\n", file);
			json_decref(all);
			return 1;
		}
	} else {
		json_dumpf(all, stdout, JSON_INDENT(1) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	}
	json_decref(all);
	return 0;
}
