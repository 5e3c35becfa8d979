/* Unit tests of the pure HTTP helpers (daemon/http/http_util.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/http/http_util.h"

static int dec(const char *in, char *out, size_t outsz)
{
	size_t n;
	const char *reason = NULL;
	int rc = pp_http_decode_path(in, strlen(in), out, outsz, &n, &reason);

	assert_non_null(reason == NULL && rc != 0 ? NULL : "ok");
	if (rc == 0)
		assert_int_equal(n, strlen(out));
	return rc;
}

static void test_decode_ok(void **state)
{
	char out[256];

	(void)state;
	assert_int_equal(dec("/a%20b.cfg", out, sizeof(out)), PP_DEC_OK);
	assert_string_equal(out, "/a b.cfg");
	assert_int_equal(dec("/Yealink/805EC0A1B2C3.cfg", out, sizeof(out)), PP_DEC_OK);
	assert_string_equal(out, "/Yealink/805EC0A1B2C3.cfg");
	/* decoded once only: %252e stays the literal %2e */
	assert_int_equal(dec("/%252e%252e/etc", out, sizeof(out)), PP_DEC_OK);
	assert_string_equal(out, "/%2e%2e/etc");
	/* %2e%2e decodes to .. which the pipeline refuses afterwards */
	assert_int_equal(dec("/%2e%2E/x", out, sizeof(out)), PP_DEC_OK);
	assert_string_equal(out, "/../x");
	assert_int_equal(dec("/caf%C3%A9.txt", out, sizeof(out)), PP_DEC_OK);
	assert_string_equal(out, "/caf\xc3\xa9.txt");
	assert_int_equal(dec("/a+b", out, sizeof(out)), PP_DEC_OK);
	assert_string_equal(out, "/a+b"); /* '+' is not a space in a path */
}

static void test_decode_refused(void **state)
{
	static const char *const bad[] = {
		"", "a.cfg", "x/../", "/a%", "/a%2", "/a%zz", "/a%g0", "/%00", "/a%00.cfg",
		"/..%2f..%2fetc", "/..%2F", "/..%5c..%5c", "/a\\b", "/%c0%ae%c0%ae/",
		"/%c0%af", "/%e0%80%ae", "/%ed%a0%80", "/%ff", "/%80", "/%f5%80%80%80",
		"/a%0d%0aX: y", "/a%7f", "/a\tb", "/%c3",
	};
	char out[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n;
		const char *reason = NULL;

		if (pp_http_decode_path(bad[i], strlen(bad[i]), out, sizeof(out), &n, &reason) ==
		    PP_DEC_OK)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(reason);
	}
	assert_int_equal(dec("/abcdefghij", out, 8), PP_DEC_TOO_LONG);
}

static void test_component(void **state)
{
	char out[64];
	size_t n;

	(void)state;
	assert_int_equal(pp_http_decode_component("a%2Fb+c", 7, true, out, sizeof(out), &n), 0);
	assert_string_equal(out, "a/b c");
	assert_int_equal(pp_http_decode_component("a%00", 4, true, out, sizeof(out), &n),
			 PP_DEC_BAD);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(pp_utf8_valid((const unsigned char *)"abc", 3));
	assert_true(pp_utf8_valid((const unsigned char *)"\xf0\x9f\x98\x80", 4));
	assert_false(pp_utf8_valid((const unsigned char *)"\xf0\x9f\x98", 3));
	assert_false(pp_utf8_valid((const unsigned char *)"\xc1\xbf", 2));
	assert_false(pp_utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4));
}

