/*  Allocation-failure loops for common/record.c and common/generate.c:
    fail the Nth allocation for N = 1, 2, ... until a run completes; after
    each run the call must have reported WQ_E_NOMEM (never crashed, never
    half-succeeded) and freed every block it allocated.

    tests/support/failalloc.c replaces malloc/calloc/realloc/free in this
    program (glibc's strdup/strndup and msgpack-c's zone and sbuffer call
    the replacement) and keeps a table of the blocks allocated while armed.
    Under AddressSanitizer, which owns malloc, the tests skip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/division.h"
#include "common/generate.h"
#include "common/json.h"
#include "common/record.h"
#include "tests/common/record_samples.h"
#include "tests/support/failalloc.h"

#if FA_ENABLED

/*  Run op(arg) failing allocation 1, 2, ... until a run needs fewer
    allocations than the one failed. Every failed run must return
    WQ_E_NOMEM (or WQ_OK when tolerant: a library such as glibc's qsort
    may survive a failed malloc) and leak nothing. Returns the number of
    allocations of the complete run. */
static long
s_loop(const char *what, int (*op)(void *arg), void *arg, bool tolerant)
{
    for (long n = 1;; n++) {
        fa_arm(n);
        int rc = op(arg);
        long used = fa_count();
        size_t leaked = fa_disarm();     /* before any assert: cmocka allocates */
        if (leaked)
            fail_msg("%s: allocation %ld failed: %zu blocks leaked (rc %d)", what, n, leaked, rc);
        if (used < n) {
            if (rc != WQ_OK)
                fail_msg("%s: run without a failure gave %d", what, rc);
            return used;
        }
        if (rc != WQ_E_NOMEM && !(tolerant && rc == WQ_OK))
            fail_msg("%s: allocation %ld failed but the call gave %d", what, n, rc);
    }
}
#endif

/*  ---- operations ------------------------------------------------------ */

typedef struct {
    uint8_t *buf;
    size_t len;
    wq_record_t *rec;
    wq_json_object_t *obj;
} s_arg_t;

__attribute__((unused)) static int
s_op_decode(void *p)
{
    s_arg_t *a = p;
    wq_record_t *r = NULL;
    wq_err_t err;
    int rc = wq_record_decode(a->buf, a->len, &r, &err);
    if (rc == WQ_OK) {
        rc = wq_record_validate(r, &err);
        wq_record_destroy(&r);
    } else if (r) {
        rc = WQ_E_INTERNAL;     /* *out must stay NULL on error */
    }
    return rc;
}

__attribute__((unused)) static int
s_op_encode(void *p)
{
    s_arg_t *a = p;
    uint8_t *b = NULL;
    size_t n = 0;
    int rc = wq_record_encode(a->rec, &b, &n);
    if (rc == WQ_OK && (n != a->len || memcmp(b, a->buf, n) != 0))
        rc = WQ_E_INTERNAL;
    if (rc != WQ_OK && b)
        rc = WQ_E_INTERNAL;
    free(b);
    return rc;
}

__attribute__((unused)) static int
s_op_from_json(void *p)
{
    s_arg_t *a = p;
    wq_record_t *r = NULL;
    wq_err_t err;
    int rc = wq_record_from_json(a->obj, &r, &err);
    wq_record_destroy(&r);
    return rc;
}

__attribute__((unused)) static int
s_op_set_text(void *p)
{
    (void) p;
    wq_record_t *r = wq_record_new(WQ_REC_CORRECTION);
    if (!r)
        return WQ_E_NOMEM;
    wq_err_t err;
    int rc = wq_record_set_text(r, "of", "visit", &err);
    if (rc == WQ_OK)
        rc = wq_record_set_text(r, "reason", "录入错误", &err);
    if (rc == WQ_OK)
        rc = wq_record_set_patch_text(r, "cadres", "张三,李四、王五", &err);
    if (rc == WQ_OK)
        rc = wq_record_set_patch_text(r, "findings", "第一行\n第二行", &err);
    wq_record_destroy(&r);
    return rc;
}

__attribute__((unused)) static int
s_op_generate(void *p)
{
    FILE *sink = p;
    wq_generate_stats_t st;
    wq_err_t err;
    return wq_generate(sink, "130102", NULL, NULL, 5, 3, &st, &err);
}

/*  ---- tests ----------------------------------------------------------- */

static void
test_codec_alloc_failures(void **state)
{
    (void) state;
#if !FA_ENABLED
    skip();
#else
    (void) wq_division_check_county("130102", "2019-05-10", NULL);  /* load the table */
    for (int t = 1; t < WQ_REC_TYPE_COUNT; t++) {
        s_arg_t a = {0};
        a.rec = rs_sample((wq_rec_type_t) t);
        assert_int_equal(wq_record_encode(a.rec, &a.buf, &a.len), WQ_OK);
        long d = s_loop("decode", s_op_decode, &a, false);
        long e = s_loop("encode", s_op_encode, &a, false);
        assert_true(d >= 2);    /* the record and msgpack's zone, at least */
        assert_true(e >= 1);
        free(a.buf);
        wq_record_destroy(&a.rec);
    }
#endif
}

static void
test_text_alloc_failures(void **state)
{
    (void) state;
#if !FA_ENABLED
    skip();
#else
    (void) wq_division_check_county("130102", "2019-05-10", NULL);
    static const char line[] =
        "{\"type\":\"correction\",\"date\":\"2019-05-10\",\"county\":\"130102\",\"by\":\"张三\","
        "\"target\":\"a/9f86d081/4\",\"of\":\"visit\",\"reason\":\"录入错误\","
        "\"set.cadres\":[\"王五\",\"赵六\"],\"set.findings\":\"现场检查发现\"}";
    s_arg_t a = {0};
    wq_err_t err;
    assert_int_equal(wq_json_parse_object(line, sizeof line - 1, &a.obj, &err), WQ_OK);
    assert_true(s_loop("from_json", s_op_from_json, &a, false) >= 5);
    wq_json_object_destroy(&a.obj);
    assert_true(s_loop("set_text", s_op_set_text, NULL, false) >= 6);
#endif
}

static void
test_generate_alloc_failures(void **state)
{
    (void) state;
#if !FA_ENABLED
    skip();
#else
    (void) wq_division_check_county("130102", "2019-05-10", NULL);
    FILE *sink = fopen("/dev/null", "w");
    assert_non_null(sink);
    fputs("warm", sink);    /* stdio's buffer exists before arming */
    fflush(sink);
    assert_true(s_loop("generate", s_op_generate, sink, true) > 20);
    fclose(sink);
#endif
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codec_alloc_failures),
        cmocka_unit_test(test_text_alloc_failures),
        cmocka_unit_test(test_generate_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
