/* Unit tests of the mustache engine: error positions, escaping modes, strict
 * partials, deep nesting, number formatting and the phone-config use. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/mustache.h"

struct lib {
	const char *names[8];
	struct mst_tpl *tpl[8];
	int n;
};

static const struct mst_tpl *lib_find(void *ud, const char *name, size_t len)
{
	struct lib *l = ud;

	for (int i = 0; i < l->n; i++)
		if (strlen(l->names[i]) == len && memcmp(l->names[i], name, len) == 0)
			return l->tpl[i];
	return NULL;
}

static void lib_add(struct lib *l, const char *name, const char *src)
{
	struct mst_error err;

	assert_int_equal(mst_compile(name, src, strlen(src), &l->tpl[l->n], &err), PP_OK);
	l->names[l->n++] = name;
}

static void lib_free(struct lib *l)
{
	for (int i = 0; i < l->n; i++)
		mst_free(l->tpl[i]);
}

/* Render src against JSON text; returns malloc'd output or NULL (error in err). */
static char *render_ex(const char *src, const char *json, enum mst_escape esc, struct lib *l,
		       int strict, struct mst_error *err, int *rc_out)
{
	struct mst_tpl *t = NULL;
	struct pp_buf out = { 0 };
	json_error_t jerr;
	json_t *data = json ? json_loads(json, JSON_DECODE_ANY, &jerr) : NULL;
	int rc;

	if (json)
		assert_non_null(data);
	rc = mst_compile("t.mustache", src, strlen(src), &t, err);
	if (rc == PP_OK)
		rc = mst_render(t, data, esc, l ? lib_find : NULL, l, strict, &out, err);
	mst_free(t);
	json_decref(data);
	if (rc_out)
		*rc_out = rc;
	if (rc != PP_OK) {
		pp_buf_free(&out);
		return NULL;
	}
	return pp_buf_steal(&out, NULL);
}

static void expect(const char *src, const char *json, const char *want)
{
	struct mst_error err = { "" };
	char *got = render_ex(src, json, MST_ESCAPE_HTML, NULL, 0, &err, NULL);

	if (!got)
		fail_msg("render failed: %s", err.msg);
	assert_string_equal(got, want);
	free(got);
}

static void expect_compile_error(const char *src, const char *msg)
{
	struct mst_tpl *t = NULL;
	struct mst_error err = { "" };

	assert_int_not_equal(mst_compile("t.mustache", src, strlen(src), &t, &err), PP_OK);
	assert_null(t);
	assert_string_equal(err.msg, msg);
}

static void t_error_positions(void **state)
{
	(void)state;
	expect_compile_error("ab\n  {{#list}}x", "t.mustache:2:3: unclosed section 'list'");
	expect_compile_error("{{#a}}\n{{^b}}\n{{/a}}",
			     "t.mustache:3:1: closing tag 'a' does not match inverted section "
			     "'b' opened at 2:1");
	expect_compile_error("x {{/a}}", "t.mustache:1:3: closing tag 'a' without open section");
	expect_compile_error("one\ntwo {{=<% %>}}",
			     "t.mustache:2:5: bad delimiter tag: missing '=}}'");
	expect_compile_error("{{=<%=}}",
			     "t.mustache:1:1: bad delimiter tag: expected two delimiters "
			     "separated by whitespace");
	expect_compile_error("{{= a= b =}}",
			     "t.mustache:1:1: bad delimiter tag: delimiters may not contain '='");
	expect_compile_error("a\nb\n   {{ }}", "t.mustache:3:4: empty tag");
	expect_compile_error("{{#}}{{/}}", "t.mustache:1:1: empty tag");
	expect_compile_error("{{%pragma}}", "t.mustache:1:1: unknown tag type '%'");
	expect_compile_error("{{*dyn}}", "t.mustache:1:1: dynamic name '*dyn' is only allowed in "
			     "a partial ({{>*name}}) or parent ({{<*name}}) tag");
	expect_compile_error("{{a b}}",
			     "t.mustache:1:1: invalid tag name 'a b': contains whitespace");
	expect_compile_error("x\n{{a..b}}", "t.mustache:2:1: invalid dotted name 'a..b'");
	expect_compile_error("hello {{name", "t.mustache:1:7: unclosed tag: missing '}}'");
	expect_compile_error("{{{raw}}", "t.mustache:1:1: unclosed tag: missing '}}}'");
	expect_compile_error("{{<base}}{{$b}}x{{/base}}",
			     "t.mustache:1:17: closing tag 'base' does not match block 'b' "
			     "opened at 1:10");
	/* positions count lines inside multi-line comments and after delimiter changes */
	expect_compile_error("{{!\n\n}}{{=[ ]=}}\n  [#x]", "t.mustache:4:3: unclosed section 'x'");
}

