/* Table test of the bundled monitors: every row of
 * tests/unit/monitor/samples/<plugin>.jsonl (sample records written from the
 * vendor's documented layout by gen_samples.py) goes through the plugin's
 * real definition (plugins/<plugin>/plugin.yml loaded by the registry):
 * framing, parse steps, fields, rules. Each row must give exactly the
 * expected record (every standard field compared, present or absent), or
 * nothing when the line is to be ignored. A table runner (like the mustache
 * spec runner): TAP output, one case per row, so that a failing row is
 * named with its plugin and line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/config/config.h"
#include "daemon/plugin/plugin.h"

static const char *const plugins[] = { "avaya-ipoffice", "panasonic-smdr", "siemens-hipath",
				       "mitel-mivb", "asterisk-ami" };
static const char *const fields[] = { "parsed", "direction", "number", "line", "ext", "start",
				      "duration_s", "ring_s", "trunk", "account" };
static int n_case, n_fail;

static int collect(json_t *rec, void *arg)
{
	json_array_append_new(arg, rec);
	return 0;
}

/* "XXXX-..." in an expected start: any year (records without a year). */
static bool same(const json_t *want, const json_t *got, const char *field)
{
	if (!want || !got)
		return !want && !got;
	if (!strcmp(field, "start") && json_is_string(want) && json_is_string(got) &&
	    !strncmp(json_string_value(want), "XXXX", 4))
		return strlen(json_string_value(got)) > 4 &&
		       !strcmp(json_string_value(want) + 4, json_string_value(got) + 4);
	return json_equal((json_t *)want, (json_t *)got);
}

static void check_row(struct pp_mon_def *def, const json_t *row, const char *plugin, int line)
{
	const char *raw = json_string_value(json_object_get(row, "raw"));
	const json_t *exp = json_object_get(row, "expect");
	const char *note = json_string_value(json_object_get(row, "note"));
	struct pp_mon_parser *p = NULL;
	json_t *got = json_array();
	char why[600] = "";

	n_case++;
	if (!raw || pp_mon_parser_new(def, &p) != PP_OK) {
		snprintf(why, sizeof(why), "bad row or parser");
		goto out;
	}
	pp_mon_parser_feed(p, raw, strlen(raw), collect, got);
	pp_mon_parser_flush(p, collect, got);
	if (json_is_null(exp) || !exp) {
		if (json_array_size(got))
			snprintf(why, sizeof(why), "expected nothing, got %zu record(s)",
				 json_array_size(got));
		goto out;
	}
	if (json_array_size(got) != 1) {
		snprintf(why, sizeof(why), "expected one record, got %zu", json_array_size(got));
		goto out;
	}
	{
		json_t *r = json_array_get(got, 0);
		bool parsed_only = json_object_size(exp) == 1 && json_object_get(exp, "parsed");

		if (!json_is_string(json_object_get(r, "raw")) ||
		    strcmp(json_string_value(json_object_get(r, "monitor")), pp_mon_def_id(def)))
			snprintf(why, sizeof(why), "raw/monitor missing");
		for (size_t i = 0; !why[0] && i < PP_ARRAY_LEN(fields); i++) {
			const json_t *w = json_object_get(exp, fields[i]),
				     *g = json_object_get(r, fields[i]);

			if (parsed_only && i > 0)
				break;
			if (!same(w, g, fields[i])) {
				char *ws = w ? json_dumps(w, JSON_ENCODE_ANY) : NULL;
				char *gs = g ? json_dumps(g, JSON_ENCODE_ANY) : NULL;

				snprintf(why, sizeof(why), "%s: expected %s, got %s (error: %s)",
					 fields[i], ws ? ws : "(absent)", gs ? gs : "(absent)",
					 json_string_value(json_object_get(r, "error")) ?
					 json_string_value(json_object_get(r, "error")) : "-");
				free(ws);
				free(gs);
			}
		}
		if (!why[0] && json_object_get(exp, "extra")) {
			const char *k;
			json_t *v, *gx = json_object_get(r, "extra");

			json_object_foreach((json_t *)json_object_get(exp, "extra"), k, v)
				if (!json_equal(v, json_object_get(gx, k))) {
					snprintf(why, sizeof(why), "extra.%s: expected %s, got %s", k,
						 json_string_value(v),
						 json_is_string(json_object_get(gx, k)) ?
						 json_string_value(json_object_get(gx, k)) : "(absent)");
					break;
				}
		}
	}
out:
	if (why[0]) {
		n_fail++;
		printf("not ok %d - %s:%d %s\n# %s\n# raw: %s", n_case, plugin, line, note ? note : "",
		       why, raw ? raw : "?");
	} else {
		printf("ok %d - %s:%d %s\n", n_case, plugin, line, note ? note : "");
	}
	pp_mon_parser_free(p);
	json_decref(got);
}

int main(void)
{
	const char *src = getenv("PP_SRC");
	struct pp_config *cfg;
	struct pp_registry *reg = NULL;
	struct pp_err err = { 0 };
	char path[4096];

	setenv("TZ", "UTC", 1);
	tzset();
	if (!src)
		src = ".";
	cfg = pp_config_defaults("/tmp");
	free(cfg->plugins.dir);
	snprintf(path, sizeof(path), "%s/plugins", src);
	cfg->plugins.dir = strdup(path);
	if (pp_registry_load(cfg, &reg, &err) != PP_OK) {
		printf("not ok 1 - load the bundled plugins\n# %s\n1..1\n", err.msg);
		return 1;
	}
	for (size_t i = 0; i < PP_ARRAY_LEN(plugins); i++) {
		const struct pp_plugin *p = pp_registry_find(reg, plugins[i]);
		struct pp_mon_def *def = p ? pp_plugin_monitor_at(p, 0) : NULL;
		int rows = 0, records = 0, line = 0;
		char buf[16384];
		FILE *f;

		snprintf(path, sizeof(path), "%s/tests/unit/monitor/samples/%s.jsonl", src, plugins[i]);
		f = fopen(path, "r");
		n_case++;
		if (!def || !f) {
			n_fail++;
			printf("not ok %d - %s: plugin with a monitor and %s\n", n_case, plugins[i],
			       path);
			if (f)
				fclose(f);
			continue;
		}
		printf("ok %d - %s: monitor %s\n", n_case, plugins[i], pp_mon_def_id(def));
		while (fgets(buf, sizeof(buf), f)) {
			json_t *row = json_loads(buf, 0, NULL);

			line++;
			if (!row)
				continue;
			rows++;
			records += json_is_object(json_object_get(row, "expect")) &&
				   json_object_size(json_object_get(row, "expect")) > 1;
			check_row(def, row, plugins[i], line);
			json_decref(row);
		}
		fclose(f);
		n_case++;
		if (records < 20) {
			n_fail++;
			printf("not ok %d - %s: at least 20 sample records (%d)\n", n_case,
			       plugins[i], records);
		} else {
			printf("ok %d - %s: %d rows, %d sample records\n", n_case, plugins[i], rows,
			       records);
		}
	}
	pp_registry_free(reg);
	pp_config_free(cfg);
	printf("1..%d\n", n_case);
	return n_fail ? 1 : 0;
}
