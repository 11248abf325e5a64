/*  The campaign's records (common/record.c): one valid record of every
    type built through the text path, its canonical msgpack encoding
    (encode -> decode -> encode byte identity), and bad input for every
    field and kind: missing required fields, foreign fields, wrong msgpack
    types, oversize strings, invalid UTF-8, check characters, counties
    (also retired ones by date), dates, enums, ids, unknown and duplicate
    keys, trailing bytes and every truncated prefix of every encoding.
    Line references ("@N"), JSON import and JSON output are in
    test_record_json.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <msgpack.h>

#include "common/record.h"
#include "tests/common/record_samples.h"

/*  ---- helpers -------------------------------------------------------- */

static void
s_encode(const wq_record_t *r, uint8_t **buf, size_t *len)
{
    assert_int_equal(wq_record_encode(r, buf, len), WQ_OK);
    assert_non_null(*buf);
    assert_true(*len > 0);
}

/*  Decode a copy of buf[0..len) in a buffer of exactly len bytes, so that
    ASan catches any read past the end. */
static int
s_decode(const uint8_t *buf, size_t len, wq_record_t **out, wq_err_t *err)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    if (len)
        memcpy(copy, buf, len);
    int rc = wq_record_decode(len ? copy : NULL, len, out, err);
    free(copy);
    return rc;
}

typedef enum { S_REPLACE, S_DROP, S_ADD } s_edit_t;

/*  Re-pack r's encoding with key changed: REPLACE its value by the raw
    msgpack bytes val, DROP it, or ADD another key/value pair at the end
    (may duplicate an existing key). */
static void
s_repack(const wq_record_t *r, const char *key, s_edit_t edit, const uint8_t *val, size_t vlen,
         uint8_t **out, size_t *outlen)
{
    uint8_t *buf;
    size_t len, off = 0;
    s_encode(r, &buf, &len);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, (const char *) buf, len, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(u.data.type, MSGPACK_OBJECT_MAP);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    size_t n = u.data.via.map.size, klen = strlen(key);
    bool found = false;
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object *k = &u.data.via.map.ptr[i].key;
        if (k->via.str.size == klen && memcmp(k->via.str.ptr, key, klen) == 0)
            found = true;
    }
    if (edit == S_DROP) {
        assert_true(found);
        n--;
    } else if (edit == S_ADD || !found) {
        n++;
    }
    assert_int_equal(msgpack_pack_map(&pk, n), 0);
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &u.data.via.map.ptr[i];
        bool match = kv->key.via.str.size == klen && memcmp(kv->key.via.str.ptr, key, klen) == 0;
        if (match && edit == S_DROP)
            continue;
        assert_int_equal(msgpack_pack_object(&pk, kv->key), 0);
        if (match && edit == S_REPLACE)
            assert_int_equal(msgpack_sbuffer_write(&sb, (const char *) val, vlen), 0);
        else
            assert_int_equal(msgpack_pack_object(&pk, kv->val), 0);
    }
    if (edit == S_ADD || (edit == S_REPLACE && !found)) {
        assert_int_equal(msgpack_pack_str_with_body(&pk, key, klen), 0);
        assert_int_equal(msgpack_sbuffer_write(&sb, (const char *) val, vlen), 0);
    }
    msgpack_unpacked_destroy(&u);
    free(buf);
    *outlen = sb.size;
    *out = (uint8_t *) msgpack_sbuffer_release(&sb);
}

/*  Decode buf and expect rc, with err.field == field (if not NULL). */
static void
s_expect_decode(const uint8_t *buf, size_t len, int rc, const char *field)
{
    wq_record_t *r = (wq_record_t *) 0x1;
    wq_err_t err;
    wq_err_clear(&err);
    int got = s_decode(buf, len, &r, &err);
    if (got != rc)
        fail_msg("decode gave %d (%s: %s), expected %d", got, err.field, err.text, rc);
    assert_null(r);
    assert_int_equal(err.code, rc);
    assert_true(strlen(err.text) > 0);
    if (field)
        assert_string_equal(err.field, field);
}

/*  Decode buf; expect decode OK and validate to give rc on field. */
static void
s_expect_invalid(const uint8_t *buf, size_t len, int rc, const char *field)
{
    wq_record_t *r = NULL;
    wq_err_t err;
    int got = s_decode(buf, len, &r, &err);
    if (got != WQ_OK)
        fail_msg("decode failed: %s: %s", err.field, err.text);
    got = wq_record_validate(r, &err);
    if (got != rc)
        fail_msg("validate gave %d (%s: %s), expected %d", got, err.field, err.text, rc);
    if (field)
        assert_string_equal(err.field, field);
    wq_record_destroy(&r);
}

static void
s_expect_set(wq_record_t *r, const char *field, const char *value, int rc)
{
    wq_err_t err;
    wq_err_clear(&err);
    int got = wq_record_set_text(r, field, value, &err);
    if (got != rc)
        fail_msg("set %s=\"%s\" gave %d (%s), expected %d", field, value, got, err.text, rc);
    if (rc != WQ_OK) {
        assert_int_equal(err.code, rc);
        assert_true(strlen(err.text) > 0);
    }
}

static void
s_expect_valid(const wq_record_t *r, int rc, const char *field)
{
    wq_err_t err;
    wq_err_clear(&err);
    int got = wq_record_validate(r, &err);
    if (got != rc)
        fail_msg("validate gave %d (%s: %s), expected %d", got, err.field, err.text, rc);
    if (field)
        assert_string_equal(err.field, field);
}

/*  ---- names ---------------------------------------------------------- */

static void
test_names(void **state)
{
    (void) state;
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++)
        assert_int_equal(wq_rec_type_parse(wq_rec_type_name((wq_rec_type_t) t)), t);
    assert_string_equal(wq_rec_type_name(WQ_REC_CONSULTATION), "consultation");
    assert_string_equal(wq_rec_type_name(WQ_REC_NONE), "?");
    assert_string_equal(wq_rec_type_name(WQ_REC_TYPE_COUNT), "?");
    assert_int_equal(wq_rec_type_parse("Visit"), WQ_REC_NONE);
    assert_int_equal(wq_rec_type_parse(""), WQ_REC_NONE);
    assert_int_equal(wq_rec_type_parse(NULL), WQ_REC_NONE);
    for (int f = 0; f < WQ_F_COUNT; f++)
        assert_int_equal(wq_field_parse(wq_field_name((wq_field_t) f)), f);
    assert_string_equal(wq_field_name(WQ_F_ABOVE_SIZE), "above_size");
    assert_string_equal(wq_field_name(WQ_F_CLASS), "class");
    assert_int_equal(wq_field_parse("nope"), WQ_F_COUNT);

    static const struct {
        wq_field_t f;
        int count;
        const char *first, *last;
    } enums[] = {
        {WQ_F_FOCUS, WQ_FOCUS_COUNT, "discharger", "tech_sme"},
        {WQ_F_METHOD, WQ_METHOD_COUNT, "field_visit", "enforcement_inspection"},
        {WQ_F_CATEGORY, WQ_CAT_COUNT, "air", "other"},
        {WQ_F_SEVERITY, WQ_SEV_COUNT, "minor", "serious"},
        {WQ_F_STATUS, WQ_STATUS_COUNT, "open", "reopened"},
        {WQ_F_KIND, WQ_SERVICE_COUNT, "law", "service"},
        {WQ_F_CHANNEL, WQ_CHANNEL_COUNT, "reception_day", "other"},
        {WQ_F_CLASS, WQ_CLASS_COUNT, "support", "punish"},
    };
    for (size_t i = 0; i < sizeof enums / sizeof enums[0]; i++) {
        assert_string_equal(wq_enum_name(enums[i].f, 1), enums[i].first);
        assert_string_equal(wq_enum_name(enums[i].f, enums[i].count - 1), enums[i].last);
        assert_string_equal(wq_enum_name(enums[i].f, 0), "?");
        assert_string_equal(wq_enum_name(enums[i].f, enums[i].count), "?");
        for (int v = 1; v < enums[i].count; v++)
            assert_int_equal(wq_enum_parse(enums[i].f, wq_enum_name(enums[i].f, v)), v);
        assert_int_equal(wq_enum_parse(enums[i].f, "nope"), 0);
    }
    assert_string_equal(wq_enum_name(WQ_F_CATEGORY, WQ_CAT_OVER_STANDARD), "over_standard");
    assert_string_equal(wq_enum_name(WQ_F_CLASS, WQ_CLASS_SHUTDOWN), "shutdown");
    assert_string_equal(wq_enum_name(WQ_F_NAME, 1), "?");
    assert_int_equal(wq_enum_parse(WQ_F_NAME, "air"), 0);

    assert_true(wq_field_allowed(WQ_REC_PLAN, WQ_F_DEADLINE));
    assert_true(wq_field_required(WQ_REC_PLAN, WQ_F_DEADLINE));
    assert_false(wq_field_allowed(WQ_REC_VISIT, WQ_F_DEADLINE));
    assert_true(wq_field_allowed(WQ_REC_PLAN, WQ_F_GOAL));
    assert_false(wq_field_required(WQ_REC_PLAN, WQ_F_GOAL));
    assert_true(wq_field_required(WQ_REC_VISIT, WQ_F_ENT));
    assert_true(wq_field_allowed(WQ_REC_CORRECTION, WQ_F_ENT));
    assert_false(wq_field_required(WQ_REC_CORRECTION, WQ_F_ENT));
    assert_true(wq_field_required(WQ_REC_RETRACTION, WQ_F_REASON));
    assert_false(wq_field_allowed(WQ_REC_NONE, WQ_F_DATE));
    assert_true(wq_field_patchable(WQ_REC_PLAN, WQ_F_DEADLINE));
    assert_false(wq_field_patchable(WQ_REC_PLAN, WQ_F_PROBLEM));
    assert_false(wq_field_patchable(WQ_REC_VISIT, WQ_F_ENT));
    assert_false(wq_field_patchable(WQ_REC_VISIT, WQ_F_DEADLINE));
    assert_false(wq_field_patchable(WQ_REC_CORRECTION, WQ_F_REASON));
}