static void t_escaping(void **state)
{
	struct mst_error err;
	const char *json = "{\"v\": \"<a href='x'>&\\\"</a>\"}";
	char *got;

	(void)state;
	got = render_ex("{{v}}|{{{v}}}|{{&v}}", json, MST_ESCAPE_HTML, NULL, 0, &err, NULL);
	assert_string_equal(got,
			    "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;|<a href='x'>&\"</a>|"
			    "<a href='x'>&\"</a>");
	free(got);
	got = render_ex("{{v}}|{{{v}}}", json, MST_ESCAPE_NONE, NULL, 0, &err, NULL);
	assert_string_equal(got, "<a href='x'>&\"</a>|<a href='x'>&\"</a>");
	free(got);
	/* a value containing mustache syntax is data, never re-parsed */
	expect("{{t}}", "{\"t\": \"{{x}}\", \"x\": 1}", "{{x}}");
}

static void t_values(void **state)
{
	(void)state;
	expect("{{i}} {{n}} {{r}} {{h}} {{s}} {{big}}",
	       "{\"i\": 85, \"n\": -7, \"r\": 1.21, \"h\": 1.5, \"s\": 0.1, "
	       "\"big\": 9007199254740993}",
	       "85 -7 1.21 1.5 0.1 9007199254740993");
	expect("[{{t}}|{{f}}|{{z}}|{{o}}|{{a}}]",
	       "{\"t\": true, \"f\": false, \"z\": null, \"o\": {\"k\": 1}, \"a\": [1]}",
	       "[true|false|||]");
	/* null and missing names render as nothing */
	expect("I ({{cannot}}) ({{{cannot}}}) ({{&cannot}})", "{\"cannot\": null}",
	       "I () () ()");
	/* dotted names are split: a key that contains a dot is never matched */
	expect("{{a.b}}", "{\"a.b\": \"c\"}", "");
	expect("{{a.b}}", "{\"a.b\": \"c\", \"a\": {\"b\": \"d\"}}", "d");
	/* a scalar root is the implicit iterator */
	expect("Hello, {{.}}!", "\"world\"", "Hello, world!");
	expect("{{.}} mph", "85", "85 mph");
	expect("{{#.}}({{.}}){{/.}}", "[1, \"a\", 2.5]", "(1)(a)(2.5)");
}

static void t_truthiness(void **state)
{
	(void)state;
	expect("{{#s}}S{{/s}}{{#e}}E{{/e}}{{^e}}!e{{/e}}", "{\"s\": \"x\", \"e\": \"\"}", "S!e");
	expect("{{#n}}N{{/n}}{{#z}}Z{{/z}}{{^z}}!z{{/z}}", "{\"n\": 2, \"z\": 0}", "N!z");
	expect("{{#o}}[{{k}}]{{/o}}{{#eo}}EO{{/eo}}", "{\"o\": {\"k\": 1}, \"eo\": {}}", "[1]EO");
	expect("{{#l}}{{.}},{{/l}}{{^el}}none{{/el}}", "{\"l\": [1, 2], \"el\": []}", "1,2,none");
	/* a scalar section value is pushed: {{.}} is the value itself */
	expect("{{#name}}<{{.}}>{{/name}}", "{\"name\": \"<joe>\"}", "<&lt;joe&gt;>");
}

