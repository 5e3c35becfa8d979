/* phoneprov firmware list [PLUGIN] | install PLUGIN PKG | uninstall PLUGIN PKG | verify
 *
 * Hidden: phoneprov -c CFG firmware --worker list [PLUGIN] | install PLUGIN PKG |
 * uninstall PLUGIN PKG | verify — what phoneprovd runs (daemon/fw_client.c) so that
 * libcurl/libarchive (and hostile archives) stay out of the server process. It
 * prints exactly one JSON object on stdout:
 *   {"rc": <PP_ code>, "error": "<message or empty>", "result": <json or null>}
 * and exits 0; log lines go to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lib/caps.h"
#include "lib/log.h"
#include "daemon/plugin/plugin.h"
#include "firmware/firmware.h"

static void usage(FILE *f)
{
	fputs("Usage: phoneprov firmware list [PLUGIN] [--json]\n"
	      "       phoneprov firmware install PLUGIN PACKAGE\n"
	      "       phoneprov firmware uninstall PLUGIN PACKAGE\n"
	      "       phoneprov firmware verify [--json]\n"
	      "Firmware packages of the plugins (plugins/<name>/pkgs.yml): downloads are\n"
	      "verified (size, sha256/sha1) before anything is installed into the TFTP/HTTP\n"
	      "tree; verify re-checks installed files against their install records.\n", f);
}

struct bar {
	bool tty;
	char last_what[300];
	int last_pct;
	bool open;
};

static void human(uint64_t n, char *out, size_t sz)
{
	if (n >= 10ULL << 20)
		snprintf(out, sz, "%.1f MiB", (double)n / (1 << 20));
	else if (n >= 10ULL << 10)
		snprintf(out, sz, "%.1f KiB", (double)n / (1 << 10));
	else
		snprintf(out, sz, "%llu B", (unsigned long long)n);
}

static void progress(void *arg, const char *what, uint64_t done, uint64_t total)
{
	struct bar *b = arg;
	bool same = !strcmp(b->last_what, what);
	int pct = total ? (int)(done * 100 / total) : -1;
	char d[32], t[32];

	if (!total && (!strncmp(what, "step", 4) || !strncmp(what, "move", 4)))
		pct = -1;
	if (b->tty) {
		if (!same && b->open)
			fputc('\n', stderr);
		if (pct >= 0 && strncmp(what, "step", 4)) {
			int w = 30, fill = pct * w / 100;

			human(done, d, sizeof(d));
			human(total, t, sizeof(t));
			fprintf(stderr, "\r%-40.40s [%.*s%*s] %3d%% %s / %s", what, fill,
				"##############################", w - fill, "", pct, d, t);
		} else {
			fprintf(stderr, "\r%s", what);
		}
		b->open = true;
		fflush(stderr);
	} else {
		/* plain lines: one when something starts, then every 25% */
		if (!same) {
			fprintf(stderr, "%s\n", what);
			b->last_pct = 0;
		} else if (pct >= 0 && pct / 25 > b->last_pct / 25) {
			human(done, d, sizeof(d));
			fprintf(stderr, "%s: %d%% (%s)\n", what, pct, d);
			b->last_pct = pct;
		}
	}
	snprintf(b->last_what, sizeof(b->last_what), "%s", what);
}

static void bar_end(struct bar *b)
{
	if (b->tty && b->open)
		fputc('\n', stderr);
	b->open = false;
}

