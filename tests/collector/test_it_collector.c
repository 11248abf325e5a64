/*  =========================================================================
    test_it_collector - the real wanqi-collector and wanqi-query on loopback

    Each test starts a fresh collector (init, authorize, run on 127.0.0.1
    with ephemeral ports) and talks to it with the test agent of
    it_collector.h (a DEALER with real CURVE keys speaking proto/msg.h) and
    with the real wanqi-query. What the agents send is known exactly, so
    every figure is checked exactly.
    =========================================================================
*/
#include "tests/collector/it_collector.h"

#include <sys/stat.h>

#define A_ID "130102-01"     /* 长安区, 石家庄市 */
#define A_COUNTY "130102"
#define B_ID "130203-01"     /* 路北区, 唐山市 */
#define B_COUNTY "130203"
#define A_INC 0x1a2b3c4du
#define B_INC 0x0badf00du

/*  summary --format json at a level; row for area. */
static void
s_expect_summary(it_env_t *env, const char *level, const char *area, long long registered, long long visited,
                 long long visits)
{
    char *out = NULL;
    int rc = it_query(env, &out, NULL, "summary", "--level", level, "--format", "json", NULL);
    assert_int_equal(rc, 0);
    it_rows_t rows = it_json_rows(out);
    const wq_json_object_t *row = NULL;
    if (it_rows_where(&rows, "area", area, &row) != 1)
        fail_msg("summary --level %s: no single row for %s in %s", level, area, out);
    assert_int_equal(it_int(row, "enterprises_registered"), registered);
    assert_int_equal(it_int(row, "enterprises_visited"), visited);
    assert_int_equal(it_int(row, "visits"), visits);
    it_rows_free(&rows);
    free(out);
}

/*  Two counties of two cities sync; the summary shows exactly what they
    sent, by county, city and province, in JSON and in CSV. */
/*  Run wanqi-query with the test client and any number of arguments
    (NULL-terminated); returns the exit status. */
static int
s_query_v(it_env_t *env, char **out, const char *const *args)
{
    char *argv[32] = {(char *) ts_bin("wanqi-query"), "--dir", env->qdir, "--collector", env->query,
                      "--collector-key", env->key, "--timeout", "20"};
    int n = 9;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = (char *) args[i];
    argv[n] = NULL;
    return it_run(out, NULL, argv);
}

/*  Run argv to completion under the locale LANG=lang alone (the other
    locale variables emptied), stdout into *out, stderr discarded. */
static int
s_run_lang(char *const argv[], const char *lang, char **out)
{
    char *lang_env = ts_strf("LANG=%s", lang);
    char *extra[] = {lang_env, "LC_ALL=", "LANGUAGE=", "LC_MESSAGES=", NULL};
    int rc = ts_run(argv, NULL, out, NULL, 60000, extra);
    free(lang_env);
    return rc;
}

/*  As s_query_v, with the locale LANG=lang (stderr discarded). */
static int
s_query_lang(it_env_t *env, char **out, const char *lang, const char *const *args)
{
    char *argv[32] = {(char *) ts_bin("wanqi-query"), "--dir", env->qdir, "--collector", env->query,
                      "--collector-key", env->key, "--timeout", "20"};
    int n = 9;
    for (int i = 0; args[i] && n < 31; i++)
        argv[n++] = (char *) args[i];
    argv[n] = NULL;
    return s_run_lang(argv, lang, out);
}

/*  The header line of a table (up to its first newline), malloc'd. */
static char *
s_first_line(const char *text)
{
    size_t n = strcspn(text, "\n");
    return ts_strf("%.*s", (int) n, text);
}

/*  True if the line holds a word of English key letters ("area",
    "rectified_on_time"): a header that was not translated. */
static bool
s_has_key_word(const char *line)
{
    for (const char *p = line; *p; p++)
        if ((*p >= 'a' && *p <= 'z') || *p == '_')
            return true;
    return false;
}

