/*  =========================================================================
    importer - text to records to the outbox (see importer.h)

    The importer reads a file line by line (JSON Lines) or row by row (CSV),
    never the whole file at once, turns each into a wq_record_t with the
    field table of common/record.c, resolves "@N" references to lines of
    the same file, and adds good records to an outbox write transaction.
    Ids are printed only after the transaction holding them committed.
    =========================================================================
*/
#include "agent/importer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "common/json.h"

typedef struct {
    unsigned long line;
    char id[WQ_EVENT_ID_MAX];
} s_stored_t;

typedef struct {
    wq_outbox_t *box;
    const wq_import_opts_t *o;
    const char *path;
    wq_import_result_t *res;
    wq_outbox_txn_t *txn;
    s_stored_t *ids;
    size_t nids, cap, chunk_start;
    int fatal_rc;
    bool stop;
} s_imp_t;

static const char *s_event_fields[] = {"visit", "problem", "consultation", "target"};

static bool
s_is_event_field(const char *name)
{
    if (strncmp(name, "set.", 4) == 0)
        name += 4;
    for (size_t i = 0; i < sizeof s_event_fields / sizeof s_event_fields[0]; i++)
        if (strcmp(name, s_event_fields[i]) == 0)
            return true;
    return false;
}

wq_import_format_t
wq_import_format_parse(const char *s)
{
    if (!s)
        return WQ_IMPORT_AUTO;
    if (!strcasecmp(s, "jsonl") || !strcasecmp(s, "json") || !strcasecmp(s, "ndjson"))
        return WQ_IMPORT_JSONL;
    if (!strcasecmp(s, "csv"))
        return WQ_IMPORT_CSV;
    return WQ_IMPORT_AUTO;
}

int
wq_import_prepare(wq_record_t *rec, const char *county, wq_err_t *err)
{
    if (!(rec->present & (1ull << WQ_F_COUNTY))) {
        snprintf(rec->county, sizeof rec->county, "%s", county);
        rec->present |= 1ull << WQ_F_COUNTY;
    } else if (strcmp(rec->county, county) != 0)
        return wq_err_set(err, WQ_E_FOREIGN, "county",
                          "county %s is not this agent's county %s: an agent records only for "
                          "its own county (leave county out to use %s)", rec->county, county,
                          county);
    return wq_record_validate_content(rec, err);
}

/*  ---- bookkeeping -------------------------------------------------------- */

static void
s_bad(s_imp_t *imp, unsigned long line, const wq_err_t *e)
{
    imp->res->bad++;
    if (!imp->res->first_bad_line)
        imp->res->first_bad_line = line;
    if (imp->o->errors) {
        char buf[512];
        fprintf(imp->o->errors, "%s:%lu: %s\n", imp->path, line, wq_err_format(e, buf, sizeof buf));
    }
}

/*  "@N" -> id of line N. Returns WQ_OK with out set (a copy of value if it
    is not a reference). */
static int
s_resolve(s_imp_t *imp, unsigned long line, const char *field, const char *value,
          char out[WQ_EVENT_ID_MAX], wq_err_t *err)
{
    if (value[0] != '@') {
        snprintf(out, WQ_EVENT_ID_MAX, "%s", value);
        return WQ_OK;
    }
    char *end = NULL;
    errno = 0;
    unsigned long n = strtoul(value + 1, &end, 10);
    if (value[1] < '1' || value[1] > '9' || *end != '\0' || errno)
        return wq_err_set(err, WQ_E_FORMAT, field,
                          "\"%s\" is not a line reference: write @N with N an earlier line "
                          "number of this file", value);
    if (n >= line)
        return wq_err_set(err, WQ_E_FORMAT, field,
                          "%s refers to line %lu, which is not before this line: a record may "
                          "only refer to an earlier line", value, n);
    size_t lo = 0, hi = imp->nids;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (imp->ids[mid].line < n)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= imp->nids || imp->ids[lo].line != n)
        return wq_err_set(err, WQ_E_NOTFOUND, field,
                          "%s refers to line %lu, which was not stored (it had errors or holds "
                          "no record)", value, n);
    memcpy(out, imp->ids[lo].id, WQ_EVENT_ID_MAX);
    return WQ_OK;
}

static void
s_fatal(s_imp_t *imp, unsigned long line, int rc, const wq_err_t *e)
{
    if (imp->o->errors) {
        char buf[512];
        fprintf(imp->o->errors, "%s:%lu: import stopped: %s\n", imp->path, line,
                wq_err_format(e, buf, sizeof buf));
    }
    imp->fatal_rc = rc;
    imp->stop = true;
}

