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
#include "common/i18n.h"
#include "collector/marks.h"

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
                            _("entity %s has a malformed index entry: run verify, restore from backup"),
                            entity);
            goto fail;
        }
        MDB_val ek = {v.mv_size - 10, (uint8_t *) v.mv_data + 10}, ev;
        int grc = mdb_get(txn, c->events, &ek, &ev);
        if (grc != 0) {
            rc = grc == MDB_NOTFOUND
                     ? wq_err_set(err, WQ_E_CORRUPT, "entities",
                                  _("entity %s indexes an event that is not stored: run verify"), entity)
                     : wq_store_err(grc, "mdb_get(events)", err);
            goto fail;
        }
        if (cnt == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            wq_fold_item_t *na = realloc(arr, ncap * sizeof *na);
            if (!na) {
                rc = wq_err_set(err, WQ_E_NOMEM, "fold", _("out of memory folding %s"), entity);
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
                            _("a stored event of %s no longer decodes (%s): restore from backup"),
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
    return wq_record_fold_cmp(((const wq_fold_item_t *) a)->rec, ((const wq_fold_item_t *) b)->rec);
}

/*  Targets are found through an index of the items sorted by id, so that
    a fold costs O(n log n) whatever mix of corrections it holds (a linear
    scan per modifier made folds quadratic: issue 10). */
typedef struct {
    wq_fold_item_t **by_id;
    size_t n;
} s_index_t;

static int
s_cmp_by_id(const void *a, const void *b)
{
    return strcmp((*(wq_fold_item_t *const *) a)->id, (*(wq_fold_item_t *const *) b)->id);
}

static int
s_index_build(s_index_t *ix, wq_fold_item_t *items, size_t n)
{
    ix->n = n;
    ix->by_id = NULL;
    if (n == 0)
        return WQ_OK;
    ix->by_id = malloc(n * sizeof *ix->by_id);
    if (!ix->by_id)
        return WQ_E_NOMEM;
    for (size_t i = 0; i < n; i++)
        ix->by_id[i] = &items[i];
    qsort(ix->by_id, n, sizeof *ix->by_id, s_cmp_by_id);
    return WQ_OK;
}

static wq_fold_item_t *
s_find(const s_index_t *ix, const char *id)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = strcmp(ix->by_id[mid]->id, id);
        if (d == 0)
            return ix->by_id[mid];
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/*  Steps 1 and 2 of fold.h: mark effects, patch targets. items sorted. */
static int
s_apply_modifiers(wq_fold_item_t *items, size_t n)
{
    s_index_t ix;
    int rc = WQ_OK;
    if (s_index_build(&ix, items, n) != WQ_OK)
        return WQ_E_NOMEM;
    /* Every modifier starts ignored, every base event effective. */
    for (size_t i = 0; i < n; i++)
        items[i].effect = s_is_modifier(items[i].rec) ? WQ_EFFECT_IGNORED : WQ_EFFECT_EFFECTIVE;
    /* Retractions: void a non-retraction target of the same county. */
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = items[i].rec;
        if (r->type != WQ_REC_RETRACTION)
            continue;
        wq_fold_item_t *t = s_find(&ix, r->target);
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
        wq_fold_item_t *t = s_find(&ix, r->target);
        if (!t || s_is_modifier(t->rec) || t->rec->type != r->of ||
            strcmp(t->rec->county, r->county) != 0)
            continue;
        items[i].effect = WQ_EFFECT_EFFECTIVE;
        if (t->effect == WQ_EFFECT_EFFECTIVE)
            t->effect = WQ_EFFECT_CORRECTED;
        if (wq_record_apply_patch(t->rec, r->set, NULL) != WQ_OK) {
            rc = WQ_E_NOMEM;    /* types match (checked above): only memory can fail */
            goto done;
        }
    }
done:
    free(ix.by_id);
    return rc;
}

/*  ---- ownership (fold.h step 3, docs/SECURITY.md) ------------------------- */

static bool s_effective(const wq_fold_item_t *it);

/*  The enterprise's owner before any transfer: the county of its first
    effective registration in fold order, else of its first effective base
    event. items sorted. NULL if it has no effective base event. */
static const char *
s_base_owner(const wq_fold_item_t *items, size_t n)
{
    const char *first = NULL;
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = items[i].rec;
        if (!s_effective(&items[i]) || s_is_modifier(r))
            continue;
        if (r->type == WQ_REC_ENTERPRISE)
            return r->county;
        if (!first)
            first = r->county;
    }
    return first;
}

/*  Owner on date: base, then each transfer dated on or before date. */
static const char *
s_owner_at(const char *base, const wq_fold_transfer_t *tr, size_t ntr, const char *date)
{
    const char *owner = base;
    for (size_t i = 0; i < ntr; i++)
        if (strcmp(tr[i].date, date) <= 0)
            owner = tr[i].county;
    return owner;
}

/*  Count a foreign event (rec, id) in the state and list it while the list
    has room. */
static int
s_list_foreign(const wq_record_t *rec, const char *id, const char *owner, wq_fold_state_t *st)
{
    st->nforeign++;
    if (st->nforeign_listed >= WQ_FOLD_FOREIGN_MAX)
        return WQ_OK;
    if (!st->foreign) {
        st->foreign = calloc(WQ_FOLD_FOREIGN_MAX, sizeof *st->foreign);
        if (!st->foreign)
            return WQ_E_NOMEM;
    }
    wq_fold_foreign_t *f = &st->foreign[st->nforeign_listed++];
    snprintf(f->id, sizeof f->id, "%s", id);
    memcpy(f->county, rec->county, sizeof f->county);
    snprintf(f->owner, sizeof f->owner, "%s", owner);
    memcpy(f->date, rec->date, sizeof f->date);
    f->type = (uint8_t) rec->type;
    return WQ_OK;
}

