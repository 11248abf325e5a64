/*  CPU ceiling (web/cpubudget): bad arguments refused; a process within
    its budget never waits; one in debt waits until the debt is paid, and
    the wait is what the debt costs at the budget's rate. Figures are
    chosen so that a loaded machine (a slower spin, a longer sleep) cannot
    change the outcome: the spin costs 30 ms of CPU against 1 % of a core,
    a debt the wall time of the spin could only repay after 3 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <time.h>
#include "web/cpubudget.h"

static double s_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile unsigned long s_sink;   /* what the spin computes: kept, so it is done */

/*  Burn `cpu_s` seconds of this process's CPU; returns the wall seconds
    it took. */
static double s_spin(double cpu_s)
{
    double w0 = s_clock(CLOCK_MONOTONIC), c0 = s_clock(CLOCK_PROCESS_CPUTIME_ID);
    while (s_clock(CLOCK_PROCESS_CPUTIME_ID) - c0 < cpu_s)
        for (int i = 0; i < 10000; i++)
            s_sink += (unsigned long)i;
    return s_clock(CLOCK_MONOTONIC) - w0;
}

static void test_bad_arguments(void **state)
{
    (void)state;
    assert_null(wq_cpubudget_new(0, 1.0));
    assert_null(wq_cpubudget_new(WQ_CPUBUDGET_MAX_PERCENT + 1, 1.0));
    assert_null(wq_cpubudget_new(25, 0));
    assert_null(wq_cpubudget_new(25, -1));
    wq_cpubudget_t *b = NULL;
    wq_cpubudget_destroy(&b);   /* NULL: nothing to do */
    wq_cpubudget_destroy(NULL);
}

static void test_within_budget_never_waits(void **state)
{
    (void)state;
    /* 1 % of a core: what the wall time earns while the spin runs stays
       far below what it spends, however slowly a loaded machine runs it
       (at 50 % a spin stretched to 40 ms of wall earned its 20 ms back). */
    wq_cpubudget_t *b = wq_cpubudget_new(1, 1.0);
    assert_non_null(b);
    /* A full bucket: 1 CPU-second saved up, less what was spent since. */
    double bal = wq_cpubudget_balance(b);
    assert_true(bal > 0.9 && bal <= 1.0);
    double wall = s_spin(0.02);
    /* The spin was taken from it: at most what the wall time earned back. */
    double now = wq_cpubudget_balance(b);
    if (!(now <= bal - 0.02 + 0.01 * wall + 0.002))
        fail_msg("balance %.4f after spending 0.02 CPU-s in %.3f s of wall from %.4f", now, wall, bal);
    assert_true(wq_cpubudget_wait(b) == 0.0);
    assert_true(wq_cpubudget_waited(b) == 0.0);
    wq_cpubudget_destroy(&b);
    assert_null(b);
}

static void test_debt_is_waited_off(void **state)
{
    (void)state;
    wq_cpubudget_t *b = wq_cpubudget_new(1, 0.001);   /* 10 ms of CPU a second */
    assert_non_null(b);
    double wall = s_spin(0.03);
    double debt = -wq_cpubudget_balance(b);
    /* 30 ms spent, at most 1 ms saved up, 10 ms earned per wall second. */
    assert_true(wall < 2.5);   /* else the machine is too slow for this test's figures */
    assert_true(debt > 0.03 - 0.001 - 0.01 * wall - 0.005);
    double slept = wq_cpubudget_wait(b);
    /* It returns only once the wall time has repaid the debt at 1 % of a
       core: at least debt / 0.01 seconds (less the spin's last moments). */
    assert_true(slept > 0);
    assert_true(slept >= debt / 0.01 - 0.1);
    assert_true(wq_cpubudget_waited(b) == slept);   /* what it waited is counted */
    assert_true(wq_cpubudget_balance(b) > -0.002);
    wq_cpubudget_destroy(&b);
}

static void test_release_ends_waits(void **state)
{
    (void)state;
    wq_cpubudget_t *b = wq_cpubudget_new(1, 0.001);
    assert_non_null(b);
    s_spin(0.05);   /* a debt of ~5 s at 1 % of a core */
    wq_cpubudget_release(b);
    assert_true(wq_cpubudget_wait(b) == 0.0);   /* released: no wait */
    assert_true(wq_cpubudget_balance(b) < 0);   /* the debt is still there */
    wq_cpubudget_destroy(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_within_budget_never_waits),
        cmocka_unit_test(test_debt_is_waited_off),
        cmocka_unit_test(test_release_ends_waits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
