/*  export - CSV and .xlsx of a table (see export.h). */
#include "collector/dash/export.h"
#include "common/i18n.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <xlsxwriter.h>

static void s_csv_cell(wq_wbuf_t *out, const char *s)
{
    bool guard = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    bool quote = guard || strpbrk(s, ",\"\r\n") != NULL;
    if (!quote) {
        wq_wbuf_puts(out, s);
        return;
    }
    wq_wbuf_put(out, "\"", 1);
    if (guard)
        wq_wbuf_put(out, "'", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            wq_wbuf_put(out, "\"", 1);
        wq_wbuf_put(out, p, 1);
    }
    wq_wbuf_put(out, "\"", 1);
}

void dash_export_csv(const wq_table_t *t, wq_wbuf_t *out)
{
    size_t nc = wq_table_ncols(t), nr = wq_table_nrows(t);
    wq_wbuf_puts(out, "\xEF\xBB\xBF");
    for (size_t c = 0; c < nc; c++) {
        if (c)
            wq_wbuf_put(out, ",", 1);
        s_csv_cell(out, wq_table_col(t, c));
    }
    wq_wbuf_puts(out, "\r\n");
    for (size_t r = 0; r < nr; r++) {
        for (size_t c = 0; c < nc; c++) {
            if (c)
                wq_wbuf_put(out, ",", 1);
            const wq_cell_t *cell = wq_table_cell(t, r, c);
            if (cell->kind == WQ_CELL_INT)
                wq_wbuf_printf(out, "%" PRId64, cell->i);
            else if (cell->kind == WQ_CELL_STR)
                s_csv_cell(out, cell->s);
        }
        wq_wbuf_puts(out, "\r\n");
    }
}

int dash_export_xlsx(const wq_table_t *t, const char *sheet, const char *tmpdir, wq_wbuf_t *out,
                     wq_err_t *err)
{
    int rc = WQ_OK;
    char path[512];
    snprintf(path, sizeof path, "%s/wanqi-web-XXXXXX", tmpdir);
    int fd = mkstemp(path);
    if (fd < 0)
        return wq_err_set(err, WQ_E_IO, "xlsx", _("cannot make a temporary file in %s: %s"), tmpdir,
                          strerror(errno));
    close(fd);
    lxw_workbook_options opts = {.constant_memory = LXW_FALSE, .tmpdir = (char *)tmpdir};
    lxw_workbook *wb = workbook_new_opt(path, &opts);
    lxw_worksheet *ws = wb ? workbook_add_worksheet(wb, sheet) : NULL;
    if (!ws) {
        rc = wq_err_set(err, WQ_E_NOMEM, "xlsx", _("libxlsxwriter could not start a workbook"));
        if (wb)
            workbook_close(wb);
        goto done;
    }
    lxw_format *bold = workbook_add_format(wb);
    format_set_bold(bold);
    size_t nc = wq_table_ncols(t), nr = wq_table_nrows(t);
    for (size_t c = 0; c < nc; c++) {
        worksheet_write_string(ws, 0, (lxw_col_t)c, wq_table_col(t, c), bold);
        worksheet_set_column(ws, (lxw_col_t)c, (lxw_col_t)c, 14, NULL);
    }
    worksheet_freeze_panes(ws, 1, 0);
    for (size_t r = 0; r < nr && r < 1048575; r++)
        for (size_t c = 0; c < nc; c++) {
            const wq_cell_t *cell = wq_table_cell(t, r, c);
            if (cell->kind == WQ_CELL_INT)
                worksheet_write_number(ws, (lxw_row_t)(r + 1), (lxw_col_t)c, (double)cell->i, NULL);
            else if (cell->kind == WQ_CELL_STR)
                worksheet_write_string(ws, (lxw_row_t)(r + 1), (lxw_col_t)c, cell->s, NULL);
        }
    lxw_error xe = workbook_close(wb);
    if (xe != LXW_NO_ERROR) {
        rc = wq_err_set(err, WQ_E_IO, "xlsx", _("libxlsxwriter: %s"), lxw_strerror(xe));
        goto done;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        rc = wq_err_set(err, WQ_E_IO, "xlsx", _("cannot read %s: %s"), path, strerror(errno));
        goto done;
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        wq_wbuf_put(out, chunk, n);
    if (ferror(f))
        rc = wq_err_set(err, WQ_E_IO, "xlsx", _("cannot read %s"), path);
    fclose(f);
    if (rc == WQ_OK && out->oom)
        rc = wq_err_set(err, WQ_E_NOMEM, "xlsx", _("workbook too large"));
done:
    unlink(path);
    return rc;
}