static void
s_commit(s_imp_t *imp, unsigned long line)
{
    wq_err_t e;
    if (!imp->txn)
        return;
    int rc = wq_outbox_commit(&imp->txn, &e);
    if (rc != WQ_OK) {
        imp->nids = imp->chunk_start;
        s_fatal(imp, line, rc, &e);
        return;
    }
    for (size_t i = imp->chunk_start; i < imp->nids; i++)
        if (imp->o->out)
            fprintf(imp->o->out, "%lu\t%s\n", imp->ids[i].line, imp->ids[i].id);
    if (imp->o->out)
        fflush(imp->o->out);
    imp->res->stored += imp->nids - imp->chunk_start;
    imp->chunk_start = imp->nids;
}

static void
s_add(s_imp_t *imp, unsigned long line, wq_record_t *rec)
{
    wq_err_t e;
    int rc = wq_import_prepare(rec, imp->o->county, &e);
    if (rc != WQ_OK) {
        s_bad(imp, line, &e);
        return;
    }
    if (!imp->txn) {
        rc = wq_outbox_begin(imp->box, &imp->txn, &e);
        if (rc != WQ_OK) {
            s_fatal(imp, line, rc, &e);
            return;
        }
    }
    if (imp->nids == imp->cap) {
        size_t cap = imp->cap ? imp->cap * 2 : 256;
        s_stored_t *ids = realloc(imp->ids, cap * sizeof *ids);
        if (!ids) {
            wq_err_set(&e, WQ_E_NOMEM, "", "out of memory");
            s_fatal(imp, line, WQ_E_NOMEM, &e);
            return;
        }
        imp->ids = ids;
        imp->cap = cap;
    }
    s_stored_t *slot = &imp->ids[imp->nids];
    rc = wq_outbox_txn_add(imp->txn, rec, slot->id, &e);
    if (rc == WQ_OK) {
        slot->line = line;
        imp->nids++;
        if (!imp->o->all_or_nothing && wq_outbox_txn_count(imp->txn) >= WQ_IMPORT_CHUNK)
            s_commit(imp, line);
        return;
    }
    if (!wq_outbox_txn_ok(imp->txn)) {
        /* LMDB failed inside the txn: the whole chunk is lost, say so. */
        wq_outbox_abort(&imp->txn);
        if (imp->nids > imp->chunk_start && imp->o->errors)
            fprintf(imp->o->errors, "%s: lines %lu..%lu were not stored (their transaction "
                    "failed)\n", imp->path, imp->ids[imp->chunk_start].line, line);
        imp->nids = imp->chunk_start;
        s_fatal(imp, line, rc, &e);
        return;
    }
    if (rc == WQ_E_FULL) {
        s_bad(imp, line, &e);
        s_fatal(imp, line, rc, &e);
        return;
    }
    s_bad(imp, line, &e);
}

/*  ---- JSON Lines ----------------------------------------------------------- */

static void
s_json_line(s_imp_t *imp, unsigned long line, const char *text, size_t len)
{
    wq_json_object_t *obj = NULL;
    wq_record_t *rec = NULL;
    wq_err_t e;
    int rc = wq_json_parse_object(text, len, &obj, &e);
    if (rc != WQ_OK) {
        s_bad(imp, line, &e);
        goto done;
    }
    for (size_t i = 0; i < obj->count; i++) {
        wq_json_member_t *m = &obj->members[i];
        if (m->kind != WQ_JSON_STRING || !s_is_event_field(m->key) || m->text[0] != '@')
            continue;
        char id[WQ_EVENT_ID_MAX];
        rc = s_resolve(imp, line, m->key, m->text, id, &e);
        if (rc != WQ_OK) {
            s_bad(imp, line, &e);
            goto done;
        }
        char *copy = strdup(id);
        if (!copy) {
            wq_err_set(&e, WQ_E_NOMEM, "", "out of memory");
            s_fatal(imp, line, WQ_E_NOMEM, &e);
            goto done;
        }
        free(m->text);
        m->text = copy;
    }
    rc = wq_record_from_json(obj, &rec, &e);
    if (rc != WQ_OK) {
        s_bad(imp, line, &e);
        goto done;
    }
    s_add(imp, line, rec);
done:
    wq_record_destroy(&rec);
    wq_json_object_destroy(&obj);
}

static void
s_import_jsonl(s_imp_t *imp, FILE *f)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long line = 0;
    while (!imp->stop && (n = getline(&buf, &cap, f)) >= 0) {
        line++;
        char *s = buf;
        if (line == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;
            n -= 3;
        }
        bool blank = true;
        for (ssize_t i = 0; i < n && blank; i++)
            blank = s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n';
        if (blank)
            continue;
        imp->res->lines++;
        s_json_line(imp, line, s, (size_t) n);
    }
    free(buf);
}

/*  ---- CSV ------------------------------------------------------------------- */

typedef struct {
    char **cells;
    size_t n, cap;
    char *cell;
    size_t len, ccap;
} s_row_t;

