/*  test_dash_qcache - the dashboard's short-lived query results: a kept
    result comes back as an equal, independent copy; other parameters
    miss; ttl 0 keeps nothing; a full cache replaces its oldest entry; the
    same key is replaced in place. Shared results: a request that finds
    the result being computed waits for it and gets the same table; an
    abandoned claim passes to a waiter; a reference outlives its entry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>
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

typedef struct {
    dash_qcache_t *c;
    dash_qref_t *ref;
    bool claim;
} s_waiter_t;

static void *s_wait(void *arg)
{
    s_waiter_t *w = arg;
    wq_param_t p[] = {{"area", "130100"}};
    w->ref = dash_qcache_acquire(w->c, "problems", p, 1, 600, &w->claim);
    return NULL;
}

/*  Until the cache has counted `n` waiting requests (a deadline of 60 s). */
static void s_until_waited(dash_qcache_t *c, uint64_t n)
{
    uint64_t computed, waited = 0;
    for (int i = 0; i < 6000; i++) {
        dash_qcache_counts(c, &computed, &waited);
        if (waited >= n)
            return;
        usleep(10000);
    }
    fail_msg("no request waited for the result being computed (%llu)", (unsigned long long)waited);
}

static void test_qcache_shared(void **state)
{
    (void)state;
    dash_qcache_t *c = dash_qcache_new(2, 600);
    wq_param_t p1[] = {{"area", "130100"}}, p2[] = {{"area", "130200"}}, p3[] = {{"area", "130300"}};
    bool claim = false;
    assert_null(dash_qcache_acquire(c, "problems", p1, 1, 600, &claim));
    assert_true(claim);   /* ours to compute */
    /* a second request for it waits for ours, then shares our table */
    s_waiter_t w = {.c = c};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, s_wait, &w), 0);
    s_until_waited(c, 1);
    dash_qref_t *mine = dash_qcache_publish(c, "problems", p1, 1, s_table(42));
    assert_non_null(mine);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_non_null(w.ref);
    assert_false(w.claim);
    assert_ptr_equal(dash_qref_table(w.ref), dash_qref_table(mine));
    assert_int_equal(wq_table_cell(dash_qref_table(w.ref), 0, 1)->i, 42);
    uint64_t computed, waited;
    dash_qcache_counts(c, &computed, &waited);
    assert_int_equal(computed, 1);
    assert_int_equal(waited, 1);
    dash_qcache_release(c, &w.ref);
    assert_null(w.ref);
    /* a reference outlives its entry: two other keys push it out */
    dash_qcache_put(c, "summary", p2, 1, dash_qref_table(mine));
    dash_qcache_put(c, "summary", p3, 1, dash_qref_table(mine));
    assert_null(dash_qcache_get(c, "problems", p1, 1));
    assert_int_equal(wq_table_cell(dash_qref_table(mine), 0, 1)->i, 42);
    dash_qcache_release(c, &mine);
    /* an abandoned claim: the waiter claims it and computes it itself */
    wq_param_t p4[] = {{"area", "130100"}};
    assert_null(dash_qcache_acquire(c, "problems", p4, 1, 600, &claim));
    assert_true(claim);
    w = (s_waiter_t){.c = c};
    assert_int_equal(pthread_create(&th, NULL, s_wait, &w), 0);
    s_until_waited(c, 2);
    dash_qcache_abandon(c, "problems", p4, 1);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_null(w.ref);
    assert_true(w.claim);
    dash_qcache_abandon(c, "problems", p4, 1);
    dash_qcache_destroy(&c);
    /* ttl 0: no sharing, no waiting: every request computes */
    c = dash_qcache_new(4, 0);
    assert_null(dash_qcache_acquire(c, "problems", p1, 1, 600, &claim));
    assert_false(claim);
    assert_null(dash_qcache_acquire(c, "problems", p1, 1, 600, &claim));
    assert_false(claim);
    dash_qcache_destroy(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qcache),
        cmocka_unit_test(test_qcache_shared),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
