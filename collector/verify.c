/*  =========================================================================
    verify - recompute everything derived from the events alone, in one
    pass, and compare it with what the store holds (verify.h)

    One read transaction, three steps:

      1. scan: every stored event, in key order, once: its key and where
         its bytes lie in the map (valid while the transaction lives), in
         an array sorted by event key. Nothing is decoded yet.
      2. the entity index, walked in its order (entity, then date + event
         key). At the end of each entity, its listed events are decoded
         (once each) and placed as ingest places them (docs/STORE.md
         "Ingest" 4): a base event in its own entity, a correction or
         retraction in its target's, following the chain through the
         array (at most S_RESOLVE_DEPTH links). Each entry must name an
         event placed in that entity under its date; an enterprise's
         problems and consultations must be linked to it. Then the decoded
         events are folded (fold.h wq_fold_compute_owned) and the state
         compared with the stored one, `states` walked alongside; the
         state's counter contributions (summed in a hash table at county,
         city and province) and marks are accumulated, and the records
         freed. Every event is decoded once and only one entity's records
         are in memory at a time, still warm in the cache when folded.
      3. the events no entity listed (in a sound store: those waiting in
         `pending` and those that belong nowhere) are decoded and placed:
         a placed one is a difference, a waiting one must be in `pending`.
         Entry counts and totals are compared; then the accumulated
         counters and marks, in key order, with `views` and `marks` walked
         in key order, both ways.

    Step 2 runs on two threads when asked (wq_central_verify_threads):
    while step 1 scans, a second thread, in its own read transaction on
    the same snapshot (the same transaction id; LMDB readers with
    MDB_NOTLS), finds the entity key that splits the index's entries in
    half; then each thread walks its part, `states` alongside, with its own
    cursors, decoded records (the per-thread fields of s_event_t), counter
    sums and marks, report buffer and counts, merged afterwards (the second
    part's report lines after the first's, as one thread writes them).
    Events that do not decode are reported after the walk, once each,
    whichever thread met them. Before step 1 the kernel is asked to read
    the store's used pages (posix_fadvise WILLNEED): with a cold page
    cache, reading the file through beats faulting pages in one at a time
    in the index's order.

    Nothing is read twice and no entity is loaded through the index by
    random reads of the events database (what wq_fold_load does): the cost
    is about that of scanning and decoding the events once (bench/ceilings
    "scan"), and memory is about 50 bytes per event (where its key and
    bytes are, a hash table on the keys) plus the counters.
    =========================================================================
*/
#include "collector/verify.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "collector/cstore.h"
#include "collector/fold.h"
#include "collector/marks.h"
#include "collector/views.h"
#include "common/i18n.h"
#include "common/store.h"

#define S_RESOLVE_DEPTH 8   /* as ingest: a longer chain, or a cycle, belongs nowhere */
#define S_NONE SIZE_MAX

typedef enum { S_UNPLACED = 0, S_RESOLVED = 1, S_PENDING = 2, S_ORPHAN = 3 } s_place_t;

/*  Threads that walk the entity index (each its own part of the key
    space, its own read transaction on the same snapshot). */
#define S_THREADS_MAX 2

/*  One stored event. The per-thread fields are written only by their
    thread (distinct bytes: no locking); seen only by the thread that walks
    the event's own entity. */
typedef struct {
    const uint8_t *ek;      /* its key, in the map: valid while the transaction lives */
    const uint8_t *val;     /* its stored bytes, in the map */
    wq_record_t *rec[S_THREADS_MAX];    /* decoded while its entity is checked, else NULL */
    uint32_t vlen;
    uint32_t hash;          /* of its key (s_find) */
    uint32_t group[S_THREADS_MAX];      /* the last entity (walk number) that listed it */
    uint8_t eklen;
    uint8_t seen;           /* listed in the entity index where it belongs */
    uint8_t bad[S_THREADS_MAX];         /* its stored bytes do not decode */
} s_event_t;

/*  An entry of the entity being walked: the event and the entry's date. */
typedef struct {
    size_t ev;
    const char *date;       /* 10 bytes, in the map */
} s_listed_t;

/*  Expected counters, summed as they come in a hash table on the counter
    key (sorting every contribution instead cost a fifth of verify), then
    listed in key order (c, n); and the expected marks. */
typedef struct {
    wq_contrib_t *slot;     /* open addressing; a slot is used when its key is set */
    bool *used;
    size_t cap, nslots;
    wq_contrib_t *c;        /* the sums in key order, zeros dropped (s_expect_list) */
    size_t n;
    wq_marks_t m;
} s_expect_t;

