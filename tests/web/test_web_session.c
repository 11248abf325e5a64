/*  Sessions (random tokens, idle expiry, LRU when full, end by account),
    CSRF check, login rate limits. A fake clock replaces sleeping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "web/ratelimit.h"
#include "web/session.h"

static int64_t s_clock = 1000;
static int64_t s_fake_now(void) { return s_clock; }

static void test_sessions(void **state)
{
    (void)state;
    wq_sessions_t *s = wq_sessions_new(3, 60);
    assert_non_null(s);
    wq_sessions_set_clock(s, s_fake_now);
    wq_account_t alice = {.name = "alice", .role = "city", .area = "130100"};
    wq_session_t a, b, got;
    wq_err_t err;
    assert_int_equal(wq_sessions_create(s, &alice, &a, &err), WQ_OK);
    assert_int_equal(strlen(a.token), WQ_TOKEN_HEX);
    assert_int_equal(strlen(a.csrf), WQ_TOKEN_HEX);
    assert_string_not_equal(a.token, a.csrf);
    assert_false(a.anonymous);
    assert_int_equal(wq_sessions_create(s, NULL, &b, &err), WQ_OK);
    assert_true(b.anonymous);
    assert_string_not_equal(a.token, b.token);
    assert_int_equal(wq_sessions_lookup(s, a.token, &got), WQ_OK);
    assert_string_equal(got.who.area, "130100");
    /* wrong, short, NULL tokens */
    char wrong[WQ_TOKEN_HEX + 1];
    strcpy(wrong, a.token);
    wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
    assert_int_equal(wq_sessions_lookup(s, wrong, &got), WQ_E_NOTFOUND);
    assert_int_equal(wq_sessions_lookup(s, "abc", &got), WQ_E_NOTFOUND);
    assert_int_equal(wq_sessions_lookup(s, NULL, &got), WQ_E_NOTFOUND);
    /* CSRF */
    assert_true(wq_session_csrf_ok(&a, a.csrf));
    assert_false(wq_session_csrf_ok(&a, b.csrf));
    assert_false(wq_session_csrf_ok(&a, NULL));
    assert_false(wq_session_csrf_ok(&a, ""));
    assert_false(wq_session_csrf_ok(&a, a.token));
    /* idle expiry: used at 1030 keeps a alive until 1090; b expires */
    s_clock = 1030;
    assert_int_equal(wq_sessions_lookup(s, a.token, &got), WQ_OK);
    s_clock = 1075;
    assert_int_equal(wq_sessions_lookup(s, a.token, &got), WQ_OK);
    assert_int_equal(wq_sessions_lookup(s, b.token, &got), WQ_E_NOTFOUND);
    assert_int_equal(wq_sessions_count(s), 1);
    /* full table drops the least recently used */
    wq_session_t c, d, e;
    s_clock = 1076;
    assert_int_equal(wq_sessions_create(s, &alice, &c, &err), WQ_OK);
    s_clock = 1077;
    assert_int_equal(wq_sessions_create(s, &alice, &d, &err), WQ_OK);
    s_clock = 1078;
    assert_int_equal(wq_sessions_create(s, &alice, &e, &err), WQ_OK);
    assert_int_equal(wq_sessions_lookup(s, a.token, &got), WQ_E_NOTFOUND);
    assert_int_equal(wq_sessions_lookup(s, e.token, &got), WQ_OK);
    /* logout, and all sessions of an account */
    wq_sessions_end(s, e.token);
    assert_int_equal(wq_sessions_lookup(s, e.token, &got), WQ_E_NOTFOUND);
    assert_int_equal(wq_sessions_count(s), 2);
    wq_sessions_end_account(s, "alice");
    assert_int_equal(wq_sessions_count(s), 0);
    wq_sessions_destroy(&s);
    assert_null(s);
    wq_sessions_destroy(&s);
}

static void test_ratelimit(void **state)
{
    (void)state;
    wq_ratelimit_t *r = wq_ratelimit_new(2, 3, 100);
    assert_non_null(r);
    unsigned wait = 0;
    assert_false(wq_ratelimit_blocked(r, "addr:1", 0, &wait));
    wq_ratelimit_fail(r, "addr:1", 0);
    wq_ratelimit_fail(r, "addr:1", 10);
    assert_false(wq_ratelimit_blocked(r, "addr:1", 10, &wait));
    wq_ratelimit_fail(r, "addr:1", 20);
    assert_true(wq_ratelimit_blocked(r, "addr:1", 20, &wait));
    assert_int_equal(wait, 80);
    assert_false(wq_ratelimit_blocked(r, "addr:2", 20, NULL));
    /* window over: free again */
    assert_false(wq_ratelimit_blocked(r, "addr:1", 100, NULL));
    /* success clears */
    wq_ratelimit_fail(r, "name:x", 200);
    wq_ratelimit_fail(r, "name:x", 200);
    wq_ratelimit_fail(r, "name:x", 200);
    assert_true(wq_ratelimit_blocked(r, "name:x", 201, NULL));
    wq_ratelimit_clear(r, "name:x");
    assert_false(wq_ratelimit_blocked(r, "name:x", 201, NULL));
    /* a full table forgets the oldest window, never crashes */
    for (int i = 0; i < 10; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", i);
        wq_ratelimit_fail(r, k, 300 + i);
    }
    wq_ratelimit_destroy(&r);
    assert_null(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sessions),
        cmocka_unit_test(test_ratelimit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
