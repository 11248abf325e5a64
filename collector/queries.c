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
#include "collector/marks.h"
#include "collector/ledger.h"
#include "collector/views.h"
#include "common/creditcode.h"
#include "common/date.h"
#include "common/i18n.h"
#include "common/division.h"
#include "common/record.h"
#include "common/store.h"
#include "proto/msg.h"

/*  ---- parameters --------------------------------------------------------- */

typedef struct {
    const char *level, *area, *from, *to, *asof, *code, *agent, *hours, *now_ms, *by;
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
            return wq_err_set(err, WQ_E_UNKNOWN, k, _("query %s takes no parameter \"%s\" (it takes %s)"),
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
                            : !strcmp(k, "by")     ? &out->by
                                                   : NULL;
        if (!slot)
            return wq_err_set(err, WQ_E_UNKNOWN, k, _("unknown parameter \"%s\""), k);
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
                          _("area \"%s\" is not a GB/T 2260 code (6 digits, e.g. 130000, 130100, "
                          "130102) or a 2/4-digit prefix"), area ? area : "");
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
        return wq_err_set(err, WQ_E_FORMAT, field, _("%s \"%s\" is not a month YYYY-MM (2000-2099)"),
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
        return wq_err_set(err, WQ_E_FORMAT, "asof", _("asof: %s"), derr.text);
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
    return wq_err_set(err, WQ_E_NOMEM, "query", _("out of memory building the %s table"), query);
}

/*  Set a text cell; any failure is NOMEM. A text over WQ_QUERY_CELL_MAX
    bytes is cut on a character boundary and ends with WQ_QUERY_CUT_MARK,
    so that no single record (a quarantined blob of control characters, a
    long finding) can make a reply unsendable and hide the others. */
static int
s_set_str(wq_table_t *t, size_t row, size_t col, const char *s, int *rc)
{
    if (*rc != WQ_OK)
        return *rc;
    size_t n = s ? strlen(s) : 0;
    if (n <= WQ_QUERY_CELL_MAX) {
        *rc = wq_table_set_str(t, row, col, s);
        return *rc;
    }
    static const char mark[] = WQ_QUERY_CUT_MARK;
    char *cut = malloc(WQ_QUERY_CELL_MAX + 1);
    if (!cut) {
        *rc = WQ_E_NOMEM;
        return *rc;
    }
    size_t keep = WQ_QUERY_CELL_MAX - (sizeof mark - 1);
    while (keep > 0 && ((unsigned char) s[keep] & 0xC0) == 0x80)
        keep--;     /* do not split a UTF-8 sequence */
    memcpy(cut, s, keep);
    memcpy(cut + keep, mark, sizeof mark);
    *rc = wq_table_set_str(t, row, col, cut);
    free(cut);
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

/*  Column suffix of a grade: "a", "b", "b_minus", "c", "d", "leading". */
static const char *
s_grade_col(int g)
{
    static const char *const names[WQ_GRADE_COUNT] = {"?", "a", "b", "b_minus", "c", "d",
                                                       "leading"};
    return g > 0 && g < WQ_GRADE_COUNT ? names[g] : "?";
}

/*  Name of a --by group column group: the focus groups, above_size. */
static const char *
s_group_name(int g)
{
    if (g > 0 && g < WQ_FOCUS_COUNT)
        return wq_enum_name(WQ_F_FOCUS, g);
    return g == WQ_GROUP_ABOVE_SIZE ? "above_size" : NULL;
}

static bool
s_level_match(const wq_division_t *d, wq_level_t level)
{
    if (level == WQ_LEVEL_COUNTY)
        return d->level == WQ_LEVEL_COUNTY || d->level == WQ_LEVEL_ZONE;
    return d->level == level;
}

static int s_get_state(MDB_txn *txn, wq_central_t *c, const char *entity, wq_fold_state_t *st,
                       bool *found, wq_err_t *err);

/*  ---- summary by group: problems joined to their enterprise's profile ---- */

/*  Per row and group: problems, rectified on time, late, overdue. */
enum { S_G_PROBLEMS, S_G_ON_TIME, S_G_LATE, S_G_OVERDUE, S_G_N };
typedef int64_t s_gcount_t[WQ_GROUP_COUNT][S_G_N];

/*  The enterprise's profile as of the end of date: the focus group and size
    of its last effective `enterprise` record (as corrected) dated on or
    before date, in fold order; none (false) if it had none by then. */
static int
s_profile_at(MDB_txn *txn, wq_central_t *c, const char *ekey, const char *date, int *focus,
             bool *above, bool *found, wq_err_t *err)
{
    wq_fold_item_t *items = NULL;
    wq_fold_transfer_t *tr = NULL;
    size_t n = 0, ntr = 0;
    wq_fold_state_t st;
    memset(&st, 0, sizeof st);
    *found = false;
    int rc = wq_fold_load(txn, c, ekey, &items, &n, err);
    if (rc == WQ_OK)
        rc = wq_fold_transfers_load(txn, c, ekey, &tr, &ntr, err);
    if (rc == WQ_OK && n > 0)
        rc = wq_fold_compute_owned(ekey, items, n, tr, ntr, &st, err);
    for (size_t i = 0; rc == WQ_OK && i < n; i++) {
        const wq_record_t *r = items[i].rec;
        if ((items[i].effect != WQ_EFFECT_EFFECTIVE && items[i].effect != WQ_EFFECT_CORRECTED) ||
            r->type != WQ_REC_ENTERPRISE || strcmp(r->date, date) > 0)
            continue;
        *found = true;
        *focus = (int) r->focus;
        *above = r->above_size;
    }
    wq_fold_state_clear(&st);
    wq_fold_items_free(&items, n);
    free(tr);
    return rc;
}

/*  Fill g[row] for the rows (all of one level, ordered by code): every
    problem linked to an enterprise (the links database), whose state
    exists, whose county is under the row and whose month opened is in
    from..to, counts in the groups of its enterprise's profile as of asof
    (s_profile_at), in the state it was in at the end of asof
    (wq_fold_problem_at). Cost: one pass over the links, one fold per
    enterprise with problems, one state read per problem. */
static int
s_group_problems(MDB_txn *txn, wq_central_t *c, const wq_division_t *const *rows, size_t nrows,
                 const char *from, const char *to, const char *asof, s_gcount_t *g, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    wq_fold_state_t st;
    memset(&st, 0, sizeof st);
    char ekey[WQ_ENTITY_MAX] = "", pkey[WQ_ENTITY_MAX];
    int focus = 0;
    bool above = false, profiled = false;
    int rc = WQ_OK, mrc = mdb_cursor_open(txn, c->links, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(links)", err);
    MDB_val k, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size >= WQ_ENTITY_MAX || v.mv_size >= WQ_ENTITY_MAX || v.mv_size < 2 ||
            memcmp(v.mv_data, "P:", 2) != 0)
            continue;
        if (strlen(ekey) != k.mv_size || memcmp(ekey, k.mv_data, k.mv_size) != 0) {
            memcpy(ekey, k.mv_data, k.mv_size);
            ekey[k.mv_size] = '\0';
            focus = 0;
            above = false;
            if ((rc = s_profile_at(txn, c, ekey, asof, &focus, &above, &profiled, err)) != WQ_OK)
                goto done;
        }
        if (!profiled || (focus <= 0 && !above))
            continue;
        memcpy(pkey, v.mv_data, v.mv_size);
        pkey[v.mv_size] = '\0';
        bool found;
        wq_fold_state_clear(&st);
        if ((rc = s_get_state(txn, c, pkey, &st, &found, err)) != WQ_OK)
            goto done;
        /* A problem counts with the enterprise its own record names (a plan
           naming another enterprise links it there too). */
        if (!found || !st.exists || strcmp(st.ent, ekey + 2) != 0)
            continue;
        if ((from && memcmp(st.month, from, 7) < 0) || (to && memcmp(st.month, to, 7) > 0))
            continue;
        size_t r = nrows;
        for (size_t i = 0; i < nrows && r == nrows; i++) {
            size_t pl = 6;
            while (pl > 2 && rows[i]->code[pl - 1] == '0' && rows[i]->code[pl - 2] == '0')
                pl -= 2;
            if (strncmp(st.county, rows[i]->code, pl) == 0)
                r = i;
        }
        if (r == nrows)
            continue;
        bool od, ot, lt;
        wq_fold_problem_at(&st, asof, &od, &ot, &lt);
        int gs[2] = {focus > 0 && focus < WQ_FOCUS_COUNT ? focus : 0,
                     above ? WQ_GROUP_ABOVE_SIZE : 0};
        for (int j = 0; j < 2; j++) {
            if (!gs[j])
                continue;
            g[r][gs[j]][S_G_PROBLEMS]++;
            g[r][gs[j]][S_G_ON_TIME] += ot;
            g[r][gs[j]][S_G_LATE] += lt;
            g[r][gs[j]][S_G_OVERDUE] += od;
        }
    }
    if (mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(links)", err);
done:
    wq_fold_state_clear(&st);
    mdb_cursor_close(cur);
    return rc;
}

/*  The summary's column names, made without an allocation each: at most
    WQ_RESULT_MAX_COLS names of at most S_COL_MAX - 1 bytes. */
#define S_COL_MAX 64

/*  Append the column prefix + name (in names[*n], pointed to by cols[*n]).
    Returns false when there is no room (the caller's out of memory). */
static bool
s_col(char names[][S_COL_MAX], const char **cols, size_t *n, const char *prefix, const char *name)
{
    size_t lp = strlen(prefix), ln = strlen(name);
    if (*n >= WQ_RESULT_MAX_COLS || lp + ln >= S_COL_MAX)
        return false;
    memcpy(names[*n], prefix, lp);
    memcpy(names[*n] + lp, name, ln + 1);
    cols[*n] = names[*n];
    (*n)++;
    return true;
}

static int
s_summary(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
          wq_table_t **out, wq_err_t *err)
{
    s_params_t p;
    char prefix[7], asof[11];
    const wq_division_t **rows = NULL;
    char names[WQ_RESULT_MAX_COLS][S_COL_MAX];
    const char *cols[WQ_RESULT_MAX_COLS];
    size_t ncols = 0, nrows = 0;
    wq_table_t *t = NULL;
    wq_view_sums_t s = {0};
    s_gcount_t *gc = NULL;
    int rc = s_params("summary", params, nparams, "level,area,from,to,asof,by", &p, err);
    if (rc != WQ_OK)
        return rc;
    bool by_group = false;
    if (p.by && strcmp(p.by, "group") == 0)
        by_group = true;
    else if (p.by)
        return wq_err_set(err, WQ_E_FORMAT, "by", _("by \"%s\" is not group"), p.by);
    wq_level_t level = p.level ? wq_level_parse(p.level) : WQ_LEVEL_PROVINCE;
    if (level != WQ_LEVEL_PROVINCE && level != WQ_LEVEL_CITY && level != WQ_LEVEL_COUNTY)
        return wq_err_set(err, WQ_E_FORMAT, "level",
                          _("level \"%s\" is not one of province, city, county"), p.level);
    if ((rc = s_area_prefix(p.area ? p.area : "130000", prefix, err)) != WQ_OK)
        return rc;
    size_t plen = strlen(prefix);
    /* An area without a level is that area itself: 130100 alone is one row
       for Shijiazhuang, not an error. */
    if (!p.level)
        level = plen <= 2 ? WQ_LEVEL_PROVINCE : plen <= 4 ? WQ_LEVEL_CITY : WQ_LEVEL_COUNTY;
    if ((level == WQ_LEVEL_PROVINCE && plen > 2) || (level == WQ_LEVEL_CITY && plen > 4))
        return wq_err_set(err, WQ_E_FORMAT, "level",
                          _("level %s is above area %s: choose a level at or below the area"),
                          wq_level_name(level), p.area);
    if (p.from && (rc = s_month_check("from", p.from, err)) != WQ_OK)
        return rc;
    if (p.to && (rc = s_month_check("to", p.to, err)) != WQ_OK)
        return rc;
    if (p.from && p.to && strcmp(p.from, p.to) > 0)
        return wq_err_set(err, WQ_E_FORMAT, "from", _("from %s is after to %s: no month lies between"),
                          p.from, p.to);
    if ((rc = s_asof(p.asof, asof, err)) != WQ_OK)
        return rc;

    /* Columns, with enum names from the record table. */
    static const char *const head[] = {"area", "area_name", "level", "enterprises_registered",
                                       "enterprises_visited", "visits"};
#define S_COL(prefix, name)                                       \
    do {                                                          \
        if (!s_col(names, cols, &ncols, (prefix), (name)))        \
            goto oom;                                             \
    } while (0)
    /* By group, the figures split and their totals only: the whole summary
       and the groups would not fit a RESULT (WQ_RESULT_MAX_COLS). */
    if (by_group) {
        static const char *const gh[] = {"area", "area_name", "level", "enterprises_registered",
                                         "enterprises_visited", "problems", "rectified_on_time",
                                         "rectified_late", "overdue"};
        for (size_t i = 0; i < sizeof gh / sizeof gh[0]; i++)
            S_COL(gh[i], "");
    }
    for (size_t i = 0; !by_group && i < sizeof head / sizeof head[0]; i++)
        S_COL(head[i], "");
    for (int i = 1; !by_group && i < WQ_METHOD_COUNT; i++)
        S_COL("visits_", wq_enum_name(WQ_F_METHOD, i));
    if (by_group)
        goto group_cols;
    S_COL("problems", "");
    for (int i = 1; i < WQ_CAT_COUNT; i++)
        S_COL("problems_", wq_enum_name(WQ_F_CATEGORY, i));
    for (int i = WQ_STATUS_OPEN; i <= WQ_STATUS_VERIFIED; i++)
        S_COL("problems_", wq_enum_name(WQ_F_STATUS, i));
    S_COL("plans", "");
    S_COL("overdue", "");
    S_COL("services", "");
    for (int i = 1; i < WQ_SERVICE_COUNT; i++)
        S_COL("services_", wq_enum_name(WQ_F_KIND, i));
    S_COL("consultations", "");
    S_COL("consultations_answered", "");
    S_COL("answer_days_median", "");
    for (int i = 1; i < WQ_CLASS_COUNT; i++)
        S_COL("class_", wq_enum_name(WQ_F_CLASS, i));
    S_COL("rectified_on_time", "");
    S_COL("rectified_late", "");
    S_COL("rectify_days_median", "");
    for (int i = 1; i < WQ_GRADE_COUNT; i++)
        S_COL("grade_", s_grade_col(i));
group_cols:
    for (int g = 1; by_group && g < WQ_GROUP_COUNT; g++)
        if (s_group_name(g)) {
            S_COL("enterprises_registered_", s_group_name(g));
            S_COL("enterprises_visited_", s_group_name(g));
            S_COL("problems_", s_group_name(g));
            S_COL("rectified_on_time_", s_group_name(g));
            S_COL("rectified_late_", s_group_name(g));
            S_COL("overdue_", s_group_name(g));
        }
#undef S_COL
    t = wq_table_new(ncols, cols);
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
    if (by_group) {
        gc = calloc(nrows ? nrows : 1, sizeof *gc);
        if (!gc)
            goto oom;
        if ((rc = s_group_problems(txn, c, rows, nrows, p.from, p.to, asof, gc, err)) != WQ_OK)
            goto fail;
    }
    for (size_t i = 0; i < nrows; i++) {
        memset(&s, 0, sizeof s);
        rc = wq_views_sum_asof(txn, c, rows[i]->code, p.from, p.to, asof, &s, err);
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
        if (by_group) {
            s_set_int(t, r, col++, s.problems, &rc);
            s_set_int(t, r, col++, s.on_time, &rc);
            s_set_int(t, r, col++, s.late, &rc);
            s_set_int(t, r, col++, s.overdue, &rc);
            for (int g = 1; g < WQ_GROUP_COUNT; g++)
                if (s_group_name(g)) {
                    s_set_int(t, r, col++, s.group_registered[g], &rc);
                    s_set_int(t, r, col++, s.group_visited[g], &rc);
                    for (int m = 0; m < S_G_N; m++)
                        s_set_int(t, r, col++, gc[i][g][m], &rc);
                }
            wq_view_sums_clear(&s);
            if (rc != WQ_OK)
                goto oom;
            continue;
        }
        s_set_int(t, r, col++, s.visits, &rc);
        for (int j = 1; j < WQ_METHOD_COUNT; j++)
            s_set_int(t, r, col++, s.by_method[j], &rc);
        s_set_int(t, r, col++, s.problems, &rc);
        for (int j = 1; j < WQ_CAT_COUNT; j++)
            s_set_int(t, r, col++, s.by_category[j], &rc);
        for (int j = WQ_STATUS_OPEN; j <= WQ_STATUS_VERIFIED; j++)
            s_set_int(t, r, col++, s.by_status[j], &rc);
        s_set_int(t, r, col++, s.plans, &rc);
        s_set_int(t, r, col++, s.overdue, &rc);
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
        s_set_int(t, r, col++, s.on_time, &rc);
        s_set_int(t, r, col++, s.late, &rc);
        med = wq_view_sums_rect_median(&s);
        if (med >= 0)
            s_set_int(t, r, col++, med, &rc);
        else
            col++;
        for (int j = 1; j < WQ_GRADE_COUNT; j++)
            s_set_int(t, r, col++, s.by_grade[j], &rc);
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
    free(rows);
    free(gc);
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

/*  Overdue (the one definition, shared with the summary's column): a
    problem is overdue at the end of day D if it was opened on or before D,
    a deadline was in force on D (that of the latest plan made on or before
    D) and it is before D, and the problem was not rectified or verified at
    the end of D. Each problem's overdue intervals are 'O' marks ordered by
    their first day, so the list reads the marks that start on or before
    asof and keeps those that have not ended. */
static int
s_overdue(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
          wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"problem", "ent", "enterprise_name", "county", "county_name",
                                       "category", "severity", "opened", "deadline",
                                       "days_overdue", "status", "first_deadline", "extensions",
                                       "overdue_since"};
    s_params_t p;
    char prefix[7], asof[11];
    MDB_cursor *cur = NULL;
    wq_table_t *t = NULL;
    int rc = s_params("overdue", params, nparams, "area,asof,from,to", &p, err);
    if (rc != WQ_OK)
        return rc;
    if ((rc = s_area_prefix(p.area ? p.area : "130000", prefix, err)) != WQ_OK)
        return rc;
    if ((rc = s_asof(p.asof, asof, err)) != WQ_OK)
        return rc;
    if (p.from && (rc = s_month_check("from", p.from, err)) != WQ_OK)
        return rc;
    if (p.to && (rc = s_month_check("to", p.to, err)) != WQ_OK)
        return rc;
    int32_t asof_days = wq_date_days(asof);
    t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!t)
        return s_nomem(err, "overdue");
    int mrc = mdb_cursor_open(txn, c->marks, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(marks)", err);
        goto done;
    }
    /* 'O' start(10) end(10) county(6) month(7) entity */
    MDB_val k = {1, "O"}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && rc == WQ_OK;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *key = k.mv_data;
        if (key[0] != 'O')
            break;
        if (k.mv_size < 36 || k.mv_size > 34 + WQ_ENTITY_MAX) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "marks", _("an overdue mark is malformed: run verify"));
            break;
        }
        if (memcmp(key + 1, asof, 10) > 0)
            break;      /* starts after asof: so do all that follow */
        if (memcmp(key + 11, asof, 10) <= 0)
            continue;   /* ended on or before asof */
        if (strncmp(key + 21, prefix, strlen(prefix)) != 0)
            continue;
        if ((p.from && memcmp(key + 27, p.from, 7) < 0) || (p.to && memcmp(key + 27, p.to, 7) > 0))
            continue;
        char since[11], entity[WQ_ENTITY_MAX + 1], ename[WQ_ENTITY_MAX];
        memcpy(since, key + 1, 10);
        since[10] = '\0';
        memcpy(entity, key + 34, k.mv_size - 34);
        entity[k.mv_size - 34] = '\0';
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
        char deadline[11], first[11];
        int changes = 0;
        wq_fold_deadline_at(ps.plans, asof, deadline, first, &changes);
        size_t r;
        if (!pf || !deadline[0]) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "marks",
                            _("overdue mark of %s disagrees with its state: run verify"), entity);
        } else if (wq_table_add_row(t, &r) != WQ_OK) {
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
            s_set_str(t, r, 11, first, &rc);
            s_set_int(t, r, 12, changes, &rc);
            s_set_str(t, r, 13, since, &rc);
            if (rc != WQ_OK)
                rc = s_nomem(err, "overdue");
        }
        wq_fold_state_clear(&ps);
        wq_fold_state_clear(&es);
        if (rc == WQ_E_NOMEM)
            rc = s_nomem(err, "overdue");
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(marks)", err);
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
    case WQ_REC_GRADING:
        n = asprintf(&txt, "grade %s (%s)%s%s", S_E(WQ_F_GRADE, r->grade), r->industry,
                     r->reason ? ": " : "", r->reason ? r->reason : "");
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
    return wq_record_fold_cmp(((const s_line_t *) a)->rec, ((const s_line_t *) b)->rec);
}