typedef struct {
    MDB_txn *txn;
    wq_central_t *c;
    wq_err_t *err;
    FILE *report;
    uint64_t ndiff;
    int tid;                /* which per-thread fields of the events are ours */
    bool defer_bad;         /* the walk: undecodable events are reported after it */
    const void *lo, *hi;    /* the part of the entity key space walked: [lo, hi), NULL open */
    size_t lolen, hilen;
    s_event_t *ev;          /* in event key order */
    size_t nev;
    uint32_t *byhash;       /* open addressing on the key hash: index + 1, 0 empty */
    size_t hmask;
    size_t *live;           /* events whose rec is set (freed by s_release) */
    size_t nlive, lvcap;
    s_listed_t *listed;     /* the entity being walked */
    size_t nlisted, lscap;
    uint32_t group;
    uint64_t indexed, links;    /* placed events; problems and consultations linked */
    s_expect_t e;
    wq_fold_item_t *items;  /* one entity's events (records borrowed from ev) */
    size_t nitems, icap;
    MDB_cursor *states;     /* walked alongside the entity index */
    bool states_end;
    MDB_val sk, sv;         /* the states cursor's current entry */
    MDB_cursor *lcur, *pcur;    /* links, pending: looked up */
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
    return wq_err_set(v->err, WQ_E_NOMEM, "verify", _("out of memory recomputing the views"));
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

static uint32_t
s_ek_hash(const uint8_t *ek, size_t len)
{
    uint64_t h = 14695981039346656037ull;      /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ ek[i]) * 1099511628211ull;
    return (uint32_t) (h ^ (h >> 32));
}

/*  The event stored under key ek, or S_NONE. A hash table, not a binary
    search of the sorted array: each probe of that read a key in the map,
    twenty cache misses per lookup, a third of verify. (A copy of the key
    in the array, to save the one read left, made the scan cost more than
    it saved.) */
static size_t
s_find(const s_verify_t *v, const void *ek, size_t len)
{
    uint32_t h = s_ek_hash(ek, len);
    for (size_t j = h & v->hmask; v->byhash[j]; j = (j + 1) & v->hmask) {
        const s_event_t *e = &v->ev[v->byhash[j] - 1];
        if (e->hash == h && e->eklen == len && memcmp(e->ek, ek, len) == 0)
            return v->byhash[j] - 1;
    }
    return S_NONE;
}

/*  Index the scanned events by key hash. */
static int
s_hash_build(s_verify_t *v)
{
    size_t cap = 1024;
    while (cap < 2 * v->nev)
        cap *= 2;
    if (v->nev >= UINT32_MAX)
        return wq_err_set(v->err, WQ_E_RANGE, "verify", _("more than 2^32 events: verify cannot hold them"));
    v->byhash = calloc(cap, sizeof *v->byhash);
    if (!v->byhash)
        return s_nomem(v);
    v->hmask = cap - 1;
    for (size_t i = 0; i < v->nev; i++) {
        size_t j = v->ev[i].hash & v->hmask;
        while (v->byhash[j])
            j = (j + 1) & v->hmask;
        v->byhash[j] = (uint32_t) (i + 1);
    }
    return WQ_OK;
}

static void
s_id(const void *ek, size_t len, char out[WQ_EVENT_ID_MAX])
{
    if (!wq_ek_to_text(ek, len, out))
        snprintf(out, WQ_EVENT_ID_MAX, "?");
}

/*  rec's event id, as wq_record_id writes it ("%s/%08x/%llu"), without
    snprintf: verify makes one per event and snprintf was a tenth of it. */
static void
s_fmt_id(const wq_record_t *rec, char out[WQ_EVENT_ID_MAX])
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strnlen(rec->agent, WQ_AGENT_ID_MAX);
    memcpy(out, rec->agent, n);
    out[n++] = '/';
    for (int i = 7; i >= 0; i--)
        out[n++] = hex[(rec->inc >> (4 * i)) & 15];
    out[n++] = '/';
    char dec[20];
    int d = 0;
    uint64_t seq = rec->seq;
    do {
        dec[d++] = (char) ('0' + seq % 10);
        seq /= 10;
    } while (seq);
    while (d)
        out[n++] = dec[--d];
    out[n] = '\0';
}

