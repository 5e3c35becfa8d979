/* SHA-256 / SHA-1 against the FIPS 180-4 example vectors, plus split updates. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "firmware/sha.h"

static void h256(const void *p, size_t n, char out[65])
{
	struct pp_sha256 c;
	uint8_t d[32];

	pp_sha256_init(&c);
	pp_sha256_update(&c, p, n);
	pp_sha256_final(&c, d);
	pp_hex(d, 32, out);
}

static void h1(const void *p, size_t n, char out[41])
{
	struct pp_sha1 c;
	uint8_t d[20];

	pp_sha1_init(&c);
	pp_sha1_update(&c, p, n);
	pp_sha1_final(&c, d);
	pp_hex(d, 20, out);
}

static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char msg896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
			     "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

static void test_sha256_vectors(void **state)
{
	char out[65];

	(void)state;
	h256("", 0, out);
	assert_string_equal(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	h256("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	h256(msg448, strlen(msg448), out);
	assert_string_equal(out, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	h256(msg896, strlen(msg896), out);
	assert_string_equal(out, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_sha1_vectors(void **state)
{
	char out[41];

	(void)state;
	h1("", 0, out);
	assert_string_equal(out, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	h1("abc", 3, out);
	assert_string_equal(out, "a9993e364706816aba3e25717850c26c9cd0d89d");
	h1(msg448, strlen(msg448), out);
	assert_string_equal(out, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	h1(msg896, strlen(msg896), out);
	assert_string_equal(out, "a49b2446a02c645bf419f995b67091253a04a259");
}

static void test_million_a(void **state)
{
	char *a = malloc(1000000), out[65];
	struct pp_sha256 c;
	struct pp_sha1 c1;
	uint8_t d[32];

	(void)state;
	assert_non_null(a);
	memset(a, 'a', 1000000);
	h256(a, 1000000, out);
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	h1(a, 1000000, out);
	assert_string_equal(out, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	/* the same bytes in odd-sized pieces */
	pp_sha256_init(&c);
	pp_sha1_init(&c1);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 7 % 131 + 1) {
		size_t n = off + step > 1000000 ? 1000000 - off : step;

		pp_sha256_update(&c, a + off, n);
		pp_sha1_update(&c1, a + off, n);
	}
	pp_sha256_final(&c, d);
	pp_hex(d, 32, out);
	assert_string_equal(out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	pp_sha1_final(&c1, d);
	pp_hex(d, 20, out);
	assert_string_equal(out, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	free(a);
}

/* Padding edges: lengths around the 55/56/64-byte block boundary agree
 * whether fed at once or byte by byte. */
static void test_boundaries(void **state)
{
	uint8_t buf[200];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	for (size_t n = 50; n < 140; n++) {
		struct pp_sha256 c;
		struct pp_sha1 c1;
		uint8_t d[32];
		char a[65], b[65];

		h256(buf, n, a);
		pp_sha256_init(&c);
		for (size_t i = 0; i < n; i++)
			pp_sha256_update(&c, buf + i, 1);
		pp_sha256_final(&c, d);
		pp_hex(d, 32, b);
		assert_string_equal(a, b);
		h1(buf, n, a);
		pp_sha1_init(&c1);
		for (size_t i = 0; i < n; i++)
			pp_sha1_update(&c1, buf + i, 1);
		pp_sha1_final(&c1, d);
		pp_hex(d, 20, b);
		assert_string_equal(a, b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha1_vectors),
		cmocka_unit_test(test_million_a),
		cmocka_unit_test(test_boundaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
