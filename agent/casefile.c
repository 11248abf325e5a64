/*  =========================================================================
    casefile - an enterprise's case file and record lists from the outbox

    Records are decoded with the strict decoder of common/record.c; one that
    fails is named on stderr (incarnation and seq) and skipped, never fatal:
    the archive must stay readable around a damaged value.
    =========================================================================
*/
#include "agent/casefile.h"
#include "common/i18n.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *ent;
    wq_record_t **recs;
    size_t n, cap;
    bool oom;
} s_show_t;

static bool
s_push(s_show_t *s, wq_record_t *rec)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        wq_record_t **p = realloc(s->recs, cap * sizeof *p);
        if (!p)
            return false;
        s->recs = p;
        s->cap = cap;
    }
    s->recs[s->n++] = rec;
    return true;
}

static wq_record_t *
s_decode(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size)
{
    wq_record_t *rec = NULL;
    wq_err_t e;
    if (wq_record_decode(data, size, &rec, &e) != WQ_OK) {
        char buf[400];
        fprintf(stderr, _("warning: outbox record %08" PRIx32 "/%" PRIu64 " cannot be decoded "
                "(%s): skipped\n"), inc, seq, wq_err_format(&e, buf, sizeof buf));
        return NULL;
    }
    return rec;
}

static int
s_show_cb(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    s_show_t *s = arg;
    wq_record_t *rec = s_decode(inc, seq, data, size);
    if (!rec)
        return 0;
    bool keep = strcmp(rec->ent, s->ent) == 0 || rec->type == WQ_REC_CORRECTION ||
                rec->type == WQ_REC_RETRACTION;
    if (keep && !s_push(s, rec)) {
        s->oom = true;
        wq_record_destroy(&rec);
        return 1;
    }
    if (!keep)
        wq_record_destroy(&rec);
    return 0;
}

static int
s_by_date(const void *a, const void *b)
{
    const wq_record_t *x = *(wq_record_t *const *) a, *y = *(wq_record_t *const *) b;
    int c = strcmp(x->date, y->date);
    if (c)
        return c;
    c = strcmp(x->agent, y->agent);
    if (c)
        return c;
    if (x->inc != y->inc)
        return x->inc < y->inc ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static bool
s_has_id(s_show_t *s, const char *id)
{
    char mine[WQ_EVENT_ID_MAX];
    for (size_t i = 0; i < s->n; i++) {
        if (!s->recs[i] || strcmp(s->recs[i]->ent, s->ent) != 0)
            continue;
        wq_record_id(s->recs[i], mine);
        if (strcmp(mine, id) == 0)
            return true;
    }
    return false;
}

static bool
s_retracted(s_show_t *s, const char *id)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->recs[i] && s->recs[i]->type == WQ_REC_RETRACTION && strcmp(s->recs[i]->target, id) == 0)
            return true;
    return false;
}

/*  An enum value as the reader says it: the Chinese label in Chinese, the
    code otherwise. */
static const char *
s_enum(wq_field_t f, int v)
{
    return wq_i18n_chinese() ? wq_enum_label(f, v) : wq_enum_name(f, v);
}

static const char *
s_or(const char *s)
{
    return s ? s : "";
}

/*  A retracted event is void: the sections leave it out. */
static bool
s_void(s_show_t *s, const wq_record_t *r)
{
    char id[WQ_EVENT_ID_MAX];
    wq_record_id(r, id);
    return s_retracted(s, id);
}

static void
s_head(s_show_t *s, const wq_record_t *r, FILE *out, const char *indent)
{
    char id[WQ_EVENT_ID_MAX];
    wq_record_id(r, id);
    fprintf(out, "%s%s  [%s]%s%s%s ", indent, r->date, id, r->by ? _(" by ") : "", s_or(r->by),
            s_retracted(s, id) ? _(" (RETRACTED)") : "");
}

