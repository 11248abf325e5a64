/*  =========================================================================
    outbox - the agent's LMDB queue and archive (schema in outbox.h)

    The one rule that matters: a record's seq is assigned in the very write
    transaction that stores it, and nobody hears of its id before that
    transaction committed durably. Everything else (bounds, bookkeeping for
    `status`, the acked mark) lives in the same environment so that a crash
    at any instant leaves a consistent outbox: either the record and its
    seq counter are both there or neither is.

    Memory stays bounded however large the backlog: readers walk records
    with a cursor and hand them to a callback one at a time.
    =========================================================================
*/
#include "agent/outbox.h"

#include <inttypes.h>
#include <lmdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/date.h"
#include "common/i18n.h"
#include "common/store.h"

struct wq_outbox_t {
    MDB_env *env;
    MDB_dbi records, meta, quarantine, skipped, fprint, refs;
    wq_outbox_limits_t limits;
};

struct wq_outbox_txn_t {
    wq_outbox_t *box;
    MDB_txn *txn;
    char agent[WQ_AGENT_ID_MAX + 1];
    uint32_t inc;
    uint64_t last, acked, bytes, count;
    size_t added;
    bool dead;
};

/*  ---- small meta helpers ----------------------------------------------- */

static void
s_inc_key(char out[32], const char *what, uint32_t inc)
{
    snprintf(out, 32, "%s/%08" PRIx32, what, inc);
}

static int
s_meta_get_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t *v, wq_err_t *err)
{
    MDB_val k = {strlen(key), (void *) key}, d;
    int mrc = mdb_get(txn, dbi, &k, &d);
    if (mrc == MDB_NOTFOUND) {
        *v = 0;
        return WQ_OK;
    }
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_get(meta)", err);
    if (d.mv_size == 8)
        *v = wq_be64_get(d.mv_data);
    else if (d.mv_size == 4)
        *v = wq_be32_get(d.mv_data);
    else
        return wq_err_set(err, WQ_E_CORRUPT, key,
                          _("outbox meta value %s has %zu bytes: the outbox is damaged"), key,
                          d.mv_size);
    return WQ_OK;
}

static int
s_meta_put_u64(MDB_txn *txn, MDB_dbi dbi, const char *key, uint64_t v, wq_err_t *err)
{
    uint8_t buf[8];
    wq_be64_put(buf, v);
    MDB_val k = {strlen(key), (void *) key}, d = {8, buf};
    return wq_store_err(mdb_put(txn, dbi, &k, &d, 0), "mdb_put(meta)", err);
}

static int
s_meta_get_str(MDB_txn *txn, MDB_dbi dbi, const char *key, char *out, size_t size, wq_err_t *err)
{
    MDB_val k = {strlen(key), (void *) key}, d;
    out[0] = '\0';
    int mrc = mdb_get(txn, dbi, &k, &d);
    if (mrc == MDB_NOTFOUND)
        return WQ_OK;
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_get(meta)", err);
    size_t n = d.mv_size < size - 1 ? d.mv_size : size - 1;
    memcpy(out, d.mv_data, n);
    out[n] = '\0';
    return WQ_OK;
}

static void
s_rec_key(uint8_t key[12], uint32_t inc, uint64_t seq)
{
    wq_be32_put(key, inc);
    wq_be64_put(key + 4, seq);
}

/*  ---- open / close ------------------------------------------------------ */

/*  Open every named database in a new txn (flags 0: create the missing
    ones; MDB_RDONLY: MDB_NOTFOUND if one is missing). *txn is left open. */
static int
s_open_dbs(wq_outbox_t *self, unsigned flags, MDB_txn **txn)
{
    unsigned create = (flags & MDB_RDONLY) ? 0 : MDB_CREATE;
    int mrc = mdb_txn_begin(self->env, NULL, flags, txn);
    if (mrc != 0) {
        *txn = NULL;
        return mrc;
    }
    mrc = mdb_dbi_open(*txn, "records", create, &self->records);
    if (mrc == 0)
        mrc = mdb_dbi_open(*txn, "meta", create, &self->meta);
    if (mrc == 0)
        mrc = mdb_dbi_open(*txn, "quarantine", create, &self->quarantine);
    if (mrc == 0)
        mrc = mdb_dbi_open(*txn, "skipped", create, &self->skipped);
    if (mrc == 0)
        mrc = mdb_dbi_open(*txn, "fprint", create, &self->fprint);
    if (mrc == 0)
        mrc = mdb_dbi_open(*txn, "refs", create, &self->refs);
    return mrc;
}

/*  ---- content fingerprints ---------------------------------------------- */

