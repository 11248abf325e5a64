/*  =========================================================================
    test_it_crash - SIGKILL the collector mid-ingest, restart, lose nothing

    A test agent (it_collector.h) pumps batches with several in flight; the
    collector is killed with SIGKILL right after an ACK arrives, while the
    next batches are being received and committed. After each restart the
    agent resends from what it last saw acknowledged (so batches committed
    but never acknowledged arrive twice), as an agent whose ack was lost
    would. At the end the store holds every record exactly once: the
    summary, the agents table, the store's own count and `verify` agree.
    The same scenario with SIGTERM checks the clean shutdown: exit 0 with
    the batch in hand either committed and acknowledged or not started.
    =========================================================================
*/
#include "tests/collector/it_collector.h"
#include "collector/central.h"

#include <inttypes.h>

#define A_ID "130102-01"
#define A_COUNTY "130102"
#define B_ID "130627-01"     /* 唐县, 保定市 */
#define B_COUNTY "130627"
#define N_RECORDS 1200
#define BATCH 40
#define CREDIT 4

/*  The signal s_pump stops the collector with. */
static int s_signal = SIGKILL;

/*  Send [from, to] in batches of BATCH with up to CREDIT unacknowledged.
    If kill_after > 0, SIGKILL the collector delay_ms after that many ACKs
    have arrived (0: at once, most likely before the next commit; later:
    most likely after commits whose ACKs are never read, i.e. the case of
    an ACK lost after its commit). Returns the highest acknowledged mark (from - 1 if none). */
static uint64_t
s_pump(it_env_t *env, it_agent_t *a, uint64_t from, uint64_t to, unsigned base, int kill_after, int delay_ms)
{
    uint64_t next = from, acked = from - 1;
    uint64_t inflight_last[CREDIT * 2];
    size_t inflight = 0;
    int acks = 0;
    while (acked < to) {
        while (next <= to && inflight < CREDIT) {
            uint64_t last = next + BATCH - 1 > to ? to : next + BATCH - 1;
            it_send_campaign(a, next, last, base);
            inflight_last[inflight++] = last;
            next = last + 1;
        }
        wq_msg_t *ack = it_expect(a, WQ_MSG_ACK);
        assert_int_equal(ack->ack.count, 0);
        /* Acks come in order; each says at least its batch's last seq. */
        assert_true(ack->ack.hwm >= inflight_last[0]);
        if (ack->ack.hwm > acked)
            acked = ack->ack.hwm;
        memmove(inflight_last, inflight_last + 1, (inflight - 1) * sizeof inflight_last[0]);
        inflight--;
        wq_msg_destroy(&ack);
        if (kill_after > 0 && ++acks == kill_after) {
            if (delay_ms > 0)
                ts_sleep_ms(delay_ms);
            if (s_signal == SIGKILL)
                it_kill9(env);
            else
                it_stop(env);   /* SIGTERM: must finish the transaction and exit 0 */
            return acked;
        }
    }
    return acked;
}

