/*  =========================================================================
    xlsx - .xlsx cells through libzip + expat (see xlsx.h)

    Each XML part is read whole (bounded by WQ_XLSX_MAX_PART) and parsed by
    expat with namespace processing, so that prefixed (x:row) and plain
    (row) element names are the same to us: we compare local names only.
    The sheet parser keeps one row of cells at a time.
    =========================================================================
*/
#include "common/xlsx.h"

#include <expat.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "common/date.h"
#include "common/i18n.h"

typedef struct {
    char *name;
    char *part;     /* e.g. "xl/worksheets/sheet1.xml" */
    char *rid;
} s_sheet_t;

struct wq_xlsx_t {
    zip_t *zip;
    s_sheet_t *sheets;
    size_t nsheets;
    char **sst;             /* shared strings */
    size_t nsst, csst;
    bool *xf_date;          /* per cellXfs index: the format is a date */
    size_t nxf, cxf;
    bool date1904;
};

/*  ---- small helpers ------------------------------------------------------ */

static const char *
s_local(const char *name)
{
    const char *bar = strrchr(name, '|');
    return bar ? bar + 1 : name;
}

static const char *
s_attr(const char **atts, const char *local)
{
    for (size_t i = 0; atts[i]; i += 2)
        if (strcmp(s_local(atts[i]), local) == 0)
            return atts[i + 1];
    return NULL;
}

typedef struct {
    char *s;
    size_t len, cap;
    bool oom;
} s_buf_t;

static void
s_buf_add(s_buf_t *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void
s_buf_clear(s_buf_t *b)
{
    b->len = 0;
    if (b->s)
        b->s[0] = '\0';
}

/*  Read a whole part into a malloc'd NUL-terminated buffer. *found false
    (and WQ_OK) if the part is absent. */
static int
s_read_part(wq_xlsx_t *x, const char *name, char **out, size_t *size, bool *found, wq_err_t *err)
{
    *out = NULL;
    *found = false;
    zip_int64_t idx = zip_name_locate(x->zip, name, ZIP_FL_NOCASE);
    if (idx < 0)
        return WQ_OK;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(x->zip, (zip_uint64_t) idx, 0, &st) != 0 || !(st.valid & ZIP_STAT_SIZE))
        return wq_err_set(err, WQ_E_FORMAT, "xlsx", _("cannot read %s in the workbook: %s"), name,
                          zip_strerror(x->zip));
    if (st.size > WQ_XLSX_MAX_PART)
        return wq_err_set(err, WQ_E_RANGE, "xlsx",
                          _("%s in the workbook is too large (%llu bytes, at most %u)"), name,
                          (unsigned long long) st.size, WQ_XLSX_MAX_PART);
    char *buf = malloc((size_t) st.size + 1);
    if (!buf)
        return wq_err_set(err, WQ_E_NOMEM, "xlsx", _("out of memory"));
    zip_file_t *zf = zip_fopen_index(x->zip, (zip_uint64_t) idx, 0);
    zip_int64_t n = zf ? zip_fread(zf, buf, st.size) : -1;
    if (zf)
        zip_fclose(zf);
    if (n < 0 || (zip_uint64_t) n != st.size) {
        free(buf);
        return wq_err_set(err, WQ_E_FORMAT, "xlsx", _("cannot unpack %s from the workbook: %s"),
                          name, zip_strerror(x->zip));
    }
    buf[n] = '\0';
    *out = buf;
    *size = (size_t) n;
    *found = true;
    return WQ_OK;
}

