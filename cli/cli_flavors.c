/* `phoneprov phone-types [--json]`: every enabled plugin's phone types in
 * display order (docs/flavors.md), the same list as GET
 * /api/v1/phone_types, read from the plugins on disk. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "daemon/plugin/phonetypes.h"
#include "daemon/plugin/plugin.h"

static const char phone_types_help[] =
	"Usage: phoneprov [-c FILE] [--json] phone-types\n"
	"List every enabled plugin's phone types, highest display_index first, then by\n"
	"name: plugin, special (admin token only), prevent_sip (no SIP account), codecs\n"
	"and extra fields (* = required). --json: the list of GET /api/v1/phone_types.\n";

static void join(const json_t *arr, const char *key, char *out, size_t n)
{
	size_t i, len = 0;
	json_t *v;

	out[0] = '\0';
	json_array_foreach(arr, i, v) {
		const char *s = key ? json_string_value(json_object_get(v, key)) :
			json_string_value(v);
		bool req = key && json_is_true(json_object_get(v, "required"));

		len += (size_t)snprintf(out + len, len < n ? n - len : 0, "%s%s%s", i ? "," : "",
					s ? s : "?", req ? "*" : "");
		if (len >= n)
			break;
	}
	if (!out[0])
		snprintf(out, n, "-");
}

int pp_cmd_phone_types(struct pp_cli *c, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'h' },
					      { NULL, 0, NULL, 0 } };
	struct pp_registry *reg = NULL;
	struct pp_err err = { 0 };
	json_t *types, *t;
	size_t i;
	int o;

	while ((o = pp_cli_getopt("phone-types", argc, argv, "h", opts)) != -1) {
		if (o == 'h') {
			fputs(phone_types_help, stdout);
			return 0;
		}
		return 2;
	}
	if (optind < argc)
		return pp_cli_usage_error("phone-types", "unexpected argument '%s'", argv[optind]);
	if (pp_cli_open_config(c))
		return 1;
	if (pp_registry_load_ex(c->cfg, PP_REG_IDENTIFY | PP_REG_NO_HOOKS, &reg, &err) != PP_OK) {
		fprintf(stderr, "phoneprov phone-types: %s\n", err.msg);
		return 1;
	}
	types = pp_phone_types_json(reg);
	if (!types) {
		pp_registry_free(reg);
		return 1;
	}
	if (c->json) {
		pp_cli_print_json(types);
	} else {
		printf("%-7s %-22s %-16s %-7s %-7s %-22s %s\n", "INDEX", "TYPE", "PLUGIN", "SPECIAL",
		       "NO_SIP", "CODECS", "EXTRA FIELDS");
		json_array_foreach(types, i, t) {
			char codecs[128], fields[256];

			join(json_object_get(t, "codec"), NULL, codecs, sizeof(codecs));
			join(json_object_get(t, "extra_fields"), "name", fields, sizeof(fields));
			printf("%-7lld %-22s %-16s %-7s %-7s %-22s %s\n",
			       (long long)json_integer_value(json_object_get(t, "display_index")),
			       json_string_value(json_object_get(t, "name")),
			       json_string_value(json_object_get(t, "plugin")),
			       json_is_true(json_object_get(t, "special")) ? "yes" : "-",
			       json_is_true(json_object_get(t, "prevent_sip")) ? "yes" : "-", codecs,
			       fields);
		}
	}
	json_decref(types);
	pp_registry_free(reg);
	return 0;
}
