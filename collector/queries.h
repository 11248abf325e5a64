/*  =========================================================================
    queries - the named queries of the central store as tables

    "summary", "overdue", "enterprise", "agents", "quarantine", "foreign":
    parameters,
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

/*  Bounds of a reply, so that no record can hide the others (issue 10): a
    text cell over WQ_QUERY_CELL_MAX bytes is cut and ends with
    WQ_QUERY_CUT_MARK; the list queries (quarantine, foreign) stop at
    WQ_QUERY_ROWS_MAX rows or about WQ_QUERY_REPLY_BUDGET bytes and say in
    the note how many they left out and how to narrow the query. */
#define WQ_QUERY_CELL_MAX 4096
#define WQ_QUERY_CUT_MARK "\xe2\x80\xa6[cut]"
#define WQ_QUERY_ROWS_MAX 10000
#define WQ_QUERY_REPLY_BUDGET (2 * 1024 * 1024)

/*  Run query name with params in txn; *out is a new table. Errors as
    wq_central_query (central.h). On WQ_OK, err->text is a note for the
    reader ("" if none), e.g. how many rows a bounded reply left out. */
int wq_queries_run(MDB_txn *txn, wq_central_t *c, const char *name, const wq_param_t *params,
                   size_t nparams, wq_table_t **out, wq_err_t *err);

#endif
