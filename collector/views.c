/*  =========================================================================
    views - counters keyed by (area, month, metric, sub) at three levels

    Ingest never recounts: a fold yields an entity's county-level
    contributions, and only the difference between its old and new
    contributions touches the counters, at the county, its city and the
    province (retired 2019 counties roll up by prefix like any other).
    Reading a view is a cursor range over one area's rows for the period:
    it costs in proportion to the months and metrics read, never to the
    number of events.
    =========================================================================
*/
#include "collector/views.h"
#include "common/i18n.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collector/marks.h"
#include "common/date.h"

unsigned
wq_dayidx(const char *date)
{
    int32_t d = wq_date_days(date) - wq_date_days("2000-01-01");
    return d < 0 ? 0 : d > 65535 ? 65535 : (unsigned) d;
}

unsigned
wq_monidx(const char *m)
{
    int y = (m[0] - '0') * 1000 + (m[1] - '0') * 100 + (m[2] - '0') * 10 + (m[3] - '0');
    int mo = (m[5] - '0') * 10 + (m[6] - '0');
    int i = (y - 2000) * 12 + mo - 1;
    return i < 0 ? 0 : (unsigned) i;
}

void
wq_vkey_make(uint8_t out[WQ_VKEY_LEN], const char *area, const char *month, int metric, unsigned sub)
{
    memcpy(out, area, 6);
    memcpy(out + 6, month, 7);
    out[13] = (uint8_t) metric;
    out[14] = (uint8_t) (sub >> 8);
    out[15] = (uint8_t) sub;
}

void
wq_vkey_rollup(const uint8_t in[WQ_VKEY_LEN], wq_level_t level, uint8_t out[WQ_VKEY_LEN])
{
    char area[7], up[7];
    memcpy(area, in, 6);
    area[6] = '\0';
    wq_division_rollup(area, level, up);
    memcpy(out, in, WQ_VKEY_LEN);
    memcpy(out, up, 6);
}

static const char *const s_metric_names[WQ_M_COUNT] = {
    "?", "registered", "visited", "visits", "problems", "status", "plans",
    "services", "consultations", "answered", "answer_days", "class", "foreign", "rectify_days",
    "grade", "group_registered", "group_visited", "overdue_by_month", "overdue_by_day",
    "on_time_by_month", "on_time_by_day", "late_by_month", "late_by_day"};

void
wq_vkey_format(const uint8_t key[WQ_VKEY_LEN], char *out, size_t size)
{
    int m = key[13];
    snprintf(out, size, "%.6s %.7s %s/%u", (const char *) key, (const char *) key + 6,
             m > 0 && m < WQ_M_COUNT ? s_metric_names[m] : "?", (unsigned) (key[14] << 8 | key[15]));
}

static int
s_cmp_contrib(const void *a, const void *b)
{
    return memcmp(((const wq_contrib_t *) a)->key, ((const wq_contrib_t *) b)->key, WQ_VKEY_LEN);
}

size_t
wq_contrib_normalize(wq_contrib_t *c, size_t n)
{
    if (n == 0)
        return 0;
    qsort(c, n, sizeof *c, s_cmp_contrib);
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        wq_contrib_t acc = c[i];
        size_t j = i + 1;
        while (j < n && memcmp(c[j].key, acc.key, WQ_VKEY_LEN) == 0)
            acc.n += c[j++].n;
        if (acc.n != 0)
            c[out++] = acc;
        i = j;
    }
    return out;
}

/*  Add delta to one stored counter; delete it when it reaches 0. */
static int
s_add(MDB_txn *txn, wq_central_t *c, const uint8_t key[WQ_VKEY_LEN], int64_t delta, wq_err_t *err)
{
    MDB_val k = {WQ_VKEY_LEN, (void *) key}, v;
    int64_t cur = 0;
    int mrc = mdb_get(txn, c->views, &k, &v);
    if (mrc == 0) {
        if (v.mv_size != 8)
            return wq_err_set(err, WQ_E_CORRUPT, "views",
                              _("a stored counter is %zu bytes, not 8: run verify"), v.mv_size);
        memcpy(&cur, v.mv_data, 8);
    } else if (mrc != MDB_NOTFOUND) {
        return wq_store_err(mrc, "mdb_get(views)", err);
    }
    cur += delta;
    if (cur == 0) {
        mrc = mdb_del(txn, c->views, &k, NULL);
        if (mrc != 0 && mrc != MDB_NOTFOUND)
            return wq_store_err(mrc, "mdb_del(views)", err);
        return WQ_OK;
    }
    v.mv_size = 8;
    v.mv_data = &cur;
    mrc = mdb_put(txn, c->views, &k, &v, 0);
    return mrc ? wq_store_err(mrc, "mdb_put(views)", err) : WQ_OK;
}

