/* The web console's files, embedded at build time (scripts/embed_console.py
 * from console/) and served by the API listener (api_console.c). */
#ifndef PP_API_CONSOLE_H
#define PP_API_CONSOLE_H

#include <stddef.h>

struct pp_console_file {
	const char *name;           /* "app.js": served as /console/app.js */
	const char *type;           /* Content-Type */
	const unsigned char *data;
	size_t len;
	const char *etag;           /* quoted, a hash of the bytes */
};
extern const struct pp_console_file pp_console_files[];
extern const size_t pp_console_n_files;

#endif
