/*  =========================================================================
    dash - the province dashboard's pages (wanqi-web)

    Every page runs the collector's named queries (collector/queries.h,
    through wq_central_query on a READ-ONLY store: central.h) in short read
    transactions, clamps the area to the account's (scope.h), and renders
    a table in Chinese (labels.h) — with a Chart.js chart where one helps —
    or the same table as CSV or .xlsx (export.h) when ?format= asks.
    Pages: / 全省概览, /problems 问题台账, /enterprises and /enterprise/CODE
    企业 and 一企一册, /sync 同步状态, /quarantine 隔离与待补, /metrics.
    docs/DASHBOARD.md describes them.
    =========================================================================
*/
#ifndef WQ_DASH_H_INCLUDED
#define WQ_DASH_H_INCLUDED

#include "collector/central.h"
#include "collector/dash/metrics.h"
#include "collector/dash/qcache.h"
#include "web/server.h"

#define DASH_PAGE_ROWS_DEFAULT 200

typedef struct {
    wq_central_t *central;      /* opened read-only */
    const char *peers_path;     /* the collector's authorized peers (read per request) */
    const char *tmpdir;         /* for .xlsx files being written */
    unsigned silent_days;       /* agents silent longer are shown in red */
    dash_metrics_t *metrics;
    dash_qcache_t *cache;       /* recent results (qcache.h) */
    unsigned page_rows;         /* rows on a page of the ledger and the enterprise
                                   search (0: DASH_PAGE_ROWS_DEFAULT); exports have all */
} dash_app_t;

/*  Add every route of the dashboard to web. Errors as wq_web_route. */
int dash_routes(wq_web_t *web, dash_app_t *app, wq_err_t *err);

#endif
