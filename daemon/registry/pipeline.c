/* The provisioning pipeline (DESIGN §1): extract → find the device (by MAC,
 * else by IP through ip2mac) → create it on first sight (autoprov) →
 * associate → render its files when missing or stale → serve (rendered file,
 * else the static tree).
 *
 * Consistency of rendered files (LMDB + disk): LMDB is the source of truth
 * and is committed FIRST, in one write transaction holding the device record
 * (with render.synced = false), the files and the events. The disk copies
 * under <data_dir>/tftpboot are written afterwards, each to a temporary name,
 * fsync'ed and renamed over the old one (never a torn file), then a second
 * small transaction sets render.synced = true. A crash between the two
 * leaves synced = false: the next fetch of that device (or `phoneprov
 * render`) rewrites its disk files from LMDB. So after a crash the disk may
 * briefly hold the previous complete version, never a mix, and LMDB (what is
 * served) is always whole. */
#include "../pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "hooks_int.h"
#include "render.h"
#include "../log.h"
#include "../metrics.h"
#include "../store/store.h"

/* ---- unknown-MAC ban ---------------------------------------------------- */

#define BAN_SLOTS 4096
#define BAN_PROBE 16

struct ban_ent {
	char ip[46];
	unsigned count;
	int64_t window_start_ms;
	int64_t banned_until_ms;
	int64_t last_ms;
};

struct ban_table {
	pthread_mutex_t lock;
	struct ban_ent e[BAN_SLOTS];
};

static struct ban_table *ban_get(struct pp_daemon *d)
{
	struct ban_table *b = __atomic_load_n((struct ban_table **)&d->ban, __ATOMIC_ACQUIRE);
	struct ban_table *expect = NULL;

	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	pthread_mutex_init(&b->lock, NULL);
	if (!__atomic_compare_exchange_n((struct ban_table **)&d->ban, &expect, b, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		pthread_mutex_destroy(&b->lock);
		free(b);
		return expect;
	}
	return b;
}

/* The slot of ip (create = take the stalest slot of the probe window). */
static struct ban_ent *ban_slot(struct ban_table *b, const char *ip, bool create, int64_t now)
{
	uint64_t h = pp_fnv(PP_FNV_INIT, ip, strlen(ip));
	struct ban_ent *victim = NULL;

	for (unsigned i = 0; i < BAN_PROBE; i++) {
		struct ban_ent *e = &b->e[(h + i) % BAN_SLOTS];

		if (e->ip[0] && strcmp(e->ip, ip) == 0)
			return e;
		if (!create)
			continue;
		/* prefer empty, then expired, then the least recently used */
		if (!e->ip[0])
			victim = victim && !victim->ip[0] ? victim : e;
		else if (!victim || (victim->ip[0] && e->banned_until_ms <= now &&
				     (victim->banned_until_ms > now || e->last_ms < victim->last_ms)))
			victim = e;
	}
	if (victim) {
		memset(victim, 0, sizeof(*victim));
		snprintf(victim->ip, sizeof(victim->ip), "%s", ip);
		victim->window_start_ms = now;
	}
	return victim;
}

static bool ban_is_banned(struct pp_daemon *d, const char *ip)
{
	struct ban_table *b = ban_get(d);
	struct ban_ent *e;
	bool banned = false;
	int64_t now = pp_now_ms();

	if (!b || !ip || !*ip)
		return false;
	pthread_mutex_lock(&b->lock);
	e = ban_slot(b, ip, false, now);
	if (e && e->banned_until_ms > now)
		banned = true;
	pthread_mutex_unlock(&b->lock);
	return banned;
}

/* Count one request for an unknown per-MAC file; true when ip is now banned. */
static bool ban_count(struct pp_daemon *d, const struct pp_config *cfg, const char *ip,
		      const char *path)
{
	struct ban_table *b = ban_get(d);
	int64_t now = pp_now_ms();
	struct ban_ent *e;
	bool banned = false;

	if (!b || !ip || !*ip || !cfg->security.unknown_mac_limit)
		return false;
	pthread_mutex_lock(&b->lock);
	e = ban_slot(b, ip, true, now);
	if (e) {
		e->last_ms = now;
		if (now - e->window_start_ms > (int64_t)cfg->security.unknown_mac_window_s * 1000) {
			e->window_start_ms = now;
			e->count = 0;
		}
		if (++e->count > cfg->security.unknown_mac_limit) {
			banned = true;
			if (e->banned_until_ms <= now) {
				char q[PP_PATH_MAX + 8];

				e->banned_until_ms = now + (int64_t)cfg->security.ban_s * 1000;
				PP_COUNT(bans, 1);
				pp_log(PP_LOG_WARN, "security.ban",
				       "client=%s unknown_mac_requests=%u window_s=%u ban_s=%u last=%s",
				       ip, e->count, cfg->security.unknown_mac_window_s,
				       cfg->security.ban_s, pp_q(q, sizeof(q), path));
			}
		}
	}
	pthread_mutex_unlock(&b->lock);
	return banned;
}

void pp_pipeline_fini(struct pp_daemon *d)
{
	struct ban_table *b = d->ban;

	if (!b)
		return;
	pthread_mutex_destroy(&b->lock);
	free(b);
	d->ban = NULL;
}

/* ---- device records ----------------------------------------------------- */

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? s : "";
}

