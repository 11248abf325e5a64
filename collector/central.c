/*  =========================================================================
    central - the collector's central LMDB store: exactly-once ingest, the
    entity index and incremental views

    One batch is one write transaction: the stream's high-water mark drops
    duplicates and detects gaps; each new record is validated (or
    quarantined with its reason), stored once under its event key, and
    indexed under its entity. A correction or retraction belongs to its
    target's entity; while the target has not arrived it waits in the
    pending table keyed by the target's id and is placed when the target
    comes. At the end of the batch every entity the batch touched is
    re-folded once (fold.c) and the difference between its old and new
    contributions goes into the counters (views.c). Then the mark is
    raised and the transaction committed durably: only after that may the
    server acknowledge. A full map aborts the transaction: nothing of the
    batch is kept and the caller gets WQ_E_FULL.

    verify.c recomputes everything derived (entity index, pending table,
    enterprise links, entity states, counters, marks, totals) from
    the events alone and reports each difference. queries.c answers the
    named queries. docs/STORE.md documents the databases.
    =========================================================================
*/
#include "collector/central.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "collector/cstore.h"
#include "collector/fold.h"
#include "collector/marks.h"
#include "common/creditcode.h"
#include "common/date.h"
#include "common/division.h"
#include "common/i18n.h"
#include "collector/queries.h"
#include "collector/views.h"
#include "common/store.h"

#define S_DEFAULT_MAP ((size_t) 8 << 30)
#define S_RESOLVE_DEPTH 8
#define S_FORMAT_VERSION 5   /* 2: marks replace the deadline index; state v2;
                                 3: R marks (rectification spells) replace rectify_days,
                                    and area marks (A) index problems and enterprises;
                                 4: state v4 (the incremental fold's key); 2 and 3 are
                                    upgraded at open (s_upgrade_states);
                                 5: the rectification spells also as WQ_M_RECT_OPEN
                                    counters and S / X marks (views.h), derived from
                                    the R marks at open (s_upgrade_rect) */
/*  ---- small helpers shared through cstore.h ------------------------------ */

size_t
wq_ek_make(const char *agent, uint32_t inc, uint64_t seq, uint8_t out[WQ_EK_MAX])
{
    size_t n = strnlen(agent, WQ_AGENT_ID_MAX);
    memcpy(out, agent, n);
    out[n] = '\0';
    wq_be32_put(out + n + 1, inc);
    wq_be64_put(out + n + 5, seq);
    return n + 13;
}

bool
wq_ek_split(const uint8_t *ek, size_t len, char agent[WQ_AGENT_ID_MAX + 1], uint32_t *inc,
            uint64_t *seq)
{
    if (len < 14 || len > WQ_EK_MAX)
        return false;
    size_t n = len - 13;
    if (memchr(ek, '\0', n) || ek[n] != '\0')
        return false;
    memcpy(agent, ek, n);
    agent[n] = '\0';
    *inc = wq_be32_get(ek + n + 1);
    *seq = wq_be64_get(ek + n + 5);
    return true;
}

size_t
wq_ek_from_text(const char *id, uint8_t out[WQ_EK_MAX])
{
    char agent[WQ_AGENT_ID_MAX + 1];
    uint32_t inc;
    uint64_t seq;
    if (wq_event_id_parse(id, agent, &inc, &seq, NULL) != WQ_OK)
        return 0;
    return wq_ek_make(agent, inc, seq, out);
}

bool
wq_ek_to_text(const uint8_t *ek, size_t len, char out[WQ_EVENT_ID_MAX])
{
    char agent[WQ_AGENT_ID_MAX + 1];
    uint32_t inc;
    uint64_t seq;
    if (!wq_ek_split(ek, len, agent, &inc, &seq))
        return false;
    wq_event_id_format(agent, inc, seq, out);
    return true;
}

void
wq_buf_put(wq_buf_t *b, const void *p, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;   /* a fold state's blob: a few hundred bytes */
        while (ncap < b->len + n)
            ncap *= 2;
        uint8_t *d = realloc(b->data, ncap);
        if (!d) {
            b->oom = true;
            return;
        }
        b->data = d;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/*  The small writes (a fold state's blob is made of them) without a call
    when the buffer has room. */
void
wq_buf_u8(wq_buf_t *b, uint8_t v)
{
    if (!b->oom && b->len < b->cap) {
        b->data[b->len++] = v;
        return;
    }
    wq_buf_put(b, &v, 1);
}

void
wq_buf_u16(wq_buf_t *b, uint16_t v)
{
    if (!b->oom && b->cap - b->len >= 2) {
        b->data[b->len] = (uint8_t) (v >> 8);
        b->data[b->len + 1] = (uint8_t) v;
        b->len += 2;
        return;
    }
    uint8_t x[2] = {(uint8_t) (v >> 8), (uint8_t) v};
    wq_buf_put(b, x, 2);
}

void
wq_buf_u64(wq_buf_t *b, uint64_t v)
{
    uint8_t x[8];
    wq_be64_put(x, v);
    wq_buf_put(b, x, 8);
}

void
wq_buf_str(wq_buf_t *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n > 65535)
        n = 65535;
    wq_buf_u16(b, (uint16_t) n);
    if (!b->oom && b->cap - b->len >= n) {
        for (size_t i = 0; i < n; i++)     /* short strings: no call */
            b->data[b->len + i] = (uint8_t) s[i];
        b->len += n;
        return;
    }
    wq_buf_put(b, s, n);
}

void
wq_buf_free(wq_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

const uint8_t *
wq_rd_bytes(wq_rd_t *r, size_t n)
{
    if (r->bad || n > r->len - r->off) {
        r->bad = true;
        return NULL;
    }
    const uint8_t *p = r->p + r->off;
    r->off += n;
    return p;
}

uint8_t
wq_rd_u8(wq_rd_t *r)
{
    const uint8_t *p = wq_rd_bytes(r, 1);
    return p ? p[0] : 0;
}

uint16_t
wq_rd_u16(wq_rd_t *r)
{
    const uint8_t *p = wq_rd_bytes(r, 2);
    return p ? (uint16_t) (p[0] << 8 | p[1]) : 0;
}

uint64_t
wq_rd_u64(wq_rd_t *r)
{
    const uint8_t *p = wq_rd_bytes(r, 8);
    return p ? wq_be64_get(p) : 0;
}

void
wq_rd_str(wq_rd_t *r, char *out, size_t cap)
{
    size_t n = wq_rd_u16(r);
    const uint8_t *p = wq_rd_bytes(r, n);
    out[0] = '\0';
    if (!p)
        return;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

char *
wq_rd_strdup(wq_rd_t *r)
{
    size_t n = wq_rd_u16(r);
    const uint8_t *p = wq_rd_bytes(r, n);
    if (!p)
        return NULL;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

/*  ---- open / close ------------------------------------------------------- */

static int
s_meta_get(MDB_txn *txn, wq_central_t *c, const char *name, uint64_t *v, wq_err_t *err)
{
    MDB_val k = {strlen(name), (void *) name}, d;
    *v = 0;
    int mrc = mdb_get(txn, c->meta, &k, &d);
    if (mrc == MDB_NOTFOUND)
        return WQ_OK;
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_get(meta)", err);
    if (d.mv_size != 8)
        return wq_err_set(err, WQ_E_CORRUPT, "meta", _("meta value %s is malformed"), name);
    *v = wq_be64_get(d.mv_data);
    return WQ_OK;
}

static int
s_meta_add(MDB_txn *txn, wq_central_t *c, const char *name, int64_t delta, wq_err_t *err)
{
    if (delta == 0)
        return WQ_OK;
    uint64_t v;
    int rc = s_meta_get(txn, c, name, &v, err);
    if (rc != WQ_OK)
        return rc;
    uint8_t b[8];
    wq_be64_put(b, v + (uint64_t) delta);
    MDB_val k = {strlen(name), (void *) name}, d = {8, b};
    int mrc = mdb_put(txn, c->meta, &k, &d, 0);
    return mrc ? wq_store_err(mrc, "mdb_put(meta)", err) : WQ_OK;
}

/*  Format 2, 3 or 4 -> 5: the WQ_M_RECT_OPEN counters and the S / X marks
    (views.h) of the stored R marks, which are read first and then derived
    as if each were new. Runs before s_upgrade_states, whose differences
    then carry them like ingest does. */
static int
s_upgrade_rect(MDB_txn *txn, wq_central_t *c, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    wq_marks_t rs = {0};
    int mrc = mdb_cursor_open(txn, c->marks, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(marks)", err);
    MDB_val k = {1, "R"}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < 1 || ((const char *) k.mv_data)[0] != 'R')
            break;
        if (k.mv_size != 39 || v.mv_size != 8) {
            mdb_cursor_close(cur);
            wq_marks_free(&rs);
            return wq_err_set(err, WQ_E_CORRUPT, "marks", _("a stored R mark is malformed: run verify"));
        }
        int64_t n;
        memcpy(&n, v.mv_data, 8);
        char key[40];
        memcpy(key, k.mv_data, 39);
        key[39] = '\0';
        wq_marks_add(&rs, n, key, NULL);
    }
    mdb_cursor_close(cur);
    int rc = WQ_OK;
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(marks)", err);
    else if (rs.oom)
        rc = wq_err_set(err, WQ_E_NOMEM, "marks", _("out of memory upgrading the store"));
    else
        rc = wq_rect_apply(txn, c, NULL, 0, rs.m, rs.n, err);   /* read in key order */
    wq_marks_free(&rs);
    return rc;
}

/*  Format 2 or 3 -> 4: every entity is folded again and its state stored in the
    current format; the difference between its old contributions and marks
    (state version 3 still decodes) and the new ones is applied like at
    ingest, so the upgrade also carries any change of what a fold gives.
    In the open's write transaction; the keys are read first, then each
    entity is folded and stored. */
static int s_state_store(MDB_txn *txn, wq_central_t *c, const char *entity,
                         const wq_fold_state_t *old, const wq_fold_state_t *nw, wq_err_t *err);

static int
s_upgrade_states(MDB_txn *txn, wq_central_t *c, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    wq_buf_t keys = {0};
    int rc = WQ_OK;
    int mrc = mdb_cursor_open(txn, c->states, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(states)", err);
    MDB_val k, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size == 0 || k.mv_size >= WQ_ENTITY_MAX || memchr(k.mv_data, 0, k.mv_size)) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "states",
                            _("a state key is malformed: rebuild the store from the agents"));
            goto done;
        }
        wq_buf_put(&keys, k.mv_data, k.mv_size);
        wq_buf_u8(&keys, 0);
    }
    mdb_cursor_close(cur);
    cur = NULL;
    if (mrc != MDB_NOTFOUND) {
        rc = wq_store_err(mrc, "mdb_cursor_get(states)", err);
        goto done;
    }
    if (keys.oom) {
        rc = wq_err_set(err, WQ_E_NOMEM, "states", _("out of memory upgrading the store"));
        goto done;
    }
    for (size_t off = 0; off < keys.len && rc == WQ_OK;) {
        const char *entity = (const char *) keys.data + off;
        wq_fold_state_t old = {0}, nw = {0};
        MDB_val ek = {strlen(entity), (void *) entity}, ev;
        off += strlen(entity) + 1;
        mrc = mdb_get(txn, c->states, &ek, &ev);
        rc = mrc ? wq_store_err(mrc, "mdb_get(states)", err)
                 : wq_fold_state_decode(ev.mv_data, ev.mv_size, &old, err);
        if (rc == WQ_OK)
            rc = wq_fold_entity(txn, c, entity, &nw, err);
        if (rc == WQ_OK)
            rc = s_state_store(txn, c, entity, &old, &nw, err);
        wq_fold_state_clear(&old);
        wq_fold_state_clear(&nw);
    }
done:
    if (cur)
        mdb_cursor_close(cur);
    wq_buf_free(&keys);
    return rc;
}

