/*  =========================================================================
    ledger - the dashboard's list queries: problems, enterprises, pending

    Three more named queries beside those of queries.c, reached through
    the same wq_queries_run (queries.h) and so through wanqi-query too:
      "problems"     every problem under an area (the 问题台账), filterable;
      "enterprises"  enterprises under an area, by name or credit code;
      "pending"      corrections and follow-ups waiting for the record they
                     refer to.
    Each walks one prefix of the area index (or the pending table) in the
    caller's read transaction. "problems" and "enterprises" take a fresh
    snapshot every wq_ledger_set_chunk entries (mdb_txn_reset +
    mdb_txn_renew of that transaction: it must be a read-only transaction
    the caller does not use for anything else meanwhile, as
    wq_central_query's is; a write transaction is left alone), so that no
    reader pins one snapshot for a whole province: each row is read in one
    snapshot, the list as a whole is not (ledger.c says what it gives).
    Parameters and columns are in docs/STORE.md.
    =========================================================================
*/
#ifndef WQ_LEDGER_H_INCLUDED
#define WQ_LEDGER_H_INCLUDED

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include "collector/cstore.h"
#include "common/table.h"
#include "proto/msg.h"

/*  Index entries read per snapshot by the walks of "problems" and
    "enterprises" (0: the whole walk in one snapshot). Process-wide; for
    tests and benchmarks. Default WQ_LEDGER_CHUNK_DEFAULT. */
#define WQ_LEDGER_CHUNK_DEFAULT 256
void wq_ledger_set_chunk(size_t entries);

/*  For tests: fn(arg) is called between two chunks of a walk, when the
    walk holds no snapshot (its transaction reset), before it takes the
    next (NULL: none). Set it while no query runs. */
void wq_ledger_set_between(void (*fn)(void *), void *arg);

/*  How many fresh snapshots the walks took (process-wide, since start). */
uint64_t wq_ledger_renewals(void);

/*  Errors as wq_central_query: WQ_E_UNKNOWN (parameter), WQ_E_FORMAT (bad
    value), WQ_E_CORRUPT, WQ_E_IO, WQ_E_NOMEM. */
int wq_ledger_problems(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
                       wq_table_t **out, wq_err_t *err);
int wq_ledger_enterprises(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
                          wq_table_t **out, wq_err_t *err);
int wq_ledger_pending(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
                      wq_table_t **out, wq_err_t *err);

#endif
