/*  =========================================================================
    verify - recompute everything derived from the events alone, in one
    pass, and compare it with what the store holds (verify.h)

    One read transaction, three steps:

      1. scan: every stored event, in key order, read and decoded once into
         an array sorted by event key (the map's order). Each event is then
         placed as ingest places it (docs/STORE.md "Ingest" 4): a base
         event in its own entity; a correction or retraction in its
         target's, following the chain through the array (at most
         S_RESOLVE_DEPTH links), or pending on the first missing target, or
         nowhere.
      2. the entity index, walked in its order (entity, then date + event
         key): each entry must name a stored event placed in that entity
         under its date. At the end of each entity its listed events, as
         already decoded, are folded (fold.h wq_fold_compute_owned) and the
         state compared with the stored one, walking `states` alongside;
         the state's counter contributions (at county, city and province)
         and marks are accumulated in memory. Then every placed event must
         have been listed; pending events and enterprise links are looked
         up, and the entry counts and totals compared.
      3. the accumulated counters and marks, merged, are compared with
         `views` and `marks` walked in key order, both ways.

    Nothing is read twice and no entity is loaded through the index: what
    used to cost a decode per event per pass plus a random read per event
    (wq_fold_load) is one sequential scan and one decode. The price is
    memory: every decoded event is held until the end (about 1 KiB each,
    1 GiB at 10^6 events).
    =========================================================================
*/
#include "collector/verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "collector/cstore.h"
#include "collector/fold.h"
#include "collector/marks.h"
#include "collector/views.h"
#include "common/store.h"

#define S_RESOLVE_DEPTH 8   /* as ingest: a longer chain, or a cycle, belongs nowhere */
#define S_NONE SIZE_MAX

typedef enum { S_UNPLACED = 0, S_RESOLVED = 1, S_PENDING = 2, S_ORPHAN = 3 } s_place_t;

/*  One stored event, decoded once. */
typedef struct {
    const uint8_t *ek;      /* its key, in the map: valid while the transaction lives */
    wq_record_t *rec;       /* owned; NULL if the stored bytes do not decode */
    size_t base;            /* S_RESOLVED: the base event whose entity it joins;
                               S_PENDING: the modifier whose target is missing */
    uint8_t eklen;
    uint8_t place;          /* s_place_t */
    bool seen;              /* listed in the entity index where it belongs */
} s_event_t;

/*  Expected counters and marks, accumulated over all entities. */
typedef struct {
    wq_contrib_t *c;
    size_t n, cap;
    wq_marks_t m;
} s_expect_t;

typedef struct {
    MDB_txn *txn;
    wq_central_t *c;
    wq_err_t *err;
    FILE *report;
    uint64_t ndiff;
    s_event_t *ev;          /* in event key order */
    size_t nev;
    s_expect_t e;
    wq_fold_item_t *items;  /* one entity's events (records borrowed from ev) */
    size_t nitems, icap;
    MDB_cursor *states;     /* walked alongside the entity index */
    bool states_end;
    MDB_val sk, sv;         /* the states cursor's current entry */
} s_verify_t;

