/*  =========================================================================
    test_fault_soak - all the random kills together, for as long as asked

    Rounds of mixed faults on two counties behind a lossy link: imports
    killed at random moments, `run` killed at random moments, the collector
    killed while ingest flows, the link reset or cut. Each round then heals
    the link, waits until everything drained and checks exactness (per id,
    verify). In CI a fixed small number of rounds runs; with
    WANQI_SOAK_SECONDS=N rounds repeat for N seconds, and the totals are
    printed:

        WANQI_SOAK_SECONDS=1800 build/bin/test_fault_soak

    (run it with WANQI_BIN_DIR=build/bin, as ctest sets it).
    =========================================================================
*/
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/fault/harness.h"
#include "tests/support/testsupport.h"

typedef struct {
    long import_kills, run_kills, collector_kills, link_resets, link_cuts;
    long rounds, records, lost, dup, dups_absorbed;
} s_counts_t;

static void test_soak(void **state)
{
    (void) state;
    long soak = fx_soak_seconds();
    int ci_rounds = fx_light() ? 1 : 3;
    fx_t fx;
    fx_init(&fx, NULL, "max_batch = 50\n");
    fx_link_start(&fx, (char *[]){"--bandwidth-up", "1000000", "--latency", "10", "--drop-down",
                                  "0.01", "--seed", "13", "--quiet", NULL});
    const char *counties[2] = {"130102", "130627"};
    char *alone[2];
    long total[2], from[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        char *id = ts_strf("%s-01", counties[i]);
        fx_agent_add(&fx, id, counties[i], true, NULL);
        free(id);
        char *all = ts_strf("%s/campaign-%d.jsonl", fx.tmp, i);
        alone[i] = ts_strf("%s/alone-%d.jsonl", fx.tmp, i);
        fx_generate(&fx, counties[i], 60, 100 + i, all, NULL);
        total[i] = fx_standalone_lines(all, alone[i]);
        free(all);
    }
    fx_collector_start(&fx, NULL);
    fx_agent_start(&fx, 0);
    fx_agent_start(&fx, 1);

    s_counts_t c = {0};
    int64_t end = fx_now_ms() + soak * 1000;
    char *bin = strdup(ts_bin("wanqi-agent"));
    for (int r = 0; soak > 0 ? fx_now_ms() < end : r < ci_rounds; r++) {
        int steps = fx_rand_between(6, 12);
        for (int s = 0; s < steps; s++) {
            int i = fx_rand_between(0, 1);
            long n = fx_rand_between(5, 60);
            if (from[i] + n > total[i])
                from[i] = 0;
            char *chunk = ts_strf("%s/chunk.jsonl", fx.tmp);
            fx_slice_lines(alone[i], from[i], n, chunk);
            from[i] += n;
            char *argv[] = {bin, "import", chunk, "--repeat", "--dir", fx.agents[i].dir, NULL};
            pid_t pid = ts_spawn(argv, "/dev/null", NULL);
            int what = fx_rand_between(0, 5);
            ts_sleep_ms(fx_rand_between(0, 40));
            if (what == 0) {
                ts_kill(pid, SIGKILL);
                c.import_kills += ts_wait(pid, 30000) == 128 + SIGKILL;
            } else {
                int rc = ts_wait(pid, 60000);
                if (rc != 0)
                    fail_msg("import exited %d", rc);
            }
            switch (what) {
            case 1:
                fx_agent_kill(&fx, i);
                fx_agent_start(&fx, i);
                c.run_kills++;
                break;
            case 2:
                fx_collector_kill(&fx);
                fx_collector_start(&fx, NULL);
                c.collector_kills++;
                break;
            case 3: {
                char *reply = fl_cmd(fx.link, "reset");
                assert_memory_equal(reply, "ok", 2);
                free(reply);
                c.link_resets++;
                break;
            }
            case 4:
                fl_ok(fx.link, "cut on");
                ts_sleep_ms(fx_rand_between(200, 1500));
                fl_ok(fx.link, "cut off");
                c.link_cuts++;
                break;
            default:
                break;
            }
            ts_sleep_ms(fx_rand_between(0, 400));
            free(chunk);
        }
        fx_wait_drained(&fx, fx_light() ? 600000 : 300000);
        fx_totals_t t;
        fx_check_exact(&fx, true, 0, &t);
        c.rounds++;
        c.records = t.records;
        c.lost += t.lost;
        c.dup += t.dup;
    }
    c.dups_absorbed = fx_collector_duplicates(&fx);
    long faults = c.import_kills + c.run_kills + c.collector_kills + c.link_resets + c.link_cuts;
    fprintf(stderr,
            "[fault] SOAK %s: %ld rounds; %ld faults injected and survived (%ld imports killed, "
            "%ld agent runs killed, %ld collector kills, %ld link resets, %ld link cuts; plus %lld "
            "random ack-path resets by the link); %ld records accepted; %ld lost, %ld duplicated; "
            "%ld duplicate deliveries absorbed\n",
            soak > 0 ? "mode" : "(CI rounds)", c.rounds, faults, c.import_kills, c.run_kills,
            c.collector_kills, c.link_resets, c.link_cuts, fl_stat(fx.link, "resets") - c.link_resets,
            c.records, c.lost, c.dup, c.dups_absorbed);
    assert_int_equal(c.lost, 0);
    assert_int_equal(c.dup, 0);
    free(bin);
    free(alone[0]);
    free(alone[1]);
    fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_soak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