static void t_partials_strict(void **state)
{
	struct lib l = { .n = 0 };
	struct mst_error err = { "" };
	int rc;
	char *got;

	(void)state;
	lib_add(&l, "line", "{{label}}={{value}}\n");
	got = render_ex("a\n  {{>line}}\n{{>missing}}z", "{\"label\": \"k\", \"value\": 1}",
			MST_ESCAPE_NONE, &l, 0, &err, &rc);
	assert_string_equal(got, "a\n  k=1\nz");
	free(got);
	got = render_ex("a\n\n   {{>missing}}\n", "{}", MST_ESCAPE_NONE, &l, 1, &err, &rc);
	assert_null(got);
	assert_int_equal(rc, PP_EINVAL);
	assert_string_equal(err.msg, "t.mustache:3:4: partial 'missing' not found");
	got = render_ex("{{<base}}{{/base}}", "{}", MST_ESCAPE_NONE, &l, 1, &err, &rc);
	assert_null(got);
	assert_string_equal(err.msg, "t.mustache:1:1: parent 'base' not found");
	/* without a lookup function at all, strict still reports */
	got = render_ex("{{>line}}", "{}", MST_ESCAPE_NONE, NULL, 1, &err, &rc);
	assert_null(got);
	assert_string_equal(err.msg, "t.mustache:1:1: partial 'line' not found");
	lib_free(&l);
}

static void t_recursion_limit(void **state)
{
	struct lib l = { .n = 0 };
	struct mst_error err = { "" };
	int rc;
	char *got;

	(void)state;
	lib_add(&l, "loop", "x{{>loop}}");
	got = render_ex("{{>loop}}", "{}", MST_ESCAPE_NONE, &l, 0, &err, &rc);
	assert_null(got);
	assert_int_equal(rc, PP_EINVAL);
	if (!strstr(err.msg, "loop:1:2: nesting deeper than"))
		fail_msg("unexpected error: %s", err.msg);
	lib_free(&l);
}

static void t_deep_nesting(void **state)
{
	struct pp_buf src = { 0 }, want = { 0 };
	struct mst_error err = { "" };
	char *got;
	int rc;

	(void)state;
	/* 500 nested sections over nested objects: renders every level */
	for (int i = 0; i < 500; i++)
		pp_buf_printf(&src, "{{#n}}%d", i % 10);
	pp_buf_puts(&src, "{{v}}");
	for (int i = 0; i < 500; i++)
		pp_buf_puts(&src, "{{/n}}");
	struct pp_buf json = { 0 };

	for (int i = 0; i < 500; i++)
		pp_buf_puts(&json, "{\"n\":");
	pp_buf_puts(&json, "{\"v\":\"end\"}");
	for (int i = 0; i < 500; i++)
		pp_buf_puts(&json, "}");
	for (int i = 0; i < 500; i++)
		pp_buf_printf(&want, "%d", i % 10);
	pp_buf_puts(&want, "end");
	got = render_ex(src.data, json.data, MST_ESCAPE_NONE, NULL, 0, &err, &rc);
	if (!got)
		fail_msg("deep render failed: %s", err.msg);
	assert_string_equal(got, want.data);
	free(got);
	/* beyond the nesting limit: a clear compile error, no crash */
	pp_buf_reset(&src);
	for (int i = 0; i < 2000; i++)
		pp_buf_puts(&src, "{{#n}}");
	got = render_ex(src.data, "{}", MST_ESCAPE_NONE, NULL, 0, &err, &rc);
	assert_null(got);
	assert_non_null(strstr(err.msg, "t.mustache:1:3073: sections nested deeper than"));
	pp_buf_free(&src);
	pp_buf_free(&want);
	pp_buf_free(&json);
}

static const char *phone_json =
	"{\"mac\": \"00:15:65:aa:bb:cc\", \"sip_lines\": ["
	"{\"index\": 1, \"user\": \"1001\", \"display\": \"Alice & Bob\", \"server\": \"pbx\"},"
	"{\"index\": 2, \"user\": \"1002\", \"display\": \"Front <desk>\", \"server\": \"pbx\","
	" \"backup\": \"pbx2\"}],"
	"\"funckeys\": [{\"n\": 1, \"type\": 16, \"value\": \"2001\", \"label\": \"Boss\"},"
	"{\"n\": 2, \"type\": 13, \"value\": \"*97\"}],"
	"\"server\": \"default\", \"ntp\": {\"server\": \"pool.ntp.org\", \"tz\": -5}}";