/*  Where a counter change goes: straight into the store (wq_views_apply)
    or into the transaction's accumulator (wq_views_acc_diff). */
typedef int (s_add_fn)(void *to, const uint8_t key[WQ_VKEY_LEN], int64_t delta, wq_err_t *err);

/*  Add delta to key's counter at its county, city and province levels. */
static int
s_add_levels(s_add_fn *add, void *to, const uint8_t key[WQ_VKEY_LEN], int64_t delta, wq_err_t *err)
{
    uint8_t up[WQ_VKEY_LEN];
    int rc = add(to, key, delta, err);
    if (rc == WQ_OK) {
        wq_vkey_rollup(key, WQ_LEVEL_CITY, up);
        rc = add(to, up, delta, err);
    }
    if (rc == WQ_OK) {
        wq_vkey_rollup(key, WQ_LEVEL_PROVINCE, up);
        rc = add(to, up, delta, err);
    }
    return rc;
}

/*  Walk two key-sorted contribution lists together and add, at the three
    levels, what changed from old to new: -old of a key only in old, +new
    of a key only in new, the difference of a key in both (nothing if 0). */
static int
s_diff(s_add_fn *add, void *to, const wq_contrib_t *old, size_t nold, const wq_contrib_t *nw,
       size_t nnew, wq_err_t *err)
{
    size_t i = 0, j = 0;
    int rc = WQ_OK;
    while (rc == WQ_OK && (i < nold || j < nnew)) {
        int cmp = i >= nold ? 1 : j >= nnew ? -1 : memcmp(old[i].key, nw[j].key, WQ_VKEY_LEN);
        if (cmp < 0) {
            rc = s_add_levels(add, to, old[i].key, -old[i].n, err);
            i++;
        } else if (cmp > 0) {
            rc = s_add_levels(add, to, nw[j].key, nw[j].n, err);
            j++;
        } else {
            int64_t d = nw[j].n - old[i].n;
            if (d != 0)
                rc = s_add_levels(add, to, nw[j].key, d, err);
            i++;
            j++;
        }
    }
    return rc;
}

typedef struct {
    MDB_txn *txn;
    wq_central_t *c;
} s_store_t;

static int
s_add_store(void *to, const uint8_t key[WQ_VKEY_LEN], int64_t delta, wq_err_t *err)
{
    s_store_t *st = to;
    return s_add(st->txn, st->c, key, delta, err);
}

int
wq_views_apply(MDB_txn *txn, wq_central_t *c, const wq_contrib_t *old, size_t nold,
               const wq_contrib_t *nw, size_t nnew, wq_err_t *err)
{
    s_store_t st = {txn, c};
    return s_diff(s_add_store, &st, old, nold, nw, nnew, err);
}

/*  ---- the transaction's accumulator ------------------------------------- */

/*  Slots hold the key as two words (k[0] is never 0: a key starts with
    six ASCII digits, so an all-zero slot is empty). */
static inline size_t
s_acc_hash(uint64_t a, uint64_t b)
{
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15ull)) * 0xBF58476D1CE4E5B9ull;
    return (size_t) (h ^ (h >> 29));
}

/*  The slot of key (a, b) in acc (cap > n): its own or the empty one to take. */
static inline size_t
s_acc_slot(const wq_views_acc_t *acc, uint64_t a, uint64_t b, bool *found)
{
    size_t mask = acc->cap - 1, i = s_acc_hash(a, b) & mask;
    for (;; i = (i + 1) & mask) {
        const uint64_t *k = acc->keys[i];
        if (k[0] == a && k[1] == b) {
            *found = true;
            return i;
        }
        if (k[0] == 0) {
            *found = false;
            return i;
        }
    }
}