static void
test_two_counties_sync(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    zcert_t *cb = it_authorize_agent(&env, B_ID, B_COUNTY);
    it_start(&env);

    it_agent_t a, b;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, A_INC);
    it_agent_connect(&b, &env, cb, B_ID, B_COUNTY, B_INC);
    assert_int_equal(it_hello(&a), 0);
    assert_int_equal(it_hello(&b), 0);
    /* A: 40 records = 10 enterprises, 30 visits, in three batches.
       B: 10 records = 3 enterprises (seq 1, 5, 9), 7 visits. */
    it_batch_acked(&a, 1, 15, 1000);
    it_batch_acked(&b, 1, 10, 2000);
    it_batch_acked(&a, 16, 30, 1000);
    it_batch_acked(&a, 31, 40, 1000);

    /* A heartbeat: PONG carries the mark. */
    wq_msg_t ping;
    memset(&ping, 0, sizeof ping);
    ping.type = WQ_MSG_PING;
    ping.ping.inc = B_INC;
    ping.ping.last_seq = 12;
    ping.ping.queued = 2;
    it_send(&b, &ping);
    wq_msg_t *pong = it_expect(&b, WQ_MSG_PONG);
    assert_int_equal(pong->pong.inc, B_INC);
    assert_int_equal(pong->pong.hwm, 10);
    wq_msg_destroy(&pong);

    s_expect_summary(&env, "county", A_COUNTY, 10, 10, 30);
    s_expect_summary(&env, "county", B_COUNTY, 3, 3, 7);
    s_expect_summary(&env, "county", "130104", 0, 0, 0);
    s_expect_summary(&env, "city", "130100", 10, 10, 30);
    s_expect_summary(&env, "city", "130200", 3, 3, 7);
    s_expect_summary(&env, "province", "130000", 13, 13, 37);

    /* CSV: BOM, header, CRLF. */
    char *out = NULL;
    assert_int_equal(it_query(&env, &out, NULL, "summary", "--level", "city", "--format", "csv", NULL), 0);
    assert_memory_equal(out, "\xEF\xBB\xBF" "area,", 8);
    assert_non_null(strstr(out, "\r\n130100,石家庄市,city,10,10,30,"));
    assert_non_null(strstr(out, "\r\n130200,唐山市,city,3,3,7,"));
    free(out);

    /* By group over the wire: the split figures fit a RESULT (at most 64 columns). */
    assert_int_equal(it_query(&env, &out, NULL, "summary", "--level=city", "--by=group", "--format=csv",
                              NULL, NULL), 0);
    assert_non_null(strstr(out, ",problems,rectified_on_time,rectified_late,overdue,"));
    assert_non_null(strstr(out, ",problems_above_size,rectified_on_time_above_size,"));
    assert_non_null(strstr(out, "\r\n130100,石家庄市,city,10,10,"));
    free(out);

    /* Under a Chinese locale the tables people read have Chinese headers
       and enum cells (only `wanqi-query --help`'s queries with rows here);
       under LANG=C the same English as the collector's keys; CSV keeps
       the keys whatever the locale. */
    const char *const *zh_queries[] = {
        (const char *[]){"summary", "--level", "city", NULL},
        (const char *[]){"summary", "--level", "city", "--by", "group", NULL},
        (const char *[]){"agents", NULL},
        (const char *[]){"cadres", "--level", "city", NULL},
        NULL};
    for (size_t i = 0; zh_queries[i]; i++) {
        assert_int_equal(s_query_lang(&env, &out, "zh_CN.UTF-8", zh_queries[i]), 0);
        char *head = s_first_line(out);
        if (s_has_key_word(head))
            fail_msg("wanqi-query %s under zh_CN: header not in Chinese: %s", zh_queries[i][0], head);
        free(head);
        free(out);
    }
    assert_int_equal(s_query_lang(&env, &out, "zh_CN.UTF-8", (const char *[]){"summary", "--level", "city", NULL}),
                     0);
    assert_non_null(strstr(out, "地区代码"));
    assert_non_null(strstr(out, "登记企业"));
    assert_non_null(strstr(out, "待整改"));
    assert_non_null(strstr(out, "130100"));
    assert_non_null(strstr(out, "石家庄市"));
    assert_null(strstr(out, " city "));     /* the level: 市 */
    free(out);
    assert_int_equal(s_query_lang(&env, &out, "C.UTF-8", (const char *[]){"summary", "--level", "city", NULL}), 0);
    assert_memory_equal(out, "area ", 5);
    assert_non_null(strstr(out, "enterprises_registered"));
    free(out);
    assert_int_equal(s_query_lang(&env, &out, "zh_CN.UTF-8",
                                  (const char *[]){"summary", "--level", "city", "--format", "csv", NULL}), 0);
    assert_memory_equal(out, "\xEF\xBB\xBF" "area,", 8);
    free(out);

    /* Agents: both streams with their marks; B reported a backlog of 2. */
    assert_int_equal(it_query(&env, &out, NULL, "agents", "--format", "json", NULL, NULL, NULL), 0);
    it_rows_t rows = it_json_rows(out);
    const wq_json_object_t *row = NULL;
    assert_int_equal(it_rows_where(&rows, "agent", A_ID, &row), 1);
    assert_int_equal(it_int(row, "hwm"), 40);
    assert_int_equal(it_int(row, "stored"), 40);
    assert_int_equal(it_rows_where(&rows, "agent", B_ID, &row), 1);
    assert_int_equal(it_int(row, "hwm"), 10);
    assert_int_equal(it_int(row, "backlog"), 2);
    assert_int_equal(rows.count, 2);
    it_rows_free(&rows);
    free(out);

    /* One enterprise's case file: its registration and three visits. */
    char code[19];
    it_credit_code(1000, code);
    assert_int_equal(it_query(&env, &out, NULL, "enterprise", code, "--format", "json", NULL, NULL), 0);
    rows = it_json_rows(out);
    assert_int_equal(rows.count, 4);
    assert_int_equal(it_rows_where(&rows, "type", "enterprise", NULL), 1);
    assert_int_equal(it_rows_where(&rows, "type", "visit", NULL), 3);
    it_rows_free(&rows);
    free(out);
    /* Nothing overdue (no plans); a period without activity is all zero. */
    assert_int_equal(it_query(&env, &out, NULL, "overdue", "--asof", "2019-12-31", "--format", "json", NULL), 0);
    rows = it_json_rows(out);
    assert_int_equal(rows.count, 0);
    it_rows_free(&rows);
    free(out);
    assert_int_equal(it_query(&env, &out, NULL, "summary", "--from", "2019-07", "--format", "json", NULL), 0);
    rows = it_json_rows(out);
    assert_int_equal(it_rows_where(&rows, "area", "130000", &row), 1);
    assert_int_equal(it_int(row, "visits"), 0);
    it_rows_free(&rows);
    free(out);

    /* Paging: all 193 county rows in pages of 50 (4 QUERY/RESULT
       exchanges) equal the unpaged answer; --param limit=2 asks for one
       page only (the next cursor is not followed). */
    char *paged = NULL, *whole = NULL;
    assert_int_equal(s_query_v(&env, &paged, (const char *[]){"summary", "--level", "county", "--page-rows", "50",
                                                               "--format", "csv", NULL}), 0);
    assert_int_equal(it_query(&env, &whole, NULL, "summary", "--level", "county", "--format", "csv", NULL), 0);
    assert_string_equal(paged, whole);
    free(whole);
    free(paged);
    assert_int_equal(s_query_v(&env, &out, (const char *[]){"summary", "--level", "county", "--page-rows", "50",
                                                             "--format", "json", NULL}), 0);
    rows = it_json_rows(out);
    assert_int_equal(rows.count, 193);
    it_rows_free(&rows);
    free(out);
    assert_int_equal(s_query_v(&env, &out, (const char *[]){"summary", "--level", "county", "--param", "limit=2",
                                                             "--format", "json", NULL}), 0);
    rows = it_json_rows(out);
    assert_int_equal(rows.count, 2);
    it_rows_free(&rows);
    free(out);
    assert_int_equal(it_query(&env, &out, NULL, "summary", "--param", "cursor=r5", NULL, NULL, NULL), 1);
    free(out);
    /* A cursor the collector did not make, and an offset cursor past the end. */
    assert_int_equal(s_query_v(&env, &out, (const char *[]){"summary", "--param", "limit=2", "--param", "cursor=s7.x",
                                                             NULL}), 1);
    free(out);
    assert_int_equal(s_query_v(&env, &out, (const char *[]){"summary", "--level", "county", "--param", "limit=2",
                                                             "--param", "cursor=r1000", "--format", "json", NULL}), 0);
    rows = it_json_rows(out);
    assert_int_equal(rows.count, 0);
    it_rows_free(&rows);
    free(out);

    /* The table format prints too (aligned; content checked above). */
    assert_int_equal(it_query(&env, &out, NULL, "summary", "--level", "city", NULL, NULL, NULL), 0);
    assert_non_null(strstr(out, "石家庄市"));
    free(out);

    /* verify while the collector runs. */
    char *verify[] = {(char *) ts_bin("wanqi-collector"), "verify", "--dir", env.cdir, NULL};
    assert_int_equal(it_run(NULL, NULL, verify), 0);

    it_agent_close(&a);
    it_agent_close(&b);
    it_stop(&env);
    /* And after a clean restart everything is still there. */
    it_start(&env);
    s_expect_summary(&env, "province", "130000", 13, 13, 37);
    it_stop(&env);
    zcert_destroy(&ca);
    zcert_destroy(&cb);
    it_teardown(&env);
}