/*  Mark item it FOREIGN (owned by owner) and list it in the state. */
static int
s_mark_foreign(wq_fold_item_t *it, const char *owner, wq_fold_state_t *st)
{
    it->effect = WQ_EFFECT_FOREIGN;
    return s_list_foreign(it->rec, it->id, owner, st);
}

/*  Mark the effective base events that come from another county than the
    entity's owner on their date. items sorted; modifiers already applied
    (a correction or retraction only ever acts on its own county's events).
    *owner_out gets the owner now ("" if none). */
static int
s_apply_ownership(const char *entity, wq_fold_item_t *items, size_t n,
                  const wq_fold_transfer_t *tr, size_t ntr, wq_fold_state_t *st,
                  char owner_out[7])
{
    const char *base = NULL;
    owner_out[0] = '\0';
    if (entity[0] == 'E') {
        base = s_base_owner(items, n);
    } else {
        /* A problem or consultation: the county of its opening event. */
        wq_rec_type_t opening = entity[0] == 'P' ? WQ_REC_PROBLEM : WQ_REC_CONSULTATION;
        for (size_t i = 0; i < n && !base; i++)
            if (s_effective(&items[i]) && items[i].rec->type == opening &&
                strcmp(items[i].id, entity + 2) == 0)
                base = items[i].rec->county;
        ntr = 0;            /* only enterprises are transferred */
    }
    if (!base)
        return WQ_OK;       /* nothing counts yet: nothing to refuse */
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = items[i].rec;
        if (!s_effective(&items[i]) || s_is_modifier(r))
            continue;
        const char *owner = s_owner_at(base, tr, ntr, r->date);
        if (strcmp(r->county, owner) != 0 && s_mark_foreign(&items[i], owner, st) != WQ_OK)
            return WQ_E_NOMEM;
    }
    snprintf(owner_out, 7, "%s", s_owner_at(base, tr, ntr, "9999-99-99"));
    return WQ_OK;
}

int
wq_fold_transfers_load(MDB_txn *txn, wq_central_t *c, const char *entity,
                       wq_fold_transfer_t **out, size_t *n, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    wq_fold_transfer_t *arr = NULL;
    size_t cnt = 0;
    int rc = WQ_OK;
    *out = NULL;
    *n = 0;
    if (entity[0] != 'E' || strlen(entity) != 20)
        return WQ_OK;
    int mrc = mdb_cursor_open(txn, c->transfers, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(transfers)", err);
    MDB_val k = {18, (void *) (entity + 2)}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         mrc == 0 && k.mv_size == 28 && memcmp(k.mv_data, entity + 2, 18) == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (v.mv_size != 6) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "transfers",
                            _("a transfer of %s is malformed: run verify"), entity + 2);
            goto done;
        }
        wq_fold_transfer_t *na = realloc(arr, (cnt + 1) * sizeof *na);
        if (!na) {
            rc = wq_err_set(err, WQ_E_NOMEM, "transfers", _("out of memory reading transfers"));
            goto done;
        }
        arr = na;
        memcpy(arr[cnt].date, (const char *) k.mv_data + 18, 10);
        arr[cnt].date[10] = '\0';
        memcpy(arr[cnt].county, v.mv_data, 6);
        arr[cnt].county[6] = '\0';
        cnt++;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND) {
        rc = wq_store_err(mrc, "mdb_cursor_get(transfers)", err);
        goto done;
    }
done:
    mdb_cursor_close(cur);
    if (rc != WQ_OK) {
        free(arr);
        return rc;
    }
    *out = arr;
    *n = cnt;
    return WQ_OK;
}

/*  ---- state ------------------------------------------------------------- */

typedef struct {
    wq_contrib_t *c;
    size_t n, cap;
    bool oom;
} s_contribs_t;

/*  Room for one more contribution; false (oom set) if none. */
static bool
s_room(s_contribs_t *cs)
{
    if (cs->oom)
        return false;
    if (cs->n == cs->cap) {
        size_t ncap = cs->cap ? cs->cap * 2 : 16;
        wq_contrib_t *nc = realloc(cs->c, ncap * sizeof *nc);
        if (!nc) {
            cs->oom = true;
            return false;
        }
        cs->c = nc;
        cs->cap = ncap;
    }
    return true;
}

static void
s_addn(s_contribs_t *cs, const char *area, const char *date_or_month, int metric, unsigned sub,
       int64_t n)
{
    if (!s_room(cs))
        return;
    char month[8];
    memcpy(month, date_or_month, 7);
    month[7] = '\0';
    wq_vkey_make(cs->c[cs->n].key, area, month, metric, sub);
    cs->c[cs->n].n = n;
    cs->n++;
}

static void
s_add(s_contribs_t *cs, const char *area, const char *date_or_month, int metric, unsigned sub)
{
    s_addn(cs, area, date_or_month, metric, sub, 1);
}

static bool
s_effective(const wq_fold_item_t *it)
{
    return it->effect == WQ_EFFECT_EFFECTIVE || it->effect == WQ_EFFECT_CORRECTED;
}

/*  Marks of the enterprise's visits: visits per cadre (each name once per
    visit, in the visit's county and month), and possible double entries:
    visits of one date and method from two or more workstations. */
/*  A visit's cadre marks: each name once, in the visit's county and month. */
static void
s_cadre_marks(const wq_record_t *r, wq_marks_t *ms)
{
    char month[8];
    memcpy(month, r->date, 7);
    month[7] = '\0';
    for (size_t j = 0; j < r->ncadres; j++) {
        bool seen = false;
        for (size_t k = 0; k < j && !seen; k++)
            seen = strcmp(r->cadres[k], r->cadres[j]) == 0;
        if (!seen && r->cadres[j][0])
            wq_marks_add(ms, 1, "K", r->county, month, r->cadres[j], NULL);
    }
}

