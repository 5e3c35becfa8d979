/* Identification engine unit tests (extractors/): device MACs, file-name
 * patterns, how facts of several plugins' rules are merged (one vendor per
 * request), and option-60 bytes (a trailing NUL, binary vendor classes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extractors/extract.h"
#include "extractors/identify.h"
#include "extractors/pathpat.h"

/* ---- fields cut on UTF-8 boundaries (issue 19) ---------------------------- */

static bool valid_utf8(const char *s)
{
	/* jansson refuses a string that is not UTF-8: what the renderer needs */
	json_t *j = json_string(s);
	bool ok = j != NULL;

	json_decref(j);
	return ok;
}

static void test_field_utf8_cut(void **st)
{
	struct pp_devinfo di;
	char v[256], out[8];
	size_t n = 0;
	(void)st;

	/* "ü" (2 bytes) x 40: 80 bytes, cut at 62 (31 characters), not 63 */
	for (int i = 0; i < 40; i++)
		n += (size_t)snprintf(v + n, sizeof(v) - n, "\xc3\xbc");
	pp_devinfo_init(&di);
	assert_int_equal(pp_devinfo_offer(&di, PP_F_SERIAL, v, n, 0, NULL), 1);
	assert_int_equal(strlen(di.f[PP_F_SERIAL]), 62);
	assert_true(valid_utf8(di.f[PP_F_SERIAL]));
	/* one ASCII byte first: 1 + 31 x 2 = 63 bytes fit exactly */
	memmove(v + 1, v, n + 1);
	v[0] = 'x';
	pp_devinfo_init(&di);
	assert_int_equal(pp_devinfo_offer(&di, PP_F_MODEL, v, n + 1, 0, NULL), 1);
	assert_int_equal(strlen(di.f[PP_F_MODEL]), 63);
	assert_true(valid_utf8(di.f[PP_F_MODEL]));
	/* 4-byte characters (U+1F4DE) x 20: cut at 60 */
	n = 0;
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(v + n, sizeof(v) - n, "\xf0\x9f\x93\x9e");
	pp_devinfo_init(&di);
	assert_int_equal(pp_devinfo_offer(&di, PP_F_VENDOR, v, n, 0, NULL), 1);
	assert_int_equal(strlen(di.f[PP_F_VENDOR]), 60);
	assert_true(valid_utf8(di.f[PP_F_VENDOR]));
	/* bytes that are not UTF-8 (a stray Latin-1 byte, a lone continuation,
	 * an overlong '/', a surrogate, a control byte) become '?' */
	pp_devinfo_init(&di);
	assert_int_equal(pp_devinfo_offer(&di, PP_F_SERIAL, "a\xe9" "b\x80" "c\xc0\xaf" "d\xed\xa0\x80"
					  "e\x01" "f\xe2\x82\xac", 17, 0, NULL), 1);
	assert_string_equal(di.f[PP_F_SERIAL], "a?b?c??d???e?f\xe2\x82\xac");
	/* a truncated sequence at the end of the input */
	assert_int_equal(pp_field_copy(out, sizeof(out), "ab\xe2\x82", 4), 4);
	assert_string_equal(out, "ab??");
	/* the buffer's size: 7 bytes + NUL; a 3-byte character at 6 does not fit */
	assert_int_equal(pp_field_copy(out, sizeof(out), "abcdef\xe2\x82\xac", 9), 6);
	assert_string_equal(out, "abcdef");
}

/* ---- device MACs -------------------------------------------------------- */

static void test_mac_is_device(void **st)
{
	static const char *const not_devices[] = { "000000000000", "00:00:00:00:00:00",
						    "0000.0000.0000", "FFFFFFFFFFFF",
						    "ff-ff-ff-ff-ff-ff" };
	char mac[18];
	(void)st;

	assert_true(pp_mac_is_device("00:04:f2:aa:bb:cc"));
	assert_true(pp_mac_is_device("ff:ff:ff:ff:ff:fe"));
	assert_false(pp_mac_is_device(""));
	assert_false(pp_mac_is_device(NULL));
	for (size_t i = 0; i < PP_ARRAY_LEN(not_devices); i++) {
		struct pp_devinfo di;

		/* a valid MAC form (normalisation accepts it: such a record can be
		 * deleted) but never a device fact */
		assert_int_equal(pp_mac_normalize(not_devices[i], strlen(not_devices[i]), mac), PP_OK);
		assert_false(pp_mac_is_device(mac));
		pp_devinfo_init(&di);
		assert_int_equal(pp_devinfo_offer(&di, PP_F_MAC, not_devices[i],
						  strlen(not_devices[i]), 0, NULL), 0);
		assert_string_equal(di.f[PP_F_MAC], "");
		/* the field stays open for a real MAC */
		assert_int_equal(pp_devinfo_offer(&di, PP_F_MAC, "0004F2AABBCC", 12, 0, NULL), 1);
		assert_string_equal(di.f[PP_F_MAC], "00:04:f2:aa:bb:cc");
	}
}