/*  A key not in the peers file never completes the handshake: no WELCOME,
    and the client sees the authentication failure. A query client whose
    key is not authorized is told so by wanqi-query (exit 3). */
static void
test_unknown_key_refused(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    it_start(&env);

    zcert_t *stranger = zcert_new();
    it_agent_t s;
    it_agent_connect(&s, &env, stranger, A_ID, A_COUNTY, A_INC);
    it_send_hello(&s, NULL, 0, 0);
    assert_int_equal(it_agent_event(&s, IT_TIMEOUT_MS), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    wq_msg_t *none = it_recv(&s, 200);
    assert_null(none);
    it_agent_close(&s);
    /* The collector's log names the refused key at its normal level. */
    int64_t end = zclock_mono() + IT_TIMEOUT_MS;
    bool named = false;
    while (!named && zclock_mono() < end) {
        char *log = ts_read_file(env.log);
        named = log && strstr(log, zcert_public_txt(stranger)) && strstr(log, "denied");
        free(log);
        if (!named)
            ts_sleep_ms(50);
    }
    if (!named)
        fail_msg("waited %d ms for the collector's log to name the refused key %s", IT_TIMEOUT_MS,
                 zcert_public_txt(stranger));

    /* The authorized agent still gets in. */
    it_agent_t a;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, A_INC);
    assert_int_equal(it_hello(&a), 0);
    assert_int_equal(it_agent_event(&a, IT_TIMEOUT_MS), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    it_agent_close(&a);

    /* wanqi-query with an unauthorized client key. */
    char *qdir2 = ts_strf("%s/client2", env.tmp);
    char *keygen[] = {(char *) ts_bin("wanqi-query"), "keygen", "--dir", qdir2, NULL};
    assert_int_equal(it_run(NULL, NULL, keygen), 0);
    char *errout = NULL;
    char *argv[] = {(char *) ts_bin("wanqi-query"), "--dir", qdir2, "--collector", env.query, "--collector-key",
                    env.key, "--timeout", "20", "agents", NULL};
    assert_int_equal(it_run(NULL, &errout, argv), 3);
    assert_non_null(strstr(errout, "not authorized"));
    free(errout);
    free(qdir2);

    /* An agent's key may not query (exit 3: refused as not a client). */
    char *acert = ts_strf("%s/agent-%s.cert", env.tmp, A_ID);
    char *asecret = ts_strf("%s_secret", acert);
    assert_int_equal(zcert_save_secret(ca, asecret), 0);
    assert_int_equal(chmod(asecret, 0600), 0);
    char *argv2[] = {(char *) ts_bin("wanqi-query"), "--key", acert, "--collector", env.query, "--collector-key",
                     env.key, "--timeout", "20", "agents", NULL};
    assert_int_equal(it_run(NULL, &errout, argv2), 3);
    assert_non_null(strstr(errout, "E_AUTH"));
    assert_non_null(strstr(errout, "not authorized as a query client"));
    free(errout);
    /* The client's own message for E_AUTH, in Chinese under zh_CN (the
       collector's text is English). */
    char *zh_env[] = {"LANG=zh_CN.UTF-8", "LC_ALL=", "LANGUAGE=", "LC_MESSAGES=", NULL};
    assert_int_equal(ts_run(argv2, NULL, NULL, &errout, 60000, zh_env), 3);
    assert_non_null(strstr(errout, "未被授权为查询客户端"));
    assert_non_null(strstr(errout, "wanqi-collector authorize client"));
    free(errout);
    free(acert);
    free(asecret);

    it_stop(&env);
    zcert_destroy(&stranger);
    zcert_destroy(&ca);
    it_teardown(&env);
}

/*  The sender is who its key says: a HELLO claiming another agent id is
    refused with E_AUTH; a client key on the ingest socket likewise. */
static void
test_identity_from_key(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    zcert_t *cb = it_authorize_agent(&env, B_ID, B_COUNTY);
    it_start(&env);

    it_agent_t a;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, A_INC);
    it_send_hello(&a, B_ID, 0, 0);
    wq_msg_t *e = it_expect(&a, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_AUTH);
    wq_msg_destroy(&e);
    /* No session was opened: a BATCH is out of state. */
    it_send_campaign(&a, 1, 2, 1000);
    e = it_expect(&a, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_STATE);
    wq_msg_destroy(&e);
    /* And with its own id it is welcome. */
    assert_int_equal(it_hello(&a), 0);
    it_agent_close(&a);

    /* The query client's key on the ingest socket. */
    char *qcert = ts_strf("%s/client.cert", env.qdir);
    zcert_t *qc = zcert_load(qcert);
    assert_non_null(qc);
    it_agent_t q;
    it_agent_connect(&q, &env, qc, "province-staff", A_COUNTY, 7);
    it_send_hello(&q, NULL, 0, 0);
    e = it_expect(&q, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_AUTH);
    wq_msg_destroy(&e);
    it_agent_close(&q);
    zcert_destroy(&qc);
    free(qcert);

    it_stop(&env);
    zcert_destroy(&ca);
    zcert_destroy(&cb);
    it_teardown(&env);
}