/*  ---- per-agent store quota ----------------------------------------------- */

/*  Meta keys of an agent's quota accounting: "bytes/AGENT" (bytes its
    events and quarantined records occupy) and "quota/AGENT" (time of the
    last batch refused for the quota, 0 once one is accepted again). */
static void
s_quota_key(char out[WQ_AGENT_ID_MAX + 8], const char *what, const char *agent)
{
    snprintf(out, WQ_AGENT_ID_MAX + 8, "%s/%s", what, agent);
}

/*  Sum of the value sizes under agent's event keys in dbi. */
static int
s_agent_bytes(MDB_txn *txn, MDB_dbi dbi, const char *agent, uint64_t *sum, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    size_t alen = strlen(agent);
    int mrc = mdb_cursor_open(txn, dbi, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(quota)", err);
    MDB_val k = {alen + 1, (void *) agent}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         mrc == 0 && k.mv_size == alen + 13 && memcmp(k.mv_data, agent, alen + 1) == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        *sum += v.mv_size;
    mdb_cursor_close(cur);
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return wq_store_err(mrc, "mdb_cursor_get(quota)", err);
    return WQ_OK;
}

int
wq_central_agent_bytes(MDB_txn *txn, wq_central_t *c, const char *agent, bool count, uint64_t *bytes,
                       uint64_t *refused_ms, wq_err_t *err)
{
    char key[WQ_AGENT_ID_MAX + 8];
    MDB_val k, v;
    *bytes = 0;
    s_quota_key(key, "quota", agent);
    int rc = s_meta_get(txn, c, key, refused_ms, err);
    if (rc != WQ_OK)
        return rc;
    s_quota_key(key, "bytes", agent);
    k.mv_size = strlen(key);
    k.mv_data = key;
    int mrc = mdb_get(txn, c->meta, &k, &v);
    if (mrc == 0 && v.mv_size == 8) {
        *bytes = wq_be64_get(v.mv_data);
        return WQ_OK;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return wq_store_err(mrc, "mdb_get(meta)", err);
    if (!count)
        return WQ_OK;
    /* Not counted yet (a store of an earlier version): count once. */
    rc = s_agent_bytes(txn, c->events, agent, bytes, err);
    if (rc == WQ_OK)
        rc = s_agent_bytes(txn, c->quarantine, agent, bytes, err);
    return rc;
}

static int
s_meta_put(MDB_txn *txn, wq_central_t *c, const char *name, uint64_t value, wq_err_t *err)
{
    uint8_t b[8];
    wq_be64_put(b, value);
    MDB_val k = {strlen(name), (void *) name}, d = {8, b};
    int mrc = mdb_put(txn, c->meta, &k, &d, 0);
    return mrc ? wq_store_err(mrc, "mdb_put(meta)", err) : WQ_OK;
}

void
wq_central_set_agent_quota(wq_central_t *self, uint64_t bytes)
{
    self->agent_quota = bytes;
}

int
wq_central_open(const char *dir, size_t map_bytes, wq_central_t **out, wq_err_t *err)
{
    wq_central_t *c = NULL;
    MDB_txn *txn = NULL;
    int rc;
    if (!dir || !out)
        return wq_err_set(err, WQ_E_INTERNAL, "dir", _("wq_central_open called without a path"));
    *out = NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        return wq_err_set(err, WQ_E_NOMEM, "central", _("out of memory opening %s"), dir);
    rc = wq_store_open(dir, map_bytes ? map_bytes : S_DEFAULT_MAP, 16, &c->env, err);
    if (rc != WQ_OK)
        goto fail;
    int mrc = mdb_txn_begin(c->env, NULL, 0, &txn);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_txn_begin", err);
        goto fail;
    }
    struct {
        const char *name;
        unsigned flags;
        MDB_dbi *dbi;
    } dbs[] = {
        {"events", 0, &c->events},         {"entities", MDB_DUPSORT, &c->entities},
        {"pending", MDB_DUPSORT, &c->pending}, {"links", MDB_DUPSORT, &c->links},
        {"states", 0, &c->states},         {"views", 0, &c->views},
        {"marks", 0, &c->marks},           {"streams", 0, &c->streams},
        {"quarantine", 0, &c->quarantine}, {"meta", 0, &c->meta},
        {"transfers", 0, &c->transfers},   {"entcounts", 0, &c->entcounts},
    };
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        mrc = mdb_dbi_open(txn, dbs[i].name, dbs[i].flags | MDB_CREATE, dbs[i].dbi);
        if (mrc != 0) {
            rc = wq_store_err(mrc, "mdb_dbi_open", err);
            goto fail;
        }
    }
    uint64_t version;
    rc = s_meta_get(txn, c, "version", &version, err);
    if (rc != WQ_OK)
        goto fail;
    if (version == 0) {
        rc = s_meta_add(txn, c, "version", S_FORMAT_VERSION, err);
        if (rc != WQ_OK)
            goto fail;
    } else if (version >= 2 && version <= 4) {
        rc = s_upgrade_rect(txn, c, err);
        if (rc == WQ_OK && version < 4)
            rc = s_upgrade_states(txn, c, err);
        if (rc == WQ_OK)
            rc = s_meta_add(txn, c, "version", (int64_t) (S_FORMAT_VERSION - version), err);
        if (rc != WQ_OK)
            goto fail;
    } else if (version != S_FORMAT_VERSION) {
        rc = wq_err_set(err, WQ_E_CORRUPT, "version",
                        _("%s holds a central store of format %" PRIu64 ", this program reads %d: "
                        "use the matching wanqi-collector"), dir, version, S_FORMAT_VERSION);
        goto fail;
    }
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_txn_commit", err);
        goto fail;
    }
    *out = c;
    return WQ_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (c && c->env)
        mdb_env_close(c->env);
    free(c);
    return rc;
}

