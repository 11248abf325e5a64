/*  =========================================================================
    verify - recompute everything derived from the events alone, in one
    pass, and compare it with what the store holds

    The store keeps, besides the events, what ingest derived from them
    incrementally: the entity index, the pending table, the enterprise
    links, each entity's folded state, the counters (views), the marks and
    the totals in meta. verify recomputes all of it from the events (and
    the operator's transfers) in one read transaction and reports every
    difference, one line each; one corrupted counter, state or mark is
    exactly one difference. docs/STORE.md "Verify" lists the checks.

    It scans the stored events once, in key order, decodes each once (per
    entity, while the entity index is walked), and folds every entity in
    memory from the records just decoded (fold.h wq_fold_compute_owned),
    never loading an entity through the index: its cost is a small
    multiple of scanning and decoding the events (bench/ceilings "scan",
    "verify"), its memory about 50 bytes per event plus one entity's
    records and the counters.
    =========================================================================
*/
#ifndef WQ_VERIFY_H_INCLUDED
#define WQ_VERIFY_H_INCLUDED

#include <stdint.h>
#include <stdio.h>
#include "common/error.h"

typedef struct wq_central_t wq_central_t;

/*  Recompute every view from the stored events in one read transaction
    and compare with the incremental views. Writes each difference as a
    line to report (may be NULL) and its count to *differences. Returns
    WQ_OK when the comparison ran (even with differences), else an error:
    WQ_E_IO (LMDB, the text says which call), WQ_E_NOMEM (the decoded
    events do not fit in memory). *differences is 0 on error. */
int wq_central_verify(wq_central_t *self, FILE *report, uint64_t *differences, wq_err_t *err);

/*  The same with the entity index walked by `threads` threads (at most 2;
    wq_central_verify uses 2 when the machine has more than one CPU), each
    its part of the index's key space in its own read transaction on the
    same snapshot; the report and the count are the same whatever the
    number (the second part's lines follow the first's, as one thread
    writes them). Falls back to one thread when a second cannot start or
    no second transaction on the same snapshot can be had. */
int wq_central_verify_threads(wq_central_t *self, int threads, FILE *report, uint64_t *differences,
                              wq_err_t *err);

#endif
