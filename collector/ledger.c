/*  =========================================================================
    ledger - problems, enterprises and pending references as tables

    "problems" and "enterprises" walk the area index (the 'A' marks,
    marks.h: kind + county + entity key, kept by ingest and checked by
    verify like every mark) from the area's prefix, so a county's or a
    city's ledger reads only its own entities' folded states (no event is
    read); a problem's enterprise name is one more get. A problem's status
    "as of" a date is its status after the progress recorded on or before
    that date: the current one unless the problem has events after it,
    else a fold of its events (s_status_asof). "pending" walks the pending
    table and names each waiting event's stream county. See ledger.h and
    docs/STORE.md.
    =========================================================================
*/
#include "collector/ledger.h"
#include "common/i18n.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "collector/fold.h"
#include "common/date.h"
#include "common/division.h"
#include "common/record.h"
#include "common/store.h"

#define S_MAX_ENTERPRISES 2000

typedef struct {
    const char *key;
    const char *value;
} s_kv_t;

/*  Parameters: each key must be in allowed (NULL-terminated); values go
    to vals in the same order. */
static int
s_params(const char *query, const wq_param_t *p, size_t n, const char *const *allowed,
         const char **vals, wq_err_t *err)
{
    size_t na = 0;
    while (allowed[na])
        vals[na++] = NULL;
    for (size_t i = 0; i < n; i++) {
        const char *k = p[i].key ? p[i].key : "";
        size_t j = 0;
        while (j < na && strcmp(allowed[j], k) != 0)
            j++;
        if (j == na)
            return wq_err_set(err, WQ_E_UNKNOWN, k, _("query %s takes no parameter \"%s\""), query, k);
        vals[j] = p[i].value ? p[i].value : "";
    }
    return WQ_OK;
}

/*  As queries.c: 130000 -> "13", 130100 -> "1301", 2/4-digit prefixes too. */
static int
s_area_prefix(const char *area, char prefix[7], wq_err_t *err)
{
    size_t n = area ? strlen(area) : 0;
    if (!area || (n != 2 && n != 4 && n != 6) || strspn(area, "0123456789") != n)
        return wq_err_set(err, WQ_E_FORMAT, "area", _("area \"%s\" is not a GB/T 2260 code"),
                          area ? area : "");
    memcpy(prefix, area, n + 1);
    while (n > 2 && prefix[n - 1] == '0' && prefix[n - 2] == '0')
        prefix[n -= 2] = '\0';
    return WQ_OK;
}

static int
s_enum_param(wq_field_t f, const char *v, int *out, wq_err_t *err)
{
    *out = 0;
    if (!v || !*v)
        return WQ_OK;
    *out = wq_enum_parse(f, v);
    if (!*out)
        return wq_err_set(err, WQ_E_FORMAT, wq_field_name(f), _("%s \"%s\" is not a known value"),
                          wq_field_name(f), v);
    return WQ_OK;
}