static int
s_acc_grow(wq_views_acc_t *acc)
{
    size_t ncap = acc->cap ? acc->cap * 2 : 1024;
    uint64_t (*keys)[2] = calloc(ncap, sizeof *keys);
    int64_t *d = calloc(ncap, sizeof *d);
    if (!keys || !d) {
        free(keys);
        free(d);
        return WQ_E_NOMEM;
    }
    wq_views_acc_t nw = {keys, d, 0, ncap};
    for (size_t i = 0; i < acc->cap; i++) {
        bool found;
        if (acc->keys[i][0] == 0)
            continue;
        size_t j = s_acc_slot(&nw, acc->keys[i][0], acc->keys[i][1], &found);
        nw.keys[j][0] = acc->keys[i][0];
        nw.keys[j][1] = acc->keys[i][1];
        nw.d[j] = acc->d[i];
        nw.n++;
    }
    free(acc->keys);
    free(acc->d);
    *acc = nw;
    return WQ_OK;
}

static int
s_acc_add(wq_views_acc_t *acc, const uint8_t key[WQ_VKEY_LEN], int64_t delta)
{
    if ((acc->n + 1) * 2 > acc->cap && s_acc_grow(acc) != WQ_OK)
        return WQ_E_NOMEM;
    uint64_t a, b;
    memcpy(&a, key, 8);
    memcpy(&b, key + 8, 8);
    bool found;
    size_t i = s_acc_slot(acc, a, b, &found);
    if (!found) {
        acc->keys[i][0] = a;
        acc->keys[i][1] = b;
        acc->n++;
    }
    acc->d[i] += delta;
    return WQ_OK;
}

/*  s_add_fn for the accumulator: its only failure is memory, reported
    once by wq_views_acc_diff. */
static int
s_add_acc(void *to, const uint8_t key[WQ_VKEY_LEN], int64_t delta, wq_err_t *err)
{
    (void) err;
    return s_acc_add(to, key, delta);
}

int
wq_views_acc_diff(wq_views_acc_t *acc, const wq_contrib_t *old, size_t nold,
                  const wq_contrib_t *nw, size_t nnew, wq_err_t *err)
{
    int rc = s_diff(s_add_acc, acc, old, nold, nw, nnew, err);
    if (rc != WQ_OK)
        return wq_err_set(err, WQ_E_NOMEM, "views", _("out of memory summing counter changes"));
    return WQ_OK;
}

int
wq_views_acc_flush(MDB_txn *txn, wq_central_t *c, wq_views_acc_t *acc, wq_err_t *err)
{
    int rc = WQ_OK;
    if (acc->n == 0)
        return WQ_OK;
    /* In slot order: the order of writes changes no stored value (sorting
       them cost more than the pages it saved). One cursor: each counter is
       found once, then replaced or deleted where the cursor stands. */
    MDB_cursor *cur = NULL;
    int mrc = mdb_cursor_open(txn, c->views, &cur);
    if (mrc != 0) {
        wq_views_acc_reset(acc);
        return wq_store_err(mrc, "mdb_cursor_open(views)", err);
    }
    for (size_t i = 0; i < acc->cap && rc == WQ_OK; i++) {
        if (!acc->keys[i][0] || acc->d[i] == 0)
            continue;
        uint8_t key[WQ_VKEY_LEN];
        memcpy(key, acc->keys[i], WQ_VKEY_LEN);
        MDB_val k = {WQ_VKEY_LEN, key}, v;
        int64_t n = 0;
        mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
        if (mrc == 0) {
            if (v.mv_size != 8) {
                rc = wq_err_set(err, WQ_E_CORRUPT, "views",
                                _("a stored counter is %zu bytes, not 8: run verify"), v.mv_size);
                break;
            }
            memcpy(&n, v.mv_data, 8);
            n += acc->d[i];
            if (n == 0) {
                mrc = mdb_cursor_del(cur, 0);
                if (mrc != 0)
                    rc = wq_store_err(mrc, "mdb_cursor_del(views)", err);
                continue;
            }
            v.mv_size = 8;
            v.mv_data = &n;
            mrc = mdb_cursor_put(cur, &k, &v, MDB_CURRENT);
        } else if (mrc == MDB_NOTFOUND) {
            n = acc->d[i];
            k.mv_size = WQ_VKEY_LEN;
            k.mv_data = key;
            v.mv_size = 8;
            v.mv_data = &n;
            mrc = mdb_cursor_put(cur, &k, &v, 0);
        }
        if (mrc != 0)
            rc = wq_store_err(mrc, "mdb_put(views)", err);
    }
    mdb_cursor_close(cur);
    wq_views_acc_reset(acc);
    return rc;
}