/*  Parse text with expat, calling start/end/chars on ud. */
static int
s_parse(const char *part, const char *text, size_t size, XML_StartElementHandler start,
        XML_EndElementHandler end, XML_CharacterDataHandler chars, void *ud, bool *stopped,
        wq_err_t *err)
{
    XML_Parser p = XML_ParserCreateNS("UTF-8", '|');
    if (!p)
        return wq_err_set(err, WQ_E_NOMEM, "xlsx", _("out of memory"));
    XML_SetUserData(p, ud);
    XML_SetElementHandler(p, start, end);
    if (chars)
        XML_SetCharacterDataHandler(p, chars);
    int rc = WQ_OK;
    if (XML_Parse(p, text, (int) size, 1) == XML_STATUS_ERROR) {
        if (!(stopped && *stopped))
            rc = wq_err_set(err, WQ_E_FORMAT, "xlsx", _("%s is not well-formed XML (line %lu: %s)"),
                            part, (unsigned long) XML_GetCurrentLineNumber(p),
                            XML_ErrorString(XML_GetErrorCode(p)));
    }
    XML_ParserFree(p);
    return rc;
}

/*  ---- workbook and relationships ---------------------------------------- */

typedef struct {
    wq_xlsx_t *x;
    bool oom;
} s_wb_t;

static void XMLCALL
s_wb_start(void *ud, const char *name, const char **atts)
{
    s_wb_t *w = ud;
    const char *l = s_local(name);
    if (strcmp(l, "workbookPr") == 0) {
        const char *d = s_attr(atts, "date1904");
        w->x->date1904 = d && (strcmp(d, "1") == 0 || strcmp(d, "true") == 0);
    } else if (strcmp(l, "sheet") == 0) {
        const char *n = s_attr(atts, "name"), *rid = s_attr(atts, "id");
        if (!n || !rid)
            return;
        s_sheet_t *grown = realloc(w->x->sheets, (w->x->nsheets + 1) * sizeof *grown);
        if (!grown) {
            w->oom = true;
            return;
        }
        w->x->sheets = grown;
        s_sheet_t *s = &grown[w->x->nsheets];
        s->name = strdup(n);
        s->rid = strdup(rid);
        s->part = NULL;
        if (!s->name || !s->rid) {
            free(s->name);
            free(s->rid);
            w->oom = true;
            return;
        }
        w->x->nsheets++;
    }
}

static void XMLCALL
s_rels_start(void *ud, const char *name, const char **atts)
{
    s_wb_t *w = ud;
    if (strcmp(s_local(name), "Relationship") != 0)
        return;
    const char *id = s_attr(atts, "Id"), *target = s_attr(atts, "Target");
    if (!id || !target)
        return;
    for (size_t i = 0; i < w->x->nsheets; i++) {
        s_sheet_t *s = &w->x->sheets[i];
        if (s->part || strcmp(s->rid, id) != 0)
            continue;
        /* Targets are relative to xl/, or absolute from the package root. */
        size_t n = strlen(target) + 4;
        s->part = malloc(n);
        if (!s->part) {
            w->oom = true;
            return;
        }
        if (target[0] == '/')
            snprintf(s->part, n, "%s", target + 1);
        else
            snprintf(s->part, n, "xl/%s", target);
    }
}

static void XMLCALL
s_noop_end(void *ud, const char *name)
{
    (void) ud;
    (void) name;
}

/*  ---- shared strings ----------------------------------------------------- */

typedef struct {
    wq_xlsx_t *x;
    s_buf_t text;
    int in_t, in_rph;
    bool oom;
} s_sst_t;

static void XMLCALL
s_sst_start(void *ud, const char *name, const char **atts)
{
    (void) atts;
    s_sst_t *s = ud;
    const char *l = s_local(name);
    if (strcmp(l, "si") == 0)
        s_buf_clear(&s->text);
    else if (strcmp(l, "rPh") == 0)
        s->in_rph++;
    else if (strcmp(l, "t") == 0)
        s->in_t++;
}

static void XMLCALL
s_sst_end(void *ud, const char *name)
{
    s_sst_t *s = ud;
    const char *l = s_local(name);
    if (strcmp(l, "rPh") == 0)
        s->in_rph--;
    else if (strcmp(l, "t") == 0)
        s->in_t--;
    else if (strcmp(l, "si") == 0) {
        wq_xlsx_t *x = s->x;
        if (x->nsst == x->csst) {
            size_t cap = x->csst ? x->csst * 2 : 256;
            char **p = realloc(x->sst, cap * sizeof *p);
            if (!p) {
                s->oom = true;
                return;
            }
            x->sst = p;
            x->csst = cap;
        }
        char *copy = strdup(s->text.s ? s->text.s : "");
        if (!copy) {
            s->oom = true;
            return;
        }
        x->sst[x->nsst++] = copy;
    }
}

