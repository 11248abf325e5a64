/*  =========================================================================
    importer - what people write, to records, to the outbox (see importer.h)

    Three readers (JSON Lines, CSV, XLSX) feed one row engine. The engine
    maps a table's header to fields once, turns each row into a wq_record_t
    through the field table of common/record.c, resolves "@N" and short ids,
    asks the outbox's fingerprint index whether the record is already there,
    and adds the new ones to an outbox write transaction. Ids are reported
    only after the transaction holding them committed.
    =========================================================================
*/
#include "agent/importer.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "common/date.h"
#include "common/i18n.h"
#include "common/json.h"
#include "common/utf8.h"
#include "common/xlsx.h"

typedef struct {
    unsigned long line;
    char id[WQ_EVENT_ID_MAX];
    bool stored;        /* false: a duplicate, id is the existing record's */
    wq_rec_type_t type;
    int sheet;          /* index in wq_import_t.sheets, -1 if none */
} s_row_id_t;

/*  One column of the current table. */
typedef struct {
    char *header;       /* as written (trimmed) */
    wq_field_t field;   /* WQ_F_COUNT: not a field (ignored, or ref) */
    bool patch;         /* set.FIELD */
    bool ref;           /* the row's own id */
} s_col_t;

struct wq_import_t {
    wq_outbox_t *box;
    const wq_import_opts_t *o;
    wq_import_result_t res;
    wq_outbox_txn_t *txn;
    uint64_t seq_before;            /* last seq when the txn began: ids above are ours */
    /* the current table */
    char *file, *sheet;
    s_col_t *cols;
    size_t ncols;
    bool table_ok;
    wq_rec_type_t table_type;       /* from the sheet name or opts */
    /* rows of the current table that have an id ("@N"), in line order */
    s_row_id_t *ids;
    size_t nids, cap, chunk_start;
    size_t table_start;             /* ids[table_start..nids): rows of this table */
    int fatal_rc;
    wq_err_t fatal;
    bool stop;
    char **sheets;                  /* names of the sheets seen (for reports after commit) */
    size_t nsheets;
};

/*  ---- small helpers ------------------------------------------------------- */

wq_import_format_t
wq_import_format_parse(const char *s)
{
    if (!s)
        return WQ_IMPORT_AUTO;
    if (!strcasecmp(s, "jsonl") || !strcasecmp(s, "json") || !strcasecmp(s, "ndjson"))
        return WQ_IMPORT_JSONL;
    if (!strcasecmp(s, "csv") || !strcasecmp(s, "txt"))
        return WQ_IMPORT_CSV;
    if (!strcasecmp(s, "xlsx"))
        return WQ_IMPORT_XLSX;
    return WQ_IMPORT_AUTO;
}

static wq_import_format_t
s_format_of(const char *name)
{
    const char *dot = name ? strrchr(name, '.') : NULL;
    return wq_import_format_parse(dot ? dot + 1 : NULL);
}

int
wq_import_prepare(wq_record_t *rec, const char *county, wq_err_t *err)
{
    if (!(rec->present & (1ull << WQ_F_COUNTY))) {
        snprintf(rec->county, sizeof rec->county, "%s", county);
        rec->present |= 1ull << WQ_F_COUNTY;
    } else if (strcmp(rec->county, county) != 0)
        return wq_err_set(err, WQ_E_FOREIGN, "county",
                          _("county %s is not this agent's county %s: an agent records only for "
                            "its own county (leave county out to use %s)"), rec->county, county,
                          county);
    return wq_record_validate_content(rec, err);
}

