/* The running daemon: configuration and plugin registry snapshot, the store,
 * and the listener threads. The CLI builds the same struct (without threads)
 * so that the pipeline runs identically offline (import-pcap, render). */
#ifndef PP_DAEMON_H
#define PP_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "lib/common.h"
#include "daemon/config/config.h"

#include "daemon/plugin/snapshot.h"
#include "daemon/provision/provision.h"

struct pp_store;
struct pp_sockact;

struct pp_daemon {
	struct pp_store *store;
	struct pp_snaps snaps;   /* configuration + plugin registry */
	struct pp_prov *prov;    /* every device change goes through it */
	atomic_bool running;     /* false once a stop was asked */
	int tftp_rootfd;         /* O_PATH|O_DIRECTORY fds of the static roots */
	int http_rootfd;
	int render_dirfd;        /* <data_dir>/tftpboot: rendered files on disk */
	struct pp_sockact *sockact; /* sockets systemd bound for us (phoneprovd), or NULL */
	bool snaps_ready;
};

/* Take / drop a reference on the current snapshot (never NULL after init). */
static inline struct pp_snapshot *pp_daemon_acquire(struct pp_daemon *d)
{
	return pp_snaps_acquire(&d->snaps);
}

/* pp_daemon_init flags */
#define PP_DAEMON_THREADED 1u /* retired snapshots are freed by the main thread
				 (pp_snaps_reap), never by a serving thread */

#define PP_DAEMON_DEFER_HOOKS 2u /* load the plugins' C hooks later, with
				    pp_daemon_load_hooks */

/* Create the data folders, open the store and the root fds, load the plugin
 * registry into a first snapshot, create the provisioning module. cfg is
 * taken over (also on failure). On failure pp_daemon_fini cleans up. */
int pp_daemon_init(struct pp_daemon *d, struct pp_config *cfg, unsigned flags,
		   struct pp_err *err);
/* Load the plugins' C hooks (dlopen + init) into the registry of the first
 * snapshot. phoneprovd calls it after binding its sockets and dropping its
 * privileges, before any thread serves: no plugin module is ever loaded with
 * a capability held, and no thread sees the registry change. */
int pp_daemon_load_hooks(struct pp_daemon *d, struct pp_err *err);
void pp_daemon_fini(struct pp_daemon *d);

/* Listeners. Each *_start binds its sockets (the privileged step, so that a
 * bind error is reported before READY=1 and capabilities can be dropped
 * right after); *_run starts serving on its own thread(s); *_stop asks the
 * threads to finish, aborts what is in flight, joins, frees (also when it
 * never ran). A module switched off by config returns PP_OK, *out = NULL. */
struct pp_tftp;
int pp_tftp_start(struct pp_daemon *d, struct pp_tftp **out, struct pp_err *err);
int pp_tftp_run(struct pp_tftp *t, struct pp_err *err);
void pp_tftp_stop(struct pp_tftp *t);

struct pp_http;
int pp_http_start(struct pp_daemon *d, struct pp_http **out, struct pp_err *err);
int pp_http_run(struct pp_http *h, struct pp_err *err);
void pp_http_stop(struct pp_http *h);
/* The HTTPS listener (https.listen; *out NULL when off): the same file
 * server over TLS. Start fails with a clear error on a bad certificate or
 * key. pp_http_run / pp_http_stop run and stop it. */
int pp_https_start(struct pp_daemon *d, struct pp_http **out, struct pp_err *err);
/* SIGHUP: re-read https.cert / https.key (and the client CA); new
 * handshakes use them, open connections keep theirs. A bad pair is logged
 * (https.reload_failed) and the running one stays. */
struct pp_config;
void pp_https_reload(struct pp_http *h, const struct pp_config *cfg);

struct pp_api;
int pp_api_start(struct pp_daemon *d, struct pp_api **out, struct pp_err *err);
int pp_api_run(struct pp_api *a, struct pp_err *err);
void pp_api_stop(struct pp_api *a);

struct pp_jobs; /* plugin jobs and call-record monitors */
int pp_jobs_start(struct pp_daemon *d, struct pp_jobs **out, struct pp_err *err);
void pp_jobs_stop(struct pp_jobs *j);
/* A new snapshot was installed (SIGHUP): the jobs thread takes it now, and
 * the call-record monitors follow it (started, stopped, restarted). */
void pp_jobs_kick(struct pp_jobs *j);

#endif
