/* /api/v1/operations: long work (firmware install and uninstall) runs as an
 * operation on a thread of its own, never on the request's thread. The
 * request answers 202 with Location: /api/v1/operations/{id}; the operation
 * is then followed with GET /operations/{id} or on /events (an `operation`
 * event at each state change). The last OPS_KEEP operations are kept in
 * memory only: they do not survive a restart. At most OPS_RUNNING run at a
 * time, OPS_RUNNING_FW of them firmware ones (503 beyond). Stopping the API signals the running workers and waits
 * for their threads. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "daemon/fw_client.h"
#include "daemon/monitor/records.h"
#include "daemon/store/store.h"
#include "lib/log.h"
#include "api_int.h"
#include "api_ops.h"

#define OPS_KEEP 256
#define OPS_RUNNING 64   /* operations running at once (synchronize: a UDP socket each) */
#define OPS_RUNNING_FW 4 /* of which firmware ones (they queue for the one worker) */

enum op_state { OP_RUNNING, OP_OK, OP_FAILED, OP_REFUSED, OP_TIMEOUT };

struct api_op {
	char id[24];
	const char *kind;
	enum op_state state;
	json_t *target;       /* {"plugin","package"} */
	int64_t created_ms, finished_ms;
	char error[sizeof(((struct pp_err *)0)->msg) + 32];
	unsigned status;      /* the HTTP status a synchronous answer would have had */
	const char *progress; /* "queued" (behind another firmware operation), "worker" */
	int refs;             /* the table's and the running thread's */
	bool install;
	json_t *result;       /* what the operation reports at its end (or NULL) */
	api_op_fn run;        /* NULL: a firmware operation */
	void *arg;
	void (*arg_free)(void *arg);
	struct pp_daemon *d;
	struct pp_fwc_child child;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t idle;
	pthread_mutex_t firmware; /* one firmware worker at a time (the worker's own
				     lock refuses a second one with "busy") */
	struct api_op *ring[OPS_KEEP]; /* oldest overwritten first */
	size_t next;
	unsigned running, running_fw;
	bool stopping;
	uint64_t counter;
	char prefix[9];
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .idle = PTHREAD_COND_INITIALIZER,
	.firmware = PTHREAD_MUTEX_INITIALIZER };

static const char *state_name(enum op_state s)
{
	static const char *const names[] = { "running", "ok", "failed", "refused", "timeout" };

	return names[s];
}

static json_t *iso_time(int64_t ms)
{
	char buf[80];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms)
		return json_null();
	gmtime_r(&t, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return json_string(buf);
}

/* Called with g.lock held. */
static json_t *op_json(const struct api_op *op)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:O, s:o, s:o}", "id", op->id, "kind", op->kind,
			      "state", state_name(op->state), "target", op->target, "created",
			      iso_time(op->created_ms), "finished", iso_time(op->finished_ms));

	if (j && op->state == OP_RUNNING && op->progress)
		json_object_set_new(j, "progress", json_string(op->progress));
	if (j && op->result)
		json_object_set(j, "result", op->result);
	if (j && op->state != OP_RUNNING && op->state != OP_OK && op->error[0])
		json_object_set_new(j, "error", json_string(op->error));
	if (j && op->state == OP_FAILED && op->status) {
		json_object_set_new(j, "status", json_integer(op->status));
	}
	return j;
}

static void op_unref_locked(struct api_op *op)
{
	if (--op->refs > 0)
		return;
	json_decref(op->target);
	json_decref(op->result);
	if (op->arg_free)
		op->arg_free(op->arg);
	pthread_mutex_destroy(&op->child.lock);
	free(op);
}

struct ev_arg {
	json_t *data;
};

static int ev_txn(struct pp_txn *t, void *arg)
{
	struct ev_arg *a = arg;

	return pp_event_append(t, "operation", a->data, NULL);
}

/* An `operation` event with the operation as it is now. */
static void op_event(struct api_op *op)
{
	struct ev_arg a;
	int rc;

	pthread_mutex_lock(&g.lock);
	a.data = op_json(op);
	pthread_mutex_unlock(&g.lock);
	if (!a.data)
		return;
	rc = pp_store_write(op->d->store, ev_txn, &a);
	if (rc != PP_OK)
		pp_log(PP_LOG_WARN, "api.operation", "id=%s event not stored: %s", op->id,
		       pp_strerror(rc));
	else
		pp_events_bell_ring();
	json_decref(a.data);
}

static unsigned status_of(int rc)
{
	switch (rc) {
	case PP_ENOENT: return 404;
	case PP_EEXIST: return 409;
	case PP_EINVAL: return 422;
	case PP_EACCES: return 403;
	case PP_EBUSY: return 503;
	case PP_ENOTSUP: return 501;
	default: return 500;
	}
}

bool api_ops_stopping(void)
{
	bool b;

	pthread_mutex_lock(&g.lock);
	b = g.stopping;
	pthread_mutex_unlock(&g.lock);
	return b;
}

