/* Engine unit tests: normalisation, extractor rules, registry loading and
 * validation errors (exact FILE:LINE:COL), association scores and ties,
 * path patterns and rendering. Uses the test plugins in fixtures/. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/config/config.h"
#include "daemon/plugin/plugin_int.h"
#include "daemon/plugin/render.h"

static char fixtures[4096];

static struct pp_config *cfg_for(const char *dir)
{
	struct pp_config *c = pp_config_defaults(dir);

	free(c->plugins.dir);
	c->plugins.dir = strdup(dir);
	return c;
}

/* ---- normalisation ------------------------------------------------------ */

static void test_version_normalize(void **st)
{
	static const char *const cases[][2] = {
		{ "1_4_0_0", "1.4.0.0" }, { " v2.0.1 ", "2.0.1" }, { "66.86.0.15", "66.86.0.15" },
		{ "1-2-3", "1.2.3" }, { "abc_def", "abc_def" }, { "V10_1_3", "10.1.3" },
		{ "4.1.2a_beta", "4.1.2a_beta" },
	};
	(void)st;
	for (size_t i = 0; i < PP_ARRAY_LEN(cases); i++) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%s", cases[i][0]);
		pp_version_normalize(buf);
		assert_string_equal(buf, cases[i][1]);
	}
}

static void test_mac_forms(void **st)
{
	static const char *const forms[] = { "000FD3054848", "00:0f:d3:05:48:48",
					     "00-0F-D3-05-48-48", "000f.d305.4848",
					     " 000fd3054848 " };
	static const char *const bad[] = { "000FD305484", "00:0f:d3:05:48:4g", "zz", "00:0f-d3:05:48:48",
					   "000FD30548481" };
	(void)st;
	for (size_t i = 0; i < PP_ARRAY_LEN(forms); i++) {
		struct pp_devinfo di;

		pp_devinfo_init(&di);
		assert_int_equal(pp_devinfo_offer(&di, PP_F_MAC, forms[i], strlen(forms[i]), 0, NULL), 1);
		assert_string_equal(di.f[PP_F_MAC], "00:0f:d3:05:48:48");
	}
	for (size_t i = 0; i < PP_ARRAY_LEN(bad); i++) {
		struct pp_devinfo di;

		pp_devinfo_init(&di);
		assert_int_equal(pp_devinfo_offer(&di, PP_F_MAC, bad[i], strlen(bad[i]), 0, NULL), 0);
		assert_string_equal(di.f[PP_F_MAC], "");
	}
}

/* ---- rules -------------------------------------------------------------- */