int
wq_central_open_readonly(const char *dir, wq_central_t **out, wq_err_t *err)
{
    wq_central_t *c = NULL;
    MDB_txn *txn = NULL;
    int rc = WQ_OK, mrc;
    char what[200];
    if (!dir || !out)
        return wq_err_set(err, WQ_E_INTERNAL, "dir", _("wq_central_open_readonly called without a path"));
    *out = NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        return wq_err_set(err, WQ_E_NOMEM, "central", _("out of memory opening %s"), dir);
    if ((mrc = mdb_env_create(&c->env)) != 0 || (mrc = mdb_env_set_maxdbs(c->env, 16)) != 0) {
        rc = wq_store_err(mrc, "mdb_env_create", err);
        goto fail;
    }
    /* No map size: a read-only environment takes the store's own. */
    mrc = mdb_env_open(c->env, dir, MDB_RDONLY | MDB_NOTLS, 0600);
    if (mrc != 0) {
        snprintf(what, sizeof what, "mdb_env_open(%s, read-only; start the collector once to create it)", dir);
        rc = wq_store_err(mrc, what, err);
        goto fail;
    }
    int dead = 0;
    mdb_reader_check(c->env, &dead);
    if ((mrc = mdb_txn_begin(c->env, NULL, MDB_RDONLY, &txn)) != 0) {
        rc = wq_store_err(mrc, "mdb_txn_begin(read)", err);
        goto fail;
    }
    struct {
        const char *name;
        MDB_dbi *dbi;
    } dbs[] = {
        {"events", &c->events}, {"entities", &c->entities}, {"pending", &c->pending},
        {"links", &c->links},   {"states", &c->states},     {"views", &c->views},
        {"marks", &c->marks},   {"streams", &c->streams}, {"quarantine", &c->quarantine},
        {"meta", &c->meta},     {"transfers", &c->transfers},
    };
    for (size_t i = 0; i < sizeof dbs / sizeof dbs[0]; i++) {
        mrc = mdb_dbi_open(txn, dbs[i].name, 0, dbs[i].dbi);
        if (mrc != 0) {
            snprintf(what, sizeof what, "mdb_dbi_open(%s) in %s", dbs[i].name, dir);
            rc = wq_store_err(mrc, what, err);
            goto fail;
        }
    }
    uint64_t version;
    if ((rc = s_meta_get(txn, c, "version", &version, err)) != WQ_OK)
        goto fail;
    if (version != S_FORMAT_VERSION) {
        rc = wq_err_set(err, WQ_E_CORRUPT, "version",
                        _("%s holds a central store of format %" PRIu64 ", this program reads %d"), dir,
                        version, S_FORMAT_VERSION);
        goto fail;
    }
    /* Committing a read transaction keeps the database handles open. */
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_txn_commit(read)", err);
        goto fail;
    }
    *out = c;
    return WQ_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (c->env)
        mdb_env_close(c->env);
    free(c);
    return rc;
}

void
wq_central_destroy(wq_central_t **self)
{
    if (!self || !*self)
        return;
    mdb_env_close((*self)->env);
    if ((*self)->vacc_mem) {
        wq_views_acc_free((*self)->vacc_mem);
        free((*self)->vacc_mem);
    }
    free(*self);
    *self = NULL;
}

/*  ---- streams ------------------------------------------------------------ */

static size_t
s_stream_key(const char *agent, uint32_t inc, uint8_t out[WQ_AGENT_ID_MAX + 5])
{
    size_t n = strnlen(agent, WQ_AGENT_ID_MAX);
    memcpy(out, agent, n);
    out[n] = '\0';
    wq_be32_put(out + n + 1, inc);
    return n + 5;
}

int
wq_stream_decode(const void *data, size_t size, wq_stream_row_t *row)
{
    wq_rd_t r = {data, size, 0, false};
    memset(row, 0, sizeof *row);
    const uint8_t *county = wq_rd_bytes(&r, 6);
    if (county)
        memcpy(row->county, county, 6);
    row->hwm = wq_rd_u64(&r);
    row->stored = wq_rd_u64(&r);
    row->quarantined = wq_rd_u64(&r);
    row->last_seq = wq_rd_u64(&r);
    row->queued = wq_rd_u64(&r);
    row->contact_ms = wq_rd_u64(&r);
    return r.bad || r.off != size ? WQ_E_CORRUPT : WQ_OK;
}