void
wq_views_acc_reset(wq_views_acc_t *acc)
{
    if (acc->n == 0)
        return;
    memset(acc->keys, 0, acc->cap * sizeof *acc->keys);
    memset(acc->d, 0, acc->cap * sizeof *acc->d);
    acc->n = 0;
}

void
wq_views_acc_free(wq_views_acc_t *acc)
{
    free(acc->keys);
    free(acc->d);
    memset(acc, 0, sizeof *acc);
}

static int
s_hist_add(int64_t **hist, size_t *nhist, unsigned day, int64_t n)
{
    if (day >= *nhist) {
        size_t nd = *nhist ? *nhist : 64;
        while (nd <= day)
            nd *= 2;
        int64_t *d = realloc(*hist, nd * sizeof *d);
        if (!d)
            return WQ_E_NOMEM;
        memset(d + *nhist, 0, (nd - *nhist) * sizeof *d);
        *hist = d;
        *nhist = nd;
    }
    (*hist)[day] += n;
    return WQ_OK;
}

/*  Add n problems to the summary's rectification-days histogram at the
    days value a mark's key holds as 5 digits at `days` ('S' and 'X' marks). */
static int
s_rdays_add(wq_view_sums_t *s, const char *days, int64_t n, wq_err_t *err)
{
    unsigned d = 0;
    for (int i = 0; i < 5; i++)
        d = d * 10 + (unsigned) (days[i] - '0');
    if (s_hist_add(&s->rdays, &s->nrdays, d, n) != WQ_OK)
        return wq_err_set(err, WQ_E_NOMEM, "views", _("out of memory summing rectify days"));
    return WQ_OK;
}

/*  A cursor over views and where it stands: k/v its current row when mrc
    is 0, past the last row when mrc is MDB_NOTFOUND. */
typedef struct {
    MDB_cursor *cur;
    MDB_val k, v;
    int mrc;
} s_vcur_t;

/*  Sum of the rows (area, month, metric, sub) for sub in [lo, hi], read
    with c, which is left on the first row after them. The ranges of one
    walk come in ascending order, and c stands on the first row after what
    the walk read before (the previous range, or the rows before this
    month's first timeline row), so that no row lies between the start of
    the next range and c's row when that start is not after it: then the
    range starts at c's row without a seek (the first of a month's ranges,
    and each monthly range after a daily one that reached asof). */
static int
s_range_sum(s_vcur_t *c, const uint8_t *area_month, int metric, unsigned lo, unsigned hi,
            int64_t *sum, wq_err_t *err)
{
    uint8_t start[WQ_VKEY_LEN];
    memcpy(start, area_month, 13);
    start[13] = (uint8_t) metric;
    start[14] = (uint8_t) (lo >> 8);
    start[15] = (uint8_t) lo;
    if (c->mrc == MDB_NOTFOUND)
        return WQ_OK;   /* nothing after what was read */
    if (c->mrc != 0 || c->k.mv_size != WQ_VKEY_LEN || memcmp(start, c->k.mv_data, WQ_VKEY_LEN) > 0) {
        c->k.mv_size = sizeof start;
        c->k.mv_data = start;
        c->mrc = mdb_cursor_get(c->cur, &c->k, &c->v, MDB_SET_RANGE);
    }
    for (; c->mrc == 0; c->mrc = mdb_cursor_get(c->cur, &c->k, &c->v, MDB_NEXT)) {
        const uint8_t *key = c->k.mv_data;
        if (c->k.mv_size != WQ_VKEY_LEN || c->v.mv_size != 8)
            return wq_err_set(err, WQ_E_CORRUPT, "views", _("a stored counter is malformed: run verify"));
        if (memcmp(key, area_month, 13) != 0 || key[13] != metric ||
            (unsigned) (key[14] << 8 | key[15]) > hi)
            break;
        int64_t n;
        memcpy(&n, c->v.mv_data, 8);
        *sum += n;
    }
    if (c->mrc != 0 && c->mrc != MDB_NOTFOUND)
        return wq_store_err(c->mrc, "mdb_cursor_get(views)", err);
    return WQ_OK;
}