static const char *const s_effect_names[] = {"effective", "corrected", "retracted", "ignored",
                                             "foreign"};

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
        return wq_err_set(err, WQ_E_MISSING, "code", _("query enterprise needs code=CREDIT_CODE"));
    wq_err_t cerr;
    if (wq_creditcode_check(p.code, &cerr) != WQ_OK)
        return wq_err_set(err, WQ_E_FORMAT, "code", _("code: %s"), cerr.text);

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
        wq_fold_transfer_t *tr = NULL;
        size_t ntr = 0;
        rc = wq_fold_load(txn, c, ents[i].entity, &ents[i].items, &ents[i].n, err);
        if (rc == WQ_OK)
            rc = wq_fold_transfers_load(txn, c, ents[i].entity, &tr, &ntr, err);
        if (rc == WQ_OK)
            rc = wq_fold_compute_owned(ents[i].entity, ents[i].items, ents[i].n, tr, ntr,
                                       &ents[i].st, err);
        free(tr);
        if (rc != WQ_OK)
            goto fail;
        total += ents[i].n;
    }
    if (total == 0) {
        rc = wq_err_set(err, WQ_E_NOTFOUND, "code", _("no events for enterprise %s"), p.code);
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
            else if (l->rec->type == WQ_REC_GRADING)
                l->status = wq_enum_name(WQ_F_GRADE, l->rec->grade);
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
        return wq_err_set(err, WQ_E_FORMAT, field, _("%s \"%s\" is not a whole number"), field,
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
                                       "synced_recently", "store_bytes", "quota_refused"};
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
    if (hours > 1000000)    /* 114 years; more would overflow the millisecond sum */
        return wq_err_set(err, WQ_E_FORMAT, "hours", _("hours %" PRIu64 " is over 1000000"), hours);
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
            rc = wq_err_set(err, WQ_E_CORRUPT, "streams", _("a stream row is malformed: run verify"));
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
        /* What an agent reports is not trusted to fit an int64 (2^64-1 showed
           as -1): clamp. */
        s_set_int(t, r, 7, row.last_seq > INT64_MAX ? INT64_MAX : (int64_t) row.last_seq, &rc);
        s_set_int(t, r, 8, row.queued > INT64_MAX ? INT64_MAX : (int64_t) row.queued, &rc);
        if (row.contact_ms) {
            wq_time_format(row.contact_ms, when);
            s_set_str(t, r, 9, when, &rc);
        }
        bool recent = row.contact_ms && row.contact_ms + hours * 3600000ull >= now;
        s_set_str(t, r, 10, recent ? "yes" : "no", &rc);
        /* The agent's quota (docs/SECURITY.md): its bytes in the store and,
           while its batches are refused for it, the last refusal's time. */
        uint64_t bytes = 0, refused = 0;
        if (rc == WQ_OK && wq_central_agent_bytes(txn, c, agent, false, &bytes, &refused, err) != WQ_OK) {
            rc = err->code;
            break;
        }
        s_set_int(t, r, 11, bytes > INT64_MAX ? INT64_MAX : (int64_t) bytes, &rc);
        if (refused) {
            wq_time_format(refused, when);
            s_set_str(t, r, 12, when, &rc);
        }
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
        return wq_err_set(err, WQ_E_FORMAT, "agent", _("agent id \"%s\" is malformed"), p.agent);
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
    size_t last_len = 0, bytes = 0;
    uint64_t left_out = 0;
    wq_stream_row_t row = {0};
    for (; mrc == 0 && rc == WQ_OK; mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char agent[WQ_AGENT_ID_MAX + 1];
        uint32_t inc;
        uint64_t seq;
        if (!wq_ek_split(k.mv_data, k.mv_size, agent, &inc, &seq)) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "quarantine", _("a quarantine key is malformed"));
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
        if (bytes >= WQ_QUERY_REPLY_BUDGET || wq_table_nrows(t) >= WQ_QUERY_ROWS_MAX) {
            left_out++;     /* counted, not shown: the note says how to see them */
            continue;
        }
        wq_rd_t rd = {v.mv_data, v.mv_size, 0, false};
        const uint8_t *codeb = wq_rd_bytes(&rd, 4);
        uint64_t when_ms = wq_rd_u64(&rd);
        char *reason = wq_rd_strdup(&rd);
        if (rd.bad || !codeb || !reason) {
            free(reason);
            rc = wq_err_set(err, WQ_E_CORRUPT, "quarantine", _("a quarantine entry is malformed"));
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
            bytes += 64 + strlen(agent) + (strlen(reason) < WQ_QUERY_CELL_MAX ? strlen(reason)
                                                                             : WQ_QUERY_CELL_MAX) +
                     (strlen(text) < WQ_QUERY_CELL_MAX ? strlen(text) : WQ_QUERY_CELL_MAX);
        }
        free(text);
        free(reason);
        if (rc != WQ_OK)
            rc = s_nomem(err, "quarantine");
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(quarantine)", err);
    if (rc == WQ_OK && left_out > 0)
        snprintf(err->text, sizeof err->text,
                 "%" PRIu64 " more quarantined records not shown (a reply holds at most %d rows or "
                 "%d KiB): narrow with --area COUNTY or --agent ID", left_out, WQ_QUERY_ROWS_MAX,
                 WQ_QUERY_REPLY_BUDGET / 1024);
done:
    return s_finish(rc, cur, &t, out);
}

