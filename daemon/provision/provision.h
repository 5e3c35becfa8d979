/* Provisioning: the ONE place where device state changes.
 *
 * Every change to a device goes through this module, whoever asks: a phone
 * fetching a file (TFTP/HTTP threads), a DHCP packet (sniffer thread), the
 * REST API, the CLI. Changes are jobs in one queue that one worker thread
 * applies in batches (worker.c): a batch is one LMDB write transaction
 * holding the device records, their rendered files and their events (one
 * fsync for the lot); then the disk mirror of the rendered files is brought
 * up to date; then the plugins' hooks are called; then the requests that
 * waited are resumed. One writer means changes of a device never interleave:
 * the disk ends in the state of the last commit and hooks see changes in
 * commit order. The serving threads never wait for the worker: a request
 * that needs a change is parked and resumed (pp_prov_fetch).
 *
 * Hooks (daemon/plugin/hooks.h), after the commit, exactly once per change:
 *   on_device_create  the device enters a plugin (created with a plugin, or
 *                     associated with one for the first time / a new one);
 *   on_device_update  a change of a device that stays with its plugin;
 *   on_device_delete  the device leaves its plugin (deleted, or associated
 *                     with another one).
 * A refresh that changes nothing but last_seen is not a change.
 *
 * Consistency of rendered files: LMDB is the source of truth and commits
 * first; the disk copies under <data_dir>/tftpboot are written afterwards
 * (temporary name and rename: never a torn file; no fsync per file), and the
 * start-up resync (pp_prov_resync) repairs whatever a crash left behind.
 *
 * Thread rules: every function may be called from any thread at the same
 * time. Returned JSON is owned by the caller. */
#ifndef PP_PROVISION_H
#define PP_PROVISION_H

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>

#include "daemon/plugin/snapshot.h"
#include "extractors/extract.h"
#include "lib/common.h"
#include "lib/safepath.h"

struct pp_store;
struct pp_prov;

struct pp_prov_opts {
	struct pp_store *store;   /* borrowed */
	struct pp_snaps *snaps;   /* borrowed: configuration + registry */
	int render_dirfd;         /* <data_dir>/tftpboot (borrowed), -1 = no disk mirror */
	bool threaded;            /* run a worker thread (phoneprovd); else every change
				     runs in the caller's thread (the CLI) */
	size_t queue_max;         /* phones' changes waiting at most (0: 8192) */
};

int pp_prov_new(const struct pp_prov_opts *o, struct pp_prov **out, struct pp_err *err);
/* Finish every queued change (its waiters are called) and stop the worker:
 * before the services that parked requests stop. Idempotent. */
void pp_prov_stop(struct pp_prov *p);
void pp_prov_free(struct pp_prov *p);

/* Start-up resync: make the disk mirror equal to LMDB (missing or different
 * files written, files LMDB does not have and temporary files of a crash
 * removed), store every plugin's common files, and queue a re-render of
 * every device whose render is stale (a config change a crash interrupted).
 * Counts in *out (may be NULL): {"written", "removed", "temp", "stale"}. */
int pp_prov_resync(struct pp_prov *p, json_t **out);

/* ---- phones: requests and DHCP ------------------------------------------ */

enum pp_proto { PP_PROTO_TFTP = 0, PP_PROTO_HTTP = 1, PP_PROTO_DHCP = 2 };

struct pp_request {
	enum pp_proto proto;
	const char *path;       /* as requested, protocol-decoded (HTTP: percent-decoded) */
	size_t path_len;        /* may contain NUL bytes: they are refused */
	const char *user_agent; /* HTTP only, else NULL */
	const char *peer_ip;    /* client address, text */
	int rootfd;             /* static tree to fall back to */
	bool no_park;           /* answer from what is stored, never queue a change
				   (the second look of a request that was parked) */
	bool bad_key;           /* HTTP: the path did not start with provisioning.url_key:
				   refused, and counted by the ban like an unknown MAC */
};

/* What to send. Exactly one of fd >= 0 (a static file) or data (rendered
 * bytes, malloc'd copy) is set. */
struct pp_blob {
	int fd;
	unsigned char *data;
	uint64_t size;
	int64_t mtime_ms;
	char etag[48];             /* quoted; rendered files: the store's content hash */
	char path[PP_PATH_MAX];    /* normalised relative path */
	char mac[18];              /* device it was rendered for, "" for static files */
	int trigger;               /* fetching it marks the device provisioned */
};

/* A parked request's completion: called once, on the worker thread, when
 * the change it waited for is durable (rc PP_OK) or failed. Must not block.
 * When rc is PP_OK and the blob given to pp_prov_fetch holds data now, that
 * is the answer (the file just rendered); otherwise the caller calls
 * pp_prov_fetch again (with no_park), which answers from LMDB. */
typedef void (*pp_prov_done_fn)(void *ctx, int rc);

/* Look the request up: identify, and answer the device's rendered file, a
 * plugin's common file or the static tree. A request that needs the device
 * created, updated or re-rendered first (a new phone, changed facts, a stale
 * render) is queued: with `done` the call returns PP_EAGAIN at once and
 * done(ctx, rc) follows; without `done` it waits (CLI, tests). A known,
 * fresh device or a static file never touches the write path. Returns PP_OK
 * (out filled), PP_ENOENT, PP_EAGAIN (parked), PP_EBUSY (the queue is full:
 * tell the phone to come back), or PP_EACCES (unsafe path, banned client)
 * with *reason a short static text for logs. */