/*  asof as the indexes the timelines are kept by: its month, its day and
    the first day of its month. */
typedef struct {
    unsigned mon, day, day0;
} s_asof_idx_t;

static void
s_asof_idx(const char *asof, s_asof_idx_t *out)
{
    char first[11];
    memcpy(first, asof, 8);
    memcpy(first + 8, "01", 3);
    out->mon = wq_monidx(asof);
    out->day = wq_dayidx(asof);
    out->day0 = wq_dayidx(first);
}

/*  The timelines of one (area, month opened) as of asof: monthly changes
    before asof's month plus daily changes of asof's month up to asof,
    read with c, which stands on the month's first timeline row. */
static int
s_timelines(s_vcur_t *c, const uint8_t *area_month, const s_asof_idx_t *at, wq_view_sums_t *s,
            wq_err_t *err)
{
    static const int mons[3] = {WQ_M_OD_MON, WQ_M_OT_MON, WQ_M_LT_MON};
    int64_t *outs[3] = {&s->overdue, &s->on_time, &s->late};
    int rc = WQ_OK;
    for (int i = 0; i < 3 && rc == WQ_OK; i++) {
        if (at->mon > 0)
            rc = s_range_sum(c, area_month, mons[i], 0, at->mon - 1, outs[i], err);
        if (rc == WQ_OK)
            rc = s_range_sum(c, area_month, mons[i] + 1, at->day0, at->day, outs[i], err);
    }
    return rc;
}

/*  ---- rectification spells (views.h) ------------------------------------- */

void
wq_rect_derive(const wq_mark_t *r, int64_t n, wq_contrib_t *ctr, bool *has_ctr, wq_marks_t *ms)
{
    *has_ctr = false;
    if (r->len != 39 || r->key[0] != 'R' || n == 0)
        return;
    const char *key = (const char *) r->key;
    char county[7], month[8], start[11], days[6];
    memcpy(county, key + 1, 6);
    county[6] = '\0';
    memcpy(month, key + 7, 7);
    month[7] = '\0';
    memcpy(start, key + 14, 10);
    start[10] = '\0';
    memcpy(days, key + 34, 5);
    days[5] = '\0';
    unsigned d = 0;
    for (int i = 0; i < 5; i++)
        d = d * 10 + (unsigned) (days[i] - '0');
    if (memcmp(key + 24, WQ_MARK_OPEN_END, 10) != 0 || d > 65535) {
        char x[40];
        memcpy(x, key, 39);
        x[0] = 'X';
        x[39] = '\0';
        wq_marks_add(ms, n, x, NULL);
        return;
    }
    wq_vkey_make(ctr->key, county, month, WQ_M_RECT_OPEN, d);
    ctr->n = n;
    *has_ctr = true;
    char up[7];
    wq_marks_add(ms, n, "S", county, start, month, days, NULL);
    wq_division_rollup(county, WQ_LEVEL_CITY, up);
    wq_marks_add(ms, n, "S", up, start, month, days, NULL);
    wq_division_rollup(county, WQ_LEVEL_PROVINCE, up);
    wq_marks_add(ms, n, "S", up, start, month, days, NULL);
}

/*  Derive the tallies of the 'R' marks of list (sign: -1 old, +1 new). */
static int
s_rect_collect(const wq_mark_t *list, size_t n, int sign, wq_contrib_t **cs, size_t *nc,
               size_t *cap, wq_marks_t *ms)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i].len == 0 || list[i].key[0] != 'R')
            continue;
        wq_contrib_t ctr;
        bool has;
        wq_rect_derive(&list[i], sign * list[i].n, &ctr, &has, ms);
        if (!has)
            continue;
        if (*nc == *cap) {
            size_t ncap = *cap ? *cap * 2 : 16;
            wq_contrib_t *g = realloc(*cs, ncap * sizeof *g);
            if (!g)
                return WQ_E_NOMEM;
            *cs = g;
            *cap = ncap;
        }
        (*cs)[(*nc)++] = ctr;
    }
    return ms->oom ? WQ_E_NOMEM : WQ_OK;
}

