/*  =========================================================================
    test_ledger - the dashboard's list queries (problems, enterprises,
    pending), summary's area-alone level and from/to order, and the
    read-only store: it answers every query, counts batches and duplicates,
    and can never write
    =========================================================================
*/
#include "test_central_fixture.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collector/ledger.h"
#include "tests/support/testsupport.h"

static void
test_ledger_and_readonly(void **state)
{
    (void) state;
    char *dir = ts_tmpdir();
    wq_central_t *c = NULL;
    wq_err_t err;
    if (wq_central_open(dir, 64u << 20, &c, &err) != WQ_OK)
        fail_msg("open: %s", err.text);
    char e1[19], e2[19], e3[19];
    tc_code(1, e1);
    tc_code(2, e2);
    tc_code(3, e3);
    tc_stream_t a, b, y;
    tc_stream_init(&a, "130102-01", "130102", 0x11111111);   /* 长安区, 石家庄 */
    tc_stream_init(&b, "130203-01", "130203", 0x22222222);   /* 路北区, 唐山 */
    tc_stream_init(&y, "130102-02", "130102", 0x33333333);
    tc_add(&a, WQ_REC_ENTERPRISE, "2019-03-01", "ent", e1, "name", "长安甲化工有限公司", "industry",
           "C2614", NULL);                                                               /* 1 */
    tc_add(&a, WQ_REC_PROBLEM, "2019-03-05", "ent", e1, "category", "air", "severity", "serious",
           "description", "无组织排放", NULL);                                           /* 2 P1 */
    tc_add(&a, WQ_REC_PLAN, "2019-03-10", "ent", e1, "problem", tc_id(&a, 2), "measures", "收集",
           "deadline", "2019-04-01", NULL);                                              /* 3 */
    tc_add(&a, WQ_REC_PROBLEM, "2019-03-06", "ent", e1, "category", "water", "severity", "minor",
           "description", "废水", NULL);                                                 /* 4 P2 */
    tc_add(&a, WQ_REC_PLAN, "2019-03-10", "ent", e1, "problem", tc_id(&a, 4), "measures", "治理",
           "deadline", "2019-04-01", NULL);                                              /* 5 */
    tc_add(&a, WQ_REC_PROGRESS, "2019-03-20", "ent", e1, "problem", tc_id(&a, 4), "status",
           "rectified", NULL);                                                           /* 6 */
    tc_add(&a, WQ_REC_PROBLEM, "2019-06-01", "ent", e1, "category", "noise", "severity", "minor",
           "description", "噪声", NULL);                                                 /* 7 P3, later */
    tc_add(&a, WQ_REC_PROGRESS, "2019-05-10", "ent", e1, "problem", tc_id(&a, 2), "status",
           "in_progress", NULL);                                                         /* 8 P1 */
    tc_add(&b, WQ_REC_ENTERPRISE, "2019-03-01", "ent", e2, "name", "唐山乙钢铁有限公司", "industry",
           "C3120", NULL);
    tc_add(&b, WQ_REC_PROBLEM, "2019-03-05", "ent", e2, "category", "air", "severity", "general",
           "description", "扬尘", NULL);
    /* A correction whose target (seq 9 of stream a) has not arrived: pending. */
    tc_add(&y, WQ_REC_CORRECTION, "2019-03-07", "target", tc_id(&a, 9), "of", "problem",
           "set.category", "water", "reason", "r", NULL);
    tc_send_all(c, &a, 3);
    tc_send_all(c, &b, 10);
    tc_send_all(c, &y, 10);
    wq_ingest_result_t res;
    assert_int_equal(tc_send(c, &a, 1, 2, &res), WQ_OK);   /* two duplicates */
    assert_int_equal(res.duplicates, 2);
    wq_ingest_result_clear(&res);
    /* the area index is a function of the events: verify recomputes it */
    uint64_t diffs = 1;
    assert_int_equal(wq_central_verify(c, stderr, &diffs, &err), WQ_OK);
    assert_int_equal(diffs, 0);
    wq_central_destroy(&c);

    /* Everything below runs on the read-only store. */
    char *store = strdup(dir);
    assert_int_equal(wq_central_open_readonly(store, &c, &err), WQ_OK);

    wq_table_t *t = tc_query(c, "problems", "area=130100", "asof=2019-05-01", NULL);
    assert_int_equal(wq_table_nrows(t), 2);   /* P3 opened after asof; 唐山 outside */
    wq_table_destroy(&t);
    t = tc_query(c, "problems", "area=130100", "asof=2019-05-01", "overdue=yes", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "problem"), tc_id(&a, 2));
    assert_string_equal(tc_str(t, 0, "enterprise_name"), "长安甲化工有限公司");
    assert_int_equal(tc_int(t, 0, "days_overdue"), 30);
    assert_string_equal(tc_str(t, 0, "overdue"), "yes");
    assert_string_equal(tc_str(t, 0, "status"), "open");   /* in progress only from 05-10 */
    wq_table_destroy(&t);
    t = tc_query(c, "problems", "area=130100", "asof=2019-05-01", "status=in_progress", NULL);
    assert_int_equal(wq_table_nrows(t), 0);
    wq_table_destroy(&t);
    t = tc_query(c, "problems", "area=130100", "asof=2019-05-11", "status=in_progress", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "problem"), tc_id(&a, 2));
    assert_string_equal(tc_str(t, 0, "overdue"), "yes");   /* in progress is not rectified */
    wq_table_destroy(&t);
    /* P2 as of a date before its rectification: open, then rectified */
    t = tc_query(c, "problems", "area=130102", "asof=2019-03-19", "category=water", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "status"), "open");
    wq_table_destroy(&t);
    t = tc_query(c, "problems", "area=130102", "asof=2019-03-20", "category=water", NULL);
    assert_string_equal(tc_str(t, 0, "status"), "rectified");
    wq_table_destroy(&t);
    /* The ledger's overdue rows are exactly the overdue query's. */
    wq_table_t *o = tc_query(c, "overdue", "area=130100", "asof=2019-05-01", NULL);
    assert_int_equal(wq_table_nrows(o), 1);
    assert_string_equal(tc_str(o, 0, "problem"), tc_id(&a, 2));
    wq_table_destroy(&o);
    t = tc_query(c, "problems", "area=130000", "category=water", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "status"), "rectified");
    assert_string_equal(tc_str(t, 0, "overdue"), "no");
    wq_table_destroy(&t);
    t = tc_query(c, "problems", "area=130200", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "county"), "130203");
    wq_table_destroy(&t);
    /* the area index: a county, a city, the province; none of another area */
    t = tc_query(c, "problems", "area=130102", NULL);
    assert_int_equal(wq_table_nrows(t), 3);
    wq_table_destroy(&t);
    t = tc_query(c, "problems", "area=130104", NULL);
    assert_int_equal(wq_table_nrows(t), 0);
    wq_table_destroy(&t);
    t = tc_query(c, "problems", "area=130000", NULL);
    assert_int_equal(wq_table_nrows(t), 4);
    wq_table_destroy(&t);
    t = tc_query(c, "enterprises", "area=130203", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "ent"), e2);
    wq_table_destroy(&t);
    t = tc_query(c, "problems", "status=in_progress", "severity=serious", NULL);
    assert_int_equal(wq_table_nrows(t), 1);   /* today: its current status */
    wq_table_destroy(&t);
    wq_param_t bad[] = {{"status", "done"}};
    assert_int_equal(wq_central_query(c, "problems", bad, 1, &t, &err), WQ_E_FORMAT);
    wq_param_t bad2[] = {{"overdue", "maybe"}};
    assert_int_equal(wq_central_query(c, "problems", bad2, 1, &t, &err), WQ_E_FORMAT);

    t = tc_query(c, "enterprises", "area=130100", "q=长安", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "ent"), e1);
    wq_table_destroy(&t);
    t = tc_query(c, "enterprises", "q=91", NULL);   /* a credit-code prefix */
    assert_int_equal(wq_table_nrows(t), 2);
    wq_table_destroy(&t);
    t = tc_query(c, "enterprises", "area=130100", NULL);
    for (size_t r = 0; r < wq_table_nrows(t); r++)
        assert_string_equal(tc_str(t, r, "county"), "130102");   /* never 唐山's */
    wq_table_destroy(&t);

    t = tc_query(c, "pending", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "waiting"), tc_id(&y, 1));
    assert_string_equal(tc_str(t, 0, "waiting_for"), tc_id(&a, 9));
    wq_table_destroy(&t);
    t = tc_query(c, "pending", "area=130200", NULL);
    assert_int_equal(wq_table_nrows(t), 0);
    wq_table_destroy(&t);

    /* summary: an area alone is its own level; from after to is an error */
    t = tc_query(c, "summary", "area=130100", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "level"), "city");
    assert_int_equal(tc_int(t, 0, "problems"), 3);
    wq_table_destroy(&t);
    t = tc_query(c, "summary", "area=130102", NULL);
    assert_int_equal(wq_table_nrows(t), 1);
    assert_string_equal(tc_str(t, 0, "level"), "county");
    wq_table_destroy(&t);
    wq_param_t order[] = {{"from", "2019-06"}, {"to", "2019-05"}};
    assert_int_equal(wq_central_query(c, "summary", order, 2, &t, &err), WQ_E_FORMAT);
    assert_string_equal(err.field, "from");

    /* operators' counters */
    wq_central_stats_t st;
    assert_int_equal(wq_central_stats(c, &st, &err), WQ_OK);
    assert_int_equal(st.events, 8 + 2 + 1);   /* the waiting correction is stored too */
    assert_true(st.batches >= 5);
    assert_int_equal(st.duplicates, 2);
    uint64_t used = 0, map = 0;
    assert_int_equal(wq_central_env_info(c, &used, &map, &err), WQ_OK);
    assert_true(used > 0 && map >= used);

    /* a read-only store refuses every write */
    wq_ingest_result_t r2;
    tc_stream_t z;
    tc_stream_init(&z, "130104-01", "130104", 0x44444444);
    tc_add(&z, WQ_REC_ENTERPRISE, "2019-03-01", "ent", e3, "name", "丙公司", "industry", "C2614",
           NULL);
    assert_int_not_equal(tc_send(c, &z, 1, 1, &r2), WQ_OK);
    assert_int_not_equal(wq_central_touch(c, "130104-01", "130104", 1, 0, 0, 1, &err), WQ_OK);
    wq_central_destroy(&c);
    /* ... and a missing store is an error, not a new one */
    char *none = ts_strf("%s/none", dir);
    assert_int_not_equal(wq_central_open_readonly(none, &c, &err), WQ_OK);
    assert_null(c);
    free(none);
    free(store);
    tc_stream_free(&a);
    tc_stream_free(&b);
    tc_stream_free(&y);
    tc_stream_free(&z);
    ts_tmpdir_remove(&dir);
}

