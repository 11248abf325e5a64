/*  =========================================================================
    qcache - query results kept for a few seconds

    Twenty people opening the same overview run the same hundred small
    queries; on a collector host the CPU they take is CPU the ingest does
    not get. Results are kept for ttl seconds (wanqi-web --cache-seconds,
    default 15) keyed by query name and parameters, so a page is at most
    that old. Callers get their own copy of the table. Thread safe; a fixed
    number of entries, the oldest replaced first.
    =========================================================================
*/
#ifndef WQ_DASH_QCACHE_H_INCLUDED
#define WQ_DASH_QCACHE_H_INCLUDED

#include "common/table.h"
#include "proto/msg.h"

typedef struct dash_qcache_t dash_qcache_t;

/*  New cache of `entries` results kept ttl_seconds (0: never kept). NULL
    on no memory. */
dash_qcache_t *dash_qcache_new(size_t entries, unsigned ttl_seconds);
void dash_qcache_destroy(dash_qcache_t **self);

/*  A fresh copy of the result of (name, params), or NULL if none is kept
    (or no memory). */
wq_table_t *dash_qcache_get(dash_qcache_t *self, const char *name, const wq_param_t *p, size_t n);

/*  Keep a copy of t as the result of (name, params); silently nothing on
    no memory. */
void dash_qcache_put(dash_qcache_t *self, const char *name, const wq_param_t *p, size_t n,
                     const wq_table_t *t);

/*  A copy of t, or NULL on no memory. */
wq_table_t *dash_table_copy(const wq_table_t *t);

#endif
