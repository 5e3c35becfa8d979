/* A YAML document as a small tree that keeps the position of every node, so
 * that validators can report "FILE:LINE:COL: what is wrong". Built on libyaml.
 * Anchors and aliases are refused (clear error), multi-document files too. */
#ifndef PP_YAMLTREE_H
#define PP_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include "common.h"

enum pp_ytype { PP_Y_SCALAR, PP_Y_MAP, PP_Y_SEQ };

struct pp_ynode {
	enum pp_ytype type;
	int line, col;       /* 1-based position of the node's first character */
	const char *file;    /* the document's file name (shared, owned by the doc) */
	/* scalar */
	char *str;           /* NUL-terminated value (may contain NUL: see len) */
	size_t len;
	bool plain;          /* unquoted scalar: subject to null/bool/int typing */
	/* map: keys[i] -> vals[i]; seq: vals[i] */
	size_t n;
	struct pp_ynode **keys;
	struct pp_ynode **vals;
};

struct pp_ydoc {
	char *file;
	struct pp_ynode *root; /* NULL for an empty document */
};

int pp_yaml_load_file(const char *path, struct pp_ydoc **out, struct pp_err *err);
int pp_yaml_load_buf(const char *name, const char *buf, size_t len,
		     struct pp_ydoc **out, struct pp_err *err);
void pp_ydoc_free(struct pp_ydoc *doc);

/* Map lookup by key (NULL when absent or node is not a map). */
struct pp_ynode *pp_ymap_get(const struct pp_ynode *map, const char *key);

/* Validation helpers. Each returns PP_OK, or PP_EINVAL with err set to
 * "FILE:LINE:COL: <what>". `what` names the key for messages, e.g. "tftp.retries". */
int pp_y_expect(const struct pp_ynode *n, enum pp_ytype t, const char *what, struct pp_err *err);
int pp_y_check_keys(const struct pp_ynode *map, const char *const *allowed, const char *what,
		    struct pp_err *err); /* allowed: NULL-terminated; unknown key -> error at key */
int pp_y_str(const struct pp_ynode *n, const char *what, const char **out, struct pp_err *err);
int pp_y_bool(const struct pp_ynode *n, const char *what, bool *out, struct pp_err *err);
int pp_y_int(const struct pp_ynode *n, const char *what, long long min, long long max,
	     long long *out, struct pp_err *err);
/* Set err at the node's position. */
void pp_y_err(struct pp_err *err, const struct pp_ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Convert to JSON: plain scalars become null/true/false/integer/real where
 * they look like one (YAML 1.2 core schema), quoted scalars stay strings. */
json_t *pp_ynode_to_json(const struct pp_ynode *n);

#endif