/*  The ledger's walks in many short snapshots (wq_ledger_set_chunk) give
    the same rows, in the same order, as in one read transaction, on the
    writable and on the read-only store: problems (all, a city, a county,
    filtered, overdue) and enterprises (all, a search). */
static void
test_ledger_chunked(void **state)
{
    (void) state;
    char *dir = ts_tmpdir();
    wq_central_t *c = NULL;
    wq_err_t err;
    if (wq_central_open(dir, 64u << 20, &c, &err) != WQ_OK)
        fail_msg("open: %s", err.text);
    static const char *const counties[] = {"130102", "130104", "130203"};
    static const char *const cats[] = {"air", "water", "noise"};
    tc_stream_t s[3];
    for (int i = 0; i < 3; i++) {
        char agent[16];
        snprintf(agent, sizeof agent, "%s-01", counties[i]);
        tc_stream_init(&s[i], agent, counties[i], 0x1000u + (uint32_t) i);
        for (int e = 0; e < 12; e++) {
            char code[19], name[64], date[11], dl[11];
            tc_code(100 * i + e + 1, code);
            snprintf(name, sizeof name, "企业%d-%d有限公司", i, e);
            tc_add(&s[i], WQ_REC_ENTERPRISE, "2019-02-01", "ent", code, "name", name, "industry",
                   "C2614", NULL);
            for (int p = 0; p < 3; p++) {
                snprintf(date, sizeof date, "2019-%02d-%02d", 3 + p, 1 + e);
                snprintf(dl, sizeof dl, "2019-%02d-%02d", 4 + p + e % 3, 1 + e);
                uint64_t pid = tc_add(&s[i], WQ_REC_PROBLEM, date, "ent", code, "category",
                                      cats[(e + p) % 3], "severity", "general", "description", "问题",
                                      NULL);
                char pidtext[WQ_EVENT_ID_MAX];
                snprintf(pidtext, sizeof pidtext, "%s", tc_id(&s[i], pid));
                tc_add(&s[i], WQ_REC_PLAN, date, "ent", code, "problem", pidtext, "measures", "整改",
                       "deadline", dl, NULL);
                if ((e + p) % 4 == 0)
                    tc_add(&s[i], WQ_REC_PROGRESS, "2019-08-01", "ent", code, "problem", pidtext,
                           "status", "rectified", NULL);
            }
        }
        tc_send_all(c, &s[i], 25);
    }
    static const char *const q[][5] = {
        {"problems", "area=130000", "asof=2019-12-31", NULL},
        {"problems", "area=130000", NULL},
        {"problems", "area=130100", "asof=2019-06-15", NULL},
        {"problems", "area=130104", "asof=2019-07-01", "category=water", NULL},
        {"problems", "area=130000", "asof=2019-06-15", "overdue=yes", NULL},
        {"problems", "area=130100", "asof=2019-09-01", "overdue=no", NULL},
        {"enterprises", "area=130000", NULL},
        {"enterprises", "area=130100", "q=企业1-", NULL},
    };
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
            wq_ledger_set_chunk(0);
            uint64_t r0 = wq_ledger_renewals();
            wq_table_t *whole = tc_query(c, q[i][0], q[i][1], q[i][2], q[i][3], q[i][4], NULL);
            assert_int_equal(wq_ledger_renewals(), r0);   /* chunk 0: one snapshot */
            assert_true(wq_table_nrows(whole) > 0);
            static const size_t chunks[] = {1, 2, 7, WQ_LEDGER_CHUNK_DEFAULT};
            for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
                wq_ledger_set_chunk(chunks[k]);
                r0 = wq_ledger_renewals();
                wq_table_t *t = tc_query(c, q[i][0], q[i][1], q[i][2], q[i][3], q[i][4], NULL);
                if (!tc_tables_equal(whole, t))
                    fail_msg("%s %s %s %s: chunks of %zu differ from one snapshot (%zu / %zu rows)",
                             q[i][0], q[i][1], q[i][2] ? q[i][2] : "", q[i][3] ? q[i][3] : "",
                             chunks[k], wq_table_nrows(t), wq_table_nrows(whole));
                if (chunks[k] == 1)   /* at least one fresh snapshot per row read */
                    assert_true(wq_ledger_renewals() - r0 >= wq_table_nrows(t));
                wq_table_destroy(&t);
            }
            wq_table_destroy(&whole);
        }
        if (pass == 0) {   /* again on the read-only store, as wanqi-web opens it */
            wq_central_destroy(&c);
            assert_int_equal(wq_central_open_readonly(dir, &c, &err), WQ_OK);
        }
    }
    wq_ledger_set_chunk(WQ_LEDGER_CHUNK_DEFAULT);
    wq_central_destroy(&c);
    for (int i = 0; i < 3; i++)
        tc_stream_free(&s[i]);
    ts_tmpdir_remove(&dir);
}

