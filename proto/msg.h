/*  =========================================================================
    msg - the wanqi wire protocol, version 1: message codec

    Every message is ONE ZeroMQ frame holding ONE msgpack array:
        [ version, type, field, field, ... ]
    version is the uint 1; type is a uint (wq_msg_type_t). Fields are
    positional, each with a fixed msgpack type. proto/PROTOCOL.md is the
    specification; this codec is its reference implementation, and the
    golden vectors under tests/vectors/ pin its bytes.

    Compression (PROTOCOL.md 5.10, 6.3): a HELLO may carry an 8th element,
    the zstd dictionaries the agent can use; a WELCOME then carries an 8th
    element, the one the collector chose (or none). After that the agent
    sends ZBATCH (type 10) instead of BATCH: the same records array, one
    zstd frame. The codec hides the difference from the collector: a ZBATCH
    DECODES as a wq_msg_t of type WQ_MSG_BATCH (batch.zstd set), and a
    BATCH with batch.zstd set ENCODES as a ZBATCH (proto/zbatch.h).
    Setting the environment variable WANQI_PROTO_V1=1 (for interoperation
    tests only) makes this codec decode as the version-1 codec did before
    compression: an 8-element HELLO or WELCOME is E_RANGE and type 10 is
    E_UNKNOWN, exactly what an older peer answers.

    Decoding is strict and bounded: version first, then type, then every
    field's type and limit, counts capped before anything is allocated,
    no trailing bytes, never a read past the buffer. A BATCH's records are
    opaque bin blobs here (each is a msgpack record map, see
    common/record.h): one bad record must not make the whole batch
    undecodable, so their content is checked by the receiver, which
    quarantines what fails.

    Ownership: a decoded wq_msg_t owns copies of everything it points to;
    wq_msg_destroy frees it. For encoding, fill a wq_msg_t whose pointers
    the caller owns (wq_msg_encode only reads them).
    =========================================================================
*/
#ifndef WQ_MSG_H_INCLUDED
#define WQ_MSG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/error.h"
#include "common/table.h"

#define WQ_PROTO_VERSION 1
#define WQ_MSG_MAX_BYTES (4u * 1024 * 1024)   /* one frame */
#define WQ_BATCH_MAX_RECORDS 1000
#define WQ_QUERY_MAX_PARAMS 32
#define WQ_RESULT_MAX_ROWS 100000
#define WQ_RESULT_MAX_COLS 64
#define WQ_TEXT_MAX 1024                       /* error/status texts */
#define WQ_CURSOR_MAX 256                      /* RESULT.next, QUERY "cursor" */

typedef enum {
    WQ_MSG_HELLO = 1,       /* agent -> collector */
    WQ_MSG_WELCOME = 2,     /* collector -> agent */
    WQ_MSG_BATCH = 3,       /* agent -> collector */
    WQ_MSG_ACK = 4,         /* collector -> agent */
    WQ_MSG_ERROR = 5,       /* collector -> agent or client */
    WQ_MSG_PING = 6,        /* agent -> collector (heartbeat, carries backlog) */
    WQ_MSG_PONG = 7,        /* collector -> agent */
    WQ_MSG_QUERY = 8,       /* client -> collector */
    WQ_MSG_RESULT = 9,      /* collector -> client */
    WQ_MSG_ZBATCH = 10      /* agent -> collector: on the wire only, decodes as WQ_MSG_BATCH */
} wq_msg_type_t;

#define WQ_ZSTD_OFFER_MAX 8     /* dictionary ids in one HELLO */

typedef struct {
    uint64_t seq;           /* record quarantined */
    uint32_t code;          /* wq_rc_t: why */
    char *reason;           /* human text, <= WQ_TEXT_MAX bytes */
} wq_quarantined_t;

typedef struct {
    const uint8_t *data;    /* one encoded record (msgpack map) */
    size_t size;            /* <= WQ_RECORD_MAX_BYTES */
} wq_blob_t;

typedef struct {
    char *key;
    char *value;
} wq_param_t;

