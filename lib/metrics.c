/* The process-wide counters and the request duration histograms. */
#include "metrics.h"

#include <stddef.h>

struct pp_metrics pp_metrics;

/* From half a millisecond (a cached HTTP answer) to a minute (a firmware
 * image over TFTP on a slow link). */
const double pp_hist_bounds_s[PP_HIST_BUCKETS] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
						   0.05,   0.1,   0.25,   0.5,   1,    2.5,
						   5,      10,    30,     60 };

void pp_hist_observe(struct pp_hist *h, uint64_t ns)
{
	double s = (double)ns / 1e9;
	size_t i = 0;

	while (i < PP_HIST_BUCKETS && s > pp_hist_bounds_s[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, ns / 1000, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}
