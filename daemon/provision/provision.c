/* The apply machinery every device change goes through (see provision.h):
 * one write transaction (device record, association, rendered files,
 * events), then the disk mirror, then the hooks, under the device's lock. */
#include "prov_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "lib/metrics.h"

/* ---- the module --------------------------------------------------------- */

int pp_prov_new(const struct pp_prov_opts *o, struct pp_prov **out, struct pp_err *err)
{
	struct pp_prov *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p || !(p->ban = pp_ban_new())) {
		free(p);
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	p->store = o->store;
	p->snaps = o->snaps;
	p->render_dirfd = o->render_dirfd;
	p->qmax = o->queue_max ? o->queue_max : 8192;
	p->dmax = 4 * p->qmax;
	pthread_mutex_init(&p->qlock, NULL);
	pthread_cond_init(&p->qcond, NULL);
	pthread_mutex_init(&p->mirror_lock, NULL);
	if (o->threaded && (prov_mirror_start(p) != PP_OK || prov_worker_start(p) != PP_OK)) {
		pp_prov_free(p);
		pp_err_set(err, "cannot start the provisioning worker");
		return PP_ERR;
	}
	*out = p;
	return PP_OK;
}

void pp_prov_free(struct pp_prov *p)
{
	if (!p)
		return;
	pp_prov_stop(p);
	pthread_cond_destroy(&p->qcond);
	pthread_mutex_destroy(&p->qlock);
	pthread_mutex_destroy(&p->mirror_lock);
	pp_ban_free(p->ban);
	free(p->commons_done);
	free(p);
}

/* ---- helpers ------------------------------------------------------------ */

static const char *const fact_keys[PP_F_N] = { "vendor", "model", "version", "mac", "serial" };

const char *prov_jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

void prov_dev_to_info(const json_t *dev, struct pp_devinfo *di)
{
	pp_devinfo_init(di);
	for (int f = 0; f < PP_F_N; f++) {
		const char *s = prov_jstr(dev, fact_keys[f]);

		pp_devinfo_offer(di, f, s, strlen(s), -1, NULL);
	}
}