static int
s_state(MDB_txn *txn, wq_central_t *c, const char *entity, wq_fold_state_t *st, bool *found,
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

static const char *
s_name(const char *code)
{
    const wq_division_t *d = wq_division_find(code);
    return d ? d->name : NULL;
}

/*  Set cells, remembering the first failure (always NOMEM). */
static void
s_str(wq_table_t *t, size_t r, size_t col, const char *s, int *rc)
{
    if (*rc == WQ_OK && wq_table_set_str(t, r, col, s) != WQ_OK)
        *rc = WQ_E_NOMEM;
}

static void
s_int(wq_table_t *t, size_t r, size_t col, int64_t v, int *rc)
{
    if (*rc == WQ_OK && wq_table_set_int(t, r, col, v) != WQ_OK)
        *rc = WQ_E_NOMEM;
}

/*  ---- snapshots: a long walk in short read transactions ------------------

    A walk reads at most s_chunk index entries in one snapshot; then it
    copies the key it is at, closes its cursor, resets and renews the read
    transaction (mdb_txn_reset / mdb_txn_renew: the reader slot is kept, the
    snapshot is the newest commit) and goes on from the next key. LMDB can
    reuse the pages freed since a snapshot only once no reader holds it, so
    a page that walks 85 000 problems no longer pins the writer's free pages
    for the whole walk (docs/DASHBOARD.md). What a list then gives: every row
    is read whole in one snapshot (a problem with its status, deadline and
    enterprise name), rows come in key order, none twice; a row that exists
    from the start to the end of the walk is in it; a row added or changed
    during the walk may or may not be, or may show its newer state. A write
    transaction is never reset (mdb_txn_reset ignores it, mdb_txn_renew
    refuses it with EINVAL): the walk then simply goes on in it. */
static atomic_size_t s_chunk = WQ_LEDGER_CHUNK_DEFAULT;
static atomic_ullong s_renewals;

void
wq_ledger_set_chunk(size_t entries)
{
    atomic_store(&s_chunk, entries);
}

uint64_t
wq_ledger_renewals(void)
{
    return (uint64_t) atomic_load(&s_renewals);
}

static void (*s_between)(void *);
static void *s_between_arg;

void
wq_ledger_set_between(void (*fn)(void *), void *arg)
{
    s_between = fn;
    s_between_arg = arg;
}

/*  Close *cur, take a fresh snapshot in txn, open *cur on dbi again. If
    the collector (another process) grew the map and the data now reach
    beyond this process's mapping, the renewal fails with MDB_MAP_RESIZED
    (the transaction is left reset): adopt the new size under the map
    lock, as wq_central_query does before it begins, and renew again. */
static int
s_renew(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **cur, wq_err_t *err)
{
    mdb_cursor_close(*cur);
    *cur = NULL;
    mdb_txn_reset(txn);
    if (s_between)
        s_between(s_between_arg);
    int mrc = mdb_txn_renew(txn);
    if (mrc == MDB_MAP_RESIZED) {
        /* Re-mapping needs every other reader of this process out: the
           map lock (common/store.h) waits for them; this thread's own
           transaction is reset, so it holds no snapshot meanwhile. */
        mrc = wq_store_adopt_mapsize(mdb_txn_env(txn));
        if (mrc != 0)
            return wq_store_err(mrc, "mdb_env_set_mapsize", err);
        mrc = mdb_txn_renew(txn);
    }
    if (mrc == 0)
        atomic_fetch_add(&s_renewals, 1);
    else if (mrc != EINVAL)   /* EINVAL: a write transaction, left as it was */
        return wq_store_err(mrc, "mdb_txn_renew", err);
    mrc = mdb_cursor_open(txn, dbi, cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open", err);
    return WQ_OK;
}

/*  After `done` entries of a walk at key (klen bytes, copied by the caller
    to a buffer of its own): if a chunk is full, a fresh snapshot and the
    cursor on the first key after it (*mrc: that get's result), and true;
    else false (the caller steps with MDB_NEXT). */
static bool
s_chunk_end(MDB_txn *txn, MDB_dbi dbi, MDB_cursor **cur, size_t done, const void *key,
            size_t klen, MDB_val *k, MDB_val *v, int *mrc, int *rc, wq_err_t *err)
{
    size_t chunk = atomic_load(&s_chunk);
    if (!chunk || done % chunk != 0)
        return false;
    if ((*rc = s_renew(txn, dbi, cur, err)) != WQ_OK)
        return true;
    *k = (MDB_val){klen, (void *) key};
    *mrc = mdb_cursor_get(*cur, k, v, MDB_SET_RANGE);
    if (*mrc == 0 && k->mv_size == klen && memcmp(k->mv_data, key, klen) == 0)
        *mrc = mdb_cursor_get(*cur, k, v, MDB_NEXT);
    return true;
}

/*  Walk the states of the entities of kind ('P' / 'E') under the area
    prefix, from the area index ('A' marks: 'A' kind county(6) entity),
    calling fn on each decoded, existing state until it returns non-OK;
    in snapshots of s_chunk entries. */
typedef int (*s_visit_fn)(MDB_txn *txn, wq_central_t *c, const char *entity,
                          const wq_fold_state_t *st, void *arg, wq_err_t *err);

static int
s_walk(MDB_txn *txn, wq_central_t *c, char kind, const char *prefix, s_visit_fn fn, void *arg,
       wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    int rc = WQ_OK;
    char start[9], last[8 + WQ_ENTITY_MAX];
    size_t plen = strlen(prefix), done = 0;
    int mrc = mdb_cursor_open(txn, c->marks, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(marks)", err);
    start[0] = 'A';
    start[1] = kind;
    memcpy(start + 2, prefix, plen);
    MDB_val k = {2 + plen, start}, v;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == 0 && rc == WQ_OK) {
        if (k.mv_size < 2 + plen || memcmp(k.mv_data, start, 2 + plen) != 0)
            break;
        if (k.mv_size < 11 || k.mv_size > 8 + WQ_ENTITY_MAX) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "marks", _("an area mark is malformed: run verify"));
            break;
        }
        size_t klen = k.mv_size;
        memcpy(last, k.mv_data, klen);
        char entity[WQ_ENTITY_MAX + 1];
        memcpy(entity, last + 8, klen - 8);
        entity[klen - 8] = '\0';
        wq_fold_state_t st;
        bool found = false;
        rc = s_state(txn, c, entity, &st, &found, err);
        if (rc == WQ_OK && !found)
            rc = wq_err_set(err, WQ_E_CORRUPT, "marks",
                            _("the area index names %s, which has no state: run verify"), entity);
        if (rc == WQ_OK && st.exists)
            rc = fn(txn, c, entity, &st, arg, err);
        wq_fold_state_clear(&st);
        if (rc == WQ_OK && !s_chunk_end(txn, c->marks, &cur, ++done, last, klen, &k, &v, &mrc, &rc, err))
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(marks)", err);
    if (cur)
        mdb_cursor_close(cur);
    return rc;
}

/*  The status of a problem at the end of day asof: that of its last
    effective progress (in fold order) dated on or before asof, open if
    none ("reopened" counts as open), as the fold computes the current
    one (docs/STORE.md §3). It is the current status when no event of the
    problem is dated after asof (the last entry of the entity index: the
    dates as recorded); otherwise the problem's events are folded again
    (corrections applied as the current state has them, so that it agrees
    with the resolution toggles the overdue rule reads). */
static int
s_status_asof(MDB_txn *txn, wq_central_t *c, const char *entity, const wq_fold_state_t *ps,
              const char *asof, int *status, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    wq_fold_item_t *items = NULL;
    wq_fold_state_t tmp;
    size_t n = 0;
    int rc = WQ_OK;
    memset(&tmp, 0, sizeof tmp);
    *status = ps->status;
    int mrc = mdb_cursor_open(txn, c->entities, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(entities)", err);
    MDB_val k = {strlen(entity), (void *) entity}, v;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET);
    if (mrc == 0)
        mrc = mdb_cursor_get(cur, &k, &v, MDB_LAST_DUP);
    mdb_cursor_close(cur);
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return wq_store_err(mrc, "mdb_cursor_get(entities)", err);
    if (mrc == MDB_NOTFOUND || v.mv_size < 10 || memcmp(v.mv_data, asof, 10) <= 0)
        return WQ_OK;
    if ((rc = wq_fold_load(txn, c, entity, &items, &n, err)) != WQ_OK ||
        (rc = wq_fold_compute(entity, items, n, &tmp, err)) != WQ_OK)
        goto done;
    *status = WQ_STATUS_OPEN;
    for (size_t i = 0; i < n; i++) {
        const wq_record_t *r = items[i].rec;
        if ((items[i].effect != WQ_EFFECT_EFFECTIVE && items[i].effect != WQ_EFFECT_CORRECTED) ||
            r->type != WQ_REC_PROGRESS || strcmp(r->date, asof) > 0)
            continue;
        int st = r->status == WQ_STATUS_REOPENED ? WQ_STATUS_OPEN : (int) r->status;
        if (st >= WQ_STATUS_OPEN && st <= WQ_STATUS_VERIFIED)
            *status = st;
    }
done:
    wq_fold_state_clear(&tmp);
    wq_fold_items_free(&items, n);
    return rc;
}

/*  ---- problems ----------------------------------------------------------- */

/*  Enterprise names met in one walk: many problems share an enterprise,
    whose folded state (all its visits' contributions and marks) is far
    bigger than a problem's. Direct-mapped by a hash of the credit code; a
    collision just reads the state again. */
#define S_NAMES 4096
typedef struct {
    char code[19];
    bool found;                 /* the enterprise has a state with a name */
    char name[208];
} s_name_t;
typedef struct {
    s_name_t slot[S_NAMES];
} s_names_t;

static s_name_t *
s_name_slot(s_names_t *names, const char *code)
{
    uint32_t h = 2166136261u;
    for (const char *p = code; *p; p++)
        h = (h ^ (uint8_t) *p) * 16777619u;
    return &names->slot[h % S_NAMES];
}

typedef struct {
    wq_table_t *t;
    char prefix[7];
    char asof[11];
    int status, category, severity;
    int overdue;          /* -1 any, 0 not overdue, 1 overdue */
    const char *ent;
    s_names_t *names;     /* enterprise names already read (may be NULL: no cache) */
} s_problems_t;

static int
s_problem_row(MDB_txn *txn, wq_central_t *c, const char *entity, const wq_fold_state_t *ps,
              void *arg, wq_err_t *err)
{
    s_problems_t *q = arg;
    if (strncmp(ps->county, q->prefix, strlen(q->prefix)) != 0 || strcmp(ps->date, q->asof) > 0)
        return WQ_OK;
    if ((q->category && ps->category != q->category) ||
        (q->severity && ps->severity != q->severity) || (q->ent && strcmp(q->ent, ps->ent) != 0))
        return WQ_OK;
    int status = ps->status;
    int rc = s_status_asof(txn, c, entity, ps, q->asof, &status, err);
    if (rc != WQ_OK)
        return rc;
    if (q->status && status != q->status)
        return WQ_OK;
    /* The one definition of overdue (docs/STORE.md §3): the deadline in
       force on asof, not the latest one. */
    char inforce[11], first[11];
    int changes = 0;
    wq_fold_deadline_at(ps->plans, q->asof, inforce, first, &changes);
    bool overdue = inforce[0] && strcmp(inforce, q->asof) < 0 &&
                   !wq_fold_resolved_at(ps->toggles ? ps->toggles : "",
                                        ps->toggles ? strlen(ps->toggles) : 0, q->asof);
    if (q->overdue >= 0 && overdue != (q->overdue == 1))
        return WQ_OK;
    s_name_t *slot = q->names ? s_name_slot(q->names, ps->ent) : NULL;
    wq_fold_state_t es;
    bool ef = false;
    memset(&es, 0, sizeof es);
    if (slot && strcmp(slot->code, ps->ent) == 0) {
        ef = slot->found;
        es.exists = slot->found;
        snprintf(es.name, sizeof es.name, "%s", slot->name);
    } else {
        char ename[WQ_ENTITY_MAX + 1];
        snprintf(ename, sizeof ename, "E:%s", ps->ent);
        rc = s_state(txn, c, ename, &es, &ef, err);
        if (rc != WQ_OK)
            return rc;
        if (slot) {
            snprintf(slot->code, sizeof slot->code, "%s", ps->ent);
            slot->found = ef && es.exists && es.name[0];
            snprintf(slot->name, sizeof slot->name, "%s", slot->found ? es.name : "");
        }
    }
    size_t r;
    if (wq_table_add_row(q->t, &r) != WQ_OK)
        rc = WQ_E_NOMEM;
    s_str(q->t, r, 0, entity + 2, &rc);
    s_str(q->t, r, 1, ps->ent, &rc);
    s_str(q->t, r, 2, ef && es.exists && es.name[0] ? es.name : NULL, &rc);
    s_str(q->t, r, 3, ps->county, &rc);
    s_str(q->t, r, 4, s_name(ps->county), &rc);
    s_str(q->t, r, 5, wq_enum_name(WQ_F_CATEGORY, ps->category), &rc);
    s_str(q->t, r, 6, wq_enum_name(WQ_F_SEVERITY, ps->severity), &rc);
    s_str(q->t, r, 7, ps->date, &rc);
    s_str(q->t, r, 8, ps->deadline[0] ? ps->deadline : NULL, &rc);
    if (overdue)
        s_int(q->t, r, 9, wq_date_days(q->asof) - wq_date_days(inforce), &rc);
    s_str(q->t, r, 10, wq_enum_name(WQ_F_STATUS, status), &rc);
    s_str(q->t, r, 11, overdue ? "yes" : "no", &rc);
    wq_fold_state_clear(&es);
    if (rc != WQ_OK)
        return wq_err_set(err, WQ_E_NOMEM, "query", _("out of memory building the problems table"));
    return WQ_OK;
}

/*  overdue=yes: walk the overdue spells ('O' marks, marks.h) that start on
    or before asof and end after it, as the overdue query does, instead of
    every problem; the rows come in the order the spells started. */
static int
s_walk_overdue(MDB_txn *txn, wq_central_t *c, s_problems_t *q, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    int rc = WQ_OK;
    char last[34 + WQ_ENTITY_MAX];
    size_t done = 0;
    int mrc = mdb_cursor_open(txn, c->marks, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(marks)", err);
    MDB_val k = {1, "O"}, v;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    while (mrc == 0 && rc == WQ_OK) {
        if (((const char *) k.mv_data)[0] != 'O')
            break;
        if (k.mv_size < 36 || k.mv_size > 34 + WQ_ENTITY_MAX) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "marks", _("an overdue mark is malformed: run verify"));
            break;
        }
        size_t klen = k.mv_size;
        memcpy(last, k.mv_data, klen);
        const char *key = last;
        if (memcmp(key + 1, q->asof, 10) > 0)
            break;
        if (memcmp(key + 11, q->asof, 10) > 0 && strncmp(key + 21, q->prefix, strlen(q->prefix)) == 0) {
            char entity[WQ_ENTITY_MAX + 1];
            memcpy(entity, key + 34, klen - 34);
            entity[klen - 34] = '\0';
            wq_fold_state_t st;
            bool found = false;
            rc = s_state(txn, c, entity, &st, &found, err);
            if (rc == WQ_OK && found && st.exists)
                rc = s_problem_row(txn, c, entity, &st, q, err);
            wq_fold_state_clear(&st);
        }
        if (rc == WQ_OK && !s_chunk_end(txn, c->marks, &cur, ++done, last, klen, &k, &v, &mrc, &rc, err))
            mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(marks)", err);
    if (cur)
        mdb_cursor_close(cur);
    return rc;
}

int
wq_ledger_problems(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
                   wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"problem", "ent", "enterprise_name", "county",
                                       "county_name", "category", "severity", "opened",
                                       "deadline", "days_overdue", "status", "overdue"};
    static const char *const allowed[] = {"area", "asof", "status", "category", "severity",
                                          "overdue", "ent", NULL};
    const char *v[7];
    s_problems_t q = {.overdue = -1};
    *out = NULL;
    int rc = s_params("problems", params, nparams, allowed, v, err);
    if (rc == WQ_OK)
        rc = s_area_prefix(v[0] ? v[0] : "130000", q.prefix, err);
    if (rc == WQ_OK && v[1] && wq_date_check(v[1], err) != WQ_OK)
        rc = wq_err_set(err, WQ_E_FORMAT, "asof", _("asof \"%s\" is not a date YYYY-MM-DD"), v[1]);
    if (rc == WQ_OK)
        rc = s_enum_param(WQ_F_STATUS, v[2], &q.status, err);
    if (rc == WQ_OK)
        rc = s_enum_param(WQ_F_CATEGORY, v[3], &q.category, err);
    if (rc == WQ_OK)
        rc = s_enum_param(WQ_F_SEVERITY, v[4], &q.severity, err);
    if (rc == WQ_OK && v[5] && *v[5]) {
        if (strcmp(v[5], "yes") && strcmp(v[5], "no"))
            rc = wq_err_set(err, WQ_E_FORMAT, "overdue", _("overdue is yes or no, not \"%s\""), v[5]);
        q.overdue = strcmp(v[5], "yes") == 0;
    }
    if (rc != WQ_OK)
        return rc;
    if (v[1])
        snprintf(q.asof, sizeof q.asof, "%s", v[1]);
    else
        wq_date_today(q.asof);
    q.ent = v[6] && *v[6] ? v[6] : NULL;
    q.t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!q.t)
        return wq_err_set(err, WQ_E_NOMEM, "query", _("out of memory building the problems table"));
    q.names = calloc(1, sizeof *q.names);   /* without it, every row reads its enterprise */
    if (q.overdue == 1)
        rc = s_walk_overdue(txn, c, &q, err);
    else
        rc = s_walk(txn, c, 'P', q.prefix, s_problem_row, &q, err);
    free(q.names);
    if (rc == WQ_OK)
        *out = q.t;
    else
        wq_table_destroy(&q.t);
    return rc;
}

