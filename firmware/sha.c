/* SHA-256 and SHA-1 through nettle (sha.h). The known-answer tests
 * (tests/unit/firmware/test_sha.c) hold it to the FIPS 180-4 vectors;
 * bench/firmware/bench_sha.c measures it. */
#include "sha.h"

void pp_sha256_init(struct pp_sha256 *c)
{
	sha256_init(&c->ctx);
}

void pp_sha256_update(struct pp_sha256 *c, const void *data, size_t len)
{
	sha256_update(&c->ctx, len, data);
}

void pp_sha256_final(struct pp_sha256 *c, uint8_t out[32])
{
	sha256_digest(&c->ctx, SHA256_DIGEST_SIZE, out);
}

void pp_sha1_init(struct pp_sha1 *c)
{
	sha1_init(&c->ctx);
}

void pp_sha1_update(struct pp_sha1 *c, const void *data, size_t len)
{
	sha1_update(&c->ctx, len, data);
}

void pp_sha1_final(struct pp_sha1 *c, uint8_t out[20])
{
	sha1_digest(&c->ctx, SHA1_DIGEST_SIZE, out);
}

void pp_hex(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}