/*  Whether the 'R' marks of two normalized lists are the same. */
static bool
s_same_r(const wq_mark_t *a, size_t na, const wq_mark_t *b, size_t nb)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (i < na && (a[i].len == 0 || a[i].key[0] != 'R'))
            i++;
        while (j < nb && (b[j].len == 0 || b[j].key[0] != 'R'))
            j++;
        if (i >= na || j >= nb)
            return i >= na && j >= nb;
        if (wq_marks_cmp(&a[i], &b[j]) != 0 || a[i].n != b[j].n)
            return false;
        i++;
        j++;
    }
}

int
wq_rect_apply(MDB_txn *txn, wq_central_t *c, const wq_mark_t *old, size_t nold,
              const wq_mark_t *nw, size_t nnew, wq_err_t *err)
{
    if (s_same_r(old, nold, nw, nnew))
        return WQ_OK;
    wq_contrib_t *cs = NULL;
    size_t nc = 0, cap = 0;
    wq_marks_t ms = {0};
    int rc = s_rect_collect(old, nold, -1, &cs, &nc, &cap, &ms);
    if (rc == WQ_OK)
        rc = s_rect_collect(nw, nnew, 1, &cs, &nc, &cap, &ms);
    if (rc != WQ_OK) {
        rc = wq_err_set(err, WQ_E_NOMEM, "views", _("out of memory summing rectification spells"));
    } else {
        nc = wq_contrib_normalize(cs, nc);
        ms.n = wq_marks_normalize(ms.m, ms.n);
        rc = wq_views_apply(txn, c, NULL, 0, cs, nc, err);
        if (rc == WQ_OK)
            rc = wq_marks_apply(txn, c, NULL, 0, ms.m, ms.n, err);
    }
    free(cs);
    wq_marks_free(&ms);
    return rc;
}

/*  The days-to-rectification histogram as of asof, as the 'R' marks
    (marks.h) of the area's counties whose month opened is in from..to and
    whose spell [start, end) holds asof, each adding its count at its days,
    would give it. The open spells are the WQ_M_RECT_OPEN counters, already
    added by the caller when asof is before WQ_MARK_OPEN_END (include_open);
    this takes off the open spells that start after asof (the area's 'S'
    marks from asof on, start-ordered: none when asof is today) and adds
    the closed spells holding asof (the 'X' marks of the area's counties,
    a county being a prefix of its city and province with the "00" pairs
    dropped). Cost: two cursor ranges, over the open spells starting after
    asof and the closed spells.

    The closed spells' range is read only when one of them can hold asof.
    None can when asof is not before WQ_MARK_OPEN_END (a spell ends on or
    before it). Otherwise rectified is the number of problems opened in
    from..to that the timelines count as rectified on time or late at the
    end of asof (the caller's on_time + late for this area), and open the
    count of the open spells holding asof (the counters less the 'S'
    marks): a problem is rectified at the end of a day exactly when one of
    its spells holds that day (docs/STORE.md section 3), so the closed
    spells holding asof count rectified - open problems; when that is 0,
    the 'X' range (every closed spell of the area's counties: 14 495
    marks against 86 646 'R' at 10^6 events, all read by a province
    summary as of today before) has nothing to add and is skipped. */