static void
s_visit_marks(wq_fold_item_t *items, size_t n, const char *ent, wq_marks_t *ms)
{
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = items[i].rec;
        if (!s_effective(&items[i]) || r->type != WQ_REC_VISIT)
            continue;
        s_cadre_marks(r, ms);
        /* The first visit of its (date, method) group reports the group. */
        bool first = true, other_agent = false;
        int64_t nvisits = 0;
        for (size_t k = 0; k < n; k++) {
            const wq_record_t *o = items[k].rec;
            if (!s_effective(&items[k]) || o->type != WQ_REC_VISIT || o->method != r->method ||
                strcmp(o->date, r->date) != 0)
                continue;
            if (k < i)
                first = false;
            if (strcmp(o->agent, r->agent) != 0)
                other_agent = true;
            nvisits++;
        }
        if (first && other_agent) {
            char method[2] = {(char) ('0' + (int) r->method), '\0'};
            wq_marks_add(ms, nvisits, "D", r->county, r->date, method, ent, NULL);
        }
    }
}

/*  An enterprise's contributions that follow from its state alone, not
    from each event: registered, visited, class, grade and groups, all where
    the enterprise counts now (st->county, its owner). The full and the
    incremental fold both make them here. */
static void
s_ent_derived(const wq_fold_state_t *st, s_contribs_t *cs)
{
    bool registered = st->month[0] != '\0', visited = st->visit_month[0] != '\0';
    if (st->grade)
        s_add(cs, st->county, st->grade_month, WQ_M_GRADE, (unsigned) st->grade);
    if (registered && st->focus > 0 && st->focus < WQ_FOCUS_COUNT) {
        s_add(cs, st->county, st->month, WQ_M_GROUP_REG, (unsigned) st->focus);
        if (visited)
            s_add(cs, st->county, st->visit_month, WQ_M_GROUP_VISITED, (unsigned) st->focus);
    }
    if (registered && st->above) {
        s_add(cs, st->county, st->month, WQ_M_GROUP_REG, WQ_GROUP_ABOVE_SIZE);
        if (visited)
            s_add(cs, st->county, st->visit_month, WQ_M_GROUP_VISITED, WQ_GROUP_ABOVE_SIZE);
    }
    if (registered)
        s_add(cs, st->county, st->month, WQ_M_ENT_REGISTERED, 0);
    if (visited)
        s_add(cs, st->county, st->visit_month, WQ_M_ENT_VISITED, 0);
    if (st->klass)
        s_add(cs, st->county, st->class_month, WQ_M_CLASS, (unsigned) st->klass);
}

/*  One effective base event r of an enterprise, in fold order: the state
    it leaves and its own contributions (visits, services) and marks
    (cadres). Registration sets the month registered when it is the first. */
static void
s_ent_event(const wq_record_t *r, wq_fold_state_t *st, s_contribs_t *cs, wq_marks_t *ms)
{
    switch (r->type) {
    case WQ_REC_ENTERPRISE:
        if (!st->month[0]) {
            memcpy(st->month, r->date, 7);
            st->month[7] = '\0';
        }
        snprintf(st->name, sizeof st->name, "%s", r->name ? r->name : "");
        st->focus = (int) r->focus;
        st->above = r->above_size;
        break;
    case WQ_REC_VISIT:
        if (!st->visit_month[0]) {
            memcpy(st->visit_month, r->date, 7);
            st->visit_month[7] = '\0';
        }
        s_add(cs, r->county, r->date, WQ_M_VISITS, (unsigned) r->method);
        if (ms)
            s_cadre_marks(r, ms);
        break;
    case WQ_REC_SERVICE:
        s_add(cs, r->county, r->date, WQ_M_SERVICES, (unsigned) r->kind);
        break;
    case WQ_REC_CLASSIFICATION:
        st->klass = (int) r->klass;
        memcpy(st->class_month, r->date, 7);
        st->class_month[7] = '\0';
        break;
    case WQ_REC_GRADING:
        st->grade = (int) r->grade;
        memcpy(st->grade_month, r->date, 7);
        st->grade_month[7] = '\0';
        break;
    default:
        break;
    }
}

static void
s_fold_enterprise(wq_fold_item_t *items, size_t n, wq_fold_state_t *st, s_contribs_t *cs,
                  wq_marks_t *ms, const char *owner)
{
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = items[i].rec;
        if (!s_effective(&items[i]) || s_is_modifier(r))
            continue;
        if (!any) {
            any = true;
            memcpy(st->ent, r->ent, sizeof st->ent);
        }
        s_ent_event(r, st, cs, NULL);
    }
    st->exists = any;
    if (!any)
        return;
    s_visit_marks(items, n, st->ent, ms);
    /* The enterprise counts in its owner's county now (an operator transfer
       moves it), which is its registering county when it has not moved. */
    memcpy(st->county, owner, sizeof st->county);
    s_ent_derived(st, cs);
}

static bool
s_resolved_status(int s)
{
    return s == WQ_STATUS_RECTIFIED || s == WQ_STATUS_VERIFIED;
}

/*  Day numbers of a problem's history, for its timelines. */
typedef struct {
    int32_t opened;
    int32_t *pd, *dl;       /* plans in fold order: plan date, deadline */
    size_t np;
    int32_t *tog;           /* resolution toggles, ascending */
    size_t nt;
} s_hist_t;

static bool
s_h_inforce(const s_hist_t *h, int32_t d, int32_t *deadline)
{
    bool any = false;
    for (size_t i = 0; i < h->np; i++)
        if (h->pd[i] <= d) {
            *deadline = h->dl[i];
            any = true;
        }
    return any;
}