/*  Trimmed copy of a cell: spaces, tabs, CR/LF at the ends and U+3000. */
static char *
s_trim_dup(const char *s)
{
    const char *a = s, *b = s + strlen(s);
    for (;;) {
        if (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n')
            a++;
        else if (strncmp(a, "\xE3\x80\x80", 3) == 0)
            a += 3;
        else
            break;
    }
    for (;;) {
        if (b > a && (b[-1] == ' ' || b[-1] == '\t' || b[-1] == '\r' || b[-1] == '\n'))
            b--;
        else if (b - a >= 3 && memcmp(b - 3, "\xE3\x80\x80", 3) == 0)
            b -= 3;
        else
            break;
    }
    return strndup(a, (size_t) (b - a));
}

static bool
s_blank(const char *s)
{
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
            return strncmp(s, "\xE3\x80\x80", 3) == 0 ? s_blank(s + 3) : false;
    return true;
}

static const char *s_event_fields[] = {"visit", "problem", "consultation", "target"};

static bool
s_is_event_field(wq_field_t f)
{
    for (size_t i = 0; i < sizeof s_event_fields / sizeof s_event_fields[0]; i++)
        if (f == wq_field_parse(s_event_fields[i]))
            return true;
    return false;
}

static wq_rec_type_t
s_ref_type(wq_field_t f)
{
    return f == WQ_F_VISIT ? WQ_REC_VISIT : f == WQ_F_PROBLEM ? WQ_REC_PROBLEM
           : f == WQ_F_CONSULTATION ? WQ_REC_CONSULTATION : WQ_REC_NONE;
}

/*  ---- references that hold ------------------------------------------------- */

#define S_CAMPAIGN_START "2019-01-01"

static bool
s_only_spaces(const char *t)
{
    return t && t[0] && s_blank(t);
}

int
wq_import_check_refs(wq_outbox_t *box, wq_outbox_txn_t *txn, const wq_record_t *rec,
                     char *warn, size_t warn_size, wq_err_t *err)
{
    if (warn && warn_size)
        warn[0] = '\0';
    /* Dates that cannot be right, and one that is suspicious. */
    char today[11];
    wq_date_today(today);
    if ((rec->present & (1ull << WQ_F_DATE)) && strcmp(rec->date, today) > 0)
        return wq_err_set(err, WQ_E_RANGE, "date", _("%s is in the future (today is %s): give "
                                                     "the date the activity took place"),
                          rec->date, today);
    if (rec->type == WQ_REC_PLAN && (rec->present & (1ull << WQ_F_DEADLINE))
        && strcmp(rec->deadline, rec->date) < 0)
        return wq_err_set(err, WQ_E_RANGE, "deadline", _("the deadline %s is before the plan's "
                                                         "date %s"), rec->deadline, rec->date);
    if ((rec->present & (1ull << WQ_F_DATE)) && strcmp(rec->date, S_CAMPAIGN_START) < 0 && warn)
        snprintf(warn, warn_size, _("the date %s is before the campaign (2019): check it"),
                 rec->date);
    /* Texts of only spaces. */
    const struct { wq_field_t f; const char *v; } texts[] = {
        {WQ_F_NAME, rec->name}, {WQ_F_DESCRIPTION, rec->description},
        {WQ_F_MEASURES, rec->measures}, {WQ_F_CONTENT, rec->content},
        {WQ_F_QUESTION, rec->question}, {WQ_F_ANSWER, rec->answer}, {WQ_F_REASON, rec->reason},
        {WQ_F_FINDINGS, rec->findings}, {WQ_F_NOTE, rec->note}, {WQ_F_GOAL, rec->goal}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        if (s_only_spaces(texts[i].v))
            return wq_err_set(err, WQ_E_RANGE, wq_field_name(texts[i].f),
                              _("the %s holds only spaces: write the text, or leave it out"),
                              wq_field_label(texts[i].f));
    /* The event it names. */
    const char *id = NULL, *fname = NULL;
    wq_rec_type_t want = WQ_REC_NONE;
    switch (rec->type) {
    case WQ_REC_PLAN:
    case WQ_REC_PROGRESS:
        id = rec->problem, fname = "problem", want = WQ_REC_PROBLEM;
        break;
    case WQ_REC_ANSWER:
        id = rec->consultation, fname = "consultation", want = WQ_REC_CONSULTATION;
        break;
    case WQ_REC_CORRECTION:
        id = rec->target, fname = "target", want = rec->of;
        break;
    case WQ_REC_RETRACTION:
        id = rec->target, fname = "target";
        break;
    case WQ_REC_PROBLEM:
        if (rec->present & (1ull << WQ_F_VISIT))
            id = rec->visit, fname = "visit", want = WQ_REC_VISIT;
        break;
    default:
        break;
    }
    if (!id || !id[0])
        return WQ_OK;
    wq_record_t *ref = NULL;
    bool own = false;
    int rc = txn ? wq_outbox_txn_get(txn, id, &ref, &own, err)
                 : wq_outbox_get(box, id, &ref, &own, err);
    if (rc != WQ_OK) {
        snprintf(err->field, sizeof err->field, "%s", fname);
        return rc;
    }
    if (!own)
        return WQ_OK;   /* another agent's: the collector will join them */
    if (!ref)
        return wq_err_set(err, WQ_E_NOTFOUND, fname, _("%s is not a record of this agent: no "
                                                       "record has that id (check the number)"),
                          id);
    if (want != WQ_REC_NONE && ref->type != want)
        rc = wq_err_set(err, WQ_E_TYPE, fname, _("%s is a %s record, not a %s"), id,
                        wq_rec_type_label(ref->type), wq_rec_type_label(want));
    else if ((rec->type == WQ_REC_PLAN || rec->type == WQ_REC_PROGRESS
              || rec->type == WQ_REC_ANSWER)
             && (rec->present & (1ull << WQ_F_ENT)) && strcmp(ref->ent, rec->ent) != 0)
        rc = wq_err_set(err, WQ_E_FORMAT, "ent", _("the enterprise %s is not the one of %s (%s)"),
                        rec->ent, id, ref->ent);
    wq_record_destroy(&ref);
    return rc;
}

/*  ---- reporting ----------------------------------------------------------- */

static void
s_emit_in(wq_import_t *imp, const char *sheet, unsigned long line, wq_row_outcome_t outcome,
          wq_rec_type_t type, const char *id, unsigned long same_as, const char *message,
          const wq_err_t *e)
{
    const wq_import_opts_t *o = imp->o;
    wq_import_row_report_t r = {imp->file, sheet, line, outcome, type, id, same_as, message, e};
    if (o->report)
        o->report(&r, o->report_arg);
    if (outcome == WQ_ROW_STORED && o->out) {
        if (sheet)     /* a workbook: which sheet's row */
            fprintf(o->out, "%s!%lu\t%s\n", sheet, line, id);
        else
            fprintf(o->out, "%lu\t%s\n", line, id);
    }
    if (message && o->errors) {
        if (sheet)
            fprintf(o->errors, _("%s: sheet \"%s\" row %lu: %s\n"), imp->file, sheet, line,
                    message);
        else if (line)
            fprintf(o->errors, _("%s:%lu: %s\n"), imp->file, line, message);
        else
            fprintf(o->errors, "%s: %s\n", imp->file, message);
    }
}

static void
s_emit(wq_import_t *imp, unsigned long line, wq_row_outcome_t outcome, wq_rec_type_t type,
       const char *id, unsigned long same_as, const char *message, const wq_err_t *e)
{
    s_emit_in(imp, imp->sheet, line, outcome, type, id, same_as, message, e);
}

/*  The column that holds field f (patch or not), or NULL. */
static const s_col_t *
s_col_of(const wq_import_t *imp, const char *field)
{
    bool patch = strncmp(field, "set.", 4) == 0;
    wq_field_t f = wq_field_parse(patch ? field + 4 : field);
    for (size_t i = 0; i < imp->ncols; i++)
        if (imp->cols[i].field == f && imp->cols[i].patch == patch && f != WQ_F_COUNT)
            return &imp->cols[i];
    return NULL;
}

/*  A bad row: the message names the column as the user wrote it and the
    value, then why (which says what to write instead). */
static void
s_bad(wq_import_t *imp, unsigned long line, wq_rec_type_t type, const wq_err_t *e,
      const char *const *cells, size_t ncells)
{
    char msg[1024];
    imp->res.bad++;
    if (!imp->res.first_bad_line)
        imp->res.first_bad_line = line;
    const s_col_t *col = imp->cols && e->field[0] ? s_col_of(imp, e->field) : NULL;
    const char *code = wq_errname(e->code);
    if (col && cells) {
        size_t i = (size_t) (col - imp->cols);
        const char *value = i < ncells ? cells[i] : "";
        char *v = s_trim_dup(value);
        if (v && *v)
            snprintf(msg, sizeof msg, _("column \"%s\", value \"%s\": %s (%s)"), col->header, v,
                     e->text, code);
        else
            snprintf(msg, sizeof msg, _("column \"%s\" is empty: %s (%s)"), col->header, e->text,
                     code);
        free(v);
    } else if (e->field[0]) {
        wq_field_t f = wq_field_parse(strncmp(e->field, "set.", 4) == 0 ? e->field + 4 : e->field);
        if (f != WQ_F_COUNT && wq_i18n_chinese())
            snprintf(msg, sizeof msg, "%s（%s）：%s (%s)", wq_field_label(f), e->field, e->text,
                     code);
        else
            snprintf(msg, sizeof msg, "%s: %s (%s)", e->field, e->text, code);
    } else
        snprintf(msg, sizeof msg, "%s (%s)", e->text, code);
    s_emit(imp, line, WQ_ROW_BAD, type, NULL, 0, msg, e);
}

static void
s_fatal(wq_import_t *imp, unsigned long line, int rc, const wq_err_t *e)
{
    char msg[700];
    snprintf(msg, sizeof msg, _("import stopped: %s"), e->text);
    s_emit(imp, line, WQ_ROW_BAD, WQ_REC_NONE, NULL, 0, msg, e);
    imp->fatal_rc = rc;
    imp->fatal = *e;
    imp->stop = true;
}

/*  ---- ids of the rows of this table (for "@N") ----------------------------- */

static bool
s_remember(wq_import_t *imp, unsigned long line, const char *id, bool stored, wq_rec_type_t type)
{
    if (imp->nids == imp->cap) {
        size_t cap = imp->cap ? imp->cap * 2 : 256;
        s_row_id_t *ids = realloc(imp->ids, cap * sizeof *ids);
        if (!ids)
            return false;
        imp->ids = ids;
        imp->cap = cap;
    }
    s_row_id_t *slot = &imp->ids[imp->nids++];
    slot->line = line;
    snprintf(slot->id, sizeof slot->id, "%s", id);
    slot->stored = stored;
    slot->type = type;
    slot->sheet = imp->sheet ? (int) imp->nsheets - 1 : -1;
    return true;
}

static const s_row_id_t *
s_find_line(const wq_import_t *imp, unsigned long n)
{
    size_t lo = imp->table_start, hi = imp->nids;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (imp->ids[mid].line < n)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < imp->nids && imp->ids[lo].line == n ? &imp->ids[lo] : NULL;
}

/*  An event-id cell: "@N", a short id, or a full id, to a full id. */
static int
s_resolve(wq_import_t *imp, unsigned long line, wq_field_t f, const char *fname,
          const char *value, char out[WQ_EVENT_ID_MAX], wq_err_t *err)
{
    unsigned long n;
    if (value[0] == '@') {
        if (!wq_event_ref_is_line(value, &n))
            return wq_err_set(err, WQ_E_FORMAT, fname,
                              _("\"%s\" is not a line reference: write @N with N an earlier "
                                "line number of this file"), value);
        if (n >= line)
            return wq_err_set(err, WQ_E_FORMAT, fname,
                              _("%s refers to line %lu, which is not before this line: a record "
                                "may only refer to an earlier line"), value, n);
        const s_row_id_t *r = s_find_line(imp, n);
        if (!r)
            return wq_err_set(err, WQ_E_NOTFOUND, fname,
                              _("%s refers to line %lu, which was not stored (it had errors or "
                                "holds no record)"), value, n);
        if (imp->o->preview && r->stored)
            /* A well-formed stand-in: the real id exists only after the commit. */
            snprintf(out, WQ_EVENT_ID_MAX, "%s", r->id);
        else
            memcpy(out, r->id, WQ_EVENT_ID_MAX);
        return WQ_OK;
    }
    bool is_short = false;
    int rc = wq_outbox_short_id(imp->box, s_ref_type(f), value, out, &is_short, err);
    if (rc != WQ_OK) {
        snprintf(err->field, sizeof err->field, "%s", fname);
        return rc;
    }
    if (!is_short)
        snprintf(out, WQ_EVENT_ID_MAX, "%s", value);
    return WQ_OK;
}

/*  ---- committing ------------------------------------------------------------ */

static void
s_commit(wq_import_t *imp, unsigned long line)
{
    wq_err_t e;
    if (!imp->txn)
        return;
    int rc = wq_outbox_commit(&imp->txn, &e);
    if (rc != WQ_OK) {
        s_fatal(imp, line, rc, &e);
        return;
    }
    for (size_t i = imp->chunk_start; i < imp->nids; i++)
        if (imp->ids[i].stored) {
            imp->res.stored++;
            s_emit_in(imp, imp->ids[i].sheet >= 0 ? imp->sheets[imp->ids[i].sheet] : NULL,
                      imp->ids[i].line, WQ_ROW_STORED, imp->ids[i].type, imp->ids[i].id, 0, NULL,
                      NULL);
        }
    if (imp->o->out)
        fflush(imp->o->out);
    imp->chunk_start = imp->nids;
}

/*  The rows added since the last commit are lost (their txn failed). */
static void
s_lose_chunk(wq_import_t *imp)
{
    size_t keep = imp->chunk_start;
    for (size_t i = imp->chunk_start; i < imp->nids; i++)
        if (!imp->ids[i].stored)
            imp->ids[keep++] = imp->ids[i];
    imp->nids = keep;
}

static bool
s_begin(wq_import_t *imp, unsigned long line)
{
    wq_err_t e;
    if (imp->txn)
        return true;
    int rc = wq_outbox_begin(imp->box, &imp->txn, &e);
    if (rc != WQ_OK) {
        s_fatal(imp, line, rc, &e);
        return false;
    }
    return true;
}

/*  Check rec for duplicates and add it. */
static void
s_add(wq_import_t *imp, unsigned long line, wq_record_t *rec, const char *ref,
      const char *const *cells, size_t ncells)
{
    wq_err_t e;
    char msg[600];
    int rc = wq_import_prepare(rec, imp->o->county, &e);
    if (rc != WQ_OK) {
        s_bad(imp, line, rec->type, &e, cells, ncells);
        return;
    }
    if (!s_begin(imp, line))
        return;
    char warn[300];
    rc = wq_import_check_refs(imp->box, imp->txn, rec, warn, sizeof warn, &e);
    if (rc != WQ_OK) {
        if (!wq_outbox_txn_ok(imp->txn)) {
            s_fatal(imp, line, rc, &e);
            return;
        }
        s_bad(imp, line, rec->type, &e, cells, ncells);
        return;
    }
    if (warn[0])
        s_emit(imp, line, WQ_ROW_NOTE, rec->type, NULL, 0, warn, NULL);
    if (!imp->o->repeat) {
        wq_outbox_match_t m;
        rc = wq_outbox_txn_find_same(imp->txn, rec, ref, &m, &e);
        if (rc != WQ_OK) {
            s_fatal(imp, line, rc, &e);
            return;
        }
        if (m.found) {
            unsigned long same_as = 0;
            bool ours = false;
            for (size_t i = 0; i < imp->nids && !same_as; i++)
                if (strcmp(imp->ids[i].id, m.id) == 0 && imp->ids[i].stored)
                    same_as = imp->ids[i].line;
            ours = same_as != 0;
            if (ours)
                snprintf(msg, sizeof msg, _("same as line %lu, skipped"), same_as);
            else if (m.by_ref && !m.same_content)
                snprintf(msg, sizeof msg, _("ref %s was already recorded as %s with other "
                                            "content; skipped (to change that record, record a "
                                            "correction)"), ref, m.id);
            else
                snprintf(msg, sizeof msg, _("already recorded as %s, skipped"), m.id);
            imp->res.duplicates++;
            if (!s_remember(imp, line, m.id, false, rec->type)) {
                wq_err_set(&e, WQ_E_NOMEM, "", _("out of memory"));
                s_fatal(imp, line, WQ_E_NOMEM, &e);
                return;
            }
            s_emit(imp, line, WQ_ROW_DUPLICATE, rec->type, ours ? NULL : m.id, same_as, msg, NULL);
            return;
        }
    }
    char id[WQ_EVENT_ID_MAX];
    rc = wq_outbox_txn_add_ref(imp->txn, rec, ref, id, &e);
    if (rc == WQ_OK) {
        if (!s_remember(imp, line, id, true, rec->type)) {
            wq_err_set(&e, WQ_E_NOMEM, "", _("out of memory"));
            s_fatal(imp, line, WQ_E_NOMEM, &e);
            return;
        }
        if (imp->o->preview) {
            imp->res.stored++;
            s_emit(imp, line, WQ_ROW_WOULD_STORE, rec->type, NULL, 0, NULL, NULL);
        }
        if (!imp->o->all_or_nothing && !imp->o->preview
            && wq_outbox_txn_count(imp->txn) >= WQ_IMPORT_CHUNK)
            s_commit(imp, line);
        return;
    }
    if (!wq_outbox_txn_ok(imp->txn)) {
        /* LMDB failed inside the txn: the whole chunk is lost, say so. */
        wq_outbox_abort(&imp->txn);
        if (imp->nids > imp->chunk_start && imp->o->errors)
            fprintf(imp->o->errors, _("%s: lines %lu..%lu were not stored (their transaction "
                                      "failed)\n"), imp->file, imp->ids[imp->chunk_start].line,
                    line);
        s_lose_chunk(imp);
        s_fatal(imp, line, rc, &e);
        return;
    }
    s_bad(imp, line, rec->type, &e, cells, ncells);
    if (rc == WQ_E_FULL)
        s_fatal(imp, line, rc, &e);
}

/*  ---- the row engine ---------------------------------------------------------- */

int
wq_import_new(wq_outbox_t *box, const wq_import_opts_t *o, wq_import_t **out, wq_err_t *err)
{
    wq_import_t *imp = calloc(1, sizeof *imp);
    if (!imp)
        return wq_err_set(err, WQ_E_NOMEM, "", _("out of memory"));
    imp->box = box;
    imp->o = o;
    *out = imp;
    return WQ_OK;
}

static void
s_table_clear(wq_import_t *imp)
{
    for (size_t i = 0; i < imp->ncols; i++)
        free(imp->cols[i].header);
    free(imp->cols);
    imp->cols = NULL;
    imp->ncols = 0;
    free(imp->file);
    free(imp->sheet);
    imp->file = imp->sheet = NULL;
    imp->table_ok = false;
    /* "@N" refers to lines of the same table only. The ids of earlier
       tables are kept while their rows are not yet committed (reported
       after the commit). */
    if (!imp->txn)
        imp->nids = imp->chunk_start = 0;
    imp->table_start = imp->nids;
}

int
wq_import_table(wq_import_t *imp, const char *file, const char *sheet, unsigned long line,
                const char *const *head, size_t nhead)
{
    wq_err_t e;
    char msg[600];
    if (!imp->o->preview && !imp->o->all_or_nothing)
        s_commit(imp, line);
    s_table_clear(imp);
    imp->file = strdup(file ? file : "-");
    imp->sheet = sheet ? strdup(sheet) : NULL;
    imp->cols = calloc(nhead ? nhead : 1, sizeof *imp->cols);
    if (!imp->file || (sheet && !imp->sheet) || !imp->cols) {
        wq_err_set(&e, WQ_E_NOMEM, "", _("out of memory"));
        s_fatal(imp, line, WQ_E_NOMEM, &e);
        return WQ_E_NOMEM;
    }
    if (sheet) {
        char **grown = realloc(imp->sheets, (imp->nsheets + 1) * sizeof *grown);
        char *copy = strdup(sheet);
        if (grown)
            imp->sheets = grown;
        if (!grown || !copy) {
            free(copy);
            wq_err_set(&e, WQ_E_NOMEM, "", _("out of memory"));
            s_fatal(imp, line, WQ_E_NOMEM, &e);
            return WQ_E_NOMEM;
        }
        imp->sheets[imp->nsheets++] = copy;
    }
    imp->ncols = nhead;
    imp->table_type = sheet ? wq_rec_type_parse_text(sheet) : WQ_REC_NONE;
    if (imp->table_type == WQ_REC_NONE)
        imp->table_type = imp->o->type;
    size_t known = 0;
    bool has_type = false;
    for (size_t i = 0; i < nhead; i++) {
        s_col_t *c = &imp->cols[i];
        c->field = WQ_F_COUNT;
        c->header = s_trim_dup(head[i]);
        if (!c->header) {
            wq_err_set(&e, WQ_E_NOMEM, "", _("out of memory"));
            s_fatal(imp, line, WQ_E_NOMEM, &e);
            return WQ_E_NOMEM;
        }
        const char *h = c->header;
        if (!*h)
            continue;
        if (!strcasecmp(h, "ref") || !strcmp(h, "编号") || !strcmp(h, "本表编号")) {
            c->ref = true;
            known++;
            continue;
        }
        if (!strncasecmp(h, "set.", 4)) {
            c->patch = true;
            h += 4;
        } else if (!strncmp(h, "更正.", 7)) {
            c->patch = true;
            h += 7;
        }
        c->field = wq_field_parse_header(h);
        /* The agent assigns the identity: a 序号 (seq) column is the
           spreadsheet's own row numbering, not ours. */
        if (c->field == WQ_F_AGENT || c->field == WQ_F_INC || c->field == WQ_F_SEQ
            || c->field == WQ_F_RECORDED)
            c->field = WQ_F_COUNT;
        if (c->field == WQ_F_COUNT) {
            snprintf(msg, sizeof msg, _("column \"%s\" is not a field of any record; it is "
                                        "ignored"), c->header);
            s_emit(imp, line, WQ_ROW_NOTE, WQ_REC_NONE, NULL, 0, msg, NULL);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (imp->cols[j].field == c->field && imp->cols[j].patch == c->patch) {
                wq_err_set(&e, WQ_E_DUPFIELD, "", _("columns \"%s\" and \"%s\" are the same "
                                                    "field: keep one"),
                           imp->cols[j].header, c->header);
                imp->res.lines++;
                s_bad(imp, line, WQ_REC_NONE, &e, NULL, 0);
                return WQ_E_DUPFIELD;
            }
        known++;
        has_type |= c->field == WQ_F_TYPE && !c->patch;
    }
    if (known == 0) {
        wq_err_set(&e, WQ_E_FORMAT, "",
                   _("the first row is not a header: name the columns with field names such as "
                     "日期, 统一社会信用代码, 走访方式 (see `wanqi-agent template`)"));
        imp->res.lines++;
        s_bad(imp, line, WQ_REC_NONE, &e, NULL, 0);
        return WQ_E_FORMAT;
    }
    if (!has_type && imp->table_type == WQ_REC_NONE) {
        wq_err_set(&e, WQ_E_MISSING, "type",
                   _("the header has no \"记录类型\" (type) column and the sheet name is not a "
                     "record type: add the column, name the sheet 走访, 问题... or give --type"));
        imp->res.lines++;
        s_bad(imp, line, WQ_REC_NONE, &e, NULL, 0);
        return WQ_E_MISSING;
    }
    imp->table_ok = true;
    return WQ_OK;
}

void
wq_import_row(wq_import_t *imp, unsigned long line, const char *const *cells, size_t ncells)
{
    wq_record_t *rec = NULL;
    wq_err_t e;
    char **v = NULL;
    int rc;
    if (imp->stop || !imp->cols)
        return;
    bool blank = true;
    for (size_t i = 0; i < ncells && blank; i++)
        blank = s_blank(cells[i]);
    if (blank)
        return;
    /* The template's notes row. */
    for (size_t i = 0; i < ncells; i++) {
        if (s_blank(cells[i]))
            continue;
        const char *c = cells[i];
        while (*c == ' ')
            c++;
        if (strncmp(c, "说明", 6) == 0)
            return;
        break;
    }
    imp->res.lines++;
    if (!imp->table_ok) {
        wq_err_set(&e, WQ_E_FORMAT, "", _("not read: the header row of this table is wrong"));
        s_bad(imp, line, WQ_REC_NONE, &e, NULL, 0);
        return;
    }
    for (size_t i = imp->ncols; i < ncells; i++)
        if (!s_blank(cells[i])) {
            wq_err_set(&e, WQ_E_FORMAT, "", _("the row has a value in column %zu, right of the "
                                              "last header column: give that column a header"),
                       i + 1);
            s_bad(imp, line, WQ_REC_NONE, &e, NULL, 0);
            return;
        }
    v = calloc(imp->ncols ? imp->ncols : 1, sizeof *v);
    if (!v)
        goto oom;
    for (size_t i = 0; i < imp->ncols; i++)
        if (!(v[i] = s_trim_dup(i < ncells ? cells[i] : "")))
            goto oom;
    wq_rec_type_t type = imp->table_type;
    const char *of = NULL, *ref = NULL;
    for (size_t i = 0; i < imp->ncols; i++) {
        const s_col_t *c = &imp->cols[i];
        if (c->ref && v[i][0])
            ref = v[i];
        else if (!c->patch && c->field == WQ_F_TYPE && v[i][0]) {
            type = wq_rec_type_parse_text(v[i]);
            if (type == WQ_REC_NONE) {
                char list[400];
                size_t o = 0;
                for (int t = 1; t < WQ_REC_TYPE_COUNT && o < sizeof list; t++)
                    o += (size_t) snprintf(list + o, sizeof list - o, "%s%s", t > 1 ? "、" : "",
                                           wq_rec_type_label((wq_rec_type_t) t));
                wq_err_set(&e, WQ_E_UNKNOWN, "type", _("\"%s\" is not a record type: write one "
                                                       "of %s"), v[i], list);
                s_bad(imp, line, WQ_REC_NONE, &e, cells, ncells);
                goto done;
            }
        } else if (!c->patch && c->field == WQ_F_OF && v[i][0])
            of = v[i];
    }
    if (type == WQ_REC_NONE) {
        wq_err_set(&e, WQ_E_MISSING, "type", _("the row has no record type"));
        s_bad(imp, line, WQ_REC_NONE, &e, cells, ncells);
        goto done;
    }
    rec = wq_record_new(type);
    if (!rec)
        goto oom;
    if (of && wq_record_set_text(rec, "of", of, &e) != WQ_OK) {
        s_bad(imp, line, type, &e, cells, ncells);
        goto done;
    }
    for (size_t i = 0; i < imp->ncols; i++) {
        const s_col_t *c = &imp->cols[i];
        const char *value = v[i];
        if (!value[0] || c->ref || c->field == WQ_F_COUNT || (!c->patch && c->field == WQ_F_TYPE)
            || (!c->patch && c->field == WQ_F_OF))
            continue;
        if (!wq_field_allowed(c->patch ? rec->of : type, c->field) && !c->patch) {
            /* A template or a mixed sheet has columns other types do not
               take: an empty cell there is normal, a filled one an error. */
            wq_err_set(&e, WQ_E_UNKNOWN, wq_field_name(c->field),
                       _("a %s record has no %s: leave this cell empty"),
                       wq_rec_type_label(type), wq_field_label(c->field));
            s_bad(imp, line, type, &e, cells, ncells);
            goto done;
        }
        char fname[48];
        snprintf(fname, sizeof fname, "%s%s", c->patch ? "set." : "", wq_field_name(c->field));
        char id[WQ_EVENT_ID_MAX];
        if (s_is_event_field(c->field)) {
            rc = s_resolve(imp, line, c->field, fname, value, id, &e);
            if (rc != WQ_OK) {
                s_bad(imp, line, type, &e, cells, ncells);
                goto done;
            }
            value = id;
        }
        rc = c->patch ? wq_record_set_patch_text(rec, wq_field_name(c->field), value, &e)
                      : wq_record_set_text(rec, wq_field_name(c->field), value, &e);
        if (rc != WQ_OK) {
            s_bad(imp, line, type, &e, cells, ncells);
            goto done;
        }
    }
    s_add(imp, line, rec, ref, cells, ncells);
    goto done;
oom:
    wq_err_set(&e, WQ_E_NOMEM, "", _("out of memory"));
    s_fatal(imp, line, WQ_E_NOMEM, &e);
done:
    if (v)
        for (size_t i = 0; i < imp->ncols; i++)
            free(v[i]);
    free(v);
    wq_record_destroy(&rec);
}

bool
wq_import_stopped(const wq_import_t *imp)
{
    return imp->stop;
}

int
wq_import_finish(wq_import_t **imp_p, wq_import_result_t *res, wq_err_t *err)
{
    wq_import_t *imp = *imp_p;
    int rc = WQ_OK;
    *imp_p = NULL;
    if (imp->txn) {
        if (imp->o->preview
            || (imp->o->all_or_nothing && (imp->res.bad > 0 || imp->fatal_rc != WQ_OK))) {
            wq_outbox_abort(&imp->txn);
            s_lose_chunk(imp);
        } else
            s_commit(imp, 0);
    }
    if (imp->fatal_rc != WQ_OK)
        rc = wq_err_set(err, imp->fatal_rc, "", _("the import stopped early (%s): %zu of the "
                                                   "records read were stored"),
                        imp->fatal.text, imp->res.stored);
    else if (imp->res.bad > 0)
        rc = wq_err_set(err, WQ_E_FORMAT, "", _("%zu bad row(s), first at line %lu; %s"),
                        imp->res.bad, imp->res.first_bad_line,
                        imp->o->preview ? _("nothing was stored (preview)")
                        : imp->o->all_or_nothing ? _("nothing was stored (--all-or-nothing)")
                                                 : _("the other rows were stored or were already "
                                                     "recorded"));
    *res = imp->res;
    s_table_clear(imp);
    for (size_t i = 0; i < imp->nsheets; i++)
        free(imp->sheets[i]);
    free(imp->sheets);
    free(imp->ids);
    free(imp);
    return rc;
}

/*  ---- encodings ---------------------------------------------------------------- */

static int
s_iconv(const char *from, const char *data, size_t size, char **out, size_t *outlen)
{
    iconv_t cd = iconv_open("UTF-8", from);
    if (cd == (iconv_t) -1)
        return -1;
    size_t cap = size * 2 + 16;     /* GB18030 -> UTF-8 grows at most 3/2 (4 -> 4) */
    char *buf = malloc(cap);
    if (!buf) {
        iconv_close(cd);
        return -2;
    }
    char *in = (char *) data, *o = buf;
    size_t inleft = size, oleft = cap - 1;
    size_t r = iconv(cd, &in, &inleft, &o, &oleft);
    iconv_close(cd);
    if (r == (size_t) -1 || inleft != 0) {
        free(buf);
        return -1;
    }
    *o = '\0';
    *out = buf;
    *outlen = (size_t) (o - buf);
    return 0;
}

int
wq_import_to_utf8(const char *data, size_t size, char **out, size_t *outlen,
                  const char **encoding, wq_err_t *err)
{
    const char *enc = "UTF-8";
    int r;
    if (size >= 2 && ((unsigned char) data[0] == 0xFF && (unsigned char) data[1] == 0xFE)) {
        enc = "UTF-16";
        r = s_iconv("UTF-16", data, size, out, outlen);
    } else if (size >= 2 && ((unsigned char) data[0] == 0xFE && (unsigned char) data[1] == 0xFF)) {
        enc = "UTF-16";
        r = s_iconv("UTF-16", data, size, out, outlen);
    } else {
        if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
            data += 3;
            size -= 3;
        }
        if (wq_utf8_valid(data, size, NULL)) {
            *out = malloc(size + 1);
            if (!*out)
                return wq_err_set(err, WQ_E_NOMEM, "", _("out of memory"));
            memcpy(*out, data, size);
            (*out)[size] = '\0';
            *outlen = size;
            r = 0;
        } else {
            /* Chinese Excel and WPS save CSV in the ANSI code page, GBK;
               GB18030 is its superset. */
            enc = "GB18030";
            r = s_iconv("GB18030", data, size, out, outlen);
        }
    }
    if (r == -2)
        return wq_err_set(err, WQ_E_NOMEM, "", _("out of memory"));
    if (r != 0)
        return wq_err_set(err, WQ_E_UTF8, "",
                          _("the file is neither UTF-8 nor GBK/GB18030 text: save it from Excel "
                            "or WPS as \"CSV (逗号分隔)\" or \"CSV UTF-8\", or as .xlsx"));
    if (encoding)
        *encoding = enc;
    return WQ_OK;
}

/*  ---- JSON Lines ----------------------------------------------------------------- */

/*  Take the "ref" member out of obj (wq_record_from_json does not know it);
    *ref gets the malloc'd text or NULL. */
static void
s_take_ref(wq_json_object_t *obj, char **ref)
{
    *ref = NULL;
    for (size_t i = 0; i < obj->count; i++) {
        wq_json_member_t *m = &obj->members[i];
        if (strcmp(m->key, "ref") != 0)
            continue;
        if (m->kind == WQ_JSON_STRING || m->kind == WQ_JSON_NUMBER) {
            *ref = m->text;
            m->text = NULL;
        }
        free(m->key);
        free(m->text);
        for (size_t k = 0; k < m->nitems; k++)
            free(m->items[k]);
        free(m->items);
        memmove(m, m + 1, (obj->count - i - 1) * sizeof *m);
        obj->count--;
        return;
    }
}

static void
s_json_line(wq_import_t *imp, unsigned long line, const char *text, size_t len)
{
    wq_json_object_t *obj = NULL;
    wq_record_t *rec = NULL;
    char *ref = NULL;
    wq_err_t e;
    int rc = wq_json_parse_object(text, len, &obj, &e);
    if (rc != WQ_OK) {
        s_bad(imp, line, WQ_REC_NONE, &e, NULL, 0);
        goto done;
    }
    s_take_ref(obj, &ref);
    for (size_t i = 0; i < obj->count; i++) {
        wq_json_member_t *m = &obj->members[i];
        const char *k = strncmp(m->key, "set.", 4) == 0 ? m->key + 4 : m->key;
        wq_field_t f = wq_field_parse(k);
        if (m->kind != WQ_JSON_STRING || f == WQ_F_COUNT || !s_is_event_field(f))
            continue;
        char id[WQ_EVENT_ID_MAX];
        rc = s_resolve(imp, line, f, m->key, m->text, id, &e);
        if (rc != WQ_OK) {
            s_bad(imp, line, WQ_REC_NONE, &e, NULL, 0);
            goto done;
        }
        char *copy = strdup(id);
        if (!copy) {
            wq_err_set(&e, WQ_E_NOMEM, "", _("out of memory"));
            s_fatal(imp, line, WQ_E_NOMEM, &e);
            goto done;
        }
        free(m->text);
        m->text = copy;
    }
    rc = wq_record_from_json(obj, &rec, &e);
    if (rc != WQ_OK) {
        s_bad(imp, line, WQ_REC_NONE, &e, NULL, 0);
        goto done;
    }
    s_add(imp, line, rec, ref, NULL, 0);
done:
    free(ref);
    wq_record_destroy(&rec);
    wq_json_object_destroy(&obj);
}

static void
s_import_jsonl(wq_import_t *imp, const char *name, FILE *f)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long line = 0;
    imp->file = strdup(name);
    if (!imp->file)
        return;
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
        imp->res.lines++;
        s_json_line(imp, line, s, (size_t) n);
    }
    free(buf);
}

