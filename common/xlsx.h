/*  =========================================================================
    xlsx - read the cells of an .xlsx workbook (Excel, WPS, LibreOffice)

    An .xlsx file is a zip of XML parts (ECMA-376, SpreadsheetML). This
    module opens the zip with libzip and parses the parts with expat: the
    workbook (sheet names and order), its relationships (which part holds
    which sheet), the shared strings, the styles (which cells are dates) and
    each worksheet. No hand-written zip or XML parsing.

    Every cell is handed over as UTF-8 text:
      - strings (shared, inline, formula results) as written;
      - numbers in the shortest form that reads back ("43591", "12.5");
      - numbers with a date format (built-in 14-22, 45-47, or a custom format
        with y/m/d) as "YYYY-MM-DD" (Excel's 1900 date system; the 1904 one
        when the workbook says so);
      - booleans as "1" / "0"; errors (#N/A) as written.
    Rows come in order with their 1-based row number (as Excel shows it);
    cells are placed by their column letter (gaps are empty strings).

    Used by `wanqi-agent import` and the workbench's upload: parse a file or
    a buffer, then walk each sheet's rows.
    =========================================================================
*/
#ifndef WQ_XLSX_H_INCLUDED
#define WQ_XLSX_H_INCLUDED

#include <stddef.h>
#include "common/error.h"

#define WQ_XLSX_MAX_COLS 256        /* columns read per row (A..IV) */
#define WQ_XLSX_MAX_PART (64u << 20) /* largest XML part read, uncompressed */

typedef struct wq_xlsx_t wq_xlsx_t;

/*  Open path / a copy-free view of data[0..size) (data must stay valid
    until wq_xlsx_destroy). Reads the workbook, relationships, shared
    strings and styles. Errors: WQ_E_IO (unreadable), WQ_E_FORMAT (not an
    .xlsx: not a zip, or a part missing or malformed; the text says which),
    WQ_E_RANGE (a part over WQ_XLSX_MAX_PART), WQ_E_NOMEM. */
int wq_xlsx_open_file(const char *path, wq_xlsx_t **out, wq_err_t *err);
int wq_xlsx_open_buffer(const void *data, size_t size, wq_xlsx_t **out, wq_err_t *err);

/*  Close; sets *self to NULL; safe on NULL. */
void wq_xlsx_destroy(wq_xlsx_t **self);

/*  Sheets in workbook order; name of sheet i (owned by self). */
size_t wq_xlsx_sheet_count(const wq_xlsx_t *self);
const char *wq_xlsx_sheet_name(const wq_xlsx_t *self, size_t i);

/*  Called per row that has at least one cell element: row is 1-based,
    cells[0..ncells) are the texts of columns A.. (valid during the call).
    Return 0 to go on, non-zero to stop (the read then returns WQ_OK). */
typedef int (wq_xlsx_row_fn)(unsigned long row, const char *const *cells, size_t ncells,
                             void *arg);

/*  Walk the rows of sheet i. Errors: WQ_E_FORMAT (malformed sheet XML;
    the text says where), WQ_E_RANGE, WQ_E_NOMEM, WQ_E_IO. */
int wq_xlsx_sheet_rows(wq_xlsx_t *self, size_t i, wq_xlsx_row_fn *fn, void *arg, wq_err_t *err);

#endif
