/*  =========================================================================
    test_msg - the wire codec against the golden vectors

    The golden vectors (tests/vectors, one .bin per case) were written by make_vectors.py from PROTOCOL.md,
    independently of this codec. For each one we
      - build the same message from C values and encode it: same bytes;
      - decode the file: same values; re-encode the decoded message: same
        bytes;
      - decode every strict prefix: WQ_E_TRUNCATED, nothing returned.
    The malformed ones in tests/vectors/bad must each fail with the exact code and element
    path listed in bad/EXPECTED. A fixed-seed fuzz loop mutates the vectors:
    the decoder must never crash or leak (ASan build), and whatever it
    accepts the encoder must accept and reproduce. Finally the encoder must
    refuse what a decoder would reject.
    =========================================================================
*/
#include <dirent.h>
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
#include "proto/msg.h"
#include "tests/support/testsupport.h"

/*  ---- helpers ------------------------------------------------------------ */

static char *
s_vec_path(const char *sub, const char *name)
{
    const char *src = getenv("WANQI_SOURCE_DIR");
    if (!src)
        fail_msg("WANQI_SOURCE_DIR is not set (ctest sets it to the source tree)");
    return ts_strf("%s/tests/vectors/%s%s", src, sub, name);
}

static uint8_t *
s_read_bin(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 4096;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    assert_int_equal(ferror(f), 0);
    fclose(f);
    *size = n;
    return buf;
}

static uint8_t *
s_vector(const char *name, size_t *size)
{
    char *path = s_vec_path("", name);
    uint8_t *buf = s_read_bin(path, size);
    free(path);
    return buf;
}

static void
s_assert_bytes(const uint8_t *got, size_t got_size, const uint8_t *want, size_t want_size,
               const char *what)
{
    if (got_size != want_size)
        fail_msg("%s: %zu bytes, expected %zu", what, got_size, want_size);
    for (size_t i = 0; i < want_size; i++)
        if (got[i] != want[i])
            fail_msg("%s: byte %zu is 0x%02x, expected 0x%02x", what, i, got[i], want[i]);
}

/*  ---- the good vectors as C values --------------------------------------- */

#define INC 0x9f86d081u
#define ENT "91130102MA07L5QK9L"

typedef struct {
    wq_msg_t m;
    wq_blob_t blobs[1000];
    wq_quarantined_t q[4];
    wq_param_t p[8];
    uint8_t *file;          /* the vector's bytes (batch blobs point into it) */
    size_t file_size;
} s_case_t;

static const uint8_t s_tiny_record[] = {0x81, 0xa1, 'x', 0x01};

static void
s_table(s_case_t *c, size_t ncols, const char *const *cols)
{
    c->m.result.table = wq_table_new(ncols, cols);
    assert_non_null(c->m.result.table);
}

static size_t
s_row(s_case_t *c)
{
    size_t row = 0;
    assert_int_equal(wq_table_add_row(c->m.result.table, &row), WQ_OK);
    return row;
}

/*  BATCH blobs of the records written by make_vectors.py: we take their
    bytes from the vector (we do not re-derive the records here: BATCH
    carries them as opaque bin), but pin their sizes and first bytes. */
static void
s_blobs_from_file(s_case_t *c, size_t n, const size_t *sizes)
{
    wq_msg_t *d = NULL;
    wq_err_t err;
    assert_int_equal(wq_msg_decode(c->file, c->file_size, &d, &err), WQ_OK);
    assert_int_equal(d->batch.count, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(d->batch.records[i].size, sizes[i]);
        const uint8_t *at = memmem(c->file, c->file_size, d->batch.records[i].data, sizes[i]);
        assert_non_null(at);
        c->blobs[i].data = at;
        c->blobs[i].size = sizes[i];
        assert_true((at[0] & 0xf0) == 0x80);   /* a fixmap: a record map */
    }
    wq_msg_destroy(&d);
}

