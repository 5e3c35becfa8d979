/* Registry side of the C hooks: one instance per enabled plugin (the
 * module's state after init), shared by the registries that use it.
 *
 * Instances and reloads (docs/flavors.md, "One instance"): a SIGHUP keeps
 * the instance of a plugin whose hooks.so and settings (less
 * job_interval_s) did not change: the new registry adopts it, no fini, no
 * init. When they changed (or the plugin went away), the old instance is
 * retired under its write lock: calls in flight finish, fini runs, then the
 * new instance's init; a call that reaches the retired instance afterwards
 * is forwarded to its successor. So at most one instance of a plugin is
 * ever initialised. Plugins with a call-record monitor (run hook) keep the
 * older rule: the old instance lives until its registry is freed. */
#ifndef PP_HOOKS_INT_H
#define PP_HOOKS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#include "plugin.h"
#include "hooks.h"
#include "extractors/extract.h"

struct pp_hooks {
	void *dl;
	const struct pp_plugin_hooks *h;
	size_t size;   /* min(module's size, ours) */
	void *state;
	atomic_int refs;              /* registries holding it */
	pthread_rwlock_t lock;        /* calls: read; retiring: write */
	bool dead;                    /* fini ran */
	struct pp_hooks *succ;        /* after a retire: the new instance (a reference) */
	/* identity: the module file and the settings it was initialised with */
	dev_t dev;
	ino_t ino;
	off_t fsize;
	long long mtime_ns;
	uint64_t settings_hash;
	/* the job's schedule (jobs thread only) */
	int64_t job_next_ms;          /* 0 = due (first call), -1 = never again */
	int64_t job_last_ms;          /* start of the last call (0 = none yet) */
	int64_t job_interval_ms;      /* the interval job_next_ms was computed with */
};

#define PP_HOOK(hk, field) \
	((hk) && (hk)->size >= offsetof(struct pp_plugin_hooks, field) + \
	 sizeof((hk)->h->field) ? (hk)->h->field : NULL)

/* dlopen <plugin dir>/hooks.so when present and call init. */
int pp_hooks_load(struct pp_plugin *p, struct pp_err *err);
/* Drop a registry's reference; the last one runs fini (unless retired) and
 * dlcloses. */
void pp_hooks_unload(struct pp_hooks *hk);
/* -1 when no hook (keep the default). */
int pp_hooks_score(struct pp_hooks *hk, const struct pp_devinfo *di, int def);
/* Enter a live instance for a call (read lock; follows successors); NULL
 * when there is none. pp_hooks_leave after the call. */
struct pp_hooks *pp_hooks_enter(struct pp_hooks *hk);
void pp_hooks_leave(struct pp_hooks *hk);

#endif
