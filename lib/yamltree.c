/* YAML → position-keeping node tree (libyaml event API). */
#include "yamltree.h"
#include "fs.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <yaml.h>

#define PP_YAML_MAX_DEPTH 64
#define PP_YAML_MAX_FILE (16u << 20)

static void node_free(struct pp_ynode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++) {
		if (n->keys)
			node_free(n->keys[i]);
		node_free(n->vals[i]);
	}
	free(n->keys);
	free(n->vals);
	free(n->str);
	free(n);
}

void pp_ydoc_free(struct pp_ydoc *doc)
{
	if (!doc)
		return;
	node_free(doc->root);
	free(doc->file);
	free(doc);
}

struct builder {
	yaml_parser_t parser;
	const char *file;
	struct pp_err *err;
};

static struct pp_ynode *node_new(struct builder *b, enum pp_ytype t, const yaml_mark_t *m)
{
	struct pp_ynode *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->type = t;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	n->file = b->file;
	return n;
}

static int push(struct pp_ynode *parent, struct pp_ynode *key, struct pp_ynode *val)
{
	size_t cap = parent->n + 1;
	struct pp_ynode **v = realloc(parent->vals, cap * sizeof(*v));

	if (!v)
		return PP_ENOMEM;
	parent->vals = v;
	if (parent->type == PP_Y_MAP) {
		struct pp_ynode **k = realloc(parent->keys, cap * sizeof(*k));

		if (!k)
			return PP_ENOMEM;
		parent->keys = k;
		k[parent->n] = key;
	}
	v[parent->n++] = val;
	return PP_OK;
}

static int parse_error(struct builder *b)
{
	yaml_parser_t *p = &b->parser;
	const yaml_mark_t *m = p->problem ? &p->problem_mark : &p->context_mark;

	pp_err_at(b->err, b->file, (int)m->line + 1, (int)m->column + 1, "YAML syntax error: %s%s%s",
		  p->problem ? p->problem : "malformed document", p->context ? " " : "",
		  p->context ? p->context : "");
	return PP_EINVAL;
}

/* Parse one node whose first event is ev (taken over). */
static int parse_node(struct builder *b, yaml_event_t *ev, int depth, struct pp_ynode **out)
{
	struct pp_ynode *n = NULL;
	yaml_event_t e;
	int rc = PP_OK;

	*out = NULL;
	if (depth > PP_YAML_MAX_DEPTH) {
		pp_err_at(b->err, b->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			  "nesting deeper than %d levels", PP_YAML_MAX_DEPTH);
		yaml_event_delete(ev);
		return PP_EINVAL;
	}
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		pp_err_at(b->err, b->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			  "aliases (*%s) are not supported", ev->data.alias.anchor);
		yaml_event_delete(ev);
		return PP_EINVAL;
	case YAML_SCALAR_EVENT:
		if (ev->data.scalar.anchor) {
			pp_err_at(b->err, b->file, (int)ev->start_mark.line + 1,
				  (int)ev->start_mark.column + 1, "anchors (&%s) are not supported",
				  ev->data.scalar.anchor);
			yaml_event_delete(ev);
			return PP_EINVAL;
		}
		n = node_new(b, PP_Y_SCALAR, &ev->start_mark);
		if (!n) {
			yaml_event_delete(ev);
			return PP_ENOMEM;
		}
		n->len = ev->data.scalar.length;
		n->str = malloc(n->len + 1);
		if (!n->str) {
			free(n);
			yaml_event_delete(ev);
			return PP_ENOMEM;
		}
		memcpy(n->str, ev->data.scalar.value, n->len);
		n->str[n->len] = '\0';
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !ev->data.scalar.tag;
		yaml_event_delete(ev);
		*out = n;
		return PP_OK;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		int is_map = ev->type == YAML_MAPPING_START_EVENT;
		const unsigned char *anchor =
			is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;

		if (anchor) {
			pp_err_at(b->err, b->file, (int)ev->start_mark.line + 1,
				  (int)ev->start_mark.column + 1, "anchors (&%s) are not supported",
				  anchor);
			yaml_event_delete(ev);
			return PP_EINVAL;
		}
		n = node_new(b, is_map ? PP_Y_MAP : PP_Y_SEQ, &ev->start_mark);
		yaml_event_delete(ev);
		if (!n)
			return PP_ENOMEM;
		for (;;) {
			struct pp_ynode *key = NULL, *val = NULL;

			if (!yaml_parser_parse(&b->parser, &e)) {
				rc = parse_error(b);
				break;
			}
			if (e.type == YAML_SEQUENCE_END_EVENT || e.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&e);
				break;
			}
			rc = parse_node(b, &e, depth + 1, is_map ? &key : &val);
			if (rc)
				break;
			if (is_map) {
				if (key->type != PP_Y_SCALAR) {
					pp_y_err(b->err, key, "mapping keys must be plain scalars");
					node_free(key);
					rc = PP_EINVAL;
					break;
				}
				for (size_t i = 0; i < n->n; i++) {
					if (strcmp(n->keys[i]->str, key->str) == 0) {
						pp_y_err(b->err, key, "duplicate key '%s' (first at line %d)",
							 key->str, n->keys[i]->line);
						node_free(key);
						rc = PP_EINVAL;
						break;
					}
				}
				if (rc)
					break;
				if (!yaml_parser_parse(&b->parser, &e)) {
					node_free(key);
					rc = parse_error(b);
					break;
				}
				rc = parse_node(b, &e, depth + 1, &val);
				if (rc) {
					node_free(key);
					break;
				}
			}
			rc = push(n, key, val);
			if (rc) {
				node_free(key);
				node_free(val);
				break;
			}
		}
		if (rc) {
			node_free(n);
			return rc;
		}
		*out = n;
		return PP_OK;
	}
	default:
		pp_err_at(b->err, b->file, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
			  "unexpected YAML event");
		yaml_event_delete(ev);
		return PP_EINVAL;
	}
}