/*  ---- enterprises -------------------------------------------------------- */

typedef struct {
    wq_table_t *t;
    char prefix[7];
    const char *q;
    size_t limit;
} s_ents_t;

static int
s_ent_row(MDB_txn *txn, wq_central_t *c, const char *entity, const wq_fold_state_t *es, void *arg,
          wq_err_t *err)
{
    (void) txn;
    (void) c;
    s_ents_t *q = arg;
    if (strncmp(es->county, q->prefix, strlen(q->prefix)) != 0)
        return WQ_OK;
    if (q->q && !strstr(es->name, q->q) && strncmp(entity + 2, q->q, strlen(q->q)) != 0)
        return WQ_OK;
    if (wq_table_nrows(q->t) >= q->limit)
        return WQ_OK;
    size_t r;
    int rc = WQ_OK;
    if (wq_table_add_row(q->t, &r) != WQ_OK)
        rc = WQ_E_NOMEM;
    s_str(q->t, r, 0, entity + 2, &rc);
    s_str(q->t, r, 1, es->name[0] ? es->name : NULL, &rc);
    s_str(q->t, r, 2, es->county, &rc);
    s_str(q->t, r, 3, s_name(es->county), &rc);
    s_str(q->t, r, 4, es->month[0] ? es->month : NULL, &rc);
    s_str(q->t, r, 5, es->klass ? wq_enum_name(WQ_F_CLASS, es->klass) : NULL, &rc);
    if (rc != WQ_OK)
        return wq_err_set(err, WQ_E_NOMEM, "query", _("out of memory building the enterprises table"));
    return WQ_OK;
}

