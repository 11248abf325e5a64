/*  =========================================================================
    labels - Chinese names for the dashboard's columns and enum values

    Query tables carry English column names and enum value names (the wire
    and the CSV of wanqi-query stay stable); people see Chinese. This is
    the one place the dashboard turns one into the other: record enums and
    types by common/record.h's labels (wq_enum_label, wq_rec_type_label),
    column headers and the few non-enum values from common/labels.h (the
    table wanqi-query's Chinese tables share).
    =========================================================================
*/
#ifndef WQ_DASH_LABELS_H_INCLUDED
#define WQ_DASH_LABELS_H_INCLUDED

#include <stddef.h>

/*  Chinese header for column col; col itself if none is known. */
const char *dash_col_label(const char *col);

/*  Chinese label of value in column col (category, severity, status,
    class, effect, type, level, overdue, code ...); value itself if none. */
const char *dash_value_label(const char *col, const char *value);

/*  A case file's one-line summary (collector/queries.c: "air/minor: 描述",
    "deadline 2019-04-14: 措施", "corrects ID (fields): 理由" ...) with its
    English words in Chinese, into out (always terminated). type is the
    row's record type name; a summary of an unknown shape is copied as is. */
void dash_summary_label(const char *type, const char *summary, char *out, size_t size);

#endif