static void
s_build(const char *name, s_case_t *c)
{
    wq_msg_t *m = &c->m;
    memset(m, 0, sizeof *m);
    if (strcmp(name, "hello") == 0) {
        m->type = WQ_MSG_HELLO;
        m->hello.agent = "130102-01";
        m->hello.inc = INC;
        m->hello.software = "wanqi-agent 0.1.0";
        m->hello.last_seq = 14;
        m->hello.queued = 4;
    } else if (strcmp(name, "hello_edge") == 0) {
        m->type = WQ_MSG_HELLO;
        m->hello.agent = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        m->hello.inc = UINT32_MAX;
        m->hello.software = NULL;   /* encoded as "" */
        m->hello.last_seq = 0;
        m->hello.queued = UINT64_MAX;
    } else if (strcmp(name, "hello_min") == 0) {
        m->type = WQ_MSG_HELLO;
        m->hello.agent = "x";
        m->hello.inc = 1;
        m->hello.software = "wanqi-agent 0.1.0 (Debian 12, x86_64, 石家庄)";
        m->hello.last_seq = INT64_MAX;
        m->hello.queued = 0;
    } else if (strcmp(name, "welcome") == 0) {
        m->type = WQ_MSG_WELCOME;
        m->welcome.inc = INC;
        m->welcome.hwm = 14;
        m->welcome.credit = 4;
        m->welcome.max_batch = 500;
        m->welcome.heartbeat_ms = 5000;
    } else if (strcmp(name, "welcome_edge") == 0) {
        m->type = WQ_MSG_WELCOME;
        m->welcome.inc = 1;
        m->welcome.hwm = INT64_MAX;
        m->welcome.credit = UINT32_MAX;
        m->welcome.max_batch = 1000;
        m->welcome.heartbeat_ms = 3600000;
    } else if (strcmp(name, "welcome_new") == 0) {
        m->type = WQ_MSG_WELCOME;
        m->welcome.inc = UINT32_MAX;
        m->welcome.hwm = 0;
        m->welcome.credit = 1;
        m->welcome.max_batch = 1;
        m->welcome.heartbeat_ms = 1;
    } else if (strcmp(name, "batch_one") == 0) {
        static const size_t sizes[] = {290};
        m->type = WQ_MSG_BATCH;
        m->batch.inc = INC;
        m->batch.first_seq = 15;
        m->batch.count = 1;
        m->batch.records = c->blobs;
        s_blobs_from_file(c, 1, sizes);
    } else if (strcmp(name, "batch_several") == 0) {
        static const size_t sizes[] = {290, 364, 221, 231};
        m->type = WQ_MSG_BATCH;
        m->batch.inc = INC;
        m->batch.first_seq = 15;
        m->batch.count = 4;
        m->batch.records = c->blobs;
        s_blobs_from_file(c, 4, sizes);
    } else if (strcmp(name, "batch_edge") == 0) {
        static const uint8_t empty_map = 0x80;
        m->type = WQ_MSG_BATCH;
        m->batch.inc = UINT32_MAX;
        m->batch.first_seq = (uint64_t) INT64_MAX - 1;
        m->batch.count = 2;
        m->batch.records = c->blobs;
        c->blobs[0] = (wq_blob_t){NULL, 0};
        c->blobs[1] = (wq_blob_t){&empty_map, 1};
    } else if (strcmp(name, "batch_max") == 0) {
        m->type = WQ_MSG_BATCH;
        m->batch.inc = 1;
        m->batch.first_seq = 1;
        m->batch.count = 1000;
        m->batch.records = c->blobs;
        for (size_t i = 0; i < 1000; i++)
            c->blobs[i] = (wq_blob_t){s_tiny_record, sizeof s_tiny_record};
    } else if (strcmp(name, "ack") == 0) {
        m->type = WQ_MSG_ACK;
        m->ack.inc = INC;
        m->ack.hwm = 18;
    } else if (strcmp(name, "ack_quarantined") == 0) {
        m->type = WQ_MSG_ACK;
        m->ack.inc = INC;
        m->ack.hwm = 20;
        m->ack.count = 2;
        m->ack.quarantined = c->q;
        c->q[0] = (wq_quarantined_t){19, WQ_E_COUNTY,
                                     "county: 县级代码 130999 不在河北省区划表中 (E_COUNTY)"};
        c->q[1] = (wq_quarantined_t){20, WQ_E_CHECKCHAR,
                                     "ent: 统一社会信用代码校验位错误: 91130102MA07L5QK9F\n应为 L"};
    } else if (strcmp(name, "ack_edge") == 0) {
        m->type = WQ_MSG_ACK;
        m->ack.inc = 1;
        m->ack.hwm = INT64_MAX;
        m->ack.count = 1;
        m->ack.quarantined = c->q;
        c->q[0] = (wq_quarantined_t){INT64_MAX, UINT32_MAX, ""};
    } else if (strcmp(name, "error_gap") == 0) {
        m->type = WQ_MSG_ERROR;
        m->error.code = WQ_E_GAP;
        m->error.expected_seq = 15;
        m->error.text = "batch starts at seq 20, expected 15";
    } else if (strcmp(name, "error_auth") == 0) {
        m->type = WQ_MSG_ERROR;
        m->error.code = WQ_E_AUTH;
        m->error.text = "";
    } else if (strcmp(name, "error_long") == 0) {
        static char text[1025];
        m->type = WQ_MSG_ERROR;
        m->error.code = WQ_E_STATE;
        strcpy(text, "第一行\n");
        for (int i = 0; i < 338; i++)
            strcat(text, "错");
        assert_int_equal(strlen(text), 1024);
        m->error.text = text;
    } else if (strcmp(name, "ping") == 0) {
        m->type = WQ_MSG_PING;
        m->ping.inc = INC;
        m->ping.last_seq = 18;
        m->ping.queued = 0;
    } else if (strcmp(name, "ping_edge") == 0) {
        m->type = WQ_MSG_PING;
        m->ping.inc = UINT32_MAX;
        m->ping.last_seq = INT64_MAX;
        m->ping.queued = UINT64_MAX;
    } else if (strcmp(name, "pong") == 0) {
        m->type = WQ_MSG_PONG;
        m->pong.inc = INC;
        m->pong.hwm = 18;
    } else if (strcmp(name, "pong_zero") == 0) {
        m->type = WQ_MSG_PONG;
        m->pong.inc = 1;
        m->pong.hwm = 0;
    } else if (strcmp(name, "query_summary") == 0) {
        /* deliberately unsorted: the encoder sorts */
        m->type = WQ_MSG_QUERY;
        m->query.request_id = 7;
        m->query.name = "summary";
        m->query.count = 5;
        m->query.params = c->p;
        c->p[0] = (wq_param_t){"to", "2026-11"};
        c->p[1] = (wq_param_t){"level", "city"};
        c->p[2] = (wq_param_t){"from", "2026-01"};
        c->p[3] = (wq_param_t){"asof", "2026-11-29"};
        c->p[4] = (wq_param_t){"area", "130100"};
    } else if (strcmp(name, "query_empty") == 0) {
        m->type = WQ_MSG_QUERY;
        m->query.request_id = UINT64_MAX;
        m->query.name = "agents";
    } else if (strcmp(name, "query_enterprise") == 0) {
        m->type = WQ_MSG_QUERY;
        m->query.request_id = 0;
        m->query.name = "enterprise";
        m->query.count = 1;
        m->query.params = c->p;
        c->p[0] = (wq_param_t){"code", ENT};
    } else if (strcmp(name, "query_chinese") == 0) {
        m->type = WQ_MSG_QUERY;
        m->query.request_id = 300;
        m->query.name = "quarantine";
        m->query.count = 3;
        m->query.params = c->p;
        c->p[0] = (wq_param_t){"备注", "中文参数值"};
        c->p[1] = (wq_param_t){"area", "130000"};
        c->p[2] = (wq_param_t){"agent", "130102-01"};
    } else if (strcmp(name, "result") == 0) {
        static const char *cols[] = {"area", "name", "enterprises", "note"};
        m->type = WQ_MSG_RESULT;
        m->result.request_id = 7;
        m->result.text = "";
        s_table(c, 4, cols);
        size_t r = s_row(c);
        wq_table_set_str(m->result.table, r, 0, "130102");
        wq_table_set_str(m->result.table, r, 1, "长安区");
        wq_table_set_int(m->result.table, r, 2, 12);
        r = s_row(c);
        wq_table_set_str(m->result.table, r, 0, "130104");
        wq_table_set_str(m->result.table, r, 1, "桥西区");
        wq_table_set_int(m->result.table, r, 2, 0);
        wq_table_set_str(m->result.table, r, 3, "无\n多行");
        r = s_row(c);
        wq_table_set_str(m->result.table, r, 0, "130100");
        wq_table_set_str(m->result.table, r, 1, "石家庄市");
        wq_table_set_int(m->result.table, r, 2, -1);
        wq_table_set_str(m->result.table, r, 3, "");
    } else if (strcmp(name, "result_ints") == 0) {
        static const char *cols[] = {"v"};
        static const int64_t v[] = {0,
                                    127,
                                    128,
                                    255,
                                    256,
                                    65535,
                                    65536,
                                    4294967295LL,
                                    4294967296LL,
                                    INT64_MAX,
                                    -1,
                                    -32,
                                    -33,
                                    -128,
                                    -129,
                                    -32768,
                                    -32769,
                                    -2147483648LL,
                                    -2147483649LL,
                                    INT64_MIN};
        m->type = WQ_MSG_RESULT;
        m->result.request_id = 1;
        s_table(c, 1, cols);
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            wq_table_set_int(m->result.table, s_row(c), 0, v[i]);
    } else if (strcmp(name, "result_empty") == 0) {
        static const char *cols[] = {"agent", "hwm"};
        m->type = WQ_MSG_RESULT;
        m->result.request_id = 8;
        m->result.text = "";
        s_table(c, 2, cols);
    } else if (strcmp(name, "result_error") == 0) {
        m->type = WQ_MSG_RESULT;
        m->result.request_id = 9;
        m->result.status = WQ_E_NOTFOUND;
        m->result.text = "no enterprise " ENT;
    } else if (strcmp(name, "result_nocols") == 0) {
        m->type = WQ_MSG_RESULT;
        m->result.request_id = UINT64_MAX;
        m->result.text = "nothing to show";
        s_table(c, 0, NULL);
    } else if (strcmp(name, "query_paged") == 0) {
        m->type = WQ_MSG_QUERY;
        m->query.request_id = 11;
        m->query.name = "overdue";
        m->query.count = 4;
        m->query.params = c->p;
        c->p[0] = (wq_param_t){"limit", "2"};
        c->p[1] = (wq_param_t){"cursor", "r2"};
        c->p[2] = (wq_param_t){"asof", "2026-11-29"};
        c->p[3] = (wq_param_t){"area", "130000"};
    } else if (strcmp(name, "result_page") == 0) {
        static const char *cols[] = {"problem", "days_overdue"};
        m->type = WQ_MSG_RESULT;
        m->result.request_id = 11;
        m->result.text = "";
        m->result.next = "r4";
        s_table(c, 2, cols);
        size_t r = s_row(c);
        wq_table_set_str(m->result.table, r, 0, "130102-01/9f86d081/3");
        wq_table_set_int(m->result.table, r, 1, 40);
        r = s_row(c);
        wq_table_set_str(m->result.table, r, 0, "130102-01/9f86d081/9");
        wq_table_set_int(m->result.table, r, 1, 12);
    } else if (strcmp(name, "result_last_page") == 0) {
        static const char *cols[] = {"problem"};
        m->type = WQ_MSG_RESULT;
        m->result.request_id = 12;
        m->result.text = "";
        m->result.next = "";
        s_table(c, 1, cols);
    } else if (strcmp(name, "result_page_error") == 0) {
        m->type = WQ_MSG_RESULT;
        m->result.request_id = 13;
        m->result.status = WQ_E_FORMAT;
        m->result.text = "limit: 0 is not 1..100000";
        m->result.next = "";
    } else {
        fail_msg("vector %s.bin has no expected values in test_msg.c", name);
    }
}