int
wq_ledger_enterprises(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
                      wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"ent", "name", "county", "county_name", "registered", "class"};
    static const char *const allowed[] = {"area", "q", "limit", NULL};
    const char *v[3];
    s_ents_t q = {.limit = S_MAX_ENTERPRISES};
    *out = NULL;
    int rc = s_params("enterprises", params, nparams, allowed, v, err);
    if (rc == WQ_OK)
        rc = s_area_prefix(v[0] ? v[0] : "130000", q.prefix, err);
    if (rc == WQ_OK && v[2]) {
        char *end;
        long n = strtol(v[2], &end, 10);
        if (*end || n < 1 || n > S_MAX_ENTERPRISES)
            rc = wq_err_set(err, WQ_E_FORMAT, "limit", _("limit is 1..%d, not \"%s\""),
                            S_MAX_ENTERPRISES, v[2]);
        q.limit = (size_t) n;
    }
    if (rc != WQ_OK)
        return rc;
    q.q = v[1] && *v[1] ? v[1] : NULL;
    q.t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!q.t)
        return wq_err_set(err, WQ_E_NOMEM, "query", _("out of memory building the enterprises table"));
    rc = s_walk(txn, c, 'E', q.prefix, s_ent_row, &q, err);
    if (rc == WQ_OK)
        *out = q.t;
    else
        wq_table_destroy(&q.t);
    return rc;
}

