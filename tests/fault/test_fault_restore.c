/*  =========================================================================
    test_fault_restore - collector restored from an older backup; agent
    re-initialised with a new incarnation

    1. Two counties sync half their campaigns; the store is copied with
       `mdb_copy` while the collector runs; they sync the rest and every
       query's full output is captured. The collector is stopped and its
       store replaced by the old copy: the agents are told a lower mark,
       resend what it lost, and every query output comes out byte for byte
       as before. Then the exactness check.
    2. An agent is re-initialised (`init --force-new-incarnation`): its new
       records start again at seq 1 in a new stream and are all stored,
       none taken for duplicates of the old stream's.
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

static long s_import_half(fx_t *fx, int a, const char *county, int seed, int half)
{
    char *all = ts_strf("%s/campaign-%s.jsonl", fx->tmp, county);
    char *part = ts_strf("%s/campaign-%s-%d.jsonl", fx->tmp, county, half);
    long lines = fx_generate(fx, county, 20, seed, all, NULL);
    /* Cut at a line with no reference past it would be needed for @N: the
       second half is imported whole, so references into the first half
       are not used; instead split into standalone lines. */
    char *alone = ts_strf("%s/alone-%s.jsonl", fx->tmp, county);
    long n = fx_standalone_lines(all, alone);
    long got = half == 0 ? fx_slice_lines(alone, 0, n / 2, part)
                         : fx_slice_lines(alone, n / 2, n - n / 2, part);
    assert_int_equal(fx_import(fx, a, part, NULL, NULL), 0);
    (void) lines;
    free(alone);
    free(part);
    free(all);
    return got;
}

/*  Every query's full output (minus `agents`, whose contact times move). */
static char *s_snapshot(fx_t *fx)
{
    static char *const queries[][12] = {
        {"summary", "--level", "province", "--asof", "2019-12-31", "--format", "csv", NULL},
        {"summary", "--level", "city", "--asof", "2019-12-31", "--format", "csv", NULL},
        {"summary", "--level", "county", "--asof", "2019-12-31", "--format", "csv", NULL},
        {"summary", "--level", "county", "--from", "2019-03", "--to", "2019-06", "--asof",
         "2019-07-01", "--format", "json", NULL},
        {"overdue", "--asof", "2019-09-30", "--format", "csv", NULL},
        {"quarantine", "--format", "csv", NULL},
    };
    size_t len = 0;
    char *all = strdup("");
    for (size_t q = 0; q < sizeof queries / sizeof queries[0]; q++) {
        char *out = NULL;
        assert_int_equal(fx_query(fx, &out, queries[q]), 0);
        char *next = ts_strf("%s== %s\n%s", all, queries[q][0], out);
        free(all);
        free(out);
        all = next;
    }
    /* Every enterprise's case file. */
    for (int i = 0; i < fx->nagents; i++) {
        char *bin = strdup(ts_bin("wanqi-agent"));
        char *argv[] = {bin, "list", "--type", "enterprise", "--format", "csv", "--dir",
                        fx->agents[i].dir, NULL};
        char *list = NULL;
        assert_int_equal(ts_run(argv, NULL, &list, NULL, 60000, NULL), 0);
        for (char *p = list; p && (p = strstr(p, ",enterprise,")); p++) {
            /* id,type,date,ent,... */
            char *ent = strchr(p + 12, ',');
            if (!ent)
                break;
            char code[19];
            snprintf(code, sizeof code, "%.18s", ent + 1);
            char *out = NULL;
            char *args[] = {"enterprise", code, "--format", "csv", NULL};
            assert_int_equal(fx_query(fx, &out, args), 0);
            char *next = ts_strf("%s== enterprise %s\n%s", all, code, out);
            free(all);
            free(out);
            all = next;
        }
        free(list);
        free(bin);
    }
    len = strlen(all);
    fprintf(stderr, "[fault] snapshot of the views: %zu bytes\n", len);
    return all;
}

