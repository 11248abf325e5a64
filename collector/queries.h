/*  =========================================================================
    queries - the named queries of the central store as tables

    "summary", "overdue", "enterprise", "agents", "quarantine": parameters,
    columns and meaning are specified in docs/STORE.md (section Queries).
    Each runs in the caller's read transaction and reads only the rows it
    reports (counters, the deadline index, one enterprise's events, the
    stream and quarantine tables), never the whole event table.
    =========================================================================
*/
#ifndef WQ_QUERIES_H_INCLUDED
#define WQ_QUERIES_H_INCLUDED

#include <lmdb.h>
#include "collector/cstore.h"
#include "common/table.h"
#include "proto/msg.h"

/*  Run query name with params in txn; *out is a new table. Errors as
    wq_central_query (central.h). */
int wq_queries_run(MDB_txn *txn, wq_central_t *c, const char *name, const wq_param_t *params,
                   size_t nparams, wq_table_t **out, wq_err_t *err);

#endif