static int
s_stream_get(MDB_txn *txn, wq_central_t *c, const char *agent, uint32_t inc, wq_stream_row_t *row,
             bool *exists, wq_err_t *err)
{
    uint8_t kb[WQ_AGENT_ID_MAX + 5];
    MDB_val k = {s_stream_key(agent, inc, kb), kb}, v;
    memset(row, 0, sizeof *row);
    *exists = false;
    int mrc = mdb_get(txn, c->streams, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return WQ_OK;
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_get(streams)", err);
    if (wq_stream_decode(v.mv_data, v.mv_size, row) != WQ_OK)
        return wq_err_set(err, WQ_E_CORRUPT, "streams",
                          _("the stored row of stream %s/%08x is malformed: run verify"), agent, inc);
    *exists = true;
    return WQ_OK;
}

static int
s_stream_put(MDB_txn *txn, wq_central_t *c, const char *agent, uint32_t inc,
             const wq_stream_row_t *row, wq_err_t *err)
{
    uint8_t kb[WQ_AGENT_ID_MAX + 5], vb[6 + 6 * 8];
    memcpy(vb, row->county, 6);
    wq_be64_put(vb + 6, row->hwm);
    wq_be64_put(vb + 14, row->stored);
    wq_be64_put(vb + 22, row->quarantined);
    wq_be64_put(vb + 30, row->last_seq);
    wq_be64_put(vb + 38, row->queued);
    wq_be64_put(vb + 46, row->contact_ms);
    MDB_val k = {s_stream_key(agent, inc, kb), kb}, v = {sizeof vb, vb};
    int mrc = mdb_put(txn, c->streams, &k, &v, 0);
    return mrc ? wq_store_err(mrc, "mdb_put(streams)", err) : WQ_OK;
}

static int
s_check_stream_args(const char *agent, const char *county, bool need_county, uint32_t inc,
                    wq_err_t *err)
{
    if (!agent || wq_agent_id_check(agent, err) != WQ_OK)
        return wq_err_set(err, WQ_E_FORMAT, "agent", _("agent id \"%s\" is malformed"),
                          agent ? agent : "(null)");
    if (need_county && !county)
        return wq_err_set(err, WQ_E_FORMAT, "county", _("no county given for agent %s"), agent);
    if (county && (strlen(county) != 6 || strspn(county, "0123456789") != 6))
        return wq_err_set(err, WQ_E_FORMAT, "county", _("agent county \"%s\" is not 6 digits"),
                          county);
    if (inc == 0)
        return wq_err_set(err, WQ_E_RANGE, "inc", _("incarnation 0 is not valid"));
    return WQ_OK;
}

int
wq_central_hwm(wq_central_t *self, const char *agent, uint32_t inc, uint64_t *hwm, wq_err_t *err)
{
    MDB_txn *txn = NULL;
    wq_stream_row_t row;
    bool exists;
    *hwm = 0;
    int rc = s_check_stream_args(agent, NULL, false, inc, err);
    if (rc != WQ_OK)
        return rc;
    int mrc = wq_store_txn_begin(self->env, MDB_RDONLY, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin(read)", err);
    rc = s_stream_get(txn, self, agent, inc, &row, &exists, err);
    if (rc == WQ_OK)
        *hwm = row.hwm;
    mdb_txn_abort(txn);
    return rc;
}

/*  How many streams (incarnations) agent has. */
static int
s_agent_streams(MDB_txn *txn, wq_central_t *c, const char *agent, size_t *n, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    size_t alen = strlen(agent);
    *n = 0;
    int mrc = mdb_cursor_open(txn, c->streams, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(streams)", err);
    MDB_val k = {alen + 1, (void *) agent}, v;     /* agent NUL: its first stream */
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
         mrc == 0 && k.mv_size == alen + 5 && memcmp(k.mv_data, agent, alen + 1) == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        (*n)++;
    mdb_cursor_close(cur);
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return wq_store_err(mrc, "mdb_cursor_get(streams)", err);
    return WQ_OK;
}

int
wq_central_touch(wq_central_t *self, const char *agent, const char *county, uint32_t inc,
                 uint64_t last_seq, uint64_t queued, uint64_t now_ms, wq_err_t *err)
{
    MDB_txn *txn = NULL;
    wq_stream_row_t row;
    bool exists;
    int rc = s_check_stream_args(agent, county, true, inc, err);
    if (rc != WQ_OK)
        return rc;
    int mrc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin", err);
    rc = s_stream_get(txn, self, agent, inc, &row, &exists, err);
    if (rc != WQ_OK)
        goto fail;
    if (!exists) {
        /* Each new incarnation is a permanent row: bound them per agent. */
        size_t nstreams = 0;
        rc = s_agent_streams(txn, self, agent, &nstreams, err);
        if (rc != WQ_OK)
            goto fail;
        if (nstreams >= WQ_STREAMS_MAX_PER_AGENT) {
            rc = wq_err_set(err, WQ_E_RANGE, "inc",
                            _("agent %s already has %zu incarnations, the most one agent may have: "
                            "a new one (a re-initialised outbox) needs the collector's operator "
                            "(docs/SECURITY.md)"), agent, nstreams);
            goto fail;
        }
    }
    memcpy(row.county, county, 6);
    row.last_seq = last_seq;
    row.queued = queued;
    row.contact_ms = now_ms;
    rc = s_stream_put(txn, self, agent, inc, &row, err);
    if (rc == WQ_OK && !exists)
        rc = s_meta_add(txn, self, "streams", 1, err);
    if (rc != WQ_OK)
        goto fail;
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_txn_commit", err);
        goto fail;
    }
    return WQ_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

/*  ---- entity placement --------------------------------------------------- */

typedef enum { S_RESOLVED = 1, S_PENDING = 2, S_ORPHAN = 3 } s_place_t;

static bool
s_is_modifier(const wq_record_t *r)
{
    return r->type == WQ_REC_CORRECTION || r->type == WQ_REC_RETRACTION;
}

/*  Where an event belongs: follow a correction/retraction's target chain
    to a base event and take its entity; if a link of the chain is not
    stored yet, the event waits for it (*missing); a chain longer than
    S_RESOLVE_DEPTH (or a cycle) belongs nowhere. */
static int
s_resolve(MDB_txn *txn, wq_central_t *c, const wq_record_t *rec, s_place_t *place,
          char entity[WQ_ENTITY_MAX], uint8_t missing[WQ_EK_MAX], size_t *mlen, wq_err_t *err)
{
    const wq_record_t *cur = rec;
    wq_record_t *owned = NULL;
    int rc = WQ_OK;
    *place = S_ORPHAN;
    for (int depth = 0; depth <= S_RESOLVE_DEPTH; depth++) {
        if (!s_is_modifier(cur)) {
            wq_record_entity(cur, entity);
            *place = S_RESOLVED;
            goto done;
        }
        if (depth == S_RESOLVE_DEPTH)
            break;
        uint8_t ek[WQ_EK_MAX];
        size_t eklen = wq_ek_from_text(cur->target, ek);
        if (eklen == 0)
            goto done;
        MDB_val k = {eklen, ek}, v;
        int mrc = mdb_get(txn, c->events, &k, &v);
        if (mrc == MDB_NOTFOUND) {
            memcpy(missing, ek, eklen);
            *mlen = eklen;
            *place = S_PENDING;
            goto done;
        }
        if (mrc != 0) {
            rc = wq_store_err(mrc, "mdb_get(events)", err);
            goto done;
        }
        wq_record_t *next = NULL;
        if (wq_record_decode(v.mv_data, v.mv_size, &next, NULL) != WQ_OK) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "events",
                            _("stored event %s no longer decodes: restore from backup"), cur->target);
            goto done;
        }
        wq_record_destroy(&owned);
        owned = next;
        cur = next;
    }
done:
    wq_record_destroy(&owned);
    return rc;
}

/*  An entity the batch touched, with the event placed in it: the record
    decoded in s_take (owned) when it can be applied to the stored state
    alone (wq_fold_append), NULL when the entity must be folded in full
    (a correction or retraction, or an event placed again from pending). */
typedef struct {
    char *entity;
    wq_record_t *rec;
} s_touch_t;

typedef struct {
    s_touch_t *t;
    size_t n, cap;
} s_dirty_t;

/*  Remember entity; takes *rec (may be NULL) in any case. */
static int
s_dirty_add(s_dirty_t *d, const char *entity, wq_record_t **rec, wq_err_t *err)
{
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 64;
        s_touch_t *nt = realloc(d->t, ncap * sizeof *nt);
        if (!nt) {
            wq_record_destroy(rec);
            return wq_err_set(err, WQ_E_NOMEM, "ingest", _("out of memory tracking entities"));
        }
        d->t = nt;
        d->cap = ncap;
    }
    d->t[d->n].entity = strdup(entity);
    if (!d->t[d->n].entity) {
        wq_record_destroy(rec);
        return wq_err_set(err, WQ_E_NOMEM, "ingest", _("out of memory tracking entities"));
    }
    d->t[d->n].rec = rec ? *rec : NULL;
    if (rec)
        *rec = NULL;
    d->n++;
    return WQ_OK;
}

static void
s_dirty_free(s_dirty_t *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->t[i].entity);
        wq_record_destroy(&d->t[i].rec);
    }
    free(d->t);
    memset(d, 0, sizeof *d);
}

/*  By entity, then its events in fold order (a full fold first). */
static int
s_cmp_touch(const void *a, const void *b)
{
    const s_touch_t *x = a, *y = b;
    int d = strcmp(x->entity, y->entity);
    if (d || (!x->rec && !y->rec))
        return d;
    if (!x->rec || !y->rec)
        return x->rec ? 1 : -1;
    return wq_record_fold_cmp(x->rec, y->rec);
}

/*  The enterprise link of a problem or consultation opened by rec. */
static bool
s_link_of(const wq_record_t *rec, char link[WQ_ENTITY_MAX])
{
    if ((rec->type != WQ_REC_PROBLEM && rec->type != WQ_REC_CONSULTATION) || rec->ent[0] == '\0')
        return false;
    snprintf(link, WQ_ENTITY_MAX, "E:%s", rec->ent);
    return true;
}

static int
s_put_dup(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const void *val, size_t vlen,
          const char *what, wq_err_t *err)
{
    MDB_val k = {klen, (void *) key}, v = {vlen, (void *) val};
    int mrc = mdb_put(txn, dbi, &k, &v, MDB_NODUPDATA);
    if (mrc == MDB_KEYEXIST)
        return WQ_OK;
    return mrc ? wq_store_err(mrc, what, err) : WQ_OK;
}

static int s_entcount_add(MDB_txn *txn, wq_central_t *c, const char *entity, const char *county,
                          wq_err_t *err);

/*  Place one stored event (*recp, key ek) in the entity index or the
    pending table, and remember its entity for the re-fold. When the entity
    may be folded incrementally, *recp is handed to the dirty list (set to
    NULL); else the caller keeps it. */
static int
s_place(MDB_txn *txn, wq_central_t *c, wq_record_t **recp, const uint8_t *ek, size_t eklen,
        s_dirty_t *dirty, bool incremental, wq_err_t *err)
{
    const wq_record_t *rec = *recp;
    s_place_t place;
    char entity[WQ_ENTITY_MAX], link[WQ_ENTITY_MAX];
    uint8_t missing[WQ_EK_MAX];
    size_t mlen = 0;
    int rc = s_resolve(txn, c, rec, &place, entity, missing, &mlen, err);
    if (rc != WQ_OK || place == S_ORPHAN)
        return rc;
    if (place == S_PENDING)
        return s_put_dup(txn, c->pending, missing, mlen, ek, eklen, "mdb_put(pending)", err);
    uint8_t sk[WQ_SK_MAX];
    memcpy(sk, rec->date, 10);
    memcpy(sk + 10, ek, eklen);
    MDB_val ik = {strlen(entity), entity}, iv = {10 + eklen, sk};
    int prc = mdb_put(txn, c->entities, &ik, &iv, MDB_NODUPDATA);
    if (prc == 0)
        rc = s_entcount_add(txn, c, entity, rec->county, err);
    else if (prc != MDB_KEYEXIST)
        rc = wq_store_err(prc, "mdb_put(entities)", err);
    if (rc == WQ_OK && s_link_of(rec, link))
        rc = s_put_dup(txn, c->links, link, strlen(link), entity, strlen(entity), "mdb_put(links)",
                       err);
    if (rc == WQ_OK)
        rc = s_dirty_add(dirty, entity, incremental && prc == 0 && !s_is_modifier(rec) ? recp : NULL,
                         err);
    return rc;
}

