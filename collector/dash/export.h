/*  =========================================================================
    export - a table as CSV or .xlsx for spreadsheet users

    CSV: UTF-8 with a BOM (so Excel reads Chinese right), CRLF, RFC 4180
    quoting, and spreadsheet-safe: a text cell starting with = + - @ TAB or
    CR gets a leading ' so that no spreadsheet runs it as a formula.
    .xlsx: written by libxlsxwriter, text cells as strings (never formulas),
    integers as numbers, header row bold and frozen.
    The table's column names are written as the header: the dashboard
    gives tables with Chinese headers and labels already applied.
    =========================================================================
*/
#ifndef WQ_DASH_EXPORT_H_INCLUDED
#define WQ_DASH_EXPORT_H_INCLUDED

#include "common/error.h"
#include "common/table.h"
#include "web/wbuf.h"

/*  Append t as CSV to out (check out->oom). */
void dash_export_csv(const wq_table_t *t, wq_wbuf_t *out);

/*  Append t as an .xlsx workbook with one sheet named sheet to out.
    tmpdir is where libxlsxwriter may write its temporary file. Errors:
    WQ_E_IO (libxlsxwriter failed: text says why), WQ_E_NOMEM. */
int dash_export_xlsx(const wq_table_t *t, const char *sheet, const char *tmpdir, wq_wbuf_t *out,
                     wq_err_t *err);

#endif
