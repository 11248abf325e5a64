/*  =========================================================================
    msg - the wanqi wire protocol, version 1: message codec

    This is the reference implementation of proto/PROTOCOL.md. Encoding
    uses msgpack-c's packer (so every uint is packed in its smallest form,
    exactly as msgpack_pack_uint64 does) writing into a buffer that refuses
    to grow past WQ_MSG_MAX_BYTES. Decoding does NOT use msgpack-c's
    unpacker: that unpacker allocates memory for whatever element count an
    array or map header claims (a 6-byte frame can ask for 100 GB), and it
    cannot tell "truncated" from "wrong type" at a given element. Instead a
    small bounded reader walks the frame once, in protocol order: size
    first, then the version, then the type, then each field's msgpack type
    and limits; every count is checked against its protocol limit before
    anything is allocated, every length against the bytes that remain
    before anything is read, and whatever is left at the end is an error.
    Every failure names the element ("batch.records[3]").

    A ZBATCH's compressed frame is decompressed by proto/zbatch.c under the
    frame limit (its content is a BATCH's records array, which must fit a
    frame), then read by the same bounded reader with paths
    "zbatch.records[i]"; the result is a BATCH message.

    Both directions share the per-field checks (s_check_text, the range
    arguments), so the encoder refuses exactly what a decoder must reject.

    A decoded message owns all its strings and arrays in one arena
    (owned_), freed in one go by wq_msg_destroy; a RESULT's table is a
    wq_table_t it owns too.
    =========================================================================
*/
#include "proto/msg.h"

#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "common/record.h"
#include "common/utf8.h"
#include "proto/zbatch.h"

/*  Limits of PROTOCOL.md that msg.h does not name. */
#define S_SEQ_MAX ((uint64_t) INT64_MAX)       /* seqs are 1..2^63-1 (record.h) */
#define S_SOFTWARE_MAX 64                       /* HELLO software */
#define S_NAME_MAX 64                           /* query name, param key, column name */
#define S_CELL_MAX WQ_RECORD_MAX_BYTES          /* one RESULT string cell */
#define S_HEARTBEAT_MAX 3600000u                /* WELCOME heartbeat_ms, 1 hour */

/*  ---- element paths (formatted only when an error is reported) --------- */

typedef struct {
    const char *base;       /* "batch.records" */
    long i;                 /* first index or -1 */
    long j;                 /* second index or -1 */
    const char *suffix;     /* ".reason" or NULL */
} s_path_t;

#define S_P(base) (&(s_path_t){(base), -1, -1, NULL})
#define S_PI(base, i, suffix) (&(s_path_t){(base), (long) (i), -1, (suffix)})
#define S_PIJ(base, i, j) (&(s_path_t){(base), (long) (i), (long) (j), NULL})

static void
s_path_format(const s_path_t *p, char *out, size_t size)
{
    int n = snprintf(out, size, "%s", p->base);
    if (n >= 0 && (size_t) n < size && p->i >= 0)
        n += snprintf(out + n, size - (size_t) n, "[%ld]", p->i);
    if (n >= 0 && (size_t) n < size && p->j >= 0)
        n += snprintf(out + n, size - (size_t) n, "[%ld]", p->j);
    if (n >= 0 && (size_t) n < size && p->suffix)
        snprintf(out + n, size - (size_t) n, "%s", p->suffix);
}

static int s_fail(wq_err_t *err, int code, const s_path_t *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
s_fail(wq_err_t *err, int code, const s_path_t *path, const char *fmt, ...)
{
    char field[sizeof ((wq_err_t *) 0)->field];
    char text[sizeof ((wq_err_t *) 0)->text];
    va_list ap;
    field[0] = '\0';
    if (path)
        s_path_format(path, field, sizeof field);
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    return wq_err_set(err, code, field, "%s", text);
}

/*  ---- checks shared by encoder and decoder ------------------------------ */

/*  A str field: length within [min, max] bytes, well-formed UTF-8, no
    control characters (multi-line texts may hold '\n' and '\t'). */
static int
s_check_text(wq_err_t *err, const s_path_t *path, const char *s, size_t len, size_t min,
             size_t max, bool multiline)
{
    size_t bad = 0;
    if (len < min || len > max)
        return s_fail(err, WQ_E_RANGE, path, "string of %zu bytes, must be %zu..%zu bytes", len, min,
                      max);
    if (!wq_utf8_text_ok(s, len, multiline, &bad))
        return s_fail(err, WQ_E_UTF8, path,
                      "invalid UTF-8 or a control character at byte %zu of a %zu-byte string%s",
                      bad, len, multiline ? "" : " (single-line field)");
    return WQ_OK;
}

static int
s_check_uint(wq_err_t *err, const s_path_t *path, uint64_t v, uint64_t min, uint64_t max)
{
    if (v < min || v > max)
        return s_fail(err, WQ_E_RANGE, path, "value %llu out of range %llu..%llu",
                      (unsigned long long) v, (unsigned long long) min, (unsigned long long) max);
    return WQ_OK;
}

/*  ---- the arena owned by a decoded message ------------------------------- */

typedef struct s_block_t {
    struct s_block_t *next;
    size_t used;
    size_t cap;
    max_align_t data[];
} s_block_t;

typedef struct {
    s_block_t *head;
} s_arena_t;

#define S_BLOCK_MIN (64u * 1024)

static void *
s_alloc(s_arena_t *a, size_t size)
{
    size_t align = sizeof(max_align_t);
    size = (size + align - 1) / align * align;
    if (size == 0)
        size = align;
    if (!a->head || a->head->cap - a->head->used < size) {
        size_t cap = size > S_BLOCK_MIN ? size : S_BLOCK_MIN;
        s_block_t *b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    void *p = (unsigned char *) a->head->data + a->head->used;
    a->head->used += size;
    return p;
}

static void
s_arena_free(s_arena_t *a)
{
    while (a && a->head) {
        s_block_t *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

/*  ---- the bounded reader ------------------------------------------------- */

typedef struct {
    const uint8_t *p;
    const uint8_t *end;
    wq_err_t *err;
    s_arena_t *arena;
} s_rd_t;

static size_t
s_left(const s_rd_t *rd)
{
    return (size_t) (rd->end - rd->p);
}

/*  What a first byte announces, for error texts. */
static const char *
s_kind(uint8_t b)
{
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3))
        return "an integer";
    if ((b >= 0x80 && b <= 0x8f) || b == 0xde || b == 0xdf)
        return "a map";
    if ((b >= 0x90 && b <= 0x9f) || b == 0xdc || b == 0xdd)
        return "an array";
    if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb))
        return "a str";
    if (b >= 0xc4 && b <= 0xc6)
        return "a bin";
    if (b == 0xc0)
        return "nil";
    if (b == 0xc2 || b == 0xc3)
        return "a bool";
    if (b == 0xca || b == 0xcb)
        return "a float";
    if (b == 0xc1)
        return "the never-used byte 0xc1";
    return "an ext";
}

static int
s_truncated(s_rd_t *rd, const s_path_t *path, size_t need)
{
    return s_fail(rd->err, WQ_E_TRUNCATED, path,
                  "message ends inside this value: %zu more bytes needed, %zu left", need,
                  s_left(rd));
}