/*  The entity rec belongs to (wq_record_entity), its own id made fast. */
static void
s_entity(const wq_record_t *rec, char out[WQ_ENTITY_MAX])
{
    if (rec->type == WQ_REC_PROBLEM || rec->type == WQ_REC_CONSULTATION) {
        out[0] = rec->type == WQ_REC_PROBLEM ? 'P' : 'C';
        out[1] = ':';
        s_fmt_id(rec, out + 2);
    } else {
        wq_record_entity(rec, out);
    }
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
        return wq_err_set(v->err, WQ_E_CORRUPT, "meta", _("meta value %s is malformed"), name);
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
        char agent[WQ_AGENT_ID_MAX + 1];
        uint32_t inc;
        uint64_t seq;
        if (!wq_ek_split(k.mv_data, k.mv_size, agent, &inc, &seq) || d.mv_size > UINT32_MAX) {
            s_diff(v, "events: a key of %zu bytes is not an event key", k.mv_size);
            continue;
        }
        if (v->nev == cap) {    /* a reader's snapshot cannot grow: never, in practice */
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
        e->val = d.mv_data;
        e->vlen = (uint32_t) d.mv_size;
        e->hash = s_ek_hash(e->ek, e->eklen);
    }
    if (mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(events)", v->err);
    if (rc == WQ_OK)
        rc = s_hash_build(v);
done:
    mdb_cursor_close(cur);
    return rc;
}

/*  Whether event i's stored bytes were found not to decode, by any thread. */
static bool
s_bad(const s_verify_t *v, size_t i)
{
    for (int t = 0; t < S_THREADS_MAX; t++)
        if (v->ev[i].bad[t])
            return true;
    return false;
}

static void
s_report_bad(s_verify_t *v, size_t i)
{
    char id[WQ_EVENT_ID_MAX];
    s_id(v->ev[i].ek, v->ev[i].eklen, id);
    s_diff(v, "event %s: stored bytes do not decode", id);
}

/*  Event i decoded (kept until s_release), or NULL if its bytes do not
    decode or on *rc != WQ_OK (out of memory). An event that does not
    decode is reported once: during the walk (defer_bad) after it, by
    s_report_bads, else here the first time. */
static wq_record_t *
s_rec(s_verify_t *v, size_t i, int *rc)
{
    s_event_t *e = &v->ev[i];
    int t = v->tid;
    if (e->rec[t] || e->bad[t])
        return e->rec[t];
    if (!v->defer_bad && s_bad(v, i))
        return NULL;            /* reported after the walk */
    if (v->nlive == v->lvcap) {
        size_t ncap = v->lvcap ? v->lvcap * 2 : 256;
        size_t *nl = realloc(v->live, ncap * sizeof *nl);
        if (!nl) {
            *rc = s_nomem(v);
            return NULL;
        }
        v->live = nl;
        v->lvcap = ncap;
    }
    if (wq_record_decode(e->val, e->vlen, &e->rec[t], NULL) != WQ_OK) {
        e->rec[t] = NULL;
        e->bad[t] = 1;
        if (!v->defer_bad)
            s_report_bad(v, i);
        return NULL;
    }
    v->live[v->nlive++] = i;
    return e->rec[t];
}

/*  Free every record decoded since the last release. */
static void
s_release(s_verify_t *v)
{
    for (size_t i = 0; i < v->nlive; i++)
        wq_record_destroy(&v->ev[v->live[i]].rec[v->tid]);
    v->nlive = 0;
}

/*  Place event i (decoded) as ingest does: follow a correction or
    retraction's target chain through the stored events to a base event
    (*base, S_RESOLVED), or to the first missing target (*base is the
    modifier that names it, S_PENDING); S_ORPHAN past S_RESOLVE_DEPTH
    links or on a target id that does not parse. */
static int
s_place(s_verify_t *v, size_t i, size_t *base, s_place_t *place)
{
    size_t cur = i;
    int rc = WQ_OK;
    *place = S_ORPHAN;
    *base = S_NONE;
    for (int depth = 0; depth <= S_RESOLVE_DEPTH; depth++) {
        const wq_record_t *r = v->ev[cur].rec[v->tid];
        if (!s_is_modifier(r)) {
            *place = S_RESOLVED;
            *base = cur;
            return WQ_OK;
        }
        if (depth == S_RESOLVE_DEPTH)
            return WQ_OK;
        uint8_t ek[WQ_EK_MAX];
        size_t eklen = wq_ek_from_text(r->target, ek);
        if (eklen == 0)
            return WQ_OK;
        size_t t = s_find(v, ek, eklen);
        if (t == S_NONE) {
            *place = S_PENDING;
            *base = cur;
            return WQ_OK;
        }
        if (!s_rec(v, t, &rc)) {
            if (rc == WQ_OK) {
                char id[WQ_EVENT_ID_MAX];
                s_id(v->ev[i].ek, v->ev[i].eklen, id);
                s_diff(v, "event %s: its target %s does not decode", id, r->target);
                *place = S_UNPLACED;
            }
            return rc;
        }
        cur = t;
    }
    return WQ_OK;
}

/*  A problem or consultation (rec, placed in entity) must be linked to
    its enterprise. */
static int
s_check_link(s_verify_t *v, size_t i, const char *entity)
{
    const wq_record_t *r = v->ev[i].rec[v->tid];
    if ((r->type != WQ_REC_PROBLEM && r->type != WQ_REC_CONSULTATION) || r->ent[0] == '\0')
        return WQ_OK;
    char link[WQ_ENTITY_MAX], id[WQ_EVENT_ID_MAX];
    snprintf(link, sizeof link, "E:%s", r->ent);
    v->links++;
    MDB_val k = {strlen(link), link}, d = {strlen(entity), (void *) entity};
    int mrc = mdb_cursor_get(v->lcur, &k, &d, MDB_GET_BOTH);
    if (mrc == MDB_NOTFOUND) {
        s_id(v->ev[i].ek, v->ev[i].eklen, id);
        s_diff(v, "event %s: %s is not linked to enterprise %s", id, entity, link);
        return WQ_OK;
    }
    return mrc ? wq_store_err(mrc, "mdb_cursor_get(links)", v->err) : WQ_OK;
}

/*  ---- 2. entities -------------------------------------------------------- */

static size_t
s_key_hash(const uint8_t key[WQ_VKEY_LEN])
{
    uint64_t x, y;
    memcpy(&x, key, 8);
    memcpy(&y, key + 8, 8);
    /* Every bit of the key reaches the low bits the table uses (the keys
       of one area differ in a few bytes; a single multiply left them to a
       few high bits, and the probes ran in long chains): MurmurHash3's
       64-bit finalizer. */
    uint64_t h = x ^ (y * 0x9e3779b97f4a7c15ull);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (size_t) h;
}

/*  Whether two counter keys are equal: two 8-byte compares, no call. */
static inline bool
s_key_eq(const uint8_t a[WQ_VKEY_LEN], const uint8_t b[WQ_VKEY_LEN])
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a, 8);
    memcpy(&a1, a + 8, 8);
    memcpy(&b0, b, 8);
    memcpy(&b1, b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

static wq_contrib_t *
s_expect_slot(s_expect_t *e, const uint8_t key[WQ_VKEY_LEN])
{
    size_t mask = e->cap - 1, i = s_key_hash(key) & mask;
    _Static_assert(WQ_VKEY_LEN == 16, "s_key_eq compares two 8-byte words");
    while (e->used[i] && !s_key_eq(e->slot[i].key, key))
        i = (i + 1) & mask;
    if (!e->used[i]) {
        e->used[i] = true;
        memcpy(e->slot[i].key, key, WQ_VKEY_LEN);
        e->slot[i].n = 0;
        e->nslots++;
    }
    return &e->slot[i];
}

/*  Keep the table at most half full. */
static int
s_expect_room(s_expect_t *e, size_t more)
{
    if (2 * (e->nslots + more) <= e->cap)
        return WQ_OK;
    size_t ncap = e->cap ? e->cap : 4096;
    while (2 * (e->nslots + more) > ncap)
        ncap *= 2;
    s_expect_t g = {.cap = ncap};
    g.slot = malloc(ncap * sizeof *g.slot);
    g.used = calloc(ncap, sizeof *g.used);
    if (!g.slot || !g.used) {
        free(g.slot);
        free(g.used);
        return WQ_E_NOMEM;
    }
    for (size_t i = 0; i < e->cap; i++)
        if (e->used[i])
            s_expect_slot(&g, e->slot[i].key)->n = e->slot[i].n;
    free(e->slot);
    free(e->used);
    e->slot = g.slot;
    e->used = g.used;
    e->cap = ncap;
    return WQ_OK;
}

static int
s_expect_contribs(s_expect_t *e, const wq_fold_state_t *st)
{
    if (s_expect_room(e, 3 * st->ncontribs) != WQ_OK)
        return WQ_E_NOMEM;
    for (size_t i = 0; i < st->ncontribs; i++) {
        uint8_t up[WQ_VKEY_LEN];
        s_expect_slot(e, st->contribs[i].key)->n += st->contribs[i].n;
        wq_vkey_rollup(st->contribs[i].key, WQ_LEVEL_CITY, up);
        s_expect_slot(e, up)->n += st->contribs[i].n;
        wq_vkey_rollup(st->contribs[i].key, WQ_LEVEL_PROVINCE, up);
        s_expect_slot(e, up)->n += st->contribs[i].n;
    }
    return WQ_OK;
}

/*  The sums in key order, zeros dropped, into e->c / e->n. */
static int
s_expect_list(s_expect_t *e)
{
    e->c = malloc((e->nslots ? e->nslots : 1) * sizeof *e->c);
    if (!e->c)
        return WQ_E_NOMEM;
    e->n = 0;
    for (size_t i = 0; i < e->cap; i++)
        if (e->used[i])
            e->c[e->n++] = e->slot[i];
    e->n = wq_contrib_normalize(e->c, e->n);
    return WQ_OK;
}

static int
s_expect_marks_add(s_expect_t *e, const wq_mark_t *marks, size_t n)
{
    for (size_t i = 0; i < n; i++) {
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
        e->m.m[e->m.n++] = marks[i];
    }
    return WQ_OK;
}

static int
s_expect_marks(s_expect_t *e, const wq_fold_state_t *st)
{
    return s_expect_marks_add(e, st->marks, st->nmarks);
}

/*  The rectification spells' counters and S / X marks (views.h), derived
    from the recomputed R marks as ingest derives them from the stored. */
static int
s_expect_rect(s_expect_t *e)
{
    wq_marks_t dm = {0};
    e->m.n = wq_marks_normalize(e->m.m, e->m.n);
    for (size_t i = 0; i < e->m.n; i++) {
        if (e->m.m[i].len == 0 || e->m.m[i].key[0] != 'R')
            continue;
        wq_contrib_t ctr;
        bool has;
        wq_rect_derive(&e->m.m[i], e->m.m[i].n, &ctr, &has, &dm);
        if (!has)
            continue;
        if (s_expect_room(e, 3) != WQ_OK) {
            wq_marks_free(&dm);
            return WQ_E_NOMEM;
        }
        uint8_t up[WQ_VKEY_LEN];
        s_expect_slot(e, ctr.key)->n += ctr.n;
        wq_vkey_rollup(ctr.key, WQ_LEVEL_CITY, up);
        s_expect_slot(e, up)->n += ctr.n;
        wq_vkey_rollup(ctr.key, WQ_LEVEL_PROVINCE, up);
        s_expect_slot(e, up)->n += ctr.n;
    }
    int rc = dm.oom ? WQ_E_NOMEM : s_expect_marks_add(e, dm.m, dm.n);
    wq_marks_free(&dm);
    return rc;
}

/*  Add another thread's expected counters and marks to e's. */
static int
s_expect_merge(s_expect_t *e, const s_expect_t *o)
{
    if (s_expect_room(e, o->nslots) != WQ_OK)
        return WQ_E_NOMEM;
    for (size_t i = 0; i < o->cap; i++)
        if (o->used[i])
            s_expect_slot(e, o->slot[i].key)->n += o->slot[i].n;
    return s_expect_marks_add(e, o->m.m, o->m.n);
}

static void
s_expect_free(s_expect_t *e)
{
    wq_marks_free(&e->m);
    free(e->slot);
    free(e->used);
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
    entity; entity == NULL: all that are left in our part ([lo, hi)). */
static int
s_states_stray(s_verify_t *v, const char *entity)
{
    const void *end = entity ? (const void *) entity : v->hi;
    size_t len = entity ? strlen(entity) : v->hilen;
    while (!v->states_end && (!end || s_keycmp(v->sk.mv_data, v->sk.mv_size, end, len) < 0)) {
        s_diff(v, "entity %.*s: a stored state, but no event indexed", (int) v->sk.mv_size,
               (const char *) v->sk.mv_data);
        int rc = s_states_next(v, MDB_NEXT);
        if (rc != WQ_OK)
            return rc;
    }
    return WQ_OK;
}

/*  The entity's listed events: decode and place each, check its entry,
    fold them, compare the state, accumulate; then free the records. */
static int
s_entity_done(s_verify_t *v, const char *entity)
{
    wq_fold_transfer_t *tr = NULL;
    size_t ntr = 0;
    wq_fold_state_t st;
    wq_buf_t blob = {0};
    int rc = WQ_OK;
    memset(&st, 0, sizeof st);
    v->group++;
    v->nitems = 0;
    int t = v->tid;
    for (size_t j = 0; j < v->nlisted && rc == WQ_OK; j++)
        s_rec(v, v->listed[j].ev, &rc);
    for (size_t j = 0; j < v->nlisted && rc == WQ_OK; j++) {
        size_t i = v->listed[j].ev, base;
        s_event_t *e = &v->ev[i];
        s_place_t place;
        char own[WQ_ENTITY_MAX] = "", id[WQ_EVENT_ID_MAX];
        if (!e->rec[t])
            continue;           /* does not decode: reported */
        if ((rc = s_place(v, i, &base, &place)) != WQ_OK)
            break;
        if (place == S_RESOLVED)
            s_entity(v->ev[base].rec[t], own);
        if (strcmp(own, entity) != 0 || memcmp(v->listed[j].date, e->rec[t]->date, 10) != 0) {
            s_id(e->ek, e->eklen, id);
            s_diff(v, "entity %s: indexes event %s (dated %.10s), which belongs to %s", entity, id,
                   v->listed[j].date, own[0] ? own : "no entity");
        } else if (!e->seen) {
            e->seen = 1;
            v->indexed++;
            rc = s_check_link(v, i, entity);
        }
        if (e->group[t] == v->group)
            continue;           /* listed twice (under two dates): folded once */
        e->group[t] = v->group;
        if (v->nitems == v->icap) {
            size_t ncap = v->icap ? v->icap * 2 : 64;
            wq_fold_item_t *ni = realloc(v->items, ncap * sizeof *ni);
            if (!ni) {
                rc = s_nomem(v);
                break;
            }
            v->items = ni;
            v->icap = ncap;
        }
        wq_fold_item_t *it = &v->items[v->nitems++];
        it->rec = e->rec[t];
        it->effect = WQ_EFFECT_EFFECTIVE;
        s_fmt_id(e->rec[t], it->id);
    }
    if (rc == WQ_OK)
        rc = wq_fold_transfers_load(v->txn, v->c, entity, &tr, &ntr, v->err);
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
    s_release(v);
    v->nitems = 0;
    v->nlisted = 0;
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
    if (t == S_NONE) {
        char id[WQ_EVENT_ID_MAX];
        s_id(ek, eklen, id);
        s_diff(v, "entity %s: indexes event %s, which is not stored", entity, id);
        return WQ_OK;
    }
    if (v->nlisted == v->lscap) {
        size_t ncap = v->lscap ? v->lscap * 2 : 64;
        s_listed_t *nl = realloc(v->listed, ncap * sizeof *nl);
        if (!nl)
            return s_nomem(v);
        v->listed = nl;
        v->lscap = ncap;
    }
    v->listed[v->nlisted++] = (s_listed_t){t, d->mv_data};
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
    MDB_val k = {v->lolen, (void *) v->lo}, d;
    MDB_cursor_op op = v->lo ? MDB_SET_RANGE : MDB_FIRST;
    v->sk = k;
    rc = s_states_next(v, op);
    while (rc == WQ_OK && (mrc = mdb_cursor_get(cur, &k, &d, op)) == 0) {
        op = MDB_NEXT;
        if (v->hi && s_keycmp(k.mv_data, k.mv_size, v->hi, v->hilen) >= 0) {
            mrc = MDB_NOTFOUND;     /* the end of our part */
            break;
        }
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

/*  The events no entity listed where they belong: placed ones are
    differences, waiting ones must wait in pending. Entry counts and
    totals. */
static int
s_places(s_verify_t *v)
{
    uint64_t pending = 0;
    int rc = WQ_OK;
    for (size_t i = 0; i < v->nev && rc == WQ_OK; i++) {
        s_event_t *e = &v->ev[i];
        char id[WQ_EVENT_ID_MAX], entity[WQ_ENTITY_MAX];
        size_t base;
        s_place_t place;
        if (e->seen || s_bad(v, i))
            continue;
        if (!s_rec(v, i, &rc) || (rc = s_place(v, i, &base, &place)) != WQ_OK) {
            s_release(v);
            continue;
        }
        if (place == S_RESOLVED) {
            v->indexed++;
            s_entity(v->ev[base].rec[0], entity);
            s_id(e->ek, e->eklen, id);
            s_diff(v, "event %s: not in the index of entity %s", id, entity);
            rc = s_check_link(v, i, entity);
        } else if (place == S_PENDING) {
            uint8_t missing[WQ_EK_MAX];
            size_t mlen = wq_ek_from_text(v->ev[base].rec[0]->target, missing);
            pending++;
            MDB_val k = {mlen, missing}, d = {e->eklen, (void *) e->ek};
            int mrc = mdb_cursor_get(v->pcur, &k, &d, MDB_GET_BOTH);
            if (mrc == MDB_NOTFOUND) {
                s_id(e->ek, e->eklen, id);
                s_diff(v, "event %s: not waiting for its missing target", id);
            } else if (mrc != 0) {
                rc = wq_store_err(mrc, "mdb_cursor_get(pending)", v->err);
            }
        }
        s_release(v);
    }
    if (rc != WQ_OK)
        return rc;
    uint64_t got = s_entries(v->txn, v->c->entities);
    if (got != v->indexed)
        s_diff(v, "entity index: %" PRIu64 " entries, the events give %" PRIu64, got, v->indexed);
    got = s_entries(v->txn, v->c->pending);
    if (got != pending)
        s_diff(v, "pending table: %" PRIu64 " entries, the events give %" PRIu64, got, pending);
    got = s_entries(v->txn, v->c->links);
    if (got != v->links)
        s_diff(v, "enterprise links: %" PRIu64 " entries, the events give %" PRIu64, got, v->links);
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
    return rc;
}

/*  ---- 3. counters and marks ---------------------------------------------- */

static int
s_views(s_verify_t *v)
{
    s_expect_t *e = &v->e;
    MDB_cursor *cur = NULL;
    int rc = WQ_OK;
    if (s_expect_rect(e) != WQ_OK || s_expect_list(e) != WQ_OK)
        return s_nomem(v);
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

/*  ---- threads -------------------------------------------------------------- */

/*  The entity key at which the index's entries split in two halves (the
    first key with at least half of the entries before it), copied into
    key; *len 0 when there is none (one entity, or none). Walks the keys
    only (each entity's entries counted, not read). */
static int
s_split(MDB_txn *txn, wq_central_t *c, uint8_t key[WQ_ENTITY_MAX + 1], size_t *len, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    *len = 0;
    uint64_t total = s_entries(txn, c->entities), before = 0;
    int mrc = mdb_cursor_open(txn, c->entities, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(entities)", err);
    MDB_val k, d;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT_NODUP)) {
        if (before > 0 && 2 * before >= total && k.mv_size <= WQ_ENTITY_MAX) {
            memcpy(key, k.mv_data, k.mv_size);
            *len = k.mv_size;
            break;
        }
        size_t n = 0;
        mrc = mdb_cursor_count(cur, &n);
        if (mrc != 0)
            break;
        before += n;
    }
    mdb_cursor_close(cur);
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return wq_store_err(mrc, "mdb_cursor_get(entities)", err);
    return WQ_OK;
}

typedef struct {
    s_verify_t v;           /* the second part's walk */
    wq_err_t err;
    uint8_t split[WQ_ENTITY_MAX + 1];
    size_t splitlen;
    int rc;
    char *text;             /* its report, appended to the first part's */
    size_t textlen;
} s_part_t;

static void *
s_split_main(void *arg)
{
    s_part_t *p = arg;
    p->rc = s_split(p->v.txn, p->v.c, p->split, &p->splitlen, &p->err);
    return NULL;
}

static void *
s_part_main(void *arg)
{
    s_part_t *p = arg;
    p->rc = s_entities(&p->v);
    s_release(&p->v);
    return NULL;
}

/*  A second read transaction on the first one's snapshot (the same
    transaction id), or NULL when a commit came in between each time. */
static MDB_txn *
s_twin_txn(wq_central_t *c, MDB_txn *first)
{
    for (int tries = 0; tries < 3; tries++) {
        MDB_txn *txn = NULL;
        if (wq_store_txn_begin(c->env, MDB_RDONLY, &txn) != 0)
            return NULL;
        if (mdb_txn_id(txn) == mdb_txn_id(first))
            return txn;
        mdb_txn_abort(txn);
    }
    return NULL;
}

/*  Ask the kernel to read the store's used pages now, in file order: with
    a cold page cache verify otherwise faults them in one by one, in the
    order of the entity index (random reads), several times slower than
    reading the file through. A no-op when the pages are cached; failure
    only costs that speed. */
static void
s_prefetch(wq_central_t *c)
{
    MDB_envinfo info;
    MDB_stat st;
    int fd = -1;
    if (mdb_env_info(c->env, &info) != 0 || mdb_env_stat(c->env, &st) != 0
        || mdb_env_get_fd(c->env, &fd) != 0 || fd < 0)
        return;
    off_t used = (off_t) (info.me_last_pgno + 1) * (off_t) st.ms_psize;
    (void) posix_fadvise(fd, 0, used, POSIX_FADV_WILLNEED);
}

static void
s_free_walk(s_verify_t *v)
{
    free(v->live);
    free(v->listed);
    free(v->items);
    s_expect_free(&v->e);
    v->live = NULL;
    v->listed = NULL;
    v->items = NULL;
}

int
wq_central_verify(wq_central_t *self, FILE *report, uint64_t *differences, wq_err_t *err)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    return wq_central_verify_threads(self, cpus > 1 ? S_THREADS_MAX : 1, report, differences, err);
}

int
wq_central_verify_threads(wq_central_t *self, int threads, FILE *report, uint64_t *differences,
                          wq_err_t *err)
{
    s_verify_t v;
    s_part_t *part = NULL;
    pthread_t th;
    bool running = false;
    memset(&v, 0, sizeof v);
    v.c = self;
    v.err = err;
    v.report = report;
    v.defer_bad = true;
    *differences = 0;
    int rc = WQ_OK;
    int mrc = wq_store_txn_begin(self->env, MDB_RDONLY, &v.txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin(read)", err);
    s_prefetch(self);
    mrc = mdb_cursor_open(v.txn, self->links, &v.lcur);
    if (mrc == 0)
        mrc = mdb_cursor_open(v.txn, self->pending, &v.pcur);
    if (mrc != 0)
        rc = wq_store_err(mrc, "mdb_cursor_open(links, pending)", err);
    /* A second thread: its transaction on the same snapshot, where to
       split the entity index found while the events are scanned. */
    if (rc == WQ_OK && threads > 1 && (part = calloc(1, sizeof *part)) != NULL) {
        part->v.c = self;
        part->v.err = &part->err;
        part->v.txn = s_twin_txn(self, v.txn);
        if (part->v.txn && pthread_create(&th, NULL, s_split_main, part) == 0)
            running = true;
    }
    if (rc == WQ_OK)
        rc = s_scan(&v);
    if (running) {
        pthread_join(th, NULL);
        running = false;
        if (rc == WQ_OK && part->rc != WQ_OK) {
            if (err)
                *err = part->err;
            rc = part->rc;
        }
    }
    if (part && rc == WQ_OK && part->v.txn && part->splitlen > 0) {
        s_verify_t *w = &part->v;
        w->ev = v.ev;
        w->nev = v.nev;
        w->byhash = v.byhash;
        w->hmask = v.hmask;
        w->tid = 1;
        w->defer_bad = true;
        w->lo = part->split;
        w->lolen = part->splitlen;
        v.hi = part->split;
        v.hilen = part->splitlen;
        FILE *mem = report ? open_memstream(&part->text, &part->textlen) : NULL;
        w->report = mem;
        mrc = mdb_cursor_open(w->txn, self->links, &w->lcur);
        if (mrc != 0)
            rc = wq_store_err(mrc, "mdb_cursor_open(links)", err);
        else if ((report && !mem) || pthread_create(&th, NULL, s_part_main, part) != 0)
            v.hi = NULL;        /* no second thread after all: walk it all here */
        else
            running = true;
        if (!running && mem) {
            fclose(mem);
            w->report = NULL;
        }
    }
    if (rc == WQ_OK)
        rc = s_entities(&v);
    s_release(&v);
    if (running) {
        pthread_join(th, NULL);
        s_verify_t *w = &part->v;
        if (w->report) {
            fclose(w->report);
            w->report = NULL;
        }
        if (rc == WQ_OK && part->rc != WQ_OK) {
            if (err)
                *err = part->err;
            rc = part->rc;
        }
        if (rc == WQ_OK) {
            if (report && part->textlen)
                fwrite(part->text, 1, part->textlen, report);
            v.ndiff += w->ndiff;
            v.indexed += w->indexed;
            v.links += w->links;
            if (s_expect_merge(&v.e, &w->e) != WQ_OK)
                rc = s_nomem(&v);
        }
    }
    if (part) {
        if (part->v.lcur)
            mdb_cursor_close(part->v.lcur);
        if (part->v.txn)
            mdb_txn_abort(part->v.txn);
        s_free_walk(&part->v);
        free(part->text);
        free(part);
    }
    /* After the walk, one thread: what did not decode, then the rest. */
    v.hi = NULL;
    v.defer_bad = false;
    for (size_t i = 0; rc == WQ_OK && i < v.nev; i++)
        if (s_bad(&v, i))
            s_report_bad(&v, i);
    if (rc == WQ_OK)
        rc = s_places(&v);
    if (rc == WQ_OK)
        rc = s_views(&v);
    s_release(&v);
    if (v.lcur)
        mdb_cursor_close(v.lcur);
    if (v.pcur)
        mdb_cursor_close(v.pcur);
    mdb_txn_abort(v.txn);
    free(v.ev);
    free(v.byhash);
    s_free_walk(&v);
    if (rc == WQ_OK)
        *differences = v.ndiff;
    return rc;
}
