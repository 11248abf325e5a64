/*  =========================================================================
    queries - summary, overdue, enterprise, agents and quarantine tables

    What provincial staff ask of the central store. Every query reads what
    its rows need and nothing else: "summary" sums one area's counters per
    row (views.c) and walks the deadline index up to the as-of date for
    the overdue column; "overdue" walks that index; "enterprise" folds the
    one enterprise's entities to show its case file with each event's
    effect; "agents" and "quarantine" read their tables. Column names and
    parameter rules are in docs/STORE.md; names of areas come from the
    compiled-in divisions table.
    =========================================================================
*/
#include "collector/queries.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collector/fold.h"
#include "collector/ledger.h"
#include "collector/views.h"
#include "common/creditcode.h"
#include "common/date.h"
#include "common/division.h"
#include "common/record.h"
#include "common/store.h"

/*  ---- parameters --------------------------------------------------------- */

typedef struct {
    const char *level, *area, *from, *to, *asof, *code, *agent, *hours, *now_ms;
} s_params_t;

static int
s_params(const char *query, const wq_param_t *p, size_t n, const char *allowed, s_params_t *out,
         wq_err_t *err)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++) {
        const char *k = p[i].key ? p[i].key : "";
        const char *v = p[i].value ? p[i].value : "";
        size_t kl = strlen(k);
        const char *hit = kl ? strstr(allowed, k) : NULL;
        while (hit && !((hit == allowed || hit[-1] == ',') && (hit[kl] == ',' || hit[kl] == '\0')))
            hit = strstr(hit + 1, k);
        if (!hit)
            return wq_err_set(err, WQ_E_UNKNOWN, k, "query %s takes no parameter \"%s\" (it takes %s)",
                              query, k, allowed);
        const char **slot = !strcmp(k, "level")    ? &out->level
                            : !strcmp(k, "area")   ? &out->area
                            : !strcmp(k, "from")   ? &out->from
                            : !strcmp(k, "to")     ? &out->to
                            : !strcmp(k, "asof")   ? &out->asof
                            : !strcmp(k, "code")   ? &out->code
                            : !strcmp(k, "agent")  ? &out->agent
                            : !strcmp(k, "hours")  ? &out->hours
                            : !strcmp(k, "now_ms") ? &out->now_ms
                                                   : NULL;
        if (!slot)
            return wq_err_set(err, WQ_E_UNKNOWN, k, "unknown parameter \"%s\"", k);
        *slot = v;
    }
    return WQ_OK;
}

/*  Area filter: 2, 4 or 6 digits; a 6-digit code loses its trailing "00"
    pairs (130000 -> "13", 130100 -> "1301"). */
static int
s_area_prefix(const char *area, char prefix[7], wq_err_t *err)
{
    size_t n = area ? strlen(area) : 0;
    if (!area || (n != 2 && n != 4 && n != 6) || strspn(area, "0123456789") != n)
        return wq_err_set(err, WQ_E_FORMAT, "area",
                          "area \"%s\" is not a GB/T 2260 code (6 digits, e.g. 130000, 130100, "
                          "130102) or a 2/4-digit prefix", area ? area : "");
    memcpy(prefix, area, n + 1);
    while (n > 2 && prefix[n - 1] == '0' && prefix[n - 2] == '0')
        prefix[n -= 2] = '\0';
    return WQ_OK;
}

static int
s_month_check(const char *field, const char *m, wq_err_t *err)
{
    if (strlen(m) != 7 || m[4] != '-' || strspn(m, "0123456789") != 4 ||
        strspn(m + 5, "0123456789") != 2 || memcmp(m, "2000", 4) < 0 || memcmp(m, "2099", 4) > 0 ||
        memcmp(m + 5, "01", 2) < 0 || memcmp(m + 5, "12", 2) > 0)
        return wq_err_set(err, WQ_E_FORMAT, field, "%s \"%s\" is not a month YYYY-MM (2000-2099)",
                          field, m);
    return WQ_OK;
}

static int
s_asof(const char *given, char out[11], wq_err_t *err)
{
    if (!given) {
        wq_date_today(out);
        return WQ_OK;
    }
    wq_err_t derr;
    if (wq_date_check(given, &derr) != WQ_OK)
        return wq_err_set(err, WQ_E_FORMAT, "asof", "asof: %s", derr.text);
    snprintf(out, 11, "%s", given);
    return WQ_OK;
}

static const char *
s_area_name(const char *code)
{
    const wq_division_t *d = wq_division_find(code);
    return d ? d->name : NULL;
}

static int
s_nomem(wq_err_t *err, const char *query)
{
    return wq_err_set(err, WQ_E_NOMEM, "query", "out of memory building the %s table", query);
}

/*  Add a row and set its cells from a list (int64 or string); any failure
    is NOMEM. */
