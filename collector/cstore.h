/*  =========================================================================
    cstore - internals of the central store shared by its modules

    central.c (open, ingest, index, verify), fold.c (entity folds),
    views.c (counters and their rollups) and queries.c (query tables) all
    work on the same LMDB environment; this header holds the store struct,
    the names and layouts of its databases, and the key helpers. It is not
    a public interface: only the collector sources include it. docs/STORE.md
    describes every database and key layout.
    =========================================================================
*/
#ifndef WQ_CSTORE_H_INCLUDED
#define WQ_CSTORE_H_INCLUDED

#include <lmdb.h>
#include "common/store.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "collector/central.h"
#include "common/error.h"
#include "common/record.h"

/*  Event key: agent bytes, a NUL, be32 inc, be64 seq. Sorts by (agent,
    inc, seq) as bytes and is unique per event. */
#define WQ_EK_MAX (WQ_AGENT_ID_MAX + 1 + 4 + 8)
/*  Sort key in the entity index: activity date (10 bytes) + event key. */
#define WQ_SK_MAX (10 + WQ_EK_MAX)
/*  Entity key: "E:" + credit code, "P:" / "C:" + text event id. */
#define WQ_ENTITY_MAX (WQ_EVENT_ID_MAX + 2)

struct wq_central_t {
    MDB_env *env;
    MDB_dbi events;      /* event key -> record bytes as the agent made them */
    MDB_dbi entities;    /* DUPSORT: entity key -> sort key of each of its events */
    MDB_dbi pending;     /* DUPSORT: missing target's event key -> waiting event key */
    MDB_dbi links;       /* DUPSORT: "E:"+code -> "P:..." / "C:..." entity keys of the enterprise */
    MDB_dbi states;      /* entity key -> folded state blob (fold.h) */
    MDB_dbi views;       /* counter key (views.h) -> int64 */
    MDB_dbi marks;       /* mark key (marks.h) -> int64: overdue intervals, waiting records,
                            visits per cadre, possible double entries */
    MDB_dbi streams;     /* agent NUL be32 inc -> stream row (central.c) */
    MDB_dbi quarantine;  /* event key -> be32 code, be64 time, be16 reason len, reason, raw */
    MDB_dbi meta;        /* "events", "quarantined", "streams" -> be64; "version" */
    MDB_dbi transfers;   /* credit code (18) + date (10) -> county (6): operator transfers */
    MDB_dbi entcounts;   /* entity key NUL county (6) -> be64: events of that county in the
                            entity, for the per-county entity limit (central.h) */
    /* Entity folds done by ingest since open (the writer's thread only):
       applied to the stored state alone, of a new entity from the records
       just decoded, or from all the entity's events read back. */
    uint64_t folds_incremental, folds_new, folds_full;
    uint64_t agent_quota; /* bytes per agent, 0: none (wq_central_set_agent_quota) */
    /* Counter changes of the batch being ingested (views.h), written once
       per counter before its transaction commits: vacc points to vacc_mem
       inside s_ingest_txn (central.c), NULL outside (changes are then
       written at once). The writer's thread only. */
    struct wq_views_acc_t *vacc, *vacc_mem;
    /* Inside wq_central_ingest_group's shared transaction: the batches'
       sums are written once, before its commit, not at each batch's end. */
    bool vacc_group;
};

/*  An agent's store bytes (meta "bytes/AGENT": its events' and
    quarantined records' value sizes) and the time of its last batch
    refused for the quota (0: none since one was accepted). If the bytes
    were never counted (a store of an earlier version), count selects
    whether to count them now by a scan (else *bytes is 0). */
int wq_central_agent_bytes(MDB_txn *txn, wq_central_t *c, const char *agent, bool count, uint64_t *bytes,
                           uint64_t *refused_ms, wq_err_t *err);

/*  Build an event key; returns its length. */
size_t wq_ek_make(const char *agent, uint32_t inc, uint64_t seq, uint8_t out[WQ_EK_MAX]);
/*  Split an event key. Returns false if malformed. agent gets the id. */
bool wq_ek_split(const uint8_t *ek, size_t len, char agent[WQ_AGENT_ID_MAX + 1], uint32_t *inc,
                 uint64_t *seq);
/*  Event key from a text id ("AGENT/INC/SEQ"); returns 0 if malformed. */
size_t wq_ek_from_text(const char *id, uint8_t out[WQ_EK_MAX]);
/*  Text id from an event key into out; false if malformed. */
bool wq_ek_to_text(const uint8_t *ek, size_t len, char out[WQ_EVENT_ID_MAX]);

/*  A stream's row: agent NUL be32 inc -> county(6) and six be64: hwm,
    stored, quarantined, last_seq (reported), queued (reported), last
    contact (epoch ms). */
typedef struct {
    char county[7];
    uint64_t hwm, stored, quarantined, last_seq, queued, contact_ms;
} wq_stream_row_t;
/*  Decode a stream row; WQ_OK or WQ_E_CORRUPT. */
int wq_stream_decode(const void *data, size_t size, wq_stream_row_t *row);

/*  Growable byte buffer for blobs; writes never fail silently: a failed
    allocation sets oom and later writes are ignored. */
typedef struct {
    uint8_t *data;
    size_t len, cap;
    bool oom;
} wq_buf_t;
void wq_buf_put(wq_buf_t *b, const void *p, size_t n);
void wq_buf_u8(wq_buf_t *b, uint8_t v);
void wq_buf_u16(wq_buf_t *b, uint16_t v);
void wq_buf_u64(wq_buf_t *b, uint64_t v);
void wq_buf_str(wq_buf_t *b, const char *s);     /* be16 length + bytes (truncated at 65535) */
void wq_buf_free(wq_buf_t *b);

/*  Bounded reader over stored bytes: any read past the end sets bad. */
typedef struct {
    const uint8_t *p;
    size_t len, off;
    bool bad;
} wq_rd_t;
uint8_t wq_rd_u8(wq_rd_t *r);
uint16_t wq_rd_u16(wq_rd_t *r);
uint64_t wq_rd_u64(wq_rd_t *r);
const uint8_t *wq_rd_bytes(wq_rd_t *r, size_t n);
/*  Read a be16-length string into out (size cap, NUL-terminated, cut). */
void wq_rd_str(wq_rd_t *r, char *out, size_t cap);
/*  Read a be16-length string as a new malloc'd string (NULL on bad/OOM). */
char *wq_rd_strdup(wq_rd_t *r);

#endif
