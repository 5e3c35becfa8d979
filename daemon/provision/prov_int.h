/* Internals of the provisioning module shared by provision.c (the apply
 * machinery), worker.c (the queue and the batches), fetch.c (phones) and
 * admin.c (API/CLI). */
#ifndef PP_PROV_INT_H
#define PP_PROV_INT_H

#include <pthread.h>

#include "provision.h"
#include "ban.h"
#include "daemon/plugin/plugin.h"
#include "daemon/plugin/render.h"
#include "daemon/store/store.h"

#define PROV_HASH 4096     /* buckets of the queued-jobs-by-MAC index */
#define PROV_BATCH_MAX 128 /* changes per write transaction */

struct job;
struct done_rec;

struct pp_prov {
	struct pp_store *store;
	struct pp_snaps *snaps;
	int render_dirfd;
	struct pp_ban *ban;
	/* the worker: every change of device state is a job in this queue */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;      /* work arrived, or stop */
	struct job *head, *tail;
	size_t qlen, qmax;
	size_t qbulk;              /* of qlen: re-render jobs, not held to qmax */
	struct job *byhash[PROV_HASH]; /* queued phone jobs by MAC (coalescing) */
	struct done_rec *dhead, *dtail;
	size_t dlen, dmax;
	pthread_t th;
	struct mirror *mirror;     /* mirror.c: the disk mirror's thread, NULL = write at once */
	pthread_mutex_t mirror_lock; /* one path synced at a time: a read of LMDB and the
					write of what it read never interleave with another */
	bool threaded;             /* a worker thread runs the batches */
	bool stopping;
	uint64_t batches, batch_jobs; /* for the log and /metrics */
	/* plugins whose common files LMDB holds for this registry (worker only):
	 * they change with the registry, not with each device */
	uint64_t commons_gen;
	unsigned char *commons_done;
	size_t commons_n;
	/* roles.c: which config holds the default / autocreate role, so that
	 * a new device does not read every config. Bumped by every config
	 * write of this process; the cache (worker thread only) trusts an
	 * answer for PROV_ROLE_TTL_MS at most, for writes of other processes
	 * (the CLI). */
	_Atomic uint64_t cfg_gen;
	struct prov_role_cache {
		char id[136];
		int rc;            /* PP_OK (id), PP_ENOENT, -1 never looked */
		uint64_t gen;
		int64_t at_ms;
	} roles[2];
};

/* A device change to apply in one (nested) write transaction. */
struct apply;
/* Called inside the transaction on the device as read (or the fresh record
 * of a create), before association: change it, or refuse the change with a
 * code and err. `old` is the record before (NULL on create). */
typedef int (*apply_mutate_fn)(struct pp_txn *t, struct apply *a, json_t *dev,
			       const json_t *old, void *arg);

struct apply {
	/* in */
	const struct pp_registry *reg;
	const struct pp_config *cfg;
	struct pp_prov *prov;        /* set by the worker */
	uint64_t gen;                /* the snapshot generation of reg */
	const char *mac;
	const char *ip;              /* NULL: keep */
	const struct pp_devinfo *di; /* facts from this request (may be NULL) */
	const struct pp_plugin *prefer; /* plugin whose file was asked for (ties) */
	json_t *dhcp;                /* DHCP facts to keep (may be NULL) */
	bool bind_ip;                /* ip2mac put ip -> mac */
	bool create;                 /* create when absent */
	bool must_create;            /* PP_EEXIST when present */
	bool force;                  /* re-render even when fresh */
	const char *source;          /* events: "api", "cli" (NULL: phone traffic) */
	apply_mutate_fn mutate;
	void *mutate_arg;
	/* out */
	json_t *old;                 /* the record before (NULL when created) */
	json_t *dev;                 /* the device as committed (owned) */
	struct pp_rendered r;
	char **removed;              /* paths no longer rendered for the device */
	size_t n_removed;
	char **common;               /* common files whose stored bytes changed */
	size_t n_common;
	const struct pp_plugin *plugin;
	const struct pp_plugin *old_plugin;
	bool created, rendered, changed;
	bool wrote_commons;          /* this change stored its plugin's common files */
	json_t *hook_base;           /* the resolved config for the hooks (only when a
				      * plugin involved has hooks; may be NULL) */
	struct pp_err err;
	/* an administrator's change: the first disk mirror write that failed
	 * after the commit (errno, path), reported to the administrator */
	int disk_errno;
	char disk_path[PP_PATH_MAX];
};