/*  ---- CSV ------------------------------------------------------------------------ */

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

/*  Read one CSV row of text[*pos..len). Returns 1 (row), 0 (end), -1
    (syntax error in *e), -2 (out of memory). *start is the line the row
    starts on. CR LF, LF and a lone CR end a row. */
static int
s_csv_row(const char *text, size_t len, size_t *pos, char delim, s_row_t *r,
          unsigned long *lineno, unsigned long *start, wq_err_t *e)
{
    bool quoted = false, after_quote = false;
    size_t i = *pos;
    s_row_clear(r);
    if (i >= len)
        return 0;
    (*lineno)++;
    *start = *lineno;
    while (i < len) {
        char c = text[i++];
        if (quoted) {
            if (c == '"') {
                if (i < len && text[i] == '"') {
                    if (!s_cell_putc(r, '"'))
                        return -2;
                    i++;
                } else {
                    quoted = false;
                    after_quote = true;
                }
                continue;
            }
            if (c == '\r' && i < len && text[i] == '\n')
                continue;   /* CRLF inside a quoted cell becomes LF */
            if (c == '\n' || c == '\r')
                (*lineno)++;
            if (!s_cell_putc(r, c == '\r' ? '\n' : c))
                return -2;
            continue;
        }
        if (c == delim) {
            if (!s_cell_end(r))
                return -2;
            after_quote = false;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && i < len && text[i] == '\n')
                i++;
            *pos = i;
            return s_cell_end(r) ? 1 : -2;
        } else if (c == '"' && r->len == 0 && !after_quote) {
            quoted = true;
        } else if (after_quote) {
            if (c == ' ' || c == '\t')
                continue;
            /* skip to the end of this line so that the next row is read */
            while (i < len && text[i] != '\n')
                i++;
            if (i < len)
                i++;
            *pos = i;
            wq_err_set(e, WQ_E_FORMAT, "", _("unexpected character after a closing quote "
                                             "(write \"\" for a quote inside a quoted cell)"));
            return -1;
        } else if (!s_cell_putc(r, c))
            return -2;
    }
    *pos = i;
    if (quoted) {
        wq_err_set(e, WQ_E_FORMAT, "", _("a quoted cell is not closed before the end of the "
                                         "file"));
        return -1;
    }
    return s_cell_end(r) ? 1 : -2;
}

