/*  =========================================================================
    fold - an entity's state as a fold of its set of events

    The one place that says what an event means for the views. Everything
    here is a pure function of the entity's set of events (never of their
    arrival order): the ingest path folds an entity after each batch that
    touches it and diffs the result into the counters; verify folds every
    entity afresh and compares; the enterprise query folds to show the case
    file with each event's effect. See fold.h for the rules on corrections
    and retractions and docs/STORE.md for the contributions.
    =========================================================================
*/
#include "collector/fold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/date.h"

/*  ---- loading ----------------------------------------------------------- */

void
wq_fold_items_free(wq_fold_item_t **items, size_t n)
{
    if (!items || !*items)
        return;
    for (size_t i = 0; i < n; i++)
        wq_record_destroy(&(*items)[i].rec);
    free(*items);
    *items = NULL;
}

int
wq_fold_load(MDB_txn *txn, wq_central_t *c, const char *entity, wq_fold_item_t **items, size_t *n,
             wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    wq_fold_item_t *arr = NULL;
    size_t cnt = 0, cap = 0;
    int rc = WQ_OK;
    *items = NULL;
    *n = 0;
    int mrc = mdb_cursor_open(txn, c->entities, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(entities)", err);
        goto fail;
    }
    MDB_val k = {strlen(entity), (void *) entity}, v;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    while (mrc == 0) {
        if (v.mv_size <= 10) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "entities",
                            "entity %s has a malformed index entry: run verify, restore from backup",
                            entity);
            goto fail;
        }
        MDB_val ek = {v.mv_size - 10, (uint8_t *) v.mv_data + 10}, ev;
        int grc = mdb_get(txn, c->events, &ek, &ev);
        if (grc != 0) {
            rc = grc == MDB_NOTFOUND
                     ? wq_err_set(err, WQ_E_CORRUPT, "entities",
                                  "entity %s indexes an event that is not stored: run verify", entity)
                     : wq_store_err(grc, "mdb_get(events)", err);
            goto fail;
        }
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            wq_fold_item_t *na = realloc(arr, ncap * sizeof *na);
            if (!na) {
                rc = wq_err_set(err, WQ_E_NOMEM, "fold", "out of memory folding %s", entity);
                goto fail;
            }
            arr = na;
            cap = ncap;
        }
        wq_fold_item_t *it = &arr[cnt];
        memset(it, 0, sizeof *it);
        wq_err_t derr;
        if (wq_record_decode(ev.mv_data, ev.mv_size, &it->rec, &derr) != WQ_OK) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "events",
                            "a stored event of %s no longer decodes (%s): restore from backup",
                            entity, derr.text);
            goto fail;
        }
        cnt++;
        wq_record_id(it->rec, it->id);
        mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
    }
    if (mrc != MDB_NOTFOUND) {
        rc = wq_store_err(mrc, "mdb_cursor_get(entities)", err);
        goto fail;
    }
    mdb_cursor_close(cur);
    *items = arr;
    *n = cnt;
    return WQ_OK;
fail:
    if (cur)
        mdb_cursor_close(cur);
    wq_fold_items_free(&arr, cnt);
    return rc;
}

/*  ---- corrections ------------------------------------------------------- */

static bool
s_is_modifier(const wq_record_t *r)
{
    return r->type == WQ_REC_CORRECTION || r->type == WQ_REC_RETRACTION;
}

/*  Fold order: (date, agent, inc, seq). */
static int
s_cmp_items(const void *a, const void *b)
{
    const wq_record_t *x = ((const wq_fold_item_t *) a)->rec;
    const wq_record_t *y = ((const wq_fold_item_t *) b)->rec;
    int d = strcmp(x->date, y->date);
    if (d)
        return d;
    d = strcmp(x->agent, y->agent);
    if (d)
        return d;
    if (x->inc != y->inc)
        return x->inc < y->inc ? -1 : 1;
    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return 0;
}

static wq_fold_item_t *
s_find(wq_fold_item_t *items, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(items[i].id, id) == 0)
            return &items[i];
    return NULL;
}

