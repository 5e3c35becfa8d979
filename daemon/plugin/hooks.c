/* C hooks of plugins (DESIGN §6): loading a plugin's hooks.so, and calling
 * its score and device hooks. init and fini run on the thread that loads and
 * frees the registry (see hooks.h). */
#include "hooks_int.h"

#include <dlfcn.h>
#include <fnmatch.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plugin_int.h"
#include "pp_paths.h"

/* The settings an instance depends on: all but job_interval_s (a new
 * interval is followed without a new instance). */
static uint64_t settings_hash(const json_t *settings)
{
	json_t *c = json_deep_copy(settings);
	char *js;
	uint64_t h = PP_FNV_INIT;

	if (c)
		json_object_del(c, "job_interval_s");
	js = c ? json_dumps(c, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (js)
		h = pp_fnv(h, js, strlen(js));
	free(js);
	json_decref(c);
	return h;
}

/* The plugin's module: <plugin dir>/hooks.so, else the installed one of a
 * bundled plugin, <PP_PLUGINLIBDIR>/<name>/hooks.so (architecture-dependent
 * files stay out of share/). false when there is none. */
static bool hooks_path(const struct pp_plugin *p, char *path, size_t n, struct stat *st)
{
	snprintf(path, n, "%s/hooks.so", p->dir);
	if (stat(path, st) == 0)
		return true;
	snprintf(path, n, "%s/%s/hooks.so", PP_PLUGINLIBDIR, p->name);
	return stat(path, st) == 0;
}

int pp_hooks_load(struct pp_plugin *p, struct pp_err *err)
{
	struct pp_plugin_priv *pv = pp_priv(p);
	const struct pp_plugin_hooks *h;
	struct pp_hooks *hk;
	char path[4400];
	struct stat st;
	void *dl;

	if (!hooks_path(p, path, sizeof(path), &st))
		return PP_OK;
	dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		pp_err_set(err, "%s: cannot load: %s", path, dlerror());
		return PP_EINVAL;
	}
	h = dlsym(dl, "pp_plugin_hooks");
	if (!h || h->abi != PP_HOOKS_ABI || h->size < offsetof(struct pp_plugin_hooks, init)) {
		if (!h)
			pp_err_set(err, "%s: no 'pp_plugin_hooks' symbol", path);
		else if (h->abi != PP_HOOKS_ABI)
			pp_err_set(err, "%s: unsupported hooks ABI %u (this phoneprov speaks "
				   "PP_HOOKS_ABI %d)", path, (unsigned)h->abi, PP_HOOKS_ABI);
		else
			pp_err_set(err, "%s: hooks descriptor of %u bytes is too small (at least "
				   "%zu: abi and size)", path, (unsigned)h->size,
				   offsetof(struct pp_plugin_hooks, init));
		dlclose(dl);
		return PP_EINVAL;
	}
	hk = calloc(1, sizeof(*hk));
	if (!hk) {
		dlclose(dl);
		return PP_ENOMEM;
	}
	hk->dl = dl;
	hk->h = h;
	hk->size = h->size < sizeof(*h) ? h->size : sizeof(*h);
	hk->dev = st.st_dev;
	hk->ino = st.st_ino;
	hk->fsize = st.st_size;
	hk->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
	hk->settings_hash = settings_hash(pv->settings);
	atomic_init(&hk->refs, 1);
	pthread_rwlock_init(&hk->lock, NULL);
	if (PP_HOOK(hk, init)) {
		int rc = hk->h->init(pv->settings, &hk->state);

		if (rc != PP_OK) {
			pp_err_set(err, "%s: init failed: %s", path, pp_strerror(rc));
			pthread_rwlock_destroy(&hk->lock);
			dlclose(dl);
			free(hk);
			return PP_EINVAL;
		}
	}
	pv->hooks = hk;
	return PP_OK;
}

void pp_hooks_unload(struct pp_hooks *hk)
{
	if (!hk || atomic_fetch_sub(&hk->refs, 1) != 1)
		return;
	if (!hk->dead && PP_HOOK(hk, fini))
		hk->h->fini(hk->state);
	pp_hooks_unload(hk->succ);
	pthread_rwlock_destroy(&hk->lock);
	dlclose(hk->dl);
	free(hk);
}

struct pp_hooks *pp_hooks_enter(struct pp_hooks *hk)
{
	while (hk) {
		struct pp_hooks *next;

		pthread_rwlock_rdlock(&hk->lock);
		if (!hk->dead)
			return hk;
		next = hk->succ;
		pthread_rwlock_unlock(&hk->lock);
		hk = next;
	}
	return NULL;
}

void pp_hooks_leave(struct pp_hooks *hk)
{
	if (hk)
		pthread_rwlock_unlock(&hk->lock);
}

/* Is the module file and the settings the instance was made with the same
 * as what plugin p would load? */
static bool same_instance(const struct pp_hooks *hk, const struct pp_plugin *p)
{
	char path[4400];
	struct stat st;

	return hooks_path(p, path, sizeof(path), &st) && st.st_dev == hk->dev && st.st_ino == hk->ino &&
	       st.st_size == hk->fsize &&
	       (long long)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec == hk->mtime_ns &&
	       settings_hash(pp_priv(p)->settings) == hk->settings_hash;
}

