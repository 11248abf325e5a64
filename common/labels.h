/*  =========================================================================
    labels - Chinese names of query result columns and of their values

    Query tables (collector/queries.c) carry English column names and enum
    value names: the wire, CSV and JSON keep them, scripts read them. What
    people read shows them in Chinese: the dashboard (collector/dash/labels.c)
    and wanqi-query's table under a Chinese locale (collector/casetext.c).
    This is the one table of those names for both: record enums and types by
    common/record.h's labels (wq_enum_label, wq_rec_type_label), column
    headers and the few non-enum values from its own table.

    Every function returns a constant string (static storage, never freed)
    or the argument it was given, or writes into the caller's buffer; all
    are thread-safe (no state).
    =========================================================================
*/
#ifndef WQ_LABELS_H_INCLUDED
#define WQ_LABELS_H_INCLUDED

#include <stddef.h>

/*  Chinese header of column col from the table; NULL if none is known. */
const char *wq_col_label(const char *col);

/*  Chinese header of col as wq_col_label, and also of the summary's
    columns by group ("problems_discharger", "overdue_above_size": the
    column's header, then the group's label in brackets), written into
    buf when composed. Returns the label (a constant or buf), or NULL if
    none is known (buf then untouched). */
const char *wq_col_label_any(const char *col, char *buf, size_t size);

/*  Chinese label of value in column col (category, severity, status,
    class, method, kind, channel, effect, type, level, overdue, code ...);
    value itself if none is known (also for NULL). */
const char *wq_value_label(const char *col, const char *value);

#endif