static void t_phone_config(void **state)
{
	struct mst_error err = { "" };
	char *got;
	const char *tpl =
		"#!version:1.0.0.1\n"
		"{{! one block per line; standalone tags leave no blank lines }}\n"
		"{{#sip_lines}}\n"
		"account.{{index}}.enable = 1\n"
		"account.{{index}}.label = {{display}}\n"
		"account.{{index}}.sip_server.1.address = {{server}}\n"
		"  {{#backup}}\n"
		"account.{{index}}.sip_server.2.address = {{backup}}\n"
		"  {{/backup}}\n"
		"{{/sip_lines}}\n"
		"{{#funckeys}}\n"
		"linekey.{{n}}.type = {{type}}\n"
		"linekey.{{n}}.value = {{value}}\n"
		"linekey.{{n}}.label = {{label}}{{^label}}Key {{n}}{{/label}}\n"
		"{{/funckeys}}\n"
		"local_time.ntp_server1 = {{ntp.server}}\n"
		"local_time.time_zone = {{ntp.tz}}\n";
	const char *want =
		"#!version:1.0.0.1\n"
		"account.1.enable = 1\n"
		"account.1.label = Alice & Bob\n"
		"account.1.sip_server.1.address = pbx\n"
		"account.2.enable = 1\n"
		"account.2.label = Front <desk>\n"
		"account.2.sip_server.1.address = pbx\n"
		"account.2.sip_server.2.address = pbx2\n"
		"linekey.1.type = 16\n"
		"linekey.1.value = 2001\n"
		"linekey.1.label = Boss\n"
		"linekey.2.type = 13\n"
		"linekey.2.value = *97\n"
		"linekey.2.label = Key 2\n"
		"local_time.ntp_server1 = pool.ntp.org\n"
		"local_time.time_zone = -5\n";

	(void)state;
	got = render_ex(tpl, phone_json, MST_ESCAPE_NONE, NULL, 0, &err, NULL);
	if (!got)
		fail_msg("render failed: %s", err.msg);
	assert_string_equal(got, want);
	free(got);
	/* same data, XML config with HTML escaping */
	got = render_ex("{{#sip_lines}}<line n=\"{{index}}\" label=\"{{display}}\"/>\n"
			"{{/sip_lines}}", phone_json, MST_ESCAPE_HTML, NULL, 0, &err, NULL);
	assert_string_equal(got, "<line n=\"1\" label=\"Alice &amp; Bob\"/>\n"
				 "<line n=\"2\" label=\"Front &lt;desk&gt;\"/>\n");
	free(got);
}

static void t_vendor_base_inheritance(void **state)
{
	struct lib l = { .n = 0 };
	struct mst_error err = { "" };
	char *got;

	(void)state;
	lib_add(&l, "base",
		"[network]\n"
		"{{$network}}\n"
		"dhcp = 1\n"
		"{{/network}}\n"
		"[keys]\n"
		"  {{$keys}}\n"
		"  none\n"
		"  {{/keys}}\n"
		"[end]\n");
	lib_add(&l, "key", "key{{n}}={{value}}\n");
	got = render_ex("{{<base}}\n"
			"{{$keys}}\n"
			"{{#funckeys}}\n"
			"{{>key}}\n"
			"{{/funckeys}}\n"
			"{{/keys}}\n"
			"{{/base}}\n",
			phone_json, MST_ESCAPE_NONE, &l, 1, &err, NULL);
	if (!got)
		fail_msg("render failed: %s", err.msg);
	assert_string_equal(got, "[network]\ndhcp = 1\n[keys]\n  key1=2001\n  key2=*97\n[end]\n");
	free(got);
	lib_free(&l);
}

static void collect(void *arg, const char *name, size_t len)
{
	struct pp_buf *b = arg;

	pp_buf_printf(b, "%.*s;", (int)len, name);
}