static int
s_set_str(wq_table_t *t, size_t row, size_t col, const char *s, int *rc)
{
    if (*rc == WQ_OK)
        *rc = wq_table_set_str(t, row, col, s);
    return *rc;
}

static int
s_set_int(wq_table_t *t, size_t row, size_t col, int64_t v, int *rc)
{
    if (*rc == WQ_OK)
        *rc = wq_table_set_int(t, row, col, v);
    return *rc;
}

/*  ---- summary ------------------------------------------------------------ */

/*  The end of a query that walked one cursor: close cur (if open), then
    hand the table to *out when rc is WQ_OK, else destroy it. Returns rc. */
static int
s_finish(int rc, MDB_cursor *cur, wq_table_t **t, wq_table_t **out)
{
    if (cur)
        mdb_cursor_close(cur);
    if (rc == WQ_OK)
        *out = *t;
    else
        wq_table_destroy(t);
    return rc;
}

static bool
s_level_match(const wq_division_t *d, wq_level_t level)
{
    if (level == WQ_LEVEL_COUNTY)
        return d->level == WQ_LEVEL_COUNTY || d->level == WQ_LEVEL_ZONE;
    return d->level == level;
}

/*  Walk the deadline index up to asof (exclusive): per-row overdue counts
    for problems opened in from..to and not rectified/verified at asof. */
static int
s_overdue_counts(MDB_txn *txn, wq_central_t *c, const char *prefix, wq_level_t level,
                 const char *from, const char *to, const char *asof, const wq_division_t **rows,
                 int64_t *counts, size_t nrows, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    int rc = WQ_OK;
    int mrc = mdb_cursor_open(txn, c->deadlines, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(deadlines)", err);
    MDB_val k, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 10 || v.mv_size < 13) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "deadlines", "a deadline entry is malformed: run verify");
            break;
        }
        if (memcmp(k.mv_data, asof, 10) >= 0)
            break;
        const char *val = v.mv_data;
        if (strncmp(val, prefix, strlen(prefix)) != 0)
            continue;
        if ((from && memcmp(val + 6, from, 7) < 0) || (to && memcmp(val + 6, to, 7) > 0))
            continue;
        if (wq_fold_resolved_at(val + 13, v.mv_size - 13, asof))
            continue;   /* rectified or verified at the end of asof */
        char county[7], up[7];
        memcpy(county, val, 6);
        county[6] = '\0';
        wq_division_rollup(county, level, up);
        for (size_t i = 0; i < nrows; i++)
            if (strcmp(rows[i]->code, up) == 0) {
                counts[i]++;
                break;
            }
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(deadlines)", err);
    mdb_cursor_close(cur);
    return rc;
}