/*  ---- every type: valid, canonical, round trip ---------------------- */

static void
test_every_type_round_trip(void **state)
{
    (void) state;
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++) {
        wq_record_t *r = rs_sample((wq_rec_type_t) t);
        s_expect_valid(r, WQ_OK, NULL);
        uint8_t *b1, *b2;
        size_t n1, n2;
        s_encode(r, &b1, &n1);
        wq_record_t *d = NULL;
        wq_err_t err;
        assert_int_equal(s_decode(b1, n1, &d, &err), WQ_OK);
        assert_int_equal(d->type, t);
        assert_true(d->present == r->present);
        s_expect_valid(d, WQ_OK, NULL);
        s_encode(d, &b2, &n2);
        assert_int_equal(n1, n2);
        assert_memory_equal(b1, b2, n1);
        /* Decoded fields equal the originals. */
        assert_string_equal(d->agent, r->agent);
        assert_int_equal(d->inc, r->inc);
        assert_int_equal(d->seq, r->seq);
        assert_int_equal(d->recorded_ms, r->recorded_ms);
        assert_string_equal(d->date, r->date);
        assert_string_equal(d->county, r->county);
        free(b1);
        free(b2);
        wq_record_destroy(&d);
        wq_record_destroy(&r);
        assert_null(r);
        wq_record_destroy(&r);  /* safe twice */
    }
}

/*  The encoding is canonical: fixed key order (the field enum), smallest
    msgpack forms. Pin one record's exact bytes. */
static void
test_canonical_bytes(void **state)
{
    (void) state;
    wq_record_t *r = wq_record_new(WQ_REC_RETRACTION);
    assert_non_null(r);
    wq_record_set_identity(r, "a", 1, 2, 3);
    s_expect_set(r, "date", "2019-05-10", WQ_OK);
    s_expect_set(r, "county", "130102", WQ_OK);
    s_expect_set(r, "target", "a/00000001/1", WQ_OK);
    s_expect_set(r, "reason", "x", WQ_OK);
    s_expect_valid(r, WQ_OK, NULL);
    uint8_t *b;
    size_t n;
    s_encode(r, &b, &n);
    static const uint8_t want[] = {
        0x89,                                                   /* map of 9 */
        0xa4, 't', 'y', 'p', 'e', 0xaa, 'r', 'e', 't', 'r', 'a', 'c', 't', 'i', 'o', 'n',
        0xa5, 'a', 'g', 'e', 'n', 't', 0xa1, 'a',
        0xa3, 'i', 'n', 'c', 0x01,
        0xa3, 's', 'e', 'q', 0x02,
        0xa4, 'd', 'a', 't', 'e', 0xaa, '2', '0', '1', '9', '-', '0', '5', '-', '1', '0',
        0xa8, 'r', 'e', 'c', 'o', 'r', 'd', 'e', 'd', 0x03,
        0xa6, 'c', 'o', 'u', 'n', 't', 'y', 0xa6, '1', '3', '0', '1', '0', '2',
        0xa6, 'r', 'e', 'a', 's', 'o', 'n', 0xa1, 'x',
        0xa6, 't', 'a', 'r', 'g', 'e', 't', 0xac, 'a', '/', '0', '0', '0', '0', '0', '0', '0',
        '1', '/', '1',
    };
    assert_int_equal(n, sizeof want);
    assert_memory_equal(b, want, n);
    free(b);
    wq_record_destroy(&r);
}

/*  Keys in another order and wider integers decode to the same record. */
static void
test_decode_liberal_order(void **state)
{
    (void) state;
    static const uint8_t in[] = {
        0x89,
        0xa6, 't', 'a', 'r', 'g', 'e', 't', 0xac, 'a', '/', '0', '0', '0', '0', '0', '0', '0',
        '1', '/', '1',
        0xa6, 'r', 'e', 'a', 's', 'o', 'n', 0xa1, 'x',
        0xa3, 'i', 'n', 'c', 0xce, 0, 0, 0, 1,                  /* uint32 form */
        0xa3, 's', 'e', 'q', 0xcf, 0, 0, 0, 0, 0, 0, 0, 2,      /* uint64 form */
        0xa4, 'd', 'a', 't', 'e', 0xd9, 10, '2', '0', '1', '9', '-', '0', '5', '-', '1', '0',
        0xa8, 'r', 'e', 'c', 'o', 'r', 'd', 'e', 'd', 0x03,
        0xa6, 'c', 'o', 'u', 'n', 't', 'y', 0xa6, '1', '3', '0', '1', '0', '2',
        0xa5, 'a', 'g', 'e', 'n', 't', 0xa1, 'a',
        0xa4, 't', 'y', 'p', 'e', 0xaa, 'r', 'e', 't', 'r', 'a', 'c', 't', 'i', 'o', 'n',
    };
    wq_record_t *r = NULL;
    wq_err_t err;
    assert_int_equal(s_decode(in, sizeof in, &r, &err), WQ_OK);
    s_expect_valid(r, WQ_OK, NULL);
    assert_int_equal(r->inc, 1);
    assert_int_equal(r->seq, 2);
    assert_string_equal(r->target, "a/00000001/1");
    wq_record_destroy(&r);
}

/*  ---- required and foreign fields ------------------------------------- */

static void
test_missing_required(void **state)
{
    (void) state;
    int checked = 0;
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++) {
        for (int f = 1; f < WQ_F_COUNT; f++) {
            if (!wq_field_required((wq_rec_type_t) t, (wq_field_t) f))
                continue;
            /* In memory: clear the bit. */
            wq_record_t *r = rs_sample((wq_rec_type_t) t);
            assert_true(r->present & (1ull << f));
            r->present &= ~(1ull << f);
            s_expect_valid(r, WQ_E_MISSING, wq_field_name((wq_field_t) f));
            /* On the wire: drop the key; decode succeeds, validate says which. */
            wq_record_t *full = rs_sample((wq_rec_type_t) t);
            uint8_t *b;
            size_t n;
            s_repack(full, wq_field_name((wq_field_t) f), S_DROP, NULL, 0, &b, &n);
            s_expect_invalid(b, n, WQ_E_MISSING, wq_field_name((wq_field_t) f));
            free(b);
            wq_record_destroy(&full);
            wq_record_destroy(&r);
            checked++;
        }
    }
    /* 7 common (type excluded) x 11 + ent x 9 + per-type required fields:
       enterprise 2, visit 2, problem 3, plan 3, progress 2, service 2,
       consultation 2, answer 2, classification 2, correction 4, retraction 2 */
    assert_int_equal(checked, 6 * 11 + 9 + 2 + 2 + 3 + 3 + 2 + 2 + 2 + 2 + 2 + 4 + 2);

    /* "type" itself: the map cannot be decoded into a record. */
    wq_record_t *r = rs_sample(WQ_REC_VISIT);
    uint8_t *b;
    size_t n;
    s_repack(r, "type", S_DROP, NULL, 0, &b, &n);
    s_expect_decode(b, n, WQ_E_MISSING, "type");
    free(b);
    wq_record_destroy(&r);
}

static void
test_foreign_field(void **state)
{
    (void) state;
    /* set_text refuses a field foreign to the type... */
    wq_record_t *r = rs_sample(WQ_REC_VISIT);
    s_expect_set(r, "deadline", "2019-08-01", WQ_E_UNKNOWN);
    s_expect_set(r, "nonsense", "x", WQ_E_UNKNOWN);
    /* ...validate refuses it in memory... */
    snprintf(r->deadline, sizeof r->deadline, "2019-08-01");
    r->present |= 1ull << WQ_F_DEADLINE;
    s_expect_valid(r, WQ_E_UNKNOWN, "deadline");
    wq_record_destroy(&r);
    /* ...and on the wire decode keeps it so that validate can say why. */
    r = rs_sample(WQ_REC_SERVICE);
    static const uint8_t status[] = {0xa4, 'o', 'p', 'e', 'n'};
    uint8_t *b;
    size_t n;
    s_repack(r, "status", S_REPLACE, status, sizeof status, &b, &n);
    s_expect_invalid(b, n, WQ_E_UNKNOWN, "status");
    free(b);
    wq_record_destroy(&r);
}

/*  ---- msgpack types --------------------------------------------------- */

