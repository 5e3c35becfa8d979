/* C hooks of plugins (DESIGN §6): loading a plugin's hooks.so, and calling
 * its score and device hooks. init and fini run on the thread that loads and
 * frees the registry (see hooks.h). */
#include "hooks_int.h"

#include <dlfcn.h>
#include <fnmatch.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "plugin_int.h"

int pp_hooks_load(struct pp_plugin *p, struct pp_err *err)
{
	struct pp_plugin_priv *pv = pp_priv(p);
	const struct pp_plugin_hooks *h;
	struct pp_hooks *hk;
	char path[4400];
	struct stat st;
	void *dl;

	snprintf(path, sizeof(path), "%s/hooks.so", p->dir);
	if (stat(path, &st) != 0)
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
	if (PP_HOOK(hk, init)) {
		int rc = hk->h->init(pv->settings, &hk->state);

		if (rc != PP_OK) {
			pp_err_set(err, "%s: init failed: %s", path, pp_strerror(rc));
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
	if (!hk)
		return;
	if (PP_HOOK(hk, fini))
		hk->h->fini(hk->state);
	dlclose(hk->dl);
	free(hk);
}

int pp_hooks_score(struct pp_hooks *hk, const struct pp_devinfo *di, int def)
{
	struct pp_hook_info in;

	if (!PP_HOOK(hk, score))
		return -1;
	in.vendor = di->f[PP_F_VENDOR];
	in.model = di->f[PP_F_MODEL];
	in.version = di->f[PP_F_VERSION];
	in.mac = di->f[PP_F_MAC];
	in.serial = di->f[PP_F_SERIAL];
	return hk->h->score(hk->state, &in, def);
}

void pp_hooks_device(const struct pp_plugin *p, enum pp_dev_event ev, const json_t *dev,
		     const json_t *config)
{
	struct pp_hooks *hk = p ? pp_priv(p)->hooks : NULL;
	void (*fn)(void *, const json_t *) = NULL;
	void (*on)(void *, int, const json_t *, const json_t *);

	if (!hk)
		return;
	if ((on = PP_HOOK(hk, on_device))) {
		json_t *empty = config ? NULL : json_object();

		on(hk->state, ev == PP_HOOK_CREATE ? PP_DEVICE_CREATED :
		   ev == PP_HOOK_UPDATE ? PP_DEVICE_UPDATED : PP_DEVICE_DELETED, dev,
		   config ? config : empty);
		json_decref(empty);
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
}

bool pp_plugin_has_routes(const struct pp_plugin *p)
{
	return p && PP_HOOK(pp_priv(p)->hooks, routes) != NULL;
}

int pp_plugin_route(const struct pp_plugin *p, const struct pp_hook_request *rq,
		    struct pp_hook_response *rs)
{
	struct pp_hooks *hk = pp_priv(p)->hooks;

	return PP_HOOK(hk, routes) ? hk->h->routes(hk->state, rq, rs) : PP_ENOTSUP;
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