static void t_refs_and_misc(void **state)
{
	struct mst_tpl *t = NULL;
	struct mst_error err;
	struct pp_buf b = { 0 };
	const char *src = "{{>a}}{{#x}}{{>b}}{{/x}}{{<a}}{{$q}}{{>c}}{{/q}}{{/a}}{{>b}}";

	(void)state;
	assert_int_equal(mst_compile("refs", src, strlen(src), &t, &err), PP_OK);
	assert_string_equal(mst_name(t), "refs");
	mst_each_ref(t, collect, &b);
	assert_string_equal(b.data, "a;b;c;");
	mst_free(t);
	pp_buf_free(&b);
	/* empty template and comment-only template render to "" */
	expect("", "{}", "");
	expect("{{! nothing }}\n", "{}", "");
	/* CRLF standalone lines and custom delimiters inside sections */
	expect("a\r\n{{#t}}\r\n{{=<< >>=}}\r\n<<v>>\r\n<</t>>\r\nz", "{\"t\": true, \"v\": 1}",
	       "a\r\n1\r\nz");
	/* text spans around comments are merged and kept */
	expect("a{{!c}}b{{!d}}c", "{}", "abc");
	/* NUL bytes in templates and data are passed through */
	{
		struct mst_tpl *tn = NULL;
		struct pp_buf out = { 0 };
		json_t *d = json_pack("{s:s%}", "v", "x\0y", (size_t)3);

		assert_int_equal(mst_compile("nul", "a\0{{v}}", 7, &tn, &err), PP_OK);
		assert_int_equal(mst_render(tn, d, MST_ESCAPE_HTML, NULL, NULL, 0, &out, &err),
				 PP_OK);
		assert_int_equal(out.len, 5);
		assert_memory_equal(out.data, "a\0x\0y", 5);
		mst_free(tn);
		json_decref(d);
		pp_buf_free(&out);
	}
	/* rendering appends to what the buffer already holds */
	{
		struct mst_tpl *ta = NULL;
		struct pp_buf out = { 0 };

		pp_buf_puts(&out, "head:");
		assert_int_equal(mst_compile("app", "{{.}}", 5, &ta, &err), PP_OK);
		json_t *d = json_string("v");

		assert_int_equal(mst_render(ta, d, MST_ESCAPE_HTML, NULL, NULL, 0, &out, &err),
				 PP_OK);
		assert_string_equal(out.data, "head:v");
		mst_free(ta);
		json_decref(d);
		pp_buf_free(&out);
	}
}

/* Dynamic names ({{>*name}}, {{<*name}}): the template to include is named
 * by a value of the device data (spec ~dynamic-names, mustache/spec 1.4.2). */

static char *render_lib(const char *src, const char *json, struct lib *l, int strict,
			struct mst_error *err)
{
	return render_ex(src, json, MST_ESCAPE_NONE, l, strict, err, NULL);
}

static void expect_lib(const char *src, const char *json, struct lib *l, int strict,
		       const char *want)
{
	struct mst_error err = { "" };
	char *got = render_lib(src, json, l, strict, &err);

	if (!got)
		fail_msg("render of '%s' failed: %s", src, err.msg);
	assert_string_equal(got, want);
	free(got);
}

static void expect_render_error(const char *src, const char *json, struct lib *l,
				const char *msg)
{
	struct mst_error err = { "" };
	int rc = PP_OK;
	char *got = render_ex(src, json, MST_ESCAPE_NONE, l, 1, &err, &rc);

	if (got)
		fail_msg("'%s' rendered '%s', expected error %s", src, got, msg);
	assert_int_equal(rc, PP_EINVAL);
	assert_string_equal(err.msg, msg);
}