static void
s_unbuild(s_case_t *c)
{
    if (c->m.type == WQ_MSG_RESULT)
        wq_table_destroy(&c->m.result.table);
}

static const char *s_good[] = {
    "ack",           "ack_edge",      "ack_quarantined", "batch_edge",    "batch_max",
    "batch_one",     "batch_several", "error_auth",      "error_gap",     "error_long",
    "hello",         "hello_edge",    "hello_min",       "ping",          "ping_edge",
    "pong",          "pong_zero",     "query_chinese",   "query_empty",   "query_enterprise",
    "query_summary", "result",        "result_empty",    "result_error",  "result_ints",
    "result_nocols", "welcome",       "welcome_edge",    "welcome_new",     "query_paged",
    "result_page",   "result_last_page", "result_page_error",
};
#define S_NGOOD (sizeof s_good / sizeof s_good[0])

static const char *
s_nz(const char *s)
{
    return s ? s : "";
}

/*  Deep comparison of a decoded message with the expected one. */
static void
s_assert_equal(const wq_msg_t *got, const wq_msg_t *want)
{
    assert_int_equal(got->type, want->type);
    switch (want->type) {
    case WQ_MSG_HELLO:
        assert_string_equal(got->hello.agent, s_nz(want->hello.agent));
        assert_int_equal(got->hello.inc, want->hello.inc);
        assert_string_equal(got->hello.software, s_nz(want->hello.software));
        assert_true(got->hello.last_seq == want->hello.last_seq);
        assert_true(got->hello.queued == want->hello.queued);
        break;
    case WQ_MSG_WELCOME:
        assert_int_equal(got->welcome.inc, want->welcome.inc);
        assert_true(got->welcome.hwm == want->welcome.hwm);
        assert_int_equal(got->welcome.credit, want->welcome.credit);
        assert_int_equal(got->welcome.max_batch, want->welcome.max_batch);
        assert_int_equal(got->welcome.heartbeat_ms, want->welcome.heartbeat_ms);
        break;
    case WQ_MSG_BATCH:
        assert_int_equal(got->batch.inc, want->batch.inc);
        assert_true(got->batch.first_seq == want->batch.first_seq);
        assert_int_equal(got->batch.count, want->batch.count);
        for (size_t i = 0; i < want->batch.count; i++) {
            assert_int_equal(got->batch.records[i].size, want->batch.records[i].size);
            if (want->batch.records[i].size)
                assert_memory_equal(got->batch.records[i].data, want->batch.records[i].data,
                                    want->batch.records[i].size);
        }
        break;
    case WQ_MSG_ACK:
        assert_int_equal(got->ack.inc, want->ack.inc);
        assert_true(got->ack.hwm == want->ack.hwm);
        assert_int_equal(got->ack.count, want->ack.count);
        for (size_t i = 0; i < want->ack.count; i++) {
            assert_true(got->ack.quarantined[i].seq == want->ack.quarantined[i].seq);
            assert_int_equal(got->ack.quarantined[i].code, want->ack.quarantined[i].code);
            assert_string_equal(got->ack.quarantined[i].reason, want->ack.quarantined[i].reason);
        }
        break;
    case WQ_MSG_ERROR:
        assert_int_equal(got->error.code, want->error.code);
        assert_true(got->error.expected_seq == want->error.expected_seq);
        assert_string_equal(got->error.text, s_nz(want->error.text));
        break;
    case WQ_MSG_PING:
        assert_int_equal(got->ping.inc, want->ping.inc);
        assert_true(got->ping.last_seq == want->ping.last_seq);
        assert_true(got->ping.queued == want->ping.queued);
        break;
    case WQ_MSG_PONG:
        assert_int_equal(got->pong.inc, want->pong.inc);
        assert_true(got->pong.hwm == want->pong.hwm);
        break;
    case WQ_MSG_QUERY:
        assert_true(got->query.request_id == want->query.request_id);
        assert_string_equal(got->query.name, want->query.name);
        assert_int_equal(got->query.count, want->query.count);
        for (size_t i = 0; i < want->query.count; i++) {
            assert_string_equal(wq_msg_param(got, want->query.params[i].key),
                                want->query.params[i].value);
            if (i > 0)   /* decoded params are sorted bytewise */
                assert_true(strcmp(got->query.params[i - 1].key, got->query.params[i].key) < 0);
        }
        break;
    case WQ_MSG_ZBATCH:
        fail_msg("a decoded message is never a ZBATCH (it decodes as a BATCH)");
        break;
    case WQ_MSG_RESULT: {
        assert_true(got->result.request_id == want->result.request_id);
        assert_int_equal(got->result.status, want->result.status);
        assert_string_equal(got->result.text, s_nz(want->result.text));
        if (want->result.next)
            assert_string_equal(got->result.next, want->result.next);
        else
            assert_null(got->result.next);
        const wq_table_t *g = got->result.table, *w = want->result.table;
        if (!w) {
            assert_null(g);
            break;
        }
        assert_non_null(g);
        assert_int_equal(wq_table_ncols(g), wq_table_ncols(w));
        assert_int_equal(wq_table_nrows(g), wq_table_nrows(w));
        for (size_t c = 0; c < wq_table_ncols(w); c++)
            assert_string_equal(wq_table_col(g, c), wq_table_col(w, c));
        for (size_t r = 0; r < wq_table_nrows(w); r++)
            for (size_t c = 0; c < wq_table_ncols(w); c++) {
                const wq_cell_t *gc = wq_table_cell(g, r, c), *wc = wq_table_cell(w, r, c);
                assert_int_equal(gc->kind, wc->kind);
                if (wc->kind == WQ_CELL_INT)
                    assert_true(gc->i == wc->i);
                if (wc->kind == WQ_CELL_STR)
                    assert_string_equal(gc->s, wc->s);
            }
        break;
    }
    }
}