/*  The msgpack type each field takes: s(tring), u(int), b(ool), a(rray), m(ap). */
static char
s_wire_kind(wq_field_t f)
{
    switch (f) {
    case WQ_F_INC: case WQ_F_SEQ: case WQ_F_RECORDED: return 'u';
    case WQ_F_ABOVE_SIZE: return 'b';
    case WQ_F_CADRES: return 'a';
    case WQ_F_SET: return 'm';
    default: return 's';
    }
}

static void
test_wrong_msgpack_type(void **state)
{
    (void) state;
    static const struct {
        char kind;
        uint8_t bytes[4];
        size_t len;
    } values[] = {
        {'n', {0xc0}, 1},                   /* nil */
        {'b', {0xc3}, 1},                   /* true */
        {'u', {0x05}, 1},                   /* 5 */
        {'i', {0xff}, 1},                   /* -1 */
        {'f', {0xca, 0, 0, 0}, 4},          /* float32 (truncated below: len 5) */
        {'s', {0xa1, 'x'}, 2},              /* "x" */
        {'x', {0xc4, 0x01, 'x'}, 3},        /* bin */
        {'a', {0x90}, 1},                   /* [] */
        {'m', {0x80}, 1},                   /* {} */
        {'e', {0xd4, 0x01, 0x00}, 3},       /* fixext1 */
    };
    int checked = 0;
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++) {
        for (int f = 0; f < WQ_F_COUNT; f++) {
            wq_record_t *r = rs_sample((wq_rec_type_t) t);
            if (!(r->present & (1ull << f))) {
                wq_record_destroy(&r);
                continue;
            }
            char want = s_wire_kind((wq_field_t) f);
            for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
                if (values[v].kind == want)
                    continue;
                uint8_t fl[5] = {0xca, 0, 0, 0, 0};
                const uint8_t *val = values[v].kind == 'f' ? fl : values[v].bytes;
                size_t len = values[v].kind == 'f' ? 5 : values[v].len;
                uint8_t *b;
                size_t n;
                s_repack(r, wq_field_name((wq_field_t) f), S_REPLACE, val, len, &b, &n);
                int rc = (want == 'u' && values[v].kind == 'i') ? WQ_E_RANGE : WQ_E_TYPE;
                s_expect_decode(b, n, rc, wq_field_name((wq_field_t) f));
                free(b);
                checked++;
            }
            wq_record_destroy(&r);
        }
    }
    assert_true(checked > 500);

    /* Inside arrays and maps. */
    wq_record_t *r = rs_sample(WQ_REC_VISIT);
    static const uint8_t bad_item[] = {0x92, 0xa1, 'x', 0x05};
    uint8_t *b;
    size_t n;
    s_repack(r, "cadres", S_REPLACE, bad_item, sizeof bad_item, &b, &n);
    s_expect_decode(b, n, WQ_E_TYPE, "cadres");
    free(b);
    wq_record_destroy(&r);
    r = rs_sample(WQ_REC_CORRECTION);
    static const uint8_t bad_set[] = {0x81, 0xa4, 'g', 'o', 'a', 'l', 0x05};
    s_repack(r, "set", S_REPLACE, bad_set, sizeof bad_set, &b, &n);
    s_expect_decode(b, n, WQ_E_TYPE, "set.goal");
    free(b);
    static const uint8_t int_key[] = {0x81, 0x01, 0xa1, 'x'};
    s_repack(r, "set", S_REPLACE, int_key, sizeof int_key, &b, &n);
    s_expect_decode(b, n, WQ_E_TYPE, "set");
    free(b);
    wq_record_destroy(&r);

    /* A record must be a map with string keys. */
    static const uint8_t arr[] = {0x91, 0xa4, 't', 'y', 'p', 'e'};
    s_expect_decode(arr, sizeof arr, WQ_E_TYPE, "");
    static const uint8_t intkey[] = {0x81, 0x01, 0x02};
    s_expect_decode(intkey, sizeof intkey, WQ_E_TYPE, NULL);
    static const uint8_t never[] = {0xc1};
    s_expect_decode(never, sizeof never, WQ_E_TYPE, NULL);
}

static void
test_integer_ranges(void **state)
{
    (void) state;
    wq_record_t *r = rs_sample(WQ_REC_VISIT);
    uint8_t *b;
    size_t n;
    /* inc: uint32, not 0 */
    static const uint8_t inc_big[] = {0xcf, 0, 0, 0, 1, 0, 0, 0, 0};   /* 2^32 */
    s_repack(r, "inc", S_REPLACE, inc_big, sizeof inc_big, &b, &n);
    s_expect_decode(b, n, WQ_E_RANGE, "inc");
    free(b);
    static const uint8_t zero[] = {0x00};
    s_repack(r, "inc", S_REPLACE, zero, sizeof zero, &b, &n);
    s_expect_invalid(b, n, WQ_E_RANGE, "inc");
    free(b);
    static const uint8_t inc_max[] = {0xce, 0xff, 0xff, 0xff, 0xff};
    s_repack(r, "inc", S_REPLACE, inc_max, sizeof inc_max, &b, &n);
    s_expect_invalid(b, n, WQ_OK, NULL);
    free(b);
    /* seq: 1..2^63-1 */
    s_repack(r, "seq", S_REPLACE, zero, sizeof zero, &b, &n);
    s_expect_invalid(b, n, WQ_E_RANGE, "seq");
    free(b);
    static const uint8_t seq_big[] = {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0};
    s_repack(r, "seq", S_REPLACE, seq_big, sizeof seq_big, &b, &n);
    s_expect_invalid(b, n, WQ_E_RANGE, "seq");
    free(b);
    static const uint8_t seq_neg[] = {0xd3, 0xff, 0, 0, 0, 0, 0, 0, 0};
    s_repack(r, "seq", S_REPLACE, seq_neg, sizeof seq_neg, &b, &n);
    s_expect_decode(b, n, WQ_E_RANGE, "seq");
    free(b);
    /* set_text on identity fields */
    s_expect_set(r, "inc", "4294967295", WQ_OK);
    s_expect_set(r, "inc", "4294967296", WQ_E_RANGE);
    s_expect_set(r, "seq", "18446744073709551615", WQ_OK);
    s_expect_valid(r, WQ_E_RANGE, "seq");
    s_expect_set(r, "seq", "18446744073709551616", WQ_E_RANGE);
    s_expect_set(r, "seq", "12x", WQ_E_FORMAT);
    s_expect_set(r, "seq", "-1", WQ_E_FORMAT);
    s_expect_set(r, "seq", "", WQ_E_FORMAT);
    wq_record_destroy(&r);
}

/*  ---- strings: sizes, UTF-8, control characters ------------------------- */

static char *
s_repeat(const char *unit, size_t times)
{
    size_t u = strlen(unit);
    char *s = malloc(u * times + 1);
    assert_non_null(s);
    for (size_t i = 0; i < times; i++)
        memcpy(s + i * u, unit, u);
    s[u * times] = '\0';
    return s;
}

static void
s_pack_str_raw(const char *s, size_t len, uint8_t **out, size_t *outlen)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(msgpack_pack_str_with_body(&pk, s, len), 0);
    *outlen = sb.size;
    *out = (uint8_t *) msgpack_sbuffer_release(&sb);
}

static void
test_string_limits(void **state)
{
    (void) state;
    static const struct {
        wq_rec_type_t type;
        const char *field;
        size_t max;
        size_t min;
    } limits[] = {
        {WQ_REC_VISIT, "by", 64, 0},
        {WQ_REC_ENTERPRISE, "name", 200, 1},
        {WQ_REC_ENTERPRISE, "address", 300, 0},
        {WQ_REC_ENTERPRISE, "cadre", 64, 0},
        {WQ_REC_VISIT, "findings", 8000, 0},
        {WQ_REC_PROBLEM, "description", 8000, 1},
        {WQ_REC_PLAN, "measures", 8000, 1},
        {WQ_REC_PLAN, "goal", 2000, 0},
        {WQ_REC_PROGRESS, "note", 8000, 0},
        {WQ_REC_SERVICE, "content", 8000, 1},
        {WQ_REC_CONSULTATION, "question", 8000, 1},
        {WQ_REC_ANSWER, "answer", 8000, 1},
        {WQ_REC_CLASSIFICATION, "reason", 2000, 1},
        {WQ_REC_RETRACTION, "reason", 2000, 1},
    };
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        wq_record_t *r = rs_sample(limits[i].type);
        const char *f = limits[i].field;
        size_t max = limits[i].max;
        /* Exactly at the limit, in 3-byte Han characters and ASCII. */
        char *ok = s_repeat("a", max);
        s_expect_set(r, f, ok, WQ_OK);
        s_expect_valid(r, WQ_OK, NULL);
        char *over = s_repeat("a", max + 1);
        s_expect_set(r, f, over, WQ_E_RANGE);
        char *han = s_repeat("环", max / 3 + 1);   /* > max bytes */
        s_expect_set(r, f, han, WQ_E_RANGE);
        /* Empty. */
        s_expect_set(r, f, "", limits[i].min ? WQ_E_RANGE : WQ_OK);
        /* Decode: over the limit is a size error, at it is fine. */
        uint8_t *v, *b;
        size_t vn, n;
        s_pack_str_raw(over, max + 1, &v, &vn);
        s_repack(r, f, S_REPLACE, v, vn, &b, &n);
        s_expect_decode(b, n, WQ_E_RANGE, f);
        free(v);
        free(b);
        s_pack_str_raw(ok, max, &v, &vn);
        s_repack(r, f, S_REPLACE, v, vn, &b, &n);
        s_expect_invalid(b, n, WQ_OK, NULL);
        free(v);
        free(b);
        /* Empty on the wire: decodes; validate applies the minimum. */
        s_pack_str_raw("", 0, &v, &vn);
        s_repack(r, f, S_REPLACE, v, vn, &b, &n);
        s_expect_invalid(b, n, limits[i].min ? WQ_E_RANGE : WQ_OK, limits[i].min ? f : NULL);
        free(v);
        free(b);
        /* In memory, over the limit. */
        char **slot = NULL;
        wq_field_t fl = wq_field_parse(f);
        switch (fl) {
        case WQ_F_BY: slot = &r->by; break;
        case WQ_F_NAME: slot = &r->name; break;
        case WQ_F_ADDRESS: slot = &r->address; break;
        case WQ_F_CADRE: slot = &r->cadre; break;
        case WQ_F_FINDINGS: slot = &r->findings; break;
        case WQ_F_DESCRIPTION: slot = &r->description; break;
        case WQ_F_MEASURES: slot = &r->measures; break;
        case WQ_F_GOAL: slot = &r->goal; break;
        case WQ_F_NOTE: slot = &r->note; break;
        case WQ_F_CONTENT: slot = &r->content; break;
        case WQ_F_QUESTION: slot = &r->question; break;
        case WQ_F_ANSWER: slot = &r->answer; break;
        case WQ_F_REASON: slot = &r->reason; break;
        default: fail();
        }
        free(*slot);
        *slot = over;
        r->present |= 1ull << fl;
        s_expect_valid(r, WQ_E_RANGE, f);
        free(ok);
        free(han);
        wq_record_destroy(&r);
    }
}

