/* The provisioning worker: every change of device state is a job in one
 * bounded queue, and one thread applies them in batches.
 *
 * A batch is ONE LMDB write transaction (one fsync): each job runs in a
 * nested transaction (a failed render drops that job only), and the
 * finished transfers (last_seen, provisioned, file.fetched) queued since the
 * last batch are recorded in the same transaction. Only after the commit do
 * the disk mirror, the hooks and the waiting requests see the result, so a
 * phone is answered only once its device record is durable.
 *
 * Phones' requests for the same MAC that arrive while one is queued join it
 * (coalescing): a boot storm of retransmissions becomes one change. The
 * queue is bounded: a phone over the bound is told to come back (TFTP: no
 * answer, so it retransmits; HTTP: 503 with Retry-After), never given a
 * wrong or partial file. Administrators' changes (API, CLI) go through the
 * same queue and wait for their result.
 *
 * Measured choice (bench/bootstorm, docs/provisioning.md): one worker. LMDB
 * takes one writer at a time anyway, and with the serving threads never
 * waiting on it, one thread that batches keeps the fsync count at one per
 * batch. */
#include "prov_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/metrics.h"

struct job *job_new(enum job_kind kind, const char *mac)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->kind = kind;
	snprintf(j->mac, sizeof(j->mac), "%s", mac);
	j->a.mac = j->mac;
	return j;
}

void job_free(struct job *j)
{
	struct waiter *w, *n;

	if (!j)
		return;
	apply_reset(&j->a);
	json_decref(j->a.dhcp);
	json_decref(j->deleted);
	for (w = j->waiters; w; w = n) {
		n = w->next;
		free(w);
	}
	free(j);
}

static size_t mac_hash(const char *mac)
{
	return pp_fnv(PP_FNV_INIT, mac, strlen(mac)) % PROV_HASH;
}

static void hash_del(struct pp_prov *p, struct job *j)
{
	struct job **pp = &p->byhash[mac_hash(j->mac)];

	for (; *pp; pp = &(*pp)->hnext)
		if (*pp == j) {
			*pp = j->hnext;
			j->hnext = NULL;
			return;
		}
}

static int add_waiter(struct job *j, pp_prov_done_fn fn, void *ctx)
{
	struct waiter *w = malloc(sizeof(*w));

	if (!w)
		return PP_ENOMEM;
	w->fn = fn;
	w->ctx = ctx;
	w->next = j->waiters;
	j->waiters = w;
	return PP_OK;
}

/* ---- one batch ---------------------------------------------------------- */

/* Hand the parked request that made j its file straight from the render
 * (the bytes LMDB now holds), sparing it a second identification and look. */
static void fill_blob(struct job *j)
{
	struct pp_blob *b = j->fill;

	for (size_t i = 0; i < j->a.r.n; i++) {
		const struct pp_rfile *rf = &j->a.r.f[i];

		if (strcmp(rf->path, b->path) != 0 || !(b->data = malloc(rf->len ? rf->len : 1)))
			continue;
		memcpy(b->data, rf->data, rf->len);
		b->size = rf->len;
		b->mtime_ms = pp_now_ms();
		pp_file_etag(rf->data, rf->len, b->etag);
		snprintf(b->mac, sizeof(b->mac), "%s", j->mac);
		b->trigger = rf->trigger;
		return;
	}
}

static void job_after(struct pp_prov *p, struct job *j)
{
	if (j->kind == JOB_DELETE)
		delete_after(p, j);
	else
		apply_after(p, &j->a);
}

struct batch {
	struct pp_prov *p;
	struct job **jobs;
	size_t n;
	struct done_rec *dones;
	size_t n_prov;             /* transfers that provisioned a device */
};

static int job_txn(struct pp_txn *t, void *arg)
{
	struct job *j = arg;

	return j->kind == JOB_DELETE ? delete_txn(t, j) : apply_txn(t, &j->a);
}

static int batch_txn(struct pp_txn *t, void *arg)
{
	struct batch *b = arg;

	b->n_prov = 0;
	for (size_t i = 0; i < b->n; i++) {
		b->jobs[i]->rc = pp_txn_nested(t, job_txn, b->jobs[i]);
		if (b->jobs[i]->rc == PP_EIO && pp_txn_doomed(t))
			return PP_EIO; /* map full: the store grows it and runs us again */
	}
	for (struct done_rec *d = b->dones; d; d = d->next) {
		bool prov = false;
		int rc = done_txn(t, d, &prov);

		if (rc != PP_OK && rc != PP_ENOENT && pp_txn_doomed(t))
			return PP_EIO;
		b->n_prov += prov;
	}
	return PP_OK;
}