int pp_yaml_load_buf(const char *name, const char *buf, size_t len, struct pp_ydoc **out,
		     struct pp_err *err)
{
	struct builder b;
	struct pp_ydoc *doc;
	yaml_event_t e;
	int rc = PP_OK, docs = 0;

	*out = NULL;
	doc = calloc(1, sizeof(*doc));
	if (!doc || !(doc->file = strdup(name))) {
		free(doc);
		pp_err_set(err, "%s: out of memory", name);
		return PP_ENOMEM;
	}
	memset(&b, 0, sizeof(b));
	b.file = doc->file;
	b.err = err;
	if (!yaml_parser_initialize(&b.parser)) {
		pp_ydoc_free(doc);
		pp_err_set(err, "%s: out of memory", name);
		return PP_ENOMEM;
	}
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
	for (;;) {
		if (!yaml_parser_parse(&b.parser, &e)) {
			rc = parse_error(&b);
			break;
		}
		if (e.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&e);
			break;
		}
		if (e.type == YAML_DOCUMENT_START_EVENT) {
			if (++docs > 1) {
				pp_err_at(err, b.file, (int)e.start_mark.line + 1,
					  (int)e.start_mark.column + 1,
					  "only one YAML document per file is allowed");
				yaml_event_delete(&e);
				rc = PP_EINVAL;
				break;
			}
			yaml_event_delete(&e);
			continue;
		}
		if (e.type == YAML_STREAM_START_EVENT || e.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&e);
			continue;
		}
		rc = parse_node(&b, &e, 0, &doc->root);
		if (rc)
			break;
	}
	yaml_parser_delete(&b.parser);
	if (rc) {
		pp_ydoc_free(doc);
		return rc;
	}
	*out = doc;
	return PP_OK;
}

int pp_yaml_load_file(const char *path, struct pp_ydoc **out, struct pp_err *err)
{
	char *buf;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = pp_file_read(path, PP_YAML_MAX_FILE, &buf, &len, err)) != PP_OK)
		return rc;
	rc = pp_yaml_load_buf(path, buf, len, out, err);
	free(buf);
	return rc;
}

struct pp_ynode *pp_ymap_get(const struct pp_ynode *map, const char *key)
{
	size_t i;

	if (!map || map->type != PP_Y_MAP)
		return NULL;
	for (i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->str, key) == 0)
			return map->vals[i];
	return NULL;
}

void pp_y_err(struct pp_err *err, const struct pp_ynode *n, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	pp_err_at(err, n->file, n->line, n->col, "%s", what);
}

static const char *type_name(enum pp_ytype t)
{
	return t == PP_Y_MAP ? "a mapping" : t == PP_Y_SEQ ? "a list" : "a scalar";
}

int pp_y_expect(const struct pp_ynode *n, enum pp_ytype t, const char *what, struct pp_err *err)
{
	if (n->type == t)
		return PP_OK;
	pp_y_err(err, n, "%s must be %s, not %s", what, type_name(t), type_name(n->type));
	return PP_EINVAL;
}

int pp_y_check_keys(const struct pp_ynode *map, const char *const *allowed, const char *what,
		    struct pp_err *err)
{
	size_t i;