static void test_rule_groups_set_and_merge(void **st)
{
	const char *set[PP_F_N] = { [PP_F_VENDOR] = "Acme" };
	const char *set2[PP_F_N] = { [PP_F_VENDOR] = "Other", [PP_F_MODEL] = "X1" };
	struct pp_ex_rule *r, *r2;
	struct pp_ex_input in;
	struct pp_devinfo di;
	char msg[256];
	size_t off;
	const char *ua = "ACME A100 2_0_1 mac=00-0F-D3-05-48-48";
	(void)st;

	assert_int_equal(pp_ex_rule_new(PP_SRC_HTTP_UA, "(?<model>x", 10, false, 0, set, &r, &off,
					msg, sizeof(msg)),
			 PP_EINVAL);
	assert_int_equal(off, 10);
	assert_string_equal(msg, "missing closing parenthesis");
	assert_int_equal(pp_ex_rule_new(PP_SRC_HTTP_UA,
					"^ACME (?<model>\\w+) (?<version>[\\d_]+) mac=(?<mac>\\S+)",
					strlen("^ACME (?<model>\\w+) (?<version>[\\d_]+) mac=(?<mac>\\S+)"),
					false, 0, set, &r, &off, msg, sizeof(msg)),
			 PP_OK);
	assert_int_equal(pp_ex_rule_new(PP_SRC_HTTP_UA, "^(?<mac>\\S+)", 12, false, 0, set2, &r2,
					&off, msg, sizeof(msg)),
			 PP_OK);
	memset(&in, 0, sizeof(in));
	in.s[PP_SRC_HTTP_UA] = ua;
	in.len[PP_SRC_HTTP_UA] = strlen(ua);
	pp_devinfo_init(&di);
	assert_int_equal(pp_ex_rule_apply(r, &in, &di, "p1"), 1);
	assert_string_equal(di.f[PP_F_VENDOR], "Acme");
	assert_string_equal(di.f[PP_F_MODEL], "A100");
	assert_string_equal(di.f[PP_F_VERSION], "2.0.1");
	assert_string_equal(di.f[PP_F_MAC], "00:0f:d3:05:48:48");
	assert_string_equal(di.plugin[PP_F_MODEL], "p1");
	/* a second rule naming another vendor changes nothing (first wins, vendor guard) */
	assert_int_equal(pp_ex_rule_apply(r2, &in, &di, "p2"), 1);
	assert_string_equal(di.f[PP_F_MODEL], "A100");
	assert_string_equal(di.f[PP_F_VENDOR], "Acme");
	/* on fresh info, the other vendor's constants apply */
	pp_devinfo_init(&di);
	assert_int_equal(pp_ex_rule_apply(r2, &in, &di, "p2"), 1);
	assert_string_equal(di.f[PP_F_MODEL], "X1");
	assert_string_equal(di.f[PP_F_MAC], ""); /* "ACME" is no MAC */
	/* absent source: no match */
	memset(&in, 0, sizeof(in));
	assert_int_equal(pp_ex_rule_apply(r, &in, &di, "p1"), 0);
	pp_ex_rule_free(r);
	pp_ex_rule_free(r2);
}

/* ---- registry ----------------------------------------------------------- */

static struct pp_registry *load_fixtures(void)
{
	struct pp_config *c = cfg_for(fixtures);
	struct pp_registry *r = NULL;
	struct pp_err err = { 0 };

	json_object_set_new(c->plugins.settings, "acme", json_pack("{s:s}", "site", "HQ"));
	if (pp_registry_load(c, &r, &err) != PP_OK)
		fail_msg("load: %s", err.msg);
	pp_config_free(c);
	return r;
}

static void identify_ua(const struct pp_registry *r, const char *ua, struct pp_devinfo *di)
{
	struct pp_ex_input in;

	memset(&in, 0, sizeof(in));
	in.s[PP_SRC_HTTP_UA] = ua;
	in.len[PP_SRC_HTTP_UA] = strlen(ua);
	pp_identify(r, &in, di);
}

