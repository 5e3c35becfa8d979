/* Fuzz the HTTP request-path defences: percent-decoding (once), then the
 * pipeline's normalisation; plus the Range, HTTP-date and If-None-Match
 * parsers. Invariants are checked with abort(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/http/http_util.h"
#include "lib/safepath.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *in, size_t len)
{
	char dec[PP_PATH_MAX], norm[PP_PATH_MAX];
	const char *reason = NULL;
	size_t n = 0;

	if (pp_http_decode_path(in, len, dec, sizeof(dec), &n, &reason) != PP_DEC_OK) {
		if (!reason)
			abort();
		return;
	}
	if (n != strlen(dec) || dec[0] != '/' || strchr(dec, '\\'))
		abort();
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)dec[i] < 0x20 || dec[i] == 0x7f)
			abort();
	if (!pp_utf8_valid((const unsigned char *)dec, n))
		abort();
	if (pp_path_normalize(dec, n, norm, sizeof(norm), &reason) != 0)
		return;
	/* a normalised path is relative and has no "." or ".." component */
	if (norm[0] == '/' || norm[0] == '\0')
		abort();
	for (const char *c = norm; c; c = strchr(c, '/') ? strchr(c, '/') + 1 : NULL) {
		size_t cl = strcspn(c, "/");

		if (cl == 0 || (cl == 1 && c[0] == '.') || (cl == 2 && c[0] == '.' && c[1] == '.'))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint64_t start, len, fsize;
	int64_t t;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_path(s, size);
	fsize = size ? (uint64_t)data[0] * 977 : 0;
	switch (pp_http_parse_range(s, fsize, &start, &len)) {
	case PP_RANGE_OK:
		if (len == 0 || start >= fsize || start + len > fsize)
			abort();
		break;
	case PP_RANGE_NONE:
	case PP_RANGE_UNSATISFIABLE:
		break;
	default:
		abort();
	}
	if (pp_http_parse_date(s, &t) == 0) {
		char buf[32];
		int64_t back;

		pp_http_format_date(t, buf);
		if (pp_http_parse_date(buf, &back) != 0 || back != t)
			abort();
	}
	(void)pp_http_etag_match(s, "\"abc-1\"");
	(void)pp_http_content_type(s);
	free(s);
	return 0;
}
