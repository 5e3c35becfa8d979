/* Mustache engine: a template is tokenised once, standalone lines are
 * resolved, and the result is stored as a flat pre-order node array whose
 * text spans, names and indentation strings live in one byte pool. Rendering
 * walks that array against jansson data with no allocation besides the
 * output buffer: context frames, override frames and the indentation buffer
 * live on the C stack. */
#include "mustache.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MST_MAX_NEST 512     /* section nesting inside one template */
#define MST_MAX_DEPTH 1024   /* render recursion (sections + partials + blocks) */
#define MST_MAX_INDENT 4096  /* accumulated partial/block indentation */
#define MST_MAX_DELIM 32
#define MST_SLOTS 32         /* memoised names per section body */
#define MST_MAX_CALLS (1u << 22)          /* bodies expanded in one render */
#define MST_MAX_OUTPUT ((size_t)256 << 20) /* bytes produced by one render */

enum ntype { N_TEXT, N_VAR, N_SECTION, N_INVERTED, N_PARTIAL, N_PARENT, N_BLOCK };

struct part {
	uint32_t off, len; /* in pool */
};

struct sname {
	uint32_t off, len; /* memoised name (in pool) */
	uint32_t simple;   /* 1 = no dots: can be taken straight from the top object */
};

struct node {
	uint8_t type;
	uint8_t raw;        /* N_VAR: never escaped ({{{x}}} / {{&x}}) */
	uint8_t standalone; /* partial/parent/block tag alone on its line */
	uint8_t dyn;        /* partial/parent: {{>*name}}, the name is a value of the data */
	int8_t slot;        /* var/section: memo slot in the enclosing body, -1 none */
	uint8_t nslots;     /* section/inverted/block: memo slots its body uses */
	uint16_t nparts;    /* dotted name parts; 0 = implicit iterator "." */
	uint32_t part;      /* first part in tpl->parts */
	uint32_t off, len;  /* N_TEXT: bytes; others: full name (both in pool) */
	uint32_t ind_off, ind_len; /* indentation added to what the tag expands to */
	uint32_t pre_off, pre_len; /* N_VAR: static text emitted before the value */
	uint32_t end;       /* index just past this node's subtree */
	uint32_t slot_base; /* section/inverted/block: first of nslots in tpl->snames */
	uint32_t line, col;
};

struct mst_tpl {
	char *name;
	char *pool;
	struct node *nodes;
	uint32_t nnodes;
	struct part *parts;
	uint32_t nparts;
	uint32_t root_slots, root_base;
	struct sname *snames;
};

/* ------------------------------------------------------------------ */
/* Tokeniser                                                           */

enum { T_TEXT = 't', T_DEL = 'x' };

struct tok {
	char kind;          /* T_TEXT, T_DEL or the tag kind: v & # ^ / ! > < $ = */
	uint8_t bol;        /* text starting at the beginning of a source line */
	uint8_t standalone;
	uint8_t dyn;        /* > < /: dynamic name ("*name"); off/len exclude the '*' */
	uint32_t off, len;  /* text span, or trimmed tag name, in the source */
	uint32_t line, col;
	uint32_t ws_off, ws_len; /* leading whitespace of a standalone line */
	uint32_t group;     /* source line group (tokens up to a text '\n') */
	int32_t match;      /* open <-> close */
};

struct cs {
	const char *name;
	const char *s;
	size_t n;
	struct mst_error *err;
	struct tok *t;
	size_t nt, ct;
	char od[MST_MAX_DELIM], cd[MST_MAX_DELIM];
	size_t odl, cdl;
	uint32_t line;
	size_t line_start;
	uint32_t group;
};

static int cerr(struct cs *c, uint32_t line, uint32_t col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cerr(struct cs *c, uint32_t line, uint32_t col, const char *fmt, ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (c->err)
		snprintf(c->err->msg, sizeof(c->err->msg), "%s:%u:%u: %s", c->name, line, col,
			 what);
	return PP_EINVAL;
}

static struct tok *push_tok(struct cs *c)
{
	if (c->nt == c->ct) {
		size_t nc = c->ct ? c->ct * 2 : 64;
		struct tok *nt = realloc(c->t, nc * sizeof(*nt));

		if (!nt)
			return NULL;
		c->t = nt;
		c->ct = nc;
	}
	struct tok *t = &c->t[c->nt++];

	memset(t, 0, sizeof(*t));
	t->match = -1;
	t->group = c->group;
	return t;
}

static void advance_lines(struct cs *c, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++) {
		if (c->s[i] == '\n') {
			c->line++;
			c->line_start = i + 1;
		}
	}
}

/* Text is split after every newline so that each source line is a group. */
static int add_text(struct cs *c, size_t p, size_t e)
{
	while (p < e) {
		const char *nl = memchr(c->s + p, '\n', e - p);
		size_t se = nl ? (size_t)(nl - c->s) + 1 : e;
		struct tok *t = push_tok(c);

		if (!t)
			return PP_ENOMEM;
		t->kind = T_TEXT;
		t->off = (uint32_t)p;
		t->len = (uint32_t)(se - p);
		t->bol = p == 0 || c->s[p - 1] == '\n';
		t->line = c->line;
		t->col = (uint32_t)(p - c->line_start + 1);
		if (nl) {
			c->group++;
			c->line++;
			c->line_start = se;
		}
		p = se;
	}
	return PP_OK;
}

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

static const char *find(const char *s, size_t n, const char *needle, size_t nl)
{
	return memmem(s, n, needle, nl);
}

