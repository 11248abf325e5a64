/*  =========================================================================
    table - query results as rows of cells, printed as text, CSV or JSON

    The collector answers every query with a table; wanqi-query and the
    agent's status command print it. Keeping the printing here means the
    three output formats are the same everywhere:
    - table: a header, a rule of dashes and the rows, columns separated by
      two spaces and padded by display width (a Han character takes two
      columns), integers right-aligned, text left-aligned, no trailing
      blanks; control characters in text show as spaces;
    - csv: UTF-8 BOM, CRLF line ends, RFC 4180 quoting (a field with a comma,
      quote, CR or LF is quoted, quotes doubled), a text that starts with
      =, +, -, @, tab or CR prefixed with ' (no formula), null as an empty field,
      because that is what spreadsheet programs in Chinese locales open
      correctly;
    - json: an array of objects keyed by column name, one object per line,
      integers as numbers, null as null.
    =========================================================================
*/
#include "common/table.h"
#include "common/json.h"
#include "common/utf8.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct wq_table_t {
    size_t ncols;
    char **cols;
    wq_cell_t **rows;    /* nrows rows of ncols cells */
    size_t nrows;
    size_t cap;
};

wq_table_t *
wq_table_new(size_t ncols, const char *const *cols)
{
    wq_table_t *self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->ncols = ncols;
    self->cols = calloc(ncols ? ncols : 1, sizeof *self->cols);
    if (!self->cols)
        goto fail;
    for (size_t c = 0; c < ncols; c++) {
        self->cols[c] = strdup(cols && cols[c] ? cols[c] : "");
        if (!self->cols[c])
            goto fail;
    }
    return self;
fail:
    wq_table_destroy(&self);
    return NULL;
}

static void
s_cell_clear(wq_cell_t *cell)
{
    free(cell->s);
    memset(cell, 0, sizeof *cell);
}

void
wq_table_destroy(wq_table_t **self)
{
    if (!self || !*self)
        return;
    wq_table_t *t = *self;
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++)
            s_cell_clear(&t->rows[r][c]);
        free(t->rows[r]);
    }
    free(t->rows);
    if (t->cols)
        for (size_t c = 0; c < t->ncols; c++)
            free(t->cols[c]);
    free(t->cols);
    free(t);
    *self = NULL;
}

int
wq_table_add_row(wq_table_t *self, size_t *row)
{
    assert(self);
    if (self->nrows == self->cap) {
        size_t ncap = self->cap ? self->cap * 2 : 16;
        wq_cell_t **rows = realloc(self->rows, ncap * sizeof *rows);
        if (!rows)
            return WQ_E_NOMEM;
        self->rows = rows;
        self->cap = ncap;
    }
    wq_cell_t *cells = calloc(self->ncols ? self->ncols : 1, sizeof *cells);
    if (!cells)
        return WQ_E_NOMEM;
    self->rows[self->nrows] = cells;
    if (row)
        *row = self->nrows;
    self->nrows++;
    return WQ_OK;
}

/*  Copy row r of src to the end of dst (same number of columns). */
static int
s_copy_row(wq_table_t *dst, const wq_table_t *src, size_t r)
{
    size_t row = 0;
    int rc = wq_table_add_row(dst, &row);
    for (size_t c = 0; rc == WQ_OK && c < src->ncols; c++) {
        const wq_cell_t *cell = &src->rows[r][c];
        if (cell->kind == WQ_CELL_INT)
            rc = wq_table_set_int(dst, row, c, cell->i);
        else if (cell->kind == WQ_CELL_STR)
            rc = wq_table_set_str(dst, row, c, cell->s);
    }
    return rc;
}

wq_table_t *
wq_table_slice(const wq_table_t *self, size_t first, size_t n)
{
    wq_table_t *t = wq_table_new(self->ncols, (const char *const *) self->cols);
    for (size_t r = first; t && r < self->nrows && r - first < n; r++)
        if (s_copy_row(t, self, r) != WQ_OK)
            wq_table_destroy(&t);
    return t;
}

int
wq_table_append(wq_table_t *self, const wq_table_t *src)
{
    if (src->ncols != self->ncols)
        return WQ_E_RANGE;
    for (size_t c = 0; c < self->ncols; c++)
        if (strcmp(self->cols[c], src->cols[c]) != 0)
            return WQ_E_RANGE;
    for (size_t r = 0; r < src->nrows; r++)
        if (s_copy_row(self, src, r) != WQ_OK)
            return WQ_E_NOMEM;
    return WQ_OK;
}

static wq_cell_t *
s_cell(wq_table_t *self, size_t row, size_t col)
{
    assert(self && row < self->nrows && col < self->ncols);
    if (!self || row >= self->nrows || col >= self->ncols)
        return NULL;
    return &self->rows[row][col];
}

int
wq_table_set_int(wq_table_t *self, size_t row, size_t col, int64_t v)
{
    wq_cell_t *cell = s_cell(self, row, col);
    if (!cell)
        return WQ_E_INTERNAL;
    s_cell_clear(cell);
    cell->kind = WQ_CELL_INT;
    cell->i = v;
    return WQ_OK;
}

