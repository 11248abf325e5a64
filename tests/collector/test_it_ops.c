/*  =========================================================================
    test_it_ops - operating the collector: peers reloaded on SIGHUP, and a
    full store that stops acknowledging, loses nothing and recovers

    Real wanqi-collector and wanqi-query on loopback, the test agent of
    it_collector.h.
    =========================================================================
*/
#include "tests/collector/it_collector.h"

#include <inttypes.h>

#define A_ID "130102-01"
#define A_COUNTY "130102"
#define B_ID "131102-01"     /* 桃城区, 衡水市 */
#define B_COUNTY "131102"

/*  A key authorized while the collector runs gets in after SIGHUP; a key
    removed from the file is refused on its open connection. */
static void
test_sighup_reloads_peers(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    it_start(&env);
    it_agent_t a;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, 0xa0a0a0a0u);
    assert_int_equal(it_hello(&a), 0);
    it_batch_acked(&a, 1, 4, 100);

    /* B is not yet authorized. */
    zcert_t *cb = zcert_new();
    it_agent_t b;
    it_agent_connect(&b, &env, cb, B_ID, B_COUNTY, 0xb0b0b0b0u);
    it_send_hello(&b, NULL, 0, 0);
    assert_int_equal(it_agent_event(&b, IT_TIMEOUT_MS), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    it_agent_close(&b);

    /* Authorize B, reload. */
    char *bcert = ts_strf("%s/b.cert", env.tmp);
    assert_int_equal(zcert_save_public(cb, bcert), 0);
    char *auth[] = {(char *) ts_bin("wanqi-collector"), "authorize", "agent", "--dir", env.cdir, "--key", bcert,
                    "--agent-id", B_ID, "--county", B_COUNTY, NULL};
    assert_int_equal(it_run(NULL, NULL, auth), 0);
    ts_kill(env.pid, SIGHUP);
    it_wait_log(&env, "peers reloaded", 1);
    it_agent_connect(&b, &env, cb, B_ID, B_COUNTY, 0xb0b0b0b0u);
    assert_int_equal(it_hello(&b), 0);
    it_batch_acked(&b, 1, 8, 200);

    /* A's open connection still works (its key is still listed). */
    it_batch_acked(&a, 5, 8, 100);

    /* Remove A from the file (keep B and the client), reload: A's open
       connection is closed by the collector at the reload, and its
       reconnection is refused at the handshake (docs/SECURITY.md). */
    it_revoke(&env, A_ID);
    it_wait_log(&env, "peers reloaded", 2);
    it_wait_log(&env, "closed the connection of key", 1);
    int ev;
    do
        ev = it_agent_event(&a, IT_TIMEOUT_MS);
    while (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED);     /* its first connection's */
    assert_int_equal(ev, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);

    /* A broken peers file is refused; the previous list stays in force. */
    char *peers_path = ts_strf("%s/peers", env.cdir);
    ts_write_file(peers_path, "agent nonsense\n");
    ts_kill(env.pid, SIGHUP);
    it_wait_log(&env, "peers not reloaded", 1);
    it_batch_acked(&b, 9, 12, 200);

    /* 4 + 4 records of A (2 enterprises, 6 visits), 12 of B (3, 9). */
    char *out = NULL;
    assert_int_equal(it_query(&env, &out, NULL, "summary", "--format", "json", NULL, NULL, NULL), 0);
    it_rows_t rows = it_json_rows(out);
    const wq_json_object_t *row = NULL;
    assert_int_equal(it_rows_where(&rows, "area", "130000", &row), 1);
    assert_int_equal(it_int(row, "enterprises_registered"), 5);
    assert_int_equal(it_int(row, "visits"), 15);
    it_rows_free(&rows);
    free(out);

    it_agent_close(&a);
    it_agent_close(&b);
    it_stop(&env);
    free(peers_path);
    free(bcert);
    zcert_destroy(&ca);
    zcert_destroy(&cb);
    it_teardown(&env);
}

/*  A store too small: the collector answers E_FULL, logs it, acknowledges
    nothing of that batch; after a restart with a larger map the agent
    resends from the mark and everything is counted exactly once. */