/*  Resolved at the end of day d; *last = the toggle that made it so. */
static bool
s_h_resolved(const s_hist_t *h, int32_t d, int32_t *last)
{
    size_t k = 0;
    for (size_t i = 0; i < h->nt; i++)
        if (h->tog[i] <= d) {
            k++;
            *last = h->tog[i];
        }
    return k % 2 == 1;
}

/*  The three states of the issue's definitions at the end of day d:
    overdue = opened, a deadline in force that is before d, not resolved;
    on time / late = opened, resolved, and the day it was resolved was on
    or before / after the deadline in force that day (none in force: on
    time). */
static void
s_h_states(const s_hist_t *h, int32_t d, bool out[3])
{
    int32_t dl = 0, last = 0;
    out[0] = out[1] = out[2] = false;
    if (d < h->opened)
        return;
    bool res = s_h_resolved(h, d, &last);
    if (!res) {
        out[0] = s_h_inforce(h, d, &dl) && dl < d;
        return;
    }
    bool late = s_h_inforce(h, last, &dl) && last > dl;
    out[late ? 2 : 1] = true;
}

static int
s_cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;
    return x < y ? -1 : x > y;
}

/*  Timeline contributions (+1 on the day a state starts, -1 on the day it
    ends, by month and by day) and the overdue intervals as 'O' marks. */
static void
s_timelines(const s_hist_t *h, const char *entity, const wq_fold_state_t *st, s_contribs_t *cs,
            wq_marks_t *ms)
{
    static const int mons[3] = {WQ_M_OD_MON, WQ_M_OT_MON, WQ_M_LT_MON};
    size_t nc = 1 + 2 * h->np + h->nt, m = 0;
    int32_t *cand = malloc(nc * sizeof *cand);
    if (!cand) {
        cs->oom = true;
        return;
    }
    cand[m++] = h->opened;
    for (size_t i = 0; i < h->np; i++) {
        cand[m++] = h->pd[i];
        cand[m++] = h->dl[i] + 1;
    }
    for (size_t i = 0; i < h->nt; i++)
        cand[m++] = h->tog[i];
    qsort(cand, m, sizeof *cand, s_cmp_i32);
    bool prev[3] = {false, false, false};
    char od_start[11] = "";
    for (size_t i = 0; i < m; i++) {
        if ((i > 0 && cand[i] == cand[i - 1]) || cand[i] < h->opened)
            continue;
        bool now[3];
        char day[11];
        s_h_states(h, cand[i], now);
        wq_date_from_days(cand[i], day);
        for (int k = 0; k < 3; k++) {
            if (now[k] == prev[k])
                continue;
            int64_t delta = now[k] ? 1 : -1;
            s_addn(cs, st->county, st->month, mons[k], wq_monidx(day), delta);
            s_addn(cs, st->county, st->month, mons[k] + 1, wq_dayidx(day), delta);
            if (k == 0 && now[k]) {
                memcpy(od_start, day, sizeof od_start);
            } else if (k == 0) {
                wq_marks_add(ms, 1, "O", od_start, day, st->county, st->month, entity, NULL);
            }
            prev[k] = now[k];
        }
    }
    if (prev[0])
        wq_marks_add(ms, 1, "O", od_start, WQ_MARK_OPEN_END, st->county, st->month, entity, NULL);
    free(cand);
}

/*  The 'R' marks (marks.h): one per spell [start, end) during which the
    problem was rectified or verified (and opened), with the days from its
    opening to the rectification that began the spell, so that the days to
    rectification can be read as of any date (rectify_days_median). */
static void
s_rect_spells(const s_hist_t *h, const wq_fold_state_t *st, wq_marks_t *ms)
{
    for (size_t k = 0; k < h->nt; k += 2) {
        int32_t start = h->tog[k] > h->opened ? h->tog[k] : h->opened;
        if (k + 1 < h->nt && h->tog[k + 1] <= start)
            continue;   /* undone before the problem was opened: never counted */
        int32_t days = h->tog[k] - h->opened;
        char from[11], to[11] = WQ_MARK_OPEN_END, d[8];
        wq_date_from_days(start, from);
        if (k + 1 < h->nt)
            wq_date_from_days(h->tog[k + 1], to);
        snprintf(d, sizeof d, "%05d", days < 0 ? 0 : days > 99999 ? 99999 : (int) days);
        wq_marks_add(ms, 1, "R", st->county, st->month, from, to, d, NULL);
    }
}

/*  A problem's contributions and marks that follow from its state alone:
    its current status, the day of its current rectification, its
    rectification spells ('R' marks), and its timelines and overdue spells, from the deadline history
    (st->plans) and the resolution toggles (st->toggles). The full and the
    incremental fold both make them here. */
static void
s_problem_derived(const char *entity, wq_fold_state_t *st, s_contribs_t *cs, wq_marks_t *ms)
{
    s_hist_t h = {0};
    size_t np = st->plans ? strlen(st->plans) / 20 : 0;
    size_t nt = st->toggles ? strlen(st->toggles) / 10 : 0;
    char d[11];
    d[10] = '\0';
    s_add(cs, st->county, st->month, WQ_M_PROB_STATUS, (unsigned) st->status);
    h.pd = malloc((np + 1) * sizeof *h.pd);
    h.dl = malloc((np + 1) * sizeof *h.dl);
    h.tog = malloc((nt + 1) * sizeof *h.tog);
    if (!h.pd || !h.dl || !h.tog) {
        cs->oom = true;
        goto done;
    }
    h.opened = wq_date_days(st->date);
    for (size_t i = 0; i < np; i++) {
        memcpy(d, st->plans + 20 * i, 10);
        h.pd[h.np] = wq_date_days(d);
        memcpy(d, st->plans + 20 * i + 10, 10);
        h.dl[h.np++] = wq_date_days(d);
    }
    for (size_t i = 0; i < nt; i++) {
        memcpy(d, st->toggles + 10 * i, 10);
        h.tog[h.nt++] = wq_date_days(d);
    }
    st->rect_date[0] = '\0';
    if (h.nt % 2 == 1)   /* resolved now: the day of the current rectification */
        wq_date_from_days(h.tog[h.nt - 1], st->rect_date);
    s_rect_spells(&h, st, ms);
    s_timelines(&h, entity, st, cs, ms);
done:
    free(h.pd);
    free(h.dl);
    free(h.tog);
}

