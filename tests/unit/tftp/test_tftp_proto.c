/* Unit tests of the TFTP packet parser, builders and netascii encoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "daemon/tftp/tftp_proto.h"

#define PKT(s) ((const uint8_t *)(s)), (sizeof(s) - 1)

static void rrq_plain(void **st)
{
	struct tftp_req r;
	const char *why = NULL;

	(void)st;
	assert_int_equal(tftp_parse_request(PKT("\0\1/a/b.cfg\0octet\0"), &r, &why), 0);
	assert_int_equal(r.opcode, TFTP_RRQ);
	assert_int_equal(r.file_len, 8);
	assert_memory_equal(r.file, "/a/b.cfg", 8);
	assert_int_equal(r.mode, TFTP_MODE_OCTET);
	assert_true(r.blksize == -1 && r.timeout == -1 && r.tsize == -1 && r.windowsize == -1);
	assert_int_equal(r.n_options, 0);
	assert_null(r.bad_option);
}

static void rrq_modes(void **st)
{
	struct tftp_req r;
	const char *why;

	(void)st;
	assert_int_equal(tftp_parse_request(PKT("\0\1f\0NetASCII\0"), &r, &why), 0);
	assert_int_equal(r.mode, TFTP_MODE_NETASCII);
	assert_int_equal(tftp_parse_request(PKT("\0\1f\0OCTET\0"), &r, &why), 0);
	assert_int_equal(r.mode, TFTP_MODE_OCTET);
	assert_int_equal(tftp_parse_request(PKT("\0\1f\0mail\0"), &r, &why), 0);
	assert_int_equal(r.mode, TFTP_MODE_MAIL);
	assert_int_equal(tftp_parse_request(PKT("\0\1f\0binary\0"), &r, &why), 0);
	assert_int_equal(r.mode, TFTP_MODE_UNKNOWN);
	assert_int_equal(tftp_parse_request(PKT("\0\2f\0octet\0"), &r, &why), 0);
	assert_int_equal(r.opcode, TFTP_WRQ);
}

static void rrq_options(void **st)
{
	struct tftp_req r;
	const char *why;

	(void)st;
	assert_int_equal(tftp_parse_request(
		PKT("\0\1f\0octet\0BLKSIZE\0001468\0TSize\0000\0foo\0bar\0timeout\0003\0"
		    "windowsize\00016\0"), &r, &why), 0);
	assert_int_equal(r.blksize, 1468);
	assert_int_equal(r.tsize, 0);
	assert_int_equal(r.timeout, 3);
	assert_int_equal(r.windowsize, 16);
	assert_int_equal(r.n_options, 5);
	assert_int_equal(r.n_unknown, 1);
	assert_null(r.bad_option);
	/* the first occurrence wins; huge values saturate instead of overflowing */
	assert_int_equal(tftp_parse_request(
		PKT("\0\1f\0octet\0blksize\000100\0blksize\000200\0windowsize\0"
		    "99999999999999999999999999\0"), &r, &why), 0);
	assert_int_equal(r.blksize, 100);
	assert_true(r.windowsize > 65535);
	/* NUL padding and a dangling name are tolerated */
	assert_int_equal(tftp_parse_request(PKT("\0\1f\0octet\0\0\0blksize\0001024\0tsi"), &r,
					    &why), 0);
	assert_int_equal(r.blksize, 1024);
	assert_int_equal(r.tsize, -1);
}

