/* Fuzz what synchronize reads from the network (daemon/http/sip_msg.c): a
 * SIP response (status line, Via branch, CSeq) and a Digest challenge in a
 * 401/407. Invariants are checked with abort(): a code is 0 or 100-699, the
 * reason is a bounded string without line breaks, an Authorization header
 * is one CRLF-terminated line that fits its buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/http/sip_msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *h, size_t cap)
{
	size_t len = strnlen(h, cap);

	if (len == cap || len < 2 || h[len - 2] != '\r' || h[len - 1] != '\n')
		abort();
	/* one line: no CR or LF before its end */
	if (strpbrk(h, "\r\n") != h + len - 2)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char reason[32], out[600], tiny[40];
	int code;

	code = pp_sip_response_code(buf, size, "z9hG4bKfuzz1", reason, sizeof(reason));
	if (code != 0 && (code < 100 || code > 699))
		abort();
	if (strnlen(reason, sizeof(reason)) == sizeof(reason) || strpbrk(reason, "\r\n"))
		abort();
	(void)pp_sip_response_code(buf, size, "", reason, 1);
	for (int c = 401; c <= 407; c += 6) {
		if (pp_sip_digest_authz(buf, size, c, "1001", "secret", "NOTIFY", "sip:1001@127.0.0.1",
					"0123456789abcdef", out, sizeof(out)) == 0)
			check_line(out, sizeof(out));
		if (pp_sip_digest_authz(buf, size, c, "1001", "", "NOTIFY", "sip:x@[::1]:5060",
					"00", tiny, sizeof(tiny)) == 0)
			check_line(tiny, sizeof(tiny));
	}
	return 0;
}