static void run_batch(struct pp_prov *p, struct job **jobs, size_t n, struct done_rec *dones)
{
	struct pp_snapshot *snap = pp_snaps_acquire(p->snaps);
	struct batch b = { p, jobs, n, dones, 0 };
	int rc;

	for (size_t i = 0; i < n; i++) {
		struct job *j = jobs[i];

		j->a.reg = snap ? snap->reg : NULL;
		j->a.cfg = snap ? snap->cfg : NULL;
		j->a.prov = p;
		j->a.gen = snap ? snap->generation : 0;
		j->a.mac = j->mac;
		j->a.ip = j->ip[0] ? j->ip : NULL;
		j->a.di = j->has_di ? &j->di : NULL;
		j->a.prefer = j->prefer[0] ? pp_registry_find(j->a.reg, j->prefer) : NULL;
		j->rc = PP_EIO;
	}
	rc = snap ? pp_store_write(p->store, batch_txn, &b) : PP_EIO;
	if (rc != PP_OK) {
		char q[300];

		pp_log(PP_LOG_ERROR, "provision.batch_failed", "jobs=%zu error=%s", n,
		       pp_q(q, sizeof(q), pp_strerror(rc)));
		for (size_t i = 0; i < n; i++) {
			jobs[i]->rc = rc;
			prov_store_err(snap ? snap->cfg : NULL, rc, &jobs[i]->a.err);
		}
	}
	/* durable now. The waiting phones are answered first; an administrator
	 * (a synchronous job) is answered after the disk mirror and the hooks. */
	for (size_t i = 0; i < n; i++) {
		struct job *j = jobs[i];

		if (j->rc != PP_OK) {
			if (j->rc != PP_ENOENT && j->rc != PP_EEXIST && j->rc != PP_EACCES &&
			    j->rc != PP_EBADREQ && !(j->rc == PP_EINVAL && j->a.source)) {
				char q[600];

				pp_log(PP_LOG_ERROR, "device.update_failed", "mac=%s rc=%d error=%s",
				       j->mac, j->rc,
				       pp_q(q, sizeof(q), j->a.err.msg[0] ? j->a.err.msg :
						       pp_strerror(j->rc)));
			}
			if (!j->a.err.msg[0])
				pp_err_set(&j->a.err, "%s", pp_strerror(j->rc));
		} else if (j->owned) {
			job_after(p, j);
		} else if (j->fill) {
			fill_blob(j);
		}
	}
	if (b.n_prov)
		pp_log(PP_LOG_DEBUG, "provision.provisioned", "devices=%zu", b.n_prov);
	for (size_t i = 0; i < n; i++) {
		struct job *j = jobs[i];
		struct waiter *w = j->waiters, *next;
		bool owned = j->owned;
		int rc = j->rc;

		if (rc != PP_OK && j->err_out)
			*j->err_out = j->a.err;
		/* a synchronous submitter frees j as soon as its waiter ran:
		 * nothing of j is touched after the last call */
		for (; w; w = next) {
			next = w->next;
			w->fn(w->ctx, rc);
		}
		if (owned)
			continue;
		if (rc == PP_OK)
			job_after(p, j);
		job_free(j);
	}
	while (dones) {
		struct done_rec *d = dones;

		dones = d->next;
		free(d->path);
		free(d);
	}
	p->batches++;
	p->batch_jobs += n;
	PP_COUNT(prov_batches, 1);
	PP_COUNT(prov_jobs, n);
	pp_snapshot_release(snap);
}

/* ---- the thread --------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct pp_prov *p = arg;
	struct job **jobs = calloc(PROV_BATCH_MAX, sizeof(*jobs));

	if (!jobs) {
		pp_log(PP_LOG_ERROR, "provision.worker", "error=\"out of memory\"");
		return NULL;
	}
	pthread_mutex_lock(&p->qlock);
	for (;;) {
		struct done_rec *dones;
		size_t n = 0;

		while (!p->head && !p->dhead && !p->stopping)
			pthread_cond_wait(&p->qcond, &p->qlock);
		if (!p->head && !p->dhead)
			break; /* stopping, everything done */
		while (p->head && n < PROV_BATCH_MAX) {
			struct job *j = p->head;

			p->head = j->next;
			j->next = NULL;
			if (j->coalesce)
				hash_del(p, j);
			jobs[n++] = j;
			p->qlen--;
			if (j->bulk)
				p->qbulk--;
		}
		if (!p->head)
			p->tail = NULL;
		dones = p->dhead;
		p->dhead = p->dtail = NULL;
		p->dlen = 0;
		pthread_mutex_unlock(&p->qlock);
		run_batch(p, jobs, n, dones);
		PP_GAUGE_ADD(prov_pending, -(long long)n);
		pthread_mutex_lock(&p->qlock);
	}
	pthread_mutex_unlock(&p->qlock);
	free(jobs);
	return NULL;
}