static void
test_sigkill_mid_ingest(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    zcert_t *cb = it_authorize_agent(&env, B_ID, B_COUNTY);
    it_start(&env);

    it_agent_t a;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, 0x51a7e001u);
    assert_int_equal(it_hello(&a), 0);
    uint64_t acked = s_pump(&env, &a, 1, N_RECORDS, 1000, 5, 0);
    assert_true(acked >= 5 * BATCH);
    it_agent_close(&a);

    /* Kill twice more at different points, each time resending from the
       last ack the agent saw. */
    int kills[] = {3, 7, 2};
    int delays[] = {50, 0, 200};
    for (size_t k = 0; k < sizeof kills / sizeof kills[0]; k++) {
        it_start(&env);
        it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, 0x51a7e001u);
        a.last_seq = N_RECORDS;
        uint64_t hwm = it_hello(&a);
        fprintf(stderr, "restart %zu: last ack seen %" PRIu64 ", collector's mark %" PRIu64 "\n", k + 1, acked, hwm);
        /* Everything acknowledged survived; batches commit whole. */
        assert_true(hwm >= acked);
        assert_true(hwm <= N_RECORDS);
        assert_int_equal(hwm % BATCH, 0);
        uint64_t got = s_pump(&env, &a, acked + 1, N_RECORDS, 1000, kills[k], delays[k]);
        assert_true(got >= hwm);
        acked = got;
        it_agent_close(&a);
    }

    /* Final run: finish A from its last ack, and B syncs too. */
    it_start(&env);
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, 0x51a7e001u);
    a.last_seq = N_RECORDS;
    assert_true(it_hello(&a) >= acked);
    assert_int_equal(s_pump(&env, &a, acked + 1, N_RECORDS, 1000, 0, 0), N_RECORDS);
    /* A whole resend of an early range is absorbed. */
    assert_int_equal(s_pump(&env, &a, 1, 2 * BATCH, 1000, 0, 0), N_RECORDS);
    it_agent_t b;
    it_agent_connect(&b, &env, cb, B_ID, B_COUNTY, 0x0b0b0b0bu);
    assert_int_equal(it_hello(&b), 0);
    assert_int_equal(s_pump(&env, &b, 1, 100, 5000, 0, 0), 100);

    /* Exactly once: A 1200 records = 300 enterprises + 900 visits; B 100
       records = 25 + 75. */
    char *out = NULL;
    assert_int_equal(it_query(&env, &out, NULL, "summary", "--level", "county", "--format", "json", NULL), 0);
    it_rows_t rows = it_json_rows(out);
    const wq_json_object_t *row = NULL;
    assert_int_equal(it_rows_where(&rows, "area", A_COUNTY, &row), 1);
    assert_int_equal(it_int(row, "enterprises_registered"), N_RECORDS / 4);
    assert_int_equal(it_int(row, "enterprises_visited"), N_RECORDS / 4);
    assert_int_equal(it_int(row, "visits"), N_RECORDS * 3 / 4);
    assert_int_equal(it_rows_where(&rows, "area", B_COUNTY, &row), 1);
    assert_int_equal(it_int(row, "enterprises_registered"), 25);
    assert_int_equal(it_int(row, "visits"), 75);
    it_rows_free(&rows);
    free(out);
    assert_int_equal(it_query(&env, &out, NULL, "summary", "--format", "json", NULL, NULL, NULL), 0);
    rows = it_json_rows(out);
    assert_int_equal(it_rows_where(&rows, "area", "130000", &row), 1);
    assert_int_equal(it_int(row, "enterprises_registered"), N_RECORDS / 4 + 25);
    assert_int_equal(it_int(row, "visits"), N_RECORDS * 3 / 4 + 75);
    it_rows_free(&rows);
    free(out);

    assert_int_equal(it_query(&env, &out, NULL, "agents", "--format", "json", NULL, NULL, NULL), 0);
    rows = it_json_rows(out);
    assert_int_equal(it_rows_where(&rows, "agent", A_ID, &row), 1);
    assert_int_equal(it_int(row, "hwm"), N_RECORDS);
    assert_int_equal(it_int(row, "stored"), N_RECORDS);
    assert_int_equal(it_int(row, "quarantined"), 0);
    it_rows_free(&rows);
    free(out);

    char *verify[] = {(char *) ts_bin("wanqi-collector"), "verify", "--dir", env.cdir, NULL};
    assert_int_equal(it_run(NULL, NULL, verify), 0);

    it_agent_close(&a);
    it_agent_close(&b);
    it_stop(&env);

    /* The store itself: exactly the records sent, two streams. */
    char *store = ts_strf("%s/store", env.cdir);
    wq_central_t *c = NULL;
    wq_err_t err;
    assert_int_equal(wq_central_open(store, 64u << 20, &c, &err), WQ_OK);
    wq_central_stats_t st;
    assert_int_equal(wq_central_stats(c, &st, &err), WQ_OK);
    assert_int_equal(st.events, N_RECORDS + 100);
    assert_int_equal(st.quarantined, 0);
    assert_int_equal(st.streams, 2);
    uint64_t diffs = 99;
    assert_int_equal(wq_central_verify(c, NULL, &diffs, &err), WQ_OK);
    assert_int_equal(diffs, 0);
    wq_central_destroy(&c);
    free(store);

    zcert_destroy(&ca);
    zcert_destroy(&cb);
    it_teardown(&env);
}

/*  The same with SIGTERM: the collector finishes the batch in hand, exits
    0, and nothing is lost or counted twice. */
static void
test_sigterm_mid_ingest(void **state)
{
    s_signal = SIGTERM;
    test_sigkill_mid_ingest(state);
    s_signal = SIGKILL;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_mid_ingest),
        cmocka_unit_test(test_sigterm_mid_ingest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
