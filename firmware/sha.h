/* SHA-256 and SHA-1 (FIPS 180-4), streaming, through nettle (the library
 * libarchive already loads into the CLI and the firmware worker; it uses
 * the CPU's SHA instructions where there are some). Used to verify
 * downloads and installed files. */
#ifndef PP_FW_SHA_H
#define PP_FW_SHA_H

#include <stddef.h>
#include <stdint.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

struct pp_sha256 {
	struct sha256_ctx ctx;
};

struct pp_sha1 {
	struct sha1_ctx ctx;
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
