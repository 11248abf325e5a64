/*  =========================================================================
    outbox - the agent's LMDB queue and archive of records

    Every record the county makes is stored here, in the same write
    transaction that assigns its seq, and kept forever (acknowledged records
    are the county's offline archive). Several processes may open the same
    outbox at once (`record`/`import` while `run` sends): LMDB serialises
    writers with its lock file and readers never block.

    LMDB schema (environment DIR/outbox, named databases):
      records     key inc(be32) seq(be64)  -> the bytes of wq_record_encode
      meta        text keys -> values:
                    "agent"            agent id (text)
                    "inc"              current incarnation (be32)
                    "last/XXXXXXXX"    last seq stored in incarnation XXXXXXXX (be64)
                    "acked/XXXXXXXX"   collector's acknowledged mark for it (be64)
                    "bytes", "count"   total record bytes / records stored (be64)
                    "contact"          last successful contact, unix ms (be64)
                    "hwm"              collector's mark last heard (be64)
                    "error"            be64 unix ms + text of the last sending error
      quarantine  key inc(be32) seq(be64) -> code(be32) + reason text
      skipped     key inc(be32) seq(be64) -> reason text: records `run` could
                  not read from the outbox and sent as a placeholder
      fprint      key BLAKE2b-256 of the record's content (wq_record_fingerprint)
                  -> inc(be32) seq(be64) of the first record with that content
      refs        key "TYPE:REF" (a row's own id from an import's ref column)
                  -> inc(be32) seq(be64) + the record's fingerprint (32 bytes)
    An outbox made before fprint existed is indexed once when opened.
    Commits are durable (no MDB_NOSYNC): an id is reported only after
    mdb_txn_commit returned 0.
    =========================================================================
*/
#ifndef WQ_AGENT_OUTBOX_H_INCLUDED
#define WQ_AGENT_OUTBOX_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"
#include "common/record.h"
#include "proto/msg.h"

typedef struct wq_outbox_t wq_outbox_t;
typedef struct wq_outbox_txn_t wq_outbox_txn_t;

typedef struct {
    uint64_t max_queued;    /* records not yet acknowledged (current incarnation) */
    uint64_t max_bytes;     /* record bytes stored, archive included */
    uint64_t map_bytes;     /* LMDB map size */
} wq_outbox_limits_t;

typedef struct {
    char agent[WQ_AGENT_ID_MAX + 1];
    uint32_t inc;               /* current incarnation, 0 if not initialised */
    uint64_t last_seq;          /* last seq stored in the current incarnation */
    uint64_t acked;             /* acknowledged mark of the current incarnation */
    uint64_t queued;            /* last_seq - acked */
    uint64_t count;             /* records stored, all incarnations */
    uint64_t bytes;             /* their bytes */
    uint64_t oldest_unsent_ms;  /* "recorded" of record acked+1, 0 if none/unreadable */
    uint64_t contact_ms;        /* last successful contact with the collector, 0 never */
    uint64_t hwm;               /* collector's mark last heard */
    uint64_t error_ms;          /* when last_error happened, 0 if none */
    char last_error[320];
    uint64_t quarantined;       /* entries in quarantine (all incarnations) */
    uint64_t skipped;           /* entries in skipped */
} wq_outbox_state_t;

/*  Open (creating if needed) the outbox environment in dir. Clears stale
    reader slots of dead processes. *out is new. Errors: WQ_E_IO,
    WQ_E_CORRUPT, WQ_E_FULL, WQ_E_NOMEM. */
int wq_outbox_open(const char *dir, const wq_outbox_limits_t *limits, wq_outbox_t **out,
                   wq_err_t *err);

/*  Close; sets *self to NULL; safe on NULL. No transaction may be open. */
void wq_outbox_destroy(wq_outbox_t **self);

/*  Start incarnation inc (!= 0) for agent: new seqs from 1. Refuses
    (WQ_E_STATE) if the outbox already has an incarnation unless force;
    with force the old records stay as archive. Errors also WQ_E_IO... */
int wq_outbox_start_incarnation(wq_outbox_t *self, const char *agent, uint32_t inc, bool force,
                                wq_err_t *err);

/*  Current state (one read transaction). */
int wq_outbox_state(wq_outbox_t *self, wq_outbox_state_t *st, wq_err_t *err);