/*  ---- foreign ------------------------------------------------------------ */

/*  Events refused as foreign (fold.h step 3), from the entity states: each
    listed one with the county that sent it and the entity's owner. area
    matches either county. */
static int
s_foreign(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
          wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"date", "type", "id", "county", "owner", "entity",
                                       "foreign_of_entity"};
    s_params_t p;
    char prefix[7];
    MDB_cursor *cur = NULL;
    wq_table_t *t = NULL;
    uint64_t left_out = 0;
    int rc = s_params("foreign", params, nparams, "area", &p, err);
    if (rc != WQ_OK)
        return rc;
    if ((rc = s_area_prefix(p.area ? p.area : "130000", prefix, err)) != WQ_OK)
        return rc;
    size_t plen = strlen(prefix);
    t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!t)
        return s_nomem(err, "foreign");
    int mrc = mdb_cursor_open(txn, c->states, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(states)", err);
        goto done;
    }
    MDB_val k, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == WQ_OK;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        wq_fold_state_t st;
        char entity[WQ_ENTITY_MAX];
        if (k.mv_size >= WQ_ENTITY_MAX) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "states", _("a state key is malformed: run verify"));
            break;
        }
        memcpy(entity, k.mv_data, k.mv_size);
        entity[k.mv_size] = '\0';
        if ((rc = wq_fold_state_decode(v.mv_data, v.mv_size, &st, err)) != WQ_OK)
            break;
        for (size_t i = 0; i < st.nforeign_listed && rc == WQ_OK; i++) {
            const wq_fold_foreign_t *f = &st.foreign[i];
            if (strncmp(f->county, prefix, plen) != 0 && strncmp(f->owner, prefix, plen) != 0)
                continue;
            if (wq_table_nrows(t) >= WQ_QUERY_ROWS_MAX) {
                left_out++;
                continue;
            }
            size_t r;
            if (wq_table_add_row(t, &r) != WQ_OK) {
                rc = WQ_E_NOMEM;
                break;
            }
            s_set_str(t, r, 0, f->date, &rc);
            s_set_str(t, r, 1, wq_rec_type_name((wq_rec_type_t) f->type), &rc);
            s_set_str(t, r, 2, f->id, &rc);
            s_set_str(t, r, 3, f->county, &rc);
            s_set_str(t, r, 4, f->owner, &rc);
            s_set_str(t, r, 5, entity, &rc);
            s_set_int(t, r, 6, (int64_t) st.nforeign, &rc);
        }
        if (st.nforeign > st.nforeign_listed)
            left_out += st.nforeign - st.nforeign_listed;
        wq_fold_state_clear(&st);
        if (rc == WQ_E_NOMEM)
            rc = s_nomem(err, "foreign");
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(states)", err);
    if (rc == WQ_OK && left_out > 0)
        snprintf(err->text, sizeof err->text,
                 "%" PRIu64 " more foreign events counted but not listed (at most %d per entity "
                 "and %d rows per reply): the enterprise query shows each entity's own",
                 left_out, WQ_FOLD_FOREIGN_MAX, WQ_QUERY_ROWS_MAX);