/*  Big-endian unsigned of n bytes (1, 2, 4, 8) at rd->p, after the tag. */
static int
s_be(s_rd_t *rd, const s_path_t *path, size_t n, uint64_t *out)
{
    if (s_left(rd) < n)
        return s_truncated(rd, path, n);
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++)
        v = (v << 8) | rd->p[k];
    rd->p += n;
    *out = v;
    return WQ_OK;
}

static int
s_wrong_type(s_rd_t *rd, const s_path_t *path, uint8_t b, const char *want)
{
    return s_fail(rd->err, WQ_E_TYPE, path, "expected %s, found %s (byte 0x%02x)", want, s_kind(b),
                  b);
}

/*  Any msgpack integer. *neg tells whether it is negative: then *sv holds
    it, else *uv. */
static int
s_rd_integer(s_rd_t *rd, const s_path_t *path, bool *neg, uint64_t *uv, int64_t *sv)
{
    if (s_left(rd) < 1)
        return s_truncated(rd, path, 1);
    uint8_t b = *rd->p;
    uint64_t v = 0;
    int rc = WQ_OK;
    *neg = false;
    if (b <= 0x7f) {
        rd->p++;
        *uv = b;
        return WQ_OK;
    }
    if (b >= 0xe0) {
        rd->p++;
        *neg = true;
        *sv = (int64_t) (int8_t) b;
        return WQ_OK;
    }
    if (b >= 0xcc && b <= 0xcf) {
        rd->p++;
        if ((rc = s_be(rd, path, (size_t) 1 << (b - 0xcc), &v)) != WQ_OK)
            return rc;
        *uv = v;
        return WQ_OK;
    }
    if (b >= 0xd0 && b <= 0xd3) {
        size_t n = (size_t) 1 << (b - 0xd0);
        rd->p++;
        if ((rc = s_be(rd, path, n, &v)) != WQ_OK)
            return rc;
        int64_t s;
        if (n == 1)
            s = (int8_t) (uint8_t) v;
        else if (n == 2)
            s = (int16_t) (uint16_t) v;
        else if (n == 4)
            s = (int32_t) (uint32_t) v;
        else
            s = (int64_t) v;
        if (s < 0) {
            *neg = true;
            *sv = s;
        } else {
            *uv = (uint64_t) s;
        }
        return WQ_OK;
    }
    return s_wrong_type(rd, path, b, "an integer");
}

/*  A uint field: any integer format whose value is in [min, max]. */
static int
s_rd_uint(s_rd_t *rd, const s_path_t *path, uint64_t min, uint64_t max, uint64_t *out)
{
    bool neg = false;
    uint64_t uv = 0;
    int64_t sv = 0;
    int rc = s_rd_integer(rd, path, &neg, &uv, &sv);
    if (rc != WQ_OK)
        return rc;
    if (neg)
        return s_fail(rd->err, WQ_E_RANGE, path, "negative value %lld, expected %llu..%llu",
                      (long long) sv, (unsigned long long) min, (unsigned long long) max);
    if ((rc = s_check_uint(rd->err, path, uv, min, max)) != WQ_OK)
        return rc;
    *out = uv;
    return WQ_OK;
}

static int
s_rd_u32(s_rd_t *rd, const s_path_t *path, uint32_t min, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    int rc = s_rd_uint(rd, path, min, max, &v);
    if (rc == WQ_OK)
        *out = (uint32_t) v;
    return rc;
}

/*  Array (is_map false) or map header; the count must be in [min, max]
    before the caller allocates anything for it. */
static int
s_rd_container(s_rd_t *rd, const s_path_t *path, bool is_map, size_t min, size_t max,
               size_t *count)
{
    if (s_left(rd) < 1)
        return s_truncated(rd, path, 1);
    uint8_t b = *rd->p;
    uint64_t n = 0;
    int rc = WQ_OK;
    uint8_t fix = is_map ? 0x80 : 0x90;
    uint8_t c16 = is_map ? 0xde : 0xdc;
    if ((b & 0xf0) == fix) {
        rd->p++;
        n = b & 0x0f;
    } else if (b == c16 || b == c16 + 1) {
        rd->p++;
        if ((rc = s_be(rd, path, b == c16 ? 2 : 4, &n)) != WQ_OK)
            return rc;
    } else {
        return s_wrong_type(rd, path, b, is_map ? "a map" : "an array");
    }
    if (n < min || n > max)
        return s_fail(rd->err, WQ_E_RANGE, path, "%s of %llu %s, must have %zu..%zu",
                      is_map ? "map" : "array", (unsigned long long) n,
                      is_map ? "entries" : "elements", min, max);
    *count = (size_t) n;
    return WQ_OK;
}

/*  str (is_bin false) or bin header; returns the payload without copying,
    after checking it is all there. */
static int
s_rd_raw(s_rd_t *rd, const s_path_t *path, bool is_bin, const uint8_t **data, size_t *len)
{
    if (s_left(rd) < 1)
        return s_truncated(rd, path, 1);
    uint8_t b = *rd->p;
    uint64_t n = 0;
    int rc = WQ_OK;
    if (!is_bin && b >= 0xa0 && b <= 0xbf) {
        rd->p++;
        n = b & 0x1f;
    } else if (!is_bin && b >= 0xd9 && b <= 0xdb) {
        rd->p++;
        if ((rc = s_be(rd, path, (size_t) 1 << (b - 0xd9), &n)) != WQ_OK)
            return rc;
    } else if (is_bin && b >= 0xc4 && b <= 0xc6) {
        rd->p++;
        if ((rc = s_be(rd, path, (size_t) 1 << (b - 0xc4), &n)) != WQ_OK)
            return rc;
    } else {
        return s_wrong_type(rd, path, b, is_bin ? "a bin" : "a str");
    }
    if (s_left(rd) < n)
        return s_truncated(rd, path, (size_t) n);
    *data = rd->p;
    *len = (size_t) n;
    rd->p += n;
    return WQ_OK;
}

/*  A str field, checked and copied NUL-terminated into the arena. */
static int
s_rd_str(s_rd_t *rd, const s_path_t *path, size_t min, size_t max, bool multiline, char **out)
{
    const uint8_t *data = NULL;
    size_t len = 0;
    int rc = s_rd_raw(rd, path, false, &data, &len);
    if (rc != WQ_OK)
        return rc;
    if ((rc = s_check_text(rd->err, path, (const char *) data, len, min, max, multiline)) != WQ_OK)
        return rc;
    char *s = s_alloc(rd->arena, len + 1);
    if (!s)
        return s_fail(rd->err, WQ_E_NOMEM, path, "out of memory copying a %zu-byte string", len);
    if (len)
        memcpy(s, data, len);
    s[len] = '\0';
    *out = s;
    return WQ_OK;
}

/*  ---- decoding each message type ----------------------------------------- */

/*  The optional zstd element of HELLO (array of dictionary ids) or
    WELCOME (array of at most one). */
static int
s_dec_zstd_ids(s_rd_t *rd, const char *base, size_t max, uint32_t *ids, size_t *n)
{
    int rc = s_rd_container(rd, S_P(base), false, 0, max, n);
    for (size_t i = 0; rc == WQ_OK && i < *n; i++)
        rc = s_rd_u32(rd, S_PI(base, i, NULL), 0, UINT32_MAX, &ids[i]);
    return rc;
}

