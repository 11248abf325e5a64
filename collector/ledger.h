/*  =========================================================================
    ledger - the dashboard's list queries: problems, enterprises, pending

    Three more named queries beside those of queries.c, reached through
    the same wq_queries_run (queries.h) and so through wanqi-query too:
      "problems"     every problem under an area (the 问题台账), filterable;
      "enterprises"  enterprises under an area, by name or credit code;
      "pending"      corrections and follow-ups waiting for the record they
                     refer to.
    Each walks one prefix of the states (or pending) table in the caller's
    read transaction. Parameters and columns are in docs/STORE.md.
    =========================================================================
*/
#ifndef WQ_LEDGER_H_INCLUDED
#define WQ_LEDGER_H_INCLUDED

#include <lmdb.h>
#include "collector/cstore.h"
#include "common/table.h"
#include "proto/msg.h"

/*  Errors as wq_central_query: WQ_E_UNKNOWN (parameter), WQ_E_FORMAT (bad
    value), WQ_E_CORRUPT, WQ_E_IO, WQ_E_NOMEM. */
int wq_ledger_problems(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
                       wq_table_t **out, wq_err_t *err);
int wq_ledger_enterprises(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
                          wq_table_t **out, wq_err_t *err);
int wq_ledger_pending(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
                      wq_table_t **out, wq_err_t *err);

#endif