/*  Events waiting for ek (just stored) are placed again. */
static int
s_release_waiters(MDB_txn *txn, wq_central_t *c, const uint8_t *ek, size_t eklen, s_dirty_t *dirty,
                  wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    uint8_t (*waiters)[WQ_EK_MAX] = NULL;
    size_t *lens = NULL, n = 0, cap = 0;
    int rc = WQ_OK;
    int mrc = mdb_cursor_open(txn, c->pending, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open(pending)", err);
    MDB_val k = {eklen, (void *) ek}, v;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
        if (v.mv_size > WQ_EK_MAX) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "pending", _("a pending entry is malformed: run verify"));
            goto done;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            void *nw = realloc(waiters, ncap * sizeof *waiters);
            if (!nw) {
                rc = wq_err_set(err, WQ_E_NOMEM, "pending", _("out of memory"));
                goto done;
            }
            waiters = nw;
            size_t *nl = realloc(lens, ncap * sizeof *lens);
            if (!nl) {
                rc = wq_err_set(err, WQ_E_NOMEM, "pending", _("out of memory"));
                goto done;
            }
            lens = nl;
            cap = ncap;
        }
        memcpy(waiters[n], v.mv_data, v.mv_size);
        lens[n++] = v.mv_size;
    }
    if (mrc != MDB_NOTFOUND) {
        rc = wq_store_err(mrc, "mdb_cursor_get(pending)", err);
        goto done;
    }
    mdb_cursor_close(cur);
    cur = NULL;
    if (n == 0)
        goto done;
    mrc = mdb_del(txn, c->pending, &k, NULL);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_del(pending)", err);
        goto done;
    }
    for (size_t i = 0; i < n && rc == WQ_OK; i++) {
        MDB_val wk = {lens[i], waiters[i]}, wv;
        mrc = mdb_get(txn, c->events, &wk, &wv);
        if (mrc != 0) {
            rc = mrc == MDB_NOTFOUND
                     ? wq_err_set(err, WQ_E_CORRUPT, "pending",
                                  _("a pending event is not stored: run verify"))
                     : wq_store_err(mrc, "mdb_get(events)", err);
            break;
        }
        wq_record_t *w = NULL;
        if (wq_record_decode(wv.mv_data, wv.mv_size, &w, NULL) != WQ_OK) {
            rc = wq_err_set(err, WQ_E_CORRUPT, "events", _("a stored event no longer decodes"));
            break;
        }
        rc = s_place(txn, c, &w, waiters[i], lens[i], dirty, false, err);
        wq_record_destroy(&w);
    }
done:
    if (cur)
        mdb_cursor_close(cur);
    free(waiters);
    free(lens);
    return rc;
}

/*  Apply the difference between an entity's old and new state to the
    views and the marks, and store the new state. */
static int
s_state_store(MDB_txn *txn, wq_central_t *c, const char *entity, const wq_fold_state_t *old,
              const wq_fold_state_t *nw, wq_err_t *err)
{
    wq_buf_t blob = {0};
    int rc = c->vacc ? wq_views_acc_diff(c->vacc, old->contribs, old->ncontribs, nw->contribs,
                                         nw->ncontribs, err)
                     : wq_views_apply(txn, c, old->contribs, old->ncontribs, nw->contribs,
                                      nw->ncontribs, err);
    if (rc == WQ_OK)
        rc = wq_marks_apply(txn, c, old->marks, old->nmarks, nw->marks, nw->nmarks, err);
    if (rc == WQ_OK)
        rc = wq_rect_apply(txn, c, old->marks, old->nmarks, nw->marks, nw->nmarks, err);
    if (rc != WQ_OK)
        goto done;
    wq_fold_state_encode(nw, &blob);
    if (blob.oom) {
        rc = wq_err_set(err, WQ_E_NOMEM, "states", _("out of memory folding %s"), entity);
        goto done;
    }
    MDB_val k = {strlen(entity), (void *) entity}, v = {blob.len, blob.data};
    int mrc = mdb_put(txn, c->states, &k, &v, 0);
    if (mrc != 0)
        rc = wq_store_err(mrc, "mdb_put(states)", err);
done:
    wq_buf_free(&blob);
    return rc;
}

/*  The stored state of entity into *st (zeroed, *found false, if none). */
static int
s_state_get(MDB_txn *txn, wq_central_t *c, const char *entity, wq_fold_state_t *st, bool *found,
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
    *found = true;
    return wq_fold_state_decode(v.mv_data, v.mv_size, st, err);
}

/*  Re-fold one entity from all its events and apply the difference to the
    views and the marks. */
static int
s_refold(MDB_txn *txn, wq_central_t *c, const char *entity, wq_err_t *err)
{
    wq_fold_state_t old = {0}, nw = {0};
    bool found;
    int rc = s_state_get(txn, c, entity, &old, &found, err);
    c->folds_full++;
    if (rc == WQ_OK)
        rc = wq_fold_entity(txn, c, entity, &nw, err);
    if (rc == WQ_OK)
        rc = s_state_store(txn, c, entity, &old, &nw, err);
    wq_fold_state_clear(&old);
    wq_fold_state_clear(&nw);
    return rc;
}

static int s_dup_count(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, size_t *n,
                       wq_err_t *err);

/*  A new entity whose only events are the n base events t[] of this
    batch: fold them as s_take decoded them (the records are taken from t),
    without reading them back. *done false (and t untouched) if the entity
    holds other events. */
static int
s_fold_new(MDB_txn *txn, wq_central_t *c, const char *entity, s_touch_t *t, size_t n,
           bool *done, wq_err_t *err)
{
    wq_fold_state_t old = {0}, nw = {0};
    wq_fold_transfer_t *tr = NULL;
    wq_fold_item_t *items = NULL;
    size_t held = 0, ntr = 0;
    *done = false;
    int rc = s_dup_count(txn, c->entities, entity, strlen(entity), &held, err);
    if (rc != WQ_OK || held != n)
        return rc;
    rc = wq_fold_transfers_load(txn, c, entity, &tr, &ntr, err);
    if (rc != WQ_OK)
        return rc;
    items = calloc(n, sizeof *items);
    if (!items) {
        free(tr);
        return wq_err_set(err, WQ_E_NOMEM, "fold", _("out of memory folding %s"), entity);
    }
    *done = true;
    for (size_t i = 0; i < n; i++) {
        items[i].rec = t[i].rec;
        t[i].rec = NULL;
        wq_record_id(items[i].rec, items[i].id);
    }
    c->folds_new++;
    rc = wq_fold_compute_owned(entity, items, n, tr, ntr, &nw, err);
    if (rc == WQ_OK)
        rc = s_state_store(txn, c, entity, &old, &nw, err);
    wq_fold_items_free(&items, n);
    wq_fold_state_clear(&nw);
    free(tr);
    return rc;
}

/*  Fold the n events t[] (new base events of one entity, in fold order,
    decoded by s_take) into its stored state without reading its history
    (wq_fold_append); a new entity is folded from t[] alone (s_fold_new);
    when one of them cannot be applied alone, fold the entity in full. The
    result is the same either way (tests/test_fold_incr). */
static int
s_refold_touched(MDB_txn *txn, wq_central_t *c, const char *entity, s_touch_t *t, size_t n,
                 wq_err_t *err)
{
    wq_fold_state_t old = {0}, nw = {0};
    wq_fold_transfer_t *tr = NULL;
    size_t ntr = 0;
    bool found, applied = false;
    int rc = s_state_get(txn, c, entity, &old, &found, err);
    if (rc == WQ_OK && !found) {
        bool done;
        rc = s_fold_new(txn, c, entity, t, n, &done, err);
        if (rc != WQ_OK || done)
            goto done;
    }
    if (rc != WQ_OK || !found || !old.exists)
        goto full;
    if (entity[0] == 'E') {
        rc = wq_fold_transfers_load(txn, c, entity, &tr, &ntr, err);
        if (rc != WQ_OK || ntr > 0)
            goto full;
    }
    MDB_val k = {strlen(entity), (void *) entity}, v;
    int mrc = mdb_get(txn, c->states, &k, &v);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_get(states)", err);
        goto done;
    }
    rc = wq_fold_state_decode(v.mv_data, v.mv_size, &nw, err);
    for (size_t i = 0; rc == WQ_OK && i < n; i++) {
        char id[WQ_EVENT_ID_MAX];
        wq_record_id(t[i].rec, id);
        rc = wq_fold_append(entity, &nw, t[i].rec, id, ntr, &applied, err);
        if (rc == WQ_OK && !applied)
            break;
    }
    if (rc != WQ_OK)
        goto done;
    if (applied) {
        c->folds_incremental++;
        rc = s_state_store(txn, c, entity, &old, &nw, err);
        goto done;
    }
full:
    if (rc == WQ_OK)
        rc = s_refold(txn, c, entity, err);