done:
    return s_finish(rc, cur, &t, out);
}

/*  ---- cadres ------------------------------------------------------------ */

typedef struct {
    char area[7], month[8];
    char *cadre;
    int64_t visits;
} s_cadre_row_t;

static int
s_cmp_cadre_rows(const void *a, const void *b)
{
    const s_cadre_row_t *x = a, *y = b;
    int d = strcmp(x->area, y->area);
    if (!d)
        d = strcmp(x->month, y->month);
    return d ? d : strcmp(x->cadre, y->cadre);
}

/*  Visits per cadre by area and month: the 'K' marks (county, month, name)
    under the area, rolled up to the level asked; names as recorded (two
    spellings are two cadres). */
static int
s_cadres(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
         wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"area", "area_name", "month", "cadre", "visits"};
    s_params_t p;
    char prefix[7];
    MDB_cursor *cur = NULL;
    wq_table_t *t = NULL;
    s_cadre_row_t *rows = NULL;
    size_t nrows = 0, cap = 0;
    int rc = s_params("cadres", params, nparams, "level,area,from,to", &p, err);
    if (rc != WQ_OK)
        return rc;
    wq_level_t level = p.level ? wq_level_parse(p.level) : WQ_LEVEL_COUNTY;
    if (level != WQ_LEVEL_PROVINCE && level != WQ_LEVEL_CITY && level != WQ_LEVEL_COUNTY)
        return wq_err_set(err, WQ_E_FORMAT, "level",
                          _("level \"%s\" is not one of province, city, county"), p.level);
    if ((rc = s_area_prefix(p.area ? p.area : "130000", prefix, err)) != WQ_OK)
        return rc;
    if (p.from && (rc = s_month_check("from", p.from, err)) != WQ_OK)
        return rc;
    if (p.to && (rc = s_month_check("to", p.to, err)) != WQ_OK)
        return rc;
    t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!t)
        return s_nomem(err, "cadres");
    int mrc = mdb_cursor_open(txn, c->marks, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(marks)", err);
        goto done;
    }
    char start[8];
    snprintf(start, sizeof start, "K%s", prefix);
    size_t slen = strlen(start);
    MDB_val k = {slen, start}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *key = k.mv_data;
        if (k.mv_size < slen || memcmp(key, start, slen) != 0)
            break;
        if (k.mv_size < 15 || v.mv_size != 8) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "marks", _("a cadre mark is malformed: run verify"));
            goto done;
        }
        if ((p.from && memcmp(key + 7, p.from, 7) < 0) || (p.to && memcmp(key + 7, p.to, 7) > 0))
            continue;
        if (nrows == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            s_cadre_row_t *nr = realloc(rows, ncap * sizeof *nr);
            if (!nr)
                goto oom;
            rows = nr;
            cap = ncap;
        }
        s_cadre_row_t *r = &rows[nrows];
        char county[7];
        memcpy(county, key + 1, 6);
        county[6] = '\0';
        wq_division_rollup(county, level, r->area);
        memcpy(r->month, key + 7, 7);
        r->month[7] = '\0';
        r->cadre = strndup(key + 14, k.mv_size - 14);
        if (!r->cadre)
            goto oom;
        memcpy(&r->visits, v.mv_data, 8);
        nrows++;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND) {
        rc = wq_store_err(mrc, "mdb_cursor_get(marks)", err);
        goto done;
    }
    if (nrows > 1)
        qsort(rows, nrows, sizeof *rows, s_cmp_cadre_rows);
    for (size_t i = 0; i < nrows;) {
        int64_t visits = 0;
        size_t j = i;
        while (j < nrows && s_cmp_cadre_rows(&rows[i], &rows[j]) == 0)
            visits += rows[j++].visits;
        size_t r;
        if (wq_table_add_row(t, &r) != WQ_OK)
            goto oom;
        s_set_str(t, r, 0, rows[i].area, &rc);
        s_set_str(t, r, 1, s_area_name(rows[i].area), &rc);
        s_set_str(t, r, 2, rows[i].month, &rc);
        s_set_str(t, r, 3, rows[i].cadre, &rc);
        s_set_int(t, r, 4, visits, &rc);
        if (rc != WQ_OK)
            goto oom;
        i = j;
    }
    goto done;
