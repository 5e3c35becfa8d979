/* SHA-256 and SHA-1 (FIPS 180-4), streaming. Used to verify downloads and
 * installed files without pulling in a crypto library. */
#ifndef PP_FW_SHA_H
#define PP_FW_SHA_H

#include <stddef.h>
#include <stdint.h>

struct pp_sha256 {
	uint32_t h[8];
	uint64_t bytes;
	uint8_t blk[64];
	size_t n;
};

struct pp_sha1 {
	uint32_t h[5];
	uint64_t bytes;
	uint8_t blk[64];
	size_t n;
};

void pp_sha256_init(struct pp_sha256 *c);
void pp_sha256_update(struct pp_sha256 *c, const void *data, size_t len);
void pp_sha256_final(struct pp_sha256 *c, uint8_t out[32]);

void pp_sha1_init(struct pp_sha1 *c);
void pp_sha1_update(struct pp_sha1 *c, const void *data, size_t len);
void pp_sha1_final(struct pp_sha1 *c, uint8_t out[20]);

/* Lowercase hex of n bytes into out (2n+1 bytes). */
void pp_hex(const uint8_t *in, size_t n, char *out);

#endif