/*  The collector grows the map while a walk is between two chunks: the
    walk's next snapshot fails with MDB_MAP_RESIZED unless it adopts the
    new size; it must, and go on with the same rows. The store is made
    with a small map, opened read-only (as wanqi-web opens it), and between
    the first two chunks of a walk a child process opens it writable with a
    map 16 times larger and ingests until the data reach beyond the
    reader's mapping (the child: a separate process, as the collector is;
    one process may not open an LMDB environment twice). */
typedef struct {
    const char *dir;
    size_t old_map;
    int calls;
    int child_status;
} s_grow_t;

static void
s_grow_child(const char *dir, size_t old_map)
{
    wq_central_t *w = NULL;
    wq_err_t err;
    if (wq_central_open(dir, old_map * 16, &w, &err) != WQ_OK)
        _exit(2);
    tc_stream_t s;
    tc_stream_init(&s, "130203-09", "130203", 0x9999u);   /* 唐山: outside the walked area */
    uint64_t used = 0, map = 0;
    for (int e = 0; e < 4000 && used <= old_map + (64u << 10); e++) {
        char code[19], name[64];
        tc_code(5000 + e, code);
        snprintf(name, sizeof name, "唐山扩容测试企业%d号有限公司", e);
        uint64_t from = tc_next(&s);
        tc_add(&s, WQ_REC_ENTERPRISE, "2019-02-01", "ent", code, "name", name, "industry", "C2614",
               NULL);
        tc_add(&s, WQ_REC_PROBLEM, "2019-03-01", "ent", code, "category", "air", "severity",
               "general", "description", "扩容测试问题：无组织排放，需加装收集设施与在线监测。", NULL);
        wq_ingest_result_t res;
        if (tc_send(w, &s, from, tc_next(&s) - 1, &res) != WQ_OK)
            _exit(3);
        wq_ingest_result_clear(&res);
        if (wq_central_env_info(w, &used, &map, &err) != WQ_OK)
            _exit(4);
    }
    wq_central_destroy(&w);
    _exit(used > old_map ? 0 : 5);
}

