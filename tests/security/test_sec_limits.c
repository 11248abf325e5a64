/*  =========================================================================
    test_sec_limits - per-key limits on a real collector

    Issue 10, finding 4: every HELLO with a new incarnation wrote a
    permanent stream row (3 000 in 27 s from one key), and one key could
    hold sessions up to the global cap of 100 000. Now one agent has at most
    WQ_STREAMS_MAX_PER_AGENT incarnations (a further HELLO is refused with
    E_RANGE and writes nothing), and one key at most 4 sessions (a HELLO on
    a fifth connection forgets the key's least recently active session,
    whose next BATCH gets E_STATE). Finding 2 (quoted in docs/SECURITY.md):
    a county's records in one entity are capped, each refusal quarantined
    and visible.
    =========================================================================
*/
#include "tests/collector/it_collector.h"

#include "collector/central.h"

#define A_ID "130102-01"
#define A_COUNTY "130102"

static void
test_incarnations_per_agent(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    it_start(&env);
    it_agent_t a;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, 1);
    for (uint32_t inc = 1; inc <= WQ_STREAMS_MAX_PER_AGENT; inc++) {
        a.inc = inc;
        assert_int_equal(it_hello(&a), 0);
    }
    a.inc = WQ_STREAMS_MAX_PER_AGENT + 1;
    it_send_hello(&a, NULL, 0, 0);
    wq_msg_t *e = it_expect(&a, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_RANGE);
    assert_non_null(strstr(e->error.text, "incarnations"));
    wq_msg_destroy(&e);
    /* Nothing was written: exactly the allowed rows. */
    char *out = NULL;
    assert_int_equal(it_query(&env, &out, NULL, "agents", "--format", "json", NULL, NULL, NULL), 0);
    it_rows_t rows = it_json_rows(out);
    assert_int_equal(it_rows_where(&rows, "agent", A_ID, NULL), WQ_STREAMS_MAX_PER_AGENT);
    it_rows_free(&rows);
    free(out);
    /* An existing incarnation still says HELLO. */
    a.inc = 3;
    assert_int_equal(it_hello(&a), 0);
    it_agent_close(&a);
    zcert_destroy(&ca);
    it_stop(&env);
    it_teardown(&env);
}

static void
test_sessions_per_key(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    it_start(&env);
    enum { N = 6 };
    it_agent_t a[N];
    for (int i = 0; i < N; i++) {
        it_agent_connect(&a[i], &env, ca, A_ID, A_COUNTY, 0x77u);
        assert_int_equal(it_hello(&a[i]), 0);
    }
    /* The two oldest were forgotten: their BATCH is refused with E_STATE. */
    for (int i = 0; i < 2; i++) {
        it_send_campaign(&a[i], 1, 4, 1);
        wq_msg_t *e = it_expect(&a[i], WQ_MSG_ERROR);
        assert_int_equal(e->error.code, WQ_E_STATE);
        wq_msg_destroy(&e);
    }
    /* The newest works. */
    it_batch_acked(&a[N - 1], 1, 4, 1);
    for (int i = 0; i < N; i++)
        it_agent_close(&a[i]);
    zcert_destroy(&ca);
    it_stop(&env);
    it_teardown(&env);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_incarnations_per_agent),
        cmocka_unit_test(test_sessions_per_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