/* "{{=<% %>=}}": content is the text between the two '='. */
static int set_delims(struct cs *c, const char *p, size_t n, uint32_t line, uint32_t col)
{
	size_t i = 0, a0, a1, b0, b1;

	while (i < n && is_ws(p[i]))
		i++;
	a0 = i;
	while (i < n && !is_ws(p[i]))
		i++;
	a1 = i;
	while (i < n && is_ws(p[i]))
		i++;
	b0 = i;
	while (i < n && !is_ws(p[i]))
		i++;
	b1 = i;
	while (i < n && is_ws(p[i]))
		i++;
	if (a1 == a0 || b1 == b0 || i != n)
		return cerr(c, line, col, "bad delimiter tag: expected two delimiters separated "
			    "by whitespace");
	if (a1 - a0 >= MST_MAX_DELIM || b1 - b0 >= MST_MAX_DELIM)
		return cerr(c, line, col, "bad delimiter tag: delimiter longer than %d bytes",
			    MST_MAX_DELIM - 1);
	if (memchr(p + a0, '=', a1 - a0) || memchr(p + b0, '=', b1 - b0))
		return cerr(c, line, col, "bad delimiter tag: delimiters may not contain '='");
	memcpy(c->od, p + a0, a1 - a0);
	c->odl = a1 - a0;
	memcpy(c->cd, p + b0, b1 - b0);
	c->cdl = b1 - b0;
	return PP_OK;
}

/* dyn: the name of a dynamic partial/parent tag after its '*'. It is a
 * dotted name looked up in the data like {{name}}; any first character is
 * allowed ("{{>**x}}" looks up the key "*x": names are dereferenced once). */
static int check_name(struct cs *c, char kind, bool dyn, const char *p, size_t n,
		      uint32_t line, uint32_t col)
{
	if (kind == '!' || kind == '=')
		return PP_OK;
	if (n == 0)
		return cerr(c, line, col, dyn ? "empty dynamic name after '*'" : "empty tag");
	for (size_t i = 0; i < n; i++)
		if (is_ws(p[i]))
			return cerr(c, line, col, "invalid tag name '%s%.*s': contains whitespace",
				    dyn ? "*" : "", (int)(n > 64 ? 64 : n), p);
	if (!dyn && p[0] == '*')
		return cerr(c, line, col, "dynamic name '%.*s' is only allowed in a partial "
			    "({{>*name}}) or parent ({{<*name}}) tag", (int)(n > 64 ? 64 : n), p);
	if (!dyn && strchr("%+@:?~|\\", p[0]))
		return cerr(c, line, col, "unknown tag type '%c'", p[0]);
	if (!dyn && (kind == '>' || kind == '<' || kind == '$'))
		return PP_OK;
	if (n == 1 && p[0] == '.')
		return PP_OK;
	for (size_t i = 0; i < n; i++)
		if (p[i] == '.' && (i == 0 || i + 1 == n || p[i + 1] == '.'))
			return cerr(c, line, col, "invalid dotted name '%s%.*s'", dyn ? "*" : "",
				    (int)(n > 64 ? 64 : n), p);
	return PP_OK;
}

static int tokenize(struct cs *c)
{
	size_t p = 0;
	int rc;

	while (p < c->n) {
		const char *o = find(c->s + p, c->n - p, c->od, c->odl);
		size_t ts = o ? (size_t)(o - c->s) : c->n;

		rc = add_text(c, p, ts);
		if (rc)
			return rc;
		if (!o)
			break;
		uint32_t line = c->line, col = (uint32_t)(ts - c->line_start + 1);
		size_t q = ts + c->odl, cs0, cs1, end;
		char kind;

		if (q < c->n && c->s[q] == '{') {
			/* triple mustache: '{' name '}' + closing delimiter */
			char needle[MST_MAX_DELIM + 1];
			const char *e;

			needle[0] = '}';
			memcpy(needle + 1, c->cd, c->cdl);
			e = find(c->s + q + 1, c->n - q - 1, needle, c->cdl + 1);
			if (!e)
				return cerr(c, line, col, "unclosed tag: missing '}%.*s'",
					    (int)c->cdl, c->cd);
			kind = '&';
			cs0 = q + 1;
			cs1 = (size_t)(e - c->s);
			end = cs1 + 1 + c->cdl;
		} else if (q < c->n && c->s[q] == '=') {
			char needle[MST_MAX_DELIM + 1];
			const char *e;

			needle[0] = '=';
			memcpy(needle + 1, c->cd, c->cdl);
			e = find(c->s + q + 1, c->n - q - 1, needle, c->cdl + 1);
			if (!e)
				return cerr(c, line, col, "bad delimiter tag: missing '=%.*s'",
					    (int)c->cdl, c->cd);
			kind = '=';
			cs0 = q + 1;
			cs1 = (size_t)(e - c->s);
			end = cs1 + 1 + c->cdl;
		} else {
			const char *e = find(c->s + q, c->n - q, c->cd, c->cdl);

			if (!e)
				return cerr(c, line, col, "unclosed tag: missing '%.*s'",
					    (int)c->cdl, c->cd);
			cs0 = q;
			cs1 = (size_t)(e - c->s);
			end = cs1 + c->cdl;
			kind = 'v';
			if (cs0 < cs1 && strchr("&#^/!><$", c->s[cs0]) && c->s[cs0] != '\0') {
				kind = c->s[cs0];
				cs0++;
			}
		}
		bool dyn = false;

		if (kind != '!' && kind != '=') {
			while (cs0 < cs1 && is_ws(c->s[cs0]))
				cs0++;
			while (cs1 > cs0 && is_ws(c->s[cs1 - 1]))
				cs1--;
		}
		/* "{{> * name }}": the '*' and the whitespace around it are not
		 * part of the name (spec ~dynamic-names, "Padding Whitespace") */
		if ((kind == '>' || kind == '<' || kind == '/') && cs0 < cs1 && c->s[cs0] == '*') {
			dyn = true;
			cs0++;
			while (cs0 < cs1 && is_ws(c->s[cs0]))
				cs0++;
		}
		rc = check_name(c, kind, dyn, c->s + cs0, cs1 - cs0, line, col);
		if (rc)
			return rc;
		if (kind == '=') {
			rc = set_delims(c, c->s + cs0, cs1 - cs0, line, col);
			if (rc)
				return rc;
		}
		struct tok *t = push_tok(c);

		if (!t)
			return PP_ENOMEM;
		t->kind = kind;
		t->dyn = dyn;
		t->off = (uint32_t)cs0;
		t->len = (uint32_t)(cs1 - cs0);
		t->line = line;
		t->col = col;
		advance_lines(c, ts, end);
		p = end;
	}
	return PP_OK;
}