static int
s_dec_hello(s_rd_t *rd, wq_msg_t *m, size_t arity)
{
    int rc;
    uint64_t v = 0;
    if ((rc = s_rd_str(rd, S_P("hello.agent"), 1, WQ_AGENT_ID_MAX, false, &m->hello.agent)))
        return rc;
    if ((rc = s_rd_u32(rd, S_P("hello.inc"), 1, UINT32_MAX, &m->hello.inc)))
        return rc;
    if ((rc = s_rd_str(rd, S_P("hello.software"), 0, S_SOFTWARE_MAX, false, &m->hello.software)))
        return rc;
    if ((rc = s_rd_uint(rd, S_P("hello.last_seq"), 0, S_SEQ_MAX, &v)))
        return rc;
    m->hello.last_seq = v;
    if ((rc = s_rd_uint(rd, S_P("hello.queued"), 0, UINT64_MAX, &v)))
        return rc;
    m->hello.queued = v;
    if (arity == 8) {
        m->hello.zstd_offer = true;
        if ((rc = s_dec_zstd_ids(rd, "hello.zstd", WQ_ZSTD_OFFER_MAX, m->hello.zstd,
                                 &m->hello.nzstd)))
            return rc;
    }
    return WQ_OK;
}

static int
s_dec_welcome(s_rd_t *rd, wq_msg_t *m, size_t arity)
{
    int rc;
    if ((rc = s_rd_u32(rd, S_P("welcome.inc"), 1, UINT32_MAX, &m->welcome.inc)))
        return rc;
    if ((rc = s_rd_uint(rd, S_P("welcome.hwm"), 0, S_SEQ_MAX, &m->welcome.hwm)))
        return rc;
    if ((rc = s_rd_u32(rd, S_P("welcome.credit"), 1, UINT32_MAX, &m->welcome.credit)))
        return rc;
    if ((rc = s_rd_u32(rd, S_P("welcome.max_batch"), 1, WQ_BATCH_MAX_RECORDS,
                       &m->welcome.max_batch)))
        return rc;
    if ((rc = s_rd_u32(rd, S_P("welcome.heartbeat_ms"), 1, S_HEARTBEAT_MAX,
                       &m->welcome.heartbeat_ms)))
        return rc;
    if (arity == 8) {
        size_t n = 0;
        m->welcome.zstd_answer = true;
        if ((rc = s_dec_zstd_ids(rd, "welcome.zstd", 1, &m->welcome.zstd_dict, &n)))
            return rc;
        m->welcome.zstd_on = n == 1;
    }
    return WQ_OK;
}

/*  The records array of a BATCH (base "batch.records") or of a ZBATCH's
    decompressed frame ("zbatch.records", exactly `want` elements). */
static int
s_dec_records(s_rd_t *rd, wq_msg_t *m, const char *base, size_t want)
{
    int rc;
    size_t n = 0;
    if ((rc = s_rd_container(rd, S_P(base), false, want ? want : 1,
                             want ? want : WQ_BATCH_MAX_RECORDS, &n)))
        return rc;
    if (m->batch.first_seq - 1 > S_SEQ_MAX - n)
        return s_fail(rd->err, WQ_E_RANGE, S_P("batch.first_seq"),
                      "first_seq %llu + %zu records passes the largest seq 2^63-1",
                      (unsigned long long) m->batch.first_seq, n);
    m->batch.records = s_alloc(rd->arena, n * sizeof(wq_blob_t));
    if (!m->batch.records)
        return s_fail(rd->err, WQ_E_NOMEM, S_P(base), "out of memory for %zu records", n);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *data = NULL;
        size_t len = 0;
        if ((rc = s_rd_raw(rd, S_PI(base, i, NULL), true, &data, &len)))
            return rc;
        if (len > WQ_RECORD_MAX_BYTES)
            return s_fail(rd->err, WQ_E_RANGE, S_PI(base, i, NULL),
                          "record of %zu bytes, at most %d", len, WQ_RECORD_MAX_BYTES);
        uint8_t *copy = s_alloc(rd->arena, len);
        if (!copy)
            return s_fail(rd->err, WQ_E_NOMEM, S_PI(base, i, NULL),
                          "out of memory copying a %zu-byte record", len);
        if (len)
            memcpy(copy, data, len);
        m->batch.records[i].data = copy;
        m->batch.records[i].size = len;
        m->batch.count = i + 1;
    }
    return WQ_OK;
}

static int
s_dec_batch(s_rd_t *rd, wq_msg_t *m)
{
    int rc;
    if ((rc = s_rd_u32(rd, S_P("batch.inc"), 1, UINT32_MAX, &m->batch.inc)))
        return rc;
    if ((rc = s_rd_uint(rd, S_P("batch.first_seq"), 1, S_SEQ_MAX, &m->batch.first_seq)))
        return rc;
    return s_dec_records(rd, m, "batch.records", 0);
}

/*  ZBATCH: header fields, then the frame decompressed (at most one frame's
    worth, WQ_MSG_MAX_BYTES) and read as the records array it must hold,
    with nothing after it. */
static int
s_dec_zbatch(s_rd_t *rd, wq_msg_t *m)
{
    int rc;
    uint64_t count = 0;
    const uint8_t *data = NULL;
    size_t len = 0, plain_len = 0;
    uint8_t *plain = NULL;
    if ((rc = s_rd_u32(rd, S_P("zbatch.inc"), 1, UINT32_MAX, &m->batch.inc)))
        return rc;
    if ((rc = s_rd_uint(rd, S_P("zbatch.first_seq"), 1, S_SEQ_MAX, &m->batch.first_seq)))
        return rc;
    if ((rc = s_rd_uint(rd, S_P("zbatch.count"), 1, WQ_BATCH_MAX_RECORDS, &count)))
        return rc;
    if ((rc = s_rd_u32(rd, S_P("zbatch.dict"), 0, UINT32_MAX, &m->batch.dict)))
        return rc;
    if ((rc = s_rd_raw(rd, S_P("zbatch.data"), true, &data, &len)))
        return rc;
    m->batch.zstd = true;
    m->batch.zsize = len;
    if ((rc = wq_zbatch_decompress(m->batch.dict, data, len, WQ_MSG_MAX_BYTES, &plain, &plain_len,
                                   "zbatch.data", rd->err)))
        return rc;
    s_rd_t in = {plain, plain + plain_len, rd->err, rd->arena};
    rc = s_dec_records(&in, m, "zbatch.records", (size_t) count);
    if (rc == WQ_OK && in.p != in.end)
        rc = s_fail(rd->err, WQ_E_TRAILING, S_P("zbatch.data"),
                    "%zu bytes after the records array in the zstd frame", s_left(&in));
    free(plain);
    return rc;
}