/*  ---- tests: golden vectors ---------------------------------------------- */

/*  Every .bin in tests/vectors is in s_good, and the reverse. */
static void
test_vector_list_complete(void **state)
{
    (void) state;
    char *dir = s_vec_path("", "");
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".bin") != 0)
            continue;
        bool known = false;
        for (size_t i = 0; i < S_NGOOD; i++)
            if (strlen(s_good[i]) == len - 4 && strncmp(s_good[i], e->d_name, len - 4) == 0)
                known = true;
        if (!known)
            fail_msg("vector %s is not checked by test_msg.c", e->d_name);
        found++;
    }
    closedir(d);
    free(dir);
    assert_int_equal(found, S_NGOOD);
}

static void
test_golden_roundtrip(void **state)
{
    (void) state;
    for (size_t v = 0; v < S_NGOOD; v++) {
        char *fname = ts_strf("%s.bin", s_good[v]);
        s_case_t *c = calloc(1, sizeof *c);
        assert_non_null(c);
        c->file = s_vector(fname, &c->file_size);
        s_build(s_good[v], c);
        wq_err_t err;
        uint8_t *buf = NULL;
        size_t size = 0;

        /* C values -> bytes */
        int rc = wq_msg_encode(&c->m, &buf, &size, &err);
        if (rc != WQ_OK)
            fail_msg("%s: encode failed: %s: %s", fname, err.field, err.text);
        s_assert_bytes(buf, size, c->file, c->file_size, fname);
        free(buf);

        /* bytes -> C values -> bytes */
        wq_msg_t *d = NULL;
        rc = wq_msg_decode(c->file, c->file_size, &d, &err);
        if (rc != WQ_OK)
            fail_msg("%s: decode failed: %s: %s", fname, err.field, err.text);
        s_assert_equal(d, &c->m);
        assert_int_equal(wq_msg_encode(d, &buf, &size, &err), WQ_OK);
        s_assert_bytes(buf, size, c->file, c->file_size, fname);
        free(buf);
        wq_msg_destroy(&d);
        assert_null(d);

        s_unbuild(c);
        free(c->file);
        free(c);
        free(fname);
    }
}