int
wq_table_set_str(wq_table_t *self, size_t row, size_t col, const char *s)
{
    wq_cell_t *cell = s_cell(self, row, col);
    if (!cell)
        return WQ_E_INTERNAL;
    char *copy = NULL;
    if (s) {
        copy = strdup(s);
        if (!copy)
            return WQ_E_NOMEM;
    }
    s_cell_clear(cell);
    if (copy) {
        cell->kind = WQ_CELL_STR;
        cell->s = copy;
    }
    return WQ_OK;
}

int
wq_table_set_fmt(wq_table_t *self, size_t row, size_t col, const char *fmt, ...)
{
    wq_cell_t *cell = s_cell(self, row, col);
    if (!cell)
        return WQ_E_INTERNAL;
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return WQ_E_NOMEM;
    s_cell_clear(cell);
    cell->kind = WQ_CELL_STR;
    cell->s = text;
    return WQ_OK;
}

size_t
wq_table_ncols(const wq_table_t *self)
{
    return self ? self->ncols : 0;
}

size_t
wq_table_nrows(const wq_table_t *self)
{
    return self ? self->nrows : 0;
}

const char *
wq_table_col(const wq_table_t *self, size_t col)
{
    return self && col < self->ncols ? self->cols[col] : NULL;
}

const wq_cell_t *
wq_table_cell(const wq_table_t *self, size_t row, size_t col)
{
    if (!self || row >= self->nrows || col >= self->ncols)
        return NULL;
    return &self->rows[row][col];
}

int
wq_table_find_col(const wq_table_t *self, const char *name)
{
    if (!self || !name)
        return -1;
    for (size_t c = 0; c < self->ncols; c++)
        if (strcmp(self->cols[c], name) == 0)
            return (int) c;
    return -1;
}

/* ---- text table ---------------------------------------------------- */

/*  Text of a cell as shown in a text table, into buf (for ints) or a new
    sanitized copy in *owned (control characters as spaces). */
static const char *
s_cell_text(const wq_cell_t *cell, char buf[24], char **owned)
{
    *owned = NULL;
    if (cell->kind == WQ_CELL_INT) {
        snprintf(buf, 24, "%" PRId64, cell->i);
        return buf;
    }
    if (cell->kind != WQ_CELL_STR || !cell->s)
        return "";
    const char *s = cell->s;
    bool clean = true;
    for (const unsigned char *p = (const unsigned char *) s; *p && clean; p++)
        clean = *p >= 0x20 && *p != 0x7F;
    if (clean)
        return s;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    for (unsigned char *p = (unsigned char *) copy; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            *p = ' ';
    *owned = copy;
    return copy;
}

static void
s_pad(FILE *out, size_t n)
{
    while (n-- > 0)
        fputc(' ', out);
}

/*  One line: cells are texts with their widths; right[c] aligns right. */
static void
s_write_line(FILE *out, size_t ncols, const char *const *texts, const size_t *widths,
             const size_t *colw, const bool *right)
{
    /* Drop trailing blanks: stop after the last non-empty cell. */
    size_t last = ncols;
    while (last > 0 && widths[last - 1] == 0 && texts[last - 1][0] == '\0')
        last--;
    for (size_t c = 0; c < last; c++) {
        if (c > 0)
            fputs("  ", out);
        size_t pad = colw[c] > widths[c] ? colw[c] - widths[c] : 0;
        if (right[c])
            s_pad(out, pad);
        fputs(texts[c], out);
        if (!right[c] && c + 1 < last)
            s_pad(out, pad);
    }
    fputc('\n', out);
}

static int
s_write_table(const wq_table_t *t, FILE *out)
{
    int rc = WQ_E_NOMEM;
    size_t n = t->ncols ? t->ncols : 1;
    size_t *colw = calloc(n, sizeof *colw);
    size_t *widths = calloc(n, sizeof *widths);
    bool *right = calloc(n, sizeof *right);
    const char **texts = calloc(n, sizeof *texts);
    char **owned = calloc(n, sizeof *owned);
    char (*bufs)[24] = calloc(n, sizeof *bufs);
    if (!colw || !widths || !right || !texts || !owned || !bufs)
        goto fail;
    /* Column widths and alignment: a column of integers aligns right. */
    for (size_t c = 0; c < t->ncols; c++) {
        colw[c] = wq_utf8_width(t->cols[c], strlen(t->cols[c]));
        bool any_int = false, any_str = false;
        for (size_t r = 0; r < t->nrows; r++) {
            const wq_cell_t *cell = &t->rows[r][c];
            any_int = any_int || cell->kind == WQ_CELL_INT;
            any_str = any_str || cell->kind == WQ_CELL_STR;
            char *own;
            const char *text = s_cell_text(cell, bufs[c], &own);
            if (!text)
                goto fail;
            size_t w = wq_utf8_width(text, strlen(text));
            free(own);
            if (w > colw[c])
                colw[c] = w;
        }
        right[c] = any_int && !any_str;
    }
    /* Header and rule. */
    for (size_t c = 0; c < t->ncols; c++) {
        texts[c] = t->cols[c];
        widths[c] = wq_utf8_width(t->cols[c], strlen(t->cols[c]));
    }
    s_write_line(out, t->ncols, texts, widths, colw, right);
    for (size_t c = 0; c < t->ncols; c++) {
        if (c > 0)
            fputs("  ", out);
        for (size_t k = 0; k < colw[c]; k++)
            fputc('-', out);
    }
    fputc('\n', out);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            texts[c] = s_cell_text(&t->rows[r][c], bufs[c], &owned[c]);
            if (!texts[c])
                goto fail;
            widths[c] = wq_utf8_width(texts[c], strlen(texts[c]));
        }
        s_write_line(out, t->ncols, texts, widths, colw, right);
        for (size_t c = 0; c < t->ncols; c++) {
            free(owned[c]);
            owned[c] = NULL;
        }
    }
    rc = WQ_OK;