/*  One effective plan or progress r of a problem, in fold order, on the
    history buffers plans and toggles (which hold st's so far). */
static void
s_problem_event(const wq_record_t *r, wq_fold_state_t *st, wq_buf_t *plans, wq_buf_t *tog,
                s_contribs_t *cs)
{
    if (r->type == WQ_REC_PLAN) {
        s_add(cs, st->county, r->date, WQ_M_PLANS, 0);
        memcpy(st->deadline, r->deadline, sizeof st->deadline);
        wq_buf_put(plans, r->date, 10);
        wq_buf_put(plans, r->deadline, 10);
    } else if (r->type == WQ_REC_PROGRESS) {
        int s = r->status == WQ_STATUS_REOPENED ? WQ_STATUS_OPEN : (int) r->status;
        if (s < WQ_STATUS_OPEN || s > WQ_STATUS_VERIFIED)
            return;
        if (s_resolved_status(s) != s_resolved_status(st->status)) {
            /* Two changes on one day cancel: only the state at the end of
               a day counts. */
            if (tog->len >= 10 && memcmp(tog->data + tog->len - 10, r->date, 10) == 0)
                tog->len -= 10;
            else
                wq_buf_put(tog, r->date, 10);
        }
        st->status = s;
    }
}

/*  Move a history buffer into a state string (NULL if empty). */
static void
s_take_history(wq_buf_t *b, char **out, s_contribs_t *cs)
{
    free(*out);
    *out = NULL;
    if (b->oom) {
        cs->oom = true;
        return;
    }
    if (b->len > 0) {
        wq_buf_u8(b, 0);
        if (b->oom) {
            cs->oom = true;
            return;
        }
        *out = (char *) b->data;
        b->data = NULL;
        b->len = b->cap = 0;
    }
}

static void
s_fold_problem(const char *entity, wq_fold_item_t *items, size_t n, wq_fold_state_t *st,
               s_contribs_t *cs, wq_marks_t *ms)
{
    const char *pid = entity + 2;
    const wq_record_t *p = NULL;
    wq_buf_t tog = {0}, plans = {0};
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
    for (size_t i = 0; i < n; i++)
        if (s_effective(&items[i]))
            s_problem_event(items[i].rec, st, &plans, &tog, cs);
    s_take_history(&tog, &st->toggles, cs);
    s_take_history(&plans, &st->plans, cs);
    if (!cs->oom)
        s_problem_derived(entity, st, cs, ms);
    wq_buf_free(&tog);
    wq_buf_free(&plans);
}

void
wq_fold_deadline_at(const char *plans, const char *date, char inforce[11], char first[11],
                    int *changes)
{
    inforce[0] = first[0] = '\0';
    *changes = 0;
    for (size_t off = 0; plans && strlen(plans + off) >= 20; off += 20) {
        if (memcmp(plans + off, date, 10) > 0)
            continue;   /* a plan made after date: not in force yet */
        const char *dl = plans + off + 10;
        if (!first[0]) {
            memcpy(first, dl, 10);
            first[10] = '\0';
        } else if (memcmp(inforce, dl, 10) != 0) {
            (*changes)++;
        }
        memcpy(inforce, dl, 10);
        inforce[10] = '\0';
    }
}

