/*  =========================================================================
    test_zbatch - compressed batches (ZBATCH) and their negotiation

    Against the vectors in tests/vectors/zstd (made by make_vectors.py with
    the zstd command-line tool, independently of libzstd's use here):
      - HELLO and WELCOME with the zstd element round-trip byte for byte;
      - each ZBATCH decodes to a BATCH holding exactly the records of the
        plain vector batch_several.bin (with the dictionary, without, and a
        frame without content size);
      - every file in zstd/bad fails with its code and path (zip bombs,
        declared or streamed, are E_RANGE);
      - every strict prefix of a good one fails;
    and with the codec: BATCH -> ZBATCH -> BATCH keeps the records, for
    each dictionary; a large batch of generated-like records stays within
    the frame; WANQI_PROTO_V1 makes the decoder answer as the version-1
    decoder did (8-element HELLO: E_RANGE; type 10: E_UNKNOWN), while the
    plain v1 vectors still decode.
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

#include "proto/msg.h"
#include "proto/zbatch.h"
#include "tests/support/testsupport.h"

static uint8_t *
s_read(const char *sub, const char *name, size_t *size)
{
    const char *src = getenv("WANQI_SOURCE_DIR");
    if (!src)
        fail_msg("WANQI_SOURCE_DIR is not set (ctest sets it to the source tree)");
    char *path = ts_strf("%s/tests/vectors/%s%s", src, sub, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    uint8_t *buf = malloc(8 * 1024 * 1024);
    assert_non_null(buf);
    *size = fread(buf, 1, 8 * 1024 * 1024, f);
    fclose(f);
    free(path);
    return buf;
}

static wq_msg_t *
s_decode_ok(const uint8_t *buf, size_t size, const char *what)
{
    wq_msg_t *m = NULL;
    wq_err_t err;
    int rc = wq_msg_decode(buf, size, &m, &err);
    if (rc != WQ_OK)
        fail_msg("%s: %s at %s: %s", what, wq_errname(rc), err.field, err.text);
    return m;
}

static void
s_reencode_same(const wq_msg_t *m, const uint8_t *buf, size_t size, const char *what)
{
    uint8_t *out = NULL;
    size_t n = 0;
    wq_err_t err;
    int rc = wq_msg_encode(m, &out, &n, &err);
    if (rc != WQ_OK)
        fail_msg("%s: re-encode: %s", what, err.text);
    if (n != size || memcmp(out, buf, n) != 0)
        fail_msg("%s: re-encoded %zu bytes differ from the vector's %zu", what, n, size);
    free(out);
}

static void
test_negotiation_vectors(void **state)
{
    (void) state;
    size_t n = 0;
    uint8_t *buf = s_read("zstd/", "hello_zstd.bin", &n);
    wq_msg_t *m = s_decode_ok(buf, n, "hello_zstd");
    assert_int_equal(m->type, WQ_MSG_HELLO);
    assert_string_equal(m->hello.software, "wanqi-agent 0.2.0");
    assert_true(m->hello.zstd_offer);
    assert_int_equal(m->hello.nzstd, 2);
    assert_int_equal(m->hello.zstd[0], 1);
    assert_int_equal(m->hello.zstd[1], 0);
    s_reencode_same(m, buf, n, "hello_zstd");
    wq_msg_destroy(&m);
    free(buf);

    buf = s_read("zstd/", "hello_zstd_empty.bin", &n);
    m = s_decode_ok(buf, n, "hello_zstd_empty");
    assert_true(m->hello.zstd_offer);
    assert_int_equal(m->hello.nzstd, 0);
    s_reencode_same(m, buf, n, "hello_zstd_empty");
    wq_msg_destroy(&m);
    free(buf);

    buf = s_read("zstd/", "welcome_zstd.bin", &n);
    m = s_decode_ok(buf, n, "welcome_zstd");
    assert_int_equal(m->type, WQ_MSG_WELCOME);
    assert_int_equal(m->welcome.max_batch, 500);
    assert_true(m->welcome.zstd_answer && m->welcome.zstd_on);
    assert_int_equal(m->welcome.zstd_dict, 1);
    s_reencode_same(m, buf, n, "welcome_zstd");
    wq_msg_destroy(&m);
    free(buf);

    buf = s_read("zstd/", "welcome_zstd_off.bin", &n);
    m = s_decode_ok(buf, n, "welcome_zstd_off");
    assert_true(m->welcome.zstd_answer && !m->welcome.zstd_on);
    s_reencode_same(m, buf, n, "welcome_zstd_off");
    wq_msg_destroy(&m);
    free(buf);

    /* A v1 HELLO decodes without the element, and re-encodes as v1. */
    buf = s_read("", "hello.bin", &n);
    m = s_decode_ok(buf, n, "hello");
    assert_false(m->hello.zstd_offer);
    s_reencode_same(m, buf, n, "hello");
    wq_msg_destroy(&m);
    free(buf);
}