static void
s_import_csv_text(wq_import_t *imp, const char *name, const char *text, size_t len)
{
    s_row_t r = {0};
    size_t pos = 0;
    unsigned long lineno = 0, start = 0;
    wq_err_t e;
    /* The delimiter: a comma, or a tab when the first line has tabs and no
       commas (Excel's "Unicode text"). */
    const char *nl = memchr(text, '\n', len);
    size_t first = nl ? (size_t) (nl - text) : len;
    char delim = (memchr(text, '\t', first) && !memchr(text, ',', first)) ? '\t' : ',';
    int rc;
    /* The header is the first row that is not blank. */
    do
        rc = s_csv_row(text, len, &pos, delim, &r, &lineno, &start, &e);
    while (rc == 1 && r.n == 1 && s_blank(r.cells[0]));
    if (rc != 1) {
        free(imp->file);
        imp->file = strdup(name);
        if (rc == 0)
            wq_err_set(&e, WQ_E_FORMAT, "", _("the file is empty: a CSV import needs a header "
                                              "row naming the columns"));
        else if (rc == -2)
            wq_err_set(&e, WQ_E_NOMEM, "", _("out of memory"));
        imp->res.lines++;
        s_bad(imp, 1, WQ_REC_NONE, &e, NULL, 0);
        goto done;
    }
    if (wq_import_table(imp, name, NULL, start, (const char *const *) r.cells, r.n) == WQ_E_NOMEM)
        goto done;
    while (!imp->stop) {
        rc = s_csv_row(text, len, &pos, delim, &r, &lineno, &start, &e);
        if (rc == 0)
            break;
        if (rc == -2) {
            wq_err_set(&e, WQ_E_NOMEM, "", _("out of memory"));
            s_fatal(imp, start, WQ_E_NOMEM, &e);
            break;
        }
        if (rc == -1) {
            imp->res.lines++;
            s_bad(imp, start, WQ_REC_NONE, &e, NULL, 0);
            continue;
        }
        wq_import_row(imp, start, (const char *const *) r.cells, r.n);
    }
done:
    s_row_free(&r);
}

