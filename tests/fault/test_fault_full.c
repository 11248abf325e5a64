/*  =========================================================================
    test_fault_full - full disks on both sides

    1. The agent's outbox full (outbox_max_queued while the link is cut):
       recording fails clearly (exit 1, E_FULL, names the key to raise),
       nothing stored is harmed, and recording works again once the
       backlog has drained.
    2. The collector's store full (a small --map-size): it stops acking
       with ERROR E_FULL, logs "STORE FULL", keeps running, loses nothing;
       restarted with a larger map it takes everything, exactly once.
    =========================================================================
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/fault/harness.h"
#include "tests/support/testsupport.h"

static void test_outbox_full(void **state)
{
    (void) state;
    fx_t fx;
    fx_init(&fx, NULL, NULL);
    fx_link_start(&fx, (char *[]){"--cut", "--quiet", NULL});
    int a = fx_agent_add(&fx, "130102-01", "130102", true,
                         (char *[]){"outbox_max_queued=300", NULL});
    fx_collector_start(&fx, NULL);
    fx_agent_start(&fx, a);

    char *all = ts_strf("%s/campaign.jsonl", fx.tmp);
    char *alone = ts_strf("%s/standalone.jsonl", fx.tmp);
    char *first = ts_strf("%s/first.jsonl", fx.tmp);
    char *more = ts_strf("%s/more.jsonl", fx.tmp);
    fx_generate(&fx, "130102", 80, 61, all, NULL);
    long total = fx_standalone_lines(all, alone);
    assert_true(total > 360);
    fx_slice_lines(alone, 0, 350, first);
    fx_slice_lines(alone, 350, 10, more);

    /* 350 lines into a queue of 300: the import stops, clearly. */
    char *out = NULL, *err = NULL;
    assert_int_equal(fx_import(&fx, a, first, &out, &err), 1);
    assert_non_null(strstr(err, "E_FULL"));
    assert_non_null(strstr(err, "outbox_max_queued"));
    long long last = fx_status_num(&fx, a, "last_seq");
    fprintf(stderr, "[fault] outbox full: import of 350 stopped with %lld stored: %s", last, err);
    assert_int_equal(last, 300);
    assert_int_equal(fx_status_num(&fx, a, "queued"), 300);
    free(out);
    free(err);
    /* Another record is refused too, and nothing changes. */
    assert_int_equal(fx_import(&fx, a, more, NULL, &err), 1);
    assert_non_null(strstr(err, "E_FULL"));
    free(err);
    assert_int_equal(fx_status_num(&fx, a, "last_seq"), 300);

    fl_ok(fx.link, "cut off");
    fx_wait_drained(&fx, fx_light() ? 300000 : 120000);
    /* Recording works again after the backlog drained. */
    assert_int_equal(fx_import(&fx, a, more, NULL, NULL), 0);
    assert_int_equal(fx_status_num(&fx, a, "last_seq"), 310);
    fx_wait_drained(&fx, 120000);
    fx_totals_t t;
    fx_check_exact(&fx, true, 0, &t);
    assert_int_equal(t.records, 310);
    free(all);
    free(alone);
    free(first);
    free(more);
    fx_teardown(&fx);
}

typedef struct {
    fx_t *fx;
} s_full_t;

static bool s_store_full_logged(void *arg)
{
    s_full_t *s = arg;
    return fx_count_in_file(s->fx->clog, "STORE FULL") > 0;
}

static void test_store_full(void **state)
{
    (void) state;
    fx_t fx;
    fx_init(&fx, "1M", "max_batch = 100\n");
    int a = fx_agent_add(&fx, "130102-01", "130102", false, NULL);
    char *all = ts_strf("%s/campaign.jsonl", fx.tmp);
    long lines = fx_generate(&fx, "130102", 200, 62, all, NULL);
    assert_int_equal(fx_import(&fx, a, all, NULL, NULL), 0);
    fx_collector_start(&fx, NULL);
    fx_agent_start(&fx, a);

    s_full_t s = {&fx};
    if (!ts_wait_until(s_store_full_logged, &s, 120000))
        ts_fail("the collector did not log STORE FULL within 120 s (agent acknowledged %lld of "
                "%ld; log %s)", fx_status_num(&fx, a, "acknowledged"), lines, fx.clog);
    char inc[9];
    fx_status_inc(&fx, a, inc);
    /* Full is where the mark stops: pages freed by earlier transactions
       may still take a batch or two after the first E_FULL. Wait until
       the mark stands still for a second while E_FULL keeps being logged. */
    long long hwm = fx_collector_stream(&fx, "130102-01", inc, "hwm");
    int64_t deadline = fx_now_ms() + 120000;
    for (;;) {
        long full_before = fx_count_in_file(fx.clog, "STORE FULL");
        ts_sleep_ms(1000);
        long long now = fx_collector_stream(&fx, "130102-01", inc, "hwm");
        if (now == hwm && fx_count_in_file(fx.clog, "STORE FULL") > full_before)
            break;
        if (fx_now_ms() > deadline)
            ts_fail("the collector's mark did not stand still at a full store within 120 s "
                    "(last seen %lld, then %lld; log %s)", hwm, now, fx.clog);
        hwm = now;
    }
    fprintf(stderr, "[fault] store full: mark stands at %lld of %ld; %ld STORE FULL log lines\n",
            hwm, lines, fx_count_in_file(fx.clog, "STORE FULL"));
    assert_true(hwm < lines);
    /* Still running, acknowledging nothing more; the agent knows why. */
    assert_int_equal(ts_wait(fx.cpid, 0), -1);
    assert_int_equal(fx_status_num(&fx, a, "acknowledged"), hwm);
    assert_int_equal(fx_status_num(&fx, a, "last_seq"), lines);
    fx_collector_stop(&fx);
    assert_int_equal(fx_verify(&fx), 0);     /* nothing half-stored */

    fx_collector_start(&fx, "64M");         /* space made */
    fx_wait_drained(&fx, fx_light() ? 300000 : 120000);
    fx_totals_t t;
    /* Per id (200 enterprise queries) except in the slow sanitizer build,
       where the counts, marks and verify still check exactness. */
    fx_check_exact(&fx, !fx_light(), 0, &t);
    assert_int_equal(t.records, lines);
    free(all);
    fx_teardown(&fx);
}

int main(int argc, char **argv)
{
    /* One scenario per ctest test (tests/fault/CMakeLists.txt): argv[1]. */
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outbox_full),
        cmocka_unit_test(test_store_full),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