static int
s_rect_days(MDB_txn *txn, wq_central_t *c, const char *area, const char *from, const char *to,
            const char *asof, bool include_open, int64_t rectified, int64_t open, wq_view_sums_t *s,
            wq_err_t *err)
{
    if (!include_open)
        return WQ_OK;   /* asof >= WQ_MARK_OPEN_END: no spell holds it */
    MDB_cursor *cur = NULL;
    int rc = WQ_OK, mrc = mdb_cursor_open(txn, c->marks, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(marks)", err);
    MDB_val k, v;
    char sseek[17] = "S";
    memcpy(sseek + 1, area, 6);
    memcpy(sseek + 7, asof, 10);
    k.mv_size = sizeof sseek;
    k.mv_data = sseek;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *key = k.mv_data;
        if (k.mv_size < 7 || memcmp(key, sseek, 7) != 0)
            break;
        if (k.mv_size != 29 || v.mv_size != 8) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "marks", _("a stored S mark is malformed: run verify"));
            goto done;
        }
        const char *start = key + 7, *month = key + 17, *days = key + 24;
        if (memcmp(start, asof, 10) <= 0)
            continue;
        if ((from && *from && memcmp(month, from, 7) < 0) || (to && *to && memcmp(month, to, 7) > 0))
            continue;
        int64_t n;
        memcpy(&n, v.mv_data, 8);
        open -= n;
        if ((rc = s_rdays_add(s, days, -n, err)) != WQ_OK)
            goto done;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND) {
        rc = wq_store_err(mrc, "mdb_cursor_get(marks)", err);
        goto done;
    }
    if (rectified == open)
        goto done;  /* no closed spell holds asof (above) */
    char seek[8] = "X";
    size_t plen = 6;
    while (plen > 2 && area[plen - 1] == '0' && area[plen - 2] == '0')
        plen -= 2;
    memcpy(seek + 1, area, plen);
    k.mv_size = 1 + plen;
    k.mv_data = seek;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const char *key = k.mv_data;
        if (k.mv_size < 1 + plen || memcmp(key, seek, 1 + plen) != 0)
            break;
        if (k.mv_size != 39 || v.mv_size != 8) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "marks", _("a stored X mark is malformed: run verify"));
            goto done;
        }
        const char *month = key + 7, *start = key + 14, *end = key + 24, *days = key + 34;
        if ((from && *from && memcmp(month, from, 7) < 0) || (to && *to && memcmp(month, to, 7) > 0))
            continue;
        if (memcmp(start, asof, 10) > 0 || memcmp(end, asof, 10) <= 0)
            continue;
        int64_t n;
        memcpy(&n, v.mv_data, 8);
        if ((rc = s_rdays_add(s, days, n, err)) != WQ_OK)
            goto done;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(marks)", err);
done:
    mdb_cursor_close(cur);
    return rc;
}

int
wq_views_sum(MDB_txn *txn, wq_central_t *c, const char *area, const char *from, const char *to,
             wq_view_sums_t *s, wq_err_t *err)
{
    return wq_views_sum_asof(txn, c, area, from, to, NULL, s, err);
}