	if (pp_y_expect(map, PP_Y_MAP, what, err))
		return PP_EINVAL;
	for (i = 0; i < map->n; i++) {
		const char *const *a;

		for (a = allowed; *a; a++)
			if (strcmp(*a, map->keys[i]->str) == 0)
				break;
		if (!*a) {
			if (what && *what)
				pp_y_err(err, map->keys[i], "unknown key '%s' in %s", map->keys[i]->str,
					 what);
			else
				pp_y_err(err, map->keys[i], "unknown key '%s'", map->keys[i]->str);
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

int pp_y_str(const struct pp_ynode *n, const char *what, const char **out, struct pp_err *err)
{
	if (n->type != PP_Y_SCALAR) {
		pp_y_err(err, n, "%s must be a string, not %s", what, type_name(n->type));
		return PP_EINVAL;
	}
	if (strlen(n->str) != n->len) {
		pp_y_err(err, n, "%s must not contain NUL bytes", what);
		return PP_EINVAL;
	}
	*out = n->str;
	return PP_OK;
}

int pp_y_bool(const struct pp_ynode *n, const char *what, bool *out, struct pp_err *err)
{
	if (n->type == PP_Y_SCALAR && n->plain) {
		if (!strcmp(n->str, "true") || !strcmp(n->str, "True") || !strcmp(n->str, "TRUE")) {
			*out = true;
			return PP_OK;
		}
		if (!strcmp(n->str, "false") || !strcmp(n->str, "False") || !strcmp(n->str, "FALSE")) {
			*out = false;
			return PP_OK;
		}
	}
	if (n->type == PP_Y_SCALAR)
		pp_y_err(err, n, "%s must be true or false, not '%s'", what, n->str);
	else
		pp_y_err(err, n, "%s must be true or false, not %s", what, type_name(n->type));
	return PP_EINVAL;
}

static int parse_ll(const char *s, long long *out)
{
	char *end;

	if (!*s || (!isdigit((unsigned char)*s) && *s != '-' && *s != '+'))
		return -1;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	return 0;
}

int pp_y_int(const struct pp_ynode *n, const char *what, long long min, long long max,
	     long long *out, struct pp_err *err)
{
	long long v;

	if (n->type != PP_Y_SCALAR || !n->plain || parse_ll(n->str, &v) != 0) {
		if (n->type == PP_Y_SCALAR)
			pp_y_err(err, n, "%s must be an integer, not '%s'", what, n->str);
		else
			pp_y_err(err, n, "%s must be an integer, not %s", what, type_name(n->type));
		return PP_EINVAL;
	}
	if (v < min || v > max) {
		pp_y_err(err, n, "%s must be between %lld and %lld, not %lld", what, min, max, v);
		return PP_EINVAL;
	}
	*out = v;
	return PP_OK;
}

static json_t *scalar_to_json(const struct pp_ynode *n)
{
	const char *s = n->str;
	long long ll;
	char *end;
	double d;

	if (!n->plain)
		return json_stringn(s, n->len);
	if (!*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	/* integers: no leading zeros (so "0010" phone extensions stay strings) */
	if (parse_ll(s, &ll) == 0) {
		const char *digits = (*s == '-' || *s == '+') ? s + 1 : s;

		if (!(digits[0] == '0' && digits[1]))
			return json_integer(ll);
	}
	if ((isdigit((unsigned char)*s) || ((*s == '-' || *s == '+' || *s == '.') && s[1])) &&
	    strpbrk(s, ".eE")) {
		errno = 0;
		d = strtod(s, &end);
		if (!errno && !*end && isfinite(d) && strspn(s, "0123456789+-.eE") == strlen(s))
			return json_real(d);
	}
	return json_stringn(s, n->len);
}

json_t *pp_ynode_to_json(const struct pp_ynode *n)
{
	json_t *j;
	size_t i;

	if (!n)
		return json_null();
	switch (n->type) {
	case PP_Y_SCALAR:
		return scalar_to_json(n);
	case PP_Y_SEQ:
		j = json_array();
		for (i = 0; j && i < n->n; i++)
			if (json_array_append_new(j, pp_ynode_to_json(n->vals[i])) != 0) {
				json_decref(j);
				return NULL;
			}
		return j;
	case PP_Y_MAP:
		j = json_object();
		for (i = 0; j && i < n->n; i++)
			if (json_object_setn_new(j, n->keys[i]->str, n->keys[i]->len,
						 pp_ynode_to_json(n->vals[i])) != 0) {
				json_decref(j);
				return NULL;
			}
		return j;
	}
	return NULL;
}