done:
    free(tr);
    wq_fold_state_clear(&old);
    wq_fold_state_clear(&nw);
    return rc;
}

/*  ---- limits: what one record may make the store hold (issue 10) ------------

    Refused records are quarantined with their reason, never dropped: the
    stream goes on and staff see them. These bound the work any later batch
    can be made to do: one county adds at most WQ_ENTITY_MAX_EVENTS events
    to one entity (so another county can never fill it for its owner), and
    a stored event releases at most WQ_PENDING_MAX_PER_TARGET waiters. */

static int
s_dup_count(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, size_t *n, wq_err_t *err)
{
    MDB_cursor *cur = NULL;
    *n = 0;
    int mrc = mdb_cursor_open(txn, dbi, &cur);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_cursor_open", err);
    MDB_val k = {klen, (void *) key}, v;
    mrc = mdb_cursor_get(cur, &k, &v, MDB_SET);
    if (mrc == 0)
        mrc = mdb_cursor_count(cur, n);
    mdb_cursor_close(cur);
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        return wq_store_err(mrc, "mdb_cursor_count", err);
    return WQ_OK;
}

/*  entcounts key: entity key, NUL, county. */
static size_t
s_entcount_key(const char *entity, const char *county, uint8_t out[WQ_ENTITY_MAX + 8])
{
    size_t n = strlen(entity);
    memcpy(out, entity, n);
    out[n] = 0;
    memcpy(out + n + 1, county, 6);
    return n + 7;
}

static int
s_entcount_get(MDB_txn *txn, wq_central_t *c, const char *entity, const char *county, uint64_t *n,
               wq_err_t *err)
{
    uint8_t key[WQ_ENTITY_MAX + 8];
    MDB_val k = {s_entcount_key(entity, county, key), key}, v;
    *n = 0;
    int mrc = mdb_get(txn, c->entcounts, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return WQ_OK;
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_get(entcounts)", err);
    if (v.mv_size != 8)
        return wq_err_set(err, WQ_E_CORRUPT, "entcounts", _("a count of %s is malformed"), entity);
    *n = wq_be64_get(v.mv_data);
    return WQ_OK;
}

static int
s_entcount_add(MDB_txn *txn, wq_central_t *c, const char *entity, const char *county, wq_err_t *err)
{
    uint64_t n;
    int rc = s_entcount_get(txn, c, entity, county, &n, err);
    if (rc != WQ_OK)
        return rc;
    uint8_t key[WQ_ENTITY_MAX + 8], b[8];
    wq_be64_put(b, n + 1);
    MDB_val k = {s_entcount_key(entity, county, key), key}, v = {8, b};
    int mrc = mdb_put(txn, c->entcounts, &k, &v, 0);
    return mrc ? wq_store_err(mrc, "mdb_put(entcounts)", err) : WQ_OK;
}

/*  WQ_OK with *code 0 if rec may be stored; else *code and verr say why it
    is quarantined. Errors of the store itself are returned. The entity
    limit is per sending county, so that another county's records can never
    fill an entity for its owner. */
static int
s_limits_check(MDB_txn *txn, wq_central_t *c, const wq_record_t *rec, int *code, wq_err_t *verr,
               wq_err_t *err)
{
    *code = WQ_OK;
    /* A correction or retraction of another county's event is stored (the
       fold ignores it: refusing it here would depend on arrival order) and
       counts against its own county's limit of the entity. */
    s_place_t place;
    char entity[WQ_ENTITY_MAX];
    uint8_t missing[WQ_EK_MAX];
    size_t mlen = 0, n = 0;
    int rc = s_resolve(txn, c, rec, &place, entity, missing, &mlen, err);
    if (rc != WQ_OK)
        return rc;
    if (place == S_RESOLVED) {
        uint64_t mine = 0;
        rc = s_entcount_get(txn, c, entity, rec->county, &mine, err);
        if (rc == WQ_OK && mine >= WQ_ENTITY_MAX_EVENTS)
            *code = wq_err_set(verr, WQ_E_RANGE, "entity",
                               "%s already holds %" PRIu64 " events of county %s, the most one "
                               "county may add to one entity (docs/SECURITY.md)", entity, mine,
                               rec->county);
    } else if (place == S_PENDING) {
        rc = s_dup_count(txn, c->pending, missing, mlen, &n, err);
        if (rc == WQ_OK && n >= WQ_PENDING_MAX_PER_TARGET)
            *code = wq_err_set(verr, WQ_E_RANGE, "target",
                               "%zu records already wait for %s, which the collector does not "
                               "hold: send the target first", n, rec->target);
    }
    return rc;
}

/*  ---- ingest ------------------------------------------------------------- */

void
wq_ingest_result_clear(wq_ingest_result_t *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->nquarantined; i++)
        free(res->quarantined[i].reason);
    free(res->quarantined);
    memset(res, 0, sizeof *res);
}

static int
s_quarantine(MDB_txn *txn, wq_central_t *c, const uint8_t *ek, size_t eklen, uint64_t seq,
             int code, const char *reason, const wq_blob_t *blob, uint64_t now_ms,
             wq_ingest_result_t *res, wq_err_t *err)
{
    wq_buf_t b = {0};
    int rc = WQ_OK;
    uint8_t hdr[4];
    wq_be32_put(hdr, (uint32_t) code);
    wq_buf_put(&b, hdr, 4);
    wq_buf_u64(&b, now_ms);
    wq_buf_str(&b, reason);
    wq_buf_put(&b, blob->data, blob->size);
    wq_quarantined_t *nq = realloc(res->quarantined, (res->nquarantined + 1) * sizeof *nq);
    if (b.oom || !nq) {
        if (nq)
            res->quarantined = nq;
        rc = wq_err_set(err, WQ_E_NOMEM, "quarantine", _("out of memory quarantining seq %" PRIu64),
                        seq);
        goto done;
    }
    res->quarantined = nq;
    nq[res->nquarantined].seq = seq;
    nq[res->nquarantined].code = (uint32_t) code;
    nq[res->nquarantined].reason = strdup(reason);
    if (!nq[res->nquarantined].reason) {
        rc = wq_err_set(err, WQ_E_NOMEM, "quarantine", _("out of memory"));
        goto done;
    }
    res->nquarantined++;
    MDB_val k = {eklen, (void *) ek}, v = {b.len, b.data};
    int mrc = mdb_put(txn, c->quarantine, &k, &v, 0);
    if (mrc != 0)
        rc = wq_store_err(mrc, "mdb_put(quarantine)", err);
    res->bytes += b.len;        /* the agent's quota counts it */
done:
    wq_buf_free(&b);
    return rc;
}

/*  Check, then store or quarantine one record of the stream. *stored /
    *quarantined say which happened. Returns an error only for failures of
    the store itself (the batch then aborts). */
static int
s_take(MDB_txn *txn, wq_central_t *c, const char *agent, const char *county, uint32_t inc,
       uint64_t seq, const wq_blob_t *blob, uint64_t now_ms, s_dirty_t *dirty,
       wq_ingest_result_t *res, bool *stored, bool *quarantined, wq_err_t *err)
{
    wq_record_t *rec = NULL;
    wq_err_t verr;
    int code, rc = WQ_OK;
    uint8_t ek[WQ_EK_MAX];
    size_t eklen = wq_ek_make(agent, inc, seq, ek);
    *stored = *quarantined = false;
    wq_err_clear(&verr);
    if (!blob->data || blob->size == 0 || blob->size > WQ_RECORD_MAX_BYTES)
        code = wq_err_set(&verr, WQ_E_RANGE, "record", _("record of %zu bytes: must be 1..%d"),
                          blob->size, WQ_RECORD_MAX_BYTES);
    else
        code = wq_record_decode(blob->data, blob->size, &rec, &verr);
    if (code == WQ_OK && (strcmp(rec->agent, agent) != 0 || rec->inc != inc || rec->seq != seq)) {
        char got[WQ_EVENT_ID_MAX], want[WQ_EVENT_ID_MAX];
        wq_record_id(rec, got);
        wq_event_id_format(agent, inc, seq, want);
        code = wq_err_set(&verr, WQ_E_ID, "seq",
                          _("record says it is %s but arrived as %s of the authenticated stream"),
                          got, want);
    }
    if (code == WQ_OK)
        code = wq_record_validate(rec, &verr);
    if (code == WQ_OK && strcmp(rec->county, county) != 0)
        code = wq_err_set(&verr, WQ_E_FOREIGN, "county",
                          _("record is for county %s but agent %s writes for county %s"), rec->county,
                          agent, county);
    if (code == WQ_OK) {
        rc = s_limits_check(txn, c, rec, &code, &verr, err);
        if (rc != WQ_OK)
            goto done;
    }
    if (code != WQ_OK) {
        char reason[WQ_TEXT_MAX];
        if (verr.field[0])
            snprintf(reason, sizeof reason, "%s: %s", verr.field, verr.text);
        else
            snprintf(reason, sizeof reason, "%s", verr.text[0] ? verr.text : wq_strerror(code));
        rc = s_quarantine(txn, c, ek, eklen, seq, code, reason, blob, now_ms, res, err);
        *quarantined = rc == WQ_OK;
        goto done;
    }
    MDB_val k = {eklen, ek}, v = {blob->size, (void *) blob->data};
    int mrc = mdb_put(txn, c->events, &k, &v, MDB_NOOVERWRITE);
    if (mrc == MDB_KEYEXIST)
        goto done;      /* already stored (cannot happen above the mark): count nothing */
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_put(events)", err);
        goto done;
    }
    *stored = true;
    res->bytes += blob->size;   /* the agent's quota counts it */
    rc = s_place(txn, c, &rec, ek, eklen, dirty, true, err);
    if (rc == WQ_OK)
        rc = s_release_waiters(txn, c, ek, eklen, dirty, err);