int
wq_record_fingerprint(const wq_record_t *rec, uint8_t fp[WQ_FINGERPRINT_BYTES], wq_err_t *err)
{
    /* The content is the canonical encoding without the identity fields
       (agent, inc, seq, recorded): the same visit typed twice encodes to
       the same bytes. A shallow copy: encoding only reads. */
    wq_record_t tmp = *rec;
    tmp.present &= ~((1ull << WQ_F_AGENT) | (1ull << WQ_F_INC) | (1ull << WQ_F_SEQ)
                     | (1ull << WQ_F_RECORDED));
    uint8_t *buf = NULL;
    size_t size = 0;
    int rc = wq_record_encode(&tmp, &buf, &size);
    if (rc != WQ_OK)
        return wq_err_set(err, rc, "", _("cannot encode the record: %s"), wq_strerror(rc));
    crypto_generichash(fp, WQ_FINGERPRINT_BYTES, buf, size, NULL, 0);
    free(buf);
    return WQ_OK;
}

/*  Index one stored record (its key and encoded bytes) in fprint, keeping
    an existing entry (the first record with that content). */
static int
s_index_put(wq_outbox_t *self, MDB_txn *txn, const uint8_t fp[WQ_FINGERPRINT_BYTES],
            const uint8_t key[12], wq_err_t *err)
{
    MDB_val k = {WQ_FINGERPRINT_BYTES, (void *) fp}, d = {12, (void *) key};
    int mrc = mdb_put(txn, self->fprint, &k, &d, MDB_NOOVERWRITE);
    if (mrc == MDB_KEYEXIST)
        return WQ_OK;
    return wq_store_err(mrc, "mdb_put(fprint)", err);
}

/*  An outbox made before the fingerprint index: index its records once. */
static int
s_index_old_records(wq_outbox_t *self, wq_err_t *err)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int rc = WQ_OK;
    MDB_stat rs, fs;
    int mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (mrc == 0)
        mrc = mdb_stat(txn, self->records, &rs);
    if (mrc == 0)
        mrc = mdb_stat(txn, self->fprint, &fs);
    mdb_txn_abort(txn);
    txn = NULL;
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_stat(fprint)", err);
    if (rs.ms_entries == 0 || fs.ms_entries > 0)
        return WQ_OK;
    mrc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (mrc == 0)
        mrc = mdb_cursor_open(txn, self->records, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "indexing the outbox", err);
        goto done;
    }
    MDB_val k, d;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        wq_record_t *rec = NULL;
        wq_err_t e;
        uint8_t fp[WQ_FINGERPRINT_BYTES];
        if (k.mv_size != 12 || wq_record_decode(d.mv_data, d.mv_size, &rec, &e) != WQ_OK)
            continue;   /* unreadable: `run` reports it as skipped */
        rc = wq_record_fingerprint(rec, fp, err);
        wq_record_destroy(&rec);
        if (rc == WQ_OK)
            rc = s_index_put(self, txn, fp, k.mv_data, err);
        if (rc != WQ_OK)
            goto done;
    }
    if (mrc != MDB_NOTFOUND) {
        rc = wq_store_err(mrc, "mdb_cursor_get(records)", err);
        goto done;
    }
    mdb_cursor_close(cur);
    cur = NULL;
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc != 0)
        rc = wq_store_err(mrc, "mdb_txn_commit(fprint)", err);
done:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

/*  Fill m from the record stored under key (12 bytes) in txn. */
static int
s_match_fill(wq_outbox_t *self, MDB_txn *txn, const void *key, wq_outbox_match_t *m, wq_err_t *err)
{
    MDB_val k = {12, (void *) key}, d;
    int mrc = mdb_get(txn, self->records, &k, &d);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_get(records)", err);
    wq_record_t *rec = NULL;
    int rc = wq_record_decode(d.mv_data, d.mv_size, &rec, err);
    if (rc != WQ_OK)
        return rc;
    m->inc = rec->inc;
    m->seq = rec->seq;
    m->recorded_ms = rec->recorded_ms;
    m->type = rec->type;
    wq_record_id(rec, m->id);
    wq_record_destroy(&rec);
    return WQ_OK;
}

static void
s_ref_key(char out[WQ_REF_MAX + 32], wq_rec_type_t type, const char *ref, size_t *len)
{
    *len = (size_t) snprintf(out, WQ_REF_MAX + 32, "%s:%s", wq_rec_type_name(type), ref);
}

