/* The jobs thread: runs plugin jobs (C hooks, DESIGN §6) every
 * job_interval_s, and keeps the call-record monitors (daemon/monitor: one
 * thread each, C run() hooks included) in step with the registry across
 * SIGHUP reloads. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/plugin/hooks.h"
#include "daemon/plugin/plugin.h"
#include "daemon.h"
#include "lib/log.h"
#include "daemon/monitor/monitor.h"

/* ---- jobs thread -------------------------------------------------------- */

struct job_ent {
	const struct pp_plugin *p;
	int64_t next_ms;    /* -1 = never again */
};

struct pp_jobs {
	struct pp_daemon *d;
	struct pp_snapshot *job_snap;/* registry of the jobs (follows SIGHUP reloads) */
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool running;
	bool kicked;                 /* a reload happened: follow it now */
	struct job_ent *jobs;
	size_t n_jobs, cap_jobs;
	struct pp_monitors *mons;    /* call-record monitors (daemon/monitor) */
};

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

		if (pp_plugin_has_job(p))
			j->jobs[j->n_jobs++] = (struct job_ent){ p, 0 };
	}
}

/* After a reload the jobs of the new registry take over, and the monitors
 * follow it (started, stopped, restarted: pp_monitors_sync). */
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
	pthread_mutex_unlock(&j->lock);
	pp_monitors_sync(j->mons, s);
	pthread_mutex_lock(&j->lock);
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
				rc = pp_plugin_job(e->p);
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
					     1000 * (int64_t)pp_plugin_job_interval(e->p);
			}
			if (e->next_ms < next)
				next = e->next_ms;
		}
		{
			int64_t wait = next - pp_now_ms();

			ts = pp_deadline_ms(CLOCK_REALTIME, wait < 1 ? 1 : wait);
		}
		if (atomic_load(&j->running) && !j->kicked)
			pthread_cond_timedwait(&j->cond, &j->lock, &ts);
		j->kicked = false;
	}
	pthread_mutex_unlock(&j->lock);
	return NULL;
}

int pp_jobs_start(struct pp_daemon *d, struct pp_jobs **out, struct pp_err *err)
{
	struct pp_snapshot *s = pp_daemon_acquire(d);
	struct pp_jobs *j;

	*out = NULL;
	if (!s)
		return PP_OK;
	j = calloc(1, sizeof(*j));
	if (!j || pp_monitors_new(d->store, &j->mons) != PP_OK) {
		free(j);
		pp_snapshot_release(s);
		pp_err_set(err, "out of memory");
		return PP_ENOMEM;
	}
	j->d = d;
	j->job_snap = s;
	jobs_build(j, s);
	pthread_mutex_init(&j->lock, NULL);
	pthread_cond_init(&j->cond, NULL);
	atomic_store(&j->running, true);
	pp_monitors_sync(j->mons, s);
	if (pthread_create(&j->th, NULL, jobs_main, j) != 0) {
		atomic_store(&j->running, false);
		pp_jobs_stop(j);
		pp_err_set(err, "cannot start the jobs thread");
		return PP_ERR;
	}
	*out = j;
	return PP_OK;
}

void pp_jobs_kick(struct pp_jobs *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	j->kicked = true;
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->lock);
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
	pp_monitors_free(j->mons);
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->lock);
	pp_snapshot_release(j->job_snap);
	free(j->jobs);
	free(j);
}