static void t_dynamic_model_partial(void **state)
{
	struct lib l = { .n = 0 };
	/* one key layout per model; the model's file picks its own */
	const char *tpl = "[account]\n"
			  "user = {{user}}\n"
			  "[keys]\n"
			  "  {{>*keys_layout}}\n"
			  "[end]\n";

	(void)state;
	lib_add(&l, "keys-t46u", "{{#funckeys}}\nkey{{n}} = {{value}}\n{{/funckeys}}\n");
	lib_add(&l, "keys-t48u", "{{#funckeys}}\nlinekey.{{n}}.value = {{value}}\n"
		"{{/funckeys}}\n");
	expect_lib(tpl, "{\"user\": \"1001\", \"keys_layout\": \"keys-t46u\", \"funckeys\": "
		   "[{\"n\": 1, \"value\": \"2001\"}, {\"n\": 2, \"value\": \"*97\"}]}", &l, 1,
		   "[account]\nuser = 1001\n[keys]\n  key1 = 2001\n  key2 = *97\n[end]\n");
	expect_lib(tpl, "{\"user\": \"1002\", \"keys_layout\": \"keys-t48u\", \"funckeys\": "
		   "[{\"n\": 1, \"value\": \"2002\"}]}", &l, 1,
		   "[account]\nuser = 1002\n[keys]\n  linekey.1.value = 2002\n[end]\n");
	/* dotted name, resolved from inside a section through the context stack */
	expect_lib("{{#funckeys}}{{>*model.keys}}{{/funckeys}}",
		   "{\"model\": {\"keys\": \"one\"}, \"funckeys\": [{\"n\": 1}, {\"n\": 2}]}",
		   &l, 0, "");
	lib_add(&l, "one", "<{{n}}>");
	expect_lib("{{#funckeys}}{{>*model.keys}}{{/funckeys}}",
		   "{\"model\": {\"keys\": \"one\"}, \"funckeys\": [{\"n\": 1}, {\"n\": 2}]}",
		   &l, 1, "<1><2>");
	/* a list of partial names: the implicit iterator names each one */
	expect_lib("{{#parts}}{{>*.}}{{/parts}}|",
		   "{\"parts\": [\"one\", \"one\"], \"n\": 7}", &l, 1, "<7><7>|");
	/* padding around the '*' is ignored (spec "Padding Whitespace") */
	expect_lib("{{> * keys_layout }}", "{\"keys_layout\": \"one\", \"n\": 3}", &l, 1,
		   "<3>");
	/* a value holding template text is only a name, never compiled */
	expect_lib("[{{>*keys_layout}}]", "{\"keys_layout\": \"{{n}}\", \"n\": 3}", &l, 0,
		   "[]");
	lib_free(&l);
}

static void t_dynamic_missing(void **state)
{
	struct lib l = { .n = 0 };

	(void)state;
	lib_add(&l, "T46U", "keys\n");
	/* spec (normal mode): a failed resolution renders nothing, the
	 * standalone line included */
	expect_lib("a\n  {{>*model}}\nz", "{}", &l, 0, "a\nz");
	expect_lib("a\n  {{>*model}}\nz", "{\"model\": null}", &l, 0, "a\nz");
	expect_lib("a\n  {{>*model}}\nz", "{\"model\": \"T99\"}", &l, 0, "a\nz");
	expect_lib("{{>*model}}", NULL, &l, 0, "");
	/* strict mode (the daemon's): each cause is an error at the tag */
	expect_render_error("a\n  {{>*model}}\nz", "{}", &l,
			    "t.mustache:2:3: dynamic partial '*model': 'model' is missing from "
			    "the data");
	expect_render_error("{{>*hw.model}}", "{\"hw\": {\"model\": null}}", &l,
			    "t.mustache:1:1: dynamic partial '*hw.model': 'hw.model' is null, not "
			    "a template name");
	expect_render_error("x{{>*model}}", "{\"model\": \"T99\"}", &l,
			    "t.mustache:1:2: partial 'T99' not found (name from '*model')");
	expect_render_error("{{>*model}}", "{\"model\": \"\"}", &l,
			    "t.mustache:1:1: partial '' not found (name from '*model')");
	/* bytes from the data are quoted before they reach a message */
	expect_render_error("{{>*model}}", "{\"model\": \"../T\\n\\u0001\\\\x\"}", &l,
			    "t.mustache:1:1: partial '../T\\x0a\\x01\\x5cx' not found (name from "
			    "'*model')");
	/* an optional dynamic partial is guarded by a section */
	expect_lib("a\n{{#model}}\n{{>*model}}\n{{/model}}\nz", "{}", &l, 1, "a\nz");
	expect_lib("a\n{{#model}}\n{{>*model}}\n{{/model}}\nz", "{\"model\": \"T46U\"}", &l, 1,
		   "a\nkeys\nz");
	lib_free(&l);
}

