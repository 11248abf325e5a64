/*  =========================================================================
    table - a rectangular result (columns of rows of cells) and its output
    as an aligned text table, CSV or JSON

    Query results travel as tables (proto RESULT) and every program prints
    them the same way. Text tables align by display width (Han characters
    take two columns); CSV starts with a UTF-8 BOM and uses CRLF so that
    spreadsheet programs open Chinese text correctly (RFC 4180 quoting);
    JSON is an array of objects keyed by column name.
    =========================================================================
*/
#ifndef WQ_TABLE_H_INCLUDED
#define WQ_TABLE_H_INCLUDED

#include <stdint.h>
#include <stdio.h>
#include "common/error.h"

typedef enum { WQ_CELL_NULL = 0, WQ_CELL_INT = 1, WQ_CELL_STR = 2 } wq_cell_kind_t;

typedef struct {
    wq_cell_kind_t kind;
    int64_t i;
    char *s;                /* owned by the table */
} wq_cell_t;

typedef struct wq_table_t wq_table_t;

typedef enum { WQ_FORMAT_TABLE = 1, WQ_FORMAT_CSV = 2, WQ_FORMAT_JSON = 3 } wq_format_t;

/*  New empty table with ncols columns named by cols (copied). NULL on OOM. */
wq_table_t *wq_table_new(size_t ncols, const char *const *cols);
void wq_table_destroy(wq_table_t **self);

/*  Append a row; cells then set with the setters below (row index returned
    through *row). Returns WQ_OK or WQ_E_NOMEM. */
int wq_table_add_row(wq_table_t *self, size_t *row);
int wq_table_set_int(wq_table_t *self, size_t row, size_t col, int64_t v);
int wq_table_set_str(wq_table_t *self, size_t row, size_t col, const char *s);   /* copied; NULL -> null cell */
/*  printf-style string cell. */
int wq_table_set_fmt(wq_table_t *self, size_t row, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*  A new table with the same columns and copies of rows first ..
    first + n - 1 (fewer if the table ends before). NULL on OOM. Used to
    send a large result a page at a time. */
wq_table_t *wq_table_slice(const wq_table_t *self, size_t first, size_t n);

/*  Append copies of src's rows to self. Errors: WQ_E_RANGE (columns
    differ in number or name), WQ_E_NOMEM (self then holds some of the
    rows). Used to join the pages of a paged result. */
int wq_table_append(wq_table_t *self, const wq_table_t *src);

size_t wq_table_ncols(const wq_table_t *self);
size_t wq_table_nrows(const wq_table_t *self);
const char *wq_table_col(const wq_table_t *self, size_t col);
const wq_cell_t *wq_table_cell(const wq_table_t *self, size_t row, size_t col);
/*  Column index by name, or -1. */
int wq_table_find_col(const wq_table_t *self, const char *name);

/*  Write in the given format. Table: header, a rule, rows; integers right-
    aligned, text left-aligned by display width. Returns WQ_OK or WQ_E_IO. */
int wq_table_write(const wq_table_t *self, wq_format_t format, FILE *out);

/*  Parse "table" / "csv" / "json"; 0 if unknown. */
wq_format_t wq_format_parse(const char *s);

#endif