static void
s_grow(void *arg)
{
    s_grow_t *g = arg;
    if (g->calls++ != 0)
        return;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        s_grow_child(g->dir, g->old_map);
    /* the child ingests a few thousand records: 120 s at most, then killed */
    g->child_status = -1;
    for (int i = 0; i < 2400; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            g->child_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return;
        }
        ts_sleep_ms(50);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void
test_ledger_map_resized(void **state)
{
    (void) state;
    char *dir = ts_tmpdir();
    wq_central_t *c = NULL;
    wq_err_t err;
    const size_t old_map = 2u << 20;
    if (wq_central_open(dir, old_map, &c, &err) != WQ_OK)
        fail_msg("open: %s", err.text);
    tc_stream_t s;
    tc_stream_init(&s, "130102-01", "130102", 0x4242u);
    for (int e = 0; e < 20; e++) {
        char code[19], name[64];
        tc_code(e + 1, code);
        snprintf(name, sizeof name, "长安企业%d有限公司", e);
        tc_add(&s, WQ_REC_ENTERPRISE, "2019-02-01", "ent", code, "name", name, "industry", "C2614",
               NULL);
        tc_add(&s, WQ_REC_PROBLEM, "2019-03-01", "ent", code, "category", "water", "severity",
               "minor", "description", "问题", NULL);
    }
    tc_send_all(c, &s, 10);
    wq_central_destroy(&c);
    assert_int_equal(wq_central_open_readonly(dir, &c, &err), WQ_OK);
    uint64_t used = 0, map = 0;
    assert_int_equal(wq_central_env_info(c, &used, &map, &err), WQ_OK);
    assert_true(map == old_map);
    wq_ledger_set_chunk(0);
    wq_table_t *whole = tc_query(c, "problems", "area=130100", NULL);
    assert_int_equal(wq_table_nrows(whole), 20);

    wq_ledger_set_chunk(2);
    s_grow_t g = {dir, old_map, 0, -1};
    wq_ledger_set_between(s_grow, &g);
    wq_table_t *t = tc_query(c, "problems", "area=130100", NULL);   /* fails the test on an error */
    wq_ledger_set_between(NULL, NULL);
    wq_ledger_set_chunk(WQ_LEDGER_CHUNK_DEFAULT);
    assert_int_equal(g.child_status, 0);   /* the writer grew the data past the old map */
    assert_true(g.calls > 1);
    assert_true(tc_tables_equal(whole, t));
    assert_int_equal(wq_central_env_info(c, &used, &map, &err), WQ_OK);
    assert_true(map == old_map * 16);   /* the reader adopted the collector's map */
    wq_table_destroy(&t);
    wq_table_destroy(&whole);
    wq_central_destroy(&c);
    tc_stream_free(&s);
    ts_tmpdir_remove(&dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ledger_and_readonly),
        cmocka_unit_test(test_ledger_chunked),
        cmocka_unit_test(test_ledger_map_resized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