static void test_pathpat_placeholder_mac(void **st)
{
	struct pp_pathpat pp;
	char msg[128], mac[18];
	size_t off;
	(void)st;

	assert_int_equal(pp_pathpat_parse("{{mac}}.cfg", &pp, &off, msg, sizeof(msg)), PP_OK);
	assert_int_equal(pp_pathpat_compile(&pp, false), PP_OK);
	assert_true(pp_pathpat_match(&pp, "0004f2aabbcc.cfg", 16, mac));
	assert_string_equal(mac, "00:04:f2:aa:bb:cc");
	/* Polycom's master file and a broadcast name are no device's file */
	assert_false(pp_pathpat_match(&pp, "000000000000.cfg", 16, mac));
	assert_string_equal(mac, "");
	assert_false(pp_pathpat_match(&pp, "FFFFFFFFFFFF.cfg", 16, mac));
	pp_pathpat_free(&pp);
	assert_int_equal(pp_pathpat_parse("Digium/{{mac}}-contacts.xml", &pp, &off, msg,
					  sizeof(msg)), PP_OK);
	assert_int_equal(pp_pathpat_compile(&pp, false), PP_OK);
	assert_false(pp_pathpat_match(&pp, "Digium/000000000000-contacts.xml", 32, mac));
	assert_true(pp_pathpat_match(&pp, "Digium/000fd3054848-contacts.xml", 32, mac));
	pp_pathpat_free(&pp);
}

/* ---- merging several plugins' rules ------------------------------------- */

struct fx {
	struct pp_ex_rule *r[8];
	size_t n;
	struct pp_ex_set *set;
	struct pp_pathpat pat;
};

static void add(struct fx *x, int src, const char *re, const char *vendor, const char *owner,
		const char *owner_vendor, size_t oi)
{
	const char *set[PP_F_N] = { [PP_F_VENDOR] = vendor };
	char msg[256];
	size_t off;

	assert_int_equal(pp_ex_rule_new(src, re, strlen(re), true, PP_EX_NO_JIT, set, &x->r[x->n],
					&off, msg, sizeof(msg)), PP_OK);
	assert_int_equal(pp_ex_set_add_rule(x->set, x->r[x->n], owner, owner_vendor, oi, x->n),
			 PP_OK);
	x->n++;
}

static void fx_free(struct fx *x)
{
	pp_ex_set_free(x->set);
	for (size_t i = 0; i < x->n; i++)
		pp_ex_rule_free(x->r[i]);
	pp_pathpat_free(&x->pat);
}

static void in_set(struct pp_ex_input *in, int src, const char *s, size_t len)
{
	in->s[src] = s;
	in->len[src] = len;
}

static void in_str(struct pp_ex_input *in, int src, const char *s)
{
	in_set(in, src, s, strlen(s));
}

