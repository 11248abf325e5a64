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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    "services", "consultations", "answered", "answer_days", "class", "foreign"};

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
                              "a stored counter is %zu bytes, not 8: run verify", v.mv_size);
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

static int
s_add_levels(MDB_txn *txn, wq_central_t *c, const uint8_t key[WQ_VKEY_LEN], int64_t delta,
             wq_err_t *err)
{
    uint8_t up[WQ_VKEY_LEN];
    int rc = s_add(txn, c, key, delta, err);
    if (rc == WQ_OK) {
        wq_vkey_rollup(key, WQ_LEVEL_CITY, up);
        rc = s_add(txn, c, up, delta, err);
    }
    if (rc == WQ_OK) {
        wq_vkey_rollup(key, WQ_LEVEL_PROVINCE, up);
        rc = s_add(txn, c, up, delta, err);
    }
    return rc;
}

int
wq_views_apply(MDB_txn *txn, wq_central_t *c, const wq_contrib_t *old, size_t nold,
               const wq_contrib_t *nw, size_t nnew, wq_err_t *err)
{
    size_t i = 0, j = 0;
    int rc = WQ_OK;
    while (rc == WQ_OK && (i < nold || j < nnew)) {
        int cmp = i >= nold ? 1 : j >= nnew ? -1 : memcmp(old[i].key, nw[j].key, WQ_VKEY_LEN);
        if (cmp < 0) {
            rc = s_add_levels(txn, c, old[i].key, -old[i].n, err);
            i++;
        } else if (cmp > 0) {
            rc = s_add_levels(txn, c, nw[j].key, nw[j].n, err);
            j++;
        } else {
            int64_t d = nw[j].n - old[i].n;
            if (d != 0)
                rc = s_add_levels(txn, c, nw[j].key, d, err);
            i++;
            j++;
        }
    }
    return rc;
}

static int
s_days_add(wq_view_sums_t *s, unsigned day, int64_t n)
{
    if (day >= s->ndays) {
        size_t nd = s->ndays ? s->ndays : 64;
        while (nd <= day)
            nd *= 2;
        int64_t *d = realloc(s->days, nd * sizeof *d);
        if (!d)
            return WQ_E_NOMEM;
        memset(d + s->ndays, 0, (nd - s->ndays) * sizeof *d);
        s->days = d;
        s->ndays = nd;
    }
    s->days[day] += n;
    return WQ_OK;
}

int
wq_views_sum(MDB_txn *txn, wq_central_t *c, const char *area, const char *from, const char *to,
             wq_view_sums_t *s, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    int rc = WQ_OK;
    uint8_t start[13];
    memcpy(start, area, 6);
    memset(start + 6, 0, 7);
    if (from && *from)
        memcpy(start + 6, from, 7);
    int mrc = mdb_cursor_open(txn, c->views, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(views)", err);
    MDB_val k = {sizeof start, start}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *key = k.mv_data;
        if (k.mv_size != WQ_VKEY_LEN || v.mv_size != 8) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "views", "a stored counter is malformed: run verify");
            goto done;
        }
        if (memcmp(key, area, 6) != 0)
            break;
        if (to && *to && memcmp(key + 6, to, 7) > 0)
            break;
        int64_t n;
        memcpy(&n, v.mv_data, 8);
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
            if (s_days_add(s, sub, n) != WQ_OK) {
                rc = wq_err_set(err, WQ_E_NOMEM, "views", "out of memory summing answer days");
                goto done;
            }
            break;
        case WQ_M_CLASS:
            if (sub < WQ_CLASS_COUNT)
                s->by_class[sub] += n;
            break;
        case WQ_M_FOREIGN: s->foreign += n; break;
        default:
            break;
        }
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(views)", err);
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
    memset(s, 0, sizeof *s);
}

int64_t
wq_view_sums_median(const wq_view_sums_t *s)
{
    int64_t total = 0;
    for (size_t i = 0; i < s->ndays; i++)
        total += s->days[i];
    if (total <= 0)
        return -1;
    int64_t want = (total + 1) / 2, seen = 0;   /* the lower median */
    for (size_t i = 0; i < s->ndays; i++) {
        seen += s->days[i];
        if (seen >= want)
            return (int64_t) i;
    }
    return -1;
}