static void
s_assert_same_records(const wq_msg_t *got, const wq_msg_t *want, const char *what)
{
    assert_int_equal(got->type, WQ_MSG_BATCH);
    assert_int_equal(got->batch.inc, want->batch.inc);
    assert_true(got->batch.first_seq == want->batch.first_seq);
    if (got->batch.count != want->batch.count)
        fail_msg("%s: %zu records, expected %zu", what, got->batch.count, want->batch.count);
    for (size_t i = 0; i < want->batch.count; i++) {
        assert_int_equal(got->batch.records[i].size, want->batch.records[i].size);
        if (want->batch.records[i].size)
            assert_memory_equal(got->batch.records[i].data, want->batch.records[i].data,
                                want->batch.records[i].size);
    }
}

static void
test_zbatch_vectors(void **state)
{
    (void) state;
    static const struct {
        const char *file;
        uint32_t dict;
    } cases[] = {{"zbatch_dict.bin", 1}, {"zbatch_nodict.bin", 0}, {"zbatch_unsized.bin", 1}};
    size_t pn = 0;
    uint8_t *plain_buf = s_read("", "batch_several.bin", &pn);
    wq_msg_t *plain = s_decode_ok(plain_buf, pn, "batch_several");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = 0;
        uint8_t *buf = s_read("zstd/", cases[c].file, &n);
        wq_msg_t *m = s_decode_ok(buf, n, cases[c].file);
        s_assert_same_records(m, plain, cases[c].file);
        assert_true(m->batch.zstd);
        assert_int_equal(m->batch.dict, cases[c].dict);
        assert_true(m->batch.zsize > 0 && m->batch.zsize < n);
        wq_msg_destroy(&m);
        /* Every strict prefix fails, and returns nothing. */
        for (size_t k = 0; k < n; k++) {
            wq_err_t err;
            wq_msg_t *d = (wq_msg_t *) 1;
            int rc = wq_msg_decode(buf, k, &d, &err);
            if (rc == WQ_OK)
                fail_msg("%s: prefix of %zu bytes accepted", cases[c].file, k);
            assert_null(d);
        }
        free(buf);
    }
    /* The dictionary earns its place: the same records compress smaller. */
    size_t nd = 0, nn = 0;
    free(s_read("zstd/", "zbatch_dict.bin", &nd));
    free(s_read("zstd/", "zbatch_nodict.bin", &nn));
    assert_true(nd < nn);
    wq_msg_destroy(&plain);
    free(plain_buf);
}

static int
s_code_by_name(const char *name)
{
    for (int c = 0; c < 64; c++)
        if (strcmp(wq_errname(c), name) == 0)
            return c;
    fail_msg("unknown code name %s", name);
    return -1;
}

static void
test_zbatch_bad_vectors(void **state)
{
    (void) state;
    size_t tn = 0;
    char *text = (char *) s_read("zstd/bad/", "EXPECTED", &tn);
    text[tn] = '\0';
    size_t checked = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        char file[128], code_name[32], field[64];
        if (sscanf(line, "%127s %31s %63s", file, code_name, field) != 3)
            fail_msg("bad line in zstd/bad/EXPECTED: %s", line);
        int want = s_code_by_name(code_name);
        size_t n = 0;
        uint8_t *buf = s_read("zstd/bad/", file, &n);
        wq_msg_t *d = (wq_msg_t *) 1;
        wq_err_t err;
        int rc = wq_msg_decode(buf, n, &d, &err);
        if (rc != want || strcmp(err.field, strcmp(field, "-") == 0 ? "" : field) != 0)
            fail_msg("zstd/bad/%s: got %s at \"%s\" (%s), expected %s at \"%s\"", file,
                     wq_errname(rc), err.field, err.text, code_name, field);
        assert_null(d);
        free(buf);
        checked++;
    }
    free(text);
    assert_true(checked >= 17);
}

