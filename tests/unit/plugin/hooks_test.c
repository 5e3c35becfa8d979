/* A C hooks module for the engine tests (built as hookstest.so, copied into
 * a test plugin folder as hooks.so). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/plugin/hooks.h"

struct st {
	char file[512];
	int calls;
};

static int h_init(const json_t *settings, void **state)
{
	struct st *s = calloc(1, sizeof(*s));
	const char *f = json_string_value(json_object_get(settings, "counter_file"));

	if (!s || !f)
		return free(s), -5; /* PP_EINVAL: settings are required */
	snprintf(s->file, sizeof(s->file), "%s", f);
	*state = s;
	return 0;
}

static void h_fini(void *state)
{
	free(state);
}

static int h_score(void *state, const struct pp_hook_info *in, int def)
{
	(void)state;
	if (strcmp(in->model, "HOOKED") == 0)
		return 3;
	return strcmp(in->model, "DEMOTE") == 0 ? 0 : -1 + 0 * def;
}

static int h_job(void *state)
{
	struct st *s = state;
	FILE *f = fopen(s->file, "a");

	if (f) {
		fputs("job\n", f);
		fclose(f);
	}
	return ++s->calls >= 2 ? -9 /* PP_ENOTSUP: never again */ : 0;
}

const struct pp_plugin_hooks pp_plugin_hooks = {
	.abi = PP_HOOKS_ABI,
	.size = sizeof(struct pp_plugin_hooks),
	.init = h_init,
	.fini = h_fini,
	.score = h_score,
	.job = h_job,
	.job_interval_s = 1,
};
