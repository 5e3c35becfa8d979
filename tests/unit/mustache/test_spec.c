/* Conformance: runs every case of every mustache spec JSON file found in a
 * folder (PP_MUSTACHE_SPEC, else $PP_SRC/../shared/conformance/mustache).
 * TAP output, one line per case, and a count per file.
 *
 * Only lambda cases are skipped: a case whose data or partials hold a lambda
 * ({"__tag__": "code", ...}, source code in other languages, none in C) is
 * reported "ok ... # SKIP" with the reason, whatever file it is in; every
 * other case is run and counted. The exit status is 1 when any case fails,
 * when a file cannot be read or holds a malformed case, or when a module the
 * engine implements (the core files, ~inheritance, ~dynamic-names) is absent.
 * A missing spec folder skips the whole test only on a developer machine; it
 * is a failure when PP_MUSTACHE_SPEC names it or when CI is set (CI=true). */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/mustache.h"

struct partials {
	const char *names[64];
	struct mst_tpl *tpl[64];
	size_t n;
};

static const struct mst_tpl *find_partial(void *ud, const char *name, size_t len)
{
	struct partials *p = ud;

	for (size_t i = 0; i < p->n; i++)
		if (strlen(p->names[i]) == len && memcmp(p->names[i], name, len) == 0)
			return p->tpl[i];
	return NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int tap_n;

/* The spec files the engine implements: each must be there. */
static const char *const required[] = {
	"comments.json", "delimiters.json", "interpolation.json", "inverted.json",
	"partials.json", "sections.json", "~dynamic-names.json", "~inheritance.json",
};

/* A lambda in the spec data is {"__tag__": "code", "ruby": "...", ...}. */
static bool has_lambda(const json_t *v)
{
	const char *k;
	const json_t *x;
	size_t i;

	if (json_is_object(v)) {
		const char *tag = json_string_value(json_object_get(v, "__tag__"));

		if (tag && strcmp(tag, "code") == 0)
			return true;
		json_object_foreach((json_t *)v, k, x)
			if (has_lambda(x))
				return true;
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			if (has_lambda(x))
				return true;
	}
	return false;
}

static bool in_ci(void)
{
	const char *ci = getenv("CI");

	return ci && *ci && strcmp(ci, "false") != 0 && strcmp(ci, "0") != 0;
}

/* Returns 1 when the case passed, 0 when it failed. */
static int run_case(const char *file, json_t *tc)
{
	const char *name = json_string_value(json_object_get(tc, "name"));
	const char *tmpl = json_string_value(json_object_get(tc, "template"));
	const char *want = json_string_value(json_object_get(tc, "expected"));
	json_t *data = json_object_get(tc, "data");
	json_t *parts = json_object_get(tc, "partials");
	struct partials p = { .n = 0 };
	struct mst_tpl *t = NULL;
	struct mst_error err = { "" };
	struct pp_buf out = { 0 };
	const char *pname;
	json_t *pv;
	int ok = 0;

	if (!name || !tmpl || !want || (parts && !json_is_object(parts))) {
		printf("not ok %d - %s: malformed case%s%s\n", ++tap_n, file, name ? " " : "",
		       name ? name : "");
		return 0;
	}
	json_object_foreach(parts, pname, pv) {
		if (p.n == 64 || !json_is_string(pv)) {
			snprintf(err.msg, sizeof(err.msg), "partial '%s': %s", pname,
				 p.n == 64 ? "more than 64 partials" : "not a string");
			goto out;
		}
		p.names[p.n] = pname;
		if (mst_compile(pname, json_string_value(pv), json_string_length(pv), &p.tpl[p.n],
				&err) != PP_OK)
			goto out;
		p.n++;
	}
	if (mst_compile(name, tmpl, json_string_length(json_object_get(tc, "template")), &t,
			&err) != PP_OK)
		goto out;
	if (mst_render(t, data, MST_ESCAPE_HTML, find_partial, &p, 0, &out, &err) != PP_OK)
		goto out;
	ok = out.len == strlen(want) && memcmp(out.data, want, out.len) == 0;
out:
	printf("%s %d - %s: %s\n", ok ? "ok" : "not ok", ++tap_n, file, name);
	if (!ok) {
		if (err.msg[0])
			printf("# error: %s\n", err.msg);
		else
			printf("# expected: %s\n# got:      %.*s\n", want, (int)out.len,
			       out.data ? out.data : "");
	}
	mst_free(t);
	for (size_t i = 0; i < p.n; i++)
		mst_free(p.tpl[i]);
	pp_buf_free(&out);
	return ok;
}

int main(void)
{
	const char *dir = getenv("PP_MUSTACHE_SPEC");
	bool explicit_dir = dir && *dir;
	char def[4096], path[4096 + 256];
	char **files = NULL;
	size_t nf = 0, cap = 0;
	int tot_fail = 0, tot_pass = 0, tot_skip = 0;
	DIR *d;
	struct dirent *e;

	if (!explicit_dir) {
		const char *src = getenv("PP_SRC");

		snprintf(def, sizeof(def), "%s/../shared/conformance/mustache", src ? src : ".");
		dir = def;
	}
	d = opendir(dir);
	if (d) {
		while ((e = readdir(d))) {
			size_t l = strlen(e->d_name);

			if (l <= 5 || strcmp(e->d_name + l - 5, ".json") != 0)
				continue;
			if (nf == cap) {
				cap = cap ? cap * 2 : 16;
				files = realloc(files, cap * sizeof(*files));
				if (!files)
					abort();
			}
			if (!(files[nf++] = strdup(e->d_name)))
				abort();
		}
		closedir(d);
	}
	if (nf == 0) {
		free(files);
		if (explicit_dir || in_ci()) {
			/* in CI (or when asked for a folder) missing data is a failure:
			 * a green run must mean the cases ran */
			printf("not ok 1 - conformance data not found at %s (%s)\n", dir,
			       explicit_dir ? "PP_MUSTACHE_SPEC" : "CI is set");
			printf("1..1\n");
			return 1;
		}
		printf("1..0 # SKIP conformance data not found at %s\n", dir);
		return 0;
	}
	qsort(files, nf, sizeof(files[0]), cmp_str);
	for (size_t r = 0; r < sizeof(required) / sizeof(required[0]); r++) {
		bool found = false;

		for (size_t f = 0; f < nf && !found; f++)
			found = strcmp(files[f], required[r]) == 0;
		if (!found) {
			printf("not ok %d - %s: missing from %s\n", ++tap_n, required[r], dir);
			tot_fail++;
		}
	}
	for (size_t f = 0; f < nf; f++) {
		json_error_t jerr;
		json_t *root, *tests, *tc;
		size_t i;
		int pass = 0, fail = 0, skip = 0;

		snprintf(path, sizeof(path), "%s/%s", dir, files[f]);
		root = json_load_file(path, 0, &jerr);
		tests = json_object_get(root, "tests");
		if (!json_is_array(tests)) {
			printf("not ok %d - %s: cannot read: %s\n", ++tap_n, files[f],
			       root ? "no \"tests\" list" : jerr.text);
			tot_fail++;
			json_decref(root);
			free(files[f]);
			continue;
		}
		json_array_foreach(tests, i, tc) {
			if (has_lambda(json_object_get(tc, "data")) ||
			    has_lambda(json_object_get(tc, "partials"))) {
				printf("ok %d - %s: %s # SKIP lambda: the data holds code for other "
				       "languages; the engine renders data only\n", ++tap_n, files[f],
				       json_string_value(json_object_get(tc, "name")));
				skip++;
			} else if (run_case(files[f], tc)) {
				pass++;
			} else {
				fail++;
			}
		}
		printf("# %s: %d passed, %d failed, %d skipped\n", files[f], pass, fail, skip);
		tot_pass += pass;
		tot_fail += fail;
		tot_skip += skip;
		json_decref(root);
		free(files[f]);
	}
	free(files);
	printf("# conformance (%s): %d passed, %d failed, %d skipped\n", dir, tot_pass, tot_fail,
	       tot_skip);
	printf("1..%d\n", tap_n);
	return tot_fail ? 1 : 0;
}