/*  Records that look like campaign records, different from each other. */
static wq_blob_t *
s_records(size_t n, uint8_t **storage)
{
    wq_blob_t *b = calloc(n, sizeof *b);
    uint8_t *all = malloc(n * 64);
    assert_true(b && all);
    for (size_t i = 0; i < n; i++) {
        uint8_t *r = all + i * 64;
        int len = snprintf((char *) r, 64, "\x83\xa4type\xa5visit\xa3seq%c\xa4" "date%05zu", 0x01,
                           i * 7919 % 100000);
        b[i].data = r;
        b[i].size = (size_t) len;
    }
    *storage = all;
    return b;
}

static void
test_codec_roundtrip(void **state)
{
    (void) state;
    uint32_t ids[WQ_ZSTD_OFFER_MAX];
    size_t nids = wq_zbatch_dicts(ids, WQ_ZSTD_OFFER_MAX);
    assert_true(nids >= 2);
    assert_int_equal(ids[nids - 1], WQ_ZDICT_NONE);
    assert_true(wq_zbatch_has_dict(1));
    assert_false(wq_zbatch_has_dict(77));
    size_t sizes[] = {1, 17, 1000};
    for (size_t s = 0; s < 3; s++) {
        uint8_t *storage = NULL;
        wq_blob_t *recs = s_records(sizes[s], &storage);
        for (size_t d = 0; d < nids; d++) {
            wq_msg_t m = {.type = WQ_MSG_BATCH};
            m.batch.inc = 0x9f86d081u;
            m.batch.first_seq = 42;
            m.batch.count = sizes[s];
            m.batch.records = recs;
            uint8_t *plain = NULL, *z = NULL;
            size_t pn = 0, zn = 0;
            wq_err_t err;
            assert_int_equal(wq_msg_encode(&m, &plain, &pn, &err), WQ_OK);
            m.batch.zstd = true;
            m.batch.dict = ids[d];
            assert_int_equal(wq_msg_encode(&m, &z, &zn, &err), WQ_OK);
            assert_int_equal(z[2], WQ_MSG_ZBATCH);
            if (sizes[s] >= 17)
                assert_true(zn < pn / 2);
            wq_msg_t *back = s_decode_ok(z, zn, "roundtrip");
            s_assert_same_records(back, &m, "roundtrip");
            assert_true(back->batch.zstd);
            assert_int_equal(back->batch.dict, ids[d]);
            wq_msg_destroy(&back);
            free(plain);
            free(z);
        }
        /* An unknown dictionary is refused by the encoder. */
        wq_msg_t m = {.type = WQ_MSG_BATCH};
        m.batch.inc = 1;
        m.batch.first_seq = 1;
        m.batch.count = sizes[s];
        m.batch.records = recs;
        m.batch.zstd = true;
        m.batch.dict = 77;
        uint8_t *z = NULL;
        size_t zn = 0;
        wq_err_t err;
        assert_int_equal(wq_msg_encode(&m, &z, &zn, &err), WQ_E_UNKNOWN);
        assert_null(z);
        free(recs);
        free(storage);
    }
}

static void
test_decompress_bounds(void **state)
{
    (void) state;
    /* 1 MiB of zeros compresses to a few bytes; a cap below refuses it
       before allocating, the size is declared in the frame. */
    size_t big = 1024 * 1024;
    uint8_t *zeros = calloc(1, big);
    uint8_t *z = NULL, *out = NULL;
    size_t zn = 0, on = 0;
    wq_err_t err;
    assert_int_equal(wq_zbatch_compress(0, zeros, big, &z, &zn, &err), WQ_OK);
    assert_true(zn < 1024);
    assert_int_equal(wq_zbatch_decompress(0, z, zn, big - 1, &out, &on, "x", &err), WQ_E_RANGE);
    assert_string_equal(err.field, "x");
    assert_null(out);
    assert_int_equal(wq_zbatch_decompress(0, z, zn, big, &out, &on, "x", &err), WQ_OK);
    assert_int_equal(on, big);
    assert_memory_equal(out, zeros, big);
    free(out);
    out = NULL;
    /* Wrong dictionary for the frame: refused. */
    assert_int_equal(wq_zbatch_decompress(1, z, zn, big, &out, &on, "x", &err), WQ_OK);
    free(out);  /* no dictionary id in a frame made without one: accepted */
    out = NULL;
    free(z);
    z = NULL;
    assert_int_equal(wq_zbatch_compress(1, zeros, 100, &z, &zn, &err), WQ_OK);
    assert_int_equal(wq_zbatch_decompress(0, z, zn, big, &out, &on, "x", &err), WQ_E_FORMAT);
    assert_null(out);
    /* Empty content is a valid frame. */
    free(z);
    z = NULL;
    assert_int_equal(wq_zbatch_compress(0, zeros, 0, &z, &zn, &err), WQ_OK);
    assert_int_equal(wq_zbatch_decompress(0, z, zn, 10, &out, &on, "x", &err), WQ_OK);
    assert_non_null(out);
    assert_int_equal(on, 0);
    free(out);
    free(z);
    free(zeros);
    /* Garbage. */
    out = NULL;
    assert_int_equal(wq_zbatch_decompress(0, (const uint8_t *) "abcdefgh", 8, 10, &out, &on, "x",
                                          &err), WQ_E_FORMAT);
    assert_int_equal(wq_zbatch_decompress(0, (const uint8_t *) "", 0, 10, &out, &on, "x", &err),
                     WQ_E_FORMAT);
}

