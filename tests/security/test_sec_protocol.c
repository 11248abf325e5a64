/*  =========================================================================
    test_sec_protocol - the low findings of issue 10 and protocol conformance

    - a REQ query client gets a RESULT (it used to get E_RANGE without the
      REQ delimiter and wait forever);
    - an agent's key on the query socket is refused (E_AUTH) before its
      message is decoded;
    - an agent that reports a backlog of 2^64-1 shows a clamped number, not
      -1, and `hours` that would overflow is refused;
    - a peers file writable by others is refused at start.
    =========================================================================
*/
#include "tests/collector/it_collector.h"

#include <sys/stat.h>

#define A_ID "130102-01"
#define A_COUNTY "130102"

static void
test_req_client_and_roles(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    it_start(&env);

    /* A REQ client with the authorized query client's key. */
    char *qcert = ts_strf("%s/client.cert", env.qdir);
    zcert_t *qc = zcert_load(qcert);
    assert_non_null(qc);
    zsock_t *req = zsock_new(ZMQ_REQ);
    assert_non_null(req);
    zsock_set_linger(req, 0);
    zsock_set_rcvtimeo(req, IT_TIMEOUT_MS);
    zcert_apply(qc, req);
    zsock_set_curve_serverkey(req, env.key);
    assert_int_equal(zsock_connect(req, "%s", env.query), 0);
    wq_msg_t q;
    memset(&q, 0, sizeof q);
    q.type = WQ_MSG_QUERY;
    q.query.request_id = 42;
    q.query.name = "agents";
    uint8_t *buf = NULL;
    size_t size = 0;
    wq_err_t err;
    assert_int_equal(wq_msg_encode(&q, &buf, &size, &err), WQ_OK);
    zframe_t *f = zframe_new(buf, size);
    free(buf);
    assert_int_equal(zframe_send(&f, req, 0), 0);
    zframe_t *r = zframe_recv(req);
    if (!r)
        fail_msg("REQ client: no answer within %d ms", IT_TIMEOUT_MS);
    wq_msg_t *res = NULL;
    assert_int_equal(wq_msg_decode(zframe_data(r), zframe_size(r), &res, &err), WQ_OK);
    assert_int_equal(res->type, WQ_MSG_RESULT);
    assert_int_equal(res->result.request_id, 42);
    assert_int_equal(res->result.status, WQ_OK);
    wq_msg_destroy(&res);
    zframe_destroy(&r);
    zsock_destroy(&req);
    zcert_destroy(&qc);
    free(qcert);

    /* An agent's key on the query socket: ERROR E_AUTH, garbage not decoded. */
    it_agent_t bad;
    memset(&bad, 0, sizeof bad);
    bad.dealer = zsock_new(ZMQ_DEALER);
    assert_non_null(bad.dealer);
    zsock_set_linger(bad.dealer, 0);
    zcert_apply(ca, bad.dealer);
    zsock_set_curve_serverkey(bad.dealer, env.key);
    assert_int_equal(zsock_connect(bad.dealer, "%s", env.query), 0);
    it_send_raw(&bad, "\xde\xad\xbe\xef", 4);
    wq_msg_t *e = it_expect(&bad, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_AUTH);
    wq_msg_destroy(&e);
    zsock_destroy(&bad.dealer);

    /* A backlog of 2^64-1 is clamped, not -1. */
    it_agent_t a;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, 5);
    it_send_hello(&a, NULL, 0, UINT64_MAX);
    wq_msg_t *w = it_expect(&a, WQ_MSG_WELCOME);
    wq_msg_destroy(&w);
    char *out = NULL;
    assert_int_equal(it_query(&env, &out, NULL, "agents", "--format", "json", NULL, NULL, NULL), 0);
    it_rows_t rows = it_json_rows(out);
    const wq_json_object_t *row = NULL;
    assert_int_equal(it_rows_where(&rows, "agent", A_ID, &row), 1);
    assert_true(it_int(row, "backlog") == INT64_MAX);
    it_rows_free(&rows);
    free(out);
    char *errout = NULL;
    assert_int_equal(it_query(&env, NULL, &errout, "agents", "--param", "hours=18446744073709551615",
                              NULL, NULL, NULL), 1);
    assert_non_null(strstr(errout, "hours"));
    free(errout);
    it_agent_close(&a);
    zcert_destroy(&ca);
    it_stop(&env);
    it_teardown(&env);
}

static void
test_world_writable_peers_refused(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    char *peers = ts_strf("%s/peers", env.cdir);
    assert_int_equal(chmod(peers, 0666), 0);
    char *argv[] = {(char *) ts_bin("wanqi-collector"), "run", "--dir", env.cdir, NULL};
    char *errout = NULL;
    int rc = ts_run(argv, NULL, NULL, &errout, 20000, NULL);
    assert_true(rc > 0);
    if (!errout || !strstr(errout, "chmod 600"))
        fail_msg("expected a refusal naming chmod 600, got: %s", errout ? errout : "");
    free(errout);
    free(peers);
    zcert_destroy(&ca);
    it_teardown(&env);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_req_client_and_roles),
        cmocka_unit_test(test_world_writable_peers_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