static void s_diff(s_verify_t *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
s_diff(s_verify_t *v, const char *fmt, ...)
{
    v->ndiff++;
    if (!v->report)
        return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(v->report, fmt, ap);
    va_end(ap);
    fputc('\n', v->report);
}

static int
s_nomem(s_verify_t *v)
{
    return wq_err_set(v->err, WQ_E_NOMEM, "verify", "out of memory recomputing the views");
}

/*  LMDB's default key order: bytes, then the shorter first. */
static int
s_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
    int d = memcmp(a, b, alen < blen ? alen : blen);
    if (d)
        return d;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/*  The event stored under key ek, or S_NONE. */
static size_t
s_find(const s_verify_t *v, const void *ek, size_t len)
{
    size_t lo = 0, hi = v->nev;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int d = s_keycmp(v->ev[mid].ek, v->ev[mid].eklen, ek, len);
        if (d == 0)
            return mid;
        if (d < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return S_NONE;
}

static void
s_id(const void *ek, size_t len, char out[WQ_EVENT_ID_MAX])
{
    if (!wq_ek_to_text(ek, len, out))
        snprintf(out, WQ_EVENT_ID_MAX, "?");
}

static uint64_t
s_entries(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_stat st;
    return mdb_stat(txn, dbi, &st) == 0 ? (uint64_t) st.ms_entries : 0;
}

static int
s_meta(s_verify_t *v, const char *name, uint64_t *out)
{
    MDB_val k = {strlen(name), (void *) name}, d;
    *out = 0;
    int mrc = mdb_get(v->txn, v->c->meta, &k, &d);
    if (mrc == MDB_NOTFOUND)
        return WQ_OK;
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_get(meta)", v->err);
    if (d.mv_size != 8)
        return wq_err_set(v->err, WQ_E_CORRUPT, "meta", "meta value %s is malformed", name);
    *out = wq_be64_get(d.mv_data);
    return WQ_OK;
}

static bool
s_is_modifier(const wq_record_t *r)
{
    return r->type == WQ_REC_CORRECTION || r->type == WQ_REC_RETRACTION;
}

/*  ---- 1. scan ------------------------------------------------------------ */

static int
s_scan(s_verify_t *v)
{
    MDB_cursor *cur = NULL;
    size_t cap = (size_t) s_entries(v->txn, v->c->events) + 16;
    v->ev = malloc(cap * sizeof *v->ev);
    if (!v->ev)
        return s_nomem(v);
    int rc = WQ_OK;
    int mrc = mdb_cursor_open(v->txn, v->c->events, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(events)", v->err);
    MDB_val k, d;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        char agent[WQ_AGENT_ID_MAX + 1], id[WQ_EVENT_ID_MAX];
        uint32_t inc;
        uint64_t seq;
        if (!wq_ek_split(k.mv_data, k.mv_size, agent, &inc, &seq)) {
            s_diff(v, "events: a key of %zu bytes is not an event key", k.mv_size);
            continue;
        }
        if (v->nev == cap) {    /* only if the store grew under a reader: it cannot */
            size_t ncap = cap * 2;
            s_event_t *ne = realloc(v->ev, ncap * sizeof *ne);
            if (!ne) {
                rc = s_nomem(v);
                goto done;
            }
            v->ev = ne;
            cap = ncap;
        }
        s_event_t *e = &v->ev[v->nev++];
        memset(e, 0, sizeof *e);
        e->ek = k.mv_data;
        e->eklen = (uint8_t) k.mv_size;
        e->base = S_NONE;
        if (wq_record_decode(d.mv_data, d.mv_size, &e->rec, NULL) != WQ_OK) {
            e->rec = NULL;
            wq_event_id_format(agent, inc, seq, id);
            s_diff(v, "event %s: stored bytes do not decode", id);
        }
    }
    if (mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(events)", v->err);
done:
    mdb_cursor_close(cur);
    return rc;
}

/*  Place event i as ingest does: follow a correction or retraction's
    target chain through the stored events to a base event. */
static void
s_place(s_verify_t *v, size_t i)
{
    s_event_t *e = &v->ev[i];
    size_t cur = i;
    e->place = S_ORPHAN;
    for (int depth = 0; depth <= S_RESOLVE_DEPTH; depth++) {
        const wq_record_t *r = v->ev[cur].rec;
        if (!s_is_modifier(r)) {
            e->place = S_RESOLVED;
            e->base = cur;
            return;
        }
        if (depth == S_RESOLVE_DEPTH)
            return;
        uint8_t ek[WQ_EK_MAX];
        size_t eklen = wq_ek_from_text(r->target, ek);
        if (eklen == 0)
            return;
        size_t t = s_find(v, ek, eklen);
        if (t == S_NONE) {
            e->place = S_PENDING;
            e->base = cur;
            return;
        }
        if (!v->ev[t].rec) {
            char id[WQ_EVENT_ID_MAX];
            s_id(e->ek, e->eklen, id);
            s_diff(v, "event %s: its target %s does not decode", id, r->target);
            e->place = S_UNPLACED;
            return;
        }
        cur = t;
    }
}

/*  ---- 2. entities -------------------------------------------------------- */

static int
s_expect_contribs(s_expect_t *e, const wq_fold_state_t *st)
{
    if (e->n + 3 * st->ncontribs > e->cap) {
        e->n = wq_contrib_normalize(e->c, e->n);
        size_t need = e->n + 3 * st->ncontribs;
        if (need > e->cap / 2) {
            size_t ncap = e->cap ? e->cap : 4096;
            while (ncap < 2 * need)
                ncap *= 2;
            wq_contrib_t *nc = realloc(e->c, ncap * sizeof *nc);
            if (!nc)
                return WQ_E_NOMEM;
            e->c = nc;
            e->cap = ncap;
        }
    }
    for (size_t i = 0; i < st->ncontribs; i++) {
        wq_contrib_t *o = &e->c[e->n];
        o[0] = st->contribs[i];
        o[1] = st->contribs[i];
        o[2] = st->contribs[i];
        wq_vkey_rollup(st->contribs[i].key, WQ_LEVEL_CITY, o[1].key);
        wq_vkey_rollup(st->contribs[i].key, WQ_LEVEL_PROVINCE, o[2].key);
        e->n += 3;
    }
    return WQ_OK;
}

static int
s_expect_marks(s_expect_t *e, const wq_fold_state_t *st)
{
    for (size_t i = 0; i < st->nmarks; i++) {
        if (e->m.n == e->m.cap) {
            e->m.n = wq_marks_normalize(e->m.m, e->m.n);   /* merge before growing */
            if (e->m.n > e->m.cap / 2 || e->m.cap == 0) {
                size_t ncap = e->m.cap ? e->m.cap * 2 : 1024;
                wq_mark_t *nm = realloc(e->m.m, ncap * sizeof *nm);
                if (!nm)
                    return WQ_E_NOMEM;
                e->m.m = nm;
                e->m.cap = ncap;
            }
        }
        e->m.m[e->m.n++] = st->marks[i];
    }
    return WQ_OK;
}

static void
s_expect_free(s_expect_t *e)
{
    wq_marks_free(&e->m);
    free(e->c);
    memset(e, 0, sizeof *e);
}

static int
s_states_next(s_verify_t *v, MDB_cursor_op op)
{
    int mrc = mdb_cursor_get(v->states, &v->sk, &v->sv, op);
    if (mrc == MDB_NOTFOUND) {
        v->states_end = true;
        return WQ_OK;
    }
    return mrc ? wq_store_err(mrc, "mdb_cursor_get(states)", v->err) : WQ_OK;
}

/*  Stored states before entity (in key order) belong to no indexed
    entity; entity == NULL: all that are left. */
static int
s_states_stray(s_verify_t *v, const char *entity)
{
    size_t len = entity ? strlen(entity) : 0;
    while (!v->states_end && (!entity || s_keycmp(v->sk.mv_data, v->sk.mv_size, entity, len) < 0)) {
        s_diff(v, "entity %.*s: a stored state, but no event indexed", (int) v->sk.mv_size,
               (const char *) v->sk.mv_data);
        int rc = s_states_next(v, MDB_NEXT);
        if (rc != WQ_OK)
            return rc;
    }
    return WQ_OK;
}

/*  Fold one entity from its listed events; compare and accumulate. */
static int
s_entity_done(s_verify_t *v, const char *entity)
{
    wq_fold_transfer_t *tr = NULL;
    size_t ntr = 0;
    wq_fold_state_t st;
    wq_buf_t blob = {0};
    memset(&st, 0, sizeof st);
    int rc = wq_fold_transfers_load(v->txn, v->c, entity, &tr, &ntr, v->err);
    if (rc == WQ_OK)
        rc = wq_fold_compute_owned(entity, v->items, v->nitems, tr, ntr, &st, v->err);
    if (rc != WQ_OK)
        goto done;
    wq_fold_state_encode(&st, &blob);
    if (blob.oom || s_expect_contribs(&v->e, &st) != WQ_OK || s_expect_marks(&v->e, &st) != WQ_OK) {
        rc = s_nomem(v);
        goto done;
    }
    rc = s_states_stray(v, entity);
    if (rc != WQ_OK)
        goto done;
    size_t len = strlen(entity);
    if (v->states_end || s_keycmp(v->sk.mv_data, v->sk.mv_size, entity, len) != 0) {
        s_diff(v, "entity %s: no stored state", entity);
        goto done;
    }
    if (v->sv.mv_size != blob.len || memcmp(v->sv.mv_data, blob.data, blob.len) != 0)
        s_diff(v, "entity %s: stored state differs from a fresh fold", entity);
    rc = s_states_next(v, MDB_NEXT);
done:
    wq_fold_state_clear(&st);
    wq_buf_free(&blob);
    free(tr);
    v->nitems = 0;
    return rc;
}

/*  One entry of the entity index: entity -> date (10) + event key. */
static int
s_entry(s_verify_t *v, const char *entity, const MDB_val *d)
{
    if (d->mv_size <= 10) {
        s_diff(v, "entity %s: a malformed index entry (%zu bytes)", entity, d->mv_size);
        return WQ_OK;
    }
    const uint8_t *ek = (const uint8_t *) d->mv_data + 10;
    size_t eklen = d->mv_size - 10;
    size_t t = s_find(v, ek, eklen);
    char id[WQ_EVENT_ID_MAX];
    if (t == S_NONE) {
        s_id(ek, eklen, id);
        s_diff(v, "entity %s: indexes event %s, which is not stored", entity, id);
        return WQ_OK;
    }
    s_event_t *e = &v->ev[t];
    if (!e->rec)
        return WQ_OK;           /* reported by the scan */
    char own[WQ_ENTITY_MAX] = "";
    if (e->place == S_RESOLVED)
        wq_record_entity(v->ev[e->base].rec, own);
    if (strcmp(own, entity) != 0 || memcmp(d->mv_data, e->rec->date, 10) != 0) {
        s_id(ek, eklen, id);
        s_diff(v, "entity %s: indexes event %s (dated %.10s), which belongs to %s", entity, id,
               (const char *) d->mv_data, own[0] ? own : "no entity");
    } else {
        e->seen = true;
    }
    if (v->nitems == v->icap) {
        size_t ncap = v->icap ? v->icap * 2 : 64;
        wq_fold_item_t *ni = realloc(v->items, ncap * sizeof *ni);
        if (!ni)
            return s_nomem(v);
        v->items = ni;
        v->icap = ncap;
    }
    wq_fold_item_t *it = &v->items[v->nitems++];
    it->rec = e->rec;
    it->effect = WQ_EFFECT_EFFECTIVE;
    wq_record_id(e->rec, it->id);
    return WQ_OK;
}

static int
s_entities(s_verify_t *v)
{
    MDB_cursor *cur = NULL;
    char entity[WQ_ENTITY_MAX + 1] = "";
    bool open = false;
    int rc = WQ_OK;
    int mrc = mdb_cursor_open(v->txn, v->c->entities, &cur);
    if (mrc == 0)
        mrc = mdb_cursor_open(v->txn, v->c->states, &v->states);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(entities, states)", v->err);
        goto done;
    }
    rc = s_states_next(v, MDB_FIRST);
    MDB_val k, d;
    MDB_cursor_op op = MDB_FIRST;
    while (rc == WQ_OK && (mrc = mdb_cursor_get(cur, &k, &d, op)) == 0) {
        op = MDB_NEXT;
        if (k.mv_size >= sizeof entity) {
            s_diff(v, "entity index: a key of %zu bytes is too long", k.mv_size);
            op = MDB_NEXT_NODUP;
            continue;
        }
        if (!open || strlen(entity) != k.mv_size || memcmp(entity, k.mv_data, k.mv_size) != 0) {
            if (open && (rc = s_entity_done(v, entity)) != WQ_OK)
                goto done;
            memcpy(entity, k.mv_data, k.mv_size);
            entity[k.mv_size] = '\0';
            open = true;
        }
        rc = s_entry(v, entity, &d);
    }
    if (rc != WQ_OK)
        goto done;
    if (mrc != MDB_NOTFOUND) {
        rc = wq_store_err(mrc, "mdb_cursor_get(entities)", v->err);
        goto done;
    }
    if (open && (rc = s_entity_done(v, entity)) != WQ_OK)
        goto done;
    rc = s_states_stray(v, NULL);
done:
    if (cur)
        mdb_cursor_close(cur);
    if (v->states)
        mdb_cursor_close(v->states);
    v->states = NULL;
    return rc;
}

static int
s_has_dup(MDB_cursor *cur, const void *key, size_t klen, const void *val, size_t vlen, bool *found,
          wq_err_t *err)
{
    MDB_val k = {klen, (void *) key}, d = {vlen, (void *) val};
    int mrc = mdb_cursor_get(cur, &k, &d, MDB_GET_BOTH);
    *found = mrc == 0;
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return wq_store_err(mrc, "mdb_cursor_get(GET_BOTH)", err);
    return WQ_OK;
}

/*  Every placed event was listed; pending events wait for their missing
    target; problems and consultations are linked to their enterprise;
    entry counts and totals. */
static int
s_places(s_verify_t *v)
{
    MDB_cursor *pc = NULL, *lc = NULL;
    uint64_t indexed = 0, pending = 0, links = 0;
    int rc = WQ_OK;
    int mrc = mdb_cursor_open(v->txn, v->c->pending, &pc);
    if (mrc == 0)
        mrc = mdb_cursor_open(v->txn, v->c->links, &lc);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(pending, links)", v->err);
        goto done;
    }
    for (size_t i = 0; i < v->nev && rc == WQ_OK; i++) {
        s_event_t *e = &v->ev[i];
        char id[WQ_EVENT_ID_MAX], entity[WQ_ENTITY_MAX], link[WQ_ENTITY_MAX];
        bool found = false;
        if (e->place == S_RESOLVED) {
            const wq_record_t *r = e->rec;
            indexed++;
            wq_record_entity(v->ev[e->base].rec, entity);
            if (!e->seen) {
                s_id(e->ek, e->eklen, id);
                s_diff(v, "event %s: not in the index of entity %s", id, entity);
            }
            if ((r->type == WQ_REC_PROBLEM || r->type == WQ_REC_CONSULTATION) && r->ent[0]) {
                links++;
                snprintf(link, sizeof link, "E:%s", r->ent);
                rc = s_has_dup(lc, link, strlen(link), entity, strlen(entity), &found, v->err);
                if (rc == WQ_OK && !found) {
                    s_id(e->ek, e->eklen, id);
                    s_diff(v, "event %s: %s is not linked to enterprise %s", id, entity, link);
                }
            }
        } else if (e->place == S_PENDING) {
            uint8_t missing[WQ_EK_MAX];
            size_t mlen = wq_ek_from_text(v->ev[e->base].rec->target, missing);
            pending++;
            rc = s_has_dup(pc, missing, mlen, e->ek, e->eklen, &found, v->err);
            if (rc == WQ_OK && !found) {
                s_id(e->ek, e->eklen, id);
                s_diff(v, "event %s: not waiting for its missing target", id);
            }
        }
    }
    if (rc != WQ_OK)
        goto done;
    uint64_t got = s_entries(v->txn, v->c->entities);
    if (got != indexed)
        s_diff(v, "entity index: %" PRIu64 " entries, the events give %" PRIu64, got, indexed);
    got = s_entries(v->txn, v->c->pending);
    if (got != pending)
        s_diff(v, "pending table: %" PRIu64 " entries, the events give %" PRIu64, got, pending);
    got = s_entries(v->txn, v->c->links);
    if (got != links)
        s_diff(v, "enterprise links: %" PRIu64 " entries, the events give %" PRIu64, got, links);
    uint64_t meta, events = s_entries(v->txn, v->c->events);
    rc = s_meta(v, "events", &meta);
    if (rc == WQ_OK && meta != events)
        s_diff(v, "total events: %" PRIu64 " counted, %" PRIu64 " stored", meta, events);
    if (rc == WQ_OK)
        rc = s_meta(v, "quarantined", &meta);
    got = s_entries(v->txn, v->c->quarantine);
    if (rc == WQ_OK && meta != got)
        s_diff(v, "total quarantined: %" PRIu64 " counted, %" PRIu64 " stored", meta, got);
    if (rc == WQ_OK)
        rc = s_meta(v, "streams", &meta);
    got = s_entries(v->txn, v->c->streams);
    if (rc == WQ_OK && meta != got)
        s_diff(v, "total streams: %" PRIu64 " counted, %" PRIu64 " stored", meta, got);
done:
    if (pc)
        mdb_cursor_close(pc);
    if (lc)
        mdb_cursor_close(lc);
    return rc;
}

/*  ---- 3. counters and marks ---------------------------------------------- */

static int
s_views(s_verify_t *v)
{
    s_expect_t *e = &v->e;
    MDB_cursor *cur = NULL;
    int rc = WQ_OK;
    e->n = wq_contrib_normalize(e->c, e->n);
    int mrc = mdb_cursor_open(v->txn, v->c->views, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(views)", v->err);
    size_t j = 0;
    char name[4 * WQ_MARK_MAX + 8];
    MDB_val k, d;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (k.mv_size != WQ_VKEY_LEN || d.mv_size != 8) {
            s_diff(v, "views: a malformed counter (%zu-byte key, %zu-byte value)", k.mv_size,
                   d.mv_size);
            continue;
        }
        int64_t stored;
        memcpy(&stored, d.mv_data, 8);
        while (j < e->n && memcmp(e->c[j].key, k.mv_data, WQ_VKEY_LEN) < 0) {
            wq_vkey_format(e->c[j].key, name, sizeof name);
            s_diff(v, "counter %s: stored 0, recomputed %" PRId64, name, e->c[j].n);
            j++;
        }
        int64_t want = 0;
        if (j < e->n && memcmp(e->c[j].key, k.mv_data, WQ_VKEY_LEN) == 0)
            want = e->c[j++].n;
        if (want != stored) {
            wq_vkey_format(k.mv_data, name, sizeof name);
            s_diff(v, "counter %s: stored %" PRId64 ", recomputed %" PRId64, name, stored, want);
        }
    }
    if (mrc != MDB_NOTFOUND) {
        rc = wq_store_err(mrc, "mdb_cursor_get(views)", v->err);
        goto done;
    }
    for (; j < e->n; j++) {
        wq_vkey_format(e->c[j].key, name, sizeof name);
        s_diff(v, "counter %s: stored 0, recomputed %" PRId64, name, e->c[j].n);
    }
    mdb_cursor_close(cur);
    cur = NULL;

    /* Marks: merge the expected ones, walk both in key order. */
    e->m.n = wq_marks_normalize(e->m.m, e->m.n);
    mrc = mdb_cursor_open(v->txn, v->c->marks, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(marks)", v->err);
        goto done;
    }
    j = 0;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (k.mv_size > WQ_MARK_MAX || d.mv_size != 8) {
            s_diff(v, "marks: a malformed mark (%zu-byte key, %zu-byte value)", k.mv_size,
                   d.mv_size);
            continue;
        }
        wq_mark_t got = {.len = (uint8_t) k.mv_size};
        memcpy(got.key, k.mv_data, k.mv_size);
        memcpy(&got.n, d.mv_data, 8);
        int cmp = -1;
        while (j < e->m.n && (cmp = wq_marks_cmp(&e->m.m[j], &got)) < 0) {
            wq_marks_format(&e->m.m[j], name, sizeof name);
            s_diff(v, "mark %s: stored 0, recomputed %" PRId64, name, e->m.m[j].n);
            j++;
        }
        int64_t want = 0;
        if (j < e->m.n && cmp == 0)
            want = e->m.m[j++].n;
        if (want != got.n) {
            wq_marks_format(&got, name, sizeof name);
            s_diff(v, "mark %s: stored %" PRId64 ", recomputed %" PRId64, name, got.n, want);
        }
    }
    if (mrc != MDB_NOTFOUND) {
        rc = wq_store_err(mrc, "mdb_cursor_get(marks)", v->err);
        goto done;
    }
    for (; j < e->m.n; j++) {
        wq_marks_format(&e->m.m[j], name, sizeof name);
        s_diff(v, "mark %s: stored 0, recomputed %" PRId64, name, e->m.m[j].n);
    }
done:
    if (cur)
        mdb_cursor_close(cur);
    return rc;
}

int
wq_central_verify(wq_central_t *self, FILE *report, uint64_t *differences, wq_err_t *err)
{
    s_verify_t v;
    memset(&v, 0, sizeof v);
    v.c = self;
    v.err = err;
    v.report = report;
    *differences = 0;
    int mrc = wq_store_txn_begin(self->env, MDB_RDONLY, &v.txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin(read)", err);
    int rc = s_scan(&v);
    for (size_t i = 0; rc == WQ_OK && i < v.nev; i++)
        if (v.ev[i].rec)
            s_place(&v, i);
    if (rc == WQ_OK)
        rc = s_entities(&v);
    if (rc == WQ_OK)
        rc = s_places(&v);
    if (rc == WQ_OK)
        rc = s_views(&v);
    mdb_txn_abort(v.txn);
    for (size_t i = 0; i < v.nev; i++)
        wq_record_destroy(&v.ev[i].rec);
    free(v.ev);
    free(v.items);
    s_expect_free(&v.e);
    if (rc == WQ_OK)
        *differences = v.ndiff;
    return rc;
}
