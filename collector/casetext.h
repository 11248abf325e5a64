/*  =========================================================================
    casetext - an enterprise's case file (一企一册) in the reader's language

    The query "enterprise" (collector/queries.c) answers a timeline whose
    cells are codes and English words: the record type ("correction"), the
    status ("in_progress", "normal", "C"), the effect ("corrected") and a
    one-line summary built from the record ("air/minor: 描述", "deadline
    2019-04-14: 措施", "grade C (C2641)", "corrects ID (deadline): 理由",
    "retracts ID: 理由", "名称; C2641"). The wire, CSV and JSON keep them as
    they are (scripts read them); wanqi-query's table, which people read,
    shows them through this module: under a Chinese locale the codes by
    their Chinese labels (common/record.h) and the summary's words through
    gettext (po/zh_CN.po); under any other locale the same English text.

    The dashboard has its own Chinese-only copy of the summary's shapes
    (collector/dash/labels.c); both follow collector/queries.c's
    s_event_summary, so a new shape there wants a line in each.
    =========================================================================
*/
#ifndef WQ_CASETEXT_H_INCLUDED
#define WQ_CASETEXT_H_INCLUDED

#include <stddef.h>

#include "common/table.h"

/*  The summary of a timeline row of record type `type` (its wire name) in
    the reader's language, into out (always terminated, cut to size on a character boundary). A
    summary of a shape not known here is copied as it is. */
void wq_casetext_summary(const char *type, const char *summary, char *out, size_t size);

/*  The text of a timeline cell of column col ("type", "status", "effect")
    in the reader's language: a constant string (a label of common/record.h
    or a translation), or value itself when none is known. */
const char *wq_casetext_value(const char *col, const char *value);

/*  Rewrite an "enterprise" answer in place for the reader: its type,
    status, effect and summary cells as above (other columns and a table
    without those columns are left as they are). Returns WQ_OK, or
    WQ_E_NOMEM (the table then holds some cells rewritten). */
int wq_casetext_localize(wq_table_t *t);

#endif