oom:
    rc = s_nomem(err, "cadres");
done:
    for (size_t i = 0; i < nrows; i++)
        free(rows[i].cadre);
    free(rows);
    return s_finish(rc, cur, &t, out);
}

/*  ---- pending ------------------------------------------------------------ */

/*  One row of the waiting list for a stored event rec (id) waiting for
    `waits` (an event id). */
static int
s_pending_row(wq_table_t *t, const wq_record_t *rec, const char *id, const char *waits,
              uint64_t now, const char *prefix)
{
    int rc = WQ_OK;
    size_t r;
    if (strncmp(rec->county, prefix, strlen(prefix)) != 0)
        return WQ_OK;
    if (wq_table_add_row(t, &r) != WQ_OK)
        return WQ_E_NOMEM;
    char when[20];
    wq_time_format(rec->recorded_ms, when);
    int64_t age = now > rec->recorded_ms ? (int64_t) ((now - rec->recorded_ms) / 86400000ull) : 0;
    s_set_str(t, r, 0, id, &rc);
    s_set_str(t, r, 1, wq_rec_type_name(rec->type), &rc);
    s_set_str(t, r, 2, rec->county, &rc);
    s_set_str(t, r, 3, s_area_name(rec->county), &rc);
    s_set_str(t, r, 4, rec->date, &rc);
    s_set_str(t, r, 5, waits, &rc);
    s_set_str(t, r, 6, when, &rc);
    s_set_int(t, r, 7, age, &rc);
    return rc;
}

