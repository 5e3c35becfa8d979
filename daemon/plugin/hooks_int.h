/* Registry side of the C hooks (jobs.c). */
#ifndef PP_HOOKS_INT_H
#define PP_HOOKS_INT_H

#include "plugin.h"
#include "hooks.h"
#include "extractors/extract.h"

struct pp_hooks {
	void *dl;
	const struct pp_plugin_hooks *h;
	size_t size;   /* min(module's size, ours) */
	void *state;
};

#define PP_HOOK(hk, field) \
	((hk) && (hk)->size >= offsetof(struct pp_plugin_hooks, field) + \
	 sizeof((hk)->h->field) ? (hk)->h->field : NULL)

/* dlopen <plugin dir>/hooks.so when present and call init. */
int pp_hooks_load(struct pp_plugin *p, struct pp_err *err);
void pp_hooks_unload(struct pp_hooks *hk);
/* -1 when no hook (keep the default). */
int pp_hooks_score(struct pp_hooks *hk, const struct pp_devinfo *di, int def);

#endif