static int
s_dec_ack(s_rd_t *rd, wq_msg_t *m)
{
    int rc;
    size_t n = 0;
    if ((rc = s_rd_u32(rd, S_P("ack.inc"), 1, UINT32_MAX, &m->ack.inc)))
        return rc;
    if ((rc = s_rd_uint(rd, S_P("ack.hwm"), 0, S_SEQ_MAX, &m->ack.hwm)))
        return rc;
    if ((rc = s_rd_container(rd, S_P("ack.quarantined"), false, 0, WQ_BATCH_MAX_RECORDS, &n)))
        return rc;
    if (n) {
        m->ack.quarantined = s_alloc(rd->arena, n * sizeof(wq_quarantined_t));
        if (!m->ack.quarantined)
            return s_fail(rd->err, WQ_E_NOMEM, S_P("ack.quarantined"),
                          "out of memory for %zu entries", n);
    }
    for (size_t i = 0; i < n; i++) {
        wq_quarantined_t *q = &m->ack.quarantined[i];
        size_t k = 0;
        if ((rc = s_rd_container(rd, S_PI("ack.quarantined", i, NULL), false, 3, 3, &k)))
            return rc;
        if ((rc = s_rd_uint(rd, S_PI("ack.quarantined", i, ".seq"), 1, S_SEQ_MAX, &q->seq)))
            return rc;
        if ((rc = s_rd_u32(rd, S_PI("ack.quarantined", i, ".code"), 1, UINT32_MAX, &q->code)))
            return rc;
        if ((rc = s_rd_str(rd, S_PI("ack.quarantined", i, ".reason"), 0, WQ_TEXT_MAX, true,
                           &q->reason)))
            return rc;
        m->ack.count = i + 1;
    }
    return WQ_OK;
}

static int
s_dec_error(s_rd_t *rd, wq_msg_t *m)
{
    int rc;
    if ((rc = s_rd_u32(rd, S_P("error.code"), 1, UINT32_MAX, &m->error.code)))
        return rc;
    if ((rc = s_rd_uint(rd, S_P("error.expected_seq"), 0, S_SEQ_MAX, &m->error.expected_seq)))
        return rc;
    if ((rc = s_rd_str(rd, S_P("error.text"), 0, WQ_TEXT_MAX, true, &m->error.text)))
        return rc;
    return WQ_OK;
}

static int
s_dec_ping(s_rd_t *rd, wq_msg_t *m)
{
    int rc;
    if ((rc = s_rd_u32(rd, S_P("ping.inc"), 1, UINT32_MAX, &m->ping.inc)))
        return rc;
    if ((rc = s_rd_uint(rd, S_P("ping.last_seq"), 0, S_SEQ_MAX, &m->ping.last_seq)))
        return rc;
    if ((rc = s_rd_uint(rd, S_P("ping.queued"), 0, UINT64_MAX, &m->ping.queued)))
        return rc;
    return WQ_OK;
}

static int
s_dec_pong(s_rd_t *rd, wq_msg_t *m)
{
    int rc;
    if ((rc = s_rd_u32(rd, S_P("pong.inc"), 1, UINT32_MAX, &m->pong.inc)))
        return rc;
    if ((rc = s_rd_uint(rd, S_P("pong.hwm"), 0, S_SEQ_MAX, &m->pong.hwm)))
        return rc;
    return WQ_OK;
}

static int
s_param_cmp(const void *a, const void *b)
{
    return strcmp(((const wq_param_t *) a)->key, ((const wq_param_t *) b)->key);
}

static int
s_dec_query(s_rd_t *rd, wq_msg_t *m)
{
    int rc;
    size_t n = 0;
    if ((rc = s_rd_uint(rd, S_P("query.request_id"), 0, UINT64_MAX, &m->query.request_id)))
        return rc;
    if ((rc = s_rd_str(rd, S_P("query.name"), 1, S_NAME_MAX, false, &m->query.name)))
        return rc;
    if ((rc = s_rd_container(rd, S_P("query.params"), true, 0, WQ_QUERY_MAX_PARAMS, &n)))
        return rc;
    if (n) {
        m->query.params = s_alloc(rd->arena, n * sizeof(wq_param_t));
        if (!m->query.params)
            return s_fail(rd->err, WQ_E_NOMEM, S_P("query.params"), "out of memory for %zu params",
                          n);
    }
    for (size_t i = 0; i < n; i++) {
        wq_param_t *p = &m->query.params[i];
        if ((rc = s_rd_str(rd, S_PI("query.params", i, ".key"), 1, S_NAME_MAX, false, &p->key)))
            return rc;
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->query.params[k].key, p->key) == 0)
                return s_fail(rd->err, WQ_E_DUPFIELD, S_PI("query.params", i, ".key"),
                              "parameter \"%s\" appears twice", p->key);
        if ((rc = s_rd_str(rd, S_PI("query.params", i, ".value"), 0, WQ_TEXT_MAX, false,
                           &p->value)))
            return rc;
        m->query.count = i + 1;
    }
    /* Senders sort keys (canonical form); a decoded QUERY is sorted whatever
       order the keys came in, so that re-encoding is canonical. */
    if (n > 1)
        qsort(m->query.params, n, sizeof(wq_param_t), s_param_cmp);
    return WQ_OK;
}

static int
s_dec_cell(s_rd_t *rd, wq_table_t *t, size_t row, size_t col)
{
    const s_path_t *path = S_PIJ("result.rows", row, col);
    int rc = WQ_OK;
    if (s_left(rd) < 1)
        return s_truncated(rd, path, 1);
    uint8_t b = *rd->p;
    if (b == 0xc0) {
        rd->p++;
        return WQ_OK;   /* a new row's cells are null */
    }
    if ((b >= 0xa0 && b <= 0xbf) || (b >= 0xd9 && b <= 0xdb)) {
        char *s = NULL;
        if ((rc = s_rd_str(rd, path, 0, S_CELL_MAX, true, &s)))
            return rc;
        if (wq_table_set_str(t, row, col, s) != WQ_OK)
            return s_fail(rd->err, WQ_E_NOMEM, path, "out of memory storing a string cell");
        return WQ_OK;
    }
    bool neg = false;
    uint64_t uv = 0;
    int64_t sv = 0;
    if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) {
        if ((rc = s_rd_integer(rd, path, &neg, &uv, &sv)))
            return rc;
        if (!neg) {
            if (uv > (uint64_t) INT64_MAX)
                return s_fail(rd->err, WQ_E_RANGE, path,
                              "integer cell %llu does not fit a signed 64-bit integer",
                              (unsigned long long) uv);
            sv = (int64_t) uv;
        }
        if (wq_table_set_int(t, row, col, sv) != WQ_OK)
            return s_fail(rd->err, WQ_E_NOMEM, path, "out of memory storing an integer cell");
        return WQ_OK;
    }
    return s_wrong_type(rd, path, b, "nil, an integer or a str");
}

/*  The optional 8th element of a RESULT: the paging continuation. */
static int
s_dec_result_next(s_rd_t *rd, wq_msg_t *m, bool paged)
{
    if (!paged)
        return WQ_OK;
    return s_rd_str(rd, S_P("result.next"), 0, WQ_CURSOR_MAX, false, &m->result.next);
}

