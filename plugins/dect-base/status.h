/* The status page of a DECT base station (docs/flavors.md, "The DECT status
 * page"): text, one `key=value` per line. No I/O: bytes in, JSON out. */
#ifndef DECT_STATUS_H
#define DECT_STATUS_H

#include <stddef.h>
#include <jansson.h>

#define DECT_STATUS_MAX (1024 * 1024) /* bytes of a page */
#define DECT_HANDSETS_MAX 512

/* Parse len bytes (need not be NUL-terminated). Returns 0 and *out =
 * {"base": {...}, "handsets": [{"index", "ipui", ...}, ...]} (new, handsets
 * by index), or -1 with "line N: what" in err (errn bytes). */
int dect_status_parse(const char *buf, size_t len, json_t **out, char *err, size_t errn);

#endif