static void
test_store_full(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    /* The smallest map the config allows. */
    char *conf = ts_strf("%s/collector.conf", env.cdir);
    char *text = ts_read_file(conf);
    assert_non_null(text);
    char *mapline = strstr(text, "\nmap_size = ");
    assert_non_null(mapline);
    char *eol = strchr(mapline + 1, '\n');
    char *newtext = ts_strf("%.*s\nmap_size = 1M%s", (int) (mapline - text), text, eol);
    ts_write_file(conf, newtext);
    free(newtext);
    free(text);
    it_start(&env);

    it_agent_t a;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, 0xf011f011u);
    assert_int_equal(it_hello(&a), 0);
    uint64_t next = 1, acked = 0;
    bool full = false;
    for (int i = 0; i < 400 && !full; i++) {
        it_send_campaign(&a, next, next + 49, 7000);
        wq_msg_t *m = it_recv(&a, IT_TIMEOUT_MS);
        assert_non_null(m);
        if (m->type == WQ_MSG_ACK) {
            assert_int_equal(m->ack.hwm, next + 49);
            acked = m->ack.hwm;
            next += 50;
        } else {
            assert_int_equal(m->type, WQ_MSG_ERROR);
            assert_int_equal(m->error.code, WQ_E_FULL);
            full = true;
        }
        wq_msg_destroy(&m);
    }
    assert_true(full);
    assert_true(acked > 0);
    it_wait_log(&env, "STORE FULL", 1);
    /* Nothing of the refused batch was kept. */
    it_send_hello(&a, NULL, next + 49, 50);
    wq_msg_t *w = it_expect(&a, WQ_MSG_WELCOME);
    assert_int_equal(w->welcome.hwm, acked);
    wq_msg_destroy(&w);
    it_agent_close(&a);
    it_stop(&env);

    /* Restart with room: resend from the mark. */
    it_start_with(&env, "64M");
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, 0xf011f011u);
    assert_int_equal(it_hello(&a), acked);
    uint64_t total = acked + 100;
    it_batch_acked(&a, acked + 1, total, 7000);

    char *out = NULL;
    assert_int_equal(it_query(&env, &out, NULL, "agents", "--format", "json", NULL, NULL, NULL), 0);
    it_rows_t rows = it_json_rows(out);
    const wq_json_object_t *row = NULL;
    assert_int_equal(it_rows_where(&rows, "agent", A_ID, &row), 1);
    assert_int_equal(it_int(row, "stored"), (long long) total);
    it_rows_free(&rows);
    free(out);
    assert_int_equal(it_query(&env, &out, NULL, "summary", "--level", "county", "--format", "json", NULL), 0);
    rows = it_json_rows(out);
    assert_int_equal(it_rows_where(&rows, "area", A_COUNTY, &row), 1);
    assert_int_equal(it_int(row, "enterprises_registered"), (long long) ((total + 3) / 4));
    assert_int_equal(it_int(row, "visits"), (long long) (total - (total + 3) / 4));
    it_rows_free(&rows);
    free(out);
    char *verify[] = {(char *) ts_bin("wanqi-collector"), "verify", "--dir", env.cdir, "--map-size", "64M", NULL};
    assert_int_equal(it_run(NULL, NULL, verify), 0);

    it_agent_close(&a);
    it_stop(&env);
    free(conf);
    zcert_destroy(&ca);
    it_teardown(&env);
}

/*  One `run` per data directory; SIGINT stops the collector cleanly too
    (exit 0); `run` refuses to start on a broken config with a clear
    message (exit 1). */
static void
test_start_stop(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    it_start(&env);
    char *out = NULL;
    assert_int_equal(it_query(&env, &out, NULL, "agents", "--format", "csv", NULL, NULL, NULL), 0);
    free(out);
    /* A second `run` on the same directory (other ports) is refused. */
    char *errout = NULL;
    char *ep1 = ts_strf("tcp://127.0.0.1:%d", ts_free_port());
    char *ep2 = ts_strf("tcp://127.0.0.1:%d", ts_free_port());
    char *second[] = {(char *) ts_bin("wanqi-collector"), "run", "--dir", env.cdir, "--ingest", ep1, "--query", ep2,
                      NULL};
    assert_int_equal(it_run(NULL, &errout, second), 1);
    assert_non_null(strstr(errout, "already serving"));
    free(errout);
    free(ep1);
    free(ep2);
    ts_kill(env.pid, SIGINT);
    assert_int_equal(ts_wait(env.pid, 20000), 0);
    env.pid = 0;

    char *conf = ts_strf("%s/collector.conf", env.cdir);
    ts_write_file(conf, "credit = many\n");
    char *argv[] = {(char *) ts_bin("wanqi-collector"), "run", "--dir", env.cdir, NULL};
    assert_int_equal(it_run(NULL, &errout, argv), 1);
    assert_non_null(strstr(errout, "credit"));
    free(errout);
    free(conf);
    it_teardown(&env);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sighup_reloads_peers),
        cmocka_unit_test(test_store_full),
        cmocka_unit_test(test_start_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
