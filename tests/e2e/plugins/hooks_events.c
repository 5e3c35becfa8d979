/* A C hooks module for the end-to-end tests: appends one line per device
 * hook call to the file named by the plugin setting `events_file`:
 *   "<event> <mac> <plugin field of the device>"
 * and "fini <thread id>" when unloaded, so a test can count calls per path
 * and see which thread ran fini. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "daemon/plugin/hooks.h"

struct st {
	char file[1024];
	pthread_mutex_t lock;
};

static void put(struct st *s, const char *ev, const json_t *dev)
{
	const char *mac = json_string_value(json_object_get(dev, "mac"));
	const char *pl = json_string_value(json_object_get(dev, "plugin"));
	FILE *f;

	pthread_mutex_lock(&s->lock);
	f = fopen(s->file, "a");
	if (f) {
		fprintf(f, "%s %s %s\n", ev, mac ? mac : "-", pl ? pl : "-");
		fclose(f);
	}
	pthread_mutex_unlock(&s->lock);
}

static int h_init(const json_t *settings, void **state)
{
	struct st *s = calloc(1, sizeof(*s));
	const char *f = json_string_value(json_object_get(settings, "events_file"));

	if (!s || !f)
		return free(s), -5; /* PP_EINVAL: settings are required */
	snprintf(s->file, sizeof(s->file), "%s", f);
	pthread_mutex_init(&s->lock, NULL);
	*state = s;
	return 0;
}

static void h_fini(void *state)
{
	struct st *s = state;
	FILE *f = fopen(s->file, "a");

	if (f) {
		fprintf(f, "fini %ld %d\n", (long)syscall(SYS_gettid), (int)getpid());
		fclose(f);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static void h_create(void *state, const json_t *dev) { put(state, "create", dev); }
static void h_update(void *state, const json_t *dev) { put(state, "update", dev); }
static void h_delete(void *state, const json_t *dev) { put(state, "delete", dev); }

const struct pp_plugin_hooks pp_plugin_hooks = {
	.abi = PP_HOOKS_ABI,
	.size = sizeof(struct pp_plugin_hooks),
	.init = h_init,
	.fini = h_fini,
	.on_device_create = h_create,
	.on_device_update = h_update,
	.on_device_delete = h_delete,
};