static void t_dynamic_not_string(void **state)
{
	struct lib l = { .n = 0 };
	static const struct {
		const char *json, *what;
	} rows[] = {
		{ "{\"model\": 46}", "a number" },
		{ "{\"model\": 4.6}", "a number" },
		{ "{\"model\": true}", "a boolean" },
		{ "{\"model\": false}", "a boolean" },
		{ "{\"model\": [\"T46U\"]}", "a list" },
		{ "{\"model\": {\"name\": \"T46U\"}}", "a map" },
	};

	(void)state;
	/* "46" would name this partial if numbers were turned into text */
	lib_add(&l, "46", "forty-six");
	lib_add(&l, "true", "yes");
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char msg[200];

		expect_lib("[{{>*model}}]", rows[i].json, &l, 0, "[]");
		snprintf(msg, sizeof(msg), "t.mustache:1:2: dynamic partial '*model': 'model' is "
			 "%s, not a template name", rows[i].what);
		expect_render_error("[{{>*model}}]", rows[i].json, &l, msg);
	}
	/* a scalar root: {{>*.}} names the partial with the root string */
	expect_lib("{{>*.}}", "\"46\"", &l, 1, "forty-six");
	expect_lib("{{>*.}}", "46", &l, 0, "");
	lib_free(&l);
}

static void t_dynamic_recursion(void **state)
{
	struct lib l = { .n = 0 };
	struct mst_error err = { "" };
	int rc;
	char *got;

	(void)state;
	/* a tree walk that ends renders (the data decides the depth) */
	lib_add(&l, "node", "{{name}}({{#kids}}{{>*tpl}}{{/kids}})");
	expect_lib("{{>*tpl}}",
		   "{\"tpl\": \"node\", \"name\": \"a\", \"kids\": [{\"name\": \"b\", \"kids\": "
		   "[]}, {\"name\": \"c\", \"kids\": []}]}", &l, 1, "a(b()c())");
	/* a partial naming itself through the data never ends: the depth limit
	 * stops it with an error at the tag, in both modes */
	lib_add(&l, "loop", "x{{>*next}}");
	for (int strict = 0; strict <= 1; strict++) {
		got = render_ex("{{>*next}}", "{\"next\": \"loop\"}", MST_ESCAPE_NONE, &l, strict,
				&err, &rc);
		assert_null(got);
		assert_int_equal(rc, PP_EINVAL);
		assert_string_equal(err.msg,
				    "loop:1:2: nesting deeper than 1024 (recursive partial?)");
	}
	/* two partials naming each other through the data */
	lib_add(&l, "ping", "{{>*pong}}");
	lib_add(&l, "pong", "{{>*ping}}");
	got = render_ex("{{>*ping}}", "{\"ping\": \"ping\", \"pong\": \"pong\"}",
			MST_ESCAPE_NONE, &l, 1, &err, &rc);
	assert_null(got);
	assert_int_equal(rc, PP_EINVAL);
	assert_non_null(strstr(err.msg, ":1:1: nesting deeper than 1024 (recursive partial?)"));
	/* standalone and indented: the indentation cap (4 KiB) is reached first */
	lib_add(&l, "deep", "x\n        {{>*next}}\n");
	got = render_ex("{{>*next}}", "{\"next\": \"deep\"}", MST_ESCAPE_NONE, &l, 1, &err, &rc);
	assert_null(got);
	assert_int_equal(rc, PP_EINVAL);
	assert_string_equal(err.msg, "deep:2:9: indentation deeper than 4096 bytes");
	lib_free(&l);
}

static void t_dynamic_parent(void **state)
{
	struct lib l = { .n = 0 };

	(void)state;
	/* the vendor base is chosen by the data, the model overrides a block */
	lib_add(&l, "base-yealink", "#!version:1.0.0.1\n{{$keys}}\nno keys\n{{/keys}}\n");
	lib_add(&l, "base-snom", "<settings>\n  {{$keys}}\n  <none/>\n  {{/keys}}\n</settings>\n");
	const char *tpl = "{{<*base}}\n"
			  "{{$keys}}\n"
			  "key1 = {{k}}\n"
			  "{{/keys}}\n"
			  "{{/*base}}\n";

	expect_lib(tpl, "{\"base\": \"base-yealink\", \"k\": 5}", &l, 1,
		   "#!version:1.0.0.1\nkey1 = 5\n");
	expect_lib(tpl, "{\"base\": \"base-snom\", \"k\": 5}", &l, 1,
		   "<settings>\n  key1 = 5\n</settings>\n");
	/* padding, and the closing tag may be padded too */
	expect_lib("{{< * base }}{{/ * base }}", "{\"base\": \"base-yealink\"}", &l, 1,
		   "#!version:1.0.0.1\nno keys\n");
	expect_lib(tpl, "{\"k\": 5}", &l, 0, "");
	expect_render_error(tpl, "{\"base\": 3}", &l,
			    "t.mustache:1:1: dynamic parent '*base': 'base' is a number, not a "
			    "template name");
	expect_render_error(tpl, "{\"base\": \"base-cisco\"}", &l,
			    "t.mustache:1:1: parent 'base-cisco' not found (name from '*base')");
	lib_free(&l);
}