fail:
    if (owned)
        for (size_t c = 0; c < t->ncols; c++)
            free(owned[c]);
    free(colw);
    free(widths);
    free(right);
    free(texts);
    free(owned);
    free(bufs);
    return rc;
}

/* ---- CSV ----------------------------------------------------------- */

/*  A text starting with =, +, -, @, tab or CR would be taken for a formula
    by Excel, WPS or LibreOffice (an enterprise named =HYPERLINK(...) would
    become a live link): it gets a leading ' (OWASP, "CSV Injection"), which
    the spreadsheet shows as text. Integers are written as numbers and never
    prefixed. */
static bool
s_csv_formula(const char *s)
{
    return s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
           s[0] == '\r';
}

static void
s_csv_field(FILE *out, const char *s)
{
    const char *guard = s_csv_formula(s) ? "'" : "";
    if (strpbrk(s, ",\"\r\n") == NULL) {
        fputs(guard, out);
        fputs(s, out);
        return;
    }
    fputc('"', out);
    fputs(guard, out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static int
s_write_csv(const wq_table_t *t, FILE *out)
{
    fputs("\xEF\xBB\xBF", out);
    for (size_t c = 0; c < t->ncols; c++) {
        if (c > 0)
            fputc(',', out);
        s_csv_field(out, t->cols[c]);
    }
    fputs("\r\n", out);
    for (size_t r = 0; r < t->nrows; r++) {
        for (size_t c = 0; c < t->ncols; c++) {
            const wq_cell_t *cell = &t->rows[r][c];
            if (c > 0)
                fputc(',', out);
            if (cell->kind == WQ_CELL_INT)
                fprintf(out, "%" PRId64, cell->i);
            else if (cell->kind == WQ_CELL_STR && cell->s)
                s_csv_field(out, cell->s);
        }
        fputs("\r\n", out);
    }
    return WQ_OK;
}

/* ---- JSON ---------------------------------------------------------- */

static int
s_write_json(const wq_table_t *t, FILE *out)
{
    if (t->nrows == 0) {
        fputs("[]\n", out);
        return WQ_OK;
    }
    fputs("[\n", out);
    for (size_t r = 0; r < t->nrows; r++) {
        fputs("  {", out);
        for (size_t c = 0; c < t->ncols; c++) {
            const wq_cell_t *cell = &t->rows[r][c];
            if (c > 0)
                fputc(',', out);
            wq_json_write_string(out, t->cols[c]);
            fputc(':', out);
            if (cell->kind == WQ_CELL_INT)
                fprintf(out, "%" PRId64, cell->i);
            else if (cell->kind == WQ_CELL_STR && cell->s)
                wq_json_write_string(out, cell->s);
            else
                fputs("null", out);
        }
        fputs(r + 1 < t->nrows ? "},\n" : "}\n", out);
    }
    fputs("]\n", out);
    return WQ_OK;
}

int
wq_table_write(const wq_table_t *self, wq_format_t format, FILE *out)
{
    int rc;
    assert(self && out);
    switch (format) {
    case WQ_FORMAT_TABLE:
        rc = s_write_table(self, out);
        break;
    case WQ_FORMAT_CSV:
        rc = s_write_csv(self, out);
        break;
    case WQ_FORMAT_JSON:
        rc = s_write_json(self, out);
        break;
    default:
        return WQ_E_INTERNAL;
    }
    if (rc != WQ_OK)
        return rc;
    if (fflush(out) != 0 || ferror(out))
        return WQ_E_IO;
    return WQ_OK;
}

wq_format_t
wq_format_parse(const char *s)
{
    if (!s)
        return 0;
    if (strcmp(s, "table") == 0)
        return WQ_FORMAT_TABLE;
    if (strcmp(s, "csv") == 0)
        return WQ_FORMAT_CSV;
    if (strcmp(s, "json") == 0)
        return WQ_FORMAT_JSON;
    return 0;
}