/*  An agent that sends a record for another county gets it quarantined:
    in the ACK, in `wanqi-query quarantine`, in its agents row, and not in
    the summary. The stream goes on. */
static void
test_foreign_county_quarantined(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    it_start(&env);
    it_agent_t a;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, A_INC);
    assert_int_equal(it_hello(&a), 0);

    /* seq 1: registration in A's county; seq 2: a registration in B's
       county (foreign); seq 3: a visit in A's county. */
    wq_blob_t blobs[3];
    blobs[0] = it_record(&a, 1, A_COUNTY, 1000, false);
    blobs[1] = it_record(&a, 2, B_COUNTY, 1001, false);
    blobs[2] = it_record(&a, 3, A_COUNTY, 1000, true);
    it_send_batch_blobs(&a, 1, blobs, 3);
    wq_msg_t *ack = it_expect(&a, WQ_MSG_ACK);
    assert_int_equal(ack->ack.hwm, 3);
    assert_int_equal(ack->ack.count, 1);
    assert_int_equal(ack->ack.quarantined[0].seq, 2);
    assert_int_equal(ack->ack.quarantined[0].code, WQ_E_FOREIGN);
    assert_non_null(ack->ack.quarantined[0].reason);
    wq_msg_destroy(&ack);
    /* The stream goes on. */
    it_batch_acked(&a, 4, 8, 1000);

    char *out = NULL;
    assert_int_equal(it_query(&env, &out, NULL, "quarantine", "--format", "json", NULL, NULL, NULL), 0);
    it_rows_t rows = it_json_rows(out);
    assert_int_equal(rows.count, 1);
    assert_string_equal(it_cell(rows.rows[0], "agent"), A_ID);
    assert_int_equal(it_int(rows.rows[0], "seq"), 2);
    assert_non_null(strstr(it_cell(rows.rows[0], "code"), "FOREIGN"));
    it_rows_free(&rows);
    free(out);
    /* Filtered by agent. */
    assert_int_equal(it_query(&env, &out, NULL, "quarantine", "--agent", A_ID, "--format", "json", NULL), 0);
    rows = it_json_rows(out);
    assert_int_equal(rows.count, 1);
    it_rows_free(&rows);
    free(out);
    assert_int_equal(it_query(&env, &out, NULL, "quarantine", "--agent", B_ID, "--format", "json", NULL), 0);
    rows = it_json_rows(out);
    assert_int_equal(rows.count, 0);
    it_rows_free(&rows);
    free(out);

    assert_int_equal(it_query(&env, &out, NULL, "agents", "--format", "json", NULL, NULL, NULL), 0);
    rows = it_json_rows(out);
    const wq_json_object_t *row = NULL;
    assert_int_equal(it_rows_where(&rows, "agent", A_ID, &row), 1);
    assert_int_equal(it_int(row, "quarantined"), 1);
    assert_int_equal(it_int(row, "hwm"), 8);
    it_rows_free(&rows);
    free(out);

    /* Seq 1..8 minus the foreign one: enterprise 1000 registered (seq 1),
       visits seq 3, and 4..8 of the campaign = enterprise 1000 visits at
       seq 4, registration of 1001 at 5 (in A's county), visits 6, 7, 8. */
    s_expect_summary(&env, "county", A_COUNTY, 2, 2, 5);
    s_expect_summary(&env, "county", B_COUNTY, 0, 0, 0);

    it_agent_close(&a);
    it_stop(&env);
    zcert_destroy(&ca);
    it_teardown(&env);
}