static int
s_summary(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
          wq_table_t **out, wq_err_t *err)
{
    s_params_t p;
    char prefix[7], asof[11];
    const wq_division_t **rows = NULL;
    int64_t *overdue = NULL;
    char **cols = NULL;
    size_t ncols = 0, nrows = 0;
    wq_table_t *t = NULL;
    wq_view_sums_t s = {0};
    int rc = s_params("summary", params, nparams, "level,area,from,to,asof", &p, err);
    if (rc != WQ_OK)
        return rc;
    wq_level_t level = p.level ? wq_level_parse(p.level) : WQ_LEVEL_PROVINCE;
    if (level != WQ_LEVEL_PROVINCE && level != WQ_LEVEL_CITY && level != WQ_LEVEL_COUNTY)
        return wq_err_set(err, WQ_E_FORMAT, "level",
                          "level \"%s\" is not one of province, city, county", p.level);
    if ((rc = s_area_prefix(p.area ? p.area : "130000", prefix, err)) != WQ_OK)
        return rc;
    size_t plen = strlen(prefix);
    /* An area without a level is that area itself: 130100 alone is one row
       for Shijiazhuang, not an error. */
    if (!p.level)
        level = plen <= 2 ? WQ_LEVEL_PROVINCE : plen <= 4 ? WQ_LEVEL_CITY : WQ_LEVEL_COUNTY;
    if ((level == WQ_LEVEL_PROVINCE && plen > 2) || (level == WQ_LEVEL_CITY && plen > 4))
        return wq_err_set(err, WQ_E_FORMAT, "level",
                          "level %s is above area %s: choose a level at or below the area",
                          wq_level_name(level), p.area);
    if (p.from && (rc = s_month_check("from", p.from, err)) != WQ_OK)
        return rc;
    if (p.to && (rc = s_month_check("to", p.to, err)) != WQ_OK)
        return rc;
    if (p.from && p.to && strcmp(p.from, p.to) > 0)
        return wq_err_set(err, WQ_E_FORMAT, "from", "from %s is after to %s: no month lies between",
                          p.from, p.to);
    if ((rc = s_asof(p.asof, asof, err)) != WQ_OK)
        return rc;

    /* Columns, with enum names from the record table. */
    static const char *const head[] = {"area", "area_name", "level", "enterprises_registered",
                                       "enterprises_visited", "visits"};
    size_t maxcols = 64;
    cols = calloc(maxcols, sizeof *cols);
    if (!cols)
        goto oom;
#define S_COL(...)                                                         \
    do {                                                                   \
        if (ncols >= maxcols || asprintf(&cols[ncols], __VA_ARGS__) < 0) { \
            cols[ncols] = NULL;                                            \
            goto oom;                                                      \
        }                                                                  \
        ncols++;                                                           \
    } while (0)
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        S_COL("%s", head[i]);
    for (int i = 1; i < WQ_METHOD_COUNT; i++)
        S_COL("visits_%s", wq_enum_name(WQ_F_METHOD, i));
    S_COL("problems");
    for (int i = 1; i < WQ_CAT_COUNT; i++)
        S_COL("problems_%s", wq_enum_name(WQ_F_CATEGORY, i));
    for (int i = WQ_STATUS_OPEN; i <= WQ_STATUS_VERIFIED; i++)
        S_COL("problems_%s", wq_enum_name(WQ_F_STATUS, i));
    S_COL("plans");
    S_COL("overdue");
    S_COL("services");
    for (int i = 1; i < WQ_SERVICE_COUNT; i++)
        S_COL("services_%s", wq_enum_name(WQ_F_KIND, i));
    S_COL("consultations");
    S_COL("consultations_answered");
    S_COL("answer_days_median");
    for (int i = 1; i < WQ_CLASS_COUNT; i++)
        S_COL("class_%s", wq_enum_name(WQ_F_CLASS, i));
#undef S_COL
    t = wq_table_new(ncols, (const char *const *) cols);
    if (!t)
        goto oom;

    for (size_t i = 0; wq_division_at(i); i++) {
        const wq_division_t *d = wq_division_at(i);
        if (!s_level_match(d, level) || strncmp(d->code, prefix, plen) != 0)
            continue;
        const wq_division_t **nr = realloc(rows, (nrows + 1) * sizeof *nr);
        if (!nr)
            goto oom;
        rows = nr;
        rows[nrows++] = d;
    }
    overdue = calloc(nrows ? nrows : 1, sizeof *overdue);
    if (!overdue)
        goto oom;
    rc = s_overdue_counts(txn, c, prefix, level, p.from, p.to, asof, rows, overdue, nrows, err);
    if (rc != WQ_OK)
        goto fail;
    for (size_t i = 0; i < nrows; i++) {
        memset(&s, 0, sizeof s);
        rc = wq_views_sum(txn, c, rows[i]->code, p.from, p.to, &s, err);
        if (rc != WQ_OK)
            goto fail;
        size_t r, col = 0;
        if ((rc = wq_table_add_row(t, &r)) != WQ_OK)
            goto oom;
        s_set_str(t, r, col++, rows[i]->code, &rc);
        s_set_str(t, r, col++, rows[i]->name, &rc);
        s_set_str(t, r, col++, wq_level_name(level), &rc);
        s_set_int(t, r, col++, s.registered, &rc);
        s_set_int(t, r, col++, s.visited, &rc);
        s_set_int(t, r, col++, s.visits, &rc);
        for (int j = 1; j < WQ_METHOD_COUNT; j++)
            s_set_int(t, r, col++, s.by_method[j], &rc);
        s_set_int(t, r, col++, s.problems, &rc);
        for (int j = 1; j < WQ_CAT_COUNT; j++)
            s_set_int(t, r, col++, s.by_category[j], &rc);
        for (int j = WQ_STATUS_OPEN; j <= WQ_STATUS_VERIFIED; j++)
            s_set_int(t, r, col++, s.by_status[j], &rc);
        s_set_int(t, r, col++, s.plans, &rc);
        s_set_int(t, r, col++, overdue[i], &rc);
        s_set_int(t, r, col++, s.services, &rc);
        for (int j = 1; j < WQ_SERVICE_COUNT; j++)
            s_set_int(t, r, col++, s.by_kind[j], &rc);
        s_set_int(t, r, col++, s.consultations, &rc);
        s_set_int(t, r, col++, s.answered, &rc);
        int64_t med = wq_view_sums_median(&s);
        if (med >= 0)
            s_set_int(t, r, col++, med, &rc);
        else
            col++;
        for (int j = 1; j < WQ_CLASS_COUNT; j++)
            s_set_int(t, r, col++, s.by_class[j], &rc);
        wq_view_sums_clear(&s);
        if (rc != WQ_OK)
            goto oom;
    }
    *out = t;
    t = NULL;
    rc = WQ_OK;
    goto done;
oom:
    rc = s_nomem(err, "summary");
fail:
done:
    wq_view_sums_clear(&s);
    wq_table_destroy(&t);
    for (size_t i = 0; cols && i < ncols; i++)
        free(cols[i]);
    free(cols);
    free(rows);
    free(overdue);
    return rc;
}