void
wq_fold_problem_at(const wq_fold_state_t *st, const char *date, bool *overdue, bool *on_time,
                   bool *late)
{
    char inforce[11], first[11], last[11] = "";
    int changes;
    *overdue = *on_time = *late = false;
    if (st->kind != 'P' || !st->exists || strcmp(date, st->date) < 0)
        return;
    size_t len = st->toggles ? strlen(st->toggles) : 0, k = 0;
    for (size_t off = 0; off + 10 <= len; off += 10)
        if (memcmp(st->toggles + off, date, 10) <= 0) {
            k++;
            memcpy(last, st->toggles + off, 10);
            last[10] = '\0';
        }
    if (k % 2 == 0) {
        wq_fold_deadline_at(st->plans, date, inforce, first, &changes);
        *overdue = inforce[0] && strcmp(inforce, date) < 0;
        return;
    }
    wq_fold_deadline_at(st->plans, last, inforce, first, &changes);
    if (inforce[0] && strcmp(last, inforce) > 0)
        *late = true;
    else
        *on_time = true;
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

/*  The area index: an 'A' mark (marks.h) per existing problem and
    enterprise, keyed by its kind and county, so that the ledger and the
    enterprise search of a city or county walk only that area's entities
    (collector/ledger.c). Being a mark, ingest keeps it and verify checks
    it with the others. */
static void
s_area_mark(const char *entity, const wq_fold_state_t *st, wq_marks_t *ms)
{
    if (!st->exists || (entity[0] != 'P' && entity[0] != 'E') || strlen(st->county) != 6)
        return;
    char kind[2] = {entity[0], '\0'};
    wq_marks_add(ms, 1, "A", kind, st->county, entity, NULL);
}

int
wq_fold_compute(const char *entity, wq_fold_item_t *items, size_t n, wq_fold_state_t *st,
                wq_err_t *err)
{
    return wq_fold_compute_owned(entity, items, n, NULL, 0, st, err);
}

int
wq_fold_compute_owned(const char *entity, wq_fold_item_t *items, size_t n,
                      const wq_fold_transfer_t *transfers, size_t ntransfers,
                      wq_fold_state_t *st, wq_err_t *err)
{
    s_contribs_t cs = {0};
    wq_marks_t ms = {0};
    char owner[7];
    memset(st, 0, sizeof *st);
    st->kind = entity[0];
    if (n > 1)
        qsort(items, n, sizeof *items, s_cmp_items);
    if (s_apply_modifiers(items, n) != WQ_OK)
        goto oom;
    /* Corrections may have changed dates: order again. */
    if (n > 1)
        qsort(items, n, sizeof *items, s_cmp_items);
    if (s_apply_ownership(entity, items, n, transfers, ntransfers, st, owner) != WQ_OK)
        goto oom;
    if (n > 0) {
        /* The last event in fold order: a later one may be applied alone. */
        const wq_record_t *l = items[n - 1].rec;
        memcpy(st->last_date, l->date, sizeof st->last_date);
        memcpy(st->last_agent, l->agent, sizeof st->last_agent);
        st->last_inc = l->inc;
        st->last_seq = l->seq;
    }
    for (size_t i = 0; i < n; i++)
        if (items[i].effect == WQ_EFFECT_FOREIGN)
            s_add(&cs, items[i].rec->county, items[i].rec->date, WQ_M_FOREIGN,
                  (unsigned) items[i].rec->type);
    const char *own = entity + 2;
    if (entity[0] == 'E')
        s_fold_enterprise(items, n, st, &cs, &ms, owner);
    else if (entity[0] == 'P')
        s_fold_problem(entity, items, n, st, &cs, &ms);
    else if (entity[0] == 'C')
        s_fold_consultation(own, items, n, st, &cs);
    /* Plans, progress or answers waiting for their problem or consultation
       (foreign ones count nowhere): listed by the waiting query. */
    bool opener = false;
    const wq_record_t *first = NULL;
    int64_t waiting = 0;
    for (size_t i = 0; i < n; i++) {
        opener = opener || strcmp(items[i].id, own) == 0;
        if (items[i].effect != WQ_EFFECT_FOREIGN) {
            waiting++;
            if (!first)
                first = items[i].rec;
        }
    }
    if ((entity[0] == 'P' || entity[0] == 'C') && !opener && first)
        wq_marks_add(&ms, waiting, "W", first->county, entity, NULL);
    s_area_mark(entity, st, &ms);
    if (cs.oom || ms.oom)
        goto oom;
    st->ncontribs = wq_contrib_normalize(cs.c, cs.n);
    st->contribs = cs.c;
    st->nmarks = wq_marks_normalize(ms.m, ms.n);
    st->marks = ms.m;
    return WQ_OK;
oom:
    free(cs.c);
    wq_marks_free(&ms);
    wq_fold_state_clear(st);
    return wq_err_set(err, WQ_E_NOMEM, "fold", _("out of memory folding %s"), entity);
}

/*  ---- incremental fold --------------------------------------------------- */

/*  Contributions of old that depend on each event (kept as they are when
    one more event is applied): everything but what the entity's state
    alone gives (s_ent_derived, s_problem_derived). */
static bool
s_kept_metric(char kind, int metric)
{
    if (metric == WQ_M_FOREIGN)
        return true;
    if (kind == 'E')
        return metric == WQ_M_VISITS || metric == WQ_M_SERVICES;
    if (kind == 'P')
        return metric == WQ_M_PROBLEMS || metric == WQ_M_PLANS;
    return true;
}

/*  Whether wq_fold_append may apply rec to st (see fold.h). */
static bool
s_appendable(const char *entity, const wq_fold_state_t *st, const wq_record_t *rec,
             size_t ntransfers)
{
    if (s_is_modifier(rec) || !st->exists || st->kind != entity[0] || !st->last_date[0])
        return false;
    if (wq_record_fold_cmp_key(rec->date, rec->agent, rec->inc, rec->seq, st->last_date,
                               st->last_agent, st->last_inc, st->last_seq) <= 0)
        return false;
    if (entity[0] != 'E')
        return true;
    /* The first registration decides the owner; a transfer moves it by date;
       a visit on the last date may join a group of double entries. */
    if (ntransfers > 0 || (rec->type == WQ_REC_ENTERPRISE && !st->month[0]))
        return false;
    return !(rec->type == WQ_REC_VISIT && strcmp(rec->date, st->last_date) == 0);
}

int
wq_fold_append(const char *entity, wq_fold_state_t *st, const wq_record_t *rec, const char *id,
               size_t ntransfers, bool *applied, wq_err_t *err)
{
    s_contribs_t cs = {0};
    wq_marks_t ms = {0};
    wq_buf_t plans = {0}, tog = {0};
    *applied = false;
    if (!s_appendable(entity, st, rec, ntransfers))
        return WQ_OK;
    *applied = true;
    /* Contributions that depend on each event stay; the rest is made again
       from the new state below. */
    for (size_t i = 0; i < st->ncontribs && !cs.oom; i++) {
        if (!s_kept_metric(st->kind, st->contribs[i].key[13]))
            continue;
        if (s_room(&cs))
            cs.c[cs.n++] = st->contribs[i];
    }
    /* Marks stay too, but a problem's overdue and rectification spells
       ('O', 'R'), made again from its history. */
    for (size_t i = 0; i < st->nmarks; i++) {
        if (st->kind == 'P' && st->marks[i].len > 0 &&
            (st->marks[i].key[0] == 'O' || st->marks[i].key[0] == 'R'))
            continue;
        if (ms.n == ms.cap) {
            size_t ncap = ms.cap ? ms.cap * 2 : 16;
            wq_mark_t *nm = realloc(ms.m, ncap * sizeof *nm);
            if (!nm) {
                ms.oom = true;
                break;
            }
            ms.m = nm;
            ms.cap = ncap;
        }
        ms.m[ms.n++] = st->marks[i];
    }
    if (strcmp(rec->county, st->county) != 0) {
        /* From another county than the owner's (no transfer here): foreign,
           it counts only in the sender's foreign counter. */
        if (s_list_foreign(rec, id, st->county, st) != WQ_OK)
            cs.oom = true;
        s_add(&cs, rec->county, rec->date, WQ_M_FOREIGN, (unsigned) rec->type);
        if (st->kind == 'E')
            s_ent_derived(st, &cs);
        else if (st->kind == 'P')
            s_problem_derived(entity, st, &cs, &ms);
    } else if (st->kind == 'E') {
        s_ent_event(rec, st, &cs, &ms);
        s_ent_derived(st, &cs);
    } else if (st->kind == 'P') {
        if (st->plans)
            wq_buf_put(&plans, st->plans, strlen(st->plans));
        if (st->toggles)
            wq_buf_put(&tog, st->toggles, strlen(st->toggles));
        s_problem_event(rec, st, &plans, &tog, &cs);
        s_take_history(&tog, &st->toggles, &cs);
        s_take_history(&plans, &st->plans, &cs);
        if (!cs.oom)
            s_problem_derived(entity, st, &cs, &ms);
    } else if (st->kind == 'C' && rec->type == WQ_REC_ANSWER && !st->answered) {
        /* The first answer in fold order. */
        int32_t days = wq_date_days(rec->date) - wq_date_days(st->date);
        if (days < 0)
            days = 0;
        if (days > 65535)
            days = 65535;
        st->answered = 1;
        s_add(&cs, st->county, st->month, WQ_M_ANSWERED, 0);
        s_add(&cs, st->county, st->month, WQ_M_ANSWER_DAYS, (unsigned) days);
    }
    if (cs.oom || ms.oom)
        goto oom;
    memcpy(st->last_date, rec->date, sizeof st->last_date);
    memcpy(st->last_agent, rec->agent, sizeof st->last_agent);
    st->last_inc = rec->inc;
    st->last_seq = rec->seq;
    free(st->contribs);
    st->ncontribs = wq_contrib_normalize(cs.c, cs.n);
    st->contribs = cs.c;
    free(st->marks);
    st->nmarks = wq_marks_normalize(ms.m, ms.n);
    st->marks = ms.m;
    wq_buf_free(&plans);
    wq_buf_free(&tog);
    return WQ_OK;
oom:
    free(cs.c);
    wq_marks_free(&ms);
    wq_buf_free(&plans);
    wq_buf_free(&tog);
    return wq_err_set(err, WQ_E_NOMEM, "fold", _("out of memory folding %s"), entity);
}

int
wq_fold_entity(MDB_txn *txn, wq_central_t *c, const char *entity, wq_fold_state_t *st, wq_err_t *err)
{
    wq_fold_item_t *items = NULL;
    wq_fold_transfer_t *tr = NULL;
    size_t n = 0, ntr = 0;
    memset(st, 0, sizeof *st);
    int rc = wq_fold_load(txn, c, entity, &items, &n, err);
    if (rc == WQ_OK)
        rc = wq_fold_transfers_load(txn, c, entity, &tr, &ntr, err);
    if (rc == WQ_OK)
        rc = wq_fold_compute_owned(entity, items, n, tr, ntr, st, err);
    wq_fold_items_free(&items, n);
    free(tr);
    return rc;
}

void
wq_fold_state_clear(wq_fold_state_t *st)
{
    if (!st)
        return;
    free(st->contribs);
    free(st->toggles);
    free(st->plans);
    free(st->marks);
    free(st->foreign);
    memset(st, 0, sizeof *st);
}

/*  ---- blobs ------------------------------------------------------------- */

/*  Version 3: foreign events (issue 10), deadline history, rectification
    day, grade and marks (issue 14). The store format version (central.c)
    keeps older stores out; version 3 is still read, for the upgrade of
    format-2 stores at open (central.c). Version 4 adds what an
    incremental fold needs (wq_fold_append): the fold-order key
    of the last event and, for an enterprise, its groups and the months of
    its first visit, class and grade. */
#define S_STATE_VERSION 4

/*  Version 4 writes counts and tallies as varints (7 bits a byte, low
    first; signed ones zigzag): most are small, and states are rewritten
    at every fold. One value has one encoding, so states stay comparable
    byte for byte. */
static void
s_put_uv(wq_buf_t *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;
    do {
        uint8_t c = (uint8_t) (v & 0x7f);
        v >>= 7;
        t[n++] = (uint8_t) (c | (v ? 0x80 : 0));
    } while (v);
    wq_buf_put(b, t, n);
}

static void
s_put_sv(wq_buf_t *b, int64_t v)
{
    s_put_uv(b, ((uint64_t) v << 1) ^ (uint64_t) (v >> 63));
}

/*  Read an unsigned value: a varint in version 4, be64 in version 3. */
static uint64_t
s_get_uv(wq_rd_t *r, int version)
{
    if (version == 3)
        return wq_rd_u64(r);
    uint64_t v = 0;
    for (int sh = 0; sh < 64; sh += 7) {
        uint8_t c = wq_rd_u8(r);
        if (r->bad)
            return 0;
        v |= (uint64_t) (c & 0x7f) << sh;
        if (!(c & 0x80))
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t
s_get_sv(wq_rd_t *r, int version)
{
    if (version == 3)
        return (int64_t) wq_rd_u64(r);
    uint64_t u = s_get_uv(r, version);
    return (int64_t) (u >> 1) ^ -(int64_t) (u & 1);
}

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
    wq_buf_str(out, st->plans ? st->plans : "");
    wq_buf_str(out, st->rect_date);
    wq_buf_u8(out, (uint8_t) st->grade);
    s_put_uv(out, st->ncontribs);
    for (size_t i = 0; i < st->ncontribs; i++) {
        wq_buf_put(out, st->contribs[i].key, WQ_VKEY_LEN);
        s_put_sv(out, st->contribs[i].n);
    }
    s_put_uv(out, st->nmarks);
    for (size_t i = 0; i < st->nmarks; i++) {
        wq_buf_u8(out, st->marks[i].len);
        wq_buf_put(out, st->marks[i].key, st->marks[i].len);
        s_put_sv(out, st->marks[i].n);
    }
    s_put_uv(out, st->nforeign);
    wq_buf_u8(out, (uint8_t) st->nforeign_listed);
    for (size_t i = 0; i < st->nforeign_listed; i++) {
        const wq_fold_foreign_t *f = &st->foreign[i];
        wq_buf_str(out, f->id);
        wq_buf_str(out, f->county);
        wq_buf_str(out, f->owner);
        wq_buf_str(out, f->date);
        wq_buf_u8(out, f->type);
    }
    wq_buf_str(out, st->last_date);
    wq_buf_str(out, st->last_agent);
    uint8_t inc[4] = {(uint8_t) (st->last_inc >> 24), (uint8_t) (st->last_inc >> 16),
                      (uint8_t) (st->last_inc >> 8), (uint8_t) st->last_inc};
    wq_buf_put(out, inc, 4);
    s_put_uv(out, st->last_seq);
    wq_buf_u8(out, (uint8_t) st->focus);
    wq_buf_u8(out, st->above);
    wq_buf_str(out, st->visit_month);
    wq_buf_str(out, st->class_month);
    wq_buf_str(out, st->grade_month);
}

int
wq_fold_state_decode(const void *data, size_t size, wq_fold_state_t *st, wq_err_t *err)
{
    wq_rd_t r = {data, size, 0, false};
    memset(st, 0, sizeof *st);
    uint8_t version = wq_rd_u8(&r);
    /* Version 3 (format-2 stores) is read for the upgrade at open: it lacks
       the incremental fold's key, so such a state is folded in full. */
    if (version != S_STATE_VERSION && version != 3)
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
    st->plans = wq_rd_strdup(&r);
    if (!st->plans && !r.bad)
        goto nomem;
    if (st->plans && !st->plans[0]) {
        free(st->plans);
        st->plans = NULL;
    }
    wq_rd_str(&r, st->rect_date, sizeof st->rect_date);
    st->grade = wq_rd_u8(&r);
    uint64_t nc = s_get_uv(&r, version);
    if (r.bad || nc > (size - r.off) / (WQ_VKEY_LEN + 1))
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
        st->contribs[i].n = s_get_sv(&r, version);
    }
    st->ncontribs = (size_t) nc;
    uint64_t nm = s_get_uv(&r, version);
    if (r.bad || nm > (size - r.off) / 2)
        goto bad;
    if (nm) {
        st->marks = calloc((size_t) nm, sizeof *st->marks);
        if (!st->marks)
            goto nomem;
    }
    for (uint64_t i = 0; i < nm; i++) {
        uint8_t len = wq_rd_u8(&r);
        const uint8_t *k = len <= WQ_MARK_MAX ? wq_rd_bytes(&r, len) : NULL;
        if (!k)
            goto bad;
        memcpy(st->marks[i].key, k, len);
        st->marks[i].len = len;
        st->marks[i].n = s_get_sv(&r, version);
    }
    st->nmarks = (size_t) nm;
    if (version >= 2) {
        st->nforeign = s_get_uv(&r, version);
        size_t nl = wq_rd_u8(&r);
        if (r.bad || nl > WQ_FOLD_FOREIGN_MAX || nl > st->nforeign)
            goto bad;
        if (nl) {
            st->foreign = calloc(WQ_FOLD_FOREIGN_MAX, sizeof *st->foreign);
            if (!st->foreign)
                goto nomem;
        }
        for (size_t i = 0; i < nl; i++) {
            wq_fold_foreign_t *f = &st->foreign[i];
            wq_rd_str(&r, f->id, sizeof f->id);
            wq_rd_str(&r, f->county, sizeof f->county);
            wq_rd_str(&r, f->owner, sizeof f->owner);
            wq_rd_str(&r, f->date, sizeof f->date);
            f->type = wq_rd_u8(&r);
        }
        st->nforeign_listed = nl;
    }
    if (version == 3)
        goto end;
    wq_rd_str(&r, st->last_date, sizeof st->last_date);
    wq_rd_str(&r, st->last_agent, sizeof st->last_agent);
    const uint8_t *inc = wq_rd_bytes(&r, 4);
    if (inc)
        st->last_inc = (uint32_t) inc[0] << 24 | (uint32_t) inc[1] << 16 |
                       (uint32_t) inc[2] << 8 | inc[3];
    st->last_seq = s_get_uv(&r, version);
    st->focus = wq_rd_u8(&r);
    st->above = wq_rd_u8(&r) != 0;
    wq_rd_str(&r, st->visit_month, sizeof st->visit_month);
    wq_rd_str(&r, st->class_month, sizeof st->class_month);
    wq_rd_str(&r, st->grade_month, sizeof st->grade_month);
end:
    if (r.bad || r.off != size)
        goto bad;
    return WQ_OK;
nomem:
    wq_fold_state_clear(st);
    return wq_err_set(err, WQ_E_NOMEM, "states", _("out of memory reading an entity state"));
bad:
    wq_fold_state_clear(st);
    return wq_err_set(err, WQ_E_CORRUPT, "states",
                      _("a stored entity state is malformed: run verify, rebuild from the agents"));
}