static void test_one_vendor_per_request(void **st)
{
	struct fx x = { .n = 0 };
	struct pp_ex_input in;
	struct pp_devinfo di;
	char msg[128];
	size_t off;
	const char *ua = "FileTransport PolycomVVX-VVX_410-UA/5.9.5.0614 Type/Application";
	(void)st;

	x.set = pp_ex_set_new();
	assert_non_null(x.set);
	/* polycom (index 0): User-Agent with its vendor; a model-only hostname rule */
	add(&x, PP_SRC_HTTP_UA, "^FileTransport Poly\\w*-(?<model>VVX_\\d+)-UA/(?<version>[\\d.]+)",
	    "Polycom", "polycom", "Polycom", 0);
	add(&x, PP_SRC_DHCP_HOSTNAME, "^(?<model>VVX\\d+)$", NULL, "polycom", "Polycom", 0);
	/* avaya (index 1): a generic <mac>.cfg path rule that names no vendor */
	add(&x, PP_SRC_HTTP_PATH, "^(?<mac>[0-9a-f]{12})\\.cfg$", NULL, "avaya", "Avaya", 1);
	/* yealink (index 2): option 60 without a vendor constant, model only */
	add(&x, PP_SRC_DHCP_VCI, "^ylk-(?<model>T\\d+\\w*)", NULL, "yealink", "Yealink", 2);
	/* snom (index 3): a User-Agent rule giving its vendor and a MAC */
	add(&x, PP_SRC_HTTP_UA, "snom(?<model>D\\d+)-SIP (?<version>[\\d.]+) (?<mac>[0-9a-f]{12})",
	    "Snom", "snom", "Snom", 3);
	assert_int_equal(pp_pathpat_parse("{{mac}}.cfg", &x.pat, &off, msg, sizeof(msg)), PP_OK);
	assert_int_equal(pp_pathpat_compile(&x.pat, false), PP_OK);
	assert_int_equal(pp_ex_set_add_path(x.set, &x.pat, "polycom"), PP_OK);
	pp_ex_set_finish(x.set);

	/* A Polycom (by its User-Agent) asking for a <mac>.cfg name: the Avaya
	 * rule stands for Avaya and adds nothing; the file-name pattern gives the
	 * MAC as the last resort. */
	memset(&in, 0, sizeof(in));
	in_set(&in, PP_SRC_HTTP_UA, ua, strlen(ua));
	in_str(&in, PP_SRC_HTTP_PATH, "0004f2aabbcc.cfg");
	pp_ex_identify(x.set, &in, &di);
	assert_string_equal(di.f[PP_F_VENDOR], "Polycom");
	assert_string_equal(di.f[PP_F_MODEL], "VVX_410");
	assert_string_equal(di.f[PP_F_MAC], "00:04:f2:aa:bb:cc");
	assert_int_equal(di.src[PP_F_MAC], PP_SRC_HTTP_PATH);
	assert_string_equal(di.plugin[PP_F_MAC], "polycom"); /* the pattern, not avaya's rule */
	/* the master file: neither the rule nor the pattern makes a MAC of it */
	in_str(&in, PP_SRC_HTTP_PATH, "000000000000.cfg");
	pp_ex_identify(x.set, &in, &di);
	assert_string_equal(di.f[PP_F_VENDOR], "Polycom");
	assert_string_equal(di.f[PP_F_MAC], "");
	/* the path alone: the Avaya rule (rules come before patterns) is the
	 * request's only witness */
	memset(&in, 0, sizeof(in));
	in_str(&in, PP_SRC_HTTP_PATH, "0004f2aabbcc.cfg");
	pp_ex_identify(x.set, &in, &di);
	assert_string_equal(di.f[PP_F_MAC], "00:04:f2:aa:bb:cc");
	assert_string_equal(di.plugin[PP_F_MAC], "avaya");
	assert_string_equal(di.f[PP_F_VENDOR], "");

	/* A Snom User-Agent with a Yealink-looking option 60: option 60 outranks
	 * the User-Agent, but the rule gives no vendor; the first vendor a rule
	 * gives (Snom) decides, so the Yealink model is not merged. */
	memset(&in, 0, sizeof(in));
	in_str(&in, PP_SRC_DHCP_VCI, "ylk-T46S");
	in_str(&in, PP_SRC_HTTP_UA, "snomD735-SIP 10.1.54.13 000413aabbcc");
	pp_ex_identify(x.set, &in, &di);
	assert_string_equal(di.f[PP_F_VENDOR], "Snom");
	assert_string_equal(di.f[PP_F_MODEL], "D735");
	assert_string_equal(di.f[PP_F_MAC], "00:04:13:aa:bb:cc");
	assert_int_equal(di.src[PP_F_MODEL], PP_SRC_HTTP_UA);
	/* ... and alone, option 60 still gives its model */
	in.s[PP_SRC_HTTP_UA] = NULL;
	pp_ex_identify(x.set, &in, &di);
	assert_string_equal(di.f[PP_F_MODEL], "T46S");
	assert_string_equal(di.plugin[PP_F_MODEL], "yealink");

	/* Two rules giving two vendors: the one over the earlier source wins
	 * whole; the other one adds nothing, not even its MAC. */
	memset(&in, 0, sizeof(in));
	in_str(&in, PP_SRC_HTTP_UA, "FileTransport PolycomVVX-VVX_500-UA/5.9.7 snomD735-SIP 1.2 "
	       "000413aabbcc");
	pp_ex_identify(x.set, &in, &di);
	assert_string_equal(di.f[PP_F_VENDOR], "Polycom"); /* polycom's rule comes first */
	assert_string_equal(di.f[PP_F_MODEL], "VVX_500");
	assert_string_equal(di.f[PP_F_VERSION], "5.9.7");
	assert_string_equal(di.f[PP_F_MAC], "");
	/* a same-vendor, model-only rule of the same request merges */
	in_str(&in, PP_SRC_DHCP_HOSTNAME, "VVX500");
	pp_ex_identify(x.set, &in, &di);
	assert_string_equal(di.f[PP_F_MODEL], "VVX_500"); /* the User-Agent outranks the hostname */
	fx_free(&x);
}