static void XMLCALL
s_sst_chars(void *ud, const char *text, int len)
{
    s_sst_t *s = ud;
    if (s->in_t > 0 && s->in_rph == 0)
        s_buf_add(&s->text, text, (size_t) len);
}

/*  ---- styles: which cell formats are dates ------------------------------ */

typedef struct {
    wq_xlsx_t *x;
    int in_cellxfs;
    int custom[64];         /* custom numFmtIds that are dates */
    size_t ncustom;
    bool oom;
} s_sty_t;

/*  Built-in number formats that show a date (ECMA-376 18.8.30, and the
    East Asian ones Chinese Excel uses: 27-31, 36, 50-58). */
static bool
s_builtin_date(int id)
{
    return (id >= 14 && id <= 17) || id == 22 || (id >= 27 && id <= 31) || id == 36
           || (id >= 50 && id <= 58);
}

/*  A custom format code shows a date if it has y or d outside quotes,
    brackets and escapes. */
static bool
s_code_is_date(const char *code)
{
    bool quoted = false;
    int bracket = 0;
    for (const char *p = code; *p; p++) {
        char c = *p;
        if (c == '"')
            quoted = !quoted;
        else if (quoted)
            continue;
        else if (c == '\\' && p[1])
            p++;
        else if (c == '[')
            bracket++;
        else if (c == ']' && bracket > 0)
            bracket--;
        else if (bracket == 0 && (c == 'y' || c == 'Y' || c == 'd' || c == 'D'))
            return true;
    }
    return false;
}

static void XMLCALL
s_sty_start(void *ud, const char *name, const char **atts)
{
    s_sty_t *s = ud;
    const char *l = s_local(name);
    if (strcmp(l, "numFmt") == 0) {
        const char *id = s_attr(atts, "numFmtId"), *code = s_attr(atts, "formatCode");
        if (id && code && s_code_is_date(code) && s->ncustom < 64)
            s->custom[s->ncustom++] = atoi(id);
    } else if (strcmp(l, "cellXfs") == 0) {
        s->in_cellxfs++;
    } else if (strcmp(l, "xf") == 0 && s->in_cellxfs > 0) {
        const char *id = s_attr(atts, "numFmtId");
        int v = id ? atoi(id) : 0;
        bool date = s_builtin_date(v);
        for (size_t i = 0; i < s->ncustom && !date; i++)
            date = s->custom[i] == v;
        wq_xlsx_t *x = s->x;
        if (x->nxf == x->cxf) {
            size_t cap = x->cxf ? x->cxf * 2 : 32;
            bool *p = realloc(x->xf_date, cap * sizeof *p);
            if (!p) {
                s->oom = true;
                return;
            }
            x->xf_date = p;
            x->cxf = cap;
        }
        x->xf_date[x->nxf++] = date;
    }
}

static void XMLCALL
s_sty_end(void *ud, const char *name)
{
    s_sty_t *s = ud;
    if (strcmp(s_local(name), "cellXfs") == 0)
        s->in_cellxfs--;
}

/*  ---- open / close ------------------------------------------------------- */