done:
    wq_record_destroy(&rec);
    return rc;
}

/*  The per-agent quota (wq_central_set_agent_quota): refuse the batch
    (WQ_E_QUOTA, nothing of it written but the refusal's time) if the
    agent's bytes and the new records' would pass it. *used and
    *refused_ms are the agent's figures before the batch. */
static int
s_quota_check(MDB_txn *txn, wq_central_t *c, const char *agent, uint64_t mark, uint64_t first_seq,
              const wq_blob_t *records, size_t count, uint64_t now_ms, uint64_t *used, uint64_t *refused_ms,
              wq_err_t *err)
{
    int rc = wq_central_agent_bytes(txn, c, agent, true, used, refused_ms, err);
    if (rc != WQ_OK || c->agent_quota == 0)
        return rc;
    uint64_t add = 0;
    for (size_t i = 0; i < count; i++)
        if (first_seq + i > mark)
            add += records[i].size;
    if (add == 0 || *used + add <= c->agent_quota)
        return WQ_OK;
    char key[WQ_AGENT_ID_MAX + 8];
    s_quota_key(key, "quota", agent);
    rc = s_meta_put(txn, c, key, now_ms, err);
    if (rc != WQ_OK)
        return rc;
    return wq_err_set(err, WQ_E_QUOTA, "quota",
                      _("agent %s's records occupy %" PRIu64 " bytes of the collector's store and this batch "
                      "would add %" PRIu64 ": over its quota of %" PRIu64 " bytes; nothing of the batch "
                      "was stored (the agent keeps it and resends once the collector's operator raises "
                      "agent_quota)"), agent, *used, add, c->agent_quota);
}

/*  After an accepted batch: the agent's bytes, and its refusal cleared. */
static int
s_quota_account(MDB_txn *txn, wq_central_t *c, const char *agent, uint64_t used, uint64_t refused_ms,
                uint64_t added, wq_err_t *err)
{
    char key[WQ_AGENT_ID_MAX + 8];
    s_quota_key(key, "bytes", agent);
    int rc = s_meta_put(txn, c, key, used + added, err);
    s_quota_key(key, "quota", agent);
    if (rc == WQ_OK && refused_ms != 0)
        rc = s_meta_put(txn, c, key, 0, err);
    return rc;
}

/*  The body of one batch's ingest inside txn (see wq_central_ingest):
    everything but begin and commit. On WQ_E_GAP nothing was written and
    res->hwm is the mark; on any other error the caller must abort txn,
    and res is cleared with res->hwm the mark before the batch. */
static int
s_ingest_txn(MDB_txn *txn, wq_central_t *self, const char *agent, const char *county, uint32_t inc,
             uint64_t first_seq, const wq_blob_t *records, size_t count, uint64_t now_ms,
             wq_ingest_result_t *res, wq_err_t *err)
{
    s_dirty_t dirty = {0};
    wq_stream_row_t row;
    bool exists;
    uint64_t old_mark = 0, nstored = 0, nquar = 0;
    int rc;
    memset(res, 0, sizeof *res);
    rc = s_check_stream_args(agent, county, true, inc, err);
    if (rc != WQ_OK)
        return rc;
    if (first_seq == 0 || (count > 0 && !records))
        return wq_err_set(err, WQ_E_RANGE, "first_seq", _("a batch starts at seq 1 or later"));
    rc = s_stream_get(txn, self, agent, inc, &row, &exists, err);
    if (rc != WQ_OK)
        goto fail;
    const uint64_t mark = row.hwm;
    old_mark = mark;
    if (first_seq > mark + 1) {
        res->hwm = mark;
        return wq_err_set(err, WQ_E_GAP, "first_seq",
                          _("batch of %s/%08x starts at seq %" PRIu64 " but the collector holds up "
                          "to %" PRIu64 ": send from %" PRIu64), agent, inc, first_seq, mark,
                          mark + 1);
    }
    uint64_t used = 0, refused_ms = 0;
    rc = s_quota_check(txn, self, agent, mark, first_seq, records, count, now_ms, &used, &refused_ms, err);
    if (rc != WQ_OK)
        goto fail;
    if (!self->vacc_mem && !(self->vacc_mem = calloc(1, sizeof *self->vacc_mem))) {
        rc = wq_err_set(err, WQ_E_NOMEM, "ingest", _("out of memory summing counter changes"));
        goto fail;
    }
    self->vacc = self->vacc_mem;
    for (size_t i = 0; i < count; i++) {
        uint64_t seq = first_seq + i;
        if (seq <= mark) {
            res->duplicates++;
            continue;
        }
        bool st, q;
        rc = s_take(txn, self, agent, county, inc, seq, &records[i], now_ms, &dirty, res, &st, &q,
                    err);
        if (rc != WQ_OK)
            goto fail;
        nstored += st;
        nquar += q;
    }
    /* Each touched entity is folded once, whatever order its events came
       in: incrementally when all its new events can be applied to its
       state in fold order, else in full. */
    if (dirty.n > 1)
        qsort(dirty.t, dirty.n, sizeof *dirty.t, s_cmp_touch);
    for (size_t i = 0, j; i < dirty.n; i = j) {
        bool full = false;
        for (j = i; j < dirty.n && strcmp(dirty.t[j].entity, dirty.t[i].entity) == 0; j++)
            full = full || !dirty.t[j].rec;
        rc = full ? s_refold(txn, self, dirty.t[i].entity, err)
                  : s_refold_touched(txn, self, dirty.t[i].entity, dirty.t + i, j - i, err);
        if (rc != WQ_OK)
            goto fail;
    }
    /* Each counter the batch changed, once (a group's: once for all its
       batches, before its commit). */
    self->vacc = NULL;
    if (!self->vacc_group) {
        rc = wq_views_acc_flush(txn, self, self->vacc_mem, err);
        if (rc != WQ_OK)
            goto fail;
    }
    if (count > 0 && first_seq + count - 1 > row.hwm)
        row.hwm = first_seq + count - 1;
    memcpy(row.county, county, 6);
    row.stored += nstored;
    row.quarantined += nquar;
    row.contact_ms = now_ms;
    if (row.last_seq < row.hwm)
        row.last_seq = row.hwm;
    rc = s_stream_put(txn, self, agent, inc, &row, err);
    if (rc == WQ_OK)
        rc = s_meta_add(txn, self, "events", (int64_t) nstored, err);
    if (rc == WQ_OK)
        rc = s_meta_add(txn, self, "quarantined", (int64_t) nquar, err);
    if (rc == WQ_OK && !exists)
        rc = s_meta_add(txn, self, "streams", 1, err);
    /* Operators' counters (wanqi-web /metrics), kept in the same transaction. */
    if (rc == WQ_OK)
        rc = s_meta_add(txn, self, "batches", 1, err);
    if (rc == WQ_OK && res->duplicates)
        rc = s_meta_add(txn, self, "duplicates", (int64_t) res->duplicates, err);
    if (rc == WQ_OK)
        rc = s_quota_account(txn, self, agent, used, refused_ms, res->bytes, err);
    if (rc != WQ_OK)
        goto fail;
    res->stored = (size_t) nstored;
    res->hwm = row.hwm;
    s_dirty_free(&dirty);
    return WQ_OK;
fail:
    /* In a group, a batch fails before it sums anything (a gap, the quota)
       or the group starts again batch by batch: the sums are the group's. */
    self->vacc = NULL;
    if (self->vacc_mem && !self->vacc_group)
        wq_views_acc_reset(self->vacc_mem);
    s_dirty_free(&dirty);
    wq_ingest_result_clear(res);
    res->hwm = old_mark;
    return rc;
}

