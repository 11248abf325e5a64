/*  casetext - an enterprise's case file in the reader's language (see casetext.h). */
#include "collector/casetext.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/i18n.h"
#include "common/record.h"

/*  An enum value as the reader says it: its Chinese label in Chinese, its
    code otherwise; NULL if word is not a value of field. */
static const char *
s_enum(wq_field_t field, const char *word)
{
    int v = wq_enum_parse(field, word);
    if (!v)
        return NULL;
    return wq_i18n_chinese() ? wq_enum_label(field, v) : wq_enum_name(field, v);
}

/*  A correction's field list "deadline,measures" as the reader says it,
    into out; false if a name is not a field (then out is not to be used). */
static bool
s_fields(const char *list, size_t len, char *out, size_t size)
{
    char buf[256], acc[512] = "";
    if (len >= sizeof buf)
        return false;
    memcpy(buf, list, len);
    buf[len] = '\0';
    for (char *save = NULL, *f = strtok_r(buf, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        wq_field_t fld = wq_field_parse(f);
        if (fld == WQ_F_COUNT)
            return false;
        const char *name = wq_i18n_chinese() ? wq_field_label(fld) : wq_field_name(fld);
        char next[512];
        if (acc[0])
            /* TRANSLATORS: a list of corrected fields: the list so far, then one more field. */
            snprintf(next, sizeof next, _("%s,%s"), acc, name);
        else
            snprintf(next, sizeof next, "%s", name);
        snprintf(acc, sizeof acc, "%s", next);
    }
    snprintf(out, size, "%s", acc);
    return true;
}

/*  Drop a UTF-8 sequence cut short at the end of s (snprintf cuts bytes). */
static void
s_trim_partial(char *s)
{
    size_t n = strlen(s), i = n;
    while (i > 0 && ((unsigned char) s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0 || !((unsigned char) s[i - 1] & 0x80))
        return;
    unsigned char lead = (unsigned char) s[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (n - (i - 1) < need)
        s[i - 1] = '\0';
}

static void s_summary(const char *type, const char *summary, char *out, size_t size);

void
wq_casetext_summary(const char *type, const char *summary, char *out, size_t size)
{
    if (!size)
        return;
    s_summary(type, summary, out, size);
    s_trim_partial(out);
}

static void
s_summary(const char *type, const char *summary, char *out, size_t size)
{
    snprintf(out, size, "%s", summary ? summary : "");
    if (!summary || !type)
        return;
    wq_rec_type_t t = wq_rec_type_parse(type);
    /* collector/queries.c s_event_summary: HEAD ": " TEXT, or HEAD alone. */
    const char *colon = strstr(summary, ": ");
    const char *rest = colon ? colon + 2 : "";
    size_t hl = colon ? (size_t) (colon - summary) : strlen(summary);
    char head[256];
    if (hl >= sizeof head)
        return;
    memcpy(head, summary, hl);
    head[hl] = '\0';
    static const struct {
        wq_rec_type_t type;
        wq_field_t field;
    } one[] = {{WQ_REC_VISIT, WQ_F_METHOD},   {WQ_REC_PROGRESS, WQ_F_STATUS},
               {WQ_REC_SERVICE, WQ_F_KIND},   {WQ_REC_CONSULTATION, WQ_F_CHANNEL},
               {WQ_REC_CLASSIFICATION, WQ_F_CLASS}};
    for (size_t i = 0; i < sizeof one / sizeof one[0]; i++) {
        const char *label = colon && one[i].type == t ? s_enum(one[i].field, head) : NULL;
        if (label) {
            /* TRANSLATORS: a case file's line: a value (method, status, kind ...), then the text. */
            snprintf(out, size, _("%s: %s"), label, rest);
            return;
        }
    }
    switch (t) {
    case WQ_REC_ENTERPRISE: {       /* "NAME; INDUSTRY" */
        const char *semi = strstr(summary, "; ");
        for (const char *s = semi; s; s = strstr(s + 2, "; "))
            semi = s;
        if (semi)
            /* TRANSLATORS: a case file's line for an enterprise record: its name; its industry code. */
            snprintf(out, size, _("%.*s; %s"), (int) (semi - summary), summary, semi + 2);
        break;
    }
    case WQ_REC_PROBLEM: {          /* "CATEGORY/SEVERITY: TEXT" */
        char *slash = colon ? strchr(head, '/') : NULL;
        if (!slash)
            break;
        *slash = '\0';
        const char *cat = s_enum(WQ_F_CATEGORY, head), *sev = s_enum(WQ_F_SEVERITY, slash + 1);
        if (cat && sev)
            /* TRANSLATORS: a case file's line for a problem: category/severity: description. */
            snprintf(out, size, _("%s/%s: %s"), cat, sev, rest);
        break;
    }
    case WQ_REC_PLAN:               /* "deadline DATE: MEASURES" */
        if (colon && strncmp(head, "deadline ", 9) == 0)
            /* TRANSLATORS: a case file's line for a rectification plan: its deadline: its measures. */
            snprintf(out, size, _("deadline %s: %s"), head + 9, rest);
        break;
    case WQ_REC_GRADING: {          /* "grade G (INDUSTRY)" [": REASON"] */
        char *paren = strstr(head, " (");
        size_t n = strlen(head);
        if (strncmp(head, "grade ", 6) != 0 || !paren || n < 2 || head[n - 1] != ')')
            break;
        *paren = '\0';
        head[n - 1] = '\0';
        const char *g = s_enum(WQ_F_GRADE, head + 6);
        if (!g)
            break;
        if (colon)
            /* TRANSLATORS: a case file's line for a performance grading (绩效分级): grade (industry): reason. */
            snprintf(out, size, _("grade %s (%s): %s"), g, paren + 2, rest);
        else
            /* TRANSLATORS: a case file's line for a performance grading (绩效分级): grade (industry). */
            snprintf(out, size, _("grade %s (%s)"), g, paren + 2);
        break;
    }
    case WQ_REC_CORRECTION: {       /* "corrects ID (FIELD,FIELD): REASON" */
        char *paren = strstr(head, " (");
        size_t n = strlen(head);
        char fields[512];
        if (!colon || strncmp(head, "corrects ", 9) != 0 || !paren || head[n - 1] != ')'
            || !s_fields(paren + 2, (size_t) (head + n - 1 - (paren + 2)), fields, sizeof fields))
            break;
        *paren = '\0';
        /* TRANSLATORS: a case file's line for a correction: the corrected record's id (the fields): reason. */
        snprintf(out, size, _("corrects %s (%s): %s"), head + 9, fields, rest);
        break;
    }
    case WQ_REC_RETRACTION:         /* "retracts ID: REASON" */
        if (colon && strncmp(head, "retracts ", 9) == 0)
            /* TRANSLATORS: a case file's line for a retraction: the retracted record's id: reason. */
            snprintf(out, size, _("retracts %s: %s"), head + 9, rest);
        break;
    default:
        break;
    }
}

/*  The effects of collector/queries.c (s_effect_names) and the states of a
    consultation, marked for translation. */
static const char *const s_words[] = {
    /* TRANSLATORS: a case file's effect column: the record counts as it is. */
    N_("effective"),
    /* TRANSLATORS: a case file's effect column: a later correction changed the record. */
    N_("corrected"),
    /* TRANSLATORS: a case file's effect column: the record was retracted. */
    N_("retracted"),
    /* TRANSLATORS: a case file's effect column: the record has no effect (e.g. it corrects a retracted one). */
    N_("ignored"),
    /* TRANSLATORS: a case file's effect column: refused, its county does not own the enterprise. */
    N_("foreign"),
    /* TRANSLATORS: a case file's status column: a consultation that has its answer. */
    N_("answered"),
    /* TRANSLATORS: a case file's status column: a consultation still waiting for its answer. */
    N_("unanswered"),
};

const char *
wq_casetext_value(const char *col, const char *value)
{
    if (!col || !value)
        return value;
    if (strcmp(col, "type") == 0) {
        wq_rec_type_t t = wq_rec_type_parse(value);
        return t != WQ_REC_NONE && wq_i18n_chinese() ? wq_rec_type_label(t) : value;
    }
    if (strcmp(col, "status") == 0) {
        /* A problem's status, an enterprise's class or grade (the value
           names do not overlap), or a consultation's state. */
        static const wq_field_t fields[] = {WQ_F_STATUS, WQ_F_CLASS, WQ_F_GRADE};
        for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
            const char *label = s_enum(fields[i], value);
            if (label)
                return label;
        }
    }
    if (strcmp(col, "status") == 0 || strcmp(col, "effect") == 0)
        for (size_t i = 0; i < sizeof s_words / sizeof s_words[0]; i++)
            if (strcmp(s_words[i], value) == 0)
                return _(s_words[i]);
    return value;
}

int
wq_casetext_localize(wq_table_t *t)
{
    static const char *const cols[] = {"type", "status", "effect"};
    int ctype = wq_table_find_col(t, "type"), csum = wq_table_find_col(t, "summary");
    for (size_t r = 0; r < wq_table_nrows(t); r++) {
        if (csum >= 0) {
            const wq_cell_t *s = wq_table_cell(t, r, (size_t) csum);
            const wq_cell_t *ty = ctype >= 0 ? wq_table_cell(t, r, (size_t) ctype) : NULL;
            if (s->kind == WQ_CELL_STR && ty && ty->kind == WQ_CELL_STR) {
                char text[1024];
                wq_casetext_summary(ty->s, s->s, text, sizeof text);
                if (strcmp(text, s->s) != 0 && wq_table_set_str(t, r, (size_t) csum, text) != WQ_OK)
                    return WQ_E_NOMEM;
            }
        }
        for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
            int c = wq_table_find_col(t, cols[k]);
            const wq_cell_t *cell = c >= 0 ? wq_table_cell(t, r, (size_t) c) : NULL;
            if (!cell || cell->kind != WQ_CELL_STR)
                continue;
            const char *v = wq_casetext_value(cols[k], cell->s);
            if (v != cell->s && strcmp(v, cell->s) != 0 && wq_table_set_str(t, r, (size_t) c, v) != WQ_OK)
                return WQ_E_NOMEM;
        }
    }
    return WQ_OK;
}