static bool
s_cell_putc(s_row_t *r, char c)
{
    if (r->len + 2 > r->ccap) {
        size_t cap = r->ccap ? r->ccap * 2 : 64;
        char *p = realloc(r->cell, cap);
        if (!p)
            return false;
        r->cell = p;
        r->ccap = cap;
    }
    r->cell[r->len++] = c;
    r->cell[r->len] = '\0';
    return true;
}

static bool
s_cell_end(s_row_t *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        char **p = realloc(r->cells, cap * sizeof *p);
        if (!p)
            return false;
        r->cells = p;
        r->cap = cap;
    }
    char *c = strndup(r->cell ? r->cell : "", r->len);
    if (!c)
        return false;
    r->cells[r->n++] = c;
    r->len = 0;
    return true;
}

static void
s_row_clear(s_row_t *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->cells[i]);
    r->n = 0;
    r->len = 0;
}

static void
s_row_free(s_row_t *r)
{
    s_row_clear(r);
    free(r->cells);
    free(r->cell);
}

/*  Read one CSV row. Returns 1 (row), 0 (end of file), -1 (syntax error in
    *e), -2 (out of memory). *start is the line the row starts on. */
static int
s_csv_row(FILE *f, s_row_t *r, unsigned long *lineno, unsigned long *start, wq_err_t *e)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    bool quoted = false, after_quote = false, any = false;
    int rc = 0;
    s_row_clear(r);
    while ((n = getline(&buf, &cap, f)) >= 0) {
        (*lineno)++;
        if (!any) {
            *start = *lineno;
            any = true;
        }
        char *s = buf;
        if (*lineno == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
            s += 3;
            n -= 3;
        }
        for (ssize_t i = 0; i < n; i++) {
            char c = s[i];
            if (quoted) {
                if (c == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        if (!s_cell_putc(r, '"'))
                            goto oom;
                        i++;
                    } else {
                        quoted = false;
                        after_quote = true;
                    }
                } else if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
                    continue;   /* CRLF inside a quoted cell becomes LF */
                } else if (!s_cell_putc(r, c))
                    goto oom;
                continue;
            }
            if (c == ',') {
                if (!s_cell_end(r))
                    goto oom;
                after_quote = false;
            } else if (c == '\n' || (c == '\r' && (i + 1 == n || s[i + 1] == '\n'))) {
                if (!s_cell_end(r))
                    goto oom;
                rc = 1;
                goto done;
            } else if (c == '"' && r->len == 0 && !after_quote) {
                quoted = true;
            } else if (after_quote) {
                wq_err_set(e, WQ_E_FORMAT, "", "unexpected character after a closing quote "
                           "(write \"\" for a quote inside a quoted cell)");
                rc = -1;
                goto done;
            } else if (!s_cell_putc(r, c))
                goto oom;
        }
        if (!quoted) {  /* last line without a newline */
            if (!s_cell_end(r))
                goto oom;
            rc = 1;
            goto done;
        }
    }
    if (quoted) {
        wq_err_set(e, WQ_E_FORMAT, "", "a quoted cell is not closed before the end of the file");
        rc = -1;
    }
    goto done;
oom:
    rc = -2;
done:
    free(buf);
    return rc;
}

static void
s_csv_record(s_imp_t *imp, unsigned long line, char **head, size_t nhead, s_row_t *r)
{
    wq_record_t *rec = NULL;
    wq_err_t e;
    int rc;
    if (r->n != nhead) {
        wq_err_set(&e, WQ_E_FORMAT, "", "the row has %zu cells, the header has %zu", r->n, nhead);
        s_bad(imp, line, &e);
        goto done;
    }
    const char *type = NULL, *of = NULL;
    for (size_t i = 0; i < nhead; i++) {
        if (strcmp(head[i], "type") == 0)
            type = r->cells[i];
        else if (strcmp(head[i], "of") == 0 && r->cells[i][0])
            of = r->cells[i];
    }
    if (!type || !type[0]) {
        wq_err_set(&e, WQ_E_MISSING, "type", "the row has no type");
        s_bad(imp, line, &e);
        goto done;
    }
    wq_rec_type_t t = wq_rec_type_parse(type);
    if (t == WQ_REC_NONE) {
        wq_err_set(&e, WQ_E_UNKNOWN, "type", "\"%s\" is not a record type", type);
        s_bad(imp, line, &e);
        goto done;
    }
    rec = wq_record_new(t);
    if (!rec) {
        wq_err_set(&e, WQ_E_NOMEM, "", "out of memory");
        s_fatal(imp, line, WQ_E_NOMEM, &e);
        goto done;
    }
    if (of) {
        rc = wq_record_set_text(rec, "of", of, &e);
        if (rc != WQ_OK) {
            s_bad(imp, line, &e);
            goto done;
        }
    }
    for (size_t i = 0; i < nhead; i++) {
        const char *name = head[i], *value = r->cells[i];
        if (!value[0] || strcmp(name, "type") == 0 || strcmp(name, "of") == 0)
            continue;
        char id[WQ_EVENT_ID_MAX];
        if (s_is_event_field(name)) {
            rc = s_resolve(imp, line, name, value, id, &e);
            if (rc != WQ_OK) {
                s_bad(imp, line, &e);
                goto done;
            }
            value = id;
        }
        if (strncmp(name, "set.", 4) == 0)
            rc = wq_record_set_patch_text(rec, name + 4, value, &e);
        else
            rc = wq_record_set_text(rec, name, value, &e);
        if (rc != WQ_OK) {
            s_bad(imp, line, &e);
            goto done;
        }
    }
    s_add(imp, line, rec);
done:
    wq_record_destroy(&rec);
}