static void
test_utf8(void **state)
{
    (void) state;
    static const char *const bad[] = {
        "\xff",                     /* never valid */
        "ab\xc3",                   /* truncated sequence */
        "\xc0\xaf",                 /* overlong '/' */
        "\xed\xa0\x80",             /* surrogate */
        "\xf4\x90\x80\x80",         /* above U+10FFFF */
        "\xe7\x8e\xaf\x80",         /* stray continuation */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        wq_record_t *r = rs_sample(WQ_REC_ENTERPRISE);
        s_expect_set(r, "name", bad[i], WQ_E_UTF8);
        s_expect_set(r, "by", bad[i], WQ_E_UTF8);
        uint8_t *v, *b;
        size_t vn, n;
        s_pack_str_raw(bad[i], strlen(bad[i]), &v, &vn);
        s_repack(r, "name", S_REPLACE, v, vn, &b, &n);
        s_expect_decode(b, n, WQ_E_UTF8, "name");
        free(b);
        s_repack(r, "county", S_REPLACE, v, vn, &b, &n);
        s_expect_decode(b, n, WQ_E_UTF8, "county");
        free(b);
        free(v);
        /* In memory. */
        free(r->name);
        r->name = strdup(bad[i]);
        s_expect_valid(r, WQ_E_UTF8, "name");
        wq_record_destroy(&r);
    }
    /* NUL inside a msgpack string. */
    wq_record_t *r = rs_sample(WQ_REC_ENTERPRISE);
    uint8_t *v, *b;
    size_t vn, n;
    s_pack_str_raw("ab\0cd", 5, &v, &vn);
    s_repack(r, "name", S_REPLACE, v, vn, &b, &n);
    s_expect_decode(b, n, WQ_E_UTF8, "name");
    free(b);
    free(v);
    /* Control characters: never in single-line fields, only \n and \t in
       multi-line ones. */
    s_expect_set(r, "name", "化工\n有限公司", WQ_E_UTF8);
    s_expect_set(r, "name", "化工\t有限公司", WQ_E_UTF8);
    s_expect_set(r, "name", "化工\x7f", WQ_E_UTF8);
    s_expect_set(r, "name", "化工\xc2\x85", WQ_E_UTF8);   /* C1 NEL */
    s_expect_set(r, "address", "a\rb", WQ_E_UTF8);
    /* Codes, dates and ids are line fields too: a control character is a
       UTF-8 error there, not a format error (PROTOCOL.md 3.3). */
    s_expect_set(r, "county", "13010\n", WQ_E_UTF8);
    s_expect_set(r, "date", "2019-05-1\t", WQ_E_UTF8);
    s_expect_set(r, "ent", "\xff" "1130102MA07L5QK9", WQ_E_UTF8);
    s_expect_set(r, "industry", "C\x7f", WQ_E_UTF8);
    wq_record_destroy(&r);
    r = rs_sample(WQ_REC_PLAN);
    s_expect_set(r, "problem", "a/9f86d081/1\n", WQ_E_UTF8);
    wq_record_destroy(&r);
    r = rs_sample(WQ_REC_VISIT);
    s_expect_set(r, "findings", "第一行\n第二行\t缩进", WQ_OK);
    s_expect_set(r, "findings", "a\rb", WQ_E_UTF8);
    s_expect_set(r, "findings", "a\x1b[31m", WQ_E_UTF8);
    s_expect_set(r, "cadres", "张\n三", WQ_E_UTF8);
    s_expect_valid(r, WQ_OK, NULL);
    /* An invalid cadre in memory. */
    free(r->cadres[0]);
    r->cadres[0] = strdup("\xff");
    s_expect_valid(r, WQ_E_UTF8, "cadres");
    wq_record_destroy(&r);
}

static void
test_cadres(void **state)
{
    (void) state;
    wq_record_t *r = wq_record_new(WQ_REC_VISIT);
    s_expect_set(r, "cadres", "张三, 李四、王五，赵六", WQ_OK);
    assert_int_equal(r->ncadres, 4);
    assert_string_equal(r->cadres[0], "张三");
    assert_string_equal(r->cadres[1], "李四");
    assert_string_equal(r->cadres[2], "王五");
    assert_string_equal(r->cadres[3], "赵六");
    s_expect_set(r, "cadres", "钱七", WQ_OK);   /* appends */
    assert_int_equal(r->ncadres, 5);
    s_expect_set(r, "cadres", "a,,b", WQ_E_RANGE);   /* empty name; nothing appended */
    assert_int_equal(r->ncadres, 5);
    s_expect_set(r, "cadres", "", WQ_E_RANGE);
    char *long_name = s_repeat("a", 65);
    s_expect_set(r, "cadres", long_name, WQ_E_RANGE);
    free(long_name);
    s_expect_set(r, "cadres", "a,b,c,d,e,f,g,h,i,j,k", WQ_OK);  /* 16 */
    assert_int_equal(r->ncadres, 16);
    s_expect_set(r, "cadres", "x", WQ_E_RANGE);
    assert_int_equal(r->ncadres, 16);
    wq_record_destroy(&r);

    /* On the wire: 17 items, an item over 64 bytes, an empty array. */
    r = rs_sample(WQ_REC_VISIT);
    uint8_t v[1 + 17 * 2];
    v[0] = 0xdc;    /* array16: 3-byte header */
    uint8_t big[3 + 17 * 2] = {0xdc, 0x00, 17};
    for (int i = 0; i < 17; i++) {
        big[3 + 2 * i] = 0xa1;
        big[4 + 2 * i] = (uint8_t) ('a' + i);
    }
    (void) v;
    uint8_t *b;
    size_t n;
    s_repack(r, "cadres", S_REPLACE, big, sizeof big, &b, &n);
    s_expect_decode(b, n, WQ_E_RANGE, "cadres");
    free(b);
    static const uint8_t empty[] = {0x90};
    s_repack(r, "cadres", S_REPLACE, empty, sizeof empty, &b, &n);
    s_expect_invalid(b, n, WQ_E_MISSING, "cadres");
    free(b);
    static const uint8_t empty_item[] = {0x91, 0xa0};
    s_repack(r, "cadres", S_REPLACE, empty_item, sizeof empty_item, &b, &n);
    s_expect_invalid(b, n, WQ_E_RANGE, "cadres");
    free(b);
    uint8_t long_item[2 + 2 + 65] = {0x91, 0xd9, 65};
    memset(long_item + 3, 'a', 65);
    s_repack(r, "cadres", S_REPLACE, long_item, 3 + 65, &b, &n);
    s_expect_decode(b, n, WQ_E_RANGE, "cadres");
    free(b);
    wq_record_destroy(&r);
}

/*  ---- content rules --------------------------------------------------- */

