/*  =========================================================================
    test_fault_collector_kill - SIGKILL of the collector during ingest

    1. Random moments: two counties drain their backlogs through a link
       that delays acks; the collector is killed at random moments and
       restarted, many times. Its mark never goes back, and in the end it
       holds exactly what the agents accepted.
    2. Between commit and ack, on purpose: the link holds every ack
       (stall-down); we wait until the collector's mark is ABOVE what the
       agent has acknowledged (committed, ack not delivered), kill the
       collector there, and restart it: the agent learns the mark from
       WELCOME, resends nothing twice that gets counted, and the views come
       out exact.
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

static void s_backlog(fx_t *fx, int a, const char *county, int ents, int seed)
{
    char *path = ts_strf("%s/campaign-%s.jsonl", fx->tmp, county);
    long lines = fx_generate(fx, county, ents, seed, path, NULL);
    assert_int_equal(fx_import(fx, a, path, NULL, NULL), 0);
    assert_int_equal(fx_status_num(fx, a, "last_seq"), lines);
    free(path);
}

static void test_kill_at_random(void **state)
{
    (void) state;
    fx_t fx;
    fx_init(&fx, NULL, "max_batch = 100\n");
    fx_link_start(&fx, (char *[]){"--latency-down", "30", "--bandwidth-up", "800000", "--quiet",
                                  NULL});
    int a = fx_agent_add(&fx, "130102-01", "130102", true, NULL);
    int b = fx_agent_add(&fx, "130627-01", "130627", true, NULL);
    int ents = fx_light() ? 30 : 60;
    s_backlog(&fx, a, "130102", ents, 21);
    s_backlog(&fx, b, "130627", ents, 22);
    char inca[9], incb[9];
    fx_status_inc(&fx, a, inca);
    fx_status_inc(&fx, b, incb);

    fx_collector_start(&fx, NULL);
    fx_agent_start(&fx, a);
    fx_agent_start(&fx, b);
    int kills = fx_light() ? 8 : 15;
    long long prev = 0;
    int moved = 0;
    for (int k = 0; k < kills; k++) {
        /* Kill while ingest flows: once the marks moved since the last
           restart, at a random moment within the next 0.4 s. */
        int64_t deadline = fx_now_ms() + 60000;
        long long m;
        while ((m = fx_collector_stream(&fx, "130102-01", inca, "hwm") +
                    fx_collector_stream(&fx, "130627-01", incb, "hwm")) <= prev) {
            if (fx_now_ms() > deadline)
                fail_msg("no ingest for 60 s after collector restart %d (marks sum %lld; logs in %s)",
                         k, m, fx.tmp);
            ts_sleep_ms(50);
            if (m >= prev && fx_status_num(&fx, a, "queued") == 0 &&
                fx_status_num(&fx, b, "queued") == 0)
                break;      /* everything drained already */
            ts_sleep_ms(50);
        }
        assert_true(m >= prev);     /* nothing committed is ever lost */
        moved += m > prev;
        prev = m;
        ts_sleep_ms(fx_rand_between(0, 400));
        fx_collector_kill(&fx);
        fx_collector_start(&fx, NULL);
    }
    fprintf(stderr, "[fault] collector killed %d times at random (each after ingest resumed: %d); "
                    "marks sum %lld then\n", kills, moved, prev);
    fx_wait_drained(&fx, fx_light() ? 300000 : 120000);
    fprintf(stderr, "[fault] duplicates the collector absorbed: %ld\n",
            fx_collector_duplicates(&fx));
    fx_check_exact(&fx, true, 0, NULL);
    fx_teardown(&fx);
}

typedef struct {
    fx_t *fx;
    int a;
    char inc[9];
    long long acked, hwm;
} s_ahead_t;

/*  The collector has committed more than the agent has seen acknowledged. */
static bool s_collector_ahead(void *arg)
{
    s_ahead_t *s = arg;
    s->acked = fx_status_num(s->fx, s->a, "acknowledged");
    s->hwm = fx_collector_stream(s->fx, s->fx->agents[s->a].id, s->inc, "hwm");
    return s->hwm > s->acked && s->acked >= 0;
}

/*  The collector's mark moved above s->acked (used as "the last mark"). */
static bool s_collector_moved(void *arg)
{
    s_ahead_t *s = arg;
    return fx_collector_stream(s->fx, s->fx->agents[s->a].id, s->inc, "hwm") > s->acked;
}

static void test_kill_between_commit_and_ack(void **state)
{
    (void) state;
    fx_t fx;
    fx_init(&fx, NULL, "max_batch = 50\n");
    /* Slow enough that the backlog takes several rounds: batches travel
       compressed (about 25 bytes a record, issue 16), so 400 kbit/s would
       drain all of it before the second round. */
    fx_link_start(&fx, (char *[]){"--bandwidth-up", "24000", "--quiet", NULL});
    int a = fx_agent_add(&fx, "130102-01", "130102", true, NULL);
    s_backlog(&fx, a, "130102", 80, 31);
    s_ahead_t s = {&fx, a, "", 0, 0};
    fx_status_inc(&fx, a, s.inc);
    fx_collector_start(&fx, NULL);
    fx_agent_start(&fx, a);

    int rounds = fx_light() ? 3 : 5;
    long long last_hwm = 0;
    for (int r = 0; r < rounds; r++) {
        /* Wait until the agent is in a session and sending (its mark
           moves), then hold every ack from then on. */
        s.acked = last_hwm;
        if (!ts_wait_until(s_collector_moved, &s, 60000))
            fail_msg("the agent never resumed sending after the restart");
        fl_ok(fx.link, "stall-down on");
        if (!ts_wait_until(s_collector_ahead, &s, 60000))
            fail_msg("the collector never got ahead of the agent's acknowledged mark");
        fprintf(stderr, "[fault] round %d: collector committed up to %lld, agent acknowledged %lld: "
                        "killing the collector\n", r, s.hwm, s.acked);
        fx_collector_kill(&fx);
        fl_ok(fx.link, "stall-down off");
        fx_collector_start(&fx, NULL);
        /* Nothing committed is lost by the kill. */
        assert_true(fx_collector_stream(&fx, "130102-01", s.inc, "hwm") >= s.hwm);
        last_hwm = fx_collector_stream(&fx, "130102-01", s.inc, "hwm");
    }
    fx_wait_drained(&fx, fx_light() ? 300000 : 120000);
    fprintf(stderr, "[fault] duplicates the collector absorbed: %ld\n",
            fx_collector_duplicates(&fx));
    fx_check_exact(&fx, true, 0, NULL);
    fx_teardown(&fx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_at_random),
        cmocka_unit_test(test_kill_between_commit_and_ack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