/*  The lookups, in txn. */
static int
s_find(wq_outbox_t *self, MDB_txn *txn, const wq_record_t *rec, const char *ref,
       wq_outbox_match_t *m, wq_err_t *err)
{
    memset(m, 0, sizeof *m);
    uint8_t fp[WQ_FINGERPRINT_BYTES];
    int rc = wq_record_fingerprint(rec, fp, err);
    if (rc != WQ_OK)
        return rc;
    MDB_val k, d;
    int mrc;
    if (ref && *ref) {
        char key[WQ_REF_MAX + 32];
        size_t len;
        if (strlen(ref) > WQ_REF_MAX)
            return wq_err_set(err, WQ_E_RANGE, "ref", _("ref has more than %d bytes"), WQ_REF_MAX);
        s_ref_key(key, rec->type, ref, &len);
        k.mv_size = len;
        k.mv_data = key;
        mrc = mdb_get(txn, self->refs, &k, &d);
        if (mrc == MDB_NOTFOUND)
            return WQ_OK;
        if (mrc != 0)
            return wq_store_err(mrc, "mdb_get(refs)", err);
        if (d.mv_size != 12 + WQ_FINGERPRINT_BYTES)
            return wq_err_set(err, WQ_E_CORRUPT, "ref", _("the outbox's ref index is damaged"));
        m->by_ref = true;
        m->same_content = memcmp((uint8_t *) d.mv_data + 12, fp, WQ_FINGERPRINT_BYTES) == 0;
        rc = s_match_fill(self, txn, d.mv_data, m, err);
        if (rc == WQ_OK)
            m->found = true;
        return rc;
    }
    k.mv_size = WQ_FINGERPRINT_BYTES;
    k.mv_data = fp;
    mrc = mdb_get(txn, self->fprint, &k, &d);
    if (mrc == MDB_NOTFOUND)
        return WQ_OK;
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_get(fprint)", err);
    if (d.mv_size != 12)
        return wq_err_set(err, WQ_E_CORRUPT, "fprint", _("the outbox's fingerprint index is damaged"));
    m->same_content = true;
    rc = s_match_fill(self, txn, d.mv_data, m, err);
    if (rc == WQ_OK)
        m->found = true;
    return rc;
}

int
wq_outbox_find_same(wq_outbox_t *self, const wq_record_t *rec, const char *ref,
                    wq_outbox_match_t *m, wq_err_t *err)
{
    MDB_txn *txn = NULL;
    int mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin(read)", err);
    int rc = s_find(self, txn, rec, ref, m, err);
    mdb_txn_abort(txn);
    return rc;
}

int
wq_outbox_txn_find_same(wq_outbox_txn_t *t, const wq_record_t *rec, const char *ref,
                        wq_outbox_match_t *m, wq_err_t *err)
{
    if (t->dead)
        return wq_err_set(err, WQ_E_STATE, "", _("the outbox transaction failed before: abort it"));
    return s_find(t->box, t->txn, rec, ref, m, err);
}


int
wq_outbox_open(const char *dir, const wq_outbox_limits_t *limits, wq_outbox_t **out,
               wq_err_t *err)
{
    int rc;
    MDB_txn *txn = NULL;
    wq_outbox_t *self = calloc(1, sizeof *self);
    if (!self)
        return wq_err_set(err, WQ_E_NOMEM, "", _("out of memory opening the outbox"));
    self->limits = *limits;
    rc = wq_store_open(dir, (size_t) limits->map_bytes, 8, &self->env, err);
    if (rc != WQ_OK)
        goto fail;
    int dead = 0;
    int mrc = mdb_reader_check(self->env, &dead);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_reader_check", err);
        goto fail;
    }
    /* A read transaction when every database exists (the usual case), so
       that opening never waits for a writer (an import, `run`); a write
       transaction only to create them, the first time. */
    mrc = s_open_dbs(self, MDB_RDONLY, &txn);
    if (mrc == MDB_NOTFOUND) {
        mdb_txn_abort(txn);
        txn = NULL;
        mrc = s_open_dbs(self, 0, &txn);
    }
    if (mrc != 0) {
        rc = wq_store_err(mrc, "opening the outbox databases", err);
        goto fail;
    }
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_txn_commit(open)", err);
        goto fail;
    }
    rc = s_index_old_records(self, err);
    if (rc != WQ_OK)
        goto fail;
    *out = self;
    return WQ_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    if (self->env)
        mdb_env_close(self->env);
    free(self);
    return rc;
}

void
wq_outbox_destroy(wq_outbox_t **self)
{
    if (!self || !*self)
        return;
    mdb_env_close((*self)->env);
    free(*self);
    *self = NULL;
}

int
wq_outbox_start_incarnation(wq_outbox_t *self, const char *agent, uint32_t inc, bool force,
                            wq_err_t *err)
{
    int rc;
    MDB_txn *txn = NULL;
    uint64_t old = 0;
    char key[32];
    if (inc == 0)
        return wq_err_set(err, WQ_E_RANGE, "inc", _("an incarnation must not be 0"));
    rc = wq_agent_id_check(agent, err);
    if (rc != WQ_OK)
        return rc;
    int mrc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_txn_begin", err);
        goto fail;
    }
    rc = s_meta_get_u64(txn, self->meta, "inc", &old, err);
    if (rc != WQ_OK)
        goto fail;
    if (old != 0 && !force) {
        rc = wq_err_set(err, WQ_E_STATE, "inc",
                        _("this outbox already has incarnation %08" PRIx64 ": refusing to start "
                        "another (use --force-new-incarnation to keep the old records as archive "
                        "and start a new stream)"), old);
        goto fail;
    }
    if (old == inc) {
        rc = wq_err_set(err, WQ_E_STATE, "inc", _("incarnation %08" PRIx32 " is already current"),
                        inc);
        goto fail;
    }
    s_inc_key(key, "last", inc);
    uint64_t exists = 0;
    rc = s_meta_get_u64(txn, self->meta, key, &exists, err);
    if (rc != WQ_OK)
        goto fail;
    if (exists != 0) {
        rc = wq_err_set(err, WQ_E_STATE, "inc",
                        _("incarnation %08" PRIx32 " was used before in this outbox: pick another"),
                        inc);
        goto fail;
    }
    MDB_val k = {5, "agent"}, d = {strlen(agent), (void *) agent};
    mrc = mdb_put(txn, self->meta, &k, &d, 0);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_put(meta agent)", err);
        goto fail;
    }
    uint8_t b4[4];
    wq_be32_put(b4, inc);
    MDB_val ki = {3, "inc"}, di = {4, b4};
    mrc = mdb_put(txn, self->meta, &ki, &di, 0);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_put(meta inc)", err);
        goto fail;
    }
    rc = s_meta_put_u64(txn, self->meta, key, 0, err);
    if (rc == WQ_OK) {
        s_inc_key(key, "acked", inc);
        rc = s_meta_put_u64(txn, self->meta, key, 0, err);
    }
    if (rc != WQ_OK)
        goto fail;
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_txn_commit(incarnation)", err);
        goto fail;
    }
    return WQ_OK;