/* The render stamp: what the rendered files depend on. */
static void render_stamp(const struct pp_plugin *p, const struct pp_devinfo *di, const char *ip,
			 const json_t *config, char out[17])
{
	uint64_t h = PP_FNV_INIT;
	char *js;

	if (p) {
		uint64_t ph = pp_plugin_hash(p);

		h = pp_fnv(h, &ph, sizeof(ph));
		h = pp_fnv(h, p->name, strlen(p->name) + 1);
	}
	for (int f = 0; f < PP_F_N; f++)
		h = pp_fnv(h, di->f[f], strlen(di->f[f]) + 1);
	h = pp_fnv(h, ip ? ip : "", ip ? strlen(ip) + 1 : 1);
	js = config ? json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	if (js)
		h = pp_fnv(h, js, strlen(js));
	free(js);
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

json_t *prov_general_layer(const struct pp_config *cfg, const struct pp_plugin *p)
{
	const json_t *ap = p ? pp_plugin_autoprov(p) : NULL;
	const char *k;
	json_t *g, *v;

	if (!cfg || !json_object_size(cfg->general))
		return NULL;
	if (!(g = json_object()))
		return NULL;
	/* copies: cfg->general is shared by every thread of the snapshot, and
	 * jansson's reference count check is not a synchronised read */
	json_object_foreach(cfg->general, k, v)
		if (!json_object_get(ap, k))
			json_object_set_new(g, k, json_deep_copy(v));
	if (!json_object_size(g)) {
		json_decref(g);
		return NULL;
	}
	return g;
}

int prov_resolve_config(struct pp_txn *t, const struct pp_config *cfg,
			const struct pp_registry *reg, const json_t *dev, json_t **out)
{
	const char *id = json_string_value(json_object_get(dev, "config"));
	const struct pp_plugin *p = reg ? pp_registry_find(reg, prov_jstr(dev, "plugin")) : NULL;
	json_t *chain = NULL, *g;
	int rc;

	*out = NULL;
	if (id && *id && (rc = pp_cfg_resolve(t, id, &chain)) != PP_OK)
		return rc;
	g = prov_general_layer(cfg, p);
	if (!g) {
		*out = prov_type_layer(reg, dev, chain);
		return PP_OK;
	}
	if (json_is_object(chain))
		pp_json_merge(g, chain);
	json_decref(chain);
	*out = prov_type_layer(reg, dev, g);
	return PP_OK;
}

bool prov_dev_fresh(const struct pp_registry *reg, const json_t *dev, const json_t *config)
{
	const json_t *render = json_object_get(dev, "render");
	const struct pp_plugin *p = pp_registry_find(reg, prov_jstr(dev, "plugin"));
	struct pp_devinfo di;
	char stamp[17];

	if (!p || !render)
		return !p && !*prov_jstr(dev, "plugin");
	prov_dev_to_info(dev, &di);
	render_stamp(p, &di, prov_jstr(dev, "ip"), config, stamp);
	return strcmp(stamp, prov_jstr(render, "stamp")) == 0;
}

int prov_event(struct pp_txn *t, const char *type, const char *mac, const char *plugin,
	       const char *source)
{
	json_t *o = json_pack("{s:s}", "mac", mac);
	int rc;

	if (!o)
		return PP_ENOMEM;
	if (plugin)
		json_object_set_new(o, "plugin", json_string(plugin));
	if (source)
		json_object_set_new(o, "source", json_string(source));
	rc = pp_event_append(t, type, o, NULL);
	json_decref(o);
	return rc;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void apply_reset(struct apply *a)
{
	json_decref(a->dev);
	json_decref(a->old);
	a->dev = a->old = NULL;
	pp_rendered_free(&a->r);
	free_list(a->removed, a->n_removed);
	free_list(a->common, a->n_common);
	a->removed = a->common = NULL;
	a->n_removed = a->n_common = 0;
	a->plugin = a->old_plugin = NULL;
	a->created = a->rendered = a->changed = a->wrote_commons = false;
	json_decref(a->hook_base);
	a->hook_base = NULL;
	a->disk_errno = 0;
	a->disk_path[0] = '\0';
}

/* The plugins that scored above IMPROBABLE (the others are not stored: with
 * twenty plugins a full table was most of a device record, read and written
 * on every request; `phoneprov render --explain` lists every plugin). */
static json_t *scores_json(const struct pp_registry *r, const unsigned char *sc)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < pp_registry_count(r); i++)
		if (sc[i] != PP_IMPROBABLE)
			json_object_set_new(o, pp_registry_at(r, i)->name,
					    json_string(pp_score_name(sc[i])));
	return o;
}

/* Store the plugin's common files whose bytes changed; remember which, so
 * that only those are written to disk after the commit. */
static int put_common(struct pp_txn *t, struct apply *a, const struct pp_plugin *p, int64_t now)
{
	for (size_t i = 0; i < pp_plugin_file_count(p); i++) {
		struct pp_plugin_file pf;
		struct pp_file f;
		char **nc;
		int rc;

		pp_plugin_file_at(p, i, &pf);
		if (!pf.common)
			continue;
		rc = pp_file_get(t, pf.path, &f);
		if (rc == PP_OK && f.size == pf.common_len &&
		    memcmp(f.data, pf.common_data, f.size) == 0)
			continue;
		if ((rc = pp_file_put(t, pf.path, pf.common_data, pf.common_len, now)))
			return rc;
		nc = realloc(a->common, (a->n_common + 1) * sizeof(*nc));
		if (!nc || !(nc[a->n_common] = strdup(pf.path))) {
			if (nc)
				a->common = nc;
			return PP_ENOMEM;
		}
		a->common = nc;
		a->n_common++;
	}
	return PP_OK;
}

/* A per-device file whose name is one of the plugin's common files (a MAC
 * of zeros: Digium/000000000000.cfg is Digium's master file): the common
 * file wins, the device gets no file of that name. */