static void test_registry_load(void **st)
{
	struct pp_registry *r = load_fixtures();
	const struct pp_plugin *p;
	(void)st;

	assert_int_equal(pp_registry_count(r), 2);
	p = pp_registry_find(r, "acme");
	assert_non_null(p);
	assert_string_equal(p->vendor, "ACME");
	assert_string_equal(p->version, "1.2.0");
	/* dhcp: family settings are the defaults of every class */
	assert_int_equal(p->n_dhcp, 4);
	assert_string_equal(p->dhcp[0].vci_prefix, "acme-");
	assert_int_equal(p->dhcp[0].vci_len, 5);
	assert_false(p->dhcp[0].vci_hex);
	assert_null(p->dhcp[0].model);
	assert_string_equal(p->dhcp[0].boot_file, "acme/boot.cfg");
	assert_null(p->dhcp[0].boot_url);
	assert_non_null(p->dhcp_vendor);
	assert_string_equal(p->dhcp_vendor->space, "ACME");
	assert_int_equal(p->dhcp_vendor->n_opts, 2);
	assert_int_equal(p->dhcp_vendor->opts[1].code, 3);
	assert_null(p->dhcp_vendor->opts[1].value);
	assert_string_equal(p->dhcp[0].vendor_values[0], "http://{{http_host}}:{{http_port}}/acme");
	assert_null(p->dhcp[0].vendor_values[1]);
	/* a model class: the canonical name; its own vendor value */
	assert_string_equal(p->dhcp[1].model, "A100");
	assert_string_equal(p->dhcp[1].vendor_values[1], "false");
	/* option 60 as bytes (a NUL inside), a class's empty boot_file */
	assert_true(p->dhcp[2].vci_hex);
	assert_int_equal(p->dhcp[2].vci_len, 5);
	assert_memory_equal(p->dhcp[2].vci_prefix, "\x00\x00\xab\xcd\x00", 5);
	assert_null(p->dhcp[2].boot_file);
	/* MAC prefixes, lower case; the class's own URL */
	assert_null(p->dhcp[3].vci_prefix);
	assert_int_equal(p->dhcp[3].n_ouis, 2);
	assert_string_equal(p->dhcp[3].ouis[0], "00:04:f2");
	assert_string_equal(p->dhcp[3].boot_url, "http://{{tftp_host}}/acme/");
	assert_true(json_is_object(p->meta));
	assert_string_equal(json_string_value(json_object_get(p->meta, "name")), "acme");
	assert_non_null(pp_plugin_model(p, "acme-a100"));
	assert_non_null(pp_plugin_model(p, "A100X"));
	assert_null(pp_plugin_model(p, "A300"));
	assert_null(pp_registry_find(r, "nope"));
	pp_registry_free(r);
}

static void test_associate(void **st)
{
	struct pp_registry *r = load_fixtures();
	unsigned char sc[2];
	struct pp_devinfo di;
	int best;
	(void)st;

	/* acme index 0, zeta index 1 (alphabetical) */
	identify_ua(r, "ACME A100 2_0_1 mac=000FD3054848 sn=SN42", &di);
	assert_string_equal(di.f[PP_F_SERIAL], "SN42");
	best = pp_associate(r, &di, sc);
	assert_int_equal(sc[0], PP_EXACT);
	assert_int_equal(sc[1], PP_COMPLETE);
	assert_int_equal(best, 0);
	/* zeta targets 9.9: EXACT there */
	identify_ua(r, "ACME A100 9.9", &di);
	best = pp_associate(r, &di, sc);
	assert_int_equal(sc[0], PP_COMPLETE);
	assert_int_equal(sc[1], PP_EXACT);
	assert_int_equal(best, 1);
	/* COMPLETE both: higher plugin version wins, numerically (1.10.0 > 1.2.0) */
	identify_ua(r, "acme a100 1.0", &di); /* rule is case-sensitive: no match */
	assert_string_equal(di.f[PP_F_VENDOR], "");
	assert_int_equal(pp_associate(r, &di, sc), -1);
	assert_int_equal(sc[0], PP_IMPROBABLE);
	identify_ua(r, "ACME a100 1.0", &di); /* model names compare case-insensitively */
	best = pp_associate(r, &di, sc);
	assert_int_equal(sc[0], PP_COMPLETE);
	assert_int_equal(sc[1], PP_COMPLETE);
	assert_int_equal(best, 1);
	/* vendor only: PROBABLE both, zeta by version */
	identify_ua(r, "ACME Z999 1.0", &di);
	best = pp_associate(r, &di, sc);
	assert_int_equal(sc[0], PP_PROBABLE);
	assert_int_equal(sc[1], PP_PROBABLE);
	assert_int_equal(best, 1);
	/* ...unless the phone asked for a file of acme: that breaks the tie first */
	assert_int_equal(pp_associate_pref(r, &di, sc, pp_registry_find(r, "acme")), 0);
	assert_int_equal(pp_associate_pref(r, &di, sc, pp_registry_find(r, "zeta")), 1);
	/* A200 exists only in acme */
	identify_ua(r, "ACME A200 3.1.4.0", &di);
	best = pp_associate(r, &di, sc);
	assert_int_equal(sc[0], PP_EXACT);
	assert_int_equal(sc[1], PP_PROBABLE);
	assert_int_equal(best, 0);
	assert_int_equal(pp_version_cmp("1.10.0", "1.2.0"), 1);
	assert_int_equal(pp_version_cmp("1.2", "1.2.0"), 0);
	assert_int_equal(pp_version_cmp("0.9", "1"), -1);
	pp_registry_free(r);
}

