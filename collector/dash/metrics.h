/*  =========================================================================
    metrics - /metrics in the Prometheus text format

    Operators' figures: from the store (records ingested, batches,
    duplicates absorbed, quarantined, streams; per-agent last contact and
    backlog; store bytes used and map size) read in short read
    transactions like every page, and from this process (a latency
    histogram of the queries the pages ran). Names and the alerts worth
    setting are in docs/DASHBOARD.md.
    =========================================================================
*/
#ifndef WQ_DASH_METRICS_H_INCLUDED
#define WQ_DASH_METRICS_H_INCLUDED

#include "collector/central.h"
#include "web/wbuf.h"

typedef struct dash_metrics_t dash_metrics_t;

dash_metrics_t *dash_metrics_new(void);
void dash_metrics_destroy(dash_metrics_t **self);

/*  Count one query of name that took seconds (thread safe, lock free). */
void dash_metrics_observe(dash_metrics_t *self, const char *name, double seconds);

/*  Write every metric to out. Errors from the store are returned (the
    handler answers 500); out may then hold part of the text. */
int dash_metrics_write(dash_metrics_t *self, wq_central_t *c, wq_wbuf_t *out, wq_err_t *err);

#endif