static void drop_common_paths(struct apply *a, const struct pp_plugin *p)
{
	struct pp_plugin_file pf;
	size_t k = 0;

	for (size_t i = 0; i < a->r.n; i++) {
		bool common = false;

		for (size_t f = 0; !common && f < pp_plugin_file_count(p); f++) {
			pp_plugin_file_at(p, f, &pf);
			common = pf.common && strcmp(pf.path, a->r.f[i].path) == 0;
		}
		if (common) {
			free(a->r.f[i].data);
			continue;
		}
		a->r.f[k++] = a->r.f[i];
	}
	a->r.n = k;
}

/* Are p's common files in LMDB already for this registry? (Then a render
 * need not read and compare them again.) */
static bool commons_stored(const struct apply *a, const struct pp_plugin *p)
{
	const struct pp_prov *pv = a->prov;
	size_t i = pp_plugin_index(p);

	return pv && pv->commons_gen == a->gen && i < pv->commons_n && pv->commons_done[i];
}

/* After the commit: remember that p's common files are stored. */
static void commons_mark(struct apply *a)
{
	struct pp_prov *pv = a->prov;
	size_t n = pp_registry_count(a->reg), i;

	if (!pv || !a->wrote_commons || !a->plugin)
		return;
	if (pv->commons_gen != a->gen || pv->commons_n != n) {
		unsigned char *d = calloc(n ? n : 1, 1);

		if (!d)
			return;
		free(pv->commons_done);
		pv->commons_done = d;
		pv->commons_n = n;
		pv->commons_gen = a->gen;
	}
	i = pp_plugin_index(a->plugin);
	if (i < n)
		pv->commons_done[i] = 1;
}

/* Drop from LMDB the files of the previous render that are not in a->r. */
static int drop_old_files(struct pp_txn *t, struct apply *a, const json_t *render)
{
	const json_t *old_files = json_object_get(render, "files");
	size_t i;
	json_t *of;
	int rc;

	a->removed = calloc(json_array_size(old_files) + 1, sizeof(char *));
	if (!a->removed)
		return PP_ENOMEM;
	json_array_foreach(old_files, i, of) {
		bool keep = false;

		if (!json_is_string(of))
			continue;
		for (size_t k = 0; k < a->r.n; k++)
			keep = keep || strcmp(a->r.f[k].path, json_string_value(of)) == 0;
		if (keep)
			continue;
		if ((rc = pp_file_del(t, json_string_value(of))) != PP_OK && rc != PP_ENOENT)
			return rc;
		if (!(a->removed[a->n_removed] = strdup(json_string_value(of))))
			return PP_ENOMEM;
		a->n_removed++;
	}
	return PP_OK;
}

/* Did the record change in a way hooks and `updated` care about? (last_seen,
 * updated and the DHCP packet time change on every request.) */
static bool record_changed(const json_t *old, const json_t *dev)
{
	json_t *a, *b;
	bool same;

	if (!old)
		return true;
	a = json_deep_copy(old);
	b = json_deep_copy(dev);
	if (!a || !b) {
		json_decref(a);
		json_decref(b);
		return true;
	}
	for (json_t *o = a; o; o = o == a ? b : NULL) {
		json_t *r = json_object_get(o, "render");

		json_object_del(o, "last_seen");
		json_object_del(o, "updated");
		json_object_del(json_object_get(o, "dhcp"), "seen");
		/* a re-render of the same inputs is no change */
		json_object_del(r, "at");
	}
	same = json_equal(a, b);
	json_decref(a);
	json_decref(b);
	return !same;
}