fail:
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

/*  Read agent, inc, last, acked of the current incarnation. */
static int
s_current(wq_outbox_t *self, MDB_txn *txn, char agent[WQ_AGENT_ID_MAX + 1], uint32_t *inc,
          uint64_t *last, uint64_t *acked, wq_err_t *err)
{
    uint64_t v;
    char key[32];
    int rc = s_meta_get_u64(txn, self->meta, "inc", &v, err);
    if (rc != WQ_OK)
        return rc;
    *inc = (uint32_t) v;
    if (agent) {
        rc = s_meta_get_str(txn, self->meta, "agent", agent, WQ_AGENT_ID_MAX + 1, err);
        if (rc != WQ_OK)
            return rc;
    }
    s_inc_key(key, "last", *inc);
    rc = s_meta_get_u64(txn, self->meta, key, last, err);
    if (rc != WQ_OK)
        return rc;
    s_inc_key(key, "acked", *inc);
    return s_meta_get_u64(txn, self->meta, key, acked, err);
}

static int
s_count_db(MDB_txn *txn, MDB_dbi dbi, uint64_t *n, wq_err_t *err)
{
    MDB_stat st;
    int mrc = mdb_stat(txn, dbi, &st);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_stat", err);
    *n = st.ms_entries;
    return WQ_OK;
}

int
wq_outbox_state(wq_outbox_t *self, wq_outbox_state_t *st, wq_err_t *err)
{
    int rc;
    MDB_txn *txn = NULL;
    memset(st, 0, sizeof *st);
    int mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin(read)", err);
    rc = s_current(self, txn, st->agent, &st->inc, &st->last_seq, &st->acked, err);
    if (rc == WQ_OK)
        rc = s_meta_get_u64(txn, self->meta, "count", &st->count, err);
    if (rc == WQ_OK)
        rc = s_meta_get_u64(txn, self->meta, "bytes", &st->bytes, err);
    if (rc == WQ_OK)
        rc = s_meta_get_u64(txn, self->meta, "contact", &st->contact_ms, err);
    if (rc == WQ_OK)
        rc = s_meta_get_u64(txn, self->meta, "hwm", &st->hwm, err);
    if (rc == WQ_OK)
        rc = s_count_db(txn, self->quarantine, &st->quarantined, err);
    if (rc == WQ_OK)
        rc = s_count_db(txn, self->skipped, &st->skipped, err);
    if (rc != WQ_OK)
        goto fail;
    st->queued = st->last_seq > st->acked ? st->last_seq - st->acked : 0;
    {
        MDB_val k = {5, "error"}, d;
        mrc = mdb_get(txn, self->meta, &k, &d);
        if (mrc == 0 && d.mv_size >= 8) {
            st->error_ms = wq_be64_get(d.mv_data);
            size_t n = d.mv_size - 8;
            if (n >= sizeof st->last_error)
                n = sizeof st->last_error - 1;
            memcpy(st->last_error, (uint8_t *) d.mv_data + 8, n);
            st->last_error[n] = '\0';
        } else if (mrc != 0 && mrc != MDB_NOTFOUND) {
            rc = wq_store_err(mrc, "mdb_get(meta error)", err);
            goto fail;
        }
    }
    if (st->queued > 0) {
        uint8_t key[12];
        s_rec_key(key, st->inc, st->acked + 1);
        MDB_val k = {12, key}, d;
        mrc = mdb_get(txn, self->records, &k, &d);
        if (mrc == 0) {
            wq_record_t *rec = NULL;
            if (wq_record_decode(d.mv_data, d.mv_size, &rec, NULL) == WQ_OK)
                st->oldest_unsent_ms = rec->recorded_ms;
            wq_record_destroy(&rec);
        }
    }
fail:
    mdb_txn_abort(txn);
    return rc;
}

