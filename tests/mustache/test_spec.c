/* Conformance: runs every case of every mustache spec JSON file found in a
 * folder (PP_MUSTACHE_SPEC, else $PP_SRC/../shared/conformance/mustache).
 * TAP output, one line per case, and a count per file. Lambda cases are
 * reported as skipped: the engine renders data only, never code. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/mustache/mustache.h"

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

	if (!name || !tmpl || !want) {
		printf("not ok %d - %s: malformed case\n", ++tap_n, file);
		return 0;
	}
	json_object_foreach(parts, pname, pv) {
		if (p.n == 64 || !json_is_string(pv))
			break;
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
	char def[4096], path[4096 + 256];
	char *files[256];
	size_t nf = 0;
	int tot_fail = 0, tot_pass = 0, tot_skip = 0;
	DIR *d;
	struct dirent *e;

	if (!dir || !*dir) {
		const char *src = getenv("PP_SRC");

		snprintf(def, sizeof(def), "%s/../shared/conformance/mustache", src ? src : ".");
		dir = def;
	}
	d = opendir(dir);
	if (d) {
		while ((e = readdir(d)) && nf < 256) {
			size_t l = strlen(e->d_name);

			if (l > 5 && strcmp(e->d_name + l - 5, ".json") == 0)
				files[nf++] = strdup(e->d_name);
		}
		closedir(d);
	}
	if (nf == 0) {
		printf("1..0 # SKIP conformance data not found at %s\n", dir);
		return 0;
	}
	qsort(files, nf, sizeof(files[0]), cmp_str);
	for (size_t f = 0; f < nf; f++) {
		json_error_t jerr;
		json_t *root, *tests, *tc;
		size_t i;
		int pass = 0, fail = 0, skip = 0;
		int lambdas = strncmp(files[f], "~lambdas", 8) == 0;

		snprintf(path, sizeof(path), "%s/%s", dir, files[f]);
		root = json_load_file(path, 0, &jerr);
		tests = json_object_get(root, "tests");
		if (!json_is_array(tests)) {
			printf("not ok %d - %s: cannot read: %s\n", ++tap_n, files[f], jerr.text);
			tot_fail++;
			json_decref(root);
			continue;
		}
		json_array_foreach(tests, i, tc) {
			if (lambdas) {
				printf("ok %d - %s: %s # SKIP lambdas are out of scope\n", ++tap_n,
				       files[f], json_string_value(json_object_get(tc, "name")));
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
	printf("# conformance (%s): %d passed, %d failed, %d skipped\n", dir, tot_pass, tot_fail,
	       tot_skip);
	printf("1..%d\n", tap_n);
	return tot_fail ? 1 : 0;
}