int apply_txn(struct pp_txn *t, void *arg)
{
	struct apply *a = arg;
	size_t n = pp_registry_count(a->reg);
	unsigned char sc[n ? n : 1];
	struct pp_devinfo di;
	const struct pp_plugin *p = NULL;
	json_t *dev = NULL, *config = NULL, *render;
	const char *ip;
	char stamp[17];
	int64_t now = pp_now_ms();
	int rc, best;

	apply_reset(a); /* the store may run us again (map growth) */
	a->err.msg[0] = a->err.field[0] = '\0';
	rc = pp_dev_get(t, a->mac, &dev);
	if (rc == PP_OK && a->must_create) {
		json_decref(dev);
		pp_err_field(&a->err, "mac", "device %s already exists", a->mac);
		return PP_EEXIST;
	}
	if (rc == PP_ENOENT) {
		if (!a->create) {
			pp_err_field(&a->err, "mac", "no such device: %s", a->mac);
			return PP_ENOENT;
		}
		if (!pp_mac_is_device(a->mac)) {
			pp_err_field(&a->err, "mac", "%s is not a device MAC (all-zero or broadcast)",
				     a->mac);
			return PP_EINVAL;
		}
		dev = json_pack("{s:s, s:s, s:I}", "mac", a->mac, "state", "new", "created",
				(json_int_t)now);
		if (!dev)
			return PP_ENOMEM;
		a->created = true;
	} else if (rc != PP_OK) {
		return rc;
	} else if (!(a->old = json_deep_copy(dev))) {
		json_decref(dev);
		return PP_ENOMEM;
	}
	a->dev = dev;
	a->old_plugin = pp_registry_find(a->reg, prov_jstr(a->old, "plugin"));
	if (a->mutate && (rc = a->mutate(t, a, dev, a->old, a->mutate_arg)) != PP_OK)
		return rc;
	/* an administrator's write: extra against the phone type's schema */
	if (a->mutate && (rc = prov_check_extra(a->reg, dev, &a->err)) != PP_OK)
		return rc;
	/* a new device without a config: the autocreate or default config */
	if (a->created && (rc = prov_roles_on_create(a->prov, t, dev, a->mac, !a->source)) != PP_OK)
		return rc;
	/* a device that leaves a transient config takes it along */
	if (a->old && strcmp(prov_jstr(a->old, "config"), prov_jstr(dev, "config")) != 0 &&
	    (rc = prov_roles_on_delete(t, a->old, a->mac)) != PP_OK)
		return rc;
	/* merge what this request tells */
	for (int f = 0; a->di && f < PP_F_N; f++) {
		if (f == PP_F_MAC || !a->di->f[f][0] ||
		    strcmp(prov_jstr(dev, fact_keys[f]), a->di->f[f]) == 0)
			continue;
		json_object_set_new(dev, fact_keys[f], json_string(a->di->f[f]));
	}
	if (a->ip && *a->ip && strcmp(prov_jstr(dev, "ip"), a->ip) != 0)
		json_object_set_new(dev, "ip", json_string(a->ip));
	if (a->dhcp) {
		/* Merge: a later packet (an ACK has no option 60) must not erase
		 * what an earlier one told; empty strings keep the old value. */
		json_t *old = json_object_get(dev, "dhcp");
		json_t *merged = json_is_object(old) ? json_deep_copy(old) : json_object();
		const char *k;
		json_t *v;

		if (!merged)
			return PP_ENOMEM;
		json_object_foreach(a->dhcp, k, v)
			if (!json_is_string(v) || *json_string_value(v))
				json_object_set(merged, k, v);
		json_object_set_new(dev, "dhcp", merged);
	}
	if (a->bind_ip && a->ip && *a->ip && pp_mac_is_device(a->mac) &&
	    (rc = pp_ip2mac_put(t, a->ip, a->mac)))
		return rc;
	if (a->di || a->dhcp) /* the phone itself was heard */
		json_object_set_new(dev, "last_seen", json_integer((json_int_t)now));
	/* associate: the current plugin (maybe chosen by hand) stays unless
	 * another one scores strictly better */
	prov_dev_to_info(dev, &di);
	best = pp_associate_pref(a->reg, &di, sc, a->prefer);
	p = best >= 0 ? pp_registry_at(a->reg, (size_t)best) : NULL;
	{
		const struct pp_plugin *cur = pp_registry_find(a->reg, prov_jstr(dev, "plugin"));

		if (cur && (best < 0 || sc[pp_plugin_index(cur)] >= sc[best]))
			p = cur;
	}
	/* the model under the associated plugin's canonical name */
	{
		const char *c = pp_plugin_canonical_model(p, prov_jstr(dev, "model"));

		if (c && strcmp(c, prov_jstr(dev, "model")) != 0) {
			json_object_set_new(dev, "model", json_string(c));
			snprintf(di.f[PP_F_MODEL], sizeof(di.f[PP_F_MODEL]), "%s", c);
		}
	}
	json_object_set_new(dev, "scores", scores_json(a->reg, sc));
	prov_set_prevent_sip(a->reg, dev, p);
	if (strcmp(prov_jstr(dev, "plugin"), p ? p->name : "") != 0) {
		json_object_set_new(dev, "plugin", p ? json_string(p->name) : json_null());
		if (p && (rc = prov_event_dev(t, "device.associated", a->mac, dev, p->name, a->source)))
			return rc;
	}
	if (json_is_null(json_object_get(dev, "plugin")))
		json_object_del(dev, "plugin");
	a->plugin = p;
	if (a->created && (rc = prov_event_dev(t, "device.created", a->mac, dev, NULL, a->source)))
		return rc;
	/* render when stale */
	if ((rc = prov_resolve_config(t, a->cfg, a->reg, dev, &config)) != PP_OK) {
		pp_err_field(&a->err, "config", "device %s: config '%s': %s", a->mac,
			     prov_jstr(dev, "config"), pp_strerror(rc));
		return rc;
	}
	if (prov_hooks_wanted(a->reg, a->old, a->old_plugin) ||
	    prov_hooks_wanted(a->reg, dev, p))
		a->hook_base = json_incref(config);
	ip = prov_jstr(dev, "ip");
	render_stamp(p, &di, ip, config, stamp);
	render = json_object_get(dev, "render");
	if (p && (a->force || strcmp(prov_jstr(render, "stamp"), stamp) != 0)) {
		json_t *files = json_array(), *tpls = json_object(), *nr;
		const char *trigger = "";

		rc = pp_render_device(p, &di, ip, config, &a->r, &a->err);
		json_decref(config);
		config = NULL;
		if (rc != PP_OK) {
			json_decref(files);
			json_decref(tpls);
			return rc;
		}
		drop_common_paths(a, p);
		for (size_t i = 0; i < a->r.n; i++) {
			struct pp_rfile *rf = &a->r.f[i];

			if ((rc = pp_file_put(t, rf->path, rf->data, rf->len, now)))
				break;
			json_array_append_new(files, json_string(rf->path));
			json_object_set_new(tpls, rf->path, json_string(rf->tpl ? rf->tpl : ""));
			if (rf->trigger)
				trigger = rf->path;
		}
		if (rc == PP_OK && !commons_stored(a, p)) {
			rc = put_common(t, a, p, now);
			a->wrote_commons = true;
		}
		if (rc == PP_OK)
			rc = drop_old_files(t, a, render);
		nr = json_pack("{s:s, s:o, s:o, s:s, s:I}", "stamp", stamp, "files", files,
			       "templates", tpls, "trigger", trigger, "at",
			       (json_int_t)now);
		if (rc != PP_OK || !nr) {
			json_decref(nr);
			return rc ? rc : PP_ENOMEM;
		}
		json_object_set_new(dev, "render", nr);
		if (strcmp(prov_jstr(dev, "state"), "new") == 0)
			json_object_set_new(dev, "state", json_string("configured"));
		if ((rc = prov_event_dev(t, "device.rendered", a->mac, dev, p->name, a->source)))
			return rc;
		a->rendered = true;
	} else if (!p && render) {
		/* no plugin any more: its rendered files go */
		if ((rc = drop_old_files(t, a, render)) != PP_OK) {
			json_decref(config);
			return rc;
		}
		json_object_del(dev, "render");
	}
	json_decref(config);
	a->changed = a->created || record_changed(a->old, dev);
	if (a->changed)
		json_object_set_new(dev, "updated", json_integer((json_int_t)now));
	if (a->source && !a->created && a->changed &&
	    (rc = prov_event_dev(t, "device.updated", a->mac, dev, p ? p->name : NULL, a->source)))
		return rc;
	return pp_dev_put(t, a->mac, dev);
}