static void test_restore_from_backup(void **state)
{
    (void) state;
    fx_t fx;
    fx_init(&fx, NULL, "max_batch = 50\n");
    int a = fx_agent_add(&fx, "130102-01", "130102", false, NULL);
    int b = fx_agent_add(&fx, "130627-01", "130627", false, NULL);
    fx_collector_start(&fx, NULL);
    fx_agent_start(&fx, a);
    fx_agent_start(&fx, b);
    long n = s_import_half(&fx, a, "130102", 81, 0) + s_import_half(&fx, b, "130627", 82, 0);
    fx_wait_drained(&fx, 120000);

    /* The backup, taken while the collector runs. */
    char *backup = ts_strf("%s/backup", fx.tmp);
    char *store = ts_strf("%s/store", fx.cdir);
    char *cmd = ts_strf("mkdir -p '%s' && mdb_copy '%s' '%s'", backup, store, backup);
    assert_int_equal(system(cmd), 0);
    free(cmd);

    n += s_import_half(&fx, a, "130102", 81, 1) + s_import_half(&fx, b, "130627", 82, 1);
    fx_wait_drained(&fx, 120000);
    char *before = s_snapshot(&fx);

    fx_collector_stop(&fx);
    cmd = ts_strf("rm -f '%s'/*.mdb && cp '%s/data.mdb' '%s/data.mdb'", store, backup, store);
    assert_int_equal(system(cmd), 0);
    free(cmd);
    fx_collector_start(&fx, NULL);
    fx_wait_drained(&fx, fx_light() ? 300000 : 120000);
    /* Each agent was told a mark below what it had acknowledged. */
    assert_int_equal(fx_count_in_file(fx.agents[a].log, "is below our acknowledged mark"), 1);
    assert_int_equal(fx_count_in_file(fx.agents[b].log, "is below our acknowledged mark"), 1);
    char *after = s_snapshot(&fx);
    assert_string_equal(after, before);

    fx_totals_t t;
    fx_check_exact(&fx, true, 0, &t);
    assert_int_equal(t.records, n);
    free(after);
    free(before);
    free(store);
    free(backup);
    fx_teardown(&fx);
}

static void test_reinitialised_agent(void **state)
{
    (void) state;
    fx_t fx;
    fx_init(&fx, NULL, NULL);
    int a = fx_agent_add(&fx, "130102-01", "130102", false, NULL);
    fx_collector_start(&fx, NULL);
    fx_agent_start(&fx, a);
    long n1 = s_import_half(&fx, a, "130102", 91, 0);
    fx_wait_drained(&fx, 120000);
    char inc1[9], inc2[9];
    fx_status_inc(&fx, a, inc1);
    fx_agent_stop(&fx, a);

    char *bin = strdup(ts_bin("wanqi-agent"));
    char *argv[] = {bin, "init", "--force-new-incarnation", "--dir", fx.agents[a].dir, NULL};
    char *out = NULL;
    assert_int_equal(ts_run(argv, NULL, &out, NULL, 60000, NULL), 0);
    free(out);
    free(bin);
    fx_status_inc(&fx, a, inc2);
    assert_string_not_equal(inc1, inc2);
    assert_int_equal(fx_status_num(&fx, a, "last_seq"), 0);

    /* The same seqs again, in the new stream: 1..n2. */
    long n2 = s_import_half(&fx, a, "130102", 91, 1);
    assert_int_equal(fx_status_num(&fx, a, "last_seq"), n2);
    fx_agent_start(&fx, a);
    fx_wait_drained(&fx, 120000);
    assert_int_equal(fx_collector_stream(&fx, "130102-01", inc1, "hwm"), n1);
    assert_int_equal(fx_collector_stream(&fx, "130102-01", inc1, "stored"), n1);
    assert_int_equal(fx_collector_stream(&fx, "130102-01", inc2, "hwm"), n2);
    assert_int_equal(fx_collector_stream(&fx, "130102-01", inc2, "stored"), n2);
    fprintf(stderr, "[fault] re-initialised: inc %s %ld records, inc %s %ld records, duplicates %ld\n",
            inc1, n1, inc2, n2, fx_collector_duplicates(&fx));
    assert_int_equal(fx_collector_duplicates(&fx), 0);
    fx_totals_t t;
    fx_check_exact(&fx, true, 0, &t);
    assert_int_equal(t.records, n1 + n2);
    fx_teardown(&fx);
}

int main(int argc, char **argv)
{
    /* One scenario per ctest test (tests/fault/CMakeLists.txt): argv[1]. */
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_restore_from_backup),
        cmocka_unit_test(test_reinitialised_agent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