static int
s_dec_result(s_rd_t *rd, wq_msg_t *m, bool paged)
{
    int rc;
    size_t ncols = 0, nrows = 0;
    char **cols = NULL;
    if ((rc = s_rd_uint(rd, S_P("result.request_id"), 0, UINT64_MAX, &m->result.request_id)))
        return rc;
    if ((rc = s_rd_u32(rd, S_P("result.status"), 0, UINT32_MAX, &m->result.status)))
        return rc;
    if ((rc = s_rd_str(rd, S_P("result.text"), 0, WQ_TEXT_MAX, true, &m->result.text)))
        return rc;
    if ((rc = s_rd_container(rd, S_P("result.columns"), false, 0,
                             m->result.status == WQ_OK ? WQ_RESULT_MAX_COLS : 0, &ncols)))
        return rc;
    if (ncols) {
        cols = s_alloc(rd->arena, ncols * sizeof(char *));
        if (!cols)
            return s_fail(rd->err, WQ_E_NOMEM, S_P("result.columns"), "out of memory");
    }
    for (size_t c = 0; c < ncols; c++)
        if ((rc = s_rd_str(rd, S_PI("result.columns", c, NULL), 1, S_NAME_MAX, false, &cols[c])))
            return rc;
    if ((rc = s_rd_container(rd, S_P("result.rows"), false, 0,
                             ncols ? WQ_RESULT_MAX_ROWS : 0, &nrows)))
        return rc;
    if (m->result.status != WQ_OK)
        return s_dec_result_next(rd, m, paged);    /* a failed result carries no table */
    m->result.table = wq_table_new(ncols, (const char *const *) cols);
    if (!m->result.table)
        return s_fail(rd->err, WQ_E_NOMEM, S_P("result.columns"), "out of memory for the table");
    for (size_t r = 0; r < nrows; r++) {
        size_t k = 0, row = 0;
        if ((rc = s_rd_container(rd, S_PI("result.rows", r, NULL), false, ncols, ncols, &k)))
            return rc;
        if (wq_table_add_row(m->result.table, &row) != WQ_OK)
            return s_fail(rd->err, WQ_E_NOMEM, S_PI("result.rows", r, NULL), "out of memory");
        for (size_t c = 0; c < ncols; c++)
            if ((rc = s_dec_cell(rd, m->result.table, row, c)))
                return rc;
    }
    return s_dec_result_next(rd, m, paged);
}

/*  Elements of each message's array, version and type included. */
static size_t
s_arity(int type)
{
    switch (type) {
    case WQ_MSG_HELLO: return 7;
    case WQ_MSG_WELCOME: return 7;
    case WQ_MSG_BATCH: return 5;
    case WQ_MSG_ACK: return 5;
    case WQ_MSG_ERROR: return 5;
    case WQ_MSG_PING: return 5;
    case WQ_MSG_PONG: return 4;
    case WQ_MSG_QUERY: return 5;
    case WQ_MSG_RESULT: return 7;
    case WQ_MSG_ZBATCH: return 7;
    default: return 0;
    }
}

static const char *s_lower_names[] = {NULL,    "hello", "welcome", "batch", "ack",   "error",
                                      "ping",  "pong",  "query",   "result", "zbatch"};

bool
wq_msg_v1_only(void)
{
    const char *v = getenv("WANQI_PROTO_V1");
    return v && *v && strcmp(v, "0") != 0;
}

int
wq_msg_decode(const uint8_t *buf, size_t size, wq_msg_t **out, wq_err_t *err)
{
    assert(out);
    assert(buf || size == 0);
    static const uint8_t none = 0;
    if (!buf)
        buf = &none;
    wq_msg_t *msg = NULL;
    s_arena_t *arena = NULL;
    s_rd_t rd = {buf, buf + size, err, NULL};
    size_t n = 0;
    uint64_t version = 0, type = 0;
    int64_t sversion = 0;
    bool neg = false;
    int rc = WQ_OK;
    *out = NULL;
    wq_err_clear(err);

    if (size > WQ_MSG_MAX_BYTES) {
        rc = s_fail(err, WQ_E_RANGE, S_P("message"), "frame of %zu bytes, at most %u bytes", size,
                    WQ_MSG_MAX_BYTES);
        goto fail;
    }
    msg = calloc(1, sizeof *msg);
    arena = calloc(1, sizeof *arena);
    if (!msg || !arena) {
        free(arena);
        rc = s_fail(err, WQ_E_NOMEM, S_P("message"), "out of memory for a message");
        goto fail;
    }
    msg->owned_ = arena;
    rd.arena = arena;

    if ((rc = s_rd_container(&rd, S_P("message"), false, 0, SIZE_MAX, &n)))
        goto fail;
    if (n == 0) {
        rc = s_fail(err, WQ_E_RANGE, S_P("message"),
                    "empty array: a message is [version, type, fields...]");
        goto fail;
    }
    if ((rc = s_rd_integer(&rd, S_P("version"), &neg, &version, &sversion)))
        goto fail;
    if (neg || version != WQ_PROTO_VERSION) {
        char shown[24];
        if (neg)
            snprintf(shown, sizeof shown, "%lld", (long long) sversion);
        else
            snprintf(shown, sizeof shown, "%llu", (unsigned long long) version);
        rc = s_fail(err, WQ_E_VERSION, S_P("version"),
                    "protocol version %s, this program speaks version %d only", shown,
                    WQ_PROTO_VERSION);
        goto fail;
    }
    if (n < 2) {
        rc = s_fail(err, WQ_E_RANGE, S_P("message"),
                    "array of 1 element: a message is [version, type, fields...]");
        goto fail;
    }
    if ((rc = s_rd_integer(&rd, S_P("type"), &neg, &type, &sversion)))
        goto fail;
    bool v1 = wq_msg_v1_only();
    int last = v1 ? WQ_MSG_RESULT : WQ_MSG_ZBATCH;
    if (neg || type < WQ_MSG_HELLO || type > (uint64_t) last) {
        rc = s_fail(err, WQ_E_UNKNOWN, S_P("type"), "unknown message type %s%llu (known: 1..%d)",
                    neg ? "-" : "", 
                    neg ? (unsigned long long) -(sversion + 1) + 1 : (unsigned long long) type, last);
        goto fail;
    }
    msg->type = (wq_msg_type_t) type;
    /* A paged RESULT has one more element: next (section 5.9); HELLO and
       WELCOME may carry the optional zstd element (PROTOCOL.md 6.3). */
    bool optional = n == s_arity((int) type) + 1
                    && (type == WQ_MSG_RESULT
                        || (!v1 && (type == WQ_MSG_HELLO || type == WQ_MSG_WELCOME)));
    if (n != s_arity((int) type) && !optional) {
        rc = s_fail(err, WQ_E_RANGE, S_P(s_lower_names[type]),
                    "%s is an array of %zu elements, this one has %zu", wq_msg_type_name((int) type),
                    s_arity((int) type), n);
        goto fail;
    }
    switch (msg->type) {
    case WQ_MSG_HELLO: rc = s_dec_hello(&rd, msg, n); break;
    case WQ_MSG_WELCOME: rc = s_dec_welcome(&rd, msg, n); break;
    case WQ_MSG_BATCH: rc = s_dec_batch(&rd, msg); break;
    case WQ_MSG_ACK: rc = s_dec_ack(&rd, msg); break;
    case WQ_MSG_ERROR: rc = s_dec_error(&rd, msg); break;
    case WQ_MSG_PING: rc = s_dec_ping(&rd, msg); break;
    case WQ_MSG_PONG: rc = s_dec_pong(&rd, msg); break;
    case WQ_MSG_QUERY: rc = s_dec_query(&rd, msg); break;
    case WQ_MSG_RESULT: rc = s_dec_result(&rd, msg, n == s_arity(WQ_MSG_RESULT) + 1); break;
    case WQ_MSG_ZBATCH:
        rc = s_dec_zbatch(&rd, msg);
        msg->type = WQ_MSG_BATCH;
        break;
    }
    if (rc != WQ_OK)
        goto fail;
    if (rd.p != rd.end) {
        rc = s_fail(err, WQ_E_TRAILING, S_P("message"),
                    "%zu bytes after the end of the %s message", s_left(&rd),
                    wq_msg_type_name(msg->type));
        goto fail;
    }
    *out = msg;
    return WQ_OK;
fail:
    wq_msg_destroy(&msg);
    return rc;
}

