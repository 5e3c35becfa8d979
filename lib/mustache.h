/* Mustache templates: compiled once, rendered many times against JSON data.
 * Core spec + the optional inheritance (parents/blocks) and dynamic-names
 * modules. No lambdas.
 *
 * Dynamic names: in {{>*name}} and {{<*name}}...{{/ *name}} the template's
 * name is not written in the tag but taken from the data: `name` (a dotted
 * name, resolved through the context stack exactly like {{name}}, nothing
 * pushed) must hold a string, which is then looked up as a partial/parent.
 * Whitespace around the '*' is ignored ({{> * name }}); the name is
 * dereferenced once ({{>**x}} looks up the key "*x"). A dynamic parent is
 * closed by a tag holding the same "*name" after the slash. */
#ifndef PP_MUSTACHE_H
#define PP_MUSTACHE_H

#include <jansson.h>
#include "common.h"

struct mst_tpl;

struct mst_error {
	char msg[512]; /* "template:line:col: what" */
};

enum mst_escape {
	MST_ESCAPE_HTML = 0, /* {{x}} escapes & < > " ' (spec behaviour) */
	MST_ESCAPE_NONE = 1, /* plain-text configs: {{x}} is not escaped */
};

/* Partials and parents are looked up by name at render time (partials may be
 * recursive). Return NULL when the name is unknown. For a dynamic name the
 * name comes from the data being rendered: any bytes of any length (empty,
 * '/', "..", NUL), so treat it as a key into a table of loaded templates,
 * never as a file path. name is not NUL-terminated; it is valid only during
 * the call. */
typedef const struct mst_tpl *(*mst_lookup_fn)(void *ud, const char *name, size_t len);

/* Compile src (len bytes) named `name` (used in errors). */
int mst_compile(const char *name, const char *src, size_t len, struct mst_tpl **out,
		struct mst_error *err);
void mst_free(struct mst_tpl *t);
const char *mst_name(const struct mst_tpl *t);

/* Names of the partials/parents a template refers to (for load-time checks):
 * calls cb for each distinct static name ({{>name}}, {{<name}}). Dynamic
 * names ({{>*name}}, {{<*name}}) are not reported: they are keys of the data,
 * not template names, and what they name is known only when rendering (strict
 * mode reports a dynamic name that names no template then). */
void mst_each_ref(const struct mst_tpl *t, void (*cb)(void *arg, const char *name, size_t len),
		  void *arg);

/* Render, appending to out. Missing partials render as empty text (spec);
 * with strict = 1 a missing partial is an error naming template:line:col.
 * Dynamic names: when the name is missing from the data, is not a string, or
 * names no template, the tag renders nothing (spec); with strict = 1 each of
 * these is an error naming template:line:col and the cause, e.g.
 *   "t.mustache:3:1: dynamic partial '*keys': 'keys' is missing from the data"
 *   "t.mustache:3:1: dynamic partial '*keys': 'keys' is a number, not a
 *    template name"
 *   "t.mustache:3:1: partial 'T99' not found (name from '*keys')"
 * (bytes of the data-given name other than printable ASCII appear as \xNN).
 * An optional dynamic partial is written {{#keys}}{{>*keys}}{{/keys}}.
 * Recursion through partials, dynamic or not, stops with an error after
 * 1024 levels. Returns PP_OK, PP_EINVAL (err->msg says why) or PP_ENOMEM. */
int mst_render(const struct mst_tpl *t, const json_t *data, enum mst_escape esc,
	       mst_lookup_fn lookup, void *ud, int strict, struct pp_buf *out,
	       struct mst_error *err);

#endif