/*  ---- overdue ------------------------------------------------------------ */

static int
s_get_state(MDB_txn *txn, wq_central_t *c, const char *entity, wq_fold_state_t *st, bool *found,
            wq_err_t *err)
{
    MDB_val k = {strlen(entity), (void *) entity}, v;
    memset(st, 0, sizeof *st);
    *found = false;
    int mrc = mdb_get(txn, c->states, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return WQ_OK;
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_get(states)", err);
    int rc = wq_fold_state_decode(v.mv_data, v.mv_size, st, err);
    *found = rc == WQ_OK;
    return rc;
}

static int
s_overdue(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
          wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"problem", "ent", "enterprise_name", "county", "county_name",
                                       "category", "severity", "opened", "deadline",
                                       "days_overdue", "status"};
    s_params_t p;
    char prefix[7], asof[11];
    MDB_cursor *cur = NULL;
    wq_table_t *t = NULL;
    int rc = s_params("overdue", params, nparams, "area,asof", &p, err);
    if (rc != WQ_OK)
        return rc;
    if ((rc = s_area_prefix(p.area ? p.area : "130000", prefix, err)) != WQ_OK)
        return rc;
    if ((rc = s_asof(p.asof, asof, err)) != WQ_OK)
        return rc;
    int32_t asof_days = wq_date_days(asof);
    t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!t)
        return s_nomem(err, "overdue");
    int mrc = mdb_cursor_open(txn, c->deadlines, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(deadlines)", err);
        goto done;
    }
    MDB_val k, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == WQ_OK;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 12 || k.mv_size > 10 + WQ_ENTITY_MAX || v.mv_size < 13) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "deadlines", "a deadline entry is malformed: run verify");
            break;
        }
        if (memcmp(k.mv_data, asof, 10) >= 0)
            break;
        const char *val = v.mv_data;
        if (strncmp(val, prefix, strlen(prefix)) != 0)
            continue;
        if (wq_fold_resolved_at(val + 13, v.mv_size - 13, asof))
            continue;
        char deadline[11], entity[WQ_ENTITY_MAX + 1], ename[WQ_ENTITY_MAX];
        memcpy(deadline, k.mv_data, 10);
        deadline[10] = '\0';
        memcpy(entity, (const char *) k.mv_data + 10, k.mv_size - 10);
        entity[k.mv_size - 10] = '\0';
        wq_fold_state_t ps, es;
        bool pf, ef = false;
        rc = s_get_state(txn, c, entity, &ps, &pf, err);
        if (rc != WQ_OK)
            break;
        snprintf(ename, sizeof ename, "E:%s", ps.ent);
        rc = s_get_state(txn, c, ename, &es, &ef, err);
        if (rc != WQ_OK) {
            wq_fold_state_clear(&ps);
            break;
        }
        size_t r;
        if (wq_table_add_row(t, &r) != WQ_OK) {
            rc = WQ_E_NOMEM;
        } else {
            s_set_str(t, r, 0, entity + 2, &rc);
            s_set_str(t, r, 1, ps.ent, &rc);
            s_set_str(t, r, 2, ef && es.name[0] ? es.name : NULL, &rc);
            s_set_str(t, r, 3, ps.county, &rc);
            s_set_str(t, r, 4, s_area_name(ps.county), &rc);
            s_set_str(t, r, 5, wq_enum_name(WQ_F_CATEGORY, ps.category), &rc);
            s_set_str(t, r, 6, wq_enum_name(WQ_F_SEVERITY, ps.severity), &rc);
            s_set_str(t, r, 7, ps.date, &rc);
            s_set_str(t, r, 8, deadline, &rc);
            s_set_int(t, r, 9, asof_days - wq_date_days(deadline), &rc);
            s_set_str(t, r, 10, wq_enum_name(WQ_F_STATUS, ps.status), &rc);
        }
        wq_fold_state_clear(&ps);
        wq_fold_state_clear(&es);
        if (rc != WQ_OK)
            rc = s_nomem(err, "overdue");
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(deadlines)", err);
done:
    return s_finish(rc, cur, &t, out);
}

/*  ---- enterprise --------------------------------------------------------- */

