/* Process-wide counters, exported by GET /api/v1/metrics (Prometheus text).
 * Add a field where your module needs one; update metrics export in the API. */
#ifndef PP_METRICS_H
#define PP_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

/* A latency histogram (Prometheus histogram): one counter per bucket (not
 * cumulative here; the exporter adds them up), the count and the sum. */
#define PP_HIST_BUCKETS 16
extern const double pp_hist_bounds_s[PP_HIST_BUCKETS]; /* upper bounds, seconds */

struct pp_hist {
	atomic_ullong bucket[PP_HIST_BUCKETS + 1]; /* the last one: above every bound */
	atomic_ullong count;
	atomic_ullong sum_us;
};

/* Record one duration (nanoseconds). Any thread. */
void pp_hist_observe(struct pp_hist *h, uint64_t ns);

struct pp_proto_metrics {
	atomic_ullong requests;  /* requests received (RRQ, GET/HEAD, API calls) */
	atomic_ullong bytes;     /* payload bytes sent */
	atomic_ullong transfers; /* transfers completed successfully */
	atomic_ullong errors;    /* requests answered with an error / aborted */
	atomic_ullong refused;   /* unsafe paths, bans, auth failures */
	struct pp_hist duration; /* request to last byte: TFTP transfer, HTTP/API request */
};

struct pp_metrics {
	struct pp_proto_metrics tftp, http, api;
	atomic_ullong dhcp_packets;   /* packets seen by the sniffer */
	atomic_ullong dhcp_malformed; /* dropped as malformed */
	atomic_ullong renders;        /* per-device files rendered */
	atomic_ullong render_errors;
	atomic_ullong bans;           /* clients banned by the unknown-MAC limit */
	atomic_ullong prov_batches;   /* write transactions of the provisioning worker */
	atomic_ullong prov_jobs;      /* device changes applied in them */
	atomic_ullong prov_coalesced; /* phones' requests that joined a queued change */
	atomic_ullong prov_queue_full;/* requests told to come back (queue full) */
	atomic_ullong prov_done_dropped; /* finished transfers not recorded (queue full) */
	atomic_ullong prov_parked;    /* requests parked until their change was durable */
	atomic_ullong mirror_errors;  /* disk mirror writes that failed */
	/* gauges */
	atomic_llong prov_pending;    /* device changes queued or in the running batch */
	atomic_llong mirror_pending;  /* paths queued for the disk mirror or being written */
};

extern struct pp_metrics pp_metrics;

#define PP_COUNT(field, n) atomic_fetch_add_explicit(&pp_metrics.field, (n), memory_order_relaxed)

#define PP_GAUGE_ADD(field, n) atomic_fetch_add_explicit(&pp_metrics.field, (n), memory_order_relaxed)

#endif