static void
test_credit_code(void **state)
{
    (void) state;
    wq_record_t *r = rs_sample(WQ_REC_SERVICE);
    s_expect_set(r, "ent", "91130102MA07L5QK9L", WQ_OK);
    s_expect_set(r, "ent", "91130102MA07L5QK9F", WQ_E_CHECKCHAR);
    assert_string_equal(r->ent, "91130102MA07L5QK9L");     /* unchanged */
    s_expect_set(r, "ent", "91130102ma07l5qk9l", WQ_E_FORMAT);
    s_expect_set(r, "ent", "91130102MA07L5QK9", WQ_E_FORMAT);
    s_expect_set(r, "ent", "91130102MA07L5QK9LL", WQ_E_FORMAT);
    s_expect_set(r, "ent", "91130102MA07L5QKIL", WQ_E_FORMAT);   /* I not in the alphabet */
    s_expect_set(r, "ent", "", WQ_E_FORMAT);
    /* Decoded with a bad check character: decode is fine, validate is not. */
    uint8_t *v, *b;
    size_t vn, n;
    s_pack_str_raw("91130102MA07L5QK9F", 18, &v, &vn);
    s_repack(r, "ent", S_REPLACE, v, vn, &b, &n);
    wq_record_t *d = NULL;
    wq_err_t err;
    assert_int_equal(s_decode(b, n, &d, &err), WQ_OK);
    assert_int_equal(wq_record_validate(d, &err), WQ_E_CHECKCHAR);
    assert_string_equal(err.field, "ent");
    assert_non_null(strstr(err.text, "L"));
    wq_record_destroy(&d);
    free(v);
    free(b);
    /* 19 characters on the wire: too long for the field. */
    s_pack_str_raw("91130102MA07L5QK9LX", 19, &v, &vn);
    s_repack(r, "ent", S_REPLACE, v, vn, &b, &n);
    s_expect_decode(b, n, WQ_E_RANGE, "ent");
    free(v);
    free(b);
    wq_record_destroy(&r);
}

static void
test_county(void **state)
{
    (void) state;
    wq_record_t *r = rs_sample(WQ_REC_VISIT);
    s_expect_set(r, "county", "139999", WQ_E_COUNTY);
    s_expect_set(r, "county", "130100", WQ_E_COUNTY);   /* a city */
    s_expect_set(r, "county", "130000", WQ_E_COUNTY);   /* the province */
    s_expect_set(r, "county", "13010", WQ_E_FORMAT);
    s_expect_set(r, "county", "1301021", WQ_E_FORMAT);
    s_expect_set(r, "county", "13010a", WQ_E_FORMAT);
    s_expect_set(r, "county", "130171", WQ_OK);   /* a functional zone */
    s_expect_set(r, "county", "130503", WQ_OK);
    /* 邢台县 130521 was abolished in 2020: valid for a 2019 activity... */
    s_expect_set(r, "date", "2019-05-10", WQ_OK);
    s_expect_set(r, "county", "130521", WQ_OK);
    s_expect_valid(r, WQ_OK, NULL);
    /* ...not for a 2021 one. */
    s_expect_set(r, "date", "2021-03-01", WQ_OK);
    s_expect_valid(r, WQ_E_COUNTY, "county");
    s_expect_set(r, "county", "130521", WQ_E_COUNTY);   /* checked against the date */
    wq_record_destroy(&r);
    /* Without a date yet, set_text accepts a retired code; validate decides. */
    r = wq_record_new(WQ_REC_VISIT);
    s_expect_set(r, "county", "130526", WQ_OK);
    wq_record_destroy(&r);
    /* On the wire: unknown county decodes, validate says why. */
    r = rs_sample(WQ_REC_VISIT);
    uint8_t *v, *b;
    size_t vn, n;
    s_pack_str_raw("139999", 6, &v, &vn);
    s_repack(r, "county", S_REPLACE, v, vn, &b, &n);
    s_expect_invalid(b, n, WQ_E_COUNTY, "county");
    free(v);
    free(b);
    s_pack_str_raw("1301021", 7, &v, &vn);
    s_repack(r, "county", S_REPLACE, v, vn, &b, &n);
    s_expect_decode(b, n, WQ_E_RANGE, "county");
    free(v);
    free(b);
    s_pack_str_raw("13010", 5, &v, &vn);
    s_repack(r, "county", S_REPLACE, v, vn, &b, &n);
    s_expect_invalid(b, n, WQ_E_FORMAT, "county");
    free(v);
    free(b);
    wq_record_destroy(&r);
}

static void
test_dates(void **state)
{
    (void) state;
    static const char *const bad[] = {
        "2019-02-30", "2019-13-01", "2019-00-10", "2019-04-31", "19-05-10", "2019/05-10",
        "2019-5-", "1999-12-31", "2100-01-01", "", "2019-05-10x", "二〇一九年", "2019年5月",
        "2019.5.32", "12345", "2019-05-06 x",
    };
    /* The forms people write (issue 11), all the same date. */
    static const char *const good[] = {
        "2019-05-06", "2019-5-6", "2019/5/6", "2019/05/06", "2019.5.6", "2019年5月6日",
        "2019年05月06日", " 2019-05-06 ", "2019/5/6 0:00", "2019-05-06 00:00:00", "43591",
        "43591.0",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        wq_record_t *g = rs_sample(WQ_REC_PLAN);
        s_expect_set(g, "date", good[i], WQ_OK);
        assert_string_equal(g->date, "2019-05-06");
        wq_record_destroy(&g);
    }
    wq_record_t *r = rs_sample(WQ_REC_PLAN);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_expect_set(r, "date", bad[i], WQ_E_FORMAT);
        s_expect_set(r, "deadline", bad[i], WQ_E_FORMAT);
    }
    s_expect_set(r, "date", "2020-02-29", WQ_OK);
    s_expect_set(r, "date", "2019-02-29", WQ_E_FORMAT);
    s_expect_set(r, "deadline", "2019-12-31", WQ_OK);
    s_expect_valid(r, WQ_OK, NULL);
    /* In memory and on the wire. */
    snprintf(r->deadline, sizeof r->deadline, "2019-02-30");
    s_expect_valid(r, WQ_E_FORMAT, "deadline");
    wq_record_destroy(&r);
    r = rs_sample(WQ_REC_PLAN);
    uint8_t *v, *b;
    size_t vn, n;
    s_pack_str_raw("2019-13-01", 10, &v, &vn);
    s_repack(r, "date", S_REPLACE, v, vn, &b, &n);
    s_expect_invalid(b, n, WQ_E_FORMAT, "date");
    free(b);
    s_repack(r, "deadline", S_REPLACE, v, vn, &b, &n);
    s_expect_invalid(b, n, WQ_E_FORMAT, "deadline");
    free(b);
    free(v);
    s_pack_str_raw("2019-05-10T", 11, &v, &vn);
    s_repack(r, "date", S_REPLACE, v, vn, &b, &n);
    s_expect_decode(b, n, WQ_E_RANGE, "date");
    free(b);
    free(v);
    wq_record_destroy(&r);
}

static void
test_enums(void **state)
{
    (void) state;
    static const struct {
        wq_rec_type_t type;
        const char *field;
        const char *good;
    } e[] = {
        {WQ_REC_ENTERPRISE, "focus", "tech_sme"},
        {WQ_REC_VISIT, "method", "enforcement_inspection"},
        {WQ_REC_PROBLEM, "category", "over_standard"},
        {WQ_REC_PROBLEM, "severity", "minor"},
        {WQ_REC_PROGRESS, "status", "reopened"},
        {WQ_REC_SERVICE, "kind", "technology"},
        {WQ_REC_CONSULTATION, "channel", "reception_day"},
        {WQ_REC_CLASSIFICATION, "class", "punish"},
    };
    for (size_t i = 0; i < sizeof e / sizeof e[0]; i++) {
        wq_record_t *r = rs_sample(e[i].type);
        s_expect_set(r, e[i].field, e[i].good, WQ_OK);
        s_expect_valid(r, WQ_OK, NULL);
        s_expect_set(r, e[i].field, "nonsense", WQ_E_UNKNOWN);
        s_expect_set(r, e[i].field, "", WQ_E_UNKNOWN);
        s_expect_set(r, e[i].field, "1", WQ_E_UNKNOWN);
        wq_err_t err;
        /* People's input: any letter case of a code is taken (issue 11). */
        assert_int_equal(wq_record_set_text(r, e[i].field, "AIRR", &err), WQ_E_UNKNOWN);
        assert_non_null(strstr(err.text, e[i].good));  /* lists the allowed values */
        /* On the wire. */
        uint8_t *v, *b;
        size_t vn, n;
        s_pack_str_raw("nonsense", 8, &v, &vn);
        s_repack(r, e[i].field, S_REPLACE, v, vn, &b, &n);
        s_expect_decode(b, n, WQ_E_UNKNOWN, e[i].field);
        free(v);
        free(b);
        /* In memory, out of range. */
        wq_field_t f = wq_field_parse(e[i].field);
        switch (f) {
        case WQ_F_FOCUS: r->focus = WQ_FOCUS_COUNT; break;
        case WQ_F_METHOD: r->method = (wq_method_t) 0; break;
        case WQ_F_CATEGORY: r->category = WQ_CAT_COUNT; break;
        case WQ_F_SEVERITY: r->severity = (wq_severity_t) 99; break;
        case WQ_F_STATUS: r->status = WQ_STATUS_COUNT; break;
        case WQ_F_KIND: r->kind = WQ_SERVICE_COUNT; break;
        case WQ_F_CHANNEL: r->channel = (wq_channel_t) -1; break;
        case WQ_F_CLASS: r->klass = WQ_CLASS_COUNT; break;
        default: fail();
        }
        s_expect_valid(r, WQ_E_UNKNOWN, e[i].field);
        wq_record_destroy(&r);
    }
    /* Record type names. */
    wq_record_t *r = rs_sample(WQ_REC_VISIT);
    uint8_t *v, *b;
    size_t vn, n;
    s_pack_str_raw("inspection", 10, &v, &vn);
    s_repack(r, "type", S_REPLACE, v, vn, &b, &n);
    s_expect_decode(b, n, WQ_E_UNKNOWN, "type");
    free(v);
    free(b);
    s_expect_set(r, "type", "visit", WQ_OK);
    s_expect_set(r, "type", "problem", WQ_E_UNKNOWN);
    wq_record_destroy(&r);
}

