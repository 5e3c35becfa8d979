/* The SIP text synchronize reads from the network (sip_msg.c): a response's
 * status line and headers, a Digest challenge. Pure functions, no I/O, so
 * that tests/fuzz/fuzz_sip.c can drive them. */
#ifndef PP_SIP_MSG_H
#define PP_SIP_MSG_H

#include <stddef.h>

/* The status code (100-699) of the SIP response in buf[0..n) when its Via
 * carries branch and its CSeq names NOTIFY, else 0; reason gets the reason
 * phrase (cut to rn - 1 bytes). buf need not be NUL-terminated. */
int pp_sip_response_code(const char *buf, size_t n, const char *branch, char *reason,
			 size_t rn);

/* The Authorization (code 401) or Proxy-Authorization (407) header line,
 * CRLF included, answering the MD5 Digest challenge of the response in
 * resp[0..n) (RFC 2617; qop=auth when offered) for method and uri with the
 * given credentials and client nonce. 0, or -1 when there is no usable
 * challenge (none, not Digest, no nonce, another algorithm) or out is too
 * small. */
int pp_sip_digest_authz(const char *resp, size_t n, int code, const char *user,
			const char *password, const char *method, const char *uri,
			const char *cnonce, char *out, size_t outn);

#endif
