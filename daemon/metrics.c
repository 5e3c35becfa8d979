/* The process-wide counters. */
#include "metrics.h"

struct pp_metrics pp_metrics;