static int
s_load(wq_xlsx_t *x, wq_err_t *err)
{
    char *text = NULL;
    size_t size = 0;
    bool found;
    int rc;
    s_wb_t w = {.x = x};
    rc = s_read_part(x, "xl/workbook.xml", &text, &size, &found, err);
    if (rc != WQ_OK)
        return rc;
    if (!found)
        return wq_err_set(err, WQ_E_FORMAT, "xlsx", _("the file is a zip but not an .xlsx "
                                                     "workbook (no xl/workbook.xml)"));
    rc = s_parse("xl/workbook.xml", text, size, s_wb_start, s_noop_end, NULL, &w, NULL, err);
    free(text);
    if (rc == WQ_OK && w.oom)
        rc = wq_err_set(err, WQ_E_NOMEM, "xlsx", _("out of memory"));
    if (rc != WQ_OK)
        return rc;
    rc = s_read_part(x, "xl/_rels/workbook.xml.rels", &text, &size, &found, err);
    if (rc != WQ_OK)
        return rc;
    if (found) {
        rc = s_parse("xl/_rels/workbook.xml.rels", text, size, s_rels_start, s_noop_end, NULL, &w,
                     NULL, err);
        free(text);
        if (rc == WQ_OK && w.oom)
            rc = wq_err_set(err, WQ_E_NOMEM, "xlsx", _("out of memory"));
        if (rc != WQ_OK)
            return rc;
    }
    rc = s_read_part(x, "xl/sharedStrings.xml", &text, &size, &found, err);
    if (rc != WQ_OK)
        return rc;
    if (found) {
        s_sst_t s = {.x = x};
        rc = s_parse("xl/sharedStrings.xml", text, size, s_sst_start, s_sst_end, s_sst_chars, &s,
                     NULL, err);
        free(text);
        free(s.text.s);
        if (rc == WQ_OK && (s.oom || s.text.oom))
            rc = wq_err_set(err, WQ_E_NOMEM, "xlsx", _("out of memory"));
        if (rc != WQ_OK)
            return rc;
    }
    rc = s_read_part(x, "xl/styles.xml", &text, &size, &found, err);
    if (rc != WQ_OK)
        return rc;
    if (found) {
        s_sty_t s = {.x = x};
        rc = s_parse("xl/styles.xml", text, size, s_sty_start, s_sty_end, NULL, &s, NULL, err);
        free(text);
        if (rc == WQ_OK && s.oom)
            rc = wq_err_set(err, WQ_E_NOMEM, "xlsx", _("out of memory"));
    }
    return rc;
}