/* Config + plugin registry; the store is not needed. */
static int open_reg(struct pp_cli *c, struct pp_registry **reg)
{
	struct pp_err err = { 0 };

	if (pp_cli_open_config(c))
		return 1;
	if (pp_registry_load(c->cfg, reg, &err) != PP_OK) {
		fprintf(stderr, "phoneprov firmware: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static int cmd_list(struct pp_cli *c, struct pp_registry *reg, const char *plugin)
{
	struct pp_err err = { 0 };
	json_t *arr, *p;
	size_t i;

	if (pp_fw_list(c->cfg, reg, plugin, &arr, &err) != PP_OK) {
		fprintf(stderr, "phoneprov firmware list: %s\n", err.msg);
		return 1;
	}
	if (c->json) {
		json_dumpf(arr, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		printf("%-12s %-34s %-16s %-9s %s\n", "PLUGIN", "PACKAGE", "VERSION", "INSTALLED",
		       "DESCRIPTION");
		json_array_foreach(arr, i, p)
			printf("%-12s %-34s %-16s %-9s %s\n",
			       json_string_value(json_object_get(p, "plugin")),
			       json_string_value(json_object_get(p, "name")),
			       json_string_value(json_object_get(p, "version")),
			       json_is_true(json_object_get(p, "installed")) ? "yes" : "no",
			       json_string_value(json_object_get(p, "description")));
	}
	json_decref(arr);
	return 0;
}

static int cmd_verify(struct pp_cli *c, struct pp_registry *reg)
{
	struct pp_err err = { 0 };
	json_t *rep, *p, *f;
	size_t i, k;
	int rc;

	if (pp_fw_verify(c->cfg, reg, &rep, &err) != PP_OK) {
		fprintf(stderr, "phoneprov firmware verify: %s\n", err.msg);
		return 1;
	}
	rc = json_is_true(json_object_get(rep, "ok")) ? 0 : 1;
	if (c->json) {
		json_dumpf(rep, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
	} else {
		json_array_foreach(json_object_get(rep, "packages"), i, p) {
			printf("%s/%s %s: %s\n", json_string_value(json_object_get(p, "plugin")),
			       json_string_value(json_object_get(p, "package")),
			       json_string_value(json_object_get(p, "version")),
			       json_is_true(json_object_get(p, "ok")) ? "ok" : "FAILED");
			json_array_foreach(json_object_get(p, "files"), k, f)
				if (strcmp(json_string_value(json_object_get(f, "status")), "ok"))
					printf("  %s: %s\n",
					       json_string_value(json_object_get(f, "path")),
					       json_string_value(json_object_get(f, "status")));
		}
		if (!json_array_size(json_object_get(rep, "packages")))
			printf("no firmware package installed\n");
	}
	json_decref(rep);
	return rc;
}

/* One firmware operation for the daemon; argv[0] is the subcommand. */
static int worker_run(struct pp_cli *c, int argc, char **argv, json_t **res, struct pp_err *err)
{
	struct pp_registry *reg = NULL;
	const char *sub = argc > 0 ? argv[0] : "";
	int rc;

	if (!strcmp(sub, "list") ? argc > 2 :
	    !strcmp(sub, "install") || !strcmp(sub, "uninstall") ? argc != 3 :
	    !strcmp(sub, "verify") ? argc != 1 : true) {
		pp_err_set(err, "firmware worker: bad arguments (%s)", argc > 0 ? sub : "none");
		return PP_EINVAL;
	}
	if (!c->cfg) {
		rc = pp_config_load(c->config_path, &c->cfg, err);
		if (rc != PP_OK)
			return rc;
		pp_log_set_level(c->cfg->log_level);
	}
	rc = pp_registry_load(c->cfg, &reg, err);
	if (rc != PP_OK)
		return rc;
	if (!strcmp(sub, "list"))
		rc = pp_fw_list(c->cfg, reg, argc == 2 ? argv[1] : NULL, res, err);
	else if (!strcmp(sub, "verify"))
		rc = pp_fw_verify(c->cfg, reg, res, err);
	else if (!strcmp(sub, "install"))
		rc = pp_fw_install(c->cfg, reg, argv[1], argv[2], NULL, NULL, err);
	else
		rc = pp_fw_uninstall(c->cfg, reg, argv[1], argv[2], err);
	pp_registry_free(reg);
	return rc;
}

/* The worker downloads and unpacks untrusted data and needs no capability.
 * phoneprovd drops its own once its sockets are bound, so normally there is
 * nothing left to drop here (and no capset call a seccomp filter would
 * refuse); a worker started another way still gives up what it inherited. */
static void drop_caps(void)
{
	int rc = pp_caps_clear();

	if (rc != 0)
		pp_log(PP_LOG_WARN, "firmware.worker", "error=\"cannot drop capabilities: %s\"",
		       strerror(-rc));
}

static int worker(struct pp_cli *c, int argc, char **argv)
{
	struct pp_err err = { 0 };
	json_t *res = NULL, *o;
	int rc;

	drop_caps();
	rc = worker_run(c, argc, argv, &res, &err);

	if (rc == PP_OK)
		err.msg[0] = '\0';
	else if (!err.msg[0])
		snprintf(err.msg, sizeof(err.msg), "%s", pp_strerror(rc));
	if (rc != PP_OK && res) {
		json_decref(res);
		res = NULL;
	}
	o = json_pack("{s:i, s:s, s:o}", "rc", rc, "error", err.msg, "result",
		      res ? res : json_null());
	if (!o || json_dumpf(o, stdout, JSON_COMPACT) != 0 || fputc('\n', stdout) == EOF ||
	    fflush(stdout) != 0) {
		fprintf(stderr, "phoneprov firmware --worker: cannot write the result\n");
		json_decref(o);
		return 1;
	}
	json_decref(o);
	return 0;
}

int pp_cmd_firmware(struct pp_cli *c, int argc, char **argv)
{
	struct pp_registry *reg = NULL;
	struct pp_err err = { 0 };
	const char *sub;
	int rc;

	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	int o;

	if (argc >= 2 && !strcmp(argv[1], "--worker"))
		return worker(c, argc - 2, argv + 2);
	while ((o = pp_cli_getopt("firmware", argc, argv, "h", opts)) != -1) {
		if (o == 'h') {
			usage(stdout);
			return 0;
		}
		return 2;
	}
	/* the operands (getopt_long moved them after the options) */
	argv[optind - 1] = argv[0];
	argc -= optind - 1;
	argv += optind - 1;
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	sub = argv[1];
	if (!strcmp(sub, "list")) {
		if (argc > 3)
			goto bad;
	} else if (!strcmp(sub, "install") || !strcmp(sub, "uninstall")) {
		if (argc != 4)
			goto bad;
	} else if (!strcmp(sub, "verify")) {
		if (argc != 2)
			goto bad;
	} else {
		fprintf(stderr, "phoneprov firmware: unknown subcommand '%s'\n", sub);
		goto bad_usage;
	}
	if (open_reg(c, &reg))
		return 1;
	if (!strcmp(sub, "list")) {
		rc = cmd_list(c, reg, argc == 3 ? argv[2] : NULL);
	} else if (!strcmp(sub, "verify")) {
		rc = cmd_verify(c, reg);
	} else if (!strcmp(sub, "install")) {
		struct bar b = { .tty = isatty(STDERR_FILENO) == 1, .last_pct = 0 };

		rc = pp_fw_install(c->cfg, reg, argv[2], argv[3], progress, &b, &err);
		bar_end(&b);
		if (rc == PP_OK)
			printf("installed %s/%s\n", argv[2], argv[3]);
		else
			fprintf(stderr, "phoneprov firmware install: %s\n", err.msg);
		rc = rc == PP_OK ? 0 : 1;
	} else {
		rc = pp_fw_uninstall(c->cfg, reg, argv[2], argv[3], &err);
		if (rc == PP_OK)
			printf("uninstalled %s/%s\n", argv[2], argv[3]);
		else
			fprintf(stderr, "phoneprov firmware uninstall: %s\n", err.msg);
		rc = rc == PP_OK ? 0 : 1;
	}
	pp_registry_free(reg);
	return rc;
bad:
	fprintf(stderr, "phoneprov firmware %s: wrong number of arguments\n", sub);
bad_usage:
	usage(stderr);
	return 2;
}
