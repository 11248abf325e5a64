/*  =========================================================================
    qcache - query results kept for a few seconds, computed once

    Twenty people opening the same overview run the same hundred small
    queries; on a collector host the CPU they take is CPU the ingest does
    not get, and every query is a read transaction. Results are kept for
    ttl seconds (wanqi-web --cache-seconds, default 15) keyed by query
    name and parameters, so a page is at most that old; and while one
    request computes a result, the others asking for it wait for that one
    (dash_qcache_acquire) instead of running the same query beside it.
    Kept results are shared, read-only, counted references (no copy per
    request: a city's ledger is tens of thousands of rows). Thread safe; a
    fixed number of entries, the oldest idle one replaced first.
    =========================================================================
*/
#ifndef WQ_DASH_QCACHE_H_INCLUDED
#define WQ_DASH_QCACHE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "common/table.h"
#include "proto/msg.h"

typedef struct dash_qcache_t dash_qcache_t;
typedef struct dash_qref_t dash_qref_t;   /* a shared result; see dash_qref_table */

/*  New cache of `entries` results kept ttl_seconds (0: never kept, and no
    request waits for another). NULL on no memory. */
dash_qcache_t *dash_qcache_new(size_t entries, unsigned ttl_seconds);
void dash_qcache_destroy(dash_qcache_t **self);

/*  The result of (name, params), shared:
    - a fresh one is kept: returns a reference to it (*claim false);
    - another thread is computing it: waits for that thread (at most
      wait_seconds), then as above;
    - else returns NULL; *claim true means the caller now computes it and
      must hand it over with dash_qcache_publish (or dash_qcache_abandon on
      failure): other threads asking meanwhile wait for it. *claim false
      (ttl 0, no memory, no slot free, the wait ran out): compute it
      without the cache.
    Release every returned reference with dash_qcache_release. */
dash_qref_t *dash_qcache_acquire(dash_qcache_t *self, const char *name, const wq_param_t *p,
                                 size_t n, unsigned wait_seconds, bool *claim);

/*  Hand over t (the cache owns it from now on, whatever happens) as the
    result of the claimed (name, params); wakes the waiters. Returns a
    reference for the caller, or NULL on no memory (t is then destroyed). */
dash_qref_t *dash_qcache_publish(dash_qcache_t *self, const char *name, const wq_param_t *p,
                                 size_t n, wq_table_t *t);

/*  Give up a claim (the query failed): the waiters compute it themselves. */
void dash_qcache_abandon(dash_qcache_t *self, const char *name, const wq_param_t *p, size_t n);

/*  The table of a reference: read-only, valid until the reference is released. */
const wq_table_t *dash_qref_table(const dash_qref_t *ref);

/*  Drop a reference (NULL: nothing); *ref becomes NULL. */
void dash_qcache_release(dash_qcache_t *self, dash_qref_t **ref);

/*  A fresh copy of the result of (name, params), or NULL if none is kept
    (or no memory). Never waits. */
wq_table_t *dash_qcache_get(dash_qcache_t *self, const char *name, const wq_param_t *p, size_t n);

/*  Keep a copy of t as the result of (name, params); silently nothing on
    no memory or when every entry is being computed. */
void dash_qcache_put(dash_qcache_t *self, const char *name, const wq_param_t *p, size_t n,
                     const wq_table_t *t);

/*  Results computed (published) and requests that waited for one, since start. */
void dash_qcache_counts(dash_qcache_t *self, uint64_t *computed, uint64_t *waited);

/*  A copy of t, or NULL on no memory. */
wq_table_t *dash_table_copy(const wq_table_t *t);

#endif