int
wq_outbox_last_seq(wq_outbox_t *self, uint64_t *last, wq_err_t *err)
{
    MDB_txn *txn = NULL;
    uint32_t inc;
    uint64_t acked;
    int mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin(read)", err);
    int rc = s_current(self, txn, NULL, &inc, last, &acked, err);
    mdb_txn_abort(txn);
    return rc;
}

/*  ---- recording ---------------------------------------------------------- */

int
wq_outbox_begin(wq_outbox_t *self, wq_outbox_txn_t **out, wq_err_t *err)
{
    int rc;
    wq_outbox_txn_t *t = calloc(1, sizeof *t);
    if (!t)
        return wq_err_set(err, WQ_E_NOMEM, "", _("out of memory"));
    t->box = self;
    int mrc = mdb_txn_begin(self->env, NULL, 0, &t->txn);
    if (mrc != 0) {
        t->txn = NULL;
        rc = wq_store_err(mrc, "mdb_txn_begin(write)", err);
        goto fail;
    }
    rc = s_current(self, t->txn, t->agent, &t->inc, &t->last, &t->acked, err);
    if (rc == WQ_OK)
        rc = s_meta_get_u64(t->txn, self->meta, "bytes", &t->bytes, err);
    if (rc == WQ_OK)
        rc = s_meta_get_u64(t->txn, self->meta, "count", &t->count, err);
    if (rc != WQ_OK)
        goto fail;
    if (t->inc == 0 || t->agent[0] == '\0') {
        rc = wq_err_set(err, WQ_E_STATE, "inc",
                        _("the outbox has no incarnation yet: run `wanqi-agent init` first"));
        goto fail;
    }
    *out = t;
    return WQ_OK;
fail:
    if (t->txn)
        mdb_txn_abort(t->txn);
    free(t);
    return rc;
}

int
wq_outbox_txn_add(wq_outbox_txn_t *t, wq_record_t *rec, char id[WQ_EVENT_ID_MAX], wq_err_t *err)
{
    return wq_outbox_txn_add_ref(t, rec, NULL, id, err);
}

int
wq_outbox_txn_add_ref(wq_outbox_txn_t *t, wq_record_t *rec, const char *ref,
                      char id[WQ_EVENT_ID_MAX], wq_err_t *err)
{
    uint8_t fp[WQ_FINGERPRINT_BYTES];
    int rc;
    uint8_t *buf = NULL;
    size_t size = 0;
    if (t->dead)
        return wq_err_set(err, WQ_E_STATE, "", _("the outbox transaction failed before: abort it"));
    wq_outbox_t *box = t->box;
    if (t->last - t->acked >= box->limits.max_queued) {
        rc = wq_err_set(err, WQ_E_FULL, "outbox",
                        _("the outbox is full: %" PRIu64 " records wait for the collector "
                        "(outbox_max_queued = %" PRIu64 "); nothing was stored. Let `wanqi-agent "
                        "run` deliver them, or raise outbox_max_queued"),
                        t->last - t->acked, box->limits.max_queued);
        goto fail;
    }
    wq_record_set_identity(rec, t->agent, t->inc, t->last + 1, wq_now_ms());
    rc = wq_record_validate(rec, err);
    if (rc != WQ_OK)
        goto fail;
    if (ref && strlen(ref) > WQ_REF_MAX) {
        rc = wq_err_set(err, WQ_E_RANGE, "ref", _("ref has more than %d bytes"), WQ_REF_MAX);
        goto fail;
    }
    rc = wq_record_encode(rec, &buf, &size);
    if (rc != WQ_OK) {
        rc = wq_err_set(err, rc, "", _("cannot encode the record: %s"), wq_strerror(rc));
        goto fail;
    }
    rc = wq_record_fingerprint(rec, fp, err);
    if (rc != WQ_OK)
        goto fail;
    if (t->bytes + size > box->limits.max_bytes) {
        rc = wq_err_set(err, WQ_E_FULL, "outbox",
                        _("the outbox is full: it holds %" PRIu64 " bytes of records and "
                        "outbox_max_bytes is %" PRIu64 "; nothing was stored. Raise "
                        "outbox_max_bytes (and outbox_map_mb) or move the archive away"),
                        t->bytes, box->limits.max_bytes);
        goto fail;
    }
    uint8_t key[12];
    s_rec_key(key, t->inc, rec->seq);
    MDB_val k = {12, key}, d = {size, buf};
    int mrc = mdb_put(t->txn, box->records, &k, &d, MDB_NOOVERWRITE);
    char mk[32];
    s_inc_key(mk, "last", t->inc);
    if (mrc == 0)
        rc = s_meta_put_u64(t->txn, box->meta, mk, rec->seq, err);
    else
        rc = wq_store_err(mrc, "mdb_put(records)", err);
    if (rc == WQ_OK)
        rc = s_meta_put_u64(t->txn, box->meta, "bytes", t->bytes + size, err);
    if (rc == WQ_OK)
        rc = s_meta_put_u64(t->txn, box->meta, "count", t->count + 1, err);
    if (rc == WQ_OK)
        rc = s_index_put(box, t->txn, fp, key, err);
    if (rc == WQ_OK && ref && *ref) {
        char rk[WQ_REF_MAX + 32];
        uint8_t rv[12 + WQ_FINGERPRINT_BYTES];
        size_t rlen;
        s_ref_key(rk, rec->type, ref, &rlen);
        memcpy(rv, key, 12);
        memcpy(rv + 12, fp, WQ_FINGERPRINT_BYTES);
        MDB_val k2 = {rlen, rk}, d2 = {sizeof rv, rv};
        mrc = mdb_put(t->txn, box->refs, &k2, &d2, MDB_NOOVERWRITE);
        rc = mrc == MDB_KEYEXIST ? WQ_OK : wq_store_err(mrc, "mdb_put(refs)", err);
    }
    if (rc != WQ_OK) {
        /* A failed mdb_put leaves the LMDB txn unusable. */
        t->dead = true;
        if (rc == WQ_E_FULL && err) {
            char text[2 * sizeof err->text];
            snprintf(text, sizeof text, "the outbox's LMDB map is full (%s): nothing of this "
                     "transaction was stored; raise outbox_map_mb", err->text);
            memcpy(err->text, text, sizeof err->text - 1);
            err->text[sizeof err->text - 1] = '\0';
        }
        goto fail;
    }
    t->last = rec->seq;
    t->bytes += size;
    t->count++;
    t->added++;
    if (id)
        wq_record_id(rec, id);
fail:
    free(buf);
    return rc;
}