static void test_identify_sources(void **st)
{
	struct pp_registry *r = load_fixtures();
	struct pp_ex_input in;
	struct pp_devinfo di;
	const char *vci = "ACME-A200-3_1_4_0", *tf = "acme/0004f2aabbcc.cfg", *ua = "ACME A100 2.0.1";
	(void)st;

	memset(&in, 0, sizeof(in));
	in.s[PP_SRC_DHCP_VCI] = vci;
	in.len[PP_SRC_DHCP_VCI] = strlen(vci);
	in.s[PP_SRC_TFTP_FILE] = tf;
	in.len[PP_SRC_TFTP_FILE] = strlen(tf);
	in.s[PP_SRC_HTTP_UA] = ua;
	in.len[PP_SRC_HTTP_UA] = strlen(ua);
	pp_identify(r, &in, &di);
	/* dhcp.vendor_class outranks http.user_agent */
	assert_string_equal(di.f[PP_F_MODEL], "A200");
	assert_string_equal(di.f[PP_F_VERSION], "3.1.4.0");
	assert_int_equal(di.src[PP_F_MODEL], PP_SRC_DHCP_VCI);
	assert_string_equal(di.f[PP_F_MAC], "00:04:f2:aa:bb:cc");
	assert_int_equal(di.src[PP_F_MAC], PP_SRC_TFTP_FILE);
	/* MAC from a file-name pattern when no rule gives one */
	memset(&in, 0, sizeof(in));
	tf = "acme/0004F2AABBCC-dir.xml";
	in.s[PP_SRC_HTTP_PATH] = tf;
	in.len[PP_SRC_HTTP_PATH] = strlen(tf);
	pp_identify(r, &in, &di);
	assert_string_equal(di.f[PP_F_MAC], "00:04:f2:aa:bb:cc");
	assert_string_equal(di.f[PP_F_VENDOR], "");
	pp_registry_free(r);
}