/*  Under an event, the corrections aimed at it, with the values they set. */
static void
s_fixes(s_show_t *s, const wq_record_t *r, FILE *out, const char *indent)
{
    char id[WQ_EVENT_ID_MAX], cid[WQ_EVENT_ID_MAX];
    wq_record_id(r, id);
    for (size_t i = 0; i < s->n; i++) {
        const wq_record_t *c = s->recs[i];
        if (c->type != WQ_REC_CORRECTION || strcmp(c->target, id) != 0 || !c->set)
            continue;
        wq_record_id(c, cid);
        fprintf(out, _("%s%s  [%s] corrected: "), indent, c->date, cid);
        wq_record_write_json(c->set, out);
        fprintf(out, " (%s)\n", s_or(c->reason));
    }
}

int
wq_casefile_show(wq_outbox_t *box, const char *ent, FILE *out, wq_err_t *err)
{
    s_show_t s = {.ent = ent};
    int rc = wq_outbox_scan(box, s_show_cb, &s, err);
    if (rc != WQ_OK)
        goto done;
    if (s.oom) {
        rc = wq_err_set(err, WQ_E_NOMEM, "", _("out of memory reading the case file"));
        goto done;
    }
    /* Keep only the corrections/retractions aimed at this enterprise's
       events: decide for all first (s_has_id looks at every record), then
       drop the others. */
    bool *drop = calloc(s.n ? s.n : 1, sizeof *drop);
    if (!drop) {
        rc = wq_err_set(err, WQ_E_NOMEM, "", _("out of memory reading the case file"));
        goto done;
    }
    for (size_t i = 0; i < s.n; i++) {
        const wq_record_t *r = s.recs[i];
        drop[i] = (r->type == WQ_REC_CORRECTION || r->type == WQ_REC_RETRACTION) &&
                  strcmp(r->ent, ent) != 0 && !s_has_id(&s, r->target);
    }
    size_t keep = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (drop[i])
            wq_record_destroy(&s.recs[i]);
        else
            s.recs[keep++] = s.recs[i];
    }
    free(drop);
    s.n = keep;
    size_t own = 0;
    for (size_t i = 0; i < s.n; i++)
        own += strcmp(s.recs[i]->ent, ent) == 0;
    if (own == 0) {
        rc = wq_err_set(err, WQ_E_NOTFOUND, "ent", _("no record of enterprise %s in this outbox"),
                        ent);
        goto done;
    }
    qsort(s.recs, s.n, sizeof *s.recs, s_by_date);
    /* As the province's case file does: corrections are applied to their
       targets in activity order (the values shown are the corrected ones,
       the corrections are listed under the event), and retracted events are
       left out of the sections (listed at the end). */
    for (size_t i = 0; i < s.n; i++) {
        const wq_record_t *c = s.recs[i];
        if (c->type != WQ_REC_CORRECTION || !c->set || s_retracted(&s, c->target))
            continue;
        for (size_t j = 0; j < s.n; j++) {
            char tid[WQ_EVENT_ID_MAX];
            wq_record_id(s.recs[j], tid);
            if (strcmp(tid, c->target) != 0)
                continue;
            wq_err_t pe;
            if (s.recs[j]->type == c->set->type
                && wq_record_apply_patch(s.recs[j], c->set, &pe) != WQ_OK) {
                rc = wq_err_set(err, pe.code, pe.field, "%s", pe.text);
                goto done;
            }
        }
    }
    const wq_record_t *profile = NULL;
    for (size_t i = 0; i < s.n; i++)
        if (s.recs[i]->type == WQ_REC_ENTERPRISE && !s_void(&s, s.recs[i]))
            profile = s.recs[i];
    fprintf(out, _("Case file of %s (local data, %zu records)\n\n"), ent, s.n);
    fprintf(out, _("Profile\n"));
    if (profile) {
        fprintf(out, _("  name:      %s\n  county:    %s\n  industry:  %s\n"), s_or(profile->name),
                profile->county, profile->industry);
        if (profile->address)
            fprintf(out, _("  address:   %s\n"), profile->address);
        fprintf(out, _("  above designated size: %s\n"), profile->above_size ? _("yes") : _("no"));
        if (profile->focus)
            fprintf(out, _("  focus:     %s\n"), s_enum(WQ_F_FOCUS, profile->focus));
        if (profile->cadre)
            fprintf(out, _("  cadre:     %s\n"), profile->cadre);
        fprintf(out, _("  as of:     %s\n"), profile->date);
        for (size_t i = 0; i < s.n; i++)
            if (s.recs[i]->type == WQ_REC_ENTERPRISE)
                s_fixes(&s, s.recs[i], out, "  ");
    } else
        fprintf(out, _("  (no enterprise record)\n"));

    fprintf(out, _("\nClassification\n"));
    for (size_t i = 0; i < s.n; i++) {
        const wq_record_t *r = s.recs[i];
        if (r->type != WQ_REC_CLASSIFICATION || s_void(&s, r))
            continue;
        s_head(&s, r, out, "  ");
        fprintf(out, "%s: %s\n", s_enum(WQ_F_CLASS, r->klass), s_or(r->reason));
        s_fixes(&s, r, out, "      ");
    }
    fprintf(out, _("\nVisits\n"));
    for (size_t i = 0; i < s.n; i++) {
        const wq_record_t *r = s.recs[i];
        if (r->type != WQ_REC_VISIT || s_void(&s, r))
            continue;
        s_head(&s, r, out, "  ");
        fprintf(out, _("%s by"), s_enum(WQ_F_METHOD, r->method));
        for (size_t k = 0; k < r->ncadres; k++)
            fprintf(out, "%s%s", k ? ", " : " ", r->cadres[k]);
        fprintf(out, "\n");
        if (r->findings)
            fprintf(out, "      %s\n", r->findings);
        s_fixes(&s, r, out, "      ");
    }
    fprintf(out, _("\nProblems\n"));
    for (size_t i = 0; i < s.n; i++) {
        const wq_record_t *r = s.recs[i];
        if (r->type != WQ_REC_PROBLEM || s_void(&s, r))
            continue;
        char pid[WQ_EVENT_ID_MAX];
        wq_record_id(r, pid);
        s_head(&s, r, out, "  ");
        fprintf(out, "%s, %s: %s\n", s_enum(WQ_F_CATEGORY, r->category),
                s_enum(WQ_F_SEVERITY, r->severity), s_or(r->description));
        s_fixes(&s, r, out, "      ");
        for (size_t j = 0; j < s.n; j++) {
            const wq_record_t *p = s.recs[j];
            if ((p->type != WQ_REC_PLAN && p->type != WQ_REC_PROGRESS) || strcmp(p->problem, pid)
                || s_void(&s, p))
                continue;
            s_head(&s, p, out, "      ");
            if (p->type == WQ_REC_PLAN)
                fprintf(out, _("plan, deadline %s: %s%s%s%s\n"), p->deadline, s_or(p->measures),
                        p->goal ? _(" (goal: ") : "", s_or(p->goal), p->goal ? ")" : "");
            else
                fprintf(out, _("progress: %s%s%s\n"), s_enum(WQ_F_STATUS, p->status),
                        p->note ? ": " : "", s_or(p->note));
            s_fixes(&s, p, out, "          ");
        }
    }
    fprintf(out, _("\nServices\n"));
    for (size_t i = 0; i < s.n; i++) {
        const wq_record_t *r = s.recs[i];
        if (r->type != WQ_REC_SERVICE || s_void(&s, r))
            continue;
        s_head(&s, r, out, "  ");
        fprintf(out, "%s: %s\n", s_enum(WQ_F_KIND, r->kind), s_or(r->content));
        s_fixes(&s, r, out, "      ");
    }
    fprintf(out, _("\nConsultations\n"));
    for (size_t i = 0; i < s.n; i++) {
        const wq_record_t *r = s.recs[i];
        if (r->type != WQ_REC_CONSULTATION || s_void(&s, r))
            continue;
        char cid[WQ_EVENT_ID_MAX];
        wq_record_id(r, cid);
        s_head(&s, r, out, "  ");
        fprintf(out, "%s: %s\n", s_enum(WQ_F_CHANNEL, r->channel), s_or(r->question));
        s_fixes(&s, r, out, "      ");
        for (size_t j = 0; j < s.n; j++) {
            const wq_record_t *a = s.recs[j];
            if (a->type != WQ_REC_ANSWER || strcmp(a->consultation, cid) || s_void(&s, a))
                continue;
            s_head(&s, a, out, "      ");
            fprintf(out, _("answer: %s\n"), s_or(a->answer));
            s_fixes(&s, a, out, "          ");
        }
    }
    fprintf(out, _("\nCorrections and retractions\n"));
    for (size_t i = 0; i < s.n; i++) {
        const wq_record_t *r = s.recs[i];
        if (r->type != WQ_REC_CORRECTION && r->type != WQ_REC_RETRACTION)
            continue;
        s_head(&s, r, out, "  ");
        fprintf(out, _("%s of %s: %s\n"),
                wq_i18n_chinese() ? wq_rec_type_label(r->type) : wq_rec_type_name(r->type),
                r->target, s_or(r->reason));
    }