void
wq_msg_destroy(wq_msg_t **msg)
{
    if (!msg || !*msg)
        return;
    wq_msg_t *m = *msg;
    if (m->type == WQ_MSG_RESULT && m->owned_ && m->result.table)
        wq_table_destroy(&m->result.table);
    s_arena_free(m->owned_);
    free(m->owned_);
    free(m);
    *msg = NULL;
}

/*  ---- encoding ----------------------------------------------------------- */

/*  The packer writes here: an sbuffer that refuses to grow past one frame. */
typedef struct {
    msgpack_sbuffer sb;
    bool too_big;
} s_out_t;

static int
s_write(void *data, const char *buf, size_t len)
{
    s_out_t *o = data;
    if (len == 0)
        return 0;
    if (len > WQ_MSG_MAX_BYTES - o->sb.size) {
        o->too_big = true;
        return -1;
    }
    return msgpack_sbuffer_write(&o->sb, buf, len);
}

typedef struct {
    msgpack_packer pk;
    s_out_t out;
    wq_err_t *err;
} s_wr_t;

/*  A pack call failed: the frame grew too large, or memory ran out. */
static int
s_pack_failed(s_wr_t *w, const s_path_t *path)
{
    if (w->out.too_big)
        return s_fail(w->err, WQ_E_RANGE, path, "message grows past %u bytes at this element",
                      WQ_MSG_MAX_BYTES);
    return s_fail(w->err, WQ_E_NOMEM, path, "out of memory while encoding");
}

static int
s_put_uint(s_wr_t *w, const s_path_t *path, uint64_t v, uint64_t min, uint64_t max)
{
    int rc = s_check_uint(w->err, path, v, min, max);
    if (rc != WQ_OK)
        return rc;
    if (msgpack_pack_uint64(&w->pk, v) != 0)
        return s_pack_failed(w, path);
    return WQ_OK;
}

/*  NULL is packed as "" (then checked against min like any string). */
static int
s_put_str(s_wr_t *w, const s_path_t *path, const char *s, size_t min, size_t max, bool multiline)
{
    if (!s)
        s = "";
    size_t len = strlen(s);
    int rc = s_check_text(w->err, path, s, len, min, max, multiline);
    if (rc != WQ_OK)
        return rc;
    if (msgpack_pack_str_with_body(&w->pk, s, len) != 0)
        return s_pack_failed(w, path);
    return WQ_OK;
}

static int
s_put_array(s_wr_t *w, const s_path_t *path, size_t n, size_t min, size_t max, bool is_map)
{
    if (n < min || n > max)
        return s_fail(w->err, WQ_E_RANGE, path, "%zu %s, must be %zu..%zu", n,
                      is_map ? "entries" : "elements", min, max);
    if ((is_map ? msgpack_pack_map(&w->pk, n) : msgpack_pack_array(&w->pk, n)) != 0)
        return s_pack_failed(w, path);
    return WQ_OK;
}

static int
s_enc_hello(s_wr_t *w, const wq_msg_t *m)
{
    int rc;
    if ((rc = s_put_str(w, S_P("hello.agent"), m->hello.agent, 1, WQ_AGENT_ID_MAX, false)))
        return rc;
    if ((rc = s_put_uint(w, S_P("hello.inc"), m->hello.inc, 1, UINT32_MAX)))
        return rc;
    if ((rc = s_put_str(w, S_P("hello.software"), m->hello.software, 0, S_SOFTWARE_MAX, false)))
        return rc;
    if ((rc = s_put_uint(w, S_P("hello.last_seq"), m->hello.last_seq, 0, S_SEQ_MAX)))
        return rc;
    if ((rc = s_put_uint(w, S_P("hello.queued"), m->hello.queued, 0, UINT64_MAX)))
        return rc;
    if (!m->hello.zstd_offer)
        return WQ_OK;
    if ((rc = s_put_array(w, S_P("hello.zstd"), m->hello.nzstd, 0, WQ_ZSTD_OFFER_MAX, false)))
        return rc;
    for (size_t i = 0; i < m->hello.nzstd; i++)
        if ((rc = s_put_uint(w, S_PI("hello.zstd", i, NULL), m->hello.zstd[i], 0, UINT32_MAX)))
            return rc;
    return WQ_OK;
}

static int
s_enc_welcome(s_wr_t *w, const wq_msg_t *m)
{
    int rc;
    if ((rc = s_put_uint(w, S_P("welcome.inc"), m->welcome.inc, 1, UINT32_MAX)))
        return rc;
    if ((rc = s_put_uint(w, S_P("welcome.hwm"), m->welcome.hwm, 0, S_SEQ_MAX)))
        return rc;
    if ((rc = s_put_uint(w, S_P("welcome.credit"), m->welcome.credit, 1, UINT32_MAX)))
        return rc;
    if ((rc = s_put_uint(w, S_P("welcome.max_batch"), m->welcome.max_batch, 1,
                         WQ_BATCH_MAX_RECORDS)))
        return rc;
    if ((rc = s_put_uint(w, S_P("welcome.heartbeat_ms"), m->welcome.heartbeat_ms, 1,
                         S_HEARTBEAT_MAX)))
        return rc;
    if (!m->welcome.zstd_answer)
        return WQ_OK;
    if ((rc = s_put_array(w, S_P("welcome.zstd"), m->welcome.zstd_on ? 1 : 0, 0, 1, false)))
        return rc;
    if (m->welcome.zstd_on)
        return s_put_uint(w, S_PI("welcome.zstd", 0, NULL), m->welcome.zstd_dict, 0, UINT32_MAX);
    return WQ_OK;
}

/*  The records array of a BATCH (also what a ZBATCH compresses). */
static int
s_enc_records(s_wr_t *w, const wq_msg_t *m)
{
    int rc;
    size_t n = m->batch.count;
    if (n <= WQ_BATCH_MAX_RECORDS && m->batch.first_seq - 1 > S_SEQ_MAX - n)
        return s_fail(w->err, WQ_E_RANGE, S_P("batch.first_seq"),
                      "first_seq %llu + %zu records passes the largest seq 2^63-1",
                      (unsigned long long) m->batch.first_seq, n);
    if ((rc = s_put_array(w, S_P("batch.records"), n, 1, WQ_BATCH_MAX_RECORDS, false)))
        return rc;
    if (!m->batch.records)
        return s_fail(w->err, WQ_E_RANGE, S_P("batch.records"), "count %zu but no records", n);
    for (size_t i = 0; i < n; i++) {
        const wq_blob_t *b = &m->batch.records[i];
        if (b->size > WQ_RECORD_MAX_BYTES)
            return s_fail(w->err, WQ_E_RANGE, S_PI("batch.records", i, NULL),
                          "record of %zu bytes, at most %d", b->size, WQ_RECORD_MAX_BYTES);
        if (!b->data && b->size)
            return s_fail(w->err, WQ_E_RANGE, S_PI("batch.records", i, NULL),
                          "record of %zu bytes has no data", b->size);
        static const uint8_t none = 0;
        if (msgpack_pack_bin_with_body(&w->pk, b->size ? b->data : &none, b->size) != 0)
            return s_pack_failed(w, S_PI("batch.records", i, NULL));
    }
    return WQ_OK;
}