static void dev_to_info(const json_t *dev, struct pp_devinfo *di)
{
	static const char *const keys[PP_F_N] = { "vendor", "model", "version", "mac", "serial" };

	pp_devinfo_init(di);
	for (int f = 0; f < PP_F_N; f++) {
		const char *s = jstr(dev, keys[f]);

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
		h = pp_fnv(h, &pp_priv(p)->hash, sizeof(uint64_t));
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

static int resolve_config(struct pp_txn *t, const json_t *dev, json_t **out)
{
	const char *id = json_string_value(json_object_get(dev, "config"));

	*out = NULL;
	if (!id || !*id)
		return PP_OK;
	return pp_cfg_resolve(t, id, out);
}

static json_t *event_data(const char *mac, const char *plugin)
{
	json_t *o = json_pack("{s:s}", "mac", mac);

	if (o && plugin)
		json_object_set_new(o, "plugin", json_string(plugin));
	return o;
}

static int event(struct pp_txn *t, const char *type, json_t *data)
{
	uint64_t seq;
	int rc = data ? pp_event_append(t, type, data, &seq) : PP_ENOMEM;

	json_decref(data);
	return rc;
}

/* ---- the write transaction: create / update / associate / render ------- */

struct apply {
	/* in */
	const struct pp_registry *reg;
	const struct pp_config *cfg;
	const char *mac;
	const char *ip;              /* NULL: keep */
	const struct pp_devinfo *di; /* facts from this request (may be NULL) */
	const struct pp_plugin *prefer; /* plugin whose file was asked for (ties) */
	json_t *dhcp;                /* DHCP facts to keep (may be NULL) */
	bool bind_ip;                /* ip2mac put ip -> mac */
	bool create;                 /* create when absent */
	bool force;                  /* re-render even when fresh */
	/* out */
	json_t *dev;                 /* the device as committed (owned) */
	struct pp_rendered r;
	char **removed;              /* paths no longer rendered for the device */
	size_t n_removed;
	const struct pp_plugin *plugin;
	bool created, rendered;
	struct pp_err err;
};

static void apply_reset(struct apply *a)
{
	json_decref(a->dev);
	a->dev = NULL;
	pp_rendered_free(&a->r);
	for (size_t i = 0; i < a->n_removed; i++)
		free(a->removed[i]);
	free(a->removed);
	a->removed = NULL;
	a->n_removed = 0;
	a->plugin = NULL;
	a->created = a->rendered = false;
}

static json_t *scores_json(const struct pp_registry *r, const unsigned char *sc)
{
	json_t *o = json_object();

	for (size_t i = 0; o && i < pp_registry_count(r); i++)
		json_object_set_new(o, pp_registry_at(r, i)->name, json_string(pp_score_name(sc[i])));
	return o;
}

static int put_common(struct pp_txn *t, const struct pp_plugin *p, int64_t now)
{
	const struct pp_plugin_priv *pv = pp_priv(p);

	for (size_t i = 0; i < pv->n_files; i++) {
		const struct pp_file_spec *fs = &pv->files[i];
		struct pp_file f;
		int rc;

		if (!fs->common)
			continue;
		rc = pp_file_get(t, fs->path, &f);
		if (rc == PP_OK && f.size == fs->common_len &&
		    memcmp(f.data, fs->common_data, f.size) == 0)
			continue;
		if ((rc = pp_file_put(t, fs->path, fs->common_data, fs->common_len, now)))
			return rc;
	}
	return PP_OK;
}

static int apply_txn(struct pp_txn *t, void *arg)
{
	struct apply *a = arg;
	size_t n = pp_registry_count(a->reg);
	unsigned char sc[n ? n : 1];
	struct pp_devinfo di;
	const struct pp_plugin *p = NULL;
	json_t *dev = NULL, *config = NULL, *render, *old_files;
	const char *old_plugin, *ip;
	char stamp[17];
	int64_t now = pp_now_ms();
	bool changed = false;
	int rc, best;

	apply_reset(a); /* the store may run us again (map growth) */
	rc = pp_dev_get(t, a->mac, &dev);
	if (rc == PP_ENOENT) {
		if (!a->create)
			return PP_ENOENT;
		dev = json_pack("{s:s, s:n, s:s, s:I}", "mac", a->mac, "config", "state", "new",
				"created", (json_int_t)now);
		if (!dev)
			return PP_ENOMEM;
		a->created = changed = true;
	} else if (rc != PP_OK) {
		return rc;
	}
	a->dev = dev;
	/* merge what this request tells */
	if (a->di) {
		static const char *const keys[PP_F_N] = { "vendor", "model", "version", "mac",
							  "serial" };

		for (int f = 0; f < PP_F_N; f++) {
			if (f == PP_F_MAC || !a->di->f[f][0] || strcmp(jstr(dev, keys[f]), a->di->f[f]) == 0)
				continue;
			json_object_set_new(dev, keys[f], json_string(a->di->f[f]));
			changed = true;
		}
	}
	if (a->ip && *a->ip && strcmp(jstr(dev, "ip"), a->ip) != 0) {
		json_object_set_new(dev, "ip", json_string(a->ip));
		changed = true;
	}
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
		changed = true;
	}
	if (a->bind_ip && a->ip && *a->ip && (rc = pp_ip2mac_put(t, a->ip, a->mac)))
		return rc;
	json_object_set_new(dev, "last_seen", json_integer((json_int_t)now));
	/* associate */
	dev_to_info(dev, &di);
	best = pp_associate_pref(a->reg, &di, sc, a->prefer);
	old_plugin = jstr(dev, "plugin");
	p = best >= 0 ? pp_registry_at(a->reg, (size_t)best) : NULL;
	/* The current plugin (maybe chosen by hand) stays unless another one
	 * scores strictly better. */
	{
		const struct pp_plugin *cur = pp_registry_find(a->reg, old_plugin);

		if (cur && (best < 0 || sc[pp_priv(cur)->index] >= sc[best]))
			p = cur;
	}
	json_object_set_new(dev, "scores", scores_json(a->reg, sc));
	if (strcmp(old_plugin, p ? p->name : "") != 0) {
		json_object_set_new(dev, "plugin", p ? json_string(p->name) : json_null());
		if (p && (rc = event(t, "device.associated", event_data(a->mac, p->name))))
			return rc;
		changed = true;
	}
	a->plugin = p;
	if (a->created && (rc = event(t, "device.created", event_data(a->mac, NULL))))
		return rc;
	/* render when stale */
	if ((rc = resolve_config(t, dev, &config)) != PP_OK) {
		pp_err_set(&a->err, "device %s: config '%s': %s", a->mac, jstr(dev, "config"),
			   pp_strerror(rc));
		return rc;
	}
	ip = jstr(dev, "ip");
	render_stamp(p, &di, ip, config, stamp);
	render = json_object_get(dev, "render");
	if (p && (a->force || strcmp(jstr(render, "stamp"), stamp) != 0)) {
		json_t *files = json_array(), *tpls = json_object(), *nr;
		const char *trigger = "";

		rc = pp_render_device(p, &di, ip, config, &a->r, &a->err);
		if (rc != PP_OK) {
			json_decref(files);
			json_decref(tpls);
			json_decref(config);
			return rc;
		}
		for (size_t i = 0; i < a->r.n; i++) {
			struct pp_rfile *rf = &a->r.f[i];

			if ((rc = pp_file_put(t, rf->path, rf->data, rf->len, now)))
				break;
			json_array_append_new(files, json_string(rf->path));
			json_object_set_new(tpls, rf->path, json_string(rf->tpl ? rf->tpl : ""));
			if (rf->trigger)
				trigger = rf->path;
		}
		if (rc == PP_OK)
			rc = put_common(t, p, now);
		nr = json_pack("{s:s, s:o, s:o, s:s, s:b, s:I}", "stamp", stamp, "files", files,
			       "templates", tpls, "trigger", trigger, "synced", 0, "at",
			       (json_int_t)now);
		if (rc != PP_OK || !nr) {
			json_decref(nr);
			json_decref(config);
			return rc ? rc : PP_ENOMEM;
		}
		/* files of the previous render that are gone now */
		old_files = json_object_get(render, "files");
		{
			size_t i;
			json_t *of;

			a->removed = calloc(json_array_size(old_files) + 1, sizeof(char *));
			json_array_foreach(old_files, i, of) {
				bool keep = false;

				for (size_t k = 0; k < a->r.n; k++)
					keep = keep || strcmp(a->r.f[k].path, json_string_value(of)) == 0;
				if (keep || !json_is_string(of) || !a->removed)
					continue;
				pp_file_del(t, json_string_value(of));
				a->removed[a->n_removed++] = strdup(json_string_value(of));
			}
		}
		json_object_set_new(dev, "render", nr);
		if (strcmp(jstr(dev, "state"), "new") == 0)
			json_object_set_new(dev, "state", json_string("configured"));
		if ((rc = event(t, "device.rendered", event_data(a->mac, p->name)))) {
			json_decref(config);
			return rc;
		}
		a->rendered = changed = true;
	} else if (!p && json_object_get(dev, "render")) {
		/* no plugin any more: its rendered files go */
		size_t i;
		json_t *of;

		old_files = json_object_get(render, "files");
		a->removed = calloc(json_array_size(old_files) + 1, sizeof(char *));
		json_array_foreach(old_files, i, of)
			if (json_is_string(of) && a->removed) {
				pp_file_del(t, json_string_value(of));
				a->removed[a->n_removed++] = strdup(json_string_value(of));
			}
		json_object_del(dev, "render");
		changed = true;
	}
	json_decref(config);
	if (changed)
		json_object_set_new(dev, "updated", json_integer((json_int_t)now));
	return pp_dev_put(t, a->mac, dev);
}

/* ---- disk copies -------------------------------------------------------- */

static int mkdirs_for(int dirfd, const char *rel)
{
	char buf[PP_PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", rel);
	for (char *s = strchr(buf, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if (mkdirat(dirfd, buf, 0750) != 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return 0;
}

static int disk_write(int dirfd, const char *rel, const void *data, size_t len)
{
	static atomic_uint seq;
	char tmp[PP_PATH_MAX + 64];
	const char *slash = strrchr(rel, '/');
	const unsigned char *p = data;
	int fd, rc = 0;

	if (dirfd < 0)
		return 0;
	if (mkdirs_for(dirfd, rel) < 0)
		return PP_EIO;
	/* hidden temp name in the same folder: ".name.tmp.PID.N" */
	snprintf(tmp, sizeof(tmp), "%.*s.%s.tmp.%d.%u", slash ? (int)(slash - rel + 1) : 0, rel,
		 slash ? slash + 1 : rel, (int)getpid(), atomic_fetch_add(&seq, 1));
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0)
		return PP_EIO;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = PP_EIO;
			break;
		}
		p += w;
		len -= (size_t)w;
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = PP_EIO;
	close(fd);
	if (rc == 0 && renameat(dirfd, tmp, dirfd, rel) != 0)
		rc = PP_EIO;
	if (rc != 0)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

struct synced_arg {
	const char *mac;
	const char *stamp;
};

static int synced_txn(struct pp_txn *t, void *arg)
{
	struct synced_arg *s = arg;
	json_t *dev, *render;
	int rc = pp_dev_get(t, s->mac, &dev);

	if (rc)
		return rc;
	render = json_object_get(dev, "render");
	if (!render || strcmp(jstr(render, "stamp"), s->stamp) != 0) {
		json_decref(dev);
		return PP_EBUSY; /* re-rendered meanwhile: that writer syncs */
	}
	json_object_set_new(render, "synced", json_true());
	rc = pp_dev_put(t, s->mac, dev);
	json_decref(dev);
	return rc;
}

/* Write rendered files to disk, drop removed ones, mark the render synced. */
static void disk_sync(struct pp_daemon *d, const struct apply *a)
{
	const struct pp_plugin_priv *pv = a->plugin ? pp_priv(a->plugin) : NULL;
	struct synced_arg s;
	bool ok = true;

	for (size_t i = 0; i < a->r.n; i++)
		if (disk_write(d->render_dirfd, a->r.f[i].path, a->r.f[i].data, a->r.f[i].len)) {
			char q[PP_PATH_MAX + 8];

			pp_log(PP_LOG_ERROR, "render.disk_failed", "file=%s",
			       pp_q(q, sizeof(q), a->r.f[i].path));
			ok = false;
		}
	for (size_t i = 0; pv && i < pv->n_files; i++)
		if (pv->files[i].common)
			disk_write(d->render_dirfd, pv->files[i].path, pv->files[i].common_data,
				   pv->files[i].common_len);
	for (size_t i = 0; d->render_dirfd >= 0 && i < a->n_removed; i++)
		unlinkat(d->render_dirfd, a->removed[i], 0);
	if (!ok)
		return;
	s.mac = a->mac;
	s.stamp = jstr(json_object_get(a->dev, "render"), "stamp");
	pp_store_write(d->store, synced_txn, &s);
}

/* Re-write a device's disk files from LMDB (after a crash left synced = false). */
struct resync_arg {
	const char *mac;
	struct apply *a;
};

static int resync_read(struct pp_txn *t, void *arg)
{
	struct resync_arg *ra = arg;
	json_t *dev, *of;
	size_t i, k = 0;
	int rc = pp_dev_get(t, ra->mac, &dev);

	if (rc)
		return rc;
	pp_rendered_free(&ra->a->r);
	of = json_object_get(json_object_get(dev, "render"), "files");
	ra->a->r.f = calloc(json_array_size(of) + 1, sizeof(struct pp_rfile));
	if (!ra->a->r.f) {
		json_decref(dev);
		return PP_ENOMEM;
	}
	for (i = 0; i < json_array_size(of); i++) {
		struct pp_file f;
		const char *path = json_string_value(json_array_get(of, i));

		if (!path || pp_file_get(t, path, &f) != PP_OK)
			continue;
		snprintf(ra->a->r.f[k].path, sizeof(ra->a->r.f[k].path), "%s", path);
		ra->a->r.f[k].data = malloc(f.size + 1);
		if (!ra->a->r.f[k].data)
			break;
		memcpy(ra->a->r.f[k].data, f.data, f.size);
		ra->a->r.f[k].len = f.size;
		k++;
	}
	ra->a->r.n = k;
	json_decref(ra->a->dev);
	ra->a->dev = dev;
	return PP_OK;
}

static void resync(struct pp_daemon *d, const struct pp_registry *reg, const char *mac)
{
	struct apply a = { 0 };
	struct resync_arg ra = { mac, &a };

	a.mac = mac;
	if (pp_store_read(d->store, resync_read, &ra) == PP_OK) {
		a.plugin = pp_registry_find(reg, jstr(a.dev, "plugin"));
		disk_sync(d, &a);
		pp_log(PP_LOG_INFO, "render.resync", "mac=%s files=%zu", mac, a.r.n);
	}
	apply_reset(&a);
}

static void log_apply(const struct apply *a)
{
	if (a->created)
		pp_log(PP_LOG_INFO, "device.created", "mac=%s ip=%s", a->mac, jstr(a->dev, "ip"));
	if (a->rendered) {
		char q[256];
		char v[128];

		pp_log(PP_LOG_INFO, "device.rendered", "mac=%s plugin=%s files=%zu model=%s version=%s",
		       a->mac, a->plugin ? a->plugin->name : "-", a->r.n,
		       pp_q(q, sizeof(q), jstr(a->dev, "model")),
		       pp_q(v, sizeof(v), jstr(a->dev, "version")));
	}
}

/* Run an apply in a write txn, then sync the disk. */
static int run_apply(struct pp_daemon *d, struct apply *a)
{
	int rc = pp_store_write(d->store, apply_txn, a);

	if (rc != PP_OK) {
		if (rc != PP_ENOENT) {
			char q[600];

			pp_log(PP_LOG_ERROR, "device.update_failed", "mac=%s rc=%d error=%s", a->mac, rc,
			       pp_q(q, sizeof(q), a->err.msg[0] ? a->err.msg : pp_strerror(rc)));
		}
		return rc;
	}
	log_apply(a);
	if (a->created && a->plugin)
		pp_hooks_device(a->plugin, PP_DEV_CREATE, a->dev);
	else if (a->rendered && a->plugin)
		pp_hooks_device(a->plugin, PP_DEV_UPDATE, a->dev);
	if (a->rendered || a->n_removed)
		disk_sync(d, a);
	return PP_OK;
}

/* ---- fetch -------------------------------------------------------------- */

struct look {
	const char *path;
	const char *peer;
	char mac[18];           /* in: extracted MAC ("" = none); out: the device's */
	char bound[18];         /* ip2mac(peer) */
	json_t *dev;
	json_t *config;
	int config_rc;
	struct pp_blob *out;
	bool have_file;
};

static int look_txn(struct pp_txn *t, void *arg)
{
	struct look *l = arg;
	struct pp_file f;
	int rc;

	json_decref(l->dev);
	json_decref(l->config);
	l->dev = l->config = NULL;
	l->have_file = false;
	free(l->out->data);
	l->out->data = NULL;
	l->bound[0] = '\0';
	if (l->peer && *l->peer && pp_ip2mac_get(t, l->peer, l->bound) != PP_OK)
		l->bound[0] = '\0';
	if (!l->mac[0] && l->bound[0])
		memcpy(l->mac, l->bound, sizeof(l->mac));
	if (l->mac[0] && pp_dev_get(t, l->mac, &l->dev) != PP_OK)
		l->dev = NULL;
	if (l->dev)
		l->config_rc = resolve_config(t, l->dev, &l->config);
	rc = pp_file_get(t, l->path, &f);
	if (rc == PP_ENOENT)
		return PP_OK;
	if (rc)
		return rc;
	l->out->data = malloc(f.size ? f.size : 1);
	if (!l->out->data)
		return PP_ENOMEM;
	memcpy(l->out->data, f.data, f.size);
	l->out->size = f.size;
	l->out->mtime_ms = f.mtime_ms;
	snprintf(l->out->etag, sizeof(l->out->etag), "%s", f.etag);
	l->have_file = true;
	return PP_OK;
}

static void etag_of(const void *data, size_t len, char *out, size_t n)
{
	uint64_t h = pp_fnv(PP_FNV_INIT, data, len);

	snprintf(out, n, "\"%016llx-%zx\"", (unsigned long long)h, len);
}

static bool dev_fresh(const struct pp_registry *reg, const json_t *dev, const json_t *config)
{
	const json_t *render = json_object_get(dev, "render");
	const struct pp_plugin *p = pp_registry_find(reg, jstr(dev, "plugin"));
	struct pp_devinfo di;
	char stamp[17];

	if (!p || !render)
		return !p && !*jstr(dev, "plugin") ? true : false;
	dev_to_info(dev, &di);
	render_stamp(p, &di, jstr(dev, "ip"), config, stamp);
	return strcmp(stamp, jstr(render, "stamp")) == 0;
}

static bool info_differs(const json_t *dev, const struct pp_devinfo *di)
{
	static const char *const keys[PP_F_N] = { "vendor", "model", "version", "mac", "serial" };

	for (int f = 0; f < PP_F_N; f++)
		if (f != PP_F_MAC && di->f[f][0] && strcmp(jstr(dev, keys[f]), di->f[f]) != 0)
			return true;
	return false;
}

static bool dev_has_path(const json_t *dev, const char *path)
{
	json_t *files = json_object_get(json_object_get(dev, "render"), "files"), *v;
	size_t i;

	json_array_foreach(files, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), path) == 0)
			return true;
	return false;
}

int pp_pipeline_forget_txn(struct pp_txn *t, const json_t *dev)
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

void pp_pipeline_forget_disk(struct pp_daemon *d, const json_t *dev)
{
	json_t *files = json_object_get(json_object_get(dev, "render"), "files"), *v;
	size_t i;

	if (d->render_dirfd < 0)
		return;
	json_array_foreach(files, i, v)
		if (json_is_string(v) && unlinkat(d->render_dirfd, json_string_value(v), 0) != 0 &&
		    errno != ENOENT)
			pp_log(PP_LOG_WARN, "device.forget", "file=%s error=%d", json_string_value(v),
			       errno);
}

static void blob_mark_device(struct pp_blob *out, const json_t *dev)
{
	const json_t *render = json_object_get(dev, "render");

	snprintf(out->mac, sizeof(out->mac), "%s", jstr(dev, "mac"));
	out->trigger = *jstr(render, "trigger") && strcmp(jstr(render, "trigger"), out->path) == 0;
}

static int serve_static(const struct pp_request *rq, struct pp_blob *out, const char **reason)
{
	struct stat st;
	int rc, fd;

	rc = pp_open_beneath(rq->rootfd, out->path, &fd, &st, reason);
	if (rc == -ENOENT || rc == -EISDIR || rc == -ENOTDIR)
		return PP_ENOENT;
	if (rc != 0)
		return PP_EACCES;
	out->fd = fd;
	out->size = (uint64_t)st.st_size;
	out->mtime_ms = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
	snprintf(out->etag, sizeof(out->etag), "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
		 (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec * 1000000000ull +
		 (unsigned long long)st.st_mtim.tv_nsec);
	return PP_OK;
}

static int fetch(struct pp_daemon *d, struct pp_snapshot *snap, const struct pp_request *rq,
		 struct pp_blob *out, const char **reason)
{
	const struct pp_registry *reg = snap->reg;
	const struct pp_config *cfg = snap->cfg;
	struct pp_ex_input in;
	struct look l = { 0 };
	struct pp_devinfo di;
	const struct pp_file_spec *fs;
	const struct pp_plugin *fp = NULL;
	char pmac[18];
	bool known, exempt, fresh;
	int rc;

	memset(&in, 0, sizeof(in));
	if (rq->proto == PP_PROTO_TFTP) {
		in.s[PP_SRC_TFTP_FILE] = out->path;
		in.len[PP_SRC_TFTP_FILE] = strlen(out->path);
	} else {
		in.s[PP_SRC_HTTP_PATH] = out->path;
		in.len[PP_SRC_HTTP_PATH] = strlen(out->path);
		if (rq->user_agent) {
			in.s[PP_SRC_HTTP_UA] = rq->user_agent;
			in.len[PP_SRC_HTTP_UA] = strlen(rq->user_agent);
		}
	}
	pp_identify(reg, &in, &di);
	fs = pp_registry_match_path(reg, out->path, &fp, pmac);
	l.path = out->path;
	l.peer = rq->peer_ip;
	l.out = out;
	memcpy(l.mac, pmac[0] ? pmac : di.f[PP_F_MAC], sizeof(l.mac));
	rc = pp_store_read(d->store, look_txn, &l);
	if (rc != PP_OK) {
		*reason = "store read failed";
		rc = PP_EIO;
		goto out;
	}
	known = l.dev != NULL;
	exempt = known && l.bound[0] && strcmp(l.bound, l.mac) == 0;
	if (!exempt && ban_is_banned(d, rq->peer_ip)) {
		*reason = "banned";
		rc = PP_EACCES;
		goto out;
	}
	if (fs && fs->sensitive && !known && ban_count(d, cfg, rq->peer_ip, out->path)) {
		*reason = "banned";
		rc = PP_EACCES;
		goto out;
	}
	/* the MAC named by the file wins over one given elsewhere */
	if (pmac[0] && strcmp(pmac, di.f[PP_F_MAC]) != 0)
		memcpy(di.f[PP_F_MAC], pmac, sizeof(pmac));
	if (!di.f[PP_F_MAC][0] && l.mac[0])
		memcpy(di.f[PP_F_MAC], l.mac, sizeof(l.mac));
	if (l.dev && l.config_rc != PP_OK && l.config_rc != PP_ENOENT)
		pp_log(PP_LOG_WARN, "device.config_invalid", "mac=%s rc=%d", l.mac, l.config_rc);
	fresh = known && !info_differs(l.dev, &di) &&
		strcmp(jstr(l.dev, "ip"), rq->peer_ip ? rq->peer_ip : "") == 0 &&
		dev_fresh(reg, l.dev, l.config);
	if (known && fresh) {
		if (!json_is_true(json_object_get(json_object_get(l.dev, "render"), "synced")) &&
		    json_object_get(l.dev, "render"))
			resync(d, reg, l.mac);
	} else if (di.f[PP_F_MAC][0] && (known || cfg->autoprov)) {
		struct apply a = { 0 };

		a.reg = reg;
		a.cfg = cfg;
		a.mac = di.f[PP_F_MAC];
		a.ip = rq->peer_ip;
		a.di = &di;
		a.prefer = fs ? fp : NULL;
		a.create = cfg->autoprov;
		/* bind the IP when the MAC came from the request itself */
		a.bind_ip = rq->peer_ip && *rq->peer_ip;
		if (run_apply(d, &a) == PP_OK) {
			for (size_t i = 0; i < a.r.n; i++) {
				struct pp_rfile *rf = &a.r.f[i];

				if (strcmp(rf->path, out->path) != 0)
					continue;
				free(out->data);
				out->data = rf->data;
				out->size = rf->len;
				rf->data = NULL;
				out->mtime_ms = pp_now_ms();
				etag_of(out->data, out->size, out->etag, sizeof(out->etag));
				l.have_file = true;
			}
			json_decref(l.dev);
			l.dev = json_incref(a.dev);
		}
		apply_reset(&a);
	}
	if (l.have_file) {
		if (l.dev && dev_has_path(l.dev, out->path))
			blob_mark_device(out, l.dev);
		rc = PP_OK;
		goto out;
	}
	/* a plugin's common file not stored yet: serve it from memory */
	if ((fs = pp_registry_common(reg, out->path, &fp))) {
		out->data = malloc(fs->common_len ? fs->common_len : 1);
		if (!out->data) {
			rc = PP_ENOMEM;
			goto out;
		}
		memcpy(out->data, fs->common_data, fs->common_len);
		out->size = fs->common_len;
		out->mtime_ms = pp_now_ms();
		etag_of(out->data, out->size, out->etag, sizeof(out->etag));
		rc = PP_OK;
		goto out;
	}
	rc = serve_static(rq, out, reason);
out:
	if (rc != PP_OK) {
		free(out->data);
		out->data = NULL;
	}
	json_decref(l.dev);
	json_decref(l.config);
	return rc;
}

int pp_pipeline_fetch(struct pp_daemon *d, const struct pp_request *rq, struct pp_blob *out,
		      const char **reason)
{
	struct pp_snapshot *snap;
	int rc;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	*reason = "";
	if (pp_path_normalize(rq->path, rq->path_len, out->path, sizeof(out->path), reason) != 0)
		return PP_EACCES;
	snap = pp_daemon_acquire(d);
	if (!snap) {
		*reason = "shutting down";
		return PP_EIO;
	}
	rc = fetch(d, snap, rq, out, reason);
	pp_snapshot_release(snap);
	return rc;
}

void pp_blob_release(struct pp_blob *b)
{
	if (b->fd >= 0)
		close(b->fd);
	free(b->data);
	b->fd = -1;
	b->data = NULL;
}

/* ---- after a transfer --------------------------------------------------- */

struct done_arg {
	const struct pp_request *rq;
	const struct pp_blob *b;
	uint64_t bytes;
	bool provisioned;
};

static int done_txn(struct pp_txn *t, void *arg)
{
	struct done_arg *a = arg;
	int64_t now = pp_now_ms();
	json_t *dev, *ev;
	int rc = pp_dev_get(t, a->b->mac, &dev);

	a->provisioned = false;
	if (rc)
		return rc;
	json_object_set_new(dev, "last_seen", json_integer((json_int_t)now));
	if (a->b->trigger && strcmp(jstr(dev, "state"), "provisioned") != 0) {
		json_object_set_new(dev, "state", json_string("provisioned"));
		json_object_set_new(dev, "provisioned", json_integer((json_int_t)now));
		rc = event(t, "device.provisioned", event_data(a->b->mac, jstr(dev, "plugin")));
		a->provisioned = true;
	}
	ev = json_pack("{s:s, s:s, s:s, s:I, s:s}", "mac", a->b->mac, "path", a->b->path,
		       "proto", a->rq->proto == PP_PROTO_TFTP ? "tftp" : "http", "bytes",
		       (json_int_t)a->bytes, "ip", a->rq->peer_ip ? a->rq->peer_ip : "");
	if (rc == PP_OK)
		rc = event(t, "file.fetched", ev);
	else
		json_decref(ev);
	if (rc == PP_OK)
		rc = pp_dev_put(t, a->b->mac, dev);
	json_decref(dev);
	return rc;
}

void pp_pipeline_done(struct pp_daemon *d, const struct pp_request *rq, const struct pp_blob *b,
		      uint64_t bytes)
{
	struct done_arg a = { rq, b, bytes, false };

	if (!b->mac[0])
		return;
	if (pp_store_write(d->store, done_txn, &a) == PP_OK && a.provisioned)
		pp_log(PP_LOG_INFO, "device.provisioned", "mac=%s file=%s", b->mac, b->path);
}

/* ---- DHCP --------------------------------------------------------------- */

static json_t *dhcp_json(const struct pp_dhcp_facts *f)
{
	json_t *o = json_pack("{s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "ip", f->ip,
			      "msg_type", f->msg_type, "vendor_class", f->vendor_class, "hostname",
			      f->hostname, "client_id", f->client_id, "user_class", f->user_class,
			      "requested_ip", f->requested_ip, "server_id", f->server_id,
			      "param_list", f->param_list, "relay_info", f->relay_info, "seen",
			      (json_int_t)pp_now_ms());

	if (o && f->vlan)
		json_object_set_new(o, "vlan", json_integer(f->vlan));
	return o;
}

static size_t cstrnlen(const char *s, size_t max)
{
	const char *e = memchr(s, '\0', max);

	return e ? (size_t)(e - s) : max;
}

int pp_pipeline_dhcp(struct pp_daemon *d, const struct pp_dhcp_facts *f)
{
	struct pp_snapshot *snap = pp_daemon_acquire(d);
	struct pp_ex_input in;
	struct pp_devinfo di;
	struct apply a = { 0 };
	char mac[18];
	int rc;

	if (!snap)
		return PP_EIO;
	memset(&in, 0, sizeof(in));
	if (pp_mac_normalize(f->mac, cstrnlen(f->mac, sizeof(f->mac)), mac) != PP_OK) {
		pp_snapshot_release(snap);
		return PP_EINVAL;
	}
	in.s[PP_SRC_DHCP_VCI] = f->vendor_class;
	in.len[PP_SRC_DHCP_VCI] = cstrnlen(f->vendor_class, sizeof(f->vendor_class));
	in.s[PP_SRC_DHCP_HOSTNAME] = f->hostname;
	in.len[PP_SRC_DHCP_HOSTNAME] = cstrnlen(f->hostname, sizeof(f->hostname));
	in.s[PP_SRC_DHCP_CLIENT_ID] = f->client_id;
	in.len[PP_SRC_DHCP_CLIENT_ID] = cstrnlen(f->client_id, sizeof(f->client_id));
	in.s[PP_SRC_DHCP_USER_CLASS] = f->user_class;
	in.len[PP_SRC_DHCP_USER_CLASS] = cstrnlen(f->user_class, sizeof(f->user_class));
	pp_identify(snap->reg, &in, &di);
	memcpy(di.f[PP_F_MAC], mac, sizeof(mac)); /* chaddr is authoritative */
	a.reg = snap->reg;
	a.cfg = snap->cfg;
	a.mac = mac;
	a.di = &di;
	a.ip = f->bound && f->ip[0] ? f->ip : NULL;
	a.bind_ip = f->bound && f->ip[0];
	a.dhcp = dhcp_json(f);
	/* a DHCP client is only taken in when it looks like a phone of ours */
	a.create = snap->cfg->autoprov && di.f[PP_F_VENDOR][0];
	rc = run_apply(d, &a);
	json_decref(a.dhcp);
	apply_reset(&a);
	pp_snapshot_release(snap);
	return rc == PP_ENOENT ? PP_OK : rc;
}

/* ---- reconfigure -------------------------------------------------------- */

int pp_pipeline_reconfigure(struct pp_daemon *d, const char *mac_in)
{
	struct pp_snapshot *snap = pp_daemon_acquire(d);
	struct apply a = { 0 };
	char mac[18];
	int rc;

	if (!snap)
		return PP_EIO;
	if (pp_mac_normalize(mac_in, strlen(mac_in), mac) != PP_OK) {
		pp_snapshot_release(snap);
		return PP_EINVAL;
	}
	a.reg = snap->reg;
	a.cfg = snap->cfg;
	a.mac = mac;
	a.force = true;
	rc = run_apply(d, &a);
	apply_reset(&a);
	pp_snapshot_release(snap);
	return rc;
}

struct uses_arg {
	const char *id;
	char (*macs)[18];
	size_t n, cap;
	struct pp_txn *t;
};

static bool config_uses(struct pp_txn *t, const char *cid, const char *target, int depth)
{
	json_t *c, *parents, *v;
	bool found = false;
	size_t i;

	if (!cid || depth > 32)
		return false;
	if (strcmp(cid, target) == 0)
		return true;
	if (pp_cfg_get(t, cid, &c) != PP_OK)
		return false;
	parents = json_object_get(c, "parent_ids");
	json_array_foreach(parents, i, v)
		if (!found && json_is_string(v))
			found = config_uses(t, json_string_value(v), target, depth + 1);
	json_decref(c);
	return found;
}

static int uses_cb(const char *mac, json_t *dev, void *arg)
{
	struct uses_arg *u = arg;
	const char *cid = json_string_value(json_object_get(dev, "config"));

	if (!cid || !config_uses(u->t, cid, u->id, 0))
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

	u->n = 0;
	u->t = t;
	return pp_dev_each(t, NULL, uses_cb, u);
}

int pp_pipeline_config_changed(struct pp_daemon *d, const char *config_id)
{
	struct uses_arg u = { .id = config_id };
	int rc = pp_store_read(d->store, uses_txn, &u);

	for (size_t i = 0; rc == PP_OK && i < u.n; i++) {
		int r = pp_pipeline_reconfigure(d, u.macs[i]);

		if (r != PP_OK && r != PP_ENOENT)
			rc = r;
	}
	free(u.macs);
	return rc;
}
