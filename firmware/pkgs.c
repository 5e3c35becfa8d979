/* pkgs.yml: parsing and strict validation (unknown keys, types, hashes,
 * sizes, URL schemes, safe relative paths, references between sections). */
#include "pkgs.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "lib/safepath.h"
#include "lib/yamltree.h"

#define MAX_URL 2048

/* Key path for messages ("packages.fw.install[0].cp"), truncated if long. */
static void what_fmt(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void what_fmt(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

void pp_pkgs_free(struct pp_pkgs *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_pkgs; i++) {
		struct pp_fw_pkg *k = &p->pkgs[i];

		free(k->name);
		free(k->description);
		free(k->version);
		free(k->files);
		for (size_t j = 0; j < k->n_steps; j++) {
			free(k->steps[j].src);
			free(k->steps[j].dest);
			free(k->steps[j].from);
			free(k->steps[j].to);
		}
		free(k->steps);
	}
	for (size_t i = 0; i < p->n_files; i++) {
		free(p->files[i].id);
		free(p->files[i].url);
		free(p->files[i].name);
	}
	free(p->pkgs);
	free(p->files);
	free(p);
}

const struct pp_fw_pkg *pp_pkgs_find(const struct pp_pkgs *p, const char *name)
{
	for (size_t i = 0; p && i < p->n_pkgs; i++)
		if (!strcmp(p->pkgs[i].name, name))
			return &p->pkgs[i];
	return NULL;
}

const char *pp_fw_file_key(const struct pp_fw_file *f)
{
	return f->sha256[0] ? f->sha256 : f->sha1;
}

static const struct pp_fw_file *find_file(const struct pp_pkgs *p, const char *id)
{
	for (size_t i = 0; i < p->n_files; i++)
		if (!strcmp(p->files[i].id, id))
			return &p->files[i];
	return NULL;
}

/* Package names and file ids: [A-Za-z0-9][A-Za-z0-9._+-]{0,99} */
static int check_name(const struct pp_ynode *n, const char *what, struct pp_err *err)
{
	const char *s = n->str;
	size_t len = n->len;

	if (len == 0 || len > 100 || strlen(s) != len || !isalnum((unsigned char)s[0]))
		goto bad;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._+-", s[i]))
			goto bad;
	return PP_OK;
bad:
	pp_y_err(err, n, "%s '%.60s' must be 1-100 letters, digits, '.', '_', '+' or '-', "
		 "starting with a letter or digit", what, s);
	return PP_EINVAL;
}

static int get_str(const struct pp_ynode *map, const char *key, const char *what, bool required,
		   const char **out, struct pp_err *err)
{
	const struct pp_ynode *n = pp_ymap_get(map, key);

	*out = NULL;
	if (!n) {
		if (!required)
			return PP_OK;
		pp_y_err(err, map, "%s: missing '%s'", what, key);
		return PP_EINVAL;
	}
	char w[160];

	what_fmt(w, sizeof(w), "%s.%s", what, key);
	return pp_y_str(n, w, out, err);
}

/* A relative path inside a target: dest "" / "." mean the top. */
static int get_path(const struct pp_ynode *n, const char *what, bool allow_top, char **out,
		    struct pp_err *err)
{
	char norm[PP_PATH_MAX];
	const char *s, *reason;

	if (pp_y_str(n, what, &s, err))
		return PP_EINVAL;
	if (s[0] == '/') {
		pp_y_err(err, n, "%s must be a relative path, not '%s'", what, s);
		return PP_EINVAL;
	}
	if (allow_top && (!strcmp(s, "") || !strcmp(s, ".") || !strcmp(s, "./"))) {
		*out = strdup("");
		return *out ? PP_OK : PP_ENOMEM;
	}
	/* tolerate "./a" and "a/" but nothing that climbs */
	while (s[0] == '.' && s[1] == '/')
		s += 2;
	if (pp_path_normalize(s, strlen(s), norm, sizeof(norm), &reason) != 0) {
		pp_y_err(err, n, "%s: %s: '%s'", what, reason, n->str);
		return PP_EINVAL;
	}
	*out = strdup(norm);
	return *out ? PP_OK : PP_ENOMEM;
}

static int check_glob(const struct pp_ynode *n, const char *what, char **out, struct pp_err *err)
{
	const char *s;

	if (pp_y_str(n, what, &s, err))
		return PP_EINVAL;
	/* the same rules as a path: globs may not climb or be absolute */
	return get_path(n, what, false, out, err);
}

static bool is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

static int get_hash(const struct pp_ynode *map, const char *key, size_t len, char *out,
		    const char *what, struct pp_err *err)
{
	const struct pp_ynode *n = pp_ymap_get(map, key);
	const char *s;

	out[0] = '\0';
	if (!n)
		return PP_OK;
	if (pp_y_str(n, what, &s, err))
		return PP_EINVAL;
	if (!is_hex(s, len)) {
		pp_y_err(err, n, "%s.%s must be %zu hexadecimal digits, not '%.80s'", what, key,
			 len, s);
		return PP_EINVAL;
	}
	for (size_t i = 0; i <= len; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	return PP_OK;
}

static bool safe_component(const char *s)
{
	size_t len = strlen(s);

	if (!len || len > 255 || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\')
			return false;
	}
	return true;
}

static int check_url(const struct pp_ynode *n, const char *s, const char *what,
		     struct pp_err *err)
{
	static const char *const schemes[] = { "http://", "https://", "file://" };
	size_t len = strlen(s);
	bool ok = false;

	if (len > MAX_URL) {
		pp_y_err(err, n, "%s.url is longer than %d bytes", what, MAX_URL);
		return PP_EINVAL;
	}
	for (size_t i = 0; i < PP_ARRAY_LEN(schemes); i++)
		if (!strncasecmp(s, schemes[i], strlen(schemes[i])) && len > strlen(schemes[i]))
			ok = true;
	if (!ok) {
		pp_y_err(err, n, "%s.url must be an http://, https:// or file:// URL, not '%.80s'",
			 what, s);
		return PP_EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c == 0x7f) {
			pp_y_err(err, n, "%s.url must not contain spaces or control bytes", what);
			return PP_EINVAL;
		}
	}
	return PP_OK;
}

/* Last path component of a URL, without query or fragment. */
static char *url_basename(const char *url)
{
	const char *p = strstr(url, "://");
	size_t end;

	p = p ? p + 3 : url;
	end = strcspn(p, "?#");
	const char *slash = NULL;

	for (size_t i = 0; i < end; i++)
		if (p[i] == '/')
			slash = p + i;
	if (!slash)
		return NULL;
	return strndup(slash + 1, (size_t)(p + end - slash - 1));
}

static int parse_file(struct pp_pkgs *p, const struct pp_ynode *key, const struct pp_ynode *val,
		      struct pp_err *err)
{
	static const char *const keys[] = { "url", "size", "sha256", "sha1", "name", NULL };
	struct pp_fw_file *f = &p->files[p->n_files];
	const struct pp_ynode *n;
	const char *url, *name;
	long long size;
	char what[160];

	if (check_name(key, "file id", err))
		return PP_EINVAL;
	what_fmt(what, sizeof(what), "files.%s", key->str);
	if (pp_y_check_keys(val, keys, what, err))
		return PP_EINVAL;
	memset(f, 0, sizeof(*f));
	p->n_files++;
	if (!(f->id = strdup(key->str)))
		return PP_ENOMEM;
	if (get_str(val, "url", what, true, &url, err) || check_url(pp_ymap_get(val, "url"), url,
								   what, err))
		return PP_EINVAL;
	if (!(f->url = strdup(url)))
		return PP_ENOMEM;
	n = pp_ymap_get(val, "size");
	if (!n) {
		pp_y_err(err, val, "%s: missing 'size'", what);
		return PP_EINVAL;
	}
	char w2[180];

	what_fmt(w2, sizeof(w2), "%s.size", what);
	if (pp_y_int(n, w2, 1, (1LL << 50), &size, err))
		return PP_EINVAL;
	f->size = (uint64_t)size;
	if (get_hash(val, "sha256", 64, f->sha256, what, err) ||
	    get_hash(val, "sha1", 40, f->sha1, what, err))
		return PP_EINVAL;
	if (!f->sha256[0] && !f->sha1[0]) {
		pp_y_err(err, val, "%s: needs 'sha256' or 'sha1'", what);
		return PP_EINVAL;
	}
	if (get_str(val, "name", what, false, &name, err))
		return PP_EINVAL;
	if (name) {
		if (!safe_component(name)) {
			pp_y_err(err, pp_ymap_get(val, "name"),
				 "%s.name must be a plain file name, not '%.80s'", what, name);
			return PP_EINVAL;
		}
		f->name = strdup(name);
	} else {
		f->name = url_basename(url);
		if (f->name && !safe_component(f->name)) {
			free(f->name);
			f->name = NULL;
		}
		if (!f->name) {
			pp_y_err(err, pp_ymap_get(val, "url"),
				 "%s: cannot take a file name from the url: add 'name'", what);
			return PP_EINVAL;
		}
	}
	return f->name ? PP_OK : PP_ENOMEM;
}

static int step_file(const struct pp_pkgs *p, const struct pp_fw_pkg *k, const struct pp_ynode *n,
		     const char *what, const struct pp_fw_file **out, struct pp_err *err)
{
	const char *id;

	if (pp_y_str(n, what, &id, err))
		return PP_EINVAL;
	for (size_t i = 0; i < k->n_files; i++)
		if (!strcmp(k->files[i]->id, id)) {
			*out = k->files[i];
			return PP_OK;
		}
	pp_y_err(err, n, "%s: '%s' is not one of the package's files", what, id);
	(void)p;
	return PP_EINVAL;
}

static int parse_step(const struct pp_pkgs *p, struct pp_fw_pkg *k, const struct pp_ynode *n,
		      const char *pwhat, struct pp_err *err)
{
	static const char *const arc_keys[] = { "file", "dest", NULL };
	static const char *const cp_keys[] = { "src", "dest", NULL };
	static const char *const rn_keys[] = { "from", "to", NULL };
	struct pp_fw_step *s = &k->steps[k->n_steps];
	const struct pp_ynode *v, *x;
	const char *kind;
	char what[200];

	if (pp_y_expect(n, PP_Y_MAP, pwhat, err))
		return PP_EINVAL;
	if (n->n != 1) {
		pp_y_err(err, n, "%s: a step is one of untar, unzip, cp, mkdir, rename "
			 "(exactly one key)", pwhat);
		return PP_EINVAL;
	}
	memset(s, 0, sizeof(*s));
	k->n_steps++;
	s->line = n->line;
	s->col = n->col;
	kind = n->keys[0]->str;
	v = n->vals[0];
	what_fmt(what, sizeof(what), "%s.%s", pwhat, kind);
	if (!strcmp(kind, "untar") || !strcmp(kind, "unzip")) {
		s->kind = kind[2] == 't' ? PP_FW_UNTAR : PP_FW_UNZIP;
		if (pp_y_check_keys(v, arc_keys, what, err))
			return PP_EINVAL;
		if (!(x = pp_ymap_get(v, "file"))) {
			pp_y_err(err, v, "%s: missing 'file'", what);
			return PP_EINVAL;
		}
		if (step_file(p, k, x, what, &s->file, err))
			return PP_EINVAL;
		x = pp_ymap_get(v, "dest");
		if (x)
			return get_path(x, what, true, &s->dest, err);
		s->dest = strdup("");
		return s->dest ? PP_OK : PP_ENOMEM;
	}
	if (!strcmp(kind, "cp")) {
		s->kind = PP_FW_CP;
		if (pp_y_check_keys(v, cp_keys, what, err))
			return PP_EINVAL;
		if (!(x = pp_ymap_get(v, "src"))) {
			pp_y_err(err, v, "%s: missing 'src'", what);
			return PP_EINVAL;
		}
		if (check_glob(x, what, &s->src, err))
			return PP_EINVAL;
		if (!(x = pp_ymap_get(v, "dest"))) {
			pp_y_err(err, v, "%s: missing 'dest'", what);
			return PP_EINVAL;
		}
		return get_path(x, what, true, &s->dest, err);
	}
	if (!strcmp(kind, "mkdir")) {
		s->kind = PP_FW_MKDIR;
		return get_path(v, what, false, &s->dest, err);
	}
	if (!strcmp(kind, "rename")) {
		s->kind = PP_FW_RENAME;
		if (pp_y_check_keys(v, rn_keys, what, err))
			return PP_EINVAL;
		if (!(x = pp_ymap_get(v, "from"))) {
			pp_y_err(err, v, "%s: missing 'from'", what);
			return PP_EINVAL;
		}
		if (get_path(x, what, false, &s->from, err))
			return PP_EINVAL;
		if (!(x = pp_ymap_get(v, "to"))) {
			pp_y_err(err, v, "%s: missing 'to'", what);
			return PP_EINVAL;
		}
		return get_path(x, what, false, &s->to, err);
	}
	pp_y_err(err, n->keys[0], "%s: unknown step '%s' (untar, unzip, cp, mkdir or rename)",
		 pwhat, kind);
	return PP_EINVAL;
}

static int parse_pkg(struct pp_pkgs *p, const struct pp_ynode *key, const struct pp_ynode *val,
		     struct pp_err *err)
{
	static const char *const keys[] = { "description", "version", "files", "install", NULL };
	struct pp_fw_pkg *k = &p->pkgs[p->n_pkgs];
	const struct pp_ynode *files, *inst;
	const char *desc, *ver;
	char what[160], w[200];

	if (check_name(key, "package name", err))
		return PP_EINVAL;
	what_fmt(what, sizeof(what), "packages.%s", key->str);
	if (pp_y_check_keys(val, keys, what, err))
		return PP_EINVAL;
	memset(k, 0, sizeof(*k));
	p->n_pkgs++;
	if (!(k->name = strdup(key->str)))
		return PP_ENOMEM;
	if (get_str(val, "description", what, true, &desc, err) ||
	    get_str(val, "version", what, true, &ver, err))
		return PP_EINVAL;
	if (!(k->description = strdup(desc)) || !(k->version = strdup(ver)))
		return PP_ENOMEM;
	files = pp_ymap_get(val, "files");
	if (!files) {
		pp_y_err(err, val, "%s: missing 'files'", what);
		return PP_EINVAL;
	}
	what_fmt(w, sizeof(w), "%s.files", what);
	if (pp_y_expect(files, PP_Y_SEQ, w, err))
		return PP_EINVAL;
	if (files->n == 0) {
		pp_y_err(err, files, "%s must list at least one file", w);
		return PP_EINVAL;
	}
	k->files = calloc(files->n, sizeof(*k->files));
	if (!k->files)
		return PP_ENOMEM;
	for (size_t i = 0; i < files->n; i++) {
		const struct pp_ynode *n = files->vals[i];
		const char *id;

		if (pp_y_str(n, w, &id, err))
			return PP_EINVAL;
		if (!(k->files[k->n_files] = find_file(p, id))) {
			pp_y_err(err, n, "%s: no file '%s' in 'files'", w, id);
			return PP_EINVAL;
		}
		for (size_t j = 0; j < k->n_files; j++)
			if (k->files[j] == k->files[k->n_files]) {
				pp_y_err(err, n, "%s: '%s' is listed twice", w, id);
				return PP_EINVAL;
			}
		k->n_files++;
	}
	inst = pp_ymap_get(val, "install");
	if (!inst) {
		pp_y_err(err, val, "%s: missing 'install'", what);
		return PP_EINVAL;
	}
	what_fmt(w, sizeof(w), "%s.install", what);
	if (pp_y_expect(inst, PP_Y_SEQ, w, err))
		return PP_EINVAL;
	if (inst->n == 0) {
		pp_y_err(err, inst, "%s must list at least one step", w);
		return PP_EINVAL;
	}
	k->steps = calloc(inst->n, sizeof(*k->steps));
	if (!k->steps)
		return PP_ENOMEM;
	for (size_t i = 0; i < inst->n; i++) {
		char sw[220];
		int rc;

		what_fmt(sw, sizeof(sw), "%s[%zu]", w, i);
		if ((rc = parse_step(p, k, inst->vals[i], sw, err)))
			return rc;
	}
	return PP_OK;
}

static int parse_doc(const struct pp_ydoc *doc, struct pp_pkgs *p, struct pp_err *err)
{
	static const char *const keys[] = { "packages", "files", NULL };
	const struct pp_ynode *root = doc->root, *pk, *fs;
	int rc;

	if (!root) {
		pp_err_at(err, doc->file, 1, 1, "empty document: expected 'packages:'");
		return PP_EINVAL;
	}
	if (pp_y_check_keys(root, keys, "pkgs.yml", err))
		return PP_EINVAL;
	pk = pp_ymap_get(root, "packages");
	fs = pp_ymap_get(root, "files");
	if (!pk) {
		pp_y_err(err, root, "missing 'packages'");
		return PP_EINVAL;
	}
	if (pp_y_expect(pk, PP_Y_MAP, "packages", err))
		return PP_EINVAL;
	if (fs) {
		if (pp_y_expect(fs, PP_Y_MAP, "files", err))
			return PP_EINVAL;
		p->files = calloc(fs->n ? fs->n : 1, sizeof(*p->files));
		if (!p->files)
			return PP_ENOMEM;
		for (size_t i = 0; i < fs->n; i++)
			if ((rc = parse_file(p, fs->keys[i], fs->vals[i], err)))
				return rc;
	}
	p->pkgs = calloc(pk->n ? pk->n : 1, sizeof(*p->pkgs));
	if (!p->pkgs)
		return PP_ENOMEM;
	for (size_t i = 0; i < pk->n; i++)
		if ((rc = parse_pkg(p, pk->keys[i], pk->vals[i], err)))
			return rc;
	return PP_OK;
}

static int finish(struct pp_ydoc *doc, struct pp_pkgs **out, struct pp_err *err)
{
	struct pp_pkgs *p = calloc(1, sizeof(*p));
	int rc;

	if (!p) {
		pp_ydoc_free(doc);
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	rc = parse_doc(doc, p, err);
	pp_ydoc_free(doc);
	if (rc == PP_ENOMEM)
		pp_err_set(err, "out of memory");
	if (rc) {
		pp_pkgs_free(p);
		return rc;
	}
	*out = p;
	return PP_OK;
}

int pp_pkgs_parse_buf(const char *name, const char *buf, size_t len, struct pp_pkgs **out,
		      struct pp_err *err)
{
	struct pp_ydoc *doc = NULL;
	int rc;

	*out = NULL;
	rc = pp_yaml_load_buf(name, buf, len, &doc, err);
	if (rc)
		return rc;
	return finish(doc, out, err);
}

int pp_pkgs_load(const char *path, struct pp_pkgs **out, struct pp_err *err)
{
	struct pp_ydoc *doc = NULL;
	FILE *f;
	int rc;

	*out = NULL;
	f = fopen(path, "r");
	if (!f) {
		pp_err_set(err, "%s: cannot open: %s", path, strerror(errno));
		return errno == ENOENT ? PP_ENOENT : PP_EIO;
	}
	fclose(f);
	rc = pp_yaml_load_file(path, &doc, err);
	if (rc)
		return rc;
	return finish(doc, out, err);
}