static void
test_bools(void **state)
{
    (void) state;
    wq_record_t *r = rs_sample(WQ_REC_ENTERPRISE);
    static const char *const t[] = {"true", "1", "yes"};
    static const char *const f[] = {"false", "0", "no"};
    for (int i = 0; i < 3; i++) {
        s_expect_set(r, "above_size", f[i], WQ_OK);
        assert_false(r->above_size);
        s_expect_set(r, "above_size", t[i], WQ_OK);
        assert_true(r->above_size);
    }
    s_expect_set(r, "above_size", "TRUE", WQ_OK);   /* any case, and 是/否 (issue 11) */
    s_expect_set(r, "above_size", "是", WQ_OK);
    s_expect_set(r, "above_size", "对", WQ_E_FORMAT);
    s_expect_set(r, "above_size", "", WQ_E_FORMAT);
    wq_record_destroy(&r);
}

static void
test_industry(void **state)
{
    (void) state;
    static const char *const good[] = {"A", "C", "T", "C31", "C311", "C3110", "D4411"};
    static const char *const bad[] = {"U", "Z", "c", "C1", "C31100", "CC", "", "C31a", "3110",
                                      "C 31"};
    wq_record_t *r = rs_sample(WQ_REC_ENTERPRISE);
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        s_expect_set(r, "industry", good[i], WQ_OK);
        s_expect_valid(r, WQ_OK, NULL);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        s_expect_set(r, "industry", bad[i], WQ_E_FORMAT);
    uint8_t *v, *b;
    size_t vn, n;
    s_pack_str_raw("U", 1, &v, &vn);
    s_repack(r, "industry", S_REPLACE, v, vn, &b, &n);
    s_expect_invalid(b, n, WQ_E_FORMAT, "industry");
    free(v);
    free(b);
    s_pack_str_raw("C31100", 6, &v, &vn);
    s_repack(r, "industry", S_REPLACE, v, vn, &b, &n);
    s_expect_decode(b, n, WQ_E_RANGE, "industry");
    free(v);
    free(b);
    wq_record_destroy(&r);
}

/*  ---- ids ------------------------------------------------------------ */

static void
test_event_ids(void **state)
{
    (void) state;
    char agent[WQ_AGENT_ID_MAX + 1];
    uint32_t inc;
    uint64_t seq;
    wq_err_t err;
    assert_int_equal(wq_event_id_parse("130102-01/9f86d081/17", agent, &inc, &seq, &err), WQ_OK);
    assert_string_equal(agent, "130102-01");
    assert_int_equal(inc, 0x9f86d081u);
    assert_int_equal(seq, 17);
    assert_int_equal(wq_event_id_parse("A_b-9/00000001/9223372036854775807", agent, &inc, &seq,
                                       &err), WQ_OK);
    assert_true(seq == UINT64_C(9223372036854775807));
    char out[WQ_EVENT_ID_MAX];
    wq_event_id_format("130102-01", 0x0000abcd, 42, out);
    assert_string_equal(out, "130102-01/0000abcd/42");
    char a32[33];
    memset(a32, 'x', 32);
    a32[32] = '\0';
    wq_event_id_format(a32, UINT32_MAX, UINT64_C(9223372036854775807), out);
    assert_int_equal(wq_event_id_parse(out, agent, &inc, &seq, &err), WQ_OK);
    assert_string_equal(agent, a32);

    static const char *const bad[] = {
        "", "abc", "a/9f86d081", "a/9f86d081/", "/9f86d081/1", "a/9F86D081/1", "a/9f86d08/1",
        "a/9f86d0811/1", "a/00000000/1", "a/9f86d081/0", "a/9f86d081/01", "a/9f86d081/+1",
        "a/9f86d081/-1", "a/9f86d081/1x", "a/9f86d081/9223372036854775808",
        "a/9f86d081/99999999999999999999", "a.b/9f86d081/1", "a/9f86d081/1/2",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/9f86d081/1", "张/9f86d081/1", "@1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (wq_event_id_parse(bad[i], agent, &inc, &seq, &err) != WQ_E_FORMAT)
            fail_msg("\"%s\" accepted as an event id", bad[i]);
    }
    assert_int_equal(wq_agent_id_check("130102-01", &err), WQ_OK);
    assert_int_equal(wq_agent_id_check("", &err), WQ_E_FORMAT);
    assert_int_equal(wq_agent_id_check(a32, &err), WQ_OK);
    a32[31] = '.';
    assert_int_equal(wq_agent_id_check(a32, &err), WQ_E_FORMAT);
    assert_int_equal(wq_agent_id_check("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", &err), WQ_E_FORMAT);

    /* Event-id fields. */
    wq_record_t *r = rs_sample(WQ_REC_PLAN);
    s_expect_set(r, "problem", "a/9F86D081/1", WQ_E_FORMAT);
    s_expect_set(r, "problem", "a/9f86d081/1", WQ_OK);
    uint8_t *v, *b;
    size_t vn, n;
    s_pack_str_raw("a/9f86d081/0", 12, &v, &vn);
    s_repack(r, "problem", S_REPLACE, v, vn, &b, &n);
    s_expect_invalid(b, n, WQ_E_FORMAT, "problem");
    free(v);
    free(b);
    /* Agent id on the wire. */
    s_pack_str_raw("a b", 3, &v, &vn);
    s_repack(r, "agent", S_REPLACE, v, vn, &b, &n);
    s_expect_invalid(b, n, WQ_E_FORMAT, "agent");
    free(v);
    free(b);
    wq_record_destroy(&r);
}

static void
test_identity_and_entity(void **state)
{
    (void) state;
    wq_record_t *r = wq_record_new(WQ_REC_PROBLEM);
    s_expect_set(r, "date", "2019-05-10", WQ_OK);
    s_expect_set(r, "county", "130102", WQ_OK);
    s_expect_set(r, "ent", "91130102MA07L5QK9L", WQ_OK);
    s_expect_set(r, "category", "water", WQ_OK);
    s_expect_set(r, "severity", "general", WQ_OK);
    s_expect_set(r, "description", "废水直排", WQ_OK);
    /* Content is complete; the identity is not yet assigned. */
    wq_err_t err;
    assert_int_equal(wq_record_validate_content(r, &err), WQ_OK);
    s_expect_valid(r, WQ_E_MISSING, "agent");
    wq_record_set_identity(r, "130102-01", 0x9f86d081, 17, 1557446400000ull);
    s_expect_valid(r, WQ_OK, NULL);
    char id[WQ_EVENT_ID_MAX], ent[WQ_EVENT_ID_MAX + 2];
    wq_record_id(r, id);
    assert_string_equal(id, "130102-01/9f86d081/17");
    wq_record_entity(r, ent);
    assert_string_equal(ent, "P:130102-01/9f86d081/17");
    wq_record_destroy(&r);

    static const struct {
        wq_rec_type_t t;
        const char *entity;
    } want[] = {
        {WQ_REC_ENTERPRISE, "E:" RS_ENT},
        {WQ_REC_VISIT, "E:" RS_ENT},
        {WQ_REC_PROBLEM, "P:" RS_AGENT "/" RS_INC_HEX "/3"},
        {WQ_REC_PLAN, "P:" RS_PROBLEM},
        {WQ_REC_PROGRESS, "P:" RS_PROBLEM},
        {WQ_REC_SERVICE, "E:" RS_ENT},
        {WQ_REC_CONSULTATION, "C:" RS_AGENT "/" RS_INC_HEX "/7"},
        {WQ_REC_ANSWER, "C:" RS_CONSULTATION},
        {WQ_REC_CLASSIFICATION, "E:" RS_ENT},
        {WQ_REC_CORRECTION, ""},
        {WQ_REC_RETRACTION, ""},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        r = rs_sample(want[i].t);
        wq_record_entity(r, ent);
        assert_string_equal(ent, want[i].entity);
        wq_record_destroy(&r);
    }
}

/*  ---- decoder robustness ------------------------------------------------ */