/* Retire an instance: wait for its calls in flight, fini. */
static void retire(struct pp_hooks *hk)
{
	pthread_rwlock_wrlock(&hk->lock);
	if (!hk->dead && PP_HOOK(hk, fini))
		hk->h->fini(hk->state);
	hk->dead = true;
	pthread_rwlock_unlock(&hk->lock);
}

int pp_registry_adopt_hooks(struct pp_registry *nr, const struct pp_registry *old,
			    struct pp_err *err)
{
	size_t n = pp_registry_count(nr), no = old ? pp_registry_count(old) : 0;
	int rc = PP_OK;

	for (size_t i = 0; rc == PP_OK && i < n; i++) {
		struct pp_plugin *p = (struct pp_plugin *)pp_registry_at(nr, i);
		struct pp_plugin_priv *pv = pp_priv(p);
		const struct pp_plugin *op = old ? pp_registry_find(old, p->name) : NULL;
		struct pp_hooks *ohk = op ? pp_priv(op)->hooks : NULL;

		if (pv->hooks)
			continue;
		if (ohk && !ohk->dead && !PP_HOOK(ohk, run) && same_instance(ohk, p)) {
			atomic_fetch_add(&ohk->refs, 1);
			pv->hooks = ohk; /* adopted: same module, same settings */
			continue;
		}
		if (!ohk || ohk->dead || PP_HOOK(ohk, run)) {
			rc = pp_hooks_load(p, err);
			continue;
		}
		/* changed: the old instance goes first, then the new one starts */
		pthread_rwlock_wrlock(&ohk->lock);
		if (PP_HOOK(ohk, fini))
			ohk->h->fini(ohk->state);
		ohk->dead = true;
		rc = pp_hooks_load(p, err);
		if (rc == PP_OK && pv->hooks) {
			atomic_fetch_add(&pv->hooks->refs, 1);
			ohk->succ = pv->hooks;
		} else if (rc != PP_OK) {
			/* the reload fails: the old instance serves on */
			void *st = NULL;

			if (!PP_HOOK(ohk, init) ||
			    ohk->h->init(pp_priv(op)->settings, &st) == PP_OK) {
				ohk->state = st;
				ohk->dead = false;
			}
		}
		pthread_rwlock_unlock(&ohk->lock);
	}
	/* plugins no longer enabled: their instances stop now */
	for (size_t i = 0; rc == PP_OK && i < no; i++) {
		const struct pp_plugin *op = pp_registry_at(old, i);
		struct pp_hooks *ohk = pp_priv(op)->hooks;

		if (ohk && !PP_HOOK(ohk, run) && !pp_registry_find(nr, op->name))
			retire(ohk);
	}
	return rc;
}

int pp_hooks_score(struct pp_hooks *hk, const struct pp_devinfo *di, int def)
{
	struct pp_hook_info in;
	int rc = -1;

	if (!PP_HOOK(hk, score) || !(hk = pp_hooks_enter(hk)))
		return -1;
	in.vendor = di->f[PP_F_VENDOR];
	in.model = di->f[PP_F_MODEL];
	in.version = di->f[PP_F_VERSION];
	in.mac = di->f[PP_F_MAC];
	in.serial = di->f[PP_F_SERIAL];
	if (PP_HOOK(hk, score))
		rc = hk->h->score(hk->state, &in, def);
	pp_hooks_leave(hk);
	return rc;
}

void pp_hooks_device(const struct pp_plugin *p, enum pp_dev_event ev, const json_t *dev,
		     const json_t *config)
{
	struct pp_hooks *hk = p ? pp_priv(p)->hooks : NULL;
	void (*fn)(void *, const json_t *) = NULL;
	void (*on)(void *, int, const json_t *, const json_t *);

	if (!(hk = pp_hooks_enter(hk)))
		return;
	if ((on = PP_HOOK(hk, on_device))) {
		json_t *empty = config ? NULL : json_object();

		on(hk->state, ev == PP_HOOK_CREATE ? PP_DEVICE_CREATED :
		   ev == PP_HOOK_UPDATE ? PP_DEVICE_UPDATED : PP_DEVICE_DELETED, dev,
		   config ? config : empty);
		json_decref(empty);
		pp_hooks_leave(hk);
		return;
	}
	if (ev == PP_HOOK_CREATE)
		fn = PP_HOOK(hk, on_device_create);
	else if (ev == PP_HOOK_UPDATE)
		fn = PP_HOOK(hk, on_device_update);
	else
		fn = PP_HOOK(hk, on_device_delete);
	if (fn)
		fn(hk->state, dev);
	pp_hooks_leave(hk);
}

bool pp_plugin_has_routes(const struct pp_plugin *p)
{
	return p && PP_HOOK(pp_priv(p)->hooks, routes) != NULL;
}

int pp_plugin_route(const struct pp_plugin *p, const struct pp_hook_request *rq,
		    struct pp_hook_response *rs)
{
	struct pp_hooks *hk = pp_hooks_enter(pp_priv(p)->hooks);
	int rc = PP_HOOK(hk, routes) ? hk->h->routes(hk->state, rq, rs) : PP_ENOTSUP;

	pp_hooks_leave(hk);
	return rc;
}

bool pp_plugin_route_admin(const struct pp_plugin *p, const char *path)
{
	struct pp_hooks *hk = pp_priv(p)->hooks;
	const char *const *pats = PP_HOOK(hk, admin_routes);

	for (size_t i = 0; pats && pats[i] && i < 256; i++)
		if (fnmatch(pats[i], path, 0) == 0)
			return true;
	return false;
}