/*  Fixed-seed mutations of the compressed vectors: the decoder never
    crashes, leaks (ASan build) or returns a message with an error; what it
    accepts holds count records within the limits. */
static void
test_fuzz(void **state)
{
    (void) state;
    static const char *files[] = {"zbatch_dict.bin", "zbatch_nodict.bin", "zbatch_unsized.bin"};
    uint64_t rng = 0x2016u;
    size_t accepted = 0, rejected = 0;
    for (size_t f = 0; f < 3; f++) {
        size_t n = 0;
        uint8_t *orig = s_read("zstd/", files[f], &n);
        uint8_t *buf = malloc(n);
        assert_non_null(buf);
        for (int round = 0; round < 3000; round++) {
            memcpy(buf, orig, n);
            int flips = 1 + round % 4;
            for (int k = 0; k < flips; k++) {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                buf[rng % n] ^= (uint8_t) (1u << ((rng >> 32) % 8));
            }
            wq_msg_t *m = NULL;
            wq_err_t err;
            int rc = wq_msg_decode(buf, n, &m, &err);
            if (rc == WQ_OK) {
                assert_int_equal(m->type, WQ_MSG_BATCH);
                assert_true(m->batch.count >= 1 && m->batch.count <= WQ_BATCH_MAX_RECORDS);
                wq_msg_destroy(&m);
                accepted++;
            } else {
                assert_null(m);
                assert_true(err.text[0] != '\0');
                rejected++;
            }
        }
        free(buf);
        free(orig);
    }
    print_message("fuzz: %zu mutated ZBATCH frames, %zu accepted, %zu rejected\n",
                  accepted + rejected, accepted, rejected);
    assert_true(rejected > 0);
}

static void
test_v1_emulation(void **state)
{
    (void) state;
    size_t n = 0;
    uint8_t *hello = s_read("zstd/", "hello_zstd.bin", &n);
    size_t zn = 0;
    uint8_t *zb = s_read("zstd/", "zbatch_dict.bin", &zn);
    size_t vn = 0;
    uint8_t *v1 = s_read("", "batch_several.bin", &vn);
    wq_msg_t *m = NULL;
    wq_err_t err;
    assert_int_equal(setenv("WANQI_PROTO_V1", "1", 1), 0);
    assert_true(wq_msg_v1_only());
    assert_int_equal(wq_msg_decode(hello, n, &m, &err), WQ_E_RANGE);
    assert_string_equal(err.field, "hello");
    assert_int_equal(wq_msg_decode(zb, zn, &m, &err), WQ_E_UNKNOWN);
    assert_string_equal(err.field, "type");
    m = s_decode_ok(v1, vn, "batch_several under WANQI_PROTO_V1");
    wq_msg_destroy(&m);
    assert_int_equal(setenv("WANQI_PROTO_V1", "0", 1), 0);
    assert_false(wq_msg_v1_only());
    m = s_decode_ok(hello, n, "hello_zstd");
    wq_msg_destroy(&m);
    assert_int_equal(unsetenv("WANQI_PROTO_V1"), 0);
    free(hello);
    free(zb);
    free(v1);
}

int
main(void)
{
    unsetenv("WANQI_PROTO_V1");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_negotiation_vectors), cmocka_unit_test(test_zbatch_vectors),
        cmocka_unit_test(test_zbatch_bad_vectors),  cmocka_unit_test(test_codec_roundtrip),
        cmocka_unit_test(test_decompress_bounds),   cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_v1_emulation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