static void
test_unknown_and_duplicate_keys(void **state)
{
    (void) state;
    wq_record_t *r = rs_sample(WQ_REC_VISIT);
    uint8_t *b;
    size_t n;
    static const uint8_t one[] = {0x01};
    s_repack(r, "colour", S_ADD, one, sizeof one, &b, &n);
    s_expect_decode(b, n, WQ_E_UNKNOWN, "");
    free(b);
    static const uint8_t m[] = {0xa4, 'o', 'p', 'e', 'n'};
    s_repack(r, "Method", S_ADD, m, sizeof m, &b, &n);   /* case matters */
    s_expect_decode(b, n, WQ_E_UNKNOWN, NULL);
    free(b);
    s_repack(r, "method", S_ADD, m, sizeof m, &b, &n);
    s_expect_decode(b, n, WQ_E_DUPFIELD, "method");
    free(b);
    static const uint8_t t[] = {0xa5, 'v', 'i', 's', 'i', 't'};
    s_repack(r, "type", S_ADD, t, sizeof t, &b, &n);   /* even with the same value */
    s_expect_decode(b, n, WQ_E_DUPFIELD, "type");
    free(b);
    wq_record_destroy(&r);
    /* Inside a correction's set: duplicate, unknown, "type", nested "set". */
    r = rs_sample(WQ_REC_CORRECTION);
    static const uint8_t dup[] = {0x82, 0xa4, 'g', 'o', 'a', 'l', 0xa1, 'x',
                                  0xa4, 'g', 'o', 'a', 'l', 0xa1, 'y'};
    s_repack(r, "set", S_REPLACE, dup, sizeof dup, &b, &n);
    s_expect_decode(b, n, WQ_E_DUPFIELD, "goal");
    free(b);
    static const uint8_t unk[] = {0x81, 0xa3, 'f', 'o', 'o', 0xa1, 'x'};
    s_repack(r, "set", S_REPLACE, unk, sizeof unk, &b, &n);
    s_expect_decode(b, n, WQ_E_UNKNOWN, "set");
    free(b);
    static const uint8_t typ[] = {0x81, 0xa4, 't', 'y', 'p', 'e', 0xa4, 'p', 'l', 'a', 'n'};
    s_repack(r, "set", S_REPLACE, typ, sizeof typ, &b, &n);
    s_expect_decode(b, n, WQ_E_UNKNOWN, "set.type");
    free(b);
    static const uint8_t nest[] = {0x81, 0xa3, 's', 'e', 't', 0x80};
    s_repack(r, "set", S_REPLACE, nest, sizeof nest, &b, &n);
    s_expect_decode(b, n, WQ_E_UNKNOWN, "set.set");
    free(b);
    wq_record_destroy(&r);
}

static void
test_trailing_and_size(void **state)
{
    (void) state;
    wq_record_t *r = rs_sample(WQ_REC_ANSWER);
    uint8_t *b;
    size_t n;
    s_encode(r, &b, &n);
    uint8_t *more = malloc(n + 1);
    memcpy(more, b, n);
    more[n] = 0xc0;
    s_expect_decode(more, n + 1, WQ_E_TRAILING, "");
    /* Two records back to back: trailing too. */
    uint8_t *two = malloc(2 * n);
    memcpy(two, b, n);
    memcpy(two + n, b, n);
    s_expect_decode(two, 2 * n, WQ_E_TRAILING, NULL);
    free(two);
    free(more);
    free(b);
    /* Over WQ_RECORD_MAX_BYTES. */
    size_t big = WQ_RECORD_MAX_BYTES + 1;
    uint8_t *huge = calloc(1, big);
    huge[0] = 0x80;
    s_expect_decode(huge, big, WQ_E_RANGE, NULL);
    free(huge);
    /* Empty input. */
    s_expect_decode((const uint8_t *) "", 0, WQ_E_TRUNCATED, NULL);
    wq_record_t *d = (wq_record_t *) 0x1;
    wq_err_t err;
    assert_int_equal(wq_record_decode(NULL, 0, &d, &err), WQ_E_TRUNCATED);
    assert_null(d);
    /* Encode refuses a record over the limit. */
    wq_record_destroy(&r);
    r = rs_sample(WQ_REC_VISIT);
    free(r->findings);
    r->findings = s_repeat("x", WQ_RECORD_MAX_BYTES);   /* encode does not validate */
    uint8_t *eb = (uint8_t *) 0x1;
    size_t en = 7;
    assert_int_equal(wq_record_encode(r, &eb, &en), WQ_E_RANGE);
    assert_null(eb);
    assert_int_equal(en, 0);
    wq_record_destroy(&r);
}

/*  Every prefix of every type's encoding fails cleanly as truncated. */
static void
test_truncated_every_length(void **state)
{
    (void) state;
    size_t total = 0;
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++) {
        wq_record_t *r = rs_sample((wq_rec_type_t) t);
        uint8_t *b;
        size_t n;
        s_encode(r, &b, &n);
        for (size_t len = 0; len < n; len++) {
            s_expect_decode(b, len, WQ_E_TRUNCATED, NULL);
            total++;
        }
        free(b);
        wq_record_destroy(&r);
    }
    assert_true(total > 1000);
}

static void
test_hostile_headers(void **state)
{
    (void) state;
    /* Counts and lengths that claim far more than the buffer holds: no
       allocation for them, just "truncated". */
    static const uint8_t map32[] = {0xdf, 0xff, 0xff, 0xff, 0xff, 0xa4, 't', 'y', 'p', 'e'};
    s_expect_decode(map32, sizeof map32, WQ_E_TRUNCATED, NULL);
    static const uint8_t map16[] = {0xde, 0xff, 0xff, 0xc0, 0xc0};
    s_expect_decode(map16, sizeof map16, WQ_E_TRUNCATED, NULL);
    static const uint8_t arr32[] = {0x81, 0xa6, 'c', 'a', 'd', 'r', 'e', 's',
                                    0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0};
    s_expect_decode(arr32, sizeof arr32, WQ_E_TRUNCATED, NULL);
    static const uint8_t str32[] = {0x81, 0xa4, 'n', 'a', 'm', 'e', 0xdb, 0xff, 0xff, 0xff, 0xff,
                                    'x'};
    s_expect_decode(str32, sizeof str32, WQ_E_TRUNCATED, NULL);
    static const uint8_t bin32[] = {0x81, 0xa4, 'n', 'a', 'm', 'e', 0xc6, 0x7f, 0xff, 0xff, 0xff};
    s_expect_decode(bin32, sizeof bin32, WQ_E_TRUNCATED, NULL);
    static const uint8_t ext32[] = {0x81, 0xa4, 'n', 'a', 'm', 'e', 0xc9, 0xff, 0xff, 0xff, 0xff,
                                    0x01};
    s_expect_decode(ext32, sizeof ext32, WQ_E_TRUNCATED, NULL);
    /* Deep nesting. */
    uint8_t deep[200];
    memset(deep, 0x91, sizeof deep);
    deep[sizeof deep - 1] = 0xc0;
    s_expect_decode(deep, sizeof deep, WQ_E_TYPE, NULL);
    /* A map whose declared size fits the bytes, but whose entries are
       nonsense: not a record. */
    static const uint8_t junk[] = {0x82, 0xc0, 0xc0, 0xc0, 0xc0};
    s_expect_decode(junk, sizeof junk, WQ_E_TYPE, NULL);
    /* Every single byte value as a whole record. */
    for (int c = 0; c < 256; c++) {
        uint8_t one = (uint8_t) c;
        wq_record_t *r = NULL;
        wq_err_t err;
        int rc = s_decode(&one, 1, &r, &err);
        assert_int_not_equal(rc, WQ_OK);
        if (c == 0x80)
            assert_int_equal(rc, WQ_E_MISSING);   /* {} has no type */
        assert_null(r);
    }
}

/*  Flip every byte of every encoding to every... rather: to a few values;
    nothing may crash, leak or read out of bounds, and whatever decodes
    must re-encode and decode again. */
static void
test_mutations(void **state)
{
    (void) state;
    static const uint8_t subst[] = {0x00, 0x7f, 0x80, 0x8f, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc3,
                                    0xcc, 0xcf, 0xd3, 0xd9, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xff};
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++) {
        wq_record_t *r = rs_sample((wq_rec_type_t) t);
        uint8_t *b;
        size_t n;
        s_encode(r, &b, &n);
        for (size_t i = 0; i < n; i++) {
            uint8_t keep = b[i];
            for (size_t k = 0; k < sizeof subst; k++) {
                b[i] = subst[k];
                wq_record_t *d = NULL;
                wq_err_t err;
                if (s_decode(b, n, &d, &err) == WQ_OK) {
                    uint8_t *b2;
                    size_t n2;
                    if (wq_record_encode(d, &b2, &n2) == WQ_OK) {
                        wq_record_t *d2 = NULL;
                        assert_int_equal(s_decode(b2, n2, &d2, &err), WQ_OK);
                        uint8_t *b3;
                        size_t n3;
                        assert_int_equal(wq_record_encode(d2, &b3, &n3), WQ_OK);
                        assert_int_equal(n2, n3);
                        assert_memory_equal(b2, b3, n2);
                        free(b3);
                        wq_record_destroy(&d2);
                        free(b2);
                    }
                    (void) wq_record_validate(d, &err);
                    wq_record_destroy(&d);
                } else {
                    assert_null(d);
                }
            }
            b[i] = keep;
        }
        free(b);
        wq_record_destroy(&r);
    }
}

/*  ---- corrections ----------------------------------------------------- */