static void
s_import_csv(s_imp_t *imp, FILE *f)
{
    s_row_t r = {0};
    char **head = NULL;
    size_t nhead = 0;
    unsigned long lineno = 0, start = 0;
    wq_err_t e;
    int rc = s_csv_row(f, &r, &lineno, &start, &e);
    if (rc != 1) {
        if (rc == 0)
            wq_err_set(&e, WQ_E_FORMAT, "", "the file is empty: a CSV import needs a header row "
                       "of field names");
        else if (rc == -2)
            wq_err_set(&e, WQ_E_NOMEM, "", "out of memory");
        s_bad(imp, 1, &e);
        goto done;
    }
    head = r.cells;
    nhead = r.n;
    r.cells = NULL;
    r.n = r.cap = 0;
    bool has_type = false;
    for (size_t i = 0; i < nhead; i++)
        has_type |= strcmp(head[i], "type") == 0;
    if (!has_type) {
        wq_err_set(&e, WQ_E_MISSING, "type", "the header row has no \"type\" column");
        s_bad(imp, 1, &e);
        goto done;
    }
    while (!imp->stop) {
        rc = s_csv_row(f, &r, &lineno, &start, &e);
        if (rc == 0)
            break;
        if (rc == -2) {
            wq_err_set(&e, WQ_E_NOMEM, "", "out of memory");
            s_fatal(imp, start, WQ_E_NOMEM, &e);
            break;
        }
        if (rc == -1) {
            imp->res->lines++;
            s_bad(imp, start, &e);
            continue;
        }
        if (r.n == 1 && r.cells[0][0] == '\0')
            continue;   /* blank line */
        imp->res->lines++;
        s_csv_record(imp, start, head, nhead, &r);
    }
done:
    for (size_t i = 0; i < nhead; i++)
        free(head[i]);
    free(head);
    s_row_free(&r);
}

int
wq_import_file(wq_outbox_t *box, const char *path, const wq_import_opts_t *o,
               wq_import_result_t *res, wq_err_t *err)
{
    int rc = WQ_OK;
    s_imp_t imp = {.box = box, .o = o, .path = path, .res = res};
    memset(res, 0, sizeof *res);
    wq_import_format_t fmt = o->format;
    if (fmt == WQ_IMPORT_AUTO) {
        const char *dot = strrchr(path, '.');
        fmt = wq_import_format_parse(dot ? dot + 1 : NULL);
        if (fmt == WQ_IMPORT_AUTO)
            return wq_err_set(err, WQ_E_FORMAT, "format",
                              "cannot tell the format of %s from its name: give --format jsonl "
                              "or --format csv", path);
    }
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f)
        return wq_err_set(err, WQ_E_IO, "file", "cannot open %s: %s", path, strerror(errno));
    if (fmt == WQ_IMPORT_JSONL)
        s_import_jsonl(&imp, f);
    else
        s_import_csv(&imp, f);
    if (ferror(f) && !imp.stop) {
        wq_err_t e;
        wq_err_set(&e, WQ_E_IO, "file", "error reading %s: %s", path, strerror(errno));
        s_fatal(&imp, 0, WQ_E_IO, &e);
    }
    if (f != stdin)
        fclose(f);
    if (imp.txn) {
        if (o->all_or_nothing && (res->bad > 0 || imp.fatal_rc != WQ_OK)) {
            wq_outbox_abort(&imp.txn);
            imp.nids = imp.chunk_start;
        } else
            s_commit(&imp, 0);
    }
    if (imp.fatal_rc != WQ_OK)
        rc = wq_err_set(err, imp.fatal_rc, "", "the import stopped early: %zu of the records "
                        "read were stored", res->stored);
    else if (res->bad > 0)
        rc = wq_err_set(err, WQ_E_FORMAT, "", "%zu bad line(s), first at line %lu; %s", res->bad,
                        res->first_bad_line,
                        o->all_or_nothing ? "nothing was stored (--all-or-nothing)"
                                          : "the other lines were stored");
    free(imp.ids);
    return rc;
}
