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

/* ---- jobs thread --------------------------------------------------------

   Each plugin with a job hook has one schedule, kept with its instance
   (pp_plugin_job_sched): the first call runs at start and decides
   (PP_ENOTSUP: never scheduled again); a failure is logged and the job runs
   again one interval later, like a success. A reload that keeps the
   instance keeps its schedule, re-timed to the new interval (the last
   call + interval); a new instance starts due. Calls are never concurrent:
   this one thread makes them all. */

struct job_ent {
	const struct pp_plugin *p;
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

/* The jobs of a snapshot's plugins; schedules kept by adopted instances
 * follow the (maybe new) interval. */
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
		struct pp_job_sched js;

		if (!pp_plugin_has_job(p))
			continue;
		j->jobs[j->n_jobs++] = (struct job_ent){ p };
		if (pp_plugin_job_sched(p, &js) && js.next_ms > 0) {
			int64_t iv = pp_plugin_job_interval_ms(p);

			if (js.interval_ms != iv) {
				pp_log(PP_LOG_INFO, "plugin.job_retimed", "plugin=%s interval_ms=%lld "
				       "was_ms=%lld", p->name, (long long)iv,
				       (long long)js.interval_ms);
				js.next_ms += iv - js.interval_ms;
				js.interval_ms = iv;
				pp_plugin_job_sched_set(p, &js);
			}
		}
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
			const struct pp_plugin *p = j->jobs[i].p;
			struct pp_job_sched js;
			int64_t t0, iv;
			int rc;

			if (!pp_plugin_job_sched(p, &js) || js.next_ms < 0)
				continue;
			if (js.next_ms <= now) {
				pthread_mutex_unlock(&j->lock);
				t0 = pp_now_ms();
				rc = pp_plugin_job(p);
				pthread_mutex_lock(&j->lock);
				iv = pp_plugin_job_interval_ms(p);
				js.last_ms = t0;
				if (rc == PP_ENOTSUP) {
					js.next_ms = -1;
					pp_log(PP_LOG_INFO, "plugin.job_off", "plugin=%s reason=\"not "
					       "implemented\"", p->name);
				} else {
					if (rc != PP_OK)
						pp_log(PP_LOG_WARN, "plugin.job_failed",
						       "plugin=%s rc=%d error=\"%s\" retry_in_ms=%lld",
						       p->name, rc, pp_strerror(rc), (long long)iv);
					js.next_ms = pp_now_ms() + iv;
				}
				js.interval_ms = iv;
				pp_plugin_job_sched_set(p, &js);
				if (js.next_ms < 0)
					continue;
			}
			if (js.next_ms < next)
				next = js.next_ms;
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