static void
test_correction(void **state)
{
    (void) state;
    wq_record_t *r = rs_sample(WQ_REC_CORRECTION);
    s_expect_valid(r, WQ_OK, NULL);
    assert_non_null(r->set);
    assert_int_equal(r->set->type, WQ_REC_PLAN);
    assert_string_equal(r->set->deadline, "2019-09-30");
    /* The set is a nested map holding only the fields it sets. */
    uint8_t *b;
    size_t n, off = 0;
    s_encode(r, &b, &n);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, (const char *) b, n, &off), MSGPACK_UNPACK_SUCCESS);
    const msgpack_object_kv *last = &u.data.via.map.ptr[u.data.via.map.size - 1];
    assert_int_equal(last->key.via.str.size, 3);
    assert_memory_equal(last->key.via.str.ptr, "set", 3);
    assert_int_equal(last->val.type, MSGPACK_OBJECT_MAP);
    assert_int_equal(last->val.via.map.size, 2);
    assert_memory_equal(last->val.via.map.ptr[0].key.via.str.ptr, "goal", 4);
    assert_memory_equal(last->val.via.map.ptr[1].key.via.str.ptr, "deadline", 8);
    msgpack_unpacked_destroy(&u);
    free(b);

    /* set_patch_text rules. */
    s_expect_set(r, "set", "x", WQ_E_UNKNOWN);
    wq_err_t err;
    assert_int_equal(wq_record_set_patch_text(r, "problem", "a/9f86d081/1", &err), WQ_E_UNKNOWN);
    assert_int_equal(wq_record_set_patch_text(r, "ent", RS_ENT, &err), WQ_E_UNKNOWN);
    assert_int_equal(wq_record_set_patch_text(r, "county", "130102", &err), WQ_E_UNKNOWN);
    assert_int_equal(wq_record_set_patch_text(r, "status", "open", &err), WQ_E_UNKNOWN);
    assert_int_equal(wq_record_set_patch_text(r, "deadline", "2019-02-30", &err), WQ_E_FORMAT);
    assert_string_equal(err.field, "set.deadline");
    assert_int_equal(wq_record_set_patch_text(r, "date", "2019-06-01", &err), WQ_OK);
    assert_int_equal(wq_record_set_patch_text(r, "by", "王五", &err), WQ_OK);
    s_expect_valid(r, WQ_OK, NULL);
    /* "of" cannot change once fields are set; it must be a base type. */
    s_expect_set(r, "of", "visit", WQ_E_FORMAT);
    s_expect_set(r, "of", "correction", WQ_E_UNKNOWN);
    s_expect_set(r, "of", "retraction", WQ_E_UNKNOWN);
    s_expect_set(r, "of", "plan", WQ_OK);
    wq_record_destroy(&r);

    /* Patch before "of", patch on a non-correction. */
    r = wq_record_new(WQ_REC_CORRECTION);
    assert_int_equal(wq_record_set_patch_text(r, "goal", "x", &err), WQ_E_MISSING);
    assert_string_equal(err.field, "of");
    s_expect_set(r, "of", "enterprise", WQ_OK);
    assert_int_equal(wq_record_set_patch_text(r, "name", "", &err), WQ_E_RANGE);
    assert_null(r->set);    /* a failed first patch leaves no empty set */
    assert_int_equal(wq_record_set_patch_text(r, "name", "新名称有限公司", &err), WQ_OK);
    assert_int_equal(wq_record_set_patch_text(r, "above_size", "yes", &err), WQ_OK);
    assert_int_equal(wq_record_set_patch_text(r, "focus", "tech_sme", &err), WQ_OK);
    assert_int_equal(wq_record_set_patch_text(r, "industry", "C2614", &err), WQ_OK);
    wq_record_destroy(&r);
    r = rs_sample(WQ_REC_RETRACTION);
    assert_int_equal(wq_record_set_patch_text(r, "goal", "x", &err), WQ_E_UNKNOWN);
    s_expect_set(r, "of", "plan", WQ_E_UNKNOWN);
    wq_record_destroy(&r);

    /* Validation in memory: empty set, mismatched set type, foreign and
       non-patchable fields in the set. */
    r = rs_sample(WQ_REC_CORRECTION);
    r->set->present = 1ull << WQ_F_TYPE;
    s_expect_valid(r, WQ_E_MISSING, "set");
    wq_record_destroy(&r->set);
    s_expect_valid(r, WQ_E_MISSING, "set");
    r->present &= ~(1ull << WQ_F_SET);
    s_expect_valid(r, WQ_E_MISSING, "set");
    r->set = rs_sample(WQ_REC_VISIT);   /* a whole visit as the patch of a plan */
    r->present |= 1ull << WQ_F_SET;
    s_expect_valid(r, WQ_E_TYPE, "set");
    wq_record_destroy(&r);

    /* On the wire: a set with a non-patchable field, a foreign field, a bad
       value, and an empty set. */
    r = rs_sample(WQ_REC_CORRECTION);
    static const uint8_t problem[] = {0x81, 0xa7, 'p', 'r', 'o', 'b', 'l', 'e', 'm', 0xac, 'a',
                                      '/', '0', '0', '0', '0', '0', '0', '0', '1', '/', '1'};
    s_repack(r, "set", S_REPLACE, problem, sizeof problem, &b, &n);
    s_expect_invalid(b, n, WQ_E_UNKNOWN, "set.problem");
    free(b);
    static const uint8_t name[] = {0x81, 0xa4, 'n', 'a', 'm', 'e', 0xa1, 'x'};
    s_repack(r, "set", S_REPLACE, name, sizeof name, &b, &n);
    s_expect_invalid(b, n, WQ_E_UNKNOWN, "set.name");
    free(b);
    static const uint8_t dl[] = {0x81, 0xa8, 'd', 'e', 'a', 'd', 'l', 'i', 'n', 'e', 0xaa, '2',
                                 '0', '1', '9', '-', '0', '2', '-', '3', '0'};
    s_repack(r, "set", S_REPLACE, dl, sizeof dl, &b, &n);
    s_expect_invalid(b, n, WQ_E_FORMAT, "set.deadline");
    free(b);
    /* identity fields inside a set: refused, also when the rest is fine */
    static const uint8_t agent[] = {0x82, 0xa4, 'g', 'o', 'a', 'l', 0xa1, 'x',
                                    0xa5, 'a', 'g', 'e', 'n', 't', 0xa1, 'b'};
    s_repack(r, "set", S_REPLACE, agent, sizeof agent, &b, &n);
    s_expect_invalid(b, n, WQ_E_UNKNOWN, "set.agent");
    free(b);
    static const uint8_t seq[] = {0x82, 0xa4, 'g', 'o', 'a', 'l', 0xa1, 'x',
                                  0xa3, 's', 'e', 'q', 0x07};
    s_repack(r, "set", S_REPLACE, seq, sizeof seq, &b, &n);
    s_expect_invalid(b, n, WQ_E_UNKNOWN, "set.seq");
    free(b);
    static const uint8_t county[] = {0x81, 0xa6, 'c', 'o', 'u', 'n', 't', 'y',
                                     0xa6, '1', '3', '0', '1', '0', '4'};
    s_repack(r, "set", S_REPLACE, county, sizeof county, &b, &n);
    s_expect_invalid(b, n, WQ_E_UNKNOWN, "set.county");
    free(b);
    static const uint8_t none[] = {0x80};
    s_repack(r, "set", S_REPLACE, none, sizeof none, &b, &n);
    s_expect_invalid(b, n, WQ_E_MISSING, "set");
    free(b);
    static const uint8_t of_corr[] = {0xaa, 'c', 'o', 'r', 'r', 'e', 'c', 't', 'i', 'o', 'n'};
    s_repack(r, "of", S_REPLACE, of_corr, sizeof of_corr, &b, &n);
    s_expect_invalid(b, n, WQ_E_UNKNOWN, "of");
    free(b);
    static const uint8_t of_bad[] = {0xa3, 'f', 'o', 'o'};
    s_repack(r, "of", S_REPLACE, of_bad, sizeof of_bad, &b, &n);
    s_expect_decode(b, n, WQ_E_UNKNOWN, "of");
    free(b);
    /* "set" without "of": decodes, validate asks for "of". */
    s_repack(r, "of", S_DROP, NULL, 0, &b, &n);
    s_expect_invalid(b, n, WQ_E_MISSING, "of");
    free(b);
    /* A set given as something else than a map. */
    static const uint8_t arr[] = {0x90};
    s_repack(r, "set", S_REPLACE, arr, sizeof arr, &b, &n);
    s_expect_decode(b, n, WQ_E_TYPE, "set");
    free(b);
    wq_record_destroy(&r);
}

static void
test_help(void **state)
{
    (void) state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    wq_record_write_help(f, WQ_REC_PLAN);
    wq_record_write_help(f, WQ_REC_NONE);
    fclose(f);
    assert_non_null(strstr(text, "deadline"));
    assert_non_null(strstr(text, "required"));
    assert_non_null(strstr(text, "goal"));
    assert_null(strstr(text, "findings"));
    assert_null(strstr(text, "agent"));
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_every_type_round_trip),
        cmocka_unit_test(test_canonical_bytes),
        cmocka_unit_test(test_decode_liberal_order),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_foreign_field),
        cmocka_unit_test(test_wrong_msgpack_type),
        cmocka_unit_test(test_integer_ranges),
        cmocka_unit_test(test_string_limits),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_cadres),
        cmocka_unit_test(test_credit_code),
        cmocka_unit_test(test_county),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_bools),
        cmocka_unit_test(test_industry),
        cmocka_unit_test(test_event_ids),
        cmocka_unit_test(test_identity_and_entity),
        cmocka_unit_test(test_unknown_and_duplicate_keys),
        cmocka_unit_test(test_trailing_and_size),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_correction),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
