/* Pure helpers of the HTTP file server and API: URL path decoding with
 * traversal defence, Range and HTTP-date parsing, ETag matching, MIME types.
 * No I/O, no global state: unit-tested in tests/http/test_http_util.c. */
#ifndef PP_HTTP_UTIL_H
#define PP_HTTP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pp_decode_rc {
	PP_DEC_OK = 0,
	PP_DEC_BAD = -1,     /* 400: invalid escape, NUL, encoded '/', control byte, bad UTF-8 */
	PP_DEC_TOO_LONG = -2 /* 414: longer than the output buffer */
};

/* Percent-decode a raw request path ("/a%20b.cfg") exactly once into out
 * (NUL-terminated, *outlen without the NUL). Refused: a path not starting
 * with '/', '%' not followed by two hex digits, %00, %2F (an encoded '/' must
 * not become a separator), raw or encoded control bytes and backslashes, and
 * bytes that are not strict UTF-8 (overlong forms such as %C0%AE, surrogates).
 * "%252e" decodes to the literal "%2e" and is never decoded again.
 * *reason is a short static text for logs. */
int pp_http_decode_path(const char *in, size_t len, char *out, size_t outsz, size_t *outlen,
			const char **reason);

/* Decode a query-string value or path segment (percent escapes and '+' as
 * space when plus_space). Same refusals as above except '/' is allowed.
 * Returns PP_DEC_OK or PP_DEC_BAD / PP_DEC_TOO_LONG. */
int pp_http_decode_component(const char *in, size_t len, bool plus_space, char *out,
			     size_t outsz, size_t *outlen);

/* Strict UTF-8 check (no overlong forms, no surrogates, max U+10FFFF). */
bool pp_utf8_valid(const unsigned char *s, size_t len);

enum pp_range_rc {
	PP_RANGE_NONE = 1,          /* no usable single byte range: send the whole file */
	PP_RANGE_OK = 0,            /* *start / *len set: 206 */
	PP_RANGE_UNSATISFIABLE = -1 /* 416 with "Content-Range: bytes * /size" */
};

/* Parse a Range header value for a representation of `size` bytes. Only one
 * byte range is honoured ("bytes=a-b", "bytes=a-", "bytes=-n"); a malformed
 * header or several ranges are ignored (RFC 9110 §14.2 allows that). */
int pp_http_parse_range(const char *hdr, uint64_t size, uint64_t *start, uint64_t *len);

/* HTTP-date (IMF-fixdate, RFC 850 and asctime forms) → seconds since the
 * epoch. Returns 0 or -1. */
int pp_http_parse_date(const char *s, int64_t *out);
/* Seconds since the epoch → IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"). */
void pp_http_format_date(int64_t t, char out[32]);

/* If-None-Match: does the list (or "*") match etag (weak comparison)? */
bool pp_http_etag_match(const char *inm, const char *etag);

/* Content-Type for a file name, by extension. */
const char *pp_http_content_type(const char *path);

#endif