static const char *kind_word(char k)
{
	switch (k) {
	case '<':
		return "parent";
	case '$':
		return "block";
	case '^':
		return "inverted section";
	default:
		return "section";
	}
}

static int match_sections(struct cs *c)
{
	int32_t *st = NULL;
	size_t n = 0, cap = 0;
	int rc = PP_OK;

	for (size_t i = 0; i < c->nt; i++) {
		struct tok *t = &c->t[i];

		if (t->kind == '#' || t->kind == '^' || t->kind == '<' || t->kind == '$') {
			if (n == MST_MAX_NEST) {
				rc = cerr(c, t->line, t->col, "sections nested deeper than %d",
					  MST_MAX_NEST);
				goto out;
			}
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 16;
				int32_t *ns = realloc(st, nc * sizeof(*ns));

				if (!ns) {
					rc = PP_ENOMEM;
					goto out;
				}
				st = ns;
				cap = nc;
			}
			st[n++] = (int32_t)i;
		} else if (t->kind == '/') {
			if (n == 0) {
				rc = cerr(c, t->line, t->col,
					  "closing tag '%s%.*s' without open section",
					  t->dyn ? "*" : "", (int)t->len, c->s + t->off);
				goto out;
			}
			struct tok *o = &c->t[st[n - 1]];

			/* a dynamic parent closes with the same "*name" */
			if (o->dyn != t->dyn || o->len != t->len ||
			    memcmp(c->s + o->off, c->s + t->off, t->len) != 0) {
				rc = cerr(c, t->line, t->col,
					  "closing tag '%s%.*s' does not match %s '%s%.*s' opened "
					  "at %u:%u", t->dyn ? "*" : "", (int)t->len, c->s + t->off,
					  kind_word(o->kind), o->dyn ? "*" : "", (int)o->len,
					  c->s + o->off, o->line, o->col);
				goto out;
			}
			o->match = (int32_t)i;
			t->match = st[--n];
		}
	}
	if (n) {
		struct tok *o = &c->t[st[n - 1]];

		rc = cerr(c, o->line, o->col, "unclosed %s '%s%.*s'", kind_word(o->kind),
			  o->dyn ? "*" : "", (int)o->len, c->s + o->off);
	}
out:
	free(st);
	return rc;
}

static bool blank_text(const char *p, size_t n)
{
	size_t i = 0;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i == n)
		return true;
	if (p[i] == '\n' && i + 1 == n)
		return true;
	return p[i] == '\r' && i + 2 == n && p[i + 1] == '\n';
}

/* A source line holding only whitespace and tags that produce no output
 * is removed. Lines with several tags qualify only when a parent tag is
 * among them ("{{<p}}{{$b}}", "{{/b}}{{/p}}", "{{<p}}{{/p}}"). */
static void mark_standalone(struct cs *c)
{
	size_t a = 0;

	while (a < c->nt) {
		size_t b = a;
		unsigned ntags = 0;
		bool ok = true, parentish = false;

		while (b < c->nt && c->t[b].group == c->t[a].group)
			b++;
		for (size_t i = a; i < b && ok; i++) {
			struct tok *t = &c->t[i];

			if (t->kind == T_TEXT) {
				ok = blank_text(c->s + t->off, t->len);
				continue;
			}
			ntags++;
			if (t->kind == 'v' || t->kind == '&')
				ok = false;
			if (t->kind == '<' || (t->kind == '/' && c->t[t->match].kind == '<'))
				parentish = true;
		}
		if (ok && ntags > 0 && (ntags == 1 || parentish)) {
			uint32_t wo = 0, wl = 0;

			if (c->t[a].kind == T_TEXT) {
				wo = c->t[a].off;
				wl = c->t[a].len;
			}
			for (size_t i = a; i < b; i++) {
				struct tok *t = &c->t[i];

				if (t->kind == T_TEXT) {
					t->kind = T_DEL;
				} else {
					t->standalone = 1;
					t->ws_off = wo;
					t->ws_len = wl;
				}
			}
		}
		a = b;
	}
}

/* ------------------------------------------------------------------ */
/* Tree building                                                       */

struct bld {
	struct cs *c;
	struct pp_buf pool;
	struct node *nodes;
	uint32_t nn, cn;
	struct part *parts;
	uint32_t np, cp;
	uint32_t root_slots, root_base;
	struct sname *sn;
	uint32_t nsn, csn;
};

struct span {
	const char *p;
	uint32_t n;
};

static struct node *new_node(struct bld *b, uint8_t type, const struct tok *t)
{
	if (b->nn == b->cn) {
		uint32_t nc = b->cn ? b->cn * 2 : 32;
		struct node *n = realloc(b->nodes, nc * sizeof(*n));

		if (!n)
			return NULL;
		b->nodes = n;
		b->cn = nc;
	}
	struct node *n = &b->nodes[b->nn++];

	memset(n, 0, sizeof(*n));
	n->type = type;
	n->end = b->nn;
	if (t) {
		n->line = t->line;
		n->col = t->col;
		n->standalone = t->standalone;
	}
	return n;
}

static int pool_put(struct bld *b, const char *p, size_t n, uint32_t *off)
{
	*off = (uint32_t)b->pool.len;
	if (n == 0)
		return PP_OK;
	return pp_buf_append(&b->pool, p, n);
}

/* Drop the leading whitespace that matches the enclosing block's intrinsic
 * indentation. */
static struct span strip(struct span s, struct span ind)
{
	uint32_t i = 0;

	while (i < s.n && i < ind.n && s.p[i] == ind.p[i] && (s.p[i] == ' ' || s.p[i] == '\t'))
		i++;
	if (i) {
		s.p += i;
		s.n -= i;
	}
	return s;
}