static void
test_golden_prefixes_truncated(void **state)
{
    (void) state;
    for (size_t v = 0; v < S_NGOOD; v++) {
        char *fname = ts_strf("%s.bin", s_good[v]);
        size_t size = 0;
        uint8_t *file = s_vector(fname, &size);
        for (size_t n = 0; n < size; n++) {
            /* a heap copy of exactly n bytes, so ASan sees any over-read */
            uint8_t *prefix = malloc(n ? n : 1);
            assert_non_null(prefix);
            memcpy(prefix, file, n);
            wq_msg_t *d = (wq_msg_t *) 1;
            wq_err_t err;
            int rc = wq_msg_decode(prefix, n, &d, &err);
            if (rc != WQ_E_TRUNCATED)
                fail_msg("%s: prefix of %zu/%zu bytes gave %s (%s: %s)", fname, n, size,
                         wq_errname(rc), err.field, err.text);
            assert_null(d);
            assert_int_equal(err.code, WQ_E_TRUNCATED);
            assert_true(err.field[0] != '\0');
            free(prefix);
        }
        free(file);
        free(fname);
    }
}

/*  ---- tests: malformed vectors ------------------------------------------- */

static int
s_code_by_name(const char *name)
{
    for (int code = 0; code < 64; code++)
        if (strcmp(wq_errname(code), name) == 0)
            return code;
    fail_msg("unknown error name %s in bad/EXPECTED", name);
    return -1;
}

static void
test_bad_vectors(void **state)
{
    (void) state;
    char *manifest = s_vec_path("bad/", "EXPECTED");
    char *text = ts_read_file(manifest);
    assert_non_null(text);
    size_t checked = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] == '\0')
            continue;
        char file[128], code_name[32], field[64];
        if (sscanf(line, "%127s %31s %63s", file, code_name, field) != 3)
            fail_msg("bad line in %s: %s", manifest, line);
        int want = s_code_by_name(code_name);
        char *path = s_vec_path("bad/", file);
        size_t size = 0;
        uint8_t *buf = s_read_bin(path, &size);
        wq_msg_t *d = (wq_msg_t *) 1;
        wq_err_t err;
        int rc = wq_msg_decode(buf, size, &d, &err);
        if (rc != want || strcmp(err.field, strcmp(field, "-") == 0 ? "" : field) != 0)
            fail_msg("bad/%s: got %s at \"%s\" (%s), expected %s at \"%s\"", file, wq_errname(rc),
                     err.field, err.text, code_name, field);
        assert_int_equal(err.code, want);
        assert_true(err.text[0] != '\0');
        assert_null(d);
        free(buf);
        free(path);
        checked++;
    }
    free(text);
    free(manifest);

    /* every .bin file in bad/ is listed */
    char *dir = s_vec_path("bad/", "");
    DIR *dd = opendir(dir);
    assert_non_null(dd);
    size_t files = 0;
    struct dirent *e;
    while ((e = readdir(dd)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".bin") == 0)
            files++;
    }
    closedir(dd);
    free(dir);
    assert_int_equal(checked, files);
    assert_int_equal(checked, 94);
}

static void
test_oversize_frame(void **state)
{
    (void) state;
    size_t size = 0;
    uint8_t *hello = s_vector("hello.bin", &size);
    size_t big = WQ_MSG_MAX_BYTES + 1;
    uint8_t *buf = calloc(1, big);
    assert_non_null(buf);
    memcpy(buf, hello, size);   /* a valid HELLO followed by zeros: size is checked first */
    wq_msg_t *d = NULL;
    wq_err_t err;
    assert_int_equal(wq_msg_decode(buf, big, &d, &err), WQ_E_RANGE);
    assert_string_equal(err.field, "message");
    assert_null(d);
    /* exactly the limit: size passes, then the trailing zeros are refused */
    assert_int_equal(wq_msg_decode(buf, WQ_MSG_MAX_BYTES, &d, &err), WQ_E_TRAILING);
    assert_null(d);
    free(buf);
    free(hello);
}

/*  ---- tests: tolerated non-canonical input ------------------------------- */

/*  Decoders accept any integer format and any param order; the decoded
    message re-encodes in the canonical form. */
static void
test_noncanonical_accepted(void **state)
{
    (void) state;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    /* QUERY summary, version as uint64, type as int8, request_id as int16,
       params in reverse order, a key as str16 */
    static const uint8_t head[] = {0x95, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1, 0xd0, 8, 0xd1, 0, 7};
    assert_int_equal(msgpack_sbuffer_write(&sb, (const char *) head, sizeof head), 0);
    assert_int_equal(msgpack_pack_str_with_body(&pk, "summary", 7), 0);
    assert_int_equal(msgpack_pack_map(&pk, 5), 0);
    const char *kv[] = {"to", "2026-11", "level", "city", "from", "2026-01", "asof", "2026-11-29"};
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(msgpack_pack_str_with_body(&pk, kv[i], strlen(kv[i])), 0);
    static const uint8_t key16[] = {0xda, 0, 4, 'a', 'r', 'e', 'a'};
    assert_int_equal(msgpack_sbuffer_write(&sb, (const char *) key16, sizeof key16), 0);
    assert_int_equal(msgpack_pack_str_with_body(&pk, "130100", 6), 0);

    wq_msg_t *d = NULL;
    wq_err_t err;
    assert_int_equal(wq_msg_decode((const uint8_t *) sb.data, sb.size, &d, &err), WQ_OK);
    assert_string_equal(wq_msg_param(d, "area"), "130100");
    assert_string_equal(wq_msg_param(d, "to"), "2026-11");
    assert_null(wq_msg_param(d, "nope"));
    assert_string_equal(d->query.params[0].key, "area");
    uint8_t *buf = NULL;
    size_t size = 0, gsize = 0;
    assert_int_equal(wq_msg_encode(d, &buf, &size, &err), WQ_OK);
    uint8_t *golden = s_vector("query_summary.bin", &gsize);
    s_assert_bytes(buf, size, golden, gsize, "canonical query_summary");
    free(golden);
    free(buf);
    wq_msg_destroy(&d);
    msgpack_sbuffer_destroy(&sb);
}

