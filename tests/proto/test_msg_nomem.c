/*  =========================================================================
    test_msg_nomem - the codec when memory runs out

    A fault loop in the SQLite manner: for every golden vector, fail the
    1st, 2nd, 3rd ... allocation made while decoding (then while
    encoding) until one run completes. Every failed run must return
    WQ_E_NOMEM, give no message and leave no allocation behind; the run
    that completes must give the right bytes.

    Allocation failure is injected by tests/support/failalloc.c, which
    replaces malloc, calloc, realloc and free in this program only.
    AddressSanitizer replaces them too, so under WANQI_SANITIZE this test
    is skipped: the normal build runs it, and the sanitizer build covers
    leaks on the ordinary paths.
    =========================================================================
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto/msg.h"
#include "tests/support/failalloc.h"
#include "tests/support/testsupport.h"

#if FA_ENABLED
static uint8_t *
s_vector(const char *name, size_t *size)
{
    const char *src = getenv("WANQI_SOURCE_DIR");
    if (!src)
        fail_msg("WANQI_SOURCE_DIR is not set (ctest sets it to the source tree)");
    char *path = ts_strf("%s/tests/vectors/%s.bin", src, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    uint8_t *buf = malloc(WQ_MSG_MAX_BYTES);
    assert_non_null(buf);
    *size = fread(buf, 1, WQ_MSG_MAX_BYTES, f);
    assert_int_equal(ferror(f), 0);
    fclose(f);
    free(path);
    return buf;
}

static const char *s_vectors[] = {
    "hello",      "welcome",       "batch_one",     "batch_several", "batch_max",
    "ack",        "ack_quarantined", "error_long",  "ping",          "pong",
    "query_summary", "query_chinese", "result",     "result_ints",   "result_error",
};

static void
test_decode_encode_out_of_memory(void **state)
{
    (void) state;
    size_t runs = 0;
    for (size_t v = 0; v < sizeof s_vectors / sizeof s_vectors[0]; v++) {
        size_t size = 0;
        uint8_t *file = s_vector(s_vectors[v], &size);
        wq_msg_t *msg = NULL;
        wq_err_t err;
        long dec_failed = 0, enc_failed = 0;

        /* decode, failing allocation N = 0, 1, 2 ... */
        for (long n = 0;; n++) {
            long live = fa_balance();
            fa_arm(n + 1);   /* fa_arm counts from 1 */
            int rc = wq_msg_decode(file, size, &msg, &err);
            fa_disarm();
            runs++;
            if (rc == WQ_OK) {
                assert_true(fa_count() <= n);   /* completed without hitting the failure */
                break;
            }
            if (rc != WQ_E_NOMEM)
                fail_msg("%s: decode with allocation %ld failing gave %s (%s: %s)",
                         s_vectors[v], n, wq_errname(rc), err.field, err.text);
            assert_int_equal(err.code, WQ_E_NOMEM);
            assert_null(msg);
            dec_failed++;
            if (fa_balance() != live)
                fail_msg("%s: decode with allocation %ld failing leaked %ld blocks", s_vectors[v],
                         n, fa_balance() - live);
            assert_true(n < 100000);
        }
        assert_non_null(msg);

        /* encode the decoded message, failing allocation N = 0, 1, 2 ... */
        for (long n = 0;; n++) {
            long live = fa_balance();
            uint8_t *buf = NULL;
            size_t out = 0;
            fa_arm(n + 1);   /* fa_arm counts from 1 */
            int rc = wq_msg_encode(msg, &buf, &out, &err);
            fa_disarm();
            runs++;
            if (rc == WQ_OK) {
                assert_int_equal(out, size);
                assert_memory_equal(buf, file, size);
                free(buf);
                break;
            }
            if (rc != WQ_E_NOMEM)
                fail_msg("%s: encode with allocation %ld failing gave %s (%s: %s)",
                         s_vectors[v], n, wq_errname(rc), err.field, err.text);
            assert_null(buf);
            assert_int_equal(out, 0);
            enc_failed++;
            if (fa_balance() != live)
                fail_msg("%s: encode with allocation %ld failing leaked %ld blocks", s_vectors[v],
                         n, fa_balance() - live);
            assert_true(n < 100000);
        }
        /* the injection really happened: the message and its arena are two
           allocations, and encoding needs its output buffer */
        assert_true(dec_failed >= 2);
        assert_true(enc_failed >= 1);
        wq_msg_destroy(&msg);
        free(file);
    }
    print_message("nomem: %zu runs\n", runs);
}

#else /* !FA_ENABLED */

static void
test_decode_encode_out_of_memory(void **state)
{
    (void) state;
    skip();   /* see the top of this file: the normal build runs it */
}
#endif

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_encode_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