static int
s_open(zip_source_t *src, const char *what, wq_xlsx_t **out, wq_err_t *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    wq_xlsx_t *x = calloc(1, sizeof *x);
    if (!x) {
        zip_source_free(src);
        return wq_err_set(err, WQ_E_NOMEM, "xlsx", _("out of memory"));
    }
    x->zip = zip_open_from_source(src, ZIP_RDONLY, &ze);
    if (!x->zip) {
        zip_source_free(src);
        int rc = wq_err_set(err, WQ_E_FORMAT, "xlsx",
                            _("%s is not an .xlsx workbook (not a zip file: %s); save it in "
                              "Excel or WPS as \"Excel workbook (*.xlsx)\""),
                            what, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        free(x);
        return rc;
    }
    zip_error_fini(&ze);
    int rc = s_load(x, err);
    if (rc != WQ_OK) {
        wq_xlsx_destroy(&x);
        return rc;
    }
    *out = x;
    return WQ_OK;
}

int
wq_xlsx_open_file(const char *path, wq_xlsx_t **out, wq_err_t *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_file_create(path, 0, -1, &ze);
    if (!src) {
        int rc = wq_err_set(err, WQ_E_IO, "file", _("cannot open %s: %s"), path,
                            zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    zip_error_fini(&ze);
    return s_open(src, path, out, err);
}

int
wq_xlsx_open_buffer(const void *data, size_t size, wq_xlsx_t **out, wq_err_t *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(data, size, 0, &ze);
    zip_error_fini(&ze);
    if (!src)
        return wq_err_set(err, WQ_E_NOMEM, "xlsx", _("out of memory"));
    return s_open(src, _("the upload"), out, err);
}

void
wq_xlsx_destroy(wq_xlsx_t **self)
{
    if (!self || !*self)
        return;
    wq_xlsx_t *x = *self;
    if (x->zip)
        zip_discard(x->zip);
    for (size_t i = 0; i < x->nsheets; i++) {
        free(x->sheets[i].name);
        free(x->sheets[i].part);
        free(x->sheets[i].rid);
    }
    free(x->sheets);
    for (size_t i = 0; i < x->nsst; i++)
        free(x->sst[i]);
    free(x->sst);
    free(x->xf_date);
    free(x);
    *self = NULL;
}

size_t
wq_xlsx_sheet_count(const wq_xlsx_t *self)
{
    return self->nsheets;
}

const char *
wq_xlsx_sheet_name(const wq_xlsx_t *self, size_t i)
{
    return i < self->nsheets ? self->sheets[i].name : NULL;
}

/*  ---- worksheets ---------------------------------------------------------- */

typedef struct {
    wq_xlsx_t *x;
    wq_xlsx_row_fn *fn;
    void *arg;
    unsigned long row;
    long col;               /* current cell's column, 0-based */
    char type[12];          /* the cell's t attribute */
    long style;
    s_buf_t v;              /* <v> or inline <t> text */
    int in_v, in_is, in_t, in_rph;
    char *cells[WQ_XLSX_MAX_COLS];
    size_t ncells;
    bool oom, stopped, in_row;
    XML_Parser parser;
} s_ws_t;

/*  "AB12" -> column 27 (0-based), -1 if no letters. */
static long
s_ref_col(const char *ref)
{
    long c = 0;
    int n = 0;
    for (; *ref >= 'A' && *ref <= 'Z' && n < 4; ref++, n++)
        c = c * 26 + (*ref - 'A' + 1);
    return n ? c - 1 : -1;
}

static void
s_ws_clear_row(s_ws_t *w)
{
    for (size_t i = 0; i < w->ncells; i++) {
        free(w->cells[i]);
        w->cells[i] = NULL;
    }
    w->ncells = 0;
}

static void XMLCALL
s_ws_start(void *ud, const char *name, const char **atts)
{
    s_ws_t *w = ud;
    if (w->stopped)
        return;
    const char *l = s_local(name);
    if (strcmp(l, "row") == 0) {
        const char *r = s_attr(atts, "r");
        w->row = r ? strtoul(r, NULL, 10) : w->row + 1;
        w->col = -1;
        w->in_row = true;
        s_ws_clear_row(w);
    } else if (strcmp(l, "c") == 0) {
        const char *r = s_attr(atts, "r"), *t = s_attr(atts, "t"), *s = s_attr(atts, "s");
        long c = r ? s_ref_col(r) : -1;
        w->col = c >= 0 ? c : w->col + 1;
        snprintf(w->type, sizeof w->type, "%s", t ? t : "n");
        w->style = s ? atol(s) : -1;
        s_buf_clear(&w->v);
    } else if (strcmp(l, "v") == 0) {
        w->in_v++;
    } else if (strcmp(l, "is") == 0) {
        w->in_is++;
    } else if (strcmp(l, "t") == 0 && w->in_is) {
        w->in_t++;
    } else if (strcmp(l, "rPh") == 0) {
        w->in_rph++;
    }
}

/*  The text of the cell just ended, malloc'd. */
static char *
s_ws_value(s_ws_t *w)
{
    const char *v = w->v.s ? w->v.s : "";
    wq_xlsx_t *x = w->x;
    if (strcmp(w->type, "s") == 0) {
        char *end;
        unsigned long i = strtoul(v, &end, 10);
        return strdup(end != v && i < x->nsst ? x->sst[i] : "");
    }
    if (strcmp(w->type, "b") == 0)
        return strdup(strcmp(v, "1") == 0 ? "1" : "0");
    if (strcmp(w->type, "d") == 0)     /* ISO 8601 date cell */
        return strndup(v, 10);
    if (strcmp(w->type, "n") == 0 && w->style >= 0 && (size_t) w->style < x->nxf
        && x->xf_date[w->style] && *v) {
        char *end;
        double serial = strtod(v, &end);
        if (end != v && serial >= 1 && serial < 2958466) {
            /* 1900 system: day 1 is 1900-01-01 and Excel counts a 29 Feb
               1900 that never was, so from day 61 on, day 0 is 1899-12-30
               (-25569 days from 1970). 1904 system: day 0 is 1904-01-01. */
            long d = (long) serial;
            int32_t days = x->date1904 ? (int32_t) (d - 24107) : (int32_t) (d - 25569);
            char out[11];
            if (!x->date1904 && d < 61)
                days += 1;
            wq_date_from_days(days, out);
            if (wq_date_days(out) == days)
                return strdup(out);
        }
    }
    return strdup(v);
}

static void XMLCALL
s_ws_end(void *ud, const char *name)
{
    s_ws_t *w = ud;
    if (w->stopped)
        return;
    const char *l = s_local(name);
    if (strcmp(l, "v") == 0) {
        w->in_v--;
    } else if (strcmp(l, "is") == 0) {
        w->in_is--;
    } else if (strcmp(l, "t") == 0 && w->in_is) {
        w->in_t--;
    } else if (strcmp(l, "rPh") == 0) {
        w->in_rph--;
    } else if (strcmp(l, "c") == 0) {
        if (w->col < 0 || w->col >= WQ_XLSX_MAX_COLS)
            return;
        char *val = s_ws_value(w);
        if (!val) {
            w->oom = true;
            w->stopped = true;
            XML_StopParser(w->parser, XML_FALSE);
            return;
        }
        while (w->ncells <= (size_t) w->col) {
            w->cells[w->ncells] = NULL;
            w->ncells++;
        }
        free(w->cells[w->col]);
        w->cells[w->col] = val;
    } else if (strcmp(l, "row") == 0 && w->in_row) {
        w->in_row = false;
        const char *cells[WQ_XLSX_MAX_COLS];
        for (size_t i = 0; i < w->ncells; i++)
            cells[i] = w->cells[i] ? w->cells[i] : "";
        if (w->fn(w->row, cells, w->ncells, w->arg) != 0) {
            w->stopped = true;
            XML_StopParser(w->parser, XML_FALSE);
        }
        s_ws_clear_row(w);
    }
}

static void XMLCALL
s_ws_chars(void *ud, const char *text, int len)
{
    s_ws_t *w = ud;
    if ((w->in_v || w->in_t) && !w->in_rph)
        s_buf_add(&w->v, text, (size_t) len);
}

int
wq_xlsx_sheet_rows(wq_xlsx_t *self, size_t i, wq_xlsx_row_fn *fn, void *arg, wq_err_t *err)
{
    if (i >= self->nsheets || !self->sheets[i].part)
        return wq_err_set(err, WQ_E_FORMAT, "xlsx", _("sheet %zu of the workbook has no data part"),
                          i + 1);
    const char *part = self->sheets[i].part;
    char *text = NULL;
    size_t size = 0;
    bool found;
    int rc = s_read_part(self, part, &text, &size, &found, err);
    if (rc != WQ_OK)
        return rc;
    if (!found)
        return wq_err_set(err, WQ_E_FORMAT, "xlsx", _("the workbook has no %s (sheet \"%s\")"),
                          part, self->sheets[i].name);
    s_ws_t w = {.x = self, .fn = fn, .arg = arg, .col = -1};
    XML_Parser p = XML_ParserCreateNS("UTF-8", '|');
    if (!p) {
        free(text);
        return wq_err_set(err, WQ_E_NOMEM, "xlsx", _("out of memory"));
    }
    w.parser = p;
    XML_SetUserData(p, &w);
    XML_SetElementHandler(p, s_ws_start, s_ws_end);
    XML_SetCharacterDataHandler(p, s_ws_chars);
    if (XML_Parse(p, text, (int) size, 1) == XML_STATUS_ERROR && !w.stopped)
        rc = wq_err_set(err, WQ_E_FORMAT, "xlsx", _("sheet \"%s\" is not well-formed XML (line "
                                                   "%lu: %s)"), self->sheets[i].name,
                        (unsigned long) XML_GetCurrentLineNumber(p),
                        XML_ErrorString(XML_GetErrorCode(p)));
    if (rc == WQ_OK && (w.oom || w.v.oom))
        rc = wq_err_set(err, WQ_E_NOMEM, "xlsx", _("out of memory"));
    XML_ParserFree(p);
    s_ws_clear_row(&w);
    free(w.v.s);
    free(text);
    return rc;
}