int pp_prov_fetch(struct pp_prov *p, const struct pp_request *rq, struct pp_blob *out,
		  const char **reason, pp_prov_done_fn done, void *ctx);
void pp_blob_release(struct pp_blob *b);

/* A transfer of b completed (`bytes` sent): records the fetch and marks the
 * device provisioned when b->trigger, in the next batch (never waits). */
void pp_prov_done(struct pp_prov *p, const struct pp_request *rq, const struct pp_blob *b,
		  uint64_t bytes);

/* A DHCP observation: device created/updated, associated, files rendered,
 * queued (PP_OK, or PP_EBUSY when the queue is full; without a worker thread
 * it is applied at once and its code returned). */
int pp_prov_dhcp(struct pp_prov *p, const struct pp_dhcp_facts *f);

/* ---- administrators: API and CLI ---------------------------------------- */

/* Who asks for a change: `source` goes into events ("api", "cli"); `admin`
 * is the right to touch devices of special (admin-only) phone types. */
struct pp_actor {
	const char *source;
	bool admin;
};

enum pp_dev_write {
	PP_DEV_CREATE,   /* a new device (PP_EEXIST when it exists) */
	PP_DEV_REPLACE,  /* replace what clients own, keep what the server owns */
	PP_DEV_PATCH,    /* merge the given fields (null removes one) */
};

/* Types and syntax of a device document (no store access). PP_OK, or
 * PP_EBADREQ (a wrong JSON type) / PP_EINVAL (a bad value) with the field
 * and the reason in err. */
int pp_prov_device_check(const json_t *body, bool partial, struct pp_err *err);

/* Write a device (mac normalised) from a client document, then associate and
 * render it in the same transaction. *out (may be NULL) gets the stored
 * device. Errors, with err->field naming the field: PP_EBADREQ, PP_EINVAL
 * (bad value, unknown plugin/config/phone type), PP_EACCES (special phone
 * type without admin), PP_ENOENT (no such device), PP_EEXIST (exists),
 * PP_EIO. */
int pp_prov_device_write(struct pp_prov *p, const struct pp_actor *who, enum pp_dev_write op,
			 const char *mac, const json_t *body, json_t **out, struct pp_err *err);

/* Delete a device, its IP binding and every file rendered for it (LMDB and
 * disk). PP_OK, PP_ENOENT, PP_EACCES, PP_EIO. */
int pp_prov_device_delete(struct pp_prov *p, const struct pp_actor *who, const char *mac,
			  struct pp_err *err);

/* Re-associate and re-render one device now. PP_OK, PP_ENOENT, or the
 * render error (detail in err, may be NULL). */
int pp_prov_reconfigure(struct pp_prov *p, const char *mac, struct pp_err *err);

/* ---- configs ({id, parent_ids, raw_config, description}) ------------------ */

/* Config ids: 1-128 of A-Z a-z 0-9 _ - and '.' (not first). */
bool pp_prov_valid_config_id(const char *s);

/* Types and syntax of a config document (no store access). PP_OK, or
 * PP_EBADREQ (a wrong JSON type) / PP_EINVAL (a bad value) with the field. */
int pp_prov_config_check(const json_t *body, struct pp_err *err);
/* Inheritance limits of a config written by an administrator (422 past
 * them): configs on its longest path up and distinct configs in its chain,
 * the config itself included. Checked for the config and, when its parents
 * change, for every config that inherits from it. */
#define PP_PROV_CFG_MAX_DEPTH 32
#define PP_PROV_CFG_MAX_CHAIN 256

enum pp_cfg_write {
	PP_CFG_CREATE,   /* a new config (PP_EEXIST when it exists) */
	PP_CFG_REPLACE,  /* replace parent_ids, raw_config, description */
};

/* Write config `id` (NULL: the body's "id") from a client document, in one
 * transaction with its event (source: who->source); parents must exist and
 * not make a cycle. After a replace the devices inheriting from it are
 * re-rendered. *out (may be NULL) gets the stored config. Errors, with
 * err->field: PP_EBADREQ, PP_EINVAL (bad value, unknown parent, cycle),
 * PP_ENOENT (replace: no such config), PP_EEXIST (create: exists), PP_EIO. */
/* rerender (may be NULL): for a replace, the re-render of the devices that
 * use the config (pp_prov_config_changed's report; NULL when none does). */
int pp_prov_config_write(struct pp_prov *p, const struct pp_actor *who, enum pp_cfg_write op,
			 const char *id, const json_t *body, json_t **out, json_t **rerender,
			 struct pp_err *err);

/* Delete a config nobody uses. PP_OK, PP_EBADREQ (bad id), PP_ENOENT,
 * PP_EEXIST (a config inherits from it or a device uses it: err says which). */
int pp_prov_config_delete(struct pp_prov *p, const struct pp_actor *who, const char *id,
			  struct pp_err *err);

/* A config changed: re-render every device whose config inherits from it,
 * waiting for them up to wait_ms. *report (may be NULL; NULL when no device
 * uses it): {"devices": n, "failed": [{"mac", "error"}], "pending": n not
 * done within wait_ms}. */
#define PP_PROV_RERENDER_WAIT_MS 10000
int pp_prov_config_changed(struct pp_prov *p, const char *config_id, unsigned wait_ms,
			   json_t **report);

/* Why a device is what it is: extracted facts, DHCP facts, every plugin's
 * score, the chosen plugin, the config chain and merged config, and each
 * rendered file with its template and ETag. PP_OK or PP_ENOENT. */
int pp_prov_explain(struct pp_prov *p, const char *mac, json_t **out);

#endif