static int
s_enc_batch(s_wr_t *w, const wq_msg_t *m)
{
    int rc;
    if ((rc = s_put_uint(w, S_P("batch.inc"), m->batch.inc, 1, UINT32_MAX)))
        return rc;
    if ((rc = s_put_uint(w, S_P("batch.first_seq"), m->batch.first_seq, 1, S_SEQ_MAX)))
        return rc;
    return s_enc_records(w, m);
}

static int s_write(void *data, const char *buf, size_t len);

/*  ZBATCH: the records array is encoded on its own (under the frame limit,
    as for a BATCH), compressed into one zstd frame, and that frame packed
    as a bin after the header fields. */
static int
s_enc_zbatch(s_wr_t *w, const wq_msg_t *m)
{
    int rc;
    s_wr_t in;
    uint8_t *z = NULL;
    size_t zn = 0;
    memset(&in, 0, sizeof in);
    in.err = w->err;
    msgpack_sbuffer_init(&in.out.sb);
    msgpack_packer_init(&in.pk, &in.out, s_write);
    if ((rc = s_put_uint(w, S_P("zbatch.inc"), m->batch.inc, 1, UINT32_MAX)))
        goto done;
    if ((rc = s_put_uint(w, S_P("zbatch.first_seq"), m->batch.first_seq, 1, S_SEQ_MAX)))
        goto done;
    if ((rc = s_put_uint(w, S_P("zbatch.count"), m->batch.count, 1, WQ_BATCH_MAX_RECORDS)))
        goto done;
    if ((rc = s_put_uint(w, S_P("zbatch.dict"), m->batch.dict, 0, UINT32_MAX)))
        goto done;
    if ((rc = s_enc_records(&in, m)))
        goto done;
    if ((rc = wq_zbatch_compress_level(m->batch.dict, m->batch.zlevel, (const uint8_t *) in.out.sb.data,
                                       in.out.sb.size, &z, &zn, w->err)))
        goto done;
    if (msgpack_pack_bin_with_body(&w->pk, z, zn) != 0)
        rc = s_pack_failed(w, S_P("zbatch.data"));
done:
    free(z);
    msgpack_sbuffer_destroy(&in.out.sb);
    return rc;
}

static int
s_enc_ack(s_wr_t *w, const wq_msg_t *m)
{
    int rc;
    size_t n = m->ack.count;
    if ((rc = s_put_uint(w, S_P("ack.inc"), m->ack.inc, 1, UINT32_MAX)))
        return rc;
    if ((rc = s_put_uint(w, S_P("ack.hwm"), m->ack.hwm, 0, S_SEQ_MAX)))
        return rc;
    if ((rc = s_put_array(w, S_P("ack.quarantined"), n, 0, WQ_BATCH_MAX_RECORDS, false)))
        return rc;
    if (n && !m->ack.quarantined)
        return s_fail(w->err, WQ_E_RANGE, S_P("ack.quarantined"), "count %zu but no entries", n);
    for (size_t i = 0; i < n; i++) {
        const wq_quarantined_t *q = &m->ack.quarantined[i];
        if ((rc = s_put_array(w, S_PI("ack.quarantined", i, NULL), 3, 3, 3, false)))
            return rc;
        if ((rc = s_put_uint(w, S_PI("ack.quarantined", i, ".seq"), q->seq, 1, S_SEQ_MAX)))
            return rc;
        if ((rc = s_put_uint(w, S_PI("ack.quarantined", i, ".code"), q->code, 1, UINT32_MAX)))
            return rc;
        if ((rc = s_put_str(w, S_PI("ack.quarantined", i, ".reason"), q->reason, 0, WQ_TEXT_MAX,
                            true)))
            return rc;
    }
    return WQ_OK;
}

static int
s_enc_error(s_wr_t *w, const wq_msg_t *m)
{
    int rc;
    if ((rc = s_put_uint(w, S_P("error.code"), m->error.code, 1, UINT32_MAX)))
        return rc;
    if ((rc = s_put_uint(w, S_P("error.expected_seq"), m->error.expected_seq, 0, S_SEQ_MAX)))
        return rc;
    return s_put_str(w, S_P("error.text"), m->error.text, 0, WQ_TEXT_MAX, true);
}

static int
s_enc_ping(s_wr_t *w, const wq_msg_t *m)
{
    int rc;
    if ((rc = s_put_uint(w, S_P("ping.inc"), m->ping.inc, 1, UINT32_MAX)))
        return rc;
    if ((rc = s_put_uint(w, S_P("ping.last_seq"), m->ping.last_seq, 0, S_SEQ_MAX)))
        return rc;
    return s_put_uint(w, S_P("ping.queued"), m->ping.queued, 0, UINT64_MAX);
}

static int
s_enc_pong(s_wr_t *w, const wq_msg_t *m)
{
    int rc;
    if ((rc = s_put_uint(w, S_P("pong.inc"), m->pong.inc, 1, UINT32_MAX)))
        return rc;
    return s_put_uint(w, S_P("pong.hwm"), m->pong.hwm, 0, S_SEQ_MAX);
}

static int
s_index_cmp(const void *a, const void *b)
{
    const wq_param_t *pa = *(const wq_param_t *const *) a;
    const wq_param_t *pb = *(const wq_param_t *const *) b;
    return strcmp(pa->key ? pa->key : "", pb->key ? pb->key : "");
}

static int
s_enc_query(s_wr_t *w, const wq_msg_t *m)
{
    int rc = WQ_OK;
    size_t n = m->query.count;
    const wq_param_t **sorted = NULL;
    if ((rc = s_put_uint(w, S_P("query.request_id"), m->query.request_id, 0, UINT64_MAX)))
        return rc;
    if ((rc = s_put_str(w, S_P("query.name"), m->query.name, 1, S_NAME_MAX, false)))
        return rc;
    if (n > WQ_QUERY_MAX_PARAMS)
        return s_fail(w->err, WQ_E_RANGE, S_P("query.params"), "%zu params, at most %d", n,
                      WQ_QUERY_MAX_PARAMS);
    if (n && !m->query.params)
        return s_fail(w->err, WQ_E_RANGE, S_P("query.params"), "count %zu but no params", n);
    /* Check each param where the caller put it, so that the path names the
       caller's index; then pack them sorted by key (bytewise). */
    for (size_t i = 0; i < n; i++) {
        const wq_param_t *p = &m->query.params[i];
        const char *key = p->key ? p->key : "";
        const char *value = p->value ? p->value : "";
        if ((rc = s_check_text(w->err, S_PI("query.params", i, ".key"), key, strlen(key), 1,
                               S_NAME_MAX, false)))
            return rc;
        if ((rc = s_check_text(w->err, S_PI("query.params", i, ".value"), value, strlen(value), 0,
                               WQ_TEXT_MAX, false)))
            return rc;
        for (size_t k = 0; k < i; k++)
            if (strcmp(m->query.params[k].key, key) == 0)
                return s_fail(w->err, WQ_E_DUPFIELD, S_PI("query.params", i, ".key"),
                              "parameter \"%s\" appears twice", key);
    }
    if (n) {
        sorted = malloc(n * sizeof *sorted);
        if (!sorted)
            return s_fail(w->err, WQ_E_NOMEM, S_P("query.params"), "out of memory");
        for (size_t i = 0; i < n; i++)
            sorted[i] = &m->query.params[i];
        qsort(sorted, n, sizeof *sorted, s_index_cmp);
    }
    if ((rc = s_put_array(w, S_P("query.params"), n, 0, WQ_QUERY_MAX_PARAMS, true)))
        goto done;
    for (size_t i = 0; i < n; i++) {
        if ((rc = s_put_str(w, S_PI("query.params", i, ".key"), sorted[i]->key, 1, S_NAME_MAX,
                            false)))
            goto done;
        if ((rc = s_put_str(w, S_PI("query.params", i, ".value"), sorted[i]->value, 0,
                            WQ_TEXT_MAX, false)))
            goto done;
    }
done:
    free(sorted);
    return rc;
}

