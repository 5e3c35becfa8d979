/* Fuzz the call-record parser: the first byte picks a monitor (the bundled
 * ones, loaded from plugins/, and two inline definitions with fixed-length
 * framing and quoted CSV), the second the size of the reads; the rest is
 * what a PBX sends. It goes through the framing (pieces, then flush) and
 * once more as one frame. Every record must be a JSON object with
 * "monitor", "parsed" and "raw"; an unparsed one must carry an "error";
 * nothing may crash, leak or hang. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config/config.h"
#include "daemon/plugin/monitor_int.h"

#ifndef PP_SOURCE_ROOT
#define PP_SOURCE_ROOT "."
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const inline_defs =
	"monitors:\n"
	"  - name: fixed\n    transport: serial\n    framing: fixed\n    record_length: 24\n"
	"    parse:\n      - columns: { d: 1-8, n: 9-20, s: 21-24 }\n"
	"    record:\n      start: { value: \"{{d}}\", format: \"%Y%m%d\" }\n"
	"      number: \"{{n}}\"\n      duration_s: \"{{s}}\"\n"
	"  - name: csv\n    transport: tcp\n    max_record: 64\n"
	"    parse:\n      - csv: { separator: ';', fields: [a, b, c] }\n"
	"      - on: c\n        regex: '^(?<x>\\d+)?(?<y>.*)$'\n        optional: true\n"
	"    record:\n      direction: { value: \"{{a}}\", map: { i: incoming, o: outgoing } }\n"
	"      number: \"{{b}}\"\n      ring_s: \"{{x}}\"\n      extra: { y: \"{{y}}\" }\n"
	"    rules:\n      - when: { y: 'm' }\n        set: { direction: missed }\n";

static struct pp_mon_def *defs[16];
static size_t n_defs;
static struct pp_registry *reg;
static struct pp_config *cfg;
static struct pp_mon_set *inl;

static void cleanup(void)
{
	pp_mon_set_free(inl);
	pp_registry_free(reg);
	pp_config_free(cfg);
}

static void setup(void)
{
	struct pp_err err = { 0 };
	struct pp_ydoc *doc = NULL;

	setenv("TZ", "UTC", 1);
	cfg = pp_config_defaults("/tmp");
	free(cfg->plugins.dir);
	cfg->plugins.dir = strdup(PP_SOURCE_ROOT "/plugins");
	if (pp_registry_load(cfg, &reg, &err) != PP_OK) {
		fprintf(stderr, "fuzz-monitor: %s\n", err.msg);
		abort();
	}
	for (size_t i = 0; i < pp_registry_count(reg); i++) {
		const struct pp_plugin *p = pp_registry_at(reg, i);

		for (size_t k = 0; k < pp_plugin_monitor_count(p) && n_defs < 14; k++)
			defs[n_defs++] = pp_plugin_monitor_at(p, k);
	}
	if (pp_yaml_load_buf("inline.yml", inline_defs, strlen(inline_defs), &doc, &err) != PP_OK ||
	    pp_mon_set_load("fz", pp_ymap_get(doc->root, "monitors"), NULL, NULL, true, &inl,
			    &err) != PP_OK) {
		fprintf(stderr, "fuzz-monitor: %s\n", err.msg);
		abort();
	}
	pp_ydoc_free(doc);
	for (size_t k = 0; k < pp_mon_set_count(inl); k++)
		defs[n_defs++] = pp_mon_set_at(inl, k);
	atexit(cleanup);
}

static void check(json_t *rec)
{
	const json_t *parsed = json_object_get(rec, "parsed");
	char *s;

	if (!json_is_object(rec) || !json_is_string(json_object_get(rec, "monitor")) ||
	    !json_is_boolean(parsed) || !json_is_string(json_object_get(rec, "raw")))
		abort();
	if (json_is_false(parsed) && !json_is_string(json_object_get(rec, "error")))
		abort();
	s = json_dumps(rec, JSON_COMPACT);
	if (!s)
		abort(); /* every string must be valid UTF-8 */
	free(s);
}

static int cb(json_t *rec, void *arg)
{
	(*(size_t *)arg)++;
	check(rec);
	json_decref(rec);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pp_mon_parser *p = NULL;
	size_t step, n = 0;
	json_t *r;

	if (!reg)
		setup();
	if (size < 2 || size > 200000)
		return 0;
	if (pp_mon_parser_new(defs[data[0] % n_defs], &p) != PP_OK)
		abort();
	step = 1 + data[1] % 64;
	data += 2;
	size -= 2;
	for (size_t off = 0; off < size; off += step)
		pp_mon_parser_feed(p, data + off, size - off < step ? size - off : step, cb, &n);
	pp_mon_parser_flush(p, cb, &n);
	if (pp_mon_parser_pending(p))
		abort();
	r = pp_mon_parse_frame(p, (const char *)data, size < 8192 ? size : 8192);
	if (r) {
		check(r);
		json_decref(r);
	}
	pp_mon_parser_free(p);
	return 0;
}