/*  Cut s to at most max code points, appending "…" if cut. */
static char *
s_cut(const char *s, size_t max)
{
    size_t i = 0, cps = 0;
    while (s[i] && cps < max) {
        i++;
        while (((unsigned char) s[i] & 0xC0) == 0x80)
            i++;
        cps++;
    }
    char *o = malloc(i + 4);
    if (!o)
        return NULL;
    memcpy(o, s, i);
    if (s[i])
        memcpy(o + i, "\xE2\x80\xA6", 4);
    else
        o[i] = '\0';
    for (char *q = o; *q; q++)
        if (*q == '\n' || *q == '\r' || *q == '\t')
            *q = ' ';
    return o;
}

#define S_E(f, v) wq_enum_name(f, (int) (v))

/*  One line saying what an event is about (effective values). */
static char *
s_event_summary(const wq_record_t *r)
{
    char *txt = NULL, *res;
    const char *s1 = "";
    int n = -1;
    switch (r->type) {
    case WQ_REC_ENTERPRISE:
        n = asprintf(&txt, "%s; %s", r->name ? r->name : "", r->industry);
        break;
    case WQ_REC_VISIT:
        n = asprintf(&txt, "%s: %s", S_E(WQ_F_METHOD, r->method), r->findings ? r->findings : "");
        break;
    case WQ_REC_PROBLEM:
        n = asprintf(&txt, "%s/%s: %s", S_E(WQ_F_CATEGORY, r->category),
                     S_E(WQ_F_SEVERITY, r->severity), r->description ? r->description : "");
        break;
    case WQ_REC_PLAN:
        n = asprintf(&txt, "deadline %s: %s", r->deadline, r->measures ? r->measures : "");
        break;
    case WQ_REC_PROGRESS:
        n = asprintf(&txt, "%s: %s", S_E(WQ_F_STATUS, r->status), r->note ? r->note : "");
        break;
    case WQ_REC_SERVICE:
        n = asprintf(&txt, "%s: %s", S_E(WQ_F_KIND, r->kind), r->content ? r->content : "");
        break;
    case WQ_REC_CONSULTATION:
        n = asprintf(&txt, "%s: %s", S_E(WQ_F_CHANNEL, r->channel), r->question ? r->question : "");
        break;
    case WQ_REC_ANSWER:
        n = asprintf(&txt, "%s", r->answer ? r->answer : "");
        break;
    case WQ_REC_CLASSIFICATION:
        n = asprintf(&txt, "%s: %s", S_E(WQ_F_CLASS, r->klass), r->reason ? r->reason : "");
        break;
    case WQ_REC_CORRECTION: {
        char fields[512] = "";
        size_t off = 0;
        for (int f = 0; r->set && f < WQ_F_COUNT && off < sizeof fields; f++)
            if (r->set->present & (1ull << f) && f != WQ_F_TYPE)
                off += (size_t) snprintf(fields + off, sizeof fields - off, "%s%s", off ? "," : "",
                                         wq_field_name((wq_field_t) f));
        n = asprintf(&txt, "corrects %s (%s): %s", r->target, fields, r->reason ? r->reason : "");
        break;
    }
    case WQ_REC_RETRACTION:
        n = asprintf(&txt, "retracts %s: %s", r->target, r->reason ? r->reason : "");
        break;
    default:
        n = asprintf(&txt, "%s", s1);
        break;
    }
    if (n < 0)
        return NULL;
    res = s_cut(txt, 120);
    free(txt);
    return res;
}

typedef struct {
    wq_fold_item_t *items;
    size_t n;
    wq_fold_state_t st;
    char entity[WQ_ENTITY_MAX];
} s_entity_t;

typedef struct {
    const wq_record_t *rec;
    const char *id;
    const char *entity;
    wq_effect_t effect;
    const char *status;
} s_line_t;