static int set_name(struct bld *b, struct node *nd, const struct tok *t, bool split)
{
	const char *s = b->c->s + t->off;
	uint32_t base;
	int rc = pool_put(b, s, t->len, &base);

	if (rc)
		return rc;
	nd->off = base;
	nd->len = t->len;
	if (!split)
		return PP_OK;
	nd->part = b->np;
	if (t->len == 1 && s[0] == '.')
		return PP_OK;
	uint32_t i = 0;

	while (i <= t->len) {
		uint32_t j = i;

		while (j < t->len && s[j] != '.')
			j++;
		if (b->np == b->cp) {
			uint32_t nc = b->cp ? b->cp * 2 : 32;
			struct part *np = realloc(b->parts, nc * sizeof(*np));

			if (!np)
				return PP_ENOMEM;
			b->parts = np;
			b->cp = nc;
		}
		b->parts[b->np].off = base + i;
		b->parts[b->np].len = j - i;
		b->np++;
		if (nd->nparts == UINT16_MAX)
			return cerr(b->c, t->line, t->col, "name has too many parts");
		nd->nparts++;
		i = j + 1;
	}
	return PP_OK;
}

static int set_indent(struct bld *b, struct node *nd, struct span s)
{
	nd->ind_len = s.n;
	return pool_put(b, s.p, s.n, &nd->ind_off);
}

struct frame {
	uint32_t node;      /* index of the open node */
	int32_t close;      /* token index of its closing tag */
	struct span strip;  /* intrinsic indentation removed from body lines */
	uint32_t nslots;
	struct part slots[MST_SLOTS]; /* names looked up directly in this body */
};

/* Within one rendering of a body the context stack is fixed, so a name
 * resolves to the same value every time: give each distinct name a slot. */
/* Keep a body's memo names for the render-time prefill. */
static int save_slots(struct bld *b, const struct frame *f, uint32_t *base)
{
	if (b->nsn + f->nslots > b->csn) {
		uint32_t nc = b->csn ? b->csn * 2 : 64;

		while (nc < b->nsn + f->nslots)
			nc *= 2;
		struct sname *n = realloc(b->sn, nc * sizeof(*n));

		if (!n)
			return PP_ENOMEM;
		b->sn = n;
		b->csn = nc;
	}
	*base = b->nsn;
	for (uint32_t k = 0; k < f->nslots; k++) {
		struct sname *x = &b->sn[b->nsn++];

		x->off = f->slots[k].off;
		x->len = f->slots[k].len;
		x->simple = !memchr(b->pool.data + x->off, '.', x->len);
	}
	return PP_OK;
}

static int8_t slot_for(struct bld *b, struct frame *f, const struct node *nd)
{
	if (nd->nparts == 0)
		return -1;
	for (uint32_t k = 0; k < f->nslots; k++)
		if (f->slots[k].len == nd->len &&
		    memcmp(b->pool.data + f->slots[k].off, b->pool.data + nd->off, nd->len) == 0)
			return (int8_t)k;
	if (f->nslots == MST_SLOTS)
		return -1;
	f->slots[f->nslots].off = nd->off;
	f->slots[f->nslots].len = nd->len;
	return (int8_t)f->nslots++;
}

static size_t next_live(const struct cs *c, size_t i)
{
	while (i < c->nt && c->t[i].kind == T_DEL)
		i++;
	return i;
}

/* Expansion indentation of a block: for a standalone block, the leading
 * whitespace of its first content line (or of its own line when empty);
 * for an inline block preceded only by whitespace, that whitespace. */
static struct span block_indent(const struct cs *c, size_t i, struct span *intrinsic)
{
	const struct tok *t = &c->t[i];
	struct span s = { c->s + t->ws_off, t->ws_len };

	intrinsic->p = NULL;
	intrinsic->n = 0;
	if (t->standalone) {
		size_t k = next_live(c, i + 1);

		if (k < c->nt && c->t[k].kind == T_TEXT && c->t[k].bol) {
			const char *p = c->s + c->t[k].off;
			uint32_t n = 0;

			while (n < c->t[k].len && (p[n] == ' ' || p[n] == '\t'))
				n++;
			s.p = p;
			s.n = n;
		} else if (k < c->nt && c->t[k].kind != T_TEXT && c->t[k].standalone) {
			s.p = c->s + c->t[k].ws_off;
			s.n = c->t[k].ws_len;
		}
		*intrinsic = s;
		return s;
	}
	s.p = NULL;
	s.n = 0;
	if (i > 0) {
		const struct tok *pt = &c->t[i - 1];

		if (pt->kind == T_TEXT && pt->group == t->group && pt->bol &&
		    blank_text(c->s + pt->off, pt->len)) {
			s.p = c->s + pt->off;
			s.n = pt->len;
		}
	}
	return s;
}