/* ---- disk mirror --------------------------------------------------------

   LMDB is the truth; <data_dir>/tftpboot mirrors its rendered files for
   operators and other tools (phoneprov serves from LMDB). After a batch is
   durable its files are written to the mirror without an fsync each (a
   temporary name, then rename: a reader never sees a torn file). A crash
   may lose the last mirror writes, never LMDB's: the start-up resync
   (pp_prov_resync) compares the mirror with LMDB and repairs it. See
   docs/provisioning.md. */

/* Bring the mirror's copies of what a change touched up to date: queued
 * for the mirror thread after a phone's change, at once after an
 * administrator's (who reads the disk right after the answer). */
void prov_store_err(const struct pp_config *cfg, int rc, struct pp_err *err)
{
	int e = rc == PP_EIO ? pp_store_last_errno() : 0;
	char what[128];

	if (err->msg[0] && !e)
		return;
	if (!e) {
		pp_err_set(err, "%s", pp_strerror(rc));
		return;
	}
	/* "no space left on device (data_dir /var/lib/phoneprov)" */
	snprintf(what, sizeof(what), "%s", strerror(e));
	what[0] = (char)tolower((unsigned char)what[0]);
	pp_err_set(err, "store: %s (data_dir %s)", what, cfg && cfg->data_dir ? cfg->data_dir : "?");
}