static int
s_cmp_lines(const void *a, const void *b)
{
    const wq_record_t *x = ((const s_line_t *) a)->rec, *y = ((const s_line_t *) b)->rec;
    int d = strcmp(x->date, y->date);
    if (d)
        return d;
    d = strcmp(x->agent, y->agent);
    if (d)
        return d;
    if (x->inc != y->inc)
        return x->inc < y->inc ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static const char *const s_effect_names[] = {"effective", "corrected", "retracted", "ignored"};

static int
s_enterprise(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
             wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"date", "type", "id", "county", "entity", "summary",
                                       "status", "effect"};
    s_params_t p;
    s_entity_t *ents = NULL;
    size_t nents = 0;
    s_line_t *lines = NULL;
    size_t nlines = 0;
    MDB_cursor *cur = NULL;
    wq_table_t *t = NULL;
    int rc = s_params("enterprise", params, nparams, "code", &p, err);
    if (rc != WQ_OK)
        return rc;
    if (!p.code)
        return wq_err_set(err, WQ_E_MISSING, "code", "query enterprise needs code=CREDIT_CODE");
    wq_err_t cerr;
    if (wq_creditcode_check(p.code, &cerr) != WQ_OK)
        return wq_err_set(err, WQ_E_FORMAT, "code", "code: %s", cerr.text);

    /* The enterprise entity and the problems and consultations linked to it. */
    char ekey[WQ_ENTITY_MAX];
    snprintf(ekey, sizeof ekey, "E:%s", p.code);
    size_t cap = 8;
    ents = calloc(cap, sizeof *ents);
    if (!ents)
        goto oom;
    snprintf(ents[nents++].entity, WQ_ENTITY_MAX, "%s", ekey);
    int mrc = mdb_cursor_open(txn, c->links, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(links)", err);
        goto fail;
    }
    MDB_val k = {strlen(ekey), ekey}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
        if (v.mv_size >= WQ_ENTITY_MAX)
            continue;
        if (nents == cap) {
            s_entity_t *ne = realloc(ents, 2 * cap * sizeof *ne);
            if (!ne)
                goto oom;
            memset(ne + cap, 0, cap * sizeof *ne);
            ents = ne;
            cap *= 2;
        }
        memcpy(ents[nents].entity, v.mv_data, v.mv_size);
        ents[nents++].entity[v.mv_size] = '\0';
    }
    if (mrc != MDB_NOTFOUND) {
        rc = wq_store_err(mrc, "mdb_cursor_get(links)", err);
        goto fail;
    }
    size_t total = 0;
    for (size_t i = 0; i < nents; i++) {
        rc = wq_fold_load(txn, c, ents[i].entity, &ents[i].items, &ents[i].n, err);
        if (rc == WQ_OK)
            rc = wq_fold_compute(ents[i].entity, ents[i].items, ents[i].n, &ents[i].st, err);
        if (rc != WQ_OK)
            goto fail;
        total += ents[i].n;
    }
    if (total == 0) {
        rc = wq_err_set(err, WQ_E_NOTFOUND, "code", "no events for enterprise %s", p.code);
        goto fail;
    }
    lines = calloc(total, sizeof *lines);
    if (!lines)
        goto oom;
    for (size_t i = 0; i < nents; i++) {
        for (size_t j = 0; j < ents[i].n; j++) {
            s_line_t *l = &lines[nlines++];
            l->rec = ents[i].items[j].rec;
            l->id = ents[i].items[j].id;
            l->entity = ents[i].entity;
            l->effect = ents[i].items[j].effect;
            l->status = NULL;
            const wq_fold_state_t *st = &ents[i].st;
            bool opener = strcmp(l->id, ents[i].entity + 2) == 0;
            if (opener && st->exists && st->kind == 'P')
                l->status = wq_enum_name(WQ_F_STATUS, st->status);
            else if (opener && st->exists && st->kind == 'C')
                l->status = st->answered ? "answered" : "unanswered";
            else if (l->rec->type == WQ_REC_CLASSIFICATION)
                l->status = wq_enum_name(WQ_F_CLASS, l->rec->klass);
        }
    }
    qsort(lines, nlines, sizeof *lines, s_cmp_lines);
    t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!t)
        goto oom;
    for (size_t i = 0; i < nlines; i++) {
        size_t r;
        char *sum = s_event_summary(lines[i].rec);
        if (!sum || wq_table_add_row(t, &r) != WQ_OK) {
            free(sum);
            goto oom;
        }
        s_set_str(t, r, 0, lines[i].rec->date, &rc);
        s_set_str(t, r, 1, wq_rec_type_name(lines[i].rec->type), &rc);
        s_set_str(t, r, 2, lines[i].id, &rc);
        s_set_str(t, r, 3, lines[i].rec->county, &rc);
        s_set_str(t, r, 4, lines[i].entity, &rc);
        s_set_str(t, r, 5, sum, &rc);
        s_set_str(t, r, 6, lines[i].status, &rc);
        s_set_str(t, r, 7, s_effect_names[lines[i].effect], &rc);
        free(sum);
        if (rc != WQ_OK)
            goto oom;
    }
    *out = t;
    t = NULL;
    rc = WQ_OK;
    goto done;
oom:
    rc = s_nomem(err, "enterprise");
fail:
done:
    if (cur)
        mdb_cursor_close(cur);
    wq_table_destroy(&t);
    free(lines);
    for (size_t i = 0; ents && i < nents; i++) {
        wq_fold_items_free(&ents[i].items, ents[i].n);
        wq_fold_state_clear(&ents[i].st);
    }
    free(ents);
    return rc;
}

/*  ---- agents ------------------------------------------------------------- */

static int
s_u64_param(const char *field, const char *s, uint64_t *out, wq_err_t *err)
{
    char *end;
    if (!s || !*s || strspn(s, "0123456789") != strlen(s))
        return wq_err_set(err, WQ_E_FORMAT, field, "%s \"%s\" is not a whole number", field,
                          s ? s : "");
    *out = strtoull(s, &end, 10);
    return WQ_OK;
}