/*  ---- XLSX ---------------------------------------------------------------------- */

typedef struct {
    wq_import_t *imp;
    const char *name, *sheet;
    bool have_header;
} s_xl_t;

static int
s_xl_row(unsigned long row, const char *const *cells, size_t ncells, void *arg)
{
    s_xl_t *x = arg;
    if (!x->have_header) {
        bool blank = true;
        for (size_t i = 0; i < ncells && blank; i++)
            blank = s_blank(cells[i]);
        if (blank)
            return 0;
        x->have_header = true;
        wq_import_table(x->imp, x->name, x->sheet, row, cells, ncells);
        return x->imp->stop;
    }
    wq_import_row(x->imp, row, cells, ncells);
    return x->imp->stop;
}

static int
s_import_xlsx(wq_import_t *imp, const char *name, wq_xlsx_t *book, wq_err_t *err)
{
    for (size_t i = 0; i < wq_xlsx_sheet_count(book) && !imp->stop; i++) {
        const char *sheet = wq_xlsx_sheet_name(book, i);
        /* A sheet of notes is not data. */
        if (strncmp(sheet, "说明", 6) == 0 || strcasecmp(sheet, "notes") == 0)
            continue;
        s_xl_t x = {imp, name, sheet, false};
        int rc = wq_xlsx_sheet_rows(book, i, s_xl_row, &x, err);
        if (rc != WQ_OK)
            return rc;
    }
    return WQ_OK;
}