/*  ---- reader slots ------------------------------------------------------- */

int
wq_central_reader_check(wq_central_t *self, int *dead, wq_err_t *err)
{
    return wq_store_reader_check(self->env, dead, err);
}

/*  ---- transfers ----------------------------------------------------------- */

int
wq_central_transfer(wq_central_t *self, const char *code, const char *county, const char *date,
                    wq_err_t *err)
{
    MDB_txn *txn = NULL;
    wq_err_t v;
    int rc;
    if (!code || wq_creditcode_check(code, &v) != WQ_OK)
        return wq_err_set(err, WQ_E_FORMAT, "code", _("%s is not a valid credit code: %s"),
                          code ? code : "", code ? v.text : _("missing"));
    if (!date || wq_date_check(date, &v) != WQ_OK)
        return wq_err_set(err, WQ_E_FORMAT, "date", _("transfer date: %s"), date ? v.text : _("missing"));
    if (!county || strlen(county) != 6 || !wq_division_find(county))
        return wq_err_set(err, WQ_E_COUNTY, "county", _("%s is not a known GB/T 2260 county code"),
                          county ? county : "");
    char entity[WQ_ENTITY_MAX];
    snprintf(entity, sizeof entity, "E:%s", code);
    uint8_t key[28];
    memcpy(key, code, 18);
    memcpy(key + 18, date, 10);
    int mrc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin", err);
    MDB_val k = {sizeof key, key}, d = {6, (void *) county};
    mrc = mdb_put(txn, self->transfers, &k, &d, 0);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_put(transfers)", err);
        goto fail;
    }
    rc = s_refold(txn, self, entity, err);
    if (rc != WQ_OK)
        goto fail;
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_txn_commit", err);
        goto fail;
    }
    return WQ_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

int
wq_central_ingest(wq_central_t *self, const char *agent, const char *county, uint32_t inc,
                  uint64_t first_seq, const wq_blob_t *records, size_t count, uint64_t now_ms,
                  wq_ingest_result_t *res, wq_err_t *err)
{
    MDB_txn *txn = NULL;
    memset(res, 0, sizeof *res);
    int mrc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin", err);
    int rc = s_ingest_txn(txn, self, agent, county, inc, first_seq, records, count, now_ms, res, err);
    if (rc == WQ_E_QUOTA) {
        /* Keep the refusal's time (wanqi-query agents shows it). */
        mrc = mdb_txn_commit(txn);
        if (mrc != 0) {     /* only the refusal's time is lost: the refusal stands */
            size_t n = strlen(err->text);
            snprintf(err->text + n, sizeof err->text - n, " (its time not kept: %s)", mdb_strerror(mrc));
        }
        return rc;
    }
    if (rc != WQ_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    mrc = mdb_txn_commit(txn);
    if (mrc != 0) {
        uint64_t mark = 0;
        wq_err_t e2;
        wq_ingest_result_clear(res);
        rc = wq_store_err(mrc, "mdb_txn_commit", err);
        /* The mark before the batch: the commit changed nothing. */
        if (wq_central_hwm(self, agent, inc, &mark, &e2) == WQ_OK)
            res->hwm = mark;
        return rc;
    }
    return WQ_OK;
}

void
wq_central_ingest_group(wq_central_t *self, wq_ingest_batch_t *batches, size_t n, uint64_t now_ms)
{
    MDB_txn *txn = NULL;
    bool alone = n <= 1;
    for (size_t i = 0; i < n; i++) {
        memset(&batches[i].res, 0, sizeof batches[i].res);
        wq_err_clear(&batches[i].err);
        batches[i].rc = WQ_OK;
    }
    if (!alone && mdb_txn_begin(self->env, NULL, 0, &txn) != 0)
        alone = true;
    self->vacc_group = !alone;
    for (size_t i = 0; !alone && i < n; i++) {
        wq_ingest_batch_t *b = &batches[i];
        b->rc = s_ingest_txn(txn, self, b->agent, b->county, b->inc, b->first_seq, b->records, b->count,
                             now_ms, &b->res, &b->err);
        /* A gap writes nothing and the others may go on; any other error
           leaves the transaction unusable: start again batch by batch. */
        if (b->rc != WQ_OK && b->rc != WQ_E_GAP && b->rc != WQ_E_QUOTA)
            alone = true;
    }
    self->vacc_group = false;
    if (!alone && self->vacc_mem) {
        /* The group's counter changes, each counter once. */
        wq_err_t ferr;
        if (wq_views_acc_flush(txn, self, self->vacc_mem, &ferr) != WQ_OK)
            alone = true;
    }
    if (self->vacc_mem)
        wq_views_acc_reset(self->vacc_mem);
    if (!alone) {
        int mrc = mdb_txn_commit(txn);
        txn = NULL;
        if (mrc == 0)
            return;
        alone = true;
    }
    /* One batch's failure must not fail the others: each alone in its
       own transaction, which gives each its own outcome. */
    if (txn)
        mdb_txn_abort(txn);
    for (size_t i = 0; i < n; i++) {
        wq_ingest_batch_t *b = &batches[i];
        wq_ingest_result_clear(&b->res);
        wq_err_clear(&b->err);
        b->rc = wq_central_ingest(self, b->agent, b->county, b->inc, b->first_seq, b->records, b->count, now_ms,
                                  &b->res, &b->err);
    }
}

/*  ---- stats -------------------------------------------------------------- */

/*  A read transaction under the map lock (common/store.h): a reader
    process (wanqi-web) adopts the larger map the collector set
    (MDB_MAP_RESIZED) only while none of its threads reads. End it with
    s_read_end. Errors: WQ_E_IO. */
static int
s_read_begin(wq_central_t *self, MDB_txn **txn, wq_err_t *err)
{
    wq_store_read_lock();
    int mrc = wq_store_txn_begin(self->env, MDB_RDONLY, txn);
    if (mrc == MDB_MAP_RESIZED) {
        mrc = wq_store_adopt_mapsize(self->env);
        if (mrc == 0)
            mrc = wq_store_txn_begin(self->env, MDB_RDONLY, txn);
    }
    if (mrc != 0) {
        wq_store_read_unlock();
        return wq_store_err(mrc, "mdb_txn_begin(read)", err);
    }
    return WQ_OK;
}

static void
s_read_end(MDB_txn *txn)
{
    mdb_txn_abort(txn);
    wq_store_read_unlock();
}

void
wq_central_fold_counts(wq_central_t *self, uint64_t *incremental, uint64_t *fresh, uint64_t *full)
{
    *incremental = self->folds_incremental;
    *fresh = self->folds_new;
    *full = self->folds_full;
}

int
wq_central_stats(wq_central_t *self, wq_central_stats_t *stats, wq_err_t *err)
{
    MDB_txn *txn = NULL;
    memset(stats, 0, sizeof *stats);
    int rc = s_read_begin(self, &txn, err);
    if (rc != WQ_OK)
        return rc;
    rc = s_meta_get(txn, self, "events", &stats->events, err);
    if (rc == WQ_OK)
        rc = s_meta_get(txn, self, "quarantined", &stats->quarantined, err);
    if (rc == WQ_OK)
        rc = s_meta_get(txn, self, "streams", &stats->streams, err);
    if (rc == WQ_OK)
        rc = s_meta_get(txn, self, "batches", &stats->batches, err);
    if (rc == WQ_OK)
        rc = s_meta_get(txn, self, "duplicates", &stats->duplicates, err);
    s_read_end(txn);
    return rc;
}

int
wq_central_env_info(wq_central_t *self, uint64_t *used_bytes, uint64_t *map_bytes, wq_err_t *err)
{
    MDB_envinfo info;
    MDB_stat st;
    wq_store_read_lock();   /* both read the map: not while it is re-mapped */
    int mrc = mdb_env_info(self->env, &info);
    if (mrc == 0)
        mrc = mdb_env_stat(self->env, &st);
    wq_store_read_unlock();
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_env_info", err);
    *used_bytes = (uint64_t) (info.me_last_pgno + 1) * st.ms_psize;
    *map_bytes = (uint64_t) info.me_mapsize;
    return WQ_OK;
}

/*  ---- queries: see queries.c --------------------------------------------- */

int
wq_central_query(wq_central_t *self, const char *name, const wq_param_t *params, size_t nparams,
                 wq_table_t **out, wq_err_t *err)
{
    MDB_txn *txn = NULL;
    *out = NULL;
    if (!name)
        return wq_err_set(err, WQ_E_UNKNOWN, "name", _("no query name given"));
    int rc = s_read_begin(self, &txn, err);
    if (rc != WQ_OK)
        return rc;
    rc = wq_queries_run(txn, self, name, params, nparams, out, err);
    s_read_end(txn);
    return rc;
}