static void op_done(struct api_op *op)
{
	pthread_mutex_lock(&g.lock);
	if (!op->run)
		g.running_fw--;
	op_unref_locked(op);
	g.running--;
	pthread_cond_broadcast(&g.idle);
	pthread_mutex_unlock(&g.lock);
}

static void *run_thread(void *arg)
{
	struct api_op *op = arg;
	struct api_op_end e = { 0 };
	static const enum op_state map[] = { OP_FAILED, OP_OK, OP_FAILED, OP_REFUSED, OP_TIMEOUT };

	op_event(op);
	op->run(op->arg, &e);
	pthread_mutex_lock(&g.lock);
	op->finished_ms = pp_now_ms();
	op->state = e.state >= 0 && e.state <= API_OP_TIMEOUT ? map[e.state] : OP_FAILED;
	op->result = e.result;
	snprintf(op->error, sizeof(op->error), "%s", e.error);
	if (op->state == OP_FAILED && !op->error[0])
		snprintf(op->error, sizeof(op->error), "failed");
	pthread_mutex_unlock(&g.lock);
	pp_log(op->state == OP_OK ? PP_LOG_INFO : PP_LOG_WARN, "api.operation",
	       "id=%s kind=%s state=%s%s%s", op->id, op->kind, state_name(op->state),
	       op->error[0] ? " error=" : "", op->error);
	op_event(op);
	op_done(op);
	return NULL;
}

static void *op_thread(void *arg)
{
	struct api_op *op = arg;
	struct pp_snapshot *s = pp_daemon_acquire(op->d);
	struct pp_err err = { 0 };
	const char *plugin = json_string_value(json_object_get(op->target, "plugin"));
	const char *pkg = json_string_value(json_object_get(op->target, "package"));
	bool stopping;
	int rc;

	if (pthread_mutex_trylock(&g.firmware) != 0) {
		pthread_mutex_lock(&g.lock);
		op->progress = "queued";
		pthread_mutex_unlock(&g.lock);
		op_event(op);
		pthread_mutex_lock(&g.firmware);
	}
	pthread_mutex_lock(&g.lock);
	op->progress = "worker";
	stopping = g.stopping;
	pthread_mutex_unlock(&g.lock);
	if (stopping) {
		rc = PP_EBUSY;
		pp_err_set(&err, "not started");
	} else {
		op_event(op);
		rc = pp_fwc_package_op(s->cfg, op->install, plugin, pkg, &op->child, &err);
	}
	pthread_mutex_unlock(&g.firmware);
	pp_snapshot_release(s);
	pthread_mutex_lock(&g.lock);
	stopping = g.stopping;
	op->finished_ms = pp_now_ms();
	if (rc == PP_OK) {
		op->state = OP_OK;
	} else {
		op->state = OP_FAILED;
		op->status = status_of(rc);
		if (snprintf(op->error, sizeof(op->error), "%s%s",
			     err.msg[0] ? err.msg : pp_strerror(rc),
			     stopping ? " (the daemon was stopping)" : "") < 0)
			op->error[0] = '\0';
	}
	pthread_mutex_unlock(&g.lock);
	pp_log(rc == PP_OK ? PP_LOG_INFO : PP_LOG_WARN, "api.operation",
	       "id=%s kind=%s plugin=%s package=%s state=%s%s%s", op->id, op->kind, plugin, pkg,
	       state_name(op->state), rc == PP_OK ? "" : " error=", rc == PP_OK ? "" : op->error);
	op_event(op);
	op_done(op);
	return NULL;
}

/* Start an operation on target (taken over); answers 202 + Location, 503
 * when OPS_RUNNING (firmware: OPS_RUNNING_FW) run already, 409 when one of the same kind runs on the
 * same target. */
