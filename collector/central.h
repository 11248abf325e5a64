/*  =========================================================================
    central - the collector's central LMDB store: exactly-once ingest,
    entity folds, incremental aggregate views, queries and verify

    Views are a function of the SET of events. Each event is stored once,
    keyed by its id; each entity (enterprise by credit code, problem by the
    id of the event that opened it, consultation likewise) indexes its
    events; an entity's state is the fold of its events ordered by
    (activity date, agent, inc, seq). When an event arrives the entity is
    re-folded, old and new state are diffed, and the diff is applied to the
    aggregate counters: all in the one write transaction that stores the
    batch. Reads are LMDB read transactions and never block ingest.

    This module knows nothing of sockets: the server (server.c) calls it.
    =========================================================================
*/
#ifndef WQ_CENTRAL_H_INCLUDED
#define WQ_CENTRAL_H_INCLUDED

#include <stdint.h>
#include <stdio.h>
#include "common/error.h"
#include "common/table.h"
#include "common/record.h"
#include "proto/msg.h"

typedef struct wq_central_t wq_central_t;

/*  Open (creating if needed) the store in directory dir, with an LMDB map
    of map_bytes (0: default 8 GiB). Errors: WQ_E_IO (text names the path
    and the LMDB error), WQ_E_CORRUPT, WQ_E_NOMEM. */
int wq_central_open(const char *dir, size_t map_bytes, wq_central_t **out, wq_err_t *err);

/*  Open an existing store in dir READ-ONLY (LMDB MDB_RDONLY environment):
    for wanqi-web, which runs in its own process beside the collector. It
    can never write (LMDB refuses write transactions) and its short read
    transactions never block the collector's writer. Stale reader slots of
    dead processes are cleared (mdb_reader_check). Only wq_central_query,
    wq_central_stats and wq_central_env_info may be used on it. Errors:
    WQ_E_IO (no store there: text says to start the collector first),
    WQ_E_CORRUPT (other format version), WQ_E_NOMEM. */
int wq_central_open_readonly(const char *dir, wq_central_t **out, wq_err_t *err);

/*  Close; sets *self to NULL; safe on NULL. */
void wq_central_destroy(wq_central_t **self);

/*  Store size for operators: bytes in use (last page) and the map size. */
int wq_central_env_info(wq_central_t *self, uint64_t *used_bytes, uint64_t *map_bytes,
                        wq_err_t *err);

/*  Collector's high-water mark for stream (agent, inc): every seq <= *hwm
    is durably stored (or quarantined). 0 for a new stream. */
int wq_central_hwm(wq_central_t *self, const char *agent, uint32_t inc, uint64_t *hwm, wq_err_t *err);

typedef struct {
    uint64_t hwm;                   /* mark after the batch (or current mark on GAP) */
    size_t stored;                  /* new events accepted */
    size_t duplicates;              /* at or below the old mark: dropped */
    size_t nquarantined;            /* quarantined in this batch */
    wq_quarantined_t *quarantined;  /* owned: free with wq_ingest_result_clear */
} wq_ingest_result_t;

/*  Ingest one batch from an authenticated agent (agent id and county come
    from its key, never from the message) in ONE write transaction,
    committed durably before return:
      - records with seq <= mark are duplicates and dropped;
      - if first_seq > mark + 1: nothing stored, returns WQ_E_GAP with
        res->hwm = mark (the agent must send mark + 1 next);
      - each record is decoded and validated; one that fails, or whose
        county is not `county` (WQ_E_FOREIGN), or whose agent/inc/seq differ
        from its place in the stream (WQ_E_ID), is quarantined with its
        code and reason, and counted;
      - the rest are stored, indexed, folded into the views;
      - the mark is raised to the last seq of the batch.
    now_ms is the contact time. Errors: WQ_E_GAP, WQ_E_FULL (LMDB map full:
    nothing committed, retry once space is made), WQ_E_IO, WQ_E_NOMEM. */
int wq_central_ingest(wq_central_t *self, const char *agent, const char *county, uint32_t inc,
                      uint64_t first_seq, const wq_blob_t *records, size_t count, uint64_t now_ms,
                      wq_ingest_result_t *res, wq_err_t *err);

void wq_ingest_result_clear(wq_ingest_result_t *res);

/*  Record contact with an agent (HELLO / PING): last contact time, the
    backlog it reports (queued) and its last stored seq. */
int wq_central_touch(wq_central_t *self, const char *agent, const char *county, uint32_t inc,
                     uint64_t last_seq, uint64_t queued, uint64_t now_ms, wq_err_t *err);

/*  Run a named query (see proto/PROTOCOL.md "Queries") with parameters
    in one read transaction. *out is a new table. Names: "summary",
    "overdue", "enterprise", "agents", "quarantine". Errors: WQ_E_UNKNOWN
    (name or parameter), WQ_E_FORMAT (bad parameter value, text says
    which), WQ_E_NOTFOUND (enterprise), WQ_E_IO, WQ_E_NOMEM. */
int wq_central_query(wq_central_t *self, const char *name, const wq_param_t *params, size_t nparams,
                     wq_table_t **out, wq_err_t *err);

/*  Recompute every view from the stored events in one read transaction
    and compare with the incremental views. Writes each difference as a
    line to report (may be NULL) and its count to *differences. Returns
    WQ_OK when the comparison ran (even with differences), else an error. */
int wq_central_verify(wq_central_t *self, FILE *report, uint64_t *differences, wq_err_t *err);

/*  Totals for logs and tests: events stored, quarantined, streams. */
typedef struct {
    uint64_t events;
    uint64_t quarantined;
    uint64_t streams;
    uint64_t batches;       /* batches ingested (each one write transaction) */
    uint64_t duplicates;    /* records received again and dropped (at or below the mark) */
} wq_central_stats_t;
int wq_central_stats(wq_central_t *self, wq_central_stats_t *stats, wq_err_t *err);

#endif
