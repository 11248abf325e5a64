/*  =========================================================================
    test_fault_collector_kill - SIGKILL of the collector during ingest

    1. Random moments: two counties drain their backlogs through a link
       that delays acks; the collector is killed at random moments and
       restarted, many times. Its mark never goes back, and in the end it
       holds exactly what the agents accepted.
    2. Between commit and ack, on purpose: each round imports fresh
       records, waits until batches cross the link, then the link holds
       every ack (stall-down); we wait until the collector's mark is ABOVE
       what the agent has acknowledged (committed, ack not delivered), kill
       the collector there, and restart it: the agent learns the mark from
       WELCOME, resends nothing twice that gets counted, and the views come
       out exact. (Each round brings its own records and starts drained, so
       no scheduling can leave a round with nothing to send.)
    =========================================================================
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/fault/harness.h"
#include "tests/support/testsupport.h"

/*  Generate and import a campaign file: the agent's last seq grows by
    exactly its number of lines. */
static void s_backlog(fx_t *fx, int a, const char *county, int ents, int seed)
{
    char *path = ts_strf("%s/campaign-%s-%d.jsonl", fx->tmp, county, seed);
    long long before = fx_status_num(fx, a, "last_seq");
    long lines = fx_generate(fx, county, ents, seed, path, NULL);
    assert_int_equal(fx_import(fx, a, path, NULL, NULL), 0);
    assert_int_equal(fx_status_num(fx, a, "last_seq"), (before > 0 ? before : 0) + lines);
    free(path);
}

/*  The collector's mark for a stream; 0 while it does not know the stream
    yet (the agent has not said HELLO: on a loaded machine that takes a
    while after a start). */
static long long s_mark(fx_t *fx, const char *agent, const char *inc)
{
    long long hwm = fx_collector_stream(fx, agent, inc, "hwm");
    return hwm < 0 ? 0 : hwm;
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
    /* The final per-id check runs one wanqi-query per enterprise: in the
       sanitizer build, on a saturated machine, each takes seconds. */
    int ents = fx_light() ? 15 : 60;
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
        while ((m = s_mark(&fx, "130102-01", inca) + s_mark(&fx, "130627-01", incb)) <= prev) {
            if (fx_now_ms() > deadline)
                ts_fail("no ingest for 60 s after collector restart %d (marks sum %lld; logs in %s)",
                         k, m, fx.tmp);
            ts_sleep_ms(50);
            if (m >= prev && fx_status_num(&fx, a, "queued") == 0 &&
                fx_status_num(&fx, b, "queued") == 0)
                break;      /* everything drained already */
            ts_sleep_ms(50);
        }
        if (m < prev)   /* nothing committed is ever lost */
            ts_fail("kill %d: the collector's marks went back from %lld to %lld in all", k, prev, m);
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
    /* No ack yet (status null, -1) is an acknowledged mark of 0. */
    return s->hwm > (s->acked > 0 ? s->acked : 0);
}

static void test_kill_between_commit_and_ack(void **state)
{
    (void) state;
    fx_t fx;
    /* Acks are held by stalling the link's downstream before a round's
       records are imported: whatever the agent sends then is committed
       and never acknowledged, however late the scheduler runs this test.
       The stall also holds PINGs' answers, so the heartbeat is long (the
       agent gives a silent link up after 3 of them): the session outlives
       the import, a slow one under load included, and the agent keeps
       sending into it. A kill resets the connection anyway. */
    fx_init(&fx, NULL, "max_batch = 20\nheartbeat_ms = 20000\n");
    fx_link_start(&fx, (char *[]){"--bandwidth-up", "12000", "--quiet", NULL});
    int a = fx_agent_add(&fx, "130102-01", "130102", true, NULL);
    s_ahead_t s = {&fx, a, "", 0, 0};
    fx_status_inc(&fx, a, s.inc);
    fx_collector_start(&fx, NULL);
    fx_agent_start(&fx, a);
    /* A first few records, so that "drained" below means "in session". */
    s_backlog(&fx, a, "130102", 2, 30);

    int rounds = fx_light() ? 3 : 5;
    for (int r = 0; r < rounds; r++) {
        /* Each round starts drained and in session (every record
           acknowledged), and brings its own records. */
        fx_wait_drained(&fx, fx_light() ? 300000 : 120000);
        fl_ok(fx.link, "stall-down on");
        s_backlog(&fx, a, "130102", 20, 31 + r);
        if (!ts_wait_until(s_collector_ahead, &s, 90000))
            ts_fail("round %d: the collector's mark did not get ahead of the agent's acknowledged "
                    "mark within 90 s of an import with the acks held (last seen: mark %lld, "
                    "acknowledged %lld)", r, s.hwm, s.acked);
        fprintf(stderr, "[fault] round %d: collector committed up to %lld, agent acknowledged %lld: "
                        "killing the collector\n", r, s.hwm, s.acked);
        fx_collector_kill(&fx);
        fl_ok(fx.link, "stall-down off");
        fx_collector_start(&fx, NULL);
        /* Nothing committed is lost by the kill. */
        long long after = fx_collector_stream(&fx, "130102-01", s.inc, "hwm");
        if (after < s.hwm)
            ts_fail("round %d: the collector's mark went back from %lld to %lld after a kill", r,
                    s.hwm, after);
    }
    fx_wait_drained(&fx, fx_light() ? 300000 : 120000);
    fprintf(stderr, "[fault] duplicates the collector absorbed: %ld\n",
            fx_collector_duplicates(&fx));
    fx_check_exact(&fx, true, 0, NULL);
    fx_teardown(&fx);
}

int main(int argc, char **argv)
{
    /* One scenario per ctest test (tests/fault/CMakeLists.txt): argv[1]. */
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_at_random),
        cmocka_unit_test(test_kill_between_commit_and_ack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