typedef struct {
    wq_msg_type_t type;
    union {
        struct {    /* HELLO: [1, 1, agent, inc, software, last_seq, queued] */
            char *agent;            /* agent id it believes it is (the collector checks it against the key) */
            uint32_t inc;           /* incarnation, != 0 */
            char *software;         /* e.g. "wanqi-agent 0.1.0", <= 64 bytes */
            uint64_t last_seq;      /* highest seq stored in its outbox (0 if none) */
            uint64_t queued;        /* records not yet acknowledged */
            /* 8th element, optional: the agent speaks ZBATCH with any of
               these zstd dictionary ids (0 = no dictionary), best first. */
            bool zstd_offer;        /* the element is present (may be empty) */
            size_t nzstd;           /* 0..WQ_ZSTD_OFFER_MAX */
            uint32_t zstd[WQ_ZSTD_OFFER_MAX];
        } hello;
        struct {    /* WELCOME: [1, 2, inc, hwm, credit, max_batch, heartbeat_ms] */
            uint32_t inc;
            uint64_t hwm;           /* collector's high-water mark for (agent, inc): all seq <= hwm are durable */
            uint32_t credit;        /* batches the agent may have unacknowledged, >= 1 */
            uint32_t max_batch;     /* records per batch, 1..WQ_BATCH_MAX_RECORDS */
            uint32_t heartbeat_ms;  /* agent pings at this interval; link dead after 3 silent */
            /* 8th element, only in answer to a HELLO that had one: [] = send
               BATCH, [dict] = send ZBATCH with that dictionary. */
            bool zstd_answer;       /* the element is present */
            bool zstd_on;           /* [dict] rather than [] */
            uint32_t zstd_dict;
        } welcome;
        struct {    /* BATCH: [1, 3, inc, first_seq, [bin, ...]]
                       ZBATCH: [1, 10, inc, first_seq, count, dict, bin zstd([bin, ...])] */
            uint32_t inc;
            uint64_t first_seq;     /* seq of records[0]; the rest follow contiguously */
            size_t count;           /* 1..WQ_BATCH_MAX_RECORDS */
            wq_blob_t *records;
            bool zstd;              /* encode as / was decoded from a ZBATCH */
            uint32_t dict;          /* its zstd dictionary id (0: none) */
            size_t zsize;           /* decoded: the compressed frame's size */
            int zlevel;             /* encode: highest zstd level to use, 0 = by size
                                       (wq_zbatch_compress_level); not on the wire */
        } batch;
        struct {    /* ACK: [1, 4, inc, hwm, [[seq, code, reason], ...]] */
            uint32_t inc;
            uint64_t hwm;           /* new high-water mark, durable */
            size_t count;           /* quarantined in the acknowledged batch(es) */
            wq_quarantined_t *quarantined;
        } ack;
        struct {    /* ERROR: [1, 5, code, expected_seq, text] */
            uint32_t code;          /* wq_rc_t (WQ_E_GAP, WQ_E_STATE, WQ_E_FULL, ...) */
            uint64_t expected_seq;  /* WQ_E_GAP: next seq the collector expects; else 0 */
            char *text;
        } error;
        struct {    /* PING: [1, 6, inc, last_seq, queued] */
            uint32_t inc;
            uint64_t last_seq;
            uint64_t queued;
        } ping;
        struct {    /* PONG: [1, 7, inc, hwm] */
            uint32_t inc;
            uint64_t hwm;
        } pong;
        struct {    /* QUERY: [1, 8, request_id, name, {key: value, ...}] */
            uint64_t request_id;
            char *name;             /* "summary", "overdue", "enterprise", "agents", "quarantine", ... */
            size_t count;           /* <= WQ_QUERY_MAX_PARAMS */
            wq_param_t *params;     /* keys sorted when encoded (canonical) */
        } query;
        struct {    /* RESULT: [1, 9, request_id, status, text, [col, ...], [[cell, ...], ...] (, next)] */
            uint64_t request_id;
            uint32_t status;        /* WQ_OK or a wq_rc_t */
            char *text;             /* "" or why it failed */
            wq_table_t *table;      /* NULL when status != WQ_OK; cells: nil | int | str */
            char *next;             /* paged answers only (the QUERY had "limit"): "" = last page, else the
                                       "cursor" of the next page; NULL = not paged (7 elements on the wire) */
        } result;
    };
    void *owned_;                   /* private: decoded storage */
} wq_msg_t;

/*  Encode msg into a new malloc'd buffer *buf of *size bytes (caller frees).
    Checks limits the decoder would enforce, so that we never send what a
    peer must reject. Errors: WQ_E_RANGE, WQ_E_UTF8, WQ_E_UNKNOWN (type),
    WQ_E_NOMEM; err says which field. */
int wq_msg_encode(const wq_msg_t *msg, uint8_t **buf, size_t *size, wq_err_t *err);

/*  Decode one frame. On success *out is a new message (wq_msg_destroy).
    Errors: WQ_E_TRUNCATED, WQ_E_TYPE, WQ_E_VERSION, WQ_E_UNKNOWN (message
    type), WQ_E_RANGE (counts, sizes, limits), WQ_E_UTF8, WQ_E_TRAILING,
    WQ_E_DUPFIELD (QUERY param key twice), WQ_E_NOMEM; err->field names the
    element ("batch.records[3]"). */
int wq_msg_decode(const uint8_t *buf, size_t size, wq_msg_t **out, wq_err_t *err);

/*  True when WANQI_PROTO_V1 is set to a non-empty value other than "0":
    behave as a peer of the protocol before compression (testing only). */
bool wq_msg_v1_only(void);

/*  Free a decoded message; sets *msg to NULL; safe on NULL. Do not call on
    a caller-filled message used only for encoding. */
void wq_msg_destroy(wq_msg_t **msg);

/*  "HELLO", "BATCH", ...; "?" if unknown. */
const char *wq_msg_type_name(int type);

/*  Query parameter by key from a decoded QUERY, or NULL. */
const char *wq_msg_param(const wq_msg_t *msg, const char *key);

#endif