void apply_reset(struct apply *a);
/* The transaction body of an apply (re-runnable). */
int apply_txn(struct pp_txn *t, void *arg);
/* After the commit: log, disk mirror, hooks. */
void apply_after(struct pp_prov *p, struct apply *a);

/* ---- jobs --------------------------------------------------------------- */

enum job_kind { JOB_APPLY = 0, JOB_DELETE };

struct waiter {
	pp_prov_done_fn fn;
	void *ctx;
	struct waiter *next;
};

struct job {
	enum job_kind kind;
	bool coalesce;             /* a phone's request: joins a queued job of its MAC */
	bool owned;                /* the submitter frees it (a synchronous submit) */
	bool bulk;                 /* a queued re-render (config change, resync): never
				    * refused, and not counted against phones' queue_max */
	char mac[18];
	char ip[64];
	char prefer[64];           /* plugin name, resolved in the batch's snapshot */
	struct pp_devinfo di;
	bool has_di;
	struct apply a;            /* inputs set by the submitter (mac, ip, di and
				      prefer are pointed at by the worker) */
	struct pp_blob *fill;      /* the parked request that made this job: gets its
				      file from the render, no second look needed */
	const struct pp_actor *who;/* JOB_DELETE */
	json_t *deleted;           /* JOB_DELETE: the record removed */
	int rc;
	struct pp_err *err_out;    /* set: gets a.err when the job failed (before its waiters run) */
	struct waiter *waiters;
	struct job *next, *hnext;
};

struct job *job_new(enum job_kind kind, const char *mac);
void job_free(struct job *j);
/* Queue j. With fn: asynchronous; fn(ctx, rc) runs on the worker after the
 * batch holding j is durable; returns PP_OK (queued), PP_EBUSY (queue full:
 * fn will not be called, j freed) or PP_EIO (stopping, j freed). Without fn:
 * the caller waits, j stays the caller's (job_free), returns j->rc. Without
 * a worker thread (the CLI) the job runs at once in the caller's thread. */
int prov_submit(struct pp_prov *p, struct job *j, pp_prov_done_fn fn, void *ctx);

/* A finished transfer to record (last_seen, provisioned, file.fetched). */
struct done_rec {
	char mac[18];
	char ip[46];
	char *path;
	uint64_t bytes;
	int proto;
	bool trigger;
	int64_t at;
	struct done_rec *next;
};
/* Queue a record (dropped and counted when the queue is full). */
void prov_submit_done(struct pp_prov *p, struct done_rec *d);
/* The transaction body recording one transfer. */
int done_txn(struct pp_txn *t, struct done_rec *d, bool *provisioned);

int prov_worker_start(struct pp_prov *p);

/* The disk mirror (mirror.c): make one path of <data_dir>/tftpboot what
 * LMDB holds now (written, or removed when LMDB has no such file): queued
 * for the mirror thread, or at once (_now, and without a mirror thread). */
struct mirror;
int prov_mirror_start(struct pp_prov *p);
void prov_mirror_stop(struct pp_prov *p);
void prov_mirror_path(struct pp_prov *p, const char *path);
/* _now: 0, or the errno of the failed write (logged as render.disk_failed) */
int prov_mirror_path_now(struct pp_prov *p, const char *path);

/* ---- helpers ------------------------------------------------------------ */

/* The message of a failed store write in err (kept unless the cause is a
 * system error of the commit): "store: no space left on device (data_dir
 * ...)" when the commit failed with one, else pp_strerror(rc). */