size_t
wq_outbox_txn_count(const wq_outbox_txn_t *t)
{
    return t->added;
}

bool
wq_outbox_txn_ok(const wq_outbox_txn_t *t)
{
    return !t->dead;
}

int
wq_outbox_commit(wq_outbox_txn_t **txn, wq_err_t *err)
{
    int rc = WQ_OK;
    wq_outbox_txn_t *t = *txn;
    *txn = NULL;
    if (t->dead) {
        mdb_txn_abort(t->txn);
        rc = wq_err_set(err, WQ_E_STATE, "", _("the outbox transaction failed: nothing stored"));
    } else {
        int mrc = mdb_txn_commit(t->txn);
        if (mrc != 0)
            rc = wq_store_err(mrc, "mdb_txn_commit(records)", err);
    }
    free(t);
    return rc;
}

void
wq_outbox_abort(wq_outbox_txn_t **txn)
{
    if (!txn || !*txn)
        return;
    mdb_txn_abort((*txn)->txn);
    free(*txn);
    *txn = NULL;
}

int
wq_outbox_append(wq_outbox_t *self, wq_record_t *rec, char id[WQ_EVENT_ID_MAX], wq_err_t *err)
{
    wq_outbox_txn_t *t = NULL;
    int rc = wq_outbox_begin(self, &t, err);
    if (rc != WQ_OK)
        return rc;
    rc = wq_outbox_txn_add(t, rec, id, err);
    if (rc != WQ_OK) {
        wq_outbox_abort(&t);
        return rc;
    }
    return wq_outbox_commit(&t, err);
}

/*  ---- reading ------------------------------------------------------------ */

int
wq_outbox_read(wq_outbox_t *self, uint32_t inc, uint64_t from, uint64_t upto, size_t max_records,
               size_t max_bytes, wq_outbox_fn *fn, void *arg, size_t *count, wq_err_t *err)
{
    int rc = WQ_OK;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    size_t n = 0, bytes = 0;
    uint64_t seq = from;
    int mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_txn_begin(read)", err);
        goto fail;
    }
    mrc = mdb_cursor_open(txn, self->records, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open", err);
        goto fail;
    }
    uint8_t key[12];
    s_rec_key(key, inc, from);
    MDB_val k = {12, key}, d;
    mrc = mdb_cursor_get(cur, &k, &d, MDB_SET_RANGE);
    while (seq <= upto && n < max_records) {
        uint64_t at = UINT64_MAX;   /* seq the cursor is on, UINT64_MAX if past inc */
        if (mrc == 0) {
            if (k.mv_size == 12 && wq_be32_get(k.mv_data) == inc)
                at = wq_be64_get((uint8_t *) k.mv_data + 4);
        } else if (mrc != MDB_NOTFOUND) {
            rc = wq_store_err(mrc, "mdb_cursor_get(records)", err);
            goto fail;
        }
        if (at == seq) {
            if (n > 0 && bytes + d.mv_size > max_bytes)
                break;
            bytes += d.mv_size;
            n++;
            if (fn(inc, seq, d.mv_data, d.mv_size, arg) != 0)
                break;
            mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT);
        } else {
            /* A hole: the cursor is past seq. Report it and move on. */
            n++;
            if (fn(inc, seq, NULL, 0, arg) != 0)
                break;
        }
        seq++;
    }
fail:
    if (count)
        *count = n;
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