int
wq_views_sum_asof(MDB_txn *txn, wq_central_t *c, const char *area, const char *from,
                  const char *to, const char *asof, wq_view_sums_t *s, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    int rc = WQ_OK;
    const char *rasof = asof ? asof : WQ_MARK_OPEN_END;
    bool include_open = memcmp(WQ_MARK_OPEN_END, rasof, 10) > 0;  /* an open spell holds rasof */
    int64_t rectified0 = s->on_time + s->late, open = 0;   /* this area's, for s_rect_days */
    s_asof_idx_t at = {0, 0, 0};
    if (asof)
        s_asof_idx(asof, &at);
    uint8_t start[13];
    memcpy(start, area, 6);
    memset(start + 6, 0, 7);
    if (from && *from)
        memcpy(start + 6, from, 7);
    int mrc = mdb_cursor_open(txn, c->views, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(views)", err);
    s_vcur_t vc = {cur, {sizeof start, start}, {0, NULL}, 0};
    MDB_val *k = &vc.k, *v = &vc.v;
    uint8_t skip[14];
    for (vc.mrc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE); vc.mrc == 0;) {
        const uint8_t *key = k->mv_data;
        if (k->mv_size != WQ_VKEY_LEN || v->mv_size != 8) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "views", _("a stored counter is malformed: run verify"));
            goto done;
        }
        if (memcmp(key, area, 6) != 0)
            break;
        if (to && *to && memcmp(key + 6, to, 7) > 0)
            break;
        if (key[13] >= WQ_M_TIMELINE_FIRST) {
            /* This month's timelines: read as of asof (or not at all) with
               the same cursor, which then stands on the first row after
               the last range read; seek past the month's timelines unless
               it already stands past them. */
            memcpy(skip, key, 13);
            skip[13] = 0xFF;
            if (asof && (rc = s_timelines(&vc, skip, &at, s, err)) != WQ_OK)
                goto done;
            if (vc.mrc == 0 && k->mv_size == WQ_VKEY_LEN && memcmp(k->mv_data, skip, 13) != 0)
                continue;   /* the next month's (or area's) first row */
            if (vc.mrc != 0 && vc.mrc != MDB_NOTFOUND)
                break;
            k->mv_size = sizeof skip;
            k->mv_data = skip;
            vc.mrc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
            continue;
        }
        int64_t n;
        memcpy(&n, v->mv_data, 8);
        unsigned sub = (unsigned) (key[14] << 8 | key[15]);
        switch (key[13]) {
        case WQ_M_ENT_REGISTERED: s->registered += n; break;
        case WQ_M_ENT_VISITED: s->visited += n; break;
        case WQ_M_VISITS:
            s->visits += n;
            if (sub < WQ_METHOD_COUNT)
                s->by_method[sub] += n;
            break;
        case WQ_M_PROBLEMS:
            s->problems += n;
            if (sub < WQ_CAT_COUNT)
                s->by_category[sub] += n;
            break;
        case WQ_M_PROB_STATUS:
            if (sub < WQ_STATUS_COUNT)
                s->by_status[sub] += n;
            break;
        case WQ_M_PLANS: s->plans += n; break;
        case WQ_M_SERVICES:
            s->services += n;
            if (sub < WQ_SERVICE_COUNT)
                s->by_kind[sub] += n;
            break;
        case WQ_M_CONSULT:
            s->consultations += n;
            if (sub < WQ_CHANNEL_COUNT)
                s->by_channel[sub] += n;
            break;
        case WQ_M_ANSWERED: s->answered += n; break;
        case WQ_M_ANSWER_DAYS:
            if (s_hist_add(&s->days, &s->ndays, sub, n) != WQ_OK) {
                rc = wq_err_set(err, WQ_E_NOMEM, "views", _("out of memory summing answer days"));
                goto done;
            }
            break;
        case WQ_M_CLASS:
            if (sub < WQ_CLASS_COUNT)
                s->by_class[sub] += n;
            break;
        case WQ_M_FOREIGN: s->foreign += n; break;
        case WQ_M_RECT_OPEN:
            if (!include_open)
                break;
            open += n;
            if (s_hist_add(&s->rdays, &s->nrdays, sub, n) != WQ_OK) {
                rc = wq_err_set(err, WQ_E_NOMEM, "views", _("out of memory summing rectify days"));
                goto done;
            }
            break;
        case WQ_M_GRADE:
            if (sub < WQ_GRADE_COUNT)
                s->by_grade[sub] += n;
            break;
        case WQ_M_GROUP_REG:
            if (sub < WQ_GROUP_COUNT)
                s->group_registered[sub] += n;
            break;
        case WQ_M_GROUP_VISITED:
            if (sub < WQ_GROUP_COUNT)
                s->group_visited[sub] += n;
            break;
        default:
            break;
        }
        vc.mrc = mdb_cursor_get(cur, k, v, MDB_NEXT);
    }
    if (vc.mrc != 0 && vc.mrc != MDB_NOTFOUND)
        rc = wq_store_err(vc.mrc, "mdb_cursor_get(views)", err);
    if (rc == WQ_OK)
        rc = s_rect_days(txn, c, area, from, to, rasof, include_open,
                         s->on_time + s->late - rectified0, open, s, err);
done:
    mdb_cursor_close(cur);
    return rc;
}

void
wq_view_sums_clear(wq_view_sums_t *s)
{
    if (!s)
        return;
    free(s->days);
    free(s->rdays);
    memset(s, 0, sizeof *s);
}

static int64_t
s_median(const int64_t *h, size_t n)
{
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += h[i];
    if (total <= 0)
        return -1;
    int64_t want = (total + 1) / 2, seen = 0;   /* the lower median */
    for (size_t i = 0; i < n; i++) {
        seen += h[i];
        if (seen >= want)
            return (int64_t) i;
    }
    return -1;
}

int64_t
wq_view_sums_median(const wq_view_sums_t *s)
{
    return s_median(s->days, s->ndays);
}

int64_t
wq_view_sums_rect_median(const wq_view_sums_t *s)
{
    return s_median(s->rdays, s->nrdays);
}