/*  ---- tests: fuzz -------------------------------------------------------- */

static uint64_t s_rng = 0x5eed2026c0ffee11ull;

static uint64_t
s_rand(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static const uint8_t s_interesting[] = {0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf,
                                        0xc0, 0xc1, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xcc, 0xcd,
                                        0xce, 0xcf, 0xd0, 0xd3, 0xd9, 0xda, 0xdb, 0xdc, 0xdd,
                                        0xde, 0xdf, 0xe0, 0xff, 0xed, 0xf4, 0xf5};

/*  One random mutation of buf (size *n, capacity cap). */
static void
s_mutate(uint8_t *buf, size_t *n, size_t cap)
{
    size_t size = *n;
    size_t pos = size ? s_rand() % size : 0;
    switch (s_rand() % 7) {
    case 0: /* flip a bit */
        if (size)
            buf[pos] ^= (uint8_t) (1u << (s_rand() % 8));
        break;
    case 1: /* interesting byte */
        if (size)
            buf[pos] = s_interesting[s_rand() % sizeof s_interesting];
        break;
    case 2: /* random byte */
        if (size)
            buf[pos] = (uint8_t) s_rand();
        break;
    case 3: /* delete a byte */
        if (size) {
            memmove(buf + pos, buf + pos + 1, size - pos - 1);
            *n = size - 1;
        }
        break;
    case 4: /* insert a byte */
        if (size < cap) {
            memmove(buf + pos + 1, buf + pos, size - pos);
            buf[pos] = s_interesting[s_rand() % sizeof s_interesting];
            *n = size + 1;
        }
        break;
    case 5: /* truncate */
        *n = pos;
        break;
    default: /* 0xff run: huge lengths and counts */
        for (size_t k = pos; k < size && k < pos + 4; k++)
            buf[k] = 0xff;
        break;
    }
}

static void
test_fuzz(void **state)
{
    (void) state;
    const size_t iterations_per_vector = 10000;
    size_t accepted = 0, rejected = 0;
    for (size_t v = 0; v < S_NGOOD; v++) {
        char *fname = ts_strf("%s.bin", s_good[v]);
        size_t size = 0;
        uint8_t *file = s_vector(fname, &size);
        size_t cap = size + 16;
        uint8_t *work = malloc(cap);
        assert_non_null(work);
        for (size_t it = 0; it < iterations_per_vector; it++) {
            size_t n = size;
            memcpy(work, file, size);
            int rounds = 1 + (int) (s_rand() % 4);
            for (int k = 0; k < rounds; k++)
                s_mutate(work, &n, cap);
            /* exact-size heap copy so that ASan catches any over-read */
            uint8_t *input = malloc(n ? n : 1);
            assert_non_null(input);
            memcpy(input, work, n);
            wq_msg_t *d = NULL;
            wq_err_t err;
            int rc = wq_msg_decode(input, n, &d, &err);
            if (rc == WQ_OK) {
                accepted++;
                uint8_t *out1 = NULL, *out2 = NULL;
                size_t n1 = 0, n2 = 0;
                wq_msg_t *d2 = NULL;
                if (wq_msg_encode(d, &out1, &n1, &err) != WQ_OK)
                    fail_msg("%s iteration %zu: decoded but cannot re-encode: %s: %s", fname, it,
                             err.field, err.text);
                assert_int_equal(wq_msg_decode(out1, n1, &d2, &err), WQ_OK);
                assert_int_equal(wq_msg_encode(d2, &out2, &n2, &err), WQ_OK);
                s_assert_bytes(out2, n2, out1, n1, "re-encoding is stable");
                free(out1);
                free(out2);
                wq_msg_destroy(&d2);
                wq_msg_destroy(&d);
            } else {
                rejected++;
                assert_null(d);
                assert_int_equal(err.code, rc);
                assert_true(rc == WQ_E_TRUNCATED || rc == WQ_E_TYPE || rc == WQ_E_RANGE
                            || rc == WQ_E_VERSION || rc == WQ_E_UNKNOWN || rc == WQ_E_UTF8
                            || rc == WQ_E_TRAILING || rc == WQ_E_DUPFIELD);
                assert_true(err.field[0] != '\0');
            }
            free(input);
        }
        free(work);
        free(file);
        free(fname);
    }
    print_message("fuzz: %zu mutated frames, %zu accepted and re-encoded, %zu rejected\n",
                  accepted + rejected, accepted, rejected);
    assert_int_equal(accepted + rejected, S_NGOOD * iterations_per_vector);
    /* the mutations must exercise both paths */
    assert_true(accepted > 0);
    assert_true(rejected > 0);
}

/*  ---- tests: the encoder refuses what a decoder would reject -------------- */

typedef struct {
    const char *what;
    void (*spoil)(s_case_t *c);
    const char *base;   /* good vector to start from */
    int code;
    const char *field;
} s_refusal_t;

static void sp_hello_inc0(s_case_t *c) { c->m.hello.inc = 0; }
static void sp_hello_agent_empty(s_case_t *c) { c->m.hello.agent = ""; }
static void sp_hello_agent_null(s_case_t *c) { c->m.hello.agent = NULL; }
static void sp_hello_agent_long(s_case_t *c) { c->m.hello.agent = "123456789012345678901234567890123"; }
static void sp_hello_agent_utf8(s_case_t *c) { c->m.hello.agent = "13\xc3\x28"; }
static void sp_hello_software_long(s_case_t *c)
{
    static char text[66];
    memset(text, 'w', 65);
    c->m.hello.software = text;
}
static void sp_hello_last_seq(s_case_t *c) { c->m.hello.last_seq = (uint64_t) INT64_MAX + 1; }
static void sp_type_unknown(s_case_t *c) { c->m.type = (wq_msg_type_t) 42; }
static void sp_type_zero(s_case_t *c) { c->m.type = (wq_msg_type_t) 0; }
static void sp_welcome_credit0(s_case_t *c) { c->m.welcome.credit = 0; }
static void sp_welcome_batch(s_case_t *c) { c->m.welcome.max_batch = WQ_BATCH_MAX_RECORDS + 1; }
static void sp_welcome_hb(s_case_t *c) { c->m.welcome.heartbeat_ms = 3600001; }
static void sp_batch_empty(s_case_t *c) { c->m.batch.count = 0; }
static void sp_batch_1001(s_case_t *c) { c->m.batch.count = 1001; }
static void sp_batch_seq0(s_case_t *c) { c->m.batch.first_seq = 0; }
static void sp_batch_overflow(s_case_t *c) { c->m.batch.first_seq = INT64_MAX; }
static void sp_batch_big_record(s_case_t *c) { c->blobs[7].size = WQ_RECORD_MAX_BYTES + 1; }
static void sp_ack_code0(s_case_t *c) { c->q[1].code = 0; }
static void sp_ack_reason_ctl(s_case_t *c) { c->q[0].reason = "bad\x01reason"; }
static void sp_ack_count(s_case_t *c) { c->m.ack.count = WQ_BATCH_MAX_RECORDS + 1; }
static void sp_error_code0(s_case_t *c) { c->m.error.code = 0; }
static void sp_error_seq(s_case_t *c) { c->m.error.expected_seq = UINT64_MAX; }
static void sp_query_dup(s_case_t *c) { c->p[3].key = "level"; }
static void sp_query_name(s_case_t *c) { c->m.query.name = NULL; }
static void sp_query_value_nl(s_case_t *c) { c->p[2].value = "2026\n01"; }
static void sp_query_many(s_case_t *c) { c->m.query.count = WQ_QUERY_MAX_PARAMS + 1; }
static void sp_result_fail_table(s_case_t *c) { c->m.result.status = WQ_E_NOTFOUND; }
static void sp_result_col_empty(s_case_t *c)
{
    static const char *cols[] = {"a", ""};
    wq_table_destroy(&c->m.result.table);
    s_table(c, 2, cols);
}
static void sp_result_cell_utf8(s_case_t *c)
{
    wq_table_set_str(c->m.result.table, 1, 3, "\xe9\x95");
}
static void sp_result_text_long(s_case_t *c)
{
    static char text[WQ_TEXT_MAX + 2];
    memset(text, 'x', WQ_TEXT_MAX + 1);
    c->m.result.text = text;
}
static void sp_result_too_big(s_case_t *c)
{
    /* 80 rows of one 64 KiB cell: more than one frame */
    static const char *cols[] = {"big"};
    static char cell[WQ_RECORD_MAX_BYTES + 1];
    memset(cell, 'y', WQ_RECORD_MAX_BYTES);
    wq_table_destroy(&c->m.result.table);
    s_table(c, 1, cols);
    for (int i = 0; i < 80; i++)
        wq_table_set_str(c->m.result.table, s_row(c), 0, cell);
}

static const s_refusal_t s_refusals[] = {
    {"inc 0", sp_hello_inc0, "hello", WQ_E_RANGE, "hello.inc"},
    {"empty agent", sp_hello_agent_empty, "hello", WQ_E_RANGE, "hello.agent"},
    {"NULL agent", sp_hello_agent_null, "hello", WQ_E_RANGE, "hello.agent"},
    {"33-byte agent", sp_hello_agent_long, "hello", WQ_E_RANGE, "hello.agent"},
    {"bad UTF-8 agent", sp_hello_agent_utf8, "hello", WQ_E_UTF8, "hello.agent"},
    {"65-byte software", sp_hello_software_long, "hello", WQ_E_RANGE, "hello.software"},
    {"last_seq 2^63", sp_hello_last_seq, "hello", WQ_E_RANGE, "hello.last_seq"},
    {"type 42", sp_type_unknown, "ping", WQ_E_UNKNOWN, "type"},
    {"type 0", sp_type_zero, "ping", WQ_E_UNKNOWN, "type"},
    {"credit 0", sp_welcome_credit0, "welcome", WQ_E_RANGE, "welcome.credit"},
    {"max_batch 1001", sp_welcome_batch, "welcome", WQ_E_RANGE, "welcome.max_batch"},
    {"heartbeat too long", sp_welcome_hb, "welcome", WQ_E_RANGE, "welcome.heartbeat_ms"},
    {"empty batch", sp_batch_empty, "batch_one", WQ_E_RANGE, "batch.records"},
    {"1001 records", sp_batch_1001, "batch_max", WQ_E_RANGE, "batch.records"},
    {"first_seq 0", sp_batch_seq0, "batch_one", WQ_E_RANGE, "batch.first_seq"},
    {"seq overflow", sp_batch_overflow, "batch_several", WQ_E_RANGE, "batch.first_seq"},
    {"record too big", sp_batch_big_record, "batch_max", WQ_E_RANGE, "batch.records[7]"},
    {"quarantine code 0", sp_ack_code0, "ack_quarantined", WQ_E_RANGE, "ack.quarantined[1].code"},
    {"control char in reason", sp_ack_reason_ctl, "ack_quarantined", WQ_E_UTF8,
     "ack.quarantined[0].reason"},
    {"1001 quarantined", sp_ack_count, "ack_quarantined", WQ_E_RANGE, "ack.quarantined"},
    {"error code 0", sp_error_code0, "error_gap", WQ_E_RANGE, "error.code"},
    {"expected_seq too big", sp_error_seq, "error_gap", WQ_E_RANGE, "error.expected_seq"},
    {"duplicate param", sp_query_dup, "query_summary", WQ_E_DUPFIELD, "query.params[3].key"},
    {"no query name", sp_query_name, "query_summary", WQ_E_RANGE, "query.name"},
    {"newline in value", sp_query_value_nl, "query_summary", WQ_E_UTF8, "query.params[2].value"},
    {"33 params", sp_query_many, "query_summary", WQ_E_RANGE, "query.params"},
    {"failed result with table", sp_result_fail_table, "result", WQ_E_RANGE, "result.table"},
    {"empty column name", sp_result_col_empty, "result", WQ_E_RANGE, "result.columns[1]"},
    {"bad UTF-8 cell", sp_result_cell_utf8, "result", WQ_E_UTF8, "result.rows[1][3]"},
    {"1025-byte text", sp_result_text_long, "result", WQ_E_RANGE, "result.text"},
    {"frame too big", sp_result_too_big, "result", WQ_E_RANGE, "result.rows[63][0]"},
};

static void
test_encoder_refuses(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof s_refusals / sizeof s_refusals[0]; i++) {
        const s_refusal_t *r = &s_refusals[i];
        char *fname = ts_strf("%s.bin", r->base);
        s_case_t *c = calloc(1, sizeof *c);
        assert_non_null(c);
        c->file = s_vector(fname, &c->file_size);
        s_build(r->base, c);
        r->spoil(c);
        uint8_t *buf = (uint8_t *) 1;
        size_t size = 1;
        wq_err_t err;
        int rc = wq_msg_encode(&c->m, &buf, &size, &err);
        if (rc != r->code || strcmp(err.field, r->field) != 0)
            fail_msg("%s: encode gave %s at \"%s\" (%s), expected %s at \"%s\"", r->what,
                     wq_errname(rc), err.field, err.text, wq_errname(r->code), r->field);
        assert_null(buf);
        assert_int_equal(size, 0);
        s_unbuild(c);
        free(c->file);
        free(c);
        free(fname);
    }
}

