/* Unit tests of the SIP response and Digest readers (daemon/http/sip_msg.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/http/sip_msg.h"

#define BR "z9hG4bKabc1"

static void test_response_code(void **state)
{
	char reason[64];
	const char ok[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=" BR
			  "\r\nCSeq: 1 NOTIFY\r\n\r\n";
	const char compact[] = "SIP/2.0 180 Ringing\r\nv: SIP/2.0/UDP h;branch=" BR
			       "\r\nCSeq: 1 NOTIFY\r\n\r\n";

	(void)state;
	assert_int_equal(pp_sip_response_code(ok, strlen(ok), BR, reason, sizeof(reason)), 200);
	assert_string_equal(reason, "OK");
	assert_int_equal(pp_sip_response_code(compact, strlen(compact), BR, reason, sizeof(reason)),
			 180);
	/* another transaction's answer, another method, a request: not ours */
	assert_int_equal(pp_sip_response_code(ok, strlen(ok), "z9hG4bKother", reason, sizeof(reason)),
			 0);
	const char other[] = "SIP/2.0 200 OK\r\nVia: x;branch=" BR "\r\nCSeq: 1 OPTIONS\r\n\r\n";
	assert_int_equal(pp_sip_response_code(other, strlen(other), BR, reason, sizeof(reason)), 0);
	const char req[] = "NOTIFY sip:a SIP/2.0\r\nVia: x;branch=" BR "\r\nCSeq: 1 NOTIFY\r\n\r\n";
	assert_int_equal(pp_sip_response_code(req, strlen(req), BR, reason, sizeof(reason)), 0);
	/* headers end at the empty line: a Via in the body does not count */
	const char body[] = "SIP/2.0 200 OK\r\nCSeq: 1 NOTIFY\r\n\r\nVia: x;branch=" BR "\r\n";
	assert_int_equal(pp_sip_response_code(body, strlen(body), BR, reason, sizeof(reason)), 0);
	/* a long reason is cut to the buffer */
	assert_int_equal(pp_sip_response_code(ok, strlen(ok), BR, reason, 2), 200);
	assert_string_equal(reason, "O");
}

static void test_digest_rfc2617(void **state)
{
	/* RFC 2617 §3.5's worked example (method GET there) */
	const char ch[] = "SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: Digest "
			  "realm=\"testrealm@host.com\", qop=\"auth,auth-int\", "
			  "nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", "
			  "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"\r\n\r\n";
	char out[600];

	(void)state;
	assert_int_equal(pp_sip_digest_authz(ch, strlen(ch), 401, "Mufasa", "Circle Of Life", "GET",
					     "/dir/index.html", "0a4f113b", out, sizeof(out)),
			 0);
	assert_non_null(strstr(out, "response=\"6629fae49393a05397450978507c4ef1\""));
	assert_non_null(strstr(out, "qop=auth, nc=00000001, cnonce=\"0a4f113b\""));
	assert_non_null(strstr(out, "opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
	assert_int_equal(strncmp(out, "Authorization: Digest username=\"Mufasa\"", 39), 0);
	/* a 407 answers Proxy-Authenticate only */
	assert_int_equal(pp_sip_digest_authz(ch, strlen(ch), 407, "u", "p", "NOTIFY", "sip:u@h",
					     "00", out, sizeof(out)),
			 -1);
}

static void test_digest_refused(void **state)
{
	char out[600];
	const char *bad[] = {
		/* no nonce; another algorithm; not Digest; a quote smuggled in */
		"SIP/2.0 401 x\r\nWWW-Authenticate: Digest realm=\"r\"\r\n\r\n",
		"SIP/2.0 401 x\r\nWWW-Authenticate: Digest nonce=\"n\", algorithm=SHA-256\r\n\r\n",
		"SIP/2.0 401 x\r\nWWW-Authenticate: Basic realm=\"r\"\r\n\r\n",
		"SIP/2.0 401 x\r\nWWW-Authenticate: Digest nonce=\"a\\\"b\"\r\n\r\n",
		"SIP/2.0 401 x\r\n\r\nWWW-Authenticate: Digest nonce=\"body\"\r\n",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(pp_sip_digest_authz(bad[i], strlen(bad[i]), 401, "u", "p", "NOTIFY",
						     "sip:u@h", "00", out, sizeof(out)),
				 -1);
	/* qop auth-int alone: no qop in the answer (RFC 2069 form) */
	const char intonly[] = "SIP/2.0 401 x\r\nWWW-Authenticate: Digest nonce=n1, qop=\"auth-int\"\r\n\r\n";
	assert_int_equal(pp_sip_digest_authz(intonly, strlen(intonly), 401, "u", "p", "NOTIFY",
					     "sip:u@h", "00", out, sizeof(out)),
			 0);
	assert_null(strstr(out, "qop="));
	/* too small a buffer: -1, never a cut header */
	assert_int_equal(pp_sip_digest_authz(intonly, strlen(intonly), 401, "u", "p", "NOTIFY",
					     "sip:u@h", "00", out, 40),
			 -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_response_code),
		cmocka_unit_test(test_digest_rfc2617),
		cmocka_unit_test(test_digest_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