static void disk_put(struct pp_prov *p, struct apply *a, const char *path)
{
	int e;

	if (!a->source) {
		prov_mirror_path(p, path);
		return;
	}
	if ((e = prov_mirror_path_now(p, path)) != 0 && !a->disk_errno) {
		char what[128];

		a->disk_errno = e;
		snprintf(a->disk_path, sizeof(a->disk_path), "%s", path);
		snprintf(what, sizeof(what), "%s", strerror(e));
		what[0] = (char)tolower((unsigned char)what[0]);
		pp_err_set(&a->err, "device %s is stored and rendered, but writing its files to the "
			   "disk mirror failed: %s (data_dir %s): %s", a->mac, what,
			   a->cfg && a->cfg->data_dir ? a->cfg->data_dir : "?", path);
	}
}

static void disk_sync(struct pp_prov *p, struct apply *a)
{
	size_t nfiles = a->plugin ? pp_plugin_file_count(a->plugin) : 0;

	for (size_t i = 0; i < a->r.n; i++)
		disk_put(p, a, a->r.f[i].path);
	for (size_t i = 0; i < nfiles; i++) {
		struct pp_plugin_file pf;

		pp_plugin_file_at(a->plugin, i, &pf);
		for (size_t k = 0; pf.common && k < a->n_common; k++)
			if (strcmp(a->common[k], pf.path) == 0)
				disk_put(p, a, pf.path);
	}
	for (size_t i = 0; i < a->n_removed; i++)
		disk_put(p, a, a->removed[i]);
}

int prov_forget_txn(struct pp_txn *t, const json_t *dev)
{
	json_t *files = json_object_get(json_object_get(dev, "render"), "files"), *v;
	size_t i;
	int rc;

	json_array_foreach(files, i, v)
		if (json_is_string(v) && (rc = pp_file_del(t, json_string_value(v))) != PP_OK &&
		    rc != PP_ENOENT)
			return rc;
	return PP_OK;
}

void prov_forget_disk(struct pp_prov *p, const json_t *dev)
{
	json_t *files = json_object_get(json_object_get(dev, "render"), "files"), *v;
	size_t i;

	json_array_foreach(files, i, v)
		if (json_is_string(v))
			(void)prov_mirror_path_now(p, json_string_value(v));
}

/* ---- after the commit: hooks, logs -------------------------------------- */

/* The hook gets its own copies: a module may keep references (json_incref)
 * to what it is given, and the device document is also the answer an API
 * thread is writing out (jansson's reference counts are no synchronisation
 * between threads). */
static void fire(const struct pp_plugin *p, enum pp_dev_event ev, const json_t *dev,
		 const json_t *base)
{
	json_t *c = prov_hook_config(p, base), *d = json_deep_copy(dev);

	if (d && c)
		pp_hooks_device(p, ev, d, c);
	json_decref(d);
	json_decref(c);
}

/* A device belongs to its plugin and to the plugin of its phone type (a
 * flavor, docs/flavors.md): each of them gets one event per change: create
 * when the device arrives, delete when it leaves (a re-association: delete
 * for the old one, create for the new one), update when it stays and
 * changed. */