/*  ---- whole files ---------------------------------------------------------------- */

static int
s_slurp(FILE *f, const char *path, char **out, size_t *size, wq_err_t *err)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return wq_err_set(err, WQ_E_NOMEM, "", _("out of memory"));
    for (;;) {
        if (n == cap) {
            if (cap >= WQ_IMPORT_MAX_FILE) {
                free(buf);
                return wq_err_set(err, WQ_E_RANGE, "file", _("%s is larger than %u MiB: split "
                                                              "it"), path,
                                  WQ_IMPORT_MAX_FILE >> 20);
            }
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                return wq_err_set(err, WQ_E_NOMEM, "", _("out of memory"));
            }
            buf = p;
            cap *= 2;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        return wq_err_set(err, WQ_E_IO, "file", _("error reading %s: %s"), path, strerror(errno));
    }
    *out = buf;
    *size = n;
    return WQ_OK;
}

/*  Import a CSV or XLSX held in memory with an engine. */
static int
s_import_mem(wq_import_t *imp, const char *name, wq_import_format_t fmt, const char *data,
             size_t size, wq_err_t *err)
{
    int rc = WQ_OK;
    if (fmt == WQ_IMPORT_XLSX) {
        wq_xlsx_t *book = NULL;
        rc = wq_xlsx_open_buffer(data, size, &book, err);
        if (rc == WQ_OK)
            rc = s_import_xlsx(imp, name, book, err);
        wq_xlsx_destroy(&book);
        return rc;
    }
    char *text = NULL;
    size_t len = 0;
    rc = wq_import_to_utf8(data, size, &text, &len, NULL, err);
    if (rc != WQ_OK)
        return rc;
    s_import_csv_text(imp, name, text, len);
    free(text);
    return WQ_OK;
}

