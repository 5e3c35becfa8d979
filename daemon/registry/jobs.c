/* C hooks of plugins (DESIGN §6): loading hooks.so, and the jobs thread that
 * runs plugin jobs every job_interval_s and one thread per call-record
 * monitor. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "hooks_int.h"
#include "../daemon.h"
#include "../log.h"
#include "../store/store.h"

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
		pp_err_set(err, "%s: %s", path, !h ? "no 'pp_plugin_hooks' symbol" :
			   "unsupported hooks ABI (expected PP_HOOKS_ABI 1)");
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

void pp_hooks_device(const struct pp_plugin *p, enum pp_dev_event ev, const json_t *dev)
{
	struct pp_hooks *hk = p ? pp_priv(p)->hooks : NULL;
	void (*fn)(void *, const json_t *) = NULL;

	if (!hk)
		return;
	if (ev == PP_DEV_CREATE)
		fn = PP_HOOK(hk, on_device_create);
	else if (ev == PP_DEV_UPDATE)
		fn = PP_HOOK(hk, on_device_update);
	else
		fn = PP_HOOK(hk, on_device_delete);
	if (fn)
		fn(hk->state, dev);
}

/* ---- jobs thread -------------------------------------------------------- */

struct job_ent {
	const struct pp_plugin *p;
	struct pp_hooks *hk;
	int64_t next_ms;    /* -1 = never again */
};

struct monitor {
	pthread_t th;
	struct pp_jobs *j;
	struct pp_hooks *hk;
	struct pp_monitor_ctx ctx;
	char name[80];
};

struct pp_jobs {
	struct pp_daemon *d;
	struct pp_snapshot *snap;    /* registry of the monitors (held until stop) */
	struct pp_snapshot *job_snap;/* registry of the jobs (follows SIGHUP reloads) */
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool running;
	struct job_ent *jobs;
	size_t n_jobs, cap_jobs;
	struct monitor *mons;
	size_t n_mons;
};

struct push_arg {
	const json_t *rec;
};

static int push_txn(struct pp_txn *t, void *arg)
{
	struct push_arg *a = arg;
	uint64_t seq;

	return pp_rec_append(t, a->rec, &seq);
}

static int monitor_push(struct pp_monitor_ctx *ctx, const json_t *rec)
{
	struct pp_daemon *d = ctx->daemon;
	struct push_arg a = { rec };

	if (!json_is_object(rec))
		return PP_EINVAL;
	return pp_store_write(d->store, push_txn, &a);
}

static void *monitor_main(void *arg)
{
	struct monitor *m = arg;
	int rc = m->hk->h->run(m->hk->state, &m->ctx);

	pp_log(rc == PP_OK ? PP_LOG_INFO : PP_LOG_WARN, "plugin.monitor_end", "plugin=%s rc=%d",
	       m->name, rc);
	return NULL;
}

/* Jobs of a snapshot's plugins, each due now (called once at start). */
static void jobs_build(struct pp_jobs *j, struct pp_snapshot *s)
{
	size_t n = pp_registry_count(s->reg);

	j->n_jobs = 0;
	if (n > j->cap_jobs) {
		struct job_ent *nj = realloc(j->jobs, n * sizeof(*nj));

		if (!nj)
			return;
		j->jobs = nj;
		j->cap_jobs = n;
	}
	for (size_t i = 0; i < n; i++) {
		const struct pp_plugin *p = pp_registry_at(s->reg, i);
		struct pp_hooks *hk = pp_priv(p)->hooks;

		if (PP_HOOK(hk, job))
			j->jobs[j->n_jobs++] = (struct job_ent){ p, hk, 0 };
	}
}

/* After a reload the jobs of the new registry take over. */
static void jobs_follow(struct pp_jobs *j)
{
	struct pp_snapshot *s = pp_daemon_acquire(j->d);

	if (!s)
		return;
	if (s == j->job_snap || !s->reg) {
		pp_snapshot_release(s);
		return;
	}
	pp_snapshot_release(j->job_snap);
	j->job_snap = s;
	jobs_build(j, s);
}