/*  Cheap read of the current incarnation's last seq (one small read txn). */
int wq_outbox_last_seq(wq_outbox_t *self, uint64_t *last, wq_err_t *err);

/*  ---- recording ----------------------------------------------------------- */

/*  Begin a write transaction (waits for other writers). Errors: WQ_E_STATE
    (no incarnation: run `wanqi-agent init`), WQ_E_IO. */
int wq_outbox_begin(wq_outbox_t *self, wq_outbox_txn_t **txn, wq_err_t *err);

/*  Give rec the next id (agent, inc, seq, recorded = now), validate it
    fully, encode it and store it. id (may be NULL) receives its text id,
    which must not be shown to anybody before wq_outbox_commit succeeded.
    On a validation error (any wq_record_validate code) or WQ_E_FULL from
    the configured bounds nothing is stored and the txn stays usable. On
    WQ_E_FULL from LMDB (map full) or WQ_E_IO the txn is dead: abort it. */
int wq_outbox_txn_add(wq_outbox_txn_t *txn, wq_record_t *rec, char id[WQ_EVENT_ID_MAX],
                      wq_err_t *err);

/*  Same as wq_outbox_txn_add, and when ref is not NULL/empty also index
    the record under (type, ref): the identity a person gave the row in an
    import file's `ref` column (at most WQ_REF_MAX bytes, else WQ_E_RANGE).
    The content fingerprint is always indexed (the first record with a
    given content keeps the entry). */
int wq_outbox_txn_add_ref(wq_outbox_txn_t *txn, wq_record_t *rec, const char *ref,
                          char id[WQ_EVENT_ID_MAX], wq_err_t *err);

/*  Records added in this txn so far. */
size_t wq_outbox_txn_count(const wq_outbox_txn_t *txn);

/*  Whether the txn can still be committed. */
bool wq_outbox_txn_ok(const wq_outbox_txn_t *txn);

/*  Commit durably and free the txn (*txn = NULL in all cases). */
int wq_outbox_commit(wq_outbox_txn_t **txn, wq_err_t *err);

/*  Abort and free (*txn = NULL); safe on NULL. */
void wq_outbox_abort(wq_outbox_txn_t **txn);

/*  begin + add + commit for one record. */
int wq_outbox_append(wq_outbox_t *self, wq_record_t *rec, char id[WQ_EVENT_ID_MAX], wq_err_t *err);

/*  ---- never twice at the keyboard: the content fingerprint index ---------

    Each stored record's content (its type and fields, without the identity
    agent/inc/seq/recorded, so without the time it was recorded) is hashed
    and indexed. Before storing, `record` and `import` ask whether the same
    content (or, for an import row with a `ref`, the same type+ref) is
    already stored, and skip it, naming the id it already has, unless the
    user insists (--repeat). The web workbench asks the same to say
    "这条记录已于…记录过". */

#define WQ_FINGERPRINT_BYTES 32
#define WQ_REF_MAX 200

typedef struct {
    bool found;             /* a stored record matches */
    bool by_ref;            /* matched by (type, ref), not by content */
    bool same_content;      /* its content equals rec's (always true unless by_ref) */
    wq_rec_type_t type;
    uint32_t inc;
    uint64_t seq;
    uint64_t recorded_ms;   /* when it was stored (unix ms) */
    char id[WQ_EVENT_ID_MAX];   /* its text id AGENT/INC/SEQ */
} wq_outbox_match_t;

/*  The content fingerprint of rec: BLAKE2b-256 of its canonical encoding
    with the identity fields left out. rec need not be validated. Errors:
    WQ_E_RANGE (too large to encode), WQ_E_NOMEM. */
int wq_record_fingerprint(const wq_record_t *rec, uint8_t fp[WQ_FINGERPRINT_BYTES], wq_err_t *err);

/*  Is a record like rec already stored? With ref (not NULL, not empty):
    the record stored with the same type and ref, whatever its content
    (m->same_content says whether the content is the same too); without:
    the first record with the same content. m->found false if none.
    Uses its own read transaction: never waits for a writer. Errors:
    WQ_E_RANGE (ref too long), WQ_E_CORRUPT, WQ_E_IO, WQ_E_NOMEM. */