int prov_worker_start(struct pp_prov *p)
{
	int rc = pthread_create(&p->th, NULL, worker_main, p);

	if (rc != 0)
		return PP_ERR;
	pthread_setname_np(p->th, "pp-provision");
	p->threaded = true;
	return PP_OK;
}

void pp_prov_stop(struct pp_prov *p)
{
	if (!p || !p->threaded)
		return;
	pthread_mutex_lock(&p->qlock);
	p->stopping = true;
	pthread_cond_broadcast(&p->qcond);
	pthread_mutex_unlock(&p->qlock);
	pthread_join(p->th, NULL); /* drains the queue first */
	p->threaded = false;
	prov_mirror_stop(p);       /* writes what the last batches queued */
}

/* ---- submitting --------------------------------------------------------- */

struct sync_wait {
	pthread_mutex_t m;
	pthread_cond_t c;
	bool done;
};

static void sync_done(void *ctx, int rc)
{
	struct sync_wait *s = ctx;

	(void)rc;
	pthread_mutex_lock(&s->m);
	s->done = true;
	pthread_cond_signal(&s->c);
	pthread_mutex_unlock(&s->m);
}

int prov_submit(struct pp_prov *p, struct job *j, pp_prov_done_fn fn, void *ctx)
{
	struct sync_wait sw = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false };
	struct job *q;
	bool sync = fn == NULL;

	if (!p->threaded) {
		/* no worker (the CLI): a batch of one, here and now */
		int rc;

		j->owned = true;
		run_batch(p, &j, 1, NULL);
		rc = j->rc;
		if (!sync) {
			/* fn ran: to the caller, as queued (fn has the result) */
			fn(ctx, rc);
			job_free(j);
			return PP_OK;
		}
		return rc;
	}
	j->owned = sync;
	if (sync && add_waiter(j, sync_done, &sw) != PP_OK)
		return PP_ENOMEM;
	pthread_mutex_lock(&p->qlock);
	if (p->stopping) {
		pthread_mutex_unlock(&p->qlock);
		j->rc = PP_EIO;
		pp_err_set(&j->a.err, "shutting down");
		if (!sync)
			job_free(j);
		return PP_EIO;
	}
	if (j->coalesce) {
		for (q = p->byhash[mac_hash(j->mac)]; q; q = q->hnext)
			if (strcmp(q->mac, j->mac) == 0)
				break;
		if (q) {
			/* the same phone is queued already: wait for that change */
			int rc = add_waiter(q, fn, ctx);

			pthread_mutex_unlock(&p->qlock);
			PP_COUNT(prov_coalesced, 1);
			job_free(j);
			return rc;
		}
	}
	if (!sync && !j->bulk && p->qlen - p->qbulk >= p->qmax) {
		pthread_mutex_unlock(&p->qlock);
		PP_COUNT(prov_queue_full, 1);
		job_free(j);
		return PP_EBUSY;
	}
	if (!sync && add_waiter(j, fn, ctx) != PP_OK) {
		pthread_mutex_unlock(&p->qlock);
		job_free(j);
		return PP_ENOMEM;
	}
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->qlen++;
	if (j->bulk)
		p->qbulk++;
	if (p->threaded)
		PP_GAUGE_ADD(prov_pending, 1);
	if (j->coalesce) {
		size_t h = mac_hash(j->mac);

		j->hnext = p->byhash[h];
		p->byhash[h] = j;
	}
	pthread_cond_signal(&p->qcond);
	pthread_mutex_unlock(&p->qlock);
	if (!sync)
		return PP_OK;
	pthread_mutex_lock(&sw.m);
	while (!sw.done)
		pthread_cond_wait(&sw.c, &sw.m);
	pthread_mutex_unlock(&sw.m);
	return j->rc;
}

void prov_submit_done(struct pp_prov *p, struct done_rec *d)
{
	if (!p->threaded) {
		struct job *none = NULL;

		run_batch(p, &none, 0, d);
		return;
	}
	pthread_mutex_lock(&p->qlock);
	if (p->stopping || p->dlen >= p->dmax) {
		pthread_mutex_unlock(&p->qlock);
		PP_COUNT(prov_done_dropped, 1);
		free(d->path);
		free(d);
		return;
	}
	if (p->dtail)
		p->dtail->next = d;
	else
		p->dhead = d;
	p->dtail = d;
	p->dlen++;
	pthread_cond_signal(&p->qcond);
	pthread_mutex_unlock(&p->qlock);
}