/*  The records inside the BATCH vectors are what PROTOCOL.md section
    "Records" says: canonical record maps that common/record.c decodes,
    validates and re-encodes to the same bytes. */
static void
test_batch_records_are_records(void **state)
{
    (void) state;
    static const char *names[] = {"batch_one.bin", "batch_several.bin"};
    static const char *types[] = {"enterprise", "visit", "problem", "plan"};
    size_t checked = 0;
    for (size_t v = 0; v < 2; v++) {
        size_t size = 0;
        uint8_t *file = s_vector(names[v], &size);
        wq_msg_t *d = NULL;
        wq_err_t err;
        assert_int_equal(wq_msg_decode(file, size, &d, &err), WQ_OK);
        for (size_t i = 0; i < d->batch.count; i++) {
            wq_record_t *r = NULL;
            const wq_blob_t *b = &d->batch.records[i];
            if (wq_record_decode(b->data, b->size, &r, &err) != WQ_OK)
                fail_msg("%s record %zu: %s: %s", names[v], i, err.field, err.text);
            if (wq_record_validate(r, &err) != WQ_OK)
                fail_msg("%s record %zu invalid: %s: %s", names[v], i, err.field, err.text);
            assert_string_equal(wq_rec_type_name(r->type), types[i]);
            assert_true(r->seq == d->batch.first_seq + i);
            assert_int_equal(r->inc, d->batch.inc);
            uint8_t *again = NULL;
            size_t again_size = 0;
            assert_int_equal(wq_record_encode(r, &again, &again_size), WQ_OK);
            s_assert_bytes(again, again_size, b->data, b->size, "record re-encoded");
            free(again);
            wq_record_destroy(&r);
            checked++;
        }
        wq_msg_destroy(&d);
        free(file);
    }
    assert_int_equal(checked, 5);
}

