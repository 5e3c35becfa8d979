/* Process-wide counters, exported by GET /api/v1/metrics (Prometheus text).
 * Add a field where your module needs one; update metrics export in the API. */
#ifndef PP_METRICS_H
#define PP_METRICS_H

#include <stdatomic.h>

struct pp_proto_metrics {
	atomic_ullong requests;  /* requests received (RRQ, GET/HEAD, API calls) */
	atomic_ullong bytes;     /* payload bytes sent */
	atomic_ullong transfers; /* transfers completed successfully */
	atomic_ullong errors;    /* requests answered with an error / aborted */
	atomic_ullong refused;   /* unsafe paths, bans, auth failures */
};

struct pp_metrics {
	struct pp_proto_metrics tftp, http, api;
	atomic_ullong dhcp_packets;   /* packets seen by the sniffer */
	atomic_ullong dhcp_malformed; /* dropped as malformed */
	atomic_ullong renders;        /* per-device files rendered */
	atomic_ullong render_errors;
	atomic_ullong bans;           /* clients banned by the unknown-MAC limit */
};

extern struct pp_metrics pp_metrics;

#define PP_COUNT(field, n) atomic_fetch_add_explicit(&pp_metrics.field, (n), memory_order_relaxed)

#endif