static void test_paths_and_render(void **st)
{
	struct pp_registry *r = load_fixtures();
	const struct pp_plugin *p = pp_registry_find(r, "acme"), *fp = NULL;
	const struct pp_file_spec *fs;
	struct pp_rendered out;
	struct pp_devinfo di;
	struct pp_err err = { 0 };
	char mac[18];
	json_t *conf;
	(void)st;

	fs = pp_registry_match_path(r, "acme/0004f2aabbcc.cfg", &fp, mac);
	assert_non_null(fs);
	assert_ptr_equal(fp, p);
	assert_true(fs->sensitive);
	assert_true(fs->trigger);
	assert_string_equal(mac, "00:04:f2:aa:bb:cc");
	assert_null(pp_registry_match_path(r, "acme/0004f2aabbc.cfg", &fp, mac));
	assert_null(pp_registry_match_path(r, "other/0004f2aabbcc.cfg", &fp, mac));
	/* an all-zero or broadcast MAC in the name: no device's file */
	assert_null(pp_registry_match_path(r, "acme/000000000000.cfg", &fp, mac));
	assert_null(pp_registry_match_path(r, "acme/FFFFFFFFFFFF-dir.xml", &fp, mac));
	{
		struct pp_ex_input in;
		const char *tf = "acme/000000000000.cfg";

		memset(&in, 0, sizeof(in));
		in.s[PP_SRC_TFTP_FILE] = tf;
		in.len[PP_SRC_TFTP_FILE] = strlen(tf);
		pp_identify(r, &in, &di);
		assert_string_equal(di.f[PP_F_VENDOR], "ACME"); /* the rule matched... */
		assert_string_equal(di.f[PP_F_MAC], "");        /* ...but names no device */
	}
	fs = pp_registry_common(r, "acme/common.cfg", &fp);
	assert_non_null(fs);
	assert_string_equal((const char *)fs->common_data, "# ACME common\nsite=HQ\n");

	identify_ua(r, "ACME A100 2.0.1 mac=0004f2aabbcc", &di);
	conf = json_loads("{\"sip_lines\":[{\"line\":1,\"username\":\"alice\",\"password\":\"s&cret\","
			  "\"display_name\":\"Alice <A>\",\"transport\":\"tls\"}]}", 0, NULL);
	assert_int_equal(pp_render_device(p, &di, "192.0.2.10", conf, &out, &err), PP_OK);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.f[0].path, "acme/0004f2aabbcc.cfg");
	assert_string_equal(out.f[0].tpl, "phone.cfg.mustache");
	assert_string_equal((const char *)out.f[0].data,
			    "# ACME A100 00:04:f2:aa:bb:cc (A100, 2 lines)\n"
			    "site=HQ\n"
			    "ntp=192.0.2.123\n"
			    "locale=en_US\n"
			    "line1.user=alice\n"
			    "line1.password=s&cret\n"
			    "line1.transport=TLS\n");
	assert_true(out.f[0].trigger);
	assert_string_equal(out.f[1].path, "acme/0004F2AABBCC-dir.xml");
	/* .xml files escape by default */
	assert_string_equal((const char *)out.f[1].data,
			    "<directory owner=\"0004f2aabbcc\"><entry>Alice &lt;A&gt;</entry></directory>\n");
	pp_rendered_free(&out);
	/* model_templates pick the A200 template */
	identify_ua(r, "ACME A200 3.1.4.0 mac=0004f2aabbcc", &di);
	assert_int_equal(pp_render_device(p, &di, "", NULL, &out, &err), PP_OK);
	assert_string_equal(out.f[0].tpl, "conference.cfg.mustache");
	assert_string_equal((const char *)out.f[0].data, "# ACME conference 0004F2AABBCC\nsite=HQ\n");
	pp_rendered_free(&out);
	json_decref(conf);
	pp_registry_free(r);
}

/* ---- validation errors -------------------------------------------------- */

static char tmpdir[256];

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static void write_file(const char *rel, const char *text)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

#define HEAD "name: bad\nversion: \"1.0\"\ndescription: d\nvendor: V\n"
#define TPL "files:\n  - { path: \"{{mac}}.cfg\", template: t.mustache }\n"