/*  Steps 1 and 2 of fold.h: mark effects, patch targets. items sorted. */
static int
s_apply_modifiers(wq_fold_item_t *items, size_t n)
{
    /* Every modifier starts ignored, every base event effective. */
    for (size_t i = 0; i < n; i++)
        items[i].effect = s_is_modifier(items[i].rec) ? WQ_EFFECT_IGNORED : WQ_EFFECT_EFFECTIVE;
    /* Retractions: void a non-retraction target of the same county. */
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = items[i].rec;
        if (r->type != WQ_REC_RETRACTION)
            continue;
        wq_fold_item_t *t = s_find(items, n, r->target);
        if (!t || t->rec->type == WQ_REC_RETRACTION || strcmp(t->rec->county, r->county) != 0)
            continue;
        items[i].effect = WQ_EFFECT_EFFECTIVE;
        t->effect = WQ_EFFECT_RETRACTED;
    }
    /* Corrections, in fold order (items are sorted): patch the target. */
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = items[i].rec;
        if (r->type != WQ_REC_CORRECTION || items[i].effect == WQ_EFFECT_RETRACTED || !r->set)
            continue;
        wq_fold_item_t *t = s_find(items, n, r->target);
        if (!t || s_is_modifier(t->rec) || t->rec->type != r->of ||
            strcmp(t->rec->county, r->county) != 0)
            continue;
        items[i].effect = WQ_EFFECT_EFFECTIVE;
        if (t->effect == WQ_EFFECT_EFFECTIVE)
            t->effect = WQ_EFFECT_CORRECTED;
        if (wq_record_apply_patch(t->rec, r->set, NULL) != WQ_OK)
            return WQ_E_NOMEM;      /* types match (checked above): only memory can fail */
    }
    return WQ_OK;
}

/*  ---- state ------------------------------------------------------------- */

typedef struct {
    wq_contrib_t *c;
    size_t n, cap;
    bool oom;
} s_contribs_t;

static void
s_add(s_contribs_t *cs, const char *area, const char *date_or_month, int metric, unsigned sub)
{
    if (cs->oom)
        return;
    if (cs->n == cs->cap) {
        size_t ncap = cs->cap ? cs->cap * 2 : 16;
        wq_contrib_t *nc = realloc(cs->c, ncap * sizeof *nc);
        if (!nc) {
            cs->oom = true;
            return;
        }
        cs->c = nc;
        cs->cap = ncap;
    }
    char month[8];
    memcpy(month, date_or_month, 7);
    month[7] = '\0';
    wq_vkey_make(cs->c[cs->n].key, area, month, metric, sub);
    cs->c[cs->n].n = 1;
    cs->n++;
}

static bool
s_effective(const wq_fold_item_t *it)
{
    return it->effect == WQ_EFFECT_EFFECTIVE || it->effect == WQ_EFFECT_CORRECTED;
}

static void
s_fold_enterprise(wq_fold_item_t *items, size_t n, wq_fold_state_t *st, s_contribs_t *cs)
{
    bool registered = false, visited = false, any = false;
    char reg_month[8] = "", visit_month[8] = "", class_month[8] = "", first_county[7] = "";
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = items[i].rec;
        if (!s_effective(&items[i]) || s_is_modifier(r))
            continue;
        if (!any) {
            any = true;
            memcpy(first_county, r->county, sizeof first_county);
            memcpy(st->ent, r->ent, sizeof st->ent);
        }
        switch (r->type) {
        case WQ_REC_ENTERPRISE:
            if (!registered) {
                registered = true;
                memcpy(reg_month, r->date, 7);
                reg_month[7] = '\0';
            }
            memcpy(st->county, r->county, sizeof st->county);
            snprintf(st->name, sizeof st->name, "%s", r->name ? r->name : "");
            break;
        case WQ_REC_VISIT:
            if (!visited) {
                visited = true;
                memcpy(visit_month, r->date, 7);
                visit_month[7] = '\0';
            }
            s_add(cs, r->county, r->date, WQ_M_VISITS, (unsigned) r->method);
            break;
        case WQ_REC_SERVICE:
            s_add(cs, r->county, r->date, WQ_M_SERVICES, (unsigned) r->kind);
            break;
        case WQ_REC_CLASSIFICATION:
            st->klass = (int) r->klass;
            memcpy(class_month, r->date, 7);
            class_month[7] = '\0';
            break;
        default:
            break;
        }
    }
    st->exists = any;
    if (!any)
        return;
    if (registered)
        memcpy(st->month, reg_month, sizeof st->month);
    else
        memcpy(st->county, first_county, sizeof st->county);
    if (registered)
        s_add(cs, st->county, reg_month, WQ_M_ENT_REGISTERED, 0);
    if (visited)
        s_add(cs, st->county, visit_month, WQ_M_ENT_VISITED, 0);
    if (st->klass)
        s_add(cs, st->county, class_month, WQ_M_CLASS, (unsigned) st->klass);
}

static bool
s_resolved_status(int s)
{
    return s == WQ_STATUS_RECTIFIED || s == WQ_STATUS_VERIFIED;
}