static enum MHD_Result op_start(struct api_req *r, const char *kind, json_t *target,
				api_op_fn run, void *arg, void (*arg_free)(void *), bool install)
{
	struct api_op *op;
	pthread_attr_t attr;
	pthread_t th;
	char loc[96];
	json_t *j;
	int e;

	pthread_mutex_lock(&g.lock);
	if (!target) {
		pthread_mutex_unlock(&g.lock);
		if (arg_free)
			arg_free(arg);
		return api_error(r, 500, "", "out of memory");
	}
	if (g.stopping) {
		pthread_mutex_unlock(&g.lock);
		json_decref(target);
		if (arg_free)
			arg_free(arg);
		return api_error(r, 503, "", "the daemon is stopping");
	}
	if (g.running >= OPS_RUNNING || (!run && g.running_fw >= OPS_RUNNING_FW)) {
		unsigned max = g.running >= OPS_RUNNING ? OPS_RUNNING : OPS_RUNNING_FW;

		pthread_mutex_unlock(&g.lock);
		json_decref(target);
		if (arg_free)
			arg_free(arg);
		return api_error(r, 503, "", "%u %soperations are running already, try again later",
				 max, max == OPS_RUNNING ? "" : "firmware ");
	}
	for (size_t i = 0; i < OPS_KEEP; i++) {
		struct api_op *o = g.ring[i];

		if (o && o->state == OP_RUNNING && o->run == run && json_equal(o->target, target)) {
			char id[24];

			snprintf(id, sizeof(id), "%s", o->id);
			pthread_mutex_unlock(&g.lock);
			json_decref(target);
			if (arg_free)
				arg_free(arg);
			return api_error(r, 409, "", "operation %s on the same target is running", id);
		}
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		pthread_mutex_unlock(&g.lock);
		json_decref(target);
		if (arg_free)
			arg_free(arg);
		return api_error(r, 500, "", "out of memory");
	}
	op->target = target;
	op->run = run;
	op->arg = arg;
	op->arg_free = arg_free;
	if (!g.prefix[0]) {
		uint32_t rnd = 0;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
			rnd = (uint32_t)pp_now_ms();
		snprintf(g.prefix, sizeof(g.prefix), "%08" PRIx32, rnd);
	}
	/* a random prefix per daemon run: an id from before a restart is a 404 */
	snprintf(op->id, sizeof(op->id), "%s-%" PRIu64, g.prefix, ++g.counter);
	op->kind = kind;
	op->install = install;
	op->state = OP_RUNNING;
	op->created_ms = pp_now_ms();
	op->d = r->api->d;
	op->refs = 2;
	pthread_mutex_init(&op->child.lock, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	e = pthread_create(&th, &attr, run ? run_thread : op_thread, op);
	pthread_attr_destroy(&attr);
	if (e) {
		op->refs = 1;
		op_unref_locked(op);
		pthread_mutex_unlock(&g.lock);
		return api_error(r, 503, "", "cannot start a thread: %s", strerror(e));
	}
	g.running++;
	if (!run)
		g.running_fw++;
	if (g.ring[g.next])
		op_unref_locked(g.ring[g.next]);
	g.ring[g.next] = op;
	g.next = (g.next + 1) % OPS_KEEP;
	j = op_json(op);
	snprintf(loc, sizeof(loc), "/api/v1/operations/%s", op->id);
	pthread_mutex_unlock(&g.lock);
	pp_log(PP_LOG_INFO, "api.operation", "id=%s kind=%s state=running",
	       strrchr(loc, '/') + 1, kind);
	return api_json_at(r, 202, j, loc);
}

enum MHD_Result api_op_firmware(struct api_req *r, bool install, const char *plugin,
				const char *pkg)
{
	return op_start(r, install ? "firmware.install" : "firmware.uninstall",
			json_pack("{s:s, s:s}", "plugin", plugin, "package", pkg), NULL, NULL,
			NULL, install);
}

enum MHD_Result api_op_start(struct api_req *r, const char *kind, json_t *target,
			     api_op_fn run, void *arg, void (*arg_free)(void *arg))
{
	return op_start(r, kind, target, run, arg, arg_free, false);
}

enum MHD_Result api_operations(struct api_req *r)
{
	json_t *j = NULL;

	if (strcmp(r->method, "GET") != 0)
		return api_method_not_allowed(r, "GET");
	pthread_mutex_lock(&g.lock);
	if (r->nseg == 1) {
		json_t *arr = json_array();

		/* newest first */
		for (size_t k = 1; k <= OPS_KEEP; k++) {
			struct api_op *o = g.ring[(g.next + OPS_KEEP - k) % OPS_KEEP];

			if (o)
				json_array_append_new(arr, op_json(o));
		}
		j = json_pack("{s:o, s:I, s:i}", "operations", arr, "count",
			      (json_int_t)json_array_size(arr), "running", (int)g.running);
	} else {
		for (size_t i = 0; i < OPS_KEEP && !j; i++)
			if (g.ring[i] && strcmp(g.ring[i]->id, r->seg[1]) == 0)
				j = op_json(g.ring[i]);
	}
	pthread_mutex_unlock(&g.lock);
	if (!j)
		return api_error(r, 404, "id", "no such operation: %s (operations are kept in "
				 "memory, the last %d, and not across a restart)", r->seg[1], OPS_KEEP);
	return api_json(r, 200, j);
}

void api_ops_stop(void)
{
	unsigned waited = 0;

	pthread_mutex_lock(&g.lock);
	g.stopping = true;
	while (g.running) {
		struct timespec ts;

		for (size_t i = 0; i < OPS_KEEP; i++)
			if (g.ring[i] && g.ring[i]->state == OP_RUNNING)
				pp_fwc_child_kill(&g.ring[i]->child, waited < 50 ? SIGTERM : SIGKILL);
		ts = pp_deadline_ms(CLOCK_REALTIME, 100);
		pthread_cond_timedwait(&g.idle, &g.lock, &ts);
		waited++;
	}
	for (size_t i = 0; i < OPS_KEEP; i++) {
		if (g.ring[i])
			op_unref_locked(g.ring[i]);
		g.ring[i] = NULL;
	}
	pthread_mutex_unlock(&g.lock);
	if (waited)
		pp_log(PP_LOG_INFO, "api.operation", "stopped the running operations (%u ms)",
		       waited * 100);
}
