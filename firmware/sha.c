/* SHA-256 and SHA-1 written from the FIPS 180-4 description: 512-bit blocks,
 * big-endian words, padding with 0x80, zeros and the 64-bit bit length. */
#include "sha.h"

#include <string.h>

static uint32_t rotr(uint32_t x, unsigned n)
{
	return (x >> n) | (x << (32 - n));
}

static uint32_t rotl(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- SHA-256 (FIPS 180-4 §6.2) ----------------------------------------- */

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2,
};

static void sha256_block(uint32_t h[8], const uint8_t *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, k, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = be32(p + 4 * i);
	for (; i < 64; i++) {
		uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);

		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
	for (i = 0; i < 64; i++) {
		t1 = k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] +
		     w[i];
		t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		k = g;
		g = f;
		f = e;
		e = d + t1;
		d = c;
		c = b;
		b = a;
		a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

void pp_sha256_init(struct pp_sha256 *c)
{
	static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
					0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };

	memcpy(c->h, iv, sizeof(iv));
	c->bytes = 0;
	c->n = 0;
}

/* Shared buffering: fill the 64-byte block, run fn on full blocks. */
static void feed(uint32_t *h, uint8_t blk[64], size_t *n, uint64_t *bytes, const uint8_t *p,
		 size_t len, void (*fn)(uint32_t *, const uint8_t *))
{
	*bytes += len;
	if (*n) {
		size_t take = 64 - *n < len ? 64 - *n : len;

		memcpy(blk + *n, p, take);
		*n += take;
		p += take;
		len -= take;
		if (*n < 64)
			return;
		fn(h, blk);
		*n = 0;
	}
	for (; len >= 64; p += 64, len -= 64)
		fn(h, p);
	memcpy(blk, p, len);
	*n = len;
}

static void pad(uint32_t *h, uint8_t blk[64], size_t n, uint64_t bytes,
		void (*fn)(uint32_t *, const uint8_t *))
{
	uint64_t bits = bytes * 8;

	blk[n++] = 0x80;
	if (n > 56) {
		memset(blk + n, 0, 64 - n);
		fn(h, blk);
		n = 0;
	}
	memset(blk + n, 0, 56 - n);
	put_be32(blk + 56, (uint32_t)(bits >> 32));
	put_be32(blk + 60, (uint32_t)bits);
	fn(h, blk);
}

static void sha256_fn(uint32_t *h, const uint8_t *p)
{
	sha256_block(h, p);
}

void pp_sha256_update(struct pp_sha256 *c, const void *data, size_t len)
{
	feed(c->h, c->blk, &c->n, &c->bytes, data, len, sha256_fn);
}

void pp_sha256_final(struct pp_sha256 *c, uint8_t out[32])
{
	pad(c->h, c->blk, c->n, c->bytes, sha256_fn);
	for (int i = 0; i < 8; i++)
		put_be32(out + 4 * i, c->h[i]);
	memset(c, 0, sizeof(*c));
}

/* ---- SHA-1 (FIPS 180-4 §6.1) -------------------------------------------- */

/* Rounds with rotating variable names (no moves between rounds) and the
 * message schedule kept in a 16-word ring. */
#define SHA1_W(i)                                                                          \
	(w[(i) & 15] = rotl(w[((i) + 13) & 15] ^ w[((i) + 8) & 15] ^ w[((i) + 2) & 15] ^      \
				    w[(i) & 15],                                           \
			    1))
#define SHA1_F1(b, c, d) (d ^ (b & (c ^ d)))
#define SHA1_F2(b, c, d) (b ^ c ^ d)
#define SHA1_F3(b, c, d) ((b & c) | (d & (b | c)))
#define SHA1_R(a, b, c, d, e, f, k, x)                                                     \
	do {                                                                               \
		e += rotl(a, 5) + f(b, c, d) + (k) + (x);                                  \
		b = rotl(b, 30);                                                           \
	} while (0)
#define SHA1_5(i, f, k, X)                                                                 \
	do {                                                                               \
		SHA1_R(a, b, c, d, e, f, k, X(i));                                         \
		SHA1_R(e, a, b, c, d, f, k, X((i) + 1));                                   \
		SHA1_R(d, e, a, b, c, f, k, X((i) + 2));                                   \
		SHA1_R(c, d, e, a, b, f, k, X((i) + 3));                                   \
		SHA1_R(b, c, d, e, a, f, k, X((i) + 4));                                   \
	} while (0)
#define SHA1_W0(i) w[i]

static void sha1_fn(uint32_t *h, const uint8_t *p)
{
	uint32_t w[16], a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];

	for (int i = 0; i < 16; i++)
		w[i] = be32(p + 4 * i);
	SHA1_5(0, SHA1_F1, 0x5a827999, SHA1_W0);
	SHA1_5(5, SHA1_F1, 0x5a827999, SHA1_W0);
	SHA1_5(10, SHA1_F1, 0x5a827999, SHA1_W0);
	SHA1_R(a, b, c, d, e, SHA1_F1, 0x5a827999, w[15]);
	SHA1_R(e, a, b, c, d, SHA1_F1, 0x5a827999, SHA1_W(16));
	SHA1_R(d, e, a, b, c, SHA1_F1, 0x5a827999, SHA1_W(17));
	SHA1_R(c, d, e, a, b, SHA1_F1, 0x5a827999, SHA1_W(18));
	SHA1_R(b, c, d, e, a, SHA1_F1, 0x5a827999, SHA1_W(19));
	SHA1_5(20, SHA1_F2, 0x6ed9eba1, SHA1_W);
	SHA1_5(25, SHA1_F2, 0x6ed9eba1, SHA1_W);
	SHA1_5(30, SHA1_F2, 0x6ed9eba1, SHA1_W);
	SHA1_5(35, SHA1_F2, 0x6ed9eba1, SHA1_W);
	SHA1_5(40, SHA1_F3, 0x8f1bbcdc, SHA1_W);
	SHA1_5(45, SHA1_F3, 0x8f1bbcdc, SHA1_W);
	SHA1_5(50, SHA1_F3, 0x8f1bbcdc, SHA1_W);
	SHA1_5(55, SHA1_F3, 0x8f1bbcdc, SHA1_W);
	SHA1_5(60, SHA1_F2, 0xca62c1d6, SHA1_W);
	SHA1_5(65, SHA1_F2, 0xca62c1d6, SHA1_W);
	SHA1_5(70, SHA1_F2, 0xca62c1d6, SHA1_W);
	SHA1_5(75, SHA1_F2, 0xca62c1d6, SHA1_W);
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
}

void pp_sha1_init(struct pp_sha1 *c)
{
	static const uint32_t iv[5] = { 0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476,
					0xc3d2e1f0 };

	memcpy(c->h, iv, sizeof(iv));
	c->bytes = 0;
	c->n = 0;
}

void pp_sha1_update(struct pp_sha1 *c, const void *data, size_t len)
{
	feed(c->h, c->blk, &c->n, &c->bytes, data, len, sha1_fn);
}

void pp_sha1_final(struct pp_sha1 *c, uint8_t out[20])
{
	pad(c->h, c->blk, c->n, c->bytes, sha1_fn);
	for (int i = 0; i < 5; i++)
		put_be32(out + 4 * i, c->h[i]);
	memset(c, 0, sizeof(*c));
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