static const struct {
	const char *yml;
	const char *err; /* after "<dir>/bad/plugin.yml:" */
} bad_cases[] = {
	{ HEAD "foo: 1\n", "5:1: unknown key 'foo' in plugin.yml" },
	{ "name: other\nversion: \"1\"\ndescription: d\nvendor: V\n",
	  "1:7: name 'other' must equal the folder name 'bad'" },
	{ "name: bad\nversion: \"1.x\"\ndescription: d\nvendor: V\n",
	  "2:10: version '1.x' must be dotted numbers, e.g. \"1.0.0\"" },
	{ "name: bad\nversion: \"1\"\ndescription: d\n",
	  "1:1: plugin.yml: missing required key 'vendor'" },
	{ HEAD "extract:\n  - { from: http.path, regex: 'ab(c', set: { vendor: V } }\n",
	  "6:36: regex: missing closing parenthesis" },
	{ HEAD "extract:\n  - { from: http.cookie, regex: 'x', set: { vendor: V } }\n",
	  "6:13: from: unknown source 'http.cookie' (dhcp.vendor_class, dhcp.hostname, "
	  "dhcp.client_id, dhcp.user_class, http.user_agent, http.path, tftp.filename)" },
	{ HEAD "extract:\n  - { from: http.path, regex: '^x', set: { mac: V } }\n",
	  "6:44: set: unknown field 'mac' (vendor, model, version, serial)" },
	{ HEAD "extract:\n  - { from: http.path, regex: '^(x)' }\n",
	  "6:31: regex: the rule gives nothing: use a named group (?<vendor>…), (?<model>…), "
	  "(?<version>…), (?<mac>…), (?<serial>…) or `set:`" },
	{ HEAD "models:\n  M1:\n    type: toaster\n",
	  "7:11: type must be one of deskphone, conference, dect, ata, softphone, gateway, video; "
	  "not 'toaster'" },
	{ HEAD "models:\n  M1:\n    colour: red\n", "7:5: unknown key 'colour' in model" },
	{ HEAD "models:\n  M1:\n    lines: many\n", "" /* pp_y_int's message, checked by prefix */ },
	{ HEAD "files:\n  - { path: \"{{mac}}.cfg\", template: none.mustache }\n",
	  "6:38: template 'none.mustache' not found in templates/ (a *.mustache file)" },
	{ HEAD "files:\n  - { path: \"{{serial}}.cfg\", template: t.mustache }\n",
	  "6:14: path: unknown variable 'serial' (mac, MAC, mac_colon, model, vendor, version)" },
	{ HEAD "files:\n  - { path: \"x.cfg\", template: t.mustache }\n",
	  "6:13: path: a per-device file's path must contain {{mac}}, {{MAC}} or {{mac_colon}} "
	  "(or set scope: common)" },
	{ HEAD "files:\n  - { path: \"../{{mac}}.cfg\", template: t.mustache }\n",
	  "6:13: path: '../{{mac}}.cfg' is not a safe relative path (no '..', '.', backslash or "
	  "control characters)" },
	{ HEAD "files:\n  - { path: \"a{{mac}}.cfg\", template: t.mustache, trigger: true }\n"
	       "  - { path: \"b{{mac}}.cfg\", template: t.mustache, trigger: true }\n",
	  "7:60: trigger: only one file may be the trigger file" },
	{ HEAD "files:\n  - { path: \"{{mac}}.cfg\", template: t.mustache, "
	       "model_templates: { M9: t.mustache } }\n",
	  "6:69: model_templates: unknown model 'M9' (not in models:)" },
	{ HEAD "files:\n  - { path: \"{{mac}}.cfg\", template: p.mustache }\n",
	  "6:38: template 'p.mustache' uses partial 'missing' which is not in templates/" },
	{ HEAD "files:\n  - { path: \"c.cfg\", template: t.mustache, scope: common, trigger: true }\n",
	  "6:68: trigger: a common file cannot be the trigger file (it is not per device)" },
	{ HEAD "phone_types:\n  - { name: x, extra_fields: [ { name: v, pattern: \"a[\" } ] }\n",
	  "6:55: pattern: missing terminating ] for character class" },
	{ HEAD "dhcp:\n  - { name: d }\n",
	  "6:5: dhcp class 'd': give exactly one of vci_prefix, vci_prefix_hex (option 60) and "
	  "ouis (MAC prefixes)" },
	{ HEAD "dhcp:\n  - { name: d, vci_prefix: x, ouis: [\"00:0f:d3\"] }\n",
	  "6:5: dhcp class 'd': give exactly one of vci_prefix, vci_prefix_hex (option 60) and "
	  "ouis (MAC prefixes)" },
	{ HEAD "dhcp:\n  - { vci_prefix: x }\n", "6:5: dhcp class: missing required key 'name'" },
	{ HEAD "dhcp:\n  - { name: \"a b\", vci_prefix: x }\n",
	  "6:13: dhcp class: name 'a b' must be 1-64 letters, digits, '-', '_' or '.' (and not "
	  "start with phoneprov-)" },
	{ HEAD "dhcp:\n  - { name: d, vci_prefix: x }\n  - { name: d, vci_prefix: y }\n",
	  "7:13: dhcp class: 'd' is declared twice" },
	{ HEAD "dhcp:\n  - { name: d, vci_prefix: x, colour: red }\n",
	  "6:31: unknown key 'colour' in dhcp class" },
	{ HEAD "dhcp:\n  - { name: d, ouis: [\"00:0f\"] }\n",
	  "6:23: ouis: '00:0f' is not a MAC prefix of three bytes such as \"00:0f:d3\"" },
	{ HEAD "dhcp:\n  - { name: d, ouis: [\"00:0f:d3\", \"00:0F:D3\"] }\n",
	  "6:35: ouis: 00:0f:d3 is listed twice" },
	{ HEAD "dhcp:\n  - { name: d, ouis: [] }\n",
	  "6:22: ouis: give at least one MAC prefix (\"00:0f:d3\")" },
	{ HEAD "dhcp:\n  - { name: d, ouis: [\"00:0f:d3\"] }\n  - { name: e, ouis: [\"00:0f:d3\"] }\n",
	  "7:5: dhcp class 'e': OUI 00:0f:d3 is also in class 'd'" },
	{ HEAD "dhcp:\n  - { name: d, vci_prefix: x, model: M9 }\n",
	  "6:38: model: unknown model 'M9' (not in models:)" },
	{ HEAD "models:\n  M1: {}\ndhcp:\n  - { name: d, ouis: [\"00:0f:d3\"], model: M1 }\n",
	  "8:43: model: a class of MAC prefixes names no model (a prefix is the whole family's)" },
	{ HEAD "dhcp:\n  - { name: d, vci_prefix_hex: \"00363\" }\n",
	  "6:32: vci_prefix_hex: an even number of hex digits, 1 to 255 bytes (\"0000363d\")" },
	{ HEAD "dhcp:\n  - { name: d, vci_prefix_hex: \"00g6\" }\n",
	  "6:35: vci_prefix_hex: 'g' is not a hex digit" },
	{ HEAD "dhcp:\n  - { name: d, vci_prefix: \"a\\tb\" }\n",
	  "6:30: vci_prefix: only printable ASCII (use vci_prefix_hex for other bytes)" },
	{ HEAD "dhcp:\n  - { name: d, vci_prefix: x, boot_url: \"http://{{host}}/\" }\n",
	  "6:49: boot_url: unknown variable 'host' (http_host, http_port, tftp_host, tftp_port)" },
	{ HEAD "dhcp: yes\n",
	  "5:7: dhcp must be a list of classes or a map (boot_url, boot_file, vendor_options, "
	  "classes)" },
	{ HEAD "dhcp:\n  boot_url: \"\"\n", "6:3: dhcp: missing required key 'classes'" },
	{ HEAD "dhcp:\n  url: x\n  classes: []\n", "6:3: unknown key 'url' in dhcp" },
	{ HEAD "dhcp:\n  classes:\n    - { name: d, vci_prefix: x, vendor_values: { a: b } }\n",
	  "7:48: vendor_values: the family declares no vendor_options" },
	{ HEAD "dhcp:\n  vendor_options: { space: S, options: [ { name: o, code: 2, type: str } ] }\n"
	       "  classes: []\n",
	  "6:68: vendor option: type must be one of text, boolean, uint8, uint16, uint32, "
	  "ip-address; not 'str'" },
	{ HEAD "dhcp:\n  vendor_options: { space: S, options: [ { name: o, type: text } ] }\n"
	       "  classes: []\n",
	  "6:42: vendor option: missing required key 'code'" },
	{ HEAD "dhcp:\n  vendor_options: { space: S, options: [ { name: o, code: 300, type: text } ] }"
	       "\n  classes: []\n", "" /* pp_y_int's message, checked by prefix */ },
	{ HEAD "dhcp:\n  vendor_options: { space: S, options: [ { name: o, code: 3, type: boolean, "
	       "value: \"no\" } ] }\n  classes: []\n",
	  "6:84: value: 'no' is not a valid boolean" },
	{ HEAD "dhcp:\n  vendor_options: { space: \"a.b\", options: [] }\n  classes: []\n",
	  "6:28: vendor_options: space 'a.b' must be 1-32 letters, digits, '-' or '_'" },
	{ HEAD "dhcp:\n  vendor_options: { space: S, options: [ { name: o, code: 3, type: uint8 } ] }\n"
	       "  classes:\n    - { name: d, vci_prefix: x, vendor_values: { o: \"256\" } }\n",
	  "8:53: value: '256' is not a valid uint8" },
	{ HEAD "dhcp:\n  vendor_options: { space: S, options: [ { name: o, code: 3, type: uint8 } ] }\n"
	       "  classes:\n    - { name: d, vci_prefix: x, vendor_values: { p: \"1\" } }\n",
	  "8:50: vendor_values: 'p' is not an option of vendor_options (space S)" },
	{ HEAD TPL "files: []\n", "" /* duplicate key: yamltree's message */ },
};

