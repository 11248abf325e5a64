/*  Router: literal and capture segments, rest "*", methods, 404 vs 405,
    malformed patterns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include "web/router.h"

static void h1(void) {}
static void h2(void) {}
static void h3(void) {}
static void h4(void) {}

static void test_match(void **state)
{
    (void)state;
    wq_router_t *r = wq_router_new();
    wq_err_t err;
    assert_int_equal(wq_router_add(r, "GET", "/", h1, NULL, 0, &err), WQ_OK);
    assert_int_equal(wq_router_add(r, "GET", "/county/{code}/agents", h2, (void *)r, 7, &err), WQ_OK);
    assert_int_equal(wq_router_add(r, "POST", "/county/{code}/agents", h3, NULL, 0, &err), WQ_OK);
    assert_int_equal(wq_router_add(r, "*", "/files/*", h4, NULL, 0, &err), WQ_OK);
    wq_route_match_t m;
    assert_int_equal(wq_router_match(r, "GET", "/", &m), WQ_OK);
    assert_ptr_equal(m.handler, h1);
    wq_route_match_clear(&m);
    assert_int_equal(wq_router_match(r, "GET", "/county/130102/agents", &m), WQ_OK);
    assert_ptr_equal(m.handler, h2);
    assert_ptr_equal(m.arg, r);
    assert_int_equal(m.flags, 7);
    assert_string_equal(wq_route_param(&m, "code"), "130102");
    assert_null(wq_route_param(&m, "other"));
    wq_route_match_clear(&m);
    assert_int_equal(wq_router_match(r, "POST", "/county/130102/agents", &m), WQ_OK);
    assert_ptr_equal(m.handler, h3);
    wq_route_match_clear(&m);
    /* path known, method not: 405; unknown path: 404 */
    assert_int_equal(wq_router_match(r, "DELETE", "/county/1/agents", &m), WQ_E_STATE);
    assert_int_equal(wq_router_match(r, "GET", "/county//agents", &m), WQ_E_NOTFOUND);
    assert_int_equal(wq_router_match(r, "GET", "/county/1/agents/x", &m), WQ_E_NOTFOUND);
    assert_int_equal(wq_router_match(r, "GET", "/county/1", &m), WQ_E_NOTFOUND);
    assert_int_equal(wq_router_match(r, "GET", "/nothing", &m), WQ_E_NOTFOUND);
    assert_int_equal(wq_router_match(r, "GET", "", &m), WQ_E_NOTFOUND);
    /* rest capture takes slashes */
    assert_int_equal(wq_router_match(r, "PUT", "/files/a/b.txt", &m), WQ_OK);
    assert_ptr_equal(m.handler, h4);
    assert_string_equal(wq_route_param(&m, "*"), "a/b.txt");
    wq_route_match_clear(&m);
    wq_router_destroy(&r);
    assert_null(r);
    wq_router_destroy(&r);
}

static void test_bad_patterns(void **state)
{
    (void)state;
    wq_router_t *r = wq_router_new();
    wq_err_t err;
    assert_int_equal(wq_router_add(r, "GET", "nope", h1, NULL, 0, &err), WQ_E_FORMAT);
    assert_int_equal(wq_router_add(r, "GET", "/a/{}", h1, NULL, 0, &err), WQ_E_FORMAT);
    assert_int_equal(wq_router_add(r, "GET", "/a/{x", h1, NULL, 0, &err), WQ_E_FORMAT);
    assert_int_equal(wq_router_add(r, "GET", "/*/a", h1, NULL, 0, &err), WQ_E_FORMAT);
    assert_int_equal(wq_router_add(r, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", h1, NULL, 0,
                                   &err), WQ_E_FORMAT);
    wq_route_match_t m;
    assert_int_equal(wq_router_match(r, "GET", "/a/x", &m), WQ_E_NOTFOUND);
    wq_router_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_bad_patterns),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
