/* A C hooks module with a call-record monitor (run hook) for test_hookrun.py:
 * each run() appends its CLOCK_MONOTONIC time to settings.calls_file; call
 * number settings.push_on pushes one record and returns (a good run), call
 * number settings.block_on loops while *ctx->running (until the stop), the
 * others return an error at once (a failed run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/plugin/hooks.h"

struct st {
	char file[512];
	long push_on, block_on;
	int calls;
};

static int h_init(const json_t *settings, void **state)
{
	struct st *s = calloc(1, sizeof(*s));
	const char *f = json_string_value(json_object_get(settings, "calls_file"));

	if (!s || !f)
		return free(s), -5;
	snprintf(s->file, sizeof(s->file), "%s", f);
	s->push_on = (long)json_integer_value(json_object_get(settings, "push_on"));
	s->block_on = (long)json_integer_value(json_object_get(settings, "block_on"));
	*state = s;
	return 0;
}

static void h_fini(void *state)
{
	free(state);
}

static int h_run(void *state, struct pp_monitor_ctx *ctx)
{
	struct st *s = state;
	struct timespec ts;
	FILE *f = fopen(s->file, "a");

	clock_gettime(CLOCK_MONOTONIC, &ts);
	s->calls++;
	if (f) {
		fprintf(f, "%d %lld.%09ld\n", s->calls, (long long)ts.tv_sec, ts.tv_nsec);
		fclose(f);
	}
	if (s->calls == s->push_on) {
		json_t *rec = json_pack("{s:s, s:s, s:i}", "direction", "incoming", "number",
					"0301234567", "duration_s", 42);
		int rc = ctx->push(ctx, rec);

		json_decref(rec);
		return rc;
	}
	if (s->calls == s->block_on) {
		struct timespec nap = { 0, 10 * 1000000L };

		while (atomic_load(ctx->running))
			nanosleep(&nap, NULL);
		return 0;
	}
	return -6; /* PP_EIO: the PBX is down */
}

const struct pp_plugin_hooks pp_plugin_hooks = {
	.abi = PP_HOOKS_ABI,
	.size = sizeof(struct pp_plugin_hooks),
	.init = h_init,
	.fini = h_fini,
	.run = h_run,
};