static int build(struct bld *b)
{
	struct cs *c = b->c;
	struct frame *st = malloc((MST_MAX_NEST + 1) * sizeof(*st));
	size_t sp = 0;
	uint32_t lt = UINT32_MAX; /* text node that following text may extend */
	int rc = PP_OK;

	if (!st)
		return PP_ENOMEM;
	st[0].node = UINT32_MAX;
	st[0].nslots = 0;
	st[0].close = -1;
	st[0].strip.p = NULL;
	st[0].strip.n = 0;
	for (size_t i = 0; i < c->nt; i++) {
		struct tok *t = &c->t[i];
		struct span cur = st[sp].strip;
		bool in_parent = sp > 0 && b->nodes[st[sp].node].type == N_PARENT;
		struct node *nd;

		if (t->kind == T_DEL || t->kind == '!' || t->kind == '=')
			continue;
		uint32_t prev_text = lt;

		if (t->kind != T_TEXT)
			lt = UINT32_MAX;
		if (t->kind == '/') {
			b->nodes[st[sp].node].end = b->nn;
			b->nodes[st[sp].node].nslots = (uint8_t)st[sp].nslots;
			rc = save_slots(b, &st[sp], &b->nodes[st[sp].node].slot_base);
			if (rc)
				goto out;
			sp--;
			continue;
		}
		if (in_parent && t->kind != '$') {
			/* only blocks count inside a parent tag; skip the rest */
			if (t->kind == '#' || t->kind == '^' || t->kind == '<')
				i = (size_t)t->match;
			continue;
		}
		if (t->kind == T_TEXT) {
			struct span s = { c->s + t->off, t->len };
			uint32_t off;

			if (t->bol && cur.n)
				s = strip(s, cur);
			if (s.n == 0)
				continue;
			if (lt != UINT32_MAX) {
				nd = &b->nodes[lt];
				rc = pp_buf_append(&b->pool, s.p, s.n);
				if (rc)
					goto out;
				nd->len += s.n;
				continue;
			}
			nd = new_node(b, N_TEXT, t);
			if (!nd) {
				rc = PP_ENOMEM;
				goto out;
			}
			rc = pool_put(b, s.p, s.n, &off);
			if (rc)
				goto out;
			lt = b->nn - 1;
			nd = &b->nodes[lt];
			nd->off = off;
			nd->len = s.n;
			continue;
		}
		static const uint8_t types[128] = {
			['v'] = N_VAR, ['&'] = N_VAR, ['#'] = N_SECTION, ['^'] = N_INVERTED,
			['>'] = N_PARTIAL, ['<'] = N_PARENT, ['$'] = N_BLOCK,
		};
		uint8_t type = types[(unsigned char)t->kind];

		if (type == N_VAR && prev_text != UINT32_MAX && prev_text == b->nn - 1) {
			/* fold the text just before a variable into its node: one
			 * dispatch per "text + value" pair when rendering */
			uint32_t po = b->nodes[prev_text].off, pl = b->nodes[prev_text].len;

			b->nn--;
			nd = new_node(b, type, t);
			nd->pre_off = po;
			nd->pre_len = pl;
		} else {
			nd = new_node(b, type, t);
		}
		if (!nd) {
			rc = PP_ENOMEM;
			goto out;
		}
		uint32_t idx = b->nn - 1;

		nd->raw = t->kind == '&';
		nd->dyn = t->dyn;
		/* dynamic partial/parent names are resolved like variables */
		rc = set_name(b, &b->nodes[idx], t, type == N_VAR || type == N_SECTION ||
			      type == N_INVERTED || t->dyn);
		if (rc)
			goto out;
		nd = &b->nodes[idx];
		nd->slot = -1;
		if (type == N_VAR || type == N_SECTION || type == N_INVERTED)
			nd->slot = slot_for(b, &st[sp], nd);
		struct span body_strip = cur;

		if ((type == N_PARTIAL || type == N_PARENT) && t->standalone) {
			struct span ws = { c->s + t->ws_off, t->ws_len };

			rc = set_indent(b, nd, strip(ws, cur));
		} else if (type == N_BLOCK) {
			struct span intr, s = block_indent(c, i, &intr);

			/* relative to the enclosing block, like the text lines */
			s = strip(s, cur);
			if (t->standalone)
				body_strip = intr;
			rc = set_indent(b, &b->nodes[idx], s);
		}
		if (rc)
			goto out;
		if (type == N_VAR || type == N_PARTIAL)
			continue;
		sp++;
		st[sp].node = idx;
		st[sp].close = t->match;
		st[sp].strip = body_strip;
		st[sp].nslots = 0;
	}
	b->root_slots = st[0].nslots;
	rc = save_slots(b, &st[0], &b->root_base);
out:
	free(st);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Public: compile / free                                              */

int mst_compile(const char *name, const char *src, size_t len, struct mst_tpl **out,
		struct mst_error *err)
{
	struct cs c = { 0 };
	struct bld b = { 0 };
	struct mst_tpl *t = NULL;
	int rc;

	*out = NULL;
	if (!name)
		name = "template";
	if (err)
		err->msg[0] = '\0';
	if (len >= UINT32_MAX / 2) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "%s: template too large", name);
		return PP_EINVAL;
	}
	c.name = name;
	c.s = src ? src : "";
	c.n = src ? len : 0;
	c.err = err;
	memcpy(c.od, "{{", 2);
	memcpy(c.cd, "}}", 2);
	c.odl = c.cdl = 2;
	c.line = 1;
	rc = tokenize(&c);
	if (!rc)
		rc = match_sections(&c);
	if (!rc) {
		mark_standalone(&c);
		b.c = &c;
		rc = build(&b);
	}
	if (!rc) {
		t = calloc(1, sizeof(*t));
		if (!t || !(t->name = strdup(name)))
			rc = PP_ENOMEM;
	}
	if (!rc && b.pool.data == NULL) {
		b.pool.data = calloc(1, 1);
		if (!b.pool.data)
			rc = PP_ENOMEM;
	}
	if (rc) {
		if (rc == PP_ENOMEM && err)
			snprintf(err->msg, sizeof(err->msg), "%s: out of memory", name);
		if (t)
			free(t->name);
		free(t);
		free(c.t);
		free(b.nodes);
		free(b.parts);
		free(b.sn);
		pp_buf_free(&b.pool);
		return rc;
	}
	free(c.t);
	t->pool = b.pool.data;
	t->nodes = b.nodes;
	t->nnodes = b.nn;
	t->parts = b.parts;
	t->nparts = b.np;
	t->root_slots = b.root_slots;
	t->root_base = b.root_base;
	t->snames = b.sn;
	*out = t;
	return PP_OK;
}

void mst_free(struct mst_tpl *t)
{
	if (!t)
		return;
	free(t->name);
	free(t->pool);
	free(t->nodes);
	free(t->parts);
	free(t->snames);
	free(t);
}

const char *mst_name(const struct mst_tpl *t)
{
	return t ? t->name : NULL;
}

void mst_each_ref(const struct mst_tpl *t, void (*cb)(void *arg, const char *name, size_t len),
		  void *arg)
{
	if (!t)
		return;
	for (uint32_t i = 0; i < t->nnodes; i++) {
		const struct node *n = &t->nodes[i];
		bool seen = false;

		/* a dynamic name is a key of the data, not a template name */
		if ((n->type != N_PARTIAL && n->type != N_PARENT) || n->dyn)
			continue;
		for (uint32_t j = 0; j < i && !seen; j++) {
			const struct node *m = &t->nodes[j];

			seen = (m->type == N_PARTIAL || m->type == N_PARENT) && !m->dyn &&
			       m->len == n->len &&
			       memcmp(t->pool + m->off, t->pool + n->off, n->len) == 0;
		}
		if (!seen)
			cb(arg, t->pool + n->off, n->len);
	}
}

/* ------------------------------------------------------------------ */
/* Rendering                                                           */

struct ctx {
	const json_t *v;
	const struct ctx *up;
};