/* ---- option 60 bytes ---------------------------------------------------- */

static void test_vci_bytes(void **st)
{
	struct fx x = { .n = 0 };
	struct pp_ex_input in;
	struct pp_devinfo di;
	/* Cisco 7940 as sent: NUL-terminated (wazo-provd-plugins option 60 examples) */
	static const char cisco[] = "Cisco Systems, Inc. IP Phone CP-7940G";
	/* Polycom SoundPoint IP 601 (RFC 3925, enterprise 13885): the start of the
	 * decode printed in the SoundPoint IP administrator guide, with a length
	 * byte >= 0x80 (not UTF-8: rules match bytes) */
	static const unsigned char poly[] = {
		0x00, 0x00, 0x36, 0x3d, 0x9f, 0x01, 0x07, 'P', 'o', 'l', 'y', 'c', 'o', 'm', 0x02, 0x15,
		'S', 'o', 'u', 'n', 'd', 'P', 'o', 'i', 'n', 't', 'I', 'P', '-', 'S', 'P', 'I', 'P',
		'_', '6', '0', '1', 0x03, 0x10, '2', '3', '4', '5', '-', '1', '1', '6', '0', '5', '-',
		'0', '0', '1', ',', '2', 0xff,
	};
	(void)st;

	x.set = pp_ex_set_new();
	add(&x, PP_SRC_DHCP_VCI, "^Cisco Systems, Inc\\. IP Phone (?<model>CP-\\d{4}G?)$", "Cisco",
	    "cisco", "Cisco", 0);
	add(&x, PP_SRC_DHCP_VCI,
	    "(?s)^\\x00\\x00\\x36\\x3d.\\x01\\x07Polycom\\x02.(?:SoundPoint|SoundStation)IP-"
	    "(?<model>S[PS]IP_\\d+)", "Polycom", "polycom", "Polycom", 1);
	pp_ex_set_finish(x.set);
	memset(&in, 0, sizeof(in));
	/* one trailing NUL is the terminator: an anchored rule matches */
	in_set(&in, PP_SRC_DHCP_VCI, cisco, sizeof(cisco)); /* with its NUL */
	pp_ex_identify(x.set, &in, &di);
	assert_string_equal(di.f[PP_F_MODEL], "CP-7940G");
	/* the caller's length is not changed */
	assert_int_equal(in.len[PP_SRC_DHCP_VCI], sizeof(cisco));
	/* two NULs: the second one is data, the anchored rule does not match */
	{
		char two[sizeof(cisco) + 1];

		memcpy(two, cisco, sizeof(cisco));
		two[sizeof(cisco)] = '\0';
		in_set(&in, PP_SRC_DHCP_VCI, two, sizeof(two));
		pp_ex_identify(x.set, &in, &di);
		assert_string_equal(di.f[PP_F_MODEL], "");
	}
	/* binary bytes reach the rules as sent (NUL, 0xff): no '?' in between */
	in_set(&in, PP_SRC_DHCP_VCI, (const char *)poly, sizeof(poly));
	pp_ex_identify(x.set, &in, &di);
	assert_string_equal(di.f[PP_F_VENDOR], "Polycom");
	assert_string_equal(di.f[PP_F_MODEL], "SPIP_601");
	/* a stray byte in a User-Agent (Avaya 1200: "AVAYA/SIP12x0<0xff>/04.01.13.00") */
	{
		static const char ua[] = "AVAYA/SIP12x0\xff/04.01.13.00";
		struct fx y = { .n = 0 };

		y.set = pp_ex_set_new();
		add(&y, PP_SRC_HTTP_UA, "^AVAYA/SIP12x0[^/]*/(?<version>\\d\\d(?:\\.\\d\\d){3})", "Avaya",
		    "avaya", "Avaya", 0);
		pp_ex_set_finish(y.set);
		memset(&in, 0, sizeof(in));
		in_set(&in, PP_SRC_HTTP_UA, ua, sizeof(ua) - 1);
		pp_ex_identify(y.set, &in, &di);
		assert_string_equal(di.f[PP_F_VERSION], "04.01.13.00");
		fx_free(&y);
	}
	fx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mac_is_device),
		cmocka_unit_test(test_field_utf8_cut),
		cmocka_unit_test(test_pathpat_placeholder_mac),
		cmocka_unit_test(test_one_vendor_per_request),
		cmocka_unit_test(test_vci_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
