/*  =========================================================================
    test_fault_agent_kill - SIGKILL of a county agent, many times

    1. While recording: `wanqi-agent import` of small slices is killed at a
       random moment (before, during or after its commit) while `wanqi-agent
       run` sends, and `run` itself is killed every few rounds. Every id an
       import printed must be in the outbox, the outbox stays 1..last with
       no hole, and in the end the collector holds exactly the outbox.
    2. While sending: a backlog crosses a bandwidth-capped link and `run` is
       killed at random moments (mid-batch, between a commit and its ack
       reaching the agent, while storing the ack), then restarted.
    Both end with fx_check_exact (per id) and `verify` == 0.
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

/*  Ids printed by an import ("LINE<TAB>AGENT/INC/SEQ" lines of its log):
    their number, and the largest seq among them (in the current inc). */
static long s_printed(const char *log_path, const char *inc, long long *max_seq)
{
    char *text = ts_read_file(log_path);
    long n = 0;
    for (char *line = text; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = 0;
        char agent[64], in[16];
        unsigned long long seq;
        long no;
        if (sscanf(line, "%ld\t%63[^/]/%15[^/]/%llu", &no, agent, in, &seq) == 4) {
            if (strcmp(in, inc) != 0)
                fail_msg("import printed an id of incarnation %s, not %s", in, inc);
            n++;
            if ((long long) seq > *max_seq)
                *max_seq = (long long) seq;
        }
        line = eol ? eol + 1 : NULL;
    }
    free(text);
    return n;
}

static void test_kill_while_recording(void **state)
{
    (void) state;
    fx_t fx;
    fx_init(&fx, NULL, "max_batch = 50\n");
    fx_link_start(&fx, (char *[]){"--latency", "5", "--quiet", NULL});
    int a = fx_agent_add(&fx, "130102-01", "130102", true, NULL);
    fx_collector_start(&fx, NULL);
    fx_agent_start(&fx, a);

    char *all = ts_strf("%s/campaign.jsonl", fx.tmp);
    char *alone = ts_strf("%s/standalone.jsonl", fx.tmp);
    fx_generate(&fx, "130102", 30, 11, all, NULL);
    long total = fx_standalone_lines(all, alone);
    assert_true(total > 100);

    char inc[9];
    fx_status_inc(&fx, a, inc);
    int rounds = fx_light() ? 12 : 40;
    int max_delay = fx_light() ? 250 : 80;
    long from = 0, printed = 0, killed = 0, finished = 0, run_kills = 0;
    long long max_printed = 0;
    for (int r = 0; r < rounds; r++) {
        long n = fx_rand_between(1, 30);
        if (from + n > total)
            from = 0;   /* records again what was recorded before: new events */
        char *chunk = ts_strf("%s/chunk-%d.jsonl", fx.tmp, r);
        char *log = ts_strf("%s/import-%d.log", fx.tmp, r);
        fx_slice_lines(alone, from, n, chunk);
        from += n;
        char *bin = strdup(ts_bin("wanqi-agent"));
        char *argv[] = {bin, "import", chunk, "--repeat", "--dir", fx.agents[a].dir, NULL};
        pid_t pid = ts_spawn(argv, log, NULL);
        ts_sleep_ms(fx_rand_between(0, max_delay));
        ts_kill(pid, SIGKILL);
        int rc = ts_wait(pid, 30000);
        if (rc == 128 + SIGKILL)
            killed++;
        else if (rc == 0)
            finished++;
        else
            fail_msg("import %d exited %d (log %s)", r, rc, log);
        printed += s_printed(log, inc, &max_printed);
        if (fx_rand_between(0, 2) == 0) {
            fx_agent_kill(&fx, a);
            fx_agent_start(&fx, a);
            run_kills++;
        }
        free(bin);
        free(log);
        free(chunk);
    }

    long long last = fx_status_num(&fx, a, "last_seq");
    fprintf(stderr,
            "[fault] recording: %d imports, %ld killed, %ld finished; %ld ids printed, outbox last "
            "seq %lld (%lld committed but not printed before the kill); run killed %ld times\n",
            rounds, killed, finished, printed, last, last - printed, run_kills);
    /* Every printed id is durable: printed ids are a subset of 1..last. */
    assert_true(max_printed <= last);
    assert_true(printed <= last);

    fx_wait_drained(&fx, fx_light() ? 300000 : 120000);
    fx_totals_t t;
    fx_check_exact(&fx, true, 0, &t);
    assert_int_equal(t.records, last);
    free(all);
    free(alone);
    fx_teardown(&fx);
}

static void test_kill_while_sending(void **state)
{
    (void) state;
    fx_t fx;
    fx_init(&fx, NULL, "max_batch = 100\n");
    fx_link_start(&fx, (char *[]){"--bandwidth-up", "400000", "--latency", "10", "--quiet",
                                  NULL});
    int a = fx_agent_add(&fx, "130181-01", "130181", true, NULL);
    char *all = ts_strf("%s/campaign.jsonl", fx.tmp);
    long lines = fx_generate(&fx, "130181", fx_light() ? 40 : 80, 5, all, NULL);
    assert_int_equal(fx_import(&fx, a, all, NULL, NULL), 0);
    assert_int_equal(fx_status_num(&fx, a, "last_seq"), lines);
    fx_collector_start(&fx, NULL);

    int kills = fx_light() ? 8 : 15;
    char inc[9];
    fx_status_inc(&fx, a, inc);
    long long prev_hwm = 0;
    int progressed = 0;
    for (int k = 0; k < kills; k++) {
        fx_agent_start(&fx, a);
        ts_sleep_ms(fx_rand_between(200, fx_light() ? 2000 : 1200));
        fx_agent_kill(&fx, a);
        long long hwm = fx_collector_stream(&fx, "130181-01", inc, "hwm");
        /* The collector's mark never goes back. */
        assert_true(hwm >= prev_hwm);
        progressed += hwm > prev_hwm;
        prev_hwm = hwm;
    }
    fprintf(stderr, "[fault] sending: %d kills of run, %d of them after progress; collector mark "
                    "%lld of %ld after the kills\n",
            kills, progressed, prev_hwm, lines);
    fx_agent_start(&fx, a);
    fx_wait_drained(&fx, fx_light() ? 300000 : 120000);
    fx_totals_t t;
    fx_check_exact(&fx, true, 0, &t);
    assert_int_equal(t.records, lines);
    free(all);
    fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_while_recording),
        cmocka_unit_test(test_kill_while_sending),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