struct ovr {
	const struct mst_tpl *t;
	const struct node *parent;
	const struct ovr *up;
};

struct rs {
	struct pp_buf *out;
	enum mst_escape esc;
	mst_lookup_fn lookup;
	void *ud;
	int strict;
	struct mst_error *err;
	int depth;
	uint32_t calls;
	size_t start;       /* out->len when the render began */
	bool pending;       /* at the start of a template line: indentation due */
	size_t ilen;
	char ind[MST_MAX_INDENT];
};

static int rerr(struct rs *rs, const struct mst_tpl *t, const struct node *n, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));

static int rerr(struct rs *rs, const struct mst_tpl *t, const struct node *n, const char *fmt,
		...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (rs->err)
		snprintf(rs->err->msg, sizeof(rs->err->msg), "%s:%u:%u: %s", t->name,
			 n ? n->line : 1, n ? n->col : 1, what);
	return PP_EINVAL;
}

/* Most spans and values are short: copy them with a few overlapping loads
 * and stores instead of a call into memcpy. */
static inline void copy_bytes(char *d, const char *s, size_t n)
{
	if (n > 16) {
		memcpy(d, s, n);
	} else if (n >= 8) {
		uint64_t a, b;

		memcpy(&a, s, 8);
		memcpy(&b, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &b, 8);
	} else if (n >= 4) {
		uint32_t a, b;

		memcpy(&a, s, 4);
		memcpy(&b, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &b, 4);
	} else if (n) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	}
}

static inline int out_append(struct pp_buf *b, const char *p, size_t n)
{
	if (b->cap - b->len <= n && pp_buf_grow(b, n) != 0)
		return PP_ENOMEM;
	copy_bytes(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return PP_OK;
}

/* 1 = byte needs an HTML entity */
static const uint8_t esc_tab[256] = {
	['&'] = 1, ['<'] = 1, ['>'] = 1, ['"'] = 1, ['\''] = 1,
};

static int put_escaped(struct pp_buf *b, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i;

		while (j < n && !esc_tab[(uint8_t)s[j]])
			j++;
		if (j > i && out_append(b, s + i, j - i))
			return PP_ENOMEM;
		if (j == n)
			break;
		const char *e;
		size_t el;

		switch (s[j]) {
		case '&':
			e = "&amp;";
			el = 5;
			break;
		case '<':
			e = "&lt;";
			el = 4;
			break;
		case '>':
			e = "&gt;";
			el = 4;
			break;
		case '"':
			e = "&quot;";
			el = 6;
			break;
		default:
			e = "&#39;";
			el = 5;
			break;
		}
		if (out_append(b, e, el))
			return PP_ENOMEM;
		i = j + 1;
	}
	return PP_OK;
}

static const char digits2[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Decimal digits, written backwards from the end of a 24-byte buffer. */
static size_t fmt_int(json_int_t v, char buf[24], const char **start)
{
	char *p = buf + 24;
	unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;

	while (u >= 100) {
		unsigned d = (unsigned)(u % 100) * 2;

		u /= 100;
		*--p = digits2[d + 1];
		*--p = digits2[d];
	}
	if (u >= 10) {
		*--p = digits2[u * 2 + 1];
		*--p = digits2[u * 2];
	} else {
		*--p = (char)('0' + u);
	}
	if (v < 0)
		*--p = '-';
	*start = p;
	return (size_t)(buf + 24 - p);
}

/* Shortest "%g" form that reads back as the same double: 1.21, 1.5, 0.1. */
static size_t fmt_real(double d, char *buf, size_t cap)
{
	int n = 0;

	if (!isfinite(d))
		return 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(buf, cap, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return n > 0 ? (size_t)n : 0;
}

static inline int put_indent(struct rs *rs)
{
	rs->pending = false;
	return out_append(rs->out, rs->ind, rs->ilen);
}

static int put_text_indented(struct rs *rs, const char *p, size_t n)
{
	while (n) {
		if (rs->pending && put_indent(rs))
			return PP_ENOMEM;
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) + 1 : n;

		if (out_append(rs->out, p, k))
			return PP_ENOMEM;
		p += k;
		n -= k;
		if (nl)
			rs->pending = true;
	}
	return PP_OK;
}

static inline int put_text(struct rs *rs, const char *p, size_t n)
{
	if (rs->ilen == 0)
		return out_append(rs->out, p, n);
	return put_text_indented(rs, p, n);
}

static int put_value(struct rs *rs, const json_t *v, bool raw)
{
	char buf[40];
	const char *s;
	size_t n;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		n = json_string_length(v);
		break;
	case JSON_INTEGER:
		n = fmt_int(json_integer_value(v), buf, &s);
		break;
	case JSON_REAL:
		n = fmt_real(json_real_value(v), buf, sizeof(buf));
		s = buf;
		break;
	case JSON_TRUE:
		s = "true";
		n = 4;
		break;
	case JSON_FALSE:
		s = "false";
		n = 5;
		break;
	default:
		return PP_OK;
	}
	if (n == 0)
		return PP_OK;
	if (rs->pending && rs->ilen && put_indent(rs))
		return PP_ENOMEM;
	if (raw || rs->esc == MST_ESCAPE_NONE)
		return out_append(rs->out, s, n);
	return put_escaped(rs->out, s, n);
}

static const json_t *resolve(const struct mst_tpl *t, const struct node *nd,
			     const struct ctx *c)
{
	const struct part *p;
	json_t *v = NULL;

	if (nd->nparts == 0)
		return c ? c->v : NULL;
	p = &t->parts[nd->part];
	for (; c; c = c->up) {
		if (json_is_object(c->v)) {
			v = json_object_getn((json_t *)c->v, t->pool + p->off, p->len);
			if (v)
				break;
		}
	}
	for (uint16_t i = 1; v && i < nd->nparts; i++) {
		if (!json_is_object(v))
			return NULL;
		v = json_object_getn(v, t->pool + p[i].off, p[i].len);
	}
	return v;
}

static const json_t memo_unset_obj, memo_up_obj;
#define MEMO_UNSET (&memo_unset_obj) /* not resolved yet */
#define MEMO_UP (&memo_up_obj)       /* known not to be in the top object */