static void test_range(void **state)
{
	uint64_t s = 99, l = 99;

	(void)state;
	assert_int_equal(pp_http_parse_range("bytes=0-99", 1000, &s, &l), PP_RANGE_OK);
	assert_true(s == 0 && l == 100);
	assert_int_equal(pp_http_parse_range("bytes=500-", 1000, &s, &l), PP_RANGE_OK);
	assert_true(s == 500 && l == 500);
	assert_int_equal(pp_http_parse_range("bytes=-100", 1000, &s, &l), PP_RANGE_OK);
	assert_true(s == 900 && l == 100);
	assert_int_equal(pp_http_parse_range("bytes=-5000", 1000, &s, &l), PP_RANGE_OK);
	assert_true(s == 0 && l == 1000);
	assert_int_equal(pp_http_parse_range("bytes=900-5000", 1000, &s, &l), PP_RANGE_OK);
	assert_true(s == 900 && l == 100);
	assert_int_equal(pp_http_parse_range("bytes=999-999", 1000, &s, &l), PP_RANGE_OK);
	assert_true(s == 999 && l == 1);
	assert_int_equal(pp_http_parse_range("bytes=1000-", 1000, &s, &l),
			 PP_RANGE_UNSATISFIABLE);
	assert_int_equal(pp_http_parse_range("bytes=-0", 1000, &s, &l), PP_RANGE_UNSATISFIABLE);
	assert_int_equal(pp_http_parse_range("bytes=0-", 0, &s, &l), PP_RANGE_UNSATISFIABLE);
	assert_int_equal(pp_http_parse_range("bytes=5-3", 1000, &s, &l), PP_RANGE_NONE);
	assert_int_equal(pp_http_parse_range("bytes=0-1,5-6", 1000, &s, &l), PP_RANGE_NONE);
	assert_int_equal(pp_http_parse_range("items=0-1", 1000, &s, &l), PP_RANGE_NONE);
	assert_int_equal(pp_http_parse_range("bytes=a-b", 1000, &s, &l), PP_RANGE_NONE);
	assert_int_equal(pp_http_parse_range("bytes=99999999999999999999999-", 1000, &s, &l),
			 PP_RANGE_NONE);
}

static void test_date(void **state)
{
	int64_t t;
	char buf[32];

	(void)state;
	assert_int_equal(pp_http_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", &t), 0);
	assert_true(t == 784111777);
	assert_int_equal(pp_http_parse_date("Sunday, 06-Nov-94 08:49:37 GMT", &t), 0);
	assert_true(t == 784111777);
	assert_int_equal(pp_http_parse_date("Sun Nov  6 08:49:37 1994", &t), 0);
	assert_true(t == 784111777);
	assert_int_equal(pp_http_parse_date("yesterday", &t), -1);
	assert_int_equal(pp_http_parse_date("Sun, 06 Foo 1994 08:49:37 GMT", &t), -1);
	assert_int_equal(pp_http_parse_date("Sun, 06 Nov 1994 08:49:37 PST", &t), -1);
	pp_http_format_date(784111777, buf);
	assert_string_equal(buf, "Sun, 06 Nov 1994 08:49:37 GMT");
}

static void test_etag(void **state)
{
	(void)state;
	assert_true(pp_http_etag_match("\"abc\"", "\"abc\""));
	assert_true(pp_http_etag_match("W/\"abc\"", "\"abc\""));
	assert_true(pp_http_etag_match("\"x\", \"abc\"", "\"abc\""));
	assert_true(pp_http_etag_match("*", "\"abc\""));
	assert_false(pp_http_etag_match("\"abd\"", "\"abc\""));
	assert_false(pp_http_etag_match("abc", "\"abc\""));
	assert_false(pp_http_etag_match("\"ab", "\"abc\""));
}

static void test_types(void **state)
{
	(void)state;
	assert_string_equal(pp_http_content_type("Yealink/a.cfg"), "text/plain");
	assert_string_equal(pp_http_content_type("a.CFG"), "text/plain");
	assert_string_equal(pp_http_content_type("x.conf"), "text/plain");
	assert_string_equal(pp_http_content_type("spa.xml"), "application/xml");
	assert_string_equal(pp_http_content_type("fw.bin"), "application/octet-stream");
	assert_string_equal(pp_http_content_type("fw.rom"), "application/octet-stream");
	assert_string_equal(pp_http_content_type("a.dir/noext"), "application/octet-stream");
	assert_string_equal(pp_http_content_type("x."), "application/octet-stream");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_ok), cmocka_unit_test(test_decode_refused),
		cmocka_unit_test(test_component), cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_range),     cmocka_unit_test(test_date),
		cmocka_unit_test(test_etag),      cmocka_unit_test(test_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
