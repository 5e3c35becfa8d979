/* The call-record monitor runtime (issue 17, DESIGN §1 and §6): a PBX writes
 * one call record per call on a serial line or a TCP connection; a monitor
 * reads them, turns each into a JSON record and stores it (records database
 * and a `record` event), in batches of one LMDB write transaction.
 *
 * The pieces, each usable alone:
 *  - definitions (plugin.yml `monitors:` merged with plugins.settings) and
 *    the parser (bytes in, records out, no I/O) belong to the plugin module:
 *    daemon/plugin/plugin.h;
 *  - this runtime: one thread per running monitor (serial, tcp, tcp-listen,
 *    or a plugin's C run() hook), reconnecting with backoff, following the
 *    registry across SIGHUP; the jobs thread (daemon/jobs.c) drives it;
 *  - stored records (records.h): batches, filtered queries, CSV, the bell.
 *
 * The runtime is a service of its own (threads, sockets, serial lines, no
 * caller to hand an error to): it logs one line per event (monitor.*), as
 * the other services do. Functions return PP_OK or a negative PP_E* code
 * (lib/common.h). */
#ifndef PP_MONITOR_H
#define PP_MONITOR_H

#include <stddef.h>

#include "lib/common.h"

struct pp_store;
struct pp_snapshot;
struct pp_monitors;

/* The set of running monitors storing into st (none until the first sync). */
int pp_monitors_new(struct pp_store *st, struct pp_monitors **out);
/* Make the running monitors match snapshot s: start the monitors that have
 * an endpoint (or a C run() hook), stop the ones removed or disabled, restart
 * the ones whose definition or settings changed (the stopped thread stores
 * every record it has read first), leave the unchanged ones alone. A monitor
 * without endpoint is logged once (info) and costs nothing else. One thread
 * at a time (the jobs thread). */
void pp_monitors_sync(struct pp_monitors *m, struct pp_snapshot *s);
/* Stop every monitor (records read are stored) and free. */
void pp_monitors_free(struct pp_monitors *m);
/* Monitors running now. */
size_t pp_monitors_running(const struct pp_monitors *m);

/* Append the monitors' Prometheus metrics (records, unparsed, connections,
 * connection failures, up) to b. Any thread. */
void pp_monitors_metrics(struct pp_buf *b);

#endif