static int
s_enc_result(s_wr_t *w, const wq_msg_t *m)
{
    int rc;
    const wq_table_t *t = m->result.table;
    size_t ncols = t ? wq_table_ncols(t) : 0;
    size_t nrows = t ? wq_table_nrows(t) : 0;
    if ((rc = s_put_uint(w, S_P("result.request_id"), m->result.request_id, 0, UINT64_MAX)))
        return rc;
    if ((rc = s_put_uint(w, S_P("result.status"), m->result.status, 0, UINT32_MAX)))
        return rc;
    if ((rc = s_put_str(w, S_P("result.text"), m->result.text, 0, WQ_TEXT_MAX, true)))
        return rc;
    if (m->result.status != WQ_OK && t)
        return s_fail(w->err, WQ_E_RANGE, S_P("result.table"),
                      "a failed result (status %u) carries no table: set table to NULL",
                      m->result.status);
    if (ncols == 0 && nrows > 0)
        return s_fail(w->err, WQ_E_RANGE, S_P("result.rows"), "%zu rows but no columns", nrows);
    if ((rc = s_put_array(w, S_P("result.columns"), ncols, 0, WQ_RESULT_MAX_COLS, false)))
        return rc;
    for (size_t c = 0; c < ncols; c++)
        if ((rc = s_put_str(w, S_PI("result.columns", c, NULL), wq_table_col(t, c), 1, S_NAME_MAX,
                            false)))
            return rc;
    if ((rc = s_put_array(w, S_P("result.rows"), nrows, 0, WQ_RESULT_MAX_ROWS, false)))
        return rc;
    for (size_t r = 0; r < nrows; r++) {
        if (msgpack_pack_array(&w->pk, ncols) != 0)
            return s_pack_failed(w, S_PI("result.rows", r, NULL));
        for (size_t c = 0; c < ncols; c++) {
            const wq_cell_t *cell = wq_table_cell(t, r, c);
            const s_path_t *path = S_PIJ("result.rows", r, c);
            int prc = 0;
            if (!cell || cell->kind == WQ_CELL_NULL) {
                prc = msgpack_pack_nil(&w->pk);
            } else if (cell->kind == WQ_CELL_INT) {
                prc = msgpack_pack_int64(&w->pk, cell->i);
            } else if (cell->kind == WQ_CELL_STR) {
                if ((rc = s_put_str(w, path, cell->s, 0, S_CELL_MAX, true)))
                    return rc;
            } else {
                return s_fail(w->err, WQ_E_TYPE, path, "cell of unknown kind %d",
                              (int) cell->kind);
            }
            if (prc != 0)
                return s_pack_failed(w, path);
        }
    }
    if (m->result.next)
        return s_put_str(w, S_P("result.next"), m->result.next, 0, WQ_CURSOR_MAX, false);
    return WQ_OK;
}

int
wq_msg_encode(const wq_msg_t *msg, uint8_t **buf, size_t *size, wq_err_t *err)
{
    assert(msg && buf && size);
    s_wr_t w;
    int rc = WQ_OK;
    *buf = NULL;
    *size = 0;
    wq_err_clear(err);
    memset(&w, 0, sizeof w);
    w.err = err;
    msgpack_sbuffer_init(&w.out.sb);
    msgpack_packer_init(&w.pk, &w.out, s_write);

    int wire_type = (int) msg->type;
    if (msg->type == WQ_MSG_BATCH && msg->batch.zstd)
        wire_type = WQ_MSG_ZBATCH;
    else if (msg->type == WQ_MSG_ZBATCH)
        wire_type = 0;  /* a ZBATCH is a BATCH with batch.zstd set */
    size_t arity = s_arity(wire_type);
    if (msg->type == WQ_MSG_HELLO && msg->hello.zstd_offer)
        arity++;
    if (msg->type == WQ_MSG_WELCOME && msg->welcome.zstd_answer)
        arity++;
    if (msg->type == WQ_MSG_RESULT && msg->result.next)
        arity++;                /* paged: next */
    if (arity == 0) {
        rc = s_fail(err, WQ_E_UNKNOWN, S_P("type"), "unknown message type %d (known: 1..9)",
                    (int) msg->type);
        goto fail;
    }
    if (msgpack_pack_array(&w.pk, arity) != 0 || msgpack_pack_uint64(&w.pk, WQ_PROTO_VERSION) != 0
        || msgpack_pack_uint64(&w.pk, (uint64_t) wire_type) != 0) {
        rc = s_pack_failed(&w, S_P("message"));
        goto fail;
    }
    switch (msg->type) {
    case WQ_MSG_HELLO: rc = s_enc_hello(&w, msg); break;
    case WQ_MSG_WELCOME: rc = s_enc_welcome(&w, msg); break;
    case WQ_MSG_BATCH:
        rc = msg->batch.zstd ? s_enc_zbatch(&w, msg) : s_enc_batch(&w, msg);
        break;
    case WQ_MSG_ZBATCH: break;  /* refused above */
    case WQ_MSG_ACK: rc = s_enc_ack(&w, msg); break;
    case WQ_MSG_ERROR: rc = s_enc_error(&w, msg); break;
    case WQ_MSG_PING: rc = s_enc_ping(&w, msg); break;
    case WQ_MSG_PONG: rc = s_enc_pong(&w, msg); break;
    case WQ_MSG_QUERY: rc = s_enc_query(&w, msg); break;
    case WQ_MSG_RESULT: rc = s_enc_result(&w, msg); break;
    }
    if (rc != WQ_OK)
        goto fail;
    *size = w.out.sb.size;
    *buf = (uint8_t *) msgpack_sbuffer_release(&w.out.sb);
    return WQ_OK;
fail:
    msgpack_sbuffer_destroy(&w.out.sb);
    return rc;
}

const char *
wq_msg_type_name(int type)
{
    static const char *names[] = {NULL,   "HELLO", "WELCOME", "BATCH",  "ACK",   "ERROR",
                                  "PING", "PONG",  "QUERY",   "RESULT", "ZBATCH"};
    if (type < WQ_MSG_HELLO || type > WQ_MSG_ZBATCH)
        return "?";
    return names[type];
}

const char *
wq_msg_param(const wq_msg_t *msg, const char *key)
{
    if (!msg || !key || msg->type != WQ_MSG_QUERY)
        return NULL;
    for (size_t i = 0; i < msg->query.count; i++)
        if (msg->query.params[i].key && strcmp(msg->query.params[i].key, key) == 0)
            return msg->query.params[i].value;
    return NULL;
}
