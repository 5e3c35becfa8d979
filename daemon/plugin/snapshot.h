/* Snapshots: one immutable view of configuration + plugin registry, shared
 * by every thread. SIGHUP builds a new one and swaps it in; readers keep the
 * one they acquired until they release it.
 *
 * Freeing a snapshot runs the plugins' `fini` hooks (and dlclose), so it
 * happens on one known thread, the holder's owner: a release that drops the
 * last reference of a retired snapshot only wakes the owner (an eventfd),
 * and the owner frees it in pp_snaps_reap(). A holder created without an
 * owner thread (the CLI: one thread) frees inline instead.
 *
 * Thread rules: acquire/release from any thread; swap, reap and fini from
 * the owner thread only. */
#ifndef PP_SNAPSHOT_H
#define PP_SNAPSHOT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "daemon/config/config.h"
#include "daemon/plugin/plugin.h"

struct pp_snaps;

struct pp_snapshot {
	struct pp_config *cfg;    /* owned */
	struct pp_registry *reg;  /* owned; NULL until the registry is loaded */
	atomic_int refs;
	uint64_t generation;
	struct pp_snaps *holder;  /* set by pp_snaps_swap */
	struct pp_snapshot *next; /* retired list */
};

struct pp_snaps {
	pthread_mutex_t lock;
	struct pp_snapshot *cur;     /* holds one reference */
	struct pp_snapshot *retired; /* swapped out, freed by pp_snaps_reap */
	int wake_fd;                 /* eventfd, -1 = free inline (no owner thread) */
};

/* deferred: frees happen on the owner thread (pp_snaps_reap), woken through
 * pp_snaps_fd(); otherwise the last release frees inline. */
int pp_snaps_init(struct pp_snaps *h, bool deferred);
/* Free the current and every retired snapshot (owner thread, after every
 * other thread released its references). */
void pp_snaps_fini(struct pp_snaps *h);

/* A new snapshot taking over cfg and reg (either may be NULL). */
struct pp_snapshot *pp_snapshot_new(struct pp_config *cfg, struct pp_registry *reg);
/* Take / drop a reference on the current snapshot (NULL before the first
 * swap or after fini). The pointer stays valid until released. */
struct pp_snapshot *pp_snaps_acquire(struct pp_snaps *h);
void pp_snapshot_release(struct pp_snapshot *s);
/* Install s (takes ownership) as current; the previous one is retired. */
void pp_snaps_swap(struct pp_snaps *h, struct pp_snapshot *s);
/* Owner thread: free the retired snapshots nobody uses any more. Returns how
 * many are still in use. */
size_t pp_snaps_reap(struct pp_snaps *h);
/* Readable (poll) when a retired snapshot became free; -1 without owner. */
int pp_snaps_fd(const struct pp_snaps *h);

#endif