/*  Duplicates are re-acknowledged and never counted twice; a gap gets
    E_GAP with the expected seq; garbage gets an ERROR, never a crash. */
static void
test_duplicates_gaps_garbage(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    it_start(&env);
    it_agent_t a;
    it_agent_connect(&a, &env, ca, A_ID, A_COUNTY, A_INC);

    /* Garbage before anything: an ERROR with the decoder's code. */
    it_send_raw(&a, "\xc1garbage", 8);
    wq_msg_t *e = it_expect(&a, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_TYPE);     /* 0xc1 is msgpack's never-used byte */
    assert_non_null(strstr(e->error.text, "E_TYPE"));
    wq_msg_destroy(&e);
    /* A wrong version. */
    it_send_raw(&a, "\x93\x02\x06\x00", 4);
    e = it_expect(&a, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_VERSION);
    wq_msg_destroy(&e);
    /* Two frames in one message. */
    assert_int_equal(zmq_send(zsock_resolve(a.dealer), "\x93\x01\x06\x00", 4, ZMQ_SNDMORE), 4);
    assert_int_equal(zmq_send(zsock_resolve(a.dealer), "x", 1, 0), 1);
    e = it_expect(&a, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_RANGE);
    wq_msg_destroy(&e);
    /* BATCH before HELLO. */
    it_send_campaign(&a, 1, 3, 1000);
    e = it_expect(&a, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_STATE);
    wq_msg_destroy(&e);

    assert_int_equal(it_hello(&a), 0);
    /* A gap at the start. */
    it_send_campaign(&a, 4, 6, 1000);
    e = it_expect(&a, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_GAP);
    assert_int_equal(e->error.expected_seq, 1);
    wq_msg_destroy(&e);

    it_batch_acked(&a, 1, 8, 1000);
    /* The same batch again: re-acked at 8, nothing counted. */
    it_batch_acked(&a, 1, 8, 1000);
    /* Overlapping: 5..12 -> mark 12, only 9..12 new. */
    it_batch_acked(&a, 5, 12, 1000);
    /* A gap in the middle. */
    it_send_campaign(&a, 14, 16, 1000);
    e = it_expect(&a, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_GAP);
    assert_int_equal(e->error.expected_seq, 13);
    wq_msg_destroy(&e);
    /* A message type that belongs to the collector. */
    wq_msg_t pong;
    memset(&pong, 0, sizeof pong);
    pong.type = WQ_MSG_PONG;
    pong.pong.inc = A_INC;
    it_send(&a, &pong);
    e = it_expect(&a, WQ_MSG_ERROR);
    assert_int_equal(e->error.code, WQ_E_STATE);
    wq_msg_destroy(&e);

    /* A new HELLO on the same connection says the mark. */
    it_send_hello(&a, NULL, 12, 0);
    wq_msg_t *w = it_expect(&a, WQ_MSG_WELCOME);
    assert_int_equal(w->welcome.hwm, 12);
    wq_msg_destroy(&w);
    char *log = ts_read_file(env.log);
    assert_null(strstr(log, "re-initialise the agent"));
    free(log);
    /* An agent whose outbox ends below the mark (restored from a backup)
       is warned about in the log (written before the WELCOME is sent). */
    it_send_hello(&a, NULL, 5, 0);
    w = it_expect(&a, WQ_MSG_WELCOME);
    assert_int_equal(w->welcome.hwm, 12);
    wq_msg_destroy(&w);
    log = ts_read_file(env.log);
    assert_non_null(strstr(log, "says its outbox ends at seq 5 but the collector holds up to 12"));
    free(log);

    /* 12 records: enterprises at 1, 5, 9; visits the other 9. */
    s_expect_summary(&env, "county", A_COUNTY, 3, 3, 9);

    /* A new incarnation is a new stream starting at 0. */
    it_agent_t a2;
    it_agent_connect(&a2, &env, ca, A_ID, A_COUNTY, A_INC + 1);
    assert_int_equal(it_hello(&a2), 0);
    it_batch_acked(&a2, 1, 4, 3000);
    s_expect_summary(&env, "county", A_COUNTY, 4, 4, 12);
    it_agent_close(&a2);

    char *verify[] = {(char *) ts_bin("wanqi-collector"), "verify", "--dir", env.cdir, NULL};
    assert_int_equal(it_run(NULL, NULL, verify), 0);

    it_agent_close(&a);
    it_stop(&env);
    zcert_destroy(&ca);
    it_teardown(&env);
}