static void
test_names_and_nulls(void **state)
{
    (void) state;
    assert_string_equal(wq_msg_type_name(WQ_MSG_HELLO), "HELLO");
    assert_string_equal(wq_msg_type_name(WQ_MSG_RESULT), "RESULT");
    assert_string_equal(wq_msg_type_name(0), "?");
    assert_string_equal(wq_msg_type_name(WQ_MSG_ZBATCH), "ZBATCH");
    assert_string_equal(wq_msg_type_name(11), "?");
    assert_string_equal(wq_msg_type_name(-1), "?");
    assert_null(wq_msg_param(NULL, "area"));
    wq_msg_t *m = NULL;
    wq_msg_destroy(&m);
    wq_msg_destroy(NULL);
    /* a PING is not a QUERY: no params */
    size_t size = 0;
    uint8_t *ping = s_vector("ping.bin", &size);
    wq_err_t err;
    assert_int_equal(wq_msg_decode(ping, size, &m, &err), WQ_OK);
    assert_int_equal(err.code, WQ_OK);
    assert_null(wq_msg_param(m, "area"));
    wq_msg_destroy(&m);
    free(ping);
    /* decode with err == NULL still reports the code */
    assert_int_equal(wq_msg_decode((const uint8_t *) "\x91\x02", 2, &m, NULL), WQ_E_VERSION);
    assert_null(m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_list_complete),
        cmocka_unit_test(test_golden_roundtrip),
        cmocka_unit_test(test_golden_prefixes_truncated),
        cmocka_unit_test(test_bad_vectors),
        cmocka_unit_test(test_oversize_frame),
        cmocka_unit_test(test_noncanonical_accepted),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_encoder_refuses),
        cmocka_unit_test(test_batch_records_are_records),
        cmocka_unit_test(test_names_and_nulls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
