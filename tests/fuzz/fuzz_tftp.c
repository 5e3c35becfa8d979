/* libFuzzer harness for the TFTP packet parser (daemon/tftp/tftp_proto.c):
 * requests with options, ACK, ERROR, the OACK/ERROR builders and the
 * netascii encoder, with invariants checked. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/tftp/tftp_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const uint8_t *data, size_t size)
{
	struct tftp_req r;
	const char *why = NULL;
	uint8_t out[600];

	if (tftp_parse_request(data, size, &r, &why) != 0) {
		if (!why)
			abort();
		return;
	}
	if (r.opcode != TFTP_RRQ && r.opcode != TFTP_WRQ)
		abort();
	if (r.file < (const char *)data || r.file + r.file_len > (const char *)data + size ||
	    memchr(r.file, 0, r.file_len))
		abort();
	if ((r.blksize != -1 && r.blksize < TFTP_BLKSIZE_MIN) ||
	    (r.timeout != -1 && (r.timeout < 1 || r.timeout > TFTP_TIMEOUT_MAX)) ||
	    (r.windowsize != -1 && r.windowsize < 1) || r.tsize < -1)
		abort();
	struct tftp_oack o = { r.blksize, r.timeout, r.tsize, r.windowsize };
	size_t n = tftp_build_oack(out, sizeof(out), &o);

	if (n < 2 || n > sizeof(out))
		abort();
	/* the OACK we build must parse back as option pairs: reuse the request
	 * parser by prefixing a dummy name and mode */
	uint8_t again[700];

	memcpy(again, "\0\1f\0octet\0", 10);
	memcpy(again + 10, out + 2, n - 2);
	struct tftp_req r2;

	if (tftp_parse_request(again, 10 + n - 2, &r2, &why) != 0 || r2.blksize != r.blksize ||
	    r2.timeout != r.timeout || r2.tsize != r.tsize || r2.windowsize != r.windowsize)
		abort();
}

static void check_netascii(const uint8_t *data, size_t size)
{
	uint8_t whole[2 * 256], parts[2 * 256];
	struct tftp_na a, b;
	size_t n = size > 256 ? 256 : size, wn, pn = 0;
	size_t step = size ? (data[0] % 7) + 1 : 1;

	tftp_na_init(&a);
	wn = tftp_na_encode(&a, data, n, whole, sizeof(whole));
	if (a.in_off != n || wn != n + tftp_na_count_extra(data, n) || a.pending != -1)
		abort();
	/* the same bytes produced in small pieces are identical */
	tftp_na_init(&b);
	while (pn < wn) {
		size_t got = tftp_na_encode(&b, data + b.in_off, n - b.in_off, parts + pn, step);

		if (got == 0 || got > step)
			abort();
		pn += got;
	}
	if (pn != wn || memcmp(whole, parts, wn) != 0 || b.out_off != wn)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t blk, code;
	const char *msg;
	size_t mlen;
	uint8_t err[64];

	check_request(data, size);
	if (tftp_parse_ack(data, size, &blk) == 0 && size < 4)
		abort();
	if (tftp_parse_error(data, size, &code, &msg, &mlen) == 0) {
		if (msg + mlen > (const char *)data + size)
			abort();
		char m[64];
		size_t k = mlen < sizeof(m) - 1 ? mlen : sizeof(m) - 1;

		memcpy(m, msg, k);
		m[k] = 0;
		size_t n = tftp_build_error(err, sizeof(err), code, m);

		if (n < 5 || n > sizeof(err) || err[n - 1] != 0)
			abort();
	}
	check_netascii(data, size);
	return 0;
}