static void t_dynamic_compile_errors(void **state)
{
	struct mst_tpl *t = NULL;
	struct mst_error err;
	struct pp_buf b = { 0 };
	const char *src = "{{>a}}{{>*b}}{{<*c}}{{/*c}}{{>b}}{{<*a}}{{/*a}}{{>*.}}";

	(void)state;
	expect_compile_error("{{#*x}}{{/*x}}", "t.mustache:1:1: dynamic name '*x' is only allowed "
			     "in a partial ({{>*name}}) or parent ({{<*name}}) tag");
	expect_compile_error("{{$*x}}{{/x}}", "t.mustache:1:1: dynamic name '*x' is only allowed "
			     "in a partial ({{>*name}}) or parent ({{<*name}}) tag");
	expect_compile_error("x\n {{>*}}", "t.mustache:2:2: empty dynamic name after '*'");
	expect_compile_error("{{> *  }}", "t.mustache:1:1: empty dynamic name after '*'");
	expect_compile_error("{{>*a..b}}", "t.mustache:1:1: invalid dotted name '*a..b'");
	expect_compile_error("{{>*a.}}", "t.mustache:1:1: invalid dotted name '*a.'");
	expect_compile_error("{{>* a b}}",
			     "t.mustache:1:1: invalid tag name '*a b': contains whitespace");
	expect_compile_error("{{<*p}}{{/p}}", "t.mustache:1:8: closing tag 'p' does not match "
			     "parent '*p' opened at 1:1");
	expect_compile_error("{{<p}}{{/*p}}", "t.mustache:1:7: closing tag '*p' does not match "
			     "parent 'p' opened at 1:1");
	expect_compile_error("{{<*p}}", "t.mustache:1:1: unclosed parent '*p'");
	expect_compile_error("{{/*p}}", "t.mustache:1:1: closing tag '*p' without open section");
	/* spec: names are dereferenced once; "*x" is just a key of the data */
	{
		struct lib l = { .n = 0 };

		lib_add(&l, "y", "Y");
		lib_add(&l, "z", "Z");
		lib_add(&l, "*x", "literal");
		expect_lib("[{{>**x}}]", "{\"x\": \"y\", \"y\": \"z\"}", &l, 0, "[]");
		expect_lib("[{{>**x}}]", "{\"x\": \"y\", \"*x\": \"z\"}", &l, 0, "[Z]");
		lib_free(&l);
	}
	/* load-time reference checks see the static names only */
	assert_int_equal(mst_compile("refs", src, strlen(src), &t, &err), PP_OK);
	mst_each_ref(t, collect, &b);
	assert_string_equal(b.data, "a;b;");
	mst_free(t);
	pp_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_error_positions),
		cmocka_unit_test(t_escaping),
		cmocka_unit_test(t_values),
		cmocka_unit_test(t_truthiness),
		cmocka_unit_test(t_partials_strict),
		cmocka_unit_test(t_recursion_limit),
		cmocka_unit_test(t_deep_nesting),
		cmocka_unit_test(t_phone_config),
		cmocka_unit_test(t_vendor_base_inheritance),
		cmocka_unit_test(t_refs_and_misc),
		cmocka_unit_test(t_dynamic_model_partial),
		cmocka_unit_test(t_dynamic_missing),
		cmocka_unit_test(t_dynamic_not_string),
		cmocka_unit_test(t_dynamic_recursion),
		cmocka_unit_test(t_dynamic_parent),
		cmocka_unit_test(t_dynamic_compile_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
