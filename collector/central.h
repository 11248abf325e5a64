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
#include "collector/verify.h"   /* wq_central_verify: verify.c */

typedef struct wq_central_t wq_central_t;

/*  Limits of what one record may make the store hold (docs/SECURITY.md);
    a record over them is quarantined (WQ_E_RANGE) with its reason. */
#define WQ_ENTITY_MAX_EVENTS 5000          /* events one county adds to one enterprise,
                                              problem or consultation */
#define WQ_PENDING_MAX_PER_TARGET 256      /* records waiting for one missing target */
#define WQ_STREAMS_MAX_PER_AGENT 64        /* incarnations (stream rows) of one agent */

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
    uint64_t bytes;                 /* store bytes the batch added (the agent's quota) */
} wq_ingest_result_t;

/*  Bytes one agent's records (stored and quarantined) may occupy in the
    store; 0 (the default): no quota. A batch that would pass it is
    refused whole with WQ_E_QUOTA (like WQ_E_GAP: nothing of it stored,
    res->hwm the mark), and the refusal's time is kept for `agents`. */
void wq_central_set_agent_quota(wq_central_t *self, uint64_t bytes);

/*  Ingest one batch from an authenticated agent (agent id and county come
    from its key, never from the message) in ONE write transaction,
    committed durably before return:
      - records with seq <= mark are duplicates and dropped;
      - if first_seq > mark + 1: nothing stored, returns WQ_E_GAP with
        res->hwm = mark (the agent must send mark + 1 next);
      - each record is decoded and validated; one that fails, or whose
        county is not `county` (WQ_E_FOREIGN), or whose agent/inc/seq differ
        from its place in the stream (WQ_E_ID), or whose entity is full or
        whose missing target has too many waiters (WQ_E_RANGE, the limits
        above), is quarantined with its code and reason, and counted;
      - the rest are stored, indexed, folded into the views;
      - the mark is raised to the last seq of the batch.
    now_ms is the contact time. Errors: WQ_E_GAP, WQ_E_QUOTA (the agent's
    quota, see above), WQ_E_FULL (LMDB map full:
    nothing committed, retry once space is made), WQ_E_IO, WQ_E_NOMEM. */
int wq_central_ingest(wq_central_t *self, const char *agent, const char *county, uint32_t inc,
                      uint64_t first_seq, const wq_blob_t *records, size_t count, uint64_t now_ms,
                      wq_ingest_result_t *res, wq_err_t *err);

void wq_ingest_result_clear(wq_ingest_result_t *res);

/*  One batch of a group commit: the inputs of wq_central_ingest, and its
    outcome (rc, res, err) as wq_central_ingest would give it. */
typedef struct {
    const char *agent;
    const char *county;
    uint32_t inc;
    uint64_t first_seq;
    const wq_blob_t *records;
    size_t count;
    int rc;                     /* out: WQ_OK or the batch's error */
    wq_ingest_result_t res;     /* out: owned, wq_ingest_result_clear */
    wq_err_t err;               /* out: when rc != WQ_OK */
} wq_ingest_batch_t;

/*  Group commit: ingest n batches (from any agents, in order; several of
    one stream are fine) in ONE write transaction with ONE durable commit,
    so batches that arrived together share the fsync. Each batch's outcome
    equals what wq_central_ingest would have returned had they been
    ingested one after the other: a batch with a gap is refused (WQ_E_GAP)
    and the others go on; if any batch fails otherwise (WQ_E_FULL, I/O) or
    the commit fails, nothing of the group is kept and each batch is
    ingested alone in its own transaction, so one batch's failure never
    fails another. Acknowledge a batch only after this returns with its rc
    WQ_OK: then it is durable. */
void wq_central_ingest_group(wq_central_t *self, wq_ingest_batch_t *batches, size_t n, uint64_t now_ms);

/*  Record contact with an agent (HELLO / PING): last contact time, the
    backlog it reports (queued) and its last stored seq. A new incarnation
    beyond WQ_STREAMS_MAX_PER_AGENT is refused (WQ_E_RANGE): nothing is
    written. */
int wq_central_touch(wq_central_t *self, const char *agent, const char *county, uint32_t inc,
                     uint64_t last_seq, uint64_t queued, uint64_t now_ms, wq_err_t *err);

/*  Run a named query (see proto/PROTOCOL.md "Queries") with parameters
    in one read transaction. *out is a new table. Names: "summary",
    "overdue", "enterprise", "agents", "quarantine", "foreign". On WQ_OK
    err->text is a note for the reader ("" if none: see queries.h for the
    bounds of a reply). Errors: WQ_E_UNKNOWN
    (name or parameter), WQ_E_FORMAT (bad parameter value, text says
    which), WQ_E_NOTFOUND (enterprise), WQ_E_IO, WQ_E_NOMEM. */
int wq_central_query(wq_central_t *self, const char *name, const wq_param_t *params, size_t nparams,
                     wq_table_t **out, wq_err_t *err);

/*  Free the LMDB reader slots of dead processes (a killed verify or
    mdb_copy leaves its slot taken; 126 of them lock every reader out).
    Done at open, on MDB_READERS_FULL, and by the server every 10 s.
    *dead (may be NULL) gets how many were freed. Errors: WQ_E_IO. */
int wq_central_reader_check(wq_central_t *self, int *dead, wq_err_t *err);

/*  Operator transfer of an enterprise that really moved county: from date
    on (inclusive) the enterprise credit code `code` belongs to `county`
    (fold.h, docs/SECURITY.md "Ownership"); its events from that date on
    count for county, and the old county's become foreign. Re-folds the
    enterprise in the same write transaction. A second transfer of the same
    enterprise on the same date replaces the first. Errors: WQ_E_FORMAT
    (code or date), WQ_E_COUNTY, WQ_E_FULL, WQ_E_IO, WQ_E_NOMEM. */
int wq_central_transfer(wq_central_t *self, const char *code, const char *county, const char *date,
                        wq_err_t *err);

/*  Totals for logs and tests: events stored, quarantined, streams. */
typedef struct {
    uint64_t events;
    uint64_t quarantined;
    uint64_t streams;
    uint64_t batches;       /* batches ingested (each one write transaction) */
    uint64_t duplicates;    /* records received again and dropped (at or below the mark) */
} wq_central_stats_t;
int wq_central_stats(wq_central_t *self, wq_central_stats_t *stats, wq_err_t *err);

/*  Entity folds ingest did since this handle was opened (also in batches
    that were then aborted): *incremental applied new events to the stored
    state alone (fold.h wq_fold_append), *fresh folded a new entity from the
    records just decoded, *full folded all of an entity's events read back
    from the store. For benchmarks and tests; call from the ingest thread. */
void wq_central_fold_counts(wq_central_t *self, uint64_t *incremental, uint64_t *fresh,
                            uint64_t *full);

#endif