int wq_outbox_find_same(wq_outbox_t *self, const wq_record_t *rec, const char *ref,
                        wq_outbox_match_t *m, wq_err_t *err);

/*  The same inside a write transaction: also sees the records added in it
    (two equal rows of one file). */
int wq_outbox_txn_find_same(wq_outbox_txn_t *txn, const wq_record_t *rec, const char *ref,
                            wq_outbox_match_t *m, wq_err_t *err);

/*  ---- looking a record up by id -------------------------------------------- */

/*  The record with text id: *own says whether the id is this agent's; *out
    is the decoded record (caller destroys) or NULL when it is not this
    agent's or this outbox has no such record. Own read transaction (the
    txn form also sees records added in it). Errors: WQ_E_FORMAT (not an
    id), WQ_E_IO, decode errors. */
int wq_outbox_get(wq_outbox_t *self, const char *id, wq_record_t **out, bool *own, wq_err_t *err);
int wq_outbox_txn_get(wq_outbox_txn_t *txn, const char *id, wq_record_t **out, bool *own,
                      wq_err_t *err);

/*  ---- short ids ----------------------------------------------------------- */

/*  The newest record of type (WQ_REC_NONE: of any type) in the current
    incarnation; *found false if there is none. Own read transaction. */
int wq_outbox_last_of_type(wq_outbox_t *self, wq_rec_type_t type, char id[WQ_EVENT_ID_MAX],
                           bool *found, wq_err_t *err);

/*  A short id as a person types it in an event-id field: "17" means this
    agent's current incarnation, seq 17 (AGENT/INC/17); "last" (or 最后,
    上一条) the newest record of type. *is_short false (and id untouched)
    when text is neither: the caller takes it as a full id. Errors:
    WQ_E_NOTFOUND (no such record for "last"), WQ_E_STATE (no incarnation). */
int wq_outbox_short_id(wq_outbox_t *self, wq_rec_type_t type, const char *text,
                       char id[WQ_EVENT_ID_MAX], bool *is_short, wq_err_t *err);

/*  ---- reading ------------------------------------------------------------- */

/*  Called per record; data/size valid only during the call. data == NULL
    means seq is missing from the outbox (a hole). Return 0 to go on,
    non-zero to stop. */
typedef int (wq_outbox_fn)(uint32_t inc, uint64_t seq, const uint8_t *data, size_t size, void *arg);

/*  Records of incarnation inc with from <= seq <= upto, in order, at most
    max_records and (except for the first) max_bytes of data, in one read
    transaction with a cursor. *count (may be NULL) = callbacks made. */
int wq_outbox_read(wq_outbox_t *self, uint32_t inc, uint64_t from, uint64_t upto,
                   size_t max_records, size_t max_bytes, wq_outbox_fn *fn, void *arg,
                   size_t *count, wq_err_t *err);

/*  Every record of every incarnation in key order (show, list). */
int wq_outbox_scan(wq_outbox_t *self, wq_outbox_fn *fn, void *arg, wq_err_t *err);

/*  ---- the sender's bookkeeping ------------------------------------------- */

/*  The collector says its durable mark for (agent, inc) is hwm: store it
    as the acknowledged mark (lowering it too: a restored collector), the
    quarantined entries, and the contact time, in one write txn. */
int wq_outbox_ack(wq_outbox_t *self, uint32_t inc, uint64_t hwm, const wq_quarantined_t *q,
                  size_t nq, wq_err_t *err);

/*  Store the last sending error (text) with the time. */
int wq_outbox_note_error(wq_outbox_t *self, const char *text, wq_err_t *err);

/*  Record that seq of inc could not be read and was sent as a placeholder. */
int wq_outbox_note_skipped(wq_outbox_t *self, uint32_t inc, uint64_t seq, const char *reason,
                           wq_err_t *err);

/*  Iterate quarantine (which = 0) or skipped (which = 1) entries in key
    order. code is 0 for skipped. fn returns non-zero to stop. */
typedef int (wq_outbox_note_fn)(uint32_t inc, uint64_t seq, uint32_t code, const char *reason,
                                void *arg);
int wq_outbox_notes(wq_outbox_t *self, int which, wq_outbox_note_fn *fn, void *arg, wq_err_t *err);

#endif