/*  Records waiting for the record they refer to: corrections and
    retractions whose target has not arrived (the pending table), and
    plans, progress and answers whose problem or consultation has not
    arrived (the 'W' marks). Age is counted from when the agent stored the
    record. */
static int
s_pending(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
          wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"id", "type", "county", "county_name", "date",
                                       "waits_for", "recorded", "age_days"};
    s_params_t p;
    char prefix[7];
    uint64_t now = 0;
    MDB_cursor *cur = NULL;
    wq_table_t *t = NULL;
    int rc = s_params("waiting", params, nparams, "area,now_ms", &p, err);
    if (rc != WQ_OK)
        return rc;
    if ((rc = s_area_prefix(p.area ? p.area : "130000", prefix, err)) != WQ_OK)
        return rc;
    if (p.now_ms && (rc = s_u64_param("now_ms", p.now_ms, &now, err)) != WQ_OK)
        return rc;
    if (!p.now_ms)
        now = wq_now_ms();
    t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!t)
        return s_nomem(err, "pending");
    int mrc = mdb_cursor_open(txn, c->pending, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(pending)", err);
        goto done;
    }
    MDB_val k, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == WQ_OK;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char waits[WQ_EVENT_ID_MAX], id[WQ_EVENT_ID_MAX];
        MDB_val ev;
        wq_record_t *rec = NULL;
        if (!wq_ek_to_text(k.mv_data, k.mv_size, waits) ||
            !wq_ek_to_text(v.mv_data, v.mv_size, id)) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "pending", _("a pending entry is malformed: run verify"));
            break;
        }
        int grc = mdb_get(txn, c->events, &v, &ev);
        if (grc != 0) {
            rc = grc == MDB_NOTFOUND ? wq_err_set(err, WQ_E_CORRUPT, "pending",
                                                  _("pending event %s is not stored: run verify"), id)
                                     : wq_store_err(grc, "mdb_get(events)", err);
            break;
        }
        if (wq_record_decode(ev.mv_data, ev.mv_size, &rec, NULL) != WQ_OK) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "events", _("stored event %s no longer decodes"), id);
            break;
        }
        if (s_pending_row(t, rec, id, waits, now, prefix) != WQ_OK)
            rc = s_nomem(err, "pending");
        wq_record_destroy(&rec);
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(pending)", err);
    mdb_cursor_close(cur);
    cur = NULL;
    if (rc != WQ_OK)
        goto done;
    /* 'W' county(6) entity: entities whose opening record is missing. */
    if ((mrc = mdb_cursor_open(txn, c->marks, &cur)) != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(marks)", err);
        goto done;
    }
    char start[8];
    snprintf(start, sizeof start, "W%s", prefix);
    size_t slen = strlen(start);
    k.mv_size = slen;
    k.mv_data = start;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && rc == WQ_OK;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *key = k.mv_data;
        if (k.mv_size < slen || memcmp(key, start, slen) != 0)
            break;
        char entity[WQ_ENTITY_MAX + 1];
        if (k.mv_size < 10 || k.mv_size - 7 > WQ_ENTITY_MAX) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "marks", _("a waiting mark is malformed: run verify"));
            break;
        }
        memcpy(entity, key + 7, k.mv_size - 7);
        entity[k.mv_size - 7] = '\0';
        wq_fold_item_t *items = NULL;
        size_t n = 0;
        rc = wq_fold_load(txn, c, entity, &items, &n, err);
        for (size_t i = 0; rc == WQ_OK && i < n; i++)
            if (s_pending_row(t, items[i].rec, items[i].id, entity + 2, now, prefix) != WQ_OK)
                rc = s_nomem(err, "pending");
        wq_fold_items_free(&items, n);
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(marks)", err);
done:
    return s_finish(rc, cur, &t, out);
}