static void
s_fold_problem(const char *pid, wq_fold_item_t *items, size_t n, wq_fold_state_t *st,
               s_contribs_t *cs)
{
    const wq_record_t *p = NULL;
    wq_buf_t tog = {0};
    for (size_t i = 0; i < n; i++)
        if (s_effective(&items[i]) && items[i].rec->type == WQ_REC_PROBLEM &&
            strcmp(items[i].id, pid) == 0)
            p = items[i].rec;
    if (!p)
        return;
    st->exists = true;
    memcpy(st->county, p->county, sizeof st->county);
    memcpy(st->date, p->date, sizeof st->date);
    memcpy(st->month, p->date, 7);
    st->month[7] = '\0';
    memcpy(st->ent, p->ent, sizeof st->ent);
    st->category = (int) p->category;
    st->severity = (int) p->severity;
    st->status = WQ_STATUS_OPEN;
    s_add(cs, st->county, st->month, WQ_M_PROBLEMS, (unsigned) p->category);
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = items[i].rec;
        if (!s_effective(&items[i]))
            continue;
        if (r->type == WQ_REC_PLAN) {
            s_add(cs, st->county, r->date, WQ_M_PLANS, 0);
            memcpy(st->deadline, r->deadline, sizeof st->deadline);
        } else if (r->type == WQ_REC_PROGRESS) {
            int s = r->status == WQ_STATUS_REOPENED ? WQ_STATUS_OPEN : (int) r->status;
            if (s < WQ_STATUS_OPEN || s > WQ_STATUS_VERIFIED)
                continue;
            if (s_resolved_status(s) != s_resolved_status(st->status)) {
                /* Two changes on one day cancel: only the state at the end of
                   a day counts. */
                if (tog.len >= 10 && memcmp(tog.data + tog.len - 10, r->date, 10) == 0)
                    tog.len -= 10;
                else
                    wq_buf_put(&tog, r->date, 10);
            }
            st->status = s;
        }
    }
    s_add(cs, st->county, st->month, WQ_M_PROB_STATUS, (unsigned) st->status);
    if (tog.len > 0) {
        wq_buf_u8(&tog, 0);
        st->toggles = (char *) tog.data;
        tog.data = NULL;
    }
    if (tog.oom)
        cs->oom = true;
    wq_buf_free(&tog);
}

bool
wq_fold_resolved_at(const char *toggles, size_t len, const char *date)
{
    size_t k = 0;
    for (size_t off = 0; off + 10 <= len; off += 10)
        if (memcmp(toggles + off, date, 10) <= 0)
            k++;
    return k % 2 == 1;
}

static void
s_fold_consultation(const char *cid, wq_fold_item_t *items, size_t n, wq_fold_state_t *st,
                    s_contribs_t *cs)
{
    const wq_record_t *q = NULL, *a = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!s_effective(&items[i]))
            continue;
        const wq_record_t *r = items[i].rec;
        if (r->type == WQ_REC_CONSULTATION && strcmp(items[i].id, cid) == 0)
            q = r;
        else if (r->type == WQ_REC_ANSWER && !a)
            a = r;
    }
    if (!q)
        return;
    st->exists = true;
    memcpy(st->county, q->county, sizeof st->county);
    memcpy(st->date, q->date, sizeof st->date);
    memcpy(st->month, q->date, 7);
    st->month[7] = '\0';
    memcpy(st->ent, q->ent, sizeof st->ent);
    s_add(cs, st->county, st->month, WQ_M_CONSULT, (unsigned) q->channel);
    if (a) {
        st->answered = 1;
        int32_t days = wq_date_days(a->date) - wq_date_days(q->date);
        if (days < 0)
            days = 0;
        if (days > 65535)
            days = 65535;
        s_add(cs, st->county, st->month, WQ_M_ANSWERED, 0);
        s_add(cs, st->county, st->month, WQ_M_ANSWER_DAYS, (unsigned) days);
    }
}

int
wq_fold_compute(const char *entity, wq_fold_item_t *items, size_t n, wq_fold_state_t *st,
                wq_err_t *err)
{
    s_contribs_t cs = {0};
    memset(st, 0, sizeof *st);
    st->kind = entity[0];
    if (n > 1)
        qsort(items, n, sizeof *items, s_cmp_items);
    if (s_apply_modifiers(items, n) != WQ_OK)
        goto oom;
    /* Corrections may have changed dates: order again. */
    if (n > 1)
        qsort(items, n, sizeof *items, s_cmp_items);
    const char *own = entity + 2;
    if (entity[0] == 'E')
        s_fold_enterprise(items, n, st, &cs);
    else if (entity[0] == 'P')
        s_fold_problem(own, items, n, st, &cs);
    else if (entity[0] == 'C')
        s_fold_consultation(own, items, n, st, &cs);
    if (cs.oom)
        goto oom;
    st->ncontribs = wq_contrib_normalize(cs.c, cs.n);
    st->contribs = cs.c;
    return WQ_OK;
oom:
    free(cs.c);
    return wq_err_set(err, WQ_E_NOMEM, "fold", "out of memory folding %s", entity);
}