/*  The command line: authorize refuses bad and duplicate peers; queries
    with bad parameters are refused by the collector with its reason. */
static void
test_commands(void **state)
{
    (void) state;
    it_env_t env;
    it_setup(&env);
    zcert_t *ca = it_authorize_agent(&env, A_ID, A_COUNTY);
    char *cert = ts_strf("%s/agent-%s.cert", env.tmp, A_ID);
    const char *bin = ts_bin("wanqi-collector");
    char *errout = NULL;

    /* The same key again, under another id. */
    char *dup_key[] = {(char *) bin, "authorize", "agent", "--dir", env.cdir, "--key", cert, "--agent-id", "x-2",
                       "--county", A_COUNTY, NULL};
    assert_int_equal(it_run(NULL, &errout, dup_key), 1);
    assert_non_null(strstr(errout, "already authorized"));
    free(errout);
    /* The same agent id with another key. */
    zcert_t *other = zcert_new();
    char *dup_id[] = {(char *) bin, "authorize", "agent", "--dir", env.cdir, "--key",
                      (char *) zcert_public_txt(other), "--agent-id", A_ID, "--county", A_COUNTY, NULL};
    assert_int_equal(it_run(NULL, &errout, dup_id), 1);
    assert_non_null(strstr(errout, "agent id"));
    free(errout);
    /* An unknown county; a city is not a county. */
    char *bad_county[] = {(char *) bin, "authorize", "agent", "--dir", env.cdir, "--key",
                          (char *) zcert_public_txt(other), "--agent-id", "x-3", "--county", "139999", NULL};
    assert_int_equal(it_run(NULL, NULL, bad_county), 2);
    bad_county[10] = "130100";
    assert_int_equal(it_run(NULL, NULL, bad_county), 2);
    /* A bad agent id; a bad key. */
    char *bad_id[] = {(char *) bin, "authorize", "agent", "--dir", env.cdir, "--key",
                      (char *) zcert_public_txt(other), "--agent-id", "a/b", "--county", A_COUNTY, NULL};
    assert_int_equal(it_run(NULL, NULL, bad_id), 2);
    char *bad_key[] = {(char *) bin, "authorize", "client", "--dir", env.cdir, "--key", "not-a-key", "--name", "x",
                       NULL};
    assert_int_equal(it_run(NULL, NULL, bad_key), 2);
    /* A 2019 county code retired in 2020 is accepted for an agent. */
    char *retired[] = {(char *) bin, "authorize", "agent", "--dir", env.cdir, "--key",
                       (char *) zcert_public_txt(other), "--agent-id", "130521-01", "--county", "130521", NULL};
    assert_int_equal(it_run(NULL, NULL, retired), 0);
    /* init twice is refused (the key pair is kept). */
    char *init[] = {(char *) bin, "init", "--dir", env.cdir, NULL};
    assert_int_equal(it_run(NULL, NULL, init), 1);
    /* key prints the same key init printed. */
    char *out = NULL;
    char *key[] = {(char *) bin, "key", "--dir", env.cdir, NULL};
    assert_int_equal(it_run(&out, NULL, key), 0);
    char k[41];
    it_chomp_key(out, k);
    assert_string_equal(k, env.key);
    free(out);
    /* The peers file lists exactly the three peers. */
    char *peers_path = ts_strf("%s/peers", env.cdir);
    char *peers = ts_read_file(peers_path);
    assert_non_null(peers);
    int lines = 0;
    for (char *p = peers; (p = strstr(p, "\n")); p++)
        if (p[1] == 'a' || p[1] == 'c')
            lines++;
    assert_int_equal(lines, 3);
    free(peers);
    free(peers_path);
    /* ... and so does `peers`. */
    char *list[] = {(char *) bin, "peers", "--dir", env.cdir, "--format", "json", NULL};
    assert_int_equal(it_run(&out, NULL, list), 0);
    it_rows_t prow = it_json_rows(out);
    assert_int_equal(prow.count, 3);
    const wq_json_object_t *pr = NULL;
    assert_int_equal(it_rows_where(&prow, "id", "130521-01", &pr), 1);
    assert_string_equal(it_cell(pr, "kind"), "agent");
    assert_string_equal(it_cell(pr, "county_name"), "邢台县");
    assert_int_equal(it_rows_where(&prow, "kind", "client", NULL), 1);
    it_rows_free(&prow);
    free(out);
    /* Its table is read by people: Chinese under a Chinese locale, the keys under C. */
    char *ptable[] = {(char *) bin, "peers", "--dir", env.cdir, NULL};
    assert_int_equal(s_run_lang(ptable, "zh_CN.UTF-8", &out), 0);
    char *phead = s_first_line(out);
    if (s_has_key_word(phead) || !strstr(phead, "类别") || !strstr(phead, "公钥"))
        fail_msg("wanqi-collector peers under zh_CN: header not in Chinese: %s", phead);
    assert_non_null(strstr(out, "终端"));
    assert_non_null(strstr(out, "查询客户端"));
    assert_non_null(strstr(out, "邢台县"));
    free(phead);
    free(out);
    assert_int_equal(s_run_lang(ptable, "C.UTF-8", &out), 0);
    phead = s_first_line(out);
    assert_non_null(strstr(phead, "kind"));
    assert_null(strstr(out, "终端"));
    free(phead);
    free(out);
    /* --help everywhere. */
    char *help1[] = {(char *) bin, "--help", NULL};
    char *help2[] = {(char *) bin, "run", "--help", NULL};
    char *help3[] = {(char *) ts_bin("wanqi-query"), "--help", NULL};
    assert_int_equal(it_run(NULL, NULL, help1), 0);
    assert_int_equal(it_run(NULL, NULL, help2), 0);
    assert_int_equal(it_run(NULL, NULL, help3), 0);

    /* Queries with bad parameters: exit 1 with the collector's reason. */
    it_start(&env);
    assert_int_equal(it_query(&env, NULL, &errout, "summary", "--level", "village", NULL, NULL, NULL), 1);
    assert_non_null(strstr(errout, "level"));
    free(errout);
    assert_int_equal(it_query(&env, NULL, &errout, "enterprise", "91130102MA07L5QK9F", NULL, NULL, NULL, NULL), 1);
    free(errout);
    assert_int_equal(it_query(&env, NULL, &errout, "enterprise", "91130102MA07L5QK9L", NULL, NULL, NULL, NULL), 1);
    assert_non_null(strstr(errout, "E_NOTFOUND"));
    free(errout);
    /* Bad usage of wanqi-query: exit 2 without asking. */
    assert_int_equal(it_query(&env, NULL, NULL, "summary", "--format", "xml", NULL, NULL, NULL), 2);
    assert_int_equal(it_query(&env, NULL, NULL, "frobnicate", NULL, NULL, NULL, NULL, NULL), 2);
    it_stop(&env);

    /* Nobody listening: a timeout naming the endpoint, exit 3. */
    char *argv[] = {(char *) ts_bin("wanqi-query"), "--dir", env.qdir, "--collector", env.query, "--collector-key",
                    env.key, "--timeout", "1", "agents", NULL};
    assert_int_equal(it_run(NULL, &errout, argv), 3);
    assert_non_null(strstr(errout, env.query));
    free(errout);

    zcert_destroy(&other);
    zcert_destroy(&ca);
    free(cert);
    it_teardown(&env);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_counties_sync),
        cmocka_unit_test(test_unknown_key_refused),
        cmocka_unit_test(test_identity_from_key),
        cmocka_unit_test(test_foreign_county_quarantined),
        cmocka_unit_test(test_duplicates_gaps_garbage),
        cmocka_unit_test(test_commands),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
