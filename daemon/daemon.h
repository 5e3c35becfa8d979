/* The running daemon: configuration and plugin registry snapshot, the store,
 * and the listener threads. The CLI builds the same struct (without threads)
 * so that the pipeline runs identically offline (import-pcap, render). */
#ifndef PP_DAEMON_H
#define PP_DAEMON_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "common.h"
#include "config.h"

struct pp_store;
struct pp_registry;

/* An immutable view of configuration + plugins. SIGHUP builds a new one and
 * swaps it in; the old one is freed when its last user releases it. */
struct pp_snapshot {
	struct pp_config *cfg;
	struct pp_registry *reg; /* may be NULL until the plugin registry loads */
	atomic_int refs;
	uint64_t generation;
};

struct pp_daemon {
	struct pp_store *store;
	pthread_mutex_t snap_lock;
	struct pp_snapshot *snap;
	atomic_bool running;     /* false once a stop was asked */
	int tftp_rootfd;         /* O_PATH|O_DIRECTORY fds of the static roots */
	int http_rootfd;
	int render_dirfd;        /* <data_dir>/tftpboot: rendered files on disk */
	void *ban;               /* unknown-MAC brute-force limiter (registry module) */
};

/* Take / drop a reference on the current snapshot (never NULL after start). */
struct pp_snapshot *pp_daemon_acquire(struct pp_daemon *d);
void pp_snapshot_release(struct pp_snapshot *s);
/* Install a new snapshot (takes ownership). */
void pp_daemon_swap(struct pp_daemon *d, struct pp_snapshot *s);

/* Create the data folders, open the store and the root fds, load the plugin
 * registry (logging problems) into a first snapshot. cfg is taken over. */
int pp_daemon_init(struct pp_daemon *d, struct pp_config *cfg, struct pp_err *err);
void pp_daemon_fini(struct pp_daemon *d);

/* Listener threads. Each *_start binds its sockets synchronously (so that a
 * bind error is reported before READY=1) and then runs its own thread(s).
 * *_stop asks the thread to finish, aborts what is in flight, joins, frees.
 * A module that is switched off by config returns PP_OK with *out = NULL. */
struct pp_tftp;
int pp_tftp_start(struct pp_daemon *d, struct pp_tftp **out, struct pp_err *err);
void pp_tftp_stop(struct pp_tftp *t);

struct pp_http;
int pp_http_start(struct pp_daemon *d, struct pp_http **out, struct pp_err *err);
void pp_http_stop(struct pp_http *h);

struct pp_api;
int pp_api_start(struct pp_daemon *d, struct pp_api **out, struct pp_err *err);
void pp_api_stop(struct pp_api *a);

struct pp_sniffer;
int pp_sniffer_start(struct pp_daemon *d, struct pp_sniffer **out, struct pp_err *err);
void pp_sniffer_stop(struct pp_sniffer *s);

struct pp_jobs; /* plugin jobs and call-record monitors */
int pp_jobs_start(struct pp_daemon *d, struct pp_jobs **out, struct pp_err *err);
void pp_jobs_stop(struct pp_jobs *j);

#endif
