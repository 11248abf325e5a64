/*  test_dash_qcache - the dashboard's short-lived query results: a kept
    result comes back as an equal, independent copy; other parameters
    miss; ttl 0 keeps nothing; a full cache replaces its oldest entry; the
    same key is replaced in place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include "collector/dash/qcache.h"

static wq_table_t *s_table(int64_t v)
{
    static const char *const cols[] = {"area", "n"};
    wq_table_t *t = wq_table_new(2, cols);
    size_t r;
    assert_int_equal(wq_table_add_row(t, &r), WQ_OK);
    assert_int_equal(wq_table_set_str(t, r, 0, "130100"), WQ_OK);
    assert_int_equal(wq_table_set_int(t, r, 1, v), WQ_OK);
    assert_int_equal(wq_table_add_row(t, &r), WQ_OK);   /* a null row too */
    return t;
}

static void test_qcache(void **state)
{
    (void)state;
    dash_qcache_t *c = dash_qcache_new(2, 60);
    wq_param_t p1[] = {{"area", "130100"}}, p2[] = {{"area", "130200"}}, p3[] = {{"area", "130300"}};
    assert_null(dash_qcache_get(c, "summary", p1, 1));
    wq_table_t *t = s_table(7);
    dash_qcache_put(c, "summary", p1, 1, t);
    wq_table_destroy(&t);   /* the cache kept its own copy */
    wq_table_t *g = dash_qcache_get(c, "summary", p1, 1);
    assert_non_null(g);
    assert_int_equal(wq_table_nrows(g), 2);
    assert_string_equal(wq_table_col(g, 1), "n");
    assert_string_equal(wq_table_cell(g, 0, 0)->s, "130100");
    assert_int_equal(wq_table_cell(g, 0, 1)->i, 7);
    assert_int_equal(wq_table_cell(g, 1, 1)->kind, WQ_CELL_NULL);
    wq_table_destroy(&g);
    assert_null(dash_qcache_get(c, "summary", p2, 1));
    assert_null(dash_qcache_get(c, "overdue", p1, 1));
    assert_null(dash_qcache_get(c, "summary", NULL, 0));
    /* same key: replaced in place */
    t = s_table(8);
    dash_qcache_put(c, "summary", p1, 1, t);
    wq_table_destroy(&t);
    g = dash_qcache_get(c, "summary", p1, 1);
    assert_int_equal(wq_table_cell(g, 0, 1)->i, 8);
    wq_table_destroy(&g);
    /* two entries: a third key replaces one, the cache never grows */
    t = s_table(2);
    dash_qcache_put(c, "summary", p2, 1, t);
    dash_qcache_put(c, "summary", p3, 1, t);
    wq_table_destroy(&t);
    g = dash_qcache_get(c, "summary", p3, 1);
    assert_non_null(g);
    wq_table_destroy(&g);
    int kept = 0;
    wq_param_t *keys[] = {p1, p2, p3};
    for (int i = 0; i < 3; i++) {
        g = dash_qcache_get(c, "summary", keys[i], 1);
        kept += g != NULL;
        wq_table_destroy(&g);
    }
    assert_int_equal(kept, 2);
    dash_qcache_destroy(&c);
    assert_null(c);
    dash_qcache_destroy(&c);
    /* ttl 0: nothing kept */
    c = dash_qcache_new(4, 0);
    t = s_table(1);
    dash_qcache_put(c, "summary", p1, 1, t);
    wq_table_destroy(&t);
    assert_null(dash_qcache_get(c, "summary", p1, 1));
    dash_qcache_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qcache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