void prov_hooks(const struct apply *a)
{
	const struct pp_plugin *who[4] = { a->old_plugin, a->plugin, NULL, NULL };

	if (a->old)
		who[2] = prov_type_plugin(a->reg, a->old, a->old_plugin);
	if (a->dev)
		who[3] = prov_type_plugin(a->reg, a->dev, a->plugin);
	for (int i = 0; i < 4; i++) {
		const struct pp_plugin *x = who[i];
		bool was, is, dup = false;

		for (int k = 0; k < i; k++)
			dup = dup || who[k] == x;
		if (!x || dup || !pp_plugin_has_hooks(x))
			continue;
		was = !a->created && a->old && (x == who[0] || x == who[2]);
		is = a->dev && (x == who[1] || x == who[3]);
		if (was && !is)
			fire(x, PP_HOOK_DELETE, a->old, a->hook_base);
		else if (!was && is)
			fire(x, PP_HOOK_CREATE, a->dev, a->hook_base);
		else if (was && is && a->changed)
			fire(x, PP_HOOK_UPDATE, a->dev, a->hook_base);
	}
}

static void log_apply(const struct apply *a)
{
	if (a->created)
		pp_log(PP_LOG_INFO, "device.created", "mac=%s ip=%s source=%s", a->mac,
		       prov_jstr(a->dev, "ip"), a->source ? a->source : "phone");
	if (a->rendered) {
		char q[256], v[128];

		pp_log(PP_LOG_INFO, "device.rendered", "mac=%s plugin=%s files=%zu model=%s version=%s",
		       a->mac, a->plugin ? a->plugin->name : "-", a->r.n,
		       pp_q(q, sizeof(q), prov_jstr(a->dev, "model")),
		       pp_q(v, sizeof(v), prov_jstr(a->dev, "version")));
	}
}

void apply_after(struct pp_prov *p, struct apply *a)
{
	commons_mark(a);
	log_apply(a);
	if (a->rendered || a->n_removed || a->n_common)
		disk_sync(p, a);
	prov_hooks(a);
}

/* ---- reconfigure -------------------------------------------------------- */

int pp_prov_reconfigure(struct pp_prov *p, const char *mac_in, struct pp_err *err)
{
	char mac[18];
	struct job *j;
	int rc;

	if (pp_mac_normalize(mac_in, strlen(mac_in), mac) != PP_OK) {
		pp_err_field(err, "mac", "not a MAC address: %s", mac_in);
		return PP_EINVAL;
	}
	if (!(j = job_new(JOB_APPLY, mac)))
		return PP_ENOMEM;
	j->a.force = true;
	rc = prov_submit(p, j, NULL, NULL);
	if (rc != PP_OK && err)
		*err = j->a.err;
	job_free(j);
	return rc;
}

struct uses_arg {
	const char *id;
	char (*macs)[18];
	size_t n, cap;
	struct pp_txn *t;
	struct pp_cfg_reach *r; /* memo: each config walked once for all devices */
};

static int uses_cb(const char *mac, json_t *dev, void *arg)
{
	struct uses_arg *u = arg;
	const char *cid = json_string_value(json_object_get(dev, "config"));

	if (!cid || !pp_cfg_reaches(u->t, u->r, cid))
		return PP_OK;
	if (u->n == u->cap) {
		void *nm = realloc(u->macs, (u->cap = u->cap ? u->cap * 2 : 16) * 18);

		if (!nm)
			return PP_ENOMEM;
		u->macs = nm;
	}
	snprintf(u->macs[u->n++], 18, "%s", mac);
	return PP_OK;
}

static int uses_txn(struct pp_txn *t, void *arg)
{
	struct uses_arg *u = arg;

	int rc;

	u->n = 0;
	u->t = t;
	pp_cfg_reach_free(u->r); /* a retried txn starts afresh */
	if (!(u->r = pp_cfg_reach_new(u->id)))
		return PP_ENOMEM;
	rc = pp_dev_each(t, NULL, uses_cb, u);
	pp_cfg_reach_free(u->r);
	u->r = NULL;
	return rc;
}

/* Waiting for the re-render of a config's devices: shared by the waiting
 * administrator and the jobs' callbacks (on the worker), freed by the last. */
struct rr_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t pending;  /* jobs queued and not done */
	int refs;        /* the waiter + one per job not done */
	json_t *failed;  /* [{mac, error}] */
};

