/*  =========================================================================
    marks - keyed tallies beside the counters

    The counters (views.c) answer sums over fixed 16-byte keys; the lists
    and the tallies by name (overdue intervals, waiting records, cadres,
    possible double entries) need longer keys, and live here. They follow
    the counters' rule: folds give each entity's marks, ingest applies only
    the difference, a count of 0 is deleted.
    =========================================================================
*/
#include "collector/marks.h"
#include "common/i18n.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
wq_marks_add(wq_marks_t *ms, int64_t n, const char *first, ...)
{
    if (ms->oom)
        return;
    if (ms->n == ms->cap) {
        size_t ncap = ms->cap ? ms->cap * 2 : 8;
        wq_mark_t *nm = realloc(ms->m, ncap * sizeof *nm);
        if (!nm) {
            ms->oom = true;
            return;
        }
        ms->m = nm;
        ms->cap = ncap;
    }
    wq_mark_t *m = &ms->m[ms->n++];
    size_t len = 0;
    va_list ap;
    va_start(ap, first);
    for (const char *p = first; p; p = va_arg(ap, const char *)) {
        size_t l = strlen(p);
        if (len + l > WQ_MARK_MAX)
            l = WQ_MARK_MAX - len;
        memcpy(m->key + len, p, l);
        len += l;
    }
    va_end(ap);
    m->len = (uint8_t) len;
    m->n = n;
}

void
wq_marks_free(wq_marks_t *ms)
{
    free(ms->m);
    memset(ms, 0, sizeof *ms);
}

int
wq_marks_cmp(const wq_mark_t *a, const wq_mark_t *b)
{
    int r = memcmp(a->key, b->key, a->len < b->len ? a->len : b->len);
    if (r)
        return r;
    return a->len < b->len ? -1 : a->len > b->len ? 1 : 0;
}

static int
s_cmp(const void *a, const void *b)
{
    return wq_marks_cmp(a, b);
}

size_t
wq_marks_normalize(wq_mark_t *m, size_t n)
{
    if (n == 0)
        return 0;
    qsort(m, n, sizeof *m, s_cmp);
    size_t out = 0;
    for (size_t i = 0; i < n;) {
        wq_mark_t acc = m[i];
        size_t j = i + 1;
        while (j < n && wq_marks_cmp(&m[j], &acc) == 0)
            acc.n += m[j++].n;
        if (acc.n != 0)
            m[out++] = acc;
        i = j;
    }
    return out;
}

static int
s_add(MDB_txn *txn, wq_central_t *c, const wq_mark_t *m, int64_t delta, wq_err_t *err)
{
    MDB_val k = {m->len, (void *) m->key}, v;
    int64_t cur = 0;
    int mrc = mdb_get(txn, c->marks, &k, &v);
    if (mrc == 0) {
        if (v.mv_size != 8)
            return wq_err_set(err, WQ_E_CORRUPT, "marks",
                              _("a stored mark is %zu bytes, not 8: run verify"), v.mv_size);
        memcpy(&cur, v.mv_data, 8);
    } else if (mrc != MDB_NOTFOUND) {
        return wq_store_err(mrc, "mdb_get(marks)", err);
    }
    cur += delta;
    if (cur == 0) {
        mrc = mdb_del(txn, c->marks, &k, NULL);
        if (mrc != 0 && mrc != MDB_NOTFOUND)
            return wq_store_err(mrc, "mdb_del(marks)", err);
        return WQ_OK;
    }
    v.mv_size = 8;
    v.mv_data = &cur;
    mrc = mdb_put(txn, c->marks, &k, &v, 0);
    return mrc ? wq_store_err(mrc, "mdb_put(marks)", err) : WQ_OK;
}

int
wq_marks_apply(MDB_txn *txn, wq_central_t *c, const wq_mark_t *old, size_t nold,
               const wq_mark_t *nw, size_t nnew, wq_err_t *err)
{
    size_t i = 0, j = 0;
    int rc = WQ_OK;
    while (rc == WQ_OK && (i < nold || j < nnew)) {
        int cmp = i >= nold ? 1 : j >= nnew ? -1 : wq_marks_cmp(&old[i], &nw[j]);
        if (cmp < 0) {
            rc = s_add(txn, c, &old[i], -old[i].n, err);
            i++;
        } else if (cmp > 0) {
            rc = s_add(txn, c, &nw[j], nw[j].n, err);
            j++;
        } else {
            if (nw[j].n != old[i].n)
                rc = s_add(txn, c, &nw[j], nw[j].n - old[i].n, err);
            i++;
            j++;
        }
    }
    return rc;
}

void
wq_marks_format(const wq_mark_t *m, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < m->len && o + 5 < size; i++) {
        unsigned char ch = m->key[i];
        if (ch >= 0x20 && ch != 0x7f)
            out[o++] = (char) ch;
        else
            o += (size_t) snprintf(out + o, size - o, "\\x%02x", ch);
    }
    out[o < size ? o : size - 1] = '\0';
}