static void *jobs_main(void *arg)
{
	struct pp_jobs *j = arg;

	pthread_mutex_lock(&j->lock);
	while (atomic_load(&j->running)) {
		int64_t now = pp_now_ms(), next = now + 5000; /* also: notice reloads */
		struct timespec ts;

		jobs_follow(j);

		for (size_t i = 0; i < j->n_jobs; i++) {
			struct job_ent *e = &j->jobs[i];
			int rc;

			if (e->next_ms < 0)
				continue;
			if (e->next_ms <= now) {
				pthread_mutex_unlock(&j->lock);
				rc = e->hk->h->job(e->hk->state);
				pthread_mutex_lock(&j->lock);
				if (rc == PP_ENOTSUP) {
					e->next_ms = -1;
					pp_log(PP_LOG_DEBUG, "plugin.job_off", "plugin=%s", e->p->name);
					continue;
				}
				if (rc != PP_OK)
					pp_log(PP_LOG_WARN, "plugin.job_failed", "plugin=%s rc=%d",
					       e->p->name, rc);
				e->next_ms = pp_now_ms() +
					     1000 * (int64_t)(e->hk->h->job_interval_s ?
							      e->hk->h->job_interval_s : 60);
			}
			if (e->next_ms < next)
				next = e->next_ms;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		{
			int64_t wait = next - pp_now_ms();

			if (wait < 1)
				wait = 1;
			ts.tv_sec += wait / 1000;
			ts.tv_nsec += (wait % 1000) * 1000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
		}
		if (atomic_load(&j->running))
			pthread_cond_timedwait(&j->cond, &j->lock, &ts);
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int pp_jobs_start(struct pp_daemon *d, struct pp_jobs **out, struct pp_err *err)
{
	struct pp_snapshot *s = pp_daemon_acquire(d);
	size_t n = s ? pp_registry_count(s->reg) : 0;
	struct pp_jobs *j;

	*out = NULL;
	if (!s)
		return PP_OK;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->mons = calloc(n + 1, sizeof(*j->mons)))) {
		free(j);
		pp_snapshot_release(s);
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	j->d = d;
	j->snap = s;
	atomic_fetch_add(&s->refs, 1);
	j->job_snap = s;
	jobs_build(j, s);
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	atomic_store(&j->running, true);
	for (size_t i = 0; i < n; i++) {
		const struct pp_plugin *p = pp_registry_at(s->reg, i);
		struct pp_hooks *hk = pp_priv(p)->hooks;

		if (PP_HOOK(hk, run)) {
			struct monitor *m = &j->mons[j->n_mons];

			m->j = j;
			m->hk = hk;
			m->ctx.running = &j->running;
			m->ctx.settings = pp_priv(p)->settings;
			m->ctx.push = monitor_push;
			m->ctx.daemon = d;
			snprintf(m->name, sizeof(m->name), "%s", p->name);
			if (pthread_create(&m->th, NULL, monitor_main, m) == 0)
				j->n_mons++;
		}
	}
	if (pthread_create(&j->th, NULL, jobs_main, j) != 0) {
		atomic_store(&j->running, false);
		pp_jobs_stop(j);
		pp_err_set(err, "cannot start the jobs thread");
		return PP_ERR;
	}
	*out = j;
	return PP_OK;
}

void pp_jobs_stop(struct pp_jobs *j)
{
	bool started;

	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	started = atomic_exchange(&j->running, false);
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
	if (started)
		pthread_join(j->th, NULL);
	for (size_t i = 0; i < j->n_mons; i++)
		pthread_join(j->mons[i].th, NULL);
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->lock);
	pp_snapshot_release(j->job_snap);
	pp_snapshot_release(j->snap);
	free(j->jobs);
	free(j->mons);
	free(j);
}