static int
s_agents(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
         wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"agent", "inc", "county", "county_name", "hwm", "stored",
                                       "quarantined", "last_seq", "backlog", "last_contact",
                                       "synced_recently"};
    s_params_t p;
    char prefix[7];
    uint64_t hours = 24, now = 0;
    MDB_cursor *cur = NULL;
    wq_table_t *t = NULL;
    int rc = s_params("agents", params, nparams, "area,hours,now_ms", &p, err);
    if (rc != WQ_OK)
        return rc;
    if ((rc = s_area_prefix(p.area ? p.area : "130000", prefix, err)) != WQ_OK)
        return rc;
    if (p.hours && (rc = s_u64_param("hours", p.hours, &hours, err)) != WQ_OK)
        return rc;
    if (p.now_ms && (rc = s_u64_param("now_ms", p.now_ms, &now, err)) != WQ_OK)
        return rc;
    if (!p.now_ms)
        now = wq_now_ms();
    t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!t)
        return s_nomem(err, "agents");
    int mrc = mdb_cursor_open(txn, c->streams, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(streams)", err);
        goto done;
    }
    MDB_val k, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == WQ_OK;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        wq_stream_row_t row;
        char agent[WQ_AGENT_ID_MAX + 1];
        if (k.mv_size < 6 || k.mv_size > WQ_AGENT_ID_MAX + 5 ||
            wq_stream_decode(v.mv_data, v.mv_size, &row) != WQ_OK) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "streams", "a stream row is malformed: run verify");
            break;
        }
        size_t alen = k.mv_size - 5;
        memcpy(agent, k.mv_data, alen);
        agent[alen] = '\0';
        uint32_t inc = wq_be32_get((const uint8_t *) k.mv_data + alen + 1);
        if (strncmp(row.county, prefix, strlen(prefix)) != 0)
            continue;
        size_t r;
        if (wq_table_add_row(t, &r) != WQ_OK) {
            rc = s_nomem(err, "agents");
            break;
        }
        char when[20];
        s_set_str(t, r, 0, agent, &rc);
        if (rc == WQ_OK)
            rc = wq_table_set_fmt(t, r, 1, "%08x", inc);
        s_set_str(t, r, 2, row.county, &rc);
        s_set_str(t, r, 3, s_area_name(row.county), &rc);
        s_set_int(t, r, 4, (int64_t) row.hwm, &rc);
        s_set_int(t, r, 5, (int64_t) row.stored, &rc);
        s_set_int(t, r, 6, (int64_t) row.quarantined, &rc);
        s_set_int(t, r, 7, (int64_t) row.last_seq, &rc);
        s_set_int(t, r, 8, (int64_t) row.queued, &rc);
        if (row.contact_ms) {
            wq_time_format(row.contact_ms, when);
            s_set_str(t, r, 9, when, &rc);
        }
        bool recent = row.contact_ms && row.contact_ms + hours * 3600000ull >= now;
        s_set_str(t, r, 10, recent ? "yes" : "no", &rc);
        if (rc != WQ_OK)
            rc = s_nomem(err, "agents");
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(streams)", err);
done:
    return s_finish(rc, cur, &t, out);
}

/*  ---- quarantine --------------------------------------------------------- */

static char *
s_record_text(const uint8_t *raw, size_t size)
{
    wq_record_t *rec = NULL;
    char *buf = NULL;
    size_t len = 0;
    if (wq_record_decode(raw, size, &rec, NULL) == WQ_OK) {
        FILE *f = open_memstream(&buf, &len);
        if (f) {
            wq_record_write_json(rec, f);
            fclose(f);
        }
        wq_record_destroy(&rec);
        return buf;
    }
    size_t n = size < 256 ? size : 256;
    buf = malloc(2 * n + 4);
    if (!buf)
        return NULL;
    for (size_t i = 0; i < n; i++)
        snprintf(buf + 2 * i, 3, "%02x", raw[i]);
    strcpy(buf + 2 * n, n < size ? "..." : "");
    return buf;
}