/*  ---- doubles ------------------------------------------------------------ */

/*  Possible double entries: visits of one enterprise on one date by one
    method from two or more workstations ('D' marks), one row per group,
    never merged: staff check them and retract one if it is a double. */
static int
s_doubles(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
          wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"ent", "enterprise_name", "county", "county_name", "date",
                                       "method", "visits", "ids", "agents"};
    s_params_t p;
    char prefix[7];
    MDB_cursor *cur = NULL;
    wq_table_t *t = NULL;
    int rc = s_params("doubles", params, nparams, "area,from,to", &p, err);
    if (rc != WQ_OK)
        return rc;
    if ((rc = s_area_prefix(p.area ? p.area : "130000", prefix, err)) != WQ_OK)
        return rc;
    if (p.from && (rc = s_month_check("from", p.from, err)) != WQ_OK)
        return rc;
    if (p.to && (rc = s_month_check("to", p.to, err)) != WQ_OK)
        return rc;
    t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!t)
        return s_nomem(err, "doubles");
    int mrc = mdb_cursor_open(txn, c->marks, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(marks)", err);
        goto done;
    }
    char start[8];
    snprintf(start, sizeof start, "D%s", prefix);
    size_t slen = strlen(start);
    MDB_val k = {slen, start}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0 && rc == WQ_OK;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *key = k.mv_data;
        if (k.mv_size < slen || memcmp(key, start, slen) != 0)
            break;
        /* 'D' county(6) date(10) method(1) code(18) */
        if (k.mv_size != 36 || v.mv_size != 8) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "marks", _("a double-entry mark is malformed"));
            break;
        }
        if ((p.from && memcmp(key + 7, p.from, 7) < 0) || (p.to && memcmp(key + 7, p.to, 7) > 0))
            continue;
        char county[7], date[11], ekey[WQ_ENTITY_MAX];
        memcpy(county, key + 1, 6);
        county[6] = '\0';
        memcpy(date, key + 7, 10);
        date[10] = '\0';
        int method = key[17] - '0';
        snprintf(ekey, sizeof ekey, "E:%.18s", key + 18);
        wq_fold_item_t *items = NULL;
        size_t n = 0;
        wq_fold_state_t st = {0};
        char *ids = NULL, *agents = NULL;
        size_t idlen = 0, aglen = 0;
        FILE *fi = NULL, *fa = NULL;
        int64_t visits;
        memcpy(&visits, v.mv_data, 8);
        rc = wq_fold_load(txn, c, ekey, &items, &n, err);
        if (rc == WQ_OK)
            rc = wq_fold_compute(ekey, items, n, &st, err);
        if (rc == WQ_OK && (!(fi = open_memstream(&ids, &idlen)) ||
                            !(fa = open_memstream(&agents, &aglen))))
            rc = s_nomem(err, "doubles");
        for (size_t i = 0; rc == WQ_OK && i < n; i++) {
            const wq_record_t *r = items[i].rec;
            if ((items[i].effect != WQ_EFFECT_EFFECTIVE && items[i].effect != WQ_EFFECT_CORRECTED) ||
                r->type != WQ_REC_VISIT || (int) r->method != method || strcmp(r->date, date))
                continue;
            fprintf(fi, "%s%s", ftell(fi) ? "," : "", items[i].id);
            fprintf(fa, "%s%s", ftell(fa) ? "," : "", r->agent);
        }
        if (fi)
            fclose(fi);
        if (fa)
            fclose(fa);
        size_t r;
        if (rc == WQ_OK && (!ids || !agents || wq_table_add_row(t, &r) != WQ_OK))
            rc = s_nomem(err, "doubles");
        if (rc == WQ_OK) {
            s_set_str(t, r, 0, ekey + 2, &rc);
            s_set_str(t, r, 1, st.name[0] ? st.name : NULL, &rc);
            s_set_str(t, r, 2, county, &rc);
            s_set_str(t, r, 3, s_area_name(county), &rc);
            s_set_str(t, r, 4, date, &rc);
            s_set_str(t, r, 5, wq_enum_name(WQ_F_METHOD, method), &rc);
            s_set_int(t, r, 6, visits, &rc);
            s_set_str(t, r, 7, ids, &rc);
            s_set_str(t, r, 8, agents, &rc);
            if (rc != WQ_OK)
                rc = s_nomem(err, "doubles");
        }
        free(ids);
        free(agents);
        wq_fold_state_clear(&st);
        wq_fold_items_free(&items, n);
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(marks)", err);
done:
    return s_finish(rc, cur, &t, out);
}