static int
s_run(wq_outbox_t *box, const char *name, FILE *f, const char *data, size_t size,
      const wq_import_opts_t *o, wq_import_result_t *res, wq_err_t *err)
{
    memset(res, 0, sizeof *res);
    wq_import_format_t fmt = o->format ? o->format : s_format_of(name);
    if (fmt == WQ_IMPORT_AUTO)
        return wq_err_set(err, WQ_E_FORMAT, "format",
                          _("cannot tell the format of %s from its name: give --format xlsx, csv "
                            "or jsonl"), name);
    wq_import_t *imp = NULL;
    int rc = wq_import_new(box, o, &imp, err);
    if (rc != WQ_OK)
        return rc;
    char *buf = NULL;
    if (fmt == WQ_IMPORT_JSONL) {
        FILE *mf = f ? f : fmemopen((void *) data, size, "r");
        if (!mf)
            rc = wq_err_set(err, WQ_E_NOMEM, "", _("out of memory"));
        else {
            s_import_jsonl(imp, name, mf);
            if (ferror(mf) && !imp->stop) {
                wq_err_t e;
                wq_err_set(&e, WQ_E_IO, "file", _("error reading %s: %s"), name,
                           strerror(errno));
                s_fatal(imp, 0, WQ_E_IO, &e);
            }
            if (!f)
                fclose(mf);
        }
    } else {
        if (f) {
            rc = s_slurp(f, name, &buf, &size, err);
            data = buf;
        }
        if (rc == WQ_OK)
            rc = s_import_mem(imp, name, fmt, data, size, err);
    }
    free(buf);
    if (rc != WQ_OK) {
        wq_import_result_t ignored;
        wq_err_t e2;
        /* Nothing of a file that cannot be read is kept. */
        if (imp->txn)
            wq_outbox_abort(&imp->txn);
        wq_import_finish(&imp, &ignored, &e2);
        return rc;
    }
    return wq_import_finish(&imp, res, err);
}

int
wq_import_file(wq_outbox_t *box, const char *path, const wq_import_opts_t *o,
               wq_import_result_t *res, wq_err_t *err)
{
    memset(res, 0, sizeof *res);
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (!f)
        return wq_err_set(err, WQ_E_IO, "file", _("cannot open %s: %s"), path, strerror(errno));
    int rc = s_run(box, path, f, NULL, 0, o, res, err);
    if (!is_stdin)
        fclose(f);
    return rc;
}

int
wq_import_buffer(wq_outbox_t *box, const char *name, const void *data, size_t size,
                 const wq_import_opts_t *o, wq_import_result_t *res, wq_err_t *err)
{
    return s_run(box, name, NULL, data, size, o, res, err);
}