static int
s_quarantine(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
             wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"agent", "inc", "seq", "county", "code", "reason",
                                       "received", "bytes", "record"};
    s_params_t p;
    char prefix[7];
    MDB_cursor *cur = NULL;
    wq_table_t *t = NULL;
    int rc = s_params("quarantine", params, nparams, "area,agent", &p, err);
    if (rc != WQ_OK)
        return rc;
    if ((rc = s_area_prefix(p.area ? p.area : "130000", prefix, err)) != WQ_OK)
        return rc;
    if (p.agent && wq_agent_id_check(p.agent, NULL) != WQ_OK)
        return wq_err_set(err, WQ_E_FORMAT, "agent", "agent id \"%s\" is malformed", p.agent);
    t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!t)
        return s_nomem(err, "quarantine");
    int mrc = mdb_cursor_open(txn, c->quarantine, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(quarantine)", err);
        goto done;
    }
    MDB_val k, v;
    if (p.agent) {
        k.mv_size = strlen(p.agent) + 1;
        k.mv_data = (void *) p.agent;   /* agent NUL: the start of its streams */
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    } else {
        mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    char last_stream[WQ_AGENT_ID_MAX + 5] = "";
    size_t last_len = 0;
    wq_stream_row_t row = {0};
    for (; mrc == 0 && rc == WQ_OK; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char agent[WQ_AGENT_ID_MAX + 1];
        uint32_t inc;
        uint64_t seq;
        if (!wq_ek_split(k.mv_data, k.mv_size, agent, &inc, &seq)) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "quarantine", "a quarantine key is malformed");
            break;
        }
        if (p.agent && strcmp(agent, p.agent) != 0)
            break;
        /* The county is the stream's (the record's own may be what was wrong). */
        size_t slen = k.mv_size - 8;
        if (slen != last_len || memcmp(last_stream, k.mv_data, slen) != 0) {
            MDB_val sk = {slen, k.mv_data}, sv;
            memset(&row, 0, sizeof row);
            int grc = mdb_get(txn, c->streams, &sk, &sv);
            if (grc == 0 && wq_stream_decode(sv.mv_data, sv.mv_size, &row) != WQ_OK)
                memset(&row, 0, sizeof row);
            memcpy(last_stream, k.mv_data, slen);
            last_len = slen;
        }
        if (strncmp(row.county, prefix, strlen(prefix)) != 0)
            continue;
        wq_rd_t rd = {v.mv_data, v.mv_size, 0, false};
        const uint8_t *codeb = wq_rd_bytes(&rd, 4);
        uint64_t when_ms = wq_rd_u64(&rd);
        char *reason = wq_rd_strdup(&rd);
        if (rd.bad || !codeb || !reason) {
            free(reason);
            rc = wq_err_set(err, WQ_E_CORRUPT, "quarantine", "a quarantine entry is malformed");
            break;
        }
        uint32_t code = wq_be32_get(codeb);
        const uint8_t *raw = rd.p + rd.off;
        size_t rawlen = rd.len - rd.off;
        char *text = s_record_text(raw, rawlen);
        char when[20];
        wq_time_format(when_ms, when);
        size_t r;
        if (!text || wq_table_add_row(t, &r) != WQ_OK) {
            rc = WQ_E_NOMEM;
        } else {
            s_set_str(t, r, 0, agent, &rc);
            if (rc == WQ_OK)
                rc = wq_table_set_fmt(t, r, 1, "%08x", inc);
            s_set_int(t, r, 2, (int64_t) seq, &rc);
            s_set_str(t, r, 3, row.county[0] ? row.county : NULL, &rc);
            s_set_str(t, r, 4, wq_errname((int) code), &rc);
            s_set_str(t, r, 5, reason, &rc);
            s_set_str(t, r, 6, when, &rc);
            s_set_int(t, r, 7, (int64_t) rawlen, &rc);
            s_set_str(t, r, 8, text, &rc);
        }
        free(text);
        free(reason);
        if (rc != WQ_OK)
            rc = s_nomem(err, "quarantine");
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(quarantine)", err);
done:
    return s_finish(rc, cur, &t, out);
}

/*  ---- dispatch ----------------------------------------------------------- */

int
wq_queries_run(MDB_txn *txn, wq_central_t *c, const char *name, const wq_param_t *params,
               size_t nparams, wq_table_t **out, wq_err_t *err)
{
    *out = NULL;
    if (!strcmp(name, "summary"))
        return s_summary(txn, c, params, nparams, out, err);
    if (!strcmp(name, "overdue"))
        return s_overdue(txn, c, params, nparams, out, err);
    if (!strcmp(name, "enterprise"))
        return s_enterprise(txn, c, params, nparams, out, err);
    if (!strcmp(name, "agents"))
        return s_agents(txn, c, params, nparams, out, err);
    if (!strcmp(name, "quarantine"))
        return s_quarantine(txn, c, params, nparams, out, err);
    /* The dashboard's list queries (ledger.h). */
    if (!strcmp(name, "problems"))
        return wq_ledger_problems(txn, c, params, nparams, out, err);
    if (!strcmp(name, "enterprises"))
        return wq_ledger_enterprises(txn, c, params, nparams, out, err);
    if (!strcmp(name, "pending"))
        return wq_ledger_pending(txn, c, params, nparams, out, err);
    return wq_err_set(err, WQ_E_UNKNOWN, "name",
                      "unknown query \"%s\": summary, overdue, enterprise, agents, quarantine, "
                      "problems, enterprises, pending", name);
}