done:
    for (size_t i = 0; i < s.n; i++)
        wq_record_destroy(&s.recs[i]);
    free(s.recs);
    return rc;
}

/*  ---- list ------------------------------------------------------------- */

typedef struct {
    const wq_list_filter_t *f;
    wq_table_t *t;
    uint32_t inc;
    uint64_t acked;
    int rc;
} s_list_t;

static const char *
s_summary(const wq_record_t *r)
{
    const char *cands[] = {r->name, r->findings, r->description, r->measures, r->note,
                           r->content, r->question, r->answer, r->reason};
    for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++)
        if (cands[i])
            return cands[i];
    return "";
}

static int
s_list_cb(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size, void *arg)
{
    s_list_t *l = arg;
    wq_record_t *r = s_decode(inc, seq, data, size);
    if (!r)
        return 0;
    const wq_list_filter_t *f = l->f;
    if ((f->type && r->type != f->type) || (f->from && strcmp(r->date, f->from) < 0) ||
        (f->to && strcmp(r->date, f->to) > 0) || (f->ent && strcmp(r->ent, f->ent) != 0)) {
        wq_record_destroy(&r);
        return 0;
    }
    char id[WQ_EVENT_ID_MAX], sum[64];
    wq_record_id(r, id);
    const char *s = s_summary(r);
    size_t n = strlen(s);
    if (n > 48) {
        n = 48;
        while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
            n--;
    }
    snprintf(sum, sizeof sum, "%.*s%s", (int) n, s, n < strlen(s) ? "..." : "");
    for (char *p = sum; *p; p++)
        if (*p == '\n' || *p == '\t')
            *p = ' ';
    size_t row;
    int rc = wq_table_add_row(l->t, &row);
    if (rc == WQ_OK)
        rc = wq_table_set_str(l->t, row, 0, id);
    if (rc == WQ_OK)
        rc = wq_table_set_str(l->t, row, 1, wq_rec_type_name(r->type));
    if (rc == WQ_OK)
        rc = wq_table_set_str(l->t, row, 2, r->date);
    if (rc == WQ_OK)
        rc = wq_table_set_str(l->t, row, 3, r->ent[0] ? r->ent : NULL);
    if (rc == WQ_OK)
        rc = wq_table_set_str(l->t, row, 4,
                              inc != l->inc ? "archive" : seq <= l->acked ? "acked" : "queued");
    if (rc == WQ_OK)
        rc = wq_table_set_str(l->t, row, 5, sum);
    wq_record_destroy(&r);
    if (rc != WQ_OK) {
        l->rc = rc;
        return 1;
    }
    return 0;
}

int
wq_casefile_list(wq_outbox_t *box, const wq_list_filter_t *filter, wq_format_t format, FILE *out,
                 wq_err_t *err)
{
    static const char *cols[] = {"id", "type", "date", "ent", "state", "summary"};
    wq_outbox_state_t st;
    s_list_t l = {.f = filter};
    int rc = wq_outbox_state(box, &st, err);
    if (rc != WQ_OK)
        return rc;
    l.inc = st.inc;
    l.acked = st.acked;
    l.t = wq_table_new(6, cols);
    if (!l.t)
        return wq_err_set(err, WQ_E_NOMEM, "", _("out of memory"));
    rc = wq_outbox_scan(box, s_list_cb, &l, err);
    if (rc == WQ_OK && l.rc != WQ_OK)
        rc = wq_err_set(err, l.rc, "", _("cannot build the list: %s"), wq_strerror(l.rc));
    if (rc == WQ_OK)
        rc = wq_table_write(l.t, format, out);
    wq_table_destroy(&l.t);
    return rc;
}