void prov_store_err(const struct pp_config *cfg, int rc, struct pp_err *err);

const char *prov_jstr(const json_t *o, const char *k);
void prov_dev_to_info(const json_t *dev, struct pp_devinfo *di);
/* The device's effective config without the plugin's autoprov default: the
 * general settings of cfg (config.h) less the keys the device's plugin's
 * autoprov sets (it wins over them), then its config chain merged over
 * them. NULL when empty. cfg and reg may be NULL (no general settings). */
/* roles.c: config roles (default, autocreate, transient) and provd's device
 * fields. prov_device_compat_field: 1 (a provd field, accepted), 0 (not
 * one), or an error code with err set. */
int prov_device_compat_field(const char *k, const json_t *v, struct pp_err *err);
/* The config holding `role` other than `skip`: PP_OK (id set), PP_ENOENT. */
int prov_role_find(struct pp_txn *t, const char *role, const char *skip, char id[136]);
int prov_roles_on_create(struct pp_prov *p, struct pp_txn *t, json_t *dev, const char *mac,
			 bool phone);
int prov_roles_on_delete(struct pp_txn *t, const json_t *dev, const char *mac);
void prov_line1_username(struct pp_txn *t, const json_t *dev, char *out, size_t n);

int prov_resolve_config(struct pp_txn *t, const struct pp_config *cfg,
			const struct pp_registry *reg, const json_t *dev, json_t **out);
/* That general layer alone (new reference, NULL when empty). */
json_t *prov_general_layer(const struct pp_config *cfg, const struct pp_plugin *p);
/* Is the stored render of dev still what its inputs give? */
bool prov_dev_fresh(const struct pp_registry *reg, const json_t *dev, const json_t *config);
/* Append an event {mac, plugin?, source?}. */
int prov_event(struct pp_txn *t, const char *type, const char *mac, const char *plugin,
	       const char *source);
/* Remove the device's rendered files: from LMDB (in the txn) and, after the
 * commit, from disk. */
int prov_forget_txn(struct pp_txn *t, const json_t *dev);
void prov_forget_disk(struct pp_prov *p, const json_t *dev);
/* Phone types (flavor.c, docs/flavors.md). */
/* An administrator's write: dev's `extra` checked against its phone type's
 * schema and replaced by the stored form (defaults filled in). */
int prov_check_extra(const struct pp_registry *reg, json_t *dev, struct pp_err *err);
/* dev's `prevent_sip` from its phone type under plugin p (removed without one). */
void prov_set_prevent_sip(const struct pp_registry *reg, json_t *dev, const struct pp_plugin *p);
/* prov_event with the device's phone_type and prevent_sip. */
int prov_event_dev(struct pp_txn *t, const char *type, const char *mac, const json_t *dev,
		   const char *plugin, const char *source);
/* Add the phone type's layer to a resolved config (codecs, extra,
 * phone_type); returns config (a new object when config was NULL). */
json_t *prov_type_layer(const struct pp_registry *reg, const json_t *dev, json_t *config);
/* The plugin of dev's phone type (plugin p first), NULL without one. */
const struct pp_plugin *prov_type_plugin(const struct pp_registry *reg, const json_t *dev,
					 const struct pp_plugin *p);
/* Has p, or the plugin of dev's phone type, lifecycle hooks? */
bool prov_hooks_wanted(const struct pp_registry *reg, const json_t *dev,
		       const struct pp_plugin *p);
/* The effective config a hook of p sees: p's autoprov <- base (new). */
json_t *prov_hook_config(const struct pp_plugin *p, const json_t *base);
/* Hooks of a plugin for a device event (after the commit). */
void prov_hooks(const struct apply *a);
/* JOB_DELETE's transaction body and after-commit step (admin.c). */
int delete_txn(struct pp_txn *t, struct job *j);
void delete_after(struct pp_prov *p, struct job *j);

#endif
