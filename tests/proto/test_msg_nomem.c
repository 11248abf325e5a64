/*  =========================================================================
    test_msg_nomem - the codec when memory runs out

    A fault loop in the SQLite manner: for every golden vector, fail the
    1st, 2nd, 3rd ... allocation made while decoding (then while
    encoding) until one run completes. Every failed run must return
    WQ_E_NOMEM, give no message and leave no allocation behind; the run
    that completes must give the right bytes.

    Allocation failure is injected by replacing malloc, calloc, realloc
    and free in this program (glibc supports replacing them; the real ones
    are reached through __libc_malloc & co). AddressSanitizer replaces them
    too, so under WANQI_SANITIZE this test is skipped: the normal build
    runs it, and the sanitizer build covers leaks on the ordinary paths.
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
#include "tests/support/testsupport.h"

#if defined(__SANITIZE_ADDRESS__)
#define S_INJECT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_INJECT 0
#endif
#endif
#ifndef S_INJECT
#define S_INJECT 1
#endif

#if S_INJECT
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t size);
extern void __libc_free(void *p);

static long s_fail_at = -1;     /* index of the allocation to fail, -1: none */
static long s_calls = 0;        /* allocations since armed */
static long s_live = 0;         /* blocks allocated and not freed (whole process) */

static bool
s_should_fail(void)
{
    if (s_fail_at < 0)
        return false;
    return s_calls++ == s_fail_at;
}

void *
malloc(size_t size)
{
    if (s_should_fail())
        return NULL;
    void *p = __libc_malloc(size);
    if (p)
        s_live++;
    return p;
}

void *
calloc(size_t n, size_t size)
{
    if (s_should_fail())
        return NULL;
    void *p = __libc_calloc(n, size);
    if (p)
        s_live++;
    return p;
}

void *
realloc(void *old, size_t size)
{
    if (s_should_fail())
        return NULL;
    void *p = __libc_realloc(old, size);
    if (p && !old)
        s_live++;
    else if (!p && old && size == 0)
        s_live--;
    return p;
}

void
free(void *p)
{
    if (p)
        s_live--;
    __libc_free(p);
}

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
            long live = s_live;
            s_calls = 0;
            s_fail_at = n;
            int rc = wq_msg_decode(file, size, &msg, &err);
            s_fail_at = -1;
            runs++;
            if (rc == WQ_OK) {
                assert_true(s_calls <= n);   /* completed without hitting the failure */
                break;
            }
            if (rc != WQ_E_NOMEM)
                fail_msg("%s: decode with allocation %ld failing gave %s (%s: %s)",
                         s_vectors[v], n, wq_errname(rc), err.field, err.text);
            assert_int_equal(err.code, WQ_E_NOMEM);
            assert_null(msg);
            dec_failed++;
            if (s_live != live)
                fail_msg("%s: decode with allocation %ld failing leaked %ld blocks", s_vectors[v],
                         n, s_live - live);
            assert_true(n < 100000);
        }
        assert_non_null(msg);

        /* encode the decoded message, failing allocation N = 0, 1, 2 ... */
        for (long n = 0;; n++) {
            long live = s_live;
            uint8_t *buf = NULL;
            size_t out = 0;
            s_calls = 0;
            s_fail_at = n;
            int rc = wq_msg_encode(msg, &buf, &out, &err);
            s_fail_at = -1;
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
            if (s_live != live)
                fail_msg("%s: encode with allocation %ld failing leaked %ld blocks", s_vectors[v],
                         n, s_live - live);
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

#else /* !S_INJECT */

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