/*  ---- pending ------------------------------------------------------------ */

int
wq_ledger_pending(MDB_txn *txn, wq_central_t *c, const wq_param_t *params, size_t nparams,
                  wq_table_t **out, wq_err_t *err)
{
    static const char *const cols[] = {"waiting", "waiting_for", "agent", "county", "county_name"};
    static const char *const allowed[] = {"area", NULL};
    const char *v[1];
    char prefix[7];
    MDB_cursor *cur = NULL;
    wq_table_t *t = NULL;
    *out = NULL;
    int rc = s_params("pending", params, nparams, allowed, v, err);
    if (rc == WQ_OK)
        rc = s_area_prefix(v[0] ? v[0] : "130000", prefix, err);
    if (rc != WQ_OK)
        return rc;
    t = wq_table_new(sizeof cols / sizeof cols[0], cols);
    if (!t)
        return wq_err_set(err, WQ_E_NOMEM, "query", _("out of memory building the pending table"));
    int mrc = mdb_cursor_open(txn, c->pending, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(pending)", err);
        goto done;
    }
    MDB_val k, val;
    for (mrc = mdb_cursor_get(cur, &k, &val, MDB_FIRST); mrc == 0 && rc == WQ_OK;
         mrc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
        char target[WQ_EVENT_ID_MAX], waiting[WQ_EVENT_ID_MAX], agent[WQ_AGENT_ID_MAX + 1];
        uint32_t inc;
        uint64_t seq;
        if (!wq_ek_to_text(k.mv_data, k.mv_size, target) ||
            !wq_ek_to_text(val.mv_data, val.mv_size, waiting) ||
            !wq_ek_split(val.mv_data, val.mv_size, agent, &inc, &seq)) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "pending", _("a pending entry is malformed: run verify"));
            break;
        }
        uint8_t sk[WQ_AGENT_ID_MAX + 5];
        size_t an = strlen(agent);
        memcpy(sk, agent, an + 1);
        wq_be32_put(sk + an + 1, inc);
        MDB_val skv = {an + 5, sk}, sv;
        wq_stream_row_t row = {0};
        int grc = mdb_get(txn, c->streams, &skv, &sv);
        if (grc == 0 && wq_stream_decode(sv.mv_data, sv.mv_size, &row) != WQ_OK)
            grc = MDB_CORRUPTED;
        if (grc != 0 && grc != MDB_NOTFOUND) {
            rc = wq_store_err(grc, "mdb_get(streams)", err);
            break;
        }
        if (strncmp(row.county, prefix, strlen(prefix)) != 0)
            continue;
        size_t r;
        if (wq_table_add_row(t, &r) != WQ_OK)
            rc = WQ_E_NOMEM;
        s_str(t, r, 0, waiting, &rc);
        s_str(t, r, 1, target, &rc);
        s_str(t, r, 2, agent, &rc);
        s_str(t, r, 3, row.county, &rc);
        s_str(t, r, 4, s_name(row.county), &rc);
        if (rc != WQ_OK)
            rc = wq_err_set(err, WQ_E_NOMEM, "query", _("out of memory building the pending table"));
    }
    if (rc == WQ_OK && mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(pending)", err);
done:
    if (cur)
        mdb_cursor_close(cur);
    if (rc == WQ_OK)
        *out = t;
    else
        wq_table_destroy(&t);
    return rc;
}