/*  ---- dispatch ----------------------------------------------------------- */

int
wq_queries_run(MDB_txn *txn, wq_central_t *c, const char *name, const wq_param_t *params,
               size_t nparams, wq_table_t **out, wq_err_t *err)
{
    *out = NULL;
    wq_err_clear(err);      /* on WQ_OK, err->text is a note ("" if none) */
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
    if (!strcmp(name, "foreign"))
        return s_foreign(txn, c, params, nparams, out, err);
    if (!strcmp(name, "cadres"))
        return s_cadres(txn, c, params, nparams, out, err);
    if (!strcmp(name, "waiting"))
        return s_pending(txn, c, params, nparams, out, err);
    if (!strcmp(name, "doubles"))
        return s_doubles(txn, c, params, nparams, out, err);
    /* The dashboard's list queries (ledger.h). */
    if (!strcmp(name, "problems"))
        return wq_ledger_problems(txn, c, params, nparams, out, err);
    if (!strcmp(name, "enterprises"))
        return wq_ledger_enterprises(txn, c, params, nparams, out, err);
    if (!strcmp(name, "pending"))
        return wq_ledger_pending(txn, c, params, nparams, out, err);
    return wq_err_set(err, WQ_E_UNKNOWN, "name",
                      _("unknown query \"%s\": summary, overdue, enterprise, agents, quarantine, "
                      "foreign, cadres, waiting, doubles, problems, enterprises, pending"), name);
}
