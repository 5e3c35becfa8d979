/* Mustache templates: compiled once, rendered many times against JSON data.
 * Core spec + inheritance (parents/blocks). No lambdas. */
#ifndef PP_MUSTACHE_H
#define PP_MUSTACHE_H

#include <jansson.h>
#include "../common.h"

struct mst_tpl;

struct mst_error {
	char msg[512]; /* "template:line:col: what" */
};

enum mst_escape {
	MST_ESCAPE_HTML = 0, /* {{x}} escapes & < > " ' (spec behaviour) */
	MST_ESCAPE_NONE = 1, /* plain-text configs: {{x}} is not escaped */
};

/* Partials and parents are looked up by name at render time (partials may be
 * recursive). Return NULL when the name is unknown. */
typedef const struct mst_tpl *(*mst_lookup_fn)(void *ud, const char *name, size_t len);

/* Compile src (len bytes) named `name` (used in errors). */
int mst_compile(const char *name, const char *src, size_t len, struct mst_tpl **out,
		struct mst_error *err);
void mst_free(struct mst_tpl *t);
const char *mst_name(const struct mst_tpl *t);

/* Names of the partials/parents a template refers to (for load-time checks):
 * calls cb for each distinct name. */
void mst_each_ref(const struct mst_tpl *t, void (*cb)(void *arg, const char *name, size_t len),
		  void *arg);

/* Render, appending to out. Missing partials render as empty text (spec);
 * with strict = 1 a missing partial is an error naming template:line:col. */
int mst_render(const struct mst_tpl *t, const json_t *data, enum mst_escape esc,
	       mst_lookup_fn lookup, void *ud, int strict, struct pp_buf *out,
	       struct mst_error *err);

#endif