static inline const json_t *lookup(const struct mst_tpl *t, const struct node *nd,
				   const struct ctx *c, const json_t **memo)
{
	if (nd->slot < 0)
		return resolve(t, nd, c);
	const json_t *v = memo[nd->slot];

	if (v == MEMO_UNSET)
		v = memo[nd->slot] = resolve(t, nd, c);
	else if (v == MEMO_UP)
		v = memo[nd->slot] = resolve(t, nd, c->up);
	return v;
}

#define HINTS 64

/* One pass over the keys of the top object fills the memo of every plain
 * name the body uses: cheaper than one hash lookup per name. hint[j]
 * remembers which name the j-th key matched for the previous list element
 * (elements of one list usually share their key order). */
static void prefill(const struct mst_tpl *t, const struct sname *names, uint32_t nslots,
		    const json_t *obj, const json_t **memo, uint8_t *hint)
{
	uint32_t left = 0, j = 0;

	if (json_object_size(obj) > 4 * nslots + 8)
		return;
	for (uint32_t k = 0; k < nslots; k++) {
		if (names[k].simple) {
			memo[k] = MEMO_UP;
			left++;
		}
	}
	for (void *it = json_object_iter((json_t *)obj); it && left;
	     it = json_object_iter_next((json_t *)obj, it), j++) {
		const char *key = json_object_iter_key(it);
		size_t kl = json_object_iter_key_len(it);
		uint32_t h = hint && j < HINTS ? hint[j] : UINT8_MAX;

		if (h < nslots && memo[h] == MEMO_UP && names[h].len == kl &&
		    memcmp(t->pool + names[h].off, key, kl) == 0) {
			memo[h] = json_object_iter_value(it);
			left--;
			continue;
		}
		for (uint32_t k = 0; k < nslots; k++) {
			if (memo[k] == MEMO_UP && names[k].len == kl &&
			    memcmp(t->pool + names[k].off, key, kl) == 0) {
				memo[k] = json_object_iter_value(it);
				left--;
				h = k;
				break;
			}
		}
		if (hint && j < HINTS)
			hint[j] = (uint8_t)(h < nslots ? h : UINT8_MAX);
	}
}

static bool truthy(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
	case JSON_TRUE:
		return true;
	case JSON_ARRAY:
		return json_array_size(v) > 0;
	case JSON_STRING:
		return json_string_length(v) > 0;
	case JSON_INTEGER:
		return json_integer_value(v) != 0;
	case JSON_REAL:
		return json_real_value(v) != 0.0;
	default:
		return false;
	}
}

static int render_nodes(struct rs *rs, const struct mst_tpl *t, uint32_t from, uint32_t to,
			uint32_t nslots, uint32_t base, const struct ctx *c,
			const struct ovr *o, uint8_t *hint);

static int push_indent(struct rs *rs, const struct mst_tpl *t, const struct node *nd)
{
	if (rs->ilen + nd->ind_len > sizeof(rs->ind))
		return rerr(rs, t, nd, "indentation deeper than %d bytes", MST_MAX_INDENT);
	memcpy(rs->ind + rs->ilen, t->pool + nd->ind_off, nd->ind_len);
	rs->ilen += nd->ind_len;
	return PP_OK;
}

/* A name taken from the data, made safe for an error message (and so for a
 * log line): printable ASCII as is, other bytes as \xNN, at most 64 bytes. */
static void quote_name(char *dst, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && i < 64 && o + 5 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			dst[o++] = (char)ch;
		else
			o += (size_t)snprintf(dst + o, cap - o, "\\x%02x", ch);
	}
	if (n > 64 && o + 4 < cap) {
		memcpy(dst + o, "...", 3);
		o += 3;
	}
	dst[o] = '\0';
}

static const char *type_word(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "a map";
	case JSON_ARRAY:
		return "a list";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		return "null";
	default:
		return "a string";
	}
}

static int render_include(struct rs *rs, const struct mst_tpl *t, const struct node *nd,
			  const struct ctx *c, const struct ovr *o)
{
	const struct mst_tpl *pt = NULL;
	const char *kind = nd->type == N_PARENT ? "parent" : "partial";
	const char *name = t->pool + nd->off;
	size_t nlen = nd->len, saved = rs->ilen;
	struct ovr frame;
	int rc;

	if (nd->dyn) {
		/* {{>*x}}: the partial's name is the string value of x, resolved
		 * like {{x}} in the current context stack (nothing is pushed) */
		const json_t *v = resolve(t, nd, c);

		if (!json_is_string(v)) {
			if (!rs->strict)
				return PP_OK; /* spec: a failed resolution renders nothing */
			if (!v)
				return rerr(rs, t, nd, "dynamic %s '*%.*s': '%.*s' is missing from "
					    "the data", kind, (int)nd->len, name, (int)nd->len, name);
			return rerr(rs, t, nd, "dynamic %s '*%.*s': '%.*s' is %s, not a "
				    "template name", kind, (int)nd->len, name, (int)nd->len, name,
				    type_word(v));
		}
		name = json_string_value(v);
		nlen = json_string_length(v);
	}
	if (rs->lookup)
		pt = rs->lookup(rs->ud, name, nlen);
	if (!pt) {
		if (!rs->strict)
			return PP_OK;
		if (nd->dyn) {
			char q[64 * 4 + 8];

			quote_name(q, sizeof(q), name, nlen);
			return rerr(rs, t, nd, "%s '%s' not found (name from '*%.*s')", kind, q,
				    (int)nd->len, t->pool + nd->off);
		}
		return rerr(rs, t, nd, "%s '%.*s' not found", kind, (int)nd->len, name);
	}
	if (rs->depth + 1 >= MST_MAX_DEPTH)
		return rerr(rs, t, nd, "nesting deeper than %d (recursive %s?)", MST_MAX_DEPTH,
			    kind);
	if (nd->standalone) {
		rc = push_indent(rs, t, nd);
		if (rc)
			return rc;
		rs->pending = true;
	}
	if (nd->type == N_PARENT) {
		frame.t = t;
		frame.parent = nd;
		frame.up = o;
		o = &frame;
	}
	rc = render_nodes(rs, pt, 0, pt->nnodes, pt->root_slots, pt->root_base, c, o,
			  NULL);
	rs->ilen = saved;
	return rc;
}