static void test_validation_errors(void **st)
{
	char dir[512], prefix[600];
	int bad = 0;
	(void)st;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/pp-plugtest-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(dir, sizeof(dir), "%s/bad", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/bad/templates", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	write_file("bad/templates/t.mustache", "{{device.mac}}\n");
	write_file("bad/templates/p.mustache", "{{> missing}}\n");
	snprintf(prefix, sizeof(prefix), "%s/bad/plugin.yml:", tmpdir);
	for (size_t i = 0; i < PP_ARRAY_LEN(bad_cases); i++) {
		struct pp_config *c = cfg_for(tmpdir);
		struct pp_registry *r = NULL;
		struct pp_err err = { 0 };
		char want[1200];
		int rc;

		write_file("bad/plugin.yml", bad_cases[i].yml);
		rc = pp_registry_load(c, &r, &err);
		pp_config_free(c);
		if (rc == PP_OK)
			fail_msg("case %zu loaded", i);
		snprintf(want, sizeof(want), "%s%s", prefix, bad_cases[i].err);
		if (!bad_cases[i].err[0]) {
			if (strncmp(err.msg, prefix, strlen(prefix)) != 0)
				fail_msg("case %zu: '%s'", i, err.msg);
			continue;
		}
		if (strcmp(err.msg, want) != 0) {
			print_error("case %zu:\n got: %s\nwant: %s\n", i, err.msg, want);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
	/* plugins.enabled naming an unknown plugin, settings for an unknown one */
	{
		struct pp_config *c = cfg_for(fixtures);
		struct pp_registry *r = NULL;
		struct pp_err err = { 0 };

		c->plugins.all = false;
		c->plugins.enabled = calloc(2, sizeof(char *));
		c->plugins.enabled[0] = strdup("acme");
		c->plugins.enabled[1] = strdup("ghost");
		c->plugins.n_enabled = 2;
		assert_int_equal(pp_registry_load(c, &r, &err), PP_EINVAL);
		assert_non_null(strstr(err.msg, "plugins.enabled: unknown plugin 'ghost'"));
		c->plugins.n_enabled = 1;
		assert_int_equal(pp_registry_load(c, &r, &err), PP_OK);
		assert_int_equal(pp_registry_count(r), 1);
		pp_registry_free(r);
		json_object_set_new(c->plugins.settings, "ghost", json_object());
		assert_int_equal(pp_registry_load(c, &r, &err), PP_EINVAL);
		assert_non_null(strstr(err.msg, "plugins.settings: unknown plugin 'ghost'"));
		c->plugins.n_enabled = 2; /* so that pp_config_free frees both names */
		pp_config_free(c);
	}
	nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_version_normalize),
		cmocka_unit_test(test_mac_forms),
		cmocka_unit_test(test_rule_groups_set_and_merge),
		cmocka_unit_test(test_registry_load),
		cmocka_unit_test(test_associate),
		cmocka_unit_test(test_identify_sources),
		cmocka_unit_test(test_paths_and_render),
		cmocka_unit_test(test_validation_errors),
	};
	const char *src = getenv("PP_SRC");

	snprintf(fixtures, sizeof(fixtures), "%s/tests/e2e/plugins/fixtures", src ? src : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
