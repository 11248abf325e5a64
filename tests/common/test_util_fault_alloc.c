/*  Allocation-failure loops for the common utilities that allocate
    (json.c, table.c): fail the Nth allocation for N = 1, 2, ... until a run
    completes, and after each run check that the call reported WQ_E_NOMEM
    (or NULL) and that every block it allocated was freed.

    tests/support/failalloc.c replaces malloc/calloc/realloc/free in this
    program (glibc's own strdup, vasprintf, ... call the replacement) and
    keeps a table of the blocks allocated while armed. Under
    AddressSanitizer, which owns malloc, the tests skip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/json.h"
#include "common/table.h"
#include "tests/support/failalloc.h"


static const char s_doc[] __attribute__((unused)) =
    "{\"type\":\"visit\",\"county\":\"130102\",\"cadres\":[\"张三\",\"李四\",\"王五\",\"赵六\","
    "\"钱七\"],\"above_size\":true,\"note\":null,\"n\":12,\"text\":\"escaped \\u4e2d \\ud83d\\ude00\","
    "\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"d\":\"4\",\"e\":\"5\",\"f\":\"6\",\"g\":\"7\",\"h\":\"8\"}";

static void
test_json_alloc_failures(void **state)
{
    (void) state;
#if !FA_ENABLED
    skip();
#else
    long runs = 0;
    for (long n = 1;; n++) {
        wq_json_object_t *obj = NULL;
        wq_err_t err;
        wq_err_clear(&err);
        fa_arm(n);
        int rc = wq_json_parse_object(s_doc, sizeof s_doc - 1, &obj, &err);
        long used = fa_count();
        size_t count = 0, nitems = 0;
        bool got = obj != NULL;
        if (rc == WQ_OK && obj) {
            count = obj->count;
            nitems = wq_json_get(obj, "cadres") ? wq_json_get(obj, "cadres")->nitems : 0;
        }
        wq_json_object_destroy(&obj);
        size_t leaked = fa_disarm();    /* before any assert: cmocka allocates on failure */
        if (getenv("FAULT_DEBUG"))
            fprintf(stderr, "n=%ld rc=%d used=%ld leaked=%zu\n", n, rc, used, leaked);
        if (leaked)
            fail_msg("allocation %ld failed: %zu blocks leaked", n, leaked);
        if (rc == WQ_OK) {
            assert_true(got);
            assert_int_equal(count, 15);
            assert_int_equal(nitems, 5);
            /* The run that completed made fewer than n allocations, and
               every earlier run failed at its own allocation. */
            assert_true(used < n);
            assert_int_equal(runs, used);
            break;
        }
        assert_int_equal(rc, WQ_E_NOMEM);
        assert_int_equal(err.code, WQ_E_NOMEM);
        assert_false(got);
        runs++;
    }
    /* Each value, key and array slot allocates: there were many points. */
    assert_true(runs > 20);
#endif
}

/*  Build the table, write it three ways; returns WQ_OK or the first error. */
__attribute__((unused)) static int
s_table_run(FILE *sink)
{
    static const char *const cols[] = {"county", "name", "n"};
    int rc = WQ_E_NOMEM;
    wq_table_t *t = wq_table_new(3, cols);
    if (!t)
        goto done;
    for (int i = 0; i < 20; i++) {
        size_t r;
        if ((rc = wq_table_add_row(t, &r)) != WQ_OK)
            goto done;
        if ((rc = wq_table_set_fmt(t, r, 0, "1301%02d", i)) != WQ_OK)
            goto done;
        if ((rc = wq_table_set_str(t, r, 1, i % 3 ? "长安区" : "tab\there")) != WQ_OK)
            goto done;
        if ((rc = wq_table_set_int(t, r, 2, i * 7)) != WQ_OK)
            goto done;
    }
    for (wq_format_t f = WQ_FORMAT_TABLE; f <= WQ_FORMAT_JSON; f++)
        if ((rc = wq_table_write(t, f, sink)) != WQ_OK)
            goto done;
    rc = WQ_OK;
done:
    wq_table_destroy(&t);
    return rc;
}

static void
test_table_alloc_failures(void **state)
{
    (void) state;
#if !FA_ENABLED
    skip();
#else
    FILE *sink = fopen("/dev/null", "w");
    assert_non_null(sink);
    fputs("warm up the stdio buffer", sink);
    long runs = 0, absorbed = 0, total = 0;
    for (long n = 1;; n++) {
        fa_arm(n);
        int rc = s_table_run(sink);
        long used = fa_count();
        size_t leaked = fa_disarm();
        if (getenv("FAULT_DEBUG"))
            fprintf(stderr, "n=%ld rc=%d used=%ld leaked=%zu\n", n, rc, used, leaked);
        if (leaked)
            fail_msg("allocation %ld failed: %zu blocks leaked", n, leaked);
        if (rc == WQ_OK && used < n)
            break;    /* the failure point was never reached: done */
        /* glibc absorbs some failures itself (shrinking vasprintf's
           buffer), so a run may succeed although an allocation failed. */
        if (rc == WQ_OK)
            absorbed++;
        else {
            assert_int_equal(rc, WQ_E_NOMEM);
            runs++;
        }
        total = used;
    }
    /* At most one absorbed failure per wq_table_set_fmt call (20). */
    assert_true(absorbed <= 20);
    assert_int_equal(runs + absorbed, total);
    assert_true(runs > 60);
    fclose(sink);
#endif
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_alloc_failures),
        cmocka_unit_test(test_table_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