int
wq_outbox_scan(wq_outbox_t *self, wq_outbox_fn *fn, void *arg, wq_err_t *err)
{
    int rc = WQ_OK;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    int mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_txn_begin(read)", err);
        goto fail;
    }
    mrc = mdb_cursor_open(txn, self->records, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open", err);
        goto fail;
    }
    MDB_val k, d;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (k.mv_size != 12)
            continue;
        if (fn(wq_be32_get(k.mv_data), wq_be64_get((uint8_t *) k.mv_data + 4), d.mv_data,
               d.mv_size, arg) != 0)
            break;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(records)", err);
fail:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

/*  ---- bookkeeping -------------------------------------------------------- */

int
wq_outbox_ack(wq_outbox_t *self, uint32_t inc, uint64_t hwm, const wq_quarantined_t *q, size_t nq,
              wq_err_t *err)
{
    int rc;
    MDB_txn *txn = NULL;
    char key[32];
    int mrc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin(ack)", err);
    s_inc_key(key, "acked", inc);
    rc = s_meta_put_u64(txn, self->meta, key, hwm, err);
    if (rc == WQ_OK)
        rc = s_meta_put_u64(txn, self->meta, "hwm", hwm, err);
    if (rc == WQ_OK)
        rc = s_meta_put_u64(txn, self->meta, "contact", wq_now_ms(), err);
    for (size_t i = 0; rc == WQ_OK && i < nq; i++) {
        uint8_t k12[12];
        s_rec_key(k12, inc, q[i].seq);
        const char *reason = q[i].reason ? q[i].reason : "";
        size_t len = strlen(reason);
        uint8_t *val = malloc(4 + len);
        if (!val) {
            rc = wq_err_set(err, WQ_E_NOMEM, "", _("out of memory storing a quarantine entry"));
            break;
        }
        wq_be32_put(val, q[i].code);
        memcpy(val + 4, reason, len);
        MDB_val k = {12, k12}, d = {4 + len, val};
        rc = wq_store_err(mdb_put(txn, self->quarantine, &k, &d, 0), "mdb_put(quarantine)", err);
        free(val);
    }
    if (rc != WQ_OK)
        goto fail;
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if (mrc != 0)
        rc = wq_store_err(mrc, "mdb_txn_commit(ack)", err);
fail:
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

int
wq_outbox_note_error(wq_outbox_t *self, const char *text, wq_err_t *err)
{
    int rc;
    MDB_txn *txn = NULL;
    size_t len = strlen(text);
    if (len > 300)
        len = 300;
    uint8_t val[8 + 300];
    wq_be64_put(val, wq_now_ms());
    memcpy(val + 8, text, len);
    int mrc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin(error)", err);
    MDB_val k = {5, "error"}, d = {8 + len, val};
    rc = wq_store_err(mdb_put(txn, self->meta, &k, &d, 0), "mdb_put(meta error)", err);
    if (rc != WQ_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    return wq_store_err(mdb_txn_commit(txn), "mdb_txn_commit(error)", err);
}

int
wq_outbox_note_skipped(wq_outbox_t *self, uint32_t inc, uint64_t seq, const char *reason,
                       wq_err_t *err)
{
    int rc;
    MDB_txn *txn = NULL;
    uint8_t key[12];
    s_rec_key(key, inc, seq);
    int mrc = mdb_txn_begin(self->env, NULL, 0, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin(skipped)", err);
    MDB_val k = {12, key}, d = {strlen(reason), (void *) reason};
    rc = wq_store_err(mdb_put(txn, self->skipped, &k, &d, 0), "mdb_put(skipped)", err);
    if (rc != WQ_OK) {
        mdb_txn_abort(txn);
        return rc;
    }
    return wq_store_err(mdb_txn_commit(txn), "mdb_txn_commit(skipped)", err);
}

int
wq_outbox_notes(wq_outbox_t *self, int which, wq_outbox_note_fn *fn, void *arg, wq_err_t *err)
{
    int rc = WQ_OK;
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    char reason[WQ_TEXT_MAX + 1];
    int mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_txn_begin(read)", err);
        goto fail;
    }
    mrc = mdb_cursor_open(txn, which == 0 ? self->quarantine : self->skipped, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open", err);
        goto fail;
    }
    MDB_val k, d;
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_NEXT)) {
        if (k.mv_size != 12)
            continue;
        const uint8_t *p = d.mv_data;
        size_t n = d.mv_size;
        uint32_t code = 0;
        if (which == 0) {
            if (n < 4)
                continue;
            code = wq_be32_get(p);
            p += 4;
            n -= 4;
        }
        if (n > WQ_TEXT_MAX)
            n = WQ_TEXT_MAX;
        memcpy(reason, p, n);
        reason[n] = '\0';
        if (fn(wq_be32_get(k.mv_data), wq_be64_get((uint8_t *) k.mv_data + 4), code, reason, arg))
            break;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get", err);
fail:
    if (cur)
        mdb_cursor_close(cur);
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

int
wq_outbox_last_of_type(wq_outbox_t *self, wq_rec_type_t type, char id[WQ_EVENT_ID_MAX],
                       bool *found, wq_err_t *err)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    uint32_t inc;
    uint64_t last, acked;
    int rc;
    *found = false;
    int mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin(read)", err);
    rc = s_current(self, txn, NULL, &inc, &last, &acked, err);
    if (rc != WQ_OK || last == 0)
        goto done;
    mrc = mdb_cursor_open(txn, self->records, &cur);
    if (mrc != 0) {
        rc = wq_store_err(mrc, "mdb_cursor_open(records)", err);
        goto done;
    }
    uint8_t key[12];
    s_rec_key(key, inc, last);
    MDB_val k = {12, key}, d;
    /* Newest first, within the current incarnation. */
    for (mrc = mdb_cursor_get(cur, &k, &d, MDB_SET_KEY); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &d, MDB_PREV)) {
        if (k.mv_size != 12 || wq_be32_get(k.mv_data) != inc)
            break;
        wq_record_t *rec = NULL;
        wq_err_t e;
        if (wq_record_decode(d.mv_data, d.mv_size, &rec, &e) != WQ_OK)
            continue;
        bool hit = type == WQ_REC_NONE || rec->type == type;
        if (hit) {
            wq_record_id(rec, id);
            *found = true;
        }
        wq_record_destroy(&rec);
        if (hit)
            break;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = wq_store_err(mrc, "mdb_cursor_get(records)", err);
done:
    if (cur)
        mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    return rc;
}

int
wq_outbox_short_id(wq_outbox_t *self, wq_rec_type_t type, const char *text,
                   char id[WQ_EVENT_ID_MAX], bool *is_short, wq_err_t *err)
{
    *is_short = false;
    if (!text)
        return WQ_OK;
    size_t n = strlen(text);
    bool digits = n > 0 && n <= 19 && text[0] != '0';
    for (size_t i = 0; digits && i < n; i++)
        digits = text[i] >= '0' && text[i] <= '9';
    bool last = strcmp(text, "last") == 0 || strcmp(text, "最后") == 0
                || strcmp(text, "上一条") == 0;
    if (!digits && !last)
        return WQ_OK;
    *is_short = true;
    if (last) {
        bool found;
        int rc = wq_outbox_last_of_type(self, type, id, &found, err);
        if (rc != WQ_OK)
            return rc;
        if (!found)
            return wq_err_set(err, WQ_E_NOTFOUND, "", _("\"%s\": this agent has no %s record yet"),
                              text, type == WQ_REC_NONE ? _("stored") : wq_rec_type_label(type));
        return WQ_OK;
    }
    wq_outbox_state_t st;
    int rc = wq_outbox_state(self, &st, err);
    if (rc != WQ_OK)
        return rc;
    if (st.inc == 0)
        return wq_err_set(err, WQ_E_STATE, "", _("the outbox has no incarnation yet: run "
                                                "`wanqi-agent init` first"));
    wq_event_id_format(st.agent, st.inc, strtoull(text, NULL, 10), id);
    return WQ_OK;
}

/*  Look id up in txn: *out the decoded record, or NULL if this outbox has
    no record with that (inc, seq) or id is another agent's (*own false). */
static int
s_get(wq_outbox_t *self, MDB_txn *txn, const char *id, wq_record_t **out, bool *own,
      wq_err_t *err)
{
    char agent[WQ_AGENT_ID_MAX + 1], mine[WQ_AGENT_ID_MAX + 1];
    uint32_t inc;
    uint64_t seq;
    *out = NULL;
    *own = false;
    int rc = wq_event_id_parse(id, agent, &inc, &seq, err);
    if (rc != WQ_OK)
        return rc;
    rc = s_meta_get_str(txn, self->meta, "agent", mine, sizeof mine, err);
    if (rc != WQ_OK)
        return rc;
    if (strcmp(agent, mine) != 0)
        return WQ_OK;
    *own = true;
    uint8_t key[12];
    s_rec_key(key, inc, seq);
    MDB_val k = {12, key}, d;
    int mrc = mdb_get(txn, self->records, &k, &d);
    if (mrc == MDB_NOTFOUND)
        return WQ_OK;
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_get(records)", err);
    return wq_record_decode(d.mv_data, d.mv_size, out, err);
}

int
wq_outbox_get(wq_outbox_t *self, const char *id, wq_record_t **out, bool *own, wq_err_t *err)
{
    MDB_txn *txn = NULL;
    int mrc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, &txn);
    if (mrc != 0)
        return wq_store_err(mrc, "mdb_txn_begin(read)", err);
    int rc = s_get(self, txn, id, out, own, err);
    mdb_txn_abort(txn);
    return rc;
}

int
wq_outbox_txn_get(wq_outbox_txn_t *t, const char *id, wq_record_t **out, bool *own, wq_err_t *err)
{
    if (t->dead)
        return wq_err_set(err, WQ_E_STATE, "", _("the outbox transaction failed before: abort it"));
    return s_get(t->box, t->txn, id, out, own, err);
}