static int render_block(struct rs *rs, const struct mst_tpl *t, const struct node *nd,
			const struct ctx *c, const struct ovr *o)
{
	const struct mst_tpl *bt = NULL;
	const struct node *bn = NULL;
	size_t saved = rs->ilen;
	int rc;

	/* the outermost override wins */
	for (const struct ovr *x = o; x; x = x->up) {
		const struct node *pn = x->parent;
		const struct node *nodes = x->t->nodes;

		for (uint32_t j = (uint32_t)(pn - nodes) + 1; j < pn->end; j = nodes[j].end) {
			const struct node *m = &nodes[j];

			if (m->type == N_BLOCK && m->len == nd->len &&
			    memcmp(x->t->pool + m->off, t->pool + nd->off, nd->len) == 0) {
				bt = x->t;
				bn = m;
				break;
			}
		}
	}
	if (!bn) {
		if (!nd->standalone)
			return render_nodes(rs, t, (uint32_t)(nd - t->nodes) + 1, nd->end,
					    nd->nslots, nd->slot_base, c, o, NULL);
		bt = t;
		bn = nd;
	}
	if (nd->ind_len) {
		rc = push_indent(rs, t, nd);
		if (rc)
			return rc;
		rs->pending = nd->standalone;
	} else if (nd->standalone) {
		rs->pending = true;
	}
	rc = render_nodes(rs, bt, (uint32_t)(bn - bt->nodes) + 1, bn->end, bn->nslots,
			  bn->slot_base, c, o, NULL);
	rs->ilen = saved;
	return rc;
}

static int render_nodes(struct rs *rs, const struct mst_tpl *t, uint32_t from, uint32_t to,
			uint32_t nslots, uint32_t base, const struct ctx *c,
			const struct ovr *o, uint8_t *hint)
{
	const struct node *nodes = t->nodes;
	const json_t *memo[MST_SLOTS];
	int rc = PP_OK;

	for (uint32_t k = 0; k < nslots; k++)
		memo[k] = MEMO_UNSET;
	if (nslots >= 2 && c && json_is_object(c->v))
		prefill(t, t->snames + base, nslots, c->v, memo, hint);

	if (++rs->depth > MST_MAX_DEPTH) {
		rs->depth--;
		return rerr(rs, t, from < t->nnodes ? &nodes[from] : NULL,
			    "nesting deeper than %d (recursive partial?)", MST_MAX_DEPTH);
	}
	/* bound the work a hostile or runaway template can cause */
	if (++rs->calls > MST_MAX_CALLS || rs->out->len - rs->start > MST_MAX_OUTPUT) {
		rs->depth--;
		return rerr(rs, t, from < t->nnodes ? &nodes[from] : NULL,
			    "render too large (over %u expansions or %zu MiB)", MST_MAX_CALLS,
			    MST_MAX_OUTPUT >> 20);
	}
	for (uint32_t i = from; i < to && rc == PP_OK; i = nodes[i].end) {
		const struct node *nd = &nodes[i];
		const json_t *v;
		struct ctx sub;

		switch (nd->type) {
		case N_TEXT:
			rc = put_text(rs, t->pool + nd->off, nd->len);
			break;
		case N_VAR:
			if (nd->pre_len) {
				rc = put_text(rs, t->pool + nd->pre_off, nd->pre_len);
				if (rc)
					break;
			}
			v = lookup(t, nd, c, memo);
			if (v)
				rc = put_value(rs, v, nd->raw);
			break;
		case N_SECTION:
			v = lookup(t, nd, c, memo);
			if (json_is_array(v)) {
				size_t n = json_array_size(v);
				uint8_t hint[HINTS];

				memset(hint, UINT8_MAX, sizeof(hint));
				sub.up = c;
				for (size_t k = 0; k < n && rc == PP_OK; k++) {
					sub.v = json_array_get(v, k);
					rc = render_nodes(rs, t, i + 1, nd->end, nd->nslots,
							  nd->slot_base, &sub, o, hint);
				}
			} else if (truthy(v)) {
				sub.v = v;
				sub.up = c;
				rc = render_nodes(rs, t, i + 1, nd->end, nd->nslots,
						  nd->slot_base, &sub, o, NULL);
			}
			break;
		case N_INVERTED:
			v = lookup(t, nd, c, memo);
			if (!truthy(v))
				rc = render_nodes(rs, t, i + 1, nd->end, nd->nslots,
						  nd->slot_base, c, o, NULL);
			break;
		case N_PARTIAL:
		case N_PARENT:
			rc = render_include(rs, t, nd, c, o);
			break;
		case N_BLOCK:
			rc = render_block(rs, t, nd, c, o);
			break;
		}
	}
	rs->depth--;
	if (rc == PP_ENOMEM && rs->err && rs->err->msg[0] == '\0')
		snprintf(rs->err->msg, sizeof(rs->err->msg), "%s: out of memory", t->name);
	return rc;
}

int mst_render(const struct mst_tpl *t, const json_t *data, enum mst_escape esc,
	       mst_lookup_fn lookup, void *ud, int strict, struct pp_buf *out,
	       struct mst_error *err)
{
	struct rs rs;
	struct ctx root = { data, NULL };

	if (err)
		err->msg[0] = '\0';
	if (!t)
		return PP_EINVAL;
	rs.out = out;
	rs.esc = esc;
	rs.lookup = lookup;
	rs.ud = ud;
	rs.strict = strict;
	rs.err = err;
	rs.depth = 0;
	rs.calls = 0;
	rs.pending = false;
	rs.ilen = 0;
	/* make sure out->data is a valid string even for empty output */
	if (!out->data) {
		if (pp_buf_grow(out, 64))
			return PP_ENOMEM;
		out->data[out->len] = '\0';
	}
	rs.start = out->len;
	return render_nodes(&rs, t, 0, t->nnodes, t->root_slots, t->root_base,
			    data ? &root : NULL, NULL, NULL);
}