int
wq_fold_entity(MDB_txn *txn, wq_central_t *c, const char *entity, wq_fold_state_t *st, wq_err_t *err)
{
    wq_fold_item_t *items = NULL;
    size_t n = 0;
    memset(st, 0, sizeof *st);
    int rc = wq_fold_load(txn, c, entity, &items, &n, err);
    if (rc == WQ_OK)
        rc = wq_fold_compute(entity, items, n, st, err);
    wq_fold_items_free(&items, n);
    return rc;
}

void
wq_fold_state_clear(wq_fold_state_t *st)
{
    if (!st)
        return;
    free(st->contribs);
    free(st->toggles);
    memset(st, 0, sizeof *st);
}

/*  ---- blobs ------------------------------------------------------------- */

#define S_STATE_VERSION 1

void
wq_fold_state_encode(const wq_fold_state_t *st, wq_buf_t *out)
{
    wq_buf_u8(out, S_STATE_VERSION);
    wq_buf_u8(out, (uint8_t) st->kind);
    wq_buf_u8(out, st->exists);
    wq_buf_str(out, st->county);
    wq_buf_str(out, st->month);
    wq_buf_str(out, st->date);
    wq_buf_str(out, st->ent);
    wq_buf_str(out, st->name);
    wq_buf_u8(out, (uint8_t) st->category);
    wq_buf_u8(out, (uint8_t) st->severity);
    wq_buf_u8(out, (uint8_t) st->status);
    wq_buf_u8(out, (uint8_t) st->klass);
    wq_buf_u8(out, (uint8_t) st->answered);
    wq_buf_str(out, st->deadline);
    wq_buf_str(out, st->toggles ? st->toggles : "");
    wq_buf_u64(out, st->ncontribs);
    for (size_t i = 0; i < st->ncontribs; i++) {
        wq_buf_put(out, st->contribs[i].key, WQ_VKEY_LEN);
        wq_buf_u64(out, (uint64_t) st->contribs[i].n);
    }
}

int
wq_fold_state_decode(const void *data, size_t size, wq_fold_state_t *st, wq_err_t *err)
{
    wq_rd_t r = {data, size, 0, false};
    memset(st, 0, sizeof *st);
    if (wq_rd_u8(&r) != S_STATE_VERSION)
        goto bad;
    st->kind = (char) wq_rd_u8(&r);
    st->exists = wq_rd_u8(&r) != 0;
    wq_rd_str(&r, st->county, sizeof st->county);
    wq_rd_str(&r, st->month, sizeof st->month);
    wq_rd_str(&r, st->date, sizeof st->date);
    wq_rd_str(&r, st->ent, sizeof st->ent);
    wq_rd_str(&r, st->name, sizeof st->name);
    st->category = wq_rd_u8(&r);
    st->severity = wq_rd_u8(&r);
    st->status = wq_rd_u8(&r);
    st->klass = wq_rd_u8(&r);
    st->answered = wq_rd_u8(&r);
    wq_rd_str(&r, st->deadline, sizeof st->deadline);
    st->toggles = wq_rd_strdup(&r);
    if (!st->toggles && !r.bad)
        goto nomem;
    if (st->toggles && !st->toggles[0]) {
        free(st->toggles);
        st->toggles = NULL;
    }
    uint64_t nc = wq_rd_u64(&r);
    if (r.bad || nc > (size - r.off) / (WQ_VKEY_LEN + 8))
        goto bad;
    if (nc) {
        st->contribs = calloc((size_t) nc, sizeof *st->contribs);
        if (!st->contribs)
            goto nomem;
    }
    for (uint64_t i = 0; i < nc; i++) {
        const uint8_t *k = wq_rd_bytes(&r, WQ_VKEY_LEN);
        if (k)
            memcpy(st->contribs[i].key, k, WQ_VKEY_LEN);
        st->contribs[i].n = (int64_t) wq_rd_u64(&r);
    }
    st->ncontribs = (size_t) nc;
    if (r.bad || r.off != size)
        goto bad;
    return WQ_OK;
nomem:
    wq_fold_state_clear(st);
    return wq_err_set(err, WQ_E_NOMEM, "states", "out of memory reading an entity state");
bad:
    wq_fold_state_clear(st);
    return wq_err_set(err, WQ_E_CORRUPT, "states",
                      "a stored entity state is malformed: run verify, rebuild from the agents");
}

bool
wq_fold_deadline_entry(const wq_fold_state_t *st, const char *entity, wq_buf_t *key, wq_buf_t *val)
{
    if (!st->exists || st->kind != 'P' || st->deadline[0] == '\0')
        return false;
    wq_buf_put(key, st->deadline, 10);
    wq_buf_put(key, entity, strlen(entity));
    wq_buf_put(val, st->county, 6);
    wq_buf_put(val, st->month, 7);
    if (st->toggles)
        wq_buf_put(val, st->toggles, strlen(st->toggles));
    return true;
}