static void rrq_bad_values(void **st)
{
	static const char *const cases[][2] = {
		{ "blksize", "7" }, { "blksize", "abc" }, { "blksize", "" }, { "blksize", "-512" },
		{ "timeout", "0" }, { "timeout", "256" }, { "windowsize", "0" }, { "tsize", "1x" },
		{ "blksize", " 512" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t pkt[128];
		size_t n = 0;
		struct tftp_req r;
		const char *why;

		(void)st;
		memcpy(pkt, "\0\1f\0octet\0", 10);
		n = 10;
		memcpy(pkt + n, cases[i][0], strlen(cases[i][0]) + 1);
		n += strlen(cases[i][0]) + 1;
		memcpy(pkt + n, cases[i][1], strlen(cases[i][1]) + 1);
		n += strlen(cases[i][1]) + 1;
		assert_int_equal(tftp_parse_request(pkt, n, &r, &why), 0);
		assert_non_null(r.bad_option);
		assert_string_equal(r.bad_option, cases[i][0]);
	}
}

static void rrq_malformed(void **st)
{
	struct tftp_req r;
	const char *why = NULL;

	(void)st;
	assert_int_equal(tftp_parse_request(PKT(""), &r, &why), -1);
	assert_int_equal(tftp_parse_request(PKT("\0"), &r, &why), -1);
	assert_int_equal(tftp_parse_request(PKT("\0\1"), &r, &why), -1);
	assert_int_equal(tftp_parse_request(PKT("\0\1abc"), &r, &why), -1);
	assert_non_null(why);
	assert_int_equal(tftp_parse_request(PKT("\0\1abc\0"), &r, &why), -1);
	assert_int_equal(tftp_parse_request(PKT("\0\1abc\0octet"), &r, &why), -1);
	assert_int_equal(tftp_parse_request(PKT("\0\4abc\0octet\0"), &r, &why), -1);
	assert_int_equal(tftp_parse_request(PKT("\1\1abc\0octet\0"), &r, &why), -1);
	/* an empty name parses: the pipeline refuses it */
	assert_int_equal(tftp_parse_request(PKT("\0\1\0octet\0"), &r, &why), 0);
	assert_int_equal(r.file_len, 0);
}

static void ack_error(void **st)
{
	uint16_t b, code;
	const char *msg;
	size_t ml;

	(void)st;
	assert_int_equal(tftp_parse_ack(PKT("\0\4\1\2"), &b), 0);
	assert_int_equal(b, 0x102);
	assert_int_equal(tftp_parse_ack(PKT("\0\4\1"), &b), -1);
	assert_int_equal(tftp_parse_ack(PKT("\0\3\1\2"), &b), -1);
	assert_int_equal(tftp_parse_error(PKT("\0\5\0\10refused\0"), &code, &msg, &ml), 0);
	assert_int_equal(code, 8);
	assert_int_equal(ml, 7);
	assert_memory_equal(msg, "refused", 7);
	assert_int_equal(tftp_parse_error(PKT("\0\5\0\1no nul"), &code, &msg, &ml), 0);
	assert_int_equal(ml, 6);
	assert_int_equal(tftp_parse_error(PKT("\0\5\0"), &code, &msg, &ml), -1);
	assert_int_equal(tftp_opcode(PKT("\0")), 0);
}

static void builders(void **st)
{
	uint8_t buf[128];
	struct tftp_oack o = { .blksize = 1468, .timeout = -1, .tsize = 40, .windowsize = 8 };
	size_t n;

	(void)st;
	n = tftp_build_error(buf, sizeof(buf), 5, "unknown transfer ID");
	assert_int_equal(n, 4 + 19 + 1);
	assert_memory_equal(buf, "\0\5\0\5unknown transfer ID\0", n);
	n = tftp_build_error(buf, 8, 1, "file not found");
	assert_int_equal(n, 8);
	assert_int_equal(buf[7], 0);
	n = tftp_build_oack(buf, sizeof(buf), &o);
	assert_int_equal(n, sizeof("\0\6blksize\0001468\0tsize\00040\0windowsize\0008\0") - 1);
	assert_memory_equal(buf, "\0\6blksize\0001468\0tsize\00040\0windowsize\0008\0", n);
	assert_int_equal(tftp_build_oack(buf, 10, &o), 0);
}

static void netascii(void **st)
{
	const uint8_t in[] = "a\nb\r\nc\r";
	uint8_t out[64];
	struct tftp_na s;
	size_t n;

	(void)st;
	tftp_na_init(&s);
	n = tftp_na_encode(&s, in, sizeof(in) - 1, out, sizeof(out));
	assert_int_equal(n, 11);
	assert_memory_equal(out, "a\r\nb\r\0\r\nc\r\0", 11);
	assert_int_equal(s.in_off, 7);
	assert_int_equal(s.out_off, 11);
	assert_int_equal(tftp_na_count_extra(in, sizeof(in) - 1), 4);

	/* one output byte at a time: pairs split over blocks stay correct */
	uint8_t all[64];
	size_t total = 0;

	tftp_na_init(&s);
	while (total < 11) {
		size_t left = sizeof(in) - 1 - s.in_off;
		n = tftp_na_encode(&s, in + s.in_off, left, all + total, 1);
		assert_int_equal(n, 1);
		total += n;
	}
	assert_memory_equal(all, "a\r\nb\r\0\r\nc\r\0", 11);
	assert_int_equal(s.pending, -1);
	assert_int_equal(s.in_off, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rrq_plain),   cmocka_unit_test(rrq_modes),
		cmocka_unit_test(rrq_options), cmocka_unit_test(rrq_bad_values),
		cmocka_unit_test(rrq_malformed), cmocka_unit_test(ack_error),
		cmocka_unit_test(builders),    cmocka_unit_test(netascii),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