struct rr_item {
	struct rr_wait *w;
	char mac[18];
	struct pp_err err;
};

static void rr_unref_locked(struct rr_wait *w, bool *last)
{
	*last = --w->refs == 0;
}

static void rr_free(struct rr_wait *w)
{
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	json_decref(w->failed);
	free(w);
}

static void rr_done(void *ctx, int rc)
{
	struct rr_item *it = ctx;
	struct rr_wait *w = it->w;
	bool last;

	pthread_mutex_lock(&w->lock);
	/* a device deleted meanwhile is no failure */
	if (rc != PP_OK && rc != PP_ENOENT)
		json_array_append_new(w->failed,
				      json_pack("{s:s, s:s}", "mac", it->mac, "error",
						it->err.msg[0] ? it->err.msg : pp_strerror(rc)));
	w->pending--;
	pthread_cond_broadcast(&w->cond);
	rr_unref_locked(w, &last);
	pthread_mutex_unlock(&w->lock);
	free(it);
	if (last)
		rr_free(w);
}

int pp_prov_config_changed(struct pp_prov *p, const char *config_id, unsigned wait_ms,
			   json_t **report)
{
	struct uses_arg u = { .id = config_id };
	struct rr_wait *w = NULL;
	size_t queued = 0;
	int rc = pp_store_read(p->store, uses_txn, &u);
	bool last;

	if (report)
		*report = NULL;
	/* The change itself is durable already and a device's render stamp
	 * includes its config, so a device not yet re-rendered (also after a
	 * crash) is stale: the next fetch and the start-up resync re-render
	 * it. The administrator waits for the re-render up to wait_ms (0: not
	 * at all, a config many devices use does not hold its writer for the
	 * whole re-render) and is told which devices failed and how many are
	 * still pending. The jobs are bulk: never refused, and not counted
	 * against the phones' queue_max. */
	if (rc == PP_OK && u.n && (w = calloc(1, sizeof(*w)))) {
		pthread_mutex_init(&w->lock, NULL);
		pthread_cond_init(&w->cond, NULL);
		w->refs = 1;
		if (!(w->failed = json_array())) {
			rr_free(w);
			w = NULL;
		}
	}
	if (rc == PP_OK && u.n && !w)
		rc = PP_ENOMEM;
	for (size_t i = 0; rc == PP_OK && i < u.n; i++) {
		struct job *j = job_new(JOB_APPLY, u.macs[i]);
		struct rr_item *it = calloc(1, sizeof(*it));

		if (!j || !it) {
			job_free(j);
			free(it);
			rc = PP_ENOMEM;
			break;
		}
		it->w = w;
		snprintf(it->mac, sizeof(it->mac), "%s", u.macs[i]);
		j->a.force = true;
		j->bulk = true;
		j->err_out = &it->err;
		pthread_mutex_lock(&w->lock);
		w->pending++;
		w->refs++;
		pthread_mutex_unlock(&w->lock);
		if (prov_submit(p, j, rr_done, it) == PP_OK) {
			queued++;
			continue;
		}
		/* not queued (queue full, stopping): fn will not run */
		pthread_mutex_lock(&w->lock);
		w->pending--;
		rr_unref_locked(w, &last);
		pthread_mutex_unlock(&w->lock);
		free(it);
	}
	if (u.n)
		pp_log(PP_LOG_INFO, "config.rerender", "config=%s devices=%zu queued=%zu", config_id,
		       u.n, queued);
	if (w) {
		struct timespec until = pp_deadline_ms(CLOCK_REALTIME, wait_ms);
		size_t pending;

		pthread_mutex_lock(&w->lock);
		while (wait_ms && w->pending &&
		       pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
			;
		pending = w->pending + (u.n - queued);
		if (report && rc == PP_OK)
			*report = json_pack("{s:I, s:O, s:I}", "devices", (json_int_t)u.n, "failed",
					    w->failed, "pending", (json_int_t)pending);
		rr_unref_locked(w, &last);
		pthread_mutex_unlock(&w->lock);
		if (last)
			rr_free(w);
	}
	free(u.macs);
	return rc;
}
